//! Leadership among several instances on one PostgreSQL database: the IMAP poller and Telegram
//! long polling run on one leader at a time. The leader holds a session-level advisory lock on a
//! dedicated connection; if the process dies the connection closes, the lock is released, and
//! another instance takes it at its next attempt (every couple of seconds). With SQLite there is
//! only ever one instance (see `daemon::instance_lock`), which is always the leader.

use std::time::Duration;
use tokio::sync::watch;

use crate::store::{Pool, Store};

/// Advisory lock key: "connecting leader".
pub const LEADER_KEY: i64 = 0x636f_6e6e_6563_7431;

/// Runs leader election until shutdown; publishes `true` while this instance leads.
pub async fn elect(
    store: Store,
    tx: watch::Sender<bool>,
    mut shutdown: crate::shutdown::Shutdown,
    every: Duration,
) {
    let pg = match store.pool() {
        Pool::Sqlite(_) => {
            let _ = tx.send(true);
            shutdown.wait().await;
            return;
        }
        Pool::Postgres(p) => p.clone(),
    };
    loop {
        if shutdown.is_set() {
            return;
        }
        match pg.acquire().await {
            Ok(mut conn) => {
                let got: Result<bool, sqlx::Error> =
                    sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                        .bind(LEADER_KEY)
                        .fetch_one(&mut *conn)
                        .await;
                if let Ok(true) = got {
                    tracing::info!("this instance is now the leader (IMAP and Telegram polling)");
                    let _ = tx.send(true);
                    // Hold the connection; check it stays alive.
                    loop {
                        tokio::select! {
                            _ = shutdown.wait() => {
                                let _ = sqlx::query("SELECT pg_advisory_unlock($1)").bind(LEADER_KEY).execute(&mut *conn).await;
                                let _ = tx.send(false);
                                return;
                            }
                            _ = tokio::time::sleep(every) => {
                                if sqlx::query("SELECT 1").execute(&mut *conn).await.is_err() {
                                    tracing::warn!("lost the leader connection; stepping down");
                                    let _ = tx.send(false);
                                    break;
                                }
                            }
                        }
                    }
                    // Never return a connection that may still hold the lock to the pool.
                    conn.detach();
                }
            }
            Err(e) => tracing::warn!(error = %e, "leader election: database unavailable"),
        }
        tokio::select! {
            _ = shutdown.wait() => return,
            _ = tokio::time::sleep(every) => {}
        }
    }
}
