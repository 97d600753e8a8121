//! Each meeting of a series followed up on its own: the reminders (the day before at the same
//! local time, `reminder_hours_before` before) and the question after it ("si è svolto?") go
//! to whoever holds that meeting — the series' mediator, or the colleague who took it — and
//! what happened is recorded on the meeting (done or not, the minutes, who did not come), from
//! the bot's buttons, the CLI (`connecting request outcome CODE --meeting N`) or the console
//! (`POST /requests/CODE/meetings/outcome`). The requester's evaluation is asked once, after the
//! last meeting still on; when every meeting still on has its outcome, the series is done,
//! and once the minutes of each of its mediator's meetings are recorded the requester is asked
//! to confirm the series' hours (`app::account`, once for the series).
//!
//! [`follow`] writes a series' meeting timers again from the meetings as they are now; every
//! change of who holds a meeting or when it is (acceptance, a colleague taking one, a release,
//! a move, a cancellation) calls it in the same transaction, so a timer never speaks of a
//! meeting that moved or changed hands.

use chrono::{DateTime, Duration, Utc};

use super::notice::{self, MeetingAt, Notice, Reminder};
use super::{AppError, Core, Result, authorise};
use crate::authz::{Action, Actor, RequestFacts};
use crate::domain::appointment::local_to_utc;
use crate::domain::series::Occurrence;
use crate::domain::{AssignmentStatus, NoShow, RequestStatus, TimerKind};
use crate::store::{Request, Timer, Tx};

/// Writes the reminders and the after-the-end question of every meeting of `req`'s series
/// still on, with a mediator, and not over, again (the pending ones are cancelled first).
/// Nothing for a request that is not a series, or is cancelled.
pub async fn follow(core: &Core, tx: &mut Tx, req: &Request, now: DateTime<Utc>) -> Result<()> {
    let Some(series) = &req.series else {
        return Ok(());
    };
    tx.cancel_meeting_timers(req.id).await?;
    if req.status == RequestStatus::Cancelled {
        return Ok(());
    }
    let tz = core.settings.tz;
    for o in series.on() {
        let Some(mediator_id) = o.mediator_id else {
            continue;
        };
        if o.ends_at <= now || o.outcome.is_some() {
            continue;
        }
        let local = o.starts_at.with_timezone(&tz).naive_local();
        let day_before = local_to_utc(local - Duration::days(1), tz);
        let hours_before = o.starts_at - Duration::hours(core.settings.reminder_hours_before);
        for (kind, due) in [
            (TimerKind::ReminderDayBefore, day_before),
            (TimerKind::ReminderHoursBefore, hours_before),
            (TimerKind::AfterEnd, o.ends_at),
        ] {
            if due > now {
                tx.schedule_meeting_timer(kind, req.id, o.id, mediator_id, due, now)
                    .await?;
            }
        }
    }
    Ok(())
}

/// Fires meeting timer `timer` of `req` (`kind` read from it): a reminder, or the question
/// after the end (and, after the last meeting still on, the requester's evaluation). Nothing
/// when the meeting is cancelled, recorded already, or no longer held by the mediator it was
/// written for.
pub(crate) async fn fire(
    core: &Core,
    tx: &mut Tx,
    timer: &Timer,
    req: &Request,
    kind: TimerKind,
    occurrence_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Notice>> {
    if req.status == RequestStatus::Cancelled {
        return Ok(vec![]);
    }
    let Some(series) = &req.series else {
        return Ok(vec![]);
    };
    let Some(o) = series.on().find(|o| o.id == occurrence_id) else {
        return Ok(vec![]);
    };
    let Some(holder) = o.mediator_id.filter(|m| Some(*m) == timer.ref_id) else {
        return Ok(vec![]);
    };
    if o.outcome.is_some() {
        return Ok(vec![]);
    }
    let Some(m) = tx.mediators_by_ids(&[holder]).await?.pop() else {
        return Ok(vec![]);
    };
    let meeting = Some(at(o));
    let notices = match kind {
        TimerKind::AfterEnd => {
            let mut n = vec![Notice::OutcomeQuestion {
                request: req.clone(),
                mediator: m,
                timer_id: timer.id,
                assignment_id: 0,
                meeting,
            }];
            if is_last(req, o) {
                n.push(Notice::EvaluationQuestion {
                    request: req.clone(),
                    criteria: core.settings.criteria.clone(),
                });
            }
            n
        }
        TimerKind::ReminderDayBefore | TimerKind::ReminderHoursBefore => {
            vec![Notice::Reminder {
                request: req.clone(),
                mediator: m,
                timer_id: timer.id,
                which: if kind == TimerKind::ReminderDayBefore {
                    Reminder::DayBefore
                } else {
                    Reminder::HoursBefore
                },
                meeting,
            }]
        }
        _ => vec![],
    };
    notice::emit_all(core, tx, &notices, now).await?;
    Ok(notices)
}

fn at(o: &Occurrence) -> MeetingAt {
    MeetingAt {
        occurrence_id: o.id,
        seq: o.seq,
        starts_at: o.starts_at,
    }
}

/// Whether `o` is the last meeting of `req`'s series still on.
fn is_last(req: &Request, o: &Occurrence) -> bool {
    req.series
        .as_ref()
        .and_then(|s| s.on().max_by_key(|x| x.starts_at))
        .is_some_and(|last| last.id == o.id)
}

/// What a recording did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Recorded; `series_done`: it was the last meeting still on without an outcome.
    Yes { seq: u32, series_done: bool },
    /// Its mediator had answered already (a second press): nothing changed.
    Already,
}

/// What is recorded about one meeting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeetingReport {
    pub done: bool,
    pub worked_minutes: Option<i64>,
    pub no_show: Option<NoShow>,
}

/// `actor` records what happened at meeting `seq` of request `request_id`: its mediator once
/// (a second answer changes nothing), a coordinator or the CLI whenever (it replaces what was
/// recorded). The meeting must be still on and have started. When every meeting still on has
/// its outcome, the series' assignment closes (done when any meeting took place, with the
/// minutes worked summed) and the request is done.
pub async fn record(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    request_id: i64,
    seq: u32,
    report: MeetingReport,
    now: DateTime<Utc>,
) -> Result<Recorded> {
    let req = tx.lock_request(request_id).await?;
    let no_meeting = || AppError::NoSuchMeeting {
        code: req.code,
        seq,
    };
    let series = req.series.as_ref().ok_or(AppError::NotASeries(req.code))?;
    let o = series
        .on()
        .find(|o| o.seq == seq && o.starts_at <= now)
        .cloned()
        .ok_or_else(no_meeting)?;
    let facts = match o.mediator_id {
        Some(id) => RequestFacts::of(&req).assigned_to(id),
        None => RequestFacts {
            assigned_to: None,
            ..RequestFacts::of(&req)
        },
    };
    authorise(actor, Action::RecordOutcome, &facts)?;
    let worked_minutes = report
        .worked_minutes
        .map(super::account::check_minutes)
        .transpose()?;
    let first = matches!(actor, Actor::Mediator { .. });
    let who = actor.audit_name();
    if !tx
        .record_meeting(
            o.id,
            report.done,
            worked_minutes,
            report.no_show,
            &who,
            first,
            now,
        )
        .await?
    {
        return Ok(Recorded::Already);
    }
    tx.audit(
        now,
        &who,
        Some(req.id),
        "meeting_outcome",
        Some(&format!(
            "{seq}:{}",
            if report.done { "done" } else { "not_done" }
        )),
    )
    .await?;
    // the timers of this meeting have nothing left to ask
    let req = tx.request_by_id(req.id).await?;
    follow(core, tx, &req, now).await?;
    let series_done = close_if_complete(core, tx, &req, &who, now).await?;
    tracing::info!(code = %req.code, seq, done = report.done, series_done, "meeting outcome recorded");
    Ok(Recorded::Yes { seq, series_done })
}

/// The minutes worked at a done meeting, or who did not come to one that did not take place
/// (the buttons after the first answer); `false` when the meeting is not recorded that way.
pub async fn complete(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    occurrence_id: i64,
    worked_minutes: Option<i64>,
    no_show: Option<NoShow>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let Some((req, o)) = meeting(tx, occurrence_id).await? else {
        return Ok(false);
    };
    let facts = RequestFacts::of(&req).assigned_to(o.mediator_id.unwrap_or(-1));
    authorise(actor, Action::RecordOutcome, &facts)?;
    let worked_minutes = worked_minutes
        .map(super::account::check_minutes)
        .transpose()?;
    let ok = tx
        .complete_meeting(o.id, worked_minutes, no_show, now)
        .await?;
    if ok {
        tx.audit(
            now,
            &actor.audit_name(),
            Some(req.id),
            "meeting_outcome",
            Some(&format!(
                "{}:{}",
                o.seq,
                match (worked_minutes, no_show) {
                    (Some(m), _) => format!("{m} min"),
                    (None, Some(w)) => format!("no-show {w}"),
                    (None, None) => String::new(),
                }
            )),
        )
        .await?;
        let req = tx.request_by_id(req.id).await?;
        close_if_complete(core, tx, &req, &actor.audit_name(), now).await?;
    }
    Ok(ok)
}

/// The request and meeting of occurrence `occurrence_id` (from a button: any number).
pub async fn meeting(tx: &mut Tx, occurrence_id: i64) -> Result<Option<(Request, Occurrence)>> {
    let Some(request_id) = tx.meeting_request(occurrence_id).await? else {
        return Ok(None);
    };
    let req = tx.request_by_id(request_id).await?;
    let o = req
        .series
        .as_ref()
        .and_then(|s| s.occurrences.iter().find(|o| o.id == occurrence_id))
        .cloned();
    Ok(o.map(|o| (req, o)))
}

/// When every meeting still on has its outcome: the series' assignment closes (done when any
/// of its mediator's meetings took place; the minutes: those recorded, or each done meeting's
/// planned length) and the request is done; minutes given later (the buttons after [Svolto])
/// update the closed assignment. Once every done meeting of the series' mediator has its minutes
/// recorded, the requester is asked to confirm them (`app::account`, once). Returns whether the
/// series closed now.
async fn close_if_complete(
    core: &Core,
    tx: &mut Tx,
    req: &Request,
    who: &str,
    now: DateTime<Utc>,
) -> Result<bool> {
    let Some(series) = &req.series else {
        return Ok(false);
    };
    if series.on().any(|o| o.outcome.is_none()) {
        return Ok(false);
    }
    let Some(a) = tx.last_assignment(req.id).await? else {
        return Ok(false);
    };
    let hers: Vec<&Occurrence> = series
        .on()
        .filter(|o| o.mediator_id == Some(a.mediator_id) && o.outcome.is_some_and(|r| r.done))
        .collect();
    let minutes: i64 = hers
        .iter()
        .map(|o| {
            o.outcome
                .and_then(|r| r.worked_minutes)
                .unwrap_or_else(|| (o.ends_at - o.starts_at).num_minutes())
        })
        .sum();
    let all_given = hers
        .iter()
        .all(|o| o.outcome.is_some_and(|r| r.worked_minutes.is_some()));
    let mut closed = false;
    match a.status {
        AssignmentStatus::Active => {
            let status = if hers.is_empty() {
                AssignmentStatus::NotDone
            } else {
                AssignmentStatus::Done
            };
            closed = tx
                .close_assignment(a.id, status, Some(minutes), who, now)
                .await?;
        }
        AssignmentStatus::Done => {
            tx.set_worked_minutes(a.id, a.mediator_id, minutes).await?;
        }
        _ => {}
    }
    if series.on().any(|o| o.outcome.is_some_and(|r| r.done)) {
        closed |= tx
            .set_status_if(
                req.id,
                &[RequestStatus::Assigned, RequestStatus::Confirmed],
                RequestStatus::Done,
                "",
                now,
            )
            .await?;
    }
    if !hers.is_empty() && all_given && minutes > 0 {
        super::account::ask(core, tx, req.id, a.id, minutes, now).await?;
    }
    Ok(closed)
}
