//! Serving the app on a socket, with graceful shutdown.

use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use std::time::Duration;

use super::McpServer;
use crate::error::Error;

/// How long `serve` waits for in-flight requests after a shutdown signal.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

impl McpServer {
    /// Binds [`bind_addr`](Self::bind_addr) and serves until Ctrl-C or SIGTERM.
    pub async fn serve(self) -> Result<(), Error> {
        let listener = TcpListener::bind(self.bind_addr()).await?;
        self.serve_on(listener, shutdown_signal()).await
    }

    /// Serves on `listener` until `shutdown` completes, then lets in-flight
    /// requests finish (open event streams are closed).
    pub async fn serve_on(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), Error> {
        self.serve_on_with(listener, shutdown, |app| app).await
    }

    /// Like [`serve_on`](Self::serve_on), with the app passed through `wrap`
    /// first: add your own routes or layers there.
    pub async fn serve_on_with(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
        wrap: impl FnOnce(axum::Router) -> axum::Router,
    ) -> Result<(), Error> {
        let addr = listener.local_addr()?;
        let cancel = CancellationToken::new();
        let app = wrap(self.clone().router(cancel.clone()));
        tracing::info!(%addr, endpoint = %self.endpoint(), tools = self.tools().len(), "MCP server listening");
        // Without TCP_NODELAY, small SSE writes wait on delayed ACKs (~40 ms each).
        let listener = listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::trace!(error = %e, "could not set TCP_NODELAY");
            }
        });
        let stop = cancel.clone();
        let serving = axum::serve(listener, app).with_graceful_shutdown(async move {
            shutdown.await;
            tracing::info!("shutting down");
            stop.cancel();
        });
        let serving = tokio::spawn(async move { serving.await });
        cancel.cancelled().await;
        match tokio::time::timeout(SHUTDOWN_GRACE, serving).await {
            Ok(joined) => joined.map_err(std::io::Error::other)??,
            Err(_) => tracing::warn!("in-flight requests did not finish in time"),
        }
        Ok(())
    }
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
