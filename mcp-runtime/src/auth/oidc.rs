//! Any OAuth 2.0 / OpenID Connect authorization server, found through
//! RFC 8414 or OpenID discovery.

use std::{
    sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError},
    time::Duration,
};

use base64::Engine;
use serde_json::{Map, Value};
use tokio::sync::watch;
use url::{Host, Url};

use super::{
    AuthProvider, Authentication, Site,
    forward::{Backoff, Flight, MAX_BODY, Step, get_capped, http_client, wait_for},
    introspection::Introspection,
    issuer_url,
    jwt::JwtVerifier,
    verifier::{TokenVerifier, VerifyError},
};
use crate::{error::Error, future::BoxFuture, token::AccessToken};

/// The header `typ` an [`OidcProvider`] requires unless told otherwise: the
/// RFC 9068 access token type.
const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// Any OAuth 2.0 / OpenID Connect authorization server (Auth0, Keycloak,
/// Okta, oidc-provider, …), found through RFC 8414 or OpenID discovery.
///
/// Tokens must carry the header `typ: at+jwt` (RFC 9068 §2.1): an ID token
/// from the same issuer is signed with the same keys and often names the
/// same audience, and must not pass as an access token (RFC 8725 §3.11).
/// [`require_typ`](Self::require_typ) names other types;
/// [`accept_any_typ`](Self::accept_any_typ) turns the check off.
///
/// The issuer, and the JWKS URL whether given or discovered, must be `https`
/// (plain `http` only on loopback: `localhost`, `127.0.0.0/8`, `[::1]`).
///
/// ```
/// use mcp_runtime::{McpServer, auth::OidcProvider};
///
/// let issuer = OidcProvider::new("https://login.example.com/realms/acme", "https://mcp.example.com/mcp");
/// let server = McpServer::builder().auth(issuer.unwrap()).build().unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct OidcProvider {
    issuer: String,
    audience: String,
    jwks_uri: Option<String>,
    typ: Option<Vec<String>>,
    introspection: Option<Introspection>,
}

impl OidcProvider {
    /// Tokens from `issuer` (exactly as in their `iss`) for `audience`.
    /// `issuer` must be `https`, or `http` on loopback.
    pub fn new(issuer: &str, audience: &str) -> Result<Self, Error> {
        if audience.trim().is_empty() {
            return Err(Error::config("MCP_AUTH_AUDIENCE", "must not be empty"));
        }
        let url = Url::parse(issuer)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                Error::config(
                    "MCP_AUTH_ISSUER",
                    format!("`{issuer}` is not an http(s) URL"),
                )
            })?;
        require_tls(issuer, &url).map_err(|why| Error::config("MCP_AUTH_ISSUER", why))?;
        Ok(Self {
            issuer: issuer.to_owned(),
            audience: audience.trim().to_owned(),
            jwks_uri: None,
            typ: Some(vec![ACCESS_TOKEN_TYP.to_owned()]),
            introspection: None,
        })
    }

    /// Skips discovery and fetches keys from `jwks_uri`, which must be
    /// `https` (or `http` on loopback): checked when the server is built, as
    /// `MCP_AUTH_JWKS_URI`.
    pub fn jwks_uri(mut self, jwks_uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(jwks_uri.into());
        self
    }

    /// Requires the token header's `typ` to be one of `types`, compared
    /// without case and without an `application/` prefix (default: `at+jwt`).
    /// For an issuer that marks its access tokens otherwise: keep the list to
    /// types its ID tokens do not carry.
    pub fn require_typ<S: Into<String>>(mut self, types: impl IntoIterator<Item = S>) -> Self {
        self.typ = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// Accepts tokens whatever their header `typ`, or without one.
    ///
    /// Dangerous: an ID token the same issuer signed for a client whose id is
    /// this server's audience then passes as an access token (RFC 8725
    /// §3.11), so whoever holds a user's ID token acts as that user. Use only
    /// for an issuer whose access tokens carry no distinguishing `typ`, and
    /// prefer [`require_typ`](Self::require_typ) with the type it does use.
    pub fn accept_any_typ(mut self) -> Self {
        self.typ = None;
        self
    }

    /// Also accepts the issuer's opaque tokens, checked at its RFC 7662
    /// introspection endpoint (auto mode): a JWT signed by one of the
    /// issuer's keys is verified locally, any other token is introspected.
    /// Bearer values that are not JWTs then reach the endpoint (through a
    /// cache): see [`Introspection`].
    pub fn introspect(mut self, introspection: Introspection) -> Self {
        self.introspection = Some(introspection);
        self
    }

    /// The verifier for keys at `jwks_uri` and, with introspection, opaque
    /// tokens at `introspection_endpoint` (the given one first).
    fn full_verifier(
        &self,
        jwks_uri: String,
        introspection_endpoint: Option<&str>,
    ) -> Result<Arc<dyn TokenVerifier>, Error> {
        let jwt = self.verifier(jwks_uri)?;
        let Some(intro) = &self.introspection else {
            return Ok(Arc::new(jwt));
        };
        let endpoint = intro
            .given_endpoint()
            .or(introspection_endpoint)
            .ok_or_else(|| {
                Error::config(
                    "MCP_AUTH_INTROSPECTION_ENDPOINT",
                    "is not set, and the issuer's metadata names no introspection_endpoint",
                )
            })?;
        Ok(Arc::new(intro.verifier(
            endpoint,
            &self.issuer,
            &self.audience,
            jwt,
        )?))
    }

    fn verifier(&self, jwks_uri: String) -> Result<JwtVerifier, Error> {
        let mut b = JwtVerifier::builder(jwks_uri)
            .issuer(self.issuer.clone())
            .audience(self.audience.clone());
        if let Some(t) = &self.typ {
            b = b.require_typ(t);
        }
        b.build()
            .map_err(|e| Error::config("MCP_AUTH_ISSUER", e.to_string()))
    }
}

impl AuthProvider for OidcProvider {
    fn install(self, _site: &Site) -> Result<Authentication, Error> {
        let mut description = format!(
            "OAuth/OIDC issuer {} (audience {})",
            self.issuer, self.audience
        );
        if self.introspection.is_some() {
            description.push_str(", other tokens introspected");
        }
        let issuer = self.issuer.clone();
        // Discovery is skipped when it has nothing to find.
        let known = self.jwks_uri.clone().filter(|_| {
            self.introspection
                .as_ref()
                .is_none_or(|i| i.given_endpoint().is_some())
        });
        let auth = match known {
            Some(uri) => {
                issuer_url("MCP_AUTH_JWKS_URI", &uri)?;
                Authentication::new(description, self.full_verifier(uri, None)?)
            }
            None => Authentication::new(description, Discovering::new(self, DISCOVERY)?),
        };
        Ok(auth.authorization_server(issuer))
    }
}

/// Refuses plain `http` to anything but loopback (`localhost`,
/// `127.0.0.0/8`, `[::1]`): keys or metadata fetched in the clear can be
/// swapped on the way, and whoever swaps the keys mints tokens we accept.
/// `value` is `url` as written, for the message.
pub(super) fn require_tls(value: &str, url: &Url) -> Result<(), String> {
    let loopback = match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    if url.scheme() == "https" || (url.scheme() == "http" && loopback) {
        return Ok(());
    }
    Err(format!(
        "`{value}` is not https: use an https:// URL (plain http is accepted only on loopback: \
         localhost, 127.0.0.0/8, [::1]), since keys fetched in the clear can be replaced on the \
         way"
    ))
}

/// An OIDC verifier that finds its JWKS through discovery on first use.
///
/// Discovery runs in one task at a time, which every caller shares (waiting
/// [`Timing::max_wait`] at most); after a failure it is not tried again for
/// a backoff period (5 s, doubling up to a minute), and callers meanwhile get
/// [`VerifyError::Unavailable`] at once. Without introspection, bearer
/// values that are not shaped like a JWT are refused before any of this, so
/// they cause no request.
struct Discovering(Arc<Discovery>);

struct Discovery {
    provider: OidcProvider,
    /// No redirects; each request bounded by [`Timing::request_timeout`].
    client: reqwest::Client,
    max_wait: Duration,
    /// Set once, by the discovery that succeeds; read without a lock.
    found: OnceLock<Arc<dyn TokenVerifier>>,
    flight: Mutex<Flight>,
}

/// How discovery is paced.
#[derive(Debug, Clone, Copy)]
struct Timing {
    /// Timeout of one metadata request (body included).
    request_timeout: Duration,
    /// How long a caller waits for the discovery in flight.
    max_wait: Duration,
    backoff: Backoff,
}

const DISCOVERY: Timing = Timing {
    request_timeout: Duration::from_secs(5),
    max_wait: Duration::from_secs(5),
    backoff: Backoff {
        first: Duration::from_secs(5),
        max: Duration::from_secs(60),
    },
};

/// Tokens longer than this are refused (as the JWT verifier refuses them).
const MAX_TOKEN_LEN: usize = 16 * 1024;

/// base64url without padding, as compact JWS segments are written (RFC 7515 §2).
const B64URL: base64::engine::GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Refuses, without any network, a bearer value that cannot be a compact JWS:
/// three non-empty base64url segments whose header is a JSON object naming
/// an `alg`. Only a token that might verify may start discovery (and, when
/// the issuer is down, its backoff); the JWT verifier checks the rest, and
/// alone once discovery succeeded.
fn check_jwt_shape(token: &str) -> Result<(), VerifyError> {
    let malformed = || VerifyError::Invalid("malformed token".to_owned());
    if token.len() > MAX_TOKEN_LEN {
        return Err(malformed());
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let decode = |segment: &str| {
        Some(segment)
            .filter(|s| !s.is_empty())
            .and_then(|s| B64URL.decode(s).ok())
    };
    let header = decode(header)
        .and_then(|h| serde_json::from_slice::<Map<String, Value>>(&h).ok())
        .ok_or_else(malformed)?;
    if !header.get("alg").is_some_and(Value::is_string)
        || decode(payload).is_none()
        || decode(signature).is_none()
    {
        return Err(malformed());
    }
    Ok(())
}

/// RFC 8414 §3 and OpenID Connect Discovery §4 metadata URLs for `issuer`.
fn discovery_urls(issuer: &str) -> Vec<String> {
    let Ok(url) = Url::parse(issuer) else {
        return Vec::new();
    };
    let path = url.path().trim_end_matches('/');
    let mut origin = url.clone();
    origin.set_path("");
    let origin = origin.as_str().trim_end_matches('/').to_owned();
    vec![
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        ),
    ]
}

impl Discovering {
    fn new(provider: OidcProvider, timing: Timing) -> Result<Self, Error> {
        let client = http_client(timing.request_timeout)
            .map_err(|e| Error::config("MCP_AUTH_ISSUER", format!("HTTP client: {e}")))?;
        Ok(Self(Arc::new(Discovery {
            provider,
            client,
            max_wait: timing.max_wait,
            found: OnceLock::new(),
            flight: Mutex::new(Flight::new(timing.backoff)),
        })))
    }
}

impl Discovery {
    fn flight(&self) -> MutexGuard<'_, Flight> {
        self.flight.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The discovered verifier: found now, by the discovery in flight (joined
    /// or started), or unavailable while backing off after a failure.
    async fn verifier(self: &Arc<Self>) -> Result<Arc<dyn TokenVerifier>, VerifyError> {
        if let Some(found) = self.found.get() {
            return Ok(found.clone());
        }
        let step = {
            let mut flight = self.flight();
            // Found while this caller waited for the lock?
            if let Some(found) = self.found.get() {
                return Ok(found.clone());
            }
            flight.step()
        };
        match step {
            Step::Start(done, running) => {
                tokio::spawn(self.clone().run(done));
                wait_for(running, self.max_wait).await;
            }
            Step::Wait(running) => wait_for(running, self.max_wait).await,
            Step::BackingOff => {}
        }
        self.found.get().cloned().ok_or_else(|| {
            VerifyError::Unavailable("the authorization server could not be discovered".into())
        })
    }

    /// One discovery, its outcome recorded before `done` is dropped (which
    /// wakes the callers waiting for it).
    async fn run(self: Arc<Self>, done: watch::Sender<()>) {
        let found = self.discover().await;
        // Under the lock, and the verifier set before the flight ends: a
        // caller sees the verifier or the flight, never neither.
        let mut flight = self.flight();
        match found {
            Ok(verifier) => {
                let _ = self.found.set(verifier);
                flight.finish(true);
            }
            Err(why) => {
                let pause = flight.finish(false).unwrap_or_default();
                tracing::error!(issuer = %self.provider.issuer, error = %why, retry_in = ?pause, "issuer discovery failed");
            }
        }
        drop(flight);
        drop(done);
    }

    async fn discover(&self) -> Result<Arc<dyn TokenVerifier>, String> {
        let mut last = String::from("no discovery URL");
        for url in discovery_urls(&self.provider.issuer) {
            match self.metadata_from(&url).await {
                Ok((jwks, introspection)) => {
                    tracing::info!(issuer = %self.provider.issuer, jwks_uri = jwks, introspection_endpoint = introspection, "discovered the issuer's keys");
                    return self
                        .provider
                        .full_verifier(jwks, introspection.as_deref())
                        .map_err(|e| e.to_string());
                }
                Err(why) => last = why,
            }
        }
        Err(format!(
            "discovery for {} failed: {last}",
            self.provider.issuer
        ))
    }

    /// The `jwks_uri` (unless given) and `introspection_endpoint` of the
    /// metadata at `url`, when it names our issuer and they are `https` (or
    /// `http` on loopback).
    async fn metadata_from(&self, url: &str) -> Result<(String, Option<String>), String> {
        let body = get_capped(&self.client, url, MAX_BODY)
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let doc: Value =
            serde_json::from_slice(&body).map_err(|e| format!("{url}: not JSON ({e})"))?;
        if doc["issuer"].as_str() != Some(self.provider.issuer.as_str()) {
            return Err(format!("{url} names issuer {}", doc["issuer"]));
        }
        let introspection = doc["introspection_endpoint"].as_str().map(str::to_owned);
        if let Some(given) = &self.provider.jwks_uri {
            return Ok((given.clone(), introspection));
        }
        let jwks = doc["jwks_uri"]
            .as_str()
            .ok_or_else(|| format!("{url} has no jwks_uri"))?;
        let parsed = Url::parse(jwks).map_err(|e| format!("{url}: jwks_uri `{jwks}`: {e}"))?;
        require_tls(jwks, &parsed).map_err(|why| format!("{url}: jwks_uri {why}"))?;
        Ok((jwks.to_owned(), introspection))
    }
}

impl TokenVerifier for Discovering {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AccessToken, VerifyError>> {
        Box::pin(async move {
            // Once discovered, the JWT verifier refuses malformed tokens
            // itself, without network, and with its own precise reasons.
            if let Some(found) = self.0.found.get() {
                return found.verify(token).await;
            }
            if self.0.provider.introspection.is_none() {
                check_jwt_shape(token)?;
            }
            let verifier = self.0.verifier().await?;
            verifier.verify(token).await
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::{
        Json, Router,
        extract::State,
        http::StatusCode,
        response::{IntoResponse, Response},
        routing::get,
    };
    use serde_json::json;
    use tokio::sync::Semaphore;

    use super::*;

    #[derive(Clone, Copy)]
    enum Mode {
        Fail,
        /// Answers only once the test adds permits to `release`.
        Hold,
        /// Valid metadata whose `jwks_uri` is `jwks`.
        Metadata(&'static str),
    }

    /// A counting authorization server on `127.0.0.1:0`.
    struct Issuer {
        url: String,
        hits: AtomicUsize,
        mode: Mode,
        release: Semaphore,
    }

    impl Issuer {
        async fn start(mode: Mode) -> Arc<Self> {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let issuer = Arc::new(Self {
                url: format!("http://{}", listener.local_addr().unwrap()),
                hits: AtomicUsize::new(0),
                mode,
                release: Semaphore::new(0),
            });
            let app = Router::new()
                .fallback(get(metadata))
                .with_state(issuer.clone());
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            issuer
        }

        fn hits(&self) -> usize {
            self.hits.load(Ordering::SeqCst)
        }

        fn discovering(&self, timing: Timing) -> Discovering {
            let provider = OidcProvider::new(&self.url, "https://mcp.example/mcp").unwrap();
            Discovering::new(provider, timing).unwrap()
        }
    }

    async fn metadata(State(issuer): State<Arc<Issuer>>) -> Response {
        issuer.hits.fetch_add(1, Ordering::SeqCst);
        match issuer.mode {
            Mode::Fail => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            Mode::Hold => {
                let _permit = issuer.release.acquire().await.unwrap();
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            }
            Mode::Metadata(jwks) => {
                Json(json!({"issuer": issuer.url, "jwks_uri": jwks})).into_response()
            }
        }
    }

    /// Fast timing, and a backoff no test outlives.
    fn timing() -> Timing {
        Timing {
            request_timeout: Duration::from_secs(10),
            max_wait: Duration::from_secs(10),
            backoff: Backoff {
                first: Duration::from_secs(3600),
                max: Duration::from_secs(3600),
            },
        }
    }

    fn b64(bytes: &[u8]) -> String {
        B64URL.encode(bytes)
    }

    /// A JWT-shaped token (not signed by anyone).
    fn jwt_shaped(header: &Value) -> String {
        let payload = b64(br#"{"sub":"someone"}"#);
        format!(
            "{}.{payload}.{}",
            b64(header.to_string().as_bytes()),
            b64(b"sig")
        )
    }

    /// `d.verify(token)`, failing the test after 20 s.
    async fn verify(d: &Discovering, token: &str) -> Result<AccessToken, VerifyError> {
        let verify = tokio::time::timeout(Duration::from_secs(20), d.verify(token));
        verify.await.expect("verification answers in bounded time")
    }

    /// `n` concurrent verifications of `token`; all must be unavailable.
    async fn all_unavailable(d: &Arc<Discovering>, token: &str, n: usize) {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let (d, token) = (d.clone(), token.to_owned());
                tokio::spawn(async move { verify(&d, &token).await })
            })
            .collect();
        for task in tasks {
            let result = task.await.unwrap();
            assert!(
                matches!(result, Err(VerifyError::Unavailable(_))),
                "{result:?}"
            );
        }
    }

    #[tokio::test]
    async fn bearer_values_not_shaped_like_a_jwt_are_refused_without_any_request() {
        let issuer = Issuer::start(Mode::Fail).await;
        let d = issuer.discovering(timing());
        let rs256 = b64(br#"{"alg":"RS256"}"#);
        let long = format!("{rs256}.{}.c2ln", "A".repeat(MAX_TOKEN_LEN));
        let bad = [
            "x".to_owned(),
            String::new(),
            "a.b".to_owned(),
            "a.b.c.d".to_owned(),
            "..".to_owned(),
            format!("{rs256}..c2ln"),
            format!("{rs256}.e30."),
            format!("{rs256}.e3*.c2ln"),
            format!("{rs256}.e30.c2ln="),
            format!("{rs256}=.e30.c2ln"),
            "!!!.e30.c2ln".to_owned(),
            format!("{}.e30.c2ln", b64(b"not json")),
            format!("{}.e30.c2ln", b64(b"[1]")),
            format!("{}.e30.c2ln", b64(br#"{"typ":"JWT"}"#)),
            format!("{}.e30.c2ln", b64(br#"{"alg":1}"#)),
            long,
        ];
        for token in &bad {
            let result = verify(&d, token).await;
            assert_eq!(
                result.unwrap_err(),
                VerifyError::Invalid("malformed token".into()),
                "{token:.40}"
            );
        }
        assert_eq!(issuer.hits(), 0, "no request for a non-JWT bearer value");
        // A JWT-shaped one does start discovery.
        let result = verify(&d, &format!("{rs256}.e30.c2ln")).await;
        assert!(
            matches!(result, Err(VerifyError::Unavailable(_))),
            "{result:?}"
        );
        assert!(issuer.hits() > 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_tokens_against_a_failing_issuer_share_one_discovery() {
        let issuer = Issuer::start(Mode::Fail).await;
        let d = Arc::new(issuer.discovering(timing()));
        let token = jwt_shaped(&json!({"alg": "RS256", "typ": "at+jwt"}));
        all_unavailable(&d, &token, 30).await;
        // One discovery tries each of the two metadata URLs once.
        assert_eq!(issuer.hits(), 2);
        for _ in 0..10 {
            all_unavailable(&d, &token, 1).await;
        }
        all_unavailable(&d, &token, 30).await;
        assert_eq!(issuer.hits(), 2, "no retry while backing off");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hanging_issuer_keeps_callers_waiting_at_most_max_wait() {
        let issuer = Issuer::start(Mode::Hold).await;
        let max_wait = Duration::from_millis(100);
        let d = Arc::new(issuer.discovering(Timing {
            max_wait,
            ..timing()
        }));
        let token = jwt_shaped(&json!({"alg": "RS256"}));
        all_unavailable(&d, &token, 20).await;
        assert_eq!(issuer.hits(), 1, "callers joined the discovery in flight");
        issuer.release.add_permits(100);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_unreachable_issuer_is_tried_once_per_backoff() {
        // Accepts connections, counts them, and hangs up at once.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                drop(conn);
            }
        });
        let provider = OidcProvider::new(&url, "https://mcp.example/mcp").unwrap();
        let d = Arc::new(Discovering::new(provider, timing()).unwrap());
        let token = jwt_shaped(&json!({"alg": "ES256"}));
        all_unavailable(&d, &token, 30).await;
        all_unavailable(&d, &token, 30).await;
        let n = connections.load(Ordering::SeqCst);
        // Two URLs, each perhaps retried once by the HTTP client.
        assert!((1..=4).contains(&n), "{n} connections");
    }

    #[tokio::test]
    async fn a_discovered_plain_http_jwks_uri_off_loopback_is_refused() {
        let issuer = Issuer::start(Mode::Metadata("http://keys.example.com/jwks")).await;
        let d = issuer.discovering(timing());
        let token = jwt_shaped(&json!({"alg": "RS256", "typ": "at+jwt"}));
        let result = verify(&d, &token).await;
        assert!(
            matches!(result, Err(VerifyError::Unavailable(_))),
            "{result:?}"
        );
        assert!(d.0.found.get().is_none());

        // On loopback it is accepted (then the keys cannot be fetched).
        let issuer = Issuer::start(Mode::Metadata("http://127.0.0.1:1/jwks")).await;
        let d = issuer.discovering(timing());
        let result = verify(&d, &token).await;
        assert!(
            matches!(result, Err(VerifyError::Unavailable(_))),
            "{result:?}"
        );
        assert!(d.0.found.get().is_some(), "discovered");
    }

    #[test]
    fn plain_http_is_accepted_only_on_loopback() {
        let check = |value: &str| require_tls(value, &Url::parse(value).unwrap());
        for ok in [
            "https://login.example.com",
            "https://10.0.0.1/keys",
            "http://localhost:8080",
            "http://LOCALHOST",
            "http://127.0.0.1:9000/realms/x",
            "http://127.8.9.10",
            "http://[::1]:3000/jwks",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        for refused in [
            "http://login.example.com",
            "http://10.0.0.1",
            "http://0.0.0.0",
            "http://[::2]",
            "http://[::ffff:127.0.0.1]",
            "http://localhost.example.com",
            "ftp://localhost/keys",
        ] {
            let why = check(refused).unwrap_err();
            assert!(why.contains(refused) && why.contains("https://"), "{why}");
        }
    }

    fn config_error(e: Error) -> (String, String) {
        match e {
            Error::Config { name, message } => (name, message),
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }

    #[test]
    fn plain_http_issuers_and_jwks_urls_off_loopback_are_configuration_errors() {
        let aud = "https://mcp.example.com/mcp";
        let e = OidcProvider::new("http://login.example.com", aud).unwrap_err();
        let (name, message) = config_error(e);
        assert_eq!(name, "MCP_AUTH_ISSUER");
        assert!(message.contains("https://"), "{message}");
        assert!(OidcProvider::new("http://127.0.0.1:9000", aud).is_ok());

        let site = Site::new(Url::parse("http://127.0.0.1:3002/").unwrap(), true);
        let p = OidcProvider::new("https://login.example.com", aud).unwrap();
        let e = p
            .clone()
            .jwks_uri("http://keys.example.com/jwks")
            .install(&site);
        assert_eq!(config_error(e.unwrap_err()).0, "MCP_AUTH_JWKS_URI");
        let ok = p.jwks_uri("http://localhost:9000/jwks").install(&site);
        assert!(ok.is_ok());
    }

    /// The verifier's answer to a token whose header says `typ`, with keys
    /// at a closed port: `Unavailable` means the `typ` passed.
    async fn typ_outcome(provider: &OidcProvider, typ: Option<&str>) -> VerifyError {
        let v = provider.verifier("http://127.0.0.1:1/jwks".into()).unwrap();
        let mut header = json!({"alg": "RS256", "kid": "k"});
        if let Some(typ) = typ {
            header["typ"] = json!(typ);
        }
        v.verify(&jwt_shaped(&header)).await.unwrap_err()
    }

    #[tokio::test]
    async fn access_tokens_must_say_at_jwt_unless_told_otherwise() {
        let p = OidcProvider::new("https://login.example.com", "https://mcp.example/mcp").unwrap();
        let refused = VerifyError::Invalid("token type (typ) not allowed".into());
        for typ in [Some("JWT"), Some("id_token+jwt"), None] {
            assert_eq!(typ_outcome(&p, typ).await, refused, "{typ:?}");
        }
        for typ in ["at+jwt", "AT+JWT", "application/at+jwt"] {
            let e = typ_outcome(&p, Some(typ)).await;
            assert!(matches!(e, VerifyError::Unavailable(_)), "{typ}: {e:?}");
        }
        let any = p.clone().accept_any_typ();
        for typ in [Some("JWT"), None] {
            let e = typ_outcome(&any, typ).await;
            assert!(matches!(e, VerifyError::Unavailable(_)), "{typ:?}: {e:?}");
        }
        let jwt = p.require_typ(["JWT"]);
        assert!(matches!(
            typ_outcome(&jwt, Some("jwt")).await,
            VerifyError::Unavailable(_)
        ));
        assert_eq!(typ_outcome(&jwt, Some("at+jwt")).await, refused);
    }

    #[test]
    fn discovery_urls_insert_the_well_known_path() {
        assert_eq!(
            discovery_urls("https://as.example.com/tenant/1"),
            [
                "https://as.example.com/.well-known/oauth-authorization-server/tenant/1",
                "https://as.example.com/tenant/1/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            discovery_urls("http://127.0.0.1:9000"),
            [
                "http://127.0.0.1:9000/.well-known/oauth-authorization-server",
                "http://127.0.0.1:9000/.well-known/openid-configuration",
            ]
        );
    }
}
