//! The request body, read once at the gate: within the size limit and the
//! stall timeout, and kept so a refusal by the transport can say exactly
//! what was wrong with it.

use std::{
    pin::Pin,
    task::{Context, Poll, Waker},
    time::Duration,
};

use axum::body::HttpBody as _;
use axum::{
    body::{Body, Bytes},
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use bytes::BytesMut;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tokio::time::{Instant, error::Elapsed};

/// The body the gate has read, in the request's extensions: what comes
/// after the gate reads it from there without polling the body again.
#[derive(Clone)]
pub(crate) struct Buffered(pub(crate) Bytes);

/// `request` with its body read into memory (also in its extensions, as
/// [`Buffered`]), and the bytes; `Err` is the answer when the body is too
/// large (413), or stalls for longer than `stall` between two chunks or
/// breaks off (408). Either way the connection is closed: the rest of the
/// body is unread.
pub(crate) async fn buffer(
    request: Request,
    max_bytes: usize,
    stall: Option<Duration>,
) -> Result<(Request, Bytes), Response> {
    let (mut parts, body) = request.into_parts();
    match read(body, max_bytes, stall).await {
        Ok(bytes) => {
            parts.extensions.insert(Buffered(bytes.clone()));
            Ok((Request::from_parts(parts, Body::from(bytes.clone())), bytes))
        }
        Err(NotRead::TooLarge) => Err(closing(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("Request body too large: the limit is {max_bytes} bytes"),
        )),
        Err(NotRead::Stalled(why)) => {
            tracing::info!(error = %why, "request body not received");
            Err(closing(
                StatusCode::REQUEST_TIMEOUT,
                "The request body was not received in time",
            ))
        }
    }
}

/// The next frame of `body`: taken at once when it has arrived (no timer),
/// otherwise awaited until `deadline` (computed only then; `None`: no
/// limit). `Err` when the deadline passed first.
async fn next_frame(
    mut body: Pin<&mut Body>,
    deadline: impl FnOnce() -> Option<Instant>,
) -> Result<Option<Result<hyper::body::Frame<Bytes>, axum::Error>>, Elapsed> {
    let ready = {
        let mut cx = Context::from_waker(Waker::noop());
        body.as_mut().poll_frame(&mut cx)
    };
    match ready {
        Poll::Ready(frame) => Ok(frame),
        Poll::Pending => match deadline() {
            Some(deadline) => tokio::time::timeout_at(deadline, body.frame()).await,
            None => Ok(body.frame().await),
        },
    }
}

/// Reads and drops `body`: whether all of it came, at most `limit` bytes
/// within `time`. A body that has already arrived takes no timer.
pub(crate) async fn drain(body: Body, limit: usize, time: Duration) -> bool {
    let mut body = std::pin::pin!(body);
    let mut length = 0usize;
    let deadline = Instant::now() + time;
    loop {
        match next_frame(body.as_mut(), || Some(deadline)).await {
            Ok(None) => return true,
            Err(_) | Ok(Some(Err(_))) => return false,
            Ok(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    length += data.len();
                    if length > limit {
                        return false;
                    }
                }
            }
        }
    }
}

/// Why a body was not read.
enum NotRead {
    TooLarge,
    /// It stalled, or broke off.
    Stalled(String),
}

/// The whole of `body`, at most `max_bytes` of it, each chunk within
/// `stall`. A body that came in one chunk (a small one usually has arrived
/// with the headers) is not copied, and a chunk already there is taken
/// without a timer.
async fn read(body: Body, max_bytes: usize, stall: Option<Duration>) -> Result<Bytes, NotRead> {
    let mut body = std::pin::pin!(body);
    let mut first: Option<Bytes> = None;
    let mut rest: Option<BytesMut> = None;
    let mut length = 0usize;
    loop {
        let frame = next_frame(body.as_mut(), || stall.map(|stall| Instant::now() + stall))
            .await
            .map_err(|_| NotRead::Stalled(format!("no data for {stall:?}")))?;
        let data = match frame {
            None => break,
            Some(Err(e)) => return Err(NotRead::Stalled(e.to_string())),
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_) => continue,
            },
        };
        length += data.len();
        if length > max_bytes {
            return Err(NotRead::TooLarge);
        }
        match (&first, &mut rest) {
            (None, _) => first = Some(data),
            (Some(first), None) => {
                let mut joined = BytesMut::with_capacity(length.max(2 * first.len()));
                joined.extend_from_slice(first);
                joined.extend_from_slice(&data);
                rest = Some(joined);
            }
            (Some(_), Some(joined)) => joined.extend_from_slice(&data),
        }
    }
    Ok(match (first, rest) {
        (_, Some(joined)) => joined.freeze(),
        (Some(first), None) => first,
        (None, None) => Bytes::new(),
    })
}

/// A JSON-RPC error with no id, with `Connection: close`.
fn closing(status: StatusCode, message: &str) -> Response {
    let mut r = jsonrpc_error(status, &Value::Null, -32600, message);
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// A JSON-RPC error response with HTTP `status`.
pub(crate) fn jsonrpc_error(status: StatusCode, id: &Value, code: i32, message: &str) -> Response {
    let body = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// What is wrong with a body the transport could not take as a JSON-RPC
/// message: the id to answer with (when one can be read), the JSON-RPC
/// error code and the message. `None` when the body looks like a message
/// (the transport refused it for another reason).
pub(crate) fn diagnose(body: &[u8]) -> Option<(Value, i32, String)> {
    let value: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(e) => {
            let why = format!("Parse error: the body is not valid JSON ({e})");
            return Some((Value::Null, -32700, why));
        }
    };
    let invalid = |why: &str| Some((Value::Null, -32600, format!("Invalid request: {why}")));
    if let Some(key) = repeated_member(body) {
        return invalid(&format!("`{key}` is given twice"));
    }
    let Value::Object(message) = value else {
        return match value {
            Value::Array(_) => invalid("batches are not supported; send one JSON-RPC message"),
            _ => invalid("expected a JSON-RPC request object"),
        };
    };
    if message.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid("`jsonrpc` must be \"2.0\"");
    }
    let id = message.get("id").cloned().unwrap_or(Value::Null);
    if !matches!(id, Value::Null | Value::String(_) | Value::Number(_)) {
        return invalid("`id` must be a string or a number");
    }
    match message.get("method") {
        Some(Value::String(method)) => match message.get("params") {
            Some(Value::Object(_)) | None => None,
            Some(_) => Some((
                id,
                -32602,
                format!("Invalid params for `{method}`: `params` must be an object"),
            )),
        },
        Some(_) => invalid("`method` must be a string"),
        None if message.contains_key("result") || message.contains_key("error") => None,
        None => invalid("a request needs a `method`"),
    }
}

/// A member the top-level object names twice (JSON parsers disagree on
/// which one wins, so such a message is refused rather than guessed at).
fn repeated_member(body: &[u8]) -> Option<String> {
    struct Repeated(Option<String>);
    impl<'de> serde::Deserialize<'de> for Repeated {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Visitor;
            impl<'de> serde::de::Visitor<'de> for Visitor {
                type Value = Repeated;
                fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    f.write_str("a JSON object")
                }
                fn visit_map<A: serde::de::MapAccess<'de>>(
                    self,
                    mut map: A,
                ) -> Result<Repeated, A::Error> {
                    // Read to the end: the parser refuses a map left half-read.
                    let (mut seen, mut repeated) = (std::collections::HashSet::new(), None);
                    while let Some(key) = map.next_key::<String>()? {
                        map.next_value::<serde::de::IgnoredAny>()?;
                        if !seen.insert(key.clone()) {
                            repeated.get_or_insert(key);
                        }
                    }
                    Ok(Repeated(repeated))
                }
            }
            d.deserialize_map(Visitor)
        }
    }
    serde_json::from_slice::<Repeated>(body).ok()?.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(body: &str) -> Option<(Value, i32)> {
        diagnose(body.as_bytes()).map(|(id, code, _)| (id, code))
    }

    #[test]
    fn each_shape_of_mistake_has_its_code() {
        assert_eq!(code("{not json").unwrap().1, -32700);
        assert_eq!(code(&"[".repeat(10_000)).unwrap().1, -32700);
        assert_eq!(
            code(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#)
                .unwrap()
                .1,
            -32600
        );
        assert_eq!(code("5").unwrap().1, -32600);
        assert_eq!(
            code(r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#)
                .unwrap()
                .1,
            -32600
        );
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#)
                .unwrap()
                .1,
            -32600
        );
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":1,"method":5}"#).unwrap().1,
            -32600
        );
        assert_eq!(
            code(r#"{"jsonrpc":"2.0","id":7,"method":"resources/read","params":5}"#),
            Some((json!(7), -32602))
        );
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#), None);
        let (_, dup_code, why) =
            diagnose(br#"{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call"}"#).unwrap();
        assert_eq!(
            (dup_code, why.as_str()),
            (-32600, "Invalid request: `method` is given twice")
        );
        assert_eq!(code(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#), None);
    }

    #[test]
    fn messages_name_the_mistake() {
        let (_, _, why) =
            diagnose(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":[1]}"#).unwrap();
        assert_eq!(
            why,
            "Invalid params for `tools/list`: `params` must be an object"
        );
    }
}
