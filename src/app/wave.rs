//! Sending an offer wave: a queued (or escalated, re-tried) request is offered to the next
//! best-ranked mediators not asked yet, with an expiry timer; when nobody is left, it goes to
//! the coordinators ([`super::alert`]). Also the ranking itself ([`candidates`]), read inside
//! the caller's transaction, which the coordinator's `/assegna` shows.
//!
//! A series is ranked on its meetings still on and to come, a meeting offered on its own on
//! that meeting alone ([`meeting_candidates`]); [`meetings_missed`] says which meetings a
//! mediator who takes a series cannot make.
//!
//! `dispatch` is the use case (asked by the dispatcher's rounds, the bot after a request is
//! confirmed, `connecting dispatch`); [`next`] is the step a decline, an expired wave and a
//! retry share.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

use super::alert::{self, Alert};
use super::matching::{
    JobSpec, MatchResult, MatchSettings, MediatorProfile, Meeting, missed_meetings, rank,
};
use super::notice::{self, Notice};
use super::timer::TimerKind;
use super::{AppError, Core, Result, authorise};
use crate::authz::{Action, Actor, RequestFacts};
use crate::domain::availability::Availability;
use crate::domain::series::Occurrence;
use crate::domain::{Appointment, Modality, RequestStatus};
use crate::store::{Mediator, Request, Tx};

/// Why a request went to the coordinator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EscalationReason {
    NobodyEligible,
    AllDeclined,
}

impl EscalationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            EscalationReason::NobodyEligible => "nobody_eligible",
            EscalationReason::AllDeclined => "all_declined",
        }
    }
}

/// What dispatching (or a wave timer) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaveOutcome {
    Offered {
        wave: i64,
        mediators: Vec<i64>,
    },
    Escalated(EscalationReason),
    /// The request no longer waits for offers (assigned, cancelled, or a newer wave exists).
    Nothing,
}

/// The matching job of a stored request.
pub fn job_of(r: &Request) -> Option<JobSpec> {
    let language = r.language.clone()?;
    let appointment = match (r.date, r.start_time, r.duration_minutes) {
        (Some(d), Some(t), Some(m)) if r.intervention.is_none_or(|i| i.has_appointment()) => {
            Appointment::new(d, t, u32::try_from(m).unwrap_or(0)).ok()
        }
        _ => None,
    };
    Some(JobSpec {
        language,
        ambito: r.ambito,
        modality: r.modality.unwrap_or(Modality::InPerson),
        appointment,
        gender_preference: r.mediator_gender,
        case_ref: r.case_ref.clone(),
        meetings: Vec::new(),
    })
}

fn meeting_of(o: &Occurrence) -> Meeting {
    Meeting {
        seq: o.seq,
        starts_at: o.starts_at,
        ends_at: o.ends_at,
    }
}

/// The meetings of `req`'s series still on and to come (none for a single appointment).
fn meetings_ahead(req: &Request, now: DateTime<Utc>) -> Vec<Meeting> {
    req.series
        .iter()
        .flat_map(|s| s.on())
        .filter(|o| o.starts_at > now)
        .map(meeting_of)
        .collect()
}

fn match_settings(core: &Core) -> MatchSettings {
    MatchSettings {
        tz: core.settings.tz,
        travel_buffer_minutes: core.settings.travel_buffer_minutes,
    }
}

/// The mediators who can take `req`, ranked, with the reasons (read inside `tx`: a
/// transaction never waits for a second pool connection).
pub async fn candidates(
    core: &Core,
    tx: &mut Tx,
    req: &Request,
    now: DateTime<Utc>,
) -> Result<MatchResult> {
    ranked(core, tx, req, meetings_ahead(req, now), now).await
}

/// The mediators who can take meeting `o` of `req`'s series on its own: those free then.
pub(crate) async fn meeting_candidates(
    core: &Core,
    tx: &mut Tx,
    req: &Request,
    o: &Occurrence,
    now: DateTime<Utc>,
) -> Result<MatchResult> {
    ranked(core, tx, req, vec![meeting_of(o)], now).await
}

async fn ranked(
    core: &Core,
    tx: &mut Tx,
    req: &Request,
    meetings: Vec<Meeting>,
    now: DateTime<Utc>,
) -> Result<MatchResult> {
    let mut job = job_of(req).ok_or(AppError::NoLanguage(req.code))?;
    job.meetings = meetings;
    let roster = roster(core, tx, req, &job, None, now).await?;
    Ok(rank(&roster, &job, &match_settings(core)))
}

/// The meetings of `req`'s series still to come (their `seq`) that `mediator_id` cannot make,
/// unavailable or busy then (their other jobs and meetings of other series), whatever else
/// matching would say of them (a coordinator may have chosen them by hand).
pub(crate) async fn meetings_missed(
    core: &Core,
    tx: &mut Tx,
    req: &Request,
    mediator_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<u32>> {
    let meetings = meetings_ahead(req, now);
    if meetings.is_empty() {
        return Ok(Vec::new());
    }
    let Some(mut job) = job_of(req) else {
        return Ok(Vec::new());
    };
    job.meetings = meetings;
    let roster = roster(core, tx, req, &job, Some(mediator_id), now).await?;
    let settings = match_settings(core);
    Ok(roster
        .iter()
        .find(|m| m.id == mediator_id)
        .map(|m| missed_meetings(m, &job, &settings))
        .unwrap_or_default())
}

async fn roster(
    core: &Core,
    tx: &mut Tx,
    req: &Request,
    job: &JobSpec,
    only: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Vec<MediatorProfile>> {
    let tz = core.settings.tz;
    // the busy time around every meeting of a series, else around the appointment
    let window = if job.meetings.is_empty() {
        job.appointment
            .as_ref()
            .map(|a| (a.starts_at(tz), a.ends_at(tz)))
    } else {
        let from = job.meetings.iter().map(|m| m.starts_at).min();
        from.zip(job.meetings.iter().map(|m| m.ends_at).max())
    };
    let mediators = match only {
        Some(id) => tx.mediators_by_ids(&[id]).await?,
        None => tx.all_mediators().await?,
    };
    let mut facts = tx
        .work_facts(window, job.case_ref.as_deref(), req.id, now)
        .await?;
    let mut out = Vec::with_capacity(mediators.len());
    for m in mediators {
        let availability = match m.availability.as_deref() {
            None => Availability::always(),
            Some(text) => match Availability::parse(text) {
                Ok(a) => a,
                Err(_) => {
                    tracing::warn!(
                        mediator_id = m.id,
                        "availability not readable; mediator left out"
                    );
                    continue;
                }
            },
        };
        let (received, accepted) = facts.offer_stats.get(&m.id).copied().unwrap_or((0, 0));
        out.push(MediatorProfile {
            id: m.id,
            active: m.active,
            paused: m.paused,
            gender: m.gender,
            languages: m.languages,
            ambiti: m.ambiti,
            availability,
            busy: facts.busy.remove(&m.id).unwrap_or_default(),
            minutes_last_30_days: facts.minutes_last_30_days.get(&m.id).copied().unwrap_or(0),
            offers_received: received,
            offers_accepted: accepted,
            case_refs: if facts.continuity.contains(&m.id) {
                job.case_ref.iter().cloned().collect()
            } else {
                vec![]
            },
        });
    }
    Ok(out)
}

/// Starts dispatching request `request_id` for `actor` (the service, a coordinator, the CLI):
/// the first wave of offers, or escalation when nobody is eligible. Only a queued or
/// escalated request can be dispatched.
pub async fn dispatch(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    request_id: i64,
    now: DateTime<Utc>,
) -> Result<WaveOutcome> {
    // Locked: the bot's immediate dispatch and the dispatcher's round (or two instances) may
    // both pick a queued request; the second then sees it offered and does nothing.
    let req = tx.lock_request(request_id).await?;
    authorise(actor, Action::Dispatch, &RequestFacts::of(&req))?;
    if !matches!(req.status, RequestStatus::Queued | RequestStatus::Escalated) {
        return Err(AppError::WrongState {
            code: req.code,
            status: req.status,
            what: "dispatch",
        });
    }
    next(core, tx, &req, now).await
}

/// Ranks `req` and sends its next wave (or escalates) inside `tx`; `req` is the state read
/// before. Shared by [`dispatch`], a decline that leaves the wave empty and an expired wave.
pub(crate) async fn next(
    core: &Core,
    tx: &mut Tx,
    req: &Request,
    now: DateTime<Utc>,
) -> Result<WaveOutcome> {
    let ranked = candidates(core, tx, req, now).await?;
    let asked = tx.offered_mediators(req.id).await?;
    // a series goes to one mediator at a time: continuity matters for the children
    let size = if req.series.is_some() {
        1
    } else {
        core.settings.wave_size.max(1)
    };
    let wave_ids = ranked.next_wave(&asked, size);
    if wave_ids.is_empty() {
        let reason = if asked.is_empty() {
            EscalationReason::NobodyEligible
        } else {
            EscalationReason::AllDeclined
        };
        return escalate(core, tx, req, reason, now).await;
    }
    let applied = tx
        .set_status_if(
            req.id,
            &[
                RequestStatus::Queued,
                RequestStatus::Offered,
                RequestStatus::Escalated,
            ],
            RequestStatus::Offered,
            "",
            now,
        )
        .await?;
    if !applied {
        return Ok(WaveOutcome::Nothing);
    }
    let wave = tx.last_wave(req.id).await? + 1;
    let minutes = if req.urgent {
        core.settings.urgent_offer_timeout_minutes
    } else {
        core.settings.offer_timeout_minutes
    };
    let expires = now + Duration::minutes(minutes.max(1));
    let mediators: HashMap<i64, Mediator> = tx
        .mediators_by_ids(&wave_ids)
        .await?
        .into_iter()
        .map(|m| (m.id, m))
        .collect();
    for mid in &wave_ids {
        let offer_id = tx.insert_offer(req.id, *mid, wave, expires, now).await?;
        if let Some(m) = mediators.get(mid) {
            let n = Notice::Offer {
                request: req.clone(),
                mediator: m.clone(),
                offer_id,
            };
            if let Some(outbox_id) = notice::emit(core, tx, &n, now).await? {
                tx.set_offer_outbox(offer_id, outbox_id).await?;
            }
        }
    }
    tx.schedule_timer(TimerKind::OfferWave, Some(req.id), Some(wave), expires, now)
        .await?;
    tx.audit(
        now,
        "process:dispatch",
        Some(req.id),
        "offered",
        Some(&format!("wave {wave}: {} mediators", wave_ids.len())),
    )
    .await?;
    tracing::info!(code = %req.code, wave, n = wave_ids.len(), "offers sent");
    Ok(WaveOutcome::Offered {
        wave,
        mediators: wave_ids,
    })
}

/// Nobody (left) to ask: the request goes to the coordinators, who are alerted.
async fn escalate(
    core: &Core,
    tx: &mut Tx,
    req: &Request,
    reason: EscalationReason,
    now: DateTime<Utc>,
) -> Result<WaveOutcome> {
    let applied = tx
        .set_status_if(
            req.id,
            &[RequestStatus::Queued, RequestStatus::Offered],
            RequestStatus::Escalated,
            "",
            now,
        )
        .await?;
    if !applied {
        return Ok(WaveOutcome::Nothing);
    }
    tx.set_escalation_reason(req.id, reason.as_str()).await?;
    tx.audit(
        now,
        "process:dispatch",
        Some(req.id),
        "escalated",
        Some(reason.as_str()),
    )
    .await?;
    alert::raise(
        core,
        tx,
        &Alert::Escalated {
            request: Box::new(req.clone()),
            reason,
        },
        now,
    )
    .await?;
    tracing::info!(code = %req.code, reason = reason.as_str(), "escalated");
    Ok(WaveOutcome::Escalated(reason))
}
