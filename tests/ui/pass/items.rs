use mcp_runtime::{
    AccessToken, McpServer, State, ToolContext, prompt, resource, resource_template,
    rmcp::model::{ErrorData, GetPromptResult, ReadResourceResult},
};

struct Store;

/// Public.
#[resource(uri = "a://public", public)]
fn open() -> &'static str {
    "hi"
}

/// One scope, every injected parameter.
#[resource(uri = "a://one", scope = "a:read", mime_type = "text/markdown")]
async fn one(
    _t: AccessToken,
    _o: Option<AccessToken>,
    _s: State<Store>,
    _c: ToolContext,
) -> Result<String, std::io::Error> {
    Ok(String::new())
}

/// All of several scopes, raw contents.
#[resource(uri = "a://all", scopes = ["a:read", "b:read",], name = "all-of", title = "All")]
fn all() -> ReadResourceResult {
    ReadResourceResult::new(vec![])
}

/// Any of several scopes, a blob or rmcp's error.
#[resource(uri = "a://any", any_scope = ["a:read", "b:read"])]
fn any() -> Result<Vec<u8>, ErrorData> {
    Ok(vec![1])
}

/// A template with two variables, JSON.
#[resource_template(uri = "a://items/{id}/notes/{note}", scope = "a:read")]
fn note(id: String, note: String, State(_store): State<Store>) -> Option<Vec<String>> {
    Some(vec![id, note])
}

/// A public prompt.
#[prompt(public)]
fn hello() -> String {
    "hello".into()
}

/// A scoped prompt.
///
/// # Arguments
/// * `topic` - What to talk about.
#[prompt(any_scope = ["a:read", "b:read"], name = "talk", title = "Talk")]
async fn talk(_t: AccessToken, topic: String, _extra: Option<String>) -> Result<GetPromptResult, String> {
    let _ = topic;
    Ok(GetPromptResult::new(vec![]))
}

const NOTES_READ: &str = "notes:read";

/// Scopes named by constants.
#[resource(uri = "a://consts", scopes = [NOTES_READ, self::NOTES_READ_TOO])]
fn consts() -> String {
    String::new()
}

const NOTES_READ_TOO: &str = "notes:read2";

/// A prompt scoped by a constant.
#[prompt(scope = NOTES_READ)]
fn noted() -> String {
    String::new()
}

fn main() {
    let _server = McpServer::builder().state(Store).build().unwrap();
}
