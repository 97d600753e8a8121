//! The `timers` table: durable timers claimed exactly once (on PostgreSQL due rows are locked
//! with `FOR UPDATE SKIP LOCKED`; on SQLite every write transaction is `BEGIN IMMEDIATE`).

use chrono::{DateTime, Utc};

use super::{Backend, Result, Store, Tx, from_ts, ts};
use crate::domain::{ParseError, TimerKind};
use crate::{with_pool, with_tx};

/// A due timer, claimed by the transaction that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    pub id: i64,
    /// What it is for; a kind this version does not know is kept as the error, so the timer
    /// that carries it fails (and is given up) without stopping the others.
    pub kind: std::result::Result<TimerKind, ParseError>,
    pub request_id: Option<i64>,
    pub ref_id: Option<i64>,
    pub due_at: DateTime<Utc>,
    /// The meeting of a series it is for (its reminders and the question after it); `ref_id`
    /// is then the mediator who held it when it was scheduled.
    pub occurrence_id: Option<i64>,
}

type TimerRow = (i64, String, Option<i64>, Option<i64>, i64, Option<i64>);

impl Tx {
    pub async fn schedule_timer(
        &mut self,
        kind: TimerKind,
        request_id: Option<i64>,
        ref_id: Option<i64>,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        Ok(with_tx!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO timers (kind, request_id, ref_id, due_at, status, attempts, created_at)
                 VALUES ($1, $2, $3, $4, 'pending', 0, $5) RETURNING id",
            )
            .bind(kind.as_str())
            .bind(request_id)
            .bind(ref_id)
            .bind(ts(due_at))
            .bind(ts(now))
            .fetch_one(&mut *c)
            .await?
        }))
    }

    /// Cancels a request's pending timers of the given kinds (all kinds if empty).
    pub async fn cancel_timers(&mut self, request_id: i64, kinds: &[TimerKind]) -> Result<u64> {
        let cond = if kinds.is_empty() {
            String::new()
        } else {
            format!(
                " AND kind IN ({})",
                kinds
                    .iter()
                    .map(|k| format!("'{}'", k.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let sql = format!(
            "UPDATE timers SET status = 'cancelled' WHERE request_id = $1 AND status = 'pending'{cond}"
        );
        Ok(with_tx!(self, c => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(request_id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        }))
    }

    /// Claims one due timer for this transaction: the row stays locked (PostgreSQL, `SKIP
    /// LOCKED` for other instances) or the database stays reserved (SQLite) until commit; the
    /// caller handles it and calls [`Tx::finish_timer`] before committing, so a timer fires once.
    pub async fn claim_due_timer(&mut self, now: DateTime<Utc>) -> Result<Option<Timer>> {
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "SELECT id, kind, request_id, ref_id, due_at, occurrence_id FROM timers
             WHERE status = 'pending' AND due_at <= $1 ORDER BY due_at, id LIMIT 1{lock}"
        );
        let row: Option<TimerRow> = with_tx!(self, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(ts(now)).fetch_optional(&mut *c).await?
        });
        Ok(row.map(|r| Timer {
            id: r.0,
            kind: r.1.parse(),
            request_id: r.2,
            ref_id: r.3,
            due_at: from_ts(r.4),
            occurrence_id: r.5,
        }))
    }

    pub async fn finish_timer(&mut self, timer_id: i64, now: DateTime<Utc>) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query(
                "UPDATE timers SET status = 'done', fired_at = $1, attempts = attempts + 1 WHERE id = $2",
            )
            .bind(ts(now))
            .bind(timer_id)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// A timer whose handler failed: one more attempt counted, due again at `retry_at`, or
    /// `failed` (never retried) once `max_attempts` is reached.
    pub async fn defer_failed_timer(
        &mut self,
        timer_id: i64,
        retry_at: DateTime<Utc>,
        max_attempts: i64,
    ) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query(
                "UPDATE timers SET attempts = attempts + 1, due_at = $1,
                        status = CASE WHEN attempts + 1 >= $2 THEN 'failed' ELSE status END
                 WHERE id = $3 AND status = 'pending'",
            )
            .bind(ts(retry_at))
            .bind(max_attempts)
            .bind(timer_id)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }
}

impl Store {
    /// Pending timers of a request: (kind, due_at), earliest first.
    pub async fn pending_timers(&self, request_id: i64) -> Result<Vec<(String, DateTime<Utc>)>> {
        let rows: Vec<(String, i64)> = with_pool!(self, p => {
            sqlx::query_as(
                "SELECT kind, due_at FROM timers WHERE request_id = $1 AND status = 'pending'
                 ORDER BY due_at, id",
            )
            .bind(request_id)
            .fetch_all(p)
            .await?
        });
        Ok(rows.into_iter().map(|(k, d)| (k, from_ts(d))).collect())
    }
}
