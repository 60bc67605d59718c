//! The embedded store: one SQLite file, created and migrated on first run,
//! owned by one process.

use std::{
    path::{Path, PathBuf},
    sync::{Mutex, MutexGuard},
};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, TransactionBehavior, params};
use rusqlite_migration::{M, Migrations};

use super::records::{Employee, Expense, PayrollEntry, Todo};
use super::{Approval, EmployeeChange, NewTodo, Result, Store, TodoChange};

/// The schema, one migration per file in `demo-server/migrations/sqlite/`
/// (the same files, by name, as `migrations/postgres/`).
pub(super) const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_todos.sql",
        include_str!("../../migrations/sqlite/0001_todos.sql"),
    ),
    (
        "0002_hr_finance.sql",
        include_str!("../../migrations/sqlite/0002_hr_finance.sql"),
    ),
    (
        "0003_system_state.sql",
        include_str!("../../migrations/sqlite/0003_system_state.sql"),
    ),
];

/// A SQLite database file, shared by every tool through one connection.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating and migrating if needed) the database at `path`;
    /// `:memory:` is a private, empty database.
    pub fn open(path: &Path) -> Result<Self, String> {
        Ok(Self {
            path: path.to_owned(),
            conn: Mutex::new(connect(path)?),
        })
    }

    /// The connection, for one short piece of work.
    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (each
        // statement or transaction is atomic), so a poisoned lock is still usable.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
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
    migrations()
        .to_latest(&mut conn)
        .map_err(|e| format!("cannot migrate {}: {e}", path.display()))?;
    Ok(conn)
}

fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().map(|(_, sql)| M::up(sql)).collect())
}

const TODO: &str = "id, title, done, due, created_at";

fn todo(row: &Row<'_>) -> rusqlite::Result<Todo> {
    Ok(Todo {
        id: row.get(0)?,
        title: row.get(1)?,
        done: row.get(2)?,
        due: row.get(3)?,
        created_at: row.get(4)?,
    })
}

const EMPLOYEE: &str = "SELECT id, name, email, department, title, phone FROM employees";

fn employee(row: &Row<'_>) -> rusqlite::Result<Employee> {
    Ok(Employee {
        id: row.get(0)?,
        name: row.get(1)?,
        email: row.get(2)?,
        department: row.get(3)?,
        title: row.get(4)?,
        phone: row.get(5)?,
    })
}

const EXPENSE: &str = "id, employee_id, amount_cents, currency, description, status, approved_by";

fn expense(row: &Row<'_>) -> rusqlite::Result<Expense> {
    Ok(Expense {
        id: row.get(0)?,
        employee_id: row.get(1)?,
        amount_cents: row.get(2)?,
        currency: row.get(3)?,
        description: row.get(4)?,
        status: row.get(5)?,
        approved_by: row.get(6)?,
    })
}

// Each method holds the one connection for a statement or two: quick enough
// to run on the async runtime.
#[async_trait]
impl Store for SqliteStore {
    async fn list_todos(&self, owner: &str, include_done: bool) -> Result<Vec<Todo>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {TODO} FROM todos WHERE owner = ?1 AND (?2 OR done = 0) ORDER BY id"
        ))?;
        let todos = stmt
            .query_map(params![owner, include_done], todo)?
            .collect::<Result<_, _>>()?;
        Ok(todos)
    }

    async fn create_todo(&self, owner: &str, new: NewTodo<'_>, quota: u32) -> Result<Option<Todo>> {
        // One statement: the count and the insert are one write transaction,
        // so concurrent calls cannot together exceed the quota.
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "INSERT INTO todos (owner, title, due) SELECT ?1, ?2, ?3 \
                     WHERE (SELECT count(*) FROM todos WHERE owner = ?1) < ?4 RETURNING {TODO}"
                ),
                params![owner, new.title, new.due, quota],
                todo,
            )
            .optional()?)
    }

    async fn update_todo(
        &self,
        owner: &str,
        id: i64,
        change: TodoChange<'_>,
    ) -> Result<Option<Todo>> {
        Ok(self
            .conn()
            .query_row(
                &format!(
                    "UPDATE todos SET title = coalesce(?3, title), done = coalesce(?4, done), \
                     due = coalesce(?5, due) WHERE id = ?1 AND owner = ?2 RETURNING {TODO}"
                ),
                params![id, owner, change.title, change.done, change.due],
                todo,
            )
            .optional()?)
    }

    async fn delete_todo(&self, owner: &str, id: i64) -> Result<bool> {
        let n = self.conn().execute(
            "DELETE FROM todos WHERE id = ?1 AND owner = ?2",
            params![id, owner],
        )?;
        Ok(n > 0)
    }

    async fn list_employees(&self) -> Result<Vec<Employee>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!("{EMPLOYEE} ORDER BY id"))?;
        let employees = stmt.query_map([], employee)?.collect::<Result<_, _>>()?;
        Ok(employees)
    }

    async fn get_employee(&self, id: i64) -> Result<Option<Employee>> {
        Ok(self
            .conn()
            .query_row(&format!("{EMPLOYEE} WHERE id = ?1"), [id], employee)
            .optional()?)
    }

    async fn update_employee(
        &self,
        id: i64,
        change: EmployeeChange<'_>,
    ) -> Result<Option<Employee>> {
        Ok(self
            .conn()
            .query_row(
                "UPDATE employees SET title = coalesce(?2, title), \
                 department = coalesce(?3, department), phone = coalesce(?4, phone) \
                 WHERE id = ?1 RETURNING id, name, email, department, title, phone",
                params![id, change.title, change.department, change.phone],
                employee,
            )
            .optional()?)
    }

    async fn payroll(&self, employee_id: Option<i64>) -> Result<Vec<PayrollEntry>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(
            "SELECT employee_id, annual_salary, currency, pay_cycle FROM payroll \
             WHERE ?1 IS NULL OR employee_id = ?1 ORDER BY employee_id",
        )?;
        let payroll = stmt
            .query_map([employee_id], |r| {
                Ok(PayrollEntry {
                    employee_id: r.get(0)?,
                    annual_salary: r.get(1)?,
                    currency: r.get(2)?,
                    pay_cycle: r.get(3)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(payroll)
    }

    async fn pending_expenses(&self) -> Result<Vec<Expense>> {
        let conn = self.conn();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {EXPENSE} FROM expenses WHERE status = 'pending' ORDER BY id"
        ))?;
        let pending = stmt.query_map([], expense)?.collect::<Result<_, _>>()?;
        Ok(pending)
    }

    async fn approve_expense(&self, id: i64, by: &str) -> Result<Approval> {
        let conn = self.conn();
        // The status check is part of the update: never approved twice.
        let approved = conn
            .query_row(
                &format!(
                    "UPDATE expenses SET status = 'approved', approved_by = ?2 \
                     WHERE id = ?1 AND status = 'pending' RETURNING {EXPENSE}"
                ),
                params![id, by],
                expense,
            )
            .optional()?;
        if let Some(expense) = approved {
            return Ok(Approval::Approved(expense));
        }
        let status: Option<String> = conn
            .query_row("SELECT status FROM expenses WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()?;
        Ok(status.map_or(Approval::NotFound, Approval::NotPending))
    }

    async fn maintenance(&self) -> Result<bool> {
        Ok(self.conn().query_row(
            "SELECT maintenance FROM system_state WHERE id = 1",
            [],
            |r| r.get(0),
        )?)
    }

    async fn set_maintenance(&self, on: bool) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let was = tx.query_row(
            "SELECT maintenance FROM system_state WHERE id = 1",
            [],
            |r| r.get(0),
        )?;
        tx.execute(
            "UPDATE system_state SET maintenance = ?1 WHERE id = 1",
            [on],
        )?;
        tx.commit()?;
        Ok(was)
    }

    async fn reopen(&self) -> Result<()> {
        let fresh = connect(&self.path).map_err(super::StoreError::msg)?;
        *self.conn() = fresh;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        assert!(migrations().validate().is_ok());
    }
}
