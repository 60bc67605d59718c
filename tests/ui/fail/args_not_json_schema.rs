use mcp_runtime::{Args, tool};

#[derive(serde::Deserialize)]
struct NewTodo {
    title: String,
}

/// Add a todo item.
#[tool(public)]
fn create_todo(Args(todo): Args<NewTodo>) -> String {
    todo.title
}

fn main() {}
