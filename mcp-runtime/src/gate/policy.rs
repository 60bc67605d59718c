//! The policy every route of the app passes, whoever added the route: no
//! repeated security header and no Host with userinfo (400), the Origin
//! check (403) unless the route is one any origin may call, and the Host
//! allow-list (400, 403). It is a tower layer: on the router
//! [`into_router`](crate::McpServer::into_router) returns, and around the
//! whole app the server's own loop serves, routes added by the user
//! included.

use std::{
    convert::Infallible,
    sync::Arc,
    task::{Context, Poll},
};

use axum::{
    Router,
    body::Body,
    extract::Request,
    http::{Method, header},
    middleware::{self, Next},
    response::Response,
};
use tower::{Layer, Service, ServiceExt};

use super::{Gate, audit_refusal, drained, headers, host::Hosts, origin::Origins};
use crate::{audit::RequestId, future::BoxFuture};

/// The site-wide policy; see the module docs. Cheap to clone.
#[derive(Clone)]
pub(crate) struct SitePolicy {
    hosts: Arc<Hosts>,
    origins: Arc<Origins>,
    /// The routes any origin may call, each answering [`AnyOrigin`]
    /// instead of running, whatever the method; any other path gets 404.
    any_origin: Option<Router>,
}

/// The mark of a route any origin may call, in the answer of
/// [`SitePolicy::any_origin`].
#[derive(Clone, Copy)]
struct AnyOrigin;

impl SitePolicy {
    /// The policy of `gate`'s hosts and origins; requests to a route of
    /// `any_origin` are not refused for their Origin.
    pub(crate) fn new(gate: &Gate, any_origin: Option<Router>) -> Self {
        let any_origin = any_origin.filter(Router::has_routes).map(|routes| {
            routes
                .reset_fallback()
                .route_layer(middleware::from_fn(mark_any_origin))
        });
        Self {
            hosts: gate.hosts.clone(),
            origins: gate.origins.clone(),
            any_origin,
        }
    }

    /// The refusal of `request`, if it is refused; `any_origin`: whether it
    /// goes to a route any origin may call.
    fn refusal(&self, request: &Request, any_origin: bool) -> Option<Response> {
        if let Some(refused) = headers::refusal(request) {
            audit_refusal(request, "header_repeated", None);
            return Some(refused);
        }
        if let Some(refused) = headers::host_refusal(request) {
            return Some(refused);
        }
        if !any_origin && !self.origins.admits(request) {
            audit_refusal(request, "origin_not_allowed", None);
            return Some(self.origins.refusal(request));
        }
        self.hosts.refusal(request)
    }

    /// For a request whose Origin is not allowed, the request that asks
    /// [`any_origin`](Self::any_origin) whether its route lets any origin
    /// in: its method (or, for a CORS preflight, the method it asks about)
    /// and target, without headers or body.
    fn probe(&self, request: &Request) -> Option<Request> {
        if self.any_origin.is_none() || self.origins.admits(request) {
            return None;
        }
        let method = preflight_method(request).unwrap_or_else(|| request.method().clone());
        Request::builder()
            .method(method)
            .uri(request.uri().clone())
            .body(Body::empty())
            .ok()
    }

    /// Whether `probe` is routed to a route any origin may call.
    async fn any_origin(&self, probe: Option<Request>) -> bool {
        let (Some(routes), Some(probe)) = (&self.any_origin, probe) else {
            return false;
        };
        let Ok(answer) = routes.clone().oneshot(probe).await;
        answer.extensions().get::<AnyOrigin>().is_some()
    }
}

/// The method a CORS preflight asks about.
fn preflight_method(request: &Request) -> Option<Method> {
    if request.method() != Method::OPTIONS {
        return None;
    }
    let asked = request
        .headers()
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)?;
    Method::from_bytes(asked.as_bytes()).ok()
}

/// Answers for a route any origin may call, without running it.
async fn mark_any_origin(_: Request, _: Next) -> Response {
    let mut answer = Response::new(Body::empty());
    answer.extensions_mut().insert(AnyOrigin);
    answer
}

impl<S> Layer<S> for SitePolicy {
    type Service = Policed<S>;

    fn layer(&self, inner: S) -> Policed<S> {
        Policed {
            inner,
            policy: self.clone(),
        }
    }
}

/// A service (a route, or the whole app) behind the [`SitePolicy`].
#[derive(Clone)]
pub(crate) struct Policed<S> {
    inner: S,
    policy: SitePolicy,
}

impl<S, B> Service<http::Request<B>> for Policed<S>
where
    S: Service<Request, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send,
    B: axum::body::HttpBody<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = BoxFuture<'static, Result<Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let mut request = request.map(Body::new);
        request.extensions_mut().get_or_insert_with(RequestId::next);
        let policy = self.policy.clone();
        let inner = self.inner.clone();
        Box::pin(async move {
            let any_origin = policy.any_origin(policy.probe(&request)).await;
            match policy.refusal(&request, any_origin) {
                Some(refused) => Ok(drained(request, refused).await),
                None => inner.oneshot(request).await,
            }
        })
    }
}
