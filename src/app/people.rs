//! The people a coordinator manages — mediators, operators and the coordinators themselves — for
//! every entry point (the CLI's `add`, `import` and `coordinator remove`, the console's forms
//! and its CSV upload): one check of the input,
//! field by field, with the reason in words (`prompts/<lang>/people.toml`); a CSV read whole
//! before anything is written, so a file with one bad row imports nothing and names every bad
//! row; each change asked of the table once (`Action::Manage`: coordinators and the CLI) and
//! written in the caller's transaction; and the invite code that links a Telegram account.

use chrono::{DateTime, Duration, Utc};

use super::{Result, authorise};
use crate::authz::{Action, Actor, RequestFacts};
use crate::config::Lang;
use crate::domain::availability::Availability;
use crate::domain::{Ambito, Gender, LanguageCode, PersonKind};
use crate::prompts::t;
use crate::store::{NewCoordinator, NewMediator, NewOperator, Tx};

/// Why a field was refused. `field` is the form field and CSV column (`name`, `languages`...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    #[error("{field} is empty")]
    Empty { field: &'static str },
    #[error("{field}: {value:?} is not valid ({why})")]
    Invalid {
        field: &'static str,
        value: String,
        why: String,
    },
}

impl FieldError {
    /// The refusal in words, in `lang`.
    pub fn words(&self, lang: Lang) -> String {
        match self {
            FieldError::Empty { field } => t(
                lang,
                "people.field_empty",
                &[("field", &field_label(lang, field))],
            ),
            // What a valid value looks like, in words (the parser's own reason stays in the
            // Display text, for logs and the CLI's --json).
            FieldError::Invalid { field, value, .. } => {
                let ambiti = Ambito::all()
                    .map(|a| a.name())
                    .collect::<Vec<_>>()
                    .join(", ");
                let expected = t(
                    lang,
                    &format!("people.expected_{field}"),
                    &[("ambiti", &ambiti)],
                );
                t(
                    lang,
                    "people.field_invalid",
                    &[
                        ("field", &field_label(lang, field)),
                        ("value", value),
                        ("why", &expected),
                    ],
                )
            }
        }
    }
}

/// A field's name as people read it (`languages` -> "lingue").
pub fn field_label(lang: Lang, field: &str) -> String {
    t(lang, &format!("people.field_{field}"), &[])
}

fn invalid(field: &'static str, value: &str, why: impl ToString) -> FieldError {
    FieldError::Invalid {
        field,
        value: value.trim().to_string(),
        why: why.to_string(),
    }
}

fn required(field: &'static str, s: &str) -> Result<String, FieldError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(FieldError::Empty { field });
    }
    Ok(t.to_string())
}

fn optional(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn list<T>(
    field: &'static str,
    s: &str,
    parse: impl Fn(&str) -> Result<T, crate::domain::ParseError>,
) -> Result<Vec<T>, FieldError> {
    let items = s
        .split([',', ';', '|'])
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(|x| parse(x).map_err(|e| invalid(field, x, e)))
        .collect::<Result<Vec<T>, FieldError>>()?;
    if items.is_empty() {
        return Err(FieldError::Empty { field });
    }
    Ok(items)
}

fn telegram_id(s: Option<&str>) -> Result<Option<i64>, FieldError> {
    match optional(s) {
        None => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(Some)
            .ok_or_else(|| invalid("telegram_id", &v, "not a Telegram id")),
    }
}

fn email(field: &'static str, s: Option<&str>) -> Result<Option<String>, FieldError> {
    match optional(s) {
        None => Ok(None),
        Some(v) => {
            let ok = v.split_once('@').is_some_and(|(local, domain)| {
                !local.is_empty() && domain.contains('.') && !domain.contains('@')
            }) && !v.contains(char::is_whitespace);
            if ok {
                Ok(Some(v.to_lowercase()))
            } else {
                Err(invalid(field, &v, "not an email address"))
            }
        }
    }
}

/// Yes in a CSV cell or a form checkbox: `1`, `true`, `si`, `sì`, `yes`, `on`, `x`.
pub fn is_yes(s: &str) -> bool {
    matches!(
        s.trim().to_lowercase().as_str(),
        "1" | "true" | "si" | "sì" | "yes" | "y" | "on" | "x"
    )
}

/// A mediator as written in a form, a CSV row or the CLI's options.
#[derive(Debug, Clone, Default)]
pub struct MediatorInput {
    pub name: String,
    /// Language codes, separated by `,` `;` or `|` (`ar, fr, ary`).
    pub languages: String,
    /// Ambiti served (`Dalmine|Seriate`).
    pub ambiti: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub telegram_id: Option<String>,
    /// `f` or `m`.
    pub gender: Option<String>,
    /// Weekly availability (`lun-ven 08:00-18:00`); none: any time.
    pub availability: Option<String>,
    pub share_phone: bool,
}

impl MediatorInput {
    /// The mediator to store, or the first field refused.
    pub fn check(&self) -> Result<NewMediator, FieldError> {
        let gender = match optional(self.gender.as_deref()) {
            None => None,
            Some(g) => Some(
                g.to_lowercase()
                    .parse::<Gender>()
                    .map_err(|e| invalid("gender", &g, e))?,
            ),
        };
        let availability = match optional(self.availability.as_deref()) {
            None => None,
            Some(a) => Some(
                Availability::parse(&a)
                    .map_err(|e| invalid("availability", &a, e))?
                    .to_string(),
            ),
        };
        Ok(NewMediator {
            name: required("name", &self.name)?,
            languages: list("languages", &self.languages, LanguageCode::parse)?,
            ambiti: list("ambiti", &self.ambiti, Ambito::parse)?,
            phone: optional(self.phone.as_deref()),
            email: email("email", self.email.as_deref())?,
            telegram_id: telegram_id(self.telegram_id.as_deref())?,
            gender,
            availability,
            share_phone: self.share_phone,
        })
    }
}

/// An operator (social worker) as written in a form, a CSV row or the CLI's options.
#[derive(Debug, Clone, Default)]
pub struct OperatorInput {
    pub name: String,
    pub email: String,
    pub ente: String,
    pub ambito: String,
    pub phone: Option<String>,
    pub telegram_id: Option<String>,
}

impl OperatorInput {
    /// The operator to store, or the first field refused. The email address is required: it
    /// is how the intake recognises their requests.
    pub fn check(&self) -> Result<NewOperator, FieldError> {
        let name = required("name", &self.name)?;
        let email =
            email("email", Some(&self.email))?.ok_or(FieldError::Empty { field: "email" })?;
        let ente = required("ente", &self.ente)?;
        let ambito_text = required("ambito", &self.ambito)?;
        let ambito = Ambito::parse(&ambito_text).map_err(|e| invalid("ambito", &ambito_text, e))?;
        Ok(NewOperator {
            name,
            email: Some(email),
            phone: optional(self.phone.as_deref()),
            ente,
            ambito,
            telegram_id: telegram_id(self.telegram_id.as_deref())?,
        })
    }
}

/// A coordinator as written in the console's form or the CLI's options.
#[derive(Debug, Clone, Default)]
pub struct CoordinatorInput {
    pub name: String,
    pub telegram_id: Option<String>,
    pub email: Option<String>,
}

impl CoordinatorInput {
    /// The coordinator to store, or the first field refused.
    pub fn check(&self) -> Result<NewCoordinator, FieldError> {
        Ok(NewCoordinator {
            name: required("name", &self.name)?,
            telegram_id: telegram_id(self.telegram_id.as_deref())?,
            email: email("email", self.email.as_deref())?,
        })
    }
}

/// Which people a CSV file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Mediators,
    Operators,
}

impl Kind {
    /// The header line a file of this kind starts with (the columns it reads).
    pub fn header(self) -> &'static str {
        match self {
            Kind::Mediators => {
                "name,languages,ambiti,phone,telegram_id,gender,availability,email,share_phone,language"
            }
            Kind::Operators => "name,email,ente,ambito,phone,telegram_id,language",
        }
    }

    /// The columns without which no row can be valid.
    fn required(self) -> &'static [&'static str] {
        match self {
            Kind::Mediators => &["name", "languages", "ambiti"],
            Kind::Operators => &["name", "email", "ente", "ambito"],
        }
    }
}

/// A person checked and ready to store, with the language they read (`None`: `[intake]
/// language`).
#[derive(Debug, Clone)]
pub enum NewPerson {
    Mediator(NewMediator, Option<Lang>),
    Operator(NewOperator, Option<Lang>),
    Coordinator(NewCoordinator, Option<Lang>),
}

/// The language a person reads, as written in a CSV cell, a form or `--language`: `it` or `en`
/// (also `italiano`, `english`); empty: none.
pub fn language(s: Option<&str>) -> Result<Option<Lang>, FieldError> {
    match optional(s) {
        None => Ok(None),
        Some(v) => match v.to_lowercase().as_str() {
            "it" | "italiano" | "italian" => Ok(Some(Lang::It)),
            "en" | "english" | "inglese" => Ok(Some(Lang::En)),
            _ => Err(invalid("language", &v, "it or en")),
        },
    }
}

/// Why a CSV file imports nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CsvError {
    #[error("the file is not a CSV file with a header line: {0}")]
    Unreadable(String),
    #[error("the header lacks the column {0:?}")]
    MissingColumn(&'static str),
    #[error("the file has no rows")]
    NoRows,
    #[error("{} rows are not valid", .0.len())]
    Rows(Vec<RowError>),
}

/// One refused row of a CSV file (`line` counts the header as line 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub line: usize,
    pub error: RowProblem,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowProblem {
    Field(FieldError),
    /// The row itself (a wrong number of cells, an unclosed quote).
    Malformed(String),
}

impl CsvError {
    /// Every reason in words, in `lang`, one per line.
    pub fn words(&self, lang: Lang) -> Vec<String> {
        match self {
            CsvError::Unreadable(why) => vec![t(lang, "people.csv_unreadable", &[("why", why)])],
            CsvError::MissingColumn(c) => {
                vec![t(lang, "people.csv_missing_column", &[("column", c)])]
            }
            CsvError::NoRows => vec![t(lang, "people.csv_no_rows", &[])],
            CsvError::Rows(rows) => rows
                .iter()
                .map(|r| {
                    let reason = match &r.error {
                        RowProblem::Field(f) => f.words(lang),
                        RowProblem::Malformed(why) => {
                            t(lang, "people.csv_malformed_row", &[("why", why)])
                        }
                    };
                    t(
                        lang,
                        "people.csv_row",
                        &[("line", &r.line.to_string()), ("reason", &reason)],
                    )
                })
                .collect(),
        }
    }
}

/// Reads a whole CSV file of `kind` (UTF-8, with or without BOM; `,` or `;` as separator, as
/// Italian spreadsheets save it). Nothing is returned unless every row is valid.
pub fn read_csv(kind: Kind, bytes: &[u8]) -> Result<Vec<NewPerson>, CsvError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| CsvError::Unreadable("not UTF-8 text".into()))?
        .trim_start_matches('\u{feff}');
    let first = text.lines().next().unwrap_or_default();
    let delimiter = if first.matches(';').count() > first.matches(',').count() {
        b';'
    } else {
        b','
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| CsvError::Unreadable(e.to_string()))?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    if let Some(missing) = kind
        .required()
        .iter()
        .find(|c| !headers.iter().any(|h| h == *c))
    {
        return Err(CsvError::MissingColumn(missing));
    }
    let mut people = Vec::new();
    let mut errors = Vec::new();
    for (i, rec) in reader.records().enumerate() {
        let line = i + 2;
        let rec = match rec {
            Ok(rec) => rec,
            Err(e) => {
                errors.push(RowError {
                    line,
                    error: RowProblem::Malformed(e.to_string()),
                });
                continue;
            }
        };
        if rec.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let cell = |name: &str| -> Option<String> {
            headers
                .iter()
                .position(|h| h == name)
                .and_then(|i| rec.get(i))
                .map(str::to_string)
        };
        let checked = match kind {
            Kind::Mediators => MediatorInput {
                name: cell("name").unwrap_or_default(),
                languages: cell("languages").unwrap_or_default(),
                ambiti: cell("ambiti").unwrap_or_default(),
                phone: cell("phone"),
                email: cell("email"),
                telegram_id: cell("telegram_id"),
                gender: cell("gender"),
                availability: cell("availability"),
                share_phone: cell("share_phone").is_some_and(|s| is_yes(&s)),
            }
            .check()
            .and_then(|m| {
                Ok(NewPerson::Mediator(
                    m,
                    language(cell("language").as_deref())?,
                ))
            }),
            Kind::Operators => OperatorInput {
                name: cell("name").unwrap_or_default(),
                email: cell("email").unwrap_or_default(),
                ente: cell("ente").unwrap_or_default(),
                ambito: cell("ambito").unwrap_or_default(),
                phone: cell("phone"),
                telegram_id: cell("telegram_id"),
            }
            .check()
            .and_then(|o| {
                Ok(NewPerson::Operator(
                    o,
                    language(cell("language").as_deref())?,
                ))
            }),
        };
        match checked {
            Ok(p) => people.push(p),
            Err(e) => errors.push(RowError {
                line,
                error: RowProblem::Field(e),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(CsvError::Rows(errors));
    }
    if people.is_empty() {
        return Err(CsvError::NoRows);
    }
    Ok(people)
}

fn may_manage(actor: &Actor) -> Result<()> {
    authorise(actor, Action::Manage, &RequestFacts::default())
}

/// Writes `person` inside `tx`, with their language, and queues their Telegram menu when an
/// account is linked (`app::menu`); `default`: `[intake] language`.
async fn insert(tx: &mut Tx, person: &NewPerson, default: Lang, now: DateTime<Utc>) -> Result<i64> {
    let (kind, id, language, telegram_id) = match person {
        NewPerson::Mediator(m, l) => (
            PersonKind::Mediator,
            tx.insert_mediator(m, now).await?,
            *l,
            m.telegram_id,
        ),
        NewPerson::Operator(o, l) => (
            PersonKind::Operator,
            tx.insert_operator(o, now).await?,
            *l,
            o.telegram_id,
        ),
        NewPerson::Coordinator(c, l) => (
            PersonKind::Coordinator,
            tx.insert_coordinator(c, now).await?,
            *l,
            c.telegram_id,
        ),
    };
    if language.is_some() {
        tx.set_person_language(kind, id, language).await?;
    }
    if let Some(tg) = telegram_id {
        super::menu::refresh(tx, tg, default, now).await?;
    }
    Ok(id)
}

/// `actor` adds `person` inside `tx`; returns the new id.
pub async fn add(
    tx: &mut Tx,
    actor: &Actor,
    person: &NewPerson,
    default: Lang,
    now: DateTime<Utc>,
) -> Result<i64> {
    may_manage(actor)?;
    let id = insert(tx, person, default, now).await?;
    tracing::info!(actor = %actor.audit_name(), person = id, "people: added");
    Ok(id)
}

/// `actor` adds every person of an import inside `tx` (all or nothing: the caller commits);
/// returns how many.
pub async fn import(
    tx: &mut Tx,
    actor: &Actor,
    people: &[NewPerson],
    default: Lang,
    now: DateTime<Utc>,
) -> Result<usize> {
    may_manage(actor)?;
    for p in people {
        insert(tx, p, default, now).await?;
    }
    tracing::info!(actor = %actor.audit_name(), count = people.len(), "people: imported");
    Ok(people.len())
}

/// The menus of the Telegram accounts a change touched: the one linked before (it may have
/// lost its role) and the one linked now.
async fn refresh_menus(
    tx: &mut Tx,
    before: Option<i64>,
    after: Option<i64>,
    default: Lang,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some(old) = before.filter(|old| Some(*old) != after) {
        super::menu::refresh(tx, old, default, now).await?;
    }
    if let Some(tg) = after {
        super::menu::refresh(tx, tg, default, now).await?;
    }
    Ok(())
}

/// What may change of a mediator beyond their fields: a pause (no offers) and whether they
/// still work with the cooperative.
#[derive(Debug, Clone, Copy)]
pub struct MediatorState {
    pub paused: bool,
    pub active: bool,
}

/// `actor` changes mediator `id` to `m` inside `tx`; the menus follow (a deactivated mediator
/// is left with `/start`).
pub async fn update_mediator(
    tx: &mut Tx,
    actor: &Actor,
    id: i64,
    m: &NewMediator,
    state: MediatorState,
    default: Lang,
    now: DateTime<Utc>,
) -> Result<()> {
    may_manage(actor)?;
    let before = tx
        .update_mediator(id, m, state.paused, state.active)
        .await?;
    refresh_menus(tx, before, m.telegram_id, default, now).await?;
    tracing::info!(actor = %actor.audit_name(), mediator = id, "people: mediator changed");
    Ok(())
}

/// `actor` changes operator `id` to `o` inside `tx`; the menus follow.
pub async fn update_operator(
    tx: &mut Tx,
    actor: &Actor,
    id: i64,
    o: &NewOperator,
    active: bool,
    default: Lang,
    now: DateTime<Utc>,
) -> Result<()> {
    may_manage(actor)?;
    let before = tx.update_operator(id, o, active).await?;
    refresh_menus(tx, before, o.telegram_id, default, now).await?;
    tracing::info!(actor = %actor.audit_name(), operator = id, "people: operator changed");
    Ok(())
}

/// `actor` changes coordinator `id` to `c`, reading `language` (`None`: `[intake] language`),
/// inside `tx`; the menus follow.
pub async fn update_coordinator(
    tx: &mut Tx,
    actor: &Actor,
    id: i64,
    c: &NewCoordinator,
    language: Option<Lang>,
    default: Lang,
    now: DateTime<Utc>,
) -> Result<()> {
    may_manage(actor)?;
    let before = tx.update_coordinator(id, c).await?;
    tx.set_person_language(PersonKind::Coordinator, id, language)
        .await?;
    refresh_menus(tx, before, c.telegram_id, default, now).await?;
    tracing::info!(actor = %actor.audit_name(), coordinator = id, "people: coordinator changed");
    Ok(())
}

/// `actor` takes coordinator `id` out of service inside `tx` (kept for the history; their
/// Telegram account freed and its menu refreshed: `/start` only, or the role it still has).
/// The last coordinator in service is not removed: alerts would reach nobody.
pub async fn remove_coordinator(
    tx: &mut Tx,
    actor: &Actor,
    id: i64,
    default: Lang,
    now: DateTime<Utc>,
) -> Result<()> {
    may_manage(actor)?;
    let before = tx.remove_coordinator(id).await?;
    if tx.coordinators_in_service().await? == 0 {
        return Err(super::AppError::LastCoordinator(id));
    }
    refresh_menus(tx, before, None, default, now).await?;
    tracing::info!(actor = %actor.audit_name(), coordinator = id, "people: coordinator removed");
    Ok(())
}

/// `actor` makes a one-time invite code for person `id` of `kind`, valid for `ttl`.
pub async fn invite(
    tx: &mut Tx,
    actor: &Actor,
    kind: PersonKind,
    id: i64,
    ttl: Duration,
    now: DateTime<Utc>,
) -> Result<String> {
    may_manage(actor)?;
    let code = tx.insert_invite(kind, id, now, ttl).await?;
    tracing::info!(actor = %actor.audit_name(), kind = kind.as_str(), person = id, "people: invite made");
    Ok(code)
}

/// The `t.me` link that starts a chat with `bot` carrying invite `code`.
pub fn invite_link(bot: &str, code: &str) -> String {
    format!(
        "https://t.me/{}?start={code}",
        bot.trim().trim_start_matches('@')
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mediator_is_checked_field_by_field() {
        let ok = MediatorInput {
            name: " Amina ".into(),
            languages: "ar, fr".into(),
            ambiti: "Dalmine|Seriate".into(),
            gender: Some("F".into()),
            ..Default::default()
        }
        .check()
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.name, "Amina");
        assert_eq!(ok.languages.len(), 2);
        let no_lang = MediatorInput {
            name: "A".into(),
            ambiti: "Dalmine".into(),
            ..Default::default()
        }
        .check();
        assert_eq!(
            no_lang.err(),
            Some(FieldError::Empty { field: "languages" })
        );
        let bad_id = MediatorInput {
            name: "A".into(),
            languages: "ar".into(),
            ambiti: "Dalmine".into(),
            telegram_id: Some("abc".into()),
            ..Default::default()
        }
        .check();
        assert!(matches!(
            bad_id,
            Err(FieldError::Invalid {
                field: "telegram_id",
                ..
            })
        ));
    }

    #[test]
    fn a_csv_with_one_bad_row_imports_nothing_and_names_it() {
        let csv =
            "\u{feff}name;languages;ambiti\nAmina;ar;Dalmine\nBoris;;Seriate\nChen;zh;Nowhere\n";
        match read_csv(Kind::Mediators, csv.as_bytes()) {
            Err(CsvError::Rows(rows)) => {
                let lines: Vec<usize> = rows.iter().map(|r| r.line).collect();
                assert_eq!(lines, vec![3, 4]);
            }
            other => panic!("expected row errors, got {other:?}"),
        }
        let good = "name,email,ente,ambito\nSara,sara@comune.bg.it,Comune di Dalmine,Dalmine\n";
        let people = read_csv(Kind::Operators, good.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(people.len(), 1);
        assert_eq!(
            read_csv(Kind::Operators, b"name,email\n").err(),
            Some(CsvError::MissingColumn("ente"))
        );
    }
}
