//! Headers that must not be ambiguous: a request carrying two of any of
//! them is refused with 400 rather than resolved by picking one, because
//! two parts of the stack (here and the transport, or a proxy in front)
//! could pick differently. So is a `Host` with userinfo, for the same reason.

use axum::{
    extract::Request,
    http::{HeaderName, StatusCode, header},
    response::Response,
};

use crate::reply::json_error;

static SINGLE: [HeaderName; 4] = [
    header::AUTHORIZATION,
    header::ORIGIN,
    header::HOST,
    HeaderName::from_static("mcp-protocol-version"),
];

/// The 400 for a request that repeats one of the headers above.
pub(crate) fn refusal(request: &Request) -> Option<Response> {
    let headers = request.headers();
    let repeated = SINGLE
        .iter()
        .find(|name| headers.get_all(*name).iter().nth(1).is_some())?;
    tracing::info!(header = %repeated, "request refused: header sent twice");
    Some(json_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        &format!("Send one {} header", canonical(repeated)),
    ))
}

/// The 400 for a request whose `Host` (or, without one, the request
/// target's authority) carries userinfo: `evil.com@localhost` is no valid
/// Host (RFC 9110 §7.2), and the transport's Host check would read it as
/// `localhost` where a proxy in front could read another name.
pub(crate) fn host_refusal(request: &Request) -> Option<Response> {
    let with_userinfo = match request.headers().get(header::HOST) {
        Some(host) => host.as_bytes().contains(&b'@'),
        None => request
            .uri()
            .authority()
            .is_some_and(|a| a.as_str().contains('@')),
    };
    if !with_userinfo {
        return None;
    }
    tracing::info!("request refused: Host with userinfo");
    Some(json_error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        "Send a Host header without userinfo",
    ))
}

fn canonical(name: &HeaderName) -> &'static str {
    match name.as_str() {
        "authorization" => "Authorization",
        "origin" => "Origin",
        "host" => "Host",
        _ => "Mcp-Protocol-Version",
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;

    #[tokio::test]
    async fn a_host_with_userinfo_is_refused() {
        let host = |value: &str| {
            Request::post("/mcp")
                .header("host", value)
                .body(Body::empty())
                .unwrap()
        };
        for ok in ["localhost:3002", "[::1]:3002", "mcp.example.com"] {
            assert!(host_refusal(&host(ok)).is_none(), "{ok}");
        }
        let in_target = Request::post("http://evil.com@localhost:3002/mcp")
            .body(Body::empty())
            .unwrap();
        for refused in [
            host("user@localhost:3002"),
            host("evil.com@127.0.0.1"),
            host("@localhost"),
            in_target,
        ] {
            let r = host_refusal(&refused).expect("refused");
            assert_eq!(r.status(), StatusCode::BAD_REQUEST);
            let body = axum::body::to_bytes(r.into_body(), 1024).await.unwrap();
            assert_eq!(
                &body[..],
                br#"{"error":"invalid_request","error_description":"Send a Host header without userinfo"}"#
            );
        }
    }

    #[tokio::test]
    async fn a_repeated_header_is_refused_by_name() {
        let one = Request::post("/mcp")
            .header("origin", "http://localhost")
            .header("authorization", "Bearer a")
            .body(Body::empty())
            .unwrap();
        assert!(refusal(&one).is_none());
        for (name, shown) in [
            ("authorization", "Authorization"),
            ("origin", "Origin"),
            ("host", "Host"),
            ("mcp-protocol-version", "Mcp-Protocol-Version"),
        ] {
            let two = Request::post("/mcp")
                .header(name, "a")
                .header(name, "b")
                .body(Body::empty())
                .unwrap();
            let r = refusal(&two).expect(name);
            assert_eq!(r.status(), StatusCode::BAD_REQUEST);
            let body = axum::body::to_bytes(r.into_body(), 1024).await.unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["error"], "invalid_request");
            assert_eq!(
                body["error_description"],
                format!("Send one {shown} header")
            );
        }
    }
}
