//! The email intake pipeline on the real store (SQLite and PostgreSQL): requests created,
//! completed by a reply, cancelled; machines and unknown senders never answered; duplicates,
//! quarantine and oversized mail; the whole corpus through `ingest`.

#[path = "support/common.rs"]
mod common;

use chrono::{TimeZone, Utc};
use connecting::channels::email::{
    Intake, IntakeConfig, Limits, Outcome, ingest_paths, parse_email, quarantine_list,
    quarantine_retry,
};
use connecting::clock::ManualClock;
use connecting::domain::RequestStatus;
use connecting::store::{RequestFilter, Store};
use std::path::PathBuf;
use std::sync::Arc;

fn cfg() -> IntakeConfig {
    let mut c = IntakeConfig::new("info@coop.example", "connecting.coop.example");
    c.allowed_sender_domains = vec!["comune.example.it".into()];
    c
}

fn intake(store: &Store, cfg: IntakeConfig) -> Intake {
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap());
    Intake::new(
        store.clone(),
        cfg,
        Arc::new(clock),
        connecting::renderers::channels(),
    )
}

fn mail(from: &str, subject: &str, id: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: info@coop.example\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{extra}\
         Date: Mon, 1 Mar 2027 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

use common::outbox_emails as emails;

both_backends!(request_question_reply_merge_and_cancel, |db| async move {
    let store = db.store.clone();
    let intake = intake(&store, cfg());
    let raw = mail(
        "Anna Rossi <anna@comune.example.it>",
        "Richiesta mediatrice",
        "orig-1@comune.example.it",
        "",
        "Buongiorno, serve una mediatrice di lingua araba per un colloquio il 12/03/2027 presso la sede del Servizio Tutela Minori di Dalmine.\r\nGrazie",
    );
    let (request_id, code) = match intake.process(&raw).await.unwrap() {
        Outcome::Created {
            request_id,
            code,
            status,
        } => {
            assert_eq!(status, RequestStatus::NeedsInfo);
            (request_id, code)
        }
        other => panic!("{other:?}"),
    };
    // The same message again changes nothing.
    assert_eq!(intake.process(&raw).await.unwrap(), Outcome::Duplicate);

    let out = emails(&store).await;
    assert_eq!(out.len(), 1);
    let ack = &out[0];
    assert_eq!(ack.to, "anna@comune.example.it");
    assert_eq!(ack.subject, format!("Re: [{code}] Richiesta mediatrice"));
    assert_eq!(ack.in_reply_to.as_deref(), Some("orig-1@comune.example.it"));
    assert!(ack.body.contains(&code.to_string()));
    assert!(ack.body.contains("- Lingua: arabo"), "{}", ack.body);
    assert!(ack.body.contains("- Comune: Dalmine"), "{}", ack.body);
    assert!(
        ack.body.contains("- Tipo di intervento: colloquio"),
        "{}",
        ack.body
    );
    assert!(
        !ack.body.contains("in_person") && !ack.body.contains("in person"),
        "{}",
        ack.body
    );
    assert!(
        ack.body.contains("- Ora di inizio"),
        "the question names the missing field"
    );
    assert!(!ack.body.contains("- Data\n"), "the date is known");

    // The reply with the missing time, threaded on our acknowledgement, completes the request.
    let reply = mail(
        "anna@comune.example.it",
        &format!("R: {}", ack.subject),
        "reply-1@comune.example.it",
        &format!(
            "In-Reply-To: <{}>\r\nReferences: <orig-1@comune.example.it> <{}>\r\n",
            ack.message_id, ack.message_id
        ),
        "L'orario è alle 10:30.\r\n\r\nIl giorno lun 1 mar 2027, info ha scritto:\r\n> Per procedere ci mancano",
    );
    match intake.process(&reply).await.unwrap() {
        Outcome::Updated {
            request_id: id,
            status,
            ..
        } => {
            assert_eq!(id, request_id);
            assert_eq!(status, RequestStatus::Queued);
        }
        other => panic!("{other:?}"),
    }
    let r = store.request_by_id(request_id).await.unwrap();
    assert_eq!(
        r.start_time.map(|t| t.to_string()).as_deref(),
        Some("10:30:00")
    );
    assert!(r.missing.is_empty());
    assert_eq!(
        store
            .requests(&RequestFilter::default())
            .await
            .unwrap()
            .len(),
        1
    );
    let out = emails(&store).await;
    assert_eq!(out.len(), 2);
    assert!(out[1].body.contains("completa"));

    // "annullo" on the request cancels it and is confirmed.
    let cancel = mail(
        "anna@comune.example.it",
        &format!("Re: [{code}] Richiesta mediatrice"),
        "cancel-1@comune.example.it",
        "",
        "Buongiorno, annullo la richiesta: la famiglia si è trasferita.",
    );
    assert!(matches!(
        intake.process(&cancel).await.unwrap(),
        Outcome::Cancelled { .. }
    ));
    assert_eq!(
        store.request_by_id(request_id).await.unwrap().status,
        RequestStatus::Cancelled
    );
    assert_eq!(emails(&store).await.len(), 3);
});

both_backends!(
    unknown_senders_are_held_and_machines_never_answered,
    |db| async move {
        let store = db.store.clone();
        let intake = intake(&store, cfg());
        let raw = mail(
            "someone@gmail.example",
            "Richiesta",
            "u-1@gmail.example",
            "",
            "Serve un mediatore arabo il 12/03 alle 10",
        );
        match intake.process(&raw).await.unwrap() {
            Outcome::Held {
                request_id: Some(id),
            } => {
                assert_eq!(
                    store.request_by_id(id).await.unwrap().status,
                    RequestStatus::NeedsReview
                );
            }
            other => panic!("{other:?}"),
        }
        let auto = mail(
            "anna@comune.example.it",
            "Risposta automatica: Richiesta",
            "oof-1@comune.example.it",
            "X-Auto-Response-Suppress: All\r\n",
            "Sono fuori sede fino al 10 marzo.",
        );
        assert!(matches!(
            intake.process(&auto).await.unwrap(),
            Outcome::Recorded { .. }
        ));
        assert!(
            emails(&store).await.is_empty(),
            "no reply to unknown senders or machines"
        );
        let inbound = store.inbound("email", None).await.unwrap();
        assert_eq!(inbound.len(), 2);
        assert_eq!(inbound[0].status, "held");
        assert_eq!(inbound[1].status, "ignored");
        assert_eq!(inbound[1].kind, "auto_reply");
    }
);

both_backends!(
    quarantine_and_oversized_are_kept_and_retryable,
    |db| async move {
        let store = db.store.clone();
        let mut strict = cfg();
        strict.limits = Limits {
            max_headers: 3,
            ..Limits::default()
        };
        let raw = mail(
            "anna@comune.example.it",
            "Richiesta",
            "q-1@comune.example.it",
            "",
            "Serve un mediatore urdu il 5/4 alle 9",
        );
        let outcome = intake(&store, strict.clone()).process(&raw).await.unwrap();
        assert!(
            matches!(outcome, Outcome::Quarantined { .. }),
            "{outcome:?}"
        );
        let q = quarantine_list(&store).await.unwrap();
        assert_eq!(q.len(), 1);
        assert_eq!(
            store.inbound_raw(q[0].id).await.unwrap().as_deref(),
            Some(raw.as_slice())
        );
        // Retried with sane limits it becomes a request, on the same inbound row.
        match quarantine_retry(&store, &cfg(), q[0].id, connecting::renderers::channels())
            .await
            .unwrap()
        {
            Outcome::Created { .. } => {}
            other => panic!("{other:?}"),
        }
        assert!(quarantine_list(&store).await.unwrap().is_empty());
        assert_eq!(store.inbound("email", None).await.unwrap().len(), 1);
        assert_eq!(emails(&store).await.len(), 1);

        let mut small = cfg();
        small.limits.max_size = 200;
        let big = mail(
            "anna@comune.example.it",
            "Allegato",
            "big-1@comune.example.it",
            "",
            &"x".repeat(5000),
        );
        assert_eq!(
            intake(&store, small).process(&big).await.unwrap(),
            Outcome::Oversized
        );
        let over = store.inbound("email", Some("oversized")).await.unwrap();
        assert_eq!(over.len(), 1);
        assert!(over[0].external_id.starts_with("big-1@comune.example.it #"));
        assert!(over[0].size_bytes > 5000);
        // Garbage is quarantined, never a panic, and stays quarantined on retry.
        let g = intake(&store, cfg())
            .process(b"\x00\xff\xfe garbage")
            .await
            .unwrap();
        assert!(matches!(g, Outcome::Quarantined { .. }), "{g:?}");
        let q = quarantine_list(&store).await.unwrap();
        assert!(matches!(
            quarantine_retry(&store, &cfg(), q[0].id, connecting::renderers::channels())
                .await
                .unwrap(),
            Outcome::Quarantined { .. }
        ));
    }
);

fn corpus_dir() -> PathBuf {
    [
        std::env::var("CONNECTING_CORPUS").ok().map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/email")),
        Some(PathBuf::from("/work/shared/corpus/email")),
    ]
    .into_iter()
    .flatten()
    .find(|p| p.is_dir())
    .expect("corpus not found: set CONNECTING_CORPUS")
}

both_backends!(
    the_corpus_through_ingest_machines_make_no_request_and_no_reply,
    |db| async move {
        let store = db.store.clone();
        let dir = corpus_dir();
        // Accept every sender of the corpus, so only classification can keep machines out.
        let mut c = cfg();
        for entry in walk(&dir) {
            let raw = std::fs::read(&entry).unwrap();
            if let Ok(e) = parse_email(&raw, &Limits::default()) {
                for m in [e.from.as_ref(), e.effective().reply_address()]
                    .into_iter()
                    .flatten()
                {
                    if let Some(d) = m.domain() {
                        c.allowed_sender_domains.push(d.to_owned());
                    }
                }
            }
        }
        let report = ingest_paths(
            &store,
            &c,
            std::slice::from_ref(&dir),
            connecting::renderers::channels(),
        )
        .await
        .unwrap();
        assert_eq!(report.files, walk(&dir).len());
        assert!(report.unreadable.is_empty());
        let inbound = store.inbound("email", None).await.unwrap();
        let outbox = emails(&store).await;
        for row in &inbound {
            if matches!(
                row.kind.as_str(),
                "auto_reply"
                    | "bounce"
                    | "bounce_text"
                    | "read_receipt"
                    | "pec_receipt"
                    | "pec_anomaly"
                    | "mailing_list"
            ) {
                assert!(
                    row.request_id.is_none(),
                    "{} made a request",
                    row.external_id
                );
            }
        }
        for m in &outbox {
            assert!(
                !m.to.starts_with("mailer-daemon") && !m.to.starts_with("postmaster"),
                "reply to a daemon: {}",
                m.to
            );
        }
        // Two corpus files are the same vacation reply (same Message-ID, other line endings).
        assert!(inbound.iter().filter(|r| r.kind == "auto_reply").count() >= 4);
        // The anonymised avvenuta-consegna receipt reuses the transport envelope's Message-ID:
        // a different message under the same Message-ID is a message of its own (the dedupe key
        // is the Message-ID and the content), so all three receipts are recorded.
        assert_eq!(
            inbound.iter().filter(|r| r.kind == "pec_receipt").count(),
            3
        );
        // Every request got exactly one acknowledgement; nothing went to a machine sender only.
        let requests = store.requests(&RequestFilter::default()).await.unwrap();
        // Requests without a known sender (no From at all) are held for review: never answered.
        let answered = requests
            .iter()
            .filter(|r| r.status != RequestStatus::NeedsReview)
            .count();
        assert_eq!(outbox.len(), answered);
        assert!(
            requests
                .iter()
                .filter(|r| r.status == RequestStatus::NeedsReview)
                .all(|r| r.requester_email.is_none())
        );
        assert!(report.created >= 20, "{report:?}");
        // Ingesting again: all duplicates.
        let again = ingest_paths(&store, &c, &[dir], connecting::renderers::channels())
            .await
            .unwrap();
        assert_eq!(
            again.duplicates + again.quarantined,
            again.files,
            "{again:?}"
        );
    }
);

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            out.extend(walk(&p));
        } else if p.extension().is_some_and(|x| x == "eml") {
            out.push(p);
        }
    }
    out
}

both_backends!(
    pec_envelope_creates_the_request_of_the_inner_sender,
    |db| async move {
        let store = db.store.clone();
        let path = corpus_dir().join("pec/gopec_posta_certificata_transport_postacert.eml");
        let raw = String::from_utf8_lossy(&std::fs::read(path).unwrap()).replace(
            "\r\nFrom: no-reply@example.com\r\n",
            "\r\nFrom: Tutela Minori <tutela@pec.comune.example.it>\r\n",
        );
        let mut c = cfg();
        c.allowed_sender_domains
            .push("pec.comune.example.it".into());
        // The corpus file is anonymised: its envelope comes from example.com, trusted here as
        // the PEC provider (tests/hostile_email.rs: from anyone else the envelope is not opened).
        c.pec_provider_domains = vec!["example.com".into()];
        match intake(&store, c).process(raw.as_bytes()).await.unwrap() {
            Outcome::Created { request_id, .. } => {
                let r = store.request_by_id(request_id).await.unwrap();
                assert_eq!(
                    r.requester_email.as_deref(),
                    Some("tutela@pec.comune.example.it")
                );
                assert_eq!(
                    r.source_message_id.as_deref(),
                    Some("CZPXCJRZKQDRVYXFAZYUIAWNACDAAHEVAEXAKN@example.com")
                );
            }
            other => panic!("{other:?}"),
        }
        let out = emails(&store).await;
        assert_eq!(out[0].to, "tutela@pec.comune.example.it");
    }
);

both_backends!(
    winmail_dat_and_attachments_reach_the_audit_trail,
    |db| async move {
        let store = db.store.clone();
        let path = corpus_dir().join("tnef/mimekit_tnef_ukr_winmail_koi8r.eml");
        let raw = std::fs::read(path).unwrap();
        let mut c = cfg();
        c.allowed_sender_domains.push("xink.io".into());
        let id = match intake(&store, c).process(&raw).await.unwrap() {
            Outcome::Created { request_id, .. } | Outcome::Updated { request_id, .. } => request_id,
            other => panic!("{other:?}"),
        };
        let trail = store.audit_trail(id).await.unwrap();
        let attachments = trail
            .iter()
            .find(|e| e.action == "attachments")
            .expect("attachments recorded");
        assert!(
            attachments
                .detail
                .as_deref()
                .unwrap_or("")
                .contains("winmail.dat")
        );
        assert!(trail.iter().any(|e| e.action == "winmail_dat"));
    }
);

both_backends!(
    a_reply_with_a_score_is_the_requesters_evaluation,
    |db| async move {
        let store = &db.store;
        let i = intake(store, cfg());
        let out = i
        .process(&mail(
            "Anna Verdi <anna@comune.example.it>",
            "Richiesta mediatrice",
            "eval-1@comune.example.it",
            "",
            "Serve una mediatrice di lingua araba per un colloquio il 12/03/2027 alle 10 a Dalmine.",
        ))
        .await
        .unwrap();
        let Outcome::Created {
            request_id, code, ..
        } = out
        else {
            panic!("{out:?}")
        };
        // The appointment took place (dispatch's part), then the requester answers the question.
        for to in [
            RequestStatus::Offered,
            RequestStatus::Assigned,
            RequestStatus::Done,
        ] {
            store
                .transition(request_id, to, "test", Utc::now())
                .await
                .unwrap();
        }
        let reply = mail(
            "Anna Verdi <anna@comune.example.it>",
            &format!("Re: [{code}] Com'è andata?"),
            "eval-2@comune.example.it",
            "",
            "Voto: 4\r\nMediatrice puntuale e chiara.\r\n\r\nIl giorno lun 15 mar 2027 Cooperativa ha scritto:\r\n> Da 1 a 5?",
        );
        let out = i.process(&reply).await.unwrap();
        assert_eq!(
            out,
            Outcome::Recorded {
                kind: "evaluation".into()
            }
        );
        let (score, comment) = store.evaluation(request_id).await.unwrap().unwrap();
        assert_eq!(score, 4);
        assert_eq!(comment.as_deref(), Some("Mediatrice puntuale e chiara."));
        // A chatty reply without a score stays a note for the coordinator.
        let chat = mail(
            "Anna Verdi <anna@comune.example.it>",
            &format!("Re: [{code}] grazie"),
            "eval-3@comune.example.it",
            "",
            "3 persone erano presenti, grazie ancora.",
        );
        assert_eq!(
            i.process(&chat).await.unwrap(),
            Outcome::Recorded {
                kind: "follow_up".into()
            }
        );
        assert_eq!(
            store.evaluation(request_id).await.unwrap().map(|e| e.0),
            Some(4)
        );
    }
);

both_backends!(
    a_registered_operator_who_chose_english_is_answered_in_english,
    |db| async move {
        let store = db.store.clone();
        let ruth = store
            .add_operator(
                &connecting::store::NewOperator {
                    name: "Ruth Okoro".into(),
                    email: Some("ruth@comune.example.it".into()),
                    phone: None,
                    ente: "Comune di Dalmine".into(),
                    ambito: connecting::domain::Ambito::parse("Dalmine").unwrap(),
                    telegram_id: None,
                },
                Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap(),
            )
            .await
            .unwrap();
        store
            .set_language(
                connecting::domain::PersonKind::Operator,
                ruth.id,
                Some(connecting::config::Lang::En),
            )
            .await
            .unwrap();
        let intake = intake(&store, cfg());
        let body = "Buongiorno, serve una mediatrice di lingua araba per un colloquio il 12/03/2027 presso la sede del Servizio Tutela Minori di Dalmine.\r\nGrazie";
        for (from, id) in [
            (
                "Ruth Okoro <ruth@comune.example.it>",
                "ruth-1@comune.example.it",
            ),
            (
                "Anna Rossi <anna@comune.example.it>",
                "anna-1@comune.example.it",
            ),
        ] {
            assert!(matches!(
                intake
                    .process(&mail(from, "Richiesta mediatrice", id, "", body))
                    .await
                    .unwrap(),
                Outcome::Created { .. }
            ));
        }
        let out = emails(&store).await;
        let to = |who: &str| {
            out.iter()
                .find(|e| e.to == who)
                .unwrap_or_else(|| panic!("nothing to {who}: {out:?}"))
        };
        // Ruth chose English: her acknowledgement and its question are in English.
        let hers = to("ruth@comune.example.it");
        assert!(hers.body.contains("- Language: Arabic"), "{}", hers.body);
        // Anna is not a registered operator: the installation's language.
        let annas = to("anna@comune.example.it");
        assert!(annas.body.contains("- Lingua: arabo"), "{}", annas.body);
    }
);
