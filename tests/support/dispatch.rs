//! Shared set-up for the dispatch tests: a world with a manual clock, mediators, a coordinator
//! and requests, on a real database (SQLite file or PostgreSQL) from `tests/support/common.rs`.

#![allow(dead_code)]

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::Rome;
use connecting::clock::ManualClock;
use connecting::dispatch::{DispatchSettings, Dispatcher};
use connecting::domain::{
    Ambito, Appointment, Channel, Gender, InterventionType, LanguageCode, Modality, RequestCode,
    RequestStatus,
};
use connecting::store::{Mediator, NewCoordinator, NewMediator, NewRequest, OutboxRow, Store};
use std::sync::Arc;

/// The cooperative's settings in the email stories: Message-IDs on `coop.example`, invitations
/// organised by its `info@` address.
pub fn coop_settings() -> DispatchSettings {
    DispatchSettings {
        message_id_domain: "coop.example".into(),
        organizer: Some(connecting::ics::Party {
            name: "Cooperativa Esempio".into(),
            email: Some("info@coop.example".into()),
        }),
        ..Default::default()
    }
}

/// The email intake of `info@coop.example`, which accepts the Comune di Dalmine's domain.
pub fn coop_intake(w: &World) -> connecting::channels::email::Intake {
    let mut c = connecting::channels::email::IntakeConfig::new("info@coop.example", "coop.example");
    c.allowed_sender_domains = vec!["comune.dalmine.bg.it".into()];
    connecting::channels::email::Intake::new(
        w.store.clone(),
        c,
        Arc::new(w.clock.clone()),
        connecting::renderers::channels(),
    )
}

pub struct World {
    pub store: Store,
    pub clock: ManualClock,
    pub dispatcher: Dispatcher,
}

pub fn at_rome(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Rome.with_ymd_and_hms(y, m, d, h, min, 0).unwrap().to_utc()
}

impl World {
    pub async fn new(store: Store, now: DateTime<Utc>, settings: DispatchSettings) -> World {
        let clock = ManualClock::new(now);
        let dispatcher = Dispatcher::new(
            store.clone(),
            Arc::new(clock.clone()),
            settings,
            connecting::renderers::channels(),
        );
        store
            .add_coordinator(
                &NewCoordinator {
                    name: "Coordinatrice".into(),
                    telegram_id: Some(900),
                    email: None,
                },
                now,
            )
            .await
            .unwrap();
        World {
            store,
            clock,
            dispatcher,
        }
    }

    pub async fn mediator(&self, name: &str, tg: i64, langs: &[&str]) -> Mediator {
        self.mediator_with(name, tg, langs, None, Some(Gender::F))
            .await
    }

    pub async fn mediator_with(
        &self,
        name: &str,
        tg: i64,
        langs: &[&str],
        availability: Option<&str>,
        gender: Option<Gender>,
    ) -> Mediator {
        self.store
            .add_mediator(
                &NewMediator {
                    name: name.into(),
                    phone: None,
                    email: None,
                    telegram_id: Some(tg),
                    gender,
                    languages: langs
                        .iter()
                        .map(|l| LanguageCode::parse(l).unwrap())
                        .collect(),
                    ambiti: vec![Ambito::parse("Dalmine").unwrap()],
                    availability: availability.map(str::to_string),
                    share_phone: false,
                },
                self.clock_now(),
            )
            .await
            .unwrap()
    }

    pub fn clock_now(&self) -> DateTime<Utc> {
        use connecting::clock::Clock;
        self.clock.now()
    }

    /// A queued email request in Dalmine for `language` at the local date/time given.
    pub async fn request(
        &self,
        language: &str,
        date: NaiveDate,
        start: NaiveTime,
        minutes: u32,
        case_ref: Option<&str>,
    ) -> RequestCode {
        self.request_with(language, date, start, minutes, |r| {
            r.case_ref = case_ref.map(str::to_string)
        })
        .await
    }

    /// A queued request as [`World::request`] makes it, changed by `change` before it is stored
    /// (another requester address, urgency, ...).
    pub async fn request_with(
        &self,
        language: &str,
        date: NaiveDate,
        start: NaiveTime,
        minutes: u32,
        change: impl FnOnce(&mut NewRequest),
    ) -> RequestCode {
        let appt = Appointment::new(date, start, minutes).unwrap();
        let r = NewRequest {
            status: Some(RequestStatus::Queued),
            channel: Some(Channel::Email),
            requester_name: Some("Laura Rossi".into()),
            requester_email: Some("laura.rossi@comune.dalmine.bg.it".into()),
            ente: Some("Comune di Dalmine".into()),
            ambito: Some(Ambito::parse("Dalmine").unwrap()),
            language: Some(LanguageCode::parse(language).unwrap()),
            intervention: Some(InterventionType::Colloquio),
            modality: Some(Modality::InPerson),
            date: Some(date),
            start_time: Some(start),
            duration_minutes: Some(i64::from(minutes)),
            starts_at: Some(appt.starts_at(Rome)),
            ends_at: Some(appt.ends_at(Rome)),
            comune: Some("Dalmine".into()),
            address: Some("Via Roma 1".into()),
            source_message_id: Some("<req-1@comune.dalmine.bg.it>".into()),
            ..Default::default()
        };
        let mut r = r;
        change(&mut r);
        self.store
            .create_request(&r, self.clock_now())
            .await
            .unwrap()
            .code
    }

    pub async fn outbox(&self, code: RequestCode) -> Vec<OutboxRow> {
        let id = self.store.request(code).await.unwrap().id;
        self.store.outbox_for_request(id).await.unwrap()
    }

    pub async fn status(&self, code: RequestCode) -> RequestStatus {
        self.store.request(code).await.unwrap().status
    }
}

pub fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

pub fn t(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap()
}

/// The text of a Telegram or email payload.
pub fn text_of(row: &OutboxRow) -> &str {
    match &row.payload {
        connecting::outbox::Payload::Telegram(p) => &p.text,
        connecting::outbox::Payload::Email(p) => &p.body,
    }
}

pub fn chat_of(row: &OutboxRow) -> Option<i64> {
    match &row.payload {
        connecting::outbox::Payload::Telegram(p) => Some(p.chat_id),
        connecting::outbox::Payload::Email(_) => None,
    }
}
