//! How the bot's words are put together: prompts in the configured language
//! (`prompts/<lang>/telegram.toml` through [`super::texts`]), user text escaped for HTML
//! ([`super::html`]), buttons with their compact callback data ([`super::callback`]), the
//! summary of a draft, the lines of a list. Nothing here reads or writes the store.

use super::bot::{Out, TelegramBot};
use super::callback::{Callback, DraftAction};
use super::draft::{Draft, Field};
use super::html::escape;
use super::texts::render;
use crate::authz::Denied;
use crate::domain::{InterventionType, Modality};
use crate::outbox::{Button, Payload, TelegramPayload};
use chrono::{Duration, NaiveDate};

impl TelegramBot {
    pub(super) fn t(&self, key: &str) -> String {
        render(self.cfg.lang.as_str(), key, &[])
    }

    pub(super) fn tr(&self, key: &str, args: &[(&str, &str)]) -> String {
        render(self.cfg.lang.as_str(), key, args)
    }

    /// One line of a list of requests (`request_line`, `job_line`): code, day, time and
    /// language, plus the list's own `extra` placeholder.
    pub(super) fn list_line(
        &self,
        key: &str,
        r: &crate::store::Request,
        extra: (&str, &str),
    ) -> String {
        let code = r.code.to_string();
        let date = r
            .date
            .map(|d| d.format("%d/%m").to_string())
            .unwrap_or_default();
        let time = r
            .start_time
            .map(|t| t.format("%H:%M").to_string())
            .unwrap_or_default();
        let language = escape(
            &r.language
                .as_ref()
                .map(|l| crate::vocab::language(self.cfg.lang, l.as_str()))
                .unwrap_or_default(),
        );
        self.tr(
            key,
            &[
                ("code", &code),
                ("date", &date),
                ("time", &time),
                ("language", &language),
                extra,
            ],
        )
    }

    /// The sentence a refused button press is answered with.
    pub(super) fn denied_text(&self, d: Denied) -> String {
        match d {
            Denied::NotAccepted => self.t("details_after_acceptance"),
            _ => self.t("not_authorized"),
        }
    }

    pub(super) fn say(
        &self,
        out: &mut Out,
        chat_id: i64,
        request_id: Option<i64>,
        text: String,
        buttons: Vec<Vec<Button>>,
    ) {
        out.messages.push((
            request_id,
            Payload::Telegram(TelegramPayload {
                chat_id,
                text,
                buttons,
                edit_message_id: None,
                calendar: None,
                menu: None,
            }),
        ));
    }

    pub(super) fn button(&self, label_key: &str, cb: Callback) -> Option<Button> {
        self.button_text(self.t(label_key), cb)
    }

    pub(super) fn button_text(&self, text: String, cb: Callback) -> Option<Button> {
        match cb.encode() {
            Ok(data) => Some(Button { text, data }),
            Err(e) => {
                tracing::error!(error = %e, "callback data does not fit");
                None
            }
        }
    }

    pub(super) fn question_text(&self, field: Field) -> String {
        self.t(&format!("ask_{}", field.key()))
    }

    pub(super) fn field_buttons(
        &self,
        chat: i64,
        step: i64,
        field: Field,
        today: NaiveDate,
    ) -> Vec<Vec<Button>> {
        let pick = |label: String, value: &str| {
            self.button_text(
                label,
                Callback::Draft {
                    dialogue_id: chat,
                    step,
                    action: DraftAction::Pick(value.to_string()),
                },
            )
        };
        let rows: Vec<Vec<Option<Button>>> = match field {
            Field::Language => LANGUAGE_BUTTONS
                .chunks(4)
                .map(|c| {
                    c.iter()
                        .map(|code| pick(crate::vocab::language(self.cfg.lang, code), code))
                        .collect()
                })
                .collect(),
            Field::Type => ALL_TYPES
                .chunks(2)
                .map(|c| {
                    c.iter()
                        .map(|t| pick(self.t(&format!("type_{}", t.as_str())), t.as_str()))
                        .collect()
                })
                .collect(),
            Field::Modality => vec![
                [Modality::InPerson, Modality::Phone, Modality::Video]
                    .iter()
                    .map(|m| pick(self.t(&format!("modality_{}", m.as_str())), m.as_str()))
                    .collect(),
            ],
            Field::Date => vec![
                [
                    ("date_today", 0),
                    ("date_tomorrow", 1),
                    ("date_after_tomorrow", 2),
                ]
                .iter()
                .map(|(k, d)| pick(self.t(k), &(today + Duration::days(*d)).to_string()))
                .collect(),
            ],
            Field::Duration => vec![
                [60, 90, 120, 180]
                    .iter()
                    .map(|m| pick(self.t(&format!("dur_{m}")), &m.to_string()))
                    .collect(),
            ],
            Field::Time | Field::Comune | Field::SeriesEnd => vec![],
        };
        rows.into_iter()
            .map(|r| r.into_iter().flatten().collect::<Vec<_>>())
            .filter(|r| !r.is_empty())
            .collect()
    }

    /// What the bot understood, one line per known field; user text escaped.
    pub(super) fn summary(&self, d: &Draft) -> String {
        let mut lines = vec![self.t("summary_head")];
        let mut line = |field: &str, value: String| {
            lines.push(self.tr(
                "summary_line",
                &[
                    ("field", &self.t(&format!("field_{field}"))),
                    ("value", &value),
                ],
            ));
        };
        if let Some(l) = &d.language {
            line(
                "language",
                escape(&crate::vocab::language(self.cfg.lang, l.as_str())),
            );
        }
        if let Some(t) = d.intervention {
            line("type", self.t(&format!("type_{}", t.as_str())));
        }
        if let Some(x) = d.date {
            line("date", x.format("%d/%m/%Y").to_string());
        }
        if let Some(x) = d.time {
            line("time", x.format("%H:%M").to_string());
        }
        if let Some(x) = d.duration_minutes {
            line("duration", self.duration_text(x));
        }
        if let (Some(rule), Some(first), Some(time)) = (&d.recurrence, d.date, d.time) {
            let words = crate::app::words::Words::new(self.cfg.lang);
            line(
                "series",
                escape(&crate::app::sentence::rule_words(&words, rule, first, time)),
            );
        }
        if let Some(m) = d.modality {
            line("modality", self.t(&format!("modality_{}", m.as_str())));
        }
        if let Some(c) = &d.comune {
            line("comune", escape(c));
        }
        lines.join("\n")
    }

    pub(super) fn duration_text(&self, minutes: i64) -> String {
        match minutes {
            60 | 90 | 120 | 180 => self.t(&format!("dur_{minutes}")),
            m => self.tr("duration_minutes", &[("minutes", &m.to_string())]),
        }
    }
}

/// Minutes as hours for people: 90 -> "1,5".
pub(super) fn format_hours(minutes: i64) -> String {
    if minutes % 60 == 0 {
        (minutes / 60).to_string()
    } else {
        format!("{},{}", minutes / 60, (minutes % 60) * 10 / 60)
    }
}

/// The languages offered as quick-choice buttons (the ones most asked for in Bergamo), named
/// in the bot's language.
const LANGUAGE_BUTTONS: [&str; 8] = ["ar", "en", "fr", "ur", "bn", "sq", "ro", "zh"];

/// Every intervention type, in the order the buttons show them.
pub(super) const ALL_TYPES: [InterventionType; 8] = [
    InterventionType::Colloquio,
    InterventionType::VisitaDomiciliare,
    InterventionType::IncontroProtetto,
    InterventionType::Udienza,
    InterventionType::TraduzioneScritta,
    InterventionType::Riunione,
    InterventionType::Telefonata,
    InterventionType::Altro,
];
