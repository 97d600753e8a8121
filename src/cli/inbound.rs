//! `connecting inbound list [--kind K]`: every inbound email that created no request or changed
//! nothing (held, refused, set aside, quarantined, too large), with why, in words; `--json`
//! gives the codes (`kind`, `status`, `reason`). Nothing is ignored silently.

use clap::Subcommand;

use super::Ctx;
use super::table::{opt, render};
use crate::channels::email::replies::text;
use crate::prompts::Prompts;

#[derive(Debug, Subcommand)]
pub enum InboundCmd {
    /// Email that created no request, and why it was set aside.
    List {
        /// Only this kind (codes: new_request, follow_up, cancellation, auto_reply, bounce,
        /// read_receipt, bounce_text, pec_receipt, pec_anomaly, mailing_list, own_message,
        /// oversized, unparsed, unprocessed).
        #[arg(long, value_name = "K")]
        kind: Option<String>,
    },
}

/// `email.<prefix><code>` in words, or the code itself when the catalogue has no words for it.
fn words(lang: &str, prefix: &str, code: &str) -> String {
    let l = if lang == "en" {
        crate::config::Lang::En
    } else {
        crate::config::Lang::It
    };
    let key = format!("{prefix}{code}");
    match Prompts::global().template(l, &format!("email.{key}")) {
        Some(_) => text(lang, &key, &[]),
        None => code.to_owned(),
    }
}

/// The reason code of a row: the recorded one, else the one its status implies.
fn reason_code(reason: Option<&str>, status: &str) -> Option<String> {
    reason.map(str::to_owned).or(match status {
        "quarantined" | "oversized" => Some(status.to_owned()),
        _ => None,
    })
}

pub async fn inbound(ctx: &Ctx, cmd: InboundCmd) -> anyhow::Result<()> {
    let InboundCmd::List { kind } = cmd;
    let store = ctx.store().await?;
    let rows = store.set_aside("email", kind.as_deref()).await?;
    let lang = ctx.config.intake.language.as_str();
    if ctx.json {
        let v: Vec<_> = rows
            .iter()
            .map(|m| {
                serde_json::json!({
                    "id": m.id, "kind": m.kind, "status": m.status,
                    "reason": reason_code(m.reason.as_deref(), &m.status),
                    "request_id": m.request_id, "sender": m.sender, "subject": m.subject,
                    "error": m.error, "received_at": m.received_at,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|m| {
            let reason = reason_code(m.reason.as_deref(), &m.status)
                .map(|r| words(lang, "reason_", &r))
                .unwrap_or_else(|| "-".into());
            vec![
                m.id.to_string(),
                crate::store::from_ts(m.received_at)
                    .with_timezone(&ctx.config.intake.timezone)
                    .format("%d/%m/%Y %H:%M")
                    .to_string(),
                opt(&m.sender),
                opt(&m.subject),
                words(lang, "kind_", &m.kind),
                words(lang, "status_", &m.status),
                reason,
            ]
        })
        .collect();
    let header: Vec<String> = [
        "inbound_col_id",
        "inbound_col_received",
        "inbound_col_sender",
        "inbound_col_subject",
        "inbound_col_kind",
        "inbound_col_status",
        "inbound_col_reason",
    ]
    .iter()
    .map(|k| text(lang, k, &[]))
    .collect();
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    print!(
        "{}",
        render(&header, &table, &text(lang, "inbound_none", &[]))
    );
    Ok(())
}
