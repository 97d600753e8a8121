//! `connecting completions bash|zsh|fish` and `connecting man`: shell completions and the man
//! page, generated from the same clap definitions the command parses with (so they cannot
//! drift from the real flags).

use clap::{Args, CommandFactory as _};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
}

/// Writes the completion script on stdout.
pub fn completions(shell: Shell) -> anyhow::Result<()> {
    use clap_complete::Shell as S;
    let shell = match shell {
        Shell::Bash => S::Bash,
        Shell::Zsh => S::Zsh,
        Shell::Fish => S::Fish,
    };
    let mut cmd = super::Cli::command();
    clap_complete::generate(shell, &mut cmd, "connecting", &mut std::io::stdout());
    Ok(())
}

/// Writes the man page (roff, section 1) on stdout.
pub fn man() -> anyhow::Result<()> {
    let mut out = Vec::new();
    clap_mangen::Man::new(super::Cli::command()).render(&mut out)?;
    use std::io::Write as _;
    std::io::stdout().write_all(&out)?;
    Ok(())
}
