//! The seam between email intake and the request extractor (`crate::extract`) with the
//! channel-agnostic draft <-> request mapping of `crate::intake`.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::domain::{Channel, RequestStatus};
use crate::extract::{self, Context, Note, SenderInfo};
use crate::store::{NewRequest, Request};

/// What the extractor needs besides the text.
#[derive(Debug, Clone)]
pub struct Settings {
    pub tz: Tz,
    pub min_notice_hours: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            tz: chrono_tz::Europe::Rome,
            min_notice_hours: 48,
        }
    }
}

/// What was understood from one text: the request fields, which required ones are missing,
/// and the extractor's notes (warnings to show the requester).
#[derive(Debug, Clone, Default)]
pub struct Understood {
    pub fields: NewRequest,
    pub missing: Vec<String>,
    pub notes: Vec<Note>,
}

impl Understood {
    /// Queued when complete, else waiting for the missing information.
    pub fn status(&self) -> RequestStatus {
        if self.missing.is_empty() {
            RequestStatus::Queued
        } else {
            RequestStatus::NeedsInfo
        }
    }
}

fn context(now: DateTime<Utc>, s: &Settings, sender: SenderInfo) -> Context {
    let mut ctx = Context::new(now, Channel::Email);
    ctx.tz = s.tz;
    ctx.min_notice_hours = s.min_notice_hours;
    ctx.sender = sender;
    ctx
}

/// Reads a new request; `sent` is the mail's Date (its relative dates count from then).
pub fn understand(
    text: &str,
    now: DateTime<Utc>,
    sent: Option<DateTime<Utc>>,
    s: &Settings,
    sender: SenderInfo,
) -> Understood {
    let mut ctx = context(now, s, sender);
    ctx.sent = sent;
    let draft = extract::extract(text, &ctx);
    let fields = crate::intake::fields_from_draft(&draft, s.tz);
    Understood {
        fields,
        missing: draft.missing,
        notes: draft.notes,
    }
}

/// Merges a follow-up's text into an existing request.
pub fn merge(existing: &Request, text: &str, now: DateTime<Utc>, s: &Settings) -> Understood {
    let ctx = context(now, s, SenderInfo::default());
    let (draft, mut fields) = crate::intake::merge_follow_up(existing, text, &ctx);
    fields.operator_id = existing.operator_id;
    Understood {
        fields,
        missing: draft.missing,
        notes: draft.notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveTime, TimeZone};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap()
    }

    #[test]
    fn reads_a_typical_request_and_names_what_is_missing() {
        let u = understand(
            "Serve una mediatrice di lingua araba per un colloquio il 12/03 alle 14.30 presso la sede di Dalmine, durata 2 ore.",
            now(),
            None,
            &Settings::default(),
            SenderInfo::default(),
        );
        assert_eq!(u.fields.language.as_ref().map(|l| l.as_str()), Some("ar"));
        assert_eq!(u.fields.date, NaiveDate::from_ymd_opt(2027, 3, 12));
        assert_eq!(u.fields.start_time, NaiveTime::from_hms_opt(14, 30, 0));
        assert!(u.missing.is_empty(), "{:?}", u.missing);
        let u = understand(
            "Serve un mediatore urdu il 5 aprile per un colloquio a Bergamo",
            now(),
            None,
            &Settings::default(),
            SenderInfo::default(),
        );
        assert_eq!(u.missing, vec!["start"]);
    }
}
