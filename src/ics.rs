//! Calendar invitations (iCalendar, RFC 5545, with the iTIP methods of RFC 5546) for an
//! appointment: what lands in the requester's Outlook, Gmail or Thunderbird calendar and in the
//! mediator's phone.
//!
//! Pure: typed values in, text out. One event per request, with a stable `UID`
//! (`<request code>@<our mail domain>`), `DTSTART`/`DTEND` as local times in `Europe/Rome` with
//! its `VTIMEZONE` (the end computed through UTC, so an appointment across the night of a
//! daylight-saving change lasts what it should), a `SEQUENCE` that grows with every change, and
//! `METHOD:CANCEL` for the same `UID` when the appointment is cancelled.
//!
//! What the clients need, and what we chose (ARCHITECTURE.md, "Calendar invitations"):
//! - Outlook and Gmail show an invitation only with `METHOD` both in the calendar and in the
//!   MIME type's `method` parameter, an `ORGANIZER`, and the reader as an `ATTENDEE`; Gmail
//!   also wants `DTSTAMP` and a `UID` it can match later updates against.
//! - The organizer is the cooperative's mailbox; the requester and the mediator are attendees
//!   with `PARTSTAT=ACCEPTED` (the requester asked for the appointment, the mediator accepted it)
//!   and `RSVP=FALSE`: we want no iTIP replies in the cooperative's inbox, since changes go
//!   through the request's thread.
//! - Lines are folded at 75 octets on UTF-8 character boundaries, text values escaped, CRLF
//!   line ends.
//!
//! [`invitation`] makes the event of a request's appointment with its mediator, in the reader's
//! language (`prompts/<lang>/calendar.toml`), as the [`Calendar`] an outbox payload carries;
//! the channels' renderers attach it (`channels::email::notices`, `channels::telegram::messages`).

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use chrono_tz::Tz;

use crate::config::Lang;
use crate::domain::Gender;
use crate::domain::payload::Calendar;
use crate::domain::series::OccurrenceStatus;
use crate::prompts::t;
use crate::store::{Mediator, Request};
use crate::vocab;

/// Who sends the invitations: the domain of the `UID`s (our Message-ID domain) and the
/// cooperative's mailbox as `ORGANIZER`. `None` (an installation without `[smtp]`, so with no
/// mailbox to organise from): the event is written as a plain calendar object, without
/// `METHOD`, `ORGANIZER` or attendees, which a phone's calendar adds as it is (the Telegram
/// document); email never carries one ([`crate::channels::email::notices::calendar`]).
#[derive(Debug, Clone, Copy)]
pub struct Host<'a> {
    pub domain: &'a str,
    pub organizer: Option<&'a Party>,
}

/// The time zone every appointment is in.
pub const TZID: &str = "Europe/Rome";

/// What the message asks of the calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A new appointment, or an update of one (a higher `SEQUENCE`).
    Request,
    /// The appointment is cancelled.
    Cancel,
}

impl Method {
    /// The iTIP method name, as in `METHOD:` and the MIME type's `method=` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Request => "REQUEST",
            Method::Cancel => "CANCEL",
        }
    }
}

/// A person on the invitation: a display name (may be empty) and, when known, an address.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Party {
    pub name: String,
    pub email: Option<String>,
}

/// One appointment as a calendar event.
#[derive(Debug, Clone)]
pub struct Event {
    /// Stable for the life of the request: [`uid`].
    pub uid: String,
    /// Grows with every change sent: [`sequence`].
    pub sequence: u32,
    pub method: Method,
    /// The local start, in [`TZID`].
    pub start: NaiveDateTime,
    pub minutes: u32,
    pub summary: String,
    pub location: Option<String>,
    pub description: String,
    /// `None`: a plain event, not an iTIP message (no `METHOD`, `ORGANIZER`, attendees).
    pub organizer: Option<Party>,
    pub attendees: Vec<Party>,
    /// When this version of the event was written.
    pub stamp: DateTime<Utc>,
    /// A series of meetings: the event recurs.
    pub recurrence: Option<Recurring>,
}

/// How a series' event recurs: the rule from `start`, the cancelled meetings (`EXDATE`, at
/// their ruled local start) and the moved ones (one more `VEVENT` each, with `RECURRENCE-ID`
/// the ruled local start).
#[derive(Debug, Clone, Default)]
pub struct Recurring {
    /// The `RRULE` value (`FREQ=WEEKLY;BYDAY=TU;COUNT=8`).
    pub rule: String,
    pub exdates: Vec<NaiveDateTime>,
    pub moved: Vec<Moved>,
}

/// One moved meeting: its ruled local start, its new local start, its length.
#[derive(Debug, Clone, Copy)]
pub struct Moved {
    pub recurrence_id: NaiveDateTime,
    pub start: NaiveDateTime,
    pub minutes: u32,
}

/// The event's `UID`: the request's code at our own mail domain, the same for every update.
pub fn uid(code: &str, domain: &str) -> String {
    format!(
        "{}@{}",
        code.to_ascii_lowercase(),
        domain.trim().to_ascii_lowercase()
    )
}

/// A `SEQUENCE` that grows with every change without a counter to keep: the seconds from the
/// request's creation to the change (an iCalendar INTEGER holds 68 years of them). Two changes
/// in the same second would share it; clients then take the later `DTSTAMP`.
pub fn sequence(created: DateTime<Utc>, now: DateTime<Utc>) -> u32 {
    let secs = (now - created).num_seconds().clamp(0, i64::from(i32::MAX));
    u32::try_from(secs).unwrap_or(0)
}

/// The calendar object (`VCALENDAR` with the time zone and one `VEVENT`), CRLF-terminated.
pub fn calendar(e: &Event) -> String {
    let mut lines: Vec<String> = vec![
        "BEGIN:VCALENDAR".into(),
        "VERSION:2.0".into(),
        "PRODID:-//connecting//mediazione//IT".into(),
        "CALSCALE:GREGORIAN".into(),
    ];
    if e.organizer.is_some() {
        lines.push(format!("METHOD:{}", e.method.as_str()));
    }
    lines.extend(VTIMEZONE.iter().map(|l| l.to_string()));
    vevent(e, None, &mut lines);
    if let Some(r) = &e.recurrence {
        for m in &r.moved {
            vevent(e, Some(m), &mut lines);
        }
    }
    lines.push("END:VCALENDAR".into());
    let mut out = String::new();
    for l in lines {
        fold(&l, &mut out);
    }
    out
}

/// The local end of a meeting `minutes` long from local `start`, through UTC (DST-safe).
fn end_of(start: NaiveDateTime, minutes: u32) -> NaiveDateTime {
    let tz: Tz = chrono_tz::Europe::Rome;
    let start_utc = crate::domain::appointment::local_to_utc(start, tz);
    (start_utc + Duration::minutes(i64::from(minutes)))
        .with_timezone(&tz)
        .naive_local()
}

/// One `VEVENT`: the event itself (with its `RRULE` and `EXDATE`s when it recurs), or with
/// `moved` the exception for one moved meeting of it (`RECURRENCE-ID`).
fn vevent(e: &Event, moved: Option<&Moved>, lines: &mut Vec<String>) {
    let (start, minutes) = moved.map_or((e.start, e.minutes), |m| (m.start, m.minutes));
    lines.push("BEGIN:VEVENT".into());
    lines.push(format!("UID:{}", text(&e.uid)));
    lines.push(format!("SEQUENCE:{}", e.sequence));
    lines.push(format!("DTSTAMP:{}", e.stamp.format("%Y%m%dT%H%M%SZ")));
    if let Some(m) = moved {
        lines.push(format!(
            "RECURRENCE-ID;TZID={TZID}:{}",
            local(m.recurrence_id)
        ));
    }
    lines.push(format!("DTSTART;TZID={TZID}:{}", local(start)));
    lines.push(format!(
        "DTEND;TZID={TZID}:{}",
        local(end_of(start, minutes))
    ));
    if let (None, Some(r)) = (moved, &e.recurrence) {
        lines.push(format!("RRULE:{}", r.rule));
        if !r.exdates.is_empty() {
            let days: Vec<String> = r.exdates.iter().map(|d| local(*d)).collect();
            lines.push(format!("EXDATE;TZID={TZID}:{}", days.join(",")));
        }
    }
    lines.push(format!("SUMMARY:{}", text(&e.summary)));
    if let Some(place) = e.location.as_deref().filter(|p| !p.trim().is_empty()) {
        lines.push(format!("LOCATION:{}", text(place)));
    }
    if !e.description.trim().is_empty() {
        lines.push(format!("DESCRIPTION:{}", text(&e.description)));
    }
    // attendees only on a group-scheduled event, which has an organizer (RFC 5545 3.8.4.1)
    if let Some(o) = &e.organizer {
        lines.push(party("ORGANIZER", o, None));
        for a in e.attendees.iter().filter(|a| a.email.is_some()) {
            lines.push(party(
                "ATTENDEE",
                a,
                Some(";ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE"),
            ));
        }
    }
    match e.method {
        Method::Request => {
            lines.push("STATUS:CONFIRMED".into());
            lines.push("TRANSP:OPAQUE".into());
        }
        Method::Cancel => lines.push("STATUS:CANCELLED".into()),
    }
    lines.push("END:VEVENT".into());
}

/// The invitation of `request`'s appointment with `mediator`, in `lang`: `Method::Request` for
/// a new or changed appointment, `Method::Cancel` when it is cancelled. The same `UID` for
/// every version; `SEQUENCE` from the request's last change (`updated_at`), one more for a
/// cancellation, so a `CANCEL` always outranks the last `REQUEST`. The requester and the
/// mediator are attendees when their address is known. Without an organizer configured, a plain
/// event ([`Host`]). `None` when the request has no start (a written translation has only a
/// deadline).
/// The end: the stored end, else the duration, else one hour.
pub fn invitation(
    lang: Lang,
    host: Host<'_>,
    request: &Request,
    mediator: &Mediator,
    method: Method,
) -> Option<Calendar> {
    invitation_as(lang, host, request, mediator, method, None)
}

/// The invitation of one meeting of a series (`seq`, starting at `starts_at`, ending at
/// `ends_at`) for a mediator who takes only that one: a single event of its own (`UID`
/// `<code>-<seq>@<domain>`), so it never replaces the series' event in anyone's calendar.
#[allow(clippy::too_many_arguments)]
pub fn meeting_invitation(
    lang: Lang,
    host: Host<'_>,
    request: &Request,
    mediator: &Mediator,
    seq: u32,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    method: Method,
) -> Option<Calendar> {
    let tz: Tz = chrono_tz::Europe::Rome;
    let local = starts_at.with_timezone(&tz).naive_local();
    let mut one = request.clone();
    one.series = None;
    one.date = Some(local.date());
    one.start_time = Some(local.time());
    one.starts_at = Some(starts_at);
    one.ends_at = Some(ends_at);
    let uid = uid(&format!("{}-{seq}", request.code), host.domain);
    invitation_as(lang, host, &one, mediator, method, Some(uid))
}

fn invitation_as(
    lang: Lang,
    host: Host<'_>,
    request: &Request,
    mediator: &Mediator,
    method: Method,
    own_uid: Option<String>,
) -> Option<Calendar> {
    let organizer = host.organizer.cloned();
    let mut start = request.date?.and_time(request.start_time?);
    let tz: Tz = chrono_tz::Europe::Rome;
    let at = |t: DateTime<Utc>| t.with_timezone(&tz).naive_local();
    let recurrence = request.series.as_ref().map(|s| {
        if let Some(first) = s.occurrences.first() {
            start = at(first.recurrence_id);
        }
        Recurring {
            rule: s.rule.clone(),
            exdates: s
                .occurrences
                .iter()
                .filter(|o| o.status == OccurrenceStatus::Cancelled)
                .map(|o| at(o.recurrence_id))
                .collect(),
            moved: s
                .occurrences
                .iter()
                .filter(|o| o.status == OccurrenceStatus::Moved)
                .map(|o| Moved {
                    recurrence_id: at(o.recurrence_id),
                    start: at(o.starts_at),
                    minutes: u32::try_from((o.ends_at - o.starts_at).num_minutes()).unwrap_or(60),
                })
                .collect(),
        }
    });
    let minutes = match (request.starts_at, request.ends_at) {
        (Some(s), Some(e)) if e > s => (e - s).num_minutes(),
        _ => request.duration_minutes.filter(|m| *m > 0).unwrap_or(60),
    };
    let minutes = u32::try_from(minutes).unwrap_or(60);
    let code = request.code.to_string();
    let mut what = Vec::new();
    let language = request
        .language
        .as_ref()
        .map(|l| vocab::language(lang, l.as_str()));
    if let Some(l) = &language {
        what.push(l.clone());
    }
    if let Some(i) = request.intervention {
        what.push(vocab::intervention(lang, i));
    }
    let summary = if what.is_empty() {
        t(lang, "calendar.summary_plain", &[("code", &code)])
    } else {
        t(
            lang,
            "calendar.summary",
            &[("code", &code), ("what", &what.join(", "))],
        )
    };
    let gender = match mediator.gender {
        Some(Gender::F) => "f",
        Some(Gender::M) => "m",
        None => "x",
    };
    let mut description = vec![t(
        lang,
        &format!("calendar.description_{gender}"),
        &[("code", &code), ("mediator", &mediator.name)],
    )];
    if let Some(l) = &language {
        description.push(t(lang, "calendar.language_line", &[("language", l)]));
    }
    let mut kind = Vec::new();
    if let Some(i) = request.intervention {
        kind.push(vocab::intervention(lang, i));
    }
    if let Some(m) = request.modality {
        kind.push(vocab::modality(lang, m));
    }
    if !kind.is_empty() {
        description.push(t(lang, "calendar.kind_line", &[("kind", &kind.join(", "))]));
    }
    let place: Vec<&str> = [request.address.as_deref(), request.comune.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    let mut attendees = Vec::new();
    if let Some(email) = request.requester_email.as_deref() {
        attendees.push(Party {
            name: request.requester_name.clone().unwrap_or_default(),
            email: Some(email.to_string()),
        });
    }
    if let Some(email) = mediator.email.as_deref() {
        attendees.push(Party {
            name: mediator.name.clone(),
            email: Some(email.to_string()),
        });
    }
    let bump = u32::from(method == Method::Cancel);
    let event = Event {
        uid: own_uid.unwrap_or_else(|| uid(&code, host.domain)),
        sequence: sequence(request.created_at, request.updated_at).saturating_add(bump),
        method,
        start,
        minutes,
        summary,
        location: (!place.is_empty()).then(|| place.join(", ")),
        description: description.join("\n"),
        organizer,
        attendees,
        stamp: request.updated_at,
        recurrence,
    };
    Some(Calendar {
        method: method.as_str().to_string(),
        ics: calendar(&event),
        file_name: t(lang, "calendar.file_name", &[]),
    })
}

/// Europe/Rome as every client reads it: CET, and CEST from the last Sunday of March at 02:00 to
/// the last Sunday of October at 03:00 (the European Union's rule since 1996).
const VTIMEZONE: [&str; 17] = [
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Rome",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "TZNAME:CEST",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "TZNAME:CET",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "END:VTIMEZONE",
];

fn local(t: NaiveDateTime) -> String {
    t.format("%Y%m%dT%H%M%S").to_string()
}

/// `ORGANIZER;CN="Name":mailto:addr` (the name quoted, without the characters a parameter
/// value cannot hold; no `CN` for an empty name).
fn party(prop: &str, p: &Party, params: Option<&str>) -> String {
    let name: String = p
        .name
        .chars()
        .filter(|c| !matches!(c, '"' | '\r' | '\n') && !c.is_control())
        .collect();
    let addr = p
        .email
        .as_deref()
        .map(|a| a.trim().to_string())
        .unwrap_or_default();
    let cn = if name.trim().is_empty() {
        String::new()
    } else {
        format!(";CN=\"{}\"", name.trim())
    };
    format!("{prop}{cn}{}:mailto:{addr}", params.unwrap_or_default())
}

/// A TEXT value escaped (RFC 5545 3.3.11): backslash, semicolon, comma and new lines.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends `line` folded at 75 octets (continuations start with a space), never inside a UTF-8
/// character, ending in CRLF.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};

    fn event(start: NaiveDateTime, minutes: u32) -> Event {
        Event {
            uid: uid("MED-2027-0042", "coop.example"),
            sequence: 0,
            method: Method::Request,
            start,
            minutes,
            summary: "Mediazione arabo, colloquio".into(),
            location: Some("Via Roma 1, Dalmine".into()),
            description: "Mediatrice: Amina; codice MED-2027-0042".into(),
            organizer: Some(Party {
                name: "Cooperativa".into(),
                email: Some("info@coop.example".into()),
            }),
            attendees: vec![Party {
                name: "Laura \"Rossi\"".into(),
                email: Some("laura@comune.example".into()),
            }],
            stamp: Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap(),
            recurrence: None,
        }
    }

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .and_then(|d| d.and_hms_opt(h, min, 0))
            .unwrap()
    }

    #[test]
    fn the_end_is_computed_through_utc_across_a_daylight_saving_change() {
        // 28 March 2027: clocks go from 02:00 to 03:00. Two hours from 01:00 end at 04:00.
        let ics = calendar(&event(at(2027, 3, 28, 1, 0), 120));
        assert!(
            ics.contains("DTSTART;TZID=Europe/Rome:20270328T010000\r\n"),
            "{ics}"
        );
        assert!(
            ics.contains("DTEND;TZID=Europe/Rome:20270328T040000\r\n"),
            "{ics}"
        );
        // An ordinary afternoon.
        let ics = calendar(&event(at(2027, 3, 12, 14, 30), 90));
        assert!(
            ics.contains("DTEND;TZID=Europe/Rome:20270312T160000\r\n"),
            "{ics}"
        );
    }

    #[test]
    fn text_is_escaped_and_lines_are_folded_on_character_boundaries() {
        let mut e = event(at(2027, 3, 12, 14, 30), 60);
        e.description = "Via Sant'Antonio, 3; scala B\nportineria — è così ".repeat(4);
        let ics = calendar(&e);
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "line over 75 octets: {line:?}");
        }
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains("Sant'Antonio\\, 3\\; scala B\\nportineria — è così"));
        assert!(unfolded.contains("ATTENDEE;CN=\"Laura Rossi\";ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE:mailto:laura@comune.example"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        // Every component that begins ends, innermost first.
        let mut open = Vec::new();
        for line in unfolded.split("\r\n") {
            if let Some(c) = line.strip_prefix("BEGIN:") {
                open.push(c);
            } else if let Some(c) = line.strip_prefix("END:") {
                assert_eq!(open.pop(), Some(c), "END:{c} out of place in {ics}");
            }
        }
        assert!(open.is_empty(), "never ended: {open:?}");
        assert!(
            !ics.replace("\r\n", "").contains('\n'),
            "bare LF in {ics:?}"
        );
    }

    fn request() -> Request {
        use crate::domain::{
            Ambito, Channel, InterventionType, LanguageCode, Modality, RequestCode,
        };
        let created = Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap();
        Request {
            id: 1,
            code: RequestCode::parse("MED-2027-0042").unwrap(),
            status: crate::domain::RequestStatus::Assigned,
            channel: Channel::Email,
            operator_id: None,
            requester_name: Some("Laura Bianchi".into()),
            requester_email: Some("laura@comune.example.it".into()),
            requester_phone: None,
            requester_chat_id: None,
            ente: None,
            ambito: Ambito::parse("Dalmine").ok(),
            language: LanguageCode::parse("ar").ok(),
            intervention: Some(InterventionType::Colloquio),
            modality: Some(Modality::InPerson),
            date: NaiveDate::from_ymd_opt(2027, 3, 30),
            start_time: chrono::NaiveTime::from_hms_opt(10, 0, 0),
            duration_minutes: Some(90),
            starts_at: None,
            ends_at: None,
            deadline: None,
            comune: Some("Dalmine".into()),
            comune_istat: None,
            address: Some("Via Roma 1".into()),
            urgent: false,
            mediator_gender: None,
            case_ref: None,
            notes: None,
            missing: vec![],
            draft: None,
            assigned_mediator_id: Some(7),
            late_cancellation: false,
            late_change: false,
            unfilled_notice_at: None,
            source_message_id: None,
            subject: None,
            created_at: created,
            updated_at: created + Duration::hours(2),
            queued_at: None,
            assigned_at: None,
            confirmed_at: None,
            closed_at: None,
            requester_language: None,
            series: None,
        }
    }

    fn mediator(email: Option<&str>) -> Mediator {
        Mediator {
            id: 7,
            name: "Fatima Zahra".into(),
            phone: None,
            email: email.map(str::to_string),
            telegram_id: Some(5001),
            gender: Some(Gender::F),
            languages: vec![],
            ambiti: vec![],
            availability: None,
            share_phone: false,
            active: true,
            paused: false,
            language: None,
        }
    }

    #[test]
    fn the_invitation_of_a_request_names_everyone_and_cancels_above_its_sequence() {
        let org = Party {
            name: "Cooperativa".into(),
            email: Some("info@coop.example".into()),
        };
        let host = Host {
            domain: "coop.example",
            organizer: Some(&org),
        };
        let r = request();
        let m = mediator(Some("fatima@coop.example"));
        let c = invitation(Lang::It, host, &r, &m, Method::Request).unwrap();
        assert_eq!(
            (c.method.as_str(), c.file_name.as_str()),
            ("REQUEST", "invito.ics")
        );
        let ics = c.ics.replace("\r\n ", "");
        for line in [
            "UID:med-2027-0042@coop.example",
            "SEQUENCE:7200",
            "DTSTART;TZID=Europe/Rome:20270330T100000",
            "DTEND;TZID=Europe/Rome:20270330T113000",
            "SUMMARY:Mediazione MED-2027-0042: arabo\\, colloquio",
            "LOCATION:Via Roma 1\\, Dalmine",
            "ORGANIZER;CN=\"Cooperativa\":mailto:info@coop.example",
            "ATTENDEE;CN=\"Laura Bianchi\";ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE:mailto:laura@comune.example.it",
            "ATTENDEE;CN=\"Fatima Zahra\";ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED;RSVP=FALSE:mailto:fatima@coop.example",
        ] {
            assert!(
                ics.contains(&format!("{line}\r\n")),
                "{line:?} not in\n{ics}"
            );
        }
        assert!(ics.contains("Mediatrice: Fatima Zahra"), "{ics}");
        let cancel = invitation(Lang::It, host, &r, &m, Method::Cancel).unwrap();
        assert!(cancel.ics.contains("METHOD:CANCEL\r\n"));
        assert!(cancel.ics.contains("SEQUENCE:7201\r\n"));
        // In English; a mediator without an address is named, not invited.
        let en = invitation(Lang::En, host, &r, &mediator(None), Method::Request).unwrap();
        assert_eq!(en.file_name, "invitation.ics");
        let text = en.ics.replace("\r\n ", "");
        assert!(
            text.contains("SUMMARY:Mediation MED-2027-0042: Arabic"),
            "{text}"
        );
        assert!(!text.contains("mailto:fatima"), "{text}");
        assert!(text.contains("Fatima Zahra"));
        // Without an organizer, a plain event a phone adds as it is: the same UID, time and
        // place, no METHOD, ORGANIZER or ATTENDEE; its cancellation says CANCELLED.
        let nobody = Host {
            domain: "coop.example",
            organizer: None,
        };
        let plain = invitation(Lang::It, nobody, &r, &m, Method::Request).unwrap();
        let text = plain.ics.replace("\r\n ", "");
        for absent in ["METHOD:", "ORGANIZER", "ATTENDEE"] {
            assert!(!text.contains(absent), "{absent} in\n{text}");
        }
        assert!(
            text.contains("UID:med-2027-0042@coop.example\r\n"),
            "{text}"
        );
        assert!(text.contains("STATUS:CONFIRMED\r\n"), "{text}");
        assert!(text.contains("DTSTART;TZID=Europe/Rome:"), "{text}");
        let gone = invitation(Lang::It, nobody, &r, &m, Method::Cancel).unwrap();
        assert!(gone.ics.contains("STATUS:CANCELLED\r\n"));
        assert!(!gone.ics.contains("METHOD:"));
        // Nothing without a start time.
        let mut written = request();
        written.start_time = None;
        assert!(invitation(Lang::It, host, &written, &m, Method::Request).is_none());
    }

    #[test]
    fn a_cancellation_names_the_same_event_with_a_higher_sequence() {
        let created = Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap();
        let first = sequence(created, created + Duration::minutes(30));
        let later = sequence(created, created + Duration::days(2));
        assert!(later > first);
        let mut e = event(at(2027, 3, 12, 14, 30), 60);
        e.method = Method::Cancel;
        e.sequence = later;
        let ics = calendar(&e);
        assert!(ics.contains("METHOD:CANCEL\r\n"));
        assert!(ics.contains("STATUS:CANCELLED\r\n"));
        assert!(ics.contains("UID:med-2027-0042@coop.example\r\n"));
        assert!(ics.contains(&format!("SEQUENCE:{later}\r\n")));
    }
}
