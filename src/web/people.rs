//! The people pages' changes: add and edit a mediator, an operator or a coordinator
//! (`/people/mediators/new`, `/people/mediators/ID`, `/people/operators/...`,
//! `/people/coordinators/...`; a coordinator's form carries their language, and
//! `POST /people/coordinators/ID/remove` takes one out of service), import a CSV file of either
//! (`POST /people/import`, multipart: `csrf`, `kind`, `file`), and make a Telegram invite for a
//! person (`POST /people/KIND/ID/invite`): its `t.me` link and the link's QR code, drawn here as
//! SVG. Coordinators only; every POST carries its `csrf`. Input is checked by `app::people`, the
//! same check as the CLI's, and a refused form comes back with what was typed and the reason in
//! words; a CSV with one bad row imports nothing and names every bad row.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, PreEscaped, html};

use super::admin::coordinator;
use super::pages::{layout, tr};
use super::{Refused, Session, WebState, posted};
use crate::app::people::{
    self, CoordinatorInput, Kind, MediatorInput, MediatorState, NewPerson, OperatorInput,
};
use crate::config::Lang;
use crate::domain::{Ambito, Gender, PersonKind};
use crate::store::{Coordinator, Mediator, Operator, StoreError};
use crate::vocab;

/// A mediator's form as typed (words, not codes: languages by name).
#[derive(Debug, Clone, Default)]
struct MediatorForm {
    name: String,
    languages: String,
    ambiti: Vec<String>,
    phone: String,
    email: String,
    telegram_id: String,
    gender: String,
    availability: String,
    share_phone: bool,
    paused: bool,
    active: bool,
}

impl MediatorForm {
    fn of(lang: Lang, m: &Mediator) -> Self {
        MediatorForm {
            name: m.name.clone(),
            languages: m
                .languages
                .iter()
                .map(|l| vocab::language(lang, l.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
            ambiti: m.ambiti.iter().map(|a| a.name().to_string()).collect(),
            phone: m.phone.clone().unwrap_or_default(),
            email: m.email.clone().unwrap_or_default(),
            telegram_id: m.telegram_id.map(|i| i.to_string()).unwrap_or_default(),
            gender: m.gender.map(|g| g.as_str().to_string()).unwrap_or_default(),
            availability: m.availability.clone().unwrap_or_default(),
            share_phone: m.share_phone,
            paused: m.paused,
            active: m.active,
        }
    }

    fn posted(form: &[(String, String)]) -> Self {
        let one = |k: &str| {
            form.iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let checked = |k: &str| form.iter().any(|(n, v)| n == k && people::is_yes(v));
        MediatorForm {
            name: one("name"),
            languages: one("languages"),
            ambiti: form
                .iter()
                .filter(|(n, _)| n == "ambiti")
                .map(|(_, v)| v.clone())
                .collect(),
            phone: one("phone"),
            email: one("email"),
            telegram_id: one("telegram_id"),
            gender: one("gender"),
            availability: one("availability"),
            share_phone: checked("share_phone"),
            paused: checked("paused"),
            active: checked("active"),
        }
    }

    /// The input `app::people` checks: each language named in words becomes its code.
    fn input(&self, lang: Lang) -> MediatorInput {
        let languages = self
            .languages
            .split([',', ';', '|'])
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(|x| vocab::language_from_words(lang, x).unwrap_or_else(|| x.to_string()))
            .collect::<Vec<_>>()
            .join(",");
        let opt = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
        MediatorInput {
            name: self.name.clone(),
            languages,
            ambiti: self.ambiti.join("|"),
            phone: opt(&self.phone),
            email: opt(&self.email),
            telegram_id: opt(&self.telegram_id),
            gender: opt(&self.gender),
            availability: opt(&self.availability),
            share_phone: self.share_phone,
        }
    }
}

/// An operator's form as typed.
#[derive(Debug, Clone, Default)]
struct OperatorForm {
    name: String,
    email: String,
    ente: String,
    ambito: String,
    phone: String,
    telegram_id: String,
    active: bool,
}

impl OperatorForm {
    fn of(o: &Operator) -> Self {
        OperatorForm {
            name: o.name.clone(),
            email: o.email.clone().unwrap_or_default(),
            ente: o.ente.clone(),
            ambito: o.ambito.name().to_string(),
            phone: o.phone.clone().unwrap_or_default(),
            telegram_id: o.telegram_id.map(|i| i.to_string()).unwrap_or_default(),
            active: o.active,
        }
    }

    fn posted(form: &HashMap<String, String>) -> Self {
        let one = |k: &str| form.get(k).cloned().unwrap_or_default();
        OperatorForm {
            name: one("name"),
            email: one("email"),
            ente: one("ente"),
            ambito: one("ambito"),
            phone: one("phone"),
            telegram_id: one("telegram_id"),
            active: form.get("active").is_some_and(|v| people::is_yes(v)),
        }
    }

    fn input(&self) -> OperatorInput {
        let opt = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
        OperatorInput {
            name: self.name.clone(),
            email: self.email.clone(),
            ente: self.ente.clone(),
            ambito: self.ambito.clone(),
            phone: opt(&self.phone),
            telegram_id: opt(&self.telegram_id),
        }
    }
}

/// A coordinator's form as typed (`language`: `it`, `en`, or empty for `[intake] language`).
#[derive(Debug, Clone, Default)]
struct CoordinatorForm {
    name: String,
    email: String,
    telegram_id: String,
    language: String,
}

impl CoordinatorForm {
    fn of(c: &Coordinator) -> Self {
        CoordinatorForm {
            name: c.name.clone(),
            email: c.email.clone().unwrap_or_default(),
            telegram_id: c.telegram_id.map(|i| i.to_string()).unwrap_or_default(),
            language: c
                .language
                .map(|l| l.as_str().to_string())
                .unwrap_or_default(),
        }
    }

    fn posted(form: &HashMap<String, String>) -> Self {
        let one = |k: &str| form.get(k).cloned().unwrap_or_default();
        CoordinatorForm {
            name: one("name"),
            email: one("email"),
            telegram_id: one("telegram_id"),
            language: one("language"),
        }
    }

    /// The coordinator to store and the language they read, or the first field refused.
    fn check(&self) -> Result<(crate::store::NewCoordinator, Option<Lang>), people::FieldError> {
        let opt = |s: &str| Some(s.to_string()).filter(|s| !s.trim().is_empty());
        let c = CoordinatorInput {
            name: self.name.clone(),
            telegram_id: opt(&self.telegram_id),
            email: opt(&self.email),
        }
        .check()?;
        Ok((c, people::language(Some(&self.language))?))
    }
}

fn parse_id(id: &str, lang: Lang) -> Result<i64, Refused> {
    id.parse::<i64>().map_err(|_| Refused::NotFound(lang))
}

/// A store error for a form: a duplicate (Telegram id, email) in words, not a 500.
fn store_refusal(lang: Lang, e: crate::app::AppError) -> Result<String, Refused> {
    match e {
        crate::app::AppError::Store(StoreError::Duplicate(_)) => Ok(tr(lang, "person_duplicate")),
        crate::app::AppError::Store(StoreError::NotFound(_)) => Err(Refused::NotFound(lang)),
        crate::app::AppError::Denied(_) => Err(Refused::NotFound(lang)),
        crate::app::AppError::Store(e) => Err(Refused::Store(e)),
        other => Err(Refused::Store(StoreError::Conflict(other.to_string()))),
    }
}

/// The end of a person's form: committed and back to the list ("saved" after an edit, else
/// "added"), or the form again with why the core refused it (nothing written).
async fn saved(
    tx: crate::store::Tx,
    edited: bool,
    done: Result<(), crate::app::AppError>,
    lang: Lang,
    again: impl FnOnce(String) -> Response,
) -> Result<Response, Refused> {
    match done {
        Ok(()) => {
            tx.commit().await?;
            let outcome = if edited { "saved" } else { "added" };
            Ok(Redirect::to(&format!("/people?outcome={outcome}")).into_response())
        }
        Err(e) => Ok(again(store_refusal(lang, e)?)),
    }
}

fn error_box(lang: Lang, errors: &[String]) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.flag role="alert" {
                p { strong { (tr(lang, "person_refused")) } }
                ul { @for e in errors { li { (e) } } }
            }
        }
    }
}

fn mediator_page(s: &Session, id: Option<i64>, f: &MediatorForm, errors: &[String]) -> Response {
    let lang = s.lang;
    let action = match id {
        Some(id) => format!("/people/mediators/{id}"),
        None => "/people/mediators".to_string(),
    };
    let title = tr(
        lang,
        if id.is_some() {
            "mediator_edit"
        } else {
            "mediator_new"
        },
    );
    let body = html! {
        (error_box(lang, errors))
        form.grid method="post" action=(action) {
            input type="hidden" name="csrf" value=(s.csrf);
            label for="p-name" { (tr(lang, "name")) }
            input #p-name name="name" required autocomplete="off" value=(f.name);
            label for="p-languages" { (tr(lang, "languages")) }
            input #p-languages name="languages" required list="p-language-names" autocomplete="off" value=(f.languages) aria-describedby="p-languages-hint";
            datalist #p-language-names { @for n in vocab::language_names(lang) { option value=(n) {} } }
            small #p-languages-hint { (tr(lang, "languages_hint")) }
            fieldset.wide {
                legend { (people::field_label(lang, "ambiti")) }
                @for a in Ambito::all() {
                    label.check {
                        input type="checkbox" name="ambiti" value=(a.name()) checked[f.ambiti.iter().any(|x| x == a.name())];
                        " " (a.name())
                    }
                }
            }
            label for="p-phone" { (tr(lang, "phone")) }
            input #p-phone name="phone" type="tel" autocomplete="off" value=(f.phone);
            label for="p-email" { (tr(lang, "email")) }
            input #p-email name="email" type="email" autocomplete="off" value=(f.email);
            label for="p-telegram" { (tr(lang, "telegram_id")) }
            input #p-telegram name="telegram_id" inputmode="numeric" autocomplete="off" value=(f.telegram_id) aria-describedby="p-telegram-hint";
            small #p-telegram-hint { (tr(lang, "telegram_id_hint")) }
            label for="p-gender" { (tr(lang, "gender")) }
            select #p-gender name="gender" {
                option value="" { "—" }
                @for g in [Gender::F, Gender::M] {
                    option value=(g.as_str()) selected[f.gender == g.as_str()] { (vocab::gender(lang, g)) }
                }
            }
            label for="p-availability" { (tr(lang, "availability")) }
            input #p-availability name="availability" autocomplete="off" value=(f.availability) aria-describedby="p-availability-hint";
            small #p-availability-hint { (tr(lang, "availability_hint")) }
            label.check { input type="checkbox" name="share_phone" value="1" checked[f.share_phone]; " " (tr(lang, "share_phone")) }
            @if id.is_some() {
                label.check { input type="checkbox" name="paused" value="1" checked[f.paused]; " " (tr(lang, "paused")) }
                label.check { input type="checkbox" name="active" value="1" checked[f.active]; " " (tr(lang, "person_active")) }
            }
            button type="submit" { (tr(lang, "person_save")) }
        }
        @if let Some(id) = id { (invite_form(s, "mediators", id)) }
        p { a href="/people" { (tr(lang, "back_to_people")) } }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (status, layout(s, &title, "/people", body)).into_response()
}

fn operator_page(s: &Session, id: Option<i64>, f: &OperatorForm, errors: &[String]) -> Response {
    let lang = s.lang;
    let action = match id {
        Some(id) => format!("/people/operators/{id}"),
        None => "/people/operators".to_string(),
    };
    let title = tr(
        lang,
        if id.is_some() {
            "operator_edit"
        } else {
            "operator_new"
        },
    );
    let body = html! {
        (error_box(lang, errors))
        form.grid method="post" action=(action) {
            input type="hidden" name="csrf" value=(s.csrf);
            label for="o-name" { (tr(lang, "name")) }
            input #o-name name="name" required autocomplete="off" value=(f.name);
            label for="o-email" { (tr(lang, "email")) }
            input #o-email name="email" type="email" required autocomplete="off" value=(f.email);
            label for="o-ente" { (tr(lang, "ente")) }
            input #o-ente name="ente" required autocomplete="off" value=(f.ente);
            label for="o-ambito" { (tr(lang, "col_ambito")) }
            select #o-ambito name="ambito" required {
                option value="" { "—" }
                @for a in Ambito::all() { option value=(a.name()) selected[f.ambito == a.name()] { (a.name()) } }
            }
            label for="o-phone" { (tr(lang, "phone")) }
            input #o-phone name="phone" type="tel" autocomplete="off" value=(f.phone);
            label for="o-telegram" { (tr(lang, "telegram_id")) }
            input #o-telegram name="telegram_id" inputmode="numeric" autocomplete="off" value=(f.telegram_id) aria-describedby="o-telegram-hint";
            small #o-telegram-hint { (tr(lang, "telegram_id_hint")) }
            @if id.is_some() {
                label.check { input type="checkbox" name="active" value="1" checked[f.active]; " " (tr(lang, "person_active")) }
            }
            button type="submit" { (tr(lang, "person_save")) }
        }
        @if let Some(id) = id { (invite_form(s, "operators", id)) }
        p { a href="/people" { (tr(lang, "back_to_people")) } }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (status, layout(s, &title, "/people", body)).into_response()
}

fn coordinator_page(
    s: &Session,
    id: Option<i64>,
    f: &CoordinatorForm,
    errors: &[String],
) -> Response {
    let lang = s.lang;
    let action = match id {
        Some(id) => format!("/people/coordinators/{id}"),
        None => "/people/coordinators".to_string(),
    };
    let title = tr(
        lang,
        if id.is_some() {
            "coordinator_edit"
        } else {
            "coordinator_new"
        },
    );
    let body = html! {
        (error_box(lang, errors))
        form.grid method="post" action=(action) {
            input type="hidden" name="csrf" value=(s.csrf);
            label for="c-name" { (tr(lang, "name")) }
            input #c-name name="name" required autocomplete="off" value=(f.name);
            label for="c-email" { (tr(lang, "email")) }
            input #c-email name="email" type="email" autocomplete="off" value=(f.email) aria-describedby="c-email-hint";
            small #c-email-hint { (tr(lang, "coordinator_email_hint")) }
            label for="c-telegram" { (tr(lang, "telegram_id")) }
            input #c-telegram name="telegram_id" inputmode="numeric" autocomplete="off" value=(f.telegram_id) aria-describedby="c-telegram-hint";
            small #c-telegram-hint { (tr(lang, "telegram_id_hint")) }
            label for="c-language" { (tr(lang, "person_language")) }
            select #c-language name="language" {
                @for (code, key) in [("", "language_default"), ("it", "language_it"), ("en", "language_en")] {
                    option value=(code) selected[f.language == code] { (tr(lang, key)) }
                }
            }
            button type="submit" { (tr(lang, "person_save")) }
        }
        @if let Some(id) = id {
            (invite_form(s, "coordinators", id))
            form.buttons method="post" action={ "/people/coordinators/" (id) "/remove" } {
                input type="hidden" name="csrf" value=(s.csrf);
                button.secondary type="submit" aria-describedby="c-remove-hint" { (tr(lang, "coordinator_remove")) }
                " " small #c-remove-hint { (tr(lang, "coordinator_remove_hint")) }
            }
        }
        p { a href="/people" { (tr(lang, "back_to_people")) } }
    };
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (status, layout(s, &title, "/people", body)).into_response()
}

/// The button that makes a Telegram invite for a person.
pub(super) fn invite_form(s: &Session, kind: &str, id: i64) -> Markup {
    html! {
        form.buttons method="post" action={ "/people/" (kind) "/" (id) "/invite" } {
            input type="hidden" name="csrf" value=(s.csrf);
            button.secondary type="submit" { (tr(s.lang, "invite_button")) }
        }
    }
}

/// `GET /people/mediators/new`.
pub(super) async fn new_mediator(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let s = coordinator(&st, &headers).await?;
    Ok(mediator_page(&s, None, &MediatorForm::default(), &[]))
}

/// `GET /people/mediators/ID`.
pub(super) async fn edit_mediator(
    State(st): State<Arc<WebState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let s = coordinator(&st, &headers).await?;
    let id = parse_id(&id, s.lang)?;
    let m = match st.store.mediator(id).await {
        Ok(m) => m,
        Err(StoreError::NotFound(_)) => return Err(Refused::NotFound(s.lang)),
        Err(e) => return Err(e.into()),
    };
    Ok(mediator_page(
        &s,
        Some(id),
        &MediatorForm::of(s.lang, &m),
        &[],
    ))
}

/// `POST /people/mediators` (add) and `POST /people/mediators/ID` (change).
async fn save_mediator(
    st: &WebState,
    headers: &HeaderMap,
    id: Option<i64>,
    pairs: Vec<(String, String)>,
) -> Result<Response, Refused> {
    let map: HashMap<String, String> = pairs.iter().cloned().collect();
    let s = posted(st, headers, &map).await?;
    if !s.viewer.is_coordinator() {
        return Err(Refused::NotFound(s.lang));
    }
    let lang = s.lang;
    let f = MediatorForm::posted(&pairs);
    let m = match f.input(lang).check() {
        Ok(m) => m,
        Err(e) => return Ok(mediator_page(&s, id, &f, &[e.words(lang)])),
    };
    let actor = s.viewer.actor();
    let now = st.clock.now();
    let mut tx = st.store.begin().await?;
    let done = match id {
        None => people::add(&mut tx, &actor, &NewPerson::Mediator(m, None), st.lang, now)
            .await
            .map(|_| ()),
        Some(id) => {
            let state = MediatorState {
                paused: f.paused,
                active: f.active,
            };
            people::update_mediator(&mut tx, &actor, id, &m, state, st.lang, now).await
        }
    };
    saved(tx, id.is_some(), done, lang, |why| {
        mediator_page(&s, id, &f, &[why])
    })
    .await
}

/// `POST /people/mediators`.
pub(super) async fn add_mediator(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, Refused> {
    save_mediator(&st, &headers, None, pairs).await
}

/// `POST /people/mediators/ID`.
pub(super) async fn update_mediator(
    State(st): State<Arc<WebState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::Form(pairs): axum::Form<Vec<(String, String)>>,
) -> Result<Response, Refused> {
    let id = parse_id(&id, st.lang)?;
    save_mediator(&st, &headers, Some(id), pairs).await
}

/// `GET /people/operators/new`.
pub(super) async fn new_operator(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let s = coordinator(&st, &headers).await?;
    Ok(operator_page(&s, None, &OperatorForm::default(), &[]))
}

/// `GET /people/operators/ID`.
pub(super) async fn edit_operator(
    State(st): State<Arc<WebState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let s = coordinator(&st, &headers).await?;
    let id = parse_id(&id, s.lang)?;
    let o = match st.store.operator(id).await {
        Ok(o) => o,
        Err(StoreError::NotFound(_)) => return Err(Refused::NotFound(s.lang)),
        Err(e) => return Err(e.into()),
    };
    Ok(operator_page(&s, Some(id), &OperatorForm::of(&o), &[]))
}

async fn save_operator(
    st: &WebState,
    headers: &HeaderMap,
    id: Option<i64>,
    form: HashMap<String, String>,
) -> Result<Response, Refused> {
    let s = posted(st, headers, &form).await?;
    if !s.viewer.is_coordinator() {
        return Err(Refused::NotFound(s.lang));
    }
    let lang = s.lang;
    let f = OperatorForm::posted(&form);
    let o = match f.input().check() {
        Ok(o) => o,
        Err(e) => return Ok(operator_page(&s, id, &f, &[e.words(lang)])),
    };
    let actor = s.viewer.actor();
    let now = st.clock.now();
    let mut tx = st.store.begin().await?;
    let done = match id {
        None => people::add(&mut tx, &actor, &NewPerson::Operator(o, None), st.lang, now)
            .await
            .map(|_| ()),
        Some(id) => people::update_operator(&mut tx, &actor, id, &o, f.active, st.lang, now).await,
    };
    saved(tx, id.is_some(), done, lang, |why| {
        operator_page(&s, id, &f, &[why])
    })
    .await
}

/// `POST /people/operators`.
pub(super) async fn add_operator(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    save_operator(&st, &headers, None, form).await
}

/// `POST /people/operators/ID`.
pub(super) async fn update_operator(
    State(st): State<Arc<WebState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    let id = parse_id(&id, st.lang)?;
    save_operator(&st, &headers, Some(id), form).await
}

/// `GET /people/coordinators/new`.
pub(super) async fn new_coordinator(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let s = coordinator(&st, &headers).await?;
    Ok(coordinator_page(&s, None, &CoordinatorForm::default(), &[]))
}

/// `GET /people/coordinators/ID`.
pub(super) async fn edit_coordinator(
    State(st): State<Arc<WebState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let s = coordinator(&st, &headers).await?;
    let id = parse_id(&id, s.lang)?;
    let c = match st.store.coordinator(id).await {
        Ok(c) => c,
        Err(StoreError::NotFound(_)) => return Err(Refused::NotFound(s.lang)),
        Err(e) => return Err(e.into()),
    };
    Ok(coordinator_page(
        &s,
        Some(id),
        &CoordinatorForm::of(&c),
        &[],
    ))
}

async fn save_coordinator(
    st: &WebState,
    headers: &HeaderMap,
    id: Option<i64>,
    form: HashMap<String, String>,
) -> Result<Response, Refused> {
    let s = posted(st, headers, &form).await?;
    if !s.viewer.is_coordinator() {
        return Err(Refused::NotFound(s.lang));
    }
    let lang = s.lang;
    let f = CoordinatorForm::posted(&form);
    let (c, language) = match f.check() {
        Ok(checked) => checked,
        Err(e) => return Ok(coordinator_page(&s, id, &f, &[e.words(lang)])),
    };
    let actor = s.viewer.actor();
    let now = st.clock.now();
    let mut tx = st.store.begin().await?;
    let done = match id {
        None => people::add(
            &mut tx,
            &actor,
            &NewPerson::Coordinator(c, language),
            st.lang,
            now,
        )
        .await
        .map(|_| ()),
        Some(id) => {
            people::update_coordinator(&mut tx, &actor, id, &c, language, st.lang, now).await
        }
    };
    saved(tx, id.is_some(), done, lang, |why| {
        coordinator_page(&s, id, &f, &[why])
    })
    .await
}

/// `POST /people/coordinators`.
pub(super) async fn add_coordinator(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    save_coordinator(&st, &headers, None, form).await
}

/// `POST /people/coordinators/ID`.
pub(super) async fn update_coordinator(
    State(st): State<Arc<WebState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    let id = parse_id(&id, st.lang)?;
    save_coordinator(&st, &headers, Some(id), form).await
}

/// `POST /people/coordinators/ID/remove` (`csrf`): out of service through `app::people`; the
/// last coordinator in service stays, and the page says why.
pub(super) async fn remove_coordinator(
    State(st): State<Arc<WebState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    let s = posted(&st, &headers, &form).await?;
    if !s.viewer.is_coordinator() {
        return Err(Refused::NotFound(s.lang));
    }
    let lang = s.lang;
    let id = parse_id(&id, lang)?;
    let c = match st.store.coordinator(id).await {
        Ok(c) => c,
        Err(StoreError::NotFound(_)) => return Err(Refused::NotFound(lang)),
        Err(e) => return Err(e.into()),
    };
    let mut tx = st.store.begin().await?;
    match people::remove_coordinator(&mut tx, &s.viewer.actor(), id, st.lang, st.clock.now()).await
    {
        Ok(()) => {
            tx.commit().await?;
            tracing::info!(coordinator = id, "console: coordinator removed");
            Ok(Redirect::to("/people?outcome=removed").into_response())
        }
        Err(crate::app::AppError::LastCoordinator(_)) => {
            tx.rollback().await?;
            Ok(coordinator_page(
                &s,
                Some(id),
                &CoordinatorForm::of(&c),
                &[tr(lang, "coordinator_last")],
            ))
        }
        Err(e) => {
            let why = store_refusal(lang, e)?;
            Ok(coordinator_page(
                &s,
                Some(id),
                &CoordinatorForm::of(&c),
                &[why],
            ))
        }
    }
}

/// The largest CSV file the console takes (about 60 people fit in a few kilobytes).
const MAX_CSV_BYTES: usize = 1024 * 1024;

/// The import form on `/people`.
pub(super) fn import_form(s: &Session) -> Markup {
    let lang = s.lang;
    html! {
        section aria-labelledby="h-import" {
            h2 #h-import { (tr(lang, "import_title")) }
            form.grid method="post" action="/people/import" enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(s.csrf);
                label for="i-kind" { (tr(lang, "import_kind")) }
                select #i-kind name="kind" {
                    option value="mediators" { (tr(lang, "mediators")) }
                    option value="operators" { (tr(lang, "operators")) }
                }
                label for="i-file" { (tr(lang, "import_file")) }
                input #i-file type="file" name="file" accept=".csv,text/csv" required aria-describedby="i-file-hint";
                small #i-file-hint {
                    (tr(lang, "import_hint")) " "
                    a href="/people/template/mediators.csv" download { (tr(lang, "import_template_mediators")) } ", "
                    a href="/people/template/operators.csv" download { (tr(lang, "import_template_operators")) } "."
                }
                button type="submit" { (tr(lang, "import_button")) }
            }
        }
    }
}

/// `GET /people/template/mediators.csv` and `.../operators.csv`: the header line an import
/// file starts with (UTF-8 with BOM, so a spreadsheet opens it as UTF-8).
pub(super) async fn template(
    State(st): State<Arc<WebState>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let s = coordinator(&st, &headers).await?;
    let kind = match file.as_str() {
        "mediators.csv" => Kind::Mediators,
        "operators.csv" => Kind::Operators,
        _ => return Err(Refused::NotFound(s.lang)),
    };
    let body = format!("\u{feff}{}\r\n", kind.header());
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// `POST /people/import` (multipart: `csrf`, `kind`, `file`): all rows or none.
pub(super) async fn import(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, Refused> {
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut file: Option<Vec<u8>> = None;
    let mut too_big = false;
    while let Ok(Some(field)) = multipart.next_field().await {
        let name = field.name().unwrap_or_default().to_string();
        match field.bytes().await {
            Ok(bytes) if name == "file" => {
                too_big = bytes.len() > MAX_CSV_BYTES;
                file = Some(bytes.to_vec());
            }
            Ok(bytes) => {
                fields.insert(name, String::from_utf8_lossy(&bytes).into_owned());
            }
            Err(_) => break,
        }
    }
    let s = posted(&st, &headers, &fields).await?;
    if !s.viewer.is_coordinator() {
        return Err(Refused::NotFound(s.lang));
    }
    let lang = s.lang;
    let kind = match fields.get("kind").map(String::as_str) {
        Some("operators") => Kind::Operators,
        _ => Kind::Mediators,
    };
    let errors: Vec<String> = match (&file, too_big) {
        (_, true) => vec![tr(lang, "import_too_big")],
        (None, _) => vec![tr(lang, "import_no_file")],
        (Some(bytes), false) => match people::read_csv(kind, bytes) {
            Err(e) => e.words(lang),
            Ok(rows) => {
                let mut tx = st.store.begin().await?;
                match people::import(&mut tx, &s.viewer.actor(), &rows, st.lang, st.clock.now())
                    .await
                {
                    Ok(n) => {
                        tx.commit().await?;
                        tracing::info!(count = n, "console: people imported");
                        return Ok(Redirect::to(&format!("/people?outcome=imported&count={n}"))
                            .into_response());
                    }
                    Err(e) => vec![store_refusal(lang, e)?],
                }
            }
        },
    };
    let body = html! {
        (error_box(lang, &errors))
        p { (tr(lang, "import_nothing")) }
        (import_form(&s))
        p { a href="/people" { (tr(lang, "back_to_people")) } }
    };
    Ok((
        StatusCode::UNPROCESSABLE_ENTITY,
        layout(&s, &tr(lang, "import_title"), "/people", body),
    )
        .into_response())
}

/// The QR code of `text` as an SVG element (dark modules on white, with its quiet zone).
fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .quiet_zone(true)
        .build();
    // The renderer writes an XML declaration first; inline SVG in HTML starts at <svg.
    svg.find("<svg").map(|i| svg[i..].to_string())
}

/// `POST /people/KIND/ID/invite` (`csrf`): a one-time invite code for the person, its `t.me`
/// link and the link's QR code to scan with the phone's camera.
pub(super) async fn invite(
    State(st): State<Arc<WebState>>,
    Path((kind, id)): Path<(String, String)>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Result<Response, Refused> {
    let s = posted(&st, &headers, &form).await?;
    if !s.viewer.is_coordinator() {
        return Err(Refused::NotFound(s.lang));
    }
    let lang = s.lang;
    let person = match kind.as_str() {
        "mediators" => PersonKind::Mediator,
        "operators" => PersonKind::Operator,
        "coordinators" => PersonKind::Coordinator,
        _ => return Err(Refused::NotFound(lang)),
    };
    let id = parse_id(&id, lang)?;
    let name = match person {
        PersonKind::Mediator => st.store.mediator(id).await.map(|m| m.name),
        PersonKind::Operator => st.store.operator(id).await.map(|o| o.name),
        PersonKind::Coordinator => st.store.coordinator(id).await.map(|c| c.name),
    };
    let name = match name {
        Ok(n) => n,
        Err(StoreError::NotFound(_)) => return Err(Refused::NotFound(lang)),
        Err(e) => return Err(e.into()),
    };
    let now = st.clock.now();
    let ttl = chrono::Duration::days(i64::from(st.invite_ttl_days.max(1)));
    let mut tx = st.store.begin().await?;
    let code = match people::invite(&mut tx, &s.viewer.actor(), person, id, ttl, now).await {
        Ok(code) => code,
        Err(e) => {
            store_refusal(lang, e)?;
            return Err(Refused::NotFound(lang));
        }
    };
    tx.commit().await?;
    let expires = (now + ttl)
        .with_timezone(&st.tz)
        .format("%d/%m/%Y %H:%M")
        .to_string();
    let link = st
        .bot_username
        .as_deref()
        .map(|bot| people::invite_link(bot, &code));
    let qr = link.as_deref().and_then(qr_svg);
    let body = html! {
        p { (crate::prompts::t(lang, "web.invite_for", &[("name", &name), ("expires", &expires)])) }
        @match &link {
            Some(link) => {
                @if let Some(svg) = &qr {
                    figure.qr role="img" aria-label=(tr(lang, "invite_qr_label")) {
                        // Drawn by qrcode from our own link (bot name and a code of letters and digits).
                        (PreEscaped(svg))
                        figcaption { (tr(lang, "invite_qr_caption")) }
                    }
                }
                p { (tr(lang, "invite_link")) " " a #invite-link href=(link) { (link) } }
            }
            None => { p.flag { (tr(lang, "invite_no_bot")) } }
        }
        p { (tr(lang, "invite_code")) " " code #invite-code { (code) } }
        p.hint { (tr(lang, "invite_hint")) }
        p { a href="/people" { (tr(lang, "back_to_people")) } }
    };
    tracing::info!(kind = person.as_str(), person = id, "console: invite made");
    Ok(layout(&s, &tr(lang, "invite_title"), "/people", body).into_response())
}
