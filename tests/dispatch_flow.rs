//! Dispatch scenarios on SQLite and PostgreSQL with a manual clock: waves and escalation,
//! continuity and fairness, overlapping jobs, acceptance messages, cancellation notices,
//! reminders across a daylight-saving change, outcome and evaluation.

#[path = "support/common.rs"]
mod common;
#[path = "support/dispatch.rs"]
mod dispatch_support;

use chrono::Duration;
use connecting::dispatch::{
    AcceptOutcome, Canceller, DispatchSettings, EscalationReason, WaveOutcome,
};
use connecting::domain::{Gender, RequestStatus};
use connecting::outbox::Payload;
use dispatch_support::*;

fn settings(wave_size: usize) -> DispatchSettings {
    DispatchSettings {
        wave_size,
        offer_timeout_minutes: 60,
        urgent_offer_timeout_minutes: 15,
        travel_buffer_minutes: 30,
        ..Default::default()
    }
}

both_backends!(
    waves_then_escalation_alerts_the_coordinator,
    |db| async move {
        let w = World::new(db.store.clone(), at_rome(2027, 3, 1, 9, 0), settings(2)).await;
        let mut ids = vec![];
        for i in 0..5 {
            ids.push(w.mediator(&format!("M{i}"), 100 + i, &["ar"]).await.id);
        }
        w.mediator("Urdu", 200, &["ur"]).await;
        let code = w.request("ar", d(2027, 3, 10), t(10, 0), 120, None).await;

        let first = w.dispatcher.dispatch(code).await.unwrap();
        assert_eq!(
            first,
            WaveOutcome::Offered {
                wave: 1,
                mediators: ids[0..2].to_vec()
            }
        );
        assert_eq!(w.status(code).await, RequestStatus::Offered);
        // Nothing fires before the timeout.
        w.clock.advance(Duration::minutes(59));
        assert_eq!(w.dispatcher.run_due_timers().await.unwrap(), 0);
        w.clock.advance(Duration::minutes(1));
        assert_eq!(w.dispatcher.run_due_timers().await.unwrap(), 1);
        let req_id = w.store.request(code).await.unwrap().id;
        let offers = w.store.offers_for_request(req_id).await.unwrap();
        assert_eq!(offers.len(), 4);
        assert!(
            offers[..2]
                .iter()
                .all(|o| o.state == connecting::domain::OfferState::Expired && o.wave == 1)
        );
        assert!(
            offers[2..]
                .iter()
                .all(|o| o.state == connecting::domain::OfferState::Open && o.wave == 2)
        );
        // A decline of the whole third wave moves on at once, without waiting.
        w.clock.advance(Duration::minutes(60));
        w.dispatcher.run_due_timers().await.unwrap();
        let offers = w.store.offers_for_request(req_id).await.unwrap();
        let last = offers.last().unwrap();
        assert_eq!((last.wave, last.mediator_id), (3, ids[4]));
        assert!(
            w.dispatcher
                .decline(last.id, last.mediator_id)
                .await
                .unwrap()
        );
        assert!(
            !w.dispatcher
                .decline(last.id, last.mediator_id)
                .await
                .unwrap(),
            "declining twice changes nothing"
        );
        assert_eq!(w.status(code).await, RequestStatus::Escalated);
        let alerts: Vec<_> = w
            .outbox(code)
            .await
            .into_iter()
            .filter(|r| r.idempotency_key.starts_with("esc:"))
            .collect();
        assert_eq!(alerts.len(), 1);
        assert_eq!(chat_of(&alerts[0]), Some(900));
        assert!(text_of(&alerts[0]).contains(&code.to_string()));
        assert!(text_of(&alerts[0]).contains("tutti hanno rifiutato"));
        // No timer is left behind.
        assert!(w.store.pending_timers(req_id).await.unwrap().is_empty());
    }
);

both_backends!(
    nobody_eligible_escalates_at_once_and_urgent_waves_are_shorter,
    |db| async move {
        let w = World::new(db.store.clone(), at_rome(2027, 3, 1, 9, 0), settings(3)).await;
        w.mediator("Urdu", 200, &["ur"]).await;
        let code = w.request("ti", d(2027, 3, 10), t(10, 0), 60, None).await;
        assert_eq!(
            w.dispatcher.dispatch(code).await.unwrap(),
            WaveOutcome::Escalated(EscalationReason::NobodyEligible)
        );
        let alert = w.outbox(code).await;
        assert!(
            text_of(&alert[0]).contains("nessuno idoneo"),
            "{}",
            text_of(&alert[0])
        );
        // The coordinator assigns by hand.
        let m = w.mediator("Tigrinya", 300, &["ti"]).await;
        w.dispatcher
            .assign(code, m.id, "coordinator:1")
            .await
            .unwrap();
        assert_eq!(w.status(code).await, RequestStatus::Assigned);

        // An urgent request's wave expires after urgent_offer_timeout_minutes.
        let code = w
            .request_with("ur", d(2027, 3, 2), t(10, 0), 60, |r| r.urgent = true)
            .await;
        let id = w.store.request(code).await.unwrap().id;
        w.dispatcher.dispatch(code).await.unwrap();
        let timers = w.store.pending_timers(id).await.unwrap();
        assert_eq!(
            timers,
            vec![(
                "offer_wave".to_string(),
                w.clock_now() + Duration::minutes(15)
            )]
        );
    }
);

both_backends!(continuity_then_fairness_order_the_offers, |db| async move {
    let w = World::new(db.store.clone(), at_rome(2027, 3, 1, 9, 0), settings(3)).await;
    let knows_case = w.mediator("Knows", 101, &["ar"]).await;
    let few_hours = w.mediator("Few", 102, &["ar"]).await;
    let many_hours = w.mediator("Many", 103, &["ar"]).await;
    // Past work in the last 30 days: "Knows" did 3 h on this case, "Many" 2 h elsewhere.
    w.clock.set(at_rome(2027, 2, 10, 9, 0));
    let old_case = w
        .request("ar", d(2027, 2, 15), t(9, 0), 180, Some("TM-117"))
        .await;
    w.dispatcher
        .assign(old_case, knows_case.id, "cli")
        .await
        .unwrap();
    let other = w.request("ar", d(2027, 2, 16), t(9, 0), 120, None).await;
    w.dispatcher
        .assign(other, many_hours.id, "cli")
        .await
        .unwrap();
    w.clock.set(at_rome(2027, 3, 1, 9, 0));

    let same_case = w
        .request("ar", d(2027, 3, 10), t(10, 0), 60, Some("TM-117"))
        .await;
    let r = w
        .dispatcher
        .candidates(&w.store.request(same_case).await.unwrap())
        .await
        .unwrap();
    let order: Vec<i64> = r.candidates.iter().map(|c| c.mediator_id).collect();
    assert_eq!(order, vec![knows_case.id, few_hours.id, many_hours.id]);
    assert!(r.candidates[0].continuity);
    assert_eq!(r.candidates[2].minutes_last_30_days, 120);

    let new_case = w.request("ar", d(2027, 3, 10), t(10, 0), 60, None).await;
    let WaveOutcome::Offered { mediators, .. } = w.dispatcher.dispatch(new_case).await.unwrap()
    else {
        panic!("expected offers")
    };
    assert_eq!(mediators, vec![few_hours.id, many_hours.id, knows_case.id]);
});

both_backends!(
    overlapping_jobs_are_excluded_travel_buffer_included,
    |db| async move {
        let w = World::new(db.store.clone(), at_rome(2027, 3, 1, 9, 0), settings(3)).await;
        let busy = w.mediator("Busy", 101, &["ar"]).await;
        let free = w.mediator("Free", 102, &["ar"]).await;
        let morning = w.request("ar", d(2027, 3, 10), t(10, 0), 120, None).await;
        w.dispatcher.assign(morning, busy.id, "cli").await.unwrap();
        // 12:15 starts 15 minutes after the morning job: within the 30-minute travel buffer.
        let close = w.request("ar", d(2027, 3, 10), t(12, 15), 60, None).await;
        let WaveOutcome::Offered { mediators, .. } = w.dispatcher.dispatch(close).await.unwrap()
        else {
            panic!()
        };
        assert_eq!(mediators, vec![free.id]);
        let r = w
            .dispatcher
            .candidates(&w.store.request(close).await.unwrap())
            .await
            .unwrap();
        assert!(
            r.excluded
                .contains(&(busy.id, connecting::dispatch::Exclusion::Overlap))
        );
        // 12:30 is far enough.
        let later = w.request("ar", d(2027, 3, 10), t(12, 30), 60, None).await;
        let r = w
            .dispatcher
            .candidates(&w.store.request(later).await.unwrap())
            .await
            .unwrap();
        assert!(r.candidates.iter().any(|c| c.mediator_id == busy.id));
    }
);

both_backends!(acceptance_confirms_informs_and_withdraws, |db| async move {
    let w = World::new(db.store.clone(), at_rome(2027, 3, 1, 9, 0), settings(3)).await;
    let a = w.mediator("Amina Benali", 101, &["ar"]).await;
    let b = w.mediator("Bushra", 102, &["ar"]).await;
    let c = w.mediator("Chadia", 103, &["ar"]).await;
    let code = w.request("ar", d(2027, 3, 10), t(10, 0), 120, None).await;
    w.dispatcher.dispatch(code).await.unwrap();
    let req = w.store.request(code).await.unwrap();
    let offers = w.store.offers_for_request(req.id).await.unwrap();
    // Offers carry no names, addresses or case details.
    for row in w.outbox(code).await {
        let text = text_of(&row);
        assert!(
            !text.contains("Via Roma") && !text.contains("Laura"),
            "{text}"
        );
        assert!(
            text.contains(&code.to_string()) && text.contains("mercoledì 10 marzo, 10:00"),
            "{text}"
        );
    }
    // Bushra's offer message was delivered (Telegram message 555); Chadia's not yet.
    let b_offer = offers.iter().find(|o| o.mediator_id == b.id).unwrap();
    let claimed = w
        .store
        .claim_outbox(w.clock_now(), w.clock_now() + Duration::minutes(2), 10)
        .await
        .unwrap();
    let b_row = claimed
        .iter()
        .find(|m| Some(m.id) == b_offer.outbox_id)
        .unwrap();
    assert!(
        w.store
            .mark_outbox_sent(b_row.id, b_row.attempt, Some("555"), w.clock_now())
            .await
            .unwrap()
    );
    for m in claimed.iter().filter(|m| m.id != b_row.id) {
        w.store
            .mark_outbox_retry(m.id, m.attempt, w.clock_now(), "test")
            .await
            .unwrap();
    }

    let a_offer = offers.iter().find(|o| o.mediator_id == a.id).unwrap();
    // Not yours: nothing changes.
    assert_eq!(
        w.dispatcher.accept(a_offer.id, b.id).await.unwrap(),
        AcceptOutcome::NotAvailable
    );
    assert_eq!(w.status(code).await, RequestStatus::Offered);
    let won = w.dispatcher.accept(a_offer.id, a.id).await.unwrap();
    assert!(matches!(won, AcceptOutcome::Assigned { .. }));
    assert_eq!(
        w.dispatcher.accept(b_offer.id, b.id).await.unwrap(),
        AcceptOutcome::NotAvailable
    );
    let req = w.store.request(code).await.unwrap();
    assert_eq!(
        (req.status, req.assigned_mediator_id),
        (RequestStatus::Assigned, Some(a.id))
    );

    let rows = w.outbox(code).await;
    let confirm = rows
        .iter()
        .find(|r| r.idempotency_key.starts_with("confirm:"))
        .unwrap();
    let Payload::Email(e) = &confirm.payload else {
        panic!("email request confirmed by email")
    };
    assert_eq!(e.to, "laura.rossi@comune.dalmine.bg.it");
    assert_eq!(
        e.in_reply_to.as_deref(),
        Some("<req-1@comune.dalmine.bg.it>")
    );
    for needle in [
        "Amina Benali",
        "mercoledì 10 marzo, 10:00",
        "Via Roma 1",
        "Dalmine",
    ] {
        assert!(e.body.contains(needle), "{needle} in {}", e.body);
    }
    let details = rows
        .iter()
        .find(|r| r.idempotency_key.starts_with("details:"))
        .unwrap();
    assert_eq!(chat_of(details), Some(101));
    assert!(text_of(details).contains("Via Roma 1") && text_of(details).contains("Laura Rossi"));
    // Bushra's delivered offer is edited; Chadia's undelivered offer never goes out.
    let b_withdraw = rows
        .iter()
        .find(|r| r.idempotency_key == format!("withdraw:{}", b_offer.id))
        .unwrap();
    let Payload::Telegram(p) = &b_withdraw.payload else {
        panic!()
    };
    assert_eq!(p.edit_message_id, Some(555));
    let c_offer = offers.iter().find(|o| o.mediator_id == c.id).unwrap();
    let c_row = rows
        .iter()
        .find(|r| Some(r.id) == c_offer.outbox_id)
        .unwrap();
    assert_eq!(c_row.status, connecting::domain::OutboxStatus::Cancelled);
    let states: Vec<&str> = w
        .store
        .offers_for_request(req.id)
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.state.as_str())
        .collect();
    assert_eq!(states, vec!["accepted", "withdrawn", "withdrawn"]);
});

both_backends!(
    cancellation_tells_mediator_and_offers_and_marks_late,
    |db| async move {
        let w = World::new(db.store.clone(), at_rome(2027, 3, 1, 9, 0), settings(2)).await;
        let a = w.mediator("Amina", 101, &["ar"]).await;
        let b = w.mediator("Bushra", 102, &["ar"]).await;
        // In time: assigned job cancelled 9 days ahead.
        let code = w.request("ar", d(2027, 3, 10), t(10, 0), 60, None).await;
        w.dispatcher.assign(code, a.id, "cli").await.unwrap();
        assert!(
            !w.dispatcher
                .cancel(code, Canceller::Requester)
                .await
                .unwrap()
        );
        let req = w.store.request(code).await.unwrap();
        assert_eq!(req.status, RequestStatus::Cancelled);
        assert!(!req.late_cancellation);
        let notice = w
            .outbox(code)
            .await
            .into_iter()
            .find(|r| r.idempotency_key.starts_with("cancel:"))
            .unwrap();
        assert_eq!(chat_of(&notice), Some(101));
        assert!(!text_of(&notice).contains("meno di 24"));
        assert!(
            w.store.pending_timers(req.id).await.unwrap().is_empty(),
            "reminders cancelled"
        );
        assert!(
            w.dispatcher
                .cancel(code, Canceller::Requester)
                .await
                .is_err(),
            "cancelled twice"
        );

        // Late: offers out, cancelled by the coordinator 20 hours before.
        let code = w.request("ar", d(2027, 3, 2), t(5, 0), 60, None).await;
        w.dispatcher.dispatch(code).await.unwrap();
        let req = w.store.request(code).await.unwrap();
        let offers = w.store.offers_for_request(req.id).await.unwrap();
        // Both offer messages were delivered.
        let claimed = w
            .store
            .claim_outbox(w.clock_now(), w.clock_now() + Duration::minutes(2), 10)
            .await
            .unwrap();
        for (i, m) in claimed.iter().enumerate() {
            w.store
                .mark_outbox_sent(
                    m.id,
                    m.attempt,
                    Some(&format!("{}", 700 + i)),
                    w.clock_now(),
                )
                .await
                .unwrap();
        }
        assert!(
            w.dispatcher
                .cancel(code, Canceller::Coordinator(1))
                .await
                .unwrap()
        );
        assert!(w.store.request(code).await.unwrap().late_cancellation);
        let rows = w.outbox(code).await;
        for o in &offers {
            let row = rows
                .iter()
                .find(|r| r.idempotency_key == format!("withdraw:{}", o.id))
                .unwrap();
            let Payload::Telegram(p) = &row.payload else {
                panic!()
            };
            assert!(p.edit_message_id.is_some());
            assert!(p.text.contains("annullata"));
            assert!([a.telegram_id, b.telegram_id].contains(&Some(p.chat_id)));
        }
    }
);

both_backends!(reminders_follow_local_time_across_dst, |db| async move {
    // Rome moves to summer time at 02:00 on Sunday 28 March 2027.
    let w = World::new(db.store.clone(), at_rome(2027, 3, 20, 9, 0), settings(1)).await;
    let a = w.mediator("Amina", 101, &["ar"]).await;
    let code = w.request("ar", d(2027, 3, 28), t(10, 0), 90, None).await;
    w.dispatcher.assign(code, a.id, "cli").await.unwrap();
    let id = w.store.request(code).await.unwrap().id;
    let timers = w.store.pending_timers(id).await.unwrap();
    let kinds: Vec<(&str, String)> = timers
        .iter()
        .map(|(k, t)| (k.as_str(), t.to_rfc3339()))
        .collect();
    assert_eq!(
        kinds,
        vec![
            // Saturday 10:00 CET (UTC+1), not 09:00 UTC + 1 h of drift.
            (
                "reminder_day_before",
                "2027-03-27T09:00:00+00:00".to_string()
            ),
            // 08:00 CEST (UTC+2).
            (
                "reminder_two_hours",
                "2027-03-28T06:00:00+00:00".to_string()
            ),
            ("after_end", "2027-03-28T09:30:00+00:00".to_string()),
        ]
    );
    w.clock.set(at_rome(2027, 3, 27, 9, 59));
    assert_eq!(w.dispatcher.run_due_timers().await.unwrap(), 0);
    w.clock.set(at_rome(2027, 3, 27, 10, 0));
    assert_eq!(w.dispatcher.run_due_timers().await.unwrap(), 1);
    w.clock.set(at_rome(2027, 3, 28, 8, 0));
    assert_eq!(w.dispatcher.run_due_timers().await.unwrap(), 1);
    let rows = w.outbox(code).await;
    let reminders: Vec<&str> = rows
        .iter()
        .filter(|r| r.idempotency_key.starts_with("timer:"))
        .map(text_of)
        .collect();
    assert_eq!(reminders.len(), 2);
    assert!(
        reminders[0].starts_with("Promemoria: domani, domenica 28 marzo, 10:00"),
        "{}",
        reminders[0]
    );
    assert!(
        reminders[1].starts_with("Promemoria: oggi alle 10:00"),
        "{}",
        reminders[1]
    );
});

both_backends!(
    after_the_end_outcome_and_evaluation_are_stored,
    |db| async move {
        let w = World::new(db.store.clone(), at_rome(2027, 3, 1, 9, 0), settings(1)).await;
        let a = w
            .mediator_with(
                "Amina",
                101,
                &["ar"],
                Some("lun-ven 08:00-18:00"),
                Some(Gender::F),
            )
            .await;
        let code = w.request("ar", d(2027, 3, 10), t(10, 0), 90, None).await;
        w.dispatcher.dispatch(code).await.unwrap();
        let id = w.store.request(code).await.unwrap().id;
        let offer = w.store.offers_for_request(id).await.unwrap().remove(0);
        let AcceptOutcome::Assigned { assignment_id, .. } =
            w.dispatcher.accept(offer.id, a.id).await.unwrap()
        else {
            panic!()
        };
        // Once the requester's confirmation is delivered the request is confirmed.
        let outbox = connecting::outbox::OutboxWorker::new(
            w.store.clone(),
            std::sync::Arc::new(w.clock.clone()),
            connecting::outbox::Transports {
                telegram: Some(std::sync::Arc::new(Accepting)),
                email: Some(std::sync::Arc::new(Accepting)),
            },
            Default::default(),
        )
        .with_events(connecting::app::delivery::events(
            connecting::renderers::core(Default::default()),
        ));
        assert_eq!(w.status(code).await, RequestStatus::Assigned);
        assert!(outbox.run_once().await.unwrap().sent >= 2);
        assert_eq!(w.status(code).await, RequestStatus::Confirmed);
        w.clock.set(at_rome(2027, 3, 10, 11, 30));
        assert_eq!(
            w.dispatcher.run_due_timers().await.unwrap(),
            3,
            "two reminders and the end"
        );
        let rows = w.outbox(code).await;
        let ask = rows
            .iter()
            .find(|r| text_of(r).contains("si è svolto"))
            .unwrap();
        let Payload::Telegram(p) = &ask.payload else {
            panic!()
        };
        assert_eq!(p.buttons[0][0].data, format!("done:{assignment_id}"));
        let eval = rows
            .iter()
            .find(|r| r.idempotency_key == format!("eval:{id}"))
            .unwrap();
        assert!(
            matches!(&eval.payload, Payload::Email(e) if e.to == "laura.rossi@comune.dalmine.bg.it")
        );

        assert!(
            !w.dispatcher
                .record_outcome(assignment_id, a.id + 99, true, Some(100))
                .await
                .unwrap(),
            "not theirs"
        );
        assert!(
            w.dispatcher
                .record_outcome(assignment_id, a.id, true, Some(100))
                .await
                .unwrap()
        );
        assert!(
            !w.dispatcher
                .record_outcome(assignment_id, a.id, false, None)
                .await
                .unwrap(),
            "only once"
        );
        assert_eq!(w.status(code).await, RequestStatus::Done);
        assert_eq!(
            w.store.assignments_for_request(id).await.unwrap()[0].worked_minutes,
            Some(100)
        );

        assert!(w.dispatcher.record_evaluation(code, 6, None).await.is_err());
        w.dispatcher
            .record_evaluation(code, 4, Some("  puntuale e chiara "))
            .await
            .unwrap();
        assert_eq!(
            w.store.evaluation(id).await.unwrap(),
            Some((4, Some("puntuale e chiara".to_string())))
        );
    }
);

both_backends!(monthly_report_per_ambito_from_the_store, |db| async move {
    use connecting::dispatch::report::{ReportFormat, monthly_report, render};
    let w = World::new(db.store.clone(), at_rome(2027, 3, 1, 9, 0), settings(2)).await;
    let a = w.mediator("Amina", 101, &["ar"]).await;
    // Done, 100 minutes, evaluated 5; assigned 30 minutes after it arrived.
    let done = w.request("ar", d(2027, 3, 10), t(10, 0), 90, None).await;
    w.clock.advance(Duration::minutes(30));
    let a1 = w.dispatcher.assign(done, a.id, "cli").await.unwrap();
    w.clock.set(at_rome(2027, 3, 10, 12, 0));
    w.dispatcher
        .record_outcome(a1, a.id, true, Some(100))
        .await
        .unwrap();
    w.dispatcher.record_evaluation(done, 5, None).await.unwrap();
    // Cancelled late.
    w.clock.set(at_rome(2027, 3, 11, 9, 0));
    let late = w.request("ar", d(2027, 3, 11), t(15, 0), 60, None).await;
    w.clock.advance(Duration::minutes(90));
    w.dispatcher.assign(late, a.id, "cli").await.unwrap();
    w.dispatcher
        .cancel(late, Canceller::Requester)
        .await
        .unwrap();
    // Escalated: nobody speaks Tigrinya.
    let esc = w.request("ti", d(2027, 3, 20), t(10, 0), 60, None).await;
    w.dispatcher.dispatch(esc).await.unwrap();
    // Received in February for an appointment in March: March's.
    w.clock.set(at_rome(2027, 2, 27, 9, 0));
    w.request("ar", d(2027, 3, 2), t(10, 0), 60, None).await;
    // April: not in March's report.
    w.clock.set(at_rome(2027, 4, 1, 0, 30));
    w.request("ar", d(2027, 4, 10), t(10, 0), 60, None).await;

    let rows = monthly_report(&w.store, "2027-03", None, chrono_tz::Europe::Rome)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(r.ambito.as_deref(), Some("Dalmine"));
    assert_eq!(
        (
            r.requests,
            r.interventions_done,
            r.late_cancellations,
            r.escalations
        ),
        (4, 1, 1, 1)
    );
    assert_eq!(r.hours_unverified, 1.67);
    assert_eq!(
        r.languages,
        vec![("ar".to_string(), 3), ("ti".to_string(), 1)]
    );
    assert_eq!(r.median_minutes_to_assignment, Some(60.0));
    assert_eq!(r.evaluation_average, Some(5.0));
    let csv = render(&rows, ReportFormat::Csv, connecting::config::Lang::It);
    assert!(
        csv.contains("Dalmine;4;1;1,67;0,00;0,00;arabo 3, tigrino 1;1;0;0;0;60,00;90,00;1;1;5,00;"),
        "{csv}"
    );
    let other = monthly_report(
        &w.store,
        "2027-03",
        connecting::domain::Ambito::parse("Bergamo").ok(),
        chrono_tz::Europe::Rome,
    )
    .await
    .unwrap();
    assert!(other.is_empty());
});

/// A channel that accepts every message at once.
struct Accepting;

impl connecting::outbox::Transport for Accepting {
    fn deliver<'a>(&'a self, _p: &'a Payload) -> connecting::outbox::DeliveryFuture<'a> {
        Box::pin(async {
            Ok(connecting::outbox::Delivered {
                external_id: Some("1".into()),
            })
        })
    }
}

both_backends!(a_failing_timer_does_not_block_the_others, |db| async move {
    let w = World::new(db.store.clone(), at_rome(2027, 3, 1, 9, 0), settings(1)).await;
    let a = w.mediator("Amina", 101, &["ar"]).await;
    let broken = w.request("ar", d(2027, 3, 10), t(10, 0), 60, None).await;
    let fine = w.request("ar", d(2027, 3, 11), t(10, 0), 60, None).await;
    w.dispatcher.dispatch(broken).await.unwrap();
    w.dispatcher.assign(fine, a.id, "cli").await.unwrap();
    // The broken request's stored language becomes unreadable: its wave timer will fail.
    let broken_id = w.store.request(broken).await.unwrap().id;
    common::corrupt(&db.store, "requests", "language", "###", broken_id).await;
    // The wave timer is due first (1 h), the day-before reminder of the fine one later.
    w.clock.set(at_rome(2027, 3, 10, 10, 0));
    assert_eq!(
        w.dispatcher.run_due_timers().await.unwrap(),
        1,
        "the reminder still fires"
    );
    let timers = w.store.pending_timers(broken_id).await.unwrap();
    assert_eq!(timers.len(), 1);
    assert_eq!(
        timers[0].1,
        w.clock_now() + Duration::minutes(5),
        "retried later"
    );
    for _ in 0..5 {
        w.clock.advance(Duration::minutes(5));
        w.dispatcher.run_due_timers().await.unwrap();
    }
    assert!(
        w.store.pending_timers(broken_id).await.unwrap().is_empty(),
        "given up after 5 attempts"
    );
});
