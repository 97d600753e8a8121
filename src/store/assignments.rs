//! The `assignments` table: who goes, and how it ended.

use chrono::{DateTime, Utc};

use super::states::parsed;
use super::{Result, Store, StoreError, Tx, ts};
use crate::domain::AssignmentStatus;
use crate::{with_pool, with_tx};

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

type AssignmentRow = (i64, i64, i64, Option<i64>, String, String, Option<i64>);

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

impl Tx {
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

    /// The request's newest assignment still active or closed with an outcome (a series'
    /// assignment, once its meetings are all recorded).
    pub async fn last_assignment(&mut self, request_id: i64) -> Result<Option<Assignment>> {
        self.assignment_where(
            "request_id = $1 AND status IN ('active', 'done', 'not_done') ORDER BY id DESC LIMIT 1",
            request_id,
        )
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
}

impl Store {
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
}
