//! What `#[resource]`, `#[resource_template]` and `#[prompt]` generate calls
//! into: their listing entries, injected parameters, arguments and results.

use std::fmt::Display;

use base64::Engine;
use rmcp::{
    ErrorData,
    model::{
        GetPromptResult, Prompt, PromptArgument, PromptMessage, ReadResourceResult, Resource,
        ResourceContents, ResourceTemplate, Role,
    },
};
use serde::{Serialize, de::DeserializeOwned};

use crate::catalog::{
    resource::{Described, not_found},
    tool::{CallContext, FromCallContext},
};

/// An injected parameter of a resource (`kind` = `resource`) or prompt.
pub fn inject_into<T: FromCallContext>(
    cx: &CallContext,
    kind: &'static str,
) -> Result<T, ErrorData> {
    T::from_call_context(cx).map_err(|u| match u {
        crate::catalog::tool::Unavailable::Token => {
            ErrorData::invalid_request(u.message(kind), None)
        }
        _ => ErrorData::internal_error(u.message(kind), None),
    })
}

/// A template's variables or a prompt's arguments as `T` (strings by name).
pub fn item_arguments<T: DeserializeOwned>(
    cx: &mut CallContext,
    kind: &'static str,
) -> Result<T, ErrorData> {
    let args = serde_json::Value::Object(cx.arguments.take().unwrap_or_default());
    serde_json::from_value(args).map_err(|e| {
        ErrorData::invalid_params(
            format!("Invalid arguments for {kind} `{}`: {e}", cx.tool),
            None,
        )
    })
}

/// A `#[resource]`'s listing entry.
pub fn describe_resource(
    uri: &'static str,
    name: &'static str,
    title: Option<&'static str>,
    description: Option<&'static str>,
    mime_type: Option<&'static str>,
) -> Described {
    let mut r = Resource::new(uri, name);
    r.title = title.map(Into::into);
    r.description = description.map(Into::into);
    r.mime_type = mime_type.map(Into::into);
    Described::Resource(r)
}

/// A `#[resource_template]`'s listing entry.
pub fn describe_template(
    uri_template: &'static str,
    name: &'static str,
    title: Option<&'static str>,
    description: Option<&'static str>,
    mime_type: Option<&'static str>,
) -> Described {
    let mut t = ResourceTemplate::new(uri_template, name);
    t.title = title.map(Into::into);
    t.description = description.map(Into::into);
    t.mime_type = mime_type.map(Into::into);
    Described::Template(t)
}

/// A `#[prompt]`'s listing entry.
pub fn describe_prompt(
    name: &'static str,
    title: Option<&'static str>,
    description: Option<&'static str>,
    arguments: Vec<PromptArgument>,
) -> Prompt {
    let mut p = Prompt::new(
        name,
        description,
        (!arguments.is_empty()).then_some(arguments),
    );
    p.title = title.map(Into::into);
    p
}

/// One of a prompt's arguments.
pub fn prompt_argument(
    name: &'static str,
    description: Option<&'static str>,
    required: bool,
) -> PromptArgument {
    let mut a = PromptArgument::new(name).with_required(required);
    a.description = description.map(Into::into);
    a
}

/// Text contents, `text/plain` unless the resource says otherwise.
pub fn text_contents(
    uri: String,
    mime_type: Option<&'static str>,
    text: impl Into<String>,
) -> ReadResourceResult {
    let contents =
        ResourceContents::text(text, uri).with_mime_type(mime_type.unwrap_or("text/plain"));
    ReadResourceResult::new(vec![contents])
}

/// Binary contents, sent base64-encoded as a blob.
pub fn blob_contents(
    uri: String,
    mime_type: Option<&'static str>,
    bytes: Vec<u8>,
) -> ReadResourceResult {
    let blob = base64::engine::general_purpose::STANDARD.encode(bytes);
    let contents = ResourceContents::blob(blob, uri)
        .with_mime_type(mime_type.unwrap_or("application/octet-stream"));
    ReadResourceResult::new(vec![contents])
}

/// A value as JSON text, `application/json` unless the resource says otherwise.
pub fn json_contents<T: ResourceOutput + ?Sized>(
    uri: String,
    mime_type: Option<&'static str>,
    value: &T,
) -> Result<ReadResourceResult, ErrorData> {
    let text = value.to_json()?;
    let contents =
        ResourceContents::text(text, uri).with_mime_type(mime_type.unwrap_or("application/json"));
    Ok(ReadResourceResult::new(vec![contents]))
}

/// Contents built by hand, returned as they are.
pub fn raw_contents(result: ReadResourceResult) -> ReadResourceResult {
    result
}

/// `None` from a resource template: no such resource (`-32002`).
pub fn resource_missing(uri: &str) -> ErrorData {
    not_found(uri)
}

/// A resource or prompt's error: rmcp's `ErrorData` as it is, any other
/// error's `Display` text as an internal error (`-32603`).
pub fn item_error<E: Display>(error: E) -> ErrorData {
    ErrorData::internal_error(error.to_string(), None)
}

/// rmcp's own error, as it is.
pub fn item_error_data(error: ErrorData) -> ErrorData {
    error
}

/// One user message of text.
pub fn prompt_text(text: impl Into<String>) -> GetPromptResult {
    GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)])
}

/// The messages given.
pub fn prompt_messages(messages: Vec<PromptMessage>) -> GetPromptResult {
    GetPromptResult::new(messages)
}

/// A prompt result built by hand, returned as it is.
pub fn prompt_raw(result: GetPromptResult) -> GetPromptResult {
    result
}

/// A value a resource can return as JSON.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a resource",
    label = "this return type does not implement `serde::Serialize`",
    note = "return a `String` (text), a `Vec<u8>` (a blob), a type deriving `Serialize` (JSON) \
            or `ReadResourceResult`, optionally inside `Option<_>` or `Result<_, E: Display>`"
)]
pub trait ResourceOutput {
    fn to_json(&self) -> Result<String, ErrorData>;
}

impl<T: Serialize + ?Sized> ResourceOutput for T {
    fn to_json(&self) -> Result<String, ErrorData> {
        serde_json::to_string_pretty(self).map_err(|e| {
            tracing::error!(error = %e, "resource contents did not serialise");
            ErrorData::internal_error("The resource's contents could not be serialised.", None)
        })
    }
}
