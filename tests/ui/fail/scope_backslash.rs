use mcp_runtime::tool;

/// Add a todo item.
#[tool(scopes = ["todo:read", r"todo\write"])]
fn create_todo(title: String) -> String {
    title
}

fn main() {}
