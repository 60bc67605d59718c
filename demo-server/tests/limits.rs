//! Hardened serving: length caps on text arguments, the per-subject todo
//! quota, internal errors that keep their detail in the log, no database path
//! in answers, and plain (colourless) logs when stderr is not a terminal.

mod common;

use common::{Demo, Scratch, demo_command};
use serde_json::{Value, json};

#[test]
fn overlong_text_arguments_are_refused_naming_the_limit() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);
    let alice = demo.token("todo:read todo:write", "alice");
    let hr = demo.token("hr:read hr:write", "hr-admin");

    assert_eq!(
        demo.err(&alice, "create_todo", json!({"title": "x".repeat(201)})),
        "The title must be at most 200 characters."
    );
    assert_eq!(
        demo.err(
            &alice,
            "create_todo",
            json!({"title": "Buy milk", "due": "d".repeat(65)})
        ),
        "The due date must be at most 64 characters."
    );
    let item = demo.ok(
        &alice,
        "create_todo",
        json!({"title": "t".repeat(200), "due": "d".repeat(64)}),
    );
    let id = item["id"].as_i64().unwrap();
    assert_eq!(
        demo.err(
            &alice,
            "update_todo",
            json!({"id": id, "title": "y".repeat(201)})
        ),
        "The title must be at most 200 characters."
    );
    assert_eq!(
        demo.err(
            &alice,
            "update_todo",
            json!({"id": id, "due": "d".repeat(65)})
        ),
        "The due date must be at most 64 characters."
    );

    for (field, max) in [("title", 200), ("department", 100), ("phone", 32)] {
        assert_eq!(
            demo.err(
                &hr,
                "update_employee",
                json!({"id": 1, field: "z".repeat(max + 1)})
            ),
            format!("The {field} must be at most {max} characters.")
        );
        let ok = demo.ok(
            &hr,
            "update_employee",
            json!({"id": 1, field: "z".repeat(max)}),
        );
        assert_eq!(ok[field], "z".repeat(max));
    }
    // Nothing overlong was stored.
    assert_eq!(
        demo.ok(&alice, "list_todos", json!({}))["todos"],
        json!([item])
    );
}

#[test]
fn each_subject_holds_at_most_the_todo_quota() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &["--todo-quota", "3"]);
    let alice = demo.token("todo:read todo:write", "alice");
    let bob = demo.token("todo:read todo:write", "bob");
    let message = "You already have 3 todo items, the most allowed; delete some to add more.";

    let first = demo.ok(&alice, "create_todo", json!({"title": "one"}));
    for title in ["two", "three"] {
        demo.ok(&alice, "create_todo", json!({"title": title}));
    }
    assert_eq!(
        demo.err(&alice, "create_todo", json!({"title": "four"})),
        message
    );
    // Done items count too; other subjects have their own quota.
    demo.ok(
        &alice,
        "update_todo",
        json!({"id": first["id"], "done": true}),
    );
    assert_eq!(
        demo.err(&alice, "create_todo", json!({"title": "four"})),
        message
    );
    demo.ok(&bob, "create_todo", json!({"title": "Bob's"}));
    // Deleting one makes room for one.
    demo.ok(&alice, "delete_todo", json!({"id": first["id"]}));
    demo.ok(&alice, "create_todo", json!({"title": "four"}));
    assert_eq!(
        demo.err(&alice, "create_todo", json!({"title": "five"})),
        message
    );
    let titles: Vec<Value> = demo.ok(&alice, "list_todos", json!({}))["todos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["title"].clone())
        .collect();
    assert_eq!(titles, ["two", "three", "four"]);
}

#[test]
fn concurrent_creates_do_not_exceed_the_quota() {
    let scratch = Scratch::new();
    let mut cmd = demo_command();
    cmd.env("DEMO_TODO_QUOTA", "5");
    let demo = Demo::start_with(&scratch, cmd, &[]);
    let alice = demo.token("todo:read todo:write", "alice");

    let created: usize = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|w| {
                let (demo, alice) = (&demo, &alice);
                s.spawn(move || {
                    (0..4)
                        .filter(|i| {
                            let args = json!({"title": format!("w{w} #{i}")});
                            demo.call(alice, "create_todo", args)["isError"] == false
                        })
                        .count()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    });
    assert_eq!(created, 5, "16 attempts, a quota of 5");
    let todos = demo.ok(&alice, "list_todos", json!({}))["todos"].clone();
    assert_eq!(todos.as_array().unwrap().len(), 5);
}

#[test]
fn internal_errors_name_a_request_id_and_keep_the_detail_in_the_log() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);
    let alice = demo.token("todo:read todo:write", "alice");
    demo.ok(&alice, "create_todo", json!({"title": "Before"}));
    // Break the database under the running server.
    let conn = rusqlite::Connection::open(scratch.db()).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    conn.execute_batch("DROP TABLE todos").unwrap();
    drop(conn);

    for (tool, args) in [
        ("create_todo", json!({"title": "After"})),
        ("list_todos", json!({})),
    ] {
        let message = demo.err(&alice, tool, args);
        let id = message
            .strip_prefix("Internal error (request ")
            .and_then(|rest| rest.strip_suffix("); see the server log."))
            .unwrap_or_else(|| panic!("{tool}: {message}"));
        assert_eq!(id.len(), 16, "{message}");
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()), "{message}");
        // The log has the detail, under the same id.
        let log = demo.stderr();
        let line = log
            .lines()
            .find(|l| l.contains(id))
            .unwrap_or_else(|| panic!("{tool}: no log line names {id}:\n{log}"));
        assert!(line.contains("no such table: todos"), "{line}");
        assert!(line.contains("ERROR"), "{line}");
    }
}

#[test]
fn status_and_restart_do_not_show_the_database_path() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);
    let admin = demo.token("system:admin", "root");
    let path = scratch.db().display().to_string();
    let status = demo.ok(&admin, "get_system_status", json!({}));
    for key in [
        "version",
        "uptime_seconds",
        "started_at_unix",
        "memory_rss_bytes",
        "requests_served",
        "maintenance_mode",
        "restarts",
    ] {
        assert!(status.get(key).is_some(), "{key} missing from {status}");
    }
    let restarted = demo.ok(&admin, "restart_service", json!({}));
    let set = demo.ok(&admin, "set_maintenance_mode", json!({"enabled": false}));
    for answer in [&status, &restarted, &set] {
        let text = answer.to_string();
        assert!(!text.contains(&path), "{text}");
        assert!(
            !text.contains("sqlite3") && !text.contains("database\":"),
            "{text}"
        );
    }
}

#[test]
fn logs_to_a_file_have_no_colour_codes() {
    let scratch = Scratch::new();
    let mut cmd = demo_command();
    // No NO_COLOR either: stderr being a file is enough.
    cmd.env_remove("NO_COLOR");
    let mut demo = Demo::start_with(&scratch, cmd, &[]);
    let operator = demo.token("system:write", "operator");
    // An info line at start-up, a warning, and the shutdown.
    demo.ok(&operator, "set_maintenance_mode", json!({"enabled": true}));
    demo.stop(std::time::Duration::from_secs(15));
    let log = demo.stderr();
    assert!(log.contains("maintenance mode changed"), "{log}");
    assert!(log.contains("WARN"), "{log}");
    assert!(
        !log.contains("\x1b["),
        "ANSI escape codes in a log file:\n{log:?}"
    );
}
