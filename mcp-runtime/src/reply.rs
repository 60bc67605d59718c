//! The two kinds of JSON the server writes outside MCP itself: OAuth-style
//! error bodies and static documents (metadata, key sets).

use axum::{
    body::Bytes,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{MethodRouter, get},
};

/// `{"error": …, "error_description": …}` with `status` (RFC 6750 §3).
pub(crate) fn json_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json_error_body(error, description),
    )
        .into_response()
}

/// The body of [`json_error`].
pub(crate) fn json_error_body(error: &str, description: &str) -> String {
    serde_json::json!({ "error": error, "error_description": description }).to_string()
}

/// A JSON document, serialised once and served as shared bytes.
#[derive(Clone)]
pub(crate) struct Document {
    body: Bytes,
    cache_control: Option<&'static str>,
}

impl Document {
    /// `body` with no caching headers.
    pub(crate) fn new(body: impl Into<Bytes>) -> Self {
        Self {
            body: body.into(),
            cache_control: None,
        }
    }

    /// `body`, cacheable by anyone for an hour.
    pub(crate) fn public(body: impl Into<Bytes>) -> Self {
        Self {
            body: body.into(),
            cache_control: Some("public, max-age=3600"),
        }
    }

    /// The document as a response.
    pub(crate) fn response(&self) -> Response {
        let mut response = (
            [(header::CONTENT_TYPE, "application/json")],
            self.body.clone(),
        )
            .into_response();
        if let Some(c) = self.cache_control {
            response
                .headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static(c));
        }
        response
    }

    /// A `GET` route answering with this document.
    pub(crate) fn route<S: Clone + Send + Sync + 'static>(self) -> MethodRouter<S> {
        get(move || {
            let doc = self.clone();
            async move { doc.response() }
        })
    }
}
