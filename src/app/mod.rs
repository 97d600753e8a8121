//! The application core: every change to a request's life, one use case per file, whatever
//! channel it came by (Telegram, email, CLI, and the web console to come).
//!
//! A use case takes the actor (already identified by its channel), its input and the caller's
//! transaction (`&mut Tx`); asks [`crate::authz`] once; checks the request's state; changes the
//! store; and returns typed [`notice::Notice`]s, which it has written to the outbox in that same
//! transaction. Channels translate their input into a use-case call and render notices
//! ([`sentence`] gives the words, `channels::*` the format); no channel changes a status itself.
//!
//! - [`cancel`]: cancellation from every entry point (assignment closed, mediator told, offers
//!   withdrawn, timers dropped, late flag under the notice period);
//! - [`evaluation`]: the requester's mark, only once the appointment has happened;
//! - [`delivery`]: what a delivered notice changes (the requester's confirmation makes the
//!   request confirmed) — the outbox only reports deliveries;
//! - [`offers`]: withdrawing offers (shared by acceptance and cancellation);
//! - [`notice`], [`sentence`], [`words`]: what to tell whom, and in which words.
//!
//! Waves, acceptance, manual assignment, outcomes and timers still live in
//! `dispatch::engine::Dispatcher`, which writes its messages through [`notice`] too.

pub mod cancel;
pub mod delivery;
pub mod evaluation;
pub mod notice;
pub mod offers;
pub mod sentence;
pub mod words;

use std::sync::Arc;

use crate::authz::{Actor, Denied};
use crate::dispatch::DispatchSettings;
use crate::domain::{RequestCode, RequestStatus};
use crate::store::StoreError;

/// The core's settings, shared by every use case. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Core {
    pub settings: Arc<DispatchSettings>,
}

impl Core {
    pub fn new(settings: DispatchSettings) -> Self {
        Self {
            settings: Arc::new(settings),
        }
    }

    pub fn from_arc(settings: Arc<DispatchSettings>) -> Self {
        Self { settings }
    }
}

/// Why a use case changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("not allowed: {0}")]
    Denied(Denied),
    #[error("request {code} is {status}: {what} is not possible")]
    WrongState {
        code: RequestCode,
        status: RequestStatus,
        what: &'static str,
    },
    #[error("request {0}: its appointment has not happened yet")]
    TooEarly(RequestCode),
    #[error("evaluation score {0} is not valid: expected 1 to 5")]
    BadScore(i64),
}

pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// Asks the one authorisation table; a refusal is an [`AppError::Denied`].
pub(crate) fn authorise(
    actor: &Actor,
    action: crate::authz::Action,
    facts: &crate::authz::RequestFacts,
) -> Result<()> {
    crate::authz::authorize(actor, action, facts).map_err(AppError::Denied)
}

/// The actor behind an audit name written by the CLI or a coordinator (`cli`,
/// `coordinator:<id>`); anything else is not a managing actor.
pub fn managing_actor(audit_name: &str) -> Option<Actor> {
    if audit_name == "cli" {
        return Some(Actor::Cli);
    }
    audit_name
        .strip_prefix("coordinator:")
        .and_then(|id| id.parse().ok())
        .map(|id| Actor::Coordinator { id })
}
