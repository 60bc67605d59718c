//! Who may enter: the policy of the whole site, and the per-request policy
//! in front of the MCP transport.
//!
//! Every route first passes the [`SitePolicy`]: no repeated security header
//! and no Host with userinfo (400), the Origin check (403; routes that any
//! origin may call, such as the metadata, skip it), the Host allow-list
//! (400, 403). Then, at `/mcp`: a place among the requests in flight (503
//! when there is none), the bearer check (the token verified into an
//! [`AccessToken`](crate::AccessToken)), the body read once (413, 408),
//! step-up when it is on (403); then the transport, whose plain-text errors
//! are rewritten as JSON-RPC errors. [`Gate::build`] prepares it all once;
//! the HTTP layer reads it.

mod bearer;
mod body;
mod challenge;
mod headers;
mod host;
mod limits;
mod listen;
mod metadata;
mod origin;
mod policy;
mod rewrite;
mod step_up;

use std::{
    convert::Infallible,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    extract::Request,
    http::{HeaderValue, header},
    response::Response,
};
use url::Url;

use crate::{
    audit::{self, RequestId},
    auth::TokenVerifier,
    catalog::{Catalog, vocabulary::Vocabulary},
    error::Error,
    future::BoxFuture,
    reply::Document,
};
use bearer::Bearer;
pub(crate) use body::Buffered;
use challenge::Challenge;
pub(crate) use challenge::check_scopes;
use host::Hosts;
use limits::Limits;
pub(crate) use limits::{DEFAULT_BODY_TIMEOUT, DEFAULT_MAX_IN_FLIGHT};
use origin::Origins;
pub(crate) use origin::public_cors;
pub(crate) use policy::SitePolicy;
#[cfg(test)]
pub(crate) use rewrite::RMCP_TEXT;
use step_up::StepUp;

/// Default limit on a request body.
pub(crate) const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// What the server builder collects for the gate, as given.
pub(crate) struct GateConfig {
    pub(crate) authorization_servers: Vec<String>,
    pub(crate) scopes_supported: Option<Vec<String>>,
    /// The scopes the 401 challenge names, and the setting that gave them
    /// (for error messages); `None`: `scopes_supported`.
    pub(crate) challenge_scopes: Option<(&'static str, Vec<String>)>,
    pub(crate) resource_name: Option<String>,
    pub(crate) step_up: bool,
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) allowed_hosts: Vec<String>,
    pub(crate) max_body_bytes: usize,
    pub(crate) max_in_flight: usize,
    pub(crate) body_timeout: Option<Duration>,
}

impl GateConfig {
    /// Checks what cannot be checked as it is given: each challenge scope
    /// is one scope token, and declared when there is a vocabulary.
    pub(crate) fn check(&self, vocabulary: Option<&Vocabulary>) -> Result<(), Error> {
        match &self.challenge_scopes {
            Some((setting, scopes)) => challenge::check_scopes(setting, scopes, vocabulary),
            None => Ok(()),
        }
    }
}

impl Default for GateConfig {
    fn default() -> Self {
        Self {
            authorization_servers: Vec::new(),
            scopes_supported: None,
            challenge_scopes: None,
            resource_name: None,
            step_up: false,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            body_timeout: Some(DEFAULT_BODY_TIMEOUT),
        }
    }
}

/// Who may enter. See the module docs.
pub(crate) struct Gate {
    origins: Arc<Origins>,
    hosts: Arc<Hosts>,
    max_body_bytes: usize,
    limits: Limits,
    /// `None` when the server runs without authentication.
    bearer: Option<Bearer>,
    step_up: Option<StepUp>,
    /// The protected resource metadata, with authentication.
    metadata: Option<Document>,
    /// What is served: the listen requests' URIs are narrowed against it.
    catalog: Arc<Catalog>,
}

impl Gate {
    /// Prepares the policy for the endpoint `endpoint` of a server at
    /// `base_url`, serving `catalog`, with `verifier` when it authenticates.
    pub(crate) fn build(
        config: GateConfig,
        base_url: &Url,
        endpoint: &Url,
        catalog: &Arc<Catalog>,
        verifier: Option<Arc<dyn TokenVerifier>>,
    ) -> Self {
        let origins = Arc::new(Origins::new(base_url, &config.allowed_origins));
        let hosts = Arc::new(Hosts::new(base_url, &config.allowed_hosts));
        let mut gate = Self {
            origins,
            hosts,
            max_body_bytes: config.max_body_bytes,
            limits: Limits::new(config.max_in_flight, config.body_timeout),
            bearer: None,
            step_up: None,
            metadata: None,
            catalog: catalog.clone(),
        };
        let Some(verifier) = verifier else {
            return gate;
        };
        let scopes = config
            .scopes_supported
            .unwrap_or_else(|| catalog.advertised_scopes());
        let name = config
            .resource_name
            .unwrap_or_else(|| catalog.display_name().to_owned());
        gate.metadata = Some(metadata::document(
            endpoint,
            &config.authorization_servers,
            &scopes,
            &name,
        ));
        let first_contact = config.challenge_scopes.map_or(scopes, |(_, scopes)| scopes);
        let challenge = Challenge::new(metadata::url(endpoint), &first_contact);
        gate.bearer = Some(Bearer {
            verifier,
            challenge,
        });
        gate.step_up = config.step_up.then(|| StepUp {
            catalog: catalog.clone(),
        });
        gate
    }

    /// The verifier of bearer tokens, when the server authenticates.
    pub(crate) fn verifier(&self) -> Option<&Arc<dyn TokenVerifier>> {
        self.bearer.as_ref().map(|b| &b.verifier)
    }

    /// The `Host` values accepted, as the transport reads them.
    pub(crate) fn hosts(&self) -> &[String] {
        self.hosts.list()
    }

    /// The largest request body accepted.
    pub(crate) fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// CORS for the endpoint.
    pub(crate) fn cors(&self) -> tower_http::cors::CorsLayer {
        self.origins.cors()
    }

    /// The protected resource metadata routes (root and path-inserted),
    /// with authentication.
    pub(crate) fn metadata_routes(&self, endpoint: &Url) -> Option<Router> {
        let doc = self.metadata.clone()?;
        let root = "/.well-known/oauth-protected-resource";
        Some(
            Router::new()
                .route(root, doc.clone().route())
                .route(&format!("{root}{}", endpoint.path()), doc.route()),
        )
    }

    /// `transport` behind this gate.
    pub(crate) fn guard<T>(self: &Arc<Self>, transport: T) -> Guarded<T> {
        Guarded {
            transport,
            gate: self.clone(),
        }
    }

    /// The bearer check (the [`SitePolicy`] has passed the request): `Ok`
    /// is the request to pass on, `Err` the refusal.
    async fn admit(&self, mut request: Request) -> Result<Request, Response> {
        let Some(bearer) = &self.bearer else {
            return Ok(request);
        };
        if let Some(refused) = bearer.admit(&mut request).await {
            audit_refusal(&request, refused.reason, Some(&refused.detail));
            return Err(drained(request, refused.response).await);
        }
        Ok(request)
    }

    /// Step-up's 403, when it is on and the request's token lacks the
    /// scopes of the tool it calls.
    fn step_up_refusal(&self, request: &Request, body: &[u8]) -> Option<Response> {
        let (step_up, bearer) = (self.step_up.as_ref()?, self.bearer.as_ref()?);
        step_up.refusal(request, body, &bearer.challenge)
    }
}

/// The transport behind the gate: the body is read here, once, so that the
/// transport's refusals can be explained from it. A service of its own
/// rather than axum middleware, which would clone the stack below it on
/// every request.
#[derive(Clone)]
pub(crate) struct Guarded<T> {
    transport: T,
    gate: Arc<Gate>,
}

impl<T, B> tower::Service<Request> for Guarded<T>
where
    T: tower::Service<Request, Response = http::Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    T::Future: Send,
    B: axum::body::HttpBody<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        request.extensions_mut().get_or_insert_with(RequestId::next);
        let gate = self.gate.clone();
        let mut transport = self.transport.clone();
        Box::pin(async move {
            let Some(_in_flight) = gate.limits.enter() else {
                return Ok(drained(request, limits::busy()).await);
            };
            let request = match gate.admit(request).await {
                Ok(request) => request,
                Err(refused) => return Ok(refused),
            };
            let read = body::buffer(request, gate.max_body_bytes, gate.limits.body_timeout());
            let (request, bytes) = match read.await {
                Ok(read) => read,
                Err(refused) => return Ok(refused),
            };
            if let Some(refused) = gate.step_up_refusal(&request, &bytes) {
                return Ok(refused);
            }
            let (request, bytes) = listen::narrow(&gate.catalog, request, bytes);
            let Ok(response) = transport.call(request).await;
            Ok(rewrite::jsonrpc_errors(response.map(Body::new), &bytes).await)
        })
    }
}

/// The audit event of a request refused at the gate, before any tool.
fn audit_refusal(request: &Request, reason: &'static str, detail: Option<&str>) {
    audit::Decision {
        allowed: false,
        reason,
        detail,
        about: audit::Subject {
            kind: "request",
            name: request.uri().path(),
        },
        token: None,
        missing: &[],
        request: request.extensions().get::<RequestId>().copied(),
    }
    .emit();
}

/// Answers `response` to a request refused before its body was read. The
/// body is read first (up to a small limit, briefly) so the connection can
/// serve the client's next request, such as the metadata fetch that follows
/// a 401; when it cannot be, the connection is closed, and says so.
async fn drained(request: Request, mut response: Response) -> Response {
    const DRAIN_LIMIT: usize = 64 * 1024;
    const DRAIN_TIME: Duration = Duration::from_secs(2);
    let arrived = body::drain(request.into_body(), DRAIN_LIMIT, DRAIN_TIME).await;
    if !arrived {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}
