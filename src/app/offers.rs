//! Withdrawing open offers: an offer not delivered yet is simply dropped from the outbox; a
//! delivered Telegram offer is edited in place; otherwise the mediator gets a short message.

use crate::domain::OutboxStatus;
use chrono::{DateTime, Utc};

use super::Core;
use super::notice::{self, Notice, Withdrawn};
use crate::store::{Mediator, Offer, Request, Result, Tx};

/// Tells the mediator of a closed offer, if they saw it. Returns the notice written, if any.
pub async fn withdraw(
    core: &Core,
    tx: &mut Tx,
    request: &Request,
    offer: &Offer,
    mediator: Option<&Mediator>,
    why: Withdrawn,
    now: DateTime<Utc>,
) -> Result<Option<Notice>> {
    if let Some(oid) = offer.outbox_id
        && tx.cancel_pending_outbox(oid).await?
    {
        return Ok(None);
    }
    let Some(m) = mediator else { return Ok(None) };
    let mut edit_message_id = None;
    if let (Some(_), Some(oid)) = (m.telegram_id, offer.outbox_id) {
        let (status, external) = tx.outbox_state(oid).await?;
        if status == OutboxStatus::Sent {
            edit_message_id = external.and_then(|e| e.parse().ok());
        }
    }
    let n = Notice::Withdrawal {
        request: request.clone(),
        mediator: m.clone(),
        offer_id: offer.id,
        why,
        edit_message_id,
    };
    notice::emit(core, tx, &n, now).await?;
    Ok(Some(n))
}
