use std::rc::Rc;

use mcp_runtime::tool;

/// Add a todo item.
#[tool(public)]
async fn create_todo(title: String) -> String {
    let shared = Rc::new(title);
    tokio::task::yield_now().await;
    shared.to_string()
}

fn main() {}
