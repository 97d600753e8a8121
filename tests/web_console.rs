//! The web console over HTTP, on SQLite and PostgreSQL (issue 14): the real router on a real
//! database with a manual clock, read as a browser would (status codes, cookies, the words on
//! the page). Security: no page or download without a session; a used or expired link opens
//! nothing; sessions end when idle and at log-out; a POST without its CSRF token is refused
//! (403) and changes nothing; an operator cannot open another operator's request by URL;
//! hostile names and texts show as text; cookies carry their flags. Function: the queue in
//! words with what needs a person marked, a correction kept for the extractor's evaluation,
//! assignment by hand (the mediator's details go out on Telegram), the month's CSV for Italian
//! spreadsheets and its XLSX, `connecting console link`.

#[path = "support/builders.rs"]
mod builders;
#[path = "support/common.rs"]
mod common;
#[path = "support/web.rs"]
mod web;

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use connecting::clock::{Clock, ManualClock};
use connecting::domain::payload::Payload;
use connecting::domain::{
    Ambito, Channel, InterventionType, LanguageCode, Modality, RequestStatus,
};
use connecting::store::{
    ConsoleRole, NewCoordinator, NewInbound, NewMediator, NewOperator, NewRequest, Request, Store,
};
use web::Console;

const MEDIATOR_CHAT: i64 = 1001;
const HOSTILE_NAME: &str = "<script>alert('nome')</script> O'Brien";
const HOSTILE_NOTES: &str = "<img src=x onerror=alert(1)> & \"note\"";

struct People {
    coordinator: i64,
    laura: i64,
    marco: i64,
    amina: i64,
}

fn start() -> chrono::DateTime<Utc> {
    // Monday 1 March 2027, 09:00 in Bergamo.
    Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap()
}

async fn people(store: &Store) -> People {
    let now = start();
    let coordinator = store
        .add_coordinator(
            &NewCoordinator {
                name: "Giulia Coordinatrice".into(),
                telegram_id: Some(9001),
                email: None,
            },
            now,
        )
        .await
        .unwrap()
        .id;
    let op = |name: &str, email: &str| NewOperator {
        name: name.into(),
        email: Some(email.into()),
        phone: None,
        ente: "Comune di Dalmine".into(),
        ambito: Ambito::parse("Dalmine").unwrap(),
        telegram_id: None,
    };
    let laura = store
        .add_operator(&op("Laura Rossi", "laura@comune-dalmine.example"), now)
        .await
        .unwrap()
        .id;
    let marco = store
        .add_operator(&op("Marco Bianchi", "marco@comune-dalmine.example"), now)
        .await
        .unwrap()
        .id;
    let amina = store
        .add_mediator(
            &NewMediator {
                name: "Amina Benali".into(),
                phone: Some("+39 333 1000001".into()),
                email: None,
                telegram_id: Some(MEDIATOR_CHAT),
                gender: Some("f".parse().unwrap()),
                languages: vec![LanguageCode::parse("ar").unwrap()],
                ambiti: vec![Ambito::parse("Dalmine").unwrap()],
                availability: None,
                share_phone: true,
            },
            now,
        )
        .await
        .unwrap()
        .id;
    People {
        coordinator,
        laura,
        marco,
        amina,
    }
}

async fn request_of(store: &Store, operator: i64, status: RequestStatus, name: &str) -> Request {
    let date = NaiveDate::from_ymd_opt(2027, 3, 12).unwrap();
    let start_time = NaiveTime::from_hms_opt(10, 0, 0).unwrap();
    store
        .create_request(
            &NewRequest {
                status: Some(status),
                channel: Some(Channel::Email),
                operator_id: Some(operator),
                requester_name: Some(name.into()),
                requester_email: None,
                ente: Some("Comune di Dalmine".into()),
                ambito: Some(Ambito::parse("Dalmine").unwrap()),
                language: Some(LanguageCode::parse("ar").unwrap()),
                intervention: Some(InterventionType::Colloquio),
                modality: Some(Modality::InPerson),
                date: Some(date),
                start_time: Some(start_time),
                duration_minutes: Some(60),
                starts_at: Some(Utc.with_ymd_and_hms(2027, 3, 12, 9, 0, 0).unwrap()),
                ends_at: Some(Utc.with_ymd_and_hms(2027, 3, 12, 10, 0, 0).unwrap()),
                comune: Some("Dalmine".into()),
                address: Some("Via Roma 1".into()),
                notes: Some(HOSTILE_NOTES.into()),
                ..Default::default()
            },
            start(),
        )
        .await
        .unwrap()
}

async fn console(db: &common::TestDb) -> Console {
    Console::start(db.store.clone(), ManualClock::new(start()), false).await
}

both_backends!(no_page_or_download_without_a_session, |db| async move {
    let p = people(&db.store).await;
    let r = request_of(&db.store, p.laura, RequestStatus::Queued, "Laura Rossi").await;
    let c = console(&db).await;
    for path in [
        "/".to_string(),
        "/queue/rows".into(),
        format!("/requests/{}", r.code),
        "/reports".into(),
        "/reports/2027-03".into(),
        "/reports/2027-03.csv".into(),
        "/reports/2027-03.xlsx".into(),
    ] {
        let page = c.get(&path, None).await;
        assert_eq!(page.status, 401, "{path}");
        assert!(page.body.contains("/console"), "{path}: says how to log in");
        assert!(!page.body.contains("Via Roma"), "{path}: no detail");
        assert!(!page.body.contains(&r.code.to_string()), "{path}");
    }
    // A made-up cookie is no session either.
    let fake = web::Login {
        cookie: format!("{}={}", connecting::web::SESSION_COOKIE, "a".repeat(64)),
        csrf: String::new(),
    };
    assert_eq!(c.get("/", Some(&fake)).await.status, 401);
    let cancel = c
        .post(
            &format!("/requests/{}/cancel", r.code),
            Some(&fake),
            &[("csrf", "x")],
        )
        .await;
    assert_eq!(cancel.status, 401);
    assert_eq!(
        db.store.request(r.code).await.unwrap().status,
        RequestStatus::Queued
    );
    // The health check needs none.
});

both_backends!(
    a_link_opens_one_session_once_and_never_after_it_expired,
    |db| async move {
        let p = people(&db.store).await;
        let c = console(&db).await;
        let link = c.link(ConsoleRole::Coordinator, p.coordinator).await;
        // Opening the link (a person, a link preview, a mail scanner) spends nothing: it shows
        // one button, and only its press opens a session.
        for _ in 0..2 {
            let page = c.get(&link, None).await;
            assert_eq!(page.status, 200, "{}", page.body);
            assert!(page.set_cookie().is_none());
            assert!(page.body.contains("Entra nella console"), "{}", page.body);
        }
        // A press from another site's page is refused and spends nothing.
        let forged = c
            .http
            .post(c.url(&link))
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .unwrap();
        assert_eq!(forged.status().as_u16(), 403);
        assert!(forged.headers().get("set-cookie").is_none());
        let first = c.post(&link, None, &[]).await;
        assert_eq!(first.status, 303);
        let cookie = first.set_cookie().unwrap();
        assert!(
            cookie.starts_with(connecting::web::SESSION_COOKIE),
            "{cookie}"
        );
        for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
            assert!(cookie.contains(flag), "{flag} in {cookie}");
        }
        assert!(
            !cookie.contains("Secure"),
            "plain http on loopback: {cookie}"
        );
        // Used: it opens nothing, and says so in words.
        let again = c.get(&link, None).await;
        assert_eq!(again.status, 403);
        assert!(again.set_cookie().is_none());
        assert!(again.body.contains("già stato usato"), "{}", again.body);
        let again = c.post(&link, None, &[]).await;
        assert_eq!(again.status, 403);
        assert!(again.set_cookie().is_none());
        // Expired: ten minutes and one second later.
        let late = c.link(ConsoleRole::Coordinator, p.coordinator).await;
        c.clock
            .advance(Duration::minutes(10) + Duration::seconds(1));
        let page = c.get(&late, None).await;
        assert_eq!(page.status, 403);
        assert!(page.set_cookie().is_none());
        let page = c.post(&late, None, &[]).await;
        assert_eq!(page.status, 403);
        assert!(page.set_cookie().is_none());
        // A link that was never made.
        assert_eq!(
            c.get(&format!("/login/{}", "0".repeat(64)), None)
                .await
                .status,
            403
        );
        assert_eq!(c.get("/login/../../etc/passwd", None).await.status, 404);
        // At most five links an hour for one person.
        let store = &db.store;
        let now = c.clock.now();
        let mut given = 0;
        for _ in 0..8 {
            if store
                .issue_console_link(ConsoleRole::Coordinator, p.coordinator, now)
                .await
                .unwrap()
                .is_some()
            {
                given += 1;
            }
        }
        assert_eq!(given, 3, "two were given in this hour already");
        c.clock.advance(Duration::minutes(61));
        assert!(
            store
                .issue_console_link(ConsoleRole::Coordinator, p.coordinator, c.clock.now())
                .await
                .unwrap()
                .is_some()
        );
    }
);

both_backends!(secure_cookies_for_an_https_console, |db| async move {
    let p = people(&db.store).await;
    let c = Console::start(db.store.clone(), ManualClock::new(start()), true).await;
    let link = c.link(ConsoleRole::Coordinator, p.coordinator).await;
    let cookie = c.post(&link, None, &[]).await.set_cookie().unwrap();
    assert!(cookie.contains("; Secure"), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
});

both_backends!(sessions_end_when_idle_and_at_log_out, |db| async move {
    let p = people(&db.store).await;
    let c = console(&db).await;
    let s = c.login(ConsoleRole::Coordinator, p.coordinator).await;
    c.clock.advance(Duration::minutes(29));
    assert_eq!(
        c.get("/", Some(&s)).await.status,
        200,
        "used within the idle time"
    );
    // The open page's live refresh does not keep it alive.
    for _ in 0..3 {
        c.clock.advance(Duration::minutes(8));
        assert_eq!(c.get("/queue/rows", Some(&s)).await.status, 200);
    }
    c.clock.advance(Duration::minutes(7));
    assert_eq!(
        c.get("/queue/rows", Some(&s)).await.status,
        401,
        "idle too long"
    );
    assert_eq!(c.get("/", Some(&s)).await.status, 401, "idle too long");
    // Absolute expiry: active all along, still over after twelve hours.
    let s = c.login(ConsoleRole::Coordinator, p.coordinator).await;
    for _ in 0..25 {
        c.clock.advance(Duration::minutes(29));
        let _ = c.get("/", Some(&s)).await;
    }
    assert_eq!(
        c.get("/", Some(&s)).await.status,
        401,
        "twelve hours in all"
    );
    // Log-out needs the CSRF token, then the session opens nothing.
    let s = c.login(ConsoleRole::Coordinator, p.coordinator).await;
    assert_eq!(c.post("/logout", Some(&s), &[]).await.status, 403);
    assert_eq!(c.get("/", Some(&s)).await.status, 200);
    let out = c.post("/logout", Some(&s), &[("csrf", &s.csrf)]).await;
    assert_eq!(out.status, 200);
    assert!(out.set_cookie().unwrap().contains("Max-Age=0"));
    assert_eq!(c.get("/", Some(&s)).await.status, 401);
});

/// A session's last recorded use (seconds), as the store holds it at `now`.
async fn last_seen(store: &Store, login: &web::Login, now: chrono::DateTime<Utc>) -> i64 {
    let token = login
        .cookie
        .split_once('=')
        .map(|(_, v)| v)
        .expect("cookie value");
    let hash = connecting::store::console::hash_token(token);
    let mut tx = store.begin().await.unwrap();
    let (_, seen) = tx
        .console_session(&hash, now, 3600)
        .await
        .unwrap()
        .expect("open");
    tx.rollback().await.unwrap();
    seen
}

both_backends!(
    pages_write_a_session_s_last_use_at_most_every_30_seconds,
    |db| async move {
        let p = people(&db.store).await;
        let c = console(&db).await;
        let s = c.login(ConsoleRole::Coordinator, p.coordinator).await;
        let t0 = last_seen(&db.store, &s, c.clock.now()).await;
        assert_eq!(t0, c.clock.now().timestamp());
        // Pages within 30 seconds read the session and write nothing.
        for _ in 0..3 {
            c.clock.advance(Duration::seconds(9));
            assert_eq!(c.get("/", Some(&s)).await.status, 200);
        }
        assert_eq!(last_seen(&db.store, &s, c.clock.now()).await, t0);
        // The first page 30 seconds after the recorded use moves it.
        c.clock.advance(Duration::seconds(3));
        assert_eq!(c.get("/", Some(&s)).await.status, 200);
        assert_eq!(last_seen(&db.store, &s, c.clock.now()).await, t0 + 30);
        // The live refresh never does.
        c.clock.advance(Duration::minutes(5));
        assert_eq!(c.get("/queue/rows", Some(&s)).await.status, 200);
        assert_eq!(last_seen(&db.store, &s, c.clock.now()).await, t0 + 30);
    }
);

both_backends!(
    a_post_without_its_csrf_token_changes_nothing,
    |db| async move {
        let p = people(&db.store).await;
        let r = request_of(&db.store, p.laura, RequestStatus::Queued, "Laura Rossi").await;
        let c = console(&db).await;
        let s = c.login(ConsoleRole::Coordinator, p.coordinator).await;
        let amina = p.amina.to_string();
        let cancel = format!("/requests/{}/cancel", r.code);
        let assign = format!("/requests/{}/assign", r.code);
        let fields = format!("/requests/{}/fields", r.code);
        for (path, form) in [
            (&cancel, vec![]),
            (&cancel, vec![("csrf", "0000")]),
            (&assign, vec![("mediator_id", amina.as_str())]),
            (&fields, vec![("date", "2027-03-15")]),
        ] {
            let page = c.post(path, Some(&s), &form).await;
            assert_eq!(page.status, 403, "{path} {form:?}");
            assert!(
                page.body.contains("nulla è stato cambiato"),
                "{}",
                page.body
            );
        }
        // Another session's token is not this one's.
        let other = c.login(ConsoleRole::Coordinator, p.coordinator).await;
        assert_ne!(other.csrf, s.csrf);
        let page = c.post(&cancel, Some(&s), &[("csrf", &other.csrf)]).await;
        assert_eq!(page.status, 403);
        let after = db.store.request(r.code).await.unwrap();
        assert_eq!(after.status, RequestStatus::Queued);
        assert_eq!(after.date, r.date);
        assert!(db.store.outbox_for_request(r.id).await.unwrap().is_empty());
        // With it, the cancellation goes through the core and the page says so in words.
        let page = c.post(&cancel, Some(&s), &[("csrf", &s.csrf)]).await;
        assert_eq!(page.status, 303);
        let shown = c
            .get(page.headers["location"].to_str().unwrap(), Some(&s))
            .await;
        assert!(
            shown.body.contains("Richiesta annullata."),
            "{}",
            shown.body
        );
        assert!(shown.body.contains("annullata"));
        assert_eq!(
            db.store.request(r.code).await.unwrap().status,
            RequestStatus::Cancelled
        );
    }
);

both_backends!(an_operator_sees_only_their_own_requests, |db| async move {
    let p = people(&db.store).await;
    let mine = request_of(&db.store, p.laura, RequestStatus::Queued, "Laura Rossi").await;
    let theirs = request_of(&db.store, p.marco, RequestStatus::Queued, "Marco Bianchi").await;
    let c = console(&db).await;
    let laura = c.login(ConsoleRole::Operator, p.laura).await;
    let home = c.get("/", Some(&laura)).await;
    assert!(home.body.contains("Le mie richieste"));
    assert!(home.body.contains(&mine.code.to_string()));
    assert!(
        !home.body.contains(&theirs.code.to_string()),
        "{}",
        home.body
    );
    let rows = c.get("/queue/rows", Some(&laura)).await;
    assert!(!rows.body.contains(&theirs.code.to_string()));
    // By URL: as if it did not exist, and nothing about it shows.
    let page = c
        .get(&format!("/requests/{}", theirs.code), Some(&laura))
        .await;
    assert_eq!(page.status, 404);
    assert!(!page.body.contains("Marco"));
    let own = c
        .get(&format!("/requests/{}", mine.code), Some(&laura))
        .await;
    assert_eq!(own.status, 200);
    assert!(own.body.contains("Via Roma 1"));
    // No assignment, correction or report for an operator; and no cancelling another's.
    let amina = p.amina.to_string();
    for (path, extra) in [
        (
            format!("/requests/{}/assign", mine.code),
            Some(("mediator_id", amina.as_str())),
        ),
        (
            format!("/requests/{}/fields", mine.code),
            Some(("date", "2027-03-20")),
        ),
        (format!("/requests/{}/cancel", theirs.code), None),
    ] {
        let mut form = vec![("csrf", laura.csrf.as_str())];
        form.extend(extra);
        assert_eq!(
            c.post(&path, Some(&laura), &form).await.status,
            404,
            "{path}"
        );
    }
    assert_eq!(c.get("/reports/2027-03", Some(&laura)).await.status, 404);
    assert_eq!(
        c.get("/reports/2027-03.xlsx", Some(&laura)).await.status,
        404
    );
    let r = db.store.request(mine.code).await.unwrap();
    assert_eq!((r.status, r.date), (RequestStatus::Queued, mine.date));
    assert_eq!(
        db.store.request(theirs.code).await.unwrap().status,
        RequestStatus::Queued
    );
    // Every view is in the audit trail, with who looked.
    let trail = db.store.audit_trail(mine.id).await.unwrap();
    assert!(
        trail
            .iter()
            .any(|a| a.action == "viewed" && a.actor == format!("operator:{}", p.laura))
    );
});

both_backends!(hostile_names_and_texts_show_as_text, |db| async move {
    let p = people(&db.store).await;
    let r = request_of(&db.store, p.laura, RequestStatus::NeedsReview, HOSTILE_NAME).await;
    let c = console(&db).await;
    let s = c.login(ConsoleRole::Coordinator, p.coordinator).await;
    for path in [
        "/".to_string(),
        "/queue/rows".into(),
        format!("/requests/{}", r.code),
        format!("/requests/{}?outcome=%3Cscript%3E", r.code),
        "/reports/2027-03".into(),
        "/?language=%3Cscript%3E&ambito=%22%3E%3Cb%3E".into(),
    ] {
        let page = c.get(&path, Some(&s)).await;
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.body.contains("<script>alert"), "{path}");
        assert!(!page.body.contains("<img src=x"), "{path}");
        assert!(!page.body.contains("\"><b>"), "{path}");
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{csp}");
    }
    let page = c.get(&format!("/requests/{}", r.code), Some(&s)).await;
    assert!(
        page.body
            .contains("&lt;script&gt;alert('nome')&lt;/script&gt; O'Brien"),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains("&lt;img src=x onerror=alert(1)&gt; &amp; &quot;note&quot;")
            || page
                .body
                .contains("&lt;img src=x onerror=alert(1)&gt; &amp; \"note\"")
    );
    // What needs a person stands out, in words.
    let home = c.get("/", Some(&s)).await;
    assert!(home.body.contains("class=\"attention\""));
    assert!(home.body.contains("da verificare"));
});

both_backends!(
    a_correction_completes_a_request_and_names_languages_in_words,
    |db| async move {
        let p = people(&db.store).await;
        // A request that came without its date: waiting for information.
        let mut r = request_of(&db.store, p.laura, RequestStatus::NeedsInfo, "Laura Rossi").await;
        let mut fields = NewRequest {
            date: None,
            start_time: None,
            starts_at: None,
            ends_at: None,
            missing: vec!["date".into()],
            ..NewRequest::default()
        };
        fields.status = None;
        fields.language = r.language.clone();
        fields.duration_minutes = r.duration_minutes;
        fields.comune = r.comune.clone();
        fields.intervention = r.intervention;
        fields.modality = r.modality;
        fields.ambito = r.ambito;
        fields.ente = r.ente.clone();
        fields.requester_name = r.requester_name.clone();
        {
            let mut tx = db.store.begin().await.unwrap();
            r = tx
                .update_request_fields(r.id, &fields, start())
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        assert_eq!(r.date, None);
        let c = console(&db).await;
        let s = c.login(ConsoleRole::Coordinator, p.coordinator).await;
        // The correction form names the language in words, never by its code.
        let page = c.get(&format!("/requests/{}", r.code), Some(&s)).await;
        assert!(
            page.body
                .contains(r#"name="language" list="c-languages" autocomplete="off" value="arabo""#),
            "{}",
            page.body
        );
        assert!(!page.body.contains(r#"value="ar""#), "{}", page.body);
        // The coordinator gives the missing date and time: the request is complete and queued.
        let done = c
            .post(
                &format!("/requests/{}/fields", r.code),
                Some(&s),
                &[
                    ("csrf", &s.csrf),
                    ("language", "arabo"),
                    ("date", "2027-03-15"),
                    ("start_time", "11:30"),
                ],
            )
            .await;
        assert_eq!(done.status, 303);
        let after = db.store.request(r.code).await.unwrap();
        assert_eq!(after.date, NaiveDate::from_ymd_opt(2027, 3, 15));
        assert_eq!(
            after.language, r.language,
            "the same language, named in words"
        );
        assert_eq!(after.status, RequestStatus::Queued, "{:?}", after.missing);
        // Another language, named as a social worker would: "urdu".
        let done = c
            .post(
                &format!("/requests/{}/fields", r.code),
                Some(&s),
                &[("csrf", &s.csrf), ("language", "urdu")],
            )
            .await;
        assert_eq!(done.status, 303);
        let after = db.store.request(r.code).await.unwrap();
        assert_eq!(after.language.as_ref().map(|l| l.as_str()), Some("ur"));
        // A name nobody knows changes nothing and says why.
        let bad = c
            .post(
                &format!("/requests/{}/fields", r.code),
                Some(&s),
                &[("csrf", &s.csrf), ("language", "elfico")],
            )
            .await;
        let shown = c
            .get(bad.headers["location"].to_str().unwrap(), Some(&s))
            .await;
        assert_eq!(
            db.store.request(r.code).await.unwrap().language,
            after.language
        );
        assert!(
            shown.body.contains("Lingua non riconosciuta"),
            "{}",
            shown.body
        );
    }
);

both_backends!(
    people_show_each_mediators_hours_and_answers_this_month,
    |db| async move {
        use connecting::app::{answer, outcome};
        use connecting::authz::Actor;
        let p = people(&db.store).await;
        let core = connecting::renderers::core(Default::default());
        let amina = Actor::Mediator {
            id: p.amina,
            active: true,
        };
        let coordinator = Actor::Coordinator { id: p.coordinator };
        // Two offers this month: one accepted and done (90 minutes), one declined.
        let done = request_of(&db.store, p.laura, RequestStatus::Offered, "Laura Rossi").await;
        let declined = request_of(&db.store, p.laura, RequestStatus::Offered, "Laura Rossi").await;
        let first = builders::offer(done.id, p.amina)
            .insert(&db.store, start())
            .await;
        let second = builders::offer(declined.id, p.amina)
            .insert(&db.store, start())
            .await;
        let mut tx = db.store.begin().await.unwrap();
        let won = answer::accept(&core, &mut tx, &amina, first, start())
            .await
            .unwrap();
        let answer::Accepted::Won(won) = won else {
            panic!("{won:?}")
        };
        assert!(
            answer::decline(&core, &mut tx, &amina, second, start())
                .await
                .unwrap()
        );
        let after = Utc.with_ymd_and_hms(2027, 3, 12, 12, 0, 0).unwrap();
        assert!(
            outcome::record(
                &core,
                &mut tx,
                &coordinator,
                won.assignment_id,
                true,
                Some(90),
                after
            )
            .await
            .unwrap()
        );
        tx.commit().await.unwrap();
        let c = console(&db).await;
        let s = c.login(ConsoleRole::Coordinator, p.coordinator).await;
        let page = c.get("/people", Some(&s)).await;
        assert_eq!(page.status, 200);
        let row = page
            .body
            .split("<tr>")
            .find(|r| r.contains("Amina Benali"))
            .unwrap_or_else(|| panic!("{}", page.body))
            .to_string();
        assert!(row.contains(">1:30<"), "{row}");
        assert!(row.contains("50% (1/2)"), "{row}");
        assert!(page.body.contains("Ore questo mese"));
    }
);

both_backends!(
    a_coordinator_sets_a_person_s_language_and_their_menu_follows,
    |db| async move {
        let p = people(&db.store).await;
        let c = console(&db).await;
        let s = c.login(ConsoleRole::Coordinator, p.coordinator).await;
        let page = c.get("/people", Some(&s)).await;
        let row = page
            .body
            .split("<tr>")
            .find(|r| r.contains("Amina Benali"))
            .unwrap_or_else(|| panic!("{}", page.body))
            .to_string();
        assert!(
            row.contains(&format!("action=\"/people/mediator/{}/language\"", p.amina)),
            "{row}"
        );
        assert!(
            row.contains("<option value=\"\" selected>Predefinita</option>"),
            "{row}"
        );
        let url = format!("/people/mediator/{}/language", p.amina);
        // Without the CSRF token nothing changes.
        let refused = c
            .post(&url, Some(&s), &[("csrf", "0000"), ("language", "en")])
            .await;
        assert_eq!(refused.status, 403);
        assert_eq!(db.store.mediator(p.amina).await.unwrap().language, None);
        let done = c
            .post(&url, Some(&s), &[("csrf", &s.csrf), ("language", "en")])
            .await;
        let page = c
            .get(done.headers["location"].to_str().unwrap(), Some(&s))
            .await;
        assert!(page.body.contains("Lingua salvata."), "{}", page.body);
        let row = page
            .body
            .split("<tr>")
            .find(|r| r.contains("Amina Benali"))
            .unwrap()
            .to_string();
        assert!(
            row.contains("<option value=\"en\" selected>English</option>"),
            "{row}"
        );
        assert_eq!(
            db.store.mediator(p.amina).await.unwrap().language,
            Some(connecting::config::Lang::En)
        );
        // Her Telegram menu follows, in English.
        let menus: Vec<_> = db
            .store
            .outbox_all()
            .await
            .unwrap()
            .into_iter()
            .filter_map(|r| match r.payload {
                Payload::Telegram(t) if t.chat_id == MEDIATOR_CHAT => t.menu,
                _ => None,
            })
            .collect();
        assert_eq!(menus.len(), 1, "{menus:?}");
        assert_eq!(menus[0].lang, "en");
        assert_eq!(
            menus[0].role,
            Some(connecting::domain::PersonKind::Mediator)
        );
        // A language we do not write in: said, nothing changes.
        let bad = c
            .post(&url, Some(&s), &[("csrf", &s.csrf), ("language", "fr")])
            .await;
        let page = c
            .get(bad.headers["location"].to_str().unwrap(), Some(&s))
            .await;
        assert!(
            page.body.contains("Lingua non riconosciuta"),
            "{}",
            page.body
        );
        assert_eq!(
            db.store.mediator(p.amina).await.unwrap().language,
            Some(connecting::config::Lang::En)
        );
        // Laura chose English: the console opens in English for her (a choice made in the
        // browser would still win).
        let done = c
            .post(
                &format!("/people/operator/{}/language", p.laura),
                Some(&s),
                &[("csrf", &s.csrf), ("language", "en")],
            )
            .await;
        assert_eq!(done.status, 303);
        let laura = c.login(ConsoleRole::Operator, p.laura).await;
        let page = c.get("/", Some(&laura)).await;
        assert!(page.body.contains("Log out"), "{}", page.body);
    }
);

both_backends!(
    a_coordinator_reads_a_quarantined_email_again,
    |db| async move {
        let p = people(&db.store).await;
        let _ = p.laura;
        let raw = "From: Laura Rossi <laura@comune-dalmine.example>\r\n\
To: info@coop.example\r\n\
Subject: Richiesta mediatore arabo\r\n\
Message-ID: <q-1@comune-dalmine.example>\r\n\
Date: Mon, 01 Mar 2027 08:30:00 +0100\r\n\
Content-Type: text/plain; charset=utf-8\r\n\
\r\n\
Buongiorno, serve un mediatore di lingua araba venerdì 12 marzo 2027 alle 10:00 \
per un colloquio di un'ora a Dalmine, via Roma 1.\r\n\
Laura Rossi\r\n";
        // Kept aside earlier (say, by a parser bug since fixed).
        db.store
            .record_inbound(
                &NewInbound {
                    channel: "email".into(),
                    external_id: "<q-1@comune-dalmine.example>".into(),
                    kind: "unknown".into(),
                    status: "quarantined".into(),
                    sender: Some("laura@comune-dalmine.example".into()),
                    size_bytes: raw.len() as i64,
                    raw: Some(raw.as_bytes().to_vec()),
                    error: Some("parse error".into()),
                    ..Default::default()
                },
                start(),
            )
            .await
            .unwrap();
        let q = db
            .store
            .inbound("email", Some("quarantined"))
            .await
            .unwrap();
        assert_eq!(q.len(), 1);
        let c = console(&db).await;
        let s = c.login(ConsoleRole::Coordinator, p.coordinator).await;
        let page = c.get("/operations", Some(&s)).await;
        assert!(page.body.contains("Rileggi"), "{}", page.body);
        assert!(
            page.body.contains("Lo stato dei canali si vede quando"),
            "without the daemon the page says where the channels' state comes from"
        );
        // Without the CSRF token nothing happens.
        let forged = c
            .post(
                &format!("/operations/quarantine/{}/retry", q[0].id),
                Some(&s),
                &[],
            )
            .await;
        assert_eq!(forged.status, 403);
        assert_eq!(
            db.store
                .inbound("email", Some("quarantined"))
                .await
                .unwrap()
                .len(),
            1
        );
        let done = c
            .post(
                &format!("/operations/quarantine/{}/retry", q[0].id),
                Some(&s),
                &[("csrf", &s.csrf)],
            )
            .await;
        assert_eq!(done.status, 303);
        let shown = c
            .get(done.headers["location"].to_str().unwrap(), Some(&s))
            .await;
        let requests = db.store.requests(&Default::default()).await.unwrap();
        assert_eq!(requests.len(), 1, "the email became a request");
        let code = requests[0].code.to_string();
        assert!(
            shown.body.contains(&format!("la richiesta {code}")),
            "{}",
            shown.body
        );
        assert!(
            db.store
                .inbound("email", Some("quarantined"))
                .await
                .unwrap()
                .is_empty()
        );
        // Again: it is no longer in quarantine.
        let again = c
            .post(
                &format!("/operations/quarantine/{}/retry", q[0].id),
                Some(&s),
                &[("csrf", &s.csrf)],
            )
            .await;
        let shown = c
            .get(again.headers["location"].to_str().unwrap(), Some(&s))
            .await;
        assert!(
            shown.body.contains("non è più in quarantena"),
            "{}",
            shown.body
        );
        assert_eq!(
            db.store.requests(&Default::default()).await.unwrap().len(),
            1
        );
    }
);

both_backends!(
    every_page_reads_in_english_and_held_mail_is_reviewed,
    |db| async move {
        let p = people(&db.store).await;
        let queued = request_of(&db.store, p.laura, RequestStatus::Queued, "Laura Rossi").await;
        let held = request_of(
            &db.store,
            p.laura,
            RequestStatus::NeedsReview,
            "Ignoto Mittente",
        )
        .await;
        let rejected = request_of(
            &db.store,
            p.laura,
            RequestStatus::NeedsReview,
            "Altro Ignoto",
        )
        .await;
        let c = console(&db).await;
        let it = c.login(ConsoleRole::Coordinator, p.coordinator).await;
        let en = web::Login {
            cookie: format!("{}; {}=en", it.cookie, connecting::web::LANG_COOKIE),
            csrf: it.csrf.clone(),
        };
        let snake = regex::Regex::new(r">[^<]*\b[a-z]+_[a-z_]+\b[^<]*<").unwrap();
        let blocks = regex::Regex::new(r"(?s)<(script|style)\b.*?</(script|style)>").unwrap();
        for path in [
            "/".to_string(),
            format!("/requests/{}", queued.code),
            format!("/requests/{}", held.code),
            "/calendar?week=2027-03-08".to_string(),
            "/people".to_string(),
            "/operations".to_string(),
            "/reports/2027-03".to_string(),
        ] {
            let page = c.get(&path, Some(&en)).await;
            assert_eq!(page.status, 200, "{path}");
            assert!(page.body.contains("lang=\"en\""), "{path}: <html lang>");
            for italian in [
                "Coda delle richieste",
                "Persone",
                "Operazioni",
                "in coda",
                "arabo",
            ] {
                assert!(!page.body.contains(italian), "{path} has {italian:?}");
            }
            // Visible text carries no internal codes (attribute values may).
            let text = blocks.replace_all(&page.body, "");
            if let Some(m) = snake.find(&text) {
                panic!("{path}: code in the text: {}", m.as_str());
            }
        }
        let page = c
            .get(&format!("/requests/{}", queued.code), Some(&en))
            .await;
        assert!(
            page.body.contains("Arabic") && page.body.contains("queued"),
            "{}",
            page.body
        );
        // Held mail: accepted and rejected with the page's buttons.
        let page = c.get(&format!("/requests/{}", held.code), Some(&it)).await;
        assert!(
            page.body.contains(r#"name="decision" value="accept""#),
            "{}",
            page.body
        );
        let done = c
            .post(
                &format!("/requests/{}/review", held.code),
                Some(&it),
                &[("csrf", &it.csrf), ("decision", "accept")],
            )
            .await;
        assert_eq!(done.status, 303);
        assert_eq!(
            db.store.request(held.code).await.unwrap().status,
            RequestStatus::Queued
        );
        let done = c
            .post(
                &format!("/requests/{}/review", rejected.code),
                Some(&it),
                &[("csrf", &it.csrf), ("decision", "reject")],
            )
            .await;
        assert_eq!(done.status, 303);
        assert!(
            db.store
                .request(rejected.code)
                .await
                .unwrap()
                .status
                .is_terminal()
        );
        // Reviewing it again is refused in words, and changes nothing.
        let again = c
            .post(
                &format!("/requests/{}/review", held.code),
                Some(&it),
                &[("csrf", &it.csrf), ("decision", "reject")],
            )
            .await;
        let shown = c
            .get(again.headers["location"].to_str().unwrap(), Some(&it))
            .await;
        assert_eq!(
            db.store.request(held.code).await.unwrap().status,
            RequestStatus::Queued
        );
        assert!(!shown.body.contains("wrong_state"), "{}", shown.body);
    }
);

both_backends!(
    a_coordinator_corrects_assigns_and_downloads_the_month,
    |db| async move {
        let p = people(&db.store).await;
        let r = request_of(&db.store, p.laura, RequestStatus::Queued, "Laura Rossi").await;
        let c = console(&db).await;
        let s = c.login(ConsoleRole::Coordinator, p.coordinator).await;
        let home = c.get("/", Some(&s)).await;
        assert!(home.body.contains(&r.code.to_string()));
        assert!(home.body.contains("arabo"), "languages in words");
        assert!(home.body.contains("in coda"), "statuses in words");
        // A correction: the date was misread.
        let page = c
            .post(
                &format!("/requests/{}/fields", r.code),
                Some(&s),
                &[
                    ("csrf", &s.csrf),
                    ("date", "2027-03-15"),
                    ("start_time", "11:30"),
                ],
            )
            .await;
        assert_eq!(page.status, 303);
        let after = db.store.request(r.code).await.unwrap();
        assert_eq!(after.date, NaiveDate::from_ymd_opt(2027, 3, 15));
        assert_eq!(after.start_time, NaiveTime::from_hms_opt(11, 30, 0));
        assert_eq!(
            after.status,
            RequestStatus::Queued,
            "the console sets no status"
        );
        let trail = db.store.audit_trail(r.id).await.unwrap();
        assert!(trail.iter().any(
            |a| a.action == "corrected" && a.actor == format!("coordinator:{}", p.coordinator)
        ));
        // A bad value changes nothing and says why.
        let bad = c
            .post(
                &format!("/requests/{}/fields", r.code),
                Some(&s),
                &[("csrf", &s.csrf), ("comune", "Atlantide")],
            )
            .await;
        let shown = c
            .get(bad.headers["location"].to_str().unwrap(), Some(&s))
            .await;
        assert!(
            shown.body.contains("Comune non riconosciuto"),
            "{}",
            shown.body
        );
        // The ranked mediators, with their reasons, then assignment by hand.
        let page = c.get(&format!("/requests/{}", r.code), Some(&s)).await;
        assert!(page.body.contains("Amina Benali"));
        assert!(page.body.contains("arabo"));
        let done = c
            .post(
                &format!("/requests/{}/assign", r.code),
                Some(&s),
                &[("csrf", &s.csrf), ("mediator_id", &p.amina.to_string())],
            )
            .await;
        assert_eq!(done.status, 303);
        let assigned = db.store.request(r.code).await.unwrap();
        assert_eq!(assigned.status, RequestStatus::Assigned);
        assert_eq!(assigned.assigned_mediator_id, Some(p.amina));
        // The mediator's details go out on Telegram, through the outbox.
        let to_mediator: Vec<String> = db
            .store
            .outbox_for_request(r.id)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|o| match o.payload {
                Payload::Telegram(t) if t.chat_id == MEDIATOR_CHAT => Some(t.text),
                _ => None,
            })
            .collect();
        assert!(
            to_mediator.iter().any(|t| t.contains("Via Roma 1")),
            "{to_mediator:?}"
        );
        // A new time after the assignment is a reschedule: the mediator is asked first
        // ([Va bene] / [Non posso]); once she agrees she is told, with the invitation updated
        // (the same event, a higher SEQUENCE).
        let sequence_of = |ics: &str| -> u32 {
            ics.lines()
                .find_map(|l| l.trim_end().strip_prefix("SEQUENCE:"))
                .and_then(|n| n.parse().ok())
                .unwrap()
        };
        let calendars = |rows: Vec<connecting::store::OutboxRow>| -> Vec<(String, String)> {
            rows.into_iter()
                .filter_map(|o| match o.payload {
                    Payload::Telegram(t) if t.chat_id == MEDIATOR_CHAT => {
                        t.calendar.map(|c| (t.text, c.ics))
                    }
                    _ => None,
                })
                .collect()
        };
        let before = calendars(db.store.outbox_for_request(r.id).await.unwrap());
        assert_eq!(
            before.len(),
            1,
            "the details carry the invitation: {before:?}"
        );
        c.clock.advance(chrono::Duration::minutes(5));
        let moved = c
            .post(
                &format!("/requests/{}/fields", r.code),
                Some(&s),
                &[("csrf", &s.csrf), ("start_time", "15:00")],
            )
            .await;
        assert_eq!(moved.status, 303);
        assert_eq!(
            calendars(db.store.outbox_for_request(r.id).await.unwrap()).len(),
            1,
            "nothing moves in calendars before she answers"
        );
        let question = db
            .store
            .outbox_for_request(r.id)
            .await
            .unwrap()
            .into_iter()
            .find_map(|o| match o.payload {
                Payload::Telegram(t) if t.chat_id == MEDIATOR_CHAT && !t.buttons.is_empty() => {
                    Some(t)
                }
                _ => None,
            })
            .expect("the mediator is asked");
        assert!(question.text.contains("15:00"), "{}", question.text);
        let timer: i64 = question.buttons[0][0]
            .data
            .strip_prefix("chok:")
            .and_then(|t| t.parse().ok())
            .expect("[Va bene]");
        let core = connecting::renderers::core(connecting::dispatch::DispatchSettings {
            organizer: Some(connecting::ics::Party {
                name: "Cooperativa Esempio".into(),
                email: Some("info@coop.example".into()),
            }),
            ..Default::default()
        });
        let mut tx = db.store.begin().await.unwrap();
        let agreed = connecting::app::reschedule::answer(
            &core,
            &mut tx,
            &connecting::authz::Actor::Mediator {
                id: p.amina,
                active: true,
            },
            timer,
            true,
            c.clock.now(),
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        assert!(
            matches!(agreed, connecting::app::reschedule::ChangeAnswer::Kept(_)),
            "{agreed:?}"
        );
        let now = calendars(db.store.outbox_for_request(r.id).await.unwrap());
        assert_eq!(now.len(), 2, "{now:?}");
        let (text, ics) = &now[1];
        assert!(
            text.contains("è cambiata") && text.contains("15:00"),
            "{text}"
        );
        assert!(
            ics.contains("DTSTART;TZID=Europe/Rome:20270315T150000"),
            "{ics}"
        );
        let uid = |ics: &str| {
            ics.lines()
                .find(|l| l.starts_with("UID:"))
                .map(str::to_string)
        };
        assert_eq!(uid(ics), uid(&before[0].1));
        assert!(sequence_of(ics) > sequence_of(&before[0].1));
        let page = c.get(&format!("/requests/{}", r.code), Some(&s)).await;
        assert!(
            page.body
                .contains("Assegnata: il mediatore riceve i dettagli su Telegram.")
                || page.body.contains("assegnata")
        );
        assert!(
            page.body.contains("in uscita") || page.body.contains("consegnato"),
            "delivery state in words"
        );
        // The calendar's week of the corrected date shows it in Amina's row.
        let cal = c.get("/calendar?week=2027-03-15", Some(&s)).await;
        assert_eq!(cal.status, 200);
        assert!(cal.body.contains("Amina Benali") && cal.body.contains(&r.code.to_string()));
        // The month's CSV for Italian spreadsheets, and the XLSX.
        let (status, csv) = c.get_bytes("/reports/2027-03.csv", Some(&s)).await;
        assert_eq!(status, 200);
        let csv = String::from_utf8(csv).unwrap();
        assert!(csv.starts_with('\u{feff}'), "UTF-8 BOM");
        let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
        assert!(
            lines[0].starts_with("Ambito;Richieste;Interventi svolti;Ore non verificate;"),
            "{}",
            lines[0]
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("Dalmine;1;0;0,00;0,00;0,00;arabo 1;")),
            "{csv}"
        );
        let (status, xlsx) = c.get_bytes("/reports/2027-03.xlsx", Some(&s)).await;
        assert_eq!(status, 200);
        let (headers, row) = web::xlsx_cells(&xlsx);
        assert_eq!(headers[1], "Richieste");
        assert_eq!(row[0], "Dalmine");
        assert_eq!(row[1], "1", "the month's one request in Dalmine");
        let page = c.get("/reports/2027-03", Some(&s)).await;
        assert!(page.body.contains("<svg"), "charts drawn on the server");
        assert!(page.body.contains("Ore per Ambito"));
    }
);

both_backends!(
    the_cli_prints_a_link_that_opens_the_console,
    |db| async move {
        let p = people(&db.store).await;
        let dir = tempfile::tempdir().unwrap();
        let with = dir.path().join("with-web.toml");
        let without = dir.path().join("without-web.toml");
        let db_section = format!("[database]\nurl = \"{}\"\n", db.url);
        std::fs::write(
            &with,
            format!("{db_section}[web]\npublic_url = \"https://console.coop.example/\"\n"),
        )
        .unwrap();
        std::fs::write(&without, &db_section).unwrap();
        let cli = |args: &[&str], with_web: bool| {
            let cfg = if with_web { &with } else { &without };
            std::process::Command::new(env!("CARGO_BIN_EXE_connecting"))
                .arg("--config")
                .arg(cfg)
                .args(args)
                .current_dir(dir.path())
                .env("CONNECTING_LOG", "warn")
                .output()
                .unwrap()
        };
        let id = p.coordinator.to_string();
        let out = cli(&["console", "link", "--coordinator", &id], true);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let link = text
            .split_whitespace()
            .find(|w| w.starts_with("https://console.coop.example/login/"))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(text.contains("10 minuti"));
        let c = console(&db).await;
        let path = link.trim_start_matches("https://console.coop.example");
        // The CLI used the wall clock: open it at that time.
        c.clock.set(Utc::now());
        let s = c.open(path).await;
        assert_eq!(c.get("/", Some(&s)).await.status, 200);
        let out = cli(&["console", "link", "--coordinator", "999"], true);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("999"));
        // Without [web] the console is off, and the CLI says what to add.
        let out = cli(&["console", "link", "--coordinator", &id], false);
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("[web]"));
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_serves_the_console_with_a_login_link() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let examples = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_connecting"))
        .args(["demo", "--serve", "--port", &port.to_string(), "--examples"])
        .arg(&examples)
        .arg("--db")
        .arg(dir.path().join("demo.db"))
        .current_dir(dir.path())
        .env("CONNECTING_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let link = std::io::BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find_map(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with(&format!("{base}/login/")))
                .map(str::to_string)
        });
    let link = link.expect("the demo prints a login link");
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = http.get(&link).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let login = http.post(&link).send().await.unwrap();
    assert_eq!(login.status().as_u16(), 303);
    let cookie = login.headers()["set-cookie"].to_str().unwrap().to_string();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let page = http
        .get(format!("{base}/"))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(page.contains("Coda delle richieste"), "{page}");
    assert!(page.contains("MED-"), "the demo queue is in it");
}
