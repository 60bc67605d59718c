//! Any OAuth 2.0 / OpenID Connect authorization server, found through
//! RFC 8414 or OpenID discovery.

use std::{
    sync::Mutex,
    time::{Duration, Instant},
};

use tokio::sync::OnceCell;
use url::Url;

use super::{
    AuthProvider, Authentication, Site,
    jwt::JwtVerifier,
    verifier::{TokenVerifier, VerifyError},
};
use crate::{error::Error, future::BoxFuture, token::AccessToken};

/// Any OAuth 2.0 / OpenID Connect authorization server (Auth0, Keycloak,
/// Okta, oidc-provider, …), found through RFC 8414 or OpenID discovery.
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
        let description = format!(
            "OAuth/OIDC issuer {} (audience {})",
            self.issuer, self.audience
        );
        let issuer = self.issuer.clone();
        let auth = match self.jwks_uri.clone() {
            Some(uri) => Authentication::new(description, self.verifier(uri)?),
            None => Authentication::new(
                description,
                Discovering {
                    provider: self,
                    verifier: OnceCell::new(),
                    last_failure: Mutex::new(None),
                },
            ),
        };
        Ok(auth.authorization_server(issuer))
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
            match self.jwks_uri_from(&client, &url).await {
                Ok(jwks) => {
                    tracing::info!(issuer = %self.provider.issuer, jwks_uri = jwks, "discovered the issuer's keys");
                    return self
                        .provider
                        .verifier(jwks)
                        .map_err(|e| VerifyError::Unavailable(e.to_string()));
                }
                Err(why) => last = why,
            }
        }
        Err(VerifyError::Unavailable(format!(
            "discovery for {} failed: {last}",
            self.provider.issuer
        )))
    }

    /// The `jwks_uri` of the metadata at `url`, when it names our issuer.
    async fn jwks_uri_from(&self, client: &reqwest::Client, url: &str) -> Result<String, String> {
        let doc = async {
            let r = client.get(url).send().await?.error_for_status()?;
            r.json::<serde_json::Value>().await
        }
        .await
        .map_err(|e| format!("{url}: {e}"))?;
        if doc["issuer"].as_str() != Some(self.provider.issuer.as_str()) {
            return Err(format!("{url} names issuer {}", doc["issuer"]));
        }
        doc["jwks_uri"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("{url} has no jwks_uri"))
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
}
