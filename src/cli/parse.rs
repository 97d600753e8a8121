//! `connecting parse [--now RFC3339] [--eml FILE]`: shows what the extractor understands of a
//! text (stdin) or an email, as one JSON object (keys documented in README).
//! `connecting parse --eval FILE.jsonl` and `--eval-corrections` print per-field accuracy on
//! labelled requests (a file) or on the corrections operators made (the store).

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use clap::Args;
use std::io::Read as _;
use std::path::PathBuf;

use super::Ctx;
use crate::channels::email::{Limits, parse_email};
use crate::domain::Channel;
use crate::extract::eval::{self, Case};
use crate::extract::{self, Context, SenderInfo};

#[derive(Debug, Args)]
pub struct ParseArgs {
    /// Reference time for relative dates ("domani", "giovedì"); default: now.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    /// Read an email (.eml) instead of text from stdin.
    #[arg(long, value_name = "FILE")]
    pub eml: Option<PathBuf>,
    /// Print per-field accuracy on labelled requests: one JSON object a line with `text`, `now`,
    /// `channel`, optional `sender`, `id`, `prepared`, and `expected` (the fields of this
    /// command's output, all or some); or a fixture directory like tests/fixtures/requests.
    #[arg(long, value_name = "FILE.jsonl", conflicts_with_all = ["eml", "now"])]
    pub eval: Option<PathBuf>,
    /// Print per-field accuracy on the corrections kept in the store (texts an operator or a
    /// coordinator corrected, with the corrected fields).
    #[arg(long, conflicts_with_all = ["eml", "now", "eval"])]
    pub eval_corrections: bool,
}

pub async fn parse(ctx: &Ctx, a: ParseArgs) -> anyhow::Result<()> {
    if let Some(path) = &a.eval {
        let cases = read_cases(path)?;
        return print_report(ctx, &cases);
    }
    if a.eval_corrections {
        let store = ctx.store().await?;
        let cases: Vec<Case> = store
            .corrections()
            .await?
            .iter()
            .filter_map(|c| c.as_case())
            .collect();
        return print_report(ctx, &cases);
    }
    let now: DateTime<Utc> = match &a.now {
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .map_err(|_| {
                anyhow::anyhow!(
                    "--now {s:?} is not valid; expected RFC 3339 like 2027-03-01T09:00:00+01:00"
                )
            })?,
        None => Utc::now(),
    };
    let (text, channel, sender) = match &a.eml {
        Some(path) => {
            let raw =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            let mail = parse_email(&raw, &Limits::default())
                .with_context(|| format!("{} is not a readable email", path.display()))?;
            let m = mail.effective();
            let text = extract::read_email(
                m.subject.as_deref(),
                m.text_plain.as_deref(),
                m.text_html.as_deref(),
            );
            let sender = SenderInfo {
                name: m.reply_address().and_then(|a| a.name.clone()),
                email: m.reply_address().map(|a| a.address.to_string()),
                ..Default::default()
            };
            (text, Channel::Email, sender)
        }
        None => {
            let mut s = String::new();
            std::io::stdin()
                .take(extract::MAX_TEXT as u64 * 4)
                .read_to_string(&mut s)
                .context("cannot read stdin as UTF-8 text")?;
            if s.trim().is_empty() {
                bail!("no text on stdin (pipe a request in, or use --eml FILE)");
            }
            (s, Channel::Cli, SenderInfo::default())
        }
    };
    let mut ectx = Context::new(now, channel);
    ectx.tz = ctx.config.intake.timezone;
    ectx.min_notice_hours = ctx.config.intake.min_notice_hours;
    ectx.sender = sender;
    let mut draft = extract::extract(&text, &ectx);
    // Warnings in the configured language ([intake] language).
    draft.warnings = extract::render_warnings(ctx.config.intake.language.as_str(), &draft);
    println!(
        "{}",
        serde_json::to_string_pretty(&extract::to_parse_json(&draft))?
    );
    Ok(())
}

/// Reads a JSON Lines file of labelled cases (a bad line names its number and what is wrong),
/// or a fixture directory (`NAME.txt` or `NAME.html` beside `NAME.json`).
fn read_cases(path: &std::path::Path) -> anyhow::Result<Vec<Case>> {
    if path.is_dir() {
        let cases = eval::read_fixture_dir(path)
            .with_context(|| format!("cannot read the fixtures in {}", path.display()))?;
        if cases.is_empty() {
            bail!("{} holds no labelled request", path.display());
        }
        return Ok(cases);
    }
    let raw = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {} as UTF-8 text", path.display()))?;
    let mut cases = Vec::new();
    for (i, line) in raw.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{} line {}: not JSON", path.display(), i + 1))?;
        let case = Case::from_json_line(i + 1, &v)
            .with_context(|| format!("{} line {}", path.display(), i + 1))?;
        cases.push(case);
    }
    if cases.is_empty() {
        bail!("{} holds no labelled request", path.display());
    }
    Ok(cases)
}

fn print_report(ctx: &Ctx, cases: &[Case]) -> anyhow::Result<()> {
    let mut base = Context::new(Utc::now(), Channel::Cli);
    base.tz = ctx.config.intake.timezone;
    base.min_notice_hours = ctx.config.intake.min_notice_hours;
    let r = eval::evaluate(cases, &base);
    if ctx.json {
        let fields: serde_json::Map<String, serde_json::Value> = r
            .per_field
            .iter()
            .map(|(f, (right, n))| {
                (
                    f.to_string(),
                    serde_json::json!({"right": right, "compared": n,
                        "accuracy": if *n > 0 { *right as f64 / *n as f64 } else { 0.0 }}),
                )
            })
            .collect();
        let misses: Vec<_> = r
            .misses
            .iter()
            .map(|m| serde_json::json!({"id": m.id, "field": m.field, "expected": m.expected, "got": m.got}))
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "requests": r.cases, "all_right": r.all_right(), "fields": fields, "misses": misses
            }))?
        );
    } else if r.cases == 0 {
        println!("no labelled request to measure");
    } else {
        print!("{}", r.table());
        for m in &r.misses {
            println!(
                "  miss {} {}: expected {} got {}",
                m.id, m.field, m.expected, m.got
            );
        }
    }
    Ok(())
}
