//! A mediator's existing commitments, as matching and the store both see them.

use chrono::{DateTime, Utc};

/// An existing commitment of a mediator (an assignment not cancelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusySlot {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Phone or video: no travel before or after.
    pub remote: bool,
}
