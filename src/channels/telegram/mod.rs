//! The Telegram bot: social workers request mediators, mediators accept offers, coordinators
//! steer — all from their phones.
//!
//! - [`updates`] turns a teloxide `Update` into what the bot acts on;
//! - [`poller`] (long polling) and [`webhook`] (axum route) receive updates and confirm them
//!   to Telegram only after the [`sink::UpdateSink`] committed them to the store;
//! - [`transport`] delivers outbox rows (`Payload::Telegram`) with retry/permanent errors;
//! - [`callback`] is the compact callback_data (64 bytes at most), [`html`] the escaping of
//!   user text, [`texts`] the sentences (prompts/*/telegram.toml), [`startup`] the getMe check.

pub mod bot;
pub mod callback;
pub mod delivery;
pub mod draft;
pub mod html;
pub mod poller;
pub mod runtime;
pub mod sink;
pub mod startup;
pub mod texts;
pub mod transport;
pub mod updates;
pub mod webhook;

pub use poller::PollConfig;
pub use sink::{SinkError, UpdateSink};
pub use transport::TelegramTransport;
