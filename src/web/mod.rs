//! The web console: server-rendered pages (maud, escaped by construction) on axum, one more
//! adapter over the core like the bot and the email intake. Coordinators run the queue from a
//! browser; an operator (social worker) sees only their own requests.
//!
//! Log-in has no password: a one-time link (`/login/<token>`, ten minutes, single use) that the
//! bot sends after `/console`, or that `connecting console link` prints, opens a session. The
//! session cookie is `HttpOnly`, `SameSite=Strict` and `Secure` unless the public URL is plain
//! http to this machine; sessions end after `[web] session_minutes` idle and twelve hours in
//! all, or at log-out. Every POST carries the session's CSRF token in the field `csrf`. Only
//! hashes of the tokens are stored (`store::console`). Every view of a request is audited.
//!
//! Every change of a request goes through [`actions`], the one file that calls the core.

pub mod actions;
mod admin;
mod pages;
mod people;
mod reports;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};

use crate::authz::Actor;
use crate::config::{Lang, WebConfig};
use crate::dispatch::Dispatcher;
use crate::store::console::hash_token;
use crate::store::{ConsoleRole, Coordinator, Operator, Store, StoreError};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "connecting_session";
/// The language cookie's name (`it` or `en`).
pub const LANG_COOKIE: &str = "connecting_lang";

/// What reading a quarantined email again did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Retried {
    /// It made or changed this request.
    Request(crate::domain::RequestCode),
    /// Read, and handled without a request (a bounce, an auto-reply, a duplicate...).
    Handled,
    /// Still unreadable: kept in quarantine, with the reason.
    Quarantined(String),
    /// Not (or no longer) in quarantine, or its raw bytes were purged.
    Gone,
}

/// The email intake's "read this quarantined message again", given to the console by the
/// composition root (the console, a channel itself, never calls the email channel).
pub type QuarantineRetry = Arc<
    dyn Fn(i64) -> std::pin::Pin<Box<dyn std::future::Future<Output = Retried> + Send>>
        + Send
        + Sync,
>;

/// What the console's handlers share.
#[derive(Clone)]
pub struct WebState {
    pub store: Store,
    pub dispatcher: Dispatcher,
    pub clock: Arc<dyn crate::clock::Clock>,
    /// The language when the browser chose none (`[intake] language`).
    pub lang: Lang,
    pub tz: chrono_tz::Tz,
    /// `Secure` on cookies (false only for plain http to this machine).
    pub secure_cookies: bool,
    pub idle_secs: i64,
    pub absolute_secs: i64,
    /// Reads a quarantined email again (`None`: the operations page points to the CLI).
    pub quarantine_retry: Option<QuarantineRetry>,
    /// The channels' health as `/healthz` reports it (`None`: not served by the daemon).
    pub health: Option<crate::http::HttpState>,
    /// The bot's username for invite links (`[telegram] bot_username`).
    pub bot_username: Option<String>,
    /// Days an invite code stays valid (`[telegram] invite_ttl_days`, default 7).
    pub invite_ttl_days: u32,
}

impl WebState {
    pub fn new(
        store: Store,
        dispatcher: Dispatcher,
        clock: Arc<dyn crate::clock::Clock>,
        cfg: &crate::config::Config,
    ) -> Option<Self> {
        let web: &WebConfig = cfg.web.as_ref()?;
        Some(WebState {
            store,
            dispatcher,
            clock,
            lang: cfg.intake.language,
            tz: cfg.intake.timezone,
            secure_cookies: !web.is_loopback_http(),
            idle_secs: i64::from(web.session_minutes) * 60,
            absolute_secs: WebConfig::ABSOLUTE_HOURS * 3600,
            quarantine_retry: None,
            health: None,
            bot_username: cfg.telegram.as_ref().and_then(|t| t.bot_username.clone()),
            invite_ttl_days: cfg.telegram.as_ref().map_or(7, |t| t.invite_ttl_days),
        })
    }

    /// With the channels' health, shown on the operations page.
    pub fn with_health(mut self, health: crate::http::HttpState) -> Self {
        self.health = Some(health);
        self
    }

    /// With the email intake's retry of quarantined messages.
    pub fn with_quarantine_retry(mut self, retry: QuarantineRetry) -> Self {
        self.quarantine_retry = Some(retry);
        self
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// Who is looking.
#[derive(Debug, Clone)]
pub enum Viewer {
    Coordinator(Coordinator),
    Operator(Operator),
}

impl Viewer {
    pub fn actor(&self) -> Actor {
        match self {
            Viewer::Coordinator(c) => Actor::Coordinator { id: c.id },
            Viewer::Operator(o) => Actor::Operator {
                id: Some(o.id),
                email: o.email.clone(),
                chat_id: o.telegram_id,
                active: o.active,
            },
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Viewer::Coordinator(c) => &c.name,
            Viewer::Operator(o) => &o.name,
        }
    }

    pub fn is_coordinator(&self) -> bool {
        matches!(self, Viewer::Coordinator(_))
    }
}

/// A request's session: who, their CSRF token, the language of the pages.
#[derive(Debug, Clone)]
pub struct Session {
    pub viewer: Viewer,
    pub csrf: String,
    pub lang: Lang,
}

/// The console's routes (every page needs a session; `/login/...` and the assets do not).
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/", get(pages::queue))
        .route("/queue/rows", get(pages::queue_rows))
        .route(
            "/new",
            get(pages::new_request_form).post(actions::new_request),
        )
        .route("/requests/{code}", get(pages::request))
        .route("/requests/{code}/assign", post(actions::assign))
        .route("/requests/{code}/cancel", post(actions::cancel))
        .route("/requests/{code}/hours", post(actions::hours))
        .route("/requests/{code}/evaluation", post(actions::evaluation))
        .route("/requests/{code}/fields", post(actions::correct))
        .route("/requests/{code}/review", post(actions::review))
        .route("/requests/{code}/meetings", post(actions::meeting))
        .route(
            "/requests/{code}/meetings/outcome",
            post(actions::meeting_outcome),
        )
        .route("/people", get(admin::people))
        .route("/people/mediators", post(people::add_mediator))
        .route("/people/mediators/new", get(people::new_mediator))
        .route(
            "/people/mediators/{id}",
            get(people::edit_mediator).post(people::update_mediator),
        )
        .route("/people/operators", post(people::add_operator))
        .route("/people/operators/new", get(people::new_operator))
        .route(
            "/people/operators/{id}",
            get(people::edit_operator).post(people::update_operator),
        )
        .route("/people/coordinators", post(people::add_coordinator))
        .route("/people/coordinators/new", get(people::new_coordinator))
        .route(
            "/people/coordinators/{id}",
            get(people::edit_coordinator).post(people::update_coordinator),
        )
        .route(
            "/people/coordinators/{id}/remove",
            post(people::remove_coordinator),
        )
        .route("/people/import", post(people::import))
        .route("/people/template/{file}", get(people::template))
        .route("/people/{kind}/{id}/invite", post(people::invite))
        .route("/people/{kind}/{id}/language", post(actions::set_language))
        .route("/calendar", get(admin::calendar))
        .route("/operations", get(admin::operations))
        .route("/operations/outbox/{id}/retry", post(actions::retry_dead))
        .route(
            "/operations/quarantine/{id}/retry",
            post(actions::retry_quarantined),
        )
        .route("/reports", get(reports::this_month))
        .route("/reports/{file}", get(reports::report))
        .route("/login/{token}", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/lang/{code}", get(choose_lang))
        .route("/assets/console.css", get(css))
        .route("/assets/console.js", get(js))
        .fallback(not_found)
        .layer(axum::middleware::map_response(security_headers))
        .with_state(Arc::new(state))
}

/// Headers on every answer: nothing loads from elsewhere, no inline script runs, no page is
/// framed or cached, and the login link never leaves in a Referer.
async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The CSRF token of a session: derived from its secret token, so it needs no storage and
/// changes with every session.
fn csrf_of(session_token: &str) -> String {
    hash_token(&format!("csrf\u{0}{session_token}"))
}

fn lang_of(st: &WebState, headers: &HeaderMap) -> Lang {
    chosen_lang(headers).unwrap_or(st.lang)
}

/// The language chosen in this browser (the `/lang/...` link), if any.
fn chosen_lang(headers: &HeaderMap) -> Option<Lang> {
    match cookie(headers, LANG_COOKIE) {
        Some("en") => Some(Lang::En),
        Some("it") => Some(Lang::It),
        _ => None,
    }
}

/// Why a page was refused.
pub enum Refused {
    /// No open session: the log-in page (401).
    NoSession(Lang),
    /// The CSRF token is missing or wrong (403), nothing changed.
    Csrf(Lang),
    /// Not this person's to see or do (404, as for a request that does not exist).
    NotFound(Lang),
    /// The store failed (500, logged).
    Store(StoreError),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::NoSession(lang) => {
                (StatusCode::UNAUTHORIZED, pages::login_needed(lang)).into_response()
            }
            Refused::Csrf(lang) => (
                StatusCode::FORBIDDEN,
                pages::message(lang, "web.csrf_title", "web.csrf_text"),
            )
                .into_response(),
            Refused::NotFound(lang) => (
                StatusCode::NOT_FOUND,
                pages::message(lang, "web.not_found_title", "web.not_found_text"),
            )
                .into_response(),
            Refused::Store(e) => {
                tracing::error!(error = %e, "console: store error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    pages::message(crate::config::Lang::It, "web.error_title", "web.error_text"),
                )
                    .into_response()
            }
        }
    }
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Refused::Store(e)
    }
}

/// The session of this request, or [`Refused::NoSession`]; its idle time starts again.
pub async fn session(st: &WebState, headers: &HeaderMap) -> Result<Session, Refused> {
    session_of(st, headers, true).await
}

/// The session for the queue's live refresh: checked, not kept alive (a tab left open does
/// not defeat the idle expiry).
pub async fn session_quiet(st: &WebState, headers: &HeaderMap) -> Result<Session, Refused> {
    session_of(st, headers, false).await
}

async fn session_of(st: &WebState, headers: &HeaderMap, touch: bool) -> Result<Session, Refused> {
    let lang = lang_of(st, headers);
    let Some(token) = cookie(headers, SESSION_COOKIE).filter(|t| !t.is_empty()) else {
        return Err(Refused::NoSession(lang));
    };
    let hash = hash_token(token);
    let now = st.now();
    // The session and its person in one read (one connection of the pool).
    let mut tx = st.store.begin().await?;
    let Some((s, last_seen)) = tx.console_session(&hash, now, st.idle_secs).await? else {
        return Err(Refused::NoSession(lang));
    };
    let viewer = match s.role {
        ConsoleRole::Coordinator => match tx.coordinator(s.person_id).await {
            Ok(c) => Viewer::Coordinator(c),
            Err(StoreError::NotFound(_)) => return Err(Refused::NoSession(lang)),
            Err(e) => return Err(e.into()),
        },
        ConsoleRole::Operator => match tx.operator(s.person_id).await {
            Ok(o) if o.active => Viewer::Operator(o),
            Ok(_) | Err(StoreError::NotFound(_)) => return Err(Refused::NoSession(lang)),
            Err(e) => return Err(e.into()),
        },
    };
    tx.commit().await?;
    // Its last use is written at most every TOUCH_EVERY_SECS.
    if touch && now.timestamp() - last_seen >= crate::store::console::TOUCH_EVERY_SECS {
        st.store.touch_console_session(&hash, now).await?;
    }
    // The browser's choice, else the person's own language, else the installation's.
    let own = match &viewer {
        Viewer::Coordinator(c) => c.language,
        Viewer::Operator(o) => o.language,
    };
    let lang = chosen_lang(headers).or(own).unwrap_or(lang);
    Ok(Session {
        viewer,
        csrf: csrf_of(token),
        lang,
    })
}

/// The session of a POST whose form carries the right `csrf`; [`Refused::Csrf`] otherwise.
pub async fn posted(
    st: &WebState,
    headers: &HeaderMap,
    form: &HashMap<String, String>,
) -> Result<Session, Refused> {
    let s = session(st, headers).await?;
    match form.get("csrf") {
        Some(c) if constant_time_eq(c.as_bytes(), s.csrf.as_bytes()) => Ok(s),
        _ => Err(Refused::Csrf(s.lang)),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn session_cookie(st: &WebState, value: &str, max_age: i64) -> String {
    format!(
        "{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{}",
        if st.secure_cookies { "; Secure" } else { "" }
    )
}

/// Whether a POST comes from one of our own pages: `Sec-Fetch-Site: same-origin` when the
/// browser sends it, else an `Origin` whose host is the request's `Host`; a client that sends
/// neither (not a browser) is not a cross-site page.
fn same_origin(_st: &WebState, headers: &HeaderMap) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site") {
        return site.eq_ignore_ascii_case("same-origin");
    }
    match (get("origin"), get("host")) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host)),
        (Some(_), None) => false,
        (None, _) => true,
    }
}

/// Whether `token` has the shape of a link token (64 hex digits).
fn token_shape(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `GET /login/<token>`: a usable link shows the one button that spends it
/// ([`pages::login_confirm`]); anything else opens nothing. Spends nothing.
async fn login_page(
    State(st): State<Arc<WebState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let lang = lang_of(&st, &headers);
    if !token_shape(&token)
        || !st
            .store
            .console_link_usable(&hash_token(&token), st.now())
            .await?
    {
        return Ok(link_refused(lang));
    }
    Ok(pages::login_confirm(lang, &token).into_response())
}

/// `POST /login/<token>` (the button of [`login_page`]): a valid, unused link opens a session
/// and goes to the queue; anything else opens nothing. A press from another site's page (its
/// `Origin` is not ours) is refused, so nobody can log a browser into their own session.
async fn login(
    State(st): State<Arc<WebState>>,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let lang = lang_of(&st, &headers);
    if !token_shape(&token) || !same_origin(&st, &headers) {
        return Ok(link_refused(lang));
    }
    let (raw, hash) = crate::store::console::new_token();
    let now = st.now();
    let opened = st
        .store
        .redeem_console_link(
            &hash_token(&token),
            &hash,
            now,
            now + chrono::Duration::seconds(st.absolute_secs),
        )
        .await?;
    match opened {
        Some(s) => {
            tracing::info!(
                role = s.role.as_str(),
                person = s.person_id,
                "console: log-in"
            );
            let mut res = Redirect::to("/").into_response();
            if let Ok(v) = HeaderValue::from_str(&session_cookie(&st, &raw, st.absolute_secs)) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            Ok(res)
        }
        None => Ok(link_refused(lang)),
    }
}

fn link_refused(lang: Lang) -> Response {
    (
        StatusCode::FORBIDDEN,
        pages::message(lang, "web.link_refused_title", "web.link_refused_text"),
    )
        .into_response()
}

/// `POST /logout`: the session ends here and in the store.
async fn logout(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    let s = posted(&st, &headers, &form).await?;
    if let Some(token) = cookie(&headers, SESSION_COOKIE) {
        st.store
            .end_console_session(&hash_token(token), st.now())
            .await?;
    }
    let mut res = (
        StatusCode::OK,
        pages::message(s.lang, "web.logged_out_title", "web.logged_out_text"),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&session_cookie(&st, "", 0)) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    Ok(res)
}

/// `GET /lang/it|en`: the pages' language, kept in a cookie.
async fn choose_lang(
    State(st): State<Arc<WebState>>,
    Path(code): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let lang = if code == "en" { "en" } else { "it" };
    // Back to a page of ours only: a path, never another site.
    let back = q
        .get("back")
        .filter(|b| b.starts_with('/') && !b.starts_with("//") && !b.contains('\\'))
        .cloned()
        .unwrap_or_else(|| "/".into());
    let mut res = Redirect::to(&back).into_response();
    let c = format!(
        "{LANG_COOKIE}={lang}; Path=/; Max-Age=31536000; SameSite=Strict{}",
        if st.secure_cookies { "; Secure" } else { "" }
    );
    if let Ok(v) = HeaderValue::from_str(&c) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("assets/console.css"),
    )
        .into_response()
}

async fn js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("assets/console.js"),
    )
        .into_response()
}

async fn not_found(State(st): State<Arc<WebState>>, headers: HeaderMap) -> Response {
    Refused::NotFound(lang_of(&st, &headers)).into_response()
}
