//! Step-up mode: refuse a `tools/call` at the HTTP layer with 403
//! `insufficient_scope`, naming the scopes to ask for, before dispatch.

use axum::{
    body::{Body, Bytes},
    extract::Request,
    http::{HeaderMap, StatusCode},
    response::Response,
};
use rmcp::model::ProtocolVersion;
use serde::Deserialize;

use crate::{
    AccessToken, ScopeDecision, decide,
    http::{json_error, quoted},
    server::Inner,
};

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

/// `Ok` passes the request on (its body read and put back when it had to be
/// looked at); `Err` is the 403 (or 413) to answer.
pub(crate) async fn check(inner: &Inner, request: Request) -> Result<Request, Response> {
    let (name, request) = match tool_from_headers(request.headers()) {
        Some(name) => (name, request),
        None => {
            let (parts, body) = request.into_parts();
            let bytes: Bytes = match axum::body::to_bytes(body, inner.max_body_bytes).await {
                Ok(b) => b,
                Err(_) => {
                    // The rest of the body is unread: this connection is done.
                    let mut r = json_error(
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "invalid_request",
                        "request body too large",
                        None,
                    );
                    r.headers_mut().insert(
                        axum::http::header::CONNECTION,
                        axum::http::HeaderValue::from_static("close"),
                    );
                    return Err(r);
                }
            };
            let name = serde_json::from_slice::<Peek<'_>>(&bytes)
                .ok()
                .filter(|p| p.method == Some("tools/call"))
                .and_then(|p| p.params?.name.map(|n| n.into_owned()));
            (name, Request::from_parts(parts, Body::from(bytes)))
        }
    };
    let Some(name) = name else {
        return Ok(request);
    };
    let Some((def, _)) = inner.tools.get(&name) else {
        return Ok(request); // the handler answers "unknown tool"
    };
    let token = request
        .extensions()
        .get::<AccessToken>()
        .expect("bearer layer runs first");
    let held = token.scopes();
    if let ScopeDecision::Refused { missing, message } =
        decide(&def.scopes, held, &inner.shared.hierarchy)
    {
        tracing::info!(
            tool = def.name,
            missing_scope = missing,
            "step-up: insufficient scope"
        );
        let mut wanted: Vec<&str> = held.iter().map(String::as_str).collect();
        let required: &[&str] = match def.scopes {
            crate::ScopeRule::Any(_) => std::slice::from_ref(&missing),
            rule => rule.scopes(),
        };
        for s in required {
            if !wanted.contains(s) {
                wanted.push(s);
            }
        }
        let challenge = format!(
            "Bearer error=\"insufficient_scope\", scope=\"{}\", resource_metadata=\"{}\", error_description=\"{}\"",
            quoted(&wanted.join(" ")),
            quoted(&inner.resource_metadata_url()),
            quoted(&message),
        );
        return Err(json_error(
            StatusCode::FORBIDDEN,
            "insufficient_scope",
            &message,
            Some(challenge),
        ));
    }
    Ok(request)
}
