//! `subscriptions/listen` (protocol 2026-07-28) on the real binary: a
//! client listening for `todo://items` hears of changes to its caller's
//! own items, and of nobody else's.

mod common;

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

use common::{Demo, Scratch};
use serde_json::json;

const UPDATED: &str = "notifications/resources/updated";

/// A listen stream, read from a raw socket (the response never ends).
struct Listen {
    socket: TcpStream,
    received: String,
}

impl Listen {
    fn open(demo: &Demo, token: &str, id: u64) -> Self {
        let endpoint = demo.endpoint();
        let authority = endpoint
            .trim_start_matches("http://")
            .trim_end_matches("/mcp");
        let body = json!({
            "jsonrpc": "2.0", "id": id, "method": "subscriptions/listen",
            "params": {
                "_meta": {
                    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                    "io.modelcontextprotocol/clientCapabilities": {},
                },
                "notifications": {"resourceSubscriptions": ["todo://items"]},
            },
        })
        .to_string();
        let mut socket = TcpStream::connect(authority).unwrap();
        let request = format!(
            "POST /mcp HTTP/1.1\r\nhost: {authority}\r\nauthorization: Bearer {token}\r\n\
             content-type: application/json\r\naccept: application/json, text/event-stream\r\n\
             mcp-protocol-version: 2026-07-28\r\nmcp-method: subscriptions/listen\r\n\
             content-length: {}\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(request.as_bytes()).unwrap();
        let mut listen = Self {
            socket,
            received: String::new(),
        };
        assert!(
            listen.wait(|r| r.contains(r#""resourceSubscriptions":["todo://items"]"#)),
            "no acknowledgment for todo://items: {}",
            listen.received
        );
        listen
    }

    /// Reads until `done` holds for everything received, for up to `within`.
    fn wait_within(&mut self, within: Duration, done: impl Fn(&str) -> bool) -> bool {
        let deadline = Instant::now() + within;
        let mut buf = [0u8; 4096];
        while !done(&self.received) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            self.socket.set_read_timeout(Some(left)).unwrap();
            match self.socket.read(&mut buf) {
                Ok(0) | Err(_) => return done(&self.received),
                Ok(n) => self.received.push_str(&String::from_utf8_lossy(&buf[..n])),
            }
        }
        true
    }

    fn wait(&mut self, done: impl Fn(&str) -> bool) -> bool {
        self.wait_within(Duration::from_secs(30), done)
    }

    fn updates(&self) -> usize {
        self.received.matches(UPDATED).count()
    }
}

#[test]
fn todo_updates_reach_their_owner_only() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);
    let alice = demo.token("todo:read todo:write", "alice");
    let bob = demo.token("todo:read todo:write", "bob");
    let mut alice_listens = Listen::open(&demo, &alice, 1);
    let mut bob_listens = Listen::open(&demo, &bob, 2);

    demo.ok(&bob, "create_todo", json!({"title": "Bob's errand"}));
    assert!(bob_listens.wait(|r| r.matches(UPDATED).count() == 1));
    let quiet = Duration::from_millis(500);
    assert!(
        !alice_listens.wait_within(quiet, |r| r.contains(UPDATED)),
        "bob's change reached alice: {}",
        alice_listens.received
    );

    let todo = demo.ok(&alice, "create_todo", json!({"title": "Alice's errand"}));
    assert!(alice_listens.wait(|r| r.matches(UPDATED).count() == 1));
    demo.ok(
        &alice,
        "update_todo",
        json!({"id": todo["id"], "done": true}),
    );
    assert!(alice_listens.wait(|r| r.matches(UPDATED).count() == 2));
    assert!(alice_listens.received.contains(r#""uri":"todo://items""#));
    assert!(!bob_listens.wait_within(quiet, |r| r.matches(UPDATED).count() > 1));
    assert_eq!(bob_listens.updates(), 1, "{}", bob_listens.received);
}
