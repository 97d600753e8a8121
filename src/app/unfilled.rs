//! When nobody can be found: `unfilled_notice_hours` before the appointment, a request with no
//! mediator confirmed gets one honest notice to its requester, on their channel (no mediator
//! yet, the coordinators are looking, they may cancel: `Notice::Unfilled`), and the
//! coordinators an alert; the console's queue marks it. Once per appointment time: the mark
//! (`requests.unfilled_notice_at`) is set by one conditional update, and a reschedule clears it.

use chrono::{DateTime, Duration, Utc};

use super::alert::{self, Alert};
use super::notice::{self, Notice};
use super::{Core, Result, authorise};
use crate::authz::{Action, Actor, RequestFacts};
use crate::domain::RequestStatus;
use crate::store::Tx;

/// Whether a request in `status` has no mediator confirmed (and is still wanted).
pub fn unfilled(status: RequestStatus) -> bool {
    matches!(
        status,
        RequestStatus::NeedsInfo
            | RequestStatus::Queued
            | RequestStatus::Offered
            | RequestStatus::Escalated
    )
}

/// Tells the requester of `request_id` (and the coordinators) that nobody is confirmed yet,
/// if the request is still unfilled, within the notice window and not told before. Returns
/// the notices written (none when there was nothing to do).
pub async fn notify(
    core: &Core,
    tx: &mut Tx,
    request_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Notice>> {
    let actor = Actor::System {
        process: "unfilled",
    };
    let req = tx.lock_request(request_id).await?;
    authorise(&actor, Action::Dispatch, &RequestFacts::of(&req))?;
    let hours = core.settings.unfilled_notice_hours;
    let due = req
        .starts_at
        .is_some_and(|s| s > now && s - now <= Duration::hours(hours));
    if hours <= 0 || !due || !unfilled(req.status) || req.unfilled_notice_at.is_some() {
        return Ok(Vec::new());
    }
    if !tx.mark_unfilled_notice(req.id, now).await? {
        return Ok(Vec::new());
    }
    let req = tx.request_by_id(req.id).await?;
    let n = Notice::Unfilled {
        request: req.clone(),
    };
    notice::emit(core, tx, &n, now).await?;
    let mut notices = vec![n];
    notices.extend(
        alert::raise(
            core,
            tx,
            &Alert::Unfilled {
                request: Box::new(req.clone()),
            },
            now,
        )
        .await?,
    );
    tx.audit(
        now,
        &actor.audit_name(),
        Some(req.id),
        "unfilled_notice",
        Some(&format!("{hours} hours before")),
    )
    .await?;
    tracing::info!(code = %req.code, "no mediator confirmed: requester told");
    Ok(notices)
}
