//! Series of appointments (issue 15, "Series of appointments"):
//!
//! - the extractor reads a recurrence (weekday, time, first day, cadence, end) from phrasings
//!   it was designed for and from held-out ones, and asks for the end when it is missing;
//! - a weekly series by email, through the real intake, is understood, kept as one request with
//!   its occurrences, offered as a whole to one mediator (the offer says it is a series), and
//!   accepted: every occurrence is hers; one occurrence is cancelled and all that follow are
//!   moved (core use cases, the requester and the mediator told in words); the invitations a
//!   calendar client reads (`RRULE`, `EXDATE`, `RECURRENCE-ID`, a growing `SEQUENCE`) are
//!   checked by parsing them with `ical` and expanding them as a client would (the `rrule` crate:
//!   the meetings a calendar shows are the meetings still on, where they are now); the monthly
//!   report counts occurrences.
//!
//! On SQLite and PostgreSQL.

#[path = "support/botapi.rs"]
mod botapi;
#[path = "support/common.rs"]
mod common;
#[path = "support/dispatch.rs"]
mod dispatch_support;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};
use connecting::domain::Channel;
use connecting::domain::series::{Recurrence, SeriesEnd};
use connecting::extract::{Context, extract};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2027-03-01T09:00:00+01:00")
        .unwrap()
        .to_utc()
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

/// What a case expects: the rule, the first day and the start time.
struct Case {
    text: &'static str,
    expected: Option<(Recurrence, NaiveDate, NaiveTime)>,
}

fn rule(freq_weeks: u32, weekday: Weekday, end: Option<SeriesEnd>) -> Recurrence {
    Recurrence {
        freq_weeks,
        weekday,
        end,
    }
}

/// The phrasings of the issue, which the rule was written for.
fn designed() -> Vec<Case> {
    use SeriesEnd::*;
    vec![
        Case {
            text: "Serve una mediatrice di lingua araba per incontri protetti a Dalmine, ogni martedì dalle 15 alle 16 dal 9 marzo per 8 settimane.",
            expected: Some((
                rule(1, Weekday::Tue, Some(Count(8))),
                ymd(2027, 3, 9),
                hm(15, 0),
            )),
        },
        Case {
            text: "Incontro protetto in lingua urdu a Seriate con cadenza quindicinale fino a giugno, il giovedì alle 10, a partire dall'11 marzo.",
            expected: Some((
                rule(2, Weekday::Thu, Some(Until(ymd(2027, 6, 30)))),
                ymd(2027, 3, 11),
                hm(10, 0),
            )),
        },
        Case {
            text: "Colloqui settimanali in albanese a Bergamo, il lunedì alle 9, dal 15 marzo per 6 incontri.",
            expected: Some((
                rule(1, Weekday::Mon, Some(Count(6))),
                ymd(2027, 3, 15),
                hm(9, 0),
            )),
        },
        Case {
            text: "Incontri protetti ogni due settimane, venerdì dalle 14 alle 15, dal 12 marzo fino al 30 giugno, a Dalmine, lingua cinese.",
            expected: Some((
                rule(2, Weekday::Fri, Some(Until(ymd(2027, 6, 30)))),
                ymd(2027, 3, 12),
                hm(14, 0),
            )),
        },
    ]
}

/// Phrasings written before the rule and not looked at while writing it.
fn held_out() -> Vec<Case> {
    use SeriesEnd::*;
    vec![
        Case {
            text: "Buongiorno, chiediamo una mediatrice araba per incontri protetti settimanali, il mercoledì dalle 14.30 alle 16, a partire da mercoledì 10 marzo e fino al 26 maggio, presso lo Spazio Neutro di Treviglio.",
            expected: Some((
                rule(1, Weekday::Wed, Some(Until(ymd(2027, 5, 26)))),
                ymd(2027, 3, 10),
                hm(14, 30),
            )),
        },
        Case {
            text: "Si chiede una mediatrice di lingua araba per 6 incontri, ogni lunedì alle 9:00 (durata 1 ora) dal 15/03, colloqui presso il Comune di Dalmine.",
            expected: Some((
                rule(1, Weekday::Mon, Some(Count(6))),
                ymd(2027, 3, 15),
                hm(9, 0),
            )),
        },
        Case {
            text: "Incontri protetti tutti i martedì pomeriggio dalle 15 alle 17 fino alla fine di aprile a Seriate, lingua rumena, dal 9 marzo.",
            expected: Some((
                rule(1, Weekday::Tue, Some(Until(ymd(2027, 4, 30)))),
                ymd(2027, 3, 9),
                hm(15, 0),
            )),
        },
        Case {
            text: "Colloquio in lingua wolof a cadenza settimanale (giovedì 14-15) dal 4 marzo al 29 aprile, a Bergamo.",
            expected: Some((
                rule(1, Weekday::Thu, Some(Until(ymd(2027, 4, 29)))),
                ymd(2027, 3, 4),
                hm(14, 0),
            )),
        },
        Case {
            text: "Servono 8 incontri settimanali il martedì alle 15 a partire dal 16 marzo, incontro protetto, lingua bengalese, a Dalmine.",
            expected: Some((
                rule(1, Weekday::Tue, Some(Count(8))),
                ymd(2027, 3, 16),
                hm(15, 0),
            )),
        },
        Case {
            text: "Incontri protetti quindicinali di venerdì alle 11 dal 12 marzo per tre mesi, lingua twi, a Seriate.",
            expected: Some((
                rule(2, Weekday::Fri, Some(Until(ymd(2027, 6, 12)))),
                ymd(2027, 3, 12),
                hm(11, 0),
            )),
        },
        Case {
            text: "Colloquio in lingua araba martedì 9 marzo dalle 15 alle 16 a Dalmine, poi le faremo sapere se servono altri incontri.",
            expected: None,
        },
        Case {
            text: "Visita domiciliare settimana prossima, lunedì 8 marzo alle 10, lingua urdu, a Treviglio (la famiglia è seguita ogni settimana dal servizio).",
            expected: None,
        },
    ]
}

/// A second held-out set, written after the rule was tuned on the first one (its score is the
/// honest one for the tuned rule).
fn held_out_second() -> Vec<Case> {
    use SeriesEnd::*;
    vec![
        Case {
            text: "Gentili, per il nucleo seguito chiediamo un mediatore di lingua urdu per colloqui con cadenza settimanale il giovedì ore 10.30, a partire dal 18 marzo e fino al 20 maggio, a Treviglio.",
            expected: Some((
                rule(1, Weekday::Thu, Some(Until(ymd(2027, 5, 20)))),
                ymd(2027, 3, 18),
                hm(10, 30),
            )),
        },
        Case {
            text: "Incontro protetto in lingua albanese ogni lunedì dalle 16 alle 17 per 10 settimane a partire da lunedì 8 marzo, Comune di Seriate.",
            expected: Some((
                rule(1, Weekday::Mon, Some(Count(10))),
                ymd(2027, 3, 8),
                hm(16, 0),
            )),
        },
        Case {
            text: "Servono incontri protetti in lingua rumena ogni 15 giorni, di mercoledì alle 14, dal 10 marzo fino a fine maggio, a Bergamo.",
            expected: Some((
                rule(2, Weekday::Wed, Some(Until(ymd(2027, 5, 31)))),
                ymd(2027, 3, 10),
                hm(14, 0),
            )),
        },
        Case {
            text: "Mediatrice araba per visite domiciliari una volta alla settimana, il venerdì alle 9, dal 12/03 per 5 incontri, a Dalmine.",
            expected: Some((
                rule(1, Weekday::Fri, Some(Count(5))),
                ymd(2027, 3, 12),
                hm(9, 0),
            )),
        },
        Case {
            text: "Chiediamo un mediatore di lingua cinese per il colloquio di martedì 9 marzo alle 11 a Bergamo; la settimana successiva vi scriveremo per il secondo.",
            expected: None,
        },
        Case {
            text: "Incontri protetti in lingua bengalese, tutti i giovedì alle 17, per due mesi a partire dall'11 marzo, a Treviglio.",
            expected: Some((
                rule(1, Weekday::Thu, Some(Until(ymd(2027, 5, 11)))),
                ymd(2027, 3, 11),
                hm(17, 0),
            )),
        },
    ]
}

/// How many cases are read right (rule, first day, start), with what was read for each miss.
fn score(cases: &[Case]) -> (usize, Vec<String>) {
    let ctx = Context::new(now(), Channel::Email);
    let mut right = 0;
    let mut misses = Vec::new();
    for c in cases {
        let d = extract(c.text, &ctx);
        let got = d.recurrence.map(|r| (r, d.date, d.start));
        let want = c.expected.map(|(r, day, at)| (r, Some(day), Some(at)));
        if got == want {
            right += 1;
        } else {
            misses.push(format!("{}\n  want {want:?}\n  got  {got:?}", c.text));
        }
    }
    (right, misses)
}

#[test]
fn the_extractor_reads_the_series_it_was_written_for() {
    let cases = designed();
    let (right, misses) = score(&cases);
    assert_eq!(right, cases.len(), "{}", misses.join("\n"));
}

#[test]
fn the_extractor_reads_held_out_series() {
    let cases = held_out();
    let (right, misses) = score(&cases);
    println!("held-out series: {right}/{} right", cases.len());
    for m in &misses {
        println!("miss: {m}");
    }
    // The negative cases (no series) must stay right; the rest is measured.
    for c in cases.iter().filter(|c| c.expected.is_none()) {
        let d = extract(c.text, &Context::new(now(), Channel::Email));
        assert!(d.recurrence.is_none(), "no series in: {}", c.text);
    }
    assert!(right >= cases.len() - 1, "{}", misses.join("\n"));
}

#[test]
fn the_extractor_reads_a_second_held_out_set() {
    let cases = held_out_second();
    let (right, misses) = score(&cases);
    println!("second held-out series: {right}/{} right", cases.len());
    for m in &misses {
        println!("miss: {m}");
    }
    for c in cases.iter().filter(|c| c.expected.is_none()) {
        let d = extract(c.text, &Context::new(now(), Channel::Email));
        assert!(d.recurrence.is_none(), "no series in: {}", c.text);
    }
    // measured, not tuned on: at least two thirds
    assert!(3 * right >= 2 * cases.len(), "{}", misses.join("\n"));
}

#[test]
fn a_series_without_an_end_asks_for_it() {
    let ctx = Context::new(now(), Channel::Email);
    let d = extract(
        "Incontri protetti in lingua araba a Dalmine ogni martedì dalle 15 alle 16 a partire dal 9 marzo.",
        &ctx,
    );
    assert_eq!(d.recurrence, Some(rule(1, Weekday::Tue, None)));
    assert_eq!(d.date, Some(ymd(2027, 3, 9)));
    assert_eq!(d.missing, vec!["series_end".to_string()]);
    // the answer "per 8 settimane" completes it
    let answer = connecting::extract::answer(&d, "series_end", "per 8 settimane", &ctx);
    assert_eq!(
        answer.recurrence,
        Some(rule(1, Weekday::Tue, Some(SeriesEnd::Count(8))))
    );
    assert!(answer.missing.is_empty(), "{:?}", answer.missing);
}

// ---------------------------------------------------------------------------------------------
// The story: a weekly series by email, offered whole, accepted, one meeting cancelled, the rest
// moved, the invitations parsed, the report.

use chrono::Duration;
use connecting::app::series::{Change, Scope};
use connecting::authz::Actor;
use connecting::channels::email::Outcome;
use connecting::dispatch::AcceptOutcome;
use connecting::domain::RequestStatus;
use connecting::domain::series::OccurrenceStatus;
use connecting::outbox::{Calendar, Payload};
use connecting::store::OutboxRow;
use dispatch_support::*;
use ical::parser::ical::component::{IcalCalendar, IcalEvent};
use ical::property::Property;

const REQUESTER: &str = "laura.rossi@comune.dalmine.bg.it";

use dispatch_support::coop_settings as settings;

use dispatch_support::coop_intake as intake;

fn mail(id: &str, text: &str) -> Vec<u8> {
    format!(
        "From: Laura Rossi <{REQUESTER}>\r\nTo: info@coop.example\r\nSubject: Richiesta mediatrice per incontri protetti\r\n\
         Message-ID: <{id}>\r\nDate: Mon, 1 Mar 2027 09:00:00 +0100\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    )
    .into_bytes()
}

async fn rows(w: &World, code: connecting::domain::RequestCode, prefix: &str) -> Vec<OutboxRow> {
    w.outbox(code)
        .await
        .into_iter()
        .filter(|r| r.idempotency_key.starts_with(prefix))
        .collect()
}

fn calendar_of(row: &OutboxRow) -> Calendar {
    match &row.payload {
        Payload::Telegram(p) => p.calendar.clone(),
        Payload::Email(e) => e.calendar.clone(),
    }
    .unwrap_or_else(|| panic!("no invitation in {}", row.idempotency_key))
}

/// The invitation parsed as a client parses it.
fn parse(row: &OutboxRow) -> IcalCalendar {
    let c = calendar_of(row);
    let mut reader = ical::IcalParser::new(std::io::BufReader::new(c.ics.as_bytes()));
    let cal = reader
        .next()
        .expect("a VCALENDAR")
        .unwrap_or_else(|e| panic!("not iCalendar: {e}\n{}", c.ics));
    assert!(reader.next().is_none(), "one calendar");
    cal
}

fn prop<'a>(e: &'a IcalEvent, name: &str) -> Option<&'a Property> {
    e.properties.iter().find(|p| p.name == name)
}

fn value(e: &IcalEvent, name: &str) -> Option<String> {
    prop(e, name).and_then(|p| p.value.clone())
}

fn tzid(e: &IcalEvent, name: &str) -> Option<String> {
    prop(e, name)?
        .params
        .as_ref()?
        .iter()
        .find(|(k, _)| k == "TZID")
        .map(|(_, v)| v.join(","))
}

/// The series' own event (the one with the RRULE) and the moved meetings (RECURRENCE-ID).
fn master_and_moved(cal: &IcalCalendar) -> (&IcalEvent, Vec<&IcalEvent>) {
    let master: Vec<&IcalEvent> = cal
        .events
        .iter()
        .filter(|e| prop(e, "RECURRENCE-ID").is_none())
        .collect();
    assert_eq!(master.len(), 1, "one series event");
    let uid = value(master[0], "UID");
    let moved: Vec<&IcalEvent> = cal
        .events
        .iter()
        .filter(|e| prop(e, "RECURRENCE-ID").is_some())
        .collect();
    for m in &moved {
        assert_eq!(value(m, "UID"), uid, "a moved meeting is the same event");
        assert_eq!(value(m, "SEQUENCE"), value(master[0], "SEQUENCE"));
        assert!(prop(m, "RRULE").is_none());
    }
    (master[0], moved)
}

/// The meetings a calendar client shows for a series' invitation, found independently of our
/// code: the master event's `RRULE` expanded from its `DTSTART` by the `rrule` crate (RFC 5545
/// recurrence, time zones through chrono-tz), without its `EXDATE`s, and each `RECURRENCE-ID`
/// replaced by its moved event's start; as instants, in order.
fn shown_meetings(cal: &IcalCalendar) -> Vec<DateTime<Utc>> {
    let (master, moved) = master_and_moved(cal);
    let line = |name: &str| -> Option<String> {
        let p = prop(master, name)?;
        let params: String = p
            .params
            .iter()
            .flatten()
            .map(|(k, v)| format!(";{k}={}", v.join(",")))
            .collect();
        Some(format!("{name}{params}:{}", p.value.clone()?))
    };
    let mut text = vec![
        line("DTSTART").expect("DTSTART"),
        line("RRULE").expect("RRULE"),
    ];
    text.extend(line("EXDATE"));
    let set: rrule::RRuleSet = text
        .join("\n")
        .parse()
        .unwrap_or_else(|e| panic!("a client could not expand {text:?}: {e}"));
    let mut shown: Vec<DateTime<Utc>> = set
        .all(500)
        .dates
        .into_iter()
        .map(|d| d.with_timezone(&Utc))
        .collect();
    let rome = |v: &str| {
        let local = chrono::NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S")
            .unwrap_or_else(|e| panic!("{v}: {e}"));
        chrono::TimeZone::from_local_datetime(&chrono_tz::Europe::Rome, &local)
            .single()
            .expect("one instant")
            .with_timezone(&Utc)
    };
    for m in moved {
        assert_eq!(tzid(m, "RECURRENCE-ID").as_deref(), Some("Europe/Rome"));
        let ruled = rome(&value(m, "RECURRENCE-ID").unwrap());
        let now = rome(&value(m, "DTSTART").unwrap());
        let slot = shown
            .iter_mut()
            .find(|x| **x == ruled)
            .unwrap_or_else(|| panic!("RECURRENCE-ID {ruled} is no meeting of the rule"));
        *slot = now;
    }
    shown.sort();
    shown
}

/// The meetings still on, as the store has them.
fn meetings_on(req: &connecting::store::Request) -> Vec<DateTime<Utc>> {
    let mut on: Vec<DateTime<Utc>> = req
        .series
        .as_ref()
        .expect("a series")
        .on()
        .map(|o| o.starts_at)
        .collect();
    on.sort();
    on
}

fn seq_of(e: &IcalEvent) -> u32 {
    value(e, "SEQUENCE").unwrap().parse().unwrap()
}

both_backends!(
    a_weekly_series_by_email_offered_whole_cancelled_once_and_moved,
    |db| async move {
        let w = World::new(db.store.clone(), at_rome(2027, 3, 1, 9, 0), settings()).await;
        let samira = w.mediator("Samira", 101, &["ar"]).await.id;
        let fatima = w.mediator("Fatima", 102, &["ar"]).await.id;

        // 1. Understood: one request with its eight meetings.
        let out = intake(&w)
        .process(&mail(
            "serie-1@comune.dalmine.bg.it",
            "Buongiorno,\r\nchiediamo una mediatrice di lingua araba per incontri protetti a Dalmine, \
             in Via Roma 1, ogni martedì dalle 15 alle 16 dal 9 marzo per 8 settimane.\r\n\
             Grazie, Laura Rossi",
        ))
        .await
        .unwrap();
        let Outcome::Created { code, status, .. } = out else {
            panic!("a new request: {out:?}")
        };
        assert_eq!(status, RequestStatus::Queued);
        let req = w.store.request(code).await.unwrap();
        let series = req.series.clone().expect("a series");
        assert_eq!(series.rule, "FREQ=WEEKLY;BYDAY=TU;COUNT=8");
        assert_eq!(series.occurrences.len(), 8);
        assert_eq!(series.occurrences[0].starts_at, at_rome(2027, 3, 9, 15, 0));
        assert_eq!(
            series.occurrences[7].starts_at,
            at_rome(2027, 4, 27, 15, 0),
            "wall time kept across the change of clocks"
        );
        assert_eq!(
            series.occurrences[7].ends_at - series.occurrences[7].starts_at,
            Duration::hours(1)
        );

        // 2. Offered whole, to one mediator first; the offer says it is a series, nothing private.
        w.dispatcher.dispatch(code).await.unwrap();
        let offers = w.store.offers_for_request(req.id).await.unwrap();
        assert_eq!(
            offers.len(),
            1,
            "a series goes to one mediator at a time: {offers:?}"
        );
        let offer = &offers[0];
        let offer_row = rows(&w, code, "offer:").await.remove(0);
        let text = text_of(&offer_row);
        for words in [
            "serie",
            "8 incontri",
            "ogni settimana di martedì alle 15:00",
            "martedì 9 marzo",
            "martedì 27 aprile",
        ] {
            assert!(text.contains(words), "{words:?} in the offer: {text}");
        }
        assert!(
            !text.contains("Via Roma") && !text.contains("Laura"),
            "no private detail in an offer: {text}"
        );

        // 3. Accepted: every meeting is hers; the requester's invitation is the series.
        let who = offer.mediator_id;
        assert!(who == samira || who == fatima);
        assert!(matches!(
            w.dispatcher.accept(offer.id, who).await.unwrap(),
            AcceptOutcome::Assigned { .. }
        ));
        let req = w.store.request(code).await.unwrap();
        assert!(
            req.series
                .as_ref()
                .unwrap()
                .occurrences
                .iter()
                .all(|o| o.mediator_id == Some(who))
        );
        let confirm = rows(&w, code, "confirm:").await.remove(0);
        let cal = parse(&confirm);
        let (master, moved) = master_and_moved(&cal);
        assert!(moved.is_empty());
        assert_eq!(
            value(master, "RRULE").as_deref(),
            Some("FREQ=WEEKLY;BYDAY=TU;COUNT=8")
        );
        assert_eq!(value(master, "DTSTART").as_deref(), Some("20270309T150000"));
        assert_eq!(tzid(master, "DTSTART").as_deref(), Some("Europe/Rome"));
        assert!(prop(master, "EXDATE").is_none());
        let first_seq = seq_of(master);
        assert_eq!(
            shown_meetings(&cal),
            meetings_on(&req),
            "a calendar shows the eight meetings"
        );
        assert!(
            text_of(&confirm).contains("8 incontri"),
            "{}",
            text_of(&confirm)
        );

        // 4. One meeting cancelled (the requester, on 16 March): both told, EXDATE.
        w.clock.advance(Duration::hours(1));
        let laura = Actor::Operator {
            id: None,
            email: Some(REQUESTER.into()),
            chat_id: None,
            active: true,
        };
        let done = w
            .dispatcher
            .change_series_as(code, &laura, 2, Scope::One, Change::Cancel)
            .await
            .unwrap();
        assert_eq!(done.seqs, vec![2]);
        let told = rows(&w, code, "series:").await;
        assert_eq!(told.len(), 2, "the requester and the mediator: {told:#?}");
        let to_requester = told
            .iter()
            .find(|r| matches!(&r.payload, Payload::Email(e) if e.to == REQUESTER))
            .expect("the requester by email");
        let to_mediator = told
            .iter()
            .find(|r| chat_of(r).is_some())
            .expect("the mediator on Telegram");
        let req = w.store.request(code).await.unwrap();
        for r in [to_requester, to_mediator] {
            let t = text_of(r);
            assert!(
                t.contains("martedì 16 marzo")
                    && t.contains("annullato")
                    && t.contains("7 incontri"),
                "{t}"
            );
            let cal = parse(r);
            let (master, moved) = master_and_moved(&cal);
            assert!(moved.is_empty());
            assert_eq!(value(master, "EXDATE").as_deref(), Some("20270316T150000"));
            assert_eq!(tzid(master, "EXDATE").as_deref(), Some("Europe/Rome"));
            assert!(seq_of(master) > first_seq, "SEQUENCE grows");
            assert_eq!(
                shown_meetings(&cal),
                meetings_on(&req),
                "seven, not 16 March"
            );
        }
        let cancel_seq = seq_of(master_and_moved(&parse(to_mediator)).0);

        // 5. The rest moved (the coordinator, from 23 March on): Thursdays at 16.
        w.clock.advance(Duration::hours(1));
        let done = w
            .dispatcher
            .change_series_as(
                code,
                &Actor::Cli,
                3,
                Scope::Following,
                Change::Move {
                    date: d(2027, 3, 25),
                    start: t(16, 0),
                },
            )
            .await
            .unwrap();
        assert_eq!(done.seqs, vec![3, 4, 5, 6, 7, 8]);
        let req = w.store.request(code).await.unwrap();
        let s = req.series.clone().unwrap();
        assert_eq!(s.occurrences[1].status, OccurrenceStatus::Cancelled);
        assert!(
            s.occurrences[2..]
                .iter()
                .all(|o| o.status == OccurrenceStatus::Moved)
        );
        assert_eq!(s.occurrences[7].starts_at, at_rome(2027, 4, 29, 16, 0));
        let told = rows(&w, code, "series:").await;
        assert_eq!(told.len(), 4);
        let latest = told
            .iter()
            .filter(|r| chat_of(r).is_some())
            .max_by_key(|r| r.id)
            .unwrap();
        let t = text_of(latest);
        assert!(
            t.contains("spostati") && t.contains("giovedì 25 marzo, 16:00"),
            "{t}"
        );
        let cal = parse(latest);
        let (master, moved) = master_and_moved(&cal);
        assert_eq!(
            value(master, "RRULE").as_deref(),
            Some("FREQ=WEEKLY;BYDAY=TU;COUNT=8")
        );
        assert_eq!(value(master, "EXDATE").as_deref(), Some("20270316T150000"));
        assert!(seq_of(master) > cancel_seq, "SEQUENCE grows again");
        let shown = shown_meetings(&cal);
        assert_eq!(
            shown,
            meetings_on(&req),
            "the moved meetings where they are now"
        );
        assert_eq!(shown[1], at_rome(2027, 3, 25, 16, 0));
        assert_eq!(moved.len(), 6);
        let pairs: Vec<(String, String)> = moved
            .iter()
            .map(|m| {
                (
                    value(m, "RECURRENCE-ID").unwrap(),
                    value(m, "DTSTART").unwrap(),
                )
            })
            .collect();
        assert_eq!(
            pairs[0],
            ("20270323T150000".into(), "20270325T160000".into())
        );
        assert_eq!(
            pairs[5],
            ("20270427T150000".into(), "20270429T160000".into())
        );
        for m in &moved {
            assert_eq!(tzid(m, "RECURRENCE-ID").as_deref(), Some("Europe/Rome"));
            assert_eq!(
                value(m, "DTEND").map(|e| e[9..].to_string()).as_deref(),
                Some("170000")
            );
        }

        // 6. The report counts meetings: March has 9 and 25 March (16 March cancelled, the
        // fourth moved to 1 April), April the five others.
        let march = w
            .store
            .report_records(at_rome(2027, 3, 1, 0, 0), at_rome(2027, 4, 1, 0, 0))
            .await
            .unwrap();
        let rows_march = connecting::dispatch::report::build(&march, None);
        assert_eq!(
            rows_march.iter().map(|r| r.interventions_done).sum::<u32>(),
            2
        );
        let april = w
            .store
            .report_records(at_rome(2027, 4, 1, 0, 0), at_rome(2027, 5, 1, 0, 0))
            .await
            .unwrap();
        let rows_april = connecting::dispatch::report::build(&april, None);
        assert_eq!(
            rows_april.iter().map(|r| r.interventions_done).sum::<u32>(),
            5
        );

        // A meeting already cancelled cannot be changed again; a single appointment is no series.
        assert!(
            w.dispatcher
                .change_series_as(code, &Actor::Cli, 2, Scope::One, Change::Cancel)
                .await
                .is_err()
        );
    }
);

#[path = "support/web.rs"]
mod web;

both_backends!(
    a_series_without_an_end_is_asked_then_changed_from_the_console_and_the_cli,
    |db| async move {
        let w = World::new(db.store.clone(), at_rome(2027, 3, 1, 9, 0), settings()).await;
        let samira = w.mediator("Samira", 101, &["ar"]).await.id;
        let intake = intake(&w);

        // No end: the requester is asked for it, in words, on her thread.
        let out = intake
            .process(&mail(
                "serie-2@comune.dalmine.bg.it",
                "Buongiorno, serve una mediatrice di lingua araba per incontri protetti a Dalmine, \
             in Via Roma 1, ogni martedì dalle 15 alle 16 a partire dal 9 marzo. Laura Rossi",
            ))
            .await
            .unwrap();
        let Outcome::Created { code, status, .. } = out else {
            panic!("{out:?}")
        };
        assert_eq!(status, RequestStatus::NeedsInfo);
        let req = w.store.request(code).await.unwrap();
        assert_eq!(req.missing, vec!["series_end".to_string()]);
        assert!(req.series.is_none(), "no meetings before the end is known");
        let asked = w.outbox(code).await;
        assert!(
            asked
                .iter()
                .any(|r| text_of(r).contains("Fino a quando durano gli incontri")),
            "the question in words: {:#?}",
            asked.iter().map(text_of).collect::<Vec<_>>()
        );

        // Her reply "per 8 settimane" completes it: queued with its eight meetings.
        let reply = format!(
            "From: Laura Rossi <{REQUESTER}>\r\nTo: info@coop.example\r\nSubject: Re: [{code}] Richiesta\r\n\
         Message-ID: <serie-2b@comune.dalmine.bg.it>\r\nIn-Reply-To: <serie-2@comune.dalmine.bg.it>\r\n\
         Date: Mon, 1 Mar 2027 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Per 8 settimane, grazie.\r\nLaura\r\n"
        );
        let out = intake.process(reply.as_bytes()).await.unwrap();
        assert!(matches!(out, Outcome::Updated { .. }), "{out:?}");
        let req = w.store.request(code).await.unwrap();
        assert_eq!(req.status, RequestStatus::Queued);
        assert_eq!(req.series.as_ref().map(|s| s.occurrences.len()), Some(8));
        w.dispatcher.dispatch(code).await.unwrap();
        let offer = w.store.offers_for_request(req.id).await.unwrap().remove(0);
        w.dispatcher.accept(offer.id, samira).await.unwrap();

        // The console: the meetings listed; a POST without its CSRF token changes nothing.
        let coordinator = w.store.coordinators().await.unwrap()[0].id;
        let c = web::Console::start(w.store.clone(), w.clock.clone(), false).await;
        let s = c
            .login(connecting::store::ConsoleRole::Coordinator, coordinator)
            .await;
        let page = c.get(&format!("/requests/{code}"), Some(&s)).await;
        assert!(
            page.body.contains("Incontri della serie")
                && page.body.contains("martedì 27 aprile, 15:00"),
            "{}",
            page.body
        );
        let path = format!("/requests/{code}/meetings");
        let refused = c
            .post(
                &path,
                Some(&s),
                &[("number", "8"), ("scope", "one"), ("action", "cancel")],
            )
            .await;
        assert_eq!(refused.status, 403);
        let out = c
            .post(
                &path,
                Some(&s),
                &[
                    ("csrf", &s.csrf),
                    ("number", "8"),
                    ("scope", "one"),
                    ("action", "cancel"),
                ],
            )
            .await;
        assert!(out.status == 303 || out.status == 200, "{}", out.status);
        let req = w.store.request(code).await.unwrap();
        let s8 = &req.series.as_ref().unwrap().occurrences[7];
        assert_eq!(s8.status, OccurrenceStatus::Cancelled);
        let page = c
            .get(
                &format!("/requests/{code}?outcome=meeting_cancelled"),
                Some(&s),
            )
            .await;
        assert!(
            page.body.contains("Incontro annullato") && page.body.contains("annullato"),
            "{}",
            page.body
        );
        assert!(
            page.body.contains("incontri della serie cambiati"),
            "the history in words"
        );

        // The CLI: the first meeting moved to Wednesday 10 March at 15:00.
        let cli = std::process::Command::new(env!("CARGO_BIN_EXE_connecting"))
            .args([
                "request",
                "meeting",
                &code.to_string(),
                "--number",
                "1",
                "--move",
                "2027-03-10 15:00",
            ])
            .env("CONNECTING_DATABASE_URL", &db.url)
            .output()
            .expect("run connecting");
        let stdout = String::from_utf8_lossy(&cli.stdout);
        assert!(
            cli.status.success(),
            "{}\n{}",
            stdout,
            String::from_utf8_lossy(&cli.stderr)
        );
        assert!(
            stdout.contains("spostato") && stdout.contains("mercoledì 10 marzo 2027, 15:00"),
            "{stdout}"
        );
        let req = w.store.request(code).await.unwrap();
        let s = req.series.unwrap();
        assert_eq!(s.occurrences[0].status, OccurrenceStatus::Moved);
        assert_eq!(s.occurrences[0].starts_at, at_rome(2027, 3, 10, 15, 0));
        assert_eq!(
            s.occurrences[1].status,
            OccurrenceStatus::Active,
            "only that one"
        );
        let told: Vec<String> = rows(&w, code, "series:")
            .await
            .iter()
            .map(|r| text_of(r).to_string())
            .collect();
        assert!(
            told.iter()
                .any(|t| t.contains("spostato a mercoledì 10 marzo, 15:00")),
            "{told:#?}"
        );
        // A bad time is refused with what was expected, and nothing changes.
        let bad = std::process::Command::new(env!("CARGO_BIN_EXE_connecting"))
            .args([
                "request",
                "meeting",
                &code.to_string(),
                "--number",
                "2",
                "--move",
                "martedì",
            ])
            .env("CONNECTING_DATABASE_URL", &db.url)
            .output()
            .unwrap();
        assert!(!bad.status.success());
        assert!(String::from_utf8_lossy(&bad.stderr).contains("YYYY-MM-DD HH:MM"));
    }
);

#[path = "support/world.rs"]
mod world;

both_backends!(
    a_series_by_telegram_asks_for_its_end_and_is_kept,
    |db| async move {
        let w = world::World::new(db).await;
        let op = w.operator("Giulia Rossi", Some(600)).await;
        w.mediator("Samira Haddad", 610).await;
        let r = w
        .say(
            600,
            "Serve una mediatrice di lingua araba per incontri protetti a Dalmine, ogni martedì dalle 15 alle 16 a partire dal 9 marzo",
        )
        .await;
        assert!(
            r.text.contains("Fino a quando durano gli incontri?"),
            "{}",
            r.text
        );
        let r = w.say(600, "per 8 settimane").await;
        assert!(
        r.text.contains("Serie: 8 incontri, ogni settimana di martedì alle 15:00, da martedì 9 marzo a martedì 27 aprile"),
        "{}",
        r.text
    );
        let r = w.press(&r, "Conferma").await;
        assert!(r.text.contains("in coda"), "{}", r.text);
        let reqs = w.requests_of(op).await;
        assert_eq!(reqs.len(), 1);
        let req = w.store().request(reqs[0].code).await.unwrap();
        let series = req.series.clone().expect("a series");
        assert_eq!(series.rule, "FREQ=WEEKLY;BYDAY=TU;COUNT=8");
        assert_eq!(series.occurrences.len(), 8);
        assert_eq!(series.occurrences[7].starts_at, at_rome(2027, 4, 27, 15, 0));

        // Samira gets the series (offered to her alone), accepts it, and cannot make meeting
        // 3: she says so to the bot.
        let offer = w.reply(610).await;
        assert!(
            offer.text.contains("Nuova serie di incontri"),
            "{}",
            offer.text
        );
        w.press(&offer, "Accetto").await;
        let code = req.code.to_string();
        let r = w.say(610, "/nonposso").await;
        assert!(r.text.contains("/nonposso CODICE"), "{}", r.text);
        // the bot's answer, and the notice with her series' invitation without meeting 3
        w.fake.push_text(610, &format!("/nonposso {code} 3"));
        let got = w
            .fake
            .wait_for(610, world::WAIT, |m| {
                m.text.contains("l'incontro 3 lo offriamo a un collega")
            })
            .await;
        assert!(got.is_some(), "{:?}", w.fake.sent_to(610));
        // the notice goes through the outbox after the bot's own answer
        let deadline = std::time::Instant::now() + world::WAIT;
        while !w
            .fake
            .sent_to(610)
            .iter()
            .any(|m| m.text.contains("martedì 23 marzo, 15:00 non è più tuo"))
        {
            assert!(
                std::time::Instant::now() < deadline,
                "{:?}",
                w.fake.sent_to(610)
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let s = w.store().request(req.code).await.unwrap().series.unwrap();
        assert_eq!(s.occurrences[2].mediator_id, None);
        assert!(
            s.occurrences
                .iter()
                .enumerate()
                .all(|(i, o)| i == 2 || o.mediator_id.is_some())
        );
        w.fake.push_text(610, &format!("/nonposso {code} 3"));
        // (the notice of the release may come before or after it: skipped)
        let r = w
            .fake
            .wait_for(610, world::WAIT, |m| {
                m.text.contains("Richiesta MED-") && !m.text.contains("non è più tuo")
            })
            .await
            .expect("an answer");
        assert!(
            r.text.contains("non è tuo o non è più in programma"),
            "{}",
            r.text
        );
    }
);

both_backends!(
    a_meeting_its_mediator_cannot_take_is_offered_on_its_own,
    |db| async move {
        let w = World::new(db.store.clone(), at_rome(2027, 3, 1, 9, 0), settings()).await;
        let samira = w.mediator("Samira", 101, &["ar"]).await.id;
        let fatima = w.mediator("Fatima", 102, &["ar"]).await.id;
        let amina = w.mediator("Amina", 103, &["ar"]).await.id;
        let out = intake(&w)
        .process(&mail(
            "serie-3@comune.dalmine.bg.it",
            "Serve una mediatrice di lingua araba per incontri protetti a Dalmine, in Via Roma 1, \
             ogni martedì dalle 15 alle 16 dal 9 marzo per 8 settimane. Laura Rossi",
        ))
        .await
        .unwrap();
        let Outcome::Created { code, .. } = out else {
            panic!("{out:?}")
        };
        w.dispatcher.dispatch(code).await.unwrap();
        let id = w.store.request(code).await.unwrap().id;
        let offer = w.store.offers_for_request(id).await.unwrap().remove(0);
        let first = offer.mediator_id;
        w.dispatcher.accept(offer.id, first).await.unwrap();

        // Her mediator cannot come on 6 April (meeting 5): the requester is told, and the meeting
        // alone is offered to a colleague, with nothing private in it.
        let her = Actor::Mediator {
            id: first,
            active: true,
        };
        w.clock.advance(Duration::hours(1));
        w.dispatcher
            .release_meeting_as(code, &her, 5)
            .await
            .unwrap();
        let req = w.store.request(code).await.unwrap();
        let five = req.series.as_ref().unwrap().occurrences[4].clone();
        assert_eq!(five.mediator_id, None);
        let told: Vec<OutboxRow> = rows(&w, code, "meeting:").await;
        assert_eq!(told.len(), 1);
        assert!(
            text_of(&told[0]).contains("martedì 6 aprile, 15:00")
                && text_of(&told[0]).contains("cerchiamo"),
            "{}",
            text_of(&told[0])
        );
        // she hears it is no longer hers; her series' invitation leaves it out
        let hers = rows(&w, code, "released_meeting:").await;
        assert_eq!(hers.len(), 1);
        assert!(
            text_of(&hers[0]).contains("non è più tuo"),
            "{}",
            text_of(&hers[0])
        );
        let cal = parse(&hers[0]);
        let (master, _) = master_and_moved(&cal);
        assert_eq!(value(master, "EXDATE").as_deref(), Some("20270406T150000"));
        let confirmed = parse(&rows(&w, code, "confirm:").await.remove(0));
        let confirm_seq = seq_of(master_and_moved(&confirmed).0);
        assert!(seq_of(master) > confirm_seq, "SEQUENCE grows");
        let meeting_offers: Vec<_> = w
            .store
            .offers_for_request(id)
            .await
            .unwrap()
            .into_iter()
            .filter(|o| o.id != offer.id)
            .collect();
        assert_eq!(meeting_offers.len(), 1, "one colleague asked");
        let asked = meeting_offers[0].mediator_id;
        assert!(asked != first && [samira, fatima, amina].contains(&asked));
        let offered = rows(&w, code, &format!("offer:{}", meeting_offers[0].id))
            .await
            .remove(0);
        let t = text_of(&offered);
        assert!(
            t.contains("uno di una serie") && t.contains("martedì 6 aprile, 15:00"),
            "{t}"
        );
        assert!(!t.contains("Via Roma") && !t.contains("Laura"), "{t}");
        assert!(
            !t.contains("8 incontri"),
            "the offer is for one meeting: {t}"
        );

        // She declines: the next colleague is asked; the series' mediator never is.
        assert!(
            w.dispatcher
                .decline(meeting_offers[0].id, asked)
                .await
                .unwrap()
        );
        let again: Vec<_> = w
            .store
            .offers_for_request(id)
            .await
            .unwrap()
            .into_iter()
            .filter(|o| o.id != offer.id && o.id != meeting_offers[0].id)
            .collect();
        assert_eq!(again.len(), 1);
        let other = again[0].mediator_id;
        assert!(other != first && other != asked);
        // The other accepts: meeting 5 is hers, she gets its details, the requester hears who comes.
        assert!(matches!(
            w.dispatcher.accept(again[0].id, other).await.unwrap(),
            AcceptOutcome::Meeting { seq: 5, .. }
        ));
        let req = w.store.request(code).await.unwrap();
        let s = req.series.as_ref().unwrap();
        assert_eq!(s.occurrences[4].mediator_id, Some(other));
        assert!(
            s.occurrences
                .iter()
                .enumerate()
                .all(|(i, o)| i == 4 || o.mediator_id == Some(first))
        );
        assert_eq!(
            req.assigned_mediator_id,
            Some(first),
            "the series stays hers"
        );
        let told = rows(&w, code, "meeting:").await;
        assert_eq!(told.len(), 3, "{told:#?}");
        let details = told
            .iter()
            .find(|r| {
                chat_of(r)
                    == Some(if other == samira {
                        101
                    } else if other == fatima {
                        102
                    } else {
                        103
                    })
            })
            .expect("her details");
        assert!(
            text_of(details).contains("Via Roma 1") && text_of(details).contains("assegnato a te"),
            "{}",
            text_of(details)
        );
        // her invitation is that meeting alone, an event of its own
        let cal = parse(details);
        assert_eq!(cal.events.len(), 1);
        let e = &cal.events[0];
        assert!(prop(e, "RRULE").is_none() && prop(e, "RECURRENCE-ID").is_none());
        assert_eq!(value(e, "DTSTART").as_deref(), Some("20270406T150000"));
        assert_eq!(value(e, "DTEND").as_deref(), Some("20270406T160000"));
        let confirm = rows(&w, code, "confirm:").await.remove(0);
        let series_uid = value(master_and_moved(&parse(&confirm)).0, "UID");
        assert_ne!(value(e, "UID"), series_uid, "not the series' event");
        assert!(
            value(e, "UID")
                .unwrap()
                .starts_with(&format!("{}-5@", code.to_string().to_lowercase()))
        );
        let to_requester = told
            .iter()
            .filter(|r| chat_of(r).is_none())
            .max_by_key(|r| r.id)
            .unwrap();
        assert!(
            text_of(to_requester).contains("ci sarà"),
            "{}",
            text_of(to_requester)
        );
        // A second acceptance of a meeting already taken changes nothing.
        assert!(matches!(
            w.dispatcher
                .accept(meeting_offers[0].id, asked)
                .await
                .unwrap(),
            AcceptOutcome::NotAvailable
        ));

        // Her meeting moves to Wednesday 7 April: she hears it, with her meeting's invitation
        // moved (same UID, higher SEQUENCE); the series' mediator is not told of a meeting that
        // is not hers.
        let before = seq_of(&parse(details).events[0]);
        w.clock.advance(Duration::hours(1));
        w.dispatcher
            .change_series_as(
                code,
                &Actor::Cli,
                5,
                Scope::One,
                Change::Move {
                    date: d(2027, 4, 7),
                    start: dispatch_support::t(15, 0),
                },
            )
            .await
            .unwrap();
        let theirs = rows(&w, code, "meeting_changed:").await;
        assert_eq!(theirs.len(), 1);
        assert!(
            text_of(&theirs[0]).contains("spostato a mercoledì 7 aprile, 15:00"),
            "{}",
            text_of(&theirs[0])
        );
        let cal = parse(&theirs[0]);
        let e = &cal.events[0];
        assert_eq!(value(e, "DTSTART").as_deref(), Some("20270407T150000"));
        assert_eq!(value(e, "UID"), value(&parse(details).events[0], "UID"));
        assert!(seq_of(e) > before, "SEQUENCE grows");

        // Meeting 6, and nobody takes it: the coordinators are alerted, in words.
        w.dispatcher
            .release_meeting_as(code, &Actor::Cli, 6)
            .await
            .unwrap();
        for _ in 0..2 {
            let open: Vec<_> = w
                .store
                .offers_for_request(id)
                .await
                .unwrap()
                .into_iter()
                .filter(|o| o.state == connecting::domain::OfferState::Open)
                .collect();
            assert_eq!(open.len(), 1, "{open:?}");
            assert!(
                w.dispatcher
                    .decline(open[0].id, open[0].mediator_id)
                    .await
                    .unwrap()
            );
        }
        let alerts = rows(&w, code, "meeting_unfilled:").await;
        assert_eq!(alerts.len(), 1, "one alert per coordinator: {alerts:#?}");
        assert!(
            text_of(&alerts[0]).contains("martedì 13 aprile, 15:00"),
            "{}",
            text_of(&alerts[0])
        );
    }
);

both_backends!(
    who_may_change_or_release_a_meeting_is_the_table_s_and_a_refusal_changes_nothing,
    |db| async move {
        use connecting::dispatch::DispatchError;
        let w = World::new(db.store.clone(), at_rome(2027, 3, 1, 9, 0), settings()).await;
        let samira = w.mediator("Samira", 101, &["ar"]).await.id;
        let fatima = w.mediator("Fatima", 102, &["ar"]).await.id;
        let out = intake(&w)
        .process(&mail(
            "serie-4@comune.dalmine.bg.it",
            "Serve una mediatrice di lingua araba per incontri protetti a Dalmine, in Via Roma 1, \
             ogni martedì dalle 15 alle 16 dal 9 marzo per 4 settimane. Laura Rossi",
        ))
        .await
        .unwrap();
        let Outcome::Created { code, .. } = out else {
            panic!("{out:?}")
        };
        w.dispatcher.dispatch(code).await.unwrap();
        let id = w.store.request(code).await.unwrap().id;
        let offer = w.store.offers_for_request(id).await.unwrap().remove(0);
        let (hers, other) = if offer.mediator_id == samira {
            (samira, fatima)
        } else {
            (fatima, samira)
        };
        w.dispatcher.accept(offer.id, hers).await.unwrap();
        let before = w.store.request(code).await.unwrap();
        let stranger = Actor::Operator {
            id: None,
            email: Some("someone@comune.seriate.bg.it".into()),
            chat_id: None,
            active: true,
        };
        let her = Actor::Mediator {
            id: hers,
            active: true,
        };
        let colleague = Actor::Mediator {
            id: other,
            active: true,
        };
        let denied = |r: Result<_, DispatchError>, who: &str| {
            assert!(matches!(r, Err(DispatchError::Denied(_))), "{who}: {r:?}");
        };
        // Changing meetings: the requester or a coordinator, not another requester, nor a mediator.
        for (who, actor) in [
            ("another requester", &stranger),
            ("the series' mediator", &her),
            ("a colleague", &colleague),
        ] {
            denied(
                w.dispatcher
                    .change_series_as(code, actor, 2, Scope::One, Change::Cancel)
                    .await
                    .map(|_| ()),
                who,
            );
            denied(
                w.dispatcher
                    .change_series_as(
                        code,
                        actor,
                        2,
                        Scope::Following,
                        Change::Move {
                            date: d(2027, 3, 17),
                            start: t(15, 0),
                        },
                    )
                    .await
                    .map(|_| ()),
                who,
            );
        }
        // Releasing a meeting: its mediator or a coordinator, not a colleague nor the requester.
        let laura = Actor::Operator {
            id: None,
            email: Some(REQUESTER.into()),
            chat_id: None,
            active: true,
        };
        for (who, actor) in [
            ("a colleague", &colleague),
            ("the requester", &laura),
            ("another requester", &stranger),
        ] {
            denied(
                w.dispatcher
                    .release_meeting_as(code, actor, 3)
                    .await
                    .map(|_| ()),
                who,
            );
        }
        let after = w.store.request(code).await.unwrap();
        assert_eq!(after.series, before.series, "nothing changed");
        assert!(
            rows(&w, code, "series:").await.is_empty()
                && rows(&w, code, "meeting:").await.is_empty()
        );
        // A meeting number the series does not have, or a single appointment, is refused in words.
        let err = w
            .dispatcher
            .change_series_as(code, &Actor::Cli, 9, Scope::One, Change::Cancel)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("no meeting 9"), "{err}");
        let single = w.request("ar", d(2027, 3, 11), t(10, 0), 60, None).await;
        let err = w
            .dispatcher
            .change_series_as(single, &Actor::Cli, 1, Scope::One, Change::Cancel)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("not a series"), "{err}");
        // Her own release is hers to make.
        w.dispatcher
            .release_meeting_as(code, &her, 3)
            .await
            .unwrap();
        assert_eq!(
            w.store
                .request(code)
                .await
                .unwrap()
                .series
                .unwrap()
                .occurrences[2]
                .mediator_id,
            None
        );
    }
);

both_backends!(
    an_email_reply_cancels_one_meeting_or_those_that_follow_not_the_series,
    |db| async move {
        let w = World::new(db.store.clone(), at_rome(2027, 3, 1, 9, 0), settings()).await;
        let samira = w.mediator("Samira", 101, &["ar"]).await.id;
        let intake = intake(&w);
        let out = intake
            .process(&mail(
                "serie-5@comune.dalmine.bg.it",
                "Serve una mediatrice di lingua araba per incontri protetti a Dalmine, in Via Roma 1, \
                 ogni martedì dalle 15 alle 16 dal 9 marzo per 8 settimane. Laura Rossi",
            ))
            .await
            .unwrap();
        let Outcome::Created { code, .. } = out else {
            panic!("{out:?}")
        };
        w.dispatcher.dispatch(code).await.unwrap();
        let id = w.store.request(code).await.unwrap().id;
        let offer = w.store.offers_for_request(id).await.unwrap().remove(0);
        w.dispatcher.accept(offer.id, samira).await.unwrap();
        let reply = |n: &str, text: &str| {
            format!(
                "From: Laura Rossi <{REQUESTER}>\r\nTo: info@coop.example\r\nSubject: Re: [{code}] Richiesta\r\n\
                 Message-ID: <{n}@comune.dalmine.bg.it>\r\nIn-Reply-To: <serie-5@comune.dalmine.bg.it>\r\n\
                 Date: Mon, 1 Mar 2027 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
                 {text}\r\nLaura\r\n"
            )
            .into_bytes()
        };
        w.clock.advance(Duration::hours(1));
        // "l'incontro del 16 marzo": that one only.
        let out = intake
            .process(&reply(
                "r1",
                "Buongiorno, annulliamo l'incontro del 16 marzo: la famiglia non ci sarà. Grazie",
            ))
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Updated { .. }), "{out:?}");
        let req = w.store.request(code).await.unwrap();
        assert_eq!(req.status, RequestStatus::Assigned, "the series goes on");
        let s = req.series.clone().unwrap();
        let cancelled: Vec<u32> = s
            .occurrences
            .iter()
            .filter(|o| o.status == OccurrenceStatus::Cancelled)
            .map(|o| o.seq)
            .collect();
        assert_eq!(cancelled, vec![2]);
        let told = rows(&w, code, "series:").await;
        assert_eq!(told.len(), 2, "she and the mediator");
        // "dal 13 aprile in poi": those that follow too.
        w.clock.advance(Duration::hours(1));
        let out = intake
            .process(&reply(
                "r2",
                "Buongiorno, purtroppo dobbiamo annullare gli incontri dal 13 aprile in poi.",
            ))
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Updated { .. }), "{out:?}");
        let s = w.store.request(code).await.unwrap().series.unwrap();
        let cancelled: Vec<u32> = s
            .occurrences
            .iter()
            .filter(|o| o.status == OccurrenceStatus::Cancelled)
            .map(|o| o.seq)
            .collect();
        assert_eq!(cancelled, vec![2, 6, 7, 8]);
        // Without a meeting's day, "annullo" is the whole series, as for any request.
        w.clock.advance(Duration::hours(1));
        let out = intake
            .process(&reply("r3", "Annulliamo tutto, grazie."))
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Cancelled { .. }), "{out:?}");
        assert_eq!(
            w.store.request(code).await.unwrap().status,
            RequestStatus::Cancelled
        );
    }
);
