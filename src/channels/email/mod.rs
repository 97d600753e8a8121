//! Email channel: IMAP intake (IDLE, durable cursor, lossless), MIME/PEC parsing and
//! classification, SMTP replies threaded on the social worker's message.
//!
//! Layers, from pure to I/O: [`parse`] (bytes -> [`parse::InboundEmail`]), [`classify`]
//! (what kind of mail), [`text`] (the text the extractor reads); then the network pieces.

pub mod classify;
pub mod imap;
pub mod intake;
pub mod parse;
pub mod replies;
pub mod smtp;
pub mod text;
pub mod understand;

pub use classify::{BounceKind, Class, Context, ThreadRef, classify};
pub use intake::{
    IngestReport, Intake, IntakeConfig, IntakeError, Outcome, ingest_paths, quarantine_list,
    quarantine_retry,
};
pub use parse::{InboundEmail, Limits, Mailbox, ParseError, parse_email};
