//! Start-up checks: getMe with a clear error instead of teloxide's dispatcher panic, the
//! command menus (setMyCommands, described in the configured language: every command for
//! private chats, and each registered person's own role's commands in their chat), and
//! webhook registration.

use super::texts::render;
use crate::config::Lang;
use crate::domain::PersonKind;
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{BotCommand, Me};
use teloxide::types::{BotCommandScope, ChatId, Recipient};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(
        "Telegram refused the bot token (getMe at {api_url}): check telegram.token in the configuration"
    )]
    BadToken { api_url: String },
    #[error("cannot reach the Telegram Bot API at {api_url} (getMe): {reason}")]
    Unreachable { api_url: String, reason: String },
    #[error("Telegram {call} failed: {reason}")]
    Call { call: &'static str, reason: String },
}

/// Checks the token with getMe. One clear error on failure; the token is never printed.
pub async fn check(bot: &Bot) -> Result<Me, StartupError> {
    let api_url = bot.api_url().to_string();
    match bot.get_me().await {
        Ok(me) => Ok(me),
        Err(RequestError::Api(teloxide::ApiError::InvalidToken)) => {
            Err(StartupError::BadToken { api_url })
        }
        Err(RequestError::Api(teloxide::ApiError::Unknown(s))) if s.contains("Unauthorized") => {
            Err(StartupError::BadToken { api_url })
        }
        Err(e) => Err(StartupError::Unreachable {
            api_url,
            reason: e.to_string().replace(bot.token(), "<token>"),
        }),
    }
}

/// Every command, in the order Telegram's menu shows them.
const ALL_COMMANDS: [&str; 15] = [
    "nuova",
    "richieste",
    "annulla",
    "modifica",
    "dettagli",
    "aiuto",
    "start",
    "disponibile",
    "pausa",
    "miei",
    "ore",
    "coda",
    "assegna",
    "revisione",
    "console",
];

/// The commands of one role (the ones the bot answers for it).
fn role_commands(kind: PersonKind) -> &'static [&'static str] {
    match kind {
        PersonKind::Operator => &[
            "nuova",
            "richieste",
            "annulla",
            "modifica",
            "dettagli",
            "console",
            "aiuto",
        ],
        PersonKind::Mediator => &["miei", "ore", "disponibile", "pausa", "dettagli", "aiuto"],
        PersonKind::Coordinator => &[
            "coda",
            "revisione",
            "assegna",
            "annulla",
            "modifica",
            "dettagli",
            "console",
            "aiuto",
        ],
    }
}

fn described(lang: Lang, names: &[&str]) -> Vec<BotCommand> {
    names
        .iter()
        .map(|c| BotCommand::new(*c, render(lang.as_str(), &format!("cmd_{c}"), &[])))
        .collect()
}

/// The commands shown in Telegram's menu of private chats, described in `lang`.
pub fn commands(lang: Lang) -> Vec<BotCommand> {
    described(lang, &ALL_COMMANDS)
}

/// The menu of every private chat (a person's own chat gets their role's menu on
/// registration, [`register_role_commands`]).
pub async fn register_commands(bot: &Bot, lang: Lang) -> Result<(), StartupError> {
    bot.set_my_commands(commands(lang))
        .scope(BotCommandScope::AllPrivateChats)
        .await
        .map(|_| ())
        .map_err(|e| StartupError::Call {
            call: "setMyCommands",
            reason: e.to_string(),
        })
}

/// The menu of one person's chat: their role's commands only.
pub async fn register_role_commands(
    bot: &Bot,
    lang: Lang,
    kind: PersonKind,
    chat_id: i64,
) -> Result<(), StartupError> {
    bot.set_my_commands(described(lang, role_commands(kind)))
        .scope(BotCommandScope::Chat {
            chat_id: Recipient::Id(ChatId(chat_id)),
        })
        .await
        .map(|_| ())
        .map_err(|e| StartupError::Call {
            call: "setMyCommands",
            reason: e.to_string(),
        })
}

/// Polling mode: make sure no webhook is set (getUpdates would be refused).
pub async fn use_polling(bot: &Bot) -> Result<(), StartupError> {
    bot.delete_webhook()
        .await
        .map(|_| ())
        .map_err(|e| StartupError::Call {
            call: "deleteWebhook",
            reason: e.to_string(),
        })
}

/// The only updates the bot asks Telegram for. Anything else (reactions, channel posts, chat
/// members...) is never sent, which also keeps teloxide's decoder away from kinds it can panic
/// on (a `message_reaction` without an actor; see tests/fuzz_regressions.rs).
pub const ALLOWED_UPDATES: [teloxide::types::AllowedUpdate; 3] = [
    teloxide::types::AllowedUpdate::Message,
    teloxide::types::AllowedUpdate::EditedMessage,
    teloxide::types::AllowedUpdate::CallbackQuery,
];

/// Webhook mode: register `url` with the secret Telegram will send on every request.
pub async fn use_webhook(bot: &Bot, url: &str, secret: &str) -> Result<(), StartupError> {
    let url = url.parse().map_err(|e| StartupError::Call {
        call: "setWebhook",
        reason: format!("bad webhook url: {e}"),
    })?;
    bot.set_webhook(url)
        .secret_token(secret.to_string())
        .allowed_updates(ALLOWED_UPDATES)
        .await
        .map(|_| ())
        .map_err(|e| StartupError::Call {
            call: "setWebhook",
            reason: e.to_string(),
        })
}
