//! `#[tool]` functions called through the runtime: the scope check, the
//! arguments, the injected parameters and the result conversions.

use std::sync::atomic::{AtomicUsize, Ordering};

use mcp_runtime::{
    __private::invoke,
    AccessToken, Args, McpServer, State, ToolHandle, get_access_token,
    rmcp::{
        ErrorData,
        model::{CallToolResult, ContentBlock},
    },
    tool,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
struct Todo {
    id: u32,
    title: String,
    due: Option<String>,
}

/// Add a todo item for the caller.
///
/// # Arguments
/// * `title` - What needs doing.
/// * `due` - When it is due.
#[tool(scope = "todo:write")]
async fn create_todo(title: String, due: Option<String>) -> Todo {
    Todo { id: 1, title, due }
}

static DELETES: AtomicUsize = AtomicUsize::new(0);

/// Delete a todo item.
#[tool(scope = "todo:write", destructive)]
fn delete_todo(id: u32) -> String {
    DELETES.fetch_add(1, Ordering::SeqCst);
    format!("deleted {id}")
}

/// Read HR and finance records.
#[tool(scopes = ["hr:read", "finance:read"])]
fn payroll() -> &'static str {
    "payroll"
}

/// Read HR or finance records.
#[tool(any_scope = ["hr:read", "finance:read"])]
fn directory() -> &'static str {
    "directory"
}

#[derive(Debug)]
struct NotFound(u32);

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "todo {} does not exist", self.0)
    }
}

/// Look a todo up.
#[tool(public)]
async fn get_todo(id: u32) -> Result<Todo, NotFound> {
    match id {
        1 => Ok(Todo {
            id,
            title: "one".into(),
            due: None,
        }),
        _ => Err(NotFound(id)),
    }
}

/// Who is calling, as `get_access_token` sees it.
#[tool(public)]
async fn whoami() -> String {
    tokio::task::yield_now().await;
    get_access_token().map_or_else(|| "anonymous".to_owned(), |t| t.subject().to_owned())
}

/// Who is calling, as the injected token says.
#[tool(public)]
fn caller(token: AccessToken, maybe: Option<AccessToken>) -> String {
    format!("{} {}", token.subject(), maybe.is_some())
}

/// Who is calling, if anyone.
#[tool(public)]
fn maybe_caller(token: Option<AccessToken>) -> String {
    token.map_or_else(|| "anonymous".to_owned(), |t| t.subject().to_owned())
}

/// Counts.
#[tool(public)]
fn numbers(up_to: u32) -> Vec<u32> {
    (1..=up_to).collect()
}

/// Does nothing.
#[tool(public)]
fn nothing() {}

/// Fails in `Result<(), E>`.
#[tool(public)]
fn fails(fail: bool) -> Result<(), String> {
    if fail {
        Err("it failed".into())
    } else {
        Ok(())
    }
}

/// rmcp's own result type, errors included.
#[tool(public)]
fn raw(fail: bool) -> Result<CallToolResult, ErrorData> {
    if fail {
        return Err(ErrorData::invalid_params("raw refused", None));
    }
    Ok(CallToolResult::success(vec![ContentBlock::text("raw")]))
}

#[derive(Deserialize, JsonSchema)]
struct Rename {
    id: u32,
    title: String,
}

/// Rename a todo.
#[tool(scope = "todo:write")]
fn rename(Args(r): Args<Rename>) -> Todo {
    Todo {
        id: r.id,
        title: r.title,
        due: None,
    }
}

struct Prefix(String);

/// Greets with the server's prefix.
#[tool(public)]
fn greet(State(prefix): State<Prefix>, name: String) -> String {
    format!("{}{name}", prefix.0)
}

fn token(scopes: &[&str]) -> AccessToken {
    AccessToken::new("raw-token", "alice").with_scopes(scopes.iter().copied())
}

async fn call<T: ToolHandle>(args: Value, token: Option<AccessToken>) -> Value {
    let result = invoke(T::DEF, args.as_object().cloned(), token)
        .await
        .expect("a tool result, not a JSON-RPC error");
    let mut result = serde_json::to_value(result).unwrap();
    // rmcp's protocol field, the same on every result.
    result.as_object_mut().unwrap().remove("resultType");
    result
}

/// The refusal exactly as the reference words it.
fn refusal(message: &str) -> Value {
    let error = json!({ "error": message });
    json!({
        "content": [{ "type": "text", "text": error.to_string() }],
        "structuredContent": error,
        "isError": true,
    })
}

fn text(result: &Value) -> &str {
    result["content"][0]["text"].as_str().unwrap()
}

#[tokio::test]
async fn a_token_without_the_scope_is_refused() {
    let r = call::<create_todo>(json!({ "title": "x" }), Some(token(&["todo:read"]))).await;
    assert_eq!(
        r,
        refusal("Insufficient permissions: `todo:write` scope required.")
    );
    let compact = r#"{"error":"Insufficient permissions: `todo:write` scope required."}"#;
    assert_eq!(text(&r), compact);
}

#[tokio::test]
async fn no_token_is_refused_too() {
    let r = call::<create_todo>(json!({ "title": "x" }), None).await;
    assert_eq!(
        r,
        refusal("Insufficient permissions: `todo:write` scope required.")
    );
}

#[tokio::test]
async fn the_refusal_comes_before_the_arguments_and_the_body() {
    let before = DELETES.load(Ordering::SeqCst);
    let r = call::<delete_todo>(json!({ "id": "not a number" }), Some(token(&[]))).await;
    assert_eq!(
        r,
        refusal("Insufficient permissions: `todo:write` scope required.")
    );
    let r = call::<delete_todo>(json!({ "id": 7 }), Some(token(&["todo:read"]))).await;
    assert_eq!(r["isError"], true);
    assert_eq!(DELETES.load(Ordering::SeqCst), before);

    let r = call::<delete_todo>(json!({ "id": 7 }), Some(token(&["todo:write"]))).await;
    assert_eq!(r["isError"], false);
    assert_eq!(text(&r), "deleted 7");
    assert_eq!(DELETES.load(Ordering::SeqCst), before + 1);
}

#[tokio::test]
async fn an_allowed_call_returns_structured_content() {
    let r = call::<create_todo>(
        json!({ "title": "milk", "due": "today" }),
        Some(token(&["todo:write"])),
    )
    .await;
    let todo = json!({ "id": 1, "title": "milk", "due": "today" });
    assert_eq!(r["isError"], false);
    assert_eq!(r["structuredContent"], todo);
    assert_eq!(serde_json::from_str::<Value>(text(&r)).unwrap(), todo);
}

#[tokio::test]
async fn an_optional_argument_may_be_left_out() {
    let r = call::<create_todo>(json!({ "title": "milk" }), Some(token(&["todo:write"]))).await;
    assert_eq!(
        r["structuredContent"],
        json!({ "id": 1, "title": "milk", "due": null })
    );
}

#[tokio::test]
async fn all_listed_scopes_are_required_and_the_first_missing_is_named() {
    let r = call::<payroll>(json!({}), Some(token(&["finance:read"]))).await;
    assert_eq!(
        r,
        refusal("Insufficient permissions: `hr:read` scope required.")
    );
    let r = call::<payroll>(json!({}), Some(token(&["hr:read"]))).await;
    assert_eq!(
        r,
        refusal("Insufficient permissions: `finance:read` scope required.")
    );
    let r = call::<payroll>(json!({}), Some(token(&["finance:read", "hr:read"]))).await;
    assert_eq!(text(&r), "payroll");
}

#[tokio::test]
async fn any_scope_needs_one_of_them() {
    let r = call::<directory>(json!({}), Some(token(&["finance:read"]))).await;
    assert_eq!(text(&r), "directory");
    let r = call::<directory>(json!({}), Some(token(&["todo:read"]))).await;
    assert_eq!(
        r,
        refusal("Insufficient permissions: `hr:read` or `finance:read` scope required.")
    );
}

#[tokio::test]
async fn an_error_is_a_tool_error_with_its_display_text() {
    let r = call::<get_todo>(json!({ "id": 2 }), None).await;
    assert_eq!(
        r,
        json!({
            "content": [{ "type": "text", "text": "todo 2 does not exist" }],
            "isError": true,
        })
    );
    let r = call::<get_todo>(json!({ "id": 1 }), None).await;
    assert_eq!(r["structuredContent"]["title"], "one");
}

#[tokio::test]
async fn bad_arguments_are_a_tool_error_naming_the_problem() {
    let r = call::<create_todo>(json!({ "due": "today" }), Some(token(&["todo:write"]))).await;
    assert_eq!(r["isError"], true);
    assert_eq!(
        text(&r),
        "Invalid arguments for tool `create_todo`: missing field `title`"
    );
    let r = call::<create_todo>(json!({ "title": 5 }), Some(token(&["todo:write"]))).await;
    assert_eq!(r["isError"], true);
    let t = text(&r);
    assert!(
        t.starts_with("Invalid arguments for tool `create_todo`: invalid type: integer `5`"),
        "{t}"
    );
}

#[tokio::test]
async fn the_token_is_visible_inside_the_body() {
    let r = call::<whoami>(json!({}), Some(token(&[]))).await;
    assert_eq!(text(&r), "alice");
    let r = call::<whoami>(json!({}), None).await;
    assert_eq!(text(&r), "anonymous");
}

#[tokio::test]
async fn the_token_is_injected_by_type() {
    let r = call::<caller>(json!({}), Some(token(&[]))).await;
    assert_eq!(text(&r), "alice true");
    let r = call::<caller>(json!({}), None).await;
    assert_eq!(r["isError"], true);
    assert_eq!(text(&r), "This tool requires an authenticated caller.");
    let r = call::<maybe_caller>(json!({}), None).await;
    assert_eq!(text(&r), "anonymous");
}

#[tokio::test]
async fn results_of_every_shape() {
    let r = call::<numbers>(json!({ "up_to": 3 }), None).await;
    assert_eq!(r["structuredContent"], json!({ "result": [1, 2, 3] }));

    let r = call::<nothing>(json!({}), None).await;
    assert_eq!(r, json!({ "content": [], "isError": false }));

    let r = call::<fails>(json!({ "fail": false }), None).await;
    assert_eq!(r, json!({ "content": [], "isError": false }));
    let r = call::<fails>(json!({ "fail": true }), None).await;
    assert_eq!(r["isError"], true);
    assert_eq!(text(&r), "it failed");

    let r = call::<raw>(json!({ "fail": false }), None).await;
    assert_eq!(text(&r), "raw");
}

#[tokio::test]
async fn rmcp_errors_pass_through_as_json_rpc_errors() {
    let args = json!({ "fail": true }).as_object().cloned();
    let e = invoke(raw::DEF, args, None).await.unwrap_err();
    assert_eq!(e.message, "raw refused");
}

#[tokio::test]
async fn a_struct_argument_takes_the_whole_object() {
    let r = call::<rename>(
        json!({ "id": 4, "title": "bread" }),
        Some(token(&["todo:write"])),
    )
    .await;
    assert_eq!(
        r["structuredContent"],
        json!({ "id": 4, "title": "bread", "due": null })
    );
    let r = call::<rename>(json!({ "id": 4 }), Some(token(&["todo:write"]))).await;
    assert_eq!(
        text(&r),
        "Invalid arguments for tool `rename`: missing field `title`"
    );
}

#[tokio::test]
async fn state_comes_from_the_server() {
    let server = McpServer::builder()
        .tool::<greet>()
        .state(Prefix("Hello, ".into()))
        .build()
        .unwrap();
    let args = json!({ "name": "Ada" }).as_object().cloned();
    let r = server.call_tool("greet", args, None).await.unwrap();
    assert_eq!(
        serde_json::to_value(&r).unwrap()["content"][0]["text"],
        "Hello, Ada"
    );
}

#[test]
fn the_handle_carries_the_rule_and_the_states() {
    use mcp_runtime::ScopeRule;
    assert_eq!(create_todo::DEF.scopes, ScopeRule::All(&["todo:write"]));
    assert_eq!(
        payroll::DEF.scopes,
        ScopeRule::All(&["hr:read", "finance:read"])
    );
    assert_eq!(
        directory::DEF.scopes,
        ScopeRule::Any(&["hr:read", "finance:read"])
    );
    assert_eq!(whoami::DEF.scopes, ScopeRule::Public);
    assert_eq!(greet::DEF.states.len(), 1);
    assert_eq!(
        (greet::DEF.states[0])().id,
        std::any::TypeId::of::<Prefix>()
    );
    let location = create_todo::DEF.location;
    assert!(
        location.starts_with("tests/tests/macro_calls.rs:"),
        "{location}"
    );
}
