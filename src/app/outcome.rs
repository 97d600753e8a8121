//! After the appointment: whether it took place ([Svolto] / [Non svolto], from the assigned
//! mediator or a coordinator on their behalf) and the hours worked (which the monthly report
//! bills). Each asks [`crate::authz`] whether the assignment is the actor's. Hours recorded on
//! a done assignment are then put to the requester ([`super::account`]). After [Non svolto],
//! who did not come ([`no_show`]: the family or the mediator).

use chrono::{DateTime, Utc};

use super::{Core, Result, authorise};
use crate::authz::{Action, Actor, RequestFacts};
use crate::domain::{AssignmentStatus, RequestStatus};
use crate::store::{AssignmentRef, Tx};

/// The choices offered for the hours actually worked, in minutes.
pub const WORKED_CHOICES: [i64; 6] = [60, 90, 120, 180, 240, 360];

async fn assignment_for(
    tx: &mut Tx,
    actor: &Actor,
    assignment_id: i64,
) -> Result<Option<AssignmentRef>> {
    let a = tx.assignment_ref(assignment_id).await?;
    let facts = a
        .as_ref()
        .map(|a| RequestFacts::default().assigned_to(a.mediator_id))
        .unwrap_or_default();
    authorise(actor, Action::RecordOutcome, &facts)?;
    Ok(a)
}

/// `actor` records whether assignment `assignment_id` took place (and, optionally, the
/// minutes worked); `false` when it is no longer active (already answered, cancelled).
pub async fn record(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    assignment_id: i64,
    done: bool,
    worked_minutes: Option<i64>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let Some(a) = assignment_for(tx, actor, assignment_id).await? else {
        return Ok(false);
    };
    if a.status != AssignmentStatus::Active {
        return Ok(false);
    }
    let status = if done {
        AssignmentStatus::Done
    } else {
        AssignmentStatus::NotDone
    };
    let worked_minutes = worked_minutes
        .map(super::account::check_minutes)
        .transpose()?;
    let who = actor.audit_name();
    if !tx
        .close_assignment(assignment_id, status, worked_minutes, &who, now)
        .await?
    {
        return Ok(false);
    }
    if done {
        tx.set_status_if(
            a.request_id,
            &[RequestStatus::Assigned, RequestStatus::Confirmed],
            RequestStatus::Done,
            "",
            now,
        )
        .await?;
    }
    tx.audit(
        now,
        &who,
        Some(a.request_id),
        "outcome",
        Some(status.as_str()),
    )
    .await?;
    if done && let Some(m) = worked_minutes {
        super::account::ask(core, tx, a.request_id, assignment_id, m, now).await?;
    }
    Ok(true)
}

/// `actor` records the minutes worked on assignment `assignment_id` (one of
/// [`WORKED_CHOICES`] from the bot; any figure up to [`super::account::MAX_MINUTES`] from the
/// CLI or the web), and the requester is asked to confirm them; `false` when the assignment is
/// not marked done. A figure out of range is an [`super::AppError::BadHours`].
pub async fn hours(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    assignment_id: i64,
    minutes: i64,
    now: DateTime<Utc>,
) -> Result<bool> {
    let Some(a) = assignment_for(tx, actor, assignment_id).await? else {
        return Ok(false);
    };
    let minutes = super::account::check_minutes(minutes)?;
    if !tx
        .set_worked_minutes(assignment_id, a.mediator_id, minutes)
        .await?
    {
        return Ok(false);
    }
    super::account::ask(core, tx, a.request_id, assignment_id, minutes, now).await?;
    Ok(true)
}

/// `actor` (the assigned mediator, or a coordinator) records who did not come to assignment
/// `assignment_id`, recorded as not done: the family or the mediator; `false` when it is not
/// recorded as not done.
pub async fn no_show(
    tx: &mut Tx,
    actor: &Actor,
    assignment_id: i64,
    who: crate::domain::NoShow,
    now: DateTime<Utc>,
) -> Result<bool> {
    let Some(a) = assignment_for(tx, actor, assignment_id).await? else {
        return Ok(false);
    };
    if !tx.set_no_show(assignment_id, who).await? {
        return Ok(false);
    }
    tx.audit(
        now,
        &actor.audit_name(),
        Some(a.request_id),
        "no_show",
        Some(who.as_str()),
    )
    .await?;
    Ok(true)
}
