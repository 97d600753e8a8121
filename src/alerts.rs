//! Alerts to the coordinators: a Telegram message to every coordinator with a Telegram account,
//! an email to those with only an address. Written to the outbox in the caller's transaction,
//! with an idempotency key per coordinator, so an alert is sent once even if the cause is
//! processed again. This is the one place alerts are written: the dispatcher's escalations,
//! the email intake's held mail and the outbox's dead letters all come through here.

use chrono::{DateTime, Utc};

use crate::channels::telegram::html::escape as html_escape;
use crate::outbox::{EmailPayload, Payload, TelegramPayload};
use crate::store::{Result, Tx};

/// Queues `text` for every coordinator. `key` identifies the cause (e.g. `escalated:42`);
/// `message_id_domain` is the right-hand side of our Message-IDs.
pub async fn to_coordinators(
    tx: &mut Tx,
    key: &str,
    request_id: Option<i64>,
    subject: &str,
    text: &str,
    message_id_domain: &str,
    now: DateTime<Utc>,
) -> Result<usize> {
    let mut n = 0;
    for c in tx.all_coordinators().await? {
        let k = format!("{key}:coord:{}", c.id);
        let payload = if let Some(chat) = c.telegram_id {
            Payload::Telegram(TelegramPayload {
                chat_id: chat,
                text: html_escape(text),
                buttons: vec![],
                edit_message_id: None,
            })
        } else if let Some(to) = &c.email {
            Payload::Email(EmailPayload {
                to: to.clone(),
                subject: subject.to_string(),
                body: text.to_string(),
                message_id: message_id(&k, message_id_domain),
                in_reply_to: None,
                references: vec![],
            })
        } else {
            continue;
        };
        tx.enqueue(&k, request_id, &payload, now).await?;
        n += 1;
    }
    Ok(n)
}

/// One of our Message-IDs for an idempotency key: `<key.with.dots@domain>`.
pub fn message_id(key: &str, domain: &str) -> String {
    let local: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '.' })
        .collect();
    format!("<{local}@{domain}>")
}
