//! Long polling with our own getUpdates loop (teloxide's requests, not its Dispatcher), so
//! that an update is confirmed to Telegram (by the next call's `offset`) only after the
//! [`UpdateSink`] committed it to the store.
//!
//! A failed commit is retried from the same offset (Telegram redelivers it); after
//! [`PollConfig::max_attempts`] failures on the same update it is handed to
//! [`UpdateSink::quarantine`] so one bad update cannot stall the bot. Telegram's 429
//! `retry_after` is honoured; network errors back off up to 30 seconds.
//!
//! A batch is committed person by person in order, different people at once
//! ([`PollConfig::concurrency`]): during a burst the bot keeps answering everyone. The offset
//! moves past a batch only when all of it is committed; after a failure it stops at the failed
//! update, and what was committed after it is recognised on redelivery by its update_id.

use super::sink::{SinkError, UpdateSink};
use std::sync::Arc;
use std::time::Duration;
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::Update;
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct PollConfig {
    /// Long-poll timeout in seconds (below teloxide's 17-second client timeout).
    pub timeout_secs: u32,
    /// Commit attempts on one update before it is quarantined.
    pub max_attempts: u32,
    /// First pause after an error; doubles up to 30 seconds.
    pub backoff: Duration,
    /// Updates of different people committed at once (one person's always in order).
    pub concurrency: usize,
}

impl Default for PollConfig {
    fn default() -> Self {
        PollConfig {
            timeout_secs: 10,
            max_attempts: 5,
            backoff: Duration::from_millis(500),
            concurrency: 8,
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
        let updates: Vec<Update> = updates
            .into_iter()
            .filter(|u| offset.is_none_or(|o| (u.id.0 as i32) >= o))
            .collect();
        let Some(last) = updates.last().map(|u| u.id.0 as i32) else {
            continue;
        };
        match commit_batch(&sink, &updates, cfg.concurrency).await {
            None => {
                failing = None;
                offset = Some(last.saturating_add(1));
            }
            Some((update, e)) => {
                let id = update.id.0 as i32;
                let attempts = match failing {
                    Some((fid, n)) if fid == id => n + 1,
                    _ => 1,
                };
                failing = Some((id, attempts));
                tracing::warn!(update_id = id, attempts, error = %e, "telegram update not committed");
                // Everything before it is committed; it and what follows come again (what
                // was committed after it is recognised by its update_id and not redone).
                offset = Some(id);
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
            }
        }
    }
    // Confirm what was committed, without waiting for more.
    if let Some(o) = offset {
        let _ = bot.get_updates().offset(o).timeout(0).limit(1).send().await;
    }
    offset
}

/// Commits one batch of updates: each person's updates in order, different people at once
/// (up to `concurrency`), so a busy moment for some does not keep the others waiting. Returns
/// the first update (lowest id) that failed, with its error; a person's updates after their
/// failed one are not tried.
async fn commit_batch(
    sink: &Arc<dyn UpdateSink>,
    updates: &[Update],
    concurrency: usize,
) -> Option<(Update, SinkError)> {
    let mut by_person: Vec<(Option<u64>, Vec<Update>)> = Vec::new();
    for u in updates {
        let who = u.from().map(|f| f.id.0);
        match by_person
            .iter_mut()
            .find(|(k, _)| who.is_some() && *k == who)
        {
            Some((_, list)) => list.push(u.clone()),
            None => by_person.push((who, vec![u.clone()])),
        }
    }
    let permits = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    let mut first_of = std::collections::HashMap::new();
    for (_, list) in by_person {
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let first = list[0].clone();
        let sink = sink.clone();
        let handle = tasks.spawn(async move {
            let _permit = permit;
            for u in list {
                if let Err(e) = sink.commit(&u).await {
                    return Some((u, e));
                }
            }
            None
        });
        first_of.insert(handle.id(), first);
    }
    let mut failed: Option<(Update, SinkError)> = None;
    while let Some(joined) = tasks.join_next_with_id().await {
        let failure = match joined {
            Ok((_, f)) => f,
            // A panic while committing: that person's first update counts as failed.
            Err(e) => first_of
                .remove(&e.id())
                .map(|u| (u, SinkError("the update handler panicked".into()))),
        };
        if let Some((u, e)) = failure
            && failed.as_ref().is_none_or(|(f, _)| u.id.0 < f.id.0)
        {
            failed = Some((u, e));
        }
    }
    failed
}

async fn pause(d: Duration, shutdown: &mut watch::Receiver<bool>) {
    tokio::select! {
        _ = tokio::time::sleep(d) => {}
        _ = shutdown.changed() => {}
    }
}
