//! Operations as an administrator meets them: `/metrics` scraped from the running daemon and
//! checked against the Prometheus conventions, `/livez` 200 while IMAP is down and `/readyz` 503,
//! the systemd notify protocol (READY, WATCHDOG, STOPPING), no empty database created by an
//! admin command run in the wrong place, config discovery, and the shipped man page and
//! completions matching the binary.

#[path = "support/common.rs"]
mod common;
#[path = "support/daemon.rs"]
mod daemon;

use daemon::{Daemon, http_get, register_people};
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::net::UnixDatagram;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

fn connecting(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_connecting"))
        .args(args)
        .current_dir(dir)
        .env_remove("CONNECTING_DATABASE_URL")
        .env_remove("CONNECTING_CONFIG")
        .env("CONNECTING_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

/// One sample line of the text format: name, labels, value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

#[derive(Debug, Default)]
struct Family {
    help: Option<String>,
    kind: Option<String>,
    samples: Vec<Sample>,
}

/// Parses the Prometheus text format; panics on a line it cannot read (a format error is a
/// test failure).
fn parse(text: &str) -> BTreeMap<String, Family> {
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut current = String::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = rest.split_once(' ').unwrap_or((rest, ""));
            current = name.to_string();
            families.entry(current.clone()).or_default().help = Some(help.to_string());
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE line");
            assert_eq!(name, current, "TYPE after HELP of the same family: {line}");
            families.entry(name.to_string()).or_default().kind = Some(kind.to_string());
            continue;
        }
        assert!(!line.starts_with('#'), "unexpected comment: {line}");
        let (head, value) = line.rsplit_once(' ').expect("sample value");
        let (name, labels) = match head.split_once('{') {
            Some((n, l)) => {
                let l = l.strip_suffix('}').expect("closing brace");
                let mut m = BTreeMap::new();
                for pair in l.split(',').filter(|p| !p.is_empty()) {
                    let (k, v) = pair.split_once('=').expect("label pair");
                    m.insert(k.to_string(), v.trim_matches('"').to_string());
                }
                (n.to_string(), m)
            }
            None => (head.to_string(), BTreeMap::new()),
        };
        let value = match value {
            "+Inf" => f64::INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value in {line}")),
        };
        let fam = if name == current
            || (families.get(&current).and_then(|f| f.kind.as_deref()) == Some("histogram")
                && [
                    format!("{current}_bucket"),
                    format!("{current}_sum"),
                    format!("{current}_count"),
                ]
                .contains(&name))
        {
            current.clone()
        } else {
            panic!("sample {name} outside its family (after # TYPE {current})")
        };
        families.get_mut(&fam).unwrap().samples.push(Sample {
            name,
            labels,
            value,
        });
    }
    families
}

/// Every convention the issue names, on one scrape.
fn check_conventions(families: &BTreeMap<String, Family>) {
    for (name, f) in families {
        assert!(
            f.help.as_deref().is_some_and(|h| !h.is_empty()),
            "{name}: no HELP"
        );
        let kind = f
            .kind
            .as_deref()
            .unwrap_or_else(|| panic!("{name}: no TYPE"));
        assert!(
            name.starts_with("connecting_") || name.starts_with("process_"),
            "{name}: not in our namespace"
        );
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{name}: not snake_case"
        );
        match kind {
            "counter" => assert!(name.ends_with("_total"), "{name}: counter without _total"),
            "gauge" | "histogram" => {
                assert!(!name.ends_with("_total"), "{name}: _total on a {kind}")
            }
            other => panic!("{name}: unexpected type {other}"),
        }
        let words: Vec<&str> = name.split('_').collect();
        let timey = ["lag", "latency", "duration", "time", "age"];
        if timey.iter().any(|w| words.contains(w)) || name.contains("_to_") {
            assert!(
                name.ends_with("_seconds") || name.ends_with("_seconds_total"),
                "{name}: a time without its unit"
            );
        }
        if name.contains("memory") {
            assert!(name.ends_with("_bytes"), "{name}: a size without its unit");
        }
        // One label set per family (histograms: plus `le` on buckets).
        let keys: BTreeSet<Vec<String>> = f
            .samples
            .iter()
            .map(|s| {
                s.labels
                    .keys()
                    .filter(|k| *k != "le")
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect();
        assert!(keys.len() <= 1, "{name}: several label sets {keys:?}");
        if kind == "histogram" {
            for s in f.samples.iter().filter(|s| s.name.ends_with("_bucket")) {
                assert!(s.labels.contains_key("le"), "{name}: bucket without le");
            }
            // Cumulative buckets ending in +Inf == _count, per series.
            let mut by_series: BTreeMap<Vec<(String, String)>, Vec<&Sample>> = BTreeMap::new();
            for s in &f.samples {
                let key = s
                    .labels
                    .iter()
                    .filter(|(k, _)| *k != "le")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                by_series.entry(key).or_default().push(s);
            }
            for (series, samples) in by_series {
                let buckets: Vec<f64> = samples
                    .iter()
                    .filter(|s| s.name.ends_with("_bucket"))
                    .map(|s| s.value)
                    .collect();
                assert!(
                    buckets.windows(2).all(|w| w[0] <= w[1]),
                    "{name}{series:?}: buckets not cumulative"
                );
                let count = samples
                    .iter()
                    .find(|s| s.name.ends_with("_count"))
                    .map(|s| s.value);
                assert_eq!(
                    buckets.last().copied(),
                    count,
                    "{name}{series:?}: +Inf != count"
                );
            }
        }
    }
}

fn series_ids(f: &Family) -> BTreeSet<String> {
    f.samples
        .iter()
        .map(|s| format!("{}{:?}", s.name, s.labels))
        .collect()
}

/// What the daemon said on its notify socket, read all along by a thread of its own (systemd
/// reads promptly too; an unread socket would fill up after ten datagrams).
#[derive(Clone)]
struct Notifications(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

impl Notifications {
    fn listen(sock: UnixDatagram) -> Notifications {
        let seen = Notifications(Default::default());
        let store = seen.clone();
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Ends when the test process does.
            loop {
                if let Ok(n) = sock.recv(&mut buf) {
                    let msg = String::from_utf8_lossy(&buf[..n]).to_string();
                    store.0.lock().unwrap().push(msg);
                }
            }
        });
        seen
    }

    fn count(&self, want: &str) -> usize {
        let seen = self.0.lock().unwrap();
        seen.iter()
            .flat_map(|m| m.lines())
            .filter(|l| *l == want)
            .count()
    }

    async fn wait_for(&self, want: &str, n: usize, log: &dyn Fn() -> String) {
        let t0 = Instant::now();
        while self.count(want) < n {
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "no {want} from the daemon (got {:?}):\n{}",
                self.0.lock().unwrap(),
                log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_speaks_prometheus_and_systemd_and_tells_liveness_from_readiness() {
    let db = common::TestDb::sqlite().await;
    register_people(&db.store).await;
    let dir = tempfile::tempdir().unwrap();
    // Requests in the queue, by email and by chat, through the real pipeline.
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/requests");
    let out = connecting(
        dir.path(),
        &["ingest", examples],
        &[("CONNECTING_DATABASE_URL", &db.url)],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let sock_path = dir.path().join("notify.sock");
    let notes = Notifications::listen(UnixDatagram::bind(&sock_path).unwrap());
    let http = free_port();
    // IMAP points at a port nobody listens on: the channel is down from the start.
    let cfg = format!(
        "[database]\nurl = \"{}\"\n[imap]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\nusername = \"info\"\npassword = \"x\"\npoll_interval_secs = 1\nstale_after_minutes = 0\n[http]\nlisten = \"127.0.0.1:{http}\"\n",
        db.url,
        free_port()
    );
    let mut daemon = Daemon::start_with_env(
        dir.path(),
        &cfg,
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "400000"),
        ],
    );
    notes.wait_for("READY=1", 1, &|| daemon.log()).await;
    // HTTP listens before READY is sent.
    let (code, _) = http_get(http, "/livez").await.unwrap();
    assert_eq!(code, 200);
    // The watchdog (WATCHDOG_USEC 400 ms) is pinged every 200 ms.
    notes.wait_for("WATCHDOG=1", 3, &|| daemon.log()).await;

    // IMAP is down: not ready (and /healthz says the same), yet alive.
    let t0 = Instant::now();
    let ready_body = loop {
        let (code, body) = http_get(http, "/readyz").await.unwrap();
        if code == 503 {
            break body;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "still ready with IMAP down"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let v: serde_json::Value = serde_json::from_str(&ready_body).unwrap();
    assert_eq!(v["status"], "unhealthy");
    assert!(
        v["channels"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "imap" && c["state"] == "stale"),
        "{v}"
    );
    assert_eq!(http_get(http, "/healthz").await.unwrap().0, 503);
    let (code, body) = http_get(http, "/livez").await.unwrap();
    assert_eq!(code, 200, "{body}");

    // Let the dispatcher make its offers, then scrape twice.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (code, first) = http_get(http, "/metrics").await.unwrap();
    assert_eq!(code, 200, "{first}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (_, second) = http_get(http, "/metrics").await.unwrap();
    let (f1, f2) = (parse(&first), parse(&second));
    check_conventions(&f1);
    check_conventions(&f2);

    for family in [
        "connecting_build_info",
        "connecting_requests",
        "connecting_request_to_assignment_seconds",
        "connecting_request_to_confirmation_seconds",
        "connecting_offers",
        "connecting_outbox_messages",
        "connecting_outbox_attempts_total",
        "connecting_channel_fetch_lag_seconds",
        "connecting_channel_up",
        "connecting_channel_state",
        "connecting_telegram_api_errors_total",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_start_time_seconds",
        "process_open_fds",
    ] {
        assert!(f1.contains_key(family), "{family} missing:\n{first}");
    }
    // The old names are gone.
    for old in [
        "connecting_outbox_attempts ",
        "connecting_telegram_api_errors ",
    ] {
        assert!(
            !first.contains(&format!("# TYPE {old}")),
            "{old}still there"
        );
    }
    // Stable label sets: the channel families keep the same series whatever the state.
    for family in ["connecting_channel_up", "connecting_channel_state"] {
        assert_eq!(series_ids(&f1[family]), series_ids(&f2[family]), "{family}");
    }
    let states = &f1["connecting_channel_state"].samples;
    assert_eq!(states.len(), 5, "one series per state: {states:?}");
    assert_eq!(states.iter().map(|s| s.value).sum::<f64>(), 1.0);
    assert!(
        states
            .iter()
            .any(|s| s.labels["state"] == "stale" && s.value == 1.0)
    );
    assert_eq!(f1["connecting_channel_up"].samples[0].value, 0.0);

    // No double counting: each family sums to what the store holds.
    let requests = db
        .store
        .requests(&connecting::store::RequestFilter::default())
        .await
        .unwrap();
    assert!(!requests.is_empty());
    let sum = |f: &Family| f.samples.iter().map(|s| s.value).sum::<f64>();
    assert_eq!(sum(&f2["connecting_requests"]) as usize, requests.len());
    let offers: i64 = connecting::with_pool!(db.store, p => {
        sqlx::query_scalar("SELECT COUNT(*) FROM offers").fetch_one(p).await.unwrap()
    });
    assert_eq!(sum(&f2["connecting_offers"]) as i64, offers);
    assert!(
        f2["connecting_offers"]
            .samples
            .iter()
            .all(|s| s.labels["state"] != "sent"),
        "a synthetic 'sent' series double-counts"
    );
    let outbox = db.store.outbox_all().await.unwrap();
    assert_eq!(
        sum(&f2["connecting_outbox_messages"]) as usize,
        outbox.len()
    );
    let info = &f1["connecting_build_info"].samples[0];
    assert_eq!(info.labels["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(info.labels["backend"], "sqlite");
    assert!(f1["process_resident_memory_bytes"].samples[0].value > 1e6);

    // SIGTERM: STOPPING, then a clean exit.
    let status = daemon.stop();
    assert!(status.success(), "{}", daemon.log());
    notes.wait_for("STOPPING=1", 1, &|| daemon.log()).await;
}

#[test]
fn an_admin_command_where_no_database_exists_says_so_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = connecting(dir.path(), &["request", "list"], &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    let expected = dir.path().join("connecting.db");
    assert!(err.contains("no database at"), "{err}");
    assert!(
        err.contains(&expected.display().to_string()),
        "names where it looked: {err}"
    );
    assert!(err.contains("connecting migrate"), "{err}");
    assert!(!expected.exists(), "an empty database was created");

    // `migrate` creates it; then the command works.
    assert!(connecting(dir.path(), &["migrate"], &[]).status.success());
    let out = connecting(dir.path(), &["request", "list"], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_database_that_is_missing_or_empty_is_named_not_filled() {
    let dir = tempfile::tempdir().unwrap();
    let admin = common::pg_admin_url();
    let missing = common::replace_db_name(&admin, "connecting_surely_missing_db");
    let out = connecting(
        dir.path(),
        &["mediator", "list"],
        &[("CONNECTING_DATABASE_URL", &missing)],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("does not exist"), "{err}");
    assert!(err.contains("connecting_surely_missing_db"), "{err}");

    // An existing database without our tables (say, the wrong one) is left untouched.
    let db = common::TestDb::postgres().await;
    connecting::with_pool!(db.store, p => {
        sqlx::query("DROP SCHEMA public CASCADE").execute(p).await.unwrap();
        sqlx::query("CREATE SCHEMA public").execute(p).await.unwrap();
    });
    let out = connecting(
        dir.path(),
        &["mediator", "list"],
        &[("CONNECTING_DATABASE_URL", &db.url)],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("has no connecting tables"), "{err}");
    let tables: i64 = connecting::with_pool!(db.store, p => {
        sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'public'")
            .fetch_one(p).await.unwrap()
    });
    assert_eq!(tables, 0, "the command created tables");
}

#[test]
fn the_config_comes_from_connecting_config_before_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let named = elsewhere.path().join("named.db");
    let cfg = elsewhere.path().join("c.toml");
    std::fs::write(
        &cfg,
        format!("[database]\nurl = \"sqlite://{}\"\n", named.display()),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("connecting.toml"),
        "[database]\nurl = \"sqlite://local.db\"\n",
    )
    .unwrap();
    // ./connecting.toml when nothing names a file.
    let err = String::from_utf8_lossy(&connecting(dir.path(), &["request", "list"], &[]).stderr)
        .to_string();
    assert!(err.contains("local.db"), "{err}");
    assert!(err.contains("connecting.toml"), "names the config: {err}");
    // CONNECTING_CONFIG wins over it.
    let out = connecting(
        dir.path(),
        &["request", "list"],
        &[("CONNECTING_CONFIG", cfg.to_str().unwrap())],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&named.display().to_string()), "{err}");
    assert!(err.contains(&cfg.display().to_string()), "{err}");
    // A CONNECTING_CONFIG that does not exist is an error naming it, not a silent default.
    let out = connecting(
        dir.path(),
        &["request", "list"],
        &[("CONNECTING_CONFIG", "/nonexistent/connecting.toml")],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("/nonexistent/connecting.toml"), "{err}");
}

#[test]
fn the_shipped_man_page_and_completions_match_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let root = env!("CARGO_MANIFEST_DIR");
    for (args, file) in [
        (vec!["man"], "deploy/connecting.1"),
        (
            vec!["completions", "bash"],
            "deploy/completions/connecting.bash",
        ),
        (vec!["completions", "zsh"], "deploy/completions/_connecting"),
        (
            vec!["completions", "fish"],
            "deploy/completions/connecting.fish",
        ),
    ] {
        let out = connecting(dir.path(), &args, &[]);
        assert!(out.status.success(), "{args:?}");
        let shipped = std::fs::read(format!("{root}/{file}")).unwrap();
        assert!(
            out.stdout == shipped,
            "{file} is out of date: regenerate it with `connecting {}` > {file}",
            args.join(" ")
        );
        let text = String::from_utf8_lossy(&out.stdout);
        for cmd in ["backup", "restore", "migrate", "request"] {
            assert!(text.contains(cmd), "{file} lacks {cmd}");
        }
    }
    // Works without any configuration or database.
    assert!(!dir.path().join("connecting.db").exists());
}
