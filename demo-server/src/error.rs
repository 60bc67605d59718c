//! How a demo tool fails: a refusal whose message the caller can act on, or
//! an internal failure (the store's), whose detail goes to the server log only.

use std::{
    fmt,
    hash::BuildHasher as _,
    sync::atomic::{AtomicU64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use mcp_runtime::{ElicitError, ToolContext, ToolError};

use crate::store::StoreError;

/// A demo tool's error. Its `Display` text is what the caller sees.
///
/// `?` on a [`StoreError`] logs the error and keeps only an id, so no
/// SQL, schema or file detail reaches callers.
#[derive(Debug)]
pub enum Failure {
    /// Bad input, a limit reached, an unknown id: the message says which.
    Refused(ToolError),
    /// Something broke inside the server; the log names this id with the
    /// detail.
    Internal {
        /// Correlates the caller's message with the server log.
        request_id: String,
    },
}

impl Failure {
    /// Logs `detail` (`tracing::error!`) under a new request id, and returns
    /// the failure the caller sees, which names only that id.
    pub fn internal(detail: &dyn fmt::Display) -> Self {
        let request_id = new_request_id();
        tracing::error!(request_id = %request_id, error = %detail, "tool call failed");
        Self::Internal { request_id }
    }
}

/// A fresh, unpredictable 16-hex-digit id (not a secret: it only matches a
/// message to a log line).
fn new_request_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = (NEXT.fetch_add(1, Ordering::Relaxed), nanos);
    format!(
        "{:016x}",
        std::collections::hash_map::RandomState::new().hash_one(seed)
    )
}

/// Asks the user to confirm a destructive call (`question`), when the client
/// can be asked (protocol 2026-07-28 with the elicitation capability). A
/// declined or cancelled question fails the call with `cancelled`, so the
/// model reads that nothing changed. A client that cannot be asked goes
/// ahead as before: its user approved the tool call itself.
pub fn confirm(ctx: &ToolContext, question: String, cancelled: String) -> Result<(), Failure> {
    match ctx.confirm(question) {
        Ok(true) | Err(ElicitError::Unsupported) => Ok(()),
        Ok(false) => Err(ToolError::new(cancelled).into()),
        // `InputRequired`: the call ends with the question.
        Err(e) => Err(ToolError::from(e).into()),
    }
}

impl From<ToolError> for Failure {
    fn from(e: ToolError) -> Self {
        Self::Refused(e)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::internal(&e)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(e) => e.fmt(f),
            Self::Internal { request_id } => write!(
                f,
                "Internal error (request {request_id}); see the server log."
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_failures_name_only_a_request_id() {
        let e = Failure::from(StoreError::msg("no such table: todos"));
        let Failure::Internal { request_id } = &e else {
            panic!("{e}");
        };
        assert_eq!(request_id.len(), 16);
        assert_eq!(
            e.to_string(),
            format!("Internal error (request {request_id}); see the server log.")
        );
        assert_ne!(new_request_id(), new_request_id());
    }

    #[test]
    fn refusals_keep_their_message() {
        let e = Failure::from(ToolError::new("The title must not be empty."));
        assert_eq!(e.to_string(), "The title must not be empty.");
    }
}
