//! The client against canned HTTP/1.1 responses from a local socket.

use std::{net::SocketAddr, time::Duration};

use mcp_test_client::{Challenge, Connection, Mcp, get, request};
use serde_json::json;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    task::JoinHandle,
};

/// Accepts one connection; for each canned response, reads one request
/// (head and `content-length` body) and writes the response; then closes.
/// Yields the requests received.
async fn serve(responses: &[&str]) -> (SocketAddr, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let responses: Vec<String> = responses.iter().map(|r| r.to_string()).collect();
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        let (mut requests, mut buf) = (Vec::new(), Vec::new());
        for response in responses {
            let len = loop {
                let text = String::from_utf8_lossy(&buf).into_owned();
                if let Some(end) = text.find("\r\n\r\n") {
                    let body = text[..end]
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length: "))
                        .map_or(0, |n| n.parse::<usize>().unwrap());
                    if buf.len() >= end + 4 + body {
                        break end + 4 + body;
                    }
                }
                let mut chunk = [0; 4096];
                let n = stream.read(&mut chunk).await.unwrap();
                assert!(n > 0, "the client closed early");
                buf.extend_from_slice(&chunk[..n]);
            };
            requests.push(String::from_utf8(buf.drain(..len).collect()).unwrap());
            stream.write_all(response.as_bytes()).await.unwrap();
        }
        requests
    });
    (addr, task)
}

#[tokio::test]
async fn a_chunked_event_stream_gives_the_reply_and_the_notifications() {
    let events = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{}}\n\n\
                  data:\n\n\
                  data: {\"jsonrpc\":\"2.0\",\"id\":1,\n\
                  data:  \"result\":{\"ok\":true}}\n\n";
    let (first, second) = events.split_at(40);
    let response = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n\
         {:x}\r\n{first}\r\n{:x};ext=1\r\n{second}\r\n0\r\nx-trailer: 1\r\n\r\n",
        first.len(),
        second.len()
    );
    let (addr, server) = serve(&[&response]).await;
    let mcp = Mcp::new(format!("http://{addr}/mcp?x=1"))
        .bearer(Some("tok"))
        .header("mcp-protocol-version", "2025-06-18");
    let res = mcp.call_tool("echo", json!({"text": "hi"})).await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.message(),
        json!({"jsonrpc": "2.0", "id": 1, "result": {"ok": true}})
    );
    assert_eq!(res.json(), res.message());
    assert_eq!(res.messages().len(), 2);
    assert_eq!(res.notifications()[0]["method"], "notifications/message");

    let sent = &server.await.unwrap()[0];
    let (head, body) = sent.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("POST /mcp?x=1 HTTP/1.1\r\n"), "{head}");
    for line in [
        "connection: close",
        &format!("host: {addr}"),
        "authorization: Bearer tok",
        "mcp-protocol-version: 2025-06-18",
        "accept: application/json, text/event-stream",
    ] {
        assert!(head.lines().any(|l| l == line), "{line} in {head}");
    }
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(body).unwrap(),
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
               "params": {"name": "echo", "arguments": {"text": "hi"}}})
    );
}

#[tokio::test]
async fn a_json_error_and_its_challenge() {
    let body = r#"{"error":"invalid_token"}"#;
    let response = format!(
        "HTTP/1.1 401 Unauthorized\r\ncontent-type: application/json\r\n\
         WWW-Authenticate: Bearer error=\"invalid_token\", error_description=\"say \\\"hi\\\", then go\", \
         resource_metadata=\"http://x/.well-known/oauth-protected-resource/mcp\", Max-Age=5\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    );
    let (addr, _server) = serve(&[&response]).await;
    let res = Mcp::new(format!("http://{addr}/mcp")).list_tools().await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["error"], "invalid_token");
    assert!(res.has_header("www-authenticate") && !res.has_header("retry-after"));
    assert!(res.everything().contains("resource_metadata="));
    let challenge = res.challenge();
    assert_eq!(challenge.scheme, "Bearer");
    assert_eq!(challenge.param("error"), Some("invalid_token"));
    assert_eq!(
        challenge.param("error_description"),
        Some(r#"say "hi", then go"#)
    );
    assert_eq!(challenge.param("max-age"), Some("5"));
    assert_eq!(challenge.params.len(), 4);
    assert_eq!(Challenge::parse("Bearer").params.len(), 0);
}

#[tokio::test]
async fn a_body_without_length_ends_with_the_connection() {
    let (addr, server) = serve(&["HTTP/1.1 200 OK\r\n\r\nall of it"]).await;
    let url = format!("http://{addr}/health");
    let res = get(&url, &[("Host", "localhost:1")]).await;
    assert_eq!((res.status, res.text.as_str()), (200, "all of it"));
    let sent = &server.await.unwrap()[0];
    assert!(sent.contains("\r\nHost: localhost:1\r\n"), "{sent}");
    assert!(!sent.contains("host: 127"), "one Host header: {sent}");

    let (addr, _server) = serve(&["HTTP/1.1 204 No Content\r\n\r\n"]).await;
    let url = format!("http://{addr}/");
    assert_eq!(request("DELETE", &url, &[], Some("x")).await.text, "");
}

#[tokio::test]
async fn a_connection_is_reused_until_the_server_closes_it() {
    let (addr, server) = serve(&[
        "HTTP/1.1 401 Unauthorized\r\ncontent-length: 2\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello",
    ])
    .await;
    let mut conn = Connection::open(addr).await;
    conn.send("POST /mcp HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\n\r\n")
        .await;
    conn.send("{}").await;
    let first = conn.response().await;
    assert_eq!(first.status, 401);
    assert!(!conn.is_closed(Duration::from_millis(50)).await);
    let second = conn.request("GET", "/health", &[], None).await;
    assert_eq!((second.status, second.text.as_str()), (200, "hello"));
    assert_eq!(server.await.unwrap().len(), 2);
    assert!(conn.is_closed(Duration::from_secs(5)).await);
}
