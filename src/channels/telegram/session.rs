//! Who is writing, and from where: the person behind a Telegram account (operator, mediator,
//! coordinator, or a stranger), their authorisation actor, the record of each update, the
//! registration by invite code, and the one answer a stranger gets.

use super::bot::{HResult, Out, Person, Pre, TelegramBot, store_err};
use super::html::escape;
use super::sink::SinkError;
use super::updates::Incoming;
use crate::authz::{Action, Actor, Denied, RequestFacts, authorize};
use crate::domain::PersonKind;
use crate::store::{InviteError, Mediator, Tx};
use chrono::{DateTime, Duration, Utc};

impl TelegramBot {
    /// Asks the one authorisation table ([`crate::authz`]); a refusal is logged (ids only).
    pub(super) fn check(
        &self,
        actor: Actor,
        action: Action,
        facts: &RequestFacts,
    ) -> Result<(), Denied> {
        authorize(&actor, action, facts).inspect_err(|d| {
            tracing::warn!(actor = %actor.audit_name(), ?action, denied = %d, "telegram: refused");
        })
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

    /// `/start CODE` from an unknown account: redeem the invite (its own transaction), at most
    /// a few tries an hour. The person's language becomes the one their Telegram reports
    /// (`language_code`), when it is one we speak and they had none.
    pub(super) async fn redeem_invite(
        &self,
        user_id: &i64,
        arg: &str,
        telegram_lang: Option<crate::config::Lang>,
        now: DateTime<Utc>,
    ) -> Result<Option<Pre>, SinkError> {
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
                Ok(r) => {
                    if let Some(lang) = telegram_lang
                        && self.person_language(r.kind, r.person_id).await?.is_none()
                    {
                        self.store
                            .set_language(r.kind, r.person_id, Some(lang))
                            .await
                            .map_err(store_err)?;
                    }
                    Ok(r.kind)
                }
                Err(InviteError::Used | InviteError::TelegramIdTaken) => Err("invite_used"),
                Err(InviteError::Unknown | InviteError::Expired) => Err("invite_bad"),
                Err(InviteError::Store(e)) => return Err(store_err(e)),
            }
        };
        Ok(Some(Pre::Registration(r)))
    }

    /// The language a person chose before (the CLI's `--language`, the console), if any.
    async fn person_language(
        &self,
        kind: PersonKind,
        id: i64,
    ) -> Result<Option<crate::config::Lang>, SinkError> {
        Ok(match kind {
            PersonKind::Operator => self.store.operator(id).await.map_err(store_err)?.language,
            PersonKind::Mediator => self.store.mediator(id).await.map_err(store_err)?.language,
            PersonKind::Coordinator => self
                .store
                .coordinators()
                .await
                .map_err(store_err)?
                .into_iter()
                .find(|c| c.id == id)
                .and_then(|c| c.language),
        })
    }

    /// The answer to a registration attempt; a refused code counts towards the alert to the
    /// coordinators.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn registration_reply(
        &self,
        tx: &mut Tx,
        now: DateTime<Utc>,
        incoming: &Incoming,
        who: &Option<Person>,
        result: Result<PersonKind, &'static str>,
        chat: i64,
        out: &mut Out,
    ) -> HResult {
        match (result, who) {
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
                        crate::app::alert::prompt(
                            self.dispatcher.core(),
                            tx,
                            &format!("invite-guess:{u}:{hour}"),
                            None,
                            "telegram.alert_invite_subject",
                            "telegram.alert_invite_guessing",
                            &[("id", &u.to_string()), ("count", &failures.to_string())],
                            now,
                        )
                        .await?;
                    }
                }
                self.say(out, chat, None, self.t(key), vec![]);
            }
        }
        Ok(())
    }

    /// Someone writing in a group: the bot works only in private chats, and says so there at
    /// most once an hour per group (the update itself is already recorded, so it counts).
    /// Nothing else happens: no person is looked up, nothing is read or changed.
    pub(super) async fn group(
        &self,
        tx: &mut Tx,
        now: DateTime<Utc>,
        chat: i64,
        out: &mut Out,
    ) -> HResult {
        let sender = format!("group:{chat}");
        let recent = tx
            .inbound_from_since("telegram", &sender, now - Duration::hours(1))
            .await?;
        tracing::info!(chat, recent, "telegram: message in a group, not acted on");
        if recent <= GROUP_REPLIES_PER_HOUR {
            self.say(out, chat, None, self.t("only_private_chat"), vec![]);
        }
        Ok(())
    }

    /// An update from one person in another's chat: nothing changes and nobody's details go
    /// anywhere; a press is answered "not authorised" (only the presser sees it).
    pub(super) fn foreign(&self, query_id: Option<&str>, out: &mut Out) {
        tracing::warn!("telegram: update from outside its own private chat refused");
        if let Some(q) = query_id {
            out.answer = Some((q.to_string(), Some(self.t("not_authorized"))));
        }
    }

    /// A stranger: how to get access, and nothing else.
    pub(super) async fn stranger(
        &self,
        tx: &mut Tx,
        now: DateTime<Utc>,
        incoming: &Incoming,
        chat: i64,
        out: &mut Out,
    ) -> HResult {
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
        Ok(())
    }
}

/// Automatic "only in a private chat" answers to one group per hour.
pub(super) const GROUP_REPLIES_PER_HOUR: i64 = 1;

/// Automatic "how to get access" replies to one unknown account per hour.
pub(super) const STRANGER_REPLIES_PER_HOUR: i64 = 3;

/// The authorisation actor of a person writing from Telegram account `user_id` (a private
/// chat's id is the user's id).
pub(super) fn actor_of(p: &Person, user_id: i64) -> Actor {
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

pub(super) fn mediator_actor(m: &Mediator) -> Actor {
    Actor::Mediator {
        id: m.id,
        active: m.active,
    }
}

pub(super) fn person_name(p: &Person) -> &str {
    match p {
        Person::Operator(o) => &o.name,
        Person::Mediator(m) => &m.name,
        Person::Coordinator(c) => &c.name,
    }
}

/// Who an update is recorded as coming from: the person's Telegram id; for a group, the group
/// (so its answers can be counted); nobody for a foreign or ignored update.
pub(super) fn inbound_sender(i: &Incoming) -> Option<String> {
    match i {
        Incoming::Group { chat_id } => Some(format!("group:{chat_id}")),
        other => other.user_id().map(|u| u.to_string()),
    }
}

pub(super) fn kind_name(i: &Incoming) -> &'static str {
    match i {
        Incoming::Text { edited: false, .. } => "text",
        Incoming::Text { edited: true, .. } => "edited_text",
        Incoming::Command { .. } => "command",
        Incoming::Callback { .. } => "callback",
        Incoming::NonText { .. } => "media",
        Incoming::Group { .. } => "group",
        Incoming::Foreign { .. } => "foreign",
        Incoming::Ignored { .. } => "ignored",
    }
}
