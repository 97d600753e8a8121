//! Typed configuration: a TOML file (`--config FILE` or `CONNECTING_CONFIG`, else
//! `./connecting.toml`, else `/etc/connecting/connecting.toml`, if present) overridden by environment variables `CONNECTING_<SECTION>_<KEY>`; secrets may also come from
//! `<key>_file`. A bad value is reported with its key, the value and what was expected. Secrets
//! never print.

use chrono_tz::Tz;
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// A configuration problem, naming the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {reason}")]
    Read { path: PathBuf, reason: String },
    #[error("config file {path} is not valid TOML: {reason}")]
    Syntax { path: PathBuf, reason: String },
    #[error("config key `{key}`: {reason}")]
    Type { key: String, reason: String },
    #[error("config key `{key}` = {value:?} is not valid: expected {expected}")]
    Invalid {
        key: String,
        value: String,
        expected: String,
    },
    #[error("config key `{key}` is required{why}")]
    Missing { key: String, why: String },
    #[error("config key `{key}`: cannot read secret file {path}: {reason}")]
    SecretFile {
        key: String,
        path: String,
        reason: String,
    },
}

/// A secret (password, token): usable, never printed.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How a mail connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TlsMode {
    Tls,
    Starttls,
    None,
}

/// How connecting logs in to a mail server (`imap.auth`, `smtp.auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AuthMethod {
    /// LOGIN / AUTH PLAIN with `password`.
    #[default]
    Password,
    /// SASL XOAUTH2 with an access token from the `[oauth2]` section.
    Xoauth2,
}

/// Which root certificates a TLS connection trusts (`imap.trust_store`, `smtp.trust_store`),
/// besides `ca_file` when set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum TrustStore {
    /// The Mozilla roots compiled into the binary.
    #[default]
    Bundled,
    /// The operating system's trust store (on Debian `/etc/ssl/certs`, see `update-ca-certificates`).
    System,
}

/// Who issues the OAuth2 tokens (`oauth2.provider`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OAuth2Provider {
    Microsoft,
    Google,
    Custom,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TelegramMode {
    Polling,
    Webhook,
}

/// Language of the messages people read (a domain type, named here as the configuration has
/// always named it).
pub use crate::domain::lang::Lang;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: String,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        Self {
            url: "sqlite://connecting.db".into(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    pub token: Secret,
    #[serde(default = "default_api_url")]
    pub api_url: String,
    #[serde(default = "default_mode")]
    pub mode: TelegramMode,
    #[serde(default)]
    pub webhook_url: Option<String>,
    #[serde(default)]
    pub webhook_secret: Option<Secret>,
    /// The bot's username, for `t.me/<bot>?start=<code>` links (asked with getMe when absent).
    #[serde(default)]
    pub bot_username: Option<String>,
    #[serde(default = "default_invite_ttl_days")]
    pub invite_ttl_days: u32,
    /// Failed invite codes a Telegram account may try per hour; then even a good code waits.
    #[serde(default = "default_invite_attempts_per_hour")]
    pub invite_attempts_per_hour: u32,
    /// After this many failed invite codes from one account within the hour, the coordinators
    /// are alerted (once per account per hour).
    #[serde(default = "default_invite_alert_after")]
    pub invite_alert_after: u32,
}

fn default_api_url() -> String {
    "https://api.telegram.org".into()
}
fn default_mode() -> TelegramMode {
    TelegramMode::Polling
}
fn default_invite_ttl_days() -> u32 {
    7
}
fn default_invite_attempts_per_hour() -> u32 {
    5
}
fn default_invite_alert_after() -> u32 {
    5
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapConfig {
    pub host: String,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default = "default_tls")]
    pub tls: TlsMode,
    pub username: String,
    /// Required with `auth = "password"`.
    #[serde(default)]
    pub password: Option<Secret>,
    #[serde(default)]
    pub auth: AuthMethod,
    /// An extra trusted CA certificate (PEM): the cooperative's own CA or a provider's intermediate.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub trust_store: TrustStore,
    #[serde(default = "default_mailbox")]
    pub mailbox: String,
    #[serde(default = "default_processed")]
    pub processed_mailbox: String,
    #[serde(default = "default_poll")]
    pub poll_interval_secs: u64,
    #[serde(default = "yes")]
    pub idle: bool,
    /// Allow `tls = "none"` to a host that is not loopback.
    #[serde(default)]
    pub allow_plaintext: bool,
    #[serde(default = "default_max_message_bytes")]
    pub max_message_bytes: u64,
    /// A channel that has not completed a fetch for this long is reported unhealthy.
    #[serde(default = "default_stale_minutes")]
    pub stale_after_minutes: u64,
}

impl ImapConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            TlsMode::Tls => 993,
            _ => 143,
        })
    }
}

fn default_tls() -> TlsMode {
    TlsMode::Tls
}
fn default_mailbox() -> String {
    "INBOX".into()
}
fn default_processed() -> String {
    "Elaborati".into()
}
fn default_poll() -> u64 {
    60
}
fn yes() -> bool {
    true
}
fn default_max_message_bytes() -> u64 {
    25 * 1024 * 1024
}
fn default_stale_minutes() -> u64 {
    15
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default = "default_tls")]
    pub tls: TlsMode,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    #[serde(default)]
    pub auth: AuthMethod,
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub trust_store: TrustStore,
    pub from: String,
    #[serde(default)]
    pub allow_plaintext: bool,
    /// Cap on automatic mails to one recipient per hour (loop protection).
    #[serde(default = "default_reply_cap")]
    pub max_auto_replies_per_hour: u32,
    /// The cooperative's signature under the confirmation letter (several lines allowed).
    #[serde(default)]
    pub signature: Option<String>,
}

impl SmtpConfig {
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.tls {
            TlsMode::Tls => 465,
            TlsMode::Starttls => 587,
            TlsMode::None => 25,
        })
    }
}

fn default_reply_cap() -> u32 {
    10
}

/// `[oauth2]`: the account's tokens for `auth = "xoauth2"`. `connecting oauth2 login` stores the
/// refresh token in `refresh_token_file`; the daemon rewrites it when the provider rotates it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Config {
    pub provider: OAuth2Provider,
    /// Microsoft: the directory (tenant) id or domain; default `organizations`.
    #[serde(default)]
    pub tenant: Option<String>,
    pub client_id: String,
    /// From `client_secret_file` (Google and confidential Microsoft apps; public clients have none).
    #[serde(default)]
    pub client_secret: Option<Secret>,
    /// Default for `microsoft` and `google`; required for `custom`.
    #[serde(default)]
    pub token_url: Option<String>,
    /// Where `connecting oauth2 login` starts the device-code flow; default for `microsoft`
    /// and `google`; required for `custom` to log in.
    #[serde(default)]
    pub device_code_url: Option<String>,
    /// Default: IMAP and SMTP access with offline access (the provider's names).
    #[serde(default)]
    pub scope: Option<String>,
    pub refresh_token_file: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IntakeConfig {
    #[serde(deserialize_with = "de_tz")]
    pub timezone: Tz,
    pub min_notice_hours: u32,
    pub allowed_sender_domains: Vec<String>,
    pub allowed_senders: Vec<String>,
    /// New requests one sender may open by email in an hour; more are held for review.
    pub max_new_requests_per_sender_per_hour: u32,
    /// PEC providers whose transport envelopes are trusted (default:
    /// [`DEFAULT_PEC_PROVIDER_DOMAINS`]).
    pub pec_provider_domains: Vec<String>,
    pub language: Lang,
    /// The authserv-id our receiving mail server writes in `Authentication-Results`
    /// (`mx.google.com`, the MX host name); headers with any other id are ignored.
    pub trusted_authserv_id: Option<String>,
    /// Mail from an allowed domain whose DMARC did not pass at the trusted server is held.
    pub require_dmarc_pass: bool,
}

impl Default for IntakeConfig {
    fn default() -> Self {
        Self {
            timezone: chrono_tz::Europe::Rome,
            min_notice_hours: 48,
            allowed_sender_domains: vec![],
            allowed_senders: vec![],
            max_new_requests_per_sender_per_hour: 20,
            pec_provider_domains: DEFAULT_PEC_PROVIDER_DOMAINS
                .iter()
                .map(|d| (*d).to_string())
                .collect(),
            language: Lang::It,
            trusted_authserv_id: None,
            require_dmarc_pass: false,
        }
    }
}

fn de_tz<'de, D: Deserializer<'de>>(d: D) -> Result<Tz, D::Error> {
    let s = String::deserialize(d)?;
    s.parse::<Tz>().map_err(|_| {
        serde::de::Error::custom(format!(
            "{s:?} is not a time zone; expected an IANA name such as \"Europe/Rome\""
        ))
    })
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DispatchConfig {
    pub wave_size: u32,
    pub offer_timeout_minutes: u32,
    pub urgent_offer_timeout_minutes: u32,
    /// Time kept free between two jobs of the same mediator.
    pub travel_buffer_minutes: u32,
    /// This many hours before the appointment, a request with no mediator confirmed gets one
    /// honest notice to its requester (and the coordinators an alert).
    pub unfilled_notice_hours: u32,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            wave_size: 3,
            offer_timeout_minutes: 30,
            urgent_offer_timeout_minutes: 10,
            travel_buffer_minutes: 30,
            unfilled_notice_hours: 24,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub listen: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
        }
    }
}

impl HttpConfig {
    pub fn addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|_| ConfigError::Invalid {
            key: "http.listen".into(),
            value: self.listen.clone(),
            expected: "an address and port such as 127.0.0.1:8080".into(),
        })
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    pub raw_days: u32,
    pub closed_days: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            raw_days: 90,
            closed_days: 730,
        }
    }
}

/// `[report]`: what the monthly reports carry. `cooperative_name` heads each PDF sent to an
/// Ambito (`connecting report --format pdf`); the PDFs are refused while it is empty.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReportConfig {
    pub cooperative_name: String,
}

/// `[account]`: the hours the requester verifies. `confirm_within_days`: days the requester
/// has to confirm a mediator's hours before they count, flagged unverified (1 to 90).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccountConfig {
    pub confirm_within_days: u32,
}

impl Default for AccountConfig {
    fn default() -> Self {
        Self {
            confirm_within_days: 7,
        }
    }
}

/// `[evaluation]`: the cooperative's criteria, in the order they are asked; each scored 1 to 5
/// by the requester (a comment required when any score is 2 or less). Each criterion's words
/// are the prompt `dispatch.criterion_<name>`, in Italian and English.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvaluationConfig {
    pub criteria: Vec<String>,
}

/// The criteria when `[evaluation] criteria` is not set.
pub const DEFAULT_CRITERIA: [&str; 5] = [
    "punctuality",
    "linguistic_accuracy",
    "cultural_mediation",
    "relation_with_family",
    "overall",
];

impl Default for EvaluationConfig {
    fn default() -> Self {
        Self {
            criteria: DEFAULT_CRITERIA.iter().map(|c| c.to_string()).collect(),
        }
    }
}

/// How the outbox retries a message a channel did not take.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    /// Attempts in all, the first included; then the message is a dead letter.
    pub max_attempts: u32,
    /// Wait after the first failure; doubles each time (with jitter), up to `retry_cap_secs`.
    pub retry_base_secs: u64,
    pub retry_cap_secs: u64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            retry_base_secs: 10,
            retry_cap_secs: 3600,
        }
    }
}

/// The whole configuration. Channel sections are optional: a part without its section is off.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub database: DatabaseConfig,
    #[serde(default)]
    pub telegram: Option<TelegramConfig>,
    #[serde(default)]
    pub imap: Option<ImapConfig>,
    #[serde(default)]
    pub smtp: Option<SmtpConfig>,
    #[serde(default)]
    pub oauth2: Option<OAuth2Config>,
    #[serde(default)]
    pub intake: IntakeConfig,
    #[serde(default)]
    pub dispatch: DispatchConfig,
    #[serde(default)]
    pub http: HttpConfig,
    #[serde(default)]
    pub retention: RetentionConfig,
    #[serde(default)]
    pub report: ReportConfig,
    #[serde(default)]
    pub account: AccountConfig,
    #[serde(default)]
    pub evaluation: EvaluationConfig,
    #[serde(default)]
    pub outbox: OutboxConfig,
    #[serde(default)]
    pub backup: BackupConfig,
    /// `[web]`: the console; off when absent.
    #[serde(default)]
    pub web: Option<WebConfig>,
}

/// `[web]`: the web console (off unless this section is present). `public_url` is the address
/// people open (the bot's login links start with it); `listen` is where the daemon serves it,
/// by default the `[http] listen` server; `session_minutes` is the idle expiry of a session
/// (the absolute expiry is [`WebConfig::ABSOLUTE_HOURS`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    pub public_url: String,
    #[serde(default)]
    pub listen: Option<String>,
    #[serde(default = "default_session_minutes")]
    pub session_minutes: u32,
}

fn default_session_minutes() -> u32 {
    60
}

impl WebConfig {
    /// A session ends this long after its log-in, however active.
    pub const ABSOLUTE_HOURS: i64 = 12;

    /// The console's own address, when it does not share `[http] listen`.
    pub fn own_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        match &self.listen {
            None => Ok(None),
            Some(l) => l.parse().map(Some).map_err(|_| ConfigError::Invalid {
                key: "web.listen".into(),
                value: l.clone(),
                expected: "an address and port such as 127.0.0.1:8090".into(),
            }),
        }
    }

    /// `public_url` without its trailing slash.
    pub fn base_url(&self) -> &str {
        self.public_url.trim_end_matches('/')
    }

    /// Whether cookies may go without `Secure`: only for plain http to this machine.
    pub fn is_loopback_http(&self) -> bool {
        url_host(&self.public_url, "http://").is_some_and(is_loopback)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.own_addr()?;
        let https = url_host(&self.public_url, "https://").is_some_and(|h| !h.is_empty());
        if !(https || self.is_loopback_http()) {
            return Err(ConfigError::Invalid {
                key: "web.public_url".into(),
                value: self.public_url.clone(),
                expected: "an https:// URL such as https://console.example.org (http:// only to this machine, like http://127.0.0.1:8080)".into(),
            });
        }
        if self.session_minutes == 0 || i64::from(self.session_minutes) > Self::ABSOLUTE_HOURS * 60
        {
            return Err(ConfigError::Invalid {
                key: "web.session_minutes".into(),
                value: self.session_minutes.to_string(),
                expected: format!("minutes between 1 and {}", Self::ABSOLUTE_HOURS * 60),
            });
        }
        Ok(())
    }
}

/// The host of `url` when it starts with `scheme` (no port, no path); `None` otherwise or
/// when the URL carries a user part or an unusable host.
pub fn url_host<'a>(url: &'a str, scheme: &str) -> Option<&'a str> {
    let rest = url.strip_prefix(scheme)?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.contains('@') || authority.chars().any(char::is_whitespace) {
        return None;
    }
    let host = if authority.starts_with('[') {
        authority.split_once(']').map(|(h, _)| &h[1..])?
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => h,
            Some(_) => return None,
            None => authority,
        }
    };
    (!host.is_empty()).then_some(host)
}

/// `[backup]`: `connecting backup` encrypts to `recipient` (an age public key, `age1...`);
/// `connecting restore` decrypts with the identity in `identity_file` (or `--identity`), which
/// belongs on the machine that restores, not beside the daemon.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackupConfig {
    pub recipient: Option<String>,
    pub identity_file: Option<PathBuf>,
}

/// PEC providers whose transport envelopes are trusted by default (the envelope's From is
/// `posta-certificata@<provider domain>`); a subdomain of one counts too. The config key
/// `intake.pec_provider_domains` replaces the list.
pub const DEFAULT_PEC_PROVIDER_DOMAINS: &[&str] = &[
    "pec.aruba.it",
    "arubapec.it",
    "legalmail.it",
    "postecert.it",
    "pec.it",
    "actaliscertymail.it",
    "pec.register.it",
    "sicurezzapostale.it",
    "cert.telecompost.it",
    "pec.libero.it",
];

const SECTIONS: [&str; 12] = [
    "report",
    "database",
    "telegram",
    "imap",
    "smtp",
    "oauth2",
    "intake",
    "dispatch",
    "http",
    "retention",
    "outbox",
    "backup",
];
const SECRET_KEYS: [(&str, &str); 5] = [
    ("telegram", "token"),
    ("telegram", "webhook_secret"),
    ("imap", "password"),
    ("smtp", "password"),
    ("oauth2", "client_secret"),
];
/// Keys whose environment values are numbers or booleans (everything else stays text, so an
/// all-digit password is still a password).
const TYPED_KEYS: [&str; 24] = [
    "require_dmarc_pass",
    "confirm_within_days",
    "port",
    "poll_interval_secs",
    "idle",
    "allow_plaintext",
    "max_message_bytes",
    "stale_after_minutes",
    "max_auto_replies_per_hour",
    "min_notice_hours",
    "wave_size",
    "offer_timeout_minutes",
    "urgent_offer_timeout_minutes",
    "travel_buffer_minutes",
    "unfilled_notice_hours",
    "raw_days",
    "closed_days",
    "invite_ttl_days",
    "max_attempts",
    "retry_base_secs",
    "retry_cap_secs",
    "invite_attempts_per_hour",
    "invite_alert_after",
    "max_new_requests_per_sender_per_hour",
];
const LIST_KEYS: [(&str, &str); 4] = [
    ("evaluation", "criteria"),
    ("intake", "allowed_sender_domains"),
    ("intake", "allowed_senders"),
    ("intake", "pec_provider_domains"),
];

/// Where the configuration is looked for when neither `--config` nor `CONNECTING_CONFIG` names
/// a file: the current directory, then the system-wide file the Debian package installs.
pub const DISCOVERED: [&str; 2] = ["connecting.toml", "/etc/connecting/connecting.toml"];

impl Config {
    /// Loads `path` if given (`--config` or `CONNECTING_CONFIG`; it must exist), else the first
    /// of [`DISCOVERED`] that exists, else defaults; then applies the process environment.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let (text, shown) = match Config::locate(path) {
            Some(p) => (
                Some(std::fs::read_to_string(&p).map_err(|e| ConfigError::Read {
                    path: p.clone(),
                    reason: e.to_string(),
                })?),
                p,
            ),
            None => (None, PathBuf::from(DISCOVERED[0])),
        };
        Config::from_parts(text.as_deref(), &shown, &env)
    }

    /// The file [`Config::load`] reads: `path` if given, else the first of [`DISCOVERED`] that
    /// exists; `None` means defaults and environment only.
    pub fn locate(path: Option<&Path>) -> Option<PathBuf> {
        match path {
            Some(p) => Some(p.to_path_buf()),
            None => DISCOVERED.iter().map(PathBuf::from).find(|p| p.is_file()),
        }
    }

    /// Builds a config from TOML text and environment pairs (testable without touching the process).
    pub fn from_parts(
        text: Option<&str>,
        path: &Path,
        env: &[(String, String)],
    ) -> Result<Config, ConfigError> {
        let mut table: toml::Table = match text {
            Some(t) => t
                .parse()
                .map_err(|e: toml::de::Error| ConfigError::Syntax {
                    path: path.to_path_buf(),
                    reason: e.message().to_string(),
                })?,
            None => toml::Table::new(),
        };
        apply_env(&mut table, env)?;
        read_secret_files(&mut table)?;
        let rendered = toml::to_string(&table).map_err(|e| ConfigError::Type {
            key: "?".into(),
            reason: e.to_string(),
        })?;
        let cfg: Config = toml::from_str(&rendered).map_err(|e: toml::de::Error| {
            let key = locate_key(&rendered, e.span());
            ConfigError::Type {
                key,
                reason: e.message().to_string(),
            }
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let criteria = &self.evaluation.criteria;
        let name_ok = |c: &String| {
            !c.is_empty() && c.len() <= 40 && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
        };
        if criteria.is_empty() || criteria.len() > 9 {
            return Err(ConfigError::Invalid {
                key: "evaluation.criteria".into(),
                value: format!("{criteria:?}"),
                expected: "from 1 to 9 criteria".into(),
            });
        }
        if let Some(c) = criteria.iter().find(|c| !name_ok(c)) {
            return Err(ConfigError::Invalid {
                key: "evaluation.criteria".into(),
                value: c.clone(),
                expected: format!(
                    "names in lower case with underscores, such as {}",
                    DEFAULT_CRITERIA.join(", ")
                ),
            });
        }
        let days = self.account.confirm_within_days;
        if !(1..=90).contains(&days) {
            return Err(ConfigError::Invalid {
                key: "account.confirm_within_days".into(),
                value: days.to_string(),
                expected: "a number of days from 1 to 90".into(),
            });
        }
        if let Some(r) = &self.backup.recipient
            && r.trim().parse::<age::x25519::Recipient>().is_err()
        {
            return Err(ConfigError::Invalid {
                key: "backup.recipient".into(),
                value: r.clone(),
                expected: "an age public key (age1..., as printed by age-keygen)".into(),
            });
        }
        let url = &self.database.url;
        if !(url.starts_with("sqlite:")
            || url.starts_with("postgres:")
            || url.starts_with("postgresql:"))
        {
            return Err(ConfigError::Invalid {
                key: "database.url".into(),
                value: crate::store::redact_url(url),
                expected: "sqlite://FILE or postgres://USER@HOST/DB".into(),
            });
        }
        if let Some(t) = &self.telegram {
            if t.token.expose().trim().is_empty() || !t.token.expose().contains(':') {
                return Err(ConfigError::Invalid {
                    key: "telegram.token".into(),
                    value: "***".into(),
                    expected: "the token BotFather gave, like 123456:ABC-DEF...".into(),
                });
            }
            check_url("telegram.api_url", &t.api_url)?;
            if t.mode == TelegramMode::Webhook {
                let url = t
                    .webhook_url
                    .as_deref()
                    .ok_or_else(|| ConfigError::Missing {
                        key: "telegram.webhook_url".into(),
                        why: " when telegram.mode = \"webhook\"".into(),
                    })?;
                if !url.starts_with("https://") {
                    return Err(ConfigError::Invalid {
                        key: "telegram.webhook_url".into(),
                        value: url.into(),
                        expected: "an https:// URL (Telegram only calls HTTPS webhooks)".into(),
                    });
                }
                let secret = t
                    .webhook_secret
                    .as_ref()
                    .ok_or_else(|| ConfigError::Missing {
                        key: "telegram.webhook_secret".into(),
                        why: " when telegram.mode = \"webhook\"".into(),
                    })?;
                let s = secret.expose();
                if s.is_empty()
                    || s.len() > 256
                    || !s
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
                {
                    return Err(ConfigError::Invalid {
                        key: "telegram.webhook_secret".into(),
                        value: "***".into(),
                        expected: "1-256 characters A-Z, a-z, 0-9, _ and -".into(),
                    });
                }
            }
        }
        for (section, auth, password) in [
            (
                "imap",
                self.imap.as_ref().map(|i| i.auth),
                self.imap.as_ref().map(|i| i.password.is_some()),
            ),
            (
                "smtp",
                self.smtp.as_ref().map(|s| s.auth),
                // SMTP without a password is a relay that needs no login.
                Some(true),
            ),
        ] {
            match auth {
                Some(AuthMethod::Password) if password == Some(false) => {
                    return Err(ConfigError::Missing {
                        key: format!("{section}.password"),
                        why: format!(
                            " with {section}.auth = \"password\" (or {section}.password_file; \
                             set {section}.auth = \"xoauth2\" for an OAuth2 mailbox)"
                        ),
                    });
                }
                Some(AuthMethod::Xoauth2) if self.oauth2.is_none() => {
                    return Err(ConfigError::Missing {
                        key: "oauth2".into(),
                        why: format!(" (an [oauth2] section) with {section}.auth = \"xoauth2\""),
                    });
                }
                _ => {}
            }
        }
        if let Some(o) = &self.oauth2 {
            if o.client_id.trim().is_empty() {
                return Err(ConfigError::Invalid {
                    key: "oauth2.client_id".into(),
                    value: o.client_id.clone(),
                    expected: "the application (client) id registered with the provider".into(),
                });
            }
            if o.provider == OAuth2Provider::Custom && o.token_url.is_none() {
                return Err(ConfigError::Missing {
                    key: "oauth2.token_url".into(),
                    why: " with oauth2.provider = \"custom\"".into(),
                });
            }
            for (key, url) in [
                ("oauth2.token_url", &o.token_url),
                ("oauth2.device_code_url", &o.device_code_url),
            ] {
                if let Some(url) = url {
                    check_token_url(key, url)?;
                }
            }
        }
        if self.intake.require_dmarc_pass
            && self
                .intake
                .trusted_authserv_id
                .as_deref()
                .is_none_or(|s| s.trim().is_empty())
        {
            return Err(ConfigError::Missing {
                key: "intake.trusted_authserv_id".into(),
                why: " with intake.require_dmarc_pass = true (the id your receiving mail server \
                      writes first in Authentication-Results, e.g. \"mx.google.com\")"
                    .into(),
            });
        }
        for (section, ca) in [
            ("imap", self.imap.as_ref().and_then(|i| i.ca_file.as_ref())),
            ("smtp", self.smtp.as_ref().and_then(|s| s.ca_file.as_ref())),
        ] {
            if let Some(path) = ca
                && !path.is_file()
            {
                return Err(ConfigError::Invalid {
                    key: format!("{section}.ca_file"),
                    value: path.display().to_string(),
                    expected: "a readable PEM file with the CA certificate".into(),
                });
            }
        }
        if let Some(i) = &self.imap {
            check_plaintext("imap", &i.host, i.tls, i.allow_plaintext)?;
            if i.poll_interval_secs == 0 {
                return Err(ConfigError::Invalid {
                    key: "imap.poll_interval_secs".into(),
                    value: "0".into(),
                    expected: "a number of seconds of at least 1".into(),
                });
            }
        }
        if let Some(s) = &self.smtp {
            check_plaintext("smtp", &s.host, s.tls, s.allow_plaintext)?;
            if !s.from.contains('@') {
                return Err(ConfigError::Invalid {
                    key: "smtp.from".into(),
                    value: s.from.clone(),
                    expected: "an address like \"Cooperativa <info@example.org>\"".into(),
                });
            }
        }
        let d = &self.dispatch;
        for (key, v) in [
            ("dispatch.wave_size", d.wave_size),
            ("dispatch.offer_timeout_minutes", d.offer_timeout_minutes),
            (
                "dispatch.urgent_offer_timeout_minutes",
                d.urgent_offer_timeout_minutes,
            ),
        ] {
            if v == 0 {
                return Err(ConfigError::Invalid {
                    key: key.into(),
                    value: "0".into(),
                    expected: "a whole number of at least 1".into(),
                });
            }
        }
        let o = &self.outbox;
        for (key, v) in [
            ("outbox.max_attempts", u64::from(o.max_attempts)),
            ("outbox.retry_base_secs", o.retry_base_secs),
            ("outbox.retry_cap_secs", o.retry_cap_secs),
        ] {
            if v == 0 {
                return Err(ConfigError::Invalid {
                    key: key.into(),
                    value: "0".into(),
                    expected: "a whole number of at least 1".into(),
                });
            }
        }
        if o.retry_cap_secs < o.retry_base_secs {
            return Err(ConfigError::Invalid {
                key: "outbox.retry_cap_secs".into(),
                value: o.retry_cap_secs.to_string(),
                expected: format!("at least outbox.retry_base_secs ({})", o.retry_base_secs),
            });
        }
        for (key, list) in [
            (
                "intake.allowed_sender_domains",
                &self.intake.allowed_sender_domains,
            ),
            (
                "intake.pec_provider_domains",
                &self.intake.pec_provider_domains,
            ),
        ] {
            for dom in list {
                if dom.contains('@') || !dom.contains('.') {
                    return Err(ConfigError::Invalid {
                        key: key.into(),
                        value: dom.clone(),
                        expected: "domain names like \"comune.bergamo.it\"".into(),
                    });
                }
            }
        }
        for a in &self.intake.allowed_senders {
            if !a.contains('@') {
                return Err(ConfigError::Invalid {
                    key: "intake.allowed_senders".into(),
                    value: a.clone(),
                    expected: "email addresses like \"ufficio@comune.bergamo.it\"".into(),
                });
            }
        }
        self.http.addr()?;
        if let Some(w) = &self.web {
            w.validate()?;
        }
        Ok(())
    }
}

fn check_url(key: &str, url: &str) -> Result<(), ConfigError> {
    if url.starts_with("https://") || url.starts_with("http://") {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            key: key.into(),
            value: url.into(),
            expected: "an http:// or https:// URL".into(),
        })
    }
}

/// A token endpoint must be HTTPS (a refresh token crosses it), except on this machine.
fn check_token_url(key: &str, url: &str) -> Result<(), ConfigError> {
    let host = url
        .strip_prefix("http://")
        .map(|rest| rest.split(['/', '?']).next().unwrap_or(""))
        .map(|hp| match hp.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => hp,
        });
    match host {
        None if url.starts_with("https://") => Ok(()),
        Some(h) if is_loopback(h) => Ok(()),
        _ => Err(ConfigError::Invalid {
            key: key.into(),
            value: url.into(),
            expected: "an https:// URL (http:// only to this machine)".into(),
        }),
    }
}

/// Whether `host` is this machine (plaintext there never crosses a network).
pub fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(|c| c == '[' || c == ']')
            .parse::<IpAddr>()
            .map(|ip| ip.is_loopback())
            .unwrap_or(false)
}

fn check_plaintext(
    section: &str,
    host: &str,
    tls: TlsMode,
    allowed: bool,
) -> Result<(), ConfigError> {
    if tls == TlsMode::None && !allowed && !is_loopback(host) {
        return Err(ConfigError::Invalid {
            key: format!("{section}.tls"),
            value: "none".into(),
            expected: format!(
                "\"tls\" or \"starttls\" for the non-loopback host {host:?} (passwords and minors' data would cross the network in clear; set {section}.allow_plaintext = true to force it)"
            ),
        });
    }
    Ok(())
}

fn apply_env(table: &mut toml::Table, env: &[(String, String)]) -> Result<(), ConfigError> {
    for (name, value) in env {
        let Some(rest) = name.strip_prefix("CONNECTING_") else {
            continue;
        };
        let rest = rest.to_ascii_lowercase();
        let Some((section, key)) = rest.split_once('_') else {
            continue;
        };
        if !SECTIONS.contains(&section) {
            continue;
        }
        let v = if LIST_KEYS.contains(&(section, key)) {
            toml::Value::Array(
                value
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| toml::Value::String(s.to_string()))
                    .collect(),
            )
        } else if TYPED_KEYS.contains(&key) {
            env_value(value)
        } else {
            toml::Value::String(value.clone())
        };
        let entry = table
            .entry(section.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        match entry {
            toml::Value::Table(t) => {
                t.insert(key.to_string(), v);
            }
            _ => {
                return Err(ConfigError::Type {
                    key: section.into(),
                    reason: "must be a section ([name])".into(),
                });
            }
        }
    }
    Ok(())
}

/// An environment value: a TOML integer or boolean when it reads as one, else a string.
fn env_value(s: &str) -> toml::Value {
    if let Ok(i) = s.trim().parse::<i64>() {
        return toml::Value::Integer(i);
    }
    match s.trim() {
        "true" => toml::Value::Boolean(true),
        "false" => toml::Value::Boolean(false),
        _ => toml::Value::String(s.to_string()),
    }
}

/// `password_file = "/run/secrets/imap"` becomes `password = <file contents, trimmed>`.
fn read_secret_files(table: &mut toml::Table) -> Result<(), ConfigError> {
    for (section, key) in SECRET_KEYS {
        let Some(toml::Value::Table(t)) = table.get_mut(section) else {
            continue;
        };
        let file_key = format!("{key}_file");
        let Some(v) = t.remove(&file_key) else {
            continue;
        };
        let path = v
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ConfigError::Type {
                key: format!("{section}.{file_key}"),
                reason: "must be a file path".into(),
            })?;
        let secret = std::fs::read_to_string(&path).map_err(|e| ConfigError::SecretFile {
            key: format!("{section}.{file_key}"),
            path: path.clone(),
            reason: e.to_string(),
        })?;
        t.insert(
            key.to_string(),
            toml::Value::String(secret.trim().to_string()),
        );
    }
    Ok(())
}

/// Finds which `section.key` a deserialisation error's byte span points into.
fn locate_key(rendered: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(span) = span else {
        return "(config)".into();
    };
    let mut section = String::new();
    let mut pos = 0;
    let mut found = None;
    for line in rendered.split_inclusive('\n') {
        let t = line.trim();
        if t.starts_with('[') && t.ends_with(']') {
            section = t.trim_matches(|c| c == '[' || c == ']').to_string();
        }
        let end = pos + line.len();
        if span.start < end && found.is_none() {
            let key = t.split('=').next().unwrap_or("").trim().to_string();
            found = Some(if t.starts_with('[') || key.is_empty() {
                section.clone()
            } else if section.is_empty() {
                key
            } else {
                format!("{section}.{key}")
            });
        }
        pos = end;
    }
    found.unwrap_or_else(|| "(config)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_parts(Some(text), Path::new("test.toml"), &env)
    }

    #[test]
    fn defaults_need_no_file() {
        let c = Config::from_parts(None, Path::new("x"), &[]).unwrap();
        assert_eq!(c.database.url, "sqlite://connecting.db");
        assert!(c.telegram.is_none() && c.imap.is_none() && c.smtp.is_none());
        assert_eq!(c.intake.timezone, chrono_tz::Europe::Rome);
        assert_eq!(c.intake.min_notice_hours, 48);
        assert_eq!(
            (
                c.dispatch.wave_size,
                c.dispatch.offer_timeout_minutes,
                c.dispatch.urgent_offer_timeout_minutes
            ),
            (3, 30, 10)
        );
        assert_eq!(c.http.listen, "127.0.0.1:8080");
        assert_eq!((c.retention.raw_days, c.retention.closed_days), (90, 730));
    }

    #[test]
    fn the_unfilled_notice_hours_default_to_a_day_and_can_be_set() {
        let c = Config::from_parts(None, Path::new("x"), &[]).unwrap();
        assert_eq!(c.dispatch.unfilled_notice_hours, 24);
        let c = load("[dispatch]\nunfilled_notice_hours = 48\n", &[]).unwrap();
        assert_eq!(c.dispatch.unfilled_notice_hours, 48);
        let c = load("", &[("CONNECTING_DISPATCH_UNFILLED_NOTICE_HOURS", "12")]).unwrap();
        assert_eq!(c.dispatch.unfilled_notice_hours, 12);
        assert_eq!(
            crate::settings::dispatch_settings(&c).unfilled_notice_hours,
            12
        );
        let e = load("[dispatch]\nunfilled_notice_hours = \"domani\"\n", &[]).unwrap_err();
        assert!(e.to_string().contains("unfilled_notice_hours"), "{e}");
    }

    #[test]
    fn outbox_retries_are_configurable_and_checked() {
        let c = load(
            "[outbox]\nretry_base_secs = 2\n",
            &[("CONNECTING_OUTBOX_MAX_ATTEMPTS", "3")],
        )
        .unwrap();
        assert_eq!(
            (
                c.outbox.max_attempts,
                c.outbox.retry_base_secs,
                c.outbox.retry_cap_secs
            ),
            (3, 2, 3600)
        );
        let e = load("[outbox]\nretry_base_secs = 0\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("outbox.retry_base_secs"), "{e}");
        let e = load("[outbox]\nretry_base_secs = 60\nretry_cap_secs = 30\n", &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("outbox.retry_cap_secs") && e.contains("60"),
            "{e}"
        );
    }

    #[test]
    fn environment_overrides_the_file() {
        let c = load(
            "[imap]\nhost = \"127.0.0.1\"\ntls = \"none\"\nusername = \"info\"\npassword = \"a\"\n[smtp]\nhost = \"::1\"\ntls = \"none\"\nfrom = \"a@b.it\"\n",
            &[
                ("CONNECTING_IMAP_PORT", "10143"),
                ("CONNECTING_IMAP_PROCESSED_MAILBOX", "Fatti"),
                ("CONNECTING_TELEGRAM_TOKEN", "123:abc"),
                ("CONNECTING_INTAKE_ALLOWED_SENDER_DOMAINS", "comune.bergamo.it, ats-bg.it"),
                ("CONNECTING_IMAP_IDLE", "false"),
                ("CONNECTING_SMTP_PASSWORD", "123456"),
                ("OTHER_THING", "x"),
            ],
        )
        .unwrap();
        let imap = c.imap.unwrap();
        assert_eq!(imap.port(), 10143);
        assert_eq!(imap.processed_mailbox, "Fatti");
        assert!(!imap.idle);
        assert_eq!(c.telegram.unwrap().token.expose(), "123:abc");
        assert_eq!(c.smtp.and_then(|s| s.password).unwrap().expose(), "123456");
        assert_eq!(
            c.intake.allowed_sender_domains,
            ["comune.bergamo.it", "ats-bg.it"]
        );
    }

    #[test]
    fn secrets_come_from_files_and_never_print() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "s3cret\n").unwrap();
        let text = format!(
            "[imap]\nhost = \"mail.example.org\"\nusername = \"info\"\npassword_file = \"{}\"\n",
            f.display()
        );
        let c = load(&text, &[]).unwrap();
        let imap = c.imap.clone().unwrap();
        assert_eq!(imap.password.as_ref().map(Secret::expose), Some("s3cret"));
        assert_eq!(imap.port(), 993);
        let shown = format!("{c:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        let missing = load(
            "[smtp]\nhost=\"h\"\nfrom=\"a@b.it\"\npassword_file=\"/nonexistent/pw\"\n",
            &[],
        )
        .unwrap_err();
        assert!(
            missing.to_string().contains("smtp.password_file"),
            "{missing}"
        );
    }

    #[test]
    fn bad_values_name_the_key_the_value_and_what_is_expected() {
        let e = load(
            "[imap]\nhost=\"h\"\nusername=\"u\"\npassword=\"p\"\nport = \"nine\"\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("imap.port") && e.contains("nine"), "{e}");
        let e = load(
            "[smtp]\nhost=\"h\"\nfrom=\"a@b\"\ntls = \"sometimes\"\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("smtp.tls") && e.contains("sometimes"), "{e}");
        let e = load("[intake]\ntimezone = \"Mars/Olympus\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("intake.timezone") && e.contains("Mars/Olympus"),
            "{e}"
        );
        let e = load("[dispatch]\nwave_sise = 3\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("wave_sise"), "{e}");
        let e = load("[database]\nurl = \"mysql://x\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("database.url") && e.contains("mysql://x"), "{e}");
        let e = load("[http]\nlisten = \"everywhere\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("http.listen"), "{e}");
        let e = load("[telegram]\ntoken = \"123:abc\"\nmode = \"webhook\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("telegram.webhook_url"), "{e}");
    }

    #[test]
    fn plaintext_to_a_remote_host_is_refused_unless_allowed() {
        let remote =
            "[imap]\nhost=\"mail.example.org\"\ntls=\"none\"\nusername=\"u\"\npassword=\"p\"\n";
        let e = load(remote, &[]).unwrap_err().to_string();
        assert!(
            e.contains("imap.tls") && e.contains("mail.example.org"),
            "{e}"
        );
        assert!(load(&format!("{remote}allow_plaintext = true\n"), &[]).is_ok());
        assert!(
            load(
                "[imap]\nhost=\"127.0.0.1\"\ntls=\"none\"\nusername=\"u\"\npassword=\"p\"\n",
                &[]
            )
            .is_ok()
        );
        assert!(
            load(
                "[smtp]\nhost=\"localhost\"\ntls=\"none\"\nfrom=\"a@b.it\"\n",
                &[]
            )
            .is_ok()
        );
        assert!(is_loopback("::1") && is_loopback("[::1]") && !is_loopback("10.0.0.1"));
    }

    #[test]
    fn oauth2_mailboxes_are_configured_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("client-secret");
        std::fs::write(&secret, "sh-secret\n").unwrap();
        let text = format!(
            "[imap]\nhost = \"outlook.office365.com\"\nusername = \"info@coop.example\"\nauth = \"xoauth2\"\n\
             [smtp]\nhost = \"smtp.office365.com\"\ntls = \"starttls\"\nusername = \"info@coop.example\"\nauth = \"xoauth2\"\nfrom = \"info@coop.example\"\n\
             [oauth2]\nprovider = \"microsoft\"\ntenant = \"coop.example\"\nclient_id = \"abc\"\nclient_secret_file = \"{}\"\n\
             refresh_token_file = \"/var/lib/connecting/refresh-token\"\n",
            secret.display()
        );
        let c = load(&text, &[]).unwrap();
        let o = c.oauth2.clone().unwrap();
        assert_eq!(o.provider, OAuth2Provider::Microsoft);
        assert_eq!(
            o.client_secret.as_ref().map(Secret::expose),
            Some("sh-secret")
        );
        assert_eq!(c.imap.as_ref().unwrap().auth, AuthMethod::Xoauth2);
        assert!(!format!("{c:?}").contains("sh-secret"));
        // xoauth2 without [oauth2]
        let e = load(
            "[imap]\nhost = \"h.example\"\nusername = \"u\"\nauth = \"xoauth2\"\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("`oauth2`") && e.contains("imap.auth"), "{e}");
        // a password login without a password
        let e = load("[imap]\nhost = \"h.example\"\nusername = \"u\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("imap.password"), "{e}");
        // custom needs its token URL, and a token URL must be HTTPS off this machine
        let e = load(
            "[oauth2]\nprovider = \"custom\"\nclient_id = \"x\"\nrefresh_token_file = \"/tmp/r\"\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("oauth2.token_url"), "{e}");
        let e = load(
            "[oauth2]\nprovider = \"custom\"\nclient_id = \"x\"\nrefresh_token_file = \"/tmp/r\"\ntoken_url = \"http://idp.example/token\"\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("oauth2.token_url") && e.contains("https://"),
            "{e}"
        );
        assert!(
            load(
                "[oauth2]\nprovider = \"custom\"\nclient_id = \"x\"\nrefresh_token_file = \"/tmp/r\"\ntoken_url = \"http://127.0.0.1:9/token\"\n",
                &[("CONNECTING_OAUTH2_CLIENT_ID", "y")],
            )
            .is_ok()
        );
        let e = load(
            "[oauth2]\nprovider = \"yahoo\"\nclient_id = \"x\"\nrefresh_token_file = \"/tmp/r\"\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("oauth2.provider") && e.contains("yahoo"), "{e}");
    }

    #[test]
    fn trust_stores_and_dmarc_keys() {
        let e = load(
            "[imap]\nhost = \"h.example\"\nusername = \"u\"\npassword = \"p\"\nca_file = \"/nonexistent/ca.pem\"\n",
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("imap.ca_file") && e.contains("/nonexistent/ca.pem"),
            "{e}"
        );
        let c = load(
            "[smtp]\nhost = \"h.example\"\nfrom = \"a@b.it\"\ntrust_store = \"system\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.smtp.unwrap().trust_store, TrustStore::System);
        let e = load("[intake]\nrequire_dmarc_pass = true\n", &[])
            .unwrap_err()
            .to_string();
        assert!(e.contains("intake.trusted_authserv_id"), "{e}");
        let c = load(
            "[intake]\ntrusted_authserv_id = \"mx.coop.example\"\n",
            &[("CONNECTING_INTAKE_REQUIRE_DMARC_PASS", "true")],
        )
        .unwrap();
        assert!(c.intake.require_dmarc_pass);
        assert_eq!(
            c.intake.trusted_authserv_id.as_deref(),
            Some("mx.coop.example")
        );
    }

    #[test]
    fn the_example_config_is_valid() {
        let text = include_str!("../connecting.example.toml");
        let c = load(text, &[]).unwrap();
        assert!(c.imap.is_some() && c.smtp.is_some() && c.telegram.is_some());
        assert!(c.web.is_some());
    }

    #[test]
    fn the_console_is_off_unless_configured_and_its_url_is_checked() {
        assert!(load("", &[]).unwrap().web.is_none());
        let w = load(
            "[web]\npublic_url = \"https://console.coop.example/\"\n",
            &[],
        )
        .unwrap()
        .web
        .unwrap();
        assert_eq!(w.base_url(), "https://console.coop.example");
        assert_eq!(w.session_minutes, 60);
        assert!(!w.is_loopback_http());
        let local = load(
            "[web]\npublic_url = \"http://127.0.0.1:8080\"\nlisten = \"127.0.0.1:8090\"\n",
            &[],
        )
        .unwrap()
        .web
        .unwrap();
        assert!(local.is_loopback_http());
        assert_eq!(local.own_addr().unwrap().map(|a| a.port()), Some(8090));
        for (text, key) in [
            (
                "public_url = \"http://console.coop.example\"",
                "web.public_url",
            ),
            ("public_url = \"console.coop.example\"", "web.public_url"),
            ("public_url = \"https://\"", "web.public_url"),
            (
                "public_url = \"https://127.0.0.1:8080\"\nlisten = \"nowhere\"",
                "web.listen",
            ),
            (
                "public_url = \"https://a.example\"\nsession_minutes = 0",
                "web.session_minutes",
            ),
        ] {
            let e = load(&format!("[web]\n{text}\n"), &[])
                .unwrap_err()
                .to_string();
            assert!(e.contains(key), "{text}: {e}");
        }
    }
}
