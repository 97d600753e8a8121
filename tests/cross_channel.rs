//! The life of a request across channels, through the real binary (`connecting run`) with a
//! private Dovecot + SMTP server, the local Bot API server and the database (SQLite and
//! PostgreSQL): request -> offer -> accept -> confirmation -> cancellation by the requester ->
//! the mediator is told, no reminder or "si è svolto?" question is left to fire, and the late
//! flag is set when the cancellation comes under 24 hours before the start.
//!
//! The same story runs whichever channel the request came by (email, Telegram) and whichever
//! channel the cancellation came by (email, Telegram, CLI): a change of a request is the same
//! change from every entry point.

#[path = "support/botapi.rs"]
mod botapi;
#[path = "support/common.rs"]
mod common;
#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/mail.rs"]
mod mail;

use chrono::{Duration as ChronoDuration, Utc};
use chrono_tz::Europe::Rome;
use connecting::domain::{RequestCode, RequestStatus};
use connecting::store::{RequestFilter, Store};
use daemon::{Daemon, MEDIATOR_CHAT, full_config, invite_code, register_people};
use std::process::Command;
use std::time::{Duration, Instant};

const OPERATOR_CHAT: i64 = 2001;
const WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq)]
enum By {
    Email,
    Telegram,
    Cli,
}

struct Story<'a> {
    db: &'a common::TestDb,
    mail: &'a mail::MailServers,
    api: &'a botapi::FakeBotApi,
    daemon: &'a Daemon,
    seq: usize,
}

impl Story<'_> {
    fn store(&self) -> &Store {
        &self.db.store
    }

    fn cli(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_connecting"))
            .args(args)
            .env("CONNECTING_DATABASE_URL", &self.db.url)
            .env("CONNECTING_LOG", "warn")
            .output()
            .unwrap()
    }

    /// The appointment, local time: `hours` from now (rounded to the half hour).
    fn slot(hours: i64) -> (String, String) {
        let at = (Utc::now() + ChronoDuration::hours(hours)).with_timezone(&Rome);
        let date = at.format("%d/%m/%Y").to_string();
        let minute = if chrono::Timelike::minute(&at) < 30 {
            "00"
        } else {
            "30"
        };
        let time = format!("{}.{minute}", at.format("%H"));
        (date, time)
    }

    /// Laura asks for an Arabic mediator, by email or on Telegram; returns the request's code.
    async fn request(&mut self, by: By, hours_ahead: i64) -> RequestCode {
        self.seq += 1;
        let (date, time) = Self::slot(hours_ahead);
        let text = format!(
            "Serve una mediatrice di lingua araba per un colloquio il {date} alle ore {time}, \
             un'ora, in presenza presso il servizio di Dalmine, via Roma 12."
        );
        match by {
            By::Email => {
                let subject = format!("Richiesta mediatrice araba {}", self.seq);
                let raw = mail::message(
                    "Laura Rossi <laura@comune-dalmine.example>",
                    "info@coop.example",
                    &subject,
                    &format!("req-{}@comune-dalmine.example", self.seq),
                    &format!("Buongiorno,\r\n{text}\r\nGrazie,\r\nLaura Rossi\r\n"),
                );
                self.mail.append("info", "INBOX", &raw).await;
                let deadline = Instant::now() + WAIT;
                loop {
                    let found = self
                        .store()
                        .requests(&RequestFilter::default())
                        .await
                        .unwrap()
                        .into_iter()
                        .find(|r| r.subject.as_deref() == Some(subject.as_str()));
                    if let Some(r) = found {
                        break r.code;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "the email did not become a request:\n{}",
                        self.daemon.log()
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            By::Telegram => {
                // Codes already seen in this chat (a late answer about an earlier request
                // must not be taken for the new one).
                let known: Vec<RequestCode> = self
                    .api
                    .sent_to(OPERATOR_CHAT)
                    .iter()
                    .filter_map(|m| RequestCode::find_in(&m.text))
                    .collect();
                self.api.push_text(OPERATOR_CHAT, &text);
                let summary = self
                    .api
                    .wait_for(OPERATOR_CHAT, WAIT, |m| m.button("Conferma").is_some())
                    .await
                    .unwrap_or_else(|| panic!("no summary:\n{}", self.daemon.log()));
                self.api.press(&summary, "Conferma");
                let deadline = Instant::now() + WAIT;
                loop {
                    let code = self
                        .api
                        .sent_to(OPERATOR_CHAT)
                        .iter()
                        .filter_map(|m| RequestCode::find_in(&m.text))
                        .find(|c| !known.contains(c));
                    if let Some(c) = code {
                        break c;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "no request code on Telegram:\n{}",
                        self.daemon.log()
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            By::Cli => unreachable!("requests come by email or Telegram here"),
        }
    }

    /// Amina gets the offer (in words, nothing personal) and accepts it.
    async fn accept(&self, code: RequestCode) {
        let c = code.to_string();
        let offer = self
            .api
            .wait_for(MEDIATOR_CHAT, WAIT, |m| {
                m.text.contains(&c) && m.button("Accetto").is_some()
            })
            .await
            .unwrap_or_else(|| panic!("no offer for {c}:\n{}", self.daemon.log()));
        let text = botapi::strip_html(&offer.text);
        assert!(
            text.contains("arabo") && text.contains("colloquio") && text.contains("in presenza"),
            "the offer is not in words: {text}"
        );
        for leak in ["Laura", "Rossi", "via Roma", "in_person"] {
            assert!(!text.contains(leak), "offer shows {leak:?}: {text}");
        }
        assert!(
            !text.lines().any(|l| l.trim().ends_with(": ar")),
            "offer shows a language code: {text}"
        );
        self.api.press(&offer, "Accetto");
        self.api
            .wait_for(MEDIATOR_CHAT, WAIT, |m| {
                m.text.contains(&c) && m.text.contains("via Roma")
            })
            .await
            .unwrap_or_else(|| panic!("no details for {c}:\n{}", self.daemon.log()));
    }

    /// The requester learns who is coming, on the channel the request came by.
    async fn confirmation(&self, code: RequestCode, by: By) {
        let c = code.to_string();
        match by {
            By::Email => {
                let deadline = Instant::now() + WAIT;
                loop {
                    let found = self
                        .mail
                        .messages("laura", "INBOX")
                        .await
                        .iter()
                        .map(|m| String::from_utf8_lossy(m).to_string())
                        .any(|m| m.contains(&c) && m.contains("Amina"));
                    if found {
                        break;
                    }
                    assert!(
                        Instant::now() < deadline,
                        "no confirmation email for {c}:\n{}",
                        self.daemon.log()
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            _ => {
                self.api
                    .wait_for(OPERATOR_CHAT, WAIT, |m| {
                        m.text.contains(&c) && m.text.contains("Amina")
                    })
                    .await
                    .unwrap_or_else(|| {
                        panic!(
                            "no confirmation on Telegram for {c}:\n{}",
                            self.daemon.log()
                        )
                    });
            }
        }
        let deadline = Instant::now() + WAIT;
        while self.store().request(code).await.unwrap().status != RequestStatus::Confirmed {
            assert!(Instant::now() < deadline, "{c} never confirmed");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Laura cancels, by email, on Telegram, or a coordinator from the CLI.
    async fn cancel(&mut self, code: RequestCode, by: By) {
        let c = code.to_string();
        match by {
            By::Email => {
                self.seq += 1;
                let raw = mail::message(
                    "Laura Rossi <laura@comune-dalmine.example>",
                    "info@coop.example",
                    &format!("Re: [{c}] Richiesta mediatrice"),
                    &format!("cancel-{}@comune-dalmine.example", self.seq),
                    "Buongiorno, annullo la richiesta: la famiglia si è trasferita.\r\nLaura Rossi\r\n",
                );
                self.mail.append("info", "INBOX", &raw).await;
            }
            By::Telegram => {
                self.api.push_text(OPERATOR_CHAT, &format!("/annulla {c}"));
            }
            By::Cli => {
                let out = self.cli(&["request", "cancel", &c]);
                assert!(
                    out.status.success(),
                    "{}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }

    /// What every cancellation must leave behind, whatever its channel.
    async fn after_cancellation(&self, code: RequestCode, late: bool) {
        let c = code.to_string();
        let told = self
            .api
            .wait_for(MEDIATOR_CHAT, WAIT, |m| {
                m.text.contains(&c) && m.text.to_lowercase().contains("annullat")
            })
            .await
            .unwrap_or_else(|| panic!("the mediator was not told of {c}:\n{}", self.daemon.log()));
        if late {
            assert!(
                told.text.contains("24"),
                "a late cancellation says so: {}",
                told.text
            );
        }
        let r = self.store().request(code).await.unwrap();
        assert_eq!(r.status, RequestStatus::Cancelled, "{c}");
        assert_eq!(r.late_cancellation, late, "{c}: late flag");
        let timers = self.store().pending_timers(r.id).await.unwrap();
        assert!(
            timers.is_empty(),
            "{c}: timers left to fire after the cancellation: {timers:?}"
        );
    }
}

async fn stories(db: common::TestDb) {
    let mail = mail::MailServers::start(&["info", "laura"]);
    let api = botapi::FakeBotApi::start().await;
    register_people(&db.store).await;
    let dir = tempfile::tempdir().unwrap();

    // Laura links her Telegram account with the one-time code a coordinator gives her.
    let invite_code = invite_code(&db.url, dir.path(), "operator", 1, botapi::BOT_USERNAME);

    let http = mail::free_port();
    let cfg = full_config(
        &db.url,
        mail.imap_port,
        mail.smtp_port,
        &api.token,
        &api.url,
        http,
    );
    let mut daemon = Daemon::start(dir.path(), &cfg);
    daemon.wait_healthy().await;
    api.push_text(OPERATOR_CHAT, &format!("/start {invite_code}"));
    api.wait_for(OPERATOR_CHAT, WAIT, |m| m.text.contains("Laura"))
        .await
        .unwrap_or_else(|| panic!("no welcome:\n{}", daemon.log()));

    let mut story = Story {
        db: &db,
        mail: &mail,
        api: &api,
        daemon: &daemon,
        seq: 0,
    };
    let cases = [
        (By::Email, By::Email, false),
        (By::Email, By::Telegram, false),
        (By::Email, By::Cli, false),
        (By::Telegram, By::Email, false),
        (By::Telegram, By::Telegram, false),
        (By::Telegram, By::Cli, false),
        (By::Email, By::Email, true),
        (By::Email, By::Telegram, true),
        (By::Email, By::Cli, true),
    ];
    for (i, (requested, cancelled, late)) in cases.into_iter().enumerate() {
        let hours = if late { 20 } else { 72 + 24 * i as i64 };
        let code = story.request(requested, hours).await;
        eprintln!("story {i}: {code} by {requested:?}, cancelled by {cancelled:?}, late {late}");
        story.accept(code).await;
        story.confirmation(code, requested).await;
        story.cancel(code, cancelled).await;
        story.after_cancellation(code, late).await;
    }
    assert!(daemon.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancellation_is_the_same_from_every_channel_on_sqlite() {
    stories(common::TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_cancellation_is_the_same_from_every_channel_on_postgresql() {
    stories(common::TestDb::postgres().await).await;
}
