//! Channels: the ways bytes reach connecting and leave it (email, Telegram).
pub mod email;
pub mod telegram;
