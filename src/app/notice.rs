//! What to tell whom: the typed notices a use case returns (an offer, the details for the
//! assigned mediator, the requester's confirmation, a withdrawal, a cancellation, a reminder, a
//! question, an alert), and [`emit`], which picks the recipient's channel, has that channel
//! render the notice in the recipient's language, and writes it to the outbox in the caller's
//! transaction with an idempotency key.
//!
//! The core decides *who* hears *what*; the channels decide how it looks. The core never names
//! a channel: each channel implements a renderer port ([`TelegramRenderer`], [`EmailRenderer`];
//! `channels::telegram::messages::Render`, `channels::email::notices::Render`), and the
//! composition roots (daemon, CLI, tests) hand them to the core as [`Renderers`]
//! (`crate::renderers::channels()`).

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::Core;
use crate::config::Lang;
use crate::domain::Channel;
use crate::ics::Host;
use crate::outbox::{EmailPayload, Payload, TelegramPayload};
use crate::store::{Coordinator, Mediator, Request, Result, Tx};

/// Why an offer is withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withdrawn {
    /// Another mediator took it.
    Taken,
    /// The request was cancelled.
    Cancelled,
}

/// Which reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reminder {
    DayBefore,
    HoursBefore,
}

/// One thing to tell one person (or every coordinator).
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// An offer: only language, date/time, duration, comune, type, modality; [Accetto] [Non posso].
    Offer {
        request: Request,
        mediator: Mediator,
        offer_id: i64,
    },
    /// The full details, to the mediator who got the job.
    Details {
        request: Request,
        mediator: Mediator,
        assignment_id: i64,
    },
    /// To the requester: who the mediator is, when, where.
    Confirmation {
        request: Request,
        mediator: Mediator,
        assignment_id: i64,
    },
    /// An offer is no longer valid. `edit_message_id`: the delivered Telegram offer to edit.
    Withdrawal {
        request: Request,
        mediator: Mediator,
        offer_id: i64,
        why: Withdrawn,
        edit_message_id: Option<i64>,
    },
    /// The appointment changed after the assignment (date, time or place): to the requester,
    /// or (`to_mediator`) to the assigned mediator, with the updated calendar invitation.
    Changed {
        request: Request,
        mediator: Mediator,
        assignment_id: i64,
        to_mediator: bool,
    },
    /// To the assigned mediator: the appointment is cancelled (late: under the notice period).
    Cancellation {
        request: Request,
        mediator: Mediator,
        assignment_id: i64,
        late: bool,
    },
    Reminder {
        request: Request,
        mediator: Mediator,
        timer_id: i64,
        which: Reminder,
    },
    /// After the end, to the mediator: "si è svolto?" [Svolto] [Non svolto].
    OutcomeQuestion {
        request: Request,
        mediator: Mediator,
        timer_id: i64,
        assignment_id: i64,
    },
    /// After the end, to the requester: a mark from 1 to 5 on each of the cooperative's
    /// `criteria` (`[evaluation] criteria`, in order).
    EvaluationQuestion {
        request: Request,
        criteria: Vec<String>,
    },
    /// To the requester, once the mediator recorded the hours: confirm them, or give another
    /// figure ([`super::account`]).
    HoursQuestion {
        request: Request,
        assignment_id: i64,
        minutes: i64,
    },
    /// To one coordinator: the requester gave another figure than the mediator's; the figure
    /// to bill is theirs to settle.
    HoursDisputed {
        request: Request,
        coordinator: Coordinator,
        assignment_id: i64,
        mediator_minutes: i64,
        requester_minutes: i64,
    },
    /// To the requester of a held email request a coordinator accepted: what was understood,
    /// on their thread (`inbound_id`: their message).
    Acknowledgement { request: Request, inbound_id: i64 },
    /// To one coordinator ([`super::alert::raise`] writes one per coordinator). `key` names
    /// the cause and the coordinator (sent once each).
    Alert {
        key: String,
        request_id: Option<i64>,
        subject: String,
        text: String,
        coordinator: Coordinator,
    },
}

/// The kind of a notice, read back from an outbox row's idempotency key (the core makes the
/// keys, so only the core reads them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoticeKind {
    Offer,
    Details,
    Confirmation,
    Withdrawal,
    Cancellation,
    Reminder,
    EvaluationQuestion,
    Alert,
    /// A row the core did not write (replies of a channel).
    Other,
}

impl NoticeKind {
    /// The kind of the outbox row with idempotency key `key`.
    pub fn of_key(key: &str) -> NoticeKind {
        match key.split(':').next().unwrap_or_default() {
            "offer" => NoticeKind::Offer,
            "details" => NoticeKind::Details,
            "confirm" => NoticeKind::Confirmation,
            "withdraw" => NoticeKind::Withdrawal,
            "cancel" => NoticeKind::Cancellation,
            "timer" => NoticeKind::Reminder,
            "eval" => NoticeKind::EvaluationQuestion,
            "esc" | "dead" => NoticeKind::Alert,
            _ => NoticeKind::Other,
        }
    }
}

impl Notice {
    /// The request the notice is about.
    pub fn request(&self) -> Option<&Request> {
        match self {
            Notice::Offer { request, .. }
            | Notice::Details { request, .. }
            | Notice::Confirmation { request, .. }
            | Notice::Changed { request, .. }
            | Notice::Withdrawal { request, .. }
            | Notice::Cancellation { request, .. }
            | Notice::Reminder { request, .. }
            | Notice::OutcomeQuestion { request, .. }
            | Notice::EvaluationQuestion { request, .. }
            | Notice::HoursQuestion { request, .. }
            | Notice::HoursDisputed { request, .. }
            | Notice::Acknowledgement { request, .. } => Some(request),
            Notice::Alert { .. } => None,
        }
    }

    /// The idempotency key: the same notice queued twice is one message.
    pub fn key(&self) -> String {
        match self {
            Notice::Offer { offer_id, .. } => format!("offer:{offer_id}"),
            Notice::Details { assignment_id, .. } => format!("details:{assignment_id}"),
            Notice::Confirmation {
                request,
                assignment_id,
                ..
            } => format!("confirm:{}:{assignment_id}", request.id),
            Notice::Changed {
                request,
                assignment_id,
                to_mediator,
                ..
            } => format!(
                "changed:{}:{assignment_id}:{}:{}",
                request.id,
                request.updated_at.timestamp(),
                if *to_mediator { "m" } else { "r" }
            ),
            Notice::Withdrawal { offer_id, .. } => format!("withdraw:{offer_id}"),
            Notice::Cancellation {
                request,
                assignment_id,
                ..
            } => format!("cancel:{}:{assignment_id}", request.id),
            Notice::Reminder { timer_id, .. } | Notice::OutcomeQuestion { timer_id, .. } => {
                format!("timer:{timer_id}")
            }
            Notice::EvaluationQuestion { request, .. } => format!("eval:{}", request.id),
            Notice::HoursQuestion {
                assignment_id,
                minutes,
                ..
            } => format!("hours:{assignment_id}:{minutes}"),
            Notice::HoursDisputed {
                assignment_id,
                coordinator,
                ..
            } => format!("hdisp:{assignment_id}:coord:{}", coordinator.id),
            Notice::Acknowledgement { inbound_id, .. } => format!("email:ack:{inbound_id}"),
            Notice::Alert { key, .. } => key.clone(),
        }
    }

    /// The mediator it goes to, if it goes to one.
    fn mediator(&self) -> Option<&Mediator> {
        match self {
            Notice::Offer { mediator, .. }
            | Notice::Details { mediator, .. }
            | Notice::Withdrawal { mediator, .. }
            | Notice::Cancellation { mediator, .. }
            | Notice::Reminder { mediator, .. }
            | Notice::OutcomeQuestion { mediator, .. } => Some(mediator),
            Notice::Changed {
                mediator,
                to_mediator: true,
                ..
            } => Some(mediator),
            Notice::Changed { .. }
            | Notice::Confirmation { .. }
            | Notice::EvaluationQuestion { .. }
            | Notice::HoursQuestion { .. }
            | Notice::HoursDisputed { .. }
            | Notice::Acknowledgement { .. }
            | Notice::Alert { .. } => None,
        }
    }
}

/// Where one notice goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Address {
    Telegram(i64),
    Email {
        to: String,
        /// The requester's message this answers (threading), if any.
        in_reply_to: Option<String>,
    },
}

/// The recipient's address: a mediator on Telegram if linked, else by email; the requester on
/// the channel the request came from, else the other one they gave.
pub fn address_of(notice: &Notice) -> Option<Address> {
    if let Some(m) = notice.mediator() {
        return mediator_address(m);
    }
    if let Notice::Alert { coordinator: c, .. } | Notice::HoursDisputed { coordinator: c, .. } =
        notice
    {
        return c.telegram_id.map(Address::Telegram).or_else(|| {
            c.email.clone().map(|to| Address::Email {
                to,
                in_reply_to: None,
            })
        });
    }
    let request = notice.request()?;
    let telegram = request.requester_chat_id.map(Address::Telegram);
    let email = request.requester_email.clone().map(|to| Address::Email {
        to,
        in_reply_to: request.source_message_id.clone(),
    });
    match request.channel {
        Channel::Telegram => telegram.or(email),
        Channel::Email | Channel::Cli | Channel::Web => email.or(telegram),
    }
}

fn mediator_address(m: &Mediator) -> Option<Address> {
    m.telegram_id.map(Address::Telegram).or_else(|| {
        m.email.clone().map(|to| Address::Email {
            to,
            in_reply_to: None,
        })
    })
}

/// The language a notice is written in: the configured one (people have no language of their
/// own in the store yet).
pub fn language_for(core: &Core, _notice: &Notice) -> Lang {
    core.settings.lang
}

/// The Telegram channel's renderer of notices.
pub trait TelegramRenderer: Send + Sync {
    /// The message of `notice` to the private chat `chat_id`, in `lang`; `host`: our
    /// Message-ID domain and the invitations' organizer.
    fn render(&self, lang: Lang, chat_id: i64, host: Host<'_>, notice: &Notice) -> TelegramPayload;
}

/// Where an email notice goes and how it threads, as the core knows it.
#[derive(Debug, Clone, Copy)]
pub struct EmailHeaders<'a> {
    pub to: &'a str,
    /// The requester's message it answers, if any.
    pub in_reply_to: Option<&'a str>,
    /// The notice's idempotency key (our Message-ID is made from it).
    pub key: &'a str,
    /// The right-hand side of our Message-IDs and the invitations' organizer.
    pub host: Host<'a>,
    /// The cooperative's signature (`[smtp] signature`).
    pub signature: Option<&'a str>,
}

/// The email channel's renderer of notices.
pub trait EmailRenderer: Send + Sync {
    /// The email of `notice`, in `lang`.
    fn render(&self, lang: Lang, headers: EmailHeaders<'_>, notice: &Notice) -> EmailPayload;
}

/// The channels' renderers the core writes notices with. Cheap to clone.
#[derive(Clone)]
pub struct Renderers {
    pub telegram: Arc<dyn TelegramRenderer>,
    pub email: Arc<dyn EmailRenderer>,
}

impl std::fmt::Debug for Renderers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Renderers")
    }
}

/// Renders `notice` on the recipient's channel, or `None` when the recipient has no channel.
pub fn render(core: &Core, notice: &Notice) -> Option<Payload> {
    let lang = language_for(core, notice);
    let key = notice.key();
    let host = crate::ics::Host {
        domain: &core.settings.message_id_domain,
        organizer: core.settings.organizer.as_ref(),
    };
    match address_of(notice)? {
        Address::Telegram(chat_id) => Some(Payload::Telegram(
            core.renderers.telegram.render(lang, chat_id, host, notice),
        )),
        Address::Email { to, in_reply_to } => Some(Payload::Email(core.renderers.email.render(
            lang,
            EmailHeaders {
                to: &to,
                in_reply_to: in_reply_to.as_deref(),
                key: &key,
                host,
                signature: core.settings.email_signature.as_deref(),
            },
            notice,
        ))),
    }
}

/// Writes `notice` to the outbox in `tx`; returns the row id (or `None`: nobody to send it to).
pub async fn emit(
    core: &Core,
    tx: &mut Tx,
    notice: &Notice,
    now: DateTime<Utc>,
) -> Result<Option<i64>> {
    let Some(payload) = render(core, notice) else {
        return Ok(None);
    };
    let request_id = match notice {
        Notice::Alert { request_id, .. } => *request_id,
        n => n.request().map(|r| r.id),
    };
    Ok(Some(
        tx.enqueue(&notice.key(), request_id, &payload, now).await?,
    ))
}

/// Writes every notice of a use case.
pub async fn emit_all(
    core: &Core,
    tx: &mut Tx,
    notices: &[Notice],
    now: DateTime<Utc>,
) -> Result<()> {
    for n in notices {
        emit(core, tx, n, now).await?;
    }
    Ok(())
}
