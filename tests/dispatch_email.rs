//! End to end over real mail servers: an acceptance queues the requester's confirmation in the
//! outbox, the outbox worker delivers it through the SMTP transport (aiosmtpd -> LMTP ->
//! Dovecot), it arrives threaded under the original request, and the request becomes confirmed.

#[path = "support/common.rs"]
mod common;
#[path = "support/dispatch.rs"]
mod dispatch_support;
#[path = "support/mail.rs"]
mod mail;

use connecting::channels::email::smtp::{SmtpConfig, SmtpTransport, TlsMode};
use connecting::dispatch::{AcceptOutcome, DispatchSettings};
use connecting::domain::RequestStatus;
use connecting::outbox::{OutboxWorker, RetryPolicy, Transports};
use connecting::store::NewMediator;
use dispatch_support::*;
use std::sync::Arc;
use std::time::Duration;

both_backends!(
    confirmation_reaches_the_requester_mailbox,
    |db| async move {
        let servers = mail::MailServers::start(&["laura", "amina"]);
        let w = World::new(
            db.store.clone(),
            at_rome(2027, 3, 1, 9, 0),
            DispatchSettings::default(),
        )
        .await;
        // A mediator without Telegram gets the offer and the details by email.
        let amina = w
            .store
            .add_mediator(
                &NewMediator {
                    name: "Amina Benali".into(),
                    phone: None,
                    email: Some("amina@coop.example".into()),
                    telegram_id: None,
                    gender: None,
                    languages: vec![connecting::domain::LanguageCode::parse("ar").unwrap()],
                    ambiti: vec![connecting::domain::Ambito::parse("Dalmine").unwrap()],
                    availability: Some("lun-ven 08:00-18:00".into()),
                    share_phone: false,
                },
                w.clock_now(),
            )
            .await
            .unwrap();
        // The requester wrote from laura@... (the World's default is a municipal address).
        let code = w
            .request_with("ar", d(2027, 3, 10), t(10, 0), 90, |r| {
                r.requester_email = Some("laura@comune.example.it".into())
            })
            .await;
        let id = w.store.request(code).await.unwrap().id;
        w.dispatcher.dispatch(code).await.unwrap();
        let offer = w.store.offers_for_request(id).await.unwrap().remove(0);
        assert!(matches!(
            w.dispatcher.accept(offer.id, amina.id).await.unwrap(),
            AcceptOutcome::Assigned { .. }
        ));

        let mut cfg = SmtpConfig::new(
            "127.0.0.1",
            servers.smtp_port,
            TlsMode::None,
            "info@coop.example",
        );
        cfg.allow_plaintext = true;
        cfg.timeout = Duration::from_secs(10);
        let smtp = SmtpTransport::new(&cfg).unwrap();
        let worker = OutboxWorker::new(
            w.store.clone(),
            Arc::new(w.clock.clone()),
            Transports {
                telegram: None,
                email: Some(Arc::new(smtp)),
            },
            RetryPolicy::default(),
        )
        .with_events(connecting::app::delivery::events(
            connecting::renderers::core(Default::default()),
        ));
        let s = worker.run_once().await.unwrap();
        assert_eq!(
            (s.sent, s.retried, s.dead),
            (3, 0, 0),
            "offer, confirmation, details"
        );

        let got = servers
            .wait_for("laura", "INBOX", 1, Duration::from_secs(10))
            .await;
        assert_eq!(got.len(), 1);
        let text = String::from_utf8_lossy(&got[0]);
        assert!(
            text.contains("In-Reply-To: <req-1@comune.dalmine.bg.it>"),
            "{text}"
        );
        // Read as the requester's mail client does (the body is encoded on the wire).
        let letter = connecting::channels::email::parse_email(
            &got[0],
            &connecting::channels::email::Limits::default(),
        )
        .unwrap();
        let subject = letter.subject.clone().unwrap_or_default();
        assert!(
            subject.starts_with("Re: ") && subject.ends_with(&format!("[{code}]")),
            "{subject}"
        );
        let body = letter.text_plain.unwrap_or_default();
        assert!(
            body.contains("Amina Benali")
                && body.contains("mercoledì 10 marzo, 10:00")
                && body.contains("Via Roma 1"),
            "{body}"
        );
        let got = servers
            .wait_for("amina", "INBOX", 2, Duration::from_secs(10))
            .await;
        assert_eq!(got.len(), 2, "the offer, then the details");
        let all = got
            .iter()
            .map(|m| String::from_utf8_lossy(m).to_string())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(all.contains("Laura Rossi"), "details name the requester");
        assert_eq!(w.status(code).await, RequestStatus::Confirmed);
    }
);
