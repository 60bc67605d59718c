//! Serving resources, prompts and completions: find what is asked for,
//! check the caller's scopes against its rule, then run its handler.

use rmcp::{
    ErrorData, RoleServer,
    model::{
        CompleteRequestParams, CompleteResult, GetPromptRequestParams, ReadResourceRequestParams,
        Reference,
    },
    service::RequestContext,
};

use super::{
    Catalog,
    access::{self, Caller, Item},
    listing::{Listed, Listing},
    prompt::{self, PromptFuture},
    resource::{ReadFuture, not_found},
    scopes::{ScopeDecision, ScopeRule, decide},
    tool::CallContext,
};
use crate::{future::BoxFuture, token::AccessToken};

type CompleteFuture = BoxFuture<'static, Result<CompleteResult, ErrorData>>;

/// What a step-up check needs of one request: what it asks for and its rule.
pub(crate) struct Guard {
    pub(crate) kind: &'static str,
    pub(crate) rule: ScopeRule,
}

impl Catalog {
    /// What a `*/list` request answers a caller holding `token`: every item
    /// of `listing`, or, when listings are filtered, those whose rule (from
    /// `rule_of`) the caller's scopes satisfy.
    pub(crate) fn visible<T: Listed, H>(
        &self,
        listing: &Listing<T, H>,
        rule_of: impl Fn(&H) -> ScopeRule,
        token: Option<&AccessToken>,
    ) -> Vec<T> {
        listing
            .items()
            .iter()
            .zip(self.listed(listing, rule_of, token))
            .filter(|(_, listed)| *listed)
            .map(|(item, _)| item.clone())
            .collect()
    }

    /// Whether each item of `listing`, in order, is in what a `*/list`
    /// request answers a caller holding `token` (see [`visible`](Self::visible)).
    pub(crate) fn listed<'a, T: Listed, H>(
        &'a self,
        listing: &'a Listing<T, H>,
        rule_of: impl Fn(&H) -> ScopeRule + 'a,
        token: Option<&'a AccessToken>,
    ) -> impl Iterator<Item = bool> + 'a {
        let held = token.map(|t| t.scopes()).unwrap_or_default();
        listing.iter().map(move |(_, h)| {
            !self.filter_listings
                || decide(&rule_of(h), held, &self.shared.hierarchy) == ScopeDecision::Allowed
        })
    }

    /// The context handlers get, for a caller holding `token`.
    fn context(
        &self,
        token: Option<AccessToken>,
        request: Option<RequestContext<RoleServer>>,
    ) -> CallContext {
        CallContext::new("", None, token, self.shared.clone(), request)
    }

    /// Checks `cx`'s caller against `rule`; a refusal becomes `hidden` when
    /// refusals are concealed, else the `-32003` error.
    fn admit(
        &self,
        rule: &ScopeRule,
        item: Item<'_>,
        cx: &CallContext,
        hidden: impl FnOnce() -> ErrorData,
    ) -> Result<(), ErrorData> {
        let caller = Caller {
            token: cx.token.as_ref(),
            request: cx.request_id,
        };
        access::check(rule, &self.shared.hierarchy, item, caller).map_err(|refused| {
            if self.conceal_refusals {
                hidden()
            } else {
                refused.into_error()
            }
        })
    }

    /// A `resources/read`: the future that reads it, or why not.
    pub(crate) fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        token: Option<AccessToken>,
        context: Option<RequestContext<RoleServer>>,
    ) -> Result<ReadFuture, ErrorData> {
        let uri = request.uri.clone();
        let found = self
            .resources()
            .and_then(|r| r.find(&uri))
            .ok_or_else(|| not_found(&uri))?;
        let cx = self.context(token, context);
        let item = Item {
            kind: "resource",
            name: &uri,
        };
        self.admit(&found.rule(), item, &cx, || not_found(&uri))?;
        Ok(found.read(request, cx))
    }

    /// A `prompts/get`: the future that renders it, or why not.
    pub(crate) fn get_prompt(
        &self,
        request: GetPromptRequestParams,
        token: Option<AccessToken>,
        context: Option<RequestContext<RoleServer>>,
    ) -> Result<PromptFuture, ErrorData> {
        let Some(prompts) = self.prompts() else {
            return Err(prompt::unknown(&request.name));
        };
        let Some((listed, guarded)) = prompts.get(&request.name) else {
            return Err(prompt::unknown(&request.name));
        };
        let cx = self.context(token, context);
        let item = Item {
            kind: "prompt",
            name: &request.name,
        };
        // The rule first: a refused caller learns nothing of the arguments.
        self.admit(&guarded.rule, item, &cx, || prompt::unknown(&request.name))?;
        let args = prompt::arguments(listed, &request)?;
        Ok((guarded.handler)(request, args, cx))
    }

    /// A `completion/complete`, allowed to a caller who may use the prompt
    /// or resource template it completes. A concealed refusal completes
    /// nothing.
    pub(crate) fn complete(
        &self,
        request: CompleteRequestParams,
        token: Option<AccessToken>,
        context: Option<RequestContext<RoleServer>>,
    ) -> Result<CompleteFuture, ErrorData> {
        let Some(complete) = self.completion() else {
            return Err(ErrorData::method_not_found::<
                rmcp::model::CompleteRequestMethod,
            >());
        };
        let Some(guard) = self.completion_guard(&request.r#ref) else {
            return Err(unknown_reference(&request.r#ref));
        };
        let cx = self.context(token, context);
        let item = Item {
            kind: "completion",
            name: reference_name(&request.r#ref),
        };
        let caller = Caller {
            token: cx.token.as_ref(),
            request: cx.request_id,
        };
        match access::check(&guard.rule, &self.shared.hierarchy, item, caller) {
            Ok(()) => Ok(complete(request)),
            Err(_) if self.conceal_refusals => {
                Ok(Box::pin(async { Ok(CompleteResult::default()) }))
            }
            Err(refused) => Err(refused.into_error()),
        }
    }

    fn completion_guard(&self, reference: &Reference) -> Option<Guard> {
        let rule = match reference {
            Reference::Prompt(p) => self.prompts()?.get(&p.name).map(|(_, g)| g.rule),
            Reference::Resource(r) => self.resources()?.completion_rule(&r.uri),
            _ => None,
        }?;
        Some(Guard {
            kind: "completion",
            rule,
        })
    }

    /// What a request for `method` on `name` (a tool's or prompt's name, a
    /// URI) needs, for the step-up check at the HTTP layer; `None` when it
    /// names nothing served, or when refusals are concealed (a 403 would
    /// tell that the item exists).
    pub(crate) fn guard(&self, method: &str, name: &str) -> Option<Guard> {
        let (kind, rule) = match method {
            "tools/call" => ("tool", self.tools.get(name)?.1.scopes),
            _ if self.conceal_refusals => return None,
            "resources/read" => ("resource", self.resources()?.find(name)?.rule()),
            "prompts/get" => ("prompt", self.prompts()?.get(name)?.1.rule),
            _ => return None,
        };
        Some(Guard { kind, rule })
    }

    /// What a step-up check needs of a `completion/complete` request.
    pub(crate) fn completion_step_up(&self, reference: &Reference) -> Option<Guard> {
        if self.conceal_refusals {
            return None;
        }
        self.completion_guard(reference)
    }
}

/// How audit events name what a completion completes.
pub(crate) fn reference_name(reference: &Reference) -> &str {
    match reference {
        Reference::Prompt(p) => &p.name,
        Reference::Resource(r) => &r.uri,
        _ => "",
    }
}

/// The error for a completion of something the server does not serve.
fn unknown_reference(reference: &Reference) -> ErrorData {
    let what = match reference {
        Reference::Prompt(p) => format!("Unknown prompt: {}", p.name),
        Reference::Resource(r) => format!("Unknown resource or template: {}", r.uri),
        _ => "Unknown completion reference".to_owned(),
    };
    ErrorData::invalid_params(what, None)
}
