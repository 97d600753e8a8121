//! Store methods of the email channel: the IMAP cursor (in the foundation's `cursors` table),
//! inbound lookups for deduplication and quarantine, and request lookup by code inside a
//! transaction.

use chrono::{DateTime, Utc};

use super::{Inbound, Result, Store, Tx, ts};
use crate::domain::RequestCode;
use crate::domain::mailbox::Cursor;
use crate::{with_pool, with_tx};

fn cursor_name(mailbox_key: &str) -> String {
    format!("imap:{mailbox_key}")
}

fn parse_cursor(value: &str) -> Option<Cursor> {
    let (v, u) = value.split_once(':')?;
    Some(Cursor {
        uid_validity: v.parse().ok()?,
        last_uid: u.parse().ok()?,
    })
}

impl Tx {
    pub async fn imap_cursor(&mut self, mailbox_key: &str) -> Result<Option<Cursor>> {
        let v: Option<String> = with_tx!(self, c => {
            sqlx::query_scalar("SELECT value FROM cursors WHERE name = $1")
                .bind(cursor_name(mailbox_key))
                .fetch_optional(&mut *c)
                .await?
        });
        Ok(v.as_deref().and_then(parse_cursor))
    }

    /// Stores the cursor as given (a new UIDVALIDITY starts at `last_uid = 0`).
    pub async fn set_imap_cursor(
        &mut self,
        mailbox_key: &str,
        cursor: Cursor,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query(
                "INSERT INTO cursors (name, value, updated_at) VALUES ($1, $2, $3)
                 ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(cursor_name(mailbox_key))
            .bind(format!("{}:{}", cursor.uid_validity, cursor.last_uid))
            .bind(ts(now))
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// Moves the cursor forward to `uid` (never back) within the same UIDVALIDITY.
    pub async fn advance_imap_cursor(
        &mut self,
        mailbox_key: &str,
        uid_validity: u32,
        uid: u32,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let last = match self.imap_cursor(mailbox_key).await? {
            Some(c) if c.uid_validity == uid_validity => c.last_uid,
            _ => 0,
        };
        self.set_imap_cursor(
            mailbox_key,
            Cursor {
                uid_validity,
                last_uid: last.max(uid),
            },
            now,
        )
        .await
    }

    /// Id and status of an inbound message by channel + external id.
    pub async fn inbound_by_external_id(
        &mut self,
        channel: &str,
        external_id: &str,
    ) -> Result<Option<(i64, String)>> {
        let row: Option<(i64, String)> = with_tx!(self, c => {
            sqlx::query_as("SELECT id, status FROM inbound_messages WHERE channel = $1 AND external_id = $2")
                .bind(channel)
                .bind(external_id)
                .fetch_optional(&mut *c)
                .await?
        });
        Ok(row)
    }

    /// Rewrites the outcome of an inbound message (a quarantined one re-processed).
    pub async fn set_inbound_outcome(
        &mut self,
        id: i64,
        kind: &str,
        status: &str,
        error: Option<&str>,
        body: Option<&str>,
    ) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("UPDATE inbound_messages SET kind = $1, status = $2, error = $3, body = COALESCE($4, body) WHERE id = $5")
                .bind(kind)
                .bind(status)
                .bind(error)
                .bind(body)
                .bind(id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// The id of the request with this code, if any.
    pub async fn request_id_by_code(&mut self, code: RequestCode) -> Result<Option<i64>> {
        let id: Option<i64> = with_tx!(self, c => {
            sqlx::query_scalar("SELECT id FROM requests WHERE code = $1")
                .bind(code.to_string())
                .fetch_optional(&mut *c)
                .await?
        });
        Ok(id)
    }
}

impl Store {
    pub async fn imap_cursor(&self, mailbox_key: &str) -> Result<Option<Cursor>> {
        let v: Option<String> = with_pool!(self, p => {
            sqlx::query_scalar("SELECT value FROM cursors WHERE name = $1")
                .bind(cursor_name(mailbox_key))
                .fetch_optional(p)
                .await?
        });
        Ok(v.as_deref().and_then(parse_cursor))
    }

    /// One inbound message by id (without raw bytes).
    pub async fn inbound_by_id(&self, id: i64) -> Result<Option<Inbound>> {
        let row: Option<Inbound> = with_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, channel, external_id, request_id, kind, status, sender, subject, size_bytes,
                        error, received_at
                 FROM inbound_messages WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await?
        });
        Ok(row)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_text_round_trip() {
        assert_eq!(
            parse_cursor("17:42"),
            Some(Cursor {
                uid_validity: 17,
                last_uid: 42
            })
        );
        assert_eq!(parse_cursor("garbage"), None);
    }
}
