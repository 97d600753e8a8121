//! Hostile input on Telegram (issue 8), with the real teloxide client against the local Bot API
//! server (which refuses, as Telegram does, texts over 4,096 characters and malformed HTML).
//!
//! Already covered elsewhere, not repeated here:
//! - forged and replayed callback_data: `telegram_stories::forged_and_replayed_callbacks_do_nothing`
//!   (forged draft buttons, garbage and out-of-range ids, a replayed Conferma),
//!   `telegram_stories::a_complete_request_in_one_message` (a second tap on Accetto), and
//!   `fuzz_regressions` / `callback.rs` unit tests for the 64-byte codec;
//! - callbacks from a chat that is not the offer's mediator:
//!   `telegram_stories::offers_and_outcomes_are_pressed_by_their_own_mediator_only`,
//!   `authorisation::a_mediator_cannot_press_svolto_on_someone_elses_job_a_coordinator_can`;
//! - invite codes rate-limited, expired and used: `telegram_stories::registration_by_invite_code`.
//!
//! Here: text at the 4,096-character limit (and our answers within it), markup in names and
//! texts shown as text, invite-code guessing alerting the coordinators once, and a removed
//! mediator pressing an old Accept button.

#[path = "support/botapi.rs"]
mod botapi;
#[path = "support/common.rs"]
mod common;
#[path = "support/world.rs"]
mod world;

use botapi::strip_html;
use connecting::clock::Clock;
use connecting::domain::{PersonKind, RequestCode, RequestStatus};
use connecting::outbox::Payload;
use world::{WAIT, World};

const LIMIT: usize = 4096;

/// A request an operator could write, padded to exactly `LIMIT` characters with accented text.
fn request_text_at_the_limit() -> String {
    let mut t = String::from(
        "Buongiorno, serve una mediatrice di lingua araba per un colloquio il 12/03 alle 14.30, durata 2 ore, in presenza a Dalmine. Note: ",
    );
    let filler = "è già così perché la famiglia ";
    while t.chars().count() + filler.chars().count() <= LIMIT {
        t.push_str(filler);
    }
    while t.chars().count() < LIMIT {
        t.push('.');
    }
    t
}

both_backends!(
    a_message_at_the_4096_limit_is_handled_and_answers_stay_within_it,
    |db| async move {
        let mut w = World::new(db).await;
        let op = w.operator("Giulia Rossi", Some(5000)).await;
        w.mediator("Samira Haddad", 5010).await;
        let text = request_text_at_the_limit();
        assert_eq!(text.chars().count(), LIMIT);
        let r = w.say(5000, &text).await;
        assert!(r.text.chars().count() <= LIMIT, "{}", r.text.len());
        assert!(r.text.contains("Lingua: arabo"), "{}", r.text);
        let r = w.press(&r, "Conferma").await;
        let code = RequestCode::find_in(&r.text).expect("code");
        // Stored whole: the notes keep the 4,096 characters as written.
        let q = w.store().request(code).await.unwrap();
        assert_eq!(q.operator_id, Some(op));
        assert!(
            q.notes.as_deref().unwrap_or_default().contains(&text),
            "notes cut"
        );
        // The mediator accepts: her details carry those notes and would exceed the limit; the
        // message is cut to fit (with "…"), still valid HTML, and delivered — not dead.
        let offer = w.reply(5010).await;
        w.fake.press(&offer, "Accetto").unwrap();
        let details = w.reply(5010).await;
        assert!(details.text.chars().count() <= LIMIT);
        assert!(details.text.contains(&code.to_string()), "{}", details.text);
        assert!(details.text.ends_with('…'), "{}", details.text);
        let r = w.say(5000, &format!("/dettagli {code}")).await;
        assert!(r.text.chars().count() <= LIMIT);
        let rows = w.store().outbox_all().await.unwrap();
        assert!(
            rows.iter()
                .all(|r| r.status != connecting::domain::OutboxStatus::Dead),
            "{rows:?}"
        );
        w.stop().await;
    }
);

const HOSTILE_NAME: &str =
    r#"Anna <b>Verdi</b> & <a href="http://evil.example">Co</a> *x* _y_ &amp;"#;
const HOSTILE_NOTE: &str =
    r#"<i>urgente</i> <a href="tg://user?id=1">clic</a> **grassetto** &lt; &amp; </b>"#;

/// True when `raw` (what we sent with parse_mode HTML) shows `visible` as plain text: the
/// markup characters are all escaped, and a client displays exactly `visible`.
fn shown_as_text(raw: &str, visible: &str) -> bool {
    let escaped = visible
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    raw.contains(&escaped) && strip_html(raw).contains(visible)
}

both_backends!(
    markup_in_names_and_texts_is_shown_as_text,
    |db| async move {
        let mut w = World::new(db).await;
        // An operator whose registered name is full of markup registers by invite.
        let op = w.operator(HOSTILE_NAME, None).await;
        let code = w
            .store()
            .create_invite(
                PersonKind::Operator,
                op,
                w.clock.now(),
                chrono::Duration::days(7),
            )
            .await
            .unwrap();
        let r = w.say(5100, &format!("/start {code}")).await;
        assert_eq!(r.parse_mode.as_deref(), Some("HTML"));
        assert!(shown_as_text(&r.text, HOSTILE_NAME), "{}", r.text);
        // A mediator, likewise.
        w.mediator("<i>Samira</i> & Co", 5110).await;
        // The request's text carries markup too.
        let r = w
        .say(
            5100,
            &format!("Serve una mediatrice araba per un colloquio il 12/03 alle 10, 2 ore, in presenza a Dalmine. {HOSTILE_NOTE}"),
        )
        .await;
        let r = w.press(&r, "Conferma").await;
        let rcode = RequestCode::find_in(&r.text).expect("code");
        let offer = w.reply(5110).await;
        w.fake.press(&offer, "Accetto").unwrap();
        // The mediator's details: the requester's name and the notes, as text.
        let details = w.reply(5110).await;
        assert!(
            shown_as_text(&details.text, HOSTILE_NAME),
            "{}",
            details.text
        );
        assert!(
            shown_as_text(&details.text, HOSTILE_NOTE),
            "{}",
            details.text
        );
        // The requester's confirmation: the mediator's name, as text.
        let confirmation = w
            .fake
            .wait_for(5100, WAIT, |m| m.text.contains("Samira"))
            .await
            .expect("confirmation");
        assert!(
            shown_as_text(&confirmation.text, "<i>Samira</i> & Co"),
            "{}",
            confirmation.text
        );
        // Stored as written.
        let q = w.store().request(rcode).await.unwrap();
        assert!(
            q.notes
                .as_deref()
                .unwrap_or_default()
                .contains(HOSTILE_NOTE)
        );
        assert_eq!(q.requester_name.as_deref(), Some(HOSTILE_NAME));
        // Every message we sent was accepted by the server's HTML check (none died).
        let rows = w.store().outbox_all().await.unwrap();
        assert!(
            rows.iter()
                .all(|r| r.status != connecting::domain::OutboxStatus::Dead),
            "{rows:?}"
        );
        w.stop().await;
    }
);

both_backends!(
    invite_code_guessing_alerts_the_coordinators_once,
    |db| async move {
        let mut w = World::new(db).await;
        w.coordinator(5200).await;
        // Four wrong codes: refused, no alert yet.
        for i in 0..4 {
            let r = w.say(5201, &format!("/start WRONG{i}")).await;
            assert!(r.text.contains("non è valido"), "{}", r.text);
        }
        w.settle().await;
        let alerts = |w: &World| {
            let w = w.store().clone();
            async move {
                w.outbox_all()
                    .await
                    .unwrap()
                    .into_iter()
                    .filter(|r| matches!(&r.payload, Payload::Telegram(p) if p.chat_id == 5200))
                    .count()
            }
        };
        assert_eq!(alerts(&w).await, 0);
        // The fifth (telegram.invite_alert_after = 5 by default): the coordinator is told.
        w.say(5201, "/start WRONG4").await;
        let alert = w.reply(5200).await;
        assert!(alert.text.contains("5201"), "{}", alert.text);
        assert!(alert.text.contains("invito"), "{}", alert.text);
        // Further tries are slowed down and do not alert again.
        for i in 5..8 {
            let r = w.say(5201, &format!("/start WRONG{i}")).await;
            assert!(r.text.contains("Troppi tentativi"), "{}", r.text);
        }
        w.settle().await;
        assert_eq!(alerts(&w).await, 1);
        // Another account's single mistake does not alert.
        w.say(5202, "/start NOPE").await;
        w.settle().await;
        assert_eq!(alerts(&w).await, 1);
        // Recorded (the log of failures is the store's, by account id).
        assert_eq!(
            w.store()
                .telegram_invite_attempts(5201, w.clock.now() - chrono::Duration::hours(1))
                .await
                .unwrap(),
            5
        );
        w.stop().await;
    }
);

both_backends!(
    a_removed_mediator_pressing_an_old_accept_is_refused,
    |db| async move {
        let mut w = World::new(db).await;
        w.operator("Giulia Rossi", Some(5300)).await;
        let samira = w.mediator("Samira Haddad", 5310).await;
        let r = w
            .say(
                5300,
                "Serve una mediatrice araba per un colloquio il 12/03 alle 10, 2 ore, in presenza a Dalmine",
            )
            .await;
        let r = w.press(&r, "Conferma").await;
        let code = RequestCode::find_in(&r.text).expect("code");
        let offer = w.reply(5310).await;
        assert_eq!(offer.labels(), vec!["Accetto", "Non posso"]);
        // The coordinator removes her from service; later she presses the old button.
        w.store().set_mediator_active(samira, false).await.unwrap();
        let pressed = w.fake.press(&offer, "Accetto").unwrap();
        assert_eq!(
            w.answer(&pressed).await.as_deref(),
            Some("Non autorizzato.")
        );
        let q = w.store().request(code).await.unwrap();
        assert_eq!(q.status, RequestStatus::Offered);
        assert_eq!(q.assigned_mediator_id, None);
        assert!(
            w.store()
                .assignments_for_request(q.id)
                .await
                .unwrap()
                .is_empty()
        );
        // Her /dettagli is refused like any stranger's.
        let r = w.say(5310, &format!("/dettagli {code}")).await;
        assert!(r.text.contains("codice di invito"), "{}", r.text);
        w.stop().await;
    }
);

/// SQL metacharacters and Unicode edge cases (the Telegram side of `hostile_text.rs`).
const UNICODE_AND_SQL: [&str; 8] = [
    "'; DROP TABLE requests; --",
    r"100% _x_ \ \\ \%",
    "\u{200F}مرحبا\u{200F}",
    "\u{202E}amoR\u{202C}",
    "Da\u{200B}lmine\u{FEFF}",
    "👩‍👩‍👧‍👦 🏳️‍🌈 👍🏽",
    "Nguye\u{0302}\u{0303}n e\u{301}",
    "{code} {name} %s $1",
];

both_backends!(
    sql_and_unicode_edge_cases_by_telegram_round_trip,
    |db| async move {
        let mut w = World::new(db).await;
        let name = UNICODE_AND_SQL.join(" ");
        let op = w.operator(&name, Some(5400)).await;
        w.mediator(UNICODE_AND_SQL[5], 5410).await;
        let extra = UNICODE_AND_SQL.join("\n");
        // NUL too: PostgreSQL cannot store it, so it is stripped (on both backends alike).
        let r = w
            .say(
                5400,
                &format!("Serve una mediatrice araba per un colloquio il 12/03 alle 10, 2 ore, in presenza a Dalmine.\n{extra}\nfine\u{0}riga"),
            )
            .await;
        let r = w.press(&r, "Conferma").await;
        let code = RequestCode::find_in(&r.text).expect("code");
        let q = w.store().request(code).await.unwrap();
        assert_eq!(q.operator_id, Some(op));
        assert_eq!(q.requester_name.as_deref(), Some(name.as_str()));
        let notes = q.notes.clone().unwrap_or_default();
        for s in UNICODE_AND_SQL {
            assert!(notes.contains(s), "{s:?} not in {notes:?}");
        }
        assert!(
            notes.contains("fineriga") && !notes.contains('\0'),
            "{notes:?}"
        );
        // Shown back as written (and escaped) to the requester and to the mediator.
        let r = w.say(5400, &format!("/dettagli {code}")).await;
        for s in UNICODE_AND_SQL {
            assert!(shown_as_text(&r.text, s), "{s:?} in {}", r.text);
        }
        assert!(
            r.text.contains(&code.to_string()),
            "placeholders in text not re-filled"
        );
        let offer = w.reply(5410).await;
        w.fake.press(&offer, "Accetto").unwrap();
        let details = w.reply(5410).await;
        for s in UNICODE_AND_SQL {
            assert!(shown_as_text(&details.text, s), "{s:?} in {}", details.text);
        }
        let confirmation = w
            .fake
            .wait_for(5400, WAIT, |m| m.text.contains(UNICODE_AND_SQL[5]))
            .await
            .expect("confirmation with the mediator's name");
        assert!(confirmation.text.contains(&code.to_string()));
        // The requests table is still there, with this one request in it.
        let all = w
            .store()
            .requests(&connecting::store::RequestFilter::default())
            .await
            .unwrap();
        assert_eq!(all.len(), 1);
        w.stop().await;
    }
);
