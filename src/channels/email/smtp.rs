//! SMTP replies: the email [`Transport`] the outbox worker calls for [`Payload::Email`].
//!
//! lettre over implicit TLS, STARTTLS or (where the config allows it) plain TCP, trusting the
//! bundled roots or the system trust store plus `ca_file`, with optional AUTH: the password, or
//! XOAUTH2 with an access token from [`crate::oauth2::TokenSource`] (the connection pool is
//! rebuilt when the token changes; a refused token is refreshed and the message tried once more
//! at once; an authentication failure is never the message's fault, so it is retried later, not
//! dead-lettered). Every message is an automatic one and says so (`Auto-Submitted: auto-replied`), threads
//! on the social worker's message (`In-Reply-To`, `References`) and carries our own Message-ID
//! (chosen and marked when the outbox row was written, [`crate::store::mark`]) and the same
//! marked id in `X-Connecting-Mark`, so that our own mail coming back is recognised by a mark
//! only we can make (`X-Connecting-Origin: outbox` is informative only). Header injection is impossible: subjects and names lose CR/LF,
//! Message-IDs must be plain `local@domain` tokens, addresses must parse. The per-recipient cap
//! on automatic mails (`smtp.max_auto_replies_per_hour`) is applied by the outbox worker,
//! counted in the store (see [`crate::outbox::OutboxWorker::with_email_cap`]).
//!
//! Errors: SMTP 4xx, timeouts and connection failures are [`DeliveryError::Retry`]; 5xx and
//! unusable payloads are [`DeliveryError::Permanent`].

use crate::config::{Secret, TrustStore};
use crate::oauth2::TokenSource;
use crate::outbox::{
    Calendar, Delivered, DeliveryError, DeliveryFuture, EmailPayload, Payload, Transport,
};
use lettre::message::header::{ContentType, Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use super::imap::TlsMode;

/// Settings of the outgoing mail server.
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: TlsMode,
    /// Must be true for `tls = none` (a local relay or tests).
    pub allow_plaintext: bool,
    pub ca_file: Option<PathBuf>,
    pub trust_store: TrustStore,
    pub username: Option<String>,
    pub password: Option<String>,
    /// XOAUTH2 with these tokens (and `username`) instead of the password.
    pub oauth2: Option<Arc<TokenSource>>,
    /// Our address, e.g. `info@coop.example`.
    pub from_address: String,
    /// Display name, e.g. `Mediazione culturale`.
    pub from_name: Option<String>,
    pub timeout: Duration,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username.as_ref().map(|_| "[set]"))
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("xoauth2", &self.oauth2.is_some())
            .finish_non_exhaustive()
    }
}

impl SmtpConfig {
    /// From the `[smtp]` section (`from` may be `Name <address>`). `tls = "none"` is accepted
    /// for a loopback host, elsewhere only with `allow_plaintext`.
    pub fn from_config(c: &crate::config::SmtpConfig) -> Self {
        let tls = match c.tls {
            crate::config::TlsMode::Tls => TlsMode::Implicit,
            crate::config::TlsMode::Starttls => TlsMode::Starttls,
            crate::config::TlsMode::None => TlsMode::None,
        };
        let (name, address) = match c.from.rsplit_once('<') {
            Some((n, a)) => {
                let n = n.trim().trim_matches('"').trim();
                (
                    (!n.is_empty()).then(|| n.to_owned()),
                    a.trim_end_matches('>').trim().to_owned(),
                )
            }
            None => (None, c.from.trim().to_owned()),
        };
        let mut me = Self::new(&c.host, c.port(), tls, &address);
        me.from_name = name;
        me.allow_plaintext = c.allow_plaintext || crate::config::is_loopback(&c.host);
        me.username = c.username.clone();
        me.password = c.password.as_ref().map(|p| p.expose().to_owned());
        me.ca_file = c.ca_file.clone();
        me.trust_store = c.trust_store;
        me
    }

    /// Logs in with XOAUTH2 and these tokens (for `smtp.auth = "xoauth2"`).
    pub fn with_oauth2(mut self, tokens: Arc<TokenSource>) -> Self {
        self.oauth2 = Some(tokens);
        self
    }

    pub fn new(host: &str, port: u16, tls: TlsMode, from_address: &str) -> Self {
        Self {
            host: host.to_owned(),
            port,
            tls,
            allow_plaintext: false,
            ca_file: None,
            trust_store: TrustStore::Bundled,
            username: None,
            password: None,
            oauth2: None,
            from_address: from_address.to_owned(),
            from_name: None,
            timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SmtpSetupError {
    #[error(
        "plaintext SMTP to {0} refused: set allow_plaintext (tls = \"none\") only for a local relay"
    )]
    PlaintextRefused(String),
    #[error("our from address {0:?} is not a valid mailbox")]
    From(String),
    #[error("TLS setup: {0}")]
    Tls(String),
    #[error("smtp.auth = \"xoauth2\" needs smtp.username (the mailbox address)")]
    NoUsername,
}

/// `Auto-Submitted: auto-replied` (RFC 3834).
#[derive(Debug, Clone)]
struct AutoSubmitted;

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "auto-replied".to_owned())
    }
}

/// `X-Auto-Response-Suppress: All`: asks Exchange not to answer us with an out-of-office.
#[derive(Debug, Clone)]
struct SuppressAutoResponse;

impl Header for SuppressAutoResponse {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-Auto-Response-Suppress")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "All".to_owned())
    }
}

/// `X-Connecting-Origin: outbox`: our own mail, recognised if it ever comes back.
#[derive(Debug, Clone)]
struct Origin;

impl Header for Origin {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-Connecting-Origin")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "outbox".to_owned())
    }
}

/// `X-Connecting-Mark: <marked Message-ID>`: our mark ([`crate::store::mark`]) again, for a
/// relay that rewrites the Message-ID. It counts only where the mark verifies.
#[derive(Debug, Clone)]
struct Mark(String);

impl Header for Mark {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("X-Connecting-Mark")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.to_owned()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.clone())
    }
}

/// The email transport (create and drop it inside the tokio runtime: its connection pool
/// lives there).
pub struct SmtpTransport {
    login: Login,
    from: Mailbox,
}

enum Login {
    /// No AUTH, or the password: one mailer for good.
    Fixed(AsyncSmtpTransport<Tokio1Executor>),
    /// XOAUTH2: the mailer of the current access token, rebuilt when the token changes.
    OAuth2 {
        tokens: Arc<TokenSource>,
        username: String,
        base: Box<MailerBase>,
        current: tokio::sync::Mutex<Option<(Secret, AsyncSmtpTransport<Tokio1Executor>)>>,
    },
}

/// Everything of a mailer but its credentials.
#[derive(Clone)]
pub struct MailerBase {
    host: String,
    port: u16,
    tls: Tls,
    timeout: Duration,
}

impl MailerBase {
    pub fn new(cfg: &SmtpConfig) -> Result<Self, SmtpSetupError> {
        let addr = format!("{}:{}", cfg.host, cfg.port);
        let tls = match cfg.tls {
            TlsMode::None => {
                if !cfg.allow_plaintext {
                    return Err(SmtpSetupError::PlaintextRefused(addr));
                }
                Tls::None
            }
            TlsMode::Implicit => Tls::Wrapper(tls_parameters(cfg)?),
            TlsMode::Starttls => Tls::Required(tls_parameters(cfg)?),
        };
        Ok(Self {
            host: cfg.host.clone(),
            port: cfg.port,
            tls,
            timeout: cfg.timeout,
        })
    }

    /// A pooled mailer logging in with `credentials` (and only with `mechanisms`, when given).
    pub fn build(
        &self,
        credentials: Option<Credentials>,
        mechanisms: Option<Vec<Mechanism>>,
    ) -> AsyncSmtpTransport<Tokio1Executor> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&self.host)
            .port(self.port)
            .tls(self.tls.clone())
            .timeout(Some(self.timeout));
        if let Some(c) = credentials {
            builder = builder.credentials(c);
        }
        if let Some(m) = mechanisms {
            builder = builder.authentication(m);
        }
        builder.build()
    }
}

/// TLS parameters over the configured trust store plus `ca_file`.
fn tls_parameters(cfg: &SmtpConfig) -> Result<TlsParameters, SmtpSetupError> {
    let mut b = TlsParameters::builder(cfg.host.clone());
    if cfg.trust_store == TrustStore::System {
        b = b.certificate_store(CertificateStore::None);
        for der in super::imap::system_roots().map_err(SmtpSetupError::Tls)? {
            if let Ok(cert) = Certificate::from_der(der.to_vec()) {
                b = b.add_root_certificate(cert);
            }
        }
    }
    if let Some(path) = &cfg.ca_file {
        for der in super::imap::ca_file_certs(path).map_err(SmtpSetupError::Tls)? {
            let cert = Certificate::from_der(der.to_vec())
                .map_err(|e| SmtpSetupError::Tls(format!("{}: {e}", path.display())))?;
            b = b.add_root_certificate(cert);
        }
    }
    b.build_rustls()
        .map_err(|e| SmtpSetupError::Tls(e.to_string()))
}

/// Whether lettre's error is the server refusing our login (535/534/530, or the XOAUTH2 error
/// challenge lettre does not answer).
pub fn is_auth_refusal(e: &lettre::transport::smtp::Error) -> bool {
    let code = e.status().map(|c| c.to_string()).unwrap_or_default();
    matches!(code.as_str(), "535" | "534" | "530" | "454")
        || (e.is_client() && e.to_string().contains("challenge"))
}

impl SmtpTransport {
    pub fn new(cfg: &SmtpConfig) -> Result<Self, SmtpSetupError> {
        let base = MailerBase::new(cfg)?;
        let login = match &cfg.oauth2 {
            Some(tokens) => Login::OAuth2 {
                tokens: tokens.clone(),
                username: cfg.username.clone().ok_or(SmtpSetupError::NoUsername)?,
                base: Box::new(base),
                current: tokio::sync::Mutex::new(None),
            },
            None => {
                let creds = match (&cfg.username, &cfg.password) {
                    (Some(u), Some(p)) => Some(Credentials::new(u.clone(), p.clone())),
                    _ => None,
                };
                Login::Fixed(base.build(creds, None))
            }
        };
        let from_address = cfg
            .from_address
            .parse()
            .map_err(|_| SmtpSetupError::From(cfg.from_address.clone()))?;
        let from = Mailbox::new(cfg.from_name.as_deref().map(one_line), from_address);
        Ok(Self { login, from })
    }

    /// The mailer for the current access token (a new pool when the token changed).
    async fn oauth_mailer(
        tokens: &TokenSource,
        username: &str,
        base: &MailerBase,
        current: &tokio::sync::Mutex<Option<(Secret, AsyncSmtpTransport<Tokio1Executor>)>>,
        refused: Option<&Secret>,
    ) -> Result<(Secret, AsyncSmtpTransport<Tokio1Executor>), DeliveryError> {
        let token = match refused {
            Some(t) => tokens.refused(t).await,
            None => tokens.access_token().await,
        }
        .map_err(|e| DeliveryError::Retry {
            after: Some(Duration::from_secs(60)),
            reason: format!("SMTP XOAUTH2: {e}"),
        })?;
        let mut cur = current.lock().await;
        if let Some((t, m)) = cur.as_ref()
            && *t == token
        {
            return Ok((t.clone(), m.clone()));
        }
        let mailer = base.build(
            Some(Credentials::new(
                username.to_owned(),
                token.expose().to_owned(),
            )),
            Some(vec![Mechanism::Xoauth2]),
        );
        *cur = Some((token.clone(), mailer.clone()));
        Ok((token, mailer))
    }

    async fn send(&self, p: &EmailPayload) -> Result<Delivered, DeliveryError> {
        let message = build_message(&self.from, p)?;
        let result = match &self.login {
            Login::Fixed(mailer) => mailer.send(message).await,
            Login::OAuth2 {
                tokens,
                username,
                base,
                current,
            } => {
                let (token, mailer) =
                    Self::oauth_mailer(tokens, username, base, current, None).await?;
                match mailer.send(message.clone()).await {
                    Err(e) if is_auth_refusal(&e) => {
                        tracing::info!("smtp: XOAUTH2 refused; refreshing the token");
                        let (_, mailer) =
                            Self::oauth_mailer(tokens, username, base, current, Some(&token))
                                .await?;
                        match mailer.send(message).await {
                            Err(e) if is_auth_refusal(&e) => {
                                return Err(DeliveryError::Retry {
                                    after: Some(Duration::from_secs(60)),
                                    reason: format!("SMTP XOAUTH2 refused: {e}"),
                                });
                            }
                            other => other,
                        }
                    }
                    other => other,
                }
            }
        };
        match result {
            Ok(_) => Ok(Delivered {
                external_id: Some(clean_id(&p.message_id).to_owned()),
            }),
            Err(e) => {
                let code = e.status().map(|c| c.to_string());
                if e.is_permanent() {
                    Err(DeliveryError::Permanent(format!(
                        "SMTP rejected ({}): {e}",
                        code.unwrap_or_default()
                    )))
                } else {
                    Err(DeliveryError::Retry {
                        after: None,
                        reason: format!("SMTP: {e}"),
                    })
                }
            }
        }
    }
}

impl Transport for SmtpTransport {
    fn deliver<'a>(&'a self, payload: &'a Payload) -> DeliveryFuture<'a> {
        Box::pin(async move {
            match payload {
                Payload::Email(p) => self.send(p).await,
                _ => Err(DeliveryError::Permanent(
                    "the email transport got a payload for another channel".to_owned(),
                )),
            }
        })
    }
}

/// A header text on one line: CR, LF and other controls become spaces.
pub fn one_line(s: &str) -> String {
    let t: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    t.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn clean_id(id: &str) -> &str {
    id.trim().trim_start_matches('<').trim_end_matches('>')
}

/// `<local@domain>` when `id` is a safe Message-ID token, else None.
pub fn safe_message_id(id: &str) -> Option<String> {
    let id = clean_id(id);
    let ok = !id.is_empty()
        && id.len() <= 250
        && id.contains('@')
        && id
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'<' | b'>' | b'"' | b'\\' | b','));
    ok.then(|| format!("<{id}>"))
}

/// The lettre message for one payload, or Permanent when the payload cannot be sent safely.
pub fn build_message(from: &Mailbox, p: &EmailPayload) -> Result<Message, DeliveryError> {
    let to: Mailbox =
        p.to.trim()
            .parse()
            .map_err(|_| DeliveryError::Permanent("recipient is not a valid address".to_owned()))?;
    let message_id = safe_message_id(&p.message_id)
        .ok_or_else(|| DeliveryError::Permanent("invalid Message-ID in payload".to_owned()))?;
    let mut b = Message::builder()
        .from(from.clone())
        .to(to)
        .subject(one_line(&p.subject))
        .message_id(Some(message_id.clone()))
        .header(AutoSubmitted)
        .header(SuppressAutoResponse)
        .header(Origin)
        .header(Mark(message_id));
    if let Some(irt) = p.in_reply_to.as_deref().and_then(safe_message_id) {
        b = b.in_reply_to(irt);
    }
    let refs: Vec<String> = p
        .references
        .iter()
        .filter_map(|r| safe_message_id(r))
        .collect();
    if !refs.is_empty() {
        b = b.references(refs.join(" "));
    }
    let built = match &p.calendar {
        None => b.header(ContentType::TEXT_PLAIN).body(p.body.clone()),
        Some(c) => b.multipart(with_invitation(&p.body, c)?),
    };
    built.map_err(|e| DeliveryError::Permanent(format!("message build: {e}")))
}

/// The text with a calendar invitation, as Outlook, Gmail and Thunderbird read one:
/// `multipart/mixed` of a `multipart/alternative` (the text, then `text/calendar;
/// method=...; charset=UTF-8`, which the clients turn into the invitation's buttons) and the
/// same calendar as an `application/ics` attachment under its file name (for clients and people
/// who want a file; a second `text/calendar` part would be shown as a second invitation).
fn with_invitation(body: &str, c: &Calendar) -> Result<MultiPart, DeliveryError> {
    let method = match c.method.as_str() {
        m @ ("REQUEST" | "CANCEL") => m,
        other => {
            return Err(DeliveryError::Permanent(format!(
                "calendar method {other:?} is not one we send"
            )));
        }
    };
    let file_name: String = c
        .file_name
        .chars()
        .filter(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '.' | '-' | '_'))
        .collect();
    let file_name = if file_name.is_empty() {
        "invito.ics".to_owned()
    } else {
        file_name
    };
    let bad = |e: lettre::message::header::ContentTypeErr| {
        DeliveryError::Permanent(format!("calendar content type: {e}"))
    };
    let inline = ContentType::parse(&format!("text/calendar; method={method}; charset=UTF-8"))
        .map_err(bad)?;
    let attached =
        ContentType::parse(&format!("application/ics; name=\"{file_name}\"")).map_err(bad)?;
    Ok(MultiPart::mixed()
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(body.to_owned()),
                )
                .singlepart(SinglePart::builder().header(inline).body(c.ics.clone())),
        )
        .singlepart(Attachment::new(file_name).body(c.ics.clone(), attached)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> EmailPayload {
        EmailPayload {
            to: "anna@comune.example.it".into(),
            subject: "Re: [MED-2027-0001] Richiesta\r\nBcc: victim@example.com".into(),
            body: "Grazie".into(),
            message_id: "ack-1@connecting.coop.example".into(),
            in_reply_to: Some("<orig@comune.example.it>".into()),
            references: vec!["orig@comune.example.it".into(), "bad id\r\nX: y".into()],
            calendar: None,
        }
    }

    #[test]
    fn headers_thread_and_cannot_be_injected() {
        let from: Mailbox = "info@coop.example".parse().unwrap();
        let m = build_message(&from, &payload()).unwrap();
        let text = String::from_utf8(m.formatted()).unwrap();
        assert!(text.contains("Auto-Submitted: auto-replied\r\n"));
        assert!(text.contains("In-Reply-To: <orig@comune.example.it>\r\n"));
        assert!(text.contains("References: <orig@comune.example.it>\r\n"));
        assert!(text.contains("Message-ID: <ack-1@connecting.coop.example>\r\n"));
        assert!(text.contains("X-Connecting-Origin: outbox\r\n"));
        assert!(!text.contains("\r\nBcc:"), "{text}");
        assert!(!text.contains("\r\nX: y"));
    }

    #[test]
    fn an_invitation_is_an_alternative_of_the_text_and_an_attachment() {
        let from: Mailbox = "info@coop.example".parse().unwrap();
        let mut p = payload();
        p.calendar = Some(Calendar {
            method: "REQUEST".into(),
            ics: "BEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n".into(),
            file_name: "invito.ics".into(),
        });
        let text = String::from_utf8(build_message(&from, &p).unwrap().formatted()).unwrap();
        let lower = text.to_ascii_lowercase();
        assert!(lower.contains("content-type: multipart/mixed"), "{text}");
        assert!(
            lower.contains("content-type: multipart/alternative"),
            "{text}"
        );
        assert!(
            lower.contains("content-type: text/calendar; method=request; charset=utf-8"),
            "{text}"
        );
        assert!(lower.contains("content-type: application/ics"), "{text}");
        assert!(text.contains("filename=\"invito.ics\""), "{text}");
        // The text first, the calendar after it (the alternative a client prefers is the last).
        let (plain, cal) = (
            lower.find("content-type: text/plain").unwrap(),
            lower.find("content-type: text/calendar").unwrap(),
        );
        assert!(plain < cal);
        p.calendar.as_mut().unwrap().method = "PUBLISH\r\nBcc: x@y".into();
        assert!(matches!(
            build_message(&from, &p),
            Err(DeliveryError::Permanent(_))
        ));
    }

    #[test]
    fn bad_payloads_are_permanent() {
        let from: Mailbox = "info@coop.example".parse().unwrap();
        let mut p = payload();
        p.to = "not an address\r\nBcc: x@y".into();
        assert!(matches!(
            build_message(&from, &p),
            Err(DeliveryError::Permanent(_))
        ));
        let mut p = payload();
        p.message_id = "no brackets allowed <x@y>".into();
        assert!(matches!(
            build_message(&from, &p),
            Err(DeliveryError::Permanent(_))
        ));
    }

    #[test]
    fn from_the_config_file_section() {
        let c: crate::config::SmtpConfig = toml::from_str(
            "host = \"smtp.example.org\"\ntls = \"starttls\"\nusername = \"u\"\npassword = \"p\"\n\
             from = \"Mediazione culturale <info@coop.example>\"\nmax_auto_replies_per_hour = 5\n",
        )
        .unwrap();
        let s = SmtpConfig::from_config(&c);
        assert_eq!(s.tls, TlsMode::Starttls);
        assert_eq!(s.port, 587);
        assert_eq!(s.from_address, "info@coop.example");
        assert_eq!(s.from_name.as_deref(), Some("Mediazione culturale"));
        assert!(!s.allow_plaintext);
    }

    #[test]
    fn plaintext_needs_consent() {
        let cfg = SmtpConfig::new("127.0.0.1", 25, TlsMode::None, "info@coop.example");
        assert!(matches!(
            SmtpTransport::new(&cfg),
            Err(SmtpSetupError::PlaintextRefused(_))
        ));
    }
}
