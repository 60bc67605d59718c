use mcp_runtime::tool;

/// Add a todo item.
#[tool(public, read_only, name = "create", read_only = false)]
fn create_todo(title: String) -> String {
    title
}

fn main() {}
