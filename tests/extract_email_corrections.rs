//! Corrections by email, on SQLite and PostgreSQL: a follow-up that changes a field the first
//! mail stated is kept as a correction (the first mail's text without names, phones and
//! addresses, the field as corrected), while a follow-up that only adds what was missing is a
//! completion and keeps nothing. Through the real email intake and store.

#[path = "support/common.rs"]
mod common;

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use connecting::channels::email::{Intake, IntakeConfig, Outcome};
use connecting::clock::ManualClock;

fn intake(store: &connecting::store::Store) -> Intake {
    let mut c = IntakeConfig::new("info@coop.example", "connecting.coop.example");
    c.allowed_sender_domains = vec!["comune.example.it".into()];
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap());
    Intake::new(
        store.clone(),
        c,
        Arc::new(clock),
        connecting::renderers::channels(),
    )
}

fn mail(id: &str, subject: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: Anna Rossi <anna@comune.example.it>\r\nTo: info@coop.example\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{extra}\
         Date: Mon, 1 Mar 2027 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

async fn request(intake: &Intake, id: &str) -> String {
    let raw = mail(
        id,
        "Richiesta mediatrice",
        "",
        "Buongiorno, serve una mediatrice di lingua araba per un colloquio il 12/03/2027 presso la sede del Servizio Tutela Minori di Dalmine, via Roma 12.\r\nAnna Rossi, tel. 035 6224700",
    );
    match intake.process(&raw).await.expect("processed") {
        Outcome::Created { code, .. } => code.to_string(),
        other => panic!("{other:?}"),
    }
}

async fn reply(intake: &Intake, id: &str, code: &str, body: &str) {
    let raw = mail(id, &format!("R: [{code}] Richiesta mediatrice"), "", body);
    match intake.process(&raw).await.expect("processed") {
        Outcome::Updated { .. } => {}
        other => panic!("{other:?}"),
    }
}

both_backends!(a_follow_up_that_changes_a_field_is_kept, |db| async move {
    let store = db.store.clone();
    let intake = intake(&store);

    // Only the missing time: a completion, nothing kept.
    let code = request(&intake, "first-1@comune.example.it").await;
    reply(
        &intake,
        "reply-1@comune.example.it",
        &code,
        "L'orario è alle 10:30.",
    )
    .await;
    assert!(store.corrections().await.expect("corrections").is_empty());

    // The date was read as 12 March; the requester writes that it is the 15th.
    let code = request(&intake, "first-2@comune.example.it").await;
    reply(
        &intake,
        "reply-2@comune.example.it",
        &code,
        "Scusate, correggo: il colloquio è il 15/03/2027, alle 10:30.",
    )
    .await;
    let r = store
        .request(code.parse().expect("a code"))
        .await
        .expect("the request");
    assert_eq!(r.date, chrono::NaiveDate::from_ymd_opt(2027, 3, 15));
    let kept = store.corrections().await.expect("corrections");
    assert_eq!(kept.len(), 1, "{kept:?}");
    let c = &kept[0];
    assert_eq!(c.source, "follow_up");
    assert_eq!(c.corrected, vec!["date".to_string()]);
    assert_eq!(c.expected["date"], "2027-03-15");
    // The time was added, not corrected: the first text does not state it.
    assert_eq!(c.expected["start"], serde_json::Value::Null);
    assert!(c.text.contains("12/03/2027"), "{}", c.text);
    assert!(
        !c.text.contains("Rossi") && !c.text.contains("6224700") && !c.text.contains("Roma 12"),
        "{}",
        c.text
    );
});
