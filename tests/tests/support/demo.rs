//! The `demo-server` binary for the tests that run it as its own process
//! (`hostile.rs`, `load_fault.rs`), and the variables it reads.
//!
//! ```ignore
//! #[path = "support/demo.rs"]
//! mod demo;
//!
//! let mut cmd = std::process::Command::new(demo::binary());
//! demo::clear_env(&mut cmd);
//! ```

#![allow(dead_code)]

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::OnceLock,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use serde_json::Value;

#[path = "../../../demo-server/tests/common/env.rs"]
mod env;
pub use env::DEMO_ENV;

/// Removes every variable the demo reads from `cmd`'s environment, so that
/// the environment the tests run in cannot change what they test.
pub fn clear_env(cmd: &mut Command) {
    for var in DEMO_ENV {
        cmd.env_remove(var);
    }
}

/// The demo binary: `DEMO_SERVER_BIN`, or `cargo build -p demo-server` in
/// this workspace with the profile and environment of the running test (so
/// the same target directory, `CARGO_TARGET_DIR` or not, and never a stale
/// binary), at the path cargo reports. Built once per test process.
pub fn binary() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("DEMO_SERVER_BIN").filter(|b| !b.is_empty()) {
            let bin = PathBuf::from(bin);
            assert!(
                bin.is_file(),
                "DEMO_SERVER_BIN={} is no file",
                bin.display()
            );
            return bin;
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("the tests crate lives in the workspace");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(root)
            .args(["build", "-p", "demo-server", "--bin", "demo-server"])
            .arg("--manifest-path")
            .arg(root.join("Cargo.toml"))
            .arg("--message-format=json-render-diagnostics")
            .stdin(Stdio::null());
        if !cfg!(debug_assertions) {
            cmd.arg("--release");
        }
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("cannot run {cargo:?} (or set DEMO_SERVER_BIN): {e}"));
        assert!(
            out.status.success(),
            "cargo build -p demo-server failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "demo-server")
            .find_map(|m| m["executable"].as_str().map(PathBuf::from))
            .unwrap_or_else(|| {
                panic!(
                    "cargo build -p demo-server reported no executable:\n{}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
    })
    .clone()
}

/// A process's resident memory, from `/proc/PID/status`.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    pub rss_kb: u64,
    pub hwm_kb: u64,
}

/// The demo binary running as its own process, its output in files.
pub struct DemoProcess {
    pub child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl DemoProcess {
    /// Starts the demo on `port` with `env` (over a cleared environment) and waits until it
    /// listens; `Err` with its output if it exits first.
    pub fn start(
        bin: &Path,
        scratch: &Scratch,
        port: u16,
        env: &[(&str, &str)],
    ) -> Result<Self, String> {
        let (stdout, stderr) = (scratch.join("demo.out"), scratch.join("demo.err"));
        let mut cmd = Command::new(bin);
        clear_env(&mut cmd);
        cmd.env("NO_COLOR", "1")
            .env("RUST_LOG", "info,rmcp=warn")
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("DEMO_DB", scratch.join("demo.sqlite3"))
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&stdout).expect("demo stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("demo stderr file"));
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
        let mut demo = Self {
            child,
            stdout,
            stderr,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = std::fs::read_to_string(&demo.stdout).unwrap_or_default();
            if out.contains(" listening on ") {
                return Ok(demo);
            }
            if let Some(status) = demo.child.try_wait().expect("try_wait") {
                return Err(format!(
                    "demo-server exited ({status}) before listening\nstdout:\n{out}\nstderr:\n{}",
                    demo.stderr()
                ));
            }
            assert!(
                Instant::now() < deadline,
                "demo-server did not listen within 60 s\nstderr:\n{}",
                demo.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// `VmRSS` and `VmHWM` from `/proc/PID/status`.
    pub fn memory(&self) -> Memory {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("/proc/PID/status of the demo");
        let field = |name: &str| -> u64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                .unwrap_or_else(|| panic!("no {name} in /proc/PID/status"))
        };
        Memory {
            rss_kb: field("VmRSS:"),
            hwm_kb: field("VmHWM:"),
        }
    }

    /// SIGTERM, then a kill if it lingers.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DemoProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A scratch directory, removed when dropped.
pub struct Scratch(PathBuf);

impl Scratch {
    pub fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = std::env::temp_dir().join(format!("demo-process-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Self(dir)
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
