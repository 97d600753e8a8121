//! The console's queue page with 10,000 requests in the store (bench binary, release): the
//! time to answer `GET /` for a logged-in coordinator (session check, the filtered query, the
//! page drawn), measured over loopback so it bounds the server's time from above; and what the
//! console adds to the idle resident memory of the process (RSS before the console is built,
//! and after it served its first pages and went idle).
//!
//! `cargo bench --bench web_queue` (env `WEB_REQUESTS`, default 10000; `WEB_PAGES`, default
//! 300; `WEB_DB` for a database URL, default a fresh SQLite file). Targets: p99 < 50 ms,
//! idle RSS increment < 5 MiB.

use connecting::clock::{Clock, SystemClock};
use connecting::dispatch::Dispatcher;
use connecting::dispatch::engine::DispatchSettings;
use connecting::store::{Backend, ConsoleRole, NewCoordinator, Store};
use connecting::web::{SESSION_COOKIE, WebState, router};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn seed(store: &Store, n: i64) {
    let numbers = match store.backend() {
        Backend::Sqlite => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) SELECT i FROM n"
        ),
        Backend::Postgres => format!("SELECT i FROM generate_series(1, {n}) AS g(i)"),
    };
    let statements = [
        "INSERT INTO mediators (name, languages, ambiti, created_at) SELECT 'Mediatrice ' || i, 'ar', 'Dalmine', 0 FROM (NUMBERS) s WHERE i <= 60".to_string(),
        "INSERT INTO requests (code, status, channel, language, ambito, comune, date, start_time, duration_minutes, starts_at, created_at, updated_at) \
         SELECT 'MED-2027-' || (100000 + i), \
         CASE i % 8 WHEN 0 THEN 'confirmed' WHEN 1 THEN 'assigned' WHEN 2 THEN 'offered' WHEN 3 THEN 'done' WHEN 4 THEN 'cancelled' WHEN 5 THEN 'needs_info' WHEN 6 THEN 'escalated' ELSE 'queued' END, \
         CASE i % 2 WHEN 0 THEN 'email' ELSE 'telegram' END, \
         CASE i % 3 WHEN 0 THEN 'ar' WHEN 1 THEN 'ur' ELSE 'ti' END, 'Dalmine', 'Dalmine', '2027-03-12', '10:00', 60, 1804838400 + i * 60, 1800000000 + i, 1800000000 + i \
         FROM (NUMBERS) s".to_string(),
    ];
    for s in statements {
        let sql = s.replace("NUMBERS", &numbers);
        connecting::with_pool!(store, p => {
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(p).await.expect("seed");
        });
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: i64 = std::env::var("WEB_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let pages: usize = std::env::var("WEB_PAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300);
    let dir = tempfile::tempdir().expect("temp dir");
    let url = std::env::var("WEB_DB")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store = Store::open(&url).await.expect("store");
    seed(&store, n).await;
    let coordinator = store
        .add_coordinator(
            &NewCoordinator {
                name: "Carla".into(),
                telegram_id: None,
                email: None,
            },
            chrono::Utc::now(),
        )
        .await
        .expect("coordinator")
        .id;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    // Everything but the console is in place: the memory it adds is what follows.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss_kib();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let state = WebState {
        store: store.clone(),
        dispatcher: Dispatcher::new(
            store.clone(),
            clock.clone(),
            DispatchSettings::default(),
            connecting::renderers::channels(),
        ),
        clock,
        lang: connecting::config::Lang::It,
        tz: chrono_tz::Europe::Rome,
        secure_cookies: false,
        idle_secs: 3600,
        absolute_secs: 12 * 3600,
        quarantine_retry: None,
        health: None,
        bot_username: None,
        invite_ttl_days: 7,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = router(state);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let token = store
        .issue_console_link(ConsoleRole::Coordinator, coordinator, chrono::Utc::now())
        .await
        .expect("link")
        .expect("within the limit");
    let login = http
        .get(format!("http://127.0.0.1:{port}/login/{token}"))
        .send()
        .await
        .expect("login");
    let cookie = login
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .expect("session cookie")
        .to_string();
    assert!(cookie.starts_with(SESSION_COOKIE));
    let get = |path: &str| {
        http.get(format!("http://127.0.0.1:{port}{path}"))
            .header("cookie", &cookie)
            .send()
    };
    // Warm up: the first pages (and the prompt catalogue) are loaded.
    for _ in 0..5 {
        let r = get("/").await.expect("page");
        assert_eq!(r.status().as_u16(), 200);
        let _ = r.text().await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle = rss_kib();
    let mut times = Vec::with_capacity(pages);
    let mut bytes = 0;
    for _ in 0..pages {
        let t0 = Instant::now();
        let r = get("/").await.expect("page");
        assert_eq!(r.status().as_u16(), 200);
        bytes = r.text().await.expect("body").len();
        times.push(t0.elapsed());
    }
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "web_queue: {n} requests ({}), {pages} pages of {bytes} bytes: min {:.2} ms, median {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 < 50 ms)",
        format!("{:?}", store.backend()).to_lowercase(),
        ms(times[0]),
        ms(pct(0.5)),
        ms(pct(0.95)),
        ms(pct(0.99)),
        ms(times[times.len() - 1]),
    );
    let added = idle.saturating_sub(before);
    println!(
        "web_queue: idle RSS {before} KiB before the console, {idle} KiB after it served and went idle: +{added} KiB ({:.2} MiB, target < 5 MiB)",
        added as f64 / 1024.0
    );
}
