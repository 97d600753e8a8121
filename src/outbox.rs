//! The outbox: every message to a person (Telegram or email) is a row written in the same
//! transaction as the state change that caused it; a worker delivers rows with retries.
//!
//! This file fixes the contract between the outbox worker and the channels: a channel
//! implements [`Transport`] for its payloads, the worker decides when to retry.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub use crate::domain::payload::{Button, Calendar, EmailPayload, Menu, Payload, TelegramPayload};

/// A successful delivery: the channel's own id for what was sent (Telegram message_id,
/// email Message-ID), kept so later edits and threading can refer to it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivered {
    pub external_id: Option<String>,
}

/// Why a delivery failed, and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Temporary (network, 4xx SMTP, Telegram 429 with `retry_after`): try again later.
    #[error("temporary failure: {reason}")]
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// Will never succeed (chat blocked the bot, address rejected): dead letter at once.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

pub type DeliveryFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Delivered, DeliveryError>> + Send + 'a>>;

/// A channel that can deliver payloads of its kind.
pub trait Transport: Send + Sync {
    fn deliver<'a>(&'a self, payload: &'a Payload) -> DeliveryFuture<'a>;
}

pub type EventFuture<'a> = Pin<Box<dyn Future<Output = Result<(), StoreError>> + Send + 'a>>;

/// What a delivery or a dead letter means is not the outbox's business: the worker reports
/// each one, inside the transaction that marks the row, to the core (`app::delivery::Events`:
/// a delivered confirmation confirms the request; a dead letter alerts the coordinators).
pub trait DeliveryEvents: Send + Sync {
    /// Row `m` was delivered.
    fn delivered<'a>(
        &'a self,
        tx: &'a mut Tx,
        m: &'a ClaimedMessage,
        now: chrono::DateTime<chrono::Utc>,
    ) -> EventFuture<'a>;
    /// Row `m` was given up (`error`: the last reason).
    fn dead<'a>(
        &'a self,
        tx: &'a mut Tx,
        m: &'a ClaimedMessage,
        error: &'a str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> EventFuture<'a>;
}

// ---------------------------------------------------------------------------------------------
// The worker.
//
// Life of a row: `pending` -> claimed (`sending`, attempt counted, leased until now + lease) ->
// `sent` (with the channel's external id) | back to `pending` with a later `next_attempt_at`
// (exponential backoff with jitter, or the channel's `retry_after`) | `dead` after the last
// attempt or a permanent error, which alerts every coordinator through the outbox itself.
// The claim is committed before delivery starts, so no database lock is held across the
// network; a row whose worker died mid-delivery is claimable again when its lease passes.
//
// What a crash can duplicate: a crash (or lost lease) after the channel accepted a message but
// before the row was marked `sent` makes the row be delivered again after the lease. Nothing is
// lost, but the person may receive it twice:
// - Telegram `sendMessage` has no idempotency key: the duplicate is a second identical message.
//   Edits (`edit_message_id`) are idempotent: repeating one changes nothing.
// - Email: the repeated message carries the same Message-ID (chosen when the row was written),
//   so mail clients and many servers collapse it, but SMTP itself cannot refuse it.
// The idempotency key (unique in the table) makes re-enqueueing the same message a no-op, and
// the attempt number fences marks: a worker whose lease was taken over cannot mark the row.
// ---------------------------------------------------------------------------------------------

use crate::clock::Clock;
use crate::store::{ClaimedMessage, Store, StoreError, Tx};
use std::sync::Arc;

/// When to try again and when to give up.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; after the last one the row is dead.
    pub max_attempts: i64,
    /// Delay after the first failure; doubles with each attempt.
    pub base: Duration,
    /// Longest delay between attempts.
    pub cap: Duration,
    /// How long a claimed row belongs to its worker.
    pub lease: Duration,
    /// Rows claimed per round.
    pub batch: i64,
    /// Deliveries in flight at once.
    pub concurrency: usize,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base: Duration::from_secs(10),
            cap: Duration::from_secs(3600),
            lease: Duration::from_secs(120),
            batch: 32,
            concurrency: 8,
        }
    }
}

impl RetryPolicy {
    /// The delay before attempt `attempt + 1` after attempt `attempt` (1-based) failed.
    /// `jitter` in [0, 1) spreads retries ("equal jitter": half fixed, half random). A channel's
    /// `retry_after` is honoured: never retry earlier than it says.
    pub fn delay(&self, attempt: i64, retry_after: Option<Duration>, jitter: f64) -> Duration {
        let exp = attempt.clamp(1, 30) as u32 - 1;
        let raw = self.base.saturating_mul(1u32 << exp.min(20)).min(self.cap);
        let j = jitter.clamp(0.0, 1.0);
        let backoff = raw / 2 + raw.mul_f64(j / 2.0);
        match retry_after {
            Some(after) => after + after.mul_f64(j * 0.1).min(Duration::from_secs(5)),
            None => backoff,
        }
    }
}

/// The transports by channel; a missing one leaves its rows retrying until one is configured
/// or they die.
#[derive(Clone, Default)]
pub struct Transports {
    pub telegram: Option<Arc<dyn Transport>>,
    pub email: Option<Arc<dyn Transport>>,
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoundStats {
    pub sent: usize,
    pub retried: usize,
    pub dead: usize,
    /// Marks refused because the lease had been taken over.
    pub lost: usize,
}

impl RoundStats {
    pub fn claimed(&self) -> usize {
        self.sent + self.retried + self.dead + self.lost
    }
}

/// Delivers outbox rows. Several workers (threads or instances) may run on one database.
#[derive(Clone)]
pub struct OutboxWorker {
    store: Store,
    clock: Arc<dyn Clock>,
    transports: Transports,
    policy: RetryPolicy,
    /// Told of every delivery and dead letter (the daemon wires the core's).
    events: Option<Arc<dyn DeliveryEvents>>,
    /// Rung right after a commit that queued messages (the bot's), so replies leave at once
    /// instead of at the next idle tick.
    wake: Option<Arc<tokio::sync::Notify>>,
    /// At most this many automatic emails to one recipient within the window (loop
    /// protection), counted in the store: shared by every instance, kept across restarts.
    email_cap: Option<(i64, Duration)>,
}

enum Outcome {
    Sent(Option<String>),
    Retry(Duration, String),
    Dead(String),
}

impl OutboxWorker {
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        transports: Transports,
        policy: RetryPolicy,
    ) -> Self {
        Self {
            store,
            clock,
            transports,
            policy,
            events: None,
            wake: None,
            email_cap: None,
        }
    }

    /// Tells `events` of every delivery and dead letter, in the transaction that marks it.
    pub fn with_events(mut self, events: Arc<dyn DeliveryEvents>) -> Self {
        self.events = Some(events);
        self
    }

    /// At most `max` emails to one recipient within `window`; the rest wait for the window
    /// to free a slot (each wait counts as an attempt, so a real loop ends as a dead letter
    /// the coordinators hear of).
    pub fn with_email_cap(mut self, max: u32, window: Duration) -> Self {
        self.email_cap = Some((i64::from(max), window));
        self
    }

    /// Wakes the worker whenever `wake` is notified.
    pub fn with_wake(mut self, wake: Arc<tokio::sync::Notify>) -> Self {
        self.wake = Some(wake);
        self
    }

    /// Claims due rows and delivers them; returns what happened. An empty round means nothing
    /// was due.
    pub async fn run_once(&self) -> Result<RoundStats, StoreError> {
        use futures::StreamExt;
        let now = self.clock.now();
        let lease =
            chrono::Duration::from_std(self.policy.lease).unwrap_or(chrono::Duration::minutes(2));
        let claimed = self
            .store
            .claim_outbox(now, now + lease, self.policy.batch)
            .await?;
        let (claimed, mut capped) = self.apply_email_cap(claimed, now).await?;
        let mut results: Vec<(ClaimedMessage, Outcome)> = futures::stream::iter(claimed)
            .map(|m| async move {
                let outcome = self.deliver(&m).await;
                (m, outcome)
            })
            .buffer_unordered(self.policy.concurrency.max(1))
            .collect()
            .await;
        results.append(&mut capped);
        // All marks of a round (and any dead-letter alerts) in one transaction: one commit
        // instead of one per row.
        let mut stats = RoundStats::default();
        if results.is_empty() {
            return Ok(stats);
        }
        let now = self.clock.now();
        let mut tx = self.store.begin().await?;
        for (m, outcome) in results {
            let applied = match &outcome {
                Outcome::Sent(ext) => {
                    let ok = tx
                        .mark_outbox_sent(m.id, m.attempt, ext.as_deref(), now)
                        .await?;
                    if ok {
                        stats.sent += 1;
                        // What a delivery changes is the core's business, not the outbox's.
                        if let Some(e) = &self.events {
                            e.delivered(&mut tx, &m, now).await?;
                        }
                    }
                    ok
                }
                Outcome::Retry(after, reason) => {
                    let at = now
                        + chrono::Duration::from_std(*after).unwrap_or(chrono::Duration::hours(1));
                    let ok = tx.mark_outbox_retry(m.id, m.attempt, at, reason).await?;
                    if ok {
                        stats.retried += 1;
                        tracing::warn!(
                            outbox_id = m.id,
                            attempt = m.attempt,
                            "delivery failed; retry scheduled"
                        );
                    }
                    ok
                }
                Outcome::Dead(reason) => {
                    let ok = tx.mark_outbox_dead(m.id, m.attempt, reason, now).await?;
                    if ok {
                        stats.dead += 1;
                        tracing::error!(
                            outbox_id = m.id,
                            attempt = m.attempt,
                            "delivery given up: dead letter"
                        );
                        if let Some(e) = &self.events {
                            e.dead(&mut tx, &m, reason, now).await?;
                        }
                    }
                    ok
                }
            };
            if !applied {
                stats.lost += 1;
            }
        }
        tx.commit().await?;
        Ok(stats)
    }

    /// Splits claimed rows into those to deliver and emails held back by the per-recipient
    /// cap (with the outcome to record for them).
    async fn apply_email_cap(
        &self,
        claimed: Vec<ClaimedMessage>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(Vec<ClaimedMessage>, Vec<(ClaimedMessage, Outcome)>), StoreError> {
        let Some((max, window)) = self.email_cap else {
            return Ok((claimed, Vec::new()));
        };
        let window_c = chrono::Duration::from_std(window).unwrap_or(chrono::Duration::hours(1));
        // Per recipient: slots left in the window, and when the oldest mail in it went.
        use std::collections::hash_map::{Entry, HashMap};
        let mut budget: HashMap<String, (i64, Option<i64>)> = HashMap::new();
        let (mut send, mut held) = (Vec::new(), Vec::new());
        // Answers to a registered operator's own mail are not loops: never held by the cap.
        let emails: Vec<i64> = claimed
            .iter()
            .filter(|m| matches!(m.payload, Payload::Email(_)))
            .map(|m| m.id)
            .collect();
        let exempt = self.store.cap_exempt_among(&emails).await?;
        for m in claimed {
            let Payload::Email(e) = &m.payload else {
                send.push(m);
                continue;
            };
            if exempt.contains(&m.id) {
                send.push(m);
                continue;
            }
            let (left, first) = match budget.entry(e.recipient_key()) {
                Entry::Occupied(slot) => slot.into_mut(),
                Entry::Vacant(slot) => {
                    let (n, first) = self
                        .store
                        .emails_sent_to(slot.key(), now - window_c)
                        .await?;
                    slot.insert((max - n, first))
                }
            };
            if *left > 0 {
                *left -= 1;
                send.push(m);
                continue;
            }
            let frees_at = first.map_or(now + window_c, |f| crate::store::from_ts(f) + window_c);
            let wait = (frees_at - now)
                .to_std()
                .unwrap_or_default()
                .max(Duration::from_secs(60));
            let reason = "per-recipient cap of automatic mails reached".to_owned();
            tracing::warn!(outbox_id = m.id, "email held by the per-recipient cap");
            let outcome = self.retry_unless_last(m.attempt, wait, reason);
            held.push((m, outcome));
        }
        Ok((send, held))
    }

    /// Another attempt after `wait`, or a dead letter when `attempt` was the last one.
    fn retry_unless_last(&self, attempt: i64, wait: Duration, reason: String) -> Outcome {
        if attempt >= self.policy.max_attempts {
            Outcome::Dead(reason)
        } else {
            Outcome::Retry(wait, reason)
        }
    }

    async fn deliver(&self, m: &ClaimedMessage) -> Outcome {
        let transport = match &m.payload {
            Payload::Telegram(_) => self.transports.telegram.as_ref(),
            Payload::Email(_) => self.transports.email.as_ref(),
        };
        let result = match transport {
            Some(t) => t.deliver(&m.payload).await,
            None => Err(DeliveryError::Retry {
                after: Some(self.policy.cap),
                reason: "no transport configured for this channel".into(),
            }),
        };
        match result {
            Ok(d) => Outcome::Sent(d.external_id),
            Err(DeliveryError::Permanent(reason)) => Outcome::Dead(reason),
            Err(DeliveryError::Retry { after, reason }) => {
                let wait = self.policy.delay(m.attempt, after, rand::random::<f64>());
                self.retry_unless_last(m.attempt, wait, reason)
            }
        }
    }

    /// Runs rounds until `shutdown` turns true: straight on while rows are due, else every
    /// `idle` interval.
    pub async fn run(&self, idle: Duration, mut shutdown: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let busy = match self.run_once().await {
                Ok(s) => s.claimed() > 0,
                Err(e) => {
                    tracing::error!(error = %e, "outbox round failed");
                    false
                }
            };
            if !busy {
                let woken = async {
                    match &self.wake {
                        Some(n) => n.notified().await,
                        None => std::future::pending().await,
                    }
                };
                tokio::select! {
                    _ = tokio::time::sleep(idle) => {}
                    _ = woken => {}
                    _ = shutdown.changed() => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_is_capped_and_jittered() {
        let p = RetryPolicy {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(300),
            ..Default::default()
        };
        // Without jitter: half the exponential value; with full jitter: the whole of it.
        assert_eq!(p.delay(1, None, 0.0), Duration::from_secs(5));
        assert_eq!(p.delay(1, None, 1.0), Duration::from_secs(10));
        assert_eq!(p.delay(2, None, 1.0), Duration::from_secs(20));
        assert_eq!(p.delay(3, None, 0.0), Duration::from_secs(20));
        assert_eq!(p.delay(10, None, 1.0), Duration::from_secs(300));
        assert_eq!(p.delay(60, None, 0.0), Duration::from_secs(150));
        let d = p.delay(2, None, 0.5);
        assert!(d > Duration::from_secs(10) && d < Duration::from_secs(20));
    }

    #[test]
    fn retry_after_is_honoured() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(37)), 0.0),
            Duration::from_secs(37)
        );
        let d = p.delay(5, Some(Duration::from_secs(3)), 0.99);
        assert!(
            d >= Duration::from_secs(3) && d < Duration::from_secs(4),
            "{d:?}"
        );
    }
}
