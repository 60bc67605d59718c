use mcp_runtime::tool;

/// Add a todo item.
#[tool(public)]
fn create_todo(title: &str) -> String {
    title.to_owned()
}

fn main() {}
