//! MCP servers whose tools are protected by OAuth scopes.
//!
//! Annotate a function with [`#[tool]`](tool) and it is served: its JSON
//! schema, its registration, a scope check ahead of its body, an MCP endpoint
//! over Streamable HTTP at `/mcp`, and bearer-token verification.
//!
//! ```
//! use mcp_runtime::{AccessToken, tool};
//!
//! /// Create a todo item.
//! ///
//! /// # Arguments
//! /// * `title` - What needs doing.
//! #[tool(scope = "todo:write")]
//! async fn add_todo(token: AccessToken, title: String) -> Result<String, std::io::Error> {
//!     Ok(format!("{} created {title:?}", token.subject()))
//! }
//! ```
//!
//! Resources, resource templates, prompts and argument completion are added
//! on the builder, each with rmcp's own model type for its listing and an
//! async handler: see [`McpServerBuilder::resource`],
//! [`McpServerBuilder::resource_template`], [`McpServerBuilder::prompt`] and
//! [`McpServerBuilder::completion`].
//!
//! Serving every `#[tool]` in the binary is then one call:
//!
//! ```no_run
//! # async fn run() -> Result<(), mcp_runtime::Error> {
//! mcp_runtime::McpServer::builder().from_env()?.build()?.serve().await
//! # }
//! ```

mod auth;
pub mod dev_issuer;
mod error;
mod error_tool;
mod handler;
mod http;
pub mod jwt;
mod prompt;
mod resource;
mod result;
mod scopes;
mod serve;
mod server;
mod step_up;
mod token;
mod tool;
mod verifier;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use auth::{
    AuthProvider, AuthSettings, DevProvider, EnvProvider, OidcProvider, ScalekitProvider,
    dev_issuer_for,
};
pub use dev_issuer::DevIssuer;
pub use error::Error;
pub use error_tool::ToolError;
pub use jwt::JwtVerifier;
#[doc(inline)]
pub use mcp_macros::tool;
pub use prompt::PromptArgs;
pub use resource::UriParams;
pub use rmcp;
pub use scopes::{ScopeDecision, ScopeHierarchy, ScopeRule, decide, is_scope_token};
pub use serve::shutdown_signal;
pub use server::{DEFAULT_HOST, DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT, McpServer, McpServerBuilder};
pub use token::{AccessToken, get_access_token};
pub use tool::{Args, State, ToolContext, ToolHandle};
pub use verifier::{BoxFuture, StaticTokenVerifier, TokenVerifier, VerifyError};

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
