//! Every return shape `#[tool]` recognises.

use std::borrow::Cow;

use mcp_runtime::{
    ToolError, ToolHandle,
    rmcp::{
        ErrorData, ErrorData as McpError,
        model::{CallToolResult, ContentBlock},
    },
    tool,
};
use schemars::JsonSchema;
use serde::Serialize;

#[derive(Serialize, JsonSchema)]
struct Todo {
    id: u32,
}

#[derive(Serialize)]
struct NoSchema {
    id: u32,
}

#[derive(Debug)]
struct MyError;

impl std::fmt::Display for MyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("my error")
    }
}

/// Nothing.
#[tool(public)]
fn unit() {}

/// Explicitly nothing.
#[tool(public)]
#[allow(clippy::unused_unit)]
async fn unit_explicit() -> () {}

/// Text.
#[tool(public)]
fn string() -> String {
    String::new()
}

/// Static text.
#[tool(public)]
fn static_str() -> &'static str {
    "static"
}

/// Borrowed or owned text.
#[tool(public)]
fn cow() -> Cow<'static, str> {
    Cow::Borrowed("cow")
}

/// A struct.
#[tool(public)]
async fn structured() -> Todo {
    Todo { id: 1 }
}

/// A struct without a schema.
#[tool(public)]
fn structured_without_schema() -> NoSchema {
    NoSchema { id: 1 }
}

/// A list.
#[tool(public)]
fn list() -> Vec<Todo> {
    Vec::new()
}

/// A number.
#[tool(public)]
fn number() -> u64 {
    7
}

/// Any JSON.
#[tool(public)]
fn json() -> serde_json::Value {
    serde_json::json!({ "any": true })
}

/// A struct or an error.
#[tool(public)]
async fn result() -> Result<Todo, MyError> {
    Err(MyError)
}

/// Text or an error.
#[tool(public)]
fn result_string() -> Result<String, std::io::Error> {
    Ok("fine".into())
}

/// Nothing or an error.
#[tool(public)]
fn result_unit() -> Result<(), ToolError> {
    Ok(())
}

/// Static text or an error.
#[tool(public)]
fn result_static_str() -> std::result::Result<&'static str, String> {
    Ok("fine")
}

/// rmcp's result.
#[tool(public)]
fn raw() -> CallToolResult {
    CallToolResult::success(vec![ContentBlock::text("raw")])
}

/// rmcp's result or a JSON-RPC error.
#[tool(public)]
fn raw_or_rpc_error() -> Result<CallToolResult, ErrorData> {
    Ok(CallToolResult::success(Vec::new()))
}

/// rmcp's result or a JSON-RPC error, by its usual alias.
#[tool(public)]
async fn raw_or_mcp_error() -> Result<CallToolResult, McpError> {
    Err(McpError::internal_error("no", None))
}

/// rmcp's result or a tool error.
#[tool(public)]
fn raw_or_tool_error() -> Result<CallToolResult, MyError> {
    Err(MyError)
}

mod aliased {
    use super::*;

    type Result<T> = std::result::Result<T, MyError>;

    /// A one-argument `Result` alias, as `anyhow::Result<T>`.
    #[tool(public)]
    pub fn alias() -> Result<Todo> {
        Ok(Todo { id: 2 })
    }
}

fn main() {
    let _ = <unit as ToolHandle>::DEF;
    let _ = <unit_explicit as ToolHandle>::DEF;
    let _ = <string as ToolHandle>::DEF;
    let _ = <static_str as ToolHandle>::DEF;
    let _ = <cow as ToolHandle>::DEF;
    let _ = <structured as ToolHandle>::DEF;
    let _ = <structured_without_schema as ToolHandle>::DEF;
    let _ = <list as ToolHandle>::DEF;
    let _ = <number as ToolHandle>::DEF;
    let _ = <json as ToolHandle>::DEF;
    let _ = <result as ToolHandle>::DEF;
    let _ = <result_string as ToolHandle>::DEF;
    let _ = <result_unit as ToolHandle>::DEF;
    let _ = <result_static_str as ToolHandle>::DEF;
    let _ = <raw as ToolHandle>::DEF;
    let _ = <raw_or_rpc_error as ToolHandle>::DEF;
    let _ = <raw_or_mcp_error as ToolHandle>::DEF;
    let _ = <raw_or_tool_error as ToolHandle>::DEF;
    let _ = <aliased::alias as ToolHandle>::DEF;
}
