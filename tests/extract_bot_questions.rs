//! The extractor through the bot (the real bot against the local Bot API server, on SQLite and
//! PostgreSQL): hours in words and an abbreviated comune are understood, and a field read with
//! doubt ("giovedì prossimo": this week's or next week's?) is asked about once, in words, before
//! the summary is offered for confirmation. "sì" keeps the reading; another date replaces it.
//! A nationality instead of a language is asked about in words, the language with its Italian
//! article ("la lingua è l'arabo marocchino, giusto?"), and "sì" takes that language.
//! What the operator corrects (another value for a doubted field, a Modifica) is kept as a
//! correction without personal data, for `connecting parse --eval-corrections`.

#[path = "support/botapi.rs"]
mod botapi;
#[path = "support/common.rs"]
mod common;
#[path = "support/world.rs"]
mod world;

use connecting::domain::RequestCode;
use world::World;

const REQUEST: &str = "Buongiorno, serve un mediatore arabo per un colloquio giovedì prossimo alle dieci e mezza a Romano di L., durata un'ora, in presenza";

both_backends!(an_unsure_date_is_asked_before_confirming, |db| async move {
    let mut w = World::new(db).await;
    let op = w.operator("Giulia Rossi", Some(600)).await;

    // Monday 1 March: "giovedì prossimo" may be the 4th or the 11th.
    let r = w.say(600, REQUEST).await;
    assert!(r.text.contains("Lingua: arabo"), "{}", r.text);
    assert!(r.text.contains("Ora: 10:30"), "{}", r.text);
    assert!(r.text.contains("Comune: Romano di Lombardia"), "{}", r.text);
    assert!(
        r.text.contains("Ho capito giovedì 4 marzo, 10:30: giusto?"),
        "{}",
        r.text
    );
    assert!(
        r.labels().is_empty(),
        "no confirmation before the answer: {:?}",
        r.labels()
    );

    // The operator meant the week after.
    let r = w.say(600, "no, giovedì 11").await;
    assert!(r.text.contains("Data: 11/03/2027"), "{}", r.text);
    assert!(!r.text.contains("Ho capito giovedì"), "{}", r.text);
    assert_eq!(r.labels(), vec!["Conferma", "Modifica", "Annulla"]);
    let r = w.press(&r, "Conferma").await;
    let code = RequestCode::find_in(&r.text).unwrap_or_else(|| panic!("no code in {}", r.text));
    let q = w.store().request(code).await.expect("the request");
    assert_eq!(q.date, chrono::NaiveDate::from_ymd_opt(2027, 3, 11));
    assert_eq!(q.start_time, chrono::NaiveTime::from_hms_opt(10, 30, 0));
    assert_eq!(q.comune.as_deref(), Some("Romano di Lombardia"));

    // Another request, the same doubt: "sì" keeps this week's Thursday.
    let r = w.say(600, REQUEST).await;
    assert!(r.text.contains("Ho capito giovedì 4 marzo"), "{}", r.text);
    let r = w.say(600, "sì").await;
    assert!(r.text.contains("Data: 04/03/2027"), "{}", r.text);
    assert_eq!(r.labels(), vec!["Conferma", "Modifica", "Annulla"]);
    let r = w.press(&r, "Conferma").await;
    assert!(RequestCode::find_in(&r.text).is_some(), "{}", r.text);
    let dates: Vec<_> = w.requests_of(op).await.iter().map(|q| q.date).collect();
    assert!(
        dates.contains(&chrono::NaiveDate::from_ymd_opt(2027, 3, 4)),
        "{dates:?}"
    );

    // Only the first request corrected what the extractor read (the date): one correction,
    // kept with the text the extractor read and the date the operator gave.
    let kept = w.store().corrections().await.expect("corrections");
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(kept[0].source, "bot_edit");
    assert_eq!(kept[0].corrected, vec!["date".to_string()]);
    assert_eq!(kept[0].expected["date"], "2027-03-11");
    assert!(
        kept[0].text.contains("giovedì prossimo"),
        "{}",
        kept[0].text
    );
    w.stop().await;
});

both_backends!(
    a_modifica_is_kept_as_a_correction_without_personal_data,
    |db| async move {
        let mut w = World::new(db).await;
        w.operator("Giulia Rossi", Some(600)).await;
        let r = w
        .say(
            600,
            "Sono Giulia Rossi, cell 347 1234567: serve una mediatrice urdu per una visita domiciliare martedì 9 marzo alle tre del pomeriggio in via Roma 12 a ponte s. pietro, un'ora",
        )
        .await;
        assert!(r.text.contains("Ora: 15:00"), "{}", r.text);
        assert!(r.text.contains("Comune: Ponte San Pietro"), "{}", r.text);
        let r = w.press(&r, "Modifica").await;
        assert!(r.labels().is_empty(), "{:?}", r.labels());
        let r = w.say(600, "alle 16.30").await;
        assert!(r.text.contains("Ora: 16:30"), "{}", r.text);
        let r = w.press(&r, "Conferma").await;
        assert!(RequestCode::find_in(&r.text).is_some(), "{}", r.text);
        let kept = w.store().corrections().await.expect("corrections");
        assert_eq!(kept.len(), 1, "{kept:?}");
        assert_eq!(kept[0].source, "bot_edit");
        assert_eq!(kept[0].expected["start"], "16:30");
        assert!(
            kept[0].corrected.contains(&"start".to_string()),
            "{:?}",
            kept[0].corrected
        );
        // Names, phones and street addresses never reach the corrections.
        let t = &kept[0].text;
        assert!(
            !t.contains("Rossi") && !t.contains("1234567") && !t.contains("Roma 12"),
            "{t}"
        );
        w.stop().await;
    }
);

both_backends!(
    a_nationality_is_asked_about_with_the_language_s_article,
    |db| async move {
        let mut w = World::new(db).await;
        w.operator("Giulia Rossi", Some(600)).await;
        let r = w
            .say(
                600,
                "Serve un mediatore per un colloquio con una famiglia marocchina giovedì 11 marzo alle 10 a Seriate, un'ora",
            )
            .await;
        // The rendered question names the language with its article, in words.
        assert!(
            r.text
                .contains("«marocchina» è una nazionalità, non una lingua: la lingua è l'arabo marocchino, giusto?"),
            "{}",
            r.text
        );
        assert!(!r.text.contains("il arabo"), "{}", r.text);
        assert!(r.labels().is_empty(), "{:?}", r.labels());
        let r = w.say(600, "sì").await;
        assert!(r.text.contains("Lingua: arabo marocchino"), "{}", r.text);
        assert_eq!(r.labels(), vec!["Conferma", "Modifica", "Annulla"]);
        w.stop().await;
    }
);
