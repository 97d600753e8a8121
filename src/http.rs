//! The HTTP endpoint on `http.listen`: `GET /livez` (200 while the process serves), `GET /readyz`
//! and its older name `GET /healthz` (JSON, 503 when a channel has not fetched for longer than
//! its threshold or the database does not answer), `GET /metrics` (Prometheus text format), and,
//! in webhook mode, the Telegram webhook route merged in by the daemon.
//!
//! Figures come from the store where they can (they are then right across instances) and from
//! the channels' own health for fetch times.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use std::sync::Arc;

use crate::store::{Store, ts};

/// One channel's state as the health check sees it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ChannelStatus {
    pub name: String,
    /// `ok`, `connecting`, `stale`, `standby` (another instance leads), `off`.
    pub state: String,
    /// Unix seconds of the last completed fetch.
    pub last_fetch_at: Option<i64>,
    /// Seconds after which a missing fetch makes the service unhealthy.
    pub stale_after_secs: i64,
}

/// Something that reports a channel's status (the IMAP poller, the Telegram loop).
pub type StatusProbe = Arc<dyn Fn() -> ChannelStatus + Send + Sync>;

#[derive(Clone)]
pub struct HttpState {
    pub store: Store,
    pub probes: Vec<StatusProbe>,
    pub started_at: i64,
}

pub fn router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(readyz))
        .route("/readyz", get(readyz))
        .route("/livez", get(livez))
        .route("/metrics", get(metrics))
        .with_state(Arc::new(state))
}

/// The health routes alone (`/livez`, `/readyz`, `/healthz`), for the console's own listener:
/// what a reverse proxy and `connecting doctor` probe there. `/metrics` stays on `http.listen`.
pub fn health_router(state: HttpState) -> Router {
    Router::new()
        .route("/healthz", get(readyz))
        .route("/readyz", get(readyz))
        .route("/livez", get(livez))
        .with_state(Arc::new(state))
}

/// Current statuses with staleness applied.
pub fn statuses(state: &HttpState, now: i64) -> Vec<ChannelStatus> {
    state
        .probes
        .iter()
        .map(|p| {
            let mut s = p();
            if s.state == "ok" || s.state == "connecting" {
                let since = s.last_fetch_at.unwrap_or(state.started_at);
                if now - since > s.stale_after_secs {
                    s.state = "stale".into();
                }
            }
            s
        })
        .collect()
}

/// Liveness: the process runs and serves HTTP. A channel that cannot fetch or a database that
/// does not answer is a readiness matter (`/readyz`): restarting the process would not fix it.
async fn livez() -> Response {
    (
        StatusCode::OK,
        axum::Json(serde_json::json!({ "status": "ok" })),
    )
        .into_response()
}

/// Readiness (also `/healthz`): 200 when the database answers and no channel is stale, else 503,
/// with the details as JSON.
async fn readyz(State(state): State<Arc<HttpState>>) -> Response {
    let now = ts(Utc::now());
    let db = state.store.ping().await;
    let channels = statuses(&state, now);
    let outbox = if db {
        state.store.outbox_depth(Utc::now()).await.ok()
    } else {
        None
    };
    let healthy = db && channels.iter().all(|c| c.state != "stale");
    let body = serde_json::json!({
        "status": if healthy { "ok" } else { "unhealthy" },
        "database": { "reachable": db, "backend": format!("{:?}", state.store.backend()).to_lowercase() },
        "channels": channels,
        "outbox": {
            "pending": outbox.map(|o| o.0),
            "oldest_pending_age_secs": outbox.and_then(|o| o.1),
        },
    });
    let code = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body)).into_response()
}

/// The Prometheus text exposition: figures from the store (aggregates), the channels' states
/// and this process (see [`crate::metrics`]).
pub async fn render_metrics(state: &HttpState) -> Result<String, crate::metrics::MetricsError> {
    let store = crate::metrics::StoreFigures::read(&state.store).await?;
    let now = ts(Utc::now());
    let channels = statuses(state, now)
        .into_iter()
        .map(|s| crate::metrics::ChannelFigure {
            fetch_lag_secs: now - s.last_fetch_at.unwrap_or(state.started_at),
            name: s.name,
            state: s.state,
        })
        .collect();
    let scrape = crate::metrics::Scrape {
        store,
        channels,
        backend: format!("{:?}", state.store.backend()).to_lowercase(),
        process: crate::metrics::ProcessFigures::read(),
    };
    Ok(crate::metrics::encode(&scrape)?)
}

async fn metrics(State(state): State<Arc<HttpState>>) -> Response {
    match render_metrics(&state).await {
        Ok(body) => ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], body).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "metrics unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}
