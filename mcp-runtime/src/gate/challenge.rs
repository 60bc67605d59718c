//! The one `WWW-Authenticate: Bearer` builder (RFC 6750 §3), shared by the
//! 401 of the bearer check and the 403 of step-up.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::Response,
};

use crate::reply::json_error;

/// What every challenge of this server names: where its protected resource
/// metadata is, and the scopes it supports.
#[derive(Debug, Clone)]
pub(crate) struct Challenge {
    resource_metadata: String,
    /// `scopes_supported`, space-separated; empty when there are none.
    scopes_supported: String,
}

impl Challenge {
    pub(crate) fn new(resource_metadata: String, scopes_supported: &[String]) -> Self {
        Self {
            resource_metadata,
            scopes_supported: scopes_supported.join(" "),
        }
    }

    /// 401 (or another status, for a malformed request) with the challenge:
    /// no `error` when no token was sent (`error` is `None`).
    pub(crate) fn refuse(
        &self,
        status: StatusCode,
        error: Option<(&str, &str)>,
        body: (&str, &str),
    ) -> Response {
        let mut params = Vec::with_capacity(4);
        if let Some((code, description)) = error {
            params.push(("error", code));
            params.push(("error_description", description));
        }
        params.push(("resource_metadata", &self.resource_metadata));
        if !self.scopes_supported.is_empty() {
            params.push(("scope", &self.scopes_supported));
        }
        with_challenge(json_error(status, body.0, body.1), &params)
    }

    /// 403 `insufficient_scope`, naming the scopes to ask for.
    pub(crate) fn insufficient_scope(&self, scope: &str, description: &str) -> Response {
        let params = [
            ("error", "insufficient_scope"),
            ("scope", scope),
            ("resource_metadata", &self.resource_metadata),
            ("error_description", description),
        ];
        let response = json_error(StatusCode::FORBIDDEN, "insufficient_scope", description);
        with_challenge(response, &params)
    }
}

/// `response` with `WWW-Authenticate: Bearer k="v", …`.
fn with_challenge(mut response: Response, params: &[(&str, &str)]) -> Response {
    let value = params
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", quoted(v)))
        .collect::<Vec<_>>()
        .join(", ");
    if let Ok(v) = HeaderValue::from_str(&format!("Bearer {value}")) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

/// Escapes a value for an RFC 9110 quoted-string.
fn quoted(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control())
        .flat_map(|c| match c {
            '"' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(r: &Response) -> &str {
        r.headers()[header::WWW_AUTHENTICATE].to_str().unwrap()
    }

    #[test]
    fn no_token_no_error() {
        let c = Challenge::new(
            "https://x/.well-known/oauth-protected-resource/mcp".into(),
            &["a".into(), "b".into()],
        );
        let r = c.refuse(
            StatusCode::UNAUTHORIZED,
            None,
            ("invalid_token", "Authentication required"),
        );
        assert_eq!(
            header(&r),
            r#"Bearer resource_metadata="https://x/.well-known/oauth-protected-resource/mcp", scope="a b""#
        );
    }

    #[test]
    fn values_are_quoted() {
        let c = Challenge::new("m".into(), &[]);
        let r = c.insufficient_scope("s", "say \"hi\"\\\n");
        assert_eq!(
            header(&r),
            r#"Bearer error="insufficient_scope", scope="s", resource_metadata="m", error_description="say \"hi\"\\""#
        );
    }
}
