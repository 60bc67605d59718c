//! Serving an [`McpServer`] on a real socket and talking to it over HTTP (with the shared
//! `mcp-test-client`), for the OAuth tests.
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
//! Needs mcp-test-client, tokio, reqwest, serde_json and base64.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use mcp_runtime::McpServer;
use mcp_test_client::Mcp;
use serde_json::Value;
use tokio::net::TcpListener;

/// Timeout of one request with [`client`] (generous: the machine is shared).
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

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

/// An HTTP response, read whole (status, headers, `text`, `json()`, `everything()`…).
pub use mcp_test_client::Response as Resp;
#[allow(unused_imports)] // not every test file uses every helper
pub use mcp_test_client::{PROTOCOL_VERSION, get, rpc};

/// A reqwest client for requests that are not MCP (JWKS, the test AS).
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(HTTP_TIMEOUT)
        .build()
        .expect("reqwest client")
}

/// An MCP client of `url` announcing [`PROTOCOL_VERSION`]; `token` goes in
/// `Authorization: Bearer`.
pub fn mcp(url: &str, token: Option<&str>) -> Mcp {
    Mcp::new(url)
        .bearer(token)
        .header("mcp-protocol-version", PROTOCOL_VERSION)
}

/// POSTs a JSON-RPC message to `url` (the MCP endpoint, perhaps with a query), as an MCP
/// client does; `token` goes in `Authorization: Bearer`.
pub async fn post_mcp(url: &str, token: Option<&str>, body: &Value) -> Resp {
    mcp(url, token).post(body).await
}

/// `tools/call` of `name` with `arguments`.
pub async fn call_tool(endpoint: &str, token: Option<&str>, name: &str, arguments: Value) -> Resp {
    mcp(endpoint, token).call_tool(name, arguments).await
}

/// `tools/call` that must succeed at the HTTP and JSON-RPC levels: its `result`.
pub async fn call_ok(endpoint: &str, token: &str, name: &str, arguments: Value) -> Value {
    let res = call_tool(endpoint, Some(token), name, arguments).await;
    assert_eq!(res.status, 200, "tools/call {name}: {res:#?}");
    let v = res.json();
    assert!(v["result"].is_object(), "tools/call {name}: {v}");
    v["result"].clone()
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
