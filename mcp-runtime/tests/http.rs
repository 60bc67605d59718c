//! The HTTP app in process (`oneshot`).

use axum::{Router, body::Body};
use http::{Request, header};
use http_body_util::BodyExt;
use mcp_runtime::{
    AccessToken, McpServer, ScopeHierarchy, auth::StaticTokenVerifier, rmcp::model::CallToolResult,
    tool,
};
use mcp_test_client::{Mcp, PROTOCOL_VERSION, Response, rpc};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Echoes text.
#[tool(scope = "echo:use")]
async fn echo(text: String) -> String {
    let who = mcp_runtime::get_access_token()
        .map(|t| t.subject().to_owned())
        .unwrap_or_default();
    format!("{who}: {text}")
}

/// Status.
#[tool(scope = "system:read")]
fn status() -> CallToolResult {
    CallToolResult::structured(json!({"ok": true}))
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
        .auth(verifier())
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

/// A client of the app as `token` (if any), on this server's host and
/// protocol revision.
fn client(token: Option<&str>) -> Mcp {
    Mcp::new("/mcp")
        .header("host", "localhost:3002")
        .header("mcp-protocol-version", PROTOCOL_VERSION)
        .bearer(token)
}

async fn send(app: Router, req: Request<impl Into<Body>>) -> Response {
    let (parts, body) = app.oneshot(req.map(Into::into)).await.unwrap().into_parts();
    let text = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
    let (status, headers) = (parts.status.as_u16(), parts.headers);
    Response {
        status,
        headers,
        text,
        request_id: None,
    }
}

/// POSTs `message` as `token`.
async fn call(app: Router, message: Value, token: Option<&str>) -> Response {
    send(app, client(token).http_request(&message)).await
}

#[tokio::test]
async fn initialize_reports_tools_capability() {
    let res = call(
        app(),
        rpc(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
        ),
        Some("reader"),
    )
    .await;
    assert_eq!(res.status, 200);
    let v = res.json();
    assert_eq!(v["result"]["serverInfo"]["name"], "test-server");
    assert!(v["result"]["capabilities"]["tools"].is_object());
    assert_eq!(v["result"]["protocolVersion"], "2025-06-18");
}

#[tokio::test]
async fn tools_list_lists_every_tool_with_its_schema() {
    let res = call(app(), rpc("tools/list", json!({})), Some("reader")).await;
    assert_eq!(res.status, 200);
    let v = res.json();
    let tools = v["result"]["tools"].as_array().unwrap();
    let names: Vec<_> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["echo", "status"]);
    assert_eq!(tools[0]["inputSchema"]["required"], json!(["text"]));
    assert_eq!(tools[0]["description"], "Echoes text.");
}

#[tokio::test]
async fn tools_call_succeeds_with_the_scope() {
    let res = call(
        app(),
        rpc(
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "hi"}}),
        ),
        Some("echoer"),
    )
    .await;
    assert_eq!(res.status, 200);
    let v = res.json();
    assert_eq!(v["result"]["isError"], false);
    assert_eq!(v["result"]["content"][0]["text"], "bob: hi");
}

#[tokio::test]
async fn scope_refusal_has_the_reference_format() {
    let res = call(
        app(),
        rpc(
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "hi"}}),
        ),
        Some("reader"),
    )
    .await;
    assert_eq!(res.status, 200);
    let r = &res.json()["result"];
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
    let status = rpc("tools/call", json!({"name": "status"}));
    let v = call(app(), status.clone(), Some("admin")).await.json();
    assert_eq!(v["result"]["isError"], false, "{v}");
    assert_eq!(v["result"]["structuredContent"], json!({"ok": true}));
    let v = call(app(), status, Some("echoer")).await.json();
    assert_eq!(v["result"]["isError"], true);
}

#[tokio::test]
async fn bad_arguments_are_a_tool_error() {
    let v = call(
        app(),
        rpc(
            "tools/call",
            json!({"name": "echo", "arguments": {"text": 5}}),
        ),
        Some("echoer"),
    )
    .await
    .json();
    assert_eq!(v["result"]["isError"], true);
    let text = v["result"]["content"][0]["text"].as_str().unwrap();
    assert!(
        text.starts_with("Invalid arguments for tool `echo`"),
        "{text}"
    );
}

#[tokio::test]
async fn unknown_tool_is_invalid_params() {
    let nope = rpc("tools/call", json!({"name": "nope"}));
    let v = call(app(), nope, Some("echoer")).await.json();
    assert_eq!(v["error"]["code"], -32602);
    assert_eq!(v["error"]["message"], "Unknown tool: nope");
}

#[tokio::test]
async fn unknown_method_is_method_not_found() {
    let v = call(app(), rpc("no/such", json!({})), Some("echoer"))
        .await
        .json();
    assert_eq!(v["error"]["code"], -32601, "{v}");
}

#[tokio::test]
async fn malformed_json_is_a_parse_error_and_the_server_keeps_serving() {
    let app = app();
    let req = client(Some("echoer"))
        .http_request(&Value::Null)
        .map(|_| "{not json");
    let res = send(app.clone(), req).await;
    assert!((400..500).contains(&res.status), "{res:#?}");
    let v = res.json();
    assert_eq!(v["error"]["code"], -32700, "{v}");
    let res = call(app, rpc("tools/list", json!({})), Some("echoer")).await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn batches_are_refused() {
    let batch = json!([rpc("tools/list", json!({})), rpc("tools/list", json!({}))]);
    let res = call(app(), batch, Some("echoer")).await;
    assert_eq!(res.status, 400, "{res:#?}");
    let v = res.json();
    assert_eq!(v["error"]["code"], -32600, "{v}");
    assert_eq!(
        v["error"]["message"],
        "Invalid request: batches are not supported; send one JSON-RPC message"
    );
    assert_eq!(v["id"], Value::Null);
}

#[tokio::test]
async fn get_is_405() {
    let req = Request::get("/mcp")
        .header(header::HOST, "localhost")
        .header(header::ACCEPT, "text/event-stream")
        .header(header::AUTHORIZATION, "Bearer echoer")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(app(), req).await.status, 405);
}

#[tokio::test]
async fn missing_token_is_401_with_challenge() {
    let res = call(app(), rpc("tools/list", json!({})), None).await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.header("www-authenticate"),
        "Bearer resource_metadata=\"http://127.0.0.1:3002/.well-known/oauth-protected-resource/mcp\", scope=\"echo:use system:read\""
    );
    assert_eq!(res.json()["error"], "invalid_token");
}

#[tokio::test]
async fn bad_token_is_401_invalid_token() {
    let res = call(app(), rpc("tools/list", json!({})), Some("forged")).await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.header("www-authenticate"),
        "Bearer error=\"invalid_token\", error_description=\"unknown token\", resource_metadata=\"http://127.0.0.1:3002/.well-known/oauth-protected-resource/mcp\", scope=\"echo:use system:read\""
    );
    let v = res.json();
    assert_eq!(
        v,
        json!({"error": "invalid_token", "error_description": "unknown token"})
    );
    assert!(!v.to_string().contains("forged"));
}

#[tokio::test]
async fn token_in_query_is_refused() {
    let in_query = Mcp::new("/mcp?access_token=echoer")
        .header("host", "localhost:3002")
        .header("mcp-protocol-version", PROTOCOL_VERSION);
    let req = in_query.http_request(&rpc("tools/list", json!({})));
    assert_eq!(send(app(), req).await.status, 400);
}

#[tokio::test]
async fn protected_resource_metadata_at_both_paths() {
    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let req = Request::get(path)
            .header(header::HOST, "localhost:3002")
            .body(Body::empty())
            .unwrap();
        let res = send(app(), req).await;
        assert_eq!(res.status, 200, "{path}");
        assert_eq!(
            res.text,
            r#"{"resource":"http://127.0.0.1:3002/mcp","authorization_servers":["https://auth.example.com"],"scopes_supported":["echo:use","system:read"],"bearer_methods_supported":["header"],"resource_name":"test-server"}"#
        );
        assert_eq!(res.header("cache-control"), "public, max-age=3600");
    }
    let req = Request::get("/.well-known/oauth-protected-resource/mcp")
        .header(header::HOST, "localhost:3002")
        .header(header::ORIGIN, "https://anywhere.example")
        .body(Body::empty())
        .unwrap();
    let res = send(app(), req).await;
    assert_eq!(res.header("access-control-allow-origin"), "*");
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
    let res = send(app(), req).await;
    assert!((200..300).contains(&res.status), "{res:#?}");
    assert_eq!(
        res.header("access-control-allow-origin"),
        "http://localhost:6274"
    );
    let allowed = res.header("access-control-allow-headers").to_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("mcp-protocol-version"));

    let inspector = client(None).header("origin", "http://localhost:6274");
    let req = inspector.http_request(&rpc("tools/list", json!({})));
    let res = send(app(), req).await;
    assert_eq!(res.status, 401);
    let exposed = res.header("access-control-expose-headers").to_lowercase();
    for h in ["www-authenticate", "mcp-session-id", "mcp-protocol-version"] {
        assert!(exposed.contains(h), "{exposed}");
    }
}

#[tokio::test]
async fn foreign_origin_is_403() {
    let foreign = client(Some("echoer")).header("origin", "https://evil.example");
    let res = send(app(), foreign.http_request(&rpc("tools/list", json!({})))).await;
    assert_eq!(res.status, 403);
    assert!(!res.has_header("access-control-allow-origin"));
}

#[tokio::test]
async fn foreign_host_is_refused() {
    let mut req = client(Some("echoer")).http_request(&rpc("tools/list", json!({})));
    req.headers_mut()
        .insert(header::HOST, "evil.example".parse().unwrap());
    let res = send(app(), req).await;
    assert_eq!(res.status, 403);
    assert_eq!(res.header("content-type"), "application/json");
    assert_eq!(
        res.text,
        r#"{"error":"forbidden","error_description":"Host not allowed"}"#
    );
}

#[tokio::test]
async fn health_answers() {
    let req = Request::get("/health")
        .header(header::HOST, "localhost:3002")
        .body(Body::empty())
        .unwrap();
    let res = send(app(), req).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.text, r#"{"status":"ok"}"#);
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
    );
    assert_eq!(call(app, big, Some("echoer")).await.status, 413);
}

#[tokio::test]
async fn step_up_refuses_with_403_and_the_scopes_to_ask_for() {
    let app = builder().step_up(true).build().unwrap().into_router();
    let echo_hi = rpc(
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "hi"}}),
    );
    let res = call(app.clone(), echo_hi.clone(), Some("reader")).await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.header("www-authenticate"),
        "Bearer error=\"insufficient_scope\", scope=\"other echo:use\", resource_metadata=\"http://127.0.0.1:3002/.well-known/oauth-protected-resource/mcp\", error_description=\"Insufficient permissions: `echo:use` scope required.\""
    );
    assert_eq!(res.json()["error"], "insufficient_scope");
    // Allowed calls and other methods pass through.
    let res = call(app.clone(), echo_hi, Some("echoer")).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["result"]["content"][0]["text"], "bob: hi");
    let res = call(app, rpc("tools/list", json!({})), Some("reader")).await;
    assert_eq!(res.status, 200);
}

const METADATA: &str = "http://127.0.0.1:3002/.well-known/oauth-protected-resource/mcp";

#[tokio::test]
async fn challenge_scopes_are_the_401s_scope() {
    let app = builder()
        .challenge_scopes(["system:read", "echo:use", "system:read"])
        .step_up(true)
        .build()
        .unwrap()
        .into_router();
    let list = rpc("tools/list", json!({}));
    let res = call(app.clone(), list.clone(), None).await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.header("www-authenticate"),
        format!("Bearer resource_metadata=\"{METADATA}\", scope=\"system:read echo:use\"")
    );
    let res = call(app.clone(), list, Some("forged")).await;
    assert_eq!(
        res.header("www-authenticate"),
        format!(
            "Bearer error=\"invalid_token\", error_description=\"unknown token\", \
             resource_metadata=\"{METADATA}\", scope=\"system:read echo:use\""
        )
    );
    // The step-up 403 still names the scopes held and required.
    let echo = rpc(
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "hi"}}),
    );
    let res = call(app.clone(), echo, Some("reader")).await;
    assert_eq!(res.status, 403);
    assert!(
        res.header("www-authenticate")
            .contains("scope=\"other echo:use\"")
    );
    // scopes_supported is unchanged.
    let req = Request::get("/.well-known/oauth-protected-resource/mcp")
        .header(header::HOST, "localhost:3002")
        .body(Body::empty())
        .unwrap();
    let prm: Value = serde_json::from_str(&send(app, req).await.text).unwrap();
    assert_eq!(prm["scopes_supported"], json!(["echo:use", "system:read"]));
}

#[tokio::test]
async fn no_challenge_scopes_leaves_scope_out_of_the_401() {
    let app = builder()
        .challenge_scopes(Vec::<String>::new())
        .build()
        .unwrap()
        .into_router();
    let res = call(app, rpc("tools/list", json!({})), None).await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.header("www-authenticate"),
        format!("Bearer resource_metadata=\"{METADATA}\"")
    );
}

#[test]
fn challenge_scopes_are_checked_at_build() {
    mcp_runtime::scopes! {
        /// The scopes of this test.
        SCOPES {
            ECHO = "echo:use" => "Echo text",
            STATUS = "system:read" => "Read the status",
        }
    }
    let err = builder()
        .challenge_scopes(["echo:use", "bad scope"])
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "challenge_scopes: \"bad scope\" is not one RFC 6749 scope token \
         (printable ASCII except space, `\"` and `\\`)"
    );
    let err = builder()
        .vocabulary(&SCOPES)
        .challenge_scopes([ECHO, "echo:uses"])
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "challenge_scopes: `echo:uses` is not a scope of the vocabulary `SCOPES` \
             (declared at {}) (did you mean `echo:use`?)",
            SCOPES.location().unwrap()
        )
    );
    assert!(
        builder()
            .vocabulary(&SCOPES)
            .challenge_scopes([STATUS])
            .build()
            .is_ok()
    );
}

#[tokio::test]
async fn duplicate_names_fail_at_build() {
    /// Another echo.
    #[tool(name = "echo", public)]
    fn echo2() -> String {
        String::new()
    }
    let err = McpServer::builder()
        .tool::<echo>()
        .tool::<echo2>()
        .build()
        .unwrap_err();
    let msg = err.to_string();
    let second = format!("{}:", file!());
    assert!(
        msg.contains("two tools are named `echo`") && msg.matches(&second).count() == 2,
        "{msg}"
    );
}

#[tokio::test]
async fn in_process_call_applies_scopes() {
    let server = builder().build().unwrap();
    let token = AccessToken::new("t", "carol").with_scopes(["echo:use"]);
    let args = json!({"text": "yo"}).as_object().cloned();
    let r = server
        .call_tool("echo", args.clone(), Some(token))
        .await
        .unwrap();
    assert_eq!(r.is_error, Some(false));
    assert_eq!(r.content[0].as_text().unwrap().text, "carol: yo");
    let refused = "Insufficient permissions: `echo:use` scope required.";
    for token in [
        None,
        Some(AccessToken::new("t", "dan").with_scopes(["other"])),
    ] {
        let r = server.call_tool("echo", args.clone(), token).await.unwrap();
        assert_eq!(r.is_error, Some(true));
        assert_eq!(r.structured_content, Some(json!({ "error": refused })));
    }
}

/// POSTs `message` as `echoer`, with `mcp-protocol-version: version` (none
/// when `None`) and the `extra` headers.
async fn call_with_version(
    app: Router,
    version: Option<&str>,
    message: Value,
    extra: &[(&str, &str)],
) -> Response {
    let mut echoer = Mcp::new("/mcp")
        .header("host", "localhost:3002")
        .bearer(Some("echoer"));
    if let Some(version) = version {
        echoer = echoer.header("mcp-protocol-version", version);
    }
    for (name, value) in extra {
        echoer = echoer.header(*name, *value);
    }
    send(app, echoer.http_request(&message)).await
}

#[tokio::test]
async fn every_supported_protocol_revision_works() {
    for version in ["2025-03-26", "2025-06-18", "2025-11-25"] {
        let init = rpc(
            "initialize",
            json!({"protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}),
        );
        let res = call_with_version(app(), None, init, &[]).await;
        assert_eq!(res.status, 200, "{version}");
        assert_eq!(res.json()["result"]["protocolVersion"], version);
        let list = rpc(
            "tools/call",
            json!({"name": "echo", "arguments": {"text": version}}),
        );
        let header = (version != "2025-03-26").then_some(version);
        let res = call_with_version(app(), header, list, &[]).await;
        assert_eq!(res.status, 200, "{version}");
        assert_eq!(
            res.json()["result"]["content"][0]["text"],
            format!("bob: {version}")
        );
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
    let res = call_with_version(app(), Some("2026-07-28"), call_2026("echo"), &headers).await;
    assert_eq!(res.status, 200, "{res:#?}");
    assert_eq!(res.json()["result"]["content"][0]["text"], "bob: new");
}

#[tokio::test]
async fn step_up_trusts_mcp_name_only_where_the_transport_checks_it() {
    let app = builder().step_up(true).build().unwrap().into_router();
    // The header names a tool the token may call, the body another: the
    // transport rejects the mismatch, so the header cannot smuggle a call.
    let lying = [("mcp-method", "tools/call"), ("mcp-name", "echo")];
    let res = call_with_version(app.clone(), Some("2026-07-28"), call_2026("status"), &lying).await;
    assert_eq!(res.status, 400);
    let honest = [("mcp-method", "tools/call"), ("mcp-name", "status")];
    let res = call_with_version(app, Some("2026-07-28"), call_2026("status"), &honest).await;
    assert_eq!(res.status, 403);
}

#[tokio::test]
async fn sse_response_mode_streams_the_reply() {
    let app = builder()
        .json_response(false)
        .build()
        .unwrap()
        .into_router();
    let echo_sse = rpc(
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "sse"}}),
    );
    let res = call(app, echo_sse, Some("echoer")).await;
    assert_eq!(res.status, 200);
    assert!(res.header("content-type").starts_with("text/event-stream"));
    assert!(res.text.contains("data:"), "{}", res.text);
    assert_eq!(res.message()["result"]["content"][0]["text"], "bob: sse");
}

#[tokio::test]
async fn json_response_mode_is_the_default() {
    let res = call(app(), rpc("tools/list", json!({})), Some("echoer")).await;
    assert_eq!(res.header("content-type"), "application/json");
}

/// POSTs `body` as it is, as a token allowed to call `echo`.
async fn post_raw(app: Router, body: &str) -> Response {
    let mut request = client(Some("echoer")).http_request(&json!({}));
    *request.body_mut() = body.to_owned();
    send(app, request).await
}

#[tokio::test]
async fn wrong_params_are_invalid_params_naming_the_mistake() {
    let cases = [
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":[1]}}"#,
            200,
            "Invalid params for `tools/call`: invalid type: sequence, expected a map",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":"x"}}"#,
            200,
            "Invalid params for `tools/call`: invalid type: string \"x\", expected a map",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":5}}"#,
            200,
            "Invalid params for `tools/call`: invalid type: integer `5`, expected a string",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
            200,
            "Invalid params for `tools/call`: `params` is required",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":5}"#,
            400,
            "Invalid params for `resources/read`: `params` must be an object",
        ),
    ];
    for json_mode in [true, false] {
        let app = builder()
            .json_response(json_mode)
            .build()
            .unwrap()
            .into_router();
        for (body, status, message) in cases {
            let res = post_raw(app.clone(), body).await;
            assert_eq!(res.status, status, "{body}: {res:?}");
            let reply = res.messages().into_iter().next().expect("a reply");
            assert_eq!(reply["id"], 1, "{body}");
            assert_eq!(reply["error"]["code"], -32602, "{body}: {reply}");
            assert_eq!(reply["error"]["message"], message, "{body}");
        }
    }
    // An unknown method is still "method not found".
    let res = post_raw(app(), r#"{"jsonrpc":"2.0","id":1,"method":"nope/nope"}"#).await;
    assert_eq!(res.json()["error"]["code"], -32601);
}

#[tokio::test]
async fn malformed_messages_are_invalid_requests_naming_the_mistake() {
    for (body, code, message) in [
        (
            r#"{"jsonrpc":"2.0","id":{"a":1},"method":"tools/list"}"#,
            -32600,
            "Invalid request: `id` must be a string or a number",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
            -32600,
            "Invalid request: `method` must be a string",
        ),
        (
            r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
            -32600,
            "Invalid request: `jsonrpc` must be \"2.0\"",
        ),
        (
            "7",
            -32600,
            "Invalid request: expected a JSON-RPC request object",
        ),
        (
            r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#,
            -32600,
            "Invalid request: `id` is given twice",
        ),
    ] {
        let res = post_raw(app(), body).await;
        assert_eq!(res.status, 400, "{body}: {res:?}");
        let v = res.json();
        assert_eq!(
            (v["error"]["code"].as_i64(), v["error"]["message"].as_str()),
            (Some(code), Some(message)),
            "{body}"
        );
        assert_eq!(v["id"], Value::Null);
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let res = post_raw(app(), &deep).await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["error"]["code"], -32700);
}
