//! Checking the function and the attribute, and reading what the generated
//! code needs from them.
//!
//! Everything is decided here, syntactically: `expand` only prints.

use std::collections::BTreeSet;

use proc_macro2::Span;
use quote::ToTokens;
use syn::{
    FnArg, GenericArgument, Ident, ItemFn, LitStr, Pat, PathArguments, ReturnType, Type,
    ext::IdentExt, spanned::Spanned, visit::Visit,
};

use crate::{
    attr::{Attrs, Rule, ScopeValue},
    docs::Docs,
};

/// A tool, ready to expand.
pub(crate) struct Tool<'a> {
    pub(crate) item: &'a ItemFn,
    /// The runtime crate: `::mcp_runtime` unless `crate = ...` says otherwise.
    pub(crate) krate: proc_macro2::TokenStream,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) title: Option<&'a LitStr>,
    /// `read_only`, `destructive`, `idempotent`, `open_world`; `None` if no flag is given.
    pub(crate) annotations: Option<[Option<bool>; 4]>,
    pub(crate) scopes: ScopeRule<'a>,
    pub(crate) params: Vec<Param<'a>>,
    pub(crate) output: Output<'a>,
}

pub(crate) enum ScopeRule<'a> {
    Public,
    All(&'a [ScopeValue]),
    Any(&'a [ScopeValue]),
}

pub(crate) enum Param<'a> {
    /// Filled in by the server: `AccessToken`, `Option<AccessToken>`, `State<T>`, `ToolContext`,
    /// `ResourceUpdates`.
    Injected {
        ty: &'a Type,
        /// `T` of `State<T>`.
        state: Option<&'a Type>,
    },
    /// `Args<T>`: the whole argument object.
    Args { inner: &'a Type },
    /// One property of the argument object.
    Property {
        ident: Ident,
        ty: &'a Type,
        doc: Option<String>,
    },
}

/// How a return value becomes a `CallToolResult`.
pub(crate) enum Output<'a> {
    Unit(Span),
    Text(Span),
    Raw(Span),
    Structured(&'a Type),
    /// `Result<T, E>`: `T` converted as its own output, `E` by `Display`.
    Result {
        ok: Box<Output<'a>>,
        /// `E`, or the whole type for a one-argument alias.
        err: &'a Type,
    },
    /// rmcp's own `Result<CallToolResult, ErrorData>`, returned as is.
    Passthrough,
}

/// What an attribute declares, for its error messages.
#[derive(Clone, Copy)]
pub(crate) struct Kind {
    /// `tool`, `resource`, `resource template`, `prompt`.
    pub(crate) noun: &'static str,
    /// The attribute's name: `tool`, `resource`, `resource_template`, `prompt`.
    pub(crate) attr: &'static str,
}

impl Kind {
    /// What a caller does with it.
    pub(crate) fn verb(self) -> &'static str {
        if self.attr == "tool" { "call" } else { "use" }
    }
}

pub(crate) const TOOL: Kind = Kind {
    noun: "tool",
    attr: "tool",
};

/// Accumulates independent errors, so each mistake is reported once.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    pub(crate) fn add(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    pub(crate) fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        self.add(syn::Error::new(span, message));
    }

    /// Spanned on all of `tokens`, not only their first token.
    pub(crate) fn push_spanned(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.add(syn::Error::new_spanned(tokens, message));
    }

    pub(crate) fn finish<T>(self, value: T) -> syn::Result<T> {
        match self.0 {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }
}

pub(crate) fn check<'a>(attrs: &'a Attrs, item: &'a ItemFn) -> syn::Result<Tool<'a>> {
    let mut errors = Errors::default();
    check_signature(item, TOOL, &mut errors);
    for key in [attrs.uri.key(), attrs.mime_type.key()]
        .into_iter()
        .flatten()
    {
        errors.push(
            key.span(),
            format!("`{key}` is a key of #[resource] and #[resource_template], not of #[tool]"),
        );
    }
    let name = tool_name(attrs, item, &mut errors);
    let scopes = scope_rule(attrs, item, TOOL, &mut errors);
    let params = params(item, TOOL, &mut errors);
    let docs = Docs::read(&item.attrs);
    let params = params.map(|p| apply_argument_docs(p, &docs, item, &mut errors));

    let description = description(attrs, &docs, item, TOOL, &mut errors);
    let output = return_output(item, &mut errors);
    let krate = attrs.krate();
    let annotations = [
        &attrs.read_only,
        &attrs.destructive,
        &attrs.idempotent,
        &attrs.open_world,
    ]
    .map(|slot| slot.value().map(|b| b.value));
    let annotations = annotations
        .iter()
        .any(Option::is_some)
        .then_some(annotations);

    errors.finish(Tool {
        item,
        krate,
        name,
        description,
        title: attrs.title.value(),
        annotations,
        scopes,
        params: params.unwrap_or_default(),
        output,
    })
}

/// Mistakes in the signature itself: a second `#[tool]`, `unsafe`,
/// variadics, generics.
pub(crate) fn check_signature(item: &ItemFn, kind: Kind, errors: &mut Errors) {
    let sig = &item.sig;
    let noun = kind.noun;
    for attr in &item.attrs {
        if attr
            .path()
            .segments
            .last()
            .is_some_and(|s| s.ident == kind.attr)
        {
            errors.push_spanned(attr, format!("#[{}] is given twice: keep one", kind.attr));
        }
    }
    if let Some(unsafety) = &sig.unsafety {
        errors.push(
            unsafety.span(),
            format!("a {noun} cannot be an `unsafe fn`"),
        );
    }
    if let Some(variadic) = &sig.variadic {
        errors.push_spanned(variadic, format!("a {noun} cannot be variadic"));
    }
    if !sig.generics.params.is_empty() {
        errors.push_spanned(
            &sig.generics,
            format!("a {noun} cannot be generic: name concrete types for its parameters"),
        );
    } else if let Some(where_clause) = &sig.generics.where_clause {
        errors.push_spanned(where_clause, format!("a {noun} cannot have a where clause"));
    }
}

/// The tool's name: `name = "..."` (checked), else the function's.
fn tool_name(attrs: &Attrs, item: &ItemFn, errors: &mut Errors) -> String {
    let sig = &item.sig;
    match attrs.name.value() {
        Some(lit) => {
            let name = lit.value();
            if !is_tool_name(&name) {
                errors.push(
                    lit.span(),
                    "tool name must be 1 to 128 characters among A-Z, a-z, 0-9, `_`, `-` and `.`, \
                     e.g. #[tool(name = \"create_todo\")]",
                );
            }
            name
        }
        None => sig.ident.unraw().to_string(),
    }
}

/// The description: `description = "..."`, else the doc comment; one is required.
pub(crate) fn description(
    attrs: &Attrs,
    docs: &Docs,
    item: &ItemFn,
    kind: Kind,
    errors: &mut Errors,
) -> String {
    let sig = &item.sig;
    let description = match attrs.description.value() {
        Some(lit) => {
            let text = lit.value().trim().to_owned();
            if text.is_empty() {
                errors.push(lit.span(), "description must not be empty");
            }
            text
        }
        None => docs.description.clone(),
    };
    if description.is_empty() && attrs.description.value().is_none() {
        errors.push(
            sig.ident.span(),
            format!(
                "a {} needs a description: add a doc comment or #[{}(description = \"...\")]",
                kind.noun, kind.attr
            ),
        );
    }
    description
}

/// What the function returns; `impl Trait` is refused.
fn return_output<'a>(item: &'a ItemFn, errors: &mut Errors) -> Output<'a> {
    let sig = &item.sig;
    match &sig.output {
        ReturnType::Default => Output::Unit(sig.ident.span()),
        ReturnType::Type(_, ty) => {
            if let Some(tokens) = ImplTrait::find(ty) {
                errors.push_spanned(
                    tokens,
                    "a tool must return a concrete type, not `impl Trait`, \
                     so that its output schema can be named",
                );
            }
            output(ty)
        }
    }
}

/// MCP's tool-name rule (2025-11-25): 1 to 128 of `[A-Za-z0-9_.-]`.
fn is_tool_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// The tool's rule. Fail closed: a tool that names none is refused, so that
/// an open tool is always one someone chose to open.
pub(crate) fn scope_rule<'a>(
    attrs: &'a Attrs,
    item: &ItemFn,
    kind: Kind,
    errors: &mut Errors,
) -> ScopeRule<'a> {
    let (key, scopes) = match (attrs.rule.key(), attrs.rule.value()) {
        (Some(key), Some(Rule::Scopes(scopes))) => (key, scopes),
        (_, Some(Rule::Public)) => return ScopeRule::Public,
        _ => {
            // On the whole `#[tool(...)]`, where the fix goes; resolved at
            // the user's code so that rustc does not add "this error
            // originates in the attribute macro".
            errors.push(
                Span::call_site().resolved_at(item.sig.ident.span()),
                format!(
                    "this {} has no scope rule: add `scope = \"...\"` to require a scope, \
                     or `public` to let any caller the server admits {} it",
                    kind.noun,
                    kind.verb()
                ),
            );
            return ScopeRule::Public;
        }
    };
    if scopes.list.is_empty() {
        errors.push(
            scopes.span,
            format!(
                "`{key}` must name at least one scope; \
                 write `public` instead to let any caller the server admits {} the {}",
                kind.verb(),
                kind.noun
            ),
        );
    }
    let mut seen = BTreeSet::new();
    for value in &scopes.list {
        // A constant's value is checked when the server is built; only its
        // path can be compared here.
        let scope = match value {
            ScopeValue::Literal(lit) => lit.value(),
            ScopeValue::Path(path) => path.to_token_stream().to_string().replace(' ', ""),
        };
        if let ScopeValue::Literal(_) = value
            && let Some(problem) = scope_token_problem(&scope)
        {
            errors.push(value.span(), problem);
        } else if !seen.insert(scope.clone()) {
            errors.push(
                value.span(),
                format!("duplicate scope `{scope}`: give it once"),
            );
        }
    }
    if scopes.any {
        ScopeRule::Any(&scopes.list)
    } else {
        ScopeRule::All(&scopes.list)
    }
}

/// What is wrong with `s` as an RFC 6749 scope token
/// (`1*( %x21 / %x23-5B / %x5D-7E )`), if anything.
fn scope_token_problem(s: &str) -> Option<&'static str> {
    let ok = |b: u8| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b);
    if s.is_empty() {
        Some("scope must not be empty, e.g. #[tool(scope = \"todo:write\")]")
    } else if s.contains(' ') {
        Some(
            "scope must be one RFC 6749 scope token, without spaces; \
             require several with #[tool(scopes = [\"todo:read\", \"todo:write\"])]",
        )
    } else if !s.bytes().all(ok) {
        Some(
            "scope must be one RFC 6749 scope token (printable ASCII except space, `\"` and `\\`), \
             e.g. #[tool(scope = \"todo:write\")]",
        )
    } else {
        None
    }
}

/// The last path segment of a type, looking through invisible groups and parentheses.
pub(crate) fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        Type::Group(g) => last_segment(&g.elem),
        Type::Paren(p) => last_segment(&p.elem),
        _ => None,
    }
}

pub(crate) fn is_named(ty: &Type, name: &str) -> bool {
    last_segment(ty).is_some_and(|s| s.ident == name)
}

/// The type arguments of a type's last segment: `[T, E]` for `Result<T, E>`.
pub(crate) fn type_args(ty: &Type) -> Vec<&Type> {
    let Some(seg) = last_segment(ty) else {
        return Vec::new();
    };
    match &seg.arguments {
        PathArguments::AngleBracketed(args) => args
            .args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

pub(crate) fn params<'a>(
    item: &'a ItemFn,
    kind: Kind,
    errors: &mut Errors,
) -> Option<Vec<Param<'a>>> {
    let mut out = Vec::new();
    let mut ok = true;
    let mut args: Option<&Type> = None;
    let mut first_property: Option<&Ident> = None;
    for input in &item.sig.inputs {
        let Some(typed) = typed_input(input, kind, errors, &mut ok) else {
            continue;
        };
        match one_param(typed, errors) {
            None => ok = false,
            Some(Param::Args { .. }) if args.is_some() => {
                errors.push_spanned(
                    &*typed.ty,
                    "a tool takes at most one `Args<T>`: it holds the whole argument object",
                );
                ok = false;
            }
            Some(param) => {
                match &param {
                    Param::Args { .. } => args = Some(&*typed.ty),
                    Param::Property { .. } => {
                        if let Pat::Ident(p) = &*typed.pat {
                            first_property.get_or_insert(&p.ident);
                        }
                    }
                    Param::Injected { .. } => {}
                }
                out.push(param);
            }
        }
    }
    if let (Some(args), Some(property)) = (args, first_property) {
        errors.push_spanned(
            args,
            format!(
                "`Args<T>` holds the whole argument object, so it cannot be combined with \
                 argument parameters such as `{}`: make them fields of `T`",
                property.unraw()
            ),
        );
        ok = false;
    }
    ok.then_some(out)
}

/// The typed parameter `input` is; `None` for `self` (an error). A
/// conditional parameter is an error too, but is still read.
fn typed_input<'a>(
    input: &'a FnArg,
    kind: Kind,
    errors: &mut Errors,
    ok: &mut bool,
) -> Option<&'a syn::PatType> {
    let typed = match input {
        FnArg::Receiver(receiver) => {
            errors.push_spanned(
                receiver,
                format!(
                    "a {} must be a free function; use State<T> for shared data",
                    kind.noun
                ),
            );
            *ok = false;
            return None;
        }
        FnArg::Typed(typed) => typed,
    };
    for attr in &typed.attrs {
        if attr.path().is_ident("cfg") || attr.path().is_ident("cfg_attr") {
            errors.push_spanned(
                attr,
                format!("{} parameters cannot be conditional", kind.noun),
            );
            *ok = false;
        }
    }
    Some(typed)
}

/// What one parameter is, by its type; `None` (an error pushed) for a
/// type or pattern that cannot be a parameter.
fn one_param<'a>(typed: &'a syn::PatType, errors: &mut Errors) -> Option<Param<'a>> {
    let ty = &*typed.ty;
    if let Some((tokens, message)) = Borrowed::find(ty) {
        errors.push_spanned(tokens, message);
        return None;
    }
    if let Some(kind) = injected(ty) {
        return Some(kind);
    }
    if is_named(ty, "Args") {
        let Some(inner) = type_args(ty).first().copied() else {
            errors.push_spanned(ty, "name the argument type, e.g. `Args<CreateTodo>`");
            return None;
        };
        return Some(Param::Args { inner });
    }
    match &*typed.pat {
        Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => Some(Param::Property {
            ident: p.ident.clone(),
            ty,
            doc: None,
        }),
        pat => {
            errors.push_spanned(
                pat,
                "unsupported parameter pattern: name the parameter, e.g. `title: String`",
            );
            None
        }
    }
}

/// An injected parameter, recognised by the last segment of its type.
fn injected(ty: &Type) -> Option<Param<'_>> {
    let seg = last_segment(ty)?;
    let args = type_args(ty);
    let injected = match seg.ident.to_string().as_str() {
        "AccessToken" | "ToolContext" | "ResourceUpdates" => true,
        "Option" => args.len() == 1 && is_named(args[0], "AccessToken"),
        "State" => {
            return Some(Param::Injected {
                ty,
                state: args.first().copied(),
            });
        }
        _ => false,
    };
    injected.then_some(Param::Injected { ty, state: None })
}

/// Finds a borrowed or `impl Trait` part of a parameter type.
#[derive(Default)]
struct Borrowed(Option<(proc_macro2::TokenStream, &'static str)>);

impl Borrowed {
    fn find(ty: &Type) -> Option<(proc_macro2::TokenStream, &'static str)> {
        let mut v = Borrowed::default();
        v.visit_type(ty);
        v.0
    }
}

impl<'ast> Visit<'ast> for Borrowed {
    fn visit_type(&mut self, ty: &'ast Type) {
        if self.0.is_some() {
            return;
        }
        match ty {
            Type::Reference(_) => {
                self.0 = Some((
                    ty.to_token_stream(),
                    "parameters must be owned types, e.g. String instead of &str",
                ));
            }
            Type::ImplTrait(_) => {
                self.0 = Some((
                    ty.to_token_stream(),
                    "parameters cannot be `impl Trait`: name a type, e.g. `title: String`",
                ));
            }
            _ => syn::visit::visit_type(self, ty),
        }
    }

    fn visit_lifetime(&mut self, lifetime: &'ast syn::Lifetime) {
        if self.0.is_none() && lifetime.ident != "static" {
            self.0 = Some((
                lifetime.to_token_stream(),
                "parameters must be owned types, e.g. String instead of &str",
            ));
        }
    }
}

/// Finds `impl Trait` in a return type.
#[derive(Default)]
struct ImplTrait(Option<proc_macro2::TokenStream>);

impl ImplTrait {
    fn find(ty: &Type) -> Option<proc_macro2::TokenStream> {
        let mut v = ImplTrait::default();
        v.visit_type(ty);
        v.0
    }
}

impl<'ast> Visit<'ast> for ImplTrait {
    fn visit_type_impl_trait(&mut self, t: &'ast syn::TypeImplTrait) {
        self.0.get_or_insert(t.to_token_stream());
    }
}

fn output(ty: &Type) -> Output<'_> {
    if let Some(seg) = last_segment(ty)
        && seg.ident == "Result"
    {
        let args = type_args(ty);
        // A one-argument `Result<T>` is an alias such as `anyhow::Result<T>`.
        if matches!(args.len(), 1 | 2) {
            let passthrough = args.len() == 2
                && is_named(args[0], "CallToolResult")
                && (is_named(args[1], "ErrorData") || is_named(args[1], "McpError"));
            if passthrough {
                return Output::Passthrough;
            }
            return Output::Result {
                ok: Box::new(plain_output(args[0])),
                err: args.get(1).copied().unwrap_or(ty),
            };
        }
    }
    plain_output(ty)
}

/// A return type, or the `T` of `Result<T, E>`.
fn plain_output(ty: &Type) -> Output<'_> {
    if let Type::Tuple(t) = ty
        && t.elems.is_empty()
    {
        return Output::Unit(ty.span());
    }
    if let Type::Reference(r) = ty
        && r.mutability.is_none()
        && is_named(&r.elem, "str")
    {
        return Output::Text(ty.span());
    }
    let Some(seg) = last_segment(ty) else {
        return Output::Structured(ty);
    };
    let args = type_args(ty);
    if seg.ident == "String" && args.is_empty() {
        return Output::Text(ty.span());
    }
    if seg.ident == "Cow" && args.len() == 1 && is_named(args[0], "str") {
        return Output::Text(ty.span());
    }
    if seg.ident == "CallToolResult" && args.is_empty() {
        return Output::Raw(ty.span());
    }
    Output::Structured(ty)
}

/// Gives each property its `# Arguments` text; a name that is no parameter is an error.
pub(crate) fn apply_argument_docs<'a>(
    mut params: Vec<Param<'a>>,
    docs: &Docs,
    item: &ItemFn,
    errors: &mut Errors,
) -> Vec<Param<'a>> {
    let bound = BoundNames::of(item);
    let has_args = params.iter().any(|p| matches!(p, Param::Args { .. }));
    for (name, text, span) in &docs.arguments {
        let name = name.strip_prefix("r#").unwrap_or(name);
        let property = params.iter_mut().find_map(|p| match p {
            Param::Property { ident, doc, .. } if ident.unraw() == name => Some(doc),
            _ => None,
        });
        match property {
            Some(doc) => *doc = Some(text.clone()).filter(|t| !t.is_empty()),
            None if bound.contains(name) => {}
            None if has_args => errors.push(
                *span,
                format!(
                    "`# Arguments` names `{name}`, which is not a parameter of `{}`: \
                     with `Args<T>`, document the fields of `T` instead",
                    item.sig.ident.unraw()
                ),
            ),
            None => errors.push(
                *span,
                format!(
                    "`# Arguments` names `{name}`, which is not a parameter of `{}`",
                    item.sig.ident.unraw()
                ),
            ),
        }
    }
    params
}

/// Every name the parameters' patterns bind (`store` in `State(store): State<Store>`).
#[derive(Default)]
struct BoundNames(BTreeSet<String>);

impl BoundNames {
    fn of(item: &ItemFn) -> BTreeSet<String> {
        let mut v = BoundNames::default();
        for input in &item.sig.inputs {
            if let FnArg::Typed(t) = input {
                v.visit_pat(&t.pat);
            }
        }
        v.0
    }
}

impl<'ast> Visit<'ast> for BoundNames {
    fn visit_pat_ident(&mut self, p: &'ast syn::PatIdent) {
        self.0.insert(p.ident.unraw().to_string());
        syn::visit::visit_pat_ident(self, p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_tokens() {
        for ok in ["todo:write", "a", "x.y/z", "!#[]~"] {
            assert_eq!(scope_token_problem(ok), None, "{ok}");
        }
        for bad in ["", "a b", "a\"b", "a\\b", "é", "a\tb"] {
            assert!(scope_token_problem(bad).is_some(), "{bad}");
        }
    }

    fn shape(ty: Type) -> &'static str {
        fn name(o: &Output<'_>) -> &'static str {
            match o {
                Output::Unit(_) => "unit",
                Output::Text(_) => "text",
                Output::Raw(_) => "raw",
                Output::Structured(_) => "structured",
                Output::Passthrough => "passthrough",
                Output::Result { ok, .. } => match name(ok) {
                    "unit" => "result(unit)",
                    "text" => "result(text)",
                    "raw" => "result(raw)",
                    _ => "result(structured)",
                },
            }
        }
        name(&output(&ty))
    }

    #[test]
    fn return_types_are_classified_by_name() {
        use syn::parse_quote as q;
        assert_eq!(shape(q!(())), "unit");
        assert_eq!(shape(q!(String)), "text");
        assert_eq!(shape(q!(std::string::String)), "text");
        assert_eq!(shape(q!(&'static str)), "text");
        assert_eq!(shape(q!(Cow<'static, str>)), "text");
        assert_eq!(shape(q!(Cow<'static, [u8]>)), "structured");
        assert_eq!(shape(q!(CallToolResult)), "raw");
        assert_eq!(shape(q!(Vec<Todo>)), "structured");
        assert_eq!(shape(q!(Result<Todo, E>)), "result(structured)");
        assert_eq!(shape(q!(anyhow::Result<String>)), "result(text)");
        assert_eq!(shape(q!(Result<(), E>)), "result(unit)");
        assert_eq!(shape(q!(Result<CallToolResult, MyError>)), "result(raw)");
        assert_eq!(
            shape(q!(Result<CallToolResult, rmcp::ErrorData>)),
            "passthrough"
        );
        assert_eq!(shape(q!(Result<CallToolResult, McpError>)), "passthrough");
    }

    #[test]
    fn injected_parameters_are_recognised_by_name() {
        use syn::parse_quote as q;
        let is_injected = |ty: Type| matches!(injected(&ty), Some(Param::Injected { .. }));
        assert!(is_injected(q!(AccessToken)));
        assert!(is_injected(q!(mcp_runtime::AccessToken)));
        assert!(is_injected(q!(Option<AccessToken>)));
        assert!(is_injected(q!(State<Store>)));
        assert!(is_injected(q!(ToolContext)));
        assert!(is_injected(q!(ResourceUpdates)));
        assert!(!is_injected(q!(Option<String>)));
        assert!(!is_injected(q!(Args<T>)));
        assert!(!is_injected(q!(String)));
    }
}
