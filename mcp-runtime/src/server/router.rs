//! The HTTP app: `/mcp` (the gate, then rmcp's transport, then the
//! handler), `/health`, the protected resource metadata, and the routes
//! added on the builder; all of it behind the site policy.

use std::{
    convert::Infallible,
    sync::Arc,
    task::{Context, Poll},
    time::Duration,
};

use axum::{Router, extract::Request, response::Response};
use rmcp::transport::streamable_http_server::{
    StreamableHttpServerConfig, StreamableHttpService, session::never::NeverSessionManager,
};
use tokio_util::sync::CancellationToken;
use tower::{Layer, Service, ServiceExt};
use tower_http::cors::Cors;

use super::{McpServer, direct::Direct, handler::Handler};
use crate::{
    future::BoxFuture,
    gate::{Guarded, public_cors},
    reply::Document,
};

/// What the caller of the server's loop did to the app.
pub(crate) enum Extend<F> {
    /// Nothing.
    Nothing,
    /// A fallback for the requests the app does not route.
    Fallback(Router),
    /// Anything, layers included.
    Wrap(F),
}

/// rmcp's stateless transport over the handler.
pub(crate) type Transport = StreamableHttpService<Handler, NeverSessionManager>;

/// The app the server's loop serves. When nothing was layered on the
/// router, a request for the endpoint's path goes straight to the
/// endpoint's service (CORS, the gate, the direct path, the transport), the
/// very service the router holds at that path, without routing; any other
/// request goes to the router. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Endpoint(Arc<Split>);

/// The endpoint's own service, with CORS.
type EndpointService = Cors<Guarded<Direct<Transport>>>;

struct Split {
    /// The endpoint's path and service, unless the router was layered.
    mcp: Option<(Box<str>, EndpointService)>,
    rest: Router,
}

impl Service<Request> for Endpoint {
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        match &self.0.mcp {
            Some((path, mcp)) if request.uri().path() == &**path => {
                Box::pin(mcp.clone().oneshot(request))
            }
            _ => Box::pin(self.0.rest.clone().oneshot(request)),
        }
    }
}

impl McpServer {
    /// The whole app as an axum `Router`, to merge into your own app and
    /// serve with your own server: `/mcp`, `/health`, with authentication
    /// the protected resource metadata, and the routes added with
    /// [`routes`](crate::McpServerBuilder::routes) and
    /// [`routes_without_origin_check`](crate::McpServerBuilder::routes_without_origin_check).
    ///
    /// What comes along is what is a layer on this router, for its own
    /// routes: the Host and Origin policy (a foreign `Host` gets 403, as
    /// does a foreign `Origin` except on the routes any origin may call),
    /// the refusal of repeated security headers, and at `/mcp` the bearer
    /// check, the cap on requests in flight, the body size limit and the
    /// body timeout. Routes you merge into it afterwards are outside those
    /// layers. What does not come along is what the server's own loop does
    /// per connection: `TCP_NODELAY`, the header timeout (which also closes
    /// idle keep-alive connections), the cap on open connections, and the
    /// graceful shutdown that ends `/mcp` event streams after the shutdown
    /// grace (under `axum::serve`'s graceful shutdown, an open event stream
    /// holds it up until its client leaves).
    ///
    /// To keep all of it, serve your routes through the server instead:
    /// [`serve_with`](Self::serve_with), or
    /// [`serve_on_with`](Self::serve_on_with) for a listener and shutdown
    /// of your own; both also take a router that holds this one.
    ///
    /// ```
    /// use mcp_runtime::{McpServer, axum::{Router, routing::get}};
    ///
    /// let server = McpServer::builder().build()?;
    /// // To serve with your own `axum::serve`: `/version` is outside the
    /// // server's layers (no Host or Origin policy) and `/mcp` keeps them.
    /// let app: Router = Router::new()
    ///     .route("/version", get(|| async { "1.0" }))
    ///     .merge(server.into_router());
    /// # Ok::<(), mcp_runtime::Error>(())
    /// ```
    pub fn into_router(self) -> Router {
        let policy = self.served.policy.clone();
        self.app(CancellationToken::new()).layer(policy)
    }

    /// The app without the site policy (the server's loop puts it around
    /// the whole app it serves); `/mcp` event streams end when `shutdown`
    /// is cancelled.
    pub(crate) fn app(&self, shutdown: CancellationToken) -> Router {
        self.app_around(self.guarded(shutdown))
    }

    /// The app the server's loop serves, as its caller `extend`ed it: with
    /// `/mcp` answered without the router, unless a wrap may have layered
    /// the router (see [`Endpoint`]).
    pub(crate) fn split_app(
        &self,
        shutdown: CancellationToken,
        extend: Extend<impl FnOnce(Router) -> Router>,
    ) -> Endpoint {
        let guarded = self.guarded(shutdown);
        let endpoint = || {
            let path = self.served.endpoint.path().into();
            Some((path, self.gate.cors().layer(guarded.clone())))
        };
        let (mcp, rest) = match extend {
            Extend::Nothing => (endpoint(), self.app_around(guarded)),
            Extend::Fallback(app) => (endpoint(), self.app_around(guarded).fallback_service(app)),
            Extend::Wrap(wrap) => (None, wrap(self.app_around(guarded))),
        };
        Endpoint(Arc::new(Split { mcp, rest }))
    }

    /// The endpoint's own service: the gate, then the direct path (when it
    /// is on), then rmcp's transport.
    fn guarded(&self, shutdown: CancellationToken) -> Guarded<Direct<Transport>> {
        let direct = Direct::new(
            self.catalog.clone(),
            self.transport(shutdown),
            self.served.direct_answered.clone(),
            self.served.direct,
            !self.served.json_response,
        );
        self.gate.guard(direct)
    }

    /// The app with `guarded` at the endpoint.
    fn app_around(&self, guarded: Guarded<Direct<Transport>>) -> Router {
        let mut app = Router::new()
            .route_service(self.served.endpoint.path(), guarded)
            .layer(self.gate.cors())
            .route("/health", Document::new(r#"{"status":"ok"}"#).route());
        if let Some(routes) = self.served.routes.clone() {
            app = app.merge(routes.layer(public_cors()));
        }
        if let Some(routes) = self.served.any_origin.clone() {
            app = app.merge(routes.layer(public_cors()));
        }
        app
    }

    /// rmcp's stateless Streamable HTTP transport over the handler.
    pub(crate) fn transport(&self, shutdown: CancellationToken) -> Transport {
        let config = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(self.served.json_response)
            .with_allowed_hosts(self.gate.hosts().iter().cloned())
            .with_max_request_body_bytes(self.gate.max_body_bytes())
            .with_sse_keep_alive(Some(Duration::from_secs(15)))
            .with_cancellation_token(shutdown);
        let handler = Handler::http(self.catalog.clone());
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
