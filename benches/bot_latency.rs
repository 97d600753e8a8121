//! Bench binary: time from an update being available on the Bot API server to the bot's reply
//! being sent (the fake server records when it answered sendMessage), p50/p99 over 1,000
//! messages, and the resident memory of the bot, which runs in its own child process (this
//! binary started again with BOT_CHILD_* variables) so the fake server is not counted.
//!
//! The real bot runs as in production: long polling with teloxide, one database transaction
//! per update (SQLite file by default; `BENCH_DATABASE_URL=postgres://...` for PostgreSQL), the
//! reply queued in the outbox and delivered by the delivery loop.
//!
//! Run: `cargo bench --bench bot_latency` (optionally `BENCH_MESSAGES=1000`).

#[path = "../tests/support/botapi.rs"]
mod botapi;

use botapi::FakeBotApi;
use connecting::channels::telegram::runtime::{TelegramSettings, start_polling};
use connecting::clock::{Clock, SystemClock};
use connecting::domain::Ambito;
use connecting::store::{NewOperator, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// The bot alone, in a child process, so its resident memory is its own. It stops when its
/// stdin closes.
async fn child(api_url: String, token: String, db_url: String) {
    let store = Store::open(&db_url).await.expect("database");
    let mut settings = TelegramSettings::new(token);
    settings.api_url = Some(api_url);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let running = start_polling(&settings, store, clock, connecting::renderers::channels())
        .await
        .expect("bot starts");
    println!("ready");
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin()
            .read_line(&mut sink)
            .map(|n| n > 0)
            .unwrap_or(false)
        {}
    })
    .await;
    running.stop().await;
}

fn rss_of(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if let (Ok(api), Ok(token), Ok(db)) = (
        std::env::var("BOT_CHILD_API"),
        std::env::var("BOT_CHILD_TOKEN"),
        std::env::var("BOT_CHILD_DB"),
    ) {
        return child(api, token, db).await;
    }
    let n: usize = std::env::var("BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::open(&url).await.expect("database");
    let fake = FakeBotApi::start().await;
    let user = 4242;
    store
        .add_operator(
            &NewOperator {
                name: "Bench".into(),
                email: None,
                phone: None,
                ente: "Comune di Dalmine".into(),
                ambito: Ambito::parse("Dalmine").expect("ambito"),
                telegram_id: Some(user),
            },
            SystemClock.now(),
        )
        .await
        .expect("operator");

    let mut bot = tokio::process::Command::new(std::env::current_exe().expect("exe"))
        .env("BOT_CHILD_API", &fake.url)
        .env("BOT_CHILD_TOKEN", &fake.token)
        .env("BOT_CHILD_DB", &url)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("bot process");
    let pid = bot.id().expect("bot pid");
    {
        use tokio::io::AsyncBufReadExt;
        let out = bot.stdout.take().expect("stdout");
        let mut lines = tokio::io::BufReader::new(out).lines();
        let first = lines.next_line().await.expect("child output");
        assert_eq!(first.as_deref(), Some("ready"), "bot did not start");
    }
    let rss_started = rss_of(pid, "VmRSS:");

    // Alternate a full request (summary reply, dialogue saved) and a command.
    let messages = [
        "Serve una mediatrice di lingua araba per un colloquio il 12/03 alle 14.30, durata 2 ore, in presenza a Dalmine",
        "/nuova",
        "mediatore urdu domani",
        "/aiuto",
    ];
    let warmup = 50;
    let mut lat = Vec::with_capacity(n);
    for i in 0..(n + warmup) {
        let t0 = Instant::now();
        fake.push_text(user, messages[i % messages.len()]);
        let reply = fake
            .wait_for(user, Duration::from_secs(10), |m| {
                m.kind == botapi::ActionKind::Sent
            })
            .await
            .expect("reply");
        if i >= warmup {
            lat.push(reply.at.saturating_duration_since(t0));
        }
    }
    let rss_end = rss_of(pid, "VmRSS:");
    let hwm = rss_of(pid, "VmHWM:");
    drop(bot.stdin.take());
    let _ = tokio::time::timeout(Duration::from_secs(15), bot.wait()).await;
    lat.sort();
    let mean = lat.iter().sum::<Duration>() / lat.len() as u32;
    let backend = if url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    println!("bot_latency: {n} messages (after {warmup} warm-up), backend {backend}");
    println!(
        "  update available -> reply sent: p50 {:.2} ms, p99 {:.2} ms, mean {:.2} ms, max {:.2} ms",
        pct(&lat, 0.50).as_secs_f64() * 1e3,
        pct(&lat, 0.99).as_secs_f64() * 1e3,
        mean.as_secs_f64() * 1e3,
        lat.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
    println!(
        "  bot process resident memory: after start {:.1} MiB, after the run {:.1} MiB, peak {:.1} MiB",
        rss_started as f64 / 1024.0,
        rss_end as f64 / 1024.0,
        hwm as f64 / 1024.0
    );
}
