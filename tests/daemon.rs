//! `connecting run` as a process, against real servers: health goes to 503 while Dovecot is down
//! and back after; two daemons on one PostgreSQL database hand the mailbox over when the leader
//! is killed, with nothing lost or doubled; a second instance on one SQLite file refuses to start.

mod common;
#[path = "support/mail.rs"]
mod mail;

use chrono::Utc;
use connecting::domain::{Ambito, LanguageCode};
use connecting::store::{NewMediator, NewOperator, RequestFilter, Store};
use std::io::Read as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const MEDIATOR_CHAT: i64 = 1001;

struct Daemon {
    child: Child,
    log: std::path::PathBuf,
    http: u16,
}

impl Daemon {
    fn start(dir: &std::path::Path, config: &str) -> Daemon {
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

    fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    async fn wait_healthy(&mut self) -> Duration {
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

    fn stop(mut self) -> std::process::ExitStatus {
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
async fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
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

async fn register_people(store: &Store) {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_instance_on_one_sqlite_file_refuses_to_start() {
    let db = common::TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let http1 = mail::free_port();
    let mut first = Daemon::start(
        dir.path(),
        &format!(
            "[database]\nurl = \"{}\"\n[http]\nlisten = \"127.0.0.1:{http1}\"\n",
            db.url
        ),
    );
    first.wait_healthy().await;
    let dir2 = tempfile::tempdir().unwrap();
    std::fs::write(
        dir2.path().join("c.toml"),
        format!(
            "[database]\nurl = \"{}\"\n[http]\nlisten = \"127.0.0.1:{}\"\n",
            db.url,
            mail::free_port()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_connecting"))
        .args([
            "run",
            "--config",
            dir2.path().join("c.toml").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("another connecting instance"), "{err}");
    assert!(first.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_goes_503_when_dovecot_stops_and_back_to_200() {
    let db = common::TestDb::sqlite().await;
    let mut mail = mail::MailServers::start(&["info"]);
    let dir = tempfile::tempdir().unwrap();
    let http = mail::free_port();
    let cfg = format!(
        "[database]\nurl = \"{}\"\n[imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nusername = \"info\"\npassword = \"{}\"\npoll_interval_secs = 1\nstale_after_minutes = 0\n[http]\nlisten = \"127.0.0.1:{http}\"\n",
        db.url,
        mail.imap_port,
        mail::PASSWORD
    );
    let mut daemon = Daemon::start(dir.path(), &cfg);
    daemon.wait_healthy().await;
    mail.stop_dovecot();
    let t0 = Instant::now();
    let body = loop {
        let (code, body) = http_get(http, "/healthz").await.unwrap();
        if code == 503 {
            break body;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "still healthy with Dovecot down:\n{}",
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "unhealthy");
    assert!(
        v["channels"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "imap" && c["state"] == "stale"),
        "{v}"
    );
    mail.start_dovecot();
    let t1 = Instant::now();
    loop {
        let (code, _) = http_get(http, "/healthz").await.unwrap();
        if code == 200 {
            break;
        }
        assert!(
            t1.elapsed() < Duration::from_secs(90),
            "not healthy again after Dovecot came back:\n{}",
            daemon.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(daemon.stop().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_daemons_on_postgresql_the_survivor_takes_over_imap() {
    let db = common::TestDb::postgres().await;
    let mail = mail::MailServers::start(&["info", "laura"]);
    register_people(&db.store).await;
    let cfg = |http: u16| {
        format!(
            "[database]\nurl = \"{}\"\n[imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nusername = \"info\"\npassword = \"{}\"\npoll_interval_secs = 1\n[http]\nlisten = \"127.0.0.1:{http}\"\n",
            db.url,
            mail.imap_port,
            mail::PASSWORD
        )
    };
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (h1, h2) = (mail::free_port(), mail::free_port());
    let mut a = Daemon::start(d1.path(), &cfg(h1));
    a.wait_healthy().await;
    let mut b = Daemon::start(d2.path(), &cfg(h2));
    b.wait_healthy().await;
    let send = |n: usize| {
        mail::message(
            "Laura Rossi <laura@comune-dalmine.example>",
            "info@coop.example",
            &format!("Richiesta {n}"),
            &format!("req-{n}@comune-dalmine.example"),
            "Serve una mediatrice di lingua araba per un colloquio il 12/03/2031 alle 10 a Dalmine",
        )
    };
    for n in 0..5 {
        mail.append("info", "INBOX", &send(n)).await;
    }
    let wait_count = |want: usize| {
        let store = db.store.clone();
        async move {
            let t0 = Instant::now();
            loop {
                let n = store
                    .requests(&RequestFilter::default())
                    .await
                    .unwrap()
                    .len();
                if n >= want || t0.elapsed() > Duration::from_secs(30) {
                    return n;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    };
    assert_eq!(wait_count(5).await, 5);
    // Kill -9 whichever leads; the other one must take over the mailbox.
    let (ha, hb) = (
        http_get(h1, "/healthz").await.unwrap().1,
        http_get(h2, "/healthz").await.unwrap().1,
    );
    let a_leads = ha.contains("\"state\":\"ok\"") && hb.contains("standby");
    let (mut leader, survivor) = if a_leads { (a, b) } else { (b, a) };
    let _ = leader.child.kill();
    let _ = leader.child.wait();
    for n in 5..10 {
        mail.append("info", "INBOX", &send(n)).await;
    }
    assert_eq!(
        wait_count(10).await,
        10,
        "survivor did not take over:\n{}",
        survivor.log()
    );
    // Nothing doubled.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        db.store
            .requests(&RequestFilter::default())
            .await
            .unwrap()
            .len(),
        10
    );
    assert!(survivor.stop().success());
}
