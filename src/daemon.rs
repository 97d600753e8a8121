//! `connecting run`: one process that starts what the configuration enables and stops cleanly.
//!
//! Parts without configuration are skipped with one log line. SIGINT/SIGTERM stop taking new
//! work and give running work a bounded time to finish; a second signal exits at once.

use anyhow::{Context as _, bail};
use std::time::Duration;
use tokio::sync::watch;

use crate::config::Config;
use crate::store::{Backend, Store};

/// A shutdown signal handed to every part: `changed()` resolves when the process must stop.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    pub fn new() -> (watch::Sender<bool>, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (tx, Shutdown(rx))
    }

    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once shutdown has been requested.
    pub async fn wait(&mut self) {
        while !*self.0.borrow() {
            if self.0.changed().await.is_err() {
                return;
            }
        }
    }
}

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

/// The dispatcher's settings from the configuration.
pub fn dispatch_settings(cfg: &Config) -> crate::dispatch::DispatchSettings {
    let d = &cfg.dispatch;
    crate::dispatch::DispatchSettings {
        wave_size: d.wave_size as usize,
        offer_timeout_minutes: i64::from(d.offer_timeout_minutes),
        urgent_offer_timeout_minutes: i64::from(d.urgent_offer_timeout_minutes),
        travel_buffer_minutes: d.travel_buffer_minutes,
        tz: cfg.intake.timezone,
        message_id_domain: message_id_domain(cfg),
        lang: cfg.intake.language,
        ..crate::dispatch::DispatchSettings::default()
    }
}

/// The outbox's retry policy from `[outbox]`.
pub fn retry_policy(cfg: &Config) -> crate::outbox::RetryPolicy {
    let o = &cfg.outbox;
    crate::outbox::RetryPolicy {
        max_attempts: i64::from(o.max_attempts),
        base: Duration::from_secs(o.retry_base_secs),
        cap: Duration::from_secs(o.retry_cap_secs),
        ..crate::outbox::RetryPolicy::default()
    }
}

/// Our sending address: `smtp.from` without its display name.
pub fn own_address(cfg: &Config) -> String {
    let from = cfg
        .smtp
        .as_ref()
        .map(|s| s.from.clone())
        .unwrap_or_else(|| "info@connecting.invalid".into());
    from.rsplit_once('<')
        .map(|(_, a)| a.trim_end_matches('>').trim().to_lowercase())
        .unwrap_or_else(|| from.trim().to_lowercase())
}

/// The right-hand side of every Message-ID we make, so replies to them are recognised.
pub fn message_id_domain(cfg: &Config) -> String {
    own_address(cfg)
        .rsplit_once('@')
        .map(|(_, d)| d.to_string())
        .unwrap_or_else(|| "connecting.invalid".into())
}

/// The email pipeline's settings.
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
    let (store, lang, domain) = (store.clone(), cfg.intake.language, message_id_domain(cfg));
    tokens.on_refused(std::sync::Arc::new(move |r: crate::oauth2::Refusal| {
        let (store, domain) = (store.clone(), domain.clone());
        Box::pin(async move {
            let text = crate::prompts::t(
                lang,
                "daemon.alert_oauth2_refused",
                &[("reason", &r.reason)],
            );
            let subject = crate::prompts::t(lang, "daemon.alert_subject", &[]);
            let key = format!("oauth2_refused:{}", r.fingerprint);
            let sent = async {
                let mut tx = store.begin().await?;
                crate::alerts::to_coordinators(
                    &mut tx,
                    &key,
                    None,
                    &subject,
                    &text,
                    &domain,
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
    lang: crate::config::Lang,
    msgid_domain: String,
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
            let text = crate::prompts::t(
                lang,
                "daemon.alert_channel_stale",
                &[("channel", &s.name), ("minutes", &minutes)],
            );
            let subject = crate::prompts::t(lang, "daemon.alert_subject", &[]);
            let key = format!("stale:{}:{since}", s.name);
            let sent = async {
                let mut tx = state.store.begin().await?;
                crate::alerts::to_coordinators(
                    &mut tx,
                    &key,
                    None,
                    &subject,
                    &text,
                    &msgid_domain,
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

/// Runs until a signal arrives.
pub async fn run(cfg: &Config) -> anyhow::Result<()> {
    use crate::clock::{Clock, SystemClock};
    use crate::http::{ChannelStatus, HttpState, StatusProbe};
    use std::sync::Arc;

    let started = std::time::Instant::now();
    let store = Store::open(&cfg.database.url).await?;
    let _lock = instance_lock(cfg, &store)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (stop, shutdown) = Shutdown::new();
    let mut tasks: tokio::task::JoinSet<()> = tokio::task::JoinSet::new();
    let mut probes: Vec<StatusProbe> = Vec::new();
    let addr = cfg.http.addr()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on http.listen = {addr}"))?;

    // Leadership (PostgreSQL: one poller at a time; SQLite: always this instance).
    let (leader_tx, leader_rx) = watch::channel(false);
    tasks.spawn(crate::leader::elect(
        store.clone(),
        leader_tx,
        shutdown.clone(),
        Duration::from_secs(2),
    ));

    // OAuth2 tokens for the mailbox, shared by IMAP and SMTP.
    let tokens = oauth2_tokens(cfg, &store)?;
    let tokens_for = |auth: crate::config::AuthMethod| match auth {
        crate::config::AuthMethod::Xoauth2 => tokens.clone(),
        crate::config::AuthMethod::Password => None,
    };

    // Outbox: one shared worker over every configured transport.
    let mut transports = crate::outbox::Transports::default();
    match &cfg.smtp {
        Some(s) => {
            let mut scfg = crate::channels::email::smtp::SmtpConfig::from_config(s);
            if let Some(t) = tokens_for(s.auth) {
                scfg = scfg.with_oauth2(t);
            }
            let t = crate::channels::email::smtp::SmtpTransport::new(&scfg)
                .map_err(|e| anyhow::anyhow!("smtp: {e}"))?;
            transports.email = Some(Arc::new(t));
        }
        None => tracing::info!(
            part = "smtp",
            "not configured, skipped (email replies wait in the outbox)"
        ),
    }

    // Telegram: the bot's client is also the outbox transport for Telegram payloads; polling
    // runs on the leader, a webhook on every instance.
    let mut webhook_router: Option<axum::Router> = None;
    let mut wake: Option<Arc<tokio::sync::Notify>> = None;
    match crate::channels::telegram::runtime::TelegramSettings::from_config(cfg) {
        Some(settings) => {
            use crate::channels::telegram::{UpdateSink, runtime, startup};
            let (client, bot) = runtime::connect(&settings, store.clone(), clock.clone())
                .await
                .map_err(|e| anyhow::anyhow!("telegram: {e}"))?;
            transports.telegram = Some(Arc::new(
                crate::channels::telegram::TelegramTransport::new(client.clone()),
            ));
            wake = Some(bot.wake());
            let sink: Arc<dyn UpdateSink> = Arc::new(bot);
            let tcfg = cfg
                .telegram
                .as_ref()
                .map(|t| (t.mode, t.webhook_url.clone(), t.webhook_secret.clone()));
            match tcfg {
                Some((crate::config::TelegramMode::Webhook, Some(url), Some(secret))) => {
                    startup::use_webhook(&client, &url, secret.expose())
                        .await
                        .map_err(|e| anyhow::anyhow!("telegram: {e}"))?;
                    let path = url
                        .split_once("://")
                        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
                        .filter(|p| p.len() > 1)
                        .unwrap_or_else(|| "/telegram/webhook".into());
                    webhook_router = Some(crate::channels::telegram::webhook::router(
                        sink,
                        &path,
                        secret.expose().to_string(),
                    ));
                    probes.push(Arc::new(|| ChannelStatus {
                        name: "telegram".into(),
                        state: "ok".into(),
                        last_fetch_at: None,
                        stale_after_secs: i64::MAX,
                    }));
                    tracing::info!(part = "telegram", mode = "webhook", "started");
                }
                _ => {
                    startup::use_polling(&client)
                        .await
                        .map_err(|e| anyhow::anyhow!("telegram: {e}"))?;
                    let poll_cfg = settings.poll.clone();
                    let stale = i64::from(poll_cfg.timeout_secs) + 120;
                    let leader_probe = leader_rx.clone();
                    probes.push(Arc::new(move || {
                        let leading = *leader_probe.borrow();
                        ChannelStatus {
                            name: "telegram".into(),
                            state: if leading { "connecting" } else { "standby" }.into(),
                            last_fetch_at: crate::metrics::telegram_last_poll(),
                            stale_after_secs: stale,
                        }
                    }));
                    tasks.spawn(while_leader(
                        "telegram polling",
                        leader_rx.clone(),
                        shutdown.clone(),
                        move |stop| {
                            let (client, sink, poll_cfg) =
                                (client.clone(), sink.clone(), poll_cfg.clone());
                            async move {
                                crate::channels::telegram::poller::run(
                                    client, sink, poll_cfg, stop,
                                )
                                .await;
                            }
                        },
                    ));
                }
            }
        }
        None => tracing::info!(part = "telegram", "not configured, skipped"),
    }
    let mut worker = crate::outbox::OutboxWorker::new(
        store.clone(),
        clock.clone(),
        transports,
        retry_policy(cfg),
    );
    // The outbox wakes when the bot or the dispatcher has written messages; the dispatcher
    // wakes when the email intake has committed a message.
    let outbox_wake = wake.unwrap_or_else(|| Arc::new(tokio::sync::Notify::new()));
    worker = worker
        .with_wake(outbox_wake.clone())
        .with_language(cfg.intake.language)
        .with_message_id_domain(&message_id_domain(cfg));
    if let Some(s) = &cfg.smtp {
        worker = worker.with_email_cap(s.max_auto_replies_per_hour, Duration::from_secs(3600));
    }
    let dispatch_wake = Arc::new(tokio::sync::Notify::new());
    {
        let rx = shutdown.0.clone();
        tasks.spawn(async move { worker.run(Duration::from_millis(250), rx).await });
    }

    // Dispatch and timers, on every instance.
    let dispatcher =
        crate::dispatch::Dispatcher::new(store.clone(), clock.clone(), dispatch_settings(cfg))
            .with_wake(dispatch_wake.clone(), Some(outbox_wake.clone()));
    {
        let rx = shutdown.0.clone();
        tasks.spawn(async move { dispatcher.run(Duration::from_millis(500), rx).await });
    }

    // IMAP intake, on the leader.
    match &cfg.imap {
        Some(i) => {
            let mut icfg = crate::channels::email::imap::ImapConfig::from_config(i);
            if let Some(t) = tokens_for(i.auth) {
                icfg = icfg.with_oauth2(t);
            }
            let intake = Arc::new(
                crate::channels::email::Intake::new(
                    store.clone(),
                    email_intake_config(cfg),
                    clock.clone(),
                )
                .with_wake(dispatch_wake.clone()),
            );
            let health: Arc<std::sync::Mutex<Option<Arc<crate::channels::email::imap::Health>>>> =
                Default::default();
            let stale_after = i64::try_from(i.stale_after_minutes * 60).unwrap_or(i64::MAX);
            let renew = i64::try_from(icfg.idle_renew.as_secs()).unwrap_or(i64::MAX);
            let leader_probe = leader_rx.clone();
            let h = health.clone();
            probes.push(Arc::new(move || {
                let now = crate::store::ts(chrono::Utc::now());
                if !*leader_probe.borrow() {
                    return ChannelStatus {
                        name: "imap".into(),
                        state: "standby".into(),
                        last_fetch_at: None,
                        stale_after_secs: stale_after,
                    };
                }
                let guard = h.lock().unwrap_or_else(|e| e.into_inner());
                let (connected, last) = guard
                    .as_ref()
                    .map(|h| (h.connected(), h.last_sync_at()))
                    .unwrap_or((false, None));
                // While IDLE waits, no fetch completes: a live IDLE connection is fresh until its
                // renewal is overdue.
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
            }));
            tasks.spawn(while_leader(
                "imap",
                leader_rx.clone(),
                shutdown.clone(),
                move |stop| {
                    let poller = crate::channels::email::imap::Poller::new(
                        icfg.clone(),
                        intake.clone(),
                        stop,
                    );
                    *health.lock().unwrap_or_else(|e| e.into_inner()) = Some(poller.health());
                    async move { poller.run().await }
                },
            ));
        }
        None => tracing::info!(part = "imap", "not configured, skipped"),
    }

    tasks.spawn(retention_loop(
        store.clone(),
        cfg.retention.clone(),
        shutdown.clone(),
    ));

    // HTTP: health, metrics, and the webhook in webhook mode.
    let http_state = HttpState {
        store: store.clone(),
        probes,
        started_at: crate::store::ts(chrono::Utc::now()),
    };
    tasks.spawn(stale_watch(
        http_state.clone(),
        cfg.intake.language,
        message_id_domain(cfg),
        shutdown.clone(),
    ));
    let mut app = crate::http::router(http_state);
    if let Some(r) = webhook_router {
        app = app.merge(r);
    }
    {
        let mut sd = shutdown.clone();
        tasks.spawn(async move {
            let serve =
                axum::serve(listener, app).with_graceful_shutdown(async move { sd.wait().await });
            if let Err(e) = serve.await {
                tracing::error!(error = %e, "http server failed");
            }
        });
    }
    tracing::info!(
        backend = ?store.backend(),
        http = %addr,
        startup_ms = started.elapsed().as_millis() as u64,
        "connecting is running"
    );

    signal().await;
    tracing::info!("stopping: finishing work in flight");
    let _ = stop.send(true);
    let drain = async { while tasks.join_next().await.is_some() {} };
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
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}
