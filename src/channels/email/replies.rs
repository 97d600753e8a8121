//! The automatic replies of the email channel, written from `prompts/<lang>/email.toml`
//! through the shared catalogue ([`crate::prompts`]).

use crate::config::Lang;
use crate::extract::Note;
use crate::prompts::{Prompts, t};
use crate::store::Request;

fn lang_of(lang: &str) -> Lang {
    Lang::from_code(lang)
}

/// The sentence `email.<key>` in `lang` (Italian unless `en`), with `{placeholders}` filled.
/// An unknown key (a field name the catalogue has no label for) comes back as the key itself.
pub fn text(lang: &str, key: &str, args: &[(&str, &str)]) -> String {
    let l = lang_of(lang);
    let full = format!("email.{key}");
    if Prompts::global().template(l, &full).is_none() {
        return key.trim_start_matches("field_").replace('_', " ");
    }
    t(l, &full, args)
}

/// An extractor note (`extract.<code>`) as a sentence.
pub fn note_text(lang: &str, note: &Note) -> String {
    let l = lang_of(lang);
    let key = format!("extract.{}", note.code);
    match Prompts::global().template(l, &key) {
        // Its values (weekdays, holidays, language names) in the reader's language too.
        Some(_) => crate::extract::messages::note_text(l.as_str(), note),
        None => note.code.replace('_', " "),
    }
}

/// "Lingua: ar" lines for what is known about the request.
pub fn understood_lines(lang: &str, r: &Request) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = |key: &str, value: String| {
        out.push(format!("- {}: {}", text(lang, key, &[]), value));
    };
    if let Some(l) = &r.language {
        // In the reader's words ("arabo", "Arabic"), as every renderer names languages.
        line(
            "field_language",
            crate::vocab::language(lang_of(lang), l.as_str()),
        );
    }
    if let Some(d) = r.date {
        line("field_date", d.format("%d/%m/%Y").to_string());
    }
    if let Some(t) = r.start_time {
        line("field_start", t.format("%H:%M").to_string());
    }
    if let Some(d) = r.deadline {
        line("field_deadline", d.format("%d/%m/%Y").to_string());
    }
    if let Some(m) = r.duration_minutes {
        let minutes = m.to_string();
        line(
            "field_duration",
            text(lang, "duration_minutes", &[("minutes", &minutes)]),
        );
    }
    if let Some(i) = r.intervention {
        line(
            "field_intervention",
            text(lang, &format!("intervention_{}", i.as_str()), &[]),
        );
    }
    if let Some(m) = r.modality {
        line(
            "field_modality",
            text(lang, &format!("modality_{}", m.as_str()), &[]),
        );
    }
    if let Some(c) = &r.comune {
        line("field_comune", c.clone());
    }
    if let Some(series) = &r.series {
        // "8 incontri, ogni settimana di martedì alle 15:00, da martedì 9 marzo a ..."
        let words = crate::app::words::Words::new(lang_of(lang));
        line(
            "field_series",
            crate::app::sentence::series_words(&words, series),
        );
    }
    out
}

/// The body of an acknowledgement (or update), with the extractor's warnings and the question
/// for missing fields.
pub fn ack_body(lang: &str, r: &Request, update: bool, notes: &[Note]) -> String {
    let code = r.code.to_string();
    let mut parts = vec![text(lang, "greeting", &[])];
    let intro = if update { "update_intro" } else { "ack_intro" };
    parts.push(text(lang, intro, &[("code", &code)]));
    let lines = understood_lines(lang, r);
    if !lines.is_empty() {
        parts.push(format!(
            "{}\n{}",
            text(lang, "ack_understood", &[]),
            lines.join("\n")
        ));
    }
    if !notes.is_empty() {
        let checks: Vec<String> = notes
            .iter()
            .map(|n| format!("- {}", note_text(lang, n)))
            .collect();
        parts.push(format!(
            "{}\n{}",
            text(lang, "ack_check", &[]),
            checks.join("\n")
        ));
    }
    if r.missing.is_empty() {
        parts.push(text(lang, "ack_complete", &[]));
    } else {
        let missing: Vec<String> = r
            .missing
            .iter()
            .map(|f| format!("- {}", text(lang, &format!("field_{f}"), &[])))
            .collect();
        parts.push(format!(
            "{}\n{}\n{}",
            text(lang, "question_missing", &[]),
            missing.join("\n"),
            text(lang, "question_how", &[])
        ));
    }
    parts.push(text(lang, "signature", &[("code", &code)]));
    parts.join("\n\n")
}

/// The body confirming a cancellation.
pub fn cancel_body(lang: &str, r: &Request) -> String {
    let code = r.code.to_string();
    [
        text(lang, "greeting", &[]),
        text(lang, "cancel_confirmed", &[("code", &code)]),
        text(lang, "signature", &[("code", &code)]),
    ]
    .join("\n\n")
}

/// The answer to a follow-up or cancellation from a known sender who is not the request's
/// requester (refused by [`crate::authz`]): nothing was changed.
/// A short answer on a request's thread: greeting, the sentence `email.<key>` (with the
/// request's `code` among its values), signature.
pub fn short_body(lang: &str, r: &Request, key: &str, args: &[(&str, &str)]) -> String {
    let code = r.code.to_string();
    let mut all: Vec<(&str, &str)> = vec![("code", &code)];
    all.extend_from_slice(args);
    [
        text(lang, "greeting", &[]),
        text(lang, key, &all),
        text(lang, "signature", &[("code", &code)]),
    ]
    .join("\n\n")
}

pub fn refused_body(lang: &str, r: &Request) -> String {
    let code = r.code.to_string();
    [
        text(lang, "greeting", &[]),
        text(lang, "refused_not_yours", &[("code", &code)]),
        text(lang, "signature", &[("code", &code)]),
    ]
    .join("\n\n")
}

/// A subject without its Re:/R:/I:/Fwd: prefixes, however many. One pass over a borrowed
/// slice: a subject of 60,000 "Re: " took a second when each prefix was cut from a fresh
/// lower-cased copy.
pub fn strip_reply_prefixes(subject: &str) -> &str {
    let mut rest = subject.trim();
    while let Some(n) = ["re:", "r:", "i:", "fw:", "fwd:", "rif:", "aw:", "sv:"]
        .iter()
        .find(|p| {
            rest.get(..p.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(p))
        })
        .map(|p| p.len())
    {
        rest = rest[n..].trim_start();
    }
    rest
}

/// `Re: [CODE] subject`, without piling up Re:/R:/I:/Fwd: prefixes or an old code.
pub fn reply_subject(lang: &str, code: &str, original: Option<&str>) -> String {
    let mut s = strip_reply_prefixes(original.unwrap_or("")).to_owned();
    if let Some(found) = crate::domain::RequestCode::find_in(&s) {
        let tag = format!("[{found}]");
        s = s.replace(&tag, "").trim().to_owned();
    }
    if s.is_empty() {
        s = text(lang, "subject_default", &[]);
    }
    super::smtp::one_line(&format!("Re: [{code}] {s}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_load_in_both_languages() {
        assert!(text("it", "ack_intro", &[("code", "MED-2027-0001")]).contains("MED-2027-0001"));
        assert!(text("en", "ack_intro", &[("code", "X")]).starts_with("we have received"));
        assert_eq!(text("it", "field_language", &[]), "Lingua");
    }

    #[test]
    fn subjects_do_not_pile_up() {
        assert_eq!(
            reply_subject(
                "it",
                "MED-2027-0001",
                Some("R: Re: [MED-2027-0001] Richiesta araba")
            ),
            "Re: [MED-2027-0001] Richiesta araba"
        );
        assert_eq!(
            reply_subject("it", "MED-2027-0002", None),
            "Re: [MED-2027-0002] Richiesta di mediazione"
        );
    }
}
