//! Every change the console makes to a request, in one file: each handler checks the session
//! and its CSRF token, asks [`crate::authz::authorize`], and calls the core's entry point
//! (manual assignment: `Dispatcher::assign`; cancellation: `Dispatcher::cancel_as`, over
//! `app::cancel`; a correction: the intake's merge, `extract::merge` + `intake::fields_from_draft`,
//! then the core's `app::correct::fields` (a request being completed is queued once nothing is
//! missing), kept in the corrections table, and `app::change` when an assigned appointment's
//! place changed, `app::reschedule` when its date or time did; held mail: `app::review`, as the bot and the CLI;
//! an operator's new request: `extract::extract` read back as a summary to confirm, then
//! `intake::fields_from_draft`, `intake::initial_status` and the core's `app::create::from_draft`,
//! as the bot's [Conferma] does; a person's language, with their Telegram menu: `app::menu`;
//! the hours: `app::account`, the requester's confirmation or other figure and a coordinator's
//! figure to bill). The console never sets a status itself.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, NaiveTime};

use super::{Refused, Session, WebState, posted};
use crate::authz::{Action, RequestFacts, authorize};
use crate::dispatch::engine::DispatchError;
use crate::domain::{InterventionType, LanguageCode, Modality, RequestCode};
use crate::extract::{Context, LanguageRef, RequestDraft};
use crate::store::{CorrectionSource, NewRequest, Request, StoreError};

/// The request of `code` when the session may do `action` on it; [`Refused::NotFound`]
/// otherwise (another operator's request looks like one that does not exist).
pub(super) async fn request_for(
    st: &WebState,
    s: &Session,
    code: &str,
    action: Action,
) -> Result<Request, Refused> {
    let Some(code) = RequestCode::find_in(code) else {
        return Err(Refused::NotFound(s.lang));
    };
    let r = match st.store.request(code).await {
        Ok(r) => r,
        Err(StoreError::NotFound(_)) => return Err(Refused::NotFound(s.lang)),
        Err(e) => return Err(e.into()),
    };
    if authorize(&s.viewer.actor(), action, &RequestFacts::of(&r)).is_err() {
        return Err(Refused::NotFound(s.lang));
    }
    Ok(r)
}

/// Back to the request page, with the outcome to show (a key of `prompts/*/web.toml`).
fn back(code: RequestCode, outcome: &str) -> Response {
    Redirect::to(&format!("/requests/{code}?outcome={outcome}")).into_response()
}

fn outcome_of(e: &DispatchError) -> &'static str {
    match e {
        DispatchError::WrongState { .. } => "wrong_state",
        DispatchError::MediatorInactive(_) => "mediator_inactive",
        DispatchError::Denied(_) => "denied",
        DispatchError::Store(StoreError::NotFound(_)) => "not_found",
        _ => "failed",
    }
}

/// `POST /requests/CODE/assign` (`mediator_id`, `csrf`): manual assignment by a coordinator;
/// the mediator gets the details on Telegram, the requester the confirmation.
pub(super) async fn assign(
    State(st): State<Arc<WebState>>,
    Path(code): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    let s = posted(&st, &headers, &form).await?;
    let r = request_for(&st, &s, &code, Action::Manage).await?;
    let Some(mediator_id) = form
        .get("mediator_id")
        .and_then(|m| m.trim().parse::<i64>().ok())
    else {
        return Ok(back(r.code, "choose_mediator"));
    };
    let actor = s.viewer.actor().audit_name();
    match st.dispatcher.assign(r.code, mediator_id, &actor).await {
        Ok(_) => {
            tracing::info!(request = %r.code, mediator = mediator_id, "console: assigned by hand");
            Ok(back(r.code, "assigned"))
        }
        Err(e) => {
            tracing::info!(request = %r.code, error = %e, "console: assignment refused");
            Ok(back(r.code, outcome_of(&e)))
        }
    }
}

/// `POST /requests/CODE/cancel` (`csrf`): the requester or a coordinator cancels.
pub(super) async fn cancel(
    State(st): State<Arc<WebState>>,
    Path(code): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    let s = posted(&st, &headers, &form).await?;
    let r = request_for(&st, &s, &code, Action::Cancel).await?;
    match st.dispatcher.cancel_as(r.code, &s.viewer.actor()).await {
        Ok(_) => {
            tracing::info!(request = %r.code, "console: cancelled");
            Ok(back(r.code, "cancelled"))
        }
        Err(e) => Ok(back(r.code, outcome_of(&e))),
    }
}

/// `POST /requests/CODE/meetings` (`number`, `scope` = `one` | `following`, `action` =
/// `cancel` | `move` with `date` YYYY-MM-DD and `time` HH:MM, `csrf`): a meeting of a series
/// (and, with `following`, every later one) cancelled or moved through `app::series`.
pub(super) async fn meeting(
    State(st): State<Arc<WebState>>,
    Path(code): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    use crate::app::series::{Change, Scope};
    let s = posted(&st, &headers, &form).await?;
    let r = request_for(&st, &s, &code, Action::SeeDetails).await?;
    let Some(number) = form
        .get("number")
        .and_then(|n| n.trim().parse::<u32>().ok())
    else {
        return Ok(back(r.code, "bad_meeting"));
    };
    let scope = match form.get("scope").map(String::as_str) {
        Some("following") => Scope::Following,
        _ => Scope::One,
    };
    if form.get("action").map(String::as_str) == Some("release") {
        // its mediator cannot come: offered on its own (a coordinator's decision)
        return Ok(
            match st
                .dispatcher
                .release_meeting_as(r.code, &s.viewer.actor(), number)
                .await
            {
                Ok(_) => back(r.code, "meeting_released"),
                Err(DispatchError::Store(StoreError::Conflict(_))) => back(r.code, "bad_meeting"),
                Err(e) => back(r.code, outcome_of(&e)),
            },
        );
    }
    let what = match form.get("action").map(String::as_str) {
        Some("cancel") => Change::Cancel,
        Some("move") => {
            let date = form
                .get("date")
                .and_then(|d| chrono::NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok());
            let Some(date) = date else {
                return Ok(back(r.code, "bad_date"));
            };
            let time = form
                .get("time")
                .and_then(|t| chrono::NaiveTime::parse_from_str(t.trim(), "%H:%M").ok());
            let Some(start) = time else {
                return Ok(back(r.code, "bad_time"));
            };
            Change::Move { date, start }
        }
        _ => return Ok(back(r.code, "failed")),
    };
    // The core asks the table (once): cancelling needs `Cancel`, moving `Reschedule`.
    match st
        .dispatcher
        .change_series_as(r.code, &s.viewer.actor(), number, scope, what)
        .await
    {
        Ok(c) => {
            tracing::info!(request = %r.code, meetings = c.seqs.len(), "console: series changed");
            Ok(back(
                r.code,
                if what == Change::Cancel {
                    "meeting_cancelled"
                } else {
                    "meeting_moved"
                },
            ))
        }
        Err(DispatchError::Store(StoreError::Conflict(_))) => Ok(back(r.code, "bad_meeting")),
        Err(e) => Ok(back(r.code, outcome_of(&e))),
    }
}

/// `POST /requests/CODE/meetings/outcome` (`number`, `outcome` = `done` | `not_done`,
/// `minutes` optional with `done`, `no_show` = `family` | `mediator` optional with `not_done`,
/// `csrf`): what happened at one meeting of a series, recorded by a coordinator (the core asks
/// the table).
pub(super) async fn meeting_outcome(
    State(st): State<Arc<WebState>>,
    Path(code): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    use crate::app::meetings::{MeetingReport, Recorded};
    let s = posted(&st, &headers, &form).await?;
    let r = request_for(&st, &s, &code, Action::SeeDetails).await?;
    let Some(number) = form
        .get("number")
        .and_then(|n| n.trim().parse::<u32>().ok())
    else {
        return Ok(back(r.code, "bad_meeting"));
    };
    let done = match form.get("outcome").map(|o| o.trim()) {
        Some("done") => true,
        Some("not_done") => false,
        _ => return Ok(back(r.code, "failed")),
    };
    let minutes = match form
        .get("minutes")
        .map(|m| m.trim())
        .filter(|m| !m.is_empty())
    {
        None => None,
        Some(m) => match m.parse::<i64>() {
            Ok(m) if done => Some(m),
            _ => return Ok(back(r.code, "bad_hours")),
        },
    };
    let no_show = match form
        .get("no_show")
        .map(|w| w.trim())
        .filter(|w| !w.is_empty())
    {
        None => None,
        Some(w) => match w.parse::<crate::domain::NoShow>() {
            Ok(w) if !done => Some(w),
            _ => return Ok(back(r.code, "failed")),
        },
    };
    let report = MeetingReport {
        done,
        worked_minutes: minutes,
        no_show,
    };
    match st
        .dispatcher
        .record_meeting_as(r.code, &s.viewer.actor(), number, report)
        .await
    {
        Ok(Recorded::Yes { series_done, .. }) => {
            tracing::info!(request = %r.code, number, series_done, "console: meeting outcome");
            Ok(back(
                r.code,
                if series_done {
                    "meeting_series_done"
                } else {
                    "meeting_recorded"
                },
            ))
        }
        Ok(Recorded::Already) => Ok(back(r.code, "bad_meeting")),
        Err(DispatchError::Store(StoreError::Conflict(_))) => Ok(back(r.code, "bad_meeting")),
        Err(e) => Ok(back(r.code, outcome_of(&e))),
    }
}

/// `POST /requests/CODE/hours` (`assignment_id`, `decision` = `confirm` | `other` | `settle`,
/// `minutes` for the last two, `csrf`): the requester confirms the mediator's hours or gives
/// another figure; a coordinator settles a dispute with the minutes to bill.
pub(super) async fn hours(
    State(st): State<Arc<WebState>>,
    Path(code): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    use crate::app::account::{Answered, HoursAnswer};
    let s = posted(&st, &headers, &form).await?;
    let r = request_for(&st, &s, &code, Action::ConfirmHours).await?;
    let checks = st.store.hours_checks(r.id).await?;
    let Some(check) = form
        .get("assignment_id")
        .and_then(|a| a.trim().parse::<i64>().ok())
        .and_then(|a| checks.iter().find(|c| c.assignment_id == a))
    else {
        return Ok(back(r.code, "not_found"));
    };
    let minutes = form.get("minutes").map(|m| m.trim().parse::<i64>());
    let actor = s.viewer.actor();
    let decision = form.get("decision").map(String::as_str);
    let figure = match (decision, minutes) {
        (Some("confirm"), _) => None,
        (Some("other" | "settle"), Some(Ok(m))) => Some(m),
        (Some("other" | "settle"), _) => return Ok(back(r.code, "bad_hours")),
        _ => return Ok(back(r.code, "failed")),
    };
    let done = match (decision, figure) {
        (Some("settle"), Some(m)) => st
            .dispatcher
            .settle_hours(&actor, check.assignment_id, m)
            .await
            .map(|ok| if ok { "hours_settled" } else { "hours_closed" }),
        (_, f) => st
            .dispatcher
            .answer_hours(
                &actor,
                check.assignment_id,
                f.map_or(HoursAnswer::Confirm, HoursAnswer::Other),
            )
            .await
            .map(|a| match a {
                Answered::Confirmed { .. } => "hours_confirmed",
                Answered::Disputed { .. } => "hours_disputed",
                Answered::Closed(_) | Answered::NotAsked => "hours_closed",
            }),
    };
    match done {
        Ok(outcome) => {
            tracing::info!(request = %r.code, outcome, "console: hours");
            Ok(back(r.code, outcome))
        }
        Err(DispatchError::BadHours(_)) => Ok(back(r.code, "bad_hours")),
        Err(e) => Ok(back(r.code, outcome_of(&e))),
    }
}

/// `POST /requests/CODE/evaluation` (`score_<criterion>` for each of `[evaluation] criteria`,
/// `comment`, `csrf`): the requester's evaluation (or a coordinator's on their behalf).
pub(super) async fn evaluation(
    State(st): State<Arc<WebState>>,
    Path(code): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    use crate::app::AppError;
    let s = posted(&st, &headers, &form).await?;
    let r = request_for(&st, &s, &code, Action::Evaluate).await?;
    let criteria = st.dispatcher.core().settings.criteria.clone();
    let scores: Option<Vec<i64>> = criteria
        .iter()
        .map(|c| {
            form.get(&format!("score_{c}"))
                .and_then(|v| v.trim().parse::<i64>().ok())
        })
        .collect();
    let Some(scores) = scores else {
        return Ok(back(r.code, "bad_scores"));
    };
    let comment = form.get("comment").map(String::as_str);
    let outcome = match st
        .dispatcher
        .evaluate_criteria(&s.viewer.actor(), r.id, &scores, comment)
        .await
    {
        Ok(()) => "evaluated",
        Err(AppError::BadScore(_) | AppError::BadScoreCount { .. }) => "bad_scores",
        Err(AppError::CommentNeeded(_)) => "comment_needed",
        Err(AppError::TooEarly(_) | AppError::WrongState { .. }) => "too_early",
        Err(AppError::Denied(_)) => "denied",
        Err(_) => "failed",
    };
    tracing::info!(request = %r.code, outcome, "console: evaluation");
    Ok(back(r.code, outcome))
}

/// The fields of the correction form, read: `None` for a field left as it was, an error key
/// for a value that cannot be read.
fn corrected(
    form: &HashMap<String, String>,
    r: &Request,
    lang: crate::config::Lang,
) -> Result<RequestDraft, &'static str> {
    let given = |k: &str| form.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut d = RequestDraft::default();
    if let Some(l) = given("language") {
        let code = crate::vocab::language_from_words(lang, l)
            .and_then(|c| LanguageCode::parse(&c).ok())
            .or_else(|| LanguageCode::parse(l).ok())
            .ok_or("bad_language")?;
        if r.language.as_ref() != Some(&code) {
            let name = crate::extract::languages::by_code(code.as_str())
                .map(|l| l.name.clone())
                .unwrap_or_else(|| code.to_string());
            d.language = Some(LanguageRef {
                code: code.clone(),
                name: name.clone(),
            });
            d.languages = vec![LanguageRef { code, name }];
        }
    }
    if let Some(v) = given("date") {
        let date = NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| "bad_date")?;
        if r.date != Some(date) {
            d.date = Some(date);
        }
    }
    if let Some(v) = given("start_time") {
        let t = NaiveTime::parse_from_str(v, "%H:%M").map_err(|_| "bad_time")?;
        if r.start_time != Some(t) {
            d.start = Some(t);
        }
    }
    if let Some(v) = given("duration_minutes") {
        let m: u32 = v
            .parse()
            .ok()
            .filter(|m| (1..=24 * 60).contains(m))
            .ok_or("bad_duration")?;
        if r.duration_minutes != Some(i64::from(m)) {
            d.duration_minutes = Some(m);
        }
    }
    if let Some(v) = given("comune") {
        let c = crate::extract::places::comune_by_name(v).ok_or("bad_comune")?;
        if r.comune.as_deref() != Some(c.name.as_str()) {
            d.comune = Some(c.clone());
        }
    }
    if let Some(v) = given("address")
        && r.address.as_deref() != Some(v)
    {
        d.address = Some(v.chars().take(300).collect());
    }
    if let Some(v) = given("intervention") {
        let i: InterventionType = v.parse().map_err(|_| "bad_intervention")?;
        if r.intervention != Some(i) {
            d.intervention = Some(i);
        }
    }
    if let Some(v) = given("modality") {
        let m: Modality = v.parse().map_err(|_| "bad_modality")?;
        if r.modality != Some(m) {
            d.modality = Some(m);
        }
    }
    Ok(d)
}

/// `POST /requests/CODE/fields` (`csrf` and the fields): a coordinator corrects what was
/// misread. The correction is merged into the request as a follow-up is, in one transaction
/// with its audit line and the kept correction (text without personal data, for the
/// extractor's evaluation).
pub(super) async fn correct(
    State(st): State<Arc<WebState>>,
    Path(code): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    let s = posted(&st, &headers, &form).await?;
    let r = request_for(&st, &s, &code, Action::Manage).await?;
    if r.status.is_terminal() {
        return Ok(back(r.code, "wrong_state"));
    }
    let update = match corrected(&form, &r, s.lang) {
        Ok(u) => u,
        Err(key) => return Ok(back(r.code, key)),
    };
    let now = st.clock.now();
    let channel = r.channel;
    let mut ctx = Context::new(now, channel);
    ctx.tz = st.tz;
    let base = crate::intake::draft_from_request(&r);
    // The merge fills what is unknown: the corrected fields are made unknown first, so the
    // coordinator's values take their place and the rest (missing fields, notes) follows.
    let mut cleared = base.clone();
    if update.language.is_some() {
        cleared.language = None;
        cleared.languages.clear();
        cleared.nationality = None;
    }
    if update.date.is_some() {
        cleared.date = None;
    }
    if update.start.is_some() {
        cleared.start = None;
        cleared.end = None;
        cleared.time_approximate = false;
    }
    if update.duration_minutes.is_some() {
        cleared.duration_minutes = None;
        cleared.end = None;
    }
    if update.comune.is_some() {
        cleared.comune = None;
    }
    if update.address.is_some() {
        cleared.address = None;
    }
    if update.intervention.is_some() {
        cleared.intervention = None;
    }
    if update.modality.is_some() {
        cleared.modality = None;
    }
    let merged = crate::extract::merge(&cleared, &update, &ctx);
    let mut fields = crate::intake::fields_from_draft(&merged, st.tz);
    fields.requester_name = r.requester_name.clone().or(fields.requester_name);
    fields.requester_email = r.requester_email.clone().or(fields.requester_email);
    fields.requester_phone = r.requester_phone.clone().or(fields.requester_phone);
    fields.ente = r.ente.clone();
    fields.ambito = r.ambito;
    fields.source_message_id = r.source_message_id.clone();
    fields.subject = r.subject.clone();
    let texts = st.store.request_texts(r.id).await?;
    let core = st.dispatcher.core().clone();
    let actor = s.viewer.actor();
    let complete = merged.missing.is_empty();
    // A new date or time of a request past intake is a reschedule (`app::reschedule`: the
    // assigned mediator is asked, or offers go out again for the new time): the correction
    // keeps the old time and the reschedule moves it.
    let when = crate::app::reschedule::reschedulable(r.status)
        .then(|| {
            crate::app::reschedule::new_when(
                &r,
                fields.date.filter(|d| Some(*d) != r.date),
                fields.start_time.filter(|t| Some(*t) != r.start_time),
                fields
                    .duration_minutes
                    .filter(|m| Some(*m) != r.duration_minutes),
            )
        })
        .flatten();
    if when.is_some() {
        fields.date = r.date;
        fields.start_time = r.start_time;
        fields.duration_minutes = r.duration_minutes;
        fields.starts_at = r.starts_at;
        fields.ends_at = r.ends_at;
    }
    let mut tx = st.store.begin().await?;
    let corrected = crate::app::correct::fields(
        &core, &mut tx, &actor, &r, &fields, complete, "console", now,
    )
    .await;
    let corrected = match corrected {
        Ok(c) => c,
        Err(e) => {
            tx.rollback().await?;
            tracing::warn!(request = %r.code, error = %e, "console: correction refused");
            return Ok(back(r.code, outcome_of(&DispatchError::from(e))));
        }
    };
    // A new date, time or place of an assigned appointment: requester and mediator are told,
    // with the updated calendar invitation.
    match crate::app::change::appointment_changed(&core, &mut tx, &r, now).await {
        Ok(_) => {}
        Err(crate::app::AppError::Store(e)) => return Err(e.into()),
        Err(e) => return Err(StoreError::Conflict(e.to_string()).into()),
    }
    if let Some(when) = when {
        let moved =
            crate::app::reschedule::reschedule(&core, &mut tx, &actor, r.id, when, now).await;
        if let Err(e) = moved {
            tx.rollback().await?;
            tracing::warn!(request = %r.code, error = %e, "console: reschedule refused");
            return Ok(back(r.code, outcome_of(&DispatchError::from(e))));
        }
    }
    if let Some((_, text)) = texts.first()
        && let Some(p) = crate::extract::corrections::pair(text, &ctx, &base, &merged)
    {
        tx.record_correction(Some(r.id), CorrectionSource::Coordinator, &p, now)
            .await?;
    }
    tx.commit().await?;
    if corrected.status == crate::domain::RequestStatus::Queued {
        st.dispatcher.wake();
    }
    tracing::info!(request = %r.code, rescheduled = when.is_some(), "console: fields corrected");
    if when.is_some() {
        st.dispatcher.wake();
        return Ok(back(r.code, "rescheduled"));
    }
    Ok(back(r.code, "corrected"))
}

/// `POST /new` (`csrf`, `text`, `step`): an operator's request in words. `step=read` shows what
/// was understood; `step=confirm` (offered only when nothing required is missing) stores it,
/// queued for the dispatcher, with the operator as its requester.
pub(super) async fn new_request(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    let s = posted(&st, &headers, &form).await?;
    let super::Viewer::Operator(op) = &s.viewer else {
        return Err(Refused::NotFound(s.lang));
    };
    let text: String = form
        .get("text")
        .map(|t| t.trim())
        .unwrap_or("")
        .chars()
        .take(crate::extract::MAX_TEXT)
        .collect();
    let now = st.clock.now();
    let mut ctx = Context::new(now, crate::domain::Channel::Web);
    ctx.tz = st.tz;
    let draft = crate::extract::extract(&text, &ctx);
    let confirm = form.get("step").map(String::as_str) == Some("confirm");
    if text.is_empty() || !confirm || !draft.missing.is_empty() {
        let read = (!text.is_empty()).then_some(&draft);
        return Ok(super::pages::new_request_page(&s, &text, read).into_response());
    }
    let fields = crate::intake::fields_from_draft(&draft, st.tz);
    let new = NewRequest {
        status: Some(crate::intake::initial_status(&draft)),
        channel: Some(crate::domain::Channel::Web),
        operator_id: Some(op.id),
        requester_name: Some(op.name.clone()),
        requester_email: op.email.clone(),
        requester_phone: op.phone.clone(),
        requester_chat_id: op.telegram_id,
        ente: Some(op.ente.clone()),
        ambito: Some(op.ambito),
        ..fields
    };
    let core = st.dispatcher.core().clone();
    let actor = s.viewer.actor();
    let mut tx = st.store.begin().await?;
    let req = match crate::app::create::from_draft(&core, &mut tx, &actor, &new, now).await {
        Ok(r) => r,
        Err(crate::app::AppError::Store(e)) => return Err(e.into()),
        Err(e) => {
            tx.rollback().await?;
            tracing::warn!(operator = op.id, error = %e, "console: request refused");
            return Err(Refused::NotFound(s.lang));
        }
    };
    tx.audit(
        now,
        &actor.audit_name(),
        Some(req.id),
        "created",
        Some("console"),
    )
    .await?;
    tx.commit().await?;
    if req.status == crate::domain::RequestStatus::Queued {
        st.dispatcher.wake();
    }
    tracing::info!(request = %req.code, operator = op.id, "console: request created");
    Ok(back(req.code, "created"))
}

/// `POST /requests/CODE/review` (`decision` = `accept` | `reject`, `csrf`): a coordinator
/// accepts a request held from an unknown email sender (the sender gets the acknowledgement)
/// or rejects it (nobody is written to), through the core's review (`app::review`), as the bot
/// and the CLI do.
pub(super) async fn review(
    State(st): State<Arc<WebState>>,
    Path(code): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    let s = posted(&st, &headers, &form).await?;
    let r = request_for(&st, &s, &code, Action::Manage).await?;
    let accept = match form.get("decision").map(String::as_str) {
        Some("accept") => true,
        Some("reject") => false,
        _ => return Ok(back(r.code, "failed")),
    };
    // The core's review, as the bot and the CLI (it asks the table whether this viewer may).
    let core = st.dispatcher.core().clone();
    let actor = s.viewer.actor();
    let now = st.now();
    let mut tx = st.store.begin().await?;
    let reviewed = if accept {
        crate::app::review::accept(&core, &mut tx, &actor, r.id, now)
            .await
            .map(|_| ())
    } else {
        crate::app::review::reject(&core, &mut tx, &actor, r.id, now)
            .await
            .map(|_| ())
    };
    match reviewed {
        Ok(()) => {
            tx.commit().await?;
            tracing::info!(request = %r.code, accept, "console: held mail reviewed");
            Ok(back(r.code, if accept { "accepted" } else { "rejected" }))
        }
        Err(crate::app::AppError::NotHeld(_)) => {
            tx.rollback().await?;
            Ok(back(r.code, "wrong_state"))
        }
        Err(e) => {
            tracing::warn!(request = %r.code, error = %e, "console: review failed");
            Ok(back(r.code, "failed"))
        }
    }
}

/// `POST /operations/outbox/ID/retry` (`csrf`): a coordinator sends a dead letter again (after
/// the cause was fixed), as `connecting outbox retry` does.
pub(super) async fn retry_dead(
    State(st): State<Arc<WebState>>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    let s = posted(&st, &headers, &form).await?;
    if !s.viewer.is_coordinator() {
        return Err(Refused::NotFound(s.lang));
    }
    let outcome = if st.store.requeue_dead(id, st.clock.now()).await? {
        tracing::info!(outbox = id, "console: dead letter queued again");
        "retried"
    } else {
        "not_dead"
    };
    Ok(Redirect::to(&format!("/operations?outcome={outcome}")).into_response())
}

/// `POST /people/KIND/ID/language` (`csrf`, `language`: `it`, `en`, or empty for
/// `[intake] language`): a coordinator sets the language a person reads; their Telegram menu
/// follows (`app::menu`).
pub(super) async fn set_language(
    State(st): State<Arc<WebState>>,
    Path((kind, id)): Path<(String, i64)>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    let s = posted(&st, &headers, &form).await?;
    if !s.viewer.is_coordinator() {
        return Err(Refused::NotFound(s.lang));
    }
    let Ok(kind) = kind.parse::<crate::domain::PersonKind>() else {
        return Err(Refused::NotFound(s.lang));
    };
    let lang = match form.get("language").map(|l| l.trim()).unwrap_or_default() {
        "" => None,
        code => match crate::config::Lang::supported(code) {
            Some(l) => Some(l),
            None => return Ok(Redirect::to("/people?outcome=language_bad").into_response()),
        },
    };
    let telegram_id = match kind {
        crate::domain::PersonKind::Operator => {
            st.store.operator(id).await.ok().map(|o| o.telegram_id)
        }
        crate::domain::PersonKind::Mediator => {
            st.store.mediator(id).await.ok().map(|m| m.telegram_id)
        }
        crate::domain::PersonKind::Coordinator => st
            .store
            .coordinators()
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .map(|c| c.telegram_id),
    };
    let Some(telegram_id) = telegram_id else {
        return Err(Refused::NotFound(s.lang));
    };
    st.store.set_language(kind, id, lang).await?;
    if let Some(tg) = telegram_id {
        let now = st.clock.now();
        let mut tx = st.store.begin().await?;
        crate::app::menu::refresh(&mut tx, tg, st.lang, now).await?;
        tx.commit().await?;
    }
    tracing::info!(kind = kind.as_str(), id, "console: language set");
    Ok(Redirect::to("/people?outcome=language_set").into_response())
}

/// `POST /operations/quarantine/ID/retry` (`csrf`): a coordinator has a quarantined email read
/// again (after the cause was fixed), as `connecting quarantine retry ID` does, through the
/// email intake the daemon gave the console.
pub(super) async fn retry_quarantined(
    State(st): State<Arc<WebState>>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    let s = posted(&st, &headers, &form).await?;
    if !s.viewer.is_coordinator() {
        return Err(Refused::NotFound(s.lang));
    }
    let Some(retry) = &st.quarantine_retry else {
        return Ok(Redirect::to("/operations?outcome=q_unavailable").into_response());
    };
    let to = match retry(id).await {
        super::Retried::Request(code) => {
            tracing::info!(inbound = id, request = %code, "console: quarantined email read again");
            format!("/operations?outcome=q_request&code={code}")
        }
        super::Retried::Handled => "/operations?outcome=q_handled".to_owned(),
        super::Retried::Quarantined(_) => "/operations?outcome=q_still".to_owned(),
        super::Retried::Gone => "/operations?outcome=q_gone".to_owned(),
    };
    Ok(Redirect::to(&to).into_response())
}
