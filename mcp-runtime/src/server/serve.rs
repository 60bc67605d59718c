//! Serving the app on a socket, with limits: `TCP_NODELAY`, a header-read
//! timeout (which also closes idle keep-alive connections), a cap on open
//! connections, and a bounded graceful shutdown; the site policy around
//! everything served.

use std::{sync::Arc, time::Duration};

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpStream},
    sync::{OwnedSemaphorePermit, Semaphore},
    task::JoinSet,
};
use tokio_util::sync::CancellationToken;
use tower::Layer;

use super::{
    McpServer,
    router::{Endpoint, Extend},
};
use crate::{error::Error, gate::SitePolicy};

/// Default time a connection may take to send a request's headers, counted
/// from when it opens or its previous response ends.
pub(crate) const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(20);
/// Default cap on open connections.
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Default time `serve` waits for in-flight requests after a shutdown signal.
pub(crate) const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long connections get to close once the grace is over and the event
/// streams are ended, before they are closed.
const CLOSE_TIME: Duration = Duration::from_secs(1);

/// What the server's loop serves: the app behind the site policy.
type Site = <SitePolicy as Layer<Endpoint>>::Service;

impl McpServer {
    /// Binds [`bind_addr`](Self::bind_addr) and serves until Ctrl-C or SIGTERM.
    pub async fn serve(self) -> Result<(), Error> {
        let listener = TcpListener::bind(self.bind_addr()).await?;
        self.serve_on(listener, shutdown_signal()).await
    }

    /// Like [`serve`](Self::serve), with your own routes: the server's
    /// routes (`/mcp`, `/health`, the metadata, and those added on the
    /// builder) answer first, and every other request goes to `app`.
    /// Everything the server keeps for its own routes, `app` keeps too: the
    /// Host and Origin policy (a foreign `Host` gets 403; so does a foreign
    /// `Origin`, from a browser page), `TCP_NODELAY`, the header timeout,
    /// the cap on open connections and the graceful shutdown. The bearer
    /// check, the body limits and the cap on requests in flight stay
    /// `/mcp`'s.
    ///
    /// `app` may hold this server's own router (from
    /// [`into_router`](Self::into_router), merged or nested into yours): its
    /// routes at the server's paths are then answered by the server itself.
    ///
    /// ```no_run
    /// use mcp_runtime::{McpServer, axum::{Router, routing::get}};
    ///
    /// # async fn run() -> Result<(), mcp_runtime::Error> {
    /// let app = Router::new().route("/version", get(|| async { "1.0" }));
    /// McpServer::builder().from_env()?.build()?.serve_with(app).await
    /// # }
    /// ```
    pub async fn serve_with(self, app: Router) -> Result<(), Error> {
        let listener = TcpListener::bind(self.bind_addr()).await?;
        self.serve_extended(
            listener,
            shutdown_signal(),
            Extend::<fn(Router) -> Router>::Fallback(app),
        )
        .await
    }

    /// Serves on `listener` until `shutdown` completes, then stops accepting,
    /// lets in-flight requests finish within the shutdown grace, and ends
    /// whatever is still running after it.
    pub async fn serve_on(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        self.serve_extended(listener, shutdown, Extend::<fn(Router) -> Router>::Nothing)
            .await
    }

    /// Like [`serve_on`](Self::serve_on), with the app passed through `wrap`
    /// first: add your own routes or layers there. Whatever `wrap` returns
    /// is served behind the Host and Origin policy, so routes added there
    /// are checked as `/mcp` is (routes that any origin may call are those
    /// of [`routes_without_origin_check`](crate::McpServerBuilder::routes_without_origin_check)
    /// and the metadata). [`serve_with(app)`](Self::serve_with) is this with
    /// [`bind_addr`](Self::bind_addr), Ctrl-C or SIGTERM, and
    /// `|mcp| mcp.fallback_service(app)`.
    ///
    /// Each connection sets `TCP_NODELAY` and must deliver a request's
    /// headers within the header timeout
    /// ([`McpServerBuilder::header_timeout`](crate::McpServerBuilder::header_timeout)),
    /// counted from when it opens or its previous response ends, so slow or
    /// idle connections are closed; beyond
    /// [`max_connections`](crate::McpServerBuilder::max_connections) open
    /// connections, a new one is answered 503 and closed. After `shutdown`,
    /// in-flight requests get the
    /// [shutdown grace](crate::McpServerBuilder::shutdown_grace) to finish;
    /// then `/mcp` event streams are ended, and connections still open a
    /// second later are closed, so this returns with none left.
    ///
    /// With the development issuer (unless
    /// [`DevProvider::allow_remote`](crate::auth::DevProvider::allow_remote)),
    /// a listener bound anywhere but loopback is refused with an error
    /// naming `HOST`, whatever address the builder was given.
    ///
    /// ```no_run
    /// use mcp_runtime::{McpServer, axum::{Router, routing::get}};
    ///
    /// # async fn run() -> Result<(), mcp_runtime::Error> {
    /// let server = McpServer::builder().build()?;
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// let version = Router::new().route("/version", get(|| async { "1.0" }));
    /// server
    ///     .serve_on_with(listener, mcp_runtime::shutdown_signal(), |mcp| mcp.merge(version))
    ///     .await
    /// # }
    /// ```
    pub async fn serve_on_with(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
        wrap: impl FnOnce(Router) -> Router,
    ) -> Result<(), Error> {
        self.serve_extended(listener, shutdown, Extend::Wrap(wrap))
            .await
    }

    async fn serve_extended(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
        extend: Extend<impl FnOnce(Router) -> Router>,
    ) -> Result<(), Error> {
        let addr = listener.local_addr()?;
        if self.served.loopback_only && !addr.ip().is_loopback() {
            return Err(Error::config(
                "HOST",
                format!(
                    "the development issuer only serves on loopback, and this listener is bound to {addr}; \
                     bind 127.0.0.1 or ::1, configure Scalekit or MCP_AUTH_ISSUER, or set MCP_DEV_ALLOW_REMOTE=true"
                ),
            ));
        }
        let cancel = CancellationToken::new();
        let site = self
            .served
            .policy
            .layer(self.split_app(cancel.clone(), extend));
        tracing::info!(%addr, endpoint = %self.endpoint(), tools = self.tools().len(), "MCP server listening");
        let connections = self.accept(listener, shutdown, site).await;
        tracing::info!("shutting down");
        connections.close(self.served.shutdown_grace, cancel).await;
        Ok(())
    }

    /// Accepts connections on `listener` and serves `site` on each, until
    /// `shutdown` completes; the listener is closed then.
    async fn accept(
        &self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
        site: Site,
    ) -> Connections {
        let open = Arc::new(Semaphore::new(self.served.max_connections));
        let http = self.http();
        let mut connections = Connections::default();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let (tcp, _) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors, most often: let some close.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
                () = &mut shutdown => return connections,
            };
            let Ok(place) = open.clone().try_acquire_owned() else {
                tokio::spawn(refuse(tcp));
                continue;
            };
            // Without TCP_NODELAY, small SSE writes wait on delayed ACKs (~40 ms each).
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::trace!(error = %e, "could not set TCP_NODELAY");
            }
            connections.serve(&http, tcp, site.clone(), place);
        }
    }

    /// HTTP/1.1 with the header timeout.
    fn http(&self) -> http1::Builder {
        let mut http = http1::Builder::new();
        http.timer(TokioTimer::new());
        if let Some(t) = self.served.header_timeout {
            http.header_read_timeout(t);
        }
        http
    }
}

/// The open connections, each a task watched for the graceful shutdown.
#[derive(Default)]
struct Connections {
    graceful: GracefulShutdown,
    tasks: JoinSet<()>,
}

impl Connections {
    /// Serves `site` on `tcp`, holding `place` among the open connections
    /// until the connection ends.
    fn serve(
        &mut self,
        http: &http1::Builder,
        tcp: TcpStream,
        site: Site,
        place: OwnedSemaphorePermit,
    ) {
        let service = TowerToHyperService::new(site);
        let connection = self
            .graceful
            .watch(http.serve_connection(TokioIo::new(tcp), service));
        self.tasks.spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(place);
        });
        while self.tasks.try_join_next().is_some() {}
    }

    /// Lets in-flight requests (and the event streams that answer them)
    /// finish within `grace`; then cancels whatever is still running
    /// (`cancel` ends `/mcp` event streams), and closes the connections
    /// still open after [`CLOSE_TIME`].
    async fn close(self, grace: Duration, cancel: CancellationToken) {
        let Self {
            graceful,
            mut tasks,
        } = self;
        let drained = tokio::time::timeout(grace, graceful.shutdown()).await;
        cancel.cancel();
        if drained.is_err() {
            tracing::warn!("in-flight requests did not finish in time");
            let ended = async { while tasks.join_next().await.is_some() {} };
            if tokio::time::timeout(CLOSE_TIME, ended).await.is_err() {
                tracing::warn!("closing connections still open");
            }
        }
        tasks.shutdown().await;
    }
}

/// Answers a connection beyond the cap with 503 and closes it.
async fn refuse(mut tcp: TcpStream) {
    const BODY: &str = r#"{"error":"temporarily_unavailable","error_description":"Too many connections; retry shortly"}"#;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{BODY}",
        BODY.len()
    );
    tracing::warn!("connection refused: too many open connections");
    let write = async {
        tcp.write_all(response.as_bytes()).await?;
        tcp.shutdown().await
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), write).await;
}

/// Completes on Ctrl-C, or SIGTERM on Unix.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
