//! Figures for `connecting run` (bench binary, release): start-up to healthy, idle resident
//! memory with all parts on, and the time from an email landing in info@ to the mediator's
//! Telegram offer being sent, p50/p99 over N requests (default 100), one at a time, against a
//! private Dovecot + SMTP server and the local Bot API server.
//!
//! `cargo bench --bench daemon_e2e` (env `E2E_N` for the count, `E2E_DB` for a database URL;
//! default a fresh SQLite file).

#[path = "../tests/support/botapi.rs"]
mod botapi;
#[path = "../tests/support/daemon.rs"]
mod daemon;
#[path = "../tests/support/mail.rs"]
mod mail;

use chrono::Utc;
use connecting::store::Store;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

fn pct(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("E2E_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let dir = tempfile::tempdir().unwrap();
    let db_url = std::env::var("E2E_DB")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::open(&db_url).await.unwrap();
    daemon::register_people(&store).await;
    let mail = mail::MailServers::start(&["info", "laura"]);
    let api = botapi::FakeBotApi::start().await;
    let http = mail::free_port();
    let cfg = dir.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!(
            "[database]\nurl = \"{db_url}\"\n[telegram]\ntoken = \"{}\"\napi_url = \"{}\"\n[imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nusername = \"info\"\npassword = \"{}\"\npoll_interval_secs = 30\n[smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nfrom = \"Coop <info@coop.example>\"\nmax_auto_replies_per_hour = 100000\n[intake]\nmax_new_requests_per_sender_per_hour = 0\n[dispatch]\nwave_size = 1\n[http]\nlisten = \"127.0.0.1:{http}\"\n",
            api.token, api.url, mail.imap_port, mail::PASSWORD, mail.smtp_port
        ),
    )
    .unwrap();
    let t0 = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_connecting"))
        .args(["run", "--config", cfg.to_str().unwrap()])
        .env(
            "CONNECTING_LOG",
            std::env::var("E2E_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::null())
        .stderr(match std::env::var("E2E_LOG_FILE") {
            Ok(f) => Stdio::from(std::fs::File::create(f).unwrap()),
            Err(_) => Stdio::null(),
        })
        .spawn()
        .unwrap();
    loop {
        if std::net::TcpStream::connect(("127.0.0.1", http)).is_ok() {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "daemon did not start"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let startup = t0.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle_rss = rss_kib(child.id());

    let mut lat = Vec::with_capacity(n);
    for i in 0..n {
        // Distinct days, far apart, so every request finds the one mediator free.
        let date = (Utc::now() + chrono::Duration::days(10 + i as i64))
            .date_naive()
            .format("%d/%m/%Y");
        let raw = mail::message(
            "Laura Rossi <laura@comune-dalmine.example>",
            "info@coop.example",
            &format!("Richiesta {i}"),
            &format!("bench-{i}@comune-dalmine.example"),
            &format!(
                "Serve una mediatrice di lingua araba per un colloquio il {date} alle 10.30 a Dalmine."
            ),
        );
        let landed = Instant::now();
        mail.append("info", "INBOX", &raw).await;
        let offer = api
            .wait_for(1001, Duration::from_secs(30), |m| {
                m.button("Accetto").is_some()
            })
            .await;
        assert!(offer.is_some(), "no offer for request {i}");
        lat.push(landed.elapsed().as_secs_f64() * 1000.0);
    }
    let busy_rss = rss_kib(child.id());
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    lat.sort_by(|a, b| a.total_cmp(b));
    println!(
        "daemon_e2e: database {}",
        if db_url.starts_with("sqlite") {
            "SQLite"
        } else {
            "PostgreSQL"
        }
    );
    println!(
        "daemon_e2e: start-up to listening: {:.0} ms",
        startup.as_secs_f64() * 1000.0
    );
    println!(
        "daemon_e2e: idle RSS with all parts on: {:.1} MiB",
        idle_rss.unwrap_or(0) as f64 / 1024.0
    );
    println!(
        "daemon_e2e: RSS after {n} requests: {:.1} MiB",
        busy_rss.unwrap_or(0) as f64 / 1024.0
    );
    println!(
        "daemon_e2e: email landed -> offer sent over {n}: p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        lat.last().copied().unwrap_or(0.0)
    );
}
