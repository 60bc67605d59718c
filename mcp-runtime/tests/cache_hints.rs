//! Cache hints (`ttlMs`, `cacheScope`) on list and read results at protocol
//! 2026-07-28, through the HTTP app in process (`oneshot`): a result that
//! depends on the caller is never `public`.

use std::time::Duration;

use axum::{Router, body::Body};
use http_body_util::BodyExt;
use mcp_runtime::{
    AccessToken, McpServer, McpServerBuilder, ScopeRule,
    auth::StaticTokenVerifier,
    get_access_token,
    rmcp::model::{
        GetPromptResult, Prompt, PromptMessage, ReadResourceResult, Resource, ResourceContents,
        ResourceTemplate, Role,
    },
    tool,
};
use mcp_test_client::{Mcp, PROTOCOL_VERSION};
use serde_json::{Value, json};
use tower::ServiceExt;

/// Reads the notes.
#[tool(scope = "notes:read")]
fn read_notes() -> String {
    "notes".to_owned()
}

/// Writes a note.
#[tool(scope = "notes:write")]
fn write_note() -> String {
    "written".to_owned()
}

fn text(uri: String, text: String) -> ReadResourceResult {
    ReadResourceResult::new(vec![ResourceContents::text(text, uri)])
}

/// The caller's subject, or `nobody`.
fn caller() -> String {
    get_access_token().map_or_else(|| "nobody".to_owned(), |t| t.subject().to_owned())
}

fn builder() -> McpServerBuilder {
    let token = |name: &str, scopes: &[&str]| {
        AccessToken::new(name, name).with_scopes(scopes.iter().map(|s| (*s).to_owned()))
    };
    let verifier = StaticTokenVerifier::new()
        .with_token("alice", token("alice", &["notes:read"]))
        .with_token("bob", token("bob", &["notes:read", "notes:write"]));
    McpServer::builder()
        .tool::<read_notes>()
        .tool::<write_note>()
        // Public to every caller, yet its content is the caller's own.
        .resource(
            Resource::new("notes://mine", "mine"),
            ScopeRule::Public,
            |r| async move { Ok(text(r.uri, caller())) },
        )
        .resource(
            Resource::new("notes://readme", "readme"),
            ScopeRule::All(&["notes:read"]),
            |r| async move { Ok(text(r.uri, "the same for all".to_owned())) },
        )
        .resource(
            Resource::new("notes://drafts", "drafts"),
            ScopeRule::All(&["notes:write"]),
            |r| async move { Ok(text(r.uri, format!("drafts of {}", caller()))) },
        )
        .resource_template(
            ResourceTemplate::new("notes://by/{who}", "by"),
            ScopeRule::All(&["notes:read"]),
            |r, vars| async move {
                Ok(text(
                    r.uri,
                    format!("{} as seen by {}", vars["who"], caller()),
                ))
            },
        )
        .prompt(
            Prompt::new("review", Some("Review my notes"), None),
            ScopeRule::All(&["notes:write"]),
            |_, _| async move {
                Ok(GetPromptResult::new(vec![PromptMessage::new_text(
                    Role::User,
                    format!("Review {}'s notes.", caller()),
                )]))
            },
        )
        .auth(verifier)
        .cache_ttl(Duration::from_secs(60))
        .resource_cache_ttl("notes://readme", Duration::from_millis(1500))
        .resource_cache_ttl("notes://by/{who}", Duration::from_secs(5))
}

fn app(filtered: bool) -> Router {
    builder()
        .filter_listings(filtered)
        .build()
        .unwrap()
        .into_router()
}

/// `method` with `params` as `token`, at `version` (2026-07-28 without
/// `initialize`: its details in `_meta`, the standard headers sent).
async fn send(app: &Router, version: &str, token: &str, method: &str, mut params: Value) -> Value {
    let mut client = Mcp::new("/mcp")
        .header("host", "localhost:3002")
        .header("mcp-protocol-version", version)
        .bearer(Some(token));
    if version == "2026-07-28" {
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": version,
            "io.modelcontextprotocol/clientCapabilities": {},
        });
        client = client.header("mcp-method", method);
        if let Some(name) = params.get("name").or_else(|| params.get("uri")) {
            client = client.header("mcp-name", name.as_str().unwrap());
        }
    }
    let message = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let res = app
        .clone()
        .oneshot(client.http_request(&message).map(Body::from))
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{method} {params}");
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let reply: Value = serde_json::from_slice(&body).unwrap();
    assert!(reply.get("result").is_some(), "{method} {params}: {reply}");
    reply["result"].clone()
}

/// Every list and read a caller can make here.
fn requests() -> Vec<(&'static str, Value)> {
    vec![
        ("tools/list", json!({})),
        ("resources/list", json!({})),
        ("resources/templates/list", json!({})),
        ("prompts/list", json!({})),
        ("resources/read", json!({"uri": "notes://mine"})),
        ("resources/read", json!({"uri": "notes://readme"})),
        ("resources/read", json!({"uri": "notes://by/carol"})),
    ]
}

/// `result` without its cache hints.
fn content(result: &Value) -> Value {
    let mut result = result.clone();
    let object = result.as_object_mut().unwrap();
    object.remove("ttlMs");
    object.remove("cacheScope");
    result
}

#[tokio::test]
async fn a_result_that_depends_on_the_caller_is_never_public() {
    for filtered in [false, true] {
        let app = app(filtered);
        for (method, params) in requests() {
            let alice = send(&app, "2026-07-28", "alice", method, params.clone()).await;
            let bob = send(&app, "2026-07-28", "bob", method, params.clone()).await;
            let case = format!("{method} {params} (filtered: {filtered})");
            for result in [&alice, &bob] {
                let scope = result["cacheScope"].as_str();
                assert!(
                    matches!(scope, Some("public" | "private")),
                    "{case}: {result}"
                );
                if content(&alice) != content(&bob) {
                    assert_eq!(
                        scope,
                        Some("private"),
                        "{case}: differs by caller, yet {result}"
                    );
                }
            }
            // Every read is private, whatever its content: it runs with the
            // caller's token.
            if method == "resources/read" {
                assert_eq!(alice["cacheScope"], "private", "{case}");
            }
        }
    }
}

#[tokio::test]
async fn listings_are_public_unless_filtered_and_ttls_are_as_configured() {
    let cases = [
        // (filtered, method, params, ttlMs, cacheScope)
        (false, "tools/list", json!({}), 60_000, "public"),
        (false, "resources/list", json!({}), 60_000, "public"),
        (
            false,
            "resources/templates/list",
            json!({}),
            60_000,
            "public",
        ),
        (false, "prompts/list", json!({}), 60_000, "public"),
        (true, "tools/list", json!({}), 60_000, "private"),
        (true, "resources/list", json!({}), 60_000, "private"),
        (
            true,
            "resources/templates/list",
            json!({}),
            60_000,
            "private",
        ),
        (true, "prompts/list", json!({}), 60_000, "private"),
        (
            false,
            "resources/read",
            json!({"uri": "notes://mine"}),
            60_000,
            "private",
        ),
        (
            false,
            "resources/read",
            json!({"uri": "notes://readme"}),
            1500,
            "private",
        ),
        (
            false,
            "resources/read",
            json!({"uri": "notes://by/carol"}),
            5000,
            "private",
        ),
    ];
    for (filtered, method, params, ttl, scope) in cases {
        let result = send(&app(filtered), "2026-07-28", "bob", method, params.clone()).await;
        let case = format!("{method} {params} (filtered: {filtered})");
        assert_eq!(result["ttlMs"], ttl, "{case}: {result}");
        assert_eq!(result["cacheScope"], scope, "{case}: {result}");
    }
    // The filtered listing does differ by caller: alice lacks notes:write.
    let app = app(true);
    let alice = send(&app, "2026-07-28", "alice", "tools/list", json!({})).await;
    let bob = send(&app, "2026-07-28", "bob", "tools/list", json!({})).await;
    assert_eq!(alice["tools"].as_array().unwrap().len(), 1, "{alice}");
    assert_eq!(bob["tools"].as_array().unwrap().len(), 2, "{bob}");
}

#[tokio::test]
async fn revisions_before_2026_07_28_get_no_cache_hints() {
    let app = app(false);
    for version in [PROTOCOL_VERSION, "2025-11-25"] {
        for (method, params) in requests() {
            let result = send(&app, version, "bob", method, params.clone()).await;
            assert!(
                result.get("ttlMs").is_none() && result.get("cacheScope").is_none(),
                "{version} {method}: {result}"
            );
        }
    }
}

#[test]
fn a_ttl_for_an_item_that_is_not_served_is_refused() {
    let err = builder()
        .resource_cache_ttl("notes://mien", Duration::from_secs(1))
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "resource_cache_ttl: `notes://mien` is neither the URI of a resource nor the URI template of a resource template of this server"
    );
}
