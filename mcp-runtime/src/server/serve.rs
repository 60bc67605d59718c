//! Serving the app on a socket, with limits: a header-read timeout (which
//! also closes idle keep-alive connections), a cap on open connections, and
//! a bounded graceful shutdown.

use std::{sync::Arc, time::Duration};

use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpStream},
    sync::Semaphore,
};
use tokio_util::sync::CancellationToken;
use tower::Layer;

use super::McpServer;
use crate::error::Error;

/// Default time a connection may take to send a request's headers, counted
/// from when it opens or its previous response ends.
pub(crate) const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(20);
/// Default cap on open connections.
pub(crate) const DEFAULT_MAX_CONNECTIONS: usize = 512;
/// Default time `serve` waits for in-flight requests after a shutdown signal.
pub(crate) const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

impl McpServer {
    /// Binds [`bind_addr`](Self::bind_addr) and serves until Ctrl-C or SIGTERM.
    pub async fn serve(self) -> Result<(), Error> {
        let listener = TcpListener::bind(self.bind_addr()).await?;
        self.serve_on(listener, shutdown_signal()).await
    }

    /// Serves on `listener` until `shutdown` completes, then stops accepting,
    /// lets in-flight requests finish within the shutdown grace, and cancels
    /// whatever is still running after it.
    pub async fn serve_on(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        self.serve_on_with(listener, shutdown, |app| app).await
    }

    /// Like [`serve_on`](Self::serve_on), with the app passed through `wrap`
    /// first: add your own routes or layers there. Whatever `wrap` returns
    /// is served behind the Host and Origin policy, so routes added there
    /// are checked as `/mcp` is (routes that any origin may call are those
    /// of [`routes_without_origin_check`](crate::McpServerBuilder::routes_without_origin_check)
    /// and the metadata).
    ///
    /// Each connection must deliver a request's headers within the header
    /// timeout ([`McpServerBuilder::header_timeout`](crate::McpServerBuilder::header_timeout)),
    /// counted from when it opens or its previous response ends, so slow or
    /// idle connections are closed; beyond
    /// [`max_connections`](crate::McpServerBuilder::max_connections) open
    /// connections, a new one is answered 503 and closed. After `shutdown`,
    /// in-flight requests get the
    /// [shutdown grace](crate::McpServerBuilder::shutdown_grace) to finish.
    pub async fn serve_on_with(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
        wrap: impl FnOnce(axum::Router) -> axum::Router,
    ) -> Result<(), Error> {
        let addr = listener.local_addr()?;
        let cancel = CancellationToken::new();
        let app = self.served.policy.layer(wrap(self.app(cancel.clone())));
        tracing::info!(%addr, endpoint = %self.endpoint(), tools = self.tools().len(), "MCP server listening");
        let open = Arc::new(Semaphore::new(self.served.max_connections));
        let graceful = GracefulShutdown::new();
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new());
        if let Some(t) = self.served.header_timeout {
            http.header_read_timeout(t);
        }
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
                () = &mut shutdown => break,
            };
            let Ok(place) = open.clone().try_acquire_owned() else {
                tokio::spawn(refuse(tcp));
                continue;
            };
            // Without TCP_NODELAY, small SSE writes wait on delayed ACKs (~40 ms each).
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::trace!(error = %e, "could not set TCP_NODELAY");
            }
            let service = TowerToHyperService::new(app.clone());
            let connection = graceful.watch(http.serve_connection(TokioIo::new(tcp), service));
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                drop(place);
            });
        }
        tracing::info!("shutting down");
        drop(listener);
        // In-flight calls (and the event streams that answer them) finish
        // within the grace; whatever is still running then is cancelled.
        let drained = tokio::time::timeout(self.served.shutdown_grace, graceful.shutdown()).await;
        cancel.cancel();
        if drained.is_err() {
            tracing::warn!("in-flight requests did not finish in time");
        }
        Ok(())
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
