//! The Telegram bot: social workers request mediators, mediators accept offers, coordinators
//! steer — all from their phones.
//!
//! Where things happen:
//! - [`runtime`] starts it: getMe check (one clear error), setMyCommands, then long polling
//!   ([`poller`]) or a webhook router ([`webhook`]); replies go through the shared outbox worker;
//! - [`bot`] is the brain: one update in, one transaction out (dedupe by update_id, who is
//!   writing, the dialogue, replies queued in the outbox). The intake confirms an update to
//!   Telegram only after that transaction committed ([`sink::UpdateSink`]). By role:
//!   `session` (who is writing, registration, strangers), `operator` (the dialogue that writes
//!   a request), `mediator` (offers, outcomes), `coordinator` (queue, review, manual
//!   assignment), `common` (commands several roles share), `render` (words and buttons);
//! - [`updates`] turns a teloxide `Update` into what the bot acts on; [`draft`] is the request
//!   being written in the chat; [`callback`] the compact callback_data (64 bytes at most);
//! - [`transport`] sends outbox rows (`Payload::Telegram`) and maps errors to retry/permanent;
//!   [`messages`] builds the payloads other modules queue (offers, outcome question);
//! - [`html`] escapes user text, [`texts`] renders prompts/*/telegram.toml.
//!
//! Invariants: nothing is confirmed to Telegram before it is committed; every button press is
//! authorised again on arrival; offers carry only language, date, time, duration, comune, type
//! and modality; logs carry ids and codes, never message text or names.

/// Runs a use case of the core in its own transaction for one press or command: `$body`
/// (using `$tx: &mut Tx`) gives `Result<T, AppError>`; committed when it succeeds, rolled back
/// when it refuses; a store error (other than something not found) returns from the caller as a
/// `SinkError`.
macro_rules! core_tx {
    ($bot:expr, |$tx:ident| $body:expr) => {{
        let mut tx = $bot
            .store
            .begin()
            .await
            .map_err(crate::channels::telegram::bot::store_err)?;
        let r = {
            let $tx = &mut tx;
            $body
        };
        match &r {
            Ok(_) => tx
                .commit()
                .await
                .map_err(crate::channels::telegram::bot::store_err)?,
            Err(_) => tx
                .rollback()
                .await
                .map_err(crate::channels::telegram::bot::store_err)?,
        }
        match r {
            Err(crate::app::AppError::Store(e))
                if !matches!(e, crate::store::StoreError::NotFound(_)) =>
            {
                return Err(crate::channels::telegram::bot::store_err(e));
            }
            r => r,
        }
    }};
}

pub mod bot;
pub mod callback;
mod common;
mod coordinator;
pub mod draft;
mod evaluation;
mod hours;
pub mod html;
mod mediator;
mod meeting;
pub mod messages;
mod operator;
pub mod poller;
mod render;
pub mod runtime;
mod session;
pub mod sink;
pub mod startup;
pub mod texts;
pub mod transport;
pub mod updates;
pub mod webhook;

pub use poller::PollConfig;
pub use sink::{SinkError, UpdateSink};
pub use transport::TelegramTransport;
