//! Opaque access tokens, checked at the authorization server's RFC 7662
//! introspection endpoint, with a short-lived cache in front of it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use aws_lc_rs::{hmac, rand::SecureRandom};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{OnceCell, Semaphore};

use super::{
    BoxFuture, JwtVerifier,
    forward::http_client,
    verifier::{TokenVerifier, VerifyError},
};
use crate::{error::Error, token::AccessToken};

/// Longest a verified token is served from the cache by default: a token
/// revoked at the authorization server is refused at most this long after.
pub const DEFAULT_CACHE_TTL: Duration = Duration::from_secs(60);
/// Most tokens the cache holds by default.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;
/// Longest one introspection request may take by default.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most introspections in flight at once by default: a flood of unknown
/// bearer values cannot become a flood of requests to the authorization
/// server.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 32;
/// Largest introspection response read.
const MAX_RESPONSE: usize = 64 * 1024;

/// How the verifier authenticates to the introspection endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientAuth {
    /// HTTP Basic with the client id and secret (`client_secret_basic`).
    #[default]
    Basic,
    /// The client id and secret in the form body (`client_secret_post`).
    Post,
}

impl std::str::FromStr for ClientAuth {
    type Err = String;

    /// `basic` or `post`, or their registered names `client_secret_basic`
    /// and `client_secret_post`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "basic" | "client_secret_basic" => Ok(Self::Basic),
            "post" | "client_secret_post" => Ok(Self::Post),
            _ => Err(format!(
                "`{s}` is not a client authentication method; use basic or post"
            )),
        }
    }
}

/// Introspection for an [`OidcProvider`](super::OidcProvider): its JWTs
/// are verified locally, and any other token is introspected at the
/// issuer's endpoint, found in its metadata (`introspection_endpoint`)
/// unless given. The provider's issuer and audience apply to both kinds.
///
/// From the environment ([`AuthSettings`](super::AuthSettings)):
/// `MCP_AUTH_INTROSPECTION_CLIENT_ID` and `_CLIENT_SECRET` turn it on;
/// `MCP_AUTH_INTROSPECTION_ENDPOINT`, `_CLIENT_AUTH` (`basic` or `post`) and
/// `_CACHE_SECS` (or `off`) refine it.
///
/// ```
/// use std::time::Duration;
/// use mcp_runtime::{McpServer, auth::{Introspection, OidcProvider}};
///
/// let issuer = OidcProvider::new("https://login.example.com", "https://mcp.example.com/mcp")
///     .unwrap()
///     .introspect(Introspection::new("mcp-server", "its-secret").cache_ttl(Duration::from_secs(30)));
/// let server = McpServer::builder().auth(issuer).build().unwrap();
/// assert!(server.authentication().unwrap().contains("introspected"));
/// ```
#[derive(Clone)]
pub struct Introspection {
    client_id: String,
    client_secret: String,
    endpoint: Option<String>,
    auth: ClientAuth,
    cache_ttl: Duration,
}

impl Introspection {
    /// Introspects as the client `client_id`, authenticated with
    /// `client_secret`.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            endpoint: None,
            auth: ClientAuth::default(),
            cache_ttl: DEFAULT_CACHE_TTL,
        }
    }

    /// The introspection endpoint, instead of the metadata's. Must be
    /// `https`, or `http` on loopback.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// How the client authenticates (default: HTTP Basic).
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.auth = auth;
        self
    }

    /// Longest an introspected token is served from the cache (default
    /// 60 s); zero turns the cache off.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.cache_ttl = ttl;
        self
    }

    pub(super) fn given_endpoint(&self) -> Option<&str> {
        self.endpoint.as_deref()
    }

    /// The verifier for `issuer`'s tokens meant for `audience`, in auto mode
    /// with `jwt`, introspecting at `endpoint`.
    pub(super) fn verifier(
        &self,
        endpoint: &str,
        issuer: &str,
        audience: &str,
        jwt: JwtVerifier,
    ) -> Result<IntrospectionVerifier, Error> {
        Ok(
            IntrospectionVerifier::new(endpoint, &self.client_id, &self.client_secret)?
                .client_auth(self.auth)
                .issuer(issuer)
                .audience(audience)
                .cache_ttl(self.cache_ttl)
                .with_jwt(jwt),
        )
    }
}

impl std::fmt::Debug for Introspection {
    /// Never the client secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Introspection")
            .field("client_id", &self.client_id)
            .field("endpoint", &self.endpoint)
            .field("auth", &self.auth)
            .field("cache_ttl", &self.cache_ttl)
            .finish_non_exhaustive()
    }
}

/// Verifies opaque access tokens at an RFC 7662 introspection endpoint.
///
/// It POSTs `token` and `token_type_hint=access_token`, authenticated as a
/// client, and accepts the token only when the answer says `active: true`,
/// an `exp` (if any) still in the future, and the configured issuer and
/// audience (if set). Scopes come from `scope`; `sub` (else `username`,
/// else `client_id`) is the subject.
///
/// An endpoint that cannot be reached, answers late, with an error status
/// or with something that is not an introspection response makes the
/// request a `503` with `Retry-After`, never a `401` and never an accept.
///
/// Verified tokens are cached, keyed by a keyed hash of the token (never the
/// token itself), for at most the cache lifetime (60 s by default, so that a
/// revocation is seen soon) and never past the token's `exp`; the cache is
/// bounded, and concurrent requests with one token share one introspection.
/// At most [`DEFAULT_MAX_IN_FLIGHT`] introspections run at once
/// ([`max_in_flight`](Self::max_in_flight)).
///
/// ```
/// use std::time::Duration;
/// use mcp_runtime::{McpServer, auth::IntrospectionVerifier};
///
/// let verifier = IntrospectionVerifier::new(
///     "https://auth.example.com/oauth/introspect",
///     "mcp-server",
///     "its-secret",
/// )
/// .unwrap()
/// .issuer("https://auth.example.com")
/// .audience("https://mcp.example.com/mcp")
/// .cache_ttl(Duration::from_secs(30));
/// let server = McpServer::builder()
///     .authorization_server("https://auth.example.com")
///     .auth(verifier)
///     .build()
///     .unwrap();
/// # let _ = server;
/// ```
pub struct IntrospectionVerifier {
    inner: Arc<Inner>,
    /// Auto mode: JWTs signed by a key of this verifier's set are checked
    /// here, without a request.
    jwt: Option<JwtVerifier>,
}

struct Inner {
    endpoint: String,
    client_id: String,
    client_secret: String,
    auth: ClientAuth,
    issuer: Option<String>,
    audience: Option<String>,
    ttl: Duration,
    capacity: usize,
    http: reqwest::Client,
    timeout: Duration,
    /// One permit per introspection in flight.
    permits: Semaphore,
    key: hmac::Key,
    cache: Mutex<HashMap<[u8; 32], Cached>>,
    in_flight: Mutex<HashMap<[u8; 32], Arc<OnceCell<Outcome>>>>,
}

type Outcome = Result<AccessToken, VerifyError>;

struct Cached {
    token: AccessToken,
    until: Instant,
}

impl IntrospectionVerifier {
    /// Introspects at `endpoint`, authenticating as `client_id` with
    /// `client_secret` (HTTP Basic unless [`client_auth`](Self::client_auth)
    /// says otherwise). The endpoint must be `https`, or `http` on a
    /// loopback host.
    pub fn new(
        endpoint: &str,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Result<Self, Error> {
        check_endpoint(endpoint)?;
        let http = http_client(DEFAULT_TIMEOUT)
            .map_err(|e| Error::config("introspection", e.to_string()))?;
        let mut secret = [0u8; 32];
        aws_lc_rs::rand::SystemRandom::new()
            .fill(&mut secret)
            .map_err(|_| Error::config("introspection", "no randomness for the cache key"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                endpoint: endpoint.to_owned(),
                client_id: client_id.into(),
                client_secret: client_secret.into(),
                auth: ClientAuth::default(),
                issuer: None,
                audience: None,
                ttl: DEFAULT_CACHE_TTL,
                capacity: DEFAULT_CACHE_CAPACITY,
                http,
                timeout: DEFAULT_TIMEOUT,
                permits: Semaphore::new(DEFAULT_MAX_IN_FLIGHT),
                key: hmac::Key::new(hmac::HMAC_SHA256, &secret),
                cache: Mutex::default(),
                in_flight: Mutex::default(),
            }),
            jwt: None,
        })
    }

    /// Auto mode, for authorization servers that issue both kinds: a token
    /// shaped like a JWT whose key `jwt` knows (its `kid` is in the JWKS) is
    /// verified locally by `jwt`, with all of its checks; anything else,
    /// and a JWT signed by a key the JWKS does not have, is introspected.
    pub fn with_jwt(mut self, jwt: JwtVerifier) -> Self {
        self.jwt = Some(jwt);
        self
    }

    fn inner_mut(&mut self) -> &mut Inner {
        Arc::get_mut(&mut self.inner).expect("configured before it is shared")
    }

    /// How the client authenticates (default: HTTP Basic).
    pub fn client_auth(mut self, auth: ClientAuth) -> Self {
        self.inner_mut().auth = auth;
        self
    }

    /// Accepts only tokens whose `iss` is `issuer` (an answer without `iss`
    /// is accepted: the endpoint is the issuer's own).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.inner_mut().issuer = Some(issuer.into());
        self
    }

    /// Accepts only tokens whose `aud` (a string or a list) names
    /// `audience`: the MCP endpoint's URL, or the resource's id.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.inner_mut().audience = Some(audience.into());
        self
    }

    /// Longest a verified token is served from the cache (default 60 s);
    /// zero turns the cache off.
    pub fn cache_ttl(mut self, ttl: Duration) -> Self {
        self.inner_mut().ttl = ttl;
        self
    }

    /// Most tokens the cache holds (default 10 000).
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.inner_mut().capacity = capacity;
        self
    }

    /// Longest one introspection may take (default 5 s); slower is a 503.
    pub fn timeout(mut self, timeout: Duration) -> Result<Self, Error> {
        let http =
            http_client(timeout).map_err(|e| Error::config("introspection", e.to_string()))?;
        self.inner_mut().http = http;
        self.inner_mut().timeout = timeout;
        Ok(self)
    }

    /// Most introspections in flight at once (default 32; at least 1). A
    /// request that finds them all taken waits for one, as long as the
    /// timeout at most, then is a 503: the authorization server never sees
    /// more than this many requests from this server at a time.
    pub fn max_in_flight(mut self, max: usize) -> Self {
        self.inner_mut().permits = Semaphore::new(max.max(1));
        self
    }
}

impl std::fmt::Debug for IntrospectionVerifier {
    /// Never the client secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.inner;
        f.debug_struct("IntrospectionVerifier")
            .field("endpoint", &i.endpoint)
            .field("client_id", &i.client_id)
            .field("auth", &i.auth)
            .field("issuer", &i.issuer)
            .field("audience", &i.audience)
            .field("cache_ttl", &i.ttl)
            .field("with_jwt", &self.jwt.is_some())
            .finish_non_exhaustive()
    }
}

fn check_endpoint(endpoint: &str) -> Result<(), Error> {
    let url = url::Url::parse(endpoint)
        .map_err(|e| Error::config("introspection", format!("`{endpoint}`: {e}")))?;
    let loopback = matches!(
        url.host(),
        Some(url::Host::Domain("localhost"))
            | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
            | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
    );
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(Error::config(
            "introspection",
            format!("`{endpoint}`: the introspection endpoint must be https (or http on loopback)"),
        )),
    }
}

impl TokenVerifier for IntrospectionVerifier {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AccessToken, VerifyError>> {
        Box::pin(async move {
            if let Some(jwt) = self.jwt.as_ref().filter(|_| jwt_shaped(token)) {
                match jwt.verify(token).await {
                    // Not one of its keys: perhaps the server's other kind.
                    Err(VerifyError::Invalid(why)) if why == "unknown signing key" => {}
                    decided => return decided,
                }
            }
            self.inner.verify(token).await
        })
    }
}

/// Three base64url segments whose first is a JSON object naming an `alg`.
fn jwt_shaped(token: &str) -> bool {
    use base64::Engine;
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice::<Value>(&h).ok())
        .is_some_and(|h| h.get("alg").is_some())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Inner {
    fn key_of(&self, token: &str) -> [u8; 32] {
        let tag = hmac::sign(&self.key, token.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(tag.as_ref());
        key
    }

    async fn verify(&self, token: &str) -> Outcome {
        let key = self.key_of(token);
        if let Some(hit) = self.cached(&key) {
            return Ok(hit);
        }
        let cell = lock(&self.in_flight).entry(key).or_default().clone();
        let outcome = cell.get_or_init(|| self.introspect(token)).await.clone();
        {
            let mut flights = lock(&self.in_flight);
            if flights.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
                flights.remove(&key);
            }
        }
        if let Ok(verified) = &outcome {
            self.remember(key, verified.clone());
        }
        outcome
    }

    fn cached(&self, key: &[u8; 32]) -> Option<AccessToken> {
        let mut cache = lock(&self.cache);
        match cache.get(key) {
            Some(c) if c.until > Instant::now() => Some(c.token.clone()),
            Some(_) => {
                cache.remove(key);
                None
            }
            None => None,
        }
    }

    fn remember(&self, key: [u8; 32], token: AccessToken) {
        let mut until = Instant::now() + self.ttl;
        if let Some(left) = token
            .expires_at()
            .and_then(|exp| exp.duration_since(SystemTime::now()).ok())
        {
            until = until.min(Instant::now() + left);
        }
        if self.ttl.is_zero() || self.capacity == 0 {
            return;
        }
        let mut cache = lock(&self.cache);
        if cache.len() >= self.capacity {
            let now = Instant::now();
            cache.retain(|_, c| c.until > now);
            if cache.len() >= self.capacity
                && let Some(victim) = cache.keys().next().copied()
            {
                cache.remove(&victim);
            }
        }
        cache.insert(key, Cached { token, until });
    }

    async fn introspect(&self, token: &str) -> Outcome {
        let unavailable = |why: String| {
            tracing::warn!(endpoint = %self.endpoint, %why, "token introspection failed");
            VerifyError::Unavailable("the token introspection endpoint did not answer".into())
        };
        let _permit = match tokio::time::timeout(self.timeout, self.permits.acquire()).await {
            Ok(Ok(permit)) => permit,
            _ => return Err(unavailable("every introspection slot stayed taken".into())),
        };
        let mut form = vec![("token", token), ("token_type_hint", "access_token")];
        let mut request = self.http.post(&self.endpoint);
        match self.auth {
            ClientAuth::Basic => {
                request = request.basic_auth(&self.client_id, Some(&self.client_secret));
            }
            ClientAuth::Post => {
                form.push(("client_id", &self.client_id));
                form.push(("client_secret", &self.client_secret));
            }
        }
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let response = request
            .header(reqwest::header::ACCEPT, "application/json")
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .body(body)
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(unavailable(format!("HTTP status {status}")));
        }
        let body = read_capped(response).await.map_err(unavailable)?;
        let answer: Answer = serde_json::from_slice(&body)
            .map_err(|e| unavailable(format!("not an introspection response: {e}")))?;
        self.accept(token, answer)
    }

    /// The token an `active` answer describes, if it is for this server.
    fn accept(&self, raw: &str, a: Answer) -> Outcome {
        let invalid = |why: &str| Err(VerifyError::Invalid(why.to_owned()));
        if !a.active {
            return invalid("token is not active");
        }
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        if a.exp.is_some_and(|exp| exp <= now.as_secs()) {
            return invalid("token expired");
        }
        if let (Some(want), Some(iss)) = (&self.issuer, &a.iss)
            && want != iss
        {
            return invalid("token issuer mismatch");
        }
        let audience: Vec<String> = match &a.aud {
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(list)) => list
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        if let Some(want) = &self.audience
            && !audience.contains(want)
        {
            return invalid("audience mismatch");
        }
        let Some(subject) = a.sub.or(a.username).or_else(|| a.client_id.clone()) else {
            return invalid("token has no subject");
        };
        let scopes = a.scope.unwrap_or_default();
        let mut token = AccessToken::new(raw, subject)
            .with_scopes(scopes.split(' ').filter(|s| !s.is_empty()))
            .with_audience(audience);
        if let Some(c) = a.client_id {
            token = token.with_client_id(c);
        }
        if let Some(iss) = a.iss {
            token = token.with_issuer(iss);
        }
        if let Some(exp) = a.exp {
            token = token.with_expires_at(UNIX_EPOCH + Duration::from_secs(exp));
        }
        Ok(token)
    }
}

async fn read_capped(mut response: reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > MAX_RESPONSE {
            return Err(format!("response larger than {MAX_RESPONSE} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The fields of an RFC 7662 response this verifier reads.
#[derive(Deserialize)]
struct Answer {
    active: bool,
    scope: Option<String>,
    client_id: Option<String>,
    username: Option<String>,
    sub: Option<String>,
    exp: Option<u64>,
    iss: Option<String>,
    aud: Option<Value>,
}
