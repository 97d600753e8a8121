//! Dispatch persistence: the roster facts matching needs, offers and their atomic acceptance,
//! assignments, durable timers claimed exactly once, outbox claiming and marking, outcomes,
//! evaluations and the rows behind the monthly report.
//!
//! Claiming: on PostgreSQL due rows are locked with `FOR UPDATE SKIP LOCKED`, so several
//! instances share the work without taking the same row; on SQLite every write transaction is
//! `BEGIN IMMEDIATE` (one writer at a time), which gives the same guarantee.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

use super::people::{MEDIATOR_COLS, MediatorRow};
use super::{Backend, Coordinator, Mediator, Result, Store, StoreError, Tx, from_ts, ts};
use crate::domain::busy::BusySlot;
use crate::domain::payload::Payload;
use crate::domain::{AssignmentStatus, OfferState, OutboxStatus, ParseError, TimerKind};
use crate::{with_pool, with_tx};

/// An offer as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub id: i64,
    pub request_id: i64,
    pub mediator_id: i64,
    pub wave: i64,
    pub state: OfferState,
    pub outbox_id: Option<i64>,
    pub expires_at: DateTime<Utc>,
}

/// A due timer, claimed by the transaction that holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timer {
    pub id: i64,
    /// What it is for; a kind this version does not know is kept as the error, so the timer
    /// that carries it fails (and is given up) without stopping the others.
    pub kind: std::result::Result<TimerKind, ParseError>,
    pub request_id: Option<i64>,
    pub ref_id: Option<i64>,
    pub due_at: DateTime<Utc>,
}

/// An outbox row claimed for delivery (status `sending`, leased until `lease_until`).
#[derive(Debug, Clone, PartialEq)]
pub struct ClaimedMessage {
    pub id: i64,
    pub idempotency_key: String,
    pub request_id: Option<i64>,
    pub payload: Payload,
    /// Attempts including this one; also the fence that marks must match.
    pub attempt: i64,
}

/// An assignment as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub id: i64,
    pub request_id: i64,
    pub mediator_id: i64,
    pub offer_id: Option<i64>,
    pub assigned_by: String,
    pub status: AssignmentStatus,
    pub worked_minutes: Option<i64>,
}

/// Facts about mediators that change with their work, for the roster.
#[derive(Debug, Clone, Default)]
pub struct WorkFacts {
    pub busy: HashMap<i64, Vec<BusySlot>>,
    pub minutes_last_30_days: HashMap<i64, u32>,
    /// mediator -> (offers received, offers accepted)
    pub offer_stats: HashMap<i64, (u32, u32)>,
    /// Mediators who served the given case reference before.
    pub continuity: Vec<i64>,
}

/// One request's facts for the monthly report.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportRecord {
    pub ambito: Option<String>,
    pub status: String,
    pub language: Option<String>,
    pub created_at: i64,
    pub assigned_at: Option<i64>,
    pub escalated_at: Option<i64>,
    pub late_cancellation: bool,
    /// Minutes of the assignment marked done (worked minutes, else the booked duration).
    pub done_minutes: Option<i64>,
    pub evaluation: Option<i64>,
}

type OfferRow = (i64, i64, i64, i64, String, Option<i64>, i64);
type AssignmentRow = (i64, i64, i64, Option<i64>, String, String, Option<i64>);
type TimerRow = (i64, String, Option<i64>, Option<i64>, i64);

/// A stored text as its type; unknown text is a [`StoreError::Corrupt`].
pub(super) fn parsed<T: std::str::FromStr<Err = ParseError>>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|e: ParseError| StoreError::Corrupt(e.to_string()))
}

fn offer_from(r: OfferRow) -> Result<Offer> {
    Ok(Offer {
        id: r.0,
        request_id: r.1,
        mediator_id: r.2,
        wave: r.3,
        state: parsed(&r.4)?,
        outbox_id: r.5,
        expires_at: from_ts(r.6),
    })
}

fn assignment_from(r: AssignmentRow) -> Result<Assignment> {
    Ok(Assignment {
        id: r.0,
        request_id: r.1,
        mediator_id: r.2,
        offer_id: r.3,
        assigned_by: r.4,
        status: parsed(&r.5)?,
        worked_minutes: r.6,
    })
}

const OFFER_COLS: &str = "id, request_id, mediator_id, wave, state, outbox_id, expires_at";

fn u32_of(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

impl Tx {
    /// Every mediator, read inside this transaction.
    pub async fn all_mediators(&mut self) -> Result<Vec<Mediator>> {
        let sql = format!("SELECT {MEDIATOR_COLS} FROM mediators ORDER BY id");
        let rows: Vec<MediatorRow> = with_tx!(self, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *c).await?
        });
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// The mediators with these ids, read inside this transaction.
    pub async fn mediators_by_ids(&mut self, ids: &[i64]) -> Result<Vec<Mediator>> {
        if ids.is_empty() {
            return Ok(vec![]);
        }
        let list = ids
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT {MEDIATOR_COLS} FROM mediators WHERE id IN ({list}) ORDER BY id");
        let rows: Vec<MediatorRow> = with_tx!(self, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *c).await?
        });
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Every coordinator, read inside this transaction.
    pub async fn all_coordinators(&mut self) -> Result<Vec<Coordinator>> {
        let rows: Vec<(i64, String, Option<i64>, Option<String>)> = with_tx!(self, c => {
            sqlx::query_as("SELECT id, name, telegram_id, email FROM coordinators ORDER BY id")
                .fetch_all(&mut *c)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, name, telegram_id, email)| Coordinator {
                id,
                name,
                telegram_id,
                email,
            })
            .collect())
    }

    /// Busy slots, recent minutes, offer history and continuity for the roster around `at`.
    pub async fn work_facts(
        &mut self,
        around: Option<(DateTime<Utc>, DateTime<Utc>)>,
        case_ref: Option<&str>,
        request_id: i64,
        now: DateTime<Utc>,
    ) -> Result<WorkFacts> {
        let mut f = WorkFacts::default();
        if let Some((s, e)) = around {
            let (lo, hi) = (ts(s - Duration::days(1)), ts(e + Duration::days(1)));
            let rows: Vec<(i64, i64, i64, Option<String>)> = with_tx!(self, c => {
                sqlx::query_as(
                    "SELECT a.mediator_id, r.starts_at, r.ends_at, r.modality
                     FROM assignments a JOIN requests r ON r.id = a.request_id
                     WHERE a.status = 'active' AND r.id <> $3 AND r.starts_at IS NOT NULL
                       AND r.ends_at IS NOT NULL AND r.starts_at < $2 AND r.ends_at > $1",
                )
                .bind(lo)
                .bind(hi)
                .bind(request_id)
                .fetch_all(&mut *c)
                .await?
            });
            for (m, s, e, modality) in rows {
                f.busy.entry(m).or_default().push(BusySlot {
                    starts_at: from_ts(s),
                    ends_at: from_ts(e),
                    remote: matches!(modality.as_deref(), Some("phone" | "video")),
                });
            }
        }
        let since = ts(now - Duration::days(30));
        let rows: Vec<(i64, i64)> = with_tx!(self, c => {
            sqlx::query_as(
                "SELECT a.mediator_id, CAST(SUM(COALESCE(a.worked_minutes, r.duration_minutes, 0)) AS BIGINT)
                 FROM assignments a JOIN requests r ON r.id = a.request_id
                 WHERE a.status IN ('active', 'done') AND COALESCE(r.starts_at, a.created_at) >= $1
                   AND COALESCE(r.starts_at, a.created_at) < $2
                 GROUP BY a.mediator_id",
            )
            .bind(since)
            .bind(ts(now))
            .fetch_all(&mut *c)
            .await?
        });
        f.minutes_last_30_days = rows.into_iter().map(|(m, n)| (m, u32_of(n))).collect();
        let rows: Vec<(i64, i64, i64)> = with_tx!(self, c => {
            sqlx::query_as(
                "SELECT mediator_id, CAST(COUNT(*) AS BIGINT),
                        CAST(SUM(CASE WHEN state = 'accepted' THEN 1 ELSE 0 END) AS BIGINT)
                 FROM offers GROUP BY mediator_id",
            )
            .fetch_all(&mut *c)
            .await?
        });
        f.offer_stats = rows
            .into_iter()
            .map(|(m, n, a)| (m, (u32_of(n), u32_of(a))))
            .collect();
        if let Some(cr) = case_ref {
            f.continuity = with_tx!(self, c => {
                sqlx::query_scalar(
                    "SELECT DISTINCT a.mediator_id FROM assignments a JOIN requests r ON r.id = a.request_id
                     WHERE r.case_ref = $1 AND r.id <> $2 AND a.status IN ('active', 'done')",
                )
                .bind(cr)
                .bind(request_id)
                .fetch_all(&mut *c)
                .await?
            });
        }
        Ok(f)
    }

    /// Who was already offered this request (any state).
    pub async fn offered_mediators(&mut self, request_id: i64) -> Result<Vec<i64>> {
        Ok(with_tx!(self, c => {
            sqlx::query_scalar("SELECT mediator_id FROM offers WHERE request_id = $1 ORDER BY id")
                .bind(request_id)
                .fetch_all(&mut *c)
                .await?
        }))
    }

    /// The highest wave sent so far (0 if none).
    pub async fn last_wave(&mut self, request_id: i64) -> Result<i64> {
        let w: Option<i64> = with_tx!(self, c => {
            sqlx::query_scalar("SELECT MAX(wave) FROM offers WHERE request_id = $1")
                .bind(request_id)
                .fetch_one(&mut *c)
                .await?
        });
        Ok(w.unwrap_or(0))
    }

    pub async fn insert_offer(
        &mut self,
        request_id: i64,
        mediator_id: i64,
        wave: i64,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        Ok(with_tx!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO offers (request_id, mediator_id, wave, state, sent_at, expires_at)
                 VALUES ($1, $2, $3, 'open', $4, $5) RETURNING id",
            )
            .bind(request_id)
            .bind(mediator_id)
            .bind(wave)
            .bind(ts(now))
            .bind(ts(expires_at))
            .fetch_one(&mut *c)
            .await
            .map_err(|e| StoreError::unique_as(e, "an offer of this request to this mediator"))?
        }))
    }

    pub async fn set_offer_outbox(&mut self, offer_id: i64, outbox_id: i64) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("UPDATE offers SET outbox_id = $1 WHERE id = $2")
                .bind(outbox_id)
                .bind(offer_id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    pub async fn offer(&mut self, offer_id: i64) -> Result<Offer> {
        let sql = format!("SELECT {OFFER_COLS} FROM offers WHERE id = $1");
        let row: Option<OfferRow> = with_tx!(self, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(offer_id).fetch_optional(&mut *c).await?
        });
        row.map(offer_from)
            .ok_or_else(|| StoreError::NotFound(format!("offer {offer_id}")))?
    }

    pub async fn open_offers(&mut self, request_id: i64) -> Result<Vec<Offer>> {
        let sql = format!(
            "SELECT {OFFER_COLS} FROM offers WHERE request_id = $1 AND state = 'open' ORDER BY id"
        );
        let rows: Vec<OfferRow> = with_tx!(self, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(request_id).fetch_all(&mut *c).await?
        });
        rows.into_iter().map(offer_from).collect()
    }

    /// Closes every open offer of a request with `state` (expired, withdrawn); returns them.
    pub async fn close_open_offers(
        &mut self,
        request_id: i64,
        state: OfferState,
        now: DateTime<Utc>,
    ) -> Result<Vec<Offer>> {
        let open = self.open_offers(request_id).await?;
        with_tx!(self, c => {
            sqlx::query(
                "UPDATE offers SET state = $1, responded_at = $2 WHERE request_id = $3 AND state = 'open'",
            )
            .bind(state.as_str())
            .bind(ts(now))
            .bind(request_id)
            .execute(&mut *c)
            .await?;
        });
        Ok(open)
    }

    /// The acceptance: one conditional update on the request decides the winner. It succeeds
    /// only if the offer is open, not expired, belongs to `mediator_id`, and its request is
    /// still `offered`; concurrent acceptances of the same request serialize on the request row
    /// (PostgreSQL re-checks the condition after the first commits; SQLite has one writer), so
    /// exactly one wins. Returns the request id when this call won.
    pub async fn accept_offer(
        &mut self,
        offer_id: i64,
        mediator_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let won: Option<i64> = with_tx!(self, c => {
            sqlx::query_scalar(
                "UPDATE requests SET status = 'assigned', assigned_mediator_id = $2,
                        assigned_at = $3, updated_at = $3
                 WHERE status = 'offered' AND id = (
                     SELECT request_id FROM offers
                     WHERE id = $1 AND mediator_id = $2 AND state = 'open' AND expires_at > $3)
                 RETURNING id",
            )
            .bind(offer_id)
            .bind(mediator_id)
            .bind(ts(now))
            .fetch_optional(&mut *c)
            .await?
        });
        if let Some(request_id) = won {
            with_tx!(self, c => {
                sqlx::query("UPDATE offers SET state = 'accepted', responded_at = $1 WHERE id = $2")
                    .bind(ts(now))
                    .bind(offer_id)
                    .execute(&mut *c)
                    .await?;
            });
            self.audit(
                now,
                &format!("mediator:{mediator_id}"),
                Some(request_id),
                "accepted",
                Some(&format!("offer {offer_id}")),
            )
            .await?;
        }
        Ok(won)
    }

    /// A mediator declines an open offer; false if it was not open or not theirs.
    pub async fn decline_offer(
        &mut self,
        offer_id: i64,
        mediator_id: i64,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query(
                "UPDATE offers SET state = 'declined', decline_reason = $3, responded_at = $4
                 WHERE id = $1 AND mediator_id = $2 AND state = 'open'",
            )
            .bind(offer_id)
            .bind(mediator_id)
            .bind(reason)
            .bind(ts(now))
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Sets the request's status conditionally (`WHERE status IN from`), stamping `assigned_at`
    /// or `closed_at` as the life cycle does. Returns whether it applied.
    pub async fn set_status_if(
        &mut self,
        request_id: i64,
        from: &[crate::domain::RequestStatus],
        to: crate::domain::RequestStatus,
        extra_set: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        use crate::domain::RequestStatus::*;
        let stamp = match to {
            Assigned => ", assigned_at = $2",
            Confirmed => ", confirmed_at = $2",
            Done | Cancelled | Expired => ", closed_at = $2",
            Escalated => ", escalated_at = $2",
            _ => "",
        };
        let list = from
            .iter()
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE requests SET status = $1, updated_at = $2{stamp}{extra_set} WHERE id = $3 AND status IN ({list})"
        );
        let n = with_tx!(self, c => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(to.as_str())
                .bind(ts(now))
                .bind(request_id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

    pub async fn set_escalation_reason(&mut self, request_id: i64, reason: &str) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("UPDATE requests SET escalation_reason = $1 WHERE id = $2")
                .bind(reason)
                .bind(request_id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    pub async fn set_assigned_mediator(&mut self, request_id: i64, mediator_id: i64) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("UPDATE requests SET assigned_mediator_id = $1 WHERE id = $2")
                .bind(mediator_id)
                .bind(request_id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    pub async fn mark_cancelled(&mut self, request_id: i64, late: bool, by: &str) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("UPDATE requests SET late_cancellation = $1, cancelled_by = $2 WHERE id = $3")
                .bind(late)
                .bind(by)
                .bind(request_id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    pub async fn insert_assignment(
        &mut self,
        request_id: i64,
        mediator_id: i64,
        offer_id: Option<i64>,
        assigned_by: &str,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        Ok(with_tx!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO assignments (request_id, mediator_id, offer_id, assigned_by, status, created_at)
                 VALUES ($1, $2, $3, $4, 'active', $5) RETURNING id",
            )
            .bind(request_id)
            .bind(mediator_id)
            .bind(offer_id)
            .bind(assigned_by)
            .bind(ts(now))
            .fetch_one(&mut *c)
            .await
            .map_err(|e| StoreError::unique_as(e, "an active assignment of this request"))?
        }))
    }

    pub async fn active_assignment(&mut self, request_id: i64) -> Result<Option<Assignment>> {
        self.assignment_where("request_id = $1 AND status = 'active'", request_id)
            .await
    }

    pub async fn assignment(&mut self, assignment_id: i64) -> Result<Option<Assignment>> {
        self.assignment_where("id = $1", assignment_id).await
    }

    async fn assignment_where(&mut self, cond: &str, arg: i64) -> Result<Option<Assignment>> {
        let sql = format!(
            "SELECT id, request_id, mediator_id, offer_id, assigned_by, status, worked_minutes
             FROM assignments WHERE {cond}"
        );
        let row: Option<AssignmentRow> = with_tx!(self, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(arg)
            .fetch_optional(&mut *c)
            .await?
        });
        row.map(assignment_from).transpose()
    }

    /// Closes the active assignment with `status` (cancelled, done, not_done).
    pub async fn close_assignment(
        &mut self,
        assignment_id: i64,
        status: AssignmentStatus,
        worked_minutes: Option<i64>,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query(
                "UPDATE assignments SET status = $1, worked_minutes = $2, outcome_at = $3, outcome_by = $4
                 WHERE id = $5 AND status = 'active'",
            )
            .bind(status.as_str())
            .bind(worked_minutes)
            .bind(ts(now))
            .bind(by)
            .bind(assignment_id)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    pub async fn schedule_timer(
        &mut self,
        kind: TimerKind,
        request_id: Option<i64>,
        ref_id: Option<i64>,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        Ok(with_tx!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO timers (kind, request_id, ref_id, due_at, status, attempts, created_at)
                 VALUES ($1, $2, $3, $4, 'pending', 0, $5) RETURNING id",
            )
            .bind(kind.as_str())
            .bind(request_id)
            .bind(ref_id)
            .bind(ts(due_at))
            .bind(ts(now))
            .fetch_one(&mut *c)
            .await?
        }))
    }

    /// Cancels a request's pending timers of the given kinds (all kinds if empty).
    pub async fn cancel_timers(&mut self, request_id: i64, kinds: &[TimerKind]) -> Result<u64> {
        let cond = if kinds.is_empty() {
            String::new()
        } else {
            format!(
                " AND kind IN ({})",
                kinds
                    .iter()
                    .map(|k| format!("'{}'", k.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let sql = format!(
            "UPDATE timers SET status = 'cancelled' WHERE request_id = $1 AND status = 'pending'{cond}"
        );
        Ok(with_tx!(self, c => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(request_id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        }))
    }

    /// Claims one due timer for this transaction: the row stays locked (PostgreSQL, `SKIP
    /// LOCKED` for other instances) or the database stays reserved (SQLite) until commit; the
    /// caller handles it and calls [`Tx::finish_timer`] before committing, so a timer fires once.
    pub async fn claim_due_timer(&mut self, now: DateTime<Utc>) -> Result<Option<Timer>> {
        let lock = match self.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "SELECT id, kind, request_id, ref_id, due_at FROM timers
             WHERE status = 'pending' AND due_at <= $1 ORDER BY due_at, id LIMIT 1{lock}"
        );
        let row: Option<TimerRow> = with_tx!(self, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(ts(now)).fetch_optional(&mut *c).await?
        });
        Ok(row.map(|r| Timer {
            id: r.0,
            kind: r.1.parse(),
            request_id: r.2,
            ref_id: r.3,
            due_at: from_ts(r.4),
        }))
    }

    pub async fn finish_timer(&mut self, timer_id: i64, now: DateTime<Utc>) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query(
                "UPDATE timers SET status = 'done', fired_at = $1, attempts = attempts + 1 WHERE id = $2",
            )
            .bind(ts(now))
            .bind(timer_id)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// A timer whose handler failed: one more attempt counted, due again at `retry_at`, or
    /// `failed` (never retried) once `max_attempts` is reached.
    pub async fn defer_failed_timer(
        &mut self,
        timer_id: i64,
        retry_at: DateTime<Utc>,
        max_attempts: i64,
    ) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query(
                "UPDATE timers SET attempts = attempts + 1, due_at = $1,
                        status = CASE WHEN attempts + 1 >= $2 THEN 'failed' ELSE status END
                 WHERE id = $3 AND status = 'pending'",
            )
            .bind(ts(retry_at))
            .bind(max_attempts)
            .bind(timer_id)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// An outbox row's status and the channel's id for what it delivered.
    pub async fn outbox_state(&mut self, outbox_id: i64) -> Result<(OutboxStatus, Option<String>)> {
        let row: Option<(String, Option<String>)> = with_tx!(self, c => {
            sqlx::query_as("SELECT status, external_id FROM outbox WHERE id = $1")
                .bind(outbox_id)
                .fetch_optional(&mut *c)
                .await?
        });
        let (status, external) =
            row.ok_or_else(|| StoreError::NotFound(format!("outbox {outbox_id}")))?;
        Ok((parsed(&status)?, external))
    }

    /// Drops a message that has not started sending (an offer withdrawn before it went out).
    pub async fn cancel_pending_outbox(&mut self, outbox_id: i64) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query("UPDATE outbox SET status = 'cancelled' WHERE id = $1 AND status = 'pending'")
                .bind(outbox_id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }

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

    /// Marks a claimed row sent; false if the claim was lost (the lease passed and another
    /// worker took the row).
    pub async fn mark_outbox_sent(
        &mut self,
        id: i64,
        attempt: i64,
        external_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query(
                "UPDATE outbox SET status = 'sent', sent_at = $1, external_id = $2, last_error = NULL
                 WHERE id = $3 AND status = 'sending' AND attempts = $4",
            )
            .bind(ts(now))
            .bind(external_id)
            .bind(id)
            .bind(attempt)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Puts a claimed row back to `pending` for another attempt at `at`.
    pub async fn mark_outbox_retry(
        &mut self,
        id: i64,
        attempt: i64,
        at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query(
                "UPDATE outbox SET status = 'pending', next_attempt_at = $1, last_error = $2
                 WHERE id = $3 AND status = 'sending' AND attempts = $4",
            )
            .bind(ts(at))
            .bind(error)
            .bind(id)
            .bind(attempt)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Dead-letters a claimed row.
    pub async fn mark_outbox_dead(
        &mut self,
        id: i64,
        attempt: i64,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query(
                "UPDATE outbox SET status = 'dead', next_attempt_at = $1, last_error = $2
                 WHERE id = $3 AND status = 'sending' AND attempts = $4",
            )
            .bind(ts(now))
            .bind(error)
            .bind(id)
            .bind(attempt)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }
}

impl Store {
    /// All offers of a request, oldest first.
    pub async fn offers_for_request(&self, request_id: i64) -> Result<Vec<Offer>> {
        let sql = format!("SELECT {OFFER_COLS} FROM offers WHERE request_id = $1 ORDER BY id");
        let rows: Vec<OfferRow> = with_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(request_id).fetch_all(p).await?
        });
        rows.into_iter().map(offer_from).collect()
    }

    /// Every assignment of a request, oldest first.
    pub async fn assignments_for_request(&self, request_id: i64) -> Result<Vec<Assignment>> {
        let rows: Vec<AssignmentRow> = with_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, request_id, mediator_id, offer_id, assigned_by, status, worked_minutes
                 FROM assignments WHERE request_id = $1 ORDER BY id",
            )
            .bind(request_id)
            .fetch_all(p)
            .await?
        });
        rows.into_iter().map(assignment_from).collect()
    }

    /// Pending timers of a request: (kind, due_at), earliest first.
    pub async fn pending_timers(&self, request_id: i64) -> Result<Vec<(String, DateTime<Utc>)>> {
        let rows: Vec<(String, i64)> = with_pool!(self, p => {
            sqlx::query_as(
                "SELECT kind, due_at FROM timers WHERE request_id = $1 AND status = 'pending'
                 ORDER BY due_at, id",
            )
            .bind(request_id)
            .fetch_all(p)
            .await?
        });
        Ok(rows.into_iter().map(|(k, d)| (k, from_ts(d))).collect())
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

    /// Claims up to `limit` due outbox rows for delivery: each becomes `sending` with its
    /// attempt counted and a lease until `lease_until` (a row whose worker died is claimable
    /// again once the lease passes). Committed before any delivery starts, so no lock is held
    /// across the network.
    pub async fn claim_outbox(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ClaimedMessage>> {
        let mut tx = self.begin().await?;
        let lock = match tx.backend() {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = $2
             WHERE id IN (SELECT id FROM outbox WHERE status IN ('pending', 'sending')
                          AND next_attempt_at <= $1 ORDER BY priority DESC, next_attempt_at, id
                          LIMIT $3{lock})
             RETURNING id, idempotency_key, request_id, payload, attempts"
        );
        let rows: Vec<(i64, String, Option<i64>, String, i64)> = with_tx!(tx, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(ts(now))
                .bind(ts(lease_until))
                .bind(limit)
                .fetch_all(&mut *c)
                .await?
        });
        tx.commit().await?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, key, request_id, payload, attempt) in rows {
            match serde_json::from_str::<Payload>(&payload) {
                Ok(payload) => out.push(ClaimedMessage {
                    id,
                    idempotency_key: key,
                    request_id,
                    payload,
                    attempt,
                }),
                Err(e) => {
                    // A row that cannot be read will never be sent: dead letter it at once.
                    self.mark_outbox_dead(id, attempt, &format!("unreadable payload: {e}"), now)
                        .await?;
                }
            }
        }
        out.sort_by_key(|m| m.id);
        Ok(out)
    }

    /// Marks a claimed row sent in its own transaction (see [`Tx::mark_outbox_sent`]).
    pub async fn mark_outbox_sent(
        &self,
        id: i64,
        attempt: i64,
        external_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let ok = tx.mark_outbox_sent(id, attempt, external_id, now).await?;
        tx.commit().await?;
        Ok(ok)
    }

    /// Puts a claimed row back for a retry in its own transaction.
    pub async fn mark_outbox_retry(
        &self,
        id: i64,
        attempt: i64,
        at: DateTime<Utc>,
        error: &str,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let ok = tx.mark_outbox_retry(id, attempt, at, error).await?;
        tx.commit().await?;
        Ok(ok)
    }

    /// Dead-letters a claimed row in its own transaction.
    pub async fn mark_outbox_dead(
        &self,
        id: i64,
        attempt: i64,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin().await?;
        let ok = tx.mark_outbox_dead(id, attempt, error, now).await?;
        tx.commit().await?;
        Ok(ok)
    }

    /// One record per request whose appointment (else, arrival) falls in `[from, to)`, for the
    /// monthly report.
    pub async fn report_records(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ReportRecord>> {
        type Row = (
            Option<String>,
            String,
            Option<String>,
            i64,
            Option<i64>,
            Option<i64>,
            bool,
            Option<i64>,
            Option<i64>,
        );
        let rows: Vec<Row> = with_pool!(self, p => {
            sqlx::query_as(
                "SELECT r.ambito, r.status, r.language, r.created_at, r.assigned_at, r.escalated_at,
                        r.late_cancellation,
                        (SELECT CAST(SUM(COALESCE(a.worked_minutes, r.duration_minutes, 0)) AS BIGINT)
                           FROM assignments a WHERE a.request_id = r.id AND a.status = 'done'),
                        (SELECT e.score FROM evaluations e WHERE e.request_id = r.id)
                 FROM requests r WHERE COALESCE(r.starts_at, r.created_at) >= $1
                   AND COALESCE(r.starts_at, r.created_at) < $2 ORDER BY r.id",
            )
            .bind(ts(from))
            .bind(ts(to))
            .fetch_all(p)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| ReportRecord {
                ambito: r.0,
                status: r.1,
                language: r.2,
                created_at: r.3,
                assigned_at: r.4,
                escalated_at: r.5,
                late_cancellation: r.6,
                done_minutes: r.7,
                evaluation: r.8,
            })
            .collect())
    }
}
