//! Running the bot: check the token (one clear error), register the commands, then either
//! long-poll or serve a webhook router. Replies leave through the shared outbox worker
//! (`crate::outbox::OutboxWorker`), woken right after each of the bot's commits.
//!
//! `connect` gives the daemon the pieces to start separately (polling only on the leader);
//! `start_polling` / `start_webhook` start a whole bot with its own worker (tests, benches).

use super::bot::{BotConfig, TelegramBot};
use super::poller::{self, PollConfig};
use super::startup::{self, StartupError};
use super::transport::TelegramTransport;
use super::webhook;
use crate::clock::Clock;
use crate::dispatch::engine::DispatchSettings;
use crate::store::Store;
use std::sync::Arc;
use std::time::Duration;
use teloxide::Bot;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Where and how the bot talks to Telegram.
#[derive(Debug, Clone)]
pub struct TelegramSettings {
    pub token: String,
    /// Bot API server (`https://api.telegram.org` by default; the fake one in tests).
    pub api_url: Option<String>,
    pub poll: PollConfig,
    pub bot: BotConfig,
    /// Dispatch tunables (acceptance, waves) used when a request is queued or an offer pressed.
    pub dispatch: DispatchSettings,
    /// How often the outbox worker looks for due retries when nothing wakes it.
    pub delivery_tick: Duration,
}

impl TelegramSettings {
    pub fn new(token: impl Into<String>) -> Self {
        TelegramSettings {
            token: token.into(),
            api_url: None,
            poll: PollConfig::default(),
            bot: BotConfig::default(),
            dispatch: DispatchSettings::default(),
            delivery_tick: Duration::from_secs(2),
        }
    }

    /// The settings of a configuration file: `[telegram]`, plus the dispatch and intake
    /// sections the bot shares. `None` when `[telegram]` is absent.
    pub fn from_config(cfg: &crate::config::Config) -> Option<Self> {
        let t = cfg.telegram.as_ref()?;
        let mut s = TelegramSettings::new(t.token.expose().to_string());
        s.api_url = Some(t.api_url.clone());
        s.bot.tz = cfg.intake.timezone;
        s.bot.lang = cfg.intake.language;
        s.bot.invite_attempts_per_hour = i64::from(t.invite_attempts_per_hour);
        s.bot.invite_alert_after = i64::from(t.invite_alert_after);
        s.bot.console_url = cfg.web.as_ref().map(|w| w.base_url().to_string());
        s.dispatch = crate::settings::dispatch_settings(cfg);
        Some(s)
    }

    pub fn client(&self) -> Result<Bot, StartupError> {
        let bot = Bot::new(self.token.clone());
        match &self.api_url {
            None => Ok(bot),
            Some(u) => u
                .parse()
                .map(|url| bot.set_api_url(url))
                .map_err(|e| StartupError::Call {
                    call: "telegram.api_url",
                    reason: format!("{u:?} is not a URL: {e}"),
                }),
        }
    }
}

/// A started bot: its tasks and the handle to stop them.
pub struct Running {
    pub bot: TelegramBot,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops polling and delivery, waiting for both to finish (the offset of committed
    /// updates is confirmed on the way out).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Checks the token (getMe), registers the commands, and builds the bot: the client and the
/// update handler, ready to be driven by polling or a webhook.
pub async fn connect(
    settings: &TelegramSettings,
    store: Store,
    clock: Arc<dyn Clock>,
    renderers: crate::app::notice::Renderers,
) -> Result<(Bot, TelegramBot), StartupError> {
    let client = settings.client()?;
    let me = startup::check(&client).await?;
    tracing::info!(bot_id = me.user.id.0, "telegram bot token accepted");
    startup::register_commands(&client, settings.bot.lang).await?;
    let bot = TelegramBot::new(
        store,
        clock,
        client.clone(),
        settings.bot.clone(),
        settings.dispatch.clone(),
        renderers,
    );
    Ok((client, bot))
}

fn spawn_delivery(
    settings: &TelegramSettings,
    store: Store,
    clock: Arc<dyn Clock>,
    client: Bot,
    bot: &TelegramBot,
    rx: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let transports = crate::outbox::Transports {
        telegram: Some(Arc::new(TelegramTransport::new(client))),
        email: None,
    };
    let worker = crate::outbox::OutboxWorker::new(
        store,
        clock,
        transports,
        crate::outbox::RetryPolicy::default(),
    )
    .with_wake(bot.wake())
    .with_events(crate::app::delivery::events(bot.dispatcher.core().clone()));
    let tick = settings.delivery_tick;
    tokio::spawn(async move { worker.run(tick, rx).await })
}

/// Long polling (the default mode).
pub async fn start_polling(
    settings: &TelegramSettings,
    store: Store,
    clock: Arc<dyn Clock>,
    renderers: crate::app::notice::Renderers,
) -> Result<Running, StartupError> {
    let (client, bot) = connect(settings, store.clone(), clock.clone(), renderers).await?;
    startup::use_polling(&client).await?;
    let (stop, rx) = watch::channel(false);
    let sink: Arc<dyn super::UpdateSink> = Arc::new(bot.clone());
    let poll = tokio::spawn({
        let (client, cfg, rx) = (client.clone(), settings.poll.clone(), rx.clone());
        async move {
            poller::run(client, sink, cfg, rx).await;
        }
    });
    let deliver = spawn_delivery(settings, store, clock, client, &bot, rx);
    Ok(Running {
        bot,
        stop,
        tasks: vec![poll, deliver],
    })
}

/// Webhook mode: registers `public_url` with `secret` and returns the router to mount on
/// `http.listen` at `path`.
pub async fn start_webhook(
    settings: &TelegramSettings,
    store: Store,
    clock: Arc<dyn Clock>,
    public_url: &str,
    path: &str,
    secret: &str,
    renderers: crate::app::notice::Renderers,
) -> Result<(Running, axum::Router), StartupError> {
    let (client, bot) = connect(settings, store.clone(), clock.clone(), renderers).await?;
    startup::use_webhook(&client, public_url, secret).await?;
    let (stop, rx) = watch::channel(false);
    let router = webhook::router(Arc::new(bot.clone()), path, secret.to_string());
    let deliver = spawn_delivery(settings, store, clock, client, &bot, rx);
    Ok((
        Running {
            bot,
            stop,
            tasks: vec![deliver],
        },
        router,
    ))
}
