//! rmcp's `ServerHandler` over the tool registry.

use std::sync::Arc;

#[allow(deprecated)] // SetLevelRequestParams: see `set_level`
use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, CompleteRequestMethod,
        CompleteRequestParams, CompleteResult, ErrorCode, GetPromptRequestMethod,
        GetPromptRequestParams, GetPromptResponse, ListPromptsRequestMethod, ListPromptsResult,
        ListResourceTemplatesRequestMethod, ListResourceTemplatesResult,
        ListResourcesRequestMethod, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
        ReadResourceRequestMethod, ReadResourceRequestParams, ReadResourceResponse, ServerConfig,
        SetLevelRequestParams, SubscribeRequestMethod, SubscribeRequestParams, Tool,
        UnsubscribeRequestMethod, UnsubscribeRequestParams,
    },
    service::RequestContext,
};
use tracing::{Instrument, field};

use crate::{
    AccessToken,
    resource::{Resources, not_found},
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

impl Handler {
    fn resources<M: rmcp::model::ConstString>(&self) -> Result<&Resources, ErrorData> {
        self.0
            .resources
            .as_ref()
            .ok_or_else(ErrorData::method_not_found::<M>)
    }

    /// `resources/subscribe` and `resources/unsubscribe`: acknowledged for a
    /// served URI, with nothing to remember (see `McpServerBuilder::resource`).
    fn acknowledge<M: rmcp::model::ConstString>(&self, uri: &str) -> Result<(), ErrorData> {
        if self.resources::<M>()?.find(uri).is_none() {
            return Err(not_found(uri));
        }
        tracing::debug!(
            uri,
            "{} acknowledged (stateless: no updates are sent)",
            M::VALUE
        );
        Ok(())
    }
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

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        Ok(self.resources::<ListResourcesRequestMethod>()?.list.clone())
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        Ok(self
            .resources::<ListResourceTemplatesRequestMethod>()?
            .template_list
            .clone())
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let resources = self.resources::<ReadResourceRequestMethod>()?;
        let Some(reader) = resources.find(&request.uri) else {
            return Err(not_found(&request.uri));
        };
        let read = reader.read(request);
        CURRENT_TOKEN
            .scope(token_of(&context), read)
            .await
            .map(ReadResourceResponse::from)
    }

    #[allow(deprecated)] // legacy-only in rmcp; what clients of 2025-11-25 send
    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.acknowledge::<SubscribeRequestMethod>(&request.uri)
    }

    #[allow(deprecated)] // legacy-only in rmcp; what clients of 2025-11-25 send
    async fn unsubscribe(
        &self,
        request: UnsubscribeRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.acknowledge::<UnsubscribeRequestMethod>(&request.uri)
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        match &self.0.prompts {
            Some(p) => Ok(p.list.clone()),
            None => Err(ErrorData::method_not_found::<ListPromptsRequestMethod>()),
        }
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        let Some(prompts) = &self.0.prompts else {
            return Err(ErrorData::method_not_found::<GetPromptRequestMethod>());
        };
        let get = prompts.get(request)?;
        CURRENT_TOKEN
            .scope(token_of(&context), get)
            .await
            .map(GetPromptResponse::from)
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        let Some(complete) = &self.0.complete else {
            return Err(ErrorData::method_not_found::<CompleteRequestMethod>());
        };
        CURRENT_TOKEN
            .scope(token_of(&context), complete(request))
            .await
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
        let cx = CallContext::new(
            def.name,
            request.arguments,
            token_of(&context),
            self.0.shared.clone(),
            Some(context),
        );
        run(def, cx).await.map(CallToolResponse::from)
    }
}
