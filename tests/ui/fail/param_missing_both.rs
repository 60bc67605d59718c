use mcp_runtime::tool;

struct Priority(u8);

/// Add a todo item.
#[tool(public)]
fn create_todo(title: String, priority: Priority, note: Option<String>) -> String {
    let _ = (priority.0, note);
    title
}

fn main() {}
