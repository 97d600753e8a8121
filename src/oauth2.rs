//! OAuth2 for the mailbox: the access tokens that XOAUTH2 on IMAP and SMTP logs in with.
//!
//! One [`TokenSource`] per process, shared by the IMAP poller, the SMTP transport and
//! `connecting doctor`. It keeps the current access token in memory and asks the provider's
//! token endpoint for a new one with the refresh token **before** the old one expires (a
//! quarter of its life, at most a minute, ahead) and **after a refusal** (a server that says
//! the token is no good gets a fresh one, once). The refresh token lives in
//! `oauth2.refresh_token_file`: it is read again at every refresh (so `connecting oauth2 login`
//! in another process takes effect without a restart) and rewritten, atomically and with mode
//! 0600, when the provider rotates it. Refreshes are serialised inside the process and, with a
//! lock file beside the token, between processes on one machine (two refreshes of a rotating
//! token at once would burn it).
//!
//! When the provider refuses the refresh token itself (revoked, expired, password changed) no
//! retry can help: the refusal hook ([`TokenSource::on_refused`]) is called with a fingerprint
//! of the refused token, which the daemon turns into one alert to the coordinators telling them
//! to run `connecting oauth2 login`.
//!
//! `connecting oauth2 login` runs the device-code flow (RFC 8628): [`TokenSource::start_login`]
//! gives the URL and the code the administrator types, [`TokenSource::finish_login`] waits for
//! their consent and stores the refresh token. Tokens never print: they are [`Secret`]s, and logs
//! carry fingerprints only.

use crate::config::{OAuth2Config, OAuth2Provider, Secret};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

/// The provider's endpoints and the scope asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub token_url: String,
    pub device_code_url: Option<String>,
    pub scope: Option<String>,
}

/// Microsoft 365: IMAP and SMTP (Exchange Online) with a refresh token.
pub const MICROSOFT_SCOPE: &str = "offline_access https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send";
/// Google Workspace: full mail access is the only scope that covers IMAP and SMTP.
pub const GOOGLE_SCOPE: &str = "https://mail.google.com/";

/// The endpoints for `[oauth2]`: the provider's well-known ones, each overridable.
pub fn endpoints(cfg: &OAuth2Config) -> Endpoints {
    let (token, device, scope) = match cfg.provider {
        OAuth2Provider::Microsoft => {
            let tenant = cfg
                .tenant
                .as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .unwrap_or("organizations");
            let base = format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0");
            (
                Some(format!("{base}/token")),
                Some(format!("{base}/devicecode")),
                Some(MICROSOFT_SCOPE.to_owned()),
            )
        }
        OAuth2Provider::Google => (
            Some("https://oauth2.googleapis.com/token".to_owned()),
            Some("https://oauth2.googleapis.com/device/code".to_owned()),
            Some(GOOGLE_SCOPE.to_owned()),
        ),
        OAuth2Provider::Custom => (None, None, None),
    };
    Endpoints {
        token_url: cfg.token_url.clone().or(token).unwrap_or_default(),
        device_code_url: cfg.device_code_url.clone().or(device),
        scope: cfg.scope.clone().filter(|s| !s.trim().is_empty()).or(scope),
    }
}

/// The SASL XOAUTH2 initial response (before base64): `user=U^Aauth=Bearer T^A^A`.
pub fn xoauth2_response(user: &str, token: &Secret) -> String {
    format!("user={user}\x01auth=Bearer {}\x01\x01", token.expose())
}

/// A short, stable, non-reversible name for a token (logs and alert keys).
pub fn fingerprint(token: &str) -> String {
    let d = Sha256::digest(token.as_bytes());
    hex::encode(&d[..8])
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum OAuth2Error {
    #[error(
        "no refresh token in {path} (oauth2.refresh_token_file): run `connecting oauth2 login`"
    )]
    NoRefreshToken { path: String },
    #[error("{path}: {reason}")]
    File { path: String, reason: String },
    #[error(
        "the provider refused the refresh token ({code}{description}): run `connecting oauth2 login`"
    )]
    Refused { code: String, description: String },
    #[error("token endpoint {url} unreachable: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("token endpoint {url} answered {status}: {reason}")]
    Server {
        url: String,
        status: u16,
        reason: String,
    },
    #[error("oauth2 login: {0}")]
    Login(String),
}

impl OAuth2Error {
    /// Only a new `connecting oauth2 login` can cure this.
    pub fn needs_login(&self) -> bool {
        matches!(
            self,
            OAuth2Error::NoRefreshToken { .. } | OAuth2Error::Refused { .. }
        )
    }
}

/// What the refusal hook is told.
#[derive(Debug, Clone)]
pub struct Refusal {
    /// Fingerprint of the refused refresh token (`none` when there was none): the same token
    /// refused again has the same fingerprint, so one alert per token.
    pub fingerprint: String,
    pub reason: String,
}

pub type RefusalHook =
    Arc<dyn Fn(Refusal) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

struct Access {
    token: Secret,
    expires_at: Instant,
    lifetime: Duration,
}

#[derive(Default)]
struct State {
    access: Option<Access>,
    /// The refresh-token file as it was when its token was refused (see [`TokenSource::wait_for_login`]).
    refused_stamp: Option<Option<FileStamp>>,
    /// Fingerprint of the last refusal the hook was told about.
    alerted: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
}

fn stamp(path: &Path) -> Option<FileStamp> {
    std::fs::metadata(path).ok().map(|m| FileStamp {
        modified: m.modified().ok(),
        len: m.len(),
    })
}

/// Started device-code login: show `verification_uri` and `user_code` to the administrator.
#[derive(Debug)]
pub struct DeviceLogin {
    pub verification_uri: String,
    pub verification_uri_complete: Option<String>,
    pub user_code: String,
    /// The provider's own sentence, when it gives one.
    pub message: Option<String>,
    pub expires_in: Duration,
    device_code: Secret,
    interval: Duration,
}

/// Access tokens for one mailbox account.
pub struct TokenSource {
    client_id: String,
    client_secret: Option<Secret>,
    endpoints: Endpoints,
    refresh_token_file: PathBuf,
    http: reqwest::Client,
    state: tokio::sync::Mutex<State>,
    hook: std::sync::Mutex<Option<RefusalHook>>,
    refreshes: AtomicU64,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("client_id", &self.client_id)
            .field("token_url", &self.endpoints.token_url)
            .field("refresh_token_file", &self.refresh_token_file)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

#[derive(Deserialize)]
struct DeviceResponse {
    device_code: String,
    user_code: String,
    #[serde(alias = "verification_url")]
    verification_uri: String,
    #[serde(default)]
    verification_uri_complete: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    interval: Option<serde_json::Value>,
    #[serde(default)]
    message: Option<String>,
}

fn seconds(v: &Option<serde_json::Value>) -> Option<u64> {
    match v {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Provider text on one line and short (it is shown to people and logged).
fn short(s: &str) -> String {
    let one: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    one.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl TokenSource {
    pub fn from_config(cfg: &OAuth2Config) -> Result<Self, OAuth2Error> {
        let endpoints = endpoints(cfg);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .connect_timeout(Duration::from_secs(10))
            .user_agent(concat!("connecting/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| OAuth2Error::Unreachable {
                url: endpoints.token_url.clone(),
                reason: e.to_string(),
            })?;
        Ok(Self {
            client_id: cfg.client_id.clone(),
            client_secret: cfg.client_secret.clone(),
            endpoints,
            refresh_token_file: cfg.refresh_token_file.clone(),
            http,
            state: tokio::sync::Mutex::new(State::default()),
            hook: std::sync::Mutex::new(None),
            refreshes: AtomicU64::new(0),
        })
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    pub fn refresh_token_file(&self) -> &Path {
        &self.refresh_token_file
    }

    /// Refreshes done so far (each one a call to the token endpoint).
    pub fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// Called once per refused refresh token (not again for the same one).
    pub fn on_refused(&self, hook: RefusalHook) {
        *self.hook.lock().unwrap_or_else(|e| e.into_inner()) = Some(hook);
    }

    /// A valid access token: the one in memory unless it is about to expire, else a fresh one.
    pub async fn access_token(&self) -> Result<Secret, OAuth2Error> {
        let mut state = self.state.lock().await;
        if let Some(a) = &state.access {
            let margin = (a.lifetime / 4).min(Duration::from_secs(60));
            if Instant::now() + margin < a.expires_at {
                return Ok(a.token.clone());
            }
        }
        self.refresh_locked(&mut state).await
    }

    /// A server refused `token`: forget it and get another (unless another caller already did).
    pub async fn refused(&self, token: &Secret) -> Result<Secret, OAuth2Error> {
        let mut state = self.state.lock().await;
        match &state.access {
            Some(a) if a.token != *token => return Ok(a.token.clone()),
            _ => state.access = None,
        }
        tracing::info!(
            token = %fingerprint(token.expose()),
            "oauth2: access token refused by the server; refreshing"
        );
        self.refresh_locked(&mut state).await
    }

    /// Resolves once the refresh-token file has changed since its token was refused (a new
    /// `connecting oauth2 login`), or at once when nothing was refused.
    pub async fn wait_for_login(&self) {
        let before = {
            let state = self.state.lock().await;
            match state.refused_stamp {
                Some(s) => s,
                None => return,
            }
        };
        loop {
            if stamp(&self.refresh_token_file) != before {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    fn read_refresh_token(&self) -> Result<Secret, OAuth2Error> {
        let path = self.refresh_token_file.display().to_string();
        match std::fs::read_to_string(&self.refresh_token_file) {
            Ok(s) if !s.trim().is_empty() => Ok(Secret::new(s.trim())),
            Ok(_) => Err(OAuth2Error::NoRefreshToken { path }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(OAuth2Error::NoRefreshToken { path })
            }
            Err(e) => Err(OAuth2Error::File {
                path,
                reason: e.to_string(),
            }),
        }
    }

    /// Writes the refresh token atomically (temporary file, mode 0600, rename).
    fn write_refresh_token(&self, token: &str) -> Result<(), OAuth2Error> {
        use std::io::Write;
        let path = &self.refresh_token_file;
        let err = |e: std::io::Error| OAuth2Error::File {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "refresh-token".into()),
            std::process::id()
        ));
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(err)?;
        f.write_all(token.as_bytes()).map_err(err)?;
        f.write_all(b"\n").map_err(err)?;
        f.sync_all().map_err(err)?;
        drop(f);
        std::fs::rename(&tmp, path).map_err(err)?;
        Ok(())
    }

    /// An exclusive lock on `<refresh_token_file>.lock` while a refresh runs (other processes
    /// of this machine wait for it); `None` when the lock file cannot be made.
    async fn file_lock(&self) -> Option<std::fs::File> {
        let mut name = self.refresh_token_file.as_os_str().to_owned();
        name.push(".lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(PathBuf::from(name))
            .ok()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match file.try_lock() {
                Ok(()) => return Some(file),
                Err(std::fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(_) => return None,
            }
        }
    }

    async fn refresh_locked(&self, state: &mut State) -> Result<Secret, OAuth2Error> {
        let _lock = self.file_lock().await;
        let refresh = match self.read_refresh_token() {
            Ok(r) => r,
            Err(e) => {
                if e.needs_login() {
                    self.refusal(state, "none", &e).await;
                }
                return Err(e);
            }
        };
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose()),
            ("client_id", &self.client_id),
        ];
        if let Some(s) = &self.client_secret {
            form.push(("client_secret", s.expose()));
        }
        if let Some(scope) = &self.endpoints.scope {
            form.push(("scope", scope));
        }
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        let answer = self.post_token(&form).await;
        let body = match answer {
            Ok(b) => b,
            Err(e) => {
                if e.needs_login() {
                    let fp = fingerprint(refresh.expose());
                    self.refusal(state, &fp, &e).await;
                }
                return Err(e);
            }
        };
        let token = self.keep(state, body, Some(&refresh))?;
        state.refused_stamp = None;
        state.alerted = None;
        Ok(token)
    }

    /// Keeps a successful answer: the access token in memory, a rotated refresh token on disk.
    fn keep(
        &self,
        state: &mut State,
        body: TokenResponse,
        old_refresh: Option<&Secret>,
    ) -> Result<Secret, OAuth2Error> {
        let url = self.endpoints.token_url.clone();
        let access =
            body.access_token
                .filter(|t| !t.is_empty())
                .ok_or_else(|| OAuth2Error::Server {
                    url: url.clone(),
                    status: 200,
                    reason: "no access_token in the answer".into(),
                })?;
        if let Some(new) = body.refresh_token.as_deref().filter(|t| !t.is_empty())
            && old_refresh.is_none_or(|o| o.expose() != new)
        {
            self.write_refresh_token(new)?;
            tracing::info!(
                token = %fingerprint(new),
                "oauth2: the provider rotated the refresh token; stored"
            );
        }
        let lifetime = Duration::from_secs(seconds(&body.expires_in).unwrap_or(3600).max(1));
        let token = Secret::new(access);
        state.access = Some(Access {
            token: token.clone(),
            expires_at: Instant::now() + lifetime,
            lifetime,
        });
        tracing::info!(
            token = %fingerprint(token.expose()),
            expires_in_secs = lifetime.as_secs(),
            "oauth2: access token obtained"
        );
        Ok(token)
    }

    async fn refusal(&self, state: &mut State, fp: &str, e: &OAuth2Error) {
        state.access = None;
        state.refused_stamp = Some(stamp(&self.refresh_token_file));
        tracing::warn!(token = %fp, error = %e, "oauth2: refresh refused; `connecting oauth2 login` needed");
        if state.alerted.as_deref() == Some(fp) {
            return;
        }
        let hook = self.hook.lock().unwrap_or_else(|p| p.into_inner()).clone();
        if let Some(hook) = hook {
            hook(Refusal {
                fingerprint: fp.to_owned(),
                reason: e.to_string(),
            })
            .await;
        }
        state.alerted = Some(fp.to_owned());
    }

    /// POSTs a form to the token endpoint; a refusal of the grant is [`OAuth2Error::Refused`].
    async fn post_token(&self, form: &[(&str, &str)]) -> Result<TokenResponse, OAuth2Error> {
        let url = &self.endpoints.token_url;
        let resp = self
            .http
            .post(url)
            .header("Accept", "application/json")
            .form(form)
            .send()
            .await
            .map_err(|e| OAuth2Error::Unreachable {
                url: url.clone(),
                reason: short(&without_url(&e)),
            })?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| OAuth2Error::Unreachable {
            url: url.clone(),
            reason: short(&without_url(&e)),
        })?;
        let body: Option<TokenResponse> = serde_json::from_str(&text).ok();
        if status.is_success() {
            return body.ok_or_else(|| OAuth2Error::Server {
                url: url.clone(),
                status: status.as_u16(),
                reason: "the answer is not the JSON of a token".into(),
            });
        }
        let (code, description) = body
            .map(|b| {
                (
                    b.error.unwrap_or_default(),
                    b.error_description.unwrap_or_default(),
                )
            })
            .unwrap_or_default();
        // RFC 6749 5.2: these say the grant or the client is no good, whatever we retry.
        let permanent = matches!(
            code.as_str(),
            "invalid_grant"
                | "invalid_client"
                | "unauthorized_client"
                | "invalid_scope"
                | "invalid_request"
                | "unsupported_grant_type"
                | "access_denied"
                | "expired_token"
        );
        if (status.as_u16() == 400 || status.as_u16() == 401) && permanent {
            return Err(OAuth2Error::Refused {
                code: code.clone(),
                description: if description.is_empty() {
                    String::new()
                } else {
                    format!(": {}", short(&description))
                },
            });
        }
        if !code.is_empty() && status.as_u16() == 400 {
            // authorization_pending, slow_down (device flow) and other non-fatal codes.
            return Ok(TokenResponse {
                access_token: None,
                expires_in: None,
                refresh_token: None,
                error: Some(code),
                error_description: Some(description),
            });
        }
        Err(OAuth2Error::Server {
            url: url.clone(),
            status: status.as_u16(),
            reason: short(if code.is_empty() {
                "no error code"
            } else {
                &code
            }),
        })
    }

    /// Starts `connecting oauth2 login`: the code the administrator types at the URL.
    pub async fn start_login(&self) -> Result<DeviceLogin, OAuth2Error> {
        let url = self.endpoints.device_code_url.clone().ok_or_else(|| {
            OAuth2Error::Login(
                "oauth2.device_code_url is required with oauth2.provider = \"custom\"".into(),
            )
        })?;
        let mut form: Vec<(&str, &str)> = vec![("client_id", &self.client_id)];
        if let Some(s) = &self.client_secret {
            form.push(("client_secret", s.expose()));
        }
        if let Some(scope) = &self.endpoints.scope {
            form.push(("scope", scope));
        }
        let resp = self
            .http
            .post(&url)
            .header("Accept", "application/json")
            .form(&form)
            .send()
            .await
            .map_err(|e| OAuth2Error::Unreachable {
                url: url.clone(),
                reason: short(&without_url(&e)),
            })?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        if !status.is_success() {
            let why = serde_json::from_str::<TokenResponse>(&text)
                .ok()
                .map(|b| {
                    format!(
                        "{} {}",
                        b.error.unwrap_or_default(),
                        b.error_description.unwrap_or_default()
                    )
                })
                .unwrap_or_default();
            return Err(OAuth2Error::Login(format!(
                "{url} answered {}: {} (check oauth2.client_id, oauth2.tenant and that the app allows the device-code flow)",
                status.as_u16(),
                short(why.trim())
            )));
        }
        let d: DeviceResponse = serde_json::from_str(&text).map_err(|_| {
            OAuth2Error::Login(format!("{url}: the answer is not a device-code JSON"))
        })?;
        Ok(DeviceLogin {
            verification_uri: short(&d.verification_uri),
            verification_uri_complete: d.verification_uri_complete.as_deref().map(short),
            user_code: short(&d.user_code),
            message: d.message.as_deref().map(short),
            expires_in: Duration::from_secs(seconds(&d.expires_in).unwrap_or(900)),
            device_code: Secret::new(d.device_code),
            interval: Duration::from_secs(seconds(&d.interval).unwrap_or(5)),
        })
    }

    /// Waits for the administrator's consent, then stores the refresh token and keeps the first
    /// access token. Returns the fingerprint of the stored refresh token.
    pub async fn finish_login(&self, login: &DeviceLogin) -> Result<String, OAuth2Error> {
        let deadline = Instant::now() + login.expires_in;
        // RFC 8628: the provider's interval (5 s if it gives none), at least a second.
        let mut interval = login.interval.max(Duration::from_secs(1));
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", login.device_code.expose()),
            ("client_id", &self.client_id),
        ];
        if let Some(s) = &self.client_secret {
            form.push(("client_secret", s.expose()));
        }
        loop {
            if Instant::now() > deadline {
                return Err(OAuth2Error::Login(
                    "the code expired before it was entered: run `connecting oauth2 login` again"
                        .into(),
                ));
            }
            tokio::time::sleep(interval).await;
            let body = match self.post_token(&form).await {
                Ok(b) => b,
                Err(OAuth2Error::Refused { code, description }) => {
                    return Err(OAuth2Error::Login(format!(
                        "the provider said {code}{description}"
                    )));
                }
                Err(e @ OAuth2Error::Unreachable { .. }) => {
                    tracing::warn!(error = %e, "oauth2 login: token endpoint unreachable; trying again");
                    continue;
                }
                Err(e) => return Err(e),
            };
            match body.error.as_deref() {
                Some("authorization_pending") => continue,
                Some("slow_down") => {
                    interval += Duration::from_secs(5);
                    continue;
                }
                Some(other) => {
                    return Err(OAuth2Error::Login(format!("the provider said {other}")));
                }
                None => {}
            }
            let refresh = body
                .refresh_token
                .clone()
                .filter(|t| !t.is_empty())
                .ok_or_else(|| {
                    OAuth2Error::Login(
                        "the provider gave no refresh token: add offline access to oauth2.scope"
                            .into(),
                    )
                })?;
            let _lock = self.file_lock().await;
            self.write_refresh_token(&refresh)?;
            let mut state = self.state.lock().await;
            self.keep(&mut state, body, Some(&Secret::new(refresh.clone())))?;
            state.refused_stamp = None;
            state.alerted = None;
            return Ok(fingerprint(&refresh));
        }
    }
}

/// A reqwest error without the URL's query (there is none in ours, but keep it that way).
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), "");
    }
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        let t = inner.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(provider: &str, extra: &str) -> OAuth2Config {
        toml::from_str(&format!(
            "provider = \"{provider}\"\nclient_id = \"id\"\nrefresh_token_file = \"/tmp/x\"\n{extra}"
        ))
        .unwrap()
    }

    #[test]
    fn providers_have_their_endpoints() {
        let m = endpoints(&cfg("microsoft", "tenant = \"coop.example\"\n"));
        assert_eq!(
            m.token_url,
            "https://login.microsoftonline.com/coop.example/oauth2/v2.0/token"
        );
        assert!(
            m.device_code_url
                .as_deref()
                .is_some_and(|u| u.ends_with("/devicecode"))
        );
        assert!(
            m.scope
                .as_deref()
                .is_some_and(|s| s.contains("offline_access"))
        );
        let m = endpoints(&cfg("microsoft", ""));
        assert!(m.token_url.contains("/organizations/"));
        let g = endpoints(&cfg("google", "scope = \"https://mail.google.com/ x\"\n"));
        assert_eq!(g.token_url, "https://oauth2.googleapis.com/token");
        assert_eq!(g.scope.as_deref(), Some("https://mail.google.com/ x"));
        let c = endpoints(&cfg("custom", "token_url = \"http://127.0.0.1:1/t\"\n"));
        assert_eq!(c.token_url, "http://127.0.0.1:1/t");
        assert_eq!((c.device_code_url, c.scope), (None, None));
    }

    #[test]
    fn xoauth2_string_and_fingerprints() {
        let t = Secret::new("ya29.tok");
        assert_eq!(
            xoauth2_response("info@coop.example", &t),
            "user=info@coop.example\x01auth=Bearer ya29.tok\x01\x01"
        );
        let f = fingerprint("ya29.tok");
        assert_eq!(f.len(), 16);
        assert!(!f.contains("ya29"));
        assert_eq!(f, fingerprint("ya29.tok"));
    }

    proptest::proptest! {
        #[test]
        fn provider_text_is_one_short_line(s in "\\PC*") {
            let t = short(&s);
            proptest::prop_assert!(t.chars().count() <= 200);
            proptest::prop_assert!(!t.contains('\n') && !t.contains('\r'));
        }
    }

    #[test]
    fn the_refresh_token_is_rewritten_privately() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("refresh");
        let c: OAuth2Config = toml::from_str(&format!(
            "provider = \"custom\"\nclient_id = \"id\"\ntoken_url = \"http://127.0.0.1:1/t\"\nrefresh_token_file = \"{}\"\n",
            path.display()
        ))
        .unwrap();
        let ts = TokenSource::from_config(&c).unwrap();
        assert!(matches!(
            ts.read_refresh_token(),
            Err(OAuth2Error::NoRefreshToken { .. })
        ));
        ts.write_refresh_token("r1").unwrap();
        assert_eq!(ts.read_refresh_token().unwrap().expose(), "r1");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
