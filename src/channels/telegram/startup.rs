//! Start-up checks: getMe with a clear error instead of teloxide's dispatcher panic, the
//! command menus (setMyCommands: only `/start` for private chats, described in the configured
//! language, and each registered person's own role's commands in their chat, in their
//! language, kept right through the outbox by [`set_chat_menu`]), and webhook registration.

use super::texts::render;
use crate::config::Lang;
use crate::domain::PersonKind;
use crate::outbox::Menu;
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

/// The menu of a private chat with nobody registered in it: a stranger can only start.
const STRANGER_COMMANDS: [&str; 1] = ["start"];

/// The commands of one role (the ones the bot answers for it), in the order Telegram's menu
/// shows them.
pub fn role_commands(kind: PersonKind) -> &'static [&'static str] {
    match kind {
        PersonKind::Operator => &[
            "nuova",
            "richieste",
            "annulla",
            "modifica",
            "dettagli",
            "console",
            "lingua",
            "aiuto",
        ],
        PersonKind::Mediator => &[
            "miei",
            "nonposso",
            "ore",
            "disponibile",
            "pausa",
            "dettagli",
            "lingua",
            "aiuto",
        ],
        PersonKind::Coordinator => &[
            "coda",
            "revisione",
            "assegna",
            "annulla",
            "modifica",
            "dettagli",
            "console",
            "lingua",
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

/// The commands shown in Telegram's menu of private chats nobody is registered in, described
/// in `lang`.
pub fn commands(lang: Lang) -> Vec<BotCommand> {
    described(lang, &STRANGER_COMMANDS)
}

/// The menu of every private chat (a person's own chat gets their role's menu on
/// registration and whenever their role or language changes, [`set_chat_menu`]).
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

/// The menu of one person's chat as `menu` says: their role's commands in their language, or
/// (no role: they were removed) the chat's own menu deleted, so the default shows.
pub async fn set_chat_menu(bot: &Bot, chat_id: i64, menu: &Menu) -> Result<(), RequestError> {
    let scope = BotCommandScope::Chat {
        chat_id: Recipient::Id(ChatId(chat_id)),
    };
    match menu.role {
        Some(kind) => {
            let lang = Lang::from_code(&menu.lang);
            bot.set_my_commands(described(lang, role_commands(kind)))
                .scope(scope)
                .await?;
        }
        None => {
            bot.delete_my_commands().scope(scope).await?;
        }
    }
    Ok(())
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
