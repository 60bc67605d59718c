//! A custom `TokenVerifier`: API keys looked up in a table instead of JWTs.
//!
//! ```sh
//! PORT=3002 cargo run -p mcp-runtime --example custom_verifier
//! curl -s http://127.0.0.1:3002/mcp -H 'Authorization: Bearer key-for-ada' \
//!   -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
//!   -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whose_key","arguments":{}}}'
//! ```
//!
//! Any other key is refused with `401` and a `WWW-Authenticate: Bearer`
//! challenge naming the error; a key without `reports:read` gets the scope
//! refusal. The protected resource metadata names the authorization server
//! given with `authorization_server` (here a placeholder).

use std::collections::HashMap;

use mcp_runtime::{
    AccessToken, McpServer,
    auth::{BoxFuture, TokenVerifier, VerifyError},
    tool,
};

/// API keys and who holds them, with their scopes.
struct ApiKeys(HashMap<&'static str, (&'static str, &'static [&'static str])>);

impl TokenVerifier for ApiKeys {
    fn verify<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<AccessToken, VerifyError>> {
        Box::pin(async move {
            // Keep the description free of the key itself: it is sent to the client.
            let (subject, scopes) = self
                .0
                .get(token)
                .ok_or_else(|| VerifyError::Invalid("unknown API key".into()))?;
            Ok(AccessToken::new(token, *subject).with_scopes(scopes.iter().copied()))
        })
    }
}

/// Who holds the key the call came with.
#[tool(scope = "reports:read", read_only)]
fn whose_key(token: AccessToken) -> String {
    format!("This key belongs to {}.", token.subject())
}

#[tokio::main]
async fn main() -> Result<(), mcp_runtime::Error> {
    let keys = ApiKeys(HashMap::from([
        ("key-for-ada", ("ada", &["reports:read"][..])),
        ("key-for-bob", ("bob", &[][..])),
    ]));
    let server = McpServer::builder()
        .from_env()?
        .tool::<whose_key>()
        .authorization_server("https://auth.example.com")
        .auth(keys)
        .build()?;
    println!("serving {}", server.endpoint());
    server.serve().await
}
