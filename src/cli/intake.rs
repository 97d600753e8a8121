//! `connecting ingest PATH...`, `connecting quarantine list|retry ID` and `connecting demo`:
//! requests from files, through the same pipeline as the live channels.

use anyhow::{Context as _, bail};
use chrono::Utc;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

use super::Ctx;
use super::table::{opt, render, render_in};
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
    /// Then serve the web console on this machine (127.0.0.1) and print a login link.
    #[arg(long)]
    pub serve: bool,
    /// The console's port with --serve.
    #[arg(long, default_value_t = 8090)]
    pub port: u16,
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
    let core = crate::renderers::core(crate::daemon::dispatch_settings(cfg));
    let mut tx = store.begin().await?;
    let r = crate::app::create::from_draft(&core, &mut tx, &crate::authz::Actor::Cli, &fields, now)
        .await?;
    tx.commit().await?;
    Ok(r)
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
        email::ingest_paths(
            store,
            &intake_config(cfg),
            &mail,
            crate::renderers::channels(),
        )
        .await?
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
        let lang = ctx.config.intake.language;
        let rows: Vec<Vec<String>> = [
            ("emails", r.files),
            ("texts", texts),
            ("created", r.created + texts),
            ("updated", r.updated),
            ("cancelled", r.cancelled),
            ("held", r.held),
            ("refused", r.refused),
            ("recorded", r.recorded),
            ("duplicates", r.duplicates),
            ("quarantined", r.quarantined),
            ("oversized", r.oversized),
        ]
        .into_iter()
        .map(|(k, n)| vec![t(lang, &format!("cli.ingest_{k}"), &[]), n.to_string()])
        .collect();
        print!(
            "{}",
            render(&["", &t(lang, "cli.col_count", &[])], &rows, "")
        );
        for (p, e) in &r.unreadable {
            let file = p.display().to_string();
            let error = e.to_string();
            eprintln!(
                "{}",
                t(
                    lang,
                    "cli.ingest_unreadable",
                    &[("file", &file), ("error", &error)]
                )
            );
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
            let outcome = email::quarantine_retry(
                &store,
                &intake_config(&ctx.config),
                id,
                crate::renderers::channels(),
            )
            .await?;
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
            "{}",
            t(
                ctx.config.intake.language,
                "cli.demo_no_examples",
                &[("dir", &requests.display().to_string())]
            )
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
    let lang = cfg.intake.language;
    for (what, file) in [
        ("mediators", "mediators.csv"),
        ("operators", "operators.csv"),
    ] {
        let path = a.examples.join(file);
        if path.exists() {
            let n = super::people::import_file(&store, &path, lang, what).await?;
            let kind = t(lang, &format!("cli.kind_{what}"), &[]);
            eprintln!(
                "{}",
                t(
                    lang,
                    "cli.demo_imported",
                    &[
                        ("count", &n.to_string()),
                        ("kind", &kind),
                        ("file", &path.display().to_string())
                    ]
                )
            );
        }
    }
    let (report, texts) = ingest_all(&store, &cfg, &[requests]).await?;
    eprintln!(
        "{}",
        t(
            lang,
            "cli.demo_read",
            &[
                ("emails", &report.files.to_string()),
                ("texts", &texts.to_string()),
                ("created", &(report.created + texts).to_string()),
                ("held", &report.held.to_string()),
                ("recorded", &report.recorded.to_string()),
            ]
        )
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
                let count = mediators.len().to_string();
                offered.insert(r.code, t(lang, "cli.demo_offered", &[("count", &count)]));
            }
            WaveOutcome::Escalated(reason) => {
                let reason = crate::vocab::escalation(lang, reason.as_str());
                offered.insert(
                    r.code,
                    t(lang, "cli.demo_escalated", &[("reason", &reason)]),
                );
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
            let warnings = warnings_in(r);
            let w = super::requests::Words::of(lang, r);
            vec![
                r.code.to_string(),
                w.channel,
                w.status,
                w.language,
                w.intervention,
                super::requests::when(lang, r),
                opt(&r.comune),
                w.missing,
                warnings,
                offered.get(&r.code).cloned().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    print!(
        "{}",
        render_in(
            lang,
            &[
                "code",
                "channel",
                "status",
                "language",
                "intervention",
                "when",
                "comune",
                "missing",
                "warnings",
                "dispatch"
            ],
            &rows,
            ""
        )
    );
    println!(
        "\n{}",
        t(lang, "cli.demo_outbox", &[("count", &pending.to_string())])
    );
    println!(
        "{}",
        t(
            lang,
            "cli.demo_saved",
            &[("file", &a.db.display().to_string())]
        )
    );
    if a.serve {
        serve_demo(&store, &cfg, dispatcher, a.port).await?;
    }
    Ok(())
}

/// `demo --serve`: the console on loopback over the demo queue, with a demo coordinator and a
/// printed login link; until Ctrl-C.
async fn serve_demo(
    store: &Store,
    cfg: &Config,
    dispatcher: crate::dispatch::Dispatcher,
    port: u16,
) -> anyhow::Result<()> {
    let lang = cfg.intake.language;
    let base = format!("http://127.0.0.1:{port}");
    let mut cfg = cfg.clone();
    cfg.web = Some(crate::config::WebConfig {
        public_url: base.clone(),
        listen: None,
        session_minutes: 60,
    });
    let coordinator = store
        .add_coordinator(
            &crate::store::NewCoordinator {
                name: t(lang, "cli.demo_coordinator", &[]),
                telegram_id: None,
                email: None,
            },
            Utc::now(),
        )
        .await?;
    let clock: std::sync::Arc<dyn crate::clock::Clock> =
        std::sync::Arc::new(crate::clock::SystemClock);
    let Some(state) = crate::web::WebState::new(store.clone(), dispatcher, clock, &cfg) else {
        return Ok(());
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{port} (pass --port)"))?;
    let token = store
        .issue_console_link(
            crate::store::ConsoleRole::Coordinator,
            coordinator.id,
            Utc::now(),
        )
        .await?
        .context("no link")?;
    println!(
        "\n{}",
        t(
            lang,
            "cli.demo_serving",
            &[("link", &format!("{base}/login/{token}"))]
        )
    );
    axum::serve(listener, crate::web::router(state))
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// The extractor's warnings on a request, as sentences (the extractor writes them when it reads
/// the request).
fn warnings_in(r: &Request) -> String {
    let texts: Vec<&str> = r
        .draft
        .as_ref()
        .and_then(|d| d.get("warnings"))
        .and_then(|w| w.as_array())
        .map(|w| {
            w.iter()
                .filter_map(|x| x.get("message").and_then(|c| c.as_str()))
                .collect()
        })
        .unwrap_or_default();
    if texts.is_empty() {
        "-".into()
    } else {
        texts.join("; ")
    }
}
