//! The command line: argument definitions (clap) and one module per group of commands.
//! Output is a readable table by default and JSON with `--json`.

mod admin;
mod backup;
mod console;
pub mod database;
mod docs;
mod doctor;
mod inbound;
mod intake;
mod oauth2;
mod parse;
mod people;
mod requests;
pub mod table;

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

use crate::config::Config;
use crate::store::Store;

#[derive(Debug, Parser)]
#[command(
    name = "connecting",
    version,
    about = "Turns requests for cultural mediators into assigned, confirmed appointments"
)]
pub struct Cli {
    /// Configuration file (default: ./connecting.toml, else /etc/connecting/connecting.toml, if present).
    #[arg(long, global = true, value_name = "FILE", env = "CONNECTING_CONFIG")]
    pub config: Option<PathBuf>,
    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Log format: text (default) or json.
    #[arg(long, global = true, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start what the configuration enables (bot, IMAP poller, dispatcher, outbox, HTTP).
    Run,
    /// Create or update the database schema.
    Migrate,
    /// Manage mediators.
    #[command(subcommand)]
    Mediator(people::MediatorCmd),
    /// Manage operators (social workers).
    #[command(subcommand)]
    Operator(people::OperatorCmd),
    /// Manage coordinators.
    #[command(subcommand)]
    Coordinator(people::CoordinatorCmd),
    /// Create a one-time code that links a Telegram account to a person.
    Invite(people::InviteArgs),
    /// Look at and act on requests.
    #[command(subcommand)]
    Request(requests::RequestCmd),
    /// Show what connecting understands of a request (text on stdin, or --eml FILE), as JSON.
    Parse(parse::ParseArgs),
    /// Take requests from .eml files, Maildirs, directories or chat .txt files.
    Ingest(intake::IngestArgs),
    /// Email that could not be read, kept aside.
    #[command(subcommand)]
    Quarantine(intake::QuarantineCmd),
    /// Email that created no request (held, refused, automatic, our own...), and why.
    #[command(subcommand)]
    Inbound(inbound::InboundCmd),
    /// The monthly figures per Ambito (what the cooperative reports for billing).
    Report(admin::ReportArgs),
    /// Messages that could not be delivered (dead letters), and sending them again.
    #[command(subcommand)]
    Outbox(admin::OutboxCmd),
    /// Remove raw messages and anonymise closed requests past their retention.
    Purge(admin::PurgeArgs),
    /// Try connecting on the bundled examples: a fresh SQLite queue, no server or account needed.
    Demo(intake::DemoArgs),
    /// Check every configured part (database, Telegram, IMAP, SMTP, OAuth2) and say what to fix.
    Doctor,
    /// OAuth2 mailboxes: `login` runs the device-code flow and stores the refresh token.
    #[command(subcommand)]
    Oauth2(oauth2::OAuth2Cmd),
    /// Write a consistent snapshot of the database, encrypted with age for backup.recipient.
    Backup(backup::BackupArgs),
    /// Load a backup made by `connecting backup` into a new, empty database.
    Restore(backup::RestoreArgs),
    /// The web console: `link` prints a one-time login link for a coordinator or an operator.
    #[command(subcommand)]
    Console(console::ConsoleCmd),
    /// Print shell completions for bash, zsh or fish.
    Completions(docs::CompletionsArgs),
    /// Print the man page (roff).
    Man,
}

/// Arguments shared by commands that only need the database.
#[derive(Debug, Args)]
pub struct NoArgs {}

/// Entry point used by the binary.
pub async fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            // One line: clap's first line, plus where to look.
            let rendered = e.render().to_string();
            let first = rendered
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("error: bad arguments");
            eprintln!("{} (see --help)", first.trim_end());
            return ExitCode::from(2);
        }
    };
    init_logging(cli.log_format, matches!(cli.command, Command::Run));
    if !matches!(cli.command, Command::Run) {
        restore_sigpipe();
    }
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(1)
        }
    }
}

/// One-shot commands behave like other Unix tools when their output pipe closes
/// (`connecting request list | head`): they end quietly instead of failing to print. The daemon
/// keeps Rust's default (SIGPIPE ignored) so a closed socket is an error, not a kill.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called before any other thread writes to a pipe; SIG_DFL is a valid disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// An error and its causes on one line.
pub fn one_line(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let s = cause.to_string().replace('\n', " ");
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
    }
    parts.join(": ")
}

/// Logs go to stderr; the daemon logs at `info`, one-shot commands only warnings (their output is
/// the answer). `CONNECTING_LOG` (an EnvFilter) overrides both.
fn init_logging(format: LogFormat, daemon: bool) {
    use tracing_subscriber::EnvFilter;
    let default = if daemon { "info,sqlx=warn" } else { "warn" };
    let filter =
        EnvFilter::try_from_env("CONNECTING_LOG").unwrap_or_else(|_| EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Context every command gets: the configuration and a way to open the store.
pub struct Ctx {
    pub config: Config,
    pub json: bool,
    /// The configuration file read, if any (for messages).
    pub config_file: Option<PathBuf>,
}

impl Ctx {
    /// The database, which must exist: only `migrate`, `run` and `restore` create one.
    pub async fn store(&self) -> anyhow::Result<Store> {
        Ok(database::open_existing(&self.config.database.url, self.config_file.as_deref()).await?)
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    // These need no configuration.
    match &cli.command {
        Command::Completions(a) => return docs::completions(a.shell),
        Command::Man => return docs::man(),
        _ => {}
    }
    let config = Config::load(cli.config.as_deref())?;
    let ctx = Ctx {
        config,
        json: cli.json,
        config_file: Config::locate(cli.config.as_deref()),
    };
    match cli.command {
        Command::Run => crate::daemon::run(&ctx.config).await,
        Command::Migrate => {
            let store = Store::connect(&ctx.config.database.url).await?;
            store.migrate().await?;
            let applied = store.applied_migrations().await?;
            if ctx.json {
                println!("{}", serde_json::json!({ "applied": applied }));
            } else {
                println!(
                    "{}",
                    crate::prompts::t(
                        ctx.config.intake.language,
                        "cli.migrated",
                        &[("count", &applied.len().to_string())]
                    )
                );
            }
            Ok(())
        }
        Command::Mediator(c) => people::mediator(&ctx, c).await,
        Command::Operator(c) => people::operator(&ctx, c).await,
        Command::Coordinator(c) => people::coordinator(&ctx, c).await,
        Command::Invite(a) => people::invite(&ctx, a).await,
        Command::Request(c) => requests::request(&ctx, c).await,
        Command::Parse(a) => parse::parse(&ctx, a).await,
        Command::Ingest(a) => intake::ingest(&ctx, a).await,
        Command::Quarantine(c) => intake::quarantine(&ctx, c).await,
        Command::Inbound(c) => inbound::inbound(&ctx, c).await,
        Command::Demo(a) => intake::demo(&ctx, a).await,
        Command::Report(a) => admin::report(&ctx, a).await,
        Command::Purge(a) => admin::purge(&ctx, a).await,
        Command::Outbox(c) => admin::outbox(&ctx, c).await,
        Command::Doctor => doctor::doctor(&ctx).await,
        Command::Oauth2(c) => oauth2::oauth2(&ctx, c).await,
        Command::Console(c) => console::console(&ctx, c).await,
        Command::Backup(a) => backup::backup(&ctx, a).await,
        Command::Restore(a) => backup::restore(&ctx, a).await,
        Command::Completions(_) | Command::Man => Ok(()),
    }
}
