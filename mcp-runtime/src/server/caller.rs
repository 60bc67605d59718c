//! Who a request's caller is when no HTTP request carries a token: the
//! identity a stdio server was configured with.

use std::sync::Arc;

use rmcp::ErrorData;

use crate::{audit, auth::TokenVerifier, token::AccessToken};

/// The caller of every request of a stdio server.
#[derive(Clone)]
pub(crate) enum Configured {
    /// No one, or a local identity.
    Fixed(Option<AccessToken>),
    /// A token, verified again for each request.
    Verified(Arc<Verified>),
}

pub(crate) struct Verified {
    pub(crate) token: String,
    pub(crate) verifier: Arc<dyn TokenVerifier>,
}

impl Configured {
    /// The caller's token now: a configured token that no longer verifies
    /// refuses the request.
    pub(crate) async fn token(&self) -> Result<Option<AccessToken>, ErrorData> {
        let v = match self {
            Configured::Fixed(token) => return Ok(token.clone()),
            Configured::Verified(v) => v,
        };
        match v.verifier.verify(&v.token).await {
            Ok(token) => Ok(Some(token)),
            Err(e) => {
                let detail = e.to_string();
                audit::Decision {
                    allowed: false,
                    reason: "invalid_token",
                    detail: Some(&detail),
                    about: audit::Subject {
                        kind: "request",
                        name: "stdio",
                    },
                    token: None,
                    missing: &[],
                    request: None,
                }
                .emit();
                Err(ErrorData::invalid_request(
                    format!(
                        "The configured token no longer verifies ({detail}); restart the server with a fresh one"
                    ),
                    None,
                ))
            }
        }
    }
}
