//! The tools the OAuth tests serve: a todo reader and writer, a system tool, and `whoami`.
//!
//! ```ignore
//! #[path = "support/tools.rs"]
//! mod tools;
//!
//! let server = tools::all(McpServer::builder()).build().unwrap();
//! ```

#![allow(dead_code)]

use std::time::UNIX_EPOCH;

use mcp_runtime::{AccessToken, McpServerBuilder, tool};
use schemars::JsonSchema;
use serde::Serialize;

/// Every scope the tools below name, sorted: the servers' `scopes_supported`.
pub const SCOPES: [&str; 3] = ["system:read", "todo:read", "todo:write"];

/// The caller, as the verified token says.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Caller {
    pub subject: String,
    pub client_id: Option<String>,
    pub scopes: Vec<String>,
    pub issuer: Option<String>,
    pub audience: Vec<String>,
    pub expires_at: Option<u64>,
}

/// Who is calling.
#[tool(public)]
pub fn whoami(token: AccessToken) -> Caller {
    Caller {
        subject: token.subject().to_owned(),
        client_id: token.client_id().map(str::to_owned),
        scopes: token.scopes().to_vec(),
        issuer: token.issuer().map(str::to_owned),
        audience: token.audience().to_vec(),
        expires_at: token
            .expires_at()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs()),
    }
}

/// List the caller's todos.
#[tool(scope = "todo:read")]
pub fn list_todos(token: AccessToken) -> String {
    format!("todos of {}", token.subject())
}

/// Add a todo.
///
/// # Arguments
/// * `title` - What needs doing.
#[tool(scope = "todo:write")]
pub async fn create_todo(token: AccessToken, title: String) -> String {
    format!("{} created {title:?}", token.subject())
}

/// System status.
#[tool(scope = "system:read")]
pub fn system_status() -> String {
    "all systems nominal".to_owned()
}

/// `builder` with the four tools above (and no others).
pub fn all(builder: McpServerBuilder) -> McpServerBuilder {
    builder
        .name("oauth-test-server")
        .tool::<whoami>()
        .tool::<list_todos>()
        .tool::<create_todo>()
        .tool::<system_status>()
}
