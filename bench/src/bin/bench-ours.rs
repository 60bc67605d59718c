//! An `echo` tool behind `#[tool(scope = "echo")]` with JWT verification (the
//! development issuer's key), served the way users serve it.
//!
//! `bench-ours PORT KEYFILE` prints tokens, one per line, then serves. The
//! environment varies the case:
//! - `DIRECT=0`: every request through rmcp's transport, for comparison;
//! - `SSE=1`: answers as SSE streams (`json_response(false)`);
//! - `TOOLS=N`: `N` tools registered in all, `echo` and `N - 1` like it
//!   (more than one needs the `many-tools` feature);
//! - `TOKENS=N`: `N` distinct valid tokens printed (one by default).
//!
//! `GET /bench/stats` answers the token cache's counters as JSON.

use std::{io::Write, time::Duration};

use mcp_runtime::{
    McpServer,
    auth::DevIssuer,
    axum::{Json, Router, routing::get},
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

fn env_number(name: &str, default: usize) -> Result<usize, String> {
    match std::env::var(name) {
        Ok(v) => v.parse().map_err(|_| format!("{name}={v}: not a number")),
        Err(_) => Ok(default),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let port: u16 = args
        .next()
        .ok_or("usage: bench-ours PORT KEYFILE")?
        .parse()?;
    let key = args.next().ok_or("usage: bench-ours PORT KEYFILE")?;
    let direct = std::env::var("DIRECT").map_or(true, |v| v != "0");
    let sse = std::env::var("SSE").is_ok_and(|v| v == "1");
    let tools = env_number("TOOLS", 1)?.max(1);
    let tokens = env_number("TOKENS", 1)?.max(1);

    let builder = McpServer::builder()
        .tool::<echo>()
        .direct_dispatch(direct)
        .json_response(!sse)
        .port(port);
    let builder = bench::more_tools(builder, tools - 1)?;
    let issuer = DevIssuer::for_base_url(&builder.effective_base_url()?, &key)?;
    let verifier = issuer.verifier();
    let stats = verifier.clone();
    let server = builder
        .auth(verifier)
        .authorization_server(issuer.issuer())
        .routes(Router::new().route(
            "/bench/stats",
            get(move || {
                let s = stats.stats();
                async move {
                    Json(serde_json::json!({
                        "cache_hits": s.cache_hits,
                        "cache_misses": s.cache_misses,
                        "signature_checks": s.signature_checks,
                        "cached_tokens": s.cached_tokens,
                        "cached_bytes": s.cached_bytes,
                    }))
                }
            }),
        ))
        .build()?;
    // Written as they are minted: the server's peak memory is its own.
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for i in 0..tokens {
        let subject = format!("bench-{i}");
        let token = issuer.mint(&subject, ["echo"], Duration::from_secs(3600));
        writeln!(out, "{token}")?;
    }
    out.flush()?;
    drop(out);
    server.serve().await?;
    Ok(())
}
