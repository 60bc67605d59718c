//! A throwaway PostgreSQL server for tests: a fresh cluster in a scratch
//! directory, listening on 127.0.0.1 (a free port) with its Unix socket in
//! the same directory, trust authentication, user `postgres`.
//!
//! PostgreSQL refuses to run as root: as root, `initdb` and `postgres` run as
//! the `postgres` user (`runuser`). The server runs under a small shell that
//! stops it, by its PID, when this process's end of its stdin closes, so
//! nothing outlives the test process; [`Postgres::stop`] or drop stops it
//! sooner. Its scratch directory goes with it. The binaries come from `PG_BIN` (a directory), else `PATH`, else
//! the newest `/usr/lib/postgresql/*/bin` (Debian's layout).
//!
//! Needs only std.

#![allow(dead_code)]

use std::{
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, ChildStdin, Command, Stdio},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

/// How long `initdb` plus start-up may take on a busy machine.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// What to install when the binaries are missing.
pub const INSTALL_HINT: &str = "PostgreSQL server binaries (initdb, postgres) not found: \
install PostgreSQL (Debian/Ubuntu: `apt-get install postgresql`) or set PG_BIN to the directory \
holding them";

/// A running PostgreSQL server.
#[derive(Debug)]
pub struct Postgres {
    /// The TCP port on 127.0.0.1.
    pub port: u16,
    /// The scratch directory (data, socket, log).
    pub dir: PathBuf,
    child: Option<Child>,
    stdin: Option<ChildStdin>,
}

impl Postgres {
    /// Initialises and starts a server; panics, naming what to install, when
    /// PostgreSQL is missing, and with its log when it does not start.
    pub fn start() -> Self {
        let bin = bin_dir().unwrap_or_else(|| panic!("{INSTALL_HINT}"));
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let dir = std::env::temp_dir().join(format!("pg-test-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let as_root = is_root();
        if as_root {
            // The server's user owns its directory; /tmp lets it through.
            run(Command::new("chown").arg("postgres:postgres").arg(&dir));
        }
        let data = dir.join("data");
        let mut initdb = as_postgres(as_root, &bin.join("initdb"));
        initdb
            .args(["--username=postgres", "--auth=trust", "--encoding=UTF8"])
            .args(["--no-locale", "--no-sync", "-D"])
            .arg(&data);
        run(&mut initdb);
        let port = free_port();
        let log = dir.join("postgres.log");
        let postgres = bin.join("postgres");
        // `exec` would lose the watch on stdin: the shell waits for EOF, then
        // stops the server by its PID (SIGINT: fast shutdown).
        let script = format!(
            "{} -D {} -p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 \
             >{} 2>&1 & pid=$!; cat >/dev/null; kill -INT $pid; wait $pid; rm -rf {}",
            sh_quote(&postgres),
            sh_quote(&data),
            sh_quote(&dir),
            sh_quote(&log),
            sh_quote(&dir),
        );
        let mut cmd = if as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "sh", "-c", &script]);
            c
        } else {
            let mut c = Command::new("sh");
            c.args(["-c", &script]);
            c
        };
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn postgres");
        let stdin = child.stdin.take();
        let mut pg = Self {
            port,
            dir,
            child: Some(child),
            stdin,
        };
        pg.wait_ready();
        pg
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let log = std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default();
            if log.contains("ready to accept connections")
                && TcpStream::connect(("127.0.0.1", self.port)).is_ok()
            {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("postgres exited ({status}) before it was ready:\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "postgres was not ready within {START_TIMEOUT:?}:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("postgres.log")).unwrap_or_default()
    }

    /// Stops the server (fast shutdown) and waits for it.
    pub fn stop(&mut self) {
        drop(self.stdin.take());
        if let Some(mut child) = self.child.take() {
            let deadline = Instant::now() + Duration::from_secs(20);
            while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Where `initdb` and `postgres` are, if anywhere.
pub fn bin_dir() -> Option<PathBuf> {
    let has = |d: &Path| d.join("initdb").is_file() && d.join("postgres").is_file();
    if let Some(d) = std::env::var_os("PG_BIN").map(PathBuf::from) {
        return has(&d).then_some(d);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    if let Some(d) = std::env::split_paths(&path).find(|d| has(d)) {
        return Some(d);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| {
            let e = e.ok()?;
            let v = e.file_name().to_str()?.parse().ok()?;
            Some((v, e.path().join("bin")))
        })
        .filter(|(_, d)| has(d))
        .collect();
    versions.sort();
    versions.pop().map(|(_, d)| d)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn as_postgres(as_root: bool, program: &Path) -> Command {
    if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn run(cmd: &mut Command) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

fn sh_quote(p: &Path) -> String {
    format!("'{}'", p.display().to_string().replace('\'', r"'\''"))
}
