//! Where tokens come from, and how they are checked.
//!
//! A server's authentication is one [`AuthProvider`], given to
//! [`McpServerBuilder::auth`](crate::McpServerBuilder::auth):
//!
//! | provider | when |
//! |---|---|
//! | [`ScalekitProvider`] | tokens from Scalekit |
//! | [`OidcProvider`] | tokens from any OAuth 2.0 / OpenID Connect server |
//! | [`DevProvider`] | local development: tokens you mint yourself |
//! | [`AuthSettings`] | whichever of the three the settings (or the environment) name |
//! | any [`TokenVerifier`] | your own token format ([`JwtVerifier`], [`StaticTokenVerifier`], …) |
//!
//! The provider is installed when the server is built, so it sees the
//! server's final URL and bind address.

mod dev;
mod dev_issuer;
mod forward;
pub mod introspection;
pub mod jwt;
mod oidc;
mod scalekit;
mod settings;
mod verifier;

use std::sync::Arc;

use axum::Router;
use url::Url;

pub use dev::DevProvider;
pub use dev_issuer::{DevIssuer, DevIssuerBuilder, DevIssuerError};
pub use introspection::{ClientAuth, Introspection, IntrospectionVerifier};
pub use jwt::JwtVerifier;
pub use oidc::OidcProvider;
pub use scalekit::ScalekitProvider;
pub use settings::AuthSettings;
pub use verifier::{StaticTokenVerifier, TokenVerifier, VerifyError};

/// The future [`TokenVerifier::verify`] returns.
pub use crate::future::BoxFuture;

use crate::error::Error;

/// Configures a server's authentication: see the [module docs](self).
///
/// Every [`TokenVerifier`] is a provider of its own; implement this trait
/// for a provider that also serves routes (key sets, metadata) or advertises
/// an authorization server.
pub trait AuthProvider: Send + 'static {
    /// What to check tokens with, for the server at `site`.
    fn install(self, site: &Site) -> Result<Authentication, Error>;
}

/// Where the server being built is served: what a provider may need to
/// know to install itself.
#[derive(Debug, Clone)]
pub struct Site {
    base_url: Url,
    loopback: bool,
}

impl Site {
    pub(crate) fn new(base_url: Url, loopback: bool) -> Self {
        Self { base_url, loopback }
    }

    /// The public base URL, with a trailing slash (`MCP_URL`).
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// The MCP endpoint: `{base_url}mcp`, the tokens' resource.
    pub fn endpoint(&self) -> Url {
        self.base_url
            .join("mcp")
            .expect("a base URL joins a relative path")
    }

    /// Whether the server binds a loopback address only.
    pub fn binds_loopback(&self) -> bool {
        self.loopback
    }
}

/// An installed provider: the verifier, what to advertise, and any routes
/// to serve next to `/mcp` (outside the bearer check, open to any origin).
pub struct Authentication {
    pub(crate) description: String,
    pub(crate) verifier: Arc<dyn TokenVerifier>,
    pub(crate) authorization_servers: Vec<String>,
    pub(crate) routes: Option<Router>,
    /// The development issuer, when that is what checks the tokens.
    pub(crate) dev_issuer: Option<Arc<DevIssuer>>,
    /// Serve only on loopback addresses (the development issuer's guard,
    /// checked again on the address actually bound).
    pub(crate) loopback_only: bool,
}

impl Authentication {
    /// Tokens checked by `verifier`; `description` is logged at start-up
    /// and returned by [`McpServer::authentication`](crate::McpServer::authentication).
    pub fn new(description: impl Into<String>, verifier: impl TokenVerifier) -> Self {
        Self {
            description: description.into(),
            verifier: Arc::new(verifier),
            authorization_servers: Vec::new(),
            routes: None,
            dev_issuer: None,
            loopback_only: false,
        }
    }

    /// An authorization server to advertise in the protected resource metadata.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// Routes to serve next to `/mcp`, outside the bearer check: documents
    /// such as key sets and metadata, served like the protected resource
    /// metadata (any origin may read them; the Host is checked), as with
    /// [`McpServerBuilder::routes_without_origin_check`](crate::McpServerBuilder::routes_without_origin_check).
    pub fn routes(mut self, routes: Router) -> Self {
        self.routes = Some(match self.routes.take() {
            Some(r) => r.merge(routes),
            None => routes,
        });
        self
    }
}

impl std::fmt::Debug for Authentication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authentication")
            .field("description", &self.description)
            .field("authorization_servers", &self.authorization_servers)
            .finish_non_exhaustive()
    }
}

impl<V: TokenVerifier> AuthProvider for V {
    fn install(self, _site: &Site) -> Result<Authentication, Error> {
        Ok(Authentication::new(std::any::type_name::<V>(), self))
    }
}

/// An `https` URL (plain `http` only on loopback, see
/// [`oidc::require_tls`]) without a trailing slash, as issuers are written.
fn issuer_url(name: &str, value: &str) -> Result<String, Error> {
    let url = Url::parse(value)
        .map_err(|e| Error::config(name, format!("`{value}` is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::config(
            name,
            format!("`{value}` must be an http(s) URL"),
        ));
    }
    oidc::require_tls(value, &url).map_err(|why| Error::config(name, why))?;
    Ok(value.trim_end_matches('/').to_owned())
}
