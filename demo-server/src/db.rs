//! The demo's SQLite database: one file, created and migrated on first run.

use std::{
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard},
};

use rusqlite::Connection;
use rusqlite_migration::{M, Migrations};

/// The schema, one migration per file in `demo-server/migrations/`.
const MIGRATIONS: &[M<'static>] = &[
    M::up(include_str!("../migrations/0001_todos.sql")),
    M::up(include_str!("../migrations/0002_hr_finance.sql")),
];

/// A connection to the demo database, shared by every tool.
#[derive(Debug)]
pub struct Db {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl Db {
    /// Opens (creating and migrating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Self, String> {
        Ok(Self {
            path: path.to_owned(),
            conn: Mutex::new(connect(path)?),
        })
    }

    /// The connection, for one short piece of work.
    pub fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (each
        // statement is atomic), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Closes and reopens the connection (re-running pending migrations).
    pub fn reopen(&self) -> Result<(), String> {
        let fresh = connect(&self.path)?;
        *self.conn() = fresh;
        Ok(())
    }
}

fn connect(path: &Path) -> Result<Connection, String> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let mut conn =
        Connection::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .and_then(|_| conn.pragma_update(None, "foreign_keys", "ON"))
        .and_then(|_| conn.busy_timeout(std::time::Duration::from_secs(5)))
        .map_err(|e| format!("cannot configure {}: {e}", path.display()))?;
    Migrations::from_slice(MIGRATIONS)
        .to_latest(&mut conn)
        .map_err(|e| format!("cannot migrate {}: {e}", path.display()))?;
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        assert!(Migrations::from_slice(MIGRATIONS).validate().is_ok());
    }
}
