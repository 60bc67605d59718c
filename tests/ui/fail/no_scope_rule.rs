//! Tools fail closed: a tool that names no rule does not compile. The one
//! error offers both fixes, and the tool's handle still names something.

use mcp_runtime::{McpServer, tool};

/// Who is calling.
#[tool]
fn whoami() -> String {
    String::new()
}

fn main() {
    let _ = McpServer::builder().tool::<whoami>();
}
