//! The hours the requester verifies (issue 16): after the mediator's [Svolto] and hours
//! ([`super::outcome`]), the requester is asked on their channel to confirm them
//! ([`Notice::HoursQuestion`]); they confirm, or give another figure, which opens a dispute
//! the coordinators hear of ([`Notice::HoursDisputed`]) and one of them settles with the
//! figure to bill; without an answer after `account.confirm_within_days` the mediator's hours
//! count, flagged unverified (a [`TimerKind::HoursDue`] timer, [`super::timer`]).
//!
//! Each answer asks [`crate::authz`] once: the requester's (or a coordinator's)
//! [`Action::ConfirmHours`], a coordinator's [`Action::Manage`] to settle. A figure out of
//! range ([`check_minutes`]) is refused before anything is read or written.

use chrono::{DateTime, Duration, Utc};

use super::notice::{self, Notice};
use super::{AppError, Core, Result, authorise};
use crate::authz::{Action, Actor, RequestFacts};
use crate::domain::{HoursCheckStatus, TimerKind};
use crate::store::{HoursCheck, Tx};

/// The most minutes one appointment can bill: more than 12 hours is a typing error.
pub const MAX_MINUTES: i64 = 12 * 60;

/// The requester's answer to "are these hours right?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoursAnswer {
    /// The mediator's figure is right.
    Confirm,
    /// The hours were these minutes instead (the same figure counts as a confirmation).
    Other(i64),
}

/// What an answer changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answered {
    Confirmed {
        minutes: i64,
    },
    /// A dispute is open: the coordinators were told.
    Disputed {
        mediator: i64,
        requester: i64,
    },
    /// The check was already answered (or settled, or counted unverified): nothing changed.
    Closed(HoursCheckStatus),
    /// Nobody asked for the hours of this assignment.
    NotAsked,
}

/// A figure of minutes any hours may have: more than zero, at most [`MAX_MINUTES`].
pub fn check_minutes(minutes: i64) -> Result<i64> {
    if minutes <= 0 || minutes > MAX_MINUTES {
        return Err(AppError::BadHours(minutes));
    }
    Ok(minutes)
}

/// Asks the requester of `assignment_id` to confirm `minutes` (part of the mediator's
/// outcome, which asked the table): the check row, the notice, the timer. A check already
/// answered is not asked again.
pub(super) async fn ask(
    core: &Core,
    tx: &mut Tx,
    request_id: i64,
    assignment_id: i64,
    minutes: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    if !tx
        .ask_hours_check(assignment_id, request_id, minutes, now)
        .await?
    {
        return Ok(());
    }
    let request = tx.request_by_id(request_id).await?;
    tx.cancel_timers(request_id, &[TimerKind::HoursDue]).await?;
    let due = now + Duration::days(core.settings.confirm_within_days.max(1));
    tx.schedule_timer(
        TimerKind::HoursDue,
        Some(request_id),
        Some(assignment_id),
        due,
        now,
    )
    .await?;
    let n = Notice::HoursQuestion {
        request,
        assignment_id,
        minutes,
    };
    notice::emit(core, tx, &n, now).await?;
    Ok(())
}

/// The check waiting for the requester's answer on request `request_id`, if any (the email
/// intake reads a reply as an answer only then).
pub async fn asked(tx: &mut Tx, request_id: i64) -> crate::store::Result<Option<HoursCheck>> {
    tx.hours_check_of_request(request_id, HoursCheckStatus::Asked)
        .await
}

/// `actor` (the request's requester, or a coordinator) answers the hours check of
/// `assignment_id`.
pub async fn answer(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    assignment_id: i64,
    answer: HoursAnswer,
    now: DateTime<Utc>,
) -> Result<Answered> {
    if let HoursAnswer::Other(m) = answer {
        check_minutes(m)?;
    }
    let check = tx.hours_check(assignment_id).await?;
    let facts = match &check {
        Some(c) => RequestFacts::of(&tx.request_by_id(c.request_id).await?),
        None => RequestFacts::default(),
    };
    authorise(actor, Action::ConfirmHours, &facts)?;
    let Some(check) = check else {
        return Ok(Answered::NotAsked);
    };
    if check.status != HoursCheckStatus::Asked {
        return Ok(Answered::Closed(check.status));
    }
    let who = actor.audit_name();
    let (to, requester, outcome) = match answer {
        HoursAnswer::Other(m) if m != check.mediator_minutes => (
            HoursCheckStatus::Disputed,
            Some(m),
            Answered::Disputed {
                mediator: check.mediator_minutes,
                requester: m,
            },
        ),
        _ => (
            HoursCheckStatus::Confirmed,
            None,
            Answered::Confirmed {
                minutes: check.mediator_minutes,
            },
        ),
    };
    if !tx
        .move_hours_check(
            assignment_id,
            HoursCheckStatus::Asked,
            to,
            requester,
            None,
            None,
            now,
        )
        .await?
    {
        return Ok(Answered::Closed(HoursCheckStatus::Confirmed));
    }
    tx.cancel_timers(check.request_id, &[TimerKind::HoursDue])
        .await?;
    tx.audit(
        now,
        &who,
        Some(check.request_id),
        "hours",
        Some(&format!(
            "{to} {}",
            requester.unwrap_or(check.mediator_minutes)
        )),
    )
    .await?;
    if let Answered::Disputed {
        mediator,
        requester,
    } = outcome
    {
        let request = tx.request_by_id(check.request_id).await?;
        for c in tx.all_coordinators().await? {
            let n = Notice::HoursDisputed {
                request: request.clone(),
                coordinator: c,
                assignment_id,
                mediator_minutes: mediator,
                requester_minutes: requester,
            };
            notice::emit(core, tx, &n, now).await?;
        }
    }
    Ok(outcome)
}

/// A coordinator settles the dispute on `assignment_id` with the `minutes` to bill; `false`
/// when there is no open dispute (already settled, or never disputed).
pub async fn settle(
    _core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    assignment_id: i64,
    minutes: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    check_minutes(minutes)?;
    let check = tx.hours_check(assignment_id).await?;
    let facts = match &check {
        Some(c) => RequestFacts::of(&tx.request_by_id(c.request_id).await?),
        None => RequestFacts::default(),
    };
    authorise(actor, Action::Manage, &facts)?;
    let Some(check) = check else {
        return Ok(false);
    };
    let who = actor.audit_name();
    if !tx
        .move_hours_check(
            assignment_id,
            HoursCheckStatus::Disputed,
            HoursCheckStatus::Settled,
            None,
            Some(minutes),
            Some(&who),
            now,
        )
        .await?
    {
        return Ok(false);
    }
    tx.audit(
        now,
        &who,
        Some(check.request_id),
        "hours_settled",
        Some(&minutes.to_string()),
    )
    .await?;
    Ok(true)
}

/// The [`TimerKind::HoursDue`] timer (the service, from [`super::timer::fire`], which asked
/// the table): an unanswered check counts the mediator's hours, flagged unverified.
pub(super) async fn expire(
    tx: &mut Tx,
    request_id: i64,
    assignment_id: i64,
    now: DateTime<Utc>,
) -> Result<()> {
    if tx
        .move_hours_check(
            assignment_id,
            HoursCheckStatus::Asked,
            HoursCheckStatus::Unverified,
            None,
            None,
            None,
            now,
        )
        .await?
    {
        tx.audit(
            now,
            "process:timers",
            Some(request_id),
            "hours",
            Some("unverified"),
        )
        .await?;
    }
    Ok(())
}
