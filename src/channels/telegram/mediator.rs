//! The mediator's side: answers to offers ([Accetto]/[Non posso], with a reason), the outcome
//! of an appointment and the hours worked, the answer to a new date or time ([Va bene] /
//! [Non posso]), `/pausa`, `/disponibile`, `/miei`. Every press is
//! authorised again on arrival: the offer or the assignment must be this mediator's.

use super::bot::{HResult, Out, Pre, TelegramBot, app_err};
use super::callback::Callback;
use super::html::escape;
use super::render::format_hours;
use super::session::mediator_actor;
use super::sink::SinkError;
use super::updates::Incoming;
use crate::app::AppError;
use crate::app::answer::{self, DECLINE_REASONS};
use crate::app::outcome::{self, WORKED_CHOICES};
use crate::app::reschedule;
use crate::authz::{Action, RequestFacts, authorize};
use crate::outbox::Button;
use crate::store::{Mediator, RequestFilter, Tx};

impl TelegramBot {
    /// A refusal of the table, in words; anything else is an error.
    fn refused(&self, e: AppError) -> Result<Option<Pre>, SinkError> {
        match e {
            AppError::Denied(d) => {
                tracing::warn!(denied = %d, "telegram: press refused");
                Ok(Some(Pre::Answer(self.denied_text(d), None)))
            }
            e => Err(app_err(e)),
        }
    }

    /// Why an offer was declined (it helps the coordinator plan).
    pub(super) async fn decline_reason(
        &self,
        m: &Mediator,
        data: &str,
    ) -> Result<Option<Pre>, SinkError> {
        let parsed = data
            .strip_prefix("dr:")
            .and_then(|rest| rest.split_once(':'))
            .and_then(|(o, r)| Some((o.parse::<i64>().ok()?, r.to_string())))
            .filter(|(_, r)| DECLINE_REASONS.contains(&r.as_str()));
        let Some((offer_id, reason)) = parsed else {
            return Ok(Some(Pre::Answer(self.t("not_authorized"), None)));
        };
        let actor = mediator_actor(m);
        let saved = core_tx!(self, |tx| answer::decline_reason(
            tx, &actor, offer_id, &reason
        )
        .await);
        let text = match saved {
            Ok(true) => self.t("decline_reason_saved"),
            Ok(false) => self.t("not_authorized"),
            Err(e) => return self.refused(e),
        };
        Ok(Some(Pre::Answer(text, None)))
    }

    /// The hours actually worked, after [Svolto].
    pub(super) async fn worked_hours(
        &self,
        m: &Mediator,
        data: &str,
    ) -> Result<Option<Pre>, SinkError> {
        let parsed = data
            .strip_prefix("hrs:")
            .and_then(|rest| rest.split_once(':'))
            .and_then(|(a, min)| Some((a.parse::<i64>().ok()?, min.parse::<i64>().ok()?)))
            .filter(|(_, min)| WORKED_CHOICES.contains(min));
        let Some((assignment_id, minutes)) = parsed else {
            return Ok(Some(Pre::Answer(self.t("not_authorized"), None)));
        };
        let actor = mediator_actor(m);
        let core = self.dispatcher.core().clone();
        let now = self.clock.now();
        let saved = core_tx!(self, |tx| outcome::hours(
            &core,
            tx,
            &actor,
            assignment_id,
            minutes,
            now
        )
        .await);
        let text = match saved {
            Ok(true) => self.tr("hours_saved", &[("hours", &format_hours(minutes))]),
            Ok(false) => self.t("not_authorized"),
            Err(e) => return self.refused(e),
        };
        Ok(Some(Pre::Answer(text, None)))
    }

    /// A mediator's button press: an offer or an outcome; anything else is not handled here.
    pub(super) async fn mediator_press(
        &self,
        m: &Mediator,
        data: &str,
    ) -> Result<Option<Pre>, SinkError> {
        match Callback::parse(data) {
            Ok(Callback::Offer { offer_id, accept }) => {
                self.answer_offer(m, offer_id, accept).await
            }
            Ok(Callback::Outcome {
                assignment_id,
                done,
            }) => self.report_outcome(m, assignment_id, done).await,
            Ok(Callback::Change { timer_id, ok }) => self.answer_change(m, timer_id, ok).await,
            _ => Ok(None),
        }
    }

    /// [Va bene] or [Non posso] on a new date or time (the core asks whether the assignment
    /// is this mediator's).
    async fn answer_change(
        &self,
        m: &Mediator,
        timer_id: i64,
        ok: bool,
    ) -> Result<Option<Pre>, SinkError> {
        let actor = mediator_actor(m);
        let core = self.dispatcher.core().clone();
        let now = self.clock.now();
        let r = core_tx!(self, |tx| reschedule::answer(
            &core, tx, &actor, timer_id, ok, now
        )
        .await);
        let (text, request_id) = match r {
            Ok(reschedule::ChangeAnswer::Kept(req)) => (self.t("change_agreed"), Some(req.id)),
            Ok(reschedule::ChangeAnswer::Left(req)) => (self.t("change_declined"), Some(req.id)),
            Ok(reschedule::ChangeAnswer::Stale) => (self.t("change_stale"), None),
            Err(e) => return self.refused(e),
        };
        self.wake.notify_one();
        Ok(Some(Pre::Answer(text, request_id)))
    }

    /// [Accetto] or [Non posso] on an offer (the core asks whether it is this mediator's).
    async fn answer_offer(
        &self,
        m: &Mediator,
        offer_id: i64,
        accept: bool,
    ) -> Result<Option<Pre>, SinkError> {
        let actor = mediator_actor(m);
        let core = self.dispatcher.core().clone();
        let now = self.clock.now();
        if accept {
            let r = core_tx!(self, |tx| answer::accept(&core, tx, &actor, offer_id, now)
                .await);
            let (text, request_id) = match r {
                Ok(answer::Accepted::Won(a)) => (
                    self.tr("offer_won", &[("code", &a.request.code.to_string())]),
                    a.request.id,
                ),
                Ok(answer::Accepted::Taken { request_id }) => {
                    (self.t("offer_taken_short"), request_id)
                }
                Ok(answer::Accepted::Meeting { request, .. }) => (
                    self.tr("offer_won", &[("code", &request.code.to_string())]),
                    request.id,
                ),
                Err(AppError::Denied(_)) => {
                    return Ok(Some(Pre::Answer(self.t("not_authorized"), None)));
                }
                Err(e) => return Err(app_err(e)),
            };
            self.wake.notify_one();
            return Ok(Some(Pre::Answer(text, Some(request_id))));
        }
        let r = core_tx!(self, |tx| answer::decline(&core, tx, &actor, offer_id, now)
            .await);
        match r {
            Ok(true) => {
                // A reason may follow, with one tap.
                let buttons = vec![
                    DECLINE_REASONS
                        .iter()
                        .map(|r| Button {
                            text: self.t(&format!("decline_reason_{r}")),
                            data: format!("dr:{offer_id}:{r}"),
                        })
                        .collect(),
                ];
                self.wake.notify_one();
                Ok(Some(Pre::AnswerAndAsk(
                    self.t("offer_declined"),
                    self.t("decline_reason_question"),
                    buttons,
                )))
            }
            Ok(false) => {
                self.wake.notify_one();
                Ok(Some(Pre::Answer(self.t("offer_taken_short"), None)))
            }
            Err(AppError::Denied(_)) => Ok(Some(Pre::Answer(self.t("not_authorized"), None))),
            Err(e) => Err(app_err(e)),
        }
    }

    /// [Svolto] or [Non svolto] on an assignment.
    async fn report_outcome(
        &self,
        m: &Mediator,
        assignment_id: i64,
        done: bool,
    ) -> Result<Option<Pre>, SinkError> {
        let actor = mediator_actor(m);
        let core = self.dispatcher.core().clone();
        let now = self.clock.now();
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
        let ok = match r {
            Ok(ok) => ok,
            Err(e) => return self.refused(e),
        };
        if ok && done {
            // Then: how many hours, with buttons (the report bills them).
            let buttons = vec![
                WORKED_CHOICES
                    .iter()
                    .map(|min| Button {
                        text: self.tr("hours_button", &[("hours", &format_hours(*min))]),
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
        if ok && !done {
            // Then: who did not come (the family, the mediator).
            let (question, buttons) = self.no_show_question(assignment_id);
            self.wake.notify_one();
            return Ok(Some(Pre::AnswerAndAsk(
                self.t("outcome_not_done"),
                question,
                buttons,
            )));
        }
        let text = match (ok, done) {
            (true, true) => self.t("outcome_done"),
            (true, false) => self.t("outcome_not_done"),
            // Theirs (checked by the core), but already answered.
            (false, _) => self.t("expired_button"),
        };
        self.wake.notify_one();
        Ok(Some(Pre::Answer(text, None)))
    }

    /// `/nonposso CODICE N`: the series' mediator cannot come to meeting N; through the core
    /// (`app::series::release`) it is offered on its own to a colleague and the requester told.
    async fn release_meeting(
        &self,
        tx: &mut Tx,
        m: &Mediator,
        chat: i64,
        arg: &str,
        out: &mut Out,
    ) -> HResult {
        let code = crate::domain::RequestCode::find_in(arg);
        let number = code.and_then(|c| {
            arg.replacen(&c.to_string(), " ", 1)
                .split(|ch: char| !ch.is_ascii_digit())
                .find(|w| !w.is_empty())
                .and_then(|n| n.parse::<u32>().ok())
        });
        let (Some(code), Some(number)) = (code, number) else {
            self.say(out, chat, None, self.t("release_usage"), vec![]);
            return Ok(());
        };
        let c = code.to_string();
        let n = number.to_string();
        let Some(id) = tx.request_id_by_code(code).await? else {
            self.say(
                out,
                chat,
                None,
                self.tr("cancel_not_found", &[("code", &c)]),
                vec![],
            );
            return Ok(());
        };
        let now = self.clock.now();
        let done = crate::app::series::release(
            self.dispatcher.core(),
            tx,
            &mediator_actor(m),
            id,
            number,
            now,
        )
        .await;
        let text = match done {
            Ok(_) => {
                out.request_id = Some(id);
                self.wake.notify_one();
                self.tr("release_done", &[("code", &c), ("n", &n)])
            }
            Err(AppError::Denied(d)) => {
                tracing::warn!(denied = %d, "telegram: meeting release refused");
                self.tr("cancel_not_found", &[("code", &c)])
            }
            Err(AppError::NotASeries(_) | AppError::NoSuchMeeting { .. }) => {
                self.tr("release_no_meeting", &[("code", &c), ("n", &n)])
            }
            Err(AppError::Store(e)) => return Err(e),
            Err(e) => return Err(crate::store::StoreError::Conflict(e.to_string())),
        };
        self.say(out, chat, Some(id), text, vec![]);
        Ok(())
    }

    pub(super) async fn mediator(
        &self,
        tx: &mut Tx,
        incoming: &Incoming,
        m: &Mediator,
        chat: i64,
        out: &mut Out,
    ) -> HResult {
        match incoming {
            Incoming::Command { name, arg, .. } if name == "nonposso" => {
                self.release_meeting(tx, m, chat, arg, out).await
            }
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
                "ore" => {
                    // The mediator's own month: hours of the appointments done, as recorded.
                    let (from, to) =
                        crate::dispatch::report::month_of(self.clock.now(), self.cfg.tz);
                    let mine = self
                        .store
                        .mediator_months(from, to)
                        .await?
                        .remove(&m.id)
                        .unwrap_or_default();
                    let hours = format!("{}:{:02}", mine.minutes_done / 60, mine.minutes_done % 60);
                    let jobs = mine.jobs_done.to_string();
                    self.say(
                        out,
                        chat,
                        None,
                        self.tr("hours_this_month", &[("hours", &hours), ("jobs", &jobs)]),
                        vec![],
                    );
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
}
