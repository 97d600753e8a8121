//! Measuring the extractor: a labelled case (text, reference time, channel, sender, expected
//! `connecting parse` fields) is read and compared field by field. Used by the golden corpus test,
//! by `connecting parse --eval FILE.jsonl` and by `connecting parse --eval-corrections`. Pure code:
//! the callers read the files or the store.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{Context, SenderInfo, extract, read_email, to_parse_json};
use crate::domain::Channel;

/// The fields compared, in the order they are printed.
pub const FIELDS: &[&str] = &[
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

/// Why a labelled case cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("no valid \"now\" (expected RFC 3339 like 2027-03-01T09:00:00+01:00)")]
    Now,
    #[error("no \"text\"")]
    Text,
    #[error("no \"expected\" object")]
    Expected,
}

/// One labelled request.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub text: String,
    pub now: DateTime<Utc>,
    pub channel: Channel,
    pub sender: SenderInfo,
    /// When the mail was written (its Date header), when it was read later (`sent`).
    pub sent: Option<DateTime<Utc>>,
    /// The text is already what the extractor reads (an email body already prepared).
    pub prepared: bool,
    /// Expected fields, in the `connecting parse` shape; a field absent here is not compared.
    pub expected: Value,
}

impl Case {
    /// A case from its metadata (`now`, `channel`, `sender` with an optional `cooperative`,
    /// optional `sent` and `prepared`, `expected`) and its text.
    pub fn from_meta(id: &str, meta: &Value, text: String) -> Result<Case, CaseError> {
        let now = meta["now"]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc))
            .ok_or(CaseError::Now)?;
        let channel = match meta["channel"].as_str() {
            Some("email") => Channel::Email,
            Some("cli") => Channel::Cli,
            _ => Channel::Telegram,
        };
        let s = &meta["sender"];
        let sender = SenderInfo {
            name: s["name"].as_str().map(String::from),
            email: s["email"].as_str().map(String::from),
            phone: s["phone"].as_str().map(String::from),
            cooperative: s["cooperative"].as_bool().unwrap_or(false),
            ..SenderInfo::default()
        };
        let sent = meta["sent"]
            .as_str()
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
            .map(|d| d.with_timezone(&Utc));
        if !meta["expected"].is_object() {
            return Err(CaseError::Expected);
        }
        Ok(Case {
            id: id.to_string(),
            text,
            now,
            channel,
            sender,
            sent,
            prepared: meta["prepared"].as_bool().unwrap_or(false),
            expected: meta["expected"].clone(),
        })
    }

    /// A case from one JSON Lines record: the metadata keys plus `text` (and an optional `id`).
    pub fn from_json_line(n: usize, v: &Value) -> Result<Case, CaseError> {
        let text = v["text"].as_str().ok_or(CaseError::Text)?.to_string();
        let id = v["id"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| format!("line {n}"));
        Case::from_meta(&id, v, text)
    }

    /// What the extractor makes of the case, as `connecting parse` prints it.
    pub fn run(&self, base: &Context) -> Value {
        let mut ctx = base.clone();
        ctx.now = self.now;
        ctx.channel = self.channel;
        ctx.sender = self.sender.clone();
        ctx.sent = self.sent;
        let text = if self.channel == Channel::Email && !self.prepared {
            read_email(None, Some(&self.text), None)
        } else {
            self.text.clone()
        };
        to_parse_json(&extract(&text, &ctx))
    }
}

/// Why a fixture directory cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: not JSON: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
    #[error("{path}: {source}")]
    Case { path: String, source: CaseError },
}

/// The cases of a fixture directory: each `NAME.json` (metadata) with `NAME.txt` (the text; an
/// e-mail body for channel "email", read with [`read_email`]) or `NAME.html` (an HTML e-mail
/// body), sorted by name.
pub fn read_fixture_dir(dir: &std::path::Path) -> Result<Vec<Case>, FixtureError> {
    let io = |p: &std::path::Path| {
        let path = p.display().to_string();
        move |source| FixtureError::Io { path, source }
    };
    let mut jsons: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    jsons.sort();
    let mut cases = Vec::new();
    for j in jsons {
        let raw = std::fs::read_to_string(&j).map_err(io(&j))?;
        let meta: Value = serde_json::from_str(&raw).map_err(|source| FixtureError::Json {
            path: j.display().to_string(),
            source,
        })?;
        let html = j.with_extension("html");
        let (text, prepared) = if html.exists() {
            let h = std::fs::read_to_string(&html).map_err(io(&html))?;
            (read_email(None, None, Some(&h)), true)
        } else {
            let t = j.with_extension("txt");
            (std::fs::read_to_string(&t).map_err(io(&t))?, false)
        };
        let id = j
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("?")
            .to_string();
        let mut case = Case::from_meta(&id, &meta, text).map_err(|source| FixtureError::Case {
            path: j.display().to_string(),
            source,
        })?;
        case.prepared |= prepared;
        cases.push(case);
    }
    Ok(cases)
}

/// A field of a `connecting parse` object in comparable form (language by code, comune by ISTAT
/// code, lists sorted, warnings by code).
pub fn field(v: &Value, name: &str) -> Value {
    let codes = |list: &Value, key: Option<&str>| {
        let mut l: Vec<String> = list
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| {
                        key.and_then(|k| x.get(k))
                            .and_then(|c| c.as_str())
                            .or(x.as_str())
                    })
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        l.sort();
        l.dedup();
        Value::from(l)
    };
    match name {
        "requester.name" => v["requester"]["name"].clone(),
        "requester.email" => v["requester"]["email"].clone(),
        "requester.phone" => v["requester"]["phone"].clone(),
        "language" => v["language"]["code"].clone(),
        "comune" => v["comune"]["istat"].clone(),
        "missing" => codes(&v["missing"], None),
        "warnings" => codes(&v["warnings"], Some("code")),
        _ => v[name].clone(),
    }
}

/// Whether the expected object says anything about a field (corrections carry only some).
fn labelled(expected: &Value, name: &str) -> bool {
    match name.split_once('.') {
        Some((a, b)) => expected.get(a).and_then(|x| x.get(b)).is_some(),
        None => expected.get(name).is_some(),
    }
}

/// One field that came out differently from its label.
#[derive(Debug, Clone)]
pub struct Miss {
    pub id: String,
    pub field: &'static str,
    pub expected: Value,
    pub got: Value,
}

/// Per-field accuracy over a set of cases.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub cases: usize,
    /// field -> (right, compared)
    pub per_field: BTreeMap<&'static str, (usize, usize)>,
    pub misses: Vec<Miss>,
}

impl Report {
    /// Accuracy of one field in [0, 1]; `None` when no case labels it.
    pub fn accuracy(&self, f: &str) -> Option<f64> {
        self.per_field
            .get(f)
            .filter(|(_, n)| *n > 0)
            .map(|(r, n)| *r as f64 / *n as f64)
    }

    /// The lowest per-field accuracy (1.0 with nothing compared).
    pub fn worst(&self) -> f64 {
        FIELDS
            .iter()
            .filter_map(|f| self.accuracy(f))
            .fold(1.0, f64::min)
    }

    /// Cases with every labelled field right.
    pub fn all_right(&self) -> usize {
        let wrong: std::collections::BTreeSet<&str> =
            self.misses.iter().map(|m| m.id.as_str()).collect();
        self.cases - wrong.len()
    }

    /// The table `connecting parse --eval` prints.
    pub fn table(&self) -> String {
        let mut s = format!(
            "{} requests, {} with every field right\n{:<18} {:>9} {:>7}\n",
            self.cases,
            self.all_right(),
            "field",
            "accuracy",
            "right"
        );
        for f in FIELDS {
            if let Some((r, n)) = self.per_field.get(f).filter(|(_, n)| *n > 0) {
                s.push_str(&format!(
                    "{f:<18} {:>8.1}% {:>3}/{}\n",
                    *r as f64 * 100.0 / *n as f64,
                    r,
                    n
                ));
            }
        }
        s
    }
}

/// Runs every case and compares each labelled field.
pub fn evaluate(cases: &[Case], base: &Context) -> Report {
    let mut r = Report::default();
    for c in cases {
        let got = c.run(base);
        r.cases += 1;
        for f in FIELDS {
            if !labelled(&c.expected, f) {
                continue;
            }
            let (e, g) = (field(&c.expected, f), field(&got, f));
            let slot = r.per_field.entry(f).or_default();
            slot.1 += 1;
            if e == g {
                slot.0 += 1;
            } else {
                r.misses.push(Miss {
                    id: c.id.clone(),
                    field: f,
                    expected: e,
                    got: g,
                });
            }
        }
    }
    r
}
