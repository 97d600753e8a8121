//! `connecting mediator|operator|coordinator ...` and `connecting invite ...`: the people
//! connecting knows, added one by one or imported from CSV.

use anyhow::{Context as _, anyhow, bail};
use chrono::Utc;
use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

use super::Ctx;
use super::table::{opt, render_in};
use crate::app::people::{self, Kind, MediatorInput, OperatorInput};
use crate::authz::Actor;
use crate::config::Lang;
use crate::domain::PersonKind;
use crate::prompts::t;
use crate::store::{Mediator, NewCoordinator, NewMediator, NewOperator, Operator, Store};

#[derive(Debug, Subcommand)]
pub enum MediatorCmd {
    /// Add a mediator.
    Add(MediatorAdd),
    /// List mediators.
    List,
    /// Import mediators from a CSV file (header: name,languages,ambiti,phone,telegram_id,gender,availability,email).
    Import { file: PathBuf },
}

#[derive(Debug, Args)]
pub struct MediatorAdd {
    #[arg(long)]
    pub name: String,
    /// Language codes, comma-separated (ar,fr,ary).
    #[arg(long)]
    pub languages: String,
    /// Ambiti served, comma-separated (Dalmine,Seriate).
    #[arg(long)]
    pub ambiti: String,
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long)]
    pub telegram_id: Option<i64>,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long, value_parser = ["f", "m"])]
    pub gender: Option<String>,
    /// Weekly availability, e.g. "lun-ven 08:00-18:00"; without it, available at any time.
    #[arg(long)]
    pub availability: Option<String>,
    /// The mediator agrees that requesters get their phone number.
    #[arg(long)]
    pub share_phone: bool,
}

#[derive(Debug, Subcommand)]
pub enum OperatorCmd {
    /// Add an operator (social worker).
    Add(OperatorAdd),
    /// List operators.
    List,
    /// Import operators from a CSV file (header: name,email,ente,ambito,phone,telegram_id).
    Import { file: PathBuf },
}

#[derive(Debug, Args)]
pub struct OperatorAdd {
    #[arg(long)]
    pub name: String,
    #[arg(long)]
    pub email: String,
    #[arg(long)]
    pub ente: String,
    #[arg(long)]
    pub ambito: String,
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long)]
    pub telegram_id: Option<i64>,
}

#[derive(Debug, Subcommand)]
pub enum CoordinatorCmd {
    /// Add a coordinator.
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        telegram_id: Option<i64>,
        #[arg(long)]
        email: Option<String>,
    },
    /// List coordinators.
    List,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InviteKind {
    Operator,
    Mediator,
    Coordinator,
}

#[derive(Debug, Args)]
pub struct InviteArgs {
    /// Who the code is for.
    #[arg(value_enum)]
    pub kind: InviteKind,
    /// The person's id (see `connecting operator|mediator|coordinator list`).
    #[arg(long)]
    pub id: i64,
    /// Days the code stays valid (default: telegram.invite_ttl_days, 7).
    #[arg(long)]
    pub days: Option<u32>,
    /// The bot's username for the t.me link (default: telegram.bot_username).
    #[arg(long)]
    pub bot: Option<String>,
}

fn new_mediator(a: MediatorAdd) -> anyhow::Result<NewMediator> {
    Ok(MediatorInput {
        name: a.name,
        languages: a.languages,
        ambiti: a.ambiti,
        phone: a.phone,
        email: a.email,
        telegram_id: a.telegram_id.map(|i| i.to_string()),
        gender: a.gender,
        availability: a.availability,
        share_phone: a.share_phone,
    }
    .check()?)
}

fn new_operator(a: OperatorAdd) -> anyhow::Result<NewOperator> {
    Ok(OperatorInput {
        name: a.name,
        email: a.email,
        ente: a.ente,
        ambito: a.ambito,
        phone: a.phone,
        telegram_id: a.telegram_id.map(|i| i.to_string()),
    }
    .check()?)
}

fn nonempty(s: String, what: &str) -> anyhow::Result<String> {
    let t = s.trim();
    if t.is_empty() {
        bail!("{what} is empty");
    }
    Ok(t.to_string())
}

fn mediator_rows(lang: Lang, ms: &[Mediator]) -> Vec<Vec<String>> {
    ms.iter()
        .map(|m| {
            vec![
                m.id.to_string(),
                m.name.clone(),
                m.languages
                    .iter()
                    .map(|l| crate::vocab::language(lang, l.as_str()))
                    .collect::<Vec<_>>()
                    .join(", "),
                m.ambiti
                    .iter()
                    .map(|a| a.name())
                    .collect::<Vec<_>>()
                    .join(", "),
                opt(&m.telegram_id),
                m.gender
                    .map(|g| crate::vocab::gender(lang, g))
                    .unwrap_or_else(|| "-".into()),
                m.availability
                    .clone()
                    .unwrap_or_else(|| t(lang, "cli.availability_always", &[])),
                t(
                    lang,
                    if !m.active {
                        "cli.mediator_inactive"
                    } else if m.paused {
                        "cli.mediator_paused"
                    } else {
                        "cli.mediator_active"
                    },
                    &[],
                ),
            ]
        })
        .collect()
}

fn operator_rows(os: &[Operator]) -> Vec<Vec<String>> {
    os.iter()
        .map(|o| {
            vec![
                o.id.to_string(),
                o.name.clone(),
                opt(&o.email),
                o.ente.clone(),
                o.ambito.name().to_string(),
                opt(&o.telegram_id),
            ]
        })
        .collect()
}

fn print_json<T: serde::Serialize>(v: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

const MEDIATOR_HEADER: [&str; 8] = [
    "id",
    "name",
    "languages",
    "ambiti",
    "telegram",
    "gender",
    "availability",
    "status",
];
const OPERATOR_HEADER: [&str; 6] = ["id", "name", "email", "ente", "ambito", "telegram"];

pub async fn mediator(ctx: &Ctx, cmd: MediatorCmd) -> anyhow::Result<()> {
    let lang = ctx.config.intake.language;
    match cmd {
        MediatorCmd::Add(a) => {
            let m = new_mediator(a)?;
            let store = ctx.store().await?;
            let saved = store.add_mediator(&m, Utc::now()).await?;
            if ctx.json {
                print_json(&saved)
            } else {
                print!(
                    "{}",
                    render_in(lang, &MEDIATOR_HEADER, &mediator_rows(lang, &[saved]), "")
                );
                Ok(())
            }
        }
        MediatorCmd::List => {
            let ms = ctx.store().await?.mediators().await?;
            if ctx.json {
                print_json(&ms)
            } else {
                print!(
                    "{}",
                    render_in(
                        lang,
                        &MEDIATOR_HEADER,
                        &mediator_rows(lang, &ms),
                        &t(lang, "cli.empty", &[])
                    )
                );
                Ok(())
            }
        }
        MediatorCmd::Import { file } => {
            let store = ctx.store().await?;
            let n = import(&store, &file, lang, Kind::Mediators).await?;
            report_import(ctx, &file, n)
        }
    }
}

pub async fn operator(ctx: &Ctx, cmd: OperatorCmd) -> anyhow::Result<()> {
    let lang = ctx.config.intake.language;
    match cmd {
        OperatorCmd::Add(a) => {
            let o = new_operator(a)?;
            let saved = ctx.store().await?.add_operator(&o, Utc::now()).await?;
            if ctx.json {
                print_json(&saved)
            } else {
                print!(
                    "{}",
                    render_in(lang, &OPERATOR_HEADER, &operator_rows(&[saved]), "")
                );
                Ok(())
            }
        }
        OperatorCmd::List => {
            let os = ctx.store().await?.operators().await?;
            if ctx.json {
                print_json(&os)
            } else {
                print!(
                    "{}",
                    render_in(
                        lang,
                        &OPERATOR_HEADER,
                        &operator_rows(&os),
                        &t(lang, "cli.empty", &[])
                    )
                );
                Ok(())
            }
        }
        OperatorCmd::Import { file } => {
            let store = ctx.store().await?;
            let n = import(&store, &file, lang, Kind::Operators).await?;
            report_import(ctx, &file, n)
        }
    }
}

/// Imports a CSV of `what` ("mediators" or "operators") into `store` (used by the demo).
pub async fn import_file(
    store: &Store,
    file: &std::path::Path,
    lang: crate::config::Lang,
    what: &str,
) -> anyhow::Result<usize> {
    let kind = if what == "mediators" {
        Kind::Mediators
    } else {
        Kind::Operators
    };
    import(store, file, lang, kind).await
}

pub async fn coordinator(ctx: &Ctx, cmd: CoordinatorCmd) -> anyhow::Result<()> {
    let store = ctx.store().await?;
    let list = match cmd {
        CoordinatorCmd::Add {
            name,
            telegram_id,
            email,
        } => {
            vec![
                store
                    .add_coordinator(
                        &NewCoordinator {
                            name: nonempty(name, "--name")?,
                            telegram_id,
                            email,
                        },
                        Utc::now(),
                    )
                    .await?,
            ]
        }
        CoordinatorCmd::List => store.coordinators().await?,
    };
    if ctx.json {
        return print_json(&list);
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|c| {
            vec![
                c.id.to_string(),
                c.name.clone(),
                opt(&c.telegram_id),
                opt(&c.email),
            ]
        })
        .collect();
    print!(
        "{}",
        render_in(
            ctx.config.intake.language,
            &["id", "name", "telegram", "email"],
            &rows,
            &t(ctx.config.intake.language, "cli.empty", &[])
        )
    );
    Ok(())
}

pub async fn invite(ctx: &Ctx, a: InviteArgs) -> anyhow::Result<()> {
    let lang = ctx.config.intake.language;
    let kind = match a.kind {
        InviteKind::Operator => PersonKind::Operator,
        InviteKind::Mediator => PersonKind::Mediator,
        InviteKind::Coordinator => PersonKind::Coordinator,
    };
    let days = a
        .days
        .or(ctx.config.telegram.as_ref().map(|t| t.invite_ttl_days))
        .unwrap_or(7);
    if days == 0 {
        bail!("--days must be at least 1");
    }
    let store = ctx.store().await?;
    let name = match kind {
        PersonKind::Operator => store.operator(a.id).await?.name,
        PersonKind::Mediator => store.mediator(a.id).await?.name,
        PersonKind::Coordinator => store
            .coordinators()
            .await?
            .into_iter()
            .find(|c| c.id == a.id)
            .map(|c| c.name)
            .ok_or_else(|| anyhow!("coordinator {} not found", a.id))?,
    };
    let now = Utc::now();
    let expires = now + chrono::Duration::days(i64::from(days));
    let code = store
        .create_invite(kind, a.id, now, chrono::Duration::days(i64::from(days)))
        .await?;
    let bot = a.bot.or_else(|| {
        ctx.config
            .telegram
            .as_ref()
            .and_then(|t| t.bot_username.clone())
    });
    let link = bot.map(|b| format!("https://t.me/{}?start={code}", b.trim_start_matches('@')));
    if ctx.json {
        return print_json(&serde_json::json!({
            "kind": kind.as_str(), "person_id": a.id, "code": code,
            "expires_at": expires.to_rfc3339(), "link": link,
        }));
    }
    let expires_local = expires
        .with_timezone(&ctx.config.intake.timezone)
        .format("%d/%m/%Y %H:%M")
        .to_string();
    println!(
        "{}",
        t(
            lang,
            "cli.invite_created",
            &[
                ("kind", kind.as_str()),
                ("name", &name),
                ("code", &code),
                ("expires", &expires_local)
            ]
        )
    );
    match link {
        Some(l) => println!("{}", t(lang, "cli.invite_link", &[("link", &l)])),
        None => println!("{}", t(lang, "cli.invite_no_link", &[])),
    }
    Ok(())
}

/// Reads every row first (`app::people::read_csv`); if any row is invalid nothing is imported
/// and each bad row is named. The rows are written in one transaction.
async fn import(
    store: &Store,
    file: &std::path::Path,
    lang: crate::config::Lang,
    kind: Kind,
) -> anyhow::Result<usize> {
    let shown = file.display().to_string();
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {shown}"))?;
    let people = people::read_csv(kind, &bytes).map_err(|e| {
        let reasons: Vec<String> = e
            .words(lang)
            .into_iter()
            .map(|reason| {
                t(
                    lang,
                    "cli.import_row_error",
                    &[("file", &shown), ("reason", &reason)],
                )
            })
            .collect();
        anyhow!("{}", reasons.join("; "))
    })?;
    let mut tx = store.begin().await?;
    let n = people::import(&mut tx, &Actor::Cli, &people, Utc::now()).await?;
    tx.commit().await?;
    Ok(n)
}

fn report_import(ctx: &Ctx, file: &std::path::Path, n: usize) -> anyhow::Result<()> {
    if ctx.json {
        return print_json(&serde_json::json!({ "imported": n }));
    }
    println!(
        "{}",
        t(
            ctx.config.intake.language,
            "cli.imported",
            &[
                ("count", &n.to_string()),
                ("file", &file.display().to_string())
            ]
        )
    );
    Ok(())
}
