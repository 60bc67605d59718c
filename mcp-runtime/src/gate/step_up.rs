//! Step-up mode: a `tools/call` whose token lacks the tool's scopes is
//! refused at the HTTP layer, before dispatch, with 403
//! `insufficient_scope` naming the scopes to ask for.

use std::collections::HashMap;

use axum::{
    body::{Body, Bytes},
    extract::Request,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::Response,
};
use rmcp::model::ProtocolVersion;
use serde::Deserialize;

use super::challenge::Challenge;
use crate::{
    catalog::scopes::{ScopeDecision, ScopeHierarchy, ScopeRule, decide},
    reply::json_error,
    token::AccessToken,
};

/// Each tool's scope rule, and the hierarchy to judge it with.
pub(crate) struct StepUp {
    pub(crate) rules: HashMap<&'static str, ScopeRule>,
    pub(crate) hierarchy: ScopeHierarchy,
}

#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(borrow)]
    method: Option<&'a str>,
    #[serde(borrow)]
    params: Option<PeekParams<'a>>,
}

#[derive(Deserialize)]
struct PeekParams<'a> {
    #[serde(borrow)]
    name: Option<std::borrow::Cow<'a, str>>,
}

impl StepUp {
    /// `Ok` passes the request on (its body read and put back when it had
    /// to be looked at); `Err` is the 403 (or 413) to answer.
    pub(crate) async fn check(
        &self,
        request: Request,
        challenge: &Challenge,
        max_body_bytes: usize,
    ) -> Result<Request, Response> {
        let (name, request) = match tool_from_headers(request.headers()) {
            Some(name) => (name, request),
            None => tool_from_body(request, max_body_bytes).await?,
        };
        let Some((tool, rule)) = name.as_deref().and_then(|n| self.rules.get_key_value(n)) else {
            return Ok(request); // not a tools/call, or an unknown tool: the handler answers
        };
        let token = request
            .extensions()
            .get::<AccessToken>()
            .expect("the bearer check runs first");
        let held = token.scopes();
        let ScopeDecision::Refused { missing, message } = decide(rule, held, &self.hierarchy)
        else {
            return Ok(request);
        };
        tracing::info!(
            tool = *tool,
            missing_scope = missing,
            "step-up: insufficient scope"
        );
        // Clients before SEP-2350 ask for exactly the challenged scopes, so
        // the challenge names those held as well as those required.
        let mut wanted: Vec<&str> = held.iter().map(String::as_str).collect();
        let required: &[&str] = match rule {
            ScopeRule::Any(_) => std::slice::from_ref(&missing),
            rule => rule.scopes(),
        };
        for s in required {
            if !wanted.contains(s) {
                wanted.push(s);
            }
        }
        Err(challenge.insufficient_scope(&wanted.join(" "), &message))
    }
}

/// The tool a request calls, from the `Mcp-Method`/`Mcp-Name` headers when
/// the protocol revision makes the transport check them against the body.
fn tool_from_headers(headers: &HeaderMap) -> Option<Option<String>> {
    let version = headers.get("mcp-protocol-version")?.to_str().ok()?;
    if version < ProtocolVersion::STANDARD_HEADERS.as_str() {
        return None;
    }
    let method = headers.get("mcp-method")?.to_str().ok()?;
    if method != "tools/call" {
        return Some(None);
    }
    let name = headers.get("mcp-name")?.to_str().ok()?;
    if name.starts_with("=?") {
        return None; // Base64-wrapped: read the body rather than decode here
    }
    Some(Some(name.to_owned()))
}

/// The tool a request calls, from its body; the request is rebuilt with
/// the body read.
async fn tool_from_body(
    request: Request,
    max_body_bytes: usize,
) -> Result<(Option<String>, Request), Response> {
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, max_body_bytes).await else {
        // The rest of the body is unread: this connection is done.
        let mut r = json_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            "request body too large",
        );
        r.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return Err(r);
    };
    let bytes: Bytes = bytes;
    let name = serde_json::from_slice::<Peek<'_>>(&bytes)
        .ok()
        .filter(|p| p.method == Some("tools/call"))
        .and_then(|p| p.params?.name.map(|n| n.into_owned()));
    Ok((name, Request::from_parts(parts, Body::from(bytes))))
}
