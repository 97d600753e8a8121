//! The application core: every change to a request's life, one use case per file, whatever
//! channel it came by (Telegram, email, CLI, and the web console to come).
//!
//! A use case takes the actor (already identified by its channel), its input and the caller's
//! transaction (`&mut Tx`); asks [`crate::authz`] once; checks the request's state; changes the
//! store; and returns typed [`notice::Notice`]s, which it has written to the outbox in that same
//! transaction. Channels translate their input into a use-case call and render notices
//! ([`sentence`] gives the words, `channels::*` the format); no channel changes a status itself.
//!
//! - [`create`]: `from_draft` (the bot's [Conferma], a new email, `connecting ingest`);
//! - [`follow_up`]: `add_info` (merged while the request is being completed, else recorded);
//! - [`wave`]: `dispatch` (first wave of offers, or escalation), the ranking (`candidates`);
//! - [`answer`]: a mediator's `accept`, `decline` and `decline_reason`;
//! - [`assign`]: `by_hand` (coordinator, CLI, web), and what every assignment does;
//! - [`outcome`]: `record` (took place or not) and `hours`;
//! - [`account`]: the requester confirms the hours (`answer`), a coordinator settles a dispute
//!   (`settle`), unanswered hours count unverified;
//! - [`correct`]: `fields` (a coordinator's correction; a request being completed moves on);
//! - [`cancel`]: cancellation from every entry point (assignment closed, mediator told, offers
//!   withdrawn, timers dropped, late flag under the notice period);
//! - [`change`]: an appointment changed after the assignment (requester and mediator told, the
//!   invitations updated);
//! - [`reschedule`]: a new date or time (the assigned mediator asked, kept or released and
//!   the request offered again; the late flag under the notice period), and the answer;
//! - [`unfilled`]: the one honest notice to a requester nobody is confirmed for yet;
//! - [`review`]: `accept` / `reject` a held email request;
//! - [`evaluation`]: the requester's mark, only once the appointment has happened;
//! - [`timer`]: `fire` a due timer (wave expiry, reminders, after-the-end questions);
//! - [`alert`]: `raise` an alert to every coordinator;
//! - [`delivery`]: what a delivered (or dead) message changes — the outbox only reports;
//! - [`offers`]: withdrawing offers (shared by acceptance and cancellation);
//! - [`matching`], [`language`]: who can go and in which order (pure);
//! - [`menu`]: a registered person's Telegram menu, kept right after a change of role,
//!   language or a removal (a row in the outbox);
//! - [`notice`], [`sentence`], [`words`], [`texts`]: what to tell whom, and in which words.
//!
//! `dispatch::Dispatcher` is a thin facade that runs these in their own transaction for the
//! daemon's loop and the tests.

pub mod account;
pub mod alert;
pub mod answer;
pub mod assign;
pub mod cancel;
pub mod change;
pub mod correct;
pub mod create;
pub mod delivery;
pub mod evaluation;
pub mod follow_up;
pub mod language;
pub mod matching;
pub mod meetings;
pub mod menu;
pub mod notice;
pub mod offers;
pub mod outcome;
pub mod people;
pub mod reschedule;
pub mod review;
pub mod sentence;
pub mod series;
pub mod settings;
pub mod texts;
pub mod timer;
pub mod unfilled;
pub mod wave;
pub mod words;

pub use settings::DispatchSettings;

use std::sync::Arc;

use crate::authz::{Actor, Denied};
use crate::domain::{RequestCode, RequestStatus};
use crate::store::StoreError;

/// The core's settings, shared by every use case. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Core {
    pub settings: Arc<DispatchSettings>,
    /// The channels' renderers, given by the composition root (`crate::renderers::channels()`).
    pub renderers: notice::Renderers,
}

impl Core {
    pub fn new(settings: DispatchSettings, renderers: notice::Renderers) -> Self {
        Self {
            settings: Arc::new(settings),
            renderers,
        }
    }

    pub fn from_arc(settings: Arc<DispatchSettings>, renderers: notice::Renderers) -> Self {
        Self {
            settings,
            renderers,
        }
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
    #[error("{got} evaluation scores given: expected {expected}, one per criterion")]
    BadScoreCount { expected: usize, got: usize },
    #[error("request {0}: a score of 2 or less needs a comment")]
    CommentNeeded(RequestCode),
    #[error(
        "{0} minutes is not a number of hours worked: expected more than 0 and at most 12 hours"
    )]
    BadHours(i64),
    #[error("request {0} has no language: it cannot be matched")]
    NoLanguage(RequestCode),
    #[error("mediator {0} is not active")]
    MediatorInactive(i64),
    #[error("a request cannot be opened as {0}")]
    NotAnEntryState(RequestStatus),
    #[error("request {0} is not waiting for review")]
    NotHeld(RequestCode),
    #[error("request {0} is a single appointment, not a series of meetings")]
    NotASeries(RequestCode),
    #[error("request {code} has no meeting {seq} still planned")]
    NoSuchMeeting { code: RequestCode, seq: u32 },
    #[error("coordinator {0} is the last one in service: add another before removing them")]
    LastCoordinator(i64),
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
