//! `connecting doctor`: checks every configured part the way the daemon will use it and prints
//! one line per check, naming the part and, when it fails, what to fix. The exit code is
//! non-zero when any check fails (a warning, such as a server without IDLE, does not fail).
//!
//! Parts: the database (reachable, migrated), Telegram (getMe; the webhook's state in webhook
//! mode), IMAP (connect, TLS, login, the mailbox and the processed mailbox, IDLE and MOVE),
//! SMTP (connect, TLS, login), OAuth2 (an access token can be had), the web console (its public
//! URL well-formed, https unless it is this machine, and its `/healthz` reachable through that
//! URL when the daemon answers on its own address). A part whose section is
//! absent is not checked. Secrets never print: errors that could carry a URL with the bot
//! token are stripped of it, tokens are never shown.

use std::sync::Arc;
use std::time::Duration;

use super::Ctx;
use crate::channels::email::imap::{self, ImapError};
use crate::channels::email::smtp;
use crate::config::{AuthMethod, Config, Lang, TelegramMode};
use crate::oauth2::{OAuth2Error, TokenSource};
use crate::prompts::t;
use crate::store::{Store, redact_url};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
}

/// One line of the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub part: &'static str,
    pub check: String,
    pub status: Status,
    /// What was found (why it failed, or what is fine).
    pub detail: String,
    /// What to do about it (empty when fine).
    pub fix: String,
}

struct Report {
    lang: Lang,
    checks: Vec<Check>,
}

impl Report {
    fn text(&self, key: &str, args: &[(&str, &str)]) -> String {
        t(self.lang, &format!("cli.doctor_{key}"), args)
    }
    fn ok(&mut self, part: &'static str, check: &str, detail: String) {
        self.push(part, check, Status::Ok, detail, String::new());
    }
    fn warn(&mut self, part: &'static str, check: &str, detail: String, fix: String) {
        self.push(part, check, Status::Warn, detail, fix);
    }
    fn fail(&mut self, part: &'static str, check: &str, detail: String, fix: String) {
        self.push(part, check, Status::Fail, detail, fix);
    }
    fn push(
        &mut self,
        part: &'static str,
        check: &str,
        status: Status,
        detail: String,
        fix: String,
    ) {
        self.checks.push(Check {
            part,
            check: self.text(&format!("check_{check}"), &[]),
            status,
            detail: one_line(&detail),
            fix,
        });
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every check of the configuration, in order.
pub async fn checks(cfg: &Config) -> Vec<Check> {
    let mut r = Report {
        lang: cfg.intake.language,
        checks: Vec::new(),
    };
    database(cfg, &mut r).await;
    if cfg.telegram.is_some() {
        telegram(cfg, &mut r).await;
    }
    let tokens = match &cfg.oauth2 {
        Some(o) => oauth2(o, &mut r).await,
        None => None,
    };
    if let Some(i) = &cfg.imap {
        imap_checks(i, tokens.clone(), &mut r).await;
    }
    if let Some(s) = &cfg.smtp {
        smtp_checks(s, tokens, &mut r).await;
    }
    if let Some(w) = &cfg.web {
        web_checks(cfg, w, &mut r).await;
    }
    r.checks
}

pub async fn doctor(ctx: &Ctx) -> anyhow::Result<()> {
    let lang = ctx.config.intake.language;
    let all = checks(&ctx.config).await;
    let failed = all.iter().filter(|c| c.status == Status::Fail).count();
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({ "ok": failed == 0, "checks": all })
        );
    } else {
        for c in &all {
            let key = match c.status {
                Status::Ok => "cli.doctor_line_ok",
                Status::Warn => "cli.doctor_line_warn",
                Status::Fail => "cli.doctor_line_fail",
            };
            println!(
                "{}",
                t(
                    lang,
                    key,
                    &[
                        ("part", c.part),
                        ("check", &c.check),
                        ("detail", &c.detail),
                        ("fix", &c.fix),
                    ],
                )
            );
        }
        let (count, bad) = (all.len().to_string(), failed.to_string());
        if failed == 0 {
            println!("{}", t(lang, "cli.doctor_all_ok", &[("count", &count)]));
        } else {
            println!(
                "{}",
                t(
                    lang,
                    "cli.doctor_some_failed",
                    &[("count", &count), ("failed", &bad)]
                )
            );
        }
    }
    if failed > 0 {
        // The lines above say what is wrong; the exit code says that something is.
        anyhow::bail!(t(
            lang,
            "cli.doctor_failed",
            &[("failed", &failed.to_string())]
        ));
    }
    Ok(())
}

async fn database(cfg: &Config, r: &mut Report) {
    let url = redact_url(&cfg.database.url);
    let store = match tokio::time::timeout(
        Duration::from_secs(15),
        Store::connect(&cfg.database.url),
    )
    .await
    {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            let fix = r.text("fix_database_url", &[]);
            r.fail("database", "reachable", format!("{url}: {e}"), fix);
            return;
        }
        Err(_) => {
            let fix = r.text("fix_database_url", &[]);
            r.fail("database", "reachable", format!("{url}: timed out"), fix);
            return;
        }
    };
    r.ok("database", "reachable", url);
    match store.pending_migrations().await {
        Ok(p) if p.is_empty() => {
            let n = store
                .applied_migrations()
                .await
                .map(|a| a.len())
                .unwrap_or(0);
            let d = r.text("migrated", &[("count", &n.to_string())]);
            r.ok("database", "migrated", d);
        }
        Ok(p) => {
            let d = r.text("not_migrated", &[("count", &p.len().to_string())]);
            let fix = r.text("fix_migrate", &[]);
            r.fail("database", "migrated", d, fix);
        }
        Err(e) => {
            let fix = r.text("fix_migrate", &[]);
            r.fail("database", "migrated", e.to_string(), fix);
        }
    }
    store.close().await;
}

/// A reqwest error without the URL, which carries the bot token.
fn scrub(e: &reqwest::Error, token: &str) -> String {
    let mut s = e.to_string();
    if let Some(u) = e.url() {
        s = s.replace(u.as_str(), "");
    }
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s.replace(token, "***")
}

async fn telegram(cfg: &Config, r: &mut Report) {
    let Some(tg) = &cfg.telegram else { return };
    let token = tg.token.expose();
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            r.fail("telegram", "getme", e.to_string(), String::new());
            return;
        }
    };
    let base = format!("{}/bot{token}", tg.api_url.trim_end_matches('/'));
    let call = |method: &str| {
        let url = format!("{base}/{method}");
        let http = http.clone();
        async move {
            let resp = http.get(url).send().await?;
            let status = resp.status().as_u16();
            let body: serde_json::Value = resp.json().await.unwrap_or_default();
            Ok::<_, reqwest::Error>((status, body))
        }
    };
    match call("getMe").await {
        Ok((200, body)) if body["ok"] == true => {
            let name = body["result"]["username"]
                .as_str()
                .unwrap_or("?")
                .to_owned();
            r.ok("telegram", "getme", format!("@{name}"));
        }
        Ok((status, body)) => {
            let why = body["description"]
                .as_str()
                .unwrap_or("")
                .replace(token, "***");
            let fix = r.text("fix_telegram_token", &[]);
            r.fail("telegram", "getme", format!("{status} {why}"), fix);
            return;
        }
        Err(e) => {
            let fix = r.text("fix_telegram_api", &[]);
            r.fail("telegram", "getme", scrub(&e, token), fix);
            return;
        }
    }
    if tg.mode != TelegramMode::Webhook {
        return;
    }
    match call("getWebhookInfo").await {
        Ok((200, body)) if body["ok"] == true => {
            let url = body["result"]["url"].as_str().unwrap_or("").to_owned();
            let want = tg.webhook_url.clone().unwrap_or_default();
            let last_error = body["result"]["last_error_message"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            if url.is_empty() || url != want {
                let d = r.text("webhook_other", &[("url", &url), ("want", &want)]);
                let fix = r.text("fix_webhook_run", &[]);
                r.fail("telegram", "webhook", d, fix);
            } else if !last_error.is_empty() {
                let fix = r.text("fix_webhook_reach", &[("url", &want)]);
                r.fail("telegram", "webhook", last_error, fix);
            } else {
                r.ok("telegram", "webhook", url);
            }
        }
        Ok((status, _)) => {
            let fix = r.text("fix_telegram_api", &[]);
            r.fail("telegram", "webhook", status.to_string(), fix);
        }
        Err(e) => {
            let fix = r.text("fix_telegram_api", &[]);
            r.fail("telegram", "webhook", scrub(&e, token), fix);
        }
    }
}

async fn oauth2(o: &crate::config::OAuth2Config, r: &mut Report) -> Option<Arc<TokenSource>> {
    let tokens = match TokenSource::from_config(o) {
        Ok(t) => Arc::new(t),
        Err(e) => {
            r.fail("oauth2", "token", e.to_string(), String::new());
            return None;
        }
    };
    match tokens.access_token().await {
        Ok(_) => {
            let d = r.text("token_ok", &[("url", &tokens.endpoints().token_url)]);
            r.ok("oauth2", "token", d);
        }
        Err(e) => {
            let fix = match &e {
                OAuth2Error::NoRefreshToken { .. } | OAuth2Error::Refused { .. } => {
                    r.text("fix_oauth2_login", &[])
                }
                OAuth2Error::File { .. } => r.text("fix_oauth2_file", &[]),
                _ => r.text("fix_oauth2_url", &[]),
            };
            r.fail("oauth2", "token", e.to_string(), fix);
        }
    }
    Some(tokens)
}

fn tls_fix(r: &Report, section: &str) -> String {
    r.text("fix_tls", &[("section", section)])
}

fn login_fix(r: &Report, section: &str, auth: AuthMethod) -> String {
    match auth {
        AuthMethod::Password => r.text("fix_password", &[("section", section)]),
        AuthMethod::Xoauth2 => r.text("fix_xoauth2", &[("section", section)]),
    }
}

async fn imap_checks(
    c: &crate::config::ImapConfig,
    tokens: Option<Arc<TokenSource>>,
    r: &mut Report,
) {
    let mut cfg = imap::ImapConfig::from_config(c);
    cfg.io_timeout = Duration::from_secs(15);
    if c.auth == AuthMethod::Xoauth2 {
        match tokens {
            Some(t) => cfg = cfg.with_oauth2(t),
            None => return,
        }
    }
    let addr = format!("{}:{}", cfg.host, cfg.port);
    let (mut session, has_idle, has_move) = match imap::connect(&cfg).await {
        Ok(x) => x,
        Err(e) => {
            let (check, fix) = match &e {
                ImapError::Connect(..) | ImapError::PlaintextRefused(_) => {
                    ("connect", r.text("fix_connect", &[("section", "imap")]))
                }
                ImapError::Tls(_) => ("tls", tls_fix(r, "imap")),
                ImapError::Login(_) | ImapError::OAuth2(_) => {
                    ("login", login_fix(r, "imap", c.auth))
                }
                ImapError::Timeout(_) => ("connect", r.text("fix_timeout", &[("section", "imap")])),
                _ => ("connect", r.text("fix_connect", &[("section", "imap")])),
            };
            if check != "connect" {
                r.ok("imap", "connect", addr.clone());
            }
            if check == "login" && cfg.tls != imap::TlsMode::None {
                r.ok("imap", "tls", addr.clone());
            }
            r.fail("imap", check, format!("{addr}: {e}"), fix);
            return;
        }
    };
    r.ok("imap", "connect", addr.clone());
    if cfg.tls != imap::TlsMode::None {
        r.ok("imap", "tls", addr.clone());
    }
    let how = match c.auth {
        AuthMethod::Password => "LOGIN",
        AuthMethod::Xoauth2 => "XOAUTH2",
    };
    r.ok("imap", "login", format!("{} ({how})", cfg.username));
    for (check, name, key) in [
        ("mailbox", cfg.mailbox.clone(), "imap.mailbox"),
        (
            "processed",
            cfg.processed_mailbox.clone(),
            "imap.processed_mailbox",
        ),
    ] {
        match tokio::time::timeout(cfg.io_timeout, session.examine(&name)).await {
            Ok(Ok(mb)) => {
                let d = r.text(
                    "mailbox_ok",
                    &[("name", &name), ("count", &mb.exists.to_string())],
                );
                r.ok("imap", check, d);
            }
            Ok(Err(e)) => {
                let d = r.text(
                    "mailbox_missing",
                    &[("name", &name), ("error", &e.to_string())],
                );
                let fix = r.text(&format!("fix_{check}"), &[("key", key), ("name", &name)]);
                r.fail("imap", check, d, fix);
            }
            Err(_) => {
                let fix = r.text("fix_timeout", &[("section", "imap")]);
                r.fail("imap", check, name, fix);
            }
        }
    }
    if has_idle {
        r.ok("imap", "idle", "IDLE".into());
    } else {
        let d = r.text("no_idle", &[("secs", &c.poll_interval_secs.to_string())]);
        r.warn("imap", "idle", d, String::new());
    }
    if has_move {
        r.ok("imap", "move", "MOVE".into());
    } else {
        let d = r.text("no_move", &[]);
        r.warn("imap", "move", d, String::new());
    }
    let _ = tokio::time::timeout(Duration::from_secs(5), session.logout()).await;
}

async fn smtp_checks(
    c: &crate::config::SmtpConfig,
    tokens: Option<Arc<TokenSource>>,
    r: &mut Report,
) {
    use lettre::transport::smtp::authentication::{Credentials, Mechanism};
    let mut cfg = smtp::SmtpConfig::from_config(c);
    cfg.timeout = Duration::from_secs(15);
    let addr = format!("{}:{}", cfg.host, cfg.port);
    // TCP first, so a wrong host or port is named as such.
    match tokio::time::timeout(
        Duration::from_secs(10),
        tokio::net::TcpStream::connect(&addr),
    )
    .await
    {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            let fix = r.text("fix_connect", &[("section", "smtp")]);
            r.fail("smtp", "connect", format!("{addr}: {e}"), fix);
            return;
        }
        Err(_) => {
            let fix = r.text("fix_timeout", &[("section", "smtp")]);
            r.fail("smtp", "connect", addr, fix);
            return;
        }
    }
    let base = match smtp::MailerBase::new(&cfg) {
        Ok(b) => b,
        Err(e) => {
            let fix = tls_fix(r, "smtp");
            r.fail("smtp", "tls", e.to_string(), fix);
            return;
        }
    };
    r.ok("smtp", "connect", addr.clone());
    let (creds, mechs, how) = match c.auth {
        AuthMethod::Xoauth2 => {
            let Some(tokens) = tokens else { return };
            let token = match tokens.access_token().await {
                Ok(t) => t,
                Err(e) => {
                    let fix = login_fix(r, "smtp", c.auth);
                    r.fail("smtp", "login", e.to_string(), fix);
                    return;
                }
            };
            let user = cfg.username.clone().unwrap_or_default();
            (
                Some(Credentials::new(user, token.expose().to_owned())),
                Some(vec![Mechanism::Xoauth2]),
                "XOAUTH2",
            )
        }
        AuthMethod::Password => match (&cfg.username, &cfg.password) {
            (Some(u), Some(p)) => (Some(Credentials::new(u.clone(), p.clone())), None, "AUTH"),
            _ => (None, None, "-"),
        },
    };
    let mailer = base.build(creds, mechs);
    match mailer.test_connection().await {
        Ok(true) => {
            if cfg.tls != imap::TlsMode::None {
                r.ok("smtp", "tls", addr.clone());
            }
            let who = cfg.username.clone().unwrap_or_else(|| "-".into());
            r.ok("smtp", "login", format!("{who} ({how})"));
        }
        Ok(false) => {
            let fix = r.text("fix_connect", &[("section", "smtp")]);
            r.fail("smtp", "login", addr, fix);
        }
        Err(e) => {
            // lettre reports a failed handshake as a connection error: read its words too.
            let text = e.to_string().to_ascii_lowercase();
            if e.is_tls()
                || text.contains("certificate")
                || text.contains("handshake")
                || text.contains("tls")
            {
                let fix = tls_fix(r, "smtp");
                r.fail("smtp", "tls", format!("{addr}: {e}"), fix);
            } else if smtp::is_auth_refusal(&e) {
                if cfg.tls != imap::TlsMode::None {
                    r.ok("smtp", "tls", addr.clone());
                }
                let fix = login_fix(r, "smtp", c.auth);
                r.fail("smtp", "login", format!("{addr}: {e}"), fix);
            } else {
                let fix = r.text("fix_connect", &[("section", "smtp")]);
                r.fail("smtp", "login", format!("{addr}: {e}"), fix);
            }
        }
    }
}

/// Whether a `/healthz` answer is ours (the JSON of [`crate::http`]).
async fn healthz(http: &reqwest::Client, base: &str) -> Result<(u16, bool), reqwest::Error> {
    let resp = http.get(format!("{base}/healthz")).send().await?;
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    Ok((
        status,
        body.get("database").is_some() && body.get("status").is_some(),
    ))
}

/// `[web]`: the public URL is well-formed and https (http only to this machine), and, when the
/// daemon answers on its own address, its `/healthz` answers through the public URL too.
async fn web_checks(cfg: &Config, w: &crate::config::WebConfig, r: &mut Report) {
    let url = w.public_url.clone();
    let https = crate::config::url_host(&url, "https://").is_some();
    if !(https || w.is_loopback_http()) {
        let fix = r.text("fix_web_url", &[]);
        r.fail("web", "public_url", url, fix);
        return;
    }
    r.ok("web", "public_url", url.clone());
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            r.fail("web", "healthz", e.to_string(), String::new());
            return;
        }
    };
    let local = match w.own_addr() {
        Ok(Some(a)) => a.to_string(),
        _ => cfg.http.listen.clone(),
    };
    let local = format!("http://{local}");
    if healthz(&http, &local).await.is_err() {
        let d = r.text("web_not_running", &[("addr", &local)]);
        let fix = r.text("fix_web_run", &[]);
        r.warn("web", "healthz", d, fix);
        return;
    }
    match healthz(&http, w.base_url()).await {
        Ok((_, true)) => r.ok("web", "healthz", format!("{}/healthz", w.base_url())),
        Ok((status, false)) => {
            let d = r.text("web_other", &[("status", &status.to_string())]);
            let fix = r.text("fix_web_proxy", &[("addr", &local)]);
            r.fail("web", "healthz", d, fix);
        }
        Err(e) => {
            let fix = r.text("fix_web_proxy", &[("addr", &local)]);
            r.fail("web", "healthz", one_line(&scrub_url(&e)), fix);
        }
    }
}

/// A reqwest error with its causes (the console's URL carries no secret).
fn scrub_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
