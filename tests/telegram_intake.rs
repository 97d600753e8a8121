//! The Telegram intake against the fake Bot API with the real teloxide client: long polling
//! confirms an update only after it is committed, honours 429, never stalls on the corpus or on
//! a poison update; the webhook checks its secret and answers 200 only after commit; the outbox
//! transport maps Telegram's errors; start-up turns a bad token into one clear error.

#[path = "support/botapi.rs"]
mod botapi;

use botapi::FakeBotApi;
use connecting::channels::telegram::updates::{Incoming, classify};
use connecting::channels::telegram::{
    PollConfig, SinkError, TelegramTransport, UpdateSink, poller, sink::SinkFuture, startup,
    webhook,
};
use connecting::outbox::{Button, DeliveryError, Payload, TelegramPayload, Transport};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use teloxide::types::Update;
use tokio::sync::{Semaphore, watch};

/// A sink that records what it was given; it can hold commits or fail them on purpose.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(i64, Incoming)>>,
    /// update_id -> how many more commits of it fail.
    fail: Mutex<HashMap<i64, u32>>,
    /// When set, each commit waits for a permit.
    gate: Option<Arc<Semaphore>>,
    quarantined: Mutex<Vec<i64>>,
    allow_quarantine: bool,
}

impl Recorder {
    fn ids(&self) -> Vec<i64> {
        self.seen.lock().unwrap().iter().map(|(i, _)| *i).collect()
    }
}

impl UpdateSink for Recorder {
    fn commit<'a>(&'a self, update: &'a Update) -> SinkFuture<'a> {
        Box::pin(async move {
            if let Some(g) = &self.gate {
                g.acquire()
                    .await
                    .map_err(|e| SinkError(e.to_string()))?
                    .forget();
            }
            let id = update.id.0 as i64;
            {
                let mut f = self.fail.lock().unwrap();
                if let Some(n) = f.get_mut(&id)
                    && *n > 0
                {
                    *n -= 1;
                    return Err(SinkError("store unavailable".into()));
                }
            }
            self.seen.lock().unwrap().push((id, classify(update)));
            Ok(())
        })
    }
    fn quarantine<'a>(&'a self, update: &'a Update, _reason: &'a str) -> SinkFuture<'a> {
        Box::pin(async move {
            if self.allow_quarantine {
                self.quarantined.lock().unwrap().push(update.id.0 as i64);
                Ok(())
            } else {
                Err(SinkError("no".into()))
            }
        })
    }
}

fn fast() -> PollConfig {
    PollConfig {
        timeout_secs: 1,
        max_attempts: 3,
        backoff: Duration::from_millis(20),
        ..PollConfig::default()
    }
}

async fn until(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < timeout, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn an_update_is_confirmed_only_after_commit() {
    let fake = FakeBotApi::start().await;
    let gate = Arc::new(Semaphore::new(0));
    let sink = Arc::new(Recorder {
        gate: Some(gate.clone()),
        ..Default::default()
    });
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(poller::run(fake.bot(), sink.clone(), fast(), rx));

    let first = fake.push_text(10, "uno");
    let second = fake.push_text(10, "due");
    // The poller has the updates but cannot commit: nothing may be confirmed.
    until("a getUpdates call", Duration::from_secs(5), || {
        fake.calls("getUpdates") >= 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.pending_count(), 2);
    assert!(fake.confirmed_offset() <= first);

    gate.add_permits(1);
    until("first commit", Duration::from_secs(5), || {
        sink.ids() == vec![first]
    })
    .await;
    // Still held on the second: the first is confirmed only by the next getUpdates, which
    // comes after the batch; so the second cannot be confirmed yet either.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        fake.confirmed_offset() <= second,
        "second confirmed before commit"
    );

    gate.add_permits(1);
    until("both confirmed", Duration::from_secs(5), || {
        fake.confirmed_offset() == second + 1
    })
    .await;
    assert_eq!(sink.ids(), vec![first, second]);
    assert_eq!(fake.pending_count(), 0);
    stop.send(true).unwrap();
    assert_eq!(task.await.unwrap(), Some((second + 1) as i32));
}

#[tokio::test]
async fn a_failed_commit_is_redelivered_and_a_poison_update_is_quarantined() {
    let fake = FakeBotApi::start().await;
    let sink = Arc::new(Recorder {
        allow_quarantine: true,
        ..Default::default()
    });
    let a = fake.push_text(11, "a");
    let b = fake.push_text(11, "b");
    let c = fake.push_text(11, "c");
    sink.fail.lock().unwrap().insert(a, 2); // fails twice, then commits
    sink.fail.lock().unwrap().insert(b, 100); // never commits
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(poller::run(fake.bot(), sink.clone(), fast(), rx));
    until("c committed", Duration::from_secs(10), || {
        sink.ids().contains(&c)
    })
    .await;
    until("all confirmed", Duration::from_secs(5), || {
        fake.confirmed_offset() == c + 1
    })
    .await;
    assert_eq!(sink.ids(), vec![a, c]);
    assert_eq!(*sink.quarantined.lock().unwrap(), vec![b]);
    stop.send(true).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn without_quarantine_a_failing_update_is_never_confirmed() {
    let fake = FakeBotApi::start().await;
    let sink = Arc::new(Recorder::default());
    let a = fake.push_text(12, "a");
    sink.fail.lock().unwrap().insert(a, 1000);
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(poller::run(fake.bot(), sink.clone(), fast(), rx));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(fake.calls("GetUpdates") >= 2, "poller kept trying");
    assert_eq!(fake.pending_count(), 1);
    assert!(sink.ids().is_empty());
    stop.send(true).unwrap();
    // The offset returned never goes past the failed update.
    assert!(task.await.unwrap().is_none_or(|o| i64::from(o) <= a));
    assert_eq!(
        fake.pending_count(),
        1,
        "shutdown confirmed an uncommitted update"
    );
}

#[tokio::test]
async fn retry_after_on_get_updates_is_honoured() {
    let fake = FakeBotApi::start().await;
    let sink = Arc::new(Recorder::default());
    fake.inject_429("GetUpdates", 1);
    let t = Instant::now();
    let id = fake.push_text(13, "x");
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(poller::run(fake.bot(), sink.clone(), fast(), rx));
    until("commit", Duration::from_secs(5), || sink.ids() == vec![id]).await;
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "{:?}",
        t.elapsed()
    );
    stop.send(true).unwrap();
    task.await.unwrap();
}

#[tokio::test]
async fn the_whole_corpus_goes_through_without_a_stall() {
    let fake = FakeBotApi::start().await;
    let sink = Arc::new(Recorder::default());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/telegram");
    let dir = if dir.exists() {
        dir
    } else {
        std::path::PathBuf::from("/work/shared/corpus/telegram")
    };
    let corpus = botapi::corpus_updates(&dir);
    assert!(corpus.len() >= 35, "{}", corpus.len());
    let mut ids = Vec::new();
    for (_, u) in &corpus {
        ids.push(fake.push_raw(u.clone()));
    }
    // A normal message after the corpus must still arrive.
    let last = fake.push_text(14, "dopo il corpus");
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(poller::run(fake.bot(), sink.clone(), fast(), rx));
    until("last committed", Duration::from_secs(10), || {
        sink.ids().contains(&last)
    })
    .await;
    ids.push(last);
    // Different people's updates are committed at once: compare as sets, and each person's
    // in order.
    let mut got = sink.ids();
    // (Updates without a sender stand alone.)
    let by_user = |list: &[i64]| -> std::collections::BTreeMap<i64, Vec<i64>> {
        let mut m = std::collections::BTreeMap::<i64, Vec<i64>>::new();
        for id in list {
            let user = corpus
                .iter()
                .zip(ids.iter())
                .find(|(_, i)| *i == id)
                .and_then(|((_, u), _)| {
                    [
                        "message",
                        "edited_message",
                        "callback_query",
                        "my_chat_member",
                    ]
                    .iter()
                    .find_map(|k| u[k]["from"]["id"].as_i64())
                });
            m.entry(user.unwrap_or(-id)).or_default().push(*id);
        }
        m
    };
    assert_eq!(
        by_user(&got),
        by_user(&ids),
        "each person's updates in order"
    );
    got.sort();
    let mut want = ids.clone();
    want.sort();
    assert_eq!(got, want);
    let seen = sink.seen.lock().unwrap().clone();
    let ignored = seen
        .iter()
        .filter(|(_, i)| matches!(i, Incoming::Ignored { .. }))
        .count();
    let non_text = seen
        .iter()
        .filter(|(_, i)| matches!(i, Incoming::NonText { .. }))
        .count();
    let texts = seen
        .iter()
        .filter(|(_, i)| matches!(i, Incoming::Text { .. }))
        .count();
    assert!(ignored >= 5, "{ignored}");
    assert!(non_text >= 5, "{non_text}");
    assert!(texts >= 5, "{texts}");
    assert!(
        matches!(seen.last(), Some((_, Incoming::Text { text, .. })) if text == "dopo il corpus")
    );
    stop.send(true).unwrap();
    task.await.unwrap();
    assert_eq!(fake.pending_count(), 0);
}

#[tokio::test]
async fn webhook_checks_the_secret_and_answers_after_commit() {
    let sink = Arc::new(Recorder::default());
    let app = webhook::router(sink.clone(), "/telegram/hook", "s3cret-Token_1".into());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let url = format!("http://{addr}/telegram/hook");
    let body = serde_json::json!({"update_id": 5, "message": {"message_id": 1, "date": 1700000000,
        "chat": {"id": 9, "type": "private", "first_name": "A"},
        "from": {"id": 9, "is_bot": false, "first_name": "A"}, "text": "ciao"}})
    .to_string();
    let client = teloxide::net::default_reqwest_settings().build().unwrap();
    let post = |secret: Option<&str>| {
        let mut r = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(s) = secret {
            r = r.header(webhook::SECRET_HEADER, s);
        }
        r.send()
    };
    assert_eq!(post(None).await.unwrap().status().as_u16(), 401);
    assert_eq!(post(Some("wrong")).await.unwrap().status().as_u16(), 401);
    assert!(sink.ids().is_empty());
    sink.fail.lock().unwrap().insert(5, 1);
    assert_eq!(
        post(Some("s3cret-Token_1"))
            .await
            .unwrap()
            .status()
            .as_u16(),
        503
    );
    assert!(sink.ids().is_empty());
    assert_eq!(
        post(Some("s3cret-Token_1"))
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    assert_eq!(sink.ids(), vec![5]);
}

fn payload(chat_id: i64, text: &str) -> Payload {
    Payload::Telegram(TelegramPayload {
        chat_id,
        text: text.into(),
        buttons: vec![vec![
            Button {
                text: "Accetto".into(),
                data: "acc:1".into(),
            },
            Button {
                text: "Non posso".into(),
                data: "dec:1".into(),
            },
        ]],
        edit_message_id: None,
        calendar: None,
    })
}

#[tokio::test]
async fn transport_sends_edits_and_classifies_errors() {
    let fake = FakeBotApi::start().await;
    let tr = TelegramTransport::new(fake.bot());
    let d = tr
        .deliver(&payload(21, "<b>Offerta</b> MED-2027-0001"))
        .await
        .unwrap();
    let mid: i64 = d.external_id.unwrap().parse().unwrap();
    let m = fake.message(21, mid).unwrap();
    assert_eq!(m.labels(), vec!["Accetto", "Non posso"]);
    assert_eq!(m.parse_mode.as_deref(), Some("HTML"));

    let edit = Payload::Telegram(TelegramPayload {
        chat_id: 21,
        text: "Già assegnata".into(),
        buttons: vec![],
        edit_message_id: Some(mid),
        calendar: None,
    });
    let d = tr.deliver(&edit).await.unwrap();
    assert_eq!(d.external_id, Some(mid.to_string()));
    assert!(fake.message(21, mid).unwrap().buttons.is_empty());
    // The same edit again (a retried row) is still a success.
    tr.deliver(&edit).await.unwrap();

    fake.inject_429("sendMessage", 7);
    match tr.deliver(&payload(21, "x")).await {
        Err(DeliveryError::Retry { after, .. }) => assert_eq!(after, Some(Duration::from_secs(7))),
        other => panic!("{other:?}"),
    }
    fake.inject(
        "sendMessage",
        403,
        "Forbidden: bot was blocked by the user",
        None,
    );
    assert!(matches!(
        tr.deliver(&payload(21, "x")).await,
        Err(DeliveryError::Permanent(_))
    ));
    fake.inject("sendMessage", 400, "Bad Request: chat not found", None);
    assert!(matches!(
        tr.deliver(&payload(21, "x")).await,
        Err(DeliveryError::Permanent(_))
    ));
    // Network trouble is temporary. (A 5xx from the server also is, but teloxide then sleeps
    // ten seconds inside the request.)
    let dead = TelegramTransport::new(
        teloxide::Bot::new("1:x").set_api_url("http://127.0.0.1:9/".parse().unwrap()),
    );
    assert!(matches!(
        dead.deliver(&payload(21, "x")).await,
        Err(DeliveryError::Retry { .. })
    ));
    let email = Payload::Email(connecting::outbox::EmailPayload {
        to: "a@b.c".into(),
        subject: "s".into(),
        body: "b".into(),
        message_id: "<m@x>".into(),
        in_reply_to: None,
        references: vec![],
        calendar: None,
    });
    assert!(matches!(
        tr.deliver(&email).await,
        Err(DeliveryError::Permanent(_))
    ));
}

#[tokio::test]
async fn startup_turns_a_bad_token_or_url_into_one_clear_error() {
    let fake = FakeBotApi::start().await;
    let me = startup::check(&fake.bot()).await.unwrap();
    assert!(me.user.is_bot);

    let wrong = teloxide::Bot::new("999:wrong").set_api_url(fake.url.parse().unwrap());
    let e = startup::check(&wrong).await.unwrap_err();
    assert!(matches!(e, startup::StartupError::BadToken { .. }), "{e:?}");
    assert!(e.to_string().contains("telegram.token"));
    assert!(!e.to_string().contains("999:wrong"));

    let nowhere =
        teloxide::Bot::new("999:secret").set_api_url("http://127.0.0.1:9/".parse().unwrap());
    let e = startup::check(&nowhere).await.unwrap_err();
    assert!(
        matches!(e, startup::StartupError::Unreachable { .. }),
        "{e:?}"
    );
    assert!(!e.to_string().contains("999:secret"));

    startup::register_commands(&fake.bot(), connecting::config::Lang::It)
        .await
        .unwrap();
    let cmds = fake.commands();
    assert!(
        cmds.iter()
            .any(|(c, d)| c == "nuova" && d.contains("richiesta"))
    );
    assert!(cmds.iter().any(|(c, _)| c == "console"), "{cmds:?}");
    assert!(
        cmds.iter()
            .any(|(c, d)| c == "modifica" && d.contains("Sposta una richiesta")),
        "{cmds:?}"
    );
    assert_eq!(cmds.len(), 15);
    startup::use_webhook(&fake.bot(), "https://bot.example.org/telegram/hook", "abc")
        .await
        .unwrap();
    assert_eq!(
        fake.webhook(),
        Some((
            "https://bot.example.org/telegram/hook".into(),
            Some("abc".into())
        ))
    );
    startup::use_polling(&fake.bot()).await.unwrap();
    assert_eq!(fake.webhook(), None);
}
