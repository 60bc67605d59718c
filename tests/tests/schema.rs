//! The tool listings `#[tool]` generates, as snapshots.
//!
//! Review changes with `cargo insta review`, or accept them all with
//! `INSTA_UPDATE=always cargo test -p integration-tests --test schema`.

use mcp_runtime::{AccessToken, Args, State, ToolHandle, tool};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

fn listing<T: ToolHandle>() -> serde_json::Value {
    serde_json::to_value((T::DEF.describe)()).unwrap()
}

#[derive(Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Priority {
    Low,
    High,
}

#[derive(Deserialize, JsonSchema)]
#[allow(dead_code)] // Only its schema matters here.
struct Reminder {
    /// Minutes before the due time.
    minutes_before: u32,
    channel: Option<String>,
}

#[derive(Serialize, JsonSchema)]
struct Todo {
    /// The todo's id.
    id: u32,
    title: String,
    done: bool,
}

struct Store;

/// Add a todo item for the caller.
///
/// The item starts out not done.
///
/// # Arguments
/// * `title` - What needs doing.
/// * `due` - When it is due, as an RFC 3339 date,
///   if it has a due date at all.
/// * `tags` - Labels to file it under.
/// * `priority` - How urgent it is.
#[tool(scope = "todo:write", title = "Create a todo")]
async fn create_todo(
    _token: AccessToken,
    _store: State<Store>,
    title: String,
    due: Option<String>,
    tags: Vec<String>,
    priority: Priority,
    reminder: Option<Reminder>,
) -> Todo {
    let _ = (due, tags, priority, reminder);
    Todo {
        id: 1,
        title,
        done: false,
    }
}

/// Arguments for `rename_todo`.
#[derive(Deserialize, JsonSchema)]
struct Rename {
    /// The todo to rename.
    id: u32,
    /// Its new title.
    title: String,
}

/// Rename a todo item.
#[tool(scope = "todo:write", idempotent)]
fn rename_todo(Args(r): Args<Rename>) -> Result<Todo, String> {
    Ok(Todo {
        id: r.id,
        title: r.title,
        done: false,
    })
}

/// List the caller's todo items.
#[tool(public, read_only, open_world = false, title = "List todos")]
fn list_todos() -> Vec<Todo> {
    Vec::new()
}

/// Delete every todo item.
#[tool(
    name = "todo.clear",
    scopes = ["todo:write", "todo:admin"],
    destructive,
    idempotent = true
)]
fn clear_todos() -> String {
    "cleared".into()
}

#[test]
fn plain_parameters() {
    insta::assert_json_snapshot!(listing::<create_todo>());
}

#[test]
fn struct_argument() {
    insta::assert_json_snapshot!(listing::<rename_todo>());
}

#[test]
fn list_result_is_wrapped() {
    insta::assert_json_snapshot!(listing::<list_todos>());
}

#[test]
fn text_result_has_no_output_schema() {
    insta::assert_json_snapshot!(listing::<clear_todos>());
}
