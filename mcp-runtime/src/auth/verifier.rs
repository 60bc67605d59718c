//! Turning a bearer token into an [`AccessToken`].

use std::{collections::HashMap, fmt, sync::Arc};

use crate::{future::BoxFuture, token::AccessToken};

/// Why a bearer token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The token is malformed, expired, signed by an unknown key, or meant for
    /// someone else. The description is sent to the client in
    /// `error_description`, so keep it short and free of secrets.
    #[error("invalid token: {0}")]
    Invalid(String),
    /// The token could not be checked right now (for example the keys could
    /// not be fetched and none are cached).
    #[error("token verification unavailable: {0}")]
    Unavailable(String),
}

/// Checks a bearer token and says who it belongs to.
///
/// Implement it to plug in any token format; `JwtVerifier` covers JWTs
/// signed by an OAuth/OIDC authorization server.
///
/// ```
/// use mcp_runtime::AccessToken;
/// use mcp_runtime::auth::{BoxFuture, TokenVerifier, VerifyError};
///
/// struct OneToken;
///
/// impl TokenVerifier for OneToken {
///     fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AccessToken, VerifyError>> {
///         Box::pin(async move {
///             if token == "let-me-in" {
///                 Ok(AccessToken::new(token, "admin").with_scopes(["todo:read"]))
///             } else {
///                 Err(VerifyError::Invalid("unknown token".into()))
///             }
///         })
///     }
/// }
/// ```
pub trait TokenVerifier: Send + Sync + 'static {
    /// Verifies `token` (the bearer value, without the `Bearer ` prefix).
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AccessToken, VerifyError>>;
}

/// A shared verifier verifies as the one it shares.
impl<T: TokenVerifier + ?Sized> TokenVerifier for Arc<T> {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AccessToken, VerifyError>> {
        (**self).verify(token)
    }
}

/// A verifier holding a fixed table of tokens, for tests and local tools.
///
/// ```
/// use mcp_runtime::{AccessToken, auth::StaticTokenVerifier};
///
/// let verifier = StaticTokenVerifier::new()
///     .with_token("reader", AccessToken::new("reader", "alice").with_scopes(["todo:read"]));
/// ```
#[derive(Default, Clone)]
pub struct StaticTokenVerifier {
    tokens: HashMap<String, AccessToken>,
}

impl StaticTokenVerifier {
    /// An empty table: every token is refused.
    pub fn new() -> Self {
        Self::default()
    }

    /// Accepts `token` as the bearer value and answers with `access`.
    pub fn with_token(mut self, token: impl Into<String>, access: AccessToken) -> Self {
        self.tokens.insert(token.into(), access);
        self
    }
}

impl fmt::Debug for StaticTokenVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticTokenVerifier")
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

impl TokenVerifier for StaticTokenVerifier {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AccessToken, VerifyError>> {
        let found = self.tokens.get(token).cloned();
        Box::pin(async move { found.ok_or_else(|| VerifyError::Invalid("unknown token".into())) })
    }
}
