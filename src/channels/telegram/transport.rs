//! Delivery of outbox rows to Telegram: implements [`Transport`] for [`Payload::Telegram`].
//! Sends (or edits) an HTML message with its inline keyboard and maps Telegram's errors to
//! retry/permanent: 429 -> retry after `retry_after`; blocked, chat not found, deactivated
//! -> permanent. The sent message_id is returned as the external id. Link previews are off
//! (Telegram's servers would fetch a one-time console link). A payload with a calendar
//! invitation is sent as an `.ics` document (`sendDocument`) with the text as its caption; a
//! payload with a menu sets (or deletes) that chat's command menu instead of sending a message.

use crate::outbox::{
    Calendar, Delivered, DeliveryError, DeliveryFuture, Payload, TelegramPayload, Transport,
};
use std::time::Duration;
use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardMarkup, InputFile, LinkPreviewOptions, MessageId, ParseMode,
};
use teloxide::{ApiError, RequestError};

/// Sends Telegram payloads with a teloxide [`Bot`].
#[derive(Clone)]
pub struct TelegramTransport {
    bot: Bot,
}

impl TelegramTransport {
    pub fn new(bot: Bot) -> Self {
        TelegramTransport { bot }
    }

    /// Delivers any payload: Telegram ones are sent, others refused as permanent errors.
    pub async fn deliver_payload(&self, payload: &Payload) -> Result<Delivered, DeliveryError> {
        match payload {
            Payload::Telegram(p) => self.send(p).await,
            _ => Err(DeliveryError::Permanent(
                "not a Telegram payload".to_string(),
            )),
        }
    }

    pub async fn send(&self, p: &TelegramPayload) -> Result<Delivered, DeliveryError> {
        let chat = ChatId(p.chat_id);
        if let Some(menu) = &p.menu {
            return super::startup::set_chat_menu(&self.bot, p.chat_id, menu)
                .await
                .map(|()| Delivered { external_id: None })
                .map_err(classify);
        }
        let markup = keyboard(p);
        // Never more than Telegram takes: a longer text would be refused for ever.
        let text = super::html::fit(&p.text, super::html::MAX_MESSAGE_CHARS);
        if let (Some(c), None) = (&p.calendar, p.edit_message_id) {
            return self.send_with_calendar(chat, text, markup, c).await;
        }
        let result = match p.edit_message_id {
            Some(mid) => {
                let Ok(mid) = i32::try_from(mid) else {
                    return Err(DeliveryError::Permanent(format!("bad message id {mid}")));
                };
                let mut req = self
                    .bot
                    .edit_message_text(chat, MessageId(mid), text.clone())
                    .parse_mode(ParseMode::Html)
                    .link_preview_options(no_preview());
                if let Some(m) = markup {
                    req = req.reply_markup(m);
                }
                match req.send().await {
                    Ok(m) => Ok(m.id),
                    // Editing to the same content is a success (a retried edit).
                    Err(RequestError::Api(ApiError::MessageNotModified)) => Ok(MessageId(mid)),
                    Err(e) => Err(e),
                }
            }
            None => {
                let mut req = self
                    .bot
                    .send_message(chat, text)
                    .parse_mode(ParseMode::Html)
                    .link_preview_options(no_preview());
                if let Some(m) = markup {
                    req = req.reply_markup(m);
                }
                req.send().await.map(|m| m.id)
            }
        };
        match result {
            Ok(id) => Ok(Delivered {
                external_id: Some(id.0.to_string()),
            }),
            Err(e) => Err(classify(e)),
        }
    }
}

impl TelegramTransport {
    /// A message with its calendar invitation as an `.ics` document (`sendDocument`, a
    /// multipart upload). The text is the document's caption when it fits Telegram's 1024
    /// characters: one call, delivered or not as a whole. A longer text goes first as a message,
    /// then the document without a caption; a failure of the second call makes the outbox send
    /// both again (at-least-once, as everywhere).
    async fn send_with_calendar(
        &self,
        chat: ChatId,
        text: String,
        markup: Option<InlineKeyboardMarkup>,
        c: &Calendar,
    ) -> Result<Delivered, DeliveryError> {
        let file = || InputFile::memory(c.ics.clone().into_bytes()).file_name(c.file_name.clone());
        let delivered = |id: MessageId| Delivered {
            external_id: Some(id.0.to_string()),
        };
        if text.chars().count() <= MAX_CAPTION_CHARS {
            let mut req = self
                .bot
                .send_document(chat, file())
                .caption(text)
                .parse_mode(ParseMode::Html);
            if let Some(m) = markup {
                req = req.reply_markup(m);
            }
            return req.send().await.map(|m| delivered(m.id)).map_err(classify);
        }
        let mut req = self
            .bot
            .send_message(chat, text)
            .parse_mode(ParseMode::Html)
            .link_preview_options(no_preview());
        if let Some(m) = markup {
            req = req.reply_markup(m);
        }
        let id = req.send().await.map_err(classify)?.id;
        self.bot
            .send_document(chat, file())
            .send()
            .await
            .map_err(classify)?;
        Ok(delivered(id))
    }
}

/// The longest caption Telegram takes on a document.
const MAX_CAPTION_CHARS: usize = 1024;

/// No link previews: Telegram's servers would fetch the URLs we send (a one-time console
/// link among them), and a mediator's screen has no room for them.
fn no_preview() -> LinkPreviewOptions {
    LinkPreviewOptions {
        is_disabled: true,
        url: None,
        prefer_small_media: false,
        prefer_large_media: false,
        show_above_text: false,
    }
}

fn keyboard(p: &TelegramPayload) -> Option<InlineKeyboardMarkup> {
    if p.buttons.is_empty() {
        return None;
    }
    Some(InlineKeyboardMarkup::new(p.buttons.iter().map(|row| {
        row.iter()
            .map(|b| InlineKeyboardButton::callback(b.text.clone(), b.data.clone()))
            .collect::<Vec<_>>()
    })))
}

/// Maps a teloxide error to the outbox's retry decision.
pub fn classify(e: RequestError) -> DeliveryError {
    crate::metrics::telegram_api_error();
    match e {
        RequestError::RetryAfter(s) => DeliveryError::Retry {
            after: Some(s.duration()),
            reason: "telegram 429".into(),
        },
        RequestError::Api(api) => match api {
            ApiError::BotBlocked
            | ApiError::ChatNotFound
            | ApiError::UserDeactivated
            | ApiError::BotKicked
            | ApiError::BotKickedFromSupergroup
            | ApiError::BotKickedFromChannel
            | ApiError::CantInitiateConversation
            | ApiError::CantTalkWithBots
            | ApiError::MessageToEditNotFound
            | ApiError::MessageTextIsEmpty
            | ApiError::MessageIsTooLong
            | ApiError::ButtonDataInvalid
            | ApiError::CantParseEntities(_)
            | ApiError::InvalidToken => DeliveryError::Permanent(api.to_string()),
            ApiError::Unknown(s) if s.starts_with("Bad Request") || s.starts_with("Forbidden") => {
                DeliveryError::Permanent(s)
            }
            other => DeliveryError::Retry {
                after: None,
                reason: other.to_string(),
            },
        },
        RequestError::MigrateToChatId(c) => {
            DeliveryError::Permanent(format!("chat migrated to {}", c.0))
        }
        RequestError::Network(e) => DeliveryError::Retry {
            after: Some(Duration::from_secs(1)),
            reason: format!("network: {e}"),
        },
        other => DeliveryError::Retry {
            after: None,
            reason: other.to_string(),
        },
    }
}

impl Transport for TelegramTransport {
    fn deliver<'a>(&'a self, payload: &'a Payload) -> DeliveryFuture<'a> {
        Box::pin(self.deliver_payload(payload))
    }
}
