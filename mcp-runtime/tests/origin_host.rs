//! Origin and Host, end to end through the HTTP app in process (`oneshot`):
//! which values reach the tool and what the others are answered, for a
//! server on loopback, one at an `https` base URL, and one with extra
//! origins and hosts from the builder.
//!
//! Browsers send an Origin serialised as `scheme://host[:port]`, lowercase,
//! without the default port; only that spelling of an allowed origin
//! matches. The Host check is the DNS-rebinding defence: a name that is not
//! the server's (or loopback, or configured) is refused, whatever the port.

use axum::{Router, body::Body};
use http::{Request, header};
use http_body_util::BodyExt;
use mcp_runtime::{AccessToken, McpServer, McpServerBuilder, auth::StaticTokenVerifier, tool};
use mcp_test_client::{Mcp, PROTOCOL_VERSION, Response};
use serde_json::json;
use tower::ServiceExt;

/// Who is calling.
#[tool(scope = "mcp:use")]
fn whoami() -> String {
    mcp_runtime::get_access_token()
        .map(|t| t.subject().to_owned())
        .unwrap_or_default()
}

const TOKEN: &str = "alice-token";

fn builder() -> McpServerBuilder {
    let verifier = StaticTokenVerifier::new().with_token(
        TOKEN,
        AccessToken::new(TOKEN, "alice").with_scopes(["mcp:use"]),
    );
    McpServer::builder().tool::<whoami>().auth(verifier)
}

/// At the default base URL, `http://127.0.0.1:3002/`.
fn loopback() -> Router {
    builder().build().unwrap().into_router()
}

/// At `https://mcp.example.com/`.
fn remote() -> Router {
    builder()
        .base_url("https://mcp.example.com/")
        .unwrap()
        .build()
        .unwrap()
        .into_router()
}

/// On loopback, with extra origins and hosts.
fn extra() -> Router {
    builder()
        // Written as no browser sends it: matched as the origin it names.
        .allow_origin("https://App.Example.com")
        .allow_origin("http://dev.example.com:*")
        .allow_origin("null")
        .allow_host("mcp.internal")
        .allow_host("api.example.com:8443")
        .build()
        .unwrap()
        .into_router()
}

/// A `tools/call` of `whoami` with the `Host` (none when `None`), `Origin`
/// and token given.
async fn call(app: Router, host: Option<&str>, origin: Option<&str>, token: bool) -> Response {
    let mut client = Mcp::new("/mcp").header("mcp-protocol-version", PROTOCOL_VERSION);
    if let Some(host) = host {
        client = client.header("host", host);
    }
    if let Some(origin) = origin {
        client = client.header("origin", origin);
    }
    let client = client.bearer(token.then_some(TOKEN));
    let message = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                         "params": {"name": "whoami", "arguments": {}}});
    send(app, client.http_request(&message)).await
}

async fn send(app: Router, req: Request<impl Into<Body>>) -> Response {
    let (parts, body) = app.oneshot(req.map(Into::into)).await.unwrap().into_parts();
    let text = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
    Response {
        status: parts.status.as_u16(),
        headers: parts.headers,
        text,
        request_id: None,
    }
}

/// What a request is answered.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Answer {
    /// It reached the tool.
    Served,
    /// 403, `Origin not allowed`.
    OriginRefused,
    /// 403, `Host not allowed`.
    HostRefused,
    /// 400: a Host with userinfo.
    HostUserinfo,
    /// 400: not a Host at all.
    HostInvalid,
}

fn assert_answer(res: &Response, want: Answer, case: &str) {
    let error =
        |error: &str, description: &str| json!({"error": error, "error_description": description});
    let (status, body) = match want {
        Answer::Served => {
            assert_eq!(res.status, 200, "{case}: {res:#?}");
            let result = &res.json()["result"];
            assert_eq!(result["content"][0]["text"], "alice", "{case}: {result}");
            return;
        }
        Answer::OriginRefused => (403, error("forbidden", "Origin not allowed")),
        Answer::HostRefused => (403, error("forbidden", "Host not allowed")),
        Answer::HostUserinfo => (
            400,
            error("invalid_request", "Send a Host header without userinfo"),
        ),
        Answer::HostInvalid => (400, error("invalid_request", "Send a valid Host header")),
    };
    assert_eq!(res.status, status, "{case}: {res:#?}");
    assert_eq!(res.header("content-type"), "application/json", "{case}");
    assert_eq!(res.json(), body, "{case}");
}

/// Sends each Origin (with the token, on `host`) and checks the answer and
/// the CORS header: the origin echoed when it is allowed, absent otherwise.
/// A refused Origin is refused before the token is looked at.
async fn check_origins(app: fn() -> Router, host: &str, cases: &[(&str, Answer)]) {
    for &(origin, want) in cases {
        let res = call(app(), Some(host), Some(origin), true).await;
        assert_answer(&res, want, origin);
        if want == Answer::Served {
            assert_eq!(res.header("access-control-allow-origin"), origin);
            // Without a token: the 401, readable by that origin.
            let res = call(app(), Some(host), Some(origin), false).await;
            assert_eq!(res.status, 401, "{origin}: {res:#?}");
            assert_eq!(res.header("access-control-allow-origin"), origin);
        } else {
            assert!(!res.has_header("access-control-allow-origin"), "{origin}");
            let res = call(app(), Some(host), Some(origin), false).await;
            assert_answer(&res, want, &format!("{origin} without a token"));
        }
    }
}

#[tokio::test]
async fn origins_of_a_loopback_server() {
    use Answer::*;
    check_origins(
        loopback,
        "127.0.0.1:3002",
        &[
            ("http://127.0.0.1:3002", Served),
            // Loopback is allowed on any port (a local web app on another
            // port, the MCP Inspector), and under each of its names.
            ("http://127.0.0.1:4000", Served),
            ("http://localhost:3002", Served),
            ("http://localhost", Served),
            ("http://[::1]:3002", Served),
            // Another scheme is another origin.
            ("https://127.0.0.1:3002", OriginRefused),
            ("https://localhost:3002", OriginRefused),
            // Names that only start like loopback.
            ("http://localhost.evil.com", OriginRefused),
            ("http://localhost.evil.com:3002", OriginRefused),
            ("http://127.0.0.1.evil.com", OriginRefused),
            ("http://localhost.:3002", OriginRefused),
            // Userinfo: no browser sends it, and it never matches.
            ("http://user@localhost:3002", OriginRefused),
            ("http://evil.com@127.0.0.1:3002", OriginRefused),
            // A sandboxed or opaque origin, unless configured.
            ("null", OriginRefused),
            // IPv4 spelled as IPv6, and the unspecified address, are not
            // loopback names.
            ("http://[::ffff:127.0.0.1]:3002", OriginRefused),
            ("http://[::ffff:7f00:1]:3002", OriginRefused),
            ("http://0.0.0.0:3002", OriginRefused),
            // Not serialised as a browser would: uppercase, a path, a
            // zero-padded port.
            ("HTTP://LOCALHOST:3002", OriginRefused),
            ("http://LocalHost:3002", OriginRefused),
            ("http://localhost:3002/", OriginRefused),
            ("http://localhost:03002", OriginRefused),
        ],
    )
    .await;
}

#[tokio::test]
async fn origins_of_a_server_at_an_https_base_url() {
    use Answer::*;
    check_origins(
        remote,
        "mcp.example.com",
        &[
            ("https://mcp.example.com", Served),
            // Loopback origins are allowed here too (documented on
            // `allow_origin`): a page on the user's own machine.
            ("http://localhost:5173", Served),
            // The default port written out is not how a browser sends it.
            ("https://mcp.example.com:443", OriginRefused),
            ("https://mcp.example.com:8443", OriginRefused),
            ("http://mcp.example.com", OriginRefused),
            ("https://MCP.example.com", OriginRefused),
            ("https://evil.mcp.example.com", OriginRefused),
            ("https://mcp.example.com.evil.com", OriginRefused),
            ("https://mcp.example.com/", OriginRefused),
            ("null", OriginRefused),
        ],
    )
    .await;
}

#[tokio::test]
async fn allowed_origins_from_the_builder() {
    use Answer::*;
    check_origins(
        extra,
        "127.0.0.1:3002",
        &[
            // `allow_origin("https://App.Example.com")`: the origin it names.
            ("https://app.example.com", Served),
            // `allow_origin("http://dev.example.com:*")`: any port, the
            // default one included.
            ("http://dev.example.com:1234", Served),
            ("http://dev.example.com", Served),
            // `allow_origin("null")`, compared as written.
            ("null", Served),
            // The defaults still apply.
            ("http://127.0.0.1:3002", Served),
            ("http://localhost:5173", Served),
            // Near misses.
            ("https://App.Example.com", OriginRefused),
            ("https://app.example.com:8443", OriginRefused),
            ("https://app.example.com:443", OriginRefused),
            ("http://app.example.com", OriginRefused),
            ("https://app.example.com.evil.com", OriginRefused),
            ("https://evil-app.example.com", OriginRefused),
            ("https://dev.example.com:1234", OriginRefused),
            ("http://dev.example.com.evil.com:1234", OriginRefused),
            ("NULL", OriginRefused),
        ],
    )
    .await;

    // A CORS preflight is answered for the allowed origin only.
    let preflight = |origin: &str| {
        Request::options("/mcp")
            .header(header::HOST, "127.0.0.1:3002")
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(
                header::ACCESS_CONTROL_REQUEST_HEADERS,
                "authorization, content-type",
            )
            .body(Body::empty())
            .unwrap()
    };
    let res = send(extra(), preflight("https://app.example.com")).await;
    assert_eq!(res.status, 200, "{res:#?}");
    assert_eq!(
        res.header("access-control-allow-origin"),
        "https://app.example.com"
    );
    let res = send(extra(), preflight("https://app.example.com.evil.com")).await;
    assert!(!res.has_header("access-control-allow-origin"), "{res:#?}");
}

/// Sends each Host (with the token, no Origin) and checks the answer.
async fn check_hosts(app: fn() -> Router, cases: &[(&str, Answer)]) {
    for &(host, want) in cases {
        let res = call(app(), Some(host), None, true).await;
        assert_answer(&res, want, &format!("Host: {host}"));
    }
}

#[tokio::test]
async fn hosts_of_a_loopback_server() {
    use Answer::*;
    check_hosts(
        loopback,
        &[
            ("127.0.0.1:3002", Served),
            ("localhost:3002", Served),
            // Loopback names on any port, in any case (host names are
            // case-insensitive), IPv6 with or without a port.
            ("localhost:9999", Served),
            ("localhost", Served),
            ("LOCALHOST:3002", Served),
            ("LocalHost:3002", Served),
            ("[::1]:3002", Served),
            ("[::1]", Served),
            // Foreign names: what a DNS-rebinding page's requests carry.
            ("localhost.evil.com", HostRefused),
            ("localhost.evil.com:3002", HostRefused),
            ("127.0.0.1.evil.com", HostRefused),
            ("evil.com:3002", HostRefused),
            ("mcp.example.com", HostRefused),
            ("localhost.", HostRefused),
            // Loopback addresses not in the list, however they route.
            ("[::ffff:127.0.0.1]:3002", HostRefused),
            ("0.0.0.0:3002", HostRefused),
            ("127.1:3002", HostRefused),
            ("2130706433:3002", HostRefused),
            // Userinfo is not part of a Host: refused, not read as the name
            // after the `@`.
            ("user@localhost:3002", HostUserinfo),
            ("evil.com@localhost:3002", HostUserinfo),
            ("evil.com@127.0.0.1", HostUserinfo),
            // Not a Host.
            ("::1", HostInvalid),
            ("localhost:3002:1", HostInvalid),
            ("", HostInvalid),
        ],
    )
    .await;

    // No Host at all (possible in process; HTTP/1.1 requires one).
    let res = call(loopback(), None, None, true).await;
    assert_eq!(res.status, 400, "{res:#?}");
    assert_eq!(
        res.json(),
        json!({"error": "invalid_request", "error_description": "Send a Host header"})
    );
}

#[tokio::test]
async fn hosts_of_a_server_at_an_https_base_url() {
    use Answer::*;
    check_hosts(
        remote,
        &[
            ("mcp.example.com", Served),
            ("mcp.example.com:443", Served),
            ("MCP.EXAMPLE.COM", Served),
            // Loopback stays allowed (a proxy on the same machine).
            ("localhost:3002", Served),
            ("mcp.example.com.evil.com", HostRefused),
            ("evil.mcp.example.com", HostRefused),
            ("example.com", HostRefused),
            ("user@mcp.example.com", HostUserinfo),
        ],
    )
    .await;
}

#[tokio::test]
async fn allowed_hosts_from_the_builder() {
    use Answer::*;
    check_hosts(
        extra,
        &[
            // `allow_host("mcp.internal")`: any port, any case.
            ("mcp.internal", Served),
            ("mcp.internal:8080", Served),
            ("MCP.INTERNAL", Served),
            // `allow_host("api.example.com:8443")`: that port only.
            ("api.example.com:8443", Served),
            ("api.example.com", HostRefused),
            ("api.example.com:443", HostRefused),
            // The defaults still apply; nothing else is let in.
            ("127.0.0.1:3002", Served),
            ("mcp.internal.evil.com", HostRefused),
            ("internal", HostRefused),
            ("evil.com", HostRefused),
            ("evil.com@mcp.internal", HostUserinfo),
        ],
    )
    .await;
}

#[tokio::test]
async fn which_check_answers_first() {
    // A foreign Origin is refused before the Host is looked at.
    let res = call(
        loopback(),
        Some("evil.com:3002"),
        Some("http://evil.com:3002"),
        true,
    )
    .await;
    assert_answer(&res, Answer::OriginRefused, "foreign Origin and Host");
    // A Host with userinfo is refused before the Origin and the token.
    let res = call(
        loopback(),
        Some("evil.com@localhost:3002"),
        Some("http://evil.com"),
        false,
    )
    .await;
    assert_answer(&res, Answer::HostUserinfo, "userinfo Host, foreign Origin");
    // The Host is checked before the token is looked at: a foreign Host
    // gets the 403 whether or not the request carries a token, and no
    // challenge.
    for token in [false, true] {
        let res = call(loopback(), Some("evil.com:3002"), None, token).await;
        assert_answer(
            &res,
            Answer::HostRefused,
            &format!("foreign Host, token {token}"),
        );
        assert!(!res.has_header("www-authenticate"), "{res:#?}");
    }
}
