//! The console's people pages over HTTP, on SQLite and PostgreSQL (issue 14): a coordinator adds
//! and edits a mediator and an operator (languages typed by name, the reasons of a refusal in
//! words, nothing stored then), imports a CSV file as an Italian spreadsheet saves it (`;`, BOM)
//! — a file with one bad row imports nothing and names the row —, and makes a Telegram invite
//! whose link and QR code the page shows and whose code links the account; and adds, edits,
//! invites and removes a coordinator, with their language, their Telegram menu following. An
//! operator can do none of it; a POST without its CSRF token changes nothing.

#[path = "support/common.rs"]
mod common;
#[path = "support/web.rs"]
mod web;

use chrono::{TimeZone, Utc};
use connecting::clock::ManualClock;
use connecting::domain::{Ambito, PersonKind};
use connecting::store::{ConsoleRole, NewCoordinator, NewOperator, Store, StoreError};
use web::{Console, Login};

fn start() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap()
}

/// A coordinator and one operator (Laura).
async fn staff(store: &Store) -> (i64, i64) {
    let c = store
        .add_coordinator(
            &NewCoordinator {
                name: "Giulia Coordinatrice".into(),
                telegram_id: Some(9001),
                email: None,
            },
            start(),
        )
        .await
        .unwrap()
        .id;
    let o = store
        .add_operator(
            &NewOperator {
                name: "Laura Rossi".into(),
                email: Some("laura@comune-dalmine.example".into()),
                phone: None,
                ente: "Comune di Dalmine".into(),
                ambito: Ambito::parse("Dalmine").unwrap(),
                telegram_id: None,
            },
            start(),
        )
        .await
        .unwrap()
        .id;
    (c, o)
}

/// Posts a multipart form with text fields and one file `file`, as a browser's upload does.
async fn upload(
    console: &Console,
    path: &str,
    login: Option<&Login>,
    fields: &[(&str, &str)],
    file: &[u8],
) -> web::Page {
    let boundary = "----connectingTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"persone.csv\"\r\nContent-Type: text/csv\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let mut rq = console
        .http
        .post(console.url(path))
        .header(
            "content-type",
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body);
    if let Some(l) = login {
        rq = rq.header("cookie", &l.cookie);
    }
    let resp = rq.send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    web::Page {
        status,
        body: resp.text().await.unwrap_or_default(),
        headers,
    }
}

fn location(p: &web::Page) -> String {
    p.headers
        .get("location")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

both_backends!(
    a_coordinator_adds_and_edits_people_in_words,
    |db| async move {
        let (coordinator, _) = staff(&db.store).await;
        let console = Console::start(db.store.clone(), ManualClock::new(start()), false).await;
        let login = console.login(ConsoleRole::Coordinator, coordinator).await;

        let form = console.get("/people/mediators/new", Some(&login)).await;
        assert_eq!(form.status, 200, "{}", form.body);
        assert!(form.body.contains("Nuovo mediatore"), "{}", form.body);

        // Languages by name, two Ambiti ticked.
        let added = console
            .post(
                "/people/mediators",
                Some(&login),
                &[
                    ("csrf", &login.csrf),
                    ("name", "Fatima Zahra"),
                    ("languages", "arabo, francese"),
                    ("ambiti", "Dalmine"),
                    ("ambiti", "Seriate"),
                    ("gender", "f"),
                    ("phone", "+39 333 2000002"),
                    ("availability", "lun-ven 08:00-18:00"),
                    ("share_phone", "1"),
                ],
            )
            .await;
        assert_eq!(added.status, 303, "{}", added.body);
        assert_eq!(location(&added), "/people?outcome=added");
        let ms = db.store.mediators().await.unwrap();
        let fatima = ms.iter().find(|m| m.name == "Fatima Zahra").expect("added");
        let codes: Vec<&str> = fatima.languages.iter().map(|l| l.as_str()).collect();
        assert_eq!(codes, vec!["ar", "fr"]);
        let ambiti: Vec<&str> = fatima.ambiti.iter().map(|a| a.name()).collect();
        assert_eq!(ambiti, vec!["Dalmine", "Seriate"]);
        assert!(fatima.share_phone && fatima.active && !fatima.paused);

        let list = console.get("/people?outcome=added", Some(&login)).await;
        assert!(list.body.contains("Persona aggiunta."), "{}", list.body);
        assert!(list.body.contains("arabo, francese"), "{}", list.body);
        assert!(
            list.body
                .contains(&format!("href=\"/people/mediators/{}\"", fatima.id)),
            "{}",
            list.body
        );

        // The edit form shows the languages in words; a change pauses her and sets Tigrinya.
        let edit_path = format!("/people/mediators/{}", fatima.id);
        let edit = console.get(&edit_path, Some(&login)).await;
        assert_eq!(edit.status, 200);
        assert!(
            edit.body.contains("value=\"arabo, francese\""),
            "{}",
            edit.body
        );
        let saved = console
            .post(
                &edit_path,
                Some(&login),
                &[
                    ("csrf", &login.csrf),
                    ("name", "Fatima Zahra"),
                    ("languages", "tigrino"),
                    ("ambiti", "Dalmine"),
                    ("paused", "1"),
                    ("active", "1"),
                ],
            )
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        let after = db.store.mediator(fatima.id).await.unwrap();
        assert_eq!(after.languages[0].as_str(), "ti");
        assert!(after.paused && after.active && !after.share_phone);

        // A language nobody knows: the form comes back with what was typed and the reason;
        // nothing changes.
        let refused = console
            .post(
                &edit_path,
                Some(&login),
                &[
                    ("csrf", &login.csrf),
                    ("name", "Fatima Zahra"),
                    ("languages", "klingon"),
                    ("ambiti", "Dalmine"),
                    ("active", "1"),
                ],
            )
            .await;
        assert_eq!(refused.status, 422, "{}", refused.body);
        assert!(refused.body.contains("Non salvato"), "{}", refused.body);
        assert!(refused.body.contains("Lingue"), "{}", refused.body);
        assert!(refused.body.contains("klingon"), "{}", refused.body);
        assert_eq!(
            db.store.mediator(fatima.id).await.unwrap().languages[0].as_str(),
            "ti"
        );

        // No Ambito at all: named in words.
        let no_ambito = console
            .post(
                "/people/mediators",
                Some(&login),
                &[
                    ("csrf", &login.csrf),
                    ("name", "Senza Ambito"),
                    ("languages", "urdu"),
                ],
            )
            .await;
        assert_eq!(no_ambito.status, 422);
        assert!(
            no_ambito.body.contains("Ambiti: manca, è obbligatorio."),
            "{}",
            no_ambito.body
        );
        assert_eq!(db.store.mediators().await.unwrap().len(), 1);

        // An operator: added, then a second one with the same email is refused in words.
        let op = [
            ("csrf", login.csrf.as_str()),
            ("name", "Paolo Verdi"),
            ("email", "Paolo.Verdi@comune-seriate.example"),
            ("ente", "Comune di Seriate"),
            ("ambito", "Seriate"),
        ];
        let added = console.post("/people/operators", Some(&login), &op).await;
        assert_eq!(added.status, 303, "{}", added.body);
        let paolo = db
            .store
            .operator_by_email("paolo.verdi@comune-seriate.example")
            .await
            .unwrap()
            .expect("added, email lower-cased");
        assert_eq!(paolo.ambito.name(), "Seriate");
        let twice = console.post("/people/operators", Some(&login), &op).await;
        assert_eq!(twice.status, 422, "{}", twice.body);
        assert!(twice.body.contains("Esiste già"), "{}", twice.body);
        assert_eq!(db.store.operators().await.unwrap().len(), 2);

        // Deactivated by an edit (the box unticked).
        let off = console
            .post(
                &format!("/people/operators/{}", paolo.id),
                Some(&login),
                &[
                    ("csrf", &login.csrf),
                    ("name", "Paolo Verdi"),
                    ("email", "paolo.verdi@comune-seriate.example"),
                    ("ente", "Comune di Seriate"),
                    ("ambito", "Seriate"),
                ],
            )
            .await;
        assert_eq!(off.status, 303, "{}", off.body);
        assert!(!db.store.operator(paolo.id).await.unwrap().active);
    }
);

both_backends!(a_csv_imports_all_its_rows_or_none, |db| async move {
    let (coordinator, _) = staff(&db.store).await;
    let console = Console::start(db.store.clone(), ManualClock::new(start()), false).await;
    let login = console.login(ConsoleRole::Coordinator, coordinator).await;

    // The template: the header line, as a spreadsheet opens it (UTF-8 with BOM).
    let (status, bytes) = console
        .get_bytes("/people/template/mediators.csv", Some(&login))
        .await;
    assert_eq!(status, 200);
    let header = String::from_utf8(bytes).unwrap();
    assert!(
        header.starts_with("\u{feff}name,languages,ambiti"),
        "{header:?}"
    );
    let (status, _) = console
        .get_bytes("/people/template/mediators.csv", None)
        .await;
    assert_eq!(status, 401, "no download without a session");

    // As LibreOffice or Excel save it in Italy: BOM, semicolons.
    let bad = "\u{feff}name;languages;ambiti;gender\nAmina Benali;ar;Dalmine;f\nBoris Ivanov;;Seriate;m\nChen Li;zh;Atlantide;\n";
    let page = upload(
        &console,
        "/people/import",
        Some(&login),
        &[("csrf", &login.csrf), ("kind", "mediators")],
        bad.as_bytes(),
    )
    .await;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("Riga 3: Lingue: manca"), "{}", page.body);
    assert!(page.body.contains("Riga 4: Ambiti"), "{}", page.body);
    assert!(
        page.body
            .contains("«Atlantide» non è valido (uno dei 14 Ambiti: Bergamo"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("Non è stato importato niente"),
        "{}",
        page.body
    );
    assert!(db.store.mediators().await.unwrap().is_empty());

    // Without its CSRF token: refused, nothing imported.
    let good = "\u{feff}name;languages;ambiti;gender\nAmina Benali;ar;Dalmine;f\nBoris Ivanov;ru|uk;Seriate;m\n";
    let forged = upload(
        &console,
        "/people/import",
        Some(&login),
        &[("kind", "mediators")],
        good.as_bytes(),
    )
    .await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(db.store.mediators().await.unwrap().is_empty());

    let done = upload(
        &console,
        "/people/import",
        Some(&login),
        &[("csrf", &login.csrf), ("kind", "mediators")],
        good.as_bytes(),
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(location(&done), "/people?outcome=imported&count=2");
    let names: Vec<String> = db
        .store
        .mediators()
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, vec!["Amina Benali", "Boris Ivanov"]);
    let shown = console.get(&location(&done), Some(&login)).await;
    assert!(
        shown
            .body
            .contains("Importazione completata: 2 persone aggiunte."),
        "{}",
        shown.body
    );

    // Operators, comma-separated; a file that is not text is named as such.
    let ops = "name,email,ente,ambito\nSara Neri,sara@comune-treviglio.example,Comune di Treviglio,Treviglio\n";
    let done = upload(
        &console,
        "/people/import",
        Some(&login),
        &[("csrf", &login.csrf), ("kind", "operators")],
        ops.as_bytes(),
    )
    .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert!(
        db.store
            .operator_by_email("sara@comune-treviglio.example")
            .await
            .unwrap()
            .is_some()
    );
    let binary = upload(
        &console,
        "/people/import",
        Some(&login),
        &[("csrf", &login.csrf), ("kind", "operators")],
        &[0xff, 0xfe, 0x00, 0x41, 0x80],
    )
    .await;
    assert_eq!(binary.status, 422);
    assert!(binary.body.contains("non è un CSV"), "{}", binary.body);
    assert_eq!(db.store.operators().await.unwrap().len(), 2);
});

both_backends!(
    an_invite_shows_its_link_and_qr_code_and_links_the_account,
    |db| async move {
        let (coordinator, _) = staff(&db.store).await;
        let console = Console::start(db.store.clone(), ManualClock::new(start()), false).await;
        let login = console.login(ConsoleRole::Coordinator, coordinator).await;
        let added = console
            .post(
                "/people/mediators",
                Some(&login),
                &[
                    ("csrf", &login.csrf),
                    ("name", "Amina Benali"),
                    ("languages", "arabo"),
                    ("ambiti", "Dalmine"),
                ],
            )
            .await;
        assert_eq!(added.status, 303);
        let amina = db.store.mediators().await.unwrap().remove(0);
        let edit = console
            .get(&format!("/people/mediators/{}", amina.id), Some(&login))
            .await;
        assert!(
            edit.body
                .contains(&format!("action=\"/people/mediators/{}/invite\"", amina.id)),
            "{}",
            edit.body
        );

        let page = console
            .post(
                &format!("/people/mediators/{}/invite", amina.id),
                Some(&login),
                &[("csrf", &login.csrf)],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("Invito per Amina Benali"),
            "{}",
            page.body
        );
        let prefix = "https://t.me/coop_test_bot?start=";
        let at = page.body.find(prefix).expect("the t.me link");
        let code: String = page.body[at + prefix.len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        assert!(!code.is_empty());
        assert!(page.body.contains("<svg"), "the QR code is drawn inline");
        assert!(
            page.body
                .contains("aria-label=\"Codice QR del link d&#39;invito\"")
                || page
                    .body
                    .contains("aria-label=\"Codice QR del link d'invito\""),
            "{}",
            page.body
        );
        // The code is the one the bot redeems: it links the Telegram account, once.
        let linked = db
            .store
            .redeem_invite(&code, 5551, start())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(linked.kind, PersonKind::Mediator);
        assert_eq!(linked.person_id, amina.id);
        assert_eq!(
            db.store.mediator(amina.id).await.unwrap().telegram_id,
            Some(5551)
        );

        // A person who does not exist, a kind that does not exist: not found.
        for path in ["/people/mediators/9999/invite", "/people/robots/1/invite"] {
            let p = console
                .post(path, Some(&login), &[("csrf", &login.csrf)])
                .await;
            assert_eq!(p.status, 404, "{path}: {}", p.body);
        }
        // Without the token: refused.
        let p = console
            .post(
                &format!("/people/mediators/{}/invite", amina.id),
                Some(&login),
                &[],
            )
            .await;
        assert_eq!(p.status, 403);
    }
);

/// The menus the outbox holds for Telegram chat `chat`, oldest first: (role, language).
async fn menus_for(store: &Store, chat: i64) -> Vec<(Option<PersonKind>, String)> {
    store
        .outbox_all()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.payload {
            connecting::outbox::Payload::Telegram(p) if p.chat_id == chat => p.menu,
            _ => None,
        })
        .map(|m| (m.role, m.lang))
        .collect()
}

both_backends!(
    a_coordinator_adds_edits_invites_and_removes_a_coordinator,
    |db| async move {
        let (giulia, _) = staff(&db.store).await;
        let console = Console::start(db.store.clone(), ManualClock::new(start()), false).await;
        let login = console.login(ConsoleRole::Coordinator, giulia).await;

        let list = console.get("/people", Some(&login)).await;
        assert!(
            list.body.contains("href=\"/people/coordinators/new\""),
            "{}",
            list.body
        );
        let form = console.get("/people/coordinators/new", Some(&login)).await;
        assert_eq!(form.status, 200, "{}", form.body);
        assert!(form.body.contains("Nuovo coordinatore"), "{}", form.body);

        // Added with a Telegram account and English: the account's menu becomes a
        // coordinator's, in English.
        let marco = [
            ("csrf", login.csrf.as_str()),
            ("name", "Marco Bianchi"),
            ("email", "Marco.Bianchi@coop.example"),
            ("telegram_id", "7002"),
            ("language", "en"),
        ];
        let added = console
            .post("/people/coordinators", Some(&login), &marco)
            .await;
        assert_eq!(added.status, 303, "{}", added.body);
        assert_eq!(location(&added), "/people?outcome=added");
        let cs = db.store.coordinators().await.unwrap();
        let m = cs
            .iter()
            .find(|c| c.name == "Marco Bianchi")
            .expect("added");
        assert_eq!(m.email.as_deref(), Some("marco.bianchi@coop.example"));
        assert_eq!(m.telegram_id, Some(7002));
        assert_eq!(m.language, Some(connecting::config::Lang::En));
        assert_eq!(
            menus_for(&db.store, 7002).await,
            vec![(Some(PersonKind::Coordinator), "en".to_string())]
        );
        let list = console.get("/people?outcome=added", Some(&login)).await;
        assert!(list.body.contains("Persona aggiunta."), "{}", list.body);
        assert!(
            list.body
                .contains(&format!("href=\"/people/coordinators/{}\"", m.id)),
            "{}",
            list.body
        );

        // The same Telegram account twice, an address that is not one: refused in words,
        // with what was typed; nothing stored.
        let twice = console
            .post("/people/coordinators", Some(&login), &marco)
            .await;
        assert_eq!(twice.status, 422, "{}", twice.body);
        assert!(twice.body.contains("Esiste già"), "{}", twice.body);
        let bad = console
            .post(
                "/people/coordinators",
                Some(&login),
                &[
                    ("csrf", &login.csrf),
                    ("name", "Senza Posta"),
                    ("email", "senza-chiocciola"),
                ],
            )
            .await;
        assert_eq!(bad.status, 422, "{}", bad.body);
        assert!(bad.body.contains("Non salvato"), "{}", bad.body);
        assert!(bad.body.contains("senza-chiocciola"), "{}", bad.body);
        assert_eq!(db.store.coordinators().await.unwrap().len(), 2);

        // The edit form shows what is stored; unlinking the account and going back to the
        // default language: the old account's menu is deleted (only /start).
        let edit_path = format!("/people/coordinators/{}", m.id);
        let edit = console.get(&edit_path, Some(&login)).await;
        assert_eq!(edit.status, 200, "{}", edit.body);
        assert!(edit.body.contains("Modifica coordinatore"), "{}", edit.body);
        assert!(edit.body.contains("value=\"7002\""), "{}", edit.body);
        assert!(
            edit.body.contains("<option value=\"en\" selected>"),
            "{}",
            edit.body
        );
        assert!(
            edit.body
                .contains(&format!("action=\"/people/coordinators/{}/invite\"", m.id)),
            "{}",
            edit.body
        );
        let saved = console
            .post(
                &edit_path,
                Some(&login),
                &[
                    ("csrf", &login.csrf),
                    ("name", "Marco Bianchi Rota"),
                    ("email", "marco.bianchi@coop.example"),
                    ("telegram_id", ""),
                    ("language", ""),
                ],
            )
            .await;
        assert_eq!(saved.status, 303, "{}", saved.body);
        let after = db.store.coordinator(m.id).await.unwrap();
        assert_eq!(after.name, "Marco Bianchi Rota");
        assert_eq!((after.telegram_id, after.language), (None, None));
        assert_eq!(
            menus_for(&db.store, 7002).await.last().cloned(),
            Some((None, "it".to_string()))
        );

        // The invite: its link and QR code; the code links his new account as a coordinator's.
        let page = console
            .post(
                &format!("/people/coordinators/{}/invite", m.id),
                Some(&login),
                &[("csrf", &login.csrf)],
            )
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(
            page.body.contains("Invito per Marco Bianchi Rota"),
            "{}",
            page.body
        );
        assert!(page.body.contains("<svg"), "the QR code is drawn inline");
        let prefix = "https://t.me/coop_test_bot?start=";
        let at = page.body.find(prefix).expect("the t.me link");
        let code: String = page.body[at + prefix.len()..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        let linked = db.store.redeem_invite(&code, 7003, start()).await.unwrap();
        assert_eq!(
            (linked.kind, linked.person_id),
            (PersonKind::Coordinator, m.id)
        );

        // Removed: no longer listed, his session and his account let him in nowhere, his
        // account's menu is deleted; history kept.
        let his = console.login(ConsoleRole::Coordinator, m.id).await;
        assert_eq!(console.get("/", Some(&his)).await.status, 200);
        let remove = format!("/people/coordinators/{}/remove", m.id);
        assert_eq!(console.post(&remove, Some(&login), &[]).await.status, 403);
        assert_eq!(db.store.coordinators().await.unwrap().len(), 2);
        let gone = console
            .post(&remove, Some(&login), &[("csrf", &login.csrf)])
            .await;
        assert_eq!(gone.status, 303, "{}", gone.body);
        assert_eq!(location(&gone), "/people?outcome=removed");
        assert!(matches!(
            db.store.coordinator(m.id).await,
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(console.get("/", Some(&his)).await.status, 401);
        assert_eq!(
            menus_for(&db.store, 7003).await.last().cloned(),
            Some((None, "it".to_string()))
        );
        assert_eq!(console.get(&edit_path, Some(&login)).await.status, 404);
        let list = console.get("/people?outcome=removed", Some(&login)).await;
        assert!(list.body.contains("tolta dal servizio"), "{}", list.body);
        assert!(!list.body.contains("Marco Bianchi"), "{}", list.body);

        // The last coordinator in service stays, and the page says why.
        let last = console
            .post(
                &format!("/people/coordinators/{giulia}/remove"),
                Some(&login),
                &[("csrf", &login.csrf)],
            )
            .await;
        assert_eq!(last.status, 422, "{}", last.body);
        assert!(
            last.body.contains("ultimo coordinatore in servizio"),
            "{}",
            last.body
        );
        assert_eq!(db.store.coordinators().await.unwrap().len(), 1);
        assert_eq!(console.get("/", Some(&login)).await.status, 200);
    }
);

both_backends!(an_operator_manages_nobody, |db| async move {
    let (_, laura) = staff(&db.store).await;
    let console = Console::start(db.store.clone(), ManualClock::new(start()), false).await;
    let login = console.login(ConsoleRole::Operator, laura).await;
    for path in [
        "/people",
        "/people/mediators/new",
        "/people/operators/new",
        "/people/coordinators/new",
        "/people/coordinators/1",
    ] {
        assert_eq!(console.get(path, Some(&login)).await.status, 404, "{path}");
    }
    let p = console
        .post(
            "/people/mediators",
            Some(&login),
            &[
                ("csrf", &login.csrf),
                ("name", "Intrusa"),
                ("languages", "arabo"),
                ("ambiti", "Dalmine"),
            ],
        )
        .await;
    assert_eq!(p.status, 404, "{}", p.body);
    let p = console
        .post(
            "/people/coordinators",
            Some(&login),
            &[("csrf", &login.csrf), ("name", "Intruso")],
        )
        .await;
    assert_eq!(p.status, 404, "{}", p.body);
    let p = console
        .post(
            "/people/coordinators/1/remove",
            Some(&login),
            &[("csrf", &login.csrf)],
        )
        .await;
    assert_eq!(p.status, 404, "{}", p.body);
    assert_eq!(db.store.coordinators().await.unwrap().len(), 1);
    let p = upload(
        &console,
        "/people/import",
        Some(&login),
        &[("csrf", &login.csrf), ("kind", "mediators")],
        b"name,languages,ambiti\nIntrusa,ar,Dalmine\n",
    )
    .await;
    assert_eq!(p.status, 404, "{}", p.body);
    assert!(db.store.mediators().await.unwrap().is_empty());
    // And without a session, nothing at all.
    assert_eq!(console.get("/people/mediators/new", None).await.status, 401);
});
