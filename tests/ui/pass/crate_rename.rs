//! `crate = ...` for a runtime that is not reachable as `::mcp_runtime`.

extern crate mcp_runtime as my_runtime;

use my_runtime::{ToolHandle, tool};

mod rt {
    pub use my_runtime::*;
}

/// A path.
#[tool(crate = ::my_runtime, scope = "a")]
fn with_path(title: String) -> String {
    title
}

/// A string.
#[tool(crate = "::my_runtime", public)]
fn with_string(title: Option<String>) -> Option<String> {
    title
}

/// A relative path, to a re-export.
#[tool(crate = rt, public)]
fn relative(n: u32) -> Vec<u32> {
    vec![n]
}

fn main() {
    let _ = <with_path as ToolHandle>::DEF;
    let _ = <with_string as ToolHandle>::DEF;
    let _ = <relative as ToolHandle>::DEF;
}
