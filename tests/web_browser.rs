//! The console in a real browser (headless Chromium through chromedriver), on SQLite and
//! PostgreSQL: the story of issue 14. A coordinator logs in with the link the bot sends after
//! `/console` (the bot runs against the local Bot API server; a mediator asking gets no link),
//! an email request read by the email intake appears in the open queue page without a reload,
//! the coordinator corrects a misread field, assigns the mediator by hand (who gets the details
//! on Telegram) and downloads the month's XLSX, whose cells are checked; an operator logs in
//! the same way, sees only their own requests, cannot open another's by URL, and submits one
//! through the form after its summary; the coordinator adds another coordinator from the people
//! page. Screenshots of each page go to `target/screenshots/`.

#[path = "support/botapi.rs"]
mod botapi;
#[path = "support/browser.rs"]
mod browser;
#[path = "support/common.rs"]
mod common;
#[path = "support/web.rs"]
mod web;
#[path = "support/world.rs"]
mod world;

use browser::Browser;
use connecting::channels::email::{Intake, IntakeConfig, Outcome};
use connecting::clock::Clock;
use connecting::domain::{Channel, RequestStatus};
use connecting::store::NewRequest;
use std::sync::Arc;
use std::time::{Duration, Instant};
use world::World;

const MEDIATOR_CHAT: i64 = 1001;
const COORDINATOR_CHAT: i64 = 9001;
const LAURA_CHAT: i64 = 2001;

fn link_in(text: &str, base: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with(&format!("{base}/login/")))
        .unwrap_or_else(|| panic!("no link in {text:?}"))
        .to_string()
}

both_backends!(
    a_coordinator_and_an_operator_use_the_console,
    |db| async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let url = base.clone();
        let configure: world::Configure = Arc::new(move |_, s| {
            s.bot.console_url = Some(url.clone());
        });
        let w = World::configured(db, Some(configure)).await;
        let store = w.store().clone();
        w.coordinator(COORDINATOR_CHAT).await;
        let laura = w.operator("Laura Rossi", Some(LAURA_CHAT)).await;
        let marco = w.operator("Marco Bianchi", Some(2002)).await;
        w.mediator("Amina Benali", MEDIATOR_CHAT).await;
        let _console = web::Console::serve(listener, store.clone(), w.clock.clone(), false).await;
        let shots = std::env::var("SCREENSHOT_PREFIX").unwrap_or_default();
        let shot = |name: &str| {
            format!(
                "{shots}{name}-{}",
                format!("{:?}", store.backend()).to_lowercase()
            )
        };

        // A mediator asks: no link.
        let m = w.say(MEDIATOR_CHAT, "/console").await;
        assert!(m.text.contains("coordinatori e operatori"), "{}", m.text);
        assert!(!m.text.contains("/login/"));

        // The coordinator's link opens the queue.
        let m = w.say(COORDINATOR_CHAT, "/console").await;
        assert!(m.text.contains("10 minuti"), "{}", m.text);
        let link = link_in(&m.text, &base);
        // The link is a credential: once delivered, the database keeps no copy of it.
        let mut kept = true;
        for _ in 0..50 {
            let rows = store.outbox_all().await.unwrap();
            kept = rows
                .iter()
                .any(|r| format!("{:?}", r.payload).contains("/login/"));
            if !kept {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(!kept, "the delivered link is still in the outbox");
        assert!(
            m.preview_disabled,
            "Telegram must not fetch the link for a preview"
        );
        // A link preview (Telegram fetches the URLs a bot sends) spends nothing.
        let preview = reqwest::get(&link).await.unwrap();
        assert_eq!(preview.status().as_u16(), 200);
        let b = Browser::start(1280, 900).await;
        b.goto(&link).await;
        assert!(b.text().await.contains("Entra nella console"));
        b.screenshot(&shot("login")).await;
        b.click("#enter").await;
        b.wait_until(Duration::from_secs(5), |s| {
            s.contains("Coda delle richieste")
        })
        .await
        .expect("the press opens the queue");
        assert_eq!(b.url().await, format!("{base}/"));
        assert!(b.text().await.contains("Coda delle richieste"));
        let cookies = b.cookies().await;
        let session = cookies
            .iter()
            .find(|c| c["name"] == connecting::web::SESSION_COOKIE)
            .expect("the session cookie");
        assert_eq!(session["httpOnly"], true);
        assert_eq!(session["sameSite"], "Strict");
        b.screenshot(&shot("queue-empty")).await;
        // The link was used: a second browser gets nothing from it.
        let again = Browser::start(800, 600).await;
        again.goto(&link).await;
        assert!(again.text().await.contains("Link non valido"));
        drop(again);

        // An email request arrives while the page is open.
        let mut cfg = IntakeConfig::new("info@coop.example", "connecting.coop.example");
        cfg.allowed_sender_domains = vec!["comune.example.it".into()];
        let intake = Intake::new(
            store.clone(),
            cfg,
            Arc::new(w.clock.clone()),
            connecting::renderers::channels(),
        );
        let raw = "From: Laura Rossi <laura.rossi@comune.example.it>\r\nTo: info@coop.example\r\n\
        Subject: Richiesta mediatore arabo\r\nMessage-ID: <story-1@comune.example.it>\r\n\
        Date: Mon, 1 Mar 2027 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
        Content-Type: text/plain; charset=utf-8\r\n\r\n\
        Buongiorno, serve una mediatrice di lingua araba per un colloquio il 12/03/2027 alle 10, \
        durata un'ora, a Dalmine in Via Roma 1.\r\nGrazie, Laura Rossi\r\n";
        let code = match intake.process(raw.as_bytes()).await.unwrap() {
            Outcome::Created { code, .. } => code,
            other => panic!("{other:?}"),
        };
        // Committed now: the page must show it within two seconds, by itself.
        let t0 = Instant::now();
        let c = code.to_string();
        b.wait_until(Duration::from_secs(5), |src| src.contains(&c))
            .await
            .expect("the request appears without a reload");
        let appeared = t0.elapsed();
        assert!(
            appeared < Duration::from_secs(2),
            "appeared after {appeared:?}"
        );
        assert_eq!(b.url().await, format!("{base}/"), "no navigation");
        let text = b.text().await;
        assert!(text.contains("arabo") && text.contains("in coda"), "{text}");
        b.screenshot(&shot("queue")).await;

        // The request: fields beside the original text; the comune was misread.
        b.click(&format!("a[href='/requests/{c}']")).await;
        let text = b.text_with("Testo originale").await;
        assert!(
            text.contains("Testo originale") && text.contains("Via Roma 1"),
            "{text}"
        );
        assert!(text.contains("Amina Benali"), "the ranked mediators");
        b.screenshot(&shot("request")).await;
        b.type_into("#c-comune", "Osio Sotto").await;
        b.click("form[action$='/fields'] button[type=submit]").await;
        b.text_with("Correzione salvata.").await;
        let r = store.request(code).await.unwrap();
        assert_eq!(r.comune.as_deref(), Some("Osio Sotto"));
        assert_eq!(r.status, RequestStatus::Queued);
        let kept = store.corrections().await.unwrap();
        assert!(
            kept.iter()
                .any(|k| k.request_id == Some(r.id) && k.corrected.contains(&"comune".to_string())),
            "{kept:?}"
        );

        // Assignment by hand: the mediator gets the details on Telegram.
        b.click("form[action$='/assign'] button[type=submit]").await;
        b.text_with("Assegnata: il mediatore riceve i dettagli su Telegram.")
            .await;
        let details = w
            .fake
            .wait_for(MEDIATOR_CHAT, world::WAIT, |m| {
                m.text.contains(&c) && m.text.contains("Via Roma 1")
            })
            .await;
        assert!(details.is_some(), "{:?}", w.fake.sent_to(MEDIATOR_CHAT));
        assert_eq!(
            store.request(code).await.unwrap().status,
            RequestStatus::Assigned
        );
        b.screenshot(&shot("request-assigned")).await;

        // The month's report, its charts, and the XLSX download.
        b.goto(&format!("{base}/reports/2027-03")).await;
        assert!(b.text().await.contains("Ore per Ambito"));
        b.screenshot(&shot("report")).await;
        b.click("a[href$='.xlsx']").await;
        let xlsx = b.downloaded("connecting-2027-03.xlsx").await;
        let (headers, row) = web::xlsx_cells(&xlsx);
        assert_eq!(headers[0], "Ambito");
        assert_eq!(headers[1], "Richieste");
        assert_eq!(row[0], "Dalmine");
        assert_eq!(row[1], "1");

        // The calendar: the week of the appointment, Amina's row holds it.
        b.goto(&format!("{base}/calendar?week=2027-03-12")).await;
        let text = b.text().await;
        assert!(text.contains("Amina Benali") && text.contains(&c), "{text}");
        b.screenshot(&shot("calendar")).await;

        // People and operations.
        b.goto(&format!("{base}/people")).await;
        assert!(b.text().await.contains("Amina Benali"));
        b.screenshot(&shot("people")).await;
        // A new mediator through the form (languages by name), then her Telegram invite.
        b.click("a[href='/people/mediators/new']").await;
        b.text_with("Nuovo mediatore").await;
        b.type_into("#p-name", "Fatima Zahra").await;
        b.type_into("#p-languages", "arabo, francese").await;
        b.click("input[name=ambiti][value=Seriate]").await;
        b.screenshot(&shot("person-form")).await;
        b.click("form[action='/people/mediators'] button[type=submit]")
            .await;
        b.text_with("Persona aggiunta.").await;
        let fatima = store
            .mediators()
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.name == "Fatima Zahra")
            .expect("added from the form");
        assert_eq!(fatima.ambiti[0].name(), "Seriate");
        b.click(&format!("a[href='/people/mediators/{}']", fatima.id))
            .await;
        b.click("form[action$='/invite'] button[type=submit]").await;
        let text = b.text_with("Invito per Fatima Zahra").await;
        assert!(text.contains("https://t.me/"), "{text}");
        b.find("figure.qr svg").await;
        b.screenshot(&shot("person-invite")).await;
        // A new coordinator through the form, reading English; then her page.
        b.goto(&format!("{base}/people")).await;
        b.click("a[href='/people/coordinators/new']").await;
        b.text_with("Nuovo coordinatore").await;
        b.type_into("#c-name", "Sara Conti").await;
        b.type_into("#c-email", "sara.conti@coop.example").await;
        b.click("#c-language option[value=en]").await;
        b.screenshot(&shot("coordinator-form")).await;
        b.click("form[action='/people/coordinators'] button[type=submit]")
            .await;
        b.text_with("Persona aggiunta.").await;
        let sara = store
            .coordinators()
            .await
            .unwrap()
            .into_iter()
            .find(|c| c.name == "Sara Conti")
            .expect("added from the form");
        assert_eq!(sara.language, Some(connecting::config::Lang::En));
        assert_eq!(sara.email.as_deref(), Some("sara.conti@coop.example"));
        b.click(&format!("a[href='/people/coordinators/{}']", sara.id))
            .await;
        let text = b.text_with("Modifica coordinatore").await;
        assert!(text.contains("Togli dal servizio"), "{text}");
        b.screenshot(&shot("coordinator-edit")).await;
        b.goto(&format!("{base}/operations")).await;
        assert!(b.text().await.contains("Messaggi in uscita"));
        b.screenshot(&shot("operations")).await;

        // Hostile names and texts are shown as text: no script runs (an alert would stop the driver).
        let hostile = store
            .create_request(
                &NewRequest {
                    status: Some(RequestStatus::NeedsReview),
                    channel: Some(Channel::Email),
                    requester_name: Some("<script>alert(1)</script>".into()),
                    notes: Some("<img src=x onerror=alert(2)> \u{202E}amoR".into()),
                    ..Default::default()
                },
                w.clock.now(),
            )
            .await
            .unwrap();
        b.goto(&format!("{base}/")).await;
        assert!(
            b.text().await.contains("da verificare"),
            "held mail stands out"
        );
        b.goto(&format!("{base}/requests/{}", hostile.code)).await;
        let text = b.text().await;
        assert!(text.contains("<script>alert(1)</script>"), "{text}");
        assert!(text.contains("<img src=x onerror=alert(2)>"), "{text}");
        assert!(
            text.contains("Accetta la richiesta"),
            "held mail can be reviewed"
        );
        b.screenshot(&shot("request-held")).await;

        // On a phone.
        b.resize(390, 844).await;
        b.goto(&format!("{base}/")).await;
        b.screenshot(&shot("queue-phone")).await;
        b.goto(&format!("{base}/requests/{c}")).await;
        b.screenshot(&shot("request-phone")).await;
        b.resize(1280, 900).await;

        // The operator: another's request exists...
        let theirs = store
            .create_request(
                &NewRequest {
                    status: Some(RequestStatus::Queued),
                    channel: Some(Channel::Email),
                    operator_id: Some(marco),
                    requester_name: Some("Marco Bianchi".into()),
                    comune: Some("Treviglio".into()),
                    ..Default::default()
                },
                w.clock.now(),
            )
            .await
            .unwrap();
        b.delete_cookies().await;
        let m = w.say(LAURA_CHAT, "/console").await;
        b.goto(&link_in(&m.text, &base)).await;
        b.click("#enter").await;
        b.wait_until(Duration::from_secs(5), |s| s.contains("Le mie richieste"))
            .await
            .expect("the press opens her requests");
        let text = b.text().await;
        assert!(text.contains("Le mie richieste"), "{text}");
        assert!(text.contains(&c), "her own request");
        assert!(!text.contains(&theirs.code.to_string()), "not another's");
        b.screenshot(&shot("operator-queue")).await;
        b.goto(&format!("{base}/requests/{}", theirs.code)).await;
        let text = b.text().await;
        assert!(
            text.contains("Pagina non trovata") && !text.contains("Treviglio"),
            "{text}"
        );
        // ...and she writes a new one through the form, confirms its summary.
        b.goto(&format!("{base}/new")).await;
        b.type_into(
        "#n-text",
        "Serve un mediatore urdu per una visita domiciliare il 18/03/2027 alle 15, due ore, a Dalmine in via Garibaldi 3.",
    )
    .await;
        b.click("button[value=read]").await;
        let text = b.text_with("Ho capito così").await;
        assert!(
            text.contains("Ho capito così") && text.contains("urdu"),
            "{text}"
        );
        b.screenshot(&shot("operator-summary")).await;
        b.click("button[value=confirm]").await;
        b.text_with("Richiesta inviata").await;
        b.screenshot(&shot("operator-request")).await;
        let mine = w.requests_of(laura).await;
        let new = mine
            .iter()
            .find(|r| r.channel == Channel::Web)
            .expect("the form's request");
        assert_eq!(new.status, RequestStatus::Queued);
        assert_eq!(new.language.as_ref().map(|l| l.as_str()), Some("ur"));
        assert_eq!(new.comune.as_deref(), Some("Dalmine"));
    }
);
