//! Parsing `#[tool(...)]`.
//!
//! By hand rather than with a derive: the attribute is small, and hand-written
//! parsing lets every error name the key and show the fix.

use proc_macro2::Span;
use quote::{ToTokens, quote};
use syn::{
    ExprPath, Ident, LitBool, LitStr, Path, Token, bracketed,
    ext::IdentExt,
    parse::{Parse, ParseStream},
    spanned::Spanned,
};

const KEYS: [&str; 14] = [
    "`uri`",
    "`mime_type`",
    "`name`",
    "`title`",
    "`description`",
    "`read_only`",
    "`destructive`",
    "`idempotent`",
    "`open_world`",
    "`scope`",
    "`scopes`",
    "`any_scope`",
    "`public`",
    "`crate`",
];

/// The known key a typo most likely meant: at most two edits away, or the
/// same but for case and `_`/`-` (`readOnly`, `read-only`).
fn suggestion(unknown: &str) -> Option<&'static str> {
    let squash = |s: &str| s.to_lowercase().replace(['_', '-'], "");
    KEYS.iter()
        .map(|k| k.trim_matches('`'))
        .map(|k| {
            let d = if squash(k) == squash(unknown) {
                0
            } else {
                edit_distance(k, unknown)
            };
            (d, k)
        })
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Levenshtein distance.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

/// Everything `#[tool(...)]` may say; each key at most once.
#[derive(Default)]
pub(crate) struct Attrs {
    /// `#[resource]` and `#[resource_template]` only.
    pub(crate) uri: Slot<LitStr>,
    pub(crate) mime_type: Slot<LitStr>,
    pub(crate) name: Slot<LitStr>,
    pub(crate) title: Slot<LitStr>,
    pub(crate) description: Slot<LitStr>,
    pub(crate) read_only: Slot<LitBool>,
    pub(crate) destructive: Slot<LitBool>,
    pub(crate) idempotent: Slot<LitBool>,
    pub(crate) open_world: Slot<LitBool>,
    /// `public`, `scope`, `scopes` and `any_scope` share one slot: a tool
    /// has one rule.
    pub(crate) rule: Slot<Rule>,
    pub(crate) krate: Slot<Path>,
}

impl Attrs {
    /// The runtime crate: `::mcp_runtime` unless `crate = ...` says otherwise.
    pub(crate) fn krate(&self) -> proc_macro2::TokenStream {
        match self.krate.value() {
            Some(path) => path.to_token_stream(),
            None => quote!(::mcp_runtime),
        }
    }
}

/// A value set at most once, with the key that set it (for error spans).
///
/// The one place that rejects a repeated key, so no key can forget to.
pub(crate) struct Slot<T>(Option<(Ident, T)>);

impl<T> Default for Slot<T> {
    fn default() -> Self {
        Self(None)
    }
}

impl<T> Slot<T> {
    fn set(&mut self, key: Ident, value: T) -> syn::Result<()> {
        match &self.0 {
            None => {
                self.0 = Some((key, value));
                Ok(())
            }
            Some((first, _)) if *first == key => Err(syn::Error::new(
                key.span(),
                format!("duplicate key `{key}`: give it once"),
            )),
            Some((first, _)) => Err(syn::Error::new(
                key.span(),
                format!(
                    "`{key}` cannot be combined with `{first}`: each item has one rule, \
                     so give one of `public`, `scope`, `scopes` or `any_scope`"
                ),
            )),
        }
    }

    pub(crate) fn value(&self) -> Option<&T> {
        self.0.as_ref().map(|(_, v)| v)
    }

    pub(crate) fn key(&self) -> Option<&Ident> {
        self.0.as_ref().map(|(k, _)| k)
    }
}

/// Who may call a tool, as written.
pub(crate) enum Rule {
    /// `public`: any caller the server admits.
    Public,
    /// `scope`, `scopes` or `any_scope`.
    Scopes(Scopes),
}

/// The scopes a tool requires, as written.
pub(crate) struct Scopes {
    pub(crate) any: bool,
    pub(crate) list: Vec<ScopeValue>,
    /// The brackets of a list, or the value of `scope = ...`.
    pub(crate) span: Span,
}

/// One scope as written: a string literal, checked here, or the path of a
/// `&str` constant (`TODO_WRITE`, `crate::scopes::TODO_WRITE`), left to the
/// compiler to resolve and to the server to check when it is built.
pub(crate) enum ScopeValue {
    Literal(LitStr),
    Path(ExprPath),
}

impl ScopeValue {
    /// `example` shows the expected form in the error for anything else.
    fn parse(input: ParseStream<'_>, example: &str) -> syn::Result<Self> {
        if input.peek(LitStr) {
            return input.parse().map(ScopeValue::Literal);
        }
        let expected = |span| {
            syn::Error::new(
                span,
                format!(
                    "expected a scope: a string literal or the path of a `&str` constant, \
                     e.g. {example}"
                ),
            )
        };
        if input.peek(syn::Lit) {
            return Err(expected(input.span()));
        }
        input
            .parse::<ExprPath>()
            .map(ScopeValue::Path)
            .map_err(|e| expected(e.span()))
    }

    pub(crate) fn span(&self) -> Span {
        match self {
            ScopeValue::Literal(lit) => lit.span(),
            ScopeValue::Path(path) => path.span(),
        }
    }
}

impl ToTokens for ScopeValue {
    fn to_tokens(&self, tokens: &mut proc_macro2::TokenStream) {
        match self {
            ScopeValue::Literal(lit) => lit.to_tokens(tokens),
            ScopeValue::Path(path) => path.to_tokens(tokens),
        }
    }
}

impl Parse for Attrs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut attrs = Attrs::default();
        while !input.is_empty() {
            // `parse_any` so that `crate` is accepted as a key.
            let key = input.call(Ident::parse_any)?;
            attrs.key(key, input)?;
            if input.is_empty() {
                break;
            }
            if !input.peek(Token![,]) {
                return Err(syn::Error::new(
                    input.span(),
                    "expected `,` between keys, e.g. #[tool(scope = \"todo:write\", read_only)]",
                ));
            }
            input.parse::<Token![,]>()?;
        }
        Ok(attrs)
    }
}

impl Attrs {
    /// One `key` and its value.
    fn key(&mut self, key: Ident, input: ParseStream<'_>) -> syn::Result<()> {
        match key.to_string().as_str() {
            "uri" => {
                let v = string(input, &key, "hr://employees/{id}")?;
                self.uri.set(key, v)
            }
            "mime_type" => {
                let v = string(input, &key, "application/json")?;
                self.mime_type.set(key, v)
            }
            "name" => {
                let v = string(input, &key, "create_todo")?;
                self.name.set(key, v)
            }
            "title" => {
                let v = string(input, &key, "Create a todo")?;
                self.title.set(key, v)
            }
            "description" => {
                let v = string(input, &key, "Add a todo item for the caller.")?;
                self.description.set(key, v)
            }
            "read_only" => flag(input, key, &mut self.read_only),
            "destructive" => flag(input, key, &mut self.destructive),
            "idempotent" => flag(input, key, &mut self.idempotent),
            "open_world" => flag(input, key, &mut self.open_world),
            "scope" => {
                let v = one_scope(input, &key)?;
                self.rule.set(key, Rule::Scopes(v))
            }
            "scopes" | "any_scope" => {
                let v = list(input, &key)?;
                self.rule.set(key, Rule::Scopes(v))
            }
            "public" => {
                // Only bare: `public = false` would read as a rule but
                // leave the tool with none.
                if input.peek(Token![=]) {
                    return Err(syn::Error::new(
                        key.span(),
                        "`public` takes no value: write #[tool(public)] to let any caller \
                         the server admits call the tool, or give a scope instead, \
                         e.g. #[tool(scope = \"todo:read\")]",
                    ));
                }
                self.rule.set(key, Rule::Public)
            }
            "crate" => {
                let path = runtime_path(input, &key)?;
                self.krate.set(key, path)
            }
            _ => {
                let message = match suggestion(&key.to_string()) {
                    Some(known) => format!("unknown key `{key}`: did you mean `{known}`?"),
                    None => format!("unknown key `{key}`; the keys are {}", KEYS.join(", ")),
                };
                Err(syn::Error::new(key.span(), message))
            }
        }
    }
}

/// `= "a:b"` or `= A_B`: one scope.
fn one_scope(input: ParseStream<'_>, key: &Ident) -> syn::Result<Scopes> {
    let example = "#[tool(scope = \"todo:write\")] or #[tool(scope = TODO_WRITE)]";
    equals(input, key, example)?;
    if input.peek(syn::token::Bracket) {
        let list: proc_macro2::Group = input.parse()?;
        return Err(syn::Error::new(
            list.span(),
            "`scope` takes one scope; \
             write several as #[tool(scopes = [\"todo:read\", \"todo:write\"])]",
        ));
    }
    let value = ScopeValue::parse(input, example)?;
    Ok(Scopes {
        any: false,
        span: value.span(),
        list: vec![value],
    })
}

/// `= my_runtime` or `= "my_runtime"`.
fn runtime_path(input: ParseStream<'_>, key: &Ident) -> syn::Result<Path> {
    equals(input, key, "#[tool(crate = my_runtime)]")?;
    if input.peek(LitStr) {
        return input.parse::<LitStr>()?.parse::<Path>();
    }
    input.parse::<Path>().map_err(|e| {
        syn::Error::new(
            e.span(),
            "expected the path of the runtime crate, e.g. #[tool(crate = my_runtime)]",
        )
    })
}

fn equals(input: ParseStream<'_>, key: &Ident, example: &str) -> syn::Result<()> {
    if !input.peek(Token![=]) {
        return Err(syn::Error::new(
            key.span(),
            format!("`{key}` needs a value, e.g. {example}"),
        ));
    }
    input.parse::<Token![=]>()?;
    Ok(())
}

/// `key = "..."`; `example` is a sample value for the error messages.
fn string(input: ParseStream<'_>, key: &Ident, example: &str) -> syn::Result<LitStr> {
    let example = format!("#[tool({key} = \"{example}\")]");
    equals(input, key, &example)?;
    literal(input, &example)
}

fn literal(input: ParseStream<'_>, example: &str) -> syn::Result<LitStr> {
    input.parse::<LitStr>().map_err(|e| {
        syn::Error::new(
            e.span(),
            format!("expected a string literal, e.g. {example}"),
        )
    })
}

/// A bare flag (`read_only`) or `read_only = true/false`.
fn flag(input: ParseStream<'_>, key: Ident, slot: &mut Slot<LitBool>) -> syn::Result<()> {
    let value = if input.peek(Token![=]) {
        input.parse::<Token![=]>()?;
        input.parse::<LitBool>().map_err(|e| {
            syn::Error::new(
                e.span(),
                format!("expected `true` or `false`, e.g. #[tool({key} = false)], or just #[tool({key})]"),
            )
        })?
    } else {
        LitBool::new(true, key.span())
    };
    slot.set(key, value)
}

/// `key = ["a", "b"]`, or constants: `key = [A, B]`.
fn list(input: ParseStream<'_>, key: &Ident) -> syn::Result<Scopes> {
    let example = format!("#[tool({key} = [\"todo:read\", \"todo:write\"])]");
    equals(input, key, &example)?;
    if !input.peek(syn::token::Bracket) {
        return Err(syn::Error::new(
            input.span(),
            format!("`{key}` takes a list of scopes, e.g. {example}"),
        ));
    }
    let content;
    let brackets = bracketed!(content in input);
    let either = format!("{example} or #[tool({key} = [TODO_READ, TODO_WRITE])]");
    let mut items = Vec::new();
    while !content.is_empty() {
        items.push(ScopeValue::parse(&content, &either)?);
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    Ok(Scopes {
        any: key == "any_scope",
        list: items,
        span: brackets.span.join(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_matched_to_keys() {
        assert_eq!(suggestion("scoep"), Some("scope"));
        assert_eq!(suggestion("readOnly"), Some("read_only"));
        assert_eq!(suggestion("read-only"), Some("read_only"));
        assert_eq!(suggestion("any_scopes"), Some("any_scope"));
        assert_eq!(suggestion("pubic"), Some("public"));
        assert_eq!(suggestion("Public"), Some("public"));
        assert_eq!(suggestion("permissions"), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
