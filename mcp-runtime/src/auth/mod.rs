//! Where tokens come from: Scalekit, any OAuth/OIDC authorization server, or
//! a local development issuer. Each provider configures the verifier, the
//! protected resource metadata and the routes it needs.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    Router,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};
use serde_json::json;
use tokio::sync::OnceCell;
use url::Url;

use crate::{
    AccessToken, BoxFuture, DevIssuer, Error, JwtVerifier, McpServerBuilder, TokenVerifier,
    VerifyError,
    server::{env_var, parse_bool},
};

/// Configures a server's authentication: see [`McpServerBuilder::auth`].
pub trait AuthProvider {
    /// A one-line description for the start-up log.
    fn describe(&self) -> String;
    /// Installs the verifier, metadata and routes into `builder`.
    fn install(self, builder: McpServerBuilder) -> Result<McpServerBuilder, Error>;
}

fn jwt_error(name: &str, e: impl std::fmt::Display) -> Error {
    Error::config(name, e.to_string())
}

/// An `http(s)` URL without a trailing slash, as issuers are written.
fn issuer_url(name: &str, value: &str) -> Result<String, Error> {
    let url = Url::parse(value)
        .map_err(|e| Error::config(name, format!("`{value}` is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::config(
            name,
            format!("`{value}` must be an http(s) URL"),
        ));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

/// Scalekit, as FastMCP's `ScalekitProvider` configures it.
///
/// Tokens are verified against `{environment_url}/keys`, with issuer
/// `{environment_url}` or `{environment_url}/resources/{resource_id}` and the
/// `res_…` id in their audience. The protected resource metadata names
/// `{environment_url}/resources/{resource_id}` as authorization server, and
/// `/.well-known/oauth-authorization-server` on this server forwards
/// Scalekit's document for older clients.
///
/// ```
/// use mcp_runtime::{McpServer, ScalekitProvider};
///
/// let scalekit = ScalekitProvider::new(
///     "https://acme.scalekit.dev",
///     "skc_123",
///     "res_456",
/// ).unwrap();
/// let server = McpServer::builder()
///     .base_url("https://mcp.acme.com/").unwrap()
///     .auth(scalekit).unwrap()
///     .build().unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct ScalekitProvider {
    environment_url: String,
    client_id: String,
    resource_id: String,
}

impl ScalekitProvider {
    /// From the values in the Scalekit dashboard.
    pub fn new(environment_url: &str, client_id: &str, resource_id: &str) -> Result<Self, Error> {
        let environment_url = issuer_url("SCALEKIT_ENVIRONMENT_URL", environment_url)?;
        if client_id.trim().is_empty() {
            return Err(Error::config("SCALEKIT_CLIENT_ID", "must not be empty"));
        }
        let resource_id = resource_id.trim();
        if !resource_id.starts_with("res_") || resource_id.len() <= 4 {
            return Err(Error::config(
                "SCALEKIT_RESOURCE_ID",
                format!("`{resource_id}` is not a Scalekit resource id (they start with `res_`)"),
            ));
        }
        Ok(Self {
            environment_url,
            client_id: client_id.trim().to_owned(),
            resource_id: resource_id.to_owned(),
        })
    }

    /// From `SCALEKIT_ENVIRONMENT_URL`, `SCALEKIT_CLIENT_ID`,
    /// `SCALEKIT_RESOURCE_ID` and `MCP_URL`: `None` when none of the first
    /// three is set, an error naming the first missing or malformed one
    /// otherwise.
    pub fn from_env() -> Result<Option<Self>, Error> {
        Self::from_settings(&AuthSettings::from_env()?)
    }

    fn from_settings(s: &AuthSettings) -> Result<Option<Self>, Error> {
        let vars = [
            ("SCALEKIT_ENVIRONMENT_URL", &s.scalekit_environment_url),
            ("SCALEKIT_CLIENT_ID", &s.scalekit_client_id),
            ("SCALEKIT_RESOURCE_ID", &s.scalekit_resource_id),
            ("MCP_URL", &s.mcp_url),
        ];
        if vars[..3].iter().all(|(_, v)| v.is_none()) {
            return Ok(None);
        }
        for (name, value) in vars {
            if value.is_none() {
                return Err(Error::config(name, "is required with Scalekit but not set"));
            }
        }
        let get = |v: &Option<String>| v.clone().unwrap_or_default();
        Self::new(
            &get(&s.scalekit_environment_url),
            &get(&s.scalekit_client_id),
            &get(&s.scalekit_resource_id),
        )
        .map(Some)
    }

    /// `{environment_url}/resources/{resource_id}`: the authorization server.
    pub fn authorization_server(&self) -> String {
        format!("{}/resources/{}", self.environment_url, self.resource_id)
    }

    /// The environment URL, without a trailing slash.
    pub fn environment_url(&self) -> &str {
        &self.environment_url
    }

    /// The MCP server's client id in Scalekit.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The `res_…` resource id: the tokens' audience.
    pub fn resource_id(&self) -> &str {
        &self.resource_id
    }
}

impl AuthProvider for ScalekitProvider {
    fn describe(&self) -> String {
        format!(
            "Scalekit ({}, resource {})",
            self.environment_url, self.resource_id
        )
    }

    fn install(self, builder: McpServerBuilder) -> Result<McpServerBuilder, Error> {
        let verifier = JwtVerifier::builder(format!("{}/keys", self.environment_url))
            .issuers([self.environment_url.clone(), self.authorization_server()])
            .audience(self.resource_id.clone())
            .build()
            .map_err(|e| jwt_error("SCALEKIT_ENVIRONMENT_URL", e))?;
        let upstream = format!(
            "{}/.well-known/oauth-authorization-server/resources/{}",
            self.environment_url, self.resource_id
        );
        Ok(builder
            .verifier(verifier)
            .authorization_server(self.authorization_server())
            .routes(metadata_proxy(upstream)?))
    }
}

/// `GET /.well-known/oauth-authorization-server`, forwarding `upstream`'s
/// document (cached for an hour; served stale while the upstream fails).
fn metadata_proxy(upstream: String) -> Result<Router, Error> {
    #[derive(Default)]
    struct Cache {
        doc: Option<(Instant, axum::body::Bytes)>,
    }
    const FRESH: Duration = Duration::from_secs(3600);
    let cache = Arc::new(Mutex::new(Cache::default()));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| Error::config("SCALEKIT_ENVIRONMENT_URL", format!("HTTP client: {e}")))?;
    let handler = move || {
        let (cache, client, upstream) = (cache.clone(), client.clone(), upstream.clone());
        async move {
            let cached = cache.lock().expect("cache lock").doc.clone();
            if let Some((at, doc)) = &cached
                && at.elapsed() < FRESH
            {
                return metadata_response(doc.clone());
            }
            let fetched = async {
                let r = client.get(&upstream).send().await?.error_for_status()?;
                r.bytes().await
            }
            .await;
            match fetched {
                Ok(doc) if serde_json::from_slice::<serde_json::Value>(&doc).is_ok() => {
                    cache.lock().expect("cache lock").doc = Some((Instant::now(), doc.clone()));
                    metadata_response(doc)
                }
                other => {
                    let why = match other {
                        Err(e) => e.to_string(),
                        Ok(_) => "not JSON".to_owned(),
                    };
                    tracing::warn!(%upstream, error = %why, "authorization server metadata unavailable");
                    match cached {
                        Some((_, doc)) => metadata_response(doc),
                        None => (
                            StatusCode::BAD_GATEWAY,
                            [(header::CONTENT_TYPE, "application/json")],
                            json!({
                                "error": "temporarily_unavailable",
                                "error_description": "The authorization server's metadata could not be fetched; retry shortly"
                            })
                            .to_string(),
                        )
                            .into_response(),
                    }
                }
            }
        }
    };
    Ok(Router::new().route("/.well-known/oauth-authorization-server", get(handler)))
}

fn metadata_response(doc: axum::body::Bytes) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        doc,
    )
        .into_response()
}

/// Any OAuth 2.0 / OpenID Connect authorization server (Auth0, Keycloak,
/// Okta, oidc-provider, …), found through RFC 8414 or OpenID discovery.
///
/// ```
/// use mcp_runtime::{McpServer, OidcProvider};
///
/// let server = McpServer::builder()
///     .auth(OidcProvider::new("https://login.example.com/realms/acme", "https://mcp.example.com/mcp").unwrap())
///     .unwrap()
///     .build()
///     .unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct OidcProvider {
    issuer: String,
    audience: String,
    jwks_uri: Option<String>,
    typ: Option<Vec<String>>,
}

impl OidcProvider {
    /// Tokens from `issuer` (exactly as in their `iss`) for `audience`.
    pub fn new(issuer: &str, audience: &str) -> Result<Self, Error> {
        if audience.trim().is_empty() {
            return Err(Error::config("MCP_AUTH_AUDIENCE", "must not be empty"));
        }
        Url::parse(issuer)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
            .ok_or_else(|| {
                Error::config(
                    "MCP_AUTH_ISSUER",
                    format!("`{issuer}` is not an http(s) URL"),
                )
            })?;
        Ok(Self {
            issuer: issuer.to_owned(),
            audience: audience.trim().to_owned(),
            jwks_uri: None,
            typ: None,
        })
    }

    /// Skips discovery and fetches keys from `jwks_uri`.
    pub fn jwks_uri(mut self, jwks_uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(jwks_uri.into());
        self
    }

    /// Requires the token header's `typ` to be one of `types` (e.g. `at+jwt`).
    pub fn require_typ<S: Into<String>>(mut self, types: impl IntoIterator<Item = S>) -> Self {
        self.typ = Some(types.into_iter().map(Into::into).collect());
        self
    }

    /// From `MCP_AUTH_ISSUER`, `MCP_AUTH_AUDIENCE` and optionally
    /// `MCP_AUTH_JWKS_URI`: `None` when `MCP_AUTH_ISSUER` is not set.
    pub fn from_env() -> Result<Option<Self>, Error> {
        Self::from_settings(&AuthSettings::from_env()?)
    }

    fn from_settings(s: &AuthSettings) -> Result<Option<Self>, Error> {
        let Some(issuer) = &s.issuer else {
            if s.audience.is_some() || s.jwks_uri.is_some() {
                return Err(Error::config(
                    "MCP_AUTH_ISSUER",
                    "is required with MCP_AUTH_AUDIENCE or MCP_AUTH_JWKS_URI but not set",
                ));
            }
            return Ok(None);
        };
        let audience = s.audience.as_deref().ok_or_else(|| {
            Error::config(
                "MCP_AUTH_AUDIENCE",
                "is required with MCP_AUTH_ISSUER but not set",
            )
        })?;
        let mut p = Self::new(issuer, audience)?;
        if let Some(jwks) = &s.jwks_uri {
            issuer_url("MCP_AUTH_JWKS_URI", jwks)?;
            p = p.jwks_uri(jwks.clone());
        }
        Ok(Some(p))
    }

    fn verifier(&self, jwks_uri: String) -> Result<JwtVerifier, Error> {
        let mut b = JwtVerifier::builder(jwks_uri)
            .issuer(self.issuer.clone())
            .audience(self.audience.clone());
        if let Some(t) = &self.typ {
            b = b.require_typ(t);
        }
        b.build().map_err(|e| jwt_error("MCP_AUTH_ISSUER", e))
    }
}

impl AuthProvider for OidcProvider {
    fn describe(&self) -> String {
        format!(
            "OAuth/OIDC issuer {} (audience {})",
            self.issuer, self.audience
        )
    }

    fn install(self, builder: McpServerBuilder) -> Result<McpServerBuilder, Error> {
        let builder = builder.authorization_server(self.issuer.clone());
        Ok(match self.jwks_uri.clone() {
            Some(uri) => builder.verifier(self.verifier(uri)?),
            None => builder.verifier(Discovering {
                provider: self,
                verifier: OnceCell::new(),
                last_failure: Mutex::new(None),
            }),
        })
    }
}

/// An OIDC verifier that finds its JWKS through discovery on first use
/// (retried at most every few seconds while the issuer is unreachable).
struct Discovering {
    provider: OidcProvider,
    verifier: OnceCell<JwtVerifier>,
    last_failure: Mutex<Option<Instant>>,
}

const DISCOVERY_RETRY: Duration = Duration::from_secs(5);

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
    async fn discover(&self) -> Result<JwtVerifier, VerifyError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| VerifyError::Unavailable(e.to_string()))?;
        let mut last = String::from("no discovery URL");
        for url in discovery_urls(&self.provider.issuer) {
            let doc = async {
                let r = client.get(&url).send().await?.error_for_status()?;
                r.json::<serde_json::Value>().await
            }
            .await;
            match doc {
                Ok(doc) => {
                    if doc["issuer"].as_str() != Some(self.provider.issuer.as_str()) {
                        last = format!("{url} names issuer {}", doc["issuer"]);
                        continue;
                    }
                    let Some(jwks) = doc["jwks_uri"].as_str() else {
                        last = format!("{url} has no jwks_uri");
                        continue;
                    };
                    tracing::info!(issuer = %self.provider.issuer, jwks_uri = jwks, "discovered the issuer's keys");
                    return self
                        .provider
                        .verifier(jwks.to_owned())
                        .map_err(|e| VerifyError::Unavailable(e.to_string()));
                }
                Err(e) => last = format!("{url}: {e}"),
            }
        }
        Err(VerifyError::Unavailable(format!(
            "discovery for {} failed: {last}",
            self.provider.issuer
        )))
    }
}

impl TokenVerifier for Discovering {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AccessToken, VerifyError>> {
        Box::pin(async move {
            if self.verifier.get().is_none() {
                let recent = self
                    .last_failure
                    .lock()
                    .expect("lock")
                    .is_some_and(|t| t.elapsed() < DISCOVERY_RETRY);
                if recent {
                    return Err(VerifyError::Unavailable(
                        "the authorization server could not be discovered".into(),
                    ));
                }
            }
            let verifier = self
                .verifier
                .get_or_try_init(|| self.discover())
                .await
                .inspect_err(|e| {
                    tracing::error!(error = %e, "issuer discovery failed");
                    *self.last_failure.lock().expect("lock") = Some(Instant::now());
                })?;
            verifier.verify(token).await
        })
    }
}

/// The development issuer as a provider: tokens signed by a local key, its
/// JWKS served at `/.well-known/jwks.json`. For local development only.
#[derive(Debug)]
pub struct DevProvider {
    issuer: Arc<DevIssuer>,
}

impl DevProvider {
    /// Serves `issuer`'s keys and accepts its tokens.
    pub fn new(issuer: DevIssuer) -> Self {
        Self {
            issuer: Arc::new(issuer),
        }
    }

    /// The issuer, to mint tokens with.
    pub fn issuer(&self) -> &DevIssuer {
        &self.issuer
    }
}

impl AuthProvider for DevProvider {
    fn describe(&self) -> String {
        format!(
            "development issuer {} (key {})",
            self.issuer.issuer(),
            self.issuer.key_path().display()
        )
    }

    fn install(self, builder: McpServerBuilder) -> Result<McpServerBuilder, Error> {
        tracing::warn!(
            key = %self.issuer.key_path().display(),
            "DEVELOPMENT ISSUER: tokens are signed with a local key anyone on this machine can use; never use it in production"
        );
        let jwks = self.issuer.jwks().to_string();
        let issuer = self.issuer.issuer().to_owned();
        let metadata = json!({
            "issuer": issuer,
            "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
            "response_types_supported": [],
            "grant_types_supported": [],
            "token_endpoint_auth_methods_supported": ["none"],
        })
        .to_string();
        let json = |body: String| {
            let body = axum::body::Bytes::from(body);
            move || {
                let body = body.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], body) }
            }
        };
        let routes = Router::new()
            .route("/.well-known/jwks.json", get(json(jwks)))
            .route(
                "/.well-known/oauth-authorization-server",
                get(json(metadata)),
            );
        Ok(builder
            .verifier(self.issuer.verifier())
            .authorization_server(issuer)
            .routes(routes))
    }
}

/// The authentication settings a deployment gives, by their environment
/// variable names. Read them with [`AuthSettings::from_env`], or fill them
/// from your own configuration (a command line, a file).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct AuthSettings {
    /// `SCALEKIT_ENVIRONMENT_URL`.
    pub scalekit_environment_url: Option<String>,
    /// `SCALEKIT_CLIENT_ID`.
    pub scalekit_client_id: Option<String>,
    /// `SCALEKIT_RESOURCE_ID`.
    pub scalekit_resource_id: Option<String>,
    /// `MCP_URL` (Scalekit requires it).
    pub mcp_url: Option<String>,
    /// `MCP_AUTH_ISSUER`.
    pub issuer: Option<String>,
    /// `MCP_AUTH_AUDIENCE`.
    pub audience: Option<String>,
    /// `MCP_AUTH_JWKS_URI`.
    pub jwks_uri: Option<String>,
    /// `MCP_DEV_KEY_FILE`.
    pub dev_key_file: Option<std::path::PathBuf>,
    /// `MCP_DEV_ALLOW_REMOTE`: serve the development issuer beyond loopback.
    pub dev_allow_remote: bool,
}

impl AuthSettings {
    /// Reads every variable; an empty one counts as unset.
    pub fn from_env() -> Result<Self, Error> {
        Ok(Self {
            scalekit_environment_url: env_var("SCALEKIT_ENVIRONMENT_URL")?,
            scalekit_client_id: env_var("SCALEKIT_CLIENT_ID")?,
            scalekit_resource_id: env_var("SCALEKIT_RESOURCE_ID")?,
            mcp_url: env_var("MCP_URL")?,
            issuer: env_var("MCP_AUTH_ISSUER")?,
            audience: env_var("MCP_AUTH_AUDIENCE")?,
            jwks_uri: env_var("MCP_AUTH_JWKS_URI")?,
            dev_key_file: env_var("MCP_DEV_KEY_FILE")?.map(Into::into),
            dev_allow_remote: env_var("MCP_DEV_ALLOW_REMOTE")?
                .map(|v| parse_bool("MCP_DEV_ALLOW_REMOTE", &v))
                .transpose()?
                .unwrap_or(false),
        })
    }
}

/// The provider the settings select: Scalekit when a `SCALEKIT_*` value is
/// set, else a generic issuer when `MCP_AUTH_ISSUER` is set, else the
/// development issuer (key file `MCP_DEV_KEY_FILE`, default
/// [`DevIssuer::default_key_path`]), which only serves on loopback unless
/// `MCP_DEV_ALLOW_REMOTE` is set.
#[derive(Debug)]
#[non_exhaustive]
pub enum EnvProvider {
    /// `SCALEKIT_*`.
    Scalekit(ScalekitProvider),
    /// `MCP_AUTH_ISSUER`.
    Oidc(OidcProvider),
    /// Nothing configured.
    Dev {
        /// The issuer.
        provider: DevProvider,
        /// Whether it may serve beyond loopback.
        allow_remote: bool,
    },
}

impl EnvProvider {
    /// Reads the environment for a server whose base URL is `base_url`.
    pub fn from_env(base_url: &Url) -> Result<Self, Error> {
        Self::from_settings(&AuthSettings::from_env()?, base_url)
    }

    /// Selects a provider from `settings` for a server at `base_url`.
    pub fn from_settings(settings: &AuthSettings, base_url: &Url) -> Result<Self, Error> {
        if let Some(s) = ScalekitProvider::from_settings(settings)? {
            return Ok(Self::Scalekit(s));
        }
        if let Some(o) = OidcProvider::from_settings(settings)? {
            return Ok(Self::Oidc(o));
        }
        let key = settings
            .dev_key_file
            .clone()
            .unwrap_or_else(DevIssuer::default_key_path);
        Ok(Self::Dev {
            provider: DevProvider::new(dev_issuer_for(base_url, key)?),
            allow_remote: settings.dev_allow_remote,
        })
    }
}

/// The development issuer of a server at `base_url`: issuer = its origin and
/// path without the trailing slash, audience = its MCP endpoint.
pub fn dev_issuer_for(base_url: &Url, key_file: std::path::PathBuf) -> Result<DevIssuer, Error> {
    let path = key_file;
    let issuer = base_url.as_str().trim_end_matches('/').to_owned();
    let audience = base_url
        .join("mcp")
        .map_err(|e| Error::config("MCP_URL", e.to_string()))?
        .to_string();
    DevIssuer::load_or_create(path, issuer, audience)
        .map_err(|e| Error::config("MCP_DEV_KEY_FILE", e.to_string()))
}

impl AuthProvider for EnvProvider {
    fn describe(&self) -> String {
        match self {
            Self::Scalekit(p) => p.describe(),
            Self::Oidc(p) => p.describe(),
            Self::Dev { provider, .. } => provider.describe(),
        }
    }

    fn install(self, builder: McpServerBuilder) -> Result<McpServerBuilder, Error> {
        match self {
            Self::Scalekit(p) => p.install(builder),
            Self::Oidc(p) => p.install(builder),
            Self::Dev {
                provider,
                allow_remote,
            } => {
                if !builder.binds_loopback() && !allow_remote {
                    return Err(Error::config(
                        "HOST",
                        "the development issuer only serves on loopback; configure Scalekit or MCP_AUTH_ISSUER, or set MCP_DEV_ALLOW_REMOTE=true",
                    ));
                }
                provider.install(builder)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn scalekit_checks_its_values() {
        let e = ScalekitProvider::new("https://x.scalekit.dev", "c", "abc").unwrap_err();
        assert!(e.to_string().starts_with("SCALEKIT_RESOURCE_ID"), "{e}");
        let e = ScalekitProvider::new("not a url", "c", "res_1").unwrap_err();
        assert!(e.to_string().starts_with("SCALEKIT_ENVIRONMENT_URL"), "{e}");
        let p = ScalekitProvider::new("https://x.scalekit.dev/", "c", "res_1").unwrap();
        assert_eq!(
            p.authorization_server(),
            "https://x.scalekit.dev/resources/res_1"
        );
    }
}
