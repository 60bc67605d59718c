//! `#[resource]`, `#[resource_template]` and `#[prompt]` through a server,
//! in process: registration, listing, contents, arguments and scopes.

use axum::{Router, body::Body};
use http_body_util::BodyExt;
use mcp_runtime::{
    AccessToken, McpServer, State, ToolError,
    auth::StaticTokenVerifier,
    prompt, resource, resource_template,
    rmcp::model::{PromptMessage, Role},
};
use mcp_test_client::{Mcp, PROTOCOL_VERSION};
use serde::Serialize;
use serde_json::{Value, json};
use tower::ServiceExt;

struct Directory {
    people: Vec<(&'static str, &'static str)>,
}

#[derive(Serialize)]
struct Person {
    id: String,
    name: String,
}

/// Everyone's names.
#[resource(uri = "hr://people", scope = "hr:read", mime_type = "text/csv")]
fn people(dir: State<Directory>) -> String {
    dir.people
        .iter()
        .map(|(_, n)| *n)
        .collect::<Vec<_>>()
        .join(",")
}

/// The caller's own name.
#[resource(uri = "me://name", public, name = "my-name", title = "My name")]
async fn my_name(token: AccessToken) -> Result<String, ToolError> {
    Ok(token.subject().to_owned())
}

/// A tiny image.
#[resource(uri = "img://dot", any_scope = ["img:read", "img:admin"])]
fn dot() -> Vec<u8> {
    vec![0x89, b'P', b'N', b'G']
}

/// One person, as JSON.
#[resource_template(uri = "hr://people/{id}", scopes = ["hr:read", "hr:pii"])]
async fn person(id: String, dir: State<Directory>) -> Option<Person> {
    let (_, name) = dir.people.iter().find(|(i, _)| *i == id)?;
    Some(Person {
        id,
        name: (*name).to_owned(),
    })
}

/// Ask about someone.
///
/// # Arguments
/// * `who` - Whom to ask about.
/// * `tone` - How to ask.
#[prompt(scope = "hr:read")]
fn ask_about(who: String, tone: Option<String>) -> Vec<PromptMessage> {
    let tone = tone.unwrap_or_else(|| "plainly".into());
    vec![PromptMessage::new_text(
        Role::User,
        format!("Tell me {tone} about {who}."),
    )]
}

/// Greet the caller.
#[prompt(public)]
async fn hello(token: Option<AccessToken>) -> String {
    let who = token.map_or_else(|| "stranger".to_owned(), |t| t.subject().to_owned());
    format!("Say hello to {who}.")
}

fn app() -> Router {
    let verifier = StaticTokenVerifier::new()
        .with_token(
            "hr",
            AccessToken::new("hr", "hana").with_scopes(["hr:read", "hr:pii", "img:admin"]),
        )
        .with_token("plain", AccessToken::new("plain", "pat"));
    McpServer::builder()
        .state(Directory {
            people: vec![("1", "Ada"), ("2", "Grace")],
        })
        .auth(verifier)
        .build()
        .unwrap()
        .into_router()
}

async fn rpc(method: &str, params: Value, token: &str) -> Value {
    let client = Mcp::new("/mcp")
        .header("host", "localhost:3002")
        .header("mcp-protocol-version", PROTOCOL_VERSION)
        .bearer(Some(token));
    let req = client.http_request(&mcp_test_client::rpc(method, params));
    let res = app().oneshot(req.map(Body::from)).await.unwrap();
    assert!(res.status().is_success(), "{method}: {}", res.status());
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    // JSON, or one SSE event carrying it.
    let json = text
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap_or(&text)
        .to_owned();
    serde_json::from_str(&json).unwrap()
}

#[tokio::test]
async fn declared_items_are_listed() {
    let v = rpc("resources/list", json!({}), "plain").await;
    assert_eq!(
        v["result"]["resources"],
        json!([
            {"uri": "hr://people", "name": "people", "description": "Everyone's names.", "mimeType": "text/csv"},
            {"uri": "img://dot", "name": "dot", "description": "A tiny image."},
            {"uri": "me://name", "name": "my-name", "title": "My name", "description": "The caller's own name."},
        ]),
        "{v}"
    );
    let v = rpc("resources/templates/list", json!({}), "plain").await;
    assert_eq!(
        v["result"]["resourceTemplates"],
        json!([{"uriTemplate": "hr://people/{id}", "name": "person", "description": "One person, as JSON."}])
    );
    let v = rpc("prompts/list", json!({}), "plain").await;
    assert_eq!(
        v["result"]["prompts"],
        json!([
            {"name": "ask_about", "description": "Ask about someone.", "arguments": [
                {"name": "who", "description": "Whom to ask about.", "required": true},
                {"name": "tone", "description": "How to ask.", "required": false},
            ]},
            {"name": "hello", "description": "Greet the caller."},
        ])
    );
}

#[tokio::test]
async fn contents_follow_the_return_type() {
    let read = |uri: &'static str| rpc("resources/read", json!({"uri": uri}), "hr");
    let v = read("hr://people").await;
    assert_eq!(
        v["result"]["contents"],
        json!([{"uri": "hr://people", "mimeType": "text/csv", "text": "Ada,Grace"}])
    );
    let v = read("me://name").await;
    assert_eq!(v["result"]["contents"][0]["text"], "hana");
    let v = read("img://dot").await;
    assert_eq!(
        v["result"]["contents"],
        json!([{"uri": "img://dot", "mimeType": "application/octet-stream", "blob": "iVBORw=="}])
    );
    let v = read("hr://people/2").await;
    let contents = &v["result"]["contents"][0];
    assert_eq!(contents["mimeType"], "application/json");
    let person: Value = serde_json::from_str(contents["text"].as_str().unwrap()).unwrap();
    assert_eq!(person, json!({"id": "2", "name": "Grace"}));
    let v = read("hr://people/9").await;
    assert_eq!(v["error"]["code"], -32002, "{v}");
    assert_eq!(v["error"]["message"], "Resource not found: hr://people/9");
}

#[tokio::test]
async fn prompts_get_their_arguments_and_the_caller() {
    let v = rpc(
        "prompts/get",
        json!({"name": "ask_about", "arguments": {"who": "Ada"}}),
        "hr",
    )
    .await;
    assert_eq!(
        v["result"]["messages"],
        json!([{"role": "user", "content": {"type": "text", "text": "Tell me plainly about Ada."}}])
    );
    let v = rpc(
        "prompts/get",
        json!({"name": "ask_about", "arguments": {"who": "Ada", "tone": "kindly"}}),
        "hr",
    )
    .await;
    assert_eq!(
        v["result"]["messages"][0]["content"]["text"],
        "Tell me kindly about Ada."
    );
    let v = rpc("prompts/get", json!({"name": "hello"}), "plain").await;
    assert_eq!(
        v["result"]["messages"][0]["content"]["text"],
        "Say hello to pat."
    );
    let v = rpc("prompts/get", json!({"name": "ask_about"}), "hr").await;
    assert_eq!(v["error"]["code"], -32602, "{v}");
}

#[tokio::test]
async fn each_rule_is_enforced() {
    let refused = [
        (
            "resources/read",
            json!({"uri": "hr://people"}),
            "Insufficient permissions: `hr:read` scope required.",
        ),
        (
            "resources/read",
            json!({"uri": "hr://people/1"}),
            "Insufficient permissions: `hr:read` scope required.",
        ),
        (
            "resources/read",
            json!({"uri": "img://dot"}),
            "Insufficient permissions: `img:read` or `img:admin` scope required.",
        ),
        (
            "prompts/get",
            json!({"name": "ask_about", "arguments": {"who": "Ada"}}),
            "Insufficient permissions: `hr:read` scope required.",
        ),
    ];
    for (method, params, message) in refused {
        let v = rpc(method, params.clone(), "plain").await;
        assert_eq!(v["error"]["code"], -32003, "{method} {params}: {v}");
        assert_eq!(v["error"]["message"], message);
    }
    let v = rpc("resources/read", json!({"uri": "me://name"}), "plain").await;
    assert_eq!(v["result"]["contents"][0]["text"], "pat");
}

#[test]
fn the_permission_model_names_every_item_and_rule() {
    let server = McpServer::builder()
        .state(Directory { people: vec![] })
        .scope_hierarchy(mcp_runtime::ScopeHierarchy::new().with_chain(["hr:admin", "hr:read"]))
        .build()
        .unwrap();
    let table = server.permissions().to_string();
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(
        lines,
        [
            "KIND               NAME              RULE                              HINTS",
            "resource           hr://people       hr:read (or hr:admin)",
            "resource           img://dot         img:read or img:admin",
            "resource           me://name         public",
            "resource_template  hr://people/{id}  hr:read (or hr:admin) and hr:pii",
            "prompt             ask_about         hr:read (or hr:admin)",
            "prompt             hello             public",
        ],
        "{table}"
    );
    let json = serde_json::to_value(server.permissions()).unwrap();
    assert_eq!(
        json["items"][3],
        json!({
            "kind": "resource_template",
            "name": "hr://people/{id}",
            "rule": "all_of",
            "scopes": [
                {"scope": "hr:read", "granted_by": ["hr:admin"]},
                {"scope": "hr:pii", "granted_by": []},
            ],
            "hints": [],
        })
    );
}

#[test]
fn a_server_can_serve_only_the_items_it_names() {
    let server = McpServer::builder()
        .item::<dot>()
        .item::<hello>()
        .item::<dot>()
        .build()
        .unwrap();
    let names: Vec<_> = server
        .permissions()
        .items
        .iter()
        .map(|i| (i.kind, i.name.clone()))
        .collect();
    assert_eq!(
        names,
        [
            ("resource", "img://dot".to_owned()),
            ("prompt", "hello".to_owned())
        ]
    );
}

#[test]
fn a_vocabulary_covers_resources_and_prompts_too() {
    mcp_runtime::scopes! {
        /// Fewer scopes than the items use.
        pub FEW {
            HR_READ = "hr:read" => "Read HR records",
        }
    }
    let err = McpServer::builder()
        .vocabulary(&FEW)
        .item::<dot>()
        .build()
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("resource `img://dot` (declared at mcp-runtime/tests/item_macros.rs:")
            && message.contains("requires the scope `img:read`, which the vocabulary `FEW`"),
        "{message}"
    );
    let err = McpServer::builder()
        .vocabulary(&FEW)
        .item::<hello>()
        .item::<ask_about>()
        .prompt(
            mcp_runtime::rmcp::model::Prompt::new("dynamic", None::<String>, None),
            mcp_runtime::ScopeRule::All(&["hr:write"]),
            |_, _| async { Ok(mcp_runtime::rmcp::model::GetPromptResult::new(vec![])) },
        )
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("prompt `dynamic` (declared at McpServerBuilder)"),
        "{err}"
    );
}
