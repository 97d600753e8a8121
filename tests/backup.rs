//! `connecting backup --to FILE` and `connecting restore --from FILE`, on SQLite and on
//! PostgreSQL: the file is age-encrypted (nothing readable without the key, and the wrong key is
//! refused), and restoring it into a new database gives back every row of every table — the
//! raw emails' bytes included — in a database that keeps working (new rows get new ids).

#[path = "support/common.rs"]
mod common;
#[path = "support/daemon.rs"]
mod daemon;

use std::process::{Command, Output};

fn connecting(dir: &std::path::Path, url: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_connecting"))
        .args(args)
        .current_dir(dir)
        .env_remove("CONNECTING_CONFIG")
        .env("CONNECTING_DATABASE_URL", url)
        .env("CONNECTING_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .unwrap()
}

fn ok(o: Output, what: &str) -> String {
    assert!(
        o.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).to_string()
}

/// The decrypted row lines of a backup, sorted (the header, with its time, left out).
fn plaintext_rows(file: &std::path::Path, identity: &age::x25519::Identity) -> Vec<String> {
    let f = std::fs::File::open(file).unwrap();
    let d = age::Decryptor::new(std::io::BufReader::new(f)).unwrap();
    let mut r = d
        .decrypt(std::iter::once(identity as &dyn age::Identity))
        .unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut r, &mut text).unwrap();
    let mut lines: Vec<String> = text.lines().skip(1).map(str::to_string).collect();
    lines.sort();
    lines
}

async fn new_database_like(
    db: &common::TestDb,
    dir: &std::path::Path,
) -> (String, Option<common::TestDb>) {
    match db.store.backend() {
        connecting::store::Backend::Sqlite => (
            format!("sqlite://{}", dir.join("restored.db").display()),
            None,
        ),
        connecting::store::Backend::Postgres => {
            // A fresh database; restore migrates it. Emptied of the schema TestDb applied, so
            // restore creates everything itself, as on a new server.
            let target = common::TestDb::postgres().await;
            connecting::with_pool!(target.store, p => {
                sqlx::query("DROP SCHEMA public CASCADE").execute(p).await.unwrap();
                sqlx::query("CREATE SCHEMA public").execute(p).await.unwrap();
            });
            (target.url.clone(), Some(target))
        }
    }
}

both_backends!(backup_and_restore_round_trip_encrypted, |db| async move {
    let dir = tempfile::tempdir().unwrap();
    daemon::register_people(&db.store).await;
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/requests");
    ok(
        connecting(dir.path(), &db.url, &["ingest", examples], &[]),
        "ingest",
    );
    let before = ok(
        connecting(dir.path(), &db.url, &["request", "list", "--json"], &[]),
        "request list",
    );
    assert!(before.contains("MED-"), "{before}");

    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let file = dir.path().join("connecting.age");
    let out = ok(
        connecting(
            dir.path(),
            &db.url,
            &["backup", "--to", file.to_str().unwrap()],
            &[("CONNECTING_BACKUP_RECIPIENT", &recipient)],
        ),
        "backup",
    );
    assert!(out.contains(&file.display().to_string()), "{out}");

    // Encrypted: an age file, and nothing from the data can be read in it.
    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"age-encryption.org/v1\n"));
    let as_text = String::from_utf8_lossy(&bytes);
    for plain in [
        "MED-",
        "Laura",
        "Amina",
        "Dalmine",
        "requests",
        "connecting-backup",
    ] {
        assert!(!as_text.contains(plain), "{plain} readable in the backup");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    let (target_url, _target) = new_database_like(&db, dir.path()).await;
    // The wrong key is refused, and nothing is written.
    let wrong = dir.path().join("wrong.key");
    std::fs::write(
        &wrong,
        format!(
            "{}\n",
            age::secrecy::ExposeSecret::expose_secret(
                &age::x25519::Identity::generate().to_string()
            )
        ),
    )
    .unwrap();
    let o = connecting(
        dir.path(),
        &target_url,
        &[
            "restore",
            "--from",
            file.to_str().unwrap(),
            "--identity",
            wrong.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("cannot decrypt"), "{err}");

    // The right key restores everything into the new database.
    let key = dir.path().join("backup.key");
    std::fs::write(
        &key,
        format!(
            "# created by the test\n{}\n",
            age::secrecy::ExposeSecret::expose_secret(&identity.to_string())
        ),
    )
    .unwrap();
    let out = ok(
        connecting(
            dir.path(),
            &target_url,
            &["restore", "--from", file.to_str().unwrap()],
            &[("CONNECTING_BACKUP_IDENTITY_FILE", key.to_str().unwrap())],
        ),
        "restore",
    );
    assert!(
        out.contains("file") || out.contains(&file.display().to_string()),
        "{out}"
    );
    let after = ok(
        connecting(dir.path(), &target_url, &["request", "list", "--json"], &[]),
        "request list on the restored database",
    );
    assert_eq!(before, after);

    // Every row of every table, bytes included: a backup of the restored database holds the
    // same rows as the first.
    let again = dir.path().join("again.age");
    ok(
        connecting(
            dir.path(),
            &target_url,
            &[
                "backup",
                "--to",
                again.to_str().unwrap(),
                "--recipient",
                &recipient,
            ],
            &[],
        ),
        "second backup",
    );
    let (first, second) = (
        plaintext_rows(&file, &identity),
        plaintext_rows(&again, &identity),
    );
    assert!(first.len() > 20, "{} rows", first.len());
    assert!(
        first
            .iter()
            .any(|l| l.starts_with("{\"t\":\"inbound_messages\""))
    );
    assert!(first.iter().any(|l| l.starts_with("{\"t\":\"requests\"")));
    assert!(
        first
            .iter()
            .any(|l| l.starts_with("{\"t\":\"audit_events\""))
    );
    assert_eq!(first, second);

    // The restored database keeps working: new rows get fresh ids.
    ok(
        connecting(
            dir.path(),
            &target_url,
            &[
                "mediator",
                "add",
                "--name",
                "Nuova Mediatrice",
                "--languages",
                "ur",
                "--ambiti",
                "Seriate",
            ],
            &[],
        ),
        "mediator add after restore",
    );
    // A second restore into the now non-empty database is refused.
    let o = connecting(
        dir.path(),
        &target_url,
        &[
            "restore",
            "--from",
            file.to_str().unwrap(),
            "--identity",
            key.to_str().unwrap(),
        ],
        &[],
    );
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("empty database"), "{err}");
});

#[test]
fn a_backup_without_a_recipient_says_how_to_set_one() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("x.db").display());
    ok(connecting(dir.path(), &url, &["migrate"], &[]), "migrate");
    let o = connecting(dir.path(), &url, &["backup", "--to", "b.age"], &[]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("backup.recipient"), "{err}");
    assert!(!dir.path().join("b.age").exists());
    // A recipient that is not an age key is refused by the configuration, naming the key.
    let o = connecting(
        dir.path(),
        &url,
        &["backup", "--to", "b.age"],
        &[("CONNECTING_BACKUP_RECIPIENT", "not-a-key")],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("backup.recipient"), "{err}");
}
