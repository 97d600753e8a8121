//! `connecting request list|show|cancel|assign`: the coordinator's view of the queue from the
//! terminal. Cancelling and assigning go through the dispatcher, so people are told.

use anyhow::Context as _;
use clap::Subcommand;
use std::sync::Arc;

use super::Ctx;
use super::table::{opt, render_in};
use crate::authz::{Action, Actor, RequestFacts, authorize};
use crate::clock::SystemClock;
use crate::config::Lang;
use crate::dispatch::Dispatcher;
use crate::domain::{RequestCode, RequestStatus};
use crate::prompts::t;
use crate::store::{Request, RequestFilter, Store};
use crate::vocab;

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
    /// Cancel or move one meeting of a series (`--following`: it and every later one); the
    /// requester and the mediator are told, with the updated invitation.
    Meeting {
        code: String,
        /// The meeting's number in the series (1 for the first; `request show` lists them).
        #[arg(long)]
        number: u32,
        /// Cancel it.
        #[arg(
            long,
            conflicts_with_all = ["move_to", "release"],
            required_unless_present_any = ["move_to", "release"]
        )]
        cancel: bool,
        /// Its mediator cannot take it: it is offered on its own to another mediator (the
        /// requester is told; with nobody left, the coordinators are alerted).
        #[arg(long, conflicts_with_all = ["move_to", "following"])]
        release: bool,
        /// Move it to this local day and time, "YYYY-MM-DD HH:MM" (with `--following`, the later
        /// meetings move by the same number of days, to the same time).
        #[arg(long = "move", value_name = "WHEN")]
        move_to: Option<String>,
        /// Every later meeting too.
        #[arg(long)]
        following: bool,
    },
    /// Record what happened at one meeting of a series (`--meeting N`): done or not, the
    /// minutes worked, who did not come. It replaces what was recorded; the series is done
    /// once every meeting still on has its outcome.
    Outcome {
        code: String,
        /// The meeting's number in the series (1 for the first; `request show` lists them).
        #[arg(long)]
        meeting: u32,
        /// It took place.
        #[arg(
            long,
            conflicts_with = "not_done",
            required_unless_present = "not_done"
        )]
        done: bool,
        /// It did not take place.
        #[arg(long)]
        not_done: bool,
        /// The minutes worked (with `--done`; without, the meeting's planned length counts).
        #[arg(long, conflicts_with = "not_done")]
        minutes: Option<i64>,
        /// Who did not come (with `--not-done`): family or mediator.
        #[arg(long, value_name = "WHO", conflicts_with = "done")]
        no_show: Option<String>,
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
        crate::renderers::channels(),
    )
}

/// The CLI acts with coordinator rights (whoever runs it holds the database); it asks the one
/// authorisation table all the same, so the rules stay in one place.
fn allowed(action: Action, r: &Request) -> anyhow::Result<()> {
    authorize(&Actor::Cli, action, &RequestFacts::of(r))
        .map_err(|d| anyhow::anyhow!("{}: not allowed ({d})", r.code))
}

/// When the appointment is, in words ("giovedì 21 gennaio 2027, 14:30"), or the deadline of a
/// written translation.
pub(super) fn when(lang: Lang, r: &Request) -> String {
    if let Some(series) = &r.series {
        // "8 incontri, ogni settimana di martedì alle 15:00, da martedì 19 gennaio a ..."
        return crate::app::sentence::series_words(&crate::app::words::Words::new(lang), series);
    }
    match (r.date, r.start_time, r.deadline) {
        (Some(d), time, _) => vocab::date_time_year(lang, d, time),
        (None, _, Some(dl)) => t(
            lang,
            "cli.when_deadline",
            &[("date", &vocab::date_long(lang, dl, true))],
        ),
        _ => "-".into(),
    }
}

/// The request's codes as a coordinator reads them.
pub(super) struct Words {
    pub status: String,
    pub channel: String,
    pub language: String,
    pub intervention: String,
    pub modality: String,
    pub missing: String,
}

impl Words {
    pub(super) fn of(lang: Lang, r: &Request) -> Words {
        let or_dash = |s: Option<String>| s.unwrap_or_else(|| "-".into());
        Words {
            status: vocab::status(lang, r.status),
            channel: vocab::channel(lang, r.channel),
            language: or_dash(
                r.language
                    .as_ref()
                    .map(|l| vocab::language(lang, l.as_str())),
            ),
            intervention: or_dash(r.intervention.map(|i| vocab::intervention(lang, i))),
            modality: or_dash(r.modality.map(|m| vocab::modality(lang, m))),
            missing: if r.missing.is_empty() {
                "-".into()
            } else {
                vocab::fields(lang, &r.missing)
            },
        }
    }
}

fn row(lang: Lang, r: &Request) -> Vec<String> {
    let w = Words::of(lang, r);
    vec![
        r.code.to_string(),
        w.status,
        w.channel,
        w.language,
        w.intervention,
        when(lang, r),
        opt(&r.comune),
        w.missing,
    ]
}

const HEADER: [&str; 8] = [
    "code",
    "status",
    "channel",
    "language",
    "intervention",
    "when",
    "comune",
    "missing",
];

/// The meetings of a series: number, when (now), state in words, mediator.
fn meetings_table(lang: Lang, tz: chrono_tz::Tz, r: &Request) -> String {
    let Some(series) = &r.series else {
        return String::new();
    };
    let rows: Vec<Vec<String>> = series
        .occurrences
        .iter()
        .map(|o| {
            let local = o.starts_at.with_timezone(&tz).naive_local();
            vec![
                o.seq.to_string(),
                vocab::date_time_year(lang, local.date(), Some(local.time())),
                t(lang, &format!("cli.meeting_{}", o.status.as_str()), &[]),
                opt(&o.mediator_id),
                o.outcome.map_or_else(
                    || "-".into(),
                    |r| {
                        outcome_words(
                            lang,
                            crate::app::meetings::MeetingReport {
                                done: r.done,
                                worked_minutes: r.worked_minutes,
                                no_show: r.no_show,
                            },
                        )
                    },
                ),
            ]
        })
        .collect();
    render_in(
        lang,
        &["meeting", "when", "status", "mediator", "outcome"],
        &rows,
        "",
    )
}

/// What was recorded about a meeting, in words ("svolto, 90 min", "non svolto: la famiglia
/// non è venuta").
fn outcome_words(lang: Lang, r: crate::app::meetings::MeetingReport) -> String {
    match (r.done, r.worked_minutes, r.no_show) {
        (true, Some(m), _) => t(
            lang,
            "cli.meeting_done_minutes",
            &[("minutes", &m.to_string())],
        ),
        (true, None, _) => t(lang, "cli.meeting_done", &[]),
        (false, _, Some(w)) => t(
            lang,
            "cli.meeting_not_done_by",
            &[("who", &t(lang, &format!("cli.meeting_no_show_{w}"), &[]))],
        ),
        (false, _, None) => t(lang, "cli.meeting_not_done", &[]),
    }
}

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
                let rows: Vec<_> = list.iter().map(|r| row(lang, r)).collect();
                print!(
                    "{}",
                    render_in(lang, &HEADER, &rows, &t(lang, "cli.empty", &[]))
                );
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
            let w = Words::of(lang, &r);
            let fields: Vec<Vec<String>> = [
                ("code", r.code.to_string()),
                ("status", w.status),
                ("channel", w.channel),
                ("language", w.language),
                ("intervention", w.intervention),
                ("modality", w.modality),
                ("when", when(lang, &r)),
                ("duration", opt(&r.duration_minutes)),
                ("comune", opt(&r.comune)),
                ("address", opt(&r.address)),
                ("urgent", vocab::yes_no(lang, r.urgent)),
                ("requester", opt(&r.requester_name)),
                ("email", opt(&r.requester_email)),
                ("ente", opt(&r.ente)),
                ("mediator", opt(&r.assigned_mediator_id)),
                ("subject", opt(&r.subject)),
                ("notes", opt(&r.notes)),
                ("missing", w.missing),
            ]
            .into_iter()
            .map(|(k, v)| vec![t(lang, &format!("cli.col_{k}"), &[]), v])
            .collect();
            print!("{}", render_in(lang, &["field", "value"], &fields, ""));
            println!();
            if r.series.is_some() {
                print!("{}", meetings_table(lang, tz, &r));
                println!();
            }
            let hist: Vec<Vec<String>> = trail
                .iter()
                .map(|a| {
                    vec![
                        a.at.with_timezone(&tz).format("%d/%m/%Y %H:%M").to_string(),
                        a.actor.clone(),
                        vocab::audit_action(lang, &a.action),
                        opt(&a.detail),
                    ]
                })
                .collect();
            print!(
                "{}",
                render_in(lang, &["when", "who", "action", "detail"], &hist, "")
            );
            Ok(())
        }
        RequestCmd::Cancel { code } => {
            let code = RequestCode::parse(&code)?;
            let store = ctx.store().await?;
            // The core asks the table (once) whether the CLI may.
            let late = dispatcher(ctx, store.clone())
                .cancel_as(code, &Actor::Cli)
                .await
                .with_context(|| format!("cannot cancel {code}"))?;
            let r = store.request(code).await?;
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({ "code": code.to_string(), "status": r.status, "late": late })
                );
            } else {
                print!("{}", render_in(lang, &HEADER, &[row(lang, &r)], ""));
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
            // The core's review (it asks the table whether the CLI may).
            let core = crate::renderers::core(crate::daemon::dispatch_settings(&ctx.config));
            let now = chrono::Utc::now();
            let mut tx = store.begin().await?;
            let reviewed = if accept && !reject {
                crate::app::review::accept(&core, &mut tx, &Actor::Cli, r.id, now)
                    .await
                    .map(|_| ())
            } else {
                crate::app::review::reject(&core, &mut tx, &Actor::Cli, r.id, now)
                    .await
                    .map(|_| ())
            };
            match reviewed {
                Ok(()) => tx.commit().await?,
                Err(e) => {
                    tx.rollback().await?;
                    return Err(anyhow::Error::new(e).context(format!("cannot review {code}")));
                }
            }
            let r = store.request(code).await?;
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({ "code": code.to_string(), "status": r.status })
                );
            } else {
                print!("{}", render_in(lang, &HEADER, &[row(lang, &r)], ""));
            }
            Ok(())
        }
        RequestCmd::Meeting {
            code,
            number,
            cancel,
            move_to,
            following,
            release,
        } => {
            use crate::app::series::{Change, Scope};
            let code = RequestCode::parse(&code)?;
            if release {
                let store = ctx.store().await?;
                dispatcher(ctx, store.clone())
                    .release_meeting_as(code, &Actor::Cli, number)
                    .await
                    .with_context(|| format!("cannot release meeting {number} of {code}"))?;
                let r = store.request(code).await?;
                if ctx.json {
                    println!(
                        "{}",
                        serde_json::json!({ "code": code.to_string(), "released": number, "series": r.series })
                    );
                } else {
                    print!("{}", meetings_table(lang, tz, &r));
                }
                return Ok(());
            }
            let what = match (cancel, move_to.as_deref()) {
                (true, _) | (false, None) => Change::Cancel,
                (false, Some(when)) => {
                    let at = chrono::NaiveDateTime::parse_from_str(when.trim(), "%Y-%m-%d %H:%M")
                        .with_context(|| {
                        format!("--move {when:?}: expected a day and a time, YYYY-MM-DD HH:MM")
                    })?;
                    Change::Move {
                        date: at.date(),
                        start: at.time(),
                    }
                }
            };
            let scope = if following {
                Scope::Following
            } else {
                Scope::One
            };
            let store = ctx.store().await?;
            // The core asks the table (once) whether the CLI may.
            let changed = dispatcher(ctx, store.clone())
                .change_series_as(code, &Actor::Cli, number, scope, what)
                .await
                .with_context(|| format!("cannot change meeting {number} of {code}"))?;
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({ "code": code.to_string(), "changed": changed.seqs, "series": changed.request.series })
                );
            } else {
                print!("{}", meetings_table(lang, tz, &changed.request));
            }
            Ok(())
        }
        RequestCmd::Outcome {
            code,
            meeting,
            done,
            not_done: _,
            minutes,
            no_show,
        } => {
            let code = RequestCode::parse(&code)?;
            let no_show = no_show
                .as_deref()
                .map(|w| {
                    w.trim().parse::<crate::domain::NoShow>().map_err(|_| {
                        anyhow::anyhow!("--no-show {w:?}: expected family or mediator")
                    })
                })
                .transpose()?;
            let report = crate::app::meetings::MeetingReport {
                done,
                worked_minutes: minutes,
                no_show,
            };
            let store = ctx.store().await?;
            // The core asks the table (once) whether the CLI may.
            let recorded = dispatcher(ctx, store.clone())
                .record_meeting_as(code, &Actor::Cli, meeting, report)
                .await
                .with_context(|| format!("cannot record meeting {meeting} of {code}"))?;
            let r = store.request(code).await?;
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "code": code.to_string(),
                        "meeting": meeting,
                        "recorded": matches!(recorded, crate::app::meetings::Recorded::Yes { .. }),
                        "status": r.status.as_str(),
                        "series": r.series,
                    })
                );
            } else {
                let number = meeting.to_string();
                let c = code.to_string();
                let line = match recorded {
                    crate::app::meetings::Recorded::Yes { .. } => t(
                        lang,
                        "cli.outcome_recorded",
                        &[
                            ("number", &number),
                            ("code", &c),
                            ("outcome", &outcome_words(lang, report)),
                        ],
                    ),
                    crate::app::meetings::Recorded::Already => t(
                        lang,
                        "cli.outcome_already",
                        &[("number", &number), ("code", &c)],
                    ),
                };
                println!("{line}");
                print!("{}", meetings_table(lang, tz, &r));
            }
            Ok(())
        }
        RequestCmd::Assign { code, mediator } => {
            let code = RequestCode::parse(&code)?;
            let store = ctx.store().await?;
            // The core asks the table (once) whether the CLI may.
            dispatcher(ctx, store.clone())
                .assign(code, mediator, "cli")
                .await
                .with_context(|| format!("cannot assign {code}"))?;
            let r = store.request(code).await?;
            if ctx.json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                print!("{}", render_in(lang, &HEADER, &[row(lang, &r)], ""));
            }
            Ok(())
        }
    }
}
