//! The requester's evaluation on the bot, one criterion at a time (`[evaluation] criteria`):
//! each press of 1 to 5 carries the marks so far in its callback data (`e:<request>:<digits>`,
//! well under 64 bytes for nine criteria), so nothing is kept between presses; after the last
//! criterion the marks go to [`crate::app::evaluation`], which asks the table. A mark of 2 or
//! less asks for a comment, which the requester's next message gives.

use super::bot::{Person, Pre, TelegramBot, app_err};
use super::session::actor_of;
use super::sink::SinkError;
use crate::app::AppError;
use crate::app::evaluation;
use crate::app::sentence::{self, Answer};
use crate::outbox::Button;

impl TelegramBot {
    /// A press of a mark (`e:<request>:<marks so far>`).
    pub(super) async fn criterion_press(
        &self,
        p: &Person,
        data: &str,
        user_id: i64,
    ) -> Result<Option<Pre>, SinkError> {
        let parsed = data
            .strip_prefix("e:")
            .and_then(|rest| rest.split_once(':'))
            .and_then(|(id, marks)| {
                let id = id.parse::<i64>().ok()?;
                let scores: Option<Vec<i64>> = marks
                    .chars()
                    .map(|c| c.to_digit(10).map(i64::from))
                    .collect();
                Some((id, scores?))
            });
        let Some((request_id, scores)) = parsed.filter(|(_, s)| !s.is_empty()) else {
            return Ok(Some(Pre::Answer(self.t("evaluation_bad"), None)));
        };
        let core = self.dispatcher.core().clone();
        let criteria = core.settings.criteria.clone();
        let lang = self.cfg.lang;
        if scores.len() > criteria.len() || scores.iter().any(|s| !(1..=5).contains(s)) {
            return Ok(Some(Pre::Answer(self.t("evaluation_bad"), None)));
        }
        let actor = actor_of(p, user_id);
        let now = self.clock.now();
        if scores.len() < criteria.len() {
            // The next criterion, with the marks so far in its buttons. Whether this person
            // may evaluate is asked with the last mark (nothing is recorded before).
            let given: u64 = scores.iter().fold(0, |acc, s| acc * 10 + *s as u64);
            let n = scores.len() + 1;
            let question = self.tr(
                "ask_criterion",
                &[
                    (
                        "criterion",
                        &sentence::criterion_words(lang, &criteria[n - 1]),
                    ),
                    ("n", &n.to_string()),
                    ("count", &criteria.len().to_string()),
                ],
            );
            let buttons = vec![
                sentence::score_answers(lang, request_id, given)
                    .into_iter()
                    .filter_map(|(text, a)| match a {
                        Answer::Evaluate { request_id, scores } => Some(Button {
                            text,
                            data: format!("e:{request_id}:{scores}"),
                        }),
                        _ => None,
                    })
                    .collect(),
            ];
            return Ok(Some(Pre::AnswerAndAsk(
                scores.last().map(|s| s.to_string()).unwrap_or_default(),
                question,
                buttons,
            )));
        }
        let low = scores.iter().any(|s| *s <= 2);
        let r = if low {
            core_tx!(self, |tx| evaluation::hold_for_comment(
                &core, tx, &actor, request_id, &scores, user_id, now
            )
            .await)
        } else {
            core_tx!(self, |tx| evaluation::evaluate_criteria(
                &core, tx, &actor, request_id, &scores, None, now
            )
            .await)
        };
        match r {
            Ok(()) if low => Ok(Some(Pre::AnswerAndAsk(
                self.t("evaluation_bad_needs_comment_short"),
                self.t("ask_comment"),
                vec![],
            ))),
            Ok(()) => {
                let code = self
                    .store
                    .request_by_id(request_id)
                    .await
                    .map(|r| r.code.to_string())
                    .unwrap_or_default();
                Ok(Some(Pre::Answer(
                    self.tr("evaluation_thanks", &[("code", &code)]),
                    Some(request_id),
                )))
            }
            Err(AppError::Denied(d)) => Ok(Some(Pre::Answer(self.denied_text(d), None))),
            Err(AppError::BadScore(_) | AppError::BadScoreCount { .. }) => {
                Ok(Some(Pre::Answer(self.t("evaluation_bad"), None)))
            }
            Err(AppError::TooEarly(code) | AppError::WrongState { code, .. }) => {
                Ok(Some(Pre::Answer(
                    sentence::dispatch_text(
                        lang,
                        "evaluation_too_early",
                        &[("code", code.to_string())],
                    ),
                    None,
                )))
            }
            Err(e) => Err(app_err(e)),
        }
    }

    /// The requester's message after a low mark: the comment of the evaluation waiting for
    /// it; `None` when nothing was waiting (the message is handled as usual).
    pub(super) async fn evaluation_comment(
        &self,
        p: &Person,
        text: &str,
        user_id: i64,
    ) -> Result<Option<Pre>, SinkError> {
        match self.store.has_evaluation_draft(user_id).await {
            Ok(true) => {}
            Ok(false) => return Ok(None),
            Err(e) => return Err(super::bot::store_err(e)),
        }
        let core = self.dispatcher.core().clone();
        let actor = actor_of(p, user_id);
        let now = self.clock.now();
        let r = core_tx!(self, |tx| evaluation::comment(
            &core, tx, &actor, user_id, text, now
        )
        .await);
        match r {
            Ok(Some(code)) => Ok(Some(Pre::Reply(
                self.tr("evaluation_thanks", &[("code", &code.to_string())]),
                None,
                vec![],
            ))),
            Ok(None) => Ok(None),
            Err(AppError::Denied(d)) => Ok(Some(Pre::Reply(self.denied_text(d), None, vec![]))),
            Err(AppError::CommentNeeded(_)) => {
                Ok(Some(Pre::Reply(self.t("ask_comment"), None, vec![])))
            }
            Err(e) => Err(app_err(e)),
        }
    }
}
