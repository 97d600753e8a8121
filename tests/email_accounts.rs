//! Email accounts as cooperatives have them, against real servers: XOAUTH2 into a real Dovecot
//! (its `oauth2` passdb validating tokens at a token endpoint written here) and a real SMTP
//! server; an access token that expires mid-session, or is revoked, is refreshed without losing
//! a message; a rotated refresh token is rewritten; a revoked refresh token alerts the
//! coordinators once and intake resumes after `connecting oauth2 login`; `connecting doctor`
//! green with the right settings and naming the part and the fix for each wrong one; the DMARC
//! verdict of the trusted receiving server at intake.

#[path = "support/common.rs"]
mod common;
#[path = "support/daemon.rs"]
mod daemon;
#[path = "support/mail.rs"]
mod mail;
#[path = "support/oauth.rs"]
mod oauth;

use chrono::{TimeZone, Utc};
use connecting::channels::email::imap::{
    Cursor, FetchedMessage, ImapConfig, MessageSink, Poller, SinkError, SinkFuture, TlsMode,
};
use connecting::channels::email::smtp::{SmtpConfig, SmtpTransport};
use connecting::channels::email::{Intake, IntakeConfig, Outcome};
use connecting::clock::ManualClock;
use connecting::config::Config;
use connecting::oauth2::TokenSource;
use connecting::outbox::{EmailPayload, Payload, Transport};
use connecting::store::NewCoordinator;
use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Records what the poller commits; counts commits per Message-ID so duplicates show.
#[derive(Default)]
struct Recorder {
    cursors: Mutex<HashMap<String, Cursor>>,
    commits: Mutex<HashMap<String, usize>>,
}

impl MessageSink for Recorder {
    fn load_cursor<'a>(&'a self, key: &'a str) -> SinkFuture<'a, Option<Cursor>> {
        Box::pin(async move { Ok(self.cursors.lock().unwrap().get(key).copied()) })
    }
    fn reset_cursor<'a>(&'a self, key: &'a str, uid_validity: u32) -> SinkFuture<'a, ()> {
        Box::pin(async move {
            self.cursors.lock().unwrap().insert(
                key.to_owned(),
                Cursor {
                    uid_validity,
                    last_uid: 0,
                },
            );
            Ok(())
        })
    }
    fn commit<'a>(&'a self, m: FetchedMessage) -> SinkFuture<'a, ()> {
        Box::pin(async move {
            let text = String::from_utf8_lossy(&m.raw).to_string();
            let id = mail::header(&text, "Message-ID").unwrap_or_default();
            let mut cursors = self.cursors.lock().unwrap();
            let c = cursors
                .get_mut(&m.mailbox_key)
                .ok_or_else(|| SinkError("no cursor".into()))?;
            c.last_uid = c.last_uid.max(m.uid);
            *self.commits.lock().unwrap().entry(id).or_default() += 1;
            Ok(())
        })
    }
}

impl Recorder {
    fn has(&self, id: &str) -> bool {
        self.commits
            .lock()
            .unwrap()
            .contains_key(&format!("<{id}>"))
    }
    fn max_commits(&self) -> usize {
        self.commits
            .lock()
            .unwrap()
            .values()
            .copied()
            .max()
            .unwrap_or(0)
    }
}

async fn until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    f()
}

fn request(i: usize) -> Vec<u8> {
    mail::message(
        "anna@comune.example.it",
        "info@coop.example",
        &format!("Richiesta {i}"),
        &format!("req-{i}@comune.example.it"),
        "Serve una mediatrice araba",
    )
}

fn reply(id: &str) -> Payload {
    Payload::Email(EmailPayload {
        to: "anna@comune.example.it".into(),
        subject: "Re: Richiesta".into(),
        body: "Ricevuta.".into(),
        message_id: format!("{id}@connecting.coop.example"),
        in_reply_to: None,
        references: vec![],
        calendar: None,
    })
}

/// The `[oauth2]` section as the daemon would load it.
fn token_source(tokens: &oauth::TokenServer, file: &Path) -> Arc<TokenSource> {
    let cfg = Config::from_parts(Some(&tokens.config_section(file)), Path::new("t.toml"), &[])
        .expect("config");
    Arc::new(TokenSource::from_config(cfg.oauth2.as_ref().unwrap()).unwrap())
}

fn smtp(servers: &mail::MailServers, ts: Arc<TokenSource>) -> SmtpTransport {
    let mut cfg = SmtpConfig::new(
        "127.0.0.1",
        servers.smtp_port,
        TlsMode::None,
        "info@coop.example",
    );
    cfg.allow_plaintext = true;
    cfg.timeout = Duration::from_secs(10);
    cfg.username = Some("info@coop.example".into());
    SmtpTransport::new(&cfg.with_oauth2(ts)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xoauth2_against_dovecot_and_smtp_a_token_expiring_mid_session_loses_nothing() {
    let tokens = oauth::TokenServer::start("info", Duration::from_secs(3)).await;
    tokens.set_rotate(true);
    let servers = mail::MailServers::start_oauth2(&["info", "anna"], &tokens.url("/introspect"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("refresh-token");
    let first_refresh = tokens.issue_refresh_token();
    std::fs::write(&file, &first_refresh).unwrap();
    let ts = token_source(&tokens, &file);

    // IMAP through a proxy that can cut the connection, as a provider does when a token expires.
    let proxy = mail::FaultProxy::start(servers.imap_port).await;
    let mut icfg = ImapConfig::new("127.0.0.1", proxy.port, TlsMode::None, "info", "");
    icfg.allow_plaintext = true;
    icfg.backoff_min = Duration::from_millis(50);
    icfg.backoff_max = Duration::from_millis(500);
    // Dovecot delays each failed login from an address more (2, 4, 8 s...).
    icfg.io_timeout = Duration::from_secs(30);
    let icfg = icfg.with_oauth2(ts.clone());
    let sink = Arc::new(Recorder::default());
    let (stop, rx) = tokio::sync::watch::channel(false);
    let poller = tokio::spawn(Poller::new(icfg, sink.clone(), rx).run());

    servers.append("info", "INBOX", &request(1)).await;
    assert!(
        until(Duration::from_secs(15), || sink
            .has("req-1@comune.example.it"))
        .await,
        "first message not committed over XOAUTH2:\n{}",
        servers.log()
    );
    let smtp = smtp(&servers, ts.clone());
    smtp.deliver(&reply("r1")).await.expect("sent over XOAUTH2");
    assert_eq!(
        servers
            .wait_for("anna", "INBOX", 1, Duration::from_secs(10))
            .await
            .len(),
        1
    );

    // The access token runs out while the session is open; the server then drops it.
    tokio::time::sleep(Duration::from_millis(3300)).await;
    proxy.cut_all();
    servers.append("info", "INBOX", &request(2)).await;
    assert!(
        until(Duration::from_secs(20), || sink
            .has("req-2@comune.example.it"))
        .await,
        "message after the expiry not committed:\n{}",
        servers.log()
    );
    // SMTP with the old pool: a fresh token, a new pool, delivered.
    smtp.deliver(&reply("r2")).await.expect("sent after expiry");

    // A token the provider revoked before its time: refused by Dovecot, refreshed, logged in.
    // (Tokens now outlive Dovecot's delay after a failed login.)
    tokens.set_access_ttl(Duration::from_secs(120));
    smtp.deliver(&reply("r2b")).await.expect("sent");
    tokens.revoke_access_tokens();
    proxy.cut_all();
    servers.append("info", "INBOX", &request(3)).await;
    assert!(
        until(Duration::from_secs(20), || sink
            .has("req-3@comune.example.it"))
        .await,
        "message after a refused token not committed:\n{}",
        servers.log()
    );
    // SMTP with a fresh pool and a token in memory that the server refuses: refreshed, sent.
    tokens.revoke_access_tokens();
    let smtp2 = SmtpTransport::new(
        &{
            let mut c = SmtpConfig::new(
                "127.0.0.1",
                servers.smtp_port,
                TlsMode::None,
                "info@coop.example",
            );
            c.allow_plaintext = true;
            c.username = Some("info@coop.example".into());
            c
        }
        .with_oauth2(ts.clone()),
    )
    .unwrap();
    smtp2
        .deliver(&reply("r3"))
        .await
        .expect("sent after a refusal");
    let got = servers
        .wait_for("anna", "INBOX", 4, Duration::from_secs(10))
        .await;
    assert_eq!(got.len(), 4, "every reply arrived");
    let log = servers.smtp_auth_log();
    assert!(
        log.iter().any(|l| l == "XOAUTH2 refused info@coop.example"),
        "{log:?}"
    );
    assert!(
        log.iter()
            .filter(|l| *l == "XOAUTH2 ok info@coop.example")
            .count()
            >= 2,
        "{log:?}"
    );

    // Nothing lost, nothing twice; refreshed each time; the rotated refresh token is on disk.
    assert_eq!(sink.max_commits(), 1);
    assert!(tokens.refresh_grants() >= 3, "{}", tokens.refresh_grants());
    let stored = std::fs::read_to_string(&file).unwrap().trim().to_owned();
    assert_ne!(stored, first_refresh, "rotated token rewritten");
    assert_eq!(tokens.valid_refresh_tokens(), vec![stored]);
    stop.send(true).unwrap();
    let _ = tokio::time::timeout(Duration::from_secs(10), poller).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_refresh_token_alerts_the_coordinators_once_and_intake_resumes_after_login() {
    let db = common::TestDb::sqlite().await;
    db.store
        .add_coordinator(
            &NewCoordinator {
                name: "Giulia".into(),
                telegram_id: Some(4242),
                email: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    let tokens = oauth::TokenServer::start("info", Duration::from_secs(3600)).await;
    let servers = mail::MailServers::start_oauth2(&["info"], &tokens.url("/introspect"));
    let proxy = mail::FaultProxy::start(servers.imap_port).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("refresh-token");
    std::fs::write(&file, tokens.issue_refresh_token()).unwrap();
    let http = mail::free_port();
    let config = format!(
        "[database]\nurl = \"{}\"\n[imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nusername = \"info\"\nauth = \"xoauth2\"\npoll_interval_secs = 1\n{}[intake]\nlanguage = \"en\"\n[http]\nlisten = \"127.0.0.1:{http}\"\n",
        db.url,
        proxy.port,
        tokens.config_section(&file)
    );
    let mut d = daemon::Daemon::start(dir.path(), &config);
    d.wait_healthy().await;
    servers.append("info", "INBOX", &request(1)).await;
    assert_eq!(
        servers
            .wait_for("info", "Elaborati", 1, Duration::from_secs(20))
            .await
            .len(),
        1,
        "{}",
        d.log()
    );

    // The account's refresh token is revoked (a password change); the session drops.
    tokens.revoke_refresh_tokens();
    tokens.revoke_access_tokens();
    proxy.cut_all();
    let alerts = || async {
        db.store
            .outbox_all()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.idempotency_key.starts_with("oauth2_refused:"))
            .collect::<Vec<_>>()
    };
    let t0 = Instant::now();
    while alerts().await.is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no alert:\n{}",
            d.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Several reconnection attempts later, still one alert.
    servers.append("info", "INBOX", &request(2)).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let rows = alerts().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    match &rows[0].payload {
        Payload::Telegram(p) => {
            assert_eq!(p.chat_id, 4242);
            assert!(p.text.contains("connecting oauth2 login"), "{}", p.text);
            assert!(p.text.contains("no longer accepts"), "{}", p.text);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        servers.messages("info", "Elaborati").await.len(),
        1,
        "nothing read without a token"
    );

    // The administrator logs in again; the daemon picks the new token up by itself.
    let out = Command::new(env!("CARGO_BIN_EXE_connecting"))
        .args([
            "oauth2",
            "login",
            "--config",
            dir.path().join("connecting.toml").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("https://login.example/device") && stdout.contains("WDJB-MJHT"),
        "{stdout}"
    );
    assert!(stdout.contains(&file.display().to_string()), "{stdout}");
    assert_eq!(tokens.device_grants(), 1);
    assert_eq!(
        servers
            .wait_for("info", "Elaborati", 2, Duration::from_secs(30))
            .await
            .len(),
        2,
        "intake did not resume:\n{}",
        d.log()
    );
    assert_eq!(alerts().await.len(), 1);
    // Secrets never print: no token in the daemon's log or the command's output.
    let log = d.log();
    let p = tokens.provider.lock().unwrap();
    for t in p.refresh_tokens.keys().chain(p.access_tokens.keys()) {
        assert!(
            !log.contains(t.as_str()) && !stdout.contains(t.as_str()),
            "{t} printed"
        );
    }
    drop(p);
    assert!(d.stop().success());
}

/// `connecting doctor --config FILE`: (success, stdout).
fn doctor(dir: &Path, config: &str) -> (bool, String) {
    let path = dir.join("doctor.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_connecting"))
        .args(["doctor", "--config", path.to_str().unwrap()])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn failing_line<'a>(out: &'a str, start: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting {start:?} in:\n{out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_is_green_with_the_right_settings_and_names_the_part_and_the_fix_otherwise() {
    let db = common::TestDb::sqlite().await;
    let tokens = oauth::TokenServer::start("info", Duration::from_secs(3600)).await;
    let servers = mail::MailServers::start_oauth2(&["info"], &tokens.url("/introspect"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("refresh-token");
    let refresh = tokens.issue_refresh_token();
    std::fs::write(&file, &refresh).unwrap();
    {
        let mut s = servers.session("info").await;
        s.create("Elaborati").await.unwrap();
        let _ = s.logout().await;
    }
    let imap = |port: u16, extra: &str| {
        format!(
            "[imap]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nusername = \"info\"\n{extra}"
        )
    };
    let smtp = |extra: &str| {
        format!(
            "[smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nusername = \"info@coop.example\"\nfrom = \"info@coop.example\"\n{extra}",
            servers.smtp_port
        )
    };
    let base = format!("[database]\nurl = \"{}\"\n", db.url);
    let oauth = tokens.config_section(&file);

    // Right settings: XOAUTH2 on both, and a password login: all green.
    let good = format!(
        "{base}{}{}{oauth}",
        imap(servers.imap_port, "auth = \"xoauth2\"\n"),
        smtp("auth = \"xoauth2\"\n")
    );
    let (ok, out) = doctor(dir.path(), &good);
    assert!(ok, "{out}");
    for part in [
        "ok    database",
        "ok    oauth2",
        "ok    imap accesso: info (XOAUTH2)",
        "ok    imap cartella degli elaborati",
        "ok    smtp accesso",
    ] {
        assert!(out.contains(part), "{part} missing in:\n{out}");
    }
    assert!(
        out.contains("ok    imap IDLE") && out.contains("ok    imap MOVE"),
        "{out}"
    );
    assert!(!out.contains("ERRORE"), "{out}");
    let (ok, out) = doctor(
        dir.path(),
        &format!(
            "{base}{}",
            imap(
                servers.imap_port,
                &format!("password = \"{}\"\n", mail::PASSWORD)
            )
        ),
    );
    assert!(ok, "{out}");

    // A wrong password.
    let (ok, out) = doctor(
        dir.path(),
        &format!(
            "{base}{}",
            imap(servers.imap_port, "password = \"wrong\"\n")
        ),
    );
    assert!(!ok);
    let line = failing_line(&out, "ERRORE imap accesso");
    assert!(line.contains("imap.password"), "{line}");
    assert!(!out.contains("wrong"), "the password printed:\n{out}");

    // A wrong port.
    let closed = mail::free_port();
    let (ok, out) = doctor(
        dir.path(),
        &format!("{base}{}", imap(closed, "password = \"x\"\n")),
    );
    assert!(!ok);
    let line = failing_line(&out, "ERRORE imap connessione");
    assert!(
        line.contains("imap.port") && line.contains(&closed.to_string()),
        "{line}"
    );

    // A processed mailbox that does not exist.
    let (ok, out) = doctor(
        dir.path(),
        &format!(
            "{base}{}",
            imap(
                servers.imap_port,
                &format!(
                    "password = \"{}\"\nprocessed_mailbox = \"Archivio richieste\"\n",
                    mail::PASSWORD
                )
            )
        ),
    );
    assert!(!ok);
    let line = failing_line(&out, "ERRORE imap cartella degli elaborati");
    assert!(
        line.contains("Archivio richieste") && line.contains("imap.processed_mailbox"),
        "{line}"
    );

    // A bad token: the refresh token the provider does not know.
    std::fs::write(&file, "not-a-token").unwrap();
    let (ok, out) = doctor(dir.path(), &good);
    assert!(!ok);
    let line = failing_line(&out, "ERRORE oauth2 token di accesso");
    assert!(line.contains("connecting oauth2 login"), "{line}");
    assert!(!out.contains("not-a-token"), "the token printed:\n{out}");
    std::fs::write(&file, &refresh).unwrap();
    assert!(!out.contains(&refresh));

    // Telegram unreachable: named, and the bot token (which is in the URL) never printed.
    let closed = mail::free_port();
    let (ok, out) = doctor(
        dir.path(),
        &format!(
            "{base}[telegram]\ntoken = \"123456:SEGRETISSIMO\"\napi_url = \"http://127.0.0.1:{closed}\"\n"
        ),
    );
    assert!(!ok);
    let line = failing_line(&out, "ERRORE telegram");
    assert!(line.contains("telegram.api_url"), "{line}");
    assert!(
        !out.contains("SEGRETISSIMO"),
        "the bot token printed:\n{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_file_is_honoured_for_imap_and_smtp_and_a_wrong_ca_is_named() {
    let db = common::TestDb::sqlite().await;
    let servers = mail::MailServers::start_tls(&["info"]);
    let ca = servers.ca_file.clone().unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Another CA, which did not sign the servers' certificate.
    let other = dir.path().join("other-ca.pem");
    let status = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout"])
        .arg(dir.path().join("other.key"))
        .arg("-out")
        .arg(&other)
        .args(["-days", "2", "-subj", "/CN=another CA"])
        .output()
        .unwrap();
    assert!(status.status.success());
    {
        // The processed mailbox, so the only difference is the CA.
        let mut s = servers.session("info").await;
        s.create("Elaborati").await.unwrap();
        let _ = s.logout().await;
    }
    let config = |ca: &Path| {
        format!(
            "[database]\nurl = \"{}\"\n\
             [imap]\nhost = \"localhost\"\nport = {}\ntls = \"tls\"\nusername = \"info\"\npassword = \"{}\"\nca_file = \"{}\"\n\
             [smtp]\nhost = \"localhost\"\nport = {}\ntls = \"starttls\"\nfrom = \"info@coop.example\"\nca_file = \"{}\"\n",
            db.url,
            servers.imaps_port,
            mail::PASSWORD,
            ca.display(),
            servers.smtp_port,
            ca.display()
        )
    };
    let (ok, out) = doctor(dir.path(), &config(&ca));
    assert!(ok, "{out}");
    assert!(
        out.contains("ok    imap TLS") && out.contains("ok    smtp TLS"),
        "{out}"
    );
    let (ok, out) = doctor(dir.path(), &config(&other));
    assert!(!ok);
    let line = failing_line(&out, "ERRORE imap TLS");
    assert!(line.contains("imap.ca_file"), "{line}");
    let line = failing_line(&out, "ERRORE smtp TLS");
    assert!(line.contains("smtp.ca_file"), "{line}");
    // The operating system's trust store (here pointed at the test CA with SSL_CERT_FILE, as
    // OpenSSL-style stores are), without ca_file: green; the bundled roots alone: not.
    let system = config(&ca).replace(
        &format!("ca_file = \"{}\"\n", ca.display()),
        "trust_store = \"system\"\n",
    );
    let path = dir.path().join("system.toml");
    std::fs::write(&path, &system).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_connecting"))
        .args(["doctor", "--config", path.to_str().unwrap()])
        .env("SSL_CERT_FILE", &ca)
        .env_remove("SSL_CERT_DIR")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("ok    imap TLS") && text.contains("ok    smtp TLS"),
        "{text}"
    );
    // Without ca_file the bundled roots do not know the test CA either.
    let (ok, out) = doctor(
        dir.path(),
        &config(&ca).replace(&format!("ca_file = \"{}\"\n", ca.display()), ""),
    );
    assert!(!ok);
    assert!(out.contains("ERRORE imap TLS"), "{out}");
}

fn intake_cfg(require: bool) -> IntakeConfig {
    let mut c = IntakeConfig::new("info@coop.example", "connecting.coop.example");
    c.allowed_sender_domains = vec!["comune.example.it".into()];
    c.trusted_authserv_id = Some("mx.coop.example".into());
    c.require_dmarc_pass = require;
    c
}

fn incoming(from: &str, subject: &str, id: &str, auth: &[&str], body: &str) -> Vec<u8> {
    let mut head = String::new();
    for a in auth {
        head.push_str("Authentication-Results: ");
        head.push_str(a);
        head.push_str("\r\n");
    }
    format!(
        "{head}From: {from}\r\nTo: info@coop.example\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Mon, 1 Mar 2027 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

const BODY: &str = "Buongiorno, serve una mediatrice di lingua araba per un colloquio il 12/03/2027 alle 10:00 presso la sede del Servizio Tutela Minori di Dalmine.";

both_backends!(
    require_dmarc_pass_holds_forged_mail_with_the_reason,
    |db| async move {
        let store = db.store.clone();
        store
            .add_coordinator(
                &NewCoordinator {
                    name: "Giulia".into(),
                    telegram_id: Some(4242),
                    email: None,
                },
                Utc::now(),
            )
            .await
            .unwrap();
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap());
        let intake = Intake::new(
            store.clone(),
            intake_cfg(true),
            Arc::new(clock),
            connecting::renderers::channels(),
        );
        let genuine = "mx.coop.example; spf=pass smtp.mailfrom=comune.example.it; dmarc=pass (p=REJECT) header.from=comune.example.it";
        // Genuine: the trusted server's pass.
        let out = intake
            .process(&incoming(
                "anna@comune.example.it",
                "Richiesta",
                "g-1@comune.example.it",
                &[genuine],
                BODY,
            ))
            .await
            .unwrap();
        let Outcome::Created {
            request_id, code, ..
        } = out
        else {
            panic!("{out:?}")
        };
        // A follow-up on it without the trusted server's pass: held too, not merged, not answered.
        let before = store.outbox_all().await.unwrap().len();
        let out = intake
            .process(&incoming(
                "anna@comune.example.it",
                &format!("Re: [{code}] Richiesta"),
                "g-2@comune.example.it",
                &["relay.evil.example; dmarc=pass header.from=comune.example.it"],
                "Aggiungo: la famiglia parla anche francese.",
            ))
            .await
            .unwrap();
        assert!(matches!(out, Outcome::Held { .. }), "{out:?}");
        assert_eq!(store.outbox_all().await.unwrap().len(), before, "no reply");
        assert!(
            store
                .audit_trail(request_id)
                .await
                .unwrap()
                .iter()
                .any(|e| e.action == "follow_up_held"
                    && e.detail
                        .as_deref()
                        .is_some_and(|d| d.contains("mx.coop.example"))),
            "reason kept for the coordinator"
        );
        // Forged: the sender wrote our server's pass below its real fail.
        let forged = incoming(
            "anna@comune.example.it",
            "Richiesta",
            "f-1@evil.example",
            &[
                "mx.coop.example; spf=fail smtp.mailfrom=evil.example; dmarc=fail (p=REJECT) header.from=comune.example.it",
                genuine,
            ],
            BODY,
        );
        let Outcome::Held {
            request_id: Some(held),
        } = intake.process(&forged).await.unwrap()
        else {
            panic!("forged mail not held")
        };
        // Only another server's pass (not the trusted one).
        let Outcome::Held {
            request_id: Some(held2),
        } = intake
            .process(&incoming(
                "anna@comune.example.it",
                "Richiesta",
                "o-1@evil.example",
                &["relay.evil.example; dmarc=pass header.from=comune.example.it"],
                BODY,
            ))
            .await
            .unwrap()
        else {
            panic!("mail vouched by another server not held")
        };
        // The coordinator is told why, in their language.
        let alerts: Vec<String> = store
            .outbox_all()
            .await
            .unwrap()
            .into_iter()
            .filter(|r| r.idempotency_key.starts_with("held:"))
            .filter_map(|r| match r.payload {
                Payload::Telegram(p) => Some(p.text),
                _ => None,
            })
            .collect();
        assert_eq!(alerts.len(), 2, "{alerts:?}");
        assert!(
            alerts.iter().any(|t| t.contains("DMARC")
                && t.contains("fail")
                && t.contains("mx.coop.example")),
            "{alerts:?}"
        );
        assert!(
            alerts.iter().any(
                |t| t.contains("nessun risultato di autenticazione scritto da mx.coop.example")
            ),
            "{alerts:?}"
        );
        let trail = store.audit_trail(held).await.unwrap();
        assert!(
            trail.iter().any(|e| e.action == "dmarc_held"
                && e.detail.as_deref().is_some_and(|d| d.contains("fail"))),
            "{trail:?}"
        );
        assert!(
            store
                .audit_trail(held2)
                .await
                .unwrap()
                .iter()
                .any(|e| e.action == "dmarc_held")
        );

        // Without require_dmarc_pass the same forged mail is not held for DMARC.
        let lax = Intake::new(
            store.clone(),
            intake_cfg(false),
            Arc::new(ManualClock::new(
                Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap(),
            )),
            connecting::renderers::channels(),
        );
        let forged2 = String::from_utf8(forged)
            .unwrap()
            .replace("f-1@evil", "f-2@evil");
        assert!(matches!(
            lax.process(forged2.as_bytes()).await.unwrap(),
            Outcome::Created { .. }
        ));
    }
);

both_backends!(
    a_coordinators_powers_by_email_need_the_trusted_servers_dmarc_pass,
    |db| async move {
        let store = db.store.clone();
        store
            .add_coordinator(
                &NewCoordinator {
                    name: "Giulia".into(),
                    telegram_id: None,
                    email: Some("giulia@coop.example".into()),
                },
                Utc::now(),
            )
            .await
            .unwrap();
        let clock = ManualClock::new(Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap());
        let intake = Intake::new(
            store.clone(),
            intake_cfg(false),
            Arc::new(clock),
            connecting::renderers::channels(),
        );
        let Outcome::Created {
            request_id, code, ..
        } = intake
            .process(&incoming(
                "anna@comune.example.it",
                "Richiesta",
                "g-1@comune.example.it",
                &[],
                BODY,
            ))
            .await
            .unwrap()
        else {
            panic!("not created")
        };
        let cancel = |id: &str, auth: &[&str]| {
            incoming(
                "giulia@coop.example",
                &format!("Re: [{code}] Richiesta"),
                id,
                auth,
                "Buongiorno, annullo la richiesta: la famiglia si è trasferita.",
            )
        };
        // A forged coordinator address (another server's pass only): not a coordinator's cancel.
        let out = intake
            .process(&cancel(
                "c-1@evil.example",
                &["relay.evil.example; dmarc=pass header.from=coop.example"],
            ))
            .await
            .unwrap();
        assert!(!matches!(out, Outcome::Cancelled { .. }), "{out:?}");
        assert_ne!(
            store.request_by_id(request_id).await.unwrap().status,
            connecting::domain::RequestStatus::Cancelled
        );
        // Vouched for by the trusted server: the coordinator cancels.
        let out = intake
        .process(&cancel(
            "c-2@coop.example",
            &["mx.coop.example; dkim=pass header.d=coop.example; dmarc=pass header.from=coop.example"],
        ))
        .await
        .unwrap();
        assert!(matches!(out, Outcome::Cancelled { .. }), "{out:?}");
    }
);
