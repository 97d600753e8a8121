//! connecting: turns requests for cultural mediators into assigned, confirmed appointments.
//!
//! See ARCHITECTURE.md for the bird's-eye view and the code map.

pub mod channels;
pub mod clock;
pub mod domain;
pub mod outbox;
pub mod store;
