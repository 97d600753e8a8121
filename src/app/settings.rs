//! The core's tunables (the `[dispatch]` config section, with the language of what the core
//! writes and the email details its notices need), shared by every use case through
//! [`super::Core`].

use chrono_tz::Tz;

use crate::config::Lang;

/// Tunables (the `dispatch` config section).
#[derive(Debug, Clone)]
pub struct DispatchSettings {
    pub wave_size: usize,
    pub offer_timeout_minutes: i64,
    pub urgent_offer_timeout_minutes: i64,
    pub travel_buffer_minutes: u32,
    pub tz: Tz,
    /// Less than this many hours before the start, a cancellation is late.
    pub late_cancellation_hours: i64,
    pub reminder_hours_before: i64,
    /// `[dispatch] unfilled_notice_hours`: this many hours before the start, the requester of
    /// a request with no mediator confirmed is told once (0: never).
    pub unfilled_notice_hours: i64,
    /// Domain part of the Message-IDs we make for emails.
    pub message_id_domain: String,
    /// The cooperative's signature under the confirmation letter (`[smtp] signature`).
    pub email_signature: Option<String>,
    /// The language of what the core writes (`[intake] language`).
    pub lang: Lang,
    /// The cooperative's mailbox (`[smtp] from`), the `ORGANIZER` of the calendar invitations
    /// the notices carry; `None`: no invitations.
    pub organizer: Option<crate::ics::Party>,
    /// Days the requester has to confirm a mediator's hours (`account.confirm_within_days`);
    /// then they count, flagged unverified.
    pub confirm_within_days: i64,
    /// The evaluation's criteria, in the order they are asked (`[evaluation] criteria`).
    pub criteria: Vec<String>,
}

impl Default for DispatchSettings {
    fn default() -> Self {
        Self {
            wave_size: 3,
            offer_timeout_minutes: 60,
            urgent_offer_timeout_minutes: 15,
            travel_buffer_minutes: 30,
            tz: chrono_tz::Europe::Rome,
            late_cancellation_hours: 24,
            reminder_hours_before: 2,
            unfilled_notice_hours: 24,
            message_id_domain: "connecting.local".into(),
            email_signature: None,
            lang: Lang::It,
            organizer: None,
            confirm_within_days: 7,
            criteria: crate::config::DEFAULT_CRITERIA
                .iter()
                .map(|c| c.to_string())
                .collect(),
        }
    }
}
