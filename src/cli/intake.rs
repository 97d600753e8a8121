//! `connecting ingest PATH...`, `connecting quarantine list|retry ID` and `connecting demo`:
//! requests from files, through the same pipeline as the live channels.

use anyhow::{Context as _, bail};
use chrono::Utc;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

use super::Ctx;
use super::table::{opt, render};
use crate::channels::email::{self, IngestReport};
use crate::config::Config;
use crate::dispatch::WaveOutcome;
use crate::domain::{Channel, RequestStatus};
use crate::extract::{self, Context};
use crate::prompts::t;
use crate::store::{Request, RequestFilter, Store};

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// .eml files, Maildirs or directories (every .eml below); .txt files are read as chat texts.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum QuarantineCmd {
    /// Messages that could not be read, kept aside.
    List,
    /// Process a quarantined message again.
    Retry { id: i64 },
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Folder with mediators.csv, operators.csv and requests/.
    #[arg(long, default_value = "examples")]
    pub examples: PathBuf,
    /// SQLite file for the demo queue (recreated on each run).
    #[arg(long, default_value = "connecting-demo.db")]
    pub db: PathBuf,
}

pub use crate::daemon::email_intake_config as intake_config;

/// A chat-style text file becomes a request the way a Telegram message would.
async fn ingest_text(store: &Store, cfg: &Config, path: &Path) -> anyhow::Result<Request> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let now = Utc::now();
    let mut ctx = Context::new(now, Channel::Cli);
    ctx.tz = cfg.intake.timezone;
    ctx.min_notice_hours = cfg.intake.min_notice_hours;
    let draft = extract::extract(&text, &ctx);
    let mut fields = crate::intake::fields_from_draft(&draft, ctx.tz);
    fields.channel = Some(Channel::Cli);
    fields.subject = path.file_name().map(|n| n.to_string_lossy().to_string());
    Ok(store.create_request(&fields, now).await?)
}

fn split_paths(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut mail = Vec::new();
    let mut texts = Vec::new();
    for p in paths {
        if p.is_dir() {
            if let Ok(rd) = std::fs::read_dir(p) {
                let mut entries: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
                entries.sort();
                texts.extend(
                    entries
                        .iter()
                        .filter(|e| e.extension().is_some_and(|x| x == "txt"))
                        .cloned(),
                );
            }
            mail.push(p.clone());
        } else if p.extension().is_some_and(|x| x == "txt") {
            texts.push(p.clone());
        } else {
            mail.push(p.clone());
        }
    }
    (mail, texts)
}

async fn ingest_all(
    store: &Store,
    cfg: &Config,
    paths: &[PathBuf],
) -> anyhow::Result<(IngestReport, usize)> {
    let (mail, texts) = split_paths(paths);
    let report = if mail.is_empty() {
        IngestReport::default()
    } else {
        email::ingest_paths(store, &intake_config(cfg), &mail).await?
    };
    for t in &texts {
        ingest_text(store, cfg, t).await?;
    }
    Ok((report, texts.len()))
}

pub async fn ingest(ctx: &Ctx, a: IngestArgs) -> anyhow::Result<()> {
    for p in &a.paths {
        if !p.exists() {
            bail!("{} does not exist", p.display());
        }
    }
    let store = ctx.store().await?;
    let (r, texts) = ingest_all(&store, &ctx.config, &a.paths).await?;
    let unreadable: Vec<String> = r
        .unreadable
        .iter()
        .map(|(p, e)| format!("{}: {e}", p.display()))
        .collect();
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({
                "emails": r.files, "texts": texts, "created": r.created + texts, "updated": r.updated,
                "cancelled": r.cancelled, "held": r.held, "refused": r.refused, "recorded": r.recorded, "duplicates": r.duplicates,
                "quarantined": r.quarantined, "oversized": r.oversized, "unreadable": unreadable,
            })
        );
    } else {
        let rows = vec![
            vec!["email lette".into(), r.files.to_string()],
            vec!["testi letti".into(), texts.to_string()],
            vec!["richieste nuove".into(), (r.created + texts).to_string()],
            vec!["richieste aggiornate".into(), r.updated.to_string()],
            vec!["annullamenti".into(), r.cancelled.to_string()],
            vec![
                "in revisione (mittente sconosciuto)".into(),
                r.held.to_string(),
            ],
            vec![
                "rifiutate (richiesta di un altro mittente)".into(),
                r.refused.to_string(),
            ],
            vec![
                "registrate senza risposta (automatiche, ricevute)".into(),
                r.recorded.to_string(),
            ],
            vec!["già presenti".into(), r.duplicates.to_string()],
            vec!["in quarantena".into(), r.quarantined.to_string()],
            vec!["troppo grandi".into(), r.oversized.to_string()],
        ];
        print!("{}", render(&["", "n."], &rows, ""));
        for u in &unreadable {
            eprintln!("non leggibile: {u}");
        }
    }
    Ok(())
}

pub async fn quarantine(ctx: &Ctx, cmd: QuarantineCmd) -> anyhow::Result<()> {
    let store = ctx.store().await?;
    match cmd {
        QuarantineCmd::List => {
            let list = email::quarantine_list(&store).await?;
            if ctx.json {
                let v: Vec<_> = list
                    .iter()
                    .map(|m| serde_json::json!({"id": m.id, "external_id": m.external_id, "size_bytes": m.size_bytes, "error": m.error, "received_at": m.received_at}))
                    .collect();
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|m| {
                        vec![
                            m.id.to_string(),
                            crate::store::from_ts(m.received_at)
                                .with_timezone(&ctx.config.intake.timezone)
                                .format("%d/%m/%Y %H:%M")
                                .to_string(),
                            m.size_bytes.to_string(),
                            opt(&m.error),
                        ]
                    })
                    .collect();
                print!(
                    "{}",
                    render(
                        &["id", "ricevuto", "byte", "errore"],
                        &rows,
                        &t(ctx.config.intake.language, "cli.empty", &[])
                    )
                );
            }
            Ok(())
        }
        QuarantineCmd::Retry { id } => {
            let outcome = email::quarantine_retry(&store, &intake_config(&ctx.config), id).await?;
            println!("{outcome:?}");
            Ok(())
        }
    }
}

/// The demo: a fresh SQLite queue, the example mediators and operators, the example requests
/// through the real pipeline, one dispatch round; then the queue as a coordinator sees it.
pub async fn demo(ctx: &Ctx, a: DemoArgs) -> anyhow::Result<()> {
    let requests = a.examples.join("requests");
    if !requests.is_dir() {
        bail!(
            "{} not found: run from the project folder or pass --examples DIR",
            requests.display()
        );
    }
    for suffix in ["", "-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{suffix}", a.db.display()));
        if p.exists() {
            std::fs::remove_file(&p)
                .with_context(|| format!("cannot remove old demo file {}", p.display()))?;
        }
    }
    let mut cfg = ctx.config.clone();
    cfg.database.url = format!("sqlite://{}", a.db.display());
    let store = Store::open(&cfg.database.url).await?;
    let sub = Ctx {
        config: cfg.clone(),
        json: true,
        config_file: ctx.config_file.clone(),
    };
    for (what, file) in [
        ("mediators", "mediators.csv"),
        ("operators", "operators.csv"),
    ] {
        let path = a.examples.join(file);
        if path.exists() {
            let n = super::people::import_file(&store, &path, cfg.intake.language, what).await?;
            eprintln!("{n} {what} importati da {}", path.display());
        }
    }
    let (report, texts) = ingest_all(&store, &cfg, &[requests]).await?;
    eprintln!(
        "{} email e {} testi letti: {} richieste create, {} in revisione, {} registrate senza risposta",
        report.files,
        texts,
        report.created + texts,
        report.held,
        report.recorded
    );
    let dispatcher = super::requests::dispatcher(&sub, store.clone());
    let queued = store
        .requests(&RequestFilter {
            status: Some(RequestStatus::Queued),
            ..Default::default()
        })
        .await?;
    let mut offered = std::collections::HashMap::new();
    for r in &queued {
        match dispatcher.dispatch(r.code).await? {
            WaveOutcome::Offered { mediators, .. } => {
                offered.insert(r.code, format!("offerta a {}", mediators.len()));
            }
            WaveOutcome::Escalated(reason) => {
                offered.insert(r.code, format!("al coordinatore: {}", reason.as_str()));
            }
            WaveOutcome::Nothing => {}
        }
    }
    let all = store.requests(&RequestFilter::default()).await?;
    let (pending, _) = store.outbox_depth(Utc::now()).await?;
    if ctx.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    let rows: Vec<Vec<String>> = all
        .iter()
        .rev()
        .map(|r| {
            let warnings = r
                .draft
                .as_ref()
                .and_then(|d| d.get("warnings"))
                .and_then(|w| w.as_array())
                .map(|w| {
                    w.iter()
                        .filter_map(|x| x.get("code").and_then(|c| c.as_str()))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| "-".into());
            vec![
                r.code.to_string(),
                r.channel.to_string(),
                r.status.to_string(),
                opt(&r.language),
                opt(&r.intervention),
                super::requests::when(r),
                opt(&r.comune),
                if r.missing.is_empty() {
                    "-".into()
                } else {
                    r.missing.join(",")
                },
                warnings,
                offered.get(&r.code).cloned().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    print!(
        "{}",
        render(
            &[
                "codice",
                "canale",
                "stato",
                "lingua",
                "intervento",
                "quando",
                "comune",
                "mancano",
                "avvisi",
                "dispatch"
            ],
            &rows,
            ""
        )
    );
    println!(
        "\n{pending} messaggi in attesa nell'outbox (conferme, domande, offerte): li invia `connecting run` quando Telegram e SMTP sono configurati."
    );
    println!(
        "Coda salvata in {}: CONNECTING_DATABASE_URL=sqlite://{} connecting request show CODICE",
        a.db.display(),
        a.db.display()
    );
    Ok(())
}
