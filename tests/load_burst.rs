//! Load: a burst of 1,000 requests (500 emails into info@, 500 operators on the bot) against
//! `connecting run` with real servers. Every request is taken exactly once, every requester is
//! answered exactly once, the bot keeps answering a probe operator all along, and the daemon's
//! memory stays bounded. The figures (peak memory, the probe's p99) are printed here and
//! measured in release by `cargo bench --bench burst`.

#[path = "support/botapi.rs"]
mod botapi;
#[path = "support/burst.rs"]
mod burst;
#[path = "support/common.rs"]
mod common;
#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/mail.rs"]
mod mail;

const EMAILS: usize = 500;
const CHATS: usize = 500;
/// Far above what the daemon needs (tens of MiB): a leak or an unbounded queue crosses it.
const MEMORY_BOUND_KIB: u64 = 256 * 1024;

/// One burst at a time: two daemons each taking 1,000 requests on a 2-core machine measure the
/// machine, not the bot (the probe's answer waited over 30 s behind the other burst).
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn burst_of_1000(db: common::TestDb) {
    let _turn = ONE_AT_A_TIME.lock().await;
    let r = burst::run(&db.url, &db.store, EMAILS, CHATS).await;
    eprintln!(
        "figure: {} requests in {:.1} s; bot probe p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms over {} probes; RSS idle {} KiB, peak {} KiB",
        r.requests,
        r.elapsed.as_secs_f64(),
        r.pct(0.5),
        r.pct(0.99),
        r.pct(1.0),
        r.probe_ms.len(),
        r.rss_idle_kib,
        r.rss_peak_kib
    );
    assert_eq!(r.requests, EMAILS + CHATS, "every request exactly once");
    assert_eq!(r.by_channel.get("email"), Some(&EMAILS));
    assert_eq!(r.by_channel.get("telegram"), Some(&CHATS));
    assert_eq!(r.email_acks, EMAILS, "one acknowledgement per email");
    assert!(
        r.telegram_codes.values().all(|n| *n == 1),
        "one request code per operator: {:?}",
        r.telegram_codes
            .iter()
            .filter(|(_, n)| **n != 1)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        r.probes_unanswered, 0,
        "the bot stopped answering during the burst"
    );
    assert!(r.probe_ms.len() >= 3, "the probe ran during the burst");
    assert!(
        r.rss_peak_kib > 0 && r.rss_peak_kib < MEMORY_BOUND_KIB,
        "peak memory {} KiB",
        r.rss_peak_kib
    );
    assert!(!r.log.contains("Laura"), "the log carries a name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_1000_requests_on_sqlite() {
    burst_of_1000(common::TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_1000_requests_on_postgresql() {
    burst_of_1000(common::TestDb::postgres().await).await;
}
