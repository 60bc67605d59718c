//! What `#[tool]` produces, and what a tool can take and return.

use std::{
    any::{Any, TypeId},
    collections::HashMap,
    fmt,
    ops::Deref,
    sync::Arc,
    time::Duration,
};

use rmcp::{
    ErrorData, RoleServer,
    model::{CallToolResult, ErrorCode, JsonObject, RequestId, Tool},
    service::{Peer, RequestContext},
};
use tokio_util::sync::CancellationToken;

use tracing::{Instrument, field};

use super::{
    input::{Answer, ElicitError, Inputs, Sealer},
    log::{LogLevel, Threshold},
    result,
    scopes::{ScopeHierarchy, ScopeRule},
};
use crate::{
    future::BoxFuture,
    token::{AccessToken, CURRENT_TOKEN},
};

/// One tool as `#[tool]` registers it. Built by the macro; read by the server.
#[doc(hidden)]
pub struct ToolDef {
    /// The tool's name on the wire.
    pub name: &'static str,
    /// The scopes the tool requires.
    pub scopes: ScopeRule,
    /// Builds the tool's description and schemas (called once, at start-up).
    pub describe: fn() -> Tool,
    /// Runs one call.
    pub call: fn(CallContext) -> BoxFuture<'static, Result<CallToolResult, ErrorData>>,
    /// The `State<T>` types the tool takes, checked against the server at start-up.
    pub states: &'static [fn() -> StateKey],
    /// Where the tool was declared, for error messages.
    pub location: &'static str,
    /// Whether the tool takes a [`ToolContext`]: its calls then go through
    /// rmcp's request handling, which makes one.
    pub needs_request: bool,
}

impl fmt::Debug for ToolDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ToolDef")
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// A `#[tool]` registration, collected at link time.
#[doc(hidden)]
#[derive(Debug)]
pub struct Registration(pub &'static ToolDef);

inventory::collect!(Registration);

/// Every `#[tool]` linked into the binary, by name (then declaration site).
pub(crate) fn registered() -> Vec<&'static ToolDef> {
    let mut all: Vec<_> = inventory::iter::<Registration>
        .into_iter()
        .map(|r| r.0)
        .collect();
    all.sort_by(|a, b| a.name.cmp(b.name).then(a.location.cmp(b.location)));
    all
}

/// The error for a call to a tool the server does not serve.
pub(crate) fn unknown_tool(name: &str) -> ErrorData {
    ErrorData::new(
        ErrorCode::INVALID_PARAMS,
        format!("Unknown tool: {name}"),
        None,
    )
}

/// Runs `def` with the token visible to `get_access_token`, in a span that
/// names the tool, the caller and the scope decision (never the token).
pub(crate) async fn run(
    def: &'static ToolDef,
    cx: CallContext,
) -> Result<CallToolResult, ErrorData> {
    let token = cx.token.clone();
    let span = tracing::info_span!(
        "tool_call",
        tool = def.name,
        subject = field::Empty,
        scope_decision = field::Empty,
    );
    if let Some(t) = &token {
        span.record("subject", t.subject());
    }
    let timeout = cx.shared.timeout;
    let call = CURRENT_TOKEN.scope(token, (def.call)(cx));
    let out = match timeout {
        // Dropping the call on timeout cancels it at its next await.
        Some(limit) => tokio::time::timeout(limit, call)
            .instrument(span.clone())
            .await
            .unwrap_or_else(|_| {
                span.in_scope(|| tracing::warn!(limit_secs = limit.as_secs(), "tool call timed out"));
                Ok(result::error_text(format!(
                    "The tool `{}` did not finish within {} s (the server's tool timeout); it was stopped.",
                    def.name,
                    limit.as_secs()
                )))
            }),
        None => call.instrument(span.clone()).await,
    };
    span.in_scope(|| match &out {
        Ok(r) if r.is_error == Some(true) => tracing::debug!("tool returned an error"),
        Ok(_) => tracing::debug!("tool succeeded"),
        Err(e) => tracing::warn!(code = e.code.0, "tool call failed"),
    });
    out
}

/// A handle on one `#[tool]` function, to build a server from an explicit set
/// of tools: `#[tool] fn foo` defines `foo` both as the function and, in the
/// type namespace, as a handle implementing this trait, so
/// `McpServer::builder().tool::<foo>()` names it.
pub trait ToolHandle {
    /// The tool's registration.
    #[doc(hidden)]
    const DEF: &'static ToolDef;
}

/// The identity of a `State<T>` type: its id and name.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct StateKey {
    pub id: TypeId,
    pub name: &'static str,
}

#[doc(hidden)]
pub fn state_key<T: Any>() -> StateKey {
    StateKey {
        id: TypeId::of::<T>(),
        name: std::any::type_name::<T>(),
    }
}

/// Shared values handed to tools through [`State<T>`], one per type.
#[derive(Default, Clone)]
pub(crate) struct StateMap(HashMap<TypeId, Arc<dyn Any + Send + Sync>>);

impl StateMap {
    pub(crate) fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.0.insert(TypeId::of::<T>(), Arc::new(value));
    }
    pub(crate) fn contains(&self, id: TypeId) -> bool {
        self.0.contains_key(&id)
    }
    fn get<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.0.get(&TypeId::of::<T>())?.clone().downcast().ok()
    }
}

impl fmt::Debug for StateMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateMap")
            .field("len", &self.0.len())
            .finish()
    }
}

/// What the server shares with every call.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) states: StateMap,
    pub(crate) hierarchy: ScopeHierarchy,
    /// How long one call may run; `None`: as long as it takes.
    pub(crate) timeout: Option<Duration>,
    /// Seals the `requestState` of calls that ask the client for input.
    pub(crate) sealer: Sealer,
    /// The open `subscriptions/listen` streams.
    pub(crate) updates: Arc<super::updates::Hub>,
}

/// Default limit on how long one tool call may run.
pub(crate) const DEFAULT_TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// Everything one tool call can draw on. Built by the server, consumed by the
/// code `#[tool]` generates.
#[doc(hidden)]
pub struct CallContext {
    pub(crate) tool: &'static str,
    pub(crate) arguments: Option<JsonObject>,
    pub(crate) token: Option<AccessToken>,
    pub(crate) shared: Arc<Shared>,
    /// `None` when the tool is called in process rather than over MCP.
    pub(crate) request: Option<RequestContext<RoleServer>>,
    /// Whether the tool is marked read-only (its allowed calls are not audited).
    pub(crate) read_only: bool,
    /// The HTTP request's audit id, when there is one.
    pub(crate) request_id: Option<crate::audit::RequestId>,
    /// The questions the tool asks the client, and the answers it has.
    pub(crate) inputs: Arc<Inputs>,
}

impl fmt::Debug for CallContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallContext")
            .field("tool", &self.tool)
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl CallContext {
    pub(crate) fn new(
        tool: &'static str,
        arguments: Option<JsonObject>,
        token: Option<AccessToken>,
        shared: Arc<Shared>,
        request: Option<RequestContext<RoleServer>>,
    ) -> Self {
        let request_id = request
            .as_ref()
            .and_then(|r| r.extensions.get::<http::request::Parts>())
            .and_then(|p| p.extensions.get::<crate::audit::RequestId>())
            .copied();
        Self {
            tool,
            arguments,
            token,
            shared,
            request,
            read_only: false,
            request_id,
            inputs: Arc::new(Inputs::unsupported()),
        }
    }

    pub(crate) fn hierarchy(&self) -> &ScopeHierarchy {
        &self.shared.hierarchy
    }
}

/// Shared state added to the server with `McpServer::builder().state(value)`.
///
/// Like axum's `State`, but the value is shared, not cloned: `State<T>` holds
/// an `Arc<T>` and dereferences to `T`.
///
/// ```standalone_crate
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use mcp_runtime::{State, tool};
///
/// #[derive(Default)]
/// struct Counter {
///     calls: AtomicU64,
/// }
///
/// /// Counts calls.
/// #[tool(public)]
/// fn bump(counter: State<Counter>) -> String {
///     (counter.calls.fetch_add(1, Ordering::Relaxed) + 1).to_string()
/// }
/// ```
pub struct State<T: ?Sized>(pub Arc<T>);

impl<T: ?Sized> Deref for State<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: ?Sized> Clone for State<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for State<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("State").field(&&*self.0).finish()
    }
}

/// The whole argument object of a call, as one type deriving
/// `Deserialize` and `JsonSchema`.
///
/// ```
/// use mcp_runtime::{Args, tool};
/// use schemars::JsonSchema;
/// use serde::Deserialize;
///
/// #[derive(Deserialize, JsonSchema)]
/// struct Greeting {
///     /// Who to greet.
///     name: String,
/// }
///
/// /// Says hello.
/// #[tool(public)]
/// fn greet(Args(g): Args<Greeting>) -> String {
///     format!("Hello, {}!", g.name)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Args<T>(pub T);

/// Variables or arguments by name, as the JSON object of strings a
/// resource read or prompt render receives as its call's arguments.
pub(crate) fn strings(values: std::collections::HashMap<String, String>) -> JsonObject {
    values
        .into_iter()
        .map(|(k, v)| (k, serde_json::Value::String(v)))
        .collect()
}

/// The request around a tool call: its id, cancellation, the client peer
/// (for progress notifications or logging) and the HTTP request parts.
///
/// Only available when the tool is called over MCP.
#[derive(Debug, Clone)]
pub struct ToolContext {
    request: RequestContext<RoleServer>,
    inputs: Arc<Inputs>,
    /// The tool's name (a resource's URI, a prompt's name): the logger of
    /// its log messages.
    name: &'static str,
    /// The caller's token, kept out of log messages.
    token: Option<AccessToken>,
}

impl ToolContext {
    /// The JSON-RPC id of the call.
    pub fn request_id(&self) -> &RequestId {
        &self.request.id
    }

    /// Cancelled when the client cancels the call or the server shuts down.
    pub fn cancellation(&self) -> &CancellationToken {
        &self.request.ct
    }

    /// The connected client, for notifications back to it (progress) while
    /// the call runs; for log messages, use [`log`](Self::log), which sends
    /// only what the caller asked for.
    ///
    /// The transport is stateless: requests *to* the client (sampling,
    /// elicitation, roots) cannot be answered, because the client's reply
    /// has no session to come back to. Use notifications only, and
    /// [`confirm`](Self::confirm) or [`elicit`](Self::elicit) to ask the user.
    pub fn peer(&self) -> &Peer<RoleServer> {
        &self.request.peer
    }

    /// The HTTP request that carried the call, when served over HTTP.
    pub fn http(&self) -> Option<&http::request::Parts> {
        self.request.extensions.get::<http::request::Parts>()
    }

    /// rmcp's own request context, for everything else.
    pub fn rmcp(&self) -> &RequestContext<RoleServer> {
        &self.request
    }

    /// Asks the user a yes-or-no question: `Ok(true)` when they accept,
    /// `Ok(false)` when they decline or cancel.
    ///
    /// Without a session, asking ends the call: the first time, this is
    /// `Err(ElicitError::InputRequired)`, to return at once (`?` does), and
    /// the client gets an `InputRequiredResult` with the question. It calls
    /// the tool again with the answer, the tool runs again from the start,
    /// and this same question now returns the answer. Code before it runs
    /// once per round, so it should change nothing.
    ///
    /// A client that cannot be asked (a protocol revision before 2026-07-28,
    /// or no `elicitation` capability) gets `Err(ElicitError::Unsupported)`:
    /// the tool decides, for instance to go ahead as it did before it asked.
    ///
    /// ```
    /// use mcp_runtime::{ElicitError, ToolContext, ToolError, tool};
    ///
    /// /// Empties the bin.
    /// #[tool(public, destructive)]
    /// fn empty_bin(ctx: ToolContext) -> Result<String, ToolError> {
    ///     match ctx.confirm("Empty the bin? This cannot be undone.") {
    ///         Ok(true) | Err(ElicitError::Unsupported) => {}
    ///         Ok(false) => return Ok("Cancelled: the bin was not emptied.".into()),
    ///         Err(e) => return Err(e.into()),
    ///     }
    ///     Ok("The bin is empty.".into())
    /// }
    /// ```
    pub fn confirm(&self, message: impl Into<String>) -> Result<bool, ElicitError> {
        self.inputs.confirm(message.into())
    }

    /// Asks the user to fill in a form for a `T`, a flat struct of strings,
    /// numbers, booleans and enums (its JSON schema is the form). Asking
    /// ends the call as with [`confirm`](Self::confirm), and the same
    /// fallback applies.
    ///
    /// ```
    /// use mcp_runtime::{Answer, ToolContext, ToolError, tool};
    /// use schemars::JsonSchema;
    /// use serde::Deserialize;
    ///
    /// #[derive(Deserialize, JsonSchema)]
    /// struct Reason {
    ///     /// Why the account is closed.
    ///     reason: String,
    /// }
    ///
    /// /// Closes the account.
    /// #[tool(public, destructive)]
    /// fn close_account(ctx: ToolContext) -> Result<String, ToolError> {
    ///     match ctx.elicit::<Reason>("Why close the account?")? {
    ///         Answer::Accepted(r) => Ok(format!("Closed: {}", r.reason)),
    ///         Answer::Declined | Answer::Cancelled => Ok("Not closed.".into()),
    ///     }
    /// }
    /// ```
    pub fn elicit<T: schemars::JsonSchema + serde::de::DeserializeOwned>(
        &self,
        message: impl Into<String>,
    ) -> Result<Answer<T>, ElicitError> {
        self.inputs.elicit(message.into())
    }

    /// The lowest level of log message the caller asked for; `None` when
    /// it asked for none, and then [`log`](Self::log) sends nothing.
    ///
    /// From protocol 2026-07-28 on, a request asks with
    /// `io.modelcontextprotocol/logLevel` in its `_meta`; a request that
    /// does not ask gets no message. Before 2026-07-28: the level set with
    /// `logging/setLevel` over stdio, and `info` over HTTP, where no session
    /// keeps a level from one request to the next.
    pub fn log_level(&self) -> Option<LogLevel> {
        self.request.extensions.get::<Threshold>().and_then(|t| t.0)
    }

    /// Sends the caller a log message (`notifications/message`) at `level`,
    /// when it asked for messages at that level or a lower one; otherwise
    /// does nothing. The message goes on the response stream of this call,
    /// before its result, with the tool's name as its logger.
    ///
    /// `data` is any JSON: a string, or an object with details. Any
    /// occurrence of the caller's access token in it is replaced by
    /// `[redacted]`; keep other secrets and personal data out of it.
    ///
    /// ```
    /// use mcp_runtime::{LogLevel, ToolContext, tool};
    /// use serde_json::json;
    ///
    /// /// Imports the rows of a file.
    /// #[tool(public)]
    /// async fn import_rows(ctx: ToolContext, rows: Vec<String>) -> String {
    ///     ctx.info(format!("importing {} rows", rows.len())).await;
    ///     for (i, row) in rows.iter().enumerate() {
    ///         if row.is_empty() {
    ///             ctx.log(LogLevel::Warning, json!({"skipped": i, "why": "empty"})).await;
    ///         }
    ///     }
    ///     "done".into()
    /// }
    /// ```
    pub async fn log(&self, level: LogLevel, data: impl Into<serde_json::Value>) {
        if self.log_level().is_none_or(|lowest| level < lowest) {
            return;
        }
        let mut data = data.into();
        if let Some(token) = &self.token {
            data = super::log::redact(data, token.raw());
        }
        #[allow(deprecated)] // logging is deprecated by SEP-2577; clients still use it
        let message = rmcp::model::LoggingMessageNotificationParam::new(level.to_rmcp(), data)
            .with_logger(self.name);
        #[allow(deprecated)]
        let sent = self.request.peer.notify_logging_message(message).await;
        if let Err(e) = sent {
            tracing::debug!(error = %e, "log message not delivered");
        }
    }

    /// [`log`](Self::log) at `debug`.
    pub async fn debug(&self, message: impl Into<String>) {
        self.log(LogLevel::Debug, message.into()).await
    }

    /// [`log`](Self::log) at `info`.
    pub async fn info(&self, message: impl Into<String>) {
        self.log(LogLevel::Info, message.into()).await
    }

    /// [`log`](Self::log) at `warning`.
    pub async fn warning(&self, message: impl Into<String>) {
        self.log(LogLevel::Warning, message.into()).await
    }

    /// [`log`](Self::log) at `error`.
    pub async fn error(&self, message: impl Into<String>) {
        self.log(LogLevel::Error, message.into()).await
    }
}

/// A tool parameter the server fills in rather than the caller.
#[doc(hidden)]
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be injected into a tool",
    label = "not an injectable parameter",
    note = "injected parameters are `AccessToken`, `State<T>`, `ToolContext` and `ResourceUpdates`"
)]
pub trait FromCallContext: Sized {
    fn from_call_context(cx: &CallContext) -> Result<Self, Unavailable>;
}

/// Why an injected parameter could not be filled in.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// `AccessToken`, on a server without authentication.
    Token,
    /// A `State<T>` the server lacks (checked at build, so only in process).
    State,
    /// `ToolContext`, outside an MCP request.
    Request,
}

impl Unavailable {
    /// The message for the caller; `kind` is `tool`, `resource` or `prompt`.
    pub(crate) fn message(self, kind: &str) -> String {
        match self {
            Unavailable::Token => format!("This {kind} requires an authenticated caller."),
            Unavailable::State => format!("The server is missing state this {kind} needs."),
            Unavailable::Request => format!("This {kind} needs an MCP request context."),
        }
    }
}

impl FromCallContext for AccessToken {
    fn from_call_context(cx: &CallContext) -> Result<Self, Unavailable> {
        cx.token.clone().ok_or(Unavailable::Token)
    }
}

impl FromCallContext for super::updates::ResourceUpdates {
    fn from_call_context(cx: &CallContext) -> Result<Self, Unavailable> {
        Ok(Self::for_caller(
            cx.shared.updates.clone(),
            cx.token.as_ref().map(|t| t.subject().to_owned()),
        ))
    }
}

impl FromCallContext for Option<AccessToken> {
    fn from_call_context(cx: &CallContext) -> Result<Self, Unavailable> {
        Ok(cx.token.clone())
    }
}

impl<T: Send + Sync + 'static> FromCallContext for State<T> {
    fn from_call_context(cx: &CallContext) -> Result<Self, Unavailable> {
        cx.shared.states.get::<T>().map(State).ok_or_else(|| {
            tracing::error!(state = std::any::type_name::<T>(), "state missing");
            Unavailable::State
        })
    }
}

impl FromCallContext for ToolContext {
    fn from_call_context(cx: &CallContext) -> Result<Self, Unavailable> {
        match &cx.request {
            Some(request) => Ok(ToolContext {
                request: request.clone(),
                inputs: cx.inputs.clone(),
                name: cx.tool,
                token: cx.token.clone(),
            }),
            None => Err(Unavailable::Request),
        }
    }
}
