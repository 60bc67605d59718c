//! A small MCP client for the workspace's tests: JSON-RPC over plain HTTP/1.1
//! (`http://` only), every response read whole, whether it came as
//! `application/json` or as a `text/event-stream`.
//!
//! Three levels, each built on the next:
//!
//! - [`Mcp`]: an endpoint plus the headers every request carries (bearer
//!   token, `mcp-protocol-version`, `origin`…); [`Mcp::post`] sends any
//!   JSON-RPC message, [`Mcp::initialize`], [`Mcp::list_tools`] and
//!   [`Mcp::call_tool`] the usual ones.
//! - [`request`] and [`get`]: one HTTP request on a new connection.
//! - [`Connection`]: a raw socket for connection-level tests: write any bytes,
//!   read one response at a time (keep-alive), see whether the server closed.
//!
//! A [`Response`] gives the status, the headers, the body, the JSON-RPC reply
//! ([`Response::message`]), every message of an event stream
//! ([`Response::messages`]) and the `WWW-Authenticate` challenge
//! ([`Response::challenge`]).
//!
//! This is test code: failures (no connection, nothing within [`TIMEOUT`],
//! malformed HTTP, a body that is not JSON) panic with what was received.
//! Needs a Tokio runtime with I/O and time enabled.
//!
//! ```no_run
//! # async fn example() {
//! use mcp_test_client::{Mcp, PROTOCOL_VERSION};
//! use serde_json::json;
//!
//! let anonymous = Mcp::new("http://127.0.0.1:3000/mcp")
//!     .header("mcp-protocol-version", PROTOCOL_VERSION);
//! let res = anonymous.list_tools().await;
//! assert_eq!(res.status, 401);
//! assert_eq!(res.challenge().param("error"), None);
//!
//! let alice = anonymous.bearer(Some("alice's token"));
//! let res = alice.call_tool("whoami", json!({})).await;
//! assert_eq!(res.status, 200, "{res:#?}");
//! assert_eq!(res.message()["result"]["isError"], false);
//! # }
//! ```

use std::{collections::BTreeMap, net::SocketAddr, time::Duration};

use http::{
    HeaderMap, HeaderName, HeaderValue, Uri,
    header::{ACCEPT, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING, WWW_AUTHENTICATE},
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpStream, ToSocketAddrs},
    time::timeout,
};

/// The protocol revision [`Mcp::initialize`] announces (and the value to send
/// as `mcp-protocol-version`).
pub const PROTOCOL_VERSION: &str = "2025-06-18";

/// How long connecting, or waiting for the next bytes of a response, may take
/// before the test fails (generous: test machines are shared and busy).
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// A JSON-RPC request with `id` 1.
pub fn rpc(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
}

/// An MCP endpoint as one client sees it: its URL and the extra headers sent
/// with every request.
#[derive(Debug, Clone)]
pub struct Mcp {
    url: String,
    headers: Vec<(String, String)>,
}

impl Mcp {
    /// A client of the endpoint at `url` (`http://host:port/path`, perhaps
    /// with a query), sending no extra headers.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            headers: Vec::new(),
        }
    }

    /// Also sends `Authorization: Bearer <token>`; `None` changes nothing.
    pub fn bearer(self, token: Option<&str>) -> Self {
        match token {
            Some(token) => self.header("authorization", format!("Bearer {token}")),
            None => self,
        }
    }

    /// Also sends the header `name: value` (`mcp-protocol-version`,
    /// `mcp-method`, `mcp-name`, `origin`, `host`…).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// POSTs one JSON-RPC message, accepting JSON or an event stream; the
    /// response's [`request_id`](Response::request_id) is the message's `id`.
    pub async fn post(&self, message: &Value) -> Response {
        let req = self.http_request(message);
        let headers: Vec<_> = (req.headers().iter())
            .map(|(n, v)| (n.as_str(), v.to_str().expect("ASCII header values")))
            .collect();
        let mut res = request("POST", &self.url, &headers, Some(req.body())).await;
        res.request_id = message.get("id").cloned();
        res
    }

    /// The request [`Mcp::post`] sends, for in-process tests
    /// (`router.oneshot(req.map(Body::from))`; the URL may then be a path).
    pub fn http_request(&self, message: &Value) -> http::Request<String> {
        let mut req = http::Request::post(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json, text/event-stream");
        for (name, value) in &self.headers {
            req = req.header(name, value);
        }
        req.body(message.to_string())
            .expect("a valid URL and headers")
    }

    /// `initialize`, announcing [`PROTOCOL_VERSION`] and no capabilities.
    pub async fn initialize(&self) -> Response {
        let params = json!({
            "protocolVersion": PROTOCOL_VERSION,
            "capabilities": {},
            "clientInfo": {"name": "mcp-test-client", "version": env!("CARGO_PKG_VERSION")},
        });
        self.post(&rpc("initialize", params)).await
    }

    /// `tools/list`.
    pub async fn list_tools(&self) -> Response {
        self.post(&rpc("tools/list", json!({}))).await
    }

    /// `tools/call` of the tool `name` with `arguments` (a JSON object).
    pub async fn call_tool(&self, name: &str, arguments: Value) -> Response {
        let params = json!({"name": name, "arguments": arguments});
        self.post(&rpc("tools/call", params)).await
    }
}

/// Sends one request to `url` on a new connection (`Connection: close`) and
/// reads the response. `Host` is the URL's unless `headers` has one;
/// `Content-Length` is added when there is a body.
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Response {
    let uri: Uri = url.parse().unwrap_or_else(|e| panic!("bad URL {url}: {e}"));
    assert_eq!(uri.scheme_str(), Some("http"), "only http:// URLs: {url}");
    let authority = uri.authority().expect("a host in the URL");
    let addr = format!(
        "{}:{}",
        authority.host(),
        authority.port_u16().unwrap_or(80)
    );
    let target = uri.path_and_query().map_or("/", |p| p.as_str());
    let mut all = vec![("connection", "close")];
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        all.push(("host", authority.as_str()));
    }
    all.extend_from_slice(headers);
    let mut conn = Connection::open(addr.as_str()).await;
    conn.request(method, target, &all, body).await
}

/// `GET url` with `headers` (see [`request`]).
pub async fn get(url: &str, headers: &[(&str, &str)]) -> Response {
    request("GET", url, headers, None).await
}

/// An HTTP response, read whole.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers.
    pub headers: HeaderMap,
    /// The body, without chunked framing (invalid UTF-8 replaced).
    pub text: String,
    /// The `id` of the JSON-RPC request this answers, when [`Mcp::post`] sent
    /// it: [`Response::message`] picks the reply with that `id`.
    pub request_id: Option<Value>,
}

impl Response {
    /// The value of the header `name` (case-insensitive); panics when it is
    /// absent or not ASCII.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {self:#?}"))
            .to_str()
            .unwrap_or_else(|_| panic!("{name} is not ASCII in {self:#?}"))
    }

    /// Whether the response has the header `name`.
    pub fn has_header(&self, name: &str) -> bool {
        self.headers.contains_key(name)
    }

    /// The body as JSON; for an event stream, the JSON-RPC reply in it
    /// ([`Response::message`]).
    pub fn json(&self) -> Value {
        if self.is_event_stream() {
            return self.message();
        }
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}) in {self:#?}"))
    }

    /// Every JSON-RPC message, in order: the elements of a JSON array body,
    /// the body itself when it is other JSON, or the `data` of each non-empty
    /// event of an event stream (replies, notifications and server requests).
    pub fn messages(&self) -> Vec<Value> {
        if !self.is_event_stream() {
            return match self.json() {
                Value::Array(batch) => batch,
                message => vec![message],
            };
        }
        let (mut events, mut data) = (Vec::new(), Vec::new());
        for line in self.text.lines().chain([""]) {
            if let Some(value) = line.strip_prefix("data:") {
                data.push(value.strip_prefix(' ').unwrap_or(value));
            } else if line.is_empty() && !data.is_empty() {
                events.push(data.join("\n"));
                data.clear();
            }
        }
        events
            .iter()
            .filter(|event| !event.trim().is_empty())
            .map(|event| {
                serde_json::from_str(event)
                    .unwrap_or_else(|e| panic!("event {event:?} is not JSON ({e}) in {self:#?}"))
            })
            .collect()
    }

    /// The notifications among [`Response::messages`] (a `method`, no `id`).
    pub fn notifications(&self) -> Vec<Value> {
        let mut messages = self.messages();
        messages.retain(|m| m.get("method").is_some() && m.get("id").is_none());
        messages
    }

    /// The JSON-RPC reply: the first message with a `result` or an `error` and
    /// (when known) the [`request_id`](Response::request_id); panics if none.
    pub fn message(&self) -> Value {
        self.messages()
            .into_iter()
            .find(|m| {
                (m.get("result").is_some() || m.get("error").is_some())
                    && self
                        .request_id
                        .as_ref()
                        .is_none_or(|id| m.get("id") == Some(id))
            })
            .unwrap_or_else(|| panic!("no JSON-RPC reply in {self:#?}"))
    }

    /// The `WWW-Authenticate` challenge, parsed; panics when there is none.
    pub fn challenge(&self) -> Challenge {
        Challenge::parse(self.header(WWW_AUTHENTICATE.as_str()))
    }

    /// The body and every header as one text, for "the token is never
    /// echoed" checks.
    pub fn everything(&self) -> String {
        let mut all = self.text.clone();
        for (name, value) in &self.headers {
            all.push_str(&format!(
                "\n{name}: {}",
                String::from_utf8_lossy(value.as_bytes())
            ));
        }
        all
    }

    fn is_event_stream(&self) -> bool {
        self.headers
            .get(CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"))
    }
}

/// One `WWW-Authenticate` challenge: `Bearer error="invalid_token", scope="a b"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The auth scheme, as sent (`Bearer`).
    pub scheme: String,
    /// The auth-params: names lower-cased, quoted values unescaped.
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    /// Parses a header value holding one challenge.
    pub fn parse(header: &str) -> Self {
        let header = header.trim();
        let (scheme, mut rest) = header.split_once(' ').unwrap_or((header, ""));
        let mut params = BTreeMap::new();
        while let Some((name, after)) = rest.trim_start_matches([' ', ',']).split_once('=') {
            let (value, after) = match after.trim_start().strip_prefix('"') {
                Some(quoted) => {
                    let (mut value, mut chars) = (String::new(), quoted.chars());
                    while let Some(c) = chars.next() {
                        match c {
                            '\\' => value.extend(chars.next()),
                            '"' => break,
                            c => value.push(c),
                        }
                    }
                    (value, chars.as_str())
                }
                None => {
                    let (value, after) = after.split_once(',').unwrap_or((after, ""));
                    (value.trim().to_owned(), after)
                }
            };
            params.insert(name.trim().to_ascii_lowercase(), value);
            rest = after;
        }
        Self {
            scheme: scheme.to_owned(),
            params,
        }
    }

    /// The value of the auth-param `name` (case-insensitive).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }
}

/// A raw HTTP/1.1 connection for connection-level tests: write any bytes,
/// read the responses one at a time (the connection stays open between
/// them), and see whether the server closed it.
///
/// ```no_run
/// # async fn example(addr: std::net::SocketAddr) {
/// use std::time::Duration;
///
/// let mut conn = mcp_test_client::Connection::open(addr).await;
/// conn.send("POST /mcp HTTP/1.1\r\nhost: localhost\r\ncontent-length: 2\r\n\r\n").await;
/// conn.send("{}").await;
/// assert_eq!(conn.response().await.status, 401);
/// // The same connection, reused.
/// assert_eq!(conn.request("GET", "/health", &[], None).await.status, 200);
/// assert!(!conn.is_closed(Duration::from_millis(100)).await);
/// # }
/// ```
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    /// Bytes received and not yet part of a returned response.
    buf: Vec<u8>,
}

impl Connection {
    /// Connects to `addr`.
    pub async fn open(addr: impl ToSocketAddrs) -> Self {
        let stream = timeout(TIMEOUT, TcpStream::connect(addr))
            .await
            .unwrap_or_else(|_| panic!("no connection within {TIMEOUT:?}"))
            .unwrap_or_else(|e| panic!("connect: {e}"));
        let peer = stream.peer_addr().expect("the server's address");
        Self {
            stream,
            peer,
            buf: Vec::new(),
        }
    }

    /// Writes `bytes` as they are: a request, part of one, or garbage.
    pub async fn send(&mut self, bytes: impl AsRef<[u8]>) {
        self.stream
            .write_all(bytes.as_ref())
            .await
            .unwrap_or_else(|e| panic!("write to {}: {e}", self.peer));
    }

    /// Sends one request for `target` (a path and query) and reads its
    /// response. `Host` is the server's address unless `headers` has one;
    /// `Content-Length` is added when there is a body.
    pub async fn request(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Response {
        let mut req = format!("{method} {target} HTTP/1.1\r\n");
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
            req += &format!("host: {}\r\n", self.peer);
        }
        for (name, value) in headers {
            req += &format!("{name}: {value}\r\n");
        }
        if let Some(body) = body {
            req += &format!("content-length: {}\r\n\r\n{body}", body.len());
        } else {
            req += "\r\n";
        }
        self.send(req).await;
        self.response().await
    }

    /// Reads one response: the head, then a `Content-Length` or chunked body,
    /// or (with neither) everything until the server closes. Panics when the
    /// connection closes first: see [`Connection::is_closed`].
    pub async fn response(&mut self) -> Response {
        let head = self.until(b"\r\n\r\n").await;
        let head = String::from_utf8_lossy(&head);
        let mut lines = head.split("\r\n");
        let status = lines.next().and_then(|l| l.split(' ').nth(1)?.parse().ok());
        let status = status.unwrap_or_else(|| panic!("bad response head {head:?}"));
        let mut headers = HeaderMap::new();
        for line in lines {
            let header = line.split_once(':').and_then(|(name, value)| {
                let name = HeaderName::from_bytes(name.trim().as_bytes()).ok()?;
                Some((name, HeaderValue::from_bytes(value.trim().as_bytes()).ok()?))
            });
            let (name, value) = header.unwrap_or_else(|| panic!("bad header {line:?}"));
            headers.append(name, value);
        }
        let value = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let chunked = value(TRANSFER_ENCODING).is_some_and(|v| v.ends_with("chunked"));
        let body = if matches!(status, 100..=199 | 204 | 304) {
            Vec::new()
        } else if chunked {
            self.chunked_body().await
        } else if let Some(length) = value(CONTENT_LENGTH) {
            self.take(length.parse().expect("a numeric content-length"))
                .await
        } else {
            while self.fill().await {}
            std::mem::take(&mut self.buf)
        };
        Response {
            status,
            headers,
            text: String::from_utf8_lossy(&body).into_owned(),
            request_id: None,
        }
    }

    /// Whether the server closes the connection (end of stream or reset)
    /// within `within`. Bytes arriving meanwhile mean it is open; they are
    /// kept for the next response.
    pub async fn is_closed(&mut self, within: Duration) -> bool {
        let mut chunk = [0; 8192];
        match timeout(within, self.stream.read(&mut chunk)).await {
            Err(_) => false,
            Ok(Ok(0) | Err(_)) => true,
            Ok(Ok(n)) => {
                self.buf.extend_from_slice(&chunk[..n]);
                false
            }
        }
    }

    /// Reads more bytes into the buffer; false at the end of the stream.
    async fn fill(&mut self) -> bool {
        let mut chunk = [0; 8192];
        let read = timeout(TIMEOUT, self.stream.read(&mut chunk)).await;
        let read = read.unwrap_or_else(|_| panic!("{} sent nothing in {TIMEOUT:?}", self.peer));
        let n = read.unwrap_or(0);
        self.buf.extend_from_slice(&chunk[..n]);
        n > 0
    }

    /// The next `n` bytes.
    async fn take(&mut self, n: usize) -> Vec<u8> {
        while self.buf.len() < n {
            self.more().await;
        }
        self.buf.drain(..n).collect()
    }

    /// The bytes up to `delimiter`, which is consumed too.
    async fn until(&mut self, delimiter: &[u8]) -> Vec<u8> {
        loop {
            let found = self
                .buf
                .windows(delimiter.len())
                .position(|w| w == delimiter);
            if let Some(end) = found {
                let mut bytes = self.take(end + delimiter.len()).await;
                bytes.truncate(end);
                return bytes;
            }
            self.more().await;
        }
    }

    /// Reads more bytes, which must come.
    async fn more(&mut self) {
        let partial = String::from_utf8_lossy(&self.buf).into_owned();
        assert!(
            self.fill().await,
            "{} closed the connection after {partial:?}",
            self.peer
        );
    }

    /// A chunked body, decoded (trailers are skipped).
    async fn chunked_body(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        loop {
            let line = String::from_utf8_lossy(&self.until(b"\r\n").await).into_owned();
            let size = line.split(';').next().map(str::trim);
            let size = size.and_then(|s| usize::from_str_radix(s, 16).ok());
            match size.unwrap_or_else(|| panic!("bad chunk size {line:?}")) {
                0 => {
                    while !self.until(b"\r\n").await.is_empty() {}
                    return body;
                }
                size => body.extend(self.take(size).await),
            }
            assert!(
                self.until(b"\r\n").await.is_empty(),
                "no CRLF after a chunk"
            );
        }
    }
}
