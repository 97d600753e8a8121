//! The domain: pure types and the request life cycle. No I/O lives here.
//!
//! Raw strings become these types at the edges (CLI, config, extractor, store rows); once a value
//! is in a domain type nothing downstream re-checks it.

pub mod ambito;
pub mod appointment;
pub mod availability;
pub mod busy;
pub mod code;
pub mod lang;
pub mod lifecycle;
pub mod mailbox;
pub mod payload;
pub mod series;
pub mod states;
pub mod types;

pub use ambito::Ambito;
pub use appointment::Appointment;
pub use code::RequestCode;
pub use lang::Lang;
pub use lifecycle::{RequestStatus, TransitionError};
pub use states::{
    AssignmentStatus, HoursCheckStatus, NoShow, OfferState, OutboxStatus, TimerKind, TimerStatus,
};
pub use types::{Channel, Gender, InterventionType, LanguageCode, Modality, PersonKind};

/// A value from outside could not become a domain type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {value:?} is not valid; expected {expected}")]
pub struct ParseError {
    pub what: &'static str,
    pub value: String,
    pub expected: String,
}

impl ParseError {
    pub fn new(what: &'static str, value: impl Into<String>, expected: impl Into<String>) -> Self {
        Self {
            what,
            value: value.into(),
            expected: expected.into(),
        }
    }
}
