//! Opening a request from a draft a channel read (the bot's [Conferma], a new email, a text
//! file given to `connecting ingest`): the fields as the extractor understood them, in one of
//! the entry states — received, waiting for information, waiting for a coordinator's review,
//! or queued for dispatch. The channel answers its sender itself (the bot's reply, the
//! acknowledgement on the email thread); dispatch picks a queued request up.

use chrono::{DateTime, Utc};

use super::{AppError, Core, Result, authorise};
use crate::authz::{Action, Actor, RequestFacts};
use crate::domain::RequestStatus;
use crate::store::{NewRequest, Request, Tx};

/// The states a request may be born in.
pub const ENTRY_STATES: [RequestStatus; 4] = [
    RequestStatus::Received,
    RequestStatus::NeedsInfo,
    RequestStatus::NeedsReview,
    RequestStatus::Queued,
];

/// `actor` opens a request with `fields` inside `tx` (`fields.status`: its entry state,
/// received when not given).
pub async fn from_draft(
    _core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    fields: &NewRequest,
    now: DateTime<Utc>,
) -> Result<Request> {
    let facts = RequestFacts {
        operator_id: fields.operator_id,
        requester_email: fields.requester_email.clone(),
        requester_chat_id: fields.requester_chat_id,
        ..Default::default()
    };
    authorise(actor, Action::Create, &facts)?;
    let status = fields.status.unwrap_or(RequestStatus::Received);
    if !ENTRY_STATES.contains(&status) {
        return Err(AppError::NotAnEntryState(status));
    }
    let request = tx.create_request(fields, now).await?;
    tracing::info!(code = %request.code, status = %request.status, actor = %actor.audit_name(), "request opened");
    Ok(request)
}
