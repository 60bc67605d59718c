//! `subscriptions/listen` (protocol 2026-07-28) through the HTTP app in
//! process: the acknowledgment names only the URIs the caller may read,
//! updates reach the streams of their audience and no other, a stream
//! ends with its token, and earlier revisions are not offered subscriptions.

use std::time::{Duration, SystemTime};

use axum::{Router, body::Body};
use http_body_util::BodyExt;
use mcp_runtime::{
    AccessToken, McpServer, ResourceUpdates, auth::StaticTokenVerifier, resource,
    resource_template, tool,
};
use mcp_test_client::Mcp;
use serde_json::{Value, json};
use tower::ServiceExt;

/// The caller's notes.
#[resource(uri = "notes://mine", scope = "notes:read")]
fn my_notes(token: AccessToken) -> String {
    format!("the notes of {}", token.subject())
}

/// Today's menu, the same for everyone.
#[resource(uri = "menu://today", public)]
fn menu_today() -> String {
    "soup".into()
}

/// An employee's record.
#[resource_template(uri = "hr://employees/{id}", scope = "hr:read")]
fn employee(id: String) -> String {
    format!("employee {id}")
}

/// Adds a note for the caller.
#[tool(scope = "notes:write")]
fn add_note(updates: ResourceUpdates, text: String) -> String {
    let told = updates.notify_caller("notes://mine");
    format!("Noted `{text}`; {told} stream(s) told.")
}

/// Changes today's menu.
#[tool(public)]
fn change_menu(updates: ResourceUpdates) -> String {
    format!(
        "{} stream(s) told.",
        updates.notify_everyone("menu://today")
    )
}

fn token(name: &str, scopes: &[&str]) -> AccessToken {
    AccessToken::new(name, name).with_scopes(scopes.iter().copied())
}

fn server() -> McpServer {
    let soon = SystemTime::now() + Duration::from_secs(2);
    let verifier = StaticTokenVerifier::new()
        .with_token("alice", token("alice", &["notes:read", "notes:write"]))
        .with_token("bob", token("bob", &["notes:read", "notes:write"]))
        .with_token("hilda", token("hilda", &["hr:read"]))
        .with_token(
            "brief",
            token("brief", &["notes:read"]).with_expires_at(soon),
        );
    McpServer::builder()
        .tool::<add_note>()
        .tool::<change_menu>()
        .item::<my_notes>()
        .item::<menu_today>()
        .item::<employee>()
        .auth(verifier)
        .build()
        .unwrap()
}

fn mcp(token: &str, version: &str, method: &str) -> Mcp {
    let mut mcp = Mcp::new("/mcp")
        .header("host", "localhost:3002")
        .header("mcp-protocol-version", version)
        .bearer(Some(token));
    if version >= "2026-07-28" {
        mcp = mcp.header("mcp-method", method);
    }
    mcp
}

fn meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    })
}

/// An open event stream, read one JSON-RPC message at a time.
struct Stream {
    body: Body,
    buffer: String,
}

impl Stream {
    /// The next message, or `None` when none comes within `wait` or the
    /// stream ends.
    async fn next(&mut self, wait: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let event: String = self.buffer.drain(..end + 2).collect();
                let data: Vec<&str> = event
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(|d| d.strip_prefix(' ').unwrap_or(d))
                    .collect();
                let data = data.join("\n");
                if !data.trim().is_empty() {
                    return Some(serde_json::from_str(&data).unwrap());
                }
            }
            let frame = tokio::time::timeout_at(deadline, self.body.frame()).await;
            match frame {
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.buffer.push_str(&String::from_utf8_lossy(&data));
                        self.buffer = self.buffer.replace("\r\n", "\n");
                    }
                }
                _ => return None,
            }
        }
    }
}

/// Opens a listen stream as `token` for `uris`, with request id `id`.
async fn listen(app: &Router, token: &str, id: u64, uris: &[&str]) -> (Value, Stream) {
    let message = json!({
        "jsonrpc": "2.0", "id": id, "method": "subscriptions/listen",
        "params": {"_meta": meta(), "notifications": {
            "resourceSubscriptions": uris,
            "toolsListChanged": true,
        }},
    });
    let req = mcp(token, "2026-07-28", "subscriptions/listen").http_request(&message);
    let res = app.clone().oneshot(req.map(Body::from)).await.unwrap();
    assert_eq!(res.status(), 200);
    let content_type = res.headers()["content-type"].to_str().unwrap().to_owned();
    let mut stream = Stream {
        body: res.into_body(),
        buffer: String::new(),
    };
    let first = stream.next(Duration::from_secs(30)).await.unwrap();
    assert!(content_type.starts_with("text/event-stream"), "{first}");
    (first, stream)
}

/// A whole request as `token` at `version`: its JSON-RPC reply.
async fn call(app: &Router, token: &str, version: &str, message: Value) -> Value {
    let method = message["method"].as_str().unwrap().to_owned();
    let mut mcp = mcp(token, version, &method);
    if method == "tools/call" && version >= "2026-07-28" {
        mcp = mcp.header("mcp-name", message["params"]["name"].as_str().unwrap());
    }
    let res = app
        .clone()
        .oneshot(mcp.http_request(&message).map(Body::from))
        .await
        .unwrap();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&body);
    match serde_json::from_str(&text) {
        Ok(json) => json,
        // An event stream: its last message is the reply.
        Err(_) => text
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .rfind(|d| !d.trim().is_empty())
            .map(|d| serde_json::from_str::<Value>(d.trim()).unwrap())
            .unwrap(),
    }
}

async fn add_note_over_http(app: &Router, who: &str) -> String {
    let message = json!({
        "jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": "add_note", "arguments": {"text": "hi"}, "_meta": meta()},
    });
    let reply = call(app, who, "2026-07-28", message).await;
    reply["result"]["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{reply}"))
        .to_owned()
}

fn updated(message: &Value, uri: &str, id: u64) {
    assert_eq!(
        message["method"], "notifications/resources/updated",
        "{message}"
    );
    assert_eq!(message["params"]["uri"], uri, "{message}");
    assert_eq!(
        message["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], id,
        "{message}"
    );
}

const QUIET: Duration = Duration::from_millis(300);

#[tokio::test]
async fn the_acknowledgment_names_only_what_the_caller_may_read() {
    let server = server();
    let app = server.clone().into_router();
    let asked = [
        "notes://mine",
        "hr://employees/3",
        "nope://x",
        "menu://today",
    ];
    let (ack, _stream) = listen(&app, "alice", 11, &asked).await;
    assert_eq!(
        ack["method"], "notifications/subscriptions/acknowledged",
        "{ack}"
    );
    assert_eq!(
        ack["params"]["_meta"]["io.modelcontextprotocol/subscriptionId"], 11,
        "{ack}"
    );
    // No list changes (the catalog is fixed); no HR record without hr:read;
    // nothing no resource serves.
    assert_eq!(
        ack["params"]["notifications"],
        json!({"resourceSubscriptions": ["notes://mine", "menu://today"]}),
        "{ack}"
    );

    let (ack, _hilda) = listen(&app, "hilda", 12, &asked).await;
    assert_eq!(
        ack["params"]["notifications"],
        json!({"resourceSubscriptions": ["hr://employees/3", "menu://today"]}),
        "{ack}"
    );
    assert_eq!(server.listen_streams(), 2);
    assert_eq!(
        server.notify_resource_updated("hr://employees/3"),
        1,
        "hilda's stream only: alice's was not acknowledged for it"
    );
}

#[tokio::test]
async fn a_callers_own_updates_reach_only_their_streams() {
    let server = server();
    let app = server.clone().into_router();
    let (_, mut alice) = listen(&app, "alice", 21, &["notes://mine"]).await;
    let (_, mut bob) = listen(&app, "bob", 22, &["notes://mine"]).await;

    assert_eq!(
        add_note_over_http(&app, "bob").await,
        "Noted `hi`; 1 stream(s) told."
    );
    updated(&bob.next(QUIET * 10).await.unwrap(), "notes://mine", 22);
    assert_eq!(alice.next(QUIET).await, None, "bob's notes are not alice's");

    // In process too, with the caller's token.
    let args = json!({"text": "hey"}).as_object().cloned();
    let alice_token = token("alice", &["notes:read", "notes:write"]);
    let result = server
        .call_tool("add_note", args, Some(alice_token))
        .await
        .unwrap();
    assert_eq!(result.is_error, Some(false));
    updated(&alice.next(QUIET * 10).await.unwrap(), "notes://mine", 21);
    assert_eq!(bob.next(QUIET).await, None, "alice's notes are not bob's");

    // The server names the subject.
    assert_eq!(server.notify_resource_updated_for("bob", "notes://mine"), 1);
    updated(&bob.next(QUIET * 10).await.unwrap(), "notes://mine", 22);
    assert_eq!(alice.next(QUIET).await, None);
}

#[tokio::test]
async fn a_shared_resource_reaches_every_listener_once_per_change() {
    let server = server();
    let app = server.clone().into_router();
    let (_, mut alice) = listen(&app, "alice", 31, &["menu://today"]).await;
    let (_, mut hilda) = listen(&app, "hilda", 32, &["menu://today"]).await;
    let (_, mut bob) = listen(&app, "bob", 33, &["notes://mine"]).await;
    let message = json!({
        "jsonrpc": "2.0", "id": 9, "method": "tools/call",
        "params": {"name": "change_menu", "arguments": {}, "_meta": meta()},
    });
    let reply = call(&app, "hilda", "2026-07-28", message).await;
    assert_eq!(
        reply["result"]["content"][0]["text"], "2 stream(s) told.",
        "{reply}"
    );
    updated(&alice.next(QUIET * 10).await.unwrap(), "menu://today", 31);
    updated(&hilda.next(QUIET * 10).await.unwrap(), "menu://today", 32);
    assert_eq!(
        bob.next(QUIET).await,
        None,
        "bob listens for his notes only"
    );
}

#[tokio::test]
async fn a_stream_ends_with_its_token() {
    let server = server();
    let app = server.clone().into_router();
    let (_, mut stream) = listen(&app, "brief", 41, &["notes://mine"]).await;
    let last = stream.next(Duration::from_secs(30)).await.unwrap();
    assert_eq!(last["id"], 41, "{last}");
    assert_eq!(last["result"]["resultType"], "complete", "{last}");
    assert_eq!(
        last["result"]["_meta"]["io.modelcontextprotocol/subscriptionId"], 41,
        "{last}"
    );
    assert_eq!(stream.next(QUIET).await, None, "the stream is over");
    // Unregistered once the stream is gone.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.listen_streams(), 0);
}

#[tokio::test]
async fn closing_the_stream_unregisters_it() {
    let server = server();
    let app = server.clone().into_router();
    let (_, stream) = listen(&app, "alice", 51, &["notes://mine"]).await;
    assert_eq!(server.listen_streams(), 1);
    drop(stream);
    for _ in 0..100 {
        if server.listen_streams() == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the stream is still registered after its client left");
}

#[tokio::test]
async fn earlier_revisions_are_not_offered_subscriptions() {
    let app = server().into_router();
    let init = json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    });
    let reply = call(&app, "alice", "2025-11-25", init).await;
    let resources = &reply["result"]["capabilities"]["resources"];
    assert!(resources.is_object(), "{reply}");
    assert_eq!(resources.get("subscribe"), None, "{reply}");

    let subscribe = json!({
        "jsonrpc": "2.0", "id": 2, "method": "resources/subscribe",
        "params": {"uri": "notes://mine"},
    });
    let reply = call(&app, "alice", "2025-11-25", subscribe).await;
    assert_eq!(reply["error"]["code"], -32601, "{reply}");

    // 2026-07-28 discovers it.
    let discover = json!({
        "jsonrpc": "2.0", "id": 3, "method": "server/discover",
        "params": {"_meta": meta()},
    });
    let reply = call(&app, "alice", "2026-07-28", discover).await;
    assert_eq!(
        reply["result"]["capabilities"]["resources"]["subscribe"], true,
        "{reply}"
    );
    assert_eq!(
        reply["result"]["capabilities"]["resources"].get("listChanged"),
        None,
        "{reply}"
    );
}
