//! Dates and times written in English ("Tuesday 16 March", "March 16th", "at 11 am", "3pm",
//! "tomorrow"), as a partner organisation or a worker who writes no Italian sends them,
//! rewritten in the Italian the date and time grammar of [`super::dates`] reads ("martedi 16
//! marzo", "ore 11"). Like [`super::hours`], the rewrite keeps every byte offset (the words are
//! padded with spaces to their length), so spans still map back to the original text. Only a
//! text that reads as English is rewritten: an Italian one is returned as it is.

use regex::{Captures, Regex};
use std::sync::LazyLock;

fn re(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| panic!("bad regex {p}: {e}"))
}

const MONTHS: &str =
    r"(january|february|march|april|may|june|july|august|september|october|november|december)";

/// "Tuesday", "on Friday" ("venerdi" is longer than "friday": the "on" makes room for it).
static WEEKDAY: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\b(?:(on|this|next)\s+)?(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b")
});
/// "16 March", "16th of March", "16 March 2027".
static DAY_MONTH: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?{MONTHS}\b(?:,?\s+(\d{{4}})\b)?"
    ))
});
/// "March 16", "March 16th, 2027".
static MONTH_DAY: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"\b{MONTHS}\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}})\b)?"
    ))
});
/// "at 11 am", "3pm", "at 3:30 p.m.", "at noon".
static CLOCK: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:(at|from|by|around)\s+)?(?:(\d{1,2})(?:[:.](\d{2}))?\s*([ap])\.?\s?m\b\.?|(noon|midday))",
    )
});
/// "at 10", "at 10:30" (no am/pm): a time after "at".
static AT_HOUR: LazyLock<Regex> = LazyLock::new(|| re(r"\bat\s+(\d{1,2})(?:[:.](\d{2}))?\b"));
static RELATIVE: LazyLock<Regex> = LazyLock::new(|| re(r"\b(today|tomorrow|this\s+morning)\b"));

/// Words that only an English text has between spaces.
const ENGLISH: &[&str] = &[
    " the ", " we ", " would ", " need ", " please", " with ", "dear ", "hi ", "hello", " is ",
    " for ", " and ", " at ", " on ", " an ", " our ", " you", "regards", "thank",
];

/// Words that only an Italian text has between spaces.
const ITALIAN: &[&str] = &[
    " il ", " la ", " di ", " per ", " che ", " alle ", " con ", " un ", " una ", " del ",
    " della ", " sono ", " serve ", " grazie", " presso ",
];

/// Whether the folded text reads as English: three of its common words, and more of them than
/// of Italian ones (a PEC envelope is bilingual, an Italian request may quote an English line).
pub fn looks_english(text: &str) -> bool {
    // the opening tells a text's language: a 10 KB mail is not scanned 34 times whole
    let mut end = text.len().min(2048);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = &text[..end];
    let count = |words: &[&str]| words.iter().filter(|w| head.contains(*w)).count();
    let en = count(ENGLISH);
    en >= 3 && en > count(ITALIAN)
}

fn month_it(en: &str) -> &'static str {
    match en {
        "january" => "gennaio",
        "february" => "febbraio",
        "march" => "marzo",
        "april" => "apr",
        "may" => "mag",
        "june" => "giu",
        "july" => "lug",
        "august" => "agosto",
        "september" => "settembre",
        "october" => "ottobre",
        "november" => "novembre",
        _ => "dicembre",
    }
}

/// The Italian weekday, and its short form where the English word is shorter.
fn weekday_it(en: &str) -> (&'static str, &'static str) {
    match en {
        "monday" => ("lunedi", "lunedi"),
        "tuesday" => ("martedi", "martedi"),
        "wednesday" => ("mercoledi", "mercoledi"),
        "thursday" => ("giovedi", "giovedi"),
        "friday" => ("venerdi", "venerd"),
        "saturday" => ("sabato", "sabato"),
        _ => ("domenica", "dom"),
    }
}

/// Writes `with` over `out[a..b]`, padded with spaces; nothing when it would not fit.
fn overwrite(out: &mut [u8], a: usize, b: usize, with: &str) {
    if with.len() <= b - a && with.is_ascii() && out[a..b].is_ascii() {
        out[a..a + with.len()].copy_from_slice(with.as_bytes());
        for x in &mut out[a + with.len()..b] {
            *x = b' ';
        }
    }
}

fn group<'t>(c: &Captures<'t>, i: usize) -> Option<&'t str> {
    c.get(i).map(|m| m.as_str())
}

/// The folded text with English dates and times in the Italian grammar, same length; the text
/// itself when it does not read as English.
pub fn italian(owned: String) -> String {
    if !looks_english(&owned) {
        return owned;
    }
    let text = owned.as_str();
    let mut out = text.as_bytes().to_vec();
    for c in DAY_MONTH.captures_iter(text) {
        let (Some(all), Some(day), Some(month)) = (c.get(0), group(&c, 1), group(&c, 2)) else {
            continue;
        };
        let year = group(&c, 3).map(|y| format!(" {y}")).unwrap_or_default();
        let with = format!("{day} {}{year}", month_it(month));
        overwrite(&mut out, all.start(), all.end(), &with);
    }
    for c in MONTH_DAY.captures_iter(text) {
        let (Some(all), Some(month), Some(day)) = (c.get(0), group(&c, 1), group(&c, 2)) else {
            continue;
        };
        // "16 March 2027" was read above; "March 2027" is no day
        if !out[all.start()..all.end()].starts_with(month.as_bytes()) {
            continue;
        }
        let year = group(&c, 3).map(|y| format!(" {y}")).unwrap_or_default();
        let with = format!("{day} {}{year}", month_it(month));
        overwrite(&mut out, all.start(), all.end(), &with);
    }
    for c in WEEKDAY.captures_iter(text) {
        let (Some(all), Some(day)) = (c.get(0), c.get(2)) else {
            continue;
        };
        let (full, short) = weekday_it(day.as_str());
        if full.len() <= day.len() {
            overwrite(&mut out, day.start(), day.end(), full);
        } else if full.len() <= all.end() - all.start() {
            overwrite(&mut out, all.start(), all.end(), full);
        } else {
            overwrite(&mut out, day.start(), day.end(), short);
        }
    }
    let mut clocked: Vec<(usize, usize)> = Vec::new();
    for c in CLOCK.captures_iter(text) {
        let Some(all) = c.get(0) else { continue };
        let (h, m) = if group(&c, 5).is_some() {
            (12, 0)
        } else {
            let Some(h) = group(&c, 2).and_then(|h| h.parse::<u32>().ok()) else {
                continue;
            };
            let m = group(&c, 3)
                .and_then(|m| m.parse::<u32>().ok())
                .unwrap_or(0);
            if !(1..=12).contains(&h) || m > 59 {
                continue;
            }
            match group(&c, 4) {
                Some("p") if h < 12 => (h + 12, m),
                Some("a") if h == 12 => (0, m),
                _ => (h, m),
            }
        };
        let hm = if m == 0 {
            format!("{h}")
        } else {
            format!("{h}:{m:02}")
        };
        // "from 10am" is a start too; the grammar reads "ore 10" as well as "h10"
        let with = if group(&c, 1).is_some() {
            format!("ore {hm}")
        } else {
            format!("h{hm}")
        };
        overwrite(&mut out, all.start(), all.end(), &with);
        clocked.push((all.start(), all.end()));
    }
    for c in AT_HOUR.captures_iter(text) {
        let Some(all) = c.get(0) else { continue };
        if clocked
            .iter()
            .any(|&(a, b)| all.start() < b && a < all.end())
        {
            continue;
        }
        let (Some(h), m) = (group(&c, 1), group(&c, 2)) else {
            continue;
        };
        let with = match m {
            Some(m) => format!("h {h}:{m}"),
            None => format!("h {h}"),
        };
        overwrite(&mut out, all.start(), all.end(), &with);
    }
    for m in RELATIVE.find_iter(text) {
        let with = match m.as_str() {
            "today" => "oggi",
            "tomorrow" => "domani",
            _ => "stamattina",
        };
        overwrite(&mut out, m.start(), m.end(), with);
    }
    String::from_utf8(out).unwrap_or(owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> String {
        let d = italian(s.to_string());
        assert_eq!(d.len(), s.len(), "{s:?} -> {d:?}");
        d.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn english_dates_and_times_in_the_italian_grammar() {
        assert_eq!(
            t("we need an interpreter for a meeting on tuesday 16 march at 11 am"),
            "we need an interpreter for a meeting on martedi 16 marzo ore 11"
        );
        assert_eq!(
            t("hi, need urdu mediator for meeting with family on thursday 11 march at 3pm"),
            "hi, need urdu mediator for meeting with family on giovedi 11 marzo ore 15"
        );
        assert_eq!(
            t("dear all, the meeting is on march 16th, 2027 at 3:30 p.m."),
            "dear all, the meeting is on 16 marzo 2027 ore 15:30"
        );
        assert_eq!(
            t("hi, we need you tomorrow at 10 for the family"),
            "hi, we need you domani h 10 for the family"
        );
        assert_eq!(
            t("dear all, we would need a mediator on friday at noon"),
            "dear all, we would need a mediator venerdi ore 12"
        );
    }

    #[test]
    fn italian_text_stays() {
        for s in [
            "il giorno 26/02/2027 alle ore 10:14:03 il messaggio e' stato inviato\non 26/02/2027 at 10:14:03 the message was sent and is attached\nsi richiede un mediatore per un colloquio con la famiglia",
            "colloquio a Seriate martedi 16 marzo alle 11",
            "serve un mediatore per la famiglia di may, giovedi alle 3",
        ] {
            assert_eq!(italian(s.to_string()), s);
        }
        // "may" the verb is no month
        assert_eq!(
            t("hi, we may need a mediator for the family at 3pm"),
            "hi, we may need a mediator for the family ore 15"
        );
    }
}
