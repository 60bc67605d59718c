use mcp_runtime::tool;

/// Add a todo item.
#[tool]
fn create_todo(title: String) -> impl serde::Serialize {
    title
}

fn main() {}
