//! `connecting console link --coordinator ID` (or `--operator ID`): prints a one-time login
//! link to the web console, for the first set-up before anyone uses the bot's `/console`.
//! The same rules as the bot's links: ten minutes, single use, at most five an hour.

use clap::{Args, Subcommand};

use super::Ctx;
use crate::store::ConsoleRole;
use crate::store::console::LINK_MINUTES;

#[derive(Debug, Subcommand)]
pub enum ConsoleCmd {
    /// Print a one-time login link (valid 10 minutes) for a coordinator or an operator.
    Link(LinkArgs),
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct LinkArgs {
    /// The coordinator's id (`connecting coordinator list`).
    #[arg(long)]
    pub coordinator: Option<i64>,
    /// The operator's id (`connecting operator list`): a view of their own requests.
    #[arg(long)]
    pub operator: Option<i64>,
}

pub async fn console(ctx: &Ctx, cmd: ConsoleCmd) -> anyhow::Result<()> {
    let lang = ctx.config.intake.language;
    let t = |key: &str, args: &[(&str, &str)]| crate::prompts::t(lang, key, args);
    let ConsoleCmd::Link(a) = cmd;
    let Some(web) = &ctx.config.web else {
        anyhow::bail!(t("cli.console_off", &[]));
    };
    let store = ctx.store().await?;
    let (role, id) = match (a.coordinator, a.operator) {
        (Some(c), _) => {
            if !store.coordinators().await?.iter().any(|x| x.id == c) {
                anyhow::bail!(t("cli.console_unknown", &[("id", &c.to_string())]));
            }
            (ConsoleRole::Coordinator, c)
        }
        (None, Some(o)) => {
            let op = store.operator(o).await.map_err(|_| {
                anyhow::anyhow!(t("cli.console_unknown", &[("id", &o.to_string())]))
            })?;
            if !op.active {
                anyhow::bail!(t("cli.console_unknown", &[("id", &o.to_string())]));
            }
            (ConsoleRole::Operator, o)
        }
        (None, None) => anyhow::bail!(t("cli.console_unknown", &[("id", "?")])),
    };
    let Some(token) = store
        .issue_console_link(role, id, chrono::Utc::now())
        .await?
    else {
        anyhow::bail!(t("cli.console_rate_limited", &[]));
    };
    let link = format!("{}/login/{token}", web.base_url());
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({ "link": link, "valid_minutes": LINK_MINUTES })
        );
    } else {
        println!(
            "{}",
            t(
                "cli.console_link",
                &[("link", &link), ("minutes", &LINK_MINUTES.to_string())]
            )
        );
    }
    Ok(())
}
