//! Test harness: runs the real `demo-server` binary on a port the OS picks
//! (`--port 0`), with its own database and development signing key in a
//! scratch directory, and talks to it over plain HTTP/1.1 with the shared
//! `mcp-test-client`.

#![allow(dead_code)] // each test crate uses a different part of the harness

use std::{
    fs,
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use mcp_test_client::{Mcp, Response};
use serde_json::{Value, json};

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_demo-server");

/// How long a server may take to start or stop on a busy machine.
pub const STARTUP: Duration = Duration::from_secs(60);

#[path = "env.rs"]
mod env;
pub use env::DEMO_ENV;

/// A command running the demo binary with a clean environment.
pub fn demo_command() -> Command {
    let mut cmd = Command::new(BIN);
    for var in DEMO_ENV {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1").env("RUST_LOG", "info,rmcp=warn");
    cmd.stdin(Stdio::null());
    cmd
}

/// A scratch directory, removed when dropped.
#[derive(Debug)]
pub struct Scratch {
    pub dir: PathBuf,
    runs: AtomicUsize,
}

impl Scratch {
    pub fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!(
            "demo-server-test-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(&dir).unwrap();
        Self {
            dir,
            runs: AtomicUsize::new(0),
        }
    }

    /// The demo's database file.
    pub fn db(&self) -> PathBuf {
        self.dir.join("data").join("demo.sqlite3")
    }

    /// The development issuer's signing key.
    pub fn key(&self) -> PathBuf {
        self.dir.join("dev-key.pem")
    }

    fn next_run(&self) -> usize {
        self.runs.fetch_add(1, Ordering::Relaxed)
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A running demo server; killed when dropped (use [`Demo::stop`] for a
/// graceful stop).
#[derive(Debug)]
pub struct Demo {
    child: Option<Child>,
    pub port: u16,
    pub key: PathBuf,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Demo {
    /// Starts the demo with `--port 0` and the scratch directory's database
    /// and key, plus `args`; returns once it prints where it listens.
    pub fn start(scratch: &Scratch, args: &[&str]) -> Self {
        Self::start_with(scratch, demo_command(), args)
    }

    /// Like [`Demo::start`], from `cmd` (a [`demo_command`] with changes,
    /// such as its environment).
    pub fn start_with(scratch: &Scratch, mut cmd: Command, args: &[&str]) -> Self {
        cmd.arg("--port")
            .arg("0")
            .arg("--db")
            .arg(scratch.db())
            .arg("--dev-key-file")
            .arg(scratch.key())
            .args(args);
        Self::spawn(scratch, cmd)
    }

    /// Starts `cmd` (a demo server command), logging to the scratch directory.
    pub fn spawn(scratch: &Scratch, mut cmd: Command) -> Self {
        let run = scratch.next_run();
        let stdout = scratch.dir.join(format!("stdout-{run}.log"));
        let stderr = scratch.dir.join(format!("stderr-{run}.log"));
        cmd.stdout(fs::File::create(&stdout).unwrap())
            .stderr(fs::File::create(&stderr).unwrap());
        let child = cmd.spawn().expect("spawn demo-server");
        let mut demo = Self {
            child: Some(child),
            port: 0,
            key: scratch.key(),
            stdout,
            stderr,
        };
        demo.port = demo.wait_listening();
        demo
    }

    fn wait_listening(&mut self) -> u16 {
        let deadline = Instant::now() + STARTUP;
        loop {
            let out = fs::read_to_string(&self.stdout).unwrap_or_default();
            if let Some(line) = out.lines().find(|l| l.contains(" listening on ")) {
                let addr = line.rsplit(' ').next().unwrap();
                let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
                assert_ne!(port, 0, "the banner names port 0: {line}");
                return port;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "demo-server exited ({status}) before listening\nstdout:\n{out}\nstderr:\n{}",
                    self.stderr()
                );
            }
            assert!(
                Instant::now() < deadline,
                "demo-server did not listen within {STARTUP:?}\nstdout:\n{out}\nstderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the server printed on stdout so far.
    pub fn stdout(&self) -> String {
        fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    /// What the server logged on stderr so far.
    pub fn stderr(&self) -> String {
        fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The MCP endpoint's URL.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}/mcp", self.port)
    }

    /// A token from the same binary's `token` command, for this server's
    /// base URL and signing key.
    pub fn token(&self, scopes: &str, subject: &str) -> String {
        let out = demo_command()
            .arg("token")
            .arg("--port")
            .arg(self.port.to_string())
            .arg("--dev-key-file")
            .arg(&self.key)
            .arg("--scope")
            .arg(scopes)
            .arg("--subject")
            .arg(subject)
            .output()
            .expect("run demo-server token");
        assert!(
            out.status.success(),
            "token failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        assert_eq!(token.split('.').count(), 3, "not a JWT: {token}");
        token
    }

    /// An MCP client of `/mcp`, sending `token` as a bearer token.
    pub fn mcp(&self, token: Option<&str>) -> Mcp {
        Mcp::new(self.endpoint()).bearer(token)
    }

    /// POSTs a JSON-RPC message to `/mcp`.
    pub fn post(&self, token: Option<&str>, body: &Value) -> Response {
        block_on(self.mcp(token).post(body))
    }

    /// Calls `tool` and returns the JSON-RPC `result` (a tool result).
    pub fn call(&self, token: &str, tool: &str, arguments: Value) -> Value {
        let res = block_on(self.mcp(Some(token)).call_tool(tool, arguments));
        assert_eq!(res.status, 200, "{tool}: {res:?}");
        let msg = res.message();
        assert!(msg.get("error").is_none(), "{tool}: JSON-RPC error {msg}");
        msg["result"].clone()
    }

    /// Calls `tool`, asserts it succeeded and returns its structured content.
    pub fn ok(&self, token: &str, tool: &str, arguments: Value) -> Value {
        let result = self.call(token, tool, arguments);
        assert_eq!(result["isError"], false, "{tool} failed: {result}");
        let structured = result["structuredContent"].clone();
        assert!(
            structured.is_object(),
            "{tool}: no structured content: {result}"
        );
        // The text content is the same JSON, for clients that ignore structuredContent.
        let text = result["content"][0]["text"].as_str().unwrap();
        assert_eq!(serde_json::from_str::<Value>(text).unwrap(), structured);
        structured
    }

    /// Calls `tool`, asserts it failed as a tool error (`isError: true`, the
    /// message as text content) and returns the message.
    pub fn err(&self, token: &str, tool: &str, arguments: Value) -> String {
        let result = self.call(token, tool, arguments);
        assert_eq!(result["isError"], true, "{tool} did not fail: {result}");
        result["content"][0]["text"]
            .as_str()
            .unwrap_or_else(|| panic!("{tool}: no error text in {result}"))
            .to_owned()
    }

    /// Asserts that `tool` refuses the call for lack of `scope` the way the
    /// reference does: `isError: true`, structured content
    /// `{"error": "Insufficient permissions: `<scope>` scope required."}` and
    /// the same JSON as text.
    pub fn refused(&self, token: &str, tool: &str, arguments: Value, scope: &str) {
        let result = self.call(token, tool, arguments);
        assert_eq!(result["isError"], true, "{tool} was not refused: {result}");
        let expected =
            json!({ "error": format!("Insufficient permissions: `{scope}` scope required.") });
        assert_eq!(result["structuredContent"], expected, "{tool}: {result}");
        let text = result["content"][0]["text"].as_str().unwrap();
        assert_eq!(
            serde_json::from_str::<Value>(text).unwrap(),
            expected,
            "{tool}"
        );
    }

    /// Stops the server with SIGTERM and returns its exit status, asserting
    /// that it exits within `within`.
    pub fn stop(&mut self, within: Duration) -> ExitStatus {
        let mut child = self.child.take().unwrap();
        let killed = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status()
            .expect("run kill");
        assert!(killed.success());
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "demo-server did not exit within {within:?} of SIGTERM\nstderr:\n{}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Runs `future` (a request of the shared MCP test client) to completion.
pub fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime")
        .block_on(future)
}

/// One HTTP/1.1 request to 127.0.0.1:`port` (`Connection: close`).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&str>,
) -> Response {
    let url = format!("http://127.0.0.1:{port}{path}");
    block_on(mcp_test_client::request(method, &url, headers, body))
}

/// Every object key anywhere in `v`.
pub fn keys(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, v) in m {
                    out.push(k.clone());
                    walk(v, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    walk(v, &mut out);
    out
}
