//! Corrections kept to measure the extractor on real traffic: a text (personal data already
//! removed by [`crate::extract::corrections::pair`]) with the fields as a person corrected them.
//! Kept for `retention.raw_days` (removed by [`Store::purge`]); read by
//! `connecting parse --eval-corrections`.

use chrono::{DateTime, Utc};

use super::{Result, Store, StoreError, Tx, db_text, from_ts, ts};
use crate::domain::Channel;
use crate::extract::corrections::CorrectionPair;
use crate::extract::eval::Case;
use crate::{with_pool, with_tx};

/// Who made a correction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrectionSource {
    /// An operator's Modifica in the bot's summary.
    BotEdit,
    /// A follow-up e-mail or message that changed a field.
    FollowUp,
    /// A coordinator.
    Coordinator,
}

impl CorrectionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            CorrectionSource::BotEdit => "bot_edit",
            CorrectionSource::FollowUp => "follow_up",
            CorrectionSource::Coordinator => "coordinator",
        }
    }
}

/// A kept correction.
#[derive(Debug, Clone, PartialEq)]
pub struct Correction {
    pub id: i64,
    pub request_id: Option<i64>,
    pub source: String,
    pub channel: String,
    pub read_at: DateTime<Utc>,
    pub text: String,
    pub expected: serde_json::Value,
    pub corrected: Vec<String>,
    pub created_at: DateTime<Utc>,
}

impl Correction {
    /// The correction as a labelled case for [`crate::extract::eval::evaluate`] (the text is
    /// the one the extractor read, already prepared).
    pub fn as_case(&self) -> Option<Case> {
        let meta = serde_json::json!({
            "now": self.read_at.to_rfc3339(),
            "channel": self.channel,
            "prepared": true,
            "expected": self.expected,
        });
        Case::from_meta(&format!("correction {}", self.id), &meta, self.text.clone()).ok()
    }
}

type Row = (
    i64,
    Option<i64>,
    String,
    String,
    i64,
    String,
    String,
    String,
    i64,
);

fn from_row(r: Row) -> Result<Correction> {
    let (id, request_id, source, channel, read_at, text, expected, corrected, created_at) = r;
    let expected = serde_json::from_str(&expected)
        .map_err(|e| StoreError::Corrupt(format!("correction {id} expected: {e}")))?;
    let corrected = serde_json::from_str(&corrected)
        .map_err(|e| StoreError::Corrupt(format!("correction {id} corrected: {e}")))?;
    Ok(Correction {
        id,
        request_id,
        source,
        channel,
        read_at: from_ts(read_at),
        text,
        expected,
        corrected,
        created_at: from_ts(created_at),
    })
}

fn channel_name(c: Channel) -> &'static str {
    match c {
        Channel::Email => "email",
        Channel::Telegram => "telegram",
        _ => "cli",
    }
}

impl Tx {
    /// The raw bytes of the first message that made a request (the text a correction of it is
    /// about), if not yet purged.
    pub async fn first_inbound_raw(&mut self, request_id: i64) -> Result<Option<Vec<u8>>> {
        let raw: Option<Option<Vec<u8>>> = with_tx!(self, c => {
            sqlx::query_scalar(
                "SELECT raw FROM inbound_messages WHERE request_id = $1 ORDER BY id LIMIT 1",
            )
            .bind(request_id)
            .fetch_optional(&mut *c)
            .await?
        });
        Ok(raw.flatten())
    }

    /// Keeps a correction, in the transaction that applies it.
    pub async fn record_correction(
        &mut self,
        request_id: Option<i64>,
        source: CorrectionSource,
        p: &CorrectionPair,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let expected = p.expected.to_string();
        let corrected = serde_json::Value::from(p.corrected.clone()).to_string();
        let id: i64 = with_tx!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO corrections (request_id, source, channel, read_at, text, expected, corrected, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(request_id)
            .bind(source.as_str())
            .bind(channel_name(p.channel))
            .bind(ts(p.read_at))
            .bind(db_text(&p.text))
            .bind(&expected)
            .bind(&corrected)
            .bind(ts(now))
            .fetch_one(&mut *c)
            .await?
        });
        Ok(id)
    }

    /// Removes corrections kept before `before` (retention).
    pub async fn purge_corrections(&mut self, before: DateTime<Utc>) -> Result<u64> {
        let n = with_tx!(self, c => {
            sqlx::query("DELETE FROM corrections WHERE created_at < $1")
                .bind(ts(before))
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        Ok(n)
    }
}

impl Store {
    /// Keeps a correction in its own transaction.
    pub async fn record_correction(
        &self,
        request_id: Option<i64>,
        source: CorrectionSource,
        p: &CorrectionPair,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id = tx.record_correction(request_id, source, p, now).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Every kept correction, oldest first.
    pub async fn corrections(&self) -> Result<Vec<Correction>> {
        let rows: Vec<Row> = with_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, request_id, source, channel, read_at, text, expected, corrected, created_at
                 FROM corrections ORDER BY id",
            )
            .fetch_all(p)
            .await?
        });
        rows.into_iter().map(from_row).collect()
    }
}
