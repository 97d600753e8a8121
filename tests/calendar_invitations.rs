//! Calendar invitations as the people's calendars receive them (SQLite and PostgreSQL):
//!
//! - by email: the requester's confirmation, as the real SMTP server delivered it into Dovecot
//!   and IMAP reads it back, is `multipart/mixed` with a `text/calendar; method=REQUEST`
//!   alternative of the letter and the same calendar attached as `invito.ics`; it parses as
//!   iCalendar (`ical`, as a client would), with the cooperative as ORGANIZER, the requester
//!   and the mediator as ACCEPTED attendees, the place, the code and the mediator's name, and a
//!   local start that its own VTIMEZONE turns into the right instant although the request was
//!   written before the spring change of clocks. The mediator reached by email gets the same
//!   event; the offer before it carries none. A new time after the assignment brings both an
//!   update (same UID, higher SEQUENCE, the new time in words and in the calendar); the
//!   requester's "annullo" a `CANCEL` for the same UID with a higher SEQUENCE still, to her and
//!   to the mediator;
//! - on Telegram: the mediator who accepted gets the event as an `.ics` document (a multipart
//!   `sendDocument` to the local Bot API, the details as its caption), the offer before it was a
//!   plain message; an autumn appointment across the change back to CET starts at the right
//!   instant; a change of time (the core's `change`, as after the console's correction) sends
//!   the update to both, same UID, higher SEQUENCE; a cancellation sends the `CANCEL` document
//!   with the same UID and a higher SEQUENCE still;
//! - a text too long for a caption goes as a message followed by the document.

#[path = "support/botapi.rs"]
mod botapi;
#[path = "support/common.rs"]
mod common;
#[path = "support/dispatch.rs"]
mod dispatch;
#[path = "support/mail.rs"]
mod mail;

use botapi::FakeBotApi;
use chrono::{DateTime, Datelike, Duration as Days, NaiveDate, NaiveDateTime, TimeZone, Utc};
use connecting::channels::email::smtp::{SmtpConfig, SmtpTransport};
use connecting::channels::email::{Intake, IntakeConfig, Outcome};
use connecting::channels::telegram::TelegramTransport;
use connecting::dispatch::{AcceptOutcome, Canceller, DispatchSettings};
use connecting::domain::{
    Ambito, Appointment, Channel, Gender, InterventionType, LanguageCode, Modality, RequestCode,
    RequestStatus,
};
use connecting::ics::Party;
use connecting::outbox::{
    Calendar, OutboxWorker, Payload, RetryPolicy, TelegramPayload, Transport, Transports,
};
use connecting::store::{NewMediator, NewRequest, Store};
use dispatch::{World, at_rome, d, t};
use ical::parser::ical::component::{IcalCalendar, IcalEvent};
use ical::property::Property;
use mail_parser::MimeHeaders;
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

fn settings() -> DispatchSettings {
    DispatchSettings {
        message_id_domain: "coop.example".into(),
        organizer: Some(Party {
            name: "Cooperativa Esempio".into(),
            email: Some("info@coop.example".into()),
        }),
        ..Default::default()
    }
}

/// A queued email request from Laura for Arabic, at `date` `h:min` local time.
async fn request(w: &World, date: NaiveDate, h: u32, min: u32, minutes: u32) -> RequestCode {
    w.store
        .create_request(&fields(date, h, min, minutes), w.clock_now())
        .await
        .unwrap()
        .code
}

/// The fields of Laura's request.
fn fields(date: NaiveDate, h: u32, min: u32, minutes: u32) -> NewRequest {
    let appt = Appointment::new(date, t(h, min), minutes).unwrap();
    NewRequest {
        status: Some(RequestStatus::Queued),
        channel: Some(Channel::Email),
        requester_name: Some("Laura Bianchi".into()),
        requester_email: Some("laura@comune.example.it".into()),
        ente: Some("Comune di Dalmine".into()),
        ambito: Some(Ambito::parse("Dalmine").unwrap()),
        language: Some(LanguageCode::parse("ar").unwrap()),
        intervention: Some(InterventionType::Colloquio),
        modality: Some(Modality::InPerson),
        date: Some(date),
        start_time: Some(t(h, min)),
        duration_minutes: Some(i64::from(minutes)),
        starts_at: Some(appt.starts_at(chrono_tz::Europe::Rome)),
        ends_at: Some(appt.ends_at(chrono_tz::Europe::Rome)),
        comune: Some("Dalmine".into()),
        address: Some("Via Roma 1".into()),
        source_message_id: Some("<orig-laura@comune.example.it>".into()),
        subject: Some("Richiesta mediatrice araba".into()),
        ..Default::default()
    }
}

fn email_worker(w: &World, servers: &mail::MailServers) -> OutboxWorker {
    let mut smtp = SmtpConfig::new(
        "127.0.0.1",
        servers.smtp_port,
        connecting::channels::email::smtp::TlsMode::None,
        "Cooperativa Esempio <info@coop.example>",
    );
    smtp.from_address = "info@coop.example".into();
    smtp.allow_plaintext = true;
    smtp.timeout = Duration::from_secs(10);
    OutboxWorker::new(
        w.store.clone(),
        Arc::new(w.clock.clone()),
        Transports {
            telegram: None,
            email: Some(Arc::new(SmtpTransport::new(&smtp).unwrap())),
        },
        RetryPolicy::default(),
    )
    .with_events(connecting::app::delivery::events(
        connecting::renderers::core(settings()),
    ))
}

fn telegram_worker(w: &World, fake: &FakeBotApi) -> OutboxWorker {
    OutboxWorker::new(
        w.store.clone(),
        Arc::new(w.clock.clone()),
        Transports {
            telegram: Some(Arc::new(TelegramTransport::new(fake.bot()))),
            email: None,
        },
        RetryPolicy::default(),
    )
}

/// Runs the worker until a round sends nothing.
async fn drain(w: &OutboxWorker) {
    while w.run_once().await.unwrap().sent > 0 {}
}

// ----- reading what arrived, as a mail client and a calendar client would -----

/// The parts of a delivered message: (content type with its parameters, file name, text).
fn parts(raw: &[u8]) -> (String, Vec<(String, Option<String>, String)>) {
    let m = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a message");
    let top = m.content_type().map(content_type_of).unwrap_or_default();
    let parts = m
        .parts
        .iter()
        .filter_map(|p| {
            let ct = p.content_type().map(content_type_of)?;
            let text = match &p.body {
                mail_parser::PartType::Text(t) => t.to_string(),
                mail_parser::PartType::Binary(b) | mail_parser::PartType::InlineBinary(b) => {
                    String::from_utf8_lossy(b).into_owned()
                }
                _ => return None,
            };
            Some((ct, p.attachment_name().map(str::to_string), text))
        })
        .collect();
    (top, parts)
}

fn content_type_of(c: &mail_parser::ContentType) -> String {
    let mut s = format!(
        "{}/{}",
        c.c_type.to_ascii_lowercase(),
        c.c_subtype
            .as_deref()
            .unwrap_or_default()
            .to_ascii_lowercase()
    );
    for a in c.attributes().unwrap_or_default() {
        s.push_str(&format!("; {}={}", a.name.to_ascii_lowercase(), a.value));
    }
    s
}

/// The invitation of a delivered email: checks the MIME shape every client needs (the
/// `text/calendar` alternative with `method=` as in the calendar, the `.ics` attachment with
/// the same text) and returns the calendar text.
fn invitation_of(raw: &[u8], method: &str) -> String {
    let (top, parts) = parts(raw);
    assert!(top.starts_with("multipart/mixed"), "{top}");
    let inline: Vec<_> = parts
        .iter()
        .filter(|(ct, name, _)| ct.starts_with("text/calendar") && name.is_none())
        .collect();
    assert_eq!(inline.len(), 1, "one text/calendar part: {parts:?}");
    let (ct, _, ics) = inline[0];
    assert!(
        ct.contains(&format!("method={method}")),
        "method in the MIME type: {ct}"
    );
    assert!(ct.to_ascii_lowercase().contains("charset=utf-8"), "{ct}");
    let attached = parts
        .iter()
        .find(|(_, name, _)| name.as_deref() == Some("invito.ics"))
        .expect("invito.ics attached");
    assert!(attached.0.starts_with("application/ics"), "{attached:?}");
    assert_eq!(attached.2, *ics, "the attachment is the same calendar");
    assert!(
        parts.iter().any(|(ct, _, _)| ct.starts_with("text/plain")),
        "the letter is still there"
    );
    ics.clone()
}

/// The text of the `text/calendar` part of a delivered message, if it has one.
fn calendar_text(raw: &[u8]) -> Option<String> {
    parts(raw)
        .1
        .into_iter()
        .find(|(ct, name, _)| ct.starts_with("text/calendar") && name.is_none())
        .map(|(_, _, text)| text)
}

fn has_invitation(raw: &[u8]) -> bool {
    parts(raw)
        .1
        .iter()
        .any(|(ct, _, _)| ct.starts_with("text/calendar") || ct.starts_with("application/ics"))
}

/// One calendar, parsed as a client parses it.
fn parse(ics: &str) -> IcalCalendar {
    let mut reader = ical::IcalParser::new(std::io::BufReader::new(ics.as_bytes()));
    let cal = reader
        .next()
        .expect("a VCALENDAR")
        .unwrap_or_else(|e| panic!("not iCalendar: {e}\n{ics}"));
    assert!(reader.next().is_none(), "one calendar only");
    cal
}

fn prop<'a>(props: &'a [Property], name: &str) -> &'a Property {
    props
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no {name} in {props:?}"))
}

fn value(props: &[Property], name: &str) -> String {
    prop(props, name).value.clone().unwrap_or_default()
}

fn param(p: &Property, name: &str) -> Option<String> {
    p.params
        .as_ref()?
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.join(","))
}

fn event(cal: &IcalCalendar) -> &IcalEvent {
    assert_eq!(cal.events.len(), 1, "one event");
    &cal.events[0]
}

/// `DTSTART` as the calendar's own VTIMEZONE places it in time (what a client without a time
/// zone database does): the transitions' yearly rules (`BYMONTH`, `BYDAY=-1SU`) decide which
/// offset holds at the local time.
fn start_instant(cal: &IcalCalendar) -> DateTime<Utc> {
    let e = event(cal);
    let start = prop(&e.properties, "DTSTART");
    let tzid = param(start, "TZID").expect("DTSTART carries its TZID");
    let local = NaiveDateTime::parse_from_str(start.value.as_deref().unwrap(), "%Y%m%dT%H%M%S")
        .expect("a local date-time");
    let tz = cal
        .timezones
        .iter()
        .find(|z| value(&z.properties, "TZID") == tzid)
        .expect("the VTIMEZONE of the TZID");
    // (transition instant in local time before it, offset after it), this year.
    let mut changes: Vec<(NaiveDateTime, i64)> = tz
        .transitions
        .iter()
        .map(|tr| {
            let rule = value(&tr.properties, "RRULE");
            let month: u32 = rule
                .split(';')
                .find_map(|p| p.strip_prefix("BYMONTH="))
                .and_then(|m| m.parse().ok())
                .expect("BYMONTH");
            assert!(rule.contains("BYDAY=-1SU"), "{rule}");
            let at =
                NaiveDateTime::parse_from_str(&value(&tr.properties, "DTSTART"), "%Y%m%dT%H%M%S")
                    .unwrap()
                    .time();
            let next = if month == 12 {
                NaiveDate::from_ymd_opt(local.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(local.year(), month + 1, 1)
            }
            .unwrap();
            let mut day = next.pred_opt().unwrap();
            while day.weekday() != chrono::Weekday::Sun {
                day = day.pred_opt().unwrap();
            }
            (
                day.and_time(at),
                offset(&value(&tr.properties, "TZOFFSETTO")),
            )
        })
        .collect();
    changes.sort();
    let offset = changes
        .iter()
        .rev()
        .find(|(at, _)| *at <= local)
        .or(changes.last())
        .map(|(_, o)| *o)
        .unwrap();
    Utc.from_utc_datetime(&(local - Days::seconds(offset)))
}

/// `+0200` -> 7200 seconds.
fn offset(s: &str) -> i64 {
    let sign = if s.starts_with('-') { -1 } else { 1 };
    let digits = s.trim_start_matches(['+', '-']);
    let h: i64 = digits[..2].parse().unwrap();
    let m: i64 = digits[2..4].parse().unwrap();
    sign * (h * 3600 + m * 60)
}

fn sequence(cal: &IcalCalendar) -> u32 {
    value(&event(cal).properties, "SEQUENCE").parse().unwrap()
}

fn uid(cal: &IcalCalendar) -> String {
    value(&event(cal).properties, "UID")
}

fn attendees(cal: &IcalCalendar) -> Vec<(String, Option<String>)> {
    event(cal)
        .properties
        .iter()
        .filter(|p| p.name == "ATTENDEE")
        .map(|p| {
            (
                p.value.clone().unwrap_or_default().to_ascii_lowercase(),
                param(p, "PARTSTAT"),
            )
        })
        .collect()
}

/// The delivered message of `user` for which `pred` holds on its raw text.
async fn delivered(
    servers: &mail::MailServers,
    user: &str,
    n: usize,
    pred: impl Fn(&str) -> bool,
) -> Vec<u8> {
    let got = servers.wait_for(user, "INBOX", n, WAIT).await;
    got.into_iter()
        .find(|m| pred(&String::from_utf8_lossy(m)))
        .unwrap_or_else(|| panic!("no such message for {user}"))
}

both_backends!(
    the_requester_and_the_mediator_get_the_invitation_by_email_and_its_cancellation,
    |db| async move {
        let store: Store = db.store.clone();
        let servers = mail::MailServers::start(&["info", "laura", "fatima"]);
        // Written on 1 March (CET) for 30 March (CEST): the clocks change on 28 March.
        let w = World::new(store.clone(), at_rome(2027, 3, 1, 9, 0), settings()).await;
        let fatima = store
            .add_mediator(
                &NewMediator {
                    name: "Fatima Zahra".into(),
                    phone: None,
                    email: Some("fatima@coop.example".into()),
                    telegram_id: None,
                    gender: Some(Gender::F),
                    languages: vec![LanguageCode::parse("ar").unwrap()],
                    ambiti: vec![Ambito::parse("Dalmine").unwrap()],
                    availability: None,
                    share_phone: false,
                },
                w.clock_now(),
            )
            .await
            .unwrap();
        let code = request(&w, d(2027, 3, 30), 10, 0, 120).await;
        let r = store.request(code).await.unwrap();
        w.dispatcher.dispatch(code).await.unwrap();
        let worker = email_worker(&w, &servers);
        drain(&worker).await;
        // The offer reached Fatima by email, without an invitation (it may go to several).
        let offer_mail = delivered(&servers, "fatima", 1, |_| true).await;
        assert!(
            !has_invitation(&offer_mail),
            "an offer carries no invitation"
        );
        let offer = store.offers_for_request(r.id).await.unwrap().remove(0);
        assert!(matches!(
            w.dispatcher.accept(offer.id, fatima.id).await.unwrap(),
            AcceptOutcome::Assigned { .. }
        ));
        drain(&worker).await;

        // Laura's confirmation, as delivered.
        let c = code.to_string();
        let confirmation = delivered(&servers, "laura", 1, |_| true).await;
        let ics = invitation_of(&confirmation, "REQUEST");
        let cal = parse(&ics);
        assert_eq!(value(&cal.properties, "METHOD"), "REQUEST");
        assert_eq!(value(&cal.properties, "VERSION"), "2.0");
        let e = event(&cal);
        assert_eq!(
            uid(&cal),
            format!("{}@coop.example", c.to_ascii_lowercase())
        );
        let start = prop(&e.properties, "DTSTART");
        assert_eq!(param(start, "TZID").as_deref(), Some("Europe/Rome"));
        assert_eq!(start.value.as_deref(), Some("20270330T100000"));
        assert_eq!(
            value(&e.properties, "DTEND"),
            "20270330T120000",
            "two hours"
        );
        // 10:00 in Rome on 30 March is 08:00 UTC (CEST), as the store has it.
        assert_eq!(start_instant(&cal), r.starts_at.unwrap());
        assert_eq!(
            start_instant(&cal),
            Utc.with_ymd_and_hms(2027, 3, 30, 8, 0, 0).unwrap()
        );
        let organizer = prop(&e.properties, "ORGANIZER");
        assert_eq!(
            organizer.value.as_deref().map(str::to_ascii_lowercase),
            Some("mailto:info@coop.example".into())
        );
        assert_eq!(
            param(organizer, "CN").map(|n| n.trim_matches('"').to_string()),
            Some("Cooperativa Esempio".into())
        );
        let people = attendees(&cal);
        assert!(
            people.contains(&(
                "mailto:laura@comune.example.it".into(),
                Some("ACCEPTED".into())
            )),
            "{people:?}"
        );
        assert!(
            people.contains(&("mailto:fatima@coop.example".into(), Some("ACCEPTED".into()))),
            "{people:?}"
        );
        let location = value(&e.properties, "LOCATION");
        assert!(
            location.contains("Via Roma 1") && location.contains("Dalmine"),
            "{location}"
        );
        let description = value(&e.properties, "DESCRIPTION");
        assert!(description.contains(&c), "{description}");
        assert!(
            description.contains("Mediatrice: Fatima Zahra"),
            "{description}"
        );
        assert!(value(&e.properties, "SUMMARY").contains(&c));
        assert_eq!(value(&e.properties, "STATUS"), "CONFIRMED");
        let first = sequence(&cal);

        // Fatima's details, by email: the same event.
        let details = delivered(&servers, "fatima", 2, |m| m.contains("text/calendar")).await;
        let mine = parse(&invitation_of(&details, "REQUEST"));
        assert_eq!(uid(&mine), uid(&cal));
        assert_eq!(sequence(&mine), first);
        assert_eq!(start_instant(&mine), r.starts_at.unwrap());
        assert_eq!(
            store.request(code).await.unwrap().status,
            RequestStatus::Confirmed
        );

        // The next day the appointment moves to 15:00 (the console's correction: the fields,
        // then the core's `change`): both get the update, same UID, higher SEQUENCE.
        w.clock.advance(chrono::Duration::days(1));
        let now = w.clock_now();
        let before = store.request(code).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.update_request_fields(r.id, &fields(d(2027, 3, 30), 15, 0, 120), now)
            .await
            .unwrap();
        connecting::app::change::appointment_changed(w.dispatcher.core(), &mut tx, &before, now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        drain(&worker).await;
        let moved = delivered(&servers, "laura", 2, |m| {
            calendar_text(m.as_bytes()).is_some_and(|c| c.contains("T150000"))
        })
        .await;
        let update = parse(&invitation_of(&moved, "REQUEST"));
        assert_eq!(uid(&update), uid(&cal));
        assert!(sequence(&update) > first, "a higher SEQUENCE");
        assert_eq!(
            start_instant(&update),
            Utc.with_ymd_and_hms(2027, 3, 30, 13, 0, 0).unwrap()
        );
        let body = mail_parser::MessageParser::default()
            .parse(&moved)
            .and_then(|m| m.body_text(0).map(|t| t.to_string()))
            .unwrap_or_default();
        assert!(body.contains("15:00"), "the update in words: {body}");
        let hers = delivered(&servers, "fatima", 3, |m| {
            calendar_text(m.as_bytes()).is_some_and(|c| c.contains("T150000"))
        })
        .await;
        assert_eq!(
            sequence(&parse(&invitation_of(&hers, "REQUEST"))),
            sequence(&update)
        );
        let second = sequence(&update);

        // The next day Laura writes "annullo" on the thread.
        w.clock.advance(chrono::Duration::days(1));
        let mut cfg = IntakeConfig::new("info@coop.example", "coop.example");
        cfg.allowed_sender_domains = vec!["comune.example.it".into()];
        let intake = Intake::new(
            store.clone(),
            cfg,
            Arc::new(w.clock.clone()),
            connecting::renderers::channels(),
        );
        let raw = mail::message(
            "Laura Bianchi <laura@comune.example.it>",
            "info@coop.example",
            &format!("Re: Richiesta mediatrice araba [{c}]"),
            "cancel-laura@comune.example.it",
            "Buongiorno, annullo la richiesta: la famiglia si è trasferita.\r\nLaura Bianchi",
        );
        assert!(matches!(
            intake.process(&raw).await.unwrap(),
            Outcome::Cancelled { .. }
        ));
        drain(&worker).await;
        let reply = delivered(&servers, "laura", 3, |m| m.contains("method=CANCEL")).await;
        let cancel = parse(&invitation_of(&reply, "CANCEL"));
        assert_eq!(value(&cancel.properties, "METHOD"), "CANCEL");
        assert_eq!(uid(&cancel), uid(&cal), "the same event");
        assert!(sequence(&cancel) > second, "a higher SEQUENCE");
        assert_eq!(value(&event(&cancel).properties, "STATUS"), "CANCELLED");
        let told = delivered(&servers, "fatima", 4, |m| m.contains("method=CANCEL")).await;
        let hers = parse(&invitation_of(&told, "CANCEL"));
        assert_eq!(uid(&hers), uid(&cal));
        assert!(sequence(&hers) > second);
    }
);

both_backends!(
    the_mediator_who_accepted_gets_the_ics_document_on_telegram_and_its_cancellation,
    |db| async move {
        let store: Store = db.store.clone();
        let fake = FakeBotApi::start().await;
        // Written on 20 October (CEST) for 3 November (CET): the clocks change on 31 October.
        let w = World::new(store.clone(), at_rome(2027, 10, 20, 9, 0), settings()).await;
        let amina = w.mediator("Amina Haddad", 5001, &["ar"]).await;
        let code = request(&w, d(2027, 11, 3), 9, 30, 90).await;
        let r = store.request(code).await.unwrap();
        let worker = telegram_worker(&w, &fake);
        w.dispatcher.dispatch(code).await.unwrap();
        drain(&worker).await;
        let offer_msg = fake
            .wait_for(5001, WAIT, |m| {
                m.document.is_none() && !m.buttons.is_empty()
            })
            .await
            .expect("the offer");
        assert_eq!(fake.calls("sendDocument"), 0, "offers carry no invitation");
        assert!(offer_msg.document.is_none());
        let offer = store.offers_for_request(r.id).await.unwrap().remove(0);
        assert!(matches!(
            w.dispatcher.accept(offer.id, amina.id).await.unwrap(),
            AcceptOutcome::Assigned { .. }
        ));
        drain(&worker).await;
        let c = code.to_string();
        let details = fake
            .wait_for(5001, WAIT, |m| m.document.is_some())
            .await
            .expect("the details with the invitation");
        let doc = details.document.clone().unwrap();
        assert_eq!(doc.file_name.as_deref(), Some("invito.ics"));
        assert!(
            details.text.contains(&c),
            "the details as caption: {}",
            details.text
        );
        assert_eq!(details.parse_mode.as_deref(), Some("HTML"));
        let cal = parse(&doc.text());
        assert_eq!(value(&cal.properties, "METHOD"), "REQUEST");
        assert_eq!(
            uid(&cal),
            format!("{}@coop.example", c.to_ascii_lowercase())
        );
        let start = prop(&event(&cal).properties, "DTSTART");
        assert_eq!(start.value.as_deref(), Some("20271103T093000"));
        // 09:30 in Rome on 3 November is 08:30 UTC (CET again).
        assert_eq!(start_instant(&cal), r.starts_at.unwrap());
        assert_eq!(
            start_instant(&cal),
            Utc.with_ymd_and_hms(2027, 11, 3, 8, 30, 0).unwrap()
        );
        assert_eq!(value(&event(&cal).properties, "DTEND"), "20271103T110000");
        assert!(
            value(&event(&cal).properties, "DESCRIPTION").contains("Amina Haddad"),
            "the mediator's name"
        );
        assert!(
            attendees(&cal).contains(&(
                "mailto:laura@comune.example.it".into(),
                Some("ACCEPTED".into())
            )),
            "{:?}",
            attendees(&cal)
        );
        assert_eq!(fake.calls("sendDocument"), 1);
        let first = sequence(&cal);

        // The next day the appointment moves to 11:00 (as the console's correction does it:
        // the fields changed, then the core's `change`): an update, same UID, higher SEQUENCE.
        w.clock.advance(chrono::Duration::days(1));
        let now = w.clock_now();
        let before = store.request(code).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        tx.update_request_fields(r.id, &fields(d(2027, 11, 3), 11, 0, 90), now)
            .await
            .unwrap();
        let told = connecting::app::change::appointment_changed(
            w.dispatcher.core(),
            &mut tx,
            &before,
            now,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(told.len(), 2, "the requester and the mediator");
        drain(&worker).await;
        let moved = fake
            .wait_for(5001, WAIT, |m| m.document.is_some())
            .await
            .expect("the update with its invitation");
        assert!(moved.text.contains("11:00"), "{}", moved.text);
        let update = parse(&moved.document.clone().unwrap().text());
        assert_eq!(value(&update.properties, "METHOD"), "REQUEST");
        assert_eq!(uid(&update), uid(&cal));
        assert!(sequence(&update) > first, "a higher SEQUENCE");
        assert_eq!(
            start_instant(&update),
            Utc.with_ymd_and_hms(2027, 11, 3, 10, 0, 0).unwrap()
        );
        let second = sequence(&update);
        // The requester's update is queued by email, with the same event.
        let email = common::outbox_emails(&store)
            .await
            .into_iter()
            .filter_map(|e| e.calendar)
            .next_back()
            .expect("the requester's update");
        let hers = parse(&email.ics);
        assert_eq!(uid(&hers), uid(&cal));
        assert_eq!(sequence(&hers), second);
        // A change of nothing that matters tells nobody.
        let same = store.request(code).await.unwrap();
        let mut tx = store.begin().await.unwrap();
        let quiet =
            connecting::app::change::appointment_changed(w.dispatcher.core(), &mut tx, &same, now)
                .await
                .unwrap();
        tx.commit().await.unwrap();
        assert!(quiet.is_empty());

        w.clock.advance(chrono::Duration::days(1));
        let late = w.dispatcher.cancel(code, Canceller::Cli).await.unwrap();
        assert!(!late, "two weeks ahead");
        drain(&worker).await;
        let cancelled = fake
            .wait_for(5001, WAIT, |m| m.document.is_some())
            .await
            .expect("the cancellation with its CANCEL");
        let cancel = parse(&cancelled.document.clone().unwrap().text());
        assert_eq!(value(&cancel.properties, "METHOD"), "CANCEL");
        assert_eq!(uid(&cancel), uid(&cal));
        assert!(sequence(&cancel) > second, "a higher SEQUENCE");
        assert!(cancelled.text.contains(&c));
    }
);

fn both_worker(w: &World, fake: &FakeBotApi, servers: &mail::MailServers) -> OutboxWorker {
    let mut smtp = SmtpConfig::new(
        "127.0.0.1",
        servers.smtp_port,
        connecting::channels::email::smtp::TlsMode::None,
        "Cooperativa Esempio <info@coop.example>",
    );
    smtp.from_address = "info@coop.example".into();
    smtp.allow_plaintext = true;
    smtp.timeout = Duration::from_secs(10);
    OutboxWorker::new(
        w.store.clone(),
        Arc::new(w.clock.clone()),
        Transports {
            telegram: Some(Arc::new(TelegramTransport::new(fake.bot()))),
            email: Some(Arc::new(SmtpTransport::new(&smtp).unwrap())),
        },
        RetryPolicy::default(),
    )
}

both_backends!(
    invitations_to_everyone_a_coordinator_s_cancel_the_requester_on_telegram_and_the_mediator_s_email_copy,
    |db| async move {
        let store: Store = db.store.clone();
        let fake = FakeBotApi::start().await;
        let servers = mail::MailServers::start(&["info", "laura", "fatima"]);
        let w = World::new(store.clone(), at_rome(2027, 3, 1, 9, 0), settings()).await;
        // Fatima reads Telegram and also has an address.
        let fatima = store
            .add_mediator(
                &NewMediator {
                    name: "Fatima Zahra".into(),
                    phone: None,
                    email: Some("fatima@coop.example".into()),
                    telegram_id: Some(5101),
                    gender: Some(Gender::F),
                    languages: vec![LanguageCode::parse("ar").unwrap()],
                    ambiti: vec![Ambito::parse("Dalmine").unwrap()],
                    availability: None,
                    share_phone: false,
                },
                w.clock_now(),
            )
            .await
            .unwrap();
        let worker = both_worker(&w, &fake, &servers);
        let accept = |code: RequestCode| {
            let (w, store) = (&w, store.clone());
            async move {
                w.dispatcher.dispatch(code).await.unwrap();
                let r = store.request(code).await.unwrap();
                let offer = store.offers_for_request(r.id).await.unwrap().remove(0);
                assert!(matches!(
                    w.dispatcher.accept(offer.id, fatima.id).await.unwrap(),
                    AcceptOutcome::Assigned { .. }
                ));
            }
        };

        // Laura's request by email: Fatima gets the details on Telegram with the .ics, and the
        // same event by email.
        let code = request(&w, d(2027, 3, 30), 10, 0, 120).await;
        accept(code).await;
        drain(&worker).await;
        let c = code.to_string();
        let details = fake
            .wait_for(5101, WAIT, |m| m.document.is_some())
            .await
            .expect("the details with the invitation");
        let on_telegram = parse(&details.document.clone().unwrap().text());
        let copy = delivered(&servers, "fatima", 1, |m| m.contains("method=REQUEST")).await;
        let by_email = parse(&invitation_of(&copy, "REQUEST"));
        assert_eq!(uid(&by_email), uid(&on_telegram));
        assert_eq!(sequence(&by_email), sequence(&on_telegram));
        assert_eq!(
            start_instant(&by_email),
            Utc.with_ymd_and_hms(2027, 3, 30, 8, 0, 0).unwrap()
        );
        let confirmation = delivered(&servers, "laura", 1, |m| m.contains("method=REQUEST")).await;
        let first = parse(&invitation_of(&confirmation, "REQUEST"));
        assert_eq!(uid(&first), uid(&on_telegram));

        // A coordinator cancels: Laura is told, with the CANCEL of the same event.
        w.clock.advance(chrono::Duration::days(1));
        w.dispatcher
            .cancel(code, Canceller::Coordinator(1))
            .await
            .unwrap();
        drain(&worker).await;
        let told = delivered(&servers, "laura", 2, |m| m.contains("method=CANCEL")).await;
        let cancel = parse(&invitation_of(&told, "CANCEL"));
        assert_eq!(uid(&cancel), uid(&first), "the same event");
        assert!(sequence(&cancel) > sequence(&first), "a higher SEQUENCE");
        assert_eq!(value(&event(&cancel).properties, "STATUS"), "CANCELLED");
        let body = mail_parser::MessageParser::default()
            .parse(&told)
            .and_then(|m| m.body_text(0).map(|t| t.to_string()))
            .unwrap_or_default();
        assert!(
            body.contains(&c) && body.contains("annullata dalla cooperativa"),
            "{body}"
        );
        // Fatima: the CANCEL on Telegram and by email.
        let hers = fake
            .wait_for(5101, WAIT, |m| m.document.is_some())
            .await
            .expect("the cancellation on Telegram");
        assert_eq!(
            value(&parse(&hers.document.clone().unwrap().text()).properties, "METHOD"),
            "CANCEL"
        );
        let hers = delivered(&servers, "fatima", 2, |m| m.contains("method=CANCEL")).await;
        assert_eq!(uid(&parse(&invitation_of(&hers, "CANCEL"))), uid(&first));

        // A requester who uses the bot gets the .ics with the confirmation on Telegram.
        let mut tg = fields(d(2027, 4, 6), 9, 0, 60);
        tg.channel = Some(Channel::Telegram);
        tg.requester_chat_id = Some(5200);
        tg.requester_email = None;
        let code = store.create_request(&tg, w.clock_now()).await.unwrap().code;
        accept(code).await;
        drain(&worker).await;
        let confirmation = fake
            .wait_for(5200, WAIT, |m| m.document.is_some())
            .await
            .expect("the requester's confirmation with the invitation");
        assert!(confirmation.text.contains(&code.to_string()));
        assert!(confirmation.text.contains("Fatima Zahra"), "{}", confirmation.text);
        let cal = parse(&confirmation.document.clone().unwrap().text());
        assert_eq!(value(&cal.properties, "METHOD"), "REQUEST");
        assert_eq!(
            uid(&cal),
            format!("{}@coop.example", code.to_string().to_ascii_lowercase())
        );
        assert_eq!(
            start_instant(&cal),
            Utc.with_ymd_and_hms(2027, 4, 6, 7, 0, 0).unwrap(),
            "09:00 in Rome in April is 07:00 UTC"
        );
    }
);

#[tokio::test]
async fn a_text_too_long_for_a_caption_goes_first_then_the_document() {
    let fake = FakeBotApi::start().await;
    let tr = TelegramTransport::new(fake.bot());
    let calendar = Calendar {
        method: "REQUEST".into(),
        ics: "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n".into(),
        file_name: "invito.ics".into(),
    };
    let long = "Dettagli ".repeat(150);
    let d = tr
        .deliver(&Payload::Telegram(TelegramPayload {
            chat_id: 31,
            text: long.clone(),
            buttons: vec![],
            edit_message_id: None,
            calendar: Some(calendar.clone()),
            menu: None,
        }))
        .await
        .unwrap();
    let sent = fake.sent_to(31);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent[0].document.is_none());
    assert_eq!(sent[0].text, long);
    assert_eq!(
        d.external_id,
        Some(sent[0].message_id.to_string()),
        "the text's message is the one remembered"
    );
    let doc = sent[1].document.clone().unwrap();
    assert_eq!(doc.text(), calendar.ics);
    assert!(sent[1].text.is_empty(), "no caption");
    // A short one is one document with the text as its caption.
    tr.deliver(&Payload::Telegram(TelegramPayload {
        chat_id: 32,
        text: "<b>Richiesta</b> assegnata".into(),
        buttons: vec![],
        edit_message_id: None,
        calendar: Some(calendar),
        menu: None,
    }))
    .await
    .unwrap();
    let sent = fake.sent_to(32);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].text, "<b>Richiesta</b> assegnata");
    assert!(sent[0].document.is_some());
}

both_backends!(
    without_an_smtp_server_the_mediator_s_phone_still_gets_the_event_and_its_cancellation,
    |db| async move {
        // A Telegram-only installation: no `[smtp]`, so no mailbox to organise from. The
        // mediator still gets the appointment for her phone's calendar: a plain event (no
        // METHOD, ORGANIZER or ATTENDEE, which would make it an invitation nobody can answer),
        // the same UID on its cancellation, marked CANCELLED with a higher SEQUENCE.
        let store: Store = db.store.clone();
        let fake = FakeBotApi::start().await;
        let plain = DispatchSettings {
            organizer: None,
            ..settings()
        };
        let w = World::new(store.clone(), at_rome(2027, 3, 20, 9, 0), plain).await;
        let amina = w.mediator("Amina Haddad", 5301, &["ar"]).await;
        // 30 March is after the clocks went forward (28 March): 15:00 CEST is 13:00 UTC.
        let code = request(&w, d(2027, 3, 30), 15, 0, 60).await;
        let r = store.request(code).await.unwrap();
        let worker = telegram_worker(&w, &fake);
        w.dispatcher.dispatch(code).await.unwrap();
        drain(&worker).await;
        let offer = store.offers_for_request(r.id).await.unwrap().remove(0);
        assert!(matches!(
            w.dispatcher.accept(offer.id, amina.id).await.unwrap(),
            AcceptOutcome::Assigned { .. }
        ));
        drain(&worker).await;
        let details = fake
            .wait_for(5301, WAIT, |m| m.document.is_some())
            .await
            .expect("the details with the event");
        assert!(details.text.contains(&code.to_string()), "{}", details.text);
        let text = details.document.clone().unwrap().text();
        let cal = parse(&text);
        assert!(cal.properties.iter().all(|p| p.name != "METHOD"), "{text}");
        let e = event(&cal);
        for absent in ["ORGANIZER", "ATTENDEE"] {
            assert!(e.properties.iter().all(|p| p.name != absent), "{text}");
        }
        assert_eq!(value(&e.properties, "STATUS"), "CONFIRMED");
        assert_eq!(value(&e.properties, "DTSTART"), "20270330T150000");
        assert_eq!(
            start_instant(&cal),
            Utc.with_ymd_and_hms(2027, 3, 30, 13, 0, 0).unwrap()
        );
        let first = sequence(&cal);
        w.clock.advance(chrono::Duration::days(1));
        w.dispatcher.cancel(code, Canceller::Cli).await.unwrap();
        drain(&worker).await;
        let cancelled = fake
            .wait_for(5301, WAIT, |m| {
                m.document
                    .as_ref()
                    .is_some_and(|d| d.text().contains("CANCELLED"))
            })
            .await
            .expect("the cancellation with the event cancelled");
        let gone = parse(&cancelled.document.clone().unwrap().text());
        assert_eq!(uid(&gone), uid(&cal), "the same event");
        assert!(sequence(&gone) > first, "a higher SEQUENCE");
        assert_eq!(value(&event(&gone).properties, "STATUS"), "CANCELLED");
        assert!(cancelled.text.contains("annullat"), "{}", cancelled.text);
    }
);
