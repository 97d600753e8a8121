//! Builders for the rows tests set up by hand, written through the store's own API (no raw
//! SQL in the tests): the same checks and the same columns as production writes them.

#![allow(dead_code)]

use chrono::{DateTime, Duration, Utc};
use connecting::store::Store;

/// An open offer of a request to one mediator (wave 1, open for an hour unless told).
pub struct OfferBuilder {
    request_id: i64,
    mediator_id: i64,
    wave: i64,
    open_for: Duration,
}

/// An offer of request `request_id` to mediator `mediator_id`.
pub fn offer(request_id: i64, mediator_id: i64) -> OfferBuilder {
    OfferBuilder {
        request_id,
        mediator_id,
        wave: 1,
        open_for: Duration::hours(1),
    }
}

impl OfferBuilder {
    pub fn wave(mut self, wave: i64) -> Self {
        self.wave = wave;
        self
    }

    pub fn open_for(mut self, d: Duration) -> Self {
        self.open_for = d;
        self
    }

    /// Writes it as sent at `now`; returns its id.
    pub async fn insert(self, store: &Store, now: DateTime<Utc>) -> i64 {
        let mut tx = store.begin().await.expect("begin");
        let id = tx
            .insert_offer(
                self.request_id,
                self.mediator_id,
                self.wave,
                now + self.open_for,
                now,
            )
            .await
            .expect("offer");
        tx.commit().await.expect("commit");
        id
    }
}
