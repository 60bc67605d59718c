//! Asking the user during a tool call without a session (multi round-trip
//! requests, protocol 2026-07-28), through the HTTP app in process
//! (`oneshot`): the question, the retry with its answer, and every way a
//! `requestState` can be misused.

use std::sync::Mutex;

use axum::{Router, body::Body};
use http_body_util::BodyExt;
use mcp_runtime::{
    AccessToken, Answer, ElicitError, McpServer, ToolContext, ToolError, auth::StaticTokenVerifier,
    tool,
};
use mcp_test_client::Mcp;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};
use tower::ServiceExt;

/// The ids of every `shred` that ran.
static SHREDDED: Mutex<Vec<u32>> = Mutex::new(Vec::new());

fn shredded(id: u32) -> usize {
    SHREDDED
        .lock()
        .unwrap()
        .iter()
        .filter(|&&i| i == id)
        .count()
}

/// Shreds a file, once the user confirms; goes ahead unasked with a client
/// that cannot be asked.
#[tool(public, destructive)]
fn shred(ctx: ToolContext, id: u32) -> Result<String, ToolError> {
    match ctx.confirm(format!("Shred file {id}?")) {
        Ok(true) | Err(ElicitError::Unsupported) => {}
        Ok(false) => return Ok(format!("Cancelled: file {id} was not shredded.")),
        Err(e) => return Err(e.into()),
    }
    SHREDDED.lock().unwrap().push(id);
    Ok(format!("Shredded file {id}."))
}

/// Archives a file, once the user confirms (the same question as `shred`'s).
#[tool(public)]
fn archive(ctx: ToolContext, id: u32) -> Result<String, ToolError> {
    if !ctx.confirm(format!("Shred file {id}?"))? {
        return Ok("Cancelled.".into());
    }
    Ok(format!("Archived file {id}."))
}

#[derive(Deserialize, JsonSchema)]
struct Label {
    /// The new label.
    name: String,
}

/// Relabels a file: asks for the label, then for a confirmation.
#[tool(public)]
fn relabel(ctx: ToolContext, id: u32) -> Result<String, ToolError> {
    let label = match ctx.elicit::<Label>("Which label?")? {
        Answer::Accepted(l) => l.name,
        Answer::Declined | Answer::Cancelled => return Ok("No label given.".into()),
    };
    if !ctx.confirm(format!("Label file {id} `{label}`?"))? {
        return Ok("Cancelled.".into());
    }
    Ok(format!("File {id} is labelled `{label}`."))
}

fn app() -> Router {
    let verifier = StaticTokenVerifier::new()
        .with_token("alice", AccessToken::new("alice", "alice"))
        .with_token("bob", AccessToken::new("bob", "bob"));
    McpServer::builder()
        .tool::<shred>()
        .tool::<archive>()
        .tool::<relabel>()
        .auth(verifier)
        .build()
        .unwrap()
        .into_router()
}

/// What a client declares.
#[derive(Clone, Copy)]
enum Client {
    /// Protocol 2026-07-28 with the elicitation capability.
    Asks,
    /// Protocol 2026-07-28 without it.
    NoElicitation,
    /// An earlier revision.
    Older,
}

/// A `tools/call` of `tool` as `token`; `retry` adds the answers and state.
async fn call(app: &Router, client: Client, token: &str, tool: &str, args: Value) -> Value {
    call_with(app, client, token, tool, args, json!({})).await
}

async fn call_with(
    app: &Router,
    client: Client,
    token: &str,
    tool: &str,
    args: Value,
    retry: Value,
) -> Value {
    let mut params = json!({"name": tool, "arguments": args});
    for (k, v) in retry.as_object().unwrap() {
        params[k] = v.clone();
    }
    let version = match client {
        Client::Older => "2025-11-25",
        _ => "2026-07-28",
    };
    let mut mcp = Mcp::new("/mcp")
        .header("host", "localhost:3002")
        .header("mcp-protocol-version", version)
        .bearer(Some(token));
    if !matches!(client, Client::Older) {
        let capabilities = match client {
            Client::Asks => json!({"elicitation": {"form": {}}}),
            _ => json!({}),
        };
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": version,
            "io.modelcontextprotocol/clientCapabilities": capabilities,
        });
        mcp = mcp
            .header("mcp-method", "tools/call")
            .header("mcp-name", tool);
    }
    let message = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params});
    let res = app
        .clone()
        .oneshot(mcp.http_request(&message).map(Body::from))
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{message}");
    let body = res.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&body).unwrap()
}

/// The text of a complete tool result.
fn text(reply: &Value) -> &str {
    assert_eq!(reply["result"]["isError"], false, "{reply}");
    reply["result"]["content"][0]["text"].as_str().unwrap()
}

/// The one question of an `InputRequiredResult`: its key, its message and
/// the state to send back.
fn question(reply: &Value) -> (String, String, String) {
    let result = &reply["result"];
    assert_eq!(result["resultType"], "input_required", "{reply}");
    let requests = result["inputRequests"].as_object().unwrap();
    assert_eq!(requests.len(), 1, "{reply}");
    let (key, request) = requests.iter().next().unwrap();
    assert_eq!(request["method"], "elicitation/create", "{reply}");
    assert_eq!(request["params"]["mode"], "form", "{reply}");
    let message = request["params"]["message"].as_str().unwrap().to_owned();
    let state = result["requestState"].as_str().unwrap().to_owned();
    (key.clone(), message, state)
}

fn answer(key: &str, state: &str, response: Value) -> Value {
    json!({"inputResponses": {key: response}, "requestState": state})
}

fn refused(reply: &Value) -> String {
    assert_eq!(reply["error"]["code"], -32602, "{reply}");
    reply["error"]["message"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_question_ends_the_call_and_the_answer_completes_it() {
    let app = app();
    let first = call(&app, Client::Asks, "alice", "shred", json!({"id": 1})).await;
    let (key, message, state) = question(&first);
    assert_eq!(message, "Shred file 1?");
    assert_eq!(shredded(1), 0, "nothing happens before the answer");

    let accept = answer(&key, &state, json!({"action": "accept", "content": {}}));
    let done = call_with(
        &app,
        Client::Asks,
        "alice",
        "shred",
        json!({"id": 1}),
        accept,
    )
    .await;
    assert_eq!(text(&done), "Shredded file 1.");
    assert_eq!(shredded(1), 1);
}

#[tokio::test]
async fn declining_cancels() {
    let app = app();
    let first = call(&app, Client::Asks, "alice", "shred", json!({"id": 2})).await;
    let (key, _, state) = question(&first);
    for action in ["decline", "cancel"] {
        let no = answer(&key, &state, json!({"action": action}));
        let done = call_with(&app, Client::Asks, "alice", "shred", json!({"id": 2}), no).await;
        assert_eq!(text(&done), "Cancelled: file 2 was not shredded.");
    }
    assert_eq!(shredded(2), 0);
}

#[tokio::test]
async fn a_tampered_state_is_refused() {
    let app = app();
    let first = call(&app, Client::Asks, "alice", "shred", json!({"id": 3})).await;
    let (key, _, state) = question(&first);
    // Change one character of the sealed body.
    let mut bytes = state.into_bytes();
    let i = bytes.len() / 2;
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(bytes).unwrap();
    for state in [forged.as_str(), "rs1.bm90aGluZw.AAAA", ""] {
        let accept = answer(&key, state, json!({"action": "accept"}));
        let reply = call_with(
            &app,
            Client::Asks,
            "alice",
            "shred",
            json!({"id": 3}),
            accept,
        )
        .await;
        assert!(refused(&reply).contains("requestState"), "{reply}");
    }
    assert_eq!(shredded(3), 0);
}

#[tokio::test]
async fn answers_need_the_state() {
    let app = app();
    let first = call(&app, Client::Asks, "alice", "shred", json!({"id": 4})).await;
    let (key, _, _) = question(&first);
    let bare = json!({"inputResponses": {key: {"action": "accept"}}});
    let reply = call_with(&app, Client::Asks, "alice", "shred", json!({"id": 4}), bare).await;
    assert!(refused(&reply).contains("inputResponses"), "{reply}");
    assert_eq!(shredded(4), 0);
}

#[tokio::test]
async fn a_state_is_bound_to_its_caller_tool_and_arguments() {
    let app = app();
    let first = call(&app, Client::Asks, "alice", "shred", json!({"id": 5})).await;
    let (key, _, state) = question(&first);
    let accept = answer(&key, &state, json!({"action": "accept"}));

    let as_bob = call_with(
        &app,
        Client::Asks,
        "bob",
        "shred",
        json!({"id": 5}),
        accept.clone(),
    )
    .await;
    assert!(refused(&as_bob).contains("this caller"), "{as_bob}");
    // The same question, asked by another tool: still refused.
    let other_tool = call_with(
        &app,
        Client::Asks,
        "alice",
        "archive",
        json!({"id": 5}),
        accept.clone(),
    )
    .await;
    refused(&other_tool);
    let other_args = call_with(
        &app,
        Client::Asks,
        "alice",
        "shred",
        json!({"id": 6}),
        accept.clone(),
    )
    .await;
    refused(&other_args);
    assert_eq!(shredded(5) + shredded(6), 0);

    // Alice's own retry still works.
    let done = call_with(
        &app,
        Client::Asks,
        "alice",
        "shred",
        json!({"id": 5}),
        accept,
    )
    .await;
    assert_eq!(text(&done), "Shredded file 5.");
}

#[tokio::test]
async fn an_answer_counts_only_under_the_key_it_was_asked() {
    let app = app();
    let first = call(&app, Client::Asks, "alice", "shred", json!({"id": 7})).await;
    let (key, _, state) = question(&first);
    let wrong_key = answer("input-9", &state, json!({"action": "accept"}));
    let again = call_with(
        &app,
        Client::Asks,
        "alice",
        "shred",
        json!({"id": 7}),
        wrong_key,
    )
    .await;
    let (asked, _, _) = question(&again);
    assert_eq!(asked, key);
    assert_eq!(shredded(7), 0);
}

#[tokio::test]
async fn a_form_then_a_confirmation() {
    let app = app();
    let args = json!({"id": 8});
    let first = call(&app, Client::Asks, "alice", "relabel", args.clone()).await;
    let (key, message, state) = question(&first);
    assert_eq!(message, "Which label?");
    let schema = &first["result"]["inputRequests"][&key]["params"]["requestedSchema"];
    assert_eq!(schema["properties"]["name"]["type"], "string", "{first}");

    let label = answer(
        &key,
        &state,
        json!({"action": "accept", "content": {"name": "old"}}),
    );
    let second = call_with(&app, Client::Asks, "alice", "relabel", args.clone(), label).await;
    let (key2, message, state2) = question(&second);
    assert_ne!(key2, key);
    assert_eq!(message, "Label file 8 `old`?");

    // The first answer travels in the new state: only the second is sent.
    let yes = answer(&key2, &state2, json!({"action": "accept"}));
    let done = call_with(&app, Client::Asks, "alice", "relabel", args, yes).await;
    assert_eq!(text(&done), "File 8 is labelled `old`.");
}

#[tokio::test]
async fn a_form_answer_of_the_wrong_shape_is_a_tool_error() {
    let app = app();
    let args = json!({"id": 9});
    let first = call(&app, Client::Asks, "alice", "relabel", args.clone()).await;
    let (key, _, state) = question(&first);
    let bad = answer(
        &key,
        &state,
        json!({"action": "accept", "content": {"name": 3}}),
    );
    let reply = call_with(&app, Client::Asks, "alice", "relabel", args, bad).await;
    assert_eq!(reply["result"]["isError"], true, "{reply}");
    let text = reply["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("does not fit the form"), "{text}");
}

#[tokio::test]
async fn clients_that_cannot_be_asked_get_the_fallback() {
    let app = app();
    for (client, id) in [(Client::Older, 10), (Client::NoElicitation, 11)] {
        let reply = call(&app, client, "alice", "shred", json!({"id": id})).await;
        assert_eq!(text(&reply), format!("Shredded file {id}."));
        assert_eq!(shredded(id), 1);
    }
    // A tool that does not handle `Unsupported` reports it.
    let reply = call(&app, Client::Older, "alice", "archive", json!({"id": 12})).await;
    assert_eq!(reply["result"]["isError"], true, "{reply}");
    let text = reply["result"]["content"][0]["text"].as_str().unwrap();
    assert!(text.contains("cannot be asked"), "{text}");
}

#[tokio::test]
async fn replicas_sharing_a_key_accept_each_others_states() {
    let replica = |key: &[u8]| {
        McpServer::builder()
            .tool::<shred>()
            .auth(
                StaticTokenVerifier::new().with_token("alice", AccessToken::new("alice", "alice")),
            )
            .request_state_key(key.to_vec())
            .build()
            .unwrap()
            .into_router()
    };
    let (one, two, other) = (replica(&[1; 32]), replica(&[1; 32]), replica(&[2; 32]));
    let first = call(&one, Client::Asks, "alice", "shred", json!({"id": 13})).await;
    let (key, _, state) = question(&first);
    let accept = answer(&key, &state, json!({"action": "accept"}));
    refused(
        &call_with(
            &other,
            Client::Asks,
            "alice",
            "shred",
            json!({"id": 13}),
            accept.clone(),
        )
        .await,
    );
    let done = call_with(
        &two,
        Client::Asks,
        "alice",
        "shred",
        json!({"id": 13}),
        accept,
    )
    .await;
    assert_eq!(text(&done), "Shredded file 13.");

    let short = McpServer::builder().request_state_key(vec![0; 16]).build();
    assert!(short.is_err());
}
