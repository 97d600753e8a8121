//! Each registered person's Telegram menu, kept right: after a registration, a change of role
//! or language, or a removal, [`refresh`] writes to the outbox what that chat's command menu
//! should now be (their role's commands in their language, or none: the default, `/start`
//! only). The Telegram channel's transport applies it (`setMyCommands` / `deleteMyCommands`
//! with the chat's scope), so every entry point (the bot, the CLI, the console) only writes a
//! row, in its own transaction, and the menu follows even when Telegram is down for a while.

use chrono::{DateTime, Utc};

use super::Core;
use crate::config::Lang;
use crate::outbox::{Menu, Payload, TelegramPayload};
use crate::store::{Result, Tx};

/// Queues the menu of the chat of Telegram account `telegram_id` as who they are now;
/// `default`: the language of people without one (`[intake] language`).
pub async fn refresh(
    tx: &mut Tx,
    telegram_id: i64,
    default: Lang,
    now: DateTime<Utc>,
) -> Result<i64> {
    let (role, lang) = match tx.role_of_telegram(telegram_id).await? {
        Some((kind, lang)) => (Some(kind), lang.unwrap_or(default)),
        None => (None, default),
    };
    let payload = Payload::Telegram(TelegramPayload {
        chat_id: telegram_id,
        menu: Some(Menu {
            role,
            lang: lang.as_str().to_string(),
        }),
        ..Default::default()
    });
    let key = format!(
        "menu:{telegram_id}:{}:{}:{}",
        role.map(|k| k.as_str()).unwrap_or("none"),
        lang.as_str(),
        now.timestamp_micros()
    );
    tx.enqueue_with(
        &key,
        None,
        &payload,
        now,
        crate::store::Priority::Interactive,
    )
    .await
}

/// [`refresh`] with the core's default language.
pub async fn refresh_in(
    core: &Core,
    tx: &mut Tx,
    telegram_id: i64,
    now: DateTime<Utc>,
) -> Result<i64> {
    refresh(tx, telegram_id, core.settings.lang, now).await
}
