//! Running the real `connecting run` binary in tests: start it with a config, wait for
//! `/healthz`, read its log, stop it with SIGTERM; a tiny HTTP GET; the people every daemon
//! test registers (an operator in Dalmine and an Arabic-speaking mediator on Telegram 1001),
//! and for the burst tests four more mediators and operators who write on Telegram.
//! Included with `#[path = "support/daemon.rs"] mod daemon;`.
#![allow(dead_code)]

use chrono::Utc;
use connecting::domain::{Ambito, LanguageCode};
use connecting::store::{NewMediator, NewOperator, Store};
use std::io::Read as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const MEDIATOR_CHAT: i64 = 1001;

pub struct Daemon {
    pub child: Child,
    pub log: std::path::PathBuf,
    pub http: u16,
}

impl Daemon {
    pub fn start(dir: &std::path::Path, config: &str) -> Daemon {
        Daemon::start_with_env(dir, config, &[])
    }

    /// As [`Daemon::start`], with extra environment variables (`NOTIFY_SOCKET`, say).
    pub fn start_with_env(dir: &std::path::Path, config: &str, env: &[(&str, &str)]) -> Daemon {
        let cfg = dir.join("connecting.toml");
        std::fs::write(&cfg, config).unwrap();
        let log = dir.join("daemon.log");
        let http = config
            .lines()
            .find_map(|l| l.strip_prefix("listen = \"127.0.0.1:"))
            .and_then(|p| p.trim_end_matches('"').parse().ok())
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_connecting"))
            .args(["run", "--config", cfg.to_str().unwrap()])
            .env(
                "CONNECTING_LOG",
                "debug,sqlx=warn,hyper=warn,reqwest=warn,h2=warn,rustls=warn",
            )
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start connecting run");
        Daemon { child, log, http }
    }

    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    pub async fn wait_healthy(&mut self) -> Duration {
        let t0 = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("daemon exited early ({status}):\n{}", self.log());
            }
            if let Ok(body) = http_get(self.http, "/healthz").await
                && body.0 == 200
            {
                return t0.elapsed();
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "not healthy in 30 s:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn stop(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "daemon did not stop within 30 s of SIGTERM:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A test that fails before `stop` must not leave the daemon running.
impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A minimal HTTP/1.1 GET: (status, body).
pub async fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await?;
    let text = String::from_utf8_lossy(&buf).to_string();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((code, body))
}

/// A one-time invite code printed by `connecting invite KIND --id ID --json`, as a coordinator
/// would give it to the person.
pub fn invite_code(db_url: &str, dir: &std::path::Path, kind: &str, id: i64, bot: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_connecting"))
        .args([
            "invite",
            kind,
            "--id",
            &id.to_string(),
            "--bot",
            bot,
            "--json",
        ])
        .env("CONNECTING_DATABASE_URL", db_url)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let invite: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    invite["code"].as_str().unwrap().to_string()
}

pub async fn register_people(store: &Store) {
    store
        .add_operator(
            &NewOperator {
                name: "Laura Rossi".into(),
                email: Some("laura@comune-dalmine.example".into()),
                phone: Some("035 123456".into()),
                ente: "Comune di Dalmine".into(),
                ambito: Ambito::parse("Dalmine").unwrap(),
                telegram_id: None,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    store
        .add_mediator(
            &NewMediator {
                name: "Amina Benali".into(),
                phone: Some("+39 333 1000001".into()),
                email: None,
                telegram_id: Some(MEDIATOR_CHAT),
                gender: Some("f".parse().unwrap()),
                languages: vec![LanguageCode::parse("ar").unwrap()],
                ambiti: vec![Ambito::parse("Dalmine").unwrap()],
                availability: None,
                share_phone: true,
            },
            Utc::now(),
        )
        .await
        .unwrap();
}

/// The mediators of the burst tests: Amina (registered by [`register_people`]) and four more,
/// all Arabic-speaking in Dalmine.
pub const MEDIATORS: [(&str, i64); 5] = [
    ("Amina Benali", MEDIATOR_CHAT),
    ("Karim Haddad", 1002),
    ("Fatima Zahra", 1003),
    ("Youssef Amrani", 1004),
    ("Nadia Salem", 1005),
];

/// [`register_people`], the other [`MEDIATORS`], and `operators` social workers of Dalmine
/// who write on Telegram from chats `first_chat`, `first_chat + 1`, ...
pub async fn register_team(store: &Store, first_chat: i64, operators: usize) {
    register_people(store).await;
    for (name, chat) in &MEDIATORS[1..] {
        store
            .add_mediator(
                &NewMediator {
                    name: (*name).into(),
                    phone: None,
                    email: None,
                    telegram_id: Some(*chat),
                    gender: Some("f".parse().unwrap()),
                    languages: vec![LanguageCode::parse("ar").unwrap()],
                    ambiti: vec![Ambito::parse("Dalmine").unwrap()],
                    availability: None,
                    share_phone: false,
                },
                Utc::now(),
            )
            .await
            .unwrap();
    }
    for i in 0..operators {
        store
            .add_operator(
                &NewOperator {
                    name: format!("Operatrice {i}"),
                    email: None,
                    phone: None,
                    ente: "Comune di Dalmine".into(),
                    ambito: Ambito::parse("Dalmine").unwrap(),
                    telegram_id: Some(first_chat + i as i64),
                },
                Utc::now(),
            )
            .await
            .unwrap();
    }
}

/// The full daemon configuration of the burst tests: Telegram, IMAP (IDLE, processed mail
/// moved to `Elaborati`), SMTP without the per-recipient cap getting in the way, HTTP.
pub fn full_config(
    db_url: &str,
    imap_port: u16,
    smtp_port: u16,
    api_token: &str,
    api_url: &str,
    http: u16,
) -> String {
    format!(
        r#"[database]
url = "{db_url}"

[telegram]
token = "{api_token}"
api_url = "{api_url}"

[imap]
host = "127.0.0.1"
port = {imap_port}
tls = "none"
username = "info"
password = "secret"
processed_mailbox = "Elaborati"
poll_interval_secs = 1
idle = true

[smtp]
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
from = "Cooperativa Mediazione <info@coop.example>"
max_auto_replies_per_hour = 5000

[intake]
max_new_requests_per_sender_per_hour = 0

[dispatch]
wave_size = 2

[http]
listen = "127.0.0.1:{http}"
"#
    )
}

/// The daemon's resident memory now and at its peak (KiB), from /proc.
pub fn memory_kib(pid: u32) -> (u64, u64) {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        s.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Request `k`'s own slot: ten a day, an hour apart from 8:00, from ten days on (too close for
/// one mediator to take two in a row).
pub fn dense_slot(k: usize) -> (String, String) {
    let day = (Utc::now() + chrono::Duration::days(10 + (k / 10) as i64))
        .date_naive()
        .format("%d/%m/%Y")
        .to_string();
    (day, format!("{:02}.00", 8 + k % 10))
}
