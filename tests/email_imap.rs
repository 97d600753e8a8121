//! The IMAP poller against a real private Dovecot: commit before move, IDLE, oversized mail,
//! leftovers after a stop between commit and move, UIDVALIDITY rescans, outages and cut
//! connections while 100 messages arrive.
//!
//! The sink here is a small in-memory recorder of what the poller hands over (the store-backed
//! sink is tested in email_intake.rs); it counts every commit so duplicates are visible.

#[path = "support/mail.rs"]
mod mail;

use connecting::channels::email::imap::{
    Cursor, FetchedMessage, Health, ImapConfig, MessageSink, Poller, SinkError, SinkFuture, TlsMode,
};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

#[derive(Default)]
struct Recorder {
    cursors: Mutex<HashMap<String, Cursor>>,
    /// Message-ID -> how many times it was committed.
    commits: Mutex<HashMap<String, usize>>,
    messages: Mutex<Vec<FetchedMessage>>,
}

fn message_id(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    text.lines()
        .find_map(|l| l.strip_prefix("Message-ID: "))
        .unwrap_or("?")
        .trim()
        .to_owned()
}

impl MessageSink for Recorder {
    fn load_cursor<'a>(&'a self, key: &'a str) -> SinkFuture<'a, Option<Cursor>> {
        Box::pin(async move { Ok(self.cursors.lock().unwrap().get(key).copied()) })
    }
    fn reset_cursor<'a>(&'a self, key: &'a str, uid_validity: u32) -> SinkFuture<'a, ()> {
        Box::pin(async move {
            self.cursors.lock().unwrap().insert(
                key.to_owned(),
                Cursor {
                    uid_validity,
                    last_uid: 0,
                },
            );
            Ok(())
        })
    }
    fn commit<'a>(&'a self, m: FetchedMessage) -> SinkFuture<'a, ()> {
        Box::pin(async move {
            let id = message_id(&m.raw);
            let mut cursors = self.cursors.lock().unwrap();
            let c = cursors
                .get_mut(&m.mailbox_key)
                .ok_or_else(|| SinkError("no cursor".into()))?;
            c.last_uid = c.last_uid.max(m.uid);
            *self.commits.lock().unwrap().entry(id).or_default() += 1;
            self.messages.lock().unwrap().push(m);
            Ok(())
        })
    }
}

impl Recorder {
    fn distinct(&self) -> usize {
        self.commits.lock().unwrap().len()
    }
    fn max_commits(&self) -> usize {
        self.commits
            .lock()
            .unwrap()
            .values()
            .copied()
            .max()
            .unwrap_or(0)
    }
}

fn config(port: u16) -> ImapConfig {
    let mut cfg = ImapConfig::new("127.0.0.1", port, TlsMode::None, "info", mail::PASSWORD);
    cfg.allow_plaintext = true;
    cfg.backoff_min = Duration::from_millis(50);
    cfg.backoff_max = Duration::from_millis(500);
    cfg.io_timeout = Duration::from_secs(10);
    cfg
}

fn request(i: usize) -> Vec<u8> {
    mail::message(
        "anna@comune.example.it",
        "info@coop.example",
        &format!("Richiesta {i}"),
        &format!("req-{i}@comune.example.it"),
        "Serve una mediatrice araba",
    )
}

async fn until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    f()
}

fn spawn(
    cfg: ImapConfig,
    sink: Arc<Recorder>,
) -> (watch::Sender<bool>, tokio::task::JoinHandle<()>) {
    spawn_with_health(cfg, sink).0
}

type Running = (watch::Sender<bool>, tokio::task::JoinHandle<()>);

fn spawn_with_health(cfg: ImapConfig, sink: Arc<Recorder>) -> (Running, Arc<Health>) {
    let (tx, rx) = watch::channel(false);
    let poller = Poller::new(cfg, sink, rx);
    let health = poller.health();
    ((tx, tokio::spawn(poller.run())), health)
}

#[tokio::test]
async fn commits_then_moves_and_picks_up_new_mail_by_idle() {
    let servers = mail::MailServers::start(&["info"]);
    for i in 0..3 {
        servers.append("info", "INBOX", &request(i)).await;
    }
    let sink = Arc::new(Recorder::default());
    let mut cfg = config(servers.imap_port);
    cfg.poll_interval = Duration::from_secs(3600); // only IDLE can bring the 4th message
    let ((stop, task), health) = spawn_with_health(cfg, sink.clone());
    assert!(until(Duration::from_secs(10), || sink.distinct() == 3).await);
    servers.append("info", "INBOX", &request(3)).await;
    assert!(
        until(Duration::from_secs(10), || sink.distinct() == 4).await,
        "IDLE did not deliver"
    );
    let processed = servers
        .wait_for("info", "Processed", 4, Duration::from_secs(5))
        .await;
    assert_eq!(
        processed.len(),
        4,
        "committed messages are moved to Processed"
    );
    assert!(servers.messages("info", "INBOX").await.is_empty());
    assert_eq!(sink.max_commits(), 1);
    // Idle means idle: no busy re-syncing while nothing arrives.
    let syncs = health.syncs();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(
        health.syncs() <= syncs + 1,
        "poller spins: {} -> {}",
        syncs,
        health.syncs()
    );
    assert!(health.connected());
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .expect("poller stops")
        .unwrap();
}

#[tokio::test]
async fn oversized_mail_is_recorded_from_its_header_and_moved() {
    let servers = mail::MailServers::start(&["info"]);
    let mut big = request(1);
    big.extend(std::iter::repeat_n(b'x', 5000));
    big.extend(b"\r\n");
    servers.append("info", "INBOX", &big).await;
    servers.append("info", "INBOX", &request(2)).await;
    let sink = Arc::new(Recorder::default());
    let mut cfg = config(servers.imap_port);
    cfg.max_message_size = 2000;
    let (stop, _task) = spawn(cfg, sink.clone());
    assert!(until(Duration::from_secs(10), || sink.distinct() == 2).await);
    let msgs = sink.messages.lock().unwrap().clone();
    let big_m = msgs.iter().find(|m| m.oversized).expect("one oversized");
    assert!(big_m.size > 5000);
    assert!(big_m.raw.len() < 1000, "only the header was fetched");
    assert_eq!(message_id(&big_m.raw), "<req-1@comune.example.it>");
    assert!(
        msgs.iter()
            .any(|m| !m.oversized && message_id(&m.raw) == "<req-2@comune.example.it>")
    );
    stop.send(true).unwrap();
}

#[tokio::test]
async fn leftovers_at_or_below_the_cursor_are_moved_not_refetched_and_uidvalidity_rescans() {
    let servers = mail::MailServers::start(&["info"]);
    for i in 0..3 {
        servers.append("info", "INBOX", &request(i)).await;
    }
    let mut s = servers.session("info").await;
    let mb = s.select("INBOX").await.unwrap();
    let validity = mb.uid_validity.unwrap();
    let _ = s.logout().await;
    let cfg = config(servers.imap_port);

    // A previous run committed UIDs 1 and 2 and stopped before moving them.
    let sink = Arc::new(Recorder::default());
    sink.cursors.lock().unwrap().insert(
        cfg.mailbox_key(),
        Cursor {
            uid_validity: validity,
            last_uid: 2,
        },
    );
    let (stop, _task) = spawn(cfg.clone(), sink.clone());
    assert!(until(Duration::from_secs(10), || sink.distinct() == 1).await);
    let processed = servers
        .wait_for("info", "Processed", 3, Duration::from_secs(5))
        .await;
    assert_eq!(processed.len(), 3, "leftovers moved too");
    assert_eq!(sink.messages.lock().unwrap()[0].uid, 3);
    stop.send(true).unwrap();

    // A cursor from another UIDVALIDITY: everything in the mailbox is fetched again.
    for i in 10..12 {
        servers.append("info", "INBOX", &request(i)).await;
    }
    let sink = Arc::new(Recorder::default());
    sink.cursors.lock().unwrap().insert(
        cfg.mailbox_key(),
        Cursor {
            uid_validity: validity + 1,
            last_uid: 1000,
        },
    );
    let (stop, _task) = spawn(cfg, sink.clone());
    assert!(
        until(Duration::from_secs(10), || sink.distinct() == 2).await,
        "rescan after UIDVALIDITY change"
    );
    assert_eq!(
        sink.cursors
            .lock()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .uid_validity,
        validity
    );
    stop.send(true).unwrap();
}

#[tokio::test]
async fn dovecot_down_for_a_while_then_the_poller_recovers() {
    let mut servers = mail::MailServers::start(&["info"]);
    let sink = Arc::new(Recorder::default());
    let (stop, _task) = spawn(config(servers.imap_port), sink.clone());
    servers.append("info", "INBOX", &request(1)).await;
    assert!(until(Duration::from_secs(10), || sink.distinct() == 1).await);
    servers.stop_dovecot();
    tokio::time::sleep(Duration::from_millis(800)).await;
    servers.start_dovecot();
    servers.append("info", "INBOX", &request(2)).await;
    assert!(
        until(Duration::from_secs(15), || sink.distinct() == 2).await,
        "no recovery after outage"
    );
    assert_eq!(sink.max_commits(), 1);
    stop.send(true).unwrap();
}

#[tokio::test]
async fn cut_connections_and_a_restart_while_100_messages_arrive_give_exactly_100() {
    let servers = mail::MailServers::start(&["info"]);
    let proxy = mail::FaultProxy::start(servers.imap_port).await;
    let sink = Arc::new(Recorder::default());
    let mut cfg = config(proxy.port);
    cfg.fetch_batch = 7;
    let (stop, task) = spawn(cfg.clone(), sink.clone());

    let appender = {
        let imap_port = servers.imap_port;
        tokio::spawn(async move {
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
                s.append("INBOX", None, None, request(i)).await.unwrap();
                if i % 10 == 0 {
                    tokio::time::sleep(Duration::from_millis(15)).await;
                }
            }
            let _ = s.logout().await;
        })
    };
    // Cut the poller's connection repeatedly while mail arrives and is fetched.
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        proxy.cut_all();
    }
    // "Restart the process": abort the poller and start a new one on the same durable state.
    task.abort();
    let _ = task.await;
    drop(stop);
    let (stop, _task) = spawn(cfg, sink.clone());
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(80)).await;
        proxy.cut_all();
    }
    appender.await.unwrap();
    let ok = until(Duration::from_secs(30), || sink.distinct() == 100).await;
    if !ok {
        let inbox = servers.messages("info", "INBOX").await;
        let processed = servers.messages("info", "Processed").await;
        let committed: Vec<String> = sink.commits.lock().unwrap().keys().cloned().collect();
        let missing: Vec<String> = (0..100)
            .map(|i| format!("<req-{i}@comune.example.it>"))
            .filter(|id| !committed.contains(id))
            .collect();
        panic!(
            "got {} distinct; inbox {} processed {}; missing {missing:?}; cursor {:?}; uids {:?}",
            sink.distinct(),
            inbox.len(),
            processed.len(),
            sink.cursors.lock().unwrap(),
            sink.messages
                .lock()
                .unwrap()
                .iter()
                .map(|m| m.uid)
                .collect::<Vec<_>>()
        );
    }
    assert_eq!(sink.max_commits(), 1, "a message was committed twice");
    let processed = servers
        .wait_for("info", "Processed", 100, Duration::from_secs(10))
        .await;
    assert_eq!(processed.len(), 100);
    stop.send(true).unwrap();
}

#[tokio::test]
async fn implicit_tls_and_starttls_with_a_private_ca_and_plaintext_refused_by_default() {
    let servers = mail::MailServers::start_tls(&["info"]);
    let ca = servers.ca_file.clone().expect("test CA");
    for (mode, port) in [
        (TlsMode::Implicit, servers.imaps_port),
        (TlsMode::Starttls, servers.imap_port),
    ] {
        servers
            .append("info", "INBOX", &request(port as usize))
            .await;
        let sink = Arc::new(Recorder::default());
        let mut cfg = ImapConfig::new("localhost", port, mode, "info", mail::PASSWORD);
        cfg.ca_file = Some(ca.clone());
        cfg.backoff_min = Duration::from_millis(50);
        let (stop, _task) = spawn(cfg, sink.clone());
        assert!(
            until(Duration::from_secs(10), || sink.distinct() == 1).await,
            "{mode:?} did not fetch"
        );
        stop.send(true).unwrap();
    }
    // Without the CA the certificate is not trusted: nothing is fetched.
    servers.append("info", "INBOX", &request(7)).await;
    let sink = Arc::new(Recorder::default());
    let cfg = ImapConfig::new(
        "localhost",
        servers.imaps_port,
        TlsMode::Implicit,
        "info",
        mail::PASSWORD,
    );
    let err = connecting::channels::email::imap::connect(&cfg)
        .await
        .expect_err("untrusted certificate refused");
    assert!(err.to_string().contains("TLS"), "{err}");
    // Plain TCP needs explicit consent.
    let cfg = ImapConfig::new(
        "127.0.0.1",
        servers.imap_port,
        TlsMode::None,
        "info",
        mail::PASSWORD,
    );
    let err = connecting::channels::email::imap::connect(&cfg)
        .await
        .expect_err("plaintext refused");
    assert!(err.to_string().contains("plaintext"), "{err}");
    assert_eq!(sink.distinct(), 0);
}

#[tokio::test]
async fn without_idle_and_move_it_polls_and_flags_seen() {
    let servers = mail::MailServers::start_with_dovecot_extra(
        &["info"],
        "protocol imap {\n  imap_capability = IMAP4rev1 LITERAL+ SASL-IR ID ENABLE UIDPLUS NAMESPACE\n}",
    );
    let sink = Arc::new(Recorder::default());
    let mut cfg = config(servers.imap_port);
    cfg.poll_interval = Duration::from_millis(200);
    let ((stop, _task), health) = spawn_with_health(cfg, sink.clone());
    servers.append("info", "INBOX", &request(1)).await;
    assert!(
        until(Duration::from_secs(10), || sink.distinct() == 1).await,
        "polling did not fetch"
    );
    servers.append("info", "INBOX", &request(2)).await;
    assert!(until(Duration::from_secs(10), || sink.distinct() == 2).await);
    // No MOVE: the messages stay, flagged \Seen, and are not fetched again.
    let mut s = servers.session("info").await;
    s.select("INBOX").await.unwrap();
    let seen = s.uid_search("SEEN").await.unwrap();
    assert_eq!(seen.len(), 2);
    let _ = s.logout().await;
    let syncs = health.syncs();
    assert!(
        until(Duration::from_secs(5), || health.syncs() >= syncs + 3).await,
        "it keeps polling"
    );
    assert_eq!(sink.max_commits(), 1, "nothing fetched twice");
    stop.send(true).unwrap();
}
