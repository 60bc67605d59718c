//! `subscriptions/listen` (protocol 2026-07-28): the resource URIs a
//! stream asks for are narrowed here, before dispatch, to those the
//! caller's token may read.
//!
//! rmcp acknowledges a listen request with the filter its handler accepts,
//! and asks the handler for that filter without the request, so the
//! handler cannot tell who is asking. The gate can: it removes from
//! `resourceSubscriptions` every URI no resource or template serves, or
//! whose scope rule the token does not satisfy (an audit event, as a
//! refused read is), and rmcp then acknowledges only the rest. A refused
//! URI and an unknown one are dropped alike, so the acknowledgment does not
//! tell which resources exist beyond the caller's reach.

use axum::{
    body::{Body, Bytes},
    extract::Request,
    http::{HeaderValue, header},
};
use serde_json::Value;

use super::Buffered;
use crate::{audit::RequestId, catalog::Catalog, token::AccessToken};

/// `request` and its body `bytes`, with the URIs of a listen request
/// narrowed; any other request is returned as it came.
pub(crate) fn narrow(catalog: &Catalog, request: Request, bytes: Bytes) -> (Request, Bytes) {
    if !looks_like_listen(&bytes) {
        return (request, bytes);
    }
    let Ok(mut message) = serde_json::from_slice::<Value>(&bytes) else {
        return (request, bytes);
    };
    if message.get("method").and_then(Value::as_str) != Some("subscriptions/listen") {
        return (request, bytes);
    }
    let Some(Value::Array(asked)) = message
        .pointer_mut("/params/notifications/resourceSubscriptions")
        .map(Value::take)
    else {
        return (request, bytes);
    };
    let asked: Vec<String> = asked
        .into_iter()
        .filter_map(|v| match v {
            Value::String(s) => Some(s),
            _ => None,
        })
        .collect();
    let token = request.extensions().get::<AccessToken>();
    let audit = request.extensions().get::<RequestId>().copied();
    let kept = catalog.readable(&asked, token, audit);
    let kept: Vec<Value> = asked
        .into_iter()
        .filter(|uri| kept.contains(uri))
        .map(Value::String)
        .collect();
    message["params"]["notifications"]["resourceSubscriptions"] = Value::Array(kept);
    let bytes = Bytes::from(message.to_string());
    let (mut parts, _) = request.into_parts();
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(bytes.len()));
    // What comes after the gate reads the body from here too.
    parts.extensions.insert(Buffered(bytes.clone()));
    (Request::from_parts(parts, Body::from(bytes.clone())), bytes)
}

/// A cheap first look, a vectorised search that every request body gets:
/// only a body that names the method is parsed.
fn looks_like_listen(bytes: &[u8]) -> bool {
    memchr::memmem::find(bytes, b"subscriptions").is_some()
}
