//! The Italian request extractor: free text or a labelled form, as a social worker writes it,
//! becomes a typed [`RequestDraft`] — language, date and time, place, modality, intervention type,
//! preferences, requester — with `missing` fields and `warnings`. Pure code, no I/O; every regex
//! and data file is compiled or parsed once.

pub mod corrections;
pub mod dates;
mod english;
pub mod eval;
mod fields;
pub mod fold;
mod hours;
pub mod languages;
pub mod mail;
pub mod messages;
pub mod places;
pub mod series;
pub mod text;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::LazyLock;

use crate::domain::appointment::local_to_utc;
use crate::domain::series::{Recurrence, SeriesEnd};
use crate::domain::{Ambito, Channel, Gender, InterventionType, LanguageCode, Modality};

pub use fields::Continuity;
pub use languages::Language;
pub use mail::read_email;
pub use places::Comune;
pub use text::prepare_email_text;

/// Longest text the extractor reads (bytes); the rest is ignored. A real request is a few
/// kilobytes (the golden ones at most 1.3 KB); 32 KiB keeps the many regex passes over hostile
/// text (non-ASCII bytes push them onto the slow regex engine) well under a second per input.
/// Fuzzing found mails of 200 KB and 64 KiB of such text taking over 1 s.
pub const MAX_TEXT: usize = 32 * 1024;

/// What the extractor knows besides the text.
#[derive(Debug, Clone)]
pub struct Context {
    /// Reference time for "domani", "giovedì", past-date and notice checks.
    pub now: DateTime<Utc>,
    pub tz: Tz,
    pub channel: Channel,
    /// Minimum notice for a request (regional rule: 48 hours).
    pub min_notice_hours: u32,
    pub sender: SenderInfo,
    /// When the text was written (an email's `Date`), if earlier than `now`: its "domani" and
    /// "lunedì" count from then (a mail written on Friday evening and read on Monday).
    pub sent: Option<DateTime<Utc>>,
}

impl Context {
    pub fn new(now: DateTime<Utc>, channel: Channel) -> Self {
        Self {
            now,
            tz: chrono_tz::Europe::Rome,
            channel,
            min_notice_hours: 48,
            sender: SenderInfo::default(),
            sent: None,
        }
    }
}

/// What registration tells about the sender.
#[derive(Debug, Clone, Default)]
pub struct SenderInfo {
    pub name: Option<String>,
    pub ente: Option<String>,
    pub ambito: Option<Ambito>,
    pub email: Option<String>,
    pub phone: Option<String>,
    /// The sender is the cooperative itself (a colleague on its own mail domain): what it
    /// forwards was asked by the forwarded message's sender, who is the requester.
    pub cooperative: bool,
}

/// A language as found: code and Italian name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LanguageRef {
    pub code: LanguageCode,
    pub name: String,
}

impl LanguageRef {
    fn of(l: &Language) -> Option<Self> {
        Some(Self {
            code: l.code()?,
            name: l.name.clone(),
        })
    }
}

/// A nationality given instead of a language, with the language it suggests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NationalityHint {
    pub word: String,
    pub suggested: LanguageRef,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requester {
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// A warning: a stable code plus the human-readable message (Italian).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    pub code: String,
    pub message: String,
}

/// A warning found while reading the text (before rendering): code plus placeholder values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    pub code: String,
    pub args: Vec<(String, String)>,
}

impl Note {
    pub fn new(code: &str, args: Vec<(&str, String)>) -> Self {
        Self {
            code: code.to_string(),
            args: args.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        }
    }

    /// The field a note is about, so that a merge drops it when that field is replaced.
    fn field(&self) -> &'static str {
        match self.code.as_str() {
            "approximate_time" | "time_assumed_pm" => "start",
            "nationality_only" | "several_languages" => "language",
            "ambiguous_place" => "place",
            _ => "date",
        }
    }
}

/// Everything understood from a request, each field present or absent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RequestDraft {
    pub language: Option<LanguageRef>,
    pub languages: Vec<LanguageRef>,
    pub nationality: Option<NationalityHint>,
    pub date: Option<NaiveDate>,
    pub start: Option<NaiveTime>,
    pub end: Option<NaiveTime>,
    /// The time is only a part of the day ("mattina").
    pub time_approximate: bool,
    pub duration_minutes: Option<u32>,
    /// Written translation: when it is due.
    pub deadline: Option<NaiveDate>,
    pub modality: Option<Modality>,
    pub intervention: Option<InterventionType>,
    pub comune: Option<Comune>,
    pub address: Option<String>,
    /// "presso la sede del Servizio Tutela Minori di ..."
    pub office: Option<String>,
    pub urgent: bool,
    pub mediator_gender: Option<Gender>,
    pub continuity: Option<Continuity>,
    pub case_ref: Option<String>,
    pub requester: Requester,
    /// Required fields still unknown: language, date, start, place, intervention (deadline for a
    /// written translation).
    pub missing: Vec<String>,
    pub warnings: Vec<Warning>,
    /// Every warning as a code with its values ([`render_warnings`] writes them in a reader's
    /// language; `warnings` holds them in Italian).
    pub warning_notes: Vec<Note>,
    /// Warnings read from the text, kept so that a merge can recompute `warnings`.
    pub notes: Vec<Note>,
    /// Fields read with doubt (an ambiguous "prossimo", two candidate dates, a frazione shared by
    /// comuni, a nationality instead of a language): `date`, `start`, `place`, `language`.
    pub unsure: Vec<String>,
    /// One short question that confirms the unsure fields ("Ho capito giovedì 11 marzo alle
    /// 10: giusto?"), in Italian; `None` when nothing is unsure.
    pub question: Option<String>,
    /// The same question as a prompt key (`question_when`, `question_place`,
    /// `question_language` in `prompts/<lang>/extract.toml`) with its values as data (`date`
    /// ISO, `time` HH:MM, `place`, `comuni`, `nationality`, `language` code), for a channel to
    /// ask in its reader's language.
    pub ask: Option<Note>,
    /// Where each field was read and how sure the reading is.
    pub sources: Vec<FieldSource>,
    /// A series of appointments ("ogni martedì ... per 8 settimane"): `date` and `start` are
    /// its first meeting. Without an end, `series_end` is missing and asked.
    pub recurrence: Option<Recurrence>,
    /// An end of a series said without a cadence (the answer "per 8 settimane" to the
    /// question about it), for [`merge`] to complete a series with; not stored.
    #[serde(skip)]
    pub series_end: Option<SeriesEndHint>,
}

/// The end of a series as an answer states it; `in_weeks`: a count of weeks ("per 8
/// settimane"), so the meetings are the weeks over the cadence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeriesEndHint {
    pub end: SeriesEnd,
    pub in_weeks: bool,
}

impl SeriesEndHint {
    /// The end for a series every `freq_weeks` weeks.
    pub fn for_cadence(self, freq_weeks: u32) -> SeriesEnd {
        match self.end {
            SeriesEnd::Count(n) if self.in_weeks => SeriesEnd::Count(n.div_ceil(freq_weeks.max(1))),
            e => e,
        }
    }
}

/// Where a field was read: the words as written, which part of a mail (0 = the newest) and
/// the byte span in that part's text, and a confidence in [0, 1].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldSource {
    pub field: String,
    pub text: String,
    pub part: usize,
    pub start: usize,
    pub end: usize,
    pub confidence: f32,
}

impl RequestDraft {
    /// The appointment's start as an instant (DST-safe), when date and start time are known.
    pub fn starts_at(&self, tz: Tz) -> Option<DateTime<Utc>> {
        Some(local_to_utc(self.date?.and_time(self.start?), tz))
    }

    /// The appointment's end as an instant, when the duration is known too.
    pub fn ends_at(&self, tz: Tz) -> Option<DateTime<Utc>> {
        let minutes = i64::from(self.duration_minutes?);
        Some(self.starts_at(tz)? + chrono::Duration::minutes(minutes))
    }
}

fn cut(text: &str) -> &str {
    if text.len() <= MAX_TEXT {
        return text;
    }
    let mut end = MAX_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Reads a request. Never panics, whatever the text. A text with structure (a mail with
/// quoted or forwarded messages, see [`mail`]) is read part by part, and the newest part that
/// states a field decides it.
pub fn extract(text: &str, ctx: &Context) -> RequestDraft {
    let text = cut(text);
    let own = written_at(ctx, ctx.sent);
    let mut d = if mail::is_structured(text) {
        let parts = mail::split(text);
        if parts.is_empty() {
            // Nothing the structure reader keeps: the text is read as it is.
            read(text, &own)
        } else {
            // Each message's relative dates count from the day it was sent: the top one's from
            // the mail's Date, a quoted one's from its own header (else from the newer one's).
            let mut anchor = own.now;
            let drafts = parts
                .iter()
                .map(|p| {
                    // (a header more than ten days old is a message kept for reference)
                    if let Some(at) = p.sent.and_then(|day| noon(day, ctx))
                        && p.kind != mail::PartKind::New
                        && at < anchor
                        && ctx.now - at <= chrono::Duration::days(10)
                    {
                        anchor = at;
                    }
                    let mut at = own.clone();
                    at.now = anchor;
                    let mut r = read(&p.text, &at);
                    from_header(&mut r, p, ctx);
                    r
                })
                .collect();
            combine(drafts)
        }
    } else {
        read(text, &own)
    };
    if !ctx.sender.cooperative {
        d.requester.name = d.requester.name.or_else(|| ctx.sender.name.clone());
        d.requester.email = d.requester.email.or_else(|| ctx.sender.email.clone());
        d.requester.phone = d.requester.phone.or_else(|| ctx.sender.phone.clone());
    }
    complete_times(&mut d);
    finalize(&mut d, ctx);
    d
}

/// The context with `now` moved back to when the text was written, if that is earlier.
fn written_at(ctx: &Context, sent: Option<DateTime<Utc>>) -> Context {
    let mut c = ctx.clone();
    if let Some(s) = sent
        && s < ctx.now
    {
        c.now = s;
    }
    c
}

/// Midday of a day in the context's time zone (a quoted header gives the day; the hour in it is
/// when a message was sent, never an appointment).
fn noon(day: NaiveDate, ctx: &Context) -> Option<DateTime<Utc>> {
    Some(local_to_utc(
        day.and_time(NaiveTime::from_hms_opt(12, 0, 0)?),
        ctx.tz,
    ))
}

/// When the cooperative forwarded a message, its writer (from its header) is the requester:
/// their address and name when the message's text gives none. Otherwise the forwarder is the
/// requester (the intake takes the From address), and a quoted header is never read.
fn from_header(d: &mut RequestDraft, p: &mail::Part, ctx: &Context) {
    let Some(from) = p.from.as_deref().filter(|_| ctx.sender.cooperative) else {
        return;
    };
    let (name, address) = match from.rsplit_once(" <") {
        Some((n, a)) => (Some(n.trim()), a.trim_end_matches('>').trim()),
        None => (None, from.trim()),
    };
    if address.contains('@') && d.requester.email.is_none() {
        d.requester.email = Some(address.to_string());
    }
    if d.requester.name.is_none() {
        d.requester.name = name.filter(|n| !n.is_empty()).map(String::from);
    }
}

/// How many of the core fields a part states (language, type, date, time, place).
fn core_fields(d: &RequestDraft) -> usize {
    [
        d.language.is_some() || d.nationality.is_some(),
        d.intervention.is_some(),
        d.date.is_some() || d.deadline.is_some(),
        d.start.is_some(),
        d.comune.is_some() || d.address.is_some() || d.office.is_some(),
    ]
    .iter()
    .filter(|x| **x)
    .count()
}

/// The drafts of a mail's parts (newest first) as one: from the oldest to the newest, each part
/// replaces what it states — the language (with its notes), the date, the time (start and end
/// together), the place (comune, address and office together)... A correction written above a
/// forwarded request thus overrides what it corrects. The requester is the one of the part that
/// holds the request (the most core fields; the oldest on a tie), else the newest that names one.
fn combine(mut parts: Vec<RequestDraft>) -> RequestDraft {
    if parts.is_empty() {
        // A mail with no text at all (only headers, or noise the structure reader drops).
        return RequestDraft::default();
    }
    for (i, p) in parts.iter_mut().enumerate() {
        for s in &mut p.sources {
            s.part = i;
        }
    }
    let holder = parts
        .iter()
        .enumerate()
        .fold((0usize, 0usize), |best, (i, p)| {
            let n = core_fields(p);
            if n >= best.1 { (i, n) } else { best }
        })
        .0;
    let requester = {
        let pick = |f: fn(&Requester) -> &Option<String>| {
            f(&parts[holder].requester)
                .clone()
                .or_else(|| parts.iter().find_map(|p| f(&p.requester).clone()))
        };
        Requester {
            name: pick(|r| &r.name),
            email: pick(|r| &r.email),
            phone: pick(|r| &r.phone),
        }
    };
    let mut it = parts.into_iter().rev();
    let Some(mut acc) = it.next() else {
        return RequestDraft::default();
    };
    for newer in it {
        let keep_notes = |acc: &mut RequestDraft, field: &str, newer: &RequestDraft| {
            acc.notes.retain(|n| n.field() != field);
            acc.notes
                .extend(newer.notes.iter().filter(|n| n.field() == field).cloned());
            acc.sources.retain(|s| s.field != field);
            acc.sources
                .extend(newer.sources.iter().filter(|s| s.field == field).cloned());
        };
        if newer.language.is_some() {
            acc.language = newer.language.clone();
            acc.languages = newer.languages.clone();
            acc.nationality = None;
            keep_notes(&mut acc, "language", &newer);
        } else if acc.language.is_none() && newer.nationality.is_some() {
            acc.nationality = newer.nationality.clone();
            keep_notes(&mut acc, "language", &newer);
        }
        if newer.date.is_some() {
            acc.date = newer.date;
            keep_notes(&mut acc, "date", &newer);
        }
        if newer.deadline.is_some() {
            acc.deadline = newer.deadline;
        }
        if newer.start.is_some()
            && !(newer.time_approximate
                && acc.start.is_some()
                && !acc.time_approximate
                && newer.date.is_none())
        {
            acc.start = newer.start;
            acc.end = newer.end;
            acc.time_approximate = newer.time_approximate;
            keep_notes(&mut acc, "start", &newer);
        }
        if newer.duration_minutes.is_some() {
            acc.duration_minutes = newer.duration_minutes;
        }
        if newer.comune.is_some() || newer.notes.iter().any(|n| n.field() == "place") {
            keep_notes(&mut acc, "place", &newer);
            acc.comune = newer.comune.clone();
            acc.address = newer.address.clone();
            acc.office = newer.office.clone();
        } else if newer.address.is_some() {
            acc.address = newer.address.clone();
            acc.office = newer.office.clone().or(acc.office.take());
        }
        macro_rules! newest {
            ($($f:ident),*) => { $( if newer.$f.is_some() { acc.$f = newer.$f.clone(); } )* };
        }
        newest!(
            intervention,
            modality,
            mediator_gender,
            continuity,
            case_ref,
            recurrence,
            series_end
        );
        acc.urgent |= newer.urgent;
        for n in &newer.notes {
            if !matches!(n.field(), "language" | "date" | "start" | "place")
                && !acc.notes.contains(n)
            {
                acc.notes.push(n.clone());
            }
        }
    }
    acc.requester = requester;
    acc
}

/// Reads one text (one part of a mail): every field it states, the requester as written in it.
fn read(text: &str, ctx: &Context) -> RequestDraft {
    let original = text;
    let folded = fold::Folded::new(original);
    let with_digits = english::italian(hours::digits(&folded.text));
    let f = with_digits.as_str();
    let today = ctx.now.with_timezone(&ctx.tz).date_naive();
    let mut d = RequestDraft::default();

    // Contacts and references first: their digits are not dates.
    let emails = fields::emails(f);
    let urls = fields::urls(f);
    let phones = fields::phones(f);
    let case = fields::case_ref(f);
    let mut taken: Vec<(usize, usize)> = Vec::new();
    taken.extend(emails.iter().map(|e| (e.0, e.1)));
    taken.extend(urls.iter().copied());
    taken.extend(phones.iter().map(|p| (p.0, p.1)));
    taken.extend(case.iter().map(|c| (c.0, c.1)));
    let masks = taken.clone();
    let masked = |s: usize, e: usize| masks.iter().any(|&(a, b)| s < b && a < e);

    let closing = fields::closing_at(f).unwrap_or(f.len());
    let body = &f[..closing];

    // Language
    let mut found = languages::find(original, &folded, &masked);
    // a language word in the signature ("PAOLA GRECO") counts only when the body names none
    if found.iter().any(|x| x.start < closing) {
        found.retain(|x| x.start < closing);
    }
    // a language taken back ("dari, non farsi") goes when another is named; when some are
    // asked for ("il padre parla pashto, la madre solo dari: serve dari"), the others go
    if found.iter().any(|x| !x.nationality && !x.negated) {
        found.retain(|x| !x.negated);
    }
    if found.iter().any(|x| !x.nationality && x.requested) {
        let asked: Vec<(String, usize)> = found
            .iter()
            .filter(|x| x.requested)
            .map(|x| (x.language.code.clone(), x.start + x.text.len()))
            .collect();
        // a variant right after an asked language stays: "lingua araba (dialetto marocchino)"
        found.retain(|x| {
            x.nationality
                || x.requested
                || x.language.family.as_ref().is_some_and(|f| {
                    asked
                        .iter()
                        .any(|(c, end)| c == f && x.start >= *end && x.start - *end <= 20)
                })
        });
    }
    let mut certain: Vec<&Language> = Vec::new();
    for x in found.iter().filter(|x| !x.nationality) {
        if !certain.iter().any(|l| l.code == x.language.code) {
            certain.push(x.language);
        }
    }
    // a variant beats its family ("arabo ... darija" -> ary)
    let parents: Vec<String> = certain.iter().filter_map(|l| l.family.clone()).collect();
    certain.retain(|l| !parents.contains(&l.code));
    d.languages = certain.iter().filter_map(|l| LanguageRef::of(l)).collect();
    d.language = d.languages.first().cloned();
    if let Some(first) = d.language.as_ref()
        && let Some(x) = found
            .iter()
            .find(|x| !x.nationality && x.language.code == first.code.as_str())
    {
        let a = folded.orig(x.start);
        d.sources
            .push(source("language", original, a, a + x.text.len(), 0.9));
    }
    if d.languages.len() > 1 {
        let names: Vec<String> = d.languages.iter().map(|l| l.name.clone()).collect();
        d.notes.push(Note::new(
            "several_languages",
            vec![("languages", names.join(", "))],
        ));
    }
    if d.language.is_none()
        && let Some(n) = found.iter().find(|x| x.nationality)
        && let Some(suggested) = LanguageRef::of(n.language)
    {
        let hint = NationalityHint {
            word: n.text.clone(),
            suggested,
        };
        d.notes.push(Note::new(
            "nationality_only",
            vec![
                ("nationality", hint.word.clone()),
                ("language", hint.suggested.name.clone()),
            ],
        ));
        d.nationality = Some(hint);
    }

    // Intervention (before dates: a written translation has a deadline, not a date)
    d.intervention = fields::intervention(body).or_else(|| fields::intervention(f));

    // A series first: its weekday and its end are not the appointment's date
    let series_hit = series::scan(f, today, &taken);
    taken.extend(series_hit.spans.iter().copied());

    // Dates, times, duration
    let hits = dates::scan_dates(f, today, &mut taken);
    let times = dates::scan_times(f, &mut taken);
    d.duration_minutes =
        dates::scan_duration(body, &taken).or_else(|| dates::scan_duration(f, &taken));
    let in_body = |s: usize| s < closing;
    let usable: Vec<&dates::DateHit> = {
        let b: Vec<_> = hits
            .iter()
            .filter(|h| !h.excluded && in_body(h.start))
            .collect();
        if b.is_empty() {
            hits.iter().filter(|h| !h.excluded).collect()
        } else {
            b
        }
    };
    for h in &usable {
        for n in &h.notes {
            if n.code == "invalid_date" {
                d.notes.push(n.clone());
            }
        }
    }
    let deadline_hit = usable.iter().find(|h| h.deadline && h.date.is_some());
    // a date taken back ("previsto per il 5") is not a candidate when another is given; a
    // correction ("spostato al 9 marzo") beats the others
    let all_appts: Vec<&&dates::DateHit> = usable
        .iter()
        .filter(|h| !h.deadline && h.date.is_some())
        .collect();
    let appts: Vec<&&dates::DateHit> = if all_appts.iter().any(|h| !h.negated) {
        all_appts.iter().copied().filter(|h| !h.negated).collect()
    } else {
        all_appts
    };
    let pick = appts
        .iter()
        .find(|h| h.corrects && h.date.is_some_and(|x| x >= today))
        .or_else(|| appts.iter().find(|h| h.date.is_some_and(|x| x >= today)))
        .or(appts.first())
        .copied();
    let mut part_from_date = None;
    if let Some(p) = pick {
        d.date = p.date;
        let (a, b) = (folded.orig(p.start), folded.orig(p.end));
        d.sources.push(source("date", original, a, b, 0.9));
        part_from_date = p.part;
        d.notes
            .extend(p.notes.iter().filter(|n| n.code != "invalid_date").cloned());
        // a past date beside a coming one is a reference (a decree's date), not a candidate
        let coming = p.date.is_some_and(|x| x >= today);
        let mut distinct: Vec<NaiveDate> = if p.corrects {
            Vec::new()
        } else {
            appts
                .iter()
                .filter_map(|h| h.date)
                .filter(|x| !coming || *x >= today)
                .collect()
        };
        distinct.sort();
        distinct.dedup();
        if distinct.len() > 1 {
            let list: Vec<String> = distinct.iter().map(|x| dates::fmt_date(*x)).collect();
            d.notes.push(Note::new(
                "several_dates",
                vec![
                    ("dates", list.join(", ")),
                    ("date", p.date.map(dates::fmt_date).unwrap_or_default()),
                ],
            ));
        }
    } else if let Some(v) = usable
        .iter()
        .find(|h| h.date.is_none() && h.notes.iter().any(|n| n.code == "vague_date"))
    {
        d.notes.extend(v.notes.iter().cloned());
    }
    d.deadline = deadline_hit.and_then(|h| h.date);
    d.series_end = series_hit.end.map(|end| SeriesEndHint {
        end,
        in_weeks: series_hit.weeks.is_some() && series_hit.freq_weeks.is_none(),
    });
    if let Some(freq_weeks) = series_hit.freq_weeks
        && let Some(weekday) = series_hit.weekday.or(d.date.map(|x| x.weekday()))
    {
        let rule = Recurrence {
            freq_weeks,
            weekday,
            end: series_hit.end,
        };
        // the first meeting: the day given (moved onto the weekday), else the coming one
        let from = d.date.unwrap_or(today + chrono::Duration::days(1));
        let first = rule.first_on_or_after(from);
        d.date = Some(first);
        let mut rule = rule;
        if rule.end.is_none()
            && let Some(n) = series_hit.months
        {
            rule.end = first
                .checked_add_months(chrono::Months::new(n))
                .map(SeriesEnd::Until);
        }
        d.notes.retain(|n| n.code != "several_dates");
        d.recurrence = Some(rule);
    }

    // a precise time beats a part of the day ("in mattinata, dalle 9 alle 12"); a correction
    // ("non alle 10 ma alle 11.30", "anzi alle 11") beats what it corrects
    let usable_time = |t: &&dates::TimeHit| !t.until && !t.negated;
    let time_pick = [true, false]
        .iter()
        .find_map(|&body_only| {
            let pool = || {
                times
                    .iter()
                    .filter(usable_time)
                    .filter(move |t| !body_only || in_body(t.start))
            };
            pool()
                .find(|t| t.corrects)
                .or_else(|| pool().find(|t| t.approximate.is_none()))
                .or_else(|| pool().next())
        })
        .or(times.iter().find(|t| !t.until));
    // "alle 9 e mezza ..., fino alle 11,30": an end in the same sentence
    let until = time_pick.filter(|t| t.to.is_none()).and_then(|t| {
        times
            .iter()
            .find(|u| u.until && u.start > t.start && !sentence_break(&f[t.start..u.start]))
    });
    match time_pick {
        Some(t) => {
            d.start = Some(t.from);
            let (a, b) = (folded.orig(t.start), folded.orig(t.end));
            let sure = if t.approximate.is_some() { 0.6 } else { 0.9 };
            d.sources.push(source("start", original, a, b, sure));
            d.end = t.to.or(until.map(|u| u.from));
            // "oggi pomeriggio alle 4": the date already said the afternoon
            let said_pm = part_from_date == Some("pomeriggio");
            d.notes.extend(
                t.notes
                    .iter()
                    .filter(|n| !(said_pm && n.code == "time_assumed_pm"))
                    .cloned(),
            );
            if let Some(part) = t.approximate {
                d.time_approximate = true;
                d.notes.push(approx_note(part, t.from, t.to));
            }
        }
        None => {
            if let Some(part) = part_from_date {
                let (a, b) = dates::part_range(part);
                d.start = Some(a);
                d.end = Some(b);
                d.time_approximate = true;
                d.notes.push(approx_note(part, a, Some(b)));
            }
        }
    }

    if d.intervention == Some(InterventionType::TraduzioneScritta) {
        if d.deadline.is_none() {
            d.deadline = d.date;
        }
        d.date = None;
        d.start = None;
        d.end = None;
        d.duration_minutes = None;
        d.time_approximate = false;
        d.notes
            .retain(|n| n.field() != "start" && n.code != "several_dates");
    }

    // Place
    let comuni = places::find_comuni(original, &folded, &masked, closing);
    let best = comuni
        .iter()
        .filter(|c| c.score > 0)
        .max_by_key(|c| (c.score, std::cmp::Reverse(c.start)));
    d.comune = best.map(|c| c.comune.clone());
    if let Some(c) = best {
        let (a, b) = (folded.orig(c.start), folded.orig(c.end));
        let sure = if c.score >= 3 { 0.9 } else { 0.7 };
        d.sources.push(source("place", original, a, b, sure));
    }
    if d.comune.is_none()
        && let Some((frazione, comuni)) = places::shared_frazione(&f[..closing])
    {
        d.notes.push(Note::new(
            "ambiguous_place",
            vec![
                ("place", capitalised(frazione)),
                ("comuni", comuni.join(", ")),
            ],
        ));
    }
    let orig_closing = folded.orig(closing);
    // an address after the closing is the office's, in the signature
    let street_words = [
        "via ",
        "viale ",
        "v.le",
        "piazza ",
        "p.zza",
        "p.za",
        "p.le",
        "piazzale ",
        "corso ",
        "c.so",
        "largo ",
        "vicolo ",
        "strada ",
        "contrada ",
        "borgo ",
        "localit",
        "loc.",
    ];
    if dates::any(body, &street_words) {
        d.address = places::find_address(&original[..orig_closing]).map(|a| a.1);
    }
    if body.contains("presso") {
        d.office = places::find_office(&original[..orig_closing]);
    }
    d.modality = fields::modality(body);

    // Preferences, urgency, reference
    d.urgent = fields::urgent(body);
    d.mediator_gender = fields::gender(body);
    d.continuity = fields::continuity(&original[..orig_closing], body);
    d.case_ref = case.map(|c| folded.slice(original, c.0, c.1).to_string());

    // Requester, as written (registration fills the gaps later)
    d.requester = Requester {
        name: fields::requester_name(original, f),
        email: emails.first().map(|e| e.2.clone()),
        phone: phones.first().map(|p| p.2.clone()),
    };
    d
}

/// A full stop followed by a word, a new line or a semicolon: the sentence ends in `s`.
fn sentence_break(s: &str) -> bool {
    let b = s.as_bytes();
    b.iter().enumerate().any(|(i, &c)| {
        c == b'\n'
            || c == b';'
            || (c == b'.'
                && b.get(i + 1).is_some_and(|x| x.is_ascii_whitespace())
                && b.get(i + 2).is_some_and(|x| !x.is_ascii_digit()))
    })
}

fn approx_note(part: &str, from: NaiveTime, to: Option<NaiveTime>) -> Note {
    Note::new(
        "approximate_time",
        vec![
            ("part", part.to_string()),
            ("start", from.format("%H:%M").to_string()),
            (
                "end",
                to.map(|t| t.format("%H:%M").to_string())
                    .unwrap_or_default(),
            ),
        ],
    )
}

/// end from start + duration, duration from start and end.
fn complete_times(d: &mut RequestDraft) {
    if let (Some(s), Some(e)) = (d.start, d.end) {
        if e > s && d.duration_minutes.is_none() && !d.time_approximate {
            d.duration_minutes = Some(((e - s).num_minutes()) as u32);
        }
    } else if let (Some(s), None, Some(m)) = (d.start, d.end, d.duration_minutes) {
        let total = s.hour() * 60 + s.minute() + m;
        if total < 24 * 60 {
            d.end = NaiveTime::from_hms_opt(total / 60, total % 60, 0);
        }
    }
}

/// Recomputes `modality` defaults, `missing` and `warnings` from the fields and the notes.
fn finalize(d: &mut RequestDraft, ctx: &Context) {
    use InterventionType::*;
    // only a written translation is due by a day: an "entro lunedì" beside another type is about
    // something else ("le confermiamo entro lunedì" in the cooperative's quoted reply)
    if d.intervention.is_some_and(|t| t != TraduzioneScritta) {
        d.deadline = None;
    }
    // a hearing is at the court: the place is known; a frazione shared by several comuni is not
    let ambiguous = d.comune.is_none() && d.notes.iter().any(|n| n.field() == "place");
    let has_place = !ambiguous
        && (d.comune.is_some()
            || d.address.is_some()
            || d.office.is_some()
            || d.intervention == Some(Udienza));
    if d.modality.is_none() {
        d.modality = match d.intervention {
            Some(Telefonata) => Some(Modality::Phone),
            Some(VisitaDomiciliare) | Some(IncontroProtetto) | Some(Udienza) => {
                Some(Modality::InPerson)
            }
            // a place named, even one to ask about, is a meeting in person
            _ if has_place || ambiguous => Some(Modality::InPerson),
            _ => None,
        };
    }
    let mut missing = Vec::new();
    if d.language.is_none() {
        missing.push("language");
    }
    if d.intervention == Some(TraduzioneScritta) {
        if d.deadline.is_none() {
            missing.push("deadline");
        }
    } else {
        if d.date.is_none() {
            missing.push("date");
        }
        if d.start.is_none() {
            missing.push("start");
        }
        let remote = d.modality.is_some_and(Modality::is_remote);
        if !remote && !has_place {
            missing.push("place");
        }
        if d.intervention.is_none() {
            missing.push("intervention");
        }
        if d.recurrence.is_some_and(|r| r.end.is_none()) {
            missing.push("series_end");
        }
    }
    d.missing = missing.into_iter().map(String::from).collect();

    let local_now = ctx.now.with_timezone(&ctx.tz).naive_local();
    let today = local_now.date();
    let mut derived: Vec<Note> = Vec::new();
    if let Some(date) = d.date {
        let at = d
            .start
            .unwrap_or_else(|| NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default());
        let past = date < today || (date == today && d.start.is_some_and(|s| s < local_now.time()));
        if past {
            derived.push(Note::new(
                "date_in_past",
                vec![("date", dates::fmt_date(date))],
            ));
        } else {
            let starts = local_to_utc(date.and_time(at), ctx.tz);
            let hours = (starts - ctx.now).num_hours();
            if hours < i64::from(ctx.min_notice_hours) {
                derived.push(Note::new(
                    "short_notice",
                    vec![
                        ("hours", hours.max(0).to_string()),
                        ("min", ctx.min_notice_hours.to_string()),
                    ],
                ));
            }
        }
        if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
            derived.push(Note::new(
                "weekend",
                vec![
                    ("date", dates::fmt_date(date)),
                    ("weekday", dates::weekday_name(date.weekday()).into()),
                ],
            ));
        }
        if let Some(h) = dates::holiday(date) {
            derived.push(Note::new(
                "holiday",
                vec![("date", dates::fmt_date(date)), ("holiday", h.into())],
            ));
        }
    }
    if let Some(dl) = d.deadline
        && d.date.is_none()
        && dl < today
    {
        derived.push(Note::new(
            "date_in_past",
            vec![("date", dates::fmt_date(dl))],
        ));
    }
    if let (Some(s), Some(e)) = (d.start, d.end)
        && e <= s
    {
        derived.push(Note::new(
            "end_before_start",
            vec![
                ("start", s.format("%H:%M").to_string()),
                ("end", e.format("%H:%M").to_string()),
            ],
        ));
    }
    let mut all: Vec<Note> = Vec::new();
    for n in derived.into_iter().chain(d.notes.iter().cloned()) {
        if !all.contains(&n) {
            all.push(n);
        }
    }
    d.warning_notes = all.clone();
    d.warnings = all
        .iter()
        .map(|n| Warning {
            code: n.code.clone(),
            message: messages::note_text("it", n),
        })
        .collect();
    mark_unsure(d, &all);
}

/// The fields a warning puts in doubt, and the one question that settles them.
fn mark_unsure(d: &mut RequestDraft, notes: &[Note]) {
    let mut unsure: Vec<String> = Vec::new();
    for n in notes {
        let field = match n.code.as_str() {
            "prossimo_ambiguous" | "several_dates" | "weekday_mismatch" => "date",
            "time_assumed_pm" => "start",
            "ambiguous_place" => "place",
            "nationality_only" => "language",
            _ => continue,
        };
        if !unsure.iter().any(|u| u == field) {
            unsure.push(field.to_string());
        }
    }
    for s in &mut d.sources {
        if unsure.contains(&s.field) {
            s.confidence = s.confidence.min(0.4);
        }
    }
    let arg = |k: &str, v: String| (k.to_string(), v);
    let when = || {
        let mut w = d.date.map(dates::date_words).unwrap_or_default();
        if let Some(t) = d.start {
            let hm = if t.minute() == 0 {
                t.hour().to_string()
            } else {
                t.format("%H:%M").to_string()
            };
            w = messages::render("it", "when_at", &[("date".into(), w), ("time".into(), hm)])
                .trim()
                .to_string();
        }
        w
    };
    d.ask = if unsure.iter().any(|u| u == "date" || u == "start") && d.date.is_some() {
        Some(Note::new(
            "question_when",
            vec![
                ("date", d.date.map(|x| x.to_string()).unwrap_or_default()),
                (
                    "time",
                    d.start
                        .map(|t| t.format("%H:%M").to_string())
                        .unwrap_or_default(),
                ),
            ],
        ))
    } else if unsure.iter().any(|u| u == "place") {
        notes.iter().find(|n| n.field() == "place").map(|n| {
            let mut args = n.args.clone();
            args.retain(|(k, _)| k == "place" || k == "comuni");
            Note {
                code: "question_place".into(),
                args,
            }
        })
    } else if unsure.iter().any(|u| u == "language") {
        d.nationality.as_ref().map(|h| {
            Note::new(
                "question_language",
                vec![
                    ("nationality", h.word.clone()),
                    ("language", h.suggested.code.as_str().to_string()),
                ],
            )
        })
    } else {
        None
    };
    d.question = if unsure.iter().any(|u| u == "date" || u == "start") && d.date.is_some() {
        Some(messages::render(
            "it",
            "question_when",
            &[arg("when", when())],
        ))
    } else if unsure.iter().any(|u| u == "place") {
        notes.iter().find(|n| n.field() == "place").map(|n| {
            let mut args = n.args.clone();
            args.retain(|(k, _)| k == "place" || k == "comuni");
            messages::render("it", "question_place", &args)
        })
    } else if unsure.iter().any(|u| u == "language") {
        d.nationality.as_ref().map(|h| {
            messages::render(
                "it",
                "question_language",
                &[
                    arg("nationality", h.word.clone()),
                    arg("language", languages::with_article(&h.suggested.name)),
                ],
            )
        })
    } else {
        None
    };
    d.unsure = unsure;
}

fn capitalised(w: &str) -> String {
    let mut c = w.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn source(field: &str, original: &str, a: usize, b: usize, confidence: f32) -> FieldSource {
    let b = b.max(a);
    FieldSource {
        field: field.to_string(),
        text: original.get(a..b).unwrap_or("").trim().to_string(),
        part: 0,
        start: a,
        end: b,
        confidence,
    }
}

/// A follow-up (a reply with the missing field, an answer to the bot) fills what is missing
/// without erasing what was known. An approximate time ("mattina") gives way to a precise one.
/// Whether a follow-up says it corrects what was written before ("correggo", "scusate,
/// l'orario è cambiato", "spostato al", "non più ... ma", "anzi", "invece").
pub fn says_correction(text: &str) -> bool {
    static CUE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)\b(?:correggo|correzione|rettific|spostat[oa]|rinviat[oa]|anticipat[oa]|posticipat[oa]|cambiat[oa]|cambia\b|invece|non\s+pi[uù]|anzi\b|errore|sbagliat)",
        )
        .unwrap_or_else(|e| panic!("bad regex: {e}"))
    });
    CUE.is_match(text)
}

/// Whether a message asks to move an appointment ("spostiamo a giovedì alle 11", "possiamo
/// anticipare alle 9?", "rinviamo al 20", "can we move it to Friday?"), or says it corrects
/// ([`says_correction`]). A date in a reply without such a cue ("ci vediamo giovedì") moves
/// nothing.
pub fn says_reschedule(text: &str) -> bool {
    move_cue_end(text).is_some() || says_correction(text)
}

/// Where the first wish to move an appointment ends in `text` ("spostiamo", "rinviamo",
/// "can we move"): the new date and time are read after it first, so that the old one named
/// before ("non può giovedì: spostiamo a venerdì") is not taken for the new.
pub fn move_cue_end(text: &str) -> Option<usize> {
    static CUE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?i)\b(?:spost|rinvi|rimand|anticip|postic|cambi|modific|nuov[oa]\s+(?:data|orario|ora)\b|reschedul|postpon|move\b|moved\b|moving\b|bring\s+(?:it\s+)?forward|change)\w*",
        )
        .unwrap_or_else(|e| panic!("bad regex: {e}"))
    });
    CUE.find(text).map(|m| m.end())
}

/// A follow-up that corrects ([`says_correction`]): what it states replaces what the request
/// had (the language, the type, the date, the time, the place...), the rest is merged as usual.
pub fn correct(base: &RequestDraft, update: &RequestDraft, ctx: &Context) -> RequestDraft {
    let mut b = base.clone();
    if update.language.is_some() {
        b.language = None;
        b.nationality = None;
    }
    macro_rules! clear {
        ($($f:ident),*) => { $( if update.$f.is_some() { b.$f = None; } )* };
    }
    clear!(intervention, date, deadline, modality, mediator_gender);
    if update.start.is_some() {
        b.start = None;
        b.end = None;
        b.time_approximate = false;
    }
    if update.comune.is_some() || update.address.is_some() || update.office.is_some() {
        b.comune = None;
        b.address = None;
        b.office = None;
    }
    merge(&b, update, ctx)
}

pub fn merge(base: &RequestDraft, update: &RequestDraft, ctx: &Context) -> RequestDraft {
    let mut m = base.clone();
    let mut from_update: Vec<&'static str> = Vec::new();
    macro_rules! fill {
        ($field:ident, $name:literal) => {
            if m.$field.is_none() && update.$field.is_some() {
                m.$field = update.$field.clone();
                from_update.push($name);
            }
        };
    }
    if m.language.is_none() && update.language.is_some() {
        m.language = update.language.clone();
        m.nationality = None;
        from_update.push("language");
    }
    for l in &update.languages {
        if !m.languages.contains(l) {
            m.languages.push(l.clone());
        }
    }
    if m.nationality.is_none() && m.language.is_none() {
        m.nationality = update.nationality.clone();
    }
    fill!(intervention, "intervention");
    fill!(date, "date");
    fill!(deadline, "deadline");
    let precise_update = update.start.is_some() && !update.time_approximate;
    if (m.start.is_none() || (m.time_approximate && precise_update)) && update.start.is_some() {
        {
            m.start = update.start;
            m.end = update.end;
            m.time_approximate = update.time_approximate;
            if m.time_approximate || base.time_approximate {
                m.duration_minutes = update.duration_minutes.or(if base.time_approximate {
                    None
                } else {
                    base.duration_minutes
                });
            }
            from_update.push("start");
        }
    }
    fill!(end, "end");
    fill!(duration_minutes, "duration_minutes");
    fill!(modality, "modality");
    fill!(comune, "comune");
    fill!(address, "address");
    fill!(office, "office");
    fill!(mediator_gender, "mediator_gender");
    fill!(continuity, "continuity");
    fill!(case_ref, "case_ref");
    fill!(recurrence, "recurrence");
    if let Some(r) = m.recurrence.as_mut()
        && r.end.is_none()
    {
        r.end = update
            .recurrence
            .and_then(|u| u.end)
            .or(update.series_end.map(|h| h.for_cadence(r.freq_weeks)));
    }
    m.urgent = base.urgent || update.urgent;
    if m.requester.name.is_none() {
        m.requester.name = update.requester.name.clone();
    }
    if m.requester.email.is_none() {
        m.requester.email = update.requester.email.clone();
    }
    if m.requester.phone.is_none() {
        m.requester.phone = update.requester.phone.clone();
    }
    if m.intervention == Some(InterventionType::TraduzioneScritta) && m.deadline.is_none() {
        m.deadline = m.date.take();
    }
    // notes: keep those about fields whose value stayed, or still lacking
    let lacking = |field: &str, d: &RequestDraft| match field {
        "start" => d.start.is_none(),
        "language" => d.language.is_none(),
        _ => d.date.is_none(),
    };
    let mut notes = Vec::new();
    for n in &base.notes {
        let f = n.field();
        if !from_update.contains(&f) || lacking(f, &m) {
            notes.push(n.clone());
        }
    }
    for n in &update.notes {
        let f = n.field();
        if (from_update.contains(&f) || lacking(f, &m)) && !notes.contains(n) {
            notes.push(n.clone());
        }
    }
    // a vague date is no longer a warning once a date is known
    notes.retain(|n| !(n.code == "vague_date" && m.date.is_some()));
    if m.language.is_some() {
        notes.retain(|n| n.code != "nationality_only");
    }
    m.notes = notes;
    m.modality = if base.modality.is_some() && !from_update.contains(&"modality") {
        base.modality
    } else {
        m.modality
    };
    complete_times(&mut m);
    finalize(&mut m, ctx);
    m
}

/// The warnings of a draft in `lang` ("it", "en"), their values in that language too.
pub fn render_warnings(lang: &str, d: &RequestDraft) -> Vec<Warning> {
    d.warning_notes
        .iter()
        .map(|n| Warning {
            code: n.code.clone(),
            message: messages::note_text(lang, n),
        })
        .collect()
}

/// Whether a short answer confirms what was asked ("sì", "giusto", "esatto", "ok", "yes").
pub fn is_yes(text: &str) -> bool {
    let f = fold::Folded::new(text.trim());
    let t = f
        .text
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_string();
    const YES: &[&str] = &[
        "si",
        "sì",
        "giusto",
        "esatto",
        "ok",
        "okay",
        "va bene",
        "corretto",
        "confermo",
        "certo",
        "si giusto",
        "si grazie",
        "si esatto",
        "yes",
        "right",
        "correct",
    ];
    YES.iter().any(|y| t == *y)
}

/// The answer to one question of a dialogue ("giovedì alle 10" after "Per quando?"): the asked
/// field is taken from the answer even if the draft had a value; the rest only fills gaps.
pub fn answer(base: &RequestDraft, field: &str, text: &str, ctx: &Context) -> RequestDraft {
    let update = extract(text, ctx);
    let mut b = base.clone();
    match field {
        "language" if update.language.is_some() => {
            b.language = None;
            b.languages.clear();
        }
        "date" if update.date.is_some() => b.date = None,
        "start" | "time" if update.start.is_some() => {
            b.start = None;
            b.end = None;
        }
        "deadline" if update.deadline.is_some() || update.date.is_some() => b.deadline = None,
        "place" | "comune" if update.comune.is_some() || update.address.is_some() => {
            b.comune = None;
            b.address = None;
            b.office = None;
        }
        "intervention" if update.intervention.is_some() => b.intervention = None,
        "modality" if update.modality.is_some() => b.modality = None,
        "series_end" => {
            if let (Some(r), Some(hint)) = (b.recurrence.as_mut(), update.series_end) {
                r.end = Some(hint.for_cadence(r.freq_weeks));
            }
        }
        _ => {}
    }
    merge(&b, &update, ctx)
}

/// The answer to one question of a dialogue, read like any text ("domani alle 10", "arabo",
/// "a Seriate"), plus the short forms people type there: "15" to "a che ora?" is 15:00, "3" to
/// "quanto dura?" is three hours, "12" to "che giorno?" is the next 12th. `field` is one of
/// `language`, `date`, `start` (or `time`), `duration`, `place`, `intervention`, `modality`.
pub fn short_answer(field: &str, text: &str, ctx: &Context) -> RequestDraft {
    let mut d = extract(text, ctx);
    let n: Option<u32> = text.trim().trim_end_matches(['.', '!']).parse().ok();
    let today = ctx.now.with_timezone(&ctx.tz).date_naive();
    match field {
        "start" | "time" if d.start.is_none() || d.time_approximate => {
            if let Some(t) = n
                .filter(|h| *h <= 23)
                .and_then(|h| NaiveTime::from_hms_opt(h, 0, 0))
            {
                d.start = Some(t);
                d.end = None;
                d.time_approximate = false;
            }
        }
        "duration" if d.duration_minutes.is_none() => {
            if let Some(h) = n.filter(|h| (1..=12).contains(h)) {
                d.duration_minutes = Some(h * 60);
            }
        }
        "date" if d.date.is_none() => {
            if let Some(day) = n.filter(|x| (1..=31).contains(x)) {
                d.date = (0..15).find_map(|k| {
                    let m0 = today.month0() + k;
                    NaiveDate::from_ymd_opt(today.year() + (m0 / 12) as i32, m0 % 12 + 1, day)
                        .filter(|x| *x >= today)
                });
            }
        }
        _ => {}
    }
    finalize(&mut d, ctx);
    d
}

/// The JSON object `connecting parse` prints, with exactly the documented top-level keys.
pub fn to_parse_json(d: &RequestDraft) -> Value {
    let lang = |l: &LanguageRef| json!({"code": l.code.as_str(), "name": l.name});
    json!({
        "language": d.language.as_ref().map(lang),
        "languages": d.languages.iter().map(lang).collect::<Vec<_>>(),
        "date": d.date.map(|x| x.format("%Y-%m-%d").to_string()),
        "start": d.start.map(|x| x.format("%H:%M").to_string()),
        "end": d.end.map(|x| x.format("%H:%M").to_string()),
        "duration_minutes": d.duration_minutes,
        "deadline": d.deadline.map(|x| x.format("%Y-%m-%d").to_string()),
        "modality": d.modality.map(|m| m.as_str()),
        "intervention": d.intervention.map(|i| i.as_str()),
        "comune": d.comune.as_ref().map(|c| json!({"name": c.name, "istat": c.istat})),
        "address": d.address,
        "urgent": d.urgent,
        "mediator_gender": d.mediator_gender.map(|g| g.as_str()),
        "case_ref": d.case_ref,
        "requester": {"name": d.requester.name, "email": d.requester.email, "phone": d.requester.phone},
        "missing": d.missing,
        "warnings": d.warnings.iter().map(|w| json!({"code": w.code, "message": w.message})).collect::<Vec<_>>(),
        "unsure": d.unsure,
        "question": d.question,
        "series": d.recurrence.map(|r| json!({
            "every_weeks": r.freq_weeks,
            "weekday": dates::weekday_name(r.weekday),
            "count": match r.end { Some(SeriesEnd::Count(n)) => Some(n), _ => None },
            "until": match r.end { Some(SeriesEnd::Until(u)) => Some(u.format("%Y-%m-%d").to_string()), _ => None },
            "rrule": r.rrule(chrono_tz::Europe::Rome),
        })),
        "sources": d.sources.iter().map(|s| json!({
            "field": s.field, "text": s.text, "part": s.part, "start": s.start, "end": s.end,
            "confidence": (f64::from(s.confidence) * 100.0).round() / 100.0,
        })).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests;
