//! Inbound messages: every email and Telegram update we take in, recorded once per channel and
//! external id (Message-ID or content hash; update_id) before anything is acknowledged.

use chrono::{DateTime, Utc};

use super::{Result, Store, Tx, ts};
use crate::{with_pool, with_tx};

/// What a channel records about one incoming message.
#[derive(Debug, Clone, Default)]
pub struct NewInbound {
    pub channel: String,
    pub external_id: String,
    pub kind: String,
    pub status: String,
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub size_bytes: i64,
    pub raw: Option<Vec<u8>>,
    pub body: Option<String>,
    pub error: Option<String>,
}

/// A recorded inbound message (without raw bytes).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Inbound {
    pub id: i64,
    pub channel: String,
    pub external_id: String,
    pub request_id: Option<i64>,
    pub kind: String,
    pub status: String,
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub size_bytes: i64,
    pub error: Option<String>,
    pub received_at: i64,
}

impl Tx {
    /// Records a message; `Ok(None)` when the same channel + external id is already there (the
    /// first record is kept untouched).
    pub async fn record_inbound(
        &mut self,
        m: &NewInbound,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let m = &NewInbound {
            sender: super::db_opt(&m.sender),
            subject: super::db_opt(&m.subject),
            body: super::db_opt(&m.body),
            error: super::db_opt(&m.error),
            ..m.clone()
        };
        let id: Option<i64> = with_tx!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO inbound_messages (channel, external_id, kind, status, sender, subject,
                                               size_bytes, raw, body, error, received_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                 ON CONFLICT (channel, external_id) DO NOTHING RETURNING id",
            )
            .bind(&m.channel)
            .bind(&m.external_id)
            .bind(&m.kind)
            .bind(&m.status)
            .bind(&m.sender)
            .bind(&m.subject)
            .bind(m.size_bytes)
            .bind(&m.raw)
            .bind(&m.body)
            .bind(&m.error)
            .bind(ts(now))
            .fetch_optional(&mut *c)
            .await?
        });
        Ok(id)
    }

    /// Why an inbound message created no request or changed nothing (a code, see
    /// `channels::email::intake::Reason`); `None` clears it.
    pub async fn set_inbound_reason(
        &mut self,
        inbound_id: i64,
        reason: Option<&str>,
    ) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("UPDATE inbound_messages SET reason = $1 WHERE id = $2")
                .bind(reason)
                .bind(inbound_id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Links an inbound message to the request it created or changed.
    pub async fn link_inbound(&mut self, inbound_id: i64, request_id: i64) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("UPDATE inbound_messages SET request_id = $1 WHERE id = $2")
                .bind(request_id)
                .bind(inbound_id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// A message the core refused to act on (its sender may not change that request).
    pub async fn set_inbound_refused(&mut self, inbound_id: i64, reason: &str) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("UPDATE inbound_messages SET status = 'refused', reason = $1 WHERE id = $2")
                .bind(reason)
                .bind(inbound_id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// The first message of `channel` linked to request `request_id` (the one that opened it).
    pub async fn first_inbound_of(
        &mut self,
        channel: &str,
        request_id: i64,
    ) -> Result<Option<i64>> {
        Ok(with_tx!(self, c => {
            sqlx::query_scalar(
                "SELECT id FROM inbound_messages WHERE channel = $1 AND request_id = $2 ORDER BY id LIMIT 1",
            )
            .bind(channel)
            .bind(request_id)
            .fetch_optional(&mut *c)
            .await?
        }))
    }
}

/// An inbound message that created no request, or changed nothing (`connecting inbound list`).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SetAside {
    pub id: i64,
    pub channel: String,
    pub kind: String,
    pub status: String,
    pub reason: Option<String>,
    pub request_id: Option<i64>,
    pub sender: Option<String>,
    pub subject: Option<String>,
    pub error: Option<String>,
    pub received_at: i64,
}

impl Store {
    /// Inbound messages of `channel` that created no request or were not processed (held,
    /// refused, ignored, quarantined, oversized), oldest first; only those of `kind` if given.
    pub async fn set_aside(&self, channel: &str, kind: Option<&str>) -> Result<Vec<SetAside>> {
        let rows: Vec<SetAside> = with_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, channel, kind, status, reason, request_id, sender, subject, error, received_at
                 FROM inbound_messages
                 WHERE channel = $1 AND ($2 IS NULL OR kind = $2)
                   AND (status <> 'processed' OR request_id IS NULL)
                 ORDER BY id",
            )
            .bind(channel)
            .bind(kind)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// Records a message in its own transaction (see [`Tx::record_inbound`]).
    pub async fn record_inbound(&self, m: &NewInbound, now: DateTime<Utc>) -> Result<Option<i64>> {
        let mut tx = self.begin().await?;
        let id = tx.record_inbound(m, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Inbound messages of a channel, oldest first, optionally only those with `status`.
    pub async fn inbound(&self, channel: &str, status: Option<&str>) -> Result<Vec<Inbound>> {
        let rows: Vec<Inbound> = with_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, channel, external_id, request_id, kind, status, sender, subject, size_bytes,
                        error, received_at
                 FROM inbound_messages WHERE channel = $1 AND ($2 IS NULL OR status = $2) ORDER BY id",
            )
            .bind(channel)
            .bind(status)
            .fetch_all(p)
            .await?
        });
        Ok(rows)
    }

    /// The raw bytes of an inbound message, if not yet purged.
    pub async fn inbound_raw(&self, id: i64) -> Result<Option<Vec<u8>>> {
        let raw: Option<Option<Vec<u8>>> = with_pool!(self, p => {
            sqlx::query_scalar("SELECT raw FROM inbound_messages WHERE id = $1")
                .bind(id)
                .fetch_optional(p)
                .await?
        });
        Ok(raw.flatten())
    }
}
