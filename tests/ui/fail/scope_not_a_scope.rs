use mcp_runtime::tool;

/// Add a todo item.
#[tool(scope = 42)]
fn create_todo(title: String) -> String {
    title
}

fn main() {}
