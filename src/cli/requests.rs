//! `connecting request list|show|cancel|assign`: the coordinator's view of the queue from the
//! terminal. Cancelling and assigning go through the dispatcher, so people are told.

use anyhow::Context as _;
use clap::Subcommand;
use std::sync::Arc;

use super::Ctx;
use super::table::{opt, render};
use crate::authz::{Action, Actor, RequestFacts, authorize};
use crate::clock::SystemClock;
use crate::dispatch::{Canceller, Dispatcher};
use crate::domain::{RequestCode, RequestStatus};
use crate::prompts::t;
use crate::store::{Request, RequestFilter, Store};

#[derive(Debug, Subcommand)]
pub enum RequestCmd {
    /// List requests, newest first.
    List {
        /// Only requests in this state (received, needs_info, queued, offered, assigned,
        /// confirmed, done, cancelled, escalated, expired, needs_review).
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long)]
        limit: Option<i64>,
    },
    /// Show one request with its history.
    Show { code: String },
    /// Cancel a request (the assigned mediator and open offers are told).
    Cancel { code: String },
    /// Accept or reject a request held from an unknown sender (status needs_review).
    Review {
        code: String,
        /// Accept it: it goes on and the sender gets the acknowledgement.
        #[arg(long, conflicts_with = "reject", required_unless_present = "reject")]
        accept: bool,
        /// Reject it: cancelled, nobody is written to.
        #[arg(long)]
        reject: bool,
    },
    /// Assign a request to a mediator by hand.
    Assign {
        code: String,
        #[arg(long)]
        mediator: i64,
    },
}

/// The dispatcher as the CLI uses it: the configured settings, the wall clock.
pub fn dispatcher(ctx: &Ctx, store: Store) -> Dispatcher {
    Dispatcher::new(
        store,
        Arc::new(SystemClock),
        crate::daemon::dispatch_settings(&ctx.config),
    )
}

/// The CLI acts with coordinator rights (whoever runs it holds the database); it asks the one
/// authorisation table all the same, so the rules stay in one place.
fn allowed(action: Action, r: &Request) -> anyhow::Result<()> {
    authorize(&Actor::Cli, action, &RequestFacts::of(r))
        .map_err(|d| anyhow::anyhow!("{}: not allowed ({d})", r.code))
}

/// When the appointment is (local date and time), or the deadline of a written translation.
pub(super) fn when(r: &Request) -> String {
    match (r.date, r.start_time, r.deadline) {
        (Some(d), Some(s), _) => format!("{} {}", d.format("%d/%m/%Y"), s.format("%H:%M")),
        (Some(d), None, _) => d.format("%d/%m/%Y").to_string(),
        (None, _, Some(dl)) => format!("entro {}", dl.format("%d/%m/%Y")),
        _ => "-".into(),
    }
}

fn row(r: &Request) -> Vec<String> {
    vec![
        r.code.to_string(),
        r.status.to_string(),
        r.channel.to_string(),
        opt(&r.language),
        opt(&r.intervention),
        when(r),
        opt(&r.comune),
        if r.missing.is_empty() {
            "-".into()
        } else {
            r.missing.join(",")
        },
    ]
}

const HEADER: [&str; 8] = [
    "codice",
    "stato",
    "canale",
    "lingua",
    "intervento",
    "quando",
    "comune",
    "mancano",
];

pub async fn request(ctx: &Ctx, cmd: RequestCmd) -> anyhow::Result<()> {
    let tz = ctx.config.intake.timezone;
    let lang = ctx.config.intake.language;
    match cmd {
        RequestCmd::List { status, limit } => {
            let status = status
                .as_deref()
                .map(str::parse::<RequestStatus>)
                .transpose()?;
            let store = ctx.store().await?;
            let list: Vec<Request> = store
                .requests(&RequestFilter {
                    status,
                    limit,
                    ..Default::default()
                })
                .await?
                .into_iter()
                .filter(|r| allowed(Action::See, r).is_ok())
                .collect();
            if ctx.json {
                println!("{}", serde_json::to_string_pretty(&list)?);
            } else {
                let rows: Vec<_> = list.iter().map(row).collect();
                print!("{}", render(&HEADER, &rows, &t(lang, "cli.empty", &[])));
            }
            Ok(())
        }
        RequestCmd::Show { code } => {
            let code = RequestCode::parse(&code)?;
            let store = ctx.store().await?;
            let r = store.request(code).await?;
            allowed(Action::SeeDetails, &r)?;
            store
                .audit_view(r.id, "cli", "request show", chrono::Utc::now())
                .await?;
            let trail = store.audit_trail(r.id).await?;
            if ctx.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(
                        &serde_json::json!({ "request": r, "history": trail })
                    )?
                );
                return Ok(());
            }
            let fields: Vec<Vec<String>> = vec![
                vec!["codice".into(), r.code.to_string()],
                vec!["stato".into(), r.status.to_string()],
                vec!["canale".into(), r.channel.to_string()],
                vec!["lingua".into(), opt(&r.language)],
                vec!["intervento".into(), opt(&r.intervention)],
                vec!["modalità".into(), opt(&r.modality)],
                vec!["quando".into(), when(&r)],
                vec!["durata (min)".into(), opt(&r.duration_minutes)],
                vec!["comune".into(), opt(&r.comune)],
                vec!["indirizzo".into(), opt(&r.address)],
                vec![
                    "urgente".into(),
                    if r.urgent { "sì".into() } else { "no".into() },
                ],
                vec!["richiedente".into(), opt(&r.requester_name)],
                vec!["email".into(), opt(&r.requester_email)],
                vec!["ente".into(), opt(&r.ente)],
                vec!["mediatore".into(), opt(&r.assigned_mediator_id)],
                vec!["oggetto".into(), opt(&r.subject)],
                vec!["note".into(), opt(&r.notes)],
                vec![
                    "mancano".into(),
                    if r.missing.is_empty() {
                        "-".into()
                    } else {
                        r.missing.join(", ")
                    },
                ],
            ];
            print!("{}", render(&["campo", "valore"], &fields, ""));
            println!();
            let hist: Vec<Vec<String>> = trail
                .iter()
                .map(|a| {
                    vec![
                        a.at.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string(),
                        a.actor.clone(),
                        a.action.clone(),
                        opt(&a.detail),
                    ]
                })
                .collect();
            print!(
                "{}",
                render(&["quando", "chi", "azione", "dettaglio"], &hist, "")
            );
            Ok(())
        }
        RequestCmd::Cancel { code } => {
            let code = RequestCode::parse(&code)?;
            let store = ctx.store().await?;
            allowed(Action::Cancel, &store.request(code).await?)?;
            let late = dispatcher(ctx, store.clone())
                .cancel(code, Canceller::Cli)
                .await
                .with_context(|| format!("cannot cancel {code}"))?;
            let r = store.request(code).await?;
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({ "code": code.to_string(), "status": r.status, "late": late })
                );
            } else {
                print!("{}", render(&HEADER, &[row(&r)], ""));
            }
            Ok(())
        }
        RequestCmd::Review {
            code,
            accept,
            reject,
        } => {
            let code = RequestCode::parse(&code)?;
            let store = ctx.store().await?;
            let r = store.request(code).await?;
            allowed(Action::Manage, &r)?;
            let intake = crate::channels::email::Intake::new(
                store.clone(),
                crate::daemon::email_intake_config(&ctx.config),
                Arc::new(SystemClock),
            );
            intake
                .review_held(r.id, accept && !reject, "cli")
                .await
                .with_context(|| format!("cannot review {code}"))?;
            let r = store.request(code).await?;
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({ "code": code.to_string(), "status": r.status })
                );
            } else {
                print!("{}", render(&HEADER, &[row(&r)], ""));
            }
            Ok(())
        }
        RequestCmd::Assign { code, mediator } => {
            let code = RequestCode::parse(&code)?;
            let store = ctx.store().await?;
            allowed(Action::Manage, &store.request(code).await?)?;
            dispatcher(ctx, store.clone())
                .assign(code, mediator, "cli")
                .await
                .with_context(|| format!("cannot assign {code}"))?;
            let r = store.request(code).await?;
            if ctx.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                print!("{}", render(&HEADER, &[row(&r)], ""));
            }
            Ok(())
        }
    }
}
