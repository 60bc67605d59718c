//! The demo as a process: its command line, banner, configuration errors,
//! ports, step-up mode, graceful shutdown and persistence across restarts.

mod common;

use std::{
    net::TcpListener,
    process::Command,
    time::{Duration, Instant},
};

use common::{BIN, DEMO_ENV, Demo, Scratch, block_on, demo_command, http};
use serde_json::{Value, json};

const TOOLS: [&str; 14] = [
    "approve_expense",
    "create_todo",
    "delete_todo",
    "get_employee",
    "get_payroll",
    "get_system_status",
    "list_employees",
    "list_todos",
    "restart_service",
    "review_todos",
    "set_maintenance_mode",
    "update_employee",
    "update_todo",
    "whoami",
];

/// A port nobody listens on right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tools_list(demo: &Demo, token: &str) -> Vec<String> {
    let res = demo.post(
        Some(token),
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    );
    assert_eq!(res.status, 200, "{res:?}");
    res.message()["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn help_lists_every_option_with_its_environment_variable() {
    let out = demo_command().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for (flag, var) in [
        ("--host", "HOST"),
        ("--port", "PORT"),
        ("--mcp-url", "MCP_URL"),
        ("--step-up", "MCP_STEP_UP"),
        ("--sse", "MCP_SSE"),
        ("--challenge-scopes", "MCP_CHALLENGE_SCOPES"),
        ("--db", "DEMO_DB"),
        ("--todo-quota", "DEMO_TODO_QUOTA"),
        ("--scalekit-environment-url", "SCALEKIT_ENVIRONMENT_URL"),
        ("--scalekit-client-id", "SCALEKIT_CLIENT_ID"),
        ("--scalekit-resource-id", "SCALEKIT_RESOURCE_ID"),
        ("--auth-issuer", "MCP_AUTH_ISSUER"),
        ("--auth-audience", "MCP_AUTH_AUDIENCE"),
        ("--auth-jwks-uri", "MCP_AUTH_JWKS_URI"),
        ("--dev-key-file", "MCP_DEV_KEY_FILE"),
        ("--dev-allow-remote", "MCP_DEV_ALLOW_REMOTE"),
    ] {
        assert!(help.contains(flag), "--help lacks {flag}:\n{help}");
        assert!(
            help.contains(&format!("[env: {var}=]")),
            "--help lacks the environment variable {var}:\n{help}"
        );
    }
    for default in [
        "[default: 127.0.0.1]",
        "[default: 3002]",
        "[default: demo-data/demo.sqlite3]",
        "[default: 1000]",
    ] {
        assert!(help.contains(default), "--help lacks {default}:\n{help}");
    }
    assert!(help.contains("serve") && help.contains("token"), "{help}");

    let out = demo_command().args(["token", "--help"]).output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for flag in ["--scope", "--subject", "--ttl", "--port", "--dev-key-file"] {
        assert!(help.contains(flag), "token --help lacks {flag}:\n{help}");
    }
}

#[test]
fn dev_banner_says_where_it_listens_and_how_to_call_it() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);
    let port = demo.port;
    let out = demo.stdout();
    let lines: Vec<&str> = out.lines().collect();
    let key = scratch.key().display().to_string();
    assert_eq!(
        lines[0],
        format!(
            "demo-server {} listening on 127.0.0.1:{port}",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert_eq!(
        lines[1],
        format!("  MCP endpoint:   http://127.0.0.1:{port}/mcp")
    );
    assert_eq!(
        lines[2],
        format!("  authentication: development issuer http://127.0.0.1:{port} (key {key})")
    );
    assert_eq!(lines[3], format!("  tools:          {}", TOOLS.join(", ")));
    assert_eq!(
        lines[4],
        format!("  database:       {}", scratch.db().display())
    );
    assert_eq!(
        lines[5],
        "  step-up mode:   off (scope errors as tool results)"
    );
    assert_eq!(
        lines[6],
        "  responses:      JSON, or an event stream when a call sends notifications"
    );
    assert_eq!(
        lines[7],
        "  401 asks for:   finance:read hr:read system:read todo:read"
    );
    assert_eq!(lines[8], "");
    assert_eq!(
        lines[9],
        "Development mode: tokens are minted locally. Get one with"
    );
    assert_eq!(
        lines[10],
        format!(
            "  TOKEN=$(cargo run -q -p demo-server -- token --port {port} --dev-key-file {key} --scope todo:read)"
        )
    );
    assert_eq!(lines[11], "and list the tools with");
    assert!(
        lines[12].starts_with(&format!("  curl -s http://127.0.0.1:{port}/mcp ")),
        "{}",
        lines[12]
    );

    // The two commands it prints work, as printed (with the binary for
    // `cargo run`): they list the tools.
    let script = format!(
        "set -eo pipefail\n{}\n{}\n",
        lines[10]
            .trim()
            .replace("cargo run -q -p demo-server --", &format!("'{BIN}'")),
        lines[12].trim()
    );
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = listed["result"]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, TOOLS);
}

#[test]
fn port_zero_is_the_port_bound_everywhere() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);
    let port = demo.port;
    let endpoint = format!("http://127.0.0.1:{port}/mcp");
    let metadata = format!("http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp");

    let res = http(
        port,
        "GET",
        "/.well-known/oauth-protected-resource/mcp",
        &[],
        None,
    );
    assert_eq!(res.status, 200, "{res:?}");
    let prm: Value = serde_json::from_str(&res.text).unwrap();
    assert_eq!(prm["resource"], endpoint);
    assert_eq!(
        prm["authorization_servers"],
        json!([format!("http://127.0.0.1:{port}")])
    );

    let res = demo.post(
        None,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    );
    assert_eq!(res.status, 401);
    let challenge = res.header("www-authenticate");
    assert!(
        challenge.contains(&format!("resource_metadata=\"{metadata}\"")),
        "{challenge}"
    );

    // Tokens minted for that port are accepted; the issuer is the base URL.
    let token = demo.token("todo:read", "alice");
    assert_eq!(tools_list(&demo, &token), TOOLS);
    assert_eq!(
        demo.ok(&token, "whoami", json!({}))["issuer"],
        format!("http://127.0.0.1:{port}")
    );
    let res = http(port, "GET", "/health", &[], None);
    assert_eq!(res.status, 200, "{res:?}");
}

#[test]
fn environment_variables_configure_the_server_and_the_token_command() {
    let scratch = Scratch::new();
    let port = free_port();
    let base = format!("http://localhost:{port}/");
    let env = |cmd: &mut Command| {
        cmd.env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("MCP_URL", &base)
            .env("MCP_STEP_UP", "1")
            .env("MCP_SSE", "true")
            .env("DEMO_DB", scratch.db())
            .env("MCP_DEV_KEY_FILE", scratch.key());
    };
    let mut cmd = demo_command();
    env(&mut cmd);
    let demo = Demo::spawn(&scratch, cmd);
    assert_eq!(demo.port, port);
    let out = demo.stdout();
    assert!(
        out.contains(&format!("  MCP endpoint:   {base}mcp\n")),
        "{out}"
    );
    assert!(
        out.contains("  step-up mode:   on (403 insufficient_scope)\n"),
        "{out}"
    );
    assert!(
        out.contains("  responses:      event streams (text/event-stream) for every POST\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "token --mcp-url {base} --dev-key-file {} --scope todo:read",
            scratch.key().display()
        )),
        "{out}"
    );
    assert!(scratch.db().exists());

    let host = format!("localhost:{port}");
    let res = http(
        port,
        "GET",
        "/.well-known/oauth-protected-resource/mcp",
        &[("Host", &host)],
        None,
    );
    assert_eq!(
        serde_json::from_str::<Value>(&res.text).unwrap()["resource"],
        format!("{base}mcp")
    );

    // `token` reads the same variables, so its tokens fit.
    let mut cmd = demo_command();
    env(&mut cmd);
    let out = cmd
        .args(["token", "--scope", "todo:read"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let call = |token: &str, tool: &str| {
        let mcp = demo.mcp(Some(token)).header("Host", &host);
        block_on(mcp.call_tool(tool, json!({})))
    };
    let res = call(&token, "whoami");
    assert_eq!(res.status, 200, "{res:?}");
    // MCP_SSE=true: even a call that sends no notification is an event stream.
    assert!(
        res.header("content-type").starts_with("text/event-stream"),
        "{res:?}"
    );
    assert_eq!(
        res.message()["result"]["structuredContent"]["issuer"],
        format!("http://localhost:{port}")
    );
    // MCP_STEP_UP=1: a missing scope is an HTTP 403 naming this base URL.
    let res = call(&token, "create_todo");
    assert_eq!(res.status, 403, "{res:?}");
    assert!(
        res.header("www-authenticate").contains(&format!(
            "resource_metadata=\"http://localhost:{port}/.well-known/oauth-protected-resource/mcp\""
        )),
        "{res:?}"
    );

    // A token for another base URL (here, the default one) is refused.
    let other = demo.token("todo:read", "alice");
    let res = call(&other, "whoami");
    assert_eq!(res.status, 401, "{res:?}");
    assert!(
        res.header("www-authenticate")
            .contains("error=\"invalid_token\"")
    );
}

#[test]
fn misconfiguration_exits_non_zero_naming_the_variable() {
    let scratch = Scratch::new();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("SCALEKIT_ENVIRONMENT_URL", "https://acme.scalekit.dev")],
            "SCALEKIT_CLIENT_ID",
        ),
        (
            &[
                ("SCALEKIT_ENVIRONMENT_URL", "https://acme.scalekit.dev"),
                ("SCALEKIT_CLIENT_ID", "skc_1"),
            ],
            "SCALEKIT_RESOURCE_ID",
        ),
        (
            &[
                ("SCALEKIT_CLIENT_ID", "skc_1"),
                ("SCALEKIT_RESOURCE_ID", "res_1"),
            ],
            "SCALEKIT_ENVIRONMENT_URL",
        ),
        (
            &[
                ("SCALEKIT_ENVIRONMENT_URL", "https://acme.scalekit.dev"),
                ("SCALEKIT_CLIENT_ID", "skc_1"),
                ("SCALEKIT_RESOURCE_ID", "res_1"),
            ],
            "MCP_URL",
        ),
        (
            &[("MCP_AUTH_ISSUER", "https://auth.example.com")],
            "MCP_AUTH_AUDIENCE",
        ),
        (&[("MCP_URL", "not a url")], "MCP_URL"),
        (&[("MCP_URL", "http://localhost:3002/base")], "MCP_URL"),
        (&[("HOST", "not-an-ip")], "HOST"),
        (&[("PORT", "99999")], "PORT"),
        (
            &[("MCP_CHALLENGE_SCOPES", "todo:read todo:raed")],
            "MCP_CHALLENGE_SCOPES: `todo:raed` is not one of the demo's scopes",
        ),
        // Values clap rejects are named by their option.
        (&[("MCP_STEP_UP", "maybe")], "--step-up"),
    ];
    for (vars, named) in cases {
        let mut cmd = demo_command();
        cmd.arg("--db").arg(scratch.db());
        if !vars.iter().any(|(k, _)| *k == "PORT") {
            cmd.args(["--port", "0"]);
        }
        for (k, v) in *vars {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let out = child.wait_with_output().unwrap();
                panic!(
                    "{vars:?}: the server started instead of failing:\n{}",
                    String::from_utf8_lossy(&out.stdout)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{vars:?} exited with success");
        assert!(
            stderr.contains(named),
            "{vars:?}: the error does not name {named}:\n{stderr}"
        );
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("listening on"),
            "{vars:?}"
        );
    }
    assert!(
        !scratch.db().exists(),
        "a misconfigured server must not create its database"
    );

    // `token` refuses to mint development tokens for a real authorization server.
    let out = demo_command()
        .arg("token")
        .env("MCP_AUTH_ISSUER", "https://auth.example.com")
        .env("MCP_AUTH_AUDIENCE", "api")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("development tokens"));
    let out = demo_command()
        .args(["token", "--scope", "bad\"scope"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a valid scope"));
}

#[test]
fn step_up_mode_answers_403_insufficient_scope() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &["--step-up"]);
    let port = demo.port;
    assert!(
        demo.stdout()
            .contains("  step-up mode:   on (403 insufficient_scope)\n")
    );
    let read = demo.token("todo:read", "alice");
    let create = json!({"jsonrpc": "2.0", "id": 6, "method": "tools/call",
                        "params": {"name": "create_todo", "arguments": {"title": "Buy milk"}}});

    let res = demo.post(Some(&read), &create);
    assert_eq!(res.status, 403, "{res:?}");
    assert_eq!(
        res.header("www-authenticate"),
        format!(
            "Bearer error=\"insufficient_scope\", scope=\"todo:read todo:write\", \
             resource_metadata=\"http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp\", \
             error_description=\"Insufficient permissions: `todo:write` scope required.\""
        )
    );
    assert_eq!(
        serde_json::from_str::<Value>(&res.text).unwrap(),
        json!({"error": "insufficient_scope",
               "error_description": "Insufficient permissions: `todo:write` scope required."})
    );
    // Nothing was created; reading is allowed; so are listing and scope-free tools.
    assert_eq!(
        demo.ok(&read, "list_todos", json!({})),
        json!({"todos": []})
    );
    assert_eq!(tools_list(&demo, &read), TOOLS);
    assert_eq!(demo.ok(&read, "whoami", json!({}))["subject"], "alice");

    // After re-authorizing with the challenged scopes, the call goes through.
    let both = demo.token("todo:read todo:write", "alice");
    let res = demo.post(Some(&both), &create);
    assert_eq!(res.status, 200, "{res:?}");
    assert_eq!(
        res.message()["result"]["structuredContent"]["title"],
        "Buy milk"
    );

    // The hierarchy holds at the HTTP layer too.
    let system_read = demo.token("system:read", "viewer");
    let admin = demo.token("system:admin", "root");
    assert_eq!(
        demo.ok(&admin, "restart_service", json!({}))["status"]["restarts"],
        1
    );
    demo.ok(&system_read, "get_system_status", json!({}));
    let res = demo.post(
        Some(&system_read),
        &json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                "params": {"name": "restart_service", "arguments": {}}}),
    );
    assert_eq!(res.status, 403);
    assert!(
        res.header("www-authenticate")
            .contains("scope=\"system:read system:admin\""),
        "{res:?}"
    );
}

#[test]
fn the_first_401_asks_for_the_read_scopes() {
    let scratch = Scratch::new();
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let demo = Demo::start(&scratch, &[]);
    let metadata = format!(
        "http://127.0.0.1:{}/.well-known/oauth-protected-resource/mcp",
        demo.port
    );
    let res = demo.post(None, &list);
    assert_eq!(res.status, 401);
    assert_eq!(
        res.header("www-authenticate"),
        format!(
            "Bearer resource_metadata=\"{metadata}\", \
             scope=\"finance:read hr:read system:read todo:read\""
        )
    );
    // What a client may ask for later is unchanged.
    let res = http(
        demo.port,
        "GET",
        "/.well-known/oauth-protected-resource/mcp",
        &[],
        None,
    );
    let prm: Value = serde_json::from_str(&res.text).unwrap();
    assert_eq!(prm["scopes_supported"].as_array().unwrap().len(), 9);
    drop(demo);

    // MCP_CHALLENGE_SCOPES (or --challenge-scopes) says otherwise.
    let mut cmd = demo_command();
    cmd.env("MCP_CHALLENGE_SCOPES", "todo:read,todo:write");
    let demo = Demo::start_with(&scratch, cmd, &[]);
    let res = demo.post(None, &list);
    assert!(
        res.header("www-authenticate")
            .ends_with(", scope=\"todo:read todo:write\""),
        "{res:?}"
    );
    assert!(
        demo.stdout()
            .contains("  401 asks for:   todo:read todo:write\n")
    );
}

#[test]
fn sigterm_stops_gracefully_and_data_persists() {
    let scratch = Scratch::new();
    let mut demo = Demo::start(&scratch, &[]);
    let alice = demo.token("todo:read todo:write", "alice");
    let bob = demo.token("todo:read todo:write", "bob");
    let cfo = demo.token("finance:read finance:write", "cfo");
    let hr = demo.token("hr:read hr:write", "hr-admin");
    let first = demo.ok(
        &alice,
        "create_todo",
        json!({"title": "Persist me", "due": "2027-01-01"}),
    );
    let second = demo.ok(&alice, "create_todo", json!({"title": "And me"}));
    let second = demo.ok(
        &alice,
        "update_todo",
        json!({"id": second["id"], "done": true}),
    );
    let bobs = demo.ok(&bob, "create_todo", json!({"title": "Bob's"}));
    demo.ok(&cfo, "approve_expense", json!({"expense_id": 1}));
    demo.ok(
        &hr,
        "update_employee",
        json!({"id": 2, "title": "Rear Admiral"}),
    );

    let started = Instant::now();
    let status = demo.stop(Duration::from_secs(15));
    assert!(status.success(), "exit status after SIGTERM: {status}");
    assert_eq!(status.code(), Some(0));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?} to stop",
        started.elapsed()
    );
    assert!(demo.stderr().contains("shutting down"), "{}", demo.stderr());

    // A new process on the same database (and a new port, so new tokens).
    let mut demo = Demo::start(&scratch, &[]);
    let alice = demo.token("todo:read todo:write", "alice");
    let bob = demo.token("todo:read", "bob");
    let cfo = demo.token("finance:read", "cfo");
    let hr = demo.token("hr:read", "hr-admin");
    assert_eq!(
        demo.ok(&alice, "list_todos", json!({})),
        json!({"todos": [first, second]})
    );
    assert_eq!(
        demo.ok(&bob, "list_todos", json!({})),
        json!({"todos": [bobs]})
    );
    let payroll = demo.ok(&cfo, "get_payroll", json!({}));
    let pending: Vec<i64> = payroll["pending_expenses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_i64().unwrap())
        .collect();
    assert_eq!(pending, [2, 3], "expense 1 stays approved");
    assert_eq!(
        demo.ok(&hr, "get_employee", json!({"id": 2}))["title"],
        "Rear Admiral"
    );
    // Ids keep counting up: a new item never reuses an old id.
    let third = demo.ok(&alice, "create_todo", json!({"title": "New"}));
    assert!(third["id"].as_i64() > bobs["id"].as_i64());
    let stderr = demo.stderr();
    assert!(
        !stderr.contains("Database migrated"),
        "the second run has nothing to migrate:\n{stderr}"
    );
    let status = demo.stop(Duration::from_secs(15));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn the_demo_env_list_is_complete() {
    // Guards the harness: the variables it clears are the ones --help names.
    let out = demo_command().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for var in help
        .split("[env: ")
        .skip(1)
        .map(|s| s.split(['=', ']']).next().unwrap())
    {
        assert!(DEMO_ENV.contains(&var), "the harness does not clear {var}");
    }
}

/// Runs `cmd` (a demo server command expected to refuse its configuration)
/// and returns its output once it exits; fails if it serves instead.
fn refused_to_start(mut cmd: Command, case: &str) -> std::process::Output {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "{case}: the server started instead of failing:\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn dev_issuer_refuses_a_non_loopback_host_without_the_opt_in() {
    let scratch = Scratch::new();
    // Command-line arguments, and environment variables (`NAME=value`).
    let cases: &[(&[&str], &[&str])] = &[
        (&["--host", "0.0.0.0"], &[]),
        (&[], &["HOST=0.0.0.0"]),
        (&[], &["HOST=0.0.0.0", "MCP_DEV_ALLOW_REMOTE=false"]),
        (&["--host", "0.0.0.0", "--dev-allow-remote", "false"], &[]),
    ];
    for (args, vars) in cases {
        let case = &format!("{args:?} {vars:?}");
        let mut cmd = demo_command();
        cmd.args(["--port", "0", "--db"])
            .arg(scratch.db())
            .arg("--dev-key-file")
            .arg(scratch.key())
            .args(*args);
        for var in *vars {
            let (name, value) = var.split_once('=').unwrap();
            cmd.env(name, value);
        }
        let out = refused_to_start(cmd, case);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{case}: {stderr}");
        // It says why, and names the setting that allows it, both spellings.
        assert!(
            stderr.contains("development issuer only serves on loopback"),
            "{case}: {stderr}"
        );
        for setting in ["--dev-allow-remote", "MCP_DEV_ALLOW_REMOTE=true"] {
            assert!(stderr.contains(setting), "{case}: no {setting}: {stderr}");
        }
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("listening on"),
            "{case}"
        );
        // Refused before anything is written: no database, no signing key.
        assert!(
            !scratch.db().exists() && !scratch.db().parent().unwrap().exists(),
            "{case}: the refused server created its database"
        );
        assert!(
            !scratch.key().exists(),
            "{case}: the refused server created a signing key"
        );
    }

    // The same command on loopback needs no opt-in.
    let mut demo = Demo::start(&scratch, &["--host", "127.0.0.1"]);
    assert!(
        demo.stdout().contains(" listening on 127.0.0.1:"),
        "{}",
        demo.stdout()
    );
    assert_eq!(demo.stop(Duration::from_secs(15)).code(), Some(0));
}

#[test]
fn dev_issuer_serves_beyond_loopback_when_allowed() {
    let scratch = Scratch::new();
    for case in ["--dev-allow-remote", "MCP_DEV_ALLOW_REMOTE=true"] {
        let mut demo = match case {
            "--dev-allow-remote" => {
                Demo::start(&scratch, &["--host", "0.0.0.0", "--dev-allow-remote"])
            }
            _ => {
                let mut cmd = demo_command();
                cmd.env("MCP_DEV_ALLOW_REMOTE", "true");
                Demo::start_with(&scratch, cmd, &["--host", "0.0.0.0"])
            }
        };
        let port = demo.port;
        let out = demo.stdout();
        assert!(
            out.starts_with(&format!(
                "demo-server {} listening on 0.0.0.0:{port}\n",
                env!("CARGO_PKG_VERSION")
            )),
            "{case}: {out}"
        );
        // An unspecified address is not a URL to give out: the base URL,
        // and so the issuer and the tokens' audience, say localhost.
        assert!(
            out.contains(&format!("  MCP endpoint:   http://localhost:{port}/mcp\n")),
            "{case}: {out}"
        );
        assert!(
            out.contains(&format!(
                "  authentication: development issuer http://localhost:{port} (key "
            )),
            "{case}: {out}"
        );

        // A token for that base URL, from the `token` command given the same
        // HOST and port, works over 127.0.0.1.
        let out = demo_command()
            .args(["token", "--host", "0.0.0.0", "--port", &port.to_string()])
            .arg("--dev-key-file")
            .arg(scratch.key())
            .args(["--scope", "todo:read todo:write", "--subject", "remote"])
            .output()
            .unwrap();
        assert!(out.status.success(), "{case}: {out:?}");
        let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        let me = demo.ok(&token, "whoami", json!({}));
        assert_eq!(me["subject"], "remote", "{case}");
        assert_eq!(me["issuer"], format!("http://localhost:{port}"), "{case}");
        let item = demo.ok(&token, "create_todo", json!({"title": case}));
        assert_eq!(item["title"], *case);

        // One minted for the loopback base URL (the harness's default) is
        // another issuer's: refused.
        let loopback = demo.token("todo:read", "remote");
        let res = block_on(demo.mcp(Some(&loopback)).call_tool("whoami", json!({})));
        assert_eq!(res.status, 401, "{case}: {res:?}");
        assert_eq!(
            res.challenge().param("error_description"),
            Some("token issuer mismatch"),
            "{case}"
        );

        // Bound to every interface, it still refuses a foreign Host (DNS
        // rebinding) and a foreign Origin.
        let mut foreign_host = demo.mcp(Some(&token));
        foreign_host = foreign_host.header("host", format!("evil.example:{port}"));
        let res = block_on(foreign_host.call_tool("whoami", json!({})));
        assert_eq!(res.status, 403, "{case}: {res:?}");
        assert_eq!(
            res.json(),
            json!({"error": "forbidden", "error_description": "Host not allowed"})
        );
        let foreign_origin = demo
            .mcp(Some(&token))
            .header("origin", format!("http://evil.example:{port}"));
        let res = block_on(foreign_origin.call_tool("whoami", json!({})));
        assert_eq!(res.status, 403, "{case}: {res:?}");
        assert_eq!(
            res.json(),
            json!({"error": "forbidden", "error_description": "Origin not allowed"})
        );

        let status = demo.stop(Duration::from_secs(15));
        assert_eq!(status.code(), Some(0), "{case}: {status}");
        assert!(demo.stderr().contains("shutting down"), "{case}");
    }
    // Both runs wrote to the same database.
    assert!(scratch.db().exists());
}
