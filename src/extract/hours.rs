//! Hours written in words ("alle dieci", "dieci e un quarto", "all'una", "mezzogiorno e mezza",
//! "alle undici meno un quarto", "alle ore quindici"), rewritten as digits in the folded text so
//! the time grammar of [`super::dates`] reads them like "alle 10". The rewrite keeps every byte
//! offset (the digits are padded with spaces to the length of the words), so spans still map
//! back to the original text.

use regex::Regex;
use std::sync::LazyLock;

const HOUR: &str = r"(una|due|tre|quattro|cinque|sei|sette|otto|nove|dieci|undici|dodici|tredici|quattordici|quindici|sedici|diciassette|diciotto|diciannove|venti|mezzogiorno)";
const PREFIX: &str = r"(alle\s+ore|dalle\s+ore|alle|dalle|ore|verso\s+le|per\s+le|fino\s+alle|sino\s+alle|tra\s+le|fra\s+le|e\s+le|intorno\s+alle|a\s+partire\s+dalle|entro\s+le|all'|dall'|a)";

fn re(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| panic!("bad regex {p}: {e}"))
}

/// "dieci e un quarto", "all'una e mezza", "undici meno un quarto", "mezzogiorno e mezza".
static COMPOUND: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"\b(?:{PREFIX}\s*)?{HOUR}\s+(e\s+mezza|e\s+mezzo|e\s+un\s+quarto|e\s+tre\s+quarti|meno\s+un\s+quarto|meno\s+dieci|meno\s+cinque|meno\s+venti|e\s+trenta|e\s+quindici|e\s+quarantacinque|e\s+dieci|e\s+venti|e\s+cinque)\b"
    ))
});
/// "alle dieci", "dalle nove", "all'una", "alle ore quindici".
static SIMPLE: LazyLock<Regex> = LazyLock::new(|| re(&format!(r"\b{PREFIX}\s*{HOUR}\b")));
/// What may follow an hour word for it to be a time ("alle due sorelle" is not).
static FOLLOW: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*(?:$|[,.;:)!?\n/-]|e\s|del\b|di\b|della\b|nel\b|in\b|a\b|ad\b|al\b|alle\b|all'|presso\b|per\b|circa\b|precise\b|in\s+punto|o\b|oppure\b|fino\b|sino\b|poi\b|con\b|\d|mediat|serve|colloquio|incontro|visita|un\b|una\b|il\b|lo\b|la\b|lunedi|martedi|mercoledi|giovedi|venerdi|sabato|domenica|oggi\b|domani|dopodomani|da\b|ma\b|anzi\b|grazie|se\b|va\b)",
    )
});

fn hour_of(w: &str) -> Option<u32> {
    Some(match w {
        "una" => 1,
        "due" => 2,
        "tre" => 3,
        "quattro" => 4,
        "cinque" => 5,
        "sei" => 6,
        "sette" => 7,
        "otto" => 8,
        "nove" => 9,
        "dieci" => 10,
        "undici" => 11,
        "dodici" | "mezzogiorno" => 12,
        "tredici" => 13,
        "quattordici" => 14,
        "quindici" => 15,
        "sedici" => 16,
        "diciassette" => 17,
        "diciotto" => 18,
        "diciannove" => 19,
        "venti" => 20,
        _ => return None,
    })
}

fn prefix_text(p: Option<&str>) -> String {
    match p {
        None => String::new(),
        Some("all'") => "alle ".into(),
        Some("dall'") => "dalle ".into(),
        Some(p) => format!("{} ", p.split_whitespace().collect::<Vec<_>>().join(" ")),
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

fn morning_follows(text: &str, end: usize) -> bool {
    let after = text.get(end..).unwrap_or("").trim_start();
    after.starts_with("del mattino")
        || after.starts_with("di mattina")
        || after.starts_with("della mattina")
        || after.starts_with("di notte")
}

/// The folded text with hours in words written as digits, same length.
pub fn digits(text: &str) -> String {
    let words = [
        "una",
        "due",
        "tre",
        "quattro",
        "cinque",
        "sei",
        "sette",
        "otto",
        "nove",
        "dieci",
        "undici",
        "dodici",
        "tredici",
        "quattordici",
        "quindici",
        "sedici",
        "dicia",
        "venti",
        "mezzogiorno",
    ];
    if !words.iter().any(|w| text.contains(w)) {
        return text.to_string();
    }
    let mut out = text.as_bytes().to_vec();
    let mut done: Vec<(usize, usize)> = Vec::new();
    for c in COMPOUND.captures_iter(text) {
        let Some(all) = c.get(0) else { continue };
        let prefix = c.get(1).map(|m| m.as_str());
        let Some(h) = c.get(2).and_then(|m| hour_of(m.as_str())) else {
            continue;
        };
        let tail = c.get(3).map(|m| m.as_str()).unwrap_or("");
        let strong = tail.contains("mezz") || tail.contains("quart");
        if prefix.is_none() && !strong && h != 12 {
            continue;
        }
        if prefix == Some("a") && h != 12 {
            continue;
        }
        let tail = tail.split_whitespace().collect::<Vec<_>>().join(" ");
        let (mut hh, mm) = match tail.as_str() {
            "e mezza" | "e mezzo" | "e trenta" => (h, 30),
            "e un quarto" | "e quindici" => (h, 15),
            "e tre quarti" | "e quarantacinque" => (h, 45),
            "e dieci" => (h, 10),
            "e venti" => (h, 20),
            "e cinque" => (h, 5),
            "meno un quarto" => (h.saturating_sub(1), 45),
            "meno dieci" => (h.saturating_sub(1), 50),
            "meno cinque" => (h.saturating_sub(1), 55),
            "meno venti" => (h.saturating_sub(1), 40),
            _ => continue,
        };
        // "all'una e mezza", "alle sei e mezza": afternoon, unless "del mattino" follows
        if (1..=6).contains(&hh) && !morning_follows(text, all.end()) {
            hh += 12;
        }
        let with = format!("{}{hh:02}:{mm:02}", prefix_text(prefix));
        overwrite(&mut out, all.start(), all.end(), &with);
        done.push((all.start(), all.end()));
    }
    for c in SIMPLE.captures_iter(text) {
        let Some(all) = c.get(0) else { continue };
        if done.iter().any(|&(a, b)| all.start() < b && a < all.end()) {
            continue;
        }
        let prefix = c.get(1).map(|m| m.as_str());
        let word = c.get(2).map(|m| m.as_str()).unwrap_or("");
        let Some(h) = hour_of(word) else { continue };
        if word == "mezzogiorno" || prefix == Some("a") {
            continue;
        }
        if !FOLLOW.is_match(text.get(all.end()..).unwrap_or("")) {
            continue;
        }
        // "all'una" is one in the afternoon; other small hours keep the digit grammar's rule
        let hh = if word == "una" && !morning_follows(text, all.end()) {
            13
        } else {
            h
        };
        let with = format!("{}{hh}", prefix_text(prefix));
        overwrite(&mut out, all.start(), all.end(), &with);
    }
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> String {
        let d = digits(s);
        assert_eq!(d.len(), s.len(), "{s:?} -> {d:?}");
        d.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn hours_in_words_become_digits() {
        assert_eq!(
            t("colloquio alle dieci a dalmine"),
            "colloquio alle 10 a dalmine"
        );
        assert_eq!(t("alle dieci e mezza"), "alle 10:30");
        assert_eq!(
            t("giovedi dieci e un quarto, trescore"),
            "giovedi 10:15 , trescore"
        );
        assert_eq!(t("dalle nove all'una"), "dalle 9 alle 13");
        assert_eq!(t("a mezzogiorno e mezza"), "a 12:30");
        assert_eq!(t("alle undici meno un quarto"), "alle 10:45");
        assert_eq!(t("alle ore quindici di giovedi"), "alle ore 15 di giovedi");
        assert_eq!(t("all'una e mezza presso"), "alle 13:30 presso");
        assert_eq!(t("alle tre del pomeriggio"), "alle 3 del pomeriggio");
    }

    #[test]
    fn number_words_that_are_not_hours_stay() {
        assert_eq!(t("insieme alle due sorelle"), "insieme alle due sorelle");
        assert_eq!(
            t("ha tre figli di dieci anni"),
            "ha tre figli di dieci anni"
        );
        assert_eq!(t("un'ora e mezza"), "un'ora e mezza");
        assert_eq!(t("è in italia da tre anni"), "è in italia da tre anni");
    }
}
