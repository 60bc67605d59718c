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
    /// A tool takes `State<T>` but no such state was added to the server.
    #[error(
        "{kind} `{name}` takes State<{state}>, but the server has no such state; add it with McpServerBuilder::state"
    )]
    MissingState {
        /// What takes it: `tool`, `resource` or `prompt`.
        kind: &'static str,
        /// Its name (a resource's URI).
        name: &'static str,
        /// The state's type.
        state: &'static str,
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

impl Error {
    pub(crate) fn config(name: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            name: name.into(),
            message: message.into(),
        }
    }
}
