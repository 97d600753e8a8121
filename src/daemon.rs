//! `connecting run`: one process that starts what the configuration enables and stops cleanly.
//!
//! Parts without configuration are skipped with one log line. SIGINT/SIGTERM stop taking new
//! work and give running work a bounded time to finish; a second signal exits at once. Under
//! systemd (`Type=notify`) the daemon reports READY once every part is started and HTTP
//! listens, pings the watchdog while its runtime schedules work, and reports STOPPING.

use anyhow::{Context as _, bail};
use std::time::Duration;
use tokio::sync::watch;

use crate::config::Config;
use crate::store::{Backend, Store};

pub use crate::shutdown::Shutdown;

/// Holds an exclusive lock on `<database file>.lock` for the process's lifetime, so a second
/// instance on the same SQLite file refuses to start.
pub struct InstanceLock {
    _file: Option<std::fs::File>,
}

pub fn instance_lock(cfg: &Config, store: &Store) -> anyhow::Result<InstanceLock> {
    if store.backend() != Backend::Sqlite {
        return Ok(InstanceLock { _file: None });
    }
    let url = &cfg.database.url;
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or("");
    if path.is_empty() || path.contains(":memory:") {
        return Ok(InstanceLock { _file: None });
    }
    let lock_path = format!("{path}.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open lock file {lock_path}"))?;
    match file.try_lock() {
        Ok(()) => Ok(InstanceLock { _file: Some(file) }),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another connecting instance is already running on {path} (SQLite allows one instance; use PostgreSQL to run several)"
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {lock_path}"))
        }
    }
}

/// Waits for SIGINT or SIGTERM.
async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        match (term, int) {
            (Ok(mut t), Ok(mut i)) => {
                tokio::select! {
                    _ = t.recv() => {}
                    _ = i.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub use crate::settings::{dispatch_settings, message_id_domain, own_address, retry_policy};

/// The email pipeline's settings.
/// The console's "read this quarantined email again", over the email intake (the console
/// never calls the email channel itself).
pub fn quarantine_retry(
    intake: std::sync::Arc<crate::channels::email::Intake>,
) -> crate::web::QuarantineRetry {
    use crate::channels::email::{IntakeError, Outcome};
    use crate::web::Retried;
    std::sync::Arc::new(move |id| {
        let intake = intake.clone();
        Box::pin(async move {
            match intake.retry_quarantined(id).await {
                Ok(
                    Outcome::Created { code, .. }
                    | Outcome::Updated { code, .. }
                    | Outcome::Cancelled { code, .. },
                ) => Retried::Request(code),
                Ok(Outcome::Quarantined { error }) => Retried::Quarantined(error),
                Ok(_) => Retried::Handled,
                Err(IntakeError::NotQuarantined(_) | IntakeError::Purged(_)) => Retried::Gone,
                Err(e) => {
                    tracing::warn!(inbound = id, error = %e, "quarantine retry failed");
                    Retried::Quarantined(e.to_string())
                }
            }
        })
    })
}

pub fn email_intake_config(cfg: &Config) -> crate::channels::email::IntakeConfig {
    let mut ic =
        crate::channels::email::IntakeConfig::new(&own_address(cfg), &message_id_domain(cfg));
    ic.allowed_sender_domains = cfg.intake.allowed_sender_domains.clone();
    ic.allowed_senders = cfg.intake.allowed_senders.clone();
    ic.pec_provider_domains = cfg.intake.pec_provider_domains.clone();
    ic.lang = cfg.intake.language.as_str().to_string();
    ic.timezone = cfg.intake.timezone;
    ic.min_notice_hours = cfg.intake.min_notice_hours;
    ic.max_new_requests_per_sender_per_hour = cfg.intake.max_new_requests_per_sender_per_hour;
    ic.trusted_authserv_id = cfg
        .intake
        .trusted_authserv_id
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    ic.require_dmarc_pass = cfg.intake.require_dmarc_pass;
    if let Some(o) = crate::settings::organizer(cfg) {
        ic.organizer = Some(o);
    }
    if let Some(i) = &cfg.imap {
        ic.limits.max_size = usize::try_from(i.max_message_bytes).unwrap_or(usize::MAX);
    }
    ic
}

/// The mailbox's OAuth2 tokens (one source for IMAP and SMTP), when `[oauth2]` is configured;
/// a refused refresh token alerts the coordinators once (per token) with what to run.
pub fn oauth2_tokens(
    cfg: &Config,
    store: &Store,
) -> anyhow::Result<Option<std::sync::Arc<crate::oauth2::TokenSource>>> {
    let Some(o) = &cfg.oauth2 else {
        return Ok(None);
    };
    let tokens = std::sync::Arc::new(
        crate::oauth2::TokenSource::from_config(o).map_err(|e| anyhow::anyhow!("oauth2: {e}"))?,
    );
    let store = store.clone();
    let core = crate::renderers::core(dispatch_settings(cfg));
    tokens.on_refused(std::sync::Arc::new(move |r: crate::oauth2::Refusal| {
        let (store, core) = (store.clone(), core.clone());
        Box::pin(async move {
            let key = format!("oauth2_refused:{}", r.fingerprint);
            let sent = async {
                let mut tx = store.begin().await?;
                crate::app::alert::prompt(
                    &core,
                    &mut tx,
                    &key,
                    None,
                    "daemon.alert_subject",
                    "daemon.alert_oauth2_refused",
                    &[("reason", &r.reason)],
                    chrono::Utc::now(),
                )
                .await?;
                tx.commit().await
            };
            match sent.await {
                Ok(()) => {
                    tracing::warn!(token = %r.fingerprint, "oauth2 refused: coordinators alerted")
                }
                Err(e) => tracing::warn!(error = %e, "cannot alert the coordinators"),
            }
        })
    }));
    Ok(Some(tokens))
}

/// Applies retention once a day (and at start).
async fn retention_loop(store: Store, cfg: crate::config::RetentionConfig, mut shutdown: Shutdown) {
    loop {
        let now = chrono::Utc::now();
        let raw_before = now - chrono::Duration::days(i64::from(cfg.raw_days));
        let closed_before = now - chrono::Duration::days(i64::from(cfg.closed_days));
        match store.purge(raw_before, closed_before, now).await {
            Ok(c) => tracing::info!(
                raw = c.raw_messages,
                anonymised = c.requests_anonymised,
                "retention applied"
            ),
            Err(e) => tracing::warn!(error = %e, "retention failed; will retry"),
        }
        tokio::select! {
            _ = shutdown.wait() => return,
            _ = tokio::time::sleep(Duration::from_secs(24 * 3600)) => {}
        }
    }
}

/// Alerts the coordinators once per episode when a channel has not fetched for longer than its
/// threshold (the same rule that turns `/healthz` to 503).
async fn stale_watch(
    state: crate::http::HttpState,
    core: crate::app::Core,
    mut shutdown: Shutdown,
) {
    let mut alerted: std::collections::HashMap<String, i64> = Default::default();
    loop {
        tokio::select! {
            _ = shutdown.wait() => return,
            _ = tokio::time::sleep(Duration::from_secs(5)) => {}
        }
        let now = crate::store::ts(chrono::Utc::now());
        for s in crate::http::statuses(&state, now) {
            if s.state != "stale" {
                alerted.remove(&s.name);
                continue;
            }
            let since = s.last_fetch_at.unwrap_or(state.started_at);
            if alerted.get(&s.name) == Some(&since) {
                continue;
            }
            let minutes = ((now - since) / 60).to_string();
            let key = format!("stale:{}:{since}", s.name);
            let sent = async {
                let mut tx = state.store.begin().await?;
                crate::app::alert::prompt(
                    &core,
                    &mut tx,
                    &key,
                    None,
                    "daemon.alert_subject",
                    "daemon.alert_channel_stale",
                    &[("channel", &s.name), ("minutes", &minutes)],
                    chrono::Utc::now(),
                )
                .await?;
                tx.commit().await
            };
            match sent.await {
                Ok(()) => {
                    tracing::warn!(channel = %s.name, "channel not fetching: coordinators alerted");
                    alerted.insert(s.name.clone(), since);
                }
                Err(e) => tracing::warn!(error = %e, "cannot alert the coordinators"),
            }
        }
    }
}

/// Runs a part only while this instance is the leader; stops it when leadership is lost.
async fn while_leader<F, Fut>(
    name: &'static str,
    mut leader: watch::Receiver<bool>,
    mut shutdown: Shutdown,
    start: F,
) where
    F: Fn(watch::Receiver<bool>) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    loop {
        while !*leader.borrow() {
            tokio::select! {
                _ = shutdown.wait() => return,
                r = leader.changed() => if r.is_err() { return },
            }
        }
        tracing::info!(part = name, "started (leader)");
        let (stop_tx, stop_rx) = watch::channel(false);
        let mut handle = tokio::spawn(start(stop_rx));
        tokio::select! {
            _ = &mut handle => {
                tracing::warn!(part = name, "stopped by itself; restarting");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            _ = shutdown.wait() => {
                let _ = stop_tx.send(true);
                let _ = handle.await;
                return;
            }
            _ = async { while *leader.borrow() { if leader.changed().await.is_err() { break; } } } => {
                tracing::info!(part = name, "lost leadership; stopping");
                let _ = stop_tx.send(true);
                let _ = handle.await;
            }
        }
    }
}

/// Tells systemd (`Type=notify`) where the process is; a no-op outside systemd. The send is a
/// blocking datagram write (it waits while the receiver's queue is full), so it runs on the
/// blocking pool and is given up after a second: the event loop never waits for systemd.
async fn notify(state: &'static [sd_notify::NotifyState<'static>]) {
    let send = tokio::task::spawn_blocking(move || sd_notify::notify(state));
    match tokio::time::timeout(Duration::from_secs(1), send).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(e))) => tracing::warn!(error = %e, "cannot notify systemd"),
        Ok(Err(_)) | Err(_) => tracing::warn!("systemd did not take the notification in time"),
    }
}

/// Pings systemd's watchdog at half its `WatchdogSec` while the runtime schedules work: a
/// process whose event loop is stuck stops pinging and is restarted by systemd.
async fn watchdog(interval: Duration, mut shutdown: Shutdown) {
    loop {
        notify(&[sd_notify::NotifyState::Watchdog]).await;
        tokio::select! {
            _ = shutdown.wait() => return,
            _ = tokio::time::sleep(interval) => {}
        }
    }
}

/// What the Telegram part hands to the others.
#[derive(Default)]
struct TelegramParts {
    /// Woken when the bot has written to the outbox.
    wake: Option<std::sync::Arc<tokio::sync::Notify>>,
    /// The webhook route, in webhook mode.
    webhook: Option<axum::Router>,
}

/// The running parts of one daemon: the tasks, the health probes, and the shared handles they
/// are started with. Each `start_*` step starts one part.
struct Parts {
    store: Store,
    clock: std::sync::Arc<dyn crate::clock::Clock>,
    stop: watch::Sender<bool>,
    shutdown: Shutdown,
    tasks: tokio::task::JoinSet<()>,
    probes: Vec<crate::http::StatusProbe>,
    leader: watch::Receiver<bool>,
}

impl Parts {
    /// Starts leadership (PostgreSQL: one poller at a time; SQLite: always this instance).
    fn new(store: Store) -> Parts {
        let (stop, shutdown) = Shutdown::new();
        let (leader_tx, leader) = watch::channel(false);
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(crate::leader::elect(
            store.clone(),
            leader_tx,
            shutdown.clone(),
            Duration::from_secs(2),
        ));
        Parts {
            store,
            clock: std::sync::Arc::new(crate::clock::SystemClock),
            stop,
            shutdown,
            tasks,
            probes: Vec::new(),
            leader,
        }
    }

    /// Telegram: the bot's client is also the outbox transport for Telegram payloads; polling
    /// runs on the leader, a webhook on every instance.
    async fn start_telegram(
        &mut self,
        cfg: &Config,
        transports: &mut crate::outbox::Transports,
    ) -> anyhow::Result<TelegramParts> {
        use crate::channels::telegram::{UpdateSink, runtime, startup};
        use std::sync::Arc;
        let Some(settings) = runtime::TelegramSettings::from_config(cfg) else {
            tracing::info!(part = "telegram", "not configured, skipped");
            return Ok(TelegramParts::default());
        };
        let (client, bot) = runtime::connect(
            &settings,
            self.store.clone(),
            self.clock.clone(),
            crate::renderers::channels(),
        )
        .await
        .map_err(|e| anyhow::anyhow!("telegram: {e}"))?;
        transports.telegram = Some(Arc::new(crate::channels::telegram::TelegramTransport::new(
            client.clone(),
        )));
        let mut parts = TelegramParts {
            wake: Some(bot.wake()),
            webhook: None,
        };
        let sink: Arc<dyn UpdateSink> = Arc::new(bot);
        let webhook = cfg
            .telegram
            .as_ref()
            .filter(|t| t.mode == crate::config::TelegramMode::Webhook)
            .and_then(|t| Some((t.webhook_url.clone()?, t.webhook_secret.clone()?)));
        if let Some((url, secret)) = webhook {
            startup::use_webhook(&client, &url, secret.expose())
                .await
                .map_err(|e| anyhow::anyhow!("telegram: {e}"))?;
            parts.webhook = Some(crate::channels::telegram::webhook::router(
                sink,
                &webhook_path(&url),
                secret.expose().to_string(),
            ));
            self.probes.push(Arc::new(|| crate::http::ChannelStatus {
                name: "telegram".into(),
                state: "ok".into(),
                last_fetch_at: None,
                stale_after_secs: i64::MAX,
            }));
            tracing::info!(part = "telegram", mode = "webhook", "started");
            return Ok(parts);
        }
        startup::use_polling(&client)
            .await
            .map_err(|e| anyhow::anyhow!("telegram: {e}"))?;
        let poll_cfg = settings.poll.clone();
        let stale = i64::from(poll_cfg.timeout_secs) + 120;
        let leader_probe = self.leader.clone();
        self.probes.push(Arc::new(move || {
            let leading = *leader_probe.borrow();
            crate::http::ChannelStatus {
                name: "telegram".into(),
                state: if leading { "connecting" } else { "standby" }.into(),
                last_fetch_at: crate::metrics::telegram_last_poll(),
                stale_after_secs: stale,
            }
        }));
        self.tasks.spawn(while_leader(
            "telegram polling",
            self.leader.clone(),
            self.shutdown.clone(),
            move |stop| {
                let (client, sink, poll_cfg) = (client.clone(), sink.clone(), poll_cfg.clone());
                async move {
                    crate::channels::telegram::poller::run(client, sink, poll_cfg, stop).await;
                }
            },
        ));
        Ok(parts)
    }

    /// The outbox: one shared worker over every configured transport, woken when the bot or
    /// the dispatcher has written messages. Returns its wake handle.
    fn start_outbox(
        &mut self,
        cfg: &Config,
        transports: crate::outbox::Transports,
        wake: Option<std::sync::Arc<tokio::sync::Notify>>,
    ) -> std::sync::Arc<tokio::sync::Notify> {
        let wake = wake.unwrap_or_default();
        let mut worker = crate::outbox::OutboxWorker::new(
            self.store.clone(),
            self.clock.clone(),
            transports,
            retry_policy(cfg),
        )
        .with_wake(wake.clone())
        .with_events(crate::app::delivery::events(crate::renderers::core(
            dispatch_settings(cfg),
        )));
        if let Some(s) = &cfg.smtp {
            worker = worker.with_email_cap(s.max_auto_replies_per_hour, Duration::from_secs(3600));
        }
        let rx = self.shutdown.0.clone();
        self.tasks
            .spawn(async move { worker.run(Duration::from_millis(250), rx).await });
        wake
    }

    /// Dispatch and timers, on every instance; woken when the email intake has committed a
    /// message. Returns its wake handle.
    fn start_dispatcher(
        &mut self,
        cfg: &Config,
        outbox_wake: std::sync::Arc<tokio::sync::Notify>,
    ) -> std::sync::Arc<tokio::sync::Notify> {
        let wake = std::sync::Arc::new(tokio::sync::Notify::new());
        let dispatcher = crate::dispatch::Dispatcher::new(
            self.store.clone(),
            self.clock.clone(),
            dispatch_settings(cfg),
            crate::renderers::channels(),
        )
        .with_wake(wake.clone(), Some(outbox_wake));
        let rx = self.shutdown.0.clone();
        self.tasks
            .spawn(async move { dispatcher.run(Duration::from_millis(500), rx).await });
        wake
    }

    /// IMAP intake, on the leader.
    fn start_imap(
        &mut self,
        cfg: &Config,
        dispatch_wake: std::sync::Arc<tokio::sync::Notify>,
        tokens: &Option<std::sync::Arc<crate::oauth2::TokenSource>>,
    ) {
        use crate::channels::email::imap::{Health, ImapConfig, Poller};
        use std::sync::{Arc, Mutex};
        let Some(i) = &cfg.imap else {
            tracing::info!(part = "imap", "not configured, skipped");
            return;
        };
        let mut icfg = ImapConfig::from_config(i);
        if let Some(t) = tokens_for(tokens, i.auth) {
            icfg = icfg.with_oauth2(t);
        }
        let intake = Arc::new(
            crate::channels::email::Intake::new(
                self.store.clone(),
                email_intake_config(cfg),
                self.clock.clone(),
                crate::renderers::channels(),
            )
            .with_wake(dispatch_wake),
        );
        let health: Arc<Mutex<Option<Arc<Health>>>> = Default::default();
        let stale_after = i64::try_from(i.stale_after_minutes * 60).unwrap_or(i64::MAX);
        let renew = i64::try_from(icfg.idle_renew.as_secs()).unwrap_or(i64::MAX);
        self.probes.push(imap_probe(
            self.leader.clone(),
            health.clone(),
            stale_after,
            renew,
        ));
        self.tasks.spawn(while_leader(
            "imap",
            self.leader.clone(),
            self.shutdown.clone(),
            move |stop| {
                let poller = Poller::new(icfg.clone(), intake.clone(), stop);
                *health.lock().unwrap_or_else(|e| e.into_inner()) = Some(poller.health());
                async move { poller.run().await }
            },
        ));
    }

    /// Retention once a day, and the coordinators' alert when a channel goes stale.
    fn start_housekeeping(&mut self, cfg: &Config, http: &crate::http::HttpState) {
        self.tasks.spawn(retention_loop(
            self.store.clone(),
            cfg.retention.clone(),
            self.shutdown.clone(),
        ));
        self.tasks.spawn(stale_watch(
            http.clone(),
            crate::renderers::core(dispatch_settings(cfg)),
            self.shutdown.clone(),
        ));
    }

    /// HTTP: health, metrics, and the webhook in webhook mode.
    fn start_http(
        &mut self,
        listener: tokio::net::TcpListener,
        state: crate::http::HttpState,
        webhook: Option<axum::Router>,
    ) {
        let mut app = crate::http::router(state);
        if let Some(r) = webhook {
            app = app.merge(r);
        }
        let mut sd = self.shutdown.clone();
        self.tasks.spawn(async move {
            let serve =
                axum::serve(listener, app).with_graceful_shutdown(async move { sd.wait().await });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "http server failed");
            }
        });
    }

    /// The web console (`[web]`): on its own listener when `web.listen` is set (with the health
    /// routes, for the reverse proxy and `connecting doctor`), else returned to be merged into
    /// the `[http] listen` server.
    async fn start_web(
        &mut self,
        cfg: &Config,
        dispatch_wake: std::sync::Arc<tokio::sync::Notify>,
        outbox_wake: std::sync::Arc<tokio::sync::Notify>,
        http_state: &crate::http::HttpState,
    ) -> anyhow::Result<Option<axum::Router>> {
        let Some(web) = &cfg.web else {
            return Ok(None);
        };
        let dispatcher = crate::dispatch::Dispatcher::new(
            self.store.clone(),
            self.clock.clone(),
            dispatch_settings(cfg),
            crate::renderers::channels(),
        )
        .with_wake(dispatch_wake.clone(), Some(outbox_wake));
        let dispatch_wake_for_retry = dispatch_wake;
        let Some(state) =
            crate::web::WebState::new(self.store.clone(), dispatcher, self.clock.clone(), cfg)
        else {
            return Ok(None);
        };
        let intake = crate::channels::email::Intake::new(
            self.store.clone(),
            email_intake_config(cfg),
            self.clock.clone(),
            crate::renderers::channels(),
        )
        .with_wake(dispatch_wake_for_retry);
        let state = state
            .with_quarantine_retry(quarantine_retry(std::sync::Arc::new(intake)))
            .with_health(http_state.clone());
        let app = crate::web::router(state);
        let Some(addr) = web.own_addr()? else {
            tracing::info!(part = "web", "console served on http.listen");
            return Ok(Some(app));
        };
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on web.listen = {addr}"))?;
        let app = app.merge(crate::http::health_router(http_state.clone()));
        let mut sd = self.shutdown.clone();
        tracing::info!(part = "web", listen = %addr, "console served");
        self.tasks.spawn(async move {
            let serve =
                axum::serve(listener, app).with_graceful_shutdown(async move { sd.wait().await });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "console server failed");
            }
        });
        Ok(None)
    }

    /// Tells systemd the daemon is ready and starts the watchdog pings when `WatchdogSec` is set.
    async fn announce_ready(&mut self) {
        notify(&[
            sd_notify::NotifyState::Ready,
            sd_notify::NotifyState::Status("running"),
        ])
        .await;
        if let Some(every) = sd_notify::watchdog_enabled() {
            self.tasks.spawn(watchdog(every / 2, self.shutdown.clone()));
        }
    }

    /// Waits for SIGINT/SIGTERM, then gives the parts a bounded time to finish; a second signal
    /// exits at once.
    async fn run_until_signal(mut self) {
        signal().await;
        notify(&[
            sd_notify::NotifyState::Stopping,
            sd_notify::NotifyState::Status("stopping: finishing work in flight"),
        ])
        .await;
        tracing::info!("stopping: finishing work in flight");
        let _ = self.stop.send(true);
        let drain = async { while self.tasks.join_next().await.is_some() {} };
        tokio::select! {
            _ = drain => {}
            _ = tokio::time::sleep(Duration::from_secs(20)) => tracing::warn!("parts did not stop within 20 s"),
            _ = signal() => {
                // Nothing is acknowledged before it is committed, so stopping here loses nothing:
                // what was in flight is taken up again on the next start.
                tracing::warn!("second signal: exiting now");
                std::process::exit(130);
            }
        }
    }
}

/// The URL path of the webhook (`/telegram/webhook` when the URL has none).
fn webhook_path(url: &str) -> String {
    url.split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
        .filter(|p| p.len() > 1)
        .unwrap_or_else(|| "/telegram/webhook".into())
}

/// The IMAP channel's status: standby off the leader; while IDLE waits no fetch completes, so a
/// live IDLE connection is fresh until its renewal is overdue.
fn imap_probe(
    leader: watch::Receiver<bool>,
    health: std::sync::Arc<
        std::sync::Mutex<Option<std::sync::Arc<crate::channels::email::imap::Health>>>,
    >,
    stale_after: i64,
    renew: i64,
) -> crate::http::StatusProbe {
    use crate::http::ChannelStatus;
    std::sync::Arc::new(move || {
        let now = crate::store::ts(chrono::Utc::now());
        if !*leader.borrow() {
            return ChannelStatus {
                name: "imap".into(),
                state: "standby".into(),
                last_fetch_at: None,
                stale_after_secs: stale_after,
            };
        }
        let guard = health.lock().unwrap_or_else(|e| e.into_inner());
        let (connected, last) = guard
            .as_ref()
            .map(|h| (h.connected(), h.last_sync_at()))
            .unwrap_or((false, None));
        let state = if connected && last.is_some_and(|l| now - l <= renew + stale_after) {
            "ok"
        } else {
            "connecting"
        };
        ChannelStatus {
            name: "imap".into(),
            state: state.into(),
            last_fetch_at: last,
            stale_after_secs: stale_after,
        }
    })
}

/// The mailbox's OAuth2 tokens for one protocol, when it logs in with XOAUTH2.
fn tokens_for(
    tokens: &Option<std::sync::Arc<crate::oauth2::TokenSource>>,
    auth: crate::config::AuthMethod,
) -> Option<std::sync::Arc<crate::oauth2::TokenSource>> {
    match auth {
        crate::config::AuthMethod::Xoauth2 => tokens.clone(),
        crate::config::AuthMethod::Password => None,
    }
}

/// The SMTP transport, when `[smtp]` is configured.
fn email_transport(
    cfg: &Config,
    tokens: &Option<std::sync::Arc<crate::oauth2::TokenSource>>,
    transports: &mut crate::outbox::Transports,
) -> anyhow::Result<()> {
    use crate::channels::email::smtp::{SmtpConfig, SmtpTransport};
    match &cfg.smtp {
        Some(s) => {
            let mut scfg = SmtpConfig::from_config(s);
            if let Some(t) = tokens_for(tokens, s.auth) {
                scfg = scfg.with_oauth2(t);
            }
            let t = SmtpTransport::new(&scfg).map_err(|e| anyhow::anyhow!("smtp: {e}"))?;
            transports.email = Some(std::sync::Arc::new(t));
        }
        None => tracing::info!(
            part = "smtp",
            "not configured, skipped (email replies wait in the outbox)"
        ),
    }
    Ok(())
}

/// Runs until a signal arrives.
pub async fn run(cfg: &Config) -> anyhow::Result<()> {
    if let Some(c) = crate::settings::criterion_without_words(cfg) {
        bail!(
            "evaluation.criteria: {c:?} has no words: add criterion_{c} to prompts/it/dispatch.toml and prompts/en/dispatch.toml, or use {}",
            crate::config::DEFAULT_CRITERIA.join(", ")
        );
    }
    let started = std::time::Instant::now();
    crate::metrics::mark_start();
    let store = Store::open(&cfg.database.url).await?;
    let _lock = instance_lock(cfg, &store)?;
    let addr = cfg.http.addr()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on http.listen = {addr}"))?;
    let mut parts = Parts::new(store.clone());
    // OAuth2 tokens for the mailbox, shared by IMAP and SMTP.
    let tokens = oauth2_tokens(cfg, &store)?;
    let mut transports = crate::outbox::Transports::default();
    email_transport(cfg, &tokens, &mut transports)?;
    let telegram = parts.start_telegram(cfg, &mut transports).await?;
    let outbox_wake = parts.start_outbox(cfg, transports, telegram.wake);
    let dispatch_wake = parts.start_dispatcher(cfg, outbox_wake.clone());
    parts.start_imap(cfg, dispatch_wake.clone(), &tokens);
    let http_state = crate::http::HttpState {
        store: store.clone(),
        probes: std::mem::take(&mut parts.probes),
        started_at: crate::store::ts(chrono::Utc::now()),
    };
    parts.start_housekeeping(cfg, &http_state);
    let console = parts
        .start_web(cfg, dispatch_wake, outbox_wake, &http_state)
        .await?;
    let extra = match (telegram.webhook, console) {
        (Some(w), Some(c)) => Some(w.merge(c)),
        (w, c) => w.or(c),
    };
    parts.start_http(listener, http_state, extra);
    parts.announce_ready().await;
    tracing::info!(
        backend = ?store.backend(),
        http = %addr,
        startup_ms = started.elapsed().as_millis() as u64,
        "connecting is running"
    );
    parts.run_until_signal().await;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}
