//! The requester's evaluation of an intervention (a mark from 1 to 5, an optional comment),
//! from the Telegram buttons, an email reply or the CLI. Accepted only once the appointment has
//! happened: the request is done, or assigned/confirmed with its end in the past. A second
//! evaluation replaces the first.

use chrono::{DateTime, Utc};

use super::{AppError, Core, Result, authorise};
use crate::authz::{Action, Actor, RequestFacts};
use crate::domain::RequestStatus;
use crate::store::{Request, Tx};

/// Whether `request` may be evaluated at `now`.
pub fn check_state(request: &Request, now: DateTime<Utc>) -> Result<()> {
    match request.status {
        RequestStatus::Done => Ok(()),
        RequestStatus::Assigned | RequestStatus::Confirmed => match request.ends_at {
            Some(end) if end <= now => Ok(()),
            _ => Err(AppError::TooEarly(request.code)),
        },
        status => Err(AppError::WrongState {
            code: request.code,
            status,
            what: "evaluation",
        }),
    }
}

/// Records `actor`'s evaluation of request `request_id` inside `tx`.
pub async fn evaluate(
    _core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    request_id: i64,
    score: i64,
    comment: Option<&str>,
    now: DateTime<Utc>,
) -> Result<()> {
    if !(1..=5).contains(&score) {
        return Err(AppError::BadScore(score));
    }
    let req = tx.request_by_id(request_id).await?;
    authorise(actor, Action::Evaluate, &RequestFacts::of(&req))?;
    check_state(&req, now)?;
    tx.record_evaluation(req.id, score, comment, now).await?;
    Ok(())
}
