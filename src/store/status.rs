//! A request's status as the core changes it: conditional steps of the life cycle
//! (`UPDATE ... WHERE status IN (...)`), the escalation reason, the assigned mediator, the
//! cancellation's flags.

use chrono::{DateTime, Utc};

use super::{Result, Tx, ts};
use crate::with_tx;

impl Tx {
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
}
