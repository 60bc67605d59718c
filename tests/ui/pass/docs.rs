//! Descriptions from every form of doc comment.

use mcp_runtime::{AccessToken, State, ToolHandle, tool};

struct Store;

/** A block doc comment.

Second paragraph.
*/
#[tool(public)]
fn block() {}

#[doc = "An attribute doc."]
#[tool(public)]
fn attribute() {}

/// Create a todo.
///
/// # Arguments
///
/// - `title`: What needs doing,
///   on two lines.
/// * `r#type` – The kind of todo.
/// * `token` - The caller (injected, so not in the schema).
/// * `store` - Documented through its pattern.
///
/// # Errors
///
/// None.
#[tool(public)]
fn documented(
    title: String,
    r#type: String,
    token: AccessToken,
    State(store): State<Store>,
) -> String {
    let _ = (token, store);
    format!("{title}{type}", type = r#type)
}

/// A raw identifier as the tool's name.
#[tool(public)]
fn r#match(r#in: String) -> String {
    r#in
}

fn main() {
    let tool = (<block as ToolHandle>::DEF.describe)();
    assert_eq!(
        tool.description.as_deref(),
        Some("A block doc comment.\n\nSecond paragraph.")
    );
    let tool = (<attribute as ToolHandle>::DEF.describe)();
    assert_eq!(tool.description.as_deref(), Some("An attribute doc."));
    let tool = (<documented as ToolHandle>::DEF.describe)();
    assert_eq!(
        tool.description.as_deref(),
        Some("Create a todo.\n\n# Errors\n\nNone.")
    );
    let props = &tool.input_schema["properties"];
    assert_eq!(
        props["title"]["description"],
        "What needs doing, on two lines."
    );
    assert_eq!(props["type"]["description"], "The kind of todo.");
    assert_eq!(props.as_object().unwrap().len(), 2);
    assert_eq!(<r#match as ToolHandle>::DEF.name, "match");
    let tool = (<r#match as ToolHandle>::DEF.describe)();
    assert!(tool.input_schema["properties"]["in"].is_object());
}
