//! The caller's access token, as the verifier established it.

use std::{fmt, sync::Arc, time::SystemTime};

use serde_json::{Map, Value};

/// A verified access token: who called, for which client, with which scopes.
///
/// Cheap to clone (one reference count). Its `Debug` output never contains the
/// raw token, so it is safe to log.
///
/// Inside a tool, take it as a parameter (`token: AccessToken`) or call
/// [`get_access_token`].
///
/// ```
/// use mcp_runtime::AccessToken;
///
/// let token = AccessToken::new("raw.jwt.value", "user-42")
///     .with_client_id("client-7")
///     .with_scopes(["todo:read", "todo:write"]);
/// assert!(token.has_scope("todo:read"));
/// assert!(!format!("{token:?}").contains("raw.jwt.value"));
/// ```
#[derive(Clone)]
pub struct AccessToken(Arc<Inner>);

#[derive(Clone)]
struct Inner {
    raw: String,
    subject: String,
    client_id: Option<String>,
    scopes: Vec<String>,
    expires_at: Option<SystemTime>,
    issuer: Option<String>,
    audience: Vec<String>,
    claims: Map<String, Value>,
}

impl AccessToken {
    /// A token for `subject`, with no scopes and no other claims.
    pub fn new(raw: impl Into<String>, subject: impl Into<String>) -> Self {
        Self(Arc::new(Inner {
            raw: raw.into(),
            subject: subject.into(),
            client_id: None,
            scopes: Vec::new(),
            expires_at: None,
            issuer: None,
            audience: Vec::new(),
            claims: Map::new(),
        }))
    }

    fn edit(mut self, f: impl FnOnce(&mut Inner)) -> Self {
        f(Arc::make_mut(&mut self.0));
        self
    }

    /// Sets the OAuth client the token was issued to.
    pub fn with_client_id(self, client_id: impl Into<String>) -> Self {
        self.edit(|t| t.client_id = Some(client_id.into()))
    }

    /// Sets the scopes the token grants.
    pub fn with_scopes<S: Into<String>>(self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.edit(|t| t.scopes = scopes.into_iter().map(Into::into).collect())
    }

    /// Sets the expiry time (`exp`).
    pub fn with_expires_at(self, at: SystemTime) -> Self {
        self.edit(|t| t.expires_at = Some(at))
    }

    /// Sets the issuer (`iss`).
    pub fn with_issuer(self, issuer: impl Into<String>) -> Self {
        self.edit(|t| t.issuer = Some(issuer.into()))
    }

    /// Sets the audiences (`aud`).
    pub fn with_audience<S: Into<String>>(self, audience: impl IntoIterator<Item = S>) -> Self {
        self.edit(|t| t.audience = audience.into_iter().map(Into::into).collect())
    }

    /// Sets the token's full claim set.
    pub fn with_claims(self, claims: Map<String, Value>) -> Self {
        self.edit(|t| t.claims = claims)
    }

    /// The raw bearer token, to forward to a downstream API. Never log it.
    pub fn raw(&self) -> &str {
        &self.0.raw
    }

    /// The subject (`sub`): the user, or the client for machine-to-machine tokens.
    pub fn subject(&self) -> &str {
        &self.0.subject
    }

    /// The OAuth client the token was issued to, when the token says.
    pub fn client_id(&self) -> Option<&str> {
        self.0.client_id.as_deref()
    }

    /// The scopes the token grants, as issued (without hierarchy expansion).
    pub fn scopes(&self) -> &[String] {
        &self.0.scopes
    }

    /// Whether the token was issued with exactly this scope.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.0.scopes.iter().any(|s| s == scope)
    }

    /// When the token expires.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.0.expires_at
    }

    /// The issuer (`iss`).
    pub fn issuer(&self) -> Option<&str> {
        self.0.issuer.as_deref()
    }

    /// The audiences (`aud`).
    pub fn audience(&self) -> &[String] {
        &self.0.audience
    }

    /// Every claim of the token, for what the typed accessors do not cover.
    pub fn claims(&self) -> &Map<String, Value> {
        &self.0.claims
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("subject", &self.0.subject)
            .field("client_id", &self.0.client_id)
            .field("scopes", &self.0.scopes)
            .field("expires_at", &self.0.expires_at)
            .field("issuer", &self.0.issuer)
            .field("audience", &self.0.audience)
            .finish_non_exhaustive()
    }
}

tokio::task_local! {
    pub(crate) static CURRENT_TOKEN: Option<AccessToken>;
}

/// The access token of the request being served (a tool call, a resource
/// read, a prompt), from anywhere inside its handler.
///
/// Returns `None` outside a handler, or when the server runs without
/// authentication.
///
/// ```
/// use mcp_runtime::{get_access_token, tool};
///
/// /// Who is calling.
/// #[tool(public)]
/// fn caller() -> String {
///     match get_access_token() {
///         Some(token) => token.subject().to_owned(),
///         None => "anonymous".to_owned(),
///     }
/// }
/// ```
pub fn get_access_token() -> Option<AccessToken> {
    CURRENT_TOKEN.try_with(Clone::clone).ok().flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_the_raw_token() {
        let t = AccessToken::new("secret-value", "alice").with_scopes(["a"]);
        let shown = format!("{t:?}");
        assert!(!shown.contains("secret-value"));
        assert!(shown.contains("alice"));
    }

    #[test]
    fn outside_a_call_there_is_no_token() {
        assert!(get_access_token().is_none());
    }

    #[tokio::test]
    async fn inside_a_call_the_token_is_visible() {
        let t = AccessToken::new("x", "bob");
        let seen = CURRENT_TOKEN
            .scope(Some(t), async {
                get_access_token().map(|t| t.subject().to_owned())
            })
            .await;
        assert_eq!(seen.as_deref(), Some("bob"));
    }
}
