//! Where the intervention takes place: the comuni of the province of Bergamo
//! (`data/comuni-bg.tsv`, ISTAT, CC BY 3.0 IT), street addresses and office words.

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::LazyLock;

use super::fold::{Folded, fold};

/// A comune of the province, with its ISTAT code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comune {
    pub name: String,
    pub istat: String,
}

/// Shorter names people use for a comune ("Calusco", "Sotto il Monte", "Brembate Sopra"),
/// and the comune each one means.
const ALIASES: &[(&str, &str)] = &[
    ("sotto il monte", "Sotto il Monte Giovanni XXIII"),
    ("calusco", "Calusco d'Adda"),
    ("brembate sopra", "Brembate di Sopra"),
    ("trescore", "Trescore Balneario"),
    ("san pellegrino", "San Pellegrino Terme"),
    ("alzano", "Alzano Lombardo"),
    ("romano", "Romano di Lombardia"),
    ("grumello", "Grumello del Monte"),
    ("sant omobono", "Sant'Omobono Terme"),
    ("albano", "Albano Sant'Alessandro"),
    ("cologno", "Cologno al Serio"),
    ("terno", "Terno d'Isola"),
    ("capriate", "Capriate San Gervasio"),
    ("scanzo", "Scanzorosciate"),
    ("azzano", "Azzano San Paolo"),
    ("caprino", "Caprino Bergamasco"),
    ("san giovanni bianco", "San Giovanni Bianco"),
    ("villa d alme", "Villa d'Almè"),
    // places everyone in the province knows by their name alone
    ("ospedale papa giovanni", "Bergamo"),
    ("cps di borgo palazzo", "Bergamo"),
];

/// Frazioni that belong to several comuni: naming one does not tell which comune (ask).
const SHARED_FRAZIONI: &[(&str, &[&str])] = &[
    (
        "zingonia",
        &[
            "Boltiere",
            "Ciserano",
            "Osio Sotto",
            "Verdellino",
            "Verdello",
        ],
    ),
    // "a Osio": Osio Sopra or Osio Sotto
    ("osio", &["Osio Sopra", "Osio Sotto"]),
];

/// A frazione shared by several comuni, named in the folded text: its name and the comuni.
pub(crate) fn shared_frazione(folded: &str) -> Option<(&'static str, &'static [&'static str])> {
    SHARED_FRAZIONI
        .iter()
        .find(|(f, _)| {
            folded.match_indices(f).any(|(i, _)| {
                let before = folded[..i].chars().next_back();
                let after = folded[i + f.len()..].chars().next();
                !before.is_some_and(char::is_alphanumeric)
                    && !after.is_some_and(char::is_alphanumeric)
            })
        })
        .copied()
}

/// Comune tokens a text may abbreviate: "S. Pietro", "S Alessandro".
fn saint(t: &str) -> bool {
    matches!(t, "san" | "sant" | "santa" | "santo")
}

struct Comuni {
    list: Vec<Comune>,
    /// first folded token -> (all tokens, index), longest first
    by_first: HashMap<String, Vec<(Vec<String>, usize)>>,
}

/// Single-word comuni that are also common Italian words: matched only when written with a
/// capital and after a place word ("a Cene", "presso il comune di Calcio").
const COMMON_WORDS: &[&str] = &[
    "cene",
    "calcio",
    "onore",
    "taleggio",
    "levate",
    "covo",
    "isso",
    "parre",
    "leffe",
    "peia",
    "grone",
    "bracca",
    "serina",
    "gromo",
    "lenna",
    "carona",
    "mozzo",
    "castro",
    "gorno",
    "branzi",
    "sole",
    "ranica",
    "verdello",
    "madone",
    "colere",
    "blello",
    "rota",
    "torre",
    "fontanella",
    "romano",
    "albano",
    "terno",
];

static COMUNI: LazyLock<Comuni> = LazyLock::new(|| {
    let mut list = Vec::new();
    for line in include_str!("../../data/comuni-bg.tsv").lines() {
        if line.starts_with('#') || line.starts_with("nome\t") || line.trim().is_empty() {
            continue;
        }
        let mut cols = line.split('\t');
        if let (Some(name), Some(istat)) = (cols.next(), cols.next()) {
            list.push(Comune {
                name: name.to_string(),
                istat: istat.to_string(),
            });
        }
    }
    let mut by_first: HashMap<String, Vec<(Vec<String>, usize)>> = HashMap::new();
    for (i, c) in list.iter().enumerate() {
        let toks = tokens(&fold(&c.name));
        if let Some(first) = toks.first() {
            by_first
                .entry(first.clone())
                .or_default()
                .push((toks.clone(), i));
        }
    }
    for (alias, name) in ALIASES {
        if let Some(i) = list.iter().position(|c| c.name == *name) {
            let toks = tokens(alias);
            if let Some(first) = toks.first() {
                by_first.entry(first.clone()).or_default().push((toks, i));
            }
        }
    }
    for v in by_first.values_mut() {
        v.sort_by_key(|e| std::cmp::Reverse(e.0.len()));
    }
    Comuni { list, by_first }
});

fn tokens(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .collect()
}

/// All comuni of the province.
pub fn all_comuni() -> &'static [Comune] {
    &COMUNI.list
}

/// The comune with this name (accents, apostrophes and case ignored).
pub fn comune_by_name(name: &str) -> Option<&'static Comune> {
    let key = tokens(&fold(name));
    COMUNI.list.iter().find(|c| tokens(&fold(&c.name)) == key)
}

/// A comune found in a text, with a score (higher = more likely the place of the meeting).
#[derive(Debug, Clone)]
pub struct FoundComune {
    pub comune: &'static Comune,
    pub start: usize,
    pub end: usize,
    pub score: i32,
}

static PLACE_CUE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:presso|sede|luogo|indirizzo|domicil|abitazione|residenti|residente|abitano|abita|dove|localita|si terra|si svolgera|recarsi|tribunale di|comune\s*:)",
    )
});
static NEAR_CUE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?:\ba|\bad|\bin|\bdi|\bda|,|-|\d{5}|:)\s*(?:\(bg\)\s*)?$"));
static BAD_CUE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:provincia|\bats\b|\basst\b|ambito|ufficio di piano|\bnat[oaie]\b|nascita|diocesi|universita|asst\s+papa\s+giovanni)[^\n]{0,30}$",
    )
});

/// A venue named right before a place name, without "di": "a scuola Mozzo", "al consultorio
/// Seriate".
static VENUE_CUE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?:\ba|\bad|\bin|\bal|\balla|\bpresso(?:\s+(?:la|il|l'))?)\s*(?:scuola|sede|comune|municipio|consultorio|ospedale|oratorio|biblioteca|asilo|nido|questura|tribunale|servizi\s+sociali)\s*$",
    )
});

/// Right before a place name: "a", "ad", "presso", "comune di".
static STRONG_CUE: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?:\ba|\bad|\bpresso|\bcomune\s+di|\bsede\s+di|\bsociali\s+di|\bneutro\s+di)\s*$")
});

/// "sono l'assistente sociale ... del Comune di X": where the writer works, not the meeting.
static SELF_CUE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:sono|scrivo|lavoro|vi\s+scrivo|mi\s+chiamo)\b[^\n.;]{0,60}(?:del|dal|per\s+il)\s+(?:comune|servizio|ambito)\s+di\s*$",
    )
});

fn re(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| panic!("bad regex {p}: {e}"))
}

/// Finds comuni in `folded`, skipping masked spans (emails, URLs). `closing` is the folded offset
/// where the closing/signature starts (matches after it score lower).
pub(crate) fn find_comuni(
    original: &str,
    folded: &Folded,
    masked: &dyn Fn(usize, usize) -> bool,
    closing: usize,
) -> Vec<FoundComune> {
    let c = &*COMUNI;
    let text = &folded.text;
    // token spans
    let mut toks: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (i, ch) in text.char_indices() {
        if ch.is_alphanumeric() {
            if start.is_none() {
                start = Some(i);
            }
        } else if let Some(s) = start.take() {
            toks.push((s, i));
        }
    }
    if let Some(s) = start {
        toks.push((s, text.len()));
    }
    // a chat typed all in lower case names places without capitals
    let lower_case_text = !original.chars().any(char::is_uppercase);
    // "s." / "s" stands for san, sant, santa, santo; "l." for the word it starts (one letter
    // and a dot, "Romano di L.")
    let same = |k: usize, t: &str| {
        let (a, b) = toks[k];
        let w = &text[a..b];
        w == t
            || (w == "s" && saint(t))
            || (w.len() == 1 && t.starts_with(w) && text[b..].starts_with('.'))
    };
    let saints: Vec<&(Vec<String>, usize)> = ["san", "sant", "santa", "santo"]
        .iter()
        .filter_map(|k| c.by_first.get(*k))
        .flatten()
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let (s, e) = toks[i];
        let mut advanced = false;
        let word = &text[s..e];
        let mut cands: Vec<&(Vec<String>, usize)> = c
            .by_first
            .get(word)
            .map(|v| v.iter().collect())
            .unwrap_or_default();
        if word == "s" {
            cands.extend(saints.iter().copied());
            cands.sort_by_key(|e| std::cmp::Reverse(e.0.len()));
        }
        if !cands.is_empty() {
            for (ctoks, idx) in cands {
                if i + ctoks.len() > toks.len() {
                    continue;
                }
                let ok = ctoks.iter().enumerate().all(|(k, t)| same(i + k, t));
                if !ok {
                    continue;
                }
                let end = toks[i + ctoks.len() - 1].1;
                if masked(s, end) {
                    break;
                }
                let line_start = text[..s].rfind('\n').map(|p| p + 1).unwrap_or(0);
                let win_start = floor_char(text, s.saturating_sub(60).max(line_start));
                let window = &text[win_start..s];
                let orig = folded.slice(original, s, end);
                let capital = orig.chars().next().is_some_and(char::is_uppercase);
                let venue = VENUE_CUE.is_match(window);
                if ctoks.len() == 1 && COMMON_WORDS.contains(&ctoks[0].as_str()) {
                    let near = NEAR_CUE.is_match(window) || PLACE_CUE.is_match(window) || venue;
                    let lower_ok = lower_case_text && STRONG_CUE.is_match(window);
                    if !((capital && near) || lower_ok) {
                        break;
                    }
                }
                let mut score = 1;
                if PLACE_CUE.is_match(window) {
                    score += 3;
                }
                if NEAR_CUE.is_match(window) || venue {
                    score += 2;
                }
                if SELF_CUE.is_match(window) {
                    score -= 5;
                }
                if BAD_CUE.is_match(window) {
                    score -= 5;
                }
                if s >= closing {
                    score -= 3;
                }
                out.push(FoundComune {
                    comune: &c.list[*idx],
                    start: s,
                    end,
                    score,
                });
                i += ctoks.len();
                advanced = true;
                break;
            }
        }
        if !advanced {
            i += 1;
        }
    }
    drop_choices(text, &mut out);
    out
}

/// "Bergamo o Dalmine?": a choice between places states neither.
fn drop_choices(text: &str, found: &mut [FoundComune]) {
    for k in 1..found.len() {
        let (a, b) = (found[k - 1].end, found[k].start);
        let between = text.get(a..b).unwrap_or("").trim();
        if matches!(between, "o" | "oppure" | "/" | "o a" | "oppure a") {
            found[k - 1].score = found[k - 1].score.min(0);
            found[k].score = found[k].score.min(0);
        }
    }
}

fn floor_char(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

static ADDRESS: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:via|viale|v\.le|piazza|p\.zza|p\.za|piazzale|p\.le|corso|c\.so|largo|vicolo|strada|contrada|borgo|localit[aà]|loc\.)\s+([^\s\d,;:()\n][^\n,;:()]{0,40}?)\s*,?\s*(?:n\.?\s*|n°\s*|nr\.?\s*|num\.?\s*|civico\s*)?(\d{1,4}(?:\s?/\s?[a-zA-Z0-9]{1,2}\b|[a-zA-Z]\b)?)\b",
    )
});
static ADDRESS_NO_NUMBER: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:[Vv]ia|[Vv]iale|[Pp]iazza|[Pp]iazzale|[Cc]orso|[Ll]argo)\s+((?:[A-Z][\w'’.]*|dei|del|della|delle|di|degli|de'|XX|IV|XXIII)(?:\s+(?:[A-Z][\w'’.]*|dei|del|della|delle|di|degli|XX|IV|XXIII|Settembre|Aprile|Maggio|Novembre)){0,4})",
    )
});

const NOT_STREETS: &[&str] = &[
    "email",
    "e-mail",
    "mail",
    "telefono",
    "tel",
    "teams",
    "skype",
    "zoom",
    "whatsapp",
    "pec",
    "posta",
    "web",
    "meet",
    "internet",
    "telegram",
    "sms",
    "fax",
    "breve",
    "libera",
    "di",
    "del",
    "dei",
    "della",
    "video",
    "cellulare",
    "messaggio",
    "messaggi",
    "modulo",
];

/// A street address found in the text (original spelling) and its position in the original.
pub(crate) fn find_address(original: &str) -> Option<(usize, String)> {
    let good = |name: &str| {
        let first = name
            .split(|c: char| c.is_whitespace())
            .next()
            .unwrap_or("")
            .trim_matches('.')
            .to_lowercase();
        // "via del Partigiano" is a street, "per via del fatto" is not: a capital after "del"
        let named = matches!(first.as_str(), "di" | "del" | "dei" | "della" | "delle")
            && name
                .split_whitespace()
                .nth(1)
                .and_then(|w| w.chars().next())
                .is_some_and(char::is_uppercase);
        (named || !NOT_STREETS.contains(&first.as_str()))
            && !first.chars().all(|c| c.is_ascii_digit())
    };
    for c in ADDRESS.captures_iter(original) {
        let (Some(all), Some(name)) = (c.get(0), c.get(1)) else {
            continue;
        };
        if good(name.as_str()) && name.as_str().split_whitespace().count() <= 6 {
            return Some((all.start(), all.as_str().trim().to_string()));
        }
    }
    for c in ADDRESS_NO_NUMBER.captures_iter(original) {
        let (Some(all), Some(name)) = (c.get(0), c.get(1)) else {
            continue;
        };
        if good(name.as_str()) && name.as_str().chars().next().is_some_and(char::is_uppercase) {
            return Some((all.start(), all.as_str().trim().to_string()));
        }
    }
    None
}

static OFFICE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\bpresso\s+(?:la\s+sede\s+(?:del|della|dei)\s+|il\s+|l[oa]\s+|l'|gli\s+|i\s+)?((?:servizio|servizi|ufficio|uffici|tribunale|comune|scuola|istituto|consultorio|spazio neutro|centro|comunit[aà]|sede|neuropsichiatria|uonpia|npi|asst|ospedale|casa)[^\n.;]{0,80})",
    )
});

/// Office words: "presso la sede del Servizio Tutela Minori di Dalmine" -> the office phrase.
pub(crate) fn find_office(original: &str) -> Option<String> {
    OFFICE
        .captures(original)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().trim().trim_end_matches(',').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn best(t: &str) -> Option<String> {
        let f = Folded::new(t);
        let found = find_comuni(t, &f, &|_, _| false, usize::MAX);
        found
            .iter()
            .filter(|c| c.score > 0)
            .max_by_key(|c| (c.score, std::cmp::Reverse(c.start)))
            .map(|c| c.comune.name.clone())
    }

    #[test]
    fn data_has_all_comuni() {
        assert!(all_comuni().len() >= 243);
        assert_eq!(
            comune_by_name("villa d alme").map(|c| c.istat.as_str()),
            Some("016239")
        );
    }

    #[test]
    fn matches_with_and_without_accents() {
        assert_eq!(
            best("colloquio a Villa d'Alme").as_deref(),
            Some("Villa d'Almè")
        );
        assert_eq!(best("presso il comune di ALME").as_deref(), Some("Almè"));
        assert_eq!(
            best("a cena con la famiglia a Cene").as_deref(),
            Some("Cene")
        );
        assert_eq!(best("le cene di natale"), None);
        // a venue right before the comune: "a scuola Mozzo"
        assert_eq!(
            best("colloquio a scuola Mozzo martedì alle 8").as_deref(),
            Some("Mozzo")
        );
        assert_eq!(best("il mozzo della ruota"), None);
        assert_eq!(
            best("ASST Papa Giovanni Bergamo\ncolloquio presso la sede di Seriate").as_deref(),
            Some("Seriate")
        );
    }

    #[test]
    fn addresses() {
        assert_eq!(
            find_address("ci vediamo in via Roma 12 a Dalmine").map(|a| a.1),
            Some("via Roma 12".into())
        );
        assert_eq!(
            find_address("Piazza Vittorio Veneto, n. 3/B").map(|a| a.1),
            Some("Piazza Vittorio Veneto, n. 3/B".into())
        );
        assert_eq!(find_address("vi scrivo via email per 2 ore"), None);
        assert_eq!(
            find_address("presso Via Papa Giovanni XXIII").map(|a| a.1),
            Some("Via Papa Giovanni XXIII".into())
        );
    }
}
