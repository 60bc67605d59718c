//! The fixture server for the official MCP conformance suite
//! (`@modelcontextprotocol/conformance server --url …`), written the way a
//! user of the framework would write it: ordinary functions under `#[tool]`,
//! plus resources, a resource template, prompts and a completion hook added
//! on the builder, served by `McpServer`. No authentication (the suite has no
//! auth scenarios).
//!
//! ```text
//! conformance-server [--port N]      # or PORT=N; 0 (the default) = a free port
//! ```
//!
//! When listening it prints one line on stdout:
//! `{"ready":true,"url":"http://127.0.0.1:PORT/mcp","port":PORT}`.
//! It stops on SIGTERM or Ctrl-C. Run by `tests/e2e/conformance/run.sh`.
//!
//! Tool, resource and prompt names, URIs, arguments and results are those the
//! suite's scenarios use (see the scenario descriptions printed by the suite).

use std::{process::ExitCode, time::Duration};

use mcp_runtime::{
    Answer, Args, McpServer, McpServerBuilder, ScopeRule, ToolContext, ToolError,
    rmcp::model::{
        CallToolResult, CompleteRequestParams, CompleteResult, CompletionInfo, ContentBlock,
        GetPromptResult, ProgressNotificationParam, Prompt, PromptArgument, PromptMessage,
        ReadResourceResult, Resource, ResourceContents, ResourceTemplate, Role,
    },
    tool,
};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

/// A 1x1 red PNG.
const PNG_1X1: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";
/// Eight samples of 8-bit 8 kHz mono silence, as a WAV file.
const WAV_SILENCE: &str =
    "UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==";

/// Returns a fixed line of text.
#[tool(public)]
fn test_simple_text() -> String {
    "This is a simple text response for testing.".to_owned()
}

/// Returns a 1x1 red PNG image.
#[tool(public)]
fn test_image_content() -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::image(PNG_1X1, "image/png")])
}

/// Returns a short WAV clip of silence.
#[tool(public)]
fn test_audio_content() -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::audio(WAV_SILENCE, "audio/wav")])
}

/// Returns an embedded text resource.
#[tool(public)]
fn test_embedded_resource() -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::resource(ResourceContents::text(
        "This is an embedded resource content.",
        "test://embedded-resource",
    ))])
}

/// Returns text, an image and an embedded resource in one result.
#[tool(public)]
fn test_multiple_content_types() -> CallToolResult {
    CallToolResult::success(vec![
        ContentBlock::text("Multiple content types test:"),
        ContentBlock::image(PNG_1X1, "image/png"),
        ContentBlock::resource(
            ResourceContents::text(
                json!({"test": "data", "value": 123}).to_string(),
                "test://mixed-content-resource",
            )
            .with_mime_type("application/json"),
        ),
    ])
}

/// Always fails, as a tool error.
#[tool(public)]
fn test_error_handling() -> Result<String, ToolError> {
    Err(ToolError::new(
        "This tool intentionally returns an error for testing",
    ))
}

/// Sends three info-level log messages while it runs, 50 ms apart.
#[tool(public)]
#[allow(deprecated)] // logging is deprecated by SEP-2577, still in the suite
async fn test_tool_with_logging(cx: ToolContext) -> String {
    use mcp_runtime::rmcp::model::{LoggingLevel, LoggingMessageNotificationParam};
    let steps = [
        "Tool execution started",
        "Tool processing data",
        "Tool execution completed",
    ];
    for (i, step) in steps.into_iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let message = LoggingMessageNotificationParam::new(LoggingLevel::Info, json!(step));
        if let Err(e) = cx.peer().notify_logging_message(message).await {
            return format!("could not send a log message: {e}");
        }
    }
    "Tool with logging executed successfully".to_owned()
}

/// Reports progress 0, 50 and 100 of 100, 50 ms apart, when the call carries a
/// progress token.
#[tool(public)]
async fn test_tool_with_progress(cx: ToolContext) -> Result<String, ToolError> {
    let token = cx.rmcp().meta.get_progress_token();
    for (i, progress) in [0.0, 50.0, 100.0].into_iter().enumerate() {
        if i > 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        if let Some(token) = &token {
            let mut note = ProgressNotificationParam::new(token.clone(), progress);
            note.total = Some(100.0);
            cx.peer()
                .notify_progress(note)
                .await
                .map_err(|e| ToolError::new(format!("could not send progress: {e}")))?;
        }
    }
    Ok("Tool with progress executed successfully".to_owned())
}

// No `test_sampling`, `test_elicitation_sep1034_defaults` or
// `test_elicitation_sep1330_enums`: they need server-to-client requests
// (`sampling/createMessage`, `elicitation/create`), which a stateless server
// cannot complete (rmcp's stateless transport answers the client's POSTed
// JSON-RPC response with "stateless server does not accept JSON-RPC
// responses", so `peer().create_message(..)` waits until the client gives
// up). With a `test_sampling` that times out, the suite's
// `tools-call-sampling` would pass anyway (it only checks that the request was
// sent and that some content came back), which would be a false pass; those
// scenarios are listed in tests/e2e/conformance/expected-failures.yml instead.

/// What `test_elicitation` asks for.
#[derive(Deserialize, JsonSchema)]
struct Contact {
    /// User's response
    username: String,
    /// User's email address
    email: String,
}

/// Asks the user for a username and an email (the suite's
/// `tools-call-elicitation`), the way this framework asks: `ToolContext::elicit`,
/// a multi round-trip request of protocol 2026-07-28. The suite's client speaks
/// 2025-11-25 and waits for an `elicitation/create` request instead, so the
/// call ends with the runtime's error for clients that cannot be asked, and the
/// scenario fails (expected-failures.yml); a suite that speaks 2026-07-28
/// would get the question.
#[tool(public)]
fn test_elicitation(ctx: ToolContext, message: String) -> Result<String, ToolError> {
    Ok(match ctx.elicit::<Contact>(message)? {
        Answer::Accepted(c) => format!(
            "User response: action: accept, content: {}",
            json!({"username": c.username, "email": c.email})
        ),
        Answer::Declined => "User response: action: decline".to_owned(),
        Answer::Cancelled => "User response: action: cancel".to_owned(),
    })
}

/// Sleeps briefly, then answers; the suite calls it to see whether the server
/// closes an SSE stream mid-call (SEP-1699). This server answers in one piece.
#[tool(public)]
async fn test_reconnection() -> String {
    tokio::time::sleep(Duration::from_millis(100)).await;
    "Reconnection test completed".to_owned()
}

/// A street address.
#[derive(Deserialize, JsonSchema)]
#[schemars(rename = "address")]
#[allow(dead_code)]
struct Address {
    street: Option<String>,
    city: Option<String>,
}

/// The argument object of `json_schema_2020_12_tool`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Person {
    name: Option<String>,
    address: Option<Address>,
}

/// Tool with JSON Schema 2020-12 features
#[tool(public)]
fn json_schema_2020_12_tool(Args(person): Args<Person>) -> String {
    format!(
        "name={:?}, city={:?}",
        person.name,
        person.address.and_then(|a| a.city)
    )
}

/// The resources, the resource template, the prompts and the completion hook
/// of the `resources-*`, `prompts-*` and `completion-complete` scenarios.
fn with_resources_and_prompts(builder: McpServerBuilder) -> McpServerBuilder {
    builder
        .resource(
            Resource::new("test://static-text", "static-text")
                .with_description("A static text resource")
                .with_mime_type("text/plain"),
            ScopeRule::Public,
            |request| async move {
                Ok(ReadResourceResult::new(vec![ResourceContents::text(
                    "This is the content of the static text resource.",
                    request.uri,
                )]))
            },
        )
        .resource(
            Resource::new("test://static-binary", "static-binary")
                .with_description("A static binary resource (a 1x1 PNG)")
                .with_mime_type("image/png"),
            ScopeRule::Public,
            |request| async move {
                Ok(ReadResourceResult::new(vec![
                    ResourceContents::blob(PNG_1X1, request.uri).with_mime_type("image/png"),
                ]))
            },
        )
        .resource(
            Resource::new("test://watched-resource", "watched-resource")
                .with_description("A resource clients subscribe to (it never changes)")
                .with_mime_type("text/plain"),
            ScopeRule::Public,
            |request| async move {
                Ok(ReadResourceResult::new(vec![ResourceContents::text(
                    "This resource is watched.",
                    request.uri,
                )]))
            },
        )
        .resource_template(
            ResourceTemplate::new("test://template/{id}/data", "template-data")
                .with_description("Data for an id, as JSON")
                .with_mime_type("application/json"),
            ScopeRule::Public,
            |request, vars| async move {
                let id = &vars["id"];
                let body =
                    json!({"id": id, "templateTest": true, "data": format!("Data for ID: {id}")});
                Ok(ReadResourceResult::new(vec![
                    ResourceContents::text(body.to_string(), request.uri)
                        .with_mime_type("application/json"),
                ]))
            },
        )
        .prompt(
            Prompt::new(
                "test_simple_prompt",
                Some("A simple prompt without arguments"),
                None,
            ),
            ScopeRule::Public,
            |_, _| async {
                Ok(GetPromptResult::new(vec![PromptMessage::new_text(
                    Role::User,
                    "This is a simple prompt for testing.",
                )]))
            },
        )
        .prompt(
            Prompt::new(
                "test_prompt_with_arguments",
                Some("A prompt with two required arguments"),
                Some(vec![
                    PromptArgument::new("arg1")
                        .with_description("First test argument")
                        .with_required(true),
                    PromptArgument::new("arg2")
                        .with_description("Second test argument")
                        .with_required(true),
                ]),
            ),
            ScopeRule::Public,
            |_, args| async move {
                let text = format!(
                    "Prompt with arguments: arg1='{}', arg2='{}'",
                    args["arg1"], args["arg2"]
                );
                Ok(GetPromptResult::new(vec![PromptMessage::new_text(
                    Role::User,
                    text,
                )]))
            },
        )
        .prompt(
            Prompt::new(
                "test_prompt_with_embedded_resource",
                Some("A prompt that embeds a resource"),
                Some(vec![
                    PromptArgument::new("resourceUri")
                        .with_description("URI of the resource to embed")
                        .with_required(true),
                ]),
            ),
            ScopeRule::Public,
            |_, args| async move {
                let embedded = ResourceContents::text(
                    "Embedded resource content for testing.",
                    args["resourceUri"].clone(),
                );
                Ok(GetPromptResult::new(vec![
                    PromptMessage::new(Role::User, ContentBlock::resource(embedded)),
                    PromptMessage::new_text(
                        Role::User,
                        "Please process the embedded resource above.",
                    ),
                ]))
            },
        )
        .prompt(
            Prompt::new(
                "test_prompt_with_image",
                Some("A prompt with an image"),
                None,
            ),
            ScopeRule::Public,
            |_, _| async {
                Ok(GetPromptResult::new(vec![
                    PromptMessage::new(Role::User, ContentBlock::image(PNG_1X1, "image/png")),
                    PromptMessage::new_text(Role::User, "Please analyze the image above."),
                ]))
            },
        )
        .completion(complete)
}

/// Suggestions for the arguments of `test_prompt_with_arguments`: the words
/// of a fixed list that start with what was typed.
async fn complete(
    request: CompleteRequestParams,
) -> Result<CompleteResult, mcp_runtime::rmcp::ErrorData> {
    const WORDS: [&str; 4] = ["paris", "park", "party", "test"];
    let mut info = CompletionInfo::default();
    if request.r#ref.as_prompt_name() == Some("test_prompt_with_arguments") {
        info.values = WORDS
            .iter()
            .filter(|w| w.starts_with(&request.argument.value))
            .map(|w| (*w).to_owned())
            .collect();
        info.total = Some(info.values.len() as u32);
        info.has_more = Some(false);
    }
    Ok(CompleteResult::new(info))
}

fn port_from_args() -> Result<u16, String> {
    let mut port = match std::env::var("PORT") {
        Ok(v) if !v.trim().is_empty() => Some(v),
        _ => None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--port" {
            port = Some(args.next().ok_or("--port needs a value")?);
        } else if let Some(v) = arg.strip_prefix("--port=") {
            port = Some(v.to_owned());
        } else {
            return Err(format!(
                "unknown argument `{arg}`; usage: conformance-server [--port N]"
            ));
        }
    }
    match port {
        None => Ok(0),
        Some(p) => p.trim().parse().map_err(|_| format!("`{p}` is not a port")),
    }
}

async fn run() -> Result<(), String> {
    let port = port_from_args()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let server = with_resources_and_prompts(McpServer::builder())
        .name("conformance-server")
        .title("mcp-runtime conformance fixture")
        .version(env!("CARGO_PKG_VERSION"))
        .port(port)
        .build()
        .map_err(|e| e.to_string())?;
    println!(
        "{}",
        json!({"ready": true, "url": server.endpoint().as_str(), "port": port})
    );
    server
        .serve_on(listener, mcp_runtime::shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("conformance-server: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("conformance-server: {e}");
            ExitCode::FAILURE
        }
    }
}
