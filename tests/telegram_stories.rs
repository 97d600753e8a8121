//! Story tests of the Telegram bot: the real bot (long polling, outbox delivery) with the real
//! teloxide client against the fake Bot API server, on a real database (SQLite file and
//! PostgreSQL). Each test reads like what a person does on their phone.

#[path = "support/botapi.rs"]
mod botapi;
#[path = "support/builders.rs"]
mod builders;
#[path = "support/common.rs"]
mod common;
#[path = "support/world.rs"]
mod world;

use botapi::FakeBotApi;
use chrono::{TimeZone, Utc};
use common::TestDb;
use connecting::channels::telegram::UpdateSink;
use connecting::channels::telegram::runtime::TelegramSettings;
use connecting::clock::{Clock, ManualClock};
use connecting::domain::{
    Ambito, Gender, InterventionType, LanguageCode, Modality, PersonKind, RequestCode,
    RequestStatus,
};
use connecting::store::{NewMediator, NewRequest};
use std::sync::Arc;
use std::time::Duration;
use world::{WAIT, World, start_time};

both_backends!(registration_by_invite_code, |db| async move {
    let mut w = World::new(db).await;
    let op = w.operator("Giulia Rossi", None).await;
    let now = w.clock.now();
    let code = w
        .store()
        .create_invite(PersonKind::Operator, op, now, chrono::Duration::days(7))
        .await
        .unwrap();

    let r = w.say(500, &format!("/start {code}")).await;
    assert!(r.text.contains("Benvenuta/o, Giulia Rossi"), "{}", r.text);
    // Recognised from now on, without a code.
    let r = w.say(500, "/aiuto").await;
    assert!(r.text.contains("/nuova"), "{}", r.text);
    // The code works once.
    let r = w.say(501, &format!("/start {code}")).await;
    assert!(r.text.contains("già stato usato"), "{}", r.text);
    // An expired code.
    let other = w.operator("Marco Bianchi", None).await;
    let old = w
        .store()
        .create_invite(
            PersonKind::Operator,
            other,
            now - chrono::Duration::days(8),
            chrono::Duration::days(7),
        )
        .await
        .unwrap();
    let r = w.say(502, &format!("/start {old}")).await;
    assert!(r.text.contains("non è valido"), "{}", r.text);
    // Guessing is rate-limited: after 5 failures in an hour even a good code is refused.
    for i in 0..4 {
        let r = w.say(502, &format!("/start GUESS{i}")).await;
        assert!(r.text.contains("non è valido"), "{}", r.text);
    }
    let fresh = w
        .store()
        .create_invite(PersonKind::Operator, other, now, chrono::Duration::days(7))
        .await
        .unwrap();
    let r = w.say(502, &format!("/start {fresh}")).await;
    assert!(r.text.contains("Troppi tentativi"), "{}", r.text);
    assert_eq!(w.store().operator(other).await.unwrap().telegram_id, None);
    // An hour later it works.
    w.clock.advance(chrono::Duration::minutes(61));
    let r = w.say(502, &format!("/start {fresh}")).await;
    assert!(r.text.contains("Benvenuta/o, Marco Bianchi"), "{}", r.text);
    assert_eq!(
        w.store().operator(other).await.unwrap().telegram_id,
        Some(502)
    );
    w.stop().await;
});

both_backends!(a_complete_request_in_one_message, |db| async move {
    let mut w = World::new(db).await;
    let op = w.operator("Giulia Rossi", Some(600)).await;
    w.mediator("Samira Haddad", 610).await;
    let r = w
        .say(
            600,
            "Buongiorno, serve una mediatrice di lingua araba per un colloquio il 12/03 alle 14.30, durata 2 ore, in presenza a Dalmine",
        )
        .await;
    assert!(r.text.contains("Lingua: arabo"), "{}", r.text);
    assert!(r.text.contains("Data: 12/03/2027"), "{}", r.text);
    assert!(r.text.contains("Ora: 14:30"), "{}", r.text);
    assert!(r.text.contains("Comune: Dalmine"), "{}", r.text);
    assert_eq!(r.labels(), vec!["Conferma", "Modifica", "Annulla"]);
    let r = w.press(&r, "Conferma").await;
    let code = RequestCode::find_in(&r.text).unwrap_or_else(|| panic!("no code in {}", r.text));
    assert!(r.text.contains("in coda"), "{}", r.text);
    let reqs = w.requests_of(op).await;
    assert_eq!(reqs.len(), 1);
    let q = &reqs[0];
    assert_eq!(q.code, code);
    // Queued, then dispatched at once: the one Arabic mediator of the Ambito gets the offer.
    assert!(
        matches!(q.status, RequestStatus::Queued | RequestStatus::Offered),
        "{:?}",
        q.status
    );
    assert_eq!(q.language.as_ref().map(|l| l.as_str()), Some("ar"));
    assert_eq!(q.intervention, Some(InterventionType::Colloquio));
    assert_eq!(q.modality, Some(Modality::InPerson));
    assert_eq!(q.duration_minutes, Some(120));
    assert_eq!(q.requester_chat_id, Some(600));
    // 14:30 in Rome on 12 March (CET) is 13:30 UTC.
    assert_eq!(
        q.starts_at,
        Some(Utc.with_ymd_and_hms(2027, 3, 12, 13, 30, 0).unwrap())
    );
    // Pressing Conferma again (a replay) does not create a second request.
    w.fake.press(&r, "Conferma");
    let again = w.fake.push_callback(600, 600, r.message_id, "d:600:2:c");
    w.settle().await;
    assert_eq!(w.requests_of(op).await.len(), 1);
    let answers = w.fake.callback_answers();
    assert!(answers.iter().any(
        |(id, t)| *id == again && t.as_deref().is_some_and(|t| t.contains("non è più valido"))
    ));
    // /richieste lists it, in words.
    let r = w.say(600, "/richieste").await;
    assert!(r.text.contains(&code.to_string()), "{}", r.text);
    assert!(
        r.text.contains("offerta ai mediatori") || r.text.contains("in coda"),
        "{}",
        r.text
    );

    // The mediator sees only what an offer may show, and accepts from the phone.
    let offer = w.reply(610).await;
    assert!(offer.text.contains(&code.to_string()), "{}", offer.text);
    assert!(!offer.text.contains("Giulia"), "{}", offer.text);
    assert_eq!(offer.labels(), vec!["Accetto", "Non posso"]);
    let pressed = w.fake.press(&offer, "Accetto").unwrap();
    let details = w.reply(610).await;
    assert!(details.text.contains(&code.to_string()), "{}", details.text);
    let answer = w.answer(&pressed).await.unwrap_or_default();
    assert!(answer.contains("Incarico tuo"), "{answer}");
    // The operator is told who is coming.
    let confirmation = w.reply(600).await;
    assert!(
        confirmation.text.contains("Samira Haddad"),
        "{}",
        confirmation.text
    );
    assert!(matches!(
        w.store().request(code).await.unwrap().status,
        // Assigned, then confirmed once the requester's confirmation is delivered.
        RequestStatus::Assigned | RequestStatus::Confirmed
    ));
    // A second tap on the same offer: already assigned.
    let again = w.fake.press(&offer, "Accetto").unwrap();
    w.settle().await;
    let answers = w.fake.callback_answers();
    assert!(
        answers
            .iter()
            .any(|(id, t)| *id == again && t.as_deref() == Some("Già assegnata, grazie.")),
        "{answers:?}"
    );
    w.stop().await;
});

both_backends!(
    an_incomplete_request_completed_by_buttons_and_text,
    |db| async move {
        let mut w = World::new(db).await;
        let op = w.operator("Anna Verdi", Some(700)).await;
        let r = w
            .say(700, "Ci serve un mediatore urdu per un colloquio")
            .await;
        assert!(r.text.contains("Lingua: urdu"), "{}", r.text);
        assert!(r.text.contains("Per quale giorno?"), "{}", r.text);
        assert_eq!(r.labels(), vec!["Oggi", "Domani", "Dopodomani"]);
        let r = w.press(&r, "Domani").await;
        assert!(r.text.contains("A che ora?"), "{}", r.text);
        // Something that is not a time: asked again, kindly.
        let r = w.say(700, "boh").await;
        assert!(r.text.contains("Non ho capito"), "{}", r.text);
        let r = w.say(700, "alle 15:30").await;
        assert!(r.text.contains("Quanto dura?"), "{}", r.text);
        let r = w.press(&r, "1 ora e mezza").await;
        assert!(
            r.text.contains("In presenza, al telefono o in video?"),
            "{}",
            r.text
        );
        let r = w.press(&r, "Telefono").await;
        // By phone no comune is needed: straight to the summary.
        assert!(r.text.contains("Modalità: Telefono"), "{}", r.text);
        assert!(r.text.contains("Data: 02/03/2027"), "{}", r.text);
        // Modify: change the time by text.
        let r = w.press(&r, "Modifica").await;
        assert!(r.text.contains("correzione"), "{}", r.text);
        let r = w.say(700, "alle 16").await;
        assert!(r.text.contains("Ora: 16:00"), "{}", r.text);
        let r = w.press(&r, "Conferma").await;
        assert!(r.text.contains("in coda"), "{}", r.text);
        let q = &w.requests_of(op).await[0];
        assert_eq!(q.language.as_ref().map(|l| l.as_str()), Some("ur"));
        assert_eq!(q.modality, Some(Modality::Phone));
        assert_eq!(q.duration_minutes, Some(90));
        assert_eq!(q.start_time.map(|t| t.to_string()), Some("16:00:00".into()));
        assert_eq!(q.comune, None);
        w.stop().await;
    }
);

both_backends!(cancel_a_draft_and_a_queued_request, |db| async move {
    let mut w = World::new(db).await;
    let op = w.operator("Anna Verdi", Some(800)).await;
    let other = w.operator("Luca Neri", Some(801)).await;
    // A draft cancelled with its button: nothing is created.
    let r = w
        .say(
            800,
            "mediatore albanese domani alle 10 per 2 ore, colloquio in video",
        )
        .await;
    let r = w.press(&r, "Annulla").await;
    assert!(r.text.contains("annullata"), "{}", r.text);
    assert!(w.requests_of(op).await.is_empty());
    // A queued request cancelled with /annulla CODE.
    let r = w
        .say(
            800,
            "mediatore albanese domani alle 10 per 2 ore, colloquio in video",
        )
        .await;
    let r = w.press(&r, "Conferma").await;
    let code = RequestCode::find_in(&r.text).expect("code");
    // Someone else's request cannot be cancelled by them.
    let r = w.say(801, &format!("/annulla {code}")).await;
    assert!(r.text.contains("Non trovo"), "{}", r.text);
    assert!(w.requests_of(other).await.is_empty());
    let r = w.say(800, &format!("/annulla {code}")).await;
    assert!(r.text.contains("annullata"), "{}", r.text);
    assert_eq!(
        w.store().request(code).await.unwrap().status,
        RequestStatus::Cancelled
    );
    let r = w.say(800, "/annulla").await;
    assert!(r.text.contains("/annulla MED-"), "{}", r.text);
    w.stop().await;
});

both_backends!(
    an_unregistered_user_gets_only_how_to_get_access,
    |db| async move {
        let mut w = World::new(db).await;
        let r = w
            .say(900, "Buongiorno, serve un mediatore arabo domani alle 10")
            .await;
        assert!(r.text.contains("codice di invito"), "{}", r.text);
        assert!(r.buttons.is_empty());
        let r = w.say(900, "/nuova").await;
        assert!(r.text.contains("codice di invito"), "{}", r.text);
        w.fake
        .push_message_with(900, serde_json::json!({"voice": {"file_id": "v1", "file_unique_id": "u1", "duration": 3, "mime_type": "audio/ogg", "file_size": 1200}}));
        let r = w.reply(900).await;
        assert!(r.text.contains("codice di invito"), "{}", r.text);
        // A fourth message within the hour gets no more automatic replies.
        w.fake.push_text(900, "pronto?");
        w.settle().await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(w.fake.sent_to(900).len(), 3);
        let cb = w.fake.push_callback(900, 900, 1, "acc:1");
        w.settle().await;
        assert!(
            w.fake
                .callback_answers()
                .iter()
                .any(|(id, t)| *id == cb && t.as_deref() == Some("Non autorizzato."))
        );
        let all = w
            .store()
            .requests(&connecting::store::RequestFilter::default())
            .await
            .unwrap();
        assert!(all.is_empty());
        w.stop().await;
    }
);

both_backends!(forged_and_replayed_callbacks_do_nothing, |db| async move {
    let mut w = World::new(db).await;
    let a = w.operator("Anna Verdi", Some(1000)).await;
    w.operator("Luca Neri", Some(1001)).await;
    let r = w
        .say(
            1000,
            "mediatore cinese per un colloquio domani alle 9 per 2 ore in video",
        )
        .await;
    let confirm = r.button("Conferma").expect("confirm button");
    // Luca presses Anna's Conferma (forged data in his own chat, then on her message).
    let f1 = w.fake.push_callback(1001, 1001, r.message_id, &confirm);
    let f2 = w.fake.push_callback(1001, 1000, r.message_id, &confirm);
    w.settle().await;
    let answers = w.fake.callback_answers();
    for f in [f1, f2] {
        assert!(
            answers
                .iter()
                .any(|(id, t)| *id == f && t.as_deref() == Some("Non autorizzato.")),
            "{answers:?}"
        );
    }
    assert!(w.requests_of(a).await.is_empty());
    // A mediator pressing Accept on another mediator's offer.
    let m1 = w.mediator("Samira", 1100).await;
    let _m2 = w.mediator("Fatima", 1101).await;
    let now = w.clock.now();
    let req = w
        .store()
        .create_request(
            &NewRequest {
                status: Some(RequestStatus::Offered),
                language: Some(LanguageCode::parse("ar").unwrap()),
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
    let offer_id: i64 = builders::offer(req.id, m1).insert(w.store(), now).await;
    let forged = w
        .fake
        .push_callback(1101, 1101, 1, &format!("acc:{offer_id}"));
    let garbage = w
        .fake
        .push_callback(1101, 1101, 1, "acc:99999999999999999999999");
    w.settle().await;
    let answers = w.fake.callback_answers();
    for f in [forged, garbage] {
        assert!(
            answers
                .iter()
                .any(|(id, t)| *id == f && t.as_deref() == Some("Non autorizzato.")),
            "{answers:?}"
        );
    }
    let offers = w.store().offers_for_request(req.id).await.unwrap();
    let offer = offers.iter().find(|o| o.id == offer_id).unwrap();
    assert_eq!(offer.state, connecting::domain::OfferState::Open);
    // Anna's own press still works.
    let r = w.press(&r, "Conferma").await;
    assert!(r.text.contains("in coda"), "{}", r.text);
    w.stop().await;
});

both_backends!(a_restart_in_the_middle_of_a_dialogue, |db| async move {
    let mut w = World::new(db).await;
    let op = w.operator("Anna Verdi", Some(1200)).await;
    let r = w
        .say(1200, "serve mediatrice rumena per una visita domiciliare")
        .await;
    assert!(r.text.contains("Per quale giorno?"), "{}", r.text);
    w.stop().await;
    // The user answers while the bot is down; a new instance picks it up.
    let dopo = w.fake.press(&r, "Dopodomani").expect("button");
    w.start().await;
    let r = w.reply(1200).await;
    assert!(r.text.contains("A che ora?"), "{}", r.text);
    assert!(
        w.answer(&dopo).await.is_some(),
        "the press was not answered"
    );
    let r = w.say(1200, "ore 11").await;
    let mut r = w.press(&r, "2 ore").await;
    if r.button("In presenza").is_some() {
        r = w.press(&r, "In presenza").await;
    }
    assert!(r.text.contains("In quale comune?"), "{}", r.text);
    w.stop().await;
    w.start().await;
    let r = w.say(1200, "Frazione <Alta> & Co").await;
    assert!(
        r.text.contains("Comune: Frazione &lt;Alta&gt; &amp; Co"),
        "{}",
        r.text
    );
    let r = w.press(&r, "Conferma").await;
    assert!(r.text.contains("in coda"), "{}", r.text);
    let q = &w.requests_of(op).await[0];
    assert_eq!(q.intervention, Some(InterventionType::VisitaDomiciliare));
    assert_eq!(q.date.map(|d| d.to_string()), Some("2027-03-03".into()));
    w.stop().await;
});

both_backends!(mediator_commands_and_media, |db| async move {
    let mut w = World::new(db).await;
    let m = w.mediator("Samira", 1300).await;
    let r = w.say(1300, "/pausa").await;
    assert!(r.text.contains("sospese"), "{}", r.text);
    assert!(w.store().mediator(m).await.unwrap().paused);
    let r = w.say(1300, "/disponibile").await;
    assert!(r.text.contains("di nuovo"), "{}", r.text);
    assert!(!w.store().mediator(m).await.unwrap().paused);
    let r = w.say(1300, "/miei").await;
    assert!(r.text.contains("Nessun incarico"), "{}", r.text);
    // Her hours this month: none yet, then one appointment done (90 minutes).
    let r = w.say(1300, "/ore").await;
    assert!(r.text.contains("0:00 ore in 0 interventi"), "{}", r.text);
    let now = w.clock.now();
    let req = w
        .store()
        .create_request(
            &NewRequest {
                status: Some(RequestStatus::Offered),
                language: Some(LanguageCode::parse("ar").unwrap()),
                starts_at: Some(now + chrono::Duration::days(3)),
                ends_at: Some(now + chrono::Duration::days(3) + chrono::Duration::hours(2)),
                duration_minutes: Some(120),
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
    let offer = builders::offer(req.id, m).insert(w.store(), now).await;
    let core = connecting::renderers::core(Default::default());
    let samira = connecting::authz::Actor::Mediator {
        id: m,
        active: true,
    };
    let mut tx = w.store().begin().await.unwrap();
    let won = connecting::app::answer::accept(&core, &mut tx, &samira, offer, now)
        .await
        .unwrap();
    let connecting::app::answer::Accepted::Won(won) = won else {
        panic!("{won:?}")
    };
    let after = now + chrono::Duration::days(3) + chrono::Duration::hours(3);
    assert!(
        connecting::app::outcome::record(
            &core,
            &mut tx,
            &samira,
            won.assignment_id,
            true,
            Some(90),
            after
        )
        .await
        .unwrap()
    );
    tx.commit().await.unwrap();
    // (The details of the job she got arrive too; the answer is the one about her month.)
    w.fake.push_text(1300, "/ore");
    let r = w
        .fake
        .wait_for(1300, WAIT, |m| m.text.contains("Questo mese"))
        .await
        .expect("the answer to /ore");
    assert!(r.text.contains("1:30 ore in 1 interventi"), "{}", r.text);
    w.operator("Anna", Some(1301)).await;
    w.fake.push_message_with(1301, serde_json::json!({"sticker": {"file_id": "s", "file_unique_id": "s", "type": "regular", "width": 512, "height": 512, "is_animated": false, "is_video": false}}));
    let r = w.reply(1301).await;
    assert!(r.text.contains("solo messaggi di testo"), "{}", r.text);
    w.stop().await;
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_corpus_goes_through_the_bot() {
    let db = TestDb::sqlite().await;
    let mut w = World::new(db).await;
    let dir = std::path::PathBuf::from("/work/shared/corpus/telegram");
    let corpus = botapi::corpus_updates(&dir);
    for (_, u) in &corpus {
        w.fake.push_raw(u.clone());
    }
    let r = w.say(1400, "ciao").await;
    assert!(r.text.contains("codice di invito"));
    w.settle().await;
    let inbound = w.store().inbound("telegram", None).await.unwrap();
    assert_eq!(inbound.len(), corpus.len() + 1);
    assert!(
        inbound.iter().all(|i| i.status != "quarantined"),
        "{inbound:?}"
    );
    assert!(inbound.iter().filter(|i| i.status == "ignored").count() >= 5);
    w.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_update_twice_is_handled_once() {
    let db = TestDb::sqlite().await;
    let w = World::new(db).await;
    w.operator("Anna", Some(1500)).await;
    let update: teloxide::types::Update = serde_json::from_str(
        &serde_json::json!({
        "update_id": 1, "message": {"message_id": 1, "date": 1700000000,
        "chat": {"id": 1500, "type": "private", "first_name": "A"},
        "from": {"id": 1500, "is_bot": false, "first_name": "A"}, "text": "/aiuto"}})
        .to_string(),
    )
    .unwrap();
    let bot = w.running.as_ref().unwrap().bot.clone();
    bot.commit(&update).await.unwrap();
    bot.commit(&update).await.unwrap();
    let rows = w.store().outbox_all().await.unwrap();
    let inbound = w.store().inbound("telegram", None).await.unwrap();
    assert_eq!(rows.len(), 1, "{rows:?} {inbound:?}");
}

both_backends!(
    offers_and_outcomes_are_pressed_by_their_own_mediator_only,
    |db| async move {
        use connecting::channels::telegram::messages::{self, OfferView};
        let mut w = World::new(db).await;
        let samira = w.mediator("Samira", 1600).await;
        let _fatima = w.mediator("Fatima", 1601).await;
        let now = w.clock.now();
        let req = w
            .store()
            .create_request(
                &NewRequest {
                    status: Some(RequestStatus::Offered),
                    language: Some(LanguageCode::parse("ar").unwrap()),
                    requester_name: Some("Giulia Rossi".into()),
                    address: Some("Via Roma 1".into()),
                    ..Default::default()
                },
                now,
            )
            .await
            .unwrap();
        let offer_id: i64 = builders::offer(req.id, samira).insert(w.store(), now).await;
        // Dispatch queues the offer through the outbox; the bot's delivery sends it.
        let view = OfferView {
            code: req.code,
            language: LanguageCode::parse("ar").unwrap(),
            date: chrono::NaiveDate::from_ymd_opt(2027, 3, 12).unwrap(),
            time: chrono::NaiveTime::from_hms_opt(14, 30, 0),
            duration_minutes: Some(120),
            comune: Some("Dalmine".into()),
            intervention: InterventionType::Colloquio,
            modality: Modality::InPerson,
        };
        let payload =
            connecting::outbox::Payload::Telegram(messages::offer("it", 1600, offer_id, &view));
        let mut tx = w.store().begin().await.unwrap();
        tx.enqueue("offer:test", Some(req.id), &payload, now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let shown = w.reply(1600).await; // the delivery loop ticks every 100 ms
        assert_eq!(shown.labels(), vec!["Accetto", "Non posso"]);
        assert!(
            !shown.text.contains("Giulia") && !shown.text.contains("Via Roma"),
            "{}",
            shown.text
        );
        // Fatima presses Samira's offer: refused. Samira's own press reaches dispatch's hook.
        let forged = w
            .fake
            .push_callback(1601, 1600, shown.message_id, &format!("acc:{offer_id}"));
        let own = w.fake.press(&shown, "Accetto").unwrap();
        w.settle().await;
        let answers = w.fake.callback_answers();
        assert!(
            answers
                .iter()
                .any(|(id, t)| *id == forged && t.as_deref() == Some("Non autorizzato.")),
            "{answers:?}"
        );
        assert!(
            answers
                .iter()
                .any(|(id, t)| *id == own && t.as_deref() != Some("Non autorizzato.")),
            "{answers:?}"
        );
        assert!(
            answers
                .iter()
                .any(|(id, t)| *id == own
                    && t.as_deref().is_some_and(|t| t.contains("Incarico tuo"))),
            "{answers:?}"
        );
        let assignment: i64 = w
            .store()
            .assignments_for_request(req.id)
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.status == connecting::domain::AssignmentStatus::Active)
            .unwrap()
            .id;
        assert_eq!(
            w.store().request_by_id(req.id).await.unwrap().status,
            RequestStatus::Assigned
        );

        // After the appointment: [Svolto] on her own assignment closes it.
        let q = messages::outcome_question("it", 1600, assignment, &req.code);
        let forged = w.fake.push_callback(1601, 1601, 1, &q.buttons[0][0].data);
        let own = w.fake.push_callback(1600, 1600, 1, &q.buttons[0][0].data);
        let replay = w.fake.push_callback(1600, 1600, 1, &q.buttons[0][1].data);
        w.settle().await;
        let answers = w.fake.callback_answers();
        let answer = |id: &str| {
            answers
                .iter()
                .find(|(i, _)| i == id)
                .and_then(|(_, t)| t.clone())
        };
        assert_eq!(answer(&forged).as_deref(), Some("Non autorizzato."));
        assert_eq!(
            answer(&own).as_deref(),
            Some("Grazie! Segnato come svolto.")
        );
        assert_eq!(
            answer(&replay).as_deref(),
            Some("Questo pulsante non è più valido.")
        );
        assert_eq!(
            w.store().request_by_id(req.id).await.unwrap().status,
            RequestStatus::Done
        );
        // Then the hours actually worked, with buttons; only hers, only once done.
        let ask = w
            .fake
            .wait_for(1600, WAIT, |m| m.button("2 h").is_some())
            .await
            .expect("hours question");
        let forged = w
            .fake
            .push_callback(1601, 1601, ask.message_id, &ask.button("2 h").unwrap());
        assert_eq!(w.answer(&forged).await.as_deref(), Some("Non autorizzato."));
        let pressed = w.fake.press(&ask, "1,5 h").unwrap();
        assert_eq!(
            w.answer(&pressed).await.as_deref(),
            Some("Grazie! Segnate 1,5 ore.")
        );
        let a = w.store().assignments_for_request(req.id).await.unwrap();
        assert_eq!(a[0].worked_minutes, Some(90));
        w.stop().await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_mode_serves_the_same_bot() {
    use connecting::channels::telegram::runtime::start_webhook;
    let db = TestDb::sqlite().await;
    let fake = FakeBotApi::start().await;
    let clock = ManualClock::new(start_time());
    let mut s = TelegramSettings::new(fake.token.clone());
    s.api_url = Some(fake.url.clone());
    s.delivery_tick = Duration::from_millis(100);
    let (running, router) = start_webhook(
        &s,
        db.store.clone(),
        Arc::new(clock.clone()),
        "https://bot.example.org/telegram",
        "/telegram",
        "hook-secret",
        connecting::renderers::channels(),
    )
    .await
    .unwrap();
    assert_eq!(
        fake.webhook(),
        Some((
            "https://bot.example.org/telegram".into(),
            Some("hook-secret".into())
        ))
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let body = serde_json::json!({"update_id": 77, "message": {"message_id": 1, "date": 1700000000,
        "chat": {"id": 1700, "type": "private", "first_name": "A"},
        "from": {"id": 1700, "is_bot": false, "first_name": "A"}, "text": "ciao"}})
    .to_string();
    let client = teloxide::net::default_reqwest_settings().build().unwrap();
    let post = |secret: &str| {
        client
            .post(format!("http://{addr}/telegram"))
            .header("content-type", "application/json")
            .header("x-telegram-bot-api-secret-token", secret)
            .body(body.clone())
            .send()
    };
    assert_eq!(post("nope").await.unwrap().status().as_u16(), 401);
    assert_eq!(post("hook-secret").await.unwrap().status().as_u16(), 200);
    // Telegram retrying the same update: answered once.
    assert_eq!(post("hook-secret").await.unwrap().status().as_u16(), 200);
    let r = fake.wait_for(1700, WAIT, |_| true).await.expect("reply");
    assert!(r.text.contains("codice di invito"), "{}", r.text);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(fake.sent_to(1700).len(), 1);
    running.stop().await;
}

both_backends!(twenty_mediators_tap_accept_at_once, |db| async move {
    use connecting::channels::telegram::bot::{BotConfig, TelegramBot};
    use connecting::dispatch::engine::DispatchSettings;
    let mut w = World::new(db).await;
    let now = w.clock.now();
    let req = w
        .store()
        .create_request(
            &NewRequest {
                status: Some(RequestStatus::Offered),
                language: Some(LanguageCode::parse("ar").unwrap()),
                ..Default::default()
            },
            now,
        )
        .await
        .unwrap();
    let mut offers = Vec::new();
    for i in 0..20 {
        let tg = 2000 + i;
        let m = w.mediator(&format!("Mediatrice {i}"), tg).await;
        let offer_id: i64 = builders::offer(req.id, m).insert(w.store(), now).await;
        offers.push((tg, offer_id));
    }
    // Two bot instances (as behind a webhook with two replicas) take the 20 presses at once.
    let a = w.running.as_ref().unwrap().bot.clone();
    let b = TelegramBot::new(
        w.db.another_instance().await,
        Arc::new(w.clock.clone()),
        w.fake.bot(),
        BotConfig::default(),
        DispatchSettings::default(),
        connecting::renderers::channels(),
    );
    let mut tasks = Vec::new();
    for (i, (tg, offer_id)) in offers.iter().enumerate() {
        let update: teloxide::types::Update = serde_json::from_str(
            &serde_json::json!({"update_id": 90_000 + i, "callback_query": {
                "id": format!("press{i}"), "chat_instance": "c",
                "from": {"id": tg, "is_bot": false, "first_name": "M"},
                "message": {"message_id": 1, "date": 1700000000,
                    "chat": {"id": tg, "type": "private", "first_name": "M"}, "text": "offerta"},
                "data": format!("acc:{offer_id}")}})
            .to_string(),
        )
        .unwrap();
        let bot = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move { bot.commit(&update).await }));
    }
    for t in tasks {
        t.await.unwrap().expect("committed");
    }
    let assignments = w
        .store()
        .assignments_for_request(req.id)
        .await
        .unwrap()
        .len();
    assert_eq!(assignments, 1);
    let answers = w.fake.callback_answers();
    let won = answers
        .iter()
        .filter(|(_, t)| t.as_deref().is_some_and(|t| t.contains("Incarico tuo")))
        .count();
    let taken = answers
        .iter()
        .filter(|(_, t)| t.as_deref() == Some("Già assegnata, grazie."))
        .count();
    assert_eq!((won, taken), (1, 19), "{answers:?}");
    assert_eq!(
        w.store().request_by_id(req.id).await.unwrap().status,
        RequestStatus::Assigned
    );
    w.stop().await;
});

both_backends!(
    a_coordinator_assigns_and_cancels_from_the_phone,
    |db| async move {
        let mut w = World::new(db).await;
        w.coordinator(3000).await;
        let op = w.operator("Giulia Rossi", Some(3001)).await;
        // Nobody speaks Tigrinya yet: the request is escalated to the coordinator.
        let r = w
        .say(3001, "Serve un mediatore tigrino per un colloquio il 12/03 alle 10, 2 ore, in presenza a Dalmine")
        .await;
        let r = w.press(&r, "Conferma").await;
        let code = RequestCode::find_in(&r.text).expect("code");
        let t = std::time::Instant::now();
        while w.store().request(code).await.unwrap().status != RequestStatus::Escalated {
            assert!(t.elapsed() < WAIT, "not escalated");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The coordinator is alerted on the phone.
        let alert = w.reply(3000).await;
        assert!(alert.text.contains(&code.to_string()), "{}", alert.text);
        let r = w.say(3000, "/coda").await;
        assert!(r.text.contains("al coordinamento: 1"), "{}", r.text);
        let r = w.say(3000, &format!("/assegna {code}")).await;
        assert!(r.text.contains("nessun mediatore"), "{}", r.text);
        // A Tigrinya mediator registers; now the coordinator can pick her.
        w.store()
            .add_mediator(
                &NewMediator {
                    name: "Selam".into(),
                    phone: None,
                    email: None,
                    telegram_id: Some(3002),
                    gender: Some(Gender::F),
                    languages: vec![LanguageCode::parse("ti").unwrap()],
                    ambiti: vec![Ambito::parse("Dalmine").unwrap()],
                    availability: None,
                    share_phone: false,
                },
                w.clock.now(),
            )
            .await
            .unwrap();
        let r = w.say(3000, &format!("/assegna {code}")).await;
        assert_eq!(r.labels(), vec!["Selam"], "{}", r.text);
        // The operator cannot press the coordinator's button.
        let forged = w
            .fake
            .push_callback(3001, 3001, r.message_id, &r.button("Selam").unwrap());
        assert_eq!(w.answer(&forged).await.as_deref(), Some("Non autorizzato."));
        let pressed = w.fake.press(&r, "Selam").unwrap();
        let answer = w.answer(&pressed).await.unwrap_or_default();
        assert!(answer.contains("assegnata a Selam"), "{answer}");
        assert!(matches!(
            w.store().request(code).await.unwrap().status,
            // Assigned, then confirmed once the requester's confirmation is delivered.
            RequestStatus::Assigned | RequestStatus::Confirmed
        ));
        let told = w.reply(3001).await;
        assert!(told.text.contains("Selam"), "{}", told.text);
        // The coordinator cancels it; the operator's own /richieste no longer lists it.
        let r = w.say(3000, &format!("/annulla {code}")).await;
        assert!(r.text.contains("annullata"), "{}", r.text);
        assert_eq!(
            w.store().request(code).await.unwrap().status,
            RequestStatus::Cancelled
        );
        assert!(
            w.requests_of(op)
                .await
                .iter()
                .all(|q| q.status == RequestStatus::Cancelled)
        );
        w.stop().await;
    }
);

both_backends!(
    a_requester_who_cancels_on_the_bot_gets_the_cancel_for_her_calendar,
    |db| async move {
        // Invitations need the cooperative's address as their organizer (`smtp.from`).
        let configure: world::Configure = Arc::new(|_, s| {
            s.dispatch.organizer = Some(connecting::ics::Party {
                name: "Cooperativa Esempio".into(),
                email: Some("info@coop.example".into()),
            });
        });
        let mut w = World::configured(db, Some(configure)).await;
        w.operator("Giulia Rossi", Some(3101)).await;
        w.store()
            .add_mediator(
                &NewMediator {
                    name: "Selam".into(),
                    phone: None,
                    email: None,
                    telegram_id: Some(3102),
                    gender: Some(Gender::F),
                    languages: vec![LanguageCode::parse("ti").unwrap()],
                    ambiti: vec![Ambito::parse("Dalmine").unwrap()],
                    availability: None,
                    share_phone: false,
                },
                w.clock.now(),
            )
            .await
            .unwrap();
        let r = w
        .say(3101, "Serve un mediatore tigrino per un colloquio il 12/03 alle 10, 2 ore, in presenza a Dalmine")
        .await;
        let r = w.press(&r, "Conferma").await;
        let code = RequestCode::find_in(&r.text).expect("code");
        let offer = w
            .fake
            .wait_for(3102, WAIT, |m| !m.buttons.is_empty())
            .await
            .expect("the offer");
        w.fake.press(&offer, "Accetto").expect("Accetto");
        let confirmed = w
            .fake
            .wait_for(3101, WAIT, |m| m.document.is_some())
            .await
            .unwrap_or_else(|| panic!("no invitation: {:?}", w.fake.sent_to(3101)));
        let ics =
            |m: &botapi::BotMessage| m.document.as_ref().map(|d| d.text()).unwrap_or_default();
        assert!(ics(&confirmed).contains("METHOD:REQUEST"));
        // Giulia cancels it herself: her answer is the CANCEL of the same event, in words.
        w.fake.push_text(3101, &format!("/annulla {code}"));
        let answer = w
            .fake
            .wait_for(3101, WAIT, |m| {
                m.document
                    .as_ref()
                    .is_some_and(|d| d.text().contains("METHOD:CANCEL"))
            })
            .await
            .expect("the cancellation with its CANCEL");
        assert!(
            answer.text.contains(&code.to_string()) && answer.text.contains("è annullata"),
            "{}",
            answer.text
        );
        assert!(
            !answer.text.contains("dalla cooperativa"),
            "{}",
            answer.text
        );
        let uid = |t: &str| {
            t.lines()
                .find(|l| l.starts_with("UID:"))
                .map(str::to_string)
                .unwrap_or_default()
        };
        assert_eq!(uid(&ics(&answer)), uid(&ics(&confirmed)), "the same event");
        assert_eq!(
            w.store().request(code).await.unwrap().status,
            RequestStatus::Cancelled
        );
        // One answer, not two: no separate "annullata" text besides the document.
        w.settle().await;
        let texts = w
            .fake
            .sent_to(3101)
            .into_iter()
            .filter(|m| m.text.contains("annullata"))
            .count();
        assert_eq!(texts, 1);
        // Selam is told too, with the CANCEL.
        assert!(
            w.fake
                .wait_for(3102, WAIT, |m| {
                    m.document
                        .as_ref()
                        .is_some_and(|d| d.text().contains("METHOD:CANCEL"))
                })
                .await
                .is_some()
        );
        w.stop().await;
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_answer_is_taken_into_account() {
    let db = TestDb::sqlite().await;
    let mut w = World::new(db).await;
    w.operator("Anna", Some(3100)).await;
    let r = w
        .say(
            3100,
            "serve mediatore bengalese per una riunione in video il 15/03",
        )
        .await;
    assert!(r.text.contains("A che ora?"), "{}", r.text);
    w.fake.push_text(3100, "alle 9");
    let r = w.reply(3100).await;
    assert!(r.text.contains("Quanto dura?"), "{}", r.text);
    let r = w.press(&r, "2 ore").await;
    assert!(r.text.contains("Ora: 09:00"), "{}", r.text);
    // The operator corrects the earlier message instead of writing a new one.
    let earlier = w.fake.sent_to(3100)[0].message_id + 1;
    w.fake.push_edited_text(3100, earlier, "alle 11");
    let r = w.reply(3100).await;
    assert!(r.text.contains("Ora: 11:00"), "{}", r.text);
    assert_eq!(r.labels(), vec!["Conferma", "Modifica", "Annulla"]);
    w.stop().await;
}

both_backends!(
    a_coordinator_reviews_held_email_from_the_phone,
    |db| async move {
        let mut w = World::new(db).await;
        w.coordinator(3100).await;
        let held = |n: u32| NewRequest {
            status: Some(RequestStatus::NeedsReview),
            channel: Some(connecting::domain::Channel::Email),
            requester_email: Some(format!("segreteria{n}@ambito.example")),
            missing: vec!["language".into(), "date".into()],
            ..Default::default()
        };
        let a = w
            .store()
            .create_request(&held(1), w.clock.now())
            .await
            .unwrap();
        let b = w
            .store()
            .create_request(&held(2), w.clock.now())
            .await
            .unwrap();
        let list = w.say(3100, "/revisione").await;
        assert!(
            list.text.contains(&a.code.to_string()) && list.text.contains(&b.code.to_string()),
            "{}",
            list.text
        );
        // An operator cannot press the coordinator's buttons.
        w.operator("Giulia Rossi", Some(3101)).await;
        let accept_a = list.button(&format!("Accetta {}", a.code)).unwrap();
        let forged = w.fake.push_callback(3101, 3101, list.message_id, &accept_a);
        assert_eq!(w.answer(&forged).await.as_deref(), Some("Non autorizzato."));
        assert_eq!(
            w.store().request(a.code).await.unwrap().status,
            RequestStatus::NeedsReview
        );

        let pressed = w.fake.press(&list, &format!("Accetta {}", a.code)).unwrap();
        assert!(
            w.answer(&pressed)
                .await
                .unwrap_or_default()
                .contains("accettata")
        );
        // Nothing known yet: it waits for the missing fields.
        assert_eq!(
            w.store().request(a.code).await.unwrap().status,
            RequestStatus::NeedsInfo
        );
        let pressed = w.fake.press(&list, &format!("Rifiuta {}", b.code)).unwrap();
        assert!(
            w.answer(&pressed)
                .await
                .unwrap_or_default()
                .contains("rifiutata")
        );
        assert_eq!(
            w.store().request(b.code).await.unwrap().status,
            RequestStatus::Cancelled
        );
        // A replayed press changes nothing.
        let again = w.fake.press(&list, &format!("Rifiuta {}", a.code)).unwrap();
        assert!(
            w.answer(&again)
                .await
                .unwrap_or_default()
                .contains("non è più valido")
        );
        assert_eq!(
            w.store().request(a.code).await.unwrap().status,
            RequestStatus::NeedsInfo
        );
        w.stop().await;
    }
);

both_backends!(
    the_requester_rates_the_intervention_from_the_phone,
    |db| async move {
        let mut w = World::new(db).await;
        let op = w.operator("Giulia Rossi", Some(3300)).await;
        w.operator("Marco Bianchi", Some(3301)).await;
        let request = |status| NewRequest {
            status: Some(status),
            channel: Some(connecting::domain::Channel::Telegram),
            operator_id: Some(op),
            requester_chat_id: Some(3300),
            ..Default::default()
        };
        // Before the appointment has happened, her own press is refused in words.
        let early = w
            .store()
            .create_request(&request(RequestStatus::Queued), w.clock.now())
            .await
            .unwrap();
        let pressed = w
            .fake
            .push_callback(3300, 3300, 1, &format!("ev:{}:4", early.id));
        assert_eq!(
            w.answer(&pressed).await.as_deref(),
            Some(
                format!(
                    "Richiesta {}: la valutazione si potrà dare dopo l'intervento.",
                    early.code
                )
                .as_str()
            )
        );
        assert_eq!(w.store().evaluation(early.id).await.unwrap(), None);
        let r = w
            .store()
            .create_request(&request(RequestStatus::Done), w.clock.now())
            .await
            .unwrap();
        // Another operator's press is refused and stores nothing.
        let forged = w
            .fake
            .push_callback(3301, 3301, 1, &format!("ev:{}:1", r.id));
        assert_eq!(w.answer(&forged).await.as_deref(), Some("Non autorizzato."));
        assert_eq!(w.store().evaluation(r.id).await.unwrap(), None);
        let pressed = w
            .fake
            .push_callback(3300, 3300, 1, &format!("ev:{}:4", r.id));
        assert!(
            w.answer(&pressed)
                .await
                .unwrap_or_default()
                .contains("Grazie")
        );
        assert_eq!(w.store().evaluation(r.id).await.unwrap(), Some((4, None)));
        // A score out of range changes nothing.
        let bad = w
            .fake
            .push_callback(3300, 3300, 1, &format!("ev:{}:9", r.id));
        assert_eq!(w.answer(&bad).await.as_deref(), Some("Non autorizzato."));
        assert_eq!(w.store().evaluation(r.id).await.unwrap(), Some((4, None)));
        w.stop().await;
    }
);

both_backends!(a_mediator_declines_with_a_reason, |db| async move {
    let mut w = World::new(db).await;
    w.operator("Giulia Rossi", Some(3400)).await;
    w.mediator("Samira Haddad", 3410).await;
    let r = w
        .say(
            3400,
            "Buongiorno, serve una mediatrice di lingua araba per un colloquio il 12/03 alle 14.30, durata 2 ore, in presenza a Dalmine",
        )
        .await;
    w.press(&r, "Conferma").await;
    let offer = w.reply(3410).await;
    assert_eq!(offer.labels(), vec!["Accetto", "Non posso"]);
    let pressed = w.fake.press(&offer, "Non posso").unwrap();
    assert!(w.answer(&pressed).await.is_some());
    let ask = w
        .fake
        .wait_for(3410, WAIT, |m| m.button("Troppo lontano").is_some())
        .await
        .expect("reason question");
    // Another account cannot answer for her.
    let forged = w
        .fake
        .push_callback(3400, 3400, ask.message_id, &ask.button("Altro").unwrap());
    assert_eq!(w.answer(&forged).await.as_deref(), Some("Non autorizzato."));
    let why = w.fake.press(&ask, "Troppo lontano").unwrap();
    assert_eq!(w.answer(&why).await.as_deref(), Some("Grazie, annotato."));
    let reason: Option<String> = connecting::with_pool!(w.store(), p => {
        sqlx::query_scalar("SELECT decline_reason FROM offers WHERE state = 'declined'")
            .fetch_one(p).await.unwrap()
    });
    assert_eq!(reason.as_deref(), Some("far"));
    w.stop().await;
});

both_backends!(
    an_operator_attaches_a_document_to_the_request,
    |db| async move {
        let mut w = World::new(db).await;
        let op = w.operator("Giulia Rossi", Some(3500)).await;
        let doc = serde_json::json!({"document": {
            "file_id": "BQACAgQAAxkBAAIBZ2", "file_unique_id": "AgADZ2", "file_name": "decreto.pdf",
            "mime_type": "application/pdf", "file_size": 48213
        }});
        // Before any request: told how to do it.
        w.fake.push_message_with(3500, doc.clone());
        let r = w.reply(3500).await;
        assert!(r.text.contains("Prima scrivi la richiesta"), "{}", r.text);
        let r = w
        .say(
            3500,
            "Serve una mediatrice di lingua araba per un colloquio il 12/03 alle 14.30, durata 2 ore, in presenza a Dalmine",
        )
        .await;
        let r = w.press(&r, "Conferma").await;
        let code = RequestCode::find_in(&r.text).unwrap();
        w.fake.push_message_with(3500, doc);
        let r = w.reply(3500).await;
        assert!(r.text.contains(&code.to_string()), "{}", r.text);
        let req = w.requests_of(op).await.remove(0);
        let trail = w.store().audit_trail(req.id).await.unwrap();
        let attached = trail
            .iter()
            .find(|a| a.action == "document_attached")
            .expect("attached");
        assert!(
            attached
                .detail
                .as_deref()
                .unwrap_or_default()
                .contains("decreto.pdf")
        );
        w.stop().await;
    }
);

/// Waits until the last menu call for `chat` satisfies `want` (menus go out through the outbox).
async fn menu_becomes(
    w: &World,
    chat: i64,
    want: impl Fn(&botapi::MenuCall) -> bool,
) -> Vec<botapi::MenuCall> {
    let t = std::time::Instant::now();
    loop {
        let calls = w.fake.chat_menu_calls(chat);
        if calls.last().is_some_and(&want) {
            return calls;
        }
        assert!(t.elapsed() < WAIT, "menu of {chat} never right: {calls:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn has(menu: &botapi::MenuCall, command: &str, description: &str) -> bool {
    menu.as_ref()
        .is_some_and(|m| m.iter().any(|(c, d)| c == command && d == description))
}

both_backends!(
    an_english_speaker_reads_everything_in_english_beside_italian_speakers,
    |db| async move {
        let mut w = World::new(db).await;
        let now = w.clock.now();
        // An Italian installation: Giulia (operator) and Carla (coordinator) have no language
        // of their own; Samira registers from a phone set to English; Ruth, a coordinator,
        // chose English on the console.
        let op = w.operator("Giulia Rossi", Some(600)).await;
        let samira = w
            .store()
            .add_mediator(
                &NewMediator {
                    name: "Samira Haddad".into(),
                    phone: None,
                    email: None,
                    telegram_id: None,
                    gender: Some(Gender::F),
                    languages: vec![LanguageCode::parse("ar").unwrap()],
                    ambiti: vec![Ambito::parse("Dalmine").unwrap()],
                    availability: None,
                    share_phone: false,
                },
                now,
            )
            .await
            .unwrap()
            .id;
        w.coordinator(620).await;
        let ruth = w.coordinator(621).await;
        w.store()
            .set_language(
                PersonKind::Coordinator,
                ruth,
                Some(connecting::config::Lang::En),
            )
            .await
            .unwrap();
        let code = w
            .store()
            .create_invite(PersonKind::Mediator, samira, now, chrono::Duration::days(7))
            .await
            .unwrap();
        w.fake
            .push_text_speaking(611, &format!("/start {code}"), "en-GB");
        let r = w.reply(611).await;
        assert!(r.text.contains("Welcome, Samira Haddad"), "{}", r.text);
        assert_eq!(
            w.store().mediator(samira).await.unwrap().language,
            Some(connecting::config::Lang::En)
        );
        // Her menu: a mediator's commands, described in English.
        let calls = menu_becomes(&w, 611, |m| has(m, "miei", "My upcoming jobs")).await;
        let menu = calls.last().cloned().flatten().unwrap();
        let names: Vec<&str> = menu.iter().map(|(c, _)| c.as_str()).collect();
        assert!(
            names.contains(&"lingua") && !names.contains(&"nuova"),
            "{names:?}"
        );
        let r = w.say(611, "/aiuto").await;
        assert!(r.text.contains("Offers arrive here"), "{}", r.text);
        assert!(r.text.contains("/lingua"), "{}", r.text);

        // Giulia writes in Italian and reads Italian.
        let r = w
            .say(
                600,
                "Serve una mediatrice di lingua araba per un colloquio il 12/03 alle 14.30, durata 2 ore, in presenza a Dalmine",
            )
            .await;
        assert!(r.text.contains("Lingua: arabo"), "{}", r.text);
        let r = w.press(&r, "Conferma").await;
        let code = RequestCode::find_in(&r.text).unwrap();
        // Samira's offer, in English.
        let offer = w.reply(611).await;
        assert!(offer.text.contains("New request"), "{}", offer.text);
        assert!(offer.text.contains("Arabic"), "{}", offer.text);
        assert!(
            offer.text.contains("Friday 12 March, 14:30"),
            "{}",
            offer.text
        );
        assert_eq!(offer.labels(), vec!["Accept", "Can't"]);
        w.fake.press(&offer, "Accept").unwrap();
        let details = w
            .fake
            .wait_for(611, WAIT, |m| m.text.contains("is yours"))
            .await
            .expect("details");
        assert!(details.text.contains(&code.to_string()), "{}", details.text);
        assert!(details.text.contains("Contact:"), "{}", details.text);
        // Giulia's confirmation, in Italian.
        let confirmation = w.reply(600).await;
        assert!(
            confirmation.text.contains("Samira Haddad")
                && confirmation.text.contains("venerdì 12 marzo"),
            "{}",
            confirmation.text
        );

        // Reminders come in English.
        w.clock
            .set(Utc.with_ymd_and_hms(2027, 3, 12, 11, 45, 0).unwrap());
        let dispatcher = connecting::dispatch::engine::Dispatcher::new(
            w.store().clone(),
            Arc::new(w.clock.clone()),
            Default::default(),
            connecting::renderers::channels(),
        );
        dispatcher.run_due_timers().await.unwrap();
        let reminder = w
            .fake
            .wait_for(611, WAIT, |m| m.text.contains("Reminder:"))
            .await
            .expect("reminder");
        assert!(
            reminder.text.contains(&code.to_string()),
            "{}",
            reminder.text
        );

        // An alert: a request nobody can take. Ruth reads it in English, Carla in Italian.
        let r = w
            .say(
                600,
                "Serve un mediatore urdu per un colloquio il 15/03 alle 10, durata 1 ora, in presenza a Dalmine",
            )
            .await;
        w.press(&r, "Conferma").await;
        let en = w
            .fake
            .wait_for(621, WAIT, |m| m.text.contains("no mediator available"))
            .await;
        assert!(en.is_some(), "{:?}", w.fake.sent_to(621));
        let it = w
            .fake
            .wait_for(620, WAIT, |m| m.text.contains("nessun mediatore"))
            .await;
        assert!(it.is_some(), "{:?}", w.fake.sent_to(620));

        // /lingua: Samira switches to Italian; the bot and her menu follow.
        w.fake.push_text(611, "/lingua");
        let r = w
            .fake
            .wait_for(611, WAIT, |m| m.text.contains("Which language"))
            .await
            .expect("the question, in English");
        assert_eq!(r.labels(), vec!["Italiano", "English"]);
        let r = w.press(&r, "Italiano").await;
        assert!(r.text.contains("ti scrivo in italiano"), "{}", r.text);
        menu_becomes(&w, 611, |m| has(m, "miei", "I miei prossimi incarichi")).await;
        let r = w.say(611, "/aiuto").await;
        assert!(r.text.contains("Qui ricevi le offerte"), "{}", r.text);
        let _ = op;
        w.stop().await;
    }
);

both_backends!(menus_follow_a_role_change_and_a_removal, |db| async move {
    let mut w = World::new(db).await;
    let now = w.clock.now();
    let op = w.operator("Giulia Rossi", None).await;
    let code = w
        .store()
        .create_invite(PersonKind::Operator, op, now, chrono::Duration::days(7))
        .await
        .unwrap();
    let r = w.say(640, &format!("/start {code}")).await;
    assert!(r.text.contains("Giulia Rossi"), "{}", r.text);
    // Registered: an operator's menu, in Italian (her Telegram says "it").
    menu_becomes(&w, 640, |m| {
        has(m, "nuova", "Nuova richiesta di mediazione")
    })
    .await;
    // Strangers see /start only.
    assert_eq!(
        w.fake
            .commands()
            .into_iter()
            .map(|(c, _)| c)
            .collect::<Vec<_>>(),
        vec!["start".to_string()]
    );
    // Made coordinator (what `connecting coordinator add --telegram-id 640` does): the
    // coordinator's menu, without the operator's /nuova.
    w.store()
        .add_coordinator(
            &connecting::store::NewCoordinator {
                name: "Giulia Rossi".into(),
                telegram_id: Some(640),
                email: None,
            },
            now,
        )
        .await
        .unwrap();
    let mut tx = w.store().begin().await.unwrap();
    connecting::app::menu::refresh(&mut tx, 640, connecting::config::Lang::It, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let calls = menu_becomes(&w, 640, |m| has(m, "coda", "Coda delle richieste")).await;
    let last = calls.last().cloned().flatten().unwrap();
    assert!(!last.iter().any(|(c, _)| c == "nuova"), "{last:?}");
    let r = w.say(640, "/aiuto").await;
    assert!(r.text.contains("/coda"), "{}", r.text);

    // A mediator removed (`connecting mediator remove`): her chat's menu is deleted, so
    // she sees only /start, and the bot treats her as a stranger.
    let m = w.mediator("Samira Haddad", 641).await;
    let mut tx = w.store().begin().await.unwrap();
    connecting::app::menu::refresh(&mut tx, 641, connecting::config::Lang::It, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    menu_becomes(&w, 641, |m| has(m, "miei", "I miei prossimi incarichi")).await;
    w.store().set_mediator_active(m, false).await.unwrap();
    let mut tx = w.store().begin().await.unwrap();
    connecting::app::menu::refresh(&mut tx, 641, connecting::config::Lang::It, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let calls = menu_becomes(&w, 641, Option::is_none).await;
    assert_eq!(calls.len(), 2, "{calls:?}");
    let r = w.say(641, "/miei").await;
    assert!(r.text.contains("codice di invito"), "{}", r.text);
    w.stop().await;
});

both_backends!(
    an_alert_worded_by_a_channel_reaches_each_coordinator_in_their_language,
    |db| async move {
        let mut w = World::new(db).await;
        w.coordinator(650).await;
        let ruth = w.coordinator(651).await;
        w.store()
            .set_language(
                PersonKind::Coordinator,
                ruth,
                Some(connecting::config::Lang::En),
            )
            .await
            .unwrap();
        // Someone guesses invite codes: after five wrong ones the coordinators are alerted.
        for i in 0..5 {
            let r = w.say(652, &format!("/start WRONGCODE{i}")).await;
            assert!(!r.text.is_empty());
        }
        let en = w
            .fake
            .wait_for(651, WAIT, |m| {
                m.text.contains("Possible invite-code guessing")
            })
            .await;
        assert!(en.is_some(), "{:?}", w.fake.sent_to(651));
        let it = w
            .fake
            .wait_for(650, WAIT, |m| m.text.contains("Possibile tentativo"))
            .await;
        assert!(it.is_some(), "{:?}", w.fake.sent_to(650));
        w.stop().await;
    }
);
