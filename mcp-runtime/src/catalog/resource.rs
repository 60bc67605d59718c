//! Resources and resource templates: their listings, built once, and the
//! handlers that read them.

use std::{collections::HashMap, future::Future, sync::Arc};

use rmcp::{
    ErrorData,
    model::{
        ListResourceTemplatesResult, ListResourcesResult, ReadResourceRequestParams,
        ReadResourceResult, Resource, ResourceTemplate,
    },
};

use crate::{BoxFuture, Error};

/// The values of a resource template's variables, by name, taken from the
/// URI being read (percent-decoded).
pub type UriParams = HashMap<String, String>;

type ReadFn = Arc<dyn Fn(ReadResourceRequestParams) -> ReadFuture + Send + Sync + 'static>;
type TemplateFn =
    Arc<dyn Fn(ReadResourceRequestParams, UriParams) -> ReadFuture + Send + Sync + 'static>;
type ReadFuture = BoxFuture<'static, Result<ReadResourceResult, ErrorData>>;

pub(crate) fn read_fn<F, Fut>(f: F) -> ReadFn
where
    F: Fn(ReadResourceRequestParams) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ReadResourceResult, ErrorData>> + Send + 'static,
{
    Arc::new(move |req| Box::pin(f(req)))
}

pub(crate) fn template_fn<F, Fut>(f: F) -> TemplateFn
where
    F: Fn(ReadResourceRequestParams, UriParams) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ReadResourceResult, ErrorData>> + Send + 'static,
{
    Arc::new(move |req, params| Box::pin(f(req, params)))
}

/// What the builder collects, in registration order.
#[derive(Default)]
pub(crate) struct ResourcesBuilder {
    pub(crate) resources: Vec<(Resource, ReadFn)>,
    pub(crate) templates: Vec<(ResourceTemplate, TemplateFn)>,
}

/// The resources a server serves; `None` in `Inner` when it serves none.
pub(crate) struct Resources {
    /// The `resources/list` answer, built once; `reads[i]` reads `list.resources[i]`.
    pub(crate) list: ListResourcesResult,
    reads: Vec<ReadFn>,
    by_uri: HashMap<String, usize>,
    /// The `resources/templates/list` answer; `templates[i]` matches
    /// `template_list.resource_templates[i]`.
    pub(crate) template_list: ListResourceTemplatesResult,
    templates: Vec<(UriTemplate, TemplateFn)>,
}

impl ResourcesBuilder {
    pub(crate) fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.templates.is_empty()
    }

    pub(crate) fn build(self) -> Result<Resources, Error> {
        let mut by_uri = HashMap::new();
        let mut listed = Vec::with_capacity(self.resources.len());
        let mut reads = Vec::with_capacity(self.resources.len());
        for (resource, read) in self.resources {
            if by_uri.insert(resource.uri.clone(), listed.len()).is_some() {
                return Err(Error::config(
                    "McpServerBuilder::resource",
                    format!("two resources have the URI `{}`", resource.uri),
                ));
            }
            listed.push(resource);
            reads.push(read);
        }
        let mut template_listed = Vec::with_capacity(self.templates.len());
        let mut templates = Vec::with_capacity(self.templates.len());
        for (template, read) in self.templates {
            let parsed = UriTemplate::parse(&template.uri_template).map_err(|why| {
                Error::config(
                    "McpServerBuilder::resource_template",
                    format!("`{}`: {why}", template.uri_template),
                )
            })?;
            template_listed.push(template);
            templates.push((parsed, read));
        }
        Ok(Resources {
            list: ListResourcesResult::with_all_items(listed),
            reads,
            by_uri,
            template_list: ListResourceTemplatesResult::with_all_items(template_listed),
            templates,
        })
    }
}

/// How a URI is read: by a resource's handler or by a template's.
pub(crate) enum Reader<'a> {
    Resource(&'a ReadFn),
    Template(&'a TemplateFn, UriParams),
}

impl Reader<'_> {
    pub(crate) fn read(self, request: ReadResourceRequestParams) -> ReadFuture {
        match self {
            Reader::Resource(f) => f(request),
            Reader::Template(f, params) => f(request, params),
        }
    }
}

impl Resources {
    /// The listed resource with this URI, else the first template that
    /// matches it.
    pub(crate) fn find(&self, uri: &str) -> Option<Reader<'_>> {
        if let Some(&i) = self.by_uri.get(uri) {
            return Some(Reader::Resource(&self.reads[i]));
        }
        self.templates
            .iter()
            .find_map(|(t, f)| t.matches(uri).map(|p| Reader::Template(f, p)))
    }
}

pub(crate) fn not_found(uri: &str) -> ErrorData {
    ErrorData::resource_not_found(
        format!("Resource not found: {uri}"),
        Some(serde_json::json!({ "uri": uri })),
    )
}

/// An RFC 6570 URI template restricted to simple `{name}` expressions (level
/// 1), which is what matching a URI back to its variables can do without
/// ambiguity. A variable matches one or more characters other than `/`, `?`
/// and `#`.
#[derive(Debug, PartialEq)]
struct UriTemplate(Vec<Part>);

#[derive(Debug, PartialEq)]
enum Part {
    Literal(String),
    Variable(String),
}

impl UriTemplate {
    fn parse(template: &str) -> Result<Self, String> {
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
    fn matches(&self, uri: &str) -> Option<UriParams> {
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
