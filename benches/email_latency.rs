//! Email intake figures, printed (a bench binary, run in release):
//! - latency from IMAP APPEND to request committed in the store, p50 / p99 / max, over
//!   `EMAIL_BENCH_N` (default 200) messages with IDLE against a private Dovecot, once back to
//!   back and once with arrivals 100 ms apart (the poller back in IDLE each time: then Dovecot's
//!   own fixed 500 ms change-notification delay, NOTIFY_DELAY_MSECS in mailbox-watch.c,
//!   dominates);
//! - ingest throughput over the shared corpus (messages per second, parse + classify + store).
//!
//! `cargo bench --bench email_latency` (needs the servers of scripts/mail-servers; SQLite by
//! default, `EMAIL_BENCH_DB=postgres://...` for PostgreSQL).

#[path = "../tests/support/mail.rs"]
mod mail;

use connecting::channels::email::imap::{
    Cursor, FetchedMessage, ImapConfig, MessageSink, Poller, SinkFuture, TlsMode,
};
use connecting::channels::email::intake::ingest_with;
use connecting::channels::email::{Intake, IntakeConfig};
use connecting::clock::SystemClock;
use connecting::store::Store;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// The real pipeline, timing each commit.
struct Timed {
    inner: Intake,
    done: mpsc::UnboundedSender<(u32, Instant)>,
}

impl MessageSink for Timed {
    fn load_cursor<'a>(&'a self, key: &'a str) -> SinkFuture<'a, Option<Cursor>> {
        self.inner.load_cursor(key)
    }
    fn reset_cursor<'a>(&'a self, key: &'a str, v: u32) -> SinkFuture<'a, ()> {
        self.inner.reset_cursor(key, v)
    }
    fn commit<'a>(&'a self, m: FetchedMessage) -> SinkFuture<'a, ()> {
        Box::pin(async move {
            let uid = m.uid;
            self.inner.commit(m).await?;
            let _ = self.done.send((uid, Instant::now()));
            Ok(())
        })
    }
}

fn cfg() -> IntakeConfig {
    let mut c = IntakeConfig::new("info@coop.example", "connecting.coop.example");
    c.allowed_sender_domains = vec!["comune.example.it".into()];
    c
}

async fn open_store(dir: &std::path::Path, name: &str) -> Store {
    match std::env::var("EMAIL_BENCH_DB") {
        Ok(url) => Store::open(&url).await.expect("open EMAIL_BENCH_DB"),
        Err(_) => Store::open(&format!("sqlite://{}", dir.join(name).display()))
            .await
            .expect("open sqlite"),
    }
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn latency(n: usize, gap: Duration) {
    let servers = mail::MailServers::start(&["info"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = open_store(dir.path(), "latency.db").await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let sink = Arc::new(Timed {
        inner: Intake::new(
            store.clone(),
            cfg(),
            Arc::new(SystemClock),
            connecting::renderers::channels(),
        ),
        done: tx,
    });
    let mut icfg = ImapConfig::new(
        "127.0.0.1",
        servers.imap_port,
        TlsMode::None,
        "info",
        mail::PASSWORD,
    );
    icfg.allow_plaintext = true;
    let (stop, stop_rx) = watch::channel(false);
    let poller = Poller::new(icfg, sink, stop_rx);
    let health = poller.health();
    tokio::spawn(poller.run());
    while health.last_sync_at().is_none() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut session = servers.session("info").await;
    let mut samples = Vec::with_capacity(n);
    // Warm-up message, not counted.
    for i in 0..=n {
        let raw = mail::message(
            "Anna Rossi <anna@comune.example.it>",
            "info@coop.example",
            &format!("Richiesta {i}"),
            &format!("bench-{i}@comune.example.it"),
            "Serve una mediatrice di lingua araba per un colloquio il 12/03/2027 alle 10:00.",
        );
        let t0 = Instant::now();
        session
            .append("INBOX", None, None, &raw)
            .await
            .expect("append");
        let (_, t1) = tokio::time::timeout(Duration::from_secs(30), rx.recv())
            .await
            .expect("commit within 30 s")
            .expect("sink alive");
        if i > 0 {
            samples.push(t1 - t0);
        }
    }
    let _ = stop.send(true);
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "email APPEND -> request committed (IDLE, {} messages {}, {}): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms, mean {:.1} ms",
        samples.len(),
        if gap.is_zero() {
            "back to back".to_owned()
        } else {
            format!("{} ms apart", gap.as_millis())
        },
        if std::env::var("EMAIL_BENCH_DB").is_ok() {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        pct(&samples, 0.50).as_secs_f64() * 1e3,
        pct(&samples, 0.99).as_secs_f64() * 1e3,
        samples.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3,
    );
}

async fn throughput(rounds: usize) {
    let corpus = [
        std::env::var("CONNECTING_CORPUS").ok().map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/email")),
        Some(PathBuf::from("/work/shared/corpus/email")),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.is_dir())
    .expect("corpus (CONNECTING_CORPUS)");
    let mut c = cfg();
    c.allowed_sender_domains.clear();
    // A given database keeps what it ingested: only the first round would not be duplicates.
    let rounds = if std::env::var("EMAIL_BENCH_DB").is_ok() {
        1
    } else {
        rounds
    };
    let mut total = 0usize;
    let mut elapsed = Duration::ZERO;
    let mut bytes = 0u64;
    for round in 0..rounds {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = open_store(dir.path(), &format!("ingest-{round}.db")).await;
        let intake = Intake::new(
            store,
            c.clone(),
            Arc::new(SystemClock),
            connecting::renderers::channels(),
        );
        let t0 = Instant::now();
        let report = ingest_with(&intake, std::slice::from_ref(&corpus))
            .await
            .expect("ingest");
        elapsed += t0.elapsed();
        total += report.files;
        if round == 0 {
            bytes = walk_size(&corpus);
        }
    }
    println!(
        "email ingest of the corpus ({} files, {:.1} MB, {} rounds, fresh store each): {:.0} messages/s, {:.1} MB/s",
        total / rounds,
        bytes as f64 / 1e6,
        rounds,
        total as f64 / elapsed.as_secs_f64(),
        (bytes as f64 * rounds as f64 / 1e6) / elapsed.as_secs_f64(),
    );
}

fn walk_size(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        walk_size(&p)
                    } else if p.extension().is_some_and(|x| x == "eml") {
                        e.metadata().map(|m| m.len()).unwrap_or(0)
                    } else {
                        0
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing useful: run small.
    let quick = !std::env::args().any(|a| a == "--bench");
    let n = std::env::var("EMAIL_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 5 } else { 200 });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        latency(n, Duration::ZERO).await;
        latency(n, Duration::from_millis(if quick { 10 } else { 100 })).await;
        throughput(if quick { 1 } else { 5 }).await;
    });
}
