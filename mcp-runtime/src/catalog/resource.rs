//! Resources and resource templates: their listings and the handlers that
//! read them.

use std::{fmt, future::Future, sync::Arc};

use rmcp::{
    ErrorData,
    model::{ReadResourceRequestParams, ReadResourceResult, Resource, ResourceTemplate},
};

use super::{
    access::Guarded,
    listing::Listing,
    scopes::ScopeRule,
    tool::{CallContext, StateKey},
    uri_template::{UriParams, UriTemplate},
};
use crate::{error::Error, future::BoxFuture};

pub(crate) type ReadFn =
    Arc<dyn Fn(ReadResourceRequestParams, CallContext) -> ReadFuture + Send + Sync>;
pub(crate) type TemplateFn =
    Arc<dyn Fn(ReadResourceRequestParams, UriParams, CallContext) -> ReadFuture + Send + Sync>;
pub(crate) type ReadFuture = BoxFuture<'static, Result<ReadResourceResult, ErrorData>>;

/// A builder closure as a handler (it reads the token through
/// `get_access_token`, so needs nothing else of the call).
pub(crate) fn read_fn<F, Fut>(f: F) -> ReadFn
where
    F: Fn(ReadResourceRequestParams) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ReadResourceResult, ErrorData>> + Send + 'static,
{
    Arc::new(move |req, _| Box::pin(f(req)))
}

pub(crate) fn template_fn<F, Fut>(f: F) -> TemplateFn
where
    F: Fn(ReadResourceRequestParams, UriParams) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<ReadResourceResult, ErrorData>> + Send + 'static,
{
    Arc::new(move |req, params, _| Box::pin(f(req, params)))
}

/// One `#[resource]` or `#[resource_template]`. Built by the macro; read by
/// the server.
#[doc(hidden)]
pub struct ResourceDef {
    /// The resource's URI, or the template's URI template.
    pub uri: &'static str,
    /// The scopes a reader needs.
    pub scopes: ScopeRule,
    /// Builds the listing entry (called once, at start-up): a `Resource`,
    /// or, for a template, a `ResourceTemplate`.
    pub describe: fn() -> Described,
    /// Reads it; a template's variables are the call's arguments, as strings.
    pub read: fn(ReadResourceRequestParams, CallContext) -> ReadFuture,
    /// The `State<T>` types it takes, checked against the server at start-up.
    pub states: &'static [fn() -> StateKey],
    /// Where it was declared, for error messages.
    pub location: &'static str,
}

/// What a [`ResourceDef`] lists.
#[doc(hidden)]
#[derive(Debug)]
pub enum Described {
    Resource(Resource),
    Template(ResourceTemplate),
}

impl fmt::Debug for ResourceDef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResourceDef")
            .field("uri", &self.uri)
            .field("scopes", &self.scopes)
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

/// A handle on one `#[resource]`, `#[resource_template]` or `#[prompt]`
/// function, to serve an explicit set of them: `#[resource] fn foo` defines
/// `foo` both as the function and, in the type namespace, as a handle
/// implementing this trait, so `McpServer::builder().item::<foo>()` names it.
pub trait ItemHandle {
    /// The item's registration.
    #[doc(hidden)]
    const ITEM: DeclaredItem;
}

/// What an [`ItemHandle`] names.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub enum DeclaredItem {
    Resource(&'static ResourceDef),
    Prompt(&'static super::prompt::PromptDef),
}

/// A `#[resource]` or `#[resource_template]` registration, collected at
/// link time.
#[doc(hidden)]
#[derive(Debug)]
pub struct ResourceRegistration(pub &'static ResourceDef);

inventory::collect!(ResourceRegistration);

/// Every `#[resource]` and `#[resource_template]` linked into the binary, by
/// URI (then declaration site).
pub(crate) fn registered() -> Vec<&'static ResourceDef> {
    let mut all: Vec<_> = inventory::iter::<ResourceRegistration>
        .into_iter()
        .map(|r| r.0)
        .collect();
    all.sort_by(|a, b| a.uri.cmp(b.uri).then(a.location.cmp(b.location)));
    all
}

/// A macro-declared resource as the handlers the builder's are.
pub(crate) fn from_def(def: &'static ResourceDef) -> Declared {
    match (def.describe)() {
        Described::Resource(r) => {
            let read: ReadFn = Arc::new(move |req, mut cx| {
                cx.tool = def.uri;
                (def.read)(req, cx)
            });
            Declared::Resource(r, def.scopes, read)
        }
        Described::Template(t) => {
            let read: TemplateFn = Arc::new(move |req, vars, mut cx| {
                cx.tool = def.uri;
                cx.arguments = Some(super::tool::strings(vars));
                (def.read)(req, cx)
            });
            Declared::Template(t, def.scopes, read)
        }
    }
}

/// One resource or template, as declared.
pub(crate) enum Declared {
    Resource(Resource, ScopeRule, ReadFn),
    Template(ResourceTemplate, ScopeRule, TemplateFn),
}

/// The resources and templates a server serves.
#[derive(Default)]
pub(crate) struct Resources {
    pub(crate) resources: Listing<Resource, Guarded<ReadFn>>,
    pub(crate) templates: Listing<ResourceTemplate, Guarded<(UriTemplate, TemplateFn)>>,
}

/// What serves one URI: a resource, or a template with the URI's variables.
pub(crate) enum Found<'a> {
    Resource(&'a Guarded<ReadFn>),
    Template(&'a Guarded<(UriTemplate, TemplateFn)>, UriParams),
}

impl Found<'_> {
    pub(crate) fn rule(&self) -> ScopeRule {
        match self {
            Found::Resource(g) => g.rule,
            Found::Template(g, _) => g.rule,
        }
    }

    /// Reads `request` (its rule already checked).
    pub(crate) fn read(self, request: ReadResourceRequestParams, cx: CallContext) -> ReadFuture {
        match self {
            Found::Resource(g) => (g.handler)(request, cx),
            Found::Template(g, vars) => (g.handler.1)(request, vars, cx),
        }
    }
}

impl Resources {
    /// Builds both listings, in declaration order; templates are parsed here.
    pub(crate) fn build(declared: Vec<Declared>) -> Result<Self, Error> {
        let mut resources = Vec::new();
        let mut templates = Vec::new();
        for d in declared {
            match d {
                Declared::Resource(r, rule, read) => resources.push((
                    r,
                    Guarded {
                        rule,
                        handler: read,
                    },
                )),
                Declared::Template(t, rule, read) => {
                    let matcher = UriTemplate::parse(&t.uri_template).map_err(|why| {
                        Error::config(
                            "McpServerBuilder::resource_template",
                            format!("`{}`: {why}", t.uri_template),
                        )
                    })?;
                    templates.push((
                        t,
                        Guarded {
                            rule,
                            handler: (matcher, read),
                        },
                    ));
                }
            }
        }
        let resources = Listing::new(resources)
            .map_err(|d| d.into_error::<Resource>("McpServerBuilder::resource"))?;
        let templates = Listing::new(templates)
            .map_err(|d| d.into_error::<ResourceTemplate>("McpServerBuilder::resource_template"))?;
        Ok(Self {
            resources,
            templates,
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.templates.is_empty()
    }

    /// What serves `uri`: the listed resource with this URI, else the first
    /// template that matches it.
    pub(crate) fn find(&self, uri: &str) -> Option<Found<'_>> {
        if let Some((_, g)) = self.resources.get(uri) {
            return Some(Found::Resource(g));
        }
        self.templates
            .iter()
            .find_map(|(_, g)| Some(Found::Template(g, g.handler.0.matches(uri)?)))
    }

    /// Whether `item` is the URI of a resource or the URI template of a
    /// resource template served here.
    pub(crate) fn serves(&self, item: &str) -> bool {
        self.resources.get(item).is_some() || self.templates.get(item).is_some()
    }

    /// What serves `uri`: its resource's URI, or the URI template of the
    /// template that matches it.
    pub(crate) fn item_of<'a>(&'a self, uri: &'a str) -> Option<&'a str> {
        if self.resources.get(uri).is_some() {
            return Some(uri);
        }
        self.templates
            .iter()
            .find(|(_, g)| g.handler.0.matches(uri).is_some())
            .map(|(t, _)| t.uri_template.as_str())
    }

    /// The rule of what a completion's `ref/resource` names: a template, by
    /// its URI template, else whatever serves that URI.
    pub(crate) fn completion_rule(&self, uri: &str) -> Option<ScopeRule> {
        match self.templates.get(uri) {
            Some((_, g)) => Some(g.rule),
            None => self.find(uri).map(|f| f.rule()),
        }
    }
}

pub(crate) fn not_found(uri: &str) -> ErrorData {
    ErrorData::resource_not_found(
        format!("Resource not found: {uri}"),
        Some(serde_json::json!({ "uri": uri })),
    )
}
