//! Prompts: their listing, built once, and the handlers that render them;
//! and the completion hook.

use std::{collections::HashMap, future::Future, sync::Arc};

use rmcp::{
    ErrorData,
    model::{
        CompleteRequestParams, CompleteResult, GetPromptRequestParams, GetPromptResult,
        ListPromptsResult, Prompt,
    },
};
use serde_json::Value;

use crate::{BoxFuture, Error};

/// A prompt's arguments, by name, as the client sent them.
pub type PromptArgs = HashMap<String, String>;

pub(crate) type PromptFn = Arc<
    dyn Fn(
            GetPromptRequestParams,
            PromptArgs,
        ) -> BoxFuture<'static, Result<GetPromptResult, ErrorData>>
        + Send
        + Sync
        + 'static,
>;
pub(crate) type CompleteFn = Arc<
    dyn Fn(CompleteRequestParams) -> BoxFuture<'static, Result<CompleteResult, ErrorData>>
        + Send
        + Sync
        + 'static,
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

/// The prompts a server serves; `None` in `Inner` when it serves none.
pub(crate) struct Prompts {
    /// The `prompts/list` answer, built once; `gets[i]` renders `list.prompts[i]`.
    pub(crate) list: ListPromptsResult,
    gets: Vec<PromptFn>,
    by_name: HashMap<String, usize>,
}

impl Prompts {
    pub(crate) fn build(prompts: Vec<(Prompt, PromptFn)>) -> Result<Self, Error> {
        let mut by_name = HashMap::new();
        let mut listed = Vec::with_capacity(prompts.len());
        let mut gets = Vec::with_capacity(prompts.len());
        for (prompt, get) in prompts {
            if by_name.insert(prompt.name.clone(), listed.len()).is_some() {
                return Err(Error::config(
                    "McpServerBuilder::prompt",
                    format!("two prompts are named `{}`", prompt.name),
                ));
            }
            listed.push(prompt);
            gets.push(get);
        }
        Ok(Self {
            list: ListPromptsResult::with_all_items(listed),
            gets,
            by_name,
        })
    }

    /// Checks the request against the prompt's declared arguments and calls
    /// its handler.
    pub(crate) fn get(
        &self,
        request: GetPromptRequestParams,
    ) -> Result<BoxFuture<'static, Result<GetPromptResult, ErrorData>>, ErrorData> {
        let Some(&i) = self.by_name.get(&request.name) else {
            return Err(ErrorData::invalid_params(
                format!("Unknown prompt: {}", request.name),
                None,
            ));
        };
        let prompt = &self.list.prompts[i];
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
        Ok((self.gets[i])(request, args))
    }
}
