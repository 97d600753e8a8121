//! In-process counters for what the database does not record (Telegram API errors, the last
//! successful getUpdates). Everything else in `/metrics` is read from the store, so it is right
//! across several instances.

use std::sync::atomic::{AtomicU64, Ordering};

use std::sync::atomic::AtomicI64;

static TELEGRAM_API_ERRORS: AtomicU64 = AtomicU64::new(0);
static TELEGRAM_LAST_POLL: AtomicI64 = AtomicI64::new(0);

/// Counts one failed Telegram API call.
pub fn telegram_api_error() {
    TELEGRAM_API_ERRORS.fetch_add(1, Ordering::Relaxed);
}

pub fn telegram_api_errors() -> u64 {
    TELEGRAM_API_ERRORS.load(Ordering::Relaxed)
}

/// Records a successful getUpdates (the Telegram channel's "fetch").
pub fn telegram_polled() {
    TELEGRAM_LAST_POLL.store(chrono::Utc::now().timestamp(), Ordering::Relaxed);
}

/// Unix seconds of the last successful getUpdates in this process.
pub fn telegram_last_poll() -> Option<i64> {
    match TELEGRAM_LAST_POLL.load(Ordering::Relaxed) {
        0 => None,
        t => Some(t),
    }
}
