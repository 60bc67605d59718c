//! The bearer check: the token from the `Authorization` header, verified,
//! becomes the request's [`AccessToken`]; anything else is refused with the
//! challenge that tells the client how to get one.

use std::sync::Arc;

use axum::{
    extract::Request,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    response::Response,
};

use super::challenge::Challenge;
use crate::{
    auth::{TokenVerifier, VerifyError},
    reply::json_error,
};

/// A refused request: the answer, and why, for the audit event.
pub(crate) struct Refusal {
    pub(crate) response: Response,
    pub(crate) reason: &'static str,
    pub(crate) detail: String,
}

impl Refusal {
    fn new(response: Response, reason: &'static str, detail: &str) -> Self {
        Self {
            response,
            reason,
            detail: detail.to_owned(),
        }
    }
}

/// The verifier, and the challenge it refuses with.
pub(crate) struct Bearer {
    pub(crate) verifier: Arc<dyn TokenVerifier>,
    pub(crate) challenge: Challenge,
}

impl Bearer {
    /// `None` admits the request, with its `AccessToken` in the
    /// extensions; `Some` is the refusal, with its audit reason.
    pub(crate) async fn admit(&self, request: &mut Request) -> Option<Refusal> {
        if request.method() == Method::OPTIONS {
            return None;
        }
        if query_has_token(request) {
            let response = self.challenge.refuse(
                StatusCode::BAD_REQUEST,
                Some((
                    "invalid_request",
                    "send the token in the Authorization header",
                )),
                (
                    "invalid_request",
                    "Access tokens are not accepted in the query string; send an Authorization: Bearer header",
                ),
            );
            return Some(Refusal::new(
                response,
                "invalid_token",
                "token in the query string",
            ));
        }
        let token = match bearer_token(request.headers()) {
            Ok(Some(token)) => token,
            Ok(None) => {
                let response = self.challenge.no_token();
                return Some(Refusal::new(response, "no_token", "no bearer token"));
            }
            Err(why) => {
                let response = self.invalid(Some(why), why);
                return Some(Refusal::new(response, "invalid_token", why));
            }
        };
        match self.verifier.verify(token).await {
            Ok(access) => {
                tracing::debug!(subject = access.subject(), "bearer token accepted");
                request.extensions_mut().insert(access);
                None
            }
            Err(VerifyError::Invalid(why)) => {
                tracing::info!(reason = %why, "bearer token refused");
                let response = self.invalid(Some(&why), &why);
                Some(Refusal::new(response, "invalid_token", &why))
            }
            Err(VerifyError::Unavailable(why)) => {
                tracing::error!(reason = %why, "token verification unavailable");
                Some(Refusal::new(
                    unavailable(),
                    "verification_unavailable",
                    &why,
                ))
            }
        }
    }

    /// 401 `invalid_token`; the challenge carries no `error` when no token
    /// was sent (`why` is `None`).
    fn invalid(&self, why: Option<&str>, description: &str) -> Response {
        self.challenge.refuse(
            StatusCode::UNAUTHORIZED,
            why.map(|w| ("invalid_token", w)),
            ("invalid_token", description),
        )
    }
}

/// 503 with `Retry-After`: the token could not be checked, which says
/// nothing about the token.
fn unavailable() -> Response {
    let mut r = json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "The token could not be verified right now; retry shortly",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
    r
}

/// The bearer token of the one `Authorization` header, if any.
fn bearer_token(headers: &HeaderMap) -> Result<Option<&str>, &'static str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("send one Authorization header");
    }
    // A header value holds no control character but tab (`http` and the
    // parser refuse them), so ASCII is what `to_str` accepts; checking that
    // takes a word at a time, where `to_str` takes a byte.
    if !value.as_bytes().is_ascii() {
        return Err("malformed Authorization header");
    }
    let value =
        std::str::from_utf8(value.as_bytes()).map_err(|_| "malformed Authorization header")?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or("Authorization must be `Bearer <token>`")?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err("Authorization must use the Bearer scheme");
    }
    let token = token.trim_start_matches(' ');
    if token.is_empty() || token.contains(' ') {
        return Err("malformed bearer token");
    }
    Ok(Some(token))
}

fn query_has_token(request: &Request) -> bool {
    request.uri().query().is_some_and(|q| {
        q.split('&')
            .any(|kv| kv.split('=').next() == Some("access_token"))
    })
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    fn headers(values: &[HeaderValue]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for v in values {
            map.append(header::AUTHORIZATION, v.clone());
        }
        map
    }

    /// What `Bearer <token>` means, written independently of the parser:
    /// `bearer` in any case, one or more spaces, then a non-empty token
    /// without spaces.
    fn expected(value: &str) -> Option<&str> {
        let scheme = value.get(..6)?;
        let token = value[6..].strip_prefix(' ')?.trim_start_matches(' ');
        (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
            .then_some(token)
    }

    proptest! {
        #![proptest_config(crate::proptest_config())]

        #[test]
        fn never_panics_on_any_header_values(
            raw in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..48), 0..3),
        ) {
            let values: Vec<HeaderValue> = raw
                .iter()
                .filter_map(|b| HeaderValue::from_bytes(b).ok())
                .collect();
            let _ = bearer_token(&headers(&values));
        }

        #[test]
        fn accepts_exactly_bearer_token_shapes(
            value in prop_oneof![
                "(?i:bearer)( {1,3})[A-Za-z0-9._~+/=-]{1,24}",
                "(?i:bearer|basic|bear|bearerx)?[ \t]{0,2}[A-Za-z0-9._~+/= \t-]{0,16}",
                "[ -~\t]{0,32}",
            ],
        ) {
            let header = HeaderValue::from_str(&value).unwrap();
            match (bearer_token(&headers(&[header])), expected(&value)) {
                (Ok(Some(got)), Some(want)) => prop_assert_eq!(got, want),
                (Err(_), None) => {}
                (got, want) => prop_assert!(false, "{:?}: got {:?}, want {:?}", value, got, want),
            }
        }

        #[test]
        fn generated_bearer_headers_give_their_token(
            scheme in "(?i:bearer)",
            spaces in 1usize..4,
            token in "[A-Za-z0-9._~+/-]{1,40}=*",
        ) {
            let value = format!("{scheme}{}{token}", " ".repeat(spaces));
            let map = headers(&[HeaderValue::from_str(&value).unwrap()]);
            prop_assert_eq!(bearer_token(&map), Ok(Some(token.as_str())));
        }

        #[test]
        fn two_authorization_headers_are_refused(a in "Bearer [a-z]{1,8}", b in "Bearer [a-z]{1,8}") {
            let map = headers(&[HeaderValue::from_str(&a).unwrap(), HeaderValue::from_str(&b).unwrap()]);
            prop_assert!(bearer_token(&map).is_err());
        }
    }
}
