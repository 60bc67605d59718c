//! Who may call from a browser: the Origin allow-list (DNS-rebinding
//! protection, a MUST of the transport spec) and the CORS it answers with.

use std::{sync::Arc, time::Duration};

use axum::{
    extract::Request,
    http::{HeaderName, Method, StatusCode, header},
    response::Response,
};
use tower_http::cors::{AllowOrigin, CorsLayer};
use url::Url;

use crate::reply::json_error;

/// One entry of the Origin allow-list, parsed once at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
enum AllowedOrigin {
    /// `scheme://host[:port]`; `port: None` (from `:*`) matches any port.
    Url {
        scheme: String,
        host: String,
        port: Option<u16>,
    },
    /// Anything else (e.g. `null`), compared as written.
    Exact(String),
}

impl AllowedOrigin {
    fn parse(entry: &str) -> Self {
        let (base, any_port) = match entry.strip_suffix(":*") {
            Some(b) => (b, true),
            None => (entry, false),
        };
        match Url::parse(base) {
            Ok(u) if u.host_str().is_some() => AllowedOrigin::Url {
                scheme: u.scheme().to_owned(),
                host: u.host_str().unwrap_or_default().to_owned(),
                port: if any_port {
                    None
                } else {
                    u.port_or_known_default()
                },
            },
            _ => AllowedOrigin::Exact(entry.to_owned()),
        }
    }
}

/// The origins allowed to call `/mcp`: the base URL's own, loopback on any
/// port, and those configured.
#[derive(Debug)]
pub(crate) struct Origins(Vec<AllowedOrigin>);

impl Origins {
    pub(crate) fn new(base_url: &Url, configured: &[String]) -> Self {
        let own = base_url.origin().ascii_serialization();
        let entries = [
            own.as_str(),
            "http://localhost:*",
            "http://127.0.0.1:*",
            "http://[::1]:*",
        ]
        .into_iter()
        .chain(configured.iter().map(String::as_str))
        .map(AllowedOrigin::parse)
        .collect();
        Self(entries)
    }

    /// Whether `origin` matches an entry. Only an origin written as a
    /// browser writes it (`scheme://host[:port]`, serialised exactly) can
    /// match a URL entry: userinfo, a path, or another spelling of the host
    /// (`http://2130706433`) never does.
    fn allows(&self, origin: &str) -> bool {
        let parsed = Url::parse(origin)
            .ok()
            .filter(|u| u.origin().ascii_serialization() == origin);
        let target = parsed
            .as_ref()
            .and_then(|u| Some((u.scheme(), u.host_str()?, u.port_or_known_default()?)));
        self.0.iter().any(|entry| match (entry, target) {
            (AllowedOrigin::Exact(e), _) => e == origin,
            (AllowedOrigin::Url { scheme, host, port }, Some((s, h, p))) => {
                scheme == s && host == h && port.is_none_or(|port| port == p)
            }
            (AllowedOrigin::Url { .. }, None) => false,
        })
    }

    /// Whether `request` may pass: it carries no Origin (it is not from a
    /// browser), or an allowed one.
    pub(crate) fn admits(&self, request: &Request) -> bool {
        request
            .headers()
            .get(header::ORIGIN)
            .is_none_or(|origin| origin.to_str().is_ok_and(|o| self.allows(o)))
    }

    /// The refusal (403) of a request that [`admits`](Self::admits) does not.
    pub(crate) fn refusal(&self, request: &Request) -> Response {
        let origin = request.headers().get(header::ORIGIN);
        tracing::info!(origin = ?origin, "request refused: origin not allowed");
        json_error(StatusCode::FORBIDDEN, "forbidden", "Origin not allowed")
    }

    /// CORS for `/mcp`: allowed origins only, the MCP headers exposed.
    pub(crate) fn cors(self: &Arc<Self>) -> CorsLayer {
        let origins = self.clone();
        CorsLayer::new()
            .allow_origin(AllowOrigin::predicate(move |origin, _| {
                origin.to_str().is_ok_and(|o| origins.allows(o))
            }))
            .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                HeaderName::from_static("last-event-id"),
                HeaderName::from_static("mcp-protocol-version"),
                HeaderName::from_static("mcp-session-id"),
                HeaderName::from_static("mcp-method"),
                HeaderName::from_static("mcp-name"),
            ])
            .expose_headers([
                header::WWW_AUTHENTICATE,
                HeaderName::from_static("mcp-session-id"),
                HeaderName::from_static("mcp-protocol-version"),
            ])
            .max_age(Duration::from_secs(3600))
    }
}

/// CORS for the public documents: any origin, `GET` only.
pub(crate) fn public_cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::any())
        .allow_methods([Method::GET, Method::OPTIONS])
        .allow_headers([
            header::CONTENT_TYPE,
            HeaderName::from_static("mcp-protocol-version"),
        ])
        .max_age(Duration::from_secs(3600))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins(configured: &[&str]) -> Origins {
        let configured: Vec<String> = configured.iter().map(|s| (*s).to_owned()).collect();
        Origins::new(
            &Url::parse("https://mcp.example.com/").unwrap(),
            &configured,
        )
    }

    #[test]
    fn own_loopback_and_configured_origins_are_allowed() {
        let o = origins(&["https://app.example.com", "null"]);
        for ok in [
            "https://mcp.example.com",
            "http://localhost:5173",
            "http://[::1]:1",
            "null",
        ] {
            assert!(o.allows(ok), "{ok}");
        }
        for bad in [
            "http://user@localhost:5173",
            "http://evil.com@127.0.0.1:80",
            "https://mcp.example.com/",
            "https://mcp.example.com/path?q",
            "http://2130706433:3002",
            "http://0x7f.1:3002",
            "https://app.example.com:443",
            "https://evil.example.com",
            "http://mcp.example.com",
            "https://app.example.com:8443",
            "not a url",
        ] {
            assert!(!o.allows(bad), "{bad}");
        }
    }
}
