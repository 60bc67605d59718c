use mcp_runtime::tool;

/// Add a todo item.
#[tool]
fn create_todo(title: impl Into<String>) -> String {
    title.into()
}

fn main() {}
