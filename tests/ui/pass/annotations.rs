use mcp_runtime::{ToolHandle, tool};

/// Bare flags.
#[tool(read_only, idempotent, public)]
fn bare() {}

/// Every flag, spelled out.
#[tool(
    public,
    read_only = false,
    destructive = true,
    idempotent = false,
    open_world = true
)]
fn spelled() {}

/// Mixed, with a trailing comma.
#[tool(public, destructive, open_world = false)]
fn mixed() {}

/// Overridden by the attribute.
#[tool(
    name = "renamed-tool.v2",
    title = "A renamed tool",
    description = "The attribute's description wins.",
    read_only,
    public
)]
fn named() {}

#[tool(description = "No doc comment needed.", public)]
fn undocumented() {}

fn main() {
    assert_eq!(<named as ToolHandle>::DEF.name, "renamed-tool.v2");
    let tool = (<named as ToolHandle>::DEF.describe)();
    assert_eq!(tool.title.as_deref(), Some("A renamed tool"));
    assert_eq!(
        tool.description.as_deref(),
        Some("The attribute's description wins.")
    );
    let a = (<spelled as ToolHandle>::DEF.describe)()
        .annotations
        .unwrap();
    assert_eq!(
        (
            a.read_only_hint,
            a.destructive_hint,
            a.idempotent_hint,
            a.open_world_hint
        ),
        (Some(false), Some(true), Some(false), Some(true))
    );
    let a = (<bare as ToolHandle>::DEF.describe)().annotations.unwrap();
    assert_eq!((a.read_only_hint, a.destructive_hint), (Some(true), None));
    let a = (<mixed as ToolHandle>::DEF.describe)().annotations.unwrap();
    assert_eq!(
        (a.destructive_hint, a.open_world_hint),
        (Some(true), Some(false))
    );
    assert!(
        (<undocumented as ToolHandle>::DEF.describe)()
            .annotations
            .is_none()
    );
}
