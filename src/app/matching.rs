//! Matching: which mediators can take a job, and in which order they are asked.
//!
//! Pure: works on an in-memory roster (loaded by the store, or built by a test or the bench).
//! Every candidate carries the reasons for its place, and every excluded mediator the reason it
//! was left out, so the coordinator's view can explain both ("why her first", "why not him").
//! The reasons are data; their sentences live in `prompts/<lang>/dispatch.toml`.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::cmp::Ordering;

use super::language::{LanguageFit, LanguageMatcher};
use crate::domain::availability::Availability;
use crate::domain::{Ambito, Appointment, Gender, LanguageCode, Modality};

pub use crate::domain::busy::BusySlot;

/// What matching needs to know about one mediator.
#[derive(Debug, Clone)]
pub struct MediatorProfile {
    pub id: i64,
    pub active: bool,
    pub paused: bool,
    pub gender: Option<Gender>,
    pub languages: Vec<LanguageCode>,
    pub ambiti: Vec<Ambito>,
    pub availability: Availability,
    pub busy: Vec<BusySlot>,
    /// Minutes worked (assignments done or scheduled) in the last 30 days.
    pub minutes_last_30_days: u32,
    pub offers_received: u32,
    pub offers_accepted: u32,
    /// Case references of requests this mediator has served.
    pub case_refs: Vec<String>,
}

/// The job to be matched.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub language: LanguageCode,
    /// The Ambito the job takes place in (the comune's, else the requester's); `None` when
    /// unknown, in which case no mediator is excluded for it.
    pub ambito: Option<Ambito>,
    pub modality: Modality,
    /// `None` for a written translation (a deadline, no appointment).
    pub appointment: Option<Appointment>,
    pub gender_preference: Option<Gender>,
    pub case_ref: Option<String>,
}

/// Tunables from the `dispatch` config section.
#[derive(Debug, Clone, Copy)]
pub struct MatchSettings {
    pub tz: Tz,
    /// Minutes kept free between an in-person job and any other job.
    pub travel_buffer_minutes: u32,
}

/// Why a candidate is where it is in the ranking.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// Already worked with this case reference.
    Continuity,
    SpeaksExact {
        language: String,
    },
    SpeaksFamily {
        language: String,
        requested: String,
    },
    ServesAmbito {
        ambito: String,
    },
    RemoteJob,
    GenderMatches {
        gender: String,
    },
    HoursLast30Days {
        hours: String,
    },
    AcceptanceHistory {
        accepted: u32,
        offered: u32,
    },
}

/// Why a mediator is not a candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Exclusion {
    Inactive,
    Paused,
    Language,
    Ambito,
    Gender,
    /// Outside weekly availability or on an exception date.
    Unavailable,
    /// Another job overlaps, travel buffer included.
    Overlap,
}

impl Reason {
    /// The prompt key (`dispatch.<key>`) and its placeholders, for the coordinator's view.
    pub fn prompt(&self) -> (&'static str, Vec<(&'static str, String)>) {
        match self {
            Reason::Continuity => ("dispatch.reason_continuity", vec![]),
            Reason::SpeaksExact { language } => (
                "dispatch.reason_speaks_exact",
                vec![("language", language.clone())],
            ),
            Reason::SpeaksFamily {
                language,
                requested,
            } => (
                "dispatch.reason_speaks_family",
                vec![
                    ("language", language.clone()),
                    ("requested", requested.clone()),
                ],
            ),
            Reason::ServesAmbito { ambito } => (
                "dispatch.reason_serves_ambito",
                vec![("ambito", ambito.clone())],
            ),
            Reason::RemoteJob => ("dispatch.reason_remote", vec![]),
            Reason::GenderMatches { gender } => {
                ("dispatch.reason_gender", vec![("gender", gender.clone())])
            }
            Reason::HoursLast30Days { hours } => {
                ("dispatch.reason_hours", vec![("hours", hours.clone())])
            }
            Reason::AcceptanceHistory { accepted, offered } => (
                "dispatch.reason_acceptance",
                vec![
                    ("accepted", accepted.to_string()),
                    ("offered", offered.to_string()),
                ],
            ),
        }
    }
}

impl Candidate {
    /// The reasons as one line for the coordinator's view, in `lang` (`it` or `en`).
    pub fn explanation(&self, lang: &str) -> String {
        let t = super::texts::Texts;
        let l = crate::config::Lang::from_code(lang);
        self.reasons
            .iter()
            .map(|r| {
                let (key, args) = r.prompt();
                // Codes in words: "parla arabo", "genere richiesto: donna".
                let args: Vec<(&str, String)> = args
                    .into_iter()
                    .map(|(k, v)| match k {
                        "language" | "requested" => (k, crate::vocab::language(l, &v)),
                        "gender" => match v.parse::<crate::domain::Gender>() {
                            Ok(g) => (k, crate::vocab::gender(l, g)),
                            Err(_) => (k, v),
                        },
                        _ => (k, v),
                    })
                    .collect();
                t.render(lang, key, &args)
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl Exclusion {
    /// Why a mediator was left out, for the coordinator's view.
    pub fn explanation(self, lang: &str) -> String {
        super::texts::Texts.render(lang, self.prompt_key(), &[])
    }

    pub fn prompt_key(self) -> &'static str {
        match self {
            Exclusion::Inactive => "dispatch.excluded_inactive",
            Exclusion::Paused => "dispatch.excluded_paused",
            Exclusion::Language => "dispatch.excluded_language",
            Exclusion::Ambito => "dispatch.excluded_ambito",
            Exclusion::Gender => "dispatch.excluded_gender",
            Exclusion::Unavailable => "dispatch.excluded_unavailable",
            Exclusion::Overlap => "dispatch.excluded_overlap",
        }
    }
}

/// One eligible mediator with the facts that placed them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    pub mediator_id: i64,
    pub continuity: bool,
    #[serde(serialize_with = "ser_fit")]
    pub language_fit: LanguageFit,
    pub minutes_last_30_days: u32,
    /// Smoothed acceptance rate in thousandths: (accepted + 1) / (offered + 2).
    pub acceptance_permille: u32,
    pub reasons: Vec<Reason>,
}

fn ser_fit<S: serde::Serializer>(f: &LanguageFit, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match f {
        LanguageFit::Exact => "exact",
        LanguageFit::Family => "family",
    })
}

/// The outcome of matching one job against a roster.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MatchResult {
    /// Best first.
    pub candidates: Vec<Candidate>,
    pub excluded: Vec<(i64, Exclusion)>,
}

impl MatchResult {
    /// The next `wave_size` candidates not yet offered.
    pub fn next_wave(&self, already_offered: &[i64], wave_size: usize) -> Vec<i64> {
        self.candidates
            .iter()
            .map(|c| c.mediator_id)
            .filter(|id| !already_offered.contains(id))
            .take(wave_size)
            .collect()
    }
}

/// The order of the ranking: continuity, then the closer language, then fewest hours, then
/// acceptance history, then id (stable and reproducible).
fn compare(a: &Candidate, b: &Candidate) -> Ordering {
    b.continuity
        .cmp(&a.continuity)
        .then(a.language_fit.cmp(&b.language_fit))
        .then(a.minutes_last_30_days.cmp(&b.minutes_last_30_days))
        .then(b.acceptance_permille.cmp(&a.acceptance_permille))
        .then(a.mediator_id.cmp(&b.mediator_id))
}

fn overlaps(
    job: (DateTime<Utc>, DateTime<Utc>),
    job_remote: bool,
    slot: &BusySlot,
    buffer: Duration,
) -> bool {
    let buf = if job_remote && slot.remote {
        Duration::zero()
    } else {
        buffer
    };
    job.0 < slot.ends_at + buf && slot.starts_at < job.1 + buf
}

fn check(
    m: &MediatorProfile,
    job: &JobSpec,
    lang: &LanguageMatcher,
    window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    buffer: Duration,
) -> Result<(LanguageFit, Vec<Reason>), Exclusion> {
    if !m.active {
        return Err(Exclusion::Inactive);
    }
    if m.paused {
        return Err(Exclusion::Paused);
    }
    let requested = job.language.as_str();
    let lang_fit = lang
        .fit(m.languages.iter().map(|l| l.as_str()))
        .ok_or(Exclusion::Language)?;
    let mut reasons = Vec::with_capacity(6);
    match lang_fit {
        LanguageFit::Exact => reasons.push(Reason::SpeaksExact {
            language: requested.to_string(),
        }),
        LanguageFit::Family => {
            let spoken = m
                .languages
                .iter()
                .find(|l| lang.fit([l.as_str()]).is_some())
                .map(|l| l.as_str().to_string())
                .unwrap_or_default();
            reasons.push(Reason::SpeaksFamily {
                language: spoken,
                requested: requested.to_string(),
            });
        }
    }
    let remote = job.modality.is_remote();
    if remote {
        reasons.push(Reason::RemoteJob);
    } else if let Some(a) = job.ambito {
        if !m.ambiti.contains(&a) {
            return Err(Exclusion::Ambito);
        }
        reasons.push(Reason::ServesAmbito {
            ambito: a.name().to_string(),
        });
    }
    if let Some(g) = job.gender_preference {
        if m.gender != Some(g) {
            return Err(Exclusion::Gender);
        }
        reasons.push(Reason::GenderMatches {
            gender: g.as_str().to_string(),
        });
    }
    if let (Some(appt), Some(w)) = (job.appointment.as_ref(), window) {
        if !m
            .availability
            .covers(appt.date, appt.start, appt.duration_minutes)
        {
            return Err(Exclusion::Unavailable);
        }
        if m.busy.iter().any(|s| overlaps(w, remote, s, buffer)) {
            return Err(Exclusion::Overlap);
        }
    }
    Ok((lang_fit, reasons))
}

/// Matches `job` against `roster`: eligible candidates ranked best first, with reasons, and the
/// excluded mediators with theirs.
pub fn rank(roster: &[MediatorProfile], job: &JobSpec, settings: &MatchSettings) -> MatchResult {
    let window = job
        .appointment
        .as_ref()
        .map(|a| (a.starts_at(settings.tz), a.ends_at(settings.tz)));
    let buffer = Duration::minutes(i64::from(settings.travel_buffer_minutes));
    let lang = LanguageMatcher::new(job.language.as_str());
    let mut out = MatchResult::default();
    for m in roster {
        match check(m, job, &lang, window, buffer) {
            Err(e) => out.excluded.push((m.id, e)),
            Ok((language_fit, mut reasons)) => {
                let continuity = job
                    .case_ref
                    .as_ref()
                    .is_some_and(|c| m.case_refs.iter().any(|r| r == c));
                if continuity {
                    reasons.insert(0, Reason::Continuity);
                }
                reasons.push(Reason::HoursLast30Days {
                    hours: format!("{:.1}", f64::from(m.minutes_last_30_days) / 60.0),
                });
                reasons.push(Reason::AcceptanceHistory {
                    accepted: m.offers_accepted,
                    offered: m.offers_received,
                });
                let acceptance_permille = ((u64::from(m.offers_accepted) + 1) * 1000
                    / (u64::from(m.offers_received) + 2))
                    .min(1000) as u32;
                out.candidates.push(Candidate {
                    mediator_id: m.id,
                    continuity,
                    language_fit,
                    minutes_last_30_days: m.minutes_last_30_days,
                    acceptance_permille,
                    reasons,
                });
            }
        }
    }
    out.candidates.sort_by(compare);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveTime, TimeZone};
    use chrono_tz::Europe::Rome;

    fn lang(s: &str) -> LanguageCode {
        LanguageCode::parse(s).unwrap()
    }
    fn ambito(s: &str) -> Ambito {
        Ambito::parse(s).unwrap()
    }

    fn mediator(id: i64, langs: &[&str]) -> MediatorProfile {
        MediatorProfile {
            id,
            active: true,
            paused: false,
            gender: Some(Gender::F),
            languages: langs.iter().map(|l| lang(l)).collect(),
            ambiti: vec![ambito("Bergamo"), ambito("Dalmine")],
            availability: Availability::always(),
            busy: vec![],
            minutes_last_30_days: 600,
            offers_received: 0,
            offers_accepted: 0,
            case_refs: vec![],
        }
    }

    /// Monday 1 March 2027, 10:00-12:00 in Bergamo, Arabic, in person.
    fn job(language: &str) -> JobSpec {
        JobSpec {
            language: lang(language),
            ambito: Some(ambito("Bergamo")),
            modality: Modality::InPerson,
            appointment: Some(
                Appointment::new(
                    NaiveDate::from_ymd_opt(2027, 3, 1).unwrap(),
                    NaiveTime::from_hms_opt(10, 0, 0).unwrap(),
                    120,
                )
                .unwrap(),
            ),
            gender_preference: None,
            case_ref: None,
        }
    }

    fn settings() -> MatchSettings {
        MatchSettings {
            tz: Rome,
            travel_buffer_minutes: 30,
        }
    }

    fn ids(r: &MatchResult) -> Vec<i64> {
        r.candidates.iter().map(|c| c.mediator_id).collect()
    }

    fn excluded(r: &MatchResult, id: i64) -> Option<Exclusion> {
        r.excluded.iter().find(|(i, _)| *i == id).map(|(_, e)| *e)
    }

    #[test]
    fn hard_filters_exclude_with_a_reason() {
        let mut inactive = mediator(1, &["ar"]);
        inactive.active = false;
        let mut paused = mediator(2, &["ar"]);
        paused.paused = true;
        let wrong_lang = mediator(3, &["ur"]);
        let mut elsewhere = mediator(4, &["ar"]);
        elsewhere.ambiti = vec![ambito("Treviglio")];
        let mut unavailable = mediator(5, &["ar"]);
        unavailable.availability = Availability::parse("mar-ven 08:00-18:00").unwrap();
        let ok = mediator(6, &["ar"]);
        let roster = [inactive, paused, wrong_lang, elsewhere, unavailable, ok];
        let r = rank(&roster, &job("ar"), &settings());
        assert_eq!(ids(&r), vec![6]);
        assert_eq!(excluded(&r, 1), Some(Exclusion::Inactive));
        assert_eq!(excluded(&r, 2), Some(Exclusion::Paused));
        assert_eq!(excluded(&r, 3), Some(Exclusion::Language));
        assert_eq!(excluded(&r, 4), Some(Exclusion::Ambito));
        assert_eq!(excluded(&r, 5), Some(Exclusion::Unavailable));
    }

    #[test]
    fn remote_jobs_ignore_the_ambito() {
        let mut elsewhere = mediator(4, &["ar"]);
        elsewhere.ambiti = vec![ambito("Treviglio")];
        let mut j = job("ar");
        j.modality = Modality::Video;
        let r = rank(&[elsewhere], &j, &settings());
        assert_eq!(ids(&r), vec![4]);
        assert!(r.candidates[0].reasons.contains(&Reason::RemoteJob));
    }

    #[test]
    fn variant_request_prefers_variant_speakers_then_family() {
        let mut family_low_hours = mediator(1, &["ar", "fr"]);
        family_low_hours.minutes_last_30_days = 0;
        let exact = mediator(2, &["ary"]);
        let other_variant = mediator(3, &["arz"]);
        let r = rank(
            &[family_low_hours, exact, other_variant],
            &job("ary"),
            &settings(),
        );
        assert_eq!(ids(&r), vec![2, 1, 3]);
        assert_eq!(r.candidates[0].language_fit, LanguageFit::Exact);
        assert_eq!(r.candidates[1].language_fit, LanguageFit::Family);
        assert!(matches!(
            &r.candidates[1].reasons[0],
            Reason::SpeaksFamily { language, requested } if language == "ar" && requested == "ary"
        ));
    }

    #[test]
    fn continuity_then_fairness_then_acceptance() {
        let mut busy_but_knows_case = mediator(1, &["ar"]);
        busy_but_knows_case.minutes_last_30_days = 3000;
        busy_but_knows_case.case_refs = vec!["TM-2026-117".into()];
        let mut few_hours = mediator(2, &["ar"]);
        few_hours.minutes_last_30_days = 60;
        let mut many_hours_good = mediator(3, &["ar"]);
        many_hours_good.minutes_last_30_days = 900;
        many_hours_good.offers_received = 10;
        many_hours_good.offers_accepted = 9;
        let mut many_hours_poor = mediator(4, &["ar"]);
        many_hours_poor.minutes_last_30_days = 900;
        many_hours_poor.offers_received = 10;
        many_hours_poor.offers_accepted = 1;
        let mut j = job("ar");
        j.case_ref = Some("TM-2026-117".into());
        let roster = [
            many_hours_poor,
            many_hours_good,
            few_hours,
            busy_but_knows_case,
        ];
        let r = rank(&roster, &j, &settings());
        assert_eq!(ids(&r), vec![1, 2, 3, 4]);
        assert_eq!(r.candidates[0].reasons[0], Reason::Continuity);
        assert!(!r.candidates[1].continuity);
        // Without a case reference fairness leads.
        let r = rank(&roster, &job("ar"), &settings());
        assert_eq!(ids(&r), vec![2, 3, 4, 1]);
    }

    #[test]
    fn overlapping_jobs_are_excluded_with_the_travel_buffer() {
        let at = |h: u32, m: u32| Rome.with_ymd_and_hms(2027, 3, 1, h, m, 0).unwrap().to_utc();
        let slot = |a, b, remote| BusySlot {
            starts_at: a,
            ends_at: b,
            remote,
        };
        let mut before_too_close = mediator(1, &["ar"]);
        before_too_close.busy = vec![slot(at(8, 0), at(9, 45), false)];
        let mut before_ok = mediator(2, &["ar"]);
        before_ok.busy = vec![slot(at(8, 0), at(9, 30), false)];
        let mut after_too_close = mediator(3, &["ar"]);
        after_too_close.busy = vec![slot(at(12, 15), at(13, 0), false)];
        let mut inside = mediator(4, &["ar"]);
        inside.busy = vec![slot(at(10, 30), at(11, 0), true)];
        let mut other_day = mediator(5, &["ar"]);
        other_day.busy = vec![slot(at(10, 0), at(12, 0), false) + Duration::days(1)];
        let roster = [
            before_too_close,
            before_ok,
            after_too_close,
            inside,
            other_day,
        ];
        let r = rank(&roster, &job("ar"), &settings());
        assert_eq!(ids(&r), vec![2, 5]);
        for id in [1, 3, 4] {
            assert_eq!(excluded(&r, id), Some(Exclusion::Overlap), "{id}");
        }
        // Two remote jobs back to back need no buffer.
        let mut j = job("ar");
        j.modality = Modality::Phone;
        let mut remote_before = mediator(6, &["ar"]);
        remote_before.busy = vec![slot(at(9, 0), at(10, 0), true)];
        let r = rank(&[remote_before], &j, &settings());
        assert_eq!(ids(&r), vec![6]);
    }

    impl std::ops::Add<Duration> for BusySlot {
        type Output = BusySlot;
        fn add(self, d: Duration) -> BusySlot {
            BusySlot {
                starts_at: self.starts_at + d,
                ends_at: self.ends_at + d,
                remote: self.remote,
            }
        }
    }

    #[test]
    fn explanations_read_as_sentences() {
        let mut m = mediator(1, &["ar"]);
        m.case_refs = vec!["TM-1".into()];
        m.minutes_last_30_days = 90;
        let mut j = job("ary");
        j.case_ref = Some("TM-1".into());
        let r = rank(&[m, mediator(2, &["ur"])], &j, &settings());
        assert_eq!(
            r.candidates[0].explanation("it"),
            "ha già seguito questo caso; parla arabo (stessa famiglia di arabo marocchino); lavora nell'Ambito Bergamo; \
             1.5 ore negli ultimi 30 giorni; ha accettato 0 offerte su 0"
        );
        assert!(
            r.candidates[0]
                .explanation("en")
                .starts_with("already worked on this case; speaks Arabic")
        );
        assert_eq!(
            r.excluded[0].1.explanation("en"),
            "does not speak the requested language"
        );
    }

    #[test]
    fn gender_preference_is_a_filter() {
        let f = mediator(1, &["ar"]);
        let mut m = mediator(2, &["ar"]);
        m.gender = Some(Gender::M);
        let mut unknown = mediator(3, &["ar"]);
        unknown.gender = None;
        let mut j = job("ar");
        j.gender_preference = Some(Gender::F);
        let r = rank(&[f.clone(), m.clone(), unknown], &j, &settings());
        assert_eq!(ids(&r), vec![1]);
        assert_eq!(excluded(&r, 2), Some(Exclusion::Gender));
        let r = rank(&[f, m], &job("ar"), &settings());
        assert_eq!(r.candidates.len(), 2);
    }

    #[test]
    fn written_translations_ignore_time() {
        let mut unavailable = mediator(1, &["ar"]);
        unavailable.availability = Availability::parse("sab 08:00-09:00").unwrap();
        let mut j = job("ar");
        j.appointment = None;
        assert_eq!(ids(&rank(&[unavailable], &j, &settings())), vec![1]);
    }

    #[test]
    fn waves_skip_those_already_asked() {
        let roster: Vec<_> = (1..=7)
            .map(|i| {
                let mut m = mediator(i, &["ar"]);
                m.minutes_last_30_days = i as u32 * 60;
                m
            })
            .collect();
        let r = rank(&roster, &job("ar"), &settings());
        assert_eq!(r.next_wave(&[], 3), vec![1, 2, 3]);
        assert_eq!(r.next_wave(&[1, 2, 3], 3), vec![4, 5, 6]);
        assert_eq!(r.next_wave(&[1, 2, 3, 4, 5, 6], 3), vec![7]);
        assert!(r.next_wave(&[1, 2, 3, 4, 5, 6, 7], 3).is_empty());
    }

    #[test]
    fn every_reason_has_a_prompt_in_both_languages() {
        let it: toml::Table =
            toml::from_str(include_str!("../../prompts/it/dispatch.toml")).unwrap();
        let en: toml::Table =
            toml::from_str(include_str!("../../prompts/en/dispatch.toml")).unwrap();
        let reasons = [
            Reason::Continuity,
            Reason::SpeaksExact {
                language: "ar".into(),
            },
            Reason::SpeaksFamily {
                language: "ar".into(),
                requested: "ary".into(),
            },
            Reason::ServesAmbito {
                ambito: "Bergamo".into(),
            },
            Reason::RemoteJob,
            Reason::GenderMatches { gender: "f".into() },
            Reason::HoursLast30Days {
                hours: "1.0".into(),
            },
            Reason::AcceptanceHistory {
                accepted: 1,
                offered: 2,
            },
        ];
        let mut keys: Vec<(String, Vec<&str>)> = reasons
            .iter()
            .map(|r| {
                let (k, args) = r.prompt();
                (k.to_string(), args.iter().map(|(n, _)| *n).collect())
            })
            .collect();
        for e in [
            Exclusion::Inactive,
            Exclusion::Paused,
            Exclusion::Language,
            Exclusion::Ambito,
            Exclusion::Gender,
            Exclusion::Unavailable,
            Exclusion::Overlap,
        ] {
            keys.push((e.prompt_key().to_string(), vec![]));
        }
        for (key, args) in keys {
            let k = key.strip_prefix("dispatch.").unwrap();
            for table in [&it, &en] {
                let text = table
                    .get(k)
                    .and_then(|v| v.as_str())
                    .unwrap_or_else(|| panic!("{key}"));
                for a in &args {
                    assert!(text.contains(&format!("{{{a}}}")), "{key} lacks {{{a}}}");
                }
            }
        }
    }
}
