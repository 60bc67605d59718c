//! `demo-server stdio`, launched as desktop clients launch MCP servers: the
//! binary as a child process, JSON-RPC lines on its stdin and stdout. The
//! caller comes from the environment, and the scope rules are those of HTTP.

mod common;

use std::{
    io::{BufRead, BufReader, Read, Write},
    process::{Child, ChildStdin, ChildStdout, ExitStatus, Stdio},
    sync::mpsc,
    thread,
    time::Duration,
};

use common::{STARTUP, Scratch, demo_command};
use serde_json::{Value, json};

/// A `demo-server stdio` child and the lines it writes.
struct StdioServer {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    /// Every line read from stdout so far.
    seen: Vec<String>,
    /// What the child writes to stderr, when it is captured.
    stderr: Option<thread::JoinHandle<Vec<u8>>>,
    next_id: u64,
}

impl Drop for StdioServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo's environment for a stdio child in `scratch` (its database and
/// development key there), plus `env`.
fn command(scratch: &Scratch, env: &[(&str, &str)]) -> std::process::Command {
    let mut cmd = demo_command();
    cmd.env("DEMO_DB", scratch.dir.join("demo.db"))
        .env("MCP_DEV_KEY_FILE", scratch.dir.join("dev-key.pem"));
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// A development token for `subject` with `scopes`, from the same key the
/// stdio child uses.
fn dev_token(scratch: &Scratch, subject: &str, scopes: &str) -> String {
    let out = command(scratch, &[])
        .args(["token", "--subject", subject, "--scope", scopes])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

impl StdioServer {
    fn start(scratch: &Scratch, env: &[(&str, &str)]) -> Self {
        let mut cmd = command(scratch, env);
        cmd.stderr(Stdio::null());
        Self::spawn(cmd)
    }

    /// `cmd stdio`, its stdin and stdout piped; its stderr as `cmd` says
    /// (read to the end by a thread when piped).
    fn spawn(mut cmd: std::process::Command) -> Self {
        let mut child = cmd
            .arg("stdio")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().map(|mut pipe| {
            thread::spawn(move || {
                let mut all = Vec::new();
                let _ = pipe.read_to_end(&mut all);
                all
            })
        });
        let stdout: ChildStdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
            stderr,
            next_id: 0,
        }
    }

    fn send(&mut self, message: &Value) {
        self.send_line(&message.to_string());
    }

    /// Writes `line` and a newline to the server's stdin, as it is.
    fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Sends a request and returns its response; every line the server
    /// writes meanwhile must be a JSON-RPC message.
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        loop {
            let line = self
                .lines
                .recv_timeout(STARTUP)
                .unwrap_or_else(|e| panic!("no answer to {method}: {e}"));
            self.seen.push(line.clone());
            let message: Value = serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("stdout carries a line that is not JSON ({e}): {line}"));
            assert_eq!(message["jsonrpc"], "2.0", "{line}");
            if message["id"] == id {
                return message;
            }
        }
    }

    /// `initialize` at 2025-11-25, then `notifications/initialized`.
    fn initialize(&mut self) -> Value {
        let init = self.request(
            "initialize",
            json!({"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": "stdio-test", "version": "1"}}),
        );
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        init
    }

    /// Closes stdin and waits for the server to exit.
    fn finish(mut self) -> ExitStatus {
        self.close()
    }

    /// Closes stdin, waits for the server to exit, and returns its status,
    /// every line it wrote to stdout and what it wrote to stderr (empty when
    /// stderr was not captured).
    fn finish_with_output(mut self) -> (ExitStatus, Vec<String>, String) {
        let status = self.close();
        // The reader thread ends at the end of stdout, dropping its sender.
        loop {
            match self.lines.recv_timeout(STARTUP) {
                Ok(line) => self.seen.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => break,
                Err(mpsc::RecvTimeoutError::Timeout) => panic!("stdout stayed open after the exit"),
            }
        }
        let stderr = self
            .stderr
            .take()
            .map(|reader| String::from_utf8_lossy(&reader.join().unwrap()).into_owned())
            .unwrap_or_default();
        (status, std::mem::take(&mut self.seen), stderr)
    }

    fn close(&mut self) -> ExitStatus {
        drop(self.stdin.take());
        let deadline = std::time::Instant::now() + STARTUP;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server did not exit after stdin closed"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }
}

/// `_meta` of a 2026-07-28 request.
fn meta_2026() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "stdio-test", "version": "1"}
    })
}

fn call(name: &str, arguments: Value) -> Value {
    json!({"name": name, "arguments": arguments})
}

fn refusal(scope: &str) -> Value {
    json!({"error": format!("Insufficient permissions: `{scope}` scope required.")})
}

#[test]
fn a_local_identity_holds_exactly_its_scopes() {
    let scratch = Scratch::new();
    let mut server = StdioServer::start(
        &scratch,
        &[
            ("MCP_STDIO_SUBJECT", "alice"),
            ("MCP_STDIO_SCOPES", "todo:read,todo:write"),
        ],
    );
    let init = server.initialize();
    assert_eq!(
        init["result"]["serverInfo"]["name"], "demo-server",
        "{init}"
    );
    assert_eq!(init["result"]["protocolVersion"], "2025-11-25", "{init}");

    let who = server.request("tools/call", call("whoami", json!({})));
    assert_eq!(
        who["result"]["structuredContent"]["subject"], "alice",
        "{who}"
    );
    assert_eq!(
        who["result"]["structuredContent"]["scopes"],
        json!(["todo:read", "todo:write"])
    );
    let created = server.request(
        "tools/call",
        call("create_todo", json!({"title": "over stdio"})),
    );
    assert_eq!(created["result"]["isError"], false, "{created}");
    let listed = server.request("tools/call", call("list_todos", json!({})));
    assert_eq!(
        listed["result"]["structuredContent"]["todos"][0]["title"], "over stdio",
        "{listed}"
    );
    // Scopes not named are not held.
    let refused = server.request("tools/call", call("list_employees", json!({})));
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    assert_eq!(refused["result"]["structuredContent"], refusal("hr:read"));
    let read = server.request("resources/read", json!({"uri": "hr://employees/1"}));
    assert_eq!(read["error"]["code"], -32003, "{read}");
    // The caller's own resource.
    let mine = server.request("resources/read", json!({"uri": "todo://items"}));
    let text = mine["result"]["contents"][0]["text"]
        .as_str()
        .unwrap_or_default();
    assert!(text.contains("over stdio"), "{mine}");

    assert!(
        server.finish().success(),
        "the server exits cleanly when stdin closes"
    );
}

#[test]
fn a_token_is_verified_and_2026_07_28_needs_no_initialize() {
    let scratch = Scratch::new();
    let token = dev_token(&scratch, "bob", "todo:read");
    let mut server = StdioServer::start(&scratch, &[("MCP_STDIO_TOKEN", &token)]);
    let discovered = server.request("server/discover", json!({"_meta": meta_2026()}));
    assert!(
        discovered["result"]["supportedVersions"]
            .as_array()
            .is_some_and(|v| v.contains(&json!("2026-07-28"))),
        "{discovered}"
    );
    let with_meta = |mut params: Value| {
        params["_meta"] = meta_2026();
        params
    };
    let who = server.request("tools/call", with_meta(call("whoami", json!({}))));
    assert_eq!(
        who["result"]["structuredContent"]["subject"], "bob",
        "{who}"
    );
    assert_eq!(who["result"]["resultType"], "complete", "{who}");
    let refused = server.request(
        "tools/call",
        with_meta(call("create_todo", json!({"title": "no"}))),
    );
    assert_eq!(
        refused["result"]["structuredContent"],
        refusal("todo:write"),
        "{refused}"
    );
    let listed = server.request("tools/call", with_meta(call("list_todos", json!({}))));
    assert_eq!(listed["result"]["isError"], false, "{listed}");
    // Cache hints: the caller's own items are private, the unfiltered
    // listing is the same for everyone.
    let mine = server.request("resources/read", with_meta(json!({"uri": "todo://items"})));
    assert_eq!(mine["result"]["cacheScope"], "private", "{mine}");
    let tools = server.request("tools/list", with_meta(json!({})));
    assert_eq!(tools["result"]["cacheScope"], "public", "{tools}");
    assert!(server.finish().success());
}

#[test]
fn with_no_identity_only_public_items_are_served() {
    let scratch = Scratch::new();
    let mut server = StdioServer::start(&scratch, &[]);
    server.initialize();
    for (tool, scope) in [("list_todos", "todo:read"), ("create_todo", "todo:write")] {
        let res = server.request("tools/call", call(tool, json!({"title": "x"})));
        assert_eq!(res["result"]["isError"], true, "{tool}: {res}");
        assert_eq!(res["result"]["structuredContent"], refusal(scope), "{tool}");
    }
    let read = server.request("resources/read", json!({"uri": "todo://items"}));
    assert_eq!(read["error"]["code"], -32003, "{read}");
    assert!(server.finish().success());
}

#[test]
fn a_bad_identity_stops_the_server_before_it_serves() {
    let scratch = Scratch::new();
    // Signed by another development key: not this server's.
    let foreign = dev_token(&Scratch::new(), "mallory", "todo:read");
    let cases: [(&[(&str, &str)], &str); 5] = [
        (
            &[("MCP_STDIO_TOKEN", "not-a-token")],
            "MCP_STDIO_TOKEN: invalid token",
        ),
        (
            &[("MCP_STDIO_TOKEN", &foreign)],
            "MCP_STDIO_TOKEN: invalid token",
        ),
        (
            &[
                ("MCP_STDIO_SUBJECT", "alice"),
                ("MCP_STDIO_SCOPES", "todo:raed"),
            ],
            "MCP_STDIO_SCOPES: `todo:raed` is not a scope of the vocabulary",
        ),
        (
            &[("MCP_STDIO_SCOPES", "todo:read")],
            "MCP_STDIO_SCOPES: scopes need MCP_STDIO_SUBJECT",
        ),
        (
            &[("MCP_STDIO_TOKEN", "x"), ("MCP_STDIO_SUBJECT", "alice")],
            "MCP_STDIO_TOKEN: set either MCP_STDIO_TOKEN or MCP_STDIO_SUBJECT",
        ),
    ];
    for (env, message) in cases {
        let out = command(&scratch, env)
            .arg("stdio")
            .stdin(Stdio::piped())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{env:?}: {stderr}");
        assert!(stderr.contains(message), "{env:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{env:?}: nothing on stdout");
    }
}

/// Panics unless `line` is one JSON-RPC 2.0 message as MCP's schema allows
/// it: a request or notification (a `method`), a result with the id of its
/// request, or an error (without an id when the request's could not be read).
fn assert_json_rpc(line: &str) {
    let message: Value = serde_json::from_str(line)
        .unwrap_or_else(|e| panic!("stdout carries a line that is not JSON ({e}): {line:?}"));
    let fields = message
        .as_object()
        .unwrap_or_else(|| panic!("stdout carries JSON that is not an object: {line}"));
    assert_eq!(message["jsonrpc"], "2.0", "{line}");
    let has = |k: &str| fields.contains_key(k);
    let shaped = if has("method") {
        message["method"].is_string() && !has("result") && !has("error")
    } else if has("result") {
        has("id") && !has("error")
    } else if has("error") {
        message["error"]["code"].is_i64() && message["error"]["message"].is_string()
    } else {
        false
    };
    assert!(
        shaped,
        "stdout carries JSON that is not a JSON-RPC message: {line}"
    );
}

/// "The server MUST NOT write anything to its `stdout` that is not a valid
/// MCP message" (the stdio transport), with everything turned up that can
/// log: `RUST_LOG=trace` (rmcp, the store and the runtime at their most
/// verbose), colour not disabled, the audit log on, a client asking for log
/// messages, progress notifications, refused requests, and lines that are
/// not JSON-RPC at all. Only JSON-RPC reaches stdout, the logs reach stderr,
/// the audit events their file, and the server serves on.
#[test]
fn nothing_but_json_rpc_reaches_stdout_with_logging_turned_up() {
    let scratch = Scratch::new();
    let audit = scratch.dir.join("audit.jsonl");
    let mut cmd = command(
        &scratch,
        &[
            ("MCP_STDIO_SUBJECT", "alice"),
            ("MCP_STDIO_SCOPES", "todo:read todo:write"),
            ("RUST_LOG", "trace"),
            ("RUST_BACKTRACE", "full"),
        ],
    );
    cmd.env_remove("NO_COLOR")
        .env("DEMO_AUDIT_LOG", &audit)
        .stderr(Stdio::piped());
    let mut server = StdioServer::spawn(cmd);

    server.initialize();
    let level = server.request("logging/setLevel", json!({"level": "debug"}));
    assert_eq!(level["result"], json!({}), "{level}");
    let tools = server.request("tools/list", json!({}));
    assert_eq!(
        tools["result"]["tools"].as_array().map(Vec::len),
        Some(14),
        "{tools}"
    );
    for title in ["loud one", "loud two"] {
        let created = server.request("tools/call", call("create_todo", json!({"title": title})));
        assert_eq!(created["result"]["isError"], false, "{created}");
    }
    let mut review = call("review_todos", json!({}));
    review["_meta"] = json!({"progressToken": "review"});
    let reviewed = server.request("tools/call", review);
    assert_eq!(reviewed["result"]["isError"], false, "{reviewed}");
    // Refused: a tool result, and a resource error.
    let refused = server.request("tools/call", call("list_employees", json!({})));
    assert_eq!(
        refused["result"]["structuredContent"],
        refusal("hr:read"),
        "{refused}"
    );
    let read = server.request("resources/read", json!({"uri": "hr://employees/1"}));
    assert_eq!(read["error"]["code"], -32003, "{read}");
    // Not JSON-RPC: not JSON, cut short, JSON of the wrong shape, an empty
    // line, and a method nobody has.
    for line in [
        "this is not json",
        r#"{"jsonrpc":"2.0","id":90,"method":"tools/call","params":"#,
        r#"{"id":91}"#,
        "[1,2]",
        "",
    ] {
        server.send_line(line);
    }
    let unknown = server.request("no/such/method", json!({}));
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    // Still serving.
    let who = server.request("tools/call", call("whoami", json!({})));
    assert_eq!(
        who["result"]["structuredContent"]["subject"], "alice",
        "{who}"
    );

    let (status, stdout, stderr) = server.finish_with_output();
    assert!(status.success(), "{status}; stderr: {stderr}");
    for line in &stdout {
        assert_json_rpc(line);
    }
    assert!(
        stdout
            .iter()
            .any(|l| l.contains(r#""method":"notifications/progress""#)),
        "the review's progress notifications were among the lines: {stdout:#?}"
    );
    // The logs went to stderr: rmcp's at trace level, the refusal's audit
    // event and the lines it could not read among them.
    for expected in [
        "serving MCP over stdio",
        " TRACE ",
        " DEBUG ",
        "rmcp::",
        "insufficient_scope",
        "this is not json",
    ] {
        assert!(
            stderr.contains(expected),
            "stderr has {expected:?}:\n{stderr}"
        );
    }
    let audit = std::fs::read_to_string(&audit).unwrap();
    assert!(
        audit
            .lines()
            .any(|l| l.contains(r#""decision":"refused""#)
                && l.contains(r#""name":"list_employees""#)),
        "the refusal's audit event is in its file:\n{audit}"
    );
}
