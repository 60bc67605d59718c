//! The `#[tool]` attribute of `mcp-runtime`. Use it through
//! `mcp_runtime::tool`, which documents it.

mod attr;
mod expand;
mod fallback;
mod valid;

use proc_macro::TokenStream;

/// Declares an MCP tool. See `mcp_runtime::tool`.
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
            return fallback::with_error(item, e);
        }
    };
    let attrs = match syn::parse2::<attr::Attrs>(attr) {
        Ok(attrs) => attrs,
        Err(e) => return fallback::with_error(item, e),
    };
    match valid::check(&attrs, &function) {
        Ok(tool) => expand::expand(&tool),
        Err(e) => fallback::with_error(item, e),
    }
}
