//! Opaque access tokens from a real authorization server (oidc-provider with
//! `AS_TOKEN_FORMAT=opaque`), checked at its RFC 7662 introspection
//! endpoint by `IntrospectionVerifier`: accepted, refused when unknown or
//! meant for another resource, and refused after revocation once the cache
//! bound has passed. Then as a deployment configures it, by settings alone:
//! the generic issuer with an introspection client, the endpoint found in
//! the issuer's metadata, JWTs and opaque tokens from one issuer side by
//! side.

#[path = "support/mcp.rs"]
mod mcp;
#[path = "support/oidc.rs"]
mod oidc;

use std::time::Duration;

use mcp::{Listener, call_tool};
use mcp_runtime::{
    AccessToken, McpServer,
    auth::{AuthSettings, IntrospectionVerifier},
    tool,
};
use oidc::{AsOptions, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, StaticClient, TestAs};
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
    revoke(&as_, (DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET), &token).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let res = call_tool(&served.endpoint, Some(&token), "opaque_caller", json!({})).await;
    assert_eq!(res.status, 401, "{res:#?}");
    assert_eq!(
        res.challenge().param("error_description"),
        Some("token is not active")
    );
}

/// Revokes `token` at the test authorization server, as the client it was
/// issued to.
async fn revoke(as_: &TestAs, (client, secret): (&str, &str), token: &str) {
    let revoked = reqwest::Client::new()
        .post(format!("{}/token/revocation", as_.issuer))
        .basic_auth(client, Some(secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={token}&token_type_hint=access_token"))
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn settings_alone_introspect_opaque_tokens_at_the_discovered_endpoint_beside_jwts() {
    let listener = Listener::bind().await;
    let endpoint = listener.endpoint.clone();
    // `opaque-client` gets opaque tokens; the default client gets JWTs.
    let as_ = TestAs::start(AsOptions {
        clients: vec![StaticClient::new("opaque-client", "opaque-secret", None)],
        ..AsOptions::default()
            .resource(&listener.endpoint)
            .env("AS_OPAQUE_CLIENTS", "opaque-client")
    })
    .await;

    // What MCP_AUTH_ISSUER, MCP_AUTH_AUDIENCE, MCP_AUTH_INTROSPECTION_CLIENT_ID,
    // _CLIENT_SECRET and _CACHE_SECS=1 give: no endpoint named.
    let mut settings = AuthSettings::default();
    settings.issuer = Some(as_.issuer.clone());
    settings.audience = Some(listener.endpoint.clone());
    settings.introspection_client_id = Some(DEFAULT_CLIENT_ID.into());
    settings.introspection_client_secret = Some(DEFAULT_CLIENT_SECRET.into());
    settings.introspection_cache_ttl = Some(Duration::from_secs(1));
    assert!(
        !format!("{settings:?}").contains(DEFAULT_CLIENT_SECRET),
        "the secret shows in {settings:?}"
    );
    let server = McpServer::builder()
        .base_url(&listener.base)
        .unwrap()
        .tool::<opaque_caller>()
        .auth(settings)
        .build()
        .unwrap();
    assert!(
        server
            .authentication()
            .unwrap()
            .ends_with("other tokens introspected"),
        "{:?}",
        server.authentication()
    );
    let served = listener.serve(server);

    let jwt = as_.client_credentials("todo:read").await;
    assert_eq!(jwt.split('.').count(), 3, "a JWT: {jwt}");
    let opaque = as_
        .client_credentials_for("opaque-client", "opaque-secret", "todo:read", &endpoint)
        .await;
    assert_eq!(opaque.split('.').count(), 1, "an opaque token: {opaque}");

    for (token, who) in [(&jwt, "test-client"), (&opaque, "opaque-client")] {
        let res = call_tool(&served.endpoint, Some(token), "opaque_caller", json!({})).await;
        assert_eq!(res.status, 200, "{res:#?}");
        assert_eq!(
            res.json()["result"]["content"][0]["text"],
            format!("{who} todo:read")
        );
    }

    // Not a token: asked of the endpoint, refused as inactive.
    let res = call_tool(
        &served.endpoint,
        Some("garbage"),
        "opaque_caller",
        json!({}),
    )
    .await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.challenge().param("error_description"),
        Some("token is not active")
    );

    // Revoked: refused once the one-second cache bound has passed.
    revoke(&as_, ("opaque-client", "opaque-secret"), &opaque).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let res = call_tool(&served.endpoint, Some(&opaque), "opaque_caller", json!({})).await;
    assert_eq!(res.status, 401, "{res:#?}");
    assert_eq!(
        res.challenge().param("error_description"),
        Some("token is not active")
    );
}
