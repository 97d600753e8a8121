//! Retention in the store: raw messages and bodies purged after `retention.raw_days`; closed
//! requests anonymised after `retention.closed_days`, keeping what the monthly reports need
//! (dates, language, Ambito, comune, type, hours, outcome, evaluation score).

use chrono::{DateTime, Utc};

use super::{Result, Store, ts};
use crate::{with_pool, with_tx};

/// What a purge touches (or would touch, in a dry run).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct PurgeCounts {
    /// Inbound messages whose raw bytes and body are removed.
    pub raw_messages: i64,
    /// Closed requests whose personal data is removed.
    pub requests_anonymised: i64,
    /// Dialogue states left idle past the raw retention.
    pub dialogues: i64,
    /// Sent or dead outbox rows past the raw retention (their text may hold personal data).
    pub outbox_rows: i64,
}

const CLOSED: &str = "('done', 'cancelled', 'expired')";

impl Store {
    /// Counts what [`Store::purge`] would remove, changing nothing.
    pub async fn purge_preview(
        &self,
        raw_before: DateTime<Utc>,
        closed_before: DateTime<Utc>,
    ) -> Result<PurgeCounts> {
        let (raw, dialogues, outbox): (i64, i64, i64) = with_pool!(self, p => {
            sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM inbound_messages WHERE received_at < $1 AND purged_at IS NULL AND (raw IS NOT NULL OR body IS NOT NULL)),
                        (SELECT COUNT(*) FROM dialogues WHERE updated_at < $1),
                        (SELECT COUNT(*) FROM outbox WHERE created_at < $1 AND status IN ('sent', 'dead'))",
            )
            .bind(ts(raw_before))
            .fetch_one(p)
            .await?
        });
        let sql = format!(
            "SELECT COUNT(*) FROM requests WHERE status IN {CLOSED} AND closed_at < $1 AND anonymised_at IS NULL"
        );
        let anon: i64 = with_pool!(self, p => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(ts(closed_before)).fetch_one(p).await?
        });
        Ok(PurgeCounts {
            raw_messages: raw,
            requests_anonymised: anon,
            dialogues,
            outbox_rows: outbox,
        })
    }

    /// Purges raw data older than `raw_before` and anonymises requests closed before
    /// `closed_before`, in one transaction, with an audit record per anonymised request.
    pub async fn purge(
        &self,
        raw_before: DateTime<Utc>,
        closed_before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<PurgeCounts> {
        let mut tx = self.begin().await?;
        let raw = with_tx!(tx, c => {
            sqlx::query(
                "UPDATE inbound_messages SET raw = NULL, body = NULL, sender = NULL, subject = NULL, purged_at = $2
                 WHERE received_at < $1 AND purged_at IS NULL",
            )
            .bind(ts(raw_before))
            .bind(ts(now))
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        let dialogues = with_tx!(tx, c => {
            sqlx::query("DELETE FROM dialogues WHERE updated_at < $1")
                .bind(ts(raw_before))
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        let outbox = with_tx!(tx, c => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE outbox SET payload = '{p}' WHERE created_at < $1 AND status IN ('sent', 'dead') AND payload <> '{p}'",
                p = super::outbox::PURGED_PAYLOAD
            )))
                .bind(ts(raw_before))
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        tx.purge_corrections(raw_before).await?;
        let sql = format!(
            "SELECT id FROM requests WHERE status IN {CLOSED} AND closed_at < $1 AND anonymised_at IS NULL"
        );
        let ids: Vec<i64> = with_tx!(tx, c => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(ts(closed_before)).fetch_all(&mut *c).await?
        });
        for id in &ids {
            with_tx!(tx, c => {
                sqlx::query(
                    "UPDATE requests SET requester_name = NULL, requester_email = NULL, requester_phone = NULL,
                        requester_chat_id = NULL, address = NULL, case_ref = NULL, notes = NULL, draft = NULL,
                        subject = NULL, source_message_id = NULL, anonymised_at = $2
                     WHERE id = $1",
                )
                .bind(id)
                .bind(ts(now))
                .execute(&mut *c)
                .await?;
                sqlx::query("UPDATE evaluations SET comment = NULL WHERE request_id = $1")
                    .bind(id)
                    .execute(&mut *c)
                    .await?;
            });
            tx.audit(now, "process:retention", Some(*id), "anonymised", None)
                .await?;
        }
        tx.commit().await?;
        Ok(PurgeCounts {
            raw_messages: i64::try_from(raw).unwrap_or(i64::MAX),
            requests_anonymised: i64::try_from(ids.len()).unwrap_or(i64::MAX),
            dialogues: i64::try_from(dialogues).unwrap_or(i64::MAX),
            outbox_rows: i64::try_from(outbox).unwrap_or(i64::MAX),
        })
    }
}
