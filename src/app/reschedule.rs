//! Rescheduling: a requester (or a coordinator) moves a request to another date or time, from
//! an email reply on its thread ("spostiamo a giovedì alle 11"), `/modifica CODICE` in the bot,
//! or the console's correction. The request keeps its code. In the caller's transaction:
//!
//! - with a mediator assigned, the new time is stored, the reminders are dropped and the
//!   mediator is asked whether it suits them ([Va bene] / [Non posso], `Notice::ChangeQuestion`)
//!   with a timer for the answer (`TimerKind::ChangeAnswer`, the offer timeout); the requester
//!   is told they are being asked (`Notice::Rescheduled`); a mediator reached by email is
//!   asked by email and answers by replying "va bene" / "non posso" (the email intake); one
//!   with neither Telegram nor email keeps the appointment at the new time, both hear it with
//!   the updated invitation (`Notice::Changed`), and the coordinators are alerted to check
//!   with them;
//! - [`answer`]: "va bene" keeps the assignment, reschedules the reminders, and both hear the
//!   new time with the updated invitation (`Notice::Changed`, `REQUEST` with a higher
//!   `SEQUENCE`); "non posso", or no answer in time ([`expired`], from `app::timer`), ends the
//!   assignment (`released`), the mediator gets the invitation's `CANCEL`, the requester is told
//!   (`Notice::Requeued`), and the request goes back to the queue with a new round of offers
//!   sent at once (`app::wave`): whoever was asked for the old time may be asked again, the
//!   mediator who left is not;
//! - without a mediator, the request just takes the new time: offers still out for the old
//!   time are withdrawn and a new round goes out from the queue.
//!
//! Under `late_cancellation_hours` before the old appointment, the change is flagged late
//! (`requests.late_change`), as a late cancellation is, and the words say so.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use super::notice::{self, Notice, Withdrawn};
use super::timer::TimerKind;
use super::{AppError, Core, Result, authorise, offers};
use crate::authz::{Action, Actor, RequestFacts};
use crate::domain::appointment::local_to_utc;
use crate::domain::{Appointment, AssignmentStatus, OfferState, RequestStatus};
use crate::store::{Assignment, Mediator, NewTime, Request, Tx};

/// The new date and time a channel read (local, in the configured zone); `duration_minutes`:
/// a new duration, if one was given (else the request keeps its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct When {
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub duration_minutes: Option<i64>,
}

/// What a reschedule did.
#[derive(Debug, Clone, PartialEq)]
pub struct Rescheduled {
    /// The request as it is now (new time).
    pub request: Request,
    /// Under the notice period before the old appointment.
    pub late: bool,
    /// The assigned mediator, now asked whether the new time suits them.
    pub asking: Option<Mediator>,
    /// What was written to the outbox.
    pub notices: Vec<Notice>,
}

/// What the mediator's answer (or its timer) did.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeAnswer {
    /// The mediator keeps the appointment at the new time.
    Kept(Box<Request>),
    /// The assignment ended; the request is offered again.
    Left(Box<Request>),
    /// The question is no longer open (answered, expired, or the request moved on).
    Stale,
}

/// Statuses whose date and time can be moved by [`reschedule`]; a request still being completed
/// takes a new time as any other information (`app::follow_up`).
pub fn reschedulable(status: RequestStatus) -> bool {
    matches!(
        status,
        RequestStatus::Queued
            | RequestStatus::Offered
            | RequestStatus::Escalated
            | RequestStatus::Assigned
            | RequestStatus::Confirmed
    )
}

/// The new time of `req` from what a channel read: a date, a start or both (the other kept),
/// and a duration, if any. `None` when nothing usable was read or nothing would change.
pub fn new_when(
    req: &Request,
    date: Option<NaiveDate>,
    start: Option<NaiveTime>,
    duration_minutes: Option<i64>,
) -> Option<When> {
    when_from(
        (req.date, req.start_time, req.duration_minutes),
        date,
        start,
        duration_minutes,
    )
}

fn when_from(
    (old_date, old_start, old_minutes): (Option<NaiveDate>, Option<NaiveTime>, Option<i64>),
    date: Option<NaiveDate>,
    start: Option<NaiveTime>,
    duration_minutes: Option<i64>,
) -> Option<When> {
    if date.is_none() && start.is_none() {
        return None;
    }
    let w = When {
        date: date.or(old_date)?,
        start: start.or(old_start)?,
        duration_minutes,
    };
    let same = Some(w.date) == old_date
        && Some(w.start) == old_start
        && w.duration_minutes.is_none_or(|m| Some(m) == old_minutes);
    (!same).then_some(w)
}

/// Whether `when` has already begun at `now` (in the zone `tz`): no appointment moves there.
pub fn is_past(when: When, tz: chrono_tz::Tz, now: DateTime<Utc>) -> bool {
    local_to_utc(when.date.and_time(when.start), tz) <= now
}

/// `actor` moves request `request_id` to `when` inside `tx` (nothing is committed here); a
/// time already past is refused (`AppError::WrongState`). A series: its next meeting still to
/// come ([`reschedule_with`]).
pub async fn reschedule(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    request_id: i64,
    when: When,
    now: DateTime<Utc>,
) -> Result<Rescheduled> {
    reschedule_with(core, tx, actor, request_id, when, None, now).await
}

/// [`reschedule`], with the requester's `words` when a channel has them: for a series they say
/// which meeting moves (the one whose day they name, else the next still to come) and whether
/// those that follow move too ([`super::series::meeting_to_move`]); the meetings move through
/// [`super::series::change`], and their mediators and the requester are told there.
#[allow(clippy::too_many_arguments)]
pub async fn reschedule_with(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    request_id: i64,
    when: When,
    words: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Rescheduled> {
    let req = tx.lock_request(request_id).await?;
    if req.series.is_some() {
        return move_series(core, tx, actor, &req, when, words, now).await;
    }
    authorise(actor, Action::Reschedule, &RequestFacts::of(&req))?;
    if !reschedulable(req.status) || req.date.is_none() || req.start_time.is_none() {
        return Err(AppError::WrongState {
            code: req.code,
            status: req.status,
            what: "a change of date or time",
        });
    }
    let late = req
        .starts_at
        .is_some_and(|s| s - now < Duration::hours(core.settings.late_cancellation_hours));
    let minutes = when.duration_minutes.or(req.duration_minutes);
    let tz = core.settings.tz;
    let (starts_at, ends_at) = match minutes
        .and_then(|m| u32::try_from(m).ok())
        .and_then(|m| Appointment::new(when.date, when.start, m).ok())
    {
        Some(a) => (a.starts_at(tz), Some(a.ends_at(tz))),
        None => (local_to_utc(when.date.and_time(when.start), tz), None),
    };
    if starts_at <= now {
        return Err(AppError::WrongState {
            code: req.code,
            status: req.status,
            what: "a change to a time already past",
        });
    }
    let new = NewTime {
        date: when.date,
        start: when.start,
        duration_minutes: minutes,
        starts_at,
        ends_at,
    };
    let who = actor.audit_name();
    let request = tx.set_appointment_time(req.id, &new, late, now).await?;
    tx.audit(
        now,
        &who,
        Some(req.id),
        "rescheduled",
        Some(&format!(
            "{} {} -> {} {}{}",
            req.date.map(|d| d.to_string()).unwrap_or_default(),
            req.start_time
                .map(|t| t.format("%H:%M").to_string())
                .unwrap_or_default(),
            when.date,
            when.start.format("%H:%M"),
            if late { ", late" } else { "" }
        )),
    )
    .await?;
    tracing::info!(code = %req.code, late, actor = %who, "request rescheduled");
    let mut notices = Vec::new();
    let assignment = match req.status {
        RequestStatus::Assigned | RequestStatus::Confirmed => tx.active_assignment(req.id).await?,
        _ => None,
    };
    let mediator = match &assignment {
        Some(a) => tx.mediators_by_ids(&[a.mediator_id]).await?.pop(),
        None => None,
    };
    if let (Some(a), Some(m)) = (&assignment, &mediator) {
        // The old reminders are wrong now; they come back when the mediator agrees.
        tx.cancel_timers(
            req.id,
            &[
                TimerKind::ReminderDayBefore,
                TimerKind::ReminderHoursBefore,
                TimerKind::AfterEnd,
                TimerKind::ChangeAnswer,
            ],
        )
        .await?;
        if m.telegram_id.is_none() && m.email.is_none() {
            // No way to ask (a mediator with neither Telegram nor email, assigned by hand):
            // the assignment stands at the new time, both hear it with the updated
            // invitation, and the coordinators are asked to check with the mediator.
            super::assign::schedule_followups(core, tx, &request, a.id, now).await?;
            for to_mediator in [false, true] {
                let n = Notice::Changed {
                    request: request.clone(),
                    mediator: m.clone(),
                    assignment_id: a.id,
                    to_mediator,
                };
                notice::emit(core, tx, &n, now).await?;
                notices.push(n);
            }
            let code = request.code.to_string();
            let words = crate::vocab::date_time(core.settings.lang, when.date, Some(when.start));
            notices.extend(
                super::alert::prompt(
                    core,
                    tx,
                    &format!("moved_no_telegram:{}:{}", req.id, starts_at.timestamp()),
                    Some(req.id),
                    "dispatch.alert_moved_no_telegram_subject",
                    "dispatch.alert_moved_no_telegram",
                    &[("code", &code), ("when", &words), ("mediator", &m.name)],
                    now,
                )
                .await?,
            );
            return Ok(Rescheduled {
                request,
                late,
                asking: None,
                notices,
            });
        }
        let minutes = if request.urgent {
            core.settings.urgent_offer_timeout_minutes
        } else {
            core.settings.offer_timeout_minutes
        };
        let due = (now + Duration::minutes(minutes.max(1))).min(starts_at.max(now));
        let timer_id = tx
            .schedule_timer(TimerKind::ChangeAnswer, Some(req.id), Some(a.id), due, now)
            .await?;
        for n in [
            Notice::ChangeQuestion {
                request: request.clone(),
                mediator: m.clone(),
                assignment_id: a.id,
                timer_id,
                late,
            },
            Notice::Rescheduled {
                request: request.clone(),
                asking: Some(m.clone()),
                late,
            },
        ] {
            notice::emit(core, tx, &n, now).await?;
            notices.push(n);
        }
        return Ok(Rescheduled {
            request,
            late,
            asking: mediator,
            notices,
        });
    }
    // No mediator going: offers out for the old time are withdrawn, a new round follows.
    let open = tx
        .close_open_offers(req.id, OfferState::Withdrawn, now)
        .await?;
    if !open.is_empty() {
        let ids: Vec<i64> = open.iter().map(|o| o.mediator_id).collect();
        let ms = tx.mediators_by_ids(&ids).await?;
        for o in &open {
            let m = ms.iter().find(|m| m.id == o.mediator_id);
            if let Some(n) =
                offers::withdraw(core, tx, &request, o, m, Withdrawn::Moved, now).await?
            {
                notices.push(n);
            }
        }
    }
    tx.cancel_timers(req.id, &[TimerKind::OfferWave]).await?;
    tx.new_offer_round(req.id).await?;
    let mut request = request;
    if request.status != RequestStatus::Queued {
        request = tx
            .transition(request.id, RequestStatus::Queued, &who, now)
            .await?;
    }
    let n = Notice::Rescheduled {
        request: request.clone(),
        asking: None,
        late,
    };
    notice::emit(core, tx, &n, now).await?;
    notices.push(n);
    Ok(Rescheduled {
        request,
        late,
        asking: None,
        notices,
    })
}

/// The assigned mediator's answer to the question of timer `timer_id`: `ok` keeps the
/// appointment at the new time, else the assignment ends and the request is offered again.
pub async fn answer(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    timer_id: i64,
    ok: bool,
    now: DateTime<Utc>,
) -> Result<ChangeAnswer> {
    let Some(timer) = tx.pending_timer_by_id(timer_id).await? else {
        return Ok(ChangeAnswer::Stale);
    };
    // moved meetings of a series: their own question (`series::answer_moved`)
    if timer.kind == Ok(TimerKind::MeetingsAnswer) {
        return super::series::answer_moved(core, tx, actor, &timer, ok, now).await;
    }
    let (Ok(TimerKind::ChangeAnswer), Some(request_id)) = (timer.kind.clone(), timer.request_id)
    else {
        return Ok(ChangeAnswer::Stale);
    };
    let req = tx.lock_request(request_id).await?;
    let Some(a) = tx.active_assignment(req.id).await? else {
        return Ok(ChangeAnswer::Stale);
    };
    authorise(
        actor,
        Action::AnswerChange,
        &RequestFacts::of(&req).assigned_to(a.mediator_id),
    )?;
    if Some(a.id) != timer.ref_id || !tx.finish_pending_timer(timer_id, now).await? {
        return Ok(ChangeAnswer::Stale);
    }
    let Some(m) = tx.mediators_by_ids(&[a.mediator_id]).await?.pop() else {
        return Ok(ChangeAnswer::Stale);
    };
    let who = actor.audit_name();
    if ok {
        super::assign::schedule_followups(core, tx, &req, a.id, now).await?;
        tx.audit(now, &who, Some(req.id), "change_agreed", None)
            .await?;
        for to_mediator in [false, true] {
            let n = Notice::Changed {
                request: req.clone(),
                mediator: m.clone(),
                assignment_id: a.id,
                to_mediator,
            };
            notice::emit(core, tx, &n, now).await?;
        }
        tracing::info!(code = %req.code, assignment = a.id, "new time kept by the mediator");
        return Ok(ChangeAnswer::Kept(Box::new(req)));
    }
    release(core, tx, &who, &req, &a, &m, false, now)
        .await
        .map(|(r, _)| ChangeAnswer::Left(Box::new(r)))
}

/// The answer's timer ran out (fired by `app::timer` for the service, which asked the table):
/// the assignment ends as if the mediator had said "non posso".
pub(crate) async fn expired(
    core: &Core,
    tx: &mut Tx,
    req: &Request,
    a: &Assignment,
    m: &Mediator,
    now: DateTime<Utc>,
) -> Result<Vec<Notice>> {
    let (r, notices) = release(core, tx, "process:timers", req, a, m, true, now).await?;
    tracing::info!(code = %r.code, assignment = a.id, "no answer to the new time: released");
    Ok(notices)
}

/// Ends assignment `a` of `req` after a new time did not suit (or was not answered): the
/// mediator is told (with `CANCEL`), the requester too, and the request is offered again.
/// Returns the request as it is now and the notices written to the two of them.
#[allow(clippy::too_many_arguments)]
async fn release(
    core: &Core,
    tx: &mut Tx,
    who: &str,
    req: &Request,
    a: &Assignment,
    m: &Mediator,
    timed_out: bool,
    now: DateTime<Utc>,
) -> Result<(Request, Vec<Notice>)> {
    tx.close_assignment(a.id, AssignmentStatus::Released, None, who, now)
        .await?;
    tx.clear_assigned_mediator(req.id).await?;
    tx.cancel_timers(req.id, &[]).await?;
    tx.new_offer_round(req.id).await?;
    let queued = tx
        .transition(req.id, RequestStatus::Queued, who, now)
        .await?;
    tx.audit(
        now,
        who,
        Some(req.id),
        "change_declined",
        Some(if timed_out { "no answer" } else { "declined" }),
    )
    .await?;
    let mut notices = Vec::new();
    for n in [
        Notice::Released {
            request: req.clone(),
            mediator: m.clone(),
            assignment_id: a.id,
            timed_out,
        },
        Notice::Requeued {
            request: req.clone(),
            mediator: m.clone(),
            assignment_id: a.id,
            timed_out,
        },
    ] {
        notice::emit(core, tx, &n, now).await?;
        notices.push(n);
    }
    super::wave::next(core, tx, &queued, now).await?;
    Ok((tx.request_by_id(req.id).await?, notices))
}

/// A series moved from the words of a reschedule: the meeting they mean (and, if they say so,
/// those that follow) to the new day and time, through [`super::series::change`].
async fn move_series(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    req: &Request,
    when: When,
    words: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Rescheduled> {
    let tz = core.settings.tz;
    let Some(m) = super::series::meeting_to_move(req, words, now, tz) else {
        return Err(AppError::WrongState {
            code: req.code,
            status: req.status,
            what: "a change of date or time",
        });
    };
    let date = m.date.unwrap_or(when.date);
    if local_to_utc(date.and_time(when.start), tz) <= now {
        return Err(AppError::WrongState {
            code: req.code,
            status: req.status,
            what: "a change to a time already past",
        });
    }
    let late = req
        .series
        .as_ref()
        .and_then(|s| s.occurrence(m.seq))
        .is_some_and(|o| {
            o.starts_at - now < Duration::hours(core.settings.late_cancellation_hours)
        });
    let changed = super::series::change(
        core,
        tx,
        actor,
        req.id,
        m.seq,
        m.scope,
        super::series::Change::Move {
            date,
            start: when.start,
        },
        now,
    )
    .await?;
    Ok(Rescheduled {
        request: changed.request,
        late,
        asking: None,
        notices: changed.notices,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_time_keeps_what_was_not_said_and_nothing_new_is_nothing() {
        let d = |day| NaiveDate::from_ymd_opt(2027, 3, day).unwrap();
        let t = |h| NaiveTime::from_hms_opt(h, 0, 0).unwrap();
        let old = (Some(d(11)), Some(t(10)), Some(60));
        assert_eq!(
            when_from(old, None, Some(t(11)), None),
            Some(When {
                date: d(11),
                start: t(11),
                duration_minutes: None
            })
        );
        assert_eq!(when_from(old, Some(d(11)), Some(t(10)), None), None);
        assert_eq!(when_from(old, None, None, Some(90)), None);
        assert_eq!(
            when_from(old, Some(d(12)), None, None).map(|w| (w.date, w.start)),
            Some((d(12), t(10)))
        );
        assert_eq!(when_from((None, None, None), Some(d(12)), None, None), None);
    }
}
