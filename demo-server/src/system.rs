//! System tools (hierarchical scopes): `system:admin` ⊇ `system:write` ⊇
//! `system:read`, so an admin token can call all three.

use std::{
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Instant, SystemTime, UNIX_EPOCH},
};

use mcp_runtime::{AccessToken, State, ToolContext, tool};
use schemars::JsonSchema;
use serde::Serialize;

use crate::{
    error::Failure,
    scopes::{SYSTEM_ADMIN, SYSTEM_READ, SYSTEM_WRITE},
    store::Db,
};

/// The demo process's own state (maintenance mode is the store's, shared
/// by every process serving it).
#[derive(Debug)]
pub struct System {
    started: Instant,
    started_unix: u64,
    restarts: AtomicU64,
    /// HTTP requests to `/mcp` served by this process since the last restart.
    pub requests: Arc<AtomicU64>,
}

impl System {
    /// State for a process starting now.
    pub fn new() -> Self {
        Self {
            started: Instant::now(),
            started_unix: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or_default(),
            restarts: AtomicU64::new(0),
            requests: Arc::new(AtomicU64::new(0)),
        }
    }
}

impl Default for System {
    fn default() -> Self {
        Self::new()
    }
}

/// Resident memory of this process in bytes, where the OS says.
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

/// The server's status.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Status {
    /// Server version.
    pub version: String,
    /// Seconds since the process started.
    pub uptime_seconds: u64,
    /// When the process started (Unix seconds).
    pub started_at_unix: u64,
    /// Resident memory in bytes (where the OS reports it).
    pub memory_rss_bytes: Option<u64>,
    /// Requests to `/mcp` since start or the last restart.
    pub requests_served: u64,
    /// Whether maintenance mode is on.
    pub maintenance_mode: bool,
    /// How often `restart_service` ran.
    pub restarts: u64,
}

async fn status(system: &System, db: &Db) -> Result<Status, Failure> {
    Ok(Status {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        uptime_seconds: system.started.elapsed().as_secs(),
        started_at_unix: system.started_unix,
        memory_rss_bytes: resident_bytes(),
        requests_served: system.requests.load(Ordering::Relaxed),
        maintenance_mode: db.maintenance().await?,
        restarts: system.restarts.load(Ordering::Relaxed),
    })
}

/// Show the server's status: version, uptime, memory, requests served.
#[tool(scope = SYSTEM_READ, read_only)]
pub async fn get_system_status(system: State<System>, db: State<Db>) -> Result<Status, Failure> {
    status(&system, &db).await
}

/// Turn maintenance mode on or off. While on, todo items are read-only.
///
/// # Arguments
/// * `enabled` - `true` to start maintenance, `false` to end it.
#[tool(scope = SYSTEM_WRITE, idempotent)]
pub async fn set_maintenance_mode(
    token: AccessToken,
    system: State<System>,
    db: State<Db>,
    enabled: bool,
) -> Result<Status, Failure> {
    let was = db.set_maintenance(enabled).await?;
    if was != enabled {
        tracing::warn!(by = token.subject(), enabled, "maintenance mode changed");
    }
    status(&system, &db).await
}

/// What `restart_service` did.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Restarted {
    /// The steps taken, in order.
    pub actions: Vec<String>,
    /// The status after the restart.
    pub status: Status,
}

/// Restart the demo's services in process: reopen the database (applying any
/// pending migration), end maintenance mode and reset the request counter.
/// Clients that can be asked (protocol 2026-07-28, elicitation) confirm with
/// the user first.
#[tool(scope = SYSTEM_ADMIN, destructive)]
pub async fn restart_service(
    token: AccessToken,
    system: State<System>,
    db: State<Db>,
    ctx: ToolContext,
) -> Result<Restarted, Failure> {
    crate::error::confirm(
        &ctx,
        "Restart the server's services? Maintenance mode ends and the request counter resets."
            .to_owned(),
        "Cancelled: the user declined; nothing was restarted.".to_owned(),
    )?;
    tracing::warn!(by = token.subject(), "restarting services");
    let mut actions = Vec::new();
    // The error names the database: for the log, not the caller.
    db.reopen().await?;
    actions.push("reopened the database".to_owned());
    if db.set_maintenance(false).await? {
        actions.push("ended maintenance mode".to_owned());
    }
    let served = system.requests.swap(0, Ordering::Relaxed);
    actions.push(format!("reset request counter (was {served})"));
    system.restarts.fetch_add(1, Ordering::Relaxed);
    Ok(Restarted {
        actions,
        status: status(&system, &db).await?,
    })
}

/// Who the caller is, according to their token.
#[derive(Debug, Serialize, JsonSchema)]
pub struct WhoAmI {
    /// The token's subject.
    pub subject: String,
    /// The OAuth client the token was issued to.
    pub client_id: Option<String>,
    /// The scopes the token grants.
    pub scopes: Vec<String>,
    /// When the token expires (Unix seconds).
    pub expires_at_unix: Option<u64>,
    /// Who issued the token.
    pub issuer: Option<String>,
}

/// Show who you are: the subject, client, scopes and expiry of your token.
#[tool(public, read_only)]
pub fn whoami(token: AccessToken) -> WhoAmI {
    WhoAmI {
        subject: token.subject().to_owned(),
        client_id: token.client_id().map(str::to_owned),
        scopes: token.scopes().to_vec(),
        expires_at_unix: token
            .expires_at()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map(|d| d.as_secs()),
        issuer: token.issuer().map(str::to_owned),
    }
}
