//! `connecting report` (the monthly figures per Ambito) and `connecting purge` (retention).

use chrono::{Duration, Utc};
use clap::Args;

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
