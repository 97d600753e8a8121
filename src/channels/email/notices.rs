//! The email renderer of the core's notices (`crate::app::notice`): plain text in the
//! recipient's language, a subject with the request code, our own Message-ID (from the
//! notice's idempotency key, so a repeated delivery keeps it), and threading on the
//! requester's message when the notice answers one. Answers offered as buttons on Telegram are
//! not part of an email: the requester answers by replying.
//!
//! The requester's confirmation, and the details and the cancellation for a mediator reached
//! by email, carry the appointment's calendar invitation ([`crate::ics::invitation`]): the
//! SMTP transport makes it a `text/calendar` alternative of the text and an `.ics` attachment.

use crate::app::notice::{self, EmailHeaders, Notice};
use crate::app::sentence;
use crate::config::Lang;
use crate::ics::Host;
use crate::outbox::{Calendar, EmailPayload};

/// The email channel's renderer, as the core's port ([`crate::app::notice::EmailRenderer`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Render;

impl crate::app::notice::EmailRenderer for Render {
    fn render(&self, lang: Lang, h: EmailHeaders<'_>, n: &Notice) -> EmailPayload {
        notice(
            lang,
            h.to,
            h.in_reply_to.map(str::to_owned),
            h.key,
            h.host,
            h.signature,
            n,
        )
    }
}

/// The email of a notice to `to`, in `lang`. `in_reply_to`: the requester's message it
/// answers; `key`: the notice's idempotency key; `host`: right-hand side of our Message-IDs
/// and the organizer of invitations; `signature`: the cooperative's (`[smtp] signature`). The
/// confirmation is a letter in the requester's thread ([`super::letters`]).
pub fn notice(
    lang: Lang,
    to: &str,
    in_reply_to: Option<String>,
    key: &str,
    host: Host<'_>,
    signature: Option<&str>,
    n: &Notice,
) -> EmailPayload {
    let (subject, body) = match n {
        Notice::Confirmation {
            request, mediator, ..
        } => {
            let letter = super::letters::Confirmation {
                lang: lang.as_str(),
                request,
                mediator,
                signature,
            };
            (letter.subject(), letter.body())
        }
        // What was understood, on the requester's thread, as the intake's acknowledgement.
        Notice::Acknowledgement { request, .. } => (
            super::replies::reply_subject(
                lang.as_str(),
                &request.code.to_string(),
                request.subject.as_deref(),
            ),
            super::replies::ack_body(lang.as_str(), request, false, &[]),
        ),
        // The criteria in order, to answer with the marks on one line.
        Notice::EvaluationQuestion { request, criteria } => {
            let s = sentence::sentence(lang, n);
            (
                s.subject(),
                sentence::dispatch_text(
                    lang,
                    "ask_evaluation_by_email",
                    &[
                        ("code", request.code.to_string()),
                        (
                            "date",
                            s.args
                                .iter()
                                .find(|(k, _)| *k == "date")
                                .map(|(_, v)| v.clone())
                                .unwrap_or_default(),
                        ),
                        ("criteria", sentence::criteria_words(lang, criteria)),
                    ],
                ),
            )
        }
        // The buttons of Telegram, as the way to answer by email.
        Notice::HoursQuestion { .. }
        | Notice::HoursDisputed { .. }
        | Notice::ChangeQuestion { .. }
        | Notice::MeetingsQuestion { .. }
        | Notice::OutcomeQuestion { .. } => {
            let s = sentence::sentence(lang, n);
            let how = match n {
                Notice::HoursQuestion { .. } => "ask_hours_by_email",
                Notice::ChangeQuestion { .. } | Notice::MeetingsQuestion { .. } => {
                    "change_question_by_email"
                }
                Notice::OutcomeQuestion { .. } => "ask_done_by_email",
                _ => "hours_disputed_by_email",
            };
            (
                s.subject(),
                format!(
                    "{}\n\n{}",
                    s.text_with(str::to_string),
                    sentence::dispatch_text(lang, how, &[])
                ),
            )
        }
        _ => {
            let s = sentence::sentence(lang, n);
            (s.subject(), s.text_with(str::to_string))
        }
    };
    EmailPayload {
        to: to.to_string(),
        subject,
        body,
        message_id: message_id(key, host.domain),
        references: in_reply_to.iter().cloned().collect(),
        in_reply_to,
        calendar: calendar(lang, host, n),
    }
}

/// The invitation a notice carries by email: [`notice::calendar`], the same as on Telegram,
/// but only as an iTIP message from the cooperative's mailbox (an `ORGANIZER`): Outlook and Gmail
/// show nothing useful for a plain event in a mail.
pub fn calendar(lang: Lang, host: Host<'_>, n: &Notice) -> Option<Calendar> {
    host.organizer?;
    notice::calendar(lang, host, n)
}

/// One of our Message-IDs for an idempotency key: `<key.with.dots@domain>`.
pub fn message_id(key: &str, domain: &str) -> String {
    let local: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '.' })
        .collect();
    format!("<{local}@{domain}>")
}
