//! The outbox worker's side of the `outbox` table: claiming due rows (leased, `SKIP LOCKED` on
//! PostgreSQL), marking them sent, for retry or dead, dropping one not sent yet.

use chrono::{DateTime, Utc};

use super::states::parsed;
use super::{Backend, Result, Store, StoreError, Tx, ts};
use crate::domain::OutboxStatus;
use crate::domain::payload::Payload;
use crate::with_tx;

/// An outbox row claimed for delivery (status `sending`, leased until `lease_until`).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedMessage {
    pub id: i64,
    pub idempotency_key: String,
    pub request_id: Option<i64>,
    pub payload: Payload,
    /// Attempts including this one; also the fence that marks must match.
    pub attempt: i64,
}

impl Tx {
    /// An outbox row's status and the channel's id for what it delivered.
    pub async fn outbox_state(&mut self, outbox_id: i64) -> Result<(OutboxStatus, Option<String>)> {
        let row: Option<(String, Option<String>)> = with_tx!(self, c => {
            sqlx::query_as("SELECT status, external_id FROM outbox WHERE id = $1")
                .bind(outbox_id)
                .fetch_optional(&mut *c)
                .await?
        });
        let (status, external) =
            row.ok_or_else(|| StoreError::NotFound(format!("outbox {outbox_id}")))?;
        Ok((parsed(&status)?, external))
    }

    /// Drops a message that has not started sending (an offer withdrawn before it went out).
    pub async fn cancel_pending_outbox(&mut self, outbox_id: i64) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query("UPDATE outbox SET status = 'cancelled' WHERE id = $1 AND status = 'pending'")
                .bind(outbox_id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// Marks a claimed row sent; false if the claim was lost (the lease passed and another
    /// worker took the row).
    pub async fn mark_outbox_sent(
        &mut self,
        id: i64,
        attempt: i64,
        external_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE outbox SET status = 'sent', sent_at = $1, external_id = $2, last_error = NULL,
                        payload = {}
                 WHERE id = $3 AND status = 'sending' AND attempts = $4",
                super::outbox::kept_payload_sql()
            )))
            .bind(ts(now))
            .bind(external_id)
            .bind(id)
            .bind(attempt)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Puts a claimed row back to `pending` for another attempt at `at`.
    pub async fn mark_outbox_retry(
        &mut self,
        id: i64,
        attempt: i64,
        at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query(
                "UPDATE outbox SET status = 'pending', next_attempt_at = $1, last_error = $2
                 WHERE id = $3 AND status = 'sending' AND attempts = $4",
            )
            .bind(ts(at))
            .bind(error)
            .bind(id)
            .bind(attempt)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Dead-letters a claimed row.
    pub async fn mark_outbox_dead(
        &mut self,
        id: i64,
        attempt: i64,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE outbox SET status = 'dead', next_attempt_at = $1, last_error = $2,
                        payload = {}
                 WHERE id = $3 AND status = 'sending' AND attempts = $4",
                super::outbox::kept_payload_sql()
            )))
            .bind(ts(now))
            .bind(error)
            .bind(id)
            .bind(attempt)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }
}

impl Store {
    /// Claims up to `limit` due outbox rows for delivery: each becomes `sending` with its
    /// attempt counted and a lease until `lease_until` (a row whose worker died is claimable
    /// again once the lease passes). Committed before any delivery starts, so no lock is held
    /// across the network.
    pub async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedMessage>> {
        let mut tx = self.begin().await?;
        let lock = match tx.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = $2
             WHERE id IN (SELECT id FROM outbox WHERE status IN ('pending', 'sending')
                          AND next_attempt_at <= $1 ORDER BY priority DESC, next_attempt_at, id
                          LIMIT $3{lock})
             RETURNING id, idempotency_key, request_id, payload, attempts"
        );
        let rows: Vec<(i64, String, Option<i64>, String, i64)> = with_tx!(tx, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(ts(now))
                .bind(ts(lease_until))
                .bind(limit)
                .fetch_all(&mut *c)
                .await?
        });
        tx.commit().await?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, key, request_id, payload, attempt) in rows {
            match serde_json::from_str::<Payload>(&payload) {
                Ok(payload) => out.push(ClaimedMessage {
                    id,
                    idempotency_key: key,
                    request_id,
                    payload,
                    attempt,
                }),
                Err(e) => {
                    // A row that cannot be read will never be sent: dead letter it at once.
                    self.mark_outbox_dead(id, attempt, &format!("unreadable payload: {e}"), now)
                        .await?;
                }
            }
        }
        out.sort_by_key(|m| m.id);
        Ok(out)
    }

    /// Marks a claimed row sent in its own transaction (see [`Tx::mark_outbox_sent`]).
    pub async fn mark_outbox_sent(
        &self,
        id: i64,
        attempt: i64,
        external_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let ok = tx.mark_outbox_sent(id, attempt, external_id, now).await?;
        tx.commit().await?;
        Ok(ok)
    }

    /// Puts a claimed row back for a retry in its own transaction.
    pub async fn mark_outbox_retry(
        &self,
        id: i64,
        attempt: i64,
        at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let ok = tx.mark_outbox_retry(id, attempt, at, error).await?;
        tx.commit().await?;
        Ok(ok)
    }

    /// Dead-letters a claimed row in its own transaction.
    pub async fn mark_outbox_dead(
        &self,
        id: i64,
        attempt: i64,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let ok = tx.mark_outbox_dead(id, attempt, error, now).await?;
        tx.commit().await?;
        Ok(ok)
    }
}
