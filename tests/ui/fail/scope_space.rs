use mcp_runtime::tool;

/// Add a todo item.
#[tool(scope = "todo:read todo:write")]
fn create_todo(title: String) -> String {
    title
}

fn main() {}
