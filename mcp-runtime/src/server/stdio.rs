//! Serving over stdio, as desktop clients launch servers: one client on the
//! process's stdin and stdout, newline-delimited JSON-RPC, no HTTP and so no
//! OAuth. Who the caller is comes from explicit configuration, a
//! [`StdioIdentity`]; the scope rules are the same as over HTTP.

use std::{fmt, sync::Arc};

use rmcp::service::ServerInitializeError;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{
    McpServer,
    caller::{Configured, Verified},
    handler::Handler,
};
use crate::{auth::TokenVerifier, env, error::Error, gate::check_scopes, token::AccessToken};

const TOKEN_VAR: &str = StdioIdentity::TOKEN_VAR;
const SUBJECT_VAR: &str = StdioIdentity::SUBJECT_VAR;
const SCOPES_VAR: &str = StdioIdentity::SCOPES_VAR;

/// Who calls a server served over stdio.
///
/// Over HTTP every request carries a bearer token; over stdio there is no
/// request to carry one, so the caller is configured when the server is
/// launched, one of:
///
/// - [`anonymous`](Self::anonymous) (the default): no token, so only items
///   marked `public` are served; every scoped tool, resource and prompt is
///   refused as it would be for a caller without the scope.
/// - [`token`](Self::token): a bearer token, verified by the server's own
///   verifier (its [`auth`](crate::McpServerBuilder::auth)) when serving
///   starts and again for every request, so an expired or revoked token
///   stops working as it would over HTTP.
/// - [`local`](Self::local): a named local identity with exactly the scopes
///   given, for a server that has no authorization server. Each scope must
///   be one scope token and, with a vocabulary, one it declares.
///
/// There is no "every scope" identity: a scope is held only if it is named.
#[derive(Clone)]
pub struct StdioIdentity(Kind);

#[derive(Clone)]
enum Kind {
    Anonymous,
    Token {
        token: String,
        setting: &'static str,
    },
    Local {
        subject: String,
        scopes: Vec<String>,
        setting: &'static str,
    },
}

impl StdioIdentity {
    /// The variable [`from_env`](Self::from_env) reads a bearer token from.
    pub const TOKEN_VAR: &str = "MCP_STDIO_TOKEN";
    /// The variable [`from_env`](Self::from_env) reads a local subject from.
    pub const SUBJECT_VAR: &str = "MCP_STDIO_SUBJECT";
    /// The variable [`from_env`](Self::from_env) reads the local subject's
    /// scopes from (space- or comma-separated).
    pub const SCOPES_VAR: &str = "MCP_STDIO_SCOPES";

    /// No identity: only `public` items are served.
    pub fn anonymous() -> Self {
        Self(Kind::Anonymous)
    }

    /// The holder of `token`, a bearer token the server's verifier accepts.
    pub fn token(token: impl Into<String>) -> Self {
        Self(Kind::Token {
            token: token.into(),
            setting: "StdioIdentity::token",
        })
    }

    /// The local identity `subject` holding exactly `scopes`.
    pub fn local<S: Into<String>>(
        subject: impl Into<String>,
        scopes: impl IntoIterator<Item = S>,
    ) -> Self {
        Self(Kind::Local {
            subject: subject.into(),
            scopes: scopes.into_iter().map(Into::into).collect(),
            setting: "StdioIdentity::local",
        })
    }

    /// The identity the environment configures, as a desktop client's
    /// server configuration sets it: [`MCP_STDIO_TOKEN`](Self::TOKEN_VAR) for a
    /// token, or [`MCP_STDIO_SUBJECT`](Self::SUBJECT_VAR) with
    /// [`MCP_STDIO_SCOPES`](Self::SCOPES_VAR) for a local identity; anonymous when
    /// none is set. Setting both kinds, or scopes without a subject, is an
    /// error.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_vars(
            env::var(TOKEN_VAR)?,
            env::var(SUBJECT_VAR)?,
            env::var(SCOPES_VAR)?,
        )
    }

    fn from_vars(
        token: Option<String>,
        subject: Option<String>,
        scopes: Option<String>,
    ) -> Result<Self, Error> {
        match (token, subject, scopes) {
            (Some(_), Some(_), _) | (Some(_), _, Some(_)) => Err(Error::config(
                TOKEN_VAR,
                format!("set either {TOKEN_VAR} or {SUBJECT_VAR} (with {SCOPES_VAR}), not both"),
            )),
            (Some(token), None, None) => Ok(Self(Kind::Token {
                token,
                setting: TOKEN_VAR,
            })),
            (None, Some(subject), scopes) => Ok(Self(Kind::Local {
                subject,
                scopes: scopes
                    .unwrap_or_default()
                    .split([' ', ','])
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect(),
                setting: SCOPES_VAR,
            })),
            (None, None, Some(_)) => Err(Error::config(
                SCOPES_VAR,
                format!("scopes need {SUBJECT_VAR}, the local identity that holds them"),
            )),
            (None, None, None) => Ok(Self::anonymous()),
        }
    }

    /// The caller this identity stands for, checked against `server`.
    async fn configure(self, server: &McpServer) -> Result<Configured, Error> {
        match self.0 {
            Kind::Anonymous => Ok(Configured::Fixed(None)),
            Kind::Token { token, setting } => {
                let verifier = server.gate.verifier().cloned().ok_or_else(|| {
                    Error::config(
                        setting,
                        format!(
                            "the server has no authentication to verify the token with; \
                             configure one (McpServerBuilder::auth), or name a local identity \
                             with {SUBJECT_VAR} and {SCOPES_VAR}"
                        ),
                    )
                })?;
                verifier
                    .verify(&token)
                    .await
                    .map_err(|e| Error::config(setting, e.to_string()))?;
                Ok(Configured::Verified(Arc::new(Verified { token, verifier })))
            }
            Kind::Local {
                subject,
                scopes,
                setting,
            } => {
                if subject.is_empty() {
                    return Err(Error::config(setting, "the local subject is empty"));
                }
                check_scopes(setting, &scopes, server.vocabulary())?;
                let token = AccessToken::new("", subject).with_scopes(scopes);
                Ok(Configured::Fixed(Some(token)))
            }
        }
    }
}

/// Never shows the token.
impl fmt::Debug for StdioIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Kind::Anonymous => f.write_str("StdioIdentity::Anonymous"),
            Kind::Token { .. } => f.write_str("StdioIdentity::Token(..)"),
            Kind::Local {
                subject, scopes, ..
            } => f
                .debug_struct("StdioIdentity::Local")
                .field("subject", subject)
                .field("scopes", scopes)
                .finish(),
        }
    }
}

impl McpServer {
    /// Serves over the process's stdin and stdout until the client closes
    /// them, as desktop clients launch MCP servers, with `identity` as the
    /// caller of every request.
    ///
    /// Everything is served as over HTTP, with the same scope rules and
    /// audit events; protocol revisions 2025-03-26 to 2026-07-28 (with or
    /// without `initialize`). Stdout carries the protocol alone: send logs
    /// to stderr.
    ///
    /// ```no_run
    /// use mcp_runtime::{McpServer, StdioIdentity, tool};
    ///
    /// /// Greets the desktop user.
    /// #[tool(scope = "greet")]
    /// fn greet_desktop_user(token: mcp_runtime::AccessToken) -> String {
    ///     format!("Hello, {}!", token.subject())
    /// }
    ///
    /// #[tokio::main]
    /// async fn main() -> Result<(), mcp_runtime::Error> {
    ///     let server = McpServer::builder().tool::<greet_desktop_user>().build()?;
    ///     // MCP_STDIO_SUBJECT=me MCP_STDIO_SCOPES=greet: the tool works;
    ///     // with nothing set, it is refused.
    ///     server.serve_stdio(StdioIdentity::from_env()?).await
    /// }
    /// ```
    pub async fn serve_stdio(&self, identity: StdioIdentity) -> Result<(), Error> {
        self.serve_io(identity, rmcp::transport::io::stdio_pipes())
            .await
    }

    /// [`serve_stdio`](Self::serve_stdio) over another pair of byte streams
    /// (read, write): a socket, or a test's in-memory pipe.
    pub async fn serve_io<R, W>(
        &self,
        identity: StdioIdentity,
        (read, write): (R, W),
    ) -> Result<(), Error>
    where
        R: AsyncRead + Send + Unpin + 'static,
        W: AsyncWrite + Send + Unpin + 'static,
    {
        let configured = identity.configure(self).await?;
        let handler = Handler::configured(self.catalog.clone(), configured);
        let running = match rmcp::serve_server(handler, (read, write)).await {
            Ok(running) => running,
            // Closed before the first message: nothing to serve.
            Err(ServerInitializeError::ConnectionClosed(_)) => return Ok(()),
            Err(e) => return Err(Error::Io(std::io::Error::other(e))),
        };
        running
            .waiting()
            .await
            .map(drop)
            .map_err(|e| Error::Io(std::io::Error::other(e)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(
        token: Option<&str>,
        subject: Option<&str>,
        scopes: Option<&str>,
    ) -> Result<String, String> {
        let own = |v: Option<&str>| v.map(str::to_owned);
        StdioIdentity::from_vars(own(token), own(subject), own(scopes))
            .map(|i| format!("{i:?}"))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_environment_names_one_identity_or_none() {
        assert_eq!(vars(None, None, None).unwrap(), "StdioIdentity::Anonymous");
        assert_eq!(
            vars(Some("secret"), None, None).unwrap(),
            "StdioIdentity::Token(..)"
        );
        assert_eq!(
            vars(None, Some("me"), Some("todo:read, todo:write")).unwrap(),
            r#"StdioIdentity::Local { subject: "me", scopes: ["todo:read", "todo:write"] }"#
        );
        assert_eq!(
            vars(None, Some("me"), None).unwrap(),
            r#"StdioIdentity::Local { subject: "me", scopes: [] }"#
        );
        assert_eq!(
            vars(Some("secret"), Some("me"), None).unwrap_err(),
            "MCP_STDIO_TOKEN: set either MCP_STDIO_TOKEN or MCP_STDIO_SUBJECT (with MCP_STDIO_SCOPES), not both"
        );
        assert_eq!(
            vars(Some("secret"), None, Some("a")).unwrap_err(),
            "MCP_STDIO_TOKEN: set either MCP_STDIO_TOKEN or MCP_STDIO_SUBJECT (with MCP_STDIO_SCOPES), not both"
        );
        assert_eq!(
            vars(None, None, Some("todo:read")).unwrap_err(),
            "MCP_STDIO_SCOPES: scopes need MCP_STDIO_SUBJECT, the local identity that holds them"
        );
    }
}
