//! Cancelling a request, the same from every entry point (Telegram `/annulla`, an email
//! cancellation, a rejected held email, `connecting request cancel`, the web console): in the
//! caller's transaction the request becomes cancelled, the active assignment is closed and its
//! mediator told, open offers are withdrawn, every pending timer (wave expiry, reminders, the
//! "si è svolto?" question, the evaluation) is dropped, and less than
//! `late_cancellation_hours` before the start the cancellation is marked late. When someone
//! other than the requester cancels an assigned request, the requester is told too, with the
//! invitation's `CANCEL`.

use crate::domain::{AssignmentStatus, OfferState};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

use super::notice::{self, Notice, Withdrawn};
use super::{AppError, Core, Result, authorise, offers};
use crate::authz::{Action, Actor, RequestFacts};
use crate::domain::RequestStatus;
use crate::store::{Mediator, Request, Tx};

/// What a cancellation did.
#[derive(Debug, Clone, PartialEq)]
pub struct Cancelled {
    /// The request as it is now (cancelled).
    pub request: Request,
    /// Less than the notice period before the start.
    pub late: bool,
    /// What was written to the outbox (mediator told, offers withdrawn).
    pub notices: Vec<Notice>,
}

/// Cancels request `request_id` for `actor` inside `tx` (nothing is committed here).
pub async fn cancel(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    request_id: i64,
    now: DateTime<Utc>,
) -> Result<Cancelled> {
    let req = tx.request_by_id(request_id).await?;
    authorise(actor, Action::Cancel, &RequestFacts::of(&req))?;
    apply(core, tx, actor, req, now).await
}

/// A held request rejected by a coordinator's review ([`super::review::reject`], which asked
/// the table already): cancelled as any other.
pub(crate) async fn cancelled_by_review(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    req: Request,
    now: DateTime<Utc>,
) -> Result<Cancelled> {
    apply(core, tx, actor, req, now).await
}

/// The cancellation itself, once the actor is authorised.
async fn apply(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    req: Request,
    now: DateTime<Utc>,
) -> Result<Cancelled> {
    let open = RequestStatus::sources_of(RequestStatus::Cancelled);
    if !tx
        .set_status_if(req.id, &open, RequestStatus::Cancelled, "", now)
        .await?
    {
        return Err(AppError::WrongState {
            code: req.code,
            status: req.status,
            what: "cancellation",
        });
    }
    let late = req
        .starts_at
        .is_some_and(|s| s - now < Duration::hours(core.settings.late_cancellation_hours));
    let who = actor.audit_name();
    tx.mark_cancelled(req.id, late, &who).await?;
    tx.cancel_timers(req.id, &[]).await?;
    let mediators: HashMap<i64, Mediator> = tx
        .all_mediators()
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let mut notices = Vec::new();
    if let Some(a) = tx.active_assignment(req.id).await? {
        tx.close_assignment(a.id, AssignmentStatus::Cancelled, None, &who, now)
            .await?;
        if let Some(m) = mediators.get(&a.mediator_id) {
            let n = Notice::Cancellation {
                request: req.clone(),
                mediator: m.clone(),
                assignment_id: a.id,
                late,
                to_requester: false,
                by_requester: false,
            };
            notice::emit(core, tx, &n, now).await?;
            notices.push(n);
            // Someone else cancelled it (a coordinator, the CLI, the service): the requester
            // is told too, with the invitation's CANCEL. A requester who cancelled by email is
            // answered by the email intake's reply, with its CANCEL; one who cancelled on the
            // bot gets this notice as the answer, since it carries the CANCEL document.
            let by_requester = matches!(actor, Actor::Operator { .. });
            if !by_requester || req.channel == crate::domain::Channel::Telegram {
                let n = Notice::Cancellation {
                    request: req.clone(),
                    mediator: m.clone(),
                    assignment_id: a.id,
                    late,
                    to_requester: true,
                    by_requester,
                };
                if notice::emit(core, tx, &n, now).await?.is_some() {
                    notices.push(n);
                }
            }
        }
    }
    for offer in tx
        .close_open_offers(req.id, OfferState::Withdrawn, now)
        .await?
    {
        if let Some(n) = offers::withdraw(
            core,
            tx,
            &req,
            &offer,
            mediators.get(&offer.mediator_id),
            Withdrawn::Cancelled,
            now,
        )
        .await?
        {
            notices.push(n);
        }
    }
    tx.audit(
        now,
        &who,
        Some(req.id),
        "cancelled",
        Some(if late { "late" } else { "in time" }),
    )
    .await?;
    tracing::info!(code = %req.code, late, actor = %who, "request cancelled");
    let request = tx.request_by_id(req.id).await?;
    Ok(Cancelled {
        request,
        late,
        notices,
    })
}
