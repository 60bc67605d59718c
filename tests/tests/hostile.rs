//! Hostile input against the running `demo-server` binary, in its own process, protected by the
//! real test authorization server (oidc-provider, `support/oidc.rs`).
//!
//! Two demo processes are shared by every test here: one plain, one in step-up mode
//! (`MCP_STEP_UP=true`), both with small limits (`MCP_MAX_BODY_BYTES=65536`,
//! `MCP_HEADER_TIMEOUT=1`, `MCP_BODY_TIMEOUT=1`), plus two authorization servers (the demo's
//! issuer, and another one whose key the demo does not trust). They are started by the first
//! test that needs them and killed (on `Drop`) when the last test holding them ends; a watchdog
//! also kills a demo if this process dies without dropping it.
//!
//! Every request here is bounded in time; every response is checked never to be a 5xx; every test
//! ends by checking that both demos still answer `/health` and a normal authorized `tools/call`.
//!
//! The demo binary is built with `cargo build -p demo-server` (same profile and environment, so
//! the same target directory, `CARGO_TARGET_DIR` or not) and located from cargo's own report;
//! `DEMO_SERVER_BIN` names a binary to use instead.
//!
//! Tests named `wrong_params_…` check the JSON-RPC answer to wrong-shaped `params` (`-32602`).

#[path = "support/demo.rs"]
mod demo;
#[path = "support/oidc.rs"]
mod oidc;

use std::{
    fs,
    future::Future,
    io::ErrorKind,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc, LazyLock, Mutex, Weak,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use mcp_test_client::{Challenge, Connection, Mcp, Response, rpc};
use oidc::{AsOptions, DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, TestAs};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Limits and constants

/// `MCP_MAX_BODY_BYTES` of both demos.
const MAX_BODY: usize = 65_536;
/// How long one request (connect, write, read the whole response) may take.
const REQUEST_TIME: Duration = Duration::from_secs(20);
/// How long one test may take (not counting the start of the shared processes).
const TEST_TIME: Duration = Duration::from_secs(120);
/// How soon a connection the server must cut off (header or body timeout of 1 s) is closed.
const CUT_OFF: Duration = Duration::from_secs(6);
/// How long a demo may take to start on a busy machine.
const STARTUP: Duration = Duration::from_secs(60);

/// The scopes every challenge but step-up's names: the demo's read-only
/// scopes, what a client should ask for first.
const SCOPES: &str = "finance:read hr:read system:read todo:read";

/// The step-up refusal of a `todo:write` tool.
const NEEDS_WRITE: &str = "Insufficient permissions: `todo:write` scope required.";

// ---------------------------------------------------------------------------------------------
// The shared environment

/// One runtime for every test, so that the shared processes' clients (reqwest in `TestAs`)
/// always run on the runtime they were made on.
static RT: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a Tokio runtime")
});

/// The shared environment, alive while some test holds it.
static SHARED: LazyLock<tokio::sync::Mutex<Weak<Env>>> =
    LazyLock::new(|| tokio::sync::Mutex::new(Weak::new()));

/// The authorization servers and the two demos.
struct Env {
    /// The demos' issuer.
    as_: TestAs,
    /// Another issuer, with another key, that the demos do not trust.
    other_as: TestAs,
    plain: Demo,
    step_up: Demo,
    /// Dropped last: the demos' databases and logs.
    _scratch: Scratch,
}

impl Env {
    /// The shared environment, started if no test holds it.
    async fn get() -> Arc<Env> {
        let mut slot = SHARED.lock().await;
        if let Some(env) = slot.upgrade() {
            return env;
        }
        let env = Arc::new(Env::start().await);
        *slot = Arc::downgrade(&env);
        env
    }

    async fn start() -> Env {
        let started = Instant::now();
        let bin = tokio::task::spawn_blocking(demo::binary)
            .await
            .expect("building demo-server");
        // Tokens live an hour: longer than any run of this file.
        let options = AsOptions {
            token_ttl: Some(3600),
            ..AsOptions::default()
        };
        let (as_, other_as) = tokio::join!(
            TestAs::start(options.clone()),
            TestAs::start(options.clone())
        );
        let scratch = Scratch::new();
        let start = |name: &'static str, step_up: bool| {
            let (bin, dir) = (bin.clone(), scratch.0.clone());
            let (issuer, jwks) = (as_.issuer.clone(), as_.jwks_uri.clone());
            tokio::task::spawn_blocking(move || {
                Demo::start(&bin, &dir, name, &issuer, &jwks, step_up)
            })
        };
        let (plain, step_up) = tokio::join!(start("plain", false), start("step-up", true));
        let (mut plain, mut step_up) = (plain.expect("plain demo"), step_up.expect("step-up demo"));
        plain.read_token = token_for(&as_, &plain, "todo:read").await;
        step_up.read_token = token_for(&as_, &step_up, "todo:read").await;
        eprintln!(
            "[hostile] started 2 authorization servers and 2 demos (:{}, step-up :{}) in {:?}",
            plain.port,
            step_up.port,
            started.elapsed()
        );
        Env {
            as_,
            other_as,
            plain,
            step_up,
            _scratch: scratch,
        }
    }

    /// Claims the demo accepts (issuer, its audience, an hour of life, `todo:read`) for
    /// `subject`, with `changes` applied (`null` removes a claim).
    fn claims(&self, demo: &Demo, subject: &str, changes: Value) -> Value {
        let now = unix_now();
        let mut c = json!({
            "iss": self.as_.issuer,
            "aud": demo.endpoint(),
            "sub": subject,
            "client_id": "hostile-client",
            "scope": "todo:read",
            "iat": now,
            "exp": now + 3600,
            "jti": format!("jti-{subject}-{now}"),
        });
        for (k, v) in changes.as_object().expect("changes object") {
            if v.is_null() {
                c.as_object_mut().expect("object").remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    }

    /// A token of the demos' issuer for `subject` with `scope`, valid for `demo`.
    async fn signed(&self, demo: &Demo, subject: &str, scope: &str) -> String {
        let claims = self.claims(demo, subject, json!({ "scope": scope }));
        self.as_.sign(json!({}), claims).await
    }
}

/// A `client_credentials` token from `as_` for `demo` (its endpoint is the resource).
async fn token_for(as_: &TestAs, demo: &Demo, scope: &str) -> String {
    as_.client_credentials_for(
        DEFAULT_CLIENT_ID,
        DEFAULT_CLIENT_SECRET,
        scope,
        &demo.endpoint(),
    )
    .await
}

/// Runs one hostile test: the shared environment, `test` within [`TEST_TIME`], then the health
/// check of both demos.
fn hostile<F, Fut>(name: &str, test: F)
where
    F: FnOnce(Arc<Env>) -> Fut,
    Fut: Future<Output = ()>,
{
    RT.block_on(async {
        let env = Env::get().await;
        let started = Instant::now();
        within(TEST_TIME, name, test(env.clone())).await;
        assert_healthy(&env).await;
        eprintln!("[hostile] {name}: {:?}", started.elapsed());
    });
}

/// `future`, or a panic naming `what` after `limit`.
async fn within<T>(limit: Duration, what: &str, future: impl Future<Output = T>) -> T {
    tokio::time::timeout(limit, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer within {limit:?}"))
}

/// Both demos: still running, `/health` answers 200, and a `todo:read` token lists todo items.
async fn assert_healthy(env: &Env) {
    for demo in [&env.plain, &env.step_up] {
        demo.assert_running();
        let res = send(demo, "GET", "/health", &[], None).await;
        assert_eq!(res.status, 200, "{} /health: {res:#?}", demo.name);
        assert_eq!(res.json(), json!({"status": "ok"}), "{} /health", demo.name);
        let res = call(demo, &demo.read_token, "list_todos", json!({})).await;
        assert_eq!(res.status, 200, "{} list_todos: {res:#?}", demo.name);
        let result = &res.message()["result"];
        assert_eq!(
            result["isError"], false,
            "{} list_todos: {result}",
            demo.name
        );
        assert!(
            result["structuredContent"]["todos"].is_array(),
            "{}: {result}",
            demo.name
        );
    }
}

// ---------------------------------------------------------------------------------------------
// One demo process

struct Demo {
    name: &'static str,
    port: u16,
    child: Mutex<Option<Child>>,
    /// Kills the demo when this process dies without dropping it (its stdin closes).
    watchdog: Option<Child>,
    stdout: PathBuf,
    stderr: PathBuf,
    /// A `client_credentials` token with `todo:read`, for the health check.
    read_token: String,
}

impl Demo {
    /// Starts the demo on a free port, configured for the issuer, and waits until it listens.
    fn start(
        bin: &Path,
        dir: &Path,
        name: &'static str,
        issuer: &str,
        jwks_uri: &str,
        step_up: bool,
    ) -> Demo {
        // The port must be known before start (it is in MCP_URL and the audience): take a free
        // one, and take another if someone else binds it first.
        let mut last = String::new();
        for attempt in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let base = format!("http://127.0.0.1:{port}/");
            let stdout = dir.join(format!("{name}-{attempt}.out"));
            let stderr = dir.join(format!("{name}-{attempt}.log"));
            let mut cmd = Command::new(bin);
            demo::clear_env(&mut cmd);
            cmd.env("NO_COLOR", "1")
                .env("RUST_LOG", "info,rmcp=warn")
                .env("MCP_URL", &base)
                .env("MCP_AUTH_ISSUER", issuer)
                .env("MCP_AUTH_AUDIENCE", format!("{base}mcp"))
                .env("MCP_AUTH_JWKS_URI", jwks_uri)
                .env("MCP_STEP_UP", if step_up { "true" } else { "false" })
                .env("MCP_MAX_BODY_BYTES", MAX_BODY.to_string())
                .env("MCP_HEADER_TIMEOUT", "1")
                .env("MCP_BODY_TIMEOUT", "1")
                .env("DEMO_DB", dir.join(format!("{name}.sqlite3")))
                .arg("--port")
                .arg(port.to_string())
                .stdin(Stdio::null())
                .stdout(fs::File::create(&stdout).expect("stdout file"))
                .stderr(fs::File::create(&stderr).expect("stderr file"));
            let child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
            let watchdog = watchdog(child.id());
            let mut demo = Demo {
                name,
                port,
                child: Mutex::new(Some(child)),
                watchdog,
                stdout,
                stderr,
                read_token: String::new(),
            };
            match demo.wait_listening() {
                Ok(()) => return demo,
                Err(why) if why.contains("in use") => {
                    last = why;
                    demo.kill();
                }
                Err(why) => panic!("demo-server {name} did not start: {why}"),
            }
        }
        panic!("demo-server {name} found no free port: {last}")
    }

    fn wait_listening(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + STARTUP;
        loop {
            let out = fs::read_to_string(&self.stdout).unwrap_or_default();
            if out.contains(" listening on ") {
                return Ok(());
            }
            let exited = self
                .child
                .get_mut()
                .expect("lock")
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            if let Some(status) = exited {
                return Err(format!(
                    "exited ({status}) before listening\nstdout:\n{out}\nstderr:\n{}",
                    self.log()
                ));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "not listening within {STARTUP:?}\nstdout:\n{out}\nstderr:\n{}",
                    self.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Panics (with the log) if the process has exited.
    fn assert_running(&self) {
        let mut child = self.child.lock().unwrap_or_else(|e| e.into_inner());
        let child = child.as_mut().expect("the demo is running");
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "demo-server {} exited ({status}); its log:\n{}",
                self.name,
                self.log()
            );
        }
    }

    fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn resource_metadata(&self) -> String {
        format!(
            "http://127.0.0.1:{}/.well-known/oauth-protected-resource/mcp",
            self.port
        )
    }

    /// What the demo logged (stderr).
    fn log(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    fn kill(&mut self) {
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        let child = self.child.get_mut().unwrap_or_else(|e| e.into_inner());
        if let Some(mut child) = child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A shell that kills `pid` once its stdin (held by the returned child, so by this process)
/// closes: the demo does not outlive a test process that dies without dropping it.
#[cfg(unix)]
fn watchdog(pid: u32) -> Option<Child> {
    Command::new("sh")
        .arg("-c")
        .arg(r#"read _ ; kill -9 "$1" 2>/dev/null"#)
        .arg("watchdog")
        .arg(pid.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()
}

#[cfg(not(unix))]
fn watchdog(_pid: u32) -> Option<Child> {
    None
}

/// A directory under the temp dir, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> Scratch {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!(
            "hostile-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// A subject no other case uses.
fn subject(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!("{prefix}-{}", N.fetch_add(1, Ordering::Relaxed))
}

// ---------------------------------------------------------------------------------------------
// Requests

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// Panics on a 5xx, with the demo's log.
fn assert_no_5xx(status: u16, what: &dyn std::fmt::Debug, demo: &Demo) {
    assert!(
        status < 500,
        "{}: a 5xx for hostile input: {what:#?}\ndemo log:\n{}",
        demo.name,
        demo.log()
    );
}

/// One request on a new connection (`Connection: close`), bounded in time; never a 5xx.
async fn send(
    demo: &Demo,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Response {
    let url = format!("http://127.0.0.1:{}{target}", demo.port);
    let res = within(
        REQUEST_TIME,
        &format!("{method} {target}"),
        mcp_test_client::request(method, &url, headers, body),
    )
    .await;
    assert_no_5xx(res.status, &res, demo);
    res
}

/// `POST /mcp` of `body` as JSON (accepting JSON and SSE) with `headers`.
async fn post(demo: &Demo, headers: &[(&str, &str)], body: &str) -> Response {
    let mut all = vec![
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
    ];
    all.extend_from_slice(headers);
    send(demo, "POST", "/mcp", &all, Some(body)).await
}

/// `POST /mcp` of `body` with `token`.
async fn post_as(demo: &Demo, token: &str, body: &str) -> Response {
    post(demo, &[("authorization", &bearer(token))], body).await
}

/// `tools/call` of `name` with `arguments`, as `token`.
async fn call(demo: &Demo, token: &str, name: &str, arguments: Value) -> Response {
    let mcp = Mcp::new(demo.endpoint()).bearer(Some(token));
    let res = within(REQUEST_TIME, name, mcp.call_tool(name, arguments)).await;
    assert_no_5xx(res.status, &res, demo);
    res
}

/// The todo items `token`'s subject holds (the token needs `todo:read`).
async fn todos(demo: &Demo, token: &str) -> Vec<Value> {
    let res = call(demo, token, "list_todos", json!({})).await;
    assert_eq!(res.status, 200, "list_todos: {res:#?}");
    let result = res.message()["result"].clone();
    assert_eq!(result["isError"], false, "list_todos: {result}");
    result["structuredContent"]["todos"]
        .as_array()
        .unwrap_or_else(|| panic!("no todos in {result}"))
        .clone()
}

/// A request written as raw bytes on a new connection; its response, bounded in time.
async fn raw(demo: &Demo, bytes: &[u8]) -> Response {
    let mut conn = within(REQUEST_TIME, "connect", Connection::open(demo.addr())).await;
    conn.send(bytes).await;
    let res = within(REQUEST_TIME, "raw request", conn.response()).await;
    assert_no_5xx(res.status, &res, demo);
    res
}

/// The head of a `POST /mcp` with `extra` header lines (each ending in CRLF), before the body.
fn head(demo: &Demo, extra: &str) -> String {
    format!(
        "POST /mcp HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\nconnection: close\r\n{extra}\r\n",
        demo.addr()
    )
}

/// A connection written to without the help of `Connection` (which panics when a write fails):
/// for requests the server may cut off while they are being sent.
struct Raw {
    stream: tokio::net::TcpStream,
    opened: Instant,
}

/// What a [`Raw`] connection received before the server closed it.
#[derive(Debug)]
struct Received {
    /// Whether the server closed the connection (end of stream or reset) in time.
    closed: bool,
    /// How long after the connection opened the read ended.
    after: Duration,
    bytes: Vec<u8>,
}

impl Received {
    /// The status of the response received, if one was.
    fn status(&self) -> Option<u16> {
        let text = String::from_utf8_lossy(&self.bytes);
        text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
    }

    /// The value of header `name` (lower case) in the response head.
    fn header(&self, name: &str) -> Option<String> {
        let text = String::from_utf8_lossy(&self.bytes);
        let head = text.split("\r\n\r\n").next()?;
        head.lines().skip(1).find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }

    /// The body (after the head; these responses are small and not chunked).
    fn body(&self) -> String {
        let text = String::from_utf8_lossy(&self.bytes);
        text.split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.body()).unwrap_or_else(|e| panic!("not JSON ({e}): {self:#?}"))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

impl Raw {
    async fn open(demo: &Demo) -> Raw {
        let stream = within(
            REQUEST_TIME,
            "connect",
            tokio::net::TcpStream::connect(demo.addr()),
        )
        .await
        .unwrap_or_else(|e| panic!("connect to {}: {e}", demo.addr()));
        Raw {
            stream,
            opened: Instant::now(),
        }
    }

    /// Writes `bytes`; false when the server closed the connection first (or stopped reading
    /// for [`REQUEST_TIME`]).
    async fn write(&mut self, bytes: &[u8]) -> bool {
        let write = async {
            let mut rest = bytes;
            while !rest.is_empty() {
                if self.stream.writable().await.is_err() {
                    return false;
                }
                match self.stream.try_write(rest) {
                    Ok(0) => return false,
                    Ok(n) => rest = &rest[n..],
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(_) => return false,
                }
            }
            true
        };
        tokio::time::timeout(REQUEST_TIME, write)
            .await
            .unwrap_or(false)
    }

    /// Reads until the server closes the connection or `limit` passes (from now).
    async fn read_to_close(&mut self, limit: Duration) -> Received {
        let mut bytes = Vec::new();
        let read = async {
            let mut chunk = vec![0; 64 * 1024];
            loop {
                if self.stream.readable().await.is_err() {
                    return;
                }
                match self.stream.try_read(&mut chunk) {
                    Ok(0) => return,
                    Ok(n) => bytes.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(_) => return,
                }
            }
        };
        let closed = tokio::time::timeout(limit, read).await.is_ok();
        Received {
            closed,
            after: self.opened.elapsed(),
            bytes,
        }
    }
}

/// Writes `bytes` on a new connection and reads what comes back until the server closes it;
/// asserts that it does close, and never with a 5xx.
async fn exchange(demo: &Demo, bytes: &[u8]) -> Received {
    let mut conn = Raw::open(demo).await;
    conn.write(bytes).await;
    let got = conn.read_to_close(REQUEST_TIME).await;
    assert!(
        got.closed,
        "{}: the connection stayed open: {got:#?}",
        demo.name
    );
    if let Some(status) = got.status() {
        assert_no_5xx(status, &got.text(), demo);
    }
    got
}

// ---------------------------------------------------------------------------------------------
// Expected answers

/// A 401 `invalid_token` with `description` in the challenge and the body, exactly; the token
/// (if any) is not repeated anywhere in the response.
fn assert_invalid_token(res: &Response, demo: &Demo, description: &str, token: Option<&str>) {
    assert_eq!(res.status, 401, "{description}: {res:#?}");
    assert_eq!(
        res.header("www-authenticate"),
        format!(
            r#"Bearer error="invalid_token", error_description="{description}", resource_metadata="{}", scope="{SCOPES}""#,
            demo.resource_metadata()
        ),
        "{description}"
    );
    assert_eq!(
        res.json(),
        json!({"error": "invalid_token", "error_description": description}),
        "{description}"
    );
    assert_eq!(res.header("content-type"), "application/json");
    if let Some(token) = token.filter(|t| t.len() > 8) {
        assert!(
            !res.everything().contains(token),
            "the response repeats the token: {res:#?}"
        );
    }
}

/// The 401 for a request without credentials: a challenge without `error`.
fn assert_no_credentials(res: &Response, demo: &Demo) {
    assert_eq!(res.status, 401, "{res:#?}");
    assert_eq!(
        res.header("www-authenticate"),
        format!(
            r#"Bearer resource_metadata="{}", scope="{SCOPES}""#,
            demo.resource_metadata()
        )
    );
    assert_eq!(
        res.json(),
        json!({"error": "invalid_token", "error_description": "Authentication required"})
    );
}

/// An OAuth-style JSON error: `status` and `{"error", "error_description"}` exactly.
fn assert_json_error(res: &Response, status: u16, error: &str, description: &str) {
    assert_eq!(res.status, status, "{description}: {res:#?}");
    assert_eq!(
        res.json(),
        json!({"error": error, "error_description": description}),
        "{res:#?}"
    );
}

/// A JSON-RPC error: HTTP `status`, `id`, `code`, and a message starting with `message`.
fn assert_rpc_error(res: &Response, status: u16, id: &Value, code: i64, message: &str) {
    assert_eq!(res.status, status, "{message}: {res:#?}");
    let v = res.json();
    assert_eq!(v["jsonrpc"], "2.0", "{v}");
    assert_eq!(&v["id"], id, "{v}");
    assert!(v.get("result").is_none(), "{v}");
    assert_eq!(v["error"]["code"], code, "{v}");
    let got = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        got.starts_with(message),
        "message {got:?} does not start with {message:?}: {v}"
    );
}

/// The step-up 403 for `create_todo` by a token holding `held` (space separated, in order; empty
/// for a request of 2026-07-28 or later, whose challenge leaves the held scopes out).
fn assert_step_up_403(res: &Response, demo: &Demo, held: &str) {
    assert_eq!(res.status, 403, "{res:#?}");
    let wanted = if held.is_empty() {
        "todo:write".to_owned()
    } else {
        format!("{held} todo:write")
    };
    assert_eq!(
        res.header("www-authenticate"),
        format!(
            r#"Bearer error="insufficient_scope", scope="{wanted}", resource_metadata="{}", error_description="{NEEDS_WRITE}""#,
            demo.resource_metadata()
        )
    );
    assert_eq!(
        res.json(),
        json!({"error": "insufficient_scope", "error_description": NEEDS_WRITE})
    );
}

/// The in-tool refusal of a `todo:write` tool (plain mode): a tool result with `isError`.
fn assert_tool_refusal(res: &Response) {
    assert_eq!(res.status, 200, "{res:#?}");
    let result = &res.message()["result"];
    assert_eq!(result["isError"], true, "{result}");
    assert_eq!(
        result["structuredContent"],
        json!({ "error": NEEDS_WRITE }),
        "{result}"
    );
}

/// How a request that must not run a `todo:write` tool was turned away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refused {
    /// 403 `insufficient_scope` (step-up).
    StepUp,
    /// The tool's own scope check (`isError: true`, insufficient permissions).
    InTool,
    /// A JSON-RPC error (HTTP status, code).
    Rpc(u16, i64),
    /// 202 Accepted: a notification, which runs nothing.
    Accepted,
    /// An OAuth-style refusal of the request (`{"error": "…"}`) with this HTTP status.
    Http(u16),
}

/// Classifies a response to a request that must not have run a `todo:write` tool; panics when it
/// looks like it ran (a tool result that is not an error).
fn refusal(res: &Response) -> Refused {
    if res.status == 403 {
        assert_eq!(
            res.json()["error"],
            "insufficient_scope",
            "403 but not insufficient_scope: {res:#?}"
        );
        return Refused::StepUp;
    }
    if res.status == 202 {
        assert!(res.text.trim().is_empty(), "{res:#?}");
        return Refused::Accepted;
    }
    let v = res.json();
    if v["error"].is_string() {
        assert!((400..500).contains(&res.status), "{res:#?}");
        return Refused::Http(res.status);
    }
    if let Some(code) = v["error"]["code"].as_i64() {
        assert!(
            res.status == 200 || (400..500).contains(&res.status),
            "{res:#?}"
        );
        return Refused::Rpc(res.status, code);
    }
    let result = &v["result"];
    assert_eq!(
        result["isError"], true,
        "a token without todo:write ran a tool: {res:#?}"
    );
    assert_eq!(
        result["structuredContent"],
        json!({ "error": NEEDS_WRITE }),
        "{res:#?}"
    );
    Refused::InTool
}

// ---------------------------------------------------------------------------------------------
// Authorization header

#[test]
fn authorization_header_variants() {
    hostile("authorization_header_variants", |env| async move {
        let demo = &env.plain;
        let token = demo.read_token.clone();
        let body = rpc("tools/call", json!({"name": "list_todos", "arguments": {}})).to_string();
        let with = |auth: String| async move {
            post(demo, &[("authorization", auth.as_str())], &rpc_list()).await
        };

        // Missing: a challenge without `error`.
        assert_no_credentials(&post(demo, &[], &body).await, demo);

        // Malformed headers: 401 naming what is wrong.
        let shape = "Authorization must be `Bearer <token>`";
        for (value, why) in [
            (String::new(), shape),
            ("Bearer".to_owned(), shape),
            // Trailing whitespace is not part of a field value: this is `Bearer` again.
            ("Bearer    ".to_owned(), shape),
            (
                "Basic dXNlcjpwYXNz".to_owned(),
                "Authorization must use the Bearer scheme",
            ),
            (
                format!("Token {token}"),
                "Authorization must use the Bearer scheme",
            ),
            ("Bearer abc def".to_owned(), "malformed bearer token"),
            // A valid token followed by anything is not that token.
            (format!("Bearer {token} x"), "malformed bearer token"),
            (format!("Bearer {token},x"), "malformed token"),
            ("Bearer a.b".to_owned(), "malformed token"),
            ("Bearer ....".to_owned(), "malformed token"),
            // 20 KiB: over the verifier's length cap.
            (
                format!("Bearer {}", "a".repeat(20 * 1024)),
                "malformed token",
            ),
        ] {
            let res = with(value.clone()).await;
            assert_invalid_token(&res, demo, why, Some(&value));
            assert!(!res.everything().contains(&token), "{res:#?}");
        }

        // Accepted spellings (RFC 6750: `Bearer` case-insensitively, then 1*SP).
        for value in [
            format!("Bearer  {token}"),
            format!("bearer {token}"),
            format!("BEARER {token}"),
        ] {
            let res = with(value).await;
            assert_eq!(res.status, 200, "{res:#?}");
            assert_eq!(res.message()["result"]["isError"], false);
        }

        // Two Authorization headers, even both valid: 400, not a pick.
        let a = bearer(&token);
        let res = post(demo, &[("authorization", &a), ("authorization", &a)], &body).await;
        assert_json_error(
            &res,
            400,
            "invalid_request",
            "Send one Authorization header",
        );
        let res = post(
            demo,
            &[("authorization", "Bearer x"), ("authorization", &a)],
            &body,
        )
        .await;
        assert_json_error(
            &res,
            400,
            "invalid_request",
            "Send one Authorization header",
        );
        // The other single-valued headers too.
        for (name, one, two, shown) in [
            (
                "mcp-protocol-version",
                "2025-06-18",
                "2025-03-26",
                "Mcp-Protocol-Version",
            ),
            ("host", "127.0.0.1", "localhost", "Host"),
        ] {
            let res = post(
                demo,
                &[("authorization", &a), (name, one), (name, two)],
                &body,
            )
            .await;
            assert_json_error(
                &res,
                400,
                "invalid_request",
                &format!("Send one {shown} header"),
            );
        }

        // A token in the query string: 400, whether or not the header carries one too.
        let query_refusal = |res: &Response| {
            assert_eq!(res.status, 400, "{res:#?}");
            assert_eq!(
                res.header("www-authenticate"),
                format!(
                    r#"Bearer error="invalid_request", error_description="send the token in the Authorization header", resource_metadata="{}", scope="{SCOPES}""#,
                    demo.resource_metadata()
                )
            );
            assert_eq!(
                res.json(),
                json!({"error": "invalid_request", "error_description": "Access tokens are not accepted in the query string; send an Authorization: Bearer header"})
            );
        };
        let headers = [
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
        ];
        for target in [
            format!("/mcp?access_token={token}"),
            format!("/mcp?x=1&access_token={token}"),
            "/mcp?access_token".to_owned(),
        ] {
            query_refusal(&send(demo, "POST", &target, &headers, Some(&body)).await);
            let mut with_header = headers.to_vec();
            with_header.push(("authorization", &a));
            query_refusal(&send(demo, "POST", &target, &with_header, Some(&body)).await);
        }

        // Bytes that are not ASCII in the header.
        for value in [
            &b"Bearer \xff\xfe\xfd"[..],
            "Bearer t\u{f6}k\u{e9}n".as_bytes(),
            &b"\xc0\xaf Bearer x"[..],
        ] {
            let res = raw(
                demo,
                &with_header_bytes(demo, "authorization", value, &body),
            )
            .await;
            assert_invalid_token(&res, demo, "malformed Authorization header", None);
        }
        // A NUL or a bare CR in a header is not HTTP: refused before the app sees it.
        for value in [&b"Bearer a\x00b"[..], &b"Bearer a\rb"[..]] {
            let got = exchange(
                demo,
                &with_header_bytes(demo, "authorization", value, &body),
            )
            .await;
            assert_eq!(got.status(), Some(400), "{got:#?}");
        }
        assert_healthy(&env).await;
    });
}

fn rpc_list() -> String {
    rpc("tools/call", json!({"name": "list_todos", "arguments": {}})).to_string()
}

/// A `POST /mcp` of `body` with the header `name: value` written as raw bytes.
fn with_header_bytes(demo: &Demo, name: &str, value: &[u8], body: &str) -> Vec<u8> {
    let mut req = head(demo, "").into_bytes();
    req.truncate(req.len() - 2); // the blank line
    req.extend_from_slice(format!("{name}: ").as_bytes());
    req.extend_from_slice(value);
    req.extend_from_slice(format!("\r\ncontent-length: {}\r\n\r\n{body}", body.len()).as_bytes());
    req
}

#[test]
fn tokens_that_do_not_verify() {
    hostile("tokens_that_do_not_verify", |env| async move {
        let demo = &env.plain;
        let now = unix_now();
        let who = subject("unverified");
        let good = env.claims(demo, &who, json!({}));
        let check = |token: String, why: &'static str| async move {
            let res = call(demo, &token, "list_todos", json!({})).await;
            assert_invalid_token(&res, demo, why, Some(&token));
        };

        // Signed by a key the demo does not trust: another issuer's (its own kid, or the trusted
        // kid), whatever the claims say.
        check(
            env.other_as.sign(json!({}), good.clone()).await,
            "unknown signing key",
        )
        .await;
        check(
            env.other_as
                .sign(json!({"kid": env.as_.kid}), good.clone())
                .await,
            "token signature invalid",
        )
        .await;
        // A genuine token whose payload was changed (more scopes), signature kept.
        let genuine = env.as_.sign(json!({}), good.clone()).await;
        let parts: Vec<&str> = genuine.split('.').collect();
        let mut richer = good.clone();
        richer["scope"] = json!("todo:read todo:write system:admin");
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            b64url(richer.to_string().as_bytes()),
            parts[2]
        );
        check(tampered, "token signature invalid").await;
        // Unsigned, or "signed" with an HMAC the attacker keyed.
        for alg in ["none", "HS256"] {
            let header = json!({"alg": alg, "typ": "at+jwt", "kid": env.as_.kid});
            let forged = format!(
                "{}.{}.{}",
                b64url(header.to_string().as_bytes()),
                b64url(good.to_string().as_bytes()),
                b64url(b"sig")
            );
            check(forged, "algorithm not allowed").await;
        }
        // Expired (beyond the leeway), another audience, another issuer, an ID-token `typ`.
        check(
            env.as_
                .sign(
                    json!({}),
                    env.claims(demo, &who, json!({"iat": now - 900, "exp": now - 600})),
                )
                .await,
            "token expired",
        )
        .await;
        check(
            env.as_
                .client_credentials_for(
                    DEFAULT_CLIENT_ID,
                    DEFAULT_CLIENT_SECRET,
                    "todo:read",
                    "http://127.0.0.1:1/elsewhere/mcp",
                )
                .await,
            "token audience mismatch",
        )
        .await;
        // A genuine token for the step-up demo is not one for the plain demo.
        check(env.step_up.read_token.clone(), "token audience mismatch").await;
        check(
            env.as_
                .sign(
                    json!({}),
                    env.claims(demo, &who, json!({"iss": "http://evil.example"})),
                )
                .await,
            "token issuer mismatch",
        )
        .await;
        check(
            env.as_.sign(json!({"typ": "JWT"}), good.clone()).await,
            "token type (typ) not allowed",
        )
        .await;
        // The genuine one works (the cases above failed for their reason only).
        let res = call(demo, &genuine, "whoami", json!({})).await;
        assert_eq!(res.status, 200, "{res:#?}");
        assert_eq!(
            res.message()["result"]["structuredContent"]["subject"],
            who.as_str()
        );
    });
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

// ---------------------------------------------------------------------------------------------
// Origin

#[test]
fn origin_tricks() {
    hostile("origin_tricks", |env| async move {
        let demo = &env.plain;
        let auth = bearer(&demo.read_token);
        let own = format!("http://127.0.0.1:{}", demo.port);
        let forbidden = |res: &Response| {
            assert_json_error(res, 403, "forbidden", "Origin not allowed");
            assert!(!res.has_header("access-control-allow-origin"), "{res:#?}");
        };
        for origin in [
            "http://127.0.0.1.evil.com".to_owned(),
            format!("http://127.0.0.1.evil.com:{}", demo.port),
            "http://localhost.evil.com".to_owned(),
            "http://evil.com#@127.0.0.1".to_owned(),
            format!("http://evil.com#@127.0.0.1:{}", demo.port),
            "http://evil.com?@127.0.0.1".to_owned(),
            format!("http://127.0.0.1:{}@evil.com", demo.port),
            "http://evil.com\\@127.0.0.1".to_owned(),
            format!("https://127.0.0.1:{}", demo.port),
            "http://[::ffff:127.0.0.1]".to_owned(),
            "null".to_owned(),
            "file://".to_owned(),
            "*".to_owned(),
            String::new(),
        ] {
            // Refused before the token is looked at: with or without one.
            let res = post(
                demo,
                &[("authorization", &auth), ("origin", &origin)],
                &rpc_list(),
            )
            .await;
            forbidden(&res);
            let res = post(demo, &[("origin", &origin)], &rpc_list()).await;
            forbidden(&res);
        }
        // An Origin that is not ASCII.
        let res = raw(
            demo,
            &with_header_bytes(demo, "origin", b"http://127.0.0.1\xff", &rpc_list()),
        )
        .await;
        forbidden(&res);

        // Two Origin headers, even both allowed: 400.
        let res = post(
            demo,
            &[("authorization", &auth), ("origin", &own), ("origin", &own)],
            &rpc_list(),
        )
        .await;
        assert_json_error(&res, 400, "invalid_request", "Send one Origin header");

        // Allowed: the server's own origin, and loopback on any port.
        for origin in [
            own.clone(),
            "http://localhost:5173".to_owned(),
            "http://[::1]:1".to_owned(),
        ] {
            let res = post(
                demo,
                &[("authorization", &auth), ("origin", &origin)],
                &rpc_list(),
            )
            .await;
            assert_eq!(res.status, 200, "{origin}: {res:#?}");
            assert_eq!(res.message()["result"]["isError"], false);
            assert_eq!(res.header("access-control-allow-origin"), origin);
        }

        // CORS preflights: answered for an allowed origin only.
        let preflight = |origin: String| async move {
            send(
                demo,
                "OPTIONS",
                "/mcp",
                &[
                    ("origin", &origin),
                    ("access-control-request-method", "POST"),
                    (
                        "access-control-request-headers",
                        "authorization, content-type",
                    ),
                ],
                None,
            )
            .await
        };
        let res = preflight(own.clone()).await;
        assert_eq!(res.status, 200, "{res:#?}");
        assert_eq!(res.header("access-control-allow-origin"), own);
        let res = preflight("http://127.0.0.1.evil.com".to_owned()).await;
        assert!(res.status == 200 || res.status == 403, "{res:#?}");
        assert!(!res.has_header("access-control-allow-origin"), "{res:#?}");
    });
}

/// An Origin header is a serialized origin, `scheme://host[:port]` (RFC 6454 §7): one with
/// userinfo, a path, a query or a trailing slash is no browser's, and matches no allowed origin.
#[test]
fn origin_that_is_not_a_serialized_origin_is_refused() {
    hostile(
        "origin_that_is_not_a_serialized_origin_is_refused",
        |env| async move {
            let demo = &env.plain;
            let auth = bearer(&demo.read_token);
            let mut accepted = Vec::new();
            for origin in [
                format!("http://user@127.0.0.1:{}", demo.port),
                format!("http://user:pass@127.0.0.1:{}", demo.port),
                format!("http://evil.com@127.0.0.1:{}", demo.port),
                format!("http://127.0.0.1:{}/", demo.port),
                format!("http://127.0.0.1:{}/path?q", demo.port),
                // 127.0.0.1, spelled as no browser serializes it.
                format!("http://2130706433:{}", demo.port),
                format!("http://0x7f.1:{}", demo.port),
            ] {
                let res = post(
                    demo,
                    &[("authorization", &auth), ("origin", &origin)],
                    &rpc_list(),
                )
                .await;
                if res.status != 403 {
                    accepted.push(format!("{origin} -> {}", res.status));
                    continue;
                }
                assert_json_error(&res, 403, "forbidden", "Origin not allowed");
                assert!(!res.has_header("access-control-allow-origin"), "{res:#?}");
            }
            assert!(accepted.is_empty(), "accepted: {accepted:#?}");
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Malformed JSON-RPC

#[test]
fn malformed_json_rpc() {
    hostile("malformed_json_rpc", |env| async move {
        for demo in [&env.plain, &env.step_up] {
            let token = demo.read_token.clone();
            let null = Value::Null;
            let deep_arrays = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
            let deep_objects = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
            let deep_in_arguments = format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"list_todos","arguments":{{"x":{deep_arrays}}}}}}}"#
            );
            let deep_in_write_call = format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"create_todo","arguments":{{"title":"deep","x":{deep_arrays}}}}}}}"#
            );
            // Not JSON at all: -32700, no id.
            for body in [
                "{not json",
                "",
                "{",
                r#"{"jsonrpc":"2.0","id":1,"method":"ping"} trailing"#,
                &deep_arrays,
                &deep_objects,
                &deep_in_arguments,
            ] {
                let res = post_as(demo, &token, body).await;
                assert_rpc_error(&res, 400, &null, -32700, "Parse error");
            }
            // Deeply nested, in a call the token may not make: a parse error, or in step-up mode
            // the 403 (its peek skips the arguments, so it sees the tool).
            let res = post_as(demo, &token, &deep_in_write_call).await;
            if demo.name == "step-up" {
                assert_step_up_403(&res, demo, "todo:read");
            } else {
                assert_rpc_error(&res, 400, &null, -32700, "Parse error");
            }
            // Invalid UTF-8 inside a string.
            let mut bytes =
                br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_"#
                    .to_vec();
            bytes.extend_from_slice(b"\xff\xfe\"}}");
            let mut req = head(
                demo,
                &format!(
                    "authorization: Bearer {token}\r\ncontent-length: {}\r\n",
                    bytes.len()
                ),
            )
            .into_bytes();
            req.extend_from_slice(&bytes);
            let res = raw(demo, &req).await;
            assert_rpc_error(&res, 400, &null, -32700, "Parse error");

            // JSON, but not one request: -32600, no id.
            let ping = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
            for (body, why) in [
                (
                    format!("[{ping},{ping}]"),
                    "Invalid request: batches are not supported",
                ),
                (
                    "[]".to_owned(),
                    "Invalid request: batches are not supported",
                ),
                (
                    format!("[{ping}]"),
                    "Invalid request: batches are not supported",
                ),
                ("null".to_owned(), "Invalid request"),
                ("5".to_owned(), "Invalid request"),
                (r#""tools/call""#.to_owned(), "Invalid request"),
                (
                    r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#.to_owned(),
                    "Invalid request",
                ),
                (
                    r#"{"jsonrpc":"2.0","id":[1],"method":"ping"}"#.to_owned(),
                    "Invalid request",
                ),
                (
                    r#"{"jsonrpc":"2.0","id":true,"method":"ping"}"#.to_owned(),
                    "Invalid request",
                ),
                (
                    r#"{"jsonrpc":"2.0","id":1,"method":5}"#.to_owned(),
                    "Invalid request",
                ),
                (
                    r#"{"jsonrpc":"2.0","id":1,"method":null}"#.to_owned(),
                    "Invalid request",
                ),
                (
                    r#"{"jsonrpc":"2.0","id":1,"method":["tools/call"]}"#.to_owned(),
                    "Invalid request",
                ),
                (
                    r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#.to_owned(),
                    "Invalid request",
                ),
                (r#"{"id":1,"method":"ping"}"#.to_owned(), "Invalid request"),
                (r#"{"jsonrpc":"2.0","id":1}"#.to_owned(), "Invalid request"),
            ] {
                let res = post_as(demo, &token, &body).await;
                assert_rpc_error(&res, 400, &null, -32600, why);
            }

            // Well-formed requests the server cannot serve.
            let res = post_as(demo, &token, &rpc("nope/nope", json!({})).to_string()).await;
            assert_rpc_error(&res, 200, &json!(1), -32601, "");
            let res = post_as(
                demo,
                &token,
                &rpc("Tools/Call", json!({"name": "list_todos"})).to_string(),
            )
            .await;
            assert_rpc_error(&res, 200, &json!(1), -32601, "");
            for name in [
                "nope",
                "create_todo\u{0}",
                "create_todo ",
                "CREATE_TODO",
                "ｃreate_todo",
                "",
            ] {
                let body = rpc(
                    "tools/call",
                    json!({"name": name, "arguments": {"title": "x"}}),
                );
                let res = post_as(demo, &token, &body.to_string()).await;
                assert_rpc_error(&res, 200, &json!(1), -32602, "Unknown tool");
            }
            // Arguments of the wrong type: a tool error the model can act on (SEP-1303).
            let res = call(demo, &token, "list_todos", json!({"include_done": "yes"})).await;
            assert_eq!(res.status, 200, "{res:#?}");
            let result = &res.message()["result"];
            assert_eq!(result["isError"], true, "{result}");
            assert!(
                result["content"][0]["text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("Invalid arguments for tool `list_todos`")),
                "{result}"
            );
            // A reply posted by the client: nothing to answer it with, in a stateless server.
            let res = post_as(demo, &token, r#"{"jsonrpc":"2.0","id":1,"result":{}}"#).await;
            assert_eq!(res.status, 400, "{res:#?}");
            assert_eq!(res.json()["error"]["code"], -32600, "{res:#?}");
            // A notification: accepted, nothing runs.
            let res = post_as(
                demo,
                &token,
                r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            )
            .await;
            assert_eq!(res.status, 202, "{res:#?}");

            // The media types: JSON in, JSON and SSE accepted.
            let auth = bearer(&token);
            let res = send(
                demo,
                "POST",
                "/mcp",
                &[
                    ("authorization", &auth),
                    ("content-type", "text/plain"),
                    ("accept", "application/json, text/event-stream"),
                ],
                Some(ping),
            )
            .await;
            assert_rpc_error(&res, 415, &null, -32600, "Unsupported Media Type");
            let res = send(
                demo,
                "POST",
                "/mcp",
                &[
                    ("authorization", &auth),
                    ("content-type", "application/json"),
                    ("accept", "application/json"),
                ],
                Some(ping),
            )
            .await;
            assert_rpc_error(&res, 406, &null, -32600, "Not Acceptable");
            assert_healthy(&env).await;
        }
    });
}

/// A message with a member twice (`method`, `params`) is ambiguous (RFC 8259 §4): it must be
/// refused as an invalid request (400, `-32600` or `-32700`), and not described as a batch.
#[test]
fn malformed_duplicate_member_is_a_400_invalid_request_not_a_batch() {
    hostile(
        "malformed_duplicate_member_is_a_400_invalid_request_not_a_batch",
        |env| async move {
            let demo = &env.plain;
            let mut wrong = Vec::new();
            for body in [
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"list_todos","arguments":{}}}"#,
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"},"params":{"name":"list_todos","arguments":{}}}"#,
                r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"ping"}"#,
                r#"{"jsonrpc":"2.0","jsonrpc":"2.0","id":1,"method":"ping"}"#,
            ] {
                let res = post_as(demo, &demo.read_token, body).await;
                let v = res.json();
                let code = v["error"]["code"].as_i64();
                let message = v["error"]["message"].as_str().unwrap_or_default();
                if res.status != 400
                    || !matches!(code, Some(-32600 | -32700))
                    || message.contains("batch")
                {
                    wrong.push(format!("{body}\n  -> {} {v}", res.status));
                }
            }
            assert!(wrong.is_empty(), "{}", wrong.join("\n"));
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Wrong-shaped params: -32602 Invalid params, with the request's id

/// Posts `params` for `method` (id 7) and asserts `-32602` with id 7, HTTP 200 or 400.
fn wrong_params(name: &str, method: &'static str, params: Option<Value>) {
    hostile(name, |env| async move {
        for demo in [&env.plain, &env.step_up] {
            let mut message = json!({"jsonrpc": "2.0", "id": 7, "method": method});
            if let Some(params) = params.clone() {
                message["params"] = params;
            }
            let res = post_as(demo, &demo.read_token, &message.to_string()).await;
            assert!(
                res.status == 200 || res.status == 400,
                "{}: {message}: {res:#?}",
                demo.name
            );
            let v = res.json();
            assert_eq!(v["jsonrpc"], "2.0", "{v}");
            assert_eq!(v["id"], 7, "{}: {message}: {v}", demo.name);
            assert_eq!(v["error"]["code"], -32602, "{}: {message}: {v}", demo.name);
            assert!(v.get("result").is_none(), "{v}");
        }
    });
}

#[test]
fn wrong_params_params_is_a_number() {
    wrong_params(
        "wrong_params_params_is_a_number",
        "tools/call",
        Some(json!(5)),
    );
}

#[test]
fn wrong_params_params_is_a_string() {
    wrong_params(
        "wrong_params_params_is_a_string",
        "tools/call",
        Some(json!("list_todos")),
    );
}

#[test]
fn wrong_params_params_is_positional() {
    wrong_params(
        "wrong_params_params_is_positional",
        "tools/call",
        Some(json!(["list_todos", {}])),
    );
}

#[test]
fn wrong_params_params_missing() {
    wrong_params("wrong_params_params_missing", "tools/call", None);
}

#[test]
fn wrong_params_name_missing() {
    wrong_params(
        "wrong_params_name_missing",
        "tools/call",
        Some(json!({"arguments": {}})),
    );
}

#[test]
fn wrong_params_name_is_a_number() {
    wrong_params(
        "wrong_params_name_is_a_number",
        "tools/call",
        Some(json!({"name": 5, "arguments": {}})),
    );
}

#[test]
fn wrong_params_name_is_null() {
    wrong_params(
        "wrong_params_name_is_null",
        "tools/call",
        Some(json!({"name": null, "arguments": {}})),
    );
}

#[test]
fn wrong_params_arguments_is_an_array() {
    wrong_params(
        "wrong_params_arguments_is_an_array",
        "tools/call",
        Some(json!({"name": "list_todos", "arguments": [true]})),
    );
}

#[test]
fn wrong_params_arguments_is_a_string() {
    wrong_params(
        "wrong_params_arguments_is_a_string",
        "tools/call",
        Some(json!({"name": "list_todos", "arguments": "{}"})),
    );
}

#[test]
fn wrong_params_tools_list_params_is_a_number() {
    wrong_params(
        "wrong_params_tools_list_params_is_a_number",
        "tools/list",
        Some(json!(5)),
    );
}

#[test]
#[ignore = "product bug: rmcp flattens Option params, so a wrong-typed cursor is dropped and tools/list answers the whole list instead of -32602"]
fn wrong_params_tools_list_cursor_is_a_number() {
    wrong_params(
        "wrong_params_tools_list_cursor_is_a_number",
        "tools/list",
        Some(json!({"cursor": 5})),
    );
}

// ---------------------------------------------------------------------------------------------
// Sizes

/// A `ping` of exactly `len` bytes (padded with an extra member).
fn ping_of_len(len: usize) -> String {
    let (start, end) = (
        r#"{"jsonrpc":"2.0","id":1,"method":"ping","pad":""#,
        r#""}"#,
    );
    let pad = len - start.len() - end.len();
    format!("{start}{}{end}", "a".repeat(pad))
}

#[test]
fn oversized_headers() {
    hostile("oversized_headers", |env| async move {
        for demo in [&env.plain, &env.step_up] {
            let auth = bearer(&demo.read_token);
            // 100 KiB in one header, or in a few: within the HTTP server's header buffer
            // (about 400 KiB): served.
            let pad = "a".repeat(100 * 1024);
            let res = post(
                demo,
                &[("authorization", &auth), ("x-pad", &pad)],
                &rpc_list(),
            )
            .await;
            assert_eq!(res.status, 200, "{res:#?}");
            assert_eq!(res.message()["result"]["isError"], false);
            let quarter = "b".repeat(25 * 1024);
            let mut headers = vec![("authorization", auth.as_str())];
            for name in ["x-a", "x-b", "x-c", "x-d"] {
                headers.push((name, quarter.as_str()));
            }
            let res = post(demo, &headers, &rpc_list()).await;
            assert_eq!(res.status, 200, "{res:#?}");

            // 100 KiB in the headers the gate reads.
            let res = post(
                demo,
                &[("authorization", &format!("Bearer {pad}"))],
                &rpc_list(),
            )
            .await;
            assert_invalid_token(&res, demo, "malformed token", None);
            let res = post(
                demo,
                &[
                    ("authorization", &auth),
                    ("origin", &format!("http://{pad}")),
                ],
                &rpc_list(),
            )
            .await;
            assert_json_error(&res, 403, "forbidden", "Origin not allowed");
            let res = post(
                demo,
                &[("authorization", &auth), ("mcp-protocol-version", &pad)],
                &rpc_list(),
            )
            .await;
            assert_rpc_error(&res, 400, &Value::Null, -32600, "Bad Request");
            let res = post(
                demo,
                &[
                    ("authorization", &auth),
                    ("mcp-protocol-version", "2026-07-28"),
                    ("mcp-method", "tools/call"),
                    ("mcp-name", &pad),
                ],
                &rpc_list(),
            )
            .await;
            assert_rpc_error(&res, 400, &json!(1), -32020, "Mcp-Name header");

            // 1 MiB of headers, or too many of them: 431 and the connection closed, before any
            // token is looked at.
            let huge = "c".repeat(1024 * 1024);
            let many: String = (0..150).map(|i| format!("x-h{i}: {i}\r\n")).collect();
            for extra in [
                format!("authorization: {auth}\r\nx-pad: {huge}\r\n"),
                format!("x-pad: {huge}\r\n"),
                format!("authorization: {auth}\r\n{many}"),
                many.clone(),
            ] {
                let body = rpc_list();
                let req = head(demo, &format!("{extra}content-length: {}\r\n", body.len())) + &body;
                let got = exchange(demo, req.as_bytes()).await;
                assert_eq!(
                    got.status(),
                    Some(431),
                    "{}",
                    got.text().get(..300).unwrap_or_default()
                );
            }
            // A 100 KiB request target: over the HTTP server's URI limit (64 KiB), 414.
            let body = rpc_list();
            let req = format!(
                "POST /mcp?q={pad} HTTP/1.1\r\nhost: {}\r\nauthorization: {auth}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
                demo.addr(),
                body.len()
            );
            let got = exchange(demo, req.as_bytes()).await;
            assert_eq!(got.status(), Some(414), "{}", got.text());
            let got = exchange(
                demo,
                format!(
                    "GET /health?q={huge} HTTP/1.1\r\nhost: {}\r\n\r\n",
                    demo.addr()
                )
                .as_bytes(),
            )
            .await;
            assert!(
                matches!(got.status(), Some(414 | 431)),
                "{}",
                got.text().get(..300).unwrap_or_default()
            );
            assert_healthy(&env).await;
        }
    });
}

#[test]
fn oversized_bodies() {
    hostile("oversized_bodies", |env| async move {
        for demo in [&env.plain, &env.step_up] {
            let auth = bearer(&demo.read_token);
            // Exactly at the limit: served.
            let res = post(demo, &[("authorization", &auth)], &ping_of_len(MAX_BODY)).await;
            assert_eq!(res.status, 200, "{res:#?}");
            assert_eq!(res.json()["result"], json!({}));

            // One byte over, or far over: 413, and the connection closed.
            let too_large = |got: &Received| {
                assert_eq!(
                    got.status(),
                    Some(413),
                    "{}: {}",
                    demo.name,
                    got.text().get(..400).unwrap_or_default()
                );
                assert_eq!(
                    got.header("connection").as_deref(),
                    Some("close"),
                    "{got:#?}"
                );
                let v = got.json();
                assert!(v["error"].is_object() || v["error"].is_string(), "{v}");
            };
            for len in [MAX_BODY + 1, 4 * MAX_BODY, 16 * MAX_BODY] {
                let body = ping_of_len(len);
                let req = head(
                    demo,
                    &format!("authorization: {auth}\r\ncontent-length: {len}\r\n"),
                );
                let got = exchange(demo, &[req.as_bytes(), body.as_bytes()].concat()).await;
                too_large(&got);
                if demo.name == "plain" {
                    assert_eq!(
                        got.json(),
                        json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": format!("Request body too large: the limit is {MAX_BODY} bytes")}}),
                    );
                }
            }
            // Chunked, over the limit in several chunks.
            let chunk = "a".repeat(40 * 1024);
            let req = format!(
                "{}{:x}\r\n{chunk}\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
                head(
                    demo,
                    &format!("authorization: {auth}\r\ntransfer-encoding: chunked\r\n")
                ),
                chunk.len(),
                chunk.len()
            );
            too_large(&exchange(demo, req.as_bytes()).await);

            // Without a token: 401, whatever the size (the body is not read beyond a small
            // drain; a large one closes the connection).
            let body = ping_of_len(4 * MAX_BODY);
            let req = head(demo, &format!("content-length: {}\r\n", body.len()));
            let got = exchange(demo, &[req.as_bytes(), body.as_bytes()].concat()).await;
            assert_eq!(got.status(), Some(401), "{}", got.text());
            assert_eq!(
                got.json(),
                json!({"error": "invalid_token", "error_description": "Authentication required"})
            );
            assert_eq!(got.header("connection").as_deref(), Some("close"));
            // A small refused body is drained: the connection serves the next request.
            let mut conn = within(REQUEST_TIME, "connect", Connection::open(demo.addr())).await;
            let small = ping_of_len(2048);
            let res = within(
                REQUEST_TIME,
                "401 keep-alive",
                conn.request(
                    "POST",
                    "/mcp",
                    &[
                        ("content-type", "application/json"),
                        ("accept", "application/json, text/event-stream"),
                    ],
                    Some(&small),
                ),
            )
            .await;
            assert_no_credentials(&res, demo);
            let res = within(
                REQUEST_TIME,
                "reuse",
                conn.request("GET", "/health", &[], None),
            )
            .await;
            assert_eq!(res.status, 200, "{res:#?}");

            // A declared length far over the limit, then nothing: refused (413 at once, or 408
            // when the body stalls), never waited on for long.
            let mut conn = Raw::open(demo).await;
            let req = head(
                demo,
                &format!("authorization: {auth}\r\ncontent-length: 10000000000\r\n"),
            );
            assert!(conn.write(format!("{req}{{\"jsonrpc\"").as_bytes()).await);
            let got = conn.read_to_close(CUT_OFF).await;
            assert!(got.closed, "{got:#?}");
            assert!(matches!(got.status(), Some(408 | 413)), "{}", got.text());
            assert_healthy(&env).await;
        }
    });
}

/// In step-up mode a body over the limit is refused like in plain mode: 413 with the JSON-RPC
/// error naming the limit (the step-up peek answers with its own OAuth-style body).
#[test]
fn step_up_oversized_body_is_answered_like_plain_mode() {
    hostile(
        "step_up_oversized_body_is_answered_like_plain_mode",
        |env| async move {
            let demo = &env.step_up;
            let body = ping_of_len(MAX_BODY + 1);
            let req = head(
                demo,
                &format!(
                    "authorization: Bearer {}\r\ncontent-length: {}\r\n",
                    demo.read_token,
                    body.len()
                ),
            );
            let got = exchange(demo, &[req.as_bytes(), body.as_bytes()].concat()).await;
            assert_eq!(got.status(), Some(413), "{}", got.text());
            assert_eq!(
                got.json(),
                json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": format!("Request body too large: the limit is {MAX_BODY} bytes")}}),
            );
        },
    );
}

// ---------------------------------------------------------------------------------------------
// Slow clients

#[test]
fn slow_headers_are_cut_off() {
    hostile("slow_headers_are_cut_off", |env| async move {
        let demo = &env.plain;
        // Whatever came back before the close must not be a 5xx.
        let cut_off = |got: &Received, what: &str| {
            assert!(
                got.closed && got.after <= CUT_OFF,
                "{what}: still open {CUT_OFF:?} after it opened: {got:#?}"
            );
            assert!(
                got.after >= Duration::from_millis(500),
                "{what}: closed at once, not by the timeout: {got:#?}"
            );
            if let Some(status) = got.status() {
                assert_no_5xx(status, got, demo);
            }
        };
        // Nothing sent.
        let mut idle = Raw::open(demo).await;
        // Headers never finished.
        let mut partial = Raw::open(demo).await;
        assert!(
            partial
                .write(
                    format!(
                        "POST /mcp HTTP/1.1\r\nhost: {}\r\nauthorization: Bearer {}\r\n",
                        demo.addr(),
                        demo.read_token
                    )
                    .as_bytes()
                )
                .await
        );
        // A bounded crowd of unfinished requests: the server keeps serving meanwhile.
        let mut crowd = Vec::new();
        for _ in 0..40 {
            let mut c = Raw::open(demo).await;
            assert!(c.write(b"GET /health HTTP/1.1\r\nhost: x\r\n").await);
            crowd.push(c);
        }
        let res = call(demo, &demo.read_token, "list_todos", json!({})).await;
        assert_eq!(res.status, 200, "{res:#?}");
        cut_off(&idle.read_to_close(CUT_OFF).await, "idle");
        cut_off(&partial.read_to_close(CUT_OFF).await, "partial headers");
        for c in &mut crowd {
            let got = c.read_to_close(CUT_OFF).await;
            assert!(got.closed, "crowd: {got:#?}");
        }

        // Headers trickled a byte at a time, each well within the timeout: the timeout counts
        // from the start of the request, so the trickle is cut off too.
        let started = Instant::now();
        let mut trickle = Raw::open(demo).await;
        let request = format!(
            "POST /mcp HTTP/1.1\r\nhost: {}\r\nx-slow: {}",
            demo.addr(),
            "z".repeat(100)
        );
        let mut closed = false;
        for byte in request.bytes() {
            if !trickle.write(&[byte]).await
                || trickle
                    .read_to_close(Duration::from_millis(200))
                    .await
                    .closed
            {
                closed = true;
                break;
            }
            if started.elapsed() > CUT_OFF {
                break;
            }
        }
        assert!(
            closed,
            "a trickle of header bytes was not cut off within {CUT_OFF:?}"
        );

        // An idle keep-alive connection is closed too.
        let mut conn = within(REQUEST_TIME, "connect", Connection::open(demo.addr())).await;
        let res = within(
            REQUEST_TIME,
            "health",
            conn.request("GET", "/health", &[], None),
        )
        .await;
        assert_eq!(res.status, 200);
        assert!(
            within(REQUEST_TIME, "idle close", conn.is_closed(CUT_OFF)).await,
            "an idle keep-alive connection stayed open"
        );
    });
}

/// The answer to a request body that stalls past the body timeout: 408 and the JSON-RPC error,
/// the connection closed, within [`CUT_OFF`].
fn assert_stalled_408(got: &Received) {
    assert!(got.closed, "{got:#?}");
    assert_eq!(got.status(), Some(408), "{}", got.text());
    assert_eq!(
        got.header("connection").as_deref(),
        Some("close"),
        "{}",
        got.text()
    );
    assert_eq!(
        got.json(),
        json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32600, "message": "The request body was not received in time"}}),
    );
}

/// Sends `head` and `start` of a body, then nothing: what comes back within [`CUT_OFF`].
async fn stall(demo: &Demo, head: &str, start: &str) -> Received {
    let mut conn = Raw::open(demo).await;
    assert!(conn.write(format!("{head}{start}").as_bytes()).await);
    let got = conn.read_to_close(CUT_OFF).await;
    if let Some(status) = got.status() {
        assert_no_5xx(status, &got, demo);
    }
    got
}

#[test]
fn stalled_bodies_fail() {
    hostile("stalled_bodies_fail", |env| async move {
        let demo = &env.plain;
        let auth = format!("authorization: Bearer {}\r\n", demo.read_token);
        // With a token: 408.
        let got = stall(
            demo,
            &head(demo, &format!("{auth}content-length: 100\r\n")),
            r#"{"jsonrpc""#,
        )
        .await;
        assert_stalled_408(&got);
        let got = stall(
            demo,
            &head(demo, &format!("{auth}transfer-encoding: chunked\r\n")),
            "5\r\n{\"jso\r\n",
        )
        .await;
        assert_stalled_408(&got);
        // Without one: the 401, closing the connection (its body could not be drained).
        for demo in [&env.plain, &env.step_up] {
            let got = stall(
                demo,
                &head(demo, "content-length: 100\r\n"),
                r#"{"jsonrpc""#,
            )
            .await;
            assert!(got.closed, "{got:#?}");
            assert_eq!(got.status(), Some(401), "{}", got.text());
            assert_eq!(
                got.header("connection").as_deref(),
                Some("close"),
                "{}",
                got.text()
            );
        }
        // Step-up with a token: refused with a 4xx, the connection closed (the exact answer is
        // `step_up_stalled_body_is_408`).
        let demo = &env.step_up;
        let auth = format!("authorization: Bearer {}\r\n", demo.read_token);
        let got = stall(
            demo,
            &head(demo, &format!("{auth}content-length: 100\r\n")),
            r#"{"jsonrpc""#,
        )
        .await;
        assert!(got.closed, "{got:#?}");
        assert!(
            got.status().is_some_and(|s| (400..500).contains(&s)),
            "{}",
            got.text()
        );
    });
}

/// In step-up mode a stalled body is a timeout (408), as in plain mode, not "too large" (413).
#[test]
fn step_up_stalled_body_is_408() {
    hostile("step_up_stalled_body_is_408", |env| async move {
        let demo = &env.step_up;
        let auth = format!("authorization: Bearer {}\r\n", demo.read_token);
        let got = stall(
            demo,
            &head(demo, &format!("{auth}content-length: 100\r\n")),
            r#"{"jsonrpc""#,
        )
        .await;
        assert_stalled_408(&got);
        let got = stall(
            demo,
            &head(demo, &format!("{auth}transfer-encoding: chunked\r\n")),
            "5\r\n{\"jso\r\n",
        )
        .await;
        assert_stalled_408(&got);
    });
}

// ---------------------------------------------------------------------------------------------
// Step-up smuggling

/// `_meta` a 2026-07-28 request carries.
fn meta_2026() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    })
}

/// A smuggling case: its name, extra headers, the body, and how it is refused in step-up mode
/// and in plain mode (`None`: any refusal).
type Smuggle<'a> = (
    &'a str,
    Vec<(&'a str, &'a str)>,
    String,
    Option<Refused>,
    Option<Refused>,
);

#[test]
fn step_up_smuggling() {
    hostile("step_up_smuggling", |env| async move {
        let create = rpc(
            "tools/call",
            json!({"name": "create_todo", "arguments": {"title": "smuggled"}}),
        )
        .to_string();
        let create_2026 = rpc(
            "tools/call",
            json!({"name": "create_todo", "arguments": {"title": "smuggled"}, "_meta": meta_2026()}),
        )
        .to_string();
        let escaped_name = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create\u005ftodo","arguments":{"title":"smuggled"}}}"#;
        let v2026 = ("mcp-protocol-version", "2026-07-28");
        let call_h = ("mcp-method", "tools/call");
        let lie = ("mcp-name", "list_todos");
        let mismatch = Refused::Rpc(400, -32020);
        // (case, headers, body, outcome in step-up mode, outcome in plain mode); `None`: any
        // refusal.
        let cases: Vec<Smuggle<'_>> = vec![
            ("plain create_todo", vec![], create.clone(), Some(Refused::StepUp), Some(Refused::InTool)),
            ("escaped name", vec![], escaped_name.to_owned(), Some(Refused::StepUp), Some(Refused::InTool)),
            (
                "escaped method, keys and name",
                vec![],
                r#"{"jsonrpc":"2.0","id":1,"method":"tools\/call","para\u006ds":{"n\u0061me":"\u0063reate_todo","arguments":{"title":"smuggled"}}}"#.to_owned(),
                Some(Refused::StepUp),
                Some(Refused::InTool),
            ),
            (
                "name twice, the write tool last",
                vec![],
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_todos","name":"create_todo","arguments":{"title":"smuggled"}}}"#.to_owned(),
                None,
                None,
            ),
            (
                "name twice, the write tool first",
                vec![],
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create_todo","name":"list_todos","arguments":{"title":"smuggled"}}}"#.to_owned(),
                None,
                None,
            ),
            (
                "name twice, once escaped",
                vec![],
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_todos","n\u0061me":"create_todo","arguments":{"title":"smuggled"}}}"#.to_owned(),
                None,
                None,
            ),
            (
                "method twice",
                vec![],
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"create_todo","arguments":{"title":"smuggled"}}}"#.to_owned(),
                None,
                None,
            ),
            (
                "params twice",
                vec![],
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_todos"},"params":{"name":"create_todo","arguments":{"title":"smuggled"}}}"#.to_owned(),
                None,
                None,
            ),
            (
                "positional params",
                vec![],
                r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["create_todo",{"title":"smuggled"}]}"#.to_owned(),
                Some(Refused::Rpc(400, -32602)),
                Some(Refused::Rpc(400, -32602)),
            ),
            (
                "as a notification",
                vec![],
                r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"create_todo","arguments":{"title":"smuggled"}}}"#.to_owned(),
                Some(Refused::StepUp),
                Some(Refused::Accepted),
            ),
            (
                "after a byte-order mark",
                vec![],
                format!("\u{feff}{create}"),
                Some(Refused::Rpc(400, -32700)),
                Some(Refused::Rpc(400, -32700)),
            ),
            (
                "with a second message after it",
                vec![],
                format!("{create}{}", rpc_list()),
                Some(Refused::Rpc(400, -32700)),
                Some(Refused::Rpc(400, -32700)),
            ),
            (
                "Mcp-Name lying (2026-07-28)",
                vec![v2026, call_h, lie],
                create.clone(),
                Some(mismatch),
                Some(mismatch),
            ),
            (
                "Mcp-Name lying, with _meta (2026-07-28)",
                vec![v2026, call_h, lie],
                create_2026.clone(),
                Some(mismatch),
                Some(mismatch),
            ),
            (
                "Mcp-Name lying about an escaped name",
                vec![v2026, call_h, lie],
                escaped_name.to_owned(),
                Some(mismatch),
                Some(mismatch),
            ),
            (
                "Mcp-Name lying, in a different case",
                vec![v2026, ("MCP-METHOD", "tools/call"), ("MCP-NAME", "list_todos")],
                create_2026.clone(),
                Some(mismatch),
                Some(mismatch),
            ),
            (
                "Mcp-Method lying (2026-07-28)",
                vec![v2026, ("mcp-method", "tools/list")],
                create_2026.clone(),
                Some(mismatch),
                Some(mismatch),
            ),
            (
                "Mcp-Name twice",
                vec![v2026, call_h, lie, ("mcp-name", "create_todo")],
                create_2026.clone(),
                Some(mismatch),
                Some(mismatch),
            ),
            (
                "Mcp-Name lying, name twice in the body",
                vec![v2026, call_h, lie],
                format!(
                    r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"create_todo","name":"list_todos","arguments":{{"title":"smuggled"}},"_meta":{}}}}}"#,
                    meta_2026()
                ),
                None,
                None,
            ),
            (
                "Mcp-Name lying, Mcp-Method missing",
                vec![v2026, lie],
                create_2026.clone(),
                None,
                None,
            ),
            (
                "Mcp-Name lying in Base64",
                vec![v2026, call_h, ("mcp-name", "=?base64?bGlzdF90b2Rvcw==?=")],
                create_2026.clone(),
                Some(Refused::StepUp),
                Some(mismatch),
            ),
            (
                "Mcp-Name honest (2026-07-28)",
                vec![v2026, call_h, ("mcp-name", "create_todo")],
                create_2026.clone(),
                Some(Refused::StepUp),
                Some(Refused::InTool),
            ),
            (
                "Mcp-Name lying on 2025-06-18 (ignored)",
                vec![("mcp-protocol-version", "2025-06-18"), call_h, lie],
                create.clone(),
                Some(Refused::StepUp),
                Some(Refused::InTool),
            ),
            (
                "Mcp-Name lying on an unknown later revision",
                vec![("mcp-protocol-version", "9999-01-01"), call_h, lie],
                create.clone(),
                Some(Refused::Rpc(400, -32600)),
                Some(Refused::Rpc(400, -32600)),
            ),
            (
                "Mcp-Protocol-Version twice",
                vec![("mcp-protocol-version", "2025-06-18"), v2026, call_h, lie],
                create_2026.clone(),
                Some(Refused::Http(400)),
                Some(Refused::Http(400)),
            ),
        ];
        for demo in [&env.step_up, &env.plain] {
            let step_up = demo.name == "step-up";
            for (case, headers, body, in_step_up, in_plain) in &cases {
                let who = subject("smuggler");
                let token = env.signed(demo, &who, "todo:read").await;
                let auth = bearer(&token);
                let mut all = vec![("authorization", auth.as_str())];
                all.extend(headers.iter().copied());
                let res = post(demo, &all, body).await;
                let how = refusal(&res);
                let expected = if step_up { in_step_up } else { in_plain };
                if let Some(expected) = expected {
                    assert_eq!(&how, expected, "{}: {case}: {res:#?}", demo.name);
                }
                if how == Refused::StepUp {
                    // From 2026-07-28 on the challenge names only what the call needs.
                    let accumulates = headers.iter().any(|(name, value)| {
                        name.eq_ignore_ascii_case("mcp-protocol-version") && *value >= "2026-07-28"
                    });
                    let held = if accumulates { "" } else { "todo:read" };
                    assert_step_up_403(&res, demo, held);
                }
                // The invariant: no todo item was created.
                assert_eq!(
                    todos(demo, &token).await,
                    Vec::<Value>::new(),
                    "{}: {case}",
                    demo.name
                );
                eprintln!("[hostile] {} smuggling {case:?}: {how:?}", demo.name);
            }
            assert_healthy(&env).await;
        }

        // Controls: with todo:write, the same escaped name and the same 2026-07-28 headers do
        // create items (so the refusals above are the scope's doing).
        for demo in [&env.step_up, &env.plain] {
            let who = subject("writer");
            let token = env.signed(demo, &who, "todo:read todo:write").await;
            let auth = bearer(&token);
            let res = post(demo, &[("authorization", &auth)], escaped_name).await;
            assert_eq!(res.status, 200, "{res:#?}");
            assert_eq!(res.json()["result"]["isError"], false, "{res:#?}");
            let res = post(
                demo,
                &[
                    ("authorization", &auth),
                    v2026,
                    call_h,
                    ("mcp-name", "create_todo"),
                ],
                &create_2026,
            )
            .await;
            assert_eq!(res.status, 200, "{res:#?}");
            assert_eq!(res.json()["result"]["isError"], false, "{res:#?}");
            assert_eq!(todos(demo, &token).await.len(), 2);
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Strange claims in validly signed tokens

#[test]
fn strange_claim_shapes() {
    hostile("strange_claim_shapes", |env| async move {
        let demo = &env.plain;
        let who_am_i = |token: String| async move {
            let res = call(demo, &token, "whoami", json!({})).await;
            assert_eq!(res.status, 200, "{res:#?}");
            res.message()["result"]["structuredContent"].clone()
        };

        // Refused: 401 invalid_token naming the claim's problem.
        let refused: Vec<(Value, &str)> = vec![
            (
                json!({"aud": {"aud": demo.endpoint()}}),
                "token audience mismatch",
            ),
            (json!({"aud": []}), "token audience mismatch"),
            (json!({"aud": 5}), "token audience mismatch"),
            (
                json!({"exp": (unix_now() + 3600).to_string()}),
                "malformed token",
            ),
            (json!({"exp": true}), "malformed token"),
            (json!({"exp": -1}), "malformed token"),
            (json!({"exp": u64::MAX}), "malformed token"),
            (json!({"exp": i64::MAX}), "malformed token"),
            (json!({"exp": 1e300}), "malformed token"),
            (json!({"exp": null}), "token has no expiry"),
            (json!({"iat": "now"}), "malformed token"),
            (json!({"nbf": unix_now() + 86_400}), "token not yet valid"),
            (json!({"sub": null}), "token has no subject"),
            (json!({"sub": 5}), "token has no subject"),
            (json!({"sub": ""}), "token has no subject"),
            (json!({"sub": {"id": "x"}}), "token has no subject"),
            (json!({"sub": ["a", "b"]}), "token has no subject"),
            (json!({"iss": 5}), "token issuer mismatch"),
            (
                json!({"deep": serde_json::from_str::<Value>(&format!("{}{}", "[".repeat(100), "]".repeat(100))).expect("JSON")}),
                "",
            ),
        ];
        for (changes, why) in refused {
            let claims = env.claims(demo, &subject("claims"), changes.clone());
            let token = env.as_.sign(json!({}), claims).await;
            let res = call(demo, &token, "whoami", json!({})).await;
            if why.is_empty() {
                // 100 levels are within what JSON parsers take: accepted.
                assert_eq!(res.status, 200, "{changes}: {res:#?}");
            } else {
                assert_eq!(res.status, 401, "{changes}: {res:#?}");
                assert_eq!(res.json()["error_description"], why, "{changes}");
                assert_invalid_token(&res, demo, why, Some(&token));
            }
        }
        // Nested beyond the JSON parser's depth limit: refused as malformed, the server fine.
        let mut deep = json!([]);
        for _ in 0..200 {
            deep = json!([deep]);
        }
        let claims = env.claims(demo, &subject("deep"), json!({"deep": deep}));
        let token = env.as_.sign(json!({}), claims).await;
        let res = call(demo, &token, "whoami", json!({})).await;
        assert_invalid_token(&res, demo, "malformed token", Some(&token));

        // Accepted, with the scopes the claims say (strings only) and no others.
        let accepted: Vec<(Value, Vec<&str>)> = vec![
            (json!({"scope": 5}), vec![]),
            (json!({"scope": [1, 2]}), vec![]),
            (
                json!({"scope": ["todo:read", 5, null, {"a": 1}]}),
                vec!["todo:read"],
            ),
            (json!({"scope": {"todo:read": true}}), vec![]),
            (json!({"scope": ""}), vec![]),
            (
                json!({"scope": " todo:read\t\ttodo:write  todo:read "}),
                vec!["todo:read", "todo:write"],
            ),
            (
                json!({"scope": null, "scp": ["todo:read"], "scopes": "todo:write"}),
                vec!["todo:read", "todo:write"],
            ),
            (json!({"aud": [demo.endpoint(), 5, {}]}), vec!["todo:read"]),
            (json!({"sub": "ünïcødé \u{202e} 👀"}), vec!["todo:read"]),
        ];
        for (changes, scopes) in accepted {
            let who = subject("claims");
            let mut claims = env.claims(demo, &who, changes.clone());
            if changes.get("sub").is_some() {
                claims["sub"] = changes["sub"].clone();
            }
            let token = env.as_.sign(json!({}), claims.clone()).await;
            let me = who_am_i(token.clone()).await;
            assert_eq!(me["scopes"], json!(scopes), "{changes}: {me}");
            assert_eq!(me["subject"], claims["sub"], "{changes}: {me}");
            // The scopes decide, as for any token.
            let res = call(demo, &token, "create_todo", json!({"title": "claims"})).await;
            if scopes.contains(&"todo:write") {
                assert_eq!(
                    res.message()["result"]["isError"],
                    false,
                    "{changes}: {res:#?}"
                );
            } else {
                assert_tool_refusal(&res);
            }
        }

        // A far-future `exp` that still fits the clock is accepted and reported as it is.
        for exp in [32_503_680_000u64, 1_000_000_000_000_000_000] {
            let claims = env.claims(demo, &subject("exp"), json!({"exp": exp}));
            let me = who_am_i(env.as_.sign(json!({}), claims).await).await;
            assert_eq!(me["expires_at_unix"], exp, "{me}");
        }
        let claims = env.claims(demo, &subject("exp"), json!({"exp": 4_102_444_800.5}));
        let me = who_am_i(env.as_.sign(json!({}), claims).await).await;
        assert_eq!(me["expires_at_unix"], 4_102_444_800u64, "{me}");

        // 1000 scopes: all of them, and they work.
        let mut many: Vec<String> = (0..998).map(|i| format!("s{i}")).collect();
        many.extend(["todo:read".to_owned(), "todo:write".to_owned()]);
        let who = subject("many");
        let claims = env.claims(demo, &who, json!({"scope": many.join(" ")}));
        let token = env.as_.sign(json!({}), claims).await;
        let me = who_am_i(token.clone()).await;
        assert_eq!(me["scopes"], json!(many), "{me}");
        let res = call(demo, &token, "create_todo", json!({"title": "many scopes"})).await;
        assert_eq!(res.message()["result"]["isError"], false, "{res:#?}");
        assert_eq!(todos(demo, &token).await.len(), 1);

        // Step-up: the challenge names the scopes held, whatever they look like.
        let demo = &env.step_up;
        let few: Vec<&str> = many[..998]
            .iter()
            .map(String::as_str)
            .chain(["todo:read"])
            .collect();
        for (scope, held) in [
            (json!(few.join(" ")), few.join(" ")),
            (json!(5), String::new()),
            (
                json!("todo:read a\"b c\\d"),
                "todo:read a\"b c\\d".to_owned(),
            ),
        ] {
            let claims = env.claims(demo, &subject("step-up-claims"), json!({"scope": scope}));
            let token = env.as_.sign(json!({}), claims).await;
            let res = call(demo, &token, "create_todo", json!({"title": "claims"})).await;
            assert_eq!(res.status, 403, "{res:#?}");
            let challenge = res.challenge();
            assert_eq!(challenge.param("error"), Some("insufficient_scope"));
            let wanted = if held.is_empty() {
                "todo:write".to_owned()
            } else {
                format!("{held} todo:write")
            };
            assert_eq!(challenge.param("scope"), Some(wanted.as_str()));
            assert_eq!(challenge.param("error_description"), Some(NEEDS_WRITE));
        }
        // Scopes that are not ASCII, or hold control characters: still a 403 with a challenge
        // (control characters dropped).
        let claims = env.claims(
            demo,
            &subject("step-up-claims"),
            json!({"scope": "todo:read tödo:réad x\u{7}y"}),
        );
        let token = env.as_.sign(json!({}), claims).await;
        let res = call(demo, &token, "create_todo", json!({"title": "claims"})).await;
        assert_eq!(res.status, 403, "{res:#?}");
        let header = res
            .headers
            .get("www-authenticate")
            .unwrap_or_else(|| panic!("403 without a challenge: {res:#?}"));
        let challenge = Challenge::parse(&String::from_utf8_lossy(header.as_bytes()));
        assert_eq!(challenge.param("error"), Some("insufficient_scope"));
        assert_eq!(
            challenge.param("scope"),
            Some("todo:read tödo:réad xy todo:write")
        );
    });
}
