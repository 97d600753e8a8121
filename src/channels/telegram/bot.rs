//! The bot's brain: one update in, one database transaction out. [`TelegramBot`] implements
//! [`UpdateSink`]: it records the update in `inbound_messages` (dedupe by update_id), works out
//! who is writing (operator, mediator, coordinator by Telegram id; anyone else is a stranger),
//! runs the dialogue (state in `dialogues`, so it survives restarts and works with several
//! instances), and queues every reply in the outbox — all in the same transaction. Only then
//! may the intake confirm the update to Telegram. Button presses are authorised again here.

use super::callback::{Callback, DraftAction};
use super::draft::{self, Draft, Field, LANGUAGES};
use super::html::escape;
use super::sink::{SinkError, SinkFuture, UpdateSink};
use super::texts::render;
use super::updates::{Incoming, Media, classify};
use crate::authz::{Action, Actor, Denied, RequestFacts, authorize};
use crate::clock::Clock;
use crate::dispatch::engine::{
    AcceptOutcome, Canceller, DispatchError, DispatchSettings, Dispatcher,
};
use crate::domain::{
    Appointment, Channel, InterventionType, Modality, PersonKind, RequestCode, RequestStatus,
};
use crate::outbox::{Button, Payload, TelegramPayload};
use crate::store::{
    Coordinator, DialogueRow, InviteError, Mediator, NewInbound, NewRequest, Operator,
    RequestFilter, Store, StoreError, Tx,
};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use teloxide::prelude::*;
use teloxide::types::{CallbackQueryId, Update};
use tokio::sync::Notify;

/// Settings of the bot's behaviour.
#[derive(Debug, Clone)]
pub struct BotConfig {
    /// Language of the bot's sentences ("it" default).
    pub lang: String,
    /// Time zone of appointments.
    pub tz: Tz,
    /// Failed invite codes allowed per Telegram account per hour.
    pub invite_attempts_per_hour: i64,
    /// Failed invite codes from one account within the hour that alert the coordinators.
    pub invite_alert_after: i64,
}

impl Default for BotConfig {
    fn default() -> Self {
        BotConfig {
            lang: "it".into(),
            tz: chrono_tz::Europe::Rome,
            invite_attempts_per_hour: 5,
            invite_alert_after: 5,
        }
    }
}

/// Who is writing.
#[derive(Debug, Clone)]
pub enum Person {
    Operator(Operator),
    Mediator(Mediator),
    Coordinator(Coordinator),
}

/// The bot: cheap to clone.
#[derive(Clone)]
pub struct TelegramBot {
    store: Store,
    clock: Arc<dyn Clock>,
    bot: Bot,
    cfg: BotConfig,
    /// Woken after each commit that queued messages (the delivery loop waits on it).
    wake: Arc<Notify>,
    /// Acceptance, decline, outcome, cancellation and first waves belong to dispatch.
    dispatcher: Dispatcher,
}

/// An operator's dialogue, saved as JSON in `dialogues.state`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OperatorState {
    /// Grows with every question; buttons carry it, so a stale press is recognised.
    pub step: i64,
    pub draft: Draft,
    pub asking: Option<Field>,
    pub phase: Phase,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    #[default]
    Collecting,
    Confirming,
    Modifying,
}

/// What one update produces besides database changes.
#[derive(Default)]
struct Out {
    messages: Vec<(Option<i64>, Payload)>,
    answer: Option<(String, Option<String>)>,
    request_id: Option<i64>,
    /// A request just queued: dispatch it after the commit.
    dispatch_now: Option<RequestCode>,
}

/// What was done before the update's own transaction, by code that runs its own (invite
/// redemption, dispatch's acceptance, decline, outcome, cancellation): the reply to give.
enum Pre {
    Registration(Result<PersonKind, &'static str>),
    /// Answer to a button press.
    Answer(String, Option<i64>),
    /// Reply message (e.g. to /annulla), with the request it concerns and buttons.
    Reply(String, Option<i64>, Vec<Vec<Button>>),
    /// Answer to a button press, then a question with its own buttons.
    AnswerAndAsk(String, String, Vec<Vec<Button>>),
}

/// The reasons a mediator can give, with one tap, for declining an offer.
const DECLINE_REASONS: [&str; 4] = ["busy", "far", "language", "other"];

/// The choices offered for the hours actually worked, in minutes.
const WORKED_CHOICES: [i64; 6] = [60, 90, 120, 180, 240, 360];

type HResult<T = ()> = Result<T, StoreError>;

fn store_err(e: StoreError) -> SinkError {
    SinkError(e.to_string())
}

impl TelegramBot {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        bot: Bot,
        cfg: BotConfig,
        mut dispatch: DispatchSettings,
    ) -> Self {
        // The core writes in the bot's language.
        dispatch.lang = lang_of(&cfg.lang);
        TelegramBot {
            dispatcher: Dispatcher::new(store.clone(), clock.clone(), dispatch),
            store,
            clock,
            bot,
            cfg,
            wake: Arc::new(Notify::new()),
        }
    }

    /// The notifier the delivery loop waits on.
    pub fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    fn t(&self, key: &str) -> String {
        render(&self.cfg.lang, key, &[])
    }

    fn tr(&self, key: &str, args: &[(&str, &str)]) -> String {
        render(&self.cfg.lang, key, args)
    }

    /// One line of a list of requests (`request_line`, `job_line`): code, day, time and
    /// language, plus the list's own `extra` placeholder.
    fn list_line(&self, key: &str, r: &crate::store::Request, extra: (&str, &str)) -> String {
        let code = r.code.to_string();
        let date = r
            .date
            .map(|d| d.format("%d/%m").to_string())
            .unwrap_or_default();
        let time = r
            .start_time
            .map(|t| t.format("%H:%M").to_string())
            .unwrap_or_default();
        let language = escape(
            &r.language
                .as_ref()
                .map(draft::language_name)
                .unwrap_or_default(),
        );
        self.tr(
            key,
            &[
                ("code", &code),
                ("date", &date),
                ("time", &time),
                ("language", &language),
                extra,
            ],
        )
    }

    /// Asks the one authorisation table ([`crate::authz`]); a refusal is logged (ids only).
    fn check(&self, actor: Actor, action: Action, facts: &RequestFacts) -> Result<(), Denied> {
        authorize(&actor, action, facts).inspect_err(|d| {
            tracing::warn!(actor = %actor.audit_name(), ?action, denied = %d, "telegram: refused");
        })
    }

    /// The sentence a refused button press is answered with.
    /// Whether mediator `m` may report the outcome (done, hours) of assignment `assignment_id`.
    async fn may_record_outcome(
        &self,
        m: &Mediator,
        assignment_id: i64,
    ) -> Result<Result<(), Denied>, SinkError> {
        let a = self
            .store
            .assignment_ref(assignment_id)
            .await
            .map_err(store_err)?;
        let facts = a
            .map(|a| RequestFacts::default().assigned_to(a.mediator_id))
            .unwrap_or_default();
        Ok(self.check(mediator_actor(m), Action::RecordOutcome, &facts))
    }

    fn denied_text(&self, d: Denied) -> String {
        match d {
            Denied::NotAccepted => self.t("details_after_acceptance"),
            _ => self.t("not_authorized"),
        }
    }

    /// Who this Telegram account belongs to.
    pub async fn person(&self, telegram_id: i64) -> HResult<Option<Person>> {
        if let Some(c) = self.store.coordinator_by_telegram(telegram_id).await? {
            return Ok(Some(Person::Coordinator(c)));
        }
        if let Some(m) = self.store.mediator_by_telegram(telegram_id).await?
            && m.active
        {
            return Ok(Some(Person::Mediator(m)));
        }
        if let Some(o) = self.store.operator_by_telegram(telegram_id).await?
            && o.active
        {
            return Ok(Some(Person::Operator(o)));
        }
        Ok(None)
    }

    async fn process(&self, update: &Update) -> Result<(), SinkError> {
        let now = self.clock.now();
        let incoming = classify(update);
        let update_id = update.id.0;
        let mut who = match incoming.user_id() {
            Some(u) => self.person(u).await.map_err(store_err)?,
            None => None,
        };

        // Seen before (a redelivery): already handled, nothing to redo.
        if self
            .store
            .inbound_seen("telegram", &update_id.to_string())
            .await
            .map_err(store_err)?
        {
            tracing::debug!(update_id, "telegram update already processed");
            return Ok(());
        }
        // Work that runs its own transaction happens first (SQLite has a single writer, so it
        // cannot nest in ours); a crash before our commit redelivers the update, which then
        // finds the work done (account linked, offer closed) and answers accordingly.
        let pre = self.pre_step(&incoming, &who, now).await?;
        if let Some(Pre::Registration(Ok(_))) = pre
            && let Some(u) = incoming.user_id()
        {
            who = self.person(u).await.map_err(store_err)?;
        }

        let mut tx = self.store.begin().await.map_err(store_err)?;
        let record = NewInbound {
            channel: "telegram".into(),
            external_id: update_id.to_string(),
            kind: kind_name(&incoming).into(),
            status: if matches!(incoming, Incoming::Ignored { .. }) {
                "ignored".into()
            } else {
                "processed".into()
            },
            sender: incoming.user_id().map(|u| u.to_string()),
            body: match &incoming {
                Incoming::Text { text, .. } => Some(text.clone()),
                _ => None,
            },
            ..Default::default()
        };
        let Some(inbound_id) = tx.record_inbound(&record, now).await.map_err(store_err)? else {
            // Seen before (a redelivery): already handled.
            tx.rollback().await.map_err(store_err)?;
            tracing::debug!(update_id, "telegram update already processed");
            return Ok(());
        };
        let mut out = Out::default();
        self.handle(&mut tx, now, &incoming, who, pre, &mut out)
            .await
            .map_err(store_err)?;
        let mut queued = false;
        for (i, (request_id, payload)) in out.messages.iter().enumerate() {
            // The answer to someone using the bot now goes out before bulk work.
            tx.enqueue_with(
                &format!("tg:{update_id}:{i}"),
                *request_id,
                payload,
                now,
                crate::store::Priority::Interactive,
            )
            .await
            .map_err(store_err)?;
            queued = true;
        }
        if let Some(rid) = out.request_id {
            tx.link_inbound(inbound_id, rid).await.map_err(store_err)?;
        }
        tx.commit().await.map_err(store_err)?;
        tracing::debug!(
            update_id,
            kind = kind_name(&incoming),
            "telegram update committed"
        );
        if queued {
            self.wake.notify_one();
        }
        if let Some(code) = out.dispatch_now {
            // The first wave goes out at once; if it fails, the daemon's rounds retry it.
            match self.dispatcher.dispatch(code).await {
                Ok(_) => self.wake.notify_one(),
                Err(e) => tracing::warn!(request = %code, error = %e, "first dispatch failed"),
            }
        }
        if let Some((qid, text)) = out.answer {
            // The spinner on the button: best effort, it expires on Telegram's side anyway.
            let mut req = self.bot.answer_callback_query(CallbackQueryId(qid));
            if let Some(t) = text {
                req = req.text(t);
            }
            if let Err(e) = req.await {
                tracing::warn!(update_id, error = %e, "answerCallbackQuery failed");
            }
        }
        Ok(())
    }

    async fn pre_step(
        &self,
        incoming: &Incoming,
        who: &Option<Person>,
        now: DateTime<Utc>,
    ) -> Result<Option<Pre>, SinkError> {
        let dispatch_err = |e: DispatchError| match e {
            DispatchError::Store(e) => store_err(e),
            other => SinkError(other.to_string()),
        };
        match (who, incoming) {
            (
                None,
                Incoming::Command {
                    user_id, name, arg, ..
                },
            ) if name == "start" && !arg.is_empty() => {
                let since = now - Duration::hours(1);
                let tries = self
                    .store
                    .telegram_invite_attempts(*user_id, since)
                    .await
                    .map_err(store_err)?;
                let r = if tries >= self.cfg.invite_attempts_per_hour {
                    Err("invite_slow_down")
                } else {
                    match self.store.redeem_invite(arg, *user_id, now).await {
                        Ok(r) => Ok(r.kind),
                        Err(InviteError::Used | InviteError::TelegramIdTaken) => Err("invite_used"),
                        Err(InviteError::Unknown | InviteError::Expired) => Err("invite_bad"),
                        Err(InviteError::Store(e)) => return Err(store_err(e)),
                    }
                };
                Ok(Some(Pre::Registration(r)))
            }
            (Some(p @ Person::Operator(_)), Incoming::Callback { data, user_id, .. })
                if data.starts_with("ev:") =>
            {
                // The requester's evaluation (1-5) of an intervention, from dispatch's buttons.
                let parsed = data
                    .strip_prefix("ev:")
                    .and_then(|rest| rest.split_once(':'))
                    .and_then(|(id, score)| {
                        Some((id.parse::<i64>().ok()?, score.parse::<i64>().ok()?))
                    });
                let Some((request_id, score)) = parsed else {
                    return Ok(Some(Pre::Answer(self.t("not_authorized"), None)));
                };
                let req = match self.store.request_by_id(request_id).await {
                    Ok(r) => r,
                    Err(StoreError::NotFound(_)) => {
                        return Ok(Some(Pre::Answer(self.t("not_authorized"), None)));
                    }
                    Err(e) => return Err(store_err(e)),
                };
                if let Err(d) = self.check(
                    actor_of(p, *user_id),
                    Action::Evaluate,
                    &RequestFacts::of(&req),
                ) {
                    return Ok(Some(Pre::Answer(self.denied_text(d), None)));
                }
                let text = match self
                    .dispatcher
                    .record_evaluation(req.code, score, None)
                    .await
                {
                    Ok(()) => self.tr("evaluation_thanks", &[("code", &req.code.to_string())]),
                    Err(DispatchError::BadScore(_)) => self.t("not_authorized"),
                    // Before the appointment has happened (or on a closed request): refused.
                    Err(DispatchError::TooEarly(_) | DispatchError::WrongState { .. }) => {
                        crate::app::sentence::dispatch_text(
                            lang_of(&self.cfg.lang),
                            "evaluation_too_early",
                            &[("code", req.code.to_string())],
                        )
                    }
                    Err(e) => return Err(dispatch_err(e)),
                };
                Ok(Some(Pre::Answer(text, Some(req.id))))
            }
            (Some(Person::Mediator(m)), Incoming::Callback { data, .. })
                if data.starts_with("dr:") =>
            {
                // Why an offer was declined (it helps the coordinator plan).
                let parsed = data
                    .strip_prefix("dr:")
                    .and_then(|rest| rest.split_once(':'))
                    .and_then(|(o, r)| Some((o.parse::<i64>().ok()?, r)))
                    .filter(|(_, r)| DECLINE_REASONS.contains(r));
                let Some((offer_id, reason)) = parsed else {
                    return Ok(Some(Pre::Answer(self.t("not_authorized"), None)));
                };
                let offer = self.store.offer_ref(offer_id).await.map_err(store_err)?;
                let facts = offer
                    .map(|o| RequestFacts::default().offered_to(o.mediator_id))
                    .unwrap_or_default();
                if let Err(d) = self.check(mediator_actor(m), Action::AnswerOffer, &facts) {
                    return Ok(Some(Pre::Answer(self.denied_text(d), None)));
                }
                let saved = self
                    .store
                    .set_decline_reason(offer_id, m.id, reason)
                    .await
                    .map_err(store_err)?;
                let text = if saved {
                    self.t("decline_reason_saved")
                } else {
                    self.t("not_authorized")
                };
                Ok(Some(Pre::Answer(text, None)))
            }
            (Some(Person::Mediator(m)), Incoming::Callback { data, .. })
                if data.starts_with("hrs:") =>
            {
                // The hours actually worked, after [Svolto].
                let parsed = data
                    .strip_prefix("hrs:")
                    .and_then(|rest| rest.split_once(':'))
                    .and_then(|(a, min)| Some((a.parse::<i64>().ok()?, min.parse::<i64>().ok()?)))
                    .filter(|(_, min)| WORKED_CHOICES.contains(min));
                let Some((assignment_id, minutes)) = parsed else {
                    return Ok(Some(Pre::Answer(self.t("not_authorized"), None)));
                };
                if let Err(d) = self.may_record_outcome(m, assignment_id).await? {
                    return Ok(Some(Pre::Answer(self.denied_text(d), None)));
                }
                let saved = self
                    .store
                    .set_worked_minutes(assignment_id, m.id, minutes)
                    .await
                    .map_err(store_err)?;
                let text = if saved {
                    self.tr("hours_saved", &[("hours", &format_hours(minutes))])
                } else {
                    self.t("not_authorized")
                };
                Ok(Some(Pre::Answer(text, None)))
            }
            (Some(Person::Mediator(m)), Incoming::Callback { data, .. }) => {
                match Callback::parse(data) {
                    Ok(Callback::Offer { offer_id, accept }) => {
                        // Authorised again on arrival: the offer must be this mediator's.
                        let offer = self.store.offer_ref(offer_id).await.map_err(store_err)?;
                        let facts = offer
                            .as_ref()
                            .map(|o| RequestFacts::default().offered_to(o.mediator_id))
                            .unwrap_or_default();
                        let (Some(o), Ok(())) = (
                            offer,
                            self.check(mediator_actor(m), Action::AnswerOffer, &facts),
                        ) else {
                            return Ok(Some(Pre::Answer(self.t("not_authorized"), None)));
                        };
                        let text = if accept {
                            match self
                                .dispatcher
                                .accept(o.id, m.id)
                                .await
                                .map_err(dispatch_err)?
                            {
                                AcceptOutcome::Assigned { .. } => {
                                    let code = self
                                        .store
                                        .request_by_id(o.request_id)
                                        .await
                                        .map(|r| r.code.to_string())
                                        .unwrap_or_default();
                                    self.tr("offer_won", &[("code", &code)])
                                }
                                AcceptOutcome::NotAvailable => self.t("offer_taken_short"),
                            }
                        } else if self
                            .dispatcher
                            .decline(o.id, m.id)
                            .await
                            .map_err(dispatch_err)?
                        {
                            // A reason may follow, with one tap.
                            let buttons = vec![
                                DECLINE_REASONS
                                    .iter()
                                    .map(|r| Button {
                                        text: self.t(&format!("decline_reason_{r}")),
                                        data: format!("dr:{}:{r}", o.id),
                                    })
                                    .collect(),
                            ];
                            self.wake.notify_one();
                            return Ok(Some(Pre::AnswerAndAsk(
                                self.t("offer_declined"),
                                self.t("decline_reason_question"),
                                buttons,
                            )));
                        } else {
                            self.t("offer_taken_short")
                        };
                        self.wake.notify_one();
                        Ok(Some(Pre::Answer(text, Some(o.request_id))))
                    }
                    Ok(Callback::Outcome {
                        assignment_id,
                        done,
                    }) => {
                        if let Err(d) = self.may_record_outcome(m, assignment_id).await? {
                            return Ok(Some(Pre::Answer(self.denied_text(d), None)));
                        }
                        let ok = self
                            .dispatcher
                            .record_outcome(assignment_id, m.id, done, None)
                            .await
                            .map_err(dispatch_err)?;
                        if ok && done {
                            // Then: how many hours, with buttons (the report bills them).
                            let buttons = vec![
                                WORKED_CHOICES
                                    .iter()
                                    .map(|min| Button {
                                        text: self
                                            .tr("hours_button", &[("hours", &format_hours(*min))]),
                                        data: format!("hrs:{assignment_id}:{min}"),
                                    })
                                    .collect(),
                            ];
                            self.wake.notify_one();
                            return Ok(Some(Pre::AnswerAndAsk(
                                self.t("outcome_done"),
                                self.t("hours_question"),
                                buttons,
                            )));
                        }
                        let text = match (ok, done) {
                            (true, true) => self.t("outcome_done"),
                            (true, false) => self.t("outcome_not_done"),
                            // Theirs (checked above), but already answered.
                            (false, _) => self.t("expired_button"),
                        };
                        self.wake.notify_one();
                        Ok(Some(Pre::Answer(text, None)))
                    }
                    _ => Ok(None),
                }
            }
            (
                Some(p @ (Person::Operator(_) | Person::Coordinator(_))),
                Incoming::Command { name, arg, .. },
            ) if name == "annulla" => {
                let Some(code) = RequestCode::find_in(arg) else {
                    return Ok(Some(Pre::Reply(self.t("cancel_usage"), None, vec![])));
                };
                let c = code.to_string();
                let by = match p {
                    Person::Operator(_) => Canceller::Requester,
                    Person::Coordinator(co) => Canceller::Coordinator(co.id),
                    Person::Mediator(_) => return Ok(None),
                };
                let user = incoming.user_id().unwrap_or_default();
                let req = match self.store.request(code).await {
                    Ok(r)
                        if self
                            .check(actor_of(p, user), Action::Cancel, &RequestFacts::of(&r))
                            .is_ok() =>
                    {
                        r
                    }
                    Ok(_) | Err(StoreError::NotFound(_)) => {
                        return Ok(Some(Pre::Reply(
                            self.tr("cancel_not_found", &[("code", &c)]),
                            None,
                            vec![],
                        )));
                    }
                    Err(e) => return Err(store_err(e)),
                };
                match self.dispatcher.cancel(code, by).await {
                    Ok(_) => {
                        tracing::info!(request = %c, "request cancelled from telegram");
                        self.wake.notify_one();
                        Ok(Some(Pre::Reply(
                            self.tr("cancel_done", &[("code", &c)]),
                            Some(req.id),
                            vec![],
                        )))
                    }
                    Err(DispatchError::WrongState { status, .. }) => Ok(Some(Pre::Reply(
                        self.tr(
                            "cancel_not_possible",
                            &[
                                ("code", &c),
                                ("status", &self.t(&format!("status_{}", status.as_str()))),
                            ],
                        ),
                        None,
                        vec![],
                    ))),
                    Err(e) => Err(dispatch_err(e)),
                }
            }
            (
                Some(p @ Person::Coordinator(_)),
                Incoming::Command {
                    name, arg, user_id, ..
                },
            ) if name == "assegna" => {
                let Some(code) = RequestCode::find_in(arg) else {
                    return Ok(Some(Pre::Reply(self.t("assign_usage"), None, vec![])));
                };
                let c = code.to_string();
                let req = match self.store.request(code).await {
                    Ok(r)
                        if self
                            .check(actor_of(p, *user_id), Action::Manage, &RequestFacts::of(&r))
                            .is_ok() =>
                    {
                        r
                    }
                    Ok(_) => {
                        return Ok(Some(Pre::Reply(self.t("not_authorized"), None, vec![])));
                    }
                    Err(StoreError::NotFound(_)) => {
                        return Ok(Some(Pre::Reply(
                            self.tr("cancel_not_found", &[("code", &c)]),
                            None,
                            vec![],
                        )));
                    }
                    Err(e) => return Err(store_err(e)),
                };
                let ranked = match self.dispatcher.candidates(&req).await {
                    Ok(m) => m.candidates,
                    Err(DispatchError::NoLanguage(_)) => Vec::new(),
                    Err(e) => return Err(dispatch_err(e)),
                };
                let mut rows = Vec::new();
                for cand in ranked.iter().take(6) {
                    let m = self
                        .store
                        .mediator(cand.mediator_id)
                        .await
                        .map_err(store_err)?;
                    let cb = Callback::Assign {
                        request_id: req.id,
                        mediator_id: m.id,
                    };
                    if let Some(b) = self.button_text(m.name.clone(), cb) {
                        rows.push(vec![b]);
                    }
                }
                let key = if rows.is_empty() {
                    "assign_nobody"
                } else {
                    "assign_pick"
                };
                Ok(Some(Pre::Reply(
                    self.tr(key, &[("code", &c)]),
                    Some(req.id),
                    rows,
                )))
            }
            (Some(Person::Coordinator(co)), Incoming::Callback { data, .. }) => {
                // Assigning and reviewing are the coordinator's (the table's `Manage`).
                if let Err(d) = self.check(
                    Actor::Coordinator { id: co.id },
                    Action::Manage,
                    &RequestFacts::default(),
                ) {
                    return Ok(Some(Pre::Answer(self.denied_text(d), None)));
                }
                let (request_id, mediator_id) = match Callback::parse(data) {
                    Ok(Callback::Assign {
                        request_id,
                        mediator_id,
                    }) => (request_id, mediator_id),
                    Ok(Callback::Review { request_id, accept }) => {
                        return self.review(co.id, request_id, accept).await.map(Some);
                    }
                    Ok(Callback::Outcome {
                        assignment_id,
                        done,
                    }) => {
                        // A coordinator may report an outcome on the mediator's behalf.
                        let actor = Actor::Coordinator { id: co.id };
                        let facts = RequestFacts::default();
                        if let Err(d) = self.check(actor.clone(), Action::RecordOutcome, &facts) {
                            return Ok(Some(Pre::Answer(self.denied_text(d), None)));
                        }
                        let ok = self
                            .dispatcher
                            .record_outcome_as(assignment_id, None, done, None, &actor.audit_name())
                            .await
                            .map_err(dispatch_err)?;
                        let text = match (ok, done) {
                            (true, true) => self.t("outcome_done"),
                            (true, false) => self.t("outcome_not_done"),
                            (false, _) => self.t("expired_button"),
                        };
                        self.wake.notify_one();
                        return Ok(Some(Pre::Answer(text, None)));
                    }
                    _ => return Ok(Some(Pre::Answer(self.t("not_authorized"), None))),
                };
                let req = match self.store.request_by_id(request_id).await {
                    Ok(r) => r,
                    Err(StoreError::NotFound(_)) => {
                        return Ok(Some(Pre::Answer(self.t("expired_button"), None)));
                    }
                    Err(e) => return Err(store_err(e)),
                };
                let c = req.code.to_string();
                let actor = format!("coordinator:{}", co.id);
                let text = match self.dispatcher.assign(req.code, mediator_id, &actor).await {
                    Ok(_) => {
                        let name = self
                            .store
                            .mediator(mediator_id)
                            .await
                            .map(|m| m.name)
                            .unwrap_or_default();
                        self.wake.notify_one();
                        self.tr("assign_done", &[("code", &c), ("name", &name)])
                    }
                    Err(DispatchError::WrongState { status, .. }) => self.tr(
                        "assign_not_possible",
                        &[
                            ("code", &c),
                            ("status", &self.t(&format!("status_{}", status.as_str()))),
                        ],
                    ),
                    Err(DispatchError::MediatorInactive(_))
                    | Err(DispatchError::Store(StoreError::NotFound(_))) => {
                        self.t("expired_button")
                    }
                    Err(e) => return Err(dispatch_err(e)),
                };
                Ok(Some(Pre::Answer(text, Some(req.id))))
            }
            _ => Ok(None),
        }
    }

    /// A coordinator accepts or rejects a request held from an unknown email sender.
    async fn review(
        &self,
        coordinator_id: i64,
        request_id: i64,
        accept: bool,
    ) -> Result<Pre, SinkError> {
        let mut cfg = crate::channels::email::IntakeConfig::new(
            "",
            &self.dispatcher.settings().message_id_domain,
        );
        cfg.lang = self.cfg.lang.clone();
        let intake =
            crate::channels::email::Intake::new(self.store.clone(), cfg, self.clock.clone());
        let actor = format!("coordinator:{coordinator_id}");
        let text = match intake.review_held(request_id, accept, &actor).await {
            Ok(_) => {
                self.wake.notify_one();
                let code = self
                    .store
                    .request_by_id(request_id)
                    .await
                    .map(|r| r.code.to_string())
                    .unwrap_or_default();
                self.tr(
                    if accept {
                        "review_accepted"
                    } else {
                        "review_rejected"
                    },
                    &[("code", &code)],
                )
            }
            Err(crate::channels::email::IntakeError::NotHeld(_))
            | Err(crate::channels::email::IntakeError::Store(StoreError::NotFound(_))) => {
                self.t("expired_button")
            }
            Err(e) => return Err(store_err(StoreError::Conflict(e.to_string()))),
        };
        Ok(Pre::Answer(text, Some(request_id)))
    }

    async fn handle(
        &self,
        tx: &mut Tx,
        now: DateTime<Utc>,
        incoming: &Incoming,
        who: Option<Person>,
        pre: Option<Pre>,
        out: &mut Out,
    ) -> HResult {
        if let Incoming::Ignored { reason } = incoming {
            tracing::debug!(reason, "telegram update ignored");
            return Ok(());
        }
        let chat_of = |i: &Incoming| match i {
            Incoming::Text { chat_id, .. }
            | Incoming::Command { chat_id, .. }
            | Incoming::NonText { chat_id, .. } => Some(*chat_id),
            Incoming::Callback { user_id, .. } => Some(*user_id),
            Incoming::Ignored { .. } => None,
        };
        let Some(chat) = chat_of(incoming) else {
            return Ok(());
        };

        match pre {
            Some(Pre::Answer(text, request_id)) => {
                if let Incoming::Callback { query_id, .. } = incoming {
                    out.answer = Some((query_id.clone(), Some(text)));
                }
                out.request_id = request_id;
                return Ok(());
            }
            Some(Pre::Reply(text, request_id, buttons)) => {
                out.request_id = request_id;
                self.say(out, chat, request_id, text, buttons);
                return Ok(());
            }
            Some(Pre::AnswerAndAsk(answer, question, buttons)) => {
                if let Incoming::Callback { query_id, .. } = incoming {
                    out.answer = Some((query_id.clone(), Some(answer)));
                }
                self.say(out, chat, None, question, buttons);
                return Ok(());
            }
            _ => {}
        }
        if let Some(Pre::Registration(result)) = pre {
            match (result, &who) {
                (Ok(kind), Some(p)) => {
                    let key = match kind {
                        PersonKind::Operator => "invite_ok_operator",
                        PersonKind::Mediator => "invite_ok_mediator",
                        PersonKind::Coordinator => "invite_ok_coordinator",
                    };
                    let name = escape(person_name(p));
                    self.say(out, chat, None, self.tr(key, &[("name", &name)]), vec![]);
                }
                (Ok(_), None) => self.say(out, chat, None, self.t("invite_bad"), vec![]),
                (Err(key), _) => {
                    if key != "invite_slow_down"
                        && let Some(u) = incoming.user_id()
                    {
                        let failures = tx.invite_attempt(u, now, now - Duration::hours(1)).await?;
                        tracing::warn!(telegram_id = u, failures, "invite code refused");
                        let alert_at = self
                            .cfg
                            .invite_alert_after
                            .min(self.cfg.invite_attempts_per_hour);
                        if failures == alert_at {
                            // Someone may be guessing codes: the coordinators hear of it once
                            // per account and hour (the outbox key dedupes within the hour).
                            let hour = now.timestamp() / 3600;
                            let text = crate::prompts::t(
                                lang_of(&self.cfg.lang),
                                "telegram.alert_invite_guessing",
                                &[("id", &u.to_string()), ("count", &failures.to_string())],
                            );
                            let subject = crate::prompts::t(
                                lang_of(&self.cfg.lang),
                                "telegram.alert_invite_subject",
                                &[],
                            );
                            crate::alerts::to_coordinators(
                                tx,
                                &format!("invite-guess:{u}:{hour}"),
                                None,
                                &subject,
                                &text,
                                &self.dispatcher.settings().message_id_domain,
                                now,
                            )
                            .await?;
                        }
                    }
                    self.say(out, chat, None, self.t(key), vec![]);
                }
            }
            return Ok(());
        }

        let Some(person) = who else {
            // A stranger: how to get access, and nothing else.
            match incoming {
                Incoming::Callback { query_id, .. } => {
                    out.answer = Some((query_id.clone(), Some(self.t("not_authorized"))));
                }
                _ => {
                    // At most a few automatic replies per hour to the same stranger (the
                    // update itself is already recorded, so it counts).
                    let sender = incoming.user_id().unwrap_or_default().to_string();
                    let recent = tx
                        .inbound_from_since("telegram", &sender, now - Duration::hours(1))
                        .await?;
                    if recent <= STRANGER_REPLIES_PER_HOUR {
                        self.say(out, chat, None, self.t("stranger"), vec![]);
                    }
                }
            }
            return Ok(());
        };

        match incoming {
            Incoming::Command { name, .. } if name == "start" => {
                let n = escape(person_name(&person));
                self.say(
                    out,
                    chat,
                    None,
                    self.tr("already_registered", &[("name", &n)]),
                    vec![],
                );
                Ok(())
            }
            Incoming::Command { name, .. } if name == "aiuto" || name == "help" => {
                let key = match person {
                    Person::Operator(_) => "help_operator",
                    Person::Mediator(_) => "help_mediator",
                    Person::Coordinator(_) => "help_coordinator",
                };
                self.say(out, chat, None, self.t(key), vec![]);
                Ok(())
            }
            Incoming::Command {
                name, arg, user_id, ..
            } if name == "dettagli" => {
                self.details(tx, now, &person, *user_id, arg, chat, out)
                    .await
            }
            Incoming::NonText {
                media:
                    Media::Document {
                        file_id,
                        name,
                        size,
                    },
                ..
            } if matches!(person, Person::Operator(_)) => {
                // A document goes with the operator's latest open request (Telegram keeps it;
                // the request's history records its id, name and size).
                let Person::Operator(op) = &person else {
                    return Ok(());
                };
                let latest = self
                    .store
                    .requests(&crate::store::RequestFilter {
                        operator_id: Some(op.id),
                        open_only: true,
                        limit: Some(1),
                        ..Default::default()
                    })
                    .await?;
                let me = actor_of(&person, chat);
                let own = latest
                    .first()
                    .filter(|r| authorize(&me, Action::AddInfo, &RequestFacts::of(r)).is_ok());
                match own {
                    Some(r) => {
                        let detail = serde_json::json!({"telegram_file_id": file_id, "name": name, "size": size}).to_string();
                        tx.audit(
                            now,
                            &format!("operator:{}", op.id),
                            Some(r.id),
                            "document_attached",
                            Some(&detail),
                        )
                        .await?;
                        let code = r.code.to_string();
                        self.say(
                            out,
                            chat,
                            Some(r.id),
                            self.tr("document_attached", &[("code", &code)]),
                            vec![],
                        );
                    }
                    None => self.say(out, chat, None, self.t("document_without_request"), vec![]),
                }
                Ok(())
            }
            Incoming::NonText { .. } => {
                self.say(out, chat, None, self.t("ask_text"), vec![]);
                Ok(())
            }
            _ => match person {
                Person::Operator(op) => self.operator(tx, now, incoming, &op, chat, out).await,
                Person::Mediator(m) => self.mediator(tx, incoming, &m, chat, out).await,
                Person::Coordinator(_) => self.coordinator(incoming, chat, out).await,
            },
        }
    }

    fn say(
        &self,
        out: &mut Out,
        chat_id: i64,
        request_id: Option<i64>,
        text: String,
        buttons: Vec<Vec<Button>>,
    ) {
        out.messages.push((
            request_id,
            Payload::Telegram(TelegramPayload {
                chat_id,
                text,
                buttons,
                edit_message_id: None,
            }),
        ));
    }

    /// `/dettagli CODE`: a request's full details, for whom the authorisation table allows
    /// it (the requester, the assigned mediator, a coordinator); every view is audited.
    #[allow(clippy::too_many_arguments)]
    async fn details(
        &self,
        tx: &mut Tx,
        now: DateTime<Utc>,
        person: &Person,
        user_id: i64,
        arg: &str,
        chat: i64,
        out: &mut Out,
    ) -> HResult {
        let Some(code) = RequestCode::find_in(arg) else {
            self.say(out, chat, None, self.t("details_usage"), vec![]);
            return Ok(());
        };
        let req = match self.store.request(code).await {
            Ok(r) => Some(r),
            Err(StoreError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        let actor = actor_of(person, user_id);
        let decision = match &req {
            None => Err(Denied::NotYours),
            Some(r) => {
                let mut facts = RequestFacts::of(r);
                if let Person::Mediator(m) = person
                    && self
                        .store
                        .offers_for_request(r.id)
                        .await?
                        .iter()
                        .any(|o| o.mediator_id == m.id)
                {
                    facts = facts.offered_to(m.id);
                }
                self.check(actor.clone(), Action::SeeDetails, &facts)
            }
        };
        match (req, decision) {
            (Some(r), Ok(())) => {
                tx.audit(
                    now,
                    &actor.audit_name(),
                    Some(r.id),
                    "viewed",
                    Some("telegram /dettagli"),
                )
                .await?;
                let text = self.dispatcher.details_text(&r, "request_details", true);
                self.say(out, chat, Some(r.id), text, vec![]);
            }
            (_, Err(Denied::NotAccepted)) => {
                self.say(out, chat, None, self.t("details_after_acceptance"), vec![])
            }
            _ => {
                let c = code.to_string();
                self.say(
                    out,
                    chat,
                    None,
                    self.tr("cancel_not_found", &[("code", &c)]),
                    vec![],
                );
            }
        }
        Ok(())
    }

    // ----- operators -----

    async fn operator(
        &self,
        tx: &mut Tx,
        now: DateTime<Utc>,
        incoming: &Incoming,
        op: &Operator,
        chat: i64,
        out: &mut Out,
    ) -> HResult {
        let today = now.with_timezone(&self.cfg.tz).date_naive();
        match incoming {
            Incoming::Command { name, .. } => match name.as_str() {
                "nuova" => {
                    let st = OperatorState::default();
                    self.save_op(tx, chat, op.id, &st, now).await?;
                    self.say(out, chat, None, self.t("new_request"), vec![]);
                    Ok(())
                }
                "richieste" => self.my_requests(op, chat, out).await,
                _ => {
                    self.say(out, chat, None, self.t("unknown_command"), vec![]);
                    Ok(())
                }
            },
            Incoming::Text { text, .. } => {
                let mut st = self.load_op(tx, chat).await?.unwrap_or_default();
                match (st.phase, st.asking) {
                    (Phase::Collecting, Some(field)) => {
                        let found = draft::read_answer(field, text, now, self.cfg.tz);
                        let answered = draft::field_known(&found, field);
                        st.draft.merge(found);
                        if !answered {
                            st.draft.notes.push(text.clone());
                            let q = self.question_text(field);
                            self.say(
                                out,
                                chat,
                                None,
                                self.tr("not_understood", &[("question", &q)]),
                                self.field_buttons(chat, st.step, field, today),
                            );
                            return self.save_op(tx, chat, op.id, &st, now).await;
                        }
                    }
                    _ => {
                        let mut found = draft::read_text(text, now, self.cfg.tz);
                        found.notes.push(text.clone());
                        st.draft.merge(found);
                    }
                }
                if st.draft.is_empty() {
                    self.say(out, chat, None, self.t("new_request"), vec![]);
                    return self.save_op(tx, chat, op.id, &st, now).await;
                }
                self.advance(tx, now, op, chat, st, true, out).await
            }
            Incoming::Callback {
                query_id,
                data,
                chat_id,
                user_id,
                ..
            } => {
                let Ok(Callback::Draft {
                    dialogue_id,
                    step,
                    action,
                }) = Callback::parse(data)
                else {
                    out.answer = Some((query_id.clone(), Some(self.t("not_authorized"))));
                    return Ok(());
                };
                // Only the chat's own operator, on the dialogue's current step.
                if dialogue_id != *user_id || chat_id.is_some_and(|c| c != *user_id) {
                    out.answer = Some((query_id.clone(), Some(self.t("not_authorized"))));
                    return Ok(());
                }
                let Some(mut st) = self.load_op(tx, chat).await? else {
                    out.answer = Some((query_id.clone(), Some(self.t("expired_button"))));
                    return Ok(());
                };
                if st.step != step {
                    out.answer = Some((query_id.clone(), Some(self.t("expired_button"))));
                    return Ok(());
                }
                out.answer = Some((query_id.clone(), None));
                match action {
                    DraftAction::Pick(v) => {
                        let Some(field) = st.asking else {
                            out.answer = Some((query_id.clone(), Some(self.t("expired_button"))));
                            return Ok(());
                        };
                        if !draft::apply_pick(&mut st.draft, field, &v) {
                            out.answer = Some((query_id.clone(), Some(self.t("not_authorized"))));
                            return Ok(());
                        }
                        self.advance(tx, now, op, chat, st, false, out).await
                    }
                    DraftAction::Cancel => {
                        tx.delete_dialogue(chat).await?;
                        self.say(out, chat, None, self.t("draft_cancelled"), vec![]);
                        Ok(())
                    }
                    DraftAction::Modify => {
                        st.phase = Phase::Modifying;
                        st.asking = None;
                        st.step += 1;
                        self.say(out, chat, None, self.t("modify_which"), vec![]);
                        self.save_op(tx, chat, op.id, &st, now).await
                    }
                    DraftAction::Confirm => {
                        if st.phase != Phase::Confirming || !st.draft.missing().is_empty() {
                            out.answer = Some((query_id.clone(), Some(self.t("expired_button"))));
                            return Ok(());
                        }
                        self.queue_request(tx, now, op, chat, &st.draft, out).await
                    }
                }
            }
            _ => Ok(()),
        }
    }

    async fn load_op(&self, tx: &mut Tx, chat: i64) -> HResult<Option<OperatorState>> {
        Ok(tx
            .dialogue(chat)
            .await?
            .filter(|d| d.person_kind == "operator")
            .and_then(|d| serde_json::from_str(&d.state).ok()))
    }

    async fn save_op(
        &self,
        tx: &mut Tx,
        chat: i64,
        operator_id: i64,
        st: &OperatorState,
        now: DateTime<Utc>,
    ) -> HResult {
        let state = serde_json::to_string(st).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        tx.save_dialogue(
            &DialogueRow {
                chat_id: chat,
                person_kind: "operator".into(),
                person_id: operator_id,
                state,
            },
            now,
        )
        .await
    }

    /// After new information: ask the next missing field, or show the summary to confirm.
    #[allow(clippy::too_many_arguments)]
    async fn advance(
        &self,
        tx: &mut Tx,
        now: DateTime<Utc>,
        op: &Operator,
        chat: i64,
        mut st: OperatorState,
        with_summary: bool,
        out: &mut Out,
    ) -> HResult {
        let today = now.with_timezone(&self.cfg.tz).date_naive();
        st.step += 1;
        let missing = st.draft.missing();
        match missing.first() {
            Some(&field) => {
                st.phase = Phase::Collecting;
                st.asking = Some(field);
                let mut text = String::new();
                if with_summary {
                    text.push_str(&self.summary(&st.draft));
                    text.push_str("\n\n");
                }
                text.push_str(&self.question_text(field));
                self.say(
                    out,
                    chat,
                    None,
                    text,
                    self.field_buttons(chat, st.step, field, today),
                );
            }
            None => {
                st.phase = Phase::Confirming;
                st.asking = None;
                let text = format!(
                    "{}\n\n{}",
                    self.summary(&st.draft),
                    self.t("confirm_question")
                );
                let b = |label: &str, action: DraftAction| {
                    self.button(
                        label,
                        Callback::Draft {
                            dialogue_id: chat,
                            step: st.step,
                            action,
                        },
                    )
                };
                let buttons = vec![
                    [
                        b("btn_confirm", DraftAction::Confirm),
                        b("btn_modify", DraftAction::Modify),
                        b("btn_cancel", DraftAction::Cancel),
                    ]
                    .into_iter()
                    .flatten()
                    .collect(),
                ];
                self.say(out, chat, None, text, buttons);
            }
        }
        self.save_op(tx, chat, op.id, &st, now).await
    }

    fn button(&self, label_key: &str, cb: Callback) -> Option<Button> {
        self.button_text(self.t(label_key), cb)
    }

    fn button_text(&self, text: String, cb: Callback) -> Option<Button> {
        match cb.encode() {
            Ok(data) => Some(Button { text, data }),
            Err(e) => {
                tracing::error!(error = %e, "callback data does not fit");
                None
            }
        }
    }

    fn question_text(&self, field: Field) -> String {
        self.t(&format!("ask_{}", field.key()))
    }

    fn field_buttons(
        &self,
        chat: i64,
        step: i64,
        field: Field,
        today: NaiveDate,
    ) -> Vec<Vec<Button>> {
        let pick = |label: String, value: &str| {
            self.button_text(
                label,
                Callback::Draft {
                    dialogue_id: chat,
                    step,
                    action: DraftAction::Pick(value.to_string()),
                },
            )
        };
        let rows: Vec<Vec<Option<Button>>> = match field {
            Field::Language => LANGUAGES[..8]
                .chunks(4)
                .map(|c| {
                    c.iter()
                        .map(|(n, code)| pick(n.to_string(), code))
                        .collect()
                })
                .collect(),
            Field::Type => ALL_TYPES
                .chunks(2)
                .map(|c| {
                    c.iter()
                        .map(|t| pick(self.t(&format!("type_{}", t.as_str())), t.as_str()))
                        .collect()
                })
                .collect(),
            Field::Modality => vec![
                [Modality::InPerson, Modality::Phone, Modality::Video]
                    .iter()
                    .map(|m| pick(self.t(&format!("modality_{}", m.as_str())), m.as_str()))
                    .collect(),
            ],
            Field::Date => vec![
                [
                    ("date_today", 0),
                    ("date_tomorrow", 1),
                    ("date_after_tomorrow", 2),
                ]
                .iter()
                .map(|(k, d)| pick(self.t(k), &(today + Duration::days(*d)).to_string()))
                .collect(),
            ],
            Field::Duration => vec![
                [60, 90, 120, 180]
                    .iter()
                    .map(|m| pick(self.t(&format!("dur_{m}")), &m.to_string()))
                    .collect(),
            ],
            Field::Time | Field::Comune => vec![],
        };
        rows.into_iter()
            .map(|r| r.into_iter().flatten().collect::<Vec<_>>())
            .filter(|r| !r.is_empty())
            .collect()
    }

    /// What the bot understood, one line per known field; user text escaped.
    fn summary(&self, d: &Draft) -> String {
        let mut lines = vec![self.t("summary_head")];
        let mut line = |field: &str, value: String| {
            lines.push(self.tr(
                "summary_line",
                &[
                    ("field", &self.t(&format!("field_{field}"))),
                    ("value", &value),
                ],
            ));
        };
        if let Some(l) = &d.language {
            line("language", escape(&draft::language_name(l)));
        }
        if let Some(t) = d.intervention {
            line("type", self.t(&format!("type_{}", t.as_str())));
        }
        if let Some(x) = d.date {
            line("date", x.format("%d/%m/%Y").to_string());
        }
        if let Some(x) = d.time {
            line("time", x.format("%H:%M").to_string());
        }
        if let Some(x) = d.duration_minutes {
            line("duration", self.duration_text(x));
        }
        if let Some(m) = d.modality {
            line("modality", self.t(&format!("modality_{}", m.as_str())));
        }
        if let Some(c) = &d.comune {
            line("comune", escape(c));
        }
        lines.join("\n")
    }

    fn duration_text(&self, minutes: i64) -> String {
        match minutes {
            60 | 90 | 120 | 180 => self.t(&format!("dur_{minutes}")),
            m => self.tr("duration_minutes", &[("minutes", &m.to_string())]),
        }
    }

    async fn queue_request(
        &self,
        tx: &mut Tx,
        now: DateTime<Utc>,
        op: &Operator,
        chat: i64,
        d: &Draft,
        out: &mut Out,
    ) -> HResult {
        let appointment = match (d.date, d.time, d.duration_minutes) {
            (Some(date), Some(time), Some(mins)) => {
                Appointment::new(date, time, u32::try_from(mins).unwrap_or(0)).ok()
            }
            _ => None,
        };
        let translation = d.intervention == Some(InterventionType::TraduzioneScritta);
        let new = NewRequest {
            status: Some(RequestStatus::Queued),
            channel: Some(Channel::Telegram),
            operator_id: Some(op.id),
            requester_name: Some(op.name.clone()),
            requester_email: op.email.clone(),
            requester_phone: op.phone.clone(),
            requester_chat_id: Some(chat),
            ente: Some(op.ente.clone()),
            ambito: Some(op.ambito),
            language: d.language.clone(),
            intervention: d.intervention,
            modality: d.modality,
            date: if translation { None } else { d.date },
            start_time: d.time,
            duration_minutes: d.duration_minutes,
            starts_at: appointment.map(|a| a.starts_at(self.cfg.tz)),
            ends_at: appointment.map(|a| a.ends_at(self.cfg.tz)),
            deadline: if translation { d.date } else { None },
            comune: d.comune.clone(),
            address: d.address.clone(),
            urgent: d.urgent,
            mediator_gender: d.mediator_gender,
            notes: (!d.notes.is_empty()).then(|| d.notes.join("\n")),
            draft: serde_json::to_value(d).ok(),
            ..Default::default()
        };
        let req = tx.create_request(&new, now).await?;
        tx.delete_dialogue(chat).await?;
        out.request_id = Some(req.id);
        out.dispatch_now = Some(req.code);
        let code = req.code.to_string();
        tracing::info!(request = %code, operator = op.id, "telegram request queued");
        self.say(
            out,
            chat,
            Some(req.id),
            self.tr("request_queued", &[("code", &code)]),
            vec![],
        );
        Ok(())
    }

    async fn my_requests(&self, op: &Operator, chat: i64, out: &mut Out) -> HResult {
        let list = self
            .store
            .requests(&RequestFilter {
                operator_id: Some(op.id),
                open_only: true,
                limit: Some(20),
                ..Default::default()
            })
            .await?;
        let me = actor_of(&Person::Operator(op.clone()), chat);
        let list: Vec<_> = list
            .into_iter()
            .filter(|r| authorize(&me, Action::See, &RequestFacts::of(r)).is_ok())
            .collect();
        if list.is_empty() {
            self.say(out, chat, None, self.t("no_open_requests"), vec![]);
            return Ok(());
        }
        let mut lines = vec![self.t("open_requests_head")];
        for r in list {
            let status = self.t(&format!("status_{}", r.status.as_str()));
            lines.push(self.list_line("request_line", &r, ("status", &status)));
        }
        self.say(out, chat, None, lines.join("\n"), vec![]);
        Ok(())
    }

    // ----- mediators -----

    async fn mediator(
        &self,
        tx: &mut Tx,
        incoming: &Incoming,
        m: &Mediator,
        chat: i64,
        out: &mut Out,
    ) -> HResult {
        match incoming {
            Incoming::Command { name, .. } => match name.as_str() {
                "pausa" => {
                    tx.set_paused(m.id, true).await?;
                    self.say(out, chat, None, self.t("paused"), vec![]);
                    Ok(())
                }
                "disponibile" => {
                    tx.set_paused(m.id, false).await?;
                    self.say(out, chat, None, self.t("available"), vec![]);
                    Ok(())
                }
                "miei" => {
                    let jobs: Vec<_> = self
                        .store
                        .requests(&RequestFilter {
                            mediator_id: Some(m.id),
                            open_only: true,
                            ..Default::default()
                        })
                        .await?
                        .into_iter()
                        .filter(|r| {
                            authorize(&mediator_actor(m), Action::SeeDetails, &RequestFacts::of(r))
                                .is_ok()
                        })
                        .collect();
                    if jobs.is_empty() {
                        self.say(out, chat, None, self.t("no_jobs"), vec![]);
                        return Ok(());
                    }
                    let mut lines = vec![self.t("jobs_head")];
                    for r in jobs {
                        let comune = escape(r.comune.as_deref().unwrap_or_default());
                        lines.push(self.list_line("job_line", &r, ("comune", &comune)));
                    }
                    self.say(out, chat, None, lines.join("\n"), vec![]);
                    Ok(())
                }
                _ => {
                    self.say(out, chat, None, self.t("unknown_command"), vec![]);
                    Ok(())
                }
            },
            Incoming::Text { .. } => {
                self.say(out, chat, None, self.t("help_mediator"), vec![]);
                Ok(())
            }
            Incoming::Callback { query_id, .. } => {
                // Offers and outcomes were answered before (see `pre_step`); anything else
                // pressed by a mediator is not theirs to press.
                out.answer = Some((query_id.clone(), Some(self.t("not_authorized"))));
                Ok(())
            }
            _ => Ok(()),
        }
    }

    // ----- coordinators -----

    async fn coordinator(&self, incoming: &Incoming, chat: i64, out: &mut Out) -> HResult {
        match incoming {
            Incoming::Command { name, .. } => match name.as_str() {
                "coda" => {
                    let counts = self.store.request_counts().await?;
                    let open: Vec<_> = counts
                        .into_iter()
                        .filter(|(s, n)| !s.is_terminal() && *n > 0)
                        .collect();
                    if open.is_empty() {
                        self.say(out, chat, None, self.t("queue_empty"), vec![]);
                        return Ok(());
                    }
                    let mut lines = vec![self.t("queue_head")];
                    for (s, n) in open {
                        lines.push(self.tr(
                            "coda_line",
                            &[
                                ("status", &self.t(&format!("status_{}", s.as_str()))),
                                ("count", &n.to_string()),
                            ],
                        ));
                    }
                    self.say(out, chat, None, lines.join("\n"), vec![]);
                    Ok(())
                }
                "revisione" => {
                    let held = self
                        .store
                        .requests(&crate::store::RequestFilter {
                            status: Some(RequestStatus::NeedsReview),
                            limit: Some(10),
                            ..Default::default()
                        })
                        .await?;
                    if held.is_empty() {
                        self.say(out, chat, None, self.t("review_empty"), vec![]);
                        return Ok(());
                    }
                    let mut lines =
                        vec![self.tr("review_count", &[("count", &held.len().to_string())])];
                    let mut rows = Vec::new();
                    for r in &held {
                        let c = r.code.to_string();
                        lines.push(self.tr(
                            "review_line",
                            &[
                                ("code", &c),
                                (
                                    "sender",
                                    &super::html::escape(
                                        r.requester_email.as_deref().unwrap_or("-"),
                                    ),
                                ),
                            ],
                        ));
                        let row: Vec<Button> =
                            [(true, "btn_review_accept"), (false, "btn_review_reject")]
                                .into_iter()
                                .filter_map(|(accept, key)| {
                                    self.button_text(
                                        format!("{} {c}", self.t(key)),
                                        Callback::Review {
                                            request_id: r.id,
                                            accept,
                                        },
                                    )
                                })
                                .collect();
                        rows.push(row);
                    }
                    self.say(out, chat, None, lines.join("\n"), rows);
                    Ok(())
                }
                _ => {
                    self.say(out, chat, None, self.t("unknown_command"), vec![]);
                    Ok(())
                }
            },
            Incoming::Text { .. } => {
                self.say(out, chat, None, self.t("help_coordinator"), vec![]);
                Ok(())
            }
            Incoming::Callback { query_id, .. } => {
                out.answer = Some((query_id.clone(), Some(self.t("not_authorized"))));
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

fn lang_of(lang: &str) -> crate::config::Lang {
    if lang.starts_with("en") {
        crate::config::Lang::En
    } else {
        crate::config::Lang::It
    }
}

/// Minutes as hours for people: 90 -> "1,5".
fn format_hours(minutes: i64) -> String {
    if minutes % 60 == 0 {
        (minutes / 60).to_string()
    } else {
        format!("{},{}", minutes / 60, (minutes % 60) * 10 / 60)
    }
}

/// Automatic "how to get access" replies to one unknown account per hour.
const STRANGER_REPLIES_PER_HOUR: i64 = 3;

const ALL_TYPES: [InterventionType; 8] = [
    InterventionType::Colloquio,
    InterventionType::VisitaDomiciliare,
    InterventionType::IncontroProtetto,
    InterventionType::Udienza,
    InterventionType::TraduzioneScritta,
    InterventionType::Riunione,
    InterventionType::Telefonata,
    InterventionType::Altro,
];

/// The authorisation actor of a person writing from Telegram account `user_id` (a private
/// chat's id is the user's id).
fn actor_of(p: &Person, user_id: i64) -> Actor {
    match p {
        Person::Operator(o) => Actor::Operator {
            id: Some(o.id),
            email: o.email.clone(),
            chat_id: Some(user_id),
            active: o.active,
        },
        Person::Mediator(m) => mediator_actor(m),
        Person::Coordinator(c) => Actor::Coordinator { id: c.id },
    }
}

fn mediator_actor(m: &Mediator) -> Actor {
    Actor::Mediator {
        id: m.id,
        active: m.active,
    }
}

fn person_name(p: &Person) -> &str {
    match p {
        Person::Operator(o) => &o.name,
        Person::Mediator(m) => &m.name,
        Person::Coordinator(c) => &c.name,
    }
}

fn kind_name(i: &Incoming) -> &'static str {
    match i {
        Incoming::Text { edited: false, .. } => "text",
        Incoming::Text { edited: true, .. } => "edited_text",
        Incoming::Command { .. } => "command",
        Incoming::Callback { .. } => "callback",
        Incoming::NonText { .. } => "media",
        Incoming::Ignored { .. } => "ignored",
    }
}

impl UpdateSink for TelegramBot {
    fn commit<'a>(&'a self, update: &'a Update) -> SinkFuture<'a> {
        Box::pin(self.process(update))
    }

    fn quarantine<'a>(&'a self, update: &'a Update, reason: &'a str) -> SinkFuture<'a> {
        Box::pin(async move {
            let now = self.clock.now();
            let record = NewInbound {
                channel: "telegram".into(),
                external_id: update.id.0.to_string(),
                kind: "update".into(),
                status: "quarantined".into(),
                raw: serde_json::to_vec(update).ok(),
                error: Some(reason.chars().take(500).collect()),
                ..Default::default()
            };
            self.store
                .record_inbound(&record, now)
                .await
                .map(|_| ())
                .map_err(store_err)
        })
    }
}
