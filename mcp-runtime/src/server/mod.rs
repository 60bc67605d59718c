//! The server: [`McpServer`], built by [`McpServerBuilder`], served over
//! HTTP (`router`, `serve`) with the MCP handler over its catalog.

mod builder;
mod caller;
mod direct;
mod handler;
mod router;
pub(crate) mod serve;
mod stdio;

use std::{net::SocketAddr, sync::Arc};

use rmcp::model::{CallToolResult, JsonObject, Tool};
use url::Url;

pub use builder::McpServerBuilder;
pub use serve::shutdown_signal;
pub use stdio::StdioIdentity;

use crate::{catalog::Catalog, catalog::scopes::ScopeRule, gate::Gate, token::AccessToken};

/// A configured MCP server, ready to be served or embedded.
///
/// Cheap to clone: clones share everything.
#[derive(Clone)]
pub struct McpServer {
    catalog: Arc<Catalog>,
    gate: Arc<Gate>,
    served: Arc<Served>,
}

/// Where and how the server is exposed.
struct Served {
    endpoint: Url,
    base_url: Url,
    bind: SocketAddr,
    json_response: bool,
    /// Answer plain stateless JSON requests without rmcp's transport.
    direct: bool,
    /// How many requests the direct path answered.
    direct_answered: Arc<std::sync::atomic::AtomicU64>,
    /// Served next to `/mcp`, outside the bearer check, behind the site
    /// policy.
    routes: Option<axum::Router>,
    /// Served next to `/mcp`, outside the bearer check, to any origin (the
    /// metadata, the authentication's documents, and the routes added
    /// without the Origin check); the Host is still checked.
    any_origin: Option<axum::Router>,
    /// The Host and Origin policy of every route.
    policy: crate::gate::SitePolicy,
    /// The authentication in use, described.
    authentication: Option<String>,
    /// The development issuer, when the server uses one.
    dev_issuer: Option<Arc<crate::auth::DevIssuer>>,
    /// The development issuer refuses any listener not on loopback.
    loopback_only: bool,
    header_timeout: Option<std::time::Duration>,
    max_connections: usize,
    shutdown_grace: std::time::Duration,
}

impl std::fmt::Debug for McpServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tools: Vec<&str> = self.tools().iter().map(|t| t.name.as_ref()).collect();
        f.debug_struct("McpServer")
            .field("endpoint", &self.served.endpoint.as_str())
            .field("bind", &self.served.bind)
            .field("tools", &tools)
            .field("authentication", &self.served.authentication)
            .finish_non_exhaustive()
    }
}

impl McpServer {
    /// Starts configuring a server.
    pub fn builder() -> McpServerBuilder {
        McpServerBuilder::default()
    }

    /// The public URL of the MCP endpoint: `{MCP_URL}mcp`.
    pub fn endpoint(&self) -> Url {
        self.served.endpoint.clone()
    }

    /// The public base URL (`MCP_URL`), with its trailing slash.
    pub fn base_url(&self) -> &Url {
        &self.served.base_url
    }

    /// The address `serve` binds.
    pub fn bind_addr(&self) -> SocketAddr {
        self.served.bind
    }

    /// How many requests the direct path has answered so far (see
    /// [`McpServerBuilder::direct_dispatch`](crate::McpServerBuilder::direct_dispatch)):
    /// the rest went through rmcp's transport.
    pub fn direct_answered(&self) -> u64 {
        self.served
            .direct_answered
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The authentication in use, described in one line (`None` without
    /// authentication).
    pub fn authentication(&self) -> Option<&str> {
        self.served.authentication.as_deref()
    }

    /// A token from the server's development issuer, for `subject` with
    /// `scopes`, valid for `ttl`: the way to try your own server locally.
    /// The token is minted for exactly this server's URL. An error when the
    /// server does not use the development issuer.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcp_runtime::{McpServer, auth::DevProvider, tool};
    ///
    /// /// Says hello.
    /// #[tool(scope = "hello")]
    /// fn hello() -> String {
    ///     "hello".into()
    /// }
    ///
    /// # let dir = std::env::temp_dir().join(format!("dev-token-doc-{}", std::process::id()));
    /// let server = McpServer::builder()
    ///     .tool::<hello>()
    ///     .auth(DevProvider::new().key_file(dir.join("key.pem")))
    ///     .build()
    ///     .unwrap();
    /// let token = server.dev_token("alice", ["hello"], Duration::from_secs(600)).unwrap();
    /// println!("curl -H 'Authorization: Bearer {token}' {}", server.endpoint());
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// ```
    pub fn dev_token<S: AsRef<str>>(
        &self,
        subject: &str,
        scopes: impl IntoIterator<Item = S>,
        ttl: std::time::Duration,
    ) -> Result<String, crate::error::Error> {
        let issuer = self.served.dev_issuer.as_ref().ok_or_else(|| {
            crate::error::Error::config(
                "auth",
                "this server does not use the development issuer; get tokens from its authorization server",
            )
        })?;
        Ok(issuer.mint(subject, scopes, ttl))
    }

    /// A `token` subcommand for your own binary: when `args` (the command
    /// line after the program name) start with `token`, mints a development
    /// token with [`dev_token`](Self::dev_token) and returns it; otherwise
    /// returns `None` and the binary goes on to serve.
    ///
    /// `token [SUBJECT] [SCOPE ...]`: the subject defaults to `dev-user`,
    /// scopes may also be written space- or comma-separated in one argument,
    /// and the token is valid for an hour. Because the server is built with
    /// the same settings it will serve with (`PORT`, `HOST`, `MCP_URL`), the
    /// token names exactly the URL it will be checked against.
    ///
    /// ```no_run
    /// use mcp_runtime::{McpServer, tool};
    ///
    /// /// Says hello to the caller.
    /// #[tool(scope = "greet")]
    /// fn greet_me(token: mcp_runtime::AccessToken) -> String {
    ///     format!("Hello, {}!", token.subject())
    /// }
    ///
    /// #[tokio::main]
    /// async fn main() -> Result<(), mcp_runtime::Error> {
    ///     let server = McpServer::builder().from_env()?.build()?;
    ///     // `cargo run -- token alice greet` prints a token for alice.
    ///     if let Some(token) = server.dev_token_command(std::env::args().skip(1))? {
    ///         println!("{token}");
    ///         return Ok(());
    ///     }
    ///     server.serve().await
    /// }
    /// ```
    pub fn dev_token_command(
        &self,
        args: impl IntoIterator<Item = String>,
    ) -> Result<Option<String>, crate::error::Error> {
        let mut args = args.into_iter();
        if args.next().as_deref() != Some("token") {
            return Ok(None);
        }
        let subject = args.next().unwrap_or_else(|| "dev-user".to_owned());
        let scopes: Vec<String> = args
            .flat_map(|a| {
                a.split([' ', ','])
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect();
        if let Some(bad) = scopes.iter().find(|s| !crate::scopes::is_scope_token(s)) {
            return Err(crate::error::Error::config(
                "token",
                format!("`{bad}` is not a scope (one RFC 6749 scope token each)"),
            ));
        }
        let hour = std::time::Duration::from_secs(3600);
        self.dev_token(&subject, &scopes, hour).map(Some)
    }

    /// The tools this server serves, as listed to clients.
    pub fn tools(&self) -> &[Tool] {
        self.catalog.tools().items()
    }

    /// The server's scope vocabulary, if it was given one.
    pub fn vocabulary(&self) -> Option<&'static crate::Vocabulary> {
        self.catalog.vocabulary()
    }

    /// What `scope` lets a caller do, as the server's
    /// [vocabulary](McpServerBuilder::vocabulary) describes it (`None`
    /// without a vocabulary, or for a scope it does not declare).
    pub fn scope_description(&self, scope: &str) -> Option<&'static str> {
        self.vocabulary()?.description(scope)
    }

    /// The scopes a tool requires, by tool name.
    pub fn tool_scopes(&self, name: &str) -> Option<ScopeRule> {
        self.catalog.tools().get(name).map(|(_, d)| d.scopes)
    }

    /// The permission model: every tool, resource, resource template and
    /// prompt, its scope rule with the hierarchy applied, and a tool's
    /// hints. Print it (a text table) or serialise it (JSON) to review who
    /// may do what; snapshot it in a test so that a changed rule shows up in
    /// review like a changed schema.
    pub fn permissions(&self) -> crate::Permissions {
        self.catalog.permissions()
    }

    /// Tells the clients listening for `uri` (on `subscriptions/listen`
    /// streams, protocol 2026-07-28) that the resource changed; returns how
    /// many streams were told. Each stream was opened by a caller allowed
    /// to read `uri` (the others are not acknowledged for it), so this is
    /// for a resource that reads the same for everyone who may read it.
    /// For one whose content is the caller's own, use
    /// [`notify_resource_updated_for`](Self::notify_resource_updated_for);
    /// inside a tool, take a [`ResourceUpdates`](crate::ResourceUpdates).
    ///
    /// Streams live in the process that accepted them: behind a load
    /// balancer, call this on every replica (from whatever tells them of
    /// the change).
    ///
    /// ```
    /// use mcp_runtime::{McpServer, resource};
    ///
    /// /// Today's menu.
    /// #[resource(uri = "menu://today", public)]
    /// fn menu_today() -> String {
    ///     "soup".into()
    /// }
    ///
    /// let server = McpServer::builder().item::<menu_today>().build().unwrap();
    /// // Later, when the kitchen changes the menu:
    /// let told = server.notify_resource_updated("menu://today");
    /// assert_eq!(told, 0, "nobody is listening yet");
    /// ```
    pub fn notify_resource_updated(&self, uri: &str) -> usize {
        self.catalog
            .updates()
            .publish(uri, crate::catalog::updates::Audience::Everyone)
    }

    /// Tells only `subject`'s listening clients that `uri` changed: for a
    /// resource whose content depends on the caller, so that other users
    /// listening for the same URI learn nothing of `subject`'s activity.
    /// Returns how many streams were told.
    pub fn notify_resource_updated_for(&self, subject: &str, uri: &str) -> usize {
        self.catalog.updates().publish(
            uri,
            crate::catalog::updates::Audience::Subject(Some(subject)),
        )
    }

    /// How many `subscriptions/listen` streams are open in this process.
    pub fn listen_streams(&self) -> usize {
        self.catalog.updates().streams()
    }

    /// Calls a tool in process, as a client with `token` would (scope check
    /// included): handy in tests.
    ///
    /// ```
    /// use mcp_runtime::{AccessToken, McpServer, tool};
    ///
    /// /// Doubles a number.
    /// #[tool(scope = "math")]
    /// fn double(n: i64) -> String {
    ///     (n * 2).to_string()
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let server = McpServer::builder().tool::<double>().build().unwrap();
    /// let args = serde_json::json!({ "n": 21 }).as_object().cloned();
    /// let token = AccessToken::new("t", "me").with_scopes(["math"]);
    /// let result = server.call_tool("double", args, Some(token)).await.unwrap();
    /// assert_eq!(result.is_error, Some(false));
    /// # }
    /// ```
    pub async fn call_tool(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        token: Option<AccessToken>,
    ) -> Result<CallToolResult, rmcp::ErrorData> {
        self.catalog.call_tool(name, arguments, token, None).await
    }
}
