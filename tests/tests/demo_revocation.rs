//! The README's "Opaque tokens and revocation", run: the demo binary pointed
//! at an authorization server that issues opaque tokens, configured by the
//! environment alone (`MCP_AUTH_ISSUER`, `MCP_AUTH_AUDIENCE`,
//! `MCP_AUTH_INTROSPECTION_CLIENT_ID` / `_SECRET` / `_CACHE_SECS`; the
//! endpoint comes from the issuer's metadata). A token is accepted, revoked
//! at the authorization server, and refused once the cache bound has passed.

#[path = "support/demo.rs"]
mod demo;
#[path = "support/mcp.rs"]
mod mcp;
#[path = "support/oidc.rs"]
mod oidc;

use std::{net::TcpListener, time::Duration};

use demo::{DemoProcess, Scratch};
use mcp::call_tool;
use oidc::{AsOptions, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, TestAs};
use serde_json::json;

/// What `MCP_AUTH_INTROSPECTION_CACHE_SECS` is set to.
const CACHE_SECS: u64 = 1;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_introspects_opaque_tokens_and_sees_a_revocation_within_the_cache_bound() {
    let bin = demo::binary();
    let scratch = Scratch::new();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}/");
    let endpoint = format!("{base}mcp");
    let as_ = TestAs::start(
        AsOptions::default()
            .resource(&endpoint)
            .env("AS_TOKEN_FORMAT", "opaque"),
    )
    .await;
    let cache = CACHE_SECS.to_string();
    let env = [
        ("MCP_URL", base.as_str()),
        ("MCP_AUTH_ISSUER", as_.issuer.as_str()),
        ("MCP_AUTH_AUDIENCE", endpoint.as_str()),
        ("MCP_AUTH_INTROSPECTION_CLIENT_ID", DEFAULT_CLIENT_ID),
        (
            "MCP_AUTH_INTROSPECTION_CLIENT_SECRET",
            DEFAULT_CLIENT_SECRET,
        ),
        ("MCP_AUTH_INTROSPECTION_CACHE_SECS", cache.as_str()),
    ];
    let mut demo = DemoProcess::start(&bin, &scratch, port, &env).unwrap_or_else(|e| panic!("{e}"));
    let out = std::fs::read_to_string(scratch.join("demo.out")).unwrap_or_default();
    assert!(
        out.contains("other tokens introspected"),
        "the demo says how it checks tokens:\n{out}"
    );

    let token = as_.client_credentials("todo:read").await;
    assert_eq!(token.split('.').count(), 1, "an opaque token: {token}");
    let res = call_tool(&endpoint, Some(&token), "list_todos", json!({})).await;
    assert_eq!(res.status, 200, "{res:#?}\n{}", demo.stderr());
    assert_eq!(
        res.json()["result"]["structuredContent"],
        json!({"todos": []})
    );

    let revoked = reqwest::Client::new()
        .post(format!("{}/token/revocation", as_.issuer))
        .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_CLIENT_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    tokio::time::sleep(Duration::from_millis(CACHE_SECS * 1000 + 100)).await;
    let res = call_tool(&endpoint, Some(&token), "list_todos", json!({})).await;
    assert_eq!(res.status, 401, "{res:#?}");
    let challenge = res.challenge();
    assert_eq!(challenge.param("error"), Some("invalid_token"));
    assert_eq!(
        challenge.param("error_description"),
        Some("token is not active")
    );
    // The token never reaches the log.
    let log =
        demo.stderr() + &std::fs::read_to_string(scratch.join("demo.out")).unwrap_or_default();
    assert!(!log.contains(&token), "the token is in the demo's output");
    demo.stop();
}
