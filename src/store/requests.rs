//! Requests in the shared queue: creation with a fresh MED- code, reads, checked status changes,
//! and the audit trail of who saw or changed each request.

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use serde::Serialize;

use super::{Result, Store, StoreError, Tx, from_ts, ts};
use crate::domain::{
    Ambito, Channel, Gender, InterventionType, LanguageCode, Modality, RequestCode, RequestStatus,
};
use crate::{with_pool, with_tx};

/// A request as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Request {
    pub id: i64,
    pub code: RequestCode,
    pub status: RequestStatus,
    pub channel: Channel,
    pub operator_id: Option<i64>,
    pub requester_name: Option<String>,
    pub requester_email: Option<String>,
    pub requester_phone: Option<String>,
    pub requester_chat_id: Option<i64>,
    pub ente: Option<String>,
    pub ambito: Option<Ambito>,
    pub language: Option<LanguageCode>,
    pub intervention: Option<InterventionType>,
    pub modality: Option<Modality>,
    pub date: Option<NaiveDate>,
    pub start_time: Option<NaiveTime>,
    pub duration_minutes: Option<i64>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub deadline: Option<NaiveDate>,
    pub comune: Option<String>,
    pub comune_istat: Option<String>,
    pub address: Option<String>,
    pub urgent: bool,
    pub mediator_gender: Option<Gender>,
    pub case_ref: Option<String>,
    pub notes: Option<String>,
    pub missing: Vec<String>,
    pub draft: Option<serde_json::Value>,
    pub assigned_mediator_id: Option<i64>,
    pub late_cancellation: bool,
    /// Its date or time was changed under the notice period (`app::reschedule`).
    pub late_change: bool,
    /// When the requester was told that no mediator is confirmed yet (`app::unfilled`).
    pub unfilled_notice_at: Option<DateTime<Utc>>,
    pub source_message_id: Option<String>,
    pub subject: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub queued_at: Option<DateTime<Utc>>,
    pub assigned_at: Option<DateTime<Utc>>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The language of the requester when they are a registered operator with one (read
    /// from `operators`); `None`: `[intake] language`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requester_language: Option<crate::domain::Lang>,
    /// A series of appointments: its rule and occurrences (`date`, `start_time`, `starts_at`
    /// are the first meeting's); `None` for a single appointment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub series: Option<crate::domain::series::Series>,
}

/// What a channel knows when it creates a request. Absent fields stay NULL.
#[derive(Debug, Clone, Default)]
pub struct NewRequest {
    pub status: Option<RequestStatus>,
    pub channel: Option<Channel>,
    pub operator_id: Option<i64>,
    pub requester_name: Option<String>,
    pub requester_email: Option<String>,
    pub requester_phone: Option<String>,
    pub requester_chat_id: Option<i64>,
    pub ente: Option<String>,
    pub ambito: Option<Ambito>,
    pub language: Option<LanguageCode>,
    pub intervention: Option<InterventionType>,
    pub modality: Option<Modality>,
    pub date: Option<NaiveDate>,
    pub start_time: Option<NaiveTime>,
    pub duration_minutes: Option<i64>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub deadline: Option<NaiveDate>,
    pub comune: Option<String>,
    pub comune_istat: Option<String>,
    pub address: Option<String>,
    pub urgent: bool,
    pub mediator_gender: Option<Gender>,
    pub case_ref: Option<String>,
    pub notes: Option<String>,
    pub missing: Vec<String>,
    pub draft: Option<serde_json::Value>,
    pub source_message_id: Option<String>,
    pub subject: Option<String>,
    /// A series of appointments: its rule and occurrences, written with the request.
    pub series: Option<super::series::NewSeries>,
}

/// Which requests to list.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    pub status: Option<RequestStatus>,
    pub operator_id: Option<i64>,
    /// Only requests assigned to this mediator.
    pub mediator_id: Option<i64>,
    pub open_only: bool,
    pub limit: Option<i64>,
}

/// One line of the audit trail.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub request_id: Option<i64>,
    pub action: String,
    pub detail: Option<String>,
}

#[derive(sqlx::FromRow)]
pub(super) struct RequestRow {
    id: i64,
    code: String,
    status: String,
    channel: String,
    operator_id: Option<i64>,
    requester_name: Option<String>,
    requester_email: Option<String>,
    requester_phone: Option<String>,
    requester_chat_id: Option<i64>,
    ente: Option<String>,
    ambito: Option<String>,
    language: Option<String>,
    intervention: Option<String>,
    modality: Option<String>,
    date: Option<String>,
    start_time: Option<String>,
    duration_minutes: Option<i64>,
    starts_at: Option<i64>,
    ends_at: Option<i64>,
    deadline: Option<String>,
    comune: Option<String>,
    comune_istat: Option<String>,
    address: Option<String>,
    urgent: bool,
    mediator_gender: Option<String>,
    case_ref: Option<String>,
    notes: Option<String>,
    missing: String,
    draft: Option<String>,
    assigned_mediator_id: Option<i64>,
    late_cancellation: bool,
    late_change: bool,
    unfilled_notice_at: Option<i64>,
    source_message_id: Option<String>,
    subject: Option<String>,
    created_at: i64,
    updated_at: i64,
    queued_at: Option<i64>,
    assigned_at: Option<i64>,
    confirmed_at: Option<i64>,
    closed_at: Option<i64>,
    requester_language: Option<String>,
    series_rule: Option<String>,
}

pub(crate) const REQUEST_COLS: &str = "id, code, status, channel, operator_id, requester_name, \
    requester_email, requester_phone, requester_chat_id, ente, ambito, language, intervention, \
    modality, date, start_time, duration_minutes, starts_at, ends_at, deadline, comune, \
    comune_istat, address, urgent, mediator_gender, case_ref, notes, missing, draft, \
    assigned_mediator_id, late_cancellation, late_change, unfilled_notice_at, source_message_id, subject, created_at, updated_at, \
    queued_at, assigned_at, confirmed_at, closed_at, series_rule, \
    (SELECT o.language FROM operators o WHERE o.id = requests.operator_id) AS requester_language";

pub(super) fn parse_opt<T: std::str::FromStr>(v: Option<String>, what: &str) -> Result<Option<T>>
where
    T::Err: std::fmt::Display,
{
    v.map(|s| {
        s.parse::<T>()
            .map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
    })
    .transpose()
}

impl TryFrom<RequestRow> for Request {
    type Error = StoreError;
    fn try_from(r: RequestRow) -> Result<Self> {
        let corrupt =
            |what: &str, e: &dyn std::fmt::Display| StoreError::Corrupt(format!("{what}: {e}"));
        Ok(Request {
            id: r.id,
            code: RequestCode::parse(&r.code).map_err(|e| corrupt("code", &e))?,
            status: r.status.parse().map_err(|e| corrupt("status", &e))?,
            channel: r.channel.parse().map_err(|e| corrupt("channel", &e))?,
            operator_id: r.operator_id,
            requester_name: r.requester_name,
            requester_email: r.requester_email,
            requester_phone: r.requester_phone,
            requester_chat_id: r.requester_chat_id,
            ente: r.ente,
            ambito: parse_opt(r.ambito, "ambito")?,
            language: parse_opt(r.language, "language")?,
            intervention: parse_opt(r.intervention, "intervention")?,
            modality: parse_opt(r.modality, "modality")?,
            date: parse_opt(r.date, "date")?,
            start_time: r
                .start_time
                .map(|s| {
                    NaiveTime::parse_from_str(&s, "%H:%M").map_err(|e| corrupt("start_time", &e))
                })
                .transpose()?,
            duration_minutes: r.duration_minutes,
            starts_at: r.starts_at.map(from_ts),
            ends_at: r.ends_at.map(from_ts),
            deadline: parse_opt(r.deadline, "deadline")?,
            comune: r.comune,
            comune_istat: r.comune_istat,
            address: r.address,
            urgent: r.urgent,
            mediator_gender: parse_opt(r.mediator_gender, "mediator_gender")?,
            case_ref: r.case_ref,
            notes: r.notes,
            missing: r
                .missing
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            draft: r.draft.and_then(|d| serde_json::from_str(&d).ok()),
            assigned_mediator_id: r.assigned_mediator_id,
            late_cancellation: r.late_cancellation,
            late_change: r.late_change,
            unfilled_notice_at: r.unfilled_notice_at.map(from_ts),
            source_message_id: r.source_message_id,
            subject: r.subject,
            created_at: from_ts(r.created_at),
            updated_at: from_ts(r.updated_at),
            queued_at: r.queued_at.map(from_ts),
            assigned_at: r.assigned_at.map(from_ts),
            confirmed_at: r.confirmed_at.map(from_ts),
            closed_at: r.closed_at.map(from_ts),
            requester_language: super::people::lang_of(r.requester_language.as_deref()),
            series: r.series_rule.map(|rule| crate::domain::series::Series {
                rule,
                occurrences: Vec::new(),
            }),
        })
    }
}

fn time_text(t: Option<NaiveTime>) -> Option<String> {
    t.map(|t| t.format("%H:%M").to_string())
}

/// The timestamp column a status change sets, if any.
fn stamp_column(to: RequestStatus) -> Option<&'static str> {
    use RequestStatus::*;
    match to {
        Queued => Some("queued_at"),
        Assigned => Some("assigned_at"),
        Confirmed => Some("confirmed_at"),
        Done | Cancelled | Expired => Some("closed_at"),
        _ => None,
    }
}

impl NewRequest {
    /// The same fields with every text made storable ([`super::db_text`]: NUL stripped).
    fn storable(&self) -> NewRequest {
        let mut r = self.clone();
        for f in [
            &mut r.requester_name,
            &mut r.requester_email,
            &mut r.requester_phone,
            &mut r.ente,
            &mut r.comune,
            &mut r.comune_istat,
            &mut r.address,
            &mut r.case_ref,
            &mut r.notes,
            &mut r.source_message_id,
            &mut r.subject,
        ] {
            *f = super::db_opt(f);
        }
        r
    }
}

impl Tx {
    /// Requests created from emails of `address` (case-insensitive) since `since`.
    pub async fn email_requests_from_since(
        &mut self,
        address: &str,
        since: DateTime<Utc>,
    ) -> Result<i64> {
        Ok(with_tx!(self, c => {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM requests
                 WHERE channel = 'email' AND LOWER(requester_email) = LOWER($1) AND created_at >= $2",
            )
            .bind(address)
            .bind(ts(since))
            .fetch_one(&mut *c)
            .await?
        }))
    }

    /// Creates a request with the next code of `now`'s year. Status defaults to `received`.
    pub async fn create_request(&mut self, r: &NewRequest, now: DateTime<Utc>) -> Result<Request> {
        let r = &r.storable();
        let year = now.year();
        let seq: i64 = with_tx!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO request_counters (year, last_seq) VALUES ($1, 1)
                 ON CONFLICT (year) DO UPDATE SET last_seq = request_counters.last_seq + 1
                 RETURNING last_seq",
            )
            .bind(i64::from(year))
            .fetch_one(&mut *c)
            .await?
        });
        let seq = u32::try_from(seq).map_err(|_| StoreError::Corrupt("request counter".into()))?;
        let code = RequestCode::new(year, seq);
        let status = r.status.unwrap_or(RequestStatus::Received);
        let queued_at = (status == RequestStatus::Queued).then_some(ts(now));
        let id: i64 = with_tx!(self, c => {
            sqlx::query_scalar(
                "INSERT INTO requests (code, status, channel, operator_id, requester_name,
                    requester_email, requester_phone, requester_chat_id, ente, ambito, language,
                    intervention, modality, date, start_time, duration_minutes, starts_at, ends_at,
                    deadline, comune, comune_istat, address, urgent, mediator_gender, case_ref, notes,
                    missing, draft, source_message_id, subject, created_at, updated_at, queued_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
                    $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $31, $32)
                 RETURNING id",
            )
            .bind(code.to_string())
            .bind(status.as_str())
            .bind(r.channel.unwrap_or(Channel::Cli).as_str())
            .bind(r.operator_id)
            .bind(&r.requester_name)
            .bind(r.requester_email.as_deref().map(str::to_lowercase))
            .bind(&r.requester_phone)
            .bind(r.requester_chat_id)
            .bind(&r.ente)
            .bind(r.ambito.map(|a| a.name()))
            .bind(r.language.as_ref().map(|l| l.as_str().to_string()))
            .bind(r.intervention.map(|i| i.as_str()))
            .bind(r.modality.map(|m| m.as_str()))
            .bind(r.date.map(|d| d.to_string()))
            .bind(time_text(r.start_time))
            .bind(r.duration_minutes)
            .bind(r.starts_at.map(ts))
            .bind(r.ends_at.map(ts))
            .bind(r.deadline.map(|d| d.to_string()))
            .bind(&r.comune)
            .bind(&r.comune_istat)
            .bind(&r.address)
            .bind(r.urgent)
            .bind(r.mediator_gender.map(|g| g.as_str()))
            .bind(&r.case_ref)
            .bind(&r.notes)
            .bind(r.missing.join(","))
            .bind(r.draft.as_ref().map(|d| d.to_string()))
            .bind(&r.source_message_id)
            .bind(&r.subject)
            .bind(ts(now))
            .bind(queued_at)
            .fetch_one(&mut *c)
            .await?
        });
        self.audit(
            now,
            "process:intake",
            Some(id),
            "created",
            Some(status.as_str()),
        )
        .await?;
        if let Some(series) = &r.series {
            self.put_series(id, series, now).await?;
        }
        self.request_by_id(id).await
    }

    /// Replaces the request's fields with `r` (a follow-up merged into the draft), keeping its
    /// code, channel, status and history.
    pub async fn update_request_fields(
        &mut self,
        id: i64,
        r: &NewRequest,
        now: DateTime<Utc>,
    ) -> Result<Request> {
        let r = &r.storable();
        let n = with_tx!(self, c => {
            sqlx::query(
                "UPDATE requests SET requester_name = $1, requester_email = $2, requester_phone = $3,
                    ente = $4, ambito = $5, language = $6, intervention = $7, modality = $8, date = $9,
                    start_time = $10, duration_minutes = $11, starts_at = $12, ends_at = $13,
                    deadline = $14, comune = $15, comune_istat = $16, address = $17, urgent = $18,
                    mediator_gender = $19, case_ref = $20, notes = $21, missing = $22, draft = $23,
                    updated_at = $24
                 WHERE id = $25",
            )
            .bind(&r.requester_name)
            .bind(r.requester_email.as_deref().map(str::to_lowercase))
            .bind(&r.requester_phone)
            .bind(&r.ente)
            .bind(r.ambito.map(|a| a.name()))
            .bind(r.language.as_ref().map(|l| l.as_str().to_string()))
            .bind(r.intervention.map(|i| i.as_str()))
            .bind(r.modality.map(|m| m.as_str()))
            .bind(r.date.map(|d| d.to_string()))
            .bind(time_text(r.start_time))
            .bind(r.duration_minutes)
            .bind(r.starts_at.map(ts))
            .bind(r.ends_at.map(ts))
            .bind(r.deadline.map(|d| d.to_string()))
            .bind(&r.comune)
            .bind(&r.comune_istat)
            .bind(&r.address)
            .bind(r.urgent)
            .bind(r.mediator_gender.map(|g| g.as_str()))
            .bind(&r.case_ref)
            .bind(&r.notes)
            .bind(r.missing.join(","))
            .bind(r.draft.as_ref().map(|d| d.to_string()))
            .bind(ts(now))
            .bind(id)
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound(format!("request {id}")));
        }
        self.audit(now, "process:intake", Some(id), "updated", None)
            .await?;
        if let Some(series) = &r.series {
            let before = self.request_by_id(id).await?.series;
            let same = before.as_ref().is_some_and(|b| {
                b.rule == series.rule
                    && b.occurrences.first().map(|o| o.recurrence_id)
                        == series.occurrences.first().map(|o| o.0)
            });
            if !same {
                self.put_series(id, series, now).await?;
            }
        }
        self.request_by_id(id).await
    }

    pub async fn request_by_id(&mut self, id: i64) -> Result<Request> {
        let sql = format!("SELECT {REQUEST_COLS} FROM requests WHERE id = $1");
        let row: Option<RequestRow> = with_tx!(self, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *c).await?
        });
        let r: Request = row
            .ok_or_else(|| StoreError::NotFound(format!("request {id}")))?
            .try_into()?;
        self.with_occurrences(r).await
    }

    /// `r` with its series' occurrences read, when it is a series.
    async fn with_occurrences(&mut self, mut r: Request) -> Result<Request> {
        if let Some(s) = r.series.take() {
            r.series = Some(self.series_of(r.id, s.rule).await?);
        }
        Ok(r)
    }

    /// The request, locked for the rest of this transaction (PostgreSQL `FOR UPDATE`; on
    /// SQLite every write transaction already holds the database): a second transaction that
    /// wants to change it waits, then reads what the first committed. For the decisions taken on
    /// the request's status (dispatching it), which two instances or two loops may try at once.
    pub async fn lock_request(&mut self, id: i64) -> Result<Request> {
        let lock = match self.backend() {
            super::Backend::Postgres => " FOR UPDATE",
            super::Backend::Sqlite => "",
        };
        let sql = format!("SELECT {REQUEST_COLS} FROM requests WHERE id = $1{lock}");
        let row: Option<RequestRow> = with_tx!(self, c => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *c).await?
        });
        let r: Request = row
            .ok_or_else(|| StoreError::NotFound(format!("request {id}")))?
            .try_into()?;
        self.with_occurrences(r).await
    }

    /// Moves a request to `to` if the life cycle allows it from its current state. The update is
    /// conditional on the state read, so two concurrent changes cannot both apply.
    pub async fn transition(
        &mut self,
        id: i64,
        to: RequestStatus,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Request> {
        let current = self.request_by_id(id).await?;
        current.status.transition(to)?;
        let stamp = stamp_column(to)
            .map(|c| format!(", {c} = $3"))
            .unwrap_or_default();
        let sql = format!(
            "UPDATE requests SET status = $1, updated_at = $3{stamp} WHERE id = $2 AND status = $4"
        );
        let n = with_tx!(self, c => {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(to.as_str())
                .bind(id)
                .bind(ts(now))
                .bind(current.status.as_str())
                .execute(&mut *c)
                .await?
                .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::Conflict(format!(
                "request {} changed while being updated",
                current.code
            )));
        }
        let detail = format!("{} -> {}", current.status, to);
        self.audit(now, actor, Some(id), "status", Some(&detail))
            .await?;
        self.request_by_id(id).await
    }

    /// Appends to the audit trail.
    pub async fn audit(
        &mut self,
        now: DateTime<Utc>,
        actor: &str,
        request_id: Option<i64>,
        action: &str,
        detail: Option<&str>,
    ) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("INSERT INTO audit_events (at, actor, request_id, action, detail) VALUES ($1, $2, $3, $4, $5)")
                .bind(ts(now))
                .bind(actor)
                .bind(request_id)
                .bind(action)
                .bind(detail)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }
}

impl Store {
    /// Creates a request in its own transaction.
    pub async fn create_request(&self, r: &NewRequest, now: DateTime<Utc>) -> Result<Request> {
        let mut tx = self.begin().await?;
        let req = tx.create_request(r, now).await?;
        tx.commit().await?;
        Ok(req)
    }

    pub async fn request(&self, code: RequestCode) -> Result<Request> {
        let sql = format!("SELECT {REQUEST_COLS} FROM requests WHERE code = $1");
        let row: Option<RequestRow> = with_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(code.to_string()).fetch_optional(p).await?
        });
        let r: Request = row
            .ok_or_else(|| StoreError::NotFound(format!("request {code}")))?
            .try_into()?;
        self.with_occurrences(r).await
    }

    pub async fn request_by_id(&self, id: i64) -> Result<Request> {
        let sql = format!("SELECT {REQUEST_COLS} FROM requests WHERE id = $1");
        let row: Option<RequestRow> = with_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(p).await?
        });
        let r: Request = row
            .ok_or_else(|| StoreError::NotFound(format!("request {id}")))?
            .try_into()?;
        self.with_occurrences(r).await
    }

    /// `r` with its series' occurrences read, when it is a series.
    async fn with_occurrences(&self, mut r: Request) -> Result<Request> {
        if let Some(s) = r.series.take() {
            r.series = Some(self.series_of(r.id, s.rule).await?);
        }
        Ok(r)
    }

    /// Requests, newest first.
    pub async fn requests(&self, f: &RequestFilter) -> Result<Vec<Request>> {
        let terminal: Vec<&str> = crate::domain::RequestStatus::ALL
            .iter()
            .filter(|s| s.is_terminal())
            .map(|s| s.as_str())
            .collect();
        let mut sql = format!(
            "SELECT {REQUEST_COLS} FROM requests WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR operator_id = $2)
               AND ($4 IS NULL OR assigned_mediator_id = $4)"
        );
        if f.open_only {
            sql.push_str(&format!(
                " AND status NOT IN ({})",
                terminal
                    .iter()
                    .map(|s| format!("'{s}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        sql.push_str(" ORDER BY id DESC LIMIT $3");
        let status = f.status.map(|s| s.as_str().to_string());
        let rows: Vec<RequestRow> = with_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(status)
                .bind(f.operator_id)
                .bind(f.limit.unwrap_or(i64::MAX))
                .bind(f.mediator_id)
                .fetch_all(p)
                .await?
        });
        let list: Vec<Request> = rows
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<_>>()?;
        // a series shows its meetings in a list too
        let mut out = Vec::with_capacity(list.len());
        for r in list {
            out.push(self.with_occurrences(r).await?);
        }
        Ok(out)
    }

    /// Counts of requests per status (for the coordinator's queue view and metrics).
    pub async fn request_counts(&self) -> Result<Vec<(RequestStatus, i64)>> {
        let rows: Vec<(String, i64)> = with_pool!(self, p => {
            sqlx::query_as("SELECT status, COUNT(*) FROM requests GROUP BY status ORDER BY status")
                .fetch_all(p)
                .await?
        });
        rows.into_iter()
            .map(|(s, n)| {
                s.parse()
                    .map(|s| (s, n))
                    .map_err(|e: crate::domain::ParseError| StoreError::Corrupt(e.to_string()))
            })
            .collect()
    }

    /// Checked status change in its own transaction.
    pub async fn transition(
        &self,
        id: i64,
        to: RequestStatus,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Request> {
        let mut tx = self.begin().await?;
        let r = tx.transition(id, to, actor, now).await?;
        tx.commit().await?;
        Ok(r)
    }

    /// Records that `actor` looked at a request's details (the audit trail covers who saw a
    /// request, not only who changed it).
    pub async fn audit_view(
        &self,
        request_id: i64,
        actor: &str,
        what: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.audit(now, actor, Some(request_id), "viewed", Some(what))
            .await?;
        tx.commit().await
    }

    /// The audit trail of one request, oldest first.
    pub async fn audit_trail(&self, request_id: i64) -> Result<Vec<AuditEntry>> {
        type Row = (i64, String, Option<i64>, String, Option<String>);
        let rows: Vec<Row> = with_pool!(self, p => {
            sqlx::query_as("SELECT at, actor, request_id, action, detail FROM audit_events WHERE request_id = $1 ORDER BY id")
                .bind(request_id)
                .fetch_all(p)
                .await?
        });
        Ok(rows
            .into_iter()
            .map(|(at, actor, request_id, action, detail)| AuditEntry {
                at: from_ts(at),
                actor,
                request_id,
                action,
                detail,
            })
            .collect())
    }
}
