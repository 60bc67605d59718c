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
    process::{Command, Stdio},
    sync::OnceLock,
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
