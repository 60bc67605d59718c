//! An existing axum app with its own routes, and an MCP endpoint added to it.
//!
//! ```sh
//! cargo run -p mcp-runtime --example axum_app
//! curl -s http://127.0.0.1:3002/version        # the app's own route
//! curl -s -H 'Host: evil.example' http://127.0.0.1:3002/version   # 403: not this server's name
//! ```
//!
//! `serve_with(app)` serves the app through the server's own loop: every
//! route, the app's included, gets the Host and Origin policy (the DNS
//! rebinding defence), and every connection the header timeout, the
//! connection cap, `TCP_NODELAY` and graceful shutdown. The server's own
//! paths (`/mcp`, the metadata, `/health`) answer first.

use mcp_runtime::{
    McpServer,
    axum::{Json, Router, routing::get},
    tool,
};
use serde_json::{Value, json};

/// Add two numbers.
///
/// # Arguments
/// * `a` - The first.
/// * `b` - The second.
#[tool(public, read_only)]
fn add(a: i64, b: i64) -> String {
    (a + b).to_string()
}

async fn version() -> &'static str {
    concat!("axum-app ", env!("CARGO_PKG_VERSION"))
}

async fn stats() -> Json<Value> {
    Json(json!({ "requests": "plenty" }))
}

#[tokio::main]
async fn main() -> Result<(), mcp_runtime::Error> {
    // The app as it was before MCP came along.
    let app = Router::new()
        .route("/version", get(version))
        .route("/stats", get(stats));
    // PORT, HOST, MCP_URL and the authorization server from the environment
    // (with none configured: the development issuer, on loopback).
    let server = McpServer::builder().from_env()?.tool::<add>().build()?;
    println!("serving {} and the app's routes", server.endpoint());
    server.serve_with(app).await
}
