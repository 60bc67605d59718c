//! Scopes named by constants: a vocabulary's, another module's, mixed
//! with literals.

use mcp_runtime::{ScopeRule, ToolHandle, tool};

mcp_runtime::scopes! {
    /// The scopes of this crate.
    pub SCOPES {
        TODO_READ = "todo:read" => "Read your todo items",
        TODO_WRITE = "todo:write" => "Create and change todo items"; implies [TODO_READ],
    }
}

mod hr {
    mcp_runtime::scopes! {
        /// The HR scopes.
        pub HR {
            HR_READ = "hr:read" => "Read employee records",
        }
    }

    /// A scope from a plain constant, not a vocabulary.
    pub const FINANCE_READ: &str = "finance:read";
}

/// One scope, by its constant.
#[tool(scope = TODO_WRITE)]
fn one() {}

/// Several scopes, one by a path through a module, all required.
#[tool(scopes = [TODO_READ, self::hr::HR_READ])]
fn all() {}

/// Any of several, a constant and a literal.
#[tool(any_scope = [hr::FINANCE_READ, "hr:write"], read_only)]
fn any() {}

/// A path starting at `self`, and a trailing comma.
#[tool(scopes = [self::TODO_READ,])]
fn with_self() {}

fn main() {
    assert_eq!(
        <one as ToolHandle>::DEF.scopes,
        ScopeRule::All(&["todo:write"])
    );
    assert_eq!(
        <all as ToolHandle>::DEF.scopes,
        ScopeRule::All(&["todo:read", "hr:read"])
    );
    assert_eq!(
        <any as ToolHandle>::DEF.scopes,
        ScopeRule::Any(&["finance:read", "hr:write"])
    );
    assert_eq!(
        <with_self as ToolHandle>::DEF.scopes,
        ScopeRule::All(&["todo:read"])
    );
    assert!(SCOPES.contains(TODO_WRITE));
    assert!(hr::HR.contains(hr::HR_READ));
}
