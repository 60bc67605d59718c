use mcp_runtime::tool;

/// Add a todo item.
#[tool(scope = "todo:write", any_scope = ["todo:admin"])]
fn create_todo(title: String) -> String {
    title
}

fn main() {}
