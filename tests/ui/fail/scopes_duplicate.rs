use mcp_runtime::tool;

/// Add a todo item.
#[tool(scopes = ["todo:read", "todo:write", "todo:read"])]
fn create_todo(title: String) -> String {
    title
}

fn main() {}
