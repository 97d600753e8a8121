//! Assigning a mediator: by hand (a coordinator from `/assegna`, `connecting request assign`,
//! the web console), and the steps every assignment shares with an accepted offer
//! ([`assigned`]): the other offers withdrawn, the wave timer dropped, the requester's
//! confirmation and the mediator's full details queued, reminders and the after-the-end
//! questions scheduled.

use crate::domain::OfferState;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

use super::notice::{self, Notice, Withdrawn};
use super::timer::TimerKind;
use super::wave::job_of;
use super::{AppError, Core, Result, authorise, offers};
use crate::authz::{Action, Actor, RequestFacts};
use crate::domain::appointment::local_to_utc;
use crate::domain::{RequestCode, RequestStatus};
use crate::store::{Mediator, Request, StoreError, Tx};

/// What an assignment did.
#[derive(Debug, Clone, PartialEq)]
pub struct Assigned {
    /// The request as read before the assignment.
    pub request: Request,
    pub mediator: Mediator,
    pub assignment_id: i64,
    /// What was written to the outbox (confirmation, details, withdrawals).
    pub notices: Vec<Notice>,
}

/// `actor` (a coordinator, the CLI) assigns request `code` to mediator `mediator_id`: from
/// queued, offered or escalated; the mediator must be active.
pub async fn by_hand(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    code: RequestCode,
    mediator_id: i64,
    now: DateTime<Utc>,
) -> Result<Assigned> {
    let id = tx
        .request_id_by_code(code)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("request {code}")))?;
    let req = tx.request_by_id(id).await?;
    authorise(actor, Action::Manage, &RequestFacts::of(&req))?;
    match tx.mediators_by_ids(&[mediator_id]).await?.first() {
        None => return Err(StoreError::NotFound(format!("mediator {mediator_id}")).into()),
        Some(m) if !m.active => return Err(AppError::MediatorInactive(mediator_id)),
        Some(_) => {}
    }
    let applied = tx
        .set_status_if(
            req.id,
            &RequestStatus::sources_of(RequestStatus::Assigned),
            RequestStatus::Assigned,
            "",
            now,
        )
        .await?;
    if !applied {
        return Err(AppError::WrongState {
            code,
            status: req.status,
            what: "assignment",
        });
    }
    let who = actor.audit_name();
    tx.set_assigned_mediator(req.id, mediator_id).await?;
    let assignment_id = tx
        .insert_assignment(req.id, mediator_id, None, &who, now)
        .await?;
    tx.audit(
        now,
        &who,
        Some(req.id),
        "assigned",
        Some(&format!("mediator {mediator_id}")),
    )
    .await?;
    assigned(core, tx, req, mediator_id, assignment_id, now).await
}

/// After an assignment (by hand or by acceptance) inside `tx`: the other offers withdrawn, the
/// wave timer dropped, the confirmation and the details queued, the follow-ups scheduled.
pub(crate) async fn assigned(
    core: &Core,
    tx: &mut Tx,
    req: Request,
    mediator_id: i64,
    assignment_id: i64,
    now: DateTime<Utc>,
) -> Result<Assigned> {
    let others = tx
        .close_open_offers(req.id, OfferState::Withdrawn, now)
        .await?;
    let mut ids: Vec<i64> = others.iter().map(|o| o.mediator_id).collect();
    ids.push(mediator_id);
    let mediators: HashMap<i64, Mediator> = tx
        .mediators_by_ids(&ids)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    let mut notices = Vec::new();
    for other in others {
        if let Some(n) = offers::withdraw(
            core,
            tx,
            &req,
            &other,
            mediators.get(&other.mediator_id),
            Withdrawn::Taken,
            now,
        )
        .await?
        {
            notices.push(n);
        }
    }
    tx.cancel_timers(req.id, &[TimerKind::OfferWave]).await?;
    // a series is taken whole: every meeting still on is this mediator's, but those they
    // cannot make, offered on their own once the requester has the confirmation
    let (req, missed) = if req.series.is_some() {
        tx.assign_occurrences(req.id, mediator_id, now).await?;
        let missed = super::series::keep_missed_free(core, tx, &req, mediator_id, now).await?;
        (tx.request_by_id(req.id).await?, missed)
    } else {
        (req, Vec::new())
    };
    let Some(m) = mediators.get(&mediator_id) else {
        return Err(StoreError::NotFound(format!("mediator {mediator_id}")).into());
    };
    // The requester: the mediator's name, when, where. The winner: the full details.
    for n in [
        Notice::Confirmation {
            request: req.clone(),
            mediator: m.clone(),
            assignment_id,
        },
        Notice::Details {
            request: req.clone(),
            mediator: m.clone(),
            assignment_id,
        },
    ] {
        notice::emit(core, tx, &n, now).await?;
        notices.push(n);
    }
    notices.extend(super::series::offer_missed(core, tx, &req, &missed, now).await?);
    schedule_followups(core, tx, &req, assignment_id, now).await?;
    Ok(Assigned {
        request: req,
        mediator: m.clone(),
        assignment_id,
        notices,
    })
}

/// Reminders (the day before at the same local time, and `reminder_hours_before` before)
/// and the after-the-end questions (a series: those of each meeting, [`super::meetings::follow`]). The day-before reminder is computed on the wall clock
/// in the configured zone, so it is right across a daylight-saving change.
pub(crate) async fn schedule_followups(
    core: &Core,
    tx: &mut Tx,
    req: &Request,
    assignment_id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    // a series: each meeting is reminded and asked about on its own (`app::meetings`)
    if req.series.is_some() {
        return super::meetings::follow(core, tx, req, now).await;
    }
    let Some(appt) = job_of(req).and_then(|j| j.appointment) else {
        return Ok(());
    };
    let tz = core.settings.tz;
    let start = appt.starts_at(tz);
    let day_before = local_to_utc((appt.date - Duration::days(1)).and_time(appt.start), tz);
    let hours_before = start - Duration::hours(core.settings.reminder_hours_before);
    for (kind, due) in [
        (TimerKind::ReminderDayBefore, day_before),
        (TimerKind::ReminderHoursBefore, hours_before),
    ] {
        if due > now {
            tx.schedule_timer(kind, Some(req.id), Some(assignment_id), due, now)
                .await?;
        }
    }
    tx.schedule_timer(
        TimerKind::AfterEnd,
        Some(req.id),
        Some(assignment_id),
        appt.ends_at(tz),
        now,
    )
    .await?;
    Ok(())
}
