//! Turning what a tool returns into an MCP tool result, and its schemas.

use std::{marker::PhantomData, sync::Arc};

use rmcp::model::{CallToolResult, ContentBlock, JsonObject};
use schemars::{JsonSchema, generate::SchemaSettings};
use serde::Serialize;
use serde_json::{Value, json};

/// A successful result holding `text`.
pub(crate) fn text(text: impl Into<String>) -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text(text.into())])
}

/// A tool error (`isError: true`) holding `text`.
pub(crate) fn error_text(text: impl Into<String>) -> CallToolResult {
    CallToolResult::error(vec![ContentBlock::text(text.into())])
}

/// The reference's refusal: `{"error": message}` as structured content and as text.
pub(crate) fn refusal(message: &str) -> CallToolResult {
    CallToolResult::structured_error(json!({ "error": message }))
}

/// Structured content plus its JSON as text. A value that is not a JSON object
/// is wrapped as `{"result": value}`, as the MCP spec wants an object.
pub(crate) fn structured<T: Serialize + ?Sized>(value: &T) -> CallToolResult {
    match serde_json::to_value(value) {
        Ok(v @ Value::Object(_)) => CallToolResult::structured(v),
        Ok(v) => CallToolResult::structured(json!({ "result": v })),
        Err(e) => {
            tracing::error!(error = %e, "tool result failed to serialize");
            error_text("The tool's result could not be serialized.")
        }
    }
}

/// Drops the `format` values schemars gives Rust's number types (`uint32`,
/// `int64`, `double`, …): they are not JSON Schema formats, and validators
/// such as ajv warn about each one. The ranges stay, as `minimum` and
/// `maximum` (an unsigned type always has `minimum: 0`).
#[derive(Clone, Copy)]
struct StandardFormats;

impl schemars::transform::Transform for StandardFormats {
    fn transform(&mut self, schema: &mut schemars::Schema) {
        if let Some(o) = schema.as_object_mut() {
            let format = o.get("format").and_then(Value::as_str).unwrap_or_default();
            let unsigned = format.starts_with("uint");
            if unsigned || format.starts_with("int") || matches!(format, "float" | "double") {
                o.remove("format");
                if unsigned {
                    o.entry("minimum").or_insert(json!(0));
                }
            }
        }
        schemars::transform::transform_subschemas(self, schema);
    }
}

fn root_schema<T: JsonSchema + ?Sized>(settings: SchemaSettings) -> JsonObject {
    let schema = settings
        .with_transform(StandardFormats)
        .into_generator()
        .into_root_schema_for::<T>();
    match serde_json::to_value(schema) {
        Ok(Value::Object(o)) => o,
        // `true`: any value.
        _ => JsonObject::new(),
    }
}

/// The input schema of an argument type: an object at the root, without the
/// type's own title and description (the tool has its own).
pub(crate) fn input_schema<T: JsonSchema + ?Sized>() -> Arc<JsonObject> {
    let mut o = root_schema::<T>(SchemaSettings::draft2020_12());
    o.remove("title");
    o.remove("description");
    if !o.contains_key("type") {
        o.insert("type".into(), json!("object"));
    }
    if o.get("type") == Some(&json!("object")) && !o.contains_key("properties") {
        o.insert("properties".into(), json!({}));
    }
    Arc::new(o)
}

/// The output schema of a return type: its schema when it is an object, the
/// `{"result": …}` wrapper [`structured`] applies when it is another definite
/// type, and none when the type accepts anything.
pub(crate) fn output_schema<T: JsonSchema + ?Sized>() -> Option<Arc<JsonObject>> {
    let mut o = root_schema::<T>(SchemaSettings::draft2020_12().for_serialize());
    o.remove("title");
    o.remove("description");
    match o.get("type") {
        Some(Value::String(t)) if t == "object" => Some(Arc::new(o)),
        Some(Value::String(_)) => {
            let schema_uri = o.remove("$schema");
            let defs = o.remove("$defs");
            let mut outer = JsonObject::new();
            if let Some(uri) = schema_uri {
                outer.insert("$schema".into(), uri);
            }
            outer.insert("type".into(), json!("object"));
            outer.insert("properties".into(), json!({ "result": Value::Object(o) }));
            outer.insert("required".into(), json!(["result"]));
            if let Some(defs) = defs {
                outer.insert("$defs".into(), defs);
            }
            Some(Arc::new(outer))
        }
        _ => None,
    }
}

/// Picks an output schema only for types that implement `JsonSchema`
/// (autoref specialisation: the generated code calls
/// `(&OutputSchema::<T>::new()).output_schema()`).
#[doc(hidden)]
#[derive(Debug)]
pub struct OutputSchema<T: ?Sized>(PhantomData<T>);

impl<T: ?Sized> OutputSchema<T> {
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self(PhantomData)
    }
}

#[doc(hidden)]
pub trait ViaJsonSchema {
    fn output_schema(&self) -> Option<Arc<JsonObject>>;
}

impl<T: JsonSchema + ?Sized> ViaJsonSchema for OutputSchema<T> {
    fn output_schema(&self) -> Option<Arc<JsonObject>> {
        output_schema::<T>()
    }
}

#[doc(hidden)]
pub trait WithoutSchema {
    fn output_schema(&self) -> Option<Arc<JsonObject>>;
}

impl<T: ?Sized> WithoutSchema for &OutputSchema<T> {
    fn output_schema(&self) -> Option<Arc<JsonObject>> {
        None
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn number_types_get_no_nonstandard_format() {
        #[derive(schemars::JsonSchema)]
        #[allow(dead_code)]
        struct Numbers {
            a: u8,
            b: u32,
            c: u64,
            d: i32,
            e: i64,
            f: f64,
            g: Option<u16>,
            h: Vec<usize>,
        }
        let schema = serde_json::Value::Object((*input_schema::<Numbers>()).clone());
        let text = schema.to_string();
        assert!(!text.contains("\"format\""), "{text}");
        assert_eq!(schema["properties"]["b"]["minimum"], 0);
        assert_eq!(schema["properties"]["a"]["maximum"], 255);
    }

    use super::*;

    #[derive(Serialize, JsonSchema)]
    #[allow(dead_code)]
    struct Todo {
        id: u32,
        title: String,
    }

    #[test]
    fn object_results_are_structured_as_is() {
        let r = structured(&Todo {
            id: 1,
            title: "x".into(),
        });
        assert_eq!(r.structured_content, Some(json!({"id": 1, "title": "x"})));
        assert_eq!(r.is_error, Some(false));
    }

    #[test]
    fn other_results_are_wrapped_and_so_is_their_schema() {
        let r = structured(&vec![1, 2]);
        assert_eq!(r.structured_content, Some(json!({"result": [1, 2]})));
        let s = output_schema::<Vec<Todo>>().unwrap();
        assert_eq!(s["type"], "object");
        assert_eq!(s["required"], json!(["result"]));
        assert_eq!(s["properties"]["result"]["type"], "array");
        assert!(s.contains_key("$defs"));
    }

    #[test]
    fn any_value_has_no_output_schema() {
        assert!(output_schema::<serde_json::Value>().is_none());
    }

    #[test]
    fn refusal_is_the_reference_format() {
        let r = refusal("Insufficient permissions: `todo:write` scope required.");
        assert_eq!(r.is_error, Some(true));
        let text = serde_json::to_value(&r.content[0]).unwrap();
        assert_eq!(
            text["text"],
            r#"{"error":"Insufficient permissions: `todo:write` scope required."}"#
        );
    }

    #[test]
    #[allow(clippy::needless_borrow)] // the borrow is the point: autoref specialisation
    fn probe_picks_schema_only_for_json_schema_types() {
        struct Plain;
        assert!((&OutputSchema::<Todo>::new()).output_schema().is_some());
        assert!((&OutputSchema::<Plain>::new()).output_schema().is_none());
    }
}
