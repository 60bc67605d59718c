//! Many callers at once, over real sockets: 16 subjects, each with its own
//! token and its own connections, create, list, ask `whoami` and review
//! their items concurrently, once with the demo answering JSON (the default)
//! and once with `--sse` (every answer an event stream). Nobody sees another
//! subject's data, and no write is lost or doubled in SQLite.

mod common;

use std::{collections::BTreeSet, sync::Arc};

use common::{Demo, Scratch};
use mcp_test_client::{Mcp, Response, rpc};
use serde_json::{Value, json};

/// Subjects calling at once, each with its own token.
const SUBJECTS: usize = 16;
/// Items each subject creates.
const ITEMS: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    /// The default: JSON, or an event stream when a call sends notifications.
    Json,
    /// `--sse`: every POST answered with an event stream.
    Sse,
}

fn subject(n: usize) -> String {
    format!("caller-{n:02}")
}

fn title(subject: &str, i: usize) -> String {
    format!("{subject}'s item #{i}")
}

/// Asserts the answer's content type: always an event stream with `--sse`;
/// in JSON mode, an event stream only for a call that sent notifications.
fn assert_content_type(res: &Response, mode: Mode, notifies: bool, what: &str) {
    assert_eq!(res.status, 200, "{what}: {res:#?}");
    let expected = if mode == Mode::Sse || notifies {
        "text/event-stream"
    } else {
        "application/json"
    };
    let got = res.header("content-type");
    assert!(
        got.starts_with(expected),
        "{what} in {mode:?} mode: content-type {got}, expected {expected}"
    );
}

/// The structured content of a successful tool result.
fn ok(res: &Response, what: &str) -> Value {
    let msg = res.message();
    assert!(msg.get("error").is_none(), "{what}: JSON-RPC error {msg}");
    let result = &msg["result"];
    assert_eq!(result["isError"], false, "{what} failed: {result}");
    result["structuredContent"].clone()
}

/// What one subject did and saw.
#[derive(Debug)]
struct Outcome {
    subject: String,
    created: Vec<(i64, String)>,
}

/// One subject's run: creates, each followed by `whoami`, then a list and a
/// review with progress. Every request is its own connection.
async fn caller(
    mcp: Mcp,
    subject: String,
    mode: Mode,
    start: Arc<tokio::sync::Barrier>,
) -> Outcome {
    start.wait().await;
    let mut created = Vec::new();
    for i in 0..ITEMS {
        let title = title(&subject, i);
        let res = mcp.call_tool("create_todo", json!({"title": title})).await;
        assert_content_type(&res, mode, false, "create_todo");
        let item = ok(&res, "create_todo");
        assert_eq!(item["title"], title.as_str(), "{subject}: {item}");
        created.push((item["id"].as_i64().unwrap(), title));

        let res = mcp.call_tool("whoami", json!({})).await;
        assert_content_type(&res, mode, false, "whoami");
        let me = ok(&res, "whoami");
        assert_eq!(
            me["subject"],
            subject.as_str(),
            "whoami answered another caller"
        );
        assert_eq!(me["scopes"], json!(["todo:read", "todo:write"]));
    }

    let res = mcp.call_tool("list_todos", json!({})).await;
    assert_content_type(&res, mode, false, "list_todos");
    let listed: Vec<(i64, String)> = ok(&res, "list_todos")["todos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let title = t["title"].as_str().unwrap().to_owned();
            (t["id"].as_i64().unwrap(), title)
        })
        .collect();
    assert_eq!(
        listed, created,
        "{subject} lists exactly its own items, in the order created"
    );

    // A call that sends notifications: its progress goes to this caller only,
    // and names this caller's items.
    let mut call = rpc(
        "tools/call",
        json!({"name": "review_todos", "arguments": {}, "_meta": {"progressToken": subject}}),
    );
    call["id"] = json!(7);
    let res = mcp.post(&call).await;
    assert_content_type(&res, mode, true, "review_todos");
    let review = ok(&res, "review_todos");
    assert_eq!(
        review,
        json!({"subject": subject, "total": ITEMS, "open": ITEMS, "done": 0})
    );
    let progress: Vec<Value> = res
        .notifications()
        .into_iter()
        .filter(|n| n["method"] == "notifications/progress")
        .map(|n| n["params"].clone())
        .collect();
    let expected: Vec<Value> = (0..ITEMS)
        .map(|i| {
            // Progress is a JSON number sent as a float (`1.0`).
            json!({"progressToken": subject, "progress": (i + 1) as f64,
                   "total": ITEMS as f64, "message": title(&subject, i)})
        })
        .collect();
    assert_eq!(progress, expected, "{subject}'s progress");
    Outcome { subject, created }
}

fn concurrent_callers_stay_apart(mode: Mode) {
    let scratch = Scratch::new();
    let args: &[&str] = match mode {
        Mode::Json => &[],
        Mode::Sse => &["--sse"],
    };
    let demo = Demo::start(&scratch, args);
    let tokens: Vec<(String, String)> = (0..SUBJECTS)
        .map(|n| {
            let subject = subject(n);
            let token = demo.token("todo:read todo:write", &subject);
            (subject, token)
        })
        .collect();
    let distinct: BTreeSet<&str> = tokens.iter().map(|(_, t)| t.as_str()).collect();
    assert_eq!(distinct.len(), SUBJECTS, "one distinct JWT per subject");

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let outcomes: Vec<Outcome> = runtime.block_on(async {
        let start = Arc::new(tokio::sync::Barrier::new(SUBJECTS));
        let tasks: Vec<_> = tokens
            .iter()
            .map(|(subject, token)| {
                let mcp = demo.mcp(Some(token));
                tokio::spawn(caller(mcp, subject.clone(), mode, start.clone()))
            })
            .collect();
        let mut outcomes = Vec::new();
        for task in tasks {
            outcomes.push(task.await.expect("a caller failed"));
        }
        outcomes
    });

    // No write lost or doubled: every id once, as many as acknowledged.
    let ids: BTreeSet<i64> = outcomes
        .iter()
        .flat_map(|o| o.created.iter().map(|(id, _)| *id))
        .collect();
    assert_eq!(ids.len(), SUBJECTS * ITEMS, "every create got its own id");
    // Afterwards, with everyone done, each subject still sees exactly its own.
    for (outcome, (subject, token)) in outcomes.iter().zip(&tokens) {
        assert_eq!(&outcome.subject, subject);
        let res = runtime.block_on(demo.mcp(Some(token)).call_tool("list_todos", json!({})));
        assert_content_type(&res, mode, false, "list_todos");
        let todos = ok(&res, "list_todos")["todos"].clone();
        let titles: Vec<&str> = todos
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["title"].as_str().unwrap())
            .collect();
        let expected: Vec<&str> = outcome.created.iter().map(|(_, t)| t.as_str()).collect();
        assert_eq!(titles, expected, "{subject}'s items after the run");
    }
    // The database holds nothing else: another subject has no items.
    let stranger = demo.token("todo:read", "stranger");
    assert_eq!(
        demo.ok(&stranger, "list_todos", json!({})),
        json!({"todos": []})
    );
}

#[test]
fn concurrent_callers_with_their_own_tokens_see_only_their_own_data_json() {
    concurrent_callers_stay_apart(Mode::Json);
}

#[test]
fn concurrent_callers_with_their_own_tokens_see_only_their_own_data_sse() {
    concurrent_callers_stay_apart(Mode::Sse);
}
