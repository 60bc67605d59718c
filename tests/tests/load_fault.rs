//! Load and faults against the running `demo-server` binary, in its own process, verifying the
//! tokens of a real authorization server (`support/oidc.rs`, oidc-provider).
//!
//! # Scenario
//!
//! The demo is pointed at the AS with `MCP_AUTH_ISSUER`, `MCP_AUTH_AUDIENCE`, `MCP_URL` and
//! `MCP_AUTH_JWKS_URI`; the JWKS URL is a small proxy in this test in front of the AS's `/jwks`,
//! so that the JWKS can fail while the token endpoint keeps working. `DEMO_DB` is a fresh file.
//!
//! [`CLIENTS`] clients, each its own `client_credentials` client (so its own `sub`), loop for
//! [`LOAD`]: `create_todo` with a unique title, then `list_todos`, which must show every create
//! acknowledged so far (read-your-writes). Each client takes a fresh token every
//! [`TOKEN_REFRESH`] (so new, never-verified tokens keep arriving all along), and at once after a
//! 401. Meanwhile, at fixed times after the load starts:
//!
//! | when | fault |
//! |---|---|
//! | [`AS_RESTART_AT`] | the AS restarts, same port and key (its token endpoint is down meanwhile) |
//! | [`OUTAGE_START`] .. [`OUTAGE_END`] (or 2 s after the rotation ended, if later) | the JWKS answers `503` |
//! | [`ROTATE_AT`] (inside the outage) | the AS restarts with a new signing key; the old key leaves its JWKS |
//!
//! After the load, every client lists its items with a fresh token; then a flood of
//! 2 × [`FLOOD_ROUND`] distinct valid tokens (signed here with the AS's current private key, for one
//! client; each round exceeds the verifier's cache, `jwt::DEFAULT_CACHE_CAPACITY`, which the demo
//! does not let one configure) sends one `ping` each, through the bearer check.
//!
//! # The failure-window rule (asserted)
//!
//! Times are since the load started; "old key" is the key before the rotation, "new key" the one
//! after; a request's window is judged by when it was sent (new key) or answered (old key);
//! `OUTAGE_END` is when the JWKS actually answered again.
//!
//! 1. A request with an old-key token succeeds, except that once the JWKS answers again (answered
//!    at or after [`OUTAGE_END`]) it may be refused `401` `invalid_token` with the description
//!    `unknown signing key`: the demo has then learnt that the key was removed. In particular,
//!    old-key tokens — including tokens never seen before — keep working through the AS restarts
//!    and the whole JWKS outage (cached keys).
//! 2. A request with a new-key token sent from [`ROTATE_AT`] until
//!    `OUTAGE_END + jwt::DEFAULT_MIN_REFETCH_INTERVAL + WINDOW_SLACK` may fail, only with `401`
//!    `invalid_token` `unknown signing key` (the key is not fetched yet: the JWKS is down, then the
//!    refetch is rate-limited) or `503` with `Retry-After`; sent later, it succeeds.
//! 3. Every other request succeeds: HTTP 200, a JSON-RPC result, `isError: false`. Never a
//!    transport error, never a 5xx other than `503` with `Retry-After`, never another 4xx.
//! 4. Token requests to the AS fail only while it restarts (from the restart's start to its
//!    end + 1 s); clients then keep their current token.
//!
//! # Other assertions
//!
//! - Every acknowledged `create_todo` is in its subject's final list exactly once, with its id and
//!   title; no refused create is there; nothing else is there; no subject sees another's items.
//! - The demo fetches the JWKS at most [`MAX_JWKS_FETCHES`] times (no fetch storm).
//! - Peak RSS (`VmHWM`) of the demo process ≤ [`PEAK_RSS_MB`]; the first flood round grows `VmRSS`
//!   by ≤ [`FLOOD_FILL_MB`], the second (the cache is full by then) by ≤ [`FLOOD_PLATEAU_MB`].
//!
//! Counts and bounds only, never speed. The figures are printed (`-- --nocapture`).
//!
//! The binary: `DEMO_SERVER_BIN` if set, else `cargo build -p demo-server` (the `CARGO` running
//! the tests, honouring `CARGO_TARGET_DIR` or the default target directory, the test's profile)
//! and the path cargo reports.

#![cfg(target_os = "linux")]

#[path = "support/demo.rs"]
mod demo;
#[path = "support/oidc.rs"]
mod oidc;

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    io::{Read as _, Write as _},
    net::{Shutdown, TcpListener, TcpStream},
    path::Path,
    sync::{
        Arc, Mutex, OnceLock,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use base64::Engine as _;
use demo::{DemoProcess, Scratch};
use mcp_runtime::auth::jwt;
use oidc::{AsOptions, StaticClient, TestAs};
use serde_json::{Value, json};

/// Concurrent clients, each its own subject.
const CLIENTS: usize = 8;
/// How long the clients loop (at least; see [`AFTER_WINDOWS`]).
const LOAD: Duration = Duration::from_secs(30);
/// At most this many create + list rounds per client, whatever the speed.
const MAX_ROUNDS: u32 = 3000;
/// A client takes a fresh token this often.
const TOKEN_REFRESH: Duration = Duration::from_millis(1500);
/// Pause after a failed request or token request.
const BACKOFF: Duration = Duration::from_millis(250);
/// The AS restarts with the same key.
const AS_RESTART_AT: Duration = Duration::from_secs(2);
/// The JWKS starts failing.
const OUTAGE_START: Duration = Duration::from_secs(5);
/// The AS restarts with a new key (the JWKS is failing).
const ROTATE_AT: Duration = Duration::from_millis(6500);
/// The JWKS answers again (or [`OUTAGE_AFTER_ROTATION`] after the rotation, if later). The demo
/// fetched the JWKS just before the load and may refetch 10 s later: the outage must last
/// beyond that for the demo to meet it.
const OUTAGE_END: Duration = Duration::from_millis(12500);
/// The outage lasts at least this long after the rotation ended.
const OUTAGE_AFTER_ROTATION: Duration = Duration::from_secs(2);
/// The load goes on at least this long after rule 2's window.
const AFTER_WINDOWS: Duration = Duration::from_secs(4);
/// Added to the end of rule 2's window: a request in flight, a busy machine.
const WINDOW_SLACK: Duration = Duration::from_secs(3);
/// Token requests failing this long after an AS restart ended are still the restart's.
const TOKEN_SLACK: Duration = Duration::from_secs(1);
/// Distinct tokens per flood round: more than the verifier's cache holds.
const FLOOD_ROUND: usize = jwt::DEFAULT_CACHE_CAPACITY + jwt::DEFAULT_CACHE_CAPACITY / 10;
/// Concurrent senders of the flood.
const FLOOD_SENDERS: usize = 8;
/// JWKS requests the demo may make in the whole run.
const MAX_JWKS_FETCHES: u64 = 8;
/// Bound on the demo's peak resident set (`VmHWM`), MiB.
const PEAK_RSS_MB: u64 = 96;
/// Bound on the growth of `VmRSS` over the first flood round (it fills the cache), MiB.
const FLOOD_FILL_MB: u64 = 48;
/// Bound on the growth of `VmRSS` over the second flood round (the cache is full), MiB.
const FLOOD_PLATEAU_MB: u64 = 10;
/// Scopes of the clients' tokens.
const SCOPE: &str = "todo:read todo:write";
/// Timeout of one HTTP request from this test.
const HTTP_TIMEOUT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_with_as_restart_jwks_outage_key_rotation_and_token_flood() {
    let started = Instant::now();
    let bin = demo::binary();
    let located = started.elapsed();
    let scratch = Scratch::new();
    let (key_a, key_b) = (scratch.join("key-a.json"), scratch.join("key-b.json"));

    // The demo's port is chosen first: the AS and the demo both need its URL (a port taken
    // meanwhile by someone else: another one; clients name their resource in each token request).
    let mut port = free_port();
    let clients: Vec<StaticClient> = (0..CLIENTS)
        .map(|i| StaticClient::new(&client_id(i), &format!("secret-{i}"), None))
        .collect();
    let as_ = TestAs::start(AsOptions {
        key_file: Some(key_a.clone()),
        clients: clients.clone(),
        ..AsOptions::default().resource(format!("http://127.0.0.1:{port}/mcp"))
    })
    .await;
    let (issuer, token_endpoint, kid_a) = (
        as_.issuer.clone(),
        as_.token_endpoint.clone(),
        as_.kid.clone(),
    );
    let proxy = JwksProxy::start(as_.port);
    let mut attempts = 0;
    let (mut demo, endpoint) = loop {
        let base = format!("http://127.0.0.1:{port}/");
        let endpoint = format!("{base}mcp");
        let env = [
            ("MCP_URL", base.as_str()),
            ("MCP_AUTH_ISSUER", issuer.as_str()),
            ("MCP_AUTH_AUDIENCE", endpoint.as_str()),
            ("MCP_AUTH_JWKS_URI", proxy.url.as_str()),
            ("DEMO_TODO_QUOTA", "1000000"),
        ];
        match DemoProcess::start(&bin, &scratch, port, &env) {
            Ok(demo) => break (demo, endpoint),
            Err(why) if why.contains("cannot listen") && attempts < 3 => {
                attempts += 1;
                port = free_port();
            }
            Err(why) => panic!("{why}"),
        }
    };
    let ctx = Arc::new(Ctx {
        endpoint: endpoint.clone(),
        token_endpoint,
        t0: OnceLock::new(),
        load_ms: AtomicU64::new(millis(LOAD)),
        kids: Mutex::new(HashMap::from([(kid_a.clone(), KeyClass::Old)])),
    });

    // Warm-up: every client calls once (the demo fetches the JWKS here).
    for (i, c) in clients.iter().enumerate() {
        let http = http_client();
        let token = fetch_token(&http, &ctx, c).await.expect("warm-up token");
        if let Err(e) = mcp_call(&http, &endpoint, &token, 0, "list_todos", json!({})).await {
            panic!(
                "warm-up call of client {i} failed: {e:?}\ndemo stderr:\n{}",
                demo.stderr()
            );
        }
    }
    let rss_warm = demo.memory();

    // The load, and the faults on their schedule.
    let t0 = Instant::now();
    ctx.t0.set(t0).expect("t0 set once");
    let tasks: Vec<_> = clients
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, c)| tokio::spawn(run_client(i, c, ctx.clone())))
        .collect();
    let mut marks = Marks::default();

    sleep_until(t0 + AS_RESTART_AT).await;
    marks.restart_begin = t0.elapsed();
    let as_ = as_.restart_with_key(Some(key_a.clone())).await;
    marks.restart_end = t0.elapsed();
    assert_eq!(as_.kid, kid_a, "same key file, same key");
    assert_eq!(as_.issuer, issuer, "same port, same issuer");

    sleep_until(t0 + OUTAGE_START).await;
    marks.outage_begin = t0.elapsed();
    proxy.set_failing(true);

    sleep_until(t0 + ROTATE_AT).await;
    marks.rotate_begin = t0.elapsed();
    let as_ = as_.restart_with_key(Some(key_b.clone())).await;
    marks.rotate_end = t0.elapsed();
    let kid_b = as_.kid.clone();
    assert_ne!(kid_b, kid_a, "a new key file is a new key");
    ctx.kids
        .lock()
        .expect("kids")
        .insert(kid_b.clone(), KeyClass::New);
    // The flood's tokens are signed meanwhile, with the new key.
    let flood_tokens = {
        let (key_b, kid_b) = (key_b.clone(), kid_b.clone());
        let (issuer, audience) = (issuer.clone(), endpoint.clone());
        tokio::task::spawn_blocking(move || {
            sign_flood(&key_b, &kid_b, &issuer, &audience, 2 * FLOOD_ROUND)
        })
    };

    sleep_until((t0 + OUTAGE_END).max(Instant::now() + OUTAGE_AFTER_ROTATION)).await;
    // Marked before the JWKS answers again: no fetch can succeed before the mark.
    marks.outage_end = t0.elapsed();
    proxy.set_failing(false);
    let load_end = LOAD.max(Windows::new(&marks).new_key_end + AFTER_WINDOWS);
    ctx.load_ms.store(millis(load_end), Ordering::Release);

    let mut reports = Vec::new();
    for task in tasks {
        reports.push(task.await.expect("client task"));
    }
    let load_time = t0.elapsed();
    let rss_load = demo.memory();

    // Every acknowledged write, exactly once, under its own subject (fresh tokens, new key).
    let http = http_client();
    let mut all_ids = HashSet::new();
    let mut listed_total = 0;
    for (i, report) in reports.iter().enumerate() {
        let token = fetch_token(&http, &ctx, &clients[i])
            .await
            .expect("final token");
        let result = mcp_call(&http, &endpoint, &token, 1, "list_todos", json!({}))
            .await
            .unwrap_or_else(|e| panic!("final list of client {i}: {e:?}"));
        let items = todo_items(&result);
        listed_total += items.len();
        check_final_list(i, report, &items);
        for (id, _) in &items {
            assert!(all_ids.insert(*id), "todo id {id} listed for two subjects");
        }
    }

    // The flood: RSS before, after one round (cache full), after the second.
    let flood_tokens = flood_tokens.await.expect("signing task");
    let rss_before_flood = demo.memory();
    let (round1, round1_time) = flood(&endpoint, &flood_tokens[..FLOOD_ROUND]).await;
    let rss_round1 = demo.memory();
    let (round2, round2_time) = flood(&endpoint, &flood_tokens[FLOOD_ROUND..]).await;
    let rss_round2 = demo.memory();
    let jwks = proxy.counts();
    assert!(
        demo.child.try_wait().expect("try_wait").is_none(),
        "demo-server exited\nstderr:\n{}",
        demo.stderr()
    );

    // ----- figures
    let windows = Windows::new(&marks);
    let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
    let mut violations = Vec::new();
    let (mut total, mut ok, mut creates, mut lists) = (0u64, 0u64, 0u64, 0u64);
    let (mut token_ok, mut token_failed, mut bad_5xx) = (0u64, 0u64, 0u64);
    let mut token_violations = Vec::new();
    for report in &reports {
        for call in &report.calls {
            total += 1;
            match call.op {
                Op::Create => creates += 1,
                Op::List => lists += 1,
            }
            if matches!(call.outcome, Outcome::Ok) {
                ok += 1;
                continue;
            }
            if matches!(
                call.outcome,
                Outcome::Status(500.., _) | Outcome::Unavailable { retry_after: false }
            ) {
                bad_5xx += 1;
            }
            let class = ctx.class(&call.kid);
            *by_kind
                .entry(format!(
                    "{} with {class:?}-key token, {}",
                    call.outcome.kind(),
                    windows.name(call.start)
                ))
                .or_default() += 1;
            if let Err(why) = windows.allowed(call, class) {
                violations.push(format!(
                    "client {}: {why}: {:?} sent {:.2} s, answered {:.2} s, kid {}: {} {}",
                    report.client,
                    call.op,
                    secs(call.start),
                    secs(call.end),
                    call.kid,
                    call.outcome.kind(),
                    call.outcome.detail()
                ));
            }
        }
        for t in &report.tokens {
            if t.error.is_none() {
                token_ok += 1;
                continue;
            }
            token_failed += 1;
            if !windows.token_failure_allowed(t) {
                token_violations.push(format!("client {}: {t:?}", report.client));
            }
        }
    }
    let failed_at = |class: KeyClass| {
        let times: Vec<Duration> = (reports.iter().flat_map(|r| &r.calls))
            .filter(|c| !matches!(c.outcome, Outcome::Ok) && ctx.class(&c.kid) == class)
            .map(|c| c.start)
            .collect();
        match (times.iter().min(), times.iter().max()) {
            (Some(first), Some(last)) => format!(
                "{} failed, sent {:.1}-{:.1} s",
                times.len(),
                secs(*first),
                secs(*last)
            ),
            _ => "none failed".to_owned(),
        }
    };
    let acked: usize = reports.iter().map(|r| r.acked.len()).sum();
    let refused: usize = reports.iter().map(|r| r.refused.len()).sum();
    let hwm = demo.memory().hwm_kb;

    println!("---- load_fault figures");
    println!(
        "demo-server: {} (pid {}), built or found in {:.1} s",
        bin.display(),
        demo.pid(),
        secs(located)
    );
    println!(
        "schedule (s since load start): AS restart {:.1}-{:.1}, JWKS outage {:.1}-{:.1}, rotation {:.1}-{:.1}; \
         new-key window ends {:.1}; load {:.1} s",
        secs(marks.restart_begin),
        secs(marks.restart_end),
        secs(marks.outage_begin),
        secs(marks.outage_end),
        secs(marks.rotate_begin),
        secs(marks.rotate_end),
        secs(windows.new_key_end),
        secs(load_time)
    );
    println!(
        "requests: {total} ({creates} create_todo, {lists} list_todos) from {CLIENTS} clients; {ok} ok, {} failed",
        total - ok
    );
    for (kind, n) in &by_kind {
        println!("  failed: {n:>5}  {kind}");
    }
    println!(
        "  old-key tokens: {}; new-key tokens: {}; 5xx other than 503 with Retry-After: {bad_5xx}",
        failed_at(KeyClass::Old),
        failed_at(KeyClass::New)
    );
    println!(
        "writes: {acked} acknowledged, {refused} refused (never stored); final lists hold {listed_total} items, \
         each acknowledged write exactly once"
    );
    println!("token requests to the AS: {token_ok} ok, {token_failed} failed (during AS restarts)");
    println!(
        "JWKS requests from the demo: {} answered, {} failed ({})",
        jwks.0,
        jwks.1,
        proxy.log(t0)
    );
    println!(
        "flood: {} + {} distinct tokens (cache capacity {}), {} + {} failed, {:.1} s + {:.1} s",
        FLOOD_ROUND,
        FLOOD_ROUND,
        jwt::DEFAULT_CACHE_CAPACITY,
        round1,
        round2,
        round1_time.as_secs_f64(),
        round2_time.as_secs_f64()
    );
    println!(
        "RSS (MiB): after warm-up {}, after load {}, before flood {}, after flood round 1 {} (+{}), \
         after round 2 {} (+{}); peak VmHWM {} (bound {PEAK_RSS_MB})",
        mib(rss_warm.rss_kb),
        mib(rss_load.rss_kb),
        mib(rss_before_flood.rss_kb),
        mib(rss_round1.rss_kb),
        mib(rss_round1.rss_kb.saturating_sub(rss_before_flood.rss_kb)),
        mib(rss_round2.rss_kb),
        mib(rss_round2.rss_kb.saturating_sub(rss_round1.rss_kb)),
        mib(hwm)
    );
    println!("run time: {:.1} s", started.elapsed().as_secs_f64());

    // ----- assertions
    let show = |v: &[String]| v.iter().take(20).cloned().collect::<Vec<_>>().join("\n");
    assert!(
        violations.is_empty(),
        "{} requests failed outside the rule:\n{}\ndemo stderr (tail):\n{}",
        violations.len(),
        show(&violations),
        tail(&demo.stderr(), 40)
    );
    assert!(
        token_violations.is_empty(),
        "token requests failed while the AS was up:\n{}",
        show(&token_violations)
    );
    assert_eq!(bad_5xx, 0, "5xx other than 503 with Retry-After");
    assert!(acked > 0 && ok > 0, "no work was done");
    assert_eq!(
        listed_total, acked,
        "final lists hold exactly the acknowledged writes"
    );
    assert_eq!(round1 + round2, 0, "flood requests failed");
    assert!(
        jwks.0 + jwks.1 <= MAX_JWKS_FETCHES,
        "the demo fetched the JWKS {} times",
        jwks.0 + jwks.1
    );
    assert!(jwks.1 >= 1, "the demo never met the JWKS outage");
    assert!(
        mib(hwm) <= PEAK_RSS_MB,
        "peak RSS {} MiB > {PEAK_RSS_MB} MiB",
        mib(hwm)
    );
    let fill = rss_round1.rss_kb.saturating_sub(rss_before_flood.rss_kb);
    assert!(
        mib(fill) <= FLOOD_FILL_MB,
        "the first flood round grew RSS by {} MiB > {FLOOD_FILL_MB} MiB",
        mib(fill)
    );
    let plateau = rss_round2.rss_kb.saturating_sub(rss_round1.rss_kb);
    assert!(
        mib(plateau) <= FLOOD_PLATEAU_MB,
        "the second flood round grew RSS by {} MiB > {FLOOD_PLATEAU_MB} MiB: the cache is not bounded",
        mib(plateau)
    );
    drop(as_);
    demo.stop();
}

// ---------------------------------------------------------------------------------------------
// Clients

fn client_id(i: usize) -> String {
    format!("load-client-{i}")
}

/// What every client shares.
struct Ctx {
    endpoint: String,
    token_endpoint: String,
    t0: OnceLock<Instant>,
    /// How long the load lasts, ms.
    load_ms: AtomicU64,
    /// `kid` -> which key it is.
    kids: Mutex<HashMap<String, KeyClass>>,
}

impl Ctx {
    fn now(&self) -> Duration {
        self.t0.get().map_or(Duration::ZERO, Instant::elapsed)
    }

    fn class(&self, kid: &str) -> KeyClass {
        self.kids
            .lock()
            .expect("kids")
            .get(kid)
            .copied()
            .unwrap_or(KeyClass::Unknown)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyClass {
    Old,
    New,
    Unknown,
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Create,
    List,
}

/// How one MCP request ended.
#[derive(Debug, Clone)]
enum Outcome {
    Ok,
    /// 401, with the `error_description`.
    Unauthorized(String),
    /// 503, and whether it carried `Retry-After`.
    Unavailable {
        retry_after: bool,
    },
    /// Any other status.
    Status(u16, String),
    /// No HTTP response (connection error, timeout).
    Transport(String),
    /// A JSON-RPC error, an unreadable body, or a tool error.
    Rpc(String),
    /// `list_todos` did not show a write acknowledged before it was sent.
    Stale(String),
}

impl Outcome {
    fn kind(&self) -> String {
        match self {
            Outcome::Ok => "ok".into(),
            Outcome::Unauthorized(d) => format!("401 invalid_token \"{d}\""),
            Outcome::Unavailable { retry_after: true } => "503 with Retry-After".into(),
            Outcome::Unavailable { retry_after: false } => "503 without Retry-After".into(),
            Outcome::Status(s, _) => format!("HTTP {s}"),
            Outcome::Transport(_) => "transport error".into(),
            Outcome::Rpc(_) => "JSON-RPC or tool error".into(),
            Outcome::Stale(_) => "stale list".into(),
        }
    }

    /// What was received, for a failure's report.
    fn detail(&self) -> &str {
        match self {
            Outcome::Ok | Outcome::Unavailable { .. } => "",
            Outcome::Unauthorized(d)
            | Outcome::Status(_, d)
            | Outcome::Transport(d)
            | Outcome::Rpc(d)
            | Outcome::Stale(d) => d,
        }
    }
}

#[derive(Debug)]
struct Call {
    op: Op,
    /// Sent and answered, since the load started.
    start: Duration,
    end: Duration,
    kid: String,
    outcome: Outcome,
}

#[derive(Debug)]
struct TokenAttempt {
    start: Duration,
    end: Duration,
    error: Option<String>,
}

#[derive(Debug)]
struct ClientReport {
    client: usize,
    calls: Vec<Call>,
    tokens: Vec<TokenAttempt>,
    /// Acknowledged creates: id -> title.
    acked: BTreeMap<i64, String>,
    /// Titles of creates refused before running (401, 503).
    refused: Vec<String>,
    /// Titles whose create had no clear answer (transport error…).
    unknown: Vec<String>,
}

struct Token {
    raw: String,
    kid: String,
    at: Instant,
}

async fn run_client(i: usize, client: StaticClient, ctx: Arc<Ctx>) -> ClientReport {
    let http = http_client();
    let mut report = ClientReport {
        client: i,
        calls: Vec::new(),
        tokens: Vec::new(),
        acked: BTreeMap::new(),
        refused: Vec::new(),
        unknown: Vec::new(),
    };
    let mut token: Option<Token> = None;
    let mut need_fresh = true;
    let mut rpc_id = 0u64;
    for round in 0..MAX_ROUNDS {
        if ctx.now() >= Duration::from_millis(ctx.load_ms.load(Ordering::Acquire)) {
            break;
        }
        if need_fresh
            || token
                .as_ref()
                .is_none_or(|t| t.at.elapsed() >= TOKEN_REFRESH)
        {
            let start = ctx.now();
            let got = fetch_token(&http, &ctx, &client).await;
            let end = ctx.now();
            match got {
                Ok(raw) => {
                    let kid = oidc::decode_jwt(&raw).0["kid"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    token = Some(Token {
                        raw,
                        kid,
                        at: Instant::now(),
                    });
                    need_fresh = false;
                    report.tokens.push(TokenAttempt {
                        start,
                        end,
                        error: None,
                    });
                }
                Err(e) => {
                    report.tokens.push(TokenAttempt {
                        start,
                        end,
                        error: Some(e),
                    });
                    tokio::time::sleep(BACKOFF).await;
                    if token.is_none() {
                        continue;
                    }
                }
            }
        }
        let t = token.as_ref().expect("a token");

        let title = format!("load-fault c{i} #{round}");
        rpc_id += 1;
        let start = ctx.now();
        let res = mcp_call(
            &http,
            &ctx.endpoint,
            &t.raw,
            rpc_id,
            "create_todo",
            json!({ "title": title }),
        )
        .await;
        let outcome = match res {
            Ok(result) => match created(&result) {
                Ok((id, stored)) if stored == title => {
                    report.acked.insert(id, title.clone());
                    Outcome::Ok
                }
                Ok((id, stored)) => {
                    Outcome::Rpc(format!("created {id} with title {stored:?}, not {title:?}"))
                }
                Err(e) => Outcome::Rpc(e),
            },
            Err(e) => e,
        };
        match &outcome {
            Outcome::Ok => {}
            Outcome::Unauthorized(_) | Outcome::Unavailable { .. } => {
                report.refused.push(title.clone());
            }
            _ => report.unknown.push(title.clone()),
        }
        let failed = !matches!(outcome, Outcome::Ok);
        report.calls.push(Call {
            op: Op::Create,
            start,
            end: ctx.now(),
            kid: t.kid.clone(),
            outcome: outcome.clone(),
        });
        if failed {
            need_fresh |= matches!(outcome, Outcome::Unauthorized(_));
            tokio::time::sleep(BACKOFF).await;
            continue;
        }

        rpc_id += 1;
        let start = ctx.now();
        let res = mcp_call(
            &http,
            &ctx.endpoint,
            &t.raw,
            rpc_id,
            "list_todos",
            json!({}),
        )
        .await;
        let outcome = match res {
            Ok(result) => match try_todo_items(&result) {
                Err(e) => Outcome::Rpc(e),
                Ok(items) => {
                    let listed: HashSet<i64> = items.iter().map(|(id, _)| *id).collect();
                    let missing: Vec<_> = report
                        .acked
                        .keys()
                        .filter(|id| !listed.contains(id))
                        .collect();
                    let foreign: Vec<_> = items
                        .iter()
                        .filter(|(_, title)| !title.starts_with(&format!("load-fault c{i} #")))
                        .collect();
                    if missing.is_empty() && foreign.is_empty() {
                        Outcome::Ok
                    } else {
                        Outcome::Stale(format!("missing {missing:?}, foreign {foreign:?}"))
                    }
                }
            },
            Err(e) => e,
        };
        let failed = !matches!(outcome, Outcome::Ok);
        need_fresh |= matches!(outcome, Outcome::Unauthorized(_));
        report.calls.push(Call {
            op: Op::List,
            start,
            end: ctx.now(),
            kid: t.kid.clone(),
            outcome,
        });
        if failed {
            tokio::time::sleep(BACKOFF).await;
        }
    }
    report
}

/// Asserts that client `i`'s final list is exactly its acknowledged writes (plus, at most once
/// each, writes whose outcome it never learnt).
fn check_final_list(i: usize, report: &ClientReport, items: &[(i64, String)]) {
    let mut ids = HashSet::new();
    let mut titles: HashMap<&str, usize> = HashMap::new();
    for (id, title) in items {
        assert!(ids.insert(*id), "client {i}: id {id} listed twice");
        *titles.entry(title.as_str()).or_default() += 1;
    }
    for (title, n) in &titles {
        assert_eq!(*n, 1, "client {i}: {title:?} listed {n} times");
    }
    let listed: HashMap<i64, &str> = items.iter().map(|(id, t)| (*id, t.as_str())).collect();
    for (id, title) in &report.acked {
        assert_eq!(
            listed.get(id).copied(),
            Some(title.as_str()),
            "client {i}: acknowledged write {id} {title:?} is not in its list"
        );
    }
    for title in &report.refused {
        assert!(
            !titles.contains_key(title.as_str()),
            "client {i}: refused write {title:?} was stored"
        );
    }
    for (id, title) in items {
        assert!(
            report.acked.contains_key(id) || report.unknown.contains(title),
            "client {i}: unexpected item {id} {title:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The rule

#[derive(Debug, Default)]
struct Marks {
    restart_begin: Duration,
    restart_end: Duration,
    outage_begin: Duration,
    rotate_begin: Duration,
    rotate_end: Duration,
    outage_end: Duration,
}

struct Windows<'m> {
    marks: &'m Marks,
    /// Rule 2's window ends here.
    new_key_end: Duration,
}

impl<'m> Windows<'m> {
    fn new(marks: &'m Marks) -> Self {
        Self {
            marks,
            new_key_end: marks.outage_end + jwt::DEFAULT_MIN_REFETCH_INTERVAL + WINDOW_SLACK,
        }
    }

    /// The phase a moment falls in, for the figures.
    fn name(&self, t: Duration) -> &'static str {
        let m = self.marks;
        if t < m.restart_begin {
            "before the faults"
        } else if t <= m.restart_end {
            "during the AS restart"
        } else if t < m.outage_begin {
            "after the AS restart"
        } else if t < m.rotate_begin {
            "JWKS outage, before rotation"
        } else if t < m.outage_end {
            "JWKS outage, after rotation"
        } else if t <= self.new_key_end {
            "after the outage, within the refetch interval"
        } else {
            "after the windows"
        }
    }

    /// Rules 1-3 for one request.
    fn allowed(&self, call: &Call, class: KeyClass) -> Result<(), String> {
        let unknown_key =
            matches!(&call.outcome, Outcome::Unauthorized(d) if d == "unknown signing key");
        let retry_503 = matches!(call.outcome, Outcome::Unavailable { retry_after: true });
        match (&call.outcome, class) {
            (Outcome::Ok, _) => Ok(()),
            (_, KeyClass::Old) if unknown_key && call.end >= self.marks.outage_end => Ok(()),
            (_, KeyClass::Old) => Err("old-key token refused before the JWKS was back".into()),
            (_, KeyClass::New) if (unknown_key || retry_503) && call.start <= self.new_key_end => {
                Ok(())
            }
            (_, KeyClass::New) => Err("new-key token failed outside its window".into()),
            (_, KeyClass::Unknown) => Err("token of an unknown key".into()),
        }
    }

    /// Rule 4.
    fn token_failure_allowed(&self, t: &TokenAttempt) -> bool {
        let m = self.marks;
        [
            (m.restart_begin, m.restart_end),
            (m.rotate_begin, m.rotate_end),
        ]
        .iter()
        .any(|(from, to)| t.end >= *from && t.start <= *to + TOKEN_SLACK)
    }
}

// ---------------------------------------------------------------------------------------------
// HTTP

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(HTTP_TIMEOUT)
        .build()
        .expect("reqwest client")
}

/// A `client_credentials` token for `client`, or why not (never panics: the AS may be down).
async fn fetch_token(
    http: &reqwest::Client,
    ctx: &Ctx,
    client: &StaticClient,
) -> Result<String, String> {
    let body = format!(
        "grant_type=client_credentials&scope={}&resource={}",
        form_encode(SCOPE),
        form_encode(&ctx.endpoint)
    );
    let res = http
        .post(&ctx.token_endpoint)
        .basic_auth(&client.client_id, Some(&client.client_secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("token request: {e}"))?;
    let status = res.status().as_u16();
    let text = res.text().await.map_err(|e| format!("token body: {e}"))?;
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    match v["access_token"].as_str() {
        Some(token) if status == 200 => Ok(token.to_owned()),
        _ => Err(format!("token endpoint answered {status}: {text}")),
    }
}

fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `tools/call` of `tool`: the JSON-RPC `result` (not a tool error), or how it failed.
async fn mcp_call(
    http: &reqwest::Client,
    endpoint: &str,
    token: &str,
    id: u64,
    tool: &str,
    arguments: Value,
) -> Result<Value, Outcome> {
    let body = json!({
        "jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": tool, "arguments": arguments},
    });
    let message = post_mcp(http, endpoint, token, &body).await?;
    let result = &message["result"];
    if !result.is_object() {
        return Err(Outcome::Rpc(format!("no result: {message}")));
    }
    if result["isError"] != false {
        return Err(Outcome::Rpc(format!("tool error: {result}")));
    }
    Ok(result.clone())
}

/// POSTs one JSON-RPC request; its reply, or how it failed.
async fn post_mcp(
    http: &reqwest::Client,
    endpoint: &str,
    token: &str,
    body: &Value,
) -> Result<Value, Outcome> {
    let res = http
        .post(endpoint)
        .bearer_auth(token)
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .header("mcp-protocol-version", "2025-06-18")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| Outcome::Transport(format!("{e:?}")))?;
    let status = res.status().as_u16();
    let retry_after = res.headers().contains_key("retry-after");
    let event_stream = res
        .headers()
        .get("content-type")
        .is_some_and(|v| v.as_bytes().starts_with(b"text/event-stream"));
    let text = res
        .text()
        .await
        .map_err(|e| Outcome::Transport(format!("reading the body: {e:?}")))?;
    match status {
        200 => {}
        401 => {
            let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let description = v["error_description"].as_str().unwrap_or(&text);
            return Err(Outcome::Unauthorized(description.to_owned()));
        }
        503 => return Err(Outcome::Unavailable { retry_after }),
        _ => return Err(Outcome::Status(status, text.chars().take(300).collect())),
    }
    let json_text = if event_stream {
        text.lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .map(str::trim)
            .find(|d| d.contains("\"result\"") || d.contains("\"error\""))
            .unwrap_or("")
            .to_owned()
    } else {
        text
    };
    let message: Value = serde_json::from_str(&json_text)
        .map_err(|e| Outcome::Rpc(format!("reply is not JSON ({e}): {json_text:.300}")))?;
    if message.get("error").is_some() || message["id"] != body["id"] {
        return Err(Outcome::Rpc(format!("JSON-RPC reply {message}")));
    }
    Ok(message)
}

/// The id and title of the item `create_todo` answered with.
fn created(result: &Value) -> Result<(i64, String), String> {
    let s = &result["structuredContent"];
    match (s["id"].as_i64(), s["title"].as_str()) {
        (Some(id), Some(title)) => Ok((id, title.to_owned())),
        _ => Err(format!("create_todo answered {result}")),
    }
}

/// `(id, title)` of every item `list_todos` answered with; panics if it is not a list.
fn todo_items(result: &Value) -> Vec<(i64, String)> {
    try_todo_items(result).unwrap_or_else(|e| panic!("{e}"))
}

/// `(id, title)` of every item `list_todos` answered with.
fn try_todo_items(result: &Value) -> Result<Vec<(i64, String)>, String> {
    let items = result["structuredContent"]["todos"]
        .as_array()
        .ok_or_else(|| format!("list_todos answered {result}"))?;
    items
        .iter()
        .map(|t| match (t["id"].as_i64(), t["title"].as_str()) {
            (Some(id), Some(title)) => Ok((id, title.to_owned())),
            _ => Err(format!("list_todos answered an item {t}")),
        })
        .collect()
}

async fn sleep_until(deadline: Instant) {
    tokio::time::sleep_until(deadline.into()).await;
}

// ---------------------------------------------------------------------------------------------
// The flood

/// Sends `ping` once with each token (through the bearer check like any request), from [`FLOOD_SENDERS`] concurrent clients; returns
/// how many failed and how long it took.
async fn flood(endpoint: &str, tokens: &[String]) -> (usize, Duration) {
    let started = Instant::now();
    let tokens: Arc<Vec<String>> = Arc::new(tokens.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let senders: Vec<_> = (0..FLOOD_SENDERS)
        .map(|_| {
            let (tokens, next, failures) = (tokens.clone(), next.clone(), failures.clone());
            let endpoint = endpoint.to_owned();
            tokio::spawn(async move {
                let http = http_client();
                let body = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(token) = tokens.get(i) else { break };
                    match post_mcp(&http, &endpoint, token, &body).await {
                        Ok(m) if m["result"].is_object() => {}
                        Ok(m) => failures.lock().expect("failures").push(format!("{m}")),
                        Err(e) => failures.lock().expect("failures").push(format!("{e:?}")),
                    }
                }
            })
        })
        .collect();
    for s in senders {
        s.await.expect("flood sender");
    }
    let failures = failures.lock().expect("failures");
    if let Some(first) = failures.first() {
        eprintln!("flood: {} failures, the first: {first}", failures.len());
    }
    (failures.len(), started.elapsed())
}

/// `n` distinct access tokens for one client, signed RS256 with the private JWK in `key_file`
/// (the AS's key, `kid`), as the AS would issue them: distinct `jti`.
fn sign_flood(key_file: &Path, kid: &str, issuer: &str, audience: &str, n: usize) -> Vec<String> {
    use aws_lc_rs::{rand::SystemRandom, signature};

    let jwk: Value =
        serde_json::from_str(&std::fs::read_to_string(key_file).expect("read the AS's key file"))
            .expect("key file JSON");
    let jwk = if jwk["keys"].is_array() {
        jwk["keys"][0].clone()
    } else {
        jwk
    };
    let key = signature::RsaKeyPair::from_der(&rsa_private_key_der(&jwk))
        .expect("the AS's key as an RSAPrivateKey");
    let rng = SystemRandom::new();
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let header = b64(json!({"alg": "RS256", "typ": "at+jwt", "kid": kid})
        .to_string()
        .as_bytes());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let mut signature = vec![0; key.public_modulus_len()];
    (0..n)
        .map(|i| {
            let payload = json!({
                "iss": issuer, "aud": audience, "sub": "flood-client", "client_id": "flood-client",
                "scope": "todo:read", "iat": now, "exp": now + 900, "jti": format!("flood-{now}-{i}"),
            });
            let input = format!("{header}.{}", b64(payload.to_string().as_bytes()));
            key.sign(
                &signature::RSA_PKCS1_SHA256,
                &rng,
                input.as_bytes(),
                &mut signature,
            )
            .expect("sign");
            format!("{input}.{}", b64(&signature))
        })
        .collect()
}

/// A private RSA JWK as a DER `RSAPrivateKey` (RFC 8017, A.1.2).
fn rsa_private_key_der(jwk: &Value) -> Vec<u8> {
    fn length(len: usize, out: &mut Vec<u8>) {
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes = len.to_be_bytes();
            let skip = bytes.iter().take_while(|b| **b == 0).count();
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
    }
    fn integer(magnitude: &[u8], out: &mut Vec<u8>) {
        let skip = magnitude.iter().take_while(|b| **b == 0).count();
        let mut m = magnitude[skip..].to_vec();
        if m.first().is_none_or(|b| b & 0x80 != 0) {
            m.insert(0, 0);
        }
        out.push(0x02);
        length(m.len(), out);
        out.extend_from_slice(&m);
    }
    let mut body = Vec::new();
    integer(&[0], &mut body); // version
    for field in ["n", "e", "d", "p", "q", "dp", "dq", "qi"] {
        let value = jwk[field]
            .as_str()
            .unwrap_or_else(|| panic!("private JWK without {field}"));
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(value.trim_end_matches('='))
            .unwrap_or_else(|e| panic!("JWK {field}: {e}"));
        integer(&bytes, &mut body);
    }
    let mut der = vec![0x30];
    length(body.len(), &mut der);
    der.extend_from_slice(&body);
    der
}

// ---------------------------------------------------------------------------------------------
// The JWKS proxy

/// `http://127.0.0.1:{port}/jwks`, forwarding to the AS's `/jwks`, or answering `503` while
/// failing. A plain thread, one connection at a time (the demo fetches rarely).
struct JwksProxy {
    url: String,
    port: u16,
    failing: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    /// When each request came, and whether it was answered.
    log: Arc<Mutex<Vec<(Instant, bool)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl JwksProxy {
    fn start(upstream_port: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the JWKS proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let failing = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let log = Arc::new(Mutex::new(Vec::new()));
        let thread = {
            let log = log.clone();
            let (failing, answered, failed, stop) = (
                failing.clone(),
                answered.clone(),
                failed.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::Acquire) {
                        break;
                    }
                    let Ok(mut stream) = stream else { continue };
                    let at = Instant::now();
                    let served = Self::serve(&mut stream, upstream_port, &failing);
                    let counter = if served { &answered } else { &failed };
                    counter.fetch_add(1, Ordering::Relaxed);
                    log.lock().expect("proxy log").push((at, served));
                    let _ = stream.shutdown(Shutdown::Both);
                }
            })
        };
        Self {
            url: format!("http://127.0.0.1:{port}/jwks"),
            port,
            failing,
            answered,
            failed,
            log,
            stop,
            thread: Some(thread),
        }
    }

    /// Answers one request; `true` when it forwarded the AS's JWKS.
    fn serve(stream: &mut TcpStream, upstream_port: u16, failing: &AtomicBool) -> bool {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        // The request head (a GET: no body).
        let mut head = Vec::new();
        let mut buf = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return false,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let unavailable =
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
        if failing.load(Ordering::Acquire) {
            let _ = stream.write_all(unavailable);
            return false;
        }
        let upstream = (|| -> std::io::Result<Vec<u8>> {
            let mut up = TcpStream::connect(("127.0.0.1", upstream_port))?;
            up.set_read_timeout(Some(Duration::from_secs(5)))?;
            write!(
                up,
                "GET /jwks HTTP/1.1\r\nhost: 127.0.0.1:{upstream_port}\r\naccept: application/json\r\nconnection: close\r\n\r\n"
            )?;
            let mut response = Vec::new();
            up.read_to_end(&mut response)?;
            Ok(response)
        })();
        match upstream {
            Ok(response) if response.starts_with(b"HTTP/1.1 200") => {
                stream.write_all(&response).is_ok()
            }
            _ => {
                let _ = stream.write_all(unavailable);
                false
            }
        }
    }

    fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::Release);
    }

    /// When each request came (seconds since `t0`, negative before) and whether it was answered.
    fn log(&self, t0: Instant) -> String {
        let log = self.log.lock().expect("proxy log");
        let items: Vec<String> = log
            .iter()
            .map(|(at, ok)| {
                let t = match at.checked_duration_since(t0) {
                    Some(after) => secs(after),
                    None => -secs(t0 - *at),
                };
                format!("{t:.1} s {}", if *ok { "200" } else { "503" })
            })
            .collect();
        items.join(", ")
    }

    /// (answered, failed) requests.
    fn counts(&self) -> (u64, u64) {
        (
            self.answered.load(Ordering::Relaxed),
            self.failed.load(Ordering::Relaxed),
        )
    }
}

impl Drop for JwksProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The demo process

/// A port free a moment ago (the demo's URL must be known before it starts).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

fn mib(kb: u64) -> u64 {
    kb.div_ceil(1024)
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
