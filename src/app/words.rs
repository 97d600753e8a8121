//! Values as a person reads them, in the recipient's language, for the core's sentences: a
//! thin handle over [`crate::vocab`] (language names, intervention types, modality, long dates,
//! gendered words) plus durations ("2 ore") and "da definire" for what is not known yet. Every
//! renderer of a notice takes its values from here, so no message shows an internal code.

use chrono::{NaiveDate, NaiveTime};

use crate::config::Lang;
use crate::domain::{Gender, InterventionType, LanguageCode, Modality};
use crate::prompts::Prompts;
use crate::vocab;

/// The words of one language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Words {
    pub lang: Lang,
}

impl Words {
    pub fn new(lang: Lang) -> Self {
        Self { lang }
    }

    fn w(&self, key: &str, args: &[(&str, &str)]) -> String {
        Prompts::global().render(self.lang, &format!("words.{key}"), args)
    }

    /// "arabo" / "Arabic".
    pub fn language(&self, code: &LanguageCode) -> String {
        vocab::language(self.lang, code.as_str())
    }

    /// A language, or "da definire" when not known yet.
    pub fn language_opt(&self, code: Option<&LanguageCode>) -> String {
        code.map_or_else(|| self.unknown(), |c| self.language(c))
    }

    pub fn intervention(&self, t: InterventionType) -> String {
        vocab::intervention(self.lang, t)
    }

    pub fn intervention_opt(&self, t: Option<InterventionType>) -> String {
        t.map_or_else(|| self.unknown(), |t| self.intervention(t))
    }

    pub fn modality(&self, m: Modality) -> String {
        vocab::modality(self.lang, m)
    }

    /// A missing modality is in person (the matching default).
    pub fn modality_opt(&self, m: Option<Modality>) -> String {
        self.modality(m.unwrap_or(Modality::InPerson))
    }

    /// "giovedì 11 marzo" / "Thursday 11 March".
    pub fn date(&self, d: NaiveDate) -> String {
        vocab::date_long(self.lang, d, false)
    }

    /// "14:30".
    pub fn time(&self, t: NaiveTime) -> String {
        t.format("%H:%M").to_string()
    }

    /// "giovedì 11 marzo, 14:30"; the date alone without a time; "da definire" without either.
    pub fn when(&self, d: Option<NaiveDate>, t: Option<NaiveTime>) -> String {
        match d {
            Some(d) => vocab::date_time(self.lang, d, t),
            None => self.unknown(),
        }
    }

    pub fn date_opt(&self, d: Option<NaiveDate>) -> String {
        d.map_or_else(|| self.unknown(), |d| self.date(d))
    }

    pub fn time_opt(&self, t: Option<NaiveTime>) -> String {
        t.map_or_else(|| self.unknown(), |t| self.time(t))
    }

    /// "2 ore", "45 minuti", "1 h e 30 min".
    pub fn duration(&self, minutes: i64) -> String {
        let (h, m) = (minutes / 60, minutes % 60);
        match (h, m) {
            (0, m) => self.w("duration_minutes", &[("minutes", &m.to_string())]),
            (1, 0) => self.w("duration_one_hour", &[]),
            (h, 0) => self.w("duration_hours", &[("hours", &h.to_string())]),
            (h, m) => self.w(
                "duration_hours_minutes",
                &[("hours", &h.to_string()), ("minutes", &m.to_string())],
            ),
        }
    }

    pub fn duration_opt(&self, minutes: Option<i64>) -> String {
        match minutes {
            Some(m) if m > 0 => self.duration(m),
            _ => self.unknown(),
        }
    }

    /// "la mediatrice" / "il mediatore", from the known gender.
    pub fn mediator(&self, g: Option<Gender>) -> String {
        vocab::mediator(self.lang, g)
    }

    /// "confermata" / "confermato", from the known gender.
    pub fn confirmed(&self, g: Option<Gender>) -> String {
        vocab::confirmed(self.lang, g)
    }

    /// "da definire" / "to be defined".
    pub fn unknown(&self) -> String {
        self.w("unknown", &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_words_in_both_languages() {
        let it = Words::new(Lang::It);
        let en = Words::new(Lang::En);
        let ar = LanguageCode::parse("ar").unwrap();
        assert_eq!(it.language(&ar), "arabo");
        assert_eq!(en.language(&ar), "Arabic");
        assert_eq!(
            it.intervention(InterventionType::VisitaDomiciliare),
            "visita domiciliare"
        );
        assert_eq!(it.modality(Modality::InPerson), "in presenza");
        assert_eq!(en.modality(Modality::Video), "by video call");
        let d = NaiveDate::from_ymd_opt(2027, 3, 11).unwrap();
        let t = NaiveTime::from_hms_opt(14, 30, 0).unwrap();
        assert_eq!(it.when(Some(d), Some(t)), "giovedì 11 marzo, 14:30");
        assert_eq!(en.when(Some(d), Some(t)), "Thursday 11 March, 14:30");
        assert_eq!(it.duration(120), "2 ore");
        assert_eq!(it.duration(60), "1 ora");
        assert_eq!(it.duration(90), "1 h e 30 min");
        assert_eq!(en.duration(45), "45 minutes");
        assert_eq!(it.confirmed(Some(Gender::F)), "confermata");
        assert_eq!(it.confirmed(Some(Gender::M)), "confermato");
        assert_eq!(it.mediator(Some(Gender::F)), "la mediatrice");
    }
}
