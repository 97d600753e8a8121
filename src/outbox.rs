//! The outbox: every message to a person (Telegram or email) is a row written in the same
//! transaction as the state change that caused it; a worker delivers rows with retries.
//!
//! This file fixes the contract between the outbox worker and the channels: a channel
//! implements [`Transport`] for its payloads, the worker decides when to retry.

use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// What a channel needs to send one Telegram message (or edit one already sent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Button {
    pub text: String,
    pub data: String,
}

/// What a channel needs to send one email reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
}

/// One row's payload, tagged by channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum Payload {
    Telegram(TelegramPayload),
    Email(EmailPayload),
}

/// A successful delivery: the channel's own id for what was sent (Telegram message_id,
/// email Message-ID), kept so later edits and threading can refer to it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Delivered {
    pub external_id: Option<String>,
}

/// Why a delivery failed, and whether trying again may help.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Temporary (network, 4xx SMTP, Telegram 429 with `retry_after`): try again later.
    #[error("temporary failure: {reason}")]
    Retry {
        after: Option<Duration>,
        reason: String,
    },
    /// Will never succeed (chat blocked the bot, address rejected): dead letter at once.
    #[error("permanent failure: {0}")]
    Permanent(String),
}

pub type DeliveryFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Delivered, DeliveryError>> + Send + 'a>>;

/// A channel that can deliver payloads of its kind.
pub trait Transport: Send + Sync {
    fn deliver<'a>(&'a self, payload: &'a Payload) -> DeliveryFuture<'a>;
}
