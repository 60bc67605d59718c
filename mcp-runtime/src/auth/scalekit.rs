//! Scalekit, as FastMCP's `ScalekitProvider` configures it.

use super::{
    AuthProvider, Authentication, Site, forward::metadata_forwarder, issuer_url, jwt::JwtVerifier,
};
use crate::error::Error;

/// Scalekit, as FastMCP's `ScalekitProvider` configures it.
///
/// Tokens are verified against `{environment_url}/keys`, with issuer
/// `{environment_url}` or `{environment_url}/resources/{resource_id}` and the
/// `res_…` id in their audience. The protected resource metadata names
/// `{environment_url}/resources/{resource_id}` as authorization server, and
/// `/.well-known/oauth-authorization-server` on this server forwards
/// Scalekit's document for older clients.
///
/// No header `typ` is required: Scalekit's access tokens say `typ: JWT`, as
/// FastMCP's provider accepts them (an [`OidcProvider`](super::OidcProvider)
/// requires `at+jwt`). The environment URL must be `https` (plain `http` only
/// on loopback, for tests).
///
/// ```
/// use mcp_runtime::{McpServer, auth::ScalekitProvider};
///
/// let scalekit = ScalekitProvider::new(
///     "https://acme.scalekit.dev",
///     "skc_123",
///     "res_456",
/// ).unwrap();
/// let server = McpServer::builder()
///     .base_url("https://mcp.acme.com/").unwrap()
///     .auth(scalekit)
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
    fn install(self, _site: &Site) -> Result<Authentication, Error> {
        let verifier = JwtVerifier::builder(format!("{}/keys", self.environment_url))
            .issuers([self.environment_url.clone(), self.authorization_server()])
            .audience(self.resource_id.clone())
            .build()
            .map_err(|e| Error::config("SCALEKIT_ENVIRONMENT_URL", e.to_string()))?;
        let upstream = format!(
            "{}/.well-known/oauth-authorization-server/resources/{}",
            self.environment_url, self.resource_id
        );
        let description = format!(
            "Scalekit ({}, resource {})",
            self.environment_url, self.resource_id
        );
        Ok(Authentication::new(description, verifier)
            .authorization_server(self.authorization_server())
            .routes(metadata_forwarder(upstream, "SCALEKIT_ENVIRONMENT_URL")?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalekit_checks_its_values() {
        let e = ScalekitProvider::new("https://x.scalekit.dev", "c", "abc").unwrap_err();
        assert!(e.to_string().starts_with("SCALEKIT_RESOURCE_ID"), "{e}");
        let e = ScalekitProvider::new("not a url", "c", "res_1").unwrap_err();
        assert!(e.to_string().starts_with("SCALEKIT_ENVIRONMENT_URL"), "{e}");
        let e = ScalekitProvider::new("http://x.scalekit.dev", "c", "res_1").unwrap_err();
        assert!(e.to_string().starts_with("SCALEKIT_ENVIRONMENT_URL"), "{e}");
        assert!(e.to_string().contains("https://"), "{e}");
        assert!(ScalekitProvider::new("http://127.0.0.1:9000", "c", "res_1").is_ok());
        let p = ScalekitProvider::new("https://x.scalekit.dev/", "c", "res_1").unwrap();
        assert_eq!(
            p.authorization_server(),
            "https://x.scalekit.dev/resources/res_1"
        );
    }
}
