//! Learning from corrections: when a person corrects what the extractor read (an operator's
//! Modifica in the bot, a follow-up e-mail, a coordinator), the pair (text, corrected fields)
//! is kept so that accuracy can be measured on real traffic. Before it is kept, the text loses
//! names, phone numbers, e-mail and street addresses, and the fields lose the requester and the
//! address. Pure code: the store persists a [`CorrectionPair`].

use chrono::{DateTime, Utc};
use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

use super::eval::{FIELDS, field};
use super::{Context, RequestDraft, fields, places, to_parse_json};
use crate::domain::Channel;

/// Fields never kept with a correction (personal data).
const PERSONAL: &[&str] = &[
    "requester.name",
    "requester.email",
    "requester.phone",
    "address",
];

/// A text and the fields as a person corrected them, ready to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrectionPair {
    /// The text as the extractor read it, with personal data replaced by `[nome]`,
    /// `[telefono]`, `[email]`, `[indirizzo]`.
    pub text: String,
    pub channel: Channel,
    /// The reference time the text was read at (for "domani", "giovedì").
    pub read_at: DateTime<Utc>,
    /// The corrected fields in the `connecting parse` shape, without requester and address.
    pub expected: Value,
    /// The fields the correction changed.
    pub corrected: Vec<String>,
}

/// What a later message changed of what was read: `before` with the values of `after` only
/// for the fields `before` had read (a field the first text did not state and a follow-up
/// added is a completion, not a correction).
pub fn changed_only(before: &RequestDraft, after: &RequestDraft) -> RequestDraft {
    let mut out = before.clone();
    macro_rules! fix {
        ($($f:ident),*) => { $( if before.$f.is_some() { out.$f = after.$f.clone(); } )* };
    }
    fix!(
        language,
        intervention,
        date,
        start,
        end,
        duration_minutes,
        deadline,
        modality,
        comune,
        mediator_gender
    );
    out
}

/// The pair to keep when `after` differs from `before` on a field that is not personal data;
/// `None` when nothing but personal data changed.
pub fn pair(
    text: &str,
    ctx: &Context,
    before: &RequestDraft,
    after: &RequestDraft,
) -> Option<CorrectionPair> {
    let (b, a) = (to_parse_json(before), to_parse_json(after));
    let corrected: Vec<String> = FIELDS
        .iter()
        .filter(|f| !PERSONAL.contains(f) && **f != "missing" && **f != "warnings")
        .filter(|f| field(&b, f) != field(&a, f))
        .map(|f| f.to_string())
        .collect();
    if corrected.is_empty() {
        return None;
    }
    let mut expected = a;
    if let Some(o) = expected.as_object_mut() {
        o.remove("requester");
        o.remove("address");
        o.remove("languages");
        // warnings depend on when the text was read; the label keeps their codes only
        if let Some(w) = o.get_mut("warnings").and_then(|w| w.as_array_mut()) {
            for x in w.iter_mut() {
                if let Some(c) = x.get("code").cloned() {
                    *x = c;
                }
            }
        }
    }
    let mut known: Vec<&str> = Vec::new();
    for d in [before, after] {
        known.extend(d.requester.name.as_deref());
        known.extend(d.address.as_deref());
    }
    known.extend(ctx.sender.name.as_deref());
    Some(CorrectionPair {
        text: scrub(text, &known),
        channel: ctx.channel,
        read_at: ctx.now,
        expected,
        corrected,
    })
}

static STREET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\b(?:via|viale|v\.le|piazza|p\.zza|p\.za|piazzale|p\.le|corso|c\.so|largo|vicolo|strada|contrada|localit[àa]|loc\.)\s+[\p{L}'’.]+(?:\s+[\p{L}'’.]+){0,4}?[\s,]+(?:n\.?\s*)?\d+[a-zA-Z]?(?:/\d+)?",
    )
    .unwrap_or_else(|e| panic!("bad street regex: {e}"))
});
static TITLED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\b(?:[Dd]ott\.?(?:ssa)?|[Dd]r\.?|[Ss]ig\.?(?:ra|\.ra)?|[Aa]\.\s?[Ss]\.|[Aa]vv\.?|[Pp]rof\.?(?:ssa)?)\s+)(\p{Lu}[\p{L}'’]+(?:\s+\p{Lu}[\p{L}'’]+){0,2})")
        .unwrap_or_else(|e| panic!("bad title regex: {e}"))
});

/// Two or three capitalised words in a row ("Laura Rossi"): a name unless a place or an office.
static CAPITALISED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b\p{Lu}[\p{Ll}'’]+(?:[ \t]+\p{Lu}[\p{Ll}'’]+){1,2}\b")
        .unwrap_or_else(|e| panic!("bad name regex: {e}"))
});
/// Capitalised words of offices, greetings and places that are not names.
const NOT_NAMES: &[&str] = &[
    "Servizio",
    "Servizi",
    "Sociali",
    "Sociale",
    "Tutela",
    "Minori",
    "Ambito",
    "Comune",
    "Ufficio",
    "Piano",
    "Tribunale",
    "Minorenni",
    "Spazio",
    "Neutro",
    "Assistente",
    "Buongiorno",
    "Buonasera",
    "Gentile",
    "Gentili",
    "Cordiali",
    "Saluti",
    "Distinti",
    "Grazie",
    "Via",
    "Viale",
    "Piazza",
    "Corso",
    "San",
    "Santa",
    "Sant",
    "Ospedale",
    "Cooperativa",
    "Mediazione",
    "Oggetto",
    "Lingua",
    "Area",
    "Segreteria",
    "Coordinatrice",
    "Coordinatore",
    "Responsabile",
    "Centro",
    "Famiglia",
    "Consultorio",
    "Questura",
    "Scuola",
    "Messaggio",
    "Posta",
    "Certificata",
    "Valle",
    "Alto",
    "Basso",
    "Isola",
    "Bergamasca",
    "Regolamento",
    "Lunedì",
    "Martedì",
    "Mercoledì",
    "Giovedì",
    "Venerdì",
    "Sabato",
    "Domenica",
    "Serve",
];

/// The text without e-mail addresses, phone numbers, street addresses and the names given in
/// `known` (each word of them) or after a title ("Dott.ssa Rossi").
pub fn scrub(text: &str, known: &[&str]) -> String {
    let mut spans: Vec<(usize, usize, &'static str)> = Vec::new();
    for (a, b, _) in fields::emails(text) {
        spans.push((a, b, "[email]"));
    }
    for (a, b, _) in fields::phones(text) {
        spans.push((a, b, "[telefono]"));
    }
    for m in STREET.find_iter(text) {
        spans.push((m.start(), m.end(), "[indirizzo]"));
    }
    for c in TITLED.captures_iter(text) {
        if let Some(m) = c.get(1) {
            spans.push((m.start(), m.end(), "[nome]"));
        }
    }
    for m in CAPITALISED.find_iter(text) {
        let words: Vec<&str> = m.as_str().split_whitespace().collect();
        let place_or_word = words.iter().any(|w| NOT_NAMES.contains(w))
            || places::comune_by_name(m.as_str()).is_some()
            || words.iter().any(|w| places::comune_by_name(w).is_some());
        if !place_or_word {
            spans.push((m.start(), m.end(), "[nome]"));
        }
    }
    let lower = text.to_lowercase();
    // byte offsets of `lower` match `text` only when lower-casing kept every length
    let same_len = lower.len() == text.len();
    for name in known {
        for w in name.split_whitespace().filter(|w| w.chars().count() >= 3) {
            let w = w.to_lowercase();
            let mut from = 0;
            while same_len && let Some(i) = lower[from..].find(&w) {
                let (a, b) = (from + i, from + i + w.len());
                let boundary = |j: usize, before: bool| {
                    let c = if before {
                        lower[..j].chars().next_back()
                    } else {
                        lower[j..].chars().next()
                    };
                    c.is_none_or(|c| !c.is_alphanumeric())
                };
                if boundary(a, true) && boundary(b, false) {
                    spans.push((a, b, "[nome]"));
                }
                from = b;
            }
        }
    }
    spans.sort_by_key(|s| (s.0, std::cmp::Reverse(s.1)));
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for (a, b, tag) in spans {
        if a < at {
            continue;
        }
        out.push_str(text.get(at..a).unwrap_or(""));
        out.push_str(tag);
        at = b;
    }
    out.push_str(text.get(at..).unwrap_or(""));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::extract;
    use chrono::TimeZone;

    #[test]
    fn a_corrected_time_is_kept_without_personal_data() {
        let now = Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap();
        let ctx = Context::new(now, Channel::Telegram);
        let text = "Serve un mediatore arabo per un colloquio giovedì 11 marzo alle 10 in via Roma 12 a Dalmine. Laura Rossi 347 1234567 l.rossi@comune.dalmine.bg.it";
        let before = extract(text, &ctx);
        let mut after = before.clone();
        after.start = chrono::NaiveTime::from_hms_opt(11, 0, 0);
        let p = pair(text, &ctx, &before, &after).expect("a change");
        assert_eq!(p.corrected, vec!["start".to_string()]);
        assert_eq!(p.expected["start"], "11:00");
        assert!(p.expected.get("requester").is_none());
        assert!(p.expected.get("address").is_none());
        for gone in ["Rossi", "Laura", "347", "l.rossi", "Roma 12"] {
            assert!(!p.text.contains(gone), "{gone} left in {}", p.text);
        }
        assert!(p.text.contains("giovedì 11 marzo alle 10"), "{}", p.text);
        assert!(pair(text, &ctx, &before, &before).is_none());
    }
}
