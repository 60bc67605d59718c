//! The README's "Your own server in five minutes": a notes server with two
//! scoped tools, per-caller data, a custom route, and development tokens
//! minted by the binary itself.
//!
//! ```sh
//! cargo run -p mcp-runtime --example notes
//! TOKEN=$(cargo run -q -p mcp-runtime --example notes -- token alice notes:read notes:write)
//! curl -s http://127.0.0.1:3002/mcp -H "Authorization: Bearer $TOKEN" \
//!   -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
//!   -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"my_notes","arguments":{}}}'
//! curl -s http://127.0.0.1:3002/version
//! ```
//!
//! Below this comment, the file is the README's `src/main.rs`, word for word
//! (`tests/tests/new_crate.rs` checks it, then builds and calls that crate).

use std::sync::Mutex;

use mcp_runtime::{AccessToken, McpServer, State, ToolError, axum, tool};

mcp_runtime::scopes! {
    /// The notes server's scopes.
    pub NOTES {
        NOTES_READ = "notes:read" => "Read your notes",
        NOTES_WRITE = "notes:write" => "Add notes",
    }
}

/// Everyone's notes, with their authors.
#[derive(Default)]
struct Notes {
    all: Mutex<Vec<(String, String)>>,
}

/// Add a note for the caller.
///
/// # Arguments
/// * `text` - What to remember.
#[tool(scope = NOTES_WRITE)]
fn add_note(token: AccessToken, notes: State<Notes>, text: String) -> Result<String, ToolError> {
    if text.trim().is_empty() {
        return Err(ToolError::new("a note needs some text"));
    }
    let mut all = notes.all.lock().unwrap_or_else(|e| e.into_inner());
    all.push((token.subject().to_owned(), text));
    Ok(format!("{} notes", all.len()))
}

/// The caller's notes, oldest first.
#[tool(scope = NOTES_READ, read_only)]
fn my_notes(token: AccessToken, notes: State<Notes>) -> Vec<String> {
    let all = notes.all.lock().unwrap_or_else(|e| e.into_inner());
    let mine = all.iter().filter(|(who, _)| who == token.subject());
    mine.map(|(_, text)| text.clone()).collect()
}

#[tokio::main]
async fn main() -> Result<(), mcp_runtime::Error> {
    let version =
        axum::Router::new().route("/version", axum::routing::get(|| async { "notes 0.1.0" }));
    // PORT, HOST and MCP_URL, and the authorization server, from the environment: with none
    // configured, the development issuer (loopback only).
    let server = McpServer::builder()
        .from_env()?
        .vocabulary(&NOTES)
        .state(Notes::default())
        .routes(version)
        .build()?;
    // `cargo run -- token alice notes:read notes:write` prints a token for this very server.
    if let Some(token) = server.dev_token_command(std::env::args().skip(1))? {
        println!("{token}");
        return Ok(());
    }
    server.serve().await
}
