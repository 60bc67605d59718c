//! Audit events: one structured `tracing` event per authorisation decision,
//! on the target `mcp_runtime::audit`, never carrying the token.
//!
//! | field | value |
//! |---|---|
//! | `decision` | `allowed` or `refused` |
//! | `reason` | `no_token`, `invalid_token`, `verification_unavailable`, `origin_not_allowed`, `header_repeated`, `insufficient_scope`, `scope_granted`, `public` |
//! | `detail` | the refusal's description, when there is one (never the token) |
//! | `kind`, `name` | what was asked for: `tool` or `prompt` and its name, `resource` and the URI read, `completion` and the prompt or URI template it completes, or `request` and the HTTP path |
//! | `subject`, `client_id`, `issuer` | from the verified token, when there is one |
//! | `missing_scopes` | the scopes a refusal names, space-separated |
//! | `request_id` | the HTTP request's id, shared by every event of one request |
//!
//! Refusals are logged at `warn`, allowed calls at `info`. Allowed calls
//! are logged for tools that are not marked read-only.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::token::AccessToken;

/// The target every audit event is logged on.
pub const TARGET: &str = "mcp_runtime::audit";

/// One HTTP request's audit id, in its extensions.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestId(pub(crate) u64);

impl RequestId {
    /// A fresh id: a process-wide counter started at a random point, so ids
    /// from two runs rarely collide in one log.
    pub(crate) fn next() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        static START: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
        let start = *START.get_or_init(|| {
            use std::hash::{BuildHasher, Hasher};
            let mut h = std::collections::hash_map::RandomState::new().build_hasher();
            h.write_u64(std::process::id().into());
            h.finish() & 0xffff_ffff_0000_0000
        });
        Self(start | NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

impl std::fmt::Display for RequestId {
    /// Sixteen hex digits.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// What a decision was about.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Subject<'a> {
    pub(crate) kind: &'static str,
    pub(crate) name: &'a str,
}

/// One decision.
#[derive(Debug)]
pub(crate) struct Decision<'a> {
    pub(crate) allowed: bool,
    pub(crate) reason: &'static str,
    pub(crate) detail: Option<&'a str>,
    pub(crate) about: Subject<'a>,
    pub(crate) token: Option<&'a AccessToken>,
    pub(crate) missing: &'a [&'a str],
    pub(crate) request: Option<RequestId>,
}

impl Decision<'_> {
    /// Logs the decision on [`TARGET`].
    pub(crate) fn emit(&self) {
        let missing = self.missing.join(" ");
        // Written by the subscriber, if one records the event.
        let request_id = self.request.map(tracing::field::display);
        let (subject, client_id, issuer) = match self.token {
            Some(t) => (Some(t.subject()), t.client_id(), t.issuer()),
            None => (None, None, None),
        };
        macro_rules! event {
            ($level:expr) => {
                tracing::event!(
                    target: "mcp_runtime::audit",
                    $level,
                    decision = if self.allowed { "allowed" } else { "refused" },
                    reason = self.reason,
                    detail = self.detail,
                    kind = self.about.kind,
                    name = self.about.name,
                    subject,
                    client_id,
                    issuer,
                    missing_scopes = (!missing.is_empty()).then_some(missing.as_str()),
                    request_id,
                    "authorisation decision"
                )
            };
        }
        if self.allowed {
            event!(tracing::Level::INFO);
        } else {
            event!(tracing::Level::WARN);
        }
    }
}
