//! `connecting backup --to FILE` and `connecting restore --from FILE`: an encrypted, consistent
//! snapshot of the database and its load into a new one (see [`crate::backup`]).

use anyhow::Context as _;
use clap::Args;
use std::path::PathBuf;

use super::Ctx;

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The file to write (replaced atomically, mode 0600).
    #[arg(long, value_name = "FILE")]
    pub to: PathBuf,
    /// The age public key to encrypt for (default: backup.recipient).
    #[arg(long, value_name = "AGE1...")]
    pub recipient: Option<String>,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// A file written by `connecting backup`.
    #[arg(long, value_name = "FILE")]
    pub from: PathBuf,
    /// The age identity file holding the secret key (default: backup.identity_file).
    #[arg(long, value_name = "FILE")]
    pub identity: Option<PathBuf>,
}

pub async fn backup(ctx: &Ctx, a: BackupArgs) -> anyhow::Result<()> {
    let lang = ctx.config.intake.language;
    let Some(key) = a.recipient.or_else(|| ctx.config.backup.recipient.clone()) else {
        anyhow::bail!(crate::prompts::t(lang, "cli.backup_no_recipient", &[]));
    };
    let recipient: age::x25519::Recipient = key.trim().parse().map_err(|e| {
        anyhow::anyhow!("--recipient {key:?} is not an age public key (age1...): {e}")
    })?;
    let store = ctx.store().await?;
    let tmp = a.to.with_extension("partial");
    let file = {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        o.open(&tmp)
            .with_context(|| format!("cannot create {}", tmp.display()))?
    };
    let summary = match crate::backup::backup(&store, &recipient, file).await {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e.into());
        }
    };
    std::fs::rename(&tmp, &a.to)
        .with_context(|| format!("cannot move the backup to {}", a.to.display()))?;
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({
                "file": a.to, "backend": summary.backend, "rows": summary.rows(),
                "tables": summary.tables.iter().map(|(t, n)| serde_json::json!({"table": t, "rows": n})).collect::<Vec<_>>(),
            })
        );
    } else {
        println!(
            "{}",
            crate::prompts::t(
                lang,
                "cli.backup_written",
                &[
                    ("file", &a.to.display().to_string()),
                    ("rows", &summary.rows().to_string()),
                    ("tables", &summary.tables.len().to_string()),
                    ("backend", &summary.backend),
                    ("recipient", &recipient.to_string()),
                ]
            )
        );
    }
    Ok(())
}

pub async fn restore(ctx: &Ctx, a: RestoreArgs) -> anyhow::Result<()> {
    let lang = ctx.config.intake.language;
    let Some(identity) = a
        .identity
        .or_else(|| ctx.config.backup.identity_file.clone())
    else {
        anyhow::bail!(crate::prompts::t(lang, "cli.restore_no_identity", &[]));
    };
    let shown = a.from.display().to_string();
    let ids = crate::backup::identities(&identity)?;
    let file = std::fs::File::open(&a.from).with_context(|| format!("cannot open {shown}"))?;
    let mut plain = crate::backup::open(std::io::BufReader::new(file), &ids, &shown)?;
    let header = crate::backup::read_header(&mut plain, &shown)?;
    // Restoring is one of the commands that may create the database.
    let store = crate::store::Store::connect(&ctx.config.database.url).await?;
    let summary = crate::backup::restore(&store, &header, plain, &shown).await?;
    store.close().await;
    if ctx.json {
        println!(
            "{}",
            serde_json::json!({
                "file": a.from, "backend": summary.backend, "rows": summary.rows(),
                "backup_backend": header.backend, "backup_created_at": header.created_at,
            })
        );
    } else {
        println!(
            "{}",
            crate::prompts::t(
                lang,
                "cli.restored",
                &[
                    ("file", &shown),
                    ("rows", &summary.rows().to_string()),
                    ("tables", &summary.tables.len().to_string()),
                    ("backend", &summary.backend),
                ]
            )
        );
    }
    Ok(())
}
