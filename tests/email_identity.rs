//! Who an email is from and whether it is ours, from the email entry point with real servers:
//! a private Dovecot (IMAP + LMTP), a real SMTP server delivering into it, the IMAP poller and
//! the real store (SQLite and PostgreSQL).
//!
//! - our own mail is recognised by our keyed mark only: a copy of our acknowledgement coming
//!   back is set aside as ours, a message claiming to be ours without the mark is anyone's
//!   mail, and a colleague forwarding from the cooperative's own domain opens a request;
//! - nothing is set aside silently: `connecting inbound list` shows it, with why, in words;
//! - two different messages sharing a Message-ID are two; the same message twice is one;
//! - a From that is not exactly one valid mailbox identifies nobody: held, never answered,
//!   and it changes nothing whatever code it names; an unknown sender may cancel their own
//!   held request (it leaves the review queue) and is told.

#[path = "support/common.rs"]
mod common;
#[path = "support/mail.rs"]
mod mail;

use chrono::{TimeZone, Utc};
use connecting::channels::email::imap::{ImapConfig, Poller, TlsMode};
use connecting::channels::email::smtp::{SmtpConfig, SmtpTransport};
use connecting::channels::email::{Intake, IntakeConfig};
use connecting::clock::ManualClock;
use connecting::domain::{Ambito, RequestStatus};
use connecting::outbox::{OutboxWorker, RetryPolicy, Transports};
use connecting::store::{NewCoordinator, NewOperator, RequestFilter, Store};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

const REQUEST: &str = "Buongiorno,\r\nserve una mediatrice di lingua araba per un colloquio \
     giovedì 11/03/2027 alle 14:30 presso la sede del Servizio Tutela Minori di Dalmine, \
     durata 2 ore.\r\n\r\nGrazie";

/// The servers, the poller on info@'s INBOX and an outbox worker delivering by SMTP.
struct Rig {
    store: Store,
    servers: mail::MailServers,
    worker: OutboxWorker,
    stop: watch::Sender<bool>,
    seen: usize,
}

impl Rig {
    async fn start(store: &Store, users: &[&str]) -> Rig {
        let servers = mail::MailServers::start(users);
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap());
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
        let mut smtp = SmtpConfig::new(
            "127.0.0.1",
            servers.smtp_port,
            TlsMode::None,
            "info@coop.example",
        );
        smtp.allow_plaintext = true;
        smtp.timeout = Duration::from_secs(10);
        let worker = OutboxWorker::new(
            store.clone(),
            Arc::new(clock),
            Transports {
                telegram: None,
                email: Some(Arc::new(SmtpTransport::new(&smtp).unwrap())),
            },
            RetryPolicy::default(),
        )
        .with_events(connecting::app::delivery::events(
            connecting::renderers::core(Default::default()),
        ))
        .with_email_cap(10, Duration::from_secs(3600));
        Rig {
            store: store.clone(),
            servers,
            worker,
            stop,
            seen: 0,
        }
    }

    /// Puts a message in info@'s INBOX and waits until the poller has committed it.
    async fn arrives(&mut self, raw: &[u8]) {
        self.servers.append("info", "INBOX", raw).await;
        let deadline = Instant::now() + Duration::from_secs(20);
        let before = self.seen;
        loop {
            let n = self.store.inbound("email", None).await.unwrap().len();
            // A duplicate adds no row: it is committed once it has left the INBOX.
            let moved = self.servers.messages("info", "INBOX").await.is_empty();
            if (n > before || Instant::now() > deadline) && moved {
                self.seen = n;
                return;
            }
            if Instant::now() > deadline {
                panic!("the poller did not take the message in");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Delivers what the outbox holds; returns how many went out.
    async fn deliver(&self) -> usize {
        self.worker.run_once().await.unwrap().sent
    }

    /// `connecting inbound list` on this database.
    fn inbound_list(&self, url: &str, args: &[&str]) -> String {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_connecting"))
            .args(["inbound", "list"])
            .args(args)
            .env("CONNECTING_DATABASE_URL", url)
            .env("CONNECTING_LOG", "warn")
            .output()
            .expect("run connecting");
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

fn msg(from: &str, subject: &str, id: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: info@coop.example\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{extra}\
         Date: Mon, 1 Mar 2027 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
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

async fn requests(store: &Store) -> Vec<connecting::store::Request> {
    store.requests(&RequestFilter::default()).await.unwrap()
}

both_backends!(
    our_mail_only_by_our_mark_and_a_colleague_on_our_domain_is_a_person,
    |db| async move {
        let store = db.store.clone();
        // The coordinator forwards, from the cooperative's own domain, a request taken by phone.
        store
            .add_coordinator(
                &NewCoordinator {
                    name: "Elena Beschi".into(),
                    telegram_id: None,
                    email: Some("e.beschi@coop.example".into()),
                },
                Utc::now(),
            )
            .await
            .unwrap();
        let mut rig = Rig::start(&store, &["info", "e.beschi", "anna"]).await;
        rig.arrives(&msg(
            "Elena Beschi <e.beschi@coop.example>",
            "I: richiesta telefonica Dalmine",
            "fwd-1@coop.example",
            "",
            REQUEST,
        ))
        .await;
        let all = requests(&store).await;
        assert_eq!(all.len(), 1, "the forwarded request is a request");
        assert_eq!(all[0].status, RequestStatus::Queued);
        assert_eq!(
            all[0].requester_email.as_deref(),
            Some("e.beschi@coop.example")
        );
        // She gets the acknowledgement in her mailbox, marked as ours.
        assert_eq!(rig.deliver().await, 1);
        let got = rig
            .servers
            .wait_for("e.beschi", "INBOX", 1, Duration::from_secs(10))
            .await;
        assert_eq!(got.len(), 1);
        let ack = got[0].clone();
        let raw = String::from_utf8_lossy(&ack).into_owned();
        let id = mail::header(&raw, "Message-ID").unwrap();
        assert_eq!(
            mail::header(&raw, "X-Connecting-Mark").as_deref(),
            Some(id.as_str())
        );

        // That acknowledgement comes back to info@ (a copy, a forward rule): ours, set aside.
        rig.arrives(&ack).await;
        assert_eq!(
            requests(&store).await.len(),
            1,
            "our own mail made no request"
        );

        // Someone claims to be us: our header names, our domain, a made-up mark. Anyone's mail.
        rig.arrives(&msg(
            "anna@comune.example.it",
            "Richiesta mediatrice araba",
            "forged.m0123456789abcdef@coop.example",
            "X-Connecting-Origin: outbox\r\nX-Connecting-Mark: <forged.m0123456789abcdef@coop.example>\r\n",
            REQUEST,
        ))
        .await;
        assert_eq!(
            requests(&store).await.len(),
            2,
            "a claim without the mark is mail"
        );
        assert_eq!(
            rig.deliver().await,
            1,
            "and it is answered like any request"
        );

        // Nothing set aside silently: the copy of our own mail is listed, with why.
        let table = rig.inbound_list(&db.url, &[]);
        assert!(table.contains("nostro messaggio"), "{table}");
        assert!(table.contains("marchio valido"), "{table}");
        let json: serde_json::Value =
            serde_json::from_str(&rig.inbound_list(&db.url, &["--kind", "own_message", "--json"]))
                .unwrap();
        let rows = json.as_array().unwrap();
        assert_eq!(rows.len(), 1, "{json}");
        assert_eq!(rows[0]["reason"], "own_message");
        assert_eq!(rows[0]["status"], "ignored");
    }
);

both_backends!(
    same_message_id_different_content_is_two_messages_same_message_is_one,
    |db| async move {
        let store = db.store.clone();
        operator(&store, "Anna Rossi", "anna@comune.example.it").await;
        let mut rig = Rig::start(&store, &["info", "anna"]).await;
        let first = msg(
            "anna@comune.example.it",
            "Richiesta araba",
            "scan@copier.comune.example.it",
            "",
            REQUEST,
        );
        rig.arrives(&first).await;
        // The office copier reuses its Message-ID for every scan it mails.
        rig.arrives(&msg(
            "anna@comune.example.it",
            "Richiesta urdu",
            "scan@copier.comune.example.it",
            "",
            "Serve un mediatore di lingua urdu per una visita domiciliare il 15/03/2027 alle 9 a Dalmine.",
        ))
        .await;
        assert_eq!(
            requests(&store).await.len(),
            2,
            "two messages, two requests"
        );
        // The first one again (fetched twice): nothing new.
        rig.arrives(&first).await;
        assert_eq!(requests(&store).await.len(), 2);
        assert_eq!(store.inbound("email", None).await.unwrap().len(), 2);
        assert_eq!(rig.deliver().await, 2, "one acknowledgement each");
    }
);

both_backends!(
    a_from_that_is_not_one_mailbox_identifies_nobody_and_changes_nothing,
    |db| async move {
        let store = db.store.clone();
        operator(&store, "Laura Bianchi", "laura@comune.example.it").await;
        let mut rig = Rig::start(&store, &["info", "laura", "evil"]).await;
        rig.arrives(&msg(
            "Laura Bianchi <laura@comune.example.it>",
            "Richiesta mediatrice araba",
            "laura-1@comune.example.it",
            "",
            REQUEST,
        ))
        .await;
        let laura = requests(&store).await.remove(0);
        assert_eq!(laura.status, RequestStatus::Queued);
        assert_eq!(rig.deliver().await, 1);
        let subject = format!("Re: [{}] Richiesta mediatrice araba", laura.code);
        // Two mailboxes in From, each way round: nobody, whatever code they name.
        for (n, from) in [
            "\"x\" <evil@evil.test;>, laura@comune.example.it",
            "laura@comune.example.it, evil@evil.test",
        ]
        .iter()
        .enumerate()
        {
            rig.arrives(&msg(
                from,
                &subject,
                &format!("forged-{n}@evil.test"),
                "",
                "Annullo la richiesta.",
            ))
            .await;
        }
        assert_eq!(
            store.request(laura.code).await.unwrap().status,
            RequestStatus::Queued,
            "nothing changed"
        );
        // A new request so written is held for review, never answered.
        rig.arrives(&msg(
            "laura@comune.example.it, evil@evil.test",
            "Richiesta",
            "forged-new@evil.test",
            "",
            REQUEST,
        ))
        .await;
        let held: Vec<_> = requests(&store)
            .await
            .into_iter()
            .filter(|r| r.status == RequestStatus::NeedsReview)
            .collect();
        assert_eq!(held.len(), 1);
        assert_eq!(held[0].requester_email, None, "it identifies nobody");
        assert_eq!(rig.deliver().await, 0, "no answer to anyone");
        assert_eq!(
            rig.servers.messages("laura", "INBOX").await.len(),
            1,
            "only her ack"
        );
        assert!(rig.servers.messages("evil", "INBOX").await.is_empty());
        let table = rig.inbound_list(&db.url, &[]);
        assert_eq!(
            table.matches("non è un solo indirizzo valido").count(),
            3,
            "{table}"
        );
    }
);

both_backends!(
    an_unknown_sender_changes_no_request_and_is_never_answered,
    |db| async move {
        let store = db.store.clone();
        operator(&store, "Laura Bianchi", "laura@comune.example.it").await;
        let mut rig = Rig::start(&store, &["info", "laura", "mario"]).await;
        rig.arrives(&msg(
            "Mario Verdi <mario@altrove.example>",
            "Richiesta mediatrice",
            "mario-1@altrove.example",
            "",
            REQUEST,
        ))
        .await;
        let mario = requests(&store).await.remove(0);
        assert_eq!(mario.status, RequestStatus::NeedsReview, "held for review");
        rig.arrives(&msg(
            "Laura Bianchi <laura@comune.example.it>",
            "Richiesta urdu",
            "laura-1@comune.example.it",
            "",
            "Serve un mediatore di lingua urdu per una visita domiciliare il 15/03/2027 alle 9 a Dalmine.",
        ))
        .await;
        let laura = store
            .requests(&RequestFilter::default())
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.id != mario.id)
            .unwrap();
        assert_eq!(rig.deliver().await, 1, "Laura's acknowledgement only");
        // Mario names Laura's code: nothing changes, nobody is answered.
        rig.arrives(&msg(
            "mario@altrove.example",
            &format!("Re: [{}] Richiesta", laura.code),
            "mario-2@altrove.example",
            "",
            "Annullo la richiesta.",
        ))
        .await;
        assert_eq!(
            store.request(laura.code).await.unwrap().status,
            laura.status
        );
        assert_eq!(rig.deliver().await, 0);
        // Mario writes about his own held request: a sender the policy refuses changes
        // nothing and is never answered, whatever code he names; it stays for a coordinator
        // to review, and the mail is listed with why it was set aside.
        rig.arrives(&msg(
            "mario@altrove.example",
            &format!("Re: [{}] Richiesta mediatrice", mario.code),
            "mario-3@altrove.example",
            "",
            "Annullo la richiesta, non serve più.",
        ))
        .await;
        assert_eq!(
            store.request(mario.code).await.unwrap().status,
            RequestStatus::NeedsReview
        );
        assert_eq!(rig.deliver().await, 0, "nobody answers an unknown sender");
        let table = rig.inbound_list(&db.url, &[]);
        assert!(table.contains("mittente non registrato"), "{table}");
    }
);
