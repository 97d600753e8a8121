//! Dispatch: from a queued request to a confirmed mediator.
//!
//! `matching` decides who can go and in which order (pure); `language` knows language
//! families. The store-backed engine (waves, acceptance, timers, reminders, evaluations) and the
//! monthly report build on these.

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
