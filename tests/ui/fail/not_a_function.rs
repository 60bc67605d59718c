use mcp_runtime::tool;

/// A todo item.
#[tool]
struct Todo {
    title: String,
}

fn main() {}
