//! Asking the client for input during a tool call, without a session: the
//! multi round-trip requests of protocol 2026-07-28.
//!
//! A tool asks through [`ToolContext::confirm`](super::tool::ToolContext::confirm)
//! or [`ToolContext::elicit`](super::tool::ToolContext::elicit). The first
//! time, the question is recorded and the call ends with an
//! `InputRequiredResult` naming it; the client answers and sends the same
//! call again, with the answers (`inputResponses`) and the `requestState` it
//! was given. The tool then runs again from the start, and the same question
//! now returns the answer: code before a question runs once per round, so it
//! should have no side effects.
//!
//! `requestState` is what makes an answer acceptable. It is sealed by
//! rmcp's `RequestStateCodec` (HMAC-SHA256) with an expiry, and bound to the
//! caller's subject, the tool and its arguments: a client cannot forge one,
//! use one after it expires, or replay one for another user, another tool or
//! other arguments. It lists what was asked (a digest of each question), so
//! an answer counts only for the question it was given to, and carries the
//! answers of earlier rounds, so a tool can ask several things in turn.
//! It is signed, not encrypted: the client can read it, so it holds no
//! secret (the answers are the client's own).

use std::{collections::BTreeMap, fmt, sync::Mutex, time::Duration};

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rmcp::{
    ErrorData, RoleServer,
    model::{
        ElicitRequest, ElicitRequestParams, ElicitResult, ElicitationAction, ElicitationSchema,
        InputRequest, InputRequiredResult, InputResponses, JsonObject, ProtocolVersion,
        RequestStateCodec, RequestStateError, SealOptions,
    },
    service::RequestContext,
};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;

use crate::{error::Error, token::AccessToken};

/// How long a `requestState` is accepted by default.
pub(crate) const DEFAULT_TTL: Duration = Duration::from_secs(600);

/// Seals and opens `requestState` values: the server's key and how long a
/// state stays valid.
pub(crate) struct Sealer {
    codec: RequestStateCodec,
    ttl: Duration,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The codec's own Debug redacts the key.
        f.debug_struct("Sealer")
            .field("codec", &self.codec)
            .field("ttl", &self.ttl)
            .finish()
    }
}

impl Default for Sealer {
    fn default() -> Self {
        Self::random(DEFAULT_TTL)
    }
}

impl Sealer {
    /// A sealer with `key` (at least 32 bytes), else a random key of this
    /// process; states last `ttl`.
    pub(crate) fn new(key: Option<&[u8]>, ttl: Duration) -> Result<Self, Error> {
        let Some(key) = key else {
            return Ok(Self::random(ttl));
        };
        let codec = RequestStateCodec::try_new(key.to_vec()).map_err(|e| {
            Error::config(
                "McpServerBuilder::request_state_key",
                format!("{e}; use 32 or more random bytes, the same on every replica"),
            )
        })?;
        Ok(Self { codec, ttl })
    }

    fn random(ttl: Duration) -> Self {
        let mut key = vec![0u8; 32];
        aws_lc_rs::rand::fill(&mut key).expect("the system random source is available");
        Self {
            codec: RequestStateCodec::new_unchecked(key),
            ttl,
        }
    }
}

/// Why a question could not be answered: return it at once (`?` turns it
/// into a [`ToolError`](crate::ToolError)), except `Unsupported`, which a tool
/// may handle by proceeding another way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ElicitError {
    /// The question was sent to the client; its answer comes with the next
    /// call. Return at once: whatever the tool returns now, the call ends
    /// with an `InputRequiredResult` asking the question.
    #[error("waiting for the client's answer")]
    InputRequired,
    /// The client cannot be asked during a call: it speaks a protocol
    /// revision before 2026-07-28, did not declare the `elicitation`
    /// capability (with form mode), or the tool was called in process.
    #[error(
        "this client cannot be asked for input during a call (that needs protocol 2026-07-28 and the elicitation capability)"
    )]
    Unsupported,
    /// The client's answer does not fit the form.
    #[error("the answer does not fit the form: {0}")]
    InvalidAnswer(String),
    /// The type asked for cannot be a form (elicitation forms are flat
    /// objects of strings, numbers, booleans and enums).
    #[error("`{0}` cannot be asked for as a form: {1}")]
    InvalidForm(&'static str, String),
}

/// The client's answer to [`ToolContext::elicit`](super::tool::ToolContext::elicit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    /// The user filled in the form.
    Accepted(T),
    /// The user said no.
    Declined,
    /// The user dismissed the question without choosing.
    Cancelled,
}

/// What a `requestState` holds.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Payload {
    /// The questions of the last round, by key: each one's digest.
    #[serde(default)]
    asked: BTreeMap<String, String>,
    /// The answers so far, by key.
    #[serde(default)]
    answered: BTreeMap<String, Answered>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Answered {
    /// The digest of the question answered.
    q: String,
    /// The client's `ElicitResult`.
    r: Value,
}

/// One call's questions and answers, shared by its `ToolContext` clones.
#[derive(Debug)]
pub(crate) struct Inputs {
    /// Whether the client can be asked.
    supported: bool,
    /// What binds the state: the caller, the tool and its arguments.
    binding: Vec<u8>,
    round: Mutex<Round>,
}

#[derive(Debug, Default)]
struct Round {
    /// Questions asked so far in this run, to number the next one.
    count: usize,
    answered: BTreeMap<String, Answered>,
    pending: BTreeMap<String, (String, InputRequest)>,
}

impl Inputs {
    /// The inputs of a call made in process: nobody to ask.
    pub(crate) fn unsupported() -> Self {
        Self {
            supported: false,
            binding: Vec::new(),
            round: Mutex::default(),
        }
    }

    /// The inputs of a call over MCP: the retry's state, opened and checked
    /// against this caller, tool and arguments, and its answers to the
    /// questions that state lists. A state that fails the check is `-32602`.
    pub(crate) fn for_call(
        sealer: &Sealer,
        tool: &str,
        arguments: Option<&JsonObject>,
        token: Option<&AccessToken>,
        request: &RequestContext<RoleServer>,
        responses: Option<InputResponses>,
        state: Option<&str>,
    ) -> Result<Self, ErrorData> {
        let binding = binding(tool, arguments, token);
        let payload = match state {
            Some(state) => open(sealer, state, &binding)?,
            None if responses.as_ref().is_some_and(|r| !r.is_empty()) => {
                return Err(ErrorData::invalid_params(
                    "`inputResponses` must come with the `requestState` of the result that asked for them",
                    None,
                ));
            }
            None => Payload::default(),
        };
        let mut answered = payload.answered;
        for (key, response) in responses.unwrap_or_default() {
            // An answer counts only for a question the state says was asked.
            if let Some(q) = payload.asked.get(&key) {
                answered.insert(
                    key,
                    Answered {
                        q: q.clone(),
                        r: response,
                    },
                );
            }
        }
        Ok(Self {
            supported: supports_elicitation(request),
            binding,
            round: Mutex::new(Round {
                answered,
                ..Round::default()
            }),
        })
    }

    /// The answer to `message` with a form of `schema`, when the client
    /// gave it; otherwise the question is recorded and `InputRequired`.
    fn ask(&self, message: String, schema: ElicitationSchema) -> Result<ElicitResult, ElicitError> {
        if !self.supported {
            return Err(ElicitError::Unsupported);
        }
        let q = question_digest(&message, &schema);
        let mut round = self.round.lock().unwrap_or_else(|e| e.into_inner());
        round.count += 1;
        let key = format!("input-{}", round.count);
        if let Some(a) = round.answered.get(&key).filter(|a| a.q == q) {
            return serde_json::from_value(a.r.clone()).map_err(|e| {
                ElicitError::InvalidAnswer(format!("not an elicitation result: {e}"))
            });
        }
        let request = ElicitRequest::new(ElicitRequestParams::FormElicitationParams {
            meta: None,
            message,
            requested_schema: schema,
        });
        round
            .pending
            .insert(key, (q, InputRequest::Elicitation(request)));
        Err(ElicitError::InputRequired)
    }

    /// A yes-or-no question: `true` when the user accepted.
    pub(crate) fn confirm(&self, message: String) -> Result<bool, ElicitError> {
        let answer = self.ask(message, ElicitationSchema::new(BTreeMap::new()))?;
        Ok(answer.action == ElicitationAction::Accept)
    }

    /// A form for a `T`.
    pub(crate) fn elicit<T: schemars::JsonSchema + DeserializeOwned>(
        &self,
        message: String,
    ) -> Result<Answer<T>, ElicitError> {
        let schema = ElicitationSchema::from_type::<T>()
            .map_err(|e| ElicitError::InvalidForm(std::any::type_name::<T>(), e.to_string()))?;
        let answer = self.ask(message, schema)?;
        Ok(match answer.action {
            ElicitationAction::Accept => {
                let content = answer.content.unwrap_or(Value::Object(JsonObject::new()));
                Answer::Accepted(
                    serde_json::from_value(content)
                        .map_err(|e| ElicitError::InvalidAnswer(e.to_string()))?,
                )
            }
            ElicitationAction::Decline => Answer::Declined,
            _ => Answer::Cancelled,
        })
    }

    /// The `InputRequiredResult` to end the call with, when a question is
    /// waiting for its answer.
    pub(crate) fn required(&self, sealer: &Sealer) -> Option<InputRequiredResult> {
        let round = self.round.lock().unwrap_or_else(|e| e.into_inner());
        if round.pending.is_empty() {
            return None;
        }
        let payload = Payload {
            asked: round
                .pending
                .iter()
                .map(|(k, (q, _))| (k.clone(), q.clone()))
                .collect(),
            answered: round.answered.clone(),
        };
        let options = SealOptions::new()
            .associated_data(&self.binding)
            .ttl(sealer.ttl);
        let state = match sealer.codec.seal_json_with(&payload, &options) {
            Ok(state) => state,
            Err(e) => {
                tracing::error!(error = %e, "request state failed to seal");
                return None;
            }
        };
        let requests = round
            .pending
            .iter()
            .map(|(k, (_, r))| (k.clone(), r.clone()))
            .collect();
        Some(InputRequiredResult::new(Some(requests), Some(state)))
    }
}

/// Whether the request's client can be asked: protocol 2026-07-28 or later
/// and the `elicitation` capability in form mode (a capability naming no
/// mode means form).
fn supports_elicitation(request: &RequestContext<RoleServer>) -> bool {
    let mrtr = request
        .protocol_version()
        .is_some_and(|v| v.as_str() >= ProtocolVersion::V_2026_07_28.as_str());
    let form = request
        .client_capabilities()
        .and_then(|c| c.elicitation)
        .is_some_and(|e| e.form.is_some() || e.url.is_none());
    mrtr && form
}

/// What a state is bound to: the caller's subject, the tool and its
/// arguments (serde_json's maps are sorted, so equal arguments give equal
/// bytes). Each part is length-prefixed, so no two bindings run together.
fn binding(tool: &str, arguments: Option<&JsonObject>, token: Option<&AccessToken>) -> Vec<u8> {
    let args = match arguments {
        Some(a) => serde_json::to_vec(a).unwrap_or_default(),
        None => b"{}".to_vec(),
    };
    let subject = token.map(|t| t.subject()).unwrap_or_default();
    let mut out = b"mcp-runtime/tools/call/v1".to_vec();
    for part in [subject.as_bytes(), tool.as_bytes(), &args] {
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

fn question_digest(message: &str, schema: &ElicitationSchema) -> String {
    let schema = serde_json::to_vec(schema).unwrap_or_default();
    let mut bytes = Vec::with_capacity(message.len() + schema.len() + 8);
    bytes.extend_from_slice(&(message.len() as u64).to_be_bytes());
    bytes.extend_from_slice(message.as_bytes());
    bytes.extend_from_slice(&schema);
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes);
    URL_SAFE_NO_PAD.encode(&d.as_ref()[..16])
}

/// Opens `state` for `binding`; a failure is `-32602` saying why.
fn open(sealer: &Sealer, state: &str, binding: &[u8]) -> Result<Payload, ErrorData> {
    let refuse = |why: &str| {
        ErrorData::invalid_params(
            format!("Invalid `requestState`: {why}; call the tool again without it"),
            None,
        )
    };
    let bytes = sealer.codec.open_with(state, binding).map_err(|e| {
        tracing::warn!(error = %e, "request state refused");
        match e {
            RequestStateError::Expired => refuse("it has expired"),
            _ => refuse(
                "it was not issued by this server for this caller, tool and arguments, or was altered",
            ),
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|_| refuse("its content is not understood"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealer() -> Sealer {
        Sealer::new(Some(&[7u8; 32]), DEFAULT_TTL).unwrap()
    }

    #[test]
    fn short_keys_are_refused() {
        assert!(Sealer::new(Some(&[7u8; 31]), DEFAULT_TTL).is_err());
    }

    #[test]
    fn bindings_differ_by_subject_tool_and_arguments() {
        let alice = AccessToken::new("t", "alice");
        let bob = AccessToken::new("t", "bob");
        let args = serde_json::json!({"id": 3}).as_object().cloned();
        let other = serde_json::json!({"id": 4}).as_object().cloned();
        let base = binding("delete", args.as_ref(), Some(&alice));
        assert_ne!(base, binding("delete", args.as_ref(), Some(&bob)));
        assert_ne!(base, binding("remove", args.as_ref(), Some(&alice)));
        assert_ne!(base, binding("delete", other.as_ref(), Some(&alice)));
        assert_eq!(base, binding("delete", args.as_ref(), Some(&alice)));
    }

    #[test]
    fn a_state_opens_only_with_its_binding() {
        let s = sealer();
        let options = SealOptions::new().associated_data(b"a").ttl(DEFAULT_TTL);
        let state = s
            .codec
            .seal_json_with(&Payload::default(), &options)
            .unwrap();
        assert!(open(&s, &state, b"a").is_ok());
        let e = open(&s, &state, b"b").unwrap_err();
        assert_eq!(e.code, rmcp::model::ErrorCode::INVALID_PARAMS);
        let other = Sealer::new(Some(&[8u8; 32]), DEFAULT_TTL).unwrap();
        assert!(open(&other, &state, b"a").is_err());
    }

    #[test]
    fn an_expired_state_says_so() {
        let s = sealer();
        let options = SealOptions::new()
            .associated_data(b"a")
            .ttl(Duration::from_millis(1));
        let state = s
            .codec
            .seal_json_with(&Payload::default(), &options)
            .unwrap();
        std::thread::sleep(Duration::from_millis(5));
        let e = open(&s, &state, b"a").unwrap_err();
        assert!(e.message.contains("expired"), "{}", e.message);
    }
}
