//! Golden corpus for the extractor: every `tests/fixtures/requests/*.txt` with its `.json`
//! (reference time, channel, optional sender, expected fields). Prints per-field accuracy and
//! fails under 97% on any field. E-mail fixtures go through `prepare_email_text` first, as the
//! e-mail intake does.
//!
//! Run: `cargo test --test extract_golden -- --nocapture`

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};
use connecting::domain::Channel;
use connecting::extract::{Context, SenderInfo, extract, prepare_email_text, to_parse_json};
use serde_json::Value;

const FIELDS: &[&str] = &[
    "language",
    "date",
    "start",
    "end",
    "duration_minutes",
    "deadline",
    "modality",
    "intervention",
    "comune",
    "address",
    "urgent",
    "mediator_gender",
    "case_ref",
    "requester.name",
    "requester.email",
    "requester.phone",
    "missing",
    "warnings",
];

fn field(v: &Value, name: &str) -> Value {
    match name {
        "requester.name" => v["requester"]["name"].clone(),
        "requester.email" => v["requester"]["email"].clone(),
        "requester.phone" => v["requester"]["phone"].clone(),
        // language compared by code
        "language" => v["language"]["code"].clone(),
        "comune" => v["comune"]["istat"].clone(),
        "missing" => {
            let mut l: Vec<String> = v["missing"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            l.sort();
            Value::from(l)
        }
        "warnings" => {
            let mut l: Vec<String> = v["warnings"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.get("code").and_then(|c| c.as_str()).or(x.as_str()))
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            l.sort();
            l.dedup();
            Value::from(l)
        }
        _ => v[name].clone(),
    }
}

fn context(meta: &Value) -> Context {
    let now: DateTime<Utc> = meta["now"]
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_else(|| panic!("fixture without a valid \"now\": {meta}"));
    let channel = match meta["channel"].as_str() {
        Some("email") => Channel::Email,
        _ => Channel::Telegram,
    };
    let mut ctx = Context::new(now, channel);
    let s = &meta["sender"];
    ctx.sender = SenderInfo {
        name: s["name"].as_str().map(String::from),
        email: s["email"].as_str().map(String::from),
        phone: s["phone"].as_str().map(String::from),
        ..SenderInfo::default()
    };
    ctx
}

#[test]
fn golden_corpus_per_field_accuracy() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/requests");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    entries.sort();
    let mut right: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures: Vec<String> = Vec::new();
    let mut n = 0;
    for json_path in &entries {
        let meta: Value =
            serde_json::from_str(&std::fs::read_to_string(json_path).expect("read json"))
                .unwrap_or_else(|e| panic!("{}: {e}", json_path.display()));
        let txt_path = json_path.with_extension("txt");
        let html_path = json_path.with_extension("html");
        let ctx = context(&meta);
        let text = if html_path.exists() {
            let h = std::fs::read_to_string(&html_path).expect("read html");
            prepare_email_text(None, Some(&h))
        } else {
            let raw = std::fs::read_to_string(&txt_path)
                .unwrap_or_else(|e| panic!("{}: {e}", txt_path.display()));
            if ctx.channel == Channel::Email {
                prepare_email_text(Some(&raw), None)
            } else {
                raw
            }
        };
        let got = to_parse_json(&extract(&text, &ctx));
        let exp = &meta["expected"];
        n += 1;
        for f in FIELDS {
            let (e, g) = (field(exp, f), field(&got, f));
            if e == g {
                *right.entry(f).or_default() += 1;
            } else {
                failures.push(format!(
                    "{} {f}: expected {e} got {g}",
                    json_path
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .unwrap_or("?")
                ));
            }
        }
    }
    assert!(
        n >= 200,
        "golden corpus has {n} requests, want at least 200"
    );
    println!("\ngolden corpus: {n} requests");
    println!("{:<18} {:>8}", "field", "accuracy");
    let mut worst = 1.0f64;
    for f in FIELDS {
        let acc = *right.get(f).unwrap_or(&0) as f64 / n as f64;
        worst = worst.min(acc);
        println!("{f:<18} {:>7.1}%", acc * 100.0);
    }
    for f in failures.iter().take(60) {
        println!("  MISS {f}");
    }
    println!("total misses: {}", failures.len());
    assert!(
        worst >= 0.97,
        "a field is under 97% (worst {:.1}%)",
        worst * 100.0
    );
}
