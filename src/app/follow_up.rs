//! More information on an existing request (an email reply on its thread, a document): while
//! the request is still being completed (received, waiting for information) the fields the
//! channel read are merged and the request moves on (queued once nothing is missing); past
//! that, the message is kept for the coordinator and no field changes silently.

use chrono::{DateTime, Utc};

use super::{Core, Result, authorise};
use crate::authz::{Action, Actor, RequestFacts};
use crate::domain::RequestStatus;
use crate::store::{NewRequest, Request, Tx};

/// What the channel read in the follow-up, merged with the stored request.
#[derive(Debug, Clone)]
pub struct Update<'a> {
    pub fields: &'a NewRequest,
    /// Nothing is missing any more.
    pub complete: bool,
}

/// What a follow-up did.
#[derive(Debug, Clone, PartialEq)]
pub enum FollowUp {
    /// Merged: the request as it is now.
    Merged(Box<Request>),
    /// Past intake: recorded for the coordinator (audited), nothing changed.
    Recorded,
}

/// Whether a follow-up on `request` is merged (else recorded).
pub fn merges(request: &Request) -> bool {
    matches!(
        request.status,
        RequestStatus::Received | RequestStatus::NeedsInfo
    )
}

/// `actor` adds information to `request` (as read in `tx` by the caller, which needed it to
/// read the follow-up); `update` is what the channel read (used only when the request
/// [`merges`]); `detail` goes to the audit.
pub async fn add_info(
    _core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    request: &Request,
    update: Option<Update<'_>>,
    detail: &str,
    now: DateTime<Utc>,
) -> Result<FollowUp> {
    authorise(actor, Action::AddInfo, &RequestFacts::of(request))?;
    let who = actor.audit_name();
    let (true, Some(update)) = (merges(request), update) else {
        tx.audit(
            now,
            &who,
            Some(request.id),
            "follow_up_received",
            Some(detail),
        )
        .await?;
        return Ok(FollowUp::Recorded);
    };
    let mut updated = tx
        .update_request_fields(request.id, update.fields, now)
        .await?;
    if update.complete {
        updated = tx
            .transition(updated.id, RequestStatus::Queued, &who, now)
            .await?;
    } else if updated.status == RequestStatus::Received {
        updated = tx
            .transition(updated.id, RequestStatus::NeedsInfo, &who, now)
            .await?;
    }
    Ok(FollowUp::Merged(Box::new(updated)))
}
