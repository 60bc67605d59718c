//! What a server serves: its tools, resources, resource templates, prompts
//! and completion hook, the state handed to tools, the scope hierarchy and
//! the server's own description. Built once by [`Catalog::build`]; read by
//! the MCP handler and by in-process calls.

pub(crate) mod listing;
pub(crate) mod prompt;
pub(crate) mod resource;
pub(crate) mod result;
pub mod scopes;
pub(crate) mod tool;
pub(crate) mod tool_error;
pub(crate) mod uri_template;
pub(crate) mod vocabulary;

use std::sync::Arc;

use rmcp::{
    ErrorData, RoleServer,
    model::{
        CallToolResult, Implementation, JsonObject, Prompt, PromptsCapability, Resource,
        ResourceTemplate, ResourcesCapability, ServerCapabilities, ServerConfig, Tool,
    },
    service::RequestContext,
};

use crate::{error::Error, token::AccessToken};
use listing::Listing;
use prompt::{CompleteFn, PromptFn};
use resource::{ReadFn, Resources, TemplateFn};
use scopes::{ScopeHierarchy, ScopeRule, is_scope_token};
use tool::{CallContext, Shared, StateMap, ToolDef};
use vocabulary::Vocabulary;

/// What the server builder collects for the catalog, as given.
pub(crate) struct CatalogBuilder {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) title: Option<String>,
    pub(crate) instructions: Option<String>,
    /// `None`: every `#[tool]` in the binary.
    pub(crate) tools: Option<Vec<&'static ToolDef>>,
    pub(crate) resources: Vec<(Resource, ReadFn)>,
    pub(crate) templates: Vec<(ResourceTemplate, TemplateFn)>,
    pub(crate) prompts: Vec<(Prompt, PromptFn)>,
    pub(crate) complete: Option<CompleteFn>,
    pub(crate) states: StateMap,
    pub(crate) hierarchy: ScopeHierarchy,
    /// The declared scopes, when the server has a vocabulary.
    pub(crate) vocabulary: Option<&'static Vocabulary>,
    pub(crate) tool_timeout: Option<std::time::Duration>,
}

impl Default for CatalogBuilder {
    fn default() -> Self {
        Self {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            title: None,
            instructions: None,
            tools: None,
            resources: Vec::new(),
            templates: Vec::new(),
            prompts: Vec::new(),
            complete: None,
            states: StateMap::default(),
            hierarchy: ScopeHierarchy::default(),
            vocabulary: None,
            tool_timeout: Some(tool::DEFAULT_TOOL_TIMEOUT),
        }
    }
}

/// What is served. See the module docs.
pub(crate) struct Catalog {
    tools: Listing<Tool, &'static ToolDef>,
    /// `None` when the server serves no resource (the methods are not offered).
    resources: Option<Resources>,
    prompts: Option<Listing<Prompt, PromptFn>>,
    complete: Option<CompleteFn>,
    shared: Arc<Shared>,
    vocabulary: Option<&'static Vocabulary>,
    info: ServerConfig,
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
        let resources = Resources::build(b.resources, b.templates)?;
        let resources = (!resources.is_empty()).then_some(resources);
        let prompts = Listing::new(b.prompts)
            .map_err(|d| d.into_error::<Prompt>("McpServerBuilder::prompt"))?;
        let prompts = (!prompts.is_empty()).then_some(prompts);

        let mut server = Implementation::new(b.name, b.version);
        if let Some(t) = b.title {
            server = server.with_title(t);
        }
        let capabilities =
            capabilities(resources.is_some(), prompts.is_some(), b.complete.is_some());
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
            }),
            vocabulary: b.vocabulary,
            info,
        })
    }

    /// The server's description and capabilities, as `initialize` answers.
    pub(crate) fn info(&self) -> &ServerConfig {
        &self.info
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

    pub(crate) fn prompts(&self) -> Option<&Listing<Prompt, PromptFn>> {
        self.prompts.as_ref()
    }

    pub(crate) fn completion(&self) -> Option<&CompleteFn> {
        self.complete.as_ref()
    }

    /// Scopes that imply others.
    pub(crate) fn hierarchy(&self) -> &ScopeHierarchy {
        &self.shared.hierarchy
    }

    /// The scope rule of every tool, by name.
    pub(crate) fn tool_rules(&self) -> impl Iterator<Item = (&'static str, ScopeRule)> + '_ {
        self.tools.iter().map(|(_, def)| (def.name, def.scopes))
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

    /// Every scope a tool names, sorted, each once.
    pub(crate) fn scopes(&self) -> Vec<String> {
        let mut scopes: Vec<String> = self
            .tool_rules()
            .flat_map(|(_, rule)| rule.scopes())
            .map(|s| (*s).to_owned())
            .collect();
        scopes.sort();
        scopes.dedup();
        scopes
    }

    /// Calls the tool `name` as a caller holding `token` would (scope check
    /// included); `request` is the MCP request, when there is one.
    pub(crate) async fn call_tool(
        &self,
        name: &str,
        arguments: Option<JsonObject>,
        token: Option<AccessToken>,
        request: Option<RequestContext<RoleServer>>,
    ) -> Result<CallToolResult, ErrorData> {
        let Some((listed, &def)) = self.tools.get(name) else {
            return Err(tool::unknown_tool(name));
        };
        let mut cx = CallContext::new(def.name, arguments, token, self.shared.clone(), request);
        cx.read_only = listed
            .annotations
            .as_ref()
            .and_then(|a| a.read_only_hint)
            .unwrap_or(false);
        tool::run(def, cx).await
    }
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
        if let Some(key) = def
            .states
            .iter()
            .map(|s| s())
            .find(|k| !states.contains(k.id))
        {
            return Err(Error::MissingState {
                tool: def.name,
                state: key.name,
            });
        }
        check_scopes(def, vocabulary)?;
        kept.push(def);
    }
    Listing::new(kept.into_iter().map(|d| ((d.describe)(), d))).map_err(|d| {
        // `describe` names the tool as `def.name` does, so this cannot happen.
        d.into_error::<Tool>("#[tool]")
    })
}

/// Each scope `def` requires is one scope token, and declared when there is
/// a vocabulary.
fn check_scopes(def: &ToolDef, vocabulary: Option<&'static Vocabulary>) -> Result<(), Error> {
    for &scope in def.scopes.scopes() {
        if !is_scope_token(scope) {
            return Err(Error::InvalidScope {
                tool: def.name,
                location: def.location,
                scope,
            });
        }
        if let Some(v) = vocabulary.filter(|v| !v.contains(scope)) {
            return Err(Error::ScopeNotInVocabulary {
                tool: def.name,
                location: def.location,
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
        // No `subscribe` and no `listChanged`: a stateless server has no
        // session to send notifications on.
        capabilities.resources = Some(ResourcesCapability::default());
    }
    if prompts {
        capabilities.prompts = Some(PromptsCapability::default());
    }
    if completions {
        capabilities.completions = Some(JsonObject::new());
    }
    capabilities
}
