//! The store's behaviour, identical on SQLite and PostgreSQL: people, invites, requests and their
//! life cycle, inbound dedupe, the outbox's idempotency, and migrations that can run twice.

#[path = "support/common.rs"]
mod common;

use chrono::{Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use connecting::domain::{
    Ambito, Channel, InterventionType, LanguageCode, Modality, PersonKind, RequestStatus,
};
use connecting::outbox::{Payload, TelegramPayload};
use connecting::store::{
    InviteError, NewCoordinator, NewInbound, NewMediator, NewOperator, NewRequest, RequestFilter,
    StoreError,
};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap()
}

fn operator(email: &str) -> NewOperator {
    NewOperator {
        name: "Laura Rossi".into(),
        email: Some(email.into()),
        phone: Some("035 123456".into()),
        ente: "Comune di Dalmine".into(),
        ambito: Ambito::parse("Dalmine").unwrap(),
        telegram_id: None,
    }
}

fn mediator(name: &str, telegram_id: Option<i64>) -> NewMediator {
    NewMediator {
        name: name.into(),
        phone: Some("+39 333 1234567".into()),
        email: None,
        telegram_id,
        gender: Some("f".parse().unwrap()),
        languages: vec![
            LanguageCode::parse("ar").unwrap(),
            LanguageCode::parse("fr").unwrap(),
        ],
        ambiti: vec![
            Ambito::parse("Dalmine").unwrap(),
            Ambito::parse("Seriate").unwrap(),
        ],
        availability: None,
        share_phone: false,
    }
}

fn complete_request(operator_id: Option<i64>) -> NewRequest {
    NewRequest {
        status: Some(RequestStatus::Queued),
        channel: Some(Channel::Email),
        operator_id,
        requester_email: Some("Laura.Rossi@Comune.Dalmine.BG.it".into()),
        language: Some(LanguageCode::parse("ar").unwrap()),
        intervention: Some(InterventionType::Colloquio),
        modality: Some(Modality::InPerson),
        date: NaiveDate::from_ymd_opt(2027, 3, 12),
        start_time: NaiveTime::from_hms_opt(14, 30, 0),
        duration_minutes: Some(90),
        comune: Some("Dalmine".into()),
        ..Default::default()
    }
}

both_backends!(migrations_run_twice_change_nothing, |db| async move {
    let before = db.store.applied_migrations().await.unwrap();
    assert!(
        before.contains(&1),
        "foundation migration applied: {before:?}"
    );
    db.store.migrate().await.unwrap();
    let again = db.another_instance().await;
    again.migrate().await.unwrap();
    assert_eq!(db.store.applied_migrations().await.unwrap(), before);
});

both_backends!(people_are_stored_and_found, |db| async move {
    let s = &db.store;
    let op = s
        .add_operator(&operator("Laura.Rossi@Comune.Dalmine.BG.it"), now())
        .await
        .unwrap();
    assert_eq!(
        op.email.as_deref(),
        Some("laura.rossi@comune.dalmine.bg.it")
    );
    assert_eq!(op.ambito.name(), "Dalmine");
    let found = s
        .operator_by_email("LAURA.ROSSI@comune.dalmine.bg.it")
        .await
        .unwrap();
    assert_eq!(found.map(|o| o.id), Some(op.id));
    // The same email twice is refused with a clear error.
    let dup = s
        .add_operator(&operator("laura.rossi@comune.dalmine.bg.it"), now())
        .await;
    assert!(matches!(dup, Err(StoreError::Duplicate(_))), "{dup:?}");

    let m = s
        .add_mediator(&mediator("Amina", Some(1001)), now())
        .await
        .unwrap();
    assert_eq!(
        m.languages.iter().map(|l| l.as_str()).collect::<Vec<_>>(),
        ["ar", "fr"]
    );
    assert_eq!(m.ambiti.len(), 2);
    assert!(m.active && !m.paused && m.availability.is_none());
    s.set_mediator_paused(m.id, true).await.unwrap();
    assert!(s.mediator(m.id).await.unwrap().paused);
    assert_eq!(
        s.mediator_by_telegram(1001).await.unwrap().map(|m| m.id),
        Some(m.id)
    );
    assert!(matches!(
        s.add_mediator(&mediator("Other", Some(1001)), now()).await,
        Err(StoreError::Duplicate(_))
    ));
    let c = s
        .add_coordinator(
            &NewCoordinator {
                name: "Coord".into(),
                telegram_id: Some(9),
                email: None,
            },
            now(),
        )
        .await
        .unwrap();
    assert_eq!(
        s.coordinator_by_telegram(9).await.unwrap().map(|c| c.id),
        Some(c.id)
    );
});

both_backends!(invites_work_once_and_expire, |db| async move {
    let s = &db.store;
    let m = s
        .add_mediator(&mediator("Amina", None), now())
        .await
        .unwrap();
    let code = s
        .create_invite(PersonKind::Mediator, m.id, now(), Duration::days(7))
        .await
        .unwrap();
    assert_eq!(code.len(), 10);
    assert!(matches!(
        s.redeem_invite("NOPE", 5, now()).await,
        Err(InviteError::Unknown)
    ));
    let r = s
        .redeem_invite(&code, 5555, now() + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!((r.kind, r.person_id), (PersonKind::Mediator, m.id));
    assert_eq!(s.mediator(m.id).await.unwrap().telegram_id, Some(5555));
    assert!(matches!(
        s.redeem_invite(&code, 5555, now()).await,
        Err(InviteError::Used)
    ));

    let op = s.add_operator(&operator("a@b.it"), now()).await.unwrap();
    let late = s
        .create_invite(PersonKind::Operator, op.id, now(), Duration::days(7))
        .await
        .unwrap();
    assert!(matches!(
        s.redeem_invite(&late, 6, now() + Duration::days(8)).await,
        Err(InviteError::Expired)
    ));
    // A Telegram account already linked to the mediator cannot become an operator too.
    let again = s
        .create_invite(PersonKind::Operator, op.id, now(), Duration::days(7))
        .await
        .unwrap();
    assert!(matches!(
        s.redeem_invite(&again, 5555, now()).await,
        Err(InviteError::TelegramIdTaken)
    ));
    assert_eq!(s.operator(op.id).await.unwrap().telegram_id, None);
    // Inviting someone who does not exist is refused.
    assert!(matches!(
        s.create_invite(PersonKind::Coordinator, 999, now(), Duration::days(7))
            .await,
        Err(StoreError::NotFound(_))
    ));
});

both_backends!(
    requests_get_yearly_codes_and_follow_the_life_cycle,
    |db| async move {
        let s = &db.store;
        let op = s.add_operator(&operator("a@b.it"), now()).await.unwrap();
        let r1 = s
            .create_request(&complete_request(Some(op.id)), now())
            .await
            .unwrap();
        let r2 = s
            .create_request(&NewRequest::default(), now())
            .await
            .unwrap();
        assert_eq!(r1.code.to_string(), "MED-2027-0001");
        assert_eq!(r2.code.to_string(), "MED-2027-0002");
        let next_year = Utc.with_ymd_and_hms(2028, 1, 1, 0, 0, 1).unwrap();
        assert_eq!(
            s.create_request(&NewRequest::default(), next_year)
                .await
                .unwrap()
                .code
                .to_string(),
            "MED-2028-0001"
        );

        assert_eq!(r1.status, RequestStatus::Queued);
        assert_eq!(
            r1.requester_email.as_deref(),
            Some("laura.rossi@comune.dalmine.bg.it")
        );
        assert_eq!(r1.start_time, NaiveTime::from_hms_opt(14, 30, 0));
        assert!(r1.queued_at.is_some());
        assert_eq!(s.request(r1.code).await.unwrap(), r1);

        // Legal steps apply and are audited; illegal ones are errors and change nothing.
        let offered = s
            .transition(r1.id, RequestStatus::Offered, "process:dispatch", now())
            .await
            .unwrap();
        assert_eq!(offered.status, RequestStatus::Offered);
        let bad = s.transition(r1.id, RequestStatus::Done, "cli", now()).await;
        assert!(matches!(bad, Err(StoreError::Transition(_))), "{bad:?}");
        assert_eq!(
            s.request(r1.code).await.unwrap().status,
            RequestStatus::Offered
        );
        let cancelled = s
            .transition(r1.id, RequestStatus::Cancelled, "cli", now())
            .await
            .unwrap();
        assert!(cancelled.closed_at.is_some());
        let trail = s.audit_trail(r1.id).await.unwrap();
        let actions: Vec<_> = trail
            .iter()
            .map(|a| (a.action.as_str(), a.detail.as_deref()))
            .collect();
        assert_eq!(
            actions,
            [
                ("created", Some("queued")),
                ("status", Some("queued -> offered")),
                ("status", Some("offered -> cancelled"))
            ]
        );

        let open = s
            .requests(&RequestFilter {
                open_only: true,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            open.iter().map(|r| r.code.to_string()).collect::<Vec<_>>(),
            ["MED-2028-0001", "MED-2027-0002"]
        );
        let by_status = s
            .requests(&RequestFilter {
                status: Some(RequestStatus::Cancelled),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(by_status.len(), 1);
    }
);

both_backends!(
    concurrent_request_creation_gives_distinct_codes,
    |db| async move {
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let s = db.store.clone();
            tasks.push(tokio::spawn(async move {
                s.create_request(&NewRequest::default(), now())
                    .await
                    .unwrap()
                    .code
            }));
        }
        let mut codes = Vec::new();
        for t in tasks {
            codes.push(t.await.unwrap().seq());
        }
        codes.sort();
        assert_eq!(codes, (1..=20).collect::<Vec<u32>>());
    }
);

both_backends!(
    inbound_messages_are_deduplicated_per_channel,
    |db| async move {
        let s = &db.store;
        let first = NewInbound {
            channel: "email".into(),
            external_id: "<abc@comune.it>".into(),
            kind: "new_request".into(),
            status: "processed".into(),
            subject: Some("Richiesta".into()),
            raw: Some(b"From: a\r\n\r\nbody".to_vec()),
            size_bytes: 16,
            ..Default::default()
        };
        let id = s.record_inbound(&first, now()).await.unwrap();
        assert!(id.is_some());
        let second = NewInbound {
            subject: Some("Changed".into()),
            raw: None,
            ..first.clone()
        };
        assert_eq!(s.record_inbound(&second, now()).await.unwrap(), None);
        // Same external id on another channel is a different message.
        let tg = NewInbound {
            channel: "telegram".into(),
            ..first.clone()
        };
        assert!(s.record_inbound(&tg, now()).await.unwrap().is_some());
        let kept = s.inbound("email", None).await.unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].subject.as_deref(), Some("Richiesta"));
        assert_eq!(
            s.inbound_raw(kept[0].id).await.unwrap().as_deref(),
            Some(&b"From: a\r\n\r\nbody"[..])
        );
    }
);

both_backends!(
    outbox_enqueue_is_idempotent_and_joins_the_transaction,
    |db| async move {
        let s = &db.store;
        let payload = Payload::Telegram(TelegramPayload {
            chat_id: 42,
            text: "Ciao".into(),
            buttons: vec![],
            edit_message_id: None,
            calendar: None,
            menu: None,
        });
        let mut tx = s.begin().await.unwrap();
        let r = tx
            .create_request(&NewRequest::default(), now())
            .await
            .unwrap();
        let a = tx
            .enqueue("ack:1", Some(r.id), &payload, now())
            .await
            .unwrap();
        let b = tx
            .enqueue("ack:1", Some(r.id), &payload, now())
            .await
            .unwrap();
        assert_eq!(a, b);
        tx.rollback().await.unwrap();
        // Rolled back with the request: neither exists.
        assert!(s.outbox_all().await.unwrap().is_empty());
        assert!(
            s.requests(&RequestFilter::default())
                .await
                .unwrap()
                .is_empty()
        );

        let mut tx = s.begin().await.unwrap();
        let r = tx
            .create_request(&NewRequest::default(), now())
            .await
            .unwrap();
        tx.enqueue("ack:2", Some(r.id), &payload, now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let rows = s.outbox_for_request(r.id).await.unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].payload, payload);
        assert_eq!(rows[0].status, connecting::domain::OutboxStatus::Pending);
        assert_eq!(
            s.outbox_depth(now() + Duration::seconds(30)).await.unwrap(),
            (1, Some(30))
        );
    }
);

both_backends!(
    retention_purges_raw_data_and_anonymises_closed_requests,
    |db| async move {
        let s = &db.store;
        let old = now() - Duration::days(100);
        s.record_inbound(
            &NewInbound {
                channel: "email".into(),
                external_id: "<old@x>".into(),
                kind: "new_request".into(),
                status: "processed".into(),
                sender: Some("l.rossi@comune.it".into()),
                raw: Some(b"raw".to_vec()),
                body: Some("Buongiorno".into()),
                ..Default::default()
            },
            old,
        )
        .await
        .unwrap();
        s.record_inbound(
            &NewInbound {
                channel: "email".into(),
                external_id: "<new@x>".into(),
                raw: Some(b"raw".to_vec()),
                ..Default::default()
            },
            now(),
        )
        .await
        .unwrap();
        let mut closed = complete_request(None);
        closed.requester_name = Some("Laura Rossi".into());
        closed.case_ref = Some("RG 12/2024".into());
        let r = s
            .create_request(&closed, old - Duration::days(800))
            .await
            .unwrap();
        s.transition(
            r.id,
            RequestStatus::Cancelled,
            "cli",
            old - Duration::days(800),
        )
        .await
        .unwrap();
        let open = s
            .create_request(&closed, old - Duration::days(800))
            .await
            .unwrap();

        let raw_before = now() - Duration::days(90);
        let closed_before = now() - Duration::days(730);
        let preview = s.purge_preview(raw_before, closed_before).await.unwrap();
        assert_eq!((preview.raw_messages, preview.requests_anonymised), (1, 1));
        // A dry run changes nothing.
        assert_eq!(
            s.purge_preview(raw_before, closed_before).await.unwrap(),
            preview
        );
        let done = s.purge(raw_before, closed_before, now()).await.unwrap();
        assert_eq!((done.raw_messages, done.requests_anonymised), (1, 1));
        let msgs = s.inbound("email", None).await.unwrap();
        assert_eq!(s.inbound_raw(msgs[0].id).await.unwrap(), None);
        assert_eq!(
            s.inbound_raw(msgs[1].id).await.unwrap().as_deref(),
            Some(&b"raw"[..])
        );
        let anon = s.request(r.code).await.unwrap();
        assert_eq!((anon.requester_name, anon.case_ref), (None, None));
        // What the reports need stays.
        assert_eq!(anon.language.map(|l| l.to_string()).as_deref(), Some("ar"));
        assert_eq!(anon.comune.as_deref(), Some("Dalmine"));
        // Open requests are never anonymised.
        assert_eq!(
            s.request(open.code)
                .await
                .unwrap()
                .requester_name
                .as_deref(),
            Some("Laura Rossi")
        );
        assert!(
            s.audit_trail(r.id)
                .await
                .unwrap()
                .iter()
                .any(|a| a.action == "anonymised")
        );
        assert_eq!(
            s.purge_preview(raw_before, closed_before)
                .await
                .unwrap()
                .raw_messages,
            0
        );
    }
);

both_backends!(a_live_database_answers_ping, |db| async move {
    assert!(db.store.ping().await);
    db.store.close().await;
    assert!(!db.store.ping().await);
});

both_backends!(
    interactive_messages_go_out_before_bulk_work,
    |db| async move {
        use connecting::store::Priority;
        let msg = |t: &str| {
            Payload::Telegram(TelegramPayload {
                chat_id: 7,
                text: t.into(),
                buttons: vec![],
                edit_message_id: None,
                calendar: None,
                menu: None,
            })
        };
        let t0 = now();
        let mut tx = db.store.begin().await.unwrap();
        for i in 0..5 {
            tx.enqueue(&format!("bulk-{i}"), None, &msg("bulk"), t0)
                .await
                .unwrap();
        }
        tx.enqueue_with(
            "answer",
            None,
            &msg("answer"),
            t0 + chrono::Duration::seconds(1),
            Priority::Interactive,
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let later = t0 + chrono::Duration::seconds(2);
        let claimed = db
            .store
            .claim_outbox(later, later + chrono::Duration::seconds(60), 2)
            .await
            .unwrap();
        let mut keys: Vec<_> = claimed.iter().map(|m| m.idempotency_key.clone()).collect();
        keys.sort();
        // The answer, though written last, and the oldest bulk row.
        assert_eq!(keys, ["answer", "bulk-0"]);
    }
);

both_backends!(
    latencies_are_observed_when_they_happen_and_counted_once,
    |db| async move {
        use connecting::metrics::StoreFigures;
        let s = &db.store;
        let at = |secs: i64| now() + Duration::seconds(secs);
        let mut telegram = complete_request(None);
        telegram.channel = Some(Channel::Telegram);
        let a = s
            .create_request(&complete_request(None), now())
            .await
            .unwrap();
        let b = s
            .create_request(&complete_request(None), now())
            .await
            .unwrap();
        let c = s.create_request(&telegram, now()).await.unwrap();
        for (r, assigned) in [(&a, 100), (&b, 5000), (&c, 30)] {
            s.transition(r.id, RequestStatus::Offered, "process:dispatch", now())
                .await
                .unwrap();
            s.transition(
                r.id,
                RequestStatus::Assigned,
                "process:dispatch",
                at(assigned),
            )
            .await
            .unwrap();
        }
        s.transition(a.id, RequestStatus::Confirmed, "process:outbox", at(200))
            .await
            .unwrap();
        // A change that leaves the stamps as they were observes nothing again.
        s.transition(a.id, RequestStatus::Done, "cli", at(9000))
            .await
            .unwrap();

        let f = StoreFigures::read(s).await.unwrap();
        let find = |ch: &str| {
            f.latencies
                .iter()
                .find(|l| l.0 == ch)
                .unwrap_or_else(|| panic!("no latencies for {ch}: {:?}", f.latencies))
        };
        let (_, assign, confirm) = find("email");
        assert_eq!(assign.count, 2, "{assign:?}");
        assert_eq!(assign.sum, 5100.0);
        // 100 s falls under the 300 s bound, 5000 s under 7200 s.
        assert_eq!(assign.buckets[1], (300.0, 1), "{assign:?}");
        assert_eq!(assign.buckets[5], (7200.0, 1), "{assign:?}");
        assert_eq!((confirm.count, confirm.sum), (1, 200.0));
        let (_, assign, confirm) = find("telegram");
        assert_eq!((assign.count, assign.sum), (1, 30.0));
        assert_eq!(assign.buckets[0], (60.0, 1));
        assert_eq!(confirm.count, 0);
    }
);

both_backends!(
    a_credential_is_forgotten_once_sent_and_purged_rows_leave_the_listings,
    |db| async move {
        let s = &db.store;
        let r = s
            .create_request(&complete_request(None), now())
            .await
            .unwrap();
        let message = |text: &str| {
            Payload::Telegram(TelegramPayload {
                chat_id: 7,
                text: text.into(),
                buttons: vec![],
                edit_message_id: None,
                ..Default::default()
            })
        };
        let mut tx = s.begin().await.unwrap();
        let link = format!("{}tg:1:0", connecting::store::FORGOTTEN_WHEN_SENT);
        tx.enqueue(
            &link,
            None,
            &message("https://c.example/login/secret-token"),
            now(),
        )
        .await
        .unwrap();
        tx.enqueue("tg:1:1", Some(r.id), &message("Richiesta ricevuta"), now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let claimed = s
            .claim_outbox(now(), now() + Duration::minutes(1), 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 2);
        let mut tx = s.begin().await.unwrap();
        for m in &claimed {
            assert!(
                tx.mark_outbox_sent(m.id, m.attempt, None, now())
                    .await
                    .unwrap()
            );
        }
        tx.commit().await.unwrap();
        // The link is gone from the database; the ordinary message is kept as it was.
        let rows = s.outbox_all().await.unwrap();
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert!(format!("{:?}", rows[0].payload).contains("Richiesta ricevuta"));
        let dump = format!("{:?}", s.outbox_all().await.unwrap());
        assert!(!dump.contains("secret-token"));
        // A row purged by retention leaves the request's listing readable.
        let done = s
            .purge(
                now() + Duration::days(1),
                now() - Duration::days(3650),
                now(),
            )
            .await
            .unwrap();
        assert!(done.outbox_rows >= 1, "{done:?}");
        assert!(s.outbox_for_request(r.id).await.unwrap().is_empty());
    }
);

both_backends!(
    the_queue_s_language_filter_lists_each_stored_language_once,
    |db| async move {
        let s = &db.store;
        let mut tx = s.begin().await.unwrap();
        assert!(tx.request_languages().await.unwrap().is_empty());
        tx.rollback().await.unwrap();
        for code in [
            Some("ur"),
            Some("ar"),
            None,
            Some("ti"),
            Some("ar"),
            Some("ur"),
        ] {
            let r = NewRequest {
                language: code.map(|c| LanguageCode::parse(c).unwrap()),
                ..complete_request(None)
            };
            s.create_request(&r, now()).await.unwrap();
        }
        let mut tx = s.begin().await.unwrap();
        assert_eq!(
            tx.request_languages().await.unwrap(),
            vec!["ar", "ti", "ur"]
        );
        tx.rollback().await.unwrap();
    }
);
