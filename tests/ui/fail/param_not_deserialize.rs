use mcp_runtime::tool;

#[derive(schemars::JsonSchema)]
struct Title(String);

/// Add a todo item.
#[tool(public)]
fn create_todo(title: Title) -> String {
    title.0
}

fn main() {}
