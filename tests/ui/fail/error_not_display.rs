use mcp_runtime::tool;

#[derive(Debug)]
struct Failure;

/// Add a todo item.
#[tool(public)]
fn create_todo(title: String) -> Result<String, Failure> {
    Ok(title)
}

fn main() {}
