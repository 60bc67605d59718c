//! rmcp's `ServerHandler` over the catalog: the last step of the request
//! path before a tool's generated wrapper.

use std::sync::{Arc, Mutex};

#[allow(deprecated)] // SetLevelRequestParams: see `set_level`
use rmcp::{
    ErrorData, RoleServer, ServerHandler,
    model::{
        CallToolRequestParams, CallToolResponse, CompleteRequestParams, CompleteResult,
        CustomRequest, CustomResult, ErrorCode, GetPromptRequestMethod, GetPromptRequestParams,
        GetPromptResponse, InitializeRequestParams, InitializeResult, ListPromptsRequestMethod,
        ListPromptsResult, ListResourceTemplatesRequestMethod, ListResourceTemplatesResult,
        ListResourcesRequestMethod, ListResourcesResult, ListToolsResult, PaginatedRequestParams,
        ProtocolVersion, ReadResourceRequestMethod, ReadResourceRequestParams,
        ReadResourceResponse, ServerConfig, SetLevelRequestParams, SubscriptionFilter, Tool,
    },
    service::{RequestContext, SubscriptionContext},
};

use serde_json::Value;

use crate::{
    catalog::{
        Catalog,
        log::{self, LogLevel},
        resource::Resources,
    },
    token::{AccessToken, CURRENT_TOKEN},
};

/// One per request (the transport is stateless); a reference count to clone.
#[derive(Clone)]
pub(crate) struct Handler {
    catalog: Arc<Catalog>,
    caller: Caller,
    /// The log level set with `logging/setLevel` (revisions before
    /// 2026-07-28), where there is a session to keep it: over stdio. Until
    /// one is set, nothing is sent.
    session_level: Option<Arc<Mutex<Option<LogLevel>>>>,
}

/// Where the caller's token comes from.
#[derive(Clone)]
pub(crate) enum Caller {
    /// The HTTP request, where the bearer check put it.
    Request,
    /// The configuration of a stdio server: the same for every request.
    Configured(super::caller::Configured),
}

/// Whether the request in `context` is of a revision with cache hints
/// (2026-07-28 or later); older revisions have no such fields.
fn has_cache_hints(context: &RequestContext<RoleServer>) -> bool {
    context
        .protocol_version()
        .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str())
}

/// `$result` with the catalog's hint `$hint`, when `$context`'s revision
/// has cache hints.
macro_rules! hinted {
    ($result:expr, $hint:expr, $context:expr) => {{
        let result = $result;
        if has_cache_hints($context) {
            let hint = $hint;
            result.with_ttl_ms(hint.ttl_ms).with_cache_scope(hint.scope)
        } else {
            result
        }
    }};
}

impl Handler {
    /// A handler over HTTP: the caller is the request's token.
    pub(crate) fn http(catalog: Arc<Catalog>) -> Self {
        Self {
            catalog,
            caller: Caller::Request,
            session_level: None,
        }
    }

    /// A handler over stdio: the caller is `configured`.
    pub(crate) fn configured(catalog: Arc<Catalog>, configured: super::caller::Configured) -> Self {
        Self {
            catalog,
            caller: Caller::Configured(configured),
            session_level: Some(Arc::new(Mutex::new(None))),
        }
    }

    /// Works out the log level the request in `context` asked for and
    /// keeps it in the request, for its `ToolContext`; an unknown level is
    /// `-32602`.
    fn log_threshold(&self, context: &mut RequestContext<RoleServer>) -> Result<(), ErrorData> {
        let legacy = match &self.session_level {
            Some(level) => *level.lock().unwrap_or_else(|e| e.into_inner()),
            None => None,
        };
        let threshold = log::threshold(context, legacy)?;
        context.extensions.insert(threshold);
        Ok(())
    }

    /// The audit id of the HTTP request in `context`, when there is one.
    fn audit_id(context: &RequestContext<RoleServer>) -> Option<crate::audit::RequestId> {
        context
            .extensions
            .get::<http::request::Parts>()
            .and_then(|p| p.extensions.get::<crate::audit::RequestId>())
            .copied()
    }

    /// The token of the caller of the request in `context`.
    async fn token_of(
        &self,
        context: &RequestContext<RoleServer>,
    ) -> Result<Option<AccessToken>, ErrorData> {
        match &self.caller {
            Caller::Request => Ok(context
                .extensions
                .get::<http::request::Parts>()
                .and_then(|p| p.extensions.get::<AccessToken>())
                .cloned()),
            Caller::Configured(configured) => configured.token().await,
        }
    }

    fn resources<M: rmcp::model::ConstString>(&self) -> Result<&Resources, ErrorData> {
        self.catalog
            .resources()
            .ok_or_else(ErrorData::method_not_found::<M>)
    }
}

// `resources/subscribe` and `resources/unsubscribe` (revisions before
// 2026-07-28) keep rmcp's answer, `-32601` (method not found), and
// `initialize` does not offer the `subscribe` capability: the transport is
// stateless, so there is no session stream to send
// `notifications/resources/updated` on. From 2026-07-28 on, updates go on
// `subscriptions/listen` streams (see `listen`).

/// Why `params` do not fit `method`, for a method the server knows whose
/// typed parse failed (the transport then hands the request over as a
/// custom one); `None` for a method it does not know.
fn params_mismatch(method: &str, params: Option<Value>) -> Option<String> {
    fn check<T: serde::de::DeserializeOwned>(params: Option<Value>) -> String {
        match params {
            None => "`params` is required".to_owned(),
            Some(v) => match serde_json::from_value::<T>(v) {
                Err(e) => e.to_string(),
                Ok(_) => "`params` do not have the expected shape".to_owned(),
            },
        }
    }
    #[allow(deprecated)] // the logging and subscription params: clients still send them
    let why = match method {
        "tools/call" => check::<CallToolRequestParams>(params),
        "tools/list" | "resources/list" | "resources/templates/list" | "prompts/list" => {
            check::<PaginatedRequestParams>(params)
        }
        "resources/read" => check::<ReadResourceRequestParams>(params),
        "prompts/get" => check::<GetPromptRequestParams>(params),
        "completion/complete" => check::<CompleteRequestParams>(params),
        "logging/setLevel" => check::<SetLevelRequestParams>(params),
        "initialize" => check::<rmcp::model::InitializeRequestParams>(params),
        _ => return None,
    };
    Some(why)
}

impl ServerHandler for Handler {
    /// A known method whose params did not parse arrives here: answer
    /// `-32602` naming what was wrong, not "method not found".
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        let method = request.method;
        let offered = match method.split('/').next() {
            Some("resources") => self.catalog.resources().is_some(),
            Some("prompts") => self.catalog.prompts().is_some(),
            Some("completion") => self.catalog.completion().is_some(),
            _ => true,
        };
        if !offered {
            return Err(ErrorData::new(ErrorCode::METHOD_NOT_FOUND, method, None));
        }
        match params_mismatch(&method, request.params) {
            Some(why) => Err(ErrorData::invalid_params(
                format!("Invalid params for `{method}`: {why}"),
                None,
            )),
            None => Err(ErrorData::new(ErrorCode::METHOD_NOT_FOUND, method, None)),
        }
    }

    fn get_info(&self) -> ServerConfig {
        self.catalog.info().clone()
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let token = self.token_of(&context).await?;
        let tools = self
            .catalog
            .visible(self.catalog.tools(), |d| d.scopes, token.as_ref());
        Ok(hinted!(
            ListToolsResult::with_all_items(tools),
            self.catalog.listing_hint(),
            &context
        ))
    }

    /// Revisions before 2026-07-28. Over stdio, the level is kept for the
    /// rest of the session. Over HTTP it is accepted so clients that set a
    /// level first keep working, but the transport is stateless: no session
    /// keeps it, and requests of those revisions get messages at `info`
    /// and above.
    #[allow(deprecated)] // logging is deprecated by SEP-2577; clients still send it
    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        tracing::debug!(level = ?request.level, "logging/setLevel");
        if let Some(level) = &self.session_level {
            *level.lock().unwrap_or_else(|e| e.into_inner()) =
                Some(LogLevel::from_rmcp(request.level));
        }
        Ok(())
    }

    /// Revisions before 2026-07-28 cannot subscribe here (see above): their
    /// `initialize` answer does not offer `subscribe`.
    async fn initialize(
        &self,
        request: InitializeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<InitializeResult, ErrorData> {
        context.peer.set_peer_info(request.clone());
        let mut result = self.negotiate_initialize(&request)?;
        if let Some(resources) = result.capabilities.resources.as_mut() {
            resources.subscribe = None;
        }
        Ok(result)
    }

    /// `subscriptions/listen` (2026-07-28): resource updates only, for the
    /// URIs a resource or template serves. The catalog is fixed when the
    /// server is built, so there are no list changes to listen for.
    ///
    /// Over HTTP the gate has already removed from the request the URIs the
    /// caller may not read, so the acknowledgment lists only the others.
    /// rmcp asks this before the caller is known to the handler; over stdio
    /// the configured identity is, when it is a fixed one.
    fn accepted_subscription_filter(
        &self,
        requested: &SubscriptionFilter,
    ) -> Option<SubscriptionFilter> {
        let resources = self.catalog.resources()?;
        let requested = requested.resource_subscriptions.iter().flatten();
        let uris: Vec<String> = match &self.caller {
            Caller::Configured(super::caller::Configured::Fixed(token)) => self
                .catalog
                .readable(requested, token.as_ref(), None)
                .into_iter()
                .collect(),
            _ => requested
                .filter(|uri| resources.find(uri).is_some())
                .cloned()
                .collect(),
        };
        Some(
            SubscriptionFilter::builder()
                .resource_subscriptions(uris)
                .build(),
        )
    }

    /// One listen stream, after its acknowledgment: sends
    /// `notifications/resources/updated` for the acknowledged URIs the
    /// caller may read, until the client closes the stream, the server
    /// shuts down, or the caller's token expires (then the stream ends with
    /// its final result, and the client listens again with a fresh token).
    async fn listen(&self, context: SubscriptionContext) -> Result<(), ErrorData> {
        let request = context.request_context();
        let token = self.token_of(request).await?;
        let accepted = context.accepted().resource_subscriptions.iter().flatten();
        let uris = self
            .catalog
            .readable(accepted, token.as_ref(), Self::audit_id(request));
        let subject = token.as_ref().map(|t| t.subject().to_owned());
        let expires = token.as_ref().and_then(AccessToken::expires_at);
        let registration = self.catalog.updates().register(subject, uris);
        let expiry = async {
            match expires {
                Some(at) => {
                    let left = at
                        .duration_since(std::time::SystemTime::now())
                        .unwrap_or_default();
                    tokio::time::sleep(left).await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::pin!(expiry);
        loop {
            tokio::select! {
                () = context.cancelled() => return Ok(()),
                () = &mut expiry => return Ok(()),
                updated = registration.next() => {
                    for uri in updated {
                        if let Err(e) = context.sink().notify_resource_updated(uri).await {
                            tracing::debug!(error = %e, "listen stream closed");
                            return Ok(());
                        }
                    }
                }
            }
        }
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let resources = &self.resources::<ListResourcesRequestMethod>()?.resources;
        let token = self.token_of(&context).await?;
        let resources = self.catalog.visible(resources, |g| g.rule, token.as_ref());
        Ok(hinted!(
            ListResourcesResult::with_all_items(resources),
            self.catalog.listing_hint(),
            &context
        ))
    }

    async fn list_resource_templates(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let templates = &self
            .resources::<ListResourceTemplatesRequestMethod>()?
            .templates;
        let token = self.token_of(&context).await?;
        let templates = self.catalog.visible(templates, |g| g.rule, token.as_ref());
        Ok(hinted!(
            ListResourceTemplatesResult::with_all_items(templates),
            self.catalog.listing_hint(),
            &context
        ))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        mut context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        self.resources::<ReadResourceRequestMethod>()?;
        self.log_threshold(&mut context)?;
        let token = self.token_of(&context).await?;
        let hints = has_cache_hints(&context);
        let hint = self.catalog.read_hint(&request.uri);
        let read = self
            .catalog
            .read_resource(request, token.clone(), Some(context))?;
        let result = CURRENT_TOKEN.scope(token, read).await?;
        Ok(ReadResourceResponse::from(if hints {
            result.with_ttl_ms(hint.ttl_ms).with_cache_scope(hint.scope)
        } else {
            result
        }))
    }

    async fn list_prompts(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListPromptsResult, ErrorData> {
        let Some(prompts) = self.catalog.prompts() else {
            return Err(ErrorData::method_not_found::<ListPromptsRequestMethod>());
        };
        let token = self.token_of(&context).await?;
        let prompts = self.catalog.visible(prompts, |g| g.rule, token.as_ref());
        Ok(hinted!(
            ListPromptsResult::with_all_items(prompts),
            self.catalog.listing_hint(),
            &context
        ))
    }

    async fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        mut context: RequestContext<RoleServer>,
    ) -> Result<GetPromptResponse, ErrorData> {
        if self.catalog.prompts().is_none() {
            return Err(ErrorData::method_not_found::<GetPromptRequestMethod>());
        }
        self.log_threshold(&mut context)?;
        let token = self.token_of(&context).await?;
        let get = self
            .catalog
            .get_prompt(request, token.clone(), Some(context))?;
        CURRENT_TOKEN
            .scope(token, get)
            .await
            .map(GetPromptResponse::from)
    }

    async fn complete(
        &self,
        request: CompleteRequestParams,
        mut context: RequestContext<RoleServer>,
    ) -> Result<CompleteResult, ErrorData> {
        self.log_threshold(&mut context)?;
        let token = self.token_of(&context).await?;
        let complete = self
            .catalog
            .complete(request, token.clone(), Some(context))?;
        CURRENT_TOKEN.scope(token, complete).await
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.catalog.tools().get(name).map(|(t, _)| t.clone())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        mut context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        self.log_threshold(&mut context)?;
        let token = self.token_of(&context).await?;
        self.catalog
            .call_tool_over_mcp(request, token, context)
            .await
    }
}
