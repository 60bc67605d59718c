//! Step-up mode: a `tools/call` whose token lacks the tool's scopes is
//! refused at the HTTP layer, before dispatch, with 403
//! `insufficient_scope` naming the scopes to ask for.

use std::collections::HashMap;

use axum::{extract::Request, http::HeaderMap, response::Response};
use rmcp::model::ProtocolVersion;
use serde::Deserialize;

use super::challenge::Challenge;
use crate::{
    catalog::scopes::{ScopeDecision, ScopeHierarchy, ScopeRule, decide},
    token::AccessToken,
};

/// Each tool's scope rule, and the hierarchy to judge it with.
pub(crate) struct StepUp {
    pub(crate) rules: HashMap<&'static str, ScopeRule>,
    pub(crate) hierarchy: ScopeHierarchy,
}

#[derive(Deserialize)]
struct Peek<'a> {
    /// Borrowed when it can be; an escaped name (`tools\/call`) is owned.
    #[serde(borrow)]
    method: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    params: Option<PeekParams<'a>>,
}

#[derive(Deserialize)]
struct PeekParams<'a> {
    #[serde(borrow)]
    name: Option<std::borrow::Cow<'a, str>>,
}

impl StepUp {
    /// The 403 to answer `request` (whose body the gate has read), if its
    /// token lacks the scopes of the tool it calls.
    pub(crate) fn refusal(
        &self,
        request: &Request,
        body: &[u8],
        challenge: &Challenge,
    ) -> Option<Response> {
        let name = tool_from_headers(request.headers()).unwrap_or_else(|| tool_from_body(body));
        // Not a tools/call, or an unknown tool: the handler answers.
        let (tool, rule) = name.as_deref().and_then(|n| self.rules.get_key_value(n))?;
        let token = request
            .extensions()
            .get::<AccessToken>()
            .expect("the bearer check runs first");
        let held = token.scopes();
        let ScopeDecision::Refused { missing, message } = decide(rule, held, &self.hierarchy)
        else {
            return None;
        };
        crate::audit::Decision {
            allowed: false,
            reason: "insufficient_scope",
            detail: Some(&message),
            about: crate::audit::Subject {
                kind: "tool",
                name: tool,
            },
            token: Some(token),
            missing: std::slice::from_ref(&missing),
            request: request
                .extensions()
                .get::<crate::audit::RequestId>()
                .copied(),
        }
        .emit();
        // Clients before SEP-2350 ask for exactly the challenged scopes, so
        // the challenge names those held as well as those required.
        let mut wanted: Vec<&str> = held.iter().map(String::as_str).collect();
        let required: &[&str] = match rule {
            ScopeRule::Any(_) => std::slice::from_ref(&missing),
            rule => rule.scopes(),
        };
        for s in required {
            if !wanted.contains(s) {
                wanted.push(s);
            }
        }
        Some(challenge.insufficient_scope(&wanted.join(" "), &message))
    }
}

/// The tool a request calls, from the `Mcp-Method`/`Mcp-Name` headers when
/// the protocol revision makes the transport check them against the body.
fn tool_from_headers(headers: &HeaderMap) -> Option<Option<String>> {
    let version = headers.get("mcp-protocol-version")?.to_str().ok()?;
    if version < ProtocolVersion::STANDARD_HEADERS.as_str() {
        return None;
    }
    let method = headers.get("mcp-method")?.to_str().ok()?;
    if method != "tools/call" {
        return Some(None);
    }
    let name = headers.get("mcp-name")?.to_str().ok()?;
    if name.starts_with("=?") {
        return None; // Base64-wrapped: read the body rather than decode here
    }
    Some(Some(name.to_owned()))
}

/// The tool a request calls, from its body.
fn tool_from_body(body: &[u8]) -> Option<String> {
    serde_json::from_slice::<Peek<'_>>(body)
        .ok()
        .filter(|p| p.method.as_deref() == Some("tools/call"))
        .and_then(|p| p.params?.name.map(|n| n.into_owned()))
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
        (tool_from_body(&body), Bytes::from(body))
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
