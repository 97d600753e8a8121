//! `kill -9` of `connecting run` in the middle of a burst, and a restart: 100 emails land in
//! info@ (real Dovecot) and 100 operators write to the bot (real teloxide client against the
//! local Bot API server) while the daemon is killed and started again. Afterwards every request
//! exists exactly once, every email was moved out of INBOX once, and every requester got the
//! assigned mediator's confirmation: exactly once per request, or — for a message the daemon
//! had handed to the channel when it was killed — repeated as the outbox documents (the same
//! Message-ID for email; one identical second Telegram message, at most one per row in flight).
//! Also: a second SIGTERM during the bounded shutdown wait exits at once.

#[path = "support/botapi.rs"]
mod botapi;
#[path = "support/common.rs"]
mod common;
#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/mail.rs"]
mod mail;

use chrono::Utc;
use connecting::domain::RequestStatus;
use connecting::store::RequestFilter;
use daemon::{Daemon, MEDIATORS, full_config, register_team};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const EMAILS: usize = 100;
const CHATS: usize = 100;
const OPERATOR_CHAT0: i64 = 3000;
/// Request `k` (0..200) gets its own slot: four a day, two and a half hours apart.
fn slot(k: usize) -> (String, String) {
    let day = (Utc::now() + chrono::Duration::days(10 + (k / 4) as i64))
        .date_naive()
        .format("%d/%m/%Y")
        .to_string();
    let time = ["08.00", "10.30", "13.00", "15.30"][k % 4].to_string();
    (day, time)
}

async fn crash_and_restart(db: common::TestDb) {
    let mail = mail::MailServers::start(&["info", "laura"]);
    let api = Arc::new(botapi::FakeBotApi::start().await);
    register_team(&db.store, OPERATOR_CHAT0, CHATS).await;
    let dir = tempfile::tempdir().unwrap();
    let http = mail::free_port();
    let cfg = full_config(
        &db.url,
        mail.imap_port,
        mail.smtp_port,
        &api.token,
        &api.url,
        http,
    );
    let mut first = Daemon::start(dir.path(), &cfg);
    first.wait_healthy().await;

    let stop_tapping = Arc::new(AtomicBool::new(false));
    // Mediators accept and operators confirm, as fast as they can tap.
    let targets = MEDIATORS
        .iter()
        .map(|(_, c)| (*c, "Accetto"))
        .chain((0..CHATS).map(|i| (OPERATOR_CHAT0 + i as i64, "Conferma")))
        .collect();
    let tappers = botapi::spawn_tapper(api.clone(), targets, stop_tapping.clone());

    // The burst: emails into info@ and texts to the bot, interleaved.
    let feeder = {
        let api = api.clone();
        let imap = mail.imap_port;
        tokio::spawn(async move {
            let _ = imap;
            for i in 0..CHATS {
                let (day, time) = slot(EMAILS + i);
                api.push_text(
                    OPERATOR_CHAT0 + i as i64,
                    &format!(
                        "Serve una mediatrice di lingua araba per un colloquio il {day} alle {time}, un'ora, in presenza a Dalmine"
                    ),
                );
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
        })
    };
    for i in 0..EMAILS {
        let (day, time) = slot(i);
        let body = format!(
            "Buongiorno,\r\nserve una mediatrice di lingua araba per un colloquio il {day} alle ore {time} \
             presso il servizio di Dalmine, via Roma {n}, circa un'ora.\r\nGrazie,\r\nLaura Rossi 035 123456\r\n",
            n = i + 1
        );
        let raw = mail::message(
            "Laura Rossi <laura@comune-dalmine.example>",
            "info@coop.example",
            &format!("Richiesta mediatrice araba n. {}", i + 1),
            &format!("crash-{i}@comune-dalmine.example"),
            &body,
        );
        mail.append("info", "INBOX", &raw).await;
        // Kill -9 in the thick of it: once some requests are in, while mail is still landing.
        if i == EMAILS / 3 {
            let deadline = Instant::now() + Duration::from_secs(30);
            while db
                .store
                .requests(&RequestFilter::default())
                .await
                .unwrap()
                .len()
                < 20
            {
                assert!(
                    Instant::now() < deadline,
                    "nothing processed:\n{}",
                    first.log()
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            first.child.kill().unwrap(); // SIGKILL
            first.child.wait().unwrap();
            eprintln!(
                "killed with {} requests in the store",
                db.store
                    .requests(&RequestFilter::default())
                    .await
                    .unwrap()
                    .len()
            );
        }
    }
    feeder.await.unwrap();

    // Restart on the same database and configuration.
    let dir2 = tempfile::tempdir().unwrap();
    let mut second = Daemon::start(dir2.path(), &cfg);
    second.wait_healthy().await;

    // Everything arrives: 200 requests, each with a mediator, each requester told who comes.
    let mediator_names: Vec<&str> = MEDIATORS.iter().map(|(n, _)| *n).collect();
    let names_one = |t: &str| mediator_names.iter().any(|n| t.contains(n));
    let deadline = Instant::now() + Duration::from_secs(240);
    let (email_confirmations, tg_confirmations) = loop {
        let email: Vec<String> = mail
            .messages("laura", "INBOX")
            .await
            .iter()
            .map(|m| String::from_utf8_lossy(m).to_string())
            .filter(|m| names_one(m))
            .collect();
        let tg: HashMap<i64, usize> = (0..CHATS)
            .map(|i| {
                let chat = OPERATOR_CHAT0 + i as i64;
                let n = api
                    .sent_to(chat)
                    .iter()
                    .filter(|m| m.kind == botapi::ActionKind::Sent && names_one(&m.text))
                    .count();
                (chat, n)
            })
            .collect();
        let email_codes: HashSet<String> = email
            .iter()
            .filter_map(|m| mail::header(m, "Subject"))
            .filter_map(|s| connecting::domain::RequestCode::find_in(&s).map(|c| c.to_string()))
            .collect();
        if email_codes.len() >= EMAILS && tg.values().all(|n| *n >= 1) {
            break (email, tg);
        }
        assert!(
            Instant::now() < deadline,
            "not every requester was confirmed: {} of {EMAILS} emails, {} of {CHATS} chats\n{}",
            email_codes.len(),
            tg.values().filter(|n| **n >= 1).count(),
            second.log()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    // Let anything still in the outbox go out before counting duplicates.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop_tapping.store(true, Ordering::Relaxed);
    tappers.await.unwrap();

    // Every request exactly once.
    let reqs = db.store.requests(&RequestFilter::default()).await.unwrap();
    let by_channel = |c: &str| reqs.iter().filter(|r| r.channel.to_string() == c).count();
    assert_eq!(reqs.len(), EMAILS + CHATS, "requests: {}", reqs.len());
    assert_eq!(by_channel("email"), EMAILS);
    assert_eq!(by_channel("telegram"), CHATS);
    for r in &reqs {
        assert!(
            matches!(r.status, RequestStatus::Assigned | RequestStatus::Confirmed),
            "{} is {:?}",
            r.code,
            r.status
        );
    }
    // Every email moved out of INBOX exactly once.
    assert!(mail.messages("info", "INBOX").await.is_empty());
    assert_eq!(mail.messages("info", "Elaborati").await.len(), EMAILS);

    // Confirmations: by email one Message-ID per request (a repeat after the kill would carry the
    // same one); by Telegram at most one repeat per chat, and few in all.
    let mut ids_by_code: HashMap<String, HashSet<String>> = HashMap::new();
    for m in &email_confirmations {
        let code = mail::header(m, "Subject")
            .and_then(|s| connecting::domain::RequestCode::find_in(&s).map(|c| c.to_string()))
            .unwrap();
        ids_by_code
            .entry(code)
            .or_default()
            .insert(mail::header(m, "Message-ID").unwrap_or_default());
    }
    assert_eq!(ids_by_code.len(), EMAILS);
    for (code, ids) in &ids_by_code {
        assert_eq!(
            ids.len(),
            1,
            "{code} was confirmed by {} different emails",
            ids.len()
        );
    }
    let email_repeats = email_confirmations.len() - EMAILS;
    let tg_repeats: usize = tg_confirmations.values().map(|n| n - 1).sum();
    assert!(
        tg_confirmations.values().all(|n| *n <= 2),
        "{tg_confirmations:?}"
    );
    eprintln!(
        "figure: after kill -9 and restart: {} requests, email confirmations repeated {email_repeats}, telegram {tg_repeats}",
        reqs.len()
    );
    assert!(
        email_repeats + tg_repeats <= 10,
        "more repeats than messages in flight: email {email_repeats}, telegram {tg_repeats}"
    );
    assert!(second.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_a_burst_loses_and_doubles_nothing_on_postgresql() {
    crash_and_restart(common::TestDb::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill_9_during_a_burst_loses_and_doubles_nothing_on_sqlite() {
    crash_and_restart(common::TestDb::sqlite().await).await;
}

/// SIGTERM waits (bounded) for an email stuck on an SMTP server that never answers; a second
/// SIGTERM exits at once, and the message is still pending for the next start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_signal_exits_at_once() {
    use connecting::outbox::{EmailPayload, Payload};
    let db = common::TestDb::sqlite().await;
    // An SMTP server that accepts connections and never says a word.
    let black_hole = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let smtp_port = black_hole.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in black_hole.incoming().flatten() {
            held.push(s);
        }
    });
    let outbox_id = {
        let mut tx = db.store.begin().await.unwrap();
        let id = tx
            .enqueue(
                "second-signal",
                None,
                &Payload::Email(EmailPayload {
                    to: "laura@comune-dalmine.example".into(),
                    subject: "Prova".into(),
                    body: "Prova".into(),
                    message_id: "<second-signal@coop.example>".into(),
                    in_reply_to: None,
                    references: vec![],
                    calendar: None,
                }),
                Utc::now(),
            )
            .await
            .unwrap();
        tx.commit().await.unwrap();
        id
    };
    let dir = tempfile::tempdir().unwrap();
    let http = mail::free_port();
    let mut d = Daemon::start(
        dir.path(),
        &format!(
            "[database]\nurl = \"{}\"\n[smtp]\nhost = \"127.0.0.1\"\nport = {smtp_port}\ntls = \"none\"\nfrom = \"info@coop.example\"\n[http]\nlisten = \"127.0.0.1:{http}\"\n",
            db.url
        ),
    );
    d.wait_healthy().await;
    // The worker has claimed the row and waits for the server's greeting.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut tx = db.store.begin().await.unwrap();
        let (status, _) = tx.outbox_state(outbox_id).await.unwrap();
        tx.commit().await.unwrap();
        if status != connecting::domain::OutboxStatus::Pending {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the outbox never claimed the row"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let pid = d.child.id().to_string();
    let term = || {
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
    };
    term();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        d.child.try_wait().unwrap().is_none(),
        "the first signal should wait for the delivery in flight:\n{}",
        d.log()
    );
    let t0 = Instant::now();
    term();
    let status = loop {
        if let Some(s) = d.child.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "a second signal did not exit at once:\n{}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(!status.success());
    assert!(d.log().contains("second signal"), "{}", d.log());
    // Nothing was marked sent: the row is delivered again after its lease.
    let mut tx = db.store.begin().await.unwrap();
    let (status, external) = tx.outbox_state(outbox_id).await.unwrap();
    tx.commit().await.unwrap();
    assert_ne!(status, connecting::domain::OutboxStatus::Sent);
    assert!(external.is_none());
}
