//! The demo's scoped resources and prompt over HTTP on the real binary:
//! `todo://items` (the caller's own items), `hr://employees/{id}` and
//! `plan_my_day`, each allowed, refused, and refused in step-up mode.

mod common;

use common::{Demo, Scratch};
use mcp_test_client::rpc;
use serde_json::{Value, json};

/// The JSON-RPC answer to `method` with `params`, sent with `token`.
fn ask(demo: &Demo, token: &str, method: &str, params: Value) -> Value {
    let res = demo.post(Some(token), &rpc(method, params));
    assert_eq!(res.status, 200, "{method}: {res:?}");
    res.message()
}

fn read(demo: &Demo, token: &str, uri: &str) -> Value {
    ask(demo, token, "resources/read", json!({"uri": uri}))
}

/// The JSON of a resource read's one text content.
fn contents(answer: &Value) -> Value {
    let c = &answer["result"]["contents"][0];
    assert_eq!(c["mimeType"], "application/json", "{answer}");
    serde_json::from_str(c["text"].as_str().unwrap()).unwrap()
}

fn assert_refused(answer: &Value, scope: &str) {
    assert_eq!(answer["error"]["code"], -32003, "{answer}");
    assert_eq!(
        answer["error"]["message"],
        format!("Insufficient permissions: `{scope}` scope required.")
    );
}

#[test]
fn todo_items_are_the_callers_own() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);
    let alice = demo.token("todo:read todo:write", "alice");
    demo.ok(&alice, "create_todo", json!({"title": "Water the plants"}));
    let bob = demo.token("todo:read", "bob");

    let mine = contents(&read(&demo, &alice, "todo://items"));
    assert_eq!(mine["todos"][0]["title"], "Water the plants", "{mine}");
    let theirs = contents(&read(&demo, &bob, "todo://items"));
    assert_eq!(theirs["todos"], json!([]), "bob sees none of alice's items");

    let nobody = demo.token("hr:read", "alice");
    assert_refused(&read(&demo, &nobody, "todo://items"), "todo:read");
}

#[test]
fn employee_records_need_hr_read() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);
    let hr = demo.token("hr:read", "hana");
    let record = contents(&read(&demo, &hr, "hr://employees/1"));
    assert_eq!(record["id"], 1, "{record}");
    assert!(record["name"].is_string(), "{record}");
    assert!(
        record.get("annual_salary").is_none(),
        "no pay data in HR records"
    );

    for missing in ["hr://employees/999999", "hr://employees/abc"] {
        let answer = read(&demo, &hr, missing);
        assert_eq!(answer["error"]["code"], -32002, "{missing}: {answer}");
    }
    let todo = demo.token("todo:read finance:read", "hana");
    assert_refused(&read(&demo, &todo, "hr://employees/1"), "hr:read");

    let listed = ask(&demo, &todo, "resources/templates/list", json!({}));
    assert_eq!(
        listed["result"]["resourceTemplates"][0]["uriTemplate"],
        "hr://employees/{id}"
    );
}

#[test]
fn plan_my_day_lists_the_open_items() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &[]);
    let alice = demo.token("todo:read todo:write", "alice");
    demo.ok(
        &alice,
        "create_todo",
        json!({"title": "Call the bank", "due": "today"}),
    );

    let get = |token: &str, arguments: Value| {
        ask(
            &demo,
            token,
            "prompts/get",
            json!({"name": "plan_my_day", "arguments": arguments}),
        )
    };
    let answer = get(&alice, json!({"focus": "the bank"}));
    let text = answer["result"]["messages"][0]["content"]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    assert!(text.contains("- Call the bank (due today)"), "{text}");
    assert!(text.contains("focus on: the bank"), "{text}");

    let too_long = get(&alice, json!({"focus": "x".repeat(201)}));
    assert!(too_long.get("error").is_some(), "{too_long}");

    let hr = demo.token("hr:read", "alice");
    assert_refused(&get(&hr, json!({})), "todo:read");
}

#[test]
fn step_up_mode_challenges_for_the_missing_scope() {
    let scratch = Scratch::new();
    let demo = Demo::start(&scratch, &["--step-up"]);
    let hr = demo.token("hr:read", "hana");
    let cases = [
        (
            "resources/read",
            json!({"uri": "todo://items"}),
            "hr:read todo:read",
        ),
        (
            "prompts/get",
            json!({"name": "plan_my_day"}),
            "hr:read todo:read",
        ),
    ];
    for (method, params, scope) in cases {
        let res = demo.post(Some(&hr), &rpc(method, params));
        assert_eq!(res.status, 403, "{method}: {res:?}");
        let challenge = res.challenge();
        assert_eq!(challenge.param("error"), Some("insufficient_scope"));
        assert_eq!(challenge.param("scope"), Some(scope), "{method}");
    }
    let record = contents(&read(&demo, &hr, "hr://employees/1"));
    assert_eq!(record["id"], 1);
}
