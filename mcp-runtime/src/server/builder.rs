//! The server: its configuration, its tools, and how it is exposed.

use std::{collections::HashMap, fmt, net::SocketAddr, sync::Arc, time::Duration};

use std::future::Future;

use rmcp::{
    ErrorData,
    model::{
        CallToolResult, CompleteRequestParams, CompleteResult, GetPromptRequestParams,
        GetPromptResult, Implementation, JsonObject, ListToolsResult, PromptsCapability,
        ReadResourceRequestParams, ReadResourceResult, ResourcesCapability, ServerCapabilities,
        ServerConfig, Tool,
    },
};
use url::Url;

use crate::{
    AccessToken, Error, PromptArgs, ScopeHierarchy, ScopeRule, TokenVerifier, UriParams,
    prompt::{self, CompleteFn, Prompts},
    resource::{self, Resources, ResourcesBuilder},
    tool::{self, CallContext, Shared, StateMap, ToolDef, ToolHandle},
};

/// Default port, as in the reference deployment.
pub const DEFAULT_PORT: u16 = 3002;
/// Default bind address: loopback only.
pub const DEFAULT_HOST: &str = "127.0.0.1";
/// Default limit on a request body.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// A configured MCP server, ready to be served or embedded.
///
/// Cheap to clone: clones share everything.
#[derive(Clone)]
pub struct McpServer {
    pub(crate) inner: Arc<Inner>,
}

/// The tools, in listing order: `defs[i]` is listed as `list.tools[i]`.
pub(crate) struct Tools {
    pub(crate) defs: Vec<&'static ToolDef>,
    /// The `tools/list` answer, built once.
    pub(crate) list: ListToolsResult,
    pub(crate) by_name: HashMap<&'static str, usize>,
}

impl Tools {
    pub(crate) fn get(&self, name: &str) -> Option<(&'static ToolDef, &Tool)> {
        self.by_name
            .get(name)
            .map(|&i| (self.defs[i], &self.list.tools[i]))
    }
}

pub(crate) struct Auth {
    pub(crate) verifier: Arc<dyn TokenVerifier>,
    pub(crate) authorization_servers: Vec<String>,
    pub(crate) scopes_supported: Vec<String>,
    pub(crate) resource_name: Option<String>,
    pub(crate) step_up: bool,
}

pub(crate) struct Inner {
    pub(crate) tools: Tools,
    pub(crate) resources: Option<Resources>,
    pub(crate) prompts: Option<Prompts>,
    pub(crate) complete: Option<CompleteFn>,
    pub(crate) info: ServerConfig,
    pub(crate) shared: Arc<Shared>,
    pub(crate) auth: Option<Auth>,
    pub(crate) base_url: Url,
    pub(crate) bind: SocketAddr,
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) allowed_origins: Vec<crate::http::AllowedOrigin>,
    pub(crate) max_body_bytes: usize,
    pub(crate) json_response: bool,
    pub(crate) extra_routes: Option<axum::Router>,
}

impl fmt::Debug for McpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpServer")
            .field("endpoint", &self.endpoint().as_str())
            .field("bind", &self.inner.bind)
            .field(
                "tools",
                &self.inner.tools.by_name.keys().collect::<Vec<_>>(),
            )
            .field("authenticated", &self.inner.auth.is_some())
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
        self.inner.endpoint()
    }

    /// The address `serve` binds.
    pub fn bind_addr(&self) -> SocketAddr {
        self.inner.bind
    }

    /// The tools this server serves, as listed to clients.
    pub fn tools(&self) -> &[Tool] {
        &self.inner.tools.list.tools
    }

    /// The scopes a tool requires, by tool name.
    pub fn tool_scopes(&self, name: &str) -> Option<ScopeRule> {
        self.inner.tools.get(name).map(|(d, _)| d.scopes)
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
        let Some((def, _)) = self.inner.tools.get(name) else {
            return Err(crate::handler::unknown_tool(name));
        };
        let cx = CallContext::new(def.name, arguments, token, self.inner.shared.clone(), None);
        crate::handler::run(def, cx).await
    }
}

impl Inner {
    pub(crate) fn endpoint(&self) -> Url {
        self.base_url
            .join("mcp")
            .expect("base URL joins a relative path")
    }

    /// `{origin}/.well-known/oauth-protected-resource{/path of the endpoint}`.
    pub(crate) fn resource_metadata_url(&self) -> String {
        let endpoint = self.endpoint();
        let mut origin = endpoint.clone();
        origin.set_path("");
        format!(
            "{}.well-known/oauth-protected-resource{}",
            origin.as_str(),
            endpoint.path()
        )
    }
}

/// Configures an [`McpServer`].
///
/// ```
/// use mcp_runtime::{McpServer, ScopeHierarchy};
///
/// let server = McpServer::builder()
///     .name("todo-server")
///     .base_url("https://mcp.example.com/")
///     .unwrap()
///     .scope_hierarchy(ScopeHierarchy::new().with_chain(["system:admin", "system:write", "system:read"]))
///     .build()
///     .unwrap();
/// assert_eq!(server.endpoint().as_str(), "https://mcp.example.com/mcp");
/// ```
pub struct McpServerBuilder {
    name: String,
    version: String,
    title: Option<String>,
    instructions: Option<String>,
    base_url: Option<Url>,
    host: String,
    port: u16,
    explicit_tools: Option<Vec<&'static ToolDef>>,
    resources: ResourcesBuilder,
    prompts: Vec<(rmcp::model::Prompt, prompt::PromptFn)>,
    complete: Option<CompleteFn>,
    states: StateMap,
    hierarchy: ScopeHierarchy,
    verifier: Option<Arc<dyn TokenVerifier>>,
    authorization_servers: Vec<String>,
    scopes_supported: Option<Vec<String>>,
    resource_name: Option<String>,
    step_up: bool,
    allowed_origins: Vec<String>,
    allowed_hosts: Vec<String>,
    max_body_bytes: usize,
    json_response: bool,
    extra_routes: Option<axum::Router>,
}

impl Default for McpServerBuilder {
    fn default() -> Self {
        Self {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            title: None,
            instructions: None,
            base_url: None,
            host: DEFAULT_HOST.to_owned(),
            port: DEFAULT_PORT,
            explicit_tools: None,
            resources: ResourcesBuilder::default(),
            prompts: Vec::new(),
            complete: None,
            states: StateMap::default(),
            hierarchy: ScopeHierarchy::default(),
            verifier: None,
            authorization_servers: Vec::new(),
            scopes_supported: None,
            resource_name: None,
            step_up: false,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            json_response: true,
            extra_routes: None,
        }
    }
}

impl fmt::Debug for McpServerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpServerBuilder")
            .field("name", &self.name)
            .field("base_url", &self.base_url.as_ref().map(Url::as_str))
            .field("host", &self.host)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

fn parse_base_url(name: &str, value: &str) -> Result<Url, Error> {
    let url = Url::parse(value).map_err(|e| {
        Error::config(
            name,
            format!("`{value}` is not a URL ({e}); expected e.g. http://localhost:3002/"),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::config(
            name,
            format!("`{value}` must be an http(s) URL with a host, e.g. http://localhost:3002/"),
        ));
    }
    if !url.path().ends_with('/') {
        return Err(Error::config(
            name,
            format!("`{value}` must end with a slash: the MCP endpoint is {{{name}}}mcp"),
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::config(
            name,
            format!("`{value}` must not have a query or fragment"),
        ));
    }
    Ok(url)
}

impl McpServerBuilder {
    /// The server's name, reported to clients (default: the crate's name).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The server's version, reported to clients.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.version = version.into();
        self
    }

    /// A human-readable title, reported to clients.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Instructions for the model, reported at initialization.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// The public base URL, with a trailing slash (`MCP_URL`); the endpoint is
    /// `{base_url}mcp`. Default: `http://{host}:{port}/`.
    pub fn base_url(mut self, url: &str) -> Result<Self, Error> {
        self.base_url = Some(parse_base_url("base_url", url)?);
        Ok(self)
    }

    /// The address to bind (`HOST`, default `127.0.0.1`).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = host.into();
        self
    }

    /// The port to bind (`PORT`, default 3002).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Reads `MCP_URL`, `PORT`, `HOST` and `MCP_STEP_UP` from the environment.
    /// A malformed variable is an error naming it.
    pub fn from_env(mut self) -> Result<Self, Error> {
        if let Some(v) = env_var("HOST")? {
            self.host = v;
        }
        if let Some(v) = env_var("PORT")? {
            self.port = v.parse().map_err(|_| {
                Error::config("PORT", format!("`{v}` is not a port number (1-65535)"))
            })?;
        }
        if let Some(v) = env_var("MCP_URL")? {
            self.base_url = Some(parse_base_url("MCP_URL", &v)?);
        }
        if let Some(v) = env_var("MCP_STEP_UP")? {
            self.step_up = parse_bool("MCP_STEP_UP", &v)?;
        }
        Ok(self)
    }

    /// Serves only the tools named with this method, instead of every `#[tool]`
    /// in the binary.
    ///
    /// ```
    /// use mcp_runtime::{McpServer, tool};
    ///
    /// /// Pong.
    /// #[tool]
    /// fn ping() -> String { "pong".into() }
    ///
    /// let server = McpServer::builder().tool::<ping>().build().unwrap();
    /// assert_eq!(server.tools().len(), 1);
    /// ```
    pub fn tool<T: ToolHandle>(mut self) -> Self {
        self.explicit_tools
            .get_or_insert_with(Vec::new)
            .push(T::DEF);
        self
    }

    /// Adds shared state, handed to tools that take `State<T>`.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.states.insert(value);
        self
    }

    /// Serves a resource: `resource` is listed by `resources/list` as given,
    /// and `read` answers `resources/read` for its URI.
    ///
    /// `read` runs with the caller's token visible to
    /// [`get_access_token`](crate::get_access_token); resources have no scope
    /// rule of their own, so check scopes there if a resource needs them.
    /// A URI that no resource or [template](Self::resource_template) serves is
    /// answered with `-32002` (resource not found).
    ///
    /// `resources/subscribe` and `resources/unsubscribe` for a served URI are
    /// acknowledged, but the `subscribe` capability is not advertised and no
    /// `notifications/resources/updated` is ever sent: the transport is
    /// stateless, so there is no session to send one on. Likewise the
    /// listing never changes (no `listChanged`).
    ///
    /// ```
    /// use mcp_runtime::McpServer;
    /// use mcp_runtime::rmcp::model::{ReadResourceResult, Resource, ResourceContents};
    ///
    /// let server = McpServer::builder()
    ///     .resource(
    ///         Resource::new("docs://readme", "readme")
    ///             .with_description("How to use this server.")
    ///             .with_mime_type("text/markdown"),
    ///         |request| async move {
    ///             Ok(ReadResourceResult::new(vec![
    ///                 ResourceContents::text("# Hello", request.uri).with_mime_type("text/markdown"),
    ///             ]))
    ///         },
    ///     )
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn resource<F, Fut>(mut self, resource: rmcp::model::Resource, read: F) -> Self
    where
        F: Fn(ReadResourceRequestParams) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ReadResourceResult, ErrorData>> + Send + 'static,
    {
        self.resources
            .resources
            .push((resource, resource::read_fn(read)));
        self
    }

    /// Serves the resources a URI template describes: `template` is listed by
    /// `resources/templates/list`, and `read` answers `resources/read` for
    /// every URI that matches it and is not a [resource](Self::resource) of
    /// its own, with the template's variables taken from the URI.
    ///
    /// Only simple `{name}` variables (RFC 6570 level 1) are supported; each
    /// matches one or more characters other than `/`, `?` and `#`, and its
    /// value is percent-decoded. [`build`](Self::build) refuses other
    /// templates. Templates are tried in the order they were added.
    /// Otherwise as [`resource`](Self::resource).
    ///
    /// ```
    /// use mcp_runtime::McpServer;
    /// use mcp_runtime::rmcp::model::{ReadResourceResult, ResourceContents, ResourceTemplate};
    ///
    /// let server = McpServer::builder()
    ///     .resource_template(
    ///         ResourceTemplate::new("todo://items/{id}", "todo-item")
    ///             .with_description("One todo item, as JSON.")
    ///             .with_mime_type("application/json"),
    ///         |request, vars| async move {
    ///             let body = serde_json::json!({ "id": vars["id"], "done": false });
    ///             Ok(ReadResourceResult::new(vec![
    ///                 ResourceContents::text(body.to_string(), request.uri)
    ///                     .with_mime_type("application/json"),
    ///             ]))
    ///         },
    ///     )
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn resource_template<F, Fut>(
        mut self,
        template: rmcp::model::ResourceTemplate,
        read: F,
    ) -> Self
    where
        F: Fn(ReadResourceRequestParams, UriParams) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ReadResourceResult, ErrorData>> + Send + 'static,
    {
        self.resources
            .templates
            .push((template, resource::template_fn(read)));
        self
    }

    /// Serves a prompt: `prompt` is listed by `prompts/list` as given, and
    /// `get` answers `prompts/get` for its name.
    ///
    /// `get` receives the arguments as strings by name. A call that lacks an
    /// argument the prompt declares `required`, or that sends a non-string
    /// value, is refused with `-32602` (invalid params) before `get` runs, as
    /// is an unknown prompt name. `get` runs with the caller's token visible
    /// to [`get_access_token`](crate::get_access_token).
    ///
    /// ```
    /// use mcp_runtime::McpServer;
    /// use mcp_runtime::rmcp::model::{GetPromptResult, Prompt, PromptArgument, PromptMessage, Role};
    ///
    /// let server = McpServer::builder()
    ///     .prompt(
    ///         Prompt::new(
    ///             "review",
    ///             Some("Asks for a code review."),
    ///             Some(vec![PromptArgument::new("language").with_required(true)]),
    ///         ),
    ///         |_request, args| async move {
    ///             let text = format!("Review this {} code for bugs.", args["language"]);
    ///             Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)]))
    ///         },
    ///     )
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn prompt<F, Fut>(mut self, prompt: rmcp::model::Prompt, get: F) -> Self
    where
        F: Fn(GetPromptRequestParams, PromptArgs) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<GetPromptResult, ErrorData>> + Send + 'static,
    {
        self.prompts.push((prompt, prompt::prompt_fn(get)));
        self
    }

    /// Answers `completion/complete` (argument autocompletion for prompts
    /// and resource templates) with `complete`, and advertises the
    /// `completions` capability. Without it the method is not offered. A
    /// second call replaces the first.
    ///
    /// ```
    /// use mcp_runtime::McpServer;
    /// use mcp_runtime::rmcp::model::{CompleteResult, CompletionInfo};
    ///
    /// const LANGUAGES: [&str; 3] = ["python", "ruby", "rust"];
    ///
    /// let server = McpServer::builder()
    ///     .completion(|request| async move {
    ///         let mut info = CompletionInfo::default();
    ///         if request.argument.name == "language" {
    ///             info.values = LANGUAGES
    ///                 .iter()
    ///                 .filter(|l| l.starts_with(&request.argument.value))
    ///                 .map(|l| l.to_string())
    ///                 .collect();
    ///         }
    ///         Ok(CompleteResult::new(info))
    ///     })
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn completion<F, Fut>(mut self, complete: F) -> Self
    where
        F: Fn(CompleteRequestParams) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CompleteResult, ErrorData>> + Send + 'static,
    {
        self.complete = Some(prompt::complete_fn(complete));
        self
    }

    /// Scopes that imply others, applied to every scope check.
    pub fn scope_hierarchy(mut self, hierarchy: ScopeHierarchy) -> Self {
        self.hierarchy = hierarchy;
        self
    }

    /// Requires a bearer token on `/mcp`, verified by `verifier`.
    pub fn verifier(mut self, verifier: impl TokenVerifier) -> Self {
        self.verifier = Some(Arc::new(verifier));
        self
    }

    /// Like [`verifier`](Self::verifier), for a verifier already shared.
    pub fn shared_verifier(mut self, verifier: Arc<dyn TokenVerifier>) -> Self {
        self.verifier = Some(verifier);
        self
    }

    /// An authorization server to advertise in the protected resource metadata.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// The advertised `scopes_supported` (default: every scope the tools name).
    pub fn scopes_supported<S: Into<String>>(
        mut self,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        self.scopes_supported = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// The advertised `resource_name` (default: the server's title or name).
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// Step-up mode: a `tools/call` whose token lacks the tool's scopes gets
    /// HTTP 403 `insufficient_scope`, so the client can ask for them (`MCP_STEP_UP`).
    pub fn step_up(mut self, on: bool) -> Self {
        self.step_up = on;
        self
    }

    /// Allows browser requests from `origin` (e.g. `https://app.example.com`);
    /// `http://localhost:*`-style entries match any port. The base URL's own
    /// origin and loopback origins are always allowed.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.allowed_origins.push(origin.into());
        self
    }

    /// Accepts requests whose `Host` is `host`, besides the base URL's host
    /// and loopback.
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.allowed_hosts.push(host.into());
        self
    }

    /// Largest accepted request body (default 4 MiB).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Answer with a JSON body when a call sends no notifications (default),
    /// or always with an SSE stream (`false`).
    pub fn json_response(mut self, on: bool) -> Self {
        self.json_response = on;
        self
    }

    /// Routes served next to `/mcp` (for example an authorization server's
    /// documents), outside the bearer check.
    pub fn routes(mut self, router: axum::Router) -> Self {
        self.extra_routes = Some(match self.extra_routes.take() {
            Some(r) => r.merge(router),
            None => router,
        });
        self
    }

    /// Configures authentication with `provider`: [`ScalekitProvider`],
    /// [`OidcProvider`], [`DevProvider`], or [`EnvProvider`] to let the
    /// environment choose.
    ///
    /// [`ScalekitProvider`]: crate::ScalekitProvider
    /// [`OidcProvider`]: crate::OidcProvider
    /// [`DevProvider`]: crate::DevProvider
    /// [`EnvProvider`]: crate::EnvProvider
    pub fn auth(self, provider: impl crate::AuthProvider) -> Result<Self, Error> {
        tracing::info!(provider = %provider.describe(), "authentication");
        provider.install(self)
    }

    /// Authentication as the environment says (see [`EnvProvider`]); returns
    /// the builder and a description of the provider chosen.
    ///
    /// [`EnvProvider`]: crate::EnvProvider
    pub fn auth_from_env(self) -> Result<(Self, String), Error> {
        self.auth_from_settings(&crate::AuthSettings::from_env()?)
    }

    /// Authentication as `settings` say (see [`EnvProvider`]); returns the
    /// builder and a description of the provider chosen.
    ///
    /// [`EnvProvider`]: crate::EnvProvider
    pub fn auth_from_settings(
        self,
        settings: &crate::AuthSettings,
    ) -> Result<(Self, String), Error> {
        let provider = crate::EnvProvider::from_settings(settings, &self.effective_base_url()?)?;
        let described = crate::AuthProvider::describe(&provider);
        Ok((self.auth(provider)?, described))
    }

    /// The base URL as configured, or the default for the bind address.
    pub fn effective_base_url(&self) -> Result<Url, Error> {
        if let Some(u) = &self.base_url {
            return Ok(u.clone());
        }
        let ip: std::net::IpAddr = self.host.parse().map_err(|_| {
            Error::config(
                "HOST",
                format!("`{}` is not an IP address to bind", self.host),
            )
        })?;
        let host = if ip.is_unspecified() {
            "localhost".to_owned()
        } else {
            bracket_v6(&self.host)
        };
        Url::parse(&format!("http://{host}:{}/", self.port))
            .map_err(|e| Error::config("HOST", e.to_string()))
    }

    /// Whether the bind address is a loopback address.
    pub fn binds_loopback(&self) -> bool {
        self.host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
    }

    /// Checks the configuration and prepares everything served per request.
    pub fn build(self) -> Result<McpServer, Error> {
        let base_url = self.effective_base_url()?;
        let defs: Vec<&'static ToolDef> = match self.explicit_tools {
            Some(defs) => defs,
            None => {
                let mut all: Vec<_> = tool::registered().collect();
                all.sort_by(|a, b| a.name.cmp(b.name).then(a.location.cmp(b.location)));
                all
            }
        };
        let mut by_name = HashMap::new();
        let mut kept: Vec<&'static ToolDef> = Vec::with_capacity(defs.len());
        for def in defs {
            if let Some(&i) = by_name.get(def.name) {
                let first: &ToolDef = kept[i];
                if std::ptr::eq(first, def) {
                    continue; // the same tool named twice with .tool::<T>()
                }
                return Err(Error::DuplicateTool {
                    name: def.name.to_owned(),
                    first: first.location,
                    second: def.location,
                });
            }
            for state in def.states {
                let key = state();
                if !self.states.contains(key.id) {
                    return Err(Error::MissingState {
                        tool: def.name,
                        state: key.name,
                    });
                }
            }
            by_name.insert(def.name, kept.len());
            kept.push(def);
        }
        let listed: Vec<Tool> = kept.iter().map(|d| (d.describe)()).collect();

        let bind: SocketAddr = format!("{}:{}", bracket_v6(&self.host), self.port)
            .parse()
            .map_err(|_| {
                Error::config(
                    "HOST",
                    format!("`{}` is not an IP address to bind", self.host),
                )
            })?;

        // The transport strips IPv6 brackets before comparing, and clones
        // this list on every request: keep it short.
        let mut allowed_hosts: Vec<String> = Vec::new();
        let hosts = ["localhost", "127.0.0.1", "::1"]
            .into_iter()
            .map(str::to_owned)
            .chain(
                base_url
                    .host_str()
                    .map(|h| h.trim_matches(['[', ']']).to_owned()),
            )
            .chain(self.allowed_hosts);
        for host in hosts {
            if !allowed_hosts.contains(&host) {
                allowed_hosts.push(host);
            }
        }

        let allowed_origins = [
            base_url.origin().ascii_serialization(),
            "http://localhost:*".to_owned(),
            "http://127.0.0.1:*".to_owned(),
            "http://[::1]:*".to_owned(),
        ]
        .iter()
        .chain(&self.allowed_origins)
        .map(|o| crate::http::AllowedOrigin::parse(o))
        .collect();

        let mut scopes: Vec<String> = Vec::new();
        for def in &kept {
            for s in def.scopes.scopes() {
                if !scopes.iter().any(|x| x == s) {
                    scopes.push((*s).to_owned());
                }
            }
        }
        scopes.sort();
        let resource_name = self
            .resource_name
            .or_else(|| self.title.clone())
            .unwrap_or_else(|| self.name.clone());
        let auth = self.verifier.map(|verifier| Auth {
            verifier,
            authorization_servers: self.authorization_servers,
            scopes_supported: self.scopes_supported.unwrap_or(scopes),
            resource_name: Some(resource_name),
            step_up: self.step_up,
        });

        let mut implementation = Implementation::new(self.name, self.version);
        if let Some(t) = self.title {
            implementation = implementation.with_title(t);
        }
        // Logging is deprecated by SEP-2577, but clients of the earlier
        // revisions still ask for it.
        #[allow(deprecated)]
        let mut capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_logging()
            .build();
        let resources = if self.resources.is_empty() {
            None
        } else {
            // No `subscribe` and no `listChanged`: a stateless server has no
            // session to send notifications on (see `resource`).
            capabilities.resources = Some(ResourcesCapability::default());
            Some(self.resources.build()?)
        };
        let prompts = if self.prompts.is_empty() {
            None
        } else {
            capabilities.prompts = Some(PromptsCapability::default());
            Some(Prompts::build(self.prompts)?)
        };
        if self.complete.is_some() {
            capabilities.completions = Some(JsonObject::new());
        }
        let mut info = ServerConfig::new(capabilities).with_server_info(implementation);
        if let Some(i) = self.instructions {
            info = info.with_instructions(i);
        }

        Ok(McpServer {
            inner: Arc::new(Inner {
                tools: Tools {
                    defs: kept,
                    list: ListToolsResult::with_all_items(listed),
                    by_name,
                },
                resources,
                prompts,
                complete: self.complete,
                info,
                shared: Arc::new(Shared {
                    states: self.states,
                    hierarchy: self.hierarchy,
                }),
                auth,
                base_url,
                bind,
                allowed_hosts,
                allowed_origins,
                max_body_bytes: self.max_body_bytes,
                json_response: self.json_response,
                extra_routes: self.extra_routes,
            }),
        })
    }
}

fn bracket_v6(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}

pub(crate) fn env_var(name: &str) -> Result<Option<String>, Error> {
    match std::env::var(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v.trim().to_owned())),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(Error::config(name, "the value is not valid UTF-8"))
        }
    }
}

pub(crate) fn parse_bool(name: &str, v: &str) -> Result<bool, Error> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(Error::config(
            name,
            format!("`{v}` is not a boolean; use true or false"),
        )),
    }
}

/// How long `serve` waits for in-flight requests after a shutdown signal.
pub(crate) const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
