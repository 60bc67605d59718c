//! [`McpServerBuilder`]: what a server serves, who may enter, and where.

use std::{future::Future, net::SocketAddr, sync::Arc, time::Duration};

use rmcp::{
    ErrorData,
    model::{
        CompleteRequestParams, CompleteResult, GetPromptRequestParams, GetPromptResult,
        ReadResourceRequestParams, ReadResourceResult,
    },
};
use url::Url;

use super::{McpServer, Served, serve};
use crate::{
    auth::{AuthProvider, AuthSettings, Authentication, Site},
    catalog::{
        Catalog, CatalogBuilder,
        access::Guarded,
        prompt::{self, PromptArgs},
        resource::{self, DeclaredItem, ItemHandle},
        scopes::{ScopeHierarchy, ScopeRule},
        tool::ToolHandle,
        uri_template::UriParams,
        vocabulary::Vocabulary,
    },
    env,
    error::Error,
    gate::{Gate, GateConfig, SitePolicy},
};

type Install = Box<dyn FnOnce(&Site) -> Result<Authentication, Error> + Send>;

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
    catalog: CatalogBuilder,
    gate: GateConfig,
    base_url: Option<Url>,
    host: String,
    port: u16,
    auth: Option<(&'static str, Install)>,
    json_response: bool,
    direct: bool,
    routes: Option<axum::Router>,
    any_origin_routes: Option<axum::Router>,
    header_timeout: Option<Duration>,
    max_connections: usize,
    shutdown_grace: Duration,
}

impl Default for McpServerBuilder {
    fn default() -> Self {
        Self {
            catalog: CatalogBuilder::default(),
            gate: GateConfig::default(),
            base_url: None,
            host: Self::DEFAULT_HOST.to_owned(),
            port: Self::DEFAULT_PORT,
            auth: None,
            json_response: true,
            direct: true,
            routes: None,
            any_origin_routes: None,
            header_timeout: Some(serve::DEFAULT_HEADER_TIMEOUT),
            max_connections: serve::DEFAULT_MAX_CONNECTIONS,
            shutdown_grace: serve::DEFAULT_SHUTDOWN_GRACE,
        }
    }
}

impl std::fmt::Debug for McpServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpServerBuilder")
            .field("name", &self.catalog.name)
            .field("base_url", &self.base_url.as_ref().map(Url::as_str))
            .field("host", &self.host)
            .field("port", &self.port)
            .field("auth", &self.auth.as_ref().map(|(kind, _)| kind))
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
    /// Default port, as in the reference deployment.
    pub const DEFAULT_PORT: u16 = 3002;
    /// Default bind address: loopback only.
    pub const DEFAULT_HOST: &'static str = "127.0.0.1";
    /// Default limit on a request body: 4 MiB.
    pub const DEFAULT_MAX_BODY_BYTES: usize = crate::gate::DEFAULT_MAX_BODY_BYTES;

    /// The server's name, reported to clients (default: the crate's name).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.catalog.name = name.into();
        self
    }

    /// The server's version, reported to clients.
    pub fn version(mut self, version: impl Into<String>) -> Self {
        self.catalog.version = version.into();
        self
    }

    /// A human-readable title, reported to clients.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.catalog.title = Some(title.into());
        self
    }

    /// Instructions for the model, reported at initialization.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.catalog.instructions = Some(instructions.into());
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

    /// Configures what the environment says: `MCP_URL`, `PORT`, `HOST`,
    /// `MCP_STEP_UP`, `MCP_CHALLENGE_SCOPES`, the limits (see [`limits_from_env`](Self::limits_from_env)), and, unless [`auth`](Self::auth) was called before,
    /// authentication as [`AuthSettings::from_env`] reads it (Scalekit, any
    /// OIDC issuer, or the development issuer). A malformed variable is an
    /// error naming it.
    pub fn from_env(mut self) -> Result<Self, Error> {
        if let Some(v) = env::var("HOST")? {
            self.host = v;
        }
        if let Some(v) = env::var("PORT")? {
            self.port = v.parse().map_err(|_| {
                Error::config("PORT", format!("`{v}` is not a port number (1-65535)"))
            })?;
        }
        if let Some(v) = env::var("MCP_URL")? {
            self.base_url = Some(parse_base_url("MCP_URL", &v)?);
        }
        if let Some(on) = env::bool_var("MCP_STEP_UP")? {
            self.gate.step_up = on;
        }
        if let Some(scopes) = env::scopes_var("MCP_CHALLENGE_SCOPES")? {
            self.gate.challenge_scopes = Some(("MCP_CHALLENGE_SCOPES", dedup(scopes)));
        }
        self = self.limits_from_env()?;
        if self.auth.is_none() {
            self = self.auth(AuthSettings::from_env()?);
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
    /// #[tool(public)]
    /// fn ping() -> String { "pong".into() }
    ///
    /// let server = McpServer::builder().tool::<ping>().build().unwrap();
    /// assert_eq!(server.tools().len(), 1);
    /// ```
    pub fn tool<T: ToolHandle>(mut self) -> Self {
        self.catalog.tools.get_or_insert_with(Vec::new).push(T::DEF);
        self
    }

    /// Serves this `#[resource]`, `#[resource_template]` or `#[prompt]`.
    /// Without any call to `item`, the server serves every one declared in
    /// the binary; after the first, only those named (as
    /// [`tool`](Self::tool) does for tools). Naming one twice serves it once.
    ///
    /// ```
    /// use mcp_runtime::{McpServer, resource};
    ///
    /// /// The server's motto.
    /// #[resource(uri = "about://motto", public)]
    /// fn motto() -> &'static str { "Scopes first." }
    ///
    /// let server = McpServer::builder().item::<motto>().build().unwrap();
    /// assert!(server.permissions().items.iter().any(|i| i.name == "about://motto"));
    /// ```
    pub fn item<T: ItemHandle>(mut self) -> Self {
        let items = self.catalog.items.get_or_insert_with(Vec::new);
        let same = |a: &DeclaredItem, b: &DeclaredItem| match (a, b) {
            (DeclaredItem::Resource(a), DeclaredItem::Resource(b)) => std::ptr::eq(*a, *b),
            (DeclaredItem::Prompt(a), DeclaredItem::Prompt(b)) => std::ptr::eq(*a, *b),
            _ => false,
        };
        if !items.iter().any(|i| same(i, &T::ITEM)) {
            items.push(T::ITEM);
        }
        self
    }

    /// Adds shared state, handed to tools that take `State<T>`.
    pub fn state<T: Send + Sync + 'static>(mut self, value: T) -> Self {
        self.catalog.states.insert(value);
        self
    }

    /// Serves a resource: `resource` is listed by `resources/list` as given,
    /// and `read` answers `resources/read` for its URI, to callers whose
    /// token satisfies `rule`. This is the dynamic form of
    /// [`#[resource]`](crate::resource); as there, every resource has a rule
    /// ([`ScopeRule::Public`] opens it on purpose).
    ///
    /// A caller refused by `rule` gets the JSON-RPC error
    /// [`FORBIDDEN`](crate::scopes::FORBIDDEN) (`-32003`,
    /// ``Insufficient permissions: `hr:read` scope required.``), or in
    /// [step-up mode](Self::step_up) an HTTP 403 `insufficient_scope`
    /// challenge; with [`conceal_refusals`](Self::conceal_refusals), the
    /// not-found error instead. `read` runs with the caller's token visible
    /// to [`get_access_token`](crate::get_access_token). A URI that no
    /// resource or [template](Self::resource_template) serves is answered
    /// with `-32002` (resource not found).
    ///
    /// Clients of protocol 2026-07-28 listen for updates of the resources
    /// they may read on `subscriptions/listen` streams (the `subscribe`
    /// capability); the server tells them with
    /// [`McpServer::notify_resource_updated`](crate::McpServer::notify_resource_updated)
    /// or, inside a tool, a [`ResourceUpdates`](crate::ResourceUpdates).
    /// For earlier revisions, `resources/subscribe` and
    /// `resources/unsubscribe` are not offered (`-32601`), nor is
    /// `subscribe` in their `initialize` answer: the transport is
    /// stateless, so there is no session to send
    /// `notifications/resources/updated` on. The listing never changes (no
    /// `listChanged`).
    ///
    /// ```
    /// use mcp_runtime::{McpServer, ScopeRule};
    /// use mcp_runtime::rmcp::model::{ReadResourceResult, Resource, ResourceContents};
    ///
    /// let server = McpServer::builder()
    ///     .resource(
    ///         Resource::new("docs://readme", "readme")
    ///             .with_description("How to use this server.")
    ///             .with_mime_type("text/markdown"),
    ///         ScopeRule::All(&["docs:read"]),
    ///         |request| async move {
    ///             Ok(ReadResourceResult::new(vec![
    ///                 ResourceContents::text("# Hello", request.uri).with_mime_type("text/markdown"),
    ///             ]))
    ///         },
    ///     )
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn resource<F, Fut>(
        mut self,
        resource: rmcp::model::Resource,
        rule: ScopeRule,
        read: F,
    ) -> Self
    where
        F: Fn(ReadResourceRequestParams) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ReadResourceResult, ErrorData>> + Send + 'static,
    {
        let read = resource::read_fn(read);
        self.catalog
            .resources
            .push(resource::Declared::Resource(resource, rule, read));
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
    /// templates. Templates are tried in the order they were added, after
    /// those declared with [`#[resource_template]`](crate::resource_template).
    /// Otherwise as [`resource`](Self::resource), `rule` included.
    ///
    /// ```
    /// use mcp_runtime::{McpServer, ScopeRule};
    /// use mcp_runtime::rmcp::model::{ReadResourceResult, ResourceContents, ResourceTemplate};
    ///
    /// let server = McpServer::builder()
    ///     .resource_template(
    ///         ResourceTemplate::new("todo://items/{id}", "todo-item")
    ///             .with_description("One todo item, as JSON.")
    ///             .with_mime_type("application/json"),
    ///         ScopeRule::All(&["todo:read"]),
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
        rule: ScopeRule,
        read: F,
    ) -> Self
    where
        F: Fn(ReadResourceRequestParams, UriParams) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ReadResourceResult, ErrorData>> + Send + 'static,
    {
        let read = resource::template_fn(read);
        self.catalog
            .resources
            .push(resource::Declared::Template(template, rule, read));
        self
    }

    /// Serves a prompt: `prompt` is listed by `prompts/list` as given, and
    /// `get` answers `prompts/get` for its name, to callers whose token
    /// satisfies `rule` (refusals as for [`resource`](Self::resource)). This
    /// is the dynamic form of [`#[prompt]`](crate::prompt).
    ///
    /// `get` receives the arguments as strings by name. A call that lacks an
    /// argument the prompt declares `required`, or that sends a non-string
    /// value, is refused with `-32602` (invalid params) before `get` runs, as
    /// is an unknown prompt name. `get` runs with the caller's token visible
    /// to [`get_access_token`](crate::get_access_token).
    ///
    /// ```
    /// use mcp_runtime::{McpServer, ScopeRule};
    /// use mcp_runtime::rmcp::model::{GetPromptResult, Prompt, PromptArgument, PromptMessage, Role};
    ///
    /// let server = McpServer::builder()
    ///     .prompt(
    ///         Prompt::new(
    ///             "review",
    ///             Some("Asks for a code review."),
    ///             Some(vec![PromptArgument::new("language").with_required(true)]),
    ///         ),
    ///         ScopeRule::Public,
    ///         |_request, args| async move {
    ///             let text = format!("Review this {} code for bugs.", args["language"]);
    ///             Ok(GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)]))
    ///         },
    ///     )
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn prompt<F, Fut>(mut self, prompt: rmcp::model::Prompt, rule: ScopeRule, get: F) -> Self
    where
        F: Fn(GetPromptRequestParams, PromptArgs) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<GetPromptResult, ErrorData>> + Send + 'static,
    {
        let handler = prompt::prompt_fn(get);
        self.catalog
            .prompts
            .push((prompt, Guarded { rule, handler }));
        self
    }

    /// Answers `completion/complete` (argument autocompletion for prompts
    /// and resource templates) with `complete`, and advertises the
    /// `completions` capability. Without it the method is not offered. A
    /// second call replaces the first.
    ///
    /// A completion is scoped by what it completes: `complete` runs only for
    /// a caller who may get the prompt, or read through the resource
    /// template, that the request's `ref` names; others are refused as
    /// [`resource`](Self::resource) describes (with
    /// [`conceal_refusals`](Self::conceal_refusals), they get no values).
    /// A `ref` naming nothing served is `-32602`.
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
        self.catalog.complete = Some(prompt::complete_fn(complete));
        self
    }

    /// Scopes that imply others, applied to every scope check; merged with
    /// the implications of the [vocabulary](Self::vocabulary), if any.
    pub fn scope_hierarchy(mut self, hierarchy: ScopeHierarchy) -> Self {
        self.catalog.hierarchy = hierarchy;
        self
    }

    /// The server's scope vocabulary, usually declared with
    /// [`scopes!`](crate::scopes!): every scope the server knows.
    ///
    /// With a vocabulary, `scopes_supported` is every scope it declares
    /// (unless [`scopes_supported`](Self::scopes_supported) says otherwise),
    /// its implications join the [`scope_hierarchy`](Self::scope_hierarchy),
    /// [`McpServer::scope_description`] describes its scopes, and
    /// [`build`](Self::build) refuses a tool requiring a scope it does not
    /// declare, naming the tool, the scope and where the tool is declared.
    ///
    /// ```standalone_crate
    /// use mcp_runtime::{McpServer, tool};
    ///
    /// mcp_runtime::scopes! {
    ///     /// The scopes of this server.
    ///     pub SCOPES {
    ///         TODO_READ = "todo:read" => "Read your todo items",
    ///         TODO_WRITE = "todo:write" => "Create and change todo items",
    ///     }
    /// }
    ///
    /// /// Add a todo item.
    /// #[tool(scope = TODO_WRITE)]
    /// fn create_todo(title: String) -> String {
    ///     title
    /// }
    ///
    /// /// Add a todo item, requiring a scope the vocabulary lacks.
    /// #[tool(scope = "todo:create")]
    /// fn add_todo(title: String) -> String {
    ///     title
    /// }
    ///
    /// let server = McpServer::builder().vocabulary(&SCOPES).tool::<create_todo>().build()?;
    /// assert_eq!(server.scope_description("todo:write"), Some("Create and change todo items"));
    ///
    /// let refused = McpServer::builder().vocabulary(&SCOPES).tool::<add_todo>().build();
    /// let message = refused.unwrap_err().to_string();
    /// assert!(message.starts_with("tool `add_todo` (declared at "), "{message}");
    /// assert!(message.contains("requires the scope `todo:create`, which the vocabulary `SCOPES`"));
    /// # Ok::<(), mcp_runtime::Error>(())
    /// ```
    pub fn vocabulary(mut self, vocabulary: &'static Vocabulary) -> Self {
        self.catalog.vocabulary = Some(vocabulary);
        self
    }

    /// An authorization server to advertise in the protected resource metadata.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.gate.authorization_servers.push(issuer.into());
        self
    }

    /// Answers a refused `resources/read`, `prompts/get` or
    /// `completion/complete` exactly as if the resource or prompt did not
    /// exist (`-32002`, `Unknown prompt`, no completion values), for servers
    /// where an item's existence is itself sensitive (`hr://employees/42`).
    /// Off by default: the `-32003` refusal tells an honest client which
    /// scope to ask for. In [step-up mode](Self::step_up) these surfaces then
    /// get no 403 either (a 403 would tell the item exists); tools are
    /// unaffected. Refusals are audited either way.
    pub fn conceal_refusals(mut self, on: bool) -> Self {
        self.catalog.conceal_refusals = on;
        self
    }

    /// Lists only what the caller may use: `tools/list`,
    /// `resources/list`, `resources/templates/list` and `prompts/list` leave
    /// out every item whose scope rule the caller's token does not satisfy
    /// (the hierarchy applied). Calling a hidden item still gets the scope
    /// refusal, never "unknown", so filtering hides nothing an honest
    /// client could not learn by asking; it keeps a model from being shown
    /// tools it cannot use.
    ///
    /// Off by default: clients (and people reviewing a server) then see the
    /// whole surface, and a refusal says which scope to ask for, which is
    /// what step-up relies on. Turn it on when callers hold very different
    /// scopes and the full list would mislead (a model offered an admin tool
    /// it can never call tends to try it), or when the names themselves are
    /// sensitive; a client then sees new items appear only after it gets a
    /// broader token.
    ///
    /// ```
    /// use mcp_runtime::McpServer;
    ///
    /// let server = McpServer::builder().filter_listings(true).build().unwrap();
    /// # let _ = server;
    /// ```
    pub fn filter_listings(mut self, on: bool) -> Self {
        self.catalog.filter_listings = on;
        self
    }

    /// The key sealing the `requestState` of calls that ask the client for
    /// input ([`ToolContext::confirm`](crate::ToolContext::confirm)): 32 or
    /// more random bytes, the same on every replica behind one address, so
    /// that a retry may reach any of them. Without it, each process draws a
    /// random key, and a retry reaching another process is refused (`-32602`)
    /// and must start over. A shorter key is an error at [`build`](Self::build).
    pub fn request_state_key(mut self, key: impl Into<Vec<u8>>) -> Self {
        self.catalog.request_state_key = Some(key.into());
        self
    }

    /// How long a client has to answer a tool's question: its
    /// `requestState` is refused after this (default 10 minutes).
    pub fn request_state_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.catalog.request_state_ttl = ttl;
        self
    }

    /// How long clients of protocol 2026-07-28 or later may reuse a list
    /// result (`tools/list`, `resources/list`, `resources/templates/list`,
    /// `prompts/list`) or a resource read before asking again: the results'
    /// `ttlMs` (default 0, ask every time). Reads of one resource or
    /// template can have their own: [`resource_cache_ttl`](Self::resource_cache_ttl).
    ///
    /// Who may keep a result (`cacheScope`) is not configured: an unfiltered
    /// listing is the same for every caller and is `public`; a
    /// [filtered](Self::filter_listings) listing depends on the caller's
    /// scopes and a read runs with the caller's token, so both are
    /// `private`, never served by a shared cache to another user.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mcp_runtime::McpServer;
    ///
    /// let server = McpServer::builder()
    ///     .cache_ttl(Duration::from_secs(300))
    ///     .build()
    ///     .unwrap();
    /// # let _ = server;
    /// ```
    pub fn cache_ttl(mut self, ttl: std::time::Duration) -> Self {
        self.catalog.cache_ttl.all = ttl;
        self
    }

    /// The `ttlMs` of reads of one resource (`item` is its URI) or resource
    /// template (its URI template), instead of [`cache_ttl`](Self::cache_ttl)'s.
    /// [`build`](Self::build) fails when the server serves no such item.
    pub fn resource_cache_ttl(mut self, item: impl Into<String>, ttl: std::time::Duration) -> Self {
        self.catalog.cache_ttl.items.insert(item.into(), ttl);
        self
    }

    /// The advertised `scopes_supported` (default: every scope the
    /// [vocabulary](Self::vocabulary) declares, or without one every scope
    /// the tools, resources and prompts name).
    pub fn scopes_supported<S: Into<String>>(
        mut self,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        self.gate.scopes_supported = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// The scopes the `401` challenge asks for on first contact: the `scope`
    /// of its `WWW-Authenticate: Bearer` header (`MCP_CHALLENGE_SCOPES`,
    /// space- or comma-separated, read by [`from_env`](Self::from_env)).
    ///
    /// An MCP client (authorization spec 2025-11-25, "Scope Selection
    /// Strategy") asks for exactly the `scope` of the first 401, and only
    /// without one for every scope of `scopes_supported`. By default the 401
    /// names `scopes_supported`, so a client asks for every scope on first
    /// contact: the same as if `scope` were left out. Naming here the scopes
    /// basic use needs (read-only ones, say) lets clients start with least
    /// privilege and ask for more when a call needs it: with
    /// [`step_up`](Self::step_up) on, the `403 insufficient_scope` of such a
    /// call names the scopes to ask for. An empty list leaves `scope` out of
    /// the 401. The `403` of step-up is not affected.
    ///
    /// [`build`](Self::build) checks that each scope is one RFC 6749 scope
    /// token and, with a [vocabulary](Self::vocabulary), one it declares.
    ///
    /// ```
    /// use mcp_runtime::{McpServer, auth::StaticTokenVerifier};
    ///
    /// let server = McpServer::builder()
    ///     .auth(StaticTokenVerifier::new())
    ///     .scopes_supported(["todo:read", "todo:write"])
    ///     .challenge_scopes(["todo:read"])
    ///     .build()?;
    ///
    /// let refused = McpServer::builder()
    ///     .challenge_scopes(["todo read"])
    ///     .build()
    ///     .unwrap_err();
    /// assert_eq!(
    ///     refused.to_string(),
    ///     "challenge_scopes: \"todo read\" is not one RFC 6749 scope token \
    ///      (printable ASCII except space, `\"` and `\\`)"
    /// );
    /// # Ok::<(), mcp_runtime::Error>(())
    /// ```
    pub fn challenge_scopes(mut self, scopes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.gate.challenge_scopes = Some(("challenge_scopes", dedup(scopes)));
        self
    }

    /// The advertised `resource_name` (default: the server's title or name).
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.gate.resource_name = Some(name.into());
        self
    }

    /// Step-up mode: a `tools/call` whose token lacks the tool's scopes gets
    /// HTTP 403 `insufficient_scope`, so the client can ask for them (`MCP_STEP_UP`).
    /// The same goes for `resources/read`, `prompts/get` and completions.
    ///
    /// The challenge's `scope` names the scopes the operation needs (all of
    /// an all-of rule's, the first option of an any-of rule's), as RFC 6750
    /// §3.1 says and as clients of protocol revision 2026-07-28 or later
    /// expect: they add the challenged scopes to those they asked for before
    /// (SEP-2350). Clients of earlier revisions ask for exactly the
    /// challenged scopes, so for them (a request whose `Mcp-Protocol-Version`
    /// is earlier, or absent) it names the scopes the token holds first.
    pub fn step_up(mut self, on: bool) -> Self {
        self.gate.step_up = on;
        self
    }

    /// Allows browser requests from `origin` (e.g. `https://app.example.com`);
    /// `http://localhost:*`-style entries match any port. The base URL's own
    /// origin and loopback origins are always allowed.
    pub fn allow_origin(mut self, origin: impl Into<String>) -> Self {
        self.gate.allowed_origins.push(origin.into());
        self
    }

    /// Accepts requests whose `Host` is `host`, besides the base URL's host
    /// and loopback.
    pub fn allow_host(mut self, host: impl Into<String>) -> Self {
        self.gate.allowed_hosts.push(host.into());
        self
    }

    /// Largest accepted request body (default 4 MiB).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.gate.max_body_bytes = bytes;
        self
    }

    /// Answer with a JSON body when a call sends no notifications (default),
    /// or always with an SSE stream (`false`).
    pub fn json_response(mut self, on: bool) -> Self {
        self.json_response = on;
        self
    }

    /// Answer the common stateless requests (`tools/call`, `tools/list`,
    /// `ping` at protocol versions before `2026-07-28`, with no `_meta`)
    /// straight from the tools, without rmcp's per-request service
    /// (default), or send every request through rmcp's transport (`false`).
    /// The answers are the same either way, JSON or SSE (see
    /// [`json_response`](Self::json_response)); the direct path costs less
    /// CPU per request.
    pub fn direct_dispatch(mut self, on: bool) -> Self {
        self.direct = on;
        self
    }

    /// Routes served next to `/mcp`, outside the bearer check, behind the
    /// same Host and Origin policy as `/mcp`: a request whose `Host` is not
    /// this server's (the base URL's host, loopback names, or one allowed
    /// with [`allow_host`](Self::allow_host)) gets 403, as does one that
    /// carries an `Origin` not allowed (see [`allow_origin`](Self::allow_origin));
    /// requests without an `Origin` (clients other than browsers) pass.
    /// Served by the server's own loop, they also keep the connection
    /// limits and the graceful shutdown. For routes any browser page may
    /// call, see [`routes_without_origin_check`](Self::routes_without_origin_check).
    ///
    /// ```
    /// use mcp_runtime::{McpServer, axum::{Router, routing::get}};
    ///
    /// let version = Router::new().route("/version", get(|| async { env!("CARGO_PKG_VERSION") }));
    /// let server = McpServer::builder().routes(version).build()?;
    /// # Ok::<(), mcp_runtime::Error>(())
    /// ```
    pub fn routes(mut self, router: axum::Router) -> Self {
        self.routes = merged(self.routes.take(), Some(router));
        self
    }

    /// Routes served like [`routes`](Self::routes), except that a request
    /// from a browser page of any origin is let through, with CORS that lets
    /// any origin read a `GET`: for public documents, as the protected
    /// resource metadata is served. The Host policy still applies, so a
    /// DNS-rebinding page is refused.
    ///
    /// The Origin check is skipped by path: for every method served at a
    /// path of `router`, and for CORS preflights to it. The paths are
    /// matched as written in `router`, from the root of the app: do not
    /// serve one of them through [`routes`](Self::routes) too (a method
    /// added there would skip the check as well); and nested under a
    /// prefix (in [`serve_on_with`](crate::McpServer::serve_on_with)'s
    /// `wrap`), these routes get the Origin check like any other.
    ///
    /// ```
    /// use mcp_runtime::{McpServer, axum::{Router, routing::get}};
    ///
    /// let logo = Router::new().route("/logo.svg", get(|| async { "<svg/>" }));
    /// let server = McpServer::builder().routes_without_origin_check(logo).build()?;
    /// # Ok::<(), mcp_runtime::Error>(())
    /// ```
    pub fn routes_without_origin_check(mut self, router: axum::Router) -> Self {
        self.any_origin_routes = merged(self.any_origin_routes.take(), Some(router));
        self
    }

    /// Limits on serving, from `MCP_HEADER_TIMEOUT`, `MCP_BODY_TIMEOUT`,
    /// `MCP_TOOL_TIMEOUT`, `MCP_SHUTDOWN_GRACE` (whole seconds, or `off`),
    /// `MCP_MAX_CONNECTIONS`, `MCP_MAX_IN_FLIGHT` and `MCP_MAX_BODY_BYTES`.
    /// Each is on by default; see the builder method of the same name.
    pub fn limits_from_env(mut self) -> Result<Self, Error> {
        if let Some(t) = env::seconds_var("MCP_HEADER_TIMEOUT")? {
            self.header_timeout = t;
        }
        if let Some(t) = env::seconds_var("MCP_BODY_TIMEOUT")? {
            self.gate.body_timeout = t;
        }
        if let Some(t) = env::seconds_var("MCP_TOOL_TIMEOUT")? {
            self.catalog.tool_timeout = t;
        }
        if let Some(t) = env::seconds_var("MCP_SHUTDOWN_GRACE")? {
            self.shutdown_grace = t.unwrap_or(Duration::ZERO);
        }
        if let Some(n) = env::count_var("MCP_MAX_CONNECTIONS")? {
            self.max_connections = n;
        }
        if let Some(n) = env::count_var("MCP_MAX_IN_FLIGHT")? {
            self.gate.max_in_flight = n;
        }
        if let Some(n) = env::count_var("MCP_MAX_BODY_BYTES")? {
            self.gate.max_body_bytes = n;
        }
        Ok(self)
    }

    /// How long a connection may take to send a request's headers, counted
    /// from when it opens or its previous response ends: slow clients and
    /// idle keep-alive connections are closed after it (`MCP_HEADER_TIMEOUT`,
    /// default 20 s; `None` turns it off).
    pub fn header_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.header_timeout = timeout.into();
        self
    }

    /// How long a request body may stall between two chunks before the
    /// request fails (`MCP_BODY_TIMEOUT`, default 30 s; `None` turns it off).
    pub fn body_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.gate.body_timeout = timeout.into();
        self
    }

    /// How long one tool call may run (`MCP_TOOL_TIMEOUT`, default 60 s;
    /// `None` turns it off). A call that takes longer is stopped at its next
    /// `.await` and answered with a tool error naming the limit; a tool that
    /// blocks its thread without awaiting cannot be stopped.
    pub fn tool_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.catalog.tool_timeout = timeout.into();
        self
    }

    /// How many connections may be open at once (`MCP_MAX_CONNECTIONS`,
    /// default 512); one more is answered 503 with `Retry-After` and closed.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How many requests to `/mcp` may be handled at once
    /// (`MCP_MAX_IN_FLIGHT`, default 256); one more is answered 503 with
    /// `Retry-After`.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.gate.max_in_flight = n.max(1);
        self
    }

    /// How long `serve` lets in-flight requests finish after a shutdown
    /// signal (`MCP_SHUTDOWN_GRACE`, default 10 s).
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Authenticates every request to `/mcp` with `provider`: the one door
    /// for authentication. A second call replaces the first.
    ///
    /// | provider | when |
    /// |---|---|
    /// | [`ScalekitProvider`](crate::auth::ScalekitProvider) | tokens from Scalekit |
    /// | [`OidcProvider`](crate::auth::OidcProvider) | tokens from any OAuth 2.0 / OIDC server |
    /// | [`DevProvider`](crate::auth::DevProvider) | local development, tokens minted yourself |
    /// | [`AuthSettings`] | whichever the settings name ([`from_env`](Self::from_env) reads them) |
    /// | any [`TokenVerifier`](crate::auth::TokenVerifier) | your own token check |
    ///
    /// The provider is installed by [`build`](Self::build), with the final
    /// base URL and bind address; its errors are reported there.
    ///
    /// ```
    /// use mcp_runtime::{AccessToken, McpServer, auth::StaticTokenVerifier};
    ///
    /// let verifier = StaticTokenVerifier::new()
    ///     .with_token("let-me-in", AccessToken::new("let-me-in", "alice").with_scopes(["todo:read"]));
    /// let server = McpServer::builder().auth(verifier).build().unwrap();
    /// assert!(server.authentication().is_some());
    /// ```
    pub fn auth(mut self, provider: impl AuthProvider) -> Self {
        let kind = std::any::type_name_of_val(&provider);
        self.auth = Some((kind, Box::new(move |site| provider.install(site))));
        self
    }

    /// The base URL as configured, or the default for the bind address.
    pub fn effective_base_url(&self) -> Result<Url, Error> {
        if let Some(u) = &self.base_url {
            return Ok(u.clone());
        }
        let ip = self.ip()?;
        let host = if ip.is_unspecified() {
            "localhost".to_owned()
        } else {
            bracket_v6(&self.host)
        };
        Url::parse(&format!("http://{host}:{}/", self.port))
            .map_err(|e| Error::config("HOST", e.to_string()))
    }

    fn ip(&self) -> Result<std::net::IpAddr, Error> {
        self.host.parse().map_err(|_| {
            Error::config(
                "HOST",
                format!("`{}` is not an IP address to bind", self.host),
            )
        })
    }

    /// Checks the configuration and prepares everything served per request:
    /// the catalog (what is served), the authentication, and the gate (who
    /// may enter).
    pub fn build(self) -> Result<McpServer, Error> {
        let base_url = self.effective_base_url()?;
        let bind = SocketAddr::new(self.ip()?, self.port);
        let site = Site::new(base_url.clone(), bind.ip().is_loopback());
        let auth = self.auth.map(|(_, install)| install(&site)).transpose()?;
        let catalog = Catalog::build(self.catalog)?;
        self.gate.check(catalog.vocabulary())?;
        let mut gate = self.gate;
        let mut any_origin = self.any_origin_routes;
        let mut authentication = None;
        let mut dev_issuer = None;
        let mut loopback_only = false;
        if let Some(auth) = auth {
            tracing::info!(provider = %auth.description, "authentication");
            gate.authorization_servers
                .extend(auth.authorization_servers);
            any_origin = merged(auth.routes, any_origin);
            dev_issuer = auth.dev_issuer;
            loopback_only = auth.loopback_only;
            authentication = Some((auth.description, auth.verifier));
        }
        let (description, verifier) = authentication.unzip();
        let endpoint = site.endpoint();
        let catalog = Arc::new(catalog);
        let gate = Gate::build(gate, &base_url, &endpoint, &catalog, verifier);
        let any_origin = merged(gate.metadata_routes(&endpoint), any_origin);
        let policy = SitePolicy::new(&gate, any_origin.clone());
        Ok(McpServer {
            catalog,
            gate: Arc::new(gate),
            served: Arc::new(Served {
                endpoint,
                base_url,
                bind,
                json_response: self.json_response,
                direct: self.direct,
                direct_answered: Arc::default(),
                routes: self.routes,
                any_origin,
                policy,
                authentication: description,
                dev_issuer,
                loopback_only,
                header_timeout: self.header_timeout,
                max_connections: self.max_connections,
                shutdown_grace: self.shutdown_grace,
            }),
        })
    }
}

/// `a` and `b` merged, either, or none.
fn merged(a: Option<axum::Router>, b: Option<axum::Router>) -> Option<axum::Router> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.merge(b)),
        (a, b) => a.or(b),
    }
}

/// `scopes` in order, each once.
fn dedup(scopes: impl IntoIterator<Item = impl Into<String>>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for scope in scopes.into_iter().map(Into::into) {
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    out
}

fn bracket_v6(host: &str) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    }
}
