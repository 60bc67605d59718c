//! `GET /.well-known/oauth-authorization-server` on the MCP origin, for
//! clients that look for the authorization server's metadata there: the
//! upstream document, forwarded.

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, http::StatusCode, response::Response, routing::get};

use crate::{
    error::Error,
    reply::{Document, json_error},
};

/// How long a fetched document is served before it is fetched again.
const FRESH: Duration = Duration::from_secs(3600);

/// The route forwarding `upstream`'s document: cached for an hour, served
/// stale while the upstream fails. `setting` names the configuration the
/// upstream comes from, for errors.
pub(super) fn metadata_forwarder(upstream: String, setting: &str) -> Result<Router, Error> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| Error::config(setting, format!("HTTP client: {e}")))?;
    let forwarder = Arc::new(Forwarder {
        upstream,
        client,
        cached: Mutex::new(None),
    });
    let handler = move || {
        let forwarder = forwarder.clone();
        async move { forwarder.serve().await }
    };
    Ok(Router::new().route("/.well-known/oauth-authorization-server", get(handler)))
}

struct Forwarder {
    upstream: String,
    client: reqwest::Client,
    cached: Mutex<Option<(Instant, Bytes)>>,
}

impl Forwarder {
    async fn serve(&self) -> Response {
        let cached = self.cached.lock().expect("cache lock").clone();
        if let Some((at, doc)) = &cached
            && at.elapsed() < FRESH
        {
            return Document::public(doc.clone()).response();
        }
        match self.fetch().await {
            Ok(doc) => {
                *self.cached.lock().expect("cache lock") = Some((Instant::now(), doc.clone()));
                Document::public(doc).response()
            }
            Err(why) => {
                tracing::warn!(upstream = %self.upstream, error = %why, "authorization server metadata unavailable");
                match cached {
                    Some((_, doc)) => Document::public(doc).response(),
                    None => json_error(
                        StatusCode::BAD_GATEWAY,
                        "temporarily_unavailable",
                        "The authorization server's metadata could not be fetched; retry shortly",
                    ),
                }
            }
        }
    }

    /// The upstream document, when it answers with JSON.
    async fn fetch(&self) -> Result<Bytes, String> {
        let fetched = async {
            let r = self.client.get(&self.upstream).send().await?;
            r.error_for_status()?.bytes().await
        };
        let doc = fetched.await.map_err(|e| e.to_string())?;
        serde_json::from_slice::<serde::de::IgnoredAny>(&doc).map_err(|_| "not JSON".to_owned())?;
        Ok(doc)
    }
}
