//! The automatic replies of the email channel, written from `prompts/<lang>/email.toml`.
//!
//! The shared prompt loader (`crate::prompts`, lead) is not in main yet: [`text`] is the one
//! call site to swap for `Prompts::render(lang, "email.<key>", args)`.

use std::collections::HashMap;
use std::sync::LazyLock;

use crate::store::Request;

static IT: LazyLock<HashMap<String, String>> =
    LazyLock::new(|| load(include_str!("../../../prompts/it/email.toml")));
static EN: LazyLock<HashMap<String, String>> =
    LazyLock::new(|| load(include_str!("../../../prompts/en/email.toml")));

fn load(src: &str) -> HashMap<String, String> {
    toml::from_str(src).unwrap_or_default()
}

/// The sentence `key` in `lang` (Italian when the language or key is unknown), with
/// `{placeholders}` filled.
pub fn text(lang: &str, key: &str, args: &[(&str, &str)]) -> String {
    let table = if lang == "en" { &*EN } else { &*IT };
    let raw = table
        .get(key)
        .or_else(|| IT.get(key))
        .cloned()
        .unwrap_or_else(|| key.to_owned());
    args.iter().fold(raw, |acc, (name, value)| {
        acc.replace(&format!("{{{name}}}"), value)
    })
}

/// "Lingua: ar" lines for what is known about the request.
pub fn understood_lines(lang: &str, r: &Request) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = |key: &str, value: String| {
        out.push(format!("- {}: {}", text(lang, key, &[]), value));
    };
    if let Some(l) = &r.language {
        line("field_language", l.as_str().to_owned());
    }
    if let Some(d) = r.date {
        line("field_date", d.format("%d/%m/%Y").to_string());
    }
    if let Some(t) = r.start_time {
        line("field_start_time", t.format("%H:%M").to_string());
    }
    if let Some(m) = r.duration_minutes {
        let minutes = m.to_string();
        line(
            "field_duration",
            text(lang, "duration_minutes", &[("minutes", &minutes)]),
        );
    }
    if let Some(i) = r.intervention {
        line("field_intervention", i.as_str().replace('_', " "));
    }
    if let Some(m) = r.modality {
        line("field_modality", m.as_str().replace('_', " "));
    }
    if let Some(c) = &r.comune {
        line("field_comune", c.clone());
    }
    out
}

/// The body of an acknowledgement (or update), with the question for missing fields.
pub fn ack_body(lang: &str, r: &Request, update: bool) -> String {
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

/// `Re: [CODE] subject`, without piling up Re:/R:/I:/Fwd: prefixes or an old code.
pub fn reply_subject(lang: &str, code: &str, original: Option<&str>) -> String {
    let mut s = original.unwrap_or("").trim().to_owned();
    loop {
        let lower = s.to_lowercase();
        let cut = ["re:", "r:", "i:", "fw:", "fwd:", "rif:", "aw:", "sv:"]
            .iter()
            .find(|p| lower.starts_with(*p))
            .map(|p| p.len());
        match cut {
            Some(n) => s = s[n..].trim_start().to_owned(),
            None => break,
        }
    }
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
