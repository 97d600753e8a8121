//! What a `/metrics` scrape costs with a large store (bench binary, release): 100,000 requests
//! (plus 200,000 offers and 300,000 outbox rows) and the aggregate queries plus the encoding a
//! scrape runs (counts from covering indexes, latencies from the rows the store's triggers wrote
//! as they happened, migration 0110). Prints min / median / p95 / max per scrape and the size of
//! the exposition.
//!
//! `cargo bench --bench metrics` (env `METRICS_REQUESTS`, default 100000; `METRICS_DB` for a
//! database URL, e.g. an empty PostgreSQL database, default a fresh SQLite file).

use connecting::store::{Backend, Store};
use std::time::{Duration, Instant};

async fn seed(store: &Store, n: i64) {
    let numbers = match store.backend() {
        Backend::Sqlite => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) SELECT i FROM n"
        ),
        Backend::Postgres => format!("SELECT i FROM generate_series(1, {n}) AS g(i)"),
    };
    let statements = [
        "INSERT INTO mediators (name, languages, ambiti, created_at) SELECT 'M' || i, 'ar', 'Dalmine', 0 FROM (NUMBERS) s WHERE i <= 10".to_string(),
        // Statuses spread over the life cycle; a third assigned, a sixth confirmed.
        "INSERT INTO requests (code, status, channel, created_at, updated_at) \
         SELECT 'MED-B-' || i, CASE i % 6 WHEN 0 THEN 'confirmed' WHEN 1 THEN 'assigned' WHEN 2 THEN 'offered' WHEN 3 THEN 'closed' WHEN 4 THEN 'cancelled' ELSE 'queued' END, \
         CASE i % 2 WHEN 0 THEN 'email' ELSE 'telegram' END, 1000000 + i, 1000000 + i \
         FROM (NUMBERS) s".to_string(),
        // Stamped by updates, as the service does, so the store's triggers observe the latencies.
        "UPDATE requests SET assigned_at = created_at + (id % 5000) WHERE status IN ('assigned', 'confirmed')".to_string(),
        "UPDATE requests SET confirmed_at = created_at + (id % 9000) WHERE status = 'confirmed'".to_string(),
        "INSERT INTO offers (request_id, mediator_id, wave, state, sent_at, expires_at) \
         SELECT r.id, m.id, 1, CASE (r.id + m.id) % 4 WHEN 0 THEN 'accepted' WHEN 1 THEN 'declined' WHEN 2 THEN 'expired' ELSE 'withdrawn' END, 0, 0 \
         FROM requests r JOIN mediators m ON m.id IN ((r.id % 10) + 1, ((r.id + 1) % 10) + 1)".to_string(),
        "INSERT INTO outbox (channel, idempotency_key, request_id, payload, status, attempts, next_attempt_at, created_at) \
         SELECT CASE k.j WHEN 1 THEN 'email' ELSE 'telegram' END, 'bench:' || r.id || ':' || k.j, r.id, '{}', \
         CASE r.id % 50 WHEN 0 THEN 'dead' WHEN 1 THEN 'pending' ELSE 'sent' END, 1 + r.id % 3, 0, 0 \
         FROM requests r CROSS JOIN (SELECT 1 AS j UNION ALL SELECT 2 UNION ALL SELECT 3) k".to_string(),
    ];
    for s in statements {
        let sql = s.replace("NUMBERS", &numbers);
        connecting::with_pool!(store, p => {
            sqlx::query(sqlx::AssertSqlSafe(sql)).execute(p).await.expect("seed");
        });
    }
    if store.backend() == Backend::Postgres {
        connecting::with_pool!(store, p => {
            // What autovacuum does on a live database: index-only scans need the visibility map.
            sqlx::query("VACUUM ANALYZE").execute(p).await.expect("vacuum");
        });
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: i64 = std::env::var("METRICS_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let url = std::env::var("METRICS_DB")
        .unwrap_or_else(|_| format!("sqlite://{}", dir.path().join("metrics.db").display()));
    let store = Store::open(&url).await.unwrap();
    let t0 = Instant::now();
    seed(&store, n).await;
    println!(
        "metrics: seeded {n} requests, {} offers, {} outbox rows on {:?} in {:.1} s",
        2 * n,
        3 * n,
        store.backend(),
        t0.elapsed().as_secs_f64()
    );
    let mut times = Vec::new();
    let mut size = 0;
    for _ in 0..30 {
        let t = Instant::now();
        let figures = connecting::metrics::StoreFigures::read(&store)
            .await
            .unwrap();
        let scrape = connecting::metrics::Scrape {
            store: figures,
            backend: "bench".into(),
            process: connecting::metrics::ProcessFigures::read(),
            ..Default::default()
        };
        let text = connecting::metrics::encode(&scrape).unwrap();
        times.push(t.elapsed());
        size = text.len();
    }
    times.sort();
    println!(
        "metrics: one scrape with {n} requests: min {:.1} ms, median {:.1} ms, p95 {:.1} ms, max {:.1} ms ({} bytes)",
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() * 95 / 100]),
        ms(times[times.len() - 1]),
        size
    );
}
