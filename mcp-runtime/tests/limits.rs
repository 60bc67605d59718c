//! Serving limits over real sockets: slow and idle connections are closed,
//! connections and requests beyond the caps get 503 with `Retry-After`, and
//! a tool that runs too long is stopped with a tool error naming the limit.
//! Every wait is bounded.

use std::time::Duration;

use mcp_runtime::{McpServer, tool};
use mcp_test_client::{Connection, Mcp};
use serde_json::json;
use tokio::net::TcpListener;

/// Sleeps for `ms` milliseconds.
#[tool(public)]
async fn nap(ms: u64) -> String {
    tokio::time::sleep(Duration::from_millis(ms)).await;
    "rested".into()
}

/// Serves `server` on a loopback port until the returned sender is dropped.
async fn serve(server: McpServer) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server.serve_on(listener, async {
        let _ = stopped.await;
    }));
    (addr, stop)
}

/// Whether the server closes `c` within a few seconds (whatever it writes first).
async fn closes(c: &mut Connection) -> bool {
    for _ in 0..10 {
        if c.is_closed(Duration::from_millis(500)).await {
            return true;
        }
    }
    false
}

fn builder() -> mcp_runtime::McpServerBuilder {
    McpServer::builder().tool::<nap>()
}

#[tokio::test]
async fn connections_that_never_finish_their_headers_are_closed() {
    let server = builder()
        .header_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let (addr, _stop) = serve(server).await;
    let mut slow = Vec::new();
    for _ in 0..40 {
        let mut c = Connection::open(addr).await;
        c.send("POST /mcp HTTP/1.1\r\nHost: local").await;
        slow.push(c);
    }
    for c in &mut slow {
        assert!(
            closes(c).await,
            "a half-sent request line keeps its connection open"
        );
    }
    // An idle keep-alive connection is closed too, after a complete exchange.
    let mut idle = Connection::open(addr).await;
    let ok = idle
        .request("GET", "/health", &[("host", "localhost")], None)
        .await;
    assert_eq!(ok.status, 200);
    assert!(closes(&mut idle).await, "an idle connection stays open");
}

#[tokio::test]
async fn a_connection_beyond_the_cap_gets_503() {
    let server = builder().max_connections(2).build().unwrap();
    let (addr, _stop) = serve(server).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = Connection::open(addr).await;
        let r = c
            .request("GET", "/health", &[("host", "localhost")], None)
            .await;
        assert_eq!(r.status, 200);
        held.push(c);
    }
    let mut third = Connection::open(addr).await;
    let refused = third.response().await;
    assert_eq!(refused.status, 503, "{refused:?}");
    assert_eq!(refused.header("retry-after"), "1");
    assert_eq!(refused.json()["error"], "temporarily_unavailable");
    drop(held);
    // Places free up as connections close.
    let mut again = None;
    for _ in 0..50 {
        let mut c = Connection::open(addr).await;
        let r = c
            .request("GET", "/health", &[("host", "localhost")], None)
            .await;
        if r.status == 200 {
            again = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(again.is_some(), "closed connections give their places back");
}

#[tokio::test]
async fn requests_beyond_the_in_flight_cap_get_503() {
    let server = builder().max_in_flight(1).build().unwrap();
    let (addr, _stop) = serve(server).await;
    let url = format!("http://{addr}/mcp");
    let slow = {
        let url = url.clone();
        tokio::spawn(async move { Mcp::new(url).call_tool("nap", json!({"ms": 1500})).await })
    };
    let mut refused = None;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let r = Mcp::new(url.clone())
            .call_tool("nap", json!({"ms": 0}))
            .await;
        if r.status == 503 {
            refused = Some(r);
            break;
        }
    }
    let refused = refused.expect("a second request while the first runs is refused");
    assert_eq!(refused.header("retry-after"), "1");
    let first = slow.await.unwrap();
    assert_eq!(first.status, 200);
    assert_eq!(first.json()["result"]["content"][0]["text"], "rested");
}

#[tokio::test]
async fn a_tool_that_runs_too_long_is_stopped_with_a_tool_error() {
    let server = builder()
        .tool_timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let (addr, _stop) = serve(server).await;
    let r = Mcp::new(format!("http://{addr}/mcp"))
        .call_tool("nap", json!({"ms": 5000}))
        .await;
    assert_eq!(r.status, 200);
    let result = &r.json()["result"];
    assert_eq!(result["isError"], true, "{result}");
    let text = result["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("`nap` did not finish within"), "{text}");
}

#[tokio::test]
async fn a_body_that_stalls_is_answered_408_and_the_server_goes_on() {
    let server = builder()
        .body_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let (addr, _stop) = serve(server).await;
    let mut c = Connection::open(addr).await;
    c.send(
        "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nContent-Length: 100\r\n\r\n{\"jsonrpc\"",
    )
    .await;
    let r = c.response().await;
    assert_eq!(r.status, 408, "{r:?}");
    assert_eq!(r.header("connection"), "close");
    assert_eq!(r.json()["error"]["code"], -32600);
    let ok = Mcp::new(format!("http://{addr}/mcp"))
        .call_tool("nap", json!({"ms": 0}))
        .await;
    assert_eq!(ok.status, 200);
}

/// Serves `server` until the returned sender fires; the handle ends when
/// `serve_on` returns.
async fn serve_until(
    server: McpServer,
) -> (
    std::net::SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), mcp_runtime::Error>>,
) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve_on(listener, async {
        let _ = stopped.await;
    }));
    (addr, stop, serving)
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_call_finish_then_returns() {
    for json_mode in [true, false] {
        let server = builder().json_response(json_mode).build().unwrap();
        let (addr, stop, serving) = serve_until(server).await;
        let url = format!("http://{addr}/mcp");
        let call =
            tokio::spawn(async move { Mcp::new(url).call_tool("nap", json!({"ms": 600})).await });
        tokio::time::sleep(Duration::from_millis(150)).await;
        stop.send(()).unwrap();
        let answer = call.await.unwrap();
        assert_eq!(answer.status, 200, "json mode {json_mode}");
        assert_eq!(answer.json()["result"]["content"][0]["text"], "rested");
        let ended = tokio::time::timeout(Duration::from_secs(5), serving).await;
        assert!(
            matches!(ended, Ok(Ok(Ok(())))),
            "serve_on returns once the call is done"
        );
        assert!(
            tokio::net::TcpStream::connect(addr).await.is_err(),
            "no longer listening"
        );
    }
}

#[tokio::test]
async fn shutdown_gives_up_on_a_call_that_outlasts_the_grace() {
    let server = builder()
        .tool_timeout(None)
        .shutdown_grace(Duration::from_millis(300))
        .build()
        .unwrap();
    let (addr, stop, serving) = serve_until(server).await;
    let url = format!("http://{addr}/mcp");
    let _call =
        tokio::spawn(async move { Mcp::new(url).call_tool("nap", json!({"ms": 30_000})).await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let asked = std::time::Instant::now();
    stop.send(()).unwrap();
    let ended = tokio::time::timeout(Duration::from_secs(5), serving).await;
    assert!(
        matches!(ended, Ok(Ok(Ok(())))),
        "serve_on returns after the grace"
    );
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "the grace bounds the wait"
    );
}
