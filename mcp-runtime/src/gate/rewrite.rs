//! The transport answers some malformed requests in plain text; clients
//! expect a JSON-RPC error object, so those answers are rewritten (error
//! paths only: a successful response is not touched).
//!
//! A body the transport could not take as a JSON-RPC message is explained
//! from the body itself ([`super::body::diagnose`]): 400 with `-32700`,
//! `-32600` or `-32602` and what was wrong. Other plain-text answers are
//! recognised by their wording, pinned in
//! [`RMCP_TEXT`] against the rmcp release named there; the tests send each
//! malformed request to the transport itself and fail, naming that release,
//! when the wording changes.

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use serde_json::json;

use crate::reply::json_error;

/// What rmcp 3.11 writes for a body that is JSON but not one JSON-RPC
/// message, and for a body that is not JSON.
pub(crate) const RMCP_TEXT: Texts = Texts {
    release: "rmcp 3.11",
    not_a_message: "unrecognized JSON-RPC message",
    not_json: "fail to deserialize request body",
};

pub(crate) struct Texts {
    /// The release the texts were read from, named when a test finds them changed.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) release: &'static str,
    pub(crate) not_a_message: &'static str,
    pub(crate) not_json: &'static str,
}

/// The JSON-RPC error for a plain-text refusal: its code and message.
fn classify(status: StatusCode, text: &str) -> (i32, String) {
    if text.contains(RMCP_TEXT.not_a_message) {
        return (
            -32600,
            "Invalid request: expected one JSON-RPC request or notification (batches are not supported)".to_owned(),
        );
    }
    if text.starts_with(RMCP_TEXT.not_json) {
        return (-32700, "Parse error: the body is not valid JSON".to_owned());
    }
    if text.is_empty() {
        let reason = status.canonical_reason().unwrap_or("Bad request");
        return (-32600, reason.to_owned());
    }
    (-32600, text.to_owned())
}

/// `response`, with a plain-text error rewritten as JSON.
pub(crate) async fn jsonrpc_errors(response: Response, body: &[u8]) -> Response {
    let status = response.status();
    let plain = !response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/event-stream"));
    if plain && status == StatusCode::FORBIDDEN {
        // The transport's Host check: answer like the Origin check does.
        return json_error(status, "forbidden", "Host not allowed");
    }
    if !plain || !matches!(status.as_u16(), 400 | 406 | 413 | 415) {
        return response;
    }
    if matches!(status.as_u16(), 400 | 415)
        && let Some((id, code, message)) = super::body::diagnose(body)
    {
        // What is wrong with the message, said from the message itself.
        return super::body::jsonrpc_error(StatusCode::BAD_REQUEST, &id, code, &message);
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .unwrap_or_default();
    let (code, message) = classify(status, String::from_utf8_lossy(&text).trim());
    let body = json!({"jsonrpc": "2.0", "id": null, "error": {"code": code, "message": message}});
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, body.to_string().into())
}
