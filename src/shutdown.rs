//! The shutdown signal handed to every long-running part (pollers, workers, the HTTP server):
//! a small explicit type passed to each task, not a global (in the spirit of mini-redis's
//! `shutdown.rs`). `daemon` raises it on SIGTERM; `leader` and the channels wait on it.

use tokio::sync::watch;

/// A shutdown signal handed to every part: `changed()` resolves when the process must stop.
#[derive(Clone)]
pub struct Shutdown(pub(crate) watch::Receiver<bool>);

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
