//! `connecting oauth2 login`: the device-code flow for an OAuth2 mailbox (`[oauth2]`). The
//! administrator opens the printed URL, types the printed code and consents; the refresh token
//! is stored in `oauth2.refresh_token_file`, where a running daemon picks it up by itself.

use anyhow::Context as _;
use clap::Subcommand;

use super::Ctx;
use crate::oauth2::TokenSource;
use crate::prompts::t;

#[derive(Debug, Subcommand)]
pub enum OAuth2Cmd {
    /// Log the mailbox in: open the URL, type the code, and the refresh token is stored.
    Login,
}

pub async fn oauth2(ctx: &Ctx, cmd: OAuth2Cmd) -> anyhow::Result<()> {
    let lang = ctx.config.intake.language;
    let cfg = ctx.config.oauth2.as_ref().with_context(|| {
        "config key `oauth2` is required: add an [oauth2] section (provider, client_id, refresh_token_file)"
    })?;
    match cmd {
        OAuth2Cmd::Login => {
            let tokens = TokenSource::from_config(cfg)?;
            let login = tokens.start_login().await?;
            let minutes = login.expires_in.as_secs().div_ceil(60).to_string();
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({
                        "verification_uri": login.verification_uri,
                        "verification_uri_complete": login.verification_uri_complete,
                        "user_code": login.user_code,
                        "expires_in_minutes": login.expires_in.as_secs().div_ceil(60),
                    })
                );
            } else {
                println!(
                    "{}",
                    t(
                        lang,
                        "cli.oauth2_login_open",
                        &[
                            ("url", &login.verification_uri),
                            ("code", &login.user_code),
                            ("minutes", &minutes),
                        ],
                    )
                );
                println!("{}", t(lang, "cli.oauth2_login_waiting", &[]));
            }
            let fingerprint = tokens.finish_login(&login).await?;
            let file = cfg.refresh_token_file.display().to_string();
            if ctx.json {
                println!(
                    "{}",
                    serde_json::json!({ "stored": file, "fingerprint": fingerprint })
                );
            } else {
                println!("{}", t(lang, "cli.oauth2_login_done", &[("file", &file)]));
            }
            Ok(())
        }
    }
}
