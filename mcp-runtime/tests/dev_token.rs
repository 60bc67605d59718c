//! `McpServer::dev_token`: a token the server itself accepts, and a clear
//! error when the server does not use the development issuer.

use std::time::Duration;

use axum::body::Body;
use http_body_util::BodyExt;
use mcp_runtime::{AccessToken, McpServer, auth::DevProvider, auth::StaticTokenVerifier, tool};
use mcp_test_client::{Mcp, rpc};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Says who calls.
#[tool(scope = "hello")]
fn hello(token: AccessToken) -> String {
    format!("hello {}", token.subject())
}

#[tokio::test]
async fn a_dev_token_is_accepted_by_the_server_that_minted_it() {
    let dir = std::env::temp_dir().join(format!("mcp-dev-token-{}", std::process::id()));
    let server = McpServer::builder()
        .tool::<hello>()
        .auth(DevProvider::new().key_file(dir.join("key.pem")))
        .build()
        .unwrap();
    let token = server
        .dev_token("alice", ["hello"], Duration::from_secs(60))
        .unwrap();
    let app = server.into_router();
    let call = Mcp::new("/mcp")
        .header("host", "localhost")
        .bearer(Some(&token))
        .http_request(&rpc(
            "tools/call",
            json!({"name": "hello", "arguments": {}}),
        ));
    let res = app.oneshot(call.map(Body::from)).await.unwrap();
    assert_eq!(res.status(), 200);
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["result"]["content"][0]["text"], "hello alice");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn without_the_development_issuer_there_is_no_dev_token() {
    let server = McpServer::builder()
        .tool::<hello>()
        .auth(StaticTokenVerifier::new())
        .build()
        .unwrap();
    let e = server
        .dev_token("alice", ["hello"], Duration::from_secs(60))
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("does not use the development issuer"),
        "{e}"
    );
}

#[tokio::test]
async fn the_development_issuer_refuses_a_listener_beyond_loopback() {
    let dir = std::env::temp_dir().join(format!("dev-bound-{}", std::process::id()));
    let server = |allow_remote: bool| {
        McpServer::builder()
            .tool::<hello>()
            .auth(
                DevProvider::new()
                    .key_file(dir.join("key.pem"))
                    .allow_remote(allow_remote),
            )
            .build()
            .unwrap()
    };
    // The builder's host is loopback, but the listener handed over is not.
    let everywhere = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let err = server(false)
        .serve_on(everywhere, async {})
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("HOST: the development issuer only serves on loopback, and this listener is bound to 0.0.0.0:"),
        "{message}"
    );
    // Opted in by name, it serves (and stops at once here).
    let everywhere = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    server(true).serve_on(everywhere, async {}).await.unwrap();
    let loopback = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    server(false).serve_on(loopback, async {}).await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
