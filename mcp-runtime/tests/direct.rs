//! The direct path answers exactly as rmcp's transport does.
//!
//! Two servers, the same tools and the same tokens, one with the direct path
//! (the default) and one without (`direct_dispatch(false)`), are sent the
//! same requests: well-formed calls, listings and pings, refusals, errors,
//! malformed bodies, every header variation the direct path must decline.
//! Each answer must be the same on both: status, `Content-Type`,
//! `WWW-Authenticate`, and the body, byte for byte when it is not JSON and
//! as JSON otherwise. There is no allowed difference (no ordering or id
//! differences arise: both paths serialise the same rmcp types for the same
//! request id). The test also checks which requests the direct path took,
//! so that it cannot pass by declining everything.

use axum::body::Body;
use http_body_util::BodyExt;
use mcp_runtime::{
    AccessToken, McpServer, ToolContext, ToolError, auth::StaticTokenVerifier, schemars, tool,
};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Echoes text back.
///
/// # Arguments
/// * `text` - What to echo.
#[tool(public)]
fn d_echo(text: String) -> String {
    text
}

/// A todo item, as structured content.
#[derive(serde::Serialize, schemars::JsonSchema)]
struct Item {
    id: u32,
    title: String,
}

/// Creates an item for the caller.
#[tool(scope = "todo:write")]
fn d_create(token: AccessToken, title: String) -> Item {
    Item {
        id: token.subject().len() as u32,
        title,
    }
}

/// A list: structured content that is not an object.
#[tool(scope = "todo:read", read_only)]
fn d_titles() -> Vec<String> {
    vec!["a".into(), "b".into()]
}

/// A raw result whose structured content is an array: older peers get it
/// dropped (into the text), as rmcp does.
#[tool(public)]
fn d_raw() -> mcp_runtime::rmcp::model::CallToolResult {
    let mut result = mcp_runtime::rmcp::model::CallToolResult::success(Vec::new());
    result.structured_content = Some(json!([1, 2]));
    result
}

/// Always fails.
#[tool(public)]
fn d_fails() -> Result<String, ToolError> {
    Err(ToolError::new("it did not work"))
}

/// Takes the request context: always through rmcp.
#[tool(public)]
fn d_context(ctx: ToolContext) -> String {
    format!("{:?}", ctx.request_id())
}

/// `json`: answers in JSON when it can (the default), or always as an SSE
/// stream; `filtered`: listings show each caller what it may use.
fn server(direct: bool, json: bool, filtered: bool) -> McpServer {
    let verifier = StaticTokenVerifier::new()
        .with_token(
            "writer",
            AccessToken::new("writer", "alice").with_scopes(["todo:write", "todo:read"]),
        )
        .with_token(
            "reader",
            AccessToken::new("reader", "bob").with_scopes(["todo:read"]),
        );
    McpServer::builder()
        .tool::<d_echo>()
        .tool::<d_create>()
        .tool::<d_titles>()
        .tool::<d_fails>()
        .tool::<d_raw>()
        .tool::<d_context>()
        .auth(verifier)
        .authorization_server("https://auth.example.com")
        .direct_dispatch(direct)
        .json_response(json)
        .filter_listings(filtered)
        .build()
        .unwrap()
}

/// One request: headers (name, value) and a body.
struct Case {
    name: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    body: String,
    /// Whether the direct path answers it.
    direct: bool,
}

const JSON: (&str, &str) = ("content-type", "application/json");
const ACCEPT: (&str, &str) = ("accept", "application/json, text/event-stream");
const V2025: (&str, &str) = ("mcp-protocol-version", "2025-06-18");
const WRITER: (&str, &str) = ("authorization", "Bearer writer");
const READER: (&str, &str) = ("authorization", "Bearer reader");

fn call(id: Value, name: &str, arguments: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": name, "arguments": arguments}})
    .to_string()
}

fn cases() -> Vec<Case> {
    let std = || vec![JSON, ACCEPT, V2025, WRITER];
    let case = |name, headers, body: String, direct| Case {
        name,
        headers,
        body,
        direct,
    };
    vec![
        case(
            "call",
            std(),
            call(json!(1), "d_echo", json!({"text": "hi"})),
            true,
        ),
        case(
            "call, string id",
            std(),
            call(json!("a-1"), "d_echo", json!({"text": "hi"})),
            true,
        ),
        case(
            "structured",
            std(),
            call(json!(2), "d_create", json!({"title": "milk"})),
            true,
        ),
        case(
            "structured, not an object",
            std(),
            call(json!(3), "d_titles", json!({})),
            true,
        ),
        case(
            "raw structured content, not an object",
            std(),
            call(json!(33), "d_raw", json!({})),
            true,
        ),
        case(
            "refused scope",
            vec![JSON, ACCEPT, V2025, READER],
            call(json!(4), "d_create", json!({"title": "milk"})),
            true,
        ),
        case(
            "tool error",
            std(),
            call(json!(5), "d_fails", json!({})),
            true,
        ),
        case(
            "unknown tool",
            std(),
            call(json!(6), "nope", json!({})),
            true,
        ),
        case(
            "invalid arguments",
            std(),
            call(json!(7), "d_echo", json!({"text": 5})),
            true,
        ),
        case(
            "missing argument",
            std(),
            call(json!(8), "d_echo", json!({})),
            true,
        ),
        case(
            "no arguments",
            std(),
            json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "d_echo"}})
                .to_string(),
            true,
        ),
        case(
            "list",
            std(),
            json!({"jsonrpc": "2.0", "id": 10, "method": "tools/list"}).to_string(),
            true,
        ),
        case(
            "list with params",
            vec![JSON, ACCEPT, V2025, READER],
            json!({"jsonrpc": "2.0", "id": 11, "method": "tools/list", "params": {}}).to_string(),
            true,
        ),
        case(
            "list with a string id (the listing is written from parts)",
            std(),
            json!({"jsonrpc": "2.0", "id": "a \"tools\":[] é", "method": "tools/list"})
                .to_string(),
            true,
        ),
        case(
            "call with params before the method",
            std(),
            r#"{"params":{"arguments":{"text":"first"},"name":"d_echo"},"id":13,"jsonrpc":"2.0","method":"tools/call"}"#.into(),
            true,
        ),
        case(
            "list with params before the method",
            std(),
            r#"{"params":{"cursor":"c"},"id":14,"method":"tools/list","jsonrpc":"2.0"}"#.into(),
            true,
        ),
        case(
            "ping with params (empty)",
            std(),
            r#"{"jsonrpc":"2.0","id":15,"method":"ping","params":{}}"#.into(),
            false,
        ),
        case(
            "escaped key",
            std(),
            r#"{"jsonrpc":"2.0","id":16,"met\u0068od":"ping"}"#.into(),
            false,
        ),
        case(
            "duplicate params",
            std(),
            r#"{"jsonrpc":"2.0","id":17,"method":"tools/list","params":{},"params":{}}"#.into(),
            false,
        ),
        case(
            "ping",
            std(),
            json!({"jsonrpc": "2.0", "id": 12, "method": "ping"}).to_string(),
            true,
        ),
        case(
            "older protocol",
            vec![JSON, ACCEPT, ("mcp-protocol-version", "2025-03-26"), WRITER],
            call(json!(13), "d_echo", json!({"text": "hi"})),
            true,
        ),
        case(
            "accept with parameters",
            vec![
                JSON,
                ("accept", "application/json;q=0.9, text/event-stream;q=0.5"),
                V2025,
                WRITER,
            ],
            call(json!(14), "d_echo", json!({"text": "hi"})),
            true,
        ),
        // Declined: rmcp answers, the same way for both servers.
        case(
            "tool taking the request context",
            std(),
            call(json!(20), "d_context", json!({})),
            false,
        ),
        case(
            "progress token",
            std(),
            json!({"jsonrpc": "2.0", "id": 21, "method": "tools/call",
                   "params": {"name": "d_echo", "arguments": {"text": "hi"},
                              "_meta": {"progressToken": "p1"}}})
            .to_string(),
            false,
        ),
        case(
            "initialize",
            std(),
            json!({"jsonrpc": "2.0", "id": 22, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"}}})
            .to_string(),
            false,
        ),
        case(
            "notification",
            std(),
            json!({"jsonrpc": "2.0", "method": "notifications/initialized"}).to_string(),
            false,
        ),
        case(
            "batch",
            std(),
            format!("[{}]", call(json!(23), "d_echo", json!({"text": "hi"}))),
            false,
        ),
        case("not json", std(), "{not json".into(), false),
        case(
            "params of the wrong shape",
            std(),
            json!({"jsonrpc": "2.0", "id": 24, "method": "tools/call", "params": {"arguments": 5}})
                .to_string(),
            false,
        ),
        case(
            "no protocol header",
            vec![JSON, ACCEPT, WRITER],
            call(json!(25), "d_echo", json!({"text": "hi"})),
            false,
        ),
        case(
            "unknown protocol version",
            vec![JSON, ACCEPT, ("mcp-protocol-version", "1999-01-01"), WRITER],
            call(json!(26), "d_echo", json!({"text": "hi"})),
            false,
        ),
        case(
            "protocol 2026-07-28",
            vec![JSON, ACCEPT, ("mcp-protocol-version", "2026-07-28"), WRITER],
            call(json!(27), "d_echo", json!({"text": "hi"})),
            false,
        ),
        case(
            "accepts json only",
            vec![JSON, ("accept", "application/json"), V2025, WRITER],
            call(json!(28), "d_echo", json!({"text": "hi"})),
            false,
        ),
        case(
            "text body",
            vec![("content-type", "text/plain"), ACCEPT, V2025, WRITER],
            call(json!(29), "d_echo", json!({"text": "hi"})),
            false,
        ),
        case(
            "no token",
            vec![JSON, ACCEPT, V2025],
            call(json!(30), "d_echo", json!({"text": "hi"})),
            false,
        ),
        case(
            "unknown token",
            vec![JSON, ACCEPT, V2025, ("authorization", "Bearer nobody")],
            call(json!(31), "d_echo", json!({"text": "hi"})),
            false,
        ),
        case(
            "list with a cursor",
            std(),
            json!({"jsonrpc": "2.0", "id": 34, "method": "tools/list", "params": {"cursor": "x"}})
                .to_string(),
            true,
        ),
        case(
            "arguments null",
            std(),
            json!({"jsonrpc": "2.0", "id": 35, "method": "tools/call",
                   "params": {"name": "d_fails", "arguments": null}})
            .to_string(),
            true,
        ),
        case(
            "escaped method name",
            std(),
            r#"{"jsonrpc":"2.0","id":36,"method":"tools\/call","params":{"name":"d_echo","arguments":{"text":"hi"}}}"#.into(),
            false,
        ),
        case(
            "keys in another order",
            std(),
            r#"{"params":{"arguments":{"text":"hi"},"name":"d_echo"},"method":"tools/call","id":37,"jsonrpc":"2.0"}"#.into(),
            true,
        ),
        case(
            "an extra key in the envelope",
            std(),
            json!({"jsonrpc": "2.0", "id": 38, "method": "ping", "extra": 1}).to_string(),
            false,
        ),
        case(
            "jsonrpc 1.0",
            std(),
            json!({"jsonrpc": "1.0", "id": 39, "method": "ping"}).to_string(),
            false,
        ),
        case(
            "id null",
            std(),
            json!({"jsonrpc": "2.0", "id": null, "method": "ping"}).to_string(),
            false,
        ),
        case(
            "id fractional",
            std(),
            json!({"jsonrpc": "2.0", "id": 1.5, "method": "ping"}).to_string(),
            false,
        ),
        case(
            "ping with params",
            std(),
            json!({"jsonrpc": "2.0", "id": 40, "method": "ping", "params": {}}).to_string(),
            false,
        ),
        case(
            "list with _meta",
            std(),
            json!({"jsonrpc": "2.0", "id": 41, "method": "tools/list", "params": {"_meta": {}}})
                .to_string(),
            false,
        ),
        case(
            "call with an unknown params key",
            std(),
            json!({"jsonrpc": "2.0", "id": 42, "method": "tools/call",
                   "params": {"name": "d_echo", "arguments": {"text": "hi"}, "extra": true}})
            .to_string(),
            false,
        ),
        case(
            "name not a string",
            std(),
            json!({"jsonrpc": "2.0", "id": 43, "method": "tools/call", "params": {"name": 5}})
                .to_string(),
            false,
        ),
        case(
            "duplicate key",
            std(),
            r#"{"jsonrpc":"2.0","id":44,"id":45,"method":"ping"}"#.into(),
            false,
        ),
        case(
            "resources/list (not offered)",
            std(),
            json!({"jsonrpc": "2.0", "id": 32, "method": "resources/list"}).to_string(),
            false,
        ),
    ]
}

/// Status, the headers compared, and the body (as JSON when it is JSON).
async fn send(app: axum::Router, case: &Case) -> (u16, Vec<Option<String>>, Value) {
    let mut request = http::Request::post("/mcp").header("host", "localhost");
    for (name, value) in &case.headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Body::from(case.body.clone())).unwrap();
    let response = app.oneshot(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = [
        "content-type",
        "www-authenticate",
        "connection",
        "cache-control",
        "x-accel-buffering",
    ]
    .iter()
    .map(|h| {
        response
            .headers()
            .get(*h)
            .map(|v| v.to_str().unwrap().to_owned())
    })
    .collect();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, headers, body)
}

/// Sends every case to a server with the direct path and one without,
/// answering in JSON or as SSE streams, listing everything or filtering,
/// and compares.
async fn both_paths_alike(json: bool, filtered: bool) {
    let (direct, rmcp) = (server(true, json, filtered), server(false, json, filtered));
    let mode = match (json, filtered) {
        (true, false) => "JSON",
        (true, true) => "JSON, filtered listings",
        (false, _) => "SSE",
    };
    for case in cases() {
        let before = direct.direct_answered();
        let ours = send(direct.clone().into_router(), &case).await;
        let theirs = send(rmcp.clone().into_router(), &case).await;
        assert_eq!(ours, theirs, "{} ({mode}): the two paths differ", case.name);
        let took = direct.direct_answered() > before;
        assert_eq!(
            took,
            case.direct,
            "{} ({mode}): the direct path {} it",
            case.name,
            if took { "answered" } else { "declined" }
        );
    }
    assert_eq!(
        rmcp.direct_answered(),
        0,
        "switched off, it answers nothing"
    );
}

#[tokio::test]
async fn both_paths_answer_every_request_alike() {
    both_paths_alike(true, false).await;
}

#[tokio::test]
async fn both_paths_answer_every_request_alike_with_filtered_listings() {
    both_paths_alike(true, true).await;
}

#[tokio::test]
async fn both_paths_answer_every_request_alike_as_sse_streams() {
    both_paths_alike(false, true).await;
}

#[tokio::test]
async fn as_sse_the_direct_path_answers_with_one_event() {
    let server = server(true, false, false);
    let case = Case {
        name: "call",
        headers: vec![JSON, ACCEPT, V2025, WRITER],
        body: call(json!(1), "d_echo", json!({"text": "hi"})),
        direct: true,
    };
    let (status, headers, body) = send(server.clone().into_router(), &case).await;
    assert_eq!(status, 200);
    assert_eq!(headers[0].as_deref(), Some("text/event-stream"));
    assert_eq!(headers[3].as_deref(), Some("no-cache"));
    let Value::String(event) = body else {
        panic!("an event stream, not JSON: {body}")
    };
    let data = event
        .strip_prefix("data: ")
        .and_then(|e| e.strip_suffix("\n\n"))
        .unwrap_or_else(|| panic!("one `data:` event: {event:?}"));
    let message: Value = serde_json::from_str(data).unwrap();
    assert_eq!(message["id"], 1);
    assert_eq!(message["result"]["content"][0]["text"], "hi");
    assert_eq!(server.direct_answered(), 1);
}
