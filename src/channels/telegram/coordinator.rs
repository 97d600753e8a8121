//! The coordinator's side: `/coda`, `/revisione` (held email, accept or reject with a tap),
//! `/assegna CODE` (pick a mediator from the ranked candidates), and an outcome reported on
//! a mediator's behalf.

use super::bot::{HResult, Out, Person, Pre, TelegramBot, app_err, dispatch_err, store_err};
use super::callback::Callback;
use super::session::actor_of;
use super::sink::SinkError;
use super::updates::Incoming;
use crate::app::{AppError, assign, outcome, review};
use crate::authz::{Action, Actor, RequestFacts};
use crate::dispatch::engine::DispatchError;
use crate::domain::{RequestCode, RequestStatus};
use crate::outbox::Button;
use crate::store::{Coordinator, StoreError};

impl TelegramBot {
    /// `/assegna CODE`: the ranked candidates, one button each.
    pub(super) async fn assign_command(
        &self,
        p: &Person,
        user_id: &i64,
        arg: &str,
    ) -> Result<Option<Pre>, SinkError> {
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

    /// A coordinator's button press: assign, review, or an outcome for the mediator (each use
    /// case of the core asks the table whether a coordinator may).
    pub(super) async fn coordinator_press(
        &self,
        co: &Coordinator,
        data: &str,
    ) -> Result<Option<Pre>, SinkError> {
        let actor = Actor::Coordinator { id: co.id };
        let core = self.dispatcher.core().clone();
        let now = self.clock.now();
        let (request_id, mediator_id) = match Callback::parse(data) {
            Ok(Callback::Assign {
                request_id,
                mediator_id,
            }) => (request_id, mediator_id),
            Ok(Callback::Review { request_id, accept }) => {
                return self.review(&actor, request_id, accept).await.map(Some);
            }
            Ok(Callback::Outcome {
                assignment_id,
                done,
            }) => {
                // A coordinator may report an outcome on the mediator's behalf.
                let r = core_tx!(self, |tx| outcome::record(
                    &core,
                    tx,
                    &actor,
                    assignment_id,
                    done,
                    None,
                    now
                )
                .await);
                if matches!(r, Ok(true)) && !done {
                    // A coordinator records a no-show too: who did not come.
                    let (question, buttons) = self.no_show_question(assignment_id);
                    self.wake.notify_one();
                    return Ok(Some(Pre::AnswerAndAsk(
                        self.t("outcome_not_done"),
                        question,
                        buttons,
                    )));
                }
                let text = match (r, done) {
                    (Ok(true), true) => self.t("outcome_done"),
                    (Ok(true), false) => self.t("outcome_not_done"),
                    (Ok(false), _) => self.t("expired_button"),
                    (Err(AppError::Denied(d)), _) => self.denied_text(d),
                    (Err(e), _) => return Err(app_err(e)),
                };
                self.wake.notify_one();
                return Ok(Some(Pre::Answer(text, None)));
            }
            _ => return Ok(Some(Pre::Answer(self.t("not_authorized"), None))),
        };
        let code = match self.store.request_by_id(request_id).await {
            Ok(r) => r.code,
            Err(StoreError::NotFound(_)) => {
                return Ok(Some(Pre::Answer(self.t("expired_button"), None)));
            }
            Err(e) => return Err(store_err(e)),
        };
        let c = code.to_string();
        let r = core_tx!(self, |tx| assign::by_hand(
            &core,
            tx,
            &actor,
            code,
            mediator_id,
            now
        )
        .await);
        let text = match r {
            Ok(a) => {
                self.wake.notify_one();
                self.tr("assign_done", &[("code", &c), ("name", &a.mediator.name)])
            }
            Err(AppError::WrongState { status, .. }) => self.tr(
                "assign_not_possible",
                &[
                    ("code", &c),
                    ("status", &self.t(&format!("status_{}", status.as_str()))),
                ],
            ),
            Err(AppError::Denied(d)) => self.denied_text(d),
            Err(AppError::MediatorInactive(_)) => self.t("expired_button"),
            Err(e) => return Err(app_err(e)),
        };
        Ok(Some(Pre::Answer(text, Some(request_id))))
    }

    /// A coordinator accepts or rejects a request held from an unknown email sender: the
    /// core's review (the sender's acknowledgement is its notice, rendered by email).
    async fn review(&self, actor: &Actor, request_id: i64, accept: bool) -> Result<Pre, SinkError> {
        let core = self.dispatcher.core().clone();
        let now = self.clock.now();
        let r = if accept {
            core_tx!(self, |tx| review::accept(&core, tx, actor, request_id, now)
                .await
                .map(|(r, _)| r))
        } else {
            core_tx!(self, |tx| review::reject(&core, tx, actor, request_id, now)
                .await)
        };
        let text = match r {
            Ok(req) => {
                self.wake.notify_one();
                self.tr(
                    if accept {
                        "review_accepted"
                    } else {
                        "review_rejected"
                    },
                    &[("code", &req.code.to_string())],
                )
            }
            Err(AppError::NotHeld(_) | AppError::WrongState { .. }) => self.t("expired_button"),
            Err(AppError::Store(StoreError::NotFound(_))) => self.t("expired_button"),
            Err(AppError::Denied(d)) => self.denied_text(d),
            Err(e) => return Err(app_err(e)),
        };
        Ok(Pre::Answer(text, Some(request_id)))
    }

    pub(super) async fn coordinator(
        &self,
        incoming: &Incoming,
        chat: i64,
        out: &mut Out,
    ) -> HResult {
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
