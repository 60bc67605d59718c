//! Serving an [`McpServer`] on a real socket and talking to it over HTTP, for the OAuth tests.
//!
//! ```ignore
//! #[path = "support/mcp.rs"]
//! mod mcp;
//!
//! let listener = mcp::Listener::bind().await;           // 127.0.0.1:0; the port is known now
//! let server = McpServer::builder().base_url(&listener.base).unwrap() /* … */ .build().unwrap();
//! let served = listener.serve(server);                  // stops when dropped
//! let res = mcp::call_tool(&served.endpoint, Some(&token), "whoami", json!({})).await;
//! ```
//!
//! Needs tokio, reqwest, serde_json and base64.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use mcp_runtime::McpServer;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// Timeout of one request to the server under test (generous: the machine is shared).
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The protocol revision the requests announce.
pub const PROTOCOL_VERSION: &str = "2025-06-18";

/// A bound, not yet serving, listener on `127.0.0.1:0`.
pub struct Listener {
    listener: TcpListener,
    pub port: u16,
    /// `http://127.0.0.1:{port}/` (the server's `MCP_URL`).
    pub base: String,
    /// `{base}mcp`.
    pub endpoint: String,
}

impl Listener {
    pub async fn bind() -> Listener {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let port = listener.local_addr().expect("local addr").port();
        let base = format!("http://127.0.0.1:{port}/");
        Listener {
            listener,
            port,
            endpoint: format!("{base}mcp"),
            base,
        }
    }

    /// `{origin}/.well-known/oauth-protected-resource/mcp`, as the challenges name it.
    pub fn resource_metadata(&self) -> String {
        format!(
            "http://127.0.0.1:{}/.well-known/oauth-protected-resource/mcp",
            self.port
        )
    }

    /// Serves `server` in a task until the returned [`Served`] is dropped.
    pub fn serve(self, server: McpServer) -> Served {
        assert_eq!(
            server.endpoint().as_str(),
            self.endpoint,
            "build the server with .base_url(&listener.base)"
        );
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.await;
            };
            if let Err(e) = server.serve_on(self.listener, shutdown).await {
                panic!("serve_on failed: {e}");
            }
        });
        Served {
            port: self.port,
            resource_metadata: format!(
                "http://127.0.0.1:{}/.well-known/oauth-protected-resource/mcp",
                self.port
            ),
            base: self.base,
            endpoint: self.endpoint,
            stop: Some(tx),
            task: Some(task),
        }
    }
}

/// A server serving in a task; stopped when dropped.
pub struct Served {
    pub port: u16,
    pub base: String,
    pub endpoint: String,
    pub resource_metadata: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Served {
    /// `{base}{path}` (`path` without a leading slash).
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path.trim_start_matches('/'))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// An HTTP response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub text: String,
}

impl Resp {
    /// A header's value (panics when absent or not ASCII).
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header in {self:#?}"))
            .to_str()
            .expect("ASCII header")
    }

    pub fn has_header(&self, name: &str) -> bool {
        self.headers.contains_key(name)
    }

    /// The body as JSON, or the JSON-RPC message of a one-event SSE stream.
    pub fn json(&self) -> Value {
        if let Ok(v) = serde_json::from_str(&self.text) {
            return v;
        }
        let data: String = self
            .text
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .collect();
        serde_json::from_str(&data)
            .unwrap_or_else(|_| panic!("no JSON in {} {:?}", self.status, self.text))
    }

    /// Every header value and the body, for "the token is never echoed" checks.
    pub fn everything(&self) -> String {
        let mut s = self.text.clone();
        for (k, v) in &self.headers {
            s.push('\n');
            s.push_str(k.as_str());
            s.push_str(": ");
            s.push_str(&String::from_utf8_lossy(v.as_bytes()));
        }
        s
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(HTTP_TIMEOUT)
        .build()
        .expect("reqwest client")
}

async fn read(res: reqwest::Response) -> Resp {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.expect("response body");
    Resp {
        status,
        headers,
        text,
    }
}

/// A JSON-RPC request.
pub fn rpc(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
}

/// POSTs a JSON-RPC message to `url` (the MCP endpoint, perhaps with a query), as an MCP
/// client does; `token` goes in `Authorization: Bearer`.
pub async fn post_mcp(url: &str, token: Option<&str>, body: &Value) -> Resp {
    let mut req = client()
        .post(url)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", PROTOCOL_VERSION)
        .body(body.to_string());
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    read(
        req.send()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: {e}")),
    )
    .await
}

/// `tools/call` of `name` with `arguments`.
pub async fn call_tool(endpoint: &str, token: Option<&str>, name: &str, arguments: Value) -> Resp {
    post_mcp(
        endpoint,
        token,
        &rpc("tools/call", json!({"name": name, "arguments": arguments})),
    )
    .await
}

/// `tools/call` that must succeed at the HTTP and JSON-RPC levels: its `result`.
pub async fn call_ok(endpoint: &str, token: &str, name: &str, arguments: Value) -> Value {
    let res = call_tool(endpoint, Some(token), name, arguments).await;
    assert_eq!(res.status, 200, "tools/call {name}: {res:#?}");
    let v = res.json();
    assert!(v["result"].is_object(), "tools/call {name}: {v}");
    v["result"].clone()
}

/// GET with extra headers.
pub async fn get(url: &str, headers: &[(&str, &str)]) -> Resp {
    let mut req = client().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    read(
        req.send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}")),
    )
    .await
}

pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

pub fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact JWS from any header, payload and signature bytes (not signed by anyone).
pub fn forge(header: &Value, payload: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64url(header.to_string().as_bytes()),
        b64url(payload.to_string().as_bytes()),
        b64url(signature)
    )
}

/// A directory under the OS temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!(
            "{prefix}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
