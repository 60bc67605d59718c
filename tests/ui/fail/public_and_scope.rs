use mcp_runtime::tool;

/// List todo items.
#[tool(public, scope = "todo:read")]
fn list_todos() -> Vec<String> {
    Vec::new()
}

fn main() {}
