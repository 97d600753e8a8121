//! Each meeting of a series followed up on its own (issue 15, "Series of appointments"), as the
//! people read it, through the real bot (teloxide against the fake Bot API server) and the real
//! email intake, on SQLite and PostgreSQL:
//!
//! - a weekly series by email is accepted whole; one meeting is taken by a colleague who reads
//!   English;
//! - the day before each meeting, at the same local time (across the change of clocks on 28
//!   March), whoever holds that meeting is reminded of it, in their language, and nobody else;
//!   a moved meeting is reminded at its new time, never at its old one;
//! - after each meeting its holder is asked whether it took place, answers with the buttons
//!   ([Svolto] then the hours, [Non svolto] then who did not come); a colleague's button is
//!   refused, a second press changes nothing;
//! - the CLI's use case records a meeting for a coordinator; the requester is asked for the
//!   evaluation once, after the last meeting still on; when every meeting has its outcome the
//!   series is done and its assignment closed with the minutes worked;
//! - the monthly report counts the meetings held, not those recorded as not held.

#[path = "support/botapi.rs"]
mod botapi;
#[path = "support/common.rs"]
mod common;
#[path = "support/dispatch.rs"]
mod dispatch_support;
#[path = "support/world.rs"]
mod world;

use chrono::{DateTime, Utc};
use connecting::app::meetings::{MeetingReport, Recorded};
use connecting::app::series::{Change, Scope};
use connecting::authz::Actor;
use connecting::channels::email::Outcome;
use connecting::clock::Clock;
use connecting::config::Lang;
use connecting::domain::PersonKind;
use connecting::domain::{AssignmentStatus, NoShow, RequestStatus};
use dispatch_support::{at_rome, chat_of, d, t, text_of};
use std::sync::Arc;

const REQUESTER: &str = "laura.rossi@comune.dalmine.bg.it";

use dispatch_support::coop_settings as settings;

use dispatch_support::coop_intake as intake;

fn mail(id: &str, text: &str) -> Vec<u8> {
    format!(
        "From: Laura Rossi <{REQUESTER}>\r\nTo: info@coop.example\r\nSubject: Incontri protetti\r\n\
         Message-ID: <{id}>\r\nDate: Mon, 1 Mar 2027 09:00:00 +0100\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    )
    .into_bytes()
}

/// Both clocks (the bot's and the dispatcher's) to `to`, then the due timers fired.
async fn at(tg: &world::World, w: &dispatch_support::World, to: DateTime<Utc>) {
    let by = to - w.clock.now();
    w.clock.advance(by);
    tg.clock.advance(by);
    w.dispatcher.run_due_timers().await.unwrap();
}

/// The texts the outbox holds for Telegram chat `chat` whose key starts with `timer:` (the
/// reminders and the questions after a meeting), oldest first.
async fn timer_texts(
    w: &dispatch_support::World,
    code: connecting::domain::RequestCode,
    chat: i64,
) -> Vec<String> {
    w.outbox(code)
        .await
        .into_iter()
        .filter(|r| r.idempotency_key.starts_with("timer:") && chat_of(r) == Some(chat))
        .map(|r| text_of(&r).to_string())
        .collect()
}

both_backends!(
    each_meeting_of_a_series_is_reminded_and_answered_on_its_own,
    |db| async move {
        let store = db.store.clone();
        let mut tg = world::World::new(db).await;
        let w = dispatch_support::World::new(store.clone(), at_rome(2027, 3, 1, 9, 0), settings())
            .await;
        assert_eq!(tg.clock.now(), w.clock.now());
        let ids: Vec<i64> = vec![
            w.mediator("Samira", 1600, &["ar"]).await.id,
            w.mediator("Fatima", 1601, &["ar"]).await.id,
            w.mediator("Amina", 1602, &["ar"]).await.id,
        ];
        let tg_of = |id: i64| 1600 + ids.iter().position(|i| *i == id).unwrap() as i64;
        let out = intake(&w)
        .process(&mail(
            "serie-m@comune.dalmine.bg.it",
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
        let m1 = tg_of(first);

        // Meeting 2 (16 March) is taken by a colleague, who reads English.
        w.dispatcher
            .release_meeting_as(
                code,
                &Actor::Mediator {
                    id: first,
                    active: true,
                },
                2,
            )
            .await
            .unwrap();
        let meeting_offer = w
            .store
            .offers_for_request(id)
            .await
            .unwrap()
            .into_iter()
            .find(|o| o.id != offer.id)
            .expect("meeting 2 offered");
        let colleague = meeting_offer.mediator_id;
        store
            .set_language(PersonKind::Mediator, colleague, Some(Lang::En))
            .await
            .unwrap();
        w.dispatcher
            .accept(meeting_offer.id, colleague)
            .await
            .unwrap();
        let m2 = tg_of(colleague);

        // Meeting 3 (23 March) moves to Wednesday 24 March at 10; she is asked, and agrees.
        w.dispatcher
            .change_series_as(
                code,
                &Actor::Cli,
                3,
                Scope::One,
                Change::Move {
                    date: d(2027, 3, 24),
                    start: t(10, 0),
                },
            )
            .await
            .unwrap();
        let asked = tg
            .fake
            .wait_for(m1, world::WAIT, |m| m.button("Va bene").is_some())
            .await
            .expect("she is asked about the new time");
        assert!(
            asked.text.contains("mercoledì 24 marzo, 10:00")
                && asked.text.contains("Ti vanno ancora bene?"),
            "{}",
            asked.text
        );
        let pressed = tg.fake.press(&asked, "Va bene").unwrap();
        assert_eq!(
            tg.answer(&pressed).await.as_deref(),
            Some("Grazie: il nuovo orario è confermato.")
        );

        // 1. The day before meeting 1, at 15:00: its mediator, in Italian, about that meeting.
        at(&tg, &w, at_rome(2027, 3, 8, 14, 59)).await;
        assert!(timer_texts(&w, code, m1).await.is_empty());
        at(&tg, &w, at_rome(2027, 3, 8, 15, 1)).await;
        let r = timer_texts(&w, code, m1).await;
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(
            r[0].contains("Promemoria: domani, martedì 9 marzo, 15:00, incontro della serie")
                && r[0].contains(&code.to_string()),
            "{}",
            r[0]
        );
        let shown = tg
            .fake
            .wait_for(m1, world::WAIT, |m| m.text.contains("Promemoria"))
            .await
            .expect("the reminder reaches her phone");
        assert!(
            shown.text.contains("martedì 9 marzo, 15:00"),
            "{}",
            shown.text
        );
        // two hours before: once more
        at(&tg, &w, at_rome(2027, 3, 9, 13, 1)).await;
        let r = timer_texts(&w, code, m1).await;
        assert_eq!(r.len(), 2, "{r:?}");
        assert!(r[1].contains("oggi alle 15:00"), "{}", r[1]);

        // 2. After meeting 1: "si è svolto?" to her; [Svolto], then the hours.
        at(&tg, &w, at_rome(2027, 3, 9, 16, 1)).await;
        let q = tg
            .fake
            .wait_for(m1, world::WAIT, |m| m.button("Svolto").is_some())
            .await
            .expect("the question after meeting 1");
        assert!(
            q.text
                .contains("incontro di martedì 9 marzo, 15:00: si è svolto?"),
            "{}",
            q.text
        );
        assert_eq!(q.labels(), vec!["Svolto", "Non svolto"]);
        // a colleague pressing her button is refused; nothing is recorded
        let forged = tg
            .fake
            .push_callback(m2, m2, q.message_id, &q.button("Svolto").unwrap());
        assert_eq!(tg.answer(&forged).await.as_deref(), Some("Not authorised."));
        let pressed = tg.fake.press(&q, "Svolto").unwrap();
        assert_eq!(
            tg.answer(&pressed).await.as_deref(),
            Some("Grazie! Segnato come svolto.")
        );
        let again = tg.fake.press(&q, "Non svolto").unwrap();
        assert_eq!(
            tg.answer(&again).await.as_deref(),
            Some("Questo pulsante non è più valido.")
        );
        let hours = tg
            .fake
            .wait_for(m1, world::WAIT, |m| m.button("1,5 h").is_some())
            .await
            .expect("the hours question");
        let pressed = tg.fake.press(&hours, "1,5 h").unwrap();
        assert_eq!(
            tg.answer(&pressed).await.as_deref(),
            Some("Grazie! Segnate 1,5 ore.")
        );
        let req = w.store.request(code).await.unwrap();
        let one = req.series.as_ref().unwrap().occurrences[0]
            .outcome
            .expect("recorded");
        assert!(one.done && one.worked_minutes == Some(90), "{one:?}");
        // not the last meeting: no evaluation yet, the series goes on
        assert!(
            w.outbox(code)
                .await
                .iter()
                .all(|r| !r.idempotency_key.starts_with("eval:"))
        );
        assert_eq!(req.status, RequestStatus::Assigned);

        // 3. Meeting 2 is the colleague's: her reminder, in English; nothing to the series' mediator.
        let before = timer_texts(&w, code, m1).await.len();
        at(&tg, &w, at_rome(2027, 3, 15, 15, 1)).await;
        let theirs = timer_texts(&w, code, m2).await;
        assert_eq!(theirs.len(), 1, "{theirs:?}");
        assert!(
            theirs[0]
                .contains("Reminder: tomorrow, Tuesday 16 March, 15:00, meeting of the series"),
            "{}",
            theirs[0]
        );
        assert_eq!(timer_texts(&w, code, m1).await.len(), before);
        // after it, she says it did not take place, then who did not come
        at(&tg, &w, at_rome(2027, 3, 16, 16, 1)).await;
        let q = tg
            .fake
            .wait_for(m2, world::WAIT, |m| m.button("Not done").is_some())
            .await
            .expect("the question after meeting 2");
        assert!(
            q.text
                .contains("meeting of Tuesday 16 March, 15:00: did it take place?"),
            "{}",
            q.text
        );
        assert!(
            timer_texts(&w, code, m1).await.len() == before,
            "not asked of the series' mediator"
        );
        let pressed = tg.fake.press(&q, "Not done").unwrap();
        assert!(tg.answer(&pressed).await.is_some());
        let who = tg
            .fake
            .wait_for(m2, world::WAIT, |m| {
                m.button("The family did not come").is_some()
            })
            .await
            .expect("who did not come");
        let pressed = tg.fake.press(&who, "The family did not come").unwrap();
        assert!(tg.answer(&pressed).await.is_some());
        let req = w.store.request(code).await.unwrap();
        let two = req.series.as_ref().unwrap().occurrences[1]
            .outcome
            .expect("recorded");
        assert!(!two.done && two.no_show == Some(NoShow::Family), "{two:?}");

        // 4. Meeting 3 moved to Wednesday 24 March at 10: nothing on 22 March at 15:00, its
        // reminder on 23 March at 10:00 speaks of the new time.
        let before = timer_texts(&w, code, m1).await.len();
        at(&tg, &w, at_rome(2027, 3, 22, 15, 30)).await;
        assert_eq!(
            timer_texts(&w, code, m1).await.len(),
            before,
            "no reminder at the old time"
        );
        at(&tg, &w, at_rome(2027, 3, 23, 10, 1)).await;
        let r = timer_texts(&w, code, m1).await;
        assert_eq!(r.len(), before + 1, "{r:?}");
        assert!(
            r[before].contains("domani, mercoledì 24 marzo, 10:00"),
            "{}",
            r[before]
        );

        // 5. The meetings from 6 April on are cancelled: meeting 4 (30 March) is the last.
        w.dispatcher
            .change_series_as(code, &Actor::Cli, 5, Scope::Following, Change::Cancel)
            .await
            .unwrap();
        // meeting 3 recorded by the coordinator through the CLI's use case, with its minutes,
        // while it is on
        at(&tg, &w, at_rome(2027, 3, 24, 10, 30)).await;
        let rec = w
            .dispatcher
            .record_meeting_as(
                code,
                &Actor::Cli,
                3,
                MeetingReport {
                    done: true,
                    worked_minutes: Some(60),
                    no_show: None,
                },
            )
            .await
            .unwrap();
        assert_eq!(
            rec,
            Recorded::Yes {
                seq: 3,
                series_done: false
            }
        );
        // its question, due at its end, is not asked any more
        let before = timer_texts(&w, code, m1).await.len();
        at(&tg, &w, at_rome(2027, 3, 24, 12, 0)).await;
        assert_eq!(timer_texts(&w, code, m1).await.len(), before);
        // a meeting not started yet cannot be recorded
        assert!(
            w.dispatcher
                .record_meeting_as(
                    code,
                    &Actor::Cli,
                    4,
                    MeetingReport {
                        done: true,
                        worked_minutes: None,
                        no_show: None
                    },
                )
                .await
                .is_err()
        );

        // 6. Meeting 4, after the change of clocks: reminded at 15:00 local (13:00 UTC).
        at(&tg, &w, at_rome(2027, 3, 29, 14, 59)).await;
        assert_eq!(timer_texts(&w, code, m1).await.len(), before);
        at(&tg, &w, at_rome(2027, 3, 29, 15, 1)).await;
        let r = timer_texts(&w, code, m1).await;
        assert_eq!(r.len(), before + 1, "{r:?}");
        assert!(
            r[before].contains("domani, martedì 30 marzo, 15:00"),
            "{}",
            r[before]
        );
        // after the last meeting: her question, and the requester's evaluation, once
        at(&tg, &w, at_rome(2027, 3, 30, 16, 1)).await;
        let evals: Vec<_> = w
            .outbox(code)
            .await
            .into_iter()
            .filter(|r| r.idempotency_key.starts_with("eval:"))
            .collect();
        assert_eq!(evals.len(), 1, "{evals:#?}");
        let q = tg
            .fake
            .wait_for(m1, world::WAIT, |m| {
                m.button("Svolto").is_some() && m.text.contains("30 marzo")
            })
            .await
            .expect("the question after meeting 4");
        let pressed = tg.fake.press(&q, "Svolto").unwrap();
        assert_eq!(
            tg.answer(&pressed).await.as_deref(),
            Some("Grazie! Segnato come svolto.")
        );
        w.dispatcher.run_due_timers().await.unwrap();
        assert_eq!(
            w.outbox(code)
                .await
                .iter()
                .filter(|r| r.idempotency_key.starts_with("eval:"))
                .count(),
            1,
            "the evaluation is asked once"
        );

        // 7. Every meeting still on has its outcome: the series is done, its assignment closed
        // with the minutes worked (90 + 60 + the 60 planned for meeting 4).
        let req = w.store.request(code).await.unwrap();
        assert_eq!(req.status, RequestStatus::Done);
        let a = w.store.assignments_for_request(id).await.unwrap();
        let series_a = a.iter().find(|a| a.mediator_id == first).unwrap();
        assert_eq!(series_a.status, AssignmentStatus::Done);
        assert_eq!(series_a.worked_minutes, Some(210));
        // no minutes given for meeting 4 yet: the requester is not asked to confirm the hours
        let hours_asked = |rows: &[connecting::store::OutboxRow]| {
            rows.iter()
                .filter(|r| r.idempotency_key.starts_with("hours:"))
                .map(|r| (r.idempotency_key.clone(), text_of(r).to_string()))
                .collect::<Vec<_>>()
        };
        assert!(hours_asked(&w.outbox(code).await).is_empty());
        // she gives them (1 h): the series' hours (1,5 + 1 + 1) are put to the requester, once
        let ask = tg
            .fake
            .wait_for(m1, world::WAIT, |m| {
                m.button("1 h").is_some() && m.message_id > q.message_id
            })
            .await
            .expect("the hours question after meeting 4");
        let pressed = tg.fake.press(&ask, "1 h").unwrap();
        assert_eq!(
            tg.answer(&pressed).await.as_deref(),
            Some("Grazie! Segnate 1 ore.")
        );
        let asked = hours_asked(&w.outbox(code).await);
        assert_eq!(asked.len(), 1, "{asked:#?}");
        assert!(asked[0].0.ends_with(":210"), "{asked:#?}");
        assert!(
            asked[0].1.contains(&code.to_string())
                && asked[0].1.contains("3 h e 30 min")
                && asked[0].1.contains("incontri"),
            "{}",
            asked[0].1
        );

        // 8. The report counts the meetings held in March: 1, 3 and 4 (not 2, not held).
        let march = w
            .store
            .report_records(at_rome(2027, 3, 1, 0, 0), at_rome(2027, 4, 1, 0, 0))
            .await
            .unwrap();
        let rows = connecting::dispatch::report::build(&march, None);
        assert_eq!(rows.iter().map(|r| r.interventions_done).sum::<u32>(), 3);
        tg.stop().await;
    }
);

#[path = "support/web.rs"]
mod web;

fn mail_2026(id: &str, text: &str) -> Vec<u8> {
    format!(
        "From: Laura Rossi <{REQUESTER}>\r\nTo: info@coop.example\r\nSubject: Incontri protetti\r\n\
         Message-ID: <{id}>\r\nDate: Mon, 2 Mar 2026 09:00:00 +0100\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    )
    .into_bytes()
}

fn cli(db: &common::TestDb, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_connecting"))
        .args(args)
        .env("CONNECTING_DATABASE_URL", &db.url)
        .output()
        .expect("run connecting");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// A series of March 2026, so that its meetings are over by the wall clock the CLI reads.
both_backends!(
    a_coordinator_records_meetings_from_the_console_and_the_cli,
    |db| async move {
        let w =
            dispatch_support::World::new(db.store.clone(), at_rome(2026, 3, 2, 9, 0), settings())
                .await;
        let samira = w.mediator("Samira", 101, &["ar"]).await.id;
        let out = intake(&w)
        .process(&mail_2026(
            "serie-c@comune.dalmine.bg.it",
            "Serve una mediatrice di lingua araba per incontri protetti a Dalmine, in Via Roma 1, \
             ogni martedì dalle 15 alle 16 dal 3 marzo per 4 settimane. Laura Rossi",
        ))
        .await
        .unwrap();
        let Outcome::Created { code, .. } = out else {
            panic!("{out:?}")
        };
        let req = w.store.request(code).await.unwrap();
        assert_eq!(req.series.as_ref().map(|s| s.occurrences.len()), Some(4));
        w.dispatcher.dispatch(code).await.unwrap();
        let offer = w.store.offers_for_request(req.id).await.unwrap().remove(0);
        w.dispatcher.accept(offer.id, samira).await.unwrap();
        w.clock.advance(at_rome(2026, 3, 3, 16, 30) - w.clock.now());

        // The console: an outcome form for the meeting that took place, none for those to come.
        let coordinator = w.store.coordinators().await.unwrap()[0].id;
        let c = web::Console::start(w.store.clone(), w.clock.clone(), false).await;
        let s = c
            .login(connecting::store::ConsoleRole::Coordinator, coordinator)
            .await;
        let page = c.get(&format!("/requests/{code}"), Some(&s)).await;
        assert!(page.body.contains("Esito"), "{}", page.body);
        assert_eq!(
            page.body.matches("/meetings/outcome").count(),
            1,
            "one meeting has taken place: {}",
            page.body
        );
        let path = format!("/requests/{code}/meetings/outcome");
        let refused = c
            .post(&path, Some(&s), &[("number", "1"), ("outcome", "done")])
            .await;
        assert_eq!(refused.status, 403, "no CSRF token, nothing recorded");
        assert!(
            w.store
                .request(code)
                .await
                .unwrap()
                .series
                .unwrap()
                .occurrences[0]
                .outcome
                .is_none()
        );
        let bad = c
            .post(
                &path,
                Some(&s),
                &[
                    ("csrf", &s.csrf),
                    ("number", "1"),
                    ("outcome", "done"),
                    ("minutes", "9999"),
                ],
            )
            .await;
        assert!(bad.status == 303 || bad.status == 200, "{}", bad.status);
        assert!(
            w.store
                .request(code)
                .await
                .unwrap()
                .series
                .unwrap()
                .occurrences[0]
                .outcome
                .is_none()
        );
        let page = c
            .get(&format!("/requests/{code}?outcome=bad_hours"), Some(&s))
            .await;
        assert!(
            page.body.contains("Numero di minuti non valido"),
            "{}",
            page.body
        );
        let out = c
            .post(
                &path,
                Some(&s),
                &[
                    ("csrf", &s.csrf),
                    ("number", "1"),
                    ("outcome", "not_done"),
                    ("minutes", ""),
                    ("no_show", "family"),
                ],
            )
            .await;
        assert!(out.status == 303 || out.status == 200, "{}", out.status);
        let one = w
            .store
            .request(code)
            .await
            .unwrap()
            .series
            .unwrap()
            .occurrences[0]
            .outcome
            .expect("recorded");
        assert!(!one.done && one.no_show == Some(NoShow::Family), "{one:?}");
        let page = c
            .get(
                &format!("/requests/{code}?outcome=meeting_recorded"),
                Some(&s),
            )
            .await;
        assert!(
            page.body.contains("Esito dell&#39;incontro registrato.")
                || page.body.contains("Esito dell'incontro registrato."),
            "{}",
            page.body
        );
        assert!(
            page.body.contains("non svolto: la famiglia non è venuta"),
            "{}",
            page.body
        );
        // a meeting still to come cannot be recorded
        let early = c
            .post(
                &path,
                Some(&s),
                &[("csrf", &s.csrf), ("number", "2"), ("outcome", "done")],
            )
            .await;
        assert!(
            early.status == 303 || early.status == 200,
            "{}",
            early.status
        );
        assert!(
            w.store
                .request(code)
                .await
                .unwrap()
                .series
                .unwrap()
                .occurrences[1]
                .outcome
                .is_none()
        );

        // The CLI (the wall clock: every meeting of March 2026 is over): meeting 2 done, 75 minutes.
        let c2 = code.to_string();
        let (ok, stdout, stderr) = cli(
            &db,
            &[
                "request",
                "outcome",
                &c2,
                "--meeting",
                "2",
                "--done",
                "--minutes",
                "75",
            ],
        );
        assert!(ok, "{stdout}\n{stderr}");
        assert!(
            stdout.contains(&format!("Registrato: incontro 2 di {c2}, svolto, 75 min."))
                && stdout.contains("esito"),
            "{stdout}"
        );
        // who did not come must be a word it knows; nothing changes
        let (ok, _, stderr) = cli(
            &db,
            &[
                "request",
                "outcome",
                &c2,
                "--meeting",
                "3",
                "--not-done",
                "--no-show",
                "nessuno",
            ],
        );
        assert!(!ok && stderr.contains("family or mediator"), "{stderr}");
        // meetings 3 and 4: the series is done, its assignment closed with the minutes worked
        for n in ["3", "4"] {
            let (ok, stdout, stderr) =
                cli(&db, &["request", "outcome", &c2, "--meeting", n, "--done"]);
            assert!(ok, "{stdout}\n{stderr}");
        }
        let req = w.store.request(code).await.unwrap();
        assert_eq!(req.status, RequestStatus::Done);
        let a = w.store.assignments_for_request(req.id).await.unwrap();
        assert_eq!(a[0].status, AssignmentStatus::Done);
        assert_eq!(a[0].worked_minutes, Some(75 + 60 + 60));
        // a coordinator may correct what was recorded
        let (ok, stdout, stderr) = cli(
            &db,
            &[
                "request",
                "outcome",
                &c2,
                "--meeting",
                "1",
                "--done",
                "--minutes",
                "60",
            ],
        );
        assert!(ok, "{stdout}\n{stderr}");
        let one = w
            .store
            .request(code)
            .await
            .unwrap()
            .series
            .unwrap()
            .occurrences[0]
            .outcome
            .unwrap();
        assert!(one.done && one.worked_minutes == Some(60) && one.no_show.is_none());
    }
);

/// The newest question to `chat` about new times of meetings, after message `after`.
async fn asked_after(tg: &world::World, chat: i64, after: i64) -> botapi::BotMessage {
    tg.fake
        .wait_for(chat, world::WAIT, |m| {
            m.message_id > after && m.button("Va bene").is_some()
        })
        .await
        .unwrap_or_else(|| panic!("no question: {:#?}", tg.fake.sent_to(chat)))
}

fn reply(code: connecting::domain::RequestCode, n: u32, text: &str) -> Vec<u8> {
    format!(
        "From: Laura Rossi <{REQUESTER}>\r\nTo: info@coop.example\r\nSubject: Re: [{code}] Incontri protetti\r\n\
         Message-ID: <serie-move-{n}@comune.dalmine.bg.it>\r\nIn-Reply-To: <serie-move@comune.dalmine.bg.it>\r\n\
         Date: Mon, 1 Mar 2027 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\nLaura\r\n"
    )
    .into_bytes()
}

// A requester's words about moving a series move the meetings they mean: by email (the meeting
// whose day they name, its new day, "in poi" for those that follow, else the next one) and
// with /modifica on the bot; the request keeps its code and its other meetings.
both_backends!(
    meetings_are_moved_by_the_words_of_an_email_and_of_the_bot,
    |db| async move {
        let store = db.store.clone();
        let mut tg = world::World::new(db).await;
        let w = dispatch_support::World::new(store.clone(), at_rome(2027, 3, 1, 9, 0), settings())
            .await;
        let samira = w.mediator("Samira", 1600, &["ar"]).await.id;
        let intake = intake(&w);
        let out = intake
        .process(&mail(
            "serie-move@comune.dalmine.bg.it",
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
        let starts = |r: &connecting::store::Request| -> Vec<DateTime<Utc>> {
            r.series
                .as_ref()
                .unwrap()
                .occurrences
                .iter()
                .map(|o| o.starts_at)
                .collect()
        };
        let before = starts(&w.store.request(code).await.unwrap());

        // 1. "l'incontro del 23 marzo lo spostiamo a mercoledì 24 marzo alle 10": meeting 3 alone.
        let out = intake
        .process(&reply(
            code,
            1,
            "Buongiorno, l'incontro del 23 marzo lo spostiamo a mercoledì 24 marzo alle 10, grazie.",
        ))
        .await
        .unwrap();
        assert!(matches!(out, Outcome::Updated { .. }), "{out:?}");
        let req = w.store.request(code).await.unwrap();
        assert_eq!(req.code, code);
        let now = starts(&req);
        assert_eq!(now[2], at_rome(2027, 3, 24, 10, 0));
        assert_eq!(
            now.iter()
                .enumerate()
                .filter(|(i, _)| *i != 2)
                .map(|(_, s)| *s)
                .collect::<Vec<_>>(),
            before
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != 2)
                .map(|(_, s)| *s)
                .collect::<Vec<_>>(),
            "only that meeting moves"
        );
        let told: Vec<String> = w
            .outbox(code)
            .await
            .iter()
            .filter(|r| r.idempotency_key.starts_with("series:"))
            .map(|r| text_of(r).to_string())
            .collect();
        assert!(
            told.iter().any(|t| t.contains("mercoledì 24 marzo, 10:00")),
            "the requester and the mediator told in words: {told:#?}"
        );
        // Samira is asked whether the new time suits her, and agrees: the requester hears it.
        let q1 = asked_after(&tg, 1600, 0).await;
        assert!(q1.text.contains("mercoledì 24 marzo, 10:00"), "{}", q1.text);
        let pressed = tg.fake.press(&q1, "Va bene").unwrap();
        assert_eq!(
            tg.answer(&pressed).await.as_deref(),
            Some("Grazie: il nuovo orario è confermato.")
        );
        let agreed: Vec<String> = w
            .outbox(code)
            .await
            .iter()
            .filter(|r| r.idempotency_key.starts_with("meetingsok:"))
            .map(|r| text_of(r).to_string())
            .collect();
        assert_eq!(agreed.len(), 1, "{agreed:#?}");
        assert!(
            agreed[0].contains(
                "Samira conferma i nuovi orari degli incontri: mercoledì 24 marzo, 10:00"
            ),
            "{}",
            agreed[0]
        );

        // 2. "dal 13 aprile in poi ... a giovedì 15 aprile alle 11": meeting 6 and those after it,
        // two days later, at 11.
        intake
        .process(&reply(
            code,
            2,
            "Dal 13 aprile in poi gli incontri vanno spostati: il primo a giovedì 15 aprile alle 11.",
        ))
        .await
        .unwrap();
        let now = starts(&w.store.request(code).await.unwrap());
        assert_eq!(
            &now[5..],
            &[
                at_rome(2027, 4, 15, 11, 0),
                at_rome(2027, 4, 22, 11, 0),
                at_rome(2027, 4, 29, 11, 0)
            ]
        );
        assert_eq!(now[4], before[4], "6 April stays");
        // One question for the three; she cannot: each is offered on its own (nobody else
        // speaks Arabic here: the coordinators are alerted), the requester is told.
        let q2 = asked_after(&tg, 1600, q1.message_id).await;
        assert!(
            q2.text.contains("giovedì 15 aprile, 11:00")
                && q2.text.contains("giovedì 29 aprile, 11:00"),
            "{}",
            q2.text
        );
        let pressed = tg.fake.press(&q2, "Non posso").unwrap();
        assert!(tg.answer(&pressed).await.is_some());
        let req = w.store.request(code).await.unwrap();
        let s6 = &req.series.as_ref().unwrap().occurrences;
        assert!(
            s6[5..].iter().all(|o| o.mediator_id.is_none()) && s6[4].mediator_id == Some(samira),
            "{s6:#?}"
        );
        let looking: Vec<String> = w
            .outbox(code)
            .await
            .iter()
            .filter(|r| r.idempotency_key.starts_with("meeting:") && chat_of(r).is_none())
            .map(|r| text_of(r).to_string())
            .collect();
        assert_eq!(looking.len(), 3, "{looking:#?}");
        assert!(
            looking
                .iter()
                .any(|t| t.contains("giovedì 22 aprile, 11:00") && t.contains("cerchiamo")),
            "{looking:#?}"
        );

        // 3. No meeting named: the next one still to come (9 March) moves.
        intake
            .process(&reply(
                code,
                3,
                "Possiamo spostare il prossimo incontro a venerdì 12 marzo alle 9?",
            ))
            .await
            .unwrap();
        let now = starts(&w.store.request(code).await.unwrap());
        assert_eq!(now[0], at_rome(2027, 3, 12, 9, 0));
        assert_eq!(now[1], before[1]);
        // she does not answer this one (below, its time runs out)
        let q3 = asked_after(&tg, 1600, q2.message_id).await;
        assert!(q3.text.contains("venerdì 12 marzo, 09:00"), "{}", q3.text);

        // 4. The coordinator on the bot: /modifica CODE martedì 30 marzo alle 16 moves meeting 4.
        tg.fake
            .push_text(900, &format!("/modifica {code} martedì 30 marzo alle 16"));
        tg.settle().await;
        let now = starts(&w.store.request(code).await.unwrap());
        assert_eq!(now[3], at_rome(2027, 3, 30, 16, 0));
        assert_eq!(now[1], before[1]);
        let q4 = asked_after(&tg, 1600, q3.message_id).await;
        assert!(q4.text.contains("martedì 30 marzo, 16:00"), "{}", q4.text);
        tg.fake.press(&q4, "Va bene").unwrap();
        tg.settle().await;
        // the unanswered question about 12 March ran out: that meeting is offered to others
        let by = chrono::Duration::hours(2);
        w.clock.advance(by);
        tg.clock.advance(by);
        w.dispatcher.run_due_timers().await.unwrap();
        let req = w.store.request(code).await.unwrap();
        let s = &req.series.as_ref().unwrap().occurrences;
        assert_eq!(s[0].mediator_id, None, "not answered in time");
        assert_eq!(s[3].mediator_id, Some(samira), "agreed");
        assert_eq!(s[2].mediator_id, Some(samira), "agreed");
        let req = w.store.request(code).await.unwrap();
        assert_eq!(
            req.assigned_mediator_id,
            Some(samira),
            "the series stays hers"
        );
        // her reminders follow the meetings where they are now: 29 March at 16:00, not 15:00
        let by = at_rome(2027, 3, 29, 15, 30) - w.clock.now();
        w.clock.advance(by);
        tg.clock.advance(by);
        w.dispatcher.run_due_timers().await.unwrap();
        let reminders = timer_texts(&w, code, 1600).await;
        assert!(
            reminders.iter().all(|t| !t.contains("30 marzo")),
            "not at the old time: {reminders:#?}"
        );
        let by = at_rome(2027, 3, 29, 16, 1) - w.clock.now();
        w.clock.advance(by);
        tg.clock.advance(by);
        w.dispatcher.run_due_timers().await.unwrap();
        let reminders = timer_texts(&w, code, 1600).await;
        assert!(
            reminders
                .iter()
                .any(|t| t.contains("domani, martedì 30 marzo, 16:00")),
            "{reminders:#?}"
        );
        tg.stop().await;
    }
);

#[path = "support/browser.rs"]
mod browser;

// The console's meetings table in a real browser (headless Chromium): the coordinator, logged in
// with the bot's link, records that the first meeting took place with its minutes and who did
// not come to the second; the page says it in words. Screenshots in target/screenshots/.
both_backends!(
    a_coordinator_records_meetings_in_the_browser,
    |db| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let url = base.clone();
        let configure: world::Configure = Arc::new(move |_, s| {
            s.bot.console_url = Some(url.clone());
        });
        let store = db.store.clone();
        let mut tg = world::World::configured(db, Some(configure)).await;
        let w = dispatch_support::World::new(store.clone(), at_rome(2027, 3, 1, 9, 0), settings())
            .await;
        let samira = w.mediator("Samira", 1600, &["ar"]).await.id;
        let _console = web::Console::serve(listener, store.clone(), tg.clock.clone(), false).await;
        let out = intake(&w)
        .process(&mail(
            "serie-b@comune.dalmine.bg.it",
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
        w.dispatcher.accept(offer.id, samira).await.unwrap();
        at(&tg, &w, at_rome(2027, 3, 16, 17, 0)).await;

        let m = tg.say(900, "/console").await;
        let link = m
            .text
            .split_whitespace()
            .find(|x| x.starts_with(&format!("{base}/login/")))
            .unwrap_or_else(|| panic!("no link in {:?}", m.text))
            .to_string();
        let b = browser::Browser::start(1280, 1000).await;
        b.goto(&link).await;
        b.click("#enter").await;
        b.wait_until(std::time::Duration::from_secs(5), |s| {
            s.contains("Coda delle richieste")
        })
        .await
        .expect("the queue");
        let shot =
            |name: &str| format!("{name}-{}", format!("{:?}", store.backend()).to_lowercase());
        b.goto(&format!("{base}/requests/{code}")).await;
        let text = b.text_with("Incontri della serie").await;
        assert!(text.contains("Esito"), "{text}");
        assert_eq!(
            b.source().await.matches("/meetings/outcome").count(),
            2,
            "two meetings have taken place"
        );
        b.goto(&format!("{base}/requests/{code}#h-meetings")).await;
        b.screenshot(&shot("meetings")).await;
        // meeting 1: done, 75 minutes
        b.type_into(
            "form[action$='/meetings/outcome'] input[name=minutes]",
            "75",
        )
        .await;
        b.click("form[action$='/meetings/outcome'] button[type=submit]")
            .await;
        let text = b.text_with("Esito dell'incontro registrato.").await;
        assert!(text.contains("svolto, 1 h e 15 min"), "{text}");
        // meeting 2: not done, the family did not come
        b.click("tr:nth-child(2) select[name=outcome] option[value=not_done]")
            .await;
        b.click("tr:nth-child(2) select[name=no_show] option[value=family]")
            .await;
        b.click("tr:nth-child(2) form[action$='/meetings/outcome'] button[type=submit]")
            .await;
        b.wait_until(std::time::Duration::from_secs(5), |s| {
            s.contains("non svolto: la famiglia non è venuta")
        })
        .await
        .expect("the second meeting recorded");
        b.goto(&format!("{base}/requests/{code}#h-meetings")).await;
        b.screenshot(&shot("meetings-recorded")).await;
        let s = w.store.request(code).await.unwrap().series.unwrap();
        let (one, two) = (
            s.occurrences[0].outcome.unwrap(),
            s.occurrences[1].outcome.unwrap(),
        );
        assert!(one.done && one.worked_minutes == Some(75), "{one:?}");
        assert!(!two.done && two.no_show == Some(NoShow::Family), "{two:?}");
        assert!(s.occurrences[2].outcome.is_none());
        tg.stop().await;
    }
);

// A mediator reached only by email: the question after her meeting comes by email and says how
// to answer; her reply "Svolto, ore 1,5" records that meeting; one before the meeting records
// nothing and is kept for the coordinators.
both_backends!(
    a_mediator_by_email_reports_her_meeting_by_replying,
    |db| async move {
        let w =
            dispatch_support::World::new(db.store.clone(), at_rome(2027, 3, 1, 9, 0), settings())
                .await;
        let rosa = w
            .store
            .add_mediator(
                &connecting::store::NewMediator {
                    name: "Rosa Esposito".into(),
                    phone: None,
                    email: Some("rosa@gmail.example".into()),
                    telegram_id: None,
                    gender: None,
                    languages: vec![connecting::domain::LanguageCode::parse("ar").unwrap()],
                    ambiti: vec![connecting::domain::Ambito::parse("Dalmine").unwrap()],
                    availability: None,
                    share_phone: false,
                },
                w.clock.now(),
            )
            .await
            .unwrap();
        let intake = intake(&w);
        let Outcome::Created { code, .. } = intake
        .process(&mail(
            "serie-e@comune.dalmine.bg.it",
            "Serve una mediatrice di lingua araba per incontri protetti a Dalmine, in Via Roma 1, \
             ogni martedì dalle 15 alle 16 dal 9 marzo per 4 settimane. Laura Rossi",
        ))
        .await
        .unwrap()
    else {
        panic!("not created")
    };
        w.dispatcher.assign(code, rosa.id, "cli").await.unwrap();
        let rosa_says = |n: u32, text: &str| {
            format!(
            "From: Rosa Esposito <rosa@gmail.example>\r\nTo: info@coop.example\r\nSubject: Re: [{code}] Incontro\r\n\
             Message-ID: <rosa-m{n}@gmail.example>\r\nDate: Tue, 9 Mar 2027 17:00:00 +0100\r\n\
             Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\nRosa\r\n"
        )
        .into_bytes()
        };
        // before the meeting: nothing to record, kept
        let out = intake.process(&rosa_says(1, "Svolto")).await.unwrap();
        assert!(
            matches!(&out, Outcome::Recorded { kind } if kind == "mediator_reply"),
            "{out:?}"
        );
        at_dispatch(&w, at_rome(2027, 3, 9, 16, 1)).await;
        let q: Vec<_> = w
            .outbox(code)
            .await
            .into_iter()
            .filter(|r| {
                r.idempotency_key.starts_with("timer:") && text_of(r).contains("si è svolto?")
            })
            .collect();
        assert_eq!(q.len(), 1, "{q:#?}");
        let connecting::outbox::Payload::Email(e) = &q[0].payload else {
            panic!("by email")
        };
        assert_eq!(e.to, "rosa@gmail.example");
        assert!(
            e.body.contains("martedì 9 marzo, 15:00") && e.body.contains("«svolto, ore 1,5»"),
            "{}",
            e.body
        );
        let out = intake
            .process(&rosa_says(2, "Svolto, ore 1,5\n\nTutto bene."))
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Updated { .. }), "{out:?}");
        let s = w.store.request(code).await.unwrap().series.unwrap();
        let one = s.occurrences[0].outcome.expect("recorded");
        assert!(one.done && one.worked_minutes == Some(90), "{one:?}");
        assert!(s.occurrences[1].outcome.is_none());
    }
);

/// The dispatcher's clock to `to`, then the due timers fired (no bot in this story).
async fn at_dispatch(w: &dispatch_support::World, to: DateTime<Utc>) {
    w.clock.advance(to - w.clock.now());
    w.dispatcher.run_due_timers().await.unwrap();
}
