//! `connecting parse [--now RFC3339] [--eml FILE]`: shows what the extractor understands of a
//! text (stdin) or an email, as one JSON object (keys documented in README).

use anyhow::{Context as _, bail};
use chrono::{DateTime, Utc};
use clap::Args;
use std::io::Read as _;
use std::path::PathBuf;

use super::Ctx;
use crate::channels::email::{Limits, parse_email};
use crate::domain::Channel;
use crate::extract::{self, Context, SenderInfo};

#[derive(Debug, Args)]
pub struct ParseArgs {
    /// Reference time for relative dates ("domani", "giovedì"); default: now.
    #[arg(long, value_name = "RFC3339")]
    pub now: Option<String>,
    /// Read an email (.eml) instead of text from stdin.
    #[arg(long, value_name = "FILE")]
    pub eml: Option<PathBuf>,
}

pub async fn parse(ctx: &Ctx, a: ParseArgs) -> anyhow::Result<()> {
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
            let body = extract::prepare_email_text(m.text_plain.as_deref(), m.text_html.as_deref());
            let text = match &m.subject {
                Some(s) => format!("{s}\n\n{body}"),
                None => body,
            };
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
    let draft = extract::extract(&text, &ectx);
    println!(
        "{}",
        serde_json::to_string_pretty(&extract::to_parse_json(&draft))?
    );
    Ok(())
}
