//! The bot's brain: one update in, one database transaction out. [`TelegramBot`] implements
//! [`UpdateSink`]: it records the update in `inbound_messages` (dedupe by update_id), works out
//! who is writing (operator, mediator, coordinator by Telegram id; anyone else is a stranger),
//! runs the dialogue (state in `dialogues`, so it survives restarts and works with several
//! instances), and queues every reply in the outbox — all in the same transaction. Only then
//! may the intake confirm the update to Telegram. Button presses are authorised again here.
//!
//! This file is the update's path ([`TelegramBot::process`]): first the work that runs its own
//! transaction ([`TelegramBot::pre_step`]), then the update's own transaction
//! ([`TelegramBot::handle`]). What each role can do lives in [`super::operator`],
//! [`super::mediator`], [`super::coordinator`] and [`super::common`]; who is writing in
//! [`super::session`]; how words and buttons are made in [`super::render`].

use super::session::{inbound_sender, kind_name};
use super::sink::{SinkError, SinkFuture, UpdateSink};
use super::updates::{Incoming, Media, classify};
use crate::clock::Clock;
use crate::config::Lang;
use crate::dispatch::engine::{DispatchError, DispatchSettings, Dispatcher};
use crate::domain::{PersonKind, RequestCode};
use crate::outbox::{Button, Payload};
use crate::store::{Coordinator, Mediator, NewInbound, Operator, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use std::sync::Arc;
use teloxide::prelude::*;
use teloxide::types::{CallbackQueryId, Update};
use tokio::sync::Notify;

/// Settings of the bot's behaviour.
#[derive(Debug, Clone)]
pub struct BotConfig {
    /// Language of the bot's sentences for people without one of their own (strangers among
    /// them): `[intake] language` (the daemon passes it through
    /// [`super::runtime::TelegramSettings::from_config`]). Each update is answered in its
    /// person's own language ([`TelegramBot::speaking`]).
    pub lang: Lang,
    /// Time zone of appointments.
    pub tz: Tz,
    /// Failed invite codes allowed per Telegram account per hour.
    pub invite_attempts_per_hour: i64,
    /// Failed invite codes from one account within the hour that alert the coordinators.
    pub invite_alert_after: i64,
    /// The console's public URL (`[web] public_url`, no trailing slash): `/console` sends a
    /// login link under it; `None` when the console is off.
    pub console_url: Option<String>,
}

impl Default for BotConfig {
    fn default() -> Self {
        BotConfig {
            // The configuration's own default, so a bot built without a config speaks as a
            // daemon with an empty `[intake]` would.
            lang: crate::config::IntakeConfig::default().language,
            tz: chrono_tz::Europe::Rome,
            invite_attempts_per_hour: 5,
            invite_alert_after: 5,
            console_url: None,
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

impl Person {
    /// Their own language, if they chose one (or Telegram told it at registration).
    pub fn language(&self) -> Option<Lang> {
        match self {
            Person::Operator(o) => o.language,
            Person::Mediator(m) => m.language,
            Person::Coordinator(c) => c.language,
        }
    }
}

/// The bot: cheap to clone.
#[derive(Clone)]
pub struct TelegramBot {
    pub(super) store: Store,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) bot: Bot,
    pub(super) cfg: BotConfig,
    /// Woken after each commit that queued messages (the delivery loop waits on it).
    pub(super) wake: Arc<Notify>,
    /// The core (`dispatcher.core()`) the use cases run in; its facade dispatches a request just
    /// confirmed.
    pub(super) dispatcher: Dispatcher,
}

/// What one update produces besides database changes.
#[derive(Default)]
pub(super) struct Out {
    pub(super) messages: Vec<(Option<i64>, Payload)>,
    pub(super) answer: Option<(String, Option<String>)>,
    pub(super) request_id: Option<i64>,
    /// A request just queued: dispatch it after the commit.
    pub(super) dispatch_now: Option<RequestCode>,
    /// Indexes in `messages` of those holding a credential (a console link): their outbox
    /// rows are forgotten once sent ([`crate::store::FORGOTTEN_WHEN_SENT`]).
    pub(super) secret: Vec<usize>,
}

/// What was done before the update's own transaction, by code that runs its own (invite
/// redemption, the core's acceptance, decline, outcome, cancellation): the reply to give.
pub(super) enum Pre {
    Registration(Result<PersonKind, &'static str>),
    /// Answer to a button press.
    Answer(String, Option<i64>),
    /// Reply message (e.g. to /annulla), with the request it concerns and buttons.
    Reply(String, Option<i64>, Vec<Vec<Button>>),
    /// Answer to a button press, then a question with its own buttons.
    AnswerAndAsk(String, String, Vec<Vec<Button>>),
    /// A person chose the language they read (`/lingua`'s buttons): already stored.
    Language(Lang),
}

pub(super) type HResult<T = ()> = Result<T, StoreError>;

pub(super) fn store_err(e: StoreError) -> SinkError {
    SinkError(e.to_string())
}

pub(super) fn dispatch_err(e: DispatchError) -> SinkError {
    match e {
        DispatchError::Store(e) => store_err(e),
        other => SinkError(other.to_string()),
    }
}

/// A refusal of the core inside the update's own transaction (which only store errors end).
pub(super) fn core_store(e: crate::app::AppError) -> StoreError {
    match e {
        crate::app::AppError::Store(e) => e,
        other => StoreError::Conflict(other.to_string()),
    }
}

pub(super) fn app_err(e: crate::app::AppError) -> SinkError {
    match e {
        crate::app::AppError::Store(e) => store_err(e),
        other => SinkError(other.to_string()),
    }
}

impl TelegramBot {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        bot: Bot,
        cfg: BotConfig,
        mut dispatch: DispatchSettings,
        renderers: crate::app::notice::Renderers,
    ) -> Self {
        // The core writes in the bot's language.
        dispatch.lang = cfg.lang;
        TelegramBot {
            dispatcher: Dispatcher::new(store.clone(), clock.clone(), dispatch, renderers),
            store,
            clock,
            bot,
            cfg,
            wake: Arc::new(Notify::new()),
        }
    }

    /// The bot answering in `lang` (a person's own language), or in the default.
    pub(super) fn speaking(&self, lang: Option<Lang>) -> TelegramBot {
        let mut me = self.clone();
        if let Some(l) = lang {
            me.cfg.lang = l;
        }
        me
    }

    /// The notifier the delivery loop waits on.
    pub fn wake(&self) -> Arc<Notify> {
        self.wake.clone()
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
        let telegram_lang = update
            .from()
            .and_then(|u| u.language_code.as_deref())
            .and_then(Lang::supported);
        let pre = self
            .speaking(who.as_ref().and_then(Person::language))
            .pre_step(&incoming, &who, telegram_lang, now)
            .await?;
        if let Some(Pre::Registration(Ok(_))) = pre
            && let Some(u) = incoming.user_id()
        {
            who = self.person(u).await.map_err(store_err)?;
        }
        // The update is answered in its person's language (after a registration, the one
        // Telegram told; after /lingua, the one chosen).
        let me = match &pre {
            Some(Pre::Language(l)) => self.speaking(Some(*l)),
            _ => self.speaking(who.as_ref().and_then(Person::language)),
        };

        // A person just registered or chose a language: their chat's menu shows their role's
        // commands in their language (an outbox row, in this update's transaction).
        let menu_for = match (&pre, incoming.user_id()) {
            (Some(Pre::Registration(Ok(_)) | Pre::Language(_)), Some(u)) => Some(u),
            _ => None,
        };

        let mut tx = self.store.begin().await.map_err(store_err)?;
        let record = NewInbound {
            channel: "telegram".into(),
            external_id: update_id.to_string(),
            kind: kind_name(&incoming).into(),
            status: match incoming {
                Incoming::Ignored { .. } | Incoming::Group { .. } => "ignored".into(),
                Incoming::Foreign { .. } => "refused".into(),
                _ => "processed".into(),
            },
            sender: inbound_sender(&incoming),
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
        me.handle(&mut tx, now, &incoming, who, pre, &mut out)
            .await
            .map_err(store_err)?;
        if let Some(u) = menu_for {
            crate::app::menu::refresh(&mut tx, u, self.cfg.lang, now)
                .await
                .map_err(store_err)?;
        }

        let mut queued = menu_for.is_some();
        for (i, (request_id, payload)) in out.messages.iter().enumerate() {
            // The answer to someone using the bot now goes out before bulk work.
            let forget = if out.secret.contains(&i) {
                crate::store::FORGOTTEN_WHEN_SENT
            } else {
                ""
            };
            tx.enqueue_with(
                &format!("{forget}tg:{update_id}:{i}"),
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

    /// The work that runs its own transaction (invite redemption, dispatch's acceptance,
    /// decline, outcome, cancellation), chosen by who is writing and what arrived.
    async fn pre_step(
        &self,
        incoming: &Incoming,
        who: &Option<Person>,
        telegram_lang: Option<Lang>,
        now: DateTime<Utc>,
    ) -> Result<Option<Pre>, SinkError> {
        match (who, incoming) {
            (
                None,
                Incoming::Command {
                    user_id, name, arg, ..
                },
            ) if name == "start" && !arg.is_empty() => {
                self.redeem_invite(user_id, arg, telegram_lang, now).await
            }
            (Some(p), Incoming::Callback { data, .. }) if data.starts_with("lang:") => {
                self.choose_language(p, data).await
            }
            (Some(p @ Person::Operator(_)), Incoming::Callback { data, user_id, .. })
                if data.starts_with("ev:") =>
            {
                self.evaluation(p, data, user_id).await
            }
            (Some(p), Incoming::Callback { data, user_id, .. }) if data.starts_with("h:") => {
                self.hours_press(p, data, *user_id).await
            }
            (Some(p @ Person::Operator(_)), Incoming::Callback { data, user_id, .. })
                if data.starts_with("e:") =>
            {
                self.criterion_press(p, data, *user_id).await
            }
            // After a low mark, the requester's next message is the evaluation's comment.
            (
                Some(p @ Person::Operator(_)),
                Incoming::Text {
                    text,
                    user_id,
                    edited: false,
                    ..
                },
            ) => self.evaluation_comment(p, text, *user_id).await,
            (Some(p), Incoming::Callback { data, user_id, .. })
                if super::meeting::is_meeting_press(data) =>
            {
                self.meeting_press(p, data, *user_id).await
            }
            (Some(p), Incoming::Callback { data, user_id, .. }) if data.starts_with("ns:") => {
                self.no_show_press(p, data, *user_id).await
            }
            (Some(Person::Mediator(m)), Incoming::Callback { data, .. })
                if data.starts_with("dr:") =>
            {
                self.decline_reason(m, data).await
            }
            (Some(Person::Mediator(m)), Incoming::Callback { data, .. })
                if data.starts_with("hrs:") =>
            {
                self.worked_hours(m, data).await
            }
            (Some(Person::Mediator(m)), Incoming::Callback { data, .. }) => {
                self.mediator_press(m, data).await
            }
            (
                Some(p @ (Person::Operator(_) | Person::Coordinator(_))),
                Incoming::Command { name, arg, .. },
            ) if name == "annulla" => self.cancel(p, incoming, arg).await,
            (
                Some(p @ (Person::Operator(_) | Person::Coordinator(_))),
                Incoming::Command { name, arg, .. },
            ) if name == "modifica" => self.reschedule(p, incoming, arg).await,
            (
                Some(p @ Person::Coordinator(_)),
                Incoming::Command {
                    name, arg, user_id, ..
                },
            ) if name == "assegna" => self.assign_command(p, user_id, arg).await,
            (Some(Person::Coordinator(co)), Incoming::Callback { data, .. }) => {
                self.coordinator_press(co, data).await
            }
            _ => Ok(None),
        }
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
        match incoming {
            Incoming::Ignored { reason } => {
                tracing::debug!(reason, "telegram update ignored");
                return Ok(());
            }
            Incoming::Group { chat_id } => return self.group(tx, now, *chat_id, out).await,
            Incoming::Foreign { query_id } => {
                self.foreign(query_id.as_deref(), out);
                return Ok(());
            }
            _ => {}
        }
        let chat_of = |i: &Incoming| match i {
            Incoming::Text { chat_id, .. }
            | Incoming::Command { chat_id, .. }
            | Incoming::NonText { chat_id, .. } => Some(*chat_id),
            Incoming::Callback { user_id, .. } => Some(*user_id),
            Incoming::Group { .. } | Incoming::Foreign { .. } | Incoming::Ignored { .. } => None,
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
            Some(Pre::Language(_)) => {
                if let Incoming::Callback { query_id, .. } = incoming {
                    out.answer = Some((query_id.clone(), None));
                }
                self.say(out, chat, None, self.t("lingua_set"), vec![]);
                return Ok(());
            }
            _ => {}
        }
        if let Some(Pre::Registration(result)) = pre {
            return self
                .registration_reply(tx, now, incoming, &who, result, chat, out)
                .await;
        }

        let Some(person) = who else {
            return self.stranger(tx, now, incoming, chat, out).await;
        };

        match incoming {
            Incoming::Command { name, .. } if name == "start" => {
                self.already_registered(&person, chat, out)
            }
            Incoming::Command { name, .. } if name == "aiuto" || name == "help" => {
                self.help(&person, chat, out)
            }
            Incoming::Command { name, .. } if name == "lingua" || name == "language" => {
                self.language_question(chat, out)
            }
            Incoming::Command { name, .. } if name == "console" => {
                self.console_link(tx, now, &person, chat, out).await
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
                self.attach_document(tx, now, &person, file_id, name, size, chat, out)
                    .await
            }
            Incoming::NonText { .. } => {
                self.say(out, chat, None, self.t("ask_text"), vec![]);
                Ok(())
            }
            // Mediators and coordinators write no drafts: an edited message changes nothing
            // (the operator's dialogue decides for its own messages).
            Incoming::Text { edited: true, .. } if !matches!(person, Person::Operator(_)) => Ok(()),
            _ => match person {
                Person::Operator(op) => self.operator(tx, now, incoming, &op, chat, out).await,
                Person::Mediator(m) => self.mediator(tx, incoming, &m, chat, out).await,
                Person::Coordinator(_) => self.coordinator(incoming, chat, out).await,
            },
        }
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
