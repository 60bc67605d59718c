//! Authentication as a deployment's settings name it.

use std::{path::PathBuf, time::Duration};

use super::{
    AuthProvider, Authentication, Site,
    dev::DevProvider,
    introspection::{ClientAuth, Introspection},
    issuer_url,
    oidc::OidcProvider,
    scalekit::ScalekitProvider,
};
use crate::{env, error::Error};

/// The authentication settings a deployment gives, by their environment
/// variable names, as a provider: Scalekit when a `SCALEKIT_*` value is set,
/// else a generic issuer when `MCP_AUTH_ISSUER` is set, else the
/// [development issuer](DevProvider) (key file `MCP_DEV_KEY_FILE`), which
/// only serves on loopback unless `MCP_DEV_ALLOW_REMOTE` is set.
///
/// [`McpServerBuilder::from_env`](crate::McpServerBuilder::from_env) reads
/// them from the environment; fill them yourself from another source (a
/// command line, a file) and pass them to
/// [`McpServerBuilder::auth`](crate::McpServerBuilder::auth).
///
/// ```
/// use mcp_runtime::{McpServer, auth::AuthSettings};
///
/// let mut settings = AuthSettings::default();
/// settings.issuer = Some("https://login.example.com".into());
/// settings.audience = Some("https://mcp.example.com/mcp".into());
/// let server = McpServer::builder().auth(settings).build().unwrap();
/// assert!(server.authentication().unwrap().starts_with("OAuth/OIDC issuer"));
/// ```
#[derive(Clone, Default)]
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
    /// `MCP_AUTH_ACCEPT_ANY_TYP`: accept the issuer's tokens whatever their
    /// `typ` (see [`OidcProvider::accept_any_typ`]); by default only
    /// `at+jwt` access tokens are.
    pub accept_any_typ: bool,
    /// `MCP_AUTH_INTROSPECTION_CLIENT_ID`: with the secret, the issuer's
    /// opaque tokens are introspected (see [`Introspection`]).
    pub introspection_client_id: Option<String>,
    /// `MCP_AUTH_INTROSPECTION_CLIENT_SECRET`.
    pub introspection_client_secret: Option<String>,
    /// `MCP_AUTH_INTROSPECTION_ENDPOINT`: instead of the metadata's
    /// `introspection_endpoint`.
    pub introspection_endpoint: Option<String>,
    /// `MCP_AUTH_INTROSPECTION_CLIENT_AUTH`: `basic` (the default) or `post`.
    pub introspection_client_auth: Option<ClientAuth>,
    /// `MCP_AUTH_INTROSPECTION_CACHE_SECS`: how long an introspected token is
    /// served from the cache (default 60; `off`: never).
    pub introspection_cache_ttl: Option<Duration>,
    /// `MCP_DEV_KEY_FILE`.
    pub dev_key_file: Option<PathBuf>,
    /// `MCP_DEV_ALLOW_REMOTE`: serve the development issuer beyond loopback.
    pub dev_allow_remote: bool,
}

impl std::fmt::Debug for AuthSettings {
    /// Every setting but the introspection client secret, shown as set or not.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = self
            .introspection_client_secret
            .as_ref()
            .map(|_| "<redacted>");
        f.debug_struct("AuthSettings")
            .field("scalekit_environment_url", &self.scalekit_environment_url)
            .field("scalekit_client_id", &self.scalekit_client_id)
            .field("scalekit_resource_id", &self.scalekit_resource_id)
            .field("mcp_url", &self.mcp_url)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("jwks_uri", &self.jwks_uri)
            .field("accept_any_typ", &self.accept_any_typ)
            .field("introspection_client_id", &self.introspection_client_id)
            .field("introspection_client_secret", &secret)
            .field("introspection_endpoint", &self.introspection_endpoint)
            .field("introspection_client_auth", &self.introspection_client_auth)
            .field("introspection_cache_ttl", &self.introspection_cache_ttl)
            .field("dev_key_file", &self.dev_key_file)
            .field("dev_allow_remote", &self.dev_allow_remote)
            .finish()
    }
}

impl AuthSettings {
    /// Reads every variable; an empty one counts as unset.
    pub fn from_env() -> Result<Self, Error> {
        Ok(Self {
            scalekit_environment_url: env::var("SCALEKIT_ENVIRONMENT_URL")?,
            scalekit_client_id: env::var("SCALEKIT_CLIENT_ID")?,
            scalekit_resource_id: env::var("SCALEKIT_RESOURCE_ID")?,
            mcp_url: env::var("MCP_URL")?,
            issuer: env::var("MCP_AUTH_ISSUER")?,
            audience: env::var("MCP_AUTH_AUDIENCE")?,
            jwks_uri: env::var("MCP_AUTH_JWKS_URI")?,
            accept_any_typ: env::bool_var("MCP_AUTH_ACCEPT_ANY_TYP")?.unwrap_or(false),
            introspection_client_id: env::var("MCP_AUTH_INTROSPECTION_CLIENT_ID")?,
            introspection_client_secret: env::var("MCP_AUTH_INTROSPECTION_CLIENT_SECRET")?,
            introspection_endpoint: env::var("MCP_AUTH_INTROSPECTION_ENDPOINT")?,
            introspection_client_auth: env::var("MCP_AUTH_INTROSPECTION_CLIENT_AUTH")?
                .map(|v| {
                    v.parse()
                        .map_err(|why| Error::config("MCP_AUTH_INTROSPECTION_CLIENT_AUTH", why))
                })
                .transpose()?,
            introspection_cache_ttl: env::seconds_var("MCP_AUTH_INTROSPECTION_CACHE_SECS")?
                .map(|ttl| ttl.unwrap_or(Duration::ZERO)),
            dev_key_file: env::var("MCP_DEV_KEY_FILE")?.map(Into::into),
            dev_allow_remote: env::bool_var("MCP_DEV_ALLOW_REMOTE")?.unwrap_or(false),
        })
    }

    /// Checks the settings as [`build`](crate::McpServerBuilder::build)
    /// will, without installing anything: no key file is created and nothing
    /// is fetched. An error names the first missing or malformed setting.
    pub fn check(&self) -> Result<(), Error> {
        if scalekit(self)?.is_none() {
            oidc(self)?;
        }
        Ok(())
    }
}

impl AuthProvider for AuthSettings {
    fn install(self, site: &Site) -> Result<Authentication, Error> {
        if let Some(scalekit) = scalekit(&self)? {
            return scalekit.install(site);
        }
        if let Some(oidc) = oidc(&self)? {
            return oidc.install(site);
        }
        let mut dev = DevProvider::new().allow_remote(self.dev_allow_remote);
        if let Some(key) = self.dev_key_file {
            dev = dev.key_file(key);
        }
        dev.install(site)
    }
}

/// `None` when no `SCALEKIT_*` value is set, an error naming the first
/// missing or malformed one otherwise (`MCP_URL` included).
fn scalekit(s: &AuthSettings) -> Result<Option<ScalekitProvider>, Error> {
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
    ScalekitProvider::new(
        &get(&s.scalekit_environment_url),
        &get(&s.scalekit_client_id),
        &get(&s.scalekit_resource_id),
    )
    .map(Some)
}

/// `None` when `MCP_AUTH_ISSUER` is not set.
fn oidc(s: &AuthSettings) -> Result<Option<OidcProvider>, Error> {
    let introspection = introspection(s)?;
    let Some(issuer) = &s.issuer else {
        if s.audience.is_some() || s.jwks_uri.is_some() || introspection.is_some() {
            return Err(Error::config(
                "MCP_AUTH_ISSUER",
                "is required with MCP_AUTH_AUDIENCE, MCP_AUTH_JWKS_URI or \
                 MCP_AUTH_INTROSPECTION_CLIENT_ID but not set",
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
    let mut p = OidcProvider::new(issuer, audience)?;
    if let Some(jwks) = &s.jwks_uri {
        issuer_url("MCP_AUTH_JWKS_URI", jwks)?;
        p = p.jwks_uri(jwks.clone());
    }
    if s.accept_any_typ {
        p = p.accept_any_typ();
    }
    if let Some(i) = introspection {
        p = p.introspect(i);
    }
    Ok(Some(p))
}

/// `None` when no `MCP_AUTH_INTROSPECTION_*` value is set; an error naming
/// the client id or secret when one of them is missing.
fn introspection(s: &AuthSettings) -> Result<Option<Introspection>, Error> {
    let (id, secret) = match (&s.introspection_client_id, &s.introspection_client_secret) {
        (Some(id), Some(secret)) => (id, secret),
        (None, None)
            if s.introspection_endpoint.is_none()
                && s.introspection_client_auth.is_none()
                && s.introspection_cache_ttl.is_none() =>
        {
            return Ok(None);
        }
        (None, _) => {
            return Err(Error::config(
                "MCP_AUTH_INTROSPECTION_CLIENT_ID",
                "is required with the other MCP_AUTH_INTROSPECTION_* settings but not set",
            ));
        }
        (Some(_), None) => {
            return Err(Error::config(
                "MCP_AUTH_INTROSPECTION_CLIENT_SECRET",
                "is required with MCP_AUTH_INTROSPECTION_CLIENT_ID but not set",
            ));
        }
    };
    let mut i = Introspection::new(id, secret);
    if let Some(endpoint) = &s.introspection_endpoint {
        issuer_url("MCP_AUTH_INTROSPECTION_ENDPOINT", endpoint)?;
        i = i.endpoint(endpoint);
    }
    if let Some(auth) = s.introspection_client_auth {
        i = i.client_auth(auth);
    }
    if let Some(ttl) = s.introspection_cache_ttl {
        i = i.cache_ttl(ttl);
    }
    Ok(Some(i))
}
