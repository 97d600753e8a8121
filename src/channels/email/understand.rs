//! The one seam between email intake and the request extractor.
//!
//! The extractor (`crate::extract`, branch `extract`) is not in main yet. Until it is, this file
//! holds a deliberately small stand-in (a few dozen language names, numeric and month-name dates,
//! "ore/alle HH[:.]MM" times, durations, intervention and modality keywords) so the pipeline,
//! its tests and the question for missing fields work end to end. Swapping in the real extractor
//! changes [`understand`] and [`merge`] only.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use chrono_tz::Europe::Rome;
use regex::Regex;
use std::sync::LazyLock;

use crate::domain::{InterventionType, LanguageCode, Modality};
use crate::store::{NewRequest, Request};

/// The fields every request needs before a mediator can be sought.
pub const REQUIRED: [&str; 3] = ["language", "date", "start_time"];

/// What was understood from one text: the request fields, plus which required ones are missing.
#[derive(Debug, Clone, Default)]
pub struct Understood {
    pub fields: NewRequest,
    pub missing: Vec<String>,
}

/// Reads a new request.
pub fn understand(text: &str, now: DateTime<Utc>) -> Understood {
    let mut fields = NewRequest::default();
    read_into(text, now, &mut fields);
    finish(fields)
}

/// Merges a follow-up's text into an existing request: what the new text says wins, the rest
/// is kept.
pub fn merge(existing: &Request, text: &str, now: DateTime<Utc>) -> Understood {
    let mut fields = NewRequest {
        requester_name: existing.requester_name.clone(),
        requester_email: existing.requester_email.clone(),
        requester_phone: existing.requester_phone.clone(),
        ente: existing.ente.clone(),
        ambito: existing.ambito,
        language: existing.language.clone(),
        intervention: existing.intervention,
        modality: existing.modality,
        date: existing.date,
        start_time: existing.start_time,
        duration_minutes: existing.duration_minutes,
        starts_at: existing.starts_at,
        ends_at: existing.ends_at,
        deadline: existing.deadline,
        comune: existing.comune.clone(),
        comune_istat: existing.comune_istat.clone(),
        address: existing.address.clone(),
        urgent: existing.urgent,
        mediator_gender: existing.mediator_gender,
        case_ref: existing.case_ref.clone(),
        notes: existing.notes.clone(),
        draft: existing.draft.clone(),
        source_message_id: existing.source_message_id.clone(),
        subject: existing.subject.clone(),
        ..NewRequest::default()
    };
    read_into(text, now, &mut fields);
    finish(fields)
}

fn finish(mut fields: NewRequest) -> Understood {
    let translation = fields.intervention == Some(InterventionType::TraduzioneScritta);
    let mut missing = Vec::new();
    if fields.language.is_none() {
        missing.push("language".to_owned());
    }
    if !translation && fields.date.is_none() {
        missing.push("date".to_owned());
    }
    if !translation && fields.start_time.is_none() {
        missing.push("start_time".to_owned());
    }
    if let (Some(d), Some(t)) = (fields.date, fields.start_time) {
        let local = d.and_time(t);
        if let Some(at) = local.and_local_timezone(Rome).earliest() {
            let start = at.with_timezone(&Utc);
            fields.starts_at = Some(start);
            fields.ends_at = fields
                .duration_minutes
                .map(|m| start + chrono::Duration::minutes(m));
        }
    }
    fields.missing = missing.clone();
    Understood { fields, missing }
}

const LANGUAGES: &[(&str, &[&str])] = &[
    ("ar", &["arabo", "araba", "arabi", "arabe"]),
    ("en", &["inglese", "inglesi"]),
    ("fr", &["francese", "francesi"]),
    ("es", &["spagnolo", "spagnola"]),
    ("pt", &["portoghese"]),
    ("de", &["tedesco", "tedesca"]),
    ("zh", &["cinese", "cinesi", "mandarino"]),
    ("ur", &["urdu"]),
    ("pa", &["punjabi", "panjabi"]),
    ("hi", &["hindi"]),
    ("bn", &["bengalese", "bangla"]),
    ("sq", &["albanese", "albanesi"]),
    ("ro", &["rumeno", "rumena", "romeno", "romena", "moldavo"]),
    ("uk", &["ucraino", "ucraina"]),
    ("ru", &["russo", "russa"]),
    ("pl", &["polacco", "polacca"]),
    ("tr", &["turco", "turca"]),
    ("fa", &["farsi", "persiano"]),
    ("ps", &["pashto"]),
    ("prs", &["dari"]),
    ("so", &["somalo", "somala"]),
    ("ti", &["tigrino", "tigrina"]),
    ("am", &["amarico", "amarica"]),
    ("wo", &["wolof"]),
    ("tw", &["twi", "akan"]),
    ("tl", &["tagalog"]),
    ("si", &["singalese", "cingalese"]),
    ("ta", &["tamil"]),
    ("ff", &["fula", "peul"]),
    ("bm", &["bambara"]),
    ("pcm", &["pidgin"]),
];

const MONTHS: [&str; 12] = [
    "gennaio",
    "febbraio",
    "marzo",
    "aprile",
    "maggio",
    "giugno",
    "luglio",
    "agosto",
    "settembre",
    "ottobre",
    "novembre",
    "dicembre",
];

static TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(?:ore|alle|dalle|h\.?)\s*(\d{1,2})(?:[:.](\d{2}))?\b").expect("time regex")
});
static NUM_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{4}|\d{2}))?\b").expect("date regex")
});
static WORD_DATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(\d{1,2})\s+(gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre)(?:\s+(\d{4}))?\b")
        .expect("word date regex")
});
static DURATION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\b(\d{1,3})\s*(ore|ora|h|minuti|min)\b").expect("duration regex")
});

fn read_into(text: &str, now: DateTime<Utc>, f: &mut NewRequest) {
    let lower = text.to_lowercase();
    let today = now.with_timezone(&Rome).date_naive();

    for word in lower.split(|c: char| !c.is_alphabetic()) {
        if let Some((code, _)) = LANGUAGES.iter().find(|(_, forms)| forms.contains(&word)) {
            if let Ok(code) = LanguageCode::parse(code) {
                f.language = Some(code);
            }
            break;
        }
    }

    let mut blanked = lower.clone();
    if let Some(c) = TIME.captures(&lower) {
        let h: u32 = c.get(1).and_then(|m| m.as_str().parse().ok()).unwrap_or(99);
        let m: u32 = c.get(2).and_then(|m| m.as_str().parse().ok()).unwrap_or(0);
        if let Some(t) = NaiveTime::from_hms_opt(h, m, 0) {
            f.start_time = Some(t);
        }
        if let Some(whole) = c.get(0) {
            blanked.replace_range(whole.range(), &" ".repeat(whole.len()));
        }
    }

    let date = WORD_DATE
        .captures(&blanked)
        .and_then(|c| {
            let d: u32 = c.get(1)?.as_str().parse().ok()?;
            let name = c.get(2)?.as_str();
            let m = MONTHS.iter().position(|n| *n == name)? as u32 + 1;
            let y: Option<i32> = c.get(3).and_then(|y| y.as_str().parse().ok());
            resolve(today, d, m, y)
        })
        .or_else(|| {
            NUM_DATE.captures_iter(&blanked).find_map(|c| {
                let d: u32 = c.get(1)?.as_str().parse().ok()?;
                let m: u32 = c.get(2)?.as_str().parse().ok()?;
                let y: Option<i32> = c
                    .get(3)
                    .and_then(|y| y.as_str().parse().ok())
                    .map(|y: i32| if y < 100 { 2000 + y } else { y });
                resolve(today, d, m, y)
            })
        });
    if date.is_some() {
        f.date = date;
    }

    if let Some(c) = DURATION.captures(&blanked) {
        let n: i64 = c.get(1).and_then(|m| m.as_str().parse().ok()).unwrap_or(0);
        let minutes = match c.get(2).map(|m| m.as_str()) {
            Some("minuti" | "min") => n,
            _ => n * 60,
        };
        if (15..=720).contains(&minutes) {
            f.duration_minutes = Some(minutes);
        }
    }

    let intervention = [
        ("visita domiciliare", InterventionType::VisitaDomiciliare),
        ("incontro protetto", InterventionType::IncontroProtetto),
        ("incontro vigilato", InterventionType::IncontroProtetto),
        ("udienza", InterventionType::Udienza),
        ("traduzione", InterventionType::TraduzioneScritta),
        ("équipe", InterventionType::Riunione),
        ("riunione", InterventionType::Riunione),
        ("telefonata", InterventionType::Telefonata),
        ("colloquio", InterventionType::Colloquio),
    ]
    .into_iter()
    .find(|(k, _)| lower.contains(k))
    .map(|(_, t)| t);
    if intervention.is_some() {
        f.intervention = intervention;
    }
    if lower.contains("videochiamata") || lower.contains("in video") {
        f.modality = Some(Modality::Video);
    } else if lower.contains("telefonic") || lower.contains("per telefono") {
        f.modality = Some(Modality::Phone);
    } else if lower.contains("in presenza") {
        f.modality = Some(Modality::InPerson);
    }
    if lower.contains("urgente") {
        f.urgent = true;
    }
}

/// A day and month (and maybe year) as the next such date from today.
fn resolve(today: NaiveDate, d: u32, m: u32, y: Option<i32>) -> Option<NaiveDate> {
    match y {
        Some(y) => NaiveDate::from_ymd_opt(y, m, d),
        None => {
            let this = NaiveDate::from_ymd_opt(today.year(), m, d)?;
            if this >= today {
                Some(this)
            } else {
                NaiveDate::from_ymd_opt(today.year() + 1, m, d)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap()
    }

    #[test]
    fn reads_a_typical_request_and_names_what_is_missing() {
        let u = understand(
            "Serve una mediatrice di lingua araba per un colloquio il 12/03 alle 14.30, durata 2 ore.",
            now(),
        );
        assert_eq!(u.fields.language.as_ref().map(|l| l.as_str()), Some("ar"));
        assert_eq!(u.fields.date, NaiveDate::from_ymd_opt(2027, 3, 12));
        assert_eq!(u.fields.start_time, NaiveTime::from_hms_opt(14, 30, 0));
        assert_eq!(u.fields.duration_minutes, Some(120));
        assert_eq!(u.fields.intervention, Some(InterventionType::Colloquio));
        assert!(u.missing.is_empty());
        let u = understand("Serve un mediatore urdu il 5 aprile", now());
        assert_eq!(u.missing, vec!["start_time"]);
    }
}
