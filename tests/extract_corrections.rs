//! Corrections kept to measure the extractor on real traffic, on SQLite and PostgreSQL: a
//! corrected request is kept without personal data, `connecting parse --eval-corrections`
//! prints per-field accuracy on the kept pairs, `connecting parse --eval FILE.jsonl` on a file,
//! and retention removes old pairs.

#[path = "support/common.rs"]
mod common;

use std::process::Command;

use chrono::{Duration, NaiveTime, TimeZone, Utc};
use connecting::domain::Channel;
use connecting::extract::{Context, corrections, extract};
use connecting::store::CorrectionSource;

fn parse(url: &str, args: &[&str]) -> (String, String, bool) {
    let o = Command::new(env!("CARGO_BIN_EXE_connecting"))
        .arg("parse")
        .args(args)
        .env("CONNECTING_DATABASE_URL", url)
        .output()
        .expect("run connecting parse");
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
        o.status.success(),
    )
}

both_backends!(corrections_are_kept_measured_and_purged, |db| async move {
    let read_at = Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0).unwrap();
    let ctx = Context::new(read_at, Channel::Telegram);
    let text = "Serve un mediatore arabo per un colloquio giovedì 11 marzo alle 10 in via Roma 12 a Dalmine. Laura Rossi 347 1234567";
    let before = extract(text, &ctx);
    let mut after = before.clone();
    after.start = NaiveTime::from_hms_opt(11, 0, 0);
    let pair = corrections::pair(text, &ctx, &before, &after).expect("a correction");
    let id = db
        .store
        .record_correction(None, CorrectionSource::BotEdit, &pair, Utc::now())
        .await
        .unwrap();
    let kept = db.store.corrections().await.unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].id, id);
    assert!(!kept[0].text.contains("Rossi") && !kept[0].text.contains("347"));
    assert_eq!(kept[0].corrected, vec!["start".to_string()]);

    // the extractor read 10:00 where the operator said 11:00: start is wrong, the rest right
    let (out, err, ok) = parse(&db.url, &["--eval-corrections"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("1 requests, 0 with every field right"),
        "{out}"
    );
    let start = out.lines().find(|l| l.starts_with("start ")).unwrap_or("");
    assert!(start.contains("0.0%"), "{out}");
    let lang = out
        .lines()
        .find(|l| l.starts_with("language "))
        .unwrap_or("");
    assert!(lang.contains("100.0%"), "{out}");

    // a labelled file
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.jsonl");
    std::fs::write(
        &file,
        concat!(
            r#"{"text":"colloquio arabo giovedì 11 marzo alle dieci a Dalmine","now":"2027-03-01T09:00:00+01:00","channel":"telegram","expected":{"language":{"code":"ar"},"start":"10:00","comune":{"istat":"016091"}}}"#,
            "\n",
            r#"{"text":"visita a casa venerdì alle 3 del pomeriggio a Seriate","now":"2027-03-01T09:00:00+01:00","channel":"telegram","expected":{"intervention":"visita_domiciliare","start":"15:00"}}"#,
            "\n"
        ),
    )
    .unwrap();
    let (out, err, ok) = parse(&db.url, &["--eval", file.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        out.contains("2 requests, 2 with every field right"),
        "{out}"
    );
    std::fs::write(&file, "{not json\n").unwrap();
    let (_, err, ok) = parse(&db.url, &["--eval", file.to_str().unwrap()]);
    assert!(!ok && err.contains("line 1"), "{err}");

    // retention: pairs older than raw_days go with the raw messages
    let later = Utc::now() + Duration::days(1);
    db.store
        .purge(later, later - Duration::days(3650), later)
        .await
        .unwrap();
    assert!(db.store.corrections().await.unwrap().is_empty());
});
