use mcp_runtime::{Args, tool};

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct NewTodo {
    title: String,
}

/// Add a todo item.
#[tool(public)]
fn create_todo(Args(todo): Args<NewTodo>, due: Option<String>) -> String {
    format!("{} {due:?}", todo.title)
}

fn main() {}
