//! connecting: turns requests for cultural mediators into assigned, confirmed appointments.
//!
//! See ARCHITECTURE.md for the bird's-eye view and the code map.

pub mod app;
pub mod authz;
pub mod backup;
pub mod channels;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod dispatch;
pub mod domain;
pub mod extract;
pub mod http;
pub mod ics;
pub mod intake;
pub mod leader;
pub mod metrics;
pub mod oauth2;
pub mod outbox;
pub mod prompts;
pub mod renderers;
pub mod settings;
pub mod shutdown;
pub mod store;
pub mod vocab;
pub mod web;
