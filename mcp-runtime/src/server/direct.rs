//! The direct path: the stateless JSON requests that need nothing of rmcp's
//! per-request machinery, answered from the catalog.
//!
//! For every POST, rmcp's stateless transport builds a service, spawns a
//! task, creates channels, runs a service loop and tears it down, to answer
//! one message. A `tools/call`, `tools/list` or `ping` that asks for a JSON
//! answer needs none of that: this path parses the message once, calls the
//! catalog and writes the answer as rmcp would. Anything else goes to the
//! transport untouched, with the body it came with.
//!
//! A request takes this path only when rmcp would take it through the same
//! steps to the same answer:
//! - the server answers in JSON (not SSE streams);
//! - `Accept` names both `application/json` and `text/event-stream`, and
//!   `Content-Type` is `application/json` (otherwise rmcp's 406 and 415);
//! - `MCP-Protocol-Version` names a version rmcp knows and is older than
//!   `2026-07-28` (no per-request negotiation, no standard headers to check
//!   against the body);
//! - the body is one JSON-RPC request for `tools/call` (`name` and
//!   `arguments` only: no `_meta`, so no progress token and no per-request
//!   version, and nothing of a multi-round-trip retry) of a tool that takes
//!   no `ToolContext`, `tools/list` (at most a `cursor`) or `ping` (no
//!   params), with no other key; it is read once, into these shapes, without
//!   the trial and error of parsing rmcp's message enum.
//!
//! The answer is rmcp's: the same result types, the same adjustments for
//! peers older than `2026-07-28` (no `resultType`, object-only structured
//! output), the same JSON-RPC error objects, `200` with
//! `Content-Type: application/json`. `tests/direct.rs` sends the same
//! requests down both paths and compares the answers.

use std::{
    convert::Infallible,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    task::{Context, Poll},
};

use axum::{
    body::Body,
    extract::Request,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::Response,
};
use rmcp::model::{
    ErrorData, JsonObject, ListToolsResult, ProtocolVersion, RequestId, ServerJsonRpcMessage,
    ServerResult,
};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::{audit::RequestId as AuditId, catalog::Catalog, future::BoxFuture, token::AccessToken};

/// The transport, with the direct path in front of it.
#[derive(Clone)]
pub(crate) struct Direct<T> {
    catalog: Arc<Catalog>,
    transport: T,
    answered: Arc<AtomicU64>,
}

impl<T> Direct<T> {
    /// `answered` counts the requests this path answers.
    pub(crate) fn new(catalog: Arc<Catalog>, transport: T, answered: Arc<AtomicU64>) -> Self {
        Self {
            catalog,
            transport,
            answered,
        }
    }
}

impl<T, B> tower::Service<Request> for Direct<T>
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

    fn call(&mut self, request: Request) -> Self::Future {
        let mut transport = self.transport.clone();
        if !eligible(request.method(), request.headers()) {
            return Box::pin(async move {
                let Ok(response) = transport.call(request).await;
                Ok(response.map(Body::new))
            });
        }
        let catalog = self.catalog.clone();
        let answered = self.answered.clone();
        Box::pin(async move {
            // The gate has read the body already: this is a copy in memory.
            let (parts, body) = request.into_parts();
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            let message = match parse(&bytes).filter(|m| direct_call(&catalog, m)) {
                Some(message) => message,
                None => {
                    let request = Request::from_parts(parts, Body::from(bytes));
                    let Ok(response) = transport.call(request).await;
                    return Ok(response.map(Body::new));
                }
            };
            let token = parts.extensions.get::<AccessToken>().cloned();
            let audit_id = parts.extensions.get::<AuditId>().copied();
            answered.fetch_add(1, Ordering::Relaxed);
            Ok(answer(&catalog, message, token, audit_id).await)
        })
    }
}

/// The method, headers and server setting that allow the direct path.
fn eligible(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::POST
        && accepts_json_and_sse(headers)
        && content_type_is_json(headers)
        && headers
            .get("mcp-protocol-version")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v < ProtocolVersion::V_2026_07_28.as_str()
                    && ProtocolVersion::KNOWN_VERSIONS
                        .iter()
                        .any(|k| k.as_str() == v)
            })
}

/// `Accept` names both media types (each value may list several, with
/// parameters), as rmcp requires.
fn accepts_json_and_sse(headers: &HeaderMap) -> bool {
    let (mut json, mut sse) = (false, false);
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for media in value.split(',') {
            let essence = media.split(';').next().unwrap_or("").trim();
            json |= essence.eq_ignore_ascii_case("application/json");
            sse |= essence.eq_ignore_ascii_case("text/event-stream");
        }
    }
    json && sse
}

fn content_type_is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("application/json")
        })
}

/// One JSON-RPC request, as the direct path reads it: exactly these keys,
/// and `params` left unparsed until the method is known. A message of any
/// other shape is not read further here (rmcp's transport reads it).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope<'a> {
    jsonrpc: &'a str,
    id: RequestId,
    method: &'a str,
    #[serde(borrow, default)]
    params: Option<&'a RawValue>,
}

/// `tools/call` params: a name and arguments, nothing else (no `_meta`, no
/// multi-round-trip retry).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallParams {
    name: String,
    #[serde(default)]
    arguments: Option<JsonObject>,
}

/// `tools/list` params: at most a cursor (a single page is all there is).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListParams {
    #[serde(default, rename = "cursor")]
    _cursor: Option<String>,
}

/// A request the direct path answers.
enum Message {
    Call { id: RequestId, params: CallParams },
    List { id: RequestId },
    Ping { id: RequestId },
}

/// `body` as a request the direct path answers, or `None`: rmcp's
/// transport then reads it. rmcp reads every message accepted here the same
/// way (the same id type, the same params types, and nothing more).
fn parse(body: &[u8]) -> Option<Message> {
    let envelope: Envelope<'_> = serde_json::from_slice(body).ok()?;
    if envelope.jsonrpc != "2.0" {
        return None;
    }
    let id = envelope.id;
    match (envelope.method, envelope.params) {
        ("tools/call", Some(params)) => Some(Message::Call {
            id,
            params: serde_json::from_str(params.get()).ok()?,
        }),
        ("tools/list", None) => Some(Message::List { id }),
        ("tools/list", Some(params)) => {
            serde_json::from_str::<ListParams>(params.get()).ok()?;
            Some(Message::List { id })
        }
        ("ping", None) => Some(Message::Ping { id }),
        _ => None,
    }
}

/// Whether the direct path answers `message`: not a call of a tool that
/// takes a `ToolContext`, which rmcp's request handling makes.
fn direct_call(catalog: &Catalog, message: &Message) -> bool {
    match message {
        Message::Call { params, .. } => !catalog.tool_needs_request(&params.name),
        _ => true,
    }
}

/// The JSON-RPC answer to `request`, as rmcp's transport writes it.
async fn answer(
    catalog: &Catalog,
    message: Message,
    token: Option<AccessToken>,
    audit_id: Option<AuditId>,
) -> Response {
    let (id, result): (RequestId, Result<ServerResult, ErrorData>) = match message {
        Message::Call { id, params } => {
            let called = catalog
                .call_tool(&params.name, params.arguments, token, audit_id)
                .await
                .map(ServerResult::CallToolResult);
            (id, called)
        }
        Message::List { id } => {
            let tools = catalog.visible(catalog.tools(), |d| d.scopes, token.as_ref());
            let listed = ListToolsResult::with_all_items(tools);
            (id, Ok(ServerResult::ListToolsResult(listed)))
        }
        Message::Ping { id } => (id, Ok(ServerResult::empty(()))),
    };
    let message = match result {
        Ok(mut result) => {
            // What rmcp does for a peer older than 2026-07-28.
            result.strip_result_type_for_legacy_peer();
            result.strip_non_object_output_for_legacy_peer();
            ServerJsonRpcMessage::response(result, id)
        }
        Err(error) => ServerJsonRpcMessage::error(error, Some(id)),
    };
    match serde_json::to_vec(&message) {
        Ok(body) => Response::builder()
            .status(StatusCode::OK)
            .header(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )
            .body(Body::from(body))
            .expect("a valid response"),
        Err(e) => {
            tracing::error!(error = %e, "the answer could not be serialised");
            Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .body(Body::empty())
                .expect("a valid response")
        }
    }
}
