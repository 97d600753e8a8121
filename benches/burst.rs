//! Figures for a burst against `connecting run` (bench binary, release): N emails into info@
//! and N operators on the bot at once (default 500 + 500), with a probe operator timing the
//! bot's answers all along. Prints the time to take everything, the probe's p50/p99 reply
//! latency during the burst, and the daemon's idle and peak resident memory.
//!
//! `cargo bench --bench burst` (env `BURST_EMAILS`, `BURST_CHATS`; `BURST_DB` for a database
//! URL, default a fresh SQLite file).

#[path = "../tests/support/botapi.rs"]
mod botapi;
#[path = "../tests/support/burst.rs"]
mod burst;
#[path = "../tests/support/daemon.rs"]
mod daemon;
#[path = "../tests/support/mail.rs"]
mod mail;

use connecting::store::Store;

fn env_n(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let emails = env_n("BURST_EMAILS", 500);
    let chats = env_n("BURST_CHATS", 500);
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("BURST_DB")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("burst.db").display()));
    let store = Store::open(&url).await.unwrap();
    let r = burst::run(&url, &store, emails, chats).await;
    println!(
        "burst: {} requests ({:?}) in {:.1} s = {:.0} requests/s",
        r.requests,
        r.by_channel,
        r.elapsed.as_secs_f64(),
        r.requests as f64 / r.elapsed.as_secs_f64()
    );
    println!(
        "bot reply latency during the burst: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms ({} probes, {} unanswered)",
        r.pct(0.5),
        r.pct(0.99),
        r.pct(1.0),
        r.probe_ms.len(),
        r.probes_unanswered
    );
    println!(
        "daemon memory: idle {:.1} MiB, peak {:.1} MiB",
        r.rss_idle_kib as f64 / 1024.0,
        r.rss_peak_kib as f64 / 1024.0
    );
}
