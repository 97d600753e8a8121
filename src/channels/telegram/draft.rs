//! The operator's request as it is being written in the chat: what is known, what is missing,
//! which question comes next, and how a free-text answer fills one field. Pure (no I/O): the
//! dialogue keeps a [`Draft`] in its JSON state.
//!
//! Everything read from text goes through the shared extractor: [`read_text`] is
//! `crate::extract::extract`, and an answer to one question ([`read_answer`]) is
//! `crate::extract::short_answer` (which also reads the short forms people type there: "15",
//! "3"). The only thing kept here is the open comune question: a name the list does not know is
//! kept as written.

use crate::domain::{Channel, Gender, InterventionType, LanguageCode, Modality};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

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
    /// The end of a series of meetings ("per 8 settimane", "fino al 30 giugno").
    SeriesEnd,
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
            Field::SeriesEnd => "series_end",
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
    /// The extractor's question about a field it read with doubt ("Ho capito giovedì 11 marzo
    /// alle 10: giusto?"), asked once every field is known; gone when answered.
    #[serde(default)]
    pub ask: Option<crate::extract::Note>,
    /// When the first message was read (its "domani" counted from then), for a correction.
    #[serde(default)]
    pub read_at: Option<DateTime<Utc>>,
    /// The operator changed a field the extractor had read (Modifica, or another value for a
    /// doubted one): the pair is kept as a correction when the request is confirmed.
    #[serde(default)]
    pub corrected: bool,
    /// The operator's own words, kept for the coordinator (never sent in offers).
    #[serde(default)]
    pub notes: Vec<String>,
    /// A series of meetings ("ogni martedì ..."): `date` and `time` are its first meeting.
    #[serde(default)]
    pub recurrence: Option<crate::domain::series::Recurrence>,
    /// An end of a series read without a cadence (the answer to its question).
    #[serde(default)]
    pub series_end: Option<crate::extract::SeriesEndHint>,
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
            if self.recurrence.is_some_and(|r| r.end.is_none()) {
                out.push(Field::SeriesEnd);
            }
        }
        out
    }

    /// The meetings of the series, from the first one's day and time, each as long as the
    /// draft says; `None` for a single appointment or a series without its end yet.
    pub fn series(&self, tz: Tz) -> Option<crate::store::NewSeries> {
        let rule = self.recurrence?;
        let minutes = self.duration_minutes.unwrap_or(60);
        let occurrences = rule.instants(self.date?, self.time?, minutes, tz);
        Some(crate::store::NewSeries {
            rule: rule.rrule(tz)?,
            occurrences,
        })
        .filter(|s| !s.occurrences.is_empty())
    }

    /// Copies every field `other` knows over this draft (a later message corrects an earlier).
    pub fn merge(&mut self, other: Draft) {
        let other_fields = [
            other.date.is_some() || other.time.is_some(),
            other.comune.is_some(),
            other.language.is_some(),
        ];
        let other_sets = |set: &[bool; 3], f: Field| match f {
            Field::Date => set[0],
            Field::Comune => set[1],
            Field::Language => set[2],
            _ => false,
        };
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
        if other.recurrence.is_some() {
            self.recurrence = other.recurrence;
        }
        if let Some(r) = self.recurrence.as_mut()
            && r.end.is_none()
        {
            r.end = other.series_end.map(|h| h.for_cadence(r.freq_weeks));
        }
        self.urgent |= other.urgent;
        self.corrected |= other.corrected;
        self.read_at = self.read_at.or(other.read_at);
        self.notes.extend(other.notes);
        // A new doubt replaces the old one; a value given again for the doubted field settles it.
        match (other.ask, self.unsure_field()) {
            (Some(ask), _) => self.ask = Some(ask),
            (None, Some(field)) if other_sets(&other_fields, field) => self.ask = None,
            _ => {}
        }
    }

    /// "sì" to the pending question: what was read stands, and the language a nationality
    /// suggested ("famiglia marocchina": arabo marocchino) becomes the language.
    pub fn confirm_doubt(&mut self) {
        if let Some(ask) = self.ask.take()
            && ask.code == "question_language"
            && self.language.is_none()
        {
            self.language = ask
                .args
                .iter()
                .find(|(k, _)| k == "language")
                .and_then(|(_, v)| LanguageCode::parse(v).ok());
        }
    }

    /// The field the pending question is about.
    pub fn unsure_field(&self) -> Option<Field> {
        match self.ask.as_ref()?.code.as_str() {
            "question_when" => Some(Field::Date),
            "question_place" => Some(Field::Comune),
            "question_language" => Some(Field::Language),
            _ => None,
        }
    }

    /// The pending question in `lang`, its values in words ("giovedì 11 marzo, 10:00").
    pub fn question(&self, lang: crate::config::Lang) -> Option<String> {
        let ask = self.ask.as_ref()?;
        let value = |k: &str| {
            ask.args
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        let args: Vec<(String, String)> = match ask.code.as_str() {
            "question_when" => {
                let date = NaiveDate::parse_from_str(value("date"), "%Y-%m-%d").ok()?;
                let time = NaiveTime::parse_from_str(value("time"), "%H:%M").ok();
                vec![("when".into(), crate::vocab::date_time(lang, date, time))]
            }
            "question_language" => vec![
                ("nationality".into(), value("nationality").to_string()),
                ("language".into(), {
                    let name = crate::vocab::language(lang, value("language"));
                    // Italian names a language with its article: "l'arabo marocchino"
                    match lang {
                        crate::config::Lang::It => crate::extract::languages::with_article(&name),
                        crate::config::Lang::En => name,
                    }
                }),
            ],
            _ => ask.args.clone(),
        };
        let refs: Vec<(&str, &str)> = args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        crate::prompts::Prompts::global()
            .try_render(lang, &format!("extract.{}", ask.code), &refs)
            .ok()
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

/// The Italian name of a language code (the code itself when unknown), from the extractor's
/// catalogue.
pub fn language_name(code: &LanguageCode) -> String {
    crate::extract::languages::by_code(code.as_str())
        .map(|l| l.name.clone())
        .unwrap_or_else(|| code.to_string())
}

fn context(now: DateTime<Utc>, tz: Tz) -> crate::extract::Context {
    let mut ctx = crate::extract::Context::new(now, Channel::Telegram);
    ctx.tz = tz;
    ctx
}

/// The bot's draft of what the extractor read.
fn from_extracted(d: crate::extract::RequestDraft) -> Draft {
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
        ask: d.ask,
        read_at: None,
        corrected: false,
        notes: Vec::new(),
        recurrence: d.recurrence,
        // an end read alone (the answer "per 8 settimane"), for [`Draft::merge`]
        series_end: d.series_end,
    }
}

/// The correction to keep when the operator changed what the extractor read from their first
/// message: that text with the fields as confirmed (personal data removed by
/// [`crate::extract::corrections::pair`]); `None` when nothing read was changed.
pub fn correction(d: &Draft, tz: Tz) -> Option<crate::extract::corrections::CorrectionPair> {
    use crate::extract::{LanguageRef, corrections, languages, places};
    if !d.corrected {
        return None;
    }
    let text = d.notes.first()?;
    let ctx = context(d.read_at?, tz);
    let before = crate::extract::extract(text, &ctx);
    let mut after = before.clone();
    after.language = d.language.clone().map(|code| LanguageRef {
        name: languages::by_code(code.as_str())
            .map(|l| l.name.clone())
            .unwrap_or_default(),
        code,
    });
    after.intervention = d.intervention;
    if d.intervention == Some(InterventionType::TraduzioneScritta) {
        after.deadline = d.date;
        after.date = None;
    } else {
        after.date = d.date;
        after.start = d.time;
        after.end = match (d.time, d.duration_minutes) {
            (Some(t), Some(m)) => Some(t + chrono::Duration::minutes(m)),
            _ => before.end,
        };
        after.duration_minutes = d.duration_minutes.and_then(|m| u32::try_from(m).ok());
    }
    after.modality = d.modality;
    after.comune = d
        .comune
        .as_deref()
        .and_then(places::comune_by_name)
        .cloned();
    after.mediator_gender = d.mediator_gender;
    corrections::pair(text, &ctx, &before, &after)
}

/// Reads whatever fields a free-text message contains, with the shared extractor.
pub fn read_text(text: &str, now: DateTime<Utc>, tz: Tz) -> Draft {
    from_extracted(crate::extract::extract(text, &context(now, tz)))
}

/// Reads the answer to one question with the extractor's short-answer reading ("15" to the
/// time is 15:00, "3" to the duration three hours); the comune question is open, so a name the
/// list does not know is kept as written.
pub fn read_answer(field: Field, text: &str, now: DateTime<Utc>, tz: Tz) -> Draft {
    let asked = match field {
        Field::Language => "language",
        Field::Type => "intervention",
        Field::Date => "date",
        Field::Time => "start",
        Field::Duration => "duration",
        Field::Modality => "modality",
        Field::Comune => "place",
        Field::SeriesEnd => "series_end",
    };
    let mut d = from_extracted(crate::extract::short_answer(asked, text, &context(now, tz)));
    if field == Field::Comune && d.comune.is_none() {
        let t = text.trim();
        let t = t
            .strip_prefix("a ")
            .or_else(|| t.strip_prefix("ad "))
            .unwrap_or(t);
        if !t.is_empty() && t.chars().count() <= 60 && !t.contains('\n') {
            d.comune = Some(t.to_string());
        }
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
        Field::SeriesEnd => d.recurrence.is_none_or(|r| r.end.is_some()),
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
        Field::Time | Field::Comune | Field::SeriesEnd => false,
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
        assert_eq!(
            read_answer(Field::Date, "12 marzo", now(), TZ).date,
            NaiveDate::from_ymd_opt(2027, 3, 12)
        );
        assert_eq!(
            read_answer(Field::Date, "10/02", now(), TZ).date,
            NaiveDate::from_ymd_opt(2028, 2, 10)
        );
        assert_eq!(
            read_answer(Field::Date, "15", now(), TZ).date,
            NaiveDate::from_ymd_opt(2027, 3, 15)
        );
        let d = read_answer(Field::Time, "domani alle dieci", now(), TZ);
        assert_eq!(d.time, NaiveTime::from_hms_opt(10, 0, 0));
        assert_eq!(d.date, NaiveDate::from_ymd_opt(2027, 3, 2));
        assert_eq!(
            read_answer(Field::Language, "arabo", now(), TZ)
                .language
                .map(|l| l.to_string()),
            Some("ar".to_string())
        );
        assert_eq!(
            read_answer(Field::Comune, "a Seriate", now(), TZ)
                .comune
                .as_deref(),
            Some("Seriate")
        );
        assert_eq!(
            read_answer(Field::Comune, "ponte s. pietro", now(), TZ)
                .comune
                .as_deref(),
            Some("Ponte San Pietro")
        );
    }
}
