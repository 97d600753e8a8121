//! Concurrency on real databases: 50 tasks accept the same request's offers at once (100
//! rounds): exactly one assignment each time; two dispatcher instances on one database fire
//! every timer exactly once; two instances dispatching the same queued request send one wave
//! (the second sees it offered), never an escalation.

#[path = "support/common.rs"]
mod common;
#[path = "support/dispatch.rs"]
mod dispatch_support;

use chrono::Duration;
use connecting::clock::ManualClock;
use connecting::dispatch::{AcceptOutcome, DispatchSettings, Dispatcher, WaveOutcome};
use connecting::domain::RequestStatus;
use dispatch_support::*;
use std::collections::HashSet;
use std::sync::Arc;
use tokio::sync::Barrier;

both_backends!(
    fifty_acceptances_one_winner_repeated_100_times,
    |db| async move {
        let settings = DispatchSettings {
            wave_size: 50,
            ..Default::default()
        };
        let w = World::new(db.store.clone(), at_rome(2027, 1, 1, 9, 0), settings).await;
        let mut mediators = vec![];
        for i in 0..50 {
            mediators.push(w.mediator(&format!("M{i}"), 1000 + i, &["ar"]).await.id);
        }
        for round in 0..100u32 {
            let date = d(2027, 1, 4) + Duration::days(i64::from(round));
            let code = w.request("ar", date, t(10, 0), 60, None).await;
            let WaveOutcome::Offered {
                mediators: offered, ..
            } = w.dispatcher.dispatch(code).await.unwrap()
            else {
                panic!("round {round}: no offers")
            };
            assert_eq!(offered.len(), 50, "round {round}");
            let req_id = w.store.request(code).await.unwrap().id;
            let offers = w.store.offers_for_request(req_id).await.unwrap();
            // Half the tasks press "accept" on the same offer; the others on their own offers.
            let barrier = Arc::new(Barrier::new(50));
            let mut tasks = Vec::with_capacity(50);
            for i in 0..50usize {
                let o = if i < 25 { &offers[0] } else { &offers[i] };
                let (offer_id, mediator_id) = (o.id, o.mediator_id);
                let dispatcher = w.dispatcher.clone();
                let barrier = barrier.clone();
                tasks.push(tokio::spawn(async move {
                    barrier.wait().await;
                    dispatcher.accept(offer_id, mediator_id).await.unwrap()
                }));
            }
            let mut winners = vec![];
            for task in tasks {
                if let AcceptOutcome::Assigned { assignment_id, .. } = task.await.unwrap() {
                    winners.push(assignment_id);
                }
            }
            assert_eq!(
                winners.len(),
                1,
                "round {round}: exactly one acceptance wins"
            );
            let assignments = w.store.assignments_for_request(req_id).await.unwrap();
            assert_eq!(assignments.len(), 1, "round {round}");
            let req = w.store.request(code).await.unwrap();
            assert_eq!(req.status, RequestStatus::Assigned);
            assert_eq!(req.assigned_mediator_id, Some(assignments[0].mediator_id));
            let offers = w.store.offers_for_request(req_id).await.unwrap();
            let accepted: Vec<_> = offers
                .iter()
                .filter(|o| o.state == connecting::domain::OfferState::Accepted)
                .collect();
            assert_eq!(accepted.len(), 1, "round {round}");
            assert_eq!(accepted[0].mediator_id, assignments[0].mediator_id);
            assert_eq!(
                offers
                    .iter()
                    .filter(|o| o.state == connecting::domain::OfferState::Withdrawn)
                    .count(),
                49
            );
            let confirmations = w
                .outbox(code)
                .await
                .into_iter()
                .filter(|r| r.idempotency_key.starts_with("confirm:"))
                .count();
            assert_eq!(confirmations, 1, "round {round}");
        }
    }
);

both_backends!(
    two_instances_fire_every_timer_exactly_once,
    |db| async move {
        let now = at_rome(2027, 3, 1, 9, 0);
        let w = World::new(db.store.clone(), now, DispatchSettings::default()).await;
        let code = w.request("ar", d(2027, 3, 10), t(10, 0), 60, None).await;
        let req_id = w.store.request(code).await.unwrap().id;
        let n = 300;
        let mut tx = w.store.begin().await.unwrap();
        for i in 0..n {
            tx.schedule_timer(
                connecting::domain::TimerKind::ReminderDayBefore,
                Some(req_id),
                Some(i),
                now - Duration::seconds(i % 7),
                now,
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();

        let clock = Arc::new(ManualClock::new(now));
        let a = Dispatcher::new(
            db.another_instance().await,
            clock.clone(),
            DispatchSettings::default(),
            connecting::renderers::channels(),
        );
        let b = Dispatcher::new(
            db.another_instance().await,
            clock.clone(),
            DispatchSettings::default(),
            connecting::renderers::channels(),
        );
        let run = |d: Dispatcher| async move {
            let mut fired = 0;
            for _ in 0..3 {
                fired += d.run_due_timers().await.unwrap();
            }
            fired
        };
        let (fa, fb) = tokio::join!(tokio::spawn(run(a)), tokio::spawn(run(b)));
        let (fa, fb) = (fa.unwrap(), fb.unwrap());
        assert_eq!(fa + fb, n as usize, "instance a fired {fa}, b fired {fb}");
        let fired: Vec<String> = w
            .store
            .audit_trail(req_id)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == "timer_fired")
            .filter_map(|e| e.detail)
            .collect();
        assert_eq!(fired.len(), n as usize);
        let distinct: HashSet<&String> = fired.iter().collect();
        assert_eq!(distinct.len(), n as usize, "no timer fired twice");
        assert!(w.store.pending_timers(req_id).await.unwrap().is_empty());
        eprintln!("timers: instance a fired {fa}, instance b fired {fb}");
    }
);

both_backends!(
    two_instances_dispatching_one_request_send_one_wave,
    |db| async move {
        let now = at_rome(2027, 3, 1, 9, 0);
        let w = World::new(db.store.clone(), now, DispatchSettings::default()).await;
        w.mediator("Amina", 101, &["ar"]).await;
        let clock = Arc::new(ManualClock::new(now));
        let instance = || async {
            Dispatcher::new(
                db.another_instance().await,
                clock.clone(),
                DispatchSettings::default(),
                connecting::renderers::channels(),
            )
        };
        let (a, b) = (instance().await, instance().await);
        for round in 0..30 {
            let date = d(2027, 3, 10) + Duration::days(round);
            let code = w.request("ar", date, t(10, 0), 60, None).await;
            let barrier = Arc::new(Barrier::new(2));
            let go = |d: Dispatcher| {
                let barrier = barrier.clone();
                tokio::spawn(async move {
                    barrier.wait().await;
                    d.dispatch(code).await
                })
            };
            let (ra, rb) = tokio::join!(go(a.clone()), go(b.clone()));
            let offered = [ra.unwrap(), rb.unwrap()]
                .into_iter()
                .filter(|r| matches!(r, Ok(WaveOutcome::Offered { .. })))
                .count();
            assert_eq!(offered, 1, "round {round}: exactly one wave");
            let r = w.store.request(code).await.unwrap();
            assert_eq!(
                r.status,
                RequestStatus::Offered,
                "round {round}: not escalated"
            );
        }
    }
);
