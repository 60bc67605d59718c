use mcp_runtime::tool;

/// Add a todo item.
#[tool(public)]
fn create_todo(title: String) -> impl serde::Serialize {
    title
}

fn main() {}
