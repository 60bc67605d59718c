//! The Scalekit preset against a Scalekit-shaped authorization server (oidc-provider with JWKS at
//! `/keys`, `aud` = `res_test123`, `typ: JWT`, per-resource metadata), the discovery documents
//! (protected resource metadata, the forwarded authorization server metadata), and provider
//! selection from `AuthSettings` (Scalekit, generic issuer, development issuer).

#[path = "support/mcp.rs"]
mod mcp;
#[path = "support/oidc.rs"]
mod oidc;
#[path = "support/tools.rs"]
mod tools;

use std::time::Duration;

use mcp::{Listener, Served, call_ok, call_tool, unix_now};
use mcp_runtime::{
    Error, McpServer,
    auth::{AuthSettings, ClientAuth, DevIssuer, ScalekitProvider},
};
use oidc::{AsOptions, TestAs};
use serde_json::{Value, json};

const RESOURCE_ID: &str = "res_test123";

/// A Scalekit-shaped AS (with `opts` changes) and a server using `ScalekitProvider` for it.
async fn start(opts: AsOptions) -> (TestAs, Served) {
    let listener = Listener::bind().await;
    let as_ = TestAs::start(opts.resource(&listener.endpoint)).await;
    let server = tools::all(McpServer::builder())
        .base_url(&listener.base)
        .expect("base URL")
        .auth(ScalekitProvider::new(&as_.issuer, "skc_test", RESOURCE_ID).expect("provider"))
        .build()
        .expect("server");
    (as_, listener.serve(server))
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

/// The `Error::Config` variable name, or a panic.
fn config_name(e: &Error) -> &str {
    match e {
        Error::Config { name, .. } => name,
        other => panic!("expected a configuration error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scalekit_client_credentials_token_is_accepted() {
    let (as_, served) = start(AsOptions::scalekit()).await;
    let token = as_.client_credentials("todo:read todo:write").await;
    let (header, payload) = oidc::decode_jwt(&token);
    assert_eq!(header["typ"], "JWT");
    assert_eq!(header["alg"], "RS256");
    assert_eq!(payload["aud"], RESOURCE_ID);
    assert_eq!(payload["iss"], as_.issuer.as_str());

    let me = call_ok(&served.endpoint, &token, "whoami", json!({})).await;
    let caller = &me["structuredContent"];
    assert_eq!(caller["subject"], oidc::DEFAULT_CLIENT_ID, "{caller}");
    assert_eq!(caller["issuer"], as_.issuer.as_str());
    assert_eq!(caller["audience"], json!([RESOURCE_ID]));
    assert_eq!(sorted(&caller["scopes"]), ["todo:read", "todo:write"]);
    let r = call_ok(
        &served.endpoint,
        &token,
        "create_todo",
        json!({"title": "a"}),
    )
    .await;
    assert_eq!(r["isError"], false, "{r}");

    // A token for another Scalekit resource is refused.
    let now = unix_now();
    let other = as_
        .sign(
            json!({}),
            json!({"iss": as_.issuer, "aud": "res_other", "sub": "x", "scope": "todo:read", "iat": now, "exp": now + 300}),
        )
        .await;
    let res = call_tool(&served.endpoint, Some(&other), "list_todos", json!({})).await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.json(),
        json!({"error": "invalid_token", "error_description": "token audience mismatch"})
    );
    // The generic-issuer audience (the MCP URL alone) is not Scalekit's either.
    let url_aud = as_
        .sign(
            json!({}),
            json!({"iss": as_.issuer, "aud": served.endpoint, "sub": "x", "iat": now, "exp": now + 300}),
        )
        .await;
    let res = call_tool(&served.endpoint, Some(&url_aud), "whoami", json!({})).await;
    assert_eq!(res.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scalekit_accepts_both_the_environment_and_the_resource_issuer() {
    let keys = mcp::TempDir::new("oauth-scalekit-iss");
    let opts = AsOptions {
        key_file: Some(keys.join("key.json")),
        ..AsOptions::scalekit()
    };
    let (as_, served) = start(opts).await;
    let plain = as_.client_credentials("todo:read").await;
    let me = call_ok(&served.endpoint, &plain, "whoami", json!({})).await;
    assert_eq!(me["structuredContent"]["issuer"], as_.issuer.as_str());

    // Same port and key; tokens now say iss = {env}/resources/{res}.
    let resource_issuer = as_.resource_issuer();
    let as_ = as_
        .restart_with(|o| o.env.push(("AS_TOKEN_ISS".into(), "resource".into())))
        .await;
    let scoped = as_.client_credentials("todo:read").await;
    assert_eq!(oidc::decode_jwt(&scoped).1["iss"], resource_issuer.as_str());
    let me = call_ok(&served.endpoint, &scoped, "whoami", json!({})).await;
    assert_eq!(me["structuredContent"]["issuer"], resource_issuer.as_str());
    call_ok(&served.endpoint, &plain, "list_todos", json!({})).await;

    // Any other issuer path is not.
    let now = unix_now();
    let other = as_
        .sign(
            json!({}),
            json!({"iss": format!("{}/resources/res_other", as_.issuer), "aud": RESOURCE_ID, "sub": "x", "iat": now, "exp": now + 300}),
        )
        .await;
    let res = call_tool(&served.endpoint, Some(&other), "whoami", json!({})).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["error_description"], "token issuer mismatch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scalekit_m2m_tokens_with_a_scopes_array_and_an_audience_array_work() {
    let opts = AsOptions::scalekit()
        .env("AS_SCOPE_CLAIMS", "scopes")
        .env("AS_AUD_ARRAY", "1");
    let (as_, served) = start(opts).await;
    let token = as_.client_credentials("todo:read system:read").await;
    let (_, payload) = oidc::decode_jwt(&token);
    assert!(payload.get("scope").is_none(), "{payload}");
    assert!(payload["scopes"].is_array(), "{payload}");
    assert_eq!(payload["aud"], json!([RESOURCE_ID, served.endpoint]));

    let me = call_ok(&served.endpoint, &token, "whoami", json!({})).await;
    assert_eq!(
        sorted(&me["structuredContent"]["scopes"]),
        ["system:read", "todo:read"]
    );
    let r = call_ok(&served.endpoint, &token, "system_status", json!({})).await;
    assert_eq!(r["isError"], false, "{r}");
    let r = call_ok(
        &served.endpoint,
        &token,
        "create_todo",
        json!({"title": "x"}),
    )
    .await;
    assert_eq!(r["isError"], true, "{r}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scalekit_protected_resource_metadata_at_both_paths_byte_for_byte() {
    let (as_, served) = start(AsOptions::scalekit()).await;
    let expected = format!(
        r#"{{"resource":"{}","authorization_servers":["{}/resources/{RESOURCE_ID}"],"scopes_supported":["system:read","todo:read","todo:write"],"bearer_methods_supported":["header"],"resource_name":"oauth-test-server"}}"#,
        served.endpoint, as_.issuer
    );
    assert_eq!(served.endpoint, format!("{}mcp", served.base));
    for path in [
        ".well-known/oauth-protected-resource/mcp",
        ".well-known/oauth-protected-resource",
    ] {
        let res = mcp::get(&served.url(path), &[]).await;
        assert_eq!(res.status, 200, "{path}");
        assert_eq!(res.text, expected, "{path}");
        assert_eq!(res.header("content-type"), "application/json");

        let res = mcp::get(
            &served.url(path),
            &[("origin", "https://inspector.example")],
        )
        .await;
        assert_eq!(res.status, 200, "{path}");
        assert_eq!(res.header("access-control-allow-origin"), "*", "{path}");
        assert_eq!(res.text, expected, "{path}");
    }
    // The 401 challenge points at the path-inserted document.
    let res = mcp::post_mcp(&served.endpoint, None, &mcp::rpc("tools/list", json!({}))).await;
    assert_eq!(
        res.header("www-authenticate"),
        format!(
            r#"Bearer resource_metadata="{}.well-known/oauth-protected-resource/mcp", scope="system:read todo:read todo:write""#,
            served.base
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scalekit_authorization_server_metadata_is_forwarded_and_served_from_cache() {
    let (as_, served) = start(AsOptions::scalekit()).await;
    let upstream = mcp::get(
        &format!(
            "{}/.well-known/oauth-authorization-server/resources/{RESOURCE_ID}",
            as_.issuer
        ),
        &[],
    )
    .await;
    assert_eq!(upstream.status, 200);
    let upstream_doc = upstream.json();
    assert_eq!(upstream_doc["issuer"], as_.resource_issuer().as_str());

    let url = served.url(".well-known/oauth-authorization-server");
    let ours = mcp::get(&url, &[("origin", "https://inspector.example")]).await;
    assert_eq!(ours.status, 200, "{ours:#?}");
    assert_eq!(ours.json(), upstream_doc);
    assert_eq!(ours.header("content-type"), "application/json");
    assert_eq!(ours.header("access-control-allow-origin"), "*");
    assert!(
        ours.json()["registration_endpoint"].is_string(),
        "{}",
        ours.text
    );

    as_.stop();
    let cached = mcp::get(&url, &[]).await;
    assert_eq!(cached.status, 200, "{cached:#?}");
    assert_eq!(cached.text, ours.text, "served from cache, byte for byte");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scalekit_without_a_reachable_environment_answers_502_and_503() {
    // A port nobody listens on.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_url = format!(
        "http://127.0.0.1:{}",
        dead.local_addr().expect("addr").port()
    );
    drop(dead);

    let listener = Listener::bind().await;
    let server = tools::all(McpServer::builder())
        .base_url(&listener.base)
        .expect("base")
        .auth(ScalekitProvider::new(&dead_url, "skc_test", RESOURCE_ID).expect("provider"))
        .build()
        .expect("server");
    let served = listener.serve(server);

    let res = mcp::get(&served.url(".well-known/oauth-authorization-server"), &[]).await;
    assert_eq!(res.status, 502, "{res:#?}");
    assert_eq!(res.header("content-type"), "application/json");
    assert_eq!(
        res.json(),
        json!({
            "error": "temporarily_unavailable",
            "error_description": "The authorization server's metadata could not be fetched; retry shortly"
        })
    );
    // The PRM does not need the upstream.
    let prm = mcp::get(&served.url(".well-known/oauth-protected-resource"), &[]).await;
    assert_eq!(prm.status, 200);
    assert_eq!(
        prm.json()["authorization_servers"],
        json!([format!("{dead_url}/resources/{RESOURCE_ID}")])
    );
    // A token cannot be checked without keys: 503, not 401.
    let now = unix_now();
    let token = mcp::forge(
        &json!({"alg": "RS256", "typ": "JWT", "kid": "k"}),
        &json!({"iss": dead_url, "aud": RESOURCE_ID, "sub": "x", "iat": now, "exp": now + 60}),
        &[1u8; 256],
    );
    let res = call_tool(&served.endpoint, Some(&token), "whoami", json!({})).await;
    assert_eq!(res.status, 503, "{res:#?}");
    assert_eq!(res.header("retry-after"), "5");
}

/// The error a server configured by `settings` fails to build with.
fn settings_error(settings: &AuthSettings) -> Error {
    McpServer::builder()
        .auth(settings.clone())
        .build()
        .unwrap_err()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_missing_scalekit_resource_id_name_it() {
    let mut s = AuthSettings::default();
    s.scalekit_environment_url = Some("https://acme.scalekit.dev".into());
    s.scalekit_client_id = Some("skc_1".into());
    s.mcp_url = Some("http://127.0.0.1:3002/".into());
    let e = settings_error(&s);
    assert_eq!(config_name(&e), "SCALEKIT_RESOURCE_ID", "{e}");
    assert!(e.to_string().starts_with("SCALEKIT_RESOURCE_ID: "), "{e}");

    // Malformed rather than missing: named too.
    s.scalekit_resource_id = Some("abc".into());
    let e = settings_error(&s);
    assert_eq!(config_name(&e), "SCALEKIT_RESOURCE_ID", "{e}");

    // Everything but MCP_URL.
    s.scalekit_resource_id = Some("res_1".into());
    s.mcp_url = None;
    let e = settings_error(&s);
    assert_eq!(config_name(&e), "MCP_URL", "{e}");

    // Only one Scalekit variable still selects Scalekit (and names the first missing one).
    let mut only = AuthSettings::default();
    only.scalekit_resource_id = Some("res_1".into());
    let e = settings_error(&only);
    assert_eq!(config_name(&e), "SCALEKIT_ENVIRONMENT_URL", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_with_an_issuer_but_no_audience_name_mcp_auth_audience() {
    let mut s = AuthSettings::default();
    s.issuer = Some("https://login.example.com".into());
    let e = settings_error(&s);
    assert_eq!(config_name(&e), "MCP_AUTH_AUDIENCE", "{e}");
    assert!(e.to_string().starts_with("MCP_AUTH_AUDIENCE: "), "{e}");

    s.audience = Some("https://mcp.example.com/mcp".into());
    s.issuer = Some("not a url".into());
    let e = settings_error(&s);
    assert_eq!(config_name(&e), "MCP_AUTH_ISSUER", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_settings_name_what_is_missing_or_wrong() {
    let mut s = AuthSettings::default();
    s.introspection_client_id = Some("mcp-server".into());
    s.introspection_client_secret = Some("its-secret".into());
    // Introspection belongs to a generic issuer.
    let e = settings_error(&s);
    assert_eq!(config_name(&e), "MCP_AUTH_ISSUER", "{e}");

    s.issuer = Some("https://login.example.com".into());
    s.audience = Some("https://mcp.example.com/mcp".into());
    s.introspection_client_secret = None;
    let e = settings_error(&s);
    assert_eq!(
        config_name(&e),
        "MCP_AUTH_INTROSPECTION_CLIENT_SECRET",
        "{e}"
    );

    s.introspection_client_id = None;
    s.introspection_endpoint = Some("https://login.example.com/introspect".into());
    let e = settings_error(&s);
    assert_eq!(config_name(&e), "MCP_AUTH_INTROSPECTION_CLIENT_ID", "{e}");

    s.introspection_client_id = Some("mcp-server".into());
    s.introspection_client_secret = Some("its-secret".into());
    s.introspection_endpoint = Some("http://login.example.com/introspect".into());
    let e = settings_error(&s);
    assert_eq!(config_name(&e), "MCP_AUTH_INTROSPECTION_ENDPOINT", "{e}");
    assert!(!e.to_string().contains("its-secret"), "{e}");

    s.introspection_endpoint = None;
    let server = McpServer::builder().auth(s).build().expect("server");
    assert!(
        server
            .authentication()
            .unwrap()
            .ends_with("other tokens introspected")
    );

    // MCP_AUTH_INTROSPECTION_CLIENT_AUTH's values.
    for (v, want) in [
        ("basic", ClientAuth::Basic),
        ("POST", ClientAuth::Post),
        ("client_secret_post", ClientAuth::Post),
    ] {
        assert_eq!(v.parse::<ClientAuth>(), Ok(want));
    }
    assert!("private_key_jwt".parse::<ClientAuth>().is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_select_scalekit_or_the_generic_issuer_and_both_serve() {
    // Scalekit from settings.
    let listener = Listener::bind().await;
    let as_ = TestAs::start(AsOptions::scalekit().resource(&listener.endpoint)).await;
    let mut s = AuthSettings::default();
    s.scalekit_environment_url = Some(format!("{}/", as_.issuer));
    s.scalekit_client_id = Some("skc_test".into());
    s.scalekit_resource_id = Some(RESOURCE_ID.into());
    s.mcp_url = Some(listener.base.clone());
    // Scalekit wins over a generic issuer set alongside.
    s.issuer = Some("https://ignored.example".into());
    let builder = tools::all(McpServer::builder())
        .base_url(&listener.base)
        .expect("base");
    let server = builder.auth(s).build().expect("server");
    let described = server.authentication().expect("authenticated");
    assert!(described.starts_with("Scalekit"), "{described}");
    let served = listener.serve(server);
    let token = as_.client_credentials("todo:read").await;
    call_ok(&served.endpoint, &token, "list_todos", json!({})).await;

    // The generic issuer from settings, with an explicit JWKS URL.
    let listener = Listener::bind().await;
    let generic = TestAs::start(AsOptions::default().resource(&listener.endpoint)).await;
    let mut s = AuthSettings::default();
    s.issuer = Some(generic.issuer.clone());
    s.audience = Some(listener.endpoint.clone());
    s.jwks_uri = Some(generic.jwks_uri.clone());
    let server = tools::all(McpServer::builder())
        .base_url(&listener.base)
        .expect("base")
        .auth(s)
        .build()
        .expect("server");
    let described = server.authentication().expect("authenticated");
    assert!(described.starts_with("OAuth/OIDC issuer"), "{described}");
    let served = listener.serve(server);
    let token = generic.client_credentials("todo:read").await;
    let me = call_ok(&served.endpoint, &token, "whoami", json!({})).await;
    assert_eq!(me["structuredContent"]["issuer"], generic.issuer.as_str());
    // The Scalekit AS's token is not for this server.
    let res = call_tool(
        &served.endpoint,
        Some(&as_.client_credentials("todo:read").await),
        "whoami",
        json!({}),
    )
    .await;
    assert_eq!(res.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_settings_select_the_development_issuer_which_serves_its_tokens_and_keys() {
    let dir = mcp::TempDir::new("oauth-dev-issuer");
    let key_file = dir.join("dev-key.pem");
    let listener = Listener::bind().await;
    let mut s = AuthSettings::default();
    s.dev_key_file = Some(key_file.clone());
    let builder = tools::all(McpServer::builder())
        .base_url(&listener.base)
        .expect("base");
    let server = builder.auth(s.clone()).build().expect("server");
    let described = server.authentication().expect("authenticated");
    assert!(described.starts_with("development issuer"), "{described}");
    assert!(key_file.exists(), "the key file is created");
    let issuer = DevIssuer::for_base_url(server.base_url(), &key_file).expect("issuer");
    let origin = listener.base.trim_end_matches('/').to_owned();
    assert_eq!(issuer.issuer(), origin);
    assert_eq!(issuer.audience(), listener.endpoint);
    let token = issuer.mint("dev-user", ["todo:read"], Duration::from_secs(300));
    let jwks = issuer.jwks();
    let kid = issuer.kid().to_owned();

    let served = listener.serve(server);
    let me = call_ok(&served.endpoint, &token, "whoami", json!({})).await;
    assert_eq!(me["structuredContent"]["subject"], "dev-user");
    assert_eq!(me["structuredContent"]["issuer"], origin.as_str());
    let r = call_ok(&served.endpoint, &token, "list_todos", json!({})).await;
    assert_eq!(r["content"][0]["text"], "todos of dev-user");

    let res = mcp::get(&served.url(".well-known/jwks.json"), &[]).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json(), jwks);
    assert!(res.json()["keys"][0].get("d").is_none(), "public key only");
    let meta = mcp::get(&served.url(".well-known/oauth-authorization-server"), &[]).await;
    assert_eq!(meta.json()["issuer"], origin.as_str());
    assert_eq!(
        meta.json()["jwks_uri"],
        format!("{origin}/.well-known/jwks.json")
    );
    let prm = mcp::get(&served.resource_metadata, &[]).await;
    assert_eq!(prm.json()["authorization_servers"], json!([origin]));

    // The same key file gives the same key (tokens survive a restart).
    let again = McpServer::builder()
        .base_url(&served.base)
        .expect("base")
        .auth(s.clone())
        .build()
        .expect("server");
    let again = DevIssuer::for_base_url(again.base_url(), &key_file).expect("issuer");
    assert_eq!(again.kid(), kid);

    // Beyond loopback, only when allowed by name.
    let remote = || {
        McpServer::builder()
            .host("0.0.0.0")
            .base_url(&served.base)
            .expect("base")
    };
    let e = remote().auth(s.clone()).build().unwrap_err();
    assert_eq!(config_name(&e), "HOST", "{e}");
    s.dev_allow_remote = true;
    remote()
        .auth(s)
        .build()
        .expect("allowed by MCP_DEV_ALLOW_REMOTE");

    // A token of a real AS is not the development issuer's.
    let as_ = TestAs::start(AsOptions::default().resource(&served.endpoint)).await;
    let foreign = as_.client_credentials("todo:read").await;
    let res = call_tool(&served.endpoint, Some(&foreign), "whoami", json!({})).await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.json()["error_description"],
        "algorithm not allowed",
        "the development issuer accepts ES256 only"
    );
}
