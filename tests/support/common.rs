//! Shared test support: a fresh database per test on both backends.
//!
//! `TestDb::sqlite()` makes a new SQLite file in a temp dir; `TestDb::postgres()` creates a new
//! database on the server at `TEST_DATABASE_URL` (default
//! postgres://postgres@127.0.0.1:5432/postgres) and drops it afterwards. The test command
//! (scripts/test) makes sure that server is running; a test never skips silently when it is not.
//! `both_backends!` writes one test body once and runs it on each backend.

#![allow(dead_code)]

use connecting::store::Store;
use rand::Rng;

pub fn pg_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

pub struct TestDb {
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg_name: Option<String>,
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        let store = Store::open(&url).await.expect("open sqlite");
        TestDb {
            store,
            url,
            _dir: Some(dir),
            pg_name: None,
        }
    }

    pub async fn postgres() -> TestDb {
        let admin = pg_admin_url();
        let name = format!("connecting_test_{:016x}", rand::rng().random::<u64>());
        let admin_store = Store::connect(&admin).await.unwrap_or_else(|e| {
            panic!("PostgreSQL at {admin} is needed by the tests (run scripts/test): {e}")
        });
        if let connecting::store::Pool::Postgres(p) = admin_store.pool() {
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .execute(p)
                .await
                .expect("create test database");
        }
        admin_store.close().await;
        let url = replace_db_name(&admin, &name);
        let store = Store::open(&url).await.expect("open postgres");
        TestDb {
            store,
            url,
            _dir: None,
            pg_name: Some(name),
        }
    }

    /// A second, independent connection pool on the same database (another "instance").
    pub async fn another_instance(&self) -> Store {
        Store::open(&self.url).await.expect("second instance")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = self.pg_name.take() {
            let admin = pg_admin_url();
            // Drop the database from a separate thread with its own runtime: Drop cannot await.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async move {
                        if let Ok(s) = Store::connect(&admin).await {
                            if let connecting::store::Pool::Postgres(p) = s.pool() {
                                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                )))
                                .execute(p)
                                .await;
                            }
                            s.close().await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

pub fn replace_db_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let base = match base.rfind('/') {
        Some(i) if i > base.find("://").map(|s| s + 2).unwrap_or(0) => &base[..i],
        _ => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Runs the same async test body on SQLite and on PostgreSQL:
/// `both_backends!(name, |db| async move { ... });` where `db: TestDb`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, |$db:ident| $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let $db = $crate::common::TestDb::sqlite().await;
                $body.await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let $db = $crate::common::TestDb::postgres().await;
                $body.await;
            }
        }
    };
}

/// Every email the outbox holds, oldest first.
pub async fn outbox_emails(store: &Store) -> Vec<connecting::outbox::EmailPayload> {
    store
        .outbox_all()
        .await
        .expect("outbox rows")
        .into_iter()
        .filter_map(|r| match r.payload {
            connecting::outbox::Payload::Email(e) => Some(e),
            _ => None,
        })
        .collect()
}

/// Writes `value` into `table.column` of row `id` behind the store's back: a damaged row the
/// store itself would never write, to test how the code copes with it. The one place tests
/// write SQL; everything they build goes through the store and the builders.
pub async fn corrupt(store: &Store, table: &str, column: &str, value: &str, id: i64) {
    let sql = format!("UPDATE {table} SET {column} = $1 WHERE id = $2");
    match store.pool() {
        connecting::store::Pool::Sqlite(p) => {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(value)
                .bind(id)
                .execute(p)
                .await
                .expect("corrupt");
        }
        connecting::store::Pool::Postgres(p) => {
            sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(value)
                .bind(id)
                .execute(p)
                .await
                .expect("corrupt");
        }
    }
}
