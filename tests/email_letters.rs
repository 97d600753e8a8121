//! What we write to social workers by email, checked on the messages the real SMTP server
//! delivered into Dovecot and read back with IMAP (SQLite and PostgreSQL):
//!
//! - the confirmation of the mediator is a real letter in the request's thread: `Re: <original
//!   subject> [MED-..]`, In-Reply-To and References, greeting, the appointment in words, the
//!   mediator's name with the words of her gender and her phone (she shares it), how to change
//!   or cancel and the 24-hour rule, the cooperative's signature from the configuration;
//! - the loop guard targets loops: twenty requests from one registered operator in one
//!   morning get their twenty acknowledgements at once, while the same twenty from an address
//!   that is only on an allowed domain (an auto-responder's pattern) stop at the hourly cap.

#[path = "support/common.rs"]
mod common;
#[path = "support/mail.rs"]
mod mail;

use chrono::{TimeZone, Utc};
use connecting::channels::email::imap::{ImapConfig, Poller, TlsMode};
use connecting::channels::email::smtp::{SmtpConfig, SmtpTransport};
use connecting::channels::email::{Intake, IntakeConfig, Limits, parse_email};
use connecting::clock::ManualClock;
use connecting::dispatch::{AcceptOutcome, DispatchSettings, Dispatcher};
use connecting::domain::{Ambito, Gender, LanguageCode, RequestStatus};
use connecting::outbox::{OutboxWorker, RetryPolicy, Transports};
use connecting::store::{NewMediator, NewOperator, RequestFilter, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

fn clock() -> ManualClock {
    ManualClock::new(Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap())
}

fn poll_info(
    store: &Store,
    servers: &mail::MailServers,
    clock: &ManualClock,
) -> watch::Sender<bool> {
    let mut cfg = IntakeConfig::new("info@coop.example", "coop.example");
    cfg.allowed_sender_domains = vec!["comune.example.it".into()];
    let intake = Arc::new(Intake::new(
        store.clone(),
        cfg,
        Arc::new(clock.clone()),
        connecting::renderers::channels(),
    ));
    let mut imap = ImapConfig::new(
        "127.0.0.1",
        servers.imap_port,
        TlsMode::None,
        "info",
        mail::PASSWORD,
    );
    imap.allow_plaintext = true;
    imap.backoff_min = Duration::from_millis(50);
    let (stop, rx) = watch::channel(false);
    tokio::spawn(Poller::new(imap, intake, rx).run());
    stop
}

fn worker(store: &Store, servers: &mail::MailServers, clock: &ManualClock) -> OutboxWorker {
    let mut smtp = SmtpConfig::new(
        "127.0.0.1",
        servers.smtp_port,
        TlsMode::None,
        "Cooperativa Esempio <info@coop.example>",
    );
    smtp.from_address = "info@coop.example".into();
    smtp.allow_plaintext = true;
    smtp.timeout = Duration::from_secs(10);
    OutboxWorker::new(
        store.clone(),
        Arc::new(clock.clone()),
        Transports {
            telegram: None,
            email: Some(Arc::new(SmtpTransport::new(&smtp).unwrap())),
        },
        RetryPolicy::default(),
    )
    .with_events(connecting::app::delivery::events(
        connecting::renderers::core(Default::default()),
    ))
    .with_email_cap(10, Duration::from_secs(3600))
}

async fn operator(store: &Store, name: &str, email: &str) {
    store
        .add_operator(
            &NewOperator {
                name: name.into(),
                email: Some(email.into()),
                phone: None,
                ente: "Comune di Dalmine".into(),
                ambito: Ambito::parse("Dalmine").unwrap(),
                telegram_id: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
}

async fn until_requests(store: &Store, n: usize) -> Vec<connecting::store::Request> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = store.requests(&RequestFilter::default()).await.unwrap();
        if r.len() >= n || Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs the outbox worker until a round sends nothing; returns how many went out.
async fn drain(w: &OutboxWorker) -> usize {
    let mut sent = 0;
    loop {
        let s = w.run_once().await.unwrap();
        if s.sent == 0 {
            return sent;
        }
        sent += s.sent;
    }
}

both_backends!(
    the_confirmation_is_a_letter_in_the_requesters_thread,
    |db| async move {
        let store = db.store.clone();
        let servers = mail::MailServers::start(&["info", "laura", "fatima"]);
        let clock = clock();
        operator(&store, "Laura Bianchi", "laura@comune.example.it").await;
        let fatima = store
            .add_mediator(
                &NewMediator {
                    name: "Fatima Zahra".into(),
                    phone: Some("+39 333 1234567".into()),
                    email: Some("fatima@coop.example".into()),
                    telegram_id: None,
                    gender: Some(Gender::F),
                    languages: vec![LanguageCode::parse("ar").unwrap()],
                    ambiti: vec![Ambito::parse("Dalmine").unwrap()],
                    availability: None,
                    share_phone: true,
                },
                Utc::now(),
            )
            .await
            .unwrap();
        let stop = poll_info(&store, &servers, &clock);
        servers
            .append(
                "info",
                "INBOX",
                &mail::message(
                    "Laura Bianchi <laura@comune.example.it>",
                    "info@coop.example",
                    "Richiesta mediatrice araba",
                    "orig-laura@comune.example.it",
                    "Buongiorno,\r\nserve una mediatrice di lingua araba per un colloquio giovedì \
                     11/03/2027 alle 14:30 presso la sede del Servizio Tutela Minori, via Roma 1, \
                     Dalmine. Durata 2 ore.\r\n\r\nLaura Bianchi",
                ),
            )
            .await;
        let r = until_requests(&store, 1).await.remove(0);
        assert_eq!(r.status, RequestStatus::Queued, "{r:?}");
        let dispatcher = Dispatcher::new(
            store.clone(),
            Arc::new(clock.clone()),
            DispatchSettings {
                message_id_domain: "coop.example".into(),
                email_signature: Some(
                    "Cooperativa Esempio - Servizio di mediazione culturale\n\
                     Via Roma 1, Bergamo - tel. 035 000000"
                        .into(),
                ),
                ..Default::default()
            },
            connecting::renderers::channels(),
        );
        dispatcher.dispatch(r.code).await.unwrap();
        let offer = store.offers_for_request(r.id).await.unwrap().remove(0);
        assert!(matches!(
            dispatcher.accept(offer.id, fatima.id).await.unwrap(),
            AcceptOutcome::Assigned { .. }
        ));
        let w = worker(&store, &servers, &clock);
        drain(&w).await;
        stop.send(true).unwrap();
        // Laura's mailbox: the acknowledgement, then the confirmation.
        let got = servers
            .wait_for("laura", "INBOX", 2, Duration::from_secs(10))
            .await;
        assert_eq!(got.len(), 2);
        let code = r.code.to_string();
        // The acknowledgement and the confirmation may arrive in either order.
        let raw = got
            .iter()
            .find(|m| {
                parse_email(m, &Limits::default())
                    .ok()
                    .and_then(|e| e.subject)
                    .is_some_and(|s| !s.starts_with(&format!("Re: [{code}]")))
            })
            .expect("the confirmation");
        let wire = String::from_utf8_lossy(raw).into_owned();
        let letter = parse_email(raw, &Limits::default()).unwrap();
        assert_eq!(
            letter.subject.as_deref(),
            Some(format!("Re: Richiesta mediatrice araba [{code}]").as_str())
        );
        assert_eq!(letter.in_reply_to, vec!["orig-laura@comune.example.it"]);
        assert!(
            letter
                .references
                .contains(&"orig-laura@comune.example.it".to_string())
        );
        assert!(mail::header(&wire, "X-Connecting-Mark").is_some());
        let body = letter.text_plain.unwrap_or_default().replace("\r\n", "\n");
        for words in [
            "Buongiorno Laura Bianchi,",
            "la mediatrice Fatima Zahra è confermata",
            "giovedì 11 marzo, 14:30 (durata prevista 2 ore)",
            "Lingua: arabo",
            "Tipo di intervento: colloquio",
            "Dalmine",
            "Può contattare la mediatrice Fatima Zahra al numero +39 333 1234567.",
            "per annullare basta scrivere «annullo»",
            "almeno 24 ore prima",
            "Cooperativa Esempio - Servizio di mediazione culturale\nVia Roma 1, Bergamo - tel. 035 000000",
        ] {
            assert!(body.contains(words), "{words:?} not in the letter:\n{body}");
        }
        for code_word in ["confermato/a", "Lingua: ar\n", "in_person", "colloquio_"] {
            assert!(!body.contains(code_word), "{code_word:?} in:\n{body}");
        }
        assert_eq!(
            store.request(r.code).await.unwrap().status,
            RequestStatus::Confirmed
        );
    }
);

both_backends!(
    twenty_requests_from_an_operator_are_all_answered_at_once_a_loop_is_still_capped,
    |db| async move {
        let store = db.store.clone();
        let servers = mail::MailServers::start(&["info", "laura", "ufficio"]);
        let clock = clock();
        operator(&store, "Laura Bianchi", "laura@comune.example.it").await;
        let stop = poll_info(&store, &servers, &clock);
        let request = |from: &str, n: usize| {
            mail::message(
                from,
                "info@coop.example",
                &format!("Richiesta {n}"),
                &format!("req-{n}-{from}"),
                &format!(
                    "Serve una mediatrice di lingua araba per un colloquio il 1{}/03/2027 alle 9 a Dalmine.",
                    n % 10
                ),
            )
        };
        for n in 0..20 {
            servers
                .append("info", "INBOX", &request("laura@comune.example.it", n))
                .await;
        }
        assert_eq!(until_requests(&store, 20).await.len(), 20);
        let w = worker(&store, &servers, &clock);
        assert_eq!(drain(&w).await, 20, "all twenty acknowledgements at once");
        let got = servers
            .wait_for("laura", "INBOX", 20, Duration::from_secs(20))
            .await;
        assert_eq!(got.len(), 20);
        // The same pattern from an address known only by its domain (an auto-responder's
        // fresh threads): the hourly cap holds it at the mailbox.
        for n in 0..20 {
            servers
                .append("info", "INBOX", &request("ufficio@comune.example.it", n))
                .await;
        }
        assert_eq!(until_requests(&store, 40).await.len(), 40);
        assert_eq!(drain(&w).await, 10, "the cap of 10 an hour");
        stop.send(true).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(servers.messages("ufficio", "INBOX").await.len(), 10);
        let waiting = store
            .outbox_all()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.status == connecting::domain::OutboxStatus::Pending)
            .count();
        assert_eq!(waiting, 10, "deferred, not dropped");
    }
);
