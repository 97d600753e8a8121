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
use crate::store::{DialogueRow, NewRequest, Operator, RequestFilter, StoreError, Tx};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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

    pub(super) async fn operator(
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
