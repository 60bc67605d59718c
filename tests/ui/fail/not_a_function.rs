use mcp_runtime::tool;

/// A todo item.
#[tool(public)]
struct Todo {
    title: String,
}

fn main() {}
