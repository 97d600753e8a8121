//! End to end with real servers: a private Dovecot (IMAP + LMTP), a real SMTP server delivering
//! into it, and the real store (SQLite and PostgreSQL).
//!
//! - A social worker's request APPENDed to info@'s INBOX becomes a request in the store; the
//!   acknowledgement travels through the outbox payload, SMTP and LMTP into the social worker's
//!   mailbox with the threading headers; her reply with the missing field merges into the same
//!   request.
//! - The IMAP connection is cut again and again and the poller restarted while 100 messages
//!   arrive: exactly 100 requests, none twice.

#[path = "support/common.rs"]
mod common;
#[path = "support/mail.rs"]
mod mail;

use connecting::channels::email::imap::{ImapConfig, Poller, TlsMode};
use connecting::channels::email::smtp::{SmtpConfig, SmtpTransport};
use connecting::channels::email::{Intake, IntakeConfig};
use connecting::clock::SystemClock;
use connecting::domain::RequestStatus;
use connecting::outbox::Transport;
use connecting::store::{RequestFilter, Store};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

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

fn imap_config(port: u16) -> ImapConfig {
    let mut c = ImapConfig::new("127.0.0.1", port, TlsMode::None, "info", mail::PASSWORD);
    c.allow_plaintext = true;
    c.backoff_min = Duration::from_millis(50);
    c.backoff_max = Duration::from_millis(500);
    c.io_timeout = Duration::from_secs(10);
    c
}

fn spawn(cfg: ImapConfig, sink: Arc<Intake>) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = watch::channel(false);
    (tx, tokio::spawn(Poller::new(cfg, sink, rx).run()))
}

/// Delivers the outbox rows not delivered yet (the outbox worker's job, reduced to its core).
async fn deliver_new(store: &Store, smtp: &SmtpTransport, done: &mut HashSet<i64>) -> usize {
    let mut n = 0;
    for row in store.outbox_all().await.unwrap() {
        if done.insert(row.id) {
            smtp.deliver(&row.payload).await.expect("delivered");
            n += 1;
        }
    }
    n
}

async fn wait_until<F, Fut>(timeout: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    f().await
}

both_backends!(request_ack_reply_merge_with_real_servers, |db| async move {
    let store = db.store.clone();
    let servers = mail::MailServers::start(&["info", "anna"]);
    let mut smtp_cfg = SmtpConfig::new(
        "127.0.0.1",
        servers.smtp_port,
        TlsMode::None,
        "info@coop.example",
    );
    smtp_cfg.allow_plaintext = true;
    let smtp = SmtpTransport::new(&smtp_cfg).unwrap();
    let (stop, _task) = spawn(imap_config(servers.imap_port), intake(&store));

    let request = mail::message(
        "Anna Rossi <anna@comune.example.it>",
        "info@coop.example",
        "Richiesta mediatrice araba",
        "orig-e2e@comune.example.it",
        "Buongiorno,\r\nserve una mediatrice di lingua araba per un colloquio il 12/03/2027 presso la sede del Servizio Tutela Minori di Dalmine.\r\n\r\nAnna Rossi\r\nServizio Tutela Minori",
    );
    servers.append("info", "INBOX", &request).await;
    let ok = wait_until(Duration::from_secs(15), || async {
        store
            .requests(&RequestFilter::default())
            .await
            .unwrap()
            .len()
            == 1
    })
    .await;
    assert!(ok, "the request never reached the store");
    let r = store
        .requests(&RequestFilter::default())
        .await
        .unwrap()
        .remove(0);
    assert_eq!(r.status, RequestStatus::NeedsInfo);
    assert_eq!(r.requester_email.as_deref(), Some("anna@comune.example.it"));

    // The acknowledgement goes out by SMTP and lands in Anna's Dovecot mailbox.
    let mut done = HashSet::new();
    assert_eq!(deliver_new(&store, &smtp, &mut done).await, 1);
    let anna = servers
        .wait_for("anna", "INBOX", 1, Duration::from_secs(10))
        .await;
    assert_eq!(anna.len(), 1, "acknowledgement not delivered");
    let ack = &anna[0];
    let code = r.code.to_string();
    assert_eq!(
        mail::header(&String::from_utf8_lossy(ack), "In-Reply-To").as_deref(),
        Some("<orig-e2e@comune.example.it>")
    );
    assert_eq!(
        mail::header(&String::from_utf8_lossy(ack), "References").as_deref(),
        Some("<orig-e2e@comune.example.it>")
    );
    assert_eq!(
        mail::header(&String::from_utf8_lossy(ack), "Auto-Submitted").as_deref(),
        Some("auto-replied")
    );
    assert_eq!(
        mail::header(&String::from_utf8_lossy(ack), "Subject").as_deref(),
        Some(format!("Re: [{code}] Richiesta mediatrice araba").as_str())
    );
    let ack_id = mail::header(&String::from_utf8_lossy(ack), "Message-ID").expect("our Message-ID");
    let ack_text = String::from_utf8_lossy(ack);
    assert!(
        ack_text.contains("Ora di inizio"),
        "the question lists the missing start time"
    );

    // Anna answers on the thread with the missing time: the same request is completed.
    let reply = format!(
        "From: Anna Rossi <anna@comune.example.it>\r\nTo: info@coop.example\r\n\
         Subject: R: Re: [{code}] Richiesta mediatrice araba\r\nMessage-ID: <reply-e2e@comune.example.it>\r\n\
         In-Reply-To: {ack_id}\r\nReferences: <orig-e2e@comune.example.it> {ack_id}\r\n\
         Date: Mon, 1 Mar 2027 11:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Alle 10:30, grazie.\r\n\r\nIl giorno lun 1 mar 2027, info ha scritto:\r\n> {}\r\n",
        "Per procedere ci mancano queste informazioni"
    );
    servers.append("info", "INBOX", reply.as_bytes()).await;
    let ok = wait_until(Duration::from_secs(15), || async {
        store.request_by_id(r.id).await.unwrap().status == RequestStatus::Queued
    })
    .await;
    assert!(ok, "the reply did not complete the request");
    let merged = store.request_by_id(r.id).await.unwrap();
    assert_eq!(
        merged
            .start_time
            .map(|t| t.format("%H:%M").to_string())
            .as_deref(),
        Some("10:30")
    );
    assert_eq!(
        store
            .requests(&RequestFilter::default())
            .await
            .unwrap()
            .len(),
        1,
        "one request, not two"
    );
    assert_eq!(deliver_new(&store, &smtp, &mut done).await, 1);
    let anna = servers
        .wait_for("anna", "INBOX", 2, Duration::from_secs(10))
        .await;
    assert_eq!(anna.len(), 2);
    assert_eq!(
        mail::header(&String::from_utf8_lossy(&anna[1]), "In-Reply-To").as_deref(),
        Some("<reply-e2e@comune.example.it>")
    );

    // Both messages were moved out of the INBOX only after their commit.
    let processed = servers
        .wait_for("info", "Processed", 2, Duration::from_secs(5))
        .await;
    assert_eq!(processed.len(), 2);
    assert!(servers.messages("info", "INBOX").await.is_empty());
    stop.send(true).unwrap();
});

both_backends!(
    cut_connections_and_restart_while_100_arrive_exactly_100_requests,
    |db| async move {
        let store = db.store.clone();
        let servers = mail::MailServers::start(&["info"]);
        let proxy = mail::FaultProxy::start(servers.imap_port).await;
        let mut cfg = imap_config(proxy.port);
        cfg.fetch_batch = 7;
        let (stop, task) = spawn(cfg.clone(), intake(&store));

        let imap_port = servers.imap_port;
        let appender = tokio::spawn(async move {
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", imap_port))
                .await
                .unwrap();
            let mut c = async_imap::Client::new(tcp);
            c.read_response().await.unwrap();
            let mut s = c
                .login("info", mail::PASSWORD)
                .await
                .map_err(|(e, _)| e)
                .unwrap();
            for i in 0..100 {
                let m = mail::message(
                    "anna@comune.example.it",
                    "info@coop.example",
                    &format!("Richiesta {i}"),
                    &format!("fault-{i}@comune.example.it"),
                    "Serve un mediatore arabo il 12/03/2027",
                );
                s.append("INBOX", None, None, m).await.unwrap();
                if i % 10 == 0 {
                    tokio::time::sleep(Duration::from_millis(15)).await;
                }
            }
            let _ = s.logout().await;
        });
        for _ in 0..8 {
            tokio::time::sleep(Duration::from_millis(60)).await;
            proxy.cut_all();
        }
        // The process dies and starts again on the same database.
        task.abort();
        let _ = task.await;
        drop(stop);
        let (stop, _task) = spawn(cfg, intake(&store));
        for _ in 0..4 {
            tokio::time::sleep(Duration::from_millis(80)).await;
            proxy.cut_all();
        }
        appender.await.unwrap();
        let ok = wait_until(Duration::from_secs(60), || async {
            store.inbound("email", None).await.unwrap().len() >= 100
                && servers.messages("info", "INBOX").await.is_empty()
        })
        .await;
        let requests = store.requests(&RequestFilter::default()).await.unwrap();
        assert!(ok, "only {} requests", requests.len());
        assert_eq!(requests.len(), 100, "exactly 100 requests");
        let sources: HashSet<_> = requests
            .iter()
            .filter_map(|r| r.source_message_id.clone())
            .collect();
        assert_eq!(sources.len(), 100, "none twice");
        assert_eq!(store.inbound("email", None).await.unwrap().len(), 100);
        assert_eq!(
            store.outbox_all().await.unwrap().len(),
            100,
            "one acknowledgement each"
        );
        assert_eq!(servers.messages("info", "Processed").await.len(), 100);
        stop.send(true).unwrap();
    }
);
