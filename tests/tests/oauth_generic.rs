//! The resource-server side of OAuth against a real authorization server (oidc-provider, generic
//! shape: JWKS at `/jwks`, `aud` = the MCP URL, `typ: at+jwt`): token verification, the 401/403
//! challenges, key rotation, JWKS outages and unknown-`kid` floods.
//!
//! Each test starts its own authorization server (`support/oidc.rs`) and serves an `McpServer` on
//! `127.0.0.1:0` (`support/mcp.rs`).

#[path = "support/mcp.rs"]
mod mcp;
#[path = "support/oidc.rs"]
mod oidc;
#[path = "support/tools.rs"]
mod tools;

use std::time::{Duration, Instant};

use mcp::{Listener, Served, call_ok, call_tool, forge, post_mcp, rpc, unix_now};
use mcp_runtime::{
    McpServer, McpServerBuilder,
    auth::{JwtVerifier, OidcProvider, jwt},
};
use oidc::{AsOptions, StaticClient, TestAs};
use serde_json::{Value, json};

/// The `scope` every challenge of these servers names: the tools' scopes, sorted.
const SCOPE: &str = "system:read todo:read todo:write";

/// Binds a listener, starts an AS whose default resource is the MCP URL, and serves the test
/// tools with the auth `configure` sets up.
async fn start(
    opts: AsOptions,
    configure: impl FnOnce(&TestAs, &Listener, McpServerBuilder) -> McpServerBuilder,
) -> (TestAs, Served) {
    let listener = Listener::bind().await;
    let as_ = TestAs::start(opts.resource(&listener.endpoint)).await;
    let builder = tools::all(McpServer::builder())
        .base_url(&listener.base)
        .expect("base URL");
    let server = configure(&as_, &listener, builder)
        .build()
        .expect("server builds");
    (as_, listener.serve(server))
}

/// `OidcProvider` with discovery.
fn discovery(as_: &TestAs, l: &Listener, b: McpServerBuilder) -> McpServerBuilder {
    b.auth(OidcProvider::new(&as_.issuer, &l.endpoint).expect("provider"))
}

/// `invalid_token` 401 challenge, exactly as the server must write it.
fn invalid_token_challenge(served: &Served, description: &str) -> String {
    format!(
        r#"Bearer error="invalid_token", error_description="{description}", resource_metadata="{}", scope="{SCOPE}""#,
        served.resource_metadata
    )
}

/// Asserts a 401 `invalid_token` with `description`, exact header and body, and that the
/// response nowhere repeats `token`.
fn assert_invalid_token(res: &mcp::Resp, served: &Served, token: &str, description: &str) {
    assert_eq!(res.status, 401, "{description}: {res:#?}");
    assert_eq!(
        res.header("www-authenticate"),
        invalid_token_challenge(served, description),
        "{description}"
    );
    assert_eq!(
        res.text,
        json!({"error": "invalid_token", "error_description": description}).to_string(),
        "{description}"
    );
    assert_eq!(res.header("content-type"), "application/json");
    assert!(
        !res.everything().contains(token),
        "the response repeats the token: {res:#?}"
    );
}

/// Claims the server accepts, with `changes` applied (`null` removes a claim).
fn claims(as_: &TestAs, changes: Value) -> Value {
    let now = unix_now();
    let mut c = json!({
        "iss": as_.issuer,
        "aud": as_.audience(),
        "sub": "signed-user",
        "client_id": "signed-client",
        "scope": "todo:read",
        "iat": now,
        "exp": now + 300,
        "jti": format!("jti-{now}"),
    });
    for (k, v) in changes.as_object().expect("changes object") {
        if v.is_null() {
            c.as_object_mut().expect("object").remove(k);
        } else {
            c[k] = v.clone();
        }
    }
    c
}

fn sorted(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|s| s.as_str().expect("string").to_owned())
        .collect();
    out.sort();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_token_calls_tools_through_discovery() {
    let opts = AsOptions {
        clients: vec![StaticClient::new("second-client", "second-secret", None)],
        ..AsOptions::default()
    };
    let (as_, served) = start(opts, discovery).await;
    let token = as_.client_credentials("todo:read system:read").await;

    let me = call_ok(&served.endpoint, &token, "whoami", json!({})).await;
    assert_eq!(me["isError"], false, "{me}");
    let caller = &me["structuredContent"];
    assert_eq!(caller["subject"], oidc::DEFAULT_CLIENT_ID, "{caller}");
    assert_eq!(caller["client_id"], oidc::DEFAULT_CLIENT_ID);
    assert_eq!(sorted(&caller["scopes"]), ["system:read", "todo:read"]);
    assert_eq!(caller["issuer"], as_.issuer.as_str());
    assert_eq!(caller["audience"], json!([served.endpoint]));
    let (_, payload) = oidc::decode_jwt(&token);
    assert_eq!(caller["expires_at"], payload["exp"]);

    let todos = call_ok(&served.endpoint, &token, "list_todos", json!({})).await;
    assert_eq!(todos["isError"], false, "{todos}");
    assert_eq!(todos["content"][0]["text"], "todos of test-client");
    let status = call_ok(&served.endpoint, &token, "system_status", json!({})).await;
    assert_eq!(status["content"][0]["text"], "all systems nominal");

    // A second client is a second subject.
    let other = as_
        .client_credentials_as("second-client", "second-secret", "todo:read")
        .await;
    let me = call_ok(&served.endpoint, &other, "whoami", json!({})).await;
    assert_eq!(me["structuredContent"]["subject"], "second-client");
    assert_eq!(sorted(&me["structuredContent"]["scopes"]), ["todo:read"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_credentials_token_calls_tools_with_an_explicit_jwks_uri_and_typ() {
    let (as_, served) = start(AsOptions::default(), |as_, l, b| {
        b.auth(
            OidcProvider::new(&as_.issuer, &l.endpoint)
                .expect("provider")
                .jwks_uri(&as_.jwks_uri)
                .require_typ(["at+jwt"]),
        )
    })
    .await;
    let token = as_.client_credentials("todo:read").await;
    assert_eq!(oidc::decode_jwt(&token).0["typ"], "at+jwt");
    let r = call_ok(&served.endpoint, &token, "list_todos", json!({})).await;
    assert_eq!(r["content"][0]["text"], "todos of test-client", "{r}");

    // The same claims under another `typ` are refused by this server.
    let jwt_typ = as_
        .sign(json!({"typ": "JWT"}), claims(&as_, json!({})))
        .await;
    let res = call_tool(&served.endpoint, Some(&jwt_typ), "list_todos", json!({})).await;
    assert_invalid_token(&res, &served, &jwt_typ, "token type (typ) not allowed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_gets_401_with_the_exact_challenge_and_body() {
    let (as_, served) = start(AsOptions::default(), discovery).await;
    let now = unix_now();
    // Past `exp` by more than the 30 s leeway.
    let expired = as_
        .sign(
            json!({}),
            claims(&as_, json!({"iat": now - 600, "exp": now - 120})),
        )
        .await;
    let res = call_tool(&served.endpoint, Some(&expired), "list_todos", json!({})).await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.header("www-authenticate"),
        format!(
            r#"Bearer error="invalid_token", error_description="token expired", resource_metadata="http://127.0.0.1:{}/.well-known/oauth-protected-resource/mcp", scope="system:read todo:read todo:write""#,
            served.port
        )
    );
    assert_eq!(
        res.text,
        r#"{"error":"invalid_token","error_description":"token expired"}"#
    );
    assert!(!res.everything().contains(&expired));

    // Within the leeway it is still accepted (10 s past `exp`).
    let lenient = as_
        .sign(
            json!({}),
            claims(&as_, json!({"iat": now - 600, "exp": now - 10})),
        )
        .await;
    call_ok(&served.endpoint, &lenient, "list_todos", json!({})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_that_expires_at_the_as_is_refused_even_after_being_cached() {
    let listener = Listener::bind().await;
    let opts = AsOptions {
        token_ttl: Some(8),
        ..AsOptions::default()
    };
    let as_ = TestAs::start(opts.resource(&listener.endpoint)).await;
    let verifier = JwtVerifier::builder(&as_.jwks_uri)
        .issuer(&as_.issuer)
        .audience(&listener.endpoint)
        .leeway(Duration::ZERO)
        .build()
        .expect("verifier");
    let server = tools::all(McpServer::builder())
        .base_url(&listener.base)
        .expect("base")
        .auth(verifier.clone())
        .authorization_server(&as_.issuer)
        .build()
        .expect("server");
    let served = listener.serve(server);

    // Mint until the token has at least 5 s to live (the TTL is whole seconds).
    let (token, exp) = loop {
        let token = as_.client_credentials("todo:read").await;
        let exp = oidc::decode_jwt(&token).1["exp"].as_u64().expect("exp");
        if exp >= unix_now() + 5 {
            break (token, exp);
        }
    };
    call_ok(&served.endpoint, &token, "list_todos", json!({})).await;
    call_ok(&served.endpoint, &token, "list_todos", json!({})).await;
    assert!(verifier.stats().cache_hits >= 1, "{:?}", verifier.stats());

    while unix_now() <= exp {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let res = call_tool(&served.endpoint, Some(&token), "list_todos", json!({})).await;
    assert_invalid_token(&res, &served, &token, "token expired");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_for_another_resource_is_401_audience_mismatch() {
    let (as_, served) = start(AsOptions::default(), discovery).await;
    let other = as_
        .client_credentials_for(
            oidc::DEFAULT_CLIENT_ID,
            oidc::DEFAULT_CLIENT_SECRET,
            "todo:read",
            "http://127.0.0.1:1/other/mcp",
        )
        .await;
    assert_eq!(
        oidc::decode_jwt(&other).1["aud"],
        "http://127.0.0.1:1/other/mcp"
    );
    let res = call_tool(&served.endpoint, Some(&other), "list_todos", json!({})).await;
    assert_invalid_token(&res, &served, &other, "token audience mismatch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_another_issuer_are_refused() {
    let keys = mcp::TempDir::new("oauth-issuer");
    let shared_key = keys.join("shared.json");
    let opts = AsOptions {
        key_file: Some(shared_key.clone()),
        ..AsOptions::default()
    };
    let (as_, served) = start(opts.clone(), discovery).await;
    call_ok(
        &served.endpoint,
        &as_.client_credentials("todo:read").await,
        "list_todos",
        json!({}),
    )
    .await;

    // Another AS with the same signing key: the signature verifies, the issuer does not match.
    let twin = TestAs::start(opts.resource(&served.endpoint)).await;
    assert_eq!(twin.kid, as_.kid);
    assert_ne!(twin.issuer, as_.issuer);
    let token = twin.client_credentials("todo:read").await;
    let res = call_tool(&served.endpoint, Some(&token), "list_todos", json!({})).await;
    assert_invalid_token(&res, &served, &token, "token issuer mismatch");

    // Another AS with its own key: its key is unknown here.
    let stranger = TestAs::start(AsOptions::default().resource(&served.endpoint)).await;
    let token = stranger.client_credentials("todo:read").await;
    let res = call_tool(&served.endpoint, Some(&token), "list_todos", json!({})).await;
    assert_invalid_token(&res, &served, &token, "unknown signing key");

    // The right key, a foreign `iss`.
    let foreign = as_
        .sign(
            json!({}),
            claims(&as_, json!({"iss": "https://evil.example"})),
        )
        .await;
    let res = call_tool(&served.endpoint, Some(&foreign), "list_todos", json!({})).await;
    assert_invalid_token(&res, &served, &foreign, "token issuer mismatch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_without_exp_is_refused_though_otherwise_valid() {
    let (as_, served) = start(AsOptions::default(), discovery).await;
    // Control: the same claims with `exp` pass.
    let good = as_.sign(json!({}), claims(&as_, json!({}))).await;
    let r = call_ok(&served.endpoint, &good, "whoami", json!({})).await;
    assert_eq!(r["structuredContent"]["subject"], "signed-user");

    let no_exp = as_
        .sign(json!({}), claims(&as_, json!({"exp": null})))
        .await;
    assert!(oidc::decode_jwt(&no_exp).1.get("exp").is_none());
    let res = call_tool(&served.endpoint, Some(&no_exp), "whoami", json!({})).await;
    assert_invalid_token(&res, &served, &no_exp, "token has no expiry");

    let no_sub = as_
        .sign(json!({}), claims(&as_, json!({"sub": null})))
        .await;
    let res = call_tool(&served.endpoint, Some(&no_sub), "whoami", json!({})).await;
    assert_invalid_token(&res, &served, &no_sub, "token has no subject");

    let future = as_
        .sign(json!({}), claims(&as_, json!({"nbf": unix_now() + 3600})))
        .await;
    let res = call_tool(&served.endpoint, Some(&future), "whoami", json!({})).await;
    assert_invalid_token(&res, &served, &future, "token not yet valid");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_garbage_tokens_are_refused_without_echoing_them() {
    let (as_, served) = start(AsOptions::default(), discovery).await;
    let valid = as_.client_credentials("todo:read").await;
    call_ok(&served.endpoint, &valid, "list_todos", json!({})).await;
    let payload = claims(&as_, json!({"scope": "todo:read todo:write system:read"}));

    // A real token whose payload was swapped for one with more scopes.
    let mut parts: Vec<&str> = valid.split('.').collect();
    let escalated_payload = mcp::b64url(payload.to_string().as_bytes());
    parts[1] = &escalated_payload;
    let tampered = parts.join(".");

    let cases: Vec<(String, &str)> = vec![
        (
            forge(&json!({"alg": "none", "typ": "at+jwt"}), &payload, b""),
            "algorithm not allowed",
        ),
        (
            forge(
                &json!({"alg": "HS256", "typ": "at+jwt", "kid": as_.kid}),
                &payload,
                &[7u8; 32],
            ),
            "algorithm not allowed",
        ),
        (
            forge(
                &json!({"alg": "RS256", "typ": "at+jwt", "kid": as_.kid}),
                &payload,
                &[0u8; 256],
            ),
            "token signature invalid",
        ),
        (tampered, "token signature invalid"),
        (
            as_.sign(json!({"crit": ["exp"]}), payload.clone()).await,
            "unsupported critical header",
        ),
        ("not-a-jwt".to_owned(), "malformed token"),
        ("Zm9v.YmFy.YmF6".to_owned(), "malformed token"),
        (
            format!("{valid}.{}", "x".repeat(4)),
            "malformed token", // four parts
        ),
    ];
    for (token, description) in &cases {
        let res = call_tool(&served.endpoint, Some(token), "list_todos", json!({})).await;
        assert_invalid_token(&res, &served, token, description);
    }
    // The good token still works afterwards.
    call_ok(&served.endpoint, &valid, "list_todos", json!({})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_without_token_gets_401_challenge_without_error() {
    let (_as, served) = start(AsOptions::default(), discovery).await;
    for body in [
        rpc("tools/list", json!({})),
        rpc("tools/call", json!({"name": "list_todos", "arguments": {}})),
    ] {
        let res = post_mcp(&served.endpoint, None, &body).await;
        assert_eq!(res.status, 401, "{res:#?}");
        assert_eq!(
            res.header("www-authenticate"),
            format!(
                r#"Bearer resource_metadata="http://127.0.0.1:{}/.well-known/oauth-protected-resource/mcp", scope="system:read todo:read todo:write""#,
                served.port
            )
        );
        assert!(!res.header("www-authenticate").contains("error"));
        assert_eq!(
            res.text,
            r#"{"error":"invalid_token","error_description":"Authentication required"}"#
        );
    }
    // The metadata the challenge points at is served, without a token.
    let prm = mcp::get(&served.resource_metadata, &[]).await;
    assert_eq!(prm.status, 200);
    assert_eq!(prm.json()["resource"], served.endpoint.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_in_the_query_string_is_refused_even_when_valid() {
    let (as_, served) = start(AsOptions::default(), discovery).await;
    let token = as_.client_credentials("todo:read").await;
    call_ok(&served.endpoint, &token, "list_todos", json!({})).await;

    let body = rpc("tools/call", json!({"name": "list_todos", "arguments": {}}));
    let url = format!("{}?access_token={token}", served.endpoint);
    for header in [None, Some(token.as_str())] {
        let res = post_mcp(&url, header, &body).await;
        assert_eq!(res.status, 400, "{res:#?}");
        assert_eq!(
            res.header("www-authenticate"),
            format!(
                r#"Bearer error="invalid_request", error_description="send the token in the Authorization header", resource_metadata="{}", scope="{SCOPE}""#,
                served.resource_metadata
            )
        );
        assert_eq!(res.json()["error"], "invalid_request");
        assert!(!res.everything().contains(&token));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insufficient_scope_is_the_reference_refusal_inside_the_result() {
    let (as_, served) = start(AsOptions::default(), discovery).await;
    let reader = as_.client_credentials("todo:read").await;
    let res = call_tool(
        &served.endpoint,
        Some(&reader),
        "create_todo",
        json!({"title": "x"}),
    )
    .await;
    assert_eq!(res.status, 200, "{res:#?}");
    let result = &res.json()["result"];
    assert_eq!(result["isError"], true, "{result}");
    assert_eq!(
        result["structuredContent"],
        json!({"error": "Insufficient permissions: `todo:write` scope required."})
    );
    assert_eq!(
        result["content"],
        json!([{"type": "text", "text": "{\"error\":\"Insufficient permissions: `todo:write` scope required.\"}"}])
    );

    // Unknown scopes asked of the AS are dropped, not granted.
    let asked_too_much = as_.client_credentials("todo:read calendar:write").await;
    let me = call_ok(&served.endpoint, &asked_too_much, "whoami", json!({})).await;
    assert_eq!(sorted(&me["structuredContent"]["scopes"]), ["todo:read"]);

    // A writer may.
    let writer = as_.client_credentials("todo:read todo:write").await;
    let r = call_ok(
        &served.endpoint,
        &writer,
        "create_todo",
        json!({"title": "buy milk"}),
    )
    .await;
    assert_eq!(r["isError"], false, "{r}");
    assert_eq!(r["content"][0]["text"], "test-client created \"buy milk\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_up_mode_answers_403_naming_held_and_required_scopes() {
    let (as_, served) = start(AsOptions::default(), |as_, l, b| {
        discovery(as_, l, b.step_up(true))
    })
    .await;
    let reader = as_.client_credentials("todo:read").await;
    let res = call_tool(
        &served.endpoint,
        Some(&reader),
        "create_todo",
        json!({"title": "x"}),
    )
    .await;
    assert_eq!(res.status, 403, "{res:#?}");
    assert_eq!(
        res.header("www-authenticate"),
        format!(
            r#"Bearer error="insufficient_scope", scope="todo:read todo:write", resource_metadata="{}", error_description="Insufficient permissions: `todo:write` scope required.""#,
            served.resource_metadata
        )
    );
    assert_eq!(
        res.json(),
        json!({"error": "insufficient_scope", "error_description": "Insufficient permissions: `todo:write` scope required."})
    );
    assert!(!res.everything().contains(&reader));

    // Scopes the server does not know are still "held" and repeated in the challenge.
    let odd = as_
        .sign(
            json!({}),
            claims(&as_, json!({"scope": "todo:read calendar:read"})),
        )
        .await;
    let res = call_tool(
        &served.endpoint,
        Some(&odd),
        "create_todo",
        json!({"title": "x"}),
    )
    .await;
    assert_eq!(res.status, 403);
    assert!(
        res.header("www-authenticate").starts_with(
            r#"Bearer error="insufficient_scope", scope="todo:read calendar:read todo:write", "#
        ),
        "{res:#?}"
    );

    // What the token may do passes: the tool it holds, other methods, and, after step-up, the write.
    call_ok(&served.endpoint, &reader, "list_todos", json!({})).await;
    let list = post_mcp(
        &served.endpoint,
        Some(&reader),
        &rpc("tools/list", json!({})),
    )
    .await;
    assert_eq!(list.status, 200);
    assert_eq!(
        list.json()["result"]["tools"].as_array().map(Vec::len),
        Some(4)
    );
    let writer = as_.client_credentials("todo:read todo:write").await;
    let r = call_ok(
        &served.endpoint,
        &writer,
        "create_todo",
        json!({"title": "x"}),
    )
    .await;
    assert_eq!(r["isError"], false, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_key_new_tokens_are_accepted_and_tokens_of_the_removed_key_refused() {
    let keys = mcp::TempDir::new("oauth-rotation");
    let listener = Listener::bind().await;
    let opts = AsOptions {
        key_file: Some(keys.join("first.json")),
        ..AsOptions::default()
    };
    let as_ = TestAs::start(opts.resource(&listener.endpoint)).await;
    let verifier = JwtVerifier::builder(&as_.jwks_uri)
        .issuer(&as_.issuer)
        .audience(&listener.endpoint)
        .min_refetch_interval(Duration::from_millis(200))
        .build()
        .expect("verifier");
    let server = tools::all(McpServer::builder())
        .base_url(&listener.base)
        .expect("base")
        .auth(verifier.clone())
        .authorization_server(&as_.issuer)
        .build()
        .expect("server");
    let served = listener.serve(server);

    let old = as_.client_credentials("todo:read").await;
    call_ok(&served.endpoint, &old, "list_todos", json!({})).await;
    assert_eq!(verifier.stats().jwks_fetches, 1);
    let (old_kid, issuer) = (as_.kid.clone(), as_.issuer.clone());

    let as_ = as_.restart_with_key(Some(keys.join("second.json"))).await;
    assert_ne!(as_.kid, old_kid, "a new key file is a new key");
    assert_eq!(as_.issuer, issuer, "same port, same issuer");
    let published = as_.jwks().await;
    assert_eq!(published["keys"].as_array().map(Vec::len), Some(1));

    // Until a token names the new key, the server keeps its keys (and the old token works).
    call_ok(&served.endpoint, &old, "list_todos", json!({})).await;
    assert_eq!(verifier.stats().jwks_fetches, 1);

    tokio::time::sleep(Duration::from_millis(300)).await;
    let new = as_.client_credentials("todo:read").await;
    let me = call_ok(&served.endpoint, &new, "whoami", json!({})).await;
    assert_eq!(me["structuredContent"]["subject"], "test-client");
    let stats = verifier.stats();
    assert_eq!(stats.jwks_fetches, 2, "{stats:?}");
    assert_eq!(stats.keys, 1, "{stats:?}");

    // The old key is gone from the JWKS: its token is refused though it was cached and has not
    // expired (the cache is emptied when the key set changes).
    let res = call_tool(&served.endpoint, Some(&old), "list_todos", json!({})).await;
    assert_invalid_token(&res, &served, &old, "unknown signing key");
    call_ok(&served.endpoint, &new, "list_todos", json!({})).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_with_default_settings_is_picked_up_after_the_refetch_interval() {
    let keys = mcp::TempDir::new("oauth-rotation-default");
    let opts = AsOptions {
        key_file: Some(keys.join("first.json")),
        ..AsOptions::default()
    };
    let (as_, served) = start(opts, discovery).await;
    let old = as_.client_credentials("todo:read").await;
    // The first JWKS fetch happens between these two instants.
    let before_fetch = Instant::now();
    call_ok(&served.endpoint, &old, "list_todos", json!({})).await;
    let after_fetch = Instant::now();

    let as_ = as_.restart_with_key(Some(keys.join("second.json"))).await;
    let new = as_.client_credentials("todo:read").await;
    // Within the minimum refetch interval the unknown kid does not trigger a fetch.
    if before_fetch.elapsed() < jwt::DEFAULT_MIN_REFETCH_INTERVAL - Duration::from_secs(2) {
        let res = call_tool(&served.endpoint, Some(&new), "list_todos", json!({})).await;
        assert_invalid_token(&res, &served, &new, "unknown signing key");
    }
    let wait = (jwt::DEFAULT_MIN_REFETCH_INTERVAL + Duration::from_millis(500))
        .saturating_sub(after_fetch.elapsed());
    tokio::time::sleep(wait).await;
    call_ok(&served.endpoint, &new, "list_todos", json!({})).await;
    let res = call_tool(&served.endpoint, Some(&old), "list_todos", json!({})).await;
    assert_invalid_token(&res, &served, &old, "unknown signing key");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cached_keys_keep_serving_while_the_as_is_down() {
    let (as_, served) = start(AsOptions::default(), discovery).await;
    // A second server whose verifier refreshes its keys every 100 ms, so that fetches do fail
    // during the outage (the default server above makes none within 10 minutes).
    let eager_listener = Listener::bind().await;
    let eager = JwtVerifier::builder(&as_.jwks_uri)
        .issuer(&as_.issuer)
        .audience(&eager_listener.endpoint)
        .refresh_interval(Duration::from_millis(100))
        .min_refetch_interval(Duration::from_millis(100))
        .build()
        .expect("verifier");
    let eager_server = tools::all(McpServer::builder())
        .base_url(&eager_listener.base)
        .expect("base")
        .auth(eager.clone())
        .build()
        .expect("server");
    let eager_served = eager_listener.serve(eager_server);

    let mut tokens = Vec::new();
    for (endpoint, scope) in [
        (&served.endpoint, "todo:read"),
        (&served.endpoint, "todo:read todo:write"),
        (&eager_served.endpoint, "todo:read"),
        (&eager_served.endpoint, "todo:read todo:write"),
    ] {
        tokens.push(
            as_.client_credentials_for(
                oidc::DEFAULT_CLIENT_ID,
                oidc::DEFAULT_CLIENT_SECRET,
                scope,
                endpoint,
            )
            .await,
        );
    }
    call_ok(&served.endpoint, &tokens[0], "list_todos", json!({})).await;
    call_ok(&eager_served.endpoint, &tokens[2], "list_todos", json!({})).await;
    let jwks_uri = as_.jwks_uri.clone();
    as_.stop();
    assert!(
        mcp::client().get(&jwks_uri).send().await.is_err(),
        "the AS is down"
    );

    // An unknown kid makes the eager verifier refetch (and fail); so do its background refreshes.
    let odd = forge(
        &json!({"alg": "RS256", "typ": "at+jwt", "kid": "not-a-key"}),
        &json!({"sub": "x"}),
        &[1u8; 256],
    );
    let before = eager.stats().jwks_fetches;
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        for s in [&served, &eager_served] {
            // Still a 401, not an outage: the keys are there, this one is not among them.
            let res = call_tool(&s.endpoint, Some(&odd), "list_todos", json!({})).await;
            assert_invalid_token(&res, s, &odd, "unknown signing key");
        }
    }
    let stats = eager.stats();
    assert!(
        stats.jwks_fetches > before,
        "no fetch was attempted during the outage: {stats:?}"
    );
    assert_eq!(stats.keys, 1, "the cached key was dropped: {stats:?}");

    // Tokens never seen before: verified with the cached keys.
    for (s, token) in [(&served, &tokens[1]), (&eager_served, &tokens[3])] {
        let r = call_ok(
            &s.endpoint,
            token,
            "create_todo",
            json!({"title": "offline"}),
        )
        .await;
        assert_eq!(r["isError"], false, "{r}");
    }
    call_ok(&served.endpoint, &tokens[0], "list_todos", json!({})).await;
    call_ok(&eager_served.endpoint, &tokens[2], "list_todos", json!({})).await;
}

/// Asserts the 503 a server answers when it cannot check a token.
fn assert_unavailable(res: &mcp::Resp, what: &str) {
    assert_eq!(res.status, 503, "{what}: {res:#?}");
    assert_eq!(res.header("retry-after"), "5", "{what}");
    assert_eq!(
        res.text,
        r#"{"error":"temporarily_unavailable","error_description":"The token could not be verified right now; retry shortly"}"#,
        "{what}"
    );
    assert!(!res.has_header("www-authenticate"), "{what}: {res:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_that_never_reached_the_as_answers_503_and_recovers() {
    let keys = mcp::TempDir::new("oauth-outage");
    let (l_jwks, l_custom, l_discovery) = (
        Listener::bind().await,
        Listener::bind().await,
        Listener::bind().await,
    );
    let opts = AsOptions {
        key_file: Some(keys.join("key.json")),
        ..AsOptions::default()
    };
    let as_ = TestAs::start(opts).await;
    let tokens: Vec<String> = {
        let mut v = Vec::new();
        for l in [&l_jwks, &l_custom, &l_discovery] {
            v.push(
                as_.client_credentials_for(
                    oidc::DEFAULT_CLIENT_ID,
                    oidc::DEFAULT_CLIENT_SECRET,
                    "todo:read",
                    &l.endpoint,
                )
                .await,
            );
        }
        v
    };
    let (issuer, jwks_uri, port) = (as_.issuer.clone(), as_.jwks_uri.clone(), as_.port);
    let mut restart = as_.options().clone();
    restart.port = Some(port);
    as_.stop();

    let build = |l: &Listener, f: &dyn Fn(McpServerBuilder) -> McpServerBuilder| {
        f(tools::all(McpServer::builder())
            .base_url(&l.base)
            .expect("base"))
        .build()
        .expect("server")
    };
    let with_jwks = build(&l_jwks, &|b| {
        b.auth(
            OidcProvider::new(&issuer, &l_jwks.endpoint)
                .expect("provider")
                .jwks_uri(&jwks_uri),
        )
    });
    let custom = JwtVerifier::builder(&jwks_uri)
        .issuer(&issuer)
        .audience(&l_custom.endpoint)
        .min_refetch_interval(Duration::from_millis(300))
        .build()
        .expect("verifier");
    let with_custom = build(&l_custom, &|b| b.auth(custom.clone()));
    let with_discovery = build(&l_discovery, &|b| {
        b.auth(OidcProvider::new(&issuer, &l_discovery.endpoint).expect("provider"))
    });
    let servers = [
        l_jwks.serve(with_jwks),
        l_custom.serve(with_custom),
        l_discovery.serve(with_discovery),
    ];

    // Each server's failed attempt happened between `before[i]` and `after[i]`.
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for (served, (token, what)) in
        servers
            .iter()
            .zip(tokens.iter().zip(["jwks_uri", "custom", "discovery"]))
    {
        before.push(Instant::now());
        let res = call_tool(&served.endpoint, Some(token), "list_todos", json!({})).await;
        after.push(Instant::now());
        assert_unavailable(&res, what);
    }
    // No token at all is still a plain 401: the outage only shows when there is a token to check.
    let res = post_mcp(&servers[0].endpoint, None, &rpc("tools/list", json!({}))).await;
    assert_eq!(res.status, 401);

    // The AS comes back on the same port with the same key.
    let as_ = TestAs::start(restart).await;
    assert_eq!(as_.issuer, issuer);
    tokio::time::sleep(Duration::from_millis(400)).await;
    call_ok(&servers[1].endpoint, &tokens[1], "list_todos", json!({})).await;

    // Discovery is retried at most every 5 s.
    if before[2].elapsed() < Duration::from_secs(4) {
        let res = call_tool(
            &servers[2].endpoint,
            Some(&tokens[2]),
            "list_todos",
            json!({}),
        )
        .await;
        assert_unavailable(&res, "discovery, retried too soon");
    }
    tokio::time::sleep(Duration::from_millis(5500).saturating_sub(after[2].elapsed())).await;
    call_ok(&servers[2].endpoint, &tokens[2], "list_todos", json!({})).await;

    // The explicit JWKS URL uses the default 10 s refetch interval.
    tokio::time::sleep(
        (jwt::DEFAULT_MIN_REFETCH_INTERVAL + Duration::from_millis(500))
            .saturating_sub(after[0].elapsed()),
    )
    .await;
    call_ok(&servers[0].endpoint, &tokens[0], "list_todos", json!({})).await;
    drop(as_);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flood_of_unknown_kids_fetches_the_jwks_at_most_twice() {
    let listener = Listener::bind().await;
    let as_ = TestAs::start(AsOptions::default().resource(&listener.endpoint)).await;
    let verifier = JwtVerifier::builder(&as_.jwks_uri)
        .issuer(&as_.issuer)
        .audience(&listener.endpoint)
        .build()
        .expect("verifier");
    let server = tools::all(McpServer::builder())
        .base_url(&listener.base)
        .expect("base")
        .auth(verifier.clone())
        .authorization_server(&as_.issuer)
        .build()
        .expect("server");
    let served = listener.serve(server);
    let good = as_.client_credentials("todo:read").await;

    // Tokens signed by the AS's real key but naming kids nobody published.
    let mut forged = Vec::new();
    for i in 0..50 {
        let kid = format!("kid-{i}-{}", unix_now());
        forged.push(as_.sign(json!({"kid": kid}), claims(&as_, json!({}))).await);
    }
    // Sent concurrently against a cold verifier, then again once it holds keys.
    for round in 0..2 {
        let mut tasks = Vec::new();
        for token in forged.clone() {
            let endpoint = served.endpoint.clone();
            tasks.push(tokio::spawn(async move {
                let res = call_tool(&endpoint, Some(&token), "list_todos", json!({})).await;
                (token, res)
            }));
        }
        for task in tasks {
            let (token, res) = task.await.expect("request task");
            assert_invalid_token(&res, &served, &token, "unknown signing key");
        }
        if round == 0 {
            call_ok(&served.endpoint, &good, "list_todos", json!({})).await;
        }
    }
    let stats = verifier.stats();
    assert!(
        (1..=2).contains(&stats.jwks_fetches),
        "100 unknown kids caused {} JWKS fetches: {stats:?}",
        stats.jwks_fetches
    );
    assert_eq!(stats.keys, 1);
    call_ok(&served.endpoint, &good, "list_todos", json!({})).await;
}
