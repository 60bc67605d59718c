//! Log messages from a tool to its caller (`notifications/message`), at the
//! level the caller asked for.
//!
//! From protocol 2026-07-28 on, a request asks with
//! `io.modelcontextprotocol/logLevel` in its `_meta` (SEP-2575), and a
//! request that does not ask gets no log message at all. The messages go
//! on the request's own response stream, before its result.
//!
//! Before 2026-07-28, a client set a level for its session with
//! `logging/setLevel`. Over stdio there is a session and the level set is
//! kept for the rest of it; nothing is sent before one is set. Over HTTP
//! the transport is stateless: a level set in one request cannot apply to
//! the next, so requests of those revisions cannot ask and get nothing (a
//! `logLevel` in their `_meta` is honoured, though).

use rmcp::{ErrorData, RoleServer, model::ProtocolVersion, service::RequestContext};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `_meta` key of the per-request level.
const META_KEY: &str = "io.modelcontextprotocol/logLevel";

/// The level of a log message, lowest first (the syslog severities of
/// RFC 5424, as MCP names them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Detailed debugging information.
    Debug,
    /// General information.
    Info,
    /// Normal but significant events.
    Notice,
    /// Warning conditions.
    Warning,
    /// Error conditions.
    Error,
    /// Critical conditions.
    Critical,
    /// Action must be taken immediately.
    Alert,
    /// The system is unusable.
    Emergency,
}

impl LogLevel {
    #[allow(deprecated)] // logging is deprecated by SEP-2577; clients still use it
    pub(crate) fn to_rmcp(self) -> rmcp::model::LoggingLevel {
        use rmcp::model::LoggingLevel as L;
        match self {
            LogLevel::Debug => L::Debug,
            LogLevel::Info => L::Info,
            LogLevel::Notice => L::Notice,
            LogLevel::Warning => L::Warning,
            LogLevel::Error => L::Error,
            LogLevel::Critical => L::Critical,
            LogLevel::Alert => L::Alert,
            LogLevel::Emergency => L::Emergency,
        }
    }

    #[allow(deprecated)] // logging is deprecated by SEP-2577; clients still use it
    pub(crate) fn from_rmcp(level: rmcp::model::LoggingLevel) -> Self {
        use rmcp::model::LoggingLevel as L;
        match level {
            L::Debug => LogLevel::Debug,
            L::Info => LogLevel::Info,
            L::Notice => LogLevel::Notice,
            L::Warning => LogLevel::Warning,
            L::Error => LogLevel::Error,
            L::Critical => LogLevel::Critical,
            L::Alert => LogLevel::Alert,
            L::Emergency => LogLevel::Emergency,
        }
    }
}

/// The lowest level a request's caller gets messages at (`None`: no
/// message at all), as the handler works it out; kept in the request's
/// extensions for its `ToolContext`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Threshold(pub(crate) Option<LogLevel>);

/// The threshold of the request in `context`: its `_meta` level when it
/// has one (an unknown level is `-32602`); otherwise none from 2026-07-28
/// on, and `legacy` (the level a session set, if any) before.
pub(crate) fn threshold(
    context: &RequestContext<RoleServer>,
    legacy: Option<LogLevel>,
) -> Result<Threshold, ErrorData> {
    if let Some(value) = context.meta.get(META_KEY) {
        return match serde_json::from_value::<LogLevel>(value.clone()) {
            Ok(level) => Ok(Threshold(Some(level))),
            Err(_) => Err(ErrorData::invalid_params(
                format!(
                    "`{META_KEY}` must be one of debug, info, notice, warning, error, critical, alert, emergency; got {}",
                    shorten(value)
                ),
                None,
            )),
        };
    }
    let per_request = context
        .protocol_version()
        .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str());
    Ok(Threshold(if per_request { None } else { legacy }))
}

/// `value` as JSON, cut to a length fit for an error message.
fn shorten(value: &Value) -> String {
    let mut text = value.to_string();
    if text.len() > 40 {
        let mut end = 40;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// `data` with every occurrence of `secret` in its strings (keys included)
/// replaced: a tool that logs its caller's token by mistake does not send
/// it back over the wire.
pub(crate) fn redact(data: Value, secret: &str) -> Value {
    const REDACTED: &str = "[redacted]";
    if secret.len() < 8 {
        // Too short to be a token; replacing it would mangle ordinary text.
        return data;
    }
    match data {
        Value::String(s) if s.contains(secret) => Value::String(s.replace(secret, REDACTED)),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| redact(v, secret)).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k.replace(secret, REDACTED), redact(v, secret)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn levels_order_by_severity_and_read_as_mcp_names_them() {
        assert!(LogLevel::Debug < LogLevel::Info);
        assert!(LogLevel::Warning < LogLevel::Error);
        assert!(LogLevel::Alert < LogLevel::Emergency);
        let level: LogLevel = serde_json::from_value(json!("warning")).unwrap();
        assert_eq!(level, LogLevel::Warning);
        assert!(serde_json::from_value::<LogLevel>(json!("verbose")).is_err());
        for level in [LogLevel::Debug, LogLevel::Notice, LogLevel::Emergency] {
            assert_eq!(LogLevel::from_rmcp(level.to_rmcp()), level);
        }
    }

    #[test]
    fn the_token_is_redacted_everywhere() {
        let token = "eyJhbGciOi.secret.part";
        let data = json!({
            "message": format!("calling with {token}"),
            "nested": [token, 3, {token: "key"}],
        });
        let out = redact(data, token).to_string();
        assert!(!out.contains(token), "{out}");
        assert!(out.contains("calling with [redacted]"), "{out}");
    }
}
