//! Email channel: IMAP intake (IDLE, durable cursor, lossless), MIME/PEC parsing and
//! classification, SMTP replies threaded on the social worker's message.
//!
//! Code map, from pure to I/O:
//! - [`parse`]: raw bytes -> [`InboundEmail`] within [`Limits`] (PEC envelopes unwrapped);
//! - `charset`: raw 8-bit headers and bodies without a charset (declared charset, else
//!   windows-1252);
//! - [`address`]: [`EmailAddress`](address::EmailAddress), exactly one valid mailbox;
//! - [`classify`](mod@classify): new request, follow-up, cancellation, or a machine (auto-reply, bounce, read
//!   receipt, PEC receipt/anomaly, list, our own mail by our keyed mark) that is recorded and never answered;
//! - [`text`] and [`understand`]: the seams to the extractor;
//! - [`intake`]: one transaction per message (inbound row + cursor + request + outbox replies),
//!   sender policy, quarantine, `ingest`;
//! - [`replies`]: the reply texts from `prompts/<lang>/email.toml`;
//! - [`letters`]: the confirmation letter (typed values in, text out);
//! - [`imap`]: the poller (commit first, then MOVE; IDLE; backoff; UIDVALIDITY rescans);
//! - [`smtp`]: the outbox [`crate::outbox::Transport`] for email (password or XOAUTH2);
//! - [`auth_results`]: `Authentication-Results` of the trusted receiving server -> DMARC verdict
//!   (pure).
//!
//! Invariant: a message is moved out of the INBOX only after what it caused is committed.

pub mod address;
pub mod auth_results;
mod charset;
pub mod classify;
pub mod imap;
pub mod intake;
pub mod letters;
pub mod notices;
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
