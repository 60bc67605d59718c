//! Every tool of the demo, called over HTTP on the real binary: what it
//! answers with the right scope, and the reference's refusal without it.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::{Demo, Scratch, block_on, keys};
use serde_json::{Value, json};

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn ids(items: &Value) -> Vec<i64> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_i64().unwrap())
        .collect()
}

#[test]
fn whoami_needs_no_scope_and_describes_the_token() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);

    let token = demo.token("", "carol");
    let me = demo.ok(&token, "whoami", json!({}));
    assert_eq!(me["subject"], "carol");
    assert_eq!(me["client_id"], "mcp-dev-client");
    assert_eq!(me["scopes"], json!([]));
    assert_eq!(me["issuer"], format!("http://127.0.0.1:{}", demo.port));
    let exp = me["expires_at_unix"].as_u64().unwrap();
    assert!(exp.abs_diff(now() + 3600) < 120, "expires_at_unix {exp}");

    let token = demo.token("todo:read hr:read", "dave");
    let me = demo.ok(&token, "whoami", json!({}));
    assert_eq!(me["subject"], "dave");
    assert_eq!(me["scopes"], json!(["todo:read", "hr:read"]));
}

#[test]
fn todo_tools_create_list_update_delete() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);
    let rw = demo.token("todo:read todo:write", "alice");

    let item = demo.ok(
        &rw,
        "create_todo",
        json!({"title": "  Buy milk ", "due": "2026-12-01"}),
    );
    let id = item["id"].as_i64().unwrap();
    assert!(id > 0);
    assert_eq!(item["title"], "Buy milk", "the title is trimmed");
    assert_eq!(item["done"], false);
    assert_eq!(item["due"], "2026-12-01");
    let created = item["created_at"].as_str().unwrap();
    assert!(
        created.len() == 20 && created.ends_with('Z') && created.as_bytes()[10] == b'T',
        "created_at {created}"
    );
    let second = demo.ok(&rw, "create_todo", json!({"title": "Walk the dog"}));
    assert_eq!(second["due"], Value::Null);

    let list = demo.ok(&rw, "list_todos", json!({}));
    assert_eq!(list["todos"][0], item);
    assert_eq!(ids(&list["todos"]), [id, second["id"].as_i64().unwrap()]);

    let done = demo.ok(&rw, "update_todo", json!({"id": id, "done": true}));
    assert_eq!(done["done"], true);
    assert_eq!(done["title"], "Buy milk", "fields left out stay");
    assert_eq!(done["due"], "2026-12-01");
    let renamed = demo.ok(
        &rw,
        "update_todo",
        json!({"id": id, "title": "Buy oat milk"}),
    );
    assert_eq!(renamed["title"], "Buy oat milk");
    assert_eq!(renamed["done"], true);

    let open = demo.ok(&rw, "list_todos", json!({"include_done": false}));
    assert_eq!(ids(&open["todos"]), [second["id"].as_i64().unwrap()]);
    let all = demo.ok(&rw, "list_todos", json!({"include_done": true}));
    assert_eq!(all["todos"].as_array().unwrap().len(), 2);

    assert_eq!(
        demo.ok(&rw, "delete_todo", json!({"id": id})),
        json!({"deleted": id})
    );
    let list = demo.ok(&rw, "list_todos", json!({}));
    assert_eq!(ids(&list["todos"]), [second["id"].as_i64().unwrap()]);
}

#[test]
fn todo_tools_refuse_without_their_scope() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);
    let rw = demo.token("todo:read todo:write", "alice");
    let read = demo.token("todo:read", "alice");
    let write = demo.token("todo:write", "alice");
    let other = demo.token("hr:read finance:read system:admin", "alice");

    let item = demo.ok(&rw, "create_todo", json!({"title": "Buy milk"}));
    let id = item["id"].as_i64().unwrap();

    demo.refused(&other, "list_todos", json!({}), "todo:read");
    demo.refused(&write, "list_todos", json!({}), "todo:read");
    demo.refused(&write, "review_todos", json!({}), "todo:read");
    for token in [&read, &other] {
        demo.refused(
            token,
            "create_todo",
            json!({"title": "Sneaky"}),
            "todo:write",
        );
        demo.refused(
            token,
            "update_todo",
            json!({"id": id, "done": true}),
            "todo:write",
        );
        demo.refused(token, "delete_todo", json!({"id": id}), "todo:write");
    }
    // The scope is checked before the arguments: even a malformed call is
    // refused for its scope.
    demo.refused(&read, "create_todo", json!({}), "todo:write");

    // Nothing the refused calls asked for happened.
    let list = demo.ok(&read, "list_todos", json!({}));
    assert_eq!(list["todos"], json!([item]));
}

#[test]
fn hr_tools_read_and_update_the_directory() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);
    let hr = demo.token("hr:read hr:write", "hr-admin");
    let hr_read = demo.token("hr:read", "hr-viewer");
    let finance = demo.token("finance:read finance:write", "cfo");

    let dir = demo.ok(&hr_read, "list_employees", json!({}));
    let names: Vec<&str> = dir["employees"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "Ada Lovelace",
            "Grace Hopper",
            "Katherine Johnson",
            "Alan Turing"
        ]
    );
    assert_eq!(
        demo.ok(&hr_read, "get_employee", json!({"id": 3})),
        json!({"id": 3, "name": "Katherine Johnson", "email": "katherine@example.com",
               "department": "Finance", "title": "Controller", "phone": "+1-555-0103"})
    );

    let updated = demo.ok(
        &hr,
        "update_employee",
        json!({"id": 4, "title": "Head of Research", "phone": "+1-555-0199"}),
    );
    assert_eq!(
        updated,
        json!({"id": 4, "name": "Alan Turing", "email": "alan@example.com",
               "department": "Research", "title": "Head of Research", "phone": "+1-555-0199"})
    );
    assert_eq!(demo.ok(&hr_read, "get_employee", json!({"id": 4})), updated);

    demo.refused(&finance, "list_employees", json!({}), "hr:read");
    demo.refused(&finance, "get_employee", json!({"id": 1}), "hr:read");
    demo.refused(
        &finance,
        "update_employee",
        json!({"id": 1, "title": "CEO"}),
        "hr:write",
    );
    demo.refused(
        &hr_read,
        "update_employee",
        json!({"id": 1, "title": "CEO"}),
        "hr:write",
    );
    assert_eq!(
        demo.ok(&hr_read, "get_employee", json!({"id": 1}))["title"],
        "Principal Engineer",
        "refused updates change nothing"
    );
}

#[test]
fn finance_tools_show_payroll_and_approve_expenses() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);
    let cfo = demo.token("finance:read finance:write", "cfo");
    let auditor = demo.token("finance:read", "auditor");
    let hr = demo.token("hr:read hr:write", "hr-admin");

    let payroll = demo.ok(&auditor, "get_payroll", json!({}));
    assert_eq!(
        payroll["payroll"],
        json!([
            {"employee_id": 1, "annual_salary": 185000, "currency": "USD", "pay_cycle": "monthly"},
            {"employee_id": 2, "annual_salary": 172000, "currency": "USD", "pay_cycle": "monthly"},
            {"employee_id": 3, "annual_salary": 158000, "currency": "USD", "pay_cycle": "monthly"},
            {"employee_id": 4, "annual_salary": 164000, "currency": "USD", "pay_cycle": "monthly"},
        ])
    );
    assert_eq!(
        payroll["pending_expenses"],
        json!([
            {"id": 1, "employee_id": 1, "amount_cents": 4200, "currency": "USD",
             "description": "Conference taxi", "status": "pending", "approved_by": null},
            {"id": 2, "employee_id": 2, "amount_cents": 12999, "currency": "USD",
             "description": "Team offsite lunch", "status": "pending", "approved_by": null},
            {"id": 3, "employee_id": 4, "amount_cents": 35000, "currency": "USD",
             "description": "Research books", "status": "pending", "approved_by": null},
        ])
    );
    let one = demo.ok(&auditor, "get_payroll", json!({"employee_id": 2}));
    assert_eq!(
        one["payroll"],
        json!([{"employee_id": 2, "annual_salary": 172000, "currency": "USD", "pay_cycle": "monthly"}])
    );

    demo.refused(
        &auditor,
        "approve_expense",
        json!({"expense_id": 2}),
        "finance:write",
    );
    demo.refused(
        &hr,
        "approve_expense",
        json!({"expense_id": 2}),
        "finance:write",
    );
    demo.refused(&hr, "get_payroll", json!({}), "finance:read");
    assert_eq!(
        ids(&demo.ok(&auditor, "get_payroll", json!({}))["pending_expenses"]),
        [1, 2, 3],
        "refused approvals change nothing"
    );

    let approved = demo.ok(&cfo, "approve_expense", json!({"expense_id": 2}));
    assert_eq!(
        approved,
        json!({"id": 2, "employee_id": 2, "amount_cents": 12999, "currency": "USD",
               "description": "Team offsite lunch", "status": "approved", "approved_by": "cfo"})
    );
    assert_eq!(
        ids(&demo.ok(&auditor, "get_payroll", json!({}))["pending_expenses"]),
        [1, 3]
    );
}

#[test]
fn system_tools_follow_the_scope_hierarchy() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);
    let admin = demo.token("system:admin", "root");
    let write = demo.token("system:write", "operator");
    let read = demo.token("system:read", "viewer");
    let none = demo.token("todo:read todo:write", "alice");

    let status = demo.ok(&admin, "get_system_status", json!({}));
    assert_eq!(status["version"], env!("CARGO_PKG_VERSION"));
    assert!(status["uptime_seconds"].as_u64().unwrap() < 600);
    let started = status["started_at_unix"].as_u64().unwrap();
    assert!(started.abs_diff(now()) < 600, "started_at_unix {started}");
    assert!(status["memory_rss_bytes"].as_u64().unwrap() > 1_000_000);
    let served = status["requests_served"].as_u64().unwrap();
    assert!(served > 0);
    assert_eq!(status["maintenance_mode"], false);
    assert_eq!(status["restarts"], 0);
    assert!(
        status.get("database").is_none(),
        "the status does not show where the database is: {status}"
    );
    let again = demo.ok(&read, "get_system_status", json!({}));
    assert!(again["requests_served"].as_u64().unwrap() > served);

    // system:read: the status only.
    demo.refused(
        &read,
        "set_maintenance_mode",
        json!({"enabled": true}),
        "system:write",
    );
    demo.refused(&read, "restart_service", json!({}), "system:admin");

    // system:write: status and maintenance mode, not restarts.
    let on = demo.ok(&write, "set_maintenance_mode", json!({"enabled": true}));
    assert_eq!(on["maintenance_mode"], true);
    assert_eq!(
        demo.ok(&write, "get_system_status", json!({}))["maintenance_mode"],
        true
    );
    demo.refused(&write, "restart_service", json!({}), "system:admin");

    // Tokens without any system scope get nothing.
    demo.refused(&none, "get_system_status", json!({}), "system:read");
    demo.refused(
        &none,
        "set_maintenance_mode",
        json!({"enabled": false}),
        "system:write",
    );
    demo.refused(&none, "restart_service", json!({}), "system:admin");

    // system:admin: all three.
    let off = demo.ok(&admin, "set_maintenance_mode", json!({"enabled": false}));
    assert_eq!(off["maintenance_mode"], false);
    demo.ok(&admin, "set_maintenance_mode", json!({"enabled": true}));
    let restarted = demo.ok(&admin, "restart_service", json!({}));
    let actions: Vec<&str> = restarted["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(actions.len(), 3, "{actions:?}");
    assert_eq!(actions[0], "reopened the database");
    assert_eq!(actions[1], "ended maintenance mode");
    assert!(
        actions[2].starts_with("reset request counter (was "),
        "{actions:?}"
    );
    assert_eq!(restarted["status"]["restarts"], 1);
    assert_eq!(restarted["status"]["maintenance_mode"], false);
    assert_eq!(restarted["status"]["requests_served"], 0);
    let after = demo.ok(&read, "get_system_status", json!({}));
    assert_eq!(
        after["requests_served"], 1,
        "only this request since the restart"
    );
    assert_eq!(after["restarts"], 1);

    // The database still works after being reopened.
    let item = demo.ok(&none, "create_todo", json!({"title": "After restart"}));
    assert_eq!(item["title"], "After restart");
}

#[test]
fn hr_and_finance_are_isolated() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);
    let hr = demo.token("hr:read hr:write", "hr-admin");
    let finance = demo.token("finance:read finance:write", "cfo");

    for (tool, args) in [
        ("get_payroll", json!({})),
        ("get_payroll", json!({"employee_id": 1})),
    ] {
        demo.refused(&hr, tool, args, "finance:read");
    }
    demo.refused(
        &hr,
        "approve_expense",
        json!({"expense_id": 1}),
        "finance:write",
    );
    demo.refused(&finance, "list_employees", json!({}), "hr:read");
    demo.refused(&finance, "get_employee", json!({"id": 1}), "hr:read");
    demo.refused(
        &finance,
        "update_employee",
        json!({"id": 1, "phone": "+1-555-0000"}),
        "hr:write",
    );

    let hr_outputs = [
        demo.ok(&hr, "list_employees", json!({})),
        demo.ok(&hr, "get_employee", json!({"id": 1})),
        demo.ok(
            &hr,
            "update_employee",
            json!({"id": 1, "department": "R&D"}),
        ),
    ];
    for out in &hr_outputs {
        let text = out.to_string();
        for k in keys(out) {
            assert!(
                ![
                    "annual_salary",
                    "salary",
                    "pay_cycle",
                    "amount_cents",
                    "currency"
                ]
                .contains(&k.as_str()),
                "HR output has a pay field `{k}`: {text}"
            );
        }
        assert!(
            !text.contains("185000") && !text.contains("salary"),
            "{text}"
        );
    }

    let finance_outputs = [
        demo.ok(&finance, "get_payroll", json!({})),
        demo.ok(&finance, "get_payroll", json!({"employee_id": 1})),
        demo.ok(&finance, "approve_expense", json!({"expense_id": 1})),
    ];
    for out in &finance_outputs {
        let text = out.to_string();
        for k in keys(out) {
            assert!(
                !["email", "phone", "name", "department", "title"].contains(&k.as_str()),
                "finance output has a directory field `{k}`: {text}"
            );
        }
        assert!(
            !text.contains("@example.com") && !text.contains("+1-555") && !text.contains("Ada"),
            "{text}"
        );
    }
}

#[test]
fn bad_input_gets_clear_tool_errors() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);
    let alice = demo.token("todo:read todo:write", "alice");
    let bob = demo.token("todo:read todo:write", "bob");
    let hr = demo.token("hr:read hr:write", "hr-admin");
    let cfo = demo.token("finance:read finance:write", "cfo");

    // Titles.
    for title in ["", "   "] {
        assert_eq!(
            demo.err(&alice, "create_todo", json!({"title": title})),
            "The title must not be empty."
        );
    }
    let long = "x".repeat(201);
    assert_eq!(
        demo.err(&alice, "create_todo", json!({"title": long})),
        "The title must be at most 200 characters."
    );
    assert!(demo.ok(&alice, "create_todo", json!({"title": "é".repeat(200)}))["id"].is_i64());
    let item = demo.ok(&alice, "create_todo", json!({"title": "Buy milk"}));
    let id = item["id"].as_i64().unwrap();
    assert_eq!(
        demo.err(&alice, "update_todo", json!({"id": id, "title": " "})),
        "The title must not be empty."
    );

    // Unknown ids, and someone else's: the same answer.
    assert_eq!(
        demo.err(&alice, "update_todo", json!({"id": 999_999, "done": true})),
        "Todo 999999 not found."
    );
    assert_eq!(
        demo.err(&alice, "delete_todo", json!({"id": 999_999})),
        "Todo 999999 not found."
    );
    assert_eq!(
        demo.err(&bob, "update_todo", json!({"id": id, "done": true})),
        format!("Todo {id} not found.")
    );
    assert_eq!(
        demo.err(&bob, "delete_todo", json!({"id": id})),
        format!("Todo {id} not found.")
    );
    assert_eq!(
        demo.err(&hr, "get_employee", json!({"id": 99})),
        "Employee 99 not found."
    );
    assert_eq!(
        demo.err(&hr, "update_employee", json!({"id": 99, "title": "Boss"})),
        "Employee 99 not found."
    );
    assert_eq!(
        demo.err(&hr, "update_employee", json!({"id": 1, "department": ""})),
        "The department must not be empty."
    );
    assert_eq!(
        demo.err(&cfo, "get_payroll", json!({"employee_id": 99})),
        "No payroll entry for employee 99."
    );
    assert_eq!(
        demo.err(&cfo, "approve_expense", json!({"expense_id": 99})),
        "Expense 99 not found."
    );

    // Approving twice.
    assert_eq!(
        demo.ok(&cfo, "approve_expense", json!({"expense_id": 3}))["status"],
        "approved"
    );
    assert_eq!(
        demo.err(&cfo, "approve_expense", json!({"expense_id": 3})),
        "Expense 3 is already approved."
    );

    // Arguments that do not fit the schema are errors too, not crashes.
    for (args, why) in [
        (json!({}), "missing field `title`"),
        (
            json!({"title": 42}),
            "invalid type: integer `42`, expected a string",
        ),
    ] {
        assert_eq!(
            demo.err(&alice, "create_todo", args),
            format!("Invalid arguments for tool `create_todo`: {why}")
        );
    }
    let message = demo.err(&alice, "update_todo", json!({"id": "one"}));
    assert!(
        message.starts_with("Invalid arguments for tool `update_todo`: "),
        "{message}"
    );

    // None of it changed alice's item.
    let list = demo.ok(&alice, "list_todos", json!({"include_done": true}));
    assert_eq!(list["todos"][1], item);
}

#[test]
fn maintenance_mode_makes_todos_read_only() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);
    let alice = demo.token("todo:read todo:write", "alice");
    let operator = demo.token("system:write", "operator");

    let item = demo.ok(&alice, "create_todo", json!({"title": "Before"}));
    let id = item["id"].as_i64().unwrap();
    demo.ok(&operator, "set_maintenance_mode", json!({"enabled": true}));

    let message = "The service is in maintenance mode; todo items are read-only until it ends.";
    assert_eq!(
        demo.err(&alice, "create_todo", json!({"title": "During"})),
        message
    );
    assert_eq!(
        demo.err(&alice, "update_todo", json!({"id": id, "done": true})),
        message
    );
    assert_eq!(demo.err(&alice, "delete_todo", json!({"id": id})), message);
    assert_eq!(
        demo.ok(&alice, "list_todos", json!({}))["todos"],
        json!([item]),
        "reading still works, and nothing changed"
    );

    demo.ok(&operator, "set_maintenance_mode", json!({"enabled": false}));
    assert_eq!(
        demo.ok(&alice, "update_todo", json!({"id": id, "done": true}))["done"],
        true
    );
}

#[test]
fn two_subjects_see_disjoint_todos() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);
    let alice = demo.token("todo:read todo:write", "alice");
    let bob = demo.token("todo:read todo:write", "bob");

    let a1 = demo.ok(&alice, "create_todo", json!({"title": "Alice's first"}));
    let a2 = demo.ok(&alice, "create_todo", json!({"title": "Alice's second"}));
    assert_eq!(demo.ok(&bob, "list_todos", json!({})), json!({"todos": []}));

    for a in [&a1, &a2] {
        let id = a["id"].as_i64().unwrap();
        assert_eq!(
            demo.err(
                &bob,
                "update_todo",
                json!({"id": id, "title": "Bob was here"})
            ),
            format!("Todo {id} not found.")
        );
        assert_eq!(
            demo.err(&bob, "delete_todo", json!({"id": id})),
            format!("Todo {id} not found.")
        );
    }

    let b1 = demo.ok(&bob, "create_todo", json!({"title": "Bob's"}));
    assert_eq!(
        demo.ok(&bob, "list_todos", json!({})),
        json!({"todos": [b1.clone()]})
    );
    assert_eq!(
        demo.ok(&alice, "list_todos", json!({})),
        json!({"todos": [a1, a2]}),
        "alice's items are untouched and bob's are not hers"
    );
    let b_id = b1["id"].as_i64().unwrap();
    assert_eq!(
        demo.err(&alice, "delete_todo", json!({"id": b_id})),
        format!("Todo {b_id} not found.")
    );
}

#[test]
fn review_todos_reports_progress_on_the_callers_items() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);
    let alice = demo.token("todo:read todo:write", "alice");
    let bob = demo.token("todo:read todo:write", "bob");
    let reader = demo.token("todo:read", "alice");

    // No items: nothing to report.
    assert_eq!(
        demo.ok(&reader, "review_todos", json!({})),
        json!({"subject": "alice", "total": 0, "open": 0, "done": 0})
    );
    let first = demo.ok(&alice, "create_todo", json!({"title": "Buy milk"}));
    demo.ok(&alice, "create_todo", json!({"title": "Walk the dog"}));
    demo.ok(
        &alice,
        "update_todo",
        json!({"id": first["id"], "done": true}),
    );
    demo.ok(&bob, "create_todo", json!({"title": "Bob's"}));

    // Without a progress token: a plain JSON answer.
    let res = block_on(
        demo.mcp(Some(&reader))
            .call_tool("review_todos", json!({"pause_ms": 10})),
    );
    assert!(
        res.header("content-type").starts_with("application/json"),
        "{res:?}"
    );
    assert_eq!(
        res.message()["result"]["structuredContent"],
        json!({"subject": "alice", "total": 2, "open": 1, "done": 1})
    );

    // With one: a progress notification per item (its title), then the
    // result, as an event stream.
    let call = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {
        "name": "review_todos", "arguments": {}, "_meta": {"progressToken": "p-1"}}});
    let res = block_on(demo.mcp(Some(&reader)).post(&call));
    assert!(
        res.header("content-type").starts_with("text/event-stream"),
        "{res:?}"
    );
    let messages = res.messages();
    let progress: Vec<Value> = messages[..2].iter().map(|m| m["params"].clone()).collect();
    assert_eq!(
        progress,
        [
            json!({"progressToken": "p-1", "progress": 1.0, "total": 2.0, "message": "Buy milk"}),
            json!({"progressToken": "p-1", "progress": 2.0, "total": 2.0, "message": "Walk the dog"}),
        ]
    );
    assert!(
        messages[..2]
            .iter()
            .all(|m| m["method"] == "notifications/progress")
    );
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert_eq!(
        messages[2]["result"]["structuredContent"],
        json!({"subject": "alice", "total": 2, "open": 1, "done": 1})
    );

    assert_eq!(
        demo.ok(&bob, "review_todos", json!({})),
        json!({"subject": "bob", "total": 1, "open": 1, "done": 0})
    );
    assert_eq!(
        demo.err(&alice, "review_todos", json!({"pause_ms": 2001})),
        "`pause_ms` is at most 2000."
    );
}

/// A `tools/call` at protocol 2026-07-28 from a client with the elicitation
/// capability; `retry` holds the answers and state of a previous round.
fn call_asking(demo: &Demo, token: &str, tool: &str, arguments: Value, retry: Value) -> Value {
    let mut params = json!({
        "name": tool,
        "arguments": arguments,
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {"elicitation": {"form": {}}},
        },
    });
    for (k, v) in retry.as_object().unwrap() {
        params[k] = v.clone();
    }
    let mcp = demo
        .mcp(Some(token))
        .header("mcp-protocol-version", "2026-07-28")
        .header("mcp-method", "tools/call")
        .header("mcp-name", tool);
    let res = block_on(mcp.post(&json!({
        "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": params,
    })));
    assert_eq!(res.status, 200, "{tool}: {res:?}");
    res.message()["result"].clone()
}

/// The question of an `InputRequiredResult`, and the retry answering it
/// with `action`.
fn answer(asked: &Value, action: &str) -> (String, Value) {
    assert_eq!(asked["resultType"], "input_required", "{asked}");
    let (key, request) = asked["inputRequests"]
        .as_object()
        .unwrap()
        .iter()
        .next()
        .unwrap();
    let message = request["params"]["message"].as_str().unwrap().to_owned();
    let retry = json!({
        "inputResponses": {key: {"action": action, "content": {}}},
        "requestState": asked["requestState"],
    });
    (message, retry)
}

#[test]
fn destructive_tools_confirm_with_clients_that_can_be_asked() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);
    let rw = demo.token("todo:read todo:write", "dana");
    let id = demo.ok(&rw, "create_todo", json!({"title": "Water plants"}))["id"].clone();

    let asked = call_asking(&demo, &rw, "delete_todo", json!({"id": id}), json!({}));
    let (question, no) = answer(&asked, "decline");
    assert_eq!(question, format!("Delete todo {id}, \"Water plants\"?"));
    let declined = call_asking(&demo, &rw, "delete_todo", json!({"id": id}), no);
    assert_eq!(declined["isError"], true, "{declined}");
    assert_eq!(
        declined["content"][0]["text"],
        format!("Cancelled: the user declined; todo {id} was not deleted.")
    );
    assert_eq!(demo.ok(&rw, "list_todos", json!({}))["todos"][0]["id"], id);

    let (_, yes) = answer(&asked, "accept");
    let deleted = call_asking(&demo, &rw, "delete_todo", json!({"id": id}), yes);
    assert_eq!(deleted["structuredContent"], json!({"deleted": id}));
    assert_eq!(demo.ok(&rw, "list_todos", json!({}))["todos"], json!([]));

    // An item that does not exist is not asked about.
    let missing = call_asking(&demo, &rw, "delete_todo", json!({"id": 999_999}), json!({}));
    assert_eq!(missing["content"][0]["text"], "Todo 999999 not found.");

    let admin = demo.token("system:admin", "root");
    let asked = call_asking(&demo, &admin, "restart_service", json!({}), json!({}));
    let (question, no) = answer(&asked, "cancel");
    assert!(
        question.starts_with("Restart the server's services?"),
        "{question}"
    );
    let cancelled = call_asking(&demo, &admin, "restart_service", json!({}), no);
    assert_eq!(
        cancelled["content"][0]["text"],
        "Cancelled: the user declined; nothing was restarted."
    );
    let (_, yes) = answer(&asked, "accept");
    let restarted = call_asking(&demo, &admin, "restart_service", json!({}), yes);
    assert_eq!(
        restarted["structuredContent"]["status"]["restarts"], 1,
        "{restarted}"
    );
}
