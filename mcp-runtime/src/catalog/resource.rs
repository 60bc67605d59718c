//! Resources and resource templates: their listings and the handlers that
//! read them.

use std::{future::Future, sync::Arc};

use rmcp::{
    ErrorData,
    model::{ReadResourceRequestParams, ReadResourceResult, Resource, ResourceTemplate},
};

use super::{
    listing::Listing,
    uri_template::{UriParams, UriTemplate},
};
use crate::{error::Error, future::BoxFuture};

pub(crate) type ReadFn = Arc<dyn Fn(ReadResourceRequestParams) -> ReadFuture + Send + Sync>;
pub(crate) type TemplateFn =
    Arc<dyn Fn(ReadResourceRequestParams, UriParams) -> ReadFuture + Send + Sync>;
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

/// The resources and templates a server serves.
#[derive(Default)]
pub(crate) struct Resources {
    pub(crate) resources: Listing<Resource, ReadFn>,
    pub(crate) templates: Listing<ResourceTemplate, (UriTemplate, TemplateFn)>,
}

impl Resources {
    /// Builds both listings, in registration order; templates are parsed here.
    pub(crate) fn build(
        resources: Vec<(Resource, ReadFn)>,
        templates: Vec<(ResourceTemplate, TemplateFn)>,
    ) -> Result<Self, Error> {
        let resources = Listing::new(resources)
            .map_err(|d| d.into_error::<Resource>("McpServerBuilder::resource"))?;
        let parsed = templates
            .into_iter()
            .map(|(template, read)| {
                let matcher = UriTemplate::parse(&template.uri_template).map_err(|why| {
                    Error::config(
                        "McpServerBuilder::resource_template",
                        format!("`{}`: {why}", template.uri_template),
                    )
                })?;
                Ok((template, (matcher, read)))
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let templates = Listing::new(parsed)
            .map_err(|d| d.into_error::<ResourceTemplate>("McpServerBuilder::resource_template"))?;
        Ok(Self {
            resources,
            templates,
        })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.templates.is_empty()
    }

    /// Reads `uri`: the listed resource with this URI, else the first
    /// template that matches it; `None` when nothing serves it.
    pub(crate) fn read(&self, request: ReadResourceRequestParams) -> Result<ReadFuture, ErrorData> {
        if let Some((_, read)) = self.resources.get(&request.uri) {
            return Ok(read(request));
        }
        for (_, (matcher, read)) in self.templates.iter() {
            if let Some(params) = matcher.matches(&request.uri) {
                return Ok(read(request, params));
            }
        }
        Err(not_found(&request.uri))
    }

    /// Whether anything serves `uri`.
    pub(crate) fn serves(&self, uri: &str) -> bool {
        self.resources.get(uri).is_some()
            || self
                .templates
                .iter()
                .any(|(_, (m, _))| m.matches(uri).is_some())
    }
}

pub(crate) fn not_found(uri: &str) -> ErrorData {
    ErrorData::resource_not_found(
        format!("Resource not found: {uri}"),
        Some(serde_json::json!({ "uri": uri })),
    )
}
