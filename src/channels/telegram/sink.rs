//! The contract between the Telegram intake (long polling or webhook) and whatever commits an
//! update to the store. The intake confirms an update to Telegram only after
//! [`UpdateSink::commit`] returned `Ok`: nothing is acknowledged before it is committed.

use std::future::Future;
use std::pin::Pin;
use teloxide::types::Update;

/// Why an update could not be committed (the store is down, a constraint failed...).
#[derive(Debug, Clone, thiserror::Error)]
#[error("update not committed: {0}")]
pub struct SinkError(pub String);

pub type SinkFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SinkError>> + Send + 'a>>;

/// Receives every update exactly as Telegram sent it.
pub trait UpdateSink: Send + Sync {
    /// Commits the update and everything it causes (dialogue state, outbox rows) in the store.
    /// Must be idempotent by update_id: Telegram redelivers what was not confirmed.
    fn commit<'a>(&'a self, update: &'a Update) -> SinkFuture<'a>;

    /// Called when `commit` failed several times on the same update: keep it aside so the
    /// bot does not stall on it. `Ok` lets the intake move past it; the default refuses.
    fn quarantine<'a>(&'a self, update: &'a Update, reason: &'a str) -> SinkFuture<'a> {
        let _ = (update, reason);
        Box::pin(async { Err(SinkError("no quarantine".into())) })
    }
}
