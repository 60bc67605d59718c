//! Names the generated code must not depend on: it spells every path out.
#![allow(dead_code, non_camel_case_types, unused_macros)]

use mcp_runtime::{AccessToken, tool};
use schemars::JsonSchema;
use serde::Serialize;

// The prelude, shadowed.
struct Result;
struct Option;
struct Some;
struct None;
struct Ok;
struct Err;
struct Box;
struct String;
struct Vec;
struct Send;
struct Sync;
struct Future;
struct Default;
trait Into {}
trait From {}
trait Clone {}

// The runtime's own names, shadowed.
struct ToolDef;
struct ToolHandle2;
struct CallContext;
struct CallToolResult;
struct ErrorData;
struct BoxFuture;
struct ScopeRule;
struct Registration;
struct Tool;
struct Args;
struct describe;
struct inventory;
fn check_scopes() {}
fn arguments() {}
fn inject() {}
fn __mcp_call() {}
fn __mcp_describe() {}
const __MCP_SCOPES: u8 = 0;

macro_rules! concat {
    ($($t:tt)*) => {
        compile_error!("the user's concat! was used")
    };
}
macro_rules! file {
    () => {
        compile_error!("the user's file! was used")
    };
}
macro_rules! line {
    () => {
        compile_error!("the user's line! was used")
    };
}

#[derive(Serialize, JsonSchema)]
struct Todo {
    id: u32,
}

type Text = std::string::String;
type Maybe<T> = core::option::Option<T>;

/// Parameters named like the generated locals.
#[tool(scope = "todo:write")]
async fn create_todo(
    cx: Text,
    __mcp_cx: Text,
    __mcp_args: Maybe<u32>,
    __mcp_p0: u32,
    __mcp_out: bool,
    token: AccessToken,
) -> core::result::Result<Todo, Text> {
    let _ = (cx, __mcp_cx, __mcp_args, __mcp_p0, __mcp_out, token);
    core::result::Result::Ok(Todo { id: 1 })
}

/// A parameter named like the function.
#[tool(public)]
fn echo(echo: Text) -> Text {
    echo
}

mod crates {
    // The crates the generated code derives with, shadowed.
    struct serde;
    struct schemars;
    struct mcp_runtime;
    struct core;
    struct std;

    /// Arguments derived through the runtime's re-exports.
    #[::mcp_runtime::tool(public)]
    fn derive(title: ::core::option::Option<u32>) {
        let _ = title;
    }
}

mod user_result {
    pub type Result<T, E = std::string::String> = core::result::Result<T, E>;

    /// The user's own `Result` alias, with a default error type.
    #[mcp_runtime::tool(public)]
    pub fn aliased() -> Result<u32> {
        Ok(1)
    }
}

fn main() {
    let _ = <create_todo as mcp_runtime::ToolHandle>::DEF;
    let _ = <echo as mcp_runtime::ToolHandle>::DEF;
    let _ = <user_result::aliased as mcp_runtime::ToolHandle>::DEF;
    let _ = ToolHandle2;
}
