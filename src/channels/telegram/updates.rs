//! Turns a teloxide `Update` into the few things the bot reacts to ([`Incoming`]), so the
//! dialogue code never looks at Telegram's many update kinds. Unknown, malformed or irrelevant
//! updates (channel posts, member changes, reactions, `UpdateKind::Error`, `MessageKind::Empty`)
//! become [`Incoming::Ignored`] with a reason for the log.
//!
//! A private conversation is one where the sender and the chat are the same person
//! (`from.id == chat.id`): only then does an update carry a person the bot acts for. A message
//! in a group becomes [`Incoming::Group`] (the bot says it works only in private chats); an
//! update from one person in another's chat (forged, or a button pressed on a message of
//! another chat) becomes [`Incoming::Foreign`], which changes nothing and is answered with
//! nobody's details.

use teloxide::types::{Message, MessageKind, Update, UpdateKind};

/// What kind of non-text message arrived (the bot asks for text, kindly; a document is
/// attached to the operator's latest open request).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Media {
    Voice,
    Photo,
    Sticker,
    /// Telegram keeps the file; its id lets a coordinator fetch it.
    Document {
        file_id: String,
        name: Option<String>,
        size: u32,
    },
    Other,
}

/// The part of an update the bot acts on. Ids are Telegram's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incoming {
    /// Text in a private chat (or an edit of one, with `edited`).
    Text {
        user_id: i64,
        chat_id: i64,
        message_id: i64,
        text: String,
        edited: bool,
    },
    /// `/name arg` in a private chat; `name` lower-cased, without `@botname`.
    Command {
        user_id: i64,
        chat_id: i64,
        name: String,
        arg: String,
    },
    /// A button press.
    Callback {
        user_id: i64,
        query_id: String,
        /// Where the pressed message lives (None if Telegram no longer tells).
        chat_id: Option<i64>,
        message_id: Option<i64>,
        data: String,
    },
    /// A voice note, photo, sticker, document... in a private chat.
    NonText {
        user_id: i64,
        chat_id: i64,
        media: Media,
    },
    /// Text or a command written by a person in a group or supergroup: the bot answers there
    /// only that it works in private chats.
    Group { chat_id: i64 },
    /// An update whose sender is not its private chat's own person: a message from one
    /// account in another's private chat, or a press on a button of a message in another
    /// chat. Nothing changes; a press is answered "not authorised", a message not at all.
    Foreign {
        /// The press to answer (so the presser's spinner stops), if it was a press.
        query_id: Option<String>,
    },
    /// Nothing to do; `reason` goes to the log.
    Ignored { reason: &'static str },
}

impl Incoming {
    /// The Telegram user behind the update, if any.
    pub fn user_id(&self) -> Option<i64> {
        match self {
            Incoming::Text { user_id, .. }
            | Incoming::Command { user_id, .. }
            | Incoming::Callback { user_id, .. }
            | Incoming::NonText { user_id, .. } => Some(*user_id),
            Incoming::Group { .. } | Incoming::Foreign { .. } | Incoming::Ignored { .. } => None,
        }
    }
}

/// Why bytes received as an update are not one.
#[derive(Debug, thiserror::Error)]
pub enum ParseUpdateError {
    #[error("not a Telegram update: {0}")]
    Json(#[from] serde_json::Error),
    /// teloxide's deserialiser panicked (teloxide-core 0.13 unwraps a missing `user`/`actor_chat`
    /// in `message_reaction`: found by fuzzing); the panic is contained here.
    #[error("not a Telegram update: the deserialiser failed")]
    Panicked,
}

/// Reads an update from the bytes Telegram posted (webhook). Never panics: a panic inside
/// teloxide's deserialiser becomes [`ParseUpdateError::Panicked`].
pub fn parse_update(bytes: &[u8]) -> Result<Update, ParseUpdateError> {
    match std::panic::catch_unwind(|| serde_json::from_slice::<Update>(bytes)) {
        Ok(parsed) => Ok(parsed?),
        Err(_) => Err(ParseUpdateError::Panicked),
    }
}

/// Classifies one update. Never panics, whatever Telegram (or a forger) sent.
pub fn classify(update: &Update) -> Incoming {
    match &update.kind {
        UpdateKind::Message(m) => from_message(m, false),
        UpdateKind::EditedMessage(m) => from_message(m, true),
        UpdateKind::CallbackQuery(q) => {
            let Some(data) = q.data.clone() else {
                return Incoming::Ignored {
                    reason: "callback without data",
                };
            };
            let (chat_id, message_id) = match &q.message {
                Some(m) => (Some(m.chat().id.0), Some(i64::from(m.id().0))),
                None => (None, None),
            };
            let user_id = q.from.id.0 as i64;
            if chat_id.is_some_and(|c| c != user_id) {
                return Incoming::Foreign {
                    query_id: Some(q.id.0.clone()),
                };
            }
            Incoming::Callback {
                user_id,
                query_id: q.id.0.clone(),
                chat_id,
                message_id,
                data,
            }
        }
        UpdateKind::Error(_) => Incoming::Ignored {
            reason: "unknown update kind",
        },
        _ => Incoming::Ignored {
            reason: "update kind not used by the bot",
        },
    }
}

fn from_message(m: &Message, edited: bool) -> Incoming {
    let Some(user) = m.from.as_ref() else {
        return Incoming::Ignored {
            reason: "message without sender",
        };
    };
    if user.is_bot {
        return Incoming::Ignored {
            reason: "message from a bot",
        };
    }
    let user_id = user.id.0 as i64;
    let chat_id = m.chat.id.0;
    if !m.chat.is_private() {
        // A person writing in a group: told, once in a while, to write privately. Channel
        // posts, service messages and edits are not answered.
        return if (m.chat.is_group() || m.chat.is_supergroup()) && !edited && m.text().is_some() {
            Incoming::Group { chat_id }
        } else {
            Incoming::Ignored {
                reason: "not a private chat",
            }
        };
    }
    if chat_id != user_id {
        return Incoming::Foreign { query_id: None };
    }
    if let MessageKind::Empty {} = m.kind {
        // A message teloxide could not read (a new or malformed kind) from a real person in
        // a private chat: answered like any non-text message, never left unanswered.
        return Incoming::NonText {
            user_id,
            chat_id,
            media: Media::Other,
        };
    }
    if let Some(text) = m.text() {
        let trimmed = text.trim();
        if !edited && let Some(cmd) = trimmed.strip_prefix('/') {
            let (head, arg) = cmd.split_once(char::is_whitespace).unwrap_or((cmd, ""));
            let name = head.split('@').next().unwrap_or_default().to_lowercase();
            if !name.is_empty() {
                return Incoming::Command {
                    user_id,
                    chat_id,
                    name,
                    arg: arg.trim().to_string(),
                };
            }
        }
        return Incoming::Text {
            user_id,
            chat_id,
            message_id: i64::from(m.id.0),
            text: text.to_string(),
            edited,
        };
    }
    let media = if m.voice().is_some() || m.audio().is_some() || m.video_note().is_some() {
        Media::Voice
    } else if m.photo().is_some() || m.video().is_some() {
        Media::Photo
    } else if m.sticker().is_some() {
        Media::Sticker
    } else if let Some(d) = m.document() {
        Media::Document {
            file_id: d.file.id.0.clone(),
            name: d.file_name.clone(),
            size: d.file.size,
        }
    } else {
        Media::Other
    };
    Incoming::NonText {
        user_id,
        chat_id,
        media,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn update(v: serde_json::Value) -> Update {
        serde_json::from_str(&v.to_string()).expect("a valid update")
    }

    fn message(from: i64, chat: serde_json::Value, text: &str) -> Update {
        update(
            serde_json::json!({"update_id": 1, "message": {"message_id": 5, "date": 1700000000,
            "chat": chat, "from": {"id": from, "is_bot": false, "first_name": "A"}, "text": text}}),
        )
    }

    #[test]
    fn a_private_conversation_is_one_person_in_their_own_chat() {
        let own = message(
            9,
            serde_json::json!({"id": 9, "type": "private", "first_name": "A"}),
            "ciao",
        );
        let got = classify(&own);
        assert!(
            matches!(
                got,
                Incoming::Text {
                    user_id: 9,
                    chat_id: 9,
                    ..
                }
            ),
            "{got:?}"
        );
        let forged = message(
            9,
            serde_json::json!({"id": 10, "type": "private", "first_name": "A"}),
            "/richieste",
        );
        assert_eq!(classify(&forged), Incoming::Foreign { query_id: None });
        let group = message(
            9,
            serde_json::json!({"id": -100, "type": "supergroup", "title": "G"}),
            "/nuova",
        );
        assert_eq!(classify(&group), Incoming::Group { chat_id: -100 });
        let press = |chat: i64| {
            update(
                serde_json::json!({"update_id": 2, "callback_query": {"id": "q1",
                "from": {"id": 9, "is_bot": false, "first_name": "A"}, "chat_instance": "c",
                "data": "acc:1", "message": {"message_id": 3, "date": 1700000000,
                "chat": {"id": chat, "type": "private", "first_name": "A"}, "text": "offerta"}}}),
            )
        };
        assert!(matches!(
            classify(&press(9)),
            Incoming::Callback { user_id: 9, .. }
        ));
        assert_eq!(
            classify(&press(10)),
            Incoming::Foreign {
                query_id: Some("q1".into())
            }
        );
    }
}
