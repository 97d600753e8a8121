//! The roster's facts, read inside the dispatching transaction: every mediator (or some), the
//! coordinators, and what changes with their work (busy slots, recent minutes, offer history,
//! continuity on a case).

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

use super::people::{MEDIATOR_COLS, MediatorRow};
use super::{Coordinator, Mediator, Result, Tx, from_ts, ts};
use crate::domain::busy::BusySlot;
use crate::with_tx;

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
        let rows: Vec<super::people::CoordinatorRow> = with_tx!(self, c => {
            sqlx::query_as(super::people::COORDINATOR_SQL)
                .fetch_all(&mut *c)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(super::people::coordinator_of)
            .collect())
    }

    /// Busy slots, recent minutes, offer history and continuity for the roster around `around`
    /// (the appointment, or from a series' first meeting to come to its last): single
    /// appointments assigned, and the meetings of series held by each mediator.
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
                       AND r.ends_at IS NOT NULL AND r.starts_at < $2 AND r.ends_at > $1
                       AND r.series_rule IS NULL",
                )
                .bind(lo)
                .bind(hi)
                .bind(request_id)
                .fetch_all(&mut *c)
                .await?
            });
            // A series keeps its mediators per meeting: each meeting still on of another
            // series is its own mediator's busy time (the series' or a colleague's who took
            // it), and a meeting given away is not.
            let meetings: Vec<(i64, i64, i64, Option<String>)> = with_tx!(self, c => {
                sqlx::query_as(
                    "SELECT o.mediator_id, o.starts_at, o.ends_at, r.modality
                     FROM occurrences o JOIN requests r ON r.id = o.request_id
                     WHERE o.mediator_id IS NOT NULL AND o.status <> 'cancelled'
                       AND r.id <> $3 AND r.status NOT IN ('cancelled', 'done', 'expired')
                       AND o.starts_at < $2 AND o.ends_at > $1",
                )
                .bind(lo)
                .bind(hi)
                .bind(request_id)
                .fetch_all(&mut *c)
                .await?
            });
            for (m, s, e, modality) in rows.into_iter().chain(meetings) {
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
}

/// A mediator's month, as the console's people page shows it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MediatorMonth {
    /// Minutes worked on appointments done that started in the month (the hours recorded, else
    /// the planned duration).
    pub minutes_done: u32,
    /// Appointments done that started in the month.
    pub jobs_done: u32,
    /// Offers sent in the month that were answered or ran out (a withdrawn offer, taken by
    /// someone else first, is no answer).
    pub offers_answered: u32,
    pub offers_accepted: u32,
}

impl MediatorMonth {
    /// Accepted out of answered, in percent; `None` without any answer.
    pub fn acceptance_percent(&self) -> Option<u32> {
        (self.offers_answered > 0).then(|| {
            (f64::from(self.offers_accepted) * 100.0 / f64::from(self.offers_answered)).round()
                as u32
        })
    }
}

impl super::Store {
    /// Per mediator, the month [`from`, `to`): minutes done and offers answered and accepted.
    pub async fn mediator_months(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<HashMap<i64, MediatorMonth>> {
        let (lo, hi) = (ts(from), ts(to));
        let done: Vec<(i64, i64, i64)> = crate::with_pool!(self, p => {
            sqlx::query_as(
                "SELECT a.mediator_id, CAST(SUM(COALESCE(a.worked_minutes, r.duration_minutes, 0)) AS BIGINT),
                        CAST(COUNT(*) AS BIGINT)
                 FROM assignments a JOIN requests r ON r.id = a.request_id
                 WHERE a.status = 'done' AND r.starts_at >= $1 AND r.starts_at < $2
                 GROUP BY a.mediator_id",
            )
            .bind(lo)
            .bind(hi)
            .fetch_all(p)
            .await?
        });
        let offers: Vec<(i64, i64, i64)> = crate::with_pool!(self, p => {
            sqlx::query_as(
                "SELECT mediator_id,
                        CAST(SUM(CASE WHEN state IN ('accepted', 'declined', 'expired') THEN 1 ELSE 0 END) AS BIGINT),
                        CAST(SUM(CASE WHEN state = 'accepted' THEN 1 ELSE 0 END) AS BIGINT)
                 FROM offers WHERE sent_at >= $1 AND sent_at < $2
                 GROUP BY mediator_id",
            )
            .bind(lo)
            .bind(hi)
            .fetch_all(p)
            .await?
        });
        let mut out: HashMap<i64, MediatorMonth> = HashMap::new();
        for (m, minutes, jobs) in done {
            let e = out.entry(m).or_default();
            e.minutes_done = u32_of(minutes);
            e.jobs_done = u32_of(jobs);
        }
        for (m, answered, accepted) in offers {
            let e = out.entry(m).or_default();
            e.offers_answered = u32_of(answered);
            e.offers_accepted = u32_of(accepted);
        }
        Ok(out)
    }
}
