//! An appointment that changed after a mediator was assigned (a coordinator's correction of its
//! place on the console; a new date or time the mediator agreed to, `app::reschedule`, sends the
//! same notice): in the caller's
//! transaction the requester and the assigned mediator are told the new date, time and place,
//! and their calendar invitations are sent again for the same event with a higher `SEQUENCE`
//! (`Notice::Changed`). A change of anything else tells nobody.

use chrono::{DateTime, Utc};

use super::notice::{self, Notice};
use super::{Core, Result};
use crate::domain::RequestStatus;
use crate::store::{Request, Tx};

/// Whether the appointment itself (when, how long, where) differs between `a` and `b`.
pub fn appointment_differs(a: &Request, b: &Request) -> bool {
    a.date != b.date
        || a.start_time != b.start_time
        || a.starts_at != b.starts_at
        || a.ends_at != b.ends_at
        || a.duration_minutes != b.duration_minutes
        || a.address != b.address
        || a.comune != b.comune
}

/// After the fields of `before` were changed in `tx` (by a caller that asked the table for
/// the change): when the request has an assigned mediator and its appointment changed, the
/// requester and the mediator are told, with the updated invitation. Returns what was written.
pub async fn appointment_changed(
    core: &Core,
    tx: &mut Tx,
    before: &Request,
    now: DateTime<Utc>,
) -> Result<Vec<Notice>> {
    let after = tx.request_by_id(before.id).await?;
    if !matches!(
        after.status,
        RequestStatus::Assigned | RequestStatus::Confirmed
    ) || !appointment_differs(before, &after)
    {
        return Ok(Vec::new());
    }
    let Some(a) = tx.active_assignment(after.id).await? else {
        return Ok(Vec::new());
    };
    let Some(m) = tx
        .mediators_by_ids(&[a.mediator_id])
        .await?
        .into_iter()
        .next()
    else {
        return Ok(Vec::new());
    };
    let mut notices = Vec::new();
    for to_mediator in [false, true] {
        let n = Notice::Changed {
            request: after.clone(),
            mediator: m.clone(),
            assignment_id: a.id,
            to_mediator,
        };
        notice::emit(core, tx, &n, now).await?;
        notices.push(n);
    }
    tracing::info!(code = %after.code, assignment = a.id, "appointment changed: told both");
    Ok(notices)
}
