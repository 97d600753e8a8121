//! The console's pages, drawn with maud (every value is escaped by the template engine; no
//! text of a request or a name can become markup). Words come from `prompts/<lang>/web.toml`
//! and codes are shown through [`crate::vocab`].

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use maud::{DOCTYPE, Markup, html};

use super::{Refused, Session, Viewer, WebState, session};
use crate::authz::Action;
use crate::config::Lang;
use crate::domain::{
    Ambito, Channel, HoursCheckStatus, InterventionType, LanguageCode, Modality, RequestStatus,
};
use crate::store::{QueueEntry, QueueFilter, Request, RequesterScope};
use crate::vocab;

/// Rows shown at most in the queue (filters narrow it down).
pub const QUEUE_ROWS: i64 = 200;

/// A sentence of the console.
/// What was recorded about one meeting, in words ("svolto, 1 ora e 30", "non svolto: la
/// famiglia non è venuta").
fn meeting_outcome_words(
    lang: Lang,
    words: &crate::app::words::Words,
    r: crate::domain::series::MeetingOutcome,
) -> String {
    match (r.done, r.worked_minutes, r.no_show) {
        (true, Some(m), _) => crate::prompts::t(
            lang,
            "web.meeting_outcome_done_minutes",
            &[("hours", &words.duration(m))],
        ),
        (true, None, _) => tr(lang, "meeting_outcome_done"),
        (false, _, Some(w)) => crate::prompts::t(
            lang,
            "web.meeting_outcome_not_done_by",
            &[("who", &tr(lang, &format!("meeting_outcome_no_show_{w}")))],
        ),
        (false, _, None) => tr(lang, "meeting_outcome_not_done"),
    }
}

pub(super) fn tr(lang: Lang, key: &str) -> String {
    crate::prompts::t(lang, &format!("web.{key}"), &[])
}

fn tr_args(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    crate::prompts::t(lang, &format!("web.{key}"), args)
}

/// A whole page: header with the navigation, the language switch and log-out.
pub(super) fn layout(s: &Session, title: &str, here: &str, body: Markup) -> Html<String> {
    let lang = s.lang;
    let nav: Vec<(&str, String)> = match s.viewer {
        Viewer::Coordinator(_) => vec![
            ("/", tr(lang, "nav_queue")),
            ("/calendar", tr(lang, "nav_calendar")),
            ("/people", tr(lang, "nav_people")),
            ("/reports", tr(lang, "nav_reports")),
            ("/operations", tr(lang, "nav_operations")),
        ],
        Viewer::Operator(_) => vec![("/", tr(lang, "nav_mine")), ("/new", tr(lang, "nav_new"))],
    };
    let other = if lang == Lang::It {
        ("en", "English")
    } else {
        ("it", "Italiano")
    };
    Html(
        html! {
            (DOCTYPE)
            html lang=(lang.as_str()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · connecting" }
                    link rel="stylesheet" href="/assets/console.css";
                    script src="/assets/console.js" defer {}
                }
                body {
                    a.skip href="#main" { (tr(lang, "skip_to_content")) }
                    header.top {
                        span.brand { "connecting" }
                        nav aria-label=(tr(lang, "nav_label")) {
                            @for (href, label) in &nav {
                                @if *href == here {
                                    a href=(href) aria-current="page" { (label) }
                                } @else {
                                    a href=(href) { (label) }
                                }
                            }
                        }
                        span.who { (s.viewer.name()) }
                        a.lang href={ "/lang/" (other.0) "?back=" (here) } lang=(other.0) { (other.1) }
                        form.logout method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button type="submit" { (tr(lang, "logout")) }
                        }
                    }
                    main #main { h1 { (title) } (body) }
                }
            }
        }
        .into_string(),
    )
}

/// A page without a session: a title and a sentence.
pub(super) fn message(lang: Lang, title_key: &str, text_key: &str) -> Html<String> {
    let title = crate::prompts::t(lang, title_key, &[]);
    Html(
        html! {
            (DOCTYPE)
            html lang=(lang.as_str()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (title) " · connecting" }
                    link rel="stylesheet" href="/assets/console.css";
                }
                body { main #main.narrow { h1 { (title) } p { (crate::prompts::t(lang, text_key, &[])) } } }
            }
        }
        .into_string(),
    )
}

/// What a log-in link opens: one button that spends the link (`POST /login/<token>`). A GET
/// never spends it, so a link preview (Telegram fetches the URLs a bot sends) or a mail
/// scanner leaves it usable; and the session cookie, `SameSite=Strict`, is set by an answer to
/// our own page, so the browser sends it on the next page even when the link was opened from
/// another site (Telegram Web).
pub(super) fn login_confirm(lang: Lang, token: &str) -> Html<String> {
    let title = crate::prompts::t(lang, "web.login_enter_title", &[]);
    Html(
        html! {
            (DOCTYPE)
            html lang=(lang.as_str()) {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    meta name="robots" content="noindex";
                    title { (title) " · connecting" }
                    link rel="stylesheet" href="/assets/console.css";
                }
                body {
                    main #main.narrow {
                        h1 { (title) }
                        p { (crate::prompts::t(lang, "web.login_enter_text", &[])) }
                        form method="post" action=(format!("/login/{token}")) {
                            button #enter type="submit" { (crate::prompts::t(lang, "web.login_enter_button", &[])) }
                        }
                    }
                }
            }
        }
        .into_string(),
    )
}

pub(super) fn login_needed(lang: Lang) -> Html<String> {
    message(lang, "web.login_needed_title", "web.login_needed_text")
}

/// What decides whether a request needs a person: a whole request or a queue row.
pub struct Urgency {
    status: RequestStatus,
    unfilled_notice_at: Option<DateTime<Utc>>,
    starts_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
    assigned_mediator_id: Option<i64>,
}

impl From<&Request> for Urgency {
    fn from(r: &Request) -> Self {
        Urgency {
            status: r.status,
            unfilled_notice_at: r.unfilled_notice_at,
            starts_at: r.starts_at,
            updated_at: r.updated_at,
            assigned_mediator_id: r.assigned_mediator_id,
        }
    }
}

impl From<&QueueEntry> for Urgency {
    fn from(r: &QueueEntry) -> Self {
        Urgency {
            status: r.status,
            unfilled_notice_at: r.unfilled_notice_at,
            starts_at: r.starts_at,
            updated_at: r.updated_at,
            assigned_mediator_id: r.assigned_mediator_id,
        }
    }
}

/// Why a request needs a person now, if it does.
pub fn attention(r: &Urgency, now: DateTime<Utc>) -> Option<&'static str> {
    match r.status {
        RequestStatus::NeedsReview => Some("attention_held"),
        RequestStatus::Escalated if r.unfilled_notice_at.is_some() => Some("attention_unfilled"),
        RequestStatus::Escalated => Some("attention_escalated"),
        RequestStatus::NeedsInfo | RequestStatus::Queued | RequestStatus::Offered
            if r.unfilled_notice_at.is_some() && r.starts_at.is_some_and(|s| s > now) =>
        {
            Some("attention_unfilled")
        }
        RequestStatus::NeedsInfo if now - r.updated_at > Duration::hours(4) => {
            Some("attention_missing")
        }
        RequestStatus::Received | RequestStatus::Queued | RequestStatus::Offered
            if r.assigned_mediator_id.is_none()
                && r.starts_at
                    .is_some_and(|s| s > now && s - now < Duration::hours(48)) =>
        {
            Some("attention_soon")
        }
        _ => None,
    }
}

/// The queue's filters as the query string gives them (unknown values are ignored).
fn filter_of(q: &HashMap<String, String>) -> QueueFilter {
    let get = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let status = get("status").and_then(|s| s.parse::<RequestStatus>().ok());
    QueueFilter {
        open_only: status.is_none() && get("all").is_none(),
        status,
        ambito: get("ambito").and_then(|a| Ambito::parse(a).ok()),
        language: get("language").and_then(|l| LanguageCode::parse(l).ok()),
        date: get("date").and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()),
        channel: get("channel").and_then(|c| c.parse::<Channel>().ok()),
        requester: None,
        limit: QUEUE_ROWS,
    }
}

fn scope_of(v: &Viewer) -> Option<RequesterScope> {
    match v {
        Viewer::Coordinator(_) => None,
        Viewer::Operator(o) => Some(RequesterScope {
            operator_id: o.id,
            email: o.email.clone(),
            chat_id: o.telegram_id,
        }),
    }
}

fn when(
    lang: Lang,
    date: Option<NaiveDate>,
    start_time: Option<chrono::NaiveTime>,
    deadline: Option<NaiveDate>,
) -> String {
    match (date, deadline) {
        (Some(d), _) => vocab::date_time_year(lang, d, start_time),
        (None, Some(d)) => tr_args(
            lang,
            "due_by",
            &[("date", &vocab::date_time_year(lang, d, None))],
        ),
        _ => "—".into(),
    }
}

fn language_words(lang: Lang, language: Option<&LanguageCode>) -> String {
    language
        .map(|l| vocab::language(lang, l.as_str()))
        .unwrap_or_else(|| "—".into())
}

/// Words drawn once per page and once per distinct value, however many rows show them: the
/// column labels, and each status, attention, language, date and channel in words.
struct RowWords {
    lang: Lang,
    labels: [String; 8],
    seen: HashMap<String, String>,
}

impl RowWords {
    fn new(lang: Lang) -> Self {
        let labels = [
            "col_code",
            "col_status",
            "col_attention",
            "col_language",
            "col_when",
            "col_comune",
            "col_ambito",
            "col_who",
        ]
        .map(|k| tr(lang, k));
        RowWords {
            lang,
            labels,
            seen: HashMap::new(),
        }
    }

    /// The words for `key`, drawn by `draw` the first time only.
    fn once(&mut self, key: String, draw: impl FnOnce(Lang) -> String) -> String {
        let lang = self.lang;
        self.seen.entry(key).or_insert_with(|| draw(lang)).clone()
    }
}

/// The rows of the queue (also served alone to the page's live refresh).
fn rows(st: &WebState, s: &Session, list: &[QueueEntry], names: &HashMap<i64, String>) -> Markup {
    let lang = s.lang;
    let now = st.clock.now();
    let mut w = RowWords::new(lang);
    html! {
        @if list.is_empty() {
            tr { td colspan="8" { (tr(lang, "queue_empty")) } }
        }
        @for r in list {
            @let att = attention(&Urgency::from(r), now);
            @let status = w.once(format!("s:{}", r.status.as_str()), |l| vocab::status(l, r.status));
            @let flag = att.map(|a| w.once(format!("a:{a}"), |l| tr(l, a)));
            @let language = w.once(format!("l:{:?}", r.language), |l| language_words(l, r.language.as_ref()));
            @let date = w.once(format!("w:{:?}:{:?}:{:?}", r.date, r.start_time, r.deadline), |l| when(l, r.date, r.start_time, r.deadline));
            @let who = match r.assigned_mediator_id.and_then(|m| names.get(&m)) {
                Some(n) => n.clone(),
                None => w.once(format!("c:{}", r.channel.as_str()), |l| vocab::channel(l, r.channel)),
            };
            @let label = &w.labels;
            tr class=[att.map(|_| "attention")] {
                td data-label=(label[0]) { a href={ "/requests/" (r.code) } { (r.code) } }
                td data-label=(label[1]) { (status) }
                td.att data-label=(label[2]) { @if let Some(f) = flag { strong.flag { (f) } } }
                td data-label=(label[3]) { (language) }
                td data-label=(label[4]) { (date) }
                td data-label=(label[5]) { (r.comune.as_deref().unwrap_or("—")) }
                td data-label=(label[6]) { (r.ambito.map(|a| a.name()).unwrap_or("—")) }
                td data-label=(label[7]) { (who) }
            }
        }
    }
}

async fn mediator_names(st: &WebState) -> Result<HashMap<i64, String>, Refused> {
    Ok(st.store.mediator_names().await?)
}

/// The queue's rows and the mediators' names, read together (one connection, one snapshot);
/// with the languages of the filter when `languages`.
async fn queue_list(
    st: &WebState,
    s: &Session,
    q: &HashMap<String, String>,
    languages: bool,
) -> Result<(Vec<QueueEntry>, HashMap<i64, String>, Vec<String>), Refused> {
    let mut f = filter_of(q);
    f.requester = scope_of(&s.viewer);
    let mut tx = st.store.begin().await?;
    let list = tx.console_queue(&f).await?;
    let names = tx.mediator_names().await?;
    let languages = if languages {
        tx.request_languages().await?
    } else {
        Vec::new()
    };
    tx.commit().await?;
    Ok((list, names, languages))
}

fn select(
    name: &str,
    label: String,
    any: String,
    options: Vec<(String, String)>,
    chosen: Option<&String>,
) -> Markup {
    html! {
        label for={ "f-" (name) } { (label) }
        select id={ "f-" (name) } name=(name) {
            option value="" { (any) }
            @for (value, words) in options {
                option value=(value) selected[chosen == Some(&value)] { (words) }
            }
        }
    }
}

/// `GET /`: the queue (a coordinator's) or the operator's own requests, refreshed live.
pub(super) async fn queue(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Refused> {
    let s = session(&st, &headers).await?;
    let lang = s.lang;
    let (list, names, languages) = queue_list(&st, &s, &q, true).await?;
    let title = if s.viewer.is_coordinator() {
        tr(lang, "queue_title")
    } else {
        tr(lang, "mine_title")
    };
    let query = serde_urlencoded_pairs(&q);
    let body = html! {
        form.filters method="get" action="/" role="search" aria-label=(tr(lang, "filters")) {
            (select("status", tr(lang, "f_status"), tr(lang, "f_open"),
                RequestStatus::ALL.iter().map(|x| (x.as_str().to_string(), vocab::status(lang, *x))).collect(), q.get("status")))
            (select("ambito", tr(lang, "f_ambito"), tr(lang, "f_any"),
                Ambito::all().map(|a| (a.name().to_string(), a.name().to_string())).collect(), q.get("ambito")))
            (select("language", tr(lang, "f_language"), tr(lang, "f_any"),
                languages.iter().map(|l| (l.clone(), vocab::language(lang, l))).collect(), q.get("language")))
            (select("channel", tr(lang, "f_channel"), tr(lang, "f_any"),
                Channel::ALL.iter().map(|c| (c.as_str().to_string(), vocab::channel(lang, *c))).collect(), q.get("channel")))
            label for="f-date" { (tr(lang, "f_date")) }
            input #f-date type="date" name="date" value=[q.get("date")];
            button type="submit" { (tr(lang, "f_apply")) }
        }
        p.hint { (tr(lang, "queue_live")) }
        div.table {
            table.queue {
                caption.sr { (title) }
                thead { tr {
                    th scope="col" { (tr(lang, "col_code")) }
                    th scope="col" { (tr(lang, "col_status")) }
                    th scope="col" { (tr(lang, "col_attention")) }
                    th scope="col" { (tr(lang, "col_language")) }
                    th scope="col" { (tr(lang, "col_when")) }
                    th scope="col" { (tr(lang, "col_comune")) }
                    th scope="col" { (tr(lang, "col_ambito")) }
                    th scope="col" { (tr(lang, "col_who")) }
                } }
                tbody #queue-rows data-src={ "/queue/rows?" (query) } aria-live="polite" {
                    (rows(&st, &s, &list, &names))
                }
            }
        }
    };
    Ok(layout(&s, &title, "/", body).into_response())
}

/// The query string again, for the live refresh (values as given; maud escapes the attribute).
fn serde_urlencoded_pairs(q: &HashMap<String, String>) -> String {
    let mut keys: Vec<&String> = q.keys().collect();
    keys.sort();
    keys.into_iter()
        .filter_map(|k| q.get(k).map(|v| format!("{}={}", enc(k), enc(v))))
        .collect::<Vec<_>>()
        .join("&")
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /queue/rows`: the queue's rows alone (the page fetches them every second).
pub(super) async fn queue_rows(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Refused> {
    let s = super::session_quiet(&st, &headers).await?;
    let (list, names, _) = queue_list(&st, &s, &q, false).await?;
    Ok(Html(rows(&st, &s, &list, &names).into_string()).into_response())
}

fn field_row(label: String, value: String) -> Markup {
    html! { div.field { dt { (label) } dd { (value) } } }
}

/// `GET /requests/CODE`: the fields beside the original text, the correction form, the
/// ranked mediators and manual assignment, cancellation, offers, messages and history.
pub(super) async fn request(
    State(st): State<Arc<WebState>>,
    Path(code): Path<String>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, Refused> {
    let s = session(&st, &headers).await?;
    let lang = s.lang;
    let r = super::actions::request_for(&st, &s, &code, Action::SeeDetails).await?;
    let now = st.clock.now();
    st.store
        .audit_view(r.id, &s.viewer.actor().audit_name(), "console", now)
        .await?;
    let coordinator = s.viewer.is_coordinator();
    let names = mediator_names(&st).await?;
    let texts = st.store.request_texts(r.id).await?;
    let offers = st.store.offers_for_request(r.id).await?;
    let messages = st.store.outbox_for_request(r.id).await?;
    let history = st.store.audit_trail(r.id).await?;
    let checks = st.store.hours_checks(r.id).await?;
    let may_confirm = crate::authz::authorize(
        &s.viewer.actor(),
        Action::ConfirmHours,
        &crate::authz::RequestFacts::of(&r),
    )
    .is_ok();
    let words = crate::app::words::Words::new(lang);
    let may_evaluate = crate::app::evaluation::check_state(&r, now).is_ok()
        && crate::authz::authorize(
            &s.viewer.actor(),
            Action::Evaluate,
            &crate::authz::RequestFacts::of(&r),
        )
        .is_ok();
    let evaluated = st.store.evaluation(r.id).await?.is_some();
    // meetings of a series: who may cancel may change them (moving asks `Reschedule`, which
    // the core checks when the form is sent)
    let may_change_meetings = !r.status.is_terminal()
        && crate::authz::authorize(
            &s.viewer.actor(),
            Action::Cancel,
            &crate::authz::RequestFacts::of(&r),
        )
        .is_ok();
    let criteria = st.dispatcher.core().settings.criteria.clone();
    let ranked = if coordinator && !r.status.is_terminal() {
        st.dispatcher.candidates(&r).await.ok()
    } else {
        None
    };
    let outcome = q
        .get("outcome")
        .filter(|o| OUTCOMES.contains(&o.as_str()))
        .map(|o| tr(lang, &format!("outcome_{o}")));
    let none = || "—".to_string();
    let title = tr_args(lang, "request_title", &[("code", &r.code.to_string())]);
    let body = html! {
        @if let Some(o) = outcome { p.outcome role="status" { (o) } }
        p.status {
            (tr(lang, "col_status")) ": " strong { (vocab::status(lang, r.status)) }
            @if let Some(a) = attention(&Urgency::from(&r), now) { " " strong.flag { (tr(lang, a)) } }
        }
        div.side {
            section aria-labelledby="h-fields" {
                h2 #h-fields { (tr(lang, "fields")) }
                dl {
                    (field_row(tr(lang, "col_language"), language_words(lang, r.language.as_ref())))
                    (field_row(tr(lang, "col_when"), when(lang, r.date, r.start_time, r.deadline)))
                    (field_row(tr(lang, "duration"), r.duration_minutes.map(|m| tr_args(lang, "minutes", &[("n", &m.to_string())])).unwrap_or_else(none)))
                    (field_row(tr(lang, "intervention"), r.intervention.map(|i| vocab::intervention(lang, i)).unwrap_or_else(none)))
                    (field_row(tr(lang, "modality"), r.modality.map(|m| vocab::modality(lang, m)).unwrap_or_else(none)))
                    (field_row(tr(lang, "col_comune"), r.comune.clone().unwrap_or_else(none)))
                    (field_row(tr(lang, "address"), r.address.clone().unwrap_or_else(none)))
                    (field_row(tr(lang, "col_ambito"), r.ambito.map(|a| a.name().to_string()).unwrap_or_else(none)))
                    (field_row(tr(lang, "requester"), r.requester_name.clone().or(r.requester_email.clone()).unwrap_or_else(none)))
                    (field_row(tr(lang, "ente"), r.ente.clone().unwrap_or_else(none)))
                    (field_row(tr(lang, "channel"), vocab::channel(lang, r.channel)))
                    (field_row(tr(lang, "mediator"), r.assigned_mediator_id.and_then(|m| names.get(&m).cloned()).unwrap_or_else(none)))
                    @if !r.missing.is_empty() {
                        (field_row(tr(lang, "missing"), vocab::fields(lang, &r.missing)))
                    }
                    @if let Some(n) = &r.notes { (field_row(tr(lang, "notes"), n.clone())) }
                }
            }
            section aria-labelledby="h-text" {
                h2 #h-text { (tr(lang, "original")) }
                @if texts.is_empty() { p { (tr(lang, "original_none")) } }
                @for (_, t) in &texts { pre.original { (t) } }
            }
        }
        @if coordinator && r.status == RequestStatus::NeedsReview {
            section aria-labelledby="h-review" {
                h2 #h-review { (tr(lang, "review")) }
                p { (tr(lang, "review_text")) }
                form.buttons method="post" action={ "/requests/" (r.code) "/review" } {
                    input type="hidden" name="csrf" value=(s.csrf);
                    button type="submit" name="decision" value="accept" { (tr(lang, "review_accept")) }
                    button.secondary type="submit" name="decision" value="reject" { (tr(lang, "review_reject")) }
                }
            }
        }
        @if coordinator && !r.status.is_terminal() {
            section aria-labelledby="h-correct" {
                h2 #h-correct { (tr(lang, "correct")) }
                form.grid method="post" action={ "/requests/" (r.code) "/fields" } {
                    input type="hidden" name="csrf" value=(s.csrf);
                    label for="c-language" { (tr(lang, "col_language")) }
                    input #c-language name="language" list="c-languages" autocomplete="off" value=[r.language.as_ref().map(|l| vocab::language(lang, l.as_str()))] aria-describedby="c-language-hint";
                    datalist #c-languages {
                        @for name in vocab::language_names(lang) { option value=(name) {} }
                    }
                    small #c-language-hint { (tr(lang, "language_hint")) }
                    label for="c-date" { (tr(lang, "date")) }
                    input #c-date type="date" name="date" value=[r.date.map(|d| d.format("%Y-%m-%d").to_string())];
                    label for="c-time" { (tr(lang, "time")) }
                    input #c-time type="time" name="start_time" value=[r.start_time.map(|t| t.format("%H:%M").to_string())];
                    label for="c-duration" { (tr(lang, "duration_minutes")) }
                    input #c-duration type="number" min="1" max="1440" name="duration_minutes" value=[r.duration_minutes];
                    label for="c-comune" { (tr(lang, "col_comune")) }
                    input #c-comune name="comune" value=[r.comune.as_deref()];
                    label for="c-address" { (tr(lang, "address")) }
                    input #c-address name="address" value=[r.address.as_deref()];
                    label for="c-intervention" { (tr(lang, "intervention")) }
                    select #c-intervention name="intervention" {
                        option value="" { "—" }
                        @for i in InterventionType::ALL {
                            option value=(i.as_str()) selected[r.intervention == Some(*i)] { (vocab::intervention(lang, *i)) }
                        }
                    }
                    label for="c-modality" { (tr(lang, "modality")) }
                    select #c-modality name="modality" {
                        option value="" { "—" }
                        @for m in Modality::ALL {
                            option value=(m.as_str()) selected[r.modality == Some(*m)] { (vocab::modality(lang, *m)) }
                        }
                    }
                    button type="submit" { (tr(lang, "save_correction")) }
                }
            }
            section aria-labelledby="h-assign" {
                h2 #h-assign { (tr(lang, "assign")) }
                @match &ranked {
                    Some(m) if !m.candidates.is_empty() => {
                        form method="post" action={ "/requests/" (r.code) "/assign" } {
                            input type="hidden" name="csrf" value=(s.csrf);
                            fieldset {
                                legend { (tr(lang, "ranked")) }
                                @for (i, c) in m.candidates.iter().enumerate() {
                                    div.candidate {
                                        input type="radio" name="mediator_id" id={ "m-" (c.mediator_id) } value=(c.mediator_id) checked[i == 0];
                                        label for={ "m-" (c.mediator_id) } {
                                            strong { (names.get(&c.mediator_id).cloned().unwrap_or_else(|| c.mediator_id.to_string())) }
                                            " — "
                                            (c.explanation(lang.as_str()))
                                        }
                                    }
                                }
                            }
                            button type="submit" { (tr(lang, "assign_button")) }
                        }
                    }
                    _ => { p { (tr(lang, "no_candidates")) } }
                }
            }
        }
        @if !checks.is_empty() {
            section aria-labelledby="h-hours" {
                h2 #h-hours { (tr(lang, "hours")) }
                @for c in &checks {
                    p {
                        (tr_args(lang, "hours_recorded", &[("hours", &words.duration(c.mediator_minutes))]))
                        " "
                        strong { (tr_args(lang, &format!("hours_{}", c.status), &[
                            ("hours", &c.requester_minutes.map(|m| words.duration(m)).unwrap_or_default()),
                            ("billed", &c.billed_minutes.map(|m| words.duration(m)).unwrap_or_default()),
                        ])) }
                    }
                    @if c.status == HoursCheckStatus::Asked && may_confirm {
                        form.grid method="post" action={ "/requests/" (r.code) "/hours" } {
                            input type="hidden" name="csrf" value=(s.csrf);
                            input type="hidden" name="assignment_id" value=(c.assignment_id);
                            button type="submit" name="decision" value="confirm" { (tr(lang, "hours_confirm")) }
                            label for={ "h-other-" (c.assignment_id) } { (tr(lang, "hours_other")) }
                            input id={ "h-other-" (c.assignment_id) } type="number" min="1" max="720" name="minutes";
                            button.secondary type="submit" name="decision" value="other" { (tr(lang, "hours_other_button")) }
                        }
                    }
                    @if c.status == HoursCheckStatus::Disputed && coordinator {
                        form.grid method="post" action={ "/requests/" (r.code) "/hours" } {
                            input type="hidden" name="csrf" value=(s.csrf);
                            input type="hidden" name="assignment_id" value=(c.assignment_id);
                            label for={ "h-bill-" (c.assignment_id) } { (tr(lang, "hours_bill")) }
                            input id={ "h-bill-" (c.assignment_id) } type="number" min="1" max="720" name="minutes" value=[c.requester_minutes];
                            button type="submit" name="decision" value="settle" { (tr(lang, "hours_settle")) }
                        }
                    }
                }
            }
        }
        @if may_evaluate {
            section aria-labelledby="h-evaluation" {
                h2 #h-evaluation { (tr(lang, "evaluation")) }
                @if evaluated { p { (tr(lang, "evaluation_given")) } }
                form.grid method="post" action={ "/requests/" (r.code) "/evaluation" } {
                    input type="hidden" name="csrf" value=(s.csrf);
                    @for c in &criteria {
                        label for={ "e-" (c) } { (crate::app::sentence::criterion_words(lang, c)) }
                        select id={ "e-" (c) } name={ "score_" (c) } {
                            option value="" { "—" }
                            @for n in 1..=5 { option value=(n) { (n) } }
                        }
                    }
                    label for="e-comment" { (tr(lang, "evaluation_comment")) }
                    textarea #e-comment name="comment" rows="3" {}
                    button type="submit" { (tr(lang, "evaluation_send")) }
                }
            }
        }
        @if let Some(series) = &r.series {
            section aria-labelledby="h-meetings" {
                h2 #h-meetings { (tr(lang, "meetings")) }
                div.table { table {
                    thead { tr {
                        th scope="col" { (tr(lang, "meeting_number")) }
                        th scope="col" { (tr(lang, "col_when")) }
                        th scope="col" { (tr(lang, "col_status")) }
                        th scope="col" { (tr(lang, "meeting_outcome")) }
                        @if may_change_meetings { th scope="col" { (tr(lang, "meeting_scope")) } }
                    } }
                    tbody { @for o in &series.occurrences {
                        @let local = o.starts_at.with_timezone(&st.tz).naive_local();
                        tr {
                            td { (o.seq) }
                            td { (words.when(Some(local.date()), Some(local.time()))) }
                            td {
                                (tr(lang, &format!("meeting_{}", o.status.as_str())))
                                @if o.status.is_on() {
                                    " · "
                                    (o.mediator_id.and_then(|m| names.get(&m).cloned()).unwrap_or_else(|| tr(lang, "meeting_no_mediator")))
                                }
                            }
                            td {
                                @if let Some(done) = o.outcome {
                                    (meeting_outcome_words(lang, &words, done))
                                }
                                @if coordinator && o.status.is_on() && o.starts_at <= now {
                                    form method="post" action={ "/requests/" (r.code) "/meetings/outcome" } {
                                        input type="hidden" name="csrf" value=(s.csrf);
                                        input type="hidden" name="number" value=(o.seq);
                                        @let was = o.outcome;
                                        select name="outcome" aria-label=(tr(lang, "meeting_outcome")) {
                                            option value="done" selected[was.is_some_and(|r| r.done)] { (tr(lang, "meeting_outcome_done")) }
                                            option value="not_done" selected[was.is_some_and(|r| !r.done)] { (tr(lang, "meeting_outcome_not_done")) }
                                        }
                                        " "
                                        input type="number" name="minutes" min="1" max="720" aria-label=(tr(lang, "meeting_outcome_minutes")) placeholder=(tr(lang, "meeting_outcome_minutes_short")) value=[was.and_then(|r| r.worked_minutes)];
                                        " "
                                        select name="no_show" aria-label=(tr(lang, "meeting_outcome_no_show")) {
                                            option value="" { (tr(lang, "meeting_outcome_no_show")) }
                                            option value="family" selected[was.is_some_and(|r| r.no_show == Some(crate::domain::NoShow::Family))] { (tr(lang, "meeting_outcome_no_show_family")) }
                                            option value="mediator" selected[was.is_some_and(|r| r.no_show == Some(crate::domain::NoShow::Mediator))] { (tr(lang, "meeting_outcome_no_show_mediator")) }
                                        }
                                        " "
                                        button type="submit" { (tr(lang, "meeting_outcome_button")) }
                                    }
                                }
                            }
                            @if may_change_meetings && o.status.is_on() {
                                td { form method="post" action={ "/requests/" (r.code) "/meetings" } {
                                    input type="hidden" name="csrf" value=(s.csrf);
                                    input type="hidden" name="number" value=(o.seq);
                                    select name="scope" aria-label=(tr(lang, "meeting_scope")) {
                                        option value="one" { (tr(lang, "meeting_scope_one")) }
                                        option value="following" { (tr(lang, "meeting_scope_following")) }
                                    }
                                    " "
                                    button type="submit" name="action" value="cancel" { (tr(lang, "meeting_cancel_button")) }
                                    " "
                                    input type="date" name="date" aria-label=(tr(lang, "meeting_new_date")) value=(local.date().format("%Y-%m-%d"));
                                    input type="time" name="time" aria-label=(tr(lang, "meeting_new_time")) value=(local.time().format("%H:%M"));
                                    button type="submit" name="action" value="move" { (tr(lang, "meeting_move_button")) }
                                    @if coordinator && o.mediator_id.is_some() {
                                        " "
                                        button type="submit" name="action" value="release" { (tr(lang, "meeting_release_button")) }
                                    }
                                } }
                            } @else if may_change_meetings { td {} }
                        }
                    } }
                } }
            }
        }
        @if !r.status.is_terminal() {
            form.danger method="post" action={ "/requests/" (r.code) "/cancel" } {
                input type="hidden" name="csrf" value=(s.csrf);
                button type="submit" { (tr(lang, "cancel_button")) }
            }
        }
        @if coordinator {
            section aria-labelledby="h-offers" {
                h2 #h-offers { (tr(lang, "offers")) }
                @if offers.is_empty() { p { (tr(lang, "offers_none")) } } @else {
                    div.table { table {
                        thead { tr { th scope="col" { (tr(lang, "mediator")) } th scope="col" { (tr(lang, "wave")) } th scope="col" { (tr(lang, "answer")) } } }
                        tbody { @for o in &offers { tr {
                            td { (names.get(&o.mediator_id).cloned().unwrap_or_else(|| o.mediator_id.to_string())) }
                            td { (o.wave) }
                            td { (crate::prompts::t(lang, &format!("web.offer_{}", o.state), &[])) }
                        } } }
                    } }
                }
            }
        }
        section aria-labelledby="h-messages" {
            h2 #h-messages { (tr(lang, "messages")) }
            @if messages.is_empty() { p { (tr(lang, "messages_none")) } } @else {
                div.table { table {
                    thead { tr { th scope="col" { (tr(lang, "channel")) } th scope="col" { (tr(lang, "delivery")) } th scope="col" { (tr(lang, "attempts")) } } }
                    tbody { @for m in &messages { tr {
                        td { (m.channel.parse::<Channel>().map(|c| vocab::channel(lang, c)).unwrap_or_else(|_| m.channel.clone())) }
                        td { (crate::prompts::t(lang, &format!("web.delivery_{}", m.status), &[])) }
                        td { (m.attempts) }
                    } } }
                } }
            }
        }
        section aria-labelledby="h-history" {
            h2 #h-history { (tr(lang, "history")) }
            ol.history { @for h in &history {
                li {
                    time datetime=(h.at.to_rfc3339()) { (h.at.with_timezone(&st.tz).format("%d/%m/%Y %H:%M")) }
                    " " (vocab::audit_action(lang, &h.action))
                    @if coordinator { " · " span.actor { (h.actor) } }
                }
            } }
        }
    };
    Ok(layout(&s, &title, "/", body).into_response())
}

/// The outcomes a request page may announce (`?outcome=`); anything else is ignored.
const OUTCOMES: &[&str] = &[
    "created",
    "accepted",
    "rejected",
    "assigned",
    "cancelled",
    "corrected",
    "rescheduled",
    "meeting_cancelled",
    "meeting_moved",
    "meeting_released",
    "meeting_recorded",
    "meeting_series_done",
    "bad_meeting",
    "wrong_state",
    "mediator_inactive",
    "denied",
    "not_found",
    "failed",
    "choose_mediator",
    "hours_confirmed",
    "hours_disputed",
    "hours_settled",
    "hours_closed",
    "bad_hours",
    "evaluated",
    "bad_scores",
    "comment_needed",
    "too_early",
    "bad_language",
    "bad_date",
    "bad_time",
    "bad_duration",
    "bad_comune",
    "bad_intervention",
    "bad_modality",
];

/// `GET /new`: an operator writes a request in words, as to the bot.
pub(super) async fn new_request_form(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let s = session(&st, &headers).await?;
    if s.viewer.is_coordinator() {
        return Err(Refused::NotFound(s.lang));
    }
    Ok(new_request_page(&s, "", None).into_response())
}

/// The form, and when the text was read, its summary to confirm (the bot's
/// summary-and-confirm step): the fields in words, what is missing, the extractor's question.
pub(super) fn new_request_page(
    s: &Session,
    text: &str,
    read: Option<&crate::extract::RequestDraft>,
) -> Html<String> {
    let lang = s.lang;
    let none = || "—".to_string();
    let body = html! {
        @if let Some(d) = read {
            section aria-labelledby="h-summary" {
                h2 #h-summary { (tr(lang, "summary")) }
                dl {
                    (field_row(tr(lang, "col_language"), d.language.as_ref().map(|l| vocab::language(lang, l.code.as_str())).unwrap_or_else(none)))
                    (field_row(tr(lang, "col_when"), d.date.or(d.deadline).map(|x| vocab::date_time_year(lang, x, d.start)).unwrap_or_else(none)))
                    (field_row(tr(lang, "duration"), d.duration_minutes.map(|m| tr_args(lang, "minutes", &[("n", &m.to_string())])).unwrap_or_else(none)))
                    (field_row(tr(lang, "intervention"), d.intervention.map(|i| vocab::intervention(lang, i)).unwrap_or_else(none)))
                    (field_row(tr(lang, "modality"), d.modality.map(|m| vocab::modality(lang, m)).unwrap_or_else(none)))
                    (field_row(tr(lang, "col_comune"), d.comune.as_ref().map(|c| c.name.clone()).unwrap_or_else(none)))
                    (field_row(tr(lang, "address"), d.address.clone().unwrap_or_else(none)))
                    @if !d.missing.is_empty() {
                        (field_row(tr(lang, "missing"), vocab::fields(lang, &d.missing)))
                    }
                }
                @if !d.missing.is_empty() {
                    p.flag role="status" { (tr(lang, "summary_missing")) }
                } @else {
                    p role="status" { (tr(lang, "summary_confirm")) }
                }
            }
        }
        form.stack method="post" action="/new" {
            input type="hidden" name="csrf" value=(s.csrf);
            label for="n-text" { (tr(lang, "new_text")) }
            textarea #n-text name="text" rows="8" required aria-describedby="n-hint" { (text) }
            small #n-hint { (tr(lang, "new_hint")) }
            div.buttons {
                button type="submit" name="step" value="read" { (tr(lang, "new_read")) }
                @if read.is_some_and(|d| d.missing.is_empty()) {
                    button type="submit" name="step" value="confirm" { (tr(lang, "new_confirm")) }
                }
            }
        }
    };
    layout(s, &tr(lang, "new_title"), "/new", body)
}
