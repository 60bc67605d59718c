//! The store contract: what every [`Store`] must do, run against each
//! implementation, each case on a fresh, migrated store.

use std::{
    collections::HashSet,
    future::Future,
    path::PathBuf,
    sync::{
        OnceLock,
        atomic::{AtomicUsize, Ordering},
    },
};

use tokio_postgres::NoTls;

use super::{Approval, Db, EmployeeChange, NewTodo, TodoChange};

fn new(title: &str) -> NewTodo<'_> {
    NewTodo { title, due: None }
}

/// The cases, each a function of a fresh store; `contract_tests!` makes one
/// test per case and backend.
macro_rules! contract_tests {
    ($backend:ident, $fresh:path) => {
        mod $backend {
            use super::*;
            contract_tests!(@cases $fresh;
                ids_come_from_the_database, items_belong_to_their_owner,
                updates_change_only_what_is_given, deletes_are_owned_and_final,
                the_quota_holds_under_concurrent_creates,
                concurrent_writers_never_lose_or_repeat_an_item,
                the_directory_is_seeded_and_editable, payroll_and_expenses,
                an_expense_is_approved_once, maintenance_is_shared_state,
                reopening_keeps_the_data);
        }
    };
    (@cases $fresh:path; $($case:ident),*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                // The guard outlives the case.
                let (db, _guard) = $fresh().await;
                super::$case(db).await;
            }
        )*
    };
}

async fn ids_come_from_the_database(db: Db) {
    let a = db.create_todo("alice", new("one"), 10).await.unwrap();
    let b = db.create_todo("bob", new("two"), 10).await.unwrap();
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(b.id > a.id, "{} then {}", a.id, b.id);
    assert!(!a.done);
    // RFC 3339, UTC, whole seconds: `2026-05-20T10:11:12Z`.
    let t = a.created_at.as_bytes();
    assert_eq!(t.len(), 20, "{}", a.created_at);
    assert_eq!((t[4], t[10], t[19]), (b'-', b'T', b'Z'), "{}", a.created_at);
    // A deleted id is never reused.
    assert!(db.delete_todo("bob", b.id).await.unwrap());
    let c = db
        .create_todo("bob", new("three"), 10)
        .await
        .unwrap()
        .unwrap();
    assert!(c.id > b.id);
}

async fn items_belong_to_their_owner(db: Db) {
    let mine = db.create_todo(
        "alice",
        NewTodo {
            title: "mine",
            due: Some("2027-01-01"),
        },
        10,
    );
    let mine = mine.await.unwrap().unwrap();
    let theirs = db
        .create_todo("bob", new("theirs"), 10)
        .await
        .unwrap()
        .unwrap();
    let alice = db.list_todos("alice", true).await.unwrap();
    assert_eq!(alice.iter().map(|t| t.id).collect::<Vec<_>>(), [mine.id]);
    assert_eq!(alice[0].due.as_deref(), Some("2027-01-01"));
    assert!(db.list_todos("carol", true).await.unwrap().is_empty());
    // Someone else's item is as absent as a missing one.
    let change = TodoChange {
        done: Some(true),
        ..TodoChange::default()
    };
    assert!(
        db.update_todo("alice", theirs.id, change)
            .await
            .unwrap()
            .is_none()
    );
    assert!(!db.delete_todo("alice", theirs.id).await.unwrap());
    let bob = db.list_todos("bob", true).await.unwrap();
    assert!(!bob[0].done, "bob's item was changed by alice");
}

async fn updates_change_only_what_is_given(db: Db) {
    let t = db.create_todo(
        "alice",
        NewTodo {
            title: "a",
            due: Some("soon"),
        },
        10,
    );
    let t = t.await.unwrap().unwrap();
    let done = TodoChange {
        done: Some(true),
        ..TodoChange::default()
    };
    let u = db.update_todo("alice", t.id, done).await.unwrap().unwrap();
    assert_eq!(
        (u.title.as_str(), u.done, u.due.as_deref()),
        ("a", true, Some("soon"))
    );
    let retitle = TodoChange {
        title: Some("b"),
        ..TodoChange::default()
    };
    let u = db
        .update_todo("alice", t.id, retitle)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((u.title.as_str(), u.done), ("b", true));
    assert_eq!(u.created_at, t.created_at);
    assert!(db.list_todos("alice", false).await.unwrap().is_empty());
    assert_eq!(db.list_todos("alice", true).await.unwrap().len(), 1);
    assert!(
        db.update_todo("alice", t.id + 1000, done)
            .await
            .unwrap()
            .is_none()
    );
}

async fn deletes_are_owned_and_final(db: Db) {
    let t = db
        .create_todo("alice", new("gone"), 10)
        .await
        .unwrap()
        .unwrap();
    assert!(db.delete_todo("alice", t.id).await.unwrap());
    assert!(!db.delete_todo("alice", t.id).await.unwrap());
    assert!(db.list_todos("alice", true).await.unwrap().is_empty());
}

/// Runs `n` copies of `task` at once, each given its index.
async fn concurrently<F, T>(db: &Db, n: usize, task: impl Fn(Db, usize) -> F) -> Vec<T>
where
    F: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = (0..n).map(|i| tokio::spawn(task(db.clone(), i))).collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

async fn the_quota_holds_under_concurrent_creates(db: Db) {
    let created = concurrently(&db, 24, |db, i| async move {
        let title = format!("item {i}");
        db.create_todo("alice", new(&title), 5)
            .await
            .unwrap()
            .is_some()
    })
    .await;
    assert_eq!(created.iter().filter(|c| **c).count(), 5);
    assert_eq!(db.list_todos("alice", true).await.unwrap().len(), 5);
    // Another owner's quota is their own.
    assert!(db.create_todo("bob", new("b"), 5).await.unwrap().is_some());
}

async fn concurrent_writers_never_lose_or_repeat_an_item(db: Db) {
    let per_owner = 10;
    let results = concurrently(&db, 8, move |db, owner| async move {
        let owner = format!("owner-{owner}");
        let mut kept = Vec::new();
        for i in 0..per_owner {
            let title = format!("{owner} {i}");
            let t = db
                .create_todo(&owner, new(&title), 1000)
                .await
                .unwrap()
                .unwrap();
            if i % 3 == 0 {
                assert!(db.delete_todo(&owner, t.id).await.unwrap());
            } else {
                let done = TodoChange {
                    done: Some(true),
                    ..TodoChange::default()
                };
                db.update_todo(&owner, t.id, done).await.unwrap().unwrap();
                kept.push(t.id);
            }
        }
        let listed: Vec<i64> = db
            .list_todos(&owner, true)
            .await
            .unwrap()
            .iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(listed, kept, "{owner}");
        kept
    })
    .await;
    let all: Vec<i64> = results.into_iter().flatten().collect();
    let unique: HashSet<i64> = all.iter().copied().collect();
    assert_eq!(all.len(), unique.len(), "an id was given twice");
}

async fn the_directory_is_seeded_and_editable(db: Db) {
    let all = db.list_employees().await.unwrap();
    assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert_eq!(all[0].name, "Ada Lovelace");
    let change = EmployeeChange {
        title: Some("Rear Admiral"),
        ..EmployeeChange::default()
    };
    let grace = db.update_employee(2, change).await.unwrap().unwrap();
    assert_eq!(
        (grace.title.as_str(), grace.department.as_str()),
        ("Rear Admiral", "Engineering")
    );
    assert_eq!(
        db.get_employee(2).await.unwrap().unwrap().title,
        "Rear Admiral"
    );
    assert!(db.get_employee(99).await.unwrap().is_none());
    assert!(db.update_employee(99, change).await.unwrap().is_none());
}

async fn payroll_and_expenses(db: Db) {
    let all = db.payroll(None).await.unwrap();
    assert_eq!(all.len(), 4);
    assert_eq!((all[0].employee_id, all[0].annual_salary), (1, 185000));
    let one = db.payroll(Some(3)).await.unwrap();
    assert_eq!(one.iter().map(|p| p.employee_id).collect::<Vec<_>>(), [3]);
    assert!(db.payroll(Some(99)).await.unwrap().is_empty());
    let pending = db.pending_expenses().await.unwrap();
    assert_eq!(pending.iter().map(|e| e.id).collect::<Vec<_>>(), [1, 2, 3]);
    assert_eq!(
        (pending[1].amount_cents, pending[1].status.as_str()),
        (12999, "pending")
    );
}

async fn an_expense_is_approved_once(db: Db) {
    let outcomes = concurrently(&db, 8, |db, i| async move {
        db.approve_expense(2, &format!("cfo-{i}")).await.unwrap()
    })
    .await;
    let approved: Vec<_> = outcomes
        .iter()
        .filter_map(|o| match o {
            Approval::Approved(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(approved.len(), 1, "{outcomes:?}");
    assert_eq!(approved[0].status, "approved");
    assert!(
        approved[0]
            .approved_by
            .as_deref()
            .unwrap()
            .starts_with("cfo-")
    );
    for o in &outcomes {
        assert!(
            matches!(o, Approval::Approved(_))
                || matches!(o, Approval::NotPending(s) if s == "approved"),
            "{o:?}"
        );
    }
    assert!(matches!(
        db.approve_expense(99, "cfo").await.unwrap(),
        Approval::NotFound
    ));
    let pending = db.pending_expenses().await.unwrap();
    assert_eq!(pending.iter().map(|e| e.id).collect::<Vec<_>>(), [1, 3]);
}

async fn maintenance_is_shared_state(db: Db) {
    assert!(!db.maintenance().await.unwrap());
    assert!(!db.set_maintenance(true).await.unwrap());
    assert!(db.maintenance().await.unwrap());
    assert!(db.set_maintenance(true).await.unwrap());
    assert!(db.set_maintenance(false).await.unwrap());
    assert!(!db.maintenance().await.unwrap());
}

async fn reopening_keeps_the_data(db: Db) {
    let t = db
        .create_todo("alice", new("kept"), 10)
        .await
        .unwrap()
        .unwrap();
    db.set_maintenance(true).await.unwrap();
    db.reopen().await.unwrap();
    let listed = db.list_todos("alice", true).await.unwrap();
    assert_eq!(listed.iter().map(|t| t.id).collect::<Vec<_>>(), [t.id]);
    assert!(db.maintenance().await.unwrap());
}

/// A fresh SQLite database file (`:memory:` would not survive `reopen`),
/// removed with the guard.
async fn sqlite() -> (Db, TempDir) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("demo-store-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = super::SqliteStore::open(&dir.join("demo.sqlite3")).unwrap();
    (Db::new(store), TempDir(dir))
}

contract_tests!(on_sqlite, sqlite);

#[path = "../../tests/common/postgres.rs"]
mod harness;

/// A fresh database on the one PostgreSQL server of this test process
/// (stopped when the process exits).
async fn postgres() -> (Db, ()) {
    static SERVER: OnceLock<harness::Postgres> = OnceLock::new();
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let server = SERVER.get_or_init(harness::Postgres::start);
    let name = format!("contract_{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let (admin, connection) = tokio_postgres::connect(&server.url("postgres"), NoTls)
        .await
        .unwrap();
    let connection = tokio::spawn(connection);
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    drop(admin);
    let _ = connection.await;
    let store = super::PostgresStore::connect(&server.url(&name))
        .await
        .unwrap();
    (Db::new(store), ())
}

contract_tests!(on_postgres, postgres);

/// A directory removed when dropped.
#[derive(Debug)]
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
