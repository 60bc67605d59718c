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

/// The verifier, and the challenge it refuses with.
pub(crate) struct Bearer {
    pub(crate) verifier: Arc<dyn TokenVerifier>,
    pub(crate) challenge: Challenge,
}

impl Bearer {
    /// `Ok` admits the request, with its `AccessToken` in the extensions.
    pub(crate) async fn admit(&self, request: &mut Request) -> Result<(), Response> {
        if request.method() == Method::OPTIONS {
            return Ok(());
        }
        if query_has_token(request) {
            return Err(self.challenge.refuse(
                StatusCode::BAD_REQUEST,
                Some((
                    "invalid_request",
                    "send the token in the Authorization header",
                )),
                (
                    "invalid_request",
                    "Access tokens are not accepted in the query string; send an Authorization: Bearer header",
                ),
            ));
        }
        let token = match bearer_token(request.headers()) {
            Ok(Some(token)) => token,
            Ok(None) => return Err(self.invalid(None, "Authentication required")),
            Err(why) => return Err(self.invalid(Some(why), why)),
        };
        match self.verifier.verify(token).await {
            Ok(access) => {
                tracing::debug!(subject = access.subject(), "bearer token accepted");
                request.extensions_mut().insert(access);
                Ok(())
            }
            Err(VerifyError::Invalid(why)) => {
                tracing::info!(reason = %why, "bearer token refused");
                Err(self.invalid(Some(&why), &why))
            }
            Err(VerifyError::Unavailable(why)) => {
                tracing::error!(reason = %why, "token verification unavailable");
                Err(unavailable())
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
    let value = value
        .to_str()
        .map_err(|_| "malformed Authorization header")?;
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
