//! The direct path: the stateless requests that need nothing of rmcp's
//! per-request machinery, answered from the catalog.
//!
//! For every POST, rmcp's stateless transport builds a service, spawns a
//! task, creates channels, runs a service loop and tears it down, to answer
//! one message. A plain `tools/call`, `tools/list` or `ping` needs none of
//! that: this path parses the message once, calls the
//! catalog and writes the answer as rmcp would. Anything else goes to the
//! transport untouched, with the body it came with.
//!
//! A request takes this path only when rmcp would take it through the same
//! steps to the same answer:
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
//! `Content-Type: application/json`, or, on a server that answers with SSE
//! streams (`json_response(false)`), the same headers and the one event
//! rmcp's stream would carry (`data: ` and the message). The SSE answer is
//! sent whole, with a length, where rmcp streams it in chunks: the client
//! reads the same bytes. `tests/direct.rs` sends the same requests down
//! both paths, in both modes, and compares the answers.

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
    http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header},
    response::Response,
};
use rmcp::model::{
    ErrorData, JsonObject, ListToolsResult, ProtocolVersion, RequestId, ServerJsonRpcMessage,
    ServerResult, Tool,
};
use serde::{
    Deserialize, Serialize,
    de::{self, MapAccess, Visitor},
};
use serde_json::value::RawValue;

use crate::{
    audit::RequestId as AuditId, catalog::Catalog, future::BoxFuture, gate::Buffered,
    token::AccessToken,
};

/// The transport, with the direct path in front of it. Cheap to clone: the
/// transport is cloned only for the requests passed on to it.
#[derive(Clone)]
pub(crate) struct Direct<T>(Arc<Shared<T>>);

struct Shared<T> {
    catalog: Arc<Catalog>,
    transport: T,
    answered: Arc<AtomicU64>,
    /// Off: every request goes to the transport.
    on: bool,
    /// Answers as SSE streams (the server's `json_response(false)`).
    sse: bool,
    /// Each tool of the catalog as listed to a peer older than
    /// `2026-07-28`, written once.
    tools: Arc<[Box<RawValue>]>,
}

impl<T> Direct<T> {
    /// `answered` counts the requests this path answers; when `on` is
    /// false, the transport answers them all. `sse`: the transport answers
    /// requests with SSE streams, and so does this path.
    pub(crate) fn new(
        catalog: Arc<Catalog>,
        transport: T,
        answered: Arc<AtomicU64>,
        on: bool,
        sse: bool,
    ) -> Self {
        let tools = if on {
            catalog.tools().items().iter().map(legacy_listed).collect()
        } else {
            Arc::default()
        };
        Self(Arc::new(Shared {
            catalog,
            transport,
            answered,
            on,
            sse,
            tools,
        }))
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
        let shared = &self.0;
        // The gate has read the body: its bytes are in the extensions.
        let message = (shared.on && eligible(request.method(), request.headers()))
            .then(|| request.extensions().get::<Buffered>())
            .flatten()
            .and_then(|body| parse(&body.0))
            .filter(|m| direct_call(&shared.catalog, m));
        let Some(message) = message else {
            let mut transport = shared.transport.clone();
            return Box::pin(async move {
                let Ok(response) = transport.call(request).await;
                Ok(response.map(Body::new))
            });
        };
        let mut extensions = request.into_parts().0.extensions;
        let token = extensions.remove::<AccessToken>();
        let audit_id = extensions.get::<AuditId>().copied();
        shared.answered.fetch_add(1, Ordering::Relaxed);
        let (catalog, tools, sse) = (shared.catalog.clone(), shared.tools.clone(), shared.sse);
        Box::pin(async move {
            let answer = answer(&catalog, &tools, message, token, audit_id).await;
            Ok(respond(answer, sse))
        })
    }
}

/// The `MCP-Protocol-Version` header.
static PROTOCOL_VERSION: HeaderName = HeaderName::from_static("mcp-protocol-version");

/// The method, headers and server setting that allow the direct path.
fn eligible(method: &Method, headers: &HeaderMap) -> bool {
    method == Method::POST
        && headers
            .get(&PROTOCOL_VERSION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v < ProtocolVersion::V_2026_07_28.as_str()
                    && ProtocolVersion::KNOWN_VERSIONS
                        .iter()
                        .any(|k| k.as_str() == v)
            })
        && content_type_is_json(headers)
        && accepts_json_and_sse(headers)
}

/// `Accept` names both media types (each value may list several, with
/// parameters), as rmcp requires.
fn accepts_json_and_sse(headers: &HeaderMap) -> bool {
    // What clients send, first.
    let mut values = headers.get_all(header::ACCEPT).iter();
    if let (Some(only), None) = (values.next(), values.next())
        && matches!(
            only.as_bytes(),
            b"application/json, text/event-stream" | b"text/event-stream, application/json"
        )
    {
        return true;
    }
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

/// One JSON-RPC request, as the direct path reads it: exactly the keys
/// `jsonrpc`, `id`, `method` and `params` (the last optional), each once,
/// with unescaped names. When `method` comes before `params`, as clients
/// write it, `params` is read straight into its shape; otherwise it is kept
/// unparsed until the method is known. A message of any other shape is not
/// read further here (rmcp's transport reads it).
struct Envelope<'a> {
    jsonrpc: &'a str,
    id: RequestId,
    method: &'a str,
    params: Params<'a>,
}

/// What an envelope's `params` were read into.
enum Params<'a> {
    Absent,
    Raw(&'a RawValue),
    Call(CallParams),
    List,
}

impl<'de> Deserialize<'de> for Envelope<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(EnvelopeVisitor)
    }
}

struct EnvelopeVisitor;

impl<'de> Visitor<'de> for EnvelopeVisitor {
    type Value = Envelope<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON-RPC request")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Envelope<'de>, A::Error> {
        let (mut jsonrpc, mut id, mut method) = (None, None, None);
        let mut params = None;
        while let Some(key) = map.next_key::<&'de str>()? {
            match key {
                "jsonrpc" if jsonrpc.is_none() => jsonrpc = Some(map.next_value()?),
                "id" if id.is_none() => id = Some(map.next_value()?),
                "method" if method.is_none() => method = Some(map.next_value()?),
                "params" if params.is_none() => {
                    params = Some(match method {
                        Some("tools/call") => Params::Call(map.next_value()?),
                        Some("tools/list") => {
                            map.next_value::<ListParams>()?;
                            Params::List
                        }
                        Some(_) => return Err(de::Error::custom("params of another method")),
                        None => Params::Raw(map.next_value()?),
                    })
                }
                _ => return Err(de::Error::custom("another key, or a key twice")),
            }
        }
        Ok(Envelope {
            jsonrpc: jsonrpc.ok_or_else(|| de::Error::missing_field("jsonrpc"))?,
            id: id.ok_or_else(|| de::Error::missing_field("id"))?,
            method: method.ok_or_else(|| de::Error::missing_field("method"))?,
            params: params.unwrap_or(Params::Absent),
        })
    }
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
        ("tools/call", Params::Call(params)) => Some(Message::Call { id, params }),
        ("tools/call", Params::Raw(params)) => Some(Message::Call {
            id,
            params: serde_json::from_str(params.get()).ok()?,
        }),
        ("tools/list", Params::Absent | Params::List) => Some(Message::List { id }),
        ("tools/list", Params::Raw(params)) => {
            serde_json::from_str::<ListParams>(params.get()).ok()?;
            Some(Message::List { id })
        }
        ("ping", Params::Absent) => Some(Message::Ping { id }),
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

/// `tool` as listed to a peer older than `2026-07-28`: with what rmcp
/// strips for such a peer stripped.
fn legacy_listed(tool: &Tool) -> Box<RawValue> {
    let mut result =
        ServerResult::ListToolsResult(ListToolsResult::with_all_items(vec![tool.clone()]));
    result.strip_non_object_output_for_legacy_peer();
    let ServerResult::ListToolsResult(mut listed) = result else {
        unreachable!("a tool listing stays one")
    };
    serde_json::value::to_raw_value(&listed.tools.remove(0)).expect("a tool serialises")
}

/// A tool listing as rmcp writes it for a peer older than `2026-07-28`.
#[derive(Serialize)]
struct ListAnswer<'a> {
    jsonrpc: &'static str,
    id: &'a RequestId,
    result: ToolList<'a>,
}

#[derive(Serialize)]
struct ToolList<'a> {
    tools: Vec<&'a RawValue>,
}

/// The JSON-RPC answer to `request`, written as rmcp's transport writes it.
async fn answer(
    catalog: &Catalog,
    tools: &[Box<RawValue>],
    message: Message,
    token: Option<AccessToken>,
    audit_id: Option<AuditId>,
) -> serde_json::Result<Vec<u8>> {
    let (id, result): (RequestId, Result<ServerResult, ErrorData>) = match message {
        Message::Call { id, params } => {
            let called = catalog
                .call_tool(&params.name, params.arguments, token, audit_id)
                .await
                .map(ServerResult::CallToolResult);
            (id, called)
        }
        Message::List { id } => {
            // The listed tools, each written at start-up.
            let listed = catalog.listed(catalog.tools(), |d| d.scopes, token.as_ref());
            let tools = tools
                .iter()
                .zip(listed)
                .filter_map(|(tool, listed)| listed.then_some(&**tool))
                .collect();
            let answer = ListAnswer {
                jsonrpc: "2.0",
                id: &id,
                result: ToolList { tools },
            };
            return serde_json::to_vec(&answer);
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
    serde_json::to_vec(&message)
}

/// The HTTP response carrying `answer` (a JSON-RPC message): its JSON, or
/// with `sse` an event stream of that one message.
fn respond(answer: serde_json::Result<Vec<u8>>, sse: bool) -> Response {
    let body = match answer {
        Ok(body) if sse => sse_event(&body),
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "the answer could not be serialised");
            return Response::builder()
                .status(StatusCode::INTERNAL_SERVER_ERROR)
                .body(Body::empty())
                .expect("a valid response");
        }
    };
    let response = Response::builder().status(StatusCode::OK);
    let response = if sse {
        // rmcp's event stream headers; the stream is this one event.
        response
            .header(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/event-stream"),
            )
            .header(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"))
            .header("x-accel-buffering", HeaderValue::from_static("no"))
    } else {
        response.header(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )
    };
    response.body(Body::from(body)).expect("a valid response")
}

/// A JSON-RPC message (`json`) as one server-sent event, as rmcp frames
/// it: `data: `, the message on one line (JSON has no raw line breaks), a
/// blank line.
fn sse_event(json: &[u8]) -> Vec<u8> {
    let mut event = Vec::with_capacity(json.len() + 8);
    event.extend_from_slice(b"data: ");
    event.extend_from_slice(json);
    event.extend_from_slice(b"\n\n");
    event
}
