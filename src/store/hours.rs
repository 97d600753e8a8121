//! The `hours_checks` table: the requester's check of the hours a mediator recorded (asked,
//! confirmed, disputed, settled by a coordinator, or unverified when nobody answered in time).
//! Each change is one conditional update on the row's status, so two answers never both count.
//! Also who did not come to an appointment not done (`assignments.no_show`).

use chrono::{DateTime, Utc};

use super::states::parsed;
use super::{Result, Store, Tx, ts};
use crate::domain::HoursCheckStatus;
use crate::{with_pool, with_tx};

/// One assignment's hours check, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HoursCheck {
    pub assignment_id: i64,
    pub request_id: i64,
    pub mediator_minutes: i64,
    pub status: HoursCheckStatus,
    pub requester_minutes: Option<i64>,
    pub billed_minutes: Option<i64>,
}

type Row = (i64, i64, i64, String, Option<i64>, Option<i64>);

fn check_from(r: Row) -> Result<HoursCheck> {
    Ok(HoursCheck {
        assignment_id: r.0,
        request_id: r.1,
        mediator_minutes: r.2,
        status: parsed(&r.3)?,
        requester_minutes: r.4,
        billed_minutes: r.5,
    })
}

const COLS: &str =
    "assignment_id, request_id, mediator_minutes, status, requester_minutes, billed_minutes";

impl Tx {
    /// Asks (again) for the requester's check of `minutes` on assignment `assignment_id`: a
    /// new figure from the mediator replaces an unanswered one; an answered check stays.
    /// `false` when the check was already answered.
    pub async fn ask_hours_check(
        &mut self,
        assignment_id: i64,
        request_id: i64,
        minutes: i64,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query(
                "INSERT INTO hours_checks (assignment_id, request_id, mediator_minutes, status, asked_at)
                 VALUES ($1, $2, $3, 'asked', $4)
                 ON CONFLICT (assignment_id) DO UPDATE SET mediator_minutes = excluded.mediator_minutes,
                    asked_at = excluded.asked_at
                 WHERE hours_checks.status = 'asked'",
            )
            .bind(assignment_id)
            .bind(request_id)
            .bind(minutes)
            .bind(ts(now))
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// The hours check of an assignment.
    pub async fn hours_check(&mut self, assignment_id: i64) -> Result<Option<HoursCheck>> {
        let sql = format!("SELECT {COLS} FROM hours_checks WHERE assignment_id = $1");
        let row: Option<Row> = with_tx!(self, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(assignment_id)
                .fetch_optional(&mut *c)
                .await?
        });
        row.map(check_from).transpose()
    }

    /// The latest hours check of a request in `status`, if any.
    pub async fn hours_check_of_request(
        &mut self,
        request_id: i64,
        status: HoursCheckStatus,
    ) -> Result<Option<HoursCheck>> {
        let sql = format!(
            "SELECT {COLS} FROM hours_checks WHERE request_id = $1 AND status = $2
             ORDER BY assignment_id DESC LIMIT 1"
        );
        let row: Option<Row> = with_tx!(self, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(request_id)
                .bind(status.as_str())
                .fetch_optional(&mut *c)
                .await?
        });
        row.map(check_from).transpose()
    }

    /// Moves a check from `from` to `to` (with the requester's or the billed figure, and who
    /// settled it); `false` when it was not in `from` any more.
    #[allow(clippy::too_many_arguments)]
    pub async fn move_hours_check(
        &mut self,
        assignment_id: i64,
        from: HoursCheckStatus,
        to: HoursCheckStatus,
        requester_minutes: Option<i64>,
        billed_minutes: Option<i64>,
        settled_by: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query(
                "UPDATE hours_checks SET status = $1,
                    requester_minutes = COALESCE($2, requester_minutes),
                    billed_minutes = COALESCE($3, billed_minutes),
                    settled_by = COALESCE($4, settled_by), answered_at = $5
                 WHERE assignment_id = $6 AND status = $7",
            )
            .bind(to.as_str())
            .bind(requester_minutes)
            .bind(billed_minutes)
            .bind(settled_by)
            .bind(ts(now))
            .bind(assignment_id)
            .bind(from.as_str())
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }
}

impl Tx {
    /// Records who did not come on an assignment recorded as not done; `false` otherwise.
    pub async fn set_no_show(
        &mut self,
        assignment_id: i64,
        who: crate::domain::NoShow,
    ) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query("UPDATE assignments SET no_show = $1 WHERE id = $2 AND status = 'not_done'")
                .bind(who.as_str())
                .bind(assignment_id)
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        Ok(n == 1)
    }
}

impl Store {
    /// Who did not come on an assignment (`None`: not said, or it took place).
    pub async fn no_show(&self, assignment_id: i64) -> Result<Option<crate::domain::NoShow>> {
        let v: Option<Option<String>> = with_pool!(self, p => {
            sqlx::query_scalar("SELECT no_show FROM assignments WHERE id = $1")
                .bind(assignment_id)
                .fetch_optional(p)
                .await?
        });
        v.flatten().map(|s| parsed(&s)).transpose()
    }

    /// Every hours check of a request, oldest first (the console's request page).
    pub async fn hours_checks(&self, request_id: i64) -> Result<Vec<HoursCheck>> {
        let sql =
            format!("SELECT {COLS} FROM hours_checks WHERE request_id = $1 ORDER BY assignment_id");
        let rows: Vec<Row> = with_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(request_id)
                .fetch_all(p)
                .await?
        });
        rows.into_iter().map(check_from).collect()
    }
}
