//! A tool with a mistake is still named by `.tool::<...>()`: the mistake is
//! the one error, not also every use of the tool's handle.

use mcp_runtime::{McpServer, ToolHandle, tool};

/// Add a todo item.
#[tool(permission = "todo:write")]
fn create_todo(title: String) -> String {
    title
}

fn main() {
    let server = McpServer::builder().tool::<create_todo>().build().unwrap();
    let _ = (server, <create_todo as ToolHandle>::DEF.name);
    let _ = create_todo(String::new());
}
