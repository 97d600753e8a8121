//! The extractor's warning texts, read from `prompts/<lang>/extract.toml` (flat `code = "text"`)
//! so that no user-facing sentence lives in code. Kept local until the shared prompt loader lands.

use std::collections::HashMap;
use std::sync::LazyLock;

static IT: LazyLock<HashMap<String, String>> =
    LazyLock::new(|| load(include_str!("../../prompts/it/extract.toml")));
static EN: LazyLock<HashMap<String, String>> =
    LazyLock::new(|| load(include_str!("../../prompts/en/extract.toml")));

fn load(src: &str) -> HashMap<String, String> {
    toml::from_str::<HashMap<String, String>>(src).unwrap_or_default()
}

/// Renders the message for `code` in `lang` ("it" default, "en"), filling `{name}` placeholders.
/// An unknown code renders as the code itself.
pub fn render(lang: &str, code: &str, args: &[(String, String)]) -> String {
    let table = if lang == "en" { &*EN } else { &*IT };
    let Some(template) = table.get(code) else {
        return code.to_string();
    };
    let mut out = template.clone();
    for (k, v) in args {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

/// English language names by code (`data/languages-en.tsv`), for notes read in English.
static EN_LANGUAGES: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    include_str!("../../data/languages-en.tsv")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .map(|(c, n)| (c.trim().to_string(), n.trim().to_string()))
        .collect()
});

fn slug(s: &str) -> String {
    let folded = super::fold::fold(s);
    let mut out = String::with_capacity(folded.len());
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// A language named in Italian, in `lang`.
fn language_in(lang: &str, italian: &str) -> String {
    if lang != "en" {
        return italian.to_string();
    }
    super::languages::by_name(italian)
        .and_then(|l| EN_LANGUAGES.get(&l.code))
        .cloned()
        .unwrap_or_else(|| italian.to_string())
}

/// A note as a sentence in `lang` ("it", "en"): the template of its code, and its values in
/// that language too (weekdays, holidays and language names are kept in Italian in the note).
pub fn note_text(lang: &str, note: &super::Note) -> String {
    let table = if lang == "en" { &*EN } else { &*IT };
    let args: Vec<(String, String)> = note
        .args
        .iter()
        .map(|(k, v)| {
            let word = |prefix: &str| {
                table
                    .get(&format!("{prefix}_{}", slug(v)))
                    .cloned()
                    .unwrap_or_else(|| v.clone())
            };
            let value = match k.as_str() {
                "weekday" => word("day"),
                "holiday" => word("holiday"),
                "language" => language_in(lang, v),
                "languages" => v
                    .split(", ")
                    .map(|x| language_in(lang, x))
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => v.clone(),
            };
            (k.clone(), value)
        })
        .collect();
    render(lang, &note.code, &args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_read_in_english_have_their_values_in_english() {
        let n = super::super::Note::new(
            "weekend",
            vec![("date", "13/03/2027".into()), ("weekday", "sabato".into())],
        );
        assert_eq!(note_text("en", &n), "13/03/2027 is a Saturday: weekend");
        assert_eq!(
            note_text("it", &n),
            "Il 13/03/2027 è sabato: giorno festivo o di fine settimana"
        );
        let h = super::super::Note::new(
            "holiday",
            vec![
                ("date", "29/03/2027".into()),
                ("holiday", "Lunedì dell'Angelo".into()),
            ],
        );
        assert_eq!(
            note_text("en", &h),
            "29/03/2027 is a public holiday (Easter Monday)"
        );
        let l = super::super::Note::new(
            "nationality_only",
            vec![
                ("nationality", "marocchina".into()),
                ("language", "arabo marocchino".into()),
            ],
        );
        assert!(
            note_text("en", &l).contains("Moroccan Arabic"),
            "{}",
            note_text("en", &l)
        );
    }

    #[test]
    fn both_languages_have_the_same_codes() {
        let mut a: Vec<_> = IT.keys().collect();
        let mut b: Vec<_> = EN.keys().collect();
        a.sort();
        b.sort();
        assert!(!a.is_empty());
        assert_eq!(a, b);
        let m = render(
            "it",
            "date_in_past",
            &[("date".into(), "01/03/2027".into())],
        );
        assert_eq!(m, "La data 01/03/2027 è già passata");
    }
}
