//! Changing meetings of a series of appointments, the same from every entry point (the CLI's
//! `connecting request occurrence`, the console's request page): one meeting, or it and all
//! that follow, cancelled or moved. In the caller's transaction each changed occurrence moves
//! by one conditional update, the request's `updated_at` moves on (so the invitation's
//! `SEQUENCE` grows), and the requester and the series' mediator are told in words, the
//! mediator and the requester with the whole series' invitation again (`EXDATE` for the
//! cancelled meetings, one `RECURRENCE-ID` event per moved one).
//!
//! A move keeps each meeting's length and shifts every changed meeting by the same number of
//! days, to the new local time (so a move across a change of clocks keeps the wall time).

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};

use super::notice::{self, Notice, SeriesChange};
use super::reschedule::ChangeAnswer;
use super::{AppError, Core, Result, authorise};
use crate::authz::{Action, Actor, RequestFacts};
use crate::domain::TimerKind;
use crate::domain::appointment::local_to_utc;
use crate::domain::series::{Occurrence, OccurrenceStatus};
use crate::store::{Request, Timer, Tx};

/// Which meetings a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The one meeting.
    One,
    /// The meeting and every later one still on.
    Following,
}

/// What happens to them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Cancel,
    /// The (first) meeting to this local day and time; the later ones by the same days.
    Move {
        date: NaiveDate,
        start: NaiveTime,
    },
}

/// What a change did.
#[derive(Debug, Clone, PartialEq)]
pub struct Changed {
    pub request: Request,
    /// The meetings changed, by their place in the series.
    pub seqs: Vec<u32>,
    pub notices: Vec<Notice>,
}

/// `actor` changes meeting `seq` of request `request_id` (and, with [`Scope::Following`],
/// every later one still on) inside `tx`.
#[allow(clippy::too_many_arguments)]
pub async fn change(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    request_id: i64,
    seq: u32,
    scope: Scope,
    what: Change,
    now: DateTime<Utc>,
) -> Result<Changed> {
    let req = tx.lock_request(request_id).await?;
    let action = match what {
        Change::Cancel => Action::Cancel,
        Change::Move { .. } => Action::Reschedule,
    };
    authorise(actor, action, &RequestFacts::of(&req))?;
    if req.status.is_terminal() {
        return Err(AppError::WrongState {
            code: req.code,
            status: req.status,
            what: "changing a meeting",
        });
    }
    let Some(series) = req.series.clone() else {
        return Err(AppError::NotASeries(req.code));
    };
    let targets: Vec<_> = series
        .on()
        .filter(|o| match scope {
            Scope::One => o.seq == seq,
            Scope::Following => o.seq >= seq,
        })
        .cloned()
        .collect();
    let Some(first) = targets.first().filter(|o| o.seq == seq) else {
        return Err(AppError::NoSuchMeeting {
            code: req.code,
            seq,
        });
    };
    let tz = core.settings.tz;
    let from = first.starts_at;
    let mut to = None;
    for o in &targets {
        let (status, starts, ends) = match what {
            Change::Cancel => (OccurrenceStatus::Cancelled, o.starts_at, o.ends_at),
            Change::Move { date, start } => {
                let first_day = first.starts_at.with_timezone(&tz).date_naive();
                let day = o.starts_at.with_timezone(&tz).date_naive() + (date - first_day);
                let starts = local_to_utc(day.and_time(start), tz);
                let ends = starts + (o.ends_at - o.starts_at).max(Duration::minutes(1));
                let status = if starts == o.recurrence_id {
                    OccurrenceStatus::Active
                } else {
                    OccurrenceStatus::Moved
                };
                (status, starts, ends)
            }
        };
        if o.seq == seq && !matches!(what, Change::Cancel) {
            to = Some(starts);
        }
        if !tx
            .set_occurrence(o.id, o.status, status, starts, ends, now)
            .await?
        {
            return Err(crate::store::StoreError::Conflict(format!(
                "meeting {} of {} changed while being updated",
                o.seq, req.code
            ))
            .into());
        }
    }
    let seqs: Vec<u32> = targets.iter().map(|o| o.seq).collect();
    tx.touch_request(req.id, now).await?;
    let detail = format!(
        "{} {}{}",
        match what {
            Change::Cancel => "cancelled",
            Change::Move { .. } => "moved",
        },
        seq,
        if scope == Scope::Following { "+" } else { "" }
    );
    tx.audit(
        now,
        &actor.audit_name(),
        Some(req.id),
        "series",
        Some(&detail),
    )
    .await?;
    let after = tx.request_by_id(req.id).await?;
    let change = SeriesChange {
        cancelled: what == Change::Cancel,
        seqs: seqs.clone(),
        from,
        to,
    };
    let mediator = match after.assigned_mediator_id {
        Some(id) => tx.mediators_by_ids(&[id]).await?.into_iter().next(),
        None => None,
    };
    let mut notices = Vec::new();
    // a colleague who took one of the changed meetings hears about hers
    for o in &targets {
        let Some(colleague) = o
            .mediator_id
            .filter(|m| Some(*m) != after.assigned_mediator_id)
        else {
            continue;
        };
        let Some(m) = tx.mediators_by_ids(&[colleague]).await?.into_iter().next() else {
            continue;
        };
        let now_at = after
            .series
            .as_ref()
            .and_then(|s| s.occurrence(o.seq))
            .map(|x| x.starts_at);
        let n = Notice::MeetingChanged {
            request: after.clone(),
            mediator: m,
            seq: o.seq,
            from: o.starts_at,
            to: if what == Change::Cancel { None } else { now_at },
        };
        notice::emit(core, tx, &n, now).await?;
        notices.push(n);
    }
    for to_mediator in [false, true] {
        if to_mediator && mediator.is_none() {
            continue;
        }
        let n = Notice::SeriesChanged {
            request: after.clone(),
            mediator: mediator.clone(),
            change: change.clone(),
            to_mediator,
        };
        notice::emit(core, tx, &n, now).await?;
        notices.push(n);
    }
    // whoever holds moved meetings is asked whether the new times suit them (not when they
    // moved them themselves)
    if matches!(what, Change::Move { .. }) && !matches!(actor, Actor::Mediator { .. }) {
        notices.extend(ask_moved(core, tx, &after, &seqs, now).await?);
    }
    super::meetings::follow(core, tx, &after, now).await?;
    tracing::info!(code = %after.code, seq, changed = seqs.len(), "series changed");
    Ok(Changed {
        request: after,
        seqs,
        notices,
    })
}

/// The series' mediator cannot take meeting `seq` of request `request_id` (said by them, or by
/// a coordinator for them): the meeting has no mediator, the requester is told, and it is
/// offered on its own to the next suitable mediator ([`offer_next`]).
pub async fn release(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    request_id: i64,
    seq: u32,
    now: DateTime<Utc>,
) -> Result<Vec<Notice>> {
    let req = tx.lock_request(request_id).await?;
    // the series' own mediator answers for their meetings; anyone else manages
    let action = match actor {
        Actor::Mediator { .. } => Action::AnswerChange,
        _ => Action::Manage,
    };
    authorise(actor, action, &RequestFacts::of(&req))?;
    let Some(series) = req.series.clone() else {
        return Err(AppError::NotASeries(req.code));
    };
    let Some(o) = series
        .on()
        .find(|o| o.seq == seq && o.mediator_id.is_some() && o.starts_at > now)
        .cloned()
    else {
        return Err(AppError::NoSuchMeeting {
            code: req.code,
            seq,
        });
    };
    let only = match actor {
        Actor::Mediator { id, .. } => Some(*id),
        _ => None,
    };
    match let_go(core, tx, &req, &o, only, &actor.audit_name(), now).await? {
        Some(notices) => Ok(notices),
        None => Err(AppError::NoSuchMeeting {
            code: req.code,
            seq,
        }),
    }
}

/// Meeting `o` of `req` has no mediator any more (if it was `only`'s, when given): its
/// mediator hears it, the requester is told another is being looked for, its timers follow,
/// and it is offered on its own ([`offer_next`]). `None`: it was no longer theirs.
async fn let_go(
    core: &Core,
    tx: &mut Tx,
    req: &Request,
    o: &Occurrence,
    only: Option<i64>,
    who: &str,
    now: DateTime<Utc>,
) -> Result<Option<Vec<Notice>>> {
    let seq = o.seq;
    if !tx.release_meeting(o.id, only, now).await? {
        return Ok(None);
    }
    tx.audit(
        now,
        who,
        Some(req.id),
        "meeting_released",
        Some(&seq.to_string()),
    )
    .await?;
    tx.touch_request(req.id, now).await?;
    let req = tx.request_by_id(req.id).await?;
    // the mediator who had it (when someone else released it, they hear it from us)
    let mut notices = Vec::new();
    if let Some(had) = o.mediator_id
        && let Some(m) = tx.mediators_by_ids(&[had]).await?.into_iter().next()
    {
        let n = Notice::MeetingReleased {
            request: req.clone(),
            mediator: m,
            seq,
            starts_at: o.starts_at,
        };
        notice::emit(core, tx, &n, now).await?;
        notices.push(n);
    }
    let told = Notice::MeetingMediator {
        request: req.clone(),
        mediator: None,
        seq,
        starts_at: o.starts_at,
        to_mediator: false,
    };
    notice::emit(core, tx, &told, now).await?;
    notices.push(told);
    super::meetings::follow(core, tx, &req, now).await?;
    notices.extend(offer_next(core, tx, &req, o.id, now).await?);
    tracing::info!(code = %req.code, seq, "meeting released: offered on its own");
    Ok(Some(notices))
}

/// Whoever holds moved meetings `seqs` of `req` (and can be asked: Telegram or email) is asked
/// whether the new times suit them, one question per mediator with a
/// [`TimerKind::MeetingsAnswer`] timer (the offer timeout, at the latest the first meeting's
/// start); the meetings carry it until the answer ([`answer_moved`], [`moved_unanswered`]).
async fn ask_moved(
    core: &Core,
    tx: &mut Tx,
    req: &Request,
    seqs: &[u32],
    now: DateTime<Utc>,
) -> Result<Vec<Notice>> {
    let Some(series) = &req.series else {
        return Ok(vec![]);
    };
    let mut by: std::collections::BTreeMap<i64, Vec<&Occurrence>> = Default::default();
    for o in series
        .on()
        .filter(|o| seqs.contains(&o.seq) && o.starts_at > now)
    {
        if let Some(m) = o.mediator_id {
            by.entry(m).or_default().push(o);
        }
    }
    let minutes = if req.urgent {
        core.settings.urgent_offer_timeout_minutes
    } else {
        core.settings.offer_timeout_minutes
    };
    let mut notices = Vec::new();
    for (mediator_id, os) in by {
        let Some(m) = tx.mediators_by_ids(&[mediator_id]).await?.pop() else {
            continue;
        };
        let (Some(first), true) = (
            os.iter().map(|o| o.starts_at).min(),
            m.telegram_id.is_some() || m.email.is_some(),
        ) else {
            continue;
        };
        let due = (now + Duration::minutes(minutes.max(1))).min(first);
        let timer_id = tx
            .schedule_meeting_timer(
                TimerKind::MeetingsAnswer,
                req.id,
                os[0].id,
                mediator_id,
                due,
                now,
            )
            .await?;
        for o in &os {
            tx.set_meeting_question(o.id, timer_id).await?;
        }
        let n = Notice::MeetingsQuestion {
            request: req.clone(),
            mediator: m,
            seqs: os.iter().map(|o| o.seq).collect(),
            timer_id,
        };
        notice::emit(core, tx, &n, now).await?;
        notices.push(n);
    }
    Ok(notices)
}

/// `actor` (the mediator asked, or a coordinator for them) answers the question of `timer`
/// about moved meetings: "va bene" keeps them and the requester hears it; "non posso" lets
/// each go ([`let_go`]: offered on its own). Once: a second answer, or one after the time ran
/// out, is `Stale`.
pub(crate) async fn answer_moved(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    timer: &Timer,
    ok: bool,
    now: DateTime<Utc>,
) -> Result<ChangeAnswer> {
    let (Some(request_id), Some(mediator_id)) = (timer.request_id, timer.ref_id) else {
        return Ok(ChangeAnswer::Stale);
    };
    let req = tx.lock_request(request_id).await?;
    authorise(
        actor,
        Action::AnswerChange,
        &RequestFacts::of(&req).assigned_to(mediator_id),
    )?;
    if !tx.finish_pending_timer(timer.id, now).await? {
        return Ok(ChangeAnswer::Stale);
    }
    settle_moved(
        core,
        tx,
        &req,
        timer.id,
        mediator_id,
        ok,
        &actor.audit_name(),
        now,
    )
    .await
}

/// The question of `timer` ran out (the service, from `app::timer`): as "non posso".
pub(crate) async fn moved_unanswered(
    core: &Core,
    tx: &mut Tx,
    timer: &Timer,
    now: DateTime<Utc>,
) -> Result<Vec<Notice>> {
    let (Some(request_id), Some(mediator_id)) = (timer.request_id, timer.ref_id) else {
        return Ok(vec![]);
    };
    let req = tx.lock_request(request_id).await?;
    if req.status.is_terminal() {
        tx.take_meeting_question(timer.id).await?;
        return Ok(vec![]);
    }
    settle_moved(
        core,
        tx,
        &req,
        timer.id,
        mediator_id,
        false,
        "process:timers",
        now,
    )
    .await?;
    Ok(vec![])
}

#[allow(clippy::too_many_arguments)]
async fn settle_moved(
    core: &Core,
    tx: &mut Tx,
    req: &Request,
    timer_id: i64,
    mediator_id: i64,
    ok: bool,
    who: &str,
    now: DateTime<Utc>,
) -> Result<ChangeAnswer> {
    let asked = tx.take_meeting_question(timer_id).await?;
    let held: Vec<Occurrence> = req
        .series
        .as_ref()
        .map(|s| {
            s.on()
                .filter(|o| asked.contains(&o.id) && o.mediator_id == Some(mediator_id))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    if held.is_empty() {
        return Ok(ChangeAnswer::Stale);
    }
    tx.audit(
        now,
        who,
        Some(req.id),
        "meetings_answer",
        Some(if ok { "ok" } else { "no" }),
    )
    .await?;
    if ok {
        if let Some(m) = tx.mediators_by_ids(&[mediator_id]).await?.pop() {
            let n = Notice::MeetingsAgreed {
                request: req.clone(),
                mediator: m,
                seqs: held.iter().map(|o| o.seq).collect(),
                timer_id,
            };
            notice::emit(core, tx, &n, now).await?;
        }
        return Ok(ChangeAnswer::Kept(Box::new(req.clone())));
    }
    for o in &held {
        let fresh = tx.request_by_id(req.id).await?;
        let_go(core, tx, &fresh, o, Some(mediator_id), who, now).await?;
    }
    Ok(ChangeAnswer::Left(Box::new(
        tx.request_by_id(req.id).await?,
    )))
}

/// Offers meeting `occurrence_id` of `req` to the best-ranked suitable mediator free at its
/// time and not asked for it yet (never the series' own); with nobody left, the coordinators
/// are alerted.
pub(crate) async fn offer_next(
    core: &Core,
    tx: &mut Tx,
    req: &Request,
    occurrence_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Notice>> {
    let Some(o) = req
        .series
        .as_ref()
        .and_then(|s| s.occurrences.iter().find(|o| o.id == occurrence_id))
        .cloned()
    else {
        return Ok(Vec::new());
    };
    if !o.status.is_on() || o.mediator_id.is_some() {
        return Ok(Vec::new());
    }
    let mut asked = tx.meeting_offered_to(o.id).await?;
    asked.extend(req.assigned_mediator_id);
    // only those free at this meeting's time
    let ranked = super::wave::meeting_candidates(core, tx, req, &o, now).await?;
    let next = ranked.next_wave(&asked, 1);
    let Some(mediator) = (match next.first() {
        Some(id) => tx.mediators_by_ids(&[*id]).await?.into_iter().next(),
        None => None,
    }) else {
        let when = {
            let local = o.starts_at.with_timezone(&core.settings.tz).naive_local();
            crate::vocab::date_time(core.settings.lang, local.date(), Some(local.time()))
        };
        let code = req.code.to_string();
        let notices = super::alert::prompt(
            core,
            tx,
            &format!("meeting_unfilled:{}:{}", req.id, o.seq),
            Some(req.id),
            "dispatch.alert_meeting_unfilled_subject",
            "dispatch.alert_meeting_unfilled",
            &[("code", &code), ("when", &when)],
            now,
        )
        .await?;
        return Ok(notices);
    };
    let offer_id = tx
        .insert_meeting_offer(req.id, o.id, mediator.id, o.starts_at, now)
        .await?;
    let n = Notice::MeetingOffer {
        request: req.clone(),
        mediator,
        offer_id,
        seq: o.seq,
        starts_at: o.starts_at,
    };
    notice::emit(core, tx, &n, now).await?;
    Ok(vec![n])
}

/// `mediator_id` accepted the offer `offer_id` of meeting `occurrence_id`: the meeting is theirs
/// if it is still without a mediator (one conditional update); they get its details, the
/// requester hears who comes. `None`: someone else took it, or it is gone.
pub(crate) async fn take(
    core: &Core,
    tx: &mut Tx,
    offer_id: i64,
    occurrence_id: i64,
    mediator_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<(Request, u32)>> {
    if !tx
        .take_meeting(offer_id, occurrence_id, mediator_id, now)
        .await?
    {
        return Ok(None);
    }
    let Some(offer) = tx.offer_ref(offer_id).await? else {
        return Ok(None);
    };
    let req = tx.request_by_id(offer.request_id).await?;
    let Some(o) = req
        .series
        .as_ref()
        .and_then(|s| s.occurrences.iter().find(|o| o.id == occurrence_id))
        .cloned()
    else {
        return Ok(None);
    };
    let mediator = tx
        .mediators_by_ids(&[mediator_id])
        .await?
        .into_iter()
        .next();
    tx.audit(
        now,
        &format!("mediator:{mediator_id}"),
        Some(req.id),
        "meeting_taken",
        Some(&o.seq.to_string()),
    )
    .await?;
    for to_mediator in [true, false] {
        let n = Notice::MeetingMediator {
            request: req.clone(),
            mediator: mediator.clone(),
            seq: o.seq,
            starts_at: o.starts_at,
            to_mediator,
        };
        notice::emit(core, tx, &n, now).await?;
    }
    super::meetings::follow(core, tx, &req, now).await?;
    tracing::info!(code = %req.code, seq = o.seq, "meeting taken by another mediator");
    Ok(Some((req, o.seq)))
}

/// The meeting of `req`'s series a requester's words name ("annulliamo l'incontro del 16
/// marzo": the day `date` the extractor read), and whether they mean it and all that follow
/// ("dal 13 aprile in poi", "e i seguenti"). `None`: no meeting still on falls on that day, or
/// the request is not a series (the words are about the whole request).
pub fn meeting_named(
    req: &Request,
    date: Option<NaiveDate>,
    text: &str,
    tz: chrono_tz::Tz,
) -> Option<(u32, Scope)> {
    let o = on_day(req.series.as_ref()?.on(), date?, tz)?;
    let folded = crate::extract::fold::Folded::new(text).text;
    Some((o.seq, scope_of(&folded)))
}

/// The meeting among `meetings` that falls on local day `day` (where it is now, or where the
/// rule put it).
fn on_day<'a>(
    mut meetings: impl Iterator<Item = &'a Occurrence>,
    day: NaiveDate,
    tz: chrono_tz::Tz,
) -> Option<&'a Occurrence> {
    meetings.find(|o| {
        o.starts_at.with_timezone(&tz).date_naive() == day
            || o.recurrence_id.with_timezone(&tz).date_naive() == day
    })
}

/// Whether folded words mean a meeting and all that follow ("dal 13 aprile in poi", "e i
/// seguenti", "tutti gli incontri", "from now on").
fn scope_of(folded: &str) -> Scope {
    let following = [
        "in poi",
        "seguenti",
        "successivi",
        "a seguire",
        "i prossimi",
        "tutti gli incontri",
        "tutti i prossimi",
        "from now on",
        "all the meetings",
        "all meetings",
        "following ones",
    ]
    .iter()
    .any(|w| folded.contains(w));
    if following {
        Scope::Following
    } else {
        Scope::One
    }
}

/// What a requester's words about moving a series mean ([`meeting_to_move`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MoveWords {
    /// The meeting to move.
    pub seq: u32,
    pub scope: Scope,
    /// The new day, when the words name both the meeting and its new day ("l'incontro del 23
    /// marzo spostiamolo a mercoledì 24"); else the day the channel read.
    pub date: Option<NaiveDate>,
}

/// Which meeting of `req`'s series still to come a requester's words about moving it mean: a
/// meeting whose day they name (with another day: that is the new one), else the next one still
/// to come; with "in poi", "tutti gli incontri"... those that follow too. `None`: not a series,
/// or no meeting still to come.
pub fn meeting_to_move(
    req: &Request,
    text: Option<&str>,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> Option<MoveWords> {
    let series = req.series.as_ref()?;
    let upcoming: Vec<&Occurrence> = series.on().filter(|o| o.starts_at > now).collect();
    let next = upcoming.iter().min_by_key(|o| o.starts_at)?;
    let Some(text) = text else {
        return Some(MoveWords {
            seq: next.seq,
            scope: Scope::One,
            date: None,
        });
    };
    let folded = crate::extract::fold::Folded::new(text).text;
    let today = now.with_timezone(&tz).date_naive();
    let mut days: Vec<NaiveDate> = Vec::new();
    for hit in crate::extract::dates::scan_dates(&folded, today, &mut Vec::new()) {
        if let Some(d) = hit.date
            && !hit.excluded
            && !hit.deadline
            && !hit.negated
            && !days.contains(&d)
        {
            days.push(d);
        }
    }
    let named = days
        .iter()
        .find_map(|d| on_day(upcoming.iter().copied(), *d, tz).map(|o| (*d, o)));
    let (seq, date) = match named {
        // the meeting named, and the other day named is its new one
        Some((d, o)) => (o.seq, days.iter().copied().find(|x| *x != d)),
        None => (next.seq, None),
    };
    Some(MoveWords {
        seq,
        scope: scope_of(&folded),
        date,
    })
}

/// `mediator_id` has just taken series `req` whole (an acceptance or a manual assignment,
/// [`super::assign::assigned`]): the meetings still to come they cannot make (unavailable, or
/// busy with another job or another series' meeting then) are not theirs after all. Returns
/// those meetings' ids, for [`offer_missed`] once the assignment's own notices are written.
pub(crate) async fn keep_missed_free(
    core: &Core,
    tx: &mut Tx,
    req: &Request,
    mediator_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<i64>> {
    let missed = super::wave::meetings_missed(core, tx, req, mediator_id, now).await?;
    let mut freed = Vec::new();
    for o in req.series.iter().flat_map(|s| s.on()) {
        if missed.contains(&o.seq) && tx.release_meeting(o.id, Some(mediator_id), now).await? {
            tx.audit(
                now,
                "process:dispatch",
                Some(req.id),
                "meeting_released",
                Some(&o.seq.to_string()),
            )
            .await?;
            freed.push(o.id);
        }
    }
    if !freed.is_empty() {
        tracing::info!(code = %req.code, n = freed.len(), "series taken without the meetings its mediator cannot make");
    }
    Ok(freed)
}

/// The meetings [`keep_missed_free`] kept free (`occurrence_ids`): the requester is told each
/// is not covered yet, and each is offered on its own ([`offer_next`]), as after a release.
pub(crate) async fn offer_missed(
    core: &Core,
    tx: &mut Tx,
    req: &Request,
    occurrence_ids: &[i64],
    now: DateTime<Utc>,
) -> Result<Vec<Notice>> {
    let mut notices = Vec::new();
    for o in req.series.iter().flat_map(|s| s.on()) {
        if !occurrence_ids.contains(&o.id) {
            continue;
        }
        let told = Notice::MeetingMediator {
            request: req.clone(),
            mediator: None,
            seq: o.seq,
            starts_at: o.starts_at,
            to_mediator: false,
        };
        notice::emit(core, tx, &told, now).await?;
        notices.push(told);
        notices.extend(offer_next(core, tx, req, o.id, now).await?);
    }
    Ok(notices)
}
