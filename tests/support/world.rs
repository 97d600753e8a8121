//! The world of the Telegram story tests: the real bot (long polling, outbox delivery) with the
//! real teloxide client against the fake Bot API server, on a real database, with a manual
//! clock; helpers to write, press and wait as a person would. Shared by `telegram_stories.rs`
//! and `authorisation.rs` (include with `#[path = "support/world.rs"] mod world;` next to
//! `botapi` and `common`).

#![allow(dead_code)]

use super::botapi::{self, BotMessage, FakeBotApi};
use super::common::TestDb;
use chrono::{DateTime, TimeZone, Utc};
use connecting::channels::telegram::poller::PollConfig;
use connecting::channels::telegram::runtime::{Running, TelegramSettings, start_polling};
use connecting::clock::{Clock, ManualClock};
use connecting::domain::{Ambito, Gender, LanguageCode};
use connecting::store::{NewMediator, NewOperator, Store};
use std::sync::Arc;
use std::time::Duration;

pub const WAIT: Duration = Duration::from_secs(10);

pub fn start_time() -> DateTime<Utc> {
    // Monday 1 March 2027, 09:00 in Bergamo.
    Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap()
}

/// Changes the bot's settings before it starts (and again at each restart).
pub type Configure = Arc<dyn Fn(&FakeBotApi, &mut TelegramSettings) + Send + Sync>;

pub struct World {
    pub fake: FakeBotApi,
    pub db: TestDb,
    pub clock: ManualClock,
    pub running: Option<Running>,
    configure: Option<Configure>,
}

impl World {
    pub async fn new(db: TestDb) -> World {
        World::configured(db, None).await
    }

    /// A world whose bot settings are changed by `configure` (for example the `bot` part of
    /// `TelegramSettings::from_config`, as the daemon builds it).
    pub async fn configured(db: TestDb, configure: Option<Configure>) -> World {
        let fake = FakeBotApi::start().await;
        let clock = ManualClock::new(start_time());
        let mut w = World {
            fake,
            db,
            clock,
            running: None,
            configure,
        };
        w.start().await;
        w
    }

    pub fn settings(&self) -> TelegramSettings {
        let mut s = TelegramSettings::new(self.fake.token.clone());
        s.api_url = Some(self.fake.url.clone());
        s.poll = PollConfig {
            timeout_secs: 1,
            max_attempts: 3,
            backoff: Duration::from_millis(50),
            ..PollConfig::default()
        };
        s.delivery_tick = Duration::from_millis(100);
        if let Some(c) = &self.configure {
            c(&self.fake, &mut s);
        }
        s
    }

    pub async fn start(&mut self) {
        let clock: Arc<dyn Clock> = Arc::new(self.clock.clone());
        let r = start_polling(
            &self.settings(),
            self.db.store.clone(),
            clock,
            connecting::renderers::channels(),
        )
        .await
        .expect("bot starts");
        self.running = Some(r);
    }

    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.stop().await;
        }
    }

    pub fn store(&self) -> &Store {
        &self.db.store
    }

    pub async fn operator(&self, name: &str, telegram_id: Option<i64>) -> i64 {
        self.store()
            .add_operator(
                &NewOperator {
                    name: name.into(),
                    email: Some(format!(
                        "{}@comune.example.it",
                        name.to_lowercase().replace(' ', ".")
                    )),
                    phone: Some("035 000000".into()),
                    ente: "Comune di Dalmine".into(),
                    ambito: Ambito::parse("Dalmine").expect("ambito"),
                    telegram_id,
                },
                self.clock.now(),
            )
            .await
            .expect("operator")
            .id
    }

    pub async fn mediator(&self, name: &str, telegram_id: i64) -> i64 {
        self.store()
            .add_mediator(
                &NewMediator {
                    name: name.into(),
                    phone: None,
                    email: None,
                    telegram_id: Some(telegram_id),
                    gender: Some(Gender::F),
                    languages: vec![LanguageCode::parse("ar").unwrap()],
                    ambiti: vec![Ambito::parse("Dalmine").unwrap()],
                    availability: None,
                    share_phone: false,
                },
                self.clock.now(),
            )
            .await
            .expect("mediator")
            .id
    }

    /// A coordinator named Carla on Telegram `telegram_id`.
    pub async fn coordinator(&self, telegram_id: i64) -> i64 {
        self.store()
            .add_coordinator(
                &connecting::store::NewCoordinator {
                    name: "Carla".into(),
                    telegram_id: Some(telegram_id),
                    email: None,
                },
                self.clock.now(),
            )
            .await
            .expect("coordinator")
            .id
    }

    /// Sends text as `user` and waits for the bot's next message to them.
    pub async fn say(&self, user: i64, text: &str) -> BotMessage {
        self.fake.push_text(user, text);
        self.reply(user).await
    }

    pub async fn reply(&self, user: i64) -> BotMessage {
        self.fake
            .wait_for(user, WAIT, |m| m.kind == botapi::ActionKind::Sent)
            .await
            .unwrap_or_else(|| panic!("no reply to {user}: {:?}", self.fake.sent_to(user)))
    }

    pub async fn press(&self, m: &BotMessage, label: &str) -> BotMessage {
        self.fake
            .press(m, label)
            .unwrap_or_else(|| panic!("no button {label:?} in {:?}", m.labels()));
        self.reply(m.chat_id).await
    }

    pub async fn requests_of(&self, operator_id: i64) -> Vec<connecting::store::Request> {
        self.store()
            .requests(&connecting::store::RequestFilter {
                operator_id: Some(operator_id),
                ..Default::default()
            })
            .await
            .expect("requests")
    }

    /// Waits for the bot's answer to a button press (its text, or "" without text).
    pub async fn answer(&self, id: &str) -> Option<String> {
        let t = std::time::Instant::now();
        while t.elapsed() < WAIT {
            if let Some((_, text)) = self
                .fake
                .callback_answers()
                .into_iter()
                .find(|(i, _)| i == id)
            {
                return Some(text.unwrap_or_default());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }

    /// Waits until every pushed update is confirmed (so counts in the store are final).
    pub async fn settle(&self) {
        let t = std::time::Instant::now();
        while self.fake.pending_count() > 0 {
            assert!(t.elapsed() < WAIT, "updates not confirmed");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
