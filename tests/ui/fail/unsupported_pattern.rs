use mcp_runtime::tool;

/// Add a todo item.
#[tool(public)]
fn create_todo((title, due): (String, String)) -> String {
    title + &due
}

fn main() {}
