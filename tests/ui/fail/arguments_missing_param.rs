use mcp_runtime::tool;

/// Add a todo item.
///
/// # Arguments
/// * `title` - What needs doing.
/// * `due` - When it is due.
#[tool(public)]
fn create_todo(title: String) -> String {
    title
}

fn main() {}
