//! Step-up mode: a request whose token lacks the scopes of what it asks
//! for (a tool to call, a resource to read, a prompt to get, a completion
//! of either) is refused at the HTTP layer, before dispatch, with 403
//! `insufficient_scope` naming the scopes to ask for.
//!
//! Which scopes those are depends on the request's protocol revision (its
//! `Mcp-Protocol-Version` header, which the transport holds equal to the
//! revision in the body's `_meta`):
//!
//! - from 2026-07-28 on, the scopes the operation needs (RFC 6750 §3.1):
//!   clients of that revision add the challenged scopes to those they
//!   already asked for (SEP-2350);
//! - before it, the scopes the token holds as well as those required:
//!   clients of those revisions (the TypeScript SDK 1.x among them) ask for
//!   exactly the challenged scopes, and would otherwise lose the ones they
//!   had.
//!
//! The scopes an operation needs are all of an all-of rule's, and the first
//! option of an any-of rule.

use std::{borrow::Cow, sync::Arc};

use axum::{extract::Request, http::HeaderMap, response::Response};
use rmcp::model::{ProtocolVersion, Reference};
use serde::Deserialize;

use super::challenge::Challenge;
use crate::{
    catalog::{
        Catalog,
        scopes::{ScopeDecision, ScopeRule, decide},
        surfaces::reference_name,
    },
    token::AccessToken,
};

/// The catalog whose rules the check applies.
pub(crate) struct StepUp {
    pub(crate) catalog: Arc<Catalog>,
}

#[derive(Deserialize)]
struct Peek<'a> {
    /// Borrowed when it can be; an escaped name (`tools\/call`) is owned.
    #[serde(borrow)]
    method: Option<Cow<'a, str>>,
    #[serde(borrow)]
    params: Option<PeekParams<'a>>,
}

#[derive(Deserialize)]
struct PeekParams<'a> {
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    uri: Option<Cow<'a, str>>,
    #[serde(rename = "ref")]
    reference: Option<Reference>,
}

/// What one request asks for, as far as scopes go.
#[derive(Debug, PartialEq)]
enum Target {
    /// `tools/call`, `prompts/get` (a name) or `resources/read` (a URI).
    Named { method: String, name: String },
    /// `completion/complete`.
    Completion(Reference),
}

/// The methods whose target has a scope rule.
const GUARDED: [&str; 4] = [
    "tools/call",
    "prompts/get",
    "resources/read",
    "completion/complete",
];

impl StepUp {
    /// The 403 to answer `request` (whose body the gate has read), if its
    /// token lacks the scopes of what it asks for.
    pub(crate) fn refusal(
        &self,
        request: &Request,
        body: &[u8],
        challenge: &Challenge,
    ) -> Option<Response> {
        let target = match from_headers(request.headers()) {
            Some(said) => said?,
            None => from_body(body)?,
        };
        // Unknown to the catalog: the handler answers.
        let (guard, name) = match &target {
            Target::Named { method, name } => (self.catalog.guard(method, name)?, name.as_str()),
            Target::Completion(r) => (self.catalog.completion_step_up(r)?, reference_name(r)),
        };
        let token = request
            .extensions()
            .get::<AccessToken>()
            .expect("the bearer check runs first");
        let held = token.scopes();
        let ScopeDecision::Refused { missing, message } =
            decide(&guard.rule, held, self.catalog.hierarchy())
        else {
            return None;
        };
        crate::audit::Decision {
            allowed: false,
            reason: "insufficient_scope",
            detail: Some(&message),
            about: crate::audit::Subject {
                kind: guard.kind,
                name,
            },
            token: Some(token),
            missing: std::slice::from_ref(&missing),
            request: request
                .extensions()
                .get::<crate::audit::RequestId>()
                .copied(),
        }
        .emit();
        let needed = needed(&guard.rule, missing);
        let wanted = if client_accumulates(request.headers()) {
            needed.join(" ")
        } else {
            with_held(held, needed)
        };
        Some(challenge.insufficient_scope(&wanted, &message))
    }
}

/// The first protocol revision whose clients accumulate scopes on step-up
/// (SEP-2350).
const ACCUMULATING: ProtocolVersion = ProtocolVersion::V_2026_07_28;

/// Whether the request's revision is [`ACCUMULATING`] or later. Without an
/// `Mcp-Protocol-Version` header the request is of 2025-03-26.
fn client_accumulates(headers: &HeaderMap) -> bool {
    headers
        .get("mcp-protocol-version")
        .and_then(|v| v.to_str().ok())
        // ISO dates compare as strings do.
        .is_some_and(|v| v >= ACCUMULATING.as_str())
}

/// The scopes the operation needs: all of an all-of rule's, the first
/// option (`missing`) of an any-of rule's.
fn needed(rule: &ScopeRule, missing: &'static str) -> &'static [&'static str] {
    match rule {
        ScopeRule::Any(options) => {
            let first = options.iter().position(|s| *s == missing).unwrap_or(0);
            options.get(first..=first).unwrap_or_default()
        }
        rule => rule.scopes(),
    }
}

/// The challenge's `scope` for clients before SEP-2350, which ask for
/// exactly the challenged scopes: those held, then those needed.
fn with_held(held: &[String], needed: &[&str]) -> String {
    let mut wanted: Vec<&str> = held.iter().map(String::as_str).collect();
    for s in needed {
        if !wanted.contains(s) {
            wanted.push(s);
        }
    }
    wanted.join(" ")
}

/// What a request asks for, from the `Mcp-Method`/`Mcp-Name` headers when
/// the protocol revision makes the transport check them against the body:
/// `Some(None)` when the method has no scope rule, `None` when the body
/// must be read.
fn from_headers(headers: &HeaderMap) -> Option<Option<Target>> {
    let version = headers.get("mcp-protocol-version")?.to_str().ok()?;
    if version < ProtocolVersion::STANDARD_HEADERS.as_str() {
        return None;
    }
    let method = headers.get("mcp-method")?.to_str().ok()?;
    if !GUARDED.contains(&method) {
        return Some(None);
    }
    if method == "completion/complete" {
        return None; // No `Mcp-Name`: read the body
    }
    let name = headers.get("mcp-name")?.to_str().ok()?;
    if name.starts_with("=?") {
        return None; // Base64-wrapped: read the body rather than decode here
    }
    Some(Some(Target::Named {
        method: method.to_owned(),
        name: name.to_owned(),
    }))
}

/// What a request asks for, from its body.
fn from_body(body: &[u8]) -> Option<Target> {
    let peek = serde_json::from_slice::<Peek<'_>>(body).ok()?;
    let method = peek.method?;
    let params = peek.params?;
    match &*method {
        "completion/complete" => params.reference.map(Target::Completion),
        "tools/call" | "prompts/get" => Some(Target::Named {
            name: params.name?.into_owned(),
            method: method.into_owned(),
        }),
        "resources/read" => Some(Target::Named {
            name: params.uri?.into_owned(),
            method: method.into_owned(),
        }),
        _ => None,
    }
}

#[cfg(test)]
mod props {
    use axum::body::Bytes;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn an_escaped_method_name_is_still_seen() {
        for method in [r#""tools\/call""#, r#""tools\u002fcall""#] {
            let body =
                format!(r#"{{"jsonrpc":"2.0","id":1,"method":{method},"params":{{"name":"x"}}}}"#);
            let (found, _) = peek(body.into_bytes());
            assert_eq!(found.as_deref(), Some("x"), "{method}");
        }
    }

    /// The tool name peeked from `body`, and the body as the transport
    /// then gets it (the peek only reads it).
    fn peek(body: Vec<u8>) -> (Option<String>, Bytes) {
        let tool = match from_body(&body) {
            Some(Target::Named { method, name }) if method == "tools/call" => Some(name),
            _ => None,
        };
        (tool, Bytes::from(body))
    }

    #[test]
    fn every_guarded_method_is_seen_in_the_body() {
        let named = |method: &str, name: &str| Target::Named {
            method: method.into(),
            name: name.into(),
        };
        let cases = [
            (
                json!({"method": "prompts/get", "params": {"name": "p"}}),
                Some(named("prompts/get", "p")),
            ),
            (
                json!({"method": "resources/read", "params": {"uri": "a://b"}}),
                Some(named("resources/read", "a://b")),
            ),
            (
                json!({"method": "resources/subscribe", "params": {"uri": "a://b"}}),
                None,
            ),
            (
                json!({"method": "resources/read", "params": {"name": "a://b"}}),
                None,
            ),
            (json!({"method": "resources/list", "params": {}}), None),
        ];
        for (body, want) in cases {
            assert_eq!(from_body(body.to_string().as_bytes()), want, "{body}");
        }
        let body = json!({"method": "completion/complete", "params": {
            "ref": {"type": "ref/prompt", "name": "p"},
            "argument": {"name": "a", "value": ""}
        }});
        assert!(matches!(
            from_body(body.to_string().as_bytes()),
            Some(Target::Completion(Reference::Prompt(p))) if p.name == "p"
        ));
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// `"key":value` members of an object, in the given order.
    fn object(members: &[(String, String)]) -> String {
        let inner: Vec<String> = members.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
        format!("{{{}}}", inner.join(","))
    }

    proptest! {
        #![proptest_config(crate::proptest_config())]

        #[test]
        fn never_panics_and_puts_any_body_back(body in prop::collection::vec(any::<u8>(), 0..256)) {
            let (_, back) = peek(body.clone());
            prop_assert_eq!(&back[..], &body[..]);
        }

        #[test]
        fn never_panics_on_json_ish_bodies(
            body in r#"\{("(method|params|name|id|jsonrpc)":("[a-z/\\"]{0,10}"|\{|\}|\[|[0-9]|null|,)){0,6}\}?"#,
        ) {
            let (_, back) = peek(body.clone().into_bytes());
            prop_assert_eq!(&back[..], body.as_bytes());
        }

        #[test]
        fn finds_the_name_of_a_generated_tools_call(
            name in ".{0,24}",
            id in json_value(),
            arguments in json_value(),
            extra in json_value(),
            params_first in any::<bool>(),
            name_first in any::<bool>(),
            pretty in any::<bool>(),
        ) {
            let name_member = ("name".to_owned(), json!(name).to_string());
            let arguments_member = ("arguments".to_owned(), arguments.to_string());
            let params_members = if name_first {
                vec![name_member, arguments_member]
            } else {
                vec![arguments_member, name_member]
            };
            let mut members = vec![
                ("jsonrpc".to_owned(), json!("2.0").to_string()),
                ("id".to_owned(), id.to_string()),
                ("method".to_owned(), json!("tools/call").to_string()),
                ("extra".to_owned(), extra.to_string()),
            ];
            let params = ("params".to_owned(), object(&params_members));
            if params_first {
                members.insert(0, params);
            } else {
                members.push(params);
            }
            let mut body = object(&members);
            if pretty {
                let parsed: Value = serde_json::from_str(&body).unwrap();
                body = serde_json::to_string_pretty(&parsed).unwrap();
            }
            let (found, back) = peek(body.clone().into_bytes());
            prop_assert_eq!(found, Some(name));
            prop_assert_eq!(&back[..], body.as_bytes());
        }

        #[test]
        fn other_methods_name_no_tool(method in "[a-z/]{1,16}", name in "[a-z_]{1,8}") {
            prop_assume!(method != "tools/call");
            let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": {"name": name}});
            let (found, _) = peek(body.to_string().into_bytes());
            prop_assert_eq!(found, None);
        }
    }
}
