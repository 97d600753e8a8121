//! What a delivered or dead message changes. The outbox worker reports each delivery and each
//! dead letter to [`Events`] (its [`crate::outbox::DeliveryEvents`]), inside the transaction
//! that marks the row; the outbox itself knows no domain rule.
//!
//! - once the requester's confirmation (the mediator's name) has been delivered, an assigned
//!   request is confirmed (a no-op if it moved on meanwhile);
//! - a dead letter alerts every coordinator ([`super::alert`]), except when the dead row was
//!   itself such an alert (no loops).

use chrono::{DateTime, Utc};
use std::sync::Arc;

use super::Core;
use super::alert::{self, Alert};
use super::notice::NoticeKind;
use crate::domain::RequestStatus;
use crate::domain::payload::Payload;
use crate::outbox::{DeliveryEvents, EventFuture};
use crate::store::{ClaimedMessage, Result, Tx};

/// Called after the row with `idempotency_key` was delivered.
pub async fn delivered(
    tx: &mut Tx,
    idempotency_key: &str,
    request_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<()> {
    if let (NoticeKind::Confirmation, Some(rid)) = (NoticeKind::of_key(idempotency_key), request_id)
    {
        tx.set_status_if(
            rid,
            &[RequestStatus::Assigned],
            RequestStatus::Confirmed,
            "",
            now,
        )
        .await?;
    }
    Ok(())
}

/// Called after row `m` was given up.
pub async fn dead(
    core: &Core,
    tx: &mut Tx,
    m: &ClaimedMessage,
    error: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    if NoticeKind::of_key(&m.idempotency_key) == NoticeKind::Alert
        && m.idempotency_key.starts_with("dead:")
    {
        return Ok(());
    }
    let channel = match m.payload {
        Payload::Telegram(_) => "telegram",
        Payload::Email(_) => "email",
    };
    let a = Alert::DeadLetter {
        outbox_id: m.id,
        request_id: m.request_id,
        attempts: m.attempt,
        channel,
        error: error.to_string(),
    };
    alert::raise(core, tx, &a, now).await?;
    Ok(())
}

/// The core's side of the outbox worker.
#[derive(Debug, Clone)]
pub struct Events {
    core: Core,
}

/// The core's delivery events, for [`crate::outbox::OutboxWorker::with_events`].
pub fn events(core: Core) -> Arc<Events> {
    Arc::new(Events { core })
}

impl DeliveryEvents for Events {
    fn delivered<'a>(
        &'a self,
        tx: &'a mut Tx,
        m: &'a ClaimedMessage,
        now: DateTime<Utc>,
    ) -> EventFuture<'a> {
        Box::pin(delivered(tx, &m.idempotency_key, m.request_id, now))
    }

    fn dead<'a>(
        &'a self,
        tx: &'a mut Tx,
        m: &'a ClaimedMessage,
        error: &'a str,
        now: DateTime<Utc>,
    ) -> EventFuture<'a> {
        Box::pin(dead(&self.core, tx, m, error, now))
    }
}
