//! Prompts: their listing, built once, and the handlers that render them;
//! and the completion hook.

use std::{collections::HashMap, fmt, future::Future, sync::Arc};

use rmcp::{
    ErrorData,
    model::{
        CompleteRequestParams, CompleteResult, GetPromptRequestParams, GetPromptResult, Prompt,
    },
};
use serde_json::Value;

use super::{
    access::Guarded,
    scopes::ScopeRule,
    tool::{CallContext, StateKey},
};
use crate::future::BoxFuture;

/// A prompt's arguments, by name, as the client sent them.
pub type PromptArgs = HashMap<String, String>;

pub(crate) type PromptFn =
    Arc<dyn Fn(GetPromptRequestParams, PromptArgs, CallContext) -> PromptFuture + Send + Sync>;
pub(crate) type PromptFuture = BoxFuture<'static, Result<GetPromptResult, ErrorData>>;
pub(crate) type CompleteFn = Arc<
    dyn Fn(CompleteRequestParams) -> BoxFuture<'static, Result<CompleteResult, ErrorData>>
        + Send
        + Sync,
>;

/// A builder closure as a handler.
pub(crate) fn prompt_fn<F, Fut>(f: F) -> PromptFn
where
    F: Fn(GetPromptRequestParams, PromptArgs) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<GetPromptResult, ErrorData>> + Send + 'static,
{
    Arc::new(move |req, args, _| Box::pin(f(req, args)))
}

pub(crate) fn complete_fn<F, Fut>(f: F) -> CompleteFn
where
    F: Fn(CompleteRequestParams) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<CompleteResult, ErrorData>> + Send + 'static,
{
    Arc::new(move |req| Box::pin(f(req)))
}

/// One `#[prompt]`. Built by the macro; read by the server.
#[doc(hidden)]
pub struct PromptDef {
    /// The prompt's name on the wire.
    pub name: &'static str,
    /// The scopes a caller needs.
    pub scopes: ScopeRule,
    /// Builds the listing entry (called once, at start-up).
    pub describe: fn() -> Prompt,
    /// Renders it; the prompt's arguments are the call's arguments.
    pub get: fn(GetPromptRequestParams, CallContext) -> PromptFuture,
    /// The `State<T>` types it takes, checked against the server at start-up.
    pub states: &'static [fn() -> StateKey],
    /// Where it was declared, for error messages.
    pub location: &'static str,
}

impl fmt::Debug for PromptDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PromptDef")
            .field("name", &self.name)
            .field("scopes", &self.scopes)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// A `#[prompt]` registration, collected at link time.
#[doc(hidden)]
#[derive(Debug)]
pub struct PromptRegistration(pub &'static PromptDef);

inventory::collect!(PromptRegistration);

/// Every `#[prompt]` linked into the binary, by name (then declaration site).
pub(crate) fn registered() -> Vec<&'static PromptDef> {
    let mut all: Vec<_> = inventory::iter::<PromptRegistration>
        .into_iter()
        .map(|r| r.0)
        .collect();
    all.sort_by(|a, b| a.name.cmp(b.name).then(a.location.cmp(b.location)));
    all
}

/// A macro-declared prompt as the handlers the builder's are.
pub(crate) fn from_def(def: &'static PromptDef) -> (Prompt, Guarded<PromptFn>) {
    let get: PromptFn = Arc::new(move |req, args, mut cx| {
        cx.tool = def.name;
        cx.arguments = Some(super::tool::strings(args));
        (def.get)(req, cx)
    });
    (
        (def.describe)(),
        Guarded {
            rule: def.scopes,
            handler: get,
        },
    )
}

/// The error for a prompt the server does not serve.
pub(crate) fn unknown(name: &str) -> ErrorData {
    ErrorData::invalid_params(format!("Unknown prompt: {name}"), None)
}

/// The request's arguments as strings, every required one present.
pub(crate) fn arguments(
    prompt: &Prompt,
    request: &GetPromptRequestParams,
) -> Result<PromptArgs, ErrorData> {
    let mut args = PromptArgs::new();
    for (name, value) in request.arguments.iter().flatten() {
        let Value::String(s) = value else {
            return Err(ErrorData::invalid_params(
                format!(
                    "Argument `{name}` of prompt `{}` must be a string",
                    prompt.name
                ),
                None,
            ));
        };
        args.insert(name.clone(), s.clone());
    }
    for declared in prompt.arguments.iter().flatten() {
        if declared.required == Some(true) && !args.contains_key(&declared.name) {
            return Err(ErrorData::invalid_params(
                format!(
                    "Missing required argument `{}` of prompt `{}`",
                    declared.name, prompt.name
                ),
                None,
            ));
        }
    }
    Ok(args)
}
