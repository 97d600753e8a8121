//! The language catalogue (`data/languages.toml`): lookup by code or Italian name, the list the
//! bot suggests, the family of a variant (ary -> ar), and finding languages and nationality words
//! in a request.

use regex::Regex;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::LazyLock;

use super::fold::{Folded, fold};
use crate::domain::LanguageCode;

/// One language of the catalogue.
#[derive(Debug, Clone, Deserialize)]
pub struct Language {
    pub code: String,
    /// Standard Italian name (CLDR).
    pub name: String,
    /// Parent code for a variant (e.g. `ary` -> `ar`).
    #[serde(default)]
    pub family: Option<String>,
    /// Nouns, adjectives, variants and misspellings, folded (lower case, no accents).
    #[serde(default)]
    pub forms: Vec<String>,
    /// Nationality words that only suggest this language.
    #[serde(default)]
    pub nationalities: Vec<String>,
}

impl Language {
    /// The typed code (every code of the bundled file is valid: checked by a test).
    pub fn code(&self) -> Option<LanguageCode> {
        LanguageCode::parse(&self.code).ok()
    }
}

#[derive(Deserialize)]
struct File {
    language: Vec<Language>,
}

struct Catalogue {
    languages: Vec<Language>,
    by_code: HashMap<String, usize>,
    /// folded phrase -> (language index, is a nationality word)
    phrases: HashMap<String, (usize, bool)>,
    matcher: Regex,
}

static CATALOGUE: LazyLock<Catalogue> = LazyLock::new(|| {
    let file: File = toml::from_str(include_str!("../../data/languages.toml"))
        .unwrap_or_else(|e| panic!("bundled data/languages.toml is invalid: {e}"));
    build(file.language)
});

fn build(languages: Vec<Language>) -> Catalogue {
    let mut by_code = HashMap::new();
    let mut phrases: HashMap<String, (usize, bool)> = HashMap::new();
    for (i, l) in languages.iter().enumerate() {
        by_code.insert(l.code.clone(), i);
        // Language forms win over nationality words when both list the same word.
        for n in &l.nationalities {
            phrases.entry(fold(n)).or_insert((i, true));
        }
    }
    for (i, l) in languages.iter().enumerate() {
        for f in std::iter::once(&l.name).chain(l.forms.iter()) {
            let key = fold(f);
            match phrases.get(&key) {
                Some((_, false)) => {}
                _ => {
                    phrases.insert(key, (i, false));
                }
            }
        }
    }
    let mut keys: Vec<&String> = phrases.keys().collect();
    keys.sort_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
    let alternation: Vec<String> = keys
        .iter()
        .map(|k| regex::escape(k).replace(' ', r"\s+"))
        .collect();
    let pattern = format!(r"\b(?:{})(?:\b|$)", alternation.join("|"));
    let matcher =
        Regex::new(&pattern).unwrap_or_else(|e| panic!("language matcher does not compile: {e}"));
    Catalogue {
        languages,
        by_code,
        phrases,
        matcher,
    }
}

/// All languages, in catalogue order (the cooperative's own languages first): the bot's list.
pub fn all() -> &'static [Language] {
    &CATALOGUE.languages
}

/// The language with this code.
pub fn by_code(code: &str) -> Option<&'static Language> {
    let c = &*CATALOGUE;
    c.by_code
        .get(&code.trim().to_ascii_lowercase())
        .map(|&i| &c.languages[i])
}

/// The language an Italian name, adjective or variant designates ("araba", "Bangla", "romeno").
pub fn by_name(name: &str) -> Option<&'static Language> {
    let c = &*CATALOGUE;
    let key = fold(name.trim());
    let key = key.strip_prefix("lingua ").unwrap_or(&key);
    match c.phrases.get(key) {
        Some(&(i, false)) => Some(&c.languages[i]),
        _ => None,
    }
}

/// The language a nationality word suggests ("marocchina" -> arabo marocchino).
pub fn by_nationality(word: &str) -> Option<&'static Language> {
    let c = &*CATALOGUE;
    match c.phrases.get(&fold(word.trim())) {
        Some(&(i, true)) => Some(&c.languages[i]),
        _ => None,
    }
}

/// The family (parent) code of a language, or the code itself when it has none.
pub fn family(code: &str) -> Option<&'static str> {
    let l = by_code(code)?;
    Some(l.family.as_deref().unwrap_or(l.code.as_str()))
}

/// An Italian language name with its definite article (names of languages are masculine):
/// "l'arabo marocchino", "l'urdu", "lo swahili", "lo spagnolo", "il pashto".
pub fn with_article(name: &str) -> String {
    let name = name.trim();
    let f = fold(name);
    let mut c = f.chars();
    let (first, second) = (c.next().unwrap_or(' '), c.next().unwrap_or(' '));
    let vowel = |x: char| matches!(x, 'a' | 'e' | 'i' | 'o' | 'u');
    let article = if vowel(first) || first == 'h' {
        "l'"
    } else if matches!(first, 'z' | 'x' | 'y')
        || (first == 's' && !vowel(second) && second.is_alphabetic())
        || (first == 'g' && second == 'n')
        || (first == 'p' && matches!(second, 's' | 'n'))
    {
        "lo "
    } else {
        "il "
    };
    format!("{article}{name}")
}

/// A language or nationality word found in a text.
#[derive(Debug, Clone)]
pub struct Found {
    pub language: &'static Language,
    /// The word was a nationality: the language is only a suggestion.
    pub nationality: bool,
    /// The original words.
    pub text: String,
    pub start: usize,
    /// Asked for ("serve un mediatore dari"), not only spoken ("il padre parla pashto").
    pub requested: bool,
    /// Taken back ("non farsi", "invece del francese").
    pub negated: bool,
}

/// Words right before a language that ask for it: "mediatore di lingua", "serve", "cerchiamo".
static REQUEST_CUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:mediator[ei]|mediatric[ei]|mediazione|interprete|serve|servono|servirebbe|occorre|occorrono|cerco|cerchiamo|chiediamo|richiede|bisogno\s+di)(?:\s+(?:di|in|lingua|linguistic[oa]|culturale|quindi|un|una|uno|per|il|la|l'|madrelingua|anche|solo|sempre|mediatore|mediatrice|mediazione))*\s*$")
        .unwrap_or_else(|e| panic!("{e}"))
});
/// Words right before a language that take it back.
static NEGATION_CUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\bnon\s+(?:in\s+|il\s+|l'|di\s+|piu\s+)?|\binvece\s+(?:che|del|dell'|di)\s*|\banziche\s*)$")
        .unwrap_or_else(|e| panic!("{e}"))
});
/// "arabo o francese", "arabo e francese": the second is asked for like the first.
static JOINED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:o|oppure|e|/|,)\s*(?:in\s+)?$").unwrap_or_else(|e| panic!("{e}"))
});
/// Between a language and a nationality word that qualifies it: "araba (marocchina)".
static QUALIFIER_GAP: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*[(\-/]?\s*$").unwrap_or_else(|e| panic!("{e}")));
/// Nationality words the cooperative itself uses as language names, after "mediatore":
/// "una mediatrice ghanese" (twi), "togolese" (ewe).
const NATIONALITY_AS_LANGUAGE: &[&str] = &["tw", "ee"];

static LANGUAGE_CUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:lingua|madrelingua|idioma|parla|parlano|dialetto|traduzione in|traduzione dall'?|in)\s*$")
        .unwrap_or_else(|e| panic!("{e}"))
});

/// Finds languages (certain) and nationality words (suggestions) in folded text, in order.
pub(crate) fn find(
    original: &str,
    folded: &Folded,
    masked: &dyn Fn(usize, usize) -> bool,
) -> Vec<Found> {
    let c = &*CATALOGUE;
    let mut out = Vec::new();
    for m in c.matcher.find_iter(&folded.text) {
        if masked(m.start(), m.end()) {
            continue;
        }
        let key = normalize_spaces(m.as_str());
        let Some(&(i, nat)) = c.phrases.get(&key) else {
            continue;
        };
        let orig = folded.slice(original, m.start(), m.end());
        if looks_like_surname(original, folded, m.start(), m.end(), orig) {
            continue;
        }
        let mut from = m.start().saturating_sub(40);
        while !folded.text.is_char_boundary(from) {
            from -= 1;
        }
        let before = &folded.text[from..m.start()];
        let cue = LANGUAGE_CUE.is_match(before);
        let language = &c.languages[i];
        let asked = REQUEST_CUE.is_match(before);
        let joined = out.last().is_some_and(|p: &Found| {
            p.requested
                && folded
                    .text
                    .get(p.start + p.text.len().min(m.start() - p.start)..m.start())
                    .is_some_and(|gap| {
                        let gap = gap.trim_start_matches(|ch: char| ch.is_alphanumeric());
                        JOINED.is_match(gap)
                    })
        });
        let as_language = nat && asked && NATIONALITY_AS_LANGUAGE.contains(&language.code.as_str());
        // "araba (marocchina)", "arabo - marocchino": a nationality word right after a language
        // of its family, with no word between, names the variant
        let qualified = out.last().filter(|p: &&Found| {
            nat && !p.nationality
                && language.family.as_deref() == Some(p.language.code.as_str())
                && folded
                    .text
                    .get(p.start + p.text.len().min(m.start() - p.start)..m.start())
                    .is_some_and(|gap| {
                        let gap = gap.trim_start_matches(|ch: char| ch.is_alphanumeric());
                        QUALIFIER_GAP.is_match(gap)
                    })
        });
        let qualified_asked = qualified.is_some_and(|p| p.requested);
        out.push(Found {
            language,
            nationality: nat && !cue && !as_language && qualified.is_none(),
            text: orig.to_string(),
            start: m.start(),
            requested: asked || joined || qualified_asked,
            negated: NEGATION_CUE.is_match(before),
        });
    }
    out
}

fn normalize_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// "Laura Russo", "Greco Marco": a capitalised language word next to another capitalised word is
/// a surname, not a language.
fn looks_like_surname(
    original: &str,
    folded: &Folded,
    start: usize,
    end: usize,
    word: &str,
) -> bool {
    if !word.chars().next().is_some_and(char::is_uppercase) {
        return false;
    }
    if word.chars().all(|c| !c.is_lowercase()) && word.chars().count() > 2 {
        // ALL CAPS text: not a name signal.
        return false;
    }
    let (a, b) = (folded.orig(start), folded.orig(end));
    let line_before = original[..a].rsplit('\n').next().unwrap_or("");
    let line_after = original[b..].split('\n').next().unwrap_or("");
    let prev = line_before.split_whitespace().next_back().unwrap_or("");
    let next = line_after.split_whitespace().next().unwrap_or("");
    if fold(prev).trim_end_matches(':').ends_with("lingua") {
        return false;
    }
    let cap = |w: &str| {
        let w = w.trim_matches(|c: char| !c.is_alphanumeric());
        w.len() > 1
            && w.chars().next().is_some_and(char::is_uppercase)
            && w.chars().skip(1).all(|c| c.is_lowercase() || c == '\'')
            && !matches!(
                w,
                "Lingua"
                    | "Mediatrice"
                    | "Mediatore"
                    | "Mediazione"
                    | "Buongiorno"
                    | "Salve"
                    | "Arabo"
                    | "Oggetto"
                    | "Richiesta"
                    | "Urgente"
            )
    };
    cap(prev) || cap(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_valid_and_large_enough() {
        assert!(all().len() >= 70, "{} languages", all().len());
        for l in all() {
            assert!(LanguageCode::parse(&l.code).is_ok(), "bad code {}", l.code);
            if let Some(f) = &l.family {
                assert!(by_code(f).is_some(), "{} has unknown family {f}", l.code);
            }
        }
        let mut codes: Vec<_> = all().iter().map(|l| &l.code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), all().len(), "duplicate codes");
    }

    #[test]
    fn lookups() {
        assert_eq!(by_name("Araba").map(|l| l.code.as_str()), Some("ar"));
        assert_eq!(by_name("romeno").map(|l| l.code.as_str()), Some("ro"));
        assert_eq!(by_name("Bangla").map(|l| l.code.as_str()), Some("bn"));
        assert_eq!(by_name("cingalese").map(|l| l.code.as_str()), Some("si"));
        assert_eq!(by_name("lingua urdu").map(|l| l.code.as_str()), Some("ur"));
        assert_eq!(
            by_code("ARY").map(|l| l.name.as_str()),
            Some("arabo marocchino")
        );
        assert_eq!(family("ary"), Some("ar"));
        assert_eq!(family("ar"), Some("ar"));
        assert_eq!(family("xx"), None);
        assert_eq!(
            by_nationality("pakistana").map(|l| l.code.as_str()),
            Some("ur")
        );
        assert!(by_name("pakistana").is_none());
    }

    #[test]
    fn articles() {
        let a = |n: &str| with_article(n);
        assert_eq!(a("arabo marocchino"), "l'arabo marocchino");
        assert_eq!(a("urdu"), "l'urdu");
        assert_eq!(a("hindi"), "l'hindi");
        assert_eq!(a("swahili"), "lo swahili");
        assert_eq!(a("spagnolo"), "lo spagnolo");
        assert_eq!(a("yoruba"), "lo yoruba");
        assert_eq!(a("pashto"), "il pashto");
        assert_eq!(a("dari"), "il dari");
        assert_eq!(a("cinese"), "il cinese");
        for l in all() {
            let w = with_article(&l.name);
            assert!(
                w.starts_with("l'") || w.starts_with("lo ") || w.starts_with("il "),
                "{w}"
            );
        }
    }

    #[test]
    fn finds_languages_and_nationalities() {
        let t =
            "Serve una mediatrice di lingua ARABA (famiglia marocchina), la collega Laura Russo";
        let f = Folded::new(t);
        let found = find(t, &f, &|_, _| false);
        let codes: Vec<_> = found
            .iter()
            .map(|x| (x.language.code.as_str(), x.nationality))
            .collect();
        assert_eq!(codes, vec![("ar", false), ("ary", true)]);
        let t = "arabo marocchino";
        let f = Folded::new(t);
        assert_eq!(find(t, &f, &|_, _| false)[0].language.code, "ary");
        // a nationality right after its family's language names the variant
        let t = "mediatrice di lingua araba (marocchina)";
        let f = Folded::new(t);
        let found = find(t, &f, &|_, _| false);
        let codes: Vec<_> = found
            .iter()
            .map(|x| (x.language.code.as_str(), x.nationality, x.requested))
            .collect();
        assert_eq!(codes, vec![("ar", false, true), ("ary", false, true)]);
    }
}
