//! What `#[tool]` emits when it finds a mistake.

use proc_macro2::TokenStream;

/// The user's item unchanged, plus the error: so a mistake is reported once,
/// by us, instead of again by every use of the function, and IDEs keep
/// seeing the function while it is being fixed (tokio's
/// `token_stream_with_error`).
pub(crate) fn with_error(mut item: TokenStream, error: syn::Error) -> TokenStream {
    item.extend(error.into_compile_error());
    item
}
