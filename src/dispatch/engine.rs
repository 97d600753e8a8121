//! The dispatcher: waves of offers, atomic acceptance, escalation, manual assignment,
//! cancellation, reminders, outcome and evaluation — all as store transactions that write the
//! messages they cause into the outbox, and durable timers that a worker claims exactly once.
//!
//! Callback data the Telegram bot routes back here (all well under 64 bytes):
//! `acc:<offer_id>`, `dec:<offer_id>`, `done:<assignment_id>`, `notdone:<assignment_id>`,
//! `ev:<request_id>:<score>`.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use std::collections::HashMap;
use std::sync::Arc;

use super::matching::{JobSpec, MatchResult, MatchSettings, MediatorProfile, rank};
use super::texts::Texts;
use crate::app::notice::{self, Notice, Reminder, Withdrawn};
use crate::app::{AppError, Core};
use crate::authz::{Actor, Denied};
use crate::clock::Clock;
use crate::config::Lang;
use crate::domain::appointment::local_to_utc;
use crate::domain::availability::Availability;
use crate::domain::{Appointment, Modality, RequestCode, RequestStatus};
use crate::store::{Mediator, Request, Store, StoreError, Tx};

/// Timer kinds written by the dispatcher.
pub mod timer_kind {
    pub const OFFER_WAVE: &str = "offer_wave";
    pub const REMINDER_DAY_BEFORE: &str = "reminder_day_before";
    pub const REMINDER_TWO_HOURS: &str = "reminder_two_hours";
    pub const AFTER_END: &str = "after_end";
}

/// Tunables (the `dispatch` config section).
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    pub wave_size: usize,
    pub offer_timeout_minutes: i64,
    pub urgent_offer_timeout_minutes: i64,
    pub travel_buffer_minutes: u32,
    pub tz: Tz,
    /// Less than this many hours before the start, a cancellation is late.
    pub late_cancellation_hours: i64,
    pub reminder_hours_before: i64,
    /// Domain part of the Message-IDs we make for emails.
    pub message_id_domain: String,
    /// The cooperative's signature under the confirmation letter (`[smtp] signature`).
    pub email_signature: Option<String>,
    /// The language of what the core writes (`[intake] language`).
    pub lang: Lang,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            wave_size: 3,
            offer_timeout_minutes: 60,
            urgent_offer_timeout_minutes: 15,
            travel_buffer_minutes: 30,
            tz: chrono_tz::Europe::Rome,
            late_cancellation_hours: 24,
            reminder_hours_before: 2,
            message_id_domain: "connecting.local".into(),
            email_signature: None,
            lang: Lang::It,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("request {code} is {status}: {what} is not possible")]
    WrongState {
        code: RequestCode,
        status: RequestStatus,
        what: &'static str,
    },
    #[error("request {0} has no language: it cannot be matched")]
    NoLanguage(RequestCode),
    #[error("mediator {0} is not active")]
    MediatorInactive(i64),
    #[error("evaluation score {0} is not valid: expected 1 to 5")]
    BadScore(i64),
    #[error("not allowed: {0}")]
    Denied(Denied),
    #[error("request {0}: its appointment has not happened yet")]
    TooEarly(RequestCode),
}

impl From<AppError> for DispatchError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Store(e) => DispatchError::Store(e),
            AppError::Denied(d) => DispatchError::Denied(d),
            AppError::WrongState { code, status, what } => {
                DispatchError::WrongState { code, status, what }
            }
            AppError::TooEarly(code) => DispatchError::TooEarly(code),
            AppError::BadScore(s) => DispatchError::BadScore(s),
        }
    }
}

pub type Result<T, E = DispatchError> = std::result::Result<T, E>;

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

/// The result of an acceptance attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcceptOutcome {
    Assigned {
        request_id: i64,
        assignment_id: i64,
    },
    /// The offer was closed, expired or not this mediator's: nothing changed.
    NotAvailable,
}

/// Who cancels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Canceller {
    Requester,
    Coordinator(i64),
    Cli,
}

impl Canceller {
    /// The actor, for request `r` (the requester is the one who wrote it).
    fn actor(&self, r: &Request) -> Actor {
        match self {
            Canceller::Requester => requester_of(r),
            Canceller::Coordinator(id) => Actor::Coordinator { id: *id },
            Canceller::Cli => Actor::Cli,
        }
    }
}

/// The requester of `r` as an actor (callers that identified them already).
fn requester_of(r: &Request) -> Actor {
    Actor::Operator {
        id: r.operator_id,
        email: r.requester_email.clone(),
        chat_id: r.requester_chat_id,
        active: true,
    }
}

/// The dispatcher. Cheap to clone; several instances (processes) may run on one database.
#[derive(Clone)]
pub struct Dispatcher {
    store: Store,
    clock: Arc<dyn Clock>,
    settings: Arc<DispatchSettings>,
    core: Core,
    texts: Texts,
    /// Rings when a request may be waiting (an intake committed one): dispatch at once.
    wake: Option<Arc<tokio::sync::Notify>>,
    /// Rung after a round that wrote messages, so the outbox sends them at once.
    outbox_wake: Option<Arc<tokio::sync::Notify>>,
}

/// Escapes text for Telegram's HTML parse mode.
pub use crate::channels::telegram::html::escape as html_escape;

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
    })
}

impl Dispatcher {
    pub fn new(store: Store, clock: Arc<dyn Clock>, settings: DispatchSettings) -> Self {
        let settings = Arc::new(settings);
        Self {
            store,
            clock,
            core: Core::from_arc(settings.clone()),
            settings,
            texts: Texts,
            wake: None,
            outbox_wake: None,
        }
    }

    /// Runs a round as soon as `wake` is notified, and notifies `outbox` after a round that
    /// did something (the daemon wires both).
    pub fn with_wake(
        mut self,
        wake: Arc<tokio::sync::Notify>,
        outbox: Option<Arc<tokio::sync::Notify>>,
    ) -> Self {
        self.wake = Some(wake);
        self.outbox_wake = outbox;
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn settings(&self) -> &DispatchSettings {
        &self.settings
    }

    /// The application core the use cases run in.
    pub fn core(&self) -> &Core {
        &self.core
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn t(&self, key: &str, args: &[(&str, String)]) -> String {
        self.texts.render(self.settings.lang.as_str(), key, args)
    }

    fn match_settings(&self) -> MatchSettings {
        MatchSettings {
            tz: self.settings.tz,
            travel_buffer_minutes: self.settings.travel_buffer_minutes,
        }
    }

    /// Builds the roster for one request and ranks it (also the coordinator's explanation).
    pub async fn candidates(&self, req: &Request) -> Result<MatchResult> {
        let mut tx = self.store.begin().await?;
        let r = self.candidates_in(&mut tx, req).await;
        tx.rollback().await?;
        r
    }

    /// Ranking read inside `tx`: a transaction never waits for a second pool connection.
    async fn candidates_in(&self, tx: &mut Tx, req: &Request) -> Result<MatchResult> {
        let job = job_of(req).ok_or(DispatchError::NoLanguage(req.code))?;
        let roster = self.roster(tx, req, &job).await?;
        Ok(rank(&roster, &job, &self.match_settings()))
    }

    async fn roster(
        &self,
        tx: &mut Tx,
        req: &Request,
        job: &JobSpec,
    ) -> Result<Vec<MediatorProfile>> {
        let now = self.now();
        let window = job
            .appointment
            .as_ref()
            .map(|a| (a.starts_at(self.settings.tz), a.ends_at(self.settings.tz)));
        let mediators = tx.all_mediators().await?;
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

    /// Starts dispatching a queued (or escalated, re-tried) request: the first wave of offers,
    /// or escalation if nobody is eligible.
    #[tracing::instrument(skip_all, fields(code = %code))]
    pub async fn dispatch(&self, code: RequestCode) -> Result<WaveOutcome> {
        let id = self.store.request(code).await?.id;
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let req = tx.request_by_id(id).await?;
        if !matches!(req.status, RequestStatus::Queued | RequestStatus::Escalated) {
            tx.rollback().await?;
            return Err(DispatchError::WrongState {
                code,
                status: req.status,
                what: "dispatch",
            });
        }
        let ranked = self.candidates_in(&mut tx, &req).await?;
        let outcome = self.send_next_wave(&mut tx, &req, &ranked, now).await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Sends the next wave (or escalates) inside `tx`. `req` is the state read before.
    async fn send_next_wave(
        &self,
        tx: &mut Tx,
        req: &Request,
        ranked: &MatchResult,
        now: DateTime<Utc>,
    ) -> Result<WaveOutcome> {
        let asked = tx.offered_mediators(req.id).await?;
        let wave_ids = ranked.next_wave(&asked, self.settings.wave_size.max(1));
        if wave_ids.is_empty() {
            let reason = if asked.is_empty() {
                EscalationReason::NobodyEligible
            } else {
                EscalationReason::AllDeclined
            };
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
            let reason_text = self.t(&format!("escalated_reason_{}", reason.as_str()), &[]);
            let text = self.t(
                "escalated",
                &[("code", req.code.to_string()), ("reason", reason_text)],
            );
            let subject = self.t("escalated_subject", &[("code", req.code.to_string())]);
            notice::emit(
                &self.core,
                tx,
                &Notice::Alert {
                    key: format!("esc:{}:{}", req.id, now.timestamp()),
                    request_id: Some(req.id),
                    subject,
                    text,
                },
                now,
            )
            .await?;
            tracing::info!(code = %req.code, reason = reason.as_str(), "escalated");
            return Ok(WaveOutcome::Escalated(reason));
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
            self.settings.urgent_offer_timeout_minutes
        } else {
            self.settings.offer_timeout_minutes
        };
        let expires = now + Duration::minutes(minutes.max(1));
        let mediators: HashMap<i64, Mediator> = tx
            .all_mediators()
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
                if let Some(outbox_id) = notice::emit(&self.core, tx, &n, now).await? {
                    tx.set_offer_outbox(offer_id, outbox_id).await?;
                }
            }
        }
        tx.schedule_timer(
            timer_kind::OFFER_WAVE,
            Some(req.id),
            Some(wave),
            expires,
            now,
        )
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

    /// A request's full details (when, where, requester, notes) in the sentence `key`
    /// (`accepted_details`, `request_details`), in words; values HTML-escaped when `html`
    /// (Telegram). Only for whom [`crate::authz`] allows `SeeDetails`.
    pub fn details_text(&self, req: &Request, key: &str, html: bool) -> String {
        let args = crate::app::sentence::details_args(
            &crate::app::words::Words::new(self.settings.lang),
            req,
        );
        if html {
            let escaped: Vec<(&str, String)> =
                args.iter().map(|(k, v)| (*k, html_escape(v))).collect();
            self.t(key, &escaped)
        } else {
            self.t(key, &args)
        }
    }

    /// A mediator accepts an offer. Exactly one acceptance per request succeeds, whatever the
    /// concurrency; in the same transaction the requester's confirmation and the winner's full
    /// details are queued, the other offers withdrawn, and reminders scheduled.
    #[tracing::instrument(skip_all, fields(offer_id, mediator_id))]
    pub async fn accept(&self, offer_id: i64, mediator_id: i64) -> Result<AcceptOutcome> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let Some(request_id) = tx.accept_offer(offer_id, mediator_id, now).await? else {
            tx.rollback().await?;
            return Ok(AcceptOutcome::NotAvailable);
        };
        let req = tx.request_by_id(request_id).await?;
        let assignment_id = tx
            .insert_assignment(request_id, mediator_id, Some(offer_id), "offer", now)
            .await?;
        self.after_assignment(&mut tx, &req, mediator_id, assignment_id, now)
            .await?;
        tx.commit().await?;
        tracing::info!(code = %req.code, assignment_id, "assigned by acceptance");
        Ok(AcceptOutcome::Assigned {
            request_id,
            assignment_id,
        })
    }

    async fn after_assignment(
        &self,
        tx: &mut Tx,
        req: &Request,
        mediator_id: i64,
        assignment_id: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let others = tx.close_open_offers(req.id, "withdrawn", now).await?;
        let mut ids: Vec<i64> = others.iter().map(|o| o.mediator_id).collect();
        ids.push(mediator_id);
        let mediators: HashMap<i64, Mediator> = tx
            .mediators_by_ids(&ids)
            .await?
            .into_iter()
            .map(|m| (m.id, m))
            .collect();
        for other in others {
            crate::app::offers::withdraw(
                &self.core,
                tx,
                req,
                &other,
                mediators.get(&other.mediator_id),
                Withdrawn::Taken,
                now,
            )
            .await?;
        }
        tx.cancel_timers(req.id, &[timer_kind::OFFER_WAVE]).await?;
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
            notice::emit(&self.core, tx, &n, now).await?;
        }
        self.schedule_followups(tx, req, assignment_id, now).await?;
        Ok(())
    }

    /// Reminders (the day before at the same local time, and `reminder_hours_before` before)
    /// and the after-the-end questions. The day-before reminder is computed on the wall clock
    /// in the configured zone, so it is right across a daylight-saving change.
    async fn schedule_followups(
        &self,
        tx: &mut Tx,
        req: &Request,
        assignment_id: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let Some(job) = job_of(req) else {
            return Ok(());
        };
        let Some(appt) = job.appointment else {
            return Ok(());
        };
        let tz = self.settings.tz;
        let start = appt.starts_at(tz);
        let day_before = local_to_utc((appt.date - Duration::days(1)).and_time(appt.start), tz);
        let hours_before = start - Duration::hours(self.settings.reminder_hours_before);
        for (kind, due) in [
            (timer_kind::REMINDER_DAY_BEFORE, day_before),
            (timer_kind::REMINDER_TWO_HOURS, hours_before),
        ] {
            if due > now {
                tx.schedule_timer(kind, Some(req.id), Some(assignment_id), due, now)
                    .await?;
            }
        }
        tx.schedule_timer(
            timer_kind::AFTER_END,
            Some(req.id),
            Some(assignment_id),
            appt.ends_at(tz),
            now,
        )
        .await?;
        Ok(())
    }

    /// A mediator declines. When nobody of the wave is left open, the next wave goes at once.
    pub async fn decline(&self, offer_id: i64, mediator_id: i64) -> Result<bool> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        if !tx.decline_offer(offer_id, mediator_id, None, now).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        let offer = tx.offer(offer_id).await?;
        let req = tx.request_by_id(offer.request_id).await?;
        if req.status == RequestStatus::Offered && tx.open_offers(req.id).await?.is_empty() {
            tx.cancel_timers(req.id, &[timer_kind::OFFER_WAVE]).await?;
            let ranked = self.candidates_in(&mut tx, &req).await?;
            self.send_next_wave(&mut tx, &req, &ranked, now).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Manual assignment by a coordinator (or the CLI): from queued, offered or escalated.
    #[tracing::instrument(skip_all, fields(code = %code, mediator_id))]
    pub async fn assign(&self, code: RequestCode, mediator_id: i64, actor: &str) -> Result<i64> {
        let now = self.now();
        let m = self.store.mediator(mediator_id).await?;
        if !m.active {
            return Err(DispatchError::MediatorInactive(mediator_id));
        }
        let id = self.store.request(code).await?.id;
        let mut tx = self.store.begin().await?;
        let req = tx.request_by_id(id).await?;
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
            tx.rollback().await?;
            return Err(DispatchError::WrongState {
                code,
                status: req.status,
                what: "assignment",
            });
        }
        tx.set_assigned_mediator(req.id, mediator_id).await?;
        let assignment_id = tx
            .insert_assignment(req.id, mediator_id, None, actor, now)
            .await?;
        tx.audit(
            now,
            actor,
            Some(req.id),
            "assigned",
            Some(&format!("mediator {mediator_id}")),
        )
        .await?;
        self.after_assignment(&mut tx, &req, mediator_id, assignment_id, now)
            .await?;
        tx.commit().await?;
        Ok(assignment_id)
    }

    /// Cancels a request: the assigned mediator and open offers are told; less than
    /// `late_cancellation_hours` before the start it is marked late. Returns whether it was late.
    #[tracing::instrument(skip_all, fields(code = %code))]
    pub async fn cancel(&self, code: RequestCode, by: Canceller) -> Result<bool> {
        let req = self.store.request(code).await?;
        self.cancel_id(req.id, &by.actor(&req)).await
    }

    /// [`Dispatcher::cancel`] for an identified actor, in its own transaction (the use case is
    /// [`crate::app::cancel::cancel`], which callers with a transaction call directly).
    pub async fn cancel_as(&self, code: RequestCode, actor: &Actor) -> Result<bool> {
        let id = self.store.request(code).await?.id;
        self.cancel_id(id, actor).await
    }

    async fn cancel_id(&self, id: i64, actor: &Actor) -> Result<bool> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        match crate::app::cancel::cancel(&self.core, &mut tx, actor, id, now).await {
            Ok(c) => {
                tx.commit().await?;
                Ok(c.late)
            }
            Err(e) => {
                tx.rollback().await?;
                Err(e.into())
            }
        }
    }

    /// The mediator's answer after the end: done (with minutes worked) or not done.
    pub async fn record_outcome(
        &self,
        assignment_id: i64,
        mediator_id: i64,
        done: bool,
        worked_minutes: Option<i64>,
    ) -> Result<bool> {
        let actor = format!("mediator:{mediator_id}");
        self.record_outcome_as(
            assignment_id,
            Some(mediator_id),
            done,
            worked_minutes,
            &actor,
        )
        .await
    }

    /// The outcome recorded by `actor`: for the assignment's own mediator when `mediator_id` is
    /// given (checked), else on the mediator's behalf (a coordinator; authorised by the caller).
    /// False when the assignment is not active (already answered) or not that mediator's.
    pub async fn record_outcome_as(
        &self,
        assignment_id: i64,
        mediator_id: Option<i64>,
        done: bool,
        worked_minutes: Option<i64>,
        actor: &str,
    ) -> Result<bool> {
        let now = self.now();
        let mut tx = self.store.begin().await?;
        let request_id = tx
            .assignment(assignment_id)
            .await?
            .filter(|a| mediator_id.is_none_or(|m| a.mediator_id == m) && a.status == "active")
            .map(|a| a.request_id);
        let Some(request_id) = request_id else {
            tx.rollback().await?;
            return Ok(false);
        };
        let status = if done { "done" } else { "not_done" };
        let actor = actor.to_string();
        if !tx
            .close_assignment(
                assignment_id,
                status,
                worked_minutes.filter(|m| *m > 0),
                &actor,
                now,
            )
            .await?
        {
            tx.rollback().await?;
            return Ok(false);
        }
        if done {
            tx.set_status_if(
                request_id,
                &[RequestStatus::Assigned, RequestStatus::Confirmed],
                RequestStatus::Done,
                "",
                now,
            )
            .await?;
        }
        tx.audit(now, &actor, Some(request_id), "outcome", Some(status))
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The requester's evaluation, 1 to 5 with an optional comment.
    pub async fn record_evaluation(
        &self,
        code: RequestCode,
        score: i64,
        comment: Option<&str>,
    ) -> Result<()> {
        let now = self.now();
        let req = self.store.request(code).await?;
        let mut tx = self.store.begin().await?;
        let actor = requester_of(&req);
        match crate::app::evaluation::evaluate(
            &self.core, &mut tx, &actor, req.id, score, comment, now,
        )
        .await
        {
            Ok(()) => {
                tx.commit().await?;
                Ok(())
            }
            Err(e) => {
                tx.rollback().await?;
                Err(e.into())
            }
        }
    }

    /// Starts dispatching every queued request (oldest first); returns how many were handled.
    /// A request another instance took meanwhile is skipped.
    pub async fn dispatch_queued(&self) -> Result<usize> {
        let queued = self
            .store
            .requests(&crate::store::RequestFilter {
                status: Some(RequestStatus::Queued),
                ..Default::default()
            })
            .await?;
        let mut n = 0;
        for r in queued {
            match self.dispatch(r.code).await {
                Ok(_) => n += 1,
                Err(DispatchError::WrongState { .. }) => {}
                Err(DispatchError::NoLanguage(code)) => {
                    tracing::warn!(code = %code, "queued request without a language; left for the coordinator");
                }
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    /// The dispatcher's loop for the daemon: dispatch queued requests and fire due timers every
    /// `every`, until `shutdown` turns true.
    pub async fn run(
        &self,
        every: std::time::Duration,
        mut shutdown: tokio::sync::watch::Receiver<bool>,
    ) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let mut did = 0;
            match self.dispatch_queued().await {
                Ok(n) => did += n,
                Err(e) => tracing::error!(error = %e, "dispatching queued requests failed"),
            }
            match self.run_due_timers().await {
                Ok(n) => did += n,
                Err(e) => tracing::error!(error = %e, "timer round failed"),
            }
            if did > 0
                && let Some(n) = &self.outbox_wake
            {
                n.notify_one();
            }
            let woken = async {
                match &self.wake {
                    Some(n) => n.notified().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = woken => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// Fires every due timer, each in its own transaction that claims it: a timer fires once
    /// even with several instances on one database. Returns how many fired.
    pub async fn run_due_timers(&self) -> Result<usize> {
        let mut fired = 0;
        loop {
            let now = self.now();
            let mut tx = self.store.begin().await?;
            let Some(timer) = tx.claim_due_timer(now).await? else {
                tx.rollback().await?;
                return Ok(fired);
            };
            if let Err(e) = self.fire(&mut tx, &timer, now).await {
                // One bad timer must not block the others (they are claimed earliest first):
                // put it back later, and give it up after a few attempts.
                tx.rollback().await?;
                tracing::error!(timer_id = timer.id, kind = %timer.kind, error = %e, "timer failed");
                let mut tx = self.store.begin().await?;
                tx.defer_failed_timer(timer.id, now + Duration::minutes(5), 5)
                    .await?;
                tx.commit().await?;
                continue;
            }
            tx.finish_timer(timer.id, now).await?;
            tx.audit(
                now,
                "process:timers",
                timer.request_id,
                "timer_fired",
                Some(&format!("{} {}", timer.id, timer.kind)),
            )
            .await?;
            tx.commit().await?;
            fired += 1;
        }
    }

    async fn fire(
        &self,
        tx: &mut Tx,
        timer: &crate::store::Timer,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let Some(request_id) = timer.request_id else {
            return Ok(());
        };
        let req = tx.request_by_id(request_id).await?;
        match timer.kind.as_str() {
            timer_kind::OFFER_WAVE => {
                if req.status != RequestStatus::Offered
                    || timer.ref_id != Some(tx.last_wave(req.id).await?)
                {
                    return Ok(());
                }
                tx.close_open_offers(req.id, "expired", now).await?;
                let ranked = self.candidates_in(tx, &req).await?;
                self.send_next_wave(tx, &req, &ranked, now).await?;
            }
            timer_kind::REMINDER_DAY_BEFORE
            | timer_kind::REMINDER_TWO_HOURS
            | timer_kind::AFTER_END => {
                let Some(a) = tx.active_assignment(req.id).await? else {
                    return Ok(());
                };
                if Some(a.id) != timer.ref_id {
                    return Ok(());
                }
                let Some(m) = tx
                    .all_mediators()
                    .await?
                    .into_iter()
                    .find(|m| m.id == a.mediator_id)
                else {
                    return Ok(());
                };
                let notices = if timer.kind == timer_kind::AFTER_END {
                    vec![
                        Notice::OutcomeQuestion {
                            request: req.clone(),
                            mediator: m,
                            timer_id: timer.id,
                            assignment_id: a.id,
                        },
                        Notice::EvaluationQuestion {
                            request: req.clone(),
                        },
                    ]
                } else {
                    vec![Notice::Reminder {
                        request: req.clone(),
                        mediator: m,
                        timer_id: timer.id,
                        which: if timer.kind == timer_kind::REMINDER_DAY_BEFORE {
                            Reminder::DayBefore
                        } else {
                            Reminder::HoursBefore
                        },
                    }]
                };
                notice::emit_all(&self.core, tx, &notices, now).await?;
            }
            other => {
                tracing::warn!(
                    timer_id = timer.id,
                    kind = other,
                    "unknown timer kind; marked done"
                );
            }
        }
        Ok(())
    }
}
