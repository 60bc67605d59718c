//! Hardened defaults on the authorization-server side, end to end: `OidcProvider` requires
//! `typ: at+jwt` unless told otherwise, plain-`http` issuers and key URLs are refused off
//! loopback, a bearer value that is not a JWT causes no discovery request, and the forwarded
//! authorization server metadata keeps its headers.
//!
//! Tests that need an authorization server start the real one (`support/oidc.rs`).

// Shared support: this file uses only part of it.
#[allow(unused_imports)]
#[path = "support/mcp.rs"]
mod mcp;
#[path = "support/oidc.rs"]
mod oidc;
#[path = "support/tools.rs"]
mod tools;

use std::sync::{
    Arc,
    atomic::{AtomicUsize, Ordering},
};

use mcp::{Listener, Served, call_ok, call_tool, unix_now};
use mcp_runtime::{
    Error, McpServer, McpServerBuilder,
    auth::{AuthSettings, OidcProvider, ScalekitProvider},
};
use oidc::{AsOptions, TestAs};
use serde_json::{Value, json};

/// Serves the test tools on `listener` with the auth `configure` sets up.
fn serve(
    listener: Listener,
    configure: impl FnOnce(McpServerBuilder) -> McpServerBuilder,
) -> Served {
    let builder = tools::all(McpServer::builder())
        .base_url(&listener.base)
        .expect("base URL");
    listener.serve(configure(builder).build().expect("server builds"))
}

/// Claims of a token the AS signed for `audience`: an access token's, or (with the ID token
/// claims `nonce`, `auth_time`, `azp`) an ID token's.
fn claims(as_: &TestAs, audience: &str) -> Value {
    let now = unix_now();
    json!({
        "iss": as_.issuer, "aud": audience, "sub": "user-1", "scope": "todo:read",
        "iat": now, "exp": now + 300, "nonce": "n-1", "auth_time": now, "azp": audience,
    })
}

/// The `Error::Config` variable name and message, or a panic.
fn config_error(e: Error) -> (String, String) {
    match e {
        Error::Config { name, message } => (name, message),
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

fn settings_error(settings: AuthSettings) -> (String, String) {
    config_error(McpServer::builder().auth(settings).build().unwrap_err())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oidc_provider_refuses_an_id_token_and_accepts_it_only_when_told_to() {
    let listener = Listener::bind().await;
    let as_ = TestAs::start(AsOptions::default().resource(&listener.endpoint)).await;
    let (issuer, endpoint) = (as_.issuer.clone(), listener.endpoint.clone());
    let strict = serve(listener, |b| {
        b.auth(OidcProvider::new(&issuer, &endpoint).expect("provider"))
    });
    // The AS's access tokens say `at+jwt`: accepted by default.
    let access = as_.client_credentials("todo:read").await;
    assert_eq!(oidc::decode_jwt(&access).0["typ"], "at+jwt");
    call_ok(&strict.endpoint, &access, "list_todos", json!({})).await;

    // Same key, same audience, but `typ: JWT` as ID tokens have it.
    let id_token = as_
        .sign(json!({"typ": "JWT"}), claims(&as_, &strict.endpoint))
        .await;
    let res = call_tool(&strict.endpoint, Some(&id_token), "list_todos", json!({})).await;
    assert_eq!(res.status, 401, "{res:#?}");
    assert_eq!(
        res.json(),
        json!({"error": "invalid_token", "error_description": "token type (typ) not allowed"})
    );

    // The documented switch lets it through.
    let listener = Listener::bind().await;
    let endpoint = listener.endpoint.clone();
    let lax = serve(listener, |b| {
        b.auth(
            OidcProvider::new(&issuer, &endpoint)
                .expect("provider")
                .accept_any_typ(),
        )
    });
    let id_token = as_
        .sign(json!({"typ": "JWT"}), claims(&as_, &lax.endpoint))
        .await;
    call_ok(&lax.endpoint, &id_token, "list_todos", json!({})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_http_off_loopback_is_a_configuration_error_naming_the_variable() {
    let mut s = AuthSettings::default();
    s.issuer = Some("http://login.example.com".into());
    s.audience = Some("https://mcp.example.com/mcp".into());
    let (name, message) = settings_error(s.clone());
    assert_eq!(name, "MCP_AUTH_ISSUER");
    assert!(message.contains("https://"), "a fix-it message: {message}");
    assert!(s.check().is_err(), "check() says so too");

    s.issuer = Some("https://login.example.com".into());
    s.jwks_uri = Some("http://login.example.com/jwks".into());
    assert_eq!(settings_error(s.clone()).0, "MCP_AUTH_JWKS_URI");

    let mut sk = AuthSettings::default();
    sk.scalekit_environment_url = Some("http://acme.scalekit.dev".into());
    sk.scalekit_client_id = Some("skc_1".into());
    sk.scalekit_resource_id = Some("res_1".into());
    sk.mcp_url = Some("https://mcp.acme.com/".into());
    assert_eq!(settings_error(sk).0, "SCALEKIT_ENVIRONMENT_URL");

    // `.jwks_uri()` is checked when the server is built.
    let provider = OidcProvider::new("https://login.example.com", "https://mcp.example.com/mcp")
        .expect("provider")
        .jwks_uri("http://keys.example.com/jwks");
    let e = McpServer::builder().auth(provider).build().unwrap_err();
    assert_eq!(config_error(e).0, "MCP_AUTH_JWKS_URI");

    // Loopback keeps working over plain http (nothing is fetched at build).
    for issuer in [
        "http://localhost:9000",
        "http://127.0.0.2:9000",
        "http://[::1]:9000",
    ] {
        let provider = OidcProvider::new(issuer, "https://mcp.example.com/mcp")
            .expect("loopback issuer")
            .jwks_uri(format!("{issuer}/jwks"));
        McpServer::builder().auth(provider).build().expect("builds");
        ScalekitProvider::new(issuer, "skc_1", "res_1").expect("loopback environment");
    }
}

/// A listener on `127.0.0.1:0` that counts connections and hangs up on each.
async fn counting_issuer() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let count = Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            drop(conn);
        }
    });
    (url, count)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bearer_value_that_is_not_a_jwt_causes_no_discovery_request() {
    let (issuer, connections) = counting_issuer().await;
    let listener = Listener::bind().await;
    let endpoint = listener.endpoint.clone();
    let served = serve(listener, |b| {
        b.auth(OidcProvider::new(&issuer, &endpoint).expect("provider"))
    });
    for token in ["x", "a.b.c", "e30.e30.c2ln", "not-a-jwt-at-all"] {
        let res = call_tool(&served.endpoint, Some(token), "list_todos", json!({})).await;
        assert_eq!(res.status, 401, "{token}: {res:#?}");
        assert_eq!(
            res.json(),
            json!({"error": "invalid_token", "error_description": "malformed token"}),
            "{token}"
        );
    }
    assert_eq!(
        connections.load(Ordering::SeqCst),
        0,
        "no discovery request"
    );

    // A JWT-shaped token does reach the (failing) issuer: 503, and discovery was tried.
    let header = mcp::b64url(br#"{"alg":"RS256","typ":"at+jwt"}"#);
    let token = format!("{header}.e30.c2ln");
    let res = call_tool(&served.endpoint, Some(&token), "list_todos", json!({})).await;
    assert_eq!(res.status, 503, "{res:#?}");
    assert!(connections.load(Ordering::SeqCst) > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_metadata_keeps_its_headers_and_outlives_the_upstream() {
    let listener = Listener::bind().await;
    let as_ = TestAs::start(AsOptions::scalekit().resource(&listener.endpoint)).await;
    let issuer = as_.issuer.clone();
    let served = serve(listener, |b| {
        b.auth(ScalekitProvider::new(&issuer, "skc_test", "res_test123").expect("provider"))
    });
    let url = served.url(".well-known/oauth-authorization-server");
    let first = mcp::get(&url, &[]).await;
    assert_eq!(first.status, 200, "{first:#?}");
    assert_eq!(first.header("content-type"), "application/json");
    assert_eq!(first.header("cache-control"), "public, max-age=3600");
    assert_eq!(first.json()["issuer"], as_.resource_issuer().as_str());

    // Scalekit's `typ: JWT` tokens keep passing with the preset.
    let token = as_.client_credentials("todo:read").await;
    assert_eq!(oidc::decode_jwt(&token).0["typ"], "JWT");
    call_ok(&served.endpoint, &token, "list_todos", json!({})).await;

    as_.stop();
    let mut concurrent = Vec::new();
    for _ in 0..10 {
        let url = url.clone();
        concurrent.push(tokio::spawn(async move { mcp::get(&url, &[]).await }));
    }
    for task in concurrent {
        let res = task.await.expect("request task");
        assert_eq!(res.status, 200, "{res:#?}");
        assert_eq!(res.text, first.text, "served from cache");
        assert_eq!(res.header("cache-control"), "public, max-age=3600");
    }
}
