//! Opening the database for a one-shot command: only `migrate`, `run` (and `restore`, into a new
//! database) create one. Any other command run where no database exists — from the wrong
//! directory, say, with a relative `sqlite://connecting.db` — says so and where it looked,
//! instead of creating an empty database and showing an empty queue.

use std::path::{Path, PathBuf};

use crate::store::{Backend, Store, redact_url};

/// Why an existing database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(
        "no database at {path} (database.url = {url}; {config}): run `connecting migrate` to create it, or point --config or CONNECTING_DATABASE_URL at the right one"
    )]
    NoFile {
        path: String,
        url: String,
        config: String,
    },
    #[error(
        "the database {url} does not exist ({config}): create it (createdb) and run `connecting migrate`, or point --config or CONNECTING_DATABASE_URL at the right one"
    )]
    NoDatabase { url: String, config: String },
    #[error(
        "the database {url} has no connecting tables ({config}): run `connecting migrate` to create them, or point --config or CONNECTING_DATABASE_URL at the right one"
    )]
    NoSchema { url: String, config: String },
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The file of a `sqlite:` URL, or `None` for an in-memory database.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or("");
    if path.is_empty() || path.contains(":memory:") || url.contains("mode=memory") {
        return None;
    }
    Some(PathBuf::from(path))
}

/// Where the configuration came from, for messages.
pub fn config_origin(config_file: Option<&Path>) -> String {
    match config_file {
        Some(p) => format!("config {}", p.display()),
        None => format!(
            "no config file found (looked for {})",
            crate::config::DISCOVERED.join(", ")
        ),
    }
}

/// Opens a database that must already exist and have our schema, then applies pending
/// migrations (as every start does).
pub async fn open_existing(url: &str, config_file: Option<&Path>) -> Result<Store, OpenError> {
    let config = config_origin(config_file);
    if let Some(path) = sqlite_path(url)
        && !path.is_file()
    {
        let shown = std::path::absolute(&path).unwrap_or(path);
        return Err(OpenError::NoFile {
            path: shown.display().to_string(),
            url: redact_url(url),
            config,
        });
    }
    let store = match Store::connect(url).await {
        Ok(s) => s,
        Err(crate::store::StoreError::Connect(sqlx::Error::Database(e)))
            if e.code().as_deref() == Some("3D000") =>
        {
            return Err(OpenError::NoDatabase {
                url: redact_url(url),
                config,
            });
        }
        Err(e) => return Err(e.into()),
    };
    if !has_schema(&store).await {
        store.close().await;
        return Err(OpenError::NoSchema {
            url: redact_url(url),
            config,
        });
    }
    store.migrate().await?;
    Ok(store)
}

/// True when our migrations table exists (the database was made by `connecting migrate`).
pub async fn has_schema(store: &Store) -> bool {
    let sql = match store.backend() {
        Backend::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'"
        }
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = '_sqlx_migrations'"
        }
    };
    let n: Result<i64, sqlx::Error> = crate::with_pool!(store, p => {
        sqlx::query_scalar(sql).fetch_one(p).await
    });
    matches!(n, Ok(n) if n > 0)
}
