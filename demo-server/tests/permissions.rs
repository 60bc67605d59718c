//! `demo-server permissions`: the permission model, as a table and as JSON,
//! pinned by snapshots so that a changed rule shows up in review like a
//! changed schema (`cargo insta review` after an intended change).

mod common;

use common::demo_command;

fn permissions(args: &[&str]) -> String {
    let out = demo_command()
        .arg("permissions")
        .args(args)
        .output()
        .expect("demo-server runs");
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_table_lists_every_item_and_its_rule() {
    let table = permissions(&[]);
    insta::assert_snapshot!("permissions_table", table);
    let readme = include_str!("../../README.md");
    assert!(
        readme.contains(&format!("```text\n{table}```")),
        "the README shows this table as the demo prints it:\n{table}"
    );
}

#[test]
fn the_json_carries_the_same_model() {
    let json: serde_json::Value = serde_json::from_str(&permissions(&["--json"])).unwrap();
    insta::assert_json_snapshot!("permissions_json", json);
    let items = json["items"].as_array().unwrap();
    let status = items
        .iter()
        .find(|i| i["name"] == "get_system_status")
        .unwrap();
    assert_eq!(
        status["scopes"][0]["granted_by"],
        serde_json::json!(["system:admin", "system:write"])
    );
    assert!(
        items
            .iter()
            .all(|i| i["rule"] != "public" || i["name"] == "whoami")
    );
}
