//! JWT access tokens checked against an authorization server's published keys
//! (JWKS): [`JwtVerifier`].
//!
//! What a token must satisfy to be accepted:
//!
//! - a compact JWS (`header.payload.signature`), each part strict base64url
//!   (no padding, no stray bits after the last byte: one spelling per token),
//!   whose `alg` is in the allow-list (default: RS256/384/512, PS256/384/512,
//!   ES256/384, EdDSA);
//!   `none` and the HMAC algorithms (`HS*`) are never accepted, and the
//!   algorithm must agree with the signing key's type, curve and `alg`;
//! - no `crit` header (no extension is understood);
//! - if configured, a `typ` header from the allowed list
//!   ([`JwtVerifierBuilder::require_typ`]);
//! - a signature that verifies with the key named by `kid` (or, without
//!   `kid`, with one of the keys for the token's `alg`; a `kid` that no key
//!   carries is also tried against the keys published without `kid`);
//! - `exp` present and not past, `nbf` and `iat` (when present) not in the
//!   future, each with a small leeway for clock skew (30 s by default, at
//!   most [`MAX_LEEWAY`]);
//! - `iss` equal to one of the configured issuers;
//! - `aud` (a string or an array) containing one of the configured audiences;
//! - a `sub`.
//!
//! Scopes are read from `scope` (space-delimited string or array), `scp`
//! (string or array) and `scopes` (array or string): the union, de-duplicated,
//! in order of appearance. The client is `client_id`, else `azp`, else `cid`.
//!
//! Keys are fetched from the JWKS URL (`https`, or `http` on loopback only)
//! on first use, refreshed in the background once older than the refresh
//! interval, and refetched at once when a token names an unknown `kid` — at
//! most once per "minimum refetch interval", whatever the traffic, with
//! concurrent misses sharing one request. When the JWKS endpoint fails, the
//! cached keys stay in use.
//!
//! Verified tokens are cached (keyed by a per-cache SipHash of the whole
//! token, and compared in full on a hit) until their `exp`, so a client
//! reusing its token pays for the signature check once; the cache is emptied
//! whenever the key set changes.

mod cache;
mod jwks;

use std::{
    collections::HashSet,
    fmt,
    str::FromStr,
    sync::{
        Arc, RwLock,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use base64::Engine;
use serde_json::{Map, Value};

use super::verifier::{TokenVerifier, VerifyError};
use crate::{future::BoxFuture, token::AccessToken};
use cache::TokenCache;
use jwks::KeySet;

pub use jsonwebtoken::{Algorithm, jwk::JwkSet};

/// Tokens longer than this are refused without further work.
const MAX_TOKEN_LEN: usize = 16 * 1024;
/// At most this many keys are tried for a token without `kid`.
const MAX_KIDLESS_CANDIDATES: usize = 8;

/// The algorithms accepted unless configured otherwise.
pub const DEFAULT_ALGORITHMS: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Default clock-skew allowance for `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// Largest clock-skew allowance [`JwtVerifierBuilder::build`] accepts
/// (5 minutes): past that, an expired token would stay usable long enough to
/// matter, and a skew that large is a clock to fix, not to tolerate.
pub const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// Default age after which the JWKS is refreshed (in the background).
pub const DEFAULT_REFRESH_INTERVAL: Duration = Duration::from_secs(600);
/// Default minimum time between two JWKS requests triggered by tokens
/// (unknown `kid`, failed loads).
pub const DEFAULT_MIN_REFETCH_INTERVAL: Duration = Duration::from_secs(10);
/// Default timeout of one JWKS request.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(5);
/// Default number of verified tokens kept.
pub const DEFAULT_CACHE_CAPACITY: usize = 10_000;
/// Default bound on the bytes the verified tokens kept count for (each
/// counts three times its length, plus 256): 32 MiB.
pub const DEFAULT_CACHE_BYTES: usize = 32 << 20;

/// A [`TokenVerifier`] for JWT access tokens signed by an OAuth / OIDC
/// authorization server, checked against its JWKS.
///
/// Cheap to clone: clones share keys, cache and statistics.
///
/// ```no_run
/// use std::time::Duration;
/// use mcp_runtime::auth::{JwtVerifier, TokenVerifier};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let verifier = JwtVerifier::builder("https://auth.example.com/keys")
///     .issuer("https://auth.example.com")
///     .issuer("https://auth.example.com/resources/res_123")
///     .audience("res_123")
///     .leeway(Duration::from_secs(30))
///     .build()?;
///
/// // Optional: load the keys now, to fail fast on a wrong URL.
/// verifier.load_keys().await?;
///
/// let token = verifier.verify("eyJhbGciOi...").await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct JwtVerifier {
    inner: Arc<Inner>,
}

/// Configures a [`JwtVerifier`]; from [`JwtVerifier::builder`] or
/// [`JwtVerifier::builder_from_jwks`].
#[must_use]
pub struct JwtVerifierBuilder {
    source: Source,
    issuers: Vec<String>,
    audiences: Vec<String>,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    typ: Option<Vec<String>>,
    refresh_interval: Duration,
    min_refetch_interval: Duration,
    http_timeout: Duration,
    http_client: Option<reqwest::Client>,
    cache_capacity: usize,
    cache_bytes: usize,
}

enum Source {
    Remote(String),
    Static(JwkSet),
}

/// Why a [`JwtVerifier`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JwtConfigError {
    /// No issuer was configured: every token would be refused.
    #[error("no issuer configured for the JWT verifier")]
    NoIssuer,
    /// No audience was configured: every token would be refused.
    #[error("no audience configured for the JWT verifier")]
    NoAudience,
    /// The JWKS URL is not an absolute `http(s)` URL.
    #[error("invalid JWKS URL {0:?}")]
    InvalidJwksUri(String),
    /// The JWKS URL is plain `http` to a host other than loopback
    /// (`localhost`, `127.0.0.0/8`, `[::1]`): keys fetched that way could be
    /// swapped in transit.
    #[error(
        "JWKS URL {0:?} uses plain http: use an https URL (http is allowed only for localhost, 127.0.0.0/8 and [::1])"
    )]
    InsecureJwksUri(String),
    /// The leeway is larger than [`MAX_LEEWAY`].
    #[error("JWT leeway {0:?} is larger than the maximum, MAX_LEEWAY (5 minutes)")]
    LeewayTooLarge(Duration),
    /// The algorithm allow-list is empty.
    #[error("no signature algorithm allowed")]
    NoAlgorithm,
    /// An HMAC algorithm (`HS*`) was allowed: access tokens from an
    /// authorization server are verified with public keys only.
    #[error("symmetric algorithm {0:?} cannot be allowed")]
    SymmetricAlgorithm(Algorithm),
    /// A static JWKS holds no key usable with the allowed algorithms.
    #[error("the JWKS holds no usable signing key")]
    NoUsableKey,
    /// The HTTP client could not be created.
    #[error("cannot create the HTTP client: {0}")]
    HttpClient(String),
}

/// Counters of a [`JwtVerifier`], for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct JwtStats {
    /// Tokens answered from the verified-token cache.
    pub cache_hits: u64,
    /// Tokens that had to be verified (cache enabled or not).
    pub cache_misses: u64,
    /// Signature verifications performed.
    pub signature_checks: u64,
    /// JWKS requests started.
    pub jwks_fetches: u64,
    /// Tokens in the cache now.
    pub cached_tokens: usize,
    /// What they count for against the cache's byte bound
    /// ([`JwtVerifierBuilder::cache_max_bytes`]).
    pub cached_bytes: usize,
    /// Usable signing keys loaded now.
    pub keys: usize,
}

struct Inner {
    rules: Rules,
    keys: RwLock<Arc<Loaded>>,
    /// `keys.generation`, readable without the lock (hot path).
    generation: AtomicU64,
    remote: Option<Remote>,
    cache: TokenCache,
    counters: Counters,
}

struct Rules {
    issuers: Vec<String>,
    audiences: Vec<String>,
    algorithms: Vec<Algorithm>,
    leeway: u64,
    /// Allowed `typ` values, normalised (lower case, no `application/`).
    typ: Option<Vec<String>>,
}

#[derive(Default)]
struct Loaded {
    set: KeySet,
    generation: u64,
}

#[derive(Default)]
struct Counters {
    hits: AtomicU64,
    misses: AtomicU64,
    signature_checks: AtomicU64,
    fetches: AtomicU64,
}

/// Timestamps are milliseconds since `base`; `NEVER` marks "not yet".
const NEVER: u64 = u64::MAX;

struct Remote {
    uri: String,
    client: reqwest::Client,
    timeout: Duration,
    refresh_interval_ms: u64,
    min_refetch_ms: u64,
    base: Instant,
    /// Held for the whole of a fetch: concurrent callers queue here and then
    /// use the result of the fetch they waited for.
    fetch_lock: Arc<tokio::sync::Mutex<()>>,
    /// Number of fetches finished (successfully or not).
    completed: AtomicU64,
    /// A fetch is running: callers wait for it whatever the rate limit.
    in_flight: AtomicBool,
    last_attempt_ms: AtomicU64,
    /// When the next background refresh is due.
    next_refresh_ms: AtomicU64,
    background_running: AtomicBool,
}

impl Remote {
    /// Keys fetched from `uri`, with `client` or one of our own.
    fn new(
        uri: String,
        client: Option<reqwest::Client>,
        timing: Timing,
    ) -> Result<Self, JwtConfigError> {
        check_jwks_scheme(&uri)?;
        let client = match client {
            Some(c) => c,
            None => reqwest::Client::builder()
                .timeout(timing.timeout)
                .connect_timeout(timing.timeout)
                .user_agent(concat!("mcp-runtime/", env!("CARGO_PKG_VERSION")))
                // A redirect could lead off https or to another host.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|e| JwtConfigError::HttpClient(e.to_string()))?,
        };
        Ok(Remote {
            uri,
            client,
            timeout: timing.timeout,
            refresh_interval_ms: millis(timing.refresh_interval),
            min_refetch_ms: millis(timing.min_refetch_interval),
            base: Instant::now(),
            fetch_lock: Arc::new(tokio::sync::Mutex::new(())),
            completed: AtomicU64::new(0),
            in_flight: AtomicBool::new(false),
            last_attempt_ms: AtomicU64::new(NEVER),
            next_refresh_ms: AtomicU64::new(NEVER),
            background_running: AtomicBool::new(false),
        })
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(NEVER - 1)
    }

    /// Whether the rate limit lets a fetch start now.
    fn may_fetch(&self, now_ms: u64) -> bool {
        let last = self.last_attempt_ms.load(Ordering::Acquire);
        last == NEVER || now_ms.saturating_sub(last) >= self.min_refetch_ms
    }
}

fn invalid(msg: &str) -> VerifyError {
    VerifyError::Invalid(msg.to_owned())
}

fn malformed() -> VerifyError {
    invalid("malformed token")
}

/// base64url as JWS compact serialisation requires (RFC 7515 §2): no padding,
/// and no set bits after the last encoded byte, so each token has exactly one
/// spelling. (JWK fields are read more leniently, in `jwks`.)
const TOKEN_B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    base64::engine::GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// One segment of a compact JWS, decoded with [`TOKEN_B64`]. The error never
/// quotes the segment.
fn decode_segment(segment: &str) -> Result<Vec<u8>, VerifyError> {
    use base64::DecodeError;
    TOKEN_B64.decode(segment).map_err(|e| match e {
        DecodeError::InvalidPadding => invalid("padded base64url in token"),
        DecodeError::InvalidByte(_, b'=') => invalid("padded base64url in token"),
        DecodeError::InvalidLastSymbol(..) => invalid("non-canonical base64url in token"),
        DecodeError::InvalidByte(..) | DecodeError::InvalidLength(_) => malformed(),
    })
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn normalize_typ(typ: &str) -> String {
    let lower = typ.to_ascii_lowercase();
    match lower.strip_prefix("application/") {
        Some(rest) => rest.to_owned(),
        None => lower,
    }
}

impl JwtVerifier {
    /// A verifier fetching its keys from the JWKS at `jwks_uri`.
    ///
    /// At least one [`issuer`](JwtVerifierBuilder::issuer) and one
    /// [`audience`](JwtVerifierBuilder::audience) must be set before
    /// [`build`](JwtVerifierBuilder::build).
    pub fn builder(jwks_uri: impl Into<String>) -> JwtVerifierBuilder {
        JwtVerifierBuilder::new(Source::Remote(jwks_uri.into()))
    }

    /// A verifier using a fixed key set, with no HTTP at all (tests, the
    /// development issuer, keys distributed out of band).
    ///
    /// ```
    /// use mcp_runtime::auth::{JwtVerifier, jwt::JwkSet};
    ///
    /// let jwks: JwkSet = serde_json::from_value(serde_json::json!({
    ///     "keys": [{
    ///         "kty": "EC", "crv": "P-256", "kid": "k1", "alg": "ES256",
    ///         "x": "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4",
    ///         "y": "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"
    ///     }]
    /// }))?;
    /// let verifier = JwtVerifier::builder_from_jwks(jwks)
    ///     .issuer("https://issuer.example")
    ///     .audience("https://mcp.example/mcp")
    ///     .build()?;
    /// assert_eq!(verifier.stats().keys, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn builder_from_jwks(jwks: JwkSet) -> JwtVerifierBuilder {
        JwtVerifierBuilder::new(Source::Static(jwks))
    }

    /// Fetches the JWKS now (ignoring the refetch rate limit) and returns the
    /// number of usable keys. Fails with [`VerifyError::Unavailable`] when this
    /// fetch failed, even if keys from an earlier fetch remain in use.
    ///
    /// Not needed before verifying (keys are loaded on first use), but handy
    /// at startup to fail fast on a misconfigured URL. For a static key set it
    /// just returns the number of keys.
    pub async fn load_keys(&self) -> Result<usize, VerifyError> {
        if self.inner.remote.is_none() {
            return Ok(self.inner.current().set.keys.len());
        }
        self.inner
            .clone()
            .refetch(true)
            .await
            .unwrap_or_else(|| Ok(self.inner.current().set.keys.len()))
            .map_err(VerifyError::Unavailable)
    }

    /// Current counters.
    pub fn stats(&self) -> JwtStats {
        let c = &self.inner.counters;
        JwtStats {
            cache_hits: c.hits.load(Ordering::Relaxed),
            cache_misses: c.misses.load(Ordering::Relaxed),
            signature_checks: c.signature_checks.load(Ordering::Relaxed),
            jwks_fetches: c.fetches.load(Ordering::Relaxed),
            cached_tokens: self.inner.cache.len(),
            cached_bytes: self.inner.cache.bytes(),
            keys: self.inner.current().set.keys.len(),
        }
    }

    /// The JWKS URL, or `None` for a static key set.
    pub fn jwks_uri(&self) -> Option<&str> {
        self.inner.remote.as_ref().map(|r| r.uri.as_str())
    }
}

impl fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.inner.rules;
        f.debug_struct("JwtVerifier")
            .field("jwks_uri", &self.jwks_uri())
            .field("issuers", &r.issuers)
            .field("audiences", &r.audiences)
            .field("algorithms", &r.algorithms)
            .field("leeway_secs", &r.leeway)
            .field("typ", &r.typ)
            .finish_non_exhaustive()
    }
}

impl TokenVerifier for JwtVerifier {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AccessToken, VerifyError>> {
        Box::pin(self.inner.verify(token))
    }
}

impl JwtVerifierBuilder {
    fn new(source: Source) -> Self {
        Self {
            source,
            issuers: Vec::new(),
            audiences: Vec::new(),
            algorithms: DEFAULT_ALGORITHMS.to_vec(),
            leeway: DEFAULT_LEEWAY,
            typ: None,
            refresh_interval: DEFAULT_REFRESH_INTERVAL,
            min_refetch_interval: DEFAULT_MIN_REFETCH_INTERVAL,
            http_timeout: DEFAULT_HTTP_TIMEOUT,
            http_client: None,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            cache_bytes: DEFAULT_CACHE_BYTES,
        }
    }

    /// Accepts tokens whose `iss` equals `issuer` (call again to accept
    /// several issuers).
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// Accepts tokens whose `iss` equals any of `issuers`.
    pub fn issuers<S: Into<String>>(mut self, issuers: impl IntoIterator<Item = S>) -> Self {
        self.issuers.extend(issuers.into_iter().map(Into::into));
        self
    }

    /// Accepts tokens whose `aud` contains `audience` (call again to accept
    /// several).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Accepts tokens whose `aud` contains any of `audiences`.
    pub fn audiences<S: Into<String>>(mut self, audiences: impl IntoIterator<Item = S>) -> Self {
        self.audiences.extend(audiences.into_iter().map(Into::into));
        self
    }

    /// Replaces the algorithm allow-list (default [`DEFAULT_ALGORITHMS`]).
    /// HMAC algorithms are refused by [`build`](Self::build).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algorithms.into_iter().collect();
        self
    }

    /// Clock-skew allowance for `exp`, `nbf` and `iat` (default 30 s,
    /// whole seconds). More than [`MAX_LEEWAY`] (5 minutes) makes
    /// [`build`](Self::build) fail with [`JwtConfigError::LeewayTooLarge`].
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Requires the header `typ` to be one of `types` (compared without case
    /// and without an `application/` prefix). Off by default: RFC 9068 access
    /// tokens say `at+jwt`, Scalekit's say `JWT`.
    ///
    /// ```
    /// # use mcp_runtime::auth::JwtVerifier;
    /// let builder = JwtVerifier::builder("https://auth.example.com/keys")
    ///     .require_typ(["at+jwt", "JWT"]);
    /// ```
    pub fn require_typ<S: AsRef<str>>(mut self, types: impl IntoIterator<Item = S>) -> Self {
        self.typ = Some(
            types
                .into_iter()
                .map(|t| normalize_typ(t.as_ref()))
                .collect(),
        );
        self
    }

    /// How old the cached JWKS may get before it is refreshed in the
    /// background (default 10 minutes).
    pub fn refresh_interval(mut self, interval: Duration) -> Self {
        self.refresh_interval = interval;
        self
    }

    /// Minimum time between two JWKS requests caused by tokens: an unknown
    /// `kid`, or a failed load (default 10 s).
    pub fn min_refetch_interval(mut self, interval: Duration) -> Self {
        self.min_refetch_interval = interval;
        self
    }

    /// Timeout of one JWKS request (default 5 s).
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }

    /// Uses `client` for JWKS requests instead of a default one.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// How many verified tokens to keep (default 10 000); `0` disables the
    /// cache.
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// How many bytes the verified tokens kept may count for (default
    /// 32 MiB; each counts three times its length, plus 256), whatever their
    /// number; `0` disables the cache.
    pub fn cache_max_bytes(mut self, bytes: usize) -> Self {
        self.cache_bytes = bytes;
        self
    }

    /// Checks the configuration and builds the verifier. No network access
    /// happens here: remote keys are fetched on first use (or by
    /// [`JwtVerifier::load_keys`]).
    pub fn build(self) -> Result<JwtVerifier, JwtConfigError> {
        if self.issuers.is_empty() {
            return Err(JwtConfigError::NoIssuer);
        }
        if self.audiences.is_empty() {
            return Err(JwtConfigError::NoAudience);
        }
        if self.algorithms.is_empty() {
            return Err(JwtConfigError::NoAlgorithm);
        }
        if self.leeway > MAX_LEEWAY {
            return Err(JwtConfigError::LeewayTooLarge(self.leeway));
        }
        if let Some(&hs) = self
            .algorithms
            .iter()
            .find(|a| a.family() == jsonwebtoken::AlgorithmFamily::Hmac)
        {
            return Err(JwtConfigError::SymmetricAlgorithm(hs));
        }
        let mut algorithms = Vec::with_capacity(self.algorithms.len());
        for a in self.algorithms {
            if !algorithms.contains(&a) {
                algorithms.push(a);
            }
        }
        let rules = Rules {
            issuers: dedup(self.issuers),
            audiences: dedup(self.audiences),
            algorithms,
            leeway: self.leeway.as_secs(),
            typ: self.typ,
        };
        let cache = TokenCache::new(self.cache_capacity, self.cache_bytes);
        let (loaded, remote) = match self.source {
            Source::Static(jwks) => (static_keys(&jwks, &rules.algorithms)?, None),
            Source::Remote(uri) => {
                let timing = Timing {
                    timeout: self.http_timeout,
                    refresh_interval: self.refresh_interval,
                    min_refetch_interval: self.min_refetch_interval,
                };
                let remote = Remote::new(uri, self.http_client, timing)?;
                (Loaded::default(), Some(remote))
            }
        };
        Ok(JwtVerifier {
            inner: Arc::new(Inner {
                rules,
                generation: AtomicU64::new(loaded.generation),
                keys: RwLock::new(Arc::new(loaded)),
                remote,
                cache,
                counters: Counters::default(),
            }),
        })
    }
}

/// A static key set, loaded once; it must hold a usable key.
fn static_keys(jwks: &JwkSet, algorithms: &[Algorithm]) -> Result<Loaded, JwtConfigError> {
    let values: Vec<Value> = jwks
        .keys
        .iter()
        .filter_map(|k| serde_json::to_value(k).ok())
        .collect();
    let set = KeySet::from_jwk_values(&values, algorithms, "static JWKS");
    if set.is_empty() {
        return Err(JwtConfigError::NoUsableKey);
    }
    Ok(Loaded { set, generation: 1 })
}

/// How a remote key set is fetched and refreshed.
struct Timing {
    timeout: Duration,
    refresh_interval: Duration,
    min_refetch_interval: Duration,
}

/// Accepts `https` URLs, and `http` ones to loopback only (local
/// development and tests): keys fetched over plain HTTP from anywhere else
/// could be replaced on the way.
fn check_jwks_scheme(uri: &str) -> Result<(), JwtConfigError> {
    let url =
        reqwest::Url::parse(uri).map_err(|_| JwtConfigError::InvalidJwksUri(uri.to_owned()))?;
    match url.scheme() {
        "https" if url.has_host() => Ok(()),
        "http" if is_loopback(&url) => Ok(()),
        "http" if url.has_host() => Err(JwtConfigError::InsecureJwksUri(uri.to_owned())),
        _ => Err(JwtConfigError::InvalidJwksUri(uri.to_owned())),
    }
}

/// `localhost`, `127.0.0.0/8` or `[::1]` (not `*.localhost`, nor IPv4-mapped
/// addresses: only what surely never leaves the machine).
fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

impl fmt::Debug for JwtVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtVerifierBuilder")
            .field("issuers", &self.issuers)
            .field("audiences", &self.audiences)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

fn dedup(items: Vec<String>) -> Vec<String> {
    let mut seen = HashSet::new();
    items
        .into_iter()
        .filter(|s| seen.insert(s.clone()))
        .collect()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(NEVER - 1)
}

/// Outcome of looking for a key and checking the signature with it.
enum SignatureError {
    /// No key for this `kid` (or, without `kid`, for this `alg`).
    UnknownKey,
    /// The `kid` names a key of another type or algorithm.
    AlgorithmMismatch,
    /// A key was found and the signature does not verify.
    BadSignature,
}

/// The parts of a compact JWS, decoded as far as needed before the keys.
struct Parsed<'t> {
    alg: Algorithm,
    kid: Option<String>,
    signing_input: &'t [u8],
    payload: Vec<u8>,
    signature: Vec<u8>,
}

impl Inner {
    fn current(&self) -> Arc<Loaded> {
        self.keys
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    async fn verify(self: &Arc<Self>, token: &str) -> Result<AccessToken, VerifyError> {
        if token.is_empty() || token.len() > MAX_TOKEN_LEN {
            return Err(malformed());
        }
        self.maybe_background_refresh();
        let now = unix_now();
        let digest = self.cache.enabled().then(|| self.cache.digest(token));
        if let Some(digest) = &digest {
            let generation = self.generation.load(Ordering::Acquire);
            if let Some(hit) = self.cache.get(digest, token, generation, now) {
                self.counters.hits.fetch_add(1, Ordering::Relaxed);
                return Ok(hit);
            }
        }
        self.counters.misses.fetch_add(1, Ordering::Relaxed);

        let parsed = self.parse(token)?;
        let loaded = self.keys_loaded().await?;
        let loaded = match self.check_signature(&loaded.set, &parsed) {
            Ok(()) => loaded,
            Err(SignatureError::UnknownKey) if self.remote.is_some() => {
                // Perhaps the keys rotated: refetch (rate-limited, shared).
                let _ = self.clone().refetch(false).await;
                let loaded = self.current();
                match self.check_signature(&loaded.set, &parsed) {
                    Ok(()) => loaded,
                    Err(e) => return Err(signature_error(e)),
                }
            }
            Err(e) => return Err(signature_error(e)),
        };

        let claims: Map<String, Value> =
            serde_json::from_slice(&parsed.payload).map_err(|_| malformed())?;
        let now = unix_now();
        let (access, exp) = self.rules.check_claims(token, claims, now)?;
        if let Some(digest) = digest {
            self.cache
                .insert(digest, access.clone(), exp, loaded.generation, now);
        }
        Ok(access)
    }

    /// Splits and decodes the header and signature; checks `alg`, `crit`, `typ`.
    fn parse<'t>(&self, token: &'t str) -> Result<Parsed<'t>, VerifyError> {
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        let header_bytes = decode_segment(header_b64)?;
        let header: Map<String, Value> =
            serde_json::from_slice(&header_bytes).map_err(|_| malformed())?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or_else(malformed)?;
        let alg = Algorithm::from_str(alg)
            .ok()
            .filter(|a| self.rules.algorithms.contains(a))
            .ok_or_else(|| invalid("algorithm not allowed"))?;
        if header.contains_key("crit") {
            return Err(invalid("unsupported critical header"));
        }
        if let Some(allowed) = &self.rules.typ {
            let typ = header.get("typ").and_then(Value::as_str).map(normalize_typ);
            if !typ.is_some_and(|t| allowed.contains(&t)) {
                return Err(invalid("token type (typ) not allowed"));
            }
        }
        let kid = match header.get("kid") {
            None => None,
            Some(Value::String(kid)) => Some(kid.clone()),
            Some(_) => return Err(malformed()),
        };
        let payload = decode_segment(payload_b64)?;
        let signature = decode_segment(signature_b64)?;
        let signing_input = &token.as_bytes()[..header_b64.len() + 1 + payload_b64.len()];
        Ok(Parsed {
            alg,
            kid,
            signing_input,
            payload,
            signature,
        })
    }

    fn check_signature(&self, set: &KeySet, p: &Parsed<'_>) -> Result<(), SignatureError> {
        let verify = |key: &aws_lc_rs::signature::ParsedPublicKey| {
            self.counters
                .signature_checks
                .fetch_add(1, Ordering::Relaxed);
            key.verify_sig(p.signing_input, &p.signature).is_ok()
        };
        match &p.kid {
            Some(kid) => {
                let mut found = false;
                let mut usable = false;
                for key in set.by_kid(kid) {
                    found = true;
                    if let Some(k) = key.for_alg(p.alg) {
                        usable = true;
                        if verify(k) {
                            return Ok(());
                        }
                    }
                }
                if !found {
                    // Some servers publish keys without `kid` yet name one in
                    // their tokens: try those keys (and only those).
                    let anonymous = set.keys.iter().filter(|k| k.kid.is_none());
                    for k in anonymous
                        .filter_map(|k| k.for_alg(p.alg))
                        .take(MAX_KIDLESS_CANDIDATES)
                    {
                        if verify(k) {
                            return Ok(());
                        }
                    }
                }
                Err(match (found, usable) {
                    (false, _) => SignatureError::UnknownKey,
                    (true, false) => SignatureError::AlgorithmMismatch,
                    (true, true) => SignatureError::BadSignature,
                })
            }
            None => {
                let mut tried = 0;
                for k in set.keys.iter().filter_map(|k| k.for_alg(p.alg)) {
                    if tried == MAX_KIDLESS_CANDIDATES {
                        break;
                    }
                    tried += 1;
                    if verify(k) {
                        return Ok(());
                    }
                }
                Err(if tried == 0 {
                    SignatureError::UnknownKey
                } else {
                    SignatureError::BadSignature
                })
            }
        }
    }

    /// The loaded keys, fetching them first if none are loaded yet.
    async fn keys_loaded(self: &Arc<Self>) -> Result<Arc<Loaded>, VerifyError> {
        let loaded = self.current();
        if !loaded.set.is_empty() {
            return Ok(loaded);
        }
        if self.remote.is_some() {
            let _ = self.clone().refetch(false).await;
            let loaded = self.current();
            if !loaded.set.is_empty() {
                return Ok(loaded);
            }
        }
        Err(VerifyError::Unavailable(
            "signing keys unavailable".to_owned(),
        ))
    }

    /// Starts a background refresh when the keys are due for one.
    fn maybe_background_refresh(self: &Arc<Self>) {
        let Some(remote) = &self.remote else { return };
        let now = remote.now_ms();
        let due = remote.next_refresh_ms.load(Ordering::Relaxed);
        if due == NEVER || now < due || !remote.may_fetch(now) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if remote.background_running.swap(true, Ordering::AcqRel) {
            return;
        }
        let inner = self.clone();
        runtime.spawn(async move {
            let _ = inner.clone().refetch(false).await;
            if let Some(remote) = &inner.remote {
                remote.background_running.store(false, Ordering::Release);
            }
        });
    }

    /// Fetches the JWKS unless the rate limit forbids it (`force` ignores the
    /// rate limit) or a fetch finished while this caller waited for the fetch
    /// lock: concurrent callers share one fetch and use its result, and a
    /// caller arriving while a fetch runs waits for it. Returns
    /// `None` when this call made no fetch, else the fetch's outcome (number
    /// of usable keys, or why it failed).
    ///
    /// The fetch runs in its own task holding the fetch lock, so a caller that
    /// goes away (client disconnect) neither cancels it nor lets a second
    /// fetch start alongside it.
    async fn refetch(self: Arc<Self>, force: bool) -> Option<Result<usize, String>> {
        let remote = self.remote.as_ref()?;
        let seen = remote.completed.load(Ordering::Acquire);
        let running = remote.in_flight.load(Ordering::Acquire);
        if !force && !running && !remote.may_fetch(remote.now_ms()) {
            return None;
        }
        let guard = remote.fetch_lock.clone().lock_owned().await;
        if !force
            && (remote.completed.load(Ordering::Acquire) != seen
                || !remote.may_fetch(remote.now_ms()))
        {
            return None;
        }
        remote
            .last_attempt_ms
            .store(remote.now_ms(), Ordering::Release);
        remote.in_flight.store(true, Ordering::Release);
        self.counters.fetches.fetch_add(1, Ordering::Relaxed);
        let inner = self.clone();
        let task = tokio::spawn(async move {
            let _guard = guard;
            let result = inner.fetch_and_install().await;
            if let Some(remote) = &inner.remote {
                remote.completed.fetch_add(1, Ordering::AcqRel);
                remote.in_flight.store(false, Ordering::Release);
            }
            result
        });
        Some(
            task.await
                .unwrap_or_else(|e| Err(format!("JWKS fetch task failed: {e}"))),
        )
    }

    async fn fetch_and_install(&self) -> Result<usize, String> {
        let remote = self.remote.as_ref().expect("remote verifier");
        let result = jwks::fetch(
            &remote.client,
            &remote.uri,
            remote.timeout,
            &self.rules.algorithms,
        )
        .await;
        let now = remote.now_ms();
        match result {
            Ok(set) => {
                let n = set.keys.len();
                self.install(set);
                remote.next_refresh_ms.store(
                    now.saturating_add(remote.refresh_interval_ms),
                    Ordering::Release,
                );
                Ok(n)
            }
            Err(error) => {
                let cached = self.current().set.keys.len();
                tracing::warn!(
                    jwks = %remote.uri,
                    %error,
                    cached_keys = cached,
                    "JWKS fetch failed; keeping the cached keys"
                );
                remote
                    .next_refresh_ms
                    .store(now.saturating_add(remote.min_refetch_ms), Ordering::Release);
                Err(error)
            }
        }
    }

    /// Replaces the key set; when it differs from the current one, bumps the
    /// generation and empties the token cache.
    fn install(&self, set: KeySet) {
        let mut current = self
            .keys
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !current.set.is_empty() && current.set.fingerprint == set.fingerprint {
            return;
        }
        let kids: Vec<&str> = set.keys.iter().filter_map(|k| k.kid.as_deref()).collect();
        tracing::info!(keys = set.keys.len(), ?kids, "JWKS signing keys loaded");
        let generation = current.generation + 1;
        *current = Arc::new(Loaded { set, generation });
        self.generation.store(generation, Ordering::Release);
        drop(current);
        self.cache.clear();
    }
}

fn signature_error(e: SignatureError) -> VerifyError {
    invalid(match e {
        SignatureError::UnknownKey => "unknown signing key",
        SignatureError::AlgorithmMismatch => "algorithm does not match the signing key",
        SignatureError::BadSignature => "token signature invalid",
    })
}

/// A NumericDate claim: `None` when absent, `Err` when not a non-negative number.
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<u64>, VerifyError> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(v) = n.as_u64() {
                Ok(Some(v))
            } else {
                match n.as_f64() {
                    Some(f) if f.is_finite() && f >= 0.0 && f < u64::MAX as f64 => {
                        Ok(Some(f as u64))
                    }
                    _ => Err(malformed()),
                }
            }
        }
        Some(_) => Err(malformed()),
    }
}

/// Strings of a claim that is a string or an array of strings.
fn strings(value: Option<&Value>) -> Vec<&str> {
    match value {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// The token's scopes: `scope`, `scp` and `scopes`, each a space-delimited
/// string or an array; the union, without duplicates, in order.
pub(crate) fn scopes_of(claims: &Map<String, Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in ["scope", "scp", "scopes"] {
        for item in strings(claims.get(name)) {
            for scope in item.split_ascii_whitespace() {
                if !out.iter().any(|s| s == scope) {
                    out.push(scope.to_owned());
                }
            }
        }
    }
    out
}

impl Rules {
    /// Checks the registered claims and builds the token; also returns `exp`.
    fn check_claims(
        &self,
        raw: &str,
        claims: Map<String, Value>,
        now: u64,
    ) -> Result<(AccessToken, u64), VerifyError> {
        let exp = numeric_date(&claims, "exp")?.ok_or_else(|| invalid("token has no expiry"))?;
        if now >= exp.saturating_add(self.leeway) {
            return Err(invalid("token expired"));
        }
        if let Some(nbf) = numeric_date(&claims, "nbf")?
            && nbf > now.saturating_add(self.leeway)
        {
            return Err(invalid("token not yet valid"));
        }
        if let Some(iat) = numeric_date(&claims, "iat")?
            && iat > now.saturating_add(self.leeway)
        {
            return Err(invalid("token issued in the future"));
        }
        let issuer = match claims.get("iss") {
            Some(Value::String(iss)) if self.issuers.iter().any(|i| i == iss) => iss.clone(),
            _ => return Err(invalid("token issuer mismatch")),
        };
        let audience: Vec<String> = strings(claims.get("aud"))
            .into_iter()
            .map(str::to_owned)
            .collect();
        if !audience.iter().any(|a| self.audiences.contains(a)) {
            return Err(invalid("token audience mismatch"));
        }
        let subject = match claims.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => sub.clone(),
            _ => return Err(invalid("token has no subject")),
        };
        let client_id = ["client_id", "azp", "cid"]
            .iter()
            .find_map(|name| claims.get(*name).and_then(Value::as_str))
            .map(str::to_owned);
        let scopes = scopes_of(&claims);
        let expires_at = UNIX_EPOCH
            .checked_add(Duration::from_secs(exp))
            .ok_or_else(malformed)?;
        let mut token = AccessToken::new(raw, subject)
            .with_scopes(scopes)
            .with_expires_at(expires_at)
            .with_issuer(issuer)
            .with_audience(audience);
        if let Some(client_id) = client_id {
            token = token.with_client_id(client_id);
        }
        Ok((token.with_claims(claims), exp))
    }
}

#[cfg(test)]
mod tests;
