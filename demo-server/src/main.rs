//! The demo MCP server: todo items, HR and finance records, and system
//! controls, each tool protected by an OAuth scope.
//!
//! Run it with no configuration (a development issuer signs tokens locally):
//!
//! ```text
//! cargo run -p demo-server
//! TOKEN=$(cargo run -q -p demo-server -- token --scope todo:read)
//! curl -s http://127.0.0.1:3002/mcp \
//!   -H "Authorization: Bearer $TOKEN" \
//!   -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
//!   -d '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'
//! ```
//!
//! Point it at Scalekit with `SCALEKIT_ENVIRONMENT_URL`, `SCALEKIT_CLIENT_ID`,
//! `SCALEKIT_RESOURCE_ID` and `MCP_URL`, or at any OAuth/OIDC server with
//! `MCP_AUTH_ISSUER` and `MCP_AUTH_AUDIENCE`. `demo-server --help` lists every
//! option.

// Field docs below are the --help text, where URLs stay bare.
#![allow(rustdoc::bare_urls)]

mod error;
mod hr;
mod limits;
mod scopes;
mod store;
mod system;
mod todo;

use std::{
    io::IsTerminal as _,
    path::PathBuf,
    process::ExitCode,
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use clap::{Parser, Subcommand};
use mcp_runtime::{
    McpServer,
    auth::{AuthSettings, ClientAuth, DevIssuer},
};

use crate::{
    limits::TodoQuota,
    store::{Db, PostgresStore, SqliteStore},
    system::System,
};

/// The serving limits, read from the environment by the runtime.
const LIMITS_HELP: &str = "Serving limits (environment; whole seconds or `off`, or a count): \
MCP_HEADER_TIMEOUT (20), MCP_BODY_TIMEOUT (30), MCP_TOOL_TIMEOUT (60), MCP_SHUTDOWN_GRACE (10), \
MCP_MAX_CONNECTIONS (512), MCP_MAX_IN_FLIGHT (256), MCP_MAX_BODY_BYTES (4194304).";

/// The demo MCP server: todo, HR/finance and system tools behind OAuth scopes.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None, after_help = LIMITS_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Address to bind.
    #[arg(long, env = "HOST", default_value = "127.0.0.1", global = true)]
    host: String,

    /// Port to bind.
    #[arg(long, env = "PORT", default_value_t = 3002, global = true)]
    port: u16,

    /// Public base URL, with a trailing slash; the endpoint is {MCP_URL}mcp.
    /// Default: http://{host}:{port}/.
    #[arg(long, env = "MCP_URL", global = true)]
    mcp_url: Option<String>,

    /// Answer a tools/call lacking a scope with HTTP 403 insufficient_scope
    /// (step-up) instead of a tool error.
    #[arg(long, env = "MCP_STEP_UP", global = true, num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    step_up: Option<bool>,

    /// Answer every POST to /mcp with an event stream (text/event-stream)
    /// instead of a JSON body; without it, only a call that sends
    /// notifications (such as progress) is answered as a stream.
    #[arg(long, env = "MCP_SSE", global = true, num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    sse: Option<bool>,

    /// Scopes the 401 challenge asks a new client for, space- or
    /// comma-separated. Default: the read-only scopes (finance:read hr:read
    /// system:read todo:read); clients ask for more when a call needs them.
    #[arg(long, env = "MCP_CHALLENGE_SCOPES", global = true)]
    challenge_scopes: Option<String>,

    /// PostgreSQL database shared by every replica, as
    /// postgres://user:password@host:port/database (no TLS); migrated at
    /// start-up. Without it, the SQLite file --db.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    database_url: Option<String>,

    /// SQLite database file (created on first run).
    #[arg(
        long,
        env = "DEMO_DB",
        default_value = "demo-data/demo.sqlite3",
        global = true
    )]
    db: PathBuf,

    /// Todo items each subject (token `sub`) may hold.
    #[arg(long, env = "DEMO_TODO_QUOTA", default_value_t = limits::DEFAULT_TODO_QUOTA, global = true)]
    todo_quota: u32,

    /// Scalekit environment URL, e.g. https://acme.scalekit.dev.
    #[arg(long, env = "SCALEKIT_ENVIRONMENT_URL", global = true)]
    scalekit_environment_url: Option<String>,

    /// The MCP server's client id in Scalekit.
    #[arg(long, env = "SCALEKIT_CLIENT_ID", global = true)]
    scalekit_client_id: Option<String>,

    /// The Scalekit resource id (res_…): the tokens' audience.
    #[arg(long, env = "SCALEKIT_RESOURCE_ID", global = true)]
    scalekit_resource_id: Option<String>,

    /// Issuer of a generic OAuth/OIDC authorization server.
    #[arg(long, env = "MCP_AUTH_ISSUER", global = true)]
    auth_issuer: Option<String>,

    /// Audience the tokens must carry (with --auth-issuer).
    #[arg(long, env = "MCP_AUTH_AUDIENCE", global = true)]
    auth_audience: Option<String>,

    /// JWKS URL, skipping discovery (with --auth-issuer).
    #[arg(long, env = "MCP_AUTH_JWKS_URI", global = true)]
    auth_jwks_uri: Option<String>,

    /// Accept the issuer's tokens whatever their `typ` header (by default
    /// only `at+jwt` access tokens; an ID token must not pass as one).
    #[arg(long, env = "MCP_AUTH_ACCEPT_ANY_TYP", global = true, num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    auth_accept_any_typ: Option<bool>,

    /// Client id for introspecting the issuer's opaque tokens (RFC 7662);
    /// with the secret, JWTs are still verified locally (with --auth-issuer).
    #[arg(long, env = "MCP_AUTH_INTROSPECTION_CLIENT_ID", global = true)]
    auth_introspection_client_id: Option<String>,

    /// That client's secret.
    #[arg(
        long,
        env = "MCP_AUTH_INTROSPECTION_CLIENT_SECRET",
        global = true,
        hide_env_values = true
    )]
    auth_introspection_client_secret: Option<String>,

    /// Introspection endpoint, instead of the issuer metadata's.
    #[arg(long, env = "MCP_AUTH_INTROSPECTION_ENDPOINT", global = true)]
    auth_introspection_endpoint: Option<String>,

    /// How the introspection client authenticates: basic or post.
    #[arg(long, env = "MCP_AUTH_INTROSPECTION_CLIENT_AUTH", global = true)]
    auth_introspection_client_auth: Option<ClientAuth>,

    /// Seconds an introspected token is served from the cache before it is
    /// asked again (a revocation is seen after at most this long); 0: never
    /// cached.
    #[arg(long, env = "MCP_AUTH_INTROSPECTION_CACHE_SECS", global = true)]
    auth_introspection_cache_secs: Option<u64>,

    /// Append every authorisation decision to this file, one JSON object a
    /// line (the README's "Audit events" gives the fields).
    #[arg(long, env = "DEMO_AUDIT_LOG", global = true)]
    audit_log: Option<PathBuf>,

    /// Signing key file of the development issuer.
    #[arg(long, env = "MCP_DEV_KEY_FILE", global = true)]
    dev_key_file: Option<PathBuf>,

    /// Let the development issuer serve beyond loopback.
    #[arg(long, env = "MCP_DEV_ALLOW_REMOTE", global = true, num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new())]
    dev_allow_remote: Option<bool>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the MCP endpoint (the default).
    Serve,
    /// Print the permission model: every tool, resource and prompt, and the
    /// scopes it needs (the hierarchy applied).
    Permissions {
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Serve over stdin and stdout, as desktop clients launch MCP servers.
    /// The caller is MCP_STDIO_TOKEN (a token this server accepts, e.g. one
    /// from `token`), or MCP_STDIO_SUBJECT holding MCP_STDIO_SCOPES; with
    /// neither, only public items are served.
    Stdio,
    /// Print a token from the development issuer.
    Token {
        /// Scopes to grant, space- or comma-separated; repeatable.
        #[arg(long, short, default_value = "")]
        scope: Vec<String>,
        /// The token's subject (the caller).
        #[arg(long, default_value = "dev-user")]
        subject: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
}

impl Cli {
    fn settings(&self) -> AuthSettings {
        let mut s = AuthSettings::default();
        s.scalekit_environment_url = self.scalekit_environment_url.clone();
        s.scalekit_client_id = self.scalekit_client_id.clone();
        s.scalekit_resource_id = self.scalekit_resource_id.clone();
        s.mcp_url = self.mcp_url.clone();
        s.issuer = self.auth_issuer.clone();
        s.audience = self.auth_audience.clone();
        s.jwks_uri = self.auth_jwks_uri.clone();
        s.accept_any_typ = self.auth_accept_any_typ.unwrap_or(false);
        s.introspection_client_id = self.auth_introspection_client_id.clone();
        s.introspection_client_secret = self.auth_introspection_client_secret.clone();
        s.introspection_endpoint = self.auth_introspection_endpoint.clone();
        s.introspection_client_auth = self.auth_introspection_client_auth;
        s.introspection_cache_ttl = self
            .auth_introspection_cache_secs
            .map(std::time::Duration::from_secs);
        s.dev_key_file = self.dev_key_file.clone();
        s.dev_allow_remote = self.dev_allow_remote.unwrap_or(false);
        s
    }

    fn builder(&self) -> Result<mcp_runtime::McpServerBuilder, mcp_runtime::Error> {
        let mut b = McpServer::builder()
            .name("demo-server")
            .title("Scoped MCP demo")
            .version(env!("CARGO_PKG_VERSION"))
            .instructions(
                "Todo items (todo:read, todo:write), HR (hr:read, hr:write), finance \
                 (finance:read, finance:write) and system tools (system:read ⊆ system:write ⊆ system:admin).",
            )
            .host(self.host.clone())
            .port(self.port)
            .step_up(self.step_up.unwrap_or(false))
            .json_response(!self.sse.unwrap_or(false))
            .challenge_scopes(self.challenge_scopes())
            // scopes_supported, the system:admin ⊇ system:write ⊇ system:read
            // hierarchy and the descriptions, from the one declaration.
            .vocabulary(&scopes::DEMO)
            // MCP_HEADER_TIMEOUT, MCP_TOOL_TIMEOUT, MCP_MAX_CONNECTIONS, …
            .limits_from_env()?;
        if let Some(url) = &self.mcp_url {
            // Name the variable the user set, not the builder method.
            b = b.base_url(url).map_err(|e| match e {
                mcp_runtime::Error::Config { message, .. } => mcp_runtime::Error::Config {
                    name: "MCP_URL".into(),
                    message: message.replace("{base_url}", "{MCP_URL}"),
                },
                e => e,
            })?;
        }
        Ok(b)
    }

    /// PostgreSQL when `DATABASE_URL` is set, else the SQLite file.
    async fn open_store(&self) -> Result<Db, String> {
        match &self.database_url {
            Some(url) => Ok(Db::new(PostgresStore::connect(url).await?)),
            None => Ok(Db::new(SqliteStore::open(&self.db)?)),
        }
    }

    /// Where the data is, for the banner: the file, or the database URL
    /// without its password.
    fn store_name(&self) -> String {
        let Some(url) = &self.database_url else {
            return self.db.display().to_string();
        };
        match url.split_once("://").and_then(|(scheme, rest)| {
            let (user, host) = rest.split_once('@')?;
            let user = user.split(':').next().unwrap_or_default();
            Some(format!("{scheme}://{user}@{host}"))
        }) {
            Some(shown) => format!("PostgreSQL {shown}"),
            None => "PostgreSQL (DATABASE_URL)".to_owned(),
        }
    }

    /// `--challenge-scopes` as a list, or the read-only scopes.
    fn challenge_scopes(&self) -> Vec<&str> {
        match &self.challenge_scopes {
            Some(list) => list.split([' ', ',']).filter(|s| !s.is_empty()).collect(),
            None => scopes::READ_ONLY.to_vec(),
        }
    }

    /// Each challenge scope is one of the demo's: checked before anything
    /// is created (the server's build checks it too, later).
    fn check_challenge_scopes(&self) -> Result<(), String> {
        match self
            .challenge_scopes()
            .into_iter()
            .find(|s| !scopes::DEMO.contains(s))
        {
            Some(unknown) => Err(format!(
                "MCP_CHALLENGE_SCOPES: `{unknown}` is not one of the demo's scopes ({})",
                scopes::DEMO.sorted_scopes().join(" ")
            )),
            None => Ok(()),
        }
    }
}

/// `e`, naming the variable a setting came from rather than the builder
/// method that received it.
fn as_variable(e: mcp_runtime::Error) -> String {
    match e {
        mcp_runtime::Error::Config { name, message } if name == "challenge_scopes" => {
            format!("MCP_CHALLENGE_SCOPES: {message}")
        }
        e => e.to_string(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = init_logs(cli.audit_log.as_deref()) {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr (as `RUST_LOG` says), and the audit events as JSON lines
/// to `audit_log` when given.
fn init_logs(audit_log: Option<&std::path::Path>) -> Result<(), String> {
    use tracing_subscriber::{
        Layer, filter::Targets, layer::SubscriberExt, util::SubscriberInitExt,
    };
    // Colour only for a person at a terminal: never into a pipe or a log file.
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && !no_color)
        .with_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,rmcp=warn".into()),
        );
    let audit = match audit_log {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("--audit-log {}: {e}", path.display()))?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| format!("--audit-log {}: {e}", path.display()))?;
            let layer = tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::sync::Mutex::new(file))
                .with_filter(
                    Targets::new().with_target(mcp_runtime::audit::TARGET, tracing::Level::INFO),
                );
            Some(layer)
        }
        None => None,
    };
    tracing_subscriber::registry()
        .with(stderr)
        .with(audit)
        .init();
    Ok(())
}

fn run(cli: Cli) -> Result<(), String> {
    match &cli.command {
        Some(Command::Token {
            scope,
            subject,
            ttl,
        }) => print_token(&cli, scope, subject, *ttl),
        Some(Command::Permissions { json }) => print_permissions(&cli, *json),
        Some(Command::Serve) | None => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(serve(cli)),
        Some(Command::Stdio) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(serve_stdio(cli)),
    }
}

fn print_permissions(cli: &Cli, json: bool) -> Result<(), String> {
    // The model does not depend on the data: an empty in-memory database.
    let db = Db::new(SqliteStore::open(std::path::Path::new(":memory:"))?);
    let server = with_state(
        cli.builder().map_err(|e| e.to_string())?,
        db,
        System::new(),
        cli,
    )
    .build()
    .map_err(|e| e.to_string())?;
    let permissions = server.permissions();
    let text = if json {
        serde_json::to_string_pretty(&permissions).map_err(|e| e.to_string())? + "\n"
    } else {
        permissions.to_string()
    };
    // A closed pipe (`| head`) is the reader's choice, not an error.
    match std::io::Write::write_all(&mut std::io::stdout(), text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.to_string()),
        _ => Ok(()),
    }
}

/// What the tools, resources and prompts take with `State<T>`.
fn with_state(
    builder: mcp_runtime::McpServerBuilder,
    db: Db,
    system: System,
    cli: &Cli,
) -> mcp_runtime::McpServerBuilder {
    builder
        .state(db)
        .state(system)
        .state(TodoQuota(cli.todo_quota))
}

fn print_token(cli: &Cli, scopes: &[String], subject: &str, ttl: u64) -> Result<(), String> {
    let settings = cli.settings();
    if settings.scalekit_environment_url.is_some() || settings.issuer.is_some() {
        return Err(
            "`token` mints development tokens; with Scalekit or MCP_AUTH_ISSUER, get tokens from that authorization server"
                .into(),
        );
    }
    let base = cli
        .builder()
        .and_then(|b| b.effective_base_url())
        .map_err(|e| e.to_string())?;
    let key = settings
        .dev_key_file
        .unwrap_or_else(DevIssuer::default_key_path);
    let issuer = DevIssuer::for_base_url(&base, key).map_err(|e| e.to_string())?;
    let scopes: Vec<&str> = scopes
        .iter()
        .flat_map(|s| s.split([' ', ',']))
        .filter(|s| !s.is_empty())
        .collect();
    for s in &scopes {
        if !mcp_runtime::scopes::is_scope_token(s) {
            return Err(format!("`{s}` is not a valid scope"));
        }
    }
    println!("{}", issuer.mint(subject, scopes, Duration::from_secs(ttl)));
    Ok(())
}

async fn serve(mut cli: Cli) -> Result<(), String> {
    // With `--port 0` the OS picks the port: bind first, so that the base URL,
    // the development issuer and the banner name the port actually bound.
    // (A HOST that is not an IP address is reported by the builder below.)
    let mut listener = None;
    if cli.port == 0
        && let Ok(ip) = cli.host.parse::<std::net::IpAddr>()
    {
        let bound = tokio::net::TcpListener::bind((ip, 0)).await.map_err(|e| {
            format!(
                "cannot listen on {}: {e}",
                std::net::SocketAddr::from((ip, 0))
            )
        })?;
        cli.port = bound.local_addr().map_err(|e| e.to_string())?.port();
        listener = Some(bound);
    }
    let system = System::new();
    let requests = system.requests.clone();
    // Configuration errors first: a misconfigured server creates no database.
    let settings = cli.settings();
    settings.check().map_err(|e| e.to_string())?;
    // The development issuer refuses to serve beyond loopback, but the
    // builder finds that out in `build`, after the database is opened.
    let dev_issuer = settings.scalekit_environment_url.is_none() && settings.issuer.is_none();
    if dev_issuer
        && !settings.dev_allow_remote
        && (cli.host.parse::<std::net::IpAddr>()).is_ok_and(|ip| !ip.is_loopback())
    {
        return Err(
            "HOST: the development issuer only serves on loopback; configure Scalekit or MCP_AUTH_ISSUER, or pass --dev-allow-remote (MCP_DEV_ALLOW_REMOTE=true)"
                .into(),
        );
    }
    cli.check_challenge_scopes()?;
    let builder = cli.builder().map_err(|e| e.to_string())?.auth(settings);
    builder.effective_base_url().map_err(|e| e.to_string())?;
    let db = cli.open_store().await?;
    let server = with_state(builder, db, system, &cli)
        .build()
        .map_err(as_variable)?;
    let listener = match listener {
        Some(l) => l,
        None => tokio::net::TcpListener::bind(server.bind_addr())
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", server.bind_addr()))?,
    };
    banner(&cli, &server);
    let counted = count_requests(requests);
    server
        .serve_on_with(listener, mcp_runtime::shutdown_signal(), counted)
        .await
        .map_err(|e| e.to_string())
}

/// `stdio`: the same server over stdin and stdout (stdout carries the
/// protocol alone; logs go to stderr).
async fn serve_stdio(cli: Cli) -> Result<(), String> {
    let identity = mcp_runtime::StdioIdentity::from_env().map_err(|e| e.to_string())?;
    let settings = cli.settings();
    settings.check().map_err(|e| e.to_string())?;
    cli.check_challenge_scopes()?;
    let builder = cli.builder().map_err(|e| e.to_string())?.auth(settings);
    let db = cli.open_store().await?;
    let server = with_state(builder, db, System::new(), &cli)
        .build()
        .map_err(as_variable)?;
    tracing::info!(?identity, "serving MCP over stdio");
    server
        .serve_stdio(identity)
        .await
        .map_err(|e| e.to_string())
}

/// Counts requests to the app, for `get_system_status`.
fn count_requests(
    requests: Arc<std::sync::atomic::AtomicU64>,
) -> impl Fn(axum::Router) -> axum::Router + Send + 'static {
    move |router| {
        let requests = requests.clone();
        router.layer(axum::middleware::from_fn(
            move |req: axum::extract::Request, next: axum::middleware::Next| {
                let requests = requests.clone();
                async move {
                    if req.uri().path() == "/mcp" {
                        requests.fetch_add(1, Ordering::Relaxed);
                    }
                    next.run(req).await
                }
            },
        ))
    }
}

/// What the demo prints once it listens, written in one piece so that a
/// reader never sees half of it.
fn banner(cli: &Cli, server: &McpServer) {
    use std::fmt::Write as _;
    let provider = server.authentication().unwrap_or("none");
    let endpoint = server.endpoint();
    let tools: Vec<&str> = server.tools().iter().map(|t| t.name.as_ref()).collect();
    let step_up = if cli.step_up.unwrap_or(false) {
        "on (403 insufficient_scope)"
    } else {
        "off (scope errors as tool results)"
    };
    let responses = if cli.sse.unwrap_or(false) {
        "event streams (text/event-stream) for every POST"
    } else {
        "JSON, or an event stream when a call sends notifications"
    };
    let first = match cli.challenge_scopes().join(" ") {
        s if s.is_empty() => "(no scope: clients ask for scopes_supported)".to_owned(),
        s => s,
    };
    let mut out = String::new();
    let version = env!("CARGO_PKG_VERSION");
    let _ = writeln!(
        out,
        "demo-server {version} listening on {}",
        server.bind_addr()
    );
    let _ = writeln!(out, "  MCP endpoint:   {endpoint}");
    let _ = writeln!(out, "  authentication: {provider}");
    let _ = writeln!(out, "  tools:          {}", tools.join(", "));
    let _ = writeln!(out, "  database:       {}", cli.store_name());
    let _ = writeln!(out, "  step-up mode:   {step_up}");
    let _ = writeln!(out, "  responses:      {responses}");
    let _ = writeln!(out, "  401 asks for:   {first}");
    if provider.starts_with("development issuer") {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "Development mode: tokens are minted locally. Get one with"
        );
        let _ = writeln!(out, "  TOKEN=$({} --scope todo:read)", token_command(cli));
        let _ = writeln!(out, "and list the tools with");
        let _ = writeln!(
            out,
            "  curl -s {endpoint} -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' -d '{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}}'"
        );
    }
    print!("{out}");
}

/// The `token` command minting tokens this server accepts: the same base URL
/// and signing key, so the issuer and audience match.
fn token_command(cli: &Cli) -> String {
    let mut cmd = String::from("cargo run -q -p demo-server -- token");
    if let Some(url) = &cli.mcp_url {
        cmd += &format!(" --mcp-url {}", shell_word(url));
    } else {
        if cli.host != "127.0.0.1" {
            cmd += &format!(" --host {}", shell_word(&cli.host));
        }
        if cli.port != 3002 {
            cmd += &format!(" --port {}", cli.port);
        }
    }
    if let Some(key) = &cli.dev_key_file {
        cmd += &format!(" --dev-key-file {}", shell_word(&key.display().to_string()));
    }
    cmd
}

/// `word` quoted for a POSIX shell where needed.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-./:@%+=,".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
