use mcp_runtime::{ScopeRule, ToolHandle, tool};

/// Public: any caller the server admits.
#[tool(public)]
fn open() {}

/// One scope.
#[tool(scope = "todo:write")]
fn one() {}

/// Several scopes, all required.
#[tool(scopes = ["hr:read", "finance:read"])]
fn all() {}

/// A list of one, and a trailing comma.
#[tool(scopes = ["hr:read",])]
fn list_of_one() {}

/// Any of several scopes.
#[tool(any_scope = ["hr:read", "finance:read"])]
fn any() {}

/// The whole RFC 6749 scope-token alphabet, as a raw string.
#[tool(scopes = [r"!#$%&'()*+,-./0123456789:;<=>?@AZ[]^_`az{|}~"], read_only)]
fn odd() {}

fn main() {
    assert_eq!(<open as ToolHandle>::DEF.scopes, ScopeRule::Public);
    assert_eq!(
        <one as ToolHandle>::DEF.scopes,
        ScopeRule::All(&["todo:write"])
    );
    assert_eq!(
        <all as ToolHandle>::DEF.scopes,
        ScopeRule::All(&["hr:read", "finance:read"])
    );
    assert_eq!(
        <list_of_one as ToolHandle>::DEF.scopes,
        ScopeRule::All(&["hr:read"])
    );
    assert_eq!(
        <any as ToolHandle>::DEF.scopes,
        ScopeRule::Any(&["hr:read", "finance:read"])
    );
    assert_eq!(<odd as ToolHandle>::DEF.scopes.scopes().len(), 1);
}
