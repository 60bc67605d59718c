//! A server built with a scope vocabulary: what it advertises, the hierarchy
//! it applies, and the tools it refuses to serve.

use axum::body::Body;
use http::{Request, header};
use http_body_util::BodyExt;
use mcp_runtime::{
    AccessToken, DeclaredScope, Error, McpServer, McpServerBuilder, ScopeHierarchy, Vocabulary,
    auth::StaticTokenVerifier, tool,
};
use serde_json::Value;
use tower::ServiceExt;

mcp_runtime::scopes! {
    /// The scopes of these tests.
    pub SCOPES {
        TODO_READ = "todo:read" => "Read your todo items",
        TODO_WRITE = "todo:write" => "Create and change todo items",
        SYSTEM_ADMIN = "system:admin" => "Administer the server"; implies [SYSTEM_WRITE],
        SYSTEM_WRITE = "system:write" => "Change the server's settings"; implies [SYSTEM_READ],
        SYSTEM_READ = "system:read" => "Read the server's status",
    }
}

/// A scope constant holding something that is not a scope.
const NOT_A_SCOPE: &str = "todo read";

/// Adds a todo item.
#[tool(scope = TODO_WRITE)]
fn create_todo(title: String) -> String {
    title
}

/// Reads the status.
#[tool(scope = crate::SYSTEM_READ)]
fn status() -> String {
    "ok".into()
}

/// Exports everything, with a scope the vocabulary lacks.
#[tool(scopes = [TODO_READ, "todo:export"])]
fn export() -> String {
    String::new()
}

/// Requires a constant that is no scope.
#[tool(any_scope = [NOT_A_SCOPE])]
fn broken() -> String {
    String::new()
}

fn verifier() -> StaticTokenVerifier {
    StaticTokenVerifier::new().with_token(
        "admin",
        AccessToken::new("admin", "root").with_scopes(["system:admin"]),
    )
}

fn builder() -> McpServerBuilder {
    McpServer::builder()
        .tool::<create_todo>()
        .tool::<status>()
        .auth(verifier())
        .vocabulary(&SCOPES)
}

/// The protected resource metadata `server` serves.
async fn metadata(server: McpServer) -> Value {
    let req = Request::get("/.well-known/oauth-protected-resource/mcp")
        .header(header::HOST, "localhost:3002")
        .body(Body::empty())
        .unwrap();
    let res = server.into_router().oneshot(req).await.unwrap();
    assert_eq!(res.status(), 200);
    serde_json::from_slice(&res.into_body().collect().await.unwrap().to_bytes()).unwrap()
}

#[tokio::test]
async fn scopes_supported_is_the_vocabulary_sorted() {
    let v = metadata(builder().build().unwrap()).await;
    assert_eq!(
        v["scopes_supported"],
        serde_json::json!([
            "system:admin",
            "system:read",
            "system:write",
            "todo:read",
            "todo:write"
        ])
    );
}

#[tokio::test]
async fn explicit_scopes_supported_wins() {
    let server = builder().scopes_supported(["todo:read"]).build().unwrap();
    assert_eq!(
        metadata(server).await["scopes_supported"],
        serde_json::json!(["todo:read"])
    );
}

#[tokio::test]
async fn the_vocabulary_hierarchy_applies_and_merges() {
    let server = builder()
        .scope_hierarchy(ScopeHierarchy::new().with_implication("root", ["system:admin"]))
        .build()
        .unwrap();
    for token in ["system:admin", "root"] {
        let token = AccessToken::new("t", "alice").with_scopes([token]);
        let result = server.call_tool("status", None, Some(token)).await.unwrap();
        assert_eq!(result.is_error, Some(false), "{result:?}");
    }
    let token = AccessToken::new("t", "alice").with_scopes(["todo:write"]);
    let result = server.call_tool("status", None, Some(token)).await.unwrap();
    assert_eq!(result.is_error, Some(true));
}

#[test]
fn descriptions_come_from_the_vocabulary() {
    let server = builder().build().unwrap();
    assert_eq!(
        server.scope_description(SYSTEM_ADMIN),
        Some("Administer the server")
    );
    assert_eq!(server.scope_description("hr:read"), None);
    assert_eq!(server.vocabulary().map(Vocabulary::name), Some("SCOPES"));
    let plain = McpServer::builder().tool::<status>().build().unwrap();
    assert_eq!(plain.scope_description(SYSTEM_READ), None);
}

#[test]
fn a_literal_outside_the_vocabulary_stops_the_build() {
    let err = builder().tool::<export>().build().unwrap_err();
    let Error::ScopeNotInVocabulary {
        kind,
        name,
        location,
        scope,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (*kind, name.as_str(), *scope),
        ("tool", "export", "todo:export")
    );
    assert!(
        location.starts_with("mcp-runtime/tests/vocabulary.rs:"),
        "{location}"
    );
    let vocabulary_at = SCOPES.location().unwrap();
    assert_eq!(
        err.to_string(),
        format!(
            "tool `export` (declared at {location}) requires the scope `todo:export`, which the \
             vocabulary `SCOPES` (declared at {vocabulary_at}) does not declare; declare it there \
             or require one of its scopes"
        )
    );
}

#[test]
fn a_near_miss_is_named() {
    /// Reads todo items, misspelt.
    #[tool(scope = "todo:raed")]
    fn misspelt() {}

    let err = builder().tool::<misspelt>().build().unwrap_err();
    assert!(
        err.to_string()
            .contains("does not declare (did you mean `todo:read`?); declare it there"),
        "{err}"
    );
}

#[test]
fn a_constant_that_is_no_scope_token_stops_the_build() {
    let err = McpServer::builder().tool::<broken>().build().unwrap_err();
    let Error::InvalidScope {
        kind,
        name,
        location,
        scope,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (*kind, name.as_str(), *scope),
        ("tool", "broken", "todo read")
    );
    assert_eq!(
        err.to_string(),
        format!(
            "tool `broken` (declared at {location}) requires the scope \"todo read\", which is \
             not one RFC 6749 scope token (printable ASCII except space, `\"` and `\\`); fix the \
             scope it names"
        )
    );
}

#[test]
fn a_vocabulary_that_contradicts_itself_stops_the_build() {
    static DANGLING: Vocabulary = Vocabulary::new(
        "DANGLING",
        &[DeclaredScope::new(
            "system:admin",
            "Administer",
            &["system:root"],
        )],
    );
    let err = McpServer::builder()
        .tool::<status>()
        .vocabulary(&DANGLING)
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "vocabulary `DANGLING`: `system:admin` implies `system:root`, which the vocabulary does not declare"
    );
}
