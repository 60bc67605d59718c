//! What the server logs about a call: the tool, the subject and the scope
//! decision, never the token. One test in its own binary, so the global
//! subscriber sees every event.

use axum::body::Body;
use http_body_util::BodyExt;
use mcp_runtime::{AccessToken, McpServer, auth::StaticTokenVerifier, tool};
use mcp_test_client::{Mcp, rpc};
use serde_json::json;
use tower::ServiceExt;

/// Echoes text.
#[tool(scope = "echo:use")]
fn echo(text: String) -> String {
    text
}

#[path = "support/captured.rs"]
mod captured;
use captured::Captured;

#[tokio::test]
async fn logs_name_the_tool_and_subject_but_never_the_token() {
    let captured = Captured::default();
    let sink = captured.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .init();

    let verifier = StaticTokenVerifier::new()
        .with_token(
            "tok-bob-7f3a",
            AccessToken::new("tok-bob-7f3a", "bob").with_scopes(["echo:use"]),
        )
        .with_token(
            "tok-amy-91c2",
            AccessToken::new("tok-amy-91c2", "amy").with_scopes(["other"]),
        );
    let app = McpServer::builder()
        .tool::<echo>()
        .auth(verifier)
        .build()
        .unwrap()
        .into_router();
    for token in ["tok-bob-7f3a", "tok-amy-91c2", "tok-forged-55d1"] {
        let client = Mcp::new("/mcp")
            .header("host", "localhost")
            .bearer(Some(token));
        let call = rpc(
            "tools/call",
            json!({"name": "echo", "arguments": {"text": "hi"}}),
        );
        let req = client.http_request(&call).map(Body::from);
        let res = app.clone().oneshot(req).await.unwrap();
        res.into_body().collect().await.unwrap();
    }

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    for expected in [
        "tool_call",
        "tool=\"echo\"",
        "subject=\"bob\"",
        "subject=\"amy\"",
        "scope_decision=\"allowed\"",
        "scope_decision=\"refused\"",
        "bearer token refused",
    ] {
        assert!(logs.contains(expected), "no {expected:?} in:\n{logs}");
    }
    for secret in ["tok-bob-7f3a", "tok-amy-91c2", "tok-forged-55d1"] {
        assert!(
            !logs.contains(secret),
            "the token {secret} was logged:\n{logs}"
        );
    }
}
