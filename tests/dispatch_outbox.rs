//! The outbox worker on real databases with a recording transport double: retry timing with
//! `retry_after` and backoff, dead letters that alert the coordinator, recovery after a worker
//! died between claiming and marking, and two workers never delivering the same row twice.

#[path = "support/common.rs"]
mod common;

use chrono::{Duration, TimeZone, Utc};
use connecting::clock::{Clock, ManualClock};
use connecting::outbox::{
    Delivered, DeliveryError, DeliveryFuture, OutboxWorker, Payload, RetryPolicy, TelegramPayload,
    Transport, Transports,
};
use connecting::store::{NewCoordinator, Store};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

/// Records every delivery; answers from a script keyed by text (default: delivered).
#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<String>>,
    script: Mutex<HashMap<String, Vec<Result<(), DeliveryError>>>>,
}

impl Transport for Recorder {
    fn deliver<'a>(&'a self, payload: &'a Payload) -> DeliveryFuture<'a> {
        Box::pin(async move {
            let Payload::Telegram(p) = payload else {
                return Err(DeliveryError::Permanent("email not expected".into()));
            };
            let scripted = self
                .script
                .lock()
                .unwrap()
                .get_mut(&p.text)
                .and_then(|v| (!v.is_empty()).then(|| v.remove(0)));
            if let Some(Err(e)) = scripted {
                return Err(e);
            }
            let mut sent = self.sent.lock().unwrap();
            sent.push(p.text.clone());
            Ok(Delivered {
                external_id: Some(format!("{}", 1000 + sent.len())),
            })
        })
    }
}

fn msg(text: &str) -> Payload {
    Payload::Telegram(TelegramPayload {
        chat_id: 42,
        text: text.into(),
        buttons: vec![],
        edit_message_id: None,
        calendar: None,
        menu: None,
    })
}

async fn enqueue(store: &Store, texts: &[String], now: chrono::DateTime<Utc>) {
    let mut tx = store.begin().await.unwrap();
    for t in texts {
        tx.enqueue(&format!("k:{t}"), None, &msg(t), now)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
}

fn worker(
    store: &Store,
    clock: &ManualClock,
    rec: &Arc<Recorder>,
    policy: RetryPolicy,
) -> OutboxWorker {
    OutboxWorker::new(
        store.clone(),
        Arc::new(clock.clone()),
        Transports {
            telegram: Some(rec.clone()),
            email: None,
        },
        policy,
    )
    .with_events(connecting::app::delivery::events(
        connecting::renderers::core(Default::default()),
    ))
}

/// The coordinator every dead letter is reported to (Telegram chat 900).
async fn add_coordinator(store: &Store, now: chrono::DateTime<Utc>) {
    store
        .add_coordinator(
            &NewCoordinator {
                name: "C".into(),
                telegram_id: Some(900),
                email: None,
            },
            now,
        )
        .await
        .unwrap();
}

fn start() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap()
}

both_backends!(retry_after_then_backoff_then_sent, |db| async move {
    let clock = ManualClock::new(start());
    let rec = Arc::new(Recorder::default());
    rec.script.lock().unwrap().insert(
        "hello".into(),
        vec![
            Err(DeliveryError::Retry {
                after: Some(StdDuration::from_secs(30)),
                reason: "429".into(),
            }),
            Err(DeliveryError::Retry {
                after: None,
                reason: "timeout".into(),
            }),
        ],
    );
    let policy = RetryPolicy {
        base: StdDuration::from_secs(10),
        ..Default::default()
    };
    let w = worker(&db.store, &clock, &rec, policy);
    enqueue(&db.store, &["hello".into()], clock.now()).await;

    let s = w.run_once().await.unwrap();
    assert_eq!((s.sent, s.retried), (0, 1));
    let row = &db.store.outbox_all().await.unwrap()[0];
    let wait = row.next_attempt_at - clock.now().timestamp();
    assert!((30..=33).contains(&wait), "retry_after honoured: {wait}");
    assert_eq!(row.last_error.as_deref(), Some("429"));
    clock.advance(Duration::seconds(29));
    assert_eq!(
        w.run_once().await.unwrap().claimed(),
        0,
        "not before retry_after"
    );
    clock.advance(Duration::seconds(5));
    let s = w.run_once().await.unwrap();
    assert_eq!(s.retried, 1);
    // Second failure: exponential backoff with jitter, 10 to 20 s after attempt 2.
    let row = &db.store.outbox_all().await.unwrap()[0];
    let wait = row.next_attempt_at - clock.now().timestamp();
    assert!((10..=20).contains(&wait), "backoff {wait}");
    clock.advance(Duration::seconds(wait));
    assert_eq!(w.run_once().await.unwrap().sent, 1);
    let row = &db.store.outbox_all().await.unwrap()[0];
    assert_eq!((row.status.as_str(), row.attempts), ("sent", 3));
    assert_eq!(row.external_id.as_deref(), Some("1001"));
    assert_eq!(*rec.sent.lock().unwrap(), vec!["hello".to_string()]);
});

both_backends!(dead_letters_alert_the_coordinator_once, |db| async move {
    let clock = ManualClock::new(start());
    add_coordinator(&db.store, clock.now()).await;
    let rec = Arc::new(Recorder::default());
    rec.script.lock().unwrap().insert(
        "blocked".into(),
        vec![Err(DeliveryError::Permanent("bot was blocked".into()))],
    );
    rec.script.lock().unwrap().insert(
        "flaky".into(),
        (0..3)
            .map(|_| {
                Err(DeliveryError::Retry {
                    after: Some(StdDuration::from_secs(1)),
                    reason: "502".into(),
                })
            })
            .collect(),
    );
    let policy = RetryPolicy {
        max_attempts: 3,
        ..Default::default()
    };
    let w = worker(&db.store, &clock, &rec, policy);
    enqueue(&db.store, &["blocked".into(), "flaky".into()], clock.now()).await;
    let s = w.run_once().await.unwrap();
    assert_eq!((s.dead, s.retried), (1, 1));
    for _ in 0..2 {
        clock.advance(Duration::seconds(5));
        w.run_once().await.unwrap();
    }
    // The alert written by the last round goes out on the next one.
    assert_eq!(w.run_once().await.unwrap().sent, 1);
    let rows = db.store.outbox_all().await.unwrap();
    let status: HashMap<String, (String, i64)> = rows
        .iter()
        .map(|r| {
            (
                r.idempotency_key.clone(),
                (r.status.to_string(), r.attempts),
            )
        })
        .collect();
    assert_eq!(status["k:blocked"], ("dead".to_string(), 1));
    assert_eq!(status["k:flaky"], ("dead".to_string(), 3));
    let alerts: Vec<_> = rows
        .iter()
        .filter(|r| r.idempotency_key.starts_with("dead:"))
        .collect();
    assert_eq!(alerts.len(), 2, "one alert per dead row per coordinator");
    // The alerts themselves were delivered to the coordinator's chat.
    let sent = rec.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert!(sent.iter().all(|t| t.contains("non è stato consegnato")));
});

both_backends!(
    a_worker_that_died_mid_delivery_is_taken_over_after_the_lease,
    |db| async move {
        let clock = ManualClock::new(start());
        let rec = Arc::new(Recorder::default());
        let texts: Vec<String> = (0..20).map(|i| format!("m{i}")).collect();
        enqueue(&db.store, &texts, clock.now()).await;
        // A worker claims everything and dies before delivering or marking.
        let lease = Duration::seconds(120);
        let dead = db
            .store
            .claim_outbox(clock.now(), clock.now() + lease, 100)
            .await
            .unwrap();
        assert_eq!(dead.len(), 20);
        // A new process after the restart.
        let w = worker(&db.store, &clock, &rec, RetryPolicy::default());
        assert_eq!(
            w.run_once().await.unwrap().claimed(),
            0,
            "leased rows are left alone"
        );
        clock.advance(lease);
        let mut sent = 0;
        loop {
            let s = w.run_once().await.unwrap();
            if s.claimed() == 0 {
                break;
            }
            sent += s.sent;
        }
        assert_eq!(sent, 20);
        // The dead worker's late marks are refused: its attempt number is stale.
        assert!(
            !db.store
                .mark_outbox_sent(dead[0].id, dead[0].attempt, Some("x"), clock.now())
                .await
                .unwrap()
        );
        let mut got = rec.sent.lock().unwrap().clone();
        got.sort();
        let mut want = texts.clone();
        want.sort();
        assert_eq!(got, want, "every message delivered, none lost, none twice");
    }
);

both_backends!(two_workers_deliver_each_row_once, |db| async move {
    let clock = ManualClock::new(start());
    let rec = Arc::new(Recorder::default());
    let texts: Vec<String> = (0..300).map(|i| format!("n{i}")).collect();
    enqueue(&db.store, &texts, clock.now()).await;
    let policy = RetryPolicy {
        batch: 16,
        ..Default::default()
    };
    let a = worker(&db.another_instance().await, &clock, &rec, policy);
    let b = worker(&db.another_instance().await, &clock, &rec, policy);
    let drain = |w: OutboxWorker| async move {
        let mut n = 0;
        loop {
            let s = w.run_once().await.unwrap();
            if s.claimed() == 0 {
                return n;
            }
            n += s.sent;
        }
    };
    let (na, nb) = tokio::join!(tokio::spawn(drain(a)), tokio::spawn(drain(b)));
    assert_eq!(na.unwrap() + nb.unwrap(), 300);
    let got = rec.sent.lock().unwrap().clone();
    let distinct: std::collections::HashSet<_> = got.iter().collect();
    assert_eq!((got.len(), distinct.len()), (300, 300));
});

/// A transport that appends each delivered text to a file, and kills the whole process right
/// after the `abort_after`-th delivery: the message went out, its row was never marked.
struct CrashingFile {
    path: std::path::PathBuf,
    abort_after: usize,
    count: Mutex<usize>,
}

impl Transport for CrashingFile {
    fn deliver<'a>(&'a self, payload: &'a Payload) -> DeliveryFuture<'a> {
        Box::pin(async move {
            let Payload::Telegram(p) = payload else {
                return Err(DeliveryError::Permanent("email not expected".into()));
            };
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)
                .unwrap();
            writeln!(f, "{}", p.text).unwrap();
            f.sync_all().unwrap();
            let mut n = self.count.lock().unwrap();
            *n += 1;
            if *n >= self.abort_after {
                std::process::abort();
            }
            Ok(Delivered { external_id: None })
        })
    }
}

/// Run by `the_process_killed_between_send_and_mark_loses_nothing` as a child process.
#[tokio::test]
#[ignore = "child process of the crash test"]
async fn crash_child_process() {
    // Only meaningful when started by the crash test, which sets both variables.
    let (Ok(url), Ok(log)) = (std::env::var("CRASH_DB_URL"), std::env::var("CRASH_LOG")) else {
        return;
    };
    let store = Store::connect(&url).await.unwrap();
    let w = OutboxWorker::new(
        store,
        Arc::new(connecting::clock::SystemClock),
        Transports {
            telegram: Some(Arc::new(CrashingFile {
                path: log.into(),
                abort_after: 5,
                count: Mutex::new(0),
            })),
            email: None,
        },
        RetryPolicy {
            concurrency: 1,
            ..Default::default()
        },
    )
    .with_events(connecting::app::delivery::events(
        connecting::renderers::core(Default::default()),
    ));
    w.run_once().await.unwrap();
}

both_backends!(
    the_process_killed_between_send_and_mark_loses_nothing,
    |db| async move {
        let texts: Vec<String> = (0..20).map(|i| format!("c{i:02}")).collect();
        enqueue(&db.store, &texts, Utc::now()).await;
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("delivered.txt");
        let status = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--ignored",
                "--exact",
                "crash_child_process",
                "--test-threads",
                "1",
            ])
            .env("CRASH_DB_URL", &db.url)
            .env("CRASH_LOG", &log)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(!status.success(), "the child was killed mid-round");
        let before: Vec<String> = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(before.len(), 5, "five messages went out before the kill");
        let rows = db.store.outbox_all().await.unwrap();
        assert!(
            rows.iter()
                .all(|r| r.status == connecting::domain::OutboxStatus::Sending),
            "nothing was marked"
        );

        // After the restart, once the dead process's lease has passed, a new worker delivers all.
        let clock = ManualClock::new(Utc::now() + Duration::seconds(121));
        let rec = Arc::new(Recorder::default());
        let w = worker(&db.store, &clock, &rec, RetryPolicy::default());
        while w.run_once().await.unwrap().claimed() > 0 {}
        let after = rec.sent.lock().unwrap().clone();
        let mut all: Vec<String> = before.iter().chain(after.iter()).cloned().collect();
        all.sort();
        all.dedup();
        assert_eq!(all, texts, "none lost");
        assert_eq!(
            after.len(),
            20,
            "the rows the dead process sent but never marked go out again"
        );
        assert!(
            db.store
                .outbox_all()
                .await
                .unwrap()
                .iter()
                .all(|r| r.status == connecting::domain::OutboxStatus::Sent)
        );
    }
);

/// Records the recipients of emails.
#[derive(Default)]
struct MailRecorder {
    to: Mutex<Vec<String>>,
}

impl Transport for MailRecorder {
    fn deliver<'a>(&'a self, payload: &'a Payload) -> DeliveryFuture<'a> {
        Box::pin(async move {
            let Payload::Email(e) = payload else {
                return Err(DeliveryError::Permanent("telegram not expected".into()));
            };
            self.to.lock().unwrap().push(e.to.clone());
            Ok(Delivered {
                external_id: Some(e.message_id.clone()),
            })
        })
    }
}

both_backends!(
    the_cap_per_recipient_is_counted_in_the_store_across_restarts,
    |db| async move {
        use connecting::outbox::EmailPayload;
        let clock = ManualClock::new(start());
        let rec = Arc::new(MailRecorder::default());
        let mail_worker = || {
            OutboxWorker::new(
                db.store.clone(),
                Arc::new(clock.clone()),
                Transports {
                    telegram: None,
                    email: Some(rec.clone()),
                },
                RetryPolicy::default(),
            )
            .with_events(connecting::app::delivery::events(
                connecting::renderers::core(Default::default()),
            ))
            .with_email_cap(3, StdDuration::from_secs(3600))
        };
        let enqueue_mail = |key: String, to: &'static str| {
            let store = db.store.clone();
            let now = clock.now();
            async move {
                let mut tx = store.begin().await.unwrap();
                tx.enqueue(
                    &key,
                    None,
                    &Payload::Email(EmailPayload {
                        to: to.into(),
                        subject: "s".into(),
                        body: "b".into(),
                        message_id: format!("<{key}@coop.example>"),
                        in_reply_to: None,
                        references: vec![],
                        calendar: None,
                    }),
                    now,
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
            }
        };
        for i in 0..5 {
            // The same mailbox, however it is written.
            let to = if i % 2 == 0 {
                "Anna@Comune.it"
            } else {
                " anna@comune.it"
            };
            enqueue_mail(format!("m{i}"), to).await;
        }
        enqueue_mail("other".into(), "paolo@comune.it").await;
        let count = |who: &str| {
            rec.to
                .lock()
                .unwrap()
                .iter()
                .filter(|t| t.trim().eq_ignore_ascii_case(who))
                .count()
        };
        mail_worker().run_once().await.unwrap();
        assert_eq!(count("anna@comune.it"), 3, "the cap holds");
        assert_eq!(count("paolo@comune.it"), 1, "others are not held");

        // A restart (a new worker, as on another instance) still counts what went out.
        enqueue_mail("m5".into(), "anna@comune.it").await;
        clock.advance(Duration::minutes(10));
        mail_worker().run_once().await.unwrap();
        assert_eq!(count("anna@comune.it"), 3, "the cap survives a restart");
        let rows = db.store.outbox_all().await.unwrap();
        let held: Vec<_> = rows
            .iter()
            .filter(|r| r.status == connecting::domain::OutboxStatus::Pending)
            .collect();
        assert_eq!(held.len(), 3, "held back, not dropped");
        assert!(
            held.iter()
                .all(|r| r.next_attempt_at >= connecting::store::ts(start()) + 3600),
            "they wait for the window to free a slot"
        );

        // When the hour has passed, the next three go.
        clock.advance(Duration::minutes(55));
        mail_worker().run_once().await.unwrap();
        assert_eq!(count("anna@comune.it"), 6);
        assert!(db.store.outbox_dead().await.unwrap().is_empty());
    }
);

both_backends!(
    dead_letter_alerts_speak_the_configured_language,
    |db| async move {
        let clock = ManualClock::new(start());
        add_coordinator(&db.store, clock.now()).await;
        let rec = Arc::new(Recorder::default());
        rec.script.lock().unwrap().insert(
            "blocked".into(),
            vec![Err(DeliveryError::Permanent("bot was blocked".into()))],
        );
        let english = connecting::renderers::core(connecting::dispatch::DispatchSettings {
            lang: connecting::config::Lang::En,
            ..Default::default()
        });
        let w = worker(&db.store, &clock, &rec, RetryPolicy::default())
            .with_events(connecting::app::delivery::events(english));
        enqueue(&db.store, &["blocked".into()], clock.now()).await;
        assert_eq!(w.run_once().await.unwrap().dead, 1);
        assert_eq!(w.run_once().await.unwrap().sent, 1);
        let sent = rec.sent.lock().unwrap().clone();
        assert!(
            sent.iter()
                .any(|t| t.contains("was not delivered") && t.contains("outbox retry")),
            "{sent:?}"
        );
    }
);
