//! The SMTP transport against a real SMTP server (aiosmtpd) delivering into Dovecot through
//! LMTP: threading headers arrive, 5xx is permanent, 4xx (LMTP down) is a retry, AUTH works.

#[path = "support/mail.rs"]
mod mail;

use connecting::channels::email::smtp::{SmtpConfig, SmtpTransport, TlsMode};
use connecting::outbox::{DeliveryError, EmailPayload, Payload, Transport};
use std::time::Duration;

fn payload(to: &str, id: &str) -> Payload {
    Payload::Email(EmailPayload {
        to: to.to_owned(),
        subject: "Re: [MED-2027-0001] Richiesta mediatrice".to_owned(),
        body: "Abbiamo ricevuto la richiesta MED-2027-0001.".to_owned(),
        message_id: id.to_owned(),
        in_reply_to: Some("orig-1@comune.example.it".to_owned()),
        references: vec![
            "orig-0@comune.example.it".to_owned(),
            "orig-1@comune.example.it".to_owned(),
        ],
        calendar: None,
    })
}

fn transport(servers: &mail::MailServers, auth: Option<(&str, &str)>) -> SmtpTransport {
    let mut cfg = SmtpConfig::new(
        "127.0.0.1",
        servers.smtp_port,
        TlsMode::None,
        "info@coop.example",
    );
    cfg.allow_plaintext = true;
    cfg.timeout = Duration::from_secs(10);
    if let Some((u, p)) = auth {
        cfg.username = Some(u.to_owned());
        cfg.password = Some(p.to_owned());
    }
    SmtpTransport::new(&cfg).unwrap()
}

#[tokio::test]
async fn reply_arrives_threaded_and_errors_map_to_retry_or_permanent() {
    let mut servers = mail::MailServers::start(&["info", "anna"]);
    let smtp = transport(&servers, None);

    let delivered = smtp
        .deliver(&payload(
            "anna@comune.example.it",
            "ack-1@connecting.coop.example",
        ))
        .await
        .expect("delivered");
    assert_eq!(
        delivered.external_id.as_deref(),
        Some("ack-1@connecting.coop.example")
    );
    let got = servers
        .wait_for("anna", "INBOX", 1, Duration::from_secs(10))
        .await;
    assert_eq!(got.len(), 1);
    let text = String::from_utf8_lossy(&got[0]);
    assert!(
        text.contains("Message-ID: <ack-1@connecting.coop.example>"),
        "{text}"
    );
    assert!(text.contains("In-Reply-To: <orig-1@comune.example.it>"));
    assert!(text.contains("References: <orig-0@comune.example.it> <orig-1@comune.example.it>"));
    assert!(text.contains("Auto-Submitted: auto-replied"));
    assert!(text.contains("Subject: Re: [MED-2027-0001] Richiesta mediatrice"));

    // 5xx from the real LMTP (no such user): permanent.
    let err = smtp
        .deliver(&payload(
            "ghost@comune.example.it",
            "ack-2@connecting.coop.example",
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err:?}");

    // Dovecot (LMTP) down: the SMTP server answers 451: retry.
    servers.stop_dovecot();
    let err = smtp
        .deliver(&payload(
            "anna@comune.example.it",
            "ack-3@connecting.coop.example",
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Retry { .. }), "{err:?}");
    servers.start_dovecot();

    // Nobody listening at all: retry.
    let mut cfg = SmtpConfig::new(
        "127.0.0.1",
        mail::free_port(),
        TlsMode::None,
        "info@coop.example",
    );
    cfg.allow_plaintext = true;
    let nowhere = SmtpTransport::new(&cfg).unwrap();
    let err = nowhere
        .deliver(&payload(
            "anna@comune.example.it",
            "ack-4@connecting.coop.example",
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Retry { .. }), "{err:?}");
}

#[tokio::test]
async fn smtp_auth_is_used_and_a_wrong_password_is_permanent() {
    let servers = mail::MailServers::start_with(&["info", "anna"], Some(("relay", "relaypass")));
    let good = transport(&servers, Some(("relay", "relaypass")));
    good.deliver(&payload(
        "anna@comune.example.it",
        "auth-1@connecting.coop.example",
    ))
    .await
    .expect("authenticated delivery");
    assert_eq!(
        servers
            .wait_for("anna", "INBOX", 1, Duration::from_secs(10))
            .await
            .len(),
        1
    );
    let bad = transport(&servers, Some(("relay", "wrong")));
    let err = bad
        .deliver(&payload(
            "anna@comune.example.it",
            "auth-2@connecting.coop.example",
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Permanent(_)), "{err:?}");
}

#[tokio::test]
async fn starttls_with_a_private_ca() {
    let servers = mail::MailServers::start_tls(&["info", "anna"]);
    let mut cfg = SmtpConfig::new(
        "localhost",
        servers.smtp_port,
        TlsMode::Starttls,
        "info@coop.example",
    );
    cfg.ca_file = servers.ca_file.clone();
    cfg.timeout = Duration::from_secs(10);
    let smtp = SmtpTransport::new(&cfg).unwrap();
    smtp.deliver(&payload(
        "anna@comune.example.it",
        "tls-1@connecting.coop.example",
    ))
    .await
    .expect("delivered over STARTTLS");
    assert_eq!(
        servers
            .wait_for("anna", "INBOX", 1, Duration::from_secs(10))
            .await
            .len(),
        1
    );
    // Without the CA the server is not trusted and nothing is sent.
    cfg.ca_file = None;
    let untrusting = SmtpTransport::new(&cfg).unwrap();
    let err = untrusting
        .deliver(&payload(
            "anna@comune.example.it",
            "tls-2@connecting.coop.example",
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, DeliveryError::Retry { .. }), "{err:?}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(servers.messages("anna", "INBOX").await.len(), 1);
}
