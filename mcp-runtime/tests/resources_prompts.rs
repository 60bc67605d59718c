//! Resources, resource templates, prompts and completions over the HTTP app
//! in process (`oneshot`).

use axum::{Router, body::Body};
use http_body_util::BodyExt;
use mcp_runtime::{
    AccessToken, Error, McpServer, McpServerBuilder, ScopeRule,
    auth::StaticTokenVerifier,
    get_access_token,
    rmcp::model::{
        CompleteResult, CompletionInfo, ContentBlock, GetPromptResult, Prompt, PromptArgument,
        PromptMessage, ReadResourceResult, Resource, ResourceContents, ResourceTemplate, Role,
    },
};
use mcp_test_client::{Mcp, PROTOCOL_VERSION, Response};
use serde_json::{Value, json};
use tower::ServiceExt;

fn builder() -> McpServerBuilder {
    McpServer::builder()
        .name("catalog")
        .resource(
            Resource::new("test://hello", "hello")
                .with_description("A greeting")
                .with_mime_type("text/plain"),
            ScopeRule::Public,
            |request| async move {
                Ok(ReadResourceResult::new(vec![ResourceContents::text(
                    "Hello, world.",
                    request.uri,
                )]))
            },
        )
        .resource(
            Resource::new("test://whoami", "whoami").with_description("The caller"),
            ScopeRule::Public,
            |request| async move {
                let who = get_access_token()
                    .map(|t| t.subject().to_owned())
                    .unwrap_or_else(|| "nobody".to_owned());
                Ok(ReadResourceResult::new(vec![ResourceContents::text(
                    who,
                    request.uri,
                )]))
            },
        )
        .resource_template(
            ResourceTemplate::new("test://items/{id}/notes/{note}", "item-note")
                .with_description("A note of an item"),
            ScopeRule::Public,
            |request, vars| async move {
                let text = format!("item {} note {}", vars["id"], vars["note"]);
                Ok(ReadResourceResult::new(vec![ResourceContents::text(
                    text,
                    request.uri,
                )]))
            },
        )
        .prompt(
            Prompt::new(
                "greet",
                Some("Greets someone"),
                Some(vec![
                    PromptArgument::new("name").with_required(true),
                    PromptArgument::new("mood"),
                ]),
            ),
            ScopeRule::Public,
            |_, args| async move {
                let mood = args.get("mood").map_or("kindly", String::as_str);
                Ok(GetPromptResult::new(vec![
                    PromptMessage::new_text(Role::User, format!("Greet {} {mood}.", args["name"])),
                    PromptMessage::new(
                        Role::User,
                        ContentBlock::resource(ResourceContents::text("x", "test://hello")),
                    ),
                ]))
            },
        )
        .resource(
            Resource::new("hr://payroll", "payroll"),
            ScopeRule::All(&["hr:read", "finance:read"]),
            |request| async move {
                Ok(ReadResourceResult::new(vec![ResourceContents::text(
                    "salaries",
                    request.uri,
                )]))
            },
        )
        .resource_template(
            ResourceTemplate::new("hr://employees/{id}", "employee"),
            ScopeRule::Any(&["hr:read", "hr:admin"]),
            |request, vars| async move {
                Ok(ReadResourceResult::new(vec![ResourceContents::text(
                    format!("employee {}", vars["id"]),
                    request.uri,
                )]))
            },
        )
        .prompt(
            Prompt::new(
                "plan",
                Some("Plans a day"),
                Some(vec![PromptArgument::new("focus").with_required(true)]),
            ),
            ScopeRule::All(&["todo:read"]),
            |_, args| async move {
                Ok(GetPromptResult::new(vec![PromptMessage::new_text(
                    Role::User,
                    format!("Plan around {}.", args["focus"]),
                )]))
            },
        )
        .completion(|request| async move {
            let mut info = CompletionInfo::default();
            if request.r#ref.as_prompt_name() == Some("greet") {
                info.values = ["alice", "albert", "bob"]
                    .into_iter()
                    .filter(|n| n.starts_with(&request.argument.value))
                    .map(str::to_owned)
                    .collect();
            }
            Ok(CompleteResult::new(info))
        })
}

fn app() -> Router {
    builder().build().unwrap().into_router()
}

async fn rpc_with(app: Router, method: &str, params: Value, token: Option<&str>) -> Value {
    let res = send(app, method, params, token).await;
    assert!((200..300).contains(&res.status), "{res:#?}");
    res.json()
}

async fn send(app: Router, method: &str, params: Value, token: Option<&str>) -> Response {
    let client = Mcp::new("/mcp")
        .header("host", "localhost:3002")
        .header("mcp-protocol-version", PROTOCOL_VERSION)
        .bearer(token);
    let req = client.http_request(&mcp_test_client::rpc(method, params));
    let (parts, body) = app.oneshot(req.map(Body::from)).await.unwrap().into_parts();
    let text = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
    let (status, headers) = (parts.status.as_u16(), parts.headers);
    Response {
        status,
        headers,
        text,
        request_id: None,
    }
}

async fn rpc(method: &str, params: Value) -> Value {
    rpc_with(app(), method, params, None).await
}

const INIT: &str = "initialize";

fn init_params() -> Value {
    json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}})
}

#[tokio::test]
async fn capabilities_are_advertised_only_for_what_was_added() {
    let v = rpc(INIT, init_params()).await;
    let caps = &v["result"]["capabilities"];
    assert_eq!(caps["resources"], json!({}), "no subscribe, no listChanged");
    assert_eq!(caps["prompts"], json!({}));
    assert_eq!(caps["completions"], json!({}));
    assert!(caps["tools"].is_object());

    let bare = McpServer::builder().build().unwrap().into_router();
    let v = rpc_with(bare.clone(), INIT, init_params(), None).await;
    let caps = v["result"]["capabilities"].as_object().unwrap();
    for absent in ["resources", "prompts", "completions"] {
        assert!(!caps.contains_key(absent), "{absent}: {caps:?}");
    }
    for method in [
        "resources/list",
        "resources/templates/list",
        "prompts/list",
        "completion/complete",
    ] {
        let v = rpc_with(bare.clone(), method, json!({}), None).await;
        assert_eq!(v["error"]["code"], -32601, "{method}: {v}");
    }
    let v = rpc_with(bare, "resources/read", json!({"uri": "test://hello"}), None).await;
    assert_eq!(v["error"]["code"], -32601, "{v}");
}

#[tokio::test]
async fn resources_and_templates_are_listed_as_given() {
    let v = rpc("resources/list", json!({})).await;
    assert_eq!(
        v["result"]["resources"],
        json!([
            {"uri": "test://hello", "name": "hello", "description": "A greeting", "mimeType": "text/plain"},
            {"uri": "test://whoami", "name": "whoami", "description": "The caller"},
            {"uri": "hr://payroll", "name": "payroll"},
        ])
    );
    let v = rpc("resources/templates/list", json!({})).await;
    assert_eq!(
        v["result"]["resourceTemplates"],
        json!([
            {"uriTemplate": "test://items/{id}/notes/{note}", "name": "item-note", "description": "A note of an item"},
            {"uriTemplate": "hr://employees/{id}", "name": "employee"},
        ])
    );
}

#[tokio::test]
async fn a_resource_is_read_by_its_handler() {
    let v = rpc("resources/read", json!({"uri": "test://hello"})).await;
    assert_eq!(
        v["result"]["contents"],
        json!([{"uri": "test://hello", "mimeType": "text/plain", "text": "Hello, world."}])
    );
}

#[tokio::test]
async fn a_template_gets_its_variables_from_the_uri() {
    let v = rpc(
        "resources/read",
        json!({"uri": "test://items/42/notes/first%20one"}),
    )
    .await;
    assert_eq!(
        v["result"]["contents"][0]["text"], "item 42 note first one",
        "{v}"
    );
    assert_eq!(
        v["result"]["contents"][0]["uri"],
        "test://items/42/notes/first%20one"
    );
}

#[tokio::test]
async fn an_unknown_uri_is_resource_not_found() {
    for uri in [
        "test://nope",
        "test://items/42/notes",
        "test://items/4/2/notes/x",
    ] {
        let v = rpc("resources/read", json!({"uri": uri})).await;
        assert_eq!(v["error"]["code"], -32002, "{uri}: {v}");
        assert_eq!(v["error"]["message"], format!("Resource not found: {uri}"));
        assert_eq!(v["error"]["data"], json!({"uri": uri}));
    }
}

#[tokio::test]
async fn subscriptions_are_not_offered() {
    // No session to send `notifications/resources/updated` on: the methods
    // are not offered, whatever the URI or the params.
    let v = rpc(INIT, init_params()).await;
    assert!(
        v["result"]["capabilities"]["resources"]
            .get("subscribe")
            .is_none(),
        "{v}"
    );
    for method in ["resources/subscribe", "resources/unsubscribe"] {
        for params in [
            json!({"uri": "test://hello"}),
            json!({"uri": "test://nope"}),
            json!({"uri": 7}),
        ] {
            let v = rpc(method, params.clone()).await;
            assert_eq!(v["error"]["code"], -32601, "{method} {params}: {v}");
        }
    }
}

#[tokio::test]
async fn handlers_see_the_callers_token() {
    let verifier = StaticTokenVerifier::new().with_token("t", AccessToken::new("t", "carol"));
    let app = builder().auth(verifier).build().unwrap().into_router();
    let v = rpc_with(
        app,
        "resources/read",
        json!({"uri": "test://whoami"}),
        Some("t"),
    )
    .await;
    assert_eq!(v["result"]["contents"][0]["text"], "carol", "{v}");
}

#[tokio::test]
async fn prompts_are_listed_and_rendered_with_their_arguments() {
    let v = rpc("prompts/list", json!({})).await;
    assert_eq!(
        v["result"]["prompts"],
        json!([{
            "name": "greet",
            "description": "Greets someone",
            "arguments": [{"name": "name", "required": true}, {"name": "mood"}],
        }, {
            "name": "plan",
            "description": "Plans a day",
            "arguments": [{"name": "focus", "required": true}],
        }])
    );
    let v = rpc(
        "prompts/get",
        json!({"name": "greet", "arguments": {"name": "Ann", "mood": "warmly"}}),
    )
    .await;
    let messages = &v["result"]["messages"];
    assert_eq!(
        messages[0],
        json!({"role": "user", "content": {"type": "text", "text": "Greet Ann warmly."}})
    );
    assert_eq!(messages[1]["content"]["type"], "resource");
    assert_eq!(messages[1]["content"]["resource"]["uri"], "test://hello");
    let v = rpc(
        "prompts/get",
        json!({"name": "greet", "arguments": {"name": "Ann"}}),
    )
    .await;
    assert_eq!(
        v["result"]["messages"][0]["content"]["text"],
        "Greet Ann kindly."
    );
}

#[tokio::test]
async fn bad_prompt_requests_are_invalid_params() {
    let cases = [
        (json!({"name": "nope"}), "Unknown prompt: nope"),
        (
            json!({"name": "greet"}),
            "Missing required argument `name` of prompt `greet`",
        ),
        (
            json!({"name": "greet", "arguments": {"mood": "x"}}),
            "Missing required argument `name` of prompt `greet`",
        ),
        (
            json!({"name": "greet", "arguments": {"name": 7}}),
            "Argument `name` of prompt `greet` must be a string",
        ),
    ];
    for (params, message) in cases {
        let v = rpc("prompts/get", params.clone()).await;
        assert_eq!(v["error"]["code"], -32602, "{params}: {v}");
        assert_eq!(v["error"]["message"], message);
    }
}

#[tokio::test]
async fn completion_is_answered_by_the_hook() {
    let v = rpc(
        "completion/complete",
        json!({"ref": {"type": "ref/prompt", "name": "greet"}, "argument": {"name": "name", "value": "al"}}),
    )
    .await;
    assert_eq!(
        v["result"]["completion"]["values"],
        json!(["alice", "albert"]),
        "{v}"
    );
    let v = rpc(
        "completion/complete",
        json!({"ref": {"type": "ref/resource", "uri": "test://items/{id}/notes/{note}"}, "argument": {"name": "id", "value": ""}}),
    )
    .await;
    assert_eq!(v["result"]["completion"]["values"], json!([]), "{v}");
}

fn config_error(result: Result<McpServer, Error>) -> (String, String) {
    match result {
        Err(Error::Config { name, message }) => (name, message),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[test]
fn duplicates_and_unsupported_templates_are_refused_at_build() {
    let read = |request: mcp_runtime::rmcp::model::ReadResourceRequestParams| async move {
        Ok(ReadResourceResult::new(vec![ResourceContents::text(
            "",
            request.uri,
        )]))
    };
    let (name, message) = config_error(
        McpServer::builder()
            .resource(Resource::new("a://x", "one"), ScopeRule::Public, read)
            .resource(Resource::new("a://x", "two"), ScopeRule::Public, read)
            .build(),
    );
    assert_eq!(name, "McpServerBuilder::resource");
    assert_eq!(message, "two resources have the URI `a://x`");

    let (name, message) = config_error(
        McpServer::builder()
            .resource_template(
                ResourceTemplate::new("a://{+path}", "t"),
                ScopeRule::Public,
                move |r, _| read(r),
            )
            .build(),
    );
    assert_eq!(name, "McpServerBuilder::resource_template");
    assert!(message.starts_with("`a://{+path}`: "), "{message}");

    let get = |_, _| async { Ok(GetPromptResult::new(vec![])) };
    let (name, message) = config_error(
        McpServer::builder()
            .prompt(
                Prompt::new("p", None::<String>, None),
                ScopeRule::Public,
                get,
            )
            .prompt(
                Prompt::new("p", None::<String>, None),
                ScopeRule::Public,
                get,
            )
            .build(),
    );
    assert_eq!(name, "McpServerBuilder::prompt");
    assert_eq!(message, "two prompts are named `p`");
}

/// The server with two callers: `reader` holds `hr:read` and `todo:read`,
/// `nobody` holds no scope.
fn scoped(configure: impl FnOnce(McpServerBuilder) -> McpServerBuilder) -> Router {
    let verifier = StaticTokenVerifier::new()
        .with_token(
            "reader",
            AccessToken::new("reader", "rita").with_scopes(["hr:read", "todo:read"]),
        )
        .with_token("nobody", AccessToken::new("nobody", "ned"));
    configure(builder().auth(verifier))
        .build()
        .unwrap()
        .into_router()
}

#[tokio::test]
async fn scoped_resources_templates_and_prompts_admit_only_their_scopes() {
    let allowed = [
        (
            "resources/read",
            json!({"uri": "hr://employees/7"}),
            "reader",
        ),
        (
            "prompts/get",
            json!({"name": "plan", "arguments": {"focus": "x"}}),
            "reader",
        ),
        ("resources/read", json!({"uri": "test://hello"}), "nobody"),
    ];
    for (method, params, token) in allowed {
        let v = rpc_with(scoped(|b| b), method, params.clone(), Some(token)).await;
        assert!(
            v.get("result").is_some(),
            "{method} {params} as {token}: {v}"
        );
    }
    let refused = [
        (
            "resources/read",
            json!({"uri": "hr://employees/7"}),
            "nobody",
            "Insufficient permissions: `hr:read` or `hr:admin` scope required.",
            "hr:read",
        ),
        (
            "resources/read",
            json!({"uri": "hr://payroll"}),
            "reader",
            "Insufficient permissions: `finance:read` scope required.",
            "finance:read",
        ),
        // Refused before its arguments are looked at.
        (
            "prompts/get",
            json!({"name": "plan"}),
            "nobody",
            "Insufficient permissions: `todo:read` scope required.",
            "todo:read",
        ),
        (
            "completion/complete",
            json!({"ref": {"type": "ref/prompt", "name": "plan"}, "argument": {"name": "focus", "value": ""}}),
            "nobody",
            "Insufficient permissions: `todo:read` scope required.",
            "todo:read",
        ),
        (
            "completion/complete",
            json!({"ref": {"type": "ref/resource", "uri": "hr://employees/{id}"}, "argument": {"name": "id", "value": ""}}),
            "nobody",
            "Insufficient permissions: `hr:read` or `hr:admin` scope required.",
            "hr:read",
        ),
    ];
    for (method, params, token, message, scope) in refused {
        let v = rpc_with(scoped(|b| b), method, params.clone(), Some(token)).await;
        assert_eq!(v["error"]["code"], -32003, "{method} {params}: {v}");
        assert_eq!(v["error"]["message"], message, "{method} {params}");
        assert_eq!(
            v["error"]["data"],
            json!({"error": "insufficient_scope", "scope": scope})
        );
    }
}

#[tokio::test]
async fn concealed_refusals_look_like_missing_items() {
    let conceal = |b: McpServerBuilder| b.conceal_refusals(true);
    for uri in ["hr://employees/7", "hr://nothing-here"] {
        let v = rpc_with(
            scoped(conceal),
            "resources/read",
            json!({"uri": uri}),
            Some("nobody"),
        )
        .await;
        assert_eq!(v["error"]["code"], -32002, "{v}");
        assert_eq!(v["error"]["message"], format!("Resource not found: {uri}"));
    }
    for name in ["plan", "nothing-here"] {
        let v = rpc_with(
            scoped(conceal),
            "prompts/get",
            json!({"name": name}),
            Some("nobody"),
        )
        .await;
        assert_eq!(v["error"]["code"], -32602, "{v}");
        assert_eq!(v["error"]["message"], format!("Unknown prompt: {name}"));
    }
    let v = rpc_with(
        scoped(conceal),
        "completion/complete",
        json!({"ref": {"type": "ref/prompt", "name": "plan"}, "argument": {"name": "focus", "value": ""}}),
        Some("nobody"),
    )
    .await;
    assert_eq!(v["result"]["completion"]["values"], json!([]), "{v}");
}

#[tokio::test]
async fn a_completion_of_nothing_served_is_invalid_params() {
    let v = rpc(
        "completion/complete",
        json!({"ref": {"type": "ref/prompt", "name": "nope"}, "argument": {"name": "a", "value": ""}}),
    )
    .await;
    assert_eq!(v["error"]["code"], -32602, "{v}");
    assert_eq!(v["error"]["message"], "Unknown prompt: nope");
}

#[tokio::test]
async fn step_up_mode_refuses_these_surfaces_with_a_403_challenge() {
    let step_up = |b: McpServerBuilder| b.step_up(true);
    let cases = [
        (
            "resources/read",
            json!({"uri": "hr://employees/7"}),
            "nobody",
            "hr:read",
        ),
        (
            "resources/read",
            json!({"uri": "hr://payroll"}),
            "reader",
            "hr:read todo:read finance:read",
        ),
        (
            "prompts/get",
            json!({"name": "plan"}),
            "nobody",
            "todo:read",
        ),
        (
            "completion/complete",
            json!({"ref": {"type": "ref/resource", "uri": "hr://employees/{id}"}, "argument": {"name": "id", "value": ""}}),
            "nobody",
            "hr:read",
        ),
    ];
    for (method, params, token, scope) in cases {
        let res = send(scoped(step_up), method, params.clone(), Some(token)).await;
        assert_eq!(res.status, 403, "{method} {params}: {res:#?}");
        let challenge = res.challenge();
        assert_eq!(challenge.param("error"), Some("insufficient_scope"));
        assert_eq!(challenge.param("scope"), Some(scope), "{method} {params}");
    }
    // Allowed requests, and requests for nothing served, pass through.
    let v = rpc_with(
        scoped(step_up),
        "resources/read",
        json!({"uri": "hr://employees/7"}),
        Some("reader"),
    )
    .await;
    assert_eq!(v["result"]["contents"][0]["text"], "employee 7", "{v}");
    let v = rpc_with(
        scoped(step_up),
        "resources/read",
        json!({"uri": "hr://nope"}),
        Some("nobody"),
    )
    .await;
    assert_eq!(v["error"]["code"], -32002, "{v}");
    // Concealment wins over step-up: no 403 tells that the item exists.
    let both = |b: McpServerBuilder| b.step_up(true).conceal_refusals(true);
    let v = rpc_with(
        scoped(both),
        "resources/read",
        json!({"uri": "hr://employees/7"}),
        Some("nobody"),
    )
    .await;
    assert_eq!(v["error"]["code"], -32002, "{v}");
}

/// Visible to anyone the server admits.
#[mcp_runtime::tool(public)]
fn open_tool() {}

/// Needs `finance:read`.
#[mcp_runtime::tool(scope = "finance:read")]
fn finance_tool() {}

/// The names (or URIs) a listing answers.
fn names(v: &Value, list: &str, key: &str) -> Vec<String> {
    v["result"][list]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|i| i[key].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn filtered_listings_show_only_what_the_caller_may_use() {
    let filter = |b: McpServerBuilder| b.filter_listings(true);
    let list = |token: &'static str, method: &'static str| async move {
        rpc_with(scoped(filter), method, json!({}), Some(token)).await
    };
    let v = list("nobody", "resources/list").await;
    assert_eq!(
        names(&v, "resources", "uri"),
        ["test://hello", "test://whoami"]
    );
    let v = list("reader", "resources/list").await;
    assert_eq!(
        names(&v, "resources", "uri"),
        ["test://hello", "test://whoami"],
        "payroll needs finance:read too"
    );
    let v = list("nobody", "resources/templates/list").await;
    assert_eq!(
        names(&v, "resourceTemplates", "uriTemplate"),
        ["test://items/{id}/notes/{note}"]
    );
    let v = list("reader", "resources/templates/list").await;
    assert_eq!(
        names(&v, "resourceTemplates", "uriTemplate"),
        ["test://items/{id}/notes/{note}", "hr://employees/{id}"]
    );
    let v = list("nobody", "prompts/list").await;
    assert_eq!(names(&v, "prompts", "name"), ["greet"]);
    let v = list("reader", "prompts/list").await;
    assert_eq!(names(&v, "prompts", "name"), ["greet", "plan"]);
    let v = list("reader", "tools/list").await;
    assert_eq!(names(&v, "tools", "name"), ["open_tool"]);

    // Hidden is not unknown: using it still gets the refusal.
    let v = rpc_with(
        scoped(filter),
        "resources/read",
        json!({"uri": "hr://payroll"}),
        Some("reader"),
    )
    .await;
    assert_eq!(v["error"]["code"], -32003, "{v}");
    let v = rpc_with(
        scoped(filter),
        "tools/call",
        json!({"name": "finance_tool", "arguments": {}}),
        Some("reader"),
    )
    .await;
    assert_eq!(v["result"]["isError"], true, "{v}");

    // Unfiltered (the default), everything is listed to everyone.
    let v = rpc_with(scoped(|b| b), "tools/list", json!({}), Some("nobody")).await;
    assert_eq!(names(&v, "tools", "name"), ["finance_tool", "open_tool"]);
}
