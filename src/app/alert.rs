//! Alerting the coordinators: one [`Notice::Alert`] per coordinator (on Telegram when they
//! have it, else by email), written to the outbox in the caller's transaction, each with an
//! idempotency key of the cause and the coordinator, so an alert is sent once even if its
//! cause is processed again. The one place alerts are written: escalations, held, quarantined
//! or oversized mail, dead letters, a stale channel, refused mailbox tokens, invite guessing.
//! Channels render the alert like any notice (HTML escaping only on Telegram).

use chrono::{DateTime, Utc};

use super::notice::{self, Notice};
use super::sentence::dispatch_text;
use super::wave::EscalationReason;
use super::{Core, Result, authorise};
use crate::authz::{Action, Actor, RequestFacts};
use crate::store::{Request, Tx};

/// What the coordinators are told.
#[derive(Debug, Clone, PartialEq)]
pub enum Alert {
    /// Nobody (left) to offer the request to: assign it by hand.
    Escalated {
        request: Box<Request>,
        reason: EscalationReason,
    },
    /// `unfilled_notice_hours` before the appointment nobody is confirmed: the requester was
    /// told (`app::unfilled`).
    Unfilled { request: Box<Request> },
    /// A message could not be delivered after every attempt (`channel`: "telegram", "email").
    DeadLetter {
        outbox_id: i64,
        request_id: Option<i64>,
        attempts: i64,
        channel: &'static str,
        error: String,
    },
    /// An alert a channel or the daemon names by its prompts (`subject` and `text` are
    /// prompt keys such as `daemon.alert_subject`, filled with `args`), so each coordinator
    /// reads it in their own language: `key` names the cause.
    Prompt {
        key: String,
        request_id: Option<i64>,
        subject: String,
        text: String,
        args: Vec<(String, String)>,
    },
    /// An alert worded by its caller, as is (in the caller's language): `key` names the cause.
    Text {
        key: String,
        request_id: Option<i64>,
        subject: String,
        text: String,
    },
}

impl Alert {
    /// The cause's key, the subject and the text, in `lang` (an [`Alert::Text`] comes worded).
    fn words(
        &self,
        lang: crate::config::Lang,
        now: DateTime<Utc>,
    ) -> (String, Option<i64>, String, String) {
        match self {
            Alert::Escalated { request, reason } => {
                let code = request.code.to_string();
                let reason_text =
                    dispatch_text(lang, &format!("escalated_reason_{}", reason.as_str()), &[]);
                (
                    format!("esc:{}:{}", request.id, now.timestamp()),
                    Some(request.id),
                    dispatch_text(lang, "escalated_subject", &[("code", code.clone())]),
                    dispatch_text(
                        lang,
                        "escalated",
                        &[("code", code), ("reason", reason_text)],
                    ),
                )
            }
            Alert::Unfilled { request } => {
                let code = request.code.to_string();
                let w = super::words::Words::new(lang);
                let when = request
                    .date
                    .map_or_else(|| w.unknown(), |d| w.when(Some(d), request.start_time));
                (
                    format!(
                        "unfilled:{}:{}",
                        request.id,
                        request.starts_at.map_or(0, |s| s.timestamp())
                    ),
                    Some(request.id),
                    dispatch_text(lang, "unfilled_alert_subject", &[("code", code.clone())]),
                    dispatch_text(lang, "unfilled_alert", &[("code", code), ("when", when)]),
                )
            }
            Alert::DeadLetter {
                outbox_id,
                request_id,
                attempts,
                channel,
                error,
            } => (
                format!("dead:{outbox_id}"),
                *request_id,
                dispatch_text(lang, "dead_letter_subject", &[]),
                dispatch_text(
                    lang,
                    "dead_letter",
                    &[
                        ("attempts", attempts.to_string()),
                        ("id", outbox_id.to_string()),
                        ("channel", channel.to_string()),
                        ("error", error.chars().take(200).collect()),
                    ],
                ),
            ),
            Alert::Prompt {
                key,
                request_id,
                subject,
                text,
                args,
            } => {
                let args: Vec<(&str, &str)> =
                    args.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                (
                    key.clone(),
                    *request_id,
                    crate::prompts::t(lang, subject, &args),
                    crate::prompts::t(lang, text, &args),
                )
            }
            Alert::Text {
                key,
                request_id,
                subject,
                text,
            } => (key.clone(), *request_id, subject.clone(), text.clone()),
        }
    }
}

/// Alerts every coordinator of `alert` inside `tx`, as the service; returns the notices
/// written (one per coordinator who can be reached).
pub async fn raise(
    core: &Core,
    tx: &mut Tx,
    alert: &Alert,
    now: DateTime<Utc>,
) -> crate::store::Result<Vec<Notice>> {
    let system = Actor::System { process: "alerts" };
    match raise_as(core, tx, &system, alert, now).await {
        Ok(n) => Ok(n),
        Err(super::AppError::Store(e)) => Err(e),
        // The table lets the service alert; anything else is a bug worth an error, not a panic.
        Err(e) => Err(crate::store::StoreError::Conflict(e.to_string())),
    }
}

/// An alert worded by its caller, as the service: the daemon, the channels and the outbox
/// worker use it (`key` names the cause).
pub async fn text(
    core: &Core,
    tx: &mut Tx,
    key: &str,
    request_id: Option<i64>,
    subject: &str,
    text: &str,
    now: DateTime<Utc>,
) -> crate::store::Result<Vec<Notice>> {
    let alert = Alert::Text {
        key: key.to_string(),
        request_id,
        subject: subject.to_string(),
        text: text.to_string(),
    };
    raise(core, tx, &alert, now).await
}

/// An alert named by its prompts (`subject`, `text`: full prompt keys, filled with `args`), as
/// the service: each coordinator reads it in their own language.
#[allow(clippy::too_many_arguments)]
pub async fn prompt(
    core: &Core,
    tx: &mut Tx,
    key: &str,
    request_id: Option<i64>,
    subject: &str,
    text: &str,
    args: &[(&str, &str)],
    now: DateTime<Utc>,
) -> crate::store::Result<Vec<Notice>> {
    let alert = Alert::Prompt {
        key: key.to_string(),
        request_id,
        subject: subject.to_string(),
        text: text.to_string(),
        args: args
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    raise(core, tx, &alert, now).await
}

/// [`raise`] for an identified actor (the service, a coordinator, the CLI).
pub async fn raise_as(
    core: &Core,
    tx: &mut Tx,
    actor: &Actor,
    alert: &Alert,
    now: DateTime<Utc>,
) -> Result<Vec<Notice>> {
    authorise(actor, Action::Dispatch, &RequestFacts::default())?;
    let mut out = Vec::new();
    for c in tx.all_coordinators().await? {
        // Each coordinator reads the alert in their own language.
        let (key, request_id, subject, text) =
            alert.words(c.language.unwrap_or(core.settings.lang), now);
        let n = Notice::Alert {
            key: format!("{key}:coord:{}", c.id),
            request_id,
            subject,
            text,
            coordinator: c,
        };
        if notice::emit(core, tx, &n, now).await?.is_some() {
            out.push(n);
        }
    }
    Ok(out)
}
