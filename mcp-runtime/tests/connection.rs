//! Over a real socket: a request refused before its body arrives leaves the
//! connection usable for the client's next request (HTTP keep-alive), as
//! clients that send headers and body separately rely on after a 401.

use std::time::Duration;

use mcp_runtime::{AccessToken, McpServer, auth::StaticTokenVerifier, tool};
use mcp_test_client::Connection;
use tokio::net::TcpListener;

/// Pong.
#[tool(scope = "ping")]
fn ping() -> String {
    "pong".into()
}

#[tokio::test]
async fn a_401_sent_before_the_body_keeps_the_connection_usable() {
    let verifier = StaticTokenVerifier::new()
        .with_token("t", AccessToken::new("t", "me").with_scopes(["ping"]));
    let server = McpServer::builder()
        .tool::<ping>()
        .auth(verifier)
        .build()
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve_on(listener, async {
        let _ = stopped.await;
    }));

    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#;
    let mut conn = Connection::open(addr).await;
    conn.send(format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: {}\r\n\r\n",
        body.len()
    ))
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    conn.send(body).await;
    let first = conn.response().await;
    assert_eq!(first.status, 401, "{first:?}");
    assert!(
        first.headers.get("connection").is_none_or(|v| v != "close"),
        "{first:?}"
    );

    let second = conn
        .request(
            "GET",
            "/.well-known/oauth-protected-resource/mcp",
            &[("host", "localhost")],
            None,
        )
        .await;
    assert_eq!(second.status, 200, "{second:?}");
    assert!(!conn.is_closed(Duration::from_millis(50)).await);

    let _ = stop.send(());
    serving.await.unwrap().unwrap();
}
