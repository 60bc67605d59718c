//! `#[resource]`, `#[resource_template]` and `#[prompt]`: checked as
//! `#[tool]` is (the same scope forms, injected parameters and docs), and
//! expanded into a registration the server collects.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::{Ident, ItemFn, LitStr, ReturnType, Type, ext::IdentExt, spanned::Spanned};

use crate::{
    attr::Attrs,
    docs::Docs,
    valid::{self, Errors, Kind, Param, ScopeRule, is_named, last_segment, type_args},
};

pub(crate) const RESOURCE: Kind = Kind {
    noun: "resource",
    attr: "resource",
};
pub(crate) const TEMPLATE: Kind = Kind {
    noun: "resource template",
    attr: "resource_template",
};
pub(crate) const PROMPT: Kind = Kind {
    noun: "prompt",
    attr: "prompt",
};

/// A resource, template or prompt, ready to expand.
pub(crate) struct Item<'a> {
    kind: Kind,
    item: &'a ItemFn,
    krate: TokenStream,
    /// The URI (template) of a resource; `None` for a prompt.
    uri: Option<String>,
    name: String,
    description: String,
    title: Option<&'a LitStr>,
    mime_type: Option<&'a LitStr>,
    scopes: ScopeRule<'a>,
    params: Vec<Param<'a>>,
    output: Out<'a>,
}

/// How a return value becomes contents or messages.
enum Out<'a> {
    /// `String`, `&str`: text (a resource), or one user message (a prompt).
    Text,
    /// `Vec<u8>`: a blob.
    Blob,
    /// `ReadResourceResult`, `GetPromptResult`: as it is.
    Raw,
    /// `Vec<PromptMessage>`: the messages.
    Messages,
    /// Any other type: JSON (a resource).
    Json(&'a Type),
    /// `Option<T>`: `None` is "resource not found".
    Optional(Box<Out<'a>>),
    /// `Result<T, E>`: `E` is `ErrorData` (as it is) or `Display`.
    Result { ok: Box<Out<'a>>, error_data: bool },
}

pub(crate) fn check<'a>(kind: Kind, attrs: &'a Attrs, item: &'a ItemFn) -> syn::Result<Item<'a>> {
    let mut errors = Errors::default();
    valid::check_signature(item, kind, &mut errors);
    refuse_tool_keys(kind, attrs, &mut errors);
    let uri = uri(kind, attrs, item, &mut errors);
    let scopes = valid::scope_rule(attrs, item, kind, &mut errors);
    let docs = Docs::read(&item.attrs);
    let params = valid::params(item, kind, &mut errors)
        .map(|p| valid::apply_argument_docs(p, &docs, item, &mut errors))
        .unwrap_or_default();
    check_params(kind, &params, uri.as_deref(), &mut errors);
    let description = valid::description(attrs, &docs, item, kind, &mut errors);
    let output = match &item.sig.output {
        ReturnType::Default => {
            errors.push(
                item.sig.ident.span(),
                format!("a {} must return its contents", kind.noun),
            );
            Out::Text
        }
        ReturnType::Type(_, ty) => {
            let out = output(kind, ty);
            if kind.attr == "prompt" && !out.is_prompt() {
                errors.push_spanned(
                    ty,
                    "a prompt returns a `String` (one user message), `Vec<PromptMessage>` \
                     or `GetPromptResult`, optionally inside `Result<_, E: Display>`",
                );
            }
            out
        }
    };
    let name = match attrs.name.value() {
        Some(lit) => lit.value(),
        None => item.sig.ident.unraw().to_string(),
    };
    errors.finish(Item {
        kind,
        item,
        krate: attrs.krate(),
        uri,
        name,
        description,
        title: attrs.title.value(),
        mime_type: attrs.mime_type.value(),
        scopes,
        params,
        output,
    })
}

/// `read_only` and the other hints are for tools; `uri` and `mime_type`
/// are for resources.
fn refuse_tool_keys(kind: Kind, attrs: &Attrs, errors: &mut Errors) {
    let hints = [
        &attrs.read_only,
        &attrs.destructive,
        &attrs.idempotent,
        &attrs.open_world,
    ];
    for key in hints.iter().filter_map(|s| s.key()) {
        errors.push(
            key.span(),
            format!(
                "`{key}` is a hint for tools; a {} has no such hint",
                kind.noun
            ),
        );
    }
    if kind.attr == "prompt" {
        for key in [attrs.uri.key(), attrs.mime_type.key()]
            .into_iter()
            .flatten()
        {
            errors.push(
                key.span(),
                format!("`{key}` is a key of #[resource], not of #[prompt]"),
            );
        }
    }
}

/// The `uri` of a resource or template: required, and for a template made
/// only of simple `{name}` variables.
fn uri(kind: Kind, attrs: &Attrs, item: &ItemFn, errors: &mut Errors) -> Option<String> {
    if kind.attr == "prompt" {
        return None;
    }
    let Some(lit) = attrs.uri.value() else {
        let example = if kind.attr == "resource" {
            "todo://items"
        } else {
            "hr://employees/{id}"
        };
        errors.push(
            Span::call_site().resolved_at(item.sig.ident.span()),
            format!(
                "a {} needs its URI: #[{}(uri = \"{example}\", ...)]",
                kind.noun, kind.attr
            ),
        );
        return Some(String::new());
    };
    let uri = lit.value();
    let vars = variables(&uri);
    match (kind.attr, vars) {
        ("resource", Ok(v)) if !v.is_empty() => errors.push(
            lit.span(),
            "this URI has variables: declare it with #[resource_template(uri = \"...\")]",
        ),
        ("resource_template", Ok(v)) if v.is_empty() => errors.push(
            lit.span(),
            "this URI template has no `{variable}`: declare it with #[resource(uri = \"...\")]",
        ),
        (_, Err(why)) => errors.push(lit.span(), why),
        _ => {}
    }
    Some(uri)
}

/// The `{name}` variables of a URI template, in order.
fn variables(uri: &str) -> Result<Vec<&str>, String> {
    let mut vars = Vec::new();
    let mut rest = uri;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            return Err("unclosed `{` in the URI template".to_owned());
        };
        let name = &rest[open + 1..open + close];
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!(
                "`{{{name}}}`: only simple `{{name}}` variables (letters, digits, `_`) are supported"
            ));
        }
        vars.push(name);
        rest = &rest[open + close + 1..];
    }
    if rest.contains('}') {
        return Err("unmatched `}` in the URI template".to_owned());
    }
    Ok(vars)
}

/// A resource takes no arguments; a template's are its variables; a
/// prompt's are its arguments. All are strings.
fn check_params(kind: Kind, params: &[Param<'_>], uri: Option<&str>, errors: &mut Errors) {
    let vars = uri.and_then(|u| variables(u).ok()).unwrap_or_default();
    for param in params {
        let (ident, ty) = match param {
            Param::Injected { .. } => continue,
            Param::Args { inner } => {
                errors.push_spanned(
                    inner,
                    format!(
                        "a {} takes its arguments as `String` parameters, not `Args<T>`",
                        kind.noun
                    ),
                );
                continue;
            }
            Param::Property { ident, ty, .. } => (ident, *ty),
        };
        let name = ident.unraw().to_string();
        match kind.attr {
            "resource" => errors.push(
                ident.span(),
                format!(
                    "a resource takes no arguments, only injected parameters; \
                     for a URI with variables such as `{{{name}}}`, use #[resource_template]"
                ),
            ),
            "resource_template" if !vars.contains(&name.as_str()) => errors.push(
                ident.span(),
                format!(
                    "`{name}` is not a variable of `{}`",
                    uri.unwrap_or_default()
                ),
            ),
            _ => {}
        }
        let optional =
            is_named(ty, "Option") && type_args(ty).first().is_some_and(|t| is_named(t, "String"));
        if !is_named(ty, "String") && !optional {
            errors.push_spanned(
                ty,
                format!(
                    "a {}'s arguments are strings: take `{name}: String`{}",
                    kind.noun,
                    if kind.attr == "prompt" {
                        " (or `Option<String>` if optional)"
                    } else {
                        ""
                    }
                ),
            );
        }
    }
}

impl Out<'_> {
    fn is_prompt(&self) -> bool {
        match self {
            Out::Text | Out::Raw | Out::Messages => true,
            Out::Result { ok, .. } => ok.is_prompt(),
            Out::Blob | Out::Json(_) | Out::Optional(_) => false,
        }
    }
}

fn output<'a>(kind: Kind, ty: &'a Type) -> Out<'a> {
    let args = type_args(ty);
    let Some(seg) = last_segment(ty) else {
        return text_or_json(ty);
    };
    match seg.ident.to_string().as_str() {
        "Result" if matches!(args.len(), 1 | 2) => Out::Result {
            ok: Box::new(output(kind, args[0])),
            error_data: args
                .get(1)
                .is_some_and(|e| is_named(e, "ErrorData") || is_named(e, "McpError")),
        },
        "Option" if args.len() == 1 && kind.attr != "prompt" => {
            Out::Optional(Box::new(output(kind, args[0])))
        }
        "ReadResourceResult" | "GetPromptResult" => Out::Raw,
        "Vec" if args.len() == 1 && is_named(args[0], "u8") => Out::Blob,
        "Vec" if args.len() == 1 && is_named(args[0], "PromptMessage") => Out::Messages,
        _ => text_or_json(ty),
    }
}

fn text_or_json(ty: &Type) -> Out<'_> {
    let text = match ty {
        Type::Reference(r) => is_named(&r.elem, "str"),
        ty => is_named(ty, "String") && type_args(ty).is_empty(),
    };
    if text { Out::Text } else { Out::Json(ty) }
}

pub(crate) fn expand(it: &Item<'_>) -> TokenStream {
    let item = it.item;
    let rt = &it.krate;
    let p = quote!(#rt::__private);
    let rule = crate::expand::rule_tokens(&p, &it.scopes);
    let states = crate::expand::state_keys(&p, &it.params);
    let cfgs: Vec<_> = item
        .attrs
        .iter()
        .filter(|a| a.path().is_ident("cfg"))
        .collect();
    let (def, registration, variant) = definition(it, &p, rule, states);
    let run = run(it, &p);
    let ident = &item.sig.ident;
    let handle = crate::expand::handle_struct(&quote!(#(#cfgs)*), &item.vis, ident);
    quote! {
        #item

        #handle

        #(#cfgs)*
        #[allow(deprecated)]
        const _: () = {
            #run
            const __MCP_DEF: #def;
            impl #p::ItemHandle for #ident {
                const ITEM: #p::DeclaredItem = #p::DeclaredItem::#variant(__MCP_DEF);
            }
            #p::inventory::submit! { #registration(__MCP_DEF) }
        };
    }
}

fn opt(value: Option<impl quote::ToTokens>) -> TokenStream {
    match value {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    }
}

/// The definition's type and value, its registration type and its
/// `DeclaredItem` variant.
fn definition(
    it: &Item<'_>,
    p: &TokenStream,
    rule: TokenStream,
    states: TokenStream,
) -> (TokenStream, TokenStream, TokenStream) {
    let name = &it.name;
    let description = &it.description;
    let title = opt(it.title);
    let location = quote!(::core::concat!(::core::file!(), ":", ::core::line!()));
    if let Some(uri) = &it.uri {
        let mime = opt(it.mime_type);
        let describe = if it.kind.attr == "resource" {
            quote!(describe_resource)
        } else {
            quote!(describe_template)
        };
        let def = quote! {
            &'static #p::ResourceDef = &#p::ResourceDef {
                uri: #uri,
                scopes: #rule,
                describe: || #p::#describe(#uri, #name, #title, ::core::option::Option::Some(#description), #mime),
                read: __mcp_run,
                states: #states,
                location: #location,
            }
        };
        return (def, quote!(#p::ResourceRegistration), quote!(Resource));
    }
    let arguments = it.params.iter().filter_map(|param| match param {
        Param::Property { ident, ty, doc } => {
            let arg = ident.unraw().to_string();
            let doc = opt(doc.as_ref());
            let required = !is_named(ty, "Option");
            Some(quote!(#p::prompt_argument(#arg, #doc, #required)))
        }
        _ => None,
    });
    let def = quote! {
        &'static #p::PromptDef = &#p::PromptDef {
            name: #name,
            scopes: #rule,
            describe: || #p::describe_prompt(#name, #title, ::core::option::Option::Some(#description), ::std::vec![#(#arguments),*]),
            get: __mcp_run,
            states: #states,
            location: #location,
        }
    };
    (def, quote!(#p::PromptRegistration), quote!(Prompt))
}

/// The function that unpacks a request, calls the user's function and
/// converts what it returns.
fn run(it: &Item<'_>, p: &TokenStream) -> TokenStream {
    let noun = it.kind.noun;
    let sig = &it.item.sig;
    let locals: Vec<Ident> = (0..it.params.len())
        .map(|i| format_ident!("__mcp_p{i}"))
        .collect();
    let mut fields = Vec::new();
    let mut field_names = Vec::new();
    let mut injected = Vec::new();
    for (param, local) in it.params.iter().zip(&locals) {
        match param {
            Param::Property { ident, ty, .. } => {
                let field = format_ident!("{}", ident.unraw());
                fields.push(quote!(#field: #ty));
                field_names.push(quote!(#field: #local));
            }
            Param::Injected { ty, .. } => injected.push(quote_spanned! {ty.span()=>
                let #local = #p::inject_into::<#ty>(&__mcp_cx, #noun)?;
            }),
            Param::Args { .. } => {}
        }
    }
    let serde = LitStr::new(
        &format!("{}::__private::serde", it.krate),
        Span::call_site(),
    );
    let unpack = (!fields.is_empty()).then(|| {
        quote! {
            #[derive(#p::serde::Deserialize)]
            #[serde(crate = #serde)]
            struct __McpArgs { #(#fields),* }
            let __McpArgs { #(#field_names),* } = #p::item_arguments::<__McpArgs>(&mut __mcp_cx, #noun)?;
        }
    });
    let ident = &sig.ident;
    let await_ = sig.asyncness.map(|a| quote_spanned!(a.span()=> .await));
    let (request, result, convert) = if it.uri.is_some() {
        let convert = convert_resource(p, &it.output, quote!(__mcp_out), &opt(it.mime_type));
        (
            quote!(ReadResourceRequestParams),
            quote!(ReadResourceResult),
            convert,
        )
    } else {
        let convert = convert_prompt(p, &it.output, quote!(__mcp_out));
        (
            quote!(GetPromptRequestParams),
            quote!(GetPromptResult),
            convert,
        )
    };
    let future = sig.asyncness.map_or_else(Span::call_site, |a| a.span());
    let body = quote_spanned! {future=>
        ::std::boxed::Box::pin(async move {
            #unpack
            #(#injected)*
            let __mcp_out = #ident(#(#locals),*) #await_;
            #convert
        })
    };
    quote! {
        #[allow(unused_variables, unused_mut)]
        fn __mcp_run(
            __mcp_request: #p::rmcp::model::#request,
            mut __mcp_cx: #p::CallContext,
        ) -> #p::BoxFuture<'static, ::core::result::Result<#p::rmcp::model::#result, #p::ErrorData>> {
            #body
        }
    }
}

fn convert_resource(
    p: &TokenStream,
    out: &Out<'_>,
    v: TokenStream,
    mime: &TokenStream,
) -> TokenStream {
    let ok = quote!(::core::result::Result::Ok);
    let uri = quote!(__mcp_request.uri);
    match out {
        Out::Text => quote!(#ok(#p::text_contents(#uri, #mime, #v))),
        Out::Blob => quote!(#ok(#p::blob_contents(#uri, #mime, #v))),
        Out::Raw => quote!(#ok(#p::raw_contents(#v))),
        Out::Messages | Out::Json(_) => {
            let span = match out {
                Out::Json(ty) => ty.span(),
                _ => Span::call_site(),
            };
            quote_spanned!(span=> #p::json_contents(#uri, #mime, &#v))
        }
        Out::Optional(inner) => {
            let some = convert_resource(p, inner, quote!(__mcp_some), mime);
            quote! {
                match #v {
                    ::core::option::Option::Some(__mcp_some) => #some,
                    ::core::option::Option::None => ::core::result::Result::Err(#p::resource_missing(&#uri)),
                }
            }
        }
        Out::Result {
            ok: inner,
            error_data,
        } => {
            let value = convert_resource(p, inner, quote!(__mcp_ok), mime);
            result_match(p, v, value, *error_data)
        }
    }
}

fn convert_prompt(p: &TokenStream, out: &Out<'_>, v: TokenStream) -> TokenStream {
    let ok = quote!(::core::result::Result::Ok);
    match out {
        Out::Text => quote!(#ok(#p::prompt_text(#v))),
        Out::Messages => quote!(#ok(#p::prompt_messages(#v))),
        Out::Raw => quote!(#ok(#p::prompt_raw(#v))),
        Out::Result {
            ok: inner,
            error_data,
        } => {
            let value = convert_prompt(p, inner, quote!(__mcp_ok));
            result_match(p, v, value, *error_data)
        }
        // Refused by `check`.
        Out::Blob | Out::Json(_) | Out::Optional(_) => TokenStream::new(),
    }
}

fn result_match(
    p: &TokenStream,
    v: TokenStream,
    value: TokenStream,
    error_data: bool,
) -> TokenStream {
    let error = if error_data {
        quote!(#p::item_error_data(__mcp_err))
    } else {
        quote!(#p::item_error(__mcp_err))
    };
    quote! {
        match #v {
            ::core::result::Result::Ok(__mcp_ok) => #value,
            ::core::result::Result::Err(__mcp_err) => ::core::result::Result::Err(#error),
        }
    }
}
