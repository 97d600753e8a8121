//! The rows behind the monthly report.

use chrono::{DateTime, Utc};

use super::{Result, Store, ts};
use crate::with_pool;

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
    /// The requester's comment with the evaluation, if any.
    pub evaluation_comment: Option<String>,
    /// An assignment of the request was recorded as not done (a no-show).
    pub no_show: bool,
    /// Who did not come, as recorded on the request's assignments not done (one entry per
    /// assignment where it was said; a request may have both).
    pub no_show_by: Vec<crate::domain::NoShow>,
    /// Minutes to bill that the requester confirmed or a coordinator settled.
    pub verified_minutes: i64,
    /// The mediator's minutes under an open dispute.
    pub disputed_minutes: i64,
    /// The mediator's minutes of done assignments confirmed, settled or disputed: the rest of
    /// `done_minutes` is unverified (not asked, not answered yet, or not answered in time).
    pub checked_minutes: i64,
    /// The requester's marks on each criterion (`evaluation_scores`; an evaluation from before
    /// the criteria counts as "overall").
    pub scores: Vec<(String, i64)>,
    /// A series of meetings: its meetings of the month still on with a mediator (each counts
    /// as an intervention), and their minutes.
    pub series_meetings: Option<(i64, i64)>,
}

impl Store {
    /// One record per request whose appointment (else, arrival) falls in `[from, to)`, for the
    /// monthly report.
    pub async fn report_records(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ReportRecord>> {
        type Row = (
            i64,
            Option<String>,
            String,
            Option<String>,
            i64,
            Option<i64>,
            Option<i64>,
            bool,
            Option<i64>,
            Option<i64>,
            Option<String>,
            i64,
            i64,
            i64,
            i64,
        );
        let rows: Vec<Row> = with_pool!(self, p => {
            sqlx::query_as(
                "SELECT r.id, r.ambito, r.status, r.language, r.created_at, r.assigned_at, r.escalated_at,
                        r.late_cancellation,
                        (SELECT CAST(SUM(COALESCE(a.worked_minutes, r.duration_minutes, 0)) AS BIGINT)
                           FROM assignments a WHERE a.request_id = r.id AND a.status = 'done'),
                        (SELECT e.score FROM evaluations e WHERE e.request_id = r.id),
                        (SELECT e.comment FROM evaluations e WHERE e.request_id = r.id),
                        (SELECT COUNT(*) FROM assignments a
                           WHERE a.request_id = r.id AND a.status = 'not_done'),
                        (SELECT CAST(COALESCE(SUM(CASE h.status WHEN 'confirmed' THEN h.mediator_minutes
                                WHEN 'settled' THEN h.billed_minutes ELSE 0 END), 0) AS BIGINT)
                           FROM assignments a JOIN hours_checks h ON h.assignment_id = a.id
                           WHERE a.request_id = r.id AND a.status = 'done'),
                        (SELECT CAST(COALESCE(SUM(CASE WHEN h.status = 'disputed' THEN h.mediator_minutes
                                ELSE 0 END), 0) AS BIGINT)
                           FROM assignments a JOIN hours_checks h ON h.assignment_id = a.id
                           WHERE a.request_id = r.id AND a.status = 'done'),
                        (SELECT CAST(COALESCE(SUM(CASE WHEN h.status IN ('confirmed', 'settled', 'disputed')
                                THEN h.mediator_minutes ELSE 0 END), 0) AS BIGINT)
                           FROM assignments a JOIN hours_checks h ON h.assignment_id = a.id
                           WHERE a.request_id = r.id AND a.status = 'done')
                 FROM requests r WHERE (COALESCE(r.starts_at, r.created_at) >= $1
                   AND COALESCE(r.starts_at, r.created_at) < $2)
                   OR EXISTS (SELECT 1 FROM occurrences o WHERE o.request_id = r.id
                              AND o.starts_at >= $1 AND o.starts_at < $2)
                 ORDER BY r.id",
            )
            .bind(ts(from))
            .bind(ts(to))
            .fetch_all(p)
            .await?
        });
        let marks: Vec<(i64, String, i64)> = with_pool!(self, p => {
            sqlx::query_as(
                "SELECT s.request_id, s.criterion, s.score FROM evaluation_scores s
                   JOIN requests r ON r.id = s.request_id
                 WHERE COALESCE(r.starts_at, r.created_at) >= $1
                   AND COALESCE(r.starts_at, r.created_at) < $2 ORDER BY s.request_id, s.criterion",
            )
            .bind(ts(from))
            .bind(ts(to))
            .fetch_all(p)
            .await?
        });
        let absent: Vec<(i64, String)> = with_pool!(self, p => {
            sqlx::query_as(
                "SELECT a.request_id, a.no_show FROM assignments a
                   JOIN requests r ON r.id = a.request_id
                 WHERE a.status = 'not_done' AND a.no_show IS NOT NULL
                   AND COALESCE(r.starts_at, r.created_at) >= $1
                   AND COALESCE(r.starts_at, r.created_at) < $2 ORDER BY a.id",
            )
            .bind(ts(from))
            .bind(ts(to))
            .fetch_all(p)
            .await?
        });
        // a series (any meeting this month) counts its meetings of the month still on, with a
        // mediator, and not recorded as not held, not 1; the minutes recorded for a meeting,
        // else its planned length: (request, meetings, minutes), one read
        let meetings: Vec<(i64, i64, i64)> = with_pool!(self, p => {
            sqlx::query_as(
                "SELECT o.request_id,
                        CAST(COALESCE(SUM(CASE WHEN o.status <> 'cancelled' AND o.mediator_id IS NOT NULL
                                AND r.status <> 'cancelled' AND COALESCE(o.outcome, '') <> 'not_done'
                                THEN 1 ELSE 0 END), 0) AS BIGINT),
                        CAST(COALESCE(SUM(CASE WHEN o.status <> 'cancelled' AND o.mediator_id IS NOT NULL
                                AND r.status <> 'cancelled' AND COALESCE(o.outcome, '') <> 'not_done'
                                THEN COALESCE(o.worked_minutes * 60, o.ends_at - o.starts_at) ELSE 0 END), 0)
                             / 60 AS BIGINT)
                   FROM occurrences o JOIN requests r ON r.id = o.request_id
                  WHERE o.starts_at >= $1 AND o.starts_at < $2
                  GROUP BY o.request_id",
            )
            .bind(ts(from))
            .bind(ts(to))
            .fetch_all(p)
            .await?
        });
        let mut who: std::collections::HashMap<i64, Vec<crate::domain::NoShow>> =
            std::collections::HashMap::new();
        for (id, w) in absent {
            // A value this build does not know is left out of the split, still a no-show.
            if let Ok(w) = w.parse::<crate::domain::NoShow>() {
                who.entry(id).or_default().push(w);
            }
        }
        let mut meetings: std::collections::HashMap<i64, (i64, i64)> = meetings
            .into_iter()
            .map(|(id, n, m)| (id, (n, m)))
            .collect();
        let mut by_request: std::collections::HashMap<i64, Vec<(String, i64)>> =
            std::collections::HashMap::new();
        for (id, criterion, score) in marks {
            by_request.entry(id).or_default().push((criterion, score));
        }
        Ok(rows
            .into_iter()
            .map(|r| ReportRecord {
                ambito: r.1,
                status: r.2,
                language: r.3,
                created_at: r.4,
                assigned_at: r.5,
                escalated_at: r.6,
                late_cancellation: r.7,
                done_minutes: r.8,
                evaluation: r.9,
                evaluation_comment: r.10,
                no_show: r.11 > 0,
                no_show_by: who.remove(&r.0).unwrap_or_default(),
                verified_minutes: r.12,
                disputed_minutes: r.13,
                checked_minutes: r.14,
                scores: by_request.remove(&r.0).unwrap_or_default(),
                series_meetings: meetings.remove(&r.0),
            })
            .collect())
    }
}
