//! The whole journey with real servers and the real binary: `connecting run` against a private
//! Dovecot (IMAP) and SMTP server, a local Bot API server and the database (PostgreSQL and
//! SQLite). A social worker's email lands in info@; the matching mediator gets the Telegram offer;
//! a tap on Accept; the social worker's mailbox receives the threaded confirmation naming the
//! mediator. The daemon's logs carry no personal data; SIGTERM stops it cleanly.

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
use daemon::{Daemon, MEDIATOR_CHAT, http_get, invite_code, register_people};
use std::time::{Duration, Instant};

fn config(db_url: &str, mail: &mail::MailServers, api: &botapi::FakeBotApi, http: u16) -> String {
    format!(
        r#"[database]
url = "{db_url}"

[telegram]
token = "{token}"
api_url = "{api_url}"
bot_username = "{bot}"

[imap]
host = "127.0.0.1"
port = {imap}
tls = "none"
username = "info"
password = "{password}"
processed_mailbox = "Elaborati"
poll_interval_secs = 1
idle = true

[smtp]
host = "127.0.0.1"
port = {smtp}
tls = "none"
from = "Cooperativa Mediazione <info@coop.example>"

[dispatch]
wave_size = 3

[http]
listen = "127.0.0.1:{http}"
"#,
        token = api.token,
        api_url = api.url,
        bot = botapi::BOT_USERNAME,
        imap = mail.imap_port,
        smtp = mail.smtp_port,
        password = mail::PASSWORD,
    )
}

async fn journey_by_email(db: common::TestDb) {
    let mail = mail::MailServers::start(&["info", "laura"]);
    let api = botapi::FakeBotApi::start().await;
    register_people(&db.store).await;
    let dir = tempfile::tempdir().unwrap();
    let http = mail::free_port();
    let mut daemon = Daemon::start(dir.path(), &config(&db.url, &mail, &api, http));
    let startup = daemon.wait_healthy().await;
    eprintln!("figure: start-up to healthy {} ms", startup.as_millis());

    let date = (Utc::now() + chrono::Duration::days(10))
        .date_naive()
        .format("%d/%m/%Y")
        .to_string();
    let body = format!(
        "Buongiorno,\r\navremmo bisogno di una mediatrice di lingua araba per un colloquio il {date} alle ore 14.30 \
         presso il servizio di Dalmine, via Roma 12, circa un'ora e mezza.\r\nGrazie,\r\nLaura Rossi 035 123456\r\n"
    );
    let raw = mail::message(
        "Laura Rossi <laura@comune-dalmine.example>",
        "info@coop.example",
        "Richiesta mediatrice araba",
        "req-1@comune-dalmine.example",
        &body,
    );
    let landed = Instant::now();
    mail.append("info", "INBOX", &raw).await;

    // The mediator gets the offer: no name, no address, two buttons.
    let offer = api
        .wait_for(MEDIATOR_CHAT, Duration::from_secs(20), |m| {
            !m.buttons.is_empty()
        })
        .await
        .unwrap_or_else(|| panic!("no offer reached the mediator:\n{}", daemon.log()));
    eprintln!(
        "figure: email landed -> offer sent {} ms",
        landed.elapsed().as_millis()
    );
    assert!(
        offer.text.contains("14:30") || offer.text.contains("14.30"),
        "{}",
        offer.text
    );
    for secret in ["Laura", "Rossi", "via Roma", "035"] {
        assert!(
            !offer.text.contains(secret),
            "offer leaks {secret:?}: {}",
            offer.text
        );
    }
    let data = offer
        .buttons
        .iter()
        .flatten()
        .next()
        .map(|(_, d)| d.clone())
        .unwrap();
    api.push_callback(MEDIATOR_CHAT, MEDIATOR_CHAT, offer.message_id, &data);

    // The winner gets the details.
    let details = api
        .wait_for(MEDIATOR_CHAT, Duration::from_secs(20), |m| {
            m.text.contains("via Roma")
        })
        .await
        .unwrap_or_else(|| panic!("the mediator did not get the details:\n{}", daemon.log()));
    assert!(
        details.text.contains("Laura Rossi") || details.text.contains("035"),
        "{}",
        details.text
    );

    // The social worker's mailbox: the acknowledgement and the confirmation, threaded.
    let deadline = Instant::now() + Duration::from_secs(30);
    let confirmation = loop {
        let msgs = mail.messages("laura", "INBOX").await;
        let found = msgs
            .iter()
            .map(|m| String::from_utf8_lossy(m).to_string())
            .find(|m| m.contains("Amina"));
        if let Some(m) = found {
            break m;
        }
        assert!(
            Instant::now() < deadline,
            "no confirmation in the social worker's mailbox:\n{}",
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let subject = mail::header(&confirmation, "Subject").unwrap_or_default();
    assert!(subject.contains("[MED-"), "{subject}");
    assert!(
        mail::header(&confirmation, "In-Reply-To")
            .is_some_and(|v| v.contains("req-1@comune-dalmine.example")),
        "{confirmation}"
    );
    assert!(
        mail::header(&confirmation, "References")
            .is_some_and(|v| v.contains("req-1@comune-dalmine.example"))
    );
    assert_eq!(
        mail::header(&confirmation, "Auto-Submitted"),
        Some("auto-replied".to_string())
    );

    let reqs = db.store.requests(&RequestFilter::default()).await.unwrap();
    assert_eq!(reqs.len(), 1, "exactly one request");
    assert!(
        matches!(
            reqs[0].status,
            RequestStatus::Assigned | RequestStatus::Confirmed
        ),
        "{:?}",
        reqs[0].status
    );
    // The email was moved out of INBOX only after it was committed.
    assert!(mail.messages("info", "INBOX").await.is_empty());
    assert_eq!(mail.messages("info", "Elaborati").await.len(), 1);

    let (code, metrics) = http_get(http, "/metrics").await.unwrap();
    assert_eq!(code, 200);
    assert!(
        metrics.contains("connecting_requests{channel=\"email\""),
        "{metrics}"
    );

    let log = daemon.log();
    let status = daemon.stop();
    assert!(status.success(), "exit {status}:\n{log}");
    for personal in [
        "Laura",
        "Rossi",
        "laura@",
        "035 123456",
        "via Roma",
        "Amina",
        "araba",
        "+39 333",
    ] {
        assert!(!log.contains(personal), "log carries {personal:?}:\n{log}");
    }
    assert!(
        log.contains(&reqs[0].code.to_string()),
        "the log names the request code"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_journey_by_email_on_postgresql() {
    journey_by_email(common::TestDb::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_journey_by_email_on_sqlite() {
    journey_by_email(common::TestDb::sqlite().await).await;
}

/// The journey by Telegram through the daemon: an invite printed by the CLI, `/start <code>`,
/// the request in one message, [Conferma], the mediator's [Accetto], the confirmation.
async fn journey_by_telegram(db: common::TestDb) {
    const OPERATOR_CHAT: i64 = 2001;
    let api = botapi::FakeBotApi::start().await;
    register_people(&db.store).await;
    let dir = tempfile::tempdir().unwrap();
    let code = invite_code(&db.url, dir.path(), "operator", 1, botapi::BOT_USERNAME);

    let http = mail::free_port();
    let cfg = format!(
        "[database]\nurl = \"{}\"\n[telegram]\ntoken = \"{}\"\napi_url = \"{}\"\n[http]\nlisten = \"127.0.0.1:{http}\"\n",
        db.url, api.token, api.url
    );
    let mut daemon = Daemon::start(dir.path(), &cfg);
    daemon.wait_healthy().await;

    api.push_text(OPERATOR_CHAT, &format!("/start {code}"));
    let welcome = api
        .next_to(OPERATOR_CHAT, Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("no welcome:\n{}", daemon.log()));
    assert!(welcome.text.contains("Laura"), "{}", welcome.text);

    let date = (Utc::now() + chrono::Duration::days(10))
        .date_naive()
        .format("%d/%m/%Y")
        .to_string();
    api.push_text(
        OPERATOR_CHAT,
        &format!("Serve una mediatrice di lingua araba per un colloquio il {date} alle 10.30, un'ora, in presenza a Dalmine"),
    );
    let summary = api
        .wait_for(OPERATOR_CHAT, Duration::from_secs(10), |m| {
            m.button("Conferma").is_some()
        })
        .await
        .unwrap_or_else(|| panic!("no summary:\n{}", daemon.log()));
    api.press(&summary, "Conferma");
    let queued = api
        .wait_for(OPERATOR_CHAT, Duration::from_secs(10), |m| {
            m.text.contains("MED-")
        })
        .await
        .unwrap_or_else(|| panic!("no request code:\n{}", daemon.log()));
    let request_code = connecting::domain::RequestCode::find_in(&queued.text).unwrap();

    let offer = api
        .wait_for(MEDIATOR_CHAT, Duration::from_secs(15), |m| {
            m.button("Accetto").is_some()
        })
        .await
        .unwrap_or_else(|| panic!("no offer:\n{}", daemon.log()));
    assert!(!offer.text.contains("Laura"), "{}", offer.text);
    api.press(&offer, "Accetto");
    let confirmation = api
        .wait_for(OPERATOR_CHAT, Duration::from_secs(15), |m| {
            m.text.contains("Amina")
        })
        .await
        .unwrap_or_else(|| panic!("the operator was not told who is coming:\n{}", daemon.log()));
    assert!(
        confirmation.text.contains(&request_code.to_string()),
        "{}",
        confirmation.text
    );
    let r = db.store.request(request_code).await.unwrap();
    assert!(
        matches!(r.status, RequestStatus::Assigned | RequestStatus::Confirmed),
        "{:?}",
        r.status
    );
    let log = daemon.log();
    assert!(daemon.stop().success());
    for personal in ["Laura", "Rossi", "Amina", "araba", "+39 333"] {
        assert!(!log.contains(personal), "log carries {personal:?}:\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_journey_by_telegram_on_postgresql() {
    journey_by_telegram(common::TestDb::postgres().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_whole_journey_by_telegram_on_sqlite() {
    journey_by_telegram(common::TestDb::sqlite().await).await;
}
