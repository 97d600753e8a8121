//! Who may see and do what (issue 8): the one table in `connecting::authz`, first as a table
//! test of the function itself, then from every entry point — bot commands, buttons, email
//! follow-ups and the CLI — showing that a refusal reaches the person as a clear message and
//! that nothing changes in the store, and that a coordinator may.
//!
//! Already covered elsewhere (not repeated here): an operator pressing another operator's draft
//! buttons, and a mediator pressing another's Accept (`telegram_stories::
//! forged_and_replayed_callbacks_do_nothing`, `offers_and_outcomes_are_pressed_by_their_own_
//! mediator_only`); an operator's evaluation of another's request (`telegram_stories::
//! the_requester_rates_the_intervention_from_the_phone`); an operator pressing a coordinator's
//! buttons (`a_coordinator_assigns_and_cancels_from_the_phone`,
//! `a_coordinator_reviews_held_email_from_the_phone`); another account answering a decline
//! reason (`a_mediator_declines_with_a_reason`).

#[path = "support/botapi.rs"]
mod botapi;
#[path = "support/builders.rs"]
mod builders;
#[path = "support/common.rs"]
mod common;
#[path = "support/world.rs"]
mod world;

use chrono::{TimeZone, Utc};
use connecting::authz::{Action, Actor, Denied, RequestFacts, authorize};
use connecting::channels::email::{Intake, IntakeConfig, Outcome};
use connecting::clock::{Clock, ManualClock};
use connecting::domain::{Channel, LanguageCode, RequestStatus};
use connecting::outbox::Payload;
use connecting::store::{NewCoordinator, NewRequest, Request, Store};
use std::sync::Arc;
use world::World;

// ----- the table itself -----

fn op(id: i64) -> Actor {
    Actor::Operator {
        id: Some(id),
        email: Some(format!("op{id}@comune.example.it")),
        chat_id: Some(100 + id),
        active: true,
    }
}

fn med(id: i64) -> Actor {
    Actor::Mediator { id, active: true }
}

#[test]
fn the_table() {
    use Action::*;
    // Operator 1's request, offered to mediator 7, assigned to mediator 8.
    let facts = RequestFacts {
        operator_id: Some(1),
        requester_email: Some("OP1@comune.example.it".into()),
        requester_chat_id: Some(101),
        offered_to: Some(7),
        assigned_to: Some(8),
    };
    let y = Ok(());
    let mine = [
        See,
        SeeDetails,
        Cancel,
        AddInfo,
        Reschedule,
        Evaluate,
        ConfirmHours,
        Create,
    ];
    let rows: Vec<(&str, Actor, Vec<Action>)> = vec![
        ("the requester", op(1), mine.to_vec()),
        ("another operator", op(2), vec![Create]),
        ("the offered mediator", med(7), vec![See, AnswerOffer]),
        (
            "the assigned mediator",
            med(8),
            vec![See, SeeDetails, RecordOutcome, AnswerChange],
        ),
        ("another mediator", med(9), vec![]),
        (
            "a coordinator",
            Actor::Coordinator { id: 1 },
            vec![
                See,
                SeeDetails,
                Cancel,
                AddInfo,
                Reschedule,
                Evaluate,
                ConfirmHours,
                RecordOutcome,
                Manage,
                Dispatch,
                Create,
            ],
        ),
        (
            "the CLI",
            Actor::Cli,
            vec![
                See,
                SeeDetails,
                Cancel,
                AddInfo,
                Reschedule,
                Evaluate,
                ConfirmHours,
                RecordOutcome,
                Manage,
                Dispatch,
                Create,
            ],
        ),
        (
            "the service itself",
            Actor::System { process: "timers" },
            vec![Dispatch],
        ),
    ];
    for (who, actor, allowed) in &rows {
        for action in Action::ALL {
            let got = authorize(actor, action, &facts);
            assert_eq!(
                got.is_ok(),
                allowed.contains(&action),
                "{who} {action:?}: {got:?}"
            );
        }
    }
    // The reasons a person is told.
    assert_eq!(
        authorize(&med(7), SeeDetails, &facts),
        Err(Denied::NotAccepted)
    );
    assert_eq!(
        authorize(&med(9), SeeDetails, &facts),
        Err(Denied::NotYours)
    );
    assert_eq!(authorize(&op(2), Cancel, &facts), Err(Denied::NotYours));
    assert_eq!(
        authorize(&op(1), AnswerOffer, &facts),
        Err(Denied::NotForRole)
    );
    assert_eq!(
        authorize(&Actor::Coordinator { id: 1 }, AnswerOffer, &facts),
        Err(Denied::NotForRole)
    );
    // A requester known only by address (case-insensitive) or chat is still the requester.
    let by_mail = Actor::Operator {
        id: None,
        email: Some("op1@COMUNE.example.it".into()),
        chat_id: None,
        active: true,
    };
    assert_eq!(authorize(&by_mail, Cancel, &facts), y);
    let by_chat = Actor::Operator {
        id: Some(55),
        email: None,
        chat_id: Some(101),
        active: true,
    };
    assert_eq!(authorize(&by_chat, Cancel, &facts), y);
    // No address on either side is not a match; an empty address never matches.
    let nobody = Actor::Operator {
        id: None,
        email: Some(String::new()),
        chat_id: None,
        active: true,
    };
    let anonymous = RequestFacts {
        requester_email: Some(String::new()),
        ..Default::default()
    };
    assert_eq!(authorize(&nobody, See, &anonymous), Err(Denied::NotYours));
    assert_eq!(
        authorize(
            &Actor::Operator {
                id: None,
                email: None,
                chat_id: None,
                active: true
            },
            See,
            &RequestFacts::default()
        ),
        Err(Denied::NotYours)
    );
    // Deactivated people may do nothing, even on what was theirs.
    let gone = Actor::Mediator {
        id: 8,
        active: false,
    };
    assert_eq!(authorize(&gone, SeeDetails, &facts), Err(Denied::Inactive));
    let gone = Actor::Operator {
        id: Some(1),
        email: None,
        chat_id: None,
        active: false,
    };
    assert_eq!(authorize(&gone, Cancel, &facts), Err(Denied::Inactive));
}

// ----- helpers -----

async fn coordinator(store: &Store, telegram_id: Option<i64>, email: Option<&str>) -> i64 {
    store
        .add_coordinator(
            &NewCoordinator {
                name: "Carla".into(),
                telegram_id,
                email: email.map(str::to_owned),
            },
            Utc::now(),
        )
        .await
        .unwrap()
        .id
}

/// A request of `operator`, as the bot or the email intake would have stored it.
async fn request_of(w: &World, operator: i64, status: RequestStatus) -> Request {
    let o = w.store().operator(operator).await.unwrap();
    w.store()
        .create_request(
            &NewRequest {
                status: Some(status),
                channel: Some(Channel::Telegram),
                operator_id: Some(operator),
                requester_name: Some(o.name.clone()),
                requester_email: o.email.clone(),
                requester_chat_id: o.telegram_id,
                language: Some(LanguageCode::parse("ar").unwrap()),
                address: Some("Via Roma 1, Dalmine".into()),
                notes: Some("Minore di 12 anni, decreto del TM".into()),
                ..Default::default()
            },
            w.clock.now(),
        )
        .await
        .unwrap()
}

async fn insert_offer(store: &Store, request_id: i64, mediator: i64, now: i64) -> i64 {
    let now = chrono::DateTime::from_timestamp(now, 0).unwrap();
    builders::offer(request_id, mediator)
        .insert(store, now)
        .await
}

async fn actions(store: &Store, request_id: i64) -> Vec<String> {
    store
        .audit_trail(request_id)
        .await
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect()
}

// ----- bot commands -----

both_backends!(
    operator_b_cannot_cancel_operator_a_request_by_bot,
    |db| async move {
        let mut w = World::new(db).await;
        let a = w.operator("Anna Verdi", Some(4000)).await;
        w.operator("Luca Neri", Some(4001)).await;
        coordinator(w.store(), Some(4002), None).await;
        let req = request_of(&w, a, RequestStatus::Queued).await;
        let before = actions(w.store(), req.id).await;
        let r = w.say(4001, &format!("/annulla {}", req.code)).await;
        assert_eq!(
            r.text,
            format!("Non trovo la richiesta {} tra le tue.", req.code)
        );
        let now = w.store().request(req.code).await.unwrap();
        assert_eq!(now.status, RequestStatus::Queued);
        assert_eq!(actions(w.store(), req.id).await, before);
        // Nor see it.
        let r = w.say(4001, &format!("/dettagli {}", req.code)).await;
        assert!(r.text.contains("Non trovo"), "{}", r.text);
        assert!(!r.text.contains("Via Roma"), "{}", r.text);
        let r = w.say(4001, "/richieste").await;
        assert!(!r.text.contains(&req.code.to_string()), "{}", r.text);
        // The requester sees her own details; a coordinator may cancel it.
        let r = w.say(4000, &format!("/dettagli {}", req.code)).await;
        assert!(r.text.contains("Via Roma 1"), "{}", r.text);
        let r = w.say(4002, &format!("/annulla {}", req.code)).await;
        assert!(r.text.contains("annullata"), "{}", r.text);
        assert_eq!(
            w.store().request(req.code).await.unwrap().status,
            RequestStatus::Cancelled
        );
        w.stop().await;
    }
);

both_backends!(
    a_mediator_sees_details_only_after_accepting,
    |db| async move {
        let mut w = World::new(db).await;
        let a = w.operator("Anna Verdi", Some(4100)).await;
        let samira = w.mediator("Samira", 4110).await;
        w.mediator("Fatima", 4111).await;
        coordinator(w.store(), Some(4120), None).await;
        let req = request_of(&w, a, RequestStatus::Offered).await;
        let offer = insert_offer(w.store(), req.id, samira, w.clock.now().timestamp()).await;
        let before = actions(w.store(), req.id).await;
        // Offered, not accepted: told why, no name, no address, no notes.
        let r = w.say(4110, &format!("/dettagli {}", req.code)).await;
        assert_eq!(
            r.text,
            "I dettagli (nomi, indirizzo, note) sono solo per chi ha l'incarico: arrivano dopo che hai accettato e l'incarico è tuo."
        );
        // Not even offered to her.
        let r = w.say(4111, &format!("/dettagli {}", req.code)).await;
        assert!(r.text.contains("Non trovo"), "{}", r.text);
        assert_eq!(actions(w.store(), req.id).await, before, "nothing viewed");
        let r = w.say(4110, "/miei").await;
        assert!(!r.text.contains(&req.code.to_string()), "{}", r.text);
        // She accepts: now the details are hers, and the view is audited.
        w.fake.push_callback(4110, 4110, 1, &format!("acc:{offer}"));
        let details = w.reply(4110).await;
        assert!(details.text.contains("Via Roma 1"), "{}", details.text);
        let r = w.say(4110, &format!("/dettagli {}", req.code)).await;
        assert!(r.text.contains("Minore di 12 anni"), "{}", r.text);
        assert!(r.text.contains("Anna Verdi"), "{}", r.text);
        assert!(
            actions(w.store(), req.id)
                .await
                .contains(&"viewed".to_string())
        );
        // The other mediator still sees nothing; a coordinator sees everything.
        let r = w.say(4111, &format!("/dettagli {}", req.code)).await;
        assert!(!r.text.contains("Via Roma"), "{}", r.text);
        let r = w.say(4120, &format!("/dettagli {}", req.code)).await;
        assert!(r.text.contains("Via Roma 1"), "{}", r.text);
        w.stop().await;
    }
);

// ----- buttons -----

both_backends!(
    a_mediator_cannot_press_svolto_on_someone_elses_job_a_coordinator_can,
    |db| async move {
        use connecting::channels::telegram::messages;
        let mut w = World::new(db).await;
        let a = w.operator("Anna Verdi", Some(4200)).await;
        let samira = w.mediator("Samira", 4210).await;
        w.mediator("Fatima", 4211).await;
        coordinator(w.store(), Some(4220), None).await;
        let req = request_of(&w, a, RequestStatus::Offered).await;
        let offer = insert_offer(w.store(), req.id, samira, w.clock.now().timestamp()).await;
        let pressed = w.fake.push_callback(4210, 4210, 1, &format!("acc:{offer}"));
        assert!(
            w.answer(&pressed)
                .await
                .unwrap_or_default()
                .contains("Incarico tuo")
        );
        let assignment = w.store().assignments_for_request(req.id).await.unwrap()[0].id;
        let q = messages::outcome_question("it", 4210, assignment, &req.code);
        let done = q.buttons[0][0].data.clone();
        // Fatima presses Samira's [Svolto]: refused, in words; the job stays open.
        let forged = w.fake.push_callback(4211, 4211, 1, &done);
        assert_eq!(w.answer(&forged).await.as_deref(), Some("Non autorizzato."));
        // So does the requester.
        let forged = w.fake.push_callback(4200, 4200, 1, &done);
        assert_eq!(w.answer(&forged).await.as_deref(), Some("Non autorizzato."));
        let a0 = &w.store().assignments_for_request(req.id).await.unwrap()[0];
        assert_eq!(a0.status, connecting::domain::AssignmentStatus::Active);
        assert!(
            !actions(w.store(), req.id)
                .await
                .contains(&"outcome".to_string())
        );
        // A coordinator may, on her behalf.
        let by_coord = w.fake.push_callback(4220, 4220, 1, &done);
        assert_eq!(
            w.answer(&by_coord).await.as_deref(),
            Some("Grazie! Segnato come svolto.")
        );
        let a0 = &w.store().assignments_for_request(req.id).await.unwrap()[0];
        assert_eq!(a0.status, connecting::domain::AssignmentStatus::Done);
        assert_eq!(
            w.store().request_by_id(req.id).await.unwrap().status,
            RequestStatus::Done
        );
        let trail = w.store().audit_trail(req.id).await.unwrap();
        assert!(
            trail
                .iter()
                .any(|e| e.action == "outcome" && e.actor.starts_with("coordinator:")),
            "{trail:?}"
        );
        w.stop().await;
    }
);

// ----- email follow-ups -----

fn mail(from: &str, subject: &str, id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: info@coop.example\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Mon, 1 Mar 2027 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

fn email_intake(store: &Store) -> Intake {
    let mut c = IntakeConfig::new("info@coop.example", "connecting.coop.example");
    c.allowed_sender_domains = vec!["comune.example.it".into()];
    // A coordinator's powers by email need our receiving server's DMARC pass.
    c.trusted_authserv_id = Some("mx.coop.example".into());
    let clock = ManualClock::new(Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap());
    Intake::new(
        store.clone(),
        c,
        Arc::new(clock),
        connecting::renderers::channels(),
    )
}

async fn emails_to(store: &Store, to: &str) -> Vec<connecting::outbox::EmailPayload> {
    store
        .outbox_all()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.payload {
            Payload::Email(e) if e.to == to => Some(e),
            _ => None,
        })
        .collect()
}

both_backends!(
    operator_b_cannot_cancel_or_change_operator_a_request_by_email,
    |db| async move {
        let mut w = World::new(db).await;
        let a = w.operator("Anna Verdi", None).await;
        w.operator("Luca Neri", None).await;
        coordinator(w.store(), None, Some("carla@coop.example")).await;
        let req = request_of(&w, a, RequestStatus::NeedsInfo).await;
        let intake = email_intake(w.store());
        let subject = format!("Re: [{}] Richiesta", req.code);
        // Luca (registered, same domain) cancels Anna's request: refused, told so, unchanged.
        let out = intake
            .process(&mail(
                "luca.neri@comune.example.it",
                &subject,
                "b-cancel@comune.example.it",
                "Buongiorno, annullo la richiesta.",
            ))
            .await
            .unwrap();
        assert_eq!(out, Outcome::Refused { request_id: req.id });
        // A stranger on the allowed domain: refused the same way.
        let out = intake
            .process(&mail(
                "segreteria@comune.example.it",
                &subject,
                "c-cancel@comune.example.it",
                "Annullo la richiesta.",
            ))
            .await
            .unwrap();
        assert_eq!(out, Outcome::Refused { request_id: req.id });
        // Luca adds "information": nothing merged.
        let out = intake
            .process(&mail(
                "luca.neri@comune.example.it",
                &subject,
                "b-info@comune.example.it",
                "Il colloquio è il 20/03/2027 alle 9:00, durata 1 ora, in via Lunga 3.",
            ))
            .await
            .unwrap();
        assert_eq!(out, Outcome::Refused { request_id: req.id });
        let after = w.store().request(req.code).await.unwrap();
        assert_eq!(after.status, RequestStatus::NeedsInfo);
        assert_eq!(after.date, req.date);
        assert_eq!(after.address, req.address);
        let told = emails_to(w.store(), "luca.neri@comune.example.it").await;
        assert_eq!(told.len(), 2, "{told:?}");
        assert!(
            told[0]
                .body
                .contains("non risulta tra quelle inviate da questo indirizzo"),
            "{}",
            told[0].body
        );
        assert!(!told[0].body.contains("Via Roma"), "{}", told[0].body);
        let trail = actions(w.store(), req.id).await;
        assert!(
            trail.contains(&"cancellation_refused".to_string()),
            "{trail:?}"
        );
        assert!(
            trail.contains(&"follow_up_refused".to_string()),
            "{trail:?}"
        );
        let inbound = w.store().inbound("email", None).await.unwrap();
        assert!(inbound.iter().all(|i| i.status == "refused"), "{inbound:?}");
        // The coordinator's address alone proves nothing: by email she acts as a requester,
        // and this request is not hers.
        let carla = mail(
            "Carla <carla@coop.example>",
            &subject,
            "coord-cancel@coop.example",
            "Annullo la richiesta.",
        );
        let out = intake.process(&carla).await.unwrap();
        assert_eq!(out, Outcome::Refused { request_id: req.id });
        assert_eq!(
            w.store().request(req.code).await.unwrap().status,
            RequestStatus::NeedsInfo
        );
        // Once our receiving server vouches for her domain (DMARC), she has her coordinator's
        // powers.
        let mut vouched =
            b"Authentication-Results: mx.coop.example; dmarc=pass header.from=coop.example\r\n"
                .to_vec();
        vouched.extend(mail(
            "Carla <carla@coop.example>",
            &subject,
            "coord-cancel-vouched@coop.example",
            "Annullo la richiesta.",
        ));
        let out = intake.process(&vouched).await.unwrap();
        assert!(matches!(out, Outcome::Cancelled { .. }), "{out:?}");
        assert_eq!(
            w.store().request(req.code).await.unwrap().status,
            RequestStatus::Cancelled
        );
        w.stop().await;
    }
);

both_backends!(
    the_requester_cancels_by_email_an_unknown_sender_is_held,
    |db| async move {
        let mut w = World::new(db).await;
        let a = w.operator("Anna Verdi", None).await;
        let req = request_of(&w, a, RequestStatus::Queued).await;
        let intake = email_intake(w.store());
        let subject = format!("Re: [{}] Richiesta", req.code);
        // Someone outside the lists: held for a coordinator, never answered.
        let out = intake
            .process(&mail(
                "x@elsewhere.example",
                &subject,
                "x-cancel@elsewhere.example",
                "Annullo la richiesta.",
            ))
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Held { .. }), "{out:?}");
        assert!(emails_to(w.store(), "x@elsewhere.example").await.is_empty());
        assert_eq!(
            w.store().request(req.code).await.unwrap().status,
            RequestStatus::Queued
        );
        let out = intake
            .process(&mail(
                "Anna Verdi <anna.verdi@comune.example.it>",
                &subject,
                "a-cancel@comune.example.it",
                "Annullo la richiesta.",
            ))
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Cancelled { .. }), "{out:?}");
        w.stop().await;
    }
);

// ----- the CLI -----

both_backends!(
    the_cli_ingests_a_foreign_cancellation_as_refused_and_cancels_as_coordinator,
    |db| async move {
        let mut w = World::new(db).await;
        let a = w.operator("Anna Verdi", None).await;
        w.operator("Luca Neri", None).await;
        let req = request_of(&w, a, RequestStatus::Queued).await;
        let dir = tempfile::tempdir().unwrap();
        let eml = dir.path().join("luca.eml");
        std::fs::write(
            &eml,
            mail(
                "luca.neri@comune.example.it",
                &format!("Re: [{}] Richiesta", req.code),
                "cli-b-cancel@comune.example.it",
                "Annullo la richiesta.",
            ),
        )
        .unwrap();
        let run = |args: &[&str]| {
            std::process::Command::new(env!("CARGO_BIN_EXE_connecting"))
                .args(args)
                .current_dir(dir.path())
                .env("CONNECTING_DATABASE_URL", &w.db.url)
                .env("CONNECTING_LOG", "warn")
                .output()
                .expect("run connecting")
        };
        // On behalf of the sender: the table refuses, the CLI says so, nothing changes.
        let o = run(&["ingest", eml.to_str().unwrap(), "--json"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(report["refused"], 1, "{report}");
        assert_eq!(report["cancelled"], 0, "{report}");
        assert_eq!(
            w.store().request(req.code).await.unwrap().status,
            RequestStatus::Queued
        );
        // As itself the CLI has coordinator rights.
        let o = run(&["request", "cancel", &req.code.to_string()]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(
            w.store().request(req.code).await.unwrap().status,
            RequestStatus::Cancelled
        );
        w.stop().await;
    }
);

// ----- the core's use cases, as the web console will call them -----

/// Runs one use case in its own transaction (committed when it succeeds, rolled back when it
/// refuses) and gives its result.
macro_rules! core {
    ($store:expr, |$tx:ident| $body:expr) => {{
        let mut tx = $store.begin().await.unwrap();
        let r = {
            let $tx = &mut tx;
            $body.await
        };
        if r.is_ok() {
            tx.commit().await.unwrap();
        } else {
            tx.rollback().await.unwrap();
        }
        r
    }};
}

fn denied<T: std::fmt::Debug>(r: Result<T, connecting::app::AppError>, who: &str) {
    assert!(
        matches!(r, Err(connecting::app::AppError::Denied(_))),
        "{who}: {r:?}"
    );
}

both_backends!(
    every_use_case_asks_the_table_once_and_a_refusal_changes_nothing,
    |db| async move {
        use connecting::app::{
            account, alert, answer, assign, cancel, create, evaluation, follow_up, outcome,
            reschedule, review, wave,
        };
        let w = World::new(db).await;
        let s = w.store().clone();
        let now = w.clock.now();
        let core = connecting::renderers::core(Default::default());
        let a = w.operator("Anna Verdi", Some(4300)).await;
        let b = w.operator("Bruno Neri", Some(4301)).await;
        let m = w.mediator("Samira", 4310).await;
        let n = w.mediator("Fatima", 4311).await;
        let c = coordinator(&s, Some(4320), None).await;
        let op = |id: i64, chat: i64| Actor::Operator {
            id: Some(id),
            email: None,
            chat_id: Some(chat),
            active: true,
        };
        let (anna, bruno) = (op(a, 4300), op(b, 4301));
        let (samira, fatima) = (
            Actor::Mediator {
                id: m,
                active: true,
            },
            Actor::Mediator {
                id: n,
                active: true,
            },
        );
        let coord = Actor::Coordinator { id: c };
        let system = Actor::System {
            process: "dispatch",
        };
        let status = |id: i64| {
            let s = s.clone();
            async move { s.request_by_id(id).await.unwrap().status }
        };

        // Open a request: not a mediator; the requester may.
        let fields = NewRequest {
            status: Some(RequestStatus::Queued),
            channel: Some(Channel::Telegram),
            operator_id: Some(a),
            requester_chat_id: Some(4300),
            language: Some(LanguageCode::parse("ar").unwrap()),
            ..Default::default()
        };
        denied(
            core!(s, |tx| create::from_draft(&core, tx, &samira, &fields, now)),
            "a mediator opens a request",
        );
        assert!(
            s.requests(&Default::default()).await.unwrap().is_empty(),
            "nothing was opened"
        );
        let r = core!(s, |tx| create::from_draft(&core, tx, &anna, &fields, now)).unwrap();

        // Send a wave: the service (or a coordinator), not a person of another role.
        for (who, actor) in [("the requester", &anna), ("a mediator", &samira)] {
            denied(
                core!(s, |tx| wave::dispatch(&core, tx, actor, r.id, now)),
                who,
            );
        }
        assert_eq!(status(r.id).await, RequestStatus::Queued);
        let sent = core!(s, |tx| wave::dispatch(&core, tx, &system, r.id, now)).unwrap();
        assert!(
            matches!(sent, wave::WaveOutcome::Offered { .. }),
            "{sent:?}"
        );
        let offers = s.offers_for_request(r.id).await.unwrap();
        let to_samira = offers.iter().find(|o| o.mediator_id == m).unwrap().id;
        let to_fatima = offers.iter().find(|o| o.mediator_id == n).unwrap().id;

        // Answer an offer: only the mediator it is addressed to.
        for (who, actor) in [
            ("another mediator", &fatima),
            ("a coordinator", &coord),
            ("the requester", &anna),
        ] {
            denied(
                core!(s, |tx| answer::accept(&core, tx, actor, to_samira, now)),
                who,
            );
            denied(
                core!(s, |tx| answer::decline(&core, tx, actor, to_samira, now)),
                who,
            );
        }
        assert_eq!(status(r.id).await, RequestStatus::Offered);
        // Fatima declines her own; the reason is hers to give, not Samira's.
        assert!(core!(s, |tx| answer::decline(&core, tx, &fatima, to_fatima, now)).unwrap());
        denied(
            core!(s, |tx| answer::decline_reason(
                tx, &samira, to_fatima, "far"
            )),
            "another mediator gives the reason",
        );
        assert!(
            core!(s, |tx| answer::decline_reason(
                tx, &fatima, to_fatima, "far"
            ))
            .unwrap()
        );
        let won = core!(s, |tx| answer::accept(&core, tx, &samira, to_samira, now)).unwrap();
        let answer::Accepted::Won(won) = won else {
            panic!("{won:?}")
        };
        // (the running bot's outbox worker may already have delivered the requester's
        // confirmation, which confirms the request: seen once under load)
        let now_status = status(r.id).await;
        assert!(
            matches!(
                now_status,
                RequestStatus::Assigned | RequestStatus::Confirmed
            ),
            "{now_status:?}"
        );

        // The outcome and the hours: the assigned mediator or a coordinator.
        let job = won.assignment_id;
        for (who, actor) in [("another mediator", &fatima), ("the requester", &anna)] {
            denied(
                core!(s, |tx| outcome::record(
                    &core, tx, actor, job, true, None, now
                )),
                who,
            );
            denied(
                core!(s, |tx| outcome::hours(&core, tx, actor, job, 120, now)),
                who,
            );
        }
        // Refused: no outcome recorded. (The bot's outbox worker may meanwhile have delivered
        // the requester's confirmation, which confirms the request.)
        assert!(
            matches!(
                status(r.id).await,
                RequestStatus::Assigned | RequestStatus::Confirmed
            ),
            "a refused outcome changes nothing"
        );
        assert!(
            core!(s, |tx| outcome::record(
                &core, tx, &coord, job, true, None, now
            ))
            .unwrap()
        );
        assert!(core!(s, |tx| outcome::hours(&core, tx, &samira, job, 120, now)).unwrap());
        assert_eq!(status(r.id).await, RequestStatus::Done);

        // The hours: the requester confirms them; not another operator, nor the mediator, and a
        // coordinator settles only a dispute.
        let confirm = account::HoursAnswer::Confirm;
        for (who, actor) in [("another operator", &bruno), ("the mediator", &samira)] {
            denied(
                core!(s, |tx| account::answer(&core, tx, actor, job, confirm, now)),
                who,
            );
        }
        denied(
            core!(s, |tx| account::settle(&core, tx, &anna, job, 60, now)),
            "the requester settles",
        );
        let checks = s.hours_checks(r.id).await.unwrap();
        assert_eq!(
            checks[0].status.as_str(),
            "asked",
            "a refusal changes nothing"
        );
        assert_eq!(
            core!(s, |tx| account::answer(&core, tx, &anna, job, confirm, now)).unwrap(),
            account::Answered::Confirmed { minutes: 120 }
        );
        assert!(!core!(s, |tx| account::settle(&core, tx, &coord, job, 60, now)).unwrap());

        // The evaluation: the requester (or a coordinator), not another operator.
        denied(
            core!(s, |tx| evaluation::evaluate(
                &core, tx, &bruno, r.id, 5, None, now
            )),
            "another operator evaluates",
        );
        assert_eq!(s.evaluation(r.id).await.unwrap(), None);
        core!(s, |tx| evaluation::evaluate(
            &core, tx, &anna, r.id, 4, None, now
        ))
        .unwrap();
        assert_eq!(s.evaluation(r.id).await.unwrap().map(|e| e.0), Some(4));

        // More information: the requester's own request only.
        let draft = request_of(&w, a, RequestStatus::NeedsInfo).await;
        let update = NewRequest {
            comune: Some("Seriate".into()),
            ..Default::default()
        };
        let more = || follow_up::Update {
            fields: &update,
            complete: false,
        };
        denied(
            core!(s, |tx| follow_up::add_info(
                &core,
                tx,
                &bruno,
                &draft,
                Some(more()),
                "test",
                now
            )),
            "another operator adds information",
        );
        assert_eq!(s.request_by_id(draft.id).await.unwrap().comune, None);
        core!(s, |tx| follow_up::add_info(
            &core,
            tx,
            &anna,
            &draft,
            Some(more()),
            "test",
            now
        ))
        .unwrap();
        assert_eq!(
            s.request_by_id(draft.id).await.unwrap().comune.as_deref(),
            Some("Seriate")
        );

        // Cancel: the requester or a coordinator; not another operator, not a mediator.
        let open = request_of(&w, a, RequestStatus::Queued).await;
        for (who, actor) in [("another operator", &bruno), ("a mediator", &samira)] {
            denied(
                core!(s, |tx| cancel::cancel(&core, tx, actor, open.id, now)),
                who,
            );
        }
        assert_eq!(status(open.id).await, RequestStatus::Queued);

        // Assign by hand: coordinators and the CLI only.
        for (who, actor) in [("the requester", &anna), ("a mediator", &samira)] {
            denied(
                core!(s, |tx| assign::by_hand(&core, tx, actor, open.code, m, now)),
                who,
            );
        }
        assert_eq!(status(open.id).await, RequestStatus::Queued);
        core!(s, |tx| assign::by_hand(
            &core, tx, &coord, open.code, m, now
        ))
        .unwrap();
        assert_eq!(status(open.id).await, RequestStatus::Assigned);

        // Move it to another time: the requester or a coordinator; not another operator, not
        // a mediator (not even the assigned one: she answers the question instead).
        let later = reschedule::When {
            date: chrono::NaiveDate::from_ymd_opt(2027, 3, 12).unwrap(),
            start: chrono::NaiveTime::from_hms_opt(11, 0, 0).unwrap(),
            duration_minutes: None,
        };
        for (who, actor) in [("another operator", &bruno), ("the mediator", &samira)] {
            denied(
                core!(s, |tx| reschedule::reschedule(
                    &core, tx, actor, open.id, later, now
                )),
                who,
            );
        }
        for actor in [&anna, &coord] {
            // Allowed by the table; this request has no time to move (nothing changes).
            let r = core!(s, |tx| reschedule::reschedule(
                &core, tx, actor, open.id, later, now
            ));
            assert!(
                matches!(r, Err(connecting::app::AppError::WrongState { .. })),
                "{r:?}"
            );
        }
        assert_eq!(s.request_by_id(open.id).await.unwrap().date, None);
        core!(s, |tx| cancel::cancel(&core, tx, &anna, open.id, now)).unwrap();
        assert_eq!(status(open.id).await, RequestStatus::Cancelled);

        // Review held mail: coordinators and the CLI only.
        let held = request_of(&w, a, RequestStatus::NeedsReview).await;
        let other = request_of(&w, a, RequestStatus::NeedsReview).await;
        for (who, actor) in [("the requester", &anna), ("a mediator", &samira)] {
            denied(
                core!(s, |tx| review::accept(&core, tx, actor, held.id, now)),
                who,
            );
            denied(
                core!(s, |tx| review::reject(&core, tx, actor, held.id, now)),
                who,
            );
        }
        assert_eq!(status(held.id).await, RequestStatus::NeedsReview);
        core!(s, |tx| review::accept(&core, tx, &Actor::Cli, held.id, now)).unwrap();
        assert_eq!(status(held.id).await, RequestStatus::Queued);
        core!(s, |tx| review::reject(&core, tx, &coord, other.id, now)).unwrap();
        assert_eq!(status(other.id).await, RequestStatus::Cancelled);

        // Alert the coordinators: the service's own work, not a person's.
        let alarm = alert::Alert::Text {
            key: "test".into(),
            request_id: None,
            subject: "Prova".into(),
            text: "Prova".into(),
        };
        denied(
            core!(s, |tx| alert::raise_as(&core, tx, &anna, &alarm, now)),
            "an operator alerts the coordinators",
        );
        let told = core!(s, |tx| alert::raise_as(&core, tx, &system, &alarm, now)).unwrap();
        assert_eq!(told.len(), 1, "one coordinator, one alert");
    }
);
