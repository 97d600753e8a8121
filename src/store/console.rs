//! The web console's rows: one-time login links and the sessions they open (only SHA-256
//! hashes of the tokens are stored), and the filtered queue the console lists.
//!
//! A link is redeemed by one conditional update (`used_at IS NULL AND expires_at > now`), so a
//! link opens at most one session even when two browsers race for it.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

use super::requests::{REQUEST_COLS, RequestRow, parse_opt};
use super::{Request, Result, Store, StoreError, Tx, from_ts, ts};
use crate::domain::{Ambito, Channel, LanguageCode, RequestCode, RequestStatus};
use crate::{with_pool, with_tx};

/// Who a link or a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleRole {
    Coordinator,
    Operator,
}

impl ConsoleRole {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsoleRole::Coordinator => "coordinator",
            ConsoleRole::Operator => "operator",
        }
    }

    fn parse(s: &str) -> Option<ConsoleRole> {
        match s {
            "coordinator" => Some(ConsoleRole::Coordinator),
            "operator" => Some(ConsoleRole::Operator),
            _ => None,
        }
    }
}

/// An open session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleSession {
    pub role: ConsoleRole,
    pub person_id: i64,
}

/// The requests an operator may list: their own by id, e-mail address or Telegram chat (the
/// same three ways [`crate::authz::authorize`] counts a request as theirs).
#[derive(Debug, Clone, Default)]
pub struct RequesterScope {
    pub operator_id: i64,
    pub email: Option<String>,
    pub chat_id: Option<i64>,
}

/// The console's queue filters; every one is optional.
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    pub status: Option<RequestStatus>,
    pub ambito: Option<Ambito>,
    pub language: Option<LanguageCode>,
    pub date: Option<NaiveDate>,
    pub channel: Option<Channel>,
    /// Open requests only (not cancelled, closed...).
    pub open_only: bool,
    pub requester: Option<RequesterScope>,
    pub limit: i64,
}

/// A row of the console's queue: what the page shows of a request and what decides whether it
/// needs a person (the queue reads these columns only, not the whole request).
#[derive(Debug, Clone, PartialEq)]
pub struct QueueEntry {
    pub code: RequestCode,
    pub status: RequestStatus,
    pub channel: Channel,
    pub ambito: Option<Ambito>,
    pub language: Option<LanguageCode>,
    pub date: Option<NaiveDate>,
    pub start_time: Option<NaiveTime>,
    pub deadline: Option<NaiveDate>,
    pub starts_at: Option<DateTime<Utc>>,
    pub comune: Option<String>,
    pub assigned_mediator_id: Option<i64>,
    pub unfilled_notice_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

const QUEUE_COLS: &str = "code, status, channel, ambito, language, date, start_time, deadline, \
    starts_at, comune, assigned_mediator_id, unfilled_notice_at, updated_at";

#[derive(sqlx::FromRow)]
struct QueueRow {
    code: String,
    status: String,
    channel: String,
    ambito: Option<String>,
    language: Option<String>,
    date: Option<String>,
    start_time: Option<String>,
    deadline: Option<String>,
    starts_at: Option<i64>,
    comune: Option<String>,
    assigned_mediator_id: Option<i64>,
    unfilled_notice_at: Option<i64>,
    updated_at: i64,
}

impl TryFrom<QueueRow> for QueueEntry {
    type Error = StoreError;
    fn try_from(r: QueueRow) -> Result<Self> {
        let corrupt =
            |what: &str, e: &dyn std::fmt::Display| StoreError::Corrupt(format!("{what}: {e}"));
        Ok(QueueEntry {
            code: RequestCode::parse(&r.code).map_err(|e| corrupt("code", &e))?,
            status: r.status.parse().map_err(|e| corrupt("status", &e))?,
            channel: r.channel.parse().map_err(|e| corrupt("channel", &e))?,
            ambito: parse_opt(r.ambito, "ambito")?,
            language: parse_opt(r.language, "language")?,
            date: parse_opt(r.date, "date")?,
            start_time: r
                .start_time
                .map(|s| {
                    NaiveTime::parse_from_str(&s, "%H:%M").map_err(|e| corrupt("start_time", &e))
                })
                .transpose()?,
            deadline: parse_opt(r.deadline, "deadline")?,
            starts_at: r.starts_at.map(from_ts),
            comune: r.comune,
            assigned_mediator_id: r.assigned_mediator_id,
            unfilled_notice_at: r.unfilled_notice_at.map(from_ts),
            updated_at: from_ts(r.updated_at),
        })
    }
}

/// A login link is valid this long.
pub const LINK_MINUTES: i64 = 10;
/// At most this many links per person per hour.
pub const LINKS_PER_HOUR: i64 = 5;
/// A session's last use is written at most this often (seconds): pages read it.
pub const TOUCH_EVERY_SECS: i64 = 30;

/// A fresh random token (256 bits, hex) and the hash that is stored for it.
pub fn new_token() -> (String, String) {
    let bytes: [u8; 32] = rand::random();
    let raw = hex::encode(bytes);
    let hash = hash_token(&raw);
    (raw, hash)
}

/// The stored form of a token.
pub fn hash_token(raw: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(raw.as_bytes()))
}

/// A session row's `(person_kind, person_id)`; none for a kind this version does not know.
fn session_of((kind, person_id): (String, i64)) -> Option<ConsoleSession> {
    ConsoleRole::parse(&kind).map(|role| ConsoleSession { role, person_id })
}

impl Tx {
    /// A new one-time login link's token for this person, valid [`LINK_MINUTES`]; `None` when
    /// they already had [`LINKS_PER_HOUR`] links within the hour (nothing is stored then).
    pub async fn issue_console_link(
        &mut self,
        role: ConsoleRole,
        person_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<String>> {
        let recent = self
            .console_links_since(role, person_id, now - chrono::Duration::hours(1))
            .await?;
        if recent >= LINKS_PER_HOUR {
            return Ok(None);
        }
        let (raw, hash) = new_token();
        self.create_console_link(
            &hash,
            role,
            person_id,
            now,
            now + chrono::Duration::minutes(LINK_MINUTES),
        )
        .await?;
        Ok(Some(raw))
    }

    /// Stores a new link's hash, valid until `expires_at`.
    pub async fn create_console_link(
        &mut self,
        token_hash: &str,
        role: ConsoleRole,
        person_id: i64,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<()> {
        with_tx!(self, c => {
            sqlx::query("INSERT INTO console_links (token_hash, person_kind, person_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)")
                .bind(token_hash)
                .bind(role.as_str())
                .bind(person_id)
                .bind(ts(now))
                .bind(ts(expires_at))
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// How many links this person was given since `since` (the rate limit).
    pub async fn console_links_since(
        &mut self,
        role: ConsoleRole,
        person_id: i64,
        since: DateTime<Utc>,
    ) -> Result<i64> {
        let n: i64 = with_tx!(self, c => {
            sqlx::query_scalar("SELECT COUNT(*) FROM console_links WHERE person_kind = $1 AND person_id = $2 AND created_at >= $3")
                .bind(role.as_str())
                .bind(person_id)
                .bind(ts(since))
                .fetch_one(&mut *c)
                .await?
        });
        Ok(n)
    }

    /// The session of a cookie, if it is open, within its absolute expiry and used within
    /// `idle_secs`, with its last recorded use (seconds); read only.
    pub async fn console_session(
        &mut self,
        session_hash: &str,
        now: DateTime<Utc>,
        idle_secs: i64,
    ) -> Result<Option<(ConsoleSession, i64)>> {
        let row: Option<(String, i64, i64)> = with_tx!(self, c => {
            sqlx::query_as("SELECT person_kind, person_id, last_seen_at FROM console_sessions WHERE token_hash = $1 AND ended_at IS NULL AND expires_at > $2 AND last_seen_at >= $3")
                .bind(session_hash)
                .bind(ts(now))
                .bind(ts(now) - idle_secs)
                .fetch_optional(&mut *c)
                .await?
        });
        Ok(row.and_then(|(kind, id, seen)| session_of((kind, id)).map(|s| (s, seen))))
    }

    /// The console's queue: newest first, filtered, at most `f.limit` rows.
    pub async fn console_queue(&mut self, f: &QueueFilter) -> Result<Vec<QueueEntry>> {
        let (sql, scope) = queue_sql(f);
        let status = f.status.map(|s| s.as_str().to_string());
        let ambito = f.ambito.map(|a| a.to_string());
        let language = f.language.as_ref().map(|l| l.to_string());
        let date = f.date.map(|d| d.format("%Y-%m-%d").to_string());
        let channel = f.channel.map(|c| c.to_string());
        let rows: Vec<QueueRow> = with_tx!(self, c => {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(status)
                .bind(ambito)
                .bind(language)
                .bind(date)
                .bind(channel)
                .bind(f.limit);
            if let Some(s) = &scope {
                q = q.bind(s.operator_id).bind(s.email.clone()).bind(s.chat_id);
            }
            q.fetch_all(&mut *c).await?
        });
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// The language codes of the stored requests (the queue's language filter), by a skip scan
    /// of the index `requests_language` (migration 0171): one index probe per language, not a
    /// read of every request.
    pub async fn request_languages(&mut self) -> Result<Vec<String>> {
        let rows: Vec<Option<String>> = with_tx!(self, c => {
            sqlx::query_scalar(
                "WITH RECURSIVE l(code) AS (
                     SELECT MIN(language) FROM requests
                     UNION ALL
                     SELECT (SELECT MIN(r.language) FROM requests r WHERE r.language > l.code)
                       FROM l WHERE l.code IS NOT NULL
                 )
                 SELECT code FROM l WHERE code IS NOT NULL ORDER BY code",
            )
            .fetch_all(&mut *c)
            .await?
        });
        Ok(rows.into_iter().flatten().collect())
    }
}

/// The queue's query for `f`, and the requester scope it binds as `$7`-`$9`.
fn queue_sql(f: &QueueFilter) -> (String, Option<RequesterScope>) {
    let mut sql = format!(
        "SELECT {QUEUE_COLS} FROM requests WHERE ($1 IS NULL OR status = $1)
           AND ($2 IS NULL OR ambito = $2) AND ($3 IS NULL OR language = $3)
           AND ($4 IS NULL OR date = $4) AND ($5 IS NULL OR channel = $5)"
    );
    if f.open_only {
        let open: Vec<String> = RequestStatus::ALL
            .iter()
            .filter(|s| !s.is_terminal())
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        sql.push_str(&format!(" AND status IN ({})", open.join(", ")));
    }
    let scope = f.requester.clone();
    if scope.is_some() {
        sql.push_str(
            " AND (operator_id = $7 OR (CAST($8 AS TEXT) IS NOT NULL AND LOWER(requester_email) = LOWER($8))
                   OR (CAST($9 AS BIGINT) IS NOT NULL AND requester_chat_id = $9))",
        );
    }
    sql.push_str(" ORDER BY id DESC LIMIT $6");
    (sql, scope)
}

impl Store {
    /// [`Tx::issue_console_link`] in its own transaction (the CLI's `console link`).
    pub async fn issue_console_link(
        &self,
        role: ConsoleRole,
        person_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<String>> {
        let mut tx = self.begin().await?;
        let token = tx.issue_console_link(role, person_id, now).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Whether `link_hash` names a link that is unused and unexpired, without using it: the
    /// page a link opens asks for one press before the link is spent, so that a link preview
    /// or a mail scanner fetching the URL spends nothing.
    pub async fn console_link_usable(&self, link_hash: &str, now: DateTime<Utc>) -> Result<bool> {
        let n: i64 = with_pool!(self, p => {
            sqlx::query_scalar("SELECT COUNT(*) FROM console_links WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2")
                .bind(link_hash)
                .bind(ts(now))
                .fetch_one(p)
                .await?
        });
        Ok(n > 0)
    }

    /// Uses a link once and opens a session for its person, in one transaction: `None` when
    /// the link is unknown, used or expired (nothing changes then).
    pub async fn redeem_console_link(
        &self,
        link_hash: &str,
        session_hash: &str,
        now: DateTime<Utc>,
        session_expires_at: DateTime<Utc>,
    ) -> Result<Option<ConsoleSession>> {
        let mut tx = self.begin().await?;
        let row: Option<(String, i64)> = with_tx!(tx, c => {
            sqlx::query_as("UPDATE console_links SET used_at = $2 WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING person_kind, person_id")
                .bind(link_hash)
                .bind(ts(now))
                .fetch_optional(&mut *c)
                .await?
        });
        let Some(session) = row.and_then(session_of) else {
            tx.rollback().await?;
            return Ok(None);
        };
        with_tx!(tx, c => {
            sqlx::query("INSERT INTO console_sessions (token_hash, person_kind, person_id, created_at, last_seen_at, expires_at) VALUES ($1, $2, $3, $4, $4, $5)")
                .bind(session_hash)
                .bind(session.role.as_str())
                .bind(session.person_id)
                .bind(ts(now))
                .bind(ts(session_expires_at))
                .execute(&mut *c)
                .await?;
        });
        tx.audit(
            now,
            &format!("{}:{}", session.role.as_str(), session.person_id),
            None,
            "console_login",
            None,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(session))
    }

    /// Moves a session's last use to `now` (the console does it at most every
    /// [`TOUCH_EVERY_SECS`]: a page is a read, not a write, and the idle expiry is counted from
    /// a last use at most that much older than the last page).
    pub async fn touch_console_session(
        &self,
        session_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        with_pool!(self, p => {
            sqlx::query("UPDATE console_sessions SET last_seen_at = $2 WHERE token_hash = $1 AND last_seen_at < $2")
                .bind(session_hash)
                .bind(ts(now))
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// Log-out: the session opens nothing any more.
    pub async fn end_console_session(&self, session_hash: &str, now: DateTime<Utc>) -> Result<()> {
        with_pool!(self, p => {
            sqlx::query("UPDATE console_sessions SET ended_at = $2 WHERE token_hash = $1 AND ended_at IS NULL")
                .bind(session_hash)
                .bind(ts(now))
                .execute(p)
                .await?;
        });
        Ok(())
    }

    /// [`Tx::console_queue`] in its own transaction.
    pub async fn console_queue(&self, f: &QueueFilter) -> Result<Vec<QueueEntry>> {
        let mut tx = self.begin().await?;
        let list = tx.console_queue(f).await?;
        tx.commit().await?;
        Ok(list)
    }

    /// The requests whose appointment starts in `[from, to)`, not cancelled or expired, by start
    /// (the console's calendar).
    pub async fn requests_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Request>> {
        let sql = format!(
            "SELECT {REQUEST_COLS} FROM requests WHERE starts_at >= $1 AND starts_at < $2
               AND status NOT IN ('cancelled', 'expired') ORDER BY starts_at, id"
        );
        let rows: Vec<RequestRow> = with_pool!(self, p => {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(ts(from))
                .bind(ts(to))
                .fetch_all(p)
                .await?
        });
        rows.into_iter().map(TryInto::try_into).collect()
    }

    /// The text a request was read from: the body of the inbound message(s) linked to it,
    /// oldest first (empty once purged by retention).
    pub async fn request_texts(&self, request_id: i64) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, Option<String>)> = with_pool!(self, p => {
            sqlx::query_as("SELECT channel, body FROM inbound_messages WHERE request_id = $1 ORDER BY id")
                .bind(request_id)
                .fetch_all(p)
                .await?
        });
        Ok(rows
            .into_iter()
            .filter_map(|(c, b)| b.map(|b| (c, b)))
            .collect())
    }
}
