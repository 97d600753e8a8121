//! One cancellation for every entry point (issue 12, item 2): request -> offer -> accept ->
//! cancellation by the requester, whether it comes by email (the intake, in its own
//! transaction), from a coordinator's review of held mail, or from the bot/CLI path
//! (`Dispatcher::cancel`): the assignment is closed, the mediator is told in words, no reminder
//! and no "si è svolto?" question fires afterwards, and under 24 hours the cancellation is late.
//! Also: an evaluation before the appointment has happened is refused.

#[path = "support/common.rs"]
mod common;
#[path = "support/dispatch.rs"]
mod dispatch_support;

use chrono::Duration;
use connecting::app::AppError;
use connecting::authz::Actor;
use connecting::channels::email::{Intake, IntakeConfig, Outcome};
use connecting::dispatch::{AcceptOutcome, Canceller, DispatchError, DispatchSettings};
use connecting::domain::{RequestCode, RequestStatus};
use dispatch_support::*;
use std::sync::Arc;

const REQUESTER: &str = "laura.rossi@comune.dalmine.bg.it";

fn intake(w: &World) -> Intake {
    let mut c = IntakeConfig::new("info@coop.example", "connecting.coop.example");
    c.allowed_sender_domains = vec!["comune.dalmine.bg.it".into()];
    Intake::new(
        w.store.clone(),
        c,
        Arc::new(w.clock.clone()),
        connecting::renderers::channels(),
    )
}

fn cancellation_mail(from: &str, code: RequestCode, id: &str) -> Vec<u8> {
    format!(
        "From: Laura Rossi <{from}>\r\nTo: info@coop.example\r\nSubject: Re: [{code}] Richiesta mediatrice\r\n\
         Message-ID: <{id}>\r\nIn-Reply-To: <req-1@comune.dalmine.bg.it>\r\n\
         Date: Mon, 1 Mar 2027 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Buongiorno, annullo la richiesta {code}: la famiglia si è trasferita.\r\nLaura\r\n"
    )
    .into_bytes()
}

/// A request for Tuesday 2 March 08:00 (23 hours after "now"), offered and accepted by Samira.
async fn accepted(w: &World) -> (RequestCode, i64) {
    let samira = w.mediator("Samira", 101, &["ar"]).await;
    let code = w.request("ar", d(2027, 3, 2), t(8, 0), 90, None).await;
    w.dispatcher.dispatch(code).await.unwrap();
    let id = w.store.request(code).await.unwrap().id;
    let offer = w.store.offers_for_request(id).await.unwrap().remove(0);
    assert!(matches!(
        w.dispatcher.accept(offer.id, samira.id).await.unwrap(),
        AcceptOutcome::Assigned { .. }
    ));
    assert!(
        !w.store.pending_timers(id).await.unwrap().is_empty(),
        "reminders and the after-the-end question are scheduled"
    );
    (code, id)
}

/// What every entry point must leave behind.
async fn assert_cancelled_story(w: &World, code: RequestCode, id: i64) {
    let req = w.store.request(code).await.unwrap();
    assert_eq!(req.status, RequestStatus::Cancelled);
    assert!(req.late_cancellation, "23 hours ahead is late");
    let a = &w.store.assignments_for_request(id).await.unwrap()[0];
    assert_eq!(
        a.status,
        connecting::domain::AssignmentStatus::Cancelled,
        "the assignment is closed"
    );
    let told = w
        .outbox(code)
        .await
        .into_iter()
        .find(|r| r.idempotency_key.starts_with("cancel:"))
        .expect("the mediator is told");
    assert_eq!(chat_of(&told), Some(101));
    let text = text_of(&told);
    assert!(text.contains("annullata"), "{text}");
    assert!(text.contains("martedì 2 marzo, 08:00"), "{text}");
    assert!(text.contains("meno di 24 ore"), "{text}");
    assert!(
        w.store.pending_timers(id).await.unwrap().is_empty(),
        "no reminder, no question left"
    );
    // Past the appointment: nothing more is sent to anyone.
    let before = w.outbox(code).await.len();
    w.clock.advance(Duration::days(2));
    w.dispatcher.run_due_timers().await.unwrap();
    let after = w.outbox(code).await;
    assert_eq!(after.len(), before, "{after:#?}");
    assert!(
        !after
            .iter()
            .any(|r| r.idempotency_key.starts_with("timer:")
                || r.idempotency_key.starts_with("eval:")),
        "no reminder nor question fired"
    );
}

both_backends!(
    an_email_cancellation_after_assignment_tells_the_mediator,
    |db| async move {
        let w = World::new(
            db.store.clone(),
            at_rome(2027, 3, 1, 9, 0),
            DispatchSettings::default(),
        )
        .await;
        let (code, id) = accepted(&w).await;
        let out = intake(&w)
            .process(&cancellation_mail(
                REQUESTER,
                code,
                "cancel-1@comune.dalmine.bg.it",
            ))
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Cancelled { .. }), "{out:?}");
        assert_cancelled_story(&w, code, id).await;
        // The requester still gets the intake's answer on her thread.
        assert!(
            w.outbox(code)
                .await
                .iter()
                .any(|r| r.idempotency_key.starts_with("email:cancel:")),
            "the cancellation is confirmed to the requester"
        );
    }
);

both_backends!(
    a_cancellation_by_bot_or_cli_is_the_same_story,
    |db| async move {
        let w = World::new(
            db.store.clone(),
            at_rome(2027, 3, 1, 9, 0),
            DispatchSettings::default(),
        )
        .await;
        let (code, id) = accepted(&w).await;
        assert!(
            w.dispatcher
                .cancel(code, Canceller::Requester)
                .await
                .unwrap(),
            "late"
        );
        assert_cancelled_story(&w, code, id).await;
    }
);

both_backends!(
    the_core_cancels_in_the_callers_transaction,
    |db| async move {
        let w = World::new(
            db.store.clone(),
            at_rome(2027, 3, 1, 9, 0),
            DispatchSettings::default(),
        )
        .await;
        let (code, id) = accepted(&w).await;
        let core = w.dispatcher.core().clone();
        // Rolled back: nothing happened, nothing was queued.
        let before = w.outbox(code).await.len();
        let mut tx = w.store.begin().await.unwrap();
        let c = connecting::app::cancel::cancel(&core, &mut tx, &Actor::Cli, id, w.clock_now())
            .await
            .unwrap();
        assert!(c.late);
        // The mediator is told, and the requester too (someone else cancelled), with a CANCEL.
        assert_eq!(c.notices.len(), 2, "{:?}", c.notices);
        assert!(c.notices.iter().any(|n| matches!(
            n,
            connecting::app::notice::Notice::Cancellation {
                to_requester: true,
                ..
            }
        )));
        tx.rollback().await.unwrap();
        assert_eq!(w.status(code).await, RequestStatus::Assigned);
        assert_eq!(w.outbox(code).await.len(), before);
        // Someone else's request: refused by the one authorisation table, nothing changes.
        let mut tx = w.store.begin().await.unwrap();
        let stranger = Actor::Operator {
            id: None,
            email: Some("someone@comune.example.it".into()),
            chat_id: None,
            active: true,
        };
        let e = connecting::app::cancel::cancel(&core, &mut tx, &stranger, id, w.clock_now())
            .await
            .unwrap_err();
        assert!(matches!(e, AppError::Denied(_)), "{e:?}");
        tx.rollback().await.unwrap();
        // Committed: the story.
        let mut tx = w.store.begin().await.unwrap();
        connecting::app::cancel::cancel(&core, &mut tx, &Actor::Cli, id, w.clock_now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_cancelled_story(&w, code, id).await;
    }
);

both_backends!(
    a_rejected_held_email_is_cancelled_by_the_core,
    |db| async move {
        let w = World::new(
            db.store.clone(),
            at_rome(2027, 3, 1, 9, 0),
            DispatchSettings::default(),
        )
        .await;
        let raw: &str = "From: Ignoto <ignoto@altrove.example>\r\nTo: info@coop.example\r\nSubject: Richiesta\r\n\
         Message-ID: <held-1@altrove.example>\r\nDate: Mon, 1 Mar 2027 10:00:00 +0100\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n\
         Serve un mediatore di lingua araba il 12/03/2027 alle 10 a Dalmine, colloquio.\r\n";
        let intake = intake(&w);
        let Outcome::Held {
            request_id: Some(id),
        } = intake.process(raw.as_bytes()).await.unwrap()
        else {
            panic!("held")
        };
        let out = intake
            .review_held(id, false, "coordinator:1")
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Cancelled { .. }), "{out:?}");
        let req = w.store.request_by_id(id).await.unwrap();
        assert_eq!(req.status, RequestStatus::Cancelled);
        let trail: Vec<(String, String)> = w
            .store
            .audit_trail(id)
            .await
            .unwrap()
            .into_iter()
            .map(|a| (a.actor, a.action))
            .collect();
        assert!(
            trail.contains(&("coordinator:1".into(), "cancelled".into())),
            "{trail:?}"
        );
        assert!(
            trail.contains(&("coordinator:1".into(), "review_rejected".into())),
            "{trail:?}"
        );
    }
);

both_backends!(
    an_evaluation_before_the_appointment_is_refused,
    |db| async move {
        let w = World::new(
            db.store.clone(),
            at_rome(2027, 3, 1, 9, 0),
            DispatchSettings::default(),
        )
        .await;
        let (code, _) = accepted(&w).await;
        let e = w
            .dispatcher
            .record_evaluation(code, 5, None)
            .await
            .unwrap_err();
        assert!(matches!(e, DispatchError::TooEarly(_)), "{e:?}");
        let id = w.store.request(code).await.unwrap().id;
        assert_eq!(w.store.evaluation(id).await.unwrap(), None);
        // After the end (08:00 + 90 min) it is the requester's to give.
        w.clock.advance(Duration::hours(25));
        w.dispatcher.record_evaluation(code, 5, None).await.unwrap();
        assert_eq!(w.store.evaluation(id).await.unwrap(), Some((5, None)));
    }
);

both_backends!(
    an_email_evaluation_before_the_appointment_is_kept_not_stored,
    |db| async move {
        let w = World::new(
            db.store.clone(),
            at_rome(2027, 3, 1, 9, 0),
            DispatchSettings::default(),
        )
        .await;
        let (code, id) = accepted(&w).await;
        let reply = format!(
            "From: Laura Rossi <{REQUESTER}>\r\nTo: info@coop.example\r\nSubject: Re: [{code}] Richiesta mediatrice\r\n\
             Message-ID: <eval-early@comune.dalmine.bg.it>\r\nIn-Reply-To: <req-1@comune.dalmine.bg.it>\r\n\
             Date: Mon, 1 Mar 2027 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n5\r\n"
        );
        let out = intake(&w).process(reply.as_bytes()).await.unwrap();
        assert_eq!(
            out,
            Outcome::Recorded {
                kind: "follow_up".into()
            }
        );
        assert_eq!(w.store.evaluation(id).await.unwrap(), None);
        let trail: Vec<String> = w
            .store
            .audit_trail(id)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.action)
            .collect();
        assert!(
            trail.contains(&"evaluation_refused".to_string()),
            "{trail:?}"
        );
    }
);
