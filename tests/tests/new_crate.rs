//! The README's "Your own server in five minutes", as a new user would take
//! it: its `Cargo.toml` and `src/main.rs` written into a crate outside the
//! workspace (the framework as a path dependency), built, asked for
//! development tokens through its own `token` subcommand, served, and called
//! over HTTP: both tools, a refusal, and the custom route.

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use mcp_test_client::Mcp;
use serde_json::json;

const README: &str = include_str!("../../README.md");

/// The section, up to the next top-level heading.
fn section() -> &'static str {
    let start = README
        .find("## Your own server in five minutes")
        .expect("the README has the section");
    let rest = &README[start + 3..];
    &README[start..start + 3 + rest.find("\n## ").unwrap_or(rest.len())]
}

/// The first code block whose info string starts with `lang`.
fn block(text: &str, lang: &str) -> String {
    let open = format!("```{lang}");
    let start = text
        .find(&open)
        .unwrap_or_else(|| panic!("no {open} block"));
    let body = &text[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").unwrap()].to_owned()
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

/// Writes the crate where it stays between runs (so that a warm target
/// directory keeps its build), with the framework as a path dependency
/// and the workspace's lock file, so that it builds with the same versions.
fn write_crate(dir: &Path) {
    let manifest = block(section(), "toml").replace(
        "mcp-runtime = \"0.1\"",
        &format!(
            "mcp-runtime = {{ path = {:?} }}",
            workspace().join("mcp-runtime")
        ),
    );
    assert!(manifest.contains("path = "), "{manifest}");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    // Its own workspace: not a member of any around it.
    std::fs::write(dir.join("Cargo.toml"), format!("{manifest}\n[workspace]\n")).unwrap();
    std::fs::write(dir.join("src/main.rs"), block(section(), "rust")).unwrap();
    if !dir.join("Cargo.lock").exists() {
        std::fs::copy(workspace().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The built binary with a clean environment: only what the README's
/// reader would set.
fn notes(binary: &Path, port: u16, key: &Path) -> Command {
    let mut cmd = Command::new(binary);
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PORT", port.to_string())
        .env("MCP_DEV_KEY_FILE", key)
        .env("RUST_LOG", "warn");
    cmd
}

fn token(binary: &Path, port: u16, key: &Path, args: &[&str]) -> String {
    let out = notes(binary, port, key)
        .arg("token")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "the notes server never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_readme_server_builds_serves_and_answers() {
    let example = include_str!("../../mcp-runtime/examples/notes.rs");
    assert!(
        example.ends_with(&block(section(), "rust")),
        "mcp-runtime/examples/notes.rs is no longer the README's src/main.rs"
    );
    let dir = target_dir().join("readme-new-crate");
    write_crate(&dir);
    let built = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir())
        .stdout(Stdio::inherit())
        .status()
        .unwrap();
    assert!(built.success(), "the README's crate does not build");
    let binary = target_dir().join("debug/notes");

    let scratch = dir.join(format!("run-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let key = scratch.join("dev-issuer.pem");
    let port = free_port();
    let alice = token(&binary, port, &key, &["alice", "notes:read notes:write"]);
    let bob = token(&binary, port, &key, &["bob", "notes:read"]);
    assert_eq!(alice.split('.').count(), 3, "a JWT: {alice}");

    let child = notes(&binary, port, &key)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let _serving = Serving(child);
    wait_for(port);
    let url = format!("http://127.0.0.1:{port}/mcp");

    let call = |token: &str, tool: &str, arguments: serde_json::Value| {
        let mcp = Mcp::new(url.clone()).bearer(Some(token));
        let tool = tool.to_owned();
        async move { mcp.call_tool(&tool, arguments).await.message() }
    };
    let added = call(&alice, "add_note", json!({"text": "buy milk"})).await;
    assert_eq!(added["result"]["isError"], false, "{added}");
    let mine = call(&alice, "my_notes", json!({})).await;
    assert!(mine["result"].to_string().contains("buy milk"), "{mine}");
    let theirs = call(&bob, "my_notes", json!({})).await;
    assert!(
        !theirs["result"].to_string().contains("buy milk"),
        "{theirs}"
    );
    let refused = call(&bob, "add_note", json!({"text": "nope"})).await;
    assert_eq!(refused["result"]["isError"], true, "{refused}");
    assert!(
        refused["result"]
            .to_string()
            .contains("Insufficient permissions: `notes:write` scope required."),
        "{refused}"
    );

    let version = reqwest::get(format!("http://127.0.0.1:{port}/version"))
        .await
        .unwrap();
    assert_eq!(version.status(), 200);
    assert_eq!(version.text().await.unwrap(), "notes 0.1.0");
    std::fs::remove_dir_all(&scratch).unwrap();
}
