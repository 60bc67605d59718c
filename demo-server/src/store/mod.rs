//! Where the demo keeps its data: todo items, the HR directory, payroll and
//! expenses, and the state every process shares (maintenance mode).
//!
//! One trait, [`Store`], with two implementations: SQLite, the embedded
//! default (one file, one process), and PostgreSQL when `DATABASE_URL` is
//! set (any number of replicas). Both apply the same migrations
//! (`migrations/sqlite/` and `migrations/postgres/`, file for file) and keep
//! every todo item to the subject that created it. Writes are single
//! statements or transactions, so concurrent callers, in one process or
//! many, cannot interleave a read and a write; ids come from the database.

mod postgres;
mod records;
mod sqlite;

use std::{fmt, ops::Deref, sync::Arc};

use async_trait::async_trait;

pub use postgres::PostgresStore;
pub use records::{Employee, Expense, PayrollEntry, Todo};
pub use sqlite::SqliteStore;

/// A store's failure: its detail is for the server log, never the caller.
#[derive(Debug)]
pub struct StoreError(Box<dyn std::error::Error + Send + Sync>);

impl StoreError {
    /// A failure described by `message`.
    pub fn msg(message: impl Into<String>) -> Self {
        Self(message.into().into())
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        Self(Box::new(e))
    }
}

/// What a store method returns.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A new todo item.
#[derive(Debug, Clone, Copy)]
pub struct NewTodo<'a> {
    /// What needs doing (already checked).
    pub title: &'a str,
    /// When it is due.
    pub due: Option<&'a str>,
}

/// Changes to a todo item; `None` keeps a field as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct TodoChange<'a> {
    /// A new title (already checked).
    pub title: Option<&'a str>,
    /// Done or not.
    pub done: Option<bool>,
    /// A new due date.
    pub due: Option<&'a str>,
}

/// Changes to a directory entry; `None` keeps a field as it is.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmployeeChange<'a> {
    /// A new job title.
    pub title: Option<&'a str>,
    /// A new department.
    pub department: Option<&'a str>,
    /// A new work phone.
    pub phone: Option<&'a str>,
}

/// What approving an expense claim did.
#[derive(Debug)]
pub enum Approval {
    /// The claim was pending and is now approved.
    Approved(Expense),
    /// No claim has this id.
    NotFound,
    /// The claim was not pending: its status.
    NotPending(String),
}

/// The demo's data. Every todo method takes the owner (the token's
/// subject) and touches only that owner's items.
#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    /// The caller's items, oldest first (open ones only unless `include_done`).
    async fn list_todos(&self, owner: &str, include_done: bool) -> Result<Vec<Todo>>;

    /// Adds an item for `owner`, unless they already hold `quota` items
    /// (`None`). The count and the insert cannot interleave with another
    /// create for the same owner.
    async fn create_todo(&self, owner: &str, new: NewTodo<'_>, quota: u32) -> Result<Option<Todo>>;

    /// Changes one of `owner`'s items; `None` when `owner` has no item `id`.
    async fn update_todo(
        &self,
        owner: &str,
        id: i64,
        change: TodoChange<'_>,
    ) -> Result<Option<Todo>>;

    /// Deletes one of `owner`'s items; `false` when `owner` has no item `id`.
    async fn delete_todo(&self, owner: &str, id: i64) -> Result<bool>;

    /// The employee directory, by id.
    async fn list_employees(&self) -> Result<Vec<Employee>>;

    /// One directory entry.
    async fn get_employee(&self, id: i64) -> Result<Option<Employee>>;

    /// Changes a directory entry; `None` when there is no employee `id`.
    async fn update_employee(
        &self,
        id: i64,
        change: EmployeeChange<'_>,
    ) -> Result<Option<Employee>>;

    /// Payroll lines by employee id, all or only `employee_id`'s.
    async fn payroll(&self, employee_id: Option<i64>) -> Result<Vec<PayrollEntry>>;

    /// Expense claims still pending, by id.
    async fn pending_expenses(&self) -> Result<Vec<Expense>>;

    /// Approves claim `id` on behalf of `by`, if it is still pending: of
    /// two concurrent approvals, exactly one succeeds.
    async fn approve_expense(&self, id: i64, by: &str) -> Result<Approval>;

    /// Whether maintenance mode is on (for every process on this store).
    async fn maintenance(&self) -> Result<bool>;

    /// Turns maintenance mode on or off; returns what it was.
    async fn set_maintenance(&self, on: bool) -> Result<bool>;

    /// Closes and reopens the connections, applying pending migrations.
    async fn reopen(&self) -> Result<()>;
}

/// The store the tools share, as `State<Db>`.
#[derive(Debug, Clone)]
pub struct Db(Arc<dyn Store>);

impl Db {
    /// Shares `store`.
    pub fn new(store: impl Store + 'static) -> Self {
        Self(Arc::new(store))
    }
}

impl Deref for Db {
    type Target = dyn Store;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

#[cfg(test)]
mod contract;

#[cfg(test)]
mod tests {
    /// The two schemas move together: the same migrations, by name and order.
    #[test]
    fn both_stores_have_the_same_migrations() {
        let names =
            |m: &[(&'static str, &'static str)]| m.iter().map(|(n, _)| *n).collect::<Vec<_>>();
        assert_eq!(
            names(super::sqlite::MIGRATIONS),
            names(super::postgres::MIGRATIONS)
        );
        for dir in ["sqlite", "postgres"] {
            let path = format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR"));
            let mut files: Vec<String> = std::fs::read_dir(&path)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            files.sort();
            assert_eq!(files, names(super::sqlite::MIGRATIONS), "{path}");
        }
    }
}
