//! A mediator's answer to an offer: [Accetto] (exactly one acceptance per request wins,
//! whatever the concurrency: one conditional update in the store), [Non posso] (when nobody
//! of the wave is left open, the next wave goes at once), and the reason of a decline. Each
//! asks [`crate::authz`] whether the offer is this mediator's, in the caller's transaction.

use chrono::{DateTime, Utc};

use super::assign::{self, Assigned};
use super::timer::TimerKind;
use super::{Core, Result, authorise, wave};
use crate::authz::{Action, Actor, RequestFacts};
use crate::domain::RequestStatus;
use crate::store::{OfferRef, Tx};

/// The reasons a mediator can give for declining.
pub const DECLINE_REASONS: [&str; 4] = ["busy", "far", "language", "other"];

/// What an acceptance did.
#[derive(Debug, Clone, PartialEq)]
pub enum Accepted {
    /// This mediator got the job.
    Won(Box<Assigned>),
    /// The offer was closed, expired or the request taken: nothing changed.
    Taken { request_id: i64 },
    /// This mediator takes one meeting (`seq`) of a series ([`super::series::take`]).
    Meeting {
        request: Box<crate::store::Request>,
        seq: u32,
    },
}

/// The offer, authorised for `actor` (`AnswerOffer`: addressed to them, while active).
async fn offer_for(tx: &mut Tx, actor: &Actor, offer_id: i64) -> Result<(OfferRef, i64)> {
    let offer = tx.offer_ref(offer_id).await?;
    let facts = offer
        .as_ref()
        .map(|o| RequestFacts::default().offered_to(o.mediator_id))
        .unwrap_or_default();
    authorise(actor, Action::AnswerOffer, &facts)?;
    let (Some(o), Actor::Mediator { id, .. }) = (offer, actor) else {
        // Unreachable after the table (only the offered mediator may answer).
        return Err(super::AppError::Denied(crate::authz::Denied::NotYours));
    };
    Ok((o, *id))
}

/// `actor` accepts offer `offer_id`.
pub async fn accept(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    offer_id: i64,
    now: DateTime<Utc>,
) -> Result<Accepted> {
    let (offer, mediator_id) = offer_for(tx, actor, offer_id).await?;
    // one meeting of a series, offered on its own
    if let Some(occurrence_id) = tx.offer_meeting(offer_id).await? {
        return Ok(
            match super::series::take(core, tx, offer_id, occurrence_id, mediator_id, now).await? {
                Some((request, seq)) => Accepted::Meeting {
                    request: Box::new(request),
                    seq,
                },
                None => Accepted::Taken {
                    request_id: offer.request_id,
                },
            },
        );
    }
    let Some(request_id) = tx.accept_offer(offer_id, mediator_id, now).await? else {
        return Ok(Accepted::Taken {
            request_id: offer.request_id,
        });
    };
    let req = tx.request_by_id(request_id).await?;
    let assignment_id = tx
        .insert_assignment(request_id, mediator_id, Some(offer_id), "offer", now)
        .await?;
    let done = assign::assigned(core, tx, req, mediator_id, assignment_id, now).await?;
    tracing::info!(code = %done.request.code, assignment_id, "assigned by acceptance");
    Ok(Accepted::Won(Box::new(done)))
}

/// `actor` declines offer `offer_id`; `false` when it was no longer open. When nobody of the
/// wave is left open, the next wave goes at once.
pub async fn decline(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    offer_id: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    let (offer, mediator_id) = offer_for(tx, actor, offer_id).await?;
    if !tx.decline_offer(offer_id, mediator_id, None, now).await? {
        return Ok(false);
    }
    let req = tx.request_by_id(offer.request_id).await?;
    // one meeting of a series: the next mediator is asked for it
    if let Some(occurrence_id) = tx.offer_meeting(offer_id).await? {
        super::series::offer_next(core, tx, &req, occurrence_id, now).await?;
        return Ok(true);
    }
    if req.status == RequestStatus::Offered && tx.open_offers(req.id).await?.is_empty() {
        tx.cancel_timers(req.id, &[TimerKind::OfferWave]).await?;
        wave::next(core, tx, &req, now).await?;
    }
    Ok(true)
}

/// Why `actor` declined offer `offer_id` (one of [`DECLINE_REASONS`]); `false` when the offer
/// is not a declined one of theirs or the reason is not one of the list.
pub async fn decline_reason(
    tx: &mut Tx,
    actor: &Actor,
    offer_id: i64,
    reason: &str,
) -> Result<bool> {
    let (_, mediator_id) = offer_for(tx, actor, offer_id).await?;
    if !DECLINE_REASONS.contains(&reason) {
        return Ok(false);
    }
    Ok(tx.set_decline_reason(offer_id, mediator_id, reason).await?)
}
