//! The hours the requester verifies (issue 16), through the real channels on SQLite and
//! PostgreSQL: on Telegram (the local Bot API) the mediator's [Svolto] and hours reach the
//! requester as a question with [Confermo] and other figures; a confirmation, a press by
//! someone else, another figure that opens a dispute, and the coordinator's button that
//! settles it. By email (real Dovecot + SMTP) the question lands in the requester's mailbox and
//! her replies come back through IMAP: negative and absurd figures and a reply from a
//! colleague are refused in words with nothing recorded, then "Confermo" confirms. Without an
//! answer within `account.confirm_within_days` (the test clock) the hours count unverified.
//! On the console's request page the requester confirms or gives the actual minutes and a
//! coordinator settles the dispute; another operator cannot. The evaluation by email goes the
//! same way: the question in the requester's mailbox, marks out of range, too few, a low mark
//! without a comment and a colleague's marks refused in words, then recorded. A no-show says
//! who did not come, and the report splits them. The report's figures come out of each story.

#[path = "support/botapi.rs"]
mod botapi;
#[path = "support/builders.rs"]
mod builders;
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

use chrono::Duration;
use connecting::app::words::Words;
use connecting::authz::Actor;
use connecting::channels::email::imap::{ImapConfig, Poller, TlsMode as ImapTls};
use connecting::channels::email::smtp::{SmtpConfig, SmtpTransport, TlsMode};
use connecting::channels::email::{Intake, IntakeConfig};
use connecting::clock::{Clock, SystemClock};
use connecting::config::Lang;
use connecting::dispatch::DispatchSettings;
use connecting::dispatch::report::monthly_report;
use connecting::domain::{HoursCheckStatus, LanguageCode, RequestStatus};
use connecting::outbox::Transport;
use connecting::store::{NewRequest, Store};
use std::collections::HashSet;
use std::sync::Arc;
use world::{WAIT, World};

/// A request of the operator on Telegram `chat`, accepted by mediator `m`: (request id, its
/// assignment).
async fn assigned(w: &World, operator: i64, chat: i64, m: i64) -> (i64, i64) {
    let now = w.clock.now();
    let req = w
        .store()
        .create_request(
            &NewRequest {
                status: Some(RequestStatus::Offered),
                channel: Some(connecting::domain::Channel::Telegram),
                operator_id: Some(operator),
                requester_chat_id: Some(chat),
                language: Some(LanguageCode::parse("ar").unwrap()),
                date: chrono::NaiveDate::from_ymd_opt(2027, 3, 4),
                start_time: chrono::NaiveTime::from_hms_opt(10, 0, 0),
                starts_at: Some(now + Duration::days(3)),
                ends_at: Some(now + Duration::days(3) + Duration::hours(2)),
                duration_minutes: Some(120),
                ambito: Some(connecting::domain::Ambito::parse("Dalmine").unwrap()),
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
    let offer = builders::offer(req.id, m).insert(w.store(), now).await;
    let core = connecting::renderers::core(Default::default());
    let mediator = Actor::Mediator {
        id: m,
        active: true,
    };
    let mut tx = w.store().begin().await.unwrap();
    let won = connecting::app::answer::accept(&core, &mut tx, &mediator, offer, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let connecting::app::answer::Accepted::Won(won) = won else {
        panic!("{won:?}")
    };
    (req.id, won.assignment_id)
}

/// The mediator on Telegram `tg` presses [Svolto], then the hours button `minutes`.
async fn done_with_hours(w: &World, tg: i64, assignment: i64, minutes: i64) {
    let pressed = w
        .fake
        .push_callback(tg, tg, 1, &format!("done:{assignment}"));
    assert!(w.answer(&pressed).await.is_some(), "an answer to [Svolto]");
    let asked = w
        .fake
        .wait_for(tg, WAIT, |m| {
            m.buttons
                .iter()
                .flatten()
                .any(|(_, d)| d == &format!("hrs:{assignment}:{minutes}"))
        })
        .await
        .expect("the hours buttons");
    let label = asked
        .buttons
        .iter()
        .flatten()
        .find(|(_, d)| d == &format!("hrs:{assignment}:{minutes}"))
        .map(|(l, _)| l.clone())
        .unwrap();
    let id = w.fake.press(&asked, &label).expect("hours button");
    let saved = w.answer(&id).await.unwrap_or_default();
    assert!(saved.contains("Grazie"), "{saved}");
}

async fn check(store: &Store, request_id: i64) -> connecting::store::HoursCheck {
    store
        .hours_checks(request_id)
        .await
        .unwrap()
        .pop()
        .expect("an hours check")
}

both_backends!(
    hours_confirmed_on_telegram_and_a_dispute_settled_by_a_coordinator,
    |db| async move {
        let mut w = World::new(db).await;
        let words = Words::new(Lang::It);
        let giulia = w.operator("Giulia Rossi", Some(5100)).await;
        w.operator("Marco Bianchi", Some(5101)).await;
        let samira = w.mediator("Samira Haddad", 5110).await;
        w.coordinator(5120).await;

        // The mediator records 90 minutes: Giulia is asked, with [Confermo] and other figures.
        let (first, job) = assigned(&w, giulia, 5100, samira).await;
        done_with_hours(&w, 5110, job, 90).await;
        let question = w
            .fake
            .wait_for(5100, WAIT, |m| m.text.contains("Conferma queste ore"))
            .await
            .expect("the hours question");
        assert!(
            question.text.contains(&words.duration(90)),
            "{}",
            question.text
        );
        assert_eq!(question.labels()[0], "Confermo", "{:?}", question.labels());
        assert!(
            question
                .labels()
                .contains(&format!("Erano {}", words.duration(120))),
            "{:?}",
            question.labels()
        );
        // A colleague's press, and the mediator's, are refused; nothing recorded.
        let data = question.button("Confermo").unwrap();
        for who in [5101, 5110] {
            let forged = w.fake.push_callback(who, who, 1, &data);
            assert_eq!(w.answer(&forged).await.as_deref(), Some("Non autorizzato."));
        }
        assert_eq!(
            check(w.store(), first).await.status,
            HoursCheckStatus::Asked
        );
        let id = w.fake.press(&question, "Confermo").unwrap();
        assert_eq!(
            w.answer(&id).await.as_deref(),
            Some(format!("Grazie: ore confermate ({}).", words.duration(90)).as_str())
        );
        assert_eq!(
            check(w.store(), first).await.status,
            HoursCheckStatus::Confirmed
        );
        // A second press changes nothing and says so.
        let again = w.fake.press(&question, "Confermo").unwrap();
        assert!(
            w.answer(&again)
                .await
                .unwrap_or_default()
                .contains("hanno già una risposta")
        );

        // Two hours recorded, Giulia says it was one and a half: a dispute the coordinator
        // hears of on Telegram, and settles with one tap.
        let (second, job2) = assigned(&w, giulia, 5100, samira).await;
        done_with_hours(&w, 5110, job2, 120).await;
        let question = w
            .fake
            .wait_for(5100, WAIT, |m| {
                m.text.contains("Conferma queste ore") && m.text.contains(&words.duration(120))
            })
            .await
            .expect("the second hours question");
        let other = format!("Erano {}", words.duration(90));
        let id = w.fake.press(&question, &other).unwrap();
        let said = w.answer(&id).await.unwrap_or_default();
        assert!(
            said.contains(&words.duration(90)) && said.contains("coordinamento"),
            "{said}"
        );
        let c = check(w.store(), second).await;
        assert_eq!(
            (c.status, c.requester_minutes),
            (HoursCheckStatus::Disputed, Some(90))
        );
        let dispute = w
            .fake
            .wait_for(5120, WAIT, |m| m.text.contains("Quali ore fatturare"))
            .await
            .expect("the coordinator hears of the dispute");
        assert!(
            dispute.text.contains(&words.duration(120))
                && dispute.text.contains(&words.duration(90)),
            "{}",
            dispute.text
        );
        // The requester cannot settle it (she presses the coordinator's button).
        let settle = format!("Fatturare {}", words.duration(90));
        let data = dispute.button(&settle).expect("settle button");
        let forged = w.fake.push_callback(5100, 5100, 1, &data);
        assert_eq!(w.answer(&forged).await.as_deref(), Some("Non autorizzato."));
        assert_eq!(
            check(w.store(), second).await.status,
            HoursCheckStatus::Disputed
        );
        let id = w.fake.press(&dispute, &settle).unwrap();
        assert_eq!(
            w.answer(&id).await.as_deref(),
            Some(format!("Fatto: si fatturano {}.", words.duration(90)).as_str())
        );
        let c = check(w.store(), second).await;
        assert_eq!(
            (c.status, c.billed_minutes),
            (HoursCheckStatus::Settled, Some(90))
        );

        // The report: 90 minutes confirmed + 90 settled = 3 verified hours, none disputed.
        let rows = monthly_report(w.store(), "2027-03", None, chrono_tz::Europe::Rome)
            .await
            .unwrap();
        let dal = rows
            .iter()
            .find(|r| r.ambito.as_deref() == Some("Dalmine"))
            .expect("Dalmine");
        assert_eq!(
            (dal.hours_verified, dal.hours_disputed, dal.hours_unverified),
            (Some(3.0), Some(0.0), 0.0)
        );
        w.stop().await;
    }
);

both_backends!(no_answer_counts_the_hours_unverified, |db| async move {
    let w = dispatch_support::World::new(
        db.store.clone(),
        dispatch_support::at_rome(2027, 3, 1, 9, 0),
        DispatchSettings {
            confirm_within_days: 3,
            ..Default::default()
        },
    )
    .await;
    let amina = w.mediator("Amina", 101, &["ar"]).await;
    let code = w
        .request(
            "ar",
            dispatch_support::d(2027, 3, 2),
            dispatch_support::t(10, 0),
            60,
            None,
        )
        .await;
    let job = w.dispatcher.assign(code, amina.id, "cli").await.unwrap();
    w.clock.set(dispatch_support::at_rome(2027, 3, 2, 12, 0));
    assert!(
        w.dispatcher
            .record_outcome(job, amina.id, true, Some(75))
            .await
            .unwrap()
    );
    let id = w.store.request(code).await.unwrap().id;
    // The question went to the requester's address, in words.
    let asked = w
        .outbox(code)
        .await
        .into_iter()
        .find(|r| dispatch_support::text_of(r).contains("Conferma queste ore"))
        .expect("the hours question");
    assert!(
        dispatch_support::text_of(&asked).contains("«confermo»"),
        "{}",
        dispatch_support::text_of(&asked)
    );
    // Two days on: still waiting. Past the third: unverified, the mediator's figure counts.
    w.clock.set(dispatch_support::at_rome(2027, 3, 4, 12, 0));
    w.dispatcher.run_due_timers().await.unwrap();
    assert_eq!(check(&w.store, id).await.status, HoursCheckStatus::Asked);
    w.clock.set(dispatch_support::at_rome(2027, 3, 5, 12, 30));
    w.dispatcher.run_due_timers().await.unwrap();
    assert_eq!(
        check(&w.store, id).await.status,
        HoursCheckStatus::Unverified
    );
    let rows = monthly_report(&w.store, "2027-03", None, chrono_tz::Europe::Rome)
        .await
        .unwrap();
    assert_eq!(
        (
            rows[0].hours_unverified,
            rows[0].hours_verified,
            rows[0].hours_disputed
        ),
        (1.25, Some(0.0), Some(0.0))
    );
    // An answer after the deadline changes nothing.
    let core = w.dispatcher.core().clone();
    let mut tx = w.store.begin().await.unwrap();
    let late = connecting::app::account::answer(
        &core,
        &mut tx,
        &Actor::Cli,
        job,
        connecting::app::account::HoursAnswer::Confirm,
        w.clock_now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        late,
        connecting::app::account::Answered::Closed(HoursCheckStatus::Unverified)
    );
});

fn intake(store: &Store) -> Arc<Intake> {
    let mut cfg = IntakeConfig::new("info@coop.example", "connecting.coop.example");
    cfg.allowed_sender_domains = vec!["comune.example.it".into()];
    Arc::new(Intake::new(
        store.clone(),
        cfg,
        Arc::new(SystemClock),
        connecting::renderers::channels(),
    ))
}

/// Dovecot and the SMTP server with mailboxes for info@, Laura and Marco, our SMTP client,
/// and the IMAP intake polling info@ (stopped by the sender's `true`).
fn mail_intake(
    store: &Store,
) -> (
    mail::MailServers,
    SmtpTransport,
    tokio::sync::watch::Sender<bool>,
) {
    let servers = mail::MailServers::start(&["info", "laura", "marco"]);
    let mut smtp_cfg = SmtpConfig::new(
        "127.0.0.1",
        servers.smtp_port,
        TlsMode::None,
        "info@coop.example",
    );
    smtp_cfg.allow_plaintext = true;
    let smtp = SmtpTransport::new(&smtp_cfg).unwrap();
    let mut imap = ImapConfig::new(
        "127.0.0.1",
        servers.imap_port,
        ImapTls::None,
        "info",
        mail::PASSWORD,
    );
    imap.allow_plaintext = true;
    imap.backoff_min = std::time::Duration::from_millis(50);
    imap.io_timeout = std::time::Duration::from_secs(10);
    let (stop, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(Poller::new(imap, intake(store), rx).run());
    (servers, smtp, stop)
}

/// Delivers the outbox rows not delivered yet (the outbox worker's job, reduced to its core).
async fn deliver_new(store: &Store, smtp: &SmtpTransport, done: &mut HashSet<i64>) -> usize {
    let mut n = 0;
    for row in store.outbox_all().await.unwrap() {
        if done.insert(row.id) && matches!(row.payload, connecting::outbox::Payload::Email(_)) {
            smtp.deliver(&row.payload).await.expect("delivered");
            n += 1;
        }
    }
    n
}

/// The plain text of a delivered message, as the requester's mail client shows it.
fn body_of(raw: &[u8]) -> (String, String) {
    let m = connecting::channels::email::parse_email(
        raw,
        &connecting::channels::email::Limits::default(),
    )
    .unwrap();
    (
        m.subject.unwrap_or_default(),
        m.text_plain.unwrap_or_default(),
    )
}

both_backends!(
    hours_confirmed_by_email_after_bad_replies_are_refused,
    |db| async move {
        let store = db.store.clone();
        let (servers, smtp, stop) = mail_intake(&store);

        let w = dispatch_support::World::new(
            store.clone(),
            dispatch_support::at_rome(2027, 3, 1, 9, 0),
            DispatchSettings::default(),
        )
        .await;
        let amina = w.mediator("Amina", 201, &["ar"]).await;
        let code = w
            .request_with(
                "ar",
                dispatch_support::d(2027, 3, 2),
                dispatch_support::t(10, 0),
                90,
                |r| r.requester_email = Some("laura@comune.example.it".into()),
            )
            .await;
        let id = store.request(code).await.unwrap().id;
        let job = w.dispatcher.assign(code, amina.id, "cli").await.unwrap();
        w.clock.set(dispatch_support::at_rome(2027, 3, 2, 12, 0));
        assert!(
            w.dispatcher
                .record_outcome(job, amina.id, true, Some(90))
                .await
                .unwrap()
        );
        let mut done = HashSet::new();
        deliver_new(&store, &smtp, &mut done).await;
        let got = servers
            .wait_for("laura", "INBOX", 2, std::time::Duration::from_secs(10))
            .await;
        let question = got
            .iter()
            .find(|m| body_of(m).1.contains("Conferma queste ore"))
            .expect("the hours question in Laura's mailbox");
        let (subject, body) = body_of(question);
        assert!(subject.contains(&code.to_string()), "{subject}");
        assert!(
            body.contains("1 h e 30 min") && body.contains("«confermo»"),
            "{body}"
        );
        let question_id =
            mail::header(&String::from_utf8_lossy(question), "Message-ID").expect("Message-ID");

        let reply = |from: &str, n: u32, text: &str| {
            format!(
                "From: {from}\r\nTo: info@coop.example\r\nSubject: Re: {subject}\r\n\
                 Message-ID: <hours-{n}@comune.example.it>\r\nIn-Reply-To: {question_id}\r\n\
                 References: {question_id}\r\nDate: Tue, 2 Mar 2027 15:00:00 +0100\r\n\
                 Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
            )
        };
        // Each reply is answered in words; the last one of each mailbox is read.
        let answered = |user: &'static str, n: usize| {
            let servers = &servers;
            async move {
                let got = servers
                    .wait_for(user, "INBOX", n, std::time::Duration::from_secs(15))
                    .await;
                assert!(got.len() >= n, "{user}: {} messages", got.len());
                body_of(&got[n - 1]).1
            }
        };
        let replies = [
            (
                "laura",
                "Laura Rossi <laura@comune.example.it>",
                "-2 ore",
                "non è valido",
            ),
            (
                "laura",
                "Laura Rossi <laura@comune.example.it>",
                "300 ore",
                "non è valido",
            ),
            (
                "marco",
                "Marco Bianchi <marco@comune.example.it>",
                "Confermo",
                "non risulta tra quelle inviate da questo indirizzo",
            ),
        ];
        let mut seen = std::collections::HashMap::from([("laura", got.len()), ("marco", 0)]);
        for (n, (user, from, text, expect)) in replies.iter().enumerate() {
            servers
                .append("info", "INBOX", reply(from, n as u32, text).as_bytes())
                .await;
            let want = seen[user] + 1;
            let mut body = String::new();
            for _ in 0..300 {
                deliver_new(&store, &smtp, &mut done).await;
                if servers.messages(user, "INBOX").await.len() >= want {
                    body = answered(user, want).await;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            seen.insert(user, want);
            assert!(body.contains(expect), "{text:?} from {user}: {body}");
            assert_eq!(
                check(&store, id).await.status,
                HoursCheckStatus::Asked,
                "{text:?} recorded nothing"
            );
        }
        servers
            .append(
                "info",
                "INBOX",
                reply(
                    "Laura Rossi <laura@comune.example.it>",
                    9,
                    "Confermo, grazie.",
                )
                .as_bytes(),
            )
            .await;
        let mut confirmed = false;
        for _ in 0..300 {
            if check(&store, id).await.status == HoursCheckStatus::Confirmed {
                confirmed = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert!(confirmed, "the reply did not confirm the hours");
        let want = seen["laura"] + 1;
        for _ in 0..100 {
            deliver_new(&store, &smtp, &mut done).await;
            if servers.messages("laura", "INBOX").await.len() >= want {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let body = answered("laura", want).await;
        assert!(body.contains("sono confermate (1 h e 30 min)"), "{body}");
        let rows = monthly_report(&store, "2027-03", None, chrono_tz::Europe::Rome)
            .await
            .unwrap();
        assert_eq!(
            (rows[0].hours_verified, rows[0].hours_unverified),
            (Some(1.5), 0.0)
        );
        stop.send(true).unwrap();
    }
);

both_backends!(
    hours_and_evaluation_on_the_console_request_page,
    |db| async move {
        use connecting::store::{ConsoleRole, NewOperator};
        let store = db.store.clone();
        let start = dispatch_support::at_rome(2027, 3, 1, 9, 0);
        let w =
            dispatch_support::World::new(store.clone(), start, DispatchSettings::default()).await;
        let op = |name: &str, email: &str| NewOperator {
            name: name.into(),
            email: Some(email.into()),
            phone: None,
            ente: "Comune di Dalmine".into(),
            ambito: connecting::domain::Ambito::parse("Dalmine").unwrap(),
            telegram_id: None,
        };
        let laura = store
            .add_operator(
                &op("Laura Rossi", "laura.rossi@comune.dalmine.bg.it"),
                start,
            )
            .await
            .unwrap()
            .id;
        let marco = store
            .add_operator(&op("Marco Bianchi", "marco@comune.dalmine.bg.it"), start)
            .await
            .unwrap()
            .id;
        let coordinator = store
            .add_coordinator(
                &connecting::store::NewCoordinator {
                    name: "Giulia".into(),
                    telegram_id: None,
                    email: None,
                },
                start,
            )
            .await
            .unwrap()
            .id;
        let amina = w.mediator("Amina", 301, &["ar"]).await;
        let code = w
            .request_with(
                "ar",
                dispatch_support::d(2027, 3, 2),
                dispatch_support::t(10, 0),
                120,
                |r| r.operator_id = Some(laura),
            )
            .await;
        let job = w.dispatcher.assign(code, amina.id, "cli").await.unwrap();
        assert!(
            w.dispatcher
                .record_outcome(job, amina.id, true, Some(120))
                .await
                .unwrap()
        );
        let id = store.request(code).await.unwrap().id;
        let c = web::Console::start(store.clone(), w.clock.clone(), false).await;
        let page = format!("/requests/{code}");
        let hours = format!("/requests/{code}/hours");
        let job_s = job.to_string();
        let follow = |p: web::Page| async move {
            assert_eq!(p.status, 303, "{}", p.body);
            p.headers["location"].to_str().unwrap().to_string()
        };

        // Another operator neither sees the form nor gets anything recorded.
        let m = c.login(ConsoleRole::Operator, marco).await;
        assert_eq!(c.get(&page, Some(&m)).await.status, 404);
        let forged = c
            .post(
                &hours,
                Some(&m),
                &[
                    ("csrf", &m.csrf),
                    ("assignment_id", &job_s),
                    ("decision", "confirm"),
                ],
            )
            .await;
        assert_eq!(forged.status, 404);
        assert_eq!(check(&store, id).await.status, HoursCheckStatus::Asked);

        // Laura sees the mediator's figure; a bad figure is refused in words.
        let l = c.login(ConsoleRole::Operator, laura).await;
        let body = c.get(&page, Some(&l)).await.body;
        assert!(
            body.contains("Il mediatore ha segnato 2 ore.") && body.contains("Confermo le ore"),
            "{body}"
        );
        for bad in ["-30", "2000", "due"] {
            let to = follow(
                c.post(
                    &hours,
                    Some(&l),
                    &[
                        ("csrf", &l.csrf),
                        ("assignment_id", &job_s),
                        ("decision", "other"),
                        ("minutes", bad),
                    ],
                )
                .await,
            )
            .await;
            let body = c.get(&to, Some(&l)).await.body;
            assert!(
                body.contains("Numero di minuti non valido"),
                "{bad}: {body}"
            );
            assert_eq!(check(&store, id).await.status, HoursCheckStatus::Asked);
        }
        // Ninety minutes, not two hours: a dispute.
        let to = follow(
            c.post(
                &hours,
                Some(&l),
                &[
                    ("csrf", &l.csrf),
                    ("assignment_id", &job_s),
                    ("decision", "other"),
                    ("minutes", "90"),
                ],
            )
            .await,
        )
        .await;
        let body = c.get(&to, Some(&l)).await.body;
        assert!(
            body.contains("il coordinamento decide")
                && body.contains("Contestate: chi ha fatto la richiesta indica 1 h e 30 min."),
            "{body}"
        );
        assert!(
            !body.contains("Decidi le ore"),
            "only a coordinator settles"
        );
        // She cannot settle it herself.
        let to = follow(
            c.post(
                &hours,
                Some(&l),
                &[
                    ("csrf", &l.csrf),
                    ("assignment_id", &job_s),
                    ("decision", "settle"),
                    ("minutes", "120"),
                ],
            )
            .await,
        )
        .await;
        assert!(to.contains("outcome=denied"), "{to}");
        assert_eq!(check(&store, id).await.status, HoursCheckStatus::Disputed);

        // The coordinator settles it at 100 minutes.
        let g = c.login(ConsoleRole::Coordinator, coordinator).await;
        let body = c.get(&page, Some(&g)).await.body;
        assert!(body.contains("Decidi le ore"), "{body}");
        let to = follow(
            c.post(
                &hours,
                Some(&g),
                &[
                    ("csrf", &g.csrf),
                    ("assignment_id", &job_s),
                    ("decision", "settle"),
                    ("minutes", "100"),
                ],
            )
            .await,
        )
        .await;
        let body = c.get(&to, Some(&g)).await.body;
        assert!(
            body.contains("Decise dal coordinamento: si fatturano 1 h e 40 min."),
            "{body}"
        );
        let c2 = check(&store, id).await;
        assert_eq!(
            (c2.status, c2.billed_minutes),
            (HoursCheckStatus::Settled, Some(100))
        );
        let rows = monthly_report(&store, "2027-03", None, chrono_tz::Europe::Rome)
            .await
            .unwrap();
        assert_eq!(
            (rows[0].hours_verified, rows[0].hours_unverified),
            (Some(1.67), 0.0)
        );
        // The evaluation form: one mark per criterion; bad marks and a low mark without a comment
        // are refused in words; another operator cannot post one.
        let evaluation = format!("/requests/{code}/evaluation");
        let body = c.get(&page, Some(&l)).await.body;
        assert!(
            body.contains("Valutazione dell'intervento")
                && body.contains("Relazione con la famiglia"),
            "{body}"
        );
        let marks = |m: [&'static str; 5]| {
            let names = [
                "score_punctuality",
                "score_linguistic_accuracy",
                "score_cultural_mediation",
                "score_relation_with_family",
                "score_overall",
            ];
            names.into_iter().zip(m).collect::<Vec<(&str, &str)>>()
        };
        for (m, comment, words) in [
            (["4", "9", "4", "4", "4"], "", "Valutazione non valida"),
            (["4", "", "4", "4", "4"], "", "Valutazione non valida"),
            (["2", "4", "4", "4", "4"], "", "serve un commento"),
        ] {
            let mut form = marks(m);
            form.push(("csrf", &l.csrf));
            form.push(("comment", comment));
            let to = follow(c.post(&evaluation, Some(&l), &form).await).await;
            let body = c.get(&to, Some(&l)).await.body;
            assert!(body.contains(words), "{m:?}: {body}");
            assert_eq!(store.evaluation(id).await.unwrap(), None);
        }
        let mut form = marks(["5", "5", "5", "5", "5"]);
        form.push(("csrf", &m.csrf));
        assert_eq!(c.post(&evaluation, Some(&m), &form).await.status, 404);
        assert_eq!(store.evaluation(id).await.unwrap(), None);
        let mut form = marks(["2", "4", "5", "4", "3"]);
        form.push(("csrf", &l.csrf));
        form.push(("comment", "In ritardo, poi molto chiaro."));
        let to = follow(c.post(&evaluation, Some(&l), &form).await).await;
        assert!(
            c.get(&to, Some(&l))
                .await
                .body
                .contains("Grazie: valutazione registrata."),
            "{to}"
        );
        assert_eq!(
            store.evaluation(id).await.unwrap(),
            Some((3, Some("In ritardo, poi molto chiaro.".into())))
        );
        assert_eq!(store.evaluation_scores(id).await.unwrap().len(), 5);
    }
);

both_backends!(a_no_show_is_recorded_as_who_did_not_come, |db| async move {
    use connecting::domain::NoShow;
    let mut w = World::new(db).await;
    let giulia = w.operator("Giulia Rossi", Some(5200)).await;
    let samira = w.mediator("Samira Haddad", 5210).await;
    w.mediator("Fatima Zahra", 5211).await;
    w.coordinator(5220).await;

    // The mediator's [Non svolto] asks who did not come.
    let (_, job) = assigned(&w, giulia, 5200, samira).await;
    let pressed = w
        .fake
        .push_callback(5210, 5210, 1, &format!("notdone:{job}"));
    assert!(w.answer(&pressed).await.is_some());
    let question = w
        .fake
        .wait_for(5210, WAIT, |m| m.text.contains("Chi non è venuto?"))
        .await
        .expect("who did not come");
    assert_eq!(
        question.labels(),
        vec![
            "La famiglia non è venuta".to_string(),
            "Il mediatore non è venuto".into()
        ]
    );
    // Another mediator's press changes nothing.
    let data = question.button("La famiglia non è venuta").unwrap();
    let forged = w.fake.push_callback(5211, 5211, 1, &data);
    assert_eq!(w.answer(&forged).await.as_deref(), Some("Non autorizzato."));
    assert_eq!(w.store().no_show(job).await.unwrap(), None);
    let id = w.fake.press(&question, "La famiglia non è venuta").unwrap();
    assert_eq!(w.answer(&id).await.as_deref(), Some("Grazie, annotato."));
    assert_eq!(w.store().no_show(job).await.unwrap(), Some(NoShow::Family));

    // A coordinator records one on the mediator's behalf: the mediator did not come.
    let (_, job2) = assigned(&w, giulia, 5200, samira).await;
    let pressed = w
        .fake
        .push_callback(5220, 5220, 1, &format!("notdone:{job2}"));
    assert!(w.answer(&pressed).await.is_some());
    let question = w
        .fake
        .wait_for(5220, WAIT, |m| m.text.contains("Chi non è venuto?"))
        .await
        .expect("who did not come, to the coordinator");
    let id = w
        .fake
        .press(&question, "Il mediatore non è venuto")
        .unwrap();
    assert_eq!(w.answer(&id).await.as_deref(), Some("Grazie, annotato."));
    assert_eq!(
        w.store().no_show(job2).await.unwrap(),
        Some(NoShow::Mediator)
    );
    let rows = monthly_report(w.store(), "2027-03", None, chrono_tz::Europe::Rome)
        .await
        .unwrap();
    assert_eq!((rows[0].no_shows, rows[0].interventions_done), (2, 0));
    assert_eq!((rows[0].no_shows_family, rows[0].no_shows_mediator), (1, 1));
    // The CSV a spreadsheet opens says who did not come.
    let csv = connecting::dispatch::report::csv::csv(&rows, Lang::It);
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    let cells = |l: &str| l.split(';').map(str::to_string).collect::<Vec<_>>();
    let (head, row) = (cells(lines[0]), cells(lines[1]));
    let at = |name: &str| head.iter().position(|h| h == name).expect(name);
    assert_eq!(row[at("Di cui la famiglia non è venuta")], "1");
    assert_eq!(row[at("Di cui il mediatore non è venuto")], "1");
    w.stop().await;
});

/// A request of Giulia's on Telegram `chat`, done, and the evaluation question sent to her.
async fn evaluation_asked(w: &World, operator: i64, chat: i64, m: i64) -> i64 {
    let (request_id, job) = assigned(w, operator, chat, m).await;
    let core = connecting::renderers::core(Default::default());
    let mediator = Actor::Mediator {
        id: m,
        active: true,
    };
    let now = w.clock.now();
    let mut tx = w.store().begin().await.unwrap();
    assert!(
        connecting::app::outcome::record(&core, &mut tx, &mediator, job, true, None, now)
            .await
            .unwrap()
    );
    let request = tx.request_by_id(request_id).await.unwrap();
    connecting::app::notice::emit(
        &core,
        &mut tx,
        &connecting::app::notice::Notice::EvaluationQuestion {
            request,
            criteria: core.settings.criteria.clone(),
        },
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    request_id
}

/// Presses the marks one criterion at a time (the first on `first`, if already read); returns
/// the last press's answer.
async fn press_marks(
    w: &World,
    chat: i64,
    mut first: Option<botapi::BotMessage>,
    marks: &[i64],
) -> String {
    let mut last = String::new();
    for (i, mark) in marks.iter().enumerate() {
        if let Some(q) = first.take() {
            let id = w.fake.press(&q, &mark.to_string()).unwrap();
            last = w.answer(&id).await.unwrap_or_default();
            continue;
        }
        let q = w
            .fake
            .wait_for(chat, WAIT, |m| {
                m.labels() == vec!["1", "2", "3", "4", "5"]
                    && (if i == 0 {
                        m.text.contains("come valuta")
                    } else {
                        m.text.contains(&format!("({} di 5)", i + 1))
                    })
            })
            .await
            .unwrap_or_else(|| panic!("the question on criterion {}", i + 1));
        let id = w.fake.press(&q, &mark.to_string()).unwrap();
        last = w.answer(&id).await.unwrap_or_default();
    }
    last
}

both_backends!(
    a_full_evaluation_by_buttons_and_a_low_mark_asks_for_a_comment,
    |db| async move {
        let mut w = World::new(db).await;
        let giulia = w.operator("Giulia Rossi", Some(5300)).await;
        w.operator("Marco Bianchi", Some(5301)).await;
        let samira = w.mediator("Samira Haddad", 5310).await;

        // The five criteria, one at a time, in words.
        let first = evaluation_asked(&w, giulia, 5300, samira).await;
        let code = w.store().request_by_id(first).await.unwrap().code;
        let asked = w
            .fake
            .wait_for(5300, WAIT, |m| m.text.contains("come valuta"))
            .await
            .unwrap();
        assert!(
            asked
                .text
                .contains("1. Puntualità; 2. Accuratezza linguistica")
                && asked.text.contains("Iniziamo: Puntualità (1 di 5)"),
            "{}",
            asked.text
        );
        // A colleague pressing the last mark is refused.
        let forged = w
            .fake
            .push_callback(5301, 5301, 1, &format!("e:{first}:45345"));
        assert_eq!(w.answer(&forged).await.as_deref(), Some("Non autorizzato."));
        let last = press_marks(&w, 5300, Some(asked), &[4, 5, 3, 4, 5]).await;
        assert_eq!(last, format!("Grazie per la valutazione di {code}."));
        let mut scores = w.store().evaluation_scores(first).await.unwrap();
        scores.sort();
        assert_eq!(
            scores,
            vec![
                ("cultural_mediation".to_string(), 3),
                ("linguistic_accuracy".into(), 5),
                ("overall".into(), 5),
                ("punctuality".into(), 4),
                ("relation_with_family".into(), 4),
            ]
        );

        // A 2 without a comment: asked for one, nothing recorded until it comes.
        let second = evaluation_asked(&w, giulia, 5300, samira).await;
        let code2 = w.store().request_by_id(second).await.unwrap().code;
        let last = press_marks(&w, 5300, None, &[2, 4, 4, 4, 3]).await;
        assert_eq!(last, "Serve un commento.");
        let ask = w
            .fake
            .wait_for(5300, WAIT, |m| m.text.contains("scriva in un messaggio"))
            .await
            .expect("the comment is asked");
        assert!(ask.text.contains("2 o meno"), "{}", ask.text);
        assert_eq!(w.store().evaluation(second).await.unwrap(), None);
        let r = w
            .say(5300, "Il mediatore è arrivato con un'ora di ritardo.")
            .await;
        assert_eq!(r.text, format!("Grazie per la valutazione di {code2}."));
        assert_eq!(
            w.store().evaluation(second).await.unwrap(),
            Some((
                3,
                Some("Il mediatore è arrivato con un'ora di ritardo.".into())
            ))
        );
        // Her next message is a message again, not a comment.
        assert!(!w.store().has_evaluation_draft(5300).await.unwrap());
        w.stop().await;
    }
);

both_backends!(
    an_evaluation_by_email_with_marks_in_order,
    |db| async move {
        let store = db.store.clone();
        let (servers, smtp, stop) = mail_intake(&store);

        let w = dispatch_support::World::new(
            store.clone(),
            dispatch_support::at_rome(2027, 3, 1, 9, 0),
            DispatchSettings::default(),
        )
        .await;
        let amina = w.mediator("Amina", 401, &["ar"]).await;
        let code = w
            .request_with(
                "ar",
                dispatch_support::d(2027, 3, 2),
                dispatch_support::t(10, 0),
                60,
                |r| r.requester_email = Some("laura@comune.example.it".into()),
            )
            .await;
        let id = store.request(code).await.unwrap().id;
        let job = w.dispatcher.assign(code, amina.id, "cli").await.unwrap();
        // After the appointment the evaluation question goes out by email.
        w.clock.set(dispatch_support::at_rome(2027, 3, 2, 11, 30));
        w.dispatcher.run_due_timers().await.unwrap();
        assert!(
            w.dispatcher
                .record_outcome(job, amina.id, true, None)
                .await
                .unwrap()
        );
        let mut done = HashSet::new();
        let mut question = None;
        for _ in 0..200 {
            deliver_new(&store, &smtp, &mut done).await;
            question = servers
                .messages("laura", "INBOX")
                .await
                .into_iter()
                .find(|m| body_of(m).0.contains("Valutazione"));
            if question.is_some() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let question = question.expect("the evaluation question in Laura's mailbox");
        let (subject, body) = body_of(&question);
        assert!(subject.contains(&code.to_string()), "{subject}");
        assert!(
            body.contains("Puntualità") && body.contains("«4 5 3 4 5»"),
            "{body}"
        );
        let question_id =
            mail::header(&String::from_utf8_lossy(&question), "Message-ID").expect("Message-ID");
        let reply = |from: &str, n: u32, text: &str| {
            format!(
                "From: {from}\r\nTo: info@coop.example\r\nSubject: Re: {subject}\r\n\
                 Message-ID: <eval-{n}@comune.example.it>\r\nIn-Reply-To: {question_id}\r\n\
                 References: {question_id}\r\nDate: Wed, 3 Mar 2027 10:00:00 +0100\r\n\
                 Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
            )
        };
        let laura = "Laura Rossi <laura@comune.example.it>";
        // Sends `text` from `from` and returns the answer that lands in `user`'s mailbox.
        let mut seen = std::collections::HashMap::from([
            ("laura", servers.messages("laura", "INBOX").await.len()),
            ("marco", 0),
        ]);
        let mut n = 0;
        let mut send = async |user: &'static str, from: &str, text: &str| {
            n += 1;
            servers
                .append("info", "INBOX", reply(from, n, text).as_bytes())
                .await;
            let want = seen[user] + 1;
            for _ in 0..300 {
                deliver_new(&store, &smtp, &mut done).await;
                let got = servers.messages(user, "INBOX").await;
                if got.len() >= want {
                    seen.insert(user, want);
                    return body_of(&got[want - 1]).1;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
            panic!("no answer to {text:?} in {user}'s mailbox");
        };
        // Refused in words, nothing recorded: a mark out of range, too few marks, a low mark
        // without a comment, a colleague's marks.
        for (user, from, text, words) in [
            ("laura", laura, "4 9 3 4 5", "ogni voto va da 1 a 5"),
            ("laura", laura, "4 5 3", "servono 5 voti"),
            ("laura", laura, "2 4 4 4 3", "serve un commento"),
            (
                "marco",
                "Marco Bianchi <marco@comune.example.it>",
                "5 5 5 5 5",
                "non risulta tra quelle inviate da questo indirizzo",
            ),
        ] {
            let said = send(user, from, text).await;
            assert!(said.contains(words), "{text:?}: {said}");
            assert_eq!(store.evaluation(id).await.unwrap(), None, "{text:?}");
            assert!(store.evaluation_scores(id).await.unwrap().is_empty());
        }
        let said = send("laura", laura, "2 4 4 4 3\r\nIl mediatore era in ritardo.").await;
        assert!(said.contains("grazie per la valutazione"), "{said}");
        assert_eq!(
            store.evaluation(id).await.unwrap(),
            Some((3, Some("Il mediatore era in ritardo.".into())))
        );
        let rows = monthly_report(&store, "2027-03", None, chrono_tz::Europe::Rome)
            .await
            .unwrap();
        assert_eq!(
            rows[0]
                .criteria_averages
                .iter()
                .find(|(c, _)| c == "punctuality"),
            Some(&("punctuality".to_string(), 2.0))
        );
        assert_eq!(
            rows[0].comments,
            vec!["Il mediatore era in ritardo.".to_string()]
        );
        stop.send(true).unwrap();
    }
);
