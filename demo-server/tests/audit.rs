//! `--audit-log FILE`: every authorisation decision as a JSON line, with
//! subject and reason, never the token.

mod common;

use std::time::Duration;

use common::{Demo, Scratch};
use serde_json::{Value, json};

#[test]
fn audit_log_holds_one_json_line_per_decision_and_no_token() {
    let scratch = Scratch::new();
    let log = scratch.db().with_file_name("audit.jsonl");
    let log_arg = log.to_str().unwrap().to_owned();
    let mut demo = Demo::start(&scratch, &["--audit-log", &log_arg]);
    let reader = demo.token("todo:read", "rita");
    let writer = demo.token("todo:read todo:write", "wendy");

    demo.refused(&reader, "create_todo", json!({"title": "x"}), "todo:write");
    demo.ok(&writer, "create_todo", json!({"title": "Buy milk"}));
    let anonymous = demo.post(
        None,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
    );
    assert_eq!(anonymous.status, 401);
    demo.stop(Duration::from_secs(15));

    let text = std::fs::read_to_string(&log).unwrap();
    for token in [&reader, &writer] {
        assert!(!text.contains(token.as_str()), "a token in the audit log");
        assert!(
            !text.contains(&token[..16]),
            "a token prefix in the audit log"
        );
    }
    let events: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["fields"].clone())
        .collect();
    let find = |reason: &str, subject: Option<&str>| {
        events
            .iter()
            .find(|e| e["reason"] == reason && e["subject"].as_str() == subject)
            .unwrap_or_else(|| panic!("no {reason} event for {subject:?} in {events:#?}"))
    };
    let refused = find("insufficient_scope", Some("rita"));
    assert_eq!(refused["decision"], "refused");
    assert_eq!(
        (refused["kind"].as_str(), refused["name"].as_str()),
        (Some("tool"), Some("create_todo"))
    );
    assert_eq!(refused["missing_scopes"], "todo:write");
    let allowed = find("scope_granted", Some("wendy"));
    assert_eq!(allowed["decision"], "allowed");
    assert_eq!(allowed["name"], "create_todo");
    let anonymous = find("no_token", None);
    assert_eq!(anonymous["decision"], "refused");
    assert_eq!(events.len(), 3, "{events:#?}");
}
