use mcp_runtime::tool;

/// Add a todo item.
#[tool(name = "create todo", public)]
fn create_todo(title: String) -> String {
    title
}

fn main() {}
