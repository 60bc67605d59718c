//! The code `#[tool]` generates calls only into this module. Not public API.

use std::{fmt::Display, sync::Arc};

use rmcp::model::{CallToolResult, JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::{Serialize, de::DeserializeOwned};

pub use ::inventory;
pub use ::rmcp;
pub use ::schemars;
pub use ::serde;
pub use ::serde_json;
pub use rmcp::ErrorData;

use crate::catalog::{
    result,
    scopes::{ScopeDecision, decide},
};
pub use crate::{
    catalog::{
        prompt::{PromptDef, PromptRegistration},
        resource::{DeclaredItem, Described, ItemHandle, ResourceDef, ResourceRegistration},
        result::{OutputSchema, ViaJsonSchema, WithoutSchema},
        scopes::ScopeRule,
        tool::{
            Args, CallContext, FromCallContext, Registration, StateKey, ToolDef, ToolHandle,
            state_key,
        },
        vocabulary::occurrences,
    },
    future::BoxFuture,
};

/// The scope check ahead of every tool body: `Err` is the refusal to return as is.
pub fn check_scopes(cx: &CallContext, rule: &ScopeRule) -> Result<(), CallToolResult> {
    let held = cx.token.as_ref().map(|t| t.scopes()).unwrap_or_default();
    let span = tracing::Span::current();
    let audit = |allowed, reason, detail, missing: &[&str]| {
        crate::audit::Decision {
            allowed,
            reason,
            detail,
            about: crate::audit::Subject {
                kind: "tool",
                name: cx.tool,
            },
            token: cx.token.as_ref(),
            missing,
            request: cx.request_id,
        }
        .emit();
    };
    match decide(rule, held, cx.hierarchy()) {
        ScopeDecision::Allowed => {
            span.record("scope_decision", "allowed");
            if !cx.read_only {
                let reason = if rule.scopes().is_empty() {
                    "public"
                } else {
                    "scope_granted"
                };
                audit(true, reason, None, &[]);
            }
            Ok(())
        }
        ScopeDecision::Refused { missing, message } => {
            span.record("scope_decision", "refused");
            audit(false, "insufficient_scope", Some(&message), &[missing]);
            Err(result::refusal(&message))
        }
    }
}

/// The call's arguments as `T`; a mismatch is a tool error the model can read.
pub fn arguments<T: ReadParameter>(cx: &mut CallContext) -> Result<T, CallToolResult> {
    let args = serde_json::Value::Object(cx.arguments.take().unwrap_or_default());
    serde_json::from_value(args)
        .map_err(|e| result::error_text(format!("Invalid arguments for tool `{}`: {e}", cx.tool)))
}

/// An injected parameter of a tool.
pub fn inject<T: FromCallContext>(cx: &CallContext) -> Result<T, CallToolResult> {
    T::from_call_context(cx).map_err(|u| result::error_text(u.message("tool")))
}

/// A value a tool can return as structured content.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a tool",
    label = "this return type does not implement `serde::Serialize`",
    note = "return a type deriving `Serialize` (and `JsonSchema` for an output schema), \
            a `String`, `()`, or `CallToolResult`, optionally inside `Result<_, E: Display>`"
)]
pub trait ToolOutput {
    fn to_structured(&self) -> CallToolResult;
}

impl<T: Serialize + ?Sized> ToolOutput for T {
    fn to_structured(&self) -> CallToolResult {
        result::structured(self)
    }
}

/// A tool error's message.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a tool's error type",
    label = "the error type must implement `Display`",
    note = "the error's `Display` text becomes the tool error the caller sees"
)]
pub trait ToolErrorOutput {
    fn into_error(self) -> CallToolResult;
}

impl<E: Display> ToolErrorOutput for E {
    fn into_error(self) -> CallToolResult {
        result::error_text(self.to_string())
    }
}

pub fn structured_result<T: ToolOutput + ?Sized>(value: &T) -> CallToolResult {
    value.to_structured()
}

pub fn text_result(text: impl Into<String>) -> CallToolResult {
    result::text(text)
}

pub fn unit_result(_: ()) -> CallToolResult {
    CallToolResult::success(Vec::new())
}

pub fn raw_result(result: CallToolResult) -> CallToolResult {
    result
}

pub fn error_result<E: ToolErrorOutput>(error: E) -> CallToolResult {
    error.into_error()
}

/// A tool parameter's type (or an `Args<T>`'s `T`), as the input schema
/// describes it. The macro bounds the parameter types themselves, so that
/// rustc reports a missing derive with this message, at the parameter.
#[diagnostic::on_unimplemented(
    message = "the tool parameter type `{Self}` does not implement `schemars::JsonSchema`",
    label = "add `#[derive(schemars::JsonSchema)]` to `{Self}`",
    note = "every tool parameter is described in the tool's input schema; \
            use schemars 1.x, which `mcp_runtime` re-exports as `mcp_runtime::schemars`"
)]
pub trait DescribedParameter: JsonSchema {}

impl<T: JsonSchema + ?Sized> DescribedParameter for T {}

/// A tool parameter's type (or an `Args<T>`'s `T`), as the arguments are
/// read into it.
#[diagnostic::on_unimplemented(
    message = "the tool parameter type `{Self}` does not implement `serde::Deserialize`",
    label = "add `#[derive(serde::Deserialize)]` to `{Self}`",
    note = "every tool parameter is read from the call's JSON arguments"
)]
pub trait ReadParameter: DeserializeOwned {}

impl<T: DeserializeOwned> ReadParameter for T {}

pub fn input_schema<T: DescribedParameter>() -> Arc<JsonObject> {
    result::input_schema::<T>()
}

/// Hint flags from `#[tool(read_only, destructive = false, ...)]`.
pub fn annotations(
    read_only: Option<bool>,
    destructive: Option<bool>,
    idempotent: Option<bool>,
    open_world: Option<bool>,
) -> ToolAnnotations {
    let mut a = ToolAnnotations::new();
    a.read_only_hint = read_only;
    a.destructive_hint = destructive;
    a.idempotent_hint = idempotent;
    a.open_world_hint = open_world;
    a
}

/// The tool's listing entry.
pub fn describe(
    name: &'static str,
    description: Option<&'static str>,
    title: Option<&'static str>,
    input_schema: Arc<JsonObject>,
    output_schema: Option<Arc<JsonObject>>,
    annotations: Option<ToolAnnotations>,
) -> Tool {
    let mut tool = Tool::default();
    tool.name = name.into();
    tool.description = description.map(Into::into);
    tool.title = title.map(Into::into);
    tool.input_schema = input_schema;
    tool.output_schema = output_schema;
    tool.annotations = annotations;
    tool
}

/// Runs one tool in process, with no server around it: what the macro's own
/// tests use. The token's scopes are checked without a hierarchy.
pub async fn invoke(
    def: &'static ToolDef,
    arguments: Option<JsonObject>,
    token: Option<crate::token::AccessToken>,
) -> Result<CallToolResult, ErrorData> {
    let shared = Arc::new(crate::catalog::tool::Shared::default());
    let cx = CallContext::new(def.name, arguments, token, shared, None);
    crate::catalog::tool::run(def, cx).await
}

mod items;
pub use items::*;
