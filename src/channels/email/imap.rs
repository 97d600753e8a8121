//! IMAP intake: a poller that never loses a message and never acknowledges one before it is
//! committed.
//!
//! One loop per mailbox: connect (plain TCP only where the config allows it, implicit TLS, or
//! STARTTLS; rustls with the bundled Mozilla roots or the operating system's trust store
//! (`trust_store`), plus an optional extra CA file), LOGIN with the password or AUTHENTICATE
//! XOAUTH2 with an access token from [`crate::oauth2::TokenSource`] (a refused token is
//! refreshed and tried once more on the same connection), SELECT, then
//! sync and wait (IDLE when advertised, re-issued before the 29-minute limit; otherwise a poll
//! every `poll_interval_secs`). Any error drops the connection and reconnects with exponential
//! backoff.
//!
//! Sync: the durable cursor (UIDVALIDITY + last committed UID) comes from the [`MessageSink`];
//! every UID above it is fetched with `BODY.PEEK[]` (nothing is marked read by accident) and
//! handed to the sink, which commits it to the store; only after that commit is the message
//! moved to `processed_mailbox` (or flagged `\Seen` where MOVE is missing). Messages at or below
//! the cursor still in the mailbox (a crash between commit and move) are moved without being
//! fetched again. A UIDVALIDITY change restarts from UID 1; the sink deduplicates by Message-ID
//! (or content hash). A message above the size cap is fetched as its header only and handed to
//! the sink flagged `oversized`, so it is recorded and never blocks the mailbox.

use crate::config::TrustStore;
use crate::oauth2::{OAuth2Error, TokenSource};
use async_imap::types::UnsolicitedResponse;
use async_imap::{Client, Session};
use futures::StreamExt;
use std::fmt;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// Plain TCP: only when `allow_plaintext` is set (tests, a local relay).
    None,
    /// TLS from the first byte (port 993).
    Implicit,
    /// Plain greeting, then STARTTLS (port 143).
    Starttls,
}

/// Settings of one IMAP intake mailbox.
#[derive(Clone)]
pub struct ImapConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// Must be true for `tls = none`; a safety catch against plaintext passwords in production.
    pub allow_plaintext: bool,
    /// Extra trusted CA (PEM), beside the trust store: a private server's certificate.
    pub ca_file: Option<PathBuf>,
    /// The roots trusted besides `ca_file`.
    pub trust_store: TrustStore,
    pub username: String,
    pub password: String,
    /// XOAUTH2 with these tokens instead of LOGIN with `password`.
    pub oauth2: Option<Arc<TokenSource>>,
    pub mailbox: String,
    pub processed_mailbox: String,
    /// Used when the server has no IDLE, and as the idle re-check when `use_idle` is off.
    pub poll_interval: Duration,
    pub use_idle: bool,
    /// IDLE is ended and re-issued after this long (RFC 2177: before 29 minutes).
    pub idle_renew: Duration,
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Messages above this size are recorded from their header only.
    pub max_message_size: usize,
    /// UIDs fetched per UID FETCH command.
    pub fetch_batch: usize,
    /// Timeout of one network step (connect, login, a command).
    pub io_timeout: Duration,
}

impl fmt::Debug for ImapConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImapConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("mailbox", &self.mailbox)
            .field("processed_mailbox", &self.processed_mailbox)
            .field("password", &"[redacted]")
            .field("xoauth2", &self.oauth2.is_some())
            .finish_non_exhaustive()
    }
}

impl ImapConfig {
    /// Defaults for everything but the server and the account.
    pub fn new(host: &str, port: u16, tls: TlsMode, username: &str, password: &str) -> Self {
        Self {
            host: host.to_owned(),
            port,
            tls,
            allow_plaintext: false,
            ca_file: None,
            trust_store: TrustStore::Bundled,
            username: username.to_owned(),
            password: password.to_owned(),
            oauth2: None,
            mailbox: "INBOX".to_owned(),
            processed_mailbox: "Processed".to_owned(),
            poll_interval: Duration::from_secs(30),
            use_idle: true,
            idle_renew: Duration::from_secs(25 * 60),
            backoff_min: Duration::from_millis(500),
            backoff_max: Duration::from_secs(300),
            max_message_size: 25 * 1024 * 1024,
            fetch_batch: 50,
            io_timeout: Duration::from_secs(60),
        }
    }

    /// From the `[imap]` section of the configuration. `tls = "none"` is accepted for a
    /// loopback host, elsewhere only with `allow_plaintext`.
    pub fn from_config(c: &crate::config::ImapConfig) -> Self {
        let tls = match c.tls {
            crate::config::TlsMode::Tls => TlsMode::Implicit,
            crate::config::TlsMode::Starttls => TlsMode::Starttls,
            crate::config::TlsMode::None => TlsMode::None,
        };
        let password = c.password.as_ref().map(|p| p.expose()).unwrap_or("");
        let mut me = Self::new(&c.host, c.port(), tls, &c.username, password);
        me.ca_file = c.ca_file.clone();
        me.trust_store = c.trust_store;
        me.allow_plaintext = c.allow_plaintext || crate::config::is_loopback(&c.host);
        me.mailbox = c.mailbox.clone();
        me.processed_mailbox = c.processed_mailbox.clone();
        me.poll_interval = Duration::from_secs(c.poll_interval_secs.max(1));
        me.use_idle = c.idle;
        me.max_message_size = usize::try_from(c.max_message_bytes).unwrap_or(usize::MAX);
        me
    }

    /// Logs in with XOAUTH2 and these tokens (for `imap.auth = "xoauth2"`).
    pub fn with_oauth2(mut self, tokens: Arc<TokenSource>) -> Self {
        self.oauth2 = Some(tokens);
        self
    }

    /// The key of this mailbox's cursor: `user@host:port/mailbox`.
    pub fn mailbox_key(&self) -> String {
        format!(
            "{}@{}:{}/{}",
            self.username, self.host, self.port, self.mailbox
        )
    }
}

pub use crate::domain::mailbox::Cursor;

/// One message as fetched, handed to the sink.
#[derive(Debug, Clone)]
pub struct FetchedMessage {
    pub mailbox_key: String,
    pub uid_validity: u32,
    pub uid: u32,
    /// The whole message, or only its header when `oversized`.
    pub raw: Vec<u8>,
    /// RFC822.SIZE as the server reports it.
    pub size: usize,
    pub oversized: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("store: {0}")]
pub struct SinkError(pub String);

pub type SinkFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, SinkError>> + Send + 'a>>;

/// The durable side of intake. `commit` must be durable (and deduplicated) when it returns Ok,
/// and must advance the cursor of `mailbox_key` to the message's UID in the same transaction.
pub trait MessageSink: Send + Sync {
    fn load_cursor<'a>(&'a self, mailbox_key: &'a str) -> SinkFuture<'a, Option<Cursor>>;
    /// A new UIDVALIDITY: store it with `last_uid = 0` (dedupe protects the rescan).
    fn reset_cursor<'a>(&'a self, mailbox_key: &'a str, uid_validity: u32) -> SinkFuture<'a, ()>;
    fn commit<'a>(&'a self, message: FetchedMessage) -> SinkFuture<'a, ()>;
}

/// Liveness of the intake, for health checks and the coordinator alert.
#[derive(Debug, Default)]
pub struct Health {
    connected: AtomicBool,
    /// Unix seconds of the last completed sync (0: never).
    last_sync_at: AtomicI64,
    reconnects: AtomicU64,
    committed: AtomicU64,
    syncs: AtomicU64,
}

impl Health {
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }
    pub fn last_sync_at(&self) -> Option<i64> {
        match self.last_sync_at.load(Ordering::Relaxed) {
            0 => None,
            t => Some(t),
        }
    }
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::Relaxed)
    }
    pub fn committed(&self) -> u64 {
        self.committed.load(Ordering::Relaxed)
    }
    /// Completed sync passes (an idle mailbox should not add any).
    pub fn syncs(&self) -> u64 {
        self.syncs.load(Ordering::Relaxed)
    }
    /// True when no sync completed in the last `max_age` (or never, `started_at` that long ago).
    pub fn is_stale(&self, now: i64, started_at: i64, max_age: Duration) -> bool {
        let since = self.last_sync_at().unwrap_or(started_at);
        now - since > max_age.as_secs() as i64
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImapError {
    #[error(
        "plaintext IMAP to {0} refused: set allow_plaintext (tls = \"none\") only for a local server"
    )]
    PlaintextRefused(String),
    #[error("connect to {0}: {1}")]
    Connect(String, std::io::Error),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("login refused: {0}")]
    Login(String),
    #[error("oauth2: {0}")]
    OAuth2(#[from] OAuth2Error),
    #[error("IMAP: {0}")]
    Protocol(#[from] async_imap::error::Error),
    #[error("IMAP server closed the connection")]
    Closed,
    #[error("timed out after {0:?}")]
    Timeout(Duration),
    #[error(transparent)]
    Sink(#[from] SinkError),
}

/// Plain or TLS stream under async-imap.
#[derive(Debug)]
pub enum ImapStream {
    Plain(TcpStream),
    Tls(Box<TlsStream<TcpStream>>),
}

impl AsyncRead for ImapStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_read(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for ImapStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_write(cx, buf),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_flush(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        match self.get_mut() {
            ImapStream::Plain(s) => Pin::new(s).poll_shutdown(cx),
            ImapStream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}

/// The certificates of the operating system's trust store (DER), or why there are none.
pub fn system_roots() -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    let found = rustls_native_certs::load_native_certs();
    if found.certs.is_empty() {
        let why = found
            .errors
            .first()
            .map(|e| e.to_string())
            .unwrap_or_else(|| "no certificates found".into());
        return Err(format!(
            "the system trust store is empty ({why}): install ca-certificates or set trust_store = \"bundled\""
        ));
    }
    Ok(found.certs)
}

/// The CA certificates of a PEM file (`ca_file`).
pub fn ca_file_certs(
    path: &std::path::Path,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, String> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("ca_file {}: {e}", path.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!(
            "ca_file {}: no PEM certificate in it",
            path.display()
        ));
    }
    Ok(certs)
}

/// The root certificates a connection trusts: the trust store plus `ca_file`.
pub fn root_store(
    trust: TrustStore,
    ca_file: Option<&PathBuf>,
) -> Result<rustls::RootCertStore, String> {
    let mut roots = rustls::RootCertStore::empty();
    match trust {
        TrustStore::Bundled => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        TrustStore::System => {
            // A few unparsable entries in a system bundle are skipped, as OpenSSL does.
            let _ = roots.add_parsable_certificates(system_roots()?);
        }
    }
    if let Some(path) = ca_file {
        for cert in ca_file_certs(path)? {
            roots
                .add(cert)
                .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
        }
    }
    Ok(roots)
}

/// A rustls client config: the bundled roots plus the optional extra CA file.
pub fn tls_config(ca_file: Option<&PathBuf>) -> Result<Arc<rustls::ClientConfig>, String> {
    tls_config_with(TrustStore::Bundled, ca_file)
}

/// A rustls client config over `trust` plus the optional extra CA file.
pub fn tls_config_with(
    trust: TrustStore,
    ca_file: Option<&PathBuf>,
) -> Result<Arc<rustls::ClientConfig>, String> {
    let roots = root_store(trust, ca_file)?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

async fn timed<T, E: Into<ImapError>>(
    d: Duration,
    f: impl Future<Output = Result<T, E>>,
) -> Result<T, ImapError> {
    match tokio::time::timeout(d, f).await {
        Ok(r) => r.map_err(Into::into),
        Err(_) => Err(ImapError::Timeout(d)),
    }
}

async fn tls_wrap(cfg: &ImapConfig, tcp: TcpStream) -> Result<ImapStream, ImapError> {
    let config = tls_config_with(cfg.trust_store, cfg.ca_file.as_ref()).map_err(ImapError::Tls)?;
    let name = rustls::pki_types::ServerName::try_from(cfg.host.clone())
        .map_err(|e| ImapError::Tls(format!("server name {}: {e}", cfg.host)))?;
    let tls = TlsConnector::from(config)
        .connect(name, tcp)
        .await
        .map_err(|e| ImapError::Tls(e.to_string()))?;
    Ok(ImapStream::Tls(Box::new(tls)))
}

/// Connects and logs in; returns the session and whether IDLE / MOVE are advertised.
pub async fn connect(cfg: &ImapConfig) -> Result<(Session<ImapStream>, bool, bool), ImapError> {
    let addr = format!("{}:{}", cfg.host, cfg.port);
    if cfg.tls == TlsMode::None && !cfg.allow_plaintext {
        return Err(ImapError::PlaintextRefused(addr));
    }
    let t = cfg.io_timeout;
    let tcp = match tokio::time::timeout(t, TcpStream::connect(&addr)).await {
        Ok(r) => r.map_err(|e| ImapError::Connect(addr.clone(), e))?,
        Err(_) => return Err(ImapError::Timeout(t)),
    };
    let _ = tcp.set_nodelay(true);
    let mut client = match cfg.tls {
        TlsMode::None => Client::new(ImapStream::Plain(tcp)),
        TlsMode::Implicit => Client::new(tls_wrap(cfg, tcp).await?),
        TlsMode::Starttls => {
            let mut plain = Client::new(tcp);
            timed(t, async {
                plain
                    .read_response()
                    .await
                    .map_err(ImapError::from_io)?
                    .ok_or(ImapError::Closed)?;
                plain
                    .run_command_and_check_ok("STARTTLS", None)
                    .await
                    .map_err(ImapError::from)
            })
            .await?;
            let tcp = plain.into_inner();
            // No greeting after STARTTLS: the TLS client starts talking at once.
            let client = Client::new(tls_wrap(cfg, tcp).await?);
            return login(cfg, client, false).await;
        }
    };
    timed(t, async {
        client
            .read_response()
            .await
            .map_err(ImapError::from_io)?
            .ok_or(ImapError::Closed)
    })
    .await?;
    login(cfg, client, true).await
}

impl ImapError {
    fn from_io(e: std::io::Error) -> Self {
        ImapError::Protocol(async_imap::error::Error::Io(e))
    }
}

async fn login(
    cfg: &ImapConfig,
    client: Client<ImapStream>,
    _greeted: bool,
) -> Result<(Session<ImapStream>, bool, bool), ImapError> {
    let t = cfg.io_timeout;
    let mut session = match &cfg.oauth2 {
        Some(tokens) => xoauth2_login(cfg, tokens, client).await?,
        None => match tokio::time::timeout(t, client.login(&cfg.username, &cfg.password)).await {
            Ok(Ok(s)) => s,
            Ok(Err((e, _))) => return Err(ImapError::Login(e.to_string())),
            Err(_) => return Err(ImapError::Timeout(t)),
        },
    };
    let caps = timed(t, session.capabilities()).await?;
    let idle = caps.has_str("IDLE");
    let mv = caps.has_str("MOVE");
    Ok((session, idle, mv))
}

/// SASL XOAUTH2: the first challenge gets the token, an error challenge (the server's JSON
/// saying why) gets the empty answer that ends the exchange with NO.
struct XOAuth2 {
    response: String,
    sent: bool,
}

impl async_imap::Authenticator for XOAuth2 {
    type Response = String;
    fn process(&mut self, _challenge: &[u8]) -> String {
        if self.sent {
            String::new()
        } else {
            self.sent = true;
            std::mem::take(&mut self.response)
        }
    }
}

/// AUTHENTICATE XOAUTH2; a refused token is refreshed and tried once more on the same connection.
async fn xoauth2_login(
    cfg: &ImapConfig,
    tokens: &TokenSource,
    mut client: Client<ImapStream>,
) -> Result<Session<ImapStream>, ImapError> {
    let t = cfg.io_timeout;
    let mut token = tokens.access_token().await?;
    for attempt in 0..2 {
        let auth = XOAuth2 {
            response: crate::oauth2::xoauth2_response(&cfg.username, &token),
            sent: false,
        };
        match tokio::time::timeout(t, client.authenticate("XOAUTH2", auth)).await {
            Ok(Ok(s)) => return Ok(s),
            Ok(Err((async_imap::error::Error::No(why), c))) if attempt == 0 => {
                tracing::info!(reason = %why, "imap: XOAUTH2 refused; refreshing the token");
                client = c;
                token = tokens.refused(&token).await?;
            }
            Ok(Err((e, _))) => return Err(ImapError::Login(format!("XOAUTH2: {e}"))),
            Err(_) => return Err(ImapError::Timeout(t)),
        }
    }
    Err(ImapError::Login("XOAUTH2 refused twice".into()))
}

/// The intake loop for one mailbox. Returns when `shutdown` turns true.
pub struct Poller<S: MessageSink> {
    cfg: ImapConfig,
    sink: Arc<S>,
    health: Arc<Health>,
    shutdown: watch::Receiver<bool>,
}

enum Wake {
    NewData,
    Shutdown,
}

impl<S: MessageSink + 'static> Poller<S> {
    pub fn new(cfg: ImapConfig, sink: Arc<S>, shutdown: watch::Receiver<bool>) -> Self {
        Self {
            cfg,
            sink,
            health: Arc::new(Health::default()),
            shutdown,
        }
    }

    pub fn health(&self) -> Arc<Health> {
        self.health.clone()
    }

    /// Runs until shutdown: connect, sync, wait, and reconnect with backoff after any error.
    pub async fn run(mut self) {
        let mut backoff = self.cfg.backoff_min;
        loop {
            if *self.shutdown.borrow() {
                return;
            }
            let synced_before = self.health.last_sync_at.load(Ordering::Relaxed);
            match self.session_loop().await {
                Ok(()) => return,
                Err(e) => {
                    self.health.connected.store(false, Ordering::Relaxed);
                    self.health.reconnects.fetch_add(1, Ordering::Relaxed);
                    // A session that completed a sync earns a fresh backoff.
                    if self.health.last_sync_at.load(Ordering::Relaxed) != synced_before {
                        backoff = self.cfg.backoff_min;
                    }
                    tracing::warn!(mailbox = %self.cfg.mailbox, error = %e, backoff_ms = backoff.as_millis() as u64, "imap intake: reconnecting");
                    let mut sd = self.shutdown.clone();
                    // Waiting for a new `connecting oauth2 login`: try again as soon as it is done.
                    let login = async {
                        match (&e, &self.cfg.oauth2) {
                            (ImapError::OAuth2(o), Some(tokens)) if o.needs_login() => {
                                tokens.wait_for_login().await
                            }
                            _ => std::future::pending::<()>().await,
                        }
                    };
                    let logged_in = tokio::select! {
                        _ = tokio::time::sleep(backoff) => false,
                        _ = sd.changed() => false,
                        _ = login => true,
                    };
                    backoff = if logged_in {
                        self.cfg.backoff_min
                    } else {
                        (backoff * 2).min(self.cfg.backoff_max)
                    };
                }
            }
        }
    }

    async fn session_loop(&mut self) -> Result<(), ImapError> {
        let (mut session, has_idle, has_move) = connect(&self.cfg).await?;
        self.health.connected.store(true, Ordering::Relaxed);
        let t = self.cfg.io_timeout;
        // Create the processed mailbox if missing ("already exists" is fine).
        if let Err(e) = timed(t, session.create(&self.cfg.processed_mailbox)).await {
            match e {
                ImapError::Protocol(async_imap::error::Error::No(_)) => {}
                other => return Err(other),
            }
        }
        tracing::info!(mailbox = %self.cfg.mailbox, idle = has_idle, mv = has_move, "imap intake: connected");
        loop {
            drain(&session);
            self.sync(&mut session, has_move).await?;
            if *self.shutdown.borrow() {
                let _ = timed(t, session.logout()).await;
                return Ok(());
            }
            // New mail announced while we were syncing (EXISTS in a command's response): sync
            // again before waiting, or it would sit there until the next wake-up.
            if drain(&session) {
                continue;
            }
            let wake = if has_idle && self.cfg.use_idle {
                let (s, wake) = self.idle(session).await?;
                session = s;
                wake
            } else {
                self.poll_wait(&mut session).await?
            };
            if let Wake::Shutdown = wake {
                let _ = timed(t, session.logout()).await;
                return Ok(());
            }
        }
    }

    async fn poll_wait(&mut self, session: &mut Session<ImapStream>) -> Result<Wake, ImapError> {
        let mut sd = self.shutdown.clone();
        tokio::select! {
            _ = tokio::time::sleep(self.cfg.poll_interval) => {}
            _ = sd.changed() => return Ok(Wake::Shutdown),
        }
        timed(self.cfg.io_timeout, session.noop()).await?;
        Ok(Wake::NewData)
    }

    async fn idle(
        &mut self,
        session: Session<ImapStream>,
    ) -> Result<(Session<ImapStream>, Wake), ImapError> {
        let t = self.cfg.io_timeout;
        let mut handle = session.idle();
        timed(t, handle.init()).await?;
        let mut sd = self.shutdown.clone();
        // Re-issued at the renew limit, and at least every poll_interval as a safety net
        // against a lost notification.
        let limit = self.cfg.idle_renew.min(self.cfg.poll_interval);
        let wake = {
            let (fut, stop) = handle.wait_with_timeout(limit);
            let r = tokio::select! {
                r = tokio::time::timeout(limit, fut) => match r {
                    Ok(Ok(_)) | Err(_) => Ok(Wake::NewData),
                    Ok(Err(e)) => Err(ImapError::from(e)),
                },
                _ = sd.changed() => Ok(Wake::Shutdown),
            };
            drop(stop);
            r
        }?;
        let session = timed(t, handle.done()).await?;
        // EXISTS that came with the IDLE start are in the queue; the next sync reads the
        // mailbox anyway.
        Ok((session, wake))
    }

    /// One pass: everything above the cursor is committed, then moved.
    async fn sync(
        &mut self,
        session: &mut Session<ImapStream>,
        has_move: bool,
    ) -> Result<(), ImapError> {
        let t = self.cfg.io_timeout;
        let key = self.cfg.mailbox_key();
        let mb = timed(t, session.select(&self.cfg.mailbox)).await?;
        let validity = mb.uid_validity.unwrap_or(0);
        let mut cursor = match self.sink.load_cursor(&key).await? {
            Some(c) if c.uid_validity == validity => c,
            old => {
                if old.is_some() {
                    tracing::warn!(mailbox = %self.cfg.mailbox, uid_validity = validity, "imap intake: UIDVALIDITY changed, rescanning (deduplicated)");
                }
                self.sink.reset_cursor(&key, validity).await?;
                Cursor {
                    uid_validity: validity,
                    last_uid: 0,
                }
            }
        };
        if mb.exists == 0 {
            self.mark_synced();
            return Ok(());
        }
        let mut uids: Vec<u32> = timed(t, session.uid_search("ALL"))
            .await?
            .into_iter()
            .collect();
        uids.sort_unstable();
        // Committed before but still here (a stop between commit and move): move them now.
        let leftover: Vec<u32> = uids
            .iter()
            .copied()
            .filter(|u| *u <= cursor.last_uid)
            .collect();
        if has_move && !leftover.is_empty() {
            self.acknowledge(session, &leftover, has_move).await?;
        }
        let fresh: Vec<u32> = uids.into_iter().filter(|u| *u > cursor.last_uid).collect();
        for chunk in fresh.chunks(self.cfg.fetch_batch.max(1)) {
            let set = uid_set(chunk);
            // Sizes first, so an oversized message is never pulled whole.
            let sizes: Vec<(u32, usize)> = {
                let mut stream = timed(t, session.uid_fetch(&set, "(UID RFC822.SIZE)")).await?;
                let mut v = Vec::new();
                while let Some(f) =
                    timed(t, async { Ok::<_, ImapError>(stream.next().await) }).await?
                {
                    let f = f?;
                    if let Some(uid) = f.uid {
                        v.push((uid, f.size.unwrap_or(0) as usize));
                    }
                }
                v
            };
            let (big, small): (Vec<_>, Vec<_>) = sizes
                .into_iter()
                .partition(|(_, size)| *size > self.cfg.max_message_size);
            let mut done = Vec::new();
            let small_uids: Vec<u32> = small.iter().map(|(u, _)| *u).collect();
            if !small_uids.is_empty() {
                self.fetch_and_commit(
                    session,
                    &small_uids,
                    "(UID RFC822.SIZE BODY.PEEK[])",
                    false,
                    validity,
                    &mut cursor,
                    &mut done,
                )
                .await?;
            }
            let big_uids: Vec<u32> = big.iter().map(|(u, _)| *u).collect();
            if !big_uids.is_empty() {
                self.fetch_and_commit(
                    session,
                    &big_uids,
                    "(UID RFC822.SIZE BODY.PEEK[HEADER])",
                    true,
                    validity,
                    &mut cursor,
                    &mut done,
                )
                .await?;
            }
            done.sort_unstable();
            if !done.is_empty() {
                self.acknowledge(session, &done, has_move).await?;
            }
        }
        self.mark_synced();
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn fetch_and_commit(
        &self,
        session: &mut Session<ImapStream>,
        uids: &[u32],
        query: &str,
        oversized: bool,
        validity: u32,
        cursor: &mut Cursor,
        done: &mut Vec<u32>,
    ) -> Result<(), ImapError> {
        let t = self.cfg.io_timeout;
        let key = self.cfg.mailbox_key();
        let mut fetched = Vec::with_capacity(uids.len());
        {
            let mut stream = timed(t, session.uid_fetch(uid_set(uids), query)).await?;
            while let Some(f) = timed(t, async { Ok::<_, ImapError>(stream.next().await) }).await? {
                let f = f?;
                let Some(uid) = f.uid else { continue };
                let raw = if oversized { f.header() } else { f.body() };
                let Some(raw) = raw else { continue };
                fetched.push(FetchedMessage {
                    mailbox_key: key.clone(),
                    uid_validity: validity,
                    uid,
                    raw: raw.to_vec(),
                    size: f.size.map(|s| s as usize).unwrap_or(raw.len()),
                    oversized,
                });
            }
        }
        // Commit in UID order so the cursor only ever moves forward over committed messages.
        // A requested UID that did not come back (a cut stream, or expunged meanwhile) stops
        // the batch there: nothing above it is committed, so the cursor never skips it.
        fetched.sort_by_key(|m| m.uid);
        let first_missing = uids
            .iter()
            .copied()
            .filter(|u| !fetched.iter().any(|m| m.uid == *u))
            .min();
        for m in fetched {
            if first_missing.is_some_and(|missing| m.uid > missing) {
                break;
            }
            let uid = m.uid;
            self.sink.commit(m).await?;
            self.health.committed.fetch_add(1, Ordering::Relaxed);
            cursor.last_uid = cursor.last_uid.max(uid);
            done.push(uid);
        }
        match first_missing {
            // Reconnect: a fresh search tells whether the message is still there.
            Some(_) => Err(ImapError::Closed),
            None => Ok(()),
        }
    }

    /// After commit: MOVE to processed_mailbox, or flag \Seen where MOVE is missing.
    async fn acknowledge(
        &self,
        session: &mut Session<ImapStream>,
        uids: &[u32],
        has_move: bool,
    ) -> Result<(), ImapError> {
        let t = self.cfg.io_timeout;
        let set = uid_set(uids);
        if has_move {
            timed(t, session.uid_mv(&set, &self.cfg.processed_mailbox)).await?;
        } else {
            let stream = timed(t, session.uid_store(&set, "+FLAGS.SILENT (\\Seen)")).await?;
            let _: Vec<_> = stream.collect().await;
        }
        Ok(())
    }

    fn mark_synced(&self) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        self.health.last_sync_at.store(now, Ordering::Relaxed);
        self.health.syncs.fetch_add(1, Ordering::Relaxed);
    }
}

/// Empties the unsolicited-response queue; true when it held an EXISTS or RECENT (new mail).
fn drain(session: &Session<ImapStream>) -> bool {
    let mut new_mail = false;
    while let Ok(r) = session.unsolicited_responses.try_recv() {
        if matches!(
            r,
            UnsolicitedResponse::Exists(_) | UnsolicitedResponse::Recent(_)
        ) {
            new_mail = true;
        }
    }
    new_mail
}

/// `1,3,5:9` from sorted UIDs.
pub fn uid_set(uids: &[u32]) -> String {
    let mut sorted = uids.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut out = String::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        let mut end = start;
        while i + 1 < sorted.len() && sorted[i + 1] == end + 1 {
            i += 1;
            end = sorted[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if start == end {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_sets_compress_runs() {
        assert_eq!(uid_set(&[5, 1, 2, 3, 9, 10]), "1:3,5,9:10");
        assert_eq!(uid_set(&[7]), "7");
        assert_eq!(uid_set(&[]), "");
    }

    #[test]
    fn config_debug_hides_the_password() {
        let c = ImapConfig::new("h", 1, TlsMode::Implicit, "u", "hunter2");
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn from_the_config_file_section() {
        let c: crate::config::ImapConfig = toml::from_str(
            "host = \"127.0.0.1\"\ntls = \"none\"\nusername = \"info\"\npassword = \"pw\"\n",
        )
        .unwrap();
        let i = ImapConfig::from_config(&c);
        assert_eq!(i.tls, TlsMode::None);
        assert!(i.allow_plaintext, "loopback may be plain");
        assert_eq!(i.port, 143);
        assert_eq!(i.password, "pw");
        let c: crate::config::ImapConfig = toml::from_str(
            "host = \"imap.example.org\"\ntls = \"none\"\nusername = \"info\"\npassword = \"pw\"\n",
        )
        .unwrap();
        assert!(!ImapConfig::from_config(&c).allow_plaintext);
    }

    #[test]
    fn staleness() {
        let h = Health::default();
        assert!(h.is_stale(1000, 0, Duration::from_secs(600)));
        h.last_sync_at.store(900, Ordering::Relaxed);
        assert!(!h.is_stale(1000, 0, Duration::from_secs(600)));
    }
}
