//! Webhook mode: an axum router (mounted by the daemon on `http.listen`) that receives updates
//! from Telegram. The `X-Telegram-Bot-Api-Secret-Token` header is checked on every request;
//! the reply is 200 only after the update is committed, so Telegram retries anything that was
//! not stored (nothing acknowledged before commit).

use super::sink::UpdateSink;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use std::sync::Arc;
use teloxide::types::Update;

pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

struct Hook {
    sink: Arc<dyn UpdateSink>,
    secret: String,
}

/// A router serving POST `path` (e.g. "/telegram/webhook").
pub fn router(sink: Arc<dyn UpdateSink>, path: &str, secret: String) -> Router {
    Router::new()
        .route(path, post(receive))
        .with_state(Arc::new(Hook { sink, secret }))
}

/// Compares without stopping at the first difference.
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn receive(State(hook): State<Arc<Hook>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let given = headers
        .get(SECRET_HEADER)
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if hook.secret.is_empty() || !same(given, hook.secret.as_bytes()) {
        tracing::warn!("telegram webhook: wrong or missing secret token");
        return StatusCode::UNAUTHORIZED;
    }
    let update: Update = match super::updates::parse_update(&body) {
        Ok(u) => u,
        Err(e) => {
            // Retrying cannot fix it: acknowledge and log (no body in the log).
            tracing::warn!(error = %e, bytes = body.len(), "telegram webhook: not an update");
            return StatusCode::OK;
        }
    };
    match hook.sink.commit(&update).await {
        Ok(()) => StatusCode::OK,
        Err(e) => {
            tracing::warn!(update_id = update.id.0, error = %e, "telegram webhook: not committed");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}
