//! `GET /.well-known/oauth-authorization-server` on the MCP origin, for
//! clients that look for the authorization server's metadata there: the
//! upstream document, forwarded.
//!
//! Anyone may request this route, so it must not turn traffic into upstream
//! requests: one fetch runs at a time and every caller shares it, waiting a
//! few seconds at most; after a failure no fetch starts for a backoff period
//! (10 s, doubling up to 5 min) and the last good copy is served meanwhile;
//! redirects are not followed and the body is read up to a cap. The same
//! pieces ([`Flight`], [`http_client`], [`get_capped`]) serve OIDC discovery.

use std::{
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, http::StatusCode, response::Response, routing::get};
use tokio::sync::watch;

use crate::{
    error::Error,
    reply::{Document, json_error},
};

/// How long a fetched document is served before it is fetched again.
const FRESH: Duration = Duration::from_secs(3600);
/// Timeout of one upstream request, body included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a caller waits for the fetch in flight before answering with
/// what it has (the stale copy, or 502): a hanging upstream must not hold
/// every request for the whole fetch timeout.
const MAX_WAIT: Duration = Duration::from_secs(3);
/// Pause after a failed fetch: a down or slow upstream gets one request per
/// pause, whatever the traffic here.
const BACKOFF: Backoff = Backoff {
    first: Duration::from_secs(10),
    max: Duration::from_secs(300),
};
/// Largest upstream document read (metadata documents are a few KiB): a
/// misbehaving upstream cannot make us buffer much.
pub(super) const MAX_BODY: usize = 256 * 1024;

/// The route forwarding `upstream`'s document: cached for an hour, served
/// stale while the upstream fails. `setting` names the configuration the
/// upstream comes from, for errors.
pub(super) fn metadata_forwarder(upstream: String, setting: &str) -> Result<Router, Error> {
    let timing = Timing {
        fresh: FRESH,
        fetch_timeout: FETCH_TIMEOUT,
        max_wait: MAX_WAIT,
        backoff: BACKOFF,
    };
    let forwarder = Arc::new(
        Forwarder::new(upstream, timing)
            .map_err(|e| Error::config(setting, format!("HTTP client: {e}")))?,
    );
    let handler = move || {
        let forwarder = forwarder.clone();
        async move { forwarder.serve().await }
    };
    Ok(Router::new().route("/.well-known/oauth-authorization-server", get(handler)))
}

/// A client for the authorization server's documents: `timeout` per request
/// (connecting and reading the body included), and no redirects, which could
/// send the request anywhere (an internal address, another document).
pub(super) fn http_client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("mcp-runtime/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The body of a `2xx` answer to `GET url`, refused when longer than `max`
/// bytes (checked while reading, not only against `Content-Length`). With
/// [`http_client`], a redirect is an answer like any other non-`2xx`: refused.
pub(super) async fn get_capped(
    client: &reqwest::Client,
    url: &str,
    max: usize,
) -> Result<Bytes, String> {
    let too_large = || format!("document larger than {max} bytes");
    let mut r = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !r.status().is_success() {
        return Err(format!("HTTP status {}", r.status()));
    }
    if r.content_length().is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = r.chunk().await.map_err(|e| e.to_string())? {
        if body.len() + chunk.len() > max {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.into())
}

/// The pause after a failed fetch: `first`, doubled after each further
/// failure up to `max`, back to `first` after a success.
#[derive(Debug, Clone, Copy)]
pub(super) struct Backoff {
    pub(super) first: Duration,
    pub(super) max: Duration,
}

/// Single flight with a failure backoff, kept under its owner's lock next to
/// what the fetch produces: at most one fetch runs at a time, and after a
/// failure none starts until the pause is over. Callers waiting on a fetch
/// read its outcome instead of trying again, so retries never queue up.
pub(super) struct Flight {
    backoff: Backoff,
    /// Closed (its sender dropped) when the fetch in flight ends.
    running: Option<watch::Receiver<()>>,
    /// No fetch starts before this.
    retry_at: Option<Instant>,
    /// The pause after the next failure.
    next_pause: Duration,
}

/// What a caller that needs a fetch does, from [`Flight::step`].
pub(super) enum Step {
    /// A fetch is in flight: wait for it ([`wait_for`]), then read its outcome.
    Wait(watch::Receiver<()>),
    /// Run the fetch (in a task of its own, so a caller going away does not
    /// cancel it), record its outcome with [`Flight::finish`], then drop the
    /// sender; the receiver is for [`wait_for`].
    Start(watch::Sender<()>, watch::Receiver<()>),
    /// A fetch failed recently: no fetch now.
    BackingOff,
}

impl Flight {
    pub(super) fn new(backoff: Backoff) -> Self {
        Self {
            backoff,
            running: None,
            retry_at: None,
            next_pause: backoff.first,
        }
    }

    /// Joins the fetch in flight, starts one, or declines while backing off.
    pub(super) fn step(&mut self) -> Step {
        // A closed receiver whose fetch never finished (its task was dropped
        // with the runtime, or panicked) no longer counts as in flight.
        if let Some(running) = &self.running
            && running.has_changed().is_ok()
        {
            return Step::Wait(running.clone());
        }
        if self.retry_at.is_some_and(|at| Instant::now() < at) {
            return Step::BackingOff;
        }
        let (done, running) = watch::channel(());
        self.running = Some(running.clone());
        Step::Start(done, running)
    }

    /// Records the end of the fetch; after a failure, returns the pause
    /// before the next one.
    pub(super) fn finish(&mut self, ok: bool) -> Option<Duration> {
        self.running = None;
        if ok {
            self.retry_at = None;
            self.next_pause = self.backoff.first;
            return None;
        }
        let pause = self.next_pause;
        self.retry_at = Some(Instant::now() + pause);
        self.next_pause = pause.saturating_mul(2).min(self.backoff.max);
        Some(pause)
    }
}

/// Waits until the fetch behind `running` ended, or `max` passed.
pub(super) async fn wait_for(mut running: watch::Receiver<()>, max: Duration) {
    // Nothing is ever sent: `changed` returns when the sender is dropped.
    let _ = tokio::time::timeout(max, running.changed()).await;
}

/// How the forwarder fetches and caches (constants, shorter in tests).
#[derive(Debug, Clone, Copy)]
struct Timing {
    fresh: Duration,
    fetch_timeout: Duration,
    max_wait: Duration,
    backoff: Backoff,
}

struct Forwarder {
    upstream: String,
    client: reqwest::Client,
    max_wait: Duration,
    fresh: Duration,
    state: Mutex<State>,
}

struct State {
    /// The last good document and when it was fetched.
    good: Option<(Instant, Bytes)>,
    flight: Flight,
}

impl Forwarder {
    fn new(upstream: String, timing: Timing) -> reqwest::Result<Self> {
        Ok(Self {
            upstream,
            client: http_client(timing.fetch_timeout)?,
            max_wait: timing.max_wait,
            fresh: timing.fresh,
            state: Mutex::new(State {
                good: None,
                flight: Flight::new(timing.backoff),
            }),
        })
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The document while fresh; else the outcome of the shared fetch (waited
    /// for at most `max_wait`); else the last good copy; else 502.
    async fn serve(self: Arc<Self>) -> Response {
        let step = {
            let mut state = self.state();
            if let Some((at, doc)) = &state.good
                && at.elapsed() < self.fresh
            {
                return Document::public(doc.clone()).response();
            }
            state.flight.step()
        };
        match step {
            Step::Start(done, running) => {
                tokio::spawn(self.clone().refresh(done));
                wait_for(running, self.max_wait).await;
            }
            Step::Wait(running) => wait_for(running, self.max_wait).await,
            Step::BackingOff => {}
        }
        self.best()
    }

    /// The last good copy, or 502 when there is none.
    fn best(&self) -> Response {
        match self.state().good.clone() {
            Some((_, doc)) => Document::public(doc).response(),
            None => json_error(
                StatusCode::BAD_GATEWAY,
                "temporarily_unavailable",
                "The authorization server's metadata could not be fetched; retry shortly",
            ),
        }
    }

    /// One fetch, its outcome recorded before `done` is dropped (which wakes
    /// the callers waiting for it).
    async fn refresh(self: Arc<Self>, done: watch::Sender<()>) {
        let fetched = self.fetch().await;
        let mut state = self.state();
        let pause = state.flight.finish(fetched.is_ok());
        match fetched {
            Ok(doc) => state.good = Some((Instant::now(), doc)),
            Err(why) => tracing::warn!(
                upstream = %self.upstream,
                error = %why,
                retry_in = ?pause.unwrap_or_default(),
                stale_copy = state.good.is_some(),
                "authorization server metadata unavailable"
            ),
        }
        drop(state);
        drop(done);
    }

    /// The upstream document, when it answers with JSON.
    async fn fetch(&self) -> Result<Bytes, String> {
        let doc = get_capped(&self.client, &self.upstream, MAX_BODY).await?;
        serde_json::from_slice::<serde::de::IgnoredAny>(&doc).map_err(|_| "not JSON".to_owned())?;
        Ok(doc)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::{
        body::Body,
        extract::State as Shared,
        http::{Request, header},
        response::{IntoResponse, Redirect},
    };
    use http_body_util::BodyExt;
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        sync::Semaphore,
    };
    use tower::ServiceExt;

    use super::*;

    const DOC: &str =
        r#"{"issuer":"https://as.example","token_endpoint":"https://as.example/token"}"#;

    #[derive(Clone, Copy, PartialEq)]
    enum Mode {
        Serve,
        Fail,
        /// Answers only once the test adds permits to `release`.
        Hold,
        /// `302` to `/real`.
        Redirect,
        /// A JSON document over the cap, with its `Content-Length`.
        Big,
    }

    struct Upstream {
        url: String,
        hits: AtomicUsize,
        real_hits: AtomicUsize,
        mode: Mutex<Mode>,
        release: Semaphore,
    }

    impl Upstream {
        /// A counting upstream on `127.0.0.1:0`, serving `/meta` (and `/real`).
        async fn start(mode: Mode) -> Arc<Self> {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let upstream = Arc::new(Self {
                url: format!("http://{}/meta", listener.local_addr().unwrap()),
                hits: AtomicUsize::new(0),
                real_hits: AtomicUsize::new(0),
                mode: Mutex::new(mode),
                release: Semaphore::new(0),
            });
            let app = Router::new()
                .route("/meta", get(meta))
                .route("/real", get(real))
                .with_state(upstream.clone());
            tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
            upstream
        }

        fn hits(&self) -> usize {
            self.hits.load(Ordering::SeqCst)
        }

        fn set_mode(&self, mode: Mode) {
            *self.mode.lock().unwrap() = mode;
        }
    }

    async fn meta(Shared(up): Shared<Arc<Upstream>>) -> Response {
        up.hits.fetch_add(1, Ordering::SeqCst);
        let mode = *up.mode.lock().unwrap();
        match mode {
            Mode::Serve => ([(header::CONTENT_TYPE, "application/json")], DOC).into_response(),
            Mode::Fail => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
            Mode::Hold => {
                let _permit = up.release.acquire().await.unwrap();
                ([(header::CONTENT_TYPE, "application/json")], DOC).into_response()
            }
            Mode::Redirect => Redirect::to("/real").into_response(),
            Mode::Big => big_json(MAX_BODY + 1).into_response(),
        }
    }

    async fn real(Shared(up): Shared<Arc<Upstream>>) -> &'static str {
        up.real_hits.fetch_add(1, Ordering::SeqCst);
        DOC
    }

    /// A valid JSON document of exactly `len` bytes.
    fn big_json(len: usize) -> String {
        let pad = len - r#"{"pad":""}"#.len();
        format!(r#"{{"pad":"{}"}}"#, "x".repeat(pad))
    }

    fn timing() -> Timing {
        Timing {
            fresh: FRESH,
            fetch_timeout: Duration::from_secs(10),
            max_wait: Duration::from_secs(10),
            backoff: Backoff {
                first: Duration::from_secs(3600),
                max: Duration::from_secs(3600),
            },
        }
    }

    fn forwarder(upstream: &Upstream, timing: Timing) -> Arc<Forwarder> {
        Arc::new(Forwarder::new(upstream.url.clone(), timing).unwrap())
    }

    /// Status and body of one request, failing the test after 20 s.
    async fn get_doc(f: &Arc<Forwarder>) -> (StatusCode, Bytes) {
        let serve = tokio::time::timeout(Duration::from_secs(20), f.clone().serve());
        let res = serve.await.expect("the forwarder answers in bounded time");
        let status = res.status();
        (status, res.into_body().collect().await.unwrap().to_bytes())
    }

    /// `n` concurrent requests; their statuses and bodies.
    async fn get_many(f: &Arc<Forwarder>, n: usize) -> Vec<(StatusCode, Bytes)> {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let f = f.clone();
                tokio::spawn(async move { get_doc(&f).await })
            })
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    }

    #[tokio::test]
    async fn the_route_forwards_the_document_with_its_headers_and_caches_it() {
        let up = Upstream::start(Mode::Serve).await;
        let app = metadata_forwarder(up.url.clone(), "SCALEKIT_ENVIRONMENT_URL").unwrap();
        for _ in 0..5 {
            let req = Request::get("/.well-known/oauth-authorization-server")
                .body(Body::empty())
                .unwrap();
            let res = app.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::OK);
            assert_eq!(res.headers()[header::CONTENT_TYPE], "application/json");
            assert_eq!(res.headers()[header::CACHE_CONTROL], "public, max-age=3600");
            let body = res.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(body, DOC);
        }
        assert_eq!(up.hits(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_requests_share_one_fetch() {
        let up = Upstream::start(Mode::Hold).await;
        let f = forwarder(&up, timing());
        let many = {
            let f = f.clone();
            tokio::spawn(async move { get_many(&f, 20).await })
        };
        for _ in 0..500 {
            if up.hits() > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(up.hits(), 1, "the fetch reached the upstream");
        // Let every request reach the forwarder while the fetch is held.
        tokio::time::sleep(Duration::from_millis(300)).await;
        up.release.add_permits(100);
        for (status, body) in many.await.unwrap() {
            assert_eq!((status, body), (StatusCode::OK, Bytes::from(DOC)));
        }
        assert_eq!(up.hits(), 1, "20 concurrent requests, one upstream fetch");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn after_a_failure_the_stale_copy_is_served_without_refetching() {
        let up = Upstream::start(Mode::Serve).await;
        // Every copy is stale at once: only the backoff stops refetches.
        let f = forwarder(
            &up,
            Timing {
                fresh: Duration::ZERO,
                ..timing()
            },
        );
        assert_eq!(get_doc(&f).await, (StatusCode::OK, Bytes::from(DOC)));
        assert_eq!(up.hits(), 1);

        up.set_mode(Mode::Fail);
        assert_eq!(get_doc(&f).await, (StatusCode::OK, Bytes::from(DOC)));
        assert_eq!(up.hits(), 2, "the stale copy was due for a refetch");
        for _ in 0..10 {
            assert_eq!(get_doc(&f).await, (StatusCode::OK, Bytes::from(DOC)));
        }
        for (status, body) in get_many(&f, 20).await {
            assert_eq!((status, body), (StatusCode::OK, Bytes::from(DOC)));
        }
        assert_eq!(up.hits(), 2, "no refetch while backing off");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failure_without_a_copy_answers_502_and_is_retried_after_the_backoff() {
        let up = Upstream::start(Mode::Fail).await;
        let pause = Duration::from_millis(100);
        let backoff = Backoff {
            first: pause,
            max: pause,
        };
        let f = forwarder(
            &up,
            Timing {
                backoff,
                ..timing()
            },
        );
        let (status, body) = get_doc(&f).await;
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body,
            serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": "The authorization server's metadata could not be fetched; retry shortly"
            })
        );
        for (status, _) in get_many(&f, 20).await {
            assert_eq!(status, StatusCode::BAD_GATEWAY);
        }
        assert_eq!(up.hits(), 1, "no refetch while backing off");

        up.set_mode(Mode::Serve);
        tokio::time::sleep(pause * 2).await;
        assert_eq!(get_doc(&f).await, (StatusCode::OK, Bytes::from(DOC)));
        assert_eq!(up.hits(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_held_fetch_keeps_callers_waiting_at_most_max_wait() {
        let up = Upstream::start(Mode::Hold).await;
        let max_wait = Duration::from_millis(100);
        let f = forwarder(
            &up,
            Timing {
                max_wait,
                ..timing()
            },
        );
        // The fetch is still held: callers give up waiting and get the 502.
        assert_eq!(get_doc(&f).await.0, StatusCode::BAD_GATEWAY);
        for (status, _) in get_many(&f, 10).await {
            assert_eq!(status, StatusCode::BAD_GATEWAY);
        }
        assert_eq!(up.hits(), 1, "callers joined the fetch in flight");
        up.release.add_permits(100);
        // The fetch completes in its task although every caller left.
        for _ in 0..500 {
            if f.state().good.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(get_doc(&f).await, (StatusCode::OK, Bytes::from(DOC)));
        assert_eq!(up.hits(), 1);
    }

    #[tokio::test]
    async fn a_redirect_is_not_followed() {
        let up = Upstream::start(Mode::Redirect).await;
        let f = forwarder(&up, timing());
        assert_eq!(get_doc(&f).await.0, StatusCode::BAD_GATEWAY);
        assert_eq!(up.hits(), 1);
        assert_eq!(up.real_hits.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn a_document_over_the_cap_is_refused() {
        let up = Upstream::start(Mode::Big).await;
        let f = forwarder(&up, timing());
        assert_eq!(get_doc(&f).await.0, StatusCode::BAD_GATEWAY);
        let client = http_client(Duration::from_secs(10)).unwrap();
        let why = get_capped(&client, &up.url, MAX_BODY).await.unwrap_err();
        assert!(why.contains("larger than"), "{why}");
    }

    /// A raw HTTP/1.1 server answering every request with a chunked (no
    /// `Content-Length`) JSON document of `len` bytes.
    async fn chunked_upstream(len: usize) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/meta", listener.local_addr().unwrap());
        let body = big_json(len).into_bytes();
        tokio::spawn(async move {
            loop {
                let Ok((mut conn, _)) = listener.accept().await else {
                    return;
                };
                let body = body.clone();
                tokio::spawn(async move {
                    let mut request = [0u8; 4096];
                    let _ = conn.read(&mut request).await;
                    let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                                transfer-encoding: chunked\r\nconnection: close\r\n\r\n";
                    let mut out = head.as_bytes().to_vec();
                    for chunk in body.chunks(16 * 1024) {
                        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                        out.extend_from_slice(chunk);
                        out.extend_from_slice(b"\r\n");
                    }
                    out.extend_from_slice(b"0\r\n\r\n");
                    // The client may hang up once it has read enough.
                    let _ = conn.write_all(&out).await;
                });
            }
        });
        url
    }

    #[tokio::test]
    async fn the_cap_is_checked_while_reading_not_only_against_content_length() {
        let client = http_client(Duration::from_secs(10)).unwrap();
        let fits = chunked_upstream(MAX_BODY).await;
        let doc = get_capped(&client, &fits, MAX_BODY).await.unwrap();
        assert_eq!(doc.len(), MAX_BODY);
        let over = chunked_upstream(MAX_BODY + 1).await;
        let why = get_capped(&client, &over, MAX_BODY).await.unwrap_err();
        assert!(why.contains("larger than"), "{why}");
        let f = Arc::new(Forwarder::new(over, timing()).unwrap());
        assert_eq!(get_doc(&f).await.0, StatusCode::BAD_GATEWAY);
    }

    #[test]
    fn the_backoff_doubles_up_to_its_cap_and_resets_after_a_success() {
        let mut flight = Flight::new(BACKOFF);
        let mut pauses = Vec::new();
        for _ in 0..7 {
            assert!(matches!(flight.step(), Step::Start(..)));
            pauses.push(flight.finish(false).unwrap().as_secs());
            assert!(matches!(flight.step(), Step::BackingOff));
            flight.retry_at = None;
        }
        assert_eq!(pauses, [10, 20, 40, 80, 160, 300, 300]);
        assert_eq!(flight.finish(true), None);
        assert_eq!(flight.finish(false), Some(Duration::from_secs(10)));
    }

    #[test]
    fn callers_join_the_fetch_in_flight() {
        let mut flight = Flight::new(BACKOFF);
        let Step::Start(done, _) = flight.step() else {
            panic!("the first caller starts the fetch")
        };
        assert!(matches!(flight.step(), Step::Wait(_)));
        assert!(matches!(flight.step(), Step::Wait(_)));
        // A fetch that went away without finishing no longer blocks a new one.
        drop(done);
        assert!(matches!(flight.step(), Step::Start(..)));
    }
}
