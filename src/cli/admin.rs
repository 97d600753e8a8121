//! `connecting report` (the monthly figures per Ambito), `connecting purge` (retention) and
//! `connecting outbox` (dead letters: list them, send them again).

use chrono::{Duration, Utc};
use clap::{Args, Subcommand};

use super::Ctx;
use super::table::render;
use crate::dispatch::report::{
    self as report_model, ReportFormat, ReportRow, month_range, monthly_report,
    render as render_report,
};
use crate::domain::Ambito;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The month, YYYY-MM.
    #[arg(long)]
    pub month: String,
    /// Only this Ambito.
    #[arg(long)]
    pub ambito: Option<String>,
    /// table (default), csv, xlsx or pdf.
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Where to write: a file (table, csv, xlsx; pdf with --ambito), a directory (pdf without
    /// --ambito: one file per Ambito). Table and csv go to standard output without it.
    #[arg(long)]
    pub output: Option<std::path::PathBuf>,
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

/// A file name part from an Ambito: lower case ASCII letters and digits, `-` between words.
fn slug(name: &str) -> String {
    let folded = crate::domain::ambito::fold(name);
    let mut out = String::new();
    for c in folded.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_string()
}

/// An empty month for one Ambito (its PDF says so rather than not existing).
fn empty_row(ambito: Ambito) -> ReportRow {
    ReportRow {
        ambito: Some(ambito.name().to_string()),
        requests: 0,
        interventions_done: 0,
        hours_unverified: 0.0,
        hours_verified: None,
        hours_disputed: None,
        languages: vec![],
        late_cancellations: 0,
        no_shows: 0,
        no_shows_family: 0,
        no_shows_mediator: 0,
        median_minutes_to_assignment: None,
        p90_minutes_to_assignment: None,
        escalations: 0,
        evaluations: 0,
        evaluation_average: None,
        comments: vec![],
        criteria_averages: vec![],
    }
}

pub async fn report(ctx: &Ctx, a: ReportArgs) -> anyhow::Result<()> {
    // Every argument is checked before the store is read or anything is written.
    let format: ReportFormat = if ctx.json {
        ReportFormat::Json
    } else {
        a.format.parse()?
    };
    let tz = ctx.config.intake.timezone;
    month_range(&a.month, tz)?;
    let only = a.ambito.as_deref().map(Ambito::parse).transpose()?;
    let lang = ctx.config.intake.language;
    let cooperative = ctx.config.report.cooperative_name.trim().to_string();
    match format {
        ReportFormat::Xlsx | ReportFormat::Pdf if a.output.is_none() => {
            anyhow::bail!("--format {} needs --output", a.format.trim().to_lowercase())
        }
        ReportFormat::Pdf if cooperative.is_empty() => {
            anyhow::bail!(
                "--format pdf needs the cooperative's name: set [report] cooperative_name in the configuration"
            )
        }
        _ => {}
    }
    let store = ctx.store().await?;
    let rows = monthly_report(&store, &a.month, only, tz).await?;
    let write = |path: &std::path::Path, bytes: &[u8]| {
        std::fs::write(path, bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    };
    match (format, a.output.as_deref()) {
        (ReportFormat::Xlsx, Some(path)) => {
            write(path, &report_model::xlsx::xlsx(&rows, lang, &a.month)?)?;
        }
        (ReportFormat::Pdf, Some(path)) => {
            let rows = match (only, rows.is_empty()) {
                (Some(amb), true) => vec![empty_row(amb)],
                _ => rows,
            };
            if rows.is_empty() {
                anyhow::bail!("no requests in {}: no PDF written", a.month);
            }
            let mut files = vec![];
            for r in &rows {
                let bytes = report_model::pdf::pdf(r, lang, &a.month, &cooperative)?;
                let name = report_model::ambito_name(lang, r);
                files.push((name, bytes));
            }
            if only.is_some() {
                // One Ambito: one row, one file at the path given.
                if let Some((_, bytes)) = files.first() {
                    write(path, bytes)?;
                }
            } else {
                std::fs::create_dir_all(path)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
                for (name, bytes) in &files {
                    let file = path.join(format!("connecting-{}-{}.pdf", a.month, slug(name)));
                    write(&file, bytes)?;
                    println!("{}", file.display());
                }
            }
        }
        (_, Some(path)) => write(path, render_report(&rows, format, lang).as_bytes())?,
        (_, None) => print!("{}", render_report(&rows, format, lang)),
    }
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
