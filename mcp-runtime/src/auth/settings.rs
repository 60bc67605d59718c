//! Authentication as a deployment's settings name it.

use std::path::PathBuf;

use super::{
    AuthProvider, Authentication, Site, dev::DevProvider, issuer_url, oidc::OidcProvider,
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
    /// `MCP_AUTH_ACCEPT_ANY_TYP`: accept the issuer's tokens whatever their
    /// `typ` (see [`OidcProvider::accept_any_typ`]); by default only
    /// `at+jwt` access tokens are.
    pub accept_any_typ: bool,
    /// `MCP_DEV_KEY_FILE`.
    pub dev_key_file: Option<PathBuf>,
    /// `MCP_DEV_ALLOW_REMOTE`: serve the development issuer beyond loopback.
    pub dev_allow_remote: bool,
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
    let mut p = OidcProvider::new(issuer, audience)?;
    if let Some(jwks) = &s.jwks_uri {
        issuer_url("MCP_AUTH_JWKS_URI", jwks)?;
        p = p.jwks_uri(jwks.clone());
    }
    if s.accept_any_typ {
        p = p.accept_any_typ();
    }
    Ok(Some(p))
}
