//! Settings derived from the configuration for the parts that run (the dispatcher, the outbox,
//! Message-IDs), shared by the daemon, the channels' runtimes and the CLI so that every entry
//! point works with the same values. Pure: configuration in, settings out.

use std::time::Duration;

use crate::config::Config;

/// The dispatcher's settings from the configuration.
pub fn dispatch_settings(cfg: &Config) -> crate::app::DispatchSettings {
    let d = &cfg.dispatch;
    crate::app::DispatchSettings {
        wave_size: d.wave_size as usize,
        offer_timeout_minutes: i64::from(d.offer_timeout_minutes),
        urgent_offer_timeout_minutes: i64::from(d.urgent_offer_timeout_minutes),
        travel_buffer_minutes: d.travel_buffer_minutes,
        unfilled_notice_hours: i64::from(d.unfilled_notice_hours),
        tz: cfg.intake.timezone,
        message_id_domain: message_id_domain(cfg),
        email_signature: cfg.smtp.as_ref().and_then(|s| s.signature.clone()),
        lang: cfg.intake.language,
        organizer: organizer(cfg),
        confirm_within_days: i64::from(cfg.account.confirm_within_days),
        criteria: cfg.evaluation.criteria.clone(),
        ..crate::app::DispatchSettings::default()
    }
}

/// The `ORGANIZER` of our calendar invitations: `[smtp] from` (its display name and address),
/// or nobody when no SMTP server is configured (then a mediator's Telegram document is a plain
/// event, `ics::Host`).
pub fn organizer(cfg: &Config) -> Option<crate::ics::Party> {
    let from = cfg.smtp.as_ref()?.from.trim().to_string();
    let name = from
        .rsplit_once('<')
        .map(|(n, _)| n.trim().trim_matches('"').trim().to_string())
        .unwrap_or_default();
    Some(crate::ics::Party {
        name,
        email: Some(own_address(cfg)),
    })
}

/// The outbox's retry policy from `[outbox]`.
pub fn retry_policy(cfg: &Config) -> crate::outbox::RetryPolicy {
    let o = &cfg.outbox;
    crate::outbox::RetryPolicy {
        max_attempts: i64::from(o.max_attempts),
        base: Duration::from_secs(o.retry_base_secs),
        cap: Duration::from_secs(o.retry_cap_secs),
        ..crate::outbox::RetryPolicy::default()
    }
}

/// Our sending address: `smtp.from` without its display name.
pub fn own_address(cfg: &Config) -> String {
    let from = cfg
        .smtp
        .as_ref()
        .map(|s| s.from.clone())
        .unwrap_or_else(|| "info@connecting.invalid".into());
    from.rsplit_once('<')
        .map(|(_, a)| a.trim_end_matches('>').trim().to_lowercase())
        .unwrap_or_else(|| from.trim().to_lowercase())
}

/// The right-hand side of every Message-ID we make, so replies to them are recognised.
pub fn message_id_domain(cfg: &Config) -> String {
    own_address(cfg)
        .rsplit_once('@')
        .map(|(_, d)| d.to_string())
        .unwrap_or_else(|| "connecting.invalid".into())
}

/// The first of `[evaluation] criteria` without its words (`dispatch.criterion_<name>`) in
/// Italian or English, if any: `connecting run` refuses to start with it (people would read a code).
pub fn criterion_without_words(cfg: &Config) -> Option<String> {
    cfg.evaluation.criteria.iter().find_map(|c| {
        let key = format!("dispatch.criterion_{c}");
        let missing = [crate::config::Lang::It, crate::config::Lang::En]
            .iter()
            .any(|l| {
                crate::prompts::Prompts::global()
                    .template(*l, &key)
                    .is_none()
            });
        missing.then(|| c.clone())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_organizer_is_the_smtp_sender_with_its_name() {
        let mut cfg = Config::default();
        assert_eq!(organizer(&cfg), None, "no SMTP, no invitations");
        cfg.smtp = Some(
            toml::from_str(
                "host = \"smtp.example.org\"\nfrom = \"Mediazione culturale <Info@Coop.Example>\"\n",
            )
            .unwrap(),
        );
        assert_eq!(
            organizer(&cfg),
            Some(crate::ics::Party {
                name: "Mediazione culturale".into(),
                email: Some("info@coop.example".into()),
            })
        );
        assert_eq!(dispatch_settings(&cfg).organizer, organizer(&cfg));
        cfg.smtp = Some(
            toml::from_str("host = \"smtp.example.org\"\nfrom = \"info@coop.example\"\n").unwrap(),
        );
        assert_eq!(organizer(&cfg).map(|p| p.name), Some(String::new()));
    }
}
