use mcp_runtime::tool;

const TODO_READ: &str = "todo:read";

/// List todo items.
#[tool(scopes = [TODO_READ, self::TODO_READ, TODO_READ])]
fn list_todos() -> String {
    String::new()
}

fn main() {}
