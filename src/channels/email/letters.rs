//! The letters the email channel writes beyond the intake's short replies: the confirmation of
//! the assigned mediator, the message the whole product exists for. A real letter, in the
//! requester's thread: `Re: <original subject> [MED-..]` (Outlook groups conversations by
//! subject), a greeting, the appointment in words ("giovedì 11 marzo, 14:30", "arabo",
//! "colloquio"), the mediator's name with the words of the known gender, the phone when the
//! mediator shares it, how to change or cancel and the 24-hour rule, the cooperative's
//! signature (`[smtp] signature`).
//!
//! Pure: typed values in, text out, from `prompts/<lang>/email.toml`. The dispatcher puts the
//! result in the outbox payload it threads on the request's first message.

use super::replies::text;
use crate::config::Lang;
use crate::domain::Gender;
use crate::store::{Mediator, Request};
use crate::vocab;

/// Everything the confirmation letter says.
pub struct Confirmation<'a> {
    /// `it` or `en`.
    pub lang: &'a str,
    pub request: &'a Request,
    pub mediator: &'a Mediator,
    /// The cooperative's signature (`[smtp] signature`); a default line when not configured.
    pub signature: Option<&'a str>,
}

impl Confirmation<'_> {
    /// `Re: <original subject> [MED-..]`: the thread's own subject, with the code after it.
    pub fn subject(&self) -> String {
        let code = self.request.code.to_string();
        let rest =
            super::replies::strip_reply_prefixes(self.request.subject.as_deref().unwrap_or(""));
        let mut original = rest.replace(&format!("[{code}]"), "").trim().to_owned();
        if original.is_empty() {
            original = text(self.lang, "subject_default", &[]);
        }
        super::smtp::one_line(&format!("Re: {original} [{code}]"))
    }

    /// The letter.
    pub fn body(&self) -> String {
        let (lang, r, m) = (self.lang, self.request, self.mediator);
        let code = r.code.to_string();
        let greeting = match r.requester_name.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => text(lang, "letter_greeting_name", &[("name", name)]),
            _ => text(lang, "greeting", &[]),
        };
        let gender = match m.gender {
            Some(Gender::F) => "f",
            Some(Gender::M) => "m",
            None => "x",
        };
        let confirmed = text(
            lang,
            &format!("letter_confirmed_{gender}"),
            &[("mediator", &m.name), ("code", &code)],
        );
        let mut lines = Vec::new();
        if let Some(when) = when_in_words(lang, r) {
            lines.push(format!("- {}: {when}", text(lang, "letter_when", &[])));
        }
        let words = lang_of(lang);
        if let Some(l) = &r.language {
            let name = vocab::language(words, l.as_str());
            lines.push(format!("- {}: {name}", text(lang, "field_language", &[])));
        }
        let mut what = Vec::new();
        if let Some(i) = r.intervention {
            what.push(vocab::intervention(words, i));
        }
        if let Some(md) = r.modality {
            what.push(vocab::modality(words, md));
        }
        if !what.is_empty() {
            lines.push(format!(
                "- {}: {}",
                text(lang, "field_intervention", &[]),
                what.join(", ")
            ));
        }
        let place: Vec<&str> = [r.address.as_deref(), r.comune.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect();
        if !place.is_empty() {
            lines.push(format!(
                "- {}: {}",
                text(lang, "letter_place", &[]),
                place.join(", ")
            ));
        }
        let mut parts = vec![greeting, format!("{confirmed}\n\n{}", lines.join("\n"))];
        if m.share_phone
            && let Some(phone) = m.phone.as_deref().map(str::trim).filter(|p| !p.is_empty())
        {
            parts.push(text(
                lang,
                &format!("letter_phone_{gender}"),
                &[("mediator", &m.name), ("phone", phone)],
            ));
        }
        parts.push(text(lang, "letter_change", &[("code", &code)]));
        parts.push(text(lang, "letter_24h", &[]));
        let signature = match self.signature.map(str::trim) {
            Some(s) if !s.is_empty() => s.to_owned(),
            _ => text(lang, "letter_signature_default", &[]),
        };
        parts.push(signature);
        parts.join("\n\n")
    }
}

fn lang_of(lang: &str) -> Lang {
    Lang::from_code(lang)
}

/// "giovedì 11 marzo, 14:30" (with the duration when known), or "entro lunedì 15 marzo" for a
/// written translation.
pub fn when_in_words(lang: &str, r: &Request) -> Option<String> {
    let words = lang_of(lang);
    if let Some(date) = r.date {
        // a series: its meetings in words ("8 incontri, ogni settimana di martedì alle 15:00...")
        let mut s = match &r.series {
            Some(series) => {
                crate::app::sentence::series_words(&crate::app::words::Words::new(words), series)
            }
            None => vocab::date_time(words, date, r.start_time),
        };
        if let Some(minutes) = r.duration_minutes.filter(|m| *m > 0) {
            s.push_str(&format!(" ({})", duration_in_words(lang, minutes)));
        }
        return Some(s);
    }
    r.deadline.map(|d| {
        text(
            lang,
            "letter_deadline",
            &[("date", &vocab::date_long(words, d, false))],
        )
    })
}

/// "durata prevista 2 ore", "durata prevista 1 ora e 30 minuti", "durata prevista 45 minuti".
fn duration_in_words(lang: &str, minutes: i64) -> String {
    let (h, m) = (minutes / 60, minutes % 60);
    let hours = match h {
        0 => None,
        1 => Some(text(lang, "letter_one_hour", &[])),
        n => Some(text(lang, "letter_hours", &[("n", &n.to_string())])),
    };
    let mins = (m > 0).then(|| text(lang, "duration_minutes", &[("minutes", &m.to_string())]));
    let span = match (hours, mins) {
        (Some(h), Some(m)) => text(lang, "letter_and", &[("a", &h), ("b", &m)]),
        (Some(h), None) => h,
        (None, Some(m)) => m,
        (None, None) => String::new(),
    };
    text(lang, "letter_duration", &[("span", &span)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Ambito, Channel, InterventionType, LanguageCode, Modality, RequestCode};
    use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};

    fn request() -> Request {
        let now = Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap();
        Request {
            id: 1,
            code: RequestCode::parse("MED-2027-0042").unwrap(),
            status: crate::domain::RequestStatus::Assigned,
            channel: Channel::Email,
            operator_id: Some(1),
            requester_name: Some("Laura Bianchi".into()),
            requester_email: Some("laura@comune.example.it".into()),
            requester_phone: None,
            requester_chat_id: None,
            ente: None,
            ambito: Ambito::parse("Dalmine").ok(),
            language: LanguageCode::parse("ar").ok(),
            intervention: Some(InterventionType::Colloquio),
            modality: Some(Modality::InPerson),
            date: NaiveDate::from_ymd_opt(2027, 3, 11),
            start_time: NaiveTime::from_hms_opt(14, 30, 0),
            duration_minutes: Some(90),
            starts_at: None,
            ends_at: None,
            deadline: None,
            comune: Some("Dalmine".into()),
            comune_istat: None,
            address: Some("Via Roma 1".into()),
            urgent: false,
            mediator_gender: None,
            case_ref: None,
            notes: None,
            missing: vec![],
            draft: None,
            assigned_mediator_id: Some(7),
            late_cancellation: false,
            late_change: false,
            unfilled_notice_at: None,
            source_message_id: Some("orig@comune.example.it".into()),
            subject: Some("R: Richiesta mediatrice araba".into()),
            created_at: now,
            updated_at: now,
            queued_at: None,
            assigned_at: None,
            confirmed_at: None,
            closed_at: None,
            requester_language: None,
            series: None,
        }
    }

    fn mediator(gender: Option<Gender>, share_phone: bool) -> Mediator {
        Mediator {
            id: 7,
            name: "Fatima Zahra".into(),
            phone: Some("+39 333 1234567".into()),
            email: None,
            telegram_id: None,
            gender,
            languages: vec![],
            ambiti: vec![],
            availability: None,
            share_phone,
            active: true,
            paused: false,
            language: None,
        }
    }

    #[test]
    fn the_letter_says_it_in_words_with_the_known_gender() {
        let r = request();
        let f = mediator(Some(Gender::F), true);
        let letter = Confirmation {
            lang: "it",
            request: &r,
            mediator: &f,
            signature: Some("Cooperativa Esempio\ntel. 035 000000"),
        };
        assert_eq!(
            letter.subject(),
            "Re: Richiesta mediatrice araba [MED-2027-0042]"
        );
        let body = letter.body();
        for words in [
            "Buongiorno Laura Bianchi,",
            "la mediatrice Fatima Zahra è confermata",
            "giovedì 11 marzo, 14:30 (durata prevista 1 ora e 30 minuti)",
            "Lingua: arabo",
            "colloquio, in presenza",
            "Via Roma 1, Dalmine",
            "Può contattare la mediatrice Fatima Zahra al numero +39 333 1234567.",
            "24 ore",
            "annullo",
            "Cooperativa Esempio\ntel. 035 000000",
        ] {
            assert!(body.contains(words), "{words:?} not in:\n{body}");
        }
        let m = mediator(Some(Gender::M), false);
        let body = Confirmation {
            lang: "it",
            request: &r,
            mediator: &m,
            signature: None,
        }
        .body();
        assert!(
            body.contains("il mediatore Fatima Zahra è confermato"),
            "{body}"
        );
        assert!(!body.contains("+39"), "no phone unless shared: {body}");
        assert!(body.contains("Servizio di mediazione culturale"));
        let en = Confirmation {
            lang: "en",
            request: &r,
            mediator: &f,
            signature: None,
        }
        .body();
        assert!(en.contains("Thursday 11 March, 14:30"), "{en}");
        assert!(!en.contains("confermat"), "{en}");
    }
}
