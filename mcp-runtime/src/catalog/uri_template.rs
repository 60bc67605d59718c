//! Matching a URI back to the resource template it expands.

use std::collections::HashMap;

/// URIs longer than this (in bytes) never match a template: no resource URI
/// needs more, and it bounds the work a request can ask for.
pub(crate) const MAX_URI_LEN: usize = 8 * 1024;

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
    ///
    /// Each variable takes the shortest value after which the literal that
    /// follows it comes next (the last variable takes what remains before the
    /// template's closing literal). Since a value never holds `/`, `?` or `#`,
    /// that leftmost choice matches whenever any choice would, with the same
    /// values as trying every split shortest-first: one pass over `uri`, no
    /// backtracking. URIs longer than [`MAX_URI_LEN`] never match.
    pub(crate) fn matches(&self, uri: &str) -> Option<UriParams> {
        self.matches_counting(uri, &mut 0)
    }

    /// [`matches`](Self::matches), adding to `steps` the bytes it examined
    /// (at most about three times the URI's length: the test of linearity).
    fn matches_counting(&self, uri: &str, steps: &mut usize) -> Option<UriParams> {
        if uri.len() > MAX_URI_LEN {
            return None;
        }
        let mut params = UriParams::new();
        let mut rest = uri;
        for (i, part) in self.0.iter().enumerate() {
            match part {
                Part::Literal(lit) => {
                    *steps += lit.len();
                    rest = rest.strip_prefix(lit.as_str())?;
                }
                Part::Variable(name) => {
                    let end = value_end(rest, &self.0[i + 1..], steps)?;
                    params.insert(name.clone(), percent_decode(&rest[..end]));
                    rest = &rest[end..];
                }
            }
        }
        rest.is_empty().then_some(params)
    }
}

/// Where the value of a variable starting `rest` ends, given the parts after
/// the variable (a literal first, if any: parsing rejects two variables in a
/// row); `None` when no value fits.
fn value_end(rest: &str, after: &[Part], steps: &mut usize) -> Option<usize> {
    let end = match after {
        // Last part: the value is the rest.
        [] => rest.len(),
        // Then the closing literal: the value is what comes before it.
        [Part::Literal(lit)] => {
            *steps += lit.len();
            rest.strip_suffix(lit.as_str())?.len()
        }
        // Then a literal and more: the value ends where the literal first
        // occurs (after at least one character).
        [Part::Literal(lit), ..] => {
            let first = rest.chars().next()?.len_utf8();
            match rest[first..].find(lit.as_str()) {
                Some(at) => {
                    *steps += at + lit.len();
                    first + at
                }
                None => {
                    *steps += rest.len();
                    return None;
                }
            }
        }
        [Part::Variable(_), ..] => return None,
    };
    *steps += end;
    (end > 0 && !rest[..end].contains(['/', '?', '#'])).then_some(end)
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

    #[test]
    fn a_value_may_hold_its_closing_literal() {
        let t = UriTemplate::parse("file:///{name}.json").unwrap();
        assert_eq!(
            t.matches("file:///a.json.json"),
            Some(params(&[("name", "a.json")]))
        );
        let t = UriTemplate::parse("db://{a}.{b}").unwrap();
        assert_eq!(
            t.matches("db://x.y.z"),
            Some(params(&[("a", "x"), ("b", "y.z")]))
        );
        let t = UriTemplate::parse("db://{a}-{b}.txt").unwrap();
        assert_eq!(
            t.matches("db://p-q-r.txt.txt"),
            Some(params(&[("a", "p"), ("b", "q-r.txt")]))
        );
    }

    #[test]
    fn the_first_occurrence_of_the_next_literal_ends_a_value() {
        // Leftmost: `a` stops at the first `-`, though `a = "p-q"` would
        // also leave a valid `b` (the backtracking matcher chose "p" too).
        let t = UriTemplate::parse("x/{a}-{b}/{c}").unwrap();
        assert_eq!(
            t.matches("x/p-q-r/s"),
            Some(params(&[("a", "p"), ("b", "q-r"), ("c", "s")]))
        );
        // The literal must come after at least one character.
        assert_eq!(
            t.matches("x/--r/s"),
            Some(params(&[("a", "-"), ("b", "r"), ("c", "s")]))
        );
        // A literal holding `/` ends a value only at the segment's end.
        let t = UriTemplate::parse("x/{a}.b/{c}").unwrap();
        assert_eq!(t.matches("x/1/.b/2"), None);
        assert_eq!(
            t.matches("x/1.b.b/2"),
            Some(params(&[("a", "1.b"), ("c", "2")]))
        );
        // Overlapping occurrences: the first one counts.
        let t = UriTemplate::parse("{a}aba{b}").unwrap();
        assert_eq!(
            t.matches("xababa1"),
            Some(params(&[("a", "x"), ("b", "ba1")]))
        );
    }

    #[test]
    fn uris_longer_than_the_cap_never_match() {
        let t = UriTemplate::parse("x/{a}").unwrap();
        let longest = format!("x/{}", "a".repeat(MAX_URI_LEN - 2));
        assert!(t.matches(&longest).is_some());
        assert_eq!(t.matches(&format!("{longest}a")), None);
    }

    #[test]
    fn crafted_worst_cases_take_linear_steps() {
        let n = MAX_URI_LEN;
        let cases = [
            ("{a}-{b}-{c}.end", "-".repeat(n)),
            ("{a}-{b}-{c}.end", format!("{}.en", "a-".repeat(n / 2 - 2))),
            ("x{a}aab{b}", format!("x{}", "a".repeat(n - 1))),
            ("{a}.{b}/{c}", ".".repeat(n)),
            ("{a}?{b}#{c}", "?".repeat(n)),
        ];
        for (template, uri) in cases {
            let t = UriTemplate::parse(template).unwrap();
            // Bounded repetitions, no clock: the backtracking matcher took
            // billions of steps on the first two.
            for _ in 0..50 {
                let mut steps = 0;
                assert_eq!(t.matches_counting(&uri, &mut steps), None, "{template}");
                assert!(
                    steps <= 3 * uri.len() + template.len(),
                    "{template}: {steps}"
                );
            }
        }
    }
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    /// The matcher this one replaced: every split, shortest first.
    fn backtracking(parts: &[Part], uri: &str, params: &mut UriParams) -> bool {
        match parts.split_first() {
            None => uri.is_empty(),
            Some((Part::Literal(lit), rest)) => uri
                .strip_prefix(lit.as_str())
                .is_some_and(|uri| backtracking(rest, uri, params)),
            Some((Part::Variable(name), rest)) => {
                let max = uri.find(['/', '?', '#']).unwrap_or(uri.len());
                for end in (1..=max).filter(|&e| uri.is_char_boundary(e)) {
                    if backtracking(rest, &uri[end..], params) {
                        params.insert(name.clone(), percent_decode(&uri[..end]));
                        return true;
                    }
                }
                false
            }
        }
    }

    fn reference(t: &UriTemplate, uri: &str) -> Option<UriParams> {
        let mut params = UriParams::new();
        backtracking(&t.0, uri, &mut params).then_some(params)
    }

    /// Literals and values share characters, so that values run into the
    /// literals that end them.
    fn literal() -> impl Strategy<Value = String> {
        "[ab./?#é-]{1,3}"
    }

    fn value() -> impl Strategy<Value = String> {
        "[ab0-9.é%-]{1,5}"
    }

    /// `{v0}` … `{vN}` (N < 4) between optional leading and trailing literals.
    fn template() -> impl Strategy<Value = UriTemplate> {
        let head = proptest::option::of(literal());
        let middles = prop::collection::vec(literal(), 0..4);
        let tail = proptest::option::of(literal());
        (head, middles, tail).prop_map(|(head, middles, tail)| {
            let mut t = head.unwrap_or_default();
            t.push_str("{v0}");
            for (i, m) in middles.iter().enumerate() {
                t.push_str(m);
                t.push_str(&format!("{{v{}}}", i + 1));
            }
            t.push_str(&tail.unwrap_or_default());
            UriTemplate::parse(&t).expect("generated template")
        })
    }

    /// Expands `t` with `values` (`%` escaped); also says whether each value
    /// stays clear of the literal after it (its first occurrence is the
    /// literal itself) and of `/?#`, i.e. whether matching must give the
    /// values back.
    fn expand(t: &UriTemplate, values: &[String]) -> (String, UriParams, bool) {
        let (mut uri, mut params, mut clear) = (String::new(), UriParams::new(), true);
        for (i, part) in t.0.iter().enumerate() {
            match part {
                Part::Literal(lit) => uri.push_str(lit),
                Part::Variable(name) => {
                    let n: usize = name[1..].parse().unwrap();
                    let v = values[n].replace('%', "%25");
                    clear &= !v.contains(['/', '?', '#']);
                    if let (Some(Part::Literal(lit)), true) = (t.0.get(i + 1), i + 2 < t.0.len()) {
                        let joined = format!("{v}{lit}");
                        let first = v.chars().next().unwrap().len_utf8();
                        clear &= joined[first..].find(lit.as_str()) == Some(v.len() - first);
                    }
                    uri.push_str(&v);
                    params.insert(name.clone(), values[n].clone());
                }
            }
        }
        (uri, params, clear)
    }

    proptest! {
        #![proptest_config(crate::proptest_config())]

        #[test]
        fn parsing_and_matching_never_panic(
            template in prop_oneof![".{0,24}", "([a-c./?#é%-]|[{}]|\\{v[0-9]\\}){0,8}"],
            uri in ".{0,64}",
        ) {
            if let Ok(t) = UriTemplate::parse(&template) {
                let _ = t.matches(&uri);
            }
        }

        #[test]
        fn expansions_match_with_their_values(
            t in template(),
            values in prop::collection::vec(value(), 4),
        ) {
            let (uri, params, clear) = expand(&t, &values);
            let got = t.matches(&uri);
            if clear {
                prop_assert_eq!(got.as_ref(), Some(&params), "{}", uri);
            }
            prop_assert_eq!(got, reference(&t, &uri));
        }

        #[test]
        fn same_answers_as_the_backtracking_matcher(
            t in template(),
            uri in "[ab0-9./?#é%-]{0,16}",
        ) {
            prop_assert_eq!(t.matches(&uri), reference(&t, &uri));
        }

        #[test]
        fn steps_stay_linear(t in template(), unit in "[ab./-]{1,4}", reps in 0usize..2048) {
            let uri: String = unit.repeat(reps).chars().take(MAX_URI_LEN).collect();
            let mut steps = 0;
            let _ = t.matches_counting(&uri, &mut steps);
            prop_assert!(steps <= 3 * uri.len() + 12, "{} steps for {} bytes", steps, uri.len());
        }
    }
}
