//! Long polling with our own getUpdates loop (teloxide's requests, not its Dispatcher), so
//! that an update is confirmed to Telegram (by the next call's `offset`) only after the
//! [`UpdateSink`] committed it to the store.
//!
//! A failed commit is retried from the same offset (Telegram redelivers it); after
//! [`PollConfig::max_attempts`] failures on the same update it is handed to
//! [`UpdateSink::quarantine`] so one bad update cannot stall the bot. Telegram's 429
//! `retry_after` is honoured; network errors back off up to 30 seconds.

use super::sink::UpdateSink;
use std::sync::Arc;
use std::time::Duration;
use teloxide::RequestError;
use teloxide::prelude::*;
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct PollConfig {
    /// Long-poll timeout in seconds (below teloxide's 17-second client timeout).
    pub timeout_secs: u32,
    /// Commit attempts on one update before it is quarantined.
    pub max_attempts: u32,
    /// First pause after an error; doubles up to 30 seconds.
    pub backoff: Duration,
}

impl Default for PollConfig {
    fn default() -> Self {
        PollConfig {
            timeout_secs: 10,
            max_attempts: 5,
            backoff: Duration::from_millis(500),
        }
    }
}

const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Polls until `shutdown` turns true. Returns the next offset (first unconfirmed update id).
pub async fn run(
    bot: Bot,
    sink: Arc<dyn UpdateSink>,
    cfg: PollConfig,
    mut shutdown: watch::Receiver<bool>,
) -> Option<i32> {
    let mut offset: Option<i32> = None;
    let mut backoff = cfg.backoff;
    let mut failing: Option<(i32, u32)> = None;
    loop {
        if *shutdown.borrow() {
            break;
        }
        let mut req = bot
            .get_updates()
            .timeout(cfg.timeout_secs)
            .allowed_updates(super::startup::ALLOWED_UPDATES);
        if let Some(o) = offset {
            req = req.offset(o);
        }
        let res = tokio::select! {
            _ = shutdown.changed() => break,
            res = req.send() => res,
        };
        let updates = match res {
            Ok(u) => {
                backoff = cfg.backoff;
                crate::metrics::telegram_polled();
                u
            }
            Err(RequestError::RetryAfter(s)) => {
                crate::metrics::telegram_api_error();
                tracing::warn!(
                    retry_after = s.seconds(),
                    "telegram getUpdates rate limited"
                );
                pause(s.duration(), &mut shutdown).await;
                continue;
            }
            Err(e) => {
                crate::metrics::telegram_api_error();
                tracing::warn!(error = %e, "telegram getUpdates failed");
                pause(backoff, &mut shutdown).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
                continue;
            }
        };
        for update in updates {
            let id = update.id.0 as i32;
            if offset.is_some_and(|o| id < o) {
                continue;
            }
            match sink.commit(&update).await {
                Ok(()) => {
                    failing = None;
                    offset = Some(id.saturating_add(1));
                }
                Err(e) => {
                    let attempts = match failing {
                        Some((fid, n)) if fid == id => n + 1,
                        _ => 1,
                    };
                    failing = Some((id, attempts));
                    tracing::warn!(update_id = id, attempts, error = %e, "telegram update not committed");
                    if attempts >= cfg.max_attempts {
                        match sink.quarantine(&update, &e.0).await {
                            Ok(()) => {
                                tracing::error!(update_id = id, "telegram update quarantined");
                                failing = None;
                                offset = Some(id.saturating_add(1));
                                continue;
                            }
                            Err(q) => {
                                tracing::error!(update_id = id, error = %q, "telegram update could not be quarantined");
                            }
                        }
                    }
                    pause(backoff, &mut shutdown).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    // Re-fetch from the failed update: it was not confirmed.
                    break;
                }
            }
        }
    }
    // Confirm what was committed, without waiting for more.
    if let Some(o) = offset {
        let _ = bot.get_updates().offset(o).timeout(0).limit(1).send().await;
    }
    offset
}

async fn pause(d: Duration, shutdown: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = shutdown.changed() => {}
    }
}
