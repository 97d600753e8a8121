//! The Telegram renderer of the core's notices (`crate::app::notice`): the sentence in the
//! recipient's language with every value HTML-escaped, answers as inline buttons through the
//! callback codec, edits of delivered offers. This is what production sends; tests read it.
//!
//! Offers broadcast to mediators show only language, date, time, duration, comune, type and
//! modality ([`OfferView`]): nothing that identifies the family or the requester.

use super::callback::{Callback, HoursPress};
use super::html::escape;
use crate::app::notice::{self, Notice};
use crate::app::sentence::{self, Answer, Sentence};
use crate::config::Lang;
use crate::domain::RequestCode;
use crate::ics::Host;
use crate::outbox::{Button, TelegramPayload};

pub use crate::app::sentence::OfferView;

fn lang_of(code: &str) -> Lang {
    Lang::from_code(code)
}

/// The callback data of an answer (every one fits the 64-byte limit).
fn callback_data(a: Answer) -> Option<String> {
    let cb = match a {
        Answer::Accept { offer_id } => Callback::Offer {
            offer_id,
            accept: true,
        },
        Answer::Decline { offer_id } => Callback::Offer {
            offer_id,
            accept: false,
        },
        Answer::Done { assignment_id } => Callback::Outcome {
            assignment_id,
            done: true,
        },
        Answer::NotDone { assignment_id } => Callback::Outcome {
            assignment_id,
            done: false,
        },
        Answer::MeetingDone { occurrence_id } => Callback::MeetingOutcome {
            occurrence_id,
            done: true,
        },
        Answer::MeetingNotDone { occurrence_id } => Callback::MeetingOutcome {
            occurrence_id,
            done: false,
        },
        Answer::Change { timer_id, ok } => Callback::Change { timer_id, ok },
        // The bot reads `e:<request>:<marks so far>` (`telegram::evaluation`).
        Answer::Evaluate { request_id, scores } => return Some(format!("e:{request_id}:{scores}")),
        Answer::ConfirmHours { assignment_id } => Callback::Hours {
            assignment_id,
            answer: HoursPress::Confirm,
        },
        Answer::OtherHours {
            assignment_id,
            minutes,
        } => Callback::Hours {
            assignment_id,
            answer: HoursPress::Other(minutes),
        },
        Answer::SettleHours {
            assignment_id,
            minutes,
        } => Callback::Hours {
            assignment_id,
            answer: HoursPress::Settle(minutes),
        },
    };
    cb.encode().ok()
}

/// A sentence as a Telegram message: values escaped, answers as buttons.
pub fn payload(chat_id: i64, s: &Sentence, edit_message_id: Option<i64>) -> TelegramPayload {
    let buttons = s
        .answers
        .iter()
        .map(|row| {
            row.iter()
                .filter_map(|(label, a)| {
                    callback_data(*a).map(|data| Button {
                        text: label.clone(),
                        data,
                    })
                })
                .collect::<Vec<_>>()
        })
        .filter(|row| !row.is_empty())
        .collect();
    TelegramPayload {
        chat_id,
        text: s.text_with(escape),
        buttons,
        edit_message_id,
        calendar: None,
        menu: None,
    }
}

/// The Telegram channel's renderer, as the core's port ([`crate::app::notice::TelegramRenderer`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Render;

impl crate::app::notice::TelegramRenderer for Render {
    fn render(&self, lang: Lang, chat_id: i64, host: Host<'_>, n: &Notice) -> TelegramPayload {
        notice(lang, chat_id, host, n)
    }
}

/// The Telegram message of a notice, in `lang`. The details for the mediator who got the job
/// and the requester's confirmation carry the appointment as an `.ics` document (`host`: the
/// invitations' organizer; without one, a plain event), and so do a change of it and its
/// cancellation (`CANCEL`); offers never do.
pub fn notice(lang: Lang, chat_id: i64, host: Host<'_>, n: &Notice) -> TelegramPayload {
    let edit = match n {
        Notice::Withdrawal {
            edit_message_id, ..
        } => *edit_message_id,
        _ => None,
    };
    let mut p = payload(chat_id, &sentence::sentence(lang, n), edit);
    p.calendar = notice::calendar(lang, host, n);
    p
}

/// The offer to one mediator, with [Accetto] [Non posso].
pub fn offer(lang: &str, chat_id: i64, offer_id: i64, v: &OfferView) -> TelegramPayload {
    payload(
        chat_id,
        &sentence::offer_sentence(lang_of(lang), offer_id, v),
        None,
    )
}

/// Edits an offer message of someone who did not win it: "già assegnata", no buttons.
pub fn offer_taken(
    lang: &str,
    chat_id: i64,
    message_id: i64,
    code: &RequestCode,
) -> TelegramPayload {
    TelegramPayload {
        chat_id,
        text: sentence::dispatch_text(
            lang_of(lang),
            "offer_withdrawn",
            &[("code", code.to_string())],
        ),
        buttons: vec![],
        edit_message_id: Some(message_id),
        calendar: None,
        menu: None,
    }
}

/// After the appointment: [Svolto] [Non svolto] (the same buttons as the production question).
pub fn outcome_question(
    lang: &str,
    chat_id: i64,
    assignment_id: i64,
    code: &RequestCode,
) -> TelegramPayload {
    let l = lang_of(lang);
    let s = Sentence {
        lang: l,
        key: "ask_done",
        args: vec![
            ("code", code.to_string()),
            ("when", crate::app::words::Words::new(l).unknown()),
        ],
        subject_key: "notice_subject",
        subject_args: vec![("code", code.to_string())],
        answers: vec![vec![
            (
                sentence::dispatch_text(l, "ask_done_yes", &[]),
                Answer::Done { assignment_id },
            ),
            (
                sentence::dispatch_text(l, "ask_done_no", &[]),
                Answer::NotDone { assignment_id },
            ),
        ]],
    };
    payload(chat_id, &s, None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{InterventionType, LanguageCode, Modality};
    use chrono::{NaiveDate, NaiveTime};

    #[test]
    fn an_offer_shows_only_what_may_be_broadcast_in_words() {
        let v = OfferView {
            code: RequestCode::new(2027, 42),
            language: LanguageCode::parse("ar").unwrap(),
            date: NaiveDate::from_ymd_opt(2027, 3, 11).unwrap(),
            time: NaiveTime::from_hms_opt(14, 30, 0),
            duration_minutes: Some(120),
            comune: Some("Dalmine".into()),
            intervention: InterventionType::VisitaDomiciliare,
            modality: Modality::InPerson,
        };
        let p = offer("it", 5, 77, &v);
        assert!(p.text.contains("MED-2027-0042"), "{}", p.text);
        assert!(
            p.text.contains("Lingua: arabo") && p.text.contains("giovedì 11 marzo, 14:30"),
            "{}",
            p.text
        );
        assert!(
            p.text.contains("Dalmine") && p.text.contains("visita domiciliare, in presenza"),
            "{}",
            p.text
        );
        assert!(p.text.contains("2 ore"), "{}", p.text);
        let labels: Vec<_> = p.buttons[0]
            .iter()
            .map(|b| (b.text.as_str(), b.data.as_str()))
            .collect();
        assert_eq!(labels, vec![("Accetto", "acc:77"), ("Non posso", "dec:77")]);
        let en = offer("en", 5, 77, &v);
        assert!(
            en.text.contains("Arabic") && en.text.contains("home visit, in person"),
            "{}",
            en.text
        );
        let q = outcome_question("it", 5, 9, &v.code);
        let labels: Vec<_> = q.buttons[0].iter().map(|b| b.text.as_str()).collect();
        assert_eq!(labels, vec!["Svolto", "Non svolto"]);
        assert_eq!(offer_taken("it", 5, 3, &v.code).edit_message_id, Some(3));
    }
}
