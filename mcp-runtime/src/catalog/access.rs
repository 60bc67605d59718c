//! The scope check for resources, resource templates, prompts and
//! completions, and the JSON-RPC error that refuses them.
//!
//! Tools refuse with a tool result (`isError: true`) the model can read, as
//! the seed did; these surfaces have no such result, so a refusal is a
//! JSON-RPC error with the code [`FORBIDDEN`] and the same message:
//! ``Insufficient permissions: `hr:read` scope required.``

use rmcp::{ErrorData, model::ErrorCode};

use super::scopes::{ScopeDecision, ScopeHierarchy, ScopeRule, decide};
use crate::{audit, token::AccessToken};

/// The JSON-RPC error code of a refused `resources/read`, `prompts/get` or
/// `completion/complete`: `-32003`.
///
/// MCP defines no code for "authenticated, but not allowed": the
/// specification expects that answer at the HTTP layer (403
/// `insufficient_scope`, which step-up mode sends). Inside JSON-RPC the code
/// comes from the range JSON-RPC 2.0 reserves for servers (`-32000` to
/// `-32099`), avoiding the codes MCP and its SDKs already use there
/// (`-32000` connection closed, `-32001` request timeout, `-32002` resource
/// not found, `-32042` URL elicitation required). The error's `data` is
/// `{"error": "insufficient_scope", "scope": "<the scope to ask for>"}`.
pub const FORBIDDEN: ErrorCode = ErrorCode(-32003);

/// What is being asked for, as audit events and refusals name it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Item<'a> {
    /// `resource`, `prompt` or `completion`.
    pub(crate) kind: &'static str,
    /// The URI read, the prompt's name, or what the completion completes.
    pub(crate) name: &'a str,
}

/// Who asks: the verified token (if any) and the HTTP request's audit id.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Caller<'a> {
    pub(crate) token: Option<&'a AccessToken>,
    pub(crate) request: Option<audit::RequestId>,
}

/// A refusal: the first scope to ask for and the message for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refused {
    pub(crate) missing: &'static str,
    pub(crate) message: String,
}

impl Refused {
    /// The JSON-RPC error for this refusal.
    pub(crate) fn into_error(self) -> ErrorData {
        ErrorData::new(
            FORBIDDEN,
            self.message,
            Some(serde_json::json!({
                "error": "insufficient_scope",
                "scope": self.missing,
            })),
        )
    }
}

/// Checks `caller` against `rule` (with `hierarchy`) and logs a refusal as an
/// audit event. Allowed reads are not logged: every surface checked here
/// only reads.
pub(crate) fn check(
    rule: &ScopeRule,
    hierarchy: &ScopeHierarchy,
    item: Item<'_>,
    caller: Caller<'_>,
) -> Result<(), Refused> {
    let held = caller.token.map(|t| t.scopes()).unwrap_or_default();
    match decide(rule, held, hierarchy) {
        ScopeDecision::Allowed => Ok(()),
        ScopeDecision::Refused { missing, message } => {
            audit::Decision {
                allowed: false,
                reason: "insufficient_scope",
                detail: Some(&message),
                about: audit::Subject {
                    kind: item.kind,
                    name: item.name,
                },
                token: caller.token,
                missing: &[missing],
                request: caller.request,
            }
            .emit();
            Err(Refused { missing, message })
        }
    }
}

/// A listed item with the rule that guards it and what serves it.
pub(crate) struct Guarded<H> {
    pub(crate) rule: ScopeRule,
    pub(crate) handler: H,
}
