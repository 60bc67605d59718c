//! The `#[tool]` attribute of `mcp-runtime`. Use it through
//! `mcp_runtime::tool`, which re-exports it.

mod attr;
mod docs;
mod expand;
mod fallback;
mod item;
mod valid;

use proc_macro::TokenStream;

/// Declares an MCP tool: its JSON schemas, its registration, and a scope
/// check that runs before its body.
///
/// ```
/// use mcp_runtime::{AccessToken, ToolError, tool};
/// use schemars::JsonSchema;
/// use serde::Serialize;
///
/// #[derive(Serialize, JsonSchema)]
/// struct Todo {
///     id: u64,
///     title: String,
/// }
///
/// /// Add a todo item for the caller.
/// ///
/// /// # Arguments
/// /// * `title` - What needs doing.
/// /// * `due` - When it is due, if ever.
/// #[tool(scope = "todo:write")]
/// async fn create_todo(
///     token: AccessToken,
///     title: String,
///     due: Option<String>,
/// ) -> Result<Todo, ToolError> {
///     if title.is_empty() {
///         return Err(ToolError::new("a todo needs a title"));
///     }
///     let _ = (token.subject(), due);
///     Ok(Todo { id: 1, title })
/// }
/// ```
///
/// That is the whole tool. The doc comment is its description, the
/// parameters make its input schema (`title` required, `due` optional, each
/// described by its `# Arguments` line), `Todo` its output schema, and every
/// server built in the binary serves it. A caller whose token lacks
/// `todo:write` gets, before the arguments are even parsed, the tool error
/// `{"error": "Insufficient permissions: `todo:write` scope required."}`
/// (as structured content and as text, with `isError: true`).
///
/// The function stays an ordinary function, callable and testable as such.
///
/// # Attribute keys
///
/// | key | meaning |
/// |---|---|
/// | `scope = "todo:write"`, or `scope = TODO_WRITE` | the token must hold this scope |
/// | `scopes = ["hr:read", "finance:read"]` | the token must hold every listed scope; a refusal names the first one missing |
/// | `any_scope = ["hr:read", "finance:read"]` | the token must hold one of them |
/// | `public` | any caller the server admits: any valid token, or anyone when the server has no authentication |
/// | `name = "todo.create"` | the tool's name; by default the function's (`r#` removed) |
/// | `title = "Create a todo"` | a display name |
/// | `description = "…"` | the description, instead of the doc comment |
/// | `read_only`, `destructive`, `idempotent`, `open_world` | hints for clients; bare means `= true`, and `= false` is allowed |
/// | `crate = path` or `crate = "path"` | where the runtime is, if not at `::mcp_runtime` |
///
/// A tool has exactly one rule: one of the three scope keys, or `public`.
/// Tools fail closed: a tool with no rule does not compile (``this tool has no
/// scope rule: add `scope = "..."` to require a scope, or `public` to let any
/// caller the server admits call it``), so an open tool is always one that
/// was opened on purpose:
///
/// ```compile_fail
/// /// Who is calling.
/// #[mcp_runtime::tool]
/// fn whoami(token: mcp_runtime::AccessToken) -> String {
///     token.subject().to_owned()
/// }
/// ```
///
/// Scope strings are checked at compile time against the RFC 6749
/// scope-token grammar (printable ASCII except space, `"` and `\`); a bad
/// one, an empty list, a repeated scope, an unknown key or a repeated key is
/// a compile error on the offending token.
///
/// A scope can also be named by the path of a `&str` constant, such as one
/// declared with `mcp_runtime::scopes!`, so that each scope is spelt once:
/// `scope = TODO_WRITE`, `scopes = [TODO_READ, crate::hr::HR_READ]`. A
/// misspelt constant is the compiler's own error (``cannot find value
/// `TODO_WIRTE` ``, with its suggestion of the constant meant); the
/// constant's value is checked against the grammar, and against the
/// server's vocabulary when it has one, when the server is built.
///
/// ```
/// use mcp_runtime::tool;
///
/// mcp_runtime::scopes! {
///     /// The scopes of the HR tools.
///     pub HR {
///         HR_READ = "hr:read" => "Read employee records",
///         HR_WRITE = "hr:write" => "Change employee records",
///     }
/// }
///
/// /// Update an employee's title.
/// #[tool(scopes = [HR_READ, HR_WRITE])]
/// fn retitle(employee: u64, title: String) -> String {
///     format!("{employee} is now {title}")
/// }
/// ```
///
/// # Parameters
///
/// Parameters are told apart by their type (the last segment of its path):
///
/// - `AccessToken` (the caller; the call is refused when there is none),
///   `Option<AccessToken>`, `State<T>` (a value given to the server with
///   `McpServerBuilder::state`), `ToolContext` (the MCP request) and
///   `ResourceUpdates` (to tell listening clients a resource changed) are
///   **injected** by the server, whatever the parameter's pattern
///   (`State(store): State<Store>` works). Which states a server holds is
///   known only when it is built, so a missing one cannot be a compile
///   error: `McpServerBuilder::build` checks every tool, resource and
///   prompt it serves and returns `Error::MissingState`, naming the item,
///   the `file:line` where it is declared and the type to add, before
///   anything is served;
/// - `Args<T>` takes the **whole argument object** as one type deriving
///   `Deserialize` and `JsonSchema`; it cannot be combined with the next kind;
/// - any other parameter is **one property** of the argument object, named
///   after the parameter, with the parameter's type, which must implement
///   `Deserialize` and `JsonSchema`. `Option<T>` properties are optional.
///   Descriptions come from the doc comment's `# Arguments` list, written
///   ``* `name` - text`` or ``- `name`: text`` (continuation lines are joined).
///
/// Parameters must be owned (`String`, not `&str`), and properties must be
/// named by a plain identifier. Arguments that do not match the schema are
/// a tool error the caller can read (`Invalid arguments for tool …`).
///
/// ```standalone_crate
/// use mcp_runtime::{Args, State, tool};
/// use schemars::JsonSchema;
/// use serde::Deserialize;
///
/// struct Db;
///
/// #[derive(Deserialize, JsonSchema)]
/// struct Search {
///     /// Words to look for.
///     query: String,
///     /// At most this many results.
///     limit: Option<u32>,
/// }
///
/// /// Search the records.
/// #[tool(public, read_only)]
/// async fn search(State(db): State<Db>, Args(search): Args<Search>) -> Vec<String> {
///     let _ = (db, search.limit);
///     vec![search.query]
/// }
/// ```
///
/// # Return types
///
/// | the function returns | the caller gets |
/// |---|---|
/// | nothing, `()` | an empty success |
/// | `String`, `&'static str`, `Cow<'static, str>` | that text |
/// | any other `T: Serialize` | `T` as structured content, and as JSON text; a `T` that is not a JSON object comes wrapped as `{"result": …}`. If `T: JsonSchema`, its schema is the tool's output schema |
/// | `CallToolResult` | exactly that |
/// | `Result<T, E>` | `Ok` as above; `Err` is a tool error (`isError: true`) whose text is `E`'s `Display` |
/// | `Result<CallToolResult, ErrorData>` | `Ok` exactly; `Err` as a JSON-RPC error |
///
/// `Result` is recognised by name, so aliases such as `anyhow::Result<T>`
/// work; an alias with another name is taken for a plain `T`.
///
/// # Async and sync
///
/// `async fn` and plain `fn` both work. A plain `fn` runs on the server's
/// async runtime: keep it quick, or make it `async` and use
/// `tokio::task::spawn_blocking`. An `async fn`'s future must be `Send`.
///
/// # Choosing tools explicitly
///
/// `#[tool] fn create_todo` also defines, in the type namespace, a handle
/// named `create_todo` implementing `ToolHandle`, so that a server can be
/// given an explicit list of tools, and a tool can be called in process:
///
/// ```
/// use mcp_runtime::{AccessToken, McpServer, tool};
///
/// /// Add a todo item.
/// #[tool(scope = "todo:write")]
/// fn create_todo(title: String) -> String {
///     format!("created {title:?}")
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let server = McpServer::builder().tool::<create_todo>().build().unwrap();
/// let args = serde_json::json!({ "title": "milk" }).as_object().cloned();
///
/// let reader = AccessToken::new("t", "alice").with_scopes(["todo:read"]);
/// let refused = server.call_tool("create_todo", args.clone(), Some(reader)).await.unwrap();
/// assert_eq!(refused.is_error, Some(true));
/// assert_eq!(
///     refused.structured_content.unwrap()["error"],
///     "Insufficient permissions: `todo:write` scope required."
/// );
///
/// let writer = AccessToken::new("t", "alice").with_scopes(["todo:write"]);
/// let created = server.call_tool("create_todo", args, Some(writer)).await.unwrap();
/// assert_eq!(created.is_error, Some(false));
/// # }
/// ```
///
/// # Equivalent code without `#[tool]`
///
/// Roughly what the example at the top expands to, next to the function
/// itself (`__private` is the macro's, not public API):
///
/// ```
/// # use mcp_runtime::{AccessToken, ToolError};
/// # #[derive(serde::Serialize, schemars::JsonSchema)]
/// # struct Todo { id: u64, title: String }
/// # async fn create_todo(_: AccessToken, title: String, _: Option<String>) -> Result<Todo, ToolError> {
/// #     Ok(Todo { id: 1, title })
/// # }
/// use mcp_runtime::__private as p;
///
/// #[allow(non_camel_case_types)]
/// struct create_todo {}
///
/// const _: () = {
///     #[derive(serde::Deserialize, schemars::JsonSchema)]
///     struct Arguments<T0, T1> {
///         /// What needs doing.
///         title: T0,
///         /// When it is due, if ever.
///         due: T1,
///     }
///     type Args = Arguments<String, Option<String>>;
///     const SCOPES: p::ScopeRule = p::ScopeRule::All(&["todo:write"]);
///
///     fn describe() -> p::rmcp::model::Tool {
///         use p::{ViaJsonSchema as _, WithoutSchema as _};
///         p::describe(
///             "create_todo",
///             Some("Add a todo item for the caller."),
///             None,
///             p::input_schema::<Args>(),
///             (&p::OutputSchema::<Todo>::new()).output_schema(),
///             None,
///         )
///     }
///
///     fn call(
///         mut cx: p::CallContext,
///     ) -> p::BoxFuture<'static, Result<p::rmcp::model::CallToolResult, p::ErrorData>> {
///         Box::pin(async move {
///             // The scope check comes first, before the arguments.
///             if let Err(refusal) = p::check_scopes(&cx, &SCOPES) {
///                 return Ok(refusal);
///             }
///             let Arguments { title, due } = match p::arguments::<Args>(&mut cx) {
///                 Ok(args) => args,
///                 Err(invalid) => return Ok(invalid),
///             };
///             let token = match p::inject::<AccessToken>(&cx) {
///                 Ok(token) => token,
///                 Err(refusal) => return Ok(refusal),
///             };
///             Ok(match create_todo(token, title, due).await {
///                 Ok(todo) => p::structured_result(&todo),
///                 Err(e) => p::error_result(e),
///             })
///         })
///     }
///
///     impl p::ToolHandle for create_todo {
///         const DEF: &'static p::ToolDef = &p::ToolDef {
///             name: "create_todo",
///             scopes: SCOPES,
///             describe,
///             call,
///             states: &[],
///             location: concat!(file!(), ":", line!()),
///             needs_request: false,
///         };
///     }
///
///     p::inventory::submit! { p::Registration(<create_todo as p::ToolHandle>::DEF) }
/// };
/// ```
///
/// # Limits
///
/// - Not for methods: tools are free functions (use `State<T>` for shared
///   data), and cannot be generic.
/// - Types are recognised by name, so your own type named `AccessToken`,
///   `State`, `ToolContext`, `ResourceUpdates`, `Args`, `Result` or
///   `CallToolResult` is taken
///   for the runtime's (the compiler then says so).
/// - Only literal doc comments are read, not `#[doc = include_str!(…)]`.
#[proc_macro_attribute]
pub fn tool(attr: TokenStream, item: TokenStream) -> TokenStream {
    tool_impl(attr.into(), item.into()).into()
}

fn tool_impl(
    attr: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let function = match syn::parse2::<syn::ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(e) => {
            let e = syn::Error::new(
                e.span(),
                "#[tool] goes on a function: `fn` or `async fn` with a body",
            );
            // Not a function: no name, so no handle to stand in for.
            return fallback::with_error(item, proc_macro2::TokenStream::new(), e);
        }
    };
    let attrs = match syn::parse2::<attr::Attrs>(attr) {
        Ok(attrs) => attrs,
        Err(e) => {
            // No `crate = ...` to trust: the default runtime path.
            let handle = fallback::stub_handle(&function, &quote::quote!(::mcp_runtime));
            return fallback::with_error(item, handle, e);
        }
    };
    match valid::check(&attrs, &function) {
        Ok(tool) => expand::expand(&tool),
        Err(e) => {
            let handle = fallback::stub_handle(&function, &attrs.krate());
            fallback::with_error(item, handle, e)
        }
    }
}

/// `#[resource]`, `#[resource_template]` and `#[prompt]`: see their docs in
/// `mcp_runtime`.
fn item_impl(
    kind: valid::Kind,
    attr: proc_macro2::TokenStream,
    item: proc_macro2::TokenStream,
) -> proc_macro2::TokenStream {
    let function = match syn::parse2::<syn::ItemFn>(item.clone()) {
        Ok(function) => function,
        Err(e) => {
            let message = format!(
                "#[{}] goes on a function: `fn` or `async fn` with a body",
                kind.attr
            );
            let e = syn::Error::new(e.span(), message);
            return fallback::with_error(item, proc_macro2::TokenStream::new(), e);
        }
    };
    let attrs = match syn::parse2::<attr::Attrs>(attr) {
        Ok(attrs) => attrs,
        Err(e) => {
            let handle =
                fallback::stub_item_handle(&function, &quote::quote!(::mcp_runtime), kind.attr);
            return fallback::with_error(item, handle, e);
        }
    };
    match item::check(kind, &attrs, &function) {
        Ok(it) => item::expand(&it),
        Err(e) => {
            let handle = fallback::stub_item_handle(&function, &attrs.krate(), kind.attr);
            fallback::with_error(item, handle, e)
        }
    }
}

/// Declares a resource at a fixed URI: its listing entry, its registration
/// and its scope rule, checked before the function runs.
///
/// ```standalone_crate
/// use mcp_runtime::{AccessToken, State, resource};
/// use serde::Serialize;
///
/// #[derive(Serialize)]
/// struct Item {
///     title: String,
/// }
///
/// struct Store;
/// impl Store {
///     fn items_of(&self, _owner: &str) -> Vec<Item> {
///         vec![Item { title: "Buy milk".into() }]
///     }
/// }
///
/// /// The caller's own todo items.
/// #[resource(uri = "todo://items", scope = "todo:read")]
/// async fn todo_items(token: AccessToken, store: State<Store>) -> Vec<Item> {
///     store.items_of(token.subject())
/// }
/// ```
///
/// Every server built in the binary lists `todo://items` (`name` is the
/// function's name unless `name = "…"` says otherwise, the description is
/// the doc comment) and answers `resources/read` for it.
///
/// **Keys:** `uri` (required), `scope = "…"`, `scopes = […]`,
/// `any_scope = […]` or `public` (exactly one: resources fail closed, as
/// tools do), `name`, `title`, `description`, `mime_type`, `crate`. Scope
/// forms and their compile-time checks are those of [`tool`](macro@tool).
///
/// **Parameters** are injected only: `AccessToken`, `Option<AccessToken>`,
/// `State<T>`, `ToolContext`, `ResourceUpdates`. A URI with variables is a
/// [`resource_template`](macro@resource_template).
///
/// **The return type** is the contents: `String` or `&str` is text
/// (`text/plain` unless `mime_type` says otherwise), `Vec<u8>` a blob
/// (base64 on the wire), `ReadResourceResult` as it is, and any other
/// `Serialize` type JSON text (`application/json`). `Option<T>` answers
/// `None` with "resource not found" (`-32002`); `Result<T, E>` answers
/// `Err` with its `Display` text as an internal error (`-32603`), or, for
/// `E = ErrorData`, with that error as it is.
///
/// **A refused caller** gets the JSON-RPC error `-32003`
/// (``Insufficient permissions: `todo:read` scope required.``; see
/// `mcp_runtime::scopes::FORBIDDEN` for why that code), or the HTTP 403
/// challenge in step-up mode, or, with
/// `McpServerBuilder::conceal_refusals`, the same "not found" as for a URI
/// nothing serves.
#[proc_macro_attribute]
pub fn resource(attr: TokenStream, item: TokenStream) -> TokenStream {
    item_impl(item::RESOURCE, attr.into(), item.into()).into()
}

/// Declares the resources a URI template describes: the template is listed
/// by `resources/templates/list`, and every URI that matches it is read by
/// the function, with the template's variables as its `String` parameters.
///
/// ```standalone_crate
/// use mcp_runtime::resource_template;
/// use serde::Serialize;
///
/// #[derive(Serialize)]
/// struct Employee {
///     id: String,
///     name: String,
/// }
///
/// /// One employee's record.
/// #[resource_template(uri = "hr://employees/{id}", scope = "hr:read")]
/// fn employee(id: String) -> Option<Employee> {
///     (id == "1").then(|| Employee { id, name: "Ada".into() })
/// }
/// ```
///
/// Only simple `{name}` variables are supported; each matches one or more
/// characters other than `/`, `?` and `#`, percent-decoded. Every parameter
/// that is not injected must be named after a variable, and be a `String`.
/// Keys, injected parameters, return types and refusals are those of
/// [`resource`](macro@resource); a completion of the template's variables
/// (`completion/complete` with `ref/resource`) is allowed to whoever may
/// read it.
#[proc_macro_attribute]
pub fn resource_template(attr: TokenStream, item: TokenStream) -> TokenStream {
    item_impl(item::TEMPLATE, attr.into(), item.into()).into()
}

/// Declares a prompt: its listing entry (arguments included), its
/// registration and its scope rule, checked before the function runs.
///
/// ```standalone_crate
/// use mcp_runtime::{AccessToken, prompt};
///
/// /// Plan the caller's day from their todo list.
/// ///
/// /// # Arguments
/// /// * `focus` - What matters most today.
/// /// * `hours` - How many hours there are to plan.
/// #[prompt(scope = "todo:read")]
/// async fn plan_my_day(token: AccessToken, focus: String, hours: Option<String>) -> String {
///     let hours = hours.unwrap_or_else(|| "8".into());
///     format!("Plan {hours} hours for {}, around {focus}.", token.subject())
/// }
/// ```
///
/// The arguments are the parameters that are not injected, each a `String`
/// (required) or an `Option<String>` (optional), described by the doc
/// comment's `# Arguments` list as a tool's are. A missing required
/// argument is refused with `-32602` before the function runs.
///
/// **Keys:** `scope`, `scopes`, `any_scope` or `public` (exactly one),
/// `name`, `title`, `description`, `crate`.
///
/// **The return type:** `String` (one user message), `Vec<PromptMessage>`
/// or `GetPromptResult`, optionally inside `Result<_, E: Display>`.
/// Refusals are those of [`resource`](macro@resource) (`-32003`, the 403
/// challenge in step-up mode, or "Unknown prompt" when concealed), and a
/// completion of its arguments is allowed to whoever may get it.
#[proc_macro_attribute]
pub fn prompt(attr: TokenStream, item: TokenStream) -> TokenStream {
    item_impl(item::PROMPT, attr.into(), item.into()).into()
}
