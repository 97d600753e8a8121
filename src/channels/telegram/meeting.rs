//! One meeting of a series reported on the bot, by whoever held it (or a coordinator):
//! [Svolto] / [Non svolto] on the question after the meeting (`mdone:ID`, `mnot:ID`), then the
//! hours worked (`mhrs:ID:MIN`) or who did not come (`mns:ID:f|m`). Each goes through
//! [`crate::app::meetings`], which asks the table whether the presser holds that meeting.

use super::bot::{Person, Pre, TelegramBot, app_err};
use super::callback::Callback;
use super::render::format_hours;
use super::session::actor_of;
use super::sink::SinkError;
use crate::app::AppError;
use crate::app::meetings::{self, MeetingReport, Recorded};
use crate::app::outcome::WORKED_CHOICES;
use crate::domain::NoShow;
use crate::outbox::Button;

/// Whether `data` is a press on a meeting's report.
pub(super) fn is_meeting_press(data: &str) -> bool {
    ["mdone:", "mnot:", "mhrs:", "mns:"]
        .iter()
        .any(|p| data.starts_with(p))
}

impl TelegramBot {
    /// A press on a meeting's report, by whoever is writing.
    pub(super) async fn meeting_press(
        &self,
        p: &Person,
        data: &str,
        user_id: i64,
    ) -> Result<Option<Pre>, SinkError> {
        let actor = actor_of(p, user_id);
        let core = self.dispatcher.core().clone();
        let now = self.clock.now();
        if let Ok(Callback::MeetingOutcome {
            occurrence_id,
            done,
        }) = Callback::parse(data)
        {
            let r = core_tx!(self, |tx| async {
                let Some((req, o)) = meetings::meeting(tx, occurrence_id).await? else {
                    return Ok(None);
                };
                let report = MeetingReport {
                    done,
                    worked_minutes: None,
                    no_show: None,
                };
                meetings::record(&core, tx, &actor, req.id, o.seq, report, now)
                    .await
                    .map(Some)
            }
            .await);
            self.wake.notify_one();
            return match r {
                Ok(Some(Recorded::Yes { .. })) if done => Ok(Some(Pre::AnswerAndAsk(
                    self.t("outcome_done"),
                    self.t("hours_question"),
                    vec![
                        WORKED_CHOICES
                            .iter()
                            .map(|min| Button {
                                text: self.tr("hours_button", &[("hours", &format_hours(*min))]),
                                data: format!("mhrs:{occurrence_id}:{min}"),
                            })
                            .collect(),
                    ],
                ))),
                Ok(Some(Recorded::Yes { .. })) => Ok(Some(Pre::AnswerAndAsk(
                    self.t("outcome_not_done"),
                    self.t("no_show_question"),
                    vec![
                        NoShow::ALL
                            .iter()
                            .map(|who| Button {
                                text: self.t(&format!("no_show_{who}")),
                                data: format!(
                                    "mns:{occurrence_id}:{}",
                                    if *who == NoShow::Family { "f" } else { "m" }
                                ),
                            })
                            .collect(),
                    ],
                ))),
                Ok(Some(Recorded::Already) | None) | Err(AppError::NoSuchMeeting { .. }) => {
                    Ok(Some(Pre::Answer(self.t("expired_button"), None)))
                }
                Err(AppError::Denied(d)) => Ok(Some(Pre::Answer(self.denied_text(d), None))),
                Err(e) => Err(app_err(e)),
            };
        }
        let parsed = parse_follow_up(data);
        let Some((occurrence_id, minutes, no_show)) = parsed else {
            return Ok(Some(Pre::Answer(self.t("not_authorized"), None)));
        };
        let r = core_tx!(self, |tx| meetings::complete(
            &core,
            tx,
            &actor,
            occurrence_id,
            minutes,
            no_show,
            now
        )
        .await);
        let text = match (r, minutes) {
            (Ok(true), Some(m)) => self.tr("hours_saved", &[("hours", &format_hours(m))]),
            (Ok(true), None) => self.t("no_show_saved"),
            (Ok(false), _) => self.t("expired_button"),
            (Err(AppError::Denied(d)), _) => self.denied_text(d),
            (Err(e), _) => return Err(app_err(e)),
        };
        Ok(Some(Pre::Answer(text, None)))
    }
}

/// `mhrs:ID:MIN` (one of the offered figures) or `mns:ID:f|m`; anything else is `None`.
fn parse_follow_up(data: &str) -> Option<(i64, Option<i64>, Option<NoShow>)> {
    if let Some(rest) = data.strip_prefix("mhrs:") {
        let (id, min) = rest.split_once(':')?;
        let min = min
            .parse::<i64>()
            .ok()
            .filter(|m| WORKED_CHOICES.contains(m))?;
        return Some((id.parse().ok().filter(|i: &i64| *i >= 0)?, Some(min), None));
    }
    let (id, w) = data.strip_prefix("mns:")?.split_once(':')?;
    let who = match w {
        "f" => NoShow::Family,
        "m" => NoShow::Mediator,
        _ => return None,
    };
    Some((id.parse().ok().filter(|i: &i64| *i >= 0)?, None, Some(who)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follow_up_presses_are_read_without_trusting_them() {
        assert_eq!(parse_follow_up("mhrs:12:90"), Some((12, Some(90), None)));
        assert_eq!(
            parse_follow_up("mns:12:f"),
            Some((12, None, Some(NoShow::Family)))
        );
        for bad in [
            "mhrs:12:7",
            "mhrs:-1:60",
            "mhrs:12",
            "mns:12:x",
            "mns::f",
            "hrs:1:60",
        ] {
            assert_eq!(parse_follow_up(bad), None, "{bad}");
        }
        assert!(is_meeting_press("mdone:3") && !is_meeting_press("done:3"));
    }
}
