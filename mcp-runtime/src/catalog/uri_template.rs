//! Matching a URI back to the resource template it expands.

use std::collections::HashMap;

/// The values of a resource template's variables, by name, taken from the
/// URI being read (percent-decoded).
pub type UriParams = HashMap<String, String>;

/// An RFC 6570 URI template restricted to simple `{name}` expressions (level
/// 1), which is what matching a URI back to its variables can do without
/// ambiguity. A variable matches one or more characters other than `/`, `?`
/// and `#`.
#[derive(Debug, PartialEq)]
pub(crate) struct UriTemplate(Vec<Part>);

#[derive(Debug, PartialEq)]
enum Part {
    Literal(String),
    Variable(String),
}

impl UriTemplate {
    pub(crate) fn parse(template: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find(['{', '}']) {
            if rest[open..].starts_with('}') {
                return Err("a `}` without its `{`".to_owned());
            }
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let after = &rest[open + 1..];
            let close = after
                .find('}')
                .ok_or_else(|| "a `{` without its `}`".to_owned())?;
            let name = &after[..close];
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
            {
                return Err(format!(
                    "`{{{name}}}` is not supported: only simple `{{name}}` variables are"
                ));
            }
            if matches!(parts.last(), Some(Part::Variable(_))) {
                return Err("two variables must be separated by a literal".to_owned());
            }
            parts.push(Part::Variable(name.to_owned()));
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Ok(Self(parts))
    }

    /// The variables' values when `uri` is an expansion of this template.
    pub(crate) fn matches(&self, uri: &str) -> Option<UriParams> {
        let mut params = UriParams::new();
        match_parts(&self.0, uri, &mut params).then_some(params)
    }
}

fn match_parts(parts: &[Part], uri: &str, params: &mut UriParams) -> bool {
    match parts.split_first() {
        None => uri.is_empty(),
        Some((Part::Literal(lit), rest)) => uri
            .strip_prefix(lit.as_str())
            .is_some_and(|uri| match_parts(rest, uri, params)),
        Some((Part::Variable(name), rest)) => {
            let max = uri.find(['/', '?', '#']).unwrap_or(uri.len());
            // Shortest value first: the literal that follows ends it.
            for end in (1..=max).filter(|&e| uri.is_char_boundary(e)) {
                if match_parts(rest, &uri[end..], params) {
                    params.insert(name.clone(), percent_decode(&uri[..end]));
                    return true;
                }
            }
            false
        }
    }
}

/// `%XX` sequences decoded; the value as given when they do not decode to UTF-8.
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> UriParams {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_template_matches_its_expansions() {
        let t = UriTemplate::parse("test://template/{id}/data").unwrap();
        assert_eq!(
            t.matches("test://template/123/data"),
            Some(params(&[("id", "123")]))
        );
        assert_eq!(t.matches("test://template/123/other"), None);
        assert_eq!(t.matches("test://template//data"), None);
        assert_eq!(t.matches("test://template/1/2/data"), None);
    }

    #[test]
    fn several_variables_and_a_trailing_one() {
        let t = UriTemplate::parse("db://{table}.{column}/{row}").unwrap();
        assert_eq!(
            t.matches("db://users.name/a%20b"),
            Some(params(&[
                ("table", "users"),
                ("column", "name"),
                ("row", "a b")
            ]))
        );
        assert_eq!(t.matches("db://users.name/"), None);
    }

    #[test]
    fn unsupported_templates_are_refused() {
        for bad in ["a/{+path}", "a/{?q}", "a/{x", "a/x}", "a/{}", "{a}{b}"] {
            assert!(UriTemplate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn percent_decoding_keeps_what_does_not_decode() {
        assert_eq!(percent_decode("a%2Fb"), "a/b");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
        assert_eq!(percent_decode("%FF"), "%FF");
    }
}
