//! Firing a due timer (claimed by the caller's transaction, so it fires once across
//! instances): an expired offer wave sends the next wave; a reminder reaches the assigned
//! mediator; after the end, the mediator is asked whether it took place and the requester for
//! a mark. A timer whose request moved on (cancelled, reassigned, a newer wave) does nothing.

use chrono::{DateTime, Utc};

use super::notice::{self, Notice, Reminder};
use super::{Core, Result, authorise, wave};
use crate::authz::{Action, Actor, RequestFacts};
use crate::domain::RequestStatus;
use crate::store::{Timer, Tx};

/// What a timer is for (stored as its `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TimerKind {
    /// An offer wave expires (`ref_id`: the wave number).
    OfferWave,
    /// The day before the appointment, at the same local time (`ref_id`: the assignment).
    ReminderDayBefore,
    /// `reminder_hours_before` the start (`ref_id`: the assignment).
    ReminderHoursBefore,
    /// The appointment's end: "si è svolto?" and the evaluation (`ref_id`: the assignment).
    AfterEnd,
}

impl TimerKind {
    pub const ALL: [TimerKind; 4] = [
        TimerKind::OfferWave,
        TimerKind::ReminderDayBefore,
        TimerKind::ReminderHoursBefore,
        TimerKind::AfterEnd,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::OfferWave => "offer_wave",
            TimerKind::ReminderDayBefore => "reminder_day_before",
            TimerKind::ReminderHoursBefore => "reminder_two_hours",
            TimerKind::AfterEnd => "after_end",
        }
    }

    /// The kind of a stored name; `None` for a name this version does not know.
    pub fn parse(s: &str) -> Option<TimerKind> {
        TimerKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl std::fmt::Display for TimerKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

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
    let Some(kind) = TimerKind::parse(&timer.kind) else {
        tracing::warn!(
            timer_id = timer.id,
            kind = %timer.kind,
            "unknown timer kind; marked done"
        );
        return Ok(vec![]);
    };
    if kind == TimerKind::OfferWave {
        if req.status != RequestStatus::Offered || timer.ref_id != Some(tx.last_wave(req.id).await?)
        {
            return Ok(vec![]);
        }
        tx.close_open_offers(req.id, "expired", now).await?;
        wave::next(core, tx, &req, now).await?;
        return Ok(vec![]);
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
    let notices = match kind {
        TimerKind::AfterEnd => vec![
            Notice::OutcomeQuestion {
                request: req.clone(),
                mediator: m,
                timer_id: timer.id,
                assignment_id: a.id,
            },
            Notice::EvaluationQuestion {
                request: req.clone(),
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
        }],
    };
    notice::emit_all(core, tx, &notices, now).await?;
    Ok(notices)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_reads_back_and_an_unknown_one_is_none() {
        for k in TimerKind::ALL {
            assert_eq!(TimerKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(TimerKind::parse("reminder_next_week"), None);
    }
}
