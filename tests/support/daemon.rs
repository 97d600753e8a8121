//! Running the real `connecting run` binary in tests: start it with a config, wait for
//! `/healthz`, read its log, stop it with SIGTERM; a tiny HTTP GET; the people every daemon
//! test registers (an operator in Dalmine and an Arabic-speaking mediator on Telegram 1001).
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

    pub fn stop(mut self) -> std::process::ExitStatus {
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
