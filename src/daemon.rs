//! `connecting run`: one process that starts what the configuration enables and stops cleanly.
//!
//! Parts without configuration are skipped with one log line. SIGINT/SIGTERM stop taking new
//! work and give running work a bounded time to finish; a second signal exits at once.

use anyhow::{Context as _, bail};
use std::time::Duration;
use tokio::sync::watch;

use crate::config::Config;
use crate::store::{Backend, Store};

/// A shutdown signal handed to every part: `changed()` resolves when the process must stop.
#[derive(Clone)]
pub struct Shutdown(watch::Receiver<bool>);

impl Shutdown {
    pub fn new() -> (watch::Sender<bool>, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (tx, Shutdown(rx))
    }

    pub fn is_set(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once shutdown has been requested.
    pub async fn wait(&mut self) {
        while !*self.0.borrow() {
            if self.0.changed().await.is_err() {
                return;
            }
        }
    }
}

/// Holds an exclusive lock on `<database file>.lock` for the process's lifetime, so a second
/// instance on the same SQLite file refuses to start.
pub struct InstanceLock {
    _file: Option<std::fs::File>,
}

pub fn instance_lock(cfg: &Config, store: &Store) -> anyhow::Result<InstanceLock> {
    if store.backend() != Backend::Sqlite {
        return Ok(InstanceLock { _file: None });
    }
    let url = &cfg.database.url;
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:")
        .split('?')
        .next()
        .unwrap_or("");
    if path.is_empty() || path.contains(":memory:") {
        return Ok(InstanceLock { _file: None });
    }
    let lock_path = format!("{path}.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open lock file {lock_path}"))?;
    match file.try_lock() {
        Ok(()) => Ok(InstanceLock { _file: Some(file) }),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "another connecting instance is already running on {path} (SQLite allows one instance; use PostgreSQL to run several)"
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(e).with_context(|| format!("cannot lock {lock_path}"))
        }
    }
}

/// Waits for SIGINT or SIGTERM.
async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let term = signal(SignalKind::terminate());
        let int = signal(SignalKind::interrupt());
        match (term, int) {
            (Ok(mut t), Ok(mut i)) => {
                tokio::select! {
                    _ = t.recv() => {}
                    _ = i.recv() => {}
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs until a signal arrives.
pub async fn run(cfg: &Config) -> anyhow::Result<()> {
    let store = Store::open(&cfg.database.url).await?;
    let _lock = instance_lock(cfg, &store)?;
    let (stop, shutdown) = Shutdown::new();
    let mut tasks: tokio::task::JoinSet<()> = tokio::task::JoinSet::new();

    if cfg.telegram.is_none() {
        tracing::info!(part = "telegram", "not configured, skipped");
    }
    if cfg.imap.is_none() {
        tracing::info!(part = "imap", "not configured, skipped");
    }
    if cfg.smtp.is_none() {
        tracing::info!(part = "smtp", "not configured, skipped");
    }
    let _ = &shutdown;
    tracing::info!(backend = ?store.backend(), "connecting is running");

    signal().await;
    tracing::info!("stopping: finishing work in flight");
    let _ = stop.send(true);
    let drain = async { while tasks.join_next().await.is_some() {} };
    tokio::select! {
        _ = drain => {}
        _ = tokio::time::sleep(Duration::from_secs(20)) => tracing::warn!("parts did not stop within 20 s"),
        _ = signal() => tracing::warn!("second signal: exiting now"),
    }
    store.close().await;
    Ok(())
}
