//! Matching: which mediators can take a job, and in which order they are asked.
//!
//! Pure: works on an in-memory roster (loaded by the store, or built by a test or the bench).
//! Every candidate carries the reasons for its place, and every excluded mediator the reason it
//! was left out, so the coordinator's view can explain both ("why her first", "why not him").
//! The reasons are data; their sentences live in `prompts/<lang>/dispatch.toml`.
//!
//! A series is matched on every meeting still to come ([`JobSpec::meetings`]): a mediator free
//! for all of them comes before one free for only some (each candidate carries the meetings it
//! cannot make, [`Candidate::missed`]), and one free for none is left out.

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
    /// The meetings of a series still on and to come (one, for a meeting offered on its own).
    /// When not empty they are what a mediator must be free for, instead of `appointment`.
    pub meetings: Vec<Meeting>,
}

/// One meeting of a series, as matching sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meeting {
    /// Its place in the series.
    pub seq: u32,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
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
    /// A series: free for `free` of its `total` meetings still to come.
    SeriesMeetings {
        free: u32,
        total: u32,
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
            Reason::SeriesMeetings { free, total } if free == total => (
                "dispatch.reason_all_meetings",
                vec![("total", total.to_string())],
            ),
            Reason::SeriesMeetings { free, total } => (
                "dispatch.reason_some_meetings",
                vec![("free", free.to_string()), ("total", total.to_string())],
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
    /// The meetings of a series (their `seq`) this mediator cannot make: unavailable or busy
    /// then. Empty for a single appointment and for one free for every meeting.
    pub missed: Vec<u32>,
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

/// The order of the ranking: free for every meeting of a series, then continuity, then the
/// closer language, then fewest hours, then acceptance history, then id (stable and
/// reproducible).
fn compare(a: &Candidate, b: &Candidate) -> Ordering {
    b.missed
        .is_empty()
        .cmp(&a.missed.is_empty())
        .then(b.continuity.cmp(&a.continuity))
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
    tz: Tz,
    buffer: Duration,
) -> Result<(LanguageFit, Vec<Reason>, Vec<u32>), Exclusion> {
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
    let mut reasons = Vec::with_capacity(7);
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
    if !job.meetings.is_empty() {
        let mut missed = Vec::new();
        let mut overlap = false;
        for meeting in &job.meetings {
            if let Err(e) = meeting_fit(m, meeting, remote, tz, buffer) {
                overlap |= e == Exclusion::Overlap;
                missed.push(meeting.seq);
            }
        }
        if missed.len() == job.meetings.len() {
            return Err(if overlap {
                Exclusion::Overlap
            } else {
                Exclusion::Unavailable
            });
        }
        let total = u32::try_from(job.meetings.len()).unwrap_or(u32::MAX);
        reasons.push(Reason::SeriesMeetings {
            free: total.saturating_sub(u32::try_from(missed.len()).unwrap_or(u32::MAX)),
            total,
        });
        return Ok((lang_fit, reasons, missed));
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
    Ok((lang_fit, reasons, Vec::new()))
}

/// Whether `m` can make one meeting: inside their weekly availability (its local day and time
/// in `tz`) and clear of their other jobs, travel buffer included.
fn meeting_fit(
    m: &MediatorProfile,
    meeting: &Meeting,
    remote: bool,
    tz: Tz,
    buffer: Duration,
) -> Result<(), Exclusion> {
    let local = meeting.starts_at.with_timezone(&tz).naive_local();
    let minutes = u32::try_from((meeting.ends_at - meeting.starts_at).num_minutes().max(0))
        .unwrap_or(u32::MAX);
    if !m.availability.covers(local.date(), local.time(), minutes) {
        return Err(Exclusion::Unavailable);
    }
    let w = (meeting.starts_at, meeting.ends_at);
    if m.busy.iter().any(|s| overlaps(w, remote, s, buffer)) {
        return Err(Exclusion::Overlap);
    }
    Ok(())
}

/// The meetings of `job` (their `seq`) that `m` cannot make, whatever else would keep them
/// out (for a mediator assigned by hand or who accepted: what to offer to someone else).
pub fn missed_meetings(m: &MediatorProfile, job: &JobSpec, settings: &MatchSettings) -> Vec<u32> {
    let buffer = Duration::minutes(i64::from(settings.travel_buffer_minutes));
    let remote = job.modality.is_remote();
    job.meetings
        .iter()
        .filter(|meeting| meeting_fit(m, meeting, remote, settings.tz, buffer).is_err())
        .map(|meeting| meeting.seq)
        .collect()
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
        match check(m, job, &lang, window, settings.tz, buffer) {
            Err(e) => out.excluded.push((m.id, e)),
            Ok((language_fit, mut reasons, missed)) => {
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
                    missed,
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
            meetings: vec![],
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

    /// Four weekly meetings on Mondays at 10:00-12:00 from 15 March 2027, across the change of
    /// clocks on 28 March (the wall time stays 10:00).
    fn series_job(language: &str) -> JobSpec {
        let mut j = job(language);
        j.meetings = (0..4)
            .map(|i| {
                let day = NaiveDate::from_ymd_opt(2027, 3, 15).unwrap() + Duration::weeks(i);
                let starts_at = Rome
                    .from_local_datetime(&day.and_hms_opt(10, 0, 0).unwrap())
                    .single()
                    .unwrap()
                    .to_utc();
                Meeting {
                    seq: u32::try_from(i).unwrap() + 1,
                    starts_at,
                    ends_at: starts_at + Duration::hours(2),
                }
            })
            .collect();
        j
    }

    fn busy_at(j: &JobSpec, seq: u32) -> BusySlot {
        let m = j.meetings.iter().find(|m| m.seq == seq).unwrap();
        BusySlot {
            starts_at: m.starts_at + Duration::minutes(30),
            ends_at: m.starts_at + Duration::minutes(90),
            remote: false,
        }
    }

    #[test]
    fn a_series_goes_first_to_who_is_free_for_every_meeting() {
        let j = series_job("ar");
        // fewest hours, and knows the case, but busy for meeting 3
        let mut busy_for_three = mediator(1, &["ar"]);
        busy_for_three.minutes_last_30_days = 0;
        busy_for_three.case_refs = vec!["TM-9".into()];
        busy_for_three.busy = vec![busy_at(&j, 3)];
        let free = mediator(2, &["ar"]);
        let mut busy_for_two = mediator(3, &["ar"]);
        busy_for_two.minutes_last_30_days = 60;
        busy_for_two.busy = vec![busy_at(&j, 1), busy_at(&j, 4)];
        // busy at every meeting: left out, with the reason
        let mut busy_always = mediator(4, &["ar"]);
        busy_always.busy = (1..=4).map(|s| busy_at(&j, s)).collect();
        // never on Mondays: left out
        let mut never_mondays = mediator(5, &["ar"]);
        never_mondays.availability = Availability::parse("mar-ven 08:00-18:00").unwrap();
        // another series' meeting held by her counts as busy like any job (the store gives it
        // as a busy slot); on another day it does not
        let mut other_day = mediator(6, &["ar"]);
        other_day.minutes_last_30_days = 900;
        other_day.busy = vec![busy_at(&j, 2) + Duration::days(1)];
        let mut with_case = j.clone();
        with_case.case_ref = Some("TM-9".into());
        let roster = [
            busy_for_three,
            free,
            busy_for_two,
            busy_always,
            never_mondays,
            other_day,
        ];
        let r = rank(&roster, &with_case, &settings());
        // free for all first (fewest hours among them), then the others in the usual order
        assert_eq!(ids(&r), vec![2, 6, 1, 3]);
        assert!(r.candidates[0].missed.is_empty() && r.candidates[1].missed.is_empty());
        assert_eq!(r.candidates[2].missed, vec![3]);
        assert_eq!(r.candidates[3].missed, vec![1, 4]);
        assert_eq!(excluded(&r, 4), Some(Exclusion::Overlap));
        assert_eq!(excluded(&r, 5), Some(Exclusion::Unavailable));
        assert!(
            r.candidates[0]
                .reasons
                .contains(&Reason::SeriesMeetings { free: 4, total: 4 })
        );
        assert!(
            r.candidates[2]
                .explanation("it")
                .contains("può esserci a 3 incontri della serie su 4"),
            "{}",
            r.candidates[2].explanation("it")
        );
        assert!(
            r.candidates[0]
                .explanation("en")
                .contains("can make every meeting of the series still to come (4)"),
            "{}",
            r.candidates[0].explanation("en")
        );
        // the first meeting's own time no longer decides alone: busy only at the request's
        // time (meeting 1), she is still a candidate, for the three others
        assert_eq!(r.candidates[3].mediator_id, 3);
    }

    #[test]
    fn each_meeting_is_checked_at_its_own_local_time() {
        let j = series_job("ar");
        // Mondays 09:00-13:00 local: every meeting, before and after the change of clocks
        let mut mondays = mediator(1, &["ar"]);
        mondays.availability = Availability::parse("lun 09:00-13:00").unwrap();
        // except 29 March: meeting 3 missed
        let mut but_one = mediator(2, &["ar"]);
        but_one.availability = Availability::parse("lun 09:00-13:00; tranne 2027-03-29").unwrap();
        let r = rank(&[mondays, but_one], &j, &settings());
        assert_eq!(ids(&r), vec![1, 2]);
        assert!(r.candidates[0].missed.is_empty());
        assert_eq!(r.candidates[1].missed, vec![3]);
        // one meeting offered on its own: only those free then
        let mut three = j.clone();
        three.meetings.retain(|m| m.seq == 3);
        let mut mondays = mediator(1, &["ar"]);
        mondays.availability = Availability::parse("lun 09:00-13:00").unwrap();
        let mut but_one = mediator(2, &["ar"]);
        but_one.availability = Availability::parse("lun 09:00-13:00; tranne 2027-03-29").unwrap();
        let r = rank(&[mondays, but_one], &three, &settings());
        assert_eq!(ids(&r), vec![1]);
        assert_eq!(excluded(&r, 2), Some(Exclusion::Unavailable));
    }

    #[test]
    fn the_meetings_a_mediator_cannot_make_whatever_else() {
        let j = series_job("ar");
        // does not speak the language (a coordinator's choice by hand): only time counts here
        let mut m = mediator(1, &["ur"]);
        m.busy = vec![busy_at(&j, 2), busy_at(&j, 4)];
        assert_eq!(missed_meetings(&m, &j, &settings()), vec![2, 4]);
        assert!(missed_meetings(&mediator(2, &["ar"]), &j, &settings()).is_empty());
        // a single appointment has no meetings to miss
        assert!(missed_meetings(&m, &job("ar"), &settings()).is_empty());
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
            Reason::SeriesMeetings { free: 4, total: 4 },
            Reason::SeriesMeetings { free: 3, total: 4 },
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
