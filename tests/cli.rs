//! The `connecting` command as a coordinator uses it, on SQLite and on PostgreSQL: people,
//! imports, invites, the request queue; bad input gets one clear line and a non-zero exit.

#[path = "support/common.rs"]
mod common;

use chrono::Utc;
use connecting::domain::{Channel, InterventionType, LanguageCode, Modality, RequestStatus};
use connecting::store::{NewRequest, RequestFilter};
use std::process::{Command, Output};

struct Cli {
    url: String,
    dir: tempfile::TempDir,
}

impl Cli {
    fn new(url: &str) -> Cli {
        Cli {
            url: url.to_string(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_connecting"))
            .args(args)
            .current_dir(self.dir.path())
            .env("CONNECTING_DATABASE_URL", &self.url)
            .env("CONNECTING_LOG", "warn")
            .output()
            .expect("run connecting")
    }

    /// Runs and expects success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    /// Runs and expects failure; returns stderr, which must be a single line.
    fn fails(&self, args: &[&str]) -> (i32, String) {
        let o = self.run(args);
        assert!(!o.status.success(), "{args:?} should fail");
        let err = String::from_utf8(o.stderr).unwrap();
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "one line expected, got: {err}"
        );
        assert!(
            !err.contains("panicked") && !err.contains("backtrace"),
            "{err}"
        );
        (o.status.code().unwrap_or(-1), err)
    }

    fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut a = args.to_vec();
        a.push("--json");
        serde_json::from_str(&self.ok(&a)).unwrap()
    }
}

both_backends!(people_can_be_added_listed_and_imported, |db| async move {
    let cli = Cli::new(&db.url);
    cli.ok(&["migrate"]);
    let out = cli.ok(&[
        "mediator",
        "add",
        "--name",
        "Amina Benali",
        "--languages",
        "ar,fr",
        "--ambiti",
        "Dalmine,Seriate",
        "--phone",
        "+39 333 1000001",
        "--telegram-id",
        "111",
        "--gender",
        "f",
        "--availability",
        "lun-ven 08:00-18:00",
    ]);
    assert!(
        out.contains("Amina Benali") && out.contains("lun-ven 08:00-18:00"),
        "{out}"
    );
    // Without --availability: available at any time.
    cli.ok(&[
        "mediator",
        "add",
        "--name",
        "Grace",
        "--languages",
        "tw",
        "--ambiti",
        "Bergamo",
    ]);
    let list = cli.json(&["mediator", "list"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["languages"], serde_json::json!(["ar", "fr"]));
    assert_eq!(list[1]["availability"], serde_json::Value::Null);

    let csv = cli.dir.path().join("m.csv");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/mediators.csv"),
        &csv,
    )
    .unwrap();
    let rows = std::fs::read_to_string(&csv)
        .unwrap()
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .count();
    let out = cli.ok(&["mediator", "import", csv.to_str().unwrap()]);
    assert!(out.contains(&rows.to_string()), "{out}");
    assert_eq!(
        cli.json(&["mediator", "list"]).as_array().unwrap().len(),
        2 + rows
    );

    cli.ok(&[
        "operator",
        "add",
        "--name",
        "Laura Rossi",
        "--email",
        "l.rossi@comune.dalmine.bg.it",
        "--ente",
        "Comune di Dalmine",
        "--ambito",
        "Dalmine",
    ]);
    let ops = cli.dir.path().join("o.csv");
    std::fs::write(&ops, "name,email,ente,ambito,phone,telegram_id\nMarco Bianchi,m.bianchi@comune.seriate.bg.it,Comune di Seriate,Seriate,035 1,\n").unwrap();
    cli.ok(&["operator", "import", ops.to_str().unwrap()]);
    let table = cli.ok(&["operator", "list"]);
    assert!(
        table.contains("Laura Rossi")
            && table.contains("Marco Bianchi")
            && table.contains("Seriate"),
        "{table}"
    );

    let c = cli.json(&[
        "coordinator",
        "add",
        "--name",
        "Giulia",
        "--telegram-id",
        "999",
    ]);
    assert_eq!(c[0]["telegram_id"], 999);

    let inv = cli.json(&["invite", "mediator", "--id", "2", "--bot", "CoopBot"]);
    let code = inv["code"].as_str().unwrap();
    assert_eq!(inv["link"], format!("https://t.me/CoopBot?start={code}"));
    // The code is real: it links a Telegram account once.
    let r = db
        .store
        .redeem_invite(code, 4242, Utc::now())
        .await
        .unwrap();
    assert_eq!(r.person_id, 2);
});

/// The menus the outbox holds for Telegram chat `chat`, oldest first: (role, language).
async fn menus_for(store: &connecting::store::Store, chat: i64) -> Vec<(Option<String>, String)> {
    store
        .outbox_all()
        .await
        .unwrap()
        .into_iter()
        .filter_map(|r| match r.payload {
            connecting::outbox::Payload::Telegram(p) if p.chat_id == chat => p.menu,
            _ => None,
        })
        .map(|m| (m.role.map(|k| k.as_str().to_string()), m.lang))
        .collect()
}

both_backends!(
    each_person_s_language_and_menu_from_the_cli,
    |db| async move {
        let cli = Cli::new(&db.url);
        cli.ok(&["migrate"]);
        let op = cli.json(&[
            "operator",
            "add",
            "--name",
            "Ruth Okoro",
            "--email",
            "r.okoro@comune.dalmine.bg.it",
            "--ente",
            "Comune di Dalmine",
            "--ambito",
            "Dalmine",
            "--telegram-id",
            "700",
            "--language",
            "en",
        ]);
        assert_eq!(op["language"], "en");
        // Her chat's menu is queued: an operator's commands, in English.
        assert_eq!(
            menus_for(&db.store, 700).await,
            vec![(Some("operator".to_string()), "en".to_string())]
        );
        // Without --language: the installation's (none of her own).
        let m = cli.json(&[
            "mediator",
            "add",
            "--name",
            "Amina Benali",
            "--languages",
            "ar",
            "--ambiti",
            "Dalmine",
            "--telegram-id",
            "701",
        ]);
        assert_eq!(m["language"], serde_json::Value::Null);
        assert_eq!(
            menus_for(&db.store, 701).await,
            vec![(Some("mediator".to_string()), "it".to_string())]
        );
        // The CSV's `language` column.
        let csv = cli.dir.path().join("m.csv");
        std::fs::write(
            &csv,
            "name,languages,ambiti,telegram_id,language\nGrace Mensah,tw,Bergamo,702,en\nYusuf,ur,Seriate,,\n",
        )
        .unwrap();
        cli.ok(&["mediator", "import", csv.to_str().unwrap()]);
        let list = cli.json(&["mediator", "list"]);
        let grace = list
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == "Grace Mensah")
            .unwrap();
        assert_eq!(grace["language"], "en");
        // A language we do not write in is refused, naming it; nothing is imported.
        std::fs::write(&csv, "name,languages,ambiti,language\nOmar,ar,Dalmine,fr\n").unwrap();
        let (_, err) = cli.fails(&["mediator", "import", csv.to_str().unwrap()]);
        assert!(
            err.contains("Riga 2")
                && err.contains("«fr»")
                && err.contains("it (italiano) oppure en (inglese)"),
            "{err}"
        );
        let (_, err) = cli.fails(&["coordinator", "add", "--name", "X", "--language", "de"]);
        assert!(err.contains("--language"), "{err}");

        // Ruth is made coordinator: her chat's menu becomes a coordinator's (in the language
        // given now).
        let c = cli.json(&[
            "coordinator",
            "add",
            "--name",
            "Ruth Okoro",
            "--telegram-id",
            "700",
            "--language",
            "en",
        ]);
        assert_eq!(c[0]["language"], "en");
        assert_eq!(
            menus_for(&db.store, 700).await.last().cloned(),
            Some((Some("coordinator".to_string()), "en".to_string()))
        );
        // Amina removed: her chat's menu is deleted (only /start shows).
        let id = m["id"].as_i64().unwrap().to_string();
        let out = cli.ok(&["mediator", "remove", "--id", &id]);
        assert!(out.contains("Amina Benali"), "{out}");
        assert_eq!(
            menus_for(&db.store, 701).await.last().cloned(),
            Some((None, "it".to_string()))
        );
        assert!(
            !db.store
                .mediator(m["id"].as_i64().unwrap())
                .await
                .unwrap()
                .active
        );
        // Ruth is the only coordinator: she is not removed (alerts would reach nobody).
        let ruth = c[0]["id"].as_i64().unwrap().to_string();
        let (code, err) = cli.fails(&["coordinator", "remove", "--id", &ruth]);
        assert_eq!(code, 1);
        assert!(err.contains("last one in service"), "{err}");
        assert_eq!(db.store.coordinators().await.unwrap().len(), 1);
        // With Giulia in service she is: her chat's menu goes back to an operator's, in
        // her English, and she is no longer listed.
        cli.ok(&["coordinator", "add", "--name", "Giulia Conti"]);
        let out = cli.ok(&["coordinator", "remove", "--id", &ruth]);
        assert!(out.contains("Ruth Okoro"), "{out}");
        assert_eq!(
            menus_for(&db.store, 700).await.last().cloned(),
            Some((Some("operator".to_string()), "en".to_string()))
        );
        let names: Vec<String> = db
            .store
            .coordinators()
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, vec!["Giulia Conti"]);
        let (_, err) = cli.fails(&["coordinator", "remove", "--id", &ruth]);
        assert!(err.contains("not found"), "{err}");
    }
);

both_backends!(bad_input_gets_one_clear_line, |db| async move {
    let cli = Cli::new(&db.url);
    let (code, err) = cli.fails(&["mediator", "add", "--nome", "X"]);
    assert_eq!(code, 2);
    assert!(err.contains("--nome"), "{err}");
    let (_, err) = cli.fails(&[
        "mediator",
        "add",
        "--name",
        "X",
        "--languages",
        "arabic",
        "--ambiti",
        "Dalmine",
    ]);
    assert!(err.contains("arabic"), "{err}");
    let (_, err) = cli.fails(&[
        "mediator",
        "add",
        "--name",
        "X",
        "--languages",
        "ar",
        "--ambiti",
        "Milano",
    ]);
    assert!(err.contains("Milano") && err.contains("Dalmine"), "{err}");
    let (_, err) = cli.fails(&[
        "mediator",
        "add",
        "--name",
        "X",
        "--languages",
        "ar",
        "--ambiti",
        "Dalmine",
        "--availability",
        "quando capita",
    ]);
    assert!(err.contains("quando capita"), "{err}");
    let (_, err) = cli.fails(&["request", "show", "MED-27-1"]);
    assert!(err.contains("MED-27-1"), "{err}");
    let (_, err) = cli.fails(&["request", "list", "--status", "pending"]);
    assert!(err.contains("pending") && err.contains("queued"), "{err}");
    let (_, err) = cli.fails(&["invite", "operator", "--id", "77"]);
    assert!(err.contains("77"), "{err}");
    let bad = cli.dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "name,languages,ambiti\nA,ar,Dalmine\nB,ar,Atlantide\n",
    )
    .unwrap();
    let (_, err) = cli.fails(&["mediator", "import", bad.to_str().unwrap()]);
    assert!(err.contains("Riga 3") && err.contains("Atlantide"), "{err}");
    // Nothing from a bad file is imported.
    assert_eq!(cli.json(&["mediator", "list"]).as_array().unwrap().len(), 0);
    let o = Command::new(env!("CARGO_BIN_EXE_connecting"))
        .args(["request", "list"])
        .current_dir(cli.dir.path())
        .env("CONNECTING_DATABASE_URL", &db.url)
        .env("CONNECTING_DISPATCH_WAVE_SIZE", "many")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("dispatch.wave_size") && err.contains("many"),
        "{err}"
    );
});

both_backends!(
    requests_are_listed_shown_assigned_and_cancelled,
    |db| async move {
        let cli = Cli::new(&db.url);
        let now = Utc::now();
        let date = (now + chrono::Duration::days(10)).date_naive();
        let new = |lang: &str| NewRequest {
            status: Some(RequestStatus::Queued),
            channel: Some(Channel::Email),
            language: Some(LanguageCode::parse(lang).unwrap()),
            intervention: Some(InterventionType::Colloquio),
            modality: Some(Modality::InPerson),
            date: Some(date),
            start_time: chrono::NaiveTime::from_hms_opt(10, 0, 0),
            duration_minutes: Some(60),
            comune: Some("Dalmine".into()),
            ..Default::default()
        };
        let a = db.store.create_request(&new("ar"), now).await.unwrap();
        let b = db.store.create_request(&new("ur"), now).await.unwrap();
        cli.ok(&[
            "mediator",
            "add",
            "--name",
            "Amina",
            "--languages",
            "ar",
            "--ambiti",
            "Dalmine",
        ]);

        let table = cli.ok(&["request", "list"]);
        assert!(
            table.contains(&a.code.to_string()) && table.contains(&b.code.to_string()),
            "{table}"
        );
        // The table is read by a coordinator: words, not codes.
        assert!(
            table.contains("in coda") && table.contains("arabo") && table.contains("colloquio"),
            "{table}"
        );
        assert!(
            !table.contains("queued") && !table.contains(" ar "),
            "codes in the table: {table}"
        );
        let queued = cli.json(&["request", "list", "--status", "queued"]);
        assert_eq!(queued.as_array().unwrap().len(), 2);

        let shown = cli.ok(&["request", "show", &a.code.to_string()]);
        assert!(
            shown.contains("colloquio")
                && shown.contains("Dalmine")
                && shown.contains("in presenza")
                && shown.contains("creata"),
            "{shown}"
        );

        // Looking is recorded too: the audit trail says who saw the request.
        assert!(
            db.store
                .audit_trail(a.id)
                .await
                .unwrap()
                .iter()
                .any(|e| e.actor == "cli" && e.action == "viewed"),
            "view not audited"
        );
        cli.ok(&["request", "assign", &a.code.to_string(), "--mediator", "1"]);
        let after = db.store.request(a.code).await.unwrap();
        assert_eq!(after.status, RequestStatus::Assigned);
        assert_eq!(after.assigned_mediator_id, Some(1));

        let out = cli.json(&["request", "cancel", &b.code.to_string()]);
        assert_eq!(out["status"], "cancelled");
        assert_eq!(
            db.store.request(b.code).await.unwrap().status,
            RequestStatus::Cancelled
        );
        // A cancelled request cannot be assigned: a clear error, nothing changes.
        let (_, err) = cli.fails(&["request", "assign", &b.code.to_string(), "--mediator", "1"]);
        assert!(err.contains(&b.code.to_string()), "{err}");
        assert_eq!(
            cli.json(&["request", "list", "--status", "cancelled"])
                .as_array()
                .unwrap()
                .len(),
            1
        );
    }
);

both_backends!(
    held_email_is_accepted_or_rejected_by_a_coordinator,
    |db| async move {
        let cli = Cli::new(&db.url);
        let mail = |id: &str| {
            format!(
                "From: Segreteria <segreteria@ambito-nuovo.example>\r\nTo: info@coop.example\r\nSubject: Richiesta mediatore\r\n\
             Message-ID: <{id}@ambito-nuovo.example>\r\nDate: Mon, 1 Mar 2027 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
             Serve un mediatore di lingua wolof per un colloquio il 12/03/2031 alle 10 a Treviglio.\r\n"
            )
        };
        let dir = cli.dir.path();
        std::fs::write(dir.join("a.eml"), mail("held-a")).unwrap();
        std::fs::write(dir.join("b.eml"), mail("held-b")).unwrap();
        cli.ok(&[
            "ingest",
            dir.join("a.eml").to_str().unwrap(),
            dir.join("b.eml").to_str().unwrap(),
        ]);
        let held = db
            .store
            .requests(&RequestFilter {
                status: Some(RequestStatus::NeedsReview),
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(held.len(), 2);
        // Unknown senders got nothing.
        let emails_out = |rows: Vec<connecting::store::OutboxRow>| {
            rows.into_iter()
                .filter(|r| matches!(r.payload, connecting::outbox::Payload::Email(_)))
                .count()
        };
        assert_eq!(emails_out(db.store.outbox_all().await.unwrap()), 0);
        let (a, b) = (&held[1], &held[0]);
        let out = cli.json(&["request", "review", &a.code.to_string(), "--accept"]);
        assert_eq!(out["status"], "queued");
        let acks = db.store.outbox_for_request(a.id).await.unwrap();
        assert_eq!(emails_out(acks.clone()), 1);
        match &acks[0].payload {
            connecting::outbox::Payload::Email(e) => {
                assert_eq!(e.to, "segreteria@ambito-nuovo.example");
                assert_eq!(
                    e.in_reply_to.as_deref(),
                    Some("held-a@ambito-nuovo.example")
                );
            }
            other => panic!("{other:?}"),
        }
        let out = cli.json(&["request", "review", &b.code.to_string(), "--reject"]);
        assert_eq!(out["status"], "cancelled");
        assert_eq!(
            emails_out(db.store.outbox_for_request(b.id).await.unwrap()),
            0
        );
        // Only held requests can be reviewed.
        let (_, err) = cli.fails(&["request", "review", &a.code.to_string(), "--reject"]);
        assert!(err.contains("not waiting for review"), "{err}");
    }
);

/// The newcomer's first command shows the queue as a coordinator reads it: statuses, languages,
/// types and reasons in words, in Italian by default and in English when configured.
#[test]
fn the_demo_shows_the_queue_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let run = |lang: &str| {
        let db = dir.path().join(format!("demo-{lang}.db"));
        let out = Command::new(env!("CARGO_BIN_EXE_connecting"))
            .args(["demo", "--examples", examples, "--db"])
            .arg(&db)
            .current_dir(dir.path())
            .env("CONNECTING_LOG", "warn")
            .env("CONNECTING_INTAKE_LANGUAGE", lang)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        (
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (table, said) = run("it");
    for words in [
        "offerta ai mediatori",
        "arabo",
        "visita domiciliare",
        "nessun mediatore idoneo",
    ] {
        assert!(table.contains(words), "{words:?} missing:\n{table}");
    }
    assert!(said.contains("mediatori importati"), "{said}");
    for code in [
        "offered",
        "escalated",
        "nobody_eligible",
        "visita_domiciliare",
        "needs_info",
    ] {
        assert!(!table.contains(code), "code {code:?} shown:\n{table}");
    }
    let (table, said) = run("en");
    for words in [
        "offered to mediators",
        "Arabic",
        "home visit",
        "no eligible mediator",
    ] {
        assert!(table.contains(words), "{words:?} missing:\n{table}");
    }
    assert!(said.contains("mediators imported"), "{said}");
}
