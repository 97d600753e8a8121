//! The operator's side: the dialogue that writes a request (state in `dialogues`, so it
//! survives restarts), the confirmation that queues it, `/richieste`, a document attached to
//! the latest open request, and the requester's evaluation buttons.

use super::bot::{HResult, Out, Person, Pre, TelegramBot, dispatch_err, store_err};
use super::callback::{Callback, DraftAction};
use super::draft::{self, Draft, Field};
use super::session::actor_of;
use super::sink::SinkError;
use super::updates::Incoming;
use crate::authz::{Action, RequestFacts, authorize};
use crate::dispatch::engine::DispatchError;
use crate::domain::{Appointment, Channel, InterventionType, RequestStatus};
use crate::store::{
    CorrectionSource, DialogueRow, NewRequest, Operator, RequestFilter, StoreError, Tx,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where an operator's dialogue stands: the state machine of writing a request. A text is
/// read by the handler of the state it arrives in ([`TelegramBot::on_text`]); a button moves
/// the dialogue by the table in [`TelegramBot::on_button`]. No row in `dialogues` is the same
/// as [`State::Writing`] with an empty draft.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum State {
    /// A draft is open and no question is pending (after /nuova, or before the first
    /// message): the next text is read whole.
    #[default]
    Writing,
    /// The bot asked for a field: the next text is read as its answer first; a button picks
    /// one of the values shown.
    Asking(Field),
    /// Every field is known and the summary shown: [Conferma] queues the request; a text
    /// adds to the draft (a correction written instead of pressing [Modifica]).
    Confirming,
    /// The operator pressed [Modifica]: the next text is read whole and corrects the draft.
    Modifying,
}

/// An operator's dialogue, saved as JSON in `dialogues.state` (so it survives restarts and
/// works with several instances).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(from = "Saved", into = "Saved")]
pub struct Dialogue {
    /// Grows with every question; buttons carry it, so a stale press is recognised.
    pub step: i64,
    pub draft: Draft,
    pub state: State,
    /// Telegram ids of the operator's messages read into this draft. An edit of one of them
    /// updates the draft; an edit of any other message (one already turned into a request)
    /// changes nothing.
    pub messages: Vec<i64>,
}

/// The stored shape of a [`Dialogue`] (the one dialogues saved before the state machine
/// have, so a dialogue open across an upgrade goes on).
#[derive(Serialize, Deserialize)]
struct Saved {
    step: i64,
    draft: Draft,
    asking: Option<Field>,
    phase: Phase,
    #[serde(default)]
    messages: Vec<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Phase {
    Collecting,
    Confirming,
    Modifying,
}

impl From<Saved> for Dialogue {
    fn from(s: Saved) -> Self {
        let state = match (s.phase, s.asking) {
            (Phase::Collecting, Some(field)) => State::Asking(field),
            (Phase::Collecting, None) => State::Writing,
            (Phase::Confirming, _) => State::Confirming,
            (Phase::Modifying, _) => State::Modifying,
        };
        Dialogue {
            step: s.step,
            draft: s.draft,
            state,
            messages: s.messages,
        }
    }
}

impl From<Dialogue> for Saved {
    fn from(d: Dialogue) -> Self {
        let (phase, asking) = match d.state {
            State::Writing => (Phase::Collecting, None),
            State::Asking(field) => (Phase::Collecting, Some(field)),
            State::Confirming => (Phase::Confirming, None),
            State::Modifying => (Phase::Modifying, None),
        };
        Saved {
            step: d.step,
            draft: d.draft,
            asking,
            phase,
            messages: d.messages,
        }
    }
}

/// The operator's messages remembered per draft (an edit of an older one changes nothing).
const MESSAGES_KEPT: usize = 50;

/// One update of the operator's dialogue: where it is handled and where its answers go.
struct Turn<'a> {
    tx: &'a mut Tx,
    now: DateTime<Utc>,
    op: &'a Operator,
    chat: i64,
    out: &'a mut Out,
}

impl TelegramBot {
    /// The requester's evaluation (1-5) of an intervention, from dispatch's buttons.
    pub(super) async fn evaluation(
        &self,
        p: &Person,
        data: &str,
        user_id: &i64,
    ) -> Result<Option<Pre>, SinkError> {
        let parsed = data
            .strip_prefix("ev:")
            .and_then(|rest| rest.split_once(':'))
            .and_then(|(id, score)| Some((id.parse::<i64>().ok()?, score.parse::<i64>().ok()?)));
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
                    self.cfg.lang,
                    "evaluation_too_early",
                    &[("code", req.code.to_string())],
                )
            }
            Err(e) => return Err(dispatch_err(e)),
        };
        Ok(Some(Pre::Answer(text, Some(req.id))))
    }

    /// A document goes with the operator's latest open request (Telegram keeps it; the
    /// request's history records its id, name and size).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn attach_document(
        &self,
        tx: &mut Tx,
        now: DateTime<Utc>,
        person: &Person,
        file_id: &str,
        name: &Option<String>,
        size: &u32,
        chat: i64,
        out: &mut Out,
    ) -> HResult {
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
        let me = actor_of(person, chat);
        let own = latest
            .first()
            .filter(|r| authorize(&me, Action::AddInfo, &RequestFacts::of(r)).is_ok());
        match own {
            Some(r) => {
                let detail =
                    serde_json::json!({"telegram_file_id": file_id, "name": name, "size": size})
                        .to_string();
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

    /// An operator's command, text or button press (the commands all roles share were
    /// handled before).
    pub(super) async fn operator(
        &self,
        tx: &mut Tx,
        now: DateTime<Utc>,
        incoming: &Incoming,
        op: &Operator,
        chat: i64,
        out: &mut Out,
    ) -> HResult {
        let mut turn = Turn {
            tx,
            now,
            op,
            chat,
            out,
        };
        match incoming {
            Incoming::Command { name, .. } => match name.as_str() {
                "nuova" => {
                    self.save_op(&mut turn, &Dialogue::default()).await?;
                    self.say(turn.out, chat, None, self.t("new_request"), vec![]);
                    Ok(())
                }
                "richieste" => self.my_requests(op, chat, turn.out).await,
                _ => {
                    self.say(turn.out, chat, None, self.t("unknown_command"), vec![]);
                    Ok(())
                }
            },
            Incoming::Text {
                text,
                message_id,
                edited,
                ..
            } => self.on_message(&mut turn, text, *message_id, *edited).await,
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
                    turn.out.answer = Some((query_id.clone(), Some(self.t("not_authorized"))));
                    return Ok(());
                };
                // Only the chat's own operator, on the dialogue's current step.
                if dialogue_id != *user_id || chat_id.is_some_and(|c| c != *user_id) {
                    turn.out.answer = Some((query_id.clone(), Some(self.t("not_authorized"))));
                    return Ok(());
                }
                let Some(d) = self.load_op(turn.tx, chat).await? else {
                    turn.out.answer = Some((query_id.clone(), Some(self.t("expired_button"))));
                    return Ok(());
                };
                if d.step != step {
                    turn.out.answer = Some((query_id.clone(), Some(self.t("expired_button"))));
                    return Ok(());
                }
                turn.out.answer = Some((query_id.clone(), None));
                let refused = self.on_button(&mut turn, d, action).await?;
                if let Some(key) = refused {
                    turn.out.answer = Some((query_id.clone(), Some(self.t(key))));
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// A text message, new or edited. An edit counts only for a message read into the open
    /// draft, and is read whole as a correction; an edit of a message that already became a
    /// request (or was never part of this draft) changes nothing, and the operator is told so.
    async fn on_message(
        &self,
        turn: &mut Turn<'_>,
        text: &str,
        message_id: i64,
        edited: bool,
    ) -> HResult {
        let open = self.load_op(turn.tx, turn.chat).await?;
        let known = open
            .as_ref()
            .is_some_and(|d| d.messages.contains(&message_id));
        if edited && !known {
            tracing::info!(
                chat = turn.chat,
                message_id,
                "telegram: edit of a message outside the open draft, nothing changed"
            );
            self.say(
                turn.out,
                turn.chat,
                None,
                self.t("edit_not_applied"),
                vec![],
            );
            return Ok(());
        }
        let mut d = open.unwrap_or_default();
        if !known {
            d.messages.push(message_id);
            if d.messages.len() > MESSAGES_KEPT {
                d.messages.remove(0);
            }
        }
        if edited {
            // A correction of an earlier message, not the answer to the question now asked.
            return self.read_whole(turn, d, text).await;
        }
        self.on_text(turn, d, text).await
    }

    /// The next text, read by the handler of the dialogue's state.
    async fn on_text(&self, turn: &mut Turn<'_>, d: Dialogue, text: &str) -> HResult {
        match d.state {
            State::Asking(field) => self.answer_question(turn, d, field, text).await,
            State::Writing | State::Confirming | State::Modifying => {
                self.read_whole(turn, d, text).await
            }
        }
    }

    /// [`State::Asking`]: the text answers the question; if it does not, the question is
    /// asked again (the text is kept in the notes).
    async fn answer_question(
        &self,
        turn: &mut Turn<'_>,
        mut d: Dialogue,
        field: Field,
        text: &str,
    ) -> HResult {
        if d.draft.unsure_field() == Some(field) && crate::extract::is_yes(text) {
            // The extractor's doubt confirmed ("sì"): the value stands (a suggested language
            // becomes the language).
            d.draft.confirm_doubt();
            return self.advance(turn, d, false).await;
        }
        let found = draft::read_answer(field, text, turn.now, self.cfg.tz);
        let answered = draft::field_known(&found, field);
        // Another value for a field the extractor had read with doubt: it read it wrong.
        d.draft.corrected |= answered && d.draft.unsure_field() == Some(field);
        d.draft.merge(found);
        if answered {
            return self.advance(turn, d, true).await;
        }
        d.draft.notes.push(text.to_string());
        let today = turn.now.with_timezone(&self.cfg.tz).date_naive();
        let q = self.question_text(field);
        self.say(
            turn.out,
            turn.chat,
            None,
            self.tr("not_understood", &[("question", &q)]),
            self.field_buttons(turn.chat, d.step, field, today),
        );
        self.save_op(turn, &d).await
    }

    /// [`State::Writing`], [`State::Modifying`], [`State::Confirming`]: the text is read whole
    /// and merged into the draft.
    async fn read_whole(&self, turn: &mut Turn<'_>, mut d: Dialogue, text: &str) -> HResult {
        let mut found = draft::read_text(text, turn.now, self.cfg.tz);
        found.notes.push(text.to_string());
        // After [Modifica] the text corrects what was read before.
        d.draft.corrected |= d.state == State::Modifying && !found.is_empty();
        d.draft.read_at = d.draft.read_at.or(Some(turn.now));
        d.draft.merge(found);
        if d.draft.is_empty() {
            self.say(turn.out, turn.chat, None, self.t("new_request"), vec![]);
            return self.save_op(turn, &d).await;
        }
        self.advance(turn, d, true).await
    }

    /// A draft button on the dialogue's current step: the transition table. Returns the key
    /// of the answer when the press does not fit the state.
    async fn on_button(
        &self,
        turn: &mut Turn<'_>,
        mut d: Dialogue,
        action: DraftAction,
    ) -> HResult<Option<&'static str>> {
        match (d.state, action) {
            (State::Asking(field), DraftAction::Pick(v)) => {
                if !draft::apply_pick(&mut d.draft, field, &v) {
                    return Ok(Some("not_authorized"));
                }
                self.advance(turn, d, false).await?;
            }
            (_, DraftAction::Pick(_)) => return Ok(Some("expired_button")),
            (_, DraftAction::Cancel) => {
                turn.tx.delete_dialogue(turn.chat).await?;
                self.say(turn.out, turn.chat, None, self.t("draft_cancelled"), vec![]);
            }
            (_, DraftAction::Modify) => {
                d.state = State::Modifying;
                d.step += 1;
                self.say(turn.out, turn.chat, None, self.t("modify_which"), vec![]);
                self.save_op(turn, &d).await?;
            }
            (State::Confirming, DraftAction::Confirm) if d.draft.missing().is_empty() => {
                self.queue_request(turn.tx, turn.now, turn.op, turn.chat, &d.draft, turn.out)
                    .await?;
            }
            (_, DraftAction::Confirm) => return Ok(Some("expired_button")),
        }
        Ok(None)
    }

    async fn load_op(&self, tx: &mut Tx, chat: i64) -> HResult<Option<Dialogue>> {
        Ok(tx
            .dialogue(chat)
            .await?
            .filter(|d| d.person_kind == "operator")
            .and_then(|d| serde_json::from_str(&d.state).ok()))
    }

    async fn save_op(&self, turn: &mut Turn<'_>, d: &Dialogue) -> HResult {
        let state = serde_json::to_string(d).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        turn.tx
            .save_dialogue(
                &DialogueRow {
                    chat_id: turn.chat,
                    person_kind: "operator".into(),
                    person_id: turn.op.id,
                    state,
                },
                turn.now,
            )
            .await
    }

    /// After new information: ask the next missing field ([`State::Asking`]), or show the
    /// summary to confirm ([`State::Confirming`]).
    async fn advance(&self, turn: &mut Turn<'_>, mut d: Dialogue, with_summary: bool) -> HResult {
        let chat = turn.chat;
        let today = turn.now.with_timezone(&self.cfg.tz).date_naive();
        d.step += 1;
        let missing = d.draft.missing();
        // Every field known but one read with doubt: the extractor's question first. A doubt
        // about the field asked next (a nationality instead of the language) is asked in its
        // place: the question proposes the value.
        let doubt = d
            .draft
            .unsure_field()
            .zip(d.draft.question(self.cfg.lang))
            .filter(|(field, _)| missing.is_empty() || missing.first() == Some(field));
        if let Some((field, question)) = doubt {
            d.state = State::Asking(field);
            let mut text = String::new();
            if with_summary {
                text.push_str(&self.summary(&d.draft));
                text.push_str("\n\n");
            }
            text.push_str(&question);
            self.say(turn.out, chat, None, text, vec![]);
            return self.save_op(turn, &d).await;
        }
        match missing.first() {
            Some(&field) => {
                d.state = State::Asking(field);
                let mut text = String::new();
                if with_summary {
                    text.push_str(&self.summary(&d.draft));
                    text.push_str("\n\n");
                }
                text.push_str(&self.question_text(field));
                self.say(
                    turn.out,
                    chat,
                    None,
                    text,
                    self.field_buttons(chat, d.step, field, today),
                );
            }
            None => {
                d.state = State::Confirming;
                let text = format!(
                    "{}\n\n{}",
                    self.summary(&d.draft),
                    self.t("confirm_question")
                );
                let b = |label: &str, action: DraftAction| {
                    self.button(
                        label,
                        Callback::Draft {
                            dialogue_id: chat,
                            step: d.step,
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
                self.say(turn.out, chat, None, text, buttons);
            }
        }
        self.save_op(turn, &d).await
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
            series: if translation {
                None
            } else {
                d.series(self.cfg.tz)
            },
            ..Default::default()
        };
        let actor = crate::authz::Actor::Operator {
            id: Some(op.id),
            email: op.email.clone(),
            chat_id: Some(chat),
            active: op.active,
        };
        let req = crate::app::create::from_draft(self.dispatcher.core(), tx, &actor, &new, now)
            .await
            .map_err(super::bot::core_store)?;
        if let Some(pair) = draft::correction(d, self.cfg.tz) {
            tx.record_correction(Some(req.id), CorrectionSource::BotEdit, &pair, now)
                .await?;
        }
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

    pub(super) async fn my_requests(&self, op: &Operator, chat: i64, out: &mut Out) -> HResult {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dialogue_saved_before_the_state_machine_goes_on() {
        let old = r#"{"step":3,"draft":{},"asking":"time","phase":"collecting"}"#;
        let d: Dialogue = serde_json::from_str(old).expect("old shape");
        assert_eq!(d.state, State::Asking(Field::Time));
        assert_eq!(d.step, 3);
        assert!(d.messages.is_empty());
        for state in [
            State::Writing,
            State::Asking(Field::Date),
            State::Confirming,
            State::Modifying,
        ] {
            let d = Dialogue {
                step: 7,
                state,
                messages: vec![11, 12],
                ..Default::default()
            };
            let back: Dialogue =
                serde_json::from_str(&serde_json::to_string(&d).expect("json")).expect("back");
            assert_eq!(back, d);
        }
    }
}
