//! `IntrospectionVerifier` against an RFC 7662 endpoint served here, whose
//! answers, delay and status each test sets: acceptance and every check,
//! the cache and its bounds, one introspection for concurrent requests, and
//! 503 (never 401, never an accept) when the endpoint fails.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use axum::{Router, extract::State, http::HeaderMap, response::IntoResponse, routing::post};
use mcp_runtime::{
    McpServer,
    auth::{ClientAuth, IntrospectionVerifier, TokenVerifier, VerifyError},
    tool,
};
use serde_json::{Value, json};

/// What the endpoint answers, and what it saw.
#[derive(Default)]
struct Endpoint {
    answers: Mutex<HashMap<String, Value>>,
    calls: AtomicUsize,
    delay: Mutex<Duration>,
    status: Mutex<Option<u16>>,
    raw_body: Mutex<Option<String>>,
    bodies: Mutex<Vec<String>>,
}

const BASIC: &str = "Basic bWNwOnNlY3JldA=="; // mcp:secret

async fn introspect(
    State(e): State<Arc<Endpoint>>,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    e.calls.fetch_add(1, Ordering::SeqCst);
    e.bodies.lock().unwrap().push(body.clone());
    let delay = *e.delay.lock().unwrap();
    tokio::time::sleep(delay).await;
    if let Some(status) = *e.status.lock().unwrap() {
        return (axum::http::StatusCode::from_u16(status).unwrap(), "no").into_response();
    }
    if let Some(raw) = e.raw_body.lock().unwrap().clone() {
        return raw.into_response();
    }
    let authed = headers.get("authorization").is_some_and(|v| v == BASIC)
        || body.contains("client_id=mcp&client_secret=secret");
    if !authed {
        return (axum::http::StatusCode::UNAUTHORIZED, "bad client").into_response();
    }
    let token = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let answer = e.answers.lock().unwrap().get(&token).cloned();
    axum::Json(answer.unwrap_or(json!({"active": false}))).into_response()
}

/// The endpoint on a free loopback port: its state and URL.
async fn endpoint() -> (Arc<Endpoint>, String) {
    let state = Arc::new(Endpoint::default());
    let app = Router::new()
        .route("/introspect", post(introspect))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/introspect", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (state, url)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn active(sub: &str, scope: &str) -> Value {
    json!({
        "active": true, "sub": sub, "scope": scope, "client_id": "app-1",
        "iss": "https://as.example.com", "aud": ["https://mcp.example.com/mcp"],
        "exp": now() + 300,
    })
}

fn verifier(url: &str) -> IntrospectionVerifier {
    IntrospectionVerifier::new(url, "mcp", "secret")
        .unwrap()
        .issuer("https://as.example.com")
        .audience("https://mcp.example.com/mcp")
}

#[tokio::test]
async fn an_active_token_is_accepted_with_its_claims() {
    let (e, url) = endpoint().await;
    e.answers
        .lock()
        .unwrap()
        .insert("tok-1".into(), active("alice", "todo:read todo:write"));
    let token = verifier(&url).verify("tok-1").await.unwrap();
    assert_eq!(token.subject(), "alice");
    assert_eq!(token.scopes(), ["todo:read", "todo:write"]);
    assert_eq!(token.client_id(), Some("app-1"));
    assert_eq!(token.issuer(), Some("https://as.example.com"));
    assert!(token.expires_at().is_some());
    let body = e.bodies.lock().unwrap()[0].clone();
    assert_eq!(body, "token=tok-1&token_type_hint=access_token");
}

#[tokio::test]
async fn client_secret_post_sends_the_credentials_in_the_body() {
    let (e, url) = endpoint().await;
    e.answers
        .lock()
        .unwrap()
        .insert("tok-p".into(), active("bob", "x"));
    let v = verifier(&url).client_auth(ClientAuth::Post);
    assert_eq!(v.verify("tok-p").await.unwrap().subject(), "bob");
    assert!(e.bodies.lock().unwrap()[0].ends_with("&client_id=mcp&client_secret=secret"));
}

#[tokio::test]
async fn inactive_expired_foreign_and_subjectless_tokens_are_refused() {
    let (e, url) = endpoint().await;
    {
        let mut answers = e.answers.lock().unwrap();
        answers.insert(
        "expired".into(),
        json!({"active": true, "sub": "a", "exp": now() - 1, "aud": "https://mcp.example.com/mcp"}),
    );
        answers.insert(
            "other-aud".into(),
            json!({"active": true, "sub": "a", "aud": "https://elsewhere/mcp"}),
        );
        answers.insert("no-aud".into(), json!({"active": true, "sub": "a"}));
        answers.insert("other-iss".into(), json!({"active": true, "sub": "a", "iss": "https://evil", "aud": "https://mcp.example.com/mcp"}));
        answers.insert(
            "no-sub".into(),
            json!({"active": true, "aud": "https://mcp.example.com/mcp"}),
        );
    }
    let v = verifier(&url);
    for (token, why) in [
        ("unknown", "token is not active"),
        ("expired", "token expired"),
        ("other-aud", "audience mismatch"),
        ("no-aud", "audience mismatch"),
        ("other-iss", "token issuer mismatch"),
        ("no-sub", "token has no subject"),
    ] {
        assert_eq!(
            v.verify(token).await.err(),
            Some(VerifyError::Invalid(why.into())),
            "{token}"
        );
    }
}

#[tokio::test]
async fn a_failing_endpoint_is_unavailable_never_invalid() {
    let (e, url) = endpoint().await;
    e.answers
        .lock()
        .unwrap()
        .insert("tok".into(), active("a", ""));
    let unavailable = Some(VerifyError::Unavailable(
        "the token introspection endpoint did not answer".into(),
    ));
    let v = verifier(&url);
    *e.status.lock().unwrap() = Some(500);
    assert_eq!(v.verify("tok").await.err(), unavailable);
    *e.status.lock().unwrap() = None;
    *e.raw_body.lock().unwrap() = Some("<html>not json</html>".into());
    assert_eq!(verifier(&url).verify("tok").await.err(), unavailable);
    *e.raw_body.lock().unwrap() = None;
    // Bad client credentials: the endpoint's 401 is ours to fix, not the caller's.
    let wrong = IntrospectionVerifier::new(&url, "mcp", "wrong").unwrap();
    assert_eq!(wrong.verify("tok").await.err(), unavailable);
    // Nothing listening.
    let closed =
        IntrospectionVerifier::new("http://127.0.0.1:9/introspect", "mcp", "secret").unwrap();
    assert_eq!(closed.verify("tok").await.err(), unavailable);
    // And back: the endpoint answering again is enough, for the verifier
    // that saw it fail too (failures are never cached).
    assert!(v.verify("tok").await.is_ok());
}

#[tokio::test]
async fn a_slow_endpoint_is_waited_for_only_as_long_as_the_timeout() {
    let (e, url) = endpoint().await;
    e.answers
        .lock()
        .unwrap()
        .insert("tok".into(), active("a", ""));
    *e.delay.lock().unwrap() = Duration::from_secs(5);
    let v = verifier(&url).timeout(Duration::from_millis(300)).unwrap();
    let started = Instant::now();
    assert!(matches!(
        v.verify("tok").await.err(),
        Some(VerifyError::Unavailable(_))
    ));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn verified_tokens_are_cached_within_the_bound_and_revocation_is_seen_after_it() {
    let (e, url) = endpoint().await;
    e.answers
        .lock()
        .unwrap()
        .insert("tok".into(), active("a", "s"));
    let v = verifier(&url).cache_ttl(Duration::from_millis(400));
    for _ in 0..5 {
        v.verify("tok").await.unwrap();
    }
    assert_eq!(e.calls.load(Ordering::SeqCst), 1, "served from the cache");
    // Revoked at the authorization server: still cached, then refused.
    e.answers.lock().unwrap().remove("tok");
    assert!(v.verify("tok").await.is_ok());
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        v.verify("tok").await.err(),
        Some(VerifyError::Invalid("token is not active".into()))
    );
    assert_eq!(e.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_cached_token_never_outlives_its_exp() {
    let (e, url) = endpoint().await;
    let mut soon = active("a", "s");
    soon["exp"] = json!(now() + 2);
    e.answers.lock().unwrap().insert("tok".into(), soon);
    let v = verifier(&url).cache_ttl(Duration::from_secs(600));
    v.verify("tok").await.unwrap();
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(
        v.verify("tok").await.err(),
        Some(VerifyError::Invalid("token expired".into()))
    );
    assert_eq!(
        e.calls.load(Ordering::SeqCst),
        2,
        "the expired entry was not served"
    );
}

#[tokio::test]
async fn concurrent_requests_with_one_token_share_one_introspection() {
    let (e, url) = endpoint().await;
    e.answers
        .lock()
        .unwrap()
        .insert("tok".into(), active("a", "s"));
    *e.delay.lock().unwrap() = Duration::from_millis(300);
    let v = Arc::new(verifier(&url));
    let calls: Vec<_> = (0..100)
        .map(|_| {
            let v = v.clone();
            tokio::spawn(async move { v.verify("tok").await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().subject(), "a");
    }
    assert_eq!(e.calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn introspections_in_flight_are_capped_and_the_rest_wait_or_are_unavailable() {
    let (e, url) = endpoint().await;
    for i in 0..6 {
        e.answers
            .lock()
            .unwrap()
            .insert(format!("tok-{i}"), active(&format!("u{i}"), "s"));
    }
    *e.delay.lock().unwrap() = Duration::from_millis(200);
    // Two slots, six distinct tokens: three waves of two, each within the timeout.
    let v = Arc::new(
        verifier(&url)
            .max_in_flight(2)
            .timeout(Duration::from_secs(2))
            .unwrap(),
    );
    let started = std::time::Instant::now();
    let calls: Vec<_> = (0..6)
        .map(|i| {
            let v = v.clone();
            tokio::spawn(async move { v.verify(&format!("tok-{i}")).await })
        })
        .collect();
    for (i, call) in calls.into_iter().enumerate() {
        assert_eq!(call.await.unwrap().unwrap().subject(), format!("u{i}"));
    }
    assert_eq!(e.calls.load(Ordering::SeqCst), 6);
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "six 200 ms introspections through two slots took {:?}",
        started.elapsed()
    );

    // One slot, each introspection holding it for the whole timeout: the
    // second waits its turn (the semaphore is fair), the third waits the
    // timeout and is unavailable without ever reaching the endpoint.
    let (e, url) = endpoint().await;
    *e.delay.lock().unwrap() = Duration::from_millis(900);
    let v = Arc::new(
        verifier(&url)
            .max_in_flight(1)
            .timeout(Duration::from_millis(500))
            .unwrap(),
    );
    let mut calls = Vec::new();
    for (i, pause) in [0, 10, 40].into_iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let v = v.clone();
        calls.push(tokio::spawn(
            async move { v.verify(&format!("tok-{i}")).await },
        ));
    }
    for call in calls {
        let outcome = call.await.unwrap();
        assert!(
            matches!(outcome, Err(VerifyError::Unavailable(_))),
            "{outcome:?}"
        );
    }
    assert_eq!(
        e.calls.load(Ordering::SeqCst),
        2,
        "the third never got a slot, so never a request"
    );
}

#[test]
fn the_endpoint_must_be_https_or_loopback_and_the_secret_is_never_shown() {
    let e = IntrospectionVerifier::new("http://as.example.com/introspect", "c", "s").unwrap_err();
    assert!(e.to_string().contains("must be https"), "{e}");
    let v = IntrospectionVerifier::new("https://as.example.com/introspect", "c", "s3cr3t").unwrap();
    assert!(!format!("{v:?}").contains("s3cr3t"));
}

/// Who calls.
#[tool(scope = "notes:read")]
fn introspected_caller(token: mcp_runtime::AccessToken) -> String {
    token.subject().to_owned()
}

#[tokio::test]
async fn through_the_server_inactive_is_401_and_a_down_endpoint_503() {
    let (e, url) = endpoint().await;
    e.answers
        .lock()
        .unwrap()
        .insert("tok".into(), active("carol", "notes:read"));
    let server = McpServer::builder()
        .tool::<introspected_caller>()
        .authorization_server("https://as.example.com")
        .auth(verifier(&url).cache_ttl(Duration::ZERO))
        .build()
        .unwrap();
    let app = server.into_router();
    let call = |token: &'static str| {
        let app = app.clone();
        async move {
            use tower::ServiceExt;
            let client = mcp_test_client::Mcp::new("/mcp")
                .header("host", "localhost:3002")
                .bearer(Some(token));
            let body = mcp_test_client::rpc(
                "tools/call",
                json!({"name": "introspected_caller", "arguments": {}}),
            );
            let req = client.http_request(&body).map(axum::body::Body::from);
            app.oneshot(req).await.unwrap()
        }
    };
    assert_eq!(call("tok").await.status(), 200);
    let refused = call("nope").await;
    assert_eq!(refused.status(), 401);
    let challenge = refused.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    *e.status.lock().unwrap() = Some(502);
    let down = call("tok").await;
    assert_eq!(down.status(), 503);
    assert!(down.headers().contains_key("retry-after"));
}

#[tokio::test]
async fn auto_mode_verifies_known_jwts_locally_and_introspects_the_rest() {
    let (e, url) = endpoint().await;
    e.answers
        .lock()
        .unwrap()
        .insert("opaque-1".into(), active("olga", "s"));
    let dir = std::env::temp_dir().join(format!("introspection-auto-{}", std::process::id()));
    let audience = "https://mcp.example.com/mcp";
    let ours = mcp_runtime::auth::DevIssuer::load_or_create(
        dir.join("a.pem"),
        "https://as.example.com",
        audience,
    )
    .unwrap();
    let theirs = mcp_runtime::auth::DevIssuer::load_or_create(
        dir.join("b.pem"),
        "https://as.example.com",
        audience,
    )
    .unwrap();
    let v = verifier(&url).with_jwt(ours.verifier());

    let jwt = ours.mint("jane", ["s"], Duration::from_secs(60));
    assert_eq!(v.verify(&jwt).await.unwrap().subject(), "jane");
    assert_eq!(
        e.calls.load(Ordering::SeqCst),
        0,
        "a JWT of a known key needs no request"
    );
    // A bad JWT of a known key is refused locally, not introspected.
    let tampered = format!("{}x", &jwt[..jwt.len() - 1]);
    assert!(matches!(
        v.verify(&tampered).await,
        Err(VerifyError::Invalid(_))
    ));
    assert_eq!(e.calls.load(Ordering::SeqCst), 0);

    assert_eq!(v.verify("opaque-1").await.unwrap().subject(), "olga");
    assert_eq!(e.calls.load(Ordering::SeqCst), 1);
    // A JWT signed by a key the JWKS does not have is the server's to judge.
    let foreign = theirs.mint("mallory", ["s"], Duration::from_secs(60));
    assert_eq!(
        v.verify(&foreign).await.err(),
        Some(VerifyError::Invalid("token is not active".into()))
    );
    assert_eq!(e.calls.load(Ordering::SeqCst), 2);
    std::fs::remove_dir_all(&dir).unwrap();
}
