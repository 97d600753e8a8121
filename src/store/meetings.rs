//! Each meeting of a series followed up on its own (migration 0180): its reminders and the
//! question after it are timers of that meeting (`timers.occurrence_id`, `ref_id` the mediator
//! who held it when they were scheduled), and what happened is recorded on the meeting
//! (`occurrences.outcome`, `worked_minutes`, `no_show`, who said so and when).

use chrono::{DateTime, Utc};

use super::{Result, Tx, ts};
use crate::domain::{NoShow, TimerKind};
use crate::with_tx;

impl Tx {
    /// A timer of meeting `occurrence_id` of request `request_id`, held by `mediator_id`.
    pub async fn schedule_meeting_timer(
        &mut self,
        kind: TimerKind,
        request_id: i64,
        occurrence_id: i64,
        mediator_id: i64,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        Ok(with_tx!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO timers (kind, request_id, ref_id, due_at, status, attempts, created_at, occurrence_id)
                 VALUES ($1, $2, $3, $4, 'pending', 0, $5, $6) RETURNING id",
            )
            .bind(kind.as_str())
            .bind(request_id)
            .bind(mediator_id)
            .bind(ts(due_at))
            .bind(ts(now))
            .bind(occurrence_id)
            .fetch_one(&mut *c)
            .await?
        }))
    }

    /// Cancels every pending reminder and after-the-end timer of the meetings of request
    /// `request_id` (they are written again from the meetings as they are now); a question
    /// about moved meetings stays open.
    pub async fn cancel_meeting_timers(&mut self, request_id: i64) -> Result<u64> {
        Ok(with_tx!(self, c => {
            sqlx::query(
                "UPDATE timers SET status = 'cancelled'
                 WHERE request_id = $1 AND occurrence_id IS NOT NULL AND status = 'pending'
                   AND kind <> 'meetings_answer'",
            )
            .bind(request_id)
            .execute(&mut *c)
            .await?
            .rows_affected()
        }))
    }

    /// Records what happened at meeting `occurrence_id`. `first` (its mediator answering):
    /// only while nothing is recorded yet, so a second press changes nothing; otherwise (a
    /// coordinator) it replaces what was recorded. Minutes and who did not come are kept when
    /// not given again. Returns whether it did.
    #[allow(clippy::too_many_arguments)]
    pub async fn record_meeting(
        &mut self,
        occurrence_id: i64,
        done: bool,
        worked_minutes: Option<i64>,
        no_show: Option<NoShow>,
        by: &str,
        first: bool,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query(
                "UPDATE occurrences SET outcome = $1,
                        worked_minutes = CASE WHEN $1 = 'done' THEN COALESCE($2, worked_minutes) ELSE NULL END,
                        no_show = CASE WHEN $1 = 'done' THEN NULL ELSE COALESCE($3, no_show) END,
                        outcome_by = $4, outcome_at = $5
                 WHERE id = $6 AND status <> 'cancelled' AND ($7 = 0 OR outcome IS NULL)",
            )
            .bind(if done { "done" } else { "not_done" })
            .bind(worked_minutes)
            .bind(no_show.map(|w| w.as_str()))
            .bind(by)
            .bind(ts(now))
            .bind(occurrence_id)
            .bind(i64::from(first))
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// The minutes worked at done meeting `occurrence_id`, or who did not come to a meeting
    /// that did not take place (after the first answer, from the buttons that follow it).
    pub async fn complete_meeting(
        &mut self,
        occurrence_id: i64,
        worked_minutes: Option<i64>,
        no_show: Option<NoShow>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query(
                "UPDATE occurrences SET worked_minutes = COALESCE($1, worked_minutes),
                        no_show = COALESCE($2, no_show), outcome_at = $3
                 WHERE id = $4 AND outcome IS NOT NULL
                   AND (($1 IS NOT NULL AND outcome = 'done') OR ($2 IS NOT NULL AND outcome = 'not_done'))",
            )
            .bind(worked_minutes)
            .bind(no_show.map(|w| w.as_str()))
            .bind(ts(now))
            .bind(occurrence_id)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// The request meeting `occurrence_id` belongs to.
    pub async fn meeting_request(&mut self, occurrence_id: i64) -> Result<Option<i64>> {
        Ok(with_tx!(self, c => {
            sqlx::query_scalar("SELECT request_id FROM occurrences WHERE id = $1")
                .bind(occurrence_id)
                .fetch_optional(&mut *c)
                .await?
        }))
    }

    /// Meeting `occurrence_id` waits for its mediator's answer to its new time (`timer_id`),
    /// replacing any earlier question about it.
    pub async fn set_meeting_question(&mut self, occurrence_id: i64, timer_id: i64) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("UPDATE occurrences SET question_timer_id = $1 WHERE id = $2")
                .bind(timer_id)
                .bind(occurrence_id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// The meetings still waiting for the answer of `timer_id`, which no longer wait (the
    /// answer came, or its time ran out).
    pub async fn take_meeting_question(&mut self, timer_id: i64) -> Result<Vec<i64>> {
        Ok(with_tx!(self, c => {
            sqlx::query_scalar(
                "UPDATE occurrences SET question_timer_id = NULL
                 WHERE question_timer_id = $1 AND status <> 'cancelled' RETURNING id",
            )
            .bind(timer_id)
            .fetch_all(&mut *c)
            .await?
        }))
    }
}
