//! Who the bot talks to, from Telegram's entry point: the real bot (long polling, outbox
//! delivery) with the real teloxide client against the local Bot API server, on SQLite and
//! PostgreSQL. A private conversation is one where the sender and the chat are the same
//! person: a group gets one pointer to the private chat and nothing else; an update from one
//! person in another's chat reveals and changes nothing; an edit of a message that already
//! became a request changes nothing; the bot speaks the configured `[intake] language`.

#[path = "support/botapi.rs"]
mod botapi;
#[path = "support/common.rs"]
mod common;
#[path = "support/world.rs"]
mod world;

use botapi::strip_html;
use connecting::channels::telegram::runtime::TelegramSettings;
use connecting::clock::Clock;
use connecting::domain::{Channel, LanguageCode, PersonKind, RequestCode, RequestStatus};
use connecting::store::NewRequest;
use std::sync::Arc;
use std::time::Duration;
use world::World;

/// A request of operator `operator` (Telegram `chat`), with details only its people may read.
async fn request_of(w: &World, operator: i64, chat: i64) -> RequestCode {
    let o = w.store().operator(operator).await.expect("operator");
    w.store()
        .create_request(
            &NewRequest {
                status: Some(RequestStatus::Queued),
                channel: Some(Channel::Telegram),
                operator_id: Some(operator),
                requester_name: Some(o.name.clone()),
                requester_email: o.email.clone(),
                requester_chat_id: Some(chat),
                language: Some(LanguageCode::parse("ar").expect("ar")),
                address: Some("Via Roma 1, Dalmine".into()),
                notes: Some("Minore di 12 anni, decreto del TM".into()),
                ..Default::default()
            },
            w.clock.now(),
        )
        .await
        .expect("request")
        .code
}

/// Whether a dialogue is open in `chat`.
async fn dialogue_open(w: &World, chat: i64) -> bool {
    let mut tx = w.store().begin().await.expect("tx");
    let open = tx.dialogue(chat).await.expect("dialogue").is_some();
    tx.rollback().await.expect("rollback");
    open
}

/// Lets every update be committed and every queued message be delivered.
async fn quiet(w: &World) {
    w.settle().await;
    let t = std::time::Instant::now();
    while w
        .store()
        .outbox_all()
        .await
        .expect("outbox")
        .iter()
        .any(|r| r.status == connecting::domain::OutboxStatus::Pending)
    {
        assert!(t.elapsed() < world::WAIT, "outbox not delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

both_backends!(
    a_group_is_told_to_write_privately_and_nothing_else,
    |db| async move {
        let mut w = World::new(db).await;
        let op = w.operator("Giulia Rossi", Some(700)).await;
        let code = request_of(&w, op, 700).await;
        let group = -100_500;

        // A registered operator asks for her requests in a group.
        w.fake.push_group_text(700, group, "/richieste");
        let r = w.reply(group).await;
        assert!(r.text.contains("solo in chat privata"), "{}", r.text);
        assert!(!r.text.contains(&code.to_string()), "{}", r.text);
        // More in the same hour: a request written there, the details asked there. Nothing is
        // answered any more, nothing is read into a draft, nothing is shown.
        w.fake.push_group_text(
            700,
            group,
            "serve una mediatrice araba per un colloquio il 12/03 alle 14.30, 2 ore, a Dalmine",
        );
        w.fake
            .push_group_text(700, group, &format!("/dettagli {code}"));
        quiet(&w).await;
        let in_group = w.fake.sent_to(group);
        assert_eq!(in_group.len(), 1, "{in_group:?}");
        assert!(w.fake.sent_to(700).is_empty(), "{:?}", w.fake.sent_to(700));
        assert!(!dialogue_open(&w, 700).await && !dialogue_open(&w, group).await);
        assert_eq!(w.requests_of(op).await.len(), 1);
        // Recorded, set aside, and no text of the group kept.
        let inbound = w.store().inbound("telegram", None).await.unwrap();
        let groups: Vec<_> = inbound.iter().filter(|i| i.kind == "group").collect();
        assert_eq!(groups.len(), 3, "{inbound:?}");
        assert!(groups.iter().all(|i| i.status == "ignored"));
        // An hour later the group is told once more.
        w.clock.advance(chrono::Duration::minutes(61));
        w.fake.push_group_text(700, group, "/nuova");
        let r = w.reply(group).await;
        assert!(r.text.contains("solo in chat privata"), "{}", r.text);
        // In the private chat the same person is served as always.
        let r = w.say(700, "/richieste").await;
        assert!(r.text.contains(&code.to_string()), "{}", r.text);
        w.stop().await;
    }
);

both_backends!(
    an_update_from_someone_else_s_chat_reveals_and_changes_nothing,
    |db| async move {
        let mut w = World::new(db).await;
        let anna = w.operator("Anna Verdi", Some(710)).await;
        let _bruno = w.operator("Bruno Neri", Some(711)).await;
        let code = request_of(&w, anna, 710).await;

        // Forged: Anna's account "writes" in Bruno's private chat, and Bruno's in Anna's.
        w.fake.push_text_as_in(710, 711, "/richieste");
        w.fake
            .push_text_as_in(710, 711, &format!("/dettagli {code}"));
        w.fake
            .push_text_as_in(710, 711, "serve mediatore arabo domani alle 10");
        w.fake
            .push_text_as_in(711, 710, &format!("/dettagli {code}"));
        w.fake
            .push_text_as_in(711, 710, &format!("/annulla {code}"));
        // And a button pressed on a message of another chat.
        let press = w.fake.push_callback(710, 711, 1, "d:711:1:c");
        assert_eq!(w.answer(&press).await.as_deref(), Some("Non autorizzato."));
        quiet(&w).await;
        // Nobody got anything: not the chat written in, not the sender.
        assert!(w.fake.sent_to(711).is_empty(), "{:?}", w.fake.sent_to(711));
        assert!(w.fake.sent_to(710).is_empty(), "{:?}", w.fake.sent_to(710));
        // Nothing changed: no draft, the request still queued.
        assert!(!dialogue_open(&w, 710).await && !dialogue_open(&w, 711).await);
        assert_eq!(
            w.store().request(code).await.unwrap().status,
            RequestStatus::Queued
        );
        let inbound = w.store().inbound("telegram", None).await.unwrap();
        assert_eq!(
            inbound.iter().filter(|i| i.status == "refused").count(),
            6,
            "{inbound:?}"
        );
        // Each in their own chat is served as always, and sees only their own.
        let r = w.say(711, "/richieste").await;
        assert!(!r.text.contains(&code.to_string()), "{}", r.text);
        let r = w.say(710, &format!("/dettagli {code}")).await;
        assert!(r.text.contains("Via Roma 1"), "{}", r.text);
        w.stop().await;
    }
);

both_backends!(
    editing_a_message_that_became_a_request_changes_nothing,
    |db| async move {
        let mut w = World::new(db).await;
        let op = w.operator("Giulia Rossi", Some(720)).await;
        let first = w.fake.push_text_message(
            720,
            "Buongiorno, serve una mediatrice di lingua araba per un colloquio il 12/03 alle 14.30, durata 2 ore, in presenza a Dalmine",
        );
        let r = w.reply(720).await;
        assert_eq!(r.labels(), vec!["Conferma", "Modifica", "Annulla"]);
        let r = w.press(&r, "Conferma").await;
        let code = RequestCode::find_in(&r.text).unwrap_or_else(|| panic!("{}", r.text));

        // Later the operator edits that first message.
        w.fake.push_edited_text(
            720,
            first,
            "serve un mediatore cinese il 20/03 alle 11 per una visita domiciliare a Bergamo",
        );
        let r = w.reply(720).await;
        assert!(r.text.contains("non cambia"), "{}", r.text);
        assert!(r.buttons.is_empty());
        assert!(!dialogue_open(&w, 720).await);
        let q = w.store().request(code).await.unwrap();
        assert_eq!(q.language.as_ref().map(|l| l.as_str()), Some("ar"));
        assert_eq!(q.date.map(|d| d.to_string()).as_deref(), Some("2027-03-12"));
        // The next message starts its own draft: nothing of the edit in it.
        let second = w
            .fake
            .push_text_message(720, "serve un mediatore bengalese il 15/03");
        let r = w.reply(720).await;
        let text = strip_html(&r.text);
        assert!(text.contains("Lingua: bengalese"), "{text}");
        assert!(text.contains("Data: 15/03/2027"), "{text}");
        assert!(
            !text.contains("cinese") && !text.contains("20/03") && !text.contains("11:00"),
            "{text}"
        );
        assert_eq!(w.requests_of(op).await.len(), 1);
        // An edit of a message of the draft being written still corrects it.
        w.fake
            .push_edited_text(720, second, "serve un mediatore bengalese il 16/03");
        let r = w.reply(720).await;
        assert!(
            strip_html(&r.text).contains("Data: 16/03/2027"),
            "{}",
            r.text
        );
        w.stop().await;
    }
);

both_backends!(the_bot_speaks_the_configured_language, |db| async move {
    // The settings the daemon builds from a configuration with `[intake] language = "en"`.
    let configure: world::Configure = Arc::new(|fake, s: &mut TelegramSettings| {
        let text = format!(
            "[telegram]\ntoken = \"{}\"\napi_url = \"{}\"\n\n[intake]\nlanguage = \"en\"\n",
            fake.token, fake.url
        );
        let cfg = connecting::config::Config::from_parts(
            Some(&text),
            std::path::Path::new("connecting.toml"),
            &[],
        )
        .expect("config");
        let from_config = TelegramSettings::from_config(&cfg).expect("[telegram]");
        s.bot = from_config.bot;
    });
    let mut w = World::configured(db, Some(configure)).await;
    w.operator("Giulia Rossi", Some(730)).await;
    let r = w.say(730, "/aiuto").await;
    assert!(
        r.text.contains("Write the request in one message"),
        "{}",
        r.text
    );
    let r = w.say(731, "hello").await;
    assert!(r.text.contains("invite code"), "{}", r.text);
    w.fake.push_group_text(730, -100_730, "/aiuto");
    let r = w.reply(-100_730).await;
    assert!(r.text.contains("private chat"), "{}", r.text);
    w.fake
        .push_text_as_in(730, 730, "serve una mediatrice araba");
    let r = w.reply(730).await;
    assert!(
        strip_html(&r.text).contains("Language: Arabic"),
        "{}",
        r.text
    );
    w.stop().await;
});

both_backends!(
    each_person_s_menu_shows_their_role_s_commands,
    |db| async move {
        let mut w = World::new(db).await;
        let now = w.clock.now();
        let op = w.operator("Giulia Rossi", None).await;
        let med = w
            .store()
            .add_mediator(
                &connecting::store::NewMediator {
                    name: "Samira Haddad".into(),
                    phone: None,
                    email: None,
                    telegram_id: None,
                    gender: None,
                    languages: vec![LanguageCode::parse("ar").unwrap()],
                    ambiti: vec![connecting::domain::Ambito::parse("Dalmine").unwrap()],
                    availability: None,
                    share_phone: false,
                },
                now,
            )
            .await
            .expect("mediator")
            .id;
        let invite = |kind, id| {
            let store = w.store().clone();
            async move {
                store
                    .create_invite(kind, id, now, chrono::Duration::days(7))
                    .await
                    .expect("invite")
            }
        };
        let code = invite(PersonKind::Operator, op).await;
        let r = w.say(740, &format!("/start {code}")).await;
        assert!(r.text.contains("Giulia Rossi"), "{}", r.text);
        let code = invite(PersonKind::Mediator, med).await;
        let r = w.say(741, &format!("/start {code}")).await;
        assert!(r.text.contains("Samira Haddad"), "{}", r.text);
        let menu = |chat: i64| {
            let fake = w.fake.clone();
            async move {
                let t = std::time::Instant::now();
                loop {
                    if let Some(m) = fake.chat_commands(chat) {
                        return m.into_iter().map(|(c, _)| c).collect::<Vec<_>>();
                    }
                    assert!(t.elapsed() < world::WAIT, "no menu for {chat}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        };
        let ops = menu(740).await;
        assert!(ops.contains(&"nuova".to_string()) && !ops.contains(&"coda".to_string()));
        let meds = menu(741).await;
        assert!(meds.contains(&"miei".to_string()) && !meds.contains(&"nuova".to_string()));
        // Private chats of everyone else (strangers) show only /start, in Italian.
        assert_eq!(
            w.fake.commands(),
            vec![(
                "start".to_string(),
                "Inizia o collega il tuo account".to_string()
            )]
        );
        w.stop().await;
    }
);
