//! What `#[tool]` emits when it finds a mistake.

use proc_macro2::{TokenStream, TokenTree};
use quote::quote;
use syn::{FnArg, ItemFn, ext::IdentExt};

/// The user's item unchanged, plus `handle` (see [`stub_handle`]), plus the
/// error: so a mistake is reported once, by us, instead of again by every use
/// of the function or of its handle, and IDEs keep seeing the function while
/// it is being fixed (tokio's `token_stream_with_error`).
pub(crate) fn with_error(
    mut item: TokenStream,
    handle: TokenStream,
    error: syn::Error,
) -> TokenStream {
    item.extend(handle);
    item.extend(error.into_compile_error());
    item
}

/// A stand-in for the handle `#[tool] fn foo` defines (a unit struct `foo`
/// implementing `ToolHandle`, see `expand`), so that `.tool::<foo>()` still
/// names something. Its definition is never run, nor registered: the crate
/// does not compile anyway, because of the error beside it.
///
/// `rt` is the runtime's path: `crate = ...` if the attribute parsed, else
/// `::mcp_runtime`.
///
/// Nothing where the handle could not be defined, or would be defined twice,
/// lest the stub make errors of its own: a method (`self`, or `Self` in the
/// signature: the item sits in an `impl` or a trait, where a struct cannot),
/// or a function given `#[tool]` again (that inner `#[tool]` expands too, and
/// defines the handle or its own stub).
pub(crate) fn stub_handle(function: &ItemFn, rt: &TokenStream) -> TokenStream {
    let sig = &function.sig;
    if !can_stub(function, "tool") {
        return TokenStream::new();
    }

    let ident = &sig.ident;
    let vis = &function.vis;
    let name = ident.unraw().to_string();
    let p = quote!(#rt::__private);
    let cfgs = function.attrs.iter().filter(|a| a.path().is_ident("cfg"));
    let cfgs = quote!(#(#cfgs)*);
    let handle = crate::expand::handle_struct(&cfgs, vis, ident);
    quote! {
        #handle

        #cfgs
        const _: () = {
            impl #p::ToolHandle for #ident {
                const DEF: &'static #p::ToolDef = &#p::ToolDef {
                    name: #name,
                    scopes: #p::ScopeRule::Public,
                    describe: || ::core::unreachable!(),
                    call: |_| ::core::unreachable!(),
                    states: &[],
                    location: ::core::concat!(::core::file!(), ":", ::core::line!()),
                    needs_request: false,
                };
            }
        };
    }
}

/// Whether a handle can stand beside `function`: not a method, and not
/// given `#[attr]` again (that one expands too).
fn can_stub(function: &ItemFn, attr: &str) -> bool {
    let sig = &function.sig;
    let method =
        matches!(sig.inputs.first(), Some(FnArg::Receiver(_))) || mentions_self_type(quote!(#sig));
    let again = function
        .attrs
        .iter()
        .any(|a| a.path().segments.last().is_some_and(|s| s.ident == attr));
    !method && !again
}

/// The stand-in for the handle of a `#[resource]`, `#[resource_template]`
/// or `#[prompt]` that did not compile, as [`stub_handle`] is for tools.
pub(crate) fn stub_item_handle(function: &ItemFn, rt: &TokenStream, attr: &str) -> TokenStream {
    if !can_stub(function, attr) {
        return TokenStream::new();
    }
    let ident = &function.sig.ident;
    let p = quote!(#rt::__private);
    let cfgs = function.attrs.iter().filter(|a| a.path().is_ident("cfg"));
    let cfgs = quote!(#(#cfgs)*);
    let handle = crate::expand::handle_struct(&cfgs, &function.vis, ident);
    quote! {
        #handle

        #cfgs
        const _: () = {
            impl #p::ItemHandle for #ident {
                const ITEM: #p::DeclaredItem = #p::DeclaredItem::Prompt(&#p::PromptDef {
                    name: "",
                    scopes: #p::ScopeRule::Public,
                    describe: || ::core::unreachable!(),
                    get: |_, _| ::core::unreachable!(),
                    states: &[],
                    location: ::core::concat!(::core::file!(), ":", ::core::line!()),
                });
            }
        };
    }
}

/// Whether `tokens` name the `Self` type anywhere.
fn mentions_self_type(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|tt| match tt {
        TokenTree::Ident(ident) => ident == "Self",
        TokenTree::Group(group) => mentions_self_type(group.stream()),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use proc_macro2::TokenStream;
    use quote::quote;

    /// What `#[tool(attr)] item` expands to, without spaces.
    fn expand(attr: TokenStream, item: TokenStream) -> String {
        crate::tool_impl(attr, item).to_string().replace(' ', "")
    }

    const ERROR: &str = "compile_error!";
    const HANDLE: &str = "::__private::ToolHandlefor";

    #[test]
    fn a_mistake_still_defines_the_handle() {
        // No doc comment: `valid` refuses it, with `crate = rt` parsed.
        let out = expand(
            quote!(crate = rt),
            quote!(
                pub(crate) fn r#foo() {}
            ),
        );
        assert!(out.contains(ERROR), "{out}");
        assert!(out.contains("pub(crate)structr#foo{}"), "{out}");
        assert!(
            out.contains("implrt::__private::ToolHandleforr#foo"),
            "{out}"
        );
        assert!(out.contains("name:\"foo\""), "{out}");
        assert!(!out.contains("inventory"), "{out}");

        // An attribute that does not parse: the default runtime path.
        let out = expand(
            quote!(crate = rt, bogus),
            quote!(
                #[cfg(test)]
                fn foo() {}
            ),
        );
        assert!(out.contains(ERROR), "{out}");
        assert!(out.contains("#[cfg(test)]#[allow("), "{out}");
        assert!(out.contains("#[cfg(test)]const_:()="), "{out}");
        assert!(
            out.contains("impl::mcp_runtime::__private::ToolHandleforfoo"),
            "{out}"
        );
    }

    #[test]
    fn no_handle_where_it_cannot_be_defined() {
        let cases = [
            quote!(
                struct Todo;
            ),
            quote!(
                fn list(&self) {}
            ),
            quote!(
                fn new() -> Self {}
            ),
            quote!(
                #[tool(bogus)]
                fn twice() {}
            ),
        ];
        for item in cases {
            let out = expand(quote!(bogus), item);
            assert!(out.contains(ERROR), "{out}");
            assert!(!out.contains(HANDLE), "{out}");
        }
    }
}
