//! The whole journey with real servers and the real binary: `connecting run` against a private
//! Dovecot (IMAP) and SMTP server, a local Bot API server and the database (PostgreSQL and
//! SQLite). A social worker's email lands in info@; the matching mediator gets the Telegram offer;
//! a tap on Accept; the social worker's mailbox receives the threaded confirmation naming the
//! mediator. The daemon's logs carry no personal data; SIGTERM stops it cleanly.

#[path = "support/botapi.rs"]
mod botapi;
mod common;
#[path = "support/mail.rs"]
mod mail;

use chrono::Utc;
use connecting::domain::{Ambito, LanguageCode, RequestStatus};
use connecting::store::{NewMediator, NewOperator, RequestFilter, Store};
use std::io::Read as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MEDIATOR_CHAT: i64 = 1001;

struct Daemon {
    child: Child,
    log: std::path::PathBuf,
    http: u16,
}

impl Daemon {
    fn start(dir: &std::path::Path, config: &str) -> Daemon {
        let cfg = dir.join("connecting.toml");
        std::fs::write(&cfg, config).unwrap();
        let log = dir.join("daemon.log");
        let http = config
            .lines()
            .find_map(|l| l.strip_prefix("listen = \"127.0.0.1:"))
            .and_then(|p| p.trim_end_matches('"').parse().ok())
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_connecting"))
            .args(["run", "--config", cfg.to_str().unwrap()])
            .env(
                "CONNECTING_LOG",
                "debug,sqlx=warn,hyper=warn,reqwest=warn,h2=warn,rustls=warn",
            )
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start connecting run");
        Daemon { child, log, http }
    }

    fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    async fn wait_healthy(&mut self) -> Duration {
        let t0 = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("daemon exited early ({status}):\n{}", self.log());
            }
            if let Ok(body) = http_get(self.http, "/healthz").await
                && body.0 == 200
            {
                return t0.elapsed();
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "not healthy in 30 s:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "daemon did not stop within 30 s of SIGTERM:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A minimal HTTP/1.1 GET: (status, body).
async fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf).to_string();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((code, body))
}

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

async fn register_people(store: &Store) {
    store
        .add_operator(
            &NewOperator {
                name: "Laura Rossi".into(),
                email: Some("laura@comune-dalmine.example".into()),
                phone: Some("035 123456".into()),
                ente: "Comune di Dalmine".into(),
                ambito: Ambito::parse("Dalmine").unwrap(),
                telegram_id: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    store
        .add_mediator(
            &NewMediator {
                name: "Amina Benali".into(),
                phone: Some("+39 333 1000001".into()),
                email: None,
                telegram_id: Some(MEDIATOR_CHAT),
                gender: Some("f".parse().unwrap()),
                languages: vec![LanguageCode::parse("ar").unwrap()],
                ambiti: vec![Ambito::parse("Dalmine").unwrap()],
                availability: None,
                share_phone: true,
            },
            Utc::now(),
        )
        .await
        .unwrap();
}

fn header<'a>(raw: &'a str, name: &str) -> Option<&'a str> {
    raw.lines()
        .take_while(|l| !l.is_empty())
        .find(|l| {
            l.len() > name.len()
                && l[..name.len()].eq_ignore_ascii_case(name)
                && l.as_bytes()[name.len()] == b':'
        })
        .map(|l| l[name.len() + 1..].trim())
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
    let subject = header(&confirmation, "Subject").unwrap_or_default();
    assert!(subject.contains("[MED-"), "{subject}");
    assert!(
        header(&confirmation, "In-Reply-To")
            .is_some_and(|v| v.contains("req-1@comune-dalmine.example")),
        "{confirmation}"
    );
    assert!(
        header(&confirmation, "References")
            .is_some_and(|v| v.contains("req-1@comune-dalmine.example"))
    );
    assert_eq!(
        header(&confirmation, "Auto-Submitted"),
        Some("auto-replied")
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
    let invite = Command::new(env!("CARGO_BIN_EXE_connecting"))
        .args([
            "invite",
            "operator",
            "--id",
            "1",
            "--bot",
            botapi::BOT_USERNAME,
            "--json",
        ])
        .env("CONNECTING_DATABASE_URL", &db.url)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(
        invite.status.success(),
        "{}",
        String::from_utf8_lossy(&invite.stderr)
    );
    let invite: serde_json::Value = serde_json::from_slice(&invite.stdout).unwrap();
    let code = invite["code"].as_str().unwrap().to_string();

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
