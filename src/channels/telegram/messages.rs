//! Ready-made Telegram payloads that other parts of connecting queue in the outbox: the offer
//! to mediators (only language, date, time, duration, comune, type, modality — nothing that
//! identifies the family or the requester), the "già assegnata" edit, and the outcome question
//! after an appointment. Dispatch calls these; the texts live in prompts/*/telegram.toml.

use super::callback::Callback;
use super::draft::language_name;
use super::html::escape;
use super::texts::render;
use crate::domain::{InterventionType, LanguageCode, Modality, RequestCode};
use crate::outbox::{Button, TelegramPayload};
use chrono::{NaiveDate, NaiveTime};

/// What an offer may show: the data-protection rule is in the type.
#[derive(Debug, Clone, PartialEq)]
pub struct OfferView {
    pub code: RequestCode,
    pub language: LanguageCode,
    pub date: NaiveDate,
    pub time: Option<NaiveTime>,
    pub duration_minutes: Option<i64>,
    pub comune: Option<String>,
    pub intervention: InterventionType,
    pub modality: Modality,
}

fn button(lang: &str, key: &str, cb: Callback) -> Option<Button> {
    cb.encode().ok().map(|data| Button {
        text: render(lang, key, &[]),
        data,
    })
}

fn duration(lang: &str, minutes: Option<i64>) -> String {
    match minutes {
        Some(m @ (60 | 90 | 120 | 180)) => render(lang, &format!("dur_{m}"), &[]),
        Some(m) => render(lang, "duration_minutes", &[("minutes", &m.to_string())]),
        None => "-".into(),
    }
}

/// The offer to one mediator, with [Accetto] [Non posso].
pub fn offer(lang: &str, chat_id: i64, offer_id: i64, v: &OfferView) -> TelegramPayload {
    let text = render(
        lang,
        "offer",
        &[
            ("code", &v.code.to_string()),
            ("language", &escape(&language_name(&v.language))),
            ("date", &v.date.format("%d/%m/%Y").to_string()),
            (
                "time",
                &v.time
                    .map(|t| t.format("%H:%M").to_string())
                    .unwrap_or_else(|| "-".into()),
            ),
            ("duration", &duration(lang, v.duration_minutes)),
            ("comune", &escape(v.comune.as_deref().unwrap_or("-"))),
            (
                "type",
                &render(lang, &format!("type_{}", v.intervention.as_str()), &[]),
            ),
            (
                "modality",
                &render(lang, &format!("modality_{}", v.modality.as_str()), &[]),
            ),
        ],
    );
    let row: Vec<Button> = [
        button(
            lang,
            "btn_accept",
            Callback::Offer {
                offer_id,
                accept: true,
            },
        ),
        button(
            lang,
            "btn_decline",
            Callback::Offer {
                offer_id,
                accept: false,
            },
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    TelegramPayload {
        chat_id,
        text,
        buttons: vec![row],
        edit_message_id: None,
    }
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
        text: render(lang, "offer_taken", &[("code", &code.to_string())]),
        buttons: vec![],
        edit_message_id: Some(message_id),
    }
}

/// After the appointment: [Svolto] [Non svolto].
pub fn outcome_question(
    lang: &str,
    chat_id: i64,
    assignment_id: i64,
    code: &RequestCode,
) -> TelegramPayload {
    let row: Vec<Button> = [
        button(
            lang,
            "btn_done",
            Callback::Outcome {
                assignment_id,
                done: true,
            },
        ),
        button(
            lang,
            "btn_not_done",
            Callback::Outcome {
                assignment_id,
                done: false,
            },
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    TelegramPayload {
        chat_id,
        text: render(lang, "outcome_question", &[("code", &code.to_string())]),
        buttons: vec![row],
        edit_message_id: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offer_shows_only_what_may_be_broadcast() {
        let v = OfferView {
            code: RequestCode::new(2027, 42),
            language: LanguageCode::parse("ar").unwrap(),
            date: NaiveDate::from_ymd_opt(2027, 3, 12).unwrap(),
            time: NaiveTime::from_hms_opt(14, 30, 0),
            duration_minutes: Some(120),
            comune: Some("Dalmine".into()),
            intervention: InterventionType::Colloquio,
            modality: Modality::InPerson,
        };
        let p = offer("it", 5, 77, &v);
        assert!(p.text.contains("MED-2027-0042"), "{}", p.text);
        assert!(
            p.text.contains("arabo") && p.text.contains("12/03/2027 ore 14:30"),
            "{}",
            p.text
        );
        assert!(
            p.text.contains("Dalmine") && p.text.contains("Colloquio, In presenza"),
            "{}",
            p.text
        );
        let labels: Vec<_> = p.buttons[0]
            .iter()
            .map(|b| (b.text.as_str(), b.data.as_str()))
            .collect();
        assert_eq!(labels, vec![("Accetto", "acc:77"), ("Non posso", "dec:77")]);
        let q = outcome_question("it", 5, 9, &v.code);
        let labels: Vec<_> = q.buttons[0].iter().map(|b| b.text.as_str()).collect();
        assert_eq!(labels, vec!["Svolto", "Non svolto"]);
        assert_eq!(offer_taken("it", 5, 3, &v.code).edit_message_id, Some(3));
    }
}
