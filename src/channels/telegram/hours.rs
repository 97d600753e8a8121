//! The account of an appointment on the bot: [Confermo] or another figure on the hours question
//! the core sent the requester after the mediator recorded the hours, a coordinator's figure to
//! bill on a dispute ([`crate::app::account`]), and after [Non svolto] who did not come
//! ([`crate::app::outcome::no_show`]). Each use case asks the table whether the presser may.

use super::bot::{Person, Pre, TelegramBot, app_err};
use super::callback::{Callback, HoursPress, NoShowPress};
use super::session::actor_of;
use super::sink::SinkError;
use crate::app::AppError;
use crate::app::account::{self, Answered, HoursAnswer};
use crate::app::words::Words;

impl TelegramBot {
    /// A press on an hours question (`h:...`), by whoever is writing.
    pub(super) async fn hours_press(
        &self,
        p: &Person,
        data: &str,
        user_id: i64,
    ) -> Result<Option<Pre>, SinkError> {
        let Ok(Callback::Hours {
            assignment_id,
            answer,
        }) = Callback::parse(data)
        else {
            return Ok(Some(Pre::Answer(self.t("not_authorized"), None)));
        };
        let actor = actor_of(p, user_id);
        let core = self.dispatcher.core().clone();
        let now = self.clock.now();
        let words = Words::new(self.cfg.lang);
        let text = match answer {
            HoursPress::Confirm | HoursPress::Other(_) => {
                let a = match answer {
                    HoursPress::Other(m) => HoursAnswer::Other(m),
                    _ => HoursAnswer::Confirm,
                };
                let r = core_tx!(self, |tx| account::answer(
                    &core,
                    tx,
                    &actor,
                    assignment_id,
                    a,
                    now
                )
                .await);
                match r {
                    Ok(Answered::Confirmed { minutes }) => {
                        self.tr("hours_confirmed", &[("hours", &words.duration(minutes))])
                    }
                    Ok(Answered::Disputed { requester, .. }) => self.tr(
                        "hours_dispute_open",
                        &[("hours", &words.duration(requester))],
                    ),
                    Ok(Answered::Closed(_) | Answered::NotAsked) => {
                        self.t("hours_already_answered")
                    }
                    Err(AppError::BadHours(_)) => self.t("hours_bad_figure"),
                    Err(AppError::Denied(d)) => self.denied_text(d),
                    Err(e) => return Err(app_err(e)),
                }
            }
            HoursPress::Settle(minutes) => {
                let r = core_tx!(self, |tx| account::settle(
                    &core,
                    tx,
                    &actor,
                    assignment_id,
                    minutes,
                    now
                )
                .await);
                match r {
                    Ok(true) => self.tr("hours_settled", &[("hours", &words.duration(minutes))]),
                    Ok(false) => self.t("hours_already_answered"),
                    Err(AppError::BadHours(_)) => self.t("hours_bad_figure"),
                    Err(AppError::Denied(d)) => self.denied_text(d),
                    Err(e) => return Err(app_err(e)),
                }
            }
        };
        Ok(Some(Pre::Answer(text, None)))
    }

    /// [La famiglia non è venuta] / [Il mediatore non è venuto], after [Non svolto].
    pub(super) async fn no_show_press(
        &self,
        p: &Person,
        data: &str,
        user_id: i64,
    ) -> Result<Option<Pre>, SinkError> {
        let Some(press) = NoShowPress::parse(data) else {
            return Ok(Some(Pre::Answer(self.t("not_authorized"), None)));
        };
        let actor = actor_of(p, user_id);
        let now = self.clock.now();
        let r = core_tx!(self, |tx| crate::app::outcome::no_show(
            tx,
            &actor,
            press.assignment_id,
            press.who,
            now
        )
        .await);
        let text = match r {
            Ok(true) => self.t("no_show_saved"),
            Ok(false) => self.t("expired_button"),
            Err(AppError::Denied(d)) => self.denied_text(d),
            Err(e) => return Err(app_err(e)),
        };
        Ok(Some(Pre::Answer(text, None)))
    }

    /// The question after [Non svolto]: who did not come, one tap each.
    pub(super) fn no_show_question(
        &self,
        assignment_id: i64,
    ) -> (String, Vec<Vec<crate::outbox::Button>>) {
        let buttons = vec![
            crate::domain::NoShow::ALL
                .iter()
                .map(|who| crate::outbox::Button {
                    text: self.t(&format!("no_show_{who}")),
                    data: NoShowPress {
                        assignment_id,
                        who: *who,
                    }
                    .data(),
                })
                .collect(),
        ];
        (self.t("no_show_question"), buttons)
    }
}
