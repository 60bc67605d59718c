use mcp_runtime::tool;

/// Add a todo item.
#[tool(public)]
fn create_todo(title: impl Into<String>) -> String {
    title.into()
}

fn main() {}
