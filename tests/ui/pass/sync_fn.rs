use mcp_runtime::{ToolHandle, tool};

/// Add two numbers.
#[tool(public)]
fn add(a: i64, mut b: i64) -> String {
    b += a;
    b.to_string()
}

/// No parameters at all.
#[tool(public)]
pub fn ping() -> String {
    "pong".into()
}

/// Left out of every build, handle and registration included.
#[tool(public)]
#[cfg(any())]
fn never() {}

/// Deprecated for Rust callers, still served.
#[tool(public)]
#[deprecated = "call `add`"]
fn old_add(a: i64, b: i64) -> String {
    (a + b).to_string()
}

fn main() {
    assert_eq!(add(1, 2), "3");
    assert_eq!(<add as ToolHandle>::DEF.name, "add");
    assert_eq!(<ping as ToolHandle>::DEF.name, "ping");
    assert_eq!(<old_add as ToolHandle>::DEF.name, "old_add");
}
