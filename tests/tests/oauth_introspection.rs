//! Opaque access tokens from a real authorization server (oidc-provider with
//! `AS_TOKEN_FORMAT=opaque`), checked at its RFC 7662 introspection
//! endpoint by `IntrospectionVerifier`: accepted, refused when unknown or
//! meant for another resource, and refused after revocation once the cache
//! bound has passed.

#[path = "support/mcp.rs"]
mod mcp;
#[path = "support/oidc.rs"]
mod oidc;

use std::time::Duration;

use mcp::{Listener, call_tool};
use mcp_runtime::{AccessToken, McpServer, auth::IntrospectionVerifier, tool};
use oidc::{AsOptions, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, TestAs};
use serde_json::json;

/// The caller and their scopes.
#[tool(scope = "todo:read")]
fn opaque_caller(token: AccessToken) -> String {
    format!("{} {}", token.subject(), token.scopes().join(","))
}

#[tokio::test(flavor = "multi_thread")]
async fn opaque_tokens_are_introspected_and_revocation_is_seen_after_the_cache_bound() {
    let listener = Listener::bind().await;
    let as_ = TestAs::start(
        AsOptions::default()
            .resource(&listener.endpoint)
            .env("AS_TOKEN_FORMAT", "opaque"),
    )
    .await;
    let verifier = IntrospectionVerifier::new(
        &format!("{}/token/introspection", as_.issuer),
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
    )
    .unwrap()
    .issuer(&as_.issuer)
    .audience(&listener.endpoint)
    .cache_ttl(Duration::from_millis(500));
    let server = McpServer::builder()
        .base_url(&listener.base)
        .unwrap()
        .tool::<opaque_caller>()
        .authorization_server(&as_.issuer)
        .auth(verifier)
        .build()
        .unwrap();
    let served = listener.serve(server);

    let token = as_.client_credentials("todo:read").await;
    assert_eq!(
        token.split('.').count(),
        1,
        "an opaque token, not a JWT: {token}"
    );
    let res = call_tool(&served.endpoint, Some(&token), "opaque_caller", json!({})).await;
    assert_eq!(res.status, 200, "{res:#?}");
    assert_eq!(
        res.json()["result"]["content"][0]["text"],
        "test-client todo:read"
    );

    // Unknown, and meant for another resource.
    let res = call_tool(
        &served.endpoint,
        Some("not-a-token"),
        "opaque_caller",
        json!({}),
    )
    .await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.challenge().param("error_description"),
        Some("token is not active")
    );
    let elsewhere = as_
        .client_credentials_for(
            DEFAULT_CLIENT_ID,
            DEFAULT_CLIENT_SECRET,
            "todo:read",
            "http://127.0.0.1:1/mcp",
        )
        .await;
    let res = call_tool(
        &served.endpoint,
        Some(&elsewhere),
        "opaque_caller",
        json!({}),
    )
    .await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.challenge().param("error_description"),
        Some("audience mismatch")
    );

    // Revoked at the authorization server: refused once the cache bound has passed.
    let revoked = reqwest::Client::new()
        .post(format!("{}/token/revocation", as_.issuer))
        .basic_auth(DEFAULT_CLIENT_ID, Some(DEFAULT_CLIENT_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}&token_type_hint=access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let res = call_tool(&served.endpoint, Some(&token), "opaque_caller", json!({})).await;
    assert_eq!(res.status, 401, "{res:#?}");
    assert_eq!(
        res.challenge().param("error_description"),
        Some("token is not active")
    );
}
