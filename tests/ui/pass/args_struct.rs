use mcp_runtime::{AccessToken, Args, ToolHandle, tool};
use schemars::JsonSchema;
use serde::Deserialize;

#[derive(Deserialize, JsonSchema)]
struct NewTodo {
    /// What needs doing.
    title: String,
    due: Option<String>,
}

/// Add a todo item.
#[tool(scope = "todo:write")]
async fn create_todo(Args(todo): Args<NewTodo>) -> String {
    format!("{} {:?}", todo.title, todo.due)
}

/// The struct argument next to injected ones, bound whole.
#[tool(public)]
fn create_for(token: AccessToken, args: Args<NewTodo>) -> String {
    format!("{}: {}", token.subject(), args.0.title)
}

/// A path to `Args`.
#[tool(public)]
fn by_path(mcp_runtime::Args(todo): mcp_runtime::Args<NewTodo>) -> String {
    todo.title
}

fn main() {
    let _ = <create_todo as ToolHandle>::DEF;
    let _ = <create_for as ToolHandle>::DEF;
    let _ = <by_path as ToolHandle>::DEF;
}
