//! The mediator's side: answers to offers ([Accetto]/[Non posso], with a reason), the outcome
//! of an appointment and the hours worked, `/pausa`, `/disponibile`, `/miei`. Every press is
//! authorised again on arrival: the offer or the assignment must be this mediator's.

use super::bot::{HResult, Out, Pre, TelegramBot, dispatch_err, store_err};
use super::callback::Callback;
use super::html::escape;
use super::render::format_hours;
use super::session::mediator_actor;
use super::sink::SinkError;
use super::updates::Incoming;
use crate::authz::{Action, Denied, RequestFacts, authorize};
use crate::dispatch::engine::AcceptOutcome;
use crate::outbox::Button;
use crate::store::{Mediator, RequestFilter, Tx};

/// The reasons a mediator can give, with one tap, for declining an offer.
const DECLINE_REASONS: [&str; 4] = ["busy", "far", "language", "other"];

/// The choices offered for the hours actually worked, in minutes.
const WORKED_CHOICES: [i64; 6] = [60, 90, 120, 180, 240, 360];

impl TelegramBot {
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

    /// Why an offer was declined (it helps the coordinator plan).
    pub(super) async fn decline_reason(
        &self,
        m: &Mediator,
        data: &str,
    ) -> Result<Option<Pre>, SinkError> {
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
            _ => Ok(None),
        }
    }

    /// [Accetto] or [Non posso] on an offer.
    async fn answer_offer(
        &self,
        m: &Mediator,
        offer_id: i64,
        accept: bool,
    ) -> Result<Option<Pre>, SinkError> {
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

    /// [Svolto] or [Non svolto] on an assignment.
    async fn report_outcome(
        &self,
        m: &Mediator,
        assignment_id: i64,
        done: bool,
    ) -> Result<Option<Pre>, SinkError> {
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
        let text = match (ok, done) {
            (true, true) => self.t("outcome_done"),
            (true, false) => self.t("outcome_not_done"),
            // Theirs (checked above), but already answered.
            (false, _) => self.t("expired_button"),
        };
        self.wake.notify_one();
        Ok(Some(Pre::Answer(text, None)))
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
}
