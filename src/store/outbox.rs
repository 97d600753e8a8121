//! Writing to the outbox: a message for a person becomes a row in the same transaction as the
//! change that caused it. Delivery (claiming, retrying) lives in `crate::outbox`.

use chrono::{DateTime, Utc};

use super::{Result, Store, StoreError, Tx, ts};
use crate::domain::payload::Payload;
use crate::{with_pool, with_tx};

/// One outbox row as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub id: i64,
    pub channel: String,
    pub idempotency_key: String,
    pub request_id: Option<i64>,
    pub payload: Payload,
    pub status: crate::domain::OutboxStatus,
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub last_error: Option<String>,
    pub external_id: Option<String>,
}

/// Which due rows go out first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// Bulk work: offers, acknowledgements, reminders, alerts.
    Normal = 0,
    /// The answer to someone using the bot right now: it must not wait behind a burst.
    Interactive = 1,
}

/// Idempotency keys that start with this hold a credential (a console log-in link): the row's
/// text is forgotten (replaced by the retention's purged marker) as soon as it is delivered or
/// given up, so the database never keeps a usable link.
pub const FORGOTTEN_WHEN_SENT: &str = "forget:";

/// What a purged row's payload is replaced with (by retention, or at delivery for
/// [`FORGOTTEN_WHEN_SENT`] rows); listings leave such rows out.
pub(crate) const PURGED_PAYLOAD: &str = r#"{"channel":"purged"}"#;

/// The payload a row keeps once delivered or given up: its own, or the purged marker for a
/// [`FORGOTTEN_WHEN_SENT`] row (an SQL expression for `UPDATE outbox SET payload = ...`).
pub(crate) fn kept_payload_sql() -> String {
    format!(
        "CASE WHEN idempotency_key LIKE '{FORGOTTEN_WHEN_SENT}%' THEN '{PURGED_PAYLOAD}' ELSE payload END"
    )
}

impl Tx {
    /// Queues a message. The idempotency key makes a repeated enqueue of the same message (a
    /// retried transaction, a re-processed email) a no-op: the existing row's id is returned.
    pub async fn enqueue(
        &mut self,
        idempotency_key: &str,
        request_id: Option<i64>,
        payload: &Payload,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        self.enqueue_with(idempotency_key, request_id, payload, now, Priority::Normal)
            .await
    }

    /// [`Tx::enqueue`] with a priority: due rows go out interactive first.
    pub async fn enqueue_with(
        &mut self,
        idempotency_key: &str,
        request_id: Option<i64>,
        payload: &Payload,
        now: DateTime<Utc>,
        priority: Priority,
    ) -> Result<i64> {
        // Every email we send carries our mark in its Message-ID ([`super::mark`]): marked
        // here, where every writer passes, so none can forget it.
        let marked;
        let payload = match payload {
            Payload::Email(e) => {
                let key = self.mark_key().await?;
                let mut e = e.clone();
                e.message_id = key.mark(&e.message_id);
                marked = Payload::Email(e);
                &marked
            }
            other => other,
        };
        let (channel, recipient) = match payload {
            Payload::Telegram(_) => ("telegram", None),
            Payload::Email(e) => ("email", Some(e.recipient_key())),
        };
        let json =
            serde_json::to_string(payload).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let inserted: Option<i64> = with_tx!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO outbox (channel, idempotency_key, request_id, payload, status, attempts,
                                     next_attempt_at, created_at, priority, recipient)
                 VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5, $6, $7)
                 ON CONFLICT (idempotency_key) DO NOTHING RETURNING id",
            )
            .bind(channel)
            .bind(idempotency_key)
            .bind(request_id)
            .bind(json)
            .bind(ts(now))
            .bind(priority as i64)
            .bind(recipient)
            .fetch_optional(&mut *c)
            .await?
        });
        match inserted {
            Some(id) => Ok(id),
            None => with_tx!(self, c => {
                Ok(sqlx::query_scalar("SELECT id FROM outbox WHERE idempotency_key = $1")
                    .bind(idempotency_key)
                    .fetch_one(&mut *c)
                    .await?)
            }),
        }
    }
}

impl Tx {
    /// How many automatic replies the email intake has queued for a request (idempotency keys
    /// `email:<kind>:<inbound id>`), whatever became of them.
    pub async fn email_replies_for_request(&mut self, request_id: i64) -> Result<i64> {
        with_tx!(self, c => {
            Ok(sqlx::query_scalar(
                "SELECT COUNT(*) FROM outbox WHERE request_id = $1 AND idempotency_key LIKE 'email:%'",
            )
            .bind(request_id)
            .fetch_one(&mut *c)
            .await?)
        })
    }
}

impl Tx {
    /// Marks an email row as the answer to a registered operator's own (human-written) mail:
    /// the per-recipient cap of automatic mails, which is there to stop loops, never holds it
    /// back and does not count it.
    pub async fn exempt_from_email_cap(&mut self, outbox_id: i64) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("UPDATE outbox SET cap_exempt = 1 WHERE id = $1")
                .bind(outbox_id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }
}

impl Store {
    /// Which of these outbox rows are exempt from the per-recipient cap
    /// ([`Tx::exempt_from_email_cap`]).
    pub async fn cap_exempt_among(&self, ids: &[i64]) -> Result<std::collections::HashSet<i64>> {
        let mut out = std::collections::HashSet::new();
        for chunk in ids.chunks(200) {
            let list = chunk
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(",");
            let sql = format!("SELECT id FROM outbox WHERE cap_exempt = 1 AND id IN ({list})");
            let rows: Vec<i64> = with_pool!(self, p => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_all(p).await?
            });
            out.extend(rows);
        }
        Ok(out)
    }

    /// Rows of the outbox for one request, oldest first (tests, the coordinator's view).
    pub async fn outbox_for_request(&self, request_id: i64) -> Result<Vec<OutboxRow>> {
        self.outbox_where("request_id = $1", Some(request_id)).await
    }

    /// Every row of the outbox, oldest first.
    pub async fn outbox_all(&self) -> Result<Vec<OutboxRow>> {
        self.outbox_where("$1 IS NULL OR id = $1", None).await
    }

    /// Dead letters (messages given up on), oldest first: what a coordinator looks at.
    pub async fn outbox_dead(&self) -> Result<Vec<OutboxRow>> {
        self.outbox_where("status = 'dead' AND ($1 IS NULL OR id = $1)", None)
            .await
    }

    /// Puts a dead letter back in the queue with a fresh set of attempts (after the cause was
    /// fixed: a full mailbox emptied, a blocked bot unblocked). `false` when `id` is not a dead
    /// letter.
    pub async fn requeue_dead(&self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let n = with_pool!(self, p => {
            sqlx::query(
                "UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = $2
                 WHERE id = $1 AND status = 'dead'",
            )
            .bind(id)
            .bind(ts(now))
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    async fn outbox_where(&self, cond: &str, arg: Option<i64>) -> Result<Vec<OutboxRow>> {
        type Row = (
            i64,
            String,
            String,
            Option<i64>,
            String,
            String,
            i64,
            i64,
            Option<String>,
            Option<String>,
        );
        let sql = format!(
            "SELECT id, channel, idempotency_key, request_id, payload, status, attempts, next_attempt_at,
                    last_error, external_id FROM outbox
             WHERE ({cond}) AND payload <> '{PURGED_PAYLOAD}' ORDER BY id"
        );
        let rows: Vec<Row> = with_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(arg).fetch_all(p).await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(OutboxRow {
                    payload: serde_json::from_str(&r.4)
                        .map_err(|e| StoreError::Corrupt(format!("outbox {}: {e}", r.0)))?,
                    id: r.0,
                    channel: r.1,
                    idempotency_key: r.2,
                    request_id: r.3,
                    status: super::states::parsed(&r.5)?,
                    attempts: r.6,
                    next_attempt_at: r.7,
                    last_error: r.8,
                    external_id: r.9,
                })
            })
            .collect()
    }

    /// Emails delivered to `recipient` (see [`crate::domain::payload::EmailPayload::recipient_key`])
    /// since `since`: how many, and when the first of them went (Unix seconds).
    pub async fn emails_sent_to(
        &self,
        recipient: &str,
        since: DateTime<Utc>,
    ) -> Result<(i64, Option<i64>)> {
        Ok(with_pool!(self, p => {
            sqlx::query_as(
                "SELECT COUNT(*), MIN(sent_at) FROM outbox
                 WHERE recipient = $1 AND status = 'sent' AND sent_at >= $2 AND cap_exempt = 0",
            )
            .bind(recipient)
            .bind(ts(since))
            .fetch_one(p)
            .await?
        }))
    }

    /// Pending rows and the age in seconds of the oldest one (health, metrics).
    pub async fn outbox_depth(&self, now: DateTime<Utc>) -> Result<(i64, Option<i64>)> {
        let (n, oldest): (i64, Option<i64>) = with_pool!(self, p => {
            sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM outbox WHERE status = 'pending'")
                .fetch_one(p)
                .await?
        });
        Ok((n, oldest.map(|o| ts(now) - o)))
    }
}
