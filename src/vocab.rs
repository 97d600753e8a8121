//! How the domain's codes read in words, in a person's language: request statuses, types of
//! intervention, modalities, channels, language names, field names, long dates ("giovedì 11
//! marzo"), and words that follow the mediator's gender ("la mediatrice ... confermata").
//!
//! Every channel, the CLI and the console render through here, so a person never reads an
//! internal code (`visita_domiciliare`, `in_person`, `ar`). The words live in
//! `prompts/<lang>/words.toml`; English language names in `data/languages-en.tsv` (CLDR en),
//! Italian ones in `data/languages.toml` (CLDR it). `--json` output keeps the codes.

use std::collections::HashMap;
use std::sync::LazyLock;

use chrono::{Datelike, NaiveDate, NaiveTime};

use crate::config::Lang;
use crate::domain::{Channel, Gender, InterventionType, Modality, RequestStatus};
use crate::prompts::t;

static ENGLISH_NAMES: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    include_str!("../data/languages-en.tsv")
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .collect()
});

/// "in coda", "offerta ai mediatori"...
pub fn status(lang: Lang, s: RequestStatus) -> String {
    t(lang, &format!("words.status_{}", s.as_str()), &[])
}

/// "visita domiciliare", "home visit".
pub fn intervention(lang: Lang, i: InterventionType) -> String {
    t(lang, &format!("words.intervention_{}", i.as_str()), &[])
}

/// "in presenza", "by phone".
pub fn modality(lang: Lang, m: Modality) -> String {
    t(lang, &format!("words.modality_{}", m.as_str()), &[])
}

/// "email", "Telegram", "riga di comando".
pub fn channel(lang: Lang, c: Channel) -> String {
    t(lang, &format!("words.channel_{}", c.as_str()), &[])
}

/// "donna" / "uomo".
pub fn gender(lang: Lang, g: Gender) -> String {
    t(lang, &format!("words.gender_{}", g.as_str()), &[])
}

/// The standard name of a language code: "arabo" / "Arabic"; an unknown code is shown as it is
/// (it came from a person, not from us).
pub fn language(lang: Lang, code: &str) -> String {
    match lang {
        Lang::En => ENGLISH_NAMES
            .get(code)
            .map(|n| (*n).to_string())
            .or_else(|| crate::extract::languages::by_code(code).map(|l| l.name.clone())),
        Lang::It => crate::extract::languages::by_code(code).map(|l| l.name.clone()),
    }
    .unwrap_or_else(|| code.to_string())
}

/// The language a person names in a form: its name in `lang` ("arabo", "Arabic"), any Italian
/// name or variant the extractor knows ("araba", "bangla"), or its code ("ar"). `None` when it
/// names none.
pub fn language_from_words(lang: Lang, text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let english = || {
        ENGLISH_NAMES
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(text))
            .map(|(code, _)| (*code).to_string())
    };
    let italian = || crate::extract::languages::by_name(text).map(|l| l.code.clone());
    let code = || crate::extract::languages::by_code(text).map(|l| l.code.clone());
    match lang {
        Lang::En => english().or_else(italian),
        Lang::It => italian().or_else(english),
    }
    .or_else(code)
}

/// Every language the catalogue knows, named in `lang`, sorted by name: the form's choices.
pub fn language_names(lang: Lang) -> Vec<String> {
    let mut names: Vec<String> = crate::extract::languages::all()
        .iter()
        .map(|l| language(lang, &l.code))
        .collect();
    names.sort_by_key(|n| n.to_lowercase());
    names.dedup();
    names
}

/// A channel of `/healthz` ("imap", "telegram") in words.
pub fn health_channel(lang: Lang, name: &str) -> String {
    words_or_code(lang, "health_channel", name)
}

/// A channel's health state ("ok", "stale", ...) in words.
pub fn health_state(lang: Lang, state: &str) -> String {
    words_or_code(lang, "health_state", state)
}

/// `words.<prefix>_<code>` when the catalogue has it, else the code with spaces for
/// underscores (an open-ended code, such as a history action, never shows as `snake_case`).
fn words_or_code(lang: Lang, prefix: &str, code: &str) -> String {
    let key = format!("words.{prefix}_{code}");
    if crate::prompts::Prompts::global()
        .template(lang, &key)
        .is_some()
    {
        t(lang, &key, &[])
    } else {
        code.replace('_', " ")
    }
}

/// A field a request may miss ("language", "start", "place"...), in words.
pub fn field(lang: Lang, name: &str) -> String {
    words_or_code(lang, "field", name)
}

/// Several fields, joined for a table or a sentence: "lingua, data, luogo".
pub fn fields(lang: Lang, names: &[String]) -> String {
    names
        .iter()
        .map(|n| field(lang, n))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a request went to the coordinator ("nobody_eligible" -> "nessun mediatore idoneo").
pub fn escalation(lang: Lang, reason: &str) -> String {
    words_or_code(lang, "escalation", reason)
}

/// An entry of a request's history ("created" -> "creata"); an action without words is shown
/// with spaces for underscores.
pub fn audit_action(lang: Lang, action: &str) -> String {
    words_or_code(lang, "audit", action)
}

/// "sì" / "no".
pub fn yes_no(lang: Lang, b: bool) -> String {
    t(lang, if b { "words.yes" } else { "words.no" }, &[])
}

/// "lunedì" / "Monday".
pub fn weekday(lang: Lang, d: NaiveDate) -> String {
    t(
        lang,
        &format!("words.weekday_{}", d.weekday().number_from_monday()),
        &[],
    )
}

/// "giovedì 11 marzo" / "Thursday 11 March" (the year only when `with_year`).
pub fn date_long(lang: Lang, d: NaiveDate, with_year: bool) -> String {
    let weekday = weekday(lang, d);
    let day = d.day().to_string();
    let month = t(lang, &format!("words.month_{}", d.month()), &[]);
    let year = d.year().to_string();
    let args = [
        ("weekday", weekday.as_str()),
        ("day", day.as_str()),
        ("month", month.as_str()),
        ("year", year.as_str()),
    ];
    if with_year {
        t(lang, "words.date_long_year", &args)
    } else {
        t(lang, "words.date_long", &args[..3])
    }
}

/// "giovedì 11 marzo, 14:30"; the date alone when there is no time.
pub fn date_time(lang: Lang, d: NaiveDate, time: Option<NaiveTime>) -> String {
    with_time(lang, date_long(lang, d, false), time)
}

/// "giovedì 21 gennaio 2027, 14:30": for lists that span years.
pub fn date_time_year(lang: Lang, d: NaiveDate, time: Option<NaiveTime>) -> String {
    with_time(lang, date_long(lang, d, true), time)
}

fn with_time(lang: Lang, date: String, time: Option<NaiveTime>) -> String {
    match time {
        Some(tm) => {
            let time = tm.format("%H:%M").to_string();
            t(
                lang,
                "words.date_time",
                &[("date", date.as_str()), ("time", time.as_str())],
            )
        }
        None => date,
    }
}

/// "il mediatore" / "la mediatrice" from the known gender.
pub fn mediator(lang: Lang, g: Option<Gender>) -> String {
    let key = match g {
        Some(Gender::F) => "words.mediator_f",
        Some(Gender::M) => "words.mediator_m",
        None => "words.mediator_unknown",
    };
    t(lang, key, &[])
}

/// "confermato" / "confermata" from the known gender.
pub fn confirmed(lang: Lang, g: Option<Gender>) -> String {
    let key = match g {
        Some(Gender::F) => "words.confirmed_f",
        Some(Gender::M) => "words.confirmed_m",
        None => "words.confirmed_unknown",
    };
    t(lang, key, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_as_words_in_both_languages() {
        assert_eq!(
            intervention(Lang::It, InterventionType::VisitaDomiciliare),
            "visita domiciliare"
        );
        assert_eq!(modality(Lang::It, Modality::InPerson), "in presenza");
        assert_eq!(modality(Lang::En, Modality::InPerson), "in person");
        assert_eq!(language(Lang::It, "ar"), "arabo");
        assert_eq!(language(Lang::En, "ar"), "Arabic");
        assert_eq!(language(Lang::En, "ary"), "Moroccan Arabic");
        assert_eq!(
            status(Lang::It, RequestStatus::Escalated),
            "al coordinatore"
        );
        assert_eq!(field(Lang::It, "start"), "ora di inizio");
        assert_eq!(
            escalation(Lang::It, "nobody_eligible"),
            "nessun mediatore idoneo"
        );
    }

    #[test]
    fn every_code_has_words() {
        for lang in [Lang::It, Lang::En] {
            for s in RequestStatus::ALL {
                assert!(!status(lang, s).contains('_'), "{s}");
            }
            for i in InterventionType::ALL {
                assert!(!intervention(lang, *i).contains('_'), "{i}");
            }
        }
        for l in crate::extract::languages::all() {
            assert!(
                ENGLISH_NAMES.contains_key(l.code.as_str()),
                "data/languages-en.tsv has no name for {}",
                l.code
            );
        }
    }

    #[test]
    fn long_dates() {
        let d = NaiveDate::from_ymd_opt(2027, 3, 11).unwrap();
        let tm = NaiveTime::from_hms_opt(14, 30, 0);
        assert_eq!(date_time(Lang::It, d, tm), "giovedì 11 marzo, 14:30");
        assert_eq!(date_time(Lang::En, d, tm), "Thursday 11 March, 14:30");
        assert_eq!(date_long(Lang::It, d, true), "giovedì 11 marzo 2027");
    }

    #[test]
    fn gendered_words() {
        assert_eq!(mediator(Lang::It, Some(Gender::F)), "la mediatrice");
        assert_eq!(confirmed(Lang::It, Some(Gender::F)), "confermata");
        assert_eq!(confirmed(Lang::It, None), "confermato/a");
    }
}
