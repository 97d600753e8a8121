//! The occurrences of a series of appointments (`occurrences`, migration 0160): written when a
//! request that is a series is created (or its rule changes), read with the request
//! (`Request::series`), given to the mediator who accepts the series, cancelled or moved one
//! at a time or from one on.

use chrono::{DateTime, Utc};

use super::{Result, Store, StoreError, Tx, from_ts, ts};
use crate::domain::series::{MeetingOutcome, Occurrence, OccurrenceStatus, Series};
use crate::{with_pool, with_tx};

/// A series as a channel reads it: the `RRULE` text and each occurrence's (start, end).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewSeries {
    pub rule: String,
    pub occurrences: Vec<(DateTime<Utc>, DateTime<Utc>)>,
}

#[derive(sqlx::FromRow)]
struct OccurrenceRow {
    id: i64,
    seq: i64,
    recurrence_id: i64,
    starts_at: i64,
    ends_at: i64,
    status: String,
    mediator_id: Option<i64>,
    outcome: Option<String>,
    worked_minutes: Option<i64>,
    no_show: Option<String>,
}

impl TryFrom<OccurrenceRow> for Occurrence {
    type Error = StoreError;
    fn try_from(r: OccurrenceRow) -> Result<Self> {
        Ok(Occurrence {
            id: r.id,
            seq: u32::try_from(r.seq)
                .map_err(|_| StoreError::Corrupt(format!("occurrence seq {}", r.seq)))?,
            recurrence_id: from_ts(r.recurrence_id),
            starts_at: from_ts(r.starts_at),
            ends_at: from_ts(r.ends_at),
            status: r
                .status
                .parse::<OccurrenceStatus>()
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
            mediator_id: r.mediator_id,
            outcome: match r.outcome.as_deref() {
                None => None,
                Some(o) => Some(MeetingOutcome {
                    done: match o {
                        "done" => true,
                        "not_done" => false,
                        other => {
                            return Err(StoreError::Corrupt(format!("meeting outcome {other}")));
                        }
                    },
                    worked_minutes: r.worked_minutes,
                    // a value this build does not know is left out, the outcome kept
                    no_show: r.no_show.and_then(|w| w.parse().ok()),
                }),
            },
        })
    }
}

const COLS: &str = "id, seq, recurrence_id, starts_at, ends_at, status, mediator_id, outcome, worked_minutes, no_show";

impl Tx {
    /// Marks request `id` as changed now (a meeting of its series changed): the invitation's
    /// `SEQUENCE` follows `updated_at`.
    pub async fn touch_request(&mut self, id: i64, now: DateTime<Utc>) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("UPDATE requests SET updated_at = $1 WHERE id = $2")
                .bind(ts(now))
                .bind(id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Writes `series` for request `id` (its rule on the request, one row per occurrence),
    /// replacing an earlier one.
    pub async fn put_series(
        &mut self,
        request_id: i64,
        series: &NewSeries,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("DELETE FROM occurrences WHERE request_id = $1")
                .bind(request_id)
                .execute(&mut *c)
                .await?;
            sqlx::query("UPDATE requests SET series_rule = $1 WHERE id = $2")
                .bind(super::db_text(&series.rule))
                .bind(request_id)
                .execute(&mut *c)
                .await?;
        });
        for (i, (start, end)) in series.occurrences.iter().enumerate() {
            let seq = i64::try_from(i + 1).unwrap_or(i64::MAX);
            with_tx!(self, c => {
                sqlx::query(
                    "INSERT INTO occurrences (request_id, seq, recurrence_id, starts_at, ends_at, status, updated_at)
                     VALUES ($1, $2, $3, $3, $4, 'active', $5)",
                )
                .bind(request_id)
                .bind(seq)
                .bind(ts(*start))
                .bind(ts(*end))
                .bind(ts(now))
                .execute(&mut *c)
                .await?;
            });
        }
        Ok(())
    }

    /// The series of request `id` with rule `rule`, its occurrences in order.
    pub async fn series_of(&mut self, request_id: i64, rule: String) -> Result<Series> {
        let sql = format!("SELECT {COLS} FROM occurrences WHERE request_id = $1 ORDER BY seq");
        let rows: Vec<OccurrenceRow> = with_tx!(self, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(request_id).fetch_all(&mut *c).await?
        });
        Ok(Series {
            rule,
            occurrences: rows
                .into_iter()
                .map(Occurrence::try_from)
                .collect::<Result<_>>()?,
        })
    }

    /// Every occurrence still taking place goes to `mediator_id` (the series was accepted or
    /// assigned as a whole).
    pub async fn assign_occurrences(
        &mut self,
        request_id: i64,
        mediator_id: i64,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        Ok(with_tx!(self, c => {
            sqlx::query(
                "UPDATE occurrences SET mediator_id = $1, updated_at = $2
                 WHERE request_id = $3 AND status <> 'cancelled'",
            )
            .bind(mediator_id)
            .bind(ts(now))
            .bind(request_id)
            .execute(&mut *c)
            .await?
            .rows_affected()
        }))
    }

    /// Sets occurrence `id`'s state and times, if it is still in state `from` (one conditional
    /// update: two changes of one occurrence cannot both apply).
    pub async fn set_occurrence(
        &mut self,
        id: i64,
        from: OccurrenceStatus,
        to: OccurrenceStatus,
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query(
                "UPDATE occurrences SET status = $1, starts_at = $2, ends_at = $3, updated_at = $4
                 WHERE id = $5 AND status = $6",
            )
            .bind(to.as_str())
            .bind(ts(starts_at))
            .bind(ts(ends_at))
            .bind(ts(now))
            .bind(id)
            .bind(from.as_str())
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }
}

impl Store {
    /// The series of request `id` with rule `rule` (outside a transaction).
    pub async fn series_of(&self, request_id: i64, rule: String) -> Result<Series> {
        let sql = format!("SELECT {COLS} FROM occurrences WHERE request_id = $1 ORDER BY seq");
        let rows: Vec<OccurrenceRow> = with_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(request_id).fetch_all(p).await?
        });
        Ok(Series {
            rule,
            occurrences: rows
                .into_iter()
                .map(Occurrence::try_from)
                .collect::<Result<_>>()?,
        })
    }
}

impl Tx {
    /// Meeting `occurrence_id` has no mediator any more (its mediator cannot take it), if it
    /// was `mediator_id`'s (`None`: whoever's).
    pub async fn release_meeting(
        &mut self,
        occurrence_id: i64,
        mediator_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query(
                "UPDATE occurrences SET mediator_id = NULL, updated_at = $1
                 WHERE id = $2 AND status <> 'cancelled' AND mediator_id IS NOT NULL
                   AND ($3 IS NULL OR mediator_id = $3)",
            )
            .bind(ts(now))
            .bind(occurrence_id)
            .bind(mediator_id)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// An offer of one meeting (`occurrence_id`) of request `request_id` to `mediator_id`.
    pub async fn insert_meeting_offer(
        &mut self,
        request_id: i64,
        occurrence_id: i64,
        mediator_id: i64,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        Ok(with_tx!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO offers (request_id, mediator_id, wave, state, sent_at, expires_at, occurrence_id)
                 VALUES ($1, $2, 0, 'open', $3, $4, $5) RETURNING id",
            )
            .bind(request_id)
            .bind(mediator_id)
            .bind(ts(now))
            .bind(ts(expires_at))
            .bind(occurrence_id)
            .fetch_one(&mut *c)
            .await?
        }))
    }

    /// The meeting an offer is for (`None`: the offer is for the whole request).
    pub async fn offer_meeting(&mut self, offer_id: i64) -> Result<Option<i64>> {
        let m: Option<Option<i64>> = with_tx!(self, c => {
            sqlx::query_scalar("SELECT occurrence_id FROM offers WHERE id = $1")
                .bind(offer_id)
                .fetch_optional(&mut *c)
                .await?
        });
        Ok(m.flatten())
    }

    /// Who was offered meeting `occurrence_id` already.
    pub async fn meeting_offered_to(&mut self, occurrence_id: i64) -> Result<Vec<i64>> {
        Ok(with_tx!(self, c => {
            sqlx::query_scalar("SELECT mediator_id FROM offers WHERE occurrence_id = $1")
                .bind(occurrence_id)
                .fetch_all(&mut *c)
                .await?
        }))
    }

    /// `mediator_id` takes meeting `occurrence_id` by accepting `offer_id`: one conditional
    /// update (the meeting still without a mediator, the offer still open and theirs), so one
    /// acceptance wins. Returns whether it did.
    pub async fn take_meeting(
        &mut self,
        offer_id: i64,
        occurrence_id: i64,
        mediator_id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query(
                "UPDATE occurrences SET mediator_id = $1, updated_at = $2
                 WHERE id = $3 AND mediator_id IS NULL AND status <> 'cancelled'
                   AND EXISTS (SELECT 1 FROM offers WHERE id = $4 AND mediator_id = $1
                               AND occurrence_id = $3 AND state = 'open' AND expires_at > $2)",
            )
            .bind(mediator_id)
            .bind(ts(now))
            .bind(occurrence_id)
            .bind(offer_id)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if n == 1 {
            with_tx!(self, c => {
                sqlx::query("UPDATE offers SET state = 'accepted', responded_at = $1 WHERE id = $2")
                    .bind(ts(now))
                    .bind(offer_id)
                    .execute(&mut *c)
                    .await?;
            });
        }
        Ok(n == 1)
    }
}
