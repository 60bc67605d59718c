use mcp_runtime::tool;

#[derive(serde::Deserialize)]
struct Due(String);

/// Add a todo item.
#[tool(public)]
fn create_todo(title: String, due: Option<Due>) -> String {
    let _ = due.map(|d| d.0);
    title
}

fn main() {}
