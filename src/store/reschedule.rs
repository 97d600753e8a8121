//! What rescheduling and the unfilled notice keep on a request: the new date and time (with
//! the late flag), a new round of offers after the request went back to the queue, a timer
//! read by id and finished once, and the requests whose requester must hear that nobody is
//! confirmed yet.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use super::{Request, Result, Store, StoreError, Timer, Tx, from_ts, ts};
use crate::domain::TimerKind;
use crate::{with_pool, with_tx};

/// A request's new appointment time, computed by the caller (local date and time, and the
/// UTC instants of start and end).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTime {
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub duration_minutes: Option<i64>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
}

type TimerRow = (i64, String, Option<i64>, Option<i64>, i64, Option<i64>);

impl Tx {
    /// Moves request `id` to `t`; `late` sets the late-change flag (never clears it). The
    /// unfilled notice may be sent again for the new time.
    pub async fn set_appointment_time(
        &mut self,
        id: i64,
        t: &NewTime,
        late: bool,
        now: DateTime<Utc>,
    ) -> Result<Request> {
        let n = with_tx!(self, c => {
            sqlx::query(
                "UPDATE requests SET date = $1, start_time = $2, duration_minutes = $3,
                    starts_at = $4, ends_at = $5, late_change = (late_change OR $6),
                    unfilled_notice_at = NULL, updated_at = $7
                 WHERE id = $8",
            )
            .bind(t.date.to_string())
            .bind(t.start.format("%H:%M").to_string())
            .bind(t.duration_minutes)
            .bind(ts(t.starts_at))
            .bind(t.ends_at.map(ts))
            .bind(late)
            .bind(ts(now))
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("request {id}")));
        }
        self.request_by_id(id).await
    }

    /// Offers of request `id` count from the next wave on: whoever was asked for the old
    /// time may be asked again (the mediator who left stays out: [`Tx::offered_mediators`]).
    pub async fn new_offer_round(&mut self, id: i64) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query(
                "UPDATE requests SET offers_from_wave =
                    (SELECT COALESCE(MAX(wave), 0) FROM offers WHERE request_id = $1)
                 WHERE id = $1",
            )
            .bind(id)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// The request's pending timer of `kind`, if any (the newest).
    pub async fn pending_timer(
        &mut self,
        request_id: i64,
        kind: TimerKind,
    ) -> Result<Option<Timer>> {
        let row: Option<TimerRow> = with_tx!(self, c => {
            sqlx::query_as(
                "SELECT id, kind, request_id, ref_id, due_at, occurrence_id FROM timers
                 WHERE request_id = $1 AND kind = $2 AND status = 'pending' ORDER BY id DESC LIMIT 1",
            )
            .bind(request_id)
            .bind(kind.as_str())
            .fetch_optional(&mut *c)
            .await?
        });
        Ok(row.map(timer_from))
    }

    /// Timer `id` while it is pending, else `None`.
    pub async fn pending_timer_by_id(&mut self, id: i64) -> Result<Option<Timer>> {
        let row: Option<TimerRow> = with_tx!(self, c => {
            sqlx::query_as(
                "SELECT id, kind, request_id, ref_id, due_at, occurrence_id FROM timers
                 WHERE id = $1 AND status = 'pending'",
            )
            .bind(id)
            .fetch_optional(&mut *c)
            .await?
        });
        Ok(row.map(timer_from))
    }

    /// Finishes timer `id` if it is still pending (one conditional update: an answer and the
    /// timer's expiry never both count). Returns whether it did.
    pub async fn finish_pending_timer(&mut self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query(
                "UPDATE timers SET status = 'done', fired_at = $1 WHERE id = $2 AND status = 'pending'",
            )
            .bind(ts(now))
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// The request has no mediator going any more (its assignment was released).
    pub async fn clear_assigned_mediator(&mut self, id: i64) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("UPDATE requests SET assigned_mediator_id = NULL WHERE id = $1")
                .bind(id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Marks that request `id`'s requester was told nobody is confirmed; false when they were
    /// already (so the notice goes once).
    pub async fn mark_unfilled_notice(&mut self, id: i64, now: DateTime<Utc>) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query(
                "UPDATE requests SET unfilled_notice_at = $1 WHERE id = $2 AND unfilled_notice_at IS NULL",
            )
            .bind(ts(now))
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }
}

fn timer_from(r: TimerRow) -> Timer {
    Timer {
        id: r.0,
        kind: r.1.parse(),
        request_id: r.2,
        ref_id: r.3,
        due_at: from_ts(r.4),
        occurrence_id: r.5,
    }
}

impl Store {
    /// Requests without a mediator whose appointment starts within `hours` (and has not
    /// started) and whose requester has not been told yet: ids, soonest first.
    pub async fn unfilled_due(&self, now: DateTime<Utc>, hours: i64) -> Result<Vec<i64>> {
        let until = now + chrono::Duration::hours(hours);
        Ok(with_pool!(self, p => {
            sqlx::query_scalar(
                "SELECT id FROM requests
                 WHERE unfilled_notice_at IS NULL AND starts_at > $1 AND starts_at <= $2
                   AND status IN ('needs_info', 'queued', 'offered', 'escalated')
                 ORDER BY starts_at, id",
            )
            .bind(ts(now))
            .bind(ts(until))
            .fetch_all(p)
            .await?
        }))
    }
}
