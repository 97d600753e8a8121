//! `connecting report` (the monthly figures per Ambito), `connecting purge` (retention) and
//! `connecting outbox` (dead letters: list them, send them again).

use chrono::{Duration, Utc};
use clap::{Args, Subcommand};

use super::Ctx;
use super::table::render;
use crate::dispatch::report::{ReportFormat, monthly_report, render as render_report};
use crate::domain::Ambito;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The month, YYYY-MM.
    #[arg(long)]
    pub month: String,
    /// Only this Ambito.
    #[arg(long)]
    pub ambito: Option<String>,
    /// table (default), csv or json.
    #[arg(long, default_value = "table")]
    pub format: String,
}

#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Show what would be purged, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum OutboxCmd {
    /// Messages given up on (a permanent refusal, or every attempt failed), with the reason.
    Dead,
    /// Send dead letters again, with a fresh set of attempts.
    Retry {
        /// Outbox ids (from `connecting outbox dead`).
        ids: Vec<i64>,
        /// Every dead letter.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
}

pub async fn outbox(ctx: &Ctx, cmd: OutboxCmd) -> anyhow::Result<()> {
    use crate::outbox::Payload;
    let store = ctx.store().await?;
    match cmd {
        OutboxCmd::Dead => {
            let dead = store.outbox_dead().await?;
            // The recipient is shown as a coordinator needs it to act; no message text.
            let to = |p: &Payload| match p {
                Payload::Email(e) => e.to.clone(),
                Payload::Telegram(t) => format!("telegram:{}", t.chat_id),
            };
            if ctx.json {
                let v: Vec<_> = dead
                    .iter()
                    .map(|r| {
                        serde_json::json!({"id": r.id, "channel": r.channel, "to": to(&r.payload),
                            "request_id": r.request_id, "attempts": r.attempts, "error": r.last_error})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                let rows: Vec<Vec<String>> = dead
                    .iter()
                    .map(|r| {
                        vec![
                            r.id.to_string(),
                            r.channel.clone(),
                            to(&r.payload),
                            r.attempts.to_string(),
                            super::table::opt(&r.last_error),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    render(
                        &["ID", "CHANNEL", "TO", "ATTEMPTS", "ERROR"],
                        &rows,
                        "No dead letters."
                    )
                );
            }
            Ok(())
        }
        OutboxCmd::Retry { ids, all } => {
            let ids: Vec<i64> = if all {
                store.outbox_dead().await?.iter().map(|r| r.id).collect()
            } else if ids.is_empty() {
                anyhow::bail!("give the outbox ids to send again, or --all");
            } else {
                ids
            };
            let mut missing = Vec::new();
            for id in &ids {
                if store.requeue_dead(*id, Utc::now()).await? {
                    println!("{id}: queued again");
                } else {
                    missing.push(id.to_string());
                }
            }
            if !missing.is_empty() {
                anyhow::bail!("not dead letters: {}", missing.join(", "));
            }
            Ok(())
        }
    }
}

pub async fn report(ctx: &Ctx, a: ReportArgs) -> anyhow::Result<()> {
    let format: ReportFormat = if ctx.json {
        ReportFormat::Json
    } else {
        a.format.parse()?
    };
    let only = a.ambito.as_deref().map(Ambito::parse).transpose()?;
    let store = ctx.store().await?;
    let rows = monthly_report(&store, &a.month, only, ctx.config.intake.timezone).await?;
    print!(
        "{}",
        render_report(&rows, format, ctx.config.intake.language.as_str())
    );
    Ok(())
}

pub async fn purge(ctx: &Ctx, a: PurgeArgs) -> anyhow::Result<()> {
    let now = Utc::now();
    let r = &ctx.config.retention;
    let raw_before = now - Duration::days(i64::from(r.raw_days));
    let closed_before = now - Duration::days(i64::from(r.closed_days));
    let store = ctx.store().await?;
    let counts = if a.dry_run {
        store.purge_preview(raw_before, closed_before).await?
    } else {
        store.purge(raw_before, closed_before, now).await?
    };
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({ "dry_run": a.dry_run, "counts": counts })
        );
        return Ok(());
    }
    let rows = vec![
        vec![
            format!("messaggi grezzi (più vecchi di {} giorni)", r.raw_days),
            counts.raw_messages.to_string(),
        ],
        vec!["dialoghi inattivi".into(), counts.dialogues.to_string()],
        vec![
            "messaggi inviati (testo)".into(),
            counts.outbox_rows.to_string(),
        ],
        vec![
            format!(
                "richieste chiuse da anonimizzare (più di {} giorni)",
                r.closed_days
            ),
            counts.requests_anonymised.to_string(),
        ],
    ];
    let head = if a.dry_run {
        ["da eliminare (prova, nulla cambiato)", "n."]
    } else {
        ["eliminati", "n."]
    };
    print!("{}", render(&head, &rows, ""));
    Ok(())
}
