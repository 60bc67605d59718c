//! Scale-out: PostgreSQL, nginx (from `deploy/nginx.conf.template`) and 3 `demo-server`
//! replicas verifying the tokens of a real authorization server (`support/oidc.rs`), loaded
//! through nginx while a replica is killed and the authorization server rotates its key.
//!
//! # Scenario
//!
//! [`CLIENTS`] clients, each its own `client_credentials` client (so its own `sub`), loop:
//! `create_todo` with a unique title; every third round `update_todo` of one of their items,
//! every fifth `delete_todo` of one; every seventh `list_todos`, which must show only their own
//! items. Each takes a fresh token every [`TOKEN_REFRESH`] (keeping the old one while the token
//! endpoint is down). Three phases:
//!
//! 1. [`MEASURE`] with nginx sending everything to one replica;
//! 2. nginx reloaded with all 3 replicas, [`MEASURE`] again;
//! 3. [`FAULTS`] with all 3: at [`KILL_AT`] replica 2 is SIGKILLed and restarted at once on its
//!    port (it takes traffic again when nginx retries it); at [`ROTATE_AT`] the AS restarts with
//!    a new signing key, the old one still published (a graceful rotation), so every token
//!    fetched afterwards is signed with a key no replica has seen.
//!
//! # Assertions
//!
//! - Every acknowledged create is in its subject's final list exactly once with its title and
//!   the state of its last acknowledged update, unless an acknowledged delete removed it; nothing
//!   else is there but items of unacknowledged (failed) writes of that subject; titles are never
//!   repeated; no list, during or after the load, shows another subject's item.
//! - The only failed requests are in flight on the killed replica: HTTP 502 from nginx, sent
//!   before the kill and answered after it, and nginx's access log names the killed replica for
//!   each. Their number is printed.
//! - No request is refused for its token: every replica accepts the new key on first sight.
//!
//! Throughput of phases 1 and 2 is printed with the CPU time each part used (nginx, PostgreSQL,
//! the replicas, the load generator), never asserted: on a 2-core machine three replicas share
//! the same two cores with everything else, so they cannot be faster.
//!
//! Needs PostgreSQL (`initdb`, `postgres`), nginx and Node.js; fails naming what to install.

#![cfg(target_os = "linux")]

#[path = "support/demo.rs"]
mod demo;
#[path = "support/oidc.rs"]
mod oidc;
#[path = "../../demo-server/tests/common/postgres.rs"]
mod postgres;

use std::{
    collections::{BTreeMap, HashMap},
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use oidc::{AsOptions, StaticClient, TestAs};
use serde_json::{Value, json};

const CLIENTS: usize = 8;
const REPLICAS: usize = 3;
const MEASURE: Duration = Duration::from_secs(8);
const FAULTS: Duration = Duration::from_secs(28);
const KILL_AT: Duration = Duration::from_secs(4);
/// More than the verifier's minimum interval between two JWKS fetches (10 s) after the
/// restarted replica's first fetch, so that "first sight" is what is tested.
const ROTATE_AT: Duration = Duration::from_secs(18);
const TOKEN_REFRESH: Duration = Duration::from_secs(3);
const SCOPES: &str = "todo:read todo:write";

fn client_id(i: usize) -> String {
    format!("cluster-client-{i}")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn nginx_bin() -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/sbin")])
        .map(|d| d.join("nginx"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("nginx not found: install it (Debian/Ubuntu: `apt-get install nginx`)")
        })
}

/// One child process, killed on drop.
struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    /// SIGTERM, then SIGKILL after 10 s: nginx's master stops its workers only when asked.
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Replica {
    proc: Proc,
}

fn start_replica(dir: &Path, n: usize, port: u16, env: &[(&str, String)]) -> Replica {
    let log = dir.join(format!("replica-{n}-{}.log", unix_now()));
    let mut cmd = Command::new(demo::binary());
    demo::clear_env(&mut cmd);
    cmd.env("NO_COLOR", "1")
        .env("RUST_LOG", "warn")
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap());
    let child = cmd.spawn().expect("spawn demo-server");
    let proc = Proc { child, log };
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "replica {n} did not listen:\n{}",
            proc.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Replica { proc }
}

/// Writes nginx's configuration from the deployment template, one upstream line per port.
fn nginx_conf(dir: &Path, listen: u16, ports: &[u16]) -> PathBuf {
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/nginx.conf.template");
    let upstreams: String = ports
        .iter()
        .map(|p| format!("server 127.0.0.1:{p} max_fails=1 fail_timeout=2s; "))
        .collect();
    let conf = std::fs::read_to_string(template)
        .unwrap()
        .replace("@RUN_DIR@", &dir.display().to_string())
        .replace("@LISTEN@", &format!("127.0.0.1:{listen}"))
        .replace("@UPSTREAMS@", &upstreams);
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    path
}

/// CPU seconds (user + system) used so far by `pid`, 0 once it is gone.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

/// Processes whose command name is `name`.
fn pids_named(name: &str) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == name)
        })
        .collect()
}

/// CPU seconds per part of the system.
fn cpu_by_part(replicas: &[u32]) -> BTreeMap<&'static str, f64> {
    let sum = |pids: &[u32]| pids.iter().map(|p| cpu_seconds(*p)).sum::<f64>();
    BTreeMap::from([
        ("nginx", sum(&pids_named("nginx"))),
        ("postgres", sum(&pids_named("postgres"))),
        ("replicas", sum(replicas)),
        ("load generator", cpu_seconds(std::process::id())),
    ])
}

/// What one request came to.
#[derive(Debug, Clone)]
struct Failure {
    sent: f64,
    answered: f64,
    what: String,
    http: Option<u16>,
}

#[derive(Debug, Default)]
struct Ledger {
    /// id -> (title, done), as last acknowledged.
    items: BTreeMap<i64, (String, bool)>,
    deleted: Vec<i64>,
    /// Items whose state is unknown (an unacknowledged update or delete).
    uncertain: Vec<i64>,
    /// Titles of unacknowledged creates.
    maybe_titles: Vec<String>,
    ops: u64,
    failures: Vec<Failure>,
    foreign: Vec<String>,
    unauthorized: u64,
}

struct Client {
    n: usize,
    http: reqwest::Client,
    endpoint: String,
    token_endpoint: String,
    token: String,
    token_at: Instant,
    /// Rounds so far, across phases: titles stay unique.
    round: u64,
}

impl Client {
    async fn fetch_token(&self) -> Option<String> {
        let id = client_id(self.n);
        let res = self
            .http
            .post(&self.token_endpoint)
            .basic_auth(&id, Some(format!("secret-{}", self.n)))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=client_credentials&scope={}",
                SCOPES.replace(':', "%3A").replace(' ', "+")
            ))
            .send()
            .await
            .ok()?;
        let body: Value = res.json().await.ok()?;
        body["access_token"].as_str().map(str::to_owned)
    }

    /// Calls `tool`; `Ok(structured content)` or `Err` (the failure, recorded by the caller).
    async fn call(&self, tool: &str, args: Value) -> Result<Value, Failure> {
        let sent = unix_now();
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
                          "params": {"name": tool, "arguments": args}});
        let res = self
            .http
            .post(&self.endpoint)
            .bearer_auth(&self.token)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2025-11-25")
            .json(&body)
            .send()
            .await;
        let fail = |what: String, http| Failure {
            sent,
            answered: unix_now(),
            what,
            http,
        };
        let res = res.map_err(|e| fail(format!("{tool}: {e}"), None))?;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap_or_default();
        if status != 200 {
            return Err(fail(format!("{tool}: HTTP {status} {text}"), Some(status)));
        }
        let msg: Value = serde_json::from_str(&text)
            .map_err(|e| fail(format!("{tool}: {e}: {text}"), Some(status)))?;
        let result = &msg["result"];
        if result["isError"] != false {
            return Err(fail(format!("{tool}: {msg}"), Some(status)));
        }
        Ok(result["structuredContent"].clone())
    }
}

/// One client's loop until `stop`.
async fn run_client(mut c: Client, stop: Arc<AtomicBool>, ledger: Arc<Mutex<Ledger>>) -> Client {
    let prefix = format!("{}:", client_id(c.n));
    while !stop.load(Ordering::Relaxed) {
        c.round += 1;
        let round = c.round;
        if c.token_at.elapsed() >= TOKEN_REFRESH {
            if let Some(t) = c.fetch_token().await {
                c.token = t;
            }
            c.token_at = Instant::now();
        }
        let title = format!("{prefix}{round}");
        let outcome = c.call("create_todo", json!({"title": title})).await;
        let target = with(&ledger, |l| {
            match outcome {
                Ok(t) => {
                    l.ops += 1;
                    l.items
                        .insert(t["id"].as_i64().unwrap(), (title.clone(), false));
                }
                Err(f) => {
                    l.maybe_titles.push(title);
                    record(l, f);
                }
            }
            l.items.keys().next_back().copied()
        });
        let Some(id) = target else { continue };
        if round.is_multiple_of(3) {
            let new_title = format!("{prefix}{round}-renamed");
            let outcome = c
                .call(
                    "update_todo",
                    json!({"id": id, "done": true, "title": new_title}),
                )
                .await;
            with(&ledger, |l| match outcome {
                Ok(_) => {
                    l.ops += 1;
                    l.items.insert(id, (new_title, true));
                }
                Err(f) => {
                    l.uncertain.push(id);
                    l.maybe_titles.push(new_title);
                    record(l, f);
                }
            });
        }
        if round.is_multiple_of(5) {
            let outcome = c.call("delete_todo", json!({"id": id})).await;
            with(&ledger, |l| match outcome {
                Ok(_) => {
                    l.ops += 1;
                    l.items.remove(&id);
                    l.deleted.push(id);
                }
                Err(f) => {
                    l.uncertain.push(id);
                    record(l, f);
                }
            });
        }
        if round.is_multiple_of(7) {
            let outcome = c.call("list_todos", json!({})).await;
            with(&ledger, |l| match outcome {
                Ok(list) => {
                    l.ops += 1;
                    for t in list["todos"].as_array().unwrap() {
                        let title = t["title"].as_str().unwrap();
                        if !title.starts_with(&prefix) {
                            l.foreign.push(title.to_owned());
                        }
                    }
                }
                Err(f) => record(l, f),
            });
        }
    }
    c
}

/// Runs `f` on the ledger, holding its lock only meanwhile.
fn with<T>(ledger: &Mutex<Ledger>, f: impl FnOnce(&mut Ledger) -> T) -> T {
    f(&mut ledger.lock().unwrap())
}

fn record(l: &mut Ledger, f: Failure) {
    if f.http == Some(401) {
        l.unauthorized += 1;
    }
    l.failures.push(f);
}

/// Runs every client for `duration`, and `during` meanwhile (given the start); returns the
/// operations acknowledged.
async fn load<F: Future<Output = ()>>(
    clients: &mut Vec<Client>,
    ledgers: &[Arc<Mutex<Ledger>>],
    duration: Duration,
    during: impl FnOnce(Instant) -> F,
) -> u64 {
    let ops = || -> u64 { ledgers.iter().map(|l| l.lock().unwrap().ops).sum() };
    let before = ops();
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let tasks: Vec<_> = clients
        .drain(..)
        .map(|c| {
            let ledger = ledgers[c.n].clone();
            tokio::spawn(run_client(c, stop.clone(), ledger))
        })
        .collect();
    during(start).await;
    tokio::time::sleep(duration.saturating_sub(start.elapsed())).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        clients.push(t.await.unwrap());
    }
    ops() - before
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_behind_nginx_survive_a_kill_and_a_key_rotation() {
    let nginx = nginx_bin();
    let mut pg = postgres::Postgres::start();
    let dir = std::env::temp_dir().join(format!("cluster-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    let public = free_port();
    let base = format!("http://127.0.0.1:{public}/");
    let endpoint = format!("{base}mcp");
    let clients: Vec<StaticClient> = (0..CLIENTS)
        .map(|i| StaticClient::new(&client_id(i), &format!("secret-{i}"), None))
        .collect();
    let as_ = TestAs::start(AsOptions {
        clients,
        key_file: Some(dir.join("key-1.json")),
        ..AsOptions::default().resource(endpoint.clone())
    })
    .await;
    let env = vec![
        ("MCP_URL", base.clone()),
        ("MCP_AUTH_ISSUER", as_.issuer.clone()),
        ("MCP_AUTH_AUDIENCE", endpoint.clone()),
        ("MCP_AUTH_JWKS_URI", as_.jwks_uri.clone()),
        ("DATABASE_URL", pg.url("postgres")),
        // Thousands of items each: the quota is not what is tested here.
        ("DEMO_TODO_QUOTA", "1000000".to_owned()),
    ];
    let ports: Vec<u16> = (0..REPLICAS).map(|_| free_port()).collect();
    // The first replica migrates; the others start together and find it done.
    let mut replicas = vec![start_replica(&dir, 1, ports[0], &env)];
    for (i, port) in ports.iter().enumerate().skip(1) {
        replicas.push(start_replica(&dir, i + 1, *port, &env));
    }

    let conf = nginx_conf(&dir, public, &ports[..1]);
    let nginx_proc = Proc {
        child: Command::new(&nginx)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.join("nginx-error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("nginx.log")).unwrap())
            .spawn()
            .expect("spawn nginx"),
        log: dir.join("nginx-error.log"),
    };
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while http.get(format!("{base}health")).send().await.is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not answer:\n{}",
            nginx_proc.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let ledgers: Vec<Arc<Mutex<Ledger>>> = (0..CLIENTS).map(|_| Arc::default()).collect();
    let mut clients = Vec::new();
    for n in 0..CLIENTS {
        let mut c = Client {
            n,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            endpoint: endpoint.clone(),
            token_endpoint: as_.token_endpoint.clone(),
            token: String::new(),
            token_at: Instant::now(),
            round: 0,
        };
        c.token = c.fetch_token().await.expect("a token");
        clients.push(c);
    }
    let pids = |r: &[Replica]| r.iter().map(|r| r.proc.pid()).collect::<Vec<_>>();

    // Phase 1 and 2: throughput with one replica, then three.
    let mut figures = Vec::new();
    for (label, upstreams) in [("1 replica", &ports[..1]), ("3 replicas", &ports[..])] {
        nginx_conf(&dir, public, upstreams);
        let hup = Command::new("kill")
            .args(["-HUP", &nginx_proc.pid().to_string()])
            .status()
            .unwrap();
        assert!(hup.success());
        tokio::time::sleep(Duration::from_millis(500)).await;
        let cpu = cpu_by_part(&pids(&replicas));
        let ops = load(&mut clients, &ledgers, MEASURE, |_| async {}).await;
        let after = cpu_by_part(&pids(&replicas));
        let used: Vec<String> = after
            .iter()
            .map(|(k, v)| format!("{k} {:.1} s", v - cpu[k]))
            .collect();
        let rate = ops as f64 / MEASURE.as_secs_f64();
        figures.push((label, rate));
        println!(
            "-- {label}: {ops} acknowledged operations in {MEASURE:?} = {rate:.0}/s; CPU used: {}",
            used.join(", ")
        );
    }
    let failures_before: usize = ledgers
        .iter()
        .map(|l| l.lock().unwrap().failures.len())
        .sum();
    assert_eq!(
        failures_before,
        0,
        "failures without faults: {:?}",
        ledgers
            .iter()
            .map(|l| l.lock().unwrap().failures.clone())
            .collect::<Vec<_>>()
    );

    // Phase 3: a replica killed and restarted, and a key rotation, under load.
    let killed_port = ports[1];
    let as_slot = Arc::new(tokio::sync::Mutex::new(Some(as_)));
    let kill_times = Arc::new(Mutex::new((0.0, 0.0)));
    let replicas = Arc::new(Mutex::new(replicas));
    let ops = {
        let (as_slot, kill_times, replicas, env, dir) = (
            as_slot.clone(),
            kill_times.clone(),
            replicas.clone(),
            env.clone(),
            dir.clone(),
        );
        load(&mut clients, &ledgers, FAULTS, move |start| async move {
            tokio::time::sleep(KILL_AT.saturating_sub(start.elapsed())).await;
            let killed_at = unix_now();
            let mut old = replicas.lock().unwrap().remove(1);
            old.proc.child.kill().unwrap(); // SIGKILL
            old.proc.child.wait().unwrap();
            let restarted =
                tokio::task::spawn_blocking(move || start_replica(&dir, 2, killed_port, &env))
                    .await
                    .unwrap();
            kill_times.lock().unwrap().0 = killed_at;
            kill_times.lock().unwrap().1 = unix_now();
            replicas.lock().unwrap().insert(1, restarted);
            tokio::time::sleep(ROTATE_AT.saturating_sub(start.elapsed())).await;
            let as_ = as_slot.lock().await.take().unwrap();
            let as_ = as_
                .rotate_key(
                    std::env::temp_dir().join(format!("cluster-key-2-{}.json", std::process::id())),
                )
                .await;
            *as_slot.lock().await = Some(as_);
        })
        .await
    };
    let (killed_at, restarted_at) = *kill_times.lock().unwrap();
    println!(
        "-- faults: {ops} acknowledged operations in {FAULTS:?}; replica 2 killed at {killed_at:.3}, listening again at {restarted_at:.3}"
    );

    // Every client's final list, with a fresh token (signed with the new key).
    for c in &mut clients {
        c.token = c.fetch_token().await.expect("a token after the rotation");
        let list = c.call("list_todos", json!({})).await.expect("final list");
        let l = ledgers[c.n].lock().unwrap();
        let prefix = format!("{}:", client_id(c.n));
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut listed = BTreeMap::new();
        for t in list["todos"].as_array().unwrap() {
            let (id, title) = (t["id"].as_i64().unwrap(), t["title"].as_str().unwrap());
            assert!(
                title.starts_with(&prefix),
                "{} sees another's item {t}",
                client_id(c.n)
            );
            *seen.entry(title.to_owned()).or_default() += 1;
            listed.insert(id, (title.to_owned(), t["done"].as_bool().unwrap()));
        }
        assert!(
            seen.values().all(|n| *n == 1),
            "a title listed twice: {seen:?}"
        );
        for (id, (title, done)) in &l.items {
            let got = listed.get(id);
            assert!(
                got.is_some(),
                "{}: acknowledged item {id} ({title}) is missing",
                client_id(c.n)
            );
            if !l.uncertain.contains(id) {
                assert_eq!(
                    got.unwrap(),
                    &(title.clone(), *done),
                    "{}: item {id}",
                    client_id(c.n)
                );
            }
        }
        for (id, (title, _)) in &listed {
            let explained = l.items.contains_key(id)
                || l.uncertain.contains(id)
                || l.maybe_titles.contains(title);
            assert!(
                explained,
                "{}: unexpected item {id} ({title})",
                client_id(c.n)
            );
            assert!(
                !l.deleted.contains(id),
                "{}: deleted item {id} is back",
                client_id(c.n)
            );
        }
        assert!(
            l.foreign.is_empty(),
            "{} saw {:?}",
            client_id(c.n),
            l.foreign
        );
        assert_eq!(
            l.unauthorized,
            0,
            "{}: a token was refused: {:?}",
            client_id(c.n),
            l.failures
        );
    }

    // The only failures: requests in flight on the killed replica.
    let failures: Vec<Failure> = ledgers
        .iter()
        .flat_map(|l| l.lock().unwrap().failures.clone())
        .collect();
    for f in &failures {
        assert_eq!(f.http, Some(502), "not a 502 from nginx: {}", f.what);
        assert!(
            f.sent <= killed_at + 0.05 && f.answered >= killed_at - 0.05,
            "a failure not in flight at the kill ({killed_at:.3}): {f:?}"
        );
    }
    let access = std::fs::read_to_string(dir.join("nginx-access.log")).unwrap();
    let failed_lines: Vec<&str> = access
        .lines()
        .filter(|l| l.split(' ').nth(1) != Some("200"))
        .collect();
    for line in &failed_lines {
        assert!(
            line.contains(&format!("127.0.0.1:{killed_port}")),
            "nginx logged a failure on another replica: {line}"
        );
    }
    assert_eq!(
        failed_lines.len(),
        failures.len(),
        "{failed_lines:#?}\n{failures:#?}"
    );
    println!(
        "-- failed requests: {} (all in flight on the killed replica, HTTP 502 from nginx)",
        failures.len()
    );
    let (one, three) = (figures[0].1, figures[1].1);
    println!(
        "-- throughput: 1 replica {one:.0}/s, 3 replicas {three:.0}/s ({:.2}x) on {} CPUs",
        three / one,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );

    drop(nginx_proc);
    drop(replicas);
    pg.stop();
    if let Some(as_) = as_slot.lock().await.take() {
        as_.stop();
    }
    let _ = std::fs::remove_dir_all(&dir);
}
