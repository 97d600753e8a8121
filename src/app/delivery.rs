//! What a delivered notice changes. The outbox worker reports each delivery here, inside the
//! transaction that marks the row sent; the outbox itself knows no domain rule.
//!
//! One rule today: once the requester's confirmation (the mediator's name) has been delivered,
//! an assigned request is confirmed (a no-op if it moved on meanwhile).

use chrono::{DateTime, Utc};

use super::notice::NoticeKind;
use crate::domain::RequestStatus;
use crate::store::{Result, Tx};

/// Called by the outbox worker after the row with `idempotency_key` was delivered.
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
