//! Audit events: one per authorisation decision, on `mcp_runtime::audit`,
//! with the documented fields and never any part of the token. One test in
//! its own binary, so the global subscriber sees every event.

use axum::{Router, body::Body};
use http_body_util::BodyExt;
use mcp_runtime::{AccessToken, McpServer, auth::StaticTokenVerifier, tool};
use mcp_test_client::{Mcp, rpc};
use serde_json::{Value, json};
use tower::ServiceExt;
use tracing_subscriber::{Layer, filter::Targets, layer::SubscriberExt, util::SubscriberInitExt};

/// Writes a todo.
#[tool(scope = "todo:write")]
fn write_todo(title: String) -> String {
    title
}

/// Reads todos.
#[tool(scope = "todo:read", read_only)]
fn read_todos() -> String {
    "none".into()
}

#[path = "support/captured.rs"]
mod captured;
use captured::Captured;

impl Captured {
    /// The audit events so far, as JSON, and forget them.
    fn take(&self) -> Vec<Value> {
        let bytes = std::mem::take(&mut *self.0.lock().unwrap());
        let text = String::from_utf8(bytes).unwrap();
        for secret in [
            "tok-writer-5e1",
            "tok-reader-9a7",
            "tok-forged-c44",
            "tok-w",
            "tok-r",
            "tok-f",
        ] {
            assert!(!text.contains(secret), "{secret} in the audit log:\n{text}");
        }
        text.lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap()["fields"].clone())
            .collect()
    }
}

fn verifier() -> StaticTokenVerifier {
    let token = |raw: &str, sub: &str, scopes: &[&str]| {
        AccessToken::new(raw, sub)
            .with_client_id("client-7")
            .with_issuer("https://as.example.com")
            .with_scopes(scopes.iter().copied())
    };
    StaticTokenVerifier::new()
        .with_token(
            "tok-writer-5e1",
            token("tok-writer-5e1", "wendy", &["todo:read", "todo:write"]),
        )
        .with_token(
            "tok-reader-9a7",
            token("tok-reader-9a7", "rita", &["todo:read"]),
        )
}

async fn call(app: &Router, token: Option<&str>, headers: &[(&str, &str)], tool: &str) {
    let mut client = Mcp::new("/mcp").header("host", "localhost").bearer(token);
    for (k, v) in headers {
        client = client.header(*k, *v);
    }
    let message = rpc(
        "tools/call",
        json!({"name": tool, "arguments": {"title": "t"}}),
    );
    let res = app
        .clone()
        .oneshot(client.http_request(&message).map(Body::from))
        .await
        .unwrap();
    res.into_body().collect().await.unwrap();
}

fn one(events: &[Value]) -> &Value {
    assert_eq!(events.len(), 1, "{events:#?}");
    &events[0]
}

#[tokio::test]
async fn every_decision_is_one_event_with_its_fields_and_no_token() {
    let captured = Captured::default();
    let sink = captured.clone();
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(move || sink.clone())
                .with_filter(
                    Targets::new().with_target(mcp_runtime::audit::TARGET, tracing::Level::INFO),
                ),
        )
        .init();
    let build = |step_up| {
        McpServer::builder()
            .tool::<write_todo>()
            .tool::<read_todos>()
            .auth(verifier())
            .step_up(step_up)
            .build()
            .unwrap()
            .into_router()
    };
    let app = build(false);

    call(&app, None, &[], "write_todo").await;
    let e = one(&captured.take()).clone();
    assert_eq!(
        (e["decision"].as_str(), e["reason"].as_str()),
        (Some("refused"), Some("no_token"))
    );
    assert_eq!(
        (e["kind"].as_str(), e["name"].as_str()),
        (Some("request"), Some("/mcp"))
    );
    assert_eq!(e["request_id"].as_str().map(str::len), Some(16));

    call(&app, Some("tok-forged-c44"), &[], "write_todo").await;
    let e = one(&captured.take()).clone();
    assert_eq!(e["reason"], "invalid_token");
    assert_eq!(e["detail"], "unknown token");

    call(
        &app,
        Some("tok-writer-5e1"),
        &[("origin", "https://evil.example")],
        "write_todo",
    )
    .await;
    assert_eq!(one(&captured.take())["reason"], "origin_not_allowed");

    call(
        &app,
        Some("tok-writer-5e1"),
        &[("authorization", "Bearer tok-writer-5e1")],
        "write_todo",
    )
    .await;
    assert_eq!(one(&captured.take())["reason"], "header_repeated");

    call(&app, Some("tok-writer-5e1"), &[], "write_todo").await;
    let e = one(&captured.take()).clone();
    assert_eq!(
        (e["decision"].as_str(), e["reason"].as_str()),
        (Some("allowed"), Some("scope_granted"))
    );
    assert_eq!(
        (e["kind"].as_str(), e["name"].as_str()),
        (Some("tool"), Some("write_todo"))
    );
    assert_eq!(e["subject"], "wendy");
    assert_eq!(e["client_id"], "client-7");
    assert_eq!(e["issuer"], "https://as.example.com");
    assert_eq!(e["request_id"].as_str().map(str::len), Some(16));

    call(&app, Some("tok-writer-5e1"), &[], "read_todos").await;
    assert!(
        captured.take().is_empty(),
        "an allowed read-only call is not audited"
    );

    call(&app, Some("tok-reader-9a7"), &[], "write_todo").await;
    let e = one(&captured.take()).clone();
    assert_eq!(
        (e["decision"].as_str(), e["reason"].as_str()),
        (Some("refused"), Some("insufficient_scope"))
    );
    assert_eq!(e["missing_scopes"], "todo:write");
    assert_eq!(e["subject"], "rita");

    // In step-up mode the refusal is decided at the gate: still one event.
    call(&build(true), Some("tok-reader-9a7"), &[], "write_todo").await;
    let e = one(&captured.take()).clone();
    assert_eq!(
        (e["reason"].as_str(), e["name"].as_str()),
        (Some("insufficient_scope"), Some("write_todo"))
    );
    assert_eq!(e["missing_scopes"], "todo:write");
}
