//! The README's walkthrough, run as written: its shell blocks go to bash
//! (with `cargo run -q -p demo-server --` replaced by the binary under test
//! and port 3002 by the test's port), and what they print must be what the
//! README says they print.
//!
//! The walkthrough is the "## Walkthrough" section up to its first
//! subsection. A ```sh block that only starts the demo (`cargo run -p
//! demo-server`), or such a command in the prose (`MCP_STEP_UP=true cargo run
//! -p demo-server`), (re)starts the server under test with that environment;
//! every other ```sh block is run, and the ```json or ```text block right
//! after it is what it must print. JSON is compared as values (JSON inside
//! strings too), ignoring only ids and timestamps inside results.

mod common;

use std::{fs, path::Path, process::Command, time::Duration};

use common::{BIN, DEMO_ENV, Demo, Scratch, demo_command};
use serde_json::Value;

const README: &str = include_str!("../../README.md");

#[derive(Debug)]
enum Step {
    /// Start (or restart) the demo with these variables and arguments.
    Start {
        env: Vec<(String, String)>,
        args: Vec<String>,
    },
    /// Run a shell block.
    Run(String),
    /// What the previous block prints.
    Expect { lang: String, text: String },
}

/// `[VAR=value ...] cargo run -p demo-server [-- args]`, as a start step.
fn start_command(cmd: &str) -> Option<Step> {
    let mut words = cmd.split_whitespace().peekable();
    let mut env = Vec::new();
    while let Some((k, v)) = words.peek().and_then(|w| w.split_once('=')) {
        if !k.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
            return None;
        }
        env.push((k.to_owned(), v.to_owned()));
        words.next();
    }
    let head: Vec<&str> = words.by_ref().take(4).collect();
    if head != ["cargo", "run", "-p", "demo-server"] {
        return None;
    }
    let args: Vec<String> = match words.next() {
        None => Vec::new(),
        Some("--") => words.map(str::to_owned).collect(),
        Some(_) => return None,
    };
    Some(Step::Start { env, args })
}

fn walkthrough() -> Vec<Step> {
    let start = README
        .find("\n## Walkthrough")
        .expect("README has a \"## Walkthrough\" section");
    let section = &README[start + 1..];
    let end = section[1..]
        .find("\n## ")
        .into_iter()
        .chain(section.find("\n### "))
        .min()
        .map_or(section.len(), |e| e + 1);
    let section = &section[..end];

    let mut steps = Vec::new();
    let mut lines = section.lines();
    while let Some(line) = lines.next() {
        if let Some(lang) = line.strip_prefix("```") {
            let mut body = String::new();
            for l in lines.by_ref() {
                if l.starts_with("```") {
                    break;
                }
                body += l;
                body += "\n";
            }
            match lang.trim() {
                "sh" => steps.push(start_command(body.trim()).unwrap_or(Step::Run(body))),
                "json" | "text" => steps.push(Step::Expect {
                    lang: lang.trim().to_owned(),
                    text: body,
                }),
                other => panic!("unexpected ```{other} block in the walkthrough"),
            }
        } else {
            // Inline code in the prose that (re)starts the demo.
            for (i, span) in line.split('`').enumerate() {
                if i % 2 == 1
                    && let Some(step) = start_command(span)
                {
                    steps.push(step);
                }
            }
        }
    }
    steps
}

/// Variables a block assigns (`NAME=...` at the start of a line).
fn assigned(block: &str) -> Vec<String> {
    block
        .lines()
        .filter_map(|l| l.trim_start().split_once('='))
        .map(|(name, _)| name)
        .filter(|n| {
            !n.is_empty()
                && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !n.starts_with(|c: char| c.is_ascii_digit())
        })
        .map(str::to_owned)
        .collect()
}

/// JSON inside strings parsed; timestamps and ids inside results blanked.
fn normalize(v: &Value, in_result: bool) -> Value {
    match v {
        Value::String(s) if s.starts_with('{') || s.starts_with('[') => {
            match serde_json::from_str::<Value>(s) {
                Ok(inner) => normalize(&inner, in_result),
                Err(_) => v.clone(),
            }
        }
        Value::Array(a) => Value::Array(a.iter().map(|v| normalize(v, in_result)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let v = match k.as_str() {
                        "created_at" => Value::String("<timestamp>".into()),
                        "id" if in_result => Value::String("<id>".into()),
                        _ => normalize(v, in_result || k == "result"),
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        _ => v.clone(),
    }
}

fn require(tool: &str) {
    let found = Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`{tool}` is not installed: the README walkthrough test runs the README's commands \
         with bash and curl, so it cannot check them without it"
    );
}

#[test]
fn readme_walkthrough_prints_what_it_says() {
    require("bash");
    require("curl");
    let steps = walkthrough();
    assert!(
        matches!(steps.first(), Some(Step::Start { .. })),
        "the walkthrough starts the demo first: {steps:?}"
    );

    let scratch = Scratch::new();
    let state = scratch.dir.join("shell-state.sh");
    let mut demo: Option<Demo> = None;
    let mut output: Option<(String, String)> = None; // (block, what it printed)
    let mut compared = 0;
    let mut starts = 0;

    let check_unexpected = |output: &Option<(String, String)>| {
        // A block the README shows no output for must still succeed.
        if let Some((block, out)) = output {
            assert!(!out.trim().is_empty(), "{block}\nprinted nothing");
            if let Ok(v) = serde_json::from_str::<Value>(out) {
                assert!(
                    v.get("error").is_none() && v["result"]["isError"] != true,
                    "{block}\nfailed: {out}"
                );
            }
        }
    };

    for step in &steps {
        match step {
            Step::Start { env, args } => {
                check_unexpected(&output);
                output = None;
                // The same port on a restart, as for someone following along.
                let port = match demo.take() {
                    Some(mut old) => {
                        let status = old.stop(Duration::from_secs(15));
                        assert_eq!(status.code(), Some(0), "stopping the demo: {status}");
                        old.port
                    }
                    None => 0,
                };
                let mut cmd = demo_command();
                cmd.env("PORT", port.to_string())
                    .env("DEMO_DB", scratch.db())
                    .env("MCP_DEV_KEY_FILE", scratch.key())
                    .envs(env.iter().map(|(k, v)| (k, v)))
                    .args(args);
                let started = Demo::spawn(&scratch, cmd);
                assert!(
                    started
                        .stdout()
                        .contains(&format!("listening on 127.0.0.1:{}", started.port)),
                    "{}",
                    started.stdout()
                );
                demo = Some(started);
                starts += 1;
            }
            Step::Run(block) => {
                check_unexpected(&output);
                let demo = demo.as_ref().expect("a command before the demo started");
                let port = demo.port;
                let script = block
                    .replace(
                        "cargo run -q -p demo-server --",
                        &format!("'{}'", BIN.replace('\'', r"'\''")),
                    )
                    .replace("3002", &port.to_string());
                assert!(
                    !script.contains("cargo "),
                    "a cargo command the test does not know how to run:\n{block}"
                );
                let mut save = String::new();
                for name in assigned(block) {
                    save += &format!("declare -p {name} >> {}.new\n", sh_path(&state));
                }
                let full = format!(
                    "set -eo pipefail\ntouch {s}\nsource {s}\ncp {s} {s}.new\n{script}\n{save}mv {s}.new {s}\n",
                    s = sh_path(&state)
                );
                let mut cmd = Command::new("bash");
                for var in DEMO_ENV {
                    cmd.env_remove(var);
                }
                let out = cmd
                    .arg("-c")
                    .arg(&full)
                    .env("PORT", port.to_string())
                    .env("DEMO_DB", scratch.db())
                    .env("MCP_DEV_KEY_FILE", scratch.key())
                    .env("NO_COLOR", "1")
                    .output()
                    .unwrap();
                let stdout = String::from_utf8(out.stdout).unwrap();
                assert!(
                    out.status.success(),
                    "README block failed ({}):\n{block}\nstdout:\n{stdout}\nstderr:\n{}\nserver log:\n{}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr),
                    demo.stderr()
                );
                output = Some((block.clone(), stdout));
            }
            Step::Expect { lang, text } => {
                let (block, actual) = output.take().unwrap_or_else(|| {
                    panic!("expected output with no command before it:\n{text}")
                });
                let port = demo.as_ref().unwrap().port;
                let expected = text.replace("3002", &port.to_string());
                if lang == "json" {
                    let want: Value = serde_json::from_str(&expected).unwrap_or_else(|e| {
                        panic!("the README's JSON does not parse ({e}):\n{text}")
                    });
                    let got: Value = serde_json::from_str(&actual)
                        .unwrap_or_else(|e| panic!("{block}\nprinted no JSON ({e}):\n{actual}"));
                    assert_eq!(
                        normalize(&got, false),
                        normalize(&want, false),
                        "\n{block}\nprinted\n{actual}\nbut the README says\n{text}"
                    );
                } else {
                    let lines = |s: &str| -> Vec<String> {
                        s.lines()
                            .map(|l| l.trim_end().to_owned())
                            .filter(|l| !l.is_empty())
                            .collect()
                    };
                    assert_eq!(
                        lines(&actual),
                        lines(&expected),
                        "\n{block}\nprinted\n{actual}\nbut the README says\n{text}"
                    );
                }
                compared += 1;
            }
        }
    }
    check_unexpected(&output);
    assert_eq!(
        starts, 2,
        "the walkthrough starts the demo, then restarts it in step-up mode"
    );
    assert!(compared >= 5, "only {compared} outputs compared: {steps:?}");
    if let Some(mut demo) = demo {
        assert_eq!(demo.stop(Duration::from_secs(15)).code(), Some(0));
    }
}

fn sh_path(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}

#[test]
fn the_walkthrough_parser_finds_every_block() {
    let steps = walkthrough();
    let runs = steps.iter().filter(|s| matches!(s, Step::Run(_))).count();
    let expects = steps
        .iter()
        .filter(|s| matches!(s, Step::Expect { .. }))
        .count();
    let section = &README[README.find("\n## Walkthrough").unwrap()..];
    let section = &section[..section.find("\n### ").unwrap()];
    assert_eq!(
        runs + expects + 1,
        section.matches("\n```").count() / 2,
        "every fenced block but the first start is a command or an output"
    );
    assert!(fs::metadata(BIN).is_ok());
}

#[test]
fn output_comparison_ignores_only_ids_and_timestamps_in_results() {
    let item = |id: i64, at: &str, title: &str| {
        serde_json::json!({"jsonrpc": "2.0", "id": 4, "result": {
            "content": [{"type": "text", "text": serde_json::json!(
                {"created_at": at, "done": false, "id": id, "title": title}).to_string()}],
            "structuredContent": {"created_at": at, "done": false, "id": id, "title": title},
            "isError": false}})
    };
    let a = item(1, "2026-01-01T00:00:00Z", "Buy milk");
    assert_eq!(
        normalize(&a, false),
        normalize(&item(7, "2027-02-02T10:00:00Z", "Buy milk"), false)
    );
    assert_ne!(
        normalize(&a, false),
        normalize(&item(1, "2026-01-01T00:00:00Z", "Buy oat milk"), false)
    );
    let mut other_request = a.clone();
    other_request["id"] = 5.into();
    assert_ne!(normalize(&a, false), normalize(&other_request, false));
    let mut failed = a.clone();
    failed["result"]["isError"] = true.into();
    assert_ne!(normalize(&a, false), normalize(&failed, false));
}
