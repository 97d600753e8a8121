//! A notice as words: which sentence of `prompts/<lang>/dispatch.toml`, its values already in
//! words ([`super::words::Words`]), its subject line, and the answers it offers as buttons.
//! Channels turn a [`Sentence`] into their own payload: Telegram escapes the values for HTML
//! and encodes the buttons as callback data; email writes plain text with a subject.

use super::notice::{Notice, Reminder, Withdrawn};
use super::words::Words;
use crate::config::Lang;
use crate::prompts::Prompts;
use chrono::{NaiveDate, NaiveTime};

use crate::domain::series::{Occurrence, OccurrenceStatus, Recurrence, Series};
use crate::domain::{InterventionType, LanguageCode, Modality, RequestCode};
use crate::store::{Mediator, Request};
use chrono::{DateTime, Utc};

/// An answer a notice offers (a Telegram button).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept {
        offer_id: i64,
    },
    Decline {
        offer_id: i64,
    },
    Done {
        assignment_id: i64,
    },
    NotDone {
        assignment_id: i64,
    },
    /// A mark on the next criterion: `scores` are the marks so far, this one last, as the
    /// digits of a number (each 1 to 5, so no digit is 0).
    Evaluate {
        request_id: i64,
        scores: u64,
    },
    /// The requester confirms the mediator's hours.
    ConfirmHours {
        assignment_id: i64,
    },
    /// The requester gives another figure (minutes).
    OtherHours {
        assignment_id: i64,
        minutes: i64,
    },
    /// A coordinator settles a dispute with the minutes to bill.
    SettleHours {
        assignment_id: i64,
        minutes: i64,
    },
    /// Whoever held one meeting of a series says whether it took place.
    MeetingDone {
        occurrence_id: i64,
    },
    MeetingNotDone {
        occurrence_id: i64,
    },
    /// The assigned mediator's answer to a new date or time ([Va bene] / [Non posso]).
    Change {
        timer_id: i64,
        ok: bool,
    },
}

/// A notice ready to be written by a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Sentence {
    pub lang: Lang,
    /// `dispatch.<key>`.
    pub key: &'static str,
    /// Values in words; the channel escapes them as its format needs.
    pub args: Vec<(&'static str, String)>,
    pub subject_key: &'static str,
    pub subject_args: Vec<(&'static str, String)>,
    /// Rows of (label, answer).
    pub answers: Vec<Vec<(String, Answer)>>,
}

impl Sentence {
    /// The sentence with each value passed through `escape` first.
    pub fn text_with(&self, escape: impl Fn(&str) -> String) -> String {
        let escaped: Vec<(&str, String)> = self.args.iter().map(|(k, v)| (*k, escape(v))).collect();
        dispatch_text(self.lang, self.key, &escaped)
    }

    /// The subject line (plain text).
    pub fn subject(&self) -> String {
        dispatch_text(self.lang, self.subject_key, &self.subject_args)
    }
}

/// Renders `dispatch.<key>`.
pub fn dispatch_text(lang: Lang, key: &str, args: &[(&str, String)]) -> String {
    let borrowed: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Prompts::global().render(lang, &format!("dispatch.{key}"), &borrowed)
}

fn place(w: &Words, r: &Request) -> String {
    let parts: Vec<String> = [r.address.clone(), r.comune.clone()]
        .into_iter()
        .flatten()
        .filter(|s| !s.trim().is_empty())
        .collect();
    if parts.is_empty() {
        w.unknown()
    } else {
        parts.join(", ")
    }
}

fn when(w: &Words, r: &Request) -> String {
    if let Some(s) = &r.series {
        return series_words(w, s);
    }
    match r.date {
        Some(d) => w.when(Some(d), r.start_time),
        None => w.date_opt(r.deadline),
    }
}

/// The time zone of the appointments (as in the invitations, [`crate::ics::TZID`]).
const TZ: chrono_tz::Tz = chrono_tz::Europe::Rome;

/// A local date and time in words ("martedì 16 marzo, 15:00").
fn instant_words(w: &Words, at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&TZ).naive_local();
    w.when(Some(local.date()), Some(local.time()))
}

/// [Va bene] / [Non posso] on the question of `timer_id` about a new time.
fn change_answers(lang: Lang, timer_id: i64) -> Vec<Vec<(String, Answer)>> {
    vec![
        [("change_ok", true), ("change_no", false)]
            .into_iter()
            .map(|(key, ok)| {
                (
                    dispatch_text(lang, key, &[]),
                    Answer::Change { timer_id, ok },
                )
            })
            .collect(),
    ]
}

/// Meetings `seqs` of `req`'s series at their times now: "martedì 23 marzo, 16:00; martedì 30
/// marzo, 16:00", or for more than three "5 incontri, da martedì 23 marzo, 16:00 a martedì 20
/// aprile, 16:00".
fn meetings_words(w: &Words, req: &Request, seqs: &[u32]) -> String {
    let mut at: Vec<DateTime<Utc>> = req
        .series
        .as_ref()
        .map(|s| {
            s.occurrences
                .iter()
                .filter(|o| seqs.contains(&o.seq))
                .map(|o| o.starts_at)
                .collect()
        })
        .unwrap_or_default();
    at.sort();
    match (at.first(), at.last()) {
        (Some(first), Some(last)) if at.len() > 3 => dispatch_text(
            w.lang,
            "meetings_range",
            &[
                ("count", at.len().to_string()),
                ("first", instant_words(w, *first)),
                ("last", instant_words(w, *last)),
            ],
        ),
        _ => at
            .iter()
            .map(|a| instant_words(w, *a))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// A series in words: "8 incontri, ogni settimana di martedì alle 15:00, da martedì 9 marzo a
/// martedì 27 aprile" (the meetings still on; a moved one counts at its new time).
pub fn series_words(w: &Words, s: &Series) -> String {
    let on: Vec<&Occurrence> = s.on().collect();
    let (Some(first), Some(last)) = (on.first(), on.last()) else {
        return dispatch_text(w.lang, "series_none", &[]);
    };
    let rule = Recurrence::parse_rrule(&s.rule, TZ).ok();
    let cadence = match rule.map(|r| r.freq_weeks) {
        Some(2) => "series_fortnightly",
        _ => "series_weekly",
    };
    let as_ruled = first.recurrence_id.with_timezone(&TZ).naive_local();
    let first_day = first.starts_at.with_timezone(&TZ).date_naive();
    let last_day = last.starts_at.with_timezone(&TZ).date_naive();
    if on.len() == 1 {
        return dispatch_text(
            w.lang,
            "series_when_one",
            &[("when", instant_words(w, first.starts_at))],
        );
    }
    let moved = on
        .iter()
        .filter(|o| o.status == OccurrenceStatus::Moved)
        .count();
    let mut text = dispatch_text(
        w.lang,
        "series_when",
        &[
            ("count", on.len().to_string()),
            ("cadence", dispatch_text(w.lang, cadence, &[])),
            ("weekday", crate::vocab::weekday(w.lang, as_ruled.date())),
            ("time", w.time(as_ruled.time())),
            ("first", w.date(first_day)),
            ("last", w.date(last_day)),
        ],
    );
    if moved > 0 {
        text.push_str(&dispatch_text(
            w.lang,
            "series_moved_count",
            &[("moved", moved.to_string())],
        ));
    }
    text
}

/// A rule not stored yet (the bot's summary before [Conferma]) in words, as [`series_words`]
/// says a stored one; without an end: its cadence, weekday, time and first day, the end to
/// come.
pub fn rule_words(w: &Words, rule: &Recurrence, first: NaiveDate, time: NaiveTime) -> String {
    let occurrences: Vec<Occurrence> = rule
        .instants(first, time, 60, TZ)
        .into_iter()
        .zip(1u32..)
        .map(|((starts_at, ends_at), seq)| Occurrence {
            id: 0,
            seq,
            recurrence_id: starts_at,
            starts_at,
            ends_at,
            status: OccurrenceStatus::Active,
            mediator_id: None,
            outcome: None,
        })
        .collect();
    match rule.rrule(TZ) {
        Some(rrule) if !occurrences.is_empty() => series_words(
            w,
            &Series {
                rule: rrule,
                occurrences,
            },
        ),
        _ => dispatch_text(
            w.lang,
            "series_open",
            &[
                (
                    "cadence",
                    dispatch_text(
                        w.lang,
                        if rule.freq_weeks == 2 {
                            "series_fortnightly"
                        } else {
                            "series_weekly"
                        },
                        &[],
                    ),
                ),
                ("weekday", crate::vocab::weekday(w.lang, first)),
                ("time", w.time(time)),
                ("first", w.date(first)),
            ],
        ),
    }
}

fn date(w: &Words, r: &Request) -> String {
    // a series: its meetings, not the first one's day
    if let Some(s) = &r.series {
        return series_words(w, s);
    }
    w.date_opt(r.date.or(r.deadline))
}

/// What an offer broadcast to several mediators may show: the data-protection rule is in the
/// type (no names, addresses, phone numbers or case details).
#[derive(Debug, Clone, PartialEq)]
pub struct OfferView {
    pub code: RequestCode,
    pub language: LanguageCode,
    pub date: NaiveDate,
    pub time: Option<NaiveTime>,
    pub duration_minutes: Option<i64>,
    pub comune: Option<String>,
    pub intervention: InterventionType,
    pub modality: Modality,
}

/// The offer's sentence values; every field of a view may be unknown on a stored request.
#[allow(clippy::too_many_arguments)]
fn offer_values(
    w: &Words,
    code: RequestCode,
    language: Option<&LanguageCode>,
    date: Option<NaiveDate>,
    time: Option<NaiveTime>,
    duration_minutes: Option<i64>,
    comune: Option<&str>,
    intervention: Option<InterventionType>,
    modality: Option<Modality>,
) -> Vec<(&'static str, String)> {
    vec![
        ("code", code.to_string()),
        ("language", w.language_opt(language)),
        (
            "when",
            date.map_or_else(|| w.unknown(), |d| w.when(Some(d), time)),
        ),
        ("duration", w.duration_opt(duration_minutes)),
        (
            "comune",
            comune
                .filter(|c| !c.trim().is_empty())
                .map_or_else(|| w.unknown(), str::to_string),
        ),
        ("kind", w.intervention_opt(intervention)),
        ("modality", w.modality_opt(modality)),
    ]
}

fn offer_args(w: &Words, r: &Request) -> Vec<(&'static str, String)> {
    let mut args = offer_values(
        w,
        r.code,
        r.language.as_ref(),
        r.date.or(r.deadline),
        r.start_time,
        r.duration_minutes,
        r.comune.as_deref(),
        r.intervention,
        r.modality,
    );
    // a series: how many meetings, the cadence, the weekday, the time, the first and last day
    if let Some(series) = &r.series {
        for (k, v) in &mut args {
            if *k == "when" {
                *v = series_words(w, series);
            }
        }
    }
    args
}

fn offer_answers(lang: Lang, offer_id: i64) -> Vec<Vec<(String, Answer)>> {
    vec![vec![
        (
            dispatch_text(lang, "offer_accept", &[]),
            Answer::Accept { offer_id },
        ),
        (
            dispatch_text(lang, "offer_decline", &[]),
            Answer::Decline { offer_id },
        ),
    ]]
}

/// The offer sentence of a view (the same words as the offer of a stored request).
pub fn offer_sentence(lang: Lang, offer_id: i64, v: &OfferView) -> Sentence {
    let w = Words::new(lang);
    Sentence {
        lang,
        key: "offer",
        args: offer_values(
            &w,
            v.code,
            Some(&v.language),
            Some(v.date),
            v.time,
            v.duration_minutes,
            v.comune.as_deref(),
            Some(v.intervention),
            Some(v.modality),
        ),
        subject_key: "offer_subject",
        subject_args: vec![("code", v.code.to_string())],
        answers: offer_answers(lang, offer_id),
    }
}

/// Everything about the appointment, for whom may see the details.
pub fn details_args(w: &Words, r: &Request) -> Vec<(&'static str, String)> {
    let requester = [
        r.requester_name.clone(),
        r.requester_phone.clone(),
        r.ente.clone(),
    ]
    .into_iter()
    .flatten()
    .filter(|s| !s.trim().is_empty())
    .collect::<Vec<_>>()
    .join(", ");
    vec![
        ("code", r.code.to_string()),
        ("language", w.language_opt(r.language.as_ref())),
        ("when", when(w, r)),
        ("duration", w.duration_opt(r.duration_minutes)),
        ("place", place(w, r)),
        ("kind", w.intervention_opt(r.intervention)),
        ("modality", w.modality_opt(r.modality)),
        (
            "requester",
            if requester.is_empty() {
                w.unknown()
            } else {
                requester
            },
        ),
        (
            "notes",
            r.notes
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "-".into()),
        ),
    ]
}

fn code_args(r: &Request) -> Vec<(&'static str, String)> {
    vec![("code", r.code.to_string())]
}

fn confirmation_args(w: &Words, r: &Request, m: &Mediator) -> Vec<(&'static str, String)> {
    vec![
        ("code", r.code.to_string()),
        ("mediator_word", w.mediator(m.gender)),
        ("mediator", m.name.clone()),
        ("confirmed", w.confirmed(m.gender)),
        ("when", when(w, r)),
        ("place", place(w, r)),
    ]
}

/// [Confermo], then the other usual figures (the bot's choices for the mediator), two rows.
fn hours_answers(
    lang: Lang,
    w: &Words,
    assignment_id: i64,
    minutes: i64,
) -> Vec<Vec<(String, Answer)>> {
    let others: Vec<(String, Answer)> = super::outcome::WORKED_CHOICES
        .iter()
        .filter(|m| **m != minutes)
        .map(|m| {
            (
                dispatch_text(lang, "hours_other_button", &[("hours", w.duration(*m))]),
                Answer::OtherHours {
                    assignment_id,
                    minutes: *m,
                },
            )
        })
        .collect();
    vec![
        vec![(
            dispatch_text(lang, "hours_confirm_button", &[]),
            Answer::ConfirmHours { assignment_id },
        )],
        others,
    ]
}

/// A criterion of the evaluation in words (`dispatch.criterion_<name>`).
pub fn criterion_words(lang: Lang, criterion: &str) -> String {
    dispatch_text(lang, &format!("criterion_{criterion}"), &[])
}

/// The criteria in order, numbered: "1. Puntualità; 2. Accuratezza linguistica; ...".
pub fn criteria_words(lang: Lang, criteria: &[String]) -> String {
    criteria
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{}. {}", i + 1, criterion_words(lang, c)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The buttons 1 to 5 for the next criterion, after the scores `given` so far (their digits,
/// in order; 0 for none).
pub fn score_answers(lang: Lang, request_id: i64, given: u64) -> Vec<(String, Answer)> {
    (1..=5u64)
        .map(|score| {
            (
                dispatch_text(
                    lang,
                    "ask_evaluation_button",
                    &[("score", score.to_string())],
                ),
                Answer::Evaluate {
                    request_id,
                    scores: given * 10 + score,
                },
            )
        })
        .collect()
}

/// The words of `notice` in `lang`.
pub fn sentence(lang: Lang, notice: &Notice) -> Sentence {
    let w = Words::new(lang);
    let s = |key, args, subject_key, subject_args, answers| Sentence {
        lang,
        key,
        args,
        subject_key,
        subject_args,
        answers,
    };
    match notice {
        Notice::Offer {
            request, offer_id, ..
        } => s(
            if request.series.is_some() {
                "offer_series"
            } else {
                "offer"
            },
            offer_args(&w, request),
            "offer_subject",
            code_args(request),
            offer_answers(lang, *offer_id),
        ),
        Notice::Details { request, .. } => s(
            "accepted_details",
            details_args(&w, request),
            "details_subject",
            code_args(request),
            vec![],
        ),
        Notice::Confirmation {
            request, mediator, ..
        } => s(
            "confirmation",
            confirmation_args(&w, request, mediator),
            "confirmation_subject",
            code_args(request),
            vec![],
        ),
        Notice::Withdrawal { request, why, .. } => s(
            match why {
                Withdrawn::Taken => "offer_withdrawn",
                Withdrawn::Cancelled => "cancelled_offer",
                Withdrawn::Moved => "offer_moved",
            },
            code_args(request),
            "notice_subject",
            code_args(request),
            vec![],
        ),
        Notice::Changed { request, .. } => s(
            "appointment_changed",
            vec![
                ("code", request.code.to_string()),
                ("when", when(&w, request)),
                ("place", place(&w, request)),
            ],
            "notice_subject",
            code_args(request),
            vec![],
        ),
        Notice::MeetingOffer {
            request,
            offer_id,
            starts_at,
            ..
        } => {
            let mut args = offer_args(&w, request);
            for (k, v) in &mut args {
                if *k == "when" {
                    *v = instant_words(&w, *starts_at);
                }
            }
            s(
                "offer_meeting",
                args,
                "offer_subject",
                code_args(request),
                offer_answers(lang, *offer_id),
            )
        }
        Notice::MeetingChanged {
            request, from, to, ..
        } => s(
            if to.is_some() {
                "meeting_moved"
            } else {
                "meeting_cancelled"
            },
            vec![
                ("code", request.code.to_string()),
                ("date", instant_words(&w, *from)),
                (
                    "new",
                    to.map_or_else(|| w.unknown(), |t| instant_words(&w, t)),
                ),
            ],
            "notice_subject",
            code_args(request),
            vec![],
        ),
        Notice::MeetingsQuestion {
            request,
            seqs,
            timer_id,
            ..
        } => s(
            "meetings_question",
            vec![
                ("code", request.code.to_string()),
                ("meetings", meetings_words(&w, request, seqs)),
                ("place", place(&w, request)),
            ],
            "notice_subject",
            code_args(request),
            change_answers(lang, *timer_id),
        ),
        Notice::MeetingsAgreed {
            request,
            mediator,
            seqs,
            ..
        } => s(
            "meetings_agreed",
            vec![
                ("code", request.code.to_string()),
                ("mediator_word", w.mediator(mediator.gender)),
                ("mediator", mediator.name.clone()),
                ("meetings", meetings_words(&w, request, seqs)),
            ],
            "notice_subject",
            code_args(request),
            vec![],
        ),
        Notice::MeetingReleased {
            request, starts_at, ..
        } => s(
            "meeting_released",
            vec![
                ("code", request.code.to_string()),
                ("when", instant_words(&w, *starts_at)),
            ],
            "notice_subject",
            code_args(request),
            vec![],
        ),
        Notice::MeetingMediator {
            request,
            mediator,
            starts_at,
            to_mediator,
            ..
        } => {
            let when = instant_words(&w, *starts_at);
            match (mediator, to_mediator) {
                (Some(_), true) => {
                    let mut args = details_args(&w, request);
                    for (k, v) in &mut args {
                        if *k == "when" {
                            *v = when.clone();
                        }
                    }
                    s(
                        "meeting_details",
                        args,
                        "details_subject",
                        code_args(request),
                        vec![],
                    )
                }
                (Some(m), false) => s(
                    "meeting_mediator",
                    vec![
                        ("code", request.code.to_string()),
                        ("when", when),
                        ("mediator_word", w.mediator(m.gender)),
                        ("mediator", m.name.clone()),
                    ],
                    "notice_subject",
                    code_args(request),
                    vec![],
                ),
                (None, _) => s(
                    "meeting_looking",
                    vec![("code", request.code.to_string()), ("when", when)],
                    "notice_subject",
                    code_args(request),
                    vec![],
                ),
            }
        }
        Notice::SeriesChanged {
            request, change, ..
        } => s(
            match (change.cancelled, change.seqs.len() > 1) {
                (true, false) => "series_cancelled_one",
                (true, true) => "series_cancelled_following",
                (false, false) => "series_moved_one",
                (false, true) => "series_moved_following",
            },
            vec![
                ("code", request.code.to_string()),
                ("date", instant_words(&w, change.from)),
                (
                    "new",
                    change
                        .to
                        .map_or_else(|| w.unknown(), |t| instant_words(&w, t)),
                ),
                ("count", change.seqs.len().to_string()),
                ("series", when(&w, request)),
            ],
            "notice_subject",
            code_args(request),
            vec![],
        ),
        Notice::Rescheduled {
            request,
            asking,
            late,
        } => {
            let mut args = vec![
                ("code", request.code.to_string()),
                ("when", when(&w, request)),
                ("place", place(&w, request)),
            ];
            let key = match (asking, late) {
                (Some(m), late) => {
                    args.push(("mediator", m.name.clone()));
                    if *late {
                        "rescheduled_asking_late"
                    } else {
                        "rescheduled_asking"
                    }
                }
                (None, true) => "rescheduled_unassigned_late",
                (None, false) => "rescheduled_unassigned",
            };
            s(key, args, "notice_subject", code_args(request), vec![])
        }
        Notice::ChangeQuestion {
            request,
            timer_id,
            late,
            ..
        } => s(
            if *late {
                "change_question_late"
            } else {
                "change_question"
            },
            vec![
                ("code", request.code.to_string()),
                ("when", when(&w, request)),
                ("place", place(&w, request)),
            ],
            "notice_subject",
            code_args(request),
            change_answers(lang, *timer_id),
        ),
        Notice::Released {
            request, timed_out, ..
        } => s(
            if *timed_out {
                "released_mediator_timeout"
            } else {
                "released_mediator"
            },
            vec![
                ("code", request.code.to_string()),
                ("when", when(&w, request)),
            ],
            "notice_subject",
            code_args(request),
            vec![],
        ),
        Notice::Requeued {
            request,
            mediator,
            timed_out,
            ..
        } => s(
            if *timed_out {
                "requeued_timeout"
            } else {
                "requeued"
            },
            vec![
                ("code", request.code.to_string()),
                ("mediator_word", w.mediator(mediator.gender)),
                ("mediator", mediator.name.clone()),
                ("when", when(&w, request)),
            ],
            "notice_subject",
            code_args(request),
            vec![],
        ),
        Notice::Unfilled { request } => s(
            "unfilled",
            vec![
                ("code", request.code.to_string()),
                ("when", when(&w, request)),
            ],
            "unfilled_subject",
            code_args(request),
            vec![],
        ),
        Notice::Cancellation {
            request,
            late,
            to_requester,
            by_requester,
            ..
        } => s(
            match (to_requester, late) {
                (true, _) if *by_requester => "cancelled_by_requester",
                (true, _) => "cancelled_requester",
                (false, true) => "cancelled_mediator_late",
                (false, false) => "cancelled_mediator",
            },
            vec![
                ("code", request.code.to_string()),
                ("when", when(&w, request)),
            ],
            "notice_subject",
            code_args(request),
            vec![],
        ),
        Notice::Reminder {
            request,
            which,
            meeting,
            ..
        } => s(
            match (which, meeting) {
                (Reminder::DayBefore, None) => "reminder_day_before",
                (Reminder::HoursBefore, None) => "reminder_two_hours",
                (Reminder::DayBefore, Some(_)) => "meeting_reminder_day_before",
                (Reminder::HoursBefore, Some(_)) => "meeting_reminder_two_hours",
            },
            vec![
                ("code", request.code.to_string()),
                (
                    "when",
                    meeting.map_or_else(|| when(&w, request), |m| instant_words(&w, m.starts_at)),
                ),
                (
                    "time",
                    match meeting {
                        Some(m) => w.time_opt(Some(m.starts_at.with_timezone(&TZ).time())),
                        None => w.time_opt(request.start_time),
                    },
                ),
                ("place", place(&w, request)),
            ],
            "notice_subject",
            code_args(request),
            vec![],
        ),
        Notice::OutcomeQuestion {
            request,
            assignment_id,
            meeting,
            ..
        } => {
            let (yes, no) = match meeting {
                Some(m) => (
                    Answer::MeetingDone {
                        occurrence_id: m.occurrence_id,
                    },
                    Answer::MeetingNotDone {
                        occurrence_id: m.occurrence_id,
                    },
                ),
                None => (
                    Answer::Done {
                        assignment_id: *assignment_id,
                    },
                    Answer::NotDone {
                        assignment_id: *assignment_id,
                    },
                ),
            };
            s(
                if meeting.is_some() {
                    "meeting_ask_done"
                } else {
                    "ask_done"
                },
                vec![
                    ("code", request.code.to_string()),
                    (
                        "when",
                        meeting
                            .map_or_else(|| when(&w, request), |m| instant_words(&w, m.starts_at)),
                    ),
                ],
                "notice_subject",
                code_args(request),
                vec![vec![
                    (dispatch_text(lang, "ask_done_yes", &[]), yes),
                    (dispatch_text(lang, "ask_done_no", &[]), no),
                ]],
            )
        }
        Notice::EvaluationQuestion { request, criteria } => s(
            "ask_evaluation",
            vec![
                ("code", request.code.to_string()),
                ("date", date(&w, request)),
                ("criteria", criteria_words(lang, criteria)),
                (
                    "criterion",
                    criteria
                        .first()
                        .map(|c| criterion_words(lang, c))
                        .unwrap_or_default(),
                ),
                ("n", "1".into()),
                ("count", criteria.len().to_string()),
            ],
            "ask_evaluation_subject",
            code_args(request),
            vec![score_answers(lang, request.id, 0)],
        ),
        Notice::HoursQuestion {
            request,
            assignment_id,
            minutes,
        } => s(
            "ask_hours",
            vec![
                ("code", request.code.to_string()),
                ("date", date(&w, request)),
                ("hours", w.duration(*minutes)),
            ],
            "ask_hours_subject",
            code_args(request),
            hours_answers(lang, &w, *assignment_id, *minutes),
        ),
        Notice::HoursDisputed {
            request,
            assignment_id,
            mediator_minutes,
            requester_minutes,
            ..
        } => s(
            "hours_disputed",
            vec![
                ("code", request.code.to_string()),
                ("date", date(&w, request)),
                ("mediator_hours", w.duration(*mediator_minutes)),
                ("requester_hours", w.duration(*requester_minutes)),
            ],
            "hours_disputed_subject",
            code_args(request),
            vec![
                [*mediator_minutes, *requester_minutes]
                    .into_iter()
                    .map(|minutes| {
                        (
                            dispatch_text(
                                lang,
                                "hours_settle_button",
                                &[("hours", w.duration(minutes))],
                            ),
                            Answer::SettleHours {
                                assignment_id: *assignment_id,
                                minutes,
                            },
                        )
                    })
                    .collect(),
            ],
        ),
        Notice::Acknowledgement { request, .. } => s(
            "acknowledged",
            code_args(request),
            "notice_subject",
            code_args(request),
            vec![],
        ),
        Notice::Alert { subject, text, .. } => Sentence {
            lang,
            key: "alert",
            args: vec![("text", text.clone())],
            subject_key: "alert_subject",
            subject_args: vec![("subject", subject.clone())],
            answers: vec![],
        },
    }
}
