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
//! Serving every `#[tool]` in the binary is then one call. `from_env` reads
//! `MCP_URL`, `PORT` and `HOST`, and authentication: Scalekit
//! (`SCALEKIT_*`), any OAuth/OIDC issuer (`MCP_AUTH_ISSUER`), or, when
//! neither is set, a development issuer that serves on loopback only (see
//! [`auth::AuthSettings`]):
//!
//! ```no_run
//! # async fn run() -> Result<(), mcp_runtime::Error> {
//! mcp_runtime::McpServer::builder().from_env()?.build()?.serve().await
//! # }
//! ```
//!
//! Or choose the provider in code with
//! [`McpServerBuilder::auth`], the one door for authentication:
//!
//! ```no_run
//! use mcp_runtime::{McpServer, auth::ScalekitProvider};
//!
//! # async fn run() -> Result<(), mcp_runtime::Error> {
//! let scalekit = ScalekitProvider::new("https://acme.scalekit.dev", "skc_123", "res_456")?;
//! McpServer::builder()
//!     .base_url("https://mcp.acme.com/")?
//!     .auth(scalekit)
//!     .build()?
//!     .serve()
//!     .await
//! # }
//! ```
//!
//! A server's scopes can be declared once with [`scopes!`]: tools name them
//! by constant (`#[tool(scope = TODO_WRITE)]`, so a misspelling is a compile
//! error), and [`McpServerBuilder::vocabulary`] takes `scopes_supported`,
//! the hierarchy and the scopes' descriptions from the declaration.
//! [`McpServerBuilder::challenge_scopes`] chooses the scopes the first `401`
//! asks a client for.
//!
//! Resources, resource templates, prompts and argument completion are added
//! on the builder, each with rmcp's own model type for its listing and an
//! async handler: see [`McpServerBuilder::resource`],
//! [`McpServerBuilder::resource_template`], [`McpServerBuilder::prompt`] and
//! [`McpServerBuilder::completion`].

pub mod audit;
pub mod auth;
mod catalog;
mod env;
mod error;
mod future;
mod gate;
mod reply;
mod server;
mod token;

#[doc(hidden)]
#[path = "private/mod.rs"]
pub mod __private;

// Writing tools.
/// What `ToolContext::elicit` returns: the user's answer to a form.
pub use catalog::input::Answer;
/// Why `ToolContext::confirm` or `elicit` has no answer.
pub use catalog::input::ElicitError;
/// The level of a log message a tool sends its caller.
pub use catalog::log::LogLevel;
/// A tool parameter: the whole argument object as one type.
pub use catalog::tool::Args;
/// A tool parameter: state shared by the server.
pub use catalog::tool::State;
/// A tool parameter: the MCP request around the call.
pub use catalog::tool::ToolContext;
/// The handle `#[tool]` defines, for `McpServerBuilder::tool::<name>()`.
pub use catalog::tool::ToolHandle;
/// An error a tool reports to its caller.
pub use catalog::tool_error::ToolError;
/// A tool parameter: tells listening clients that a resource changed.
pub use catalog::updates::ResourceUpdates;
/// Turns a function into a served MCP tool.
#[doc(inline)]
pub use mcp_macros::tool;
/// The caller's verified access token.
pub use token::AccessToken;
/// The access token of the request being served, from anywhere inside it.
pub use token::get_access_token;

// Resources and prompts.
/// A prompt's arguments, by name.
pub use catalog::prompt::PromptArgs;
/// The handle `#[resource]`, `#[resource_template]` and `#[prompt]` define,
/// for `McpServerBuilder::item::<name>()`.
pub use catalog::resource::ItemHandle;
/// A resource template's variables, by name.
pub use catalog::uri_template::UriParams;
/// Turns a function into a prompt.
#[doc(inline)]
pub use mcp_macros::prompt;
/// Turns a function into a resource at a fixed URI.
#[doc(inline)]
pub use mcp_macros::resource;
/// Turns a function into the resources of a URI template.
#[doc(inline)]
pub use mcp_macros::resource_template;

// Scopes.
/// A server's permission model, for review.
pub use catalog::permissions::{Permission, Permissions, Requirement};
/// Scope rules, hierarchies and the scope decision.
pub use catalog::scopes;
/// Scopes that imply others.
pub use catalog::scopes::ScopeHierarchy;
/// The scopes a tool requires.
pub use catalog::scopes::ScopeRule;
/// One scope of a vocabulary.
pub use catalog::vocabulary::DeclaredScope;
/// Every scope a server knows, declared once with [`scopes!`].
pub use catalog::vocabulary::Vocabulary;

// Serving.
/// Why a server could not be built or started.
pub use error::Error;
/// A configured MCP server.
pub use server::McpServer;
/// Configures an `McpServer`.
pub use server::McpServerBuilder;
/// Completes on Ctrl-C or SIGTERM: the default shutdown signal.
pub use server::shutdown_signal;

/// Who calls a server served over stdio.
pub use server::StdioIdentity;

/// axum, whose `Router` [`McpServer::into_router`] returns and
/// [`McpServerBuilder::routes`] takes.
pub use axum;
/// rmcp, whose model types resources and prompts are written with.
pub use rmcp;
/// schemars 1.x, whose `JsonSchema` gives arguments and results their
/// schemas. A type deriving another major version's `JsonSchema` (0.8)
/// compiles, but is not seen as having a schema: as an argument it is a
/// compile error, and as a tool's result it silently has no output schema.
/// Depend on `schemars = "1"`, or derive through this re-export with
/// `#[schemars(crate = "mcp_runtime::schemars")]`.
pub use schemars;

/// The property tests' settings: 256 cases unless `PROPTEST_CASES` says
/// otherwise; failures are reported, not written to regression files.
#[cfg(test)]
fn proptest_config() -> proptest::prelude::ProptestConfig {
    proptest::prelude::ProptestConfig {
        failure_persistence: None,
        ..Default::default()
    }
}

/// The README's examples, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
