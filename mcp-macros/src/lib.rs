//! The `#[tool]` attribute of `mcp-runtime`.

use proc_macro::TokenStream;

/// Declares an MCP tool. See `mcp_runtime::tool`.
#[proc_macro_attribute]
pub fn tool(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}
