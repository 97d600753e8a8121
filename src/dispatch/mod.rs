//! Dispatch: from a queued request to a confirmed mediator, and the monthly report.
//!
//! - `matching` decides who can go and in which order (pure, explained); `language` knows
//!   language families; `report` aggregates a month per Ambito.
//! - `engine::Dispatcher` drives a request through the store: `dispatch` (first wave, or
//!   escalation), `accept` / `decline` (Telegram buttons `acc:<offer>` / `dec:<offer>`),
//!   `assign` (coordinator, CLI), `cancel`, `record_outcome` (`done:<assignment>` /
//!   `notdone:<assignment>` plus minutes), `record_evaluation` (`ev:<request>:<score>`, or an
//!   email reply). `run` is the daemon loop: `dispatch_queued` + `run_due_timers`.
//! - Where a request waits: in `offers` (open until `expires_at`) and in `timers` (wave expiry,
//!   reminders, after-the-end questions). Every message is an outbox row written in the same
//!   transaction as the change that caused it; `crate::outbox::OutboxWorker` delivers.
//!
//! Invariants: exactly one acceptance per request wins (one conditional `UPDATE requests ...
//! WHERE status = 'offered'`); a timer fires once across instances (claimed in the transaction
//! that handles it); a transaction never waits for a second pool connection (all reads inside
//! it go through the `Tx`); offers to several mediators carry no names, addresses or case
//! details.

pub mod language;
pub mod matching;
pub mod report;

pub use language::{LanguageFit, family};
pub use matching::{
    BusySlot, Candidate, Exclusion, JobSpec, MatchResult, MatchSettings, MediatorProfile, Reason,
    rank,
};
pub mod engine;
pub mod texts;

pub use engine::{
    AcceptOutcome, Canceller, DispatchError, DispatchSettings, Dispatcher, EscalationReason,
    WaveOutcome,
};
