//! Generating the tool's handle, definition and registration.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{LitStr, spanned::Spanned};

use crate::valid::{Output, Param, ScopeRule, Tool};

pub(crate) fn expand(tool: &Tool<'_>) -> TokenStream {
    let item = tool.item;
    let ident = &item.sig.ident;
    let vis = &item.vis;
    let rt = &tool.krate;
    let p = quote!(#rt::__private);

    let args_struct = args_struct(tool, &p);
    let args_ty = match tool.params.iter().find_map(|p| match p {
        Param::Args { inner } => Some(*inner),
        _ => None,
    }) {
        Some(inner) => quote!(#inner),
        None => quote!(__McpArgs),
    };

    let rule = match &tool.scopes {
        ScopeRule::None => quote!(#p::ScopeRule::None),
        ScopeRule::All(list) => quote!(#p::ScopeRule::All(&[#(#list),*])),
        ScopeRule::Any(list) => quote!(#p::ScopeRule::Any(&[#(#list),*])),
    };
    let states = tool.params.iter().filter_map(|param| match param {
        Param::Injected {
            state: Some(state), ..
        } => Some(quote_spanned!(state.span()=> #p::state_key::<#state>)),
        _ => None,
    });

    let describe = describe(tool, &p, &args_ty);
    let call = call(tool, &p, &args_ty);
    let name = &tool.name;

    quote! {
        #item

        #[allow(
            non_camel_case_types,
            dead_code,
            missing_docs,
            missing_debug_implementations,
            unreachable_pub
        )]
        #[doc(hidden)]
        #vis struct #ident {}

        const _: () = {
            #args_struct

            const __MCP_SCOPES: #p::ScopeRule = #rule;

            impl #p::ToolHandle for #ident {
                const DEF: &'static #p::ToolDef = &#p::ToolDef {
                    name: #name,
                    scopes: __MCP_SCOPES,
                    describe: #describe,
                    call: #call,
                    states: &[#(#states),*],
                    location: ::core::concat!(::core::file!(), ":", ::core::line!()),
                };
            }

            #p::inventory::submit! {
                #p::Registration(<#ident as #p::ToolHandle>::DEF)
            }
        };
    }
}

/// The struct the argument object deserializes into, one field per parameter,
/// so that serde and schemars do the work. Unused with `Args<T>`.
fn args_struct(tool: &Tool<'_>, p: &TokenStream) -> TokenStream {
    if tool.params.iter().any(|p| matches!(p, Param::Args { .. })) {
        return TokenStream::new();
    }
    let rt = tool.krate.to_string();
    let serde = LitStr::new(&format!("{rt}::__private::serde"), Span::call_site());
    let schemars = LitStr::new(&format!("{rt}::__private::schemars"), Span::call_site());
    let fields = tool.params.iter().filter_map(|param| match param {
        Param::Property {
            ident,
            ty,
            doc,
            optional,
        } => {
            let doc = doc.as_ref().map(|d| quote!(#[doc = #d]));
            // A missing optional argument is `None`, and not required in the schema.
            let default = optional.then(|| quote!(#[serde(default)]));
            Some(quote!(#doc #default #ident: #ty))
        }
        _ => None,
    });
    quote! {
        #[derive(#p::serde::Deserialize, #p::schemars::JsonSchema)]
        #[serde(crate = #serde)]
        #[schemars(crate = #schemars)]
        struct __McpArgs {
            #(#fields,)*
        }
    }
}

fn describe(tool: &Tool<'_>, p: &TokenStream, args_ty: &TokenStream) -> TokenStream {
    let name = &tool.name;
    let description = &tool.description;
    let title = match tool.title {
        Some(title) => quote!(::core::option::Option::Some(#title)),
        None => quote!(::core::option::Option::None),
    };
    let output_schema = match output_type(&tool.output) {
        // The borrow selects the impl (autoref specialisation); written with
        // the macro's span, not the type's, so that clippy leaves it alone.
        Some(ty) => quote!((&#p::OutputSchema::<#ty>::new()).output_schema()),
        None => quote!(::core::option::Option::None),
    };
    let annotations = match tool.annotations {
        Some(flags) => {
            let flags = flags.map(|f| match f {
                Some(b) => quote!(::core::option::Option::Some(#b)),
                None => quote!(::core::option::Option::None),
            });
            quote!(::core::option::Option::Some(#p::annotations(#(#flags),*)))
        }
        None => quote!(::core::option::Option::None),
    };
    quote! {{
        fn __mcp_describe() -> #p::rmcp::model::Tool {
            #[allow(unused_imports)]
            use #p::{ViaJsonSchema as _, WithoutSchema as _};
            #p::describe(
                #name,
                ::core::option::Option::Some(#description),
                #title,
                #p::input_schema::<#args_ty>(),
                #output_schema,
                #annotations,
            )
        }
        __mcp_describe
    }}
}

/// The type whose schema is the output schema, if any.
fn output_type<'a>(output: &Output<'a>) -> Option<&'a syn::Type> {
    match output {
        Output::Structured(ty) => Some(ty),
        Output::Result { ok, .. } => output_type(ok),
        _ => None,
    }
}

fn call(tool: &Tool<'_>, p: &TokenStream, args_ty: &TokenStream) -> TokenStream {
    let ok = quote!(::core::result::Result::Ok);
    let err = quote!(::core::result::Result::Err);
    let sig = &tool.item.sig;

    let locals: Vec<_> = (0..tool.params.len())
        .map(|i| format_ident!("__mcp_p{i}"))
        .collect();
    let mut from_args = Vec::new();
    let mut injected = Vec::new();
    for (param, local) in tool.params.iter().zip(&locals) {
        match param {
            Param::Property { ident, .. } => from_args.push(quote!(#ident: #local)),
            Param::Args { .. } => from_args.push(quote!(#local)),
            Param::Injected { ty, .. } => injected.push(quote_spanned! {ty.span()=>
                let #local = match #p::inject::<#ty>(&__mcp_cx) {
                    #ok(__mcp_value) => __mcp_value,
                    #err(__mcp_refusal) => return #ok(__mcp_refusal),
                };
            }),
        }
    }
    let unpack = if tool.params.iter().any(|p| matches!(p, Param::Args { .. })) {
        quote!(let #(#from_args)* = #p::Args(__mcp_args);)
    } else {
        quote!(let __McpArgs { #(#from_args),* } = __mcp_args;)
    };

    let ident = &sig.ident;
    let await_ = sig.asyncness.map(|a| quote_spanned!(a.span()=> .await));
    let call = quote!(#ident(#(#locals),*) #await_);
    let result = match &tool.output {
        Output::Unit(_) => quote! {
            #call;
            #ok(#p::unit_result(()))
        },
        Output::Passthrough => call,
        output => {
            let convert = convert(p, output, quote!(__mcp_out));
            quote! {
                let __mcp_out = #call;
                #ok(#convert)
            }
        }
    };

    quote! {{
        fn __mcp_call(
            mut __mcp_cx: #p::CallContext,
        ) -> #p::BoxFuture<
            'static,
            ::core::result::Result<#p::rmcp::model::CallToolResult, #p::ErrorData>,
        > {
            ::std::boxed::Box::pin(async move {
                if let #err(__mcp_refusal) = #p::check_scopes(&__mcp_cx, &__MCP_SCOPES) {
                    return #ok(__mcp_refusal);
                }
                let __mcp_args = match #p::arguments::<#args_ty>(&mut __mcp_cx) {
                    #ok(__mcp_value) => __mcp_value,
                    #err(__mcp_refusal) => return #ok(__mcp_refusal),
                };
                #unpack
                #(#injected)*
                #result
            })
        }
        __mcp_call
    }}
}

/// `value` as a `CallToolResult`, spanned on the return type so that a type
/// the runtime cannot convert is reported there.
fn convert(p: &TokenStream, output: &Output<'_>, value: TokenStream) -> TokenStream {
    match output {
        Output::Unit(span) => quote_spanned!(*span=> #p::unit_result(#value)),
        Output::Text(span) => quote_spanned!(*span=> #p::text_result(#value)),
        Output::Raw(span) => quote_spanned!(*span=> #p::raw_result(#value)),
        Output::Structured(ty) => quote_spanned!(ty.span()=> #p::structured_result(&#value)),
        Output::Passthrough => value,
        Output::Result { ok, ty } => {
            let (pattern, converted) = match &**ok {
                // No `unit_result(v)` with `v: ()`: clippy's `unit_arg` would see it.
                Output::Unit(span) => (quote!(()), quote_spanned!(*span=> #p::unit_result(()))),
                ok => (quote!(__mcp_ok), convert(p, ok, quote!(__mcp_ok))),
            };
            quote_spanned! {ty.span()=>
                match #value {
                    ::core::result::Result::Ok(#pattern) => #converted,
                    ::core::result::Result::Err(__mcp_err) => #p::error_result(__mcp_err),
                }
            }
        }
    }
}
