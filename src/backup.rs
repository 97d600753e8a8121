//! `connecting backup` and `connecting restore`: a consistent snapshot of every table, encrypted
//! with age to a configured x25519 recipient, and its load into an empty database.
//!
//! The snapshot is taken inside one read transaction (SQLite: a WAL read snapshot; PostgreSQL:
//! `REPEATABLE READ READ ONLY`), so requests, offers and the outbox agree with each other while
//! the daemon keeps running. Each row is turned into JSON by the database itself (`json_object`,
//! `row_to_json`) and written as one line inside the age stream, after a header line naming the
//! format, the backend, the migrations applied and the row count of each table. Tables come in
//! foreign-key order so a restore inserts parents before children. Nothing in clear touches the
//! disk: the plaintext exists only in memory between the database and the encryptor.
//!
//! A restore applies the migrations to the target, refuses a target that already holds rows or
//! a backup made by a newer schema, inserts everything in one transaction (all or nothing),
//! moves PostgreSQL's id sequences past the restored ids, and checks every table's count.

use futures::TryStreamExt as _;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};

use crate::store::{Backend, Pool, Store, StoreError};

/// The first line's `format`.
pub const FORMAT: &str = "connecting-backup";
/// The version of the line format.
pub const VERSION: u32 = 1;
/// Rows inserted per statement on restore.
const BATCH: usize = 500;

/// Why a backup or a restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("cannot write the backup: {0}")]
    Io(#[from] std::io::Error),
    #[error("cannot encrypt: {0}")]
    Encrypt(#[from] age::EncryptError),
    #[error(
        "cannot decrypt {0}: this identity is not the one the backup was made for, or the file is not an age file"
    )]
    Decrypt(String),
    #[error("{0} is not a connecting backup: {1}")]
    Format(String, String),
    #[error(
        "the backup was made by a newer connecting (migration {0} is unknown here): restore it with that version or newer"
    )]
    Newer(i64),
    #[error(
        "restore needs an empty database, but table `{table}` already has {rows} rows: restore into a new database and point database.url at it"
    )]
    NotEmpty { table: String, rows: i64 },
    #[error("the backup's table `{0}` does not exist in this database's schema")]
    UnknownTable(String),
    #[error("table `{table}`: the backup holds {expected} rows but {found} were restored")]
    Count {
        table: String,
        expected: u64,
        found: i64,
    },
}

/// One table in the header.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TableInfo {
    pub name: String,
    pub columns: Vec<String>,
    /// Columns holding bytes (written as hex on SQLite).
    #[serde(default)]
    pub binary: Vec<String>,
    pub rows: u64,
}

/// The first line of a backup.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub backend: String,
    pub created_at: String,
    pub migrations: Vec<i64>,
    pub tables: Vec<TableInfo>,
}

/// One row line: the table and the row as JSON text made by the database.
#[derive(Debug, Deserialize)]
struct RowLine {
    t: String,
    r: Box<serde_json::value::RawValue>,
}

/// What a backup or restore did.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub backend: String,
    pub tables: Vec<(String, u64)>,
}

impl Summary {
    pub fn rows(&self) -> u64 {
        self.tables.iter().map(|t| t.1).sum()
    }
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn backend_name(b: Backend) -> &'static str {
    match b {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

/// Orders tables so that every table comes after the tables it references.
fn fk_order(tables: &[String], refs: &[(String, String)]) -> Vec<String> {
    let mut deps: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for t in tables {
        deps.entry(t).or_default();
    }
    for (child, parent) in refs {
        if child != parent && deps.contains_key(parent.as_str()) {
            deps.entry(child).or_default().insert(parent);
        }
    }
    let mut done: Vec<String> = Vec::new();
    while done.len() < tables.len() {
        let ready: Vec<&str> = deps
            .iter()
            .filter(|(t, ds)| {
                !done.iter().any(|d| d == *t) && ds.iter().all(|d| done.iter().any(|x| x == d))
            })
            .map(|(t, _)| *t)
            .collect();
        if ready.is_empty() {
            // A cycle: take the rest in name order (SQLite defers the check to commit).
            for t in deps.keys() {
                if !done.iter().any(|d| d == t) {
                    done.push(t.to_string());
                }
            }
            break;
        }
        done.extend(ready.into_iter().map(str::to_string));
    }
    done
}

/// Writes an encrypted snapshot of `store` to `out`, for `recipient`.
pub async fn backup<W: Write>(
    store: &Store,
    recipient: &age::x25519::Recipient,
    out: W,
) -> Result<Summary, BackupError> {
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(recipient as &dyn age::Recipient))?;
    let mut w = std::io::BufWriter::new(encryptor.wrap_output(out)?);
    let summary = match store.pool() {
        Pool::Sqlite(p) => dump_sqlite(p, &mut w).await?,
        Pool::Postgres(p) => dump_postgres(p, &mut w).await?,
    };
    let stream = w.into_inner().map_err(|e| e.into_error())?;
    stream.finish()?.flush()?;
    Ok(summary)
}

fn write_header<W: Write>(
    w: &mut W,
    backend: Backend,
    migrations: Vec<i64>,
    tables: &[TableInfo],
) -> Result<(), BackupError> {
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        backend: backend_name(backend).into(),
        created_at: chrono::Utc::now().to_rfc3339(),
        migrations,
        tables: tables.to_vec(),
    };
    serde_json::to_writer(&mut *w, &header).map_err(std::io::Error::from)?;
    w.write_all(b"\n")?;
    Ok(())
}

fn write_row<W: Write>(w: &mut W, table: &str, json: &str) -> Result<(), BackupError> {
    w.write_all(b"{\"t\":")?;
    serde_json::to_writer(&mut *w, table).map_err(std::io::Error::from)?;
    w.write_all(b",\"r\":")?;
    w.write_all(json.as_bytes())?;
    w.write_all(b"}\n")?;
    Ok(())
}

async fn dump_sqlite<W: Write>(pool: &sqlx::SqlitePool, w: &mut W) -> Result<Summary, BackupError> {
    let mut tx = pool.begin().await?;
    // The first read fixes the snapshot every later read in this transaction sees.
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations' ORDER BY name",
    )
    .fetch_all(&mut *tx)
    .await?;
    let migrations: Vec<i64> = sqlx::query_scalar(
        "SELECT version FROM _sqlx_migrations WHERE success = 1 ORDER BY version",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut refs = Vec::new();
    for t in &names {
        let parents: Vec<String> =
            sqlx::query_scalar("SELECT \"table\" FROM pragma_foreign_key_list($1)")
                .bind(t)
                .fetch_all(&mut *tx)
                .await?;
        refs.extend(parents.into_iter().map(|p| (t.clone(), p)));
    }
    let mut tables = Vec::new();
    for name in fk_order(&names, &refs) {
        let cols: Vec<(String, String)> =
            sqlx::query_as("SELECT name, type FROM pragma_table_info($1) ORDER BY cid")
                .bind(&name)
                .fetch_all(&mut *tx)
                .await?;
        let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {}",
            quote(&name)
        )))
        .fetch_one(&mut *tx)
        .await?;
        tables.push(TableInfo {
            binary: cols
                .iter()
                .filter(|(_, ty)| ty.to_ascii_uppercase().contains("BLOB"))
                .map(|(c, _)| c.clone())
                .collect(),
            columns: cols.into_iter().map(|(c, _)| c).collect(),
            name,
            rows: u64::try_from(rows).unwrap_or(0),
        });
    }
    write_header(w, Backend::Sqlite, migrations, &tables)?;
    for t in &tables {
        let fields: Vec<String> = t
            .columns
            .iter()
            .map(|c| {
                let v = if t.binary.contains(c) {
                    format!("hex({})", quote(c))
                } else {
                    quote(c)
                };
                format!("'{}', {v}", c.replace('\'', "''"))
            })
            .collect();
        let sql = format!(
            "SELECT json_object({}) FROM {} ORDER BY rowid",
            fields.join(", "),
            quote(&t.name)
        );
        let mut rows =
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.as_str())).fetch(&mut *tx);
        while let Some(json) = rows.try_next().await? {
            write_row(w, &t.name, &json)?;
        }
    }
    tx.commit().await?;
    Ok(Summary {
        backend: "sqlite".into(),
        tables: tables.iter().map(|t| (t.name.clone(), t.rows)).collect(),
    })
}

async fn dump_postgres<W: Write>(pool: &sqlx::PgPool, w: &mut W) -> Result<Summary, BackupError> {
    let mut tx = pool
        .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .await?;
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations' ORDER BY table_name",
    )
    .fetch_all(&mut *tx)
    .await?;
    let migrations: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(&mut *tx)
            .await?;
    let refs: Vec<(String, String)> = sqlx::query_as(
        "SELECT c.relname::text, p.relname::text FROM pg_constraint k \
         JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid \
         WHERE k.contype = 'f' AND c.relnamespace = current_schema()::regnamespace",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut tables = Vec::new();
    for name in fk_order(&names, &refs) {
        let cols: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(&name)
        .fetch_all(&mut *tx)
        .await?;
        let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM {}",
            quote(&name)
        )))
        .fetch_one(&mut *tx)
        .await?;
        tables.push(TableInfo {
            binary: cols
                .iter()
                .filter(|(_, ty)| ty == "bytea")
                .map(|(c, _)| c.clone())
                .collect(),
            columns: cols.into_iter().map(|(c, _)| c).collect(),
            name,
            rows: u64::try_from(rows).unwrap_or(0),
        });
    }
    write_header(w, Backend::Postgres, migrations, &tables)?;
    for t in &tables {
        let sql = format!("SELECT row_to_json(t)::text FROM {} t", quote(&t.name));
        let mut rows =
            sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.as_str())).fetch(&mut *tx);
        while let Some(json) = rows.try_next().await? {
            write_row(w, &t.name, &json)?;
        }
    }
    tx.commit().await?;
    Ok(Summary {
        backend: "postgres".into(),
        tables: tables.iter().map(|t| (t.name.clone(), t.rows)).collect(),
    })
}

/// Reads the identities (age secret keys, `AGE-SECRET-KEY-1...`) in an identity file.
pub fn identities(path: &std::path::Path) -> Result<Vec<Box<dyn age::Identity>>, BackupError> {
    let shown = path.display().to_string();
    let file = age::IdentityFile::from_file(shown.clone()).map_err(|e| {
        BackupError::Format(shown.clone(), format!("not an age identity file: {e}"))
    })?;
    file.into_identities()
        .map_err(|e| BackupError::Format(shown, format!("not an age identity file: {e}")))
}

/// Decrypts `input` with `identities` and returns the plaintext reader.
pub fn open<R: std::io::Read>(
    input: R,
    identities: &[Box<dyn age::Identity>],
    shown: &str,
) -> Result<impl BufRead, BackupError> {
    let d = age::Decryptor::new(input).map_err(|_| BackupError::Decrypt(shown.into()))?;
    let r = d
        .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .map_err(|_| BackupError::Decrypt(shown.into()))?;
    Ok(std::io::BufReader::new(r))
}

/// Reads the header line of a decrypted backup.
pub fn read_header<R: BufRead>(r: &mut R, shown: &str) -> Result<Header, BackupError> {
    let mut line = String::new();
    r.read_line(&mut line)
        .map_err(|_| BackupError::Decrypt(shown.into()))?;
    let h: Header = serde_json::from_str(&line)
        .map_err(|e| BackupError::Format(shown.into(), format!("bad header: {e}")))?;
    if h.format != FORMAT || h.version > VERSION {
        return Err(BackupError::Format(
            shown.into(),
            format!("format {} version {}", h.format, h.version),
        ));
    }
    Ok(h)
}

/// Loads a decrypted backup (header already read) into `store`, which must be empty. The store
/// is migrated first.
/// Tables whose rows a fresh database gets from its migrations (not from people): a restore
/// replaces them with the backup's instead of refusing the database as not empty.
const SEEDED_BY_MIGRATIONS: &[&str] = &["local_secrets"];

pub async fn restore<R: BufRead>(
    store: &Store,
    header: &Header,
    mut input: R,
    shown: &str,
) -> Result<Summary, BackupError> {
    store.migrate().await?;
    let applied = store.applied_migrations().await?;
    if let Some(v) = header.migrations.iter().find(|v| !applied.contains(v)) {
        return Err(BackupError::Newer(*v));
    }
    let mut tx = store.begin().await?;
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    crate::with_tx!(tx, c => {
        if store.backend() == Backend::Sqlite {
            sqlx::query("PRAGMA defer_foreign_keys = ON").execute(&mut *c).await?;
        }
        for t in &header.tables {
            let exists: i64 = match store.backend() {
                Backend::Sqlite => sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1").bind(&t.name).fetch_one(&mut *c).await?,
                Backend::Postgres => sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = $1").bind(&t.name).fetch_one(&mut *c).await?,
            };
            if exists == 0 {
                return Err(BackupError::UnknownTable(t.name.clone()));
            }
            if SEEDED_BY_MIGRATIONS.contains(&t.name.as_str()) {
                // A fresh database's own seed (the key of our email mark) gives way to the
                // backup's, so mail sent before the backup is still recognised as ours.
                sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM {}", quote(&t.name)))).execute(&mut *c).await?;
                continue;
            }
            let rows: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", quote(&t.name)))).fetch_one(&mut *c).await?;
            if rows > 0 {
                return Err(BackupError::NotEmpty { table: t.name.clone(), rows });
            }
        }
        let tables: BTreeMap<&str, &TableInfo> = header.tables.iter().map(|t| (t.name.as_str(), t)).collect();
        let mut batch: Vec<Box<serde_json::value::RawValue>> = Vec::new();
        let mut current: Option<String> = None;
        let mut line = String::new();
        loop {
            line.clear();
            let n = input.read_line(&mut line).map_err(|_| BackupError::Decrypt(shown.into()))?;
            let row: Option<RowLine> = if n == 0 {
                None
            } else {
                Some(serde_json::from_str(&line).map_err(|e| BackupError::Format(shown.into(), format!("bad row: {e}")))?)
            };
            let switch = match (&row, &current) {
                (Some(r), Some(cur)) => r.t != *cur || batch.len() >= BATCH,
                (None, Some(_)) => true,
                _ => false,
            };
            if switch && let Some(cur) = &current {
                let t = tables.get(cur.as_str()).ok_or_else(|| BackupError::UnknownTable(cur.clone()))?;
                let sql = insert_sql(store.backend(), t);
                let json = format!("[{}]", batch.iter().map(|r| r.get()).collect::<Vec<_>>().join(","));
                sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(json).execute(&mut *c).await?;
                *counts.entry(cur.clone()).or_default() += batch.len() as i64;
                batch.clear();
            }
            let Some(row) = row else { break };
            if !tables.contains_key(row.t.as_str()) {
                return Err(BackupError::UnknownTable(row.t));
            }
            current = Some(row.t);
            batch.push(row.r);
        }
        if store.backend() == Backend::Postgres {
            let serials: Vec<(String, String)> = sqlx::query_as(
                "SELECT table_name::text, column_name::text FROM information_schema.columns WHERE table_schema = current_schema() AND (column_default LIKE 'nextval(%' OR is_identity = 'YES')",
            ).fetch_all(&mut *c).await?;
            for (t, col) in serials {
                let sql = format!(
                    "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(MAX({q}), 1), MAX({q}) IS NOT NULL) FROM {}",
                    quote(&t), q = quote(&col)
                );
                sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(quote(&t)).bind(&col).execute(&mut *c).await?;
            }
        }
        for t in &header.tables {
            let found: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {}", quote(&t.name)))).fetch_one(&mut *c).await?;
            if u64::try_from(found).ok() != Some(t.rows) {
                return Err(BackupError::Count { table: t.name.clone(), expected: t.rows, found });
            }
        }
    });
    tx.commit().await?;
    Ok(Summary {
        backend: backend_name(store.backend()).into(),
        tables: header
            .tables
            .iter()
            .map(|t| (t.name.clone(), t.rows))
            .collect(),
    })
}

/// One INSERT of a JSON array of rows (bound as `$1`), with the backup's columns: a column the
/// target has beyond them (a newer migration) takes its default.
fn insert_sql(backend: Backend, t: &TableInfo) -> String {
    let cols: Vec<String> = t.columns.iter().map(|c| quote(c)).collect();
    match backend {
        Backend::Sqlite => {
            let vals: Vec<String> = t
                .columns
                .iter()
                .map(|c| {
                    let path = format!("'$.\"{}\"'", c.replace('\'', "''").replace('"', "\\\""));
                    if t.binary.contains(c) {
                        format!("unhex(value ->> {path})")
                    } else {
                        format!("value ->> {path}")
                    }
                })
                .collect();
            format!(
                "INSERT INTO {} ({}) SELECT {} FROM json_each($1)",
                quote(&t.name),
                cols.join(", "),
                vals.join(", ")
            )
        }
        Backend::Postgres => format!(
            "INSERT INTO {t} ({c}) SELECT {c} FROM json_populate_recordset(NULL::{t}, $1::json)",
            t = quote(&t.name),
            c = cols.join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_before_children() {
        let tables: Vec<String> = ["offers", "requests", "operators", "mediators"]
            .map(String::from)
            .to_vec();
        let refs = vec![
            ("requests".to_string(), "operators".to_string()),
            ("requests".to_string(), "mediators".to_string()),
            ("offers".to_string(), "requests".to_string()),
            ("offers".to_string(), "mediators".to_string()),
            ("offers".to_string(), "offers".to_string()),
        ];
        let order = fk_order(&tables, &refs);
        let pos = |t: &str| order.iter().position(|x| x == t).unwrap();
        assert_eq!(order.len(), 4);
        assert!(pos("operators") < pos("requests"));
        assert!(pos("mediators") < pos("requests"));
        assert!(pos("requests") < pos("offers"));
    }
}
