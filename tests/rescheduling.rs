//! Rescheduling and the unfilled notice (issue 15), on SQLite and PostgreSQL, with a test clock:
//!
//! - the requester moves an assigned appointment; the mediator is asked ([Va bene] /
//!   [Non posso]) and agrees: the request keeps its code, both hear the new time with the
//!   updated invitation (same UID, higher SEQUENCE, the new start), reminders follow the new time;
//! - the mediator declines: the assignment ends, they get the invitation's CANCEL, the requester
//!   is told, and the request is offered again at once, to the colleague asked for the old time
//!   too; the colleague's acceptance confirms the new time with a newer invitation still;
//! - nobody answers in time: the timer releases the mediator, the requester is told, and with
//!   nobody else the coordinators are alerted; a change under 24 hours is flagged late, in words;
//! - an unassigned request just takes the new time: the offers out for the old one are withdrawn
//!   and a new round goes out;
//! - the requester reschedules by email ("spostiamo a venerdì alle 11", a reply on the thread
//!   through the intake), and a reply with a date but no wish to move changes nothing;
//! - the same by real mail: her reply reaches the cooperative's Dovecot mailbox, the IMAP poller
//!   hands it to the intake, and what she receives through the SMTP server (the notice on her
//!   thread, then the update with its `text/calendar` part: same UID, higher SEQUENCE, the new
//!   start) is read back with IMAP;
//! - the requester reschedules by bot (`/modifica CODICE venerdì 12 marzo alle 11`, the real
//!   bot against the local Bot API): the mediator taps [Va bene] on her phone, both hear the
//!   new time, and her `.ics` document is the same event moved (same UID, higher SEQUENCE);
//! - the unfilled notice: at `unfilled_notice_hours` before the appointment, once, to the
//!   requester in her channel (email or Telegram), and an alert to the coordinators;
//! - the console: the queue marks a request whose requester got the unfilled notice, in words;
//!   a coordinator's correction of the time of an assigned request is a reschedule (the
//!   mediator is asked, the page says so).

#[path = "support/botapi.rs"]
mod botapi;
#[path = "support/common.rs"]
mod common;
#[path = "support/dispatch.rs"]
mod dispatch_support;
#[path = "support/mail.rs"]
mod mail;
#[path = "support/web.rs"]
mod web;
#[path = "support/world.rs"]
mod world;

use chrono::{DateTime, Duration, Utc};
use connecting::app::reschedule::{ChangeAnswer, When};
use connecting::channels::email::Outcome;
use connecting::dispatch::{AcceptOutcome, DispatchSettings};
use connecting::domain::{AssignmentStatus, Channel, OfferState, RequestCode, RequestStatus};
use connecting::ics::Party;
use connecting::outbox::{Calendar, Payload};
use connecting::store::OutboxRow;
use dispatch_support::*;
use ical::parser::ical::component::IcalCalendar;
use std::sync::Arc;

const REQUESTER: &str = "laura.rossi@comune.dalmine.bg.it";

use dispatch_support::coop_settings as settings;

use dispatch_support::coop_intake as intake;

/// The rows of `code`'s outbox whose key starts with `prefix`.
async fn rows(w: &World, code: RequestCode, prefix: &str) -> Vec<OutboxRow> {
    w.outbox(code)
        .await
        .into_iter()
        .filter(|r| r.idempotency_key.starts_with(prefix))
        .collect()
}

async fn one(w: &World, code: RequestCode, prefix: &str) -> OutboxRow {
    let mut r = rows(w, code, prefix).await;
    assert_eq!(r.len(), 1, "one {prefix} row: {r:#?}");
    r.remove(0)
}

fn calendar_of(row: &OutboxRow) -> Calendar {
    match &row.payload {
        Payload::Telegram(p) => p.calendar.clone(),
        Payload::Email(e) => e.calendar.clone(),
    }
    .unwrap_or_else(|| panic!("no invitation in {}", row.idempotency_key))
}

fn email_to(row: &OutboxRow) -> String {
    match &row.payload {
        Payload::Email(e) => e.to.clone(),
        Payload::Telegram(_) => panic!("{} went by Telegram", row.idempotency_key),
    }
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

fn value(cal: &IcalCalendar, name: &str) -> String {
    let props = if name == "METHOD" {
        &cal.properties
    } else {
        &cal.events[0].properties
    };
    props
        .iter()
        .find(|p| p.name == name)
        .and_then(|p| p.value.clone())
        .unwrap_or_else(|| panic!("no {name}"))
}

/// (METHOD, UID, SEQUENCE, DTSTART) of an invitation.
fn event(row: &OutboxRow) -> (String, String, u32, String) {
    let c = calendar_of(row);
    let cal = parse(&c.ics);
    let method = value(&cal, "METHOD");
    assert_eq!(method, c.method, "METHOD as in the MIME type");
    (
        method,
        value(&cal, "UID"),
        value(&cal, "SEQUENCE").parse().unwrap(),
        value(&cal, "DTSTART"),
    )
}

/// The [Va bene] / [Non posso] buttons of the mediator's question: labels and the timer.
fn question_buttons(row: &OutboxRow) -> (Vec<String>, i64) {
    let Payload::Telegram(p) = &row.payload else {
        panic!("the question goes by Telegram");
    };
    let labels = p.buttons[0].iter().map(|b| b.text.clone()).collect();
    let timer = p.buttons[0][0]
        .data
        .strip_prefix("chok:")
        .and_then(|t| t.parse().ok())
        .expect("chok:<timer>");
    assert_eq!(p.buttons[0][1].data, format!("chno:{timer}"));
    (labels, timer)
}

/// A request for Thursday 11 March 10:00 (90 minutes), offered and accepted by `who`.
async fn assigned(w: &World, tg: &[(&str, i64)]) -> (RequestCode, i64, i64) {
    let mut ids = Vec::new();
    for (name, chat) in tg {
        ids.push(w.mediator(name, *chat, &["ar"]).await.id);
    }
    let code = w.request("ar", d(2027, 3, 11), t(10, 0), 90, None).await;
    w.dispatcher.dispatch(code).await.unwrap();
    let id = w.store.request(code).await.unwrap().id;
    let offer = w
        .store
        .offers_for_request(id)
        .await
        .unwrap()
        .into_iter()
        .find(|o| o.mediator_id == ids[0])
        .expect("the first mediator is offered the job");
    assert!(matches!(
        w.dispatcher.accept(offer.id, ids[0]).await.unwrap(),
        AcceptOutcome::Assigned { .. }
    ));
    (code, id, ids[0])
}

fn friday_at_11() -> When {
    When {
        date: d(2027, 3, 12),
        start: t(11, 0),
        duration_minutes: None,
    }
}

async fn world(now: DateTime<Utc>, s: DispatchSettings, db: &common::TestDb) -> World {
    World::new(db.store.clone(), now, s).await
}

both_backends!(the_mediator_agrees_to_the_new_time, |db| async move {
    let w = world(at_rome(2027, 3, 1, 9, 0), settings(), &db).await;
    let (code, id, samira) = assigned(&w, &[("Samira", 101)]).await;
    let confirmation = event(&one(&w, code, "confirm:").await);
    w.clock.advance(Duration::hours(1));

    let r = w.dispatcher.reschedule(code, friday_at_11()).await.unwrap();
    assert_eq!(r.request.code, code, "the request keeps its code");
    assert!(!r.late, "ten days ahead");
    let req = w.store.request(code).await.unwrap();
    assert_eq!(req.status, RequestStatus::Assigned);
    assert_eq!(
        (req.date, req.start_time),
        (Some(d(2027, 3, 12)), Some(t(11, 0)))
    );
    assert_eq!(req.starts_at, Some(at_rome(2027, 3, 12, 11, 0)));
    assert!(!req.late_change);
    // The mediator is asked, in words, with two buttons.
    let q = one(&w, code, "changeq:").await;
    assert_eq!(chat_of(&q), Some(101));
    let text = text_of(&q);
    assert!(
        text.contains(&code.to_string()) && text.contains("venerdì 12 marzo, 11:00"),
        "{text}"
    );
    assert!(text.contains("Ti va ancora bene?"), "{text}");
    let (labels, timer) = question_buttons(&q);
    assert_eq!(labels, vec!["Va bene", "Non posso"]);
    // The requester is told on her thread that the mediator is being asked.
    let told = one(&w, code, "resched:").await;
    assert_eq!(email_to(&told), REQUESTER);
    let text = text_of(&told);
    assert!(
        text.contains("nuovo orario, venerdì 12 marzo, 11:00")
            && text.contains("Chiediamo a Samira se può ancora venire"),
        "{text}"
    );
    // The old reminders are gone until she answers.
    let pending = w.store.pending_timers(id).await.unwrap();
    assert_eq!(
        pending.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
        vec!["change_answer"],
        "{pending:?}"
    );

    w.clock.advance(Duration::minutes(5));
    let a = w
        .dispatcher
        .answer_change(timer, samira, true)
        .await
        .unwrap();
    assert!(matches!(a, ChangeAnswer::Kept(_)), "{a:?}");
    // Both hear the new time, with the same event moved: same UID, higher SEQUENCE.
    let changed = rows(&w, code, "changed:").await;
    assert_eq!(changed.len(), 2, "{changed:#?}");
    for row in &changed {
        assert!(
            text_of(row).contains("venerdì 12 marzo, 11:00"),
            "{}",
            text_of(row)
        );
        let (method, uid, seq, start) = event(row);
        assert_eq!(method, "REQUEST");
        assert_eq!(uid, confirmation.1, "one event for the whole life");
        assert!(seq > confirmation.2, "{seq} > {}", confirmation.2);
        assert_eq!(start, "20270312T110000");
    }
    assert!(changed.iter().any(|r| chat_of(r) == Some(101)));
    assert!(
        changed
            .iter()
            .any(|r| chat_of(r).is_none() && email_to(r) == REQUESTER)
    );
    let kinds: Vec<String> = w
        .store
        .pending_timers(id)
        .await
        .unwrap()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert!(
        kinds.contains(&"reminder_day_before".to_string())
            && kinds.contains(&"after_end".to_string()),
        "reminders for the new time: {kinds:?}"
    );
    // A second press is no longer a question.
    let again = w
        .dispatcher
        .answer_change(timer, samira, false)
        .await
        .unwrap();
    assert_eq!(again, ChangeAnswer::Stale);
    assert_eq!(w.status(code).await, RequestStatus::Assigned);
    // Nobody else may answer for her.
    let other = w.mediator("Nadia", 102, &["ar"]).await;
    w.dispatcher
        .reschedule(
            code,
            When {
                start: t(12, 0),
                ..friday_at_11()
            },
        )
        .await
        .unwrap();
    let q2 = rows(&w, code, "changeq:").await;
    let (_, timer2) = question_buttons(q2.last().unwrap());
    let refused = w.dispatcher.answer_change(timer2, other.id, true).await;
    assert!(refused.is_err(), "{refused:?}");
    assert_eq!(
        w.store.pending_timers(id).await.unwrap()[0].0,
        "change_answer",
        "the question is still open"
    );
});

both_backends!(
    the_mediator_declines_and_the_request_is_offered_again,
    |db| async move {
        let w = world(at_rome(2027, 3, 1, 9, 0), settings(), &db).await;
        let (code, id, samira) = assigned(&w, &[("Samira", 101), ("Nadia", 102)]).await;
        let nadia = w
            .store
            .offers_for_request(id)
            .await
            .unwrap()
            .into_iter()
            .find(|o| o.mediator_id != samira)
            .expect("Nadia was offered the old time too")
            .mediator_id;
        let confirmation = event(&one(&w, code, "confirm:").await);
        w.clock.advance(Duration::hours(1));
        w.dispatcher.reschedule(code, friday_at_11()).await.unwrap();
        let (_, timer) = question_buttons(&one(&w, code, "changeq:").await);
        w.clock.advance(Duration::minutes(5));

        let a = w
            .dispatcher
            .answer_change(timer, samira, false)
            .await
            .unwrap();
        assert!(matches!(a, ChangeAnswer::Left(_)), "{a:?}");
        let assignments = w.store.assignments_for_request(id).await.unwrap();
        assert_eq!(assignments[0].status, AssignmentStatus::Released);
        // Samira: it is no longer hers, and her calendar drops the event.
        let released = one(&w, code, "released:").await;
        assert_eq!(chat_of(&released), Some(101));
        assert!(
            text_of(&released).contains("non serve andare"),
            "{}",
            text_of(&released)
        );
        let (method, uid, seq, _) = event(&released);
        assert_eq!(method, "CANCEL");
        assert_eq!(uid, confirmation.1);
        assert!(seq > confirmation.2);
        // Laura hears it in words.
        let told = one(&w, code, "requeued:").await;
        assert_eq!(email_to(&told), REQUESTER);
        let text = text_of(&told);
        assert!(
            text.contains("Samira non può venire al nuovo orario, venerdì 12 marzo, 11:00")
                && text.contains("Cerchiamo un altro mediatore"),
            "{text}"
        );
        // Offered again at once, to Nadia (asked for the old time), never to Samira.
        let req = w.store.request(code).await.unwrap();
        assert_eq!(req.status, RequestStatus::Offered);
        assert_eq!(req.assigned_mediator_id, None);
        let open: Vec<_> = w
            .store
            .offers_for_request(id)
            .await
            .unwrap()
            .into_iter()
            .filter(|o| o.state == OfferState::Open)
            .collect();
        assert_eq!(
            open.iter().map(|o| o.mediator_id).collect::<Vec<_>>(),
            vec![nadia]
        );
        let offer_row = w
            .outbox(code)
            .await
            .into_iter()
            .find(|r| r.idempotency_key == format!("offer:{}", open[0].id))
            .expect("the new offer");
        assert!(
            text_of(&offer_row).contains("venerdì 12 marzo, 11:00"),
            "{}",
            text_of(&offer_row)
        );
        assert!(
            calendar_of_opt(&offer_row).is_none(),
            "offers carry no invitation"
        );

        w.clock.advance(Duration::minutes(5));
        assert!(matches!(
            w.dispatcher.accept(open[0].id, nadia).await.unwrap(),
            AcceptOutcome::Assigned { .. }
        ));
        let confirms = rows(&w, code, "confirm:").await;
        assert_eq!(confirms.len(), 2);
        let newest = confirms
            .iter()
            .find(|r| text_of(r).contains("Nadia"))
            .expect("Nadia confirmed");
        let (method, uid, seq2, start) = event(newest);
        assert_eq!(method, "REQUEST");
        assert_eq!(uid, confirmation.1, "the same event");
        assert!(seq2 > seq, "newer than the CANCEL Samira got");
        assert_eq!(start, "20270312T110000");
    }
);

fn calendar_of_opt(row: &OutboxRow) -> Option<Calendar> {
    match &row.payload {
        Payload::Telegram(p) => p.calendar.clone(),
        Payload::Email(e) => e.calendar.clone(),
    }
}

both_backends!(
    nobody_answers_in_time_and_a_late_change_is_flagged,
    |db| async move {
        // Wednesday 10 March at noon: the appointment is tomorrow at 10:00, 22 hours away.
        let w = world(at_rome(2027, 3, 1, 9, 0), settings(), &db).await;
        let (code, id, _samira) = assigned(&w, &[("Samira", 101)]).await;
        w.clock.set(at_rome(2027, 3, 10, 12, 0));
        let r = w
            .dispatcher
            .reschedule(
                code,
                When {
                    date: d(2027, 3, 11),
                    start: t(15, 0),
                    duration_minutes: Some(60),
                },
            )
            .await
            .unwrap();
        assert!(r.late, "22 hours before the old appointment");
        let req = w.store.request(code).await.unwrap();
        assert!(req.late_change, "flagged as a late cancellation is");
        assert_eq!(req.duration_minutes, Some(60));
        assert_eq!(req.ends_at, Some(at_rome(2027, 3, 11, 16, 0)));
        let q = one(&w, code, "changeq:").await;
        assert!(text_of(&q).contains("meno di 24 ore"), "{}", text_of(&q));
        let told = one(&w, code, "resched:").await;
        assert!(
            text_of(&told).contains("meno di 24 ore di preavviso"),
            "{}",
            text_of(&told)
        );
        // Not yet: the answer has the offer's time.
        w.clock.advance(Duration::minutes(59));
        w.dispatcher.run_due_timers().await.unwrap();
        assert_eq!(w.status(code).await, RequestStatus::Assigned);
        w.clock.advance(Duration::minutes(2));
        w.dispatcher.run_due_timers().await.unwrap();
        let assignments = w.store.assignments_for_request(id).await.unwrap();
        assert_eq!(assignments[0].status, AssignmentStatus::Released);
        let released = one(&w, code, "released:").await;
        assert!(
            text_of(&released).contains("non abbiamo avuto risposta sul nuovo orario"),
            "{}",
            text_of(&released)
        );
        assert_eq!(event(&released).0, "CANCEL");
        let told = one(&w, code, "requeued:").await;
        assert!(
            text_of(&told)
                .contains("Samira non ha confermato il nuovo orario, giovedì 11 marzo, 15:00"),
            "{}",
            text_of(&told)
        );
        // Nobody else speaks Arabic: the coordinators are alerted.
        assert_eq!(w.status(code).await, RequestStatus::Escalated);
        let alert = w
            .outbox(code)
            .await
            .into_iter()
            .find(|r| r.idempotency_key.starts_with("esc:"))
            .expect("the coordinators are alerted");
        assert_eq!(chat_of(&alert), Some(900));
        // A press after the time is no longer a question.
        let (_, timer) = question_buttons(&q);
        let late_press = w
            .dispatcher
            .answer_change(timer, assignments[0].mediator_id, true)
            .await
            .unwrap();
        assert_eq!(late_press, ChangeAnswer::Stale);
    }
);

fn rosa_replies(code: RequestCode, n: u32, in_reply_to: &str, text: &str) -> Vec<u8> {
    format!(
        "From: Rosa Esposito <rosa.esposito@comune.dalmine.bg.it>\r\nTo: info@coop.example\r\nSubject: Re: [{code}] Nuovo orario\r\n\
         Message-ID: <rosa-{n}@comune.dalmine.bg.it>\r\nIn-Reply-To: {in_reply_to}\r\n\
         Date: Mon, 1 Mar 2027 11:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         {text}\r\nRosa\r\n"
    )
    .into_bytes()
}

both_backends!(
    a_mediator_reached_by_email_is_asked_by_email_and_answers_by_replying,
    |db| async move {
        let w = world(at_rome(2027, 3, 1, 9, 0), settings(), &db).await;
        // Rosa reads email only, at an address of an allowed domain (it is still hers, a
        // mediator's: her replies answer, never edit the request): assigned by hand.
        let rosa = w
            .store
            .add_mediator(
                &connecting::store::NewMediator {
                    name: "Rosa Esposito".into(),
                    phone: None,
                    email: Some("rosa.esposito@comune.dalmine.bg.it".into()),
                    telegram_id: None,
                    gender: None,
                    languages: vec![connecting::domain::LanguageCode::parse("ar").unwrap()],
                    ambiti: vec![connecting::domain::Ambito::parse("Dalmine").unwrap()],
                    availability: None,
                    share_phone: false,
                },
                w.clock_now(),
            )
            .await
            .unwrap();
        let code = w.request("ar", d(2027, 3, 11), t(10, 0), 90, None).await;
        w.dispatcher.assign(code, rosa.id, "cli").await.unwrap();
        let details = event(&rows(&w, code, "details:").await.remove(0));
        w.clock.advance(Duration::hours(1));
        let intake = intake(&w);

        // 1. Moved to Friday at 11: she is asked by email, with how to answer in words.
        let r = w.dispatcher.reschedule(code, friday_at_11()).await.unwrap();
        assert_eq!(r.asking.map(|m| m.id), Some(rosa.id));
        let q = one(&w, code, "changeq:").await;
        assert_eq!(email_to(&q), "rosa.esposito@comune.dalmine.bg.it");
        let Payload::Email(e) = &q.payload else {
            panic!("by email")
        };
        assert!(
            e.body.contains("venerdì 12 marzo, 11:00")
                && e.body.contains("Ti va ancora bene?")
                && e.body
                    .contains("rispondi a questa email scrivendo «va bene»"),
            "{}",
            e.body
        );
        assert!(e.subject.contains(&code.to_string()), "{}", e.subject);
        // Anything else she writes is kept for the coordinators and changes nothing.
        let out = intake
            .process(&rosa_replies(
                code,
                1,
                &e.message_id,
                "Ciao, a che piano è lo studio?",
            ))
            .await
            .unwrap();
        assert!(
            matches!(&out, Outcome::Recorded { kind } if kind == "mediator_reply"),
            "{out:?}"
        );
        assert_eq!(w.status(code).await, RequestStatus::Assigned);
        assert!(rows(&w, code, "changed:").await.is_empty());
        // "Va bene": she keeps it; both hear the new time with the event moved.
        let out = intake
            .process(&rosa_replies(code, 2, &e.message_id, "Va bene, grazie!"))
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Updated { .. }), "{out:?}");
        assert_eq!(w.status(code).await, RequestStatus::Assigned);
        let changed = rows(&w, code, "changed:").await;
        assert_eq!(changed.len(), 2, "{changed:#?}");
        let to: Vec<String> = changed.iter().map(email_to).collect();
        assert!(
            to.contains(&"rosa.esposito@comune.dalmine.bg.it".to_string()),
            "{to:?}"
        );
        for row in &changed {
            let (method, uid, seq, start) = event(row);
            assert_eq!(
                (method.as_str(), start.as_str()),
                ("REQUEST", "20270312T110000")
            );
            assert_eq!(uid, details.1);
            assert!(seq > details.2);
        }
        // Her mail never changed the request's fields.
        let req = w.store.request(code).await.unwrap();
        assert_eq!(
            (req.date, req.start_time),
            (Some(d(2027, 3, 12)), Some(t(11, 0)))
        );

        // 2. Moved again to Monday 15 March at 9; "Non posso": the request goes back to the
        // queue, she gets the invitation's CANCEL, the requester is told.
        w.clock.advance(Duration::hours(1));
        w.dispatcher
            .reschedule(
                code,
                When {
                    date: d(2027, 3, 15),
                    start: t(9, 0),
                    duration_minutes: None,
                },
            )
            .await
            .unwrap();
        let q2 = rows(&w, code, "changeq:").await;
        assert_eq!(q2.len(), 2);
        let Payload::Email(e2) = &q2[1].payload else {
            panic!("by email")
        };
        let out = intake
            .process(&rosa_replies(
                code,
                3,
                &e2.message_id,
                "Purtroppo non posso lunedì mattina.",
            ))
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Updated { .. }), "{out:?}");
        let req = w.store.request(code).await.unwrap();
        assert_ne!(req.assigned_mediator_id, Some(rosa.id));
        assert!(
            matches!(
                req.status,
                RequestStatus::Queued | RequestStatus::Offered | RequestStatus::Escalated
            ),
            "{:?}",
            req.status
        );
        let told = one(&w, code, "requeued:").await;
        assert_eq!(email_to(&told), REQUESTER);
        // A second answer to a question already answered changes nothing.
        let out = intake
            .process(&rosa_replies(code, 4, &e2.message_id, "Va bene"))
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Recorded { .. }), "{out:?}");
        assert_ne!(
            w.store.request(code).await.unwrap().assigned_mediator_id,
            Some(rosa.id)
        );
    }
);

both_backends!(
    a_mediator_with_neither_telegram_nor_email_keeps_the_job_and_the_coordinators_check,
    |db| async move {
        let w = world(at_rome(2027, 3, 1, 9, 0), settings(), &db).await;
        // Rosa has a phone only: assigned by hand, she cannot be asked.
        let rosa = w
            .store
            .add_mediator(
                &connecting::store::NewMediator {
                    name: "Rosa Esposito".into(),
                    phone: Some("+39 333 1000009".into()),
                    email: None,
                    telegram_id: None,
                    gender: None,
                    languages: vec![connecting::domain::LanguageCode::parse("ar").unwrap()],
                    ambiti: vec![connecting::domain::Ambito::parse("Dalmine").unwrap()],
                    availability: None,
                    share_phone: false,
                },
                w.clock_now(),
            )
            .await
            .unwrap();
        let code = w.request("ar", d(2027, 3, 11), t(10, 0), 90, None).await;
        let id = w.store.request(code).await.unwrap().id;
        w.dispatcher.assign(code, rosa.id, "cli").await.unwrap();
        // she has no channel: the requester's invitation is the event
        let details = event(&rows(&w, code, "confirm:").await.remove(0));
        w.clock.advance(Duration::hours(1));

        let r = w.dispatcher.reschedule(code, friday_at_11()).await.unwrap();
        assert!(
            r.asking.is_none(),
            "nobody is asked a question they cannot answer"
        );
        assert!(rows(&w, code, "changeq:").await.is_empty());
        assert_eq!(w.status(code).await, RequestStatus::Assigned);
        // The requester hears the new time with the event moved (Rosa has no channel).
        let changed = rows(&w, code, "changed:").await;
        assert_eq!(changed.len(), 1, "{changed:#?}");
        for row in &changed {
            assert!(
                text_of(row).contains("venerdì 12 marzo, 11:00"),
                "{}",
                text_of(row)
            );
            let (method, uid, seq, start) = event(row);
            assert_eq!(
                (method.as_str(), start.as_str()),
                ("REQUEST", "20270312T110000")
            );
            assert_eq!(uid, details.1);
            assert!(seq > details.2);
        }
        let to: Vec<String> = changed.iter().map(email_to).collect();
        assert_eq!(to, vec![REQUESTER.to_string()]);
        // The coordinators are asked to check with her, in words.
        let alert = w
            .outbox(code)
            .await
            .into_iter()
            .find(|r| text_of(r).contains("non usa Telegram"))
            .expect("the coordinators are alerted");
        assert_eq!(chat_of(&alert), Some(900));
        let text = text_of(&alert);
        assert!(
            text.contains(&code.to_string())
                && text.contains("Rosa Esposito")
                && text.contains("venerdì 12 marzo, 11:00"),
            "{text}"
        );
        // Reminders for the new time, no question waiting.
        let kinds: Vec<String> = w
            .store
            .pending_timers(id)
            .await
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert!(
            kinds.contains(&"reminder_day_before".to_string())
                && !kinds.contains(&"change_answer".to_string()),
            "{kinds:?}"
        );
    }
);

both_backends!(
    an_unassigned_request_just_takes_the_new_time,
    |db| async move {
        let w = world(at_rome(2027, 3, 1, 9, 0), settings(), &db).await;
        let samira = w.mediator("Samira", 101, &["ar"]).await;
        let code = w.request("ar", d(2027, 3, 11), t(10, 0), 90, None).await;
        w.dispatcher.dispatch(code).await.unwrap();
        let id = w.store.request(code).await.unwrap().id;
        let first = w.store.offers_for_request(id).await.unwrap();
        assert_eq!(first.len(), 1);
        w.clock.advance(Duration::minutes(10));
        let r = w.dispatcher.reschedule(code, friday_at_11()).await.unwrap();
        assert_eq!(r.asking, None);
        assert_eq!(r.request.status, RequestStatus::Queued);
        let offers = w.store.offers_for_request(id).await.unwrap();
        assert_eq!(
            offers[0].state,
            OfferState::Withdrawn,
            "the old time's offer"
        );
        let told = one(&w, code, "resched:").await;
        assert!(
            text_of(&told).contains("Cerchiamo un mediatore disponibile"),
            "{}",
            text_of(&told)
        );
        // The next round asks Samira again, for the new time.
        w.dispatcher.dispatch_queued().await.unwrap();
        let offers = w.store.offers_for_request(id).await.unwrap();
        let open: Vec<_> = offers
            .iter()
            .filter(|o| o.state == OfferState::Open)
            .collect();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].mediator_id, samira.id);
        let row = w
            .outbox(code)
            .await
            .into_iter()
            .find(|r| r.idempotency_key == format!("offer:{}", open[0].id))
            .unwrap();
        assert!(
            text_of(&row).contains("venerdì 12 marzo, 11:00"),
            "{}",
            text_of(&row)
        );
        // A request that is not the requester's cannot be moved by someone else.
        let stranger = connecting::authz::Actor::Operator {
            id: None,
            email: Some("someone@comune.example.it".into()),
            chat_id: None,
            active: true,
        };
        let e = w
            .dispatcher
            .reschedule_as(
                code,
                &stranger,
                When {
                    start: t(9, 0),
                    ..friday_at_11()
                },
            )
            .await;
        assert!(e.is_err(), "{e:?}");
        // Nor to a time already past.
        let past = w
            .dispatcher
            .reschedule(
                code,
                When {
                    date: d(2027, 2, 26),
                    ..friday_at_11()
                },
            )
            .await;
        assert!(past.is_err(), "{past:?}");
        assert_eq!(
            w.store.request(code).await.unwrap().start_time,
            Some(t(11, 0)),
            "nothing changed"
        );
    }
);

fn reply(code: RequestCode, id: &str, text: &str) -> Vec<u8> {
    format!(
        "From: Laura Rossi <{REQUESTER}>\r\nTo: info@coop.example\r\nSubject: Re: [{code}] Richiesta mediatrice\r\n\
         Message-ID: <{id}>\r\nIn-Reply-To: <req-1@comune.dalmine.bg.it>\r\n\
         Date: Mon, 1 Mar 2027 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         {text}\r\nLaura\r\n"
    )
    .into_bytes()
}

both_backends!(
    the_requester_reschedules_by_an_email_reply,
    |db| async move {
        let w = world(at_rome(2027, 3, 1, 9, 0), settings(), &db).await;
        let (code, _id, samira) = assigned(&w, &[("Samira", 101)]).await;
        w.clock.advance(Duration::hours(1));
        let intake = intake(&w);
        // A date without a wish to move it changes nothing.
        let out = intake
            .process(&reply(
                code,
                "r1@comune.dalmine.bg.it",
                "Grazie, ci vediamo giovedì alle 10.",
            ))
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Recorded { .. }), "{out:?}");
        assert!(rows(&w, code, "changeq:").await.is_empty());
        // "Spostiamo a venerdì alle 11": the core's reschedule.
        let out = intake
            .process(&reply(
                code,
                "r2@comune.dalmine.bg.it",
                "Buongiorno, per un imprevisto spostiamo a venerdì alle 11. Grazie",
            ))
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Updated { .. }), "{out:?}");
        let req = w.store.request(code).await.unwrap();
        assert_eq!(
            (req.date, req.start_time),
            (Some(d(2027, 3, 5)), Some(t(11, 0))),
            "the coming Friday"
        );
        let told = one(&w, code, "resched:").await;
        let Payload::Email(e) = &told.payload else {
            panic!("by email")
        };
        assert_eq!(e.to, REQUESTER);
        assert_eq!(
            e.in_reply_to.as_deref(),
            Some("<req-1@comune.dalmine.bg.it>"),
            "on her thread"
        );
        assert!(e.body.contains("venerdì 5 marzo, 11:00"), "{}", e.body);
        let (_, timer) = question_buttons(&one(&w, code, "changeq:").await);
        let a = w
            .dispatcher
            .answer_change(timer, samira, true)
            .await
            .unwrap();
        assert!(matches!(a, ChangeAnswer::Kept(_)));
        assert_eq!(rows(&w, code, "changed:").await.len(), 2);
    }
);

both_backends!(
    the_unfilled_notice_goes_once_at_the_configured_time,
    |db| async move {
        let w = world(
            at_rome(2027, 3, 1, 9, 0),
            DispatchSettings {
                unfilled_notice_hours: 30,
                ..settings()
            },
            &db,
        )
        .await;
        // Nobody speaks Tigrinya: escalated at once; one request by email, one by Telegram.
        let by_email = w.request("ti", d(2027, 3, 11), t(10, 0), 90, None).await;
        let by_bot = w
            .request_with("ti", d(2027, 3, 11), t(10, 0), 60, |r| {
                r.channel = Some(Channel::Telegram);
                r.requester_chat_id = Some(4242);
                r.requester_email = None;
                r.source_message_id = None;
            })
            .await;
        w.dispatcher.dispatch_queued().await.unwrap();
        assert_eq!(w.status(by_email).await, RequestStatus::Escalated);
        assert_eq!(w.dispatcher.run_unfilled_notices().await.unwrap(), 0);
        // 30 hours before Thursday 10:00 is Wednesday 04:00.
        w.clock.set(at_rome(2027, 3, 10, 3, 59));
        assert_eq!(w.dispatcher.run_unfilled_notices().await.unwrap(), 0);
        assert!(rows(&w, by_email, "unfilled:").await.is_empty());
        w.clock.set(at_rome(2027, 3, 10, 4, 0));
        assert_eq!(w.dispatcher.run_unfilled_notices().await.unwrap(), 2);
        for code in [by_email, by_bot] {
            let notices = rows(&w, code, "unfilled:").await;
            let (to_requester, alerts): (Vec<_>, Vec<_>) = notices
                .into_iter()
                .partition(|r| !r.idempotency_key.contains(":coord:"));
            assert_eq!(to_requester.len(), 1, "once: {to_requester:#?}");
            assert_eq!(alerts.len(), 1, "the coordinator is alerted");
            assert_eq!(chat_of(&alerts[0]), Some(900));
            assert!(
                text_of(&alerts[0]).contains("ancora nessun mediatore confermato"),
                "{}",
                text_of(&alerts[0])
            );
            let text = text_of(&to_requester[0]);
            assert!(
                text.contains("non abbiamo ancora un mediatore confermato")
                    && text.contains("giovedì 11 marzo, 10:00")
                    && text.contains("sta cercando")
                    && text.contains("annullare"),
                "{text}"
            );
            assert!(
                w.store
                    .request(code)
                    .await
                    .unwrap()
                    .unfilled_notice_at
                    .is_some()
            );
        }
        // In the requester's channel.
        let mail = rows(&w, by_email, "unfilled:")
            .await
            .into_iter()
            .find(|r| !r.idempotency_key.contains(":coord:"))
            .unwrap();
        let Payload::Email(e) = &mail.payload else {
            panic!("by email")
        };
        assert_eq!(e.to, REQUESTER);
        assert!(
            e.subject.contains("nessun mediatore confermato"),
            "{}",
            e.subject
        );
        let tg = rows(&w, by_bot, "unfilled:")
            .await
            .into_iter()
            .find(|r| !r.idempotency_key.contains(":coord:"))
            .unwrap();
        assert_eq!(chat_of(&tg), Some(4242));
        // Once: later rounds send nothing more.
        w.clock.advance(Duration::hours(3));
        assert_eq!(w.dispatcher.run_unfilled_notices().await.unwrap(), 0);
        assert_eq!(rows(&w, by_email, "unfilled:").await.len(), 2);
    }
);

both_backends!(
    the_requester_reschedules_by_bot_and_the_mediator_taps_va_bene,
    |db| async move {
        let configure: world::Configure = Arc::new(|_, s| {
            s.dispatch.message_id_domain = "coop.example".into();
            s.dispatch.organizer = Some(Party {
                name: "Cooperativa Esempio".into(),
                email: Some("info@coop.example".into()),
            });
        });
        let mut w = world::World::configured(db, Some(configure)).await;
        let op = w.operator("Giulia Rossi", Some(600)).await;
        w.mediator("Samira Haddad", 610).await;
        let r = w
            .say(
                600,
                "Serve una mediatrice di lingua araba per un colloquio l'11/03 alle 10, durata 2 ore, in presenza a Dalmine",
            )
            .await;
        let r = w.press(&r, "Conferma").await;
        let code = RequestCode::find_in(&r.text).unwrap_or_else(|| panic!("no code in {}", r.text));
        let offer = w.reply(610).await;
        w.fake.press(&offer, "Accetto").unwrap();
        let details = w
            .fake
            .wait_for(610, world::WAIT, |m| m.document.is_some())
            .await
            .expect("the details with the invitation");
        let first = parse(&details.document.clone().unwrap().text());
        let confirmation = w.reply(600).await;
        assert!(
            confirmation.text.contains("Samira Haddad"),
            "{}",
            confirmation.text
        );

        // Usage, an unreadable time, someone else's request.
        let u = w.say(600, "/modifica").await;
        assert!(
            u.text.contains("/modifica MED-2027-0042 giovedì alle 11"),
            "{}",
            u.text
        );
        let u = w
            .say(600, &format!("/modifica {code} appena possibile"))
            .await;
        assert!(
            u.text.contains("Non ho capito la nuova data o ora"),
            "{}",
            u.text
        );
        let u = w
            .say(600, &format!("/modifica {code} 26/02/2027 alle 9"))
            .await;
        assert!(u.text.contains("già passate"), "{}", u.text);
        w.operator("Marco Bianchi", Some(700)).await;
        let u = w
            .say(700, &format!("/modifica {code} venerdì alle 9"))
            .await;
        assert!(u.text.contains("Non trovo la richiesta"), "{}", u.text);

        w.clock.advance(chrono::Duration::hours(1));
        w.fake
            .push_text(600, &format!("/modifica {code} venerdì 12 marzo alle 11"));
        let told = w.reply(600).await;
        assert!(
            told.text.contains("nuovo orario, venerdì 12 marzo, 11:00")
                && told.text.contains("Chiediamo a Samira Haddad"),
            "{}",
            told.text
        );
        let q = w
            .fake
            .wait_for(610, world::WAIT, |m| !m.buttons.is_empty())
            .await
            .expect("the question");
        assert!(
            q.text.contains("spostato a venerdì 12 marzo, 11:00"),
            "{}",
            q.text
        );
        assert_eq!(q.labels(), vec!["Va bene", "Non posso"]);
        let pressed = w.fake.press(&q, "Va bene").unwrap();
        let answer = w.answer(&pressed).await.unwrap_or_default();
        assert!(answer.contains("nuovo orario è confermato"), "{answer}");
        let moved = w
            .fake
            .wait_for(610, world::WAIT, |m| m.document.is_some())
            .await
            .expect("the update with its invitation");
        assert!(
            moved.text.contains("venerdì 12 marzo, 11:00"),
            "{}",
            moved.text
        );
        let update = parse(&moved.document.clone().unwrap().text());
        assert_eq!(value(&update, "METHOD"), "REQUEST");
        assert_eq!(value(&update, "UID"), value(&first, "UID"));
        assert!(
            value(&update, "SEQUENCE").parse::<u32>().unwrap()
                > value(&first, "SEQUENCE").parse::<u32>().unwrap()
        );
        assert_eq!(value(&update, "DTSTART"), "20270312T110000");
        let hers = w.reply(600).await;
        assert!(
            hers.text.contains("è cambiata") && hers.text.contains("venerdì 12 marzo, 11:00"),
            "{}",
            hers.text
        );
        let req = w.store().request(code).await.unwrap();
        assert_eq!(req.code, code);
        assert_eq!(req.operator_id, Some(op));
        assert_eq!(req.start_time, Some(t(11, 0)));
        w.stop().await;
    }
);

/// The `text/calendar` part of a delivered message, parsed.
fn delivered_invitation(raw: &[u8]) -> IcalCalendar {
    use mail_parser::MimeHeaders;
    let m = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a message");
    let ics = m
        .parts
        .iter()
        .find(|p| {
            p.content_type().is_some_and(|c| {
                c.ctype().eq_ignore_ascii_case("text")
                    && c.subtype()
                        .is_some_and(|s| s.eq_ignore_ascii_case("calendar"))
            }) && p.attachment_name().is_none()
        })
        .and_then(|p| p.text_contents())
        .expect("a text/calendar part")
        .to_string();
    parse(&ics)
}

fn letter_text(raw: &[u8]) -> String {
    connecting::channels::email::parse_email(raw, &connecting::channels::email::Limits::default())
        .unwrap()
        .text_plain
        .unwrap_or_default()
}

both_backends!(the_requester_reschedules_by_real_mail, |db| async move {
    use connecting::channels::email::imap::{ImapConfig, Poller, TlsMode};
    use connecting::channels::email::smtp::{SmtpConfig, SmtpTransport};
    use connecting::outbox::{OutboxWorker, RetryPolicy, Transports};
    use std::time::Duration as Wait;
    let servers = mail::MailServers::start(&["info", "laura.rossi"]);
    let w = world(at_rome(2027, 3, 1, 9, 0), settings(), &db).await;
    let (code, id, samira) = assigned(&w, &[("Samira", 101)]).await;
    let mut smtp = SmtpConfig::new(
        "127.0.0.1",
        servers.smtp_port,
        connecting::channels::email::smtp::TlsMode::None,
        "Cooperativa Esempio <info@coop.example>",
    );
    smtp.from_address = "info@coop.example".into();
    smtp.allow_plaintext = true;
    smtp.timeout = Wait::from_secs(10);
    let worker = OutboxWorker::new(
        w.store.clone(),
        Arc::new(w.clock.clone()),
        Transports {
            telegram: None,
            email: Some(Arc::new(SmtpTransport::new(&smtp).unwrap())),
        },
        RetryPolicy::default(),
    );
    while worker.run_once().await.unwrap().sent > 0 {}
    let got = servers
        .wait_for("laura.rossi", "INBOX", 1, Wait::from_secs(15))
        .await;
    let first = delivered_invitation(&got[0]);

    // Her reply, as her mail client sends it, lands in the cooperative's mailbox.
    w.clock.advance(Duration::hours(1));
    let mut imap = ImapConfig::new(
        "127.0.0.1",
        servers.imap_port,
        TlsMode::None,
        "info",
        mail::PASSWORD,
    );
    imap.allow_plaintext = true;
    imap.backoff_min = Wait::from_millis(50);
    imap.backoff_max = Wait::from_millis(500);
    imap.io_timeout = Wait::from_secs(10);
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(Poller::new(imap, Arc::new(intake(&w)), rx).run());
    servers
            .append(
                "info",
                "INBOX",
                &reply(
                    code,
                    "move-1@comune.dalmine.bg.it",
                    "Buongiorno, la famiglia non può giovedì: spostiamo a venerdì 12 marzo alle 11. Grazie",
                ),
            )
            .await;
    let deadline = std::time::Instant::now() + Wait::from_secs(20);
    while w.store.request(code).await.unwrap().start_time != Some(t(11, 0)) {
        assert!(
            std::time::Instant::now() < deadline,
            "the reply moved nothing"
        );
        tokio::time::sleep(Wait::from_millis(50)).await;
    }
    let _ = stop.send(true);
    let _ = task.await;
    let req = w.store.request(code).await.unwrap();
    assert_eq!((req.code, req.date), (code, Some(d(2027, 3, 12))));
    while worker.run_once().await.unwrap().sent > 0 {}
    let got = servers
        .wait_for("laura.rossi", "INBOX", 2, Wait::from_secs(15))
        .await;
    let notice = got
        .iter()
        .find(|m| letter_text(m).contains("nuovo orario"))
        .expect("the notice on her thread");
    let raw = String::from_utf8_lossy(notice);
    assert!(
        raw.contains("In-Reply-To: <req-1@comune.dalmine.bg.it>"),
        "{raw}"
    );
    let text = letter_text(notice);
    assert!(
        text.contains("venerdì 12 marzo, 11:00") && text.contains("Chiediamo a Samira"),
        "{text}"
    );

    // Samira agrees (on Telegram): Laura's calendar gets the same event, moved.
    let (_, timer) = question_buttons(&one(&w, code, "changeq:").await);
    w.dispatcher
        .answer_change(timer, samira, true)
        .await
        .unwrap();
    while worker.run_once().await.unwrap().sent > 0 {}
    let got = servers
        .wait_for("laura.rossi", "INBOX", 3, Wait::from_secs(15))
        .await;
    let update = got
        .iter()
        .find(|m| letter_text(m).contains("è cambiata"))
        .expect("the update");
    let cal = delivered_invitation(update);
    assert_eq!(value(&cal, "METHOD"), "REQUEST");
    assert_eq!(value(&cal, "UID"), value(&first, "UID"));
    assert!(
        value(&cal, "SEQUENCE").parse::<u32>().unwrap()
            > value(&first, "SEQUENCE").parse::<u32>().unwrap()
    );
    assert_eq!(value(&cal, "DTSTART"), "20270312T110000");
    assert_eq!(
        w.store.assignments_for_request(id).await.unwrap()[0].status,
        AssignmentStatus::Active
    );
});

both_backends!(
    the_console_marks_the_unfilled_and_reschedules_by_its_correction,
    |db| async move {
        let w = world(at_rome(2027, 3, 1, 9, 0), settings(), &db).await;
        let lonely = w.request("ti", d(2027, 3, 3), t(10, 0), 60, None).await;
        let (code, _id, _samira) = assigned(&w, &[("Samira", 101)]).await;
        w.dispatcher.dispatch_queued().await.unwrap();
        w.clock.set(at_rome(2027, 3, 2, 11, 0));
        assert_eq!(w.dispatcher.run_unfilled_notices().await.unwrap(), 1);
        let coordinator = w.store.coordinators().await.unwrap()[0].id;
        let c = web::Console::start(w.store.clone(), w.clock.clone(), false).await;
        let s = c
            .login(connecting::store::ConsoleRole::Coordinator, coordinator)
            .await;
        let home = c.get("/", Some(&s)).await;
        assert_eq!(home.status, 200);
        assert!(
            home.body
                .contains("nessun mediatore confermato: il richiedente è stato avvisato"),
            "{}",
            home.body
        );
        let page = c.get(&format!("/requests/{lonely}"), Some(&s)).await;
        assert!(
            page.body.contains("il richiedente è stato avvisato"),
            "{}",
            page.body
        );

        let out = c
            .post(
                &format!("/requests/{code}/fields"),
                Some(&s),
                &[("csrf", &s.csrf), ("start_time", "15:00")],
            )
            .await;
        assert!(out.status == 303 || out.status == 200, "{}", out.status);
        let page = c
            .get(&format!("/requests/{code}?outcome=rescheduled"), Some(&s))
            .await;
        assert!(page.body.contains("Nuovo orario salvato"), "{}", page.body);
        assert!(
            page.body.contains("spostata a un nuovo orario") && !page.body.contains("rescheduled"),
            "the history in words: {}",
            page.body
        );
        let req = w.store.request(code).await.unwrap();
        assert_eq!(req.start_time, Some(t(15, 0)));
        assert_eq!(req.status, RequestStatus::Assigned, "until Samira answers");
        let q = one(&w, code, "changeq:").await;
        assert!(
            text_of(&q).contains("giovedì 11 marzo, 15:00"),
            "{}",
            text_of(&q)
        );
        assert!(
            rows(&w, code, "changed:").await.is_empty(),
            "nothing moved in calendars yet"
        );
    }
);
