//! Every example in `mcp-runtime/examples`, built and run as its doc comment
//! says, then called over HTTP: a custom `TokenVerifier` (API keys),
//! Scalekit from environment variables (against a Scalekit-shaped
//! authorization server), and an existing axum app served with MCP.

#[path = "support/mcp.rs"]
mod mcp;
#[path = "support/oidc.rs"]
mod oidc;

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use mcp::call_tool;
use oidc::{AsOptions, TestAs};
use serde_json::json;

/// `cargo build -p mcp-runtime --examples` in this workspace, with the
/// running test's target directory; the directory the examples land in.
fn build_examples() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let status = Command::new(env!("CARGO"))
        .current_dir(root)
        .args(["build", "--quiet", "-p", "mcp-runtime", "--examples"])
        .status()
        .unwrap();
    assert!(status.success(), "the examples do not build");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    target.join("debug/examples")
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A running example, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts example `name` on `port` with only `env` (and `PATH`) set, and
/// waits until it listens.
fn run(name: &str, port: u16, env: &[(&str, &str)]) -> Running {
    let mut cmd = Command::new(build_examples().join(name));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PORT", port.to_string())
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdout(Stdio::null());
    let running = Running(cmd.spawn().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "example {name} never listened");
        std::thread::sleep(Duration::from_millis(50));
    }
    running
}

#[tokio::test(flavor = "multi_thread")]
async fn custom_verifier_admits_known_api_keys_only() {
    let port = free_port();
    let _example = run("custom_verifier", port, &[]);
    let endpoint = format!("http://127.0.0.1:{port}/mcp");

    let res = call_tool(&endpoint, Some("key-for-ada"), "whose_key", json!({})).await;
    assert_eq!(res.status, 200, "{res:#?}");
    let result = res.json()["result"].clone();
    assert_eq!(
        result["content"][0]["text"], "This key belongs to ada.",
        "{result}"
    );

    let res = call_tool(&endpoint, Some("key-for-bob"), "whose_key", json!({})).await;
    let result = res.json()["result"].clone();
    assert_eq!(result["isError"], true, "{result}");
    assert!(
        result
            .to_string()
            .contains("Insufficient permissions: `reports:read` scope required."),
        "{result}"
    );

    let res = call_tool(&endpoint, Some("key-for-eve"), "whose_key", json!({})).await;
    assert_eq!(res.status, 401, "{res:#?}");
    let challenge = res.challenge();
    assert_eq!(challenge.param("error"), Some("invalid_token"));
    assert_eq!(
        challenge.param("error_description"),
        Some("unknown API key")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn scalekit_env_serves_tokens_of_the_configured_environment() {
    let port = free_port();
    let mcp_url = format!("http://127.0.0.1:{port}/");
    let endpoint = format!("{mcp_url}mcp");
    let as_ = TestAs::start(AsOptions::scalekit().resource(&endpoint)).await;
    let env = [
        ("SCALEKIT_ENVIRONMENT_URL", as_.issuer.as_str()),
        ("SCALEKIT_CLIENT_ID", "skc_example"),
        ("SCALEKIT_RESOURCE_ID", "res_test123"),
        ("MCP_URL", mcp_url.as_str()),
    ];
    let _example = run("scalekit_env", port, &env);

    let token = as_.client_credentials("todo:read").await;
    let res = call_tool(&endpoint, Some(&token), "who_am_i", json!({})).await;
    assert_eq!(res.status, 200, "{res:#?}");
    let text = res.json()["result"]["content"][0]["text"].clone();
    assert_eq!(text, "test-client (through test-client)", "{text}");

    // Without a token: the challenge names the metadata, which names the environment.
    let res = call_tool(&endpoint, None, "who_am_i", json!({})).await;
    assert_eq!(res.status, 401);
    let metadata = res
        .challenge()
        .param("resource_metadata")
        .unwrap()
        .to_owned();
    let prm: serde_json::Value = reqwest::get(&metadata).await.unwrap().json().await.unwrap();
    assert_eq!(
        prm["authorization_servers"],
        json!([format!("{}/resources/res_test123", as_.issuer)])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn axum_app_serves_its_routes_behind_the_host_policy() {
    let port = free_port();
    let dir = std::env::temp_dir().join(format!("axum-app-example-{}", std::process::id()));
    let key = dir.join("dev-issuer.pem");
    let _example = run(
        "axum_app",
        port,
        &[("MCP_DEV_KEY_FILE", key.to_str().unwrap())],
    );
    let http = reqwest::Client::new();
    let version = http
        .get(format!("http://127.0.0.1:{port}/version"))
        .send()
        .await
        .unwrap();
    assert_eq!(version.status(), 200);
    assert!(version.text().await.unwrap().starts_with("axum-app "));
    let rebinding = http
        .get(format!("http://127.0.0.1:{port}/stats"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(
        rebinding.status(),
        403,
        "the app's own routes get the Host policy"
    );
    // The MCP endpoint is there, behind its authentication.
    let endpoint = format!("http://127.0.0.1:{port}/mcp");
    let res = call_tool(&endpoint, None, "add", json!({"a": 1, "b": 2})).await;
    assert_eq!(res.status, 401);
    assert!(res.challenge().param("resource_metadata").is_some());
    let _ = std::fs::remove_dir_all(&dir);
}
