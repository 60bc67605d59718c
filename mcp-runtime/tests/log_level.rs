//! Log messages from a tool to its caller: at protocol 2026-07-28 only when
//! the request asks (`io.modelcontextprotocol/logLevel` in `_meta`) and at
//! or above the level asked, on the request's own stream before its
//! result; before 2026-07-28, `info` and above over HTTP and the level of
//! `logging/setLevel` over stdio. The caller's token never appears.

use axum::{Router, body::Body};
use http_body_util::BodyExt;
use mcp_runtime::{
    AccessToken, LogLevel, McpServer, StdioIdentity, ToolContext, auth::StaticTokenVerifier, tool,
};
use mcp_test_client::Mcp;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tower::ServiceExt;

const TOKEN: &str = "alice-secret-token-0123456789";

/// Works, and says so at every level.
#[tool(public)]
async fn chatty(ctx: ToolContext, token: Option<AccessToken>) -> String {
    ctx.debug("looking around").await;
    ctx.info("starting").await;
    ctx.warning("running low").await;
    let raw = token.as_ref().map(|t| t.raw()).unwrap_or("none");
    ctx.log(
        LogLevel::Error,
        json!({"message": format!("failed with {raw}"), "level": ctx.log_level()}),
    )
    .await;
    "done".into()
}

fn server() -> McpServer {
    let verifier = StaticTokenVerifier::new().with_token(TOKEN, AccessToken::new(TOKEN, "alice"));
    McpServer::builder()
        .tool::<chatty>()
        .auth(verifier)
        .build()
        .unwrap()
}

/// Every message of the reply to a `tools/call` of `chatty` at `version`,
/// with `level` in its `_meta` (2026-07-28 only); and the content type.
async fn call(app: &Router, version: &str, level: Option<Value>) -> (Vec<Value>, String) {
    let mut params = json!({"name": "chatty", "arguments": {}});
    let mut mcp = Mcp::new("/mcp")
        .header("host", "localhost:3002")
        .header("mcp-protocol-version", version)
        .bearer(Some(TOKEN));
    if version >= "2026-07-28" {
        let mut meta = json!({
            "io.modelcontextprotocol/protocolVersion": version,
            "io.modelcontextprotocol/clientCapabilities": {},
        });
        if let Some(level) = level {
            meta["io.modelcontextprotocol/logLevel"] = level;
        }
        params["_meta"] = meta;
        mcp = mcp
            .header("mcp-method", "tools/call")
            .header("mcp-name", "chatty");
    }
    let message = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params});
    let res = app
        .clone()
        .oneshot(mcp.http_request(&message).map(Body::from))
        .await
        .unwrap();
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&body).into_owned();
    assert!(
        !text.contains(TOKEN),
        "the token is never sent back: {text}"
    );
    let messages = if content_type.starts_with("text/event-stream") {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .filter(|d| !d.trim().is_empty())
            .map(|d| serde_json::from_str(d.trim()).unwrap())
            .collect()
    } else {
        vec![serde_json::from_str(&text).unwrap()]
    };
    (messages, content_type)
}

/// The levels of the log messages, checking they all come before the
/// result, which is the last message.
fn levels(messages: &[Value]) -> Vec<String> {
    let (result, logs) = messages.split_last().unwrap();
    assert_eq!(result["id"], 7, "{messages:?}");
    assert_eq!(
        result["result"]["content"][0]["text"], "done",
        "{messages:?}"
    );
    logs.iter()
        .map(|m| {
            assert_eq!(m["method"], "notifications/message", "{m}");
            assert_eq!(m["params"]["logger"], "chatty", "{m}");
            m["params"]["level"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_request_that_does_not_ask_gets_no_log_message() {
    let app = server().into_router();
    let (messages, content_type) = call(&app, "2026-07-28", None).await;
    assert!(levels(&messages).is_empty(), "{messages:?}");
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
}

#[tokio::test]
async fn messages_come_at_and_above_the_level_asked_before_the_result() {
    let app = server().into_router();
    let (messages, content_type) = call(&app, "2026-07-28", Some(json!("warning"))).await;
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    assert_eq!(levels(&messages), ["warning", "error"]);
    let error = &messages[1]["params"]["data"];
    assert_eq!(
        error,
        &json!({"message": "failed with [redacted]", "level": "warning"}),
        "the level asked, and the token redacted"
    );

    let (messages, _) = call(&app, "2026-07-28", Some(json!("debug"))).await;
    assert_eq!(levels(&messages), ["debug", "info", "warning", "error"]);
    assert_eq!(messages[0]["params"]["data"], "looking around");

    let (messages, _) = call(&app, "2026-07-28", Some(json!("emergency"))).await;
    assert!(levels(&messages).is_empty(), "{messages:?}");
}

#[tokio::test]
async fn an_unknown_level_is_invalid_params() {
    let app = server().into_router();
    for level in [json!("loud"), json!(3), json!("WARNING")] {
        let (messages, _) = call(&app, "2026-07-28", Some(level.clone())).await;
        assert_eq!(messages.len(), 1, "{messages:?}");
        assert_eq!(
            messages[0]["error"]["code"], -32602,
            "{level}: {messages:?}"
        );
        let text = messages[0]["error"]["message"].as_str().unwrap();
        assert!(text.contains("io.modelcontextprotocol/logLevel"), "{text}");
    }
}

#[tokio::test]
async fn earlier_revisions_over_http_get_nothing_they_cannot_ask_for() {
    // No session keeps a `logging/setLevel` over stateless HTTP.
    let app = server().into_router();
    let (messages, _) = call(&app, "2025-11-25", None).await;
    assert_eq!(levels(&messages), Vec::<&str>::new());
    assert_eq!(messages.len(), 1, "the answer alone: {messages:?}");
}

/// A stdio session: one line of JSON per message.
struct Session {
    to_server: tokio::io::WriteHalf<tokio::io::DuplexStream>,
    from_server: tokio::io::Lines<BufReader<tokio::io::ReadHalf<tokio::io::DuplexStream>>>,
}

impl Session {
    async fn send(&mut self, message: Value) {
        let line = format!("{message}\n");
        self.to_server.write_all(line.as_bytes()).await.unwrap();
    }

    /// The messages up to and including the reply with `id`.
    async fn until_reply(&mut self, id: u64) -> Vec<Value> {
        let mut out = Vec::new();
        loop {
            let line = tokio::time::timeout(
                std::time::Duration::from_secs(30),
                self.from_server.next_line(),
            )
            .await
            .unwrap()
            .unwrap()
            .unwrap();
            let message: Value = serde_json::from_str(&line).unwrap();
            let done = message["id"] == id;
            out.push(message);
            if done {
                return out;
            }
        }
    }
}

fn stdio() -> Session {
    let (client, server_end) = tokio::io::duplex(1 << 16);
    let server = McpServer::builder().tool::<chatty>().build().unwrap();
    tokio::spawn(async move {
        let pipes = tokio::io::split(server_end);
        server
            .serve_io(StdioIdentity::local("alice", ["x"]), pipes)
            .await
            .unwrap();
    });
    let (read, write) = tokio::io::split(client);
    Session {
        to_server: write,
        from_server: BufReader::new(read).lines(),
    }
}

fn chatty_call(id: u64) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
           "params": {"name": "chatty", "arguments": {}}})
}

fn stdio_levels(messages: &[Value], id: u64) -> Vec<String> {
    let (result, logs) = messages.split_last().unwrap();
    assert_eq!(result["id"], id, "{messages:?}");
    logs.iter()
        .map(|m| m["params"]["level"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn over_stdio_the_level_set_lasts_for_the_session() {
    let mut session = stdio();
    session
        .send(
            json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            }}),
        )
        .await;
    session.until_reply(1).await;
    session
        .send(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        .await;

    session.send(chatty_call(2)).await;
    let messages = session.until_reply(2).await;
    assert_eq!(
        stdio_levels(&messages, 2),
        Vec::<&str>::new(),
        "nothing before a level is set"
    );

    session
        .send(
            json!({"jsonrpc": "2.0", "id": 5, "method": "logging/setLevel",
                     "params": {"level": "info"}}),
        )
        .await;
    session.until_reply(5).await;
    session.send(chatty_call(6)).await;
    let messages = session.until_reply(6).await;
    assert_eq!(stdio_levels(&messages, 6), ["info", "warning", "error"]);

    session
        .send(
            json!({"jsonrpc": "2.0", "id": 3, "method": "logging/setLevel",
                     "params": {"level": "error"}}),
        )
        .await;
    session.until_reply(3).await;
    session.send(chatty_call(4)).await;
    let messages = session.until_reply(4).await;
    assert_eq!(stdio_levels(&messages, 4), ["error"]);
}
