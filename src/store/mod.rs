//! The store: one interface over two backends, SQLite (the embedded default: a file in WAL mode)
//! and PostgreSQL (several instances on one database).
//!
//! Every query is written once, with `$1, $2` placeholders that both backends understand, and run
//! on whichever pool is configured through [`with_pool!`] / [`with_tx!`]. Times are `i64` Unix
//! seconds (UTC). Write paths that must be atomic take a [`Tx`]; on SQLite a transaction starts
//! with `BEGIN IMMEDIATE`, so writers queue on the busy timeout instead of failing on upgrade.

pub mod console;
pub use console::{ConsoleRole, ConsoleSession, QueueEntry, QueueFilter, RequesterScope};
mod corrections;
pub use corrections::{Correction, CorrectionSource};
mod assignments;
mod delivery;
mod evaluations;
mod hours;
pub use hours::HoursCheck;
mod meetings;
mod offers;
mod report;
mod reschedule;
mod roster;
mod series;
pub use series::NewSeries;
mod status;
mod timers;
pub use assignments::Assignment;
pub use delivery::ClaimedMessage;
pub use offers::Offer;
pub use report::ReportRecord;
pub use reschedule::NewTime;
pub use roster::{MediatorMonth, WorkFacts};
pub use timers::Timer;
mod email;
mod inbound;
pub mod mark;
mod outbox;
mod retention;
pub use inbound::{Inbound, NewInbound, SetAside};
pub use outbox::{FORGOTTEN_WHEN_SENT, OutboxRow, Priority};
pub use retention::PurgeCounts;
mod people;
mod requests;
mod states;
mod telegram;
pub use telegram::{AssignmentRef, DialogueRow, OfferRef};

pub use people::{
    Coordinator, InviteError, Mediator, NewCoordinator, NewMediator, NewOperator, Operator,
    Redeemed,
};
pub use requests::{AuditEntry, NewRequest, Request, RequestFilter};

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::str::FromStr;
use std::time::Duration;

/// Runs `$body` with `$p` bound to the concrete pool (`&SqlitePool` or `&PgPool`).
/// The body is compiled once per backend, so it must only use what both support.
#[macro_export]
macro_rules! with_pool {
    ($store:expr, $p:ident => $body:expr) => {
        match $store.pool() {
            $crate::store::Pool::Sqlite($p) => $body,
            $crate::store::Pool::Postgres($p) => $body,
        }
    };
}

/// Runs `$body` with `$c` bound to the transaction's connection
/// (`&mut SqliteConnection` or `&mut PgConnection`).
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, $c:ident => $body:expr) => {
        match $tx.inner_mut() {
            $crate::store::TxInner::Sqlite(t) => {
                let $c: &mut sqlx::SqliteConnection = &mut *t;
                $body
            }
            $crate::store::TxInner::Postgres(t) => {
                let $c: &mut sqlx::PgConnection = &mut *t;
                $body
            }
        }
    };
}

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The connection pool of one backend.
#[derive(Debug, Clone)]
pub enum Pool {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Errors of the store. Constraint violations the callers care about have their own variants.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL {url:?} is not valid: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0} already exists")]
    Duplicate(String),
    #[error("{0}")]
    Conflict(String),
    #[error("stored value is not valid: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Transition(#[from] crate::domain::TransitionError),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// Turns a unique-constraint violation into [`StoreError::Duplicate`] naming `what`.
    pub(crate) fn unique_as(e: sqlx::Error, what: impl Into<String>) -> StoreError {
        if let sqlx::Error::Database(db) = &e
            && db.is_unique_violation()
        {
            return StoreError::Duplicate(what.into());
        }
        StoreError::Db(e)
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// The store: cheap to clone (a pool handle).
#[derive(Debug, Clone)]
pub struct Store {
    pool: Pool,
}

/// An open transaction on either backend.
pub struct Tx {
    inner: TxInner,
}

#[doc(hidden)]
pub enum TxInner {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    #[doc(hidden)]
    pub fn inner_mut(&mut self) -> &mut TxInner {
        &mut self.inner
    }

    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }

    pub async fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.rollback().await?,
            TxInner::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}

impl Store {
    /// Opens the database at `url` (`sqlite://file.db`, `sqlite::memory:`, `postgres://...`).
    /// A SQLite file is created if missing and put in WAL mode. Does not migrate.
    pub async fn connect(url: &str) -> Result<Store> {
        let bad = |reason: String| StoreError::BadUrl {
            url: redact_url(url),
            reason,
        };
        if url.starts_with("sqlite:") {
            let opts = SqliteConnectOptions::from_str(url)
                .map_err(|e| bad(e.to_string()))?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30));
            let memory = url.contains(":memory:") || url.contains("mode=memory");
            let pool = SqlitePoolOptions::new()
                .max_connections(if memory { 1 } else { 8 })
                .min_connections(if memory { 1 } else { 0 })
                .idle_timeout(if memory {
                    None
                } else {
                    Some(Duration::from_secs(600))
                })
                .max_lifetime(if memory {
                    None
                } else {
                    Some(Duration::from_secs(1800))
                })
                .connect_with(opts)
                .await
                .map_err(StoreError::Connect)?;
            Ok(Store {
                pool: Pool::Sqlite(pool),
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let opts = PgConnectOptions::from_str(url).map_err(|e| bad(e.to_string()))?;
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await
                .map_err(StoreError::Connect)?;
            Ok(Store {
                pool: Pool::Postgres(pool),
            })
        } else {
            Err(bad(
                "expected sqlite://FILE or postgres://USER@HOST/DB".to_string()
            ))
        }
    }

    /// Opens and migrates: what every command that uses the database does first.
    pub async fn open(url: &str) -> Result<Store> {
        let store = Store::connect(url).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations; running it again changes nothing.
    pub async fn migrate(&self) -> Result<()> {
        match &self.pool {
            Pool::Sqlite(p) => SQLITE_MIGRATIONS.run(p).await?,
            Pool::Postgres(p) => POSTGRES_MIGRATIONS.run(p).await?,
        }
        Ok(())
    }

    /// Versions of the migrations this binary knows that are not applied yet (all of them
    /// when the schema is missing).
    pub async fn pending_migrations(&self) -> Result<Vec<i64>> {
        let applied = self.applied_migrations().await.unwrap_or_default();
        let known = match &self.pool {
            Pool::Sqlite(_) => &SQLITE_MIGRATIONS,
            Pool::Postgres(_) => &POSTGRES_MIGRATIONS,
        };
        Ok(known
            .iter()
            .map(|m| m.version)
            .filter(|v| !applied.contains(v))
            .collect())
    }

    /// Versions of the migrations applied, in order.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>> {
        let rows: Vec<i64> = with_pool!(self, p => {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = $1 ORDER BY version")
                .bind(true)
                .fetch_all(p)
                .await?
        });
        Ok(rows)
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// Starts a write transaction (`BEGIN IMMEDIATE` on SQLite).
    pub async fn begin(&self) -> Result<Tx> {
        let inner = match &self.pool {
            Pool::Sqlite(p) => TxInner::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
            Pool::Postgres(p) => TxInner::Postgres(p.begin().await?),
        };
        Ok(Tx { inner })
    }

    /// Whether the database answers.
    pub async fn ping(&self) -> bool {
        let r: std::result::Result<i64, sqlx::Error> = with_pool!(self, p => {
            sqlx::query_scalar("SELECT CAST(1 AS BIGINT)").fetch_one(p).await
        });
        r.is_ok()
    }

    pub async fn close(&self) {
        match &self.pool {
            Pool::Sqlite(p) => p.close().await,
            Pool::Postgres(p) => p.close().await,
        }
    }
}

/// The URL with any password replaced, for messages and logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s + 3 => {
            let userinfo = &url[s + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..s + 3], user, &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Unix seconds of an instant.
/// Text as every backend can store it: PostgreSQL refuses NUL in TEXT, so NUL is stripped
/// here, on both backends alike (documented in SECURITY.md). Everything else is kept as
/// written: values are always bound as parameters, never spliced into SQL.
pub fn db_text(s: &str) -> String {
    s.replace('\0', "")
}

/// [`db_text`] on an optional value.
pub fn db_opt(s: &Option<String>) -> Option<String> {
    s.as_deref().map(db_text)
}

pub fn ts(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp()
}

/// The instant of Unix seconds (out-of-range values clamp to the epoch).
pub fn from_ts(s: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(s, 0).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_urls() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db.example.org/connecting"),
            "postgres://app:***@db.example.org/connecting"
        );
        assert_eq!(redact_url("postgres://app@db/c"), "postgres://app@db/c");
        assert_eq!(
            redact_url("sqlite://connecting.db"),
            "sqlite://connecting.db"
        );
    }
}
