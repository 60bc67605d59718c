//! RFC 9728 protected resource metadata: where clients learn which
//! authorization server to ask for a token, and for which scopes.

use url::Url;

use crate::reply::Document;

/// `{origin}/.well-known/oauth-protected-resource{/path of the endpoint}`.
pub(crate) fn url(endpoint: &Url) -> String {
    let mut origin = endpoint.clone();
    origin.set_path("");
    format!(
        "{}.well-known/oauth-protected-resource{}",
        origin.as_str(),
        endpoint.path()
    )
}

/// The document, serialised once.
pub(crate) fn document(
    endpoint: &Url,
    authorization_servers: &[String],
    scopes_supported: &[String],
    resource_name: &str,
) -> Document {
    #[derive(serde::Serialize)]
    struct Metadata<'a> {
        resource: &'a str,
        authorization_servers: &'a [String],
        scopes_supported: &'a [String],
        bearer_methods_supported: [&'a str; 1],
        resource_name: &'a str,
    }
    let body = serde_json::to_vec(&Metadata {
        resource: endpoint.as_str(),
        authorization_servers,
        scopes_supported,
        bearer_methods_supported: ["header"],
        resource_name,
    })
    .expect("metadata serialises");
    Document::public(body)
}
