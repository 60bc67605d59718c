use mcp_runtime::tool;

const TODO_WRITE: u32 = 7;

/// Add a todo item.
#[tool(scope = TODO_WRITE)]
fn create_todo(title: String) -> String {
    title
}

fn main() {}
