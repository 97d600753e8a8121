//! The states of the rows around a request, as types: an offer's, an assignment's, a timer's,
//! an outbox row's, and what a timer is for. The store turns its text columns into these at
//! its edge; a value this version does not know is a [`super::ParseError`] there (a
//! `StoreError::Corrupt`), never a panic.

use std::fmt;
use std::str::FromStr;

use super::ParseError;

/// An enum stored as text: `as_str`, `ALL`, `Display`, `FromStr` (unknown text is an error).
macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident, $what:literal { $($(#[$vm:meta])* $v:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vm])* $v),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$v),+];

            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$v => $s),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseError;

            fn from_str(s: &str) -> Result<Self, ParseError> {
                match s {
                    $($s => Ok($name::$v),)+
                    other => Err(ParseError::new(
                        $what,
                        other,
                        [$($s),+].join(", "),
                    )),
                }
            }
        }
    };
}

text_enum!(
    /// Where an offer to one mediator stands.
    OfferState, "offer state" {
        /// Waiting for the mediator's answer.
        Open => "open",
        Accepted => "accepted",
        Declined => "declined",
        /// Its wave timed out.
        Expired => "expired",
        /// Someone else took the job, or the request was cancelled.
        Withdrawn => "withdrawn",
    }
);

text_enum!(
    /// Where an assignment stands.
    AssignmentStatus, "assignment status" {
        /// The mediator is going.
        Active => "active",
        /// It took place.
        Done => "done",
        /// It did not take place.
        NotDone => "not_done",
        /// The request was cancelled.
        Cancelled => "cancelled",
        /// The appointment was moved and the mediator could not take the new time (or did
        /// not answer in time): the request went back to the queue.
        Released => "released",
    }
);

text_enum!(
    /// Where a timer stands.
    TimerStatus, "timer status" {
        Pending => "pending",
        Done => "done",
        /// Given up after repeated failures.
        Failed => "failed",
        /// Dropped: its request moved on (assigned, cancelled).
        Cancelled => "cancelled",
    }
);

text_enum!(
    /// Where an outbox row stands.
    OutboxStatus, "outbox status" {
        Pending => "pending",
        /// Claimed by a worker, leased.
        Sending => "sending",
        Sent => "sent",
        /// Given up: a dead letter the coordinators hear of.
        Dead => "dead",
        /// Dropped before it went out (an offer withdrawn in time).
        Cancelled => "cancelled",
    }
);

text_enum!(
    /// What a timer is for.
    TimerKind, "timer kind" {
        /// An offer wave expires (`ref_id`: the wave number).
        OfferWave => "offer_wave",
        /// The day before the appointment, at the same local time (`ref_id`: the assignment).
        ReminderDayBefore => "reminder_day_before",
        /// `reminder_hours_before` the start (`ref_id`: the assignment).
        ReminderHoursBefore => "reminder_two_hours",
        /// The appointment's end: "si è svolto?" and the evaluation (`ref_id`: the assignment).
        AfterEnd => "after_end",
        /// The assigned mediator's answer to a new date or time is due (`ref_id`: the
        /// assignment); unanswered, the assignment is released.
        ChangeAnswer => "change_answer",
        /// The answer of the mediator of moved meetings of a series to their new time is due
        /// (`ref_id`: the mediator; the meetings carry it as `question_timer_id`); unanswered,
        /// they are offered to others.
        MeetingsAnswer => "meetings_answer",
        /// `account.confirm_within_days` after the requester was asked to confirm the hours:
        /// unanswered, the mediator's hours count, flagged unverified (`ref_id`: the assignment).
        HoursDue => "hours_due",
    }
);

text_enum!(
    /// Who did not come to an appointment recorded as not done.
    NoShow, "no-show" {
        /// The family did not come.
        Family => "family",
        /// The mediator did not come.
        Mediator => "mediator",
    }
);

text_enum!(
    /// Where the requester's check of a mediator's recorded hours stands (`hours_checks`).
    HoursCheckStatus, "hours check status" {
        /// The requester was asked to confirm the hours.
        Asked => "asked",
        /// The requester confirmed them.
        Confirmed => "confirmed",
        /// The requester gave another figure: a coordinator settles it.
        Disputed => "disputed",
        /// A coordinator chose the figure to bill.
        Settled => "settled",
        /// No answer in time: the mediator's hours count, flagged.
        Unverified => "unverified",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_state_reads_back_and_an_unknown_one_is_an_error() {
        for s in OfferState::ALL {
            assert_eq!(s.as_str().parse::<OfferState>(), Ok(*s));
        }
        for s in AssignmentStatus::ALL {
            assert_eq!(s.as_str().parse::<AssignmentStatus>(), Ok(*s));
        }
        for s in OutboxStatus::ALL {
            assert_eq!(s.as_str().parse::<OutboxStatus>(), Ok(*s));
        }
        for s in TimerStatus::ALL {
            assert_eq!(s.as_str().parse::<TimerStatus>(), Ok(*s));
        }
        for s in HoursCheckStatus::ALL {
            assert_eq!(s.as_str().parse::<HoursCheckStatus>(), Ok(*s));
        }
        for k in TimerKind::ALL {
            assert_eq!(k.as_str().parse::<TimerKind>(), Ok(*k));
        }
        let e = "reminder_next_week".parse::<TimerKind>().unwrap_err();
        assert!(e.to_string().contains("timer kind"), "{e}");
        assert!("archived".parse::<OfferState>().is_err());
        assert!("Active".parse::<AssignmentStatus>().is_err());
    }
}
