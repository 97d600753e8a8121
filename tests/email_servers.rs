//! Smoke test of the private mail servers the email tests use: IMAP APPEND/FETCH on Dovecot,
//! and SMTP (aiosmtpd) delivering through Dovecot LMTP into a mailbox.

#[path = "support/mail.rs"]
mod mail;

use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;

#[tokio::test]
async fn append_and_smtp_delivery_reach_dovecot_mailboxes() {
    let servers = mail::MailServers::start(&["info", "anna"]);

    let raw = mail::message(
        "anna@comune.example.it",
        "info@coop.example",
        "Prova",
        "p1@test",
        "ciao",
    );
    servers.append("info", "INBOX", &raw).await;
    let inbox = servers.messages("info", "INBOX").await;
    assert_eq!(inbox.len(), 1);
    assert!(String::from_utf8_lossy(&inbox[0]).contains("Message-ID: <p1@test>"));

    let smtp = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(servers.smtp_port)
        .build();
    let email = lettre::Message::builder()
        .from("info@coop.example".parse().unwrap())
        .to("anna@comune.example.it".parse().unwrap())
        .subject("Risposta")
        .body("grazie".to_owned())
        .unwrap();
    smtp.send(email).await.expect("smtp send");
    let got = servers
        .wait_for("anna", "INBOX", 1, Duration::from_secs(10))
        .await;
    assert_eq!(
        got.len(),
        1,
        "the SMTP mail did not arrive in anna's mailbox"
    );
    assert!(String::from_utf8_lossy(&got[0]).contains("Subject: Risposta"));

    // An unknown user is a permanent (5xx) rejection from the real LMTP behind SMTP.
    let email = lettre::Message::builder()
        .from("info@coop.example".parse().unwrap())
        .to("nobody-here@comune.example.it".parse().unwrap())
        .subject("x")
        .body("x".to_owned())
        .unwrap();
    let err = smtp
        .send(email)
        .await
        .expect_err("unknown user must be rejected");
    assert!(err.is_permanent(), "{err:?}");
}
