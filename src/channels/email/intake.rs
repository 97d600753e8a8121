//! The email intake pipeline: raw bytes -> recorded inbound message -> classification ->
//! request created, merged or cancelled -> replies queued in the outbox, all in ONE transaction.
//!
//! Invariants:
//! - the inbound row (raw bytes kept for the retention period, UNIQUE channel + external id)
//!   and everything it causes commit together, with the IMAP cursor; the poller moves the
//!   message only after that commit;
//! - a message that cannot be parsed is recorded as `quarantined` (raw kept) and the rest of the
//!   mailbox goes on; `quarantine_retry` re-processes it later; an oversized one is recorded
//!   (`oversized`: headers, size) and an audit event tells the coordinator;
//! - machines (bounces, auto-replies, receipts, lists, our own mail) are recorded and never
//!   answered; unknown senders are held (`needs_review`) and never answered (no backscatter).

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::auth_results::dmarc_verdict;
use super::classify::{Class, Context, classify};
use super::imap::{Cursor, FetchedMessage, MessageSink, SinkError, SinkFuture};
use super::parse::{InboundEmail, Limits, ParseError, parse_email};
use super::{replies, text, understand};
use crate::authz::{Action, Actor, RequestFacts, authorize};
use crate::clock::{Clock, SystemClock};
use crate::domain::{Channel, RequestCode, RequestStatus};
use crate::extract::SenderInfo;
use crate::outbox::{EmailPayload, Payload};
use crate::store::{Inbound, NewInbound, Operator, Request, Store, StoreError, Tx, db_text};

pub const CHANNEL: &str = "email";

/// Most automatic replies (acknowledgement, questions, confirmations) the email intake sends
/// about one request; past it, mail on the request is recorded without a reply and the
/// coordinators are alerted (a reply loop).
pub const MAX_AUTO_REPLIES_PER_REQUEST: i64 = 8;

/// What intake needs to know (the `[intake]` and `[smtp]` parts of the config that matter here).
#[derive(Debug, Clone)]
pub struct IntakeConfig {
    /// Addresses we send from (lower case); mail from them is our own.
    pub own_addresses: Vec<String>,
    /// Right-hand side of our Message-IDs, e.g. `connecting.coop.example`.
    pub message_id_domain: String,
    /// Senders from these domains are accepted (besides registered operators).
    pub allowed_sender_domains: Vec<String>,
    pub allowed_senders: Vec<String>,
    /// PEC providers whose transport envelopes (`X-Trasporto: posta-certificata`) are unwrapped;
    /// from any other sender the header is ignored ([`InboundEmail::distrust_forged_pec`]).
    pub pec_provider_domains: Vec<String>,
    /// Language of the replies (`it` default, `en`).
    pub lang: String,
    pub limits: Limits,
    /// Time zone of the requests' dates and times.
    pub timezone: chrono_tz::Tz,
    /// Minimum notice the extractor checks (regional rule: 48 hours).
    pub min_notice_hours: u32,
    /// New requests one sender may open by email in an hour before the next ones are held for
    /// a coordinator (an auto-responder starting a fresh thread each time would otherwise
    /// flood the mediators with offers). 0: no limit.
    pub max_new_requests_per_sender_per_hour: u32,
    /// The receiving server whose `Authentication-Results` are believed
    /// (`intake.trusted_authserv_id`; see [`super::auth_results`]).
    pub trusted_authserv_id: Option<String>,
    /// Hold mail from an allowed sender whose DMARC did not pass (`intake.require_dmarc_pass`).
    pub require_dmarc_pass: bool,
}

impl IntakeConfig {
    pub fn new(own_address: &str, message_id_domain: &str) -> Self {
        Self {
            own_addresses: vec![own_address.to_lowercase()],
            message_id_domain: message_id_domain.to_lowercase(),
            allowed_sender_domains: Vec::new(),
            allowed_senders: Vec::new(),
            pec_provider_domains: super::parse::DEFAULT_PEC_PROVIDER_DOMAINS
                .iter()
                .map(|d| (*d).to_owned())
                .collect(),
            lang: "it".to_owned(),
            limits: Limits::default(),
            timezone: chrono_tz::Europe::Rome,
            min_notice_hours: 48,
            max_new_requests_per_sender_per_hour: 0,
            trusted_authserv_id: None,
            require_dmarc_pass: false,
        }
    }

    fn extract_settings(&self) -> understand::Settings {
        understand::Settings {
            tz: self.timezone,
            min_notice_hours: self.min_notice_hours,
        }
    }

    fn is_ours(&self, id: &str) -> bool {
        id.to_lowercase()
            .ends_with(&format!("@{}", self.message_id_domain))
    }
}

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Already recorded (same Message-ID or content): nothing done.
    Duplicate,
    Created {
        request_id: i64,
        code: RequestCode,
        status: RequestStatus,
    },
    Updated {
        request_id: i64,
        code: RequestCode,
        status: RequestStatus,
    },
    Cancelled {
        request_id: i64,
        code: RequestCode,
    },
    /// A follow-up or cancellation from a known sender on a request that is not theirs
    /// ([`crate::authz`]): nothing changed, the sender is told so.
    Refused {
        request_id: i64,
    },
    /// From an unknown sender: kept for a coordinator, not answered.
    Held {
        request_id: Option<i64>,
    },
    /// Recorded, linked if possible, nothing changed (machine mail, a follow-up on a request
    /// past intake).
    Recorded {
        kind: String,
    },
    Quarantined {
        error: String,
    },
    Oversized,
}

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("inbound message {0} not found or not quarantined")]
    NotQuarantined(i64),
    #[error("request {0} is not waiting for review")]
    NotHeld(RequestCode),
    #[error("raw bytes of inbound message {0} were purged")]
    Purged(i64),
    #[error(transparent)]
    Core(crate::app::AppError),
}

impl From<crate::app::AppError> for IntakeError {
    fn from(e: crate::app::AppError) -> Self {
        match e {
            crate::app::AppError::Store(e) => IntakeError::Store(e),
            other => IntakeError::Core(other),
        }
    }
}

/// The pipeline, shared by the IMAP poller (as its [`MessageSink`]) and `ingest`.
pub struct Intake {
    store: Store,
    cfg: IntakeConfig,
    clock: Arc<dyn Clock>,
    /// Notified after each message is committed (the daemon's dispatcher waits on it).
    committed: Option<Arc<tokio::sync::Notify>>,
}

enum Target {
    Fresh { cursor: Option<(String, u32, u32)> },
    Existing(i64),
}

/// [`db_text`] on an owned optional value (the store strips NUL too; here it is stripped
/// before the values are compared and extracted).
fn db_opt(s: Option<String>) -> Option<String> {
    s.map(|s| db_text(&s))
}

fn content_id(raw: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(raw)))
}

impl Intake {
    pub fn new(store: Store, cfg: IntakeConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            cfg,
            clock,
            committed: None,
        }
    }

    /// Notifies `n` after each message is committed, so the dispatcher need not wait for its
    /// next round.
    /// The application core, with this intake's zone, language and Message-ID domain.
    fn core(&self) -> crate::app::Core {
        crate::app::Core::new(crate::dispatch::DispatchSettings {
            tz: self.cfg.timezone,
            message_id_domain: self.cfg.message_id_domain.clone(),
            lang: if self.cfg.lang.starts_with("en") {
                crate::config::Lang::En
            } else {
                crate::config::Lang::It
            },
            ..Default::default()
        })
    }

    pub fn with_wake(mut self, n: Arc<tokio::sync::Notify>) -> Self {
        self.committed = Some(n);
        self
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Takes in one message (from a file, or not through IMAP).
    pub async fn process(&self, raw: &[u8]) -> Result<Outcome, IntakeError> {
        self.run(raw, None, Target::Fresh { cursor: None }).await
    }

    async fn run(
        &self,
        raw: &[u8],
        oversized_size: Option<usize>,
        target: Target,
    ) -> Result<Outcome, IntakeError> {
        let outcome = self.run_inner(raw, oversized_size, target).await;
        if outcome.is_ok()
            && let Some(n) = &self.committed
        {
            n.notify_one();
        }
        outcome
    }

    async fn run_inner(
        &self,
        raw: &[u8],
        oversized_size: Option<usize>,
        target: Target,
    ) -> Result<Outcome, IntakeError> {
        let now = self.clock.now();
        let parsed = match oversized_size {
            // Only the header was fetched: parse it for the record, whatever its size.
            Some(size) => match parse_email(raw, &Limits::default()) {
                Ok(e) => Err(ParseError::Oversized {
                    size,
                    max: self.cfg.limits.max_size,
                    headers: Box::new(super::parse::HeaderSummary {
                        message_id: e.message_id,
                        from: e.from,
                        subject: e.subject,
                        date: e.date,
                    }),
                }),
                Err(_) => Err(ParseError::Oversized {
                    size,
                    max: self.cfg.limits.max_size,
                    headers: Box::default(),
                }),
            },
            None => parse_email(raw, &self.cfg.limits),
        };
        match parsed {
            Ok(email) => {
                let existing = match &target {
                    Target::Existing(id) => Some(*id),
                    Target::Fresh { .. } => None,
                };
                let cursor = match &target {
                    Target::Fresh { cursor } => cursor.clone(),
                    Target::Existing(_) => None,
                };
                match self.accept(raw, email, target, now).await {
                    // The database refused this message's data (not a lost connection): keep it
                    // in quarantine rather than block the mailbox on it forever.
                    Err(IntakeError::Store(StoreError::Db(sqlx::Error::Database(e)))) => {
                        let error = format!("store refused the message: {e}");
                        tracing::warn!(error = %error, "email intake: message quarantined");
                        let rec = NewInbound {
                            channel: CHANNEL.into(),
                            external_id: content_id(raw),
                            kind: "unprocessed".into(),
                            status: "quarantined".into(),
                            sender: None,
                            subject: None,
                            size_bytes: raw.len() as i64,
                            raw: Some(raw.to_vec()),
                            body: None,
                            error: Some(error.clone()),
                        };
                        let target = match existing {
                            Some(id) => Target::Existing(id),
                            None => Target::Fresh { cursor },
                        };
                        self.record_only(
                            rec,
                            target,
                            now,
                            Outcome::Quarantined { error },
                            Some("quarantined_email"),
                        )
                        .await
                    }
                    other => other,
                }
            }
            Err(ParseError::Oversized { size, headers, .. }) => {
                let rec = NewInbound {
                    channel: CHANNEL.into(),
                    external_id: db_opt(headers.message_id.clone())
                        .unwrap_or_else(|| content_id(raw)),
                    kind: "oversized".into(),
                    status: "oversized".into(),
                    sender: db_opt(headers.from.as_ref().map(|m| m.address.clone())),
                    subject: db_opt(headers.subject.clone()),
                    size_bytes: size as i64,
                    // The header block only: the body is left on the server.
                    raw: Some(super::parse::header_block(raw).to_vec()),
                    body: None,
                    error: Some(format!("{size} bytes over the size cap")),
                };
                self.record_only(
                    rec,
                    target,
                    now,
                    Outcome::Oversized,
                    Some("oversized_email"),
                )
                .await
            }
            Err(e) => {
                let error = e.to_string();
                let rec = NewInbound {
                    channel: CHANNEL.into(),
                    external_id: content_id(raw),
                    kind: "unparsed".into(),
                    status: "quarantined".into(),
                    sender: None,
                    subject: None,
                    size_bytes: raw.len() as i64,
                    raw: Some(raw.to_vec()),
                    body: None,
                    error: Some(error.clone()),
                };
                tracing::warn!(error = %error, "email intake: message quarantined");
                self.record_only(
                    rec,
                    target,
                    now,
                    Outcome::Quarantined { error },
                    Some("quarantined_email"),
                )
                .await
            }
        }
    }

    async fn begin(&self, target: &Target, now: DateTime<Utc>) -> Result<Tx, IntakeError> {
        let mut tx = self.store.begin().await?;
        if let Target::Fresh {
            cursor: Some((key, validity, uid)),
        } = target
        {
            tx.advance_imap_cursor(key, *validity, *uid, now).await?;
        }
        Ok(tx)
    }

    /// Records (or re-records) a message that changes nothing else.
    async fn record_only(
        &self,
        rec: NewInbound,
        target: Target,
        now: DateTime<Utc>,
        outcome: Outcome,
        alert: Option<&str>,
    ) -> Result<Outcome, IntakeError> {
        let mut tx = self.begin(&target, now).await?;
        let id = match target {
            Target::Existing(id) => {
                tx.set_inbound_outcome(id, &rec.kind, &rec.status, rec.error.as_deref(), None)
                    .await?;
                id
            }
            Target::Fresh { .. } => match tx.record_inbound(&rec, now).await? {
                Some(id) => id,
                None => {
                    tx.commit().await?;
                    return Ok(Outcome::Duplicate);
                }
            },
        };
        if let Some(action) = alert {
            let detail = format!("inbound {id}");
            tx.audit(now, "process:email", None, action, Some(&detail))
                .await?;
            let id_text = id.to_string();
            self.alert(
                &mut tx,
                &format!("{action}:{id}"),
                None,
                &format!("alert_{action}"),
                &[("id", &id_text)],
                now,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(outcome)
    }

    async fn sender_policy(
        &self,
        address: Option<&str>,
    ) -> Result<(bool, Option<Operator>), IntakeError> {
        let Some(address) = address else {
            return Ok((false, None));
        };
        let operator = self
            .store
            .operator_by_email(address)
            .await?
            .filter(|o| o.active);
        let domain = address.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        let allowed = operator.is_some()
            || self
                .cfg
                .allowed_senders
                .iter()
                .any(|a| a.eq_ignore_ascii_case(address))
            || self
                .cfg
                .allowed_sender_domains
                .iter()
                .any(|d| d.eq_ignore_ascii_case(domain));
        Ok((allowed, operator))
    }

    async fn accept(
        &self,
        raw: &[u8],
        mut email: InboundEmail,
        target: Target,
        now: DateTime<Utc>,
    ) -> Result<Outcome, IntakeError> {
        // The envelope's domain, when its PEC header was not trusted: noted on the request, so a
        // coordinator can add a real provider to `intake.pec_provider_domains`.
        let untrusted_pec = email
            .distrust_forged_pec(&self.cfg.pec_provider_domains)
            .then(|| {
                email
                    .from
                    .as_ref()
                    .and_then(|m| m.domain())
                    .map(db_text)
                    .unwrap_or_default()
            });
        if untrusted_pec.is_some() {
            tracing::warn!(
                "email intake: X-Trasporto from a sender that is not a PEC provider ignored"
            );
        }
        let class = {
            let is_ours = |id: &str| self.cfg.is_ours(id);
            let ctx = Context {
                is_ours: &is_ours,
                own_addresses: &self.cfg.own_addresses,
            };
            classify(&email, &ctx)
        };
        // Does the trusted receiving server vouch for the From address (DMARC)?
        let dmarc = dmarc_verdict(
            raw,
            email.from.as_ref().and_then(|m| m.domain()),
            self.cfg.trusted_authserv_id.as_deref(),
        );
        email.dmarc_vouched = dmarc.passed();
        let eff = email.effective();
        // Who wrote it is the From address (the one a receiving MX can check with SPF/DKIM/DMARC),
        // never a display name and never Reply-To: a `Reply-To: <operator>` on a stranger's mail
        // must not make it the operator's.
        let sender = db_opt(eff.from.as_ref().map(|m| m.address.clone()));
        let prepared = db_text(&text::prepare(
            eff.text_plain.as_deref(),
            eff.text_html.as_deref(),
        ));
        let external_id = db_opt(email.message_id.clone()).unwrap_or_else(|| content_id(raw));
        let (accepted, operator) = if class.acts_on_request() {
            self.sender_policy(sender.as_deref()).await?
        } else {
            (false, None)
        };
        // Our replies go to Reply-To: only to an address that would pass the policy itself (or
        // the sender's own), so a stranger's address cannot collect what we send.
        let reply_to = db_opt(eff.reply_to.as_ref().map(|m| m.address.clone()));
        let reply_to_ok = match &reply_to {
            Some(r) if Some(r) != sender.as_ref() && class.acts_on_request() => {
                self.sender_policy(Some(r)).await?.0
            }
            _ => true,
        };

        let mut tx = self.begin(&target, now).await?;
        // Which request does a follow-up or cancellation point at?
        let thread = match &class {
            Class::FollowUp(t) | Class::Cancellation(t) => Some(t.clone()),
            _ => None,
        };
        let mut target_request: Option<Request> = None;
        if let Some(t) = &thread {
            let code = t
                .code
                .or_else(|| t.our_message_id.as_deref().and_then(RequestCode::find_in));
            if let Some(code) = code
                && let Some(id) = tx.request_id_by_code(code).await?
            {
                target_request = Some(tx.request_by_id(id).await?);
            }
        }
        // A reference to nothing we know is a new request.
        let class = match (&class, &target_request) {
            (Class::FollowUp(_) | Class::Cancellation(_), None) => Class::NewRequest,
            _ => class,
        };
        // On an existing request the one authorisation table decides ([`crate::authz`]): its
        // requester (by operator id or address) or a coordinator may act, even if not on the
        // lists; anyone else known is refused with a reply, an unknown sender is held.
        let verdict = match (&class, &target_request) {
            (Class::FollowUp(_) | Class::Cancellation(_), Some(r)) => {
                let actor = email_actor(
                    &mut tx,
                    sender.as_deref(),
                    operator.as_ref(),
                    email.dmarc_vouched,
                )
                .await?;
                let action = match class {
                    Class::Cancellation(_) => Action::Cancel,
                    _ => Action::AddInfo,
                };
                let v = authorize(&actor, action, &RequestFacts::of(r));
                if let Err(d) = v {
                    tracing::warn!(request = %r.code, actor = %actor.audit_name(), ?action, denied = %d, "email: refused");
                }
                Some(v)
            }
            _ => None,
        };
        let refused = reply_to_ok && accepted && matches!(verdict, Some(Err(_)));
        // A Reply-To that would not pass the sender policy holds the mail whoever sent it:
        // our replies never go to a stranger's address.
        let accepted = reply_to_ok
            && match verdict {
                Some(v) => v.is_ok(),
                None => accepted,
            };
        // `intake.require_dmarc_pass`: mail that would be acted on or answered, from a sender
        // the trusted server did not vouch for, is held (no reply), with the reason.
        let dmarc_hold = ((accepted || refused) && self.cfg.require_dmarc_pass && !dmarc.passed())
            .then(|| dmarc.reason(&self.cfg.lang, self.cfg.trusted_authserv_id.as_deref()));
        if dmarc_hold.is_some() {
            tracing::warn!(
                dmarc = dmarc.code(),
                "email intake: allowed sender without a DMARC pass; held"
            );
        }
        let accepted = accepted && dmarc_hold.is_none();
        let refused = refused && dmarc_hold.is_none();
        let held_detail = |d: String| match &dmarc_hold {
            Some(r) => format!("{d}; {r}"),
            None => d,
        };
        let status = if !class.acts_on_request() {
            "ignored"
        } else if accepted {
            "processed"
        } else if refused {
            "refused"
        } else {
            "held"
        };
        let rec = NewInbound {
            channel: CHANNEL.into(),
            external_id,
            kind: class.as_str().into(),
            status: status.into(),
            sender: sender.clone(),
            subject: db_opt(eff.subject.clone()),
            size_bytes: email.size as i64,
            raw: Some(raw.to_vec()),
            body: Some(prepared.clone()),
            error: None,
        };
        let inbound_id = match target {
            Target::Existing(id) => {
                tx.set_inbound_outcome(id, &rec.kind, &rec.status, None, Some(&prepared))
                    .await?;
                id
            }
            Target::Fresh { .. } => match tx.record_inbound(&rec, now).await? {
                Some(id) => id,
                None => {
                    tx.commit().await?;
                    return Ok(Outcome::Duplicate);
                }
            },
        };

        let reading = db_text(&text::reading(
            eff.subject.as_deref(),
            eff.text_plain.as_deref(),
            eff.text_html.as_deref(),
        ));
        let outcome = match class {
            Class::NewRequest => {
                let display_name = eff.from.as_ref().and_then(|m| m.name.clone());
                let sender_info = SenderInfo {
                    name: display_name
                        .clone()
                        .or_else(|| operator.as_ref().map(|o| o.name.clone())),
                    ente: operator.as_ref().map(|o| o.ente.clone()),
                    ambito: operator.as_ref().map(|o| o.ambito),
                    email: sender.clone(),
                    phone: operator.as_ref().and_then(|o| o.phone.clone()),
                };
                let u = understand::understand(
                    &reading,
                    now,
                    &self.cfg.extract_settings(),
                    sender_info,
                );
                let complete_status = u.status();
                let notes = u.notes;
                let mut fields = u.fields;
                fields.channel = Some(Channel::Email);
                fields.requester_email = sender.clone();
                fields.requester_name = db_opt(
                    display_name
                        .or(fields.requester_name.take())
                        .or_else(|| operator.as_ref().map(|o| o.name.clone())),
                );
                if let Some(op) = &operator {
                    fields.operator_id = Some(op.id);
                    fields.ente = Some(op.ente.clone());
                    fields.ambito = Some(op.ambito);
                    if fields.requester_phone.is_none() {
                        fields.requester_phone = op.phone.clone();
                    }
                }
                fields.source_message_id = db_opt(eff.message_id.clone());
                fields.subject = db_opt(eff.subject.clone());
                // One sender opening request after request within the hour: hold the rest.
                let cap = i64::from(self.cfg.max_new_requests_per_sender_per_hour);
                let flood = match (&sender, accepted && cap > 0) {
                    (Some(s), true) => {
                        let n = tx
                            .email_requests_from_since(s, now - chrono::Duration::hours(1))
                            .await?;
                        (n >= cap).then_some(s.clone())
                    }
                    _ => None,
                };
                let accepted = accepted && flood.is_none();
                fields.status = Some(if accepted {
                    complete_status
                } else {
                    RequestStatus::NeedsReview
                });
                let request = tx.create_request(&fields, now).await?;
                tx.link_inbound(inbound_id, request.id).await?;
                record_attachments(&mut tx, eff, request.id, now).await?;
                if let Some(domain) = &untrusted_pec {
                    let detail = format!(
                        "PEC envelope from {domain} not opened: not in intake.pec_provider_domains"
                    );
                    tx.audit(
                        now,
                        "process:email",
                        Some(request.id),
                        "pec_untrusted",
                        Some(&detail),
                    )
                    .await?;
                }
                if accepted {
                    let body = replies::ack_body(&self.cfg.lang, &request, false, &notes);
                    self.enqueue_reply(&mut tx, &email, &request, "ack", inbound_id, body, now)
                        .await?;
                    Outcome::Created {
                        request_id: request.id,
                        code: request.code,
                        status: request.status,
                    }
                } else if let Some(from) = flood {
                    // One alert per sender and hour, not one per held request.
                    tracing::warn!(request = %request.code, "email intake: sender over the hourly cap of new requests; held");
                    tx.audit(now, "process:email", Some(request.id), "flood_held", None)
                        .await?;
                    let (code, max) = (request.code.to_string(), cap.to_string());
                    let hour = now.timestamp() / 3600;
                    let who = content_id(from.to_ascii_lowercase().as_bytes());
                    self.alert(
                        &mut tx,
                        &format!("flood:{who}:{hour}"),
                        Some(request.id),
                        "alert_sender_flood",
                        &[("code", &code), ("max", &max)],
                        now,
                    )
                    .await?;
                    Outcome::Held {
                        request_id: Some(request.id),
                    }
                } else if let Some(reason) = &dmarc_hold {
                    tx.audit(
                        now,
                        "process:email",
                        Some(request.id),
                        "dmarc_held",
                        Some(reason),
                    )
                    .await?;
                    let code = request.code.to_string();
                    self.alert(
                        &mut tx,
                        &format!("held:{}", request.id),
                        Some(request.id),
                        "alert_held_dmarc",
                        &[("code", &code), ("reason", reason)],
                        now,
                    )
                    .await?;
                    Outcome::Held {
                        request_id: Some(request.id),
                    }
                } else {
                    let code = request.code.to_string();
                    self.alert(
                        &mut tx,
                        &format!("held:{}", request.id),
                        Some(request.id),
                        "alert_held_email",
                        &[("code", &code)],
                        now,
                    )
                    .await?;
                    Outcome::Held {
                        request_id: Some(request.id),
                    }
                }
            }
            Class::FollowUp(_) => {
                let request = target_request
                    .ok_or_else(|| StoreError::Corrupt("follow-up without its request".into()))?;
                tx.link_inbound(inbound_id, request.id).await?;
                let detail = held_detail(format!("inbound {inbound_id}"));
                if refused {
                    self.refuse(
                        &mut tx,
                        &email,
                        &request,
                        "follow_up_refused",
                        inbound_id,
                        now,
                    )
                    .await?
                } else if !accepted {
                    tx.audit(
                        now,
                        "process:email",
                        Some(request.id),
                        "follow_up_held",
                        Some(&detail),
                    )
                    .await?;
                    Outcome::Held {
                        request_id: Some(request.id),
                    }
                } else if matches!(
                    request.status,
                    RequestStatus::Received | RequestStatus::NeedsInfo
                ) {
                    // The body only: the subject of a reply repeats the request code.
                    let u =
                        understand::merge(&request, &prepared, now, &self.cfg.extract_settings());
                    let mut updated = tx.update_request_fields(request.id, &u.fields, now).await?;
                    if u.missing.is_empty() {
                        updated = tx
                            .transition(updated.id, RequestStatus::Queued, "process:email", now)
                            .await?;
                    } else if updated.status == RequestStatus::Received {
                        updated = tx
                            .transition(updated.id, RequestStatus::NeedsInfo, "process:email", now)
                            .await?;
                    }
                    let body = replies::ack_body(&self.cfg.lang, &updated, true, &u.notes);
                    self.enqueue_reply(&mut tx, &email, &updated, "update", inbound_id, body, now)
                        .await?;
                    Outcome::Updated {
                        request_id: updated.id,
                        code: updated.code,
                        status: updated.status,
                    }
                } else if matches!(
                    request.status,
                    RequestStatus::Assigned | RequestStatus::Confirmed | RequestStatus::Done
                ) && let Some((score, comment)) = evaluation_of(&prepared)
                {
                    // The answer to "how did it go? (1-5)": the core's evaluation, refused
                    // before the appointment has happened (then kept as a follow-up).
                    let actor = email_actor(
                        &mut tx,
                        sender.as_deref(),
                        operator.as_ref(),
                        email.dmarc_vouched,
                    )
                    .await?;
                    match crate::app::evaluation::evaluate(
                        &self.core(),
                        &mut tx,
                        &actor,
                        request.id,
                        score,
                        comment.as_deref(),
                        now,
                    )
                    .await
                    {
                        Ok(()) => Outcome::Recorded {
                            kind: "evaluation".into(),
                        },
                        Err(crate::app::AppError::Store(e)) => return Err(e.into()),
                        Err(_) => {
                            tx.audit(
                                now,
                                "process:email",
                                Some(request.id),
                                "evaluation_refused",
                                Some(&detail),
                            )
                            .await?;
                            Outcome::Recorded {
                                kind: "follow_up".into(),
                            }
                        }
                    }
                } else {
                    // Past intake: the coordinator reads it; fields are not changed silently.
                    tx.audit(
                        now,
                        "process:email",
                        Some(request.id),
                        "follow_up_received",
                        Some(&detail),
                    )
                    .await?;
                    Outcome::Recorded {
                        kind: "follow_up".into(),
                    }
                }
            }
            Class::Cancellation(_) => {
                let request = target_request.ok_or_else(|| {
                    StoreError::Corrupt("cancellation without its request".into())
                })?;
                tx.link_inbound(inbound_id, request.id).await?;
                if refused {
                    self.refuse(
                        &mut tx,
                        &email,
                        &request,
                        "cancellation_refused",
                        inbound_id,
                        now,
                    )
                    .await?
                } else if !accepted {
                    let detail = held_detail(format!("inbound {inbound_id}"));
                    tx.audit(
                        now,
                        "process:email",
                        Some(request.id),
                        "cancellation_held",
                        Some(&detail),
                    )
                    .await?;
                    Outcome::Held {
                        request_id: Some(request.id),
                    }
                } else if request.status.can_become(RequestStatus::Cancelled) {
                    // The one cancellation of the core: mediator told, offers withdrawn,
                    // reminders dropped, late flag — in this transaction.
                    let actor = email_actor(
                        &mut tx,
                        sender.as_deref(),
                        operator.as_ref(),
                        email.dmarc_vouched,
                    )
                    .await?;
                    let cancelled =
                        crate::app::cancel::cancel(&self.core(), &mut tx, &actor, request.id, now)
                            .await?
                            .request;
                    let body = replies::cancel_body(&self.cfg.lang, &cancelled);
                    self.enqueue_reply(
                        &mut tx, &email, &cancelled, "cancel", inbound_id, body, now,
                    )
                    .await?;
                    Outcome::Cancelled {
                        request_id: cancelled.id,
                        code: cancelled.code,
                    }
                } else {
                    Outcome::Recorded {
                        kind: "cancellation".into(),
                    }
                }
            }
            other => Outcome::Recorded {
                kind: other.as_str().into(),
            },
        };
        tx.commit().await?;
        match &outcome {
            Outcome::Created { code, status, .. } | Outcome::Updated { code, status, .. } => {
                tracing::info!(inbound_id, code = %code, status = %status.as_str(), "email intake: request");
            }
            other => tracing::info!(inbound_id, outcome = ?outcome_name(other), "email intake"),
        }
        Ok(outcome)
    }

    /// A known sender acted on a request that is not theirs: audited, answered that nothing
    /// changed (the reply names only the code they wrote), the request untouched.
    async fn refuse(
        &self,
        tx: &mut Tx,
        email: &InboundEmail,
        request: &Request,
        action: &str,
        inbound_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Outcome, IntakeError> {
        let detail = format!("inbound {inbound_id}");
        tx.audit(
            now,
            "process:email",
            Some(request.id),
            action,
            Some(&detail),
        )
        .await?;
        let body = replies::refused_body(&self.cfg.lang, request);
        self.enqueue_reply(tx, email, request, "refused", inbound_id, body, now)
            .await?;
        Ok(Outcome::Refused {
            request_id: request.id,
        })
    }

    /// Alerts every coordinator (once per `key`) with the prompt `text_key` in the intake's
    /// language.
    async fn alert(
        &self,
        tx: &mut Tx,
        key: &str,
        request_id: Option<i64>,
        text_key: &str,
        args: &[(&str, &str)],
        now: DateTime<Utc>,
    ) -> Result<(), IntakeError> {
        let text = replies::text(&self.cfg.lang, text_key, args);
        let subject = replies::text(&self.cfg.lang, "alert_subject", &[]);
        crate::alerts::to_coordinators(
            tx,
            key,
            request_id,
            &subject,
            &text,
            &self.cfg.message_id_domain,
            now,
        )
        .await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn enqueue_reply(
        &self,
        tx: &mut Tx,
        email: &InboundEmail,
        request: &Request,
        kind: &str,
        inbound_id: i64,
        body: String,
        now: DateTime<Utc>,
    ) -> Result<(), IntakeError> {
        let eff = email.effective();
        let Some(to) = eff.reply_address().map(|m| m.address.clone()) else {
            return Ok(());
        };
        let code = request.code.to_string();
        // A reply loop (an autoresponder answering every answer, with or without our code) ends
        // here: past the cap the mail is recorded, not answered, and the coordinators are told
        // once. The outbox's per-recipient cap bounds the rate before that.
        let queued = tx.email_replies_for_request(request.id).await?;
        if queued >= MAX_AUTO_REPLIES_PER_REQUEST {
            let detail = format!("inbound {inbound_id}");
            tx.audit(
                now,
                "process:email",
                Some(request.id),
                "reply_capped",
                Some(&detail),
            )
            .await?;
            let max = MAX_AUTO_REPLIES_PER_REQUEST.to_string();
            self.alert(
                tx,
                &format!("reply_cap:{}", request.id),
                Some(request.id),
                "alert_reply_loop",
                &[("code", &code), ("max", &max)],
                now,
            )
            .await?;
            tracing::warn!(request_id = request.id, "email intake: reply cap reached");
            return Ok(());
        }
        let message_id = format!(
            "{}.{kind}.{inbound_id}@{}",
            code.to_lowercase(),
            self.cfg.message_id_domain
        );
        // Thread on the message the person wrote (the inner one of a PEC envelope).
        let answered = eff.message_id.clone().or_else(|| email.message_id.clone());
        let mut references: Vec<String> = eff.references.clone();
        if let Some(a) = &answered
            && !references.contains(a)
        {
            references.push(a.clone());
        }
        let skip = references.len().saturating_sub(10);
        let references = references.split_off(skip);
        let payload = Payload::Email(EmailPayload {
            to,
            subject: replies::reply_subject(&self.cfg.lang, &code, eff.subject.as_deref()),
            body,
            message_id,
            in_reply_to: answered,
            references,
        });
        tx.enqueue(
            &format!("email:{kind}:{inbound_id}"),
            Some(request.id),
            &payload,
            now,
        )
        .await?;
        Ok(())
    }

    /// Re-processes a quarantined message (after a fix, or with other limits).
    /// A coordinator's decision on a request held from an unknown sender: accepted, it goes on
    /// (queued, or waiting for the missing fields) and the sender gets the acknowledgement on
    /// their thread; rejected, it is cancelled without any reply (no backscatter).
    pub async fn review_held(
        &self,
        request_id: i64,
        accept: bool,
        actor: &str,
    ) -> Result<Outcome, IntakeError> {
        let now = self.clock.now();
        let request = self.store.request_by_id(request_id).await?;
        if request.status != RequestStatus::NeedsReview {
            return Err(IntakeError::NotHeld(request.code));
        }
        let source = self
            .store
            .inbound(CHANNEL, None)
            .await?
            .into_iter()
            .find(|m| m.request_id == Some(request_id));
        let email = match &source {
            Some(m) => self
                .store
                .inbound_raw(m.id)
                .await?
                .and_then(|raw| parse_email(&raw, &self.cfg.limits).ok())
                .map(|mut e| {
                    e.distrust_forged_pec(&self.cfg.pec_provider_domains);
                    e
                }),
            None => None,
        };
        let mut tx = self.store.begin().await?;
        if !accept {
            let who = crate::app::managing_actor(actor).unwrap_or(crate::authz::Actor::Cli);
            crate::app::cancel::cancel(&self.core(), &mut tx, &who, request_id, now).await?;
            tx.audit(now, actor, Some(request_id), "review_rejected", None)
                .await?;
            tx.commit().await?;
            return Ok(Outcome::Cancelled {
                request_id,
                code: request.code,
            });
        }
        let to = if request.missing.is_empty() {
            RequestStatus::Queued
        } else {
            RequestStatus::NeedsInfo
        };
        let updated = tx.transition(request_id, to, actor, now).await?;
        tx.audit(now, actor, Some(request_id), "review_accepted", None)
            .await?;
        if let (Some(m), Some(email)) = (&source, &email) {
            let body = replies::ack_body(&self.cfg.lang, &updated, false, &[]);
            self.enqueue_reply(&mut tx, email, &updated, "ack", m.id, body, now)
                .await?;
        }
        tx.commit().await?;
        Ok(Outcome::Created {
            request_id,
            code: updated.code,
            status: updated.status,
        })
    }

    pub async fn retry_quarantined(&self, id: i64) -> Result<Outcome, IntakeError> {
        let row = self
            .store
            .inbound_by_id(id)
            .await?
            .filter(|r| r.channel == CHANNEL && r.status == "quarantined")
            .ok_or(IntakeError::NotQuarantined(id))?;
        let raw = self
            .store
            .inbound_raw(row.id)
            .await?
            .ok_or(IntakeError::Purged(id))?;
        self.run(&raw, None, Target::Existing(row.id)).await
    }
}

/// A reply to the evaluation question: its first line is only a score from 1 to 5 ("4",
/// "Voto: 5", "valutazione 3/5"); the lines after it are the comment. "3 persone presenti" is not
/// a score.
pub fn evaluation_of(text: &str) -> Option<(i64, Option<String>)> {
    static SCORE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)^(?:valutazione|voto|punteggio|rating|score)?\s*[:=]?\s*([1-5])\s*(?:/\s*5)?\s*[.!]?$",
        )
        .expect("constant regex")
    });
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next()?;
    let caps = SCORE.captures(first)?;
    let score = caps.get(1)?.as_str().parse().ok()?;
    let comment = lines.collect::<Vec<_>>().join("\n");
    Some((score, (!comment.is_empty()).then(|| db_text(&comment))))
}

/// Attachments (name, type, size: the bytes stay in the raw message for the retention period)
/// and an unreadable winmail.dat go on the request's audit trail for the coordinator.
async fn record_attachments(
    tx: &mut Tx,
    email: &InboundEmail,
    request_id: i64,
    now: DateTime<Utc>,
) -> Result<(), IntakeError> {
    if !email.attachments.is_empty() {
        let list: Vec<serde_json::Value> = email
            .attachments
            .iter()
            .map(|a| {
                serde_json::json!({
                    "name": a.name.as_deref().map(db_text),
                    "type": db_text(&a.content_type),
                    "size": a.size,
                })
            })
            .collect();
        let detail = serde_json::Value::Array(list).to_string();
        tx.audit(
            now,
            "process:email",
            Some(request_id),
            "attachments",
            Some(&detail),
        )
        .await?;
    }
    if email.winmail_dat {
        tx.audit(
            now,
            "process:email",
            Some(request_id),
            "winmail_dat",
            Some("Outlook winmail.dat (TNEF): its content cannot be read here"),
        )
        .await?;
    }
    Ok(())
}

/// Who an email acting on an existing request comes from, for [`crate::authz`]: a
/// coordinator (by address), else a requester known by operator record and/or address.
/// Who acts by this email. A coordinator's powers need the trusted server's DMARC pass
/// (`dmarc_vouched`): without it, a coordinator's address acts as a requester's.
async fn email_actor(
    tx: &mut Tx,
    sender: Option<&str>,
    operator: Option<&Operator>,
    dmarc_vouched: bool,
) -> Result<Actor, StoreError> {
    if dmarc_vouched
        && let Some(s) = sender
        && let Some(c) = tx.all_coordinators().await?.into_iter().find(|c| {
            c.email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(s))
        })
    {
        return Ok(Actor::Coordinator { id: c.id });
    }
    Ok(Actor::Operator {
        id: operator.map(|o| o.id),
        email: sender.map(str::to_owned),
        chat_id: None,
        active: true,
    })
}

fn outcome_name(o: &Outcome) -> &'static str {
    match o {
        Outcome::Duplicate => "duplicate",
        Outcome::Created { .. } => "created",
        Outcome::Updated { .. } => "updated",
        Outcome::Cancelled { .. } => "cancelled",
        Outcome::Held { .. } => "held",
        Outcome::Refused { .. } => "refused",
        Outcome::Recorded { .. } => "recorded",
        Outcome::Quarantined { .. } => "quarantined",
        Outcome::Oversized => "oversized",
    }
}

impl MessageSink for Intake {
    fn load_cursor<'a>(&'a self, mailbox_key: &'a str) -> SinkFuture<'a, Option<Cursor>> {
        Box::pin(async move {
            self.store
                .imap_cursor(mailbox_key)
                .await
                .map_err(|e| SinkError(e.to_string()))
        })
    }

    fn reset_cursor<'a>(&'a self, mailbox_key: &'a str, uid_validity: u32) -> SinkFuture<'a, ()> {
        Box::pin(async move {
            let now = self.clock.now();
            let r: Result<(), StoreError> = async {
                let mut tx = self.store.begin().await?;
                tx.set_imap_cursor(
                    mailbox_key,
                    Cursor {
                        uid_validity,
                        last_uid: 0,
                    },
                    now,
                )
                .await?;
                tx.commit().await
            }
            .await;
            r.map_err(|e| SinkError(e.to_string()))
        })
    }

    fn commit<'a>(&'a self, m: FetchedMessage) -> SinkFuture<'a, ()> {
        Box::pin(async move {
            let target = Target::Fresh {
                cursor: Some((m.mailbox_key.clone(), m.uid_validity, m.uid)),
            };
            let oversized = m.oversized.then_some(m.size);
            self.run(&m.raw, oversized, target)
                .await
                .map(|_| ())
                .map_err(|e| SinkError(e.to_string()))
        })
    }
}

/// Counts of what `ingest` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestReport {
    pub files: usize,
    pub created: usize,
    pub updated: usize,
    pub cancelled: usize,
    pub held: usize,
    /// Follow-ups and cancellations refused: the request is someone else's.
    pub refused: usize,
    pub recorded: usize,
    pub duplicates: usize,
    pub quarantined: usize,
    pub oversized: usize,
    /// Files that could not be read, with the reason.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// `connecting ingest PATH...`: .eml files, Maildirs (cur/ and new/) or directories (every .eml
/// below), through the same pipeline as IMAP.
pub async fn ingest_paths(
    store: &Store,
    cfg: &IntakeConfig,
    paths: &[PathBuf],
) -> Result<IngestReport, IntakeError> {
    let intake = Intake::new(store.clone(), cfg.clone(), Arc::new(SystemClock));
    ingest_with(&intake, paths).await
}

/// [`ingest_paths`] with a given pipeline (its clock, its config).
pub async fn ingest_with(intake: &Intake, paths: &[PathBuf]) -> Result<IngestReport, IntakeError> {
    let mut files = Vec::new();
    let mut report = IngestReport::default();
    for p in paths {
        collect(p, &mut files, &mut report.unreadable);
    }
    for f in files {
        let raw = match std::fs::read(&f) {
            Ok(r) => r,
            Err(e) => {
                report.unreadable.push((f, e.to_string()));
                continue;
            }
        };
        report.files += 1;
        match intake.process(&raw).await? {
            Outcome::Duplicate => report.duplicates += 1,
            Outcome::Created { .. } => report.created += 1,
            Outcome::Updated { .. } => report.updated += 1,
            Outcome::Cancelled { .. } => report.cancelled += 1,
            Outcome::Held { .. } => report.held += 1,
            Outcome::Refused { .. } => report.refused += 1,
            Outcome::Recorded { .. } => report.recorded += 1,
            Outcome::Quarantined { .. } => report.quarantined += 1,
            Outcome::Oversized => report.oversized += 1,
        }
    }
    Ok(report)
}

fn collect(path: &Path, out: &mut Vec<PathBuf>, bad: &mut Vec<(PathBuf, String)>) {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            bad.push((path.to_path_buf(), e.to_string()));
            return;
        }
    };
    if meta.is_file() {
        out.push(path.to_path_buf());
        return;
    }
    let is_maildir = path.join("cur").is_dir() && path.join("new").is_dir();
    let mut entries: Vec<PathBuf> = match std::fs::read_dir(path) {
        Ok(rd) => rd.flatten().map(|e| e.path()).collect(),
        Err(e) => {
            bad.push((path.to_path_buf(), e.to_string()));
            return;
        }
    };
    entries.sort();
    for e in entries {
        let name = e
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') {
            continue;
        }
        if is_maildir {
            if (name == "cur" || name == "new") && e.is_dir() {
                let mut mails: Vec<PathBuf> = std::fs::read_dir(&e)
                    .map(|rd| {
                        rd.flatten()
                            .map(|x| x.path())
                            .filter(|x| x.is_file())
                            .collect()
                    })
                    .unwrap_or_default();
                mails.sort();
                out.extend(mails);
            }
        } else if e.is_dir() {
            collect(&e, out, bad);
        } else if e.extension().is_some_and(|x| x.eq_ignore_ascii_case("eml")) {
            out.push(e);
        }
    }
}

/// `connecting quarantine list`: the quarantined email messages, oldest first.
pub async fn quarantine_list(store: &Store) -> Result<Vec<Inbound>, IntakeError> {
    Ok(store.inbound(CHANNEL, Some("quarantined")).await?)
}

/// `connecting quarantine retry ID`.
pub async fn quarantine_retry(
    store: &Store,
    cfg: &IntakeConfig,
    id: i64,
) -> Result<Outcome, IntakeError> {
    Intake::new(store.clone(), cfg.clone(), Arc::new(SystemClock))
        .retry_quarantined(id)
        .await
}

#[cfg(test)]
mod evaluation_tests {
    use super::evaluation_of;

    #[test]
    fn a_reply_with_a_score_is_an_evaluation() {
        assert_eq!(evaluation_of("4"), Some((4, None)));
        assert_eq!(
            evaluation_of("Voto: 5\nMediatrice puntuale e chiara."),
            Some((5, Some("Mediatrice puntuale e chiara.".into())))
        );
        assert_eq!(evaluation_of("\n  valutazione 3/5 \n"), Some((3, None)));
        assert_eq!(evaluation_of("3 persone erano presenti"), None);
        assert_eq!(evaluation_of("7"), None);
        assert_eq!(evaluation_of("Grazie, a presto"), None);
        assert_eq!(evaluation_of(""), None);
    }
}
