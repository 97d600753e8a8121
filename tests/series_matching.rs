//! Matching a series across all its meetings (issue 15, "Series of appointments"), on SQLite
//! and PostgreSQL, with what people receive read from the local Bot API server and from the
//! mailboxes the real SMTP server delivered into (Dovecot):
//!
//! - Samira holds a single appointment that overlaps meeting 3 of a weekly series; Fatima is
//!   free for all eight. A series by email in Arabic is offered to Fatima first although Samira
//!   comes first in the usual order (the coordinator's view says why, in words);
//! - once Fatima holds that series, her Tuesdays are busy time: she is left out of another job
//!   at the time of one of its meetings;
//! - a series in Urdu, which Fatima does not speak: Samira gets it, but not meeting 3, which is
//!   offered on its own to Amina, free then; the requester is told in words that meeting 3 is
//!   not covered yet, Samira's invitation leaves it out; Amina accepts, she gets the meeting's
//!   details and the requester reads who comes, in Italian;
//! - a series a coordinator assigns by hand to a mediator busy for two of its meetings: those
//!   two are offered on their own, and the requester is told of each.

#[path = "support/botapi.rs"]
mod botapi;
#[path = "support/common.rs"]
mod common;
#[path = "support/dispatch.rs"]
mod dispatch_support;
#[path = "support/mail.rs"]
mod mail;

use botapi::{BotMessage, FakeBotApi, strip_html};
use connecting::channels::email::Outcome;
use connecting::channels::email::smtp::{SmtpConfig, SmtpTransport};
use connecting::channels::telegram::TelegramTransport;
use connecting::dispatch::{AcceptOutcome, Exclusion};
use connecting::domain::{RequestCode, RequestStatus};
use connecting::outbox::{OutboxWorker, RetryPolicy, Transports};
use dispatch_support::*;
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);
const SAMIRA: i64 = 101;
const FATIMA: i64 = 102;
const AMINA: i64 = 103;

use dispatch_support::coop_settings as settings;

use dispatch_support::coop_intake as intake;

fn mail(from: &str, id: &str, text: &str) -> Vec<u8> {
    format!(
        "From: {from}@comune.dalmine.bg.it\r\nTo: info@coop.example\r\n\
         Subject: Richiesta mediatrice per incontri protetti\r\n\
         Message-ID: <{id}>\r\nDate: Mon, 1 Mar 2027 09:00:00 +0100\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    )
    .into_bytes()
}

/// The outbox delivered for real: Telegram to the local Bot API, email over SMTP into Dovecot.
fn worker(w: &World, fake: &FakeBotApi, servers: &mail::MailServers) -> OutboxWorker {
    let mut smtp = SmtpConfig::new(
        "127.0.0.1",
        servers.smtp_port,
        connecting::channels::email::smtp::TlsMode::None,
        "Cooperativa Esempio <info@coop.example>",
    );
    smtp.from_address = "info@coop.example".into();
    smtp.allow_plaintext = true;
    smtp.timeout = Duration::from_secs(10);
    OutboxWorker::new(
        w.store.clone(),
        Arc::new(w.clock.clone()),
        Transports {
            telegram: Some(Arc::new(TelegramTransport::new(fake.bot()))),
            email: Some(Arc::new(SmtpTransport::new(&smtp).unwrap())),
        },
        RetryPolicy::default(),
    )
}

async fn drain(w: &OutboxWorker) {
    while w.run_once().await.unwrap().sent > 0 {}
}

/// The words of a Telegram message (or a document's caption), as the person reads them.
fn words(m: &BotMessage) -> String {
    strip_html(&m.text)
}

/// The next message to `chat` whose words contain every one of `all`.
async fn telegram(fake: &FakeBotApi, chat: i64, all: &[&str]) -> BotMessage {
    fake.wait_for(chat, WAIT, |m| all.iter().all(|w| words(m).contains(w)))
        .await
        .unwrap_or_else(|| {
            panic!(
                "no message to {chat} with {all:?}: {:#?}",
                fake.sent_to(chat).iter().map(words).collect::<Vec<_>>()
            )
        })
}

/// The text of every message in `user`'s inbox, decoded as a mail client shows it.
async fn inbox(servers: &mail::MailServers, user: &str) -> Vec<String> {
    servers
        .messages(user, "INBOX")
        .await
        .iter()
        .filter_map(|raw| {
            mail_parser::MessageParser::default()
                .parse(raw)
                .and_then(|m| m.body_text(0).map(|t| t.to_string()))
        })
        .collect()
}

/// Waits for a message in `user`'s inbox whose text contains every one of `all`.
async fn email(servers: &mail::MailServers, user: &str, all: &[&str]) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let got = inbox(servers, user).await;
        if let Some(t) = got.iter().find(|t| all.iter().all(|w| t.contains(w))) {
            return t.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no email to {user} with {all:?}: {got:#?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn series_by_email(w: &World, from: &str, id: &str, language: &str) -> RequestCode {
    let text = format!(
        "Buongiorno,\r\nchiediamo una mediatrice di lingua {language} per incontri protetti a \
         Dalmine, in Via Roma 1, ogni martedì dalle 15 alle 16 dal 9 marzo per 8 settimane.\r\n\
         Grazie"
    );
    let out = intake(w).process(&mail(from, id, &text)).await.unwrap();
    let Outcome::Created { code, status, .. } = out else {
        panic!("a new request: {out:?}")
    };
    assert_eq!(status, RequestStatus::Queued);
    let req = w.store.request(code).await.unwrap();
    assert_eq!(req.series.as_ref().map(|s| s.occurrences.len()), Some(8));
    code
}

both_backends!(
    a_series_goes_to_who_is_free_for_all_and_a_meeting_its_mediator_is_busy_for_to_a_colleague,
    |db| async move {
        let w = World::new(db.store.clone(), at_rome(2027, 3, 1, 9, 0), settings()).await;
        let fake = FakeBotApi::start().await;
        let servers = mail::MailServers::start(&["info", "laura", "giulia"]);
        let out = worker(&w, &fake, &servers);
        let samira = w.mediator("Samira", SAMIRA, &["ar", "ur"]).await.id;
        let fatima = w.mediator("Fatima", FATIMA, &["ar"]).await.id;
        // Amina cannot come on Tuesday 6 April (meeting 5 of the series below).
        let amina = w
            .mediator_with(
                "Amina",
                AMINA,
                &["ar", "ur"],
                Some("mar 08:00-20:00; tranne 2027-04-06"),
                Some(connecting::domain::Gender::F),
            )
            .await
            .id;

        // Samira holds a single appointment on Tuesday 23 March 14:30-15:30: it overlaps
        // meeting 3 of a series on Tuesdays at 15.
        let single = w.request("ar", d(2027, 3, 23), t(14, 30), 60, None).await;
        w.dispatcher.dispatch(single).await.unwrap();
        let id = w.store.request(single).await.unwrap().id;
        let hers = w
            .store
            .offers_for_request(id)
            .await
            .unwrap()
            .into_iter()
            .find(|o| o.mediator_id == samira)
            .expect("Samira asked for the single appointment");
        assert!(matches!(
            w.dispatcher.accept(hers.id, samira).await.unwrap(),
            AcceptOutcome::Assigned { .. }
        ));
        drain(&out).await;

        // 1. A series in Arabic: Fatima, free for every meeting, is asked first, although
        // Samira (who accepted more) comes first in the usual order.
        let first = series_by_email(&w, "laura", "serie-a@comune.dalmine.bg.it", "araba").await;
        let req = w.store.request(first).await.unwrap();
        let ranked = w.dispatcher.candidates(&req).await.unwrap();
        let order: Vec<i64> = ranked.candidates.iter().map(|c| c.mediator_id).collect();
        assert_eq!(order, vec![fatima, samira, amina]);
        let why = |id: i64, lang: &str| {
            ranked
                .candidates
                .iter()
                .find(|c| c.mediator_id == id)
                .unwrap()
                .explanation(lang)
        };
        assert!(
            why(fatima, "it")
                .contains("può esserci a tutti gli incontri della serie ancora da fare (8)"),
            "{}",
            why(fatima, "it")
        );
        assert!(
            why(samira, "it").contains("può esserci a 7 incontri della serie su 8"),
            "{}",
            why(samira, "it")
        );
        assert!(
            why(amina, "en").contains("can make 7 of the series' 8 meetings"),
            "{}",
            why(amina, "en")
        );
        w.dispatcher.dispatch(first).await.unwrap();
        let offers = w.store.offers_for_request(req.id).await.unwrap();
        assert_eq!(offers.len(), 1, "one mediator at a time: {offers:?}");
        assert_eq!(offers[0].mediator_id, fatima);
        drain(&out).await;
        telegram(&fake, FATIMA, &["Nuova serie di incontri", "8 incontri"]).await;
        assert!(
            !fake
                .sent_to(SAMIRA)
                .iter()
                .any(|m| words(m).contains("Nuova serie")),
            "Samira is not asked first"
        );

        // Fatima takes it: her Tuesdays at 15 are now busy time, and another job at the time of
        // its fourth meeting leaves her out, in words.
        assert!(matches!(
            w.dispatcher.accept(offers[0].id, fatima).await.unwrap(),
            AcceptOutcome::Assigned { .. }
        ));
        drain(&out).await;
        telegram(&fake, FATIMA, &[&first.to_string(), "Via Roma 1"]).await;
        let clash = w.request("ar", d(2027, 3, 30), t(15, 30), 60, None).await;
        let ranked = w
            .dispatcher
            .candidates(&w.store.request(clash).await.unwrap())
            .await
            .unwrap();
        let left_out = ranked
            .excluded
            .iter()
            .find(|(id, _)| *id == fatima)
            .map(|(_, e)| *e);
        assert_eq!(left_out, Some(Exclusion::Overlap));
        assert_eq!(
            Exclusion::Overlap.explanation("it"),
            "già impegnato in quell'orario (spostamento incluso)"
        );

        // 2. A series in Urdu, which Fatima does not speak: Samira is asked, Amina after her.
        let code = series_by_email(&w, "giulia", "serie-b@comune.dalmine.bg.it", "urdu").await;
        let req = w.store.request(code).await.unwrap();
        w.dispatcher.dispatch(code).await.unwrap();
        let offers = w.store.offers_for_request(req.id).await.unwrap();
        assert_eq!(offers.len(), 1, "{offers:?}");
        assert_eq!(offers[0].mediator_id, samira);
        drain(&out).await;
        telegram(&fake, SAMIRA, &["Nuova serie di incontri", "8 incontri"]).await;

        // Samira accepts: every meeting is hers but the third, which is offered on its own.
        assert!(matches!(
            w.dispatcher.accept(offers[0].id, samira).await.unwrap(),
            AcceptOutcome::Assigned { .. }
        ));
        let s = w.store.request(code).await.unwrap().series.unwrap();
        for o in &s.occurrences {
            let expected = if o.seq == 3 { None } else { Some(samira) };
            assert_eq!(o.mediator_id, expected, "meeting {}", o.seq);
        }
        drain(&out).await;
        let c = code.to_string();
        // The requester reads that meeting 3 is not covered yet.
        email(
            &servers,
            "giulia",
            &[&c, "martedì 23 marzo, 15:00", "cerchiamo"],
        )
        .await;
        // Samira's details: her invitation leaves meeting 3 out.
        let details = telegram(&fake, SAMIRA, &[&c, "Via Roma 1"]).await;
        let ics = details.document.expect("the invitation").text();
        assert!(
            ics.contains("EXDATE;TZID=Europe/Rome:20270323T150000"),
            "meeting 3 is not in her calendar: {ics}"
        );
        // Amina, free then, is asked for that meeting only, with nothing private in it.
        let offer = telegram(
            &fake,
            AMINA,
            &["uno di una serie", "martedì 23 marzo, 15:00"],
        )
        .await;
        let t = words(&offer);
        assert!(!t.contains("Via Roma") && !t.contains("giulia"), "{t}");
        assert!(!t.contains("8 incontri"), "one meeting: {t}");
        assert!(
            !fake.sent_to(FATIMA).iter().any(|m| words(m).contains(&c)),
            "Fatima does not speak Urdu"
        );
        let meeting_offer = w
            .store
            .offers_for_request(req.id)
            .await
            .unwrap()
            .into_iter()
            .find(|o| o.mediator_id == amina)
            .expect("Amina's offer of meeting 3");

        // Amina accepts: meeting 3 is hers, she gets its details, the requester reads who comes.
        assert!(matches!(
            w.dispatcher.accept(meeting_offer.id, amina).await.unwrap(),
            AcceptOutcome::Meeting { seq: 3, .. }
        ));
        drain(&out).await;
        telegram(
            &fake,
            AMINA,
            &["martedì 23 marzo, 15:00", "è assegnato a te", "Via Roma 1"],
        )
        .await;
        email(
            &servers,
            "giulia",
            &[&c, "martedì 23 marzo, 15:00", "ci sarà", "Amina"],
        )
        .await;
        let req = w.store.request(code).await.unwrap();
        let s = req.series.unwrap();
        assert_eq!(s.occurrences[2].mediator_id, Some(amina));
        assert_eq!(
            req.assigned_mediator_id,
            Some(samira),
            "the series stays hers"
        );
    }
);

both_backends!(
    a_series_assigned_by_hand_leaves_out_the_meetings_its_mediator_is_busy_for,
    |db| async move {
        let w = World::new(db.store.clone(), at_rome(2027, 3, 1, 9, 0), settings()).await;
        let fake = FakeBotApi::start().await;
        let servers = mail::MailServers::start(&["info", "laura"]);
        let out = worker(&w, &fake, &servers);
        let samira = w.mediator("Samira", SAMIRA, &["ar"]).await.id;
        let fatima = w.mediator("Fatima", FATIMA, &["ar"]).await.id;
        // Samira's single appointments on 23 March and 13 April overlap meetings 3 and 6.
        for day in [d(2027, 3, 23), d(2027, 4, 13)] {
            let single = w.request("ar", day, t(15, 30), 60, None).await;
            w.dispatcher.assign(single, samira, "cli").await.unwrap();
        }
        drain(&out).await;
        let code = series_by_email(&w, "laura", "serie-c@comune.dalmine.bg.it", "araba").await;

        // The coordinator gives the series to Samira all the same: meetings 3 and 6 are not hers.
        w.dispatcher.assign(code, samira, "cli").await.unwrap();
        let req = w.store.request(code).await.unwrap();
        let s = req.series.unwrap();
        for o in &s.occurrences {
            let expected = if [3, 6].contains(&o.seq) {
                None
            } else {
                Some(samira)
            };
            assert_eq!(o.mediator_id, expected, "meeting {}", o.seq);
        }
        drain(&out).await;
        let c = code.to_string();
        for when in ["martedì 23 marzo, 15:00", "martedì 13 aprile, 15:00"] {
            email(&servers, "laura", &[&c, when, "cerchiamo"]).await;
            telegram(&fake, FATIMA, &["uno di una serie", when]).await;
        }
        let offered: Vec<i64> = w
            .store
            .offers_for_request(req.id)
            .await
            .unwrap()
            .iter()
            .map(|o| o.mediator_id)
            .collect();
        assert_eq!(offered, vec![fatima, fatima], "each meeting on its own");
    }
);
