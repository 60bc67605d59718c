//! An `echo` tool behind `#[tool(scope = "echo")]` with JWT verification (the
//! development issuer), served the way users serve it.
//!
//! `bench-ours PORT KEYFILE` prints a token on its first line, then serves;
//! with `DIRECT=0`, without the direct path.

use std::time::Duration;

use mcp_runtime::{
    McpServer,
    auth::{DevIssuer, DevProvider},
    tool,
};

/// Echoes text back.
///
/// # Arguments
/// * `text` - What to echo.
#[tool(scope = "echo")]
async fn echo(text: String) -> String {
    text
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args
        .next()
        .ok_or("usage: bench-ours PORT KEYFILE")?
        .parse()?;
    let key = args.next().ok_or("usage: bench-ours PORT KEYFILE")?;
    // DIRECT=0: every request through rmcp's transport, for comparison.
    let direct = std::env::var("DIRECT").map_or(true, |v| v != "0");
    let server = McpServer::builder()
        .tool::<echo>()
        .direct_dispatch(direct)
        .port(port)
        .auth(DevProvider::new().key_file(&key))
        .build()?;
    let issuer = DevIssuer::for_base_url(server.base_url(), &key)?;
    println!(
        "{}",
        issuer.mint("bench", ["echo"], Duration::from_secs(3600))
    );
    server.serve().await?;
    Ok(())
}
