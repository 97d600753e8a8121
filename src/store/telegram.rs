//! Store methods of the Telegram bot: dialogue state per chat (JSON in `dialogues`), failed
//! invite attempts (rate limit), offers as the bot needs them to authorise a press, and the
//! bot's own delivery of Telegram outbox rows (claim with a lease, mark sent/retry/dead).

use chrono::{DateTime, Utc};

use super::{Result, Store, Tx, ts};
use crate::domain::{AssignmentStatus, OfferState};
use crate::{with_pool, with_tx};

/// A chat's saved dialogue.
#[derive(Debug, Clone, PartialEq)]
pub struct DialogueRow {
    pub chat_id: i64,
    pub person_kind: String,
    pub person_id: i64,
    pub state: String,
}

/// An offer as the bot needs it to authorise a press.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OfferRef {
    pub id: i64,
    pub request_id: i64,
    pub mediator_id: i64,
    pub state: OfferState,
    pub telegram_message_id: Option<i64>,
}

impl Tx {
    pub async fn dialogue(&mut self, chat_id: i64) -> Result<Option<DialogueRow>> {
        let row: Option<(i64, String, i64, String)> = with_tx!(self, c => {
            sqlx::query_as("SELECT chat_id, person_kind, person_id, state FROM dialogues WHERE chat_id = $1")
                .bind(chat_id)
                .fetch_optional(&mut *c)
                .await?
        });
        Ok(row.map(|r| DialogueRow {
            chat_id: r.0,
            person_kind: r.1,
            person_id: r.2,
            state: r.3,
        }))
    }

    pub async fn save_dialogue(&mut self, d: &DialogueRow, now: DateTime<Utc>) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query(
                "INSERT INTO dialogues (chat_id, person_kind, person_id, state, updated_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (chat_id) DO UPDATE SET person_kind = excluded.person_kind,
                    person_id = excluded.person_id, state = excluded.state,
                    updated_at = excluded.updated_at",
            )
            .bind(d.chat_id)
            .bind(&d.person_kind)
            .bind(d.person_id)
            .bind(&d.state)
            .bind(ts(now))
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    pub async fn delete_dialogue(&mut self, chat_id: i64) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("DELETE FROM dialogues WHERE chat_id = $1")
                .bind(chat_id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Records a failed invite attempt and returns how many there were since `since`.
    pub async fn invite_attempt(
        &mut self,
        telegram_id: i64,
        now: DateTime<Utc>,
        since: DateTime<Utc>,
    ) -> Result<i64> {
        with_tx!(self, c => {
            sqlx::query("INSERT INTO telegram_invite_attempts (telegram_id, at) VALUES ($1, $2)")
                .bind(telegram_id)
                .bind(ts(now))
                .execute(&mut *c)
                .await?;
        });
        self.invite_attempts(telegram_id, since).await
    }

    pub async fn invite_attempts(&mut self, telegram_id: i64, since: DateTime<Utc>) -> Result<i64> {
        Ok(with_tx!(self, c => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM telegram_invite_attempts WHERE telegram_id = $1 AND at >= $2",
            )
            .bind(telegram_id)
            .bind(ts(since))
            .fetch_one(&mut *c)
            .await?
        }))
    }

    pub async fn offer_ref(&mut self, offer_id: i64) -> Result<Option<OfferRef>> {
        Ok(with_tx!(self, c => {
            sqlx::query_as(
                "SELECT id, request_id, mediator_id, state, telegram_message_id FROM offers WHERE id = $1",
            )
            .bind(offer_id)
            .fetch_optional(&mut *c)
            .await?
        }))
    }

    /// Sets a mediator's pause flag (inside the update's transaction).
    pub async fn set_paused(&mut self, mediator_id: i64, paused: bool) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("UPDATE mediators SET paused = $1 WHERE id = $2")
                .bind(paused)
                .bind(mediator_id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }
}

impl Tx {
    /// Why a mediator declined their own offer; `false` when the offer is not theirs or was not
    /// declined.
    pub async fn set_decline_reason(
        &mut self,
        offer_id: i64,
        mediator_id: i64,
        reason: &str,
    ) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query("UPDATE offers SET decline_reason = $1 WHERE id = $2 AND mediator_id = $3 AND state = 'declined'")
                .bind(reason)
                .bind(offer_id)
                .bind(mediator_id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    /// The hours a mediator actually worked on their own completed assignment; `false` when
    /// the assignment is not theirs or not marked done.
    pub async fn set_worked_minutes(
        &mut self,
        assignment_id: i64,
        mediator_id: i64,
        minutes: i64,
    ) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query("UPDATE assignments SET worked_minutes = $1 WHERE id = $2 AND mediator_id = $3 AND status = 'done'")
                .bind(minutes)
                .bind(assignment_id)
                .bind(mediator_id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }
}

impl Store {
    /// Failed invite attempts of a Telegram account since `since`.
    pub async fn telegram_invite_attempts(
        &self,
        telegram_id: i64,
        since: DateTime<Utc>,
    ) -> Result<i64> {
        Ok(with_pool!(self, p => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM telegram_invite_attempts WHERE telegram_id = $1 AND at >= $2",
            )
            .bind(telegram_id)
            .bind(ts(since))
            .fetch_one(p)
            .await?
        }))
    }
}

/// An assignment as the bot needs it to authorise [Svolto] / [Non svolto].
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AssignmentRef {
    pub id: i64,
    pub request_id: i64,
    pub mediator_id: i64,
    pub status: AssignmentStatus,
}

impl Tx {
    pub async fn assignment_ref(&mut self, id: i64) -> Result<Option<AssignmentRef>> {
        Ok(with_tx!(self, c => {
            sqlx::query_as("SELECT id, request_id, mediator_id, status FROM assignments WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *c)
                .await?
        }))
    }

    /// Records the outcome of an active assignment; false if it was no longer active.
    pub async fn set_assignment_outcome(
        &mut self,
        id: i64,
        done: bool,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query("UPDATE assignments SET status = $2, outcome_at = $3 WHERE id = $1 AND status = 'active'")
                .bind(id)
                .bind(if done {
                    AssignmentStatus::Done.as_str()
                } else {
                    AssignmentStatus::NotDone.as_str()
                })
                .bind(ts(now))
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }
}

impl Store {
    /// Whether an inbound message of `channel` with `external_id` is already recorded.
    pub async fn inbound_seen(&self, channel: &str, external_id: &str) -> Result<bool> {
        let n: i64 = with_pool!(self, p => {
            sqlx::query_scalar("SELECT COUNT(*) FROM inbound_messages WHERE channel = $1 AND external_id = $2")
                .bind(channel)
                .bind(external_id)
                .fetch_one(p)
                .await?
        });
        Ok(n > 0)
    }

    pub async fn offer_ref(&self, offer_id: i64) -> Result<Option<OfferRef>> {
        Ok(with_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, request_id, mediator_id, state, telegram_message_id FROM offers WHERE id = $1",
            )
            .bind(offer_id)
            .fetch_optional(p)
            .await?
        }))
    }

    pub async fn assignment_ref(&self, id: i64) -> Result<Option<AssignmentRef>> {
        Ok(with_pool!(self, p => {
            sqlx::query_as("SELECT id, request_id, mediator_id, status FROM assignments WHERE id = $1")
                .bind(id)
                .fetch_optional(p)
                .await?
        }))
    }
}

impl Tx {
    /// Inbound messages of `channel` from `sender` received since `since` (caps automatic
    /// replies to strangers).
    pub async fn inbound_from_since(
        &mut self,
        channel: &str,
        sender: &str,
        since: DateTime<Utc>,
    ) -> Result<i64> {
        Ok(with_tx!(self, c => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM inbound_messages WHERE channel = $1 AND sender = $2 AND received_at >= $3",
            )
            .bind(channel)
            .bind(sender)
            .bind(ts(since))
            .fetch_one(&mut *c)
            .await?
        }))
    }
}
