//! Prompts: their listing, built once, and the handlers that render them;
//! and the completion hook.

use std::{collections::HashMap, future::Future, sync::Arc};

use rmcp::{
    ErrorData,
    model::{
        CompleteRequestParams, CompleteResult, GetPromptRequestParams, GetPromptResult, Prompt,
    },
};
use serde_json::Value;

use super::listing::Listing;
use crate::future::BoxFuture;

/// A prompt's arguments, by name, as the client sent them.
pub type PromptArgs = HashMap<String, String>;

pub(crate) type PromptFn = Arc<
    dyn Fn(
            GetPromptRequestParams,
            PromptArgs,
        ) -> BoxFuture<'static, Result<GetPromptResult, ErrorData>>
        + Send
        + Sync,
>;
pub(crate) type CompleteFn = Arc<
    dyn Fn(CompleteRequestParams) -> BoxFuture<'static, Result<CompleteResult, ErrorData>>
        + Send
        + Sync,
>;

pub(crate) fn prompt_fn<F, Fut>(f: F) -> PromptFn
where
    F: Fn(GetPromptRequestParams, PromptArgs) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<GetPromptResult, ErrorData>> + Send + 'static,
{
    Arc::new(move |req, args| Box::pin(f(req, args)))
}

pub(crate) fn complete_fn<F, Fut>(f: F) -> CompleteFn
where
    F: Fn(CompleteRequestParams) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<CompleteResult, ErrorData>> + Send + 'static,
{
    Arc::new(move |req| Box::pin(f(req)))
}

/// Checks a `prompts/get` request against the prompt's declared arguments
/// and calls its handler.
pub(crate) fn get(
    prompts: &Listing<Prompt, PromptFn>,
    request: GetPromptRequestParams,
) -> Result<BoxFuture<'static, Result<GetPromptResult, ErrorData>>, ErrorData> {
    let Some((prompt, get)) = prompts.get(&request.name) else {
        return Err(ErrorData::invalid_params(
            format!("Unknown prompt: {}", request.name),
            None,
        ));
    };
    let args = arguments(prompt, &request)?;
    Ok(get(request, args))
}

/// The request's arguments as strings, every required one present.
fn arguments(prompt: &Prompt, request: &GetPromptRequestParams) -> Result<PromptArgs, ErrorData> {
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
