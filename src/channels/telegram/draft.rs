//! The operator's request as it is being written in the chat: what is known, what is missing,
//! which question comes next, and how a free-text answer fills one field. Pure (no I/O): the
//! dialogue keeps a [`Draft`] in its JSON state.
//!
//! [`read_text`] is the one place that turns free text into fields: the shared extractor
//! (`crate::extract::extract`). An answer to one question ([`read_answer`]) also accepts the
//! short forms people type there ("15", "3", a comune name the list does not know), read by
//! the small grammar below.

use crate::domain::{Channel, Gender, InterventionType, LanguageCode, Modality};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// A field the bot may ask for, in the order it asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Language,
    Type,
    Date,
    Time,
    Duration,
    Modality,
    Comune,
}

impl Field {
    pub fn key(self) -> &'static str {
        match self {
            Field::Language => "language",
            Field::Type => "type",
            Field::Date => "date",
            Field::Time => "time",
            Field::Duration => "duration",
            Field::Modality => "modality",
            Field::Comune => "comune",
        }
    }
}

/// What the operator has told so far.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Draft {
    pub language: Option<LanguageCode>,
    pub intervention: Option<InterventionType>,
    pub date: Option<NaiveDate>,
    pub time: Option<NaiveTime>,
    pub duration_minutes: Option<i64>,
    pub modality: Option<Modality>,
    pub comune: Option<String>,
    /// Street address or office, when the text gives one (never shown in offers).
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub urgent: bool,
    #[serde(default)]
    pub mediator_gender: Option<Gender>,
    /// The operator's own words, kept for the coordinator (never sent in offers).
    #[serde(default)]
    pub notes: Vec<String>,
}

impl Draft {
    /// Fields still needed before the request can be queued, in asking order.
    pub fn missing(&self) -> Vec<Field> {
        let translation = self.intervention == Some(InterventionType::TraduzioneScritta);
        let remote = self.modality.is_some_and(|m| m.is_remote());
        let mut out = Vec::new();
        if self.language.is_none() {
            out.push(Field::Language);
        }
        if self.intervention.is_none() {
            out.push(Field::Type);
        }
        if self.date.is_none() {
            out.push(Field::Date);
        }
        if !translation {
            if self.time.is_none() {
                out.push(Field::Time);
            }
            if self.duration_minutes.is_none() {
                out.push(Field::Duration);
            }
            if self.modality.is_none() {
                out.push(Field::Modality);
            }
            if self.comune.is_none() && !remote {
                out.push(Field::Comune);
            }
        }
        out
    }

    /// Copies every field `other` knows over this draft (a later message corrects an earlier).
    pub fn merge(&mut self, other: Draft) {
        macro_rules! take {
            ($($f:ident),*) => { $( if other.$f.is_some() { self.$f = other.$f; } )* };
        }
        take!(
            language,
            intervention,
            date,
            time,
            duration_minutes,
            modality,
            comune,
            address,
            mediator_gender
        );
        self.urgent |= other.urgent;
        self.notes.extend(other.notes);
    }

    pub fn is_empty(&self) -> bool {
        *self
            == Draft {
                notes: self.notes.clone(),
                ..Default::default()
            }
    }
}

/// Language names (Italian, as requests write them) and their codes. The first few are the
/// quick-choice buttons.
pub const LANGUAGES: &[(&str, &str)] = &[
    ("arabo", "ar"),
    ("inglese", "en"),
    ("francese", "fr"),
    ("urdu", "ur"),
    ("bengalese", "bn"),
    ("albanese", "sq"),
    ("rumeno", "ro"),
    ("cinese", "zh"),
    ("spagnolo", "es"),
    ("portoghese", "pt"),
    ("ucraino", "uk"),
    ("russo", "ru"),
    ("punjabi", "pa"),
    ("hindi", "hi"),
    ("tigrino", "ti"),
    ("somalo", "so"),
    ("wolof", "wo"),
    ("farsi", "fa"),
    ("pashto", "ps"),
    ("dari", "prs"),
    ("turco", "tr"),
    ("tagalog", "tl"),
    ("twi", "tw"),
    ("pidgin", "pcm"),
    ("amarico", "am"),
    ("singalese", "si"),
    ("tamil", "ta"),
    ("polacco", "pl"),
    ("curdo", "ku"),
    ("georgiano", "ka"),
    ("bambara", "bm"),
    ("yoruba", "yo"),
];

/// The Italian name of a language code (the code itself when unknown).
pub fn language_name(code: &LanguageCode) -> String {
    LANGUAGES
        .iter()
        .find(|(_, c)| *c == code.as_str())
        .map(|(n, _)| n.to_string())
        .unwrap_or_else(|| code.to_string())
}

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).unwrap_or_else(|_| Regex::new("$^").expect("empty")))
}

fn find_language(lower: &str) -> Option<LanguageCode> {
    // Stems catch arabo/araba/arabi, rumeno/romeno, bengalese/bangla, cingalese...
    const STEMS: &[(&str, &str)] = &[
        ("marocchin", "ary"),
        ("arab", "ar"),
        ("ingles", "en"),
        ("frances", "fr"),
        ("urdu", "ur"),
        ("pakistan", "ur"),
        ("bengal", "bn"),
        ("bangla", "bn"),
        ("albanes", "sq"),
        ("rumen", "ro"),
        ("romen", "ro"),
        ("moldav", "ro"),
        ("cines", "zh"),
        ("mandarin", "zh"),
        ("spagnol", "es"),
        ("portoghes", "pt"),
        ("ucrain", "uk"),
        ("russ", "ru"),
        ("punjabi", "pa"),
        ("hindi", "hi"),
        ("tigrin", "ti"),
        ("somal", "so"),
        ("wolof", "wo"),
        ("farsi", "fa"),
        ("persian", "fa"),
        ("pashto", "ps"),
        ("dari", "prs"),
        ("turc", "tr"),
        ("tagalog", "tl"),
        ("twi", "tw"),
        ("ghanes", "tw"),
        ("pidgin", "pcm"),
        ("amaric", "am"),
        ("singales", "si"),
        ("cingales", "si"),
        ("tamil", "ta"),
        ("polacc", "pl"),
        ("curd", "ku"),
        ("georgian", "ka"),
        ("bambara", "bm"),
        ("yoruba", "yo"),
    ];
    static WORD: OnceLock<Regex> = OnceLock::new();
    let word = re(&WORD, r"\p{L}+");
    for w in word.find_iter(lower) {
        let w = w.as_str();
        if let Some((_, code)) = STEMS.iter().find(|(s, _)| w.starts_with(s)) {
            // "russo" yes, "russare" no: stems of 4+ letters only match short words.
            if w.len() <= 12 {
                return LanguageCode::parse(code).ok();
            }
        }
    }
    None
}

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

fn find_date(lower: &str, today: NaiveDate) -> Option<NaiveDate> {
    if lower.contains("dopodomani") {
        return Some(today + Duration::days(2));
    }
    if lower.contains("domani") || lower.contains("domattina") {
        return Some(today + Duration::days(1));
    }
    if lower.contains("oggi") {
        return Some(today);
    }
    static NUM: OnceLock<Regex> = OnceLock::new();
    let num = re(&NUM, r"\b(\d{1,2})[/.\-](\d{1,2})(?:[/.\-](\d{2,4}))?\b");
    let pick = |d: u32, m: u32, y: Option<i32>| -> Option<NaiveDate> {
        match y {
            Some(y) => NaiveDate::from_ymd_opt(y, m, d),
            None => {
                let this = NaiveDate::from_ymd_opt(today.year(), m, d)?;
                if this < today {
                    NaiveDate::from_ymd_opt(today.year() + 1, m, d)
                } else {
                    Some(this)
                }
            }
        }
    };
    for c in num.captures_iter(lower) {
        // "14.30" is a time, not 14 March... unless it is followed by a year.
        let whole = c.get(0).map(|m| m.as_str()).unwrap_or_default();
        let d: u32 = c[1].parse().ok()?;
        let m: u32 = c[2].parse().ok()?;
        if whole.contains('.') && c.get(3).is_none() {
            let before = &lower[..c.get(0).map(|m| m.start()).unwrap_or(0)];
            if before.trim_end().ends_with("ore") || before.trim_end().ends_with("alle") {
                continue;
            }
        }
        let y = c
            .get(3)
            .and_then(|y| y.as_str().parse::<i32>().ok())
            .map(|y| if y < 100 { 2000 + y } else { y });
        if let Some(date) = pick(d, m, y) {
            return Some(date);
        }
    }
    static NAMED: OnceLock<Regex> = OnceLock::new();
    let named = re(
        &NAMED,
        r"\b(\d{1,2})\s+(gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre)\b",
    );
    if let Some(c) = named.captures(lower) {
        let d: u32 = c[1].parse().ok()?;
        let m = MONTHS.iter().position(|x| *x == &c[2])? as u32 + 1;
        return pick(d, m, None);
    }
    None
}

fn find_time(lower: &str) -> Option<NaiveTime> {
    static T: OnceLock<Regex> = OnceLock::new();
    let t = re(
        &T,
        r"\b(?:ore|alle|dalle|h\.?)\s*(\d{1,2})(?:[:.](\d{2}))?\b|\b(\d{1,2}):(\d{2})\b",
    );
    let c = t.captures(lower)?;
    let (h, m) = match (c.get(1), c.get(3)) {
        (Some(h), _) => (h.as_str(), c.get(2).map(|m| m.as_str()).unwrap_or("0")),
        (None, Some(h)) => (h.as_str(), c.get(4).map(|m| m.as_str()).unwrap_or("0")),
        _ => return None,
    };
    let mut h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    if (1..=7).contains(&h) && lower.contains("pomeriggio") {
        h += 12;
    }
    NaiveTime::from_hms_opt(h, m, 0)
}

fn find_duration(lower: &str) -> Option<i64> {
    if lower.contains("un'ora e mezza") || lower.contains("un’ora e mezza") {
        return Some(90);
    }
    if lower.contains("mezza giornata") {
        return Some(240);
    }
    static D: OnceLock<Regex> = OnceLock::new();
    let d = re(&D, r"\b(\d{1,3})(?:[.,](\d))?\s*(ore|ora|h|minuti|min)\b");
    if let Some(c) = d.captures(lower) {
        let n: i64 = c[1].parse().ok()?;
        let frac: i64 = c.get(2).and_then(|f| f.as_str().parse().ok()).unwrap_or(0);
        let mins = match &c[3] {
            "minuti" | "min" => n,
            _ => n * 60 + frac * 6,
        };
        return (1..=24 * 60).contains(&mins).then_some(mins);
    }
    if lower.contains("mezz'ora") || lower.contains("mezz’ora") {
        return Some(30);
    }
    if lower.contains("un'ora") || lower.contains("un’ora") || lower.contains("1 ora") {
        return Some(60);
    }
    None
}

fn find_type(lower: &str) -> Option<InterventionType> {
    use InterventionType::*;
    let table: &[(&str, InterventionType)] = &[
        ("visita domiciliare", VisitaDomiciliare),
        ("domiciliare", VisitaDomiciliare),
        ("incontro protetto", IncontroProtetto),
        ("incontro vigilato", IncontroProtetto),
        ("udienza", Udienza),
        ("tribunale", Udienza),
        ("traduzione", TraduzioneScritta),
        ("riunione", Riunione),
        ("équipe", Riunione),
        ("equipe", Riunione),
        ("telefonata", Telefonata),
        ("colloquio", Colloquio),
    ];
    table
        .iter()
        .find(|(k, _)| lower.contains(k))
        .map(|(_, t)| *t)
}

fn find_modality(lower: &str) -> Option<Modality> {
    if lower.contains("videochiamata") || lower.contains("in video") || lower.contains("online") {
        Some(Modality::Video)
    } else if lower.contains("telefon") {
        Some(Modality::Phone)
    } else if lower.contains("in presenza") || lower.contains("presso") {
        Some(Modality::InPerson)
    } else {
        None
    }
}

fn find_comune(text: &str) -> Option<String> {
    static C: OnceLock<Regex> = OnceLock::new();
    let c = re(
        &C,
        r"\b(?:a|ad|comune di|sede di|servizi di)\s+([A-Z][\p{L}'’]+(?:\s+(?:San|Sant'|di|d'|del|della|al|[A-Z][\p{L}'’]+))*)",
    );
    let cap = c.captures(text)?;
    let name = cap.get(1)?.as_str().trim();
    // A language or weekday capitalised at a sentence start is not a place.
    let lower = name.to_lowercase();
    if find_language(&lower).is_some() || name.len() > 60 {
        return None;
    }
    Some(name.to_string())
}

/// Reads whatever fields a free-text message contains. The one call site of the extractor.
pub fn read_text(text: &str, now: DateTime<Utc>, tz: Tz) -> Draft {
    let mut ctx = crate::extract::Context::new(now, Channel::Telegram);
    ctx.tz = tz;
    let d = crate::extract::extract(text, &ctx);
    let duration = d
        .duration_minutes
        .map(i64::from)
        .or_else(|| match (d.start, d.end) {
            (Some(s), Some(e)) if e > s => Some((e - s).num_minutes()),
            _ => None,
        });
    Draft {
        language: d.language.map(|l| l.code),
        intervention: d.intervention,
        date: d.date.or(d.deadline),
        time: if d.time_approximate { None } else { d.start },
        duration_minutes: duration,
        modality: d.modality,
        comune: d.comune.map(|c| c.name),
        address: d.address.or(d.office),
        urgent: d.urgent,
        mediator_gender: d.mediator_gender,
        notes: Vec::new(),
    }
}

/// The stand-in grammar on its own (fields of short answers).
fn read_short(text: &str, today: NaiveDate) -> Draft {
    let lower = text.to_lowercase();
    Draft {
        language: find_language(&lower),
        intervention: find_type(&lower),
        date: find_date(&lower, today),
        time: find_time(&lower),
        duration_minutes: find_duration(&lower),
        modality: find_modality(&lower),
        comune: find_comune(text),
        ..Default::default()
    }
}

/// Reads the answer to one question: the field asked for, with the whole text as the value
/// where the question is open (the comune).
pub fn read_answer(field: Field, text: &str, now: DateTime<Utc>, tz: Tz) -> Draft {
    let mut d = read_text(text, now, tz);
    if !field_known(&d, field) {
        let today = now.with_timezone(&tz).date_naive();
        let short = read_short(text, today);
        if field_known(&short, field) {
            d.merge(short);
        }
    }
    if field == Field::Comune && d.comune.is_none() {
        let t = text.trim();
        if !t.is_empty() && t.chars().count() <= 60 && !t.contains('\n') {
            d.comune = Some(t.to_string());
        }
    }
    if field == Field::Duration && d.duration_minutes.is_none() {
        // A bare number answers "quanto dura?" in hours.
        if let Ok(h) = text.trim().parse::<i64>()
            && (1..=12).contains(&h)
        {
            d.duration_minutes = Some(h * 60);
        }
    }
    if field == Field::Time
        && d.time.is_none()
        && let Ok(h) = text.trim().parse::<u32>()
    {
        d.time = NaiveTime::from_hms_opt(h, 0, 0);
    }
    d
}

/// Whether the draft knows `f`.
pub fn field_known(d: &Draft, f: Field) -> bool {
    match f {
        Field::Language => d.language.is_some(),
        Field::Type => d.intervention.is_some(),
        Field::Date => d.date.is_some(),
        Field::Time => d.time.is_some(),
        Field::Duration => d.duration_minutes.is_some(),
        Field::Modality => d.modality.is_some(),
        Field::Comune => d.comune.is_some(),
    }
}

/// Applies a button choice (`value` from callback data) to the field it answers.
pub fn apply_pick(draft: &mut Draft, field: Field, value: &str) -> bool {
    match field {
        Field::Language => LanguageCode::parse(value)
            .map(|l| draft.language = Some(l))
            .is_ok(),
        Field::Type => value
            .parse::<InterventionType>()
            .map(|t| draft.intervention = Some(t))
            .is_ok(),
        Field::Modality => value
            .parse::<Modality>()
            .map(|m| draft.modality = Some(m))
            .is_ok(),
        Field::Date => NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map(|d| draft.date = Some(d))
            .is_ok(),
        Field::Duration => value
            .parse::<i64>()
            .ok()
            .filter(|m| (1..=24 * 60).contains(m))
            .map(|m| draft.duration_minutes = Some(m))
            .is_some(),
        Field::Time | Field::Comune => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap()
    }
    const TZ: Tz = chrono_tz::Europe::Rome;

    #[test]
    fn reads_a_complete_request() {
        let d = read_text(
            "Buongiorno, serve una mediatrice di lingua araba per un colloquio il 12/03 alle 14.30, durata 2 ore, in presenza a Dalmine",
            now(),
            TZ,
        );
        assert_eq!(d.language.as_ref().map(|l| l.as_str()), Some("ar"));
        assert_eq!(d.intervention, Some(InterventionType::Colloquio));
        assert_eq!(d.date, NaiveDate::from_ymd_opt(2027, 3, 12));
        assert_eq!(d.time, NaiveTime::from_hms_opt(14, 30, 0));
        assert_eq!(d.duration_minutes, Some(120));
        assert_eq!(d.modality, Some(Modality::InPerson));
        assert_eq!(d.comune.as_deref(), Some("Dalmine"));
        assert!(d.missing().is_empty(), "{:?}", d.missing());
    }

    #[test]
    fn reports_what_is_missing_in_order() {
        let mut d = read_text("mediatore urdu domani", now(), TZ);
        assert_eq!(d.date, NaiveDate::from_ymd_opt(2027, 3, 2));
        assert_eq!(d.missing()[0], Field::Type);
        assert!(apply_pick(&mut d, Field::Modality, "phone"));
        assert!(!d.missing().contains(&Field::Comune));
        d.merge(read_answer(Field::Time, "15", now(), TZ));
        assert_eq!(d.time, NaiveTime::from_hms_opt(15, 0, 0));
    }

    #[test]
    fn answers_to_open_questions() {
        assert_eq!(
            read_answer(Field::Comune, "Treviglio", now(), TZ)
                .comune
                .as_deref(),
            Some("Treviglio")
        );
        assert_eq!(
            read_answer(Field::Duration, "un'ora e mezza", now(), TZ).duration_minutes,
            Some(90)
        );
        assert_eq!(
            read_answer(Field::Duration, "3", now(), TZ).duration_minutes,
            Some(180)
        );
        let today = now().date_naive();
        assert_eq!(
            read_short("12 marzo", today).date,
            NaiveDate::from_ymd_opt(2027, 3, 12)
        );
        assert_eq!(
            read_short("10/02", today).date,
            NaiveDate::from_ymd_opt(2028, 2, 10)
        );
    }
}
