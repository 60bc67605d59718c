//! Errors raised while configuring or starting a server.

/// Why a server could not be built or started.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Two tools share one name.
    #[error(
        "two tools are named `{name}`: one at {first}, one at {second}; give one of them #[tool(name = \"...\")]"
    )]
    DuplicateTool {
        /// The shared name.
        name: String,
        /// Where the first one is declared.
        first: &'static str,
        /// Where the second one is declared.
        second: &'static str,
    },
    /// A tool, resource or prompt takes `State<T>` but no such state was
    /// added to the server.
    #[error(
        "{kind} `{name}` (declared at {location}) takes State<{state}>, but the server has no such state; add it with McpServerBuilder::state"
    )]
    MissingState {
        /// What takes it: `tool`, `resource` or `prompt`.
        kind: &'static str,
        /// Its name (a resource's URI).
        name: &'static str,
        /// Where it is declared (`file:line`).
        location: &'static str,
        /// The state's type.
        state: &'static str,
    },
    /// A tool, resource or prompt requires a string that is not one RFC 6749
    /// scope token (a constant named in `#[tool(scope = CONST)]` can hold
    /// anything).
    #[error(
        "{kind} `{name}` (declared at {location}) requires the scope {scope:?}, which is not one RFC 6749 scope token (printable ASCII except space, `\"` and `\\`); fix the scope it names"
    )]
    InvalidScope {
        /// `tool`, `resource` or `prompt`.
        kind: &'static str,
        /// Its name (a resource's URI or template).
        name: String,
        /// Where it is declared (`file:line`, or `McpServerBuilder`).
        location: &'static str,
        /// The scope as written.
        scope: &'static str,
    },
    /// A tool, resource or prompt requires a scope that the server's
    /// vocabulary does not declare.
    #[error(
        "{kind} `{name}` (declared at {location}) requires the scope `{scope}`, which the vocabulary {vocabulary} does not declare{}; declare it there or require one of its scopes",
        did_you_mean(*.suggestion)
    )]
    ScopeNotInVocabulary {
        /// `tool`, `resource` or `prompt`.
        kind: &'static str,
        /// Its name (a resource's URI or template).
        name: String,
        /// Where it is declared (`file:line`, or `McpServerBuilder`).
        location: &'static str,
        /// The scope the vocabulary lacks.
        scope: &'static str,
        /// The vocabulary's name, and where it is declared when known.
        vocabulary: String,
        /// The declared scope closest to `scope`, if one is close.
        suggestion: Option<&'static str>,
    },
    /// The vocabulary given to the server contradicts itself.
    #[error("vocabulary {vocabulary}: {problem}")]
    InvalidVocabulary {
        /// The vocabulary's name, and where it is declared when known.
        vocabulary: String,
        /// What is wrong.
        problem: String,
    },
    /// An environment variable or setting is missing or malformed.
    #[error("{name}: {message}")]
    Config {
        /// The variable or setting.
        name: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// Binding or serving failed.
    #[error("server I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// `` (did you mean `x`?)`` for a suggestion, else nothing.
fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion
        .map(|s| format!(" (did you mean `{s}`?)"))
        .unwrap_or_default()
}

impl Error {
    pub(crate) fn config(name: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            name: name.into(),
            message: message.into(),
        }
    }
}
