//! Launcher for the test authorization server, `tests/e2e/as/server.mjs` (oidc-provider).
//!
//! ```ignore
//! #[path = "support/oidc.rs"]
//! mod oidc;
//!
//! let as_ = oidc::TestAs::start(oidc::AsOptions::default()).await;
//! let token = as_.client_credentials("todo:read").await;
//! ```
//!
//! The AS runs as a `node` child process bound to `127.0.0.1` (port 0 unless [`AsOptions::port`]);
//! its one JSON ready line on stdout gives the issuer, JWKS and token URLs. It is killed when the
//! [`TestAs`] is dropped, and exits by itself if the test process dies (its stdin closes).
//! `node_modules` is installed with `npm ci` on first use, under a lock shared by every test
//! binary. `TEST_AS_NODE` / `TEST_AS_NPM` override the `node` / `npm` executables;
//! `TEST_AS_LOG=1` echoes the AS log to stderr.
//!
//! Needs only std, tokio, reqwest (`json`) and serde_json.

#![allow(dead_code)]

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};

/// How long to wait for the ready line (the first start may also run `npm ci`, before this).
const READY_TIMEOUT: Duration = Duration::from_secs(20);

/// Default confidential client: every scope, `client_credentials` (and code flow with PKCE).
pub const DEFAULT_CLIENT_ID: &str = "test-client";
/// Secret of [`DEFAULT_CLIENT_ID`].
pub const DEFAULT_CLIENT_SECRET: &str = "test-secret";

/// Shape of the issuer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AsMode {
    /// Plain OAuth: JWKS at `/jwks`, `aud` = the resource URL, header `typ: at+jwt`.
    #[default]
    Generic,
    /// Shaped like Scalekit: JWKS at `/keys`, `aud` = the `res_…` id, header `typ: JWT`,
    /// per-resource AS metadata at `/.well-known/oauth-authorization-server/resources/{res_id}`.
    Scalekit,
}

/// An extra static client (`AS_CLIENTS`): a second subject for `client_credentials` tokens.
#[derive(Debug, Clone)]
pub struct StaticClient {
    pub client_id: String,
    pub client_secret: String,
    /// Scopes the client may ask for (space separated); `None` = every scope.
    pub scope: Option<String>,
}

impl StaticClient {
    pub fn new(client_id: &str, client_secret: &str, scope: Option<&str>) -> Self {
        Self {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            scope: scope.map(str::to_owned),
        }
    }
}

/// Configuration of a [`TestAs`]; each field maps to one `AS_*` env var of `server.mjs`.
#[derive(Debug, Clone)]
pub struct AsOptions {
    /// `AS_MODE`.
    pub mode: AsMode,
    /// `AS_RESOURCE`: the default resource indicator (the MCP URL). Any other absolute URL a
    /// client names is accepted too (its own audience in generic mode) unless `strict_resource`.
    pub resource: String,
    /// `AS_RESOURCE_ID`: the Scalekit resource id, the audience in scalekit mode.
    pub resource_id: String,
    /// `AS_KEY_FILE`: a private JWK, created if missing. `None` = a fresh key per start.
    pub key_file: Option<PathBuf>,
    /// `AS_TOKEN_TTL` in seconds (default 300).
    pub token_ttl: Option<u64>,
    /// `AS_PORT` (`None` = any free port).
    pub port: Option<u16>,
    /// `AS_SCOPES` (space separated; `None` = the demo's scopes).
    pub scopes: Option<String>,
    /// `AS_SUBJECT`: the user the interaction logs in (default `user-1`).
    pub subject: Option<String>,
    /// `AS_CLIENTS`.
    pub clients: Vec<StaticClient>,
    /// `AS_STRICT_RESOURCE`: reject resource indicators other than `resource`.
    pub strict_resource: bool,
    /// Any other env var for `server.mjs` (`AS_TYP`, `AS_TOKEN_ISS`, `AS_AUD_ARRAY`,
    /// `AS_SCOPE_CLAIMS`, `AS_EXTRA_CLAIMS`, …; see `tests/e2e/as/README.md`).
    pub env: Vec<(String, String)>,
}

impl Default for AsOptions {
    fn default() -> Self {
        Self {
            mode: AsMode::Generic,
            resource: "http://127.0.0.1:3002/mcp".to_owned(),
            resource_id: "res_test123".to_owned(),
            key_file: None,
            token_ttl: None,
            port: None,
            scopes: None,
            subject: None,
            clients: Vec::new(),
            strict_resource: false,
            env: Vec::new(),
        }
    }
}

impl AsOptions {
    /// Scalekit-shaped defaults.
    pub fn scalekit() -> Self {
        Self {
            mode: AsMode::Scalekit,
            ..Self::default()
        }
    }

    /// Sets `resource` (usually the MCP URL of the server under test).
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = resource.into();
        self
    }

    /// Adds a raw `AS_*` env var.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }
}

/// A running test authorization server.
pub struct TestAs {
    pub issuer: String,
    pub jwks_uri: String,
    pub token_endpoint: String,
    pub authorization_endpoint: String,
    pub registration_endpoint: String,
    pub port: u16,
    /// `kid` of the signing key.
    pub kid: String,
    /// The whole ready line.
    pub ready: Value,
    opts: AsOptions,
    child: Option<Child>,
    // Held open so that the AS exits when this process dies (AS_EXIT_ON_STDIN_CLOSE).
    stdin: Option<ChildStdin>,
    log: Arc<Mutex<String>>,
    http: reqwest::Client,
}

impl std::fmt::Debug for TestAs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestAs")
            .field("issuer", &self.issuer)
            .field("mode", &self.opts.mode)
            .field("port", &self.port)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TestAs {
    /// Starts the AS and waits for its ready line; panics with its stderr if it does not come.
    pub async fn start(opts: AsOptions) -> TestAs {
        let dir = as_dir();
        {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || ensure_node_modules(&dir))
                .await
                .expect("npm ci task panicked");
        }
        // A fixed port may still be held for a moment by a just-killed AS, or taken by another
        // test: retry a few times on EADDRINUSE.
        let mut attempt = 0;
        loop {
            match Self::spawn(&dir, &opts).await {
                Ok(as_) => return as_,
                Err(log) if opts.port.is_some() && log.contains("EADDRINUSE") && attempt < 10 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(log) => panic!(
                    "test AS did not start (node {}/server.mjs):\n{log}",
                    dir.display()
                ),
            }
        }
    }

    async fn spawn(dir: &Path, opts: &AsOptions) -> Result<TestAs, String> {
        let node = std::env::var("TEST_AS_NODE").unwrap_or_else(|_| "node".to_owned());
        let mut cmd = Command::new(&node);
        cmd.arg(dir.join("server.mjs"))
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("AS_EXIT_ON_STDIN_CLOSE", "1")
            .env(
                "AS_MODE",
                match opts.mode {
                    AsMode::Generic => "generic",
                    AsMode::Scalekit => "scalekit",
                },
            )
            .env("AS_PORT", opts.port.unwrap_or(0).to_string())
            .env("AS_RESOURCE", &opts.resource)
            .env("AS_RESOURCE_ID", &opts.resource_id);
        if let Some(key_file) = &opts.key_file {
            cmd.env("AS_KEY_FILE", key_file);
        }
        if let Some(ttl) = opts.token_ttl {
            cmd.env("AS_TOKEN_TTL", ttl.to_string());
        }
        if let Some(scopes) = &opts.scopes {
            cmd.env("AS_SCOPES", scopes);
        }
        if let Some(subject) = &opts.subject {
            cmd.env("AS_SUBJECT", subject);
        }
        if !opts.clients.is_empty() {
            let clients: Vec<Value> = opts
                .clients
                .iter()
                .map(|c| {
                    let mut v =
                        json!({ "client_id": c.client_id, "client_secret": c.client_secret });
                    if let Some(scope) = &c.scope {
                        v["scope"] = json!(scope);
                    }
                    v
                })
                .collect();
            cmd.env("AS_CLIENTS", Value::Array(clients).to_string());
        }
        if opts.strict_resource {
            cmd.env("AS_STRICT_RESOURCE", "1");
        }
        for (k, v) in &opts.env {
            cmd.env(k, v);
        }

        let mut child = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot run `{node}` (is Node.js installed? TEST_AS_NODE overrides): {e}")
        });
        let stdin = child.stdin.take();
        let log = Arc::new(Mutex::new(String::new()));
        let echo = std::env::var_os("TEST_AS_LOG").is_some_and(|v| v != "0");

        {
            let mut stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut line = String::new();
                while matches!(stderr.read_line(&mut line), Ok(n) if n > 0) {
                    if echo {
                        eprint!("[test-as] {line}");
                    }
                    log.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push_str(&line);
                    line.clear();
                }
            });
        }

        let (tx, rx) = tokio::sync::oneshot::channel::<Value>();
        {
            let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                let mut tx = Some(tx);
                let mut line = String::new();
                while matches!(stdout.read_line(&mut line), Ok(n) if n > 0) {
                    match serde_json::from_str::<Value>(line.trim()) {
                        Ok(v) if v["ready"] == true && tx.is_some() => {
                            let _ = tx.take().expect("checked").send(v);
                        }
                        _ => log
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push_str(&line),
                    }
                    line.clear();
                }
                // Keep draining until EOF so the child never blocks on a full pipe; dropping
                // `tx` without a value tells `start` the AS exited before it was ready.
                let _ = std::io::copy(&mut stdout, &mut std::io::sink());
            });
        }

        let ready = match tokio::time::timeout(READY_TIMEOUT, rx).await {
            Ok(Ok(v)) => v,
            outcome => {
                let _ = child.kill();
                let status = child.wait().ok();
                // Give the stderr thread a moment to collect the last words.
                tokio::time::sleep(Duration::from_millis(100)).await;
                let why = match outcome {
                    Err(_) => format!("no ready line within {READY_TIMEOUT:?}"),
                    _ => format!("exited before it was ready ({status:?})"),
                };
                let log = log.lock().unwrap_or_else(|e| e.into_inner()).clone();
                return Err(format!("{why}; its stderr:\n{log}"));
            }
        };

        let field = |name: &str| -> String {
            ready[name]
                .as_str()
                .unwrap_or_else(|| panic!("ready line lacks {name}: {ready}"))
                .to_owned()
        };
        let port = ready["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or_else(|| panic!("ready line lacks port: {ready}"));
        Ok(TestAs {
            issuer: field("issuer"),
            jwks_uri: field("jwks_uri"),
            token_endpoint: field("token_endpoint"),
            authorization_endpoint: field("authorization_endpoint"),
            registration_endpoint: field("registration_endpoint"),
            kid: field("kid"),
            port,
            ready,
            opts: opts.clone(),
            child: Some(child),
            stdin,
            log,
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("reqwest client"),
        })
    }

    /// The options this AS was started with (`port` as given, not as bound).
    pub fn options(&self) -> &AsOptions {
        &self.opts
    }

    pub fn mode(&self) -> AsMode {
        self.opts.mode
    }

    /// Scalekit's per-resource issuer, `{issuer}/resources/{res_id}` (what a Scalekit-backed
    /// resource server lists in `authorization_servers`).
    pub fn resource_issuer(&self) -> String {
        format!("{}/resources/{}", self.issuer, self.opts.resource_id)
    }

    /// The audience tokens carry for `opts.resource`: the resource URL, or the `res_…` id.
    pub fn audience(&self) -> &str {
        match self.opts.mode {
            AsMode::Generic => &self.opts.resource,
            AsMode::Scalekit => &self.opts.resource_id,
        }
    }

    /// Everything the AS wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A `client_credentials` access token of the default client for `opts.resource`.
    pub async fn client_credentials(&self, scope: &str) -> String {
        self.client_credentials_as(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, scope)
            .await
    }

    /// A `client_credentials` access token of the given client (its id becomes `sub`).
    pub async fn client_credentials_as(
        &self,
        client_id: &str,
        client_secret: &str,
        scope: &str,
    ) -> String {
        self.client_credentials_for(client_id, client_secret, scope, &self.opts.resource)
            .await
    }

    /// A `client_credentials` access token for another resource indicator.
    pub async fn client_credentials_for(
        &self,
        client_id: &str,
        client_secret: &str,
        scope: &str,
        resource: &str,
    ) -> String {
        let mut form = vec![("grant_type", "client_credentials"), ("resource", resource)];
        if !scope.is_empty() {
            form.push(("scope", scope));
        }
        let (status, body) = self
            .token_request(&form, Some((client_id, client_secret)))
            .await;
        match body["access_token"].as_str() {
            Some(token) if status == 200 => token.to_owned(),
            _ => panic!(
                "client_credentials ({client_id}, scope {scope:?}) failed: {status} {body}\nAS log:\n{}",
                self.log()
            ),
        }
    }

    /// A raw request to the token endpoint (form-encoded; HTTP Basic when `client` is given):
    /// `(status, JSON body)`, for tests that expect an error.
    pub async fn token_request(
        &self,
        form: &[(&str, &str)],
        client: Option<(&str, &str)>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .post(&self.token_endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_urlencode(form));
        if let Some((id, secret)) = client {
            // RFC 6749 §2.3.1: id and secret are form-encoded before Basic.
            req = req.basic_auth(
                form_urlencode_component(id),
                Some(form_urlencode_component(secret)),
            );
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("token endpoint {}: {e}", self.token_endpoint));
        let status = res.status().as_u16();
        let body = res.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Signs any header/payload with the AS's current key (RS256, its `kid`, `typ` of the mode
    /// unless `header` says otherwise): tokens without `exp`, with a wrong `aud`, expired, …
    pub async fn sign(&self, header: Value, payload: Value) -> String {
        let res = self
            .http
            .post(format!("{}/__sign", self.issuer))
            .json(&json!({ "header": header, "payload": payload }))
            .send()
            .await
            .expect("POST /__sign");
        let body: Value = res.json().await.expect("/__sign JSON");
        body["token"].as_str().expect("/__sign token").to_owned()
    }

    /// The AS's JWKS document.
    pub async fn jwks(&self) -> Value {
        self.http
            .get(&self.jwks_uri)
            .send()
            .await
            .expect("GET jwks")
            .json()
            .await
            .expect("JWKS JSON")
    }

    /// Kills the AS and waits for it to exit (its port is free afterwards).
    pub fn stop(mut self) {
        self.kill();
    }

    /// Stops this AS and starts another on the same port with `key_file` (a path that does not
    /// exist yet = a new key: key rotation; the same path = the same key).
    pub async fn restart_with_key(self, key_file: Option<PathBuf>) -> TestAs {
        self.restart_with(|o| o.key_file = key_file).await
    }

    /// Stops this AS and starts another on the same port with modified options.
    pub async fn restart_with(mut self, change: impl FnOnce(&mut AsOptions)) -> TestAs {
        let mut opts = self.opts.clone();
        opts.port = Some(self.port);
        change(&mut opts);
        self.kill();
        TestAs::start(opts).await
    }

    fn kill(&mut self) {
        self.stdin.take();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestAs {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Header and payload of a compact JWS, not verified.
pub fn decode_jwt(token: &str) -> (Value, Value) {
    let mut parts = token.split('.');
    let mut part = |what: &str| -> Value {
        let bytes = base64url_decode(
            parts
                .next()
                .unwrap_or_else(|| panic!("JWT without {what}: {token}")),
        )
        .unwrap_or_else(|| panic!("JWT {what} is not base64url: {token}"));
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("JWT {what} is not JSON ({e}): {token}"))
    };
    let header = part("header");
    let payload = part("payload");
    (header, payload)
}

/// `{CARGO_MANIFEST_DIR}/e2e/as` (the tests crate lives at `<root>/tests`).
pub fn as_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("e2e").join("as")
}

/// Runs `npm ci` in `dir` unless `node_modules` is complete, under a lock that serializes test
/// threads and test binaries.
fn ensure_node_modules(dir: &Path) {
    static IN_PROCESS: Mutex<()> = Mutex::new(());
    // npm writes this file last, once the install is complete.
    let installed = || dir.join("node_modules").join(".package-lock.json").exists();
    if installed() {
        return;
    }
    let _in_process = IN_PROCESS.lock().unwrap_or_else(|e| e.into_inner());
    let _lock = DirLock::acquire(dir);
    if installed() {
        return;
    }
    let npm = std::env::var("TEST_AS_NPM").unwrap_or_else(|_| "npm".to_owned());
    let out = Command::new(&npm)
        .args(["ci", "--no-audit", "--no-fund", "--prefix"])
        .arg(dir)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{npm} ci` in {}: {e}", dir.display()));
    if !out.status.success() {
        panic!(
            "`{npm} ci --prefix {}` failed ({}); run it by hand to see why:\n{}\n{}",
            dir.display(),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// A cross-process lock: a directory in the temp dir (atomic `create_dir`), named after `dir`.
struct DirLock(PathBuf);

impl DirLock {
    fn acquire(dir: &Path) -> DirLock {
        let mut h = DefaultHasher::new();
        dir.hash(&mut h);
        let path = std::env::temp_dir().join(format!("test-as-npm-ci-{:016x}.lock", h.finish()));
        let started = Instant::now();
        loop {
            match std::fs::create_dir(&path) {
                Ok(()) => return DirLock(path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    // A holder that died leaves the directory behind: npm ci never takes 10 min.
                    let stale = std::fs::metadata(&path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| SystemTime::now().duration_since(t).ok())
                        .is_some_and(|age| age > Duration::from_secs(600));
                    if stale {
                        let _ = std::fs::remove_dir(&path);
                        continue;
                    }
                    assert!(
                        started.elapsed() < Duration::from_secs(900),
                        "waited 15 min for {}; remove it if no npm ci is running",
                        path.display()
                    );
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(e) => panic!("cannot create lock {}: {e}", path.display()),
            }
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn form_urlencode(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                form_urlencode_component(k),
                form_urlencode_component(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

fn form_urlencode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn base64url_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.trim_end_matches('=').bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}
