//! The `evaluations` table: the requester's mark and comment; `evaluation_scores`, the mark
//! on each of the cooperative's criteria; `evaluation_drafts`, a Telegram evaluation waiting
//! for its comment.

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

impl Tx {
    /// The marks on each criterion of a request (replacing earlier ones).
    pub async fn record_scores(&mut self, request_id: i64, scores: &[(String, i64)]) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("DELETE FROM evaluation_scores WHERE request_id = $1")
                .bind(request_id)
                .execute(&mut *c)
                .await?;
        });
        for (criterion, score) in scores {
            with_tx!(self, c => {
                sqlx::query(
                    "INSERT INTO evaluation_scores (request_id, criterion, score) VALUES ($1, $2, $3)",
                )
                .bind(request_id)
                .bind(criterion)
                .bind(*score)
                .execute(&mut *c)
                .await?;
            });
        }
        Ok(())
    }

    /// Keeps the marks of chat `chat_id`'s evaluation until its comment comes (one per chat).
    pub async fn put_evaluation_draft(
        &mut self,
        chat_id: i64,
        request_id: i64,
        scores: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query(
                "INSERT INTO evaluation_drafts (chat_id, request_id, scores, created_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (chat_id) DO UPDATE SET request_id = excluded.request_id,
                    scores = excluded.scores, created_at = excluded.created_at",
            )
            .bind(chat_id)
            .bind(request_id)
            .bind(scores)
            .bind(ts(now))
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// Takes chat `chat_id`'s evaluation waiting for a comment, made since `since`: (request,
    /// marks as digits). An older one is dropped.
    pub async fn take_evaluation_draft(
        &mut self,
        chat_id: i64,
        since: DateTime<Utc>,
    ) -> Result<Option<(i64, String)>> {
        let row: Option<(i64, String, i64)> = with_tx!(self, c => {
            sqlx::query_as(
                "DELETE FROM evaluation_drafts WHERE chat_id = $1 RETURNING request_id, scores, created_at",
            )
            .bind(chat_id)
            .fetch_optional(&mut *c)
            .await?
        });
        Ok(row
            .filter(|r| r.2 >= ts(since))
            .map(|(request_id, scores, _)| (request_id, scores)))
    }
}

impl Store {
    /// The marks on each criterion of a request, in the order stored.
    pub async fn evaluation_scores(&self, request_id: i64) -> Result<Vec<(String, i64)>> {
        Ok(with_pool!(self, p => {
            sqlx::query_as(
                "SELECT criterion, score FROM evaluation_scores WHERE request_id = $1 ORDER BY criterion",
            )
            .bind(request_id)
            .fetch_all(p)
            .await?
        }))
    }

    /// Whether chat `chat_id` has an evaluation waiting for its comment.
    pub async fn has_evaluation_draft(&self, chat_id: i64) -> Result<bool> {
        let n: i64 = with_pool!(self, p => {
            sqlx::query_scalar("SELECT COUNT(*) FROM evaluation_drafts WHERE chat_id = $1")
                .bind(chat_id)
                .fetch_one(p)
                .await?
        });
        Ok(n > 0)
    }

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
