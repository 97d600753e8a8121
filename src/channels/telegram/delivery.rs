//! Delivers the bot's outbox rows (channel `telegram`) right after the commit that queued them,
//! and retries later ones: claim a row with a lease, send it with [`TelegramTransport`], mark it
//! sent (keeping the message_id) or schedule a retry (429 `retry_after`, network) or dead-letter
//! it (blocked, chat not found). Several instances never send the same row twice at once.
//!
//! Claims and marks are the shared outbox worker's (`crate::outbox::OutboxWorker`: same lease
//! columns, marks fenced by attempt), so both can run on one database; this loop only adds the
//! wake-up right after the bot's commit, which keeps reply latency low.

use super::transport::TelegramTransport;
use crate::clock::Clock;
use crate::outbox::DeliveryError;
use crate::store::Store;
use chrono::Duration as ChronoDuration;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// Attempts before a row is dead-lettered.
pub const MAX_ATTEMPTS: i64 = 8;
/// How long a claimed row stays with its claimer.
const LEASE_SECS: i64 = 60;

/// Sends every due row, then returns how many were handled.
pub async fn drain(store: &Store, transport: &TelegramTransport, clock: &dyn Clock) -> usize {
    let mut n = 0;
    loop {
        let now = clock.now();
        let row = match store.claim_telegram_outbox(now, LEASE_SECS).await {
            Ok(Some(r)) => r,
            Ok(None) => return n,
            Err(e) => {
                tracing::warn!(error = %e, "telegram outbox: cannot claim");
                return n;
            }
        };
        n += 1;
        let result = transport.deliver_payload(&row.payload).await;
        let now = clock.now();
        // Marks are fenced by the attempt number: a row whose lease passed to another worker
        // is not marked twice.
        let saved = match result {
            Ok(d) => {
                if let Some(mid) = d.external_id.as_deref().and_then(|s| s.parse::<i64>().ok()) {
                    let _ = store.set_offer_message(row.id, mid).await;
                }
                store
                    .mark_outbox_sent(row.id, row.attempts, d.external_id.as_deref(), now)
                    .await
            }
            Err(DeliveryError::Retry { after, reason }) if row.attempts < MAX_ATTEMPTS => {
                let wait = after.unwrap_or_else(|| backoff(row.attempts));
                tracing::warn!(outbox = row.id, attempts = row.attempts, reason = %reason, "telegram delivery will be retried");
                let next =
                    now + ChronoDuration::from_std(wait).unwrap_or(ChronoDuration::seconds(60));
                store
                    .mark_outbox_retry(row.id, row.attempts, next, &reason)
                    .await
            }
            Err(e) => {
                tracing::error!(outbox = row.id, error = %e, "telegram delivery dead-lettered");
                store
                    .mark_outbox_dead(row.id, row.attempts, &e.to_string(), now)
                    .await
            }
        };
        if let Err(e) = saved {
            tracing::warn!(outbox = row.id, error = %e, "telegram outbox: cannot record delivery");
        }
    }
}

fn backoff(attempts: i64) -> Duration {
    Duration::from_secs(2u64.saturating_pow(attempts.clamp(0, 10) as u32).min(600))
}

/// Runs until `shutdown`: drains when woken after a commit, and every `tick` for retries.
pub async fn run(
    store: Store,
    transport: TelegramTransport,
    clock: Arc<dyn Clock>,
    wake: Arc<Notify>,
    tick: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        drain(&store, &transport, clock.as_ref()).await;
        if *shutdown.borrow() {
            return;
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(tick) => {}
            _ = shutdown.changed() => return,
        }
    }
}
