//! The shared store: a PostgreSQL database, for any number of replicas.
//!
//! Every replica migrates at start-up under one advisory lock, so that
//! replicas starting together apply each migration once. Writes are single
//! statements, or transactions holding a per-owner advisory lock where a
//! count must not change between the check and the insert (the quota).

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio_postgres::{NoTls, Row};

use super::records::{Employee, Expense, PayrollEntry, Todo};
use super::{Approval, EmployeeChange, NewTodo, Result, Store, StoreError};

/// The schema, one migration per file in `demo-server/migrations/postgres/`
/// (the same files, by name, as `migrations/sqlite/`).
pub(super) const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_todos.sql",
        include_str!("../../migrations/postgres/0001_todos.sql"),
    ),
    (
        "0002_hr_finance.sql",
        include_str!("../../migrations/postgres/0002_hr_finance.sql"),
    ),
    (
        "0003_system_state.sql",
        include_str!("../../migrations/postgres/0003_system_state.sql"),
    ),
];

/// The advisory lock key migrations run under (any constant shared by
/// every replica).
const MIGRATION_LOCK: i64 = 0x6d63_705f_6465_6d6f; // "mcp_demo"

/// Connections in each replica's pool, at most.
const POOL_SIZE: usize = 16;

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        Self(Box::new(e))
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        Self(Box::new(e))
    }
}

/// A pool of connections to one PostgreSQL database.
#[derive(Debug)]
pub struct PostgresStore {
    pool: Pool,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`;
    /// plain TCP or a Unix socket, no TLS) and applies pending migrations.
    pub async fn connect(url: &str) -> Result<Self, String> {
        let config: tokio_postgres::Config =
            url.parse().map_err(|e| format!("DATABASE_URL: {e}"))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| format!("DATABASE_URL: {e}"))?;
        let store = Self { pool };
        store
            .migrate()
            .await
            .map_err(|e| format!("cannot migrate the PostgreSQL database: {e}"))?;
        Ok(store)
    }

    async fn conn(&self) -> Result<Object> {
        Ok(self.pool.get().await?)
    }

    /// Applies the migrations not yet recorded in `demo_migrations`, each in
    /// the one transaction that holds the migration lock.
    async fn migrate(&self) -> Result<()> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS demo_migrations (
                 name       TEXT PRIMARY KEY,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .await?;
        let applied: Vec<String> = tx
            .query("SELECT name FROM demo_migrations", &[])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        for (name, sql) in MIGRATIONS {
            if applied.iter().any(|a| a == name) {
                continue;
            }
            tx.batch_execute(sql)
                .await
                .map_err(|e| StoreError::msg(format!("{name}: {e}")))?;
            tx.execute("INSERT INTO demo_migrations (name) VALUES ($1)", &[name])
                .await?;
            tracing::info!(migration = name, "applied a migration");
        }
        tx.commit().await?;
        Ok(())
    }
}

const TODO: &str = "id, title, done, due, created_at";

fn todo(row: &Row) -> Todo {
    Todo {
        id: row.get(0),
        title: row.get(1),
        done: row.get(2),
        due: row.get(3),
        created_at: row.get(4),
    }
}

const EMPLOYEE: &str = "id, name, email, department, title, phone";

fn employee(row: &Row) -> Employee {
    Employee {
        id: row.get(0),
        name: row.get(1),
        email: row.get(2),
        department: row.get(3),
        title: row.get(4),
        phone: row.get(5),
    }
}

const EXPENSE: &str = "id, employee_id, amount_cents, currency, description, status, approved_by";

fn expense(row: &Row) -> Expense {
    Expense {
        id: row.get(0),
        employee_id: row.get(1),
        amount_cents: row.get(2),
        currency: row.get(3),
        description: row.get(4),
        status: row.get(5),
        approved_by: row.get(6),
    }
}

#[async_trait]
impl Store for PostgresStore {
    async fn list_todos(&self, owner: &str, include_done: bool) -> Result<Vec<Todo>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(&format!(
                "SELECT {TODO} FROM todos WHERE owner = $1 AND ($2 OR NOT done) ORDER BY id"
            ))
            .await?;
        let rows = conn.query(&stmt, &[&owner, &include_done]).await?;
        Ok(rows.iter().map(todo).collect())
    }

    async fn create_todo(&self, owner: &str, new: NewTodo<'_>, quota: u32) -> Result<Option<Todo>> {
        let mut conn = self.conn().await?;
        let tx = conn.transaction().await?;
        // Under READ COMMITTED two inserts could each count the other out:
        // serialise one owner's creates (the lock ends with the transaction).
        tx.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&owner],
        )
        .await?;
        let stmt = tx
            .prepare_cached(&format!(
                "INSERT INTO todos (owner, title, due) SELECT $1, $2, $3 \
                 WHERE (SELECT count(*) FROM todos WHERE owner = $1) < $4 RETURNING {TODO}"
            ))
            .await?;
        let row = tx
            .query_opt(&stmt, &[&owner, &new.title, &new.due, &i64::from(quota)])
            .await?;
        tx.commit().await?;
        Ok(row.as_ref().map(todo))
    }

    async fn update_todo(
        &self,
        owner: &str,
        id: i64,
        change: super::TodoChange<'_>,
    ) -> Result<Option<Todo>> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached(&format!(
                "UPDATE todos SET title = coalesce($3, title), done = coalesce($4, done), \
                 due = coalesce($5, due) WHERE id = $1 AND owner = $2 RETURNING {TODO}"
            ))
            .await?;
        let row = conn
            .query_opt(
                &stmt,
                &[&id, &owner, &change.title, &change.done, &change.due],
            )
            .await?;
        Ok(row.as_ref().map(todo))
    }

    async fn delete_todo(&self, owner: &str, id: i64) -> Result<bool> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached("DELETE FROM todos WHERE id = $1 AND owner = $2")
            .await?;
        Ok(conn.execute(&stmt, &[&id, &owner]).await? > 0)
    }

    async fn list_employees(&self) -> Result<Vec<Employee>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                &format!("SELECT {EMPLOYEE} FROM employees ORDER BY id"),
                &[],
            )
            .await?;
        Ok(rows.iter().map(employee).collect())
    }

    async fn get_employee(&self, id: i64) -> Result<Option<Employee>> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                &format!("SELECT {EMPLOYEE} FROM employees WHERE id = $1"),
                &[&id],
            )
            .await?;
        Ok(row.as_ref().map(employee))
    }

    async fn update_employee(
        &self,
        id: i64,
        change: EmployeeChange<'_>,
    ) -> Result<Option<Employee>> {
        let conn = self.conn().await?;
        let row = conn
            .query_opt(
                &format!(
                    "UPDATE employees SET title = coalesce($2, title), \
                     department = coalesce($3, department), phone = coalesce($4, phone) \
                     WHERE id = $1 RETURNING {EMPLOYEE}"
                ),
                &[&id, &change.title, &change.department, &change.phone],
            )
            .await?;
        Ok(row.as_ref().map(employee))
    }

    async fn payroll(&self, employee_id: Option<i64>) -> Result<Vec<PayrollEntry>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                "SELECT employee_id, annual_salary, currency, pay_cycle FROM payroll \
                 WHERE $1::BIGINT IS NULL OR employee_id = $1 ORDER BY employee_id",
                &[&employee_id],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| PayrollEntry {
                employee_id: r.get(0),
                annual_salary: r.get(1),
                currency: r.get(2),
                pay_cycle: r.get(3),
            })
            .collect())
    }

    async fn pending_expenses(&self) -> Result<Vec<Expense>> {
        let conn = self.conn().await?;
        let rows = conn
            .query(
                &format!("SELECT {EXPENSE} FROM expenses WHERE status = 'pending' ORDER BY id"),
                &[],
            )
            .await?;
        Ok(rows.iter().map(expense).collect())
    }

    async fn approve_expense(&self, id: i64, by: &str) -> Result<Approval> {
        let conn = self.conn().await?;
        // The status check is part of the update: never approved twice.
        let approved = conn
            .query_opt(
                &format!(
                    "UPDATE expenses SET status = 'approved', approved_by = $2 \
                     WHERE id = $1 AND status = 'pending' RETURNING {EXPENSE}"
                ),
                &[&id, &by],
            )
            .await?;
        if let Some(row) = approved {
            return Ok(Approval::Approved(expense(&row)));
        }
        let status = conn
            .query_opt("SELECT status FROM expenses WHERE id = $1", &[&id])
            .await?;
        Ok(status.map_or(Approval::NotFound, |r| Approval::NotPending(r.get(0))))
    }

    async fn maintenance(&self) -> Result<bool> {
        let conn = self.conn().await?;
        let stmt = conn
            .prepare_cached("SELECT maintenance FROM system_state WHERE id = 1")
            .await?;
        Ok(conn.query_one(&stmt, &[]).await?.get(0))
    }

    async fn set_maintenance(&self, on: bool) -> Result<bool> {
        let conn = self.conn().await?;
        // The old value, read under the row lock the update takes.
        let row = conn
            .query_one(
                "UPDATE system_state s SET maintenance = $1 \
                 FROM (SELECT maintenance FROM system_state WHERE id = 1 FOR UPDATE) old \
                 WHERE s.id = 1 RETURNING old.maintenance",
                &[&on],
            )
            .await?;
        Ok(row.get(0))
    }

    async fn reopen(&self) -> Result<()> {
        // Idle connections close; the next calls open fresh ones.
        self.pool.retain(|_, _| false);
        self.migrate().await
    }
}
