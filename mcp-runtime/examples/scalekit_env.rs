//! Scalekit from environment variables: the same binary runs against
//! Scalekit in production and against the development issuer locally.
//!
//! ```sh
//! SCALEKIT_ENVIRONMENT_URL=https://your-env.scalekit.dev \
//! SCALEKIT_CLIENT_ID=skc_... SCALEKIT_RESOURCE_ID=res_... \
//! MCP_URL=https://mcp.example.com/ \
//!   cargo run -p mcp-runtime --example scalekit_env
//! ```
//!
//! `from_env` reads `MCP_URL`, `HOST` and `PORT`, then the authorization
//! server: `SCALEKIT_*` for Scalekit, `MCP_AUTH_ISSUER` (and
//! `MCP_AUTH_AUDIENCE`) for any OIDC issuer, and with neither, the
//! development issuer on loopback. It also reads the serving limits
//! (`MCP_TOOL_TIMEOUT`, `MCP_MAX_CONNECTIONS`, …). A variable set wrong
//! stops the server at start-up, naming the variable.

use mcp_runtime::{AccessToken, McpServer, tool};

/// Say who is calling, from the verified token.
#[tool(public, read_only)]
fn who_am_i(token: AccessToken) -> String {
    let client = token.client_id().unwrap_or("an unknown client");
    format!("{} (through {client})", token.subject())
}

#[tokio::main]
async fn main() -> Result<(), mcp_runtime::Error> {
    let server = McpServer::builder()
        .from_env()?
        .tool::<who_am_i>()
        .build()?;
    println!(
        "serving {} with {}",
        server.endpoint(),
        server.authentication().unwrap_or("no authentication")
    );
    server.serve().await
}
