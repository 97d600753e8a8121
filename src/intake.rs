//! Channel-agnostic intake: what the extractor understood ([`RequestDraft`]) becomes the fields
//! of a stored request, and a stored request becomes a draft again so a follow-up (an email
//! reply, an answer in the bot) can be merged into it. Email and Telegram both go through here,
//! so a request reads the same whichever way it arrived.

use chrono::{Duration, NaiveDateTime};
use chrono_tz::Tz;

use crate::domain::appointment::local_to_utc;
use crate::domain::{InterventionType, Modality, RequestStatus};
use crate::extract::{self, Context, LanguageRef, RequestDraft, Requester};
use crate::store::{NewRequest, NewSeries, Request};

/// Default length of an appointment when the request gives neither an end nor a duration.
pub const DEFAULT_DURATION_MINUTES: u32 = 60;

/// The state a new request starts in: complete ones are queued for dispatch.
pub fn initial_status(d: &RequestDraft) -> RequestStatus {
    if d.missing.is_empty() {
        RequestStatus::Queued
    } else {
        RequestStatus::NeedsInfo
    }
}

/// The duration to plan for: the one given, else end - start, else the default.
pub fn planned_minutes(d: &RequestDraft) -> u32 {
    if let Some(m) = d.duration_minutes.filter(|m| *m > 0) {
        return m;
    }
    if let (Some(s), Some(e)) = (d.start, d.end)
        && e > s
    {
        return u32::try_from((e - s).num_minutes()).unwrap_or(DEFAULT_DURATION_MINUTES);
    }
    DEFAULT_DURATION_MINUTES
}

/// The request fields of a draft (status and channel are the caller's). Remote jobs without a
/// comune are fine; in-person ones keep the comune and address as found.
pub fn fields_from_draft(d: &RequestDraft, tz: Tz) -> NewRequest {
    let minutes = planned_minutes(d);
    let starts_at = match (d.date, d.start) {
        (Some(date), Some(start))
            if d.intervention != Some(InterventionType::TraduzioneScritta) =>
        {
            Some(local_to_utc(NaiveDateTime::new(date, start), tz))
        }
        _ => None,
    };
    let mut notes: Vec<String> = Vec::new();
    if let Some(o) = &d.office {
        notes.push(o.clone());
    }
    if let Some(c) = &d.continuity {
        notes.push(format!(
            "continuità: {}",
            serde_json::to_string(c).unwrap_or_default()
        ));
    }
    NewRequest {
        status: Some(initial_status(d)),
        requester_name: d.requester.name.clone(),
        requester_email: d.requester.email.clone(),
        requester_phone: d.requester.phone.clone(),
        language: d.language.as_ref().map(|l| l.code.clone()),
        intervention: d.intervention,
        modality: d.modality,
        date: d.date,
        start_time: d.start,
        duration_minutes: (d.date.is_some() || d.start.is_some()).then_some(i64::from(minutes)),
        starts_at,
        ends_at: starts_at.map(|s| s + Duration::minutes(i64::from(minutes))),
        deadline: d.deadline,
        comune: d.comune.as_ref().map(|c| c.name.clone()),
        comune_istat: d.comune.as_ref().map(|c| c.istat.clone()),
        address: d.address.clone(),
        urgent: d.urgent,
        mediator_gender: d.mediator_gender,
        case_ref: d.case_ref.clone(),
        notes: (!notes.is_empty()).then(|| notes.join("; ")),
        missing: d.missing.clone(),
        draft: serde_json::to_value(d).ok(),
        series: series_of(d, minutes, tz),
        ..NewRequest::default()
    }
}

/// The occurrences of a draft's series, from its first meeting (`date`, `start`), each
/// `minutes` long; `None` for a single appointment or a series whose end is not known yet.
pub fn series_of(d: &RequestDraft, minutes: u32, tz: Tz) -> Option<NewSeries> {
    let rule = d.recurrence?;
    let occurrences = rule.instants(d.date?, d.start?, i64::from(minutes), tz);
    Some(NewSeries {
        rule: rule.rrule(tz)?,
        occurrences,
    })
    .filter(|s| !s.occurrences.is_empty())
}

/// A stored request as a draft, so a follow-up can be merged with [`extract::merge`]: the draft
/// stored with the request (warning notes, office, approximate time included), with the row's
/// fields on top, since the row is what coordinators and follow-ups have changed since.
pub fn draft_from_request(r: &Request) -> RequestDraft {
    let rebuilt = draft_from_columns(r);
    match r
        .draft
        .as_ref()
        .and_then(|d| serde_json::from_value::<RequestDraft>(d.clone()).ok())
    {
        Some(stored) => RequestDraft {
            nationality: stored.nationality,
            time_approximate: stored.time_approximate && rebuilt.start == stored.start,
            office: stored.office,
            continuity: stored.continuity,
            recurrence: stored.recurrence,
            notes: stored.notes,
            warnings: stored.warnings,
            languages: if stored.languages.is_empty() {
                rebuilt.languages.clone()
            } else {
                stored.languages
            },
            end: rebuilt.end.or(stored.end),
            ..rebuilt
        },
        None => rebuilt,
    }
}

fn draft_from_columns(r: &Request) -> RequestDraft {
    let language = r.language.as_ref().map(|code| LanguageRef {
        name: extract::languages::by_code(code.as_str())
            .map(|l| l.name.clone())
            .unwrap_or_else(|| code.to_string()),
        code: code.clone(),
    });
    let end = match (r.start_time, r.duration_minutes) {
        (Some(s), Some(m)) => Some(s + Duration::minutes(m)),
        _ => None,
    };
    RequestDraft {
        languages: language.iter().cloned().collect(),
        language,
        date: r.date,
        start: r.start_time,
        end,
        duration_minutes: r.duration_minutes.and_then(|m| u32::try_from(m).ok()),
        deadline: r.deadline,
        modality: r.modality,
        intervention: r.intervention,
        comune: r
            .comune
            .as_deref()
            .and_then(extract::places::comune_by_name)
            .cloned(),
        address: r.address.clone(),
        urgent: r.urgent,
        mediator_gender: r.mediator_gender,
        case_ref: r.case_ref.clone(),
        requester: Requester {
            name: r.requester_name.clone(),
            email: r.requester_email.clone(),
            phone: r.requester_phone.clone(),
        },
        missing: r.missing.clone(),
        ..RequestDraft::default()
    }
}

/// Merges a follow-up text into a stored request: returns the merged draft (with `missing`
/// recomputed) and the fields to store.
pub fn merge_follow_up(r: &Request, text: &str, ctx: &Context) -> (RequestDraft, NewRequest) {
    let base = draft_from_request(r);
    let update = extract::extract(text, ctx);
    let merged = if extract::says_correction(text) {
        extract::correct(&base, &update, ctx)
    } else {
        extract::merge(&base, &update, ctx)
    };
    let mut fields = fields_from_draft(&merged, ctx.tz);
    // Who the requester is was settled when the request was made.
    fields.requester_name = r.requester_name.clone().or(fields.requester_name);
    fields.requester_email = r.requester_email.clone().or(fields.requester_email);
    fields.requester_phone = r.requester_phone.clone().or(fields.requester_phone);
    fields.ente = r.ente.clone();
    fields.ambito = r.ambito;
    fields.source_message_id = r.source_message_id.clone();
    fields.subject = r.subject.clone();
    (merged, fields)
}

/// The date, start time and duration a text states (a request to move an appointment:
/// "spostiamo a giovedì alle 11"), read by the one extractor; each `None` when not stated.
/// The duration comes from a stated duration, else from a stated end. What follows the wish
/// to move is read first ("la famiglia non può giovedì: spostiamo a venerdì alle 11").
pub fn time_in(
    text: &str,
    ctx: &Context,
) -> (
    Option<chrono::NaiveDate>,
    Option<chrono::NaiveTime>,
    Option<i64>,
) {
    // After the wish to move ("spostiamo a ..."), else the whole text.
    let after = extract::move_cue_end(text)
        .and_then(|i| text.get(i..))
        .map(|rest| extract::extract(rest, ctx))
        .filter(|d| d.date.is_some() || d.start.is_some());
    let d = after.unwrap_or_else(|| extract::extract(text, ctx));
    let minutes = d
        .duration_minutes
        .map(i64::from)
        .or_else(|| match (d.start, d.end) {
            (Some(s), Some(e)) if e > s => Some((e - s).num_minutes()),
            _ => None,
        });
    (d.date, d.start, minutes)
}

/// Whether a stored request is remote (phone/video) — offers then ignore the Ambito.
pub fn is_remote(r: &Request) -> bool {
    r.modality.is_some_and(Modality::is_remote)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Channel;
    use chrono::{TimeZone, Utc};

    fn ctx() -> Context {
        Context::new(
            Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap(),
            Channel::Email,
        )
    }

    #[test]
    fn a_complete_draft_becomes_a_queued_request_with_its_instant() {
        let d = extract::extract(
            "Serve una mediatrice di lingua araba per un colloquio il 12/03/2027 dalle 14.30 alle 16 presso il servizio di Dalmine",
            &ctx(),
        );
        assert!(d.missing.is_empty(), "{:?}", d.missing);
        let f = fields_from_draft(&d, chrono_tz::Europe::Rome);
        assert_eq!(f.status, Some(RequestStatus::Queued));
        assert_eq!(f.duration_minutes, Some(90));
        assert_eq!(
            f.starts_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2027-03-12T13:30:00+00:00")
        );
        assert_eq!(f.comune.as_deref(), Some("Dalmine"));
        assert_eq!(f.language.map(|l| l.to_string()).as_deref(), Some("ar"));
    }

    #[test]
    fn an_incomplete_draft_needs_info_and_a_follow_up_completes_it() {
        let d = extract::extract(
            "Ci serve un mediatore di lingua urdu per un colloquio a Seriate",
            &ctx(),
        );
        let f = fields_from_draft(&d, chrono_tz::Europe::Rome);
        assert_eq!(f.status, Some(RequestStatus::NeedsInfo));
        assert!(f.missing.contains(&"date".to_string()), "{:?}", f.missing);
        let stored = Request {
            id: 1,
            code: crate::domain::RequestCode::new(2027, 1),
            status: RequestStatus::NeedsInfo,
            channel: Channel::Email,
            operator_id: None,
            requester_name: Some("Anna".into()),
            requester_email: Some("a@b.it".into()),
            requester_phone: None,
            requester_chat_id: None,
            ente: None,
            ambito: None,
            language: f.language.clone(),
            intervention: f.intervention,
            modality: f.modality,
            date: None,
            start_time: None,
            duration_minutes: None,
            starts_at: None,
            ends_at: None,
            deadline: None,
            comune: f.comune.clone(),
            comune_istat: f.comune_istat.clone(),
            address: None,
            urgent: false,
            mediator_gender: None,
            case_ref: None,
            notes: None,
            missing: f.missing.clone(),
            draft: None,
            assigned_mediator_id: None,
            late_cancellation: false,
            late_change: false,
            unfilled_notice_at: None,
            source_message_id: None,
            subject: None,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            queued_at: None,
            assigned_at: None,
            confirmed_at: None,
            closed_at: None,
            requester_language: None,
            series: None,
        };
        let (merged, fields) = merge_follow_up(&stored, "Va bene lunedì 15 marzo alle 10", &ctx());
        assert!(merged.missing.is_empty(), "{:?}", merged.missing);
        assert_eq!(fields.status, Some(RequestStatus::Queued));
        assert_eq!(
            fields.language.map(|l| l.to_string()).as_deref(),
            Some("ur")
        );
        assert_eq!(fields.comune.as_deref(), Some("Seriate"));
        assert_eq!(fields.requester_email.as_deref(), Some("a@b.it"));
        assert_eq!(
            fields.date.map(|d| d.to_string()).as_deref(),
            Some("2027-03-15")
        );
    }

    #[test]
    fn a_new_time_is_read_after_the_wish_to_move() {
        let c = ctx();
        let (d, t, _) = time_in(
            "Buongiorno, la famiglia non può giovedì: spostiamo a venerdì 12 marzo alle 11. Grazie",
            &c,
        );
        assert_eq!(d, chrono::NaiveDate::from_ymd_opt(2027, 3, 12));
        assert_eq!(t, chrono::NaiveTime::from_hms_opt(11, 0, 0));
        let (d, t, m) = time_in("Possiamo anticipare dalle 9 alle 10:30?", &c);
        assert_eq!(
            (d, t, m),
            (None, chrono::NaiveTime::from_hms_opt(9, 0, 0), Some(90))
        );
        assert!(extract::says_reschedule("spostiamo a giovedì alle 11"));
        assert!(!extract::says_reschedule(
            "Grazie, ci vediamo giovedì alle 10."
        ));
    }
}
