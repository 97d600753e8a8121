//! A coordinator corrects what was misread (the console's correction form): the fields are
//! replaced in any state before the end, the change is audited, and a request still being
//! completed (received, waiting for information) moves on to the queue once nothing is missing
//! any more, as a follow-up would move it. A request past that keeps its status; a new date or
//! time of it is a reschedule (`app::reschedule`, which the console calls after this).

use chrono::{DateTime, Utc};

use super::follow_up::merges;
use super::{AppError, Core, Result, authorise};
use crate::authz::{Action, Actor, RequestFacts};
use crate::domain::RequestStatus;
use crate::store::{NewRequest, Request, Tx};

/// `actor` replaces the fields of `request` (as read in `tx` by the caller) with `fields`;
/// `complete`: nothing required is missing after the correction; `detail` goes to the audit.
#[allow(clippy::too_many_arguments)]
pub async fn fields(
    _core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    request: &Request,
    fields: &NewRequest,
    complete: bool,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<Request> {
    authorise(actor, Action::Manage, &RequestFacts::of(request))?;
    if request.status.is_terminal() {
        return Err(AppError::WrongState {
            code: request.code,
            status: request.status,
            what: "a correction",
        });
    }
    let who = actor.audit_name();
    let mut updated = tx.update_request_fields(request.id, fields, now).await?;
    tx.audit(now, &who, Some(request.id), "corrected", Some(detail))
        .await?;
    if merges(request) {
        let next = if complete {
            RequestStatus::Queued
        } else {
            RequestStatus::NeedsInfo
        };
        if updated.status != next {
            updated = tx.transition(updated.id, next, &who, now).await?;
        }
    }
    tracing::info!(code = %updated.code, status = %updated.status, actor = %who, "request corrected");
    Ok(updated)
}
