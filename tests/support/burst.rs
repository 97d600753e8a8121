//! A burst of requests against `connecting run` with real servers, shared by the load test
//! (which asserts that nothing is lost or doubled and the bot keeps answering) and the burst
//! bench (which prints the figures): `emails` requests land in info@ (private Dovecot), `chats`
//! operators each send a request to the bot and confirm it, while a probe operator asks the
//! bot for /aiuto over and over and times each answer.
//!
//! Include after `botapi`, `daemon` and `mail` with `#[path = "support/burst.rs"] mod burst;`.
#![allow(dead_code)]

use crate::botapi::{ActionKind, FakeBotApi};
use crate::daemon::{Daemon, dense_slot, full_config, memory_kib, register_team};
use crate::mail::{self, MailServers};
use chrono::Utc;
use connecting::store::{NewOperator, RequestFilter, Store};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub const FIRST_CHAT: i64 = 20_000;
pub const PROBE_CHAT: i64 = 9_999;

pub struct BurstReport {
    pub requests: usize,
    pub by_channel: HashMap<String, usize>,
    /// Acknowledgements laura's mailbox received.
    pub email_acks: usize,
    /// Operators' chats that got their request code, and how many times each.
    pub telegram_codes: HashMap<i64, usize>,
    /// Time from the first message to the last request committed and answered.
    pub elapsed: Duration,
    /// The probe's /aiuto -> answer times during the burst, milliseconds, sorted.
    pub probe_ms: Vec<f64>,
    /// Probes that got no answer within 30 s.
    pub probes_unanswered: usize,
    pub rss_idle_kib: u64,
    pub rss_peak_kib: u64,
    pub log: String,
}

impl BurstReport {
    pub fn pct(&self, p: f64) -> f64 {
        if self.probe_ms.is_empty() {
            return f64::NAN;
        }
        let i = ((self.probe_ms.len() as f64 - 1.0) * p).round() as usize;
        self.probe_ms[i.min(self.probe_ms.len() - 1)]
    }
}

pub async fn run(db_url: &str, store: &Store, emails: usize, chats: usize) -> BurstReport {
    let mail = MailServers::start(&["info", "laura"]);
    let api = Arc::new(FakeBotApi::start().await);
    register_team(store, FIRST_CHAT, chats).await;
    store
        .add_operator(
            &NewOperator {
                name: "Sonda".into(),
                email: None,
                phone: None,
                ente: "Comune di Dalmine".into(),
                ambito: connecting::domain::Ambito::parse("Dalmine").unwrap(),
                telegram_id: Some(PROBE_CHAT),
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let http = mail::free_port();
    let cfg = full_config(
        db_url,
        mail.imap_port,
        mail.smtp_port,
        &api.token,
        &api.url,
        http,
    );
    let mut daemon = Daemon::start(dir.path(), &cfg);
    daemon.wait_healthy().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (rss_idle_kib, _) = memory_kib(daemon.child.id());

    let stop = Arc::new(AtomicBool::new(false));
    let operators = (0..chats)
        .map(|i| (FIRST_CHAT + i as i64, "Conferma"))
        .collect();
    crate::botapi::spawn_tapper(api.clone(), operators, stop.clone());

    // The probe: /aiuto, wait for the answer, again, until the burst is over.
    let probe = {
        let api = api.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut ms = Vec::new();
            let mut unanswered = 0;
            while !stop.load(Ordering::Relaxed) {
                let t0 = Instant::now();
                api.push_text(PROBE_CHAT, "/aiuto");
                match api
                    .wait_for(PROBE_CHAT, Duration::from_secs(30), |m| {
                        m.kind == ActionKind::Sent
                    })
                    .await
                {
                    Some(m) => ms.push(m.at.saturating_duration_since(t0).as_secs_f64() * 1e3),
                    None => unanswered += 1,
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (ms, unanswered)
        })
    };

    let started = Instant::now();
    // Telegram: every operator writes, spread over the same seconds as the mail.
    let feeder = {
        let api = api.clone();
        tokio::spawn(async move {
            for i in 0..chats {
                let (day, time) = dense_slot(i);
                api.push_text(
                    FIRST_CHAT + i as i64,
                    &format!(
                        "Serve una mediatrice di lingua araba per un colloquio il {day} alle {time}, un'ora, in presenza a Dalmine"
                    ),
                );
                if i % 10 == 9 {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            }
        })
    };
    for i in 0..emails {
        let (day, time) = dense_slot(i);
        let raw = mail::message(
            "Laura Rossi <laura@comune-dalmine.example>",
            "info@coop.example",
            &format!("Richiesta mediatrice araba n. {}", i + 1),
            &format!("burst-{i}@comune-dalmine.example"),
            &format!(
                "Buongiorno,\r\nserve una mediatrice di lingua araba per un colloquio il {day} alle ore {time} \
                 presso il servizio di Dalmine, circa un'ora.\r\nLaura Rossi\r\n"
            ),
        );
        mail.append("info", "INBOX", &raw).await;
    }
    feeder.await.unwrap();

    // Done when every request is in and every requester has been answered.
    let deadline = Instant::now() + Duration::from_secs(600);
    let mut rss_peak_kib = 0;
    let (email_acks, telegram_codes) = loop {
        rss_peak_kib = rss_peak_kib.max(memory_kib(daemon.child.id()).1);
        let acks = mail.messages("laura", "INBOX").await.len();
        let codes: HashMap<i64, usize> = (0..chats)
            .map(|i| {
                let chat = FIRST_CHAT + i as i64;
                let n = api
                    .sent_to(chat)
                    .iter()
                    .filter(|m| {
                        m.kind == ActionKind::Sent
                            && connecting::domain::RequestCode::find_in(&m.text).is_some()
                    })
                    .count();
                (chat, n)
            })
            .collect();
        let answered = codes.values().filter(|n| **n >= 1).count();
        if acks >= emails && answered == chats {
            break (acks, codes);
        }
        assert!(
            Instant::now() < deadline,
            "burst not processed in 10 minutes: {acks} of {emails} acknowledgements, {answered} of {chats} chats\n{}",
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let elapsed = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let (mut probe_ms, probes_unanswered) = probe.await.unwrap();
    probe_ms.sort_by(|a, b| a.total_cmp(b));
    // Anything still in flight (offers) settles before counting.
    tokio::time::sleep(Duration::from_secs(1)).await;
    rss_peak_kib = rss_peak_kib.max(memory_kib(daemon.child.id()).1);
    let email_acks = email_acks.max(mail.messages("laura", "INBOX").await.len());

    let reqs = store.requests(&RequestFilter::default()).await.unwrap();
    let mut by_channel: HashMap<String, usize> = HashMap::new();
    for r in &reqs {
        *by_channel.entry(r.channel.to_string()).or_default() += 1;
    }
    let log = daemon.log();
    assert!(daemon.stop().success());
    BurstReport {
        requests: reqs.len(),
        by_channel,
        email_acks,
        telegram_codes,
        elapsed,
        probe_ms,
        probes_unanswered,
        rss_idle_kib,
        rss_peak_kib,
        log,
    }
}
