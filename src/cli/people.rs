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
use crate::store::{Mediator, NewMediator, NewOperator, Operator, Store};

#[derive(Debug, Subcommand)]
pub enum MediatorCmd {
    /// Add a mediator.
    Add(MediatorAdd),
    /// List mediators.
    List,
    /// Import mediators from a CSV file (header: name,languages,ambiti,phone,telegram_id,gender,availability,email,language).
    Import { file: PathBuf },
    /// Remove a mediator from service (their history stays; their Telegram menu goes back to /start).
    Remove {
        #[arg(long)]
        id: i64,
    },
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
    /// The language they read (it, en); without it, `[intake] language`.
    #[arg(long, value_parser = ["it", "en"])]
    pub language: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum OperatorCmd {
    /// Add an operator (social worker).
    Add(OperatorAdd),
    /// List operators.
    List,
    /// Import operators from a CSV file (header: name,email,ente,ambito,phone,telegram_id,language).
    Import { file: PathBuf },
    /// Remove an operator (their requests stay; their Telegram menu goes back to /start).
    Remove {
        #[arg(long)]
        id: i64,
    },
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
    /// The language they read (it, en); without it, `[intake] language`.
    #[arg(long, value_parser = ["it", "en"])]
    pub language: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CoordinatorCmd {
    /// Add a coordinator (a Telegram id already an operator's or a mediator's makes that
    /// account a coordinator's: its menu follows).
    Add {
        #[arg(long)]
        name: String,
        #[arg(long)]
        telegram_id: Option<i64>,
        #[arg(long)]
        email: Option<String>,
        /// The language they read (it, en); without it, `[intake] language`.
        #[arg(long, value_parser = ["it", "en"])]
        language: Option<String>,
    },
    /// List coordinators.
    List,
    /// Remove a coordinator from service (their name stays in the history; their Telegram
    /// account is freed and its menu goes back to /start, or to the role it still has). The
    /// last coordinator is not removed.
    Remove {
        #[arg(long)]
        id: i64,
    },
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

/// A person's language as given (`--language`, the CSV's `language` column): `it` or `en`.
fn language_of(s: Option<&str>, what: &str) -> anyhow::Result<Option<Lang>> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(code) => match code.to_ascii_lowercase().as_str() {
            "it" => Ok(Some(Lang::It)),
            "en" => Ok(Some(Lang::En)),
            _ => bail!("{what} {code:?} is not a language we write in: it or en"),
        },
    }
}

/// Stores a new person's language, then queues their Telegram menu (their role's commands in
/// their language) when they have an account linked.
async fn settle(
    store: &Store,
    kind: PersonKind,
    id: i64,
    lang: Option<Lang>,
    telegram_id: Option<i64>,
    default: Lang,
) -> anyhow::Result<()> {
    if lang.is_some() {
        store.set_language(kind, id, lang).await?;
    }
    if let Some(tg) = telegram_id {
        refresh_menu(store, tg, default).await?;
    }
    Ok(())
}

/// Queues the menu of Telegram account `telegram_id` as who it is now (`app::menu`).
async fn refresh_menu(store: &Store, telegram_id: i64, default: Lang) -> anyhow::Result<()> {
    let mut tx = store.begin().await?;
    crate::app::menu::refresh(&mut tx, telegram_id, default, Utc::now()).await?;
    tx.commit().await?;
    Ok(())
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
            let language = language_of(a.language.as_deref(), "--language")?;
            let m = new_mediator(a)?;
            let store = ctx.store().await?;
            let saved = store.add_mediator(&m, Utc::now()).await?;
            settle(
                &store,
                PersonKind::Mediator,
                saved.id,
                language,
                saved.telegram_id,
                lang,
            )
            .await?;
            let saved = store.mediator(saved.id).await?;
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
        MediatorCmd::Remove { id } => {
            let store = ctx.store().await?;
            let m = store.mediator(id).await?;
            store.set_mediator_active(id, false).await?;
            if let Some(tg) = m.telegram_id {
                refresh_menu(&store, tg, lang).await?;
            }
            removed(ctx, "mediator", id, &m.name)
        }
    }
}

pub async fn operator(ctx: &Ctx, cmd: OperatorCmd) -> anyhow::Result<()> {
    let lang = ctx.config.intake.language;
    match cmd {
        OperatorCmd::Add(a) => {
            let language = language_of(a.language.as_deref(), "--language")?;
            let o = new_operator(a)?;
            let store = ctx.store().await?;
            let saved = store.add_operator(&o, Utc::now()).await?;
            settle(
                &store,
                PersonKind::Operator,
                saved.id,
                language,
                saved.telegram_id,
                lang,
            )
            .await?;
            let saved = store.operator(saved.id).await?;
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
        OperatorCmd::Remove { id } => {
            let store = ctx.store().await?;
            let o = store.operator(id).await?;
            store.set_operator_active(id, false).await?;
            if let Some(tg) = o.telegram_id {
                refresh_menu(&store, tg, lang).await?;
            }
            removed(ctx, "operator", id, &o.name)
        }
    }
}

/// What `remove` says: who is out of service.
fn removed(ctx: &Ctx, kind: &str, id: i64, name: &str) -> anyhow::Result<()> {
    if ctx.json {
        return print_json(&serde_json::json!({ "kind": kind, "id": id, "active": false }));
    }
    println!(
        "{}",
        t(
            ctx.config.intake.language,
            &format!("cli.{kind}_removed"),
            &[("id", &id.to_string()), ("name", name)]
        )
    );
    Ok(())
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
    let lang = ctx.config.intake.language;
    let list = match cmd {
        CoordinatorCmd::Add {
            name,
            telegram_id,
            email,
            language,
        } => {
            let language = language_of(language.as_deref(), "--language")?;
            let c = people::CoordinatorInput {
                name,
                telegram_id: telegram_id.map(|i| i.to_string()),
                email,
            }
            .check()?;
            let mut tx = store.begin().await?;
            let id = people::add(
                &mut tx,
                &Actor::Cli,
                &people::NewPerson::Coordinator(c, language),
                lang,
                Utc::now(),
            )
            .await?;
            tx.commit().await?;
            vec![store.coordinator(id).await?]
        }
        CoordinatorCmd::List => store.coordinators().await?,
        CoordinatorCmd::Remove { id } => {
            let c = store.coordinator(id).await?;
            let mut tx = store.begin().await?;
            people::remove_coordinator(&mut tx, &Actor::Cli, id, lang, Utc::now()).await?;
            tx.commit().await?;
            return removed(ctx, "coordinator", id, &c.name);
        }
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
    let n = people::import(&mut tx, &Actor::Cli, &people, lang, Utc::now()).await?;
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
