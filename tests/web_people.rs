//! The console's people pages over HTTP, on SQLite and PostgreSQL (issue 14): a coordinator adds
//! and edits a mediator and an operator (languages typed by name, the reasons of a refusal in
//! words, nothing stored then), imports a CSV file as an Italian spreadsheet saves it (`;`, BOM)
//! — a file with one bad row imports nothing and names the row —, and makes a Telegram invite
//! whose link and QR code the page shows and whose code links the account. An operator can do
//! none of it; a POST without its CSRF token changes nothing.

#[path = "support/common.rs"]
mod common;
#[path = "support/web.rs"]
mod web;

use chrono::{TimeZone, Utc};
use connecting::clock::ManualClock;
use connecting::domain::{Ambito, PersonKind};
use connecting::store::{ConsoleRole, NewCoordinator, NewOperator, Store};
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

both_backends!(an_operator_manages_nobody, |db| async move {
    let (_, laura) = staff(&db.store).await;
    let console = Console::start(db.store.clone(), ManualClock::new(start()), false).await;
    let login = console.login(ConsoleRole::Operator, laura).await;
    for path in ["/people", "/people/mediators/new", "/people/operators/new"] {
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
