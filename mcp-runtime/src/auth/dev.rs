//! The development issuer as a provider.

use std::path::PathBuf;

use axum::Router;
use serde_json::json;
use url::Url;

use super::{AuthProvider, Authentication, Site, dev_issuer::DevIssuer};
use crate::{error::Error, reply::Document};

/// The development issuer as a provider: tokens signed by a local key, its
/// JWKS served at `/.well-known/jwks.json`. For local development only: it
/// refuses to serve beyond loopback unless [`allow_remote`](Self::allow_remote)
/// says so.
///
/// ```
/// use mcp_runtime::{McpServer, auth::{DevIssuer, DevProvider}};
///
/// # let dir = std::env::temp_dir().join(format!("dev-provider-doc-{}", std::process::id()));
/// let key_file = dir.join("dev-key.pem"); // default: DevIssuer::default_key_path()
/// let server = McpServer::builder()
///     .auth(DevProvider::new().key_file(&key_file))
///     .build()
///     .unwrap();
///
/// // The same key file and URL give the issuer whose tokens the server accepts.
/// let issuer = DevIssuer::for_base_url(server.base_url(), &key_file).unwrap();
/// let token = issuer.mint("alice", ["todo:read"], std::time::Duration::from_secs(60));
/// # drop(token); std::fs::remove_dir_all(&dir).unwrap();
/// ```
#[derive(Debug, Default)]
pub struct DevProvider {
    key_file: Option<PathBuf>,
    issuer: Option<DevIssuer>,
    allow_remote: bool,
}

impl DevProvider {
    /// The issuer of the server's own URL, with its key in
    /// [`DevIssuer::default_key_path`] (created on first use).
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts the tokens of `issuer`, as it is.
    pub fn with_issuer(issuer: DevIssuer) -> Self {
        Self {
            issuer: Some(issuer),
            ..Self::default()
        }
    }

    /// Keeps the signing key in `path` (`MCP_DEV_KEY_FILE`).
    pub fn key_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.key_file = Some(path.into());
        self
    }

    /// Serves beyond loopback too (`MCP_DEV_ALLOW_REMOTE`). Anyone who can
    /// read the key file can mint tokens: never in production.
    pub fn allow_remote(mut self, on: bool) -> Self {
        self.allow_remote = on;
        self
    }
}

impl DevIssuer {
    /// The development issuer of a server at `base_url`: issuer = its origin
    /// and path without the trailing slash, audience = its MCP endpoint;
    /// the key is loaded from `key_file`, or created there.
    pub fn for_base_url(base_url: &Url, key_file: impl Into<PathBuf>) -> Result<Self, Error> {
        let issuer = base_url.as_str().trim_end_matches('/').to_owned();
        let audience = base_url
            .join("mcp")
            .map_err(|e| Error::config("MCP_URL", e.to_string()))?
            .to_string();
        DevIssuer::load_or_create(key_file, issuer, audience)
            .map_err(|e| Error::config("MCP_DEV_KEY_FILE", e.to_string()))
    }
}

impl AuthProvider for DevProvider {
    fn install(self, site: &Site) -> Result<Authentication, Error> {
        if !site.binds_loopback() && !self.allow_remote {
            return Err(Error::config(
                "HOST",
                "the development issuer only serves on loopback; configure Scalekit or MCP_AUTH_ISSUER, or set MCP_DEV_ALLOW_REMOTE=true",
            ));
        }
        let issuer = match self.issuer {
            Some(issuer) => issuer,
            None => DevIssuer::for_base_url(
                site.base_url(),
                self.key_file.unwrap_or_else(DevIssuer::default_key_path),
            )?,
        };
        tracing::warn!(
            key = %issuer.key_path().display(),
            "DEVELOPMENT ISSUER: tokens are signed with a local key anyone on this machine can use; never use it in production"
        );
        let description = format!(
            "development issuer {} (key {})",
            issuer.issuer(),
            issuer.key_path().display()
        );
        let name = issuer.issuer().to_owned();
        let mut auth = Authentication::new(description, issuer.verifier())
            .authorization_server(name)
            .routes(routes(&issuer));
        auth.dev_issuer = Some(std::sync::Arc::new(issuer));
        auth.loopback_only = !self.allow_remote;
        Ok(auth)
    }
}

/// The issuer's key set and a minimal RFC 8414 document naming it.
fn routes(issuer: &DevIssuer) -> Router {
    let name = issuer.issuer();
    let metadata = json!({
        "issuer": name,
        "jwks_uri": format!("{name}/.well-known/jwks.json"),
        "response_types_supported": [],
        "grant_types_supported": [],
        "token_endpoint_auth_methods_supported": ["none"],
    });
    Router::new()
        .route(
            "/.well-known/jwks.json",
            Document::new(issuer.jwks().to_string()).route(),
        )
        .route(
            "/.well-known/oauth-authorization-server",
            Document::new(metadata.to_string()).route(),
        )
}
