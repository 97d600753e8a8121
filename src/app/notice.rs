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
    /// The request's date or time changed: a new offer follows for the new time.
    Moved,
}

/// What changed in a series of appointments ([`super::series`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesChange {
    /// Cancelled, else moved.
    pub cancelled: bool,
    /// The meetings changed (their places in the series, from 1).
    pub seqs: Vec<u32>,
    /// The first changed meeting's start before the change.
    pub from: DateTime<Utc>,
    /// Its start after a move.
    pub to: Option<DateTime<Utc>>,
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
    /// To the requester: the new date or time is taken (`late`: under the notice period);
    /// `asking`: the assigned mediator, who is being asked whether it suits them.
    Rescheduled {
        request: Request,
        asking: Option<Mediator>,
        late: bool,
    },
    /// To the assigned mediator: the appointment moved; does it suit you? [Va bene] [Non posso]
    /// (`timer_id`: the answer's timer, which the buttons name).
    ChangeQuestion {
        request: Request,
        mediator: Mediator,
        assignment_id: i64,
        timer_id: i64,
        late: bool,
    },
    /// To the mediator who leaves a rescheduled appointment (they could not take the new time,
    /// or did not answer in time), with the invitation's `CANCEL`.
    Released {
        request: Request,
        mediator: Mediator,
        assignment_id: i64,
        timed_out: bool,
    },
    /// To the requester: the mediator could not take the new time (or did not answer); the
    /// request is offered again.
    Requeued {
        request: Request,
        mediator: Mediator,
        assignment_id: i64,
        timed_out: bool,
    },
    /// Meetings of a series were cancelled or moved: to the requester, or (`to_mediator`) to
    /// the series' mediator; with the whole series' invitation (`EXDATE`, `RECURRENCE-ID`) once
    /// it has a mediator.
    SeriesChanged {
        request: Request,
        mediator: Option<Mediator>,
        change: SeriesChange,
        to_mediator: bool,
    },
    /// One meeting of a series offered on its own (the series' mediator cannot take it): like
    /// an offer, only language, date/time, duration, comune, type, modality; [Accetto]
    /// [Non posso].
    MeetingOffer {
        request: Request,
        mediator: Mediator,
        offer_id: i64,
        seq: u32,
        starts_at: DateTime<Utc>,
    },
    /// Who comes to one meeting of a series: to its new mediator (`to_mediator`: the details of
    /// that meeting), or to the requester (`mediator` `None`: its mediator cannot come, another
    /// is being looked for).
    MeetingMediator {
        request: Request,
        mediator: Option<Mediator>,
        seq: u32,
        starts_at: DateTime<Utc>,
        to_mediator: bool,
    },
    /// To a colleague who took one meeting of a series: it moved (`to`) or is cancelled, with
    /// that meeting's invitation updated (or its `CANCEL`).
    MeetingChanged {
        request: Request,
        mediator: Mediator,
        seq: u32,
        from: DateTime<Utc>,
        to: Option<DateTime<Utc>>,
    },
    /// To whoever holds meetings `seqs` of a series that moved: do the new times suit you?
    /// [Va bene] / [Non posso] (`timer_id`: the answer's timer).
    MeetingsQuestion {
        request: Request,
        mediator: Mediator,
        seqs: Vec<u32>,
        timer_id: i64,
    },
    /// To the requester: the mediator of moved meetings `seqs` agreed to their new times.
    MeetingsAgreed {
        request: Request,
        mediator: Mediator,
        seqs: Vec<u32>,
        timer_id: i64,
    },
    /// To the mediator who had meeting `seq` of a series: it is no longer theirs (another is
    /// asked for it); with their series' invitation without it.
    MeetingReleased {
        request: Request,
        mediator: Mediator,
        seq: u32,
        starts_at: DateTime<Utc>,
    },
    /// To the requester, `unfilled_notice_hours` before the appointment: no mediator is
    /// confirmed yet, the coordinators are looking, they may cancel.
    Unfilled { request: Request },
    /// To the assigned mediator: the appointment is cancelled (late: under the notice period);
    /// or (`to_requester`) to the requester, when someone else (a coordinator, the CLI)
    /// cancelled their assigned request, or (`by_requester`) when they cancelled it themselves
    /// on the bot (where the reply cannot carry the document). Both carry the invitation's
    /// `CANCEL`.
    Cancellation {
        request: Request,
        mediator: Mediator,
        assignment_id: i64,
        late: bool,
        to_requester: bool,
        by_requester: bool,
    },
    /// To the mediator going: the appointment is tomorrow, or in a few hours; `meeting`: the
    /// meeting of a series it is about (then the mediator is whoever holds that meeting).
    Reminder {
        request: Request,
        mediator: Mediator,
        timer_id: i64,
        which: Reminder,
        meeting: Option<MeetingAt>,
    },
    /// After the end, to the mediator: "si è svolto?" [Svolto] [Non svolto]; for one
    /// `meeting` of a series, about that meeting (its buttons name the meeting, not the
    /// assignment).
    OutcomeQuestion {
        request: Request,
        mediator: Mediator,
        timer_id: i64,
        assignment_id: i64,
        meeting: Option<MeetingAt>,
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

/// The meeting of a series a reminder or the question after it is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeetingAt {
    pub occurrence_id: i64,
    /// Its number in the series (1 for the first).
    pub seq: u32,
    pub starts_at: DateTime<Utc>,
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
            | Notice::Rescheduled { request, .. }
            | Notice::ChangeQuestion { request, .. }
            | Notice::Released { request, .. }
            | Notice::Requeued { request, .. }
            | Notice::Unfilled { request }
            | Notice::SeriesChanged { request, .. }
            | Notice::MeetingOffer { request, .. }
            | Notice::MeetingMediator { request, .. }
            | Notice::MeetingReleased { request, .. }
            | Notice::MeetingChanged { request, .. }
            | Notice::MeetingsQuestion { request, .. }
            | Notice::MeetingsAgreed { request, .. }
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
            Notice::Rescheduled { request, .. } => {
                format!("resched:{}:{}", request.id, request.updated_at.timestamp())
            }
            Notice::ChangeQuestion { timer_id, .. } => format!("changeq:{timer_id}"),
            Notice::Released { assignment_id, .. } => format!("released:{assignment_id}"),
            Notice::Requeued {
                request,
                assignment_id,
                ..
            } => format!("requeued:{}:{assignment_id}", request.id),
            Notice::Unfilled { request } => format!(
                "unfilled:{}:{}",
                request.id,
                request.starts_at.map_or(0, |s| s.timestamp())
            ),
            Notice::SeriesChanged {
                request,
                to_mediator,
                ..
            } => format!(
                "series:{}:{}:{}",
                request.id,
                request.updated_at.timestamp(),
                if *to_mediator { "m" } else { "r" }
            ),
            Notice::MeetingOffer { offer_id, .. } => format!("offer:{offer_id}"),
            Notice::MeetingsQuestion { timer_id, .. } => format!("meetingsq:{timer_id}"),
            Notice::MeetingsAgreed {
                request, timer_id, ..
            } => format!("meetingsok:{}:{timer_id}", request.id),
            Notice::MeetingChanged {
                request,
                mediator,
                seq,
                ..
            } => format!(
                "meeting_changed:{}:{seq}:{}:{}",
                request.id,
                mediator.id,
                request.updated_at.timestamp()
            ),
            Notice::MeetingReleased {
                request,
                mediator,
                seq,
                ..
            } => format!(
                "released_meeting:{}:{seq}:{}:{}",
                request.id,
                mediator.id,
                request.updated_at.timestamp()
            ),
            Notice::MeetingMediator {
                request,
                mediator,
                seq,
                to_mediator,
                ..
            } => format!(
                "meeting:{}:{seq}:{}:{}",
                request.id,
                mediator.as_ref().map_or(0, |m| m.id),
                if *to_mediator { "m" } else { "r" }
            ),
            Notice::Withdrawal { offer_id, .. } => format!("withdraw:{offer_id}"),
            Notice::Cancellation {
                request,
                assignment_id,
                to_requester,
                ..
            } => format!(
                "cancel:{}:{assignment_id}{}",
                request.id,
                if *to_requester { ":r" } else { "" }
            ),
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
            | Notice::Cancellation {
                mediator,
                to_requester: false,
                ..
            }
            | Notice::ChangeQuestion { mediator, .. }
            | Notice::Released { mediator, .. }
            | Notice::Reminder { mediator, .. }
            | Notice::OutcomeQuestion { mediator, .. } => Some(mediator),
            Notice::Changed {
                mediator,
                to_mediator: true,
                ..
            } => Some(mediator),
            Notice::SeriesChanged {
                mediator: Some(mediator),
                to_mediator: true,
                ..
            }
            | Notice::MeetingMediator {
                mediator: Some(mediator),
                to_mediator: true,
                ..
            }
            | Notice::MeetingOffer { mediator, .. }
            | Notice::MeetingsQuestion { mediator, .. }
            | Notice::MeetingReleased { mediator, .. }
            | Notice::MeetingChanged { mediator, .. } => Some(mediator),
            Notice::Changed { .. }
            | Notice::SeriesChanged { .. }
            | Notice::MeetingMediator { .. }
            | Notice::MeetingsAgreed { .. }
            | Notice::Cancellation { .. }
            | Notice::Rescheduled { .. }
            | Notice::Requeued { .. }
            | Notice::Unfilled { .. }
            | Notice::Confirmation { .. }
            | Notice::EvaluationQuestion { .. }
            | Notice::HoursQuestion { .. }
            | Notice::HoursDisputed { .. }
            | Notice::Acknowledgement { .. }
            | Notice::Alert { .. } => None,
        }
    }
}

/// The request as the invitation of `notice` shows it to its recipient: a mediator's series
/// holds only their own meetings (the others, taken by a colleague or looking for one, are left
/// out as if cancelled); anyone else sees every meeting.
pub fn as_seen(notice: &Notice, request: &Request) -> Request {
    let mut r = request.clone();
    if let (Some(m), Some(series)) = (notice.mediator(), r.series.as_mut()) {
        for o in &mut series.occurrences {
            if o.mediator_id != Some(m.id) {
                o.status = crate::domain::series::OccurrenceStatus::Cancelled;
            }
        }
    }
    r
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

/// The language a notice is written in: its recipient's own (a mediator's, a coordinator's,
/// the requester's when they are a registered operator with one), else the configured one
/// (`[intake] language`; a requester by email who is not a registered operator).
pub fn language_for(core: &Core, notice: &Notice) -> Lang {
    let own = match (notice.mediator(), notice) {
        (Some(m), _) => m.language,
        (None, Notice::Alert { coordinator, .. })
        | (None, Notice::HoursDisputed { coordinator, .. }) => coordinator.language,
        (None, n) => n.request().and_then(|r| r.requester_language),
    };
    own.unwrap_or(core.settings.lang)
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

/// The email copy of a notice carrying the assigned mediator's invitation (the details, a
/// change, a cancellation), for a mediator who reads Telegram and also has an address: their
/// calendar gets the event by email too. `None` for any other notice or mediator.
pub fn email_copy(core: &Core, notice: &Notice) -> Option<(String, Payload)> {
    let m = match notice {
        Notice::Details { .. }
        | Notice::Changed { .. }
        | Notice::SeriesChanged { .. }
        | Notice::MeetingReleased { .. }
        | Notice::MeetingChanged { .. }
        | Notice::Cancellation { .. } => notice.mediator()?,
        _ => return None,
    };
    let to = m.email.as_deref().filter(|_| m.telegram_id.is_some())?;
    let key = format!("{}:email", notice.key());
    let host = crate::ics::Host {
        domain: &core.settings.message_id_domain,
        organizer: core.settings.organizer.as_ref(),
    };
    let payload = core.renderers.email.render(
        language_for(core, notice),
        EmailHeaders {
            to,
            in_reply_to: None,
            key: &key,
            host,
            signature: core.settings.email_signature.as_deref(),
        },
        notice,
    );
    // Only worth a second message when it carries the invitation.
    payload.calendar.as_ref()?;
    Some((key, Payload::Email(payload)))
}

/// Writes `notice` to the outbox in `tx` (and its [`email_copy`], if any); returns the row id
/// (or `None`: nobody to send it to).
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
    let id = tx.enqueue(&notice.key(), request_id, &payload, now).await?;
    if let Some((key, copy)) = email_copy(core, notice) {
        tx.enqueue(&key, request_id, &copy, now).await?;
    }
    Ok(Some(id))
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

/// The invitation a notice carries, by email and on Telegram alike: the appointment
/// (`REQUEST`) with the requester's confirmation, the mediator's details and a change of the
/// appointment or of a series' meetings, its cancellation (`CANCEL`) to the mediator and to the
/// requester. Offers never carry one: they go to several mediators.
pub fn calendar(
    lang: crate::config::Lang,
    host: Host<'_>,
    n: &Notice,
) -> Option<crate::outbox::Calendar> {
    match n {
        Notice::Confirmation {
            request, mediator, ..
        }
        | Notice::Details {
            request, mediator, ..
        }
        | Notice::Changed {
            request, mediator, ..
        } => crate::ics::invitation(
            lang,
            host,
            &as_seen(n, request),
            mediator,
            crate::ics::Method::Request,
        ),
        // one meeting of a series taken by a colleague: that meeting, as its own event
        Notice::MeetingMediator {
            request,
            mediator: Some(mediator),
            seq,
            starts_at,
            to_mediator: true,
        } => request
            .series
            .as_ref()
            .and_then(|s| s.occurrence(*seq))
            .and_then(|o| {
                crate::ics::meeting_invitation(
                    lang,
                    host,
                    request,
                    mediator,
                    *seq,
                    *starts_at,
                    o.ends_at,
                    crate::ics::Method::Request,
                )
            }),
        // a colleague's one meeting moved (its new time) or cancelled
        Notice::MeetingChanged {
            request,
            mediator,
            seq,
            from,
            to,
        } => request
            .series
            .as_ref()
            .and_then(|s| s.occurrence(*seq))
            .and_then(|o| {
                let (start, method) = match to {
                    Some(t) => (*t, crate::ics::Method::Request),
                    None => (*from, crate::ics::Method::Cancel),
                };
                let end = start + (o.ends_at - o.starts_at);
                crate::ics::meeting_invitation(
                    lang, host, request, mediator, *seq, start, end, method,
                )
            }),
        // a series' changed meetings: the whole series again, with its exceptions
        Notice::SeriesChanged {
            request,
            mediator: Some(mediator),
            ..
        }
        | Notice::MeetingReleased {
            request, mediator, ..
        } => crate::ics::invitation(
            lang,
            host,
            &as_seen(n, request),
            mediator,
            crate::ics::Method::Request,
        ),
        Notice::Cancellation {
            request, mediator, ..
        }
        | Notice::Released {
            request, mediator, ..
        } => crate::ics::invitation(
            lang,
            host,
            &as_seen(n, request),
            mediator,
            crate::ics::Method::Cancel,
        ),
        _ => None,
    }
}
