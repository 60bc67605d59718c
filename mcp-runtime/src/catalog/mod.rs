//! What a server serves: its tools, resources, resource templates, prompts
//! and completion hook, the state handed to tools, the scope hierarchy and
//! the server's own description. Built once by [`Catalog::build`]; read by
//! the MCP handler and by in-process calls.

pub(crate) mod access;
pub(crate) mod cache;
pub(crate) mod input;
pub(crate) mod listing;
pub(crate) mod log;
pub(crate) mod permissions;
pub(crate) mod prompt;
pub(crate) mod resource;
pub(crate) mod result;
pub mod scopes;
pub(crate) mod surfaces;
pub(crate) mod tool;
pub(crate) mod tool_error;
pub(crate) mod updates;
pub(crate) mod uri_template;
pub(crate) mod vocabulary;

use std::sync::Arc;

use rmcp::{
    ErrorData, RoleServer,
    model::{
        CallToolRequestParams, CallToolResponse, CallToolResult, Implementation, JsonObject,
        Prompt, PromptsCapability, ResourcesCapability, ServerCapabilities, ServerConfig, Tool,
    },
    service::RequestContext,
};

use crate::{error::Error, token::AccessToken};
use access::Guarded;
use listing::Listing;
use prompt::{CompleteFn, PromptFn};
use resource::{Declared, Resources};
use scopes::{ScopeHierarchy, ScopeRule, is_scope_token};
use tool::{CallContext, Shared, StateKey, StateMap, ToolDef};
use vocabulary::Vocabulary;

/// What the server builder collects for the catalog, as given.
pub(crate) struct CatalogBuilder {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) title: Option<String>,
    pub(crate) instructions: Option<String>,
    /// `None`: every `#[tool]` in the binary.
    pub(crate) tools: Option<Vec<&'static ToolDef>>,
    /// `None`: every `#[resource]`, `#[resource_template]` and `#[prompt]`
    /// in the binary.
    pub(crate) items: Option<Vec<resource::DeclaredItem>>,
    /// Resources and templates added with the builder, after the declared ones.
    pub(crate) resources: Vec<Declared>,
    /// Prompts added with the builder, after every `#[prompt]`.
    pub(crate) prompts: Vec<(Prompt, Guarded<PromptFn>)>,
    pub(crate) complete: Option<CompleteFn>,
    pub(crate) states: StateMap,
    pub(crate) hierarchy: ScopeHierarchy,
    /// The declared scopes, when the server has a vocabulary.
    pub(crate) vocabulary: Option<&'static Vocabulary>,
    pub(crate) tool_timeout: Option<std::time::Duration>,
    /// Answer a refused read, prompt or completion as if it did not exist.
    pub(crate) conceal_refusals: bool,
    /// List only what the caller may use.
    pub(crate) filter_listings: bool,
    /// How long list results and reads stay fresh.
    pub(crate) cache_ttl: cache::CacheTtl,
    /// The key sealing `requestState`; `None`: a random one per process.
    pub(crate) request_state_key: Option<Vec<u8>>,
    /// How long a `requestState` is accepted.
    pub(crate) request_state_ttl: std::time::Duration,
}

impl Default for CatalogBuilder {
    fn default() -> Self {
        Self {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            title: None,
            instructions: None,
            tools: None,
            items: None,
            resources: Vec::new(),
            prompts: Vec::new(),
            complete: None,
            states: StateMap::default(),
            hierarchy: ScopeHierarchy::default(),
            vocabulary: None,
            tool_timeout: Some(tool::DEFAULT_TOOL_TIMEOUT),
            conceal_refusals: false,
            filter_listings: false,
            cache_ttl: cache::CacheTtl::default(),
            request_state_key: None,
            request_state_ttl: input::DEFAULT_TTL,
        }
    }
}

/// What is served. See the module docs.
pub(crate) struct Catalog {
    tools: Listing<Tool, &'static ToolDef>,
    /// `None` when the server serves no resource (the methods are not offered).
    resources: Option<Resources>,
    prompts: Option<Listing<Prompt, Guarded<PromptFn>>>,
    complete: Option<CompleteFn>,
    shared: Arc<Shared>,
    vocabulary: Option<&'static Vocabulary>,
    info: ServerConfig,
    conceal_refusals: bool,
    filter_listings: bool,
    cache_ttl: cache::CacheTtl,
}

impl Catalog {
    /// Checks what the builder collected and builds every listing.
    pub(crate) fn build(b: CatalogBuilder) -> Result<Self, Error> {
        let defs = b.tools.unwrap_or_else(tool::registered);
        let mut hierarchy = b.hierarchy;
        if let Some(vocabulary) = b.vocabulary {
            if let Some(problem) = vocabulary.problem() {
                return Err(Error::InvalidVocabulary {
                    vocabulary: vocabulary.describe(),
                    problem,
                });
            }
            hierarchy = hierarchy.merged(vocabulary.hierarchy());
        }
        let tools = tool_listing(defs, &b.states, b.vocabulary)?;
        let (resources, prompts) =
            declared_items(b.items, b.resources, b.prompts, &b.states, b.vocabulary)?;
        let resources = Resources::build(resources)?;
        b.cache_ttl.check(|item| resources.serves(item))?;
        let resources = (!resources.is_empty()).then_some(resources);
        let prompts = Listing::new(prompts)
            .map_err(|d| d.into_error::<Prompt>("McpServerBuilder::prompt"))?;
        let prompts = (!prompts.is_empty()).then_some(prompts);

        let mut server = Implementation::new(b.name, b.version);
        if let Some(t) = b.title {
            server = server.with_title(t);
        }
        let capabilities =
            capabilities(resources.is_some(), prompts.is_some(), b.complete.is_some());
        let sealer = input::Sealer::new(b.request_state_key.as_deref(), b.request_state_ttl)?;
        let mut info = ServerConfig::new(capabilities).with_server_info(server);
        if let Some(i) = b.instructions {
            info = info.with_instructions(i);
        }
        Ok(Self {
            tools,
            resources,
            prompts,
            complete: b.complete,
            shared: Arc::new(Shared {
                states: b.states,
                hierarchy,
                timeout: b.tool_timeout,
                sealer,
                updates: Arc::default(),
            }),
            vocabulary: b.vocabulary,
            info,
            conceal_refusals: b.conceal_refusals,
            filter_listings: b.filter_listings,
            cache_ttl: b.cache_ttl,
        })
    }

    /// The cache hint of a `*/list` result.
    pub(crate) fn listing_hint(&self) -> cache::Hint {
        self.cache_ttl.listing(self.filter_listings)
    }

    /// The cache hint of a read of `uri`.
    pub(crate) fn read_hint(&self, uri: &str) -> cache::Hint {
        let item = self.resources().and_then(|r| r.item_of(uri)).unwrap_or(uri);
        self.cache_ttl.read(item)
    }

    /// The server's description and capabilities, as `server/discover`
    /// answers.
    pub(crate) fn info(&self) -> &ServerConfig {
        &self.info
    }

    /// The open `subscriptions/listen` streams.
    pub(crate) fn updates(&self) -> &Arc<updates::Hub> {
        &self.shared.updates
    }

    /// Which of `uris` the caller holding `token` may be told about: those a
    /// resource or template serves and whose rule the token satisfies (a
    /// refusal is an audit event, as for a read).
    pub(crate) fn readable<'a>(
        &self,
        uris: impl IntoIterator<Item = &'a String>,
        token: Option<&AccessToken>,
        request: Option<crate::audit::RequestId>,
    ) -> std::collections::BTreeSet<String> {
        let Some(resources) = self.resources() else {
            return Default::default();
        };
        uris.into_iter()
            .filter(|uri| {
                resources.find(uri).is_some_and(|found| {
                    let item = access::Item {
                        kind: "resource",
                        name: uri,
                    };
                    let caller = access::Caller { token, request };
                    access::check(&found.rule(), self.hierarchy(), item, caller).is_ok()
                })
            })
            .cloned()
            .collect()
    }

    /// The server's title, else its name.
    pub(crate) fn display_name(&self) -> &str {
        let server = &self.info.server_info;
        server.title.as_deref().unwrap_or(&server.name)
    }

    pub(crate) fn tools(&self) -> &Listing<Tool, &'static ToolDef> {
        &self.tools
    }

    pub(crate) fn resources(&self) -> Option<&Resources> {
        self.resources.as_ref()
    }

    pub(crate) fn prompts(&self) -> Option<&Listing<Prompt, Guarded<PromptFn>>> {
        self.prompts.as_ref()
    }

    pub(crate) fn completion(&self) -> Option<&CompleteFn> {
        self.complete.as_ref()
    }

    /// Scopes that imply others.
    pub(crate) fn hierarchy(&self) -> &ScopeHierarchy {
        &self.shared.hierarchy
    }

    /// The declared scopes, when the server has a vocabulary.
    pub(crate) fn vocabulary(&self) -> Option<&'static Vocabulary> {
        self.vocabulary
    }

    /// The scopes to advertise by default: the vocabulary's, else every
    /// scope a tool names; sorted, each once.
    pub(crate) fn advertised_scopes(&self) -> Vec<String> {
        match self.vocabulary {
            Some(vocabulary) => vocabulary.sorted_scopes(),
            None => self.scopes(),
        }
    }

    /// Every scope a tool, resource or prompt names, sorted, each once.
    pub(crate) fn scopes(&self) -> Vec<String> {
        let mut scopes: Vec<String> = self
            .permissions()
            .items
            .into_iter()
            .flat_map(|p| p.scopes)
            .map(|r| r.scope)
            .collect();
        scopes.sort();
        scopes.dedup();
        scopes
    }

    /// Whether calls of `name` need rmcp's request context (the tool takes
    /// a `ToolContext`); `false` for a tool not served.
    pub(crate) fn tool_needs_request(&self, name: &str) -> bool {
        self.tools
            .get(name)
            .is_some_and(|(_, def)| def.needs_request)
    }

    /// Calls the tool `name` as a caller holding `token` would (scope check
    /// included), without an rmcp request context: in process, or on the
    /// direct path, which gives the HTTP request's audit id.
    pub(crate) async fn call_tool(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        token: Option<AccessToken>,
        audit_id: Option<crate::audit::RequestId>,
    ) -> Result<CallToolResult, ErrorData> {
        let Some((listed, &def)) = self.tools.get(name) else {
            return Err(tool::unknown_tool(name));
        };
        let mut cx = CallContext::new(def.name, arguments, token, self.shared.clone(), None);
        cx.request_id = audit_id;
        cx.read_only = is_read_only(listed);
        tool::run(def, cx).await
    }

    /// A `tools/call` over MCP: a retry's `requestState` is checked first
    /// (`-32602` when it fails), and the result asks the client for input
    /// when the tool asked a question not yet answered.
    pub(crate) async fn call_tool_over_mcp(
        &self,
        params: CallToolRequestParams,
        token: Option<AccessToken>,
        request: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let Some((listed, &def)) = self.tools.get(&params.name) else {
            return Err(tool::unknown_tool(&params.name));
        };
        let inputs = Arc::new(input::Inputs::for_call(
            &self.shared.sealer,
            def.name,
            params.arguments.as_ref(),
            token.as_ref(),
            &request,
            params.input_responses,
            params.request_state.as_deref(),
        )?);
        let mut cx = CallContext::new(
            def.name,
            params.arguments,
            token,
            self.shared.clone(),
            Some(request),
        );
        cx.read_only = is_read_only(listed);
        cx.inputs = inputs.clone();
        let result = tool::run(def, cx).await?;
        Ok(match inputs.required(&self.shared.sealer) {
            Some(required) => CallToolResponse::InputRequired(required),
            None => CallToolResponse::Complete(result),
        })
    }
}

/// Whether the tool is marked read-only.
fn is_read_only(tool: &Tool) -> bool {
    tool.annotations
        .as_ref()
        .and_then(|a| a.read_only_hint)
        .unwrap_or(false)
}

/// The tools in listing order, each once; a name used twice, a state a
/// tool takes but the server lacks, or a scope that is malformed or outside
/// the vocabulary is an error.
fn tool_listing(
    defs: Vec<&'static ToolDef>,
    states: &StateMap,
    vocabulary: Option<&'static Vocabulary>,
) -> Result<Listing<Tool, &'static ToolDef>, Error> {
    let mut kept: Vec<&'static ToolDef> = Vec::with_capacity(defs.len());
    for def in defs {
        if let Some(first) = kept.iter().find(|d| d.name == def.name) {
            if std::ptr::eq(*first, def) {
                continue; // the same tool named twice with .tool::<T>()
            }
            return Err(Error::DuplicateTool {
                name: def.name.to_owned(),
                first: first.location,
                second: def.location,
            });
        }
        check_states(("tool", def.name, def.location), def.states, states)?;
        check_scopes(("tool", def.name, def.location), &def.scopes, vocabulary)?;
        kept.push(def);
    }
    Listing::new(kept.into_iter().map(|d| ((d.describe)(), d))).map_err(|d| {
        // `describe` names the tool as `def.name` does, so this cannot happen.
        d.into_error::<Tool>("#[tool]")
    })
}

/// Every `State<T>` an item takes is one the server has.
fn check_states(
    item: (&'static str, &'static str, &'static str),
    takes: &[fn() -> StateKey],
    states: &StateMap,
) -> Result<(), Error> {
    let (kind, name, location) = item;
    match takes.iter().map(|s| s()).find(|k| !states.contains(k.id)) {
        Some(key) => Err(Error::MissingState {
            kind,
            name,
            location,
            state: key.name,
        }),
        None => Ok(()),
    }
}

/// The macro-declared resources and prompts (those named, else every one
/// in the binary), then the builder's.
#[allow(clippy::type_complexity)]
fn declared_items(
    named: Option<Vec<resource::DeclaredItem>>,
    resources: Vec<Declared>,
    prompts: Vec<(Prompt, Guarded<PromptFn>)>,
    states: &StateMap,
    vocabulary: Option<&'static Vocabulary>,
) -> Result<(Vec<Declared>, Vec<(Prompt, Guarded<PromptFn>)>), Error> {
    use resource::DeclaredItem;
    let declared = named.unwrap_or_else(|| {
        let resources = resource::registered()
            .into_iter()
            .map(DeclaredItem::Resource);
        let prompts = prompt::registered().into_iter().map(DeclaredItem::Prompt);
        resources.chain(prompts).collect()
    });
    let mut all_resources = Vec::new();
    let mut all_prompts = Vec::new();
    for item in declared {
        match item {
            DeclaredItem::Resource(def) => {
                check_states(("resource", def.uri, def.location), def.states, states)?;
                check_scopes(("resource", def.uri, def.location), &def.scopes, vocabulary)?;
                all_resources.push(resource::from_def(def));
            }
            DeclaredItem::Prompt(def) => {
                check_states(("prompt", def.name, def.location), def.states, states)?;
                check_scopes(("prompt", def.name, def.location), &def.scopes, vocabulary)?;
                all_prompts.push(prompt::from_def(def));
            }
        }
    }
    const BUILDER: &str = "McpServerBuilder";
    for r in &resources {
        let (name, rule) = match r {
            Declared::Resource(r, rule, _) => (r.uri.as_str(), rule),
            Declared::Template(t, rule, _) => (t.uri_template.as_str(), rule),
        };
        check_scopes(("resource", name, BUILDER), rule, vocabulary)?;
    }
    for (p, g) in &prompts {
        check_scopes(("prompt", &p.name, BUILDER), &g.rule, vocabulary)?;
    }
    all_resources.extend(resources);
    all_prompts.extend(prompts);
    Ok((all_resources, all_prompts))
}

/// Each scope `rule` names is one scope token, and declared when there is
/// a vocabulary; `item` is the kind, name and declaration site of what it
/// guards.
fn check_scopes(
    item: (&'static str, &str, &'static str),
    rule: &ScopeRule,
    vocabulary: Option<&'static Vocabulary>,
) -> Result<(), Error> {
    let (kind, name, location) = item;
    for &scope in rule.scopes() {
        if !is_scope_token(scope) {
            return Err(Error::InvalidScope {
                kind,
                name: name.to_owned(),
                location,
                scope,
            });
        }
        if let Some(v) = vocabulary.filter(|v| !v.contains(scope)) {
            return Err(Error::ScopeNotInVocabulary {
                kind,
                name: name.to_owned(),
                location,
                scope,
                vocabulary: v.describe(),
                suggestion: v.closest(scope),
            });
        }
    }
    Ok(())
}

fn capabilities(resources: bool, prompts: bool, completions: bool) -> ServerCapabilities {
    // Logging is deprecated by SEP-2577, but clients of the earlier
    // revisions still ask for it.
    #[allow(deprecated)]
    let mut capabilities = ServerCapabilities::builder()
        .enable_tools()
        .enable_logging()
        .build();
    if resources {
        // `subscribe`: updates on `subscriptions/listen` streams (2026-07-28;
        // the handler removes it for the revisions before, whose
        // `resources/subscribe` has no stream here). No `listChanged`: the
        // catalog is fixed when the server is built, so no list changes.
        let mut resources = ResourcesCapability::default();
        resources.subscribe = Some(true);
        capabilities.resources = Some(resources);
    }
    if prompts {
        capabilities.prompts = Some(PromptsCapability::default());
    }
    if completions {
        capabilities.completions = Some(JsonObject::new());
    }
    capabilities
}
