//! The `offers` table: waves of offers and their atomic acceptance (one conditional update on
//! the request decides the winner), declines, closing the open ones.

use chrono::{DateTime, Utc};

use super::states::parsed;
use super::{Result, Store, StoreError, Tx, from_ts, ts};
use crate::domain::OfferState;
use crate::{with_pool, with_tx};

/// An offer as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub id: i64,
    pub request_id: i64,
    pub mediator_id: i64,
    pub wave: i64,
    pub state: OfferState,
    pub outbox_id: Option<i64>,
    pub expires_at: DateTime<Utc>,
}

type OfferRow = (i64, i64, i64, i64, String, Option<i64>, i64);

fn offer_from(r: OfferRow) -> Result<Offer> {
    Ok(Offer {
        id: r.0,
        request_id: r.1,
        mediator_id: r.2,
        wave: r.3,
        state: parsed(&r.4)?,
        outbox_id: r.5,
        expires_at: from_ts(r.6),
    })
}

const OFFER_COLS: &str = "id, request_id, mediator_id, wave, state, outbox_id, expires_at";

impl Tx {
    /// Who was already offered this request (any state) in its current round of offers
    /// (after a reschedule sent it back to the queue, a new round starts: `offers_from_wave`),
    /// and every mediator who left it because they could not take a new time.
    pub async fn offered_mediators(&mut self, request_id: i64) -> Result<Vec<i64>> {
        Ok(with_tx!(self, c => {
            sqlx::query_scalar(
                "SELECT mediator_id FROM offers WHERE request_id = $1
                   AND wave > (SELECT offers_from_wave FROM requests WHERE id = $1)
                 UNION
                 SELECT mediator_id FROM assignments WHERE request_id = $1 AND status = 'released'",
            )
            .bind(request_id)
            .fetch_all(&mut *c)
            .await?
        }))
    }

    /// The highest wave sent so far (0 if none).
    pub async fn last_wave(&mut self, request_id: i64) -> Result<i64> {
        let w: Option<i64> = with_tx!(self, c => {
            sqlx::query_scalar("SELECT MAX(wave) FROM offers WHERE request_id = $1")
                .bind(request_id)
                .fetch_one(&mut *c)
                .await?
        });
        Ok(w.unwrap_or(0))
    }

    pub async fn insert_offer(
        &mut self,
        request_id: i64,
        mediator_id: i64,
        wave: i64,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        Ok(with_tx!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO offers (request_id, mediator_id, wave, state, sent_at, expires_at)
                 VALUES ($1, $2, $3, 'open', $4, $5) RETURNING id",
            )
            .bind(request_id)
            .bind(mediator_id)
            .bind(wave)
            .bind(ts(now))
            .bind(ts(expires_at))
            .fetch_one(&mut *c)
            .await
            .map_err(|e| StoreError::unique_as(e, "an offer of this request to this mediator"))?
        }))
    }

    pub async fn set_offer_outbox(&mut self, offer_id: i64, outbox_id: i64) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("UPDATE offers SET outbox_id = $1 WHERE id = $2")
                .bind(outbox_id)
                .bind(offer_id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    pub async fn offer(&mut self, offer_id: i64) -> Result<Offer> {
        let sql = format!("SELECT {OFFER_COLS} FROM offers WHERE id = $1");
        let row: Option<OfferRow> = with_tx!(self, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(offer_id).fetch_optional(&mut *c).await?
        });
        row.map(offer_from)
            .ok_or_else(|| StoreError::NotFound(format!("offer {offer_id}")))?
    }

    pub async fn open_offers(&mut self, request_id: i64) -> Result<Vec<Offer>> {
        let sql = format!(
            "SELECT {OFFER_COLS} FROM offers WHERE request_id = $1 AND state = 'open' ORDER BY id"
        );
        let rows: Vec<OfferRow> = with_tx!(self, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(request_id).fetch_all(&mut *c).await?
        });
        rows.into_iter().map(offer_from).collect()
    }

    /// Closes every open offer of a request with `state` (expired, withdrawn); returns them.
    pub async fn close_open_offers(
        &mut self,
        request_id: i64,
        state: OfferState,
        now: DateTime<Utc>,
    ) -> Result<Vec<Offer>> {
        let open = self.open_offers(request_id).await?;
        with_tx!(self, c => {
            sqlx::query(
                "UPDATE offers SET state = $1, responded_at = $2 WHERE request_id = $3 AND state = 'open'",
            )
            .bind(state.as_str())
            .bind(ts(now))
            .bind(request_id)
            .execute(&mut *c)
            .await?;
        });
        Ok(open)
    }

    /// The acceptance: one conditional update on the request decides the winner. It succeeds
    /// only if the offer is open, not expired, belongs to `mediator_id`, and its request is
    /// still `offered`; concurrent acceptances of the same request serialize on the request row
    /// (PostgreSQL re-checks the condition after the first commits; SQLite has one writer), so
    /// exactly one wins. Returns the request id when this call won.
    pub async fn accept_offer(
        &mut self,
        offer_id: i64,
        mediator_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>> {
        let won: Option<i64> = with_tx!(self, c => {
            sqlx::query_scalar(
                "UPDATE requests SET status = 'assigned', assigned_mediator_id = $2,
                        assigned_at = $3, updated_at = $3
                 WHERE status = 'offered' AND id = (
                     SELECT request_id FROM offers
                     WHERE id = $1 AND mediator_id = $2 AND state = 'open' AND expires_at > $3)
                 RETURNING id",
            )
            .bind(offer_id)
            .bind(mediator_id)
            .bind(ts(now))
            .fetch_optional(&mut *c)
            .await?
        });
        if let Some(request_id) = won {
            with_tx!(self, c => {
                sqlx::query("UPDATE offers SET state = 'accepted', responded_at = $1 WHERE id = $2")
                    .bind(ts(now))
                    .bind(offer_id)
                    .execute(&mut *c)
                    .await?;
            });
            self.audit(
                now,
                &format!("mediator:{mediator_id}"),
                Some(request_id),
                "accepted",
                Some(&format!("offer {offer_id}")),
            )
            .await?;
        }
        Ok(won)
    }

    /// A mediator declines an open offer; false if it was not open or not theirs.
    pub async fn decline_offer(
        &mut self,
        offer_id: i64,
        mediator_id: i64,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = with_tx!(self, c => {
            sqlx::query(
                "UPDATE offers SET state = 'declined', decline_reason = $3, responded_at = $4
                 WHERE id = $1 AND mediator_id = $2 AND state = 'open'",
            )
            .bind(offer_id)
            .bind(mediator_id)
            .bind(reason)
            .bind(ts(now))
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }
}

impl Store {
    /// All offers of a request, oldest first.
    pub async fn offers_for_request(&self, request_id: i64) -> Result<Vec<Offer>> {
        let sql = format!("SELECT {OFFER_COLS} FROM offers WHERE request_id = $1 ORDER BY id");
        let rows: Vec<OfferRow> = with_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(request_id).fetch_all(p).await?
        });
        rows.into_iter().map(offer_from).collect()
    }
}
