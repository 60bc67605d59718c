//! Reading the doc comment: the tool's description, and the `# Arguments`
//! list that describes its parameters.

use proc_macro2::Span;
use syn::{Attribute, Expr, ExprLit, Lit, Meta, spanned::Spanned};

/// The doc comment, split into the description and the `# Arguments` list.
pub(crate) struct Docs {
    pub(crate) description: String,
    /// `(parameter, description, the doc attribute that names it)`.
    pub(crate) arguments: Vec<(String, String, Span)>,
}

impl Docs {
    pub(crate) fn read(attrs: &[Attribute]) -> Docs {
        // Each line with the doc attribute it came from.
        let mut lines: Vec<(String, Span)> = Vec::new();
        for attr in attrs {
            if !attr.path().is_ident("doc") {
                continue;
            }
            let Meta::NameValue(nv) = &attr.meta else {
                continue;
            };
            let Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) = &nv.value
            else {
                continue;
            };
            // Not `lines()`: an empty `///` line is an empty string, and a blank line.
            for line in s.value().split('\n') {
                let line = line.strip_suffix('\r').unwrap_or(line);
                let line = line.strip_prefix(' ').unwrap_or(line);
                lines.push((line.to_owned(), attr.span()));
            }
        }

        let mut description = Vec::new();
        let mut arguments: Vec<(String, String, Span)> = Vec::new();
        let mut in_arguments = false;
        let mut in_fence = false;
        for (line, span) in lines {
            let trimmed = line.trim_start();
            if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
                in_fence = !in_fence;
            }
            if !in_fence && let Some(heading) = heading(trimmed) {
                in_arguments = matches!(heading, "Arguments" | "Parameters");
                if in_arguments {
                    continue;
                }
            }
            if !in_arguments {
                // Dropping a section can leave two blank lines in a row.
                let blank = line.trim().is_empty();
                if !(blank
                    && description
                        .last()
                        .is_some_and(|l: &String| l.trim().is_empty()))
                {
                    description.push(line);
                }
                continue;
            }
            if let Some((name, text)) = argument_item(trimmed) {
                arguments.push((name.to_owned(), text.trim().to_owned(), span));
            } else if let Some((_, text, _)) = arguments.last_mut()
                && !trimmed.is_empty()
            {
                if !text.is_empty() {
                    text.push(' ');
                }
                text.push_str(trimmed);
            }
        }
        Docs {
            description: description.join("\n").trim().to_owned(),
            arguments,
        }
    }
}

/// The text of a markdown heading line.
fn heading(line: &str) -> Option<&str> {
    let text = line.trim_start_matches('#');
    let level = line.len() - text.len();
    ((1..=6).contains(&level) && text.starts_with(' ')).then(|| text.trim())
}

/// ``* `title` - What needs doing`` or ``- `title`: What needs doing``.
fn argument_item(line: &str) -> Option<(&str, &str)> {
    let rest = line
        .strip_prefix("* ")
        .or_else(|| line.strip_prefix("- "))?
        .trim_start();
    let rest = rest.strip_prefix('`')?;
    let (name, rest) = rest.split_once('`')?;
    let rest = rest.trim_start();
    let text = ["-", ":", "–", "—"]
        .iter()
        .find_map(|sep| rest.strip_prefix(sep))
        .unwrap_or(rest);
    Some((name.trim(), text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_items() {
        assert_eq!(
            argument_item("* `title` - What needs doing"),
            Some(("title", " What needs doing"))
        );
        assert_eq!(argument_item("- `due`: When"), Some(("due", " When")));
        assert_eq!(argument_item("* plain text"), None);
    }

    #[test]
    fn doc_sections() {
        let item: syn::ItemFn = syn::parse_quote! {
            /// Create a todo.
            ///
            /// # Arguments
            /// * `title` - What needs doing,
            ///   in a few words.
            /// * `due`: When.
            ///
            /// # Examples
            /// ```
            /// # hidden line
            /// ```
            fn f() {}
        };
        let docs = Docs::read(&item.attrs);
        assert_eq!(
            docs.description,
            "Create a todo.\n\n# Examples\n```\n# hidden line\n```"
        );
        let args: Vec<_> = docs
            .arguments
            .iter()
            .map(|(n, t, _)| (n.as_str(), t.as_str()))
            .collect();
        assert_eq!(
            args,
            [
                ("title", "What needs doing, in a few words."),
                ("due", "When.")
            ]
        );
    }
}
