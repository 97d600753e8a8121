//! The `evaluations` table: the requester's mark and comment.

use chrono::{DateTime, Utc};

use super::{Result, Store, Tx, ts};
use crate::{with_pool, with_tx};

impl Tx {
    /// The requester's evaluation, stored and audited (whatever channel it came from).
    pub async fn record_evaluation(
        &mut self,
        request_id: i64,
        score: i64,
        comment: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let comment = comment.map(str::trim).filter(|c| !c.is_empty());
        self.upsert_evaluation(request_id, score, comment, now)
            .await?;
        self.audit(
            now,
            "requester",
            Some(request_id),
            "evaluation",
            Some(&score.to_string()),
        )
        .await
    }

    /// Stores the requester's evaluation (one per request; a second one replaces the first).
    pub async fn upsert_evaluation(
        &mut self,
        request_id: i64,
        score: i64,
        comment: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query(
                "INSERT INTO evaluations (request_id, score, comment, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (request_id) DO UPDATE SET score = excluded.score, comment = excluded.comment,
                    created_at = excluded.created_at",
            )
            .bind(request_id)
            .bind(score)
            .bind(comment)
            .bind(ts(now))
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }
}

impl Store {
    /// The stored evaluation of a request: (score, comment).
    pub async fn evaluation(&self, request_id: i64) -> Result<Option<(i64, Option<String>)>> {
        Ok(with_pool!(self, p => {
            sqlx::query_as("SELECT score, comment FROM evaluations WHERE request_id = $1")
                .bind(request_id)
                .fetch_optional(p)
                .await?
        }))
    }
}
