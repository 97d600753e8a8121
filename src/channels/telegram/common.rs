//! Commands more than one role has: `/start` when already registered, `/aiuto`, `/dettagli`
//! (a request's details, for whom the authorisation table allows), `/annulla` (the requester
//! or a coordinator cancels through the core, `app::cancel`), `/modifica` (the requester or a
//! coordinator moves a request to a new date or time, `app::reschedule`), `/console` (a one-time
//! link to the web console), `/lingua` (the language the person reads, with its two buttons).

use super::bot::{HResult, Out, Person, Pre, TelegramBot, app_err, store_err};
use super::html::escape;
use super::session::{actor_of, person_name};
use super::sink::SinkError;
use super::updates::Incoming;
use crate::app::AppError;
use crate::authz::{Action, Denied, RequestFacts};
use crate::domain::{PersonKind, RequestCode};
use crate::store::{ConsoleRole, StoreError, Tx};
use chrono::{DateTime, Utc};

impl TelegramBot {
    /// `/start` from someone already registered.
    pub(super) fn already_registered(&self, person: &Person, chat: i64, out: &mut Out) -> HResult {
        let n = escape(person_name(person));
        self.say(
            out,
            chat,
            None,
            self.tr("already_registered", &[("name", &n)]),
            vec![],
        );
        Ok(())
    }

    /// `/aiuto`: what this person can do.
    pub(super) fn help(&self, person: &Person, chat: i64, out: &mut Out) -> HResult {
        let key = match person {
            Person::Operator(_) => "help_operator",
            Person::Mediator(_) => "help_mediator",
            Person::Coordinator(_) => "help_coordinator",
        };
        self.say(out, chat, None, self.t(key), vec![]);
        Ok(())
    }

    /// `/lingua`: the two languages as buttons.
    pub(super) fn language_question(&self, chat: i64, out: &mut Out) -> HResult {
        let buttons = [("lingua_it", "lang:it"), ("lingua_en", "lang:en")]
            .into_iter()
            .map(|(label, data)| crate::outbox::Button {
                text: self.t(label),
                data: data.to_string(),
            })
            .collect();
        self.say(out, chat, None, self.t("lingua_choose"), vec![buttons]);
        Ok(())
    }

    /// A press on one of `/lingua`'s buttons: the person's language is stored (its own
    /// transaction, before the update's), and the answer comes in it.
    pub(super) async fn choose_language(
        &self,
        p: &Person,
        data: &str,
    ) -> Result<Option<Pre>, SinkError> {
        let Some(lang) = data
            .strip_prefix("lang:")
            .and_then(crate::config::Lang::supported)
        else {
            return Ok(Some(Pre::Answer(self.t("not_authorized"), None)));
        };
        let (kind, id) = match p {
            Person::Operator(o) => (PersonKind::Operator, o.id),
            Person::Mediator(m) => (PersonKind::Mediator, m.id),
            Person::Coordinator(c) => (PersonKind::Coordinator, c.id),
        };
        self.store
            .set_language(kind, id, Some(lang))
            .await
            .map_err(store_err)?;
        tracing::info!(
            kind = kind.as_str(),
            id,
            lang = lang.as_str(),
            "telegram: language chosen"
        );
        Ok(Some(Pre::Language(lang)))
    }

    /// `/console`: a one-time link to the web console for a coordinator or an operator
    /// (mediators get none), stored hashed in the update's transaction; at most
    /// [`crate::store::console::LINKS_PER_HOUR`] links an hour.
    pub(super) async fn console_link(
        &self,
        tx: &mut Tx,
        now: DateTime<Utc>,
        person: &Person,
        chat: i64,
        out: &mut Out,
    ) -> HResult {
        let (role, id) = match person {
            Person::Coordinator(c) => (ConsoleRole::Coordinator, c.id),
            Person::Operator(o) => (ConsoleRole::Operator, o.id),
            Person::Mediator(_) => {
                self.say(out, chat, None, self.t("console_not_for_mediators"), vec![]);
                return Ok(());
            }
        };
        let Some(base) = self.cfg.console_url.clone() else {
            self.say(out, chat, None, self.t("console_off"), vec![]);
            return Ok(());
        };
        match tx.issue_console_link(role, id, now).await? {
            Some(token) => {
                tracing::info!(role = role.as_str(), person = id, "console link sent");
                let link = escape(&format!("{base}/login/{token}"));
                let minutes = crate::store::console::LINK_MINUTES.to_string();
                let text = self.tr("console_link", &[("link", &link), ("minutes", &minutes)]);
                self.say(out, chat, None, text, vec![]);
                // The link is a credential: its outbox row is forgotten once sent.
                out.secret.push(out.messages.len().saturating_sub(1));
            }
            None => self.say(out, chat, None, self.t("console_rate_limited"), vec![]),
        }
        Ok(())
    }

    /// `/dettagli CODE`: a request's full details, for whom the authorisation table allows
    /// it (the requester, the assigned mediator, a coordinator); every view is audited.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn details(
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
                let args = crate::app::sentence::details_args(
                    &crate::app::words::Words::new(self.cfg.lang),
                    &r,
                );
                let escaped: Vec<(&str, String)> =
                    args.iter().map(|(k, v)| (*k, escape(v))).collect();
                let text =
                    crate::app::sentence::dispatch_text(self.cfg.lang, "request_details", &escaped);
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

    /// `/annulla CODE` from the requester or a coordinator: the core cancels (and tells the
    /// assigned mediator); the answer says what happened.
    pub(super) async fn cancel(
        &self,
        p: &Person,
        incoming: &Incoming,
        arg: &str,
    ) -> Result<Option<Pre>, SinkError> {
        let Some(code) = RequestCode::find_in(arg) else {
            return Ok(Some(Pre::Reply(self.t("cancel_usage"), None, vec![])));
        };
        let c = code.to_string();
        if let Person::Mediator(_) = p {
            return Ok(None);
        }
        let actor = actor_of(p, incoming.user_id().unwrap_or_default());
        let not_found = || {
            Ok(Some(Pre::Reply(
                self.tr("cancel_not_found", &[("code", &c)]),
                None,
                vec![],
            )))
        };
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let Some(id) = tx.request_id_by_code(code).await.map_err(store_err)? else {
            tx.rollback().await.map_err(store_err)?;
            return not_found();
        };
        let now = self.clock.now();
        let done =
            crate::app::cancel::cancel(self.dispatcher.core(), &mut tx, &actor, id, now).await;
        let Ok(done) = done else {
            tx.rollback().await.map_err(store_err)?;
            return match done {
                Err(AppError::Denied(d)) => {
                    tracing::warn!(actor = %actor.audit_name(), denied = %d, "telegram: cancellation refused");
                    not_found()
                }
                Err(AppError::WrongState { status, .. }) => Ok(Some(Pre::Reply(
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
                Err(e) => Err(app_err(e)),
                Ok(_) => Ok(None),
            };
        };
        tx.commit().await.map_err(store_err)?;
        tracing::info!(request = %c, "request cancelled from telegram");
        self.wake.notify_one();
        // An assigned request: the requester's notice (with the invitation's CANCEL) is the
        // answer.
        if done.notices.iter().any(|n| {
            matches!(
                n,
                crate::app::notice::Notice::Cancellation {
                    by_requester: true,
                    ..
                }
            )
        }) {
            return Ok(Some(Pre::Answer(String::new(), Some(done.request.id))));
        }
        Ok(Some(Pre::Reply(
            self.tr("cancel_done", &[("code", &c)]),
            Some(done.request.id),
            vec![],
        )))
    }

    /// `/modifica CODICE nuova data e ora`: the new date or time read by the extractor, the
    /// request moved through the core (`app::reschedule`). On success the bot answers nothing
    /// itself: the requester's notice (on their channel) says what happens next.
    pub(super) async fn reschedule(
        &self,
        p: &Person,
        incoming: &Incoming,
        arg: &str,
    ) -> Result<Option<Pre>, SinkError> {
        let Some(code) = RequestCode::find_in(arg) else {
            return Ok(Some(Pre::Reply(self.t("reschedule_usage"), None, vec![])));
        };
        let c = code.to_string();
        if let Person::Mediator(_) = p {
            return Ok(None);
        }
        let reply = |text: String| Ok(Some(Pre::Reply(text, None, vec![])));
        let actor = actor_of(p, incoming.user_id().unwrap_or_default());
        let now = self.clock.now();
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let found = match tx.request_id_by_code(code).await.map_err(store_err)? {
            Some(id) => Some(tx.request_by_id(id).await.map_err(store_err)?),
            None => None,
        };
        let Some(req) = found else {
            tx.rollback().await.map_err(store_err)?;
            return reply(self.tr("cancel_not_found", &[("code", &c)]));
        };
        // The text after the code: what the requester wants the appointment moved to.
        let rest = arg.replacen(&c, " ", 1);
        let mut ctx = crate::extract::Context::new(now, crate::domain::Channel::Telegram);
        ctx.tz = self.cfg.tz;
        let (date, start, minutes) = crate::intake::time_in(&rest, &ctx);
        let Some(when) = crate::app::reschedule::new_when(&req, date, start, minutes) else {
            tx.rollback().await.map_err(store_err)?;
            return if date.is_some() || start.is_some() {
                reply(self.tr("reschedule_same", &[("code", &c)]))
            } else {
                reply(self.tr("reschedule_no_time", &[("code", &c)]))
            };
        };
        if crate::app::reschedule::is_past(when, self.cfg.tz, now) {
            tx.rollback().await.map_err(store_err)?;
            return reply(self.tr("reschedule_past", &[("code", &c)]));
        }
        let done = crate::app::reschedule::reschedule_with(
            self.dispatcher.core(),
            &mut tx,
            &actor,
            req.id,
            when,
            Some(&rest),
            now,
        )
        .await;
        let Ok(done) = done else {
            tx.rollback().await.map_err(store_err)?;
            return match done {
                Err(AppError::Denied(d)) => {
                    tracing::warn!(actor = %actor.audit_name(), denied = %d, "telegram: reschedule refused");
                    reply(self.tr("cancel_not_found", &[("code", &c)]))
                }
                Err(AppError::WrongState { status, .. }) => reply(self.tr(
                    "reschedule_not_possible",
                    &[
                        ("code", &c),
                        ("status", &self.t(&format!("status_{}", status.as_str()))),
                    ],
                )),
                Err(e) => Err(app_err(e)),
                Ok(_) => Ok(None),
            };
        };
        tx.commit().await.map_err(store_err)?;
        tracing::info!(request = %c, late = done.late, "request rescheduled from telegram");
        self.wake.notify_one();
        Ok(Some(Pre::Answer(String::new(), Some(done.request.id))))
    }
}
