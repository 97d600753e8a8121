//! The request life cycle as a type with explicit transitions.
//!
//! ```text
//! needs_review ─┐
//! received ─────┴─> needs_info ─> queued ─> offered ─> assigned ─> confirmed ─> done
//!                       │            │  ╲       │  ╲        │            │
//!                       └────────────┴───┴──────┴───> escalated ─> assigned (by hand)
//! any open state ─> cancelled; needs_info / escalated ─> expired
//! offered / escalated / assigned / confirmed ─> queued (rescheduled, `app::reschedule`)
//! ```

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::ParseError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    /// Arrived from an unknown sender: a coordinator must accept or reject it.
    NeedsReview,
    /// Arrived and parsed; not yet triaged.
    Received,
    /// Required fields are missing: the requester has been asked.
    NeedsInfo,
    /// Complete; waiting for the dispatcher.
    Queued,
    /// Offers are out to mediators.
    Offered,
    /// A mediator accepted.
    Assigned,
    /// The requester has been told who the mediator is.
    Confirmed,
    /// The appointment took place (or the translation was delivered).
    Done,
    Cancelled,
    /// Nobody accepted, or nobody is eligible: the coordinator decides.
    Escalated,
    /// Never completed, or its time passed without an assignment.
    Expired,
}

/// A transition the life cycle does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a request cannot go from {from} to {to}")]
pub struct TransitionError {
    pub from: RequestStatus,
    pub to: RequestStatus,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 11] = [
        RequestStatus::NeedsReview,
        RequestStatus::Received,
        RequestStatus::NeedsInfo,
        RequestStatus::Queued,
        RequestStatus::Offered,
        RequestStatus::Assigned,
        RequestStatus::Confirmed,
        RequestStatus::Done,
        RequestStatus::Cancelled,
        RequestStatus::Escalated,
        RequestStatus::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        use RequestStatus::*;
        match self {
            NeedsReview => "needs_review",
            Received => "received",
            NeedsInfo => "needs_info",
            Queued => "queued",
            Offered => "offered",
            Assigned => "assigned",
            Confirmed => "confirmed",
            Done => "done",
            Cancelled => "cancelled",
            Escalated => "escalated",
            Expired => "expired",
        }
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RequestStatus::Done | RequestStatus::Cancelled | RequestStatus::Expired
        )
    }

    /// Whether `self -> to` is a legal step.
    pub fn can_become(self, to: RequestStatus) -> bool {
        use RequestStatus::*;
        if self.is_terminal() {
            return false;
        }
        match (self, to) {
            (_, Cancelled) => true,
            (NeedsReview, Received | NeedsInfo | Queued) => true,
            (Received, NeedsInfo | Queued) => true,
            (NeedsInfo, NeedsInfo | Queued | Expired) => true,
            (Queued, Offered | Escalated | Assigned) => true,
            // A new wave keeps the request offered.
            (Offered, Offered | Assigned | Escalated) => true,
            (Escalated, Offered | Assigned | Expired) => true,
            (Assigned, Confirmed | Done) => true,
            (Confirmed, Done) => true,
            // Rescheduled: a mediator who cannot take the new time (or an offer out at the
            // old one) sends the request back to the queue (`app::reschedule`).
            (Offered | Escalated | Assigned | Confirmed, Queued) => true,
            _ => false,
        }
    }

    /// The checked step: `Ok(to)` or the error naming both ends.
    pub fn transition(self, to: RequestStatus) -> Result<RequestStatus, TransitionError> {
        if self.can_become(to) {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }

    /// States from which `to` is reachable, for conditional updates in the store
    /// (`UPDATE ... WHERE status IN (...)`).
    pub fn sources_of(to: RequestStatus) -> Vec<RequestStatus> {
        RequestStatus::ALL
            .into_iter()
            .filter(|s| s.can_become(to))
            .collect()
    }
}

impl fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RequestStatus {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim().to_ascii_lowercase();
        RequestStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == t)
            .ok_or_else(|| {
                ParseError::new(
                    "status",
                    s,
                    RequestStatus::ALL.map(|s| s.as_str()).join(" | "),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::RequestStatus::*;
    use super::*;

    #[test]
    fn the_happy_path_is_legal() {
        let mut s = Received;
        for next in [
            NeedsInfo, Queued, Offered, Offered, Assigned, Confirmed, Done,
        ] {
            s = s.transition(next).unwrap();
        }
        assert_eq!(s, Done);
    }

    #[test]
    fn illegal_transitions_are_errors() {
        for (from, to) in [
            (Received, Assigned),
            (Queued, Confirmed),
            (Done, Cancelled),
            (Cancelled, Queued),
            (Expired, Queued),
            (Assigned, Offered),
            (Confirmed, Assigned),
            (NeedsInfo, Offered),
            (Done, Queued),
        ] {
            let e = from.transition(to).unwrap_err();
            assert_eq!(e, TransitionError { from, to });
            assert!(e.to_string().contains(from.as_str()));
        }
    }

    #[test]
    fn every_open_state_can_be_cancelled_and_terminal_ones_cannot_move() {
        for s in RequestStatus::ALL {
            assert_eq!(s.can_become(Cancelled), !s.is_terminal(), "{s}");
            if s.is_terminal() {
                assert!(RequestStatus::ALL.iter().all(|t| !s.can_become(*t)));
            }
        }
    }

    #[test]
    fn escalated_requests_can_be_assigned_by_hand() {
        assert!(Offered.transition(Escalated).is_ok());
        assert!(Escalated.transition(Assigned).is_ok());
        assert_eq!(
            RequestStatus::sources_of(Assigned),
            vec![Queued, Offered, Escalated]
        );
    }

    #[test]
    fn a_rescheduled_request_can_go_back_to_the_queue() {
        for s in [Offered, Escalated, Assigned, Confirmed] {
            assert!(s.transition(Queued).is_ok(), "{s}");
        }
        assert!(Done.transition(Queued).is_err());
    }

    #[test]
    fn statuses_parse_from_text() {
        for s in RequestStatus::ALL {
            assert_eq!(s.as_str().parse::<RequestStatus>().unwrap(), s);
        }
        assert!("pending".parse::<RequestStatus>().is_err());
    }
}
