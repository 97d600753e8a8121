//! The coordinators' other pages: `/people` (mediators with their languages, Ambiti, hours this
//! month and offers accepted, availability, pause, gender, phone sharing; operators;
//! coordinators with their address and Telegram; each person's own language with a select to
//! change it; each name opens the person's form), `/operations` (the channels' health as `/healthz` sees it, the outbox backlog,
//! dead letters with retry, email kept in quarantine with retry) and `/calendar` (a week or a
//! day, one row per mediator, the requests still without one, overlapping jobs of one mediator
//! marked, travel buffer included). Coordinators only.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::pages::{layout, tr};
use super::{Refused, Session, WebState, session};
use crate::vocab;

pub(super) async fn coordinator(st: &WebState, headers: &HeaderMap) -> Result<Session, Refused> {
    let s = session(st, headers).await?;
    if !s.viewer.is_coordinator() {
        return Err(Refused::NotFound(s.lang));
    }
    Ok(s)
}

/// `GET /people`.
pub(super) async fn people(
    State(st): State<Arc<WebState>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let s = coordinator(&st, &headers).await?;
    let lang = s.lang;
    let outcome = q
        .get("outcome")
        .filter(|o| {
            matches!(
                o.as_str(),
                "added" | "saved" | "removed" | "imported" | "language_set" | "language_bad"
            )
        })
        .map(|o| {
            let count = q
                .get("count")
                .and_then(|c| c.parse::<u32>().ok())
                .unwrap_or(0);
            crate::prompts::t(
                lang,
                &format!("web.outcome_{o}"),
                &[("count", &count.to_string())],
            )
        });
    let mediators = st.store.mediators().await?;
    let operators = st.store.operators().await?;
    let coordinators = st.store.coordinators().await?;
    let (from, to) = crate::dispatch::report::month_of(st.clock.now(), st.tz);
    let months = st.store.mediator_months(from, to).await?;
    let month_for = |id: i64| months.get(&id).copied().unwrap_or_default();
    let yes_no = |b: bool| vocab::yes_no(lang, b);
    let body = html! {
        @if let Some(o) = outcome { p.outcome role="status" { (o) } }
        p.buttons {
            (tr(lang, "people_actions")) " "
            a.button href="/people/mediators/new" { (tr(lang, "mediator_new")) } " "
            a.button href="/people/operators/new" { (tr(lang, "operator_new")) } " "
            a.button href="/people/coordinators/new" { (tr(lang, "coordinator_new")) }
        }
        section aria-labelledby="h-mediators" {
            h2 #h-mediators { (tr(lang, "mediators")) " (" (mediators.len()) ")" }
            div.table { table {
                thead { tr {
                    th scope="col" { (tr(lang, "name")) }
                    th scope="col" { (tr(lang, "languages")) }
                    th scope="col" { (tr(lang, "col_ambito")) }
                    th scope="col" { (tr(lang, "availability")) }
                    th scope="col" { (tr(lang, "paused")) }
                    th scope="col" { (tr(lang, "gender")) }
                    th scope="col" { (tr(lang, "share_phone")) }
                    th scope="col" { (tr(lang, "on_telegram")) }
                    th scope="col" { (tr(lang, "hours_month")) }
                    th scope="col" { (tr(lang, "acceptance")) }
                    th scope="col" { (tr(lang, "person_language")) }
                } }
                tbody { @for m in &mediators { tr {
                    th scope="row" { a href={ "/people/mediators/" (m.id) } title=(tr(lang, "edit")) { (m.name) } @if !m.active { " (" (tr(lang, "inactive")) ")" } }
                    td { (m.languages.iter().map(|l| vocab::language(lang, l.as_str())).collect::<Vec<_>>().join(", ")) }
                    td { (m.ambiti.iter().map(|a| a.name()).collect::<Vec<_>>().join(", ")) }
                    td { (m.availability.clone().unwrap_or_else(|| tr(lang, "any_time"))) }
                    td { (yes_no(m.paused)) }
                    td { (m.gender.map(|g| vocab::gender(lang, g)).unwrap_or_else(|| "—".into())) }
                    td { (yes_no(m.share_phone)) }
                    td { (yes_no(m.telegram_id.is_some())) }
                    @let month = month_for(m.id);
                    td data-label=(tr(lang, "hours_month")) { (format!("{}:{:02}", month.minutes_done / 60, month.minutes_done % 60)) }
                    td data-label=(tr(lang, "acceptance")) { @match month.acceptance_percent() {
                        Some(p) => { (p) "% (" (month.offers_accepted) "/" (month.offers_answered) ")" },
                        None => { (tr(lang, "acceptance_none")) },
                    } }
                    td data-label=(tr(lang, "person_language")) { (language_form(&s, "mediator", m.id, m.language)) }
                } } }
            } }
        }
        section aria-labelledby="h-operators" {
            h2 #h-operators { (tr(lang, "operators")) " (" (operators.len()) ")" }
            div.table { table {
                thead { tr {
                    th scope="col" { (tr(lang, "name")) }
                    th scope="col" { (tr(lang, "ente")) }
                    th scope="col" { (tr(lang, "col_ambito")) }
                    th scope="col" { (tr(lang, "email")) }
                    th scope="col" { (tr(lang, "on_telegram")) }
                    th scope="col" { (tr(lang, "person_language")) }
                } }
                tbody { @for o in &operators { tr {
                    th scope="row" { a href={ "/people/operators/" (o.id) } title=(tr(lang, "edit")) { (o.name) } @if !o.active { " (" (tr(lang, "inactive")) ")" } }
                    td { (o.ente) }
                    td { (o.ambito.name()) }
                    td { (o.email.clone().unwrap_or_else(|| "—".into())) }
                    td { (yes_no(o.telegram_id.is_some())) }
                    td data-label=(tr(lang, "person_language")) { (language_form(&s, "operator", o.id, o.language)) }
                } } }
            } }
        }
        section aria-labelledby="h-coordinators" {
            h2 #h-coordinators { (tr(lang, "coordinators")) " (" (coordinators.len()) ")" }
            div.table { table {
                thead { tr {
                    th scope="col" { (tr(lang, "name")) }
                    th scope="col" { (tr(lang, "email")) }
                    th scope="col" { (tr(lang, "on_telegram")) }
                    th scope="col" { (tr(lang, "person_language")) }
                } }
                tbody { @for c in &coordinators { tr {
                    th scope="row" { a href={ "/people/coordinators/" (c.id) } title=(tr(lang, "edit")) { (c.name) } }
                    td { (c.email.clone().unwrap_or_else(|| "—".into())) }
                    td {
                        (yes_no(c.telegram_id.is_some()))
                        @if c.telegram_id.is_none() { " " (super::people::invite_form(&s, "coordinators", c.id)) }
                    }
                    td data-label=(tr(lang, "person_language")) { (language_form(&s, "coordinator", c.id, c.language)) }
                } } }
            } }
        }
        (super::people::import_form(&s))
    };
    Ok(layout(&s, &tr(lang, "people_title"), "/people", body).into_response())
}

/// The select of one person's language (`language`: `it`, `en`, or empty for the default),
/// posted to `/people/KIND/ID/language`.
fn language_form(
    s: &Session,
    kind: &str,
    id: i64,
    current: Option<crate::config::Lang>,
) -> maud::Markup {
    let lang = s.lang;
    let chosen = current.map(|l| l.as_str()).unwrap_or_default();
    let label = format!("{}: {}", tr(lang, "person_language"), id);
    html! {
        form.inline method="post" action={ "/people/" (kind) "/" (id) "/language" } {
            input type="hidden" name="csrf" value=(s.csrf);
            select name="language" aria-label=(label) {
                @for (code, key) in [("", "language_default"), ("it", "language_it"), ("en", "language_en")] {
                    option value=(code) selected[code == chosen] { (tr(lang, key)) }
                }
            }
            " "
            button.secondary type="submit" { (tr(lang, "language_save")) }
        }
    }
}

/// `GET /operations`.
pub(super) async fn operations(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Result<Response, Refused> {
    let s = coordinator(&st, &headers).await?;
    let lang = s.lang;
    let now = st.clock.now();
    let (pending, oldest) = st.store.outbox_depth(now).await?;
    let dead = st.store.outbox_dead().await?;
    let quarantined = st.store.inbound("email", Some("quarantined")).await?;
    let codes: HashMap<i64, String> = {
        let mut m = HashMap::new();
        for d in &dead {
            if let Some(id) = d.request_id
                && let Ok(r) = st.store.request_by_id(id).await
            {
                m.insert(id, r.code.to_string());
            }
        }
        m
    };
    let code = q
        .get("code")
        .and_then(|c| crate::domain::RequestCode::find_in(c))
        .map(|c| c.to_string())
        .unwrap_or_default();
    let done = q
        .get("outcome")
        .filter(|o| {
            [
                "retried",
                "not_dead",
                "q_request",
                "q_handled",
                "q_still",
                "q_gone",
                "q_unavailable",
            ]
            .contains(&o.as_str())
        })
        .map(|o| crate::prompts::t(lang, &format!("web.outcome_{o}"), &[("code", &code)]));
    let can_retry = st.quarantine_retry.is_some();
    let channels = st
        .health
        .as_ref()
        .map(|h| crate::http::statuses(h, crate::store::ts(now)));
    let body = html! {
        @if let Some(d) = done { p.outcome role="status" { (d) } }
        section aria-labelledby="h-channels" {
            h2 #h-channels { (tr(lang, "channels")) }
            @match &channels {
                None => p { (tr(lang, "channels_unknown")) },
                Some(list) if list.is_empty() => p { (tr(lang, "channels_none")) },
                Some(list) => div.table { table {
                    thead { tr {
                        th scope="col" { (tr(lang, "channel")) }
                        th scope="col" { (tr(lang, "channel_state")) }
                        th scope="col" { (tr(lang, "last_fetch")) }
                    } }
                    tbody { @for c in list { tr.(if c.state == "stale" { "attention" } else { "" }) {
                        th scope="row" { (vocab::health_channel(lang, &c.name)) }
                        td { (vocab::health_state(lang, &c.state)) }
                        td { @match c.last_fetch_at {
                            Some(t) => (crate::store::from_ts(t).with_timezone(&st.tz).format("%d/%m/%Y %H:%M:%S")),
                            None => "—",
                        } }
                    } } }
                } },
            }
        }
        section aria-labelledby="h-outbox" {
            h2 #h-outbox { (tr(lang, "outbox")) }
            p { (crate::prompts::t(lang, "web.outbox_backlog", &[
                ("count", &pending.to_string()),
                ("minutes", &(oldest.unwrap_or(0) / 60).to_string()),
            ])) }
        }
        section aria-labelledby="h-dead" {
            h2 #h-dead { (tr(lang, "dead_letters")) " (" (dead.len()) ")" }
            @if dead.is_empty() { p { (tr(lang, "dead_none")) } } @else {
                div.table { table {
                    thead { tr {
                        th scope="col" { (tr(lang, "channel")) }
                        th scope="col" { (tr(lang, "col_code")) }
                        th scope="col" { (tr(lang, "attempts")) }
                        th scope="col" { (tr(lang, "last_error")) }
                        th scope="col" { span.sr { (tr(lang, "retry")) } }
                    } }
                    tbody { @for d in &dead { tr {
                        td { (d.channel.parse::<crate::domain::Channel>().map(|c| vocab::channel(lang, c)).unwrap_or_else(|_| d.channel.clone())) }
                        td { @match d.request_id.and_then(|id| codes.get(&id)) {
                            Some(c) => a href={ "/requests/" (c) } { (c) },
                            None => "—",
                        } }
                        td { (d.attempts) }
                        td { (d.last_error.clone().unwrap_or_default()) }
                        td { form method="post" action={ "/operations/outbox/" (d.id) "/retry" } {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button type="submit" { (tr(lang, "retry")) }
                        } }
                    } } }
                } }
            }
        }
        section aria-labelledby="h-quarantine" {
            h2 #h-quarantine { (tr(lang, "quarantine")) " (" (quarantined.len()) ")" }
            @if quarantined.is_empty() { p { (tr(lang, "quarantine_none")) } } @else {
                div.table { table {
                    thead { tr {
                        th scope="col" { (tr(lang, "received")) }
                        th scope="col" { (tr(lang, "sender")) }
                        th scope="col" { (tr(lang, "last_error")) }
                        @if can_retry { th scope="col" { span.sr { (tr(lang, "read_again")) } } }
                    } }
                    tbody { @for m in &quarantined { tr {
                        td { (crate::store::from_ts(m.received_at).with_timezone(&st.tz).format("%d/%m/%Y %H:%M")) }
                        td { (m.sender.clone().unwrap_or_else(|| "—".into())) }
                        td { (m.error.clone().unwrap_or_default()) }
                        @if can_retry {
                            td { form method="post" action={ "/operations/quarantine/" (m.id) "/retry" } {
                                input type="hidden" name="csrf" value=(s.csrf);
                                button type="submit" { (tr(lang, "read_again")) }
                            } }
                        }
                    } } }
                } }
                @if !can_retry { p.hint { (tr(lang, "quarantine_cli")) } }
            }
        }
    };
    Ok(layout(&s, &tr(lang, "operations_title"), "/operations", body).into_response())
}

/// `GET /calendar?week=YYYY-MM-DD` (the week of that day) or `?day=YYYY-MM-DD`.
pub(super) async fn calendar(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Result<Response, Refused> {
    use chrono::{Datelike, Duration, NaiveDate};
    let s = coordinator(&st, &headers).await?;
    let lang = s.lang;
    let today = st.clock.now().with_timezone(&st.tz).date_naive();
    let parse = |k: &str| {
        q.get(k)
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    };
    let (first, days) = match (parse("day"), parse("week")) {
        (Some(d), _) => (d, 1),
        (None, w) => {
            let d = w.unwrap_or(today);
            (
                d - Duration::days(i64::from(d.weekday().num_days_from_monday())),
                7,
            )
        }
    };
    let dates: Vec<NaiveDate> = (0..days).map(|i| first + Duration::days(i)).collect();
    let local_midnight = |d: NaiveDate| {
        crate::domain::appointment::local_to_utc(d.and_time(chrono::NaiveTime::MIN), st.tz)
    };
    let from = local_midnight(first);
    let to = local_midnight(first + Duration::days(days));
    let list = st.store.requests_between(from, to).await?;
    let mediators = st.store.mediators().await?;
    let buffer = Duration::minutes(i64::from(st.dispatcher.settings().travel_buffer_minutes));
    // A job overlaps when another of the same mediator starts before it ends (buffer included).
    let mut overlapping = std::collections::HashSet::new();
    for a in &list {
        for b in &list {
            if a.id < b.id
                && a.assigned_mediator_id.is_some()
                && a.assigned_mediator_id == b.assigned_mediator_id
                && let (Some(sa), Some(ea), Some(sb), Some(eb)) =
                    (a.starts_at, a.ends_at, b.starts_at, b.ends_at)
                && sa < eb + buffer
                && sb < ea + buffer
            {
                overlapping.insert(a.id);
                overlapping.insert(b.id);
            }
        }
    }
    let on = |mediator: Option<i64>, d: NaiveDate| -> Vec<&crate::store::Request> {
        list.iter()
            .filter(|r| r.assigned_mediator_id == mediator && r.date == Some(d))
            .collect()
    };
    let cell = |rs: Vec<&crate::store::Request>| {
        html! {
            @for r in rs {
                div class=(if overlapping.contains(&r.id) { "job overlap" } else { "job" }) {
                    a href={ "/requests/" (r.code) } { (r.start_time.map(|t| t.format("%H:%M").to_string()).unwrap_or_default()) " " (r.code) }
                    " " (r.comune.as_deref().unwrap_or(""))
                    @if overlapping.contains(&r.id) { " " strong.flag { (tr(lang, "overlap")) } }
                }
            }
        }
    };
    let prev = first - Duration::days(days);
    let next = first + Duration::days(days);
    let key = if days == 1 { "day" } else { "week" };
    let title = if days == 1 {
        crate::prompts::t(
            lang,
            "web.calendar_day",
            &[("date", &vocab::date_long(lang, first, true))],
        )
    } else {
        crate::prompts::t(
            lang,
            "web.calendar_week",
            &[("date", &vocab::date_long(lang, first, true))],
        )
    };
    let body = html! {
        p.downloads {
            a href={ "/calendar?" (key) "=" (prev) } { (tr(lang, "calendar_prev")) }
            " · "
            @if days == 1 {
                a href={ "/calendar?week=" (first) } { (tr(lang, "calendar_show_week")) }
            } @else {
                a href={ "/calendar?day=" (today) } { (tr(lang, "calendar_show_today")) }
            }
            " · "
            a href={ "/calendar?" (key) "=" (next) } { (tr(lang, "calendar_next")) }
        }
        div.table { table.calendar {
            thead { tr {
                th scope="col" { (tr(lang, "mediator")) }
                @for d in &dates { th scope="col" { a href={ "/calendar?day=" (d) } { (vocab::date_long(lang, *d, false)) } } }
            } }
            tbody {
                tr.unfilled {
                    th scope="row" { (tr(lang, "calendar_unfilled")) }
                    @for d in &dates { td { (cell(on(None, *d))) } }
                }
                @for m in mediators.iter().filter(|m| m.active) {
                    tr {
                        th scope="row" { (m.name) @if m.paused { " (" (tr(lang, "paused")) ")" } }
                        @for d in &dates { td { (cell(on(Some(m.id), *d))) } }
                    }
                }
            }
        } }
    };
    Ok(layout(&s, &title, "/calendar", body).into_response())
}
