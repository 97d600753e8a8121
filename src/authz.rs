//! Who may see and do what: the one table of authorisation, as a pure function.
//!
//! Every entry point that acts for a person — bot commands (`/annulla`, `/richieste`,
//! `/dettagli`...), button presses (offer, outcome, hours, decline reason, evaluation), email
//! follow-ups and cancellations, and the CLI — builds the [`Actor`] it knows (from a Telegram
//! id, an email sender, the terminal) and the [`RequestFacts`] of the request concerned (read
//! from the store), and asks [`authorize`]. The rules live here and nowhere else:
//!
//! | action | operator (requester) | mediator | coordinator, CLI |
//! |---|---|---|---|
//! | open a request (from a draft) | yes (their own) | no | all |
//! | see a request (code, status, when, where in general) | own requests | offered to them or assigned to them | all |
//! | see full details (names, phone, address, notes) | own requests | only once assigned to them (after acceptance) | all |
//! | cancel | own requests | no | all |
//! | add information (follow-up, document) | own requests | no | all |
//! | evaluate the intervention | own requests | no | all |
//! | confirm the hours worked, or give another figure | own requests | no | all |
//! | answer an offer (accept, decline, reason) | no | offers addressed to them, while active | no (coordinators assign instead) |
//! | report an outcome (done, not done, hours) | no | their own assignment | all (on the mediator's behalf) |
//! | assign by hand, review held mail | no | no | all |
//! | dispatch: send an offer wave, fire a timer, alert coordinators | no | no | all, and the service itself ([`Actor::System`]) |
//!
//! A request is an operator's own when its `operator_id` is theirs, or when it was written from
//! their email address or their Telegram chat. A deactivated mediator or operator may do
//! nothing. The function does no I/O; whether the state allows the action (an offer still open,
//! a request not yet closed) is the dispatcher's business, checked after this.

use crate::store::Request;

/// Who is acting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A social worker: a registered operator (`id`), or a requester known only by the email
    /// address or Telegram chat they write from.
    Operator {
        id: Option<i64>,
        email: Option<String>,
        chat_id: Option<i64>,
        active: bool,
    },
    /// A mediator, by id.
    Mediator { id: i64, active: bool },
    /// A coordinator, by id.
    Coordinator { id: i64 },
    /// The command line on the server: whoever runs it has the database, so coordinator rights.
    Cli,
    /// The service itself (the dispatcher's rounds, timers, the outbox worker): it may only do
    /// its own work ([`Action::Dispatch`]). `process` names it in the audit (`process:timers`).
    System { process: &'static str },
}

impl Actor {
    /// The actor's name in the audit trail (`operator:7`, `mediator:3`, `coordinator:1`, `cli`).
    pub fn audit_name(&self) -> String {
        match self {
            Actor::Operator { id: Some(id), .. } => format!("operator:{id}"),
            Actor::Operator { id: None, .. } => "requester".into(),
            Actor::Mediator { id, .. } => format!("mediator:{id}"),
            Actor::Coordinator { id } => format!("coordinator:{id}"),
            Actor::Cli => "cli".into(),
            Actor::System { process } => format!("process:{process}"),
        }
    }
}

/// What the actor wants to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// See that the request exists: code, status, language, date, comune.
    See,
    /// See the full details: requester's name and phone, address, case notes.
    SeeDetails,
    Cancel,
    /// Add information to it (an email follow-up, a document).
    AddInfo,
    Evaluate,
    /// Confirm the hours a mediator recorded, or give another figure (the requester).
    ConfirmHours,
    /// Accept or decline an offer, give the reason of a decline.
    AnswerOffer,
    /// Move the appointment to another date or time (`app::reschedule`).
    Reschedule,
    /// The assigned mediator says whether a new date or time suits them.
    AnswerChange,
    /// Say whether the appointment took place, and the hours worked.
    RecordOutcome,
    /// Assign by hand, accept or reject held mail.
    Manage,
    /// The service's own work: send an offer wave, fire a timer, alert the coordinators.
    Dispatch,
    /// Open a new request (from a draft the channel read).
    Create,
}

impl Action {
    pub const ALL: [Action; 13] = [
        Action::See,
        Action::SeeDetails,
        Action::Cancel,
        Action::AddInfo,
        Action::Evaluate,
        Action::ConfirmHours,
        Action::AnswerOffer,
        Action::Reschedule,
        Action::AnswerChange,
        Action::RecordOutcome,
        Action::Manage,
        Action::Dispatch,
        Action::Create,
    ];
}

/// What the decision needs to know about the request (and the offer or assignment) concerned.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestFacts {
    pub operator_id: Option<i64>,
    pub requester_email: Option<String>,
    pub requester_chat_id: Option<i64>,
    /// The mediator the offer in question is addressed to.
    pub offered_to: Option<i64>,
    /// The mediator assigned (after acceptance, or by hand), or of the assignment in question.
    pub assigned_to: Option<i64>,
}

impl RequestFacts {
    /// The facts of a stored request (its assigned mediator, if any).
    pub fn of(r: &Request) -> RequestFacts {
        RequestFacts {
            operator_id: r.operator_id,
            requester_email: r.requester_email.clone(),
            requester_chat_id: r.requester_chat_id,
            offered_to: None,
            assigned_to: r.assigned_mediator_id,
        }
    }

    /// With the offer in question addressed to `mediator_id`.
    pub fn offered_to(mut self, mediator_id: i64) -> RequestFacts {
        self.offered_to = Some(mediator_id);
        self
    }

    /// With the assignment in question held by `mediator_id`.
    pub fn assigned_to(mut self, mediator_id: i64) -> RequestFacts {
        self.assigned_to = Some(mediator_id);
        self
    }
}

/// Why an action is refused. Each maps to one sentence the person reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// The request, offer or assignment belongs to someone else.
    #[error("not theirs")]
    NotYours,
    /// A mediator asking for details of a job they have not accepted.
    #[error("details only after acceptance")]
    NotAccepted,
    /// Their role may never do this.
    #[error("not for this role")]
    NotForRole,
    /// A deactivated person.
    #[error("inactive")]
    Inactive,
}

/// The table above, as code: `Ok(())` when `actor` may do `action` on the request described
/// by `facts`.
pub fn authorize(actor: &Actor, action: Action, facts: &RequestFacts) -> Result<(), Denied> {
    match actor {
        Actor::Coordinator { .. } | Actor::Cli => match action {
            // Coordinators do not answer offers for a mediator: they assign instead.
            Action::AnswerOffer | Action::AnswerChange => Err(Denied::NotForRole),
            _ => Ok(()),
        },
        Actor::System { .. } => match action {
            Action::Dispatch => Ok(()),
            _ => Err(Denied::NotForRole),
        },
        Actor::Operator {
            id,
            email,
            chat_id,
            active,
        } => {
            if !active {
                return Err(Denied::Inactive);
            }
            match action {
                // Anyone may ask for a mediator (held for review when the channel does not
                // know them); the request is theirs.
                Action::Create => Ok(()),
                Action::See
                | Action::SeeDetails
                | Action::Cancel
                | Action::AddInfo
                | Action::Reschedule
                | Action::Evaluate
                | Action::ConfirmHours => {
                    let by_id = id.is_some() && facts.operator_id == *id;
                    let by_email = match (email, &facts.requester_email) {
                        (Some(a), Some(b)) => !a.is_empty() && a.eq_ignore_ascii_case(b),
                        _ => false,
                    };
                    let by_chat = chat_id.is_some() && facts.requester_chat_id == *chat_id;
                    if by_id || by_email || by_chat {
                        Ok(())
                    } else {
                        Err(Denied::NotYours)
                    }
                }
                Action::AnswerOffer
                | Action::AnswerChange
                | Action::RecordOutcome
                | Action::Manage
                | Action::Dispatch => Err(Denied::NotForRole),
            }
        }
        Actor::Mediator { id, active } => {
            if !active {
                return Err(Denied::Inactive);
            }
            let assigned = facts.assigned_to == Some(*id);
            let offered = facts.offered_to == Some(*id);
            match action {
                Action::See if assigned || offered => Ok(()),
                Action::See => Err(Denied::NotYours),
                Action::SeeDetails if assigned => Ok(()),
                Action::SeeDetails if offered => Err(Denied::NotAccepted),
                Action::SeeDetails => Err(Denied::NotYours),
                Action::AnswerOffer if offered => Ok(()),
                Action::AnswerOffer => Err(Denied::NotYours),
                Action::RecordOutcome | Action::AnswerChange if assigned => Ok(()),
                Action::RecordOutcome | Action::AnswerChange => Err(Denied::NotYours),
                Action::Cancel
                | Action::AddInfo
                | Action::Reschedule
                | Action::Evaluate
                | Action::ConfirmHours
                | Action::Manage
                | Action::Dispatch
                | Action::Create => Err(Denied::NotForRole),
            }
        }
    }
}
