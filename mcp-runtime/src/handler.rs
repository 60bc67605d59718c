//! rmcp's `ServerHandler` over the tool registry.

use std::sync::Arc;

#[allow(deprecated)] // SetLevelRequestParams: see `set_level`
use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, ErrorCode, ListToolsResult,
        PaginatedRequestParams, ServerConfig, SetLevelRequestParams, Tool,
    },
    service::RequestContext,
};
use tracing::{Instrument, field};

use crate::{
    AccessToken,
    server::Inner,
    token::CURRENT_TOKEN,
    tool::{CallContext, ToolDef},
};

/// One per request (the transport is stateless); a reference count to clone.
#[derive(Clone)]
pub(crate) struct Handler(pub(crate) Arc<Inner>);

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
    token: Option<AccessToken>,
) -> Result<CallToolResult, ErrorData> {
    let span = tracing::info_span!(
        "tool_call",
        tool = def.name,
        subject = field::Empty,
        scope_decision = field::Empty,
    );
    if let Some(t) = &token {
        span.record("subject", t.subject());
    }
    let out = CURRENT_TOKEN
        .scope(token, (def.call)(cx))
        .instrument(span.clone())
        .await;
    span.in_scope(|| match &out {
        Ok(r) if r.is_error == Some(true) => tracing::debug!("tool returned an error"),
        Ok(_) => tracing::debug!("tool succeeded"),
        Err(e) => tracing::warn!(code = e.code.0, "tool call failed"),
    });
    out
}

fn token_of(context: &RequestContext<RoleServer>) -> Option<AccessToken> {
    context
        .extensions
        .get::<http::request::Parts>()
        .and_then(|p| p.extensions.get::<AccessToken>())
        .cloned()
}

impl ServerHandler for Handler {
    fn get_info(&self) -> ServerConfig {
        self.0.info.clone()
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(self.0.tools.list.clone())
    }

    /// Accepted so clients that set a level first keep working; the transport
    /// is stateless, so there is no session to remember it in and tools'
    /// log notifications are sent at every level.
    #[allow(deprecated)] // logging is deprecated by SEP-2577; clients still send it
    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        tracing::debug!(level = ?request.level, "logging/setLevel");
        Ok(())
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.0.tools.get(name).map(|(_, t)| t.clone())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some((def, _)) = self.0.tools.get(&request.name) else {
            return Err(unknown_tool(&request.name));
        };
        let token = token_of(&context);
        let cx = CallContext::new(
            def.name,
            request.arguments,
            token.clone(),
            self.0.shared.clone(),
            Some(context),
        );
        run(def, cx, token).await.map(CallToolResponse::from)
    }
}
