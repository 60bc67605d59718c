//! The Host allow-list, the DNS-rebinding defence: a page on a foreign
//! name that a resolver points at this server still sends its own name as
//! `Host`, and is refused. Every route of the app is checked against it
//! (by [`super::SitePolicy`]); the transport checks `/mcp` against the same
//! list again.

use axum::{
    extract::Request,
    http::{StatusCode, header, uri::Authority},
    response::Response,
};
use url::Url;

use crate::reply::json_error;

/// The `Host` values accepted: loopback names, the base URL's host and
/// those configured. An entry without a port matches any port; host names
/// compare without case and IPv6 addresses without brackets.
#[derive(Debug)]
pub(crate) struct Hosts {
    /// As given to the transport, each once.
    list: Vec<String>,
    /// The same entries, parsed: host and port.
    parsed: Vec<(String, Option<u16>)>,
    /// The base URL's authority (`host:port`, the port always written).
    base: String,
}

impl Hosts {
    pub(crate) fn new(base_url: &Url, configured: &[String]) -> Self {
        let mut list: Vec<String> = Vec::new();
        let candidates = ["localhost", "127.0.0.1", "::1"]
            .into_iter()
            .map(str::to_owned)
            .chain(base_url.host_str().map(|h| bare(h).to_owned()))
            .chain(configured.iter().cloned());
        for host in candidates {
            if !list.contains(&host) {
                list.push(host);
            }
        }
        let parsed = list.iter().map(|entry| parse_entry(entry)).collect();
        let base = match (base_url.host_str(), base_url.port_or_known_default()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            _ => String::new(),
        };
        Self { list, parsed, base }
    }

    /// The entries, as written (the transport's own check reads them). It
    /// clones this list on every request: keep it short.
    pub(crate) fn list(&self) -> &[String] {
        &self.list
    }

    /// Whether `host` (a `Host` header's value) names this server.
    fn allows(&self, host: &str) -> Option<bool> {
        // What most clients send: the base URL's own authority.
        if !self.base.is_empty() && host.eq_ignore_ascii_case(&self.base) {
            return Some(true);
        }
        let authority = Authority::try_from(host).ok()?;
        let name = bare(authority.host());
        let port = authority.port_u16();
        Some(self.parsed.iter().any(|(allowed, allowed_port)| {
            allowed.eq_ignore_ascii_case(name) && allowed_port.is_none_or(|p| Some(p) == port)
        }))
    }

    /// The refusal of a request whose `Host` (or, without one, the request
    /// target's authority) is missing (400), not a host (400) or not one of
    /// the allowed (403). A Host with userinfo is refused before this, by
    /// [`super::headers::host_refusal`].
    pub(crate) fn refusal(&self, request: &Request) -> Option<Response> {
        let host = match request.headers().get(header::HOST) {
            Some(value) => value.to_str().ok(),
            None => match request.uri().authority() {
                Some(authority) => Some(authority.as_str()),
                None => return Some(invalid("Send a Host header")),
            },
        };
        match host.and_then(|h| self.allows(h)) {
            Some(true) => None,
            Some(false) => {
                tracing::info!(host = ?host, "request refused: Host not allowed");
                Some(json_error(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    "Host not allowed",
                ))
            }
            None => Some(invalid("Send a valid Host header")),
        }
    }
}

/// A host without IPv6 brackets.
fn bare(host: &str) -> &str {
    host.trim_start_matches('[').trim_end_matches(']')
}

/// An allow-list entry: `host` or `host:port`; anything that is not an
/// authority is taken whole as a host name.
fn parse_entry(entry: &str) -> (String, Option<u16>) {
    let entry = entry.trim();
    match Authority::try_from(entry) {
        Ok(a) => (bare(a.host()).to_ascii_lowercase(), a.port_u16()),
        Err(_) => (bare(entry).to_ascii_lowercase(), None),
    }
}

fn invalid(description: &str) -> Response {
    tracing::info!("request refused: {description}");
    json_error(StatusCode::BAD_REQUEST, "invalid_request", description)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;

    fn hosts(base: &str, configured: &[&str]) -> Hosts {
        let configured: Vec<String> = configured.iter().map(|s| (*s).to_owned()).collect();
        Hosts::new(&Url::parse(base).unwrap(), &configured)
    }

    #[test]
    fn hosts_are_listed_once() {
        let h = hosts("http://[::1]:3002/", &["localhost", "mcp.example.com"]);
        assert_eq!(
            h.list(),
            ["localhost", "127.0.0.1", "::1", "mcp.example.com"]
        );
    }

    #[test]
    fn names_match_without_case_and_ports_only_when_given() {
        let h = hosts(
            "https://mcp.example.com/",
            &["api.example.com:8443", "[::2]"],
        );
        for ok in [
            "mcp.example.com",
            "MCP.Example.com:443",
            "localhost:9",
            "[::1]",
            "[::1]:3002",
            "api.example.com:8443",
            "[::2]:80",
        ] {
            assert_eq!(h.allows(ok), Some(true), "{ok}");
        }
        for foreign in [
            "evil.example",
            "mcp.example.com.evil.com",
            "api.example.com",
            "api.example.com:443",
            "localhost.",
            "0.0.0.0",
        ] {
            assert_eq!(h.allows(foreign), Some(false), "{foreign}");
        }
        for invalid in ["", "::1", "localhost:3002:1", "a b"] {
            assert_eq!(h.allows(invalid), None, "{invalid:?}");
        }
    }

    #[tokio::test]
    async fn refusals_name_what_is_wrong() {
        let h = hosts("http://127.0.0.1:3002/", &[]);
        let request = |host: Option<&str>, uri: &str| {
            let mut r = Request::get(uri);
            if let Some(host) = host {
                r = r.header("host", host);
            }
            r.body(Body::empty()).unwrap()
        };
        assert!(h.refusal(&request(Some("localhost:3002"), "/")).is_none());
        assert!(h.refusal(&request(None, "http://127.0.0.1:1/x")).is_none());
        for (req, status, description) in [
            (request(Some("evil.example"), "/"), 403, "Host not allowed"),
            (
                request(None, "http://evil.example/x"),
                403,
                "Host not allowed",
            ),
            (request(None, "/"), 400, "Send a Host header"),
            (request(Some("a:b:c"), "/"), 400, "Send a valid Host header"),
        ] {
            let r = h.refusal(&req).expect(description);
            assert_eq!(r.status(), status, "{description}");
            let body = axum::body::to_bytes(r.into_body(), 1024).await.unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["error_description"], description);
        }
    }
}
