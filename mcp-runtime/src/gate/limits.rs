//! Per-request limits at the gate: how many requests are handled at once
//! (beyond that, 503 with `Retry-After`), and how long a request body may
//! stall between two of its chunks.

use std::{sync::Arc, time::Duration};

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::Response,
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::reply::json_error;

/// Default cap on requests handled at once.
pub(crate) const DEFAULT_MAX_IN_FLIGHT: usize = 256;
/// Default time a request body may stall between chunks.
pub(crate) const DEFAULT_BODY_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct Limits {
    in_flight: Arc<Semaphore>,
    body_timeout: Option<Duration>,
}

impl Limits {
    pub(crate) fn new(max_in_flight: usize, body_timeout: Option<Duration>) -> Self {
        Self {
            in_flight: Arc::new(Semaphore::new(max_in_flight)),
            body_timeout,
        }
    }

    /// A place among the requests in flight, held until the response
    /// starts; `None` when there is none (answer [`busy`]).
    pub(crate) fn enter(&self) -> Option<OwnedSemaphorePermit> {
        let place = self.in_flight.clone().try_acquire_owned().ok();
        if place.is_none() {
            tracing::warn!("request refused: too many requests in flight");
        }
        place
    }

    /// How long a request body may stall between two of its chunks.
    pub(crate) fn body_timeout(&self) -> Option<Duration> {
        self.body_timeout
    }
}

/// 503 with `Retry-After`: the server is at its limit, the request was not
/// looked at.
pub(crate) fn busy() -> Response {
    let mut r = json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "temporarily_unavailable",
        "The server is busy; retry shortly",
    );
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_server_answers_503_with_retry_after() {
        let limits = Limits::new(1, None);
        let held = limits.enter().expect("one place");
        assert!(limits.enter().is_none(), "no second place");
        let refused = busy();
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.headers()[header::RETRY_AFTER], "1");
        drop(held);
        assert!(limits.enter().is_some(), "the place is free again");
    }
}
