//! `connecting doctor` on the web console's `[web] public_url`, against the real daemon: green
//! when the public URL reaches the daemon's `/healthz`; a failure naming the part and the fix
//! when another server answers there; a warning (not a failure) when the daemon is not running;
//! a URL that is neither https nor this machine refused with its key. And the console the daemon
//! serves shows the channels' health on its operations page.

#[path = "support/daemon.rs"]
mod daemon;

use std::path::Path;
use std::process::Command;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `connecting doctor --config FILE`: (success, everything it printed).
fn doctor(dir: &Path, config: &str) -> (bool, String) {
    let path = dir.join("doctor.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_connecting"))
        .args(["doctor", "--config", path.to_str().unwrap()])
        .env_remove("CONNECTING_CONFIG")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn line<'a>(out: &'a str, start: &str, containing: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(start) && l.contains(containing))
        .unwrap_or_else(|| panic!("no line {start:?} with {containing:?} in:\n{out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_the_console_public_url_through_to_the_daemon() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("connecting.db").display());
    let port = free_port();
    let config = |public: &str| {
        format!(
            "[database]\nurl = \"{db}\"\n\n[http]\nlisten = \"127.0.0.1:{port}\"\n\n[web]\npublic_url = \"{public}\"\n"
        )
    };
    let ours = format!("http://127.0.0.1:{port}");
    let status = Command::new(env!("CARGO_BIN_EXE_connecting"))
        .args(["migrate"])
        .env("CONNECTING_DATABASE_URL", &db)
        .env_remove("CONNECTING_CONFIG")
        .current_dir(dir.path())
        .status()
        .unwrap();
    assert!(status.success());

    // The daemon not running: said, with what to do, and not a failure.
    let (ok, out) = doctor(dir.path(), &config(&ours));
    assert!(ok, "{out}");
    let l = line(&out, "nota", "web");
    assert!(l.contains("non risponde"), "{l}");

    let mut d = daemon::Daemon::start(dir.path(), &config(&ours));
    d.wait_healthy().await;

    // The console the daemon serves shows the channels' health on its operations page (none
    // is configured here), which a console without the daemon cannot know.
    let store = connecting::store::Store::connect(&db).await.unwrap();
    let coordinator = store
        .add_coordinator(
            &connecting::store::NewCoordinator {
                name: "Giulia Coordinatrice".into(),
                telegram_id: Some(9001),
                email: None,
            },
            chrono::Utc::now(),
        )
        .await
        .unwrap()
        .id;
    let cfg_path = dir.path().join("console.toml");
    std::fs::write(&cfg_path, config(&ours)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_connecting"))
        .args(["--config", cfg_path.to_str().unwrap()])
        .args(["console", "link", "--coordinator", &coordinator.to_string()])
        .env_remove("CONNECTING_CONFIG")
        .env("CONNECTING_LOG", "warn")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{ours}/login/")))
        .unwrap_or_else(|| panic!("no link in {text}"))
        .to_string();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let pressed = http.post(&link).send().await.unwrap();
    assert_eq!(pressed.status().as_u16(), 303);
    let cookie = pressed.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let page = http
        .get(format!("{ours}/operations"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Canali"), "{page}");
    assert!(page.contains("Nessun canale configurato"), "{page}");

    // The public URL reaches the daemon: green.
    let (ok, out) = doctor(dir.path(), &config(&ours));
    assert!(ok, "{out}");
    assert!(line(&out, "ok", "web").contains(&ours), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("ok") && l.contains("web") && l.contains("/healthz")),
        "{out}"
    );

    // Another server answers at the public URL (a proxy pointed elsewhere): a failure that
    // names the part and the fix.
    let other = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let other_port = other.local_addr().unwrap().port();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = other.accept().await {
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf).await;
            let _ = s
                .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found")
                .await;
        }
    });
    let (ok, out) = doctor(
        dir.path(),
        &config(&format!("http://127.0.0.1:{other_port}")),
    );
    assert!(!ok, "{out}");
    let l = line(&out, "ERRORE", "web");
    assert!(l.contains("un altro server") && l.contains("404"), "{l}");
    assert!(
        out.contains(&format!("127.0.0.1:{port}")),
        "the fix names our address: {out}"
    );
    assert!(d.stop().success());

    // Neither https nor this machine: refused, naming the key.
    let (ok, out) = doctor(dir.path(), &config("http://console.example.org"));
    assert!(!ok);
    assert!(out.contains("web.public_url"), "{out}");
}
