//! The people connecting knows: operators (social workers), mediators, coordinators, and the
//! one-time invite codes that link a Telegram account to one of them.

use chrono::{DateTime, Utc};
use rand::Rng;
use serde::Serialize;

use super::{Result, Store, StoreError, from_ts, ts};
use crate::domain::Lang;
use crate::domain::{Ambito, Gender, LanguageCode, PersonKind};
use crate::{with_pool, with_tx};

/// A social worker of a Servizio Tutela Minori.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Operator {
    pub id: i64,
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub ente: String,
    pub ambito: Ambito,
    pub telegram_id: Option<i64>,
    pub active: bool,
    /// The language they read; `None`: `[intake] language`.
    pub language: Option<Lang>,
}

#[derive(Debug, Clone)]
pub struct NewOperator {
    pub name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub ente: String,
    pub ambito: Ambito,
    pub telegram_id: Option<i64>,
}

/// A cultural mediator.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mediator {
    pub id: i64,
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub telegram_id: Option<i64>,
    pub gender: Option<Gender>,
    pub languages: Vec<LanguageCode>,
    pub ambiti: Vec<Ambito>,
    /// Weekly availability as written (`lun-ven 08:00-18:00`); `None`: any time.
    pub availability: Option<String>,
    pub share_phone: bool,
    pub active: bool,
    pub paused: bool,
    /// The language they read; `None`: `[intake] language`.
    pub language: Option<Lang>,
}

#[derive(Debug, Clone)]
pub struct NewMediator {
    pub name: String,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub telegram_id: Option<i64>,
    pub gender: Option<Gender>,
    pub languages: Vec<LanguageCode>,
    pub ambiti: Vec<Ambito>,
    pub availability: Option<String>,
    pub share_phone: bool,
}

/// A coordinator at the cooperative.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coordinator {
    pub id: i64,
    pub name: String,
    pub telegram_id: Option<i64>,
    pub email: Option<String>,
    /// The language they read; `None`: `[intake] language`.
    pub language: Option<Lang>,
}

#[derive(Debug, Clone)]
pub struct NewCoordinator {
    pub name: String,
    pub telegram_id: Option<i64>,
    pub email: Option<String>,
}

/// What redeeming an invite code linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redeemed {
    pub kind: PersonKind,
    pub person_id: i64,
}

/// Why an invite code was refused.
#[derive(Debug, thiserror::Error)]
pub enum InviteError {
    #[error("invite code unknown")]
    Unknown,
    #[error("invite code expired")]
    Expired,
    #[error("invite code already used")]
    Used,
    #[error("this Telegram account is already linked to someone else")]
    TelegramIdTaken,
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(sqlx::FromRow)]
struct OperatorRow {
    id: i64,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    ente: String,
    ambito: String,
    telegram_id: Option<i64>,
    active: bool,
    language: Option<String>,
}

impl TryFrom<OperatorRow> for Operator {
    type Error = StoreError;
    fn try_from(r: OperatorRow) -> Result<Self> {
        Ok(Operator {
            ambito: Ambito::parse(&r.ambito).map_err(|e| StoreError::Corrupt(e.to_string()))?,
            id: r.id,
            name: r.name,
            email: r.email,
            phone: r.phone,
            ente: r.ente,
            telegram_id: r.telegram_id,
            active: r.active,
            language: lang_of(r.language.as_deref()),
        })
    }
}

#[derive(sqlx::FromRow)]
pub(super) struct MediatorRow {
    id: i64,
    name: String,
    phone: Option<String>,
    email: Option<String>,
    telegram_id: Option<i64>,
    gender: Option<String>,
    languages: String,
    ambiti: String,
    availability: Option<String>,
    share_phone: bool,
    active: bool,
    paused: bool,
    language: Option<String>,
}

impl TryFrom<MediatorRow> for Mediator {
    type Error = StoreError;
    fn try_from(r: MediatorRow) -> Result<Self> {
        let corrupt = |e: crate::domain::ParseError| StoreError::Corrupt(e.to_string());
        Ok(Mediator {
            gender: r
                .gender
                .as_deref()
                .map(str::parse)
                .transpose()
                .map_err(corrupt)?,
            languages: split_list(&r.languages, ',')
                .map(LanguageCode::parse)
                .collect::<std::result::Result<_, _>>()
                .map_err(corrupt)?,
            ambiti: split_list(&r.ambiti, '|')
                .map(Ambito::parse)
                .collect::<std::result::Result<_, _>>()
                .map_err(corrupt)?,
            id: r.id,
            name: r.name,
            phone: r.phone,
            email: r.email,
            telegram_id: r.telegram_id,
            availability: r.availability,
            share_phone: r.share_phone,
            active: r.active,
            paused: r.paused,
            language: lang_of(r.language.as_deref()),
        })
    }
}

/// A person's stored language; an unknown one is read as none (the default), never an error.
pub(super) fn lang_of(v: Option<&str>) -> Option<Lang> {
    v.and_then(Lang::supported)
}

/// Writes of people inside the caller's transaction (`app::people`).
impl super::Tx {
    pub async fn insert_operator(&mut self, op: &NewOperator, now: DateTime<Utc>) -> Result<i64> {
        let op = &NewOperator {
            name: super::db_text(&op.name),
            email: super::db_opt(&op.email),
            phone: super::db_opt(&op.phone),
            ente: super::db_text(&op.ente),
            ..op.clone()
        };
        let email = op.email.as_deref().map(|e| e.trim().to_lowercase());
        let id: i64 = with_tx!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO operators (name, email, phone, ente, ambito, telegram_id, active, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(&op.name)
            .bind(&email)
            .bind(&op.phone)
            .bind(&op.ente)
            .bind(op.ambito.name())
            .bind(op.telegram_id)
            .bind(true)
            .bind(ts(now))
            .fetch_one(&mut *c)
            .await
            .map_err(|e| StoreError::unique_as(e, "an operator with this email or Telegram id"))?
        });
        Ok(id)
    }

    pub async fn insert_mediator(&mut self, m: &NewMediator, now: DateTime<Utc>) -> Result<i64> {
        let m = &NewMediator {
            name: super::db_text(&m.name),
            phone: super::db_opt(&m.phone),
            email: super::db_opt(&m.email),
            availability: super::db_opt(&m.availability),
            ..m.clone()
        };
        let (languages, ambiti) = mediator_lists(m);
        let id: i64 = with_tx!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO mediators (name, phone, email, telegram_id, gender, languages, ambiti,
                                        availability, share_phone, active, paused, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
            )
            .bind(&m.name)
            .bind(&m.phone)
            .bind(&m.email)
            .bind(m.telegram_id)
            .bind(m.gender.map(|g| g.as_str()))
            .bind(&languages)
            .bind(&ambiti)
            .bind(&m.availability)
            .bind(m.share_phone)
            .bind(true)
            .bind(false)
            .bind(ts(now))
            .fetch_one(&mut *c)
            .await
            .map_err(|e| StoreError::unique_as(e, "a mediator with this Telegram id"))?
        });
        Ok(id)
    }

    /// The coordinator `id`, if still in service, read in this transaction.
    pub async fn coordinator(&mut self, id: i64) -> Result<Coordinator> {
        let row: Option<CoordinatorRow> = with_tx!(self, c => {
            sqlx::query_as(COORDINATOR_BY_ID).bind(id).fetch_optional(&mut *c).await?
        });
        row.map(coordinator_of)
            .ok_or_else(|| StoreError::NotFound(format!("coordinator {id}")))
    }

    /// The operator `id`, read in this transaction.
    pub async fn operator(&mut self, id: i64) -> Result<Operator> {
        let sql = format!("SELECT {OPERATOR_COLS} FROM operators WHERE id = $1");
        let row: Option<OperatorRow> = with_tx!(self, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *c).await?
        });
        row.ok_or_else(|| StoreError::NotFound(format!("operator {id}")))?
            .try_into()
    }

    /// Every mediator's name by id (the console's lists show names, nothing else).
    pub async fn mediator_names(&mut self) -> Result<std::collections::HashMap<i64, String>> {
        let rows: Vec<(i64, String)> = with_tx!(self, c => {
            sqlx::query_as("SELECT id, name FROM mediators").fetch_all(&mut *c).await?
        });
        Ok(rows.into_iter().collect())
    }

    /// Stores a new coordinator; returns their id.
    pub async fn insert_coordinator(
        &mut self,
        c: &NewCoordinator,
        now: DateTime<Utc>,
    ) -> Result<i64> {
        let id: i64 = with_tx!(self, x => {
            sqlx::query_scalar(
                "INSERT INTO coordinators (name, telegram_id, email, active, created_at)
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(super::db_text(&c.name))
            .bind(c.telegram_id)
            .bind(super::db_opt(&c.email))
            .bind(true)
            .bind(ts(now))
            .fetch_one(&mut *x)
            .await
            .map_err(|e| StoreError::unique_as(e, "a coordinator with this Telegram id"))?
        });
        Ok(id)
    }

    /// Changes coordinator `id`'s fields (one in service); returns the Telegram account that
    /// was linked before.
    pub async fn update_coordinator(&mut self, id: i64, c: &NewCoordinator) -> Result<Option<i64>> {
        let before = self.telegram_of(PersonKind::Coordinator, id).await?;
        let n = with_tx!(self, x => {
            sqlx::query(
                "UPDATE coordinators SET name = $1, telegram_id = $2, email = $3
                 WHERE id = $4 AND active = $5",
            )
            .bind(super::db_text(&c.name))
            .bind(c.telegram_id)
            .bind(super::db_opt(&c.email))
            .bind(id)
            .bind(true)
            .execute(&mut *x)
            .await
            .map_err(|e| StoreError::unique_as(e, "a coordinator with this Telegram id"))?
            .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("coordinator {id}")));
        }
        Ok(before)
    }

    /// Takes coordinator `id` out of service: kept for the history, no longer listed, alerted
    /// or let in; their Telegram account is freed. Returns that account.
    pub async fn remove_coordinator(&mut self, id: i64) -> Result<Option<i64>> {
        let before = self.telegram_of(PersonKind::Coordinator, id).await?;
        let n = with_tx!(self, x => {
            sqlx::query(
                "UPDATE coordinators SET active = $1, telegram_id = NULL WHERE id = $2 AND active = $3",
            )
            .bind(false)
            .bind(id)
            .bind(true)
            .execute(&mut *x)
            .await?
            .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("coordinator {id}")));
        }
        Ok(before)
    }

    /// How many coordinators are in service.
    pub async fn coordinators_in_service(&mut self) -> Result<i64> {
        let n: i64 = with_tx!(self, x => {
            sqlx::query_scalar("SELECT COUNT(*) FROM coordinators WHERE active = $1")
                .bind(true)
                .fetch_one(&mut *x)
                .await?
        });
        Ok(n)
    }

    /// Checks that the person exists and is in service, then stores a new one-time code for
    /// them.
    pub async fn insert_invite(
        &mut self,
        kind: PersonKind,
        person_id: i64,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> Result<String> {
        let table = person_table(kind);
        let sql = format!("SELECT COUNT(*) FROM {table} WHERE id = $1 AND active = $2");
        let n: i64 = with_tx!(self, c => {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(person_id).bind(true).fetch_one(&mut *c).await?
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("{kind} {person_id}")));
        }
        let code = new_invite_code();
        with_tx!(self, c => {
            sqlx::query(
                "INSERT INTO invites (code, person_kind, person_id, expires_at, created_at)
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(&code)
            .bind(kind.as_str())
            .bind(person_id)
            .bind(ts(now + ttl))
            .bind(ts(now))
            .execute(&mut *c)
            .await?;
        });
        Ok(code)
    }

    /// Sets (or, with `None`, clears) the language person `person_id` reads.
    pub async fn set_person_language(
        &mut self,
        kind: PersonKind,
        person_id: i64,
        lang: Option<Lang>,
    ) -> Result<()> {
        let sql = format!(
            "UPDATE {} SET language = $1 WHERE id = $2",
            person_table(kind)
        );
        with_tx!(self, c => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(lang.map(Lang::as_str))
                .bind(person_id)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// The Telegram account linked to person `person_id` of `kind`, if any.
    async fn telegram_of(&mut self, kind: PersonKind, person_id: i64) -> Result<Option<i64>> {
        let sql = format!(
            "SELECT telegram_id FROM {} WHERE id = $1",
            person_table(kind)
        );
        let row: Option<(Option<i64>,)> = with_tx!(self, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(person_id).fetch_optional(&mut *c).await?
        });
        match row {
            Some((tg,)) => Ok(tg),
            None => Err(StoreError::NotFound(format!("{kind} {person_id}"))),
        }
    }

    /// Changes mediator `id`'s fields, pause and activity; returns the Telegram account that
    /// was linked before.
    pub async fn update_mediator(
        &mut self,
        id: i64,
        m: &NewMediator,
        paused: bool,
        active: bool,
    ) -> Result<Option<i64>> {
        let before = self.telegram_of(PersonKind::Mediator, id).await?;
        let (languages, ambiti) = mediator_lists(m);
        let n = with_tx!(self, c => {
            sqlx::query(
                "UPDATE mediators SET name = $1, phone = $2, email = $3, telegram_id = $4, gender = $5,
                        languages = $6, ambiti = $7, availability = $8, share_phone = $9,
                        paused = $10, active = $11
                 WHERE id = $12",
            )
            .bind(super::db_text(&m.name))
            .bind(super::db_opt(&m.phone))
            .bind(super::db_opt(&m.email))
            .bind(m.telegram_id)
            .bind(m.gender.map(|g| g.as_str()))
            .bind(&languages)
            .bind(&ambiti)
            .bind(super::db_opt(&m.availability))
            .bind(m.share_phone)
            .bind(paused)
            .bind(active)
            .bind(id)
            .execute(&mut *c)
            .await
            .map_err(|e| StoreError::unique_as(e, "a mediator with this Telegram id"))?
            .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("mediator {id}")));
        }
        Ok(before)
    }

    /// Changes operator `id`'s fields and activity; returns the Telegram account that was
    /// linked before.
    pub async fn update_operator(
        &mut self,
        id: i64,
        o: &NewOperator,
        active: bool,
    ) -> Result<Option<i64>> {
        let before = self.telegram_of(PersonKind::Operator, id).await?;
        let email = o
            .email
            .as_deref()
            .map(|e| super::db_text(e.trim()).to_lowercase());
        let n = with_tx!(self, c => {
            sqlx::query(
                "UPDATE operators SET name = $1, email = $2, phone = $3, ente = $4, ambito = $5,
                        telegram_id = $6, active = $7
                 WHERE id = $8",
            )
            .bind(super::db_text(&o.name))
            .bind(&email)
            .bind(super::db_opt(&o.phone))
            .bind(super::db_text(&o.ente))
            .bind(o.ambito.name())
            .bind(o.telegram_id)
            .bind(active)
            .bind(id)
            .execute(&mut *c)
            .await
            .map_err(|e| StoreError::unique_as(e, "an operator with this email or Telegram id"))?
            .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("operator {id}")));
        }
        Ok(before)
    }
}

/// A mediator's languages and Ambiti as their columns hold them (`ar,fr`; `Dalmine|Seriate`).
fn mediator_lists(m: &NewMediator) -> (String, String) {
    let languages = m
        .languages
        .iter()
        .map(|l| l.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let ambiti = m
        .ambiti
        .iter()
        .map(|a| a.name())
        .collect::<Vec<_>>()
        .join("|");
    (languages, ambiti)
}

fn split_list(s: &str, sep: char) -> impl Iterator<Item = &str> {
    s.split(sep).map(str::trim).filter(|x| !x.is_empty())
}

const OPERATOR_COLS: &str = "id, name, email, phone, ente, ambito, telegram_id, active, language";
pub(super) const MEDIATOR_COLS: &str = "id, name, phone, email, telegram_id, gender, languages, ambiti, availability, share_phone, active, paused, language";

impl Store {
    pub async fn add_operator(&self, op: &NewOperator, now: DateTime<Utc>) -> Result<Operator> {
        let mut tx = self.begin().await?;
        let id = tx.insert_operator(op, now).await?;
        tx.commit().await?;
        self.operator(id).await
    }

    pub async fn operator(&self, id: i64) -> Result<Operator> {
        let sql = format!("SELECT {OPERATOR_COLS} FROM operators WHERE id = $1");
        let row: Option<OperatorRow> = with_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await?
        });
        row.ok_or_else(|| StoreError::NotFound(format!("operator {id}")))?
            .try_into()
    }

    pub async fn operators(&self) -> Result<Vec<Operator>> {
        let sql = format!("SELECT {OPERATOR_COLS} FROM operators ORDER BY id");
        let rows: Vec<OperatorRow> = with_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await?
        });
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// The active operator registered with this email address (case-insensitive).
    pub async fn operator_by_email(&self, email: &str) -> Result<Option<Operator>> {
        let sql = format!("SELECT {OPERATOR_COLS} FROM operators WHERE email = $1 AND active = $2");
        let row: Option<OperatorRow> = with_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(email.trim().to_lowercase())
                .bind(true)
                .fetch_optional(p)
                .await?
        });
        row.map(TryInto::try_into).transpose()
    }

    pub async fn operator_by_telegram(&self, telegram_id: i64) -> Result<Option<Operator>> {
        let sql =
            format!("SELECT {OPERATOR_COLS} FROM operators WHERE telegram_id = $1 AND active = $2");
        let row: Option<OperatorRow> = with_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(telegram_id).bind(true).fetch_optional(p).await?
        });
        row.map(TryInto::try_into).transpose()
    }

    pub async fn add_mediator(&self, m: &NewMediator, now: DateTime<Utc>) -> Result<Mediator> {
        let mut tx = self.begin().await?;
        let id = tx.insert_mediator(m, now).await?;
        tx.commit().await?;
        self.mediator(id).await
    }

    pub async fn mediator(&self, id: i64) -> Result<Mediator> {
        let sql = format!("SELECT {MEDIATOR_COLS} FROM mediators WHERE id = $1");
        let row: Option<MediatorRow> = with_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await?
        });
        row.ok_or_else(|| StoreError::NotFound(format!("mediator {id}")))?
            .try_into()
    }

    pub async fn mediators(&self) -> Result<Vec<Mediator>> {
        let sql = format!("SELECT {MEDIATOR_COLS} FROM mediators ORDER BY id");
        let rows: Vec<MediatorRow> = with_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(p).await?
        });
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// Every mediator's name by id (the console's lists show names, nothing else).
    pub async fn mediator_names(&self) -> Result<std::collections::HashMap<i64, String>> {
        let rows: Vec<(i64, String)> = with_pool!(self, p => {
            sqlx::query_as("SELECT id, name FROM mediators").fetch_all(p).await?
        });
        Ok(rows.into_iter().collect())
    }

    pub async fn mediator_by_telegram(&self, telegram_id: i64) -> Result<Option<Mediator>> {
        let sql =
            format!("SELECT {MEDIATOR_COLS} FROM mediators WHERE telegram_id = $1 AND active = $2");
        let row: Option<MediatorRow> = with_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(telegram_id).bind(true).fetch_optional(p).await?
        });
        row.map(TryInto::try_into).transpose()
    }

    /// The active mediator with this email address (case aside), if any: a reply from her is
    /// hers (the email intake).
    pub async fn mediator_by_email(&self, email: &str) -> Result<Option<Mediator>> {
        let sql = format!(
            "SELECT {MEDIATOR_COLS} FROM mediators WHERE LOWER(email) = $1 AND active = $2 ORDER BY id LIMIT 1"
        );
        let row: Option<MediatorRow> = with_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(email.trim().to_lowercase())
                .bind(true)
                .fetch_optional(p)
                .await?
        });
        row.map(TryInto::try_into).transpose()
    }

    /// Pauses (no offers) or resumes a mediator.
    pub async fn set_mediator_paused(&self, id: i64, paused: bool) -> Result<()> {
        let n = with_pool!(self, p => {
            sqlx::query("UPDATE mediators SET paused = $1 WHERE id = $2")
                .bind(paused).bind(id).execute(p).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("mediator {id}")));
        }
        Ok(())
    }

    /// Activates or deactivates (removes from service without deleting history) a mediator.
    pub async fn set_mediator_active(&self, id: i64, active: bool) -> Result<()> {
        let n = with_pool!(self, p => {
            sqlx::query("UPDATE mediators SET active = $1 WHERE id = $2")
                .bind(active).bind(id).execute(p).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("mediator {id}")));
        }
        Ok(())
    }

    /// Activates or deactivates (removes without deleting their requests) an operator.
    pub async fn set_operator_active(&self, id: i64, active: bool) -> Result<()> {
        let n = with_pool!(self, p => {
            sqlx::query("UPDATE operators SET active = $1 WHERE id = $2")
                .bind(active).bind(id).execute(p).await?.rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("operator {id}")));
        }
        Ok(())
    }

    pub async fn add_coordinator(
        &self,
        c: &NewCoordinator,
        now: DateTime<Utc>,
    ) -> Result<Coordinator> {
        let mut tx = self.begin().await?;
        let id = tx.insert_coordinator(c, now).await?;
        tx.commit().await?;
        self.coordinator(id).await
    }

    /// The coordinator `id`, if still in service.
    pub async fn coordinator(&self, id: i64) -> Result<Coordinator> {
        let row: Option<CoordinatorRow> = with_pool!(self, p => {
            sqlx::query_as(COORDINATOR_BY_ID).bind(id).fetch_optional(p).await?
        });
        row.map(coordinator_of)
            .ok_or_else(|| StoreError::NotFound(format!("coordinator {id}")))
    }

    /// The coordinators in service (a removed one is kept for the history, not listed).
    pub async fn coordinators(&self) -> Result<Vec<Coordinator>> {
        let rows: Vec<CoordinatorRow> = with_pool!(self, p => {
            sqlx::query_as(COORDINATOR_SQL).fetch_all(p).await?
        });
        Ok(rows.into_iter().map(coordinator_of).collect())
    }

    pub async fn coordinator_by_telegram(&self, telegram_id: i64) -> Result<Option<Coordinator>> {
        Ok(self
            .coordinators()
            .await?
            .into_iter()
            .find(|c| c.telegram_id == Some(telegram_id)))
    }

    /// Checks that the person exists, then stores a new one-time code for them.
    pub async fn create_invite(
        &self,
        kind: PersonKind,
        person_id: i64,
        now: DateTime<Utc>,
        ttl: chrono::Duration,
    ) -> Result<String> {
        let mut tx = self.begin().await?;
        let code = tx.insert_invite(kind, person_id, now, ttl).await?;
        tx.commit().await?;
        Ok(code)
    }

    /// Uses an invite code once: links `telegram_id` to its person. Expired or used codes and
    /// Telegram accounts already linked to someone else are refused; nothing changes then.
    pub async fn redeem_invite(
        &self,
        code: &str,
        telegram_id: i64,
        now: DateTime<Utc>,
    ) -> std::result::Result<Redeemed, InviteError> {
        let mut tx = self.begin().await?;
        let row: Option<(String, i64, i64, Option<i64>)> = with_tx!(tx, c => {
            sqlx::query_as("SELECT person_kind, person_id, expires_at, used_at FROM invites WHERE code = $1")
                .bind(code.trim())
                .fetch_optional(&mut *c)
                .await
                .map_err(StoreError::from)?
        });
        let (kind, person_id, expires_at, used_at) = row.ok_or(InviteError::Unknown)?;
        if used_at.is_some() {
            return Err(InviteError::Used);
        }
        if expires_at <= ts(now) {
            return Err(InviteError::Expired);
        }
        let kind: PersonKind = kind
            .parse()
            .map_err(|e: crate::domain::ParseError| StoreError::Corrupt(e.to_string()))?;
        // One Telegram account is one person.
        for t in ["operators", "mediators", "coordinators"] {
            let sql =
                format!("SELECT COUNT(*) FROM {t} WHERE telegram_id = $1 AND NOT (id = $2 AND $3)");
            let n: i64 = with_tx!(tx, c => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(telegram_id)
                    .bind(person_id)
                    .bind(t == person_table(kind))
                    .fetch_one(&mut *c)
                    .await
                    .map_err(StoreError::from)?
            });
            if n > 0 {
                return Err(InviteError::TelegramIdTaken);
            }
        }
        let used = with_tx!(tx, c => {
            sqlx::query("UPDATE invites SET used_at = $1, used_by_telegram_id = $2 WHERE code = $3 AND used_at IS NULL")
                .bind(ts(now))
                .bind(telegram_id)
                .bind(code.trim())
                .execute(&mut *c)
                .await
                .map_err(StoreError::from)?
                .rows_affected()
        });
        if used == 0 {
            return Err(InviteError::Used);
        }
        let sql = format!(
            "UPDATE {} SET telegram_id = $1 WHERE id = $2",
            person_table(kind)
        );
        with_tx!(tx, c => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(telegram_id)
                .bind(person_id)
                .execute(&mut *c)
                .await
                .map_err(|e| StoreError::unique_as(e, "this Telegram account"))?;
        });
        tx.commit().await?;
        Ok(Redeemed { kind, person_id })
    }

    /// Sets (or, with `None`, clears) the language a person reads.
    pub async fn set_language(
        &self,
        kind: PersonKind,
        person_id: i64,
        lang: Option<Lang>,
    ) -> Result<()> {
        let sql = format!(
            "UPDATE {} SET language = $1 WHERE id = $2",
            person_table(kind)
        );
        let n = with_pool!(self, p => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(lang.map(Lang::as_str))
                .bind(person_id)
                .execute(p)
                .await?
                .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("{kind} {person_id}")));
        }
        Ok(())
    }

    /// Invites still valid for a person (for `invite` listings and tests).
    pub async fn invite_expiry(&self, code: &str) -> Result<Option<DateTime<Utc>>> {
        let e: Option<i64> = with_pool!(self, p => {
            sqlx::query_scalar("SELECT expires_at FROM invites WHERE code = $1 AND used_at IS NULL")
                .bind(code)
                .fetch_optional(p)
                .await?
        });
        Ok(e.map(from_ts))
    }
}

impl super::Tx {
    /// Who the Telegram account `telegram_id` is now, as the bot decides it (a coordinator in
    /// service first, then an active mediator, then an active operator), with their language; `None`:
    /// nobody (a stranger).
    pub async fn role_of_telegram(
        &mut self,
        telegram_id: i64,
    ) -> Result<Option<(PersonKind, Option<Lang>)>> {
        for kind in [
            PersonKind::Coordinator,
            PersonKind::Mediator,
            PersonKind::Operator,
        ] {
            let sql = format!(
                "SELECT language FROM {} WHERE telegram_id = $1 AND active = $2",
                person_table(kind),
            );
            let row: Option<(Option<String>,)> = with_tx!(self, c => {
                sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(telegram_id)
                    .bind(true)
                    .fetch_optional(&mut *c)
                    .await?
            });
            if let Some((language,)) = row {
                return Ok(Some((kind, lang_of(language.as_deref()))));
            }
        }
        Ok(None)
    }
}

/// A coordinator's row: id, name, Telegram id, email, language (those in service).
pub(super) type CoordinatorRow = (i64, String, Option<i64>, Option<String>, Option<String>);

const COORDINATOR_BY_ID: &str = "SELECT id, name, telegram_id, email, language FROM coordinators WHERE id = $1 AND active = TRUE";

pub(super) const COORDINATOR_SQL: &str = "SELECT id, name, telegram_id, email, language FROM coordinators WHERE active = TRUE ORDER BY id";

pub(super) fn coordinator_of(
    (id, name, telegram_id, email, language): CoordinatorRow,
) -> Coordinator {
    Coordinator {
        id,
        name,
        telegram_id,
        email,
        language: lang_of(language.as_deref()),
    }
}

pub(super) fn person_table(kind: PersonKind) -> &'static str {
    match kind {
        PersonKind::Operator => "operators",
        PersonKind::Mediator => "mediators",
        PersonKind::Coordinator => "coordinators",
    }
}

/// 10 characters from an alphabet without look-alikes (no 0/O, 1/I/L): about 50 bits,
/// fits Telegram's `start` parameter (A-Z, a-z, 0-9, _ and -).
fn new_invite_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..10)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}
