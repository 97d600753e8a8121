//! Firing a due timer (claimed by the caller's transaction, so it fires once across
//! instances): an expired offer wave sends the next wave; a reminder reaches the assigned
//! mediator; after the end, the mediator is asked whether it took place and the requester for
//! a mark (a meeting of a series: [`super::meetings`]); the mediator's answer to a new time ran out (`app::reschedule`); unanswered hours
//! count, unverified. A timer whose request moved on (cancelled, reassigned, a newer wave) does nothing.

use crate::domain::OfferState;
use chrono::{DateTime, Utc};

use super::notice::{self, Notice, Reminder};
use super::{Core, Result, authorise, wave};
use crate::authz::{Action, Actor, RequestFacts};
use crate::domain::RequestStatus;
use crate::store::{Timer, Tx};

pub use crate::domain::TimerKind;

/// Fires `timer` inside `tx` for the service; returns the notices written.
pub async fn fire(
    core: &Core,
    tx: &mut Tx,
    timer: &Timer,
    now: DateTime<Utc>,
) -> Result<Vec<Notice>> {
    let actor = Actor::System { process: "timers" };
    let Some(request_id) = timer.request_id else {
        authorise(&actor, Action::Dispatch, &RequestFacts::default())?;
        return Ok(vec![]);
    };
    let req = tx.request_by_id(request_id).await?;
    authorise(&actor, Action::Dispatch, &RequestFacts::of(&req))?;
    // A kind this version does not know is an error: the timer is put back and given up
    // after a few attempts (`Dispatcher::run_due_timers`), never a panic.
    let kind = timer
        .kind
        .clone()
        .map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))?;
    if kind == TimerKind::OfferWave {
        if req.status != RequestStatus::Offered || timer.ref_id != Some(tx.last_wave(req.id).await?)
        {
            return Ok(vec![]);
        }
        tx.close_open_offers(req.id, OfferState::Expired, now)
            .await?;
        wave::next(core, tx, &req, now).await?;
        return Ok(vec![]);
    }
    if kind == TimerKind::HoursDue {
        if let Some(assignment_id) = timer.ref_id {
            super::account::expire(tx, req.id, assignment_id, now).await?;
        }
        return Ok(vec![]);
    }
    // moved meetings whose mediator did not answer in time: offered to others
    if kind == TimerKind::MeetingsAnswer {
        return super::series::moved_unanswered(core, tx, timer, now).await;
    }
    // a meeting of a series: whoever holds that meeting (`app::meetings`)
    if let Some(occurrence_id) = timer.occurrence_id {
        return super::meetings::fire(core, tx, timer, &req, kind, occurrence_id, now).await;
    }
    let Some(a) = tx.active_assignment(req.id).await? else {
        return Ok(vec![]);
    };
    if Some(a.id) != timer.ref_id {
        return Ok(vec![]);
    }
    let Some(m) = tx.mediators_by_ids(&[a.mediator_id]).await?.pop() else {
        return Ok(vec![]);
    };
    if kind == TimerKind::ChangeAnswer {
        return super::reschedule::expired(core, tx, &req, &a, &m, now).await;
    }
    let notices = match kind {
        TimerKind::AfterEnd => vec![
            Notice::OutcomeQuestion {
                request: req.clone(),
                mediator: m,
                timer_id: timer.id,
                assignment_id: a.id,
                meeting: None,
            },
            Notice::EvaluationQuestion {
                request: req.clone(),
                criteria: core.settings.criteria.clone(),
            },
        ],
        which => vec![Notice::Reminder {
            request: req.clone(),
            mediator: m,
            timer_id: timer.id,
            which: if which == TimerKind::ReminderDayBefore {
                Reminder::DayBefore
            } else {
                Reminder::HoursBefore
            },
            meeting: None,
        }],
    };
    notice::emit_all(core, tx, &notices, now).await?;
    Ok(notices)
}
