//! Todo items (read/write split): `todo:read` lists, `todo:write` changes.
//! Every item belongs to the token's subject; nobody sees another's items.

use std::time::Duration;

use mcp_runtime::{
    AccessToken, ResourceUpdates, State, ToolContext, ToolError, prompt, resource,
    rmcp::model::ProgressNotificationParam, tool,
};
use schemars::JsonSchema;
use serde::Serialize;

use crate::{
    error::Failure,
    limits::{self, TodoQuota},
    scopes::{TODO_READ, TODO_WRITE},
    store::{Db, NewTodo, TodoChange},
};

pub use crate::store::Todo;

/// The caller's todo items.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TodoList {
    /// The items, oldest first.
    pub todos: Vec<Todo>,
}

/// What was deleted.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Deleted {
    /// The id of the deleted item.
    pub deleted: i64,
}

fn clean_title(title: &str) -> Result<String, ToolError> {
    let title = title.trim();
    if title.is_empty() {
        return Err(ToolError::new("The title must not be empty."));
    }
    limits::check_length("title", title, limits::TITLE)?;
    Ok(title.to_owned())
}

fn not_found(id: i64) -> Failure {
    // The same answer for "no such item" and "someone else's item".
    ToolError::new(format!("Todo {id} not found.")).into()
}

fn over_quota(quota: u32) -> Failure {
    ToolError::new(format!(
        "You already have {quota} todo items, the most allowed; delete some to add more."
    ))
    .into()
}

/// Refused while maintenance mode is on (in any process sharing the store).
async fn writable(db: &Db) -> Result<(), Failure> {
    if db.maintenance().await? {
        return Err(ToolError::new(
            "The service is in maintenance mode; todo items are read-only until it ends.",
        )
        .into());
    }
    Ok(())
}

/// List the caller's todo items.
///
/// # Arguments
/// * `include_done` - Also list items already done (default: true).
#[tool(scope = TODO_READ, read_only)]
pub async fn list_todos(
    token: AccessToken,
    db: State<Db>,
    include_done: Option<bool>,
) -> Result<TodoList, Failure> {
    let todos = db
        .list_todos(token.subject(), include_done.unwrap_or(true))
        .await?;
    Ok(TodoList { todos })
}

/// What `review_todos` found.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Review {
    /// Whose items these are: the token's subject.
    pub subject: String,
    /// How many items the caller has.
    pub total: u64,
    /// How many of them are still open.
    pub open: u64,
    /// How many of them are done.
    pub done: u64,
}

/// The longest `pause_ms` `review_todos` accepts.
pub const MAX_REVIEW_PAUSE_MS: u64 = 2000;

/// Go through the caller's todo items one at a time, reporting progress after
/// each (the item's title as the message) when the call asks for progress,
/// and say whose items they are and how many are open and done.
///
/// # Arguments
/// * `pause_ms` - Time spent on each item, in milliseconds (default 0, at most 2000), so that a client can watch the progress.
#[tool(scope = TODO_READ, read_only)]
pub async fn review_todos(
    token: AccessToken,
    db: State<Db>,
    cx: ToolContext,
    pause_ms: Option<u64>,
) -> Result<Review, Failure> {
    let pause = pause_ms.unwrap_or(0);
    if pause > MAX_REVIEW_PAUSE_MS {
        return Err(ToolError::new(format!("`pause_ms` is at most {MAX_REVIEW_PAUSE_MS}.")).into());
    }
    // Read first: nothing in the store is held across the pauses.
    let todos = list_todos(token.clone(), db, None).await?.todos;
    let total = todos.len();
    let progress_token = cx.rmcp().meta.get_progress_token();
    for (i, item) in todos.iter().enumerate() {
        if pause > 0 {
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
        if let Some(progress_token) = &progress_token {
            let mut note = ProgressNotificationParam::new(progress_token.clone(), (i + 1) as f64);
            note.total = Some(total as f64);
            note.message = Some(item.title.clone());
            // Fails only when the client has gone: nobody is left to answer.
            cx.peer()
                .notify_progress(note)
                .await
                .map_err(|e| ToolError::new(format!("Could not send progress: {e}")))?;
        }
    }
    let done = todos.iter().filter(|t| t.done).count();
    Ok(Review {
        subject: token.subject().to_owned(),
        total: total as u64,
        open: (total - done) as u64,
        done: done as u64,
    })
}

/// The URI of the caller's todo items.
pub const ITEMS: &str = "todo://items";

/// The caller's own todo items, as JSON (the resource form of `list_todos`).
#[resource(
    uri = "todo://items",
    scope = TODO_READ,
    name = "my-todos",
    mime_type = "application/json"
)]
pub async fn todo_items(token: AccessToken, db: State<Db>) -> Result<TodoList, Failure> {
    list_todos(token, db, None).await
}

/// Plan the caller's day from their open todo items.
///
/// # Arguments
/// * `focus` - What matters most today (at most 200 characters).
#[prompt(scope = TODO_READ, title = "Plan my day")]
pub async fn plan_my_day(
    token: AccessToken,
    db: State<Db>,
    focus: Option<String>,
) -> Result<String, Failure> {
    let focus = focus.unwrap_or_default();
    if focus.chars().count() > 200 {
        return Err(ToolError::new("`focus` is at most 200 characters.").into());
    }
    let open = list_todos(token, db, Some(false)).await?.todos;
    let mut text = String::from("Plan my day. My open todo items:\n");
    if open.is_empty() {
        text.push_str("(none)\n");
    }
    for t in &open {
        let due = t
            .due
            .as_deref()
            .map(|d| format!(" (due {d})"))
            .unwrap_or_default();
        text.push_str(&format!("- {}{due}\n", t.title));
    }
    if !focus.trim().is_empty() {
        text.push_str(&format!(
            "Above all, today I want to focus on: {}\n",
            focus.trim()
        ));
    }
    text.push_str("Order them into a realistic schedule and say what to postpone.");
    Ok(text)
}

/// Create a todo item for the caller (up to 1000 items each, by default).
///
/// # Arguments
/// * `title` - What needs doing (1 to 200 characters).
/// * `due` - When it is due, free text such as `2026-12-01` (at most 64 characters).
#[tool(scope = TODO_WRITE)]
pub async fn create_todo(
    token: AccessToken,
    db: State<Db>,
    quota: State<TodoQuota>,
    updates: ResourceUpdates,
    title: String,
    due: Option<String>,
) -> Result<Todo, Failure> {
    writable(&db).await?;
    let title = clean_title(&title)?;
    limits::check_optional("due date", due.as_deref(), limits::DUE)?;
    let TodoQuota(quota) = *quota;
    let new = NewTodo {
        title: &title,
        due: due.as_deref(),
    };
    let todo = db
        .create_todo(token.subject(), new, quota)
        .await?
        .ok_or_else(|| over_quota(quota))?;
    items_changed(&updates);
    Ok(todo)
}

/// Tells the caller's clients listening for [`ITEMS`] that it changed: the
/// caller's own, since every user has their own items.
fn items_changed(updates: &ResourceUpdates) {
    updates.notify_caller(ITEMS);
}

/// Update one of the caller's todo items. Fields left out stay as they are.
///
/// # Arguments
/// * `id` - The item's id.
/// * `title` - A new title (1 to 200 characters).
/// * `done` - Mark the item done or not done.
/// * `due` - A new due date (at most 64 characters).
#[tool(scope = TODO_WRITE, idempotent)]
pub async fn update_todo(
    token: AccessToken,
    db: State<Db>,
    updates: ResourceUpdates,
    id: i64,
    title: Option<String>,
    done: Option<bool>,
    due: Option<String>,
) -> Result<Todo, Failure> {
    writable(&db).await?;
    let title = title.as_deref().map(clean_title).transpose()?;
    limits::check_optional("due date", due.as_deref(), limits::DUE)?;
    let change = TodoChange {
        title: title.as_deref(),
        done,
        due: due.as_deref(),
    };
    let todo = db
        .update_todo(token.subject(), id, change)
        .await?
        .ok_or_else(|| not_found(id))?;
    items_changed(&updates);
    Ok(todo)
}

/// Delete one of the caller's todo items. Clients that can be asked
/// (protocol 2026-07-28, elicitation) confirm with the user first.
///
/// # Arguments
/// * `id` - The item's id.
#[tool(scope = TODO_WRITE, destructive)]
pub async fn delete_todo(
    token: AccessToken,
    db: State<Db>,
    ctx: ToolContext,
    updates: ResourceUpdates,
    id: i64,
) -> Result<Deleted, Failure> {
    writable(&db).await?;
    let todos = db.list_todos(token.subject(), true).await?;
    let Some(todo) = todos.iter().find(|t| t.id == id) else {
        return Err(not_found(id));
    };
    crate::error::confirm(
        &ctx,
        format!("Delete todo {id}, \"{}\"?", todo.title),
        format!("Cancelled: the user declined; todo {id} was not deleted."),
    )?;
    if !db.delete_todo(token.subject(), id).await? {
        return Err(not_found(id));
    }
    items_changed(&updates);
    Ok(Deleted { deleted: id })
}
