//! Dispatch figures (bench binary, run with `cargo bench --bench dispatch`):
//! - matching time for one request over a roster of 1,000 mediators (target < 5 ms), and for
//!   the same requests as series of 8 weekly meetings;
//! - accept-to-confirmation-queued latency (the acceptance transaction, which also queues the
//!   requester's confirmation, the winner's details and the withdrawals), p50/p99 on SQLite and
//!   PostgreSQL (target p99 < 20 ms). PostgreSQL: `TEST_DATABASE_URL` (default
//!   postgres://postgres@127.0.0.1:5432/postgres); a scratch database is created and dropped;
//! - outbox throughput: rows claimed, delivered and marked per second through the worker, with
//!   a transport that answers at once (the database side of the pipeline).

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Europe::Rome;
use connecting::dispatch::{BusySlot, JobSpec, MatchSettings, MediatorProfile, Meeting, rank};
use connecting::domain::availability::Availability;
use connecting::domain::{Ambito, Appointment, Gender, LanguageCode, Modality};
use connecting::store::{Pool, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Instant;

const LANGS: [&str; 20] = [
    "ar", "ary", "arz", "en", "fr", "es", "ur", "pa", "bn", "sq", "ro", "uk", "ru", "zh", "wo",
    "tw", "ti", "am", "so", "fa",
];
const AVAIL: [&str; 4] = [
    "",
    "lun-ven 08:00-18:00",
    "lun,mer 09:00-13:00; gio 14:00-18:00",
    "lun-sab 08:30-12:30,14:00-19:00; tranne 2027-03-03",
];

fn roster(n: usize, rng: &mut StdRng) -> Vec<MediatorProfile> {
    let ambiti: Vec<Ambito> = Ambito::all().collect();
    (0..n)
        .map(|i| {
            let nl = rng.random_range(1..=3);
            let languages = (0..nl)
                .map(|_| LanguageCode::parse(LANGS[rng.random_range(0..LANGS.len())]).unwrap())
                .collect();
            let na = rng.random_range(1..=5);
            let mediator_ambiti = (0..na)
                .map(|_| ambiti[rng.random_range(0..ambiti.len())])
                .collect();
            let busy = (0..rng.random_range(0..8))
                .map(|_| {
                    let start = Rome
                        .with_ymd_and_hms(
                            2027,
                            3,
                            rng.random_range(1..=7),
                            rng.random_range(8..18),
                            0,
                            0,
                        )
                        .unwrap()
                        .to_utc();
                    BusySlot {
                        starts_at: start,
                        ends_at: start + Duration::minutes(rng.random_range(30..180)),
                        remote: rng.random_bool(0.3),
                    }
                })
                .collect();
            MediatorProfile {
                id: i as i64 + 1,
                active: rng.random_bool(0.95),
                paused: rng.random_bool(0.05),
                gender: Some(if rng.random_bool(0.6) {
                    Gender::F
                } else {
                    Gender::M
                }),
                languages,
                ambiti: mediator_ambiti,
                availability: Availability::parse(AVAIL[rng.random_range(0..AVAIL.len())]).unwrap(),
                busy,
                minutes_last_30_days: rng.random_range(0..6000),
                offers_received: rng.random_range(0..100),
                offers_accepted: rng.random_range(0..50),
                case_refs: (0..rng.random_range(0..5))
                    .map(|k| format!("TM-{i}-{k}"))
                    .collect(),
            }
        })
        .collect()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx]
}

fn bench_matching() {
    let mut rng = StdRng::seed_from_u64(42);
    let roster = roster(1000, &mut rng);
    let settings = MatchSettings {
        tz: Rome,
        travel_buffer_minutes: 30,
    };
    let jobs: Vec<JobSpec> = (0..200)
        .map(|i| JobSpec {
            language: LanguageCode::parse(LANGS[i % LANGS.len()]).unwrap(),
            ambito: Ambito::all().nth(i % 14),
            modality: if i % 4 == 0 {
                Modality::Video
            } else {
                Modality::InPerson
            },
            appointment: Some(
                Appointment::new(
                    NaiveDate::from_ymd_opt(2027, 3, 1 + (i % 7) as u32).unwrap(),
                    NaiveTime::from_hms_opt(9 + (i % 8) as u32, 0, 0).unwrap(),
                    90,
                )
                .unwrap(),
            ),
            gender_preference: if i % 5 == 0 { Some(Gender::F) } else { None },
            case_ref: Some(format!("TM-{}-0", i * 3)),
            meetings: vec![],
        })
        .collect();
    let mut samples = Vec::with_capacity(5000);
    let mut eligible = 0usize;
    for round in 0..25 {
        for job in &jobs {
            let t = Instant::now();
            let r = rank(&roster, job, &settings);
            samples.push(t.elapsed().as_secs_f64() * 1e3);
            if round == 0 {
                eligible += r.candidates.len();
            }
        }
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    println!(
        "matching over 1000 mediators: {} runs, median {:.3} ms, p99 {:.3} ms, max {:.3} ms (target < 5 ms); mean eligible {:.1}",
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples[samples.len() - 1],
        eligible as f64 / jobs.len() as f64
    );
    // The same jobs as series of 8 weekly meetings: every meeting checked for every mediator.
    let series: Vec<JobSpec> = jobs
        .iter()
        .map(|j| {
            let mut j = j.clone();
            if let Some(a) = j.appointment {
                j.meetings = (0..8u32)
                    .map(|k| {
                        let starts_at = a.starts_at(Rome) + Duration::weeks(i64::from(k));
                        Meeting {
                            seq: k + 1,
                            starts_at,
                            ends_at: starts_at + Duration::minutes(90),
                        }
                    })
                    .collect();
            }
            j
        })
        .collect();
    let mut samples = Vec::with_capacity(5000);
    for _ in 0..25 {
        for job in &series {
            let t = Instant::now();
            let r = rank(&roster, job, &settings);
            samples.push(t.elapsed().as_secs_f64() * 1e3);
            std::hint::black_box(r);
        }
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    println!(
        "matching a series of 8 meetings over 1000 mediators: {} runs, median {:.3} ms, p99 {:.3} ms, max {:.3} ms (target < 5 ms)",
        samples.len(),
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples[samples.len() - 1],
    );
}

async fn bench_accept(store: Store, label: &str) {
    use connecting::clock::ManualClock;
    use connecting::dispatch::{AcceptOutcome, DispatchSettings, Dispatcher, WaveOutcome};
    use connecting::domain::{Channel, InterventionType, RequestStatus};
    use connecting::store::{NewCoordinator, NewMediator, NewRequest};
    use std::sync::Arc;
    let now = Rome.with_ymd_and_hms(2027, 1, 1, 9, 0, 0).unwrap().to_utc();
    let clock = ManualClock::new(now);
    let settings = DispatchSettings {
        wave_size: 3,
        ..Default::default()
    };
    let d = Dispatcher::new(
        store.clone(),
        Arc::new(clock.clone()),
        settings,
        connecting::renderers::channels(),
    );
    store
        .add_coordinator(
            &NewCoordinator {
                name: "C".into(),
                telegram_id: Some(9),
                email: None,
            },
            now,
        )
        .await
        .unwrap();
    for i in 0..60 {
        store
            .add_mediator(
                &NewMediator {
                    name: format!("M{i}"),
                    phone: None,
                    email: None,
                    telegram_id: Some(1000 + i),
                    gender: Some(Gender::F),
                    languages: vec![LanguageCode::parse("ar").unwrap()],
                    ambiti: vec![Ambito::parse("Dalmine").unwrap()],
                    availability: Some("lun-dom 07:00-20:00".into()),
                    share_phone: false,
                },
                now,
            )
            .await
            .unwrap();
    }
    let n = 300;
    let mut samples = Vec::with_capacity(n);
    for i in 0..n {
        let date = NaiveDate::from_ymd_opt(2027, 1, 4).unwrap() + Duration::days((i / 6) as i64);
        let appt = Appointment::new(
            date,
            NaiveTime::from_hms_opt(8 + 2 * (i % 6) as u32, 0, 0).unwrap(),
            90,
        )
        .unwrap();
        let r = NewRequest {
            status: Some(RequestStatus::Queued),
            channel: Some(Channel::Email),
            requester_name: Some("Laura Rossi".into()),
            requester_email: Some("laura@example.org".into()),
            ambito: Ambito::parse("Dalmine").ok(),
            language: LanguageCode::parse("ar").ok(),
            intervention: Some(InterventionType::Colloquio),
            modality: Some(Modality::InPerson),
            date: Some(appt.date),
            start_time: Some(appt.start),
            duration_minutes: Some(90),
            starts_at: Some(appt.starts_at(Rome)),
            ends_at: Some(appt.ends_at(Rome)),
            comune: Some("Dalmine".into()),
            address: Some("Via Roma 1".into()),
            ..Default::default()
        };
        let code = store.create_request(&r, now).await.unwrap().code;
        let WaveOutcome::Offered { .. } = d.dispatch(code).await.unwrap() else {
            panic!("no offers")
        };
        let id = store.request(code).await.unwrap().id;
        let offer = store.offers_for_request(id).await.unwrap().remove(0);
        let t = Instant::now();
        let out = d.accept(offer.id, offer.mediator_id).await.unwrap();
        samples.push(t.elapsed().as_secs_f64() * 1e3);
        assert!(matches!(out, AcceptOutcome::Assigned { .. }));
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    println!(
        "accept -> confirmation queued ({label}): {n} acceptances, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms (target p99 < 20 ms)",
        percentile(&samples, 0.5),
        percentile(&samples, 0.99),
        samples[samples.len() - 1]
    );
}

async fn bench_outbox(store: Store, label: &str) {
    use connecting::clock::SystemClock;
    use connecting::outbox::{
        Delivered, DeliveryFuture, OutboxWorker, Payload, RetryPolicy, TelegramPayload, Transport,
        Transports,
    };
    use std::sync::Arc;
    struct Instant0;
    impl Transport for Instant0 {
        fn deliver<'a>(&'a self, _p: &'a Payload) -> DeliveryFuture<'a> {
            Box::pin(async {
                Ok(Delivered {
                    external_id: Some("1".into()),
                })
            })
        }
    }
    let n = 2000;
    let now = chrono::Utc::now();
    let mut tx = store.begin().await.unwrap();
    for i in 0..n {
        let p = Payload::Telegram(TelegramPayload {
            chat_id: 1,
            text: format!("m{i}"),
            buttons: vec![],
            edit_message_id: None,
            calendar: None,
            menu: None,
        });
        tx.enqueue(&format!("bench:{label}:{i}"), None, &p, now)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let w = OutboxWorker::new(
        store,
        Arc::new(SystemClock),
        Transports {
            telegram: Some(Arc::new(Instant0)),
            email: None,
        },
        RetryPolicy {
            batch: 64,
            ..Default::default()
        },
    )
    .with_events(connecting::app::delivery::events(
        connecting::renderers::core(Default::default()),
    ));
    let t = Instant::now();
    let mut sent = 0;
    loop {
        let s = w.run_once().await.unwrap();
        if s.claimed() == 0 {
            break;
        }
        sent += s.sent;
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "outbox throughput ({label}): {sent} messages in {secs:.2} s = {:.0} msg/s (instant transport)",
        sent as f64 / secs
    );
}

fn main() {
    bench_matching();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let store = Store::open(&url).await.unwrap();
        bench_accept(store.clone(), "SQLite").await;
        bench_outbox(store, "SQLite").await;

        let admin = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("connecting_bench_{}", std::process::id());
        let Ok(admin_store) = Store::connect(&admin).await else {
            println!("PostgreSQL at {admin} not reachable: PostgreSQL figures skipped");
            return;
        };
        let Pool::Postgres(p) = admin_store.pool() else {
            return;
        };
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(p)
            .await
            .unwrap();
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .unwrap_or(admin.clone());
        let store = Store::open(&format!("{base}/{name}")).await.unwrap();
        bench_accept(store.clone(), "PostgreSQL").await;
        bench_outbox(store.clone(), "PostgreSQL").await;
        store.close().await;
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .execute(p)
        .await;
    });
}
