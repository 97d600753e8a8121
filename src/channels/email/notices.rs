//! The email renderer of the core's notices (`crate::app::notice`): plain text in the
//! recipient's language, a subject with the request code, our own Message-ID (from the
//! notice's idempotency key, so a repeated delivery keeps it), and threading on the
//! requester's message when the notice answers one. Answers offered as buttons on Telegram are
//! not part of an email: the requester answers by replying.

use crate::app::notice::Notice;
use crate::app::sentence;
use crate::config::Lang;
use crate::outbox::EmailPayload;

/// The email of a notice to `to`, in `lang`. `in_reply_to`: the requester's message it
/// answers; `key`: the notice's idempotency key; `domain`: right-hand side of our Message-IDs.
pub fn notice(
    lang: Lang,
    to: &str,
    in_reply_to: Option<String>,
    key: &str,
    domain: &str,
    n: &Notice,
) -> EmailPayload {
    let s = sentence::sentence(lang, n);
    EmailPayload {
        to: to.to_string(),
        subject: s.subject(),
        body: s.text_with(str::to_string),
        message_id: crate::alerts::message_id(key, domain),
        references: in_reply_to.iter().cloned().collect(),
        in_reply_to,
    }
}
