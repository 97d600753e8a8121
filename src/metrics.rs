//! In-process counters for what the database does not record (Telegram API errors). Everything
//! else in `/metrics` is read from the store, so it is right across several instances.

use std::sync::atomic::{AtomicU64, Ordering};

static TELEGRAM_API_ERRORS: AtomicU64 = AtomicU64::new(0);

/// Counts one failed Telegram API call.
pub fn telegram_api_error() {
    TELEGRAM_API_ERRORS.fetch_add(1, Ordering::Relaxed);
}

pub fn telegram_api_errors() -> u64 {
    TELEGRAM_API_ERRORS.load(Ordering::Relaxed)
}
