//! The HTTP app: `/mcp` (the gate, then rmcp's transport, then the
//! handler), `/health`, the protected resource metadata, and the extra
//! routes.

use std::{sync::Arc, time::Duration};

use axum::Router;
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::never::NeverSessionManager,
};
use tokio_util::sync::CancellationToken;

use super::{McpServer, handler::Handler};
use crate::{gate::public_cors, reply::Document};

impl McpServer {
    /// The whole app as an axum `Router`: `/mcp`, `/health` and, with
    /// authentication, the protected resource metadata, to merge into your
    /// own app and serve yourself. The per-request limits come along; the
    /// connection limits (header timeout, connection cap, shutdown grace)
    /// are those of your server. To keep them, serve with
    /// [`serve_on_with`](Self::serve_on_with) and add your routes in its
    /// `wrap`.
    pub fn into_router(self) -> Router {
        self.router(CancellationToken::new())
    }

    pub(crate) fn router(self, shutdown: CancellationToken) -> Router {
        let endpoint = &self.served.endpoint;
        let guarded = self.gate.guard(self.transport(shutdown));
        let mut app = Router::new()
            .route_service(endpoint.path(), guarded)
            .layer(self.gate.cors())
            .route("/health", Document::new(r#"{"status":"ok"}"#).route());
        if let Some(metadata) = self.gate.metadata_routes(endpoint) {
            app = app.merge(metadata.layer(public_cors()));
        }
        if let Some(extra) = self.served.routes.clone() {
            app = app.merge(extra.layer(public_cors()));
        }
        app
    }

    /// rmcp's stateless Streamable HTTP transport over the handler.
    pub(crate) fn transport(
        &self,
        shutdown: CancellationToken,
    ) -> StreamableHttpService<Handler, NeverSessionManager> {
        let config = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(self.served.json_response)
            .with_allowed_hosts(self.gate.hosts().iter().cloned())
            .with_max_request_body_bytes(self.gate.max_body_bytes())
            .with_sse_keep_alive(Some(Duration::from_secs(15)))
            .with_cancellation_token(shutdown);
        let handler = Handler(self.catalog.clone());
        StreamableHttpService::new(
            move || Ok(handler.clone()),
            Arc::new(NeverSessionManager::default()),
            config,
        )
    }
}

#[cfg(test)]
mod tests {
    //! The transport's plain-text errors, which the gate rewrites by their
    //! wording: pinned here, so an rmcp release that rewords them fails loudly.

    use axum::{body::Body, http::Request};
    use tower::ServiceExt;

    use crate::{McpServer, gate::RMCP_TEXT};

    async fn transport_text(body: &'static str) -> String {
        let server = McpServer::builder().build().unwrap();
        let request = Request::post("/mcp")
            .header("content-type", "application/json")
            .header("accept", "application/json, text/event-stream")
            .header("host", "localhost")
            .body(Body::from(body))
            .unwrap();
        let transport = server.transport(Default::default());
        let response = transport.oneshot(request).await.unwrap();
        let bytes = axum::body::to_bytes(Body::new(response.into_body()), 1 << 16)
            .await
            .unwrap();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[tokio::test]
    async fn the_transport_wording_the_gate_rewrites_is_pinned() {
        let text = transport_text(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#).await;
        assert!(
            text.contains(RMCP_TEXT.not_a_message),
            "the transport's answer to a batch changed since {}: {text:?}; update RMCP_TEXT in gate/rewrite.rs",
            RMCP_TEXT.release
        );
        let text = transport_text("{not json").await;
        assert!(
            text.starts_with(RMCP_TEXT.not_json),
            "the transport's answer to a body that is not JSON changed since {}: {text:?}; update RMCP_TEXT in gate/rewrite.rs",
            RMCP_TEXT.release
        );
    }
}
