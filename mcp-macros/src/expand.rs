//! Generating the tool's handle, definition and registration.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote, quote_spanned};
use syn::{Ident, LitStr, spanned::Spanned};

use crate::valid::{Output, Param, ScopeRule, Tool};

pub(crate) fn expand(tool: &Tool<'_>) -> TokenStream {
    let item = tool.item;
    let ident = &item.sig.ident;
    let vis = &item.vis;
    let rt = &tool.krate;
    let p = quote!(#rt::__private);

    let args_struct = args_struct(tool, &p);
    let rule = rule_tokens(&p, &tool.scopes);
    // Injected types are recognised by name: `ToolContext` is the one that
    // needs rmcp's request context.
    let needs_request = tool.params.iter().any(|param| {
        matches!(param, Param::Injected { ty: syn::Type::Path(p), .. }
            if p.path.segments.last().is_some_and(|s| s.ident == "ToolContext"))
    });
    let states = state_keys(&p, &tool.params);

    let describe = describe(tool, &p);
    let call = call(tool, &p);
    let name = &tool.name;

    // `#[tool] #[cfg(..)] fn` leaves the `cfg` on the function: it must
    // remove the handle and registration too.
    let cfgs: Vec<_> = item
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .collect();

    let handle = handle_struct(&quote!(#(#cfgs)*), vis, ident);
    quote! {
        #item

        #handle

        #(#cfgs)*
        // Calling a `#[deprecated]` tool is the registration's job, not a use.
        #[allow(deprecated)]
        const _: () = {
            #args_struct

            const __MCP_SCOPES: #p::ScopeRule = #rule;

            impl #p::ToolHandle for #ident {
                const DEF: &'static #p::ToolDef = &#p::ToolDef {
                    name: #name,
                    scopes: __MCP_SCOPES,
                    describe: #describe,
                    call: #call,
                    states: #states,
                    location: ::core::concat!(::core::file!(), ":", ::core::line!()),
                    needs_request: #needs_request,
                };
            }

            #p::inventory::submit! {
                #p::Registration(<#ident as #p::ToolHandle>::DEF)
            }
        };
    }
}

/// The runtime's `ScopeRule` for a rule as written.
pub(crate) fn rule_tokens(p: &TokenStream, rule: &ScopeRule<'_>) -> TokenStream {
    match rule {
        ScopeRule::Public => quote!(#p::ScopeRule::Public),
        ScopeRule::All(list) => quote!(#p::ScopeRule::All(&[#(#list),*])),
        ScopeRule::Any(list) => quote!(#p::ScopeRule::Any(&[#(#list),*])),
    }
}

/// `&[state_key::<T>, …]`: the `State<T>` types the parameters take, each
/// spanned on its `T`.
pub(crate) fn state_keys(p: &TokenStream, params: &[Param<'_>]) -> TokenStream {
    let keys = params.iter().filter_map(|param| match param {
        Param::Injected {
            state: Some(state), ..
        } => Some(quote_spanned!(state.span()=> #p::state_key::<#state>)),
        _ => None,
    });
    quote!(&[#(#keys),*])
}

/// Where a parameter type that is not `Deserialize` or `JsonSchema` is
/// reported: the `T` of `Args<T>`, or the parameter list.
fn arguments_span(tool: &Tool<'_>) -> Span {
    tool.params
        .iter()
        .find_map(|p| match p {
            Param::Args { inner } => Some(inner.span()),
            _ => None,
        })
        .unwrap_or_else(|| tool.item.sig.paren_token.span.join())
}

/// `tokens`, all spanned at `span`: rustc reports an unmet bound of a call
/// on the span of the whole path.
fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tt| {
            if let TokenTree::Group(g) = &tt {
                let mut group = Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                tt = TokenTree::Group(group);
            } else {
                tt.set_span(span);
            }
            tt
        })
        .collect()
}

/// The parameters that are properties of the argument object.
fn properties<'t>(
    tool: &'t Tool<'_>,
) -> impl Iterator<Item = (&'t Ident, &'t syn::Type, Option<&'t String>)> {
    tool.params.iter().filter_map(|param| match param {
        Param::Property { ident, ty, doc } => Some((ident, *ty, doc.as_ref())),
        _ => None,
    })
}

/// The struct the argument object deserializes into, one field per
/// parameter, so that serde and schemars do the work, and the two functions
/// that read it and describe it. Unused with `Args<T>`.
///
/// The struct is generic over its field types, and the functions over the
/// parameter types (the `T` of an `Option<T>`), bounded by the runtime's
/// `ReadParameter` and `DescribedParameter`. The calls name the user's types,
/// each spanned on its parameter: a type without `Deserialize` or
/// `JsonSchema` then fails once, at that parameter, in the words of those
/// traits, and never inside the derived impls or the struct.
fn args_struct(tool: &Tool<'_>, p: &TokenStream) -> TokenStream {
    if tool.params.iter().any(|p| matches!(p, Param::Args { .. })) {
        return TokenStream::new();
    }
    let rt = tool.krate.to_string();
    let serde = LitStr::new(&format!("{rt}::__private::serde"), Span::call_site());
    let schemars = LitStr::new(&format!("{rt}::__private::schemars"), Span::call_site());
    let mut generics = Vec::new();
    let mut field_types = Vec::new();
    let mut fields = Vec::new();
    for (i, (ident, ty, doc)) in properties(tool).enumerate() {
        let generic = format_ident!("__McpT{i}");
        let doc = doc.map(|d| quote!(#[doc = #d]));
        // No `#[serde(default)]` on `Option` fields: serde already reads a
        // missing one as `None`, and schemars leaves it out of `required`.
        fields.push(quote!(#doc #ident: #generic));
        field_types.push(match option_inner(ty) {
            Some(_) => with_option_inner(ty, &generic),
            None => quote!(#generic),
        });
        generics.push(generic);
    }
    let struct_generics = (!generics.is_empty()).then(|| quote!(<#(#generics),*>));
    let args = quote!(__McpArgs<#(#field_types),*>);
    quote! {
        #[derive(#p::serde::Deserialize, #p::schemars::JsonSchema)]
        #[serde(crate = #serde)]
        #[schemars(crate = #schemars)]
        struct __McpArgs #struct_generics {
            #(#fields,)*
        }

        fn __mcp_schema<#(#generics: #p::DescribedParameter),*>()
            -> ::std::sync::Arc<#p::rmcp::model::JsonObject>
        {
            #p::input_schema::<#args>()
        }

        fn __mcp_read<#(#generics: #p::ReadParameter),*>(
            cx: &mut #p::CallContext,
        ) -> ::core::result::Result<#args, #p::rmcp::model::CallToolResult> {
            #p::arguments::<#args>(cx)
        }
    }
}

/// The function that describes (`"schema"`) or reads (`"read"`) the
/// arguments, instantiated: with `Args<T>`, the runtime's, at `T`; otherwise
/// `args_struct`'s, at the parameter types, each spanned on its parameter.
fn arguments_fn(tool: &Tool<'_>, p: &TokenStream, what: &str) -> TokenStream {
    let at = arguments_span(tool);
    let args = tool.params.iter().find_map(|param| match param {
        Param::Args { inner } => Some(*inner),
        _ => None,
    });
    if let Some(inner) = args {
        let f = if what == "schema" {
            quote!(input_schema)
        } else {
            quote!(arguments)
        };
        return respan(quote!(#p::#f::<#inner>), at);
    }
    let f = respan(format_ident!("__mcp_{what}").into_token_stream(), at);
    let types = properties(tool).map(|(_, ty, _)| {
        let checked = option_inner(ty).unwrap_or(ty);
        respan(quote!(#checked), ty.span())
    });
    quote!(#f::<#(#types),*>)
}

/// `T` when `ty` is written `Option<T>` (under any path to `Option`).
fn option_inner(ty: &syn::Type) -> Option<&syn::Type> {
    let syn::Type::Path(path) = ty else {
        return None;
    };
    let last = path.path.segments.last()?;
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match (last.ident == "Option", args.args.first(), args.args.len()) {
        (true, Some(syn::GenericArgument::Type(inner)), 1) => Some(inner),
        _ => None,
    }
}

/// `ty`, an `Option<_>` as the user wrote it, with its `T` replaced by
/// `inner`: the same `Option` the tool function takes.
fn with_option_inner(ty: &syn::Type, inner: &Ident) -> TokenStream {
    let mut ty = ty.clone();
    if let syn::Type::Path(path) = &mut ty
        && let Some(last) = path.path.segments.last_mut()
        && let syn::PathArguments::AngleBracketed(args) = &mut last.arguments
        && let Some(syn::GenericArgument::Type(t)) = args.args.first_mut()
    {
        *t = syn::parse_quote!(#inner);
    }
    quote!(#ty)
}

fn describe(tool: &Tool<'_>, p: &TokenStream) -> TokenStream {
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
    let input_schema = arguments_fn(tool, p, "schema");
    let input_schema = quote!(#input_schema());
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
                #input_schema,
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

fn call(tool: &Tool<'_>, p: &TokenStream) -> TokenStream {
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
            let convert = convert(p, output, "__mcp_out");
            quote! {
                let __mcp_out = #call;
                #ok(#convert)
            }
        }
    };

    let arguments = arguments_fn(tool, p, "read");
    let body = quote! {{
        if let #err(__mcp_refusal) = #p::check_scopes(&__mcp_cx, &__MCP_SCOPES) {
            return #ok(__mcp_refusal);
        }
        let __mcp_args = match #arguments(&mut __mcp_cx) {
            #ok(__mcp_value) => __mcp_value,
            #err(__mcp_refusal) => return #ok(__mcp_refusal),
        };
        #unpack
        #(#injected)*
        #result
    }};
    // A body that is not `Send` is reported at the user's `async`.
    let future = sig.asyncness.map_or_else(Span::call_site, |a| a.span());
    let boxed = quote_spanned!(future=> ::std::boxed::Box::pin(async move #body));

    quote! {{
        fn __mcp_call(
            mut __mcp_cx: #p::CallContext,
        ) -> #p::BoxFuture<
            'static,
            ::core::result::Result<#p::rmcp::model::CallToolResult, #p::ErrorData>,
        > {
            #boxed
        }
        __mcp_call
    }}
}

/// `value` as a `CallToolResult`, spanned on the return type so that a type
/// the runtime cannot convert is reported there, not on `#[tool]`.
fn convert(p: &TokenStream, output: &Output<'_>, value: &str) -> TokenStream {
    let at = |span: Span| Ident::new(value, span);
    match output {
        // `()` is matched, not passed: clippy's `unit_arg` would see `unit_result(v)`.
        Output::Unit(span) => quote_spanned!(*span=> #p::unit_result(())),
        Output::Text(span) => {
            let v = at(*span);
            quote_spanned!(*span=> #p::text_result(#v))
        }
        Output::Raw(span) => {
            let v = at(*span);
            quote_spanned!(*span=> #p::raw_result(#v))
        }
        Output::Structured(ty) => {
            let v = at(ty.span());
            quote_spanned!(ty.span()=> #p::structured_result(&#v))
        }
        Output::Passthrough => {
            let v = at(Span::call_site());
            quote!(#v)
        }
        Output::Result { ok, err } => {
            let pattern = match &**ok {
                Output::Unit(_) => quote!(()),
                _ => quote!(__mcp_ok),
            };
            let converted = convert(p, ok, "__mcp_ok");
            let v = Ident::new(value, Span::call_site());
            let e = Ident::new("__mcp_err", err.span());
            let error = quote_spanned!(err.span()=> #p::error_result(#e));
            quote! {
                match #v {
                    ::core::result::Result::Ok(#pattern) => #converted,
                    ::core::result::Result::Err(__mcp_err) => #error,
                }
            }
        }
    }
}

/// The handle type `#[tool] fn foo` defines beside the function: a unit
/// struct `foo` in the type namespace (also emitted, as a stub, on error).
pub(crate) fn handle_struct(
    cfgs: &TokenStream,
    vis: &syn::Visibility,
    ident: &syn::Ident,
) -> TokenStream {
    quote! {
        #cfgs
        #[allow(
            non_camel_case_types,
            dead_code,
            missing_docs,
            missing_debug_implementations,
            unreachable_pub
        )]
        #[doc(hidden)]
        #vis struct #ident {}
    }
}
