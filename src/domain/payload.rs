//! What the outbox carries: one message for one person on one channel, already rendered
//! (Telegram text with buttons, or an email with its threading headers). The contract between
//! whoever writes a message, the store that keeps it and the channel that sends it; re-exported
//! by `crate::outbox`.

use serde::{Deserialize, Serialize};

/// What a channel needs to send one Telegram message (or edit one already sent).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TelegramPayload {
    pub chat_id: i64,
    /// HTML parse mode; every user-provided piece already escaped.
    pub text: String,
    /// Inline keyboard rows; `data` is callback_data (at most 64 bytes).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Vec<Button>>,
    /// Set to edit an earlier message instead of sending a new one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_message_id: Option<i64>,
    /// A calendar invitation sent with the message as an `.ics` document (`sendDocument`):
    /// only to the mediator who got the job, never with an offer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<Calendar>,
    /// Instead of a message: set this chat's command menu (`setMyCommands` with the chat's
    /// scope) to a role's commands, or delete it (`deleteMyCommands`) when nobody is registered
    /// there any more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub menu: Option<Menu>,
}

/// A chat's command menu as it should be now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Menu {
    /// The role whose commands it shows (`operator`, `mediator`, `coordinator`); `None`: the
    /// chat's own menu is deleted and the default (only `/start`) shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<super::PersonKind>,
    /// The language of the commands' descriptions (`it`, `en`).
    pub lang: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub text: String,
    pub data: String,
}

/// What a channel needs to send one email reply.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct EmailPayload {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// Our own Message-ID, chosen when the row is written so replies thread back to it.
    pub message_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_reply_to: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// A calendar invitation: a `text/calendar` alternative of the body and the same `.ics`
    /// as an attachment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calendar: Option<Calendar>,
}

/// A calendar invitation carried by a message (`crate::ics` writes it): the iCalendar text,
/// the iTIP method it declares and the file name it travels under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calendar {
    /// `REQUEST` or `CANCEL`: the calendar's `METHOD`, repeated in the MIME type's `method=`.
    pub method: String,
    /// The `VCALENDAR` object, CRLF line ends.
    pub ics: String,
    /// The attachment's name (`invito.ics`).
    pub file_name: String,
}

impl EmailPayload {
    /// The recipient as the per-recipient cap counts it: the address, trimmed, lower case.
    pub fn recipient_key(&self) -> String {
        self.to.trim().to_ascii_lowercase()
    }
}

/// One row's payload, tagged by channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum Payload {
    Telegram(TelegramPayload),
    Email(EmailPayload),
}
