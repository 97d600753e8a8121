//! A coordinator's review of a request held from an email sender the policy does not know
//! (or held by the hourly cap, or by DMARC): [`accept`] lets it go on (queued, or waiting for
//! the missing fields) and acknowledges it to the sender on their thread
//! ([`Notice::Acknowledgement`]); [`reject`] cancels it without any reply (no backscatter).
//! From the bot's `/revisione` buttons, `connecting intake review`, the web console.

use chrono::{DateTime, Utc};

use super::notice::{self, Notice};
use super::{AppError, Core, Result, authorise, cancel};
use crate::authz::{Action, Actor, RequestFacts};
use crate::domain::RequestStatus;
use crate::store::{Request, Tx};

/// The request's held state, authorised for `actor` (`Manage`).
async fn held(tx: &mut Tx, actor: &Actor, request_id: i64) -> Result<Request> {
    let request = tx.request_by_id(request_id).await?;
    authorise(actor, Action::Manage, &RequestFacts::of(&request))?;
    if request.status != RequestStatus::NeedsReview {
        return Err(AppError::NotHeld(request.code));
    }
    Ok(request)
}

/// `actor` accepts held request `request_id`; returns it as it is now, with what was written.
pub async fn accept(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    request_id: i64,
    now: DateTime<Utc>,
) -> Result<(Request, Vec<Notice>)> {
    let request = held(tx, actor, request_id).await?;
    let to = if request.missing.is_empty() {
        RequestStatus::Queued
    } else {
        RequestStatus::NeedsInfo
    };
    let who = actor.audit_name();
    let updated = tx.transition(request.id, to, &who, now).await?;
    tx.audit(now, &who, Some(request.id), "review_accepted", None)
        .await?;
    let mut notices = Vec::new();
    if let Some(inbound_id) = tx.first_inbound_of("email", request.id).await? {
        let n = Notice::Acknowledgement {
            request: updated.clone(),
            inbound_id,
        };
        if let Some(id) = notice::emit(core, tx, &n, now).await? {
            // The answer to a registered operator's own mail is not a loop.
            if updated.operator_id.is_some() {
                tx.exempt_from_email_cap(id).await?;
            }
            notices.push(n);
        }
    }
    Ok((updated, notices))
}

/// `actor` rejects held request `request_id`: cancelled, nobody answered.
pub async fn reject(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    request_id: i64,
    now: DateTime<Utc>,
) -> Result<Request> {
    let request = held(tx, actor, request_id).await?;
    let done = cancel::cancelled_by_review(core, tx, actor, request, now).await?;
    tx.audit(
        now,
        &actor.audit_name(),
        Some(request_id),
        "review_rejected",
        None,
    )
    .await?;
    Ok(done.request)
}
