//! The HTTP endpoint on `http.listen`: `GET /healthz` (JSON, 503 when a channel has not fetched
//! for longer than its threshold or the database does not answer), `GET /metrics` (Prometheus
//! text format), and, in webhook mode, the Telegram webhook route merged in by the daemon.
//!
//! Figures come from the store where they can (they are then right across instances) and from
//! the channels' own health for fetch times.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::Utc;
use std::fmt::Write as _;
use std::sync::Arc;

use crate::store::{Store, ts};
use crate::with_pool;

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
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
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

async fn healthz(State(state): State<Arc<HttpState>>) -> Response {
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

/// Histogram bucket bounds in seconds for request -> assignment / confirmation.
const BUCKETS: [i64; 10] = [60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200];

fn histogram(out: &mut String, name: &str, help: &str, samples: &[(String, i64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    let mut channels: Vec<&str> = samples.iter().map(|(c, _)| c.as_str()).collect();
    channels.sort();
    channels.dedup();
    for ch in channels {
        let vals: Vec<i64> = samples
            .iter()
            .filter(|(c, _)| c == ch)
            .map(|(_, v)| *v)
            .collect();
        for b in BUCKETS {
            let n = vals.iter().filter(|v| **v <= b).count();
            let _ = writeln!(out, "{name}_bucket{{channel=\"{ch}\",le=\"{b}\"}} {n}");
        }
        let _ = writeln!(
            out,
            "{name}_bucket{{channel=\"{ch}\",le=\"+Inf\"}} {}",
            vals.len()
        );
        let _ = writeln!(
            out,
            "{name}_sum{{channel=\"{ch}\"}} {}",
            vals.iter().sum::<i64>()
        );
        let _ = writeln!(out, "{name}_count{{channel=\"{ch}\"}} {}", vals.len());
    }
}

/// The Prometheus text exposition.
pub async fn render_metrics(state: &HttpState) -> Result<String, crate::store::StoreError> {
    let store = &state.store;
    let mut out = String::new();
    let by_state: Vec<(String, String, i64)> = with_pool!(store, p => {
        sqlx::query_as("SELECT channel, status, COUNT(*) FROM requests GROUP BY channel, status ORDER BY channel, status")
            .fetch_all(p).await?
    });
    let _ = writeln!(
        out,
        "# HELP connecting_requests Requests by channel and state.\n# TYPE connecting_requests gauge"
    );
    for (ch, st, n) in by_state {
        let _ = writeln!(
            out,
            "connecting_requests{{channel=\"{ch}\",state=\"{st}\"}} {n}"
        );
    }
    let times: Vec<(String, i64, Option<i64>, Option<i64>)> = with_pool!(store, p => {
        sqlx::query_as("SELECT channel, created_at, assigned_at, confirmed_at FROM requests WHERE assigned_at IS NOT NULL")
            .fetch_all(p).await?
    });
    let to_assign: Vec<(String, i64)> = times
        .iter()
        .filter_map(|(c, cr, a, _)| a.map(|a| (c.clone(), (a - cr).max(0))))
        .collect();
    let to_confirm: Vec<(String, i64)> = times
        .iter()
        .filter_map(|(c, cr, _, f)| f.map(|f| (c.clone(), (f - cr).max(0))))
        .collect();
    histogram(
        &mut out,
        "connecting_request_to_assignment_seconds",
        "Time from request to assignment.",
        &to_assign,
    );
    histogram(
        &mut out,
        "connecting_request_to_confirmation_seconds",
        "Time from request to the requester's confirmation.",
        &to_confirm,
    );
    let offers: Vec<(String, i64)> = with_pool!(store, p => {
        sqlx::query_as("SELECT state, COUNT(*) FROM offers GROUP BY state ORDER BY state").fetch_all(p).await?
    });
    let _ = writeln!(
        out,
        "# HELP connecting_offers Offers sent, by what became of them.\n# TYPE connecting_offers gauge"
    );
    let sent: i64 = offers.iter().map(|(_, n)| n).sum();
    let _ = writeln!(out, "connecting_offers{{state=\"sent\"}} {sent}");
    for (st, n) in offers {
        let _ = writeln!(out, "connecting_offers{{state=\"{st}\"}} {n}");
    }
    let outbox: Vec<(String, String, i64, i64)> = with_pool!(store, p => {
        sqlx::query_as("SELECT channel, status, COUNT(*), CAST(COALESCE(SUM(attempts), 0) AS BIGINT) FROM outbox GROUP BY channel, status ORDER BY channel, status")
            .fetch_all(p).await?
    });
    let _ = writeln!(
        out,
        "# HELP connecting_outbox_messages Outbox rows by channel and status (dead = dead letters).\n# TYPE connecting_outbox_messages gauge"
    );
    for (ch, st, n, _) in &outbox {
        let _ = writeln!(
            out,
            "connecting_outbox_messages{{channel=\"{ch}\",status=\"{st}\"}} {n}"
        );
    }
    let _ = writeln!(
        out,
        "# HELP connecting_outbox_attempts Delivery attempts made.\n# TYPE connecting_outbox_attempts counter"
    );
    let mut per_channel: std::collections::BTreeMap<&str, i64> = Default::default();
    for (ch, _, _, a) in &outbox {
        *per_channel.entry(ch).or_default() += a;
    }
    for (ch, a) in per_channel {
        let _ = writeln!(out, "connecting_outbox_attempts{{channel=\"{ch}\"}} {a}");
    }
    let now = ts(Utc::now());
    let _ = writeln!(
        out,
        "# HELP connecting_channel_fetch_lag_seconds Seconds since the channel last completed a fetch.\n# TYPE connecting_channel_fetch_lag_seconds gauge"
    );
    for s in statuses(state, now) {
        let lag = now - s.last_fetch_at.unwrap_or(state.started_at);
        let _ = writeln!(
            out,
            "connecting_channel_fetch_lag_seconds{{channel=\"{}\"}} {lag}",
            s.name
        );
        let _ = writeln!(
            out,
            "connecting_channel_up{{channel=\"{}\",state=\"{}\"}} {}",
            s.name,
            s.state,
            i32::from(s.state == "ok")
        );
    }
    let _ = writeln!(
        out,
        "# HELP connecting_telegram_api_errors Telegram API calls that failed.\n# TYPE connecting_telegram_api_errors counter"
    );
    let _ = writeln!(
        out,
        "connecting_telegram_api_errors {}",
        crate::metrics::telegram_api_errors()
    );
    Ok(out)
}

async fn metrics(State(state): State<Arc<HttpState>>) -> Response {
    match render_metrics(&state).await {
        Ok(body) => ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "metrics unavailable");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}
