//! The HTTP face of the server: `/mcp`, discovery, health, and the policies
//! in front of them (CORS, Origin, bearer tokens).

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
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::never::NeverSessionManager,
};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::{
    McpServer, VerifyError,
    handler::Handler,
    server::{Auth, Inner},
};

impl McpServer {
    /// The whole app as an axum `Router`: `/mcp`, `/health` and, with a
    /// verifier, the protected resource metadata. Merge it into your own app
    /// or serve it with [`serve`](Self::serve).
    pub fn into_router(self) -> Router {
        self.router(CancellationToken::new())
    }

    pub(crate) fn router(self, shutdown: CancellationToken) -> Router {
        let inner = self.inner;
        let mcp_path = inner.endpoint().path().to_owned();

        let handler = Handler(inner.clone());
        let config = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(inner.json_response)
            .with_allowed_hosts(inner.allowed_hosts.iter().cloned())
            .with_max_request_body_bytes(inner.max_body_bytes)
            .with_sse_keep_alive(Some(Duration::from_secs(15)))
            .with_cancellation_token(shutdown);
        let service = StreamableHttpService::new(
            move || Ok(handler.clone()),
            Arc::new(NeverSessionManager::default()),
            config,
        );

        let guarded = Guarded {
            transport: service,
            inner: inner.clone(),
        };
        let mcp = Router::new()
            .route_service(&mcp_path, guarded)
            .layer(mcp_cors(inner.clone()));

        let mut app = Router::new().merge(mcp).route(
            "/health",
            get(|| async { axum::Json(json!({"status": "ok"})) }),
        );

        if let Some(auth) = &inner.auth {
            let doc = bytes::Bytes::from(resource_metadata(&inner, auth));
            let serve_doc = move || {
                let doc = doc.clone();
                async move {
                    (
                        [
                            (header::CONTENT_TYPE, "application/json"),
                            (header::CACHE_CONTROL, "public, max-age=3600"),
                        ],
                        doc,
                    )
                }
            };
            let metadata = Router::new()
                .route(
                    "/.well-known/oauth-protected-resource",
                    get(serve_doc.clone()),
                )
                .route(
                    &format!("/.well-known/oauth-protected-resource{mcp_path}"),
                    get(serve_doc),
                )
                .layer(public_cors());
            app = app.merge(metadata);
        }
        if let Some(extra) = inner.extra_routes.clone() {
            app = app.merge(extra.layer(public_cors()));
        }
        app
    }
}

/// RFC 9728 protected resource metadata, serialised once.
fn resource_metadata(inner: &Inner, auth: &Auth) -> String {
    #[derive(serde::Serialize)]
    struct Document<'a> {
        resource: &'a str,
        authorization_servers: &'a [String],
        scopes_supported: &'a [String],
        bearer_methods_supported: [&'a str; 1],
        #[serde(skip_serializing_if = "Option::is_none")]
        resource_name: Option<&'a str>,
    }
    let endpoint = inner.endpoint();
    serde_json::to_string(&Document {
        resource: endpoint.as_str(),
        authorization_servers: &auth.authorization_servers,
        scopes_supported: &auth.scopes_supported,
        bearer_methods_supported: ["header"],
        resource_name: auth.resource_name.as_deref(),
    })
    .expect("metadata serialises")
}

/// The transport behind the per-request policy: Origin, then bearer token
/// (and step-up), then the transport, whose plain-text errors are rewritten
/// as JSON-RPC errors. A service of its own rather than axum middleware,
/// which would clone the stack below it on every request.
#[derive(Clone)]
struct Guarded<T> {
    transport: T,
    inner: Arc<Inner>,
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
    type Future = crate::BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        let inner = self.inner.clone();
        let mut transport = self.transport.clone();
        Box::pin(async move {
            if let Some(refused) = admit(&inner, &mut request).await {
                return Ok(drained(request, refused).await);
            }
            if inner.auth.as_ref().is_some_and(|a| a.step_up) {
                request = match crate::step_up::check(&inner, request).await {
                    Ok(request) => request,
                    Err(refused) => return Ok(refused),
                };
            }
            let Ok(response) = transport.call(request).await;
            Ok(jsonrpc_errors(response.map(Body::new)).await)
        })
    }
}

/// Answers `response` to a request refused before its body was read. The
/// body is read first (up to a small limit, briefly) so the connection can
/// serve the client's next request, such as the metadata fetch that follows
/// a 401; when it cannot be, the connection is closed, and says so.
async fn drained(request: Request, mut response: Response) -> Response {
    const DRAIN_LIMIT: usize = 64 * 1024;
    const DRAIN_TIME: Duration = Duration::from_secs(2);
    let read = axum::body::to_bytes(request.into_body(), DRAIN_LIMIT);
    if !matches!(tokio::time::timeout(DRAIN_TIME, read).await, Ok(Ok(_))) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// The transport answers some malformed requests in plain text; clients
/// expect a JSON-RPC error object, so those answers are rewritten (error
/// paths only: a successful response is not touched).
async fn jsonrpc_errors(response: Response) -> Response {
    let status = response.status();
    let plain = !response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/event-stream"));
    if plain && status == StatusCode::FORBIDDEN {
        // The transport's Host check: answer like the Origin check does.
        return json_error(status, "forbidden", "Host not allowed", None);
    }
    if !plain || !matches!(status.as_u16(), 400 | 406 | 413 | 415) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    let text = text.trim();
    let (code, message) = if text.contains("unrecognized JSON-RPC message") {
        (
            -32600,
            "Invalid request: expected one JSON-RPC request or notification (batches are not supported)",
        )
    } else if text.starts_with("fail to deserialize request body") {
        (-32700, "Parse error: the body is not valid JSON")
    } else if text.is_empty() {
        (-32600, status.canonical_reason().unwrap_or("Bad request"))
    } else {
        (-32600, text)
    };
    let body = json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, body.to_string().into())
}

const EXPOSED: [HeaderName; 3] = [
    header::WWW_AUTHENTICATE,
    HeaderName::from_static("mcp-session-id"),
    HeaderName::from_static("mcp-protocol-version"),
];

fn mcp_cors(inner: Arc<Inner>) -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::predicate(move |origin, _| {
            origin
                .to_str()
                .is_ok_and(|o| origin_allowed(&inner.allowed_origins, o))
        }))
        .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            HeaderName::from_static("last-event-id"),
            HeaderName::from_static("mcp-protocol-version"),
            HeaderName::from_static("mcp-session-id"),
            HeaderName::from_static("mcp-method"),
            HeaderName::from_static("mcp-name"),
        ])
        .expose_headers(EXPOSED)
        .max_age(Duration::from_secs(3600))
}

fn public_cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::GET, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            HeaderName::from_static("mcp-protocol-version"),
        ])
        .max_age(Duration::from_secs(3600))
}

/// One entry of the Origin allow-list, parsed once at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AllowedOrigin {
    /// `scheme://host[:port]`; `port: None` (from `:*`) matches any port.
    Url {
        scheme: String,
        host: String,
        port: Option<u16>,
    },
    /// Anything else (e.g. `null`), compared as written.
    Exact(String),
}

impl AllowedOrigin {
    pub(crate) fn parse(entry: &str) -> Self {
        let (base, any_port) = match entry.strip_suffix(":*") {
            Some(b) => (b, true),
            None => (entry, false),
        };
        match url::Url::parse(base) {
            Ok(u) if u.host_str().is_some() => AllowedOrigin::Url {
                scheme: u.scheme().to_owned(),
                host: u.host_str().unwrap_or_default().to_owned(),
                port: if any_port {
                    None
                } else {
                    u.port_or_known_default()
                },
            },
            _ => AllowedOrigin::Exact(entry.to_owned()),
        }
    }
}

/// Whether `origin` (`scheme://host[:port]`) matches one of `allowed`.
pub(crate) fn origin_allowed(allowed: &[AllowedOrigin], origin: &str) -> bool {
    let parsed = url::Url::parse(origin).ok();
    let target = parsed
        .as_ref()
        .and_then(|u| Some((u.scheme(), u.host_str()?, u.port_or_known_default()?)));
    allowed.iter().any(|entry| match (entry, target) {
        (AllowedOrigin::Exact(e), _) => e == origin,
        (AllowedOrigin::Url { scheme, host, port }, Some((s, h, p))) => {
            scheme == s && host == h && port.is_none_or(|port| port == p)
        }
        (AllowedOrigin::Url { .. }, None) => false,
    })
}

/// DNS-rebinding protection: a present Origin that is not allowed is refused.
fn origin_ok(inner: &Inner, request: &Request) -> bool {
    let Some(origin) = request.headers().get(header::ORIGIN) else {
        return true;
    };
    let ok = origin
        .to_str()
        .is_ok_and(|o| origin_allowed(&inner.allowed_origins, o));
    if !ok {
        tracing::info!(origin = ?origin, "request refused: origin not allowed");
    }
    ok
}

pub(crate) fn json_error(
    status: StatusCode,
    error: &str,
    description: &str,
    challenge: Option<String>,
) -> Response {
    let body = json!({ "error": error, "error_description": description }).to_string();
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Some(c) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, c);
    }
    response
}

/// Escapes a value for an RFC 9110 quoted-string.
pub(crate) fn quoted(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

/// The `WWW-Authenticate` value of a 401: no `error` when no token was sent.
pub(crate) fn challenge(inner: &Inner, auth: &Auth, error: Option<(&str, &str)>) -> String {
    let mut parts = Vec::new();
    if let Some((code, description)) = error {
        parts.push(format!("error=\"{}\"", quoted(code)));
        parts.push(format!("error_description=\"{}\"", quoted(description)));
    }
    parts.push(format!(
        "resource_metadata=\"{}\"",
        quoted(&inner.resource_metadata_url())
    ));
    if !auth.scopes_supported.is_empty() {
        parts.push(format!(
            "scope=\"{}\"",
            quoted(&auth.scopes_supported.join(" "))
        ));
    }
    format!("Bearer {}", parts.join(", "))
}

fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, &'static str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("send one Authorization header");
    }
    let value = value
        .to_str()
        .map_err(|_| "malformed Authorization header")?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or("Authorization must be `Bearer <token>`")?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("Authorization must use the Bearer scheme");
    }
    let token = token.trim_start_matches(' ');
    if token.is_empty() || token.contains(' ') {
        return Err("malformed bearer token");
    }
    Ok(Some(token))
}

fn query_has_token(request: &Request) -> bool {
    request.uri().query().is_some_and(|q| {
        q.split('&')
            .any(|kv| kv.split('=').next() == Some("access_token"))
    })
}

/// The Origin check, then the bearer token: `None` admits the request (with
/// its `AccessToken` in the extensions), `Some` is the refusal to answer.
async fn admit(inner: &Inner, request: &mut Request) -> Option<Response> {
    if !origin_ok(inner, request) {
        return Some(json_error(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Origin not allowed",
            None,
        ));
    }
    let auth = inner.auth.as_ref()?;
    if request.method() == Method::OPTIONS {
        return None;
    }
    if query_has_token(request) {
        let c = challenge(
            inner,
            auth,
            Some((
                "invalid_request",
                "send the token in the Authorization header",
            )),
        );
        return Some(json_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Access tokens are not accepted in the query string; send an Authorization: Bearer header",
            Some(c),
        ));
    }
    let token = match bearer_token(request.headers()) {
        Ok(Some(t)) => t,
        Ok(None) => {
            return Some(json_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                "Authentication required",
                Some(challenge(inner, auth, None)),
            ));
        }
        Err(why) => {
            return Some(json_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                why,
                Some(challenge(inner, auth, Some(("invalid_token", why)))),
            ));
        }
    };
    Some(match auth.verifier.verify(token).await {
        Ok(access) => {
            tracing::debug!(subject = access.subject(), "bearer token accepted");
            request.extensions_mut().insert(access);
            return None;
        }
        Err(VerifyError::Invalid(why)) => {
            tracing::info!(reason = %why, "bearer token refused");
            json_error(
                StatusCode::UNAUTHORIZED,
                "invalid_token",
                &why,
                Some(challenge(inner, auth, Some(("invalid_token", &why)))),
            )
        }
        Err(VerifyError::Unavailable(why)) => {
            tracing::error!(reason = %why, "token verification unavailable");
            let mut r = json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "The token could not be verified right now; retry shortly",
                None,
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
            r
        }
    })
}
