//! The outbox against channels that say no, end to end through `connecting run`: the SMTP
//! server answers 4xx to the first deliveries and the Bot API answers a storm of 429s; the
//! outbox backs off and delivers everything later, once. A 5xx is a dead letter: the
//! coordinator is alerted, `connecting outbox dead` lists it, `connecting outbox retry` sends it.

#[path = "support/botapi.rs"]
mod botapi;
#[path = "support/common.rs"]
mod common;
#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/mail.rs"]
mod mail;

use chrono::Utc;
use daemon::{Daemon, MEDIATOR_CHAT, register_people};
use std::process::Command;
use std::time::{Duration, Instant};

const COORDINATOR_CHAT: i64 = 4242;

/// The burst tests' daemon configuration, with quick retries.
fn config(db_url: &str, mail: &mail::MailServers, api: &botapi::FakeBotApi, http: u16) -> String {
    daemon::full_config(
        db_url,
        mail.imap_port,
        mail.smtp_port,
        &api.token,
        &api.url,
        http,
    ) + "\n[outbox]\nretry_base_secs = 1\nretry_cap_secs = 3\n"
}

fn request_email(n: usize) -> Vec<u8> {
    let date = (Utc::now() + chrono::Duration::days(10 + n as i64))
        .date_naive()
        .format("%d/%m/%Y")
        .to_string();
    mail::message(
        "Laura Rossi <laura@comune-dalmine.example>",
        "info@coop.example",
        &format!("Richiesta mediatrice araba {n}"),
        &format!("faults-{n}@comune-dalmine.example"),
        &format!(
            "Buongiorno,\r\nserve una mediatrice di lingua araba per un colloquio il {date} alle ore 10.00 \
             presso il servizio di Dalmine, circa un'ora.\r\nLaura Rossi\r\n"
        ),
    )
}

/// laura's mailbox, waiting until `pred` holds for it.
async fn laura_until(
    mail: &mail::MailServers,
    daemon: &Daemon,
    what: &str,
    pred: impl Fn(&[String]) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let msgs: Vec<String> = mail
            .messages("laura", "INBOX")
            .await
            .iter()
            .map(|m| String::from_utf8_lossy(m).to_string())
            .collect();
        if pred(&msgs) {
            return msgs;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: laura has {} messages\n{}",
            msgs.len(),
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn cli(db_url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_connecting"))
        .args(args)
        .env("CONNECTING_DATABASE_URL", db_url)
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap()
}

async fn refusals_then_delivery(db: common::TestDb) {
    let mail = mail::MailServers::start(&["info", "laura"]);
    let api = botapi::FakeBotApi::start().await;
    register_people(&db.store).await;
    db.store
        .add_coordinator(
            &connecting::store::NewCoordinator {
                name: "Giulia".into(),
                telegram_id: Some(COORDINATOR_CHAT),
                email: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();

    // Temporary refusals from both channels.
    let smtp_faults = [
        "451 4.3.0 mailbox busy, try again later",
        "421 4.3.2 service not available",
        "452 4.2.2 over quota for now",
    ];
    mail.smtp_faults(&smtp_faults);
    const STORM: u64 = 6;
    for _ in 0..STORM {
        api.inject_429("sendMessage", 1);
    }
    let dir = tempfile::tempdir().unwrap();
    let http = mail::free_port();
    let mut daemon = Daemon::start(dir.path(), &config(&db.url, &mail, &api, http));
    daemon.wait_healthy().await;
    mail.append("info", "INBOX", &request_email(1)).await;

    // Through the 429 storm the mediator still gets the offer, once.
    let offer = api
        .wait_for(MEDIATOR_CHAT, Duration::from_secs(60), |m| {
            m.button("Accetto").is_some()
        })
        .await
        .unwrap_or_else(|| panic!("no offer through the 429 storm:\n{}", daemon.log()));
    assert!(
        api.calls("sendMessage") > STORM,
        "the storm was not met: {} calls",
        api.calls("sendMessage")
    );
    api.press(&offer, "Accetto");

    // Through the SMTP refusals laura gets the acknowledgement and the confirmation, once each.
    let msgs = laura_until(&mail, &daemon, "acknowledgement and confirmation", |m| {
        m.iter().any(|x| x.contains("Amina"))
    })
    .await;
    assert_eq!(
        mail.smtp_faults_served(),
        smtp_faults.to_vec(),
        "every scripted refusal was met"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let msgs_after: Vec<Vec<u8>> = mail.messages("laura", "INBOX").await;
    assert_eq!(
        msgs_after.len(),
        2,
        "acknowledgement + confirmation, once each"
    );
    let ids: std::collections::HashSet<_> = msgs
        .iter()
        .filter_map(|m| mail::header(m, "Message-ID"))
        .collect();
    assert_eq!(ids.len(), 2);
    assert_eq!(
        api.sent_to(MEDIATOR_CHAT)
            .iter()
            .filter(|m| m.button("Accetto").is_some() && m.kind == botapi::ActionKind::Sent)
            .count(),
        1,
        "one offer, not one per retry"
    );
    assert!(db.store.outbox_dead().await.unwrap().is_empty());

    // A permanent refusal: dead letter, the coordinator is told, and a retry delivers it.
    mail.smtp_faults(&["550 5.2.2 mailbox full"]);
    mail.append("info", "INBOX", &request_email(2)).await;
    let alert = api
        .wait_for(COORDINATOR_CHAT, Duration::from_secs(60), |m| {
            m.text.contains("outbox retry")
        })
        .await
        .unwrap_or_else(|| panic!("no dead-letter alert:\n{}", daemon.log()));
    let dead = cli(&db.url, &["--json", "outbox", "dead"]);
    assert!(
        dead.status.success(),
        "{}",
        String::from_utf8_lossy(&dead.stderr)
    );
    let dead: serde_json::Value = serde_json::from_slice(&dead.stdout).unwrap();
    let dead = dead.as_array().unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0]["to"], "laura@comune-dalmine.example");
    assert!(
        dead[0]["error"].as_str().unwrap_or("").contains("550"),
        "{dead:?}"
    );
    let id = dead[0]["id"].as_i64().unwrap();
    assert!(alert.text.contains(&id.to_string()), "{}", alert.text);
    assert_eq!(mail.messages("laura", "INBOX").await.len(), 2);

    let retry = cli(&db.url, &["outbox", "retry", &id.to_string()]);
    assert!(
        retry.status.success(),
        "{}",
        String::from_utf8_lossy(&retry.stderr)
    );
    laura_until(&mail, &daemon, "the retried acknowledgement", |m| {
        m.len() == 3
    })
    .await;
    assert!(db.store.outbox_dead().await.unwrap().is_empty());
    let again = cli(&db.url, &["outbox", "retry", &id.to_string()]);
    assert!(
        !again.status.success(),
        "a delivered row is not a dead letter"
    );
    assert!(daemon.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refusals_are_retried_and_dead_letters_resent_on_sqlite() {
    refusals_then_delivery(common::TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn refusals_are_retried_and_dead_letters_resent_on_postgresql() {
    refusals_then_delivery(common::TestDb::postgres().await).await;
}
