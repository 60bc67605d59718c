use mcp_runtime::tool;

struct Todo {
    title: String,
}

/// Add a todo item.
#[tool(public)]
fn create_todo(title: String) -> Todo {
    Todo { title }
}

fn main() {}
