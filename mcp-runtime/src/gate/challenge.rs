//! The one `WWW-Authenticate: Bearer` builder (RFC 6750 §3), shared by the
//! 401 of the bearer check and the 403 of step-up.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::Response,
};

use crate::{
    catalog::{scopes::is_scope_token, vocabulary::Vocabulary},
    error::Error,
    reply::{json_error, json_error_body},
};

/// What every challenge of this server names: where its protected resource
/// metadata is, and the scopes a client should ask for on first contact.
#[derive(Debug, Clone)]
pub(crate) struct Challenge {
    resource_metadata: String,
    /// The 401's scopes (`challenge_scopes`, else `scopes_supported`),
    /// space-separated; empty when there are none, and `scope` is left out.
    first_contact: String,
    /// The most common refusal, a request without a token, built once: its
    /// `WWW-Authenticate` value and its body.
    no_token: Option<(HeaderValue, axum::body::Bytes)>,
}

/// What a request without a token is told.
const NO_TOKEN: &str = "Authentication required";

impl Challenge {
    pub(crate) fn new(resource_metadata: String, first_contact: &[String]) -> Self {
        let mut challenge = Self {
            resource_metadata,
            first_contact: first_contact.join(" "),
            no_token: None,
        };
        challenge.no_token = challenge_value(&challenge.params(None))
            .map(|value| (value, json_error_body("invalid_token", NO_TOKEN).into()));
        challenge
    }

    /// 401 for a request without a token: the challenge without `error`.
    pub(crate) fn no_token(&self) -> Response {
        let Some((value, body)) = &self.no_token else {
            return self.refuse(StatusCode::UNAUTHORIZED, None, ("invalid_token", NO_TOKEN));
        };
        let mut response = Response::new(axum::body::Body::from(body.clone()));
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        headers.insert(header::WWW_AUTHENTICATE, value.clone());
        response
    }

    /// 401 (or another status, for a malformed request) with the challenge:
    /// no `error` when no token was sent (`error` is `None`).
    pub(crate) fn refuse(
        &self,
        status: StatusCode,
        error: Option<(&str, &str)>,
        body: (&str, &str),
    ) -> Response {
        with_challenge(json_error(status, body.0, body.1), &self.params(error))
    }

    /// The 401's challenge parameters, with `error` when there is one.
    fn params<'a>(&'a self, error: Option<(&'a str, &'a str)>) -> Vec<(&'a str, &'a str)> {
        let mut params = Vec::with_capacity(4);
        if let Some((code, description)) = error {
            params.push(("error", code));
            params.push(("error_description", description));
        }
        params.push(("resource_metadata", self.resource_metadata.as_str()));
        if !self.first_contact.is_empty() {
            params.push(("scope", self.first_contact.as_str()));
        }
        params
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

/// Each of `scopes`, given by `setting`, is one scope token, and declared
/// by `vocabulary` when there is one.
pub(crate) fn check_scopes(
    setting: &str,
    scopes: &[String],
    vocabulary: Option<&Vocabulary>,
) -> Result<(), Error> {
    for scope in scopes {
        if !is_scope_token(scope) {
            return Err(Error::config(
                setting,
                format!(
                    "{scope:?} is not one RFC 6749 scope token \
                     (printable ASCII except space, `\"` and `\\`)"
                ),
            ));
        }
        if let Some(v) = vocabulary.filter(|v| !v.contains(scope)) {
            let hint = v
                .closest(scope)
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
            return Err(Error::config(
                setting,
                format!(
                    "`{scope}` is not a scope of the vocabulary {}{hint}",
                    v.describe()
                ),
            ));
        }
    }
    Ok(())
}

/// `response` with `WWW-Authenticate: Bearer k="v", …`.
fn with_challenge(mut response: Response, params: &[(&str, &str)]) -> Response {
    if let Some(v) = challenge_value(params) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    response
}

/// `Bearer k="v", …`, or `None` if it is not a valid header value.
fn challenge_value(params: &[(&str, &str)]) -> Option<HeaderValue> {
    let mut value = String::with_capacity(
        "Bearer ".len()
            + params
                .iter()
                .map(|(k, v)| k.len() + v.len() + 5)
                .sum::<usize>(),
    );
    value.push_str("Bearer ");
    for (i, (k, v)) in params.iter().enumerate() {
        if i > 0 {
            value.push_str(", ");
        }
        value.push_str(k);
        value.push_str("=\"");
        push_quoted(&mut value, v);
        value.push('"');
    }
    HeaderValue::try_from(value).ok()
}

/// Appends `s` escaped for an RFC 9110 quoted-string (control characters
/// dropped, `"` and `\` escaped).
fn push_quoted(out: &mut String, s: &str) {
    if !s.chars().any(|c| c.is_control() || c == '"' || c == '\\') {
        out.push_str(s);
        return;
    }
    for c in s.chars().filter(|c| !c.is_control()) {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
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

    #[tokio::test]
    async fn the_prebuilt_no_token_refusal_is_the_built_one() {
        let c = Challenge::new(
            "https://x/.well-known/oauth-protected-resource/mcp".into(),
            &["a".into(), "b\"c".into()],
        );
        let built = c.refuse(StatusCode::UNAUTHORIZED, None, ("invalid_token", NO_TOKEN));
        let prebuilt = c.no_token();
        assert_eq!(prebuilt.status(), built.status());
        assert_eq!(prebuilt.headers(), built.headers());
        let body =
            |r: Response| async { axum::body::to_bytes(r.into_body(), 1 << 16).await.unwrap() };
        assert_eq!(body(prebuilt).await, body(built).await);
    }

    #[test]
    fn no_scopes_no_scope_param() {
        let c = Challenge::new("m".into(), &[]);
        let r = c.refuse(
            StatusCode::UNAUTHORIZED,
            Some(("invalid_token", "token expired")),
            ("invalid_token", "token expired"),
        );
        assert_eq!(
            header(&r),
            r#"Bearer error="invalid_token", error_description="token expired", resource_metadata="m""#
        );
    }

    #[test]
    fn challenge_scopes_are_checked() {
        static V: Vocabulary =
            Vocabulary::new("V", &[crate::DeclaredScope::new("todo:read", "Read", &[])]);
        let ok = ["todo:read".to_owned()];
        assert!(check_scopes("challenge_scopes", &ok, Some(&V)).is_ok());
        let other = ["hr:read".to_owned()];
        assert!(check_scopes("challenge_scopes", &other, None).is_ok());
        assert_eq!(
            check_scopes("challenge_scopes", &other, Some(&V))
                .unwrap_err()
                .to_string(),
            "challenge_scopes: `hr:read` is not a scope of the vocabulary `V`"
        );
        assert_eq!(
            check_scopes("MCP_CHALLENGE_SCOPES", &["todo:raed".to_owned()], Some(&V))
                .unwrap_err()
                .to_string(),
            "MCP_CHALLENGE_SCOPES: `todo:raed` is not a scope of the vocabulary `V` (did you mean `todo:read`?)"
        );
        assert_eq!(
            check_scopes("challenge_scopes", &["a\"b".to_owned()], None)
                .unwrap_err()
                .to_string(),
            r#"challenge_scopes: "a\"b" is not one RFC 6749 scope token (printable ASCII except space, `"` and `\`)"#
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
