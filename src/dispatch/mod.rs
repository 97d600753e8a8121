//! Dispatch: the daemon's loop over the core's use cases, and the monthly report.
//!
//! - `engine::Dispatcher` is a thin facade: each method runs one use case of `crate::app` in
//!   its own transaction — `dispatch` (first wave, or escalation), `accept` / `decline`,
//!   `assign` (coordinator, CLI), `cancel`, `record_outcome`, `record_evaluation`. `run` is
//!   the daemon loop: `dispatch_queued` + `run_due_timers`.
//! - `report` aggregates a month per Ambito.
//! - Matching (`crate::app::matching`, `crate::app::language`) is re-exported here for the
//!   benches and the CLI's explanations.
//!
//! Invariants: exactly one acceptance per request wins (one conditional `UPDATE requests ...
//! WHERE status = 'offered'`); a timer fires once across instances (claimed in the transaction
//! that handles it); a transaction never waits for a second pool connection (all reads inside
//! it go through the `Tx`); offers to several mediators carry no names, addresses or case
//! details.

pub mod report;

pub use crate::app::{language, matching};
pub use language::{LanguageFit, family};
pub use matching::{
    BusySlot, Candidate, Exclusion, JobSpec, MatchResult, MatchSettings, MediatorProfile, Meeting,
    Reason, rank,
};
pub mod engine;
pub use crate::app::texts;

pub use engine::{
    AcceptOutcome, Canceller, DispatchError, DispatchSettings, Dispatcher, EscalationReason,
    WaveOutcome,
};
