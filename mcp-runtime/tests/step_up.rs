//! Step-up mode's edge paths through the HTTP app in process (`oneshot`):
//! the challenge of an any-of rule, and the `Mcp-Method` / `Mcp-Name`
//! headers of the revision that has them (SEP-2243), when they are
//! Base64-wrapped or disagree with the body. Whatever the headers say, a
//! call the token may not make is refused, and the tool never runs.

use std::sync::Mutex;

use axum::{Router, body::Body};
use http::Request;
use http_body_util::BodyExt;
use mcp_runtime::{
    AccessToken, McpServer, ScopeHierarchy, auth::StaticTokenVerifier,
    rmcp::model::ProtocolVersion, tool,
};
use mcp_test_client::{Mcp, PROTOCOL_VERSION, Response};
use serde_json::{Value, json};
use tower::ServiceExt;

/// The tags of every `wipe` call that ran.
static WIPED: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Deletes everything (records that it ran, under `tag`).
#[tool(scope = "admin:write")]
fn wipe(tag: String) -> String {
    WIPED.lock().unwrap().push(tag.clone());
    format!("wiped {tag}")
}

fn wiped(tag: &str) -> bool {
    WIPED.lock().unwrap().iter().any(|t| t == tag)
}

/// Lists things.
#[tool(scope = "admin:read")]
fn list() -> String {
    "listed".to_owned()
}

/// One employee's or one invoice's file: either department may read it.
#[tool(any_scope = ["hr:read", "finance:read"])]
fn file(id: u32) -> String {
    format!("file {id}")
}

/// Rotates the keys: both admin scopes are needed.
#[tool(scopes = ["admin:read", "admin:write"])]
fn rotate() -> String {
    "rotated".to_owned()
}

const METADATA: &str = "http://127.0.0.1:3002/.well-known/oauth-protected-resource/mcp";

fn app() -> Router {
    let token = |name: &str, scopes: &[&str]| {
        AccessToken::new(name, name).with_scopes(scopes.iter().map(|s| (*s).to_owned()))
    };
    let verifier = StaticTokenVerifier::new()
        .with_token("nobody", token("nobody", &[]))
        .with_token("other", token("other", &["todo:read", "hr:write"]))
        .with_token("hr", token("hr", &["hr:read"]))
        .with_token("finance", token("finance", &["finance:read"]))
        .with_token("hr-admin", token("hr-admin", &["hr:admin"]))
        .with_token("reader", token("reader", &["admin:read"]))
        .with_token("admin", token("admin", &["admin:write", "admin:read"]));
    McpServer::builder()
        .tool::<wipe>()
        .tool::<list>()
        .tool::<file>()
        .tool::<rotate>()
        .auth(verifier)
        .scope_hierarchy(ScopeHierarchy::new().with_implication("hr:admin", ["hr:read"]))
        .step_up(true)
        .build()
        .unwrap()
        .into_router()
}

async fn send(req: Request<String>) -> Response {
    let (parts, body) = app()
        .oneshot(req.map(Body::from))
        .await
        .unwrap()
        .into_parts();
    let text = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
    Response {
        status: parts.status.as_u16(),
        headers: parts.headers,
        text,
        request_id: None,
    }
}

/// POSTs `message` as `token` with `mcp-protocol-version: version` and the
/// `extra` headers.
async fn post(token: &str, version: &str, extra: &[(&str, &str)], message: &Value) -> Response {
    let mut client = Mcp::new("/mcp")
        .header("host", "localhost:3002")
        .header("mcp-protocol-version", version)
        .bearer(Some(token));
    for (name, value) in extra {
        client = client.header(*name, *value);
    }
    send(client.http_request(message)).await
}

/// A `tools/call` of `name`, as the revision before standard headers sends it.
fn call(name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
           "params": {"name": name, "arguments": arguments}})
}

/// The standard-headers revision (2026-07-28 in rmcp 3.11).
fn v2026() -> &'static str {
    ProtocolVersion::STANDARD_HEADERS.as_str()
}

/// A `tools/call` of `name` in the standard-headers revision (no
/// `initialize`: the client's details travel in `_meta`).
fn call_2026(name: &str, arguments: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
        "name": name, "arguments": arguments,
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": v2026(),
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "t", "version": "1"}
        }
    }})
}

/// `=?base64?…?=`, as a client wraps an `Mcp-Name` value.
fn base64(value: &str) -> String {
    use base64::Engine as _;
    format!(
        "=?base64?{}?=",
        base64::engine::general_purpose::STANDARD.encode(value)
    )
}

/// Asserts the step-up 403: `WWW-Authenticate` asking for `scope`, with
/// `description`, and the same error as JSON.
fn assert_step_up(res: &Response, scope: &str, description: &str, case: &str) {
    assert_eq!(res.status, 403, "{case}: {res:#?}");
    assert_eq!(
        res.header("www-authenticate"),
        format!(
            "Bearer error=\"insufficient_scope\", scope=\"{scope}\", \
             resource_metadata=\"{METADATA}\", error_description=\"{description}\""
        ),
        "{case}"
    );
    assert_eq!(
        res.json(),
        json!({"error": "insufficient_scope", "error_description": description}),
        "{case}"
    );
}

/// Asserts the transport's refusal of headers that disagree with the body:
/// 400 with JSON-RPC error -32020 and `message`.
fn assert_mismatch(res: &Response, message: &str, case: &str) {
    assert_eq!(res.status, 400, "{case}: {res:#?}");
    let reply = res.json();
    assert_eq!(reply["error"]["code"], -32020, "{case}: {reply}");
    assert_eq!(reply["error"]["message"], message, "{case}: {reply}");
}

const WIPE_REFUSED: &str = "Insufficient permissions: `admin:write` scope required.";

#[tokio::test]
async fn the_challenge_names_held_scopes_only_for_clients_before_2026_07_28() {
    let needs = |scope: &str| format!("Insufficient permissions: `{scope}` scope required.");
    // (token, tool, the scope it lacks first, what a client before
    // 2026-07-28 is told to ask for, what a 2026-07-28 client is told: the
    // operation's scopes alone).
    let cases = [
        (
            "reader",
            "wipe",
            "admin:write",
            "admin:read admin:write",
            "admin:write",
        ),
        (
            "other",
            "wipe",
            "admin:write",
            "todo:read hr:write admin:write",
            "admin:write",
        ),
        (
            "nobody",
            "wipe",
            "admin:write",
            "admin:write",
            "admin:write",
        ),
        // An all-of rule: every scope it names, the held one too.
        (
            "reader",
            "rotate",
            "admin:write",
            "admin:read admin:write",
            "admin:read admin:write",
        ),
        (
            "other",
            "rotate",
            "admin:read",
            "todo:read hr:write admin:read admin:write",
            "admin:read admin:write",
        ),
    ];
    for (token, tool, lacked, before, from_2026) in cases {
        let refused = needs(lacked);
        let refused = refused.as_str();
        let args = if tool == "wipe" {
            json!({"tag": format!("revisions {token}")})
        } else {
            json!({})
        };
        // No header is 2025-03-26.
        let bare = Mcp::new("/mcp")
            .header("host", "localhost:3002")
            .bearer(Some(token));
        let res = send(bare.http_request(&call(tool, args.clone()))).await;
        assert_step_up(
            &res,
            before,
            refused,
            &format!("{token} {tool} without a version"),
        );
        for version in ["2025-03-26", PROTOCOL_VERSION, "2025-11-25"] {
            let res = post(token, version, &[], &call(tool, args.clone())).await;
            assert_step_up(
                &res,
                before,
                refused,
                &format!("{token} {tool} on {version}"),
            );
        }
        // 2026-07-28, with and without the standard headers (without them
        // step-up reads the body).
        let named = [("mcp-method", "tools/call"), ("mcp-name", tool)];
        for headers in [&named[..], &[]] {
            let res = post(token, v2026(), headers, &call_2026(tool, args.clone())).await;
            let case = format!("{token} {tool} on {} with {headers:?}", v2026());
            assert_step_up(&res, from_2026, refused, &case);
        }
    }
    assert!(!wiped("revisions reader") && !wiped("revisions other"));
}

#[tokio::test]
async fn an_any_of_rule_challenges_for_the_held_scopes_and_its_first_option() {
    let refused = "Insufficient permissions: `hr:read` or `finance:read` scope required.";
    for (token, scope) in [
        // Nothing held: the first option alone.
        ("nobody", "hr:read"),
        // Held scopes first, as held, then the first option (not both: one
        // is enough).
        ("other", "todo:read hr:write hr:read"),
        // `admin:read` is no option either.
        ("reader", "admin:read hr:read"),
    ] {
        for version in [PROTOCOL_VERSION, "2025-11-25"] {
            let res = post(token, version, &[], &call("file", json!({"id": 1}))).await;
            assert_step_up(&res, scope, refused, &format!("{token} on {version}"));
        }
        // And in the standard-headers revision, from the headers alone: the
        // first option only, whatever is held (SEP-2350).
        let headers = [("mcp-method", "tools/call"), ("mcp-name", "file")];
        let res = post(
            token,
            v2026(),
            &headers,
            &call_2026("file", json!({"id": 1})),
        )
        .await;
        assert_step_up(&res, "hr:read", refused, &format!("{token} on {}", v2026()));
    }
    // Either option lets the call through, the second one too, and one
    // implied by the hierarchy.
    for token in ["hr", "finance", "hr-admin"] {
        let res = post(
            token,
            PROTOCOL_VERSION,
            &[],
            &call("file", json!({"id": 2})),
        )
        .await;
        assert_eq!(res.status, 200, "{token}: {res:#?}");
        assert_eq!(
            res.json()["result"]["content"][0]["text"],
            "file 2",
            "{token}"
        );
    }
}

#[tokio::test]
async fn a_base64_mcp_name_is_not_trusted_the_body_is_read() {
    let call_h = ("mcp-method", "tools/call");
    // Honest, lying (an allowed tool's name) and broken Base64: step-up reads
    // the body, which calls `wipe`, and refuses.
    for (case, name) in [
        ("honest", base64("wipe")),
        ("naming an allowed tool", base64("list")),
        ("not Base64", "=?base64?!!!?=".to_owned()),
        ("of nothing", "=?base64??=".to_owned()),
    ] {
        let tag = format!("base64 {case}");
        let headers = [call_h, ("mcp-name", name.as_str())];
        let res = post(
            "reader",
            v2026(),
            &headers,
            &call_2026("wipe", json!({"tag": tag})),
        )
        .await;
        assert_step_up(&res, "admin:write", WIPE_REFUSED, &tag);
        assert!(!wiped(&tag), "{tag}: the tool ran");
    }

    // With the scope, the transport decodes the honest name and serves it,
    // and rejects the lying one.
    let res = post(
        "admin",
        v2026(),
        &[call_h, ("mcp-name", &base64("wipe"))],
        &call_2026("wipe", json!({"tag": "base64 allowed"})),
    )
    .await;
    assert_eq!(res.status, 200, "{res:#?}");
    assert_eq!(
        res.json()["result"]["content"][0]["text"],
        "wiped base64 allowed"
    );
    assert!(wiped("base64 allowed"));
    let res = post(
        "admin",
        v2026(),
        &[call_h, ("mcp-name", &base64("list"))],
        &call_2026("wipe", json!({"tag": "base64 lying, allowed"})),
    )
    .await;
    assert_mismatch(
        &res,
        "Mcp-Name header `list` does not match body value `wipe`",
        "lying Base64 with the scope",
    );
    assert!(!wiped("base64 lying, allowed"));
}

#[tokio::test]
async fn an_mcp_method_that_disagrees_with_the_body_never_lets_the_call_through() {
    // (case, headers, what is answered: the step-up 403 or the transport's
    // mismatch message). The body always calls `wipe` as `reader`, who may
    // not.
    let cases = [
        // Step-up takes an unguarded method at its word and passes the
        // request on; the transport compares it with the body.
        (
            "tools/list",
            vec![("mcp-method", "tools/list")],
            Some("Mcp-Method header `tools/list` does not match body method `tools/call`"),
        ),
        (
            "ping",
            vec![("mcp-method", "ping")],
            Some("Mcp-Method header `ping` does not match body method `tools/call`"),
        ),
        // Another case is another method.
        (
            "Tools/Call",
            vec![("mcp-method", "Tools/Call"), ("mcp-name", "wipe")],
            Some("Mcp-Method header `Tools/Call` does not match body method `tools/call`"),
        ),
        // A guarded method naming something unknown to the catalog.
        (
            "prompts/get",
            vec![("mcp-method", "prompts/get"), ("mcp-name", "wipe")],
            Some("Mcp-Method header `prompts/get` does not match body method `tools/call`"),
        ),
        // Two values: step-up reads the first, the transport refuses both.
        (
            "tools/list, then tools/call",
            vec![("mcp-method", "tools/list"), ("mcp-method", "tools/call")],
            Some("duplicate Mcp-Method header"),
        ),
        // A method whose target is only in the body: step-up reads it.
        (
            "completion/complete",
            vec![("mcp-method", "completion/complete")],
            None,
        ),
        // No Mcp-Method: step-up reads the body.
        ("absent", vec![("mcp-name", "list")], None),
        // An honest method with the name missing: the body again.
        (
            "tools/call without a name",
            vec![("mcp-method", "tools/call")],
            None,
        ),
    ];
    for (case, headers, mismatch) in cases {
        let tag = format!("method {case}");
        let res = post(
            "reader",
            v2026(),
            &headers,
            &call_2026("wipe", json!({"tag": tag})),
        )
        .await;
        match mismatch {
            Some(message) => assert_mismatch(&res, message, &tag),
            None => assert_step_up(&res, "admin:write", WIPE_REFUSED, &tag),
        }
        assert!(!wiped(&tag), "{tag}: the tool ran");
    }

    // Before the standard-headers revision the headers mean nothing: the
    // body is read, whatever they say.
    for version in [PROTOCOL_VERSION, "2025-11-25"] {
        let tag = format!("method tools/list on {version}");
        let res = post(
            "reader",
            version,
            &[("mcp-method", "tools/list"), ("mcp-name", "list")],
            &call("wipe", json!({"tag": tag})),
        )
        .await;
        assert_step_up(&res, "admin:read admin:write", WIPE_REFUSED, &tag);
        assert!(!wiped(&tag), "{tag}: the tool ran");
    }
}
