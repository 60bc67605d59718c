//! The HTTP app in process (`oneshot`), with tools written the way `#[tool]`
//! expands them, so these tests do not depend on the macro.

use std::sync::Arc;

use axum::{Router, body::Body};
use http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use mcp_runtime::{
    __private::{self as p, CallContext, ScopeRule, ToolDef},
    AccessToken, McpServer, ScopeHierarchy, StaticTokenVerifier, ToolHandle,
};
use serde_json::{Value, json};
use tower::ServiceExt;

#[allow(non_camel_case_types, dead_code)]
struct echo {}
impl ToolHandle for echo {
    const DEF: &'static ToolDef = &ToolDef {
        name: "echo",
        scopes: ScopeRule::All(&["echo:use"]),
        describe: || {
            #[derive(serde::Deserialize, schemars::JsonSchema)]
            #[allow(dead_code)]
            struct A {
                text: String,
            }
            p::describe(
                "echo",
                Some("Echoes text."),
                None,
                p::input_schema::<A>(),
                None,
                None,
            )
        },
        call: |mut cx: CallContext| {
            Box::pin(async move {
                if let Err(r) = p::check_scopes(&cx, &ScopeRule::All(&["echo:use"])) {
                    return Ok(r);
                }
                #[derive(serde::Deserialize)]
                struct A {
                    text: String,
                }
                let a: A = match p::arguments(&mut cx) {
                    Ok(a) => a,
                    Err(r) => return Ok(r),
                };
                let who = mcp_runtime::get_access_token()
                    .map(|t| t.subject().to_owned())
                    .unwrap_or_default();
                Ok(p::text_result(format!("{who}: {}", a.text)))
            })
        },
        states: &[],
        location: concat!(file!(), ":", line!()),
    };
}

#[allow(non_camel_case_types, dead_code)]
struct status {}
impl ToolHandle for status {
    const DEF: &'static ToolDef = &ToolDef {
        name: "status",
        scopes: ScopeRule::All(&["system:read"]),
        describe: || {
            p::describe(
                "status",
                Some("Status."),
                None,
                p::input_schema::<()>(),
                None,
                None,
            )
        },
        call: |cx: CallContext| {
            Box::pin(async move {
                if let Err(r) = p::check_scopes(&cx, &ScopeRule::All(&["system:read"])) {
                    return Ok(r);
                }
                Ok(p::structured_result(&json!({"ok": true})))
            })
        },
        states: &[],
        location: concat!(file!(), ":", line!()),
    };
}

fn verifier() -> StaticTokenVerifier {
    StaticTokenVerifier::new()
        .with_token(
            "reader",
            AccessToken::new("reader", "alice").with_scopes(["other"]),
        )
        .with_token(
            "echoer",
            AccessToken::new("echoer", "bob").with_scopes(["echo:use"]),
        )
        .with_token(
            "admin",
            AccessToken::new("admin", "root").with_scopes(["system:admin"]),
        )
}

fn builder() -> mcp_runtime::McpServerBuilder {
    McpServer::builder()
        .name("test-server")
        .tool::<echo>()
        .tool::<status>()
        .verifier(verifier())
        .authorization_server("https://auth.example.com")
        .scope_hierarchy(ScopeHierarchy::new().with_chain([
            "system:admin",
            "system:write",
            "system:read",
        ]))
}

fn app() -> Router {
    builder().build().unwrap().into_router()
}

fn rpc(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
}

fn post(body: impl Into<String>, token: Option<&str>) -> http::request::Builder {
    let _ = body;
    let mut b = Request::post("/mcp")
        .header(header::HOST, "localhost:3002")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18");
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    b
}

async fn send(app: Router, req: Request<Body>) -> (StatusCode, http::HeaderMap, String) {
    let res = app.oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

/// The JSON-RPC message of a response, whether sent as JSON or as one SSE event.
fn message(body: &str) -> Value {
    if let Ok(v) = serde_json::from_str(body) {
        return v;
    }
    let data: String = body
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .collect();
    serde_json::from_str(&data).unwrap_or_else(|_| panic!("no JSON-RPC message in {body:?}"))
}

async fn call(
    app: Router,
    body: Value,
    token: Option<&str>,
) -> (StatusCode, http::HeaderMap, Value) {
    let s = body.to_string();
    let req = post(s.clone(), token).body(Body::from(s)).unwrap();
    let (status, headers, body) = send(app, req).await;
    let v = if body.is_empty() {
        Value::Null
    } else {
        message(&body)
    };
    (status, headers, v)
}

#[tokio::test]
async fn initialize_reports_tools_capability() {
    let (status, _, v) = call(
        app(),
        rpc(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
        ),
        Some("reader"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["result"]["serverInfo"]["name"], "test-server");
    assert!(v["result"]["capabilities"]["tools"].is_object());
    assert_eq!(v["result"]["protocolVersion"], "2025-06-18");
}

#[tokio::test]
async fn tools_list_lists_every_tool_with_its_schema() {
    let (status, _, v) = call(app(), rpc("tools/list", json!({})), Some("reader")).await;
    assert_eq!(status, StatusCode::OK);
    let tools = v["result"]["tools"].as_array().unwrap();
    let names: Vec<_> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["echo", "status"]);
    assert_eq!(tools[0]["inputSchema"]["required"], json!(["text"]));
    assert_eq!(tools[0]["description"], "Echoes text.");
}

#[tokio::test]
async fn tools_call_succeeds_with_the_scope() {
    let (status, _, v) = call(
        app(),
        rpc(
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "hi"}}),
        ),
        Some("echoer"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["result"]["isError"], false);
    assert_eq!(v["result"]["content"][0]["text"], "bob: hi");
}

#[tokio::test]
async fn scope_refusal_has_the_reference_format() {
    let (status, _, v) = call(
        app(),
        rpc(
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "hi"}}),
        ),
        Some("reader"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let r = &v["result"];
    assert_eq!(r["isError"], true);
    assert_eq!(
        r["structuredContent"],
        json!({"error": "Insufficient permissions: `echo:use` scope required."})
    );
    assert_eq!(
        r["content"],
        json!([{"type": "text", "text": "{\"error\":\"Insufficient permissions: `echo:use` scope required.\"}"}])
    );
}

#[tokio::test]
async fn hierarchy_lets_admin_read() {
    let (_, _, v) = call(
        app(),
        rpc("tools/call", json!({"name": "status"})),
        Some("admin"),
    )
    .await;
    assert_eq!(v["result"]["isError"], false, "{v}");
    assert_eq!(v["result"]["structuredContent"], json!({"ok": true}));
    let (_, _, v) = call(
        app(),
        rpc("tools/call", json!({"name": "status"})),
        Some("echoer"),
    )
    .await;
    assert_eq!(v["result"]["isError"], true);
}

#[tokio::test]
async fn bad_arguments_are_a_tool_error() {
    let (_, _, v) = call(
        app(),
        rpc(
            "tools/call",
            json!({"name": "echo", "arguments": {"text": 5}}),
        ),
        Some("echoer"),
    )
    .await;
    assert_eq!(v["result"]["isError"], true);
    let text = v["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("Invalid arguments for tool `echo`"),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_tool_is_invalid_params() {
    let (_, _, v) = call(
        app(),
        rpc("tools/call", json!({"name": "nope"})),
        Some("echoer"),
    )
    .await;
    assert_eq!(v["error"]["code"], -32602);
    assert_eq!(v["error"]["message"], "Unknown tool: nope");
}

#[tokio::test]
async fn unknown_method_is_method_not_found() {
    let (_, _, v) = call(app(), rpc("no/such", json!({})), Some("echoer")).await;
    assert_eq!(v["error"]["code"], -32601, "{v}");
}

#[tokio::test]
async fn malformed_json_is_a_parse_error_and_the_server_keeps_serving() {
    let app = app();
    let req = post("", Some("echoer"))
        .body(Body::from("{not json"))
        .unwrap();
    let (status, _, body) = send(app.clone(), req).await;
    assert!(status.is_client_error(), "{status}");
    let v = message(&body);
    assert_eq!(v["error"]["code"], -32700, "{v}");
    let (status, _, _) = call(app, rpc("tools/list", json!({})), Some("echoer")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn batches_are_refused() {
    let batch = json!([rpc("tools/list", json!({})), rpc("tools/list", json!({}))]);
    let (status, _, v) = call(app(), batch, Some("echoer")).await;
    assert!(status.is_client_error(), "{status}");
    assert!(v["error"]["code"].is_i64(), "{v}");
}

#[tokio::test]
async fn get_is_405() {
    let req = Request::get("/mcp")
        .header(header::HOST, "localhost")
        .header(header::ACCEPT, "text/event-stream")
        .header(header::AUTHORIZATION, "Bearer echoer")
        .body(Body::empty())
        .unwrap();
    let (status, _, _) = send(app(), req).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn missing_token_is_401_with_challenge() {
    let (status, headers, v) = call(app(), rpc("tools/list", json!({})), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        headers[header::WWW_AUTHENTICATE],
        "Bearer resource_metadata=\"http://127.0.0.1:3002/.well-known/oauth-protected-resource/mcp\", scope=\"echo:use system:read\""
    );
    assert_eq!(v["error"], "invalid_token");
}

#[tokio::test]
async fn bad_token_is_401_invalid_token() {
    let (status, headers, v) = call(app(), rpc("tools/list", json!({})), Some("forged")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let challenge = headers[header::WWW_AUTHENTICATE].to_str().unwrap();
    assert_eq!(
        challenge,
        "Bearer error=\"invalid_token\", error_description=\"unknown token\", resource_metadata=\"http://127.0.0.1:3002/.well-known/oauth-protected-resource/mcp\", scope=\"echo:use system:read\""
    );
    assert_eq!(
        v,
        json!({"error": "invalid_token", "error_description": "unknown token"})
    );
    assert!(!v.to_string().contains("forged"));
}

#[tokio::test]
async fn token_in_query_is_refused() {
    let s = rpc("tools/list", json!({})).to_string();
    let mut req = post(s.clone(), None).body(Body::from(s)).unwrap();
    *req.uri_mut() = "/mcp?access_token=echoer".parse().unwrap();
    let (status, _, _) = send(app(), req).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn protected_resource_metadata_at_both_paths() {
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let req = Request::get(path).body(Body::empty()).unwrap();
        let (status, headers, body) = send(app(), req).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(
            body,
            r#"{"resource":"http://127.0.0.1:3002/mcp","authorization_servers":["https://auth.example.com"],"scopes_supported":["echo:use","system:read"],"bearer_methods_supported":["header"],"resource_name":"test-server"}"#
        );
        assert_eq!(headers[header::CACHE_CONTROL], "public, max-age=3600");
    }
    let req = Request::get("/.well-known/oauth-protected-resource/mcp")
        .header(header::ORIGIN, "https://anywhere.example")
        .body(Body::empty())
        .unwrap();
    let (_, headers, _) = send(app(), req).await;
    assert_eq!(headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}

#[tokio::test]
async fn cors_preflight_is_answered_and_exposes_headers() {
    let req = Request::options("/mcp")
        .header(header::HOST, "localhost")
        .header(header::ORIGIN, "http://localhost:6274")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(
            header::ACCESS_CONTROL_REQUEST_HEADERS,
            "authorization, content-type, mcp-protocol-version",
        )
        .body(Body::empty())
        .unwrap();
    let (status, headers, _) = send(app(), req).await;
    assert!(status.is_success(), "{status}");
    assert_eq!(
        headers[header::ACCESS_CONTROL_ALLOW_ORIGIN],
        "http://localhost:6274"
    );
    let allowed = headers[header::ACCESS_CONTROL_ALLOW_HEADERS]
        .to_str()
        .unwrap()
        .to_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("mcp-protocol-version"));

    let s = rpc("tools/list", json!({})).to_string();
    let req = post(s.clone(), None)
        .header(header::ORIGIN, "http://localhost:6274")
        .body(Body::from(s))
        .unwrap();
    let (status, headers, _) = send(app(), req).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let exposed = headers[header::ACCESS_CONTROL_EXPOSE_HEADERS]
        .to_str()
        .unwrap()
        .to_lowercase();
    for h in ["www-authenticate", "mcp-session-id", "mcp-protocol-version"] {
        assert!(exposed.contains(h), "{exposed}");
    }
}

#[tokio::test]
async fn foreign_origin_is_403() {
    let s = rpc("tools/list", json!({})).to_string();
    let req = post(s.clone(), Some("echoer"))
        .header(header::ORIGIN, "https://evil.example")
        .body(Body::from(s))
        .unwrap();
    let (status, headers, _) = send(app(), req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(headers.get(header::ACCESS_CONTROL_ALLOW_ORIGIN).is_none());
}

#[tokio::test]
async fn foreign_host_is_refused() {
    let s = rpc("tools/list", json!({})).to_string();
    let mut req = post(s.clone(), Some("echoer")).body(Body::from(s)).unwrap();
    req.headers_mut()
        .insert(header::HOST, "evil.example".parse().unwrap());
    let (status, headers, body) = send(app(), req).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(
        body,
        r#"{"error":"forbidden","error_description":"Host not allowed"}"#
    );
}

#[tokio::test]
async fn health_answers() {
    let req = Request::get("/health").body(Body::empty()).unwrap();
    let (status, _, body) = send(app(), req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, r#"{"status":"ok"}"#);
}

#[tokio::test]
async fn oversized_body_is_413() {
    let app = builder()
        .max_body_bytes(1024)
        .build()
        .unwrap()
        .into_router();
    let big = rpc(
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "x".repeat(4096)}}),
    )
    .to_string();
    let req = post(big.clone(), Some("echoer"))
        .body(Body::from(big))
        .unwrap();
    let (status, _, _) = send(app, req).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn step_up_refuses_with_403_and_the_scopes_to_ask_for() {
    let app = builder().step_up(true).build().unwrap().into_router();
    let (status, headers, v) = call(
        app.clone(),
        rpc(
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "hi"}}),
        ),
        Some("reader"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(
        headers[header::WWW_AUTHENTICATE],
        "Bearer error=\"insufficient_scope\", scope=\"other echo:use\", resource_metadata=\"http://127.0.0.1:3002/.well-known/oauth-protected-resource/mcp\", error_description=\"Insufficient permissions: `echo:use` scope required.\""
    );
    assert_eq!(v["error"], "insufficient_scope");
    // Allowed calls and other methods pass through.
    let (status, _, v) = call(
        app.clone(),
        rpc(
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "hi"}}),
        ),
        Some("echoer"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(v["result"]["content"][0]["text"], "bob: hi");
    let (status, _, _) = call(app, rpc("tools/list", json!({})), Some("reader")).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn duplicate_names_fail_at_build() {
    #[allow(non_camel_case_types, dead_code)]
    struct echo2 {}
    impl ToolHandle for echo2 {
        const DEF: &'static ToolDef = &ToolDef {
            name: "echo",
            location: "elsewhere.rs:1",
            ..*<echo as ToolHandle>::DEF
        };
    }
    let err = McpServer::builder()
        .tool::<echo>()
        .tool::<echo2>()
        .build()
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("two tools are named `echo`") && msg.contains("elsewhere.rs:1"),
        "{msg}"
    );
}

#[tokio::test]
async fn in_process_call_applies_scopes() {
    let server = builder().build().unwrap();
    let token = AccessToken::new("t", "carol").with_scopes(["echo:use"]);
    let args = json!({"text": "yo"}).as_object().cloned();
    let r = server.call_tool("echo", args, Some(token)).await.unwrap();
    assert_eq!(r.is_error, Some(false));
    let r = server.call_tool("echo", None, None).await.unwrap();
    assert_eq!(r.is_error, Some(true));
    let _ = Arc::new(());
}

async fn call_with_version(
    app: Router,
    version: Option<&str>,
    body: Value,
    extra: &[(&str, &str)],
) -> (StatusCode, Value) {
    let s = body.to_string();
    let mut b = Request::post("/mcp")
        .header(header::HOST, "localhost:3002")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::ACCEPT, "application/json, text/event-stream")
        .header(header::AUTHORIZATION, "Bearer echoer");
    if let Some(v) = version {
        b = b.header("mcp-protocol-version", v);
    }
    for (k, v) in extra {
        b = b.header(*k, *v);
    }
    let (status, _, body) = send(app, b.body(Body::from(s)).unwrap()).await;
    (
        status,
        if body.is_empty() {
            Value::Null
        } else {
            message(&body)
        },
    )
}

#[tokio::test]
async fn every_supported_protocol_revision_works() {
    for version in ["2025-03-26", "2025-06-18", "2025-11-25"] {
        let init = rpc(
            "initialize",
            json!({"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
        );
        let (status, v) = call_with_version(app(), None, init, &[]).await;
        assert_eq!(status, StatusCode::OK, "{version}");
        assert_eq!(v["result"]["protocolVersion"], version);
        let list = rpc(
            "tools/call",
            json!({"name": "echo", "arguments": {"text": version}}),
        );
        let header = (version != "2025-03-26").then_some(version);
        let (status, v) = call_with_version(app(), header, list, &[]).await;
        assert_eq!(status, StatusCode::OK, "{version}");
        assert_eq!(v["result"]["content"][0]["text"], format!("bob: {version}"));
    }
}

fn call_2026(name: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
        "name": name, "arguments": {"text": "new"},
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"}
        }
    }})
}

#[tokio::test]
async fn revision_2026_07_28_works_without_initialize() {
    let headers = [("mcp-method", "tools/call"), ("mcp-name", "echo")];
    let (status, v) =
        call_with_version(app(), Some("2026-07-28"), call_2026("echo"), &headers).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["result"]["content"][0]["text"], "bob: new");
}

#[tokio::test]
async fn step_up_trusts_mcp_name_only_where_the_transport_checks_it() {
    let app = builder().step_up(true).build().unwrap().into_router();
    // The header names a tool the token may call, the body another: the
    // transport rejects the mismatch, so the header cannot smuggle a call.
    let lying = [("mcp-method", "tools/call"), ("mcp-name", "echo")];
    let (status, _) =
        call_with_version(app.clone(), Some("2026-07-28"), call_2026("status"), &lying).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let honest = [("mcp-method", "tools/call"), ("mcp-name", "status")];
    let (status, _) =
        call_with_version(app, Some("2026-07-28"), call_2026("status"), &honest).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sse_response_mode_streams_the_reply() {
    let app = builder()
        .json_response(false)
        .build()
        .unwrap()
        .into_router();
    let s = rpc(
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "sse"}}),
    )
    .to_string();
    let req = post(s.clone(), Some("echoer")).body(Body::from(s)).unwrap();
    let (status, headers, body) = send(app, req).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    assert!(body.contains("data:"), "{body}");
    assert_eq!(message(&body)["result"]["content"][0]["text"], "bob: sse");
}

#[tokio::test]
async fn json_response_mode_is_the_default() {
    let s = rpc("tools/list", json!({})).to_string();
    let req = post(s.clone(), Some("echoer")).body(Body::from(s)).unwrap();
    let (_, headers, _) = send(app(), req).await;
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
}
