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
//! - machines (bounces, auto-replies, receipts, lists, our own mail: by our keyed mark only,
//!   [`crate::store::mark`]) are recorded and never answered; unknown senders are held
//!   (`needs_review`) and never answered (no backscatter); every message that creates no request
//!   carries its [`Reason`] (`connecting inbound list`);
//! - the sender policy is decided once for every path (`Intake::accept`: read -> standing ->
//!   find_request -> decide -> record -> new_request | follow_up | cancellation): a From that is
//!   not exactly one mailbox is nobody; on an existing request [`crate::authz`] decides, with a
//!   coordinator's address acting as a requester unless [`InboundEmail::dmarc_vouched`].

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::auth_results::{Dmarc, dmarc_verdict};
use super::classify::{Class, Context, classify};
use super::imap::{Cursor, FetchedMessage, MessageSink, SinkError, SinkFuture};
use super::parse::{EmailAddress, InboundEmail, Limits, ParseError, parse_email};
use super::{replies, text, understand};
use crate::authz::Actor;
use crate::clock::{Clock, SystemClock};
use crate::domain::{Channel, RequestCode, RequestStatus};
use crate::extract::SenderInfo;
use crate::outbox::{EmailPayload, Payload};
use crate::store::mark::MarkKey;
use crate::store::{
    Inbound, Mediator, NewInbound, Operator, Request, Store, StoreError, Tx, db_text,
};

pub const CHANNEL: &str = "email";

/// Most automatic replies (acknowledgement, questions, confirmations) the email intake sends
/// about one request; past it, mail on the request is recorded without a reply and the
/// coordinators are alerted (a reply loop).
pub const MAX_AUTO_REPLIES_PER_REQUEST: i64 = 8;

/// What intake needs to know (the `[intake]` and `[smtp]` parts of the config that matter here).
#[derive(Debug, Clone)]
pub struct IntakeConfig {
    /// Addresses we send from (lower case). Mail from them is NOT taken as ours: only our mark
    /// says that ([`crate::store::mark`]).
    pub own_addresses: Vec<String>,
    /// Right-hand side of our Message-IDs, e.g. `connecting.coop.example` (they also carry our
    /// mark; the domain alone proves nothing).
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
    /// The organizer of our calendar invitations (`[smtp] from`): the cancellation of an
    /// appointment by email carries its `CANCEL`. By default our own address, without a name.
    pub organizer: Option<crate::ics::Party>,
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
            organizer: Some(crate::ics::Party {
                name: String::new(),
                email: Some(own_address.to_lowercase()),
            }),
        }
    }

    fn extract_settings(&self) -> understand::Settings {
        understand::Settings {
            tz: self.timezone,
            min_notice_hours: self.min_notice_hours,
        }
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
            crate::app::AppError::NotHeld(code) => IntakeError::NotHeld(code),
            other => IntakeError::Core(other),
        }
    }
}

/// The pipeline, shared by the IMAP poller (as its [`MessageSink`]) and `ingest`.
#[derive(Clone)]
pub struct Intake {
    store: Store,
    cfg: IntakeConfig,
    clock: Arc<dyn Clock>,
    /// Notified after each message is committed (the daemon's dispatcher waits on it).
    committed: Option<Arc<tokio::sync::Notify>>,
    /// The key of our mark, read once.
    mark: std::sync::OnceLock<MarkKey>,
    /// The channels' renderers, for the core's notices.
    renderers: crate::app::notice::Renderers,
}

enum Target {
    Fresh { cursor: Option<(String, u32, u32)> },
    Existing(i64),
}

/// What intake read off one message ([`Intake::read`]).
struct Reading {
    email: InboundEmail,
    class: Class,
    /// The From mailbox, when it is exactly one valid mailbox.
    sender: Option<EmailAddress>,
    from_invalid: bool,
    reply_to: Option<EmailAddress>,
    reply_to_invalid: bool,
    display_name: Option<String>,
    subject: Option<String>,
    source_message_id: Option<String>,
    /// The new text (quotes and signatures cut), NUL-free.
    prepared: String,
    /// The whole mail as the extractor reads it: new text, quoted and forwarded parts without
    /// their headers, the subject ([`text::reading`]), NUL-free.
    whole: String,
    /// Message-ID and content: two different messages sharing a Message-ID are two messages.
    external_id: String,
    dmarc_vouched: bool,
    /// The trusted receiving server's DMARC verdict on the From domain.
    dmarc: Dmarc,
    /// The envelope's domain of a PEC header that was not trusted.
    untrusted_pec: Option<String>,
}

/// The sender as the sender policy sees it.
enum Standing {
    /// Passes the policy: a registered active operator (`operator`), a registered
    /// coordinator, an allowed sender or an address of an allowed domain.
    Known { operator: Option<Operator> },
    /// A registered active mediator writing from their address (one reached by email, with no
    /// Telegram to press buttons on): on an existing request their reply answers what they
    /// were asked ([`Intake::mediator_reply`]), never changes the request; a new request from
    /// them is held for review.
    Mediator(Box<Mediator>),
    /// One valid mailbox on no list: its new requests are held for review; on an existing
    /// request it acts only as that request's requester.
    Unknown,
    /// Identifies nobody (no From, a From that is not exactly one valid mailbox, a Reply-To
    /// the policy would not pass): held, never answered, changes nothing.
    Nobody(Reason),
}

impl Standing {
    fn operator(&self) -> Option<&Operator> {
        match self {
            Standing::Known { operator } => operator.as_ref(),
            _ => None,
        }
    }
}

/// What is done with a message ([`Intake::decide`]).
enum Verdict {
    /// Create, merge or cancel, and answer.
    Act,
    /// A new request kept for a coordinator's review, not answered.
    Hold(Reason),
    /// Recorded and set aside: nothing changes, nobody is answered.
    SetAside(Reason),
}

impl Verdict {
    fn status(&self) -> &'static str {
        match self {
            Verdict::Act => "processed",
            Verdict::SetAside(Reason::Machine(_)) => "ignored",
            Verdict::Hold(_) | Verdict::SetAside(_) => "held",
        }
    }

    fn reason(&self) -> Option<Reason> {
        match self {
            Verdict::Act => None,
            Verdict::Hold(r) | Verdict::SetAside(r) => Some(*r),
        }
    }
}

/// Why a message created no request or changed nothing: a stable code in the store
/// (`inbound_messages.reason`), words in `connecting inbound list` (`email.reason_<code>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A machine's mail: the classification's code (`auto_reply`, `own_message`, ...).
    Machine(&'static str),
    NoSender,
    FromInvalid,
    ReplyToNotAllowed,
    UnknownSender,
    /// An unknown sender on a request that is not theirs.
    NotRequester,
    /// A known sender on a request that is not theirs (answered that nothing changed).
    NotYours,
    /// Over `intake.max_new_requests_per_sender_per_hour`.
    Flood,
    /// `intake.require_dmarc_pass` and the trusted server did not vouch for the From address.
    DmarcNotPassed,
}

impl Reason {
    pub fn code(self) -> &'static str {
        match self {
            Reason::Machine(kind) => kind,
            Reason::NoSender => "no_sender",
            Reason::FromInvalid => "from_invalid",
            Reason::ReplyToNotAllowed => "reply_to_not_allowed",
            Reason::UnknownSender => "unknown_sender",
            Reason::NotRequester => "not_requester",
            Reason::NotYours => "not_yours",
            Reason::Flood => "flood",
            Reason::DmarcNotPassed => "dmarc_not_passed",
        }
    }
}

/// One message on its way through the steps of [`Intake::accept`].
struct Step<'a> {
    r: &'a Reading,
    standing: &'a Standing,
    verdict: &'a Verdict,
    inbound_id: i64,
    now: DateTime<Utc>,
}

/// The message a reply answers.
struct ReplyTo<'a> {
    email: &'a InboundEmail,
    inbound_id: i64,
    /// Its sender is a registered operator (the reply is exempt from the per-recipient cap).
    to_operator: bool,
    /// A calendar invitation the reply carries (the `CANCEL` of a cancelled appointment).
    calendar: Option<crate::outbox::Calendar>,
}

/// The dedupe key of a message: its Message-ID with a hash of its content (From, Subject,
/// Date and the body bytes), so the same message fetched twice is one, and two different
/// messages that share a Message-ID (copiers, some mailers) are two. Without a Message-ID,
/// the hash of the raw bytes.
fn dedupe_key(raw: &[u8], email: &InboundEmail) -> String {
    let Some(id) = db_opt(email.message_id.clone()) else {
        return content_id(raw);
    };
    let mut h = Sha256::new();
    let from = email
        .from
        .as_ref()
        .map(|m| m.address.as_str())
        .unwrap_or("");
    h.update(from.as_bytes());
    h.update([0]);
    h.update(email.subject.as_deref().unwrap_or("").as_bytes());
    h.update([0]);
    h.update(email.date.unwrap_or(0).to_le_bytes());
    h.update([0]);
    h.update(&raw[super::parse::header_block(raw).len()..]);
    format!("{id} #{}", &hex::encode(h.finalize())[..16])
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
    /// `renderers`: the channels' (`crate::renderers::channels()` in production).
    pub fn new(
        store: Store,
        cfg: IntakeConfig,
        clock: Arc<dyn Clock>,
        renderers: crate::app::notice::Renderers,
    ) -> Self {
        Self {
            store,
            cfg,
            clock,
            renderers,
            committed: None,
            mark: std::sync::OnceLock::new(),
        }
    }

    /// Notifies `n` after each message is committed, so the dispatcher need not wait for its
    /// next round.
    /// The application core, with this intake's zone, language and Message-ID domain.
    fn core(&self) -> crate::app::Core {
        crate::app::Core::new(
            crate::dispatch::DispatchSettings {
                tz: self.cfg.timezone,
                message_id_domain: self.cfg.message_id_domain.clone(),
                lang: crate::config::Lang::from_code(&self.cfg.lang),
                organizer: self.cfg.organizer.clone(),
                ..Default::default()
            },
            self.renderers.clone(),
        )
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

    /// Takes in one message already parsed from `raw` by the caller, who may have learnt
    /// more about it than its bytes say (the DMARC check sets [`InboundEmail::dmarc_vouched`]).
    pub async fn process_email(
        &self,
        raw: &[u8],
        email: InboundEmail,
    ) -> Result<Outcome, IntakeError> {
        let now = self.clock.now();
        let outcome = self
            .accept(raw, email, Target::Fresh { cursor: None }, now)
            .await;
        if outcome.is_ok()
            && let Some(n) = &self.committed
        {
            n.notify_one();
        }
        outcome
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
                    // The body was not fetched: the header block stands for the content.
                    external_id: match db_opt(headers.message_id.clone()) {
                        Some(id) => format!(
                            "{id} #{}",
                            &hex::encode(Sha256::digest(super::parse::header_block(raw)))[..16]
                        ),
                        None => content_id(raw),
                    },
                    kind: "oversized".into(),
                    status: "oversized".into(),
                    sender: headers.from.as_ref().map(|m| db_text(m.address.as_str())),
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

    /// Who the sender is for the sender policy. Decided once, for every class of mail.
    async fn standing(&self, r: &Reading) -> Result<Standing, IntakeError> {
        let Some(sender) = &r.sender else {
            return Ok(Standing::Nobody(if r.from_invalid {
                Reason::FromInvalid
            } else {
                Reason::NoSender
            }));
        };
        let (passes, operator) = self.passes_policy(sender).await?;
        // Our replies go to Reply-To only if that address would pass the policy itself (or is
        // the sender's own): a stranger's address never collects what we send.
        let reply_to_ok = match &r.reply_to {
            _ if r.reply_to_invalid => false,
            Some(to) if to != sender => self.passes_policy(to).await?.0,
            _ => true,
        };
        if !reply_to_ok {
            return Ok(Standing::Nobody(Reason::ReplyToNotAllowed));
        }
        // A registered mediator's address is hers even on an allowed domain (the cooperative's
        // own, say): her replies answer what she was asked, they never edit a request. An
        // operator or a coordinator with the same address stays who they are.
        if operator.is_none()
            && let Some(m) = self.store.mediator_by_email(sender.as_str()).await?
        {
            let coordinator = self
                .store
                .coordinators()
                .await?
                .iter()
                .any(|c| c.email.as_deref().is_some_and(|e| sender.is(e)));
            if !coordinator {
                return Ok(Standing::Mediator(Box::new(m)));
            }
        }
        Ok(if passes {
            Standing::Known { operator }
        } else {
            Standing::Unknown
        })
    }

    /// Does this address pass the sender policy: a registered active operator, a registered
    /// coordinator, an allowed sender or an address of an allowed domain?
    async fn passes_policy(
        &self,
        address: &EmailAddress,
    ) -> Result<(bool, Option<Operator>), IntakeError> {
        let operator = self
            .store
            .operator_by_email(address.as_str())
            .await?
            .filter(|o| o.active);
        let listed = self.cfg.allowed_senders.iter().any(|a| address.is(a))
            || self
                .cfg
                .allowed_sender_domains
                .iter()
                .any(|d| d.trim().eq_ignore_ascii_case(address.domain()));
        let coordinator = !listed
            && operator.is_none()
            && self
                .store
                .coordinators()
                .await?
                .iter()
                .any(|c| c.email.as_deref().is_some_and(|e| address.is(e)));
        Ok((operator.is_some() || listed || coordinator, operator))
    }

    /// What intake reads off a message before deciding anything: its class (our own mail only
    /// by our mark), its sender, its new text and its dedupe key.
    fn read(&self, raw: &[u8], mut email: InboundEmail, key: &MarkKey) -> Reading {
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
            let is_ours = |id: &str| key.verifies(id);
            classify(&email, &Context { is_ours: &is_ours })
        };
        // Does the trusted receiving server vouch for the From address (DMARC)?
        let dmarc = dmarc_verdict(
            raw,
            email.from.as_ref().and_then(|m| m.domain()),
            self.cfg.trusted_authserv_id.as_deref(),
        );
        email.dmarc_vouched = email.dmarc_vouched || dmarc.passed();
        let eff = email.effective();
        // Who wrote it is the From address (the one a receiving MX can check with SPF/DKIM/DMARC),
        // never a display name and never Reply-To: a `Reply-To: <operator>` on a stranger's mail
        // must not make it the operator's. A From that is not exactly one mailbox is nobody.
        let sender = eff.from.as_ref().map(|m| m.address.clone());
        let prepared = db_text(&text::prepare(
            eff.text_plain.as_deref(),
            eff.text_html.as_deref(),
        ));
        let whole = db_text(&text::reading(
            eff.subject.as_deref(),
            eff.text_plain.as_deref(),
            eff.text_html.as_deref(),
        ));
        Reading {
            external_id: dedupe_key(raw, &email),
            sender,
            from_invalid: eff.from_invalid,
            reply_to: eff.reply_to.as_ref().map(|m| m.address.clone()),
            reply_to_invalid: eff.reply_to_invalid,
            display_name: eff.from.as_ref().and_then(|m| m.name.clone()),
            subject: db_opt(eff.subject.clone()),
            source_message_id: db_opt(eff.message_id.clone()),
            dmarc_vouched: email.dmarc_vouched,
            dmarc,
            untrusted_pec,
            prepared,
            whole,
            class,
            email,
        }
    }

    /// Which request a follow-up or cancellation points at (by the code in its subject, else
    /// by our marked Message-ID it answers). A reference to nothing we know is a new request.
    async fn find_request(
        &self,
        tx: &mut Tx,
        class: Class,
    ) -> Result<(Class, Option<Request>), IntakeError> {
        let thread = match &class {
            Class::FollowUp(t) | Class::Cancellation(t) => t,
            _ => return Ok((class, None)),
        };
        let code = thread.code.or_else(|| {
            thread
                .our_message_id
                .as_deref()
                .and_then(RequestCode::find_in)
        });
        let id = match code {
            Some(code) => tx.request_id_by_code(code).await?,
            None => None,
        };
        match id {
            Some(id) => Ok((class, Some(tx.request_by_id(id).await?))),
            None => Ok((Class::NewRequest, None)),
        }
    }

    /// The decision, once for every path: the sender policy (the core's use cases ask the
    /// authorisation table, [`crate::authz`], once each).
    fn decide(
        &self,
        r: &Reading,
        standing: &Standing,
        class: &Class,
        request: Option<&Request>,
    ) -> Verdict {
        let verdict = self.policy(r, standing, class, request);
        // `intake.require_dmarc_pass`: mail that would be acted on or answered, from a sender
        // the trusted server did not vouch for, is held (no reply), with the reason.
        match verdict {
            Verdict::Act if self.cfg.require_dmarc_pass && !r.dmarc.passed() => {
                tracing::warn!(
                    dmarc = r.dmarc.code(),
                    "email intake: allowed sender without a DMARC pass; held"
                );
                Verdict::Hold(Reason::DmarcNotPassed)
            }
            v => v,
        }
    }

    /// The sender policy. On an existing request, whether this sender may change it is the
    /// core's decision, asked once by the use case ([`Intake::follow_up`],
    /// [`Intake::cancellation`]); a refusal there is answered by [`Intake::refuse`].
    fn policy(
        &self,
        r: &Reading,
        standing: &Standing,
        class: &Class,
        request: Option<&Request>,
    ) -> Verdict {
        if !class.acts_on_request() {
            return Verdict::SetAside(Reason::Machine(class.as_str()));
        }
        if request.is_none() {
            // A new request.
            return match standing {
                Standing::Known { .. } => Verdict::Act,
                Standing::Unknown | Standing::Mediator(_) => Verdict::Hold(Reason::UnknownSender),
                Standing::Nobody(reason) => Verdict::Hold(*reason),
            };
        }
        if r.sender.is_none() {
            return Verdict::SetAside(Reason::FromInvalid);
        }
        match standing {
            Standing::Nobody(reason) => Verdict::SetAside(*reason),
            // A sender the policy refuses never changes anything and is never answered,
            // whatever code it names (its own held request included: a coordinator decides).
            Standing::Unknown => Verdict::SetAside(Reason::UnknownSender),
            Standing::Known { .. } | Standing::Mediator(_) => Verdict::Act,
        }
    }

    /// Records the message (once: `Ok(None)` for a duplicate) with its outcome and reason.
    async fn record(
        &self,
        tx: &mut Tx,
        raw: &[u8],
        r: &Reading,
        (class, verdict): (&Class, &Verdict),
        target: &Target,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, IntakeError> {
        let rec = NewInbound {
            channel: CHANNEL.into(),
            external_id: r.external_id.clone(),
            kind: class.as_str().into(),
            status: verdict.status().into(),
            sender: r.sender.as_ref().map(|s| db_text(s.as_str())),
            subject: r.subject.clone(),
            size_bytes: r.email.size as i64,
            raw: Some(raw.to_vec()),
            body: Some(r.prepared.clone()),
            error: None,
        };
        let id = match target {
            Target::Existing(id) => {
                tx.set_inbound_outcome(*id, &rec.kind, &rec.status, None, Some(&r.prepared))
                    .await?;
                *id
            }
            Target::Fresh { .. } => match tx.record_inbound(&rec, now).await? {
                Some(id) => id,
                None => return Ok(None),
            },
        };
        tx.set_inbound_reason(id, verdict.reason().map(Reason::code))
            .await?;
        Ok(Some(id))
    }

    async fn accept(
        &self,
        raw: &[u8],
        email: InboundEmail,
        target: Target,
        now: DateTime<Utc>,
    ) -> Result<Outcome, IntakeError> {
        let key = self.mark_key().await?;
        let reading = self.read(raw, email, &key);
        let standing = self.standing(&reading).await?;
        // A registered operator with a language of their own is answered in it.
        let speaking;
        let this = match standing.operator().and_then(|o| o.language) {
            Some(l) if l.as_str() != self.cfg.lang => {
                let mut other = self.clone();
                other.cfg.lang = l.as_str().to_string();
                speaking = other;
                &speaking
            }
            _ => self,
        };
        this.accept_as(raw, reading, standing, target, now).await
    }

    /// [`Self::accept`] once the sender's standing (and so the language of the answers) is known.
    async fn accept_as(
        &self,
        raw: &[u8],
        reading: Reading,
        standing: Standing,
        target: Target,
        now: DateTime<Utc>,
    ) -> Result<Outcome, IntakeError> {
        let mut tx = self.begin(&target, now).await?;
        let (class, request) = self.find_request(&mut tx, reading.class.clone()).await?;
        let verdict = self.decide(&reading, &standing, &class, request.as_ref());
        let Some(inbound_id) = self
            .record(&mut tx, raw, &reading, (&class, &verdict), &target, now)
            .await?
        else {
            tx.commit().await?;
            return Ok(Outcome::Duplicate);
        };
        let step = Step {
            r: &reading,
            standing: &standing,
            verdict: &verdict,
            inbound_id,
            now,
        };
        let outcome = match (&class, request) {
            (Class::NewRequest, _) => self.new_request(&mut tx, &step).await?,
            (Class::FollowUp(_) | Class::Cancellation(_), Some(request))
                if matches!(standing, Standing::Mediator(_)) =>
            {
                self.mediator_reply(&mut tx, &step, request).await?
            }
            (Class::FollowUp(_), Some(request)) => self.follow_up(&mut tx, &step, request).await?,
            (Class::Cancellation(_), Some(request)) => {
                self.cancellation(&mut tx, &step, request).await?
            }
            (other, _) => Outcome::Recorded {
                kind: other.as_str().into(),
            },
        };
        tx.commit().await?;
        match &outcome {
            Outcome::Created { code, status, .. } | Outcome::Updated { code, status, .. } => {
                tracing::info!(inbound_id, code = %code, status = %status.as_str(), "email intake: request");
            }
            other => {
                tracing::info!(inbound_id, outcome = ?outcome_name(other), reason = ?verdict.reason().map(Reason::code), "email intake")
            }
        }
        Ok(outcome)
    }

    /// Why the trusted server's verdict held this mail, for the coordinator.
    fn dmarc_reason(&self, r: &Reading) -> String {
        r.dmarc
            .reason(&self.cfg.lang, self.cfg.trusted_authserv_id.as_deref())
    }

    /// A follow-up or cancellation that changes nothing: audited on its request (with the
    /// DMARC reason when that held it), nobody answered.
    async fn held_on(
        &self,
        tx: &mut Tx,
        s: &Step<'_>,
        request: &Request,
        action: &str,
    ) -> Result<Outcome, IntakeError> {
        let mut detail = format!("inbound {}", s.inbound_id);
        if matches!(s.verdict, Verdict::Hold(Reason::DmarcNotPassed)) {
            detail = format!("{detail}; {}", self.dmarc_reason(s.r));
        }
        tx.audit(
            s.now,
            "process:email",
            Some(request.id),
            action,
            Some(&detail),
        )
        .await?;
        Ok(Outcome::Held {
            request_id: Some(request.id),
        })
    }

    /// The key of our mark, read once from the store.
    async fn mark_key(&self) -> Result<MarkKey, IntakeError> {
        if let Some(k) = self.mark.get() {
            return Ok(k.clone());
        }
        let k = self.store.mark_key().await?;
        Ok(self.mark.get_or_init(|| k).clone())
    }

    /// A new request: read by the extractor, created (held for review when the sender is not
    /// known or over the hourly cap), acknowledged only to a known sender.
    async fn new_request(&self, tx: &mut Tx, s: &Step<'_>) -> Result<Outcome, IntakeError> {
        let (r, now) = (s.r, s.now);
        let mut u = self.understand(r, s.standing.operator(), now);
        let complete_status = u.status();
        let flood = match (&r.sender, s.verdict) {
            (Some(from), Verdict::Act) => self.over_hourly_cap(tx, from.as_str(), now).await?,
            _ => false,
        };
        let accepted = matches!(s.verdict, Verdict::Act) && !flood;
        u.fields.status = Some(if accepted {
            complete_status
        } else {
            RequestStatus::NeedsReview
        });
        let actor = Actor::Operator {
            id: s.standing.operator().map(|o| o.id),
            email: r.sender.as_ref().map(|a| a.as_str().to_owned()),
            chat_id: None,
            active: true,
        };
        let request =
            crate::app::create::from_draft(&self.core(), tx, &actor, &u.fields, now).await?;
        tx.link_inbound(s.inbound_id, request.id).await?;
        record_attachments(tx, r.email.effective(), request.id, now).await?;
        if let Some(domain) = &r.untrusted_pec {
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
            let body = replies::ack_body(&self.cfg.lang, &request, false, &u.notes);
            self.enqueue_reply(tx, s, &request, "ack", body).await?;
            return Ok(Outcome::Created {
                request_id: request.id,
                code: request.code,
                status: request.status,
            });
        }
        self.hold_for_review(tx, s, &request, flood).await?;
        Ok(Outcome::Held {
            request_id: Some(request.id),
        })
    }

    /// A follow-up that changed a field the first mail had stated: the first mail's text (as
    /// the extractor read it) and the fields as they are now are kept as a correction, without
    /// personal data ([`crate::extract::corrections::pair`]).
    async fn keep_correction(
        &self,
        tx: &mut Tx,
        before: &crate::store::Request,
        after: &crate::store::Request,
        now: DateTime<Utc>,
    ) -> Result<(), IntakeError> {
        use crate::extract::corrections;
        let Some(raw) = tx.first_inbound_raw(before.id).await? else {
            return Ok(());
        };
        let Ok(mail) = parse_email(&raw, &self.cfg.limits) else {
            return Ok(());
        };
        let m = mail.effective();
        let text = text::reading(
            m.subject.as_deref(),
            m.text_plain.as_deref(),
            m.text_html.as_deref(),
        );
        let mut ctx = crate::extract::Context::new(before.created_at, Channel::Email);
        ctx.tz = self.cfg.timezone;
        ctx.min_notice_hours = self.cfg.min_notice_hours;
        let read = crate::extract::extract(&text, &ctx);
        let now_fields =
            corrections::changed_only(&read, &crate::intake::draft_from_request(after));
        if let Some(pair) = corrections::pair(&text, &ctx, &read, &now_fields) {
            tx.record_correction(
                Some(before.id),
                crate::store::CorrectionSource::FollowUp,
                &pair,
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// What the extractor reads in the subject and new text, with what the operator record
    /// says about the sender.
    fn understand(
        &self,
        r: &Reading,
        operator: Option<&Operator>,
        now: DateTime<Utc>,
    ) -> understand::Understood {
        let sender = r.sender.as_ref().map(|a| a.as_str().to_owned());
        let reading = &r.whole;
        let sender_info = SenderInfo {
            name: r
                .display_name
                .clone()
                .or_else(|| operator.map(|o| o.name.clone())),
            ente: operator.map(|o| o.ente.clone()),
            ambito: operator.map(|o| o.ambito),
            email: sender.clone(),
            phone: operator.and_then(|o| o.phone.clone()),
            cooperative: r.sender.as_ref().is_some_and(|a| {
                self.cfg.own_addresses.iter().any(|o| {
                    o.rsplit_once('@')
                        .is_some_and(|(_, d)| d.eq_ignore_ascii_case(a.domain()))
                })
            }),
        };
        let cooperative = sender_info.cooperative;
        let sent = r
            .email
            .effective()
            .date
            .and_then(|t| DateTime::<Utc>::from_timestamp(t, 0));
        let mut u = understand::understand(
            reading,
            now,
            sent,
            &self.cfg.extract_settings(),
            sender_info,
        );
        let fields = &mut u.fields;
        fields.channel = Some(Channel::Email);
        // Forwarded by the cooperative: the forwarded message's writer is the requester. By PEC
        // the From is an office's protocol mailbox: the address the writer signs with is theirs.
        let from_text = fields.requester_email.take();
        let pec_signed = r.email.pec_inner.is_some() && from_text != sender;
        let forwarded_for = if cooperative || pec_signed {
            from_text
        } else {
            None
        };
        if forwarded_for.is_some() {
            fields.requester_email = forwarded_for;
        } else {
            fields.requester_email = sender;
            fields.requester_name = db_opt(
                r.display_name
                    .clone()
                    .or(fields.requester_name.take())
                    .or_else(|| operator.map(|o| o.name.clone())),
            );
        }
        if let Some(op) = operator {
            fields.operator_id = Some(op.id);
            fields.ente = Some(op.ente.clone());
            fields.ambito = Some(op.ambito);
            if fields.requester_phone.is_none() {
                fields.requester_phone = op.phone.clone();
            }
        }
        fields.source_message_id = r.source_message_id.clone();
        fields.subject = r.subject.clone();
        u
    }

    /// A new request kept for a coordinator: they are alerted (once per sender and hour when
    /// it is held by the hourly cap), the sender is not answered.
    async fn hold_for_review(
        &self,
        tx: &mut Tx,
        s: &Step<'_>,
        request: &Request,
        flood: bool,
    ) -> Result<(), IntakeError> {
        let (code, request_id, now) = (request.code.to_string(), Some(request.id), s.now);
        if matches!(s.verdict, Verdict::Hold(Reason::DmarcNotPassed)) {
            let reason = self.dmarc_reason(s.r);
            tx.audit(
                now,
                "process:email",
                request_id,
                "dmarc_held",
                Some(&reason),
            )
            .await?;
            return self
                .alert(
                    tx,
                    &format!("held:{}", request.id),
                    request_id,
                    "alert_held_dmarc",
                    &[("code", &code), ("reason", &reason)],
                    now,
                )
                .await;
        }
        if !flood {
            return self
                .alert(
                    tx,
                    &format!("held:{}", request.id),
                    request_id,
                    "alert_held_email",
                    &[("code", &code)],
                    now,
                )
                .await;
        }
        tx.set_inbound_reason(s.inbound_id, Some(Reason::Flood.code()))
            .await?;
        tracing::warn!(request = %request.code, "email intake: sender over the hourly cap of new requests; held");
        tx.audit(now, "process:email", request_id, "flood_held", None)
            .await?;
        let max = self.cfg.max_new_requests_per_sender_per_hour.to_string();
        let hour = now.timestamp() / 3600;
        let from = s.r.sender.as_ref().map(|a| a.as_str()).unwrap_or_default();
        let who = content_id(from.as_bytes());
        self.alert(
            tx,
            &format!("flood:{who}:{hour}"),
            request_id,
            "alert_sender_flood",
            &[("code", &code), ("max", &max)],
            now,
        )
        .await
    }

    /// One sender opening request after request within the hour: the rest are held.
    async fn over_hourly_cap(
        &self,
        tx: &mut Tx,
        sender: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, IntakeError> {
        let cap = i64::from(self.cfg.max_new_requests_per_sender_per_hour);
        if cap == 0 {
            return Ok(false);
        }
        let n = tx
            .email_requests_from_since(sender, now - chrono::Duration::hours(1))
            .await?;
        Ok(n >= cap)
    }

    /// Mail on an existing request that is not a cancellation: merged while the request is
    /// still being completed, an evaluation after the appointment, else recorded for the
    /// coordinator.
    async fn follow_up(
        &self,
        tx: &mut Tx,
        s: &Step<'_>,
        request: Request,
    ) -> Result<Outcome, IntakeError> {
        let now = s.now;
        tx.link_inbound(s.inbound_id, request.id).await?;
        let detail = format!("inbound {}", s.inbound_id);
        match s.verdict {
            Verdict::Hold(_) | Verdict::SetAside(_) => {
                return self.held_on(tx, s, &request, "follow_up_held").await;
            }
            Verdict::Act => {}
        }
        let actor = self.actor(tx, s).await?;
        let core = self.core();
        if let Some(check) = crate::app::account::asked(tx, request.id).await?
            && let Some(answer) = hours_reply_of(&s.r.prepared)
        {
            return self
                .hours_reply(tx, s, &request, &actor, check.assignment_id, answer)
                .await;
        }
        if matches!(
            request.status,
            RequestStatus::Assigned | RequestStatus::Confirmed | RequestStatus::Done
        ) && let Some((scores, comment)) = scores_of(&s.r.prepared)
        {
            return self
                .evaluation_reply(tx, s, &request, &actor, &scores, comment.as_deref())
                .await;
        }
        // A reply asking to move the appointment ("spostiamo a giovedì alle 11") on a request
        // past intake: the core's reschedule; the requester's notice answers on the thread.
        if let Some(when) = self.new_time(&request, &s.r.prepared, now) {
            let moved = crate::app::reschedule::reschedule_with(
                &core,
                tx,
                &actor,
                request.id,
                when,
                Some(&s.r.prepared),
                now,
            )
            .await;
            return match moved {
                Ok(r) => Ok(Outcome::Updated {
                    request_id: r.request.id,
                    code: r.request.code,
                    status: r.request.status,
                }),
                Err(crate::app::AppError::Denied(_)) => {
                    self.refuse(tx, s, &request, "follow_up_refused").await
                }
                Err(e) => Err(e.into()),
            };
        }
        if matches!(
            request.status,
            RequestStatus::Assigned | RequestStatus::Confirmed | RequestStatus::Done
        ) && let Some((score, comment)) = evaluation_of(&s.r.prepared)
        {
            // The answer to "how did it go? (1-5)": the core's evaluation, refused before the
            // appointment has happened (then kept as a follow-up).
            let evaluated = crate::app::evaluation::evaluate(
                &core,
                tx,
                &actor,
                request.id,
                score,
                comment.as_deref(),
                now,
            )
            .await;
            return match evaluated {
                Ok(()) => Ok(Outcome::Recorded {
                    kind: "evaluation".into(),
                }),
                Err(crate::app::AppError::Store(e)) => Err(e.into()),
                Err(crate::app::AppError::Denied(_)) => {
                    self.refuse(tx, s, &request, "follow_up_refused").await
                }
                Err(_) => {
                    tx.audit(
                        now,
                        "process:email",
                        Some(request.id),
                        "evaluation_refused",
                        Some(&detail),
                    )
                    .await?;
                    Ok(Outcome::Recorded {
                        kind: "follow_up".into(),
                    })
                }
            };
        }
        // The body only: the subject of a reply repeats the request code.
        let u = crate::app::follow_up::merges(&request)
            .then(|| understand::merge(&request, &s.r.prepared, now, &self.cfg.extract_settings()));
        let update = u.as_ref().map(|u| crate::app::follow_up::Update {
            fields: &u.fields,
            complete: u.missing.is_empty(),
        });
        let added =
            crate::app::follow_up::add_info(&core, tx, &actor, &request, update, &detail, now)
                .await;
        match added {
            Ok(crate::app::follow_up::FollowUp::Merged(updated)) => {
                // A follow-up that corrected stated fields is kept for the extractor's
                // evaluation (without personal data).
                self.keep_correction(tx, &request, &updated, now).await?;
                let notes = u.map(|u| u.notes).unwrap_or_default();
                let body = replies::ack_body(&self.cfg.lang, &updated, true, &notes);
                self.enqueue_reply(tx, s, &updated, "update", body).await?;
                Ok(Outcome::Updated {
                    request_id: updated.id,
                    code: updated.code,
                    status: updated.status,
                })
            }
            // Past intake: the coordinator reads it; fields are not changed silently.
            Ok(crate::app::follow_up::FollowUp::Recorded) => Ok(Outcome::Recorded {
                kind: "follow_up".into(),
            }),
            Err(crate::app::AppError::Denied(_)) => {
                self.refuse(tx, s, &request, "follow_up_refused").await
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The new date or time a follow-up on `request` asks for, when it asks to move the
    /// appointment ([`crate::extract::says_reschedule`]) of a request past intake (one being
    /// completed merges what it reads instead).
    fn new_time(
        &self,
        request: &Request,
        text: &str,
        now: DateTime<Utc>,
    ) -> Option<crate::app::reschedule::When> {
        if !crate::app::reschedule::reschedulable(request.status)
            || !crate::extract::says_reschedule(text)
        {
            return None;
        }
        let settings = self.cfg.extract_settings();
        let mut ctx = crate::extract::Context::new(now, Channel::Email);
        ctx.tz = settings.tz;
        let (date, start, minutes) = crate::intake::time_in(text, &ctx);
        // A time already past moves nothing: the reply is kept for the coordinator.
        crate::app::reschedule::new_when(request, date, start, minutes)
            .filter(|w| !crate::app::reschedule::is_past(*w, settings.tz, now))
    }

    /// A mediator's reply on a request's thread: "va bene" / "non posso" answers the new date
    /// or time they were asked about (the core's [`crate::app::reschedule::answer`], which asks
    /// the table whether the assignment is theirs); anything else is kept for the coordinators
    /// (audited on the request), never merged into it and never answered.
    async fn mediator_reply(
        &self,
        tx: &mut Tx,
        s: &Step<'_>,
        request: Request,
    ) -> Result<Outcome, IntakeError> {
        let Standing::Mediator(m) = s.standing else {
            return Ok(Outcome::Recorded {
                kind: "follow_up".into(),
            });
        };
        tx.link_inbound(s.inbound_id, request.id).await?;
        if !matches!(s.verdict, Verdict::Act) {
            return self.held_on(tx, s, &request, "mediator_reply_held").await;
        }
        let actor = Actor::Mediator {
            id: m.id,
            active: m.active,
        };
        // the question about a new time: of the appointment, or of meetings of a series she
        // holds
        let mut question = tx
            .pending_timer(request.id, crate::domain::TimerKind::ChangeAnswer)
            .await?;
        if question.is_none() {
            question = tx
                .pending_timer(request.id, crate::domain::TimerKind::MeetingsAnswer)
                .await?
                .filter(|t| t.ref_id == Some(m.id));
        }
        if let Some(ok) = change_answer_of(&s.r.prepared)
            && let Some(timer) = question
        {
            let core = self.core();
            let answered =
                crate::app::reschedule::answer(&core, tx, &actor, timer.id, ok, s.now).await;
            return match answered {
                Ok(crate::app::reschedule::ChangeAnswer::Kept(r))
                | Ok(crate::app::reschedule::ChangeAnswer::Left(r)) => Ok(Outcome::Updated {
                    request_id: r.id,
                    code: r.code,
                    status: r.status,
                }),
                Ok(crate::app::reschedule::ChangeAnswer::Stale) => Ok(Outcome::Recorded {
                    kind: "change_answer".into(),
                }),
                Err(crate::app::AppError::Denied(_)) => {
                    self.refuse(tx, s, &request, "follow_up_refused").await
                }
                Err(e) => Err(e.into()),
            };
        }
        // her report after the appointment (or the meeting of a series she held)
        if let Some((done, minutes)) = outcome_reply_of(&s.r.prepared) {
            let core = self.core();
            match mediator_outcome(&core, tx, &actor, &request, m.id, done, minutes, s.now).await {
                Ok(true) => {
                    let r = tx.request_by_id(request.id).await?;
                    return Ok(Outcome::Updated {
                        request_id: r.id,
                        code: r.code,
                        status: r.status,
                    });
                }
                Ok(false) => {}
                Err(crate::app::AppError::Denied(_)) => {
                    return self.refuse(tx, s, &request, "follow_up_refused").await;
                }
                Err(
                    crate::app::AppError::BadHours(_) | crate::app::AppError::NoSuchMeeting { .. },
                ) => {}
                Err(e) => return Err(e.into()),
            }
        }
        tx.audit(
            s.now,
            "process:email",
            Some(request.id),
            "mediator_reply",
            Some(&format!("inbound {}", s.inbound_id)),
        )
        .await?;
        Ok(Outcome::Recorded {
            kind: "mediator_reply".into(),
        })
    }

    /// "Annullo": the request is cancelled for whoever may cancel it, and they are told.
    async fn cancellation(
        &self,
        tx: &mut Tx,
        s: &Step<'_>,
        request: Request,
    ) -> Result<Outcome, IntakeError> {
        tx.link_inbound(s.inbound_id, request.id).await?;
        match s.verdict {
            Verdict::Hold(_) | Verdict::SetAside(_) => {
                return self.held_on(tx, s, &request, "cancellation_held").await;
            }
            Verdict::Act => {}
        }
        // A series: words naming one of its meetings cancel that one (or it and those that
        // follow), not the whole series; the requester hears it on her thread.
        if request.series.is_some() {
            let settings = self.cfg.extract_settings();
            let mut ctx = crate::extract::Context::new(s.now, Channel::Email);
            ctx.tz = settings.tz;
            let read = crate::extract::extract(&s.r.prepared, &ctx);
            if let Some((seq, scope)) =
                crate::app::series::meeting_named(&request, read.date, &s.r.prepared, settings.tz)
            {
                let actor = self.actor(tx, s).await?;
                let core = self.core();
                return match crate::app::series::change(
                    &core,
                    tx,
                    &actor,
                    request.id,
                    seq,
                    scope,
                    crate::app::series::Change::Cancel,
                    s.now,
                )
                .await
                {
                    Ok(c) => Ok(Outcome::Updated {
                        request_id: c.request.id,
                        code: c.request.code,
                        status: c.request.status,
                    }),
                    Err(crate::app::AppError::Denied(_)) => {
                        self.refuse(tx, s, &request, "cancellation_refused").await
                    }
                    Err(e) => Err(e.into()),
                };
            }
        }
        let cancelled = match self.cancel_request(tx, s, &request).await {
            Ok(c) => c,
            Err(crate::app::AppError::Denied(_)) => {
                return self.refuse(tx, s, &request, "cancellation_refused").await;
            }
            Err(crate::app::AppError::WrongState { .. }) => {
                return Ok(Outcome::Recorded {
                    kind: "cancellation".into(),
                });
            }
            Err(e) => return Err(e.into()),
        };
        // An appointment the requester had an invitation for: its CANCEL, for the same UID.
        let calendar = cancelled.notices.iter().find_map(|n| match n {
            crate::app::notice::Notice::Cancellation { mediator, .. } => {
                let host = crate::ics::Host {
                    domain: &self.cfg.message_id_domain,
                    organizer: Some(self.cfg.organizer.as_ref()?),
                };
                crate::ics::invitation(
                    crate::config::Lang::from_code(&self.cfg.lang),
                    host,
                    &cancelled.request,
                    mediator,
                    crate::ics::Method::Cancel,
                )
            }
            _ => None,
        });
        let cancelled = cancelled.request;
        let body = replies::cancel_body(&self.cfg.lang, &cancelled);
        self.enqueue_reply_with(tx, s, &cancelled, "cancel", body, calendar)
            .await?;
        Ok(Outcome::Cancelled {
            request_id: cancelled.id,
            code: cancelled.code,
        })
    }

    /// Who this step's sender is for the core's use cases ([`email_actor`]).
    async fn actor(&self, tx: &mut Tx, s: &Step<'_>) -> Result<Actor, IntakeError> {
        let Some(sender) = &s.r.sender else {
            return Err(StoreError::Corrupt("acting mail without a sender".into()).into());
        };
        Ok(email_actor(tx, sender, s.standing.operator(), s.r.dmarc_vouched).await?)
    }

    /// The one cancellation of the core: mediator told, offers withdrawn, reminders dropped,
    /// late flag, all in this transaction.
    async fn cancel_request(
        &self,
        tx: &mut Tx,
        s: &Step<'_>,
        request: &Request,
    ) -> Result<crate::app::cancel::Cancelled, crate::app::AppError> {
        let actor = self.actor(tx, s).await.map_err(|e| match e {
            IntakeError::Store(e) => crate::app::AppError::Store(e),
            e => crate::app::AppError::Store(StoreError::Conflict(e.to_string())),
        })?;
        crate::app::cancel::cancel(&self.core(), tx, &actor, request.id, s.now).await
    }

    /// A known sender acted on a request that is not theirs: audited, answered that nothing
    /// changed (the reply names only the code they wrote), the request untouched.
    async fn refuse(
        &self,
        tx: &mut Tx,
        s: &Step<'_>,
        request: &Request,
        action: &str,
    ) -> Result<Outcome, IntakeError> {
        let detail = format!("inbound {}", s.inbound_id);
        tracing::warn!(request = %request.code, action, "email: refused by the core");
        tx.set_inbound_refused(s.inbound_id, Reason::NotYours.code())
            .await?;
        tx.audit(
            s.now,
            "process:email",
            Some(request.id),
            action,
            Some(&detail),
        )
        .await?;
        let body = replies::refused_body(&self.cfg.lang, request);
        self.enqueue_reply(tx, s, request, "refused", body).await?;
        Ok(Outcome::Refused {
            request_id: request.id,
        })
    }

    /// The requester's marks on the cooperative's criteria, through the core: recorded and
    /// thanked, or refused in words (a mark out of range, too few or too many marks, a low mark
    /// without a comment, before the appointment, someone else's request), nothing recorded.
    async fn evaluation_reply(
        &self,
        tx: &mut Tx,
        s: &Step<'_>,
        request: &Request,
        actor: &crate::authz::Actor,
        scores: &[i64],
        comment: Option<&str>,
    ) -> Result<Outcome, IntakeError> {
        use crate::app::AppError;
        let core = self.core();
        let lang = crate::config::Lang::from_code(&self.cfg.lang);
        let criteria = crate::app::sentence::criteria_words(lang, &core.settings.criteria);
        let count = core.settings.criteria.len().to_string();
        let r = crate::app::evaluation::evaluate_criteria(
            &core, tx, actor, request.id, scores, comment, s.now,
        )
        .await;
        let key = match r {
            Ok(()) => "evaluation_thanks",
            Err(AppError::Denied(_)) => {
                return self.refuse(tx, s, request, "evaluation_refused").await;
            }
            Err(AppError::Store(e)) => return Err(e.into()),
            Err(AppError::BadScore(_)) => "evaluation_bad_score",
            Err(AppError::BadScoreCount { .. }) => "evaluation_bad_count",
            Err(AppError::CommentNeeded(_)) => "evaluation_comment_needed",
            Err(_) => "evaluation_too_early",
        };
        if key != "evaluation_thanks" {
            tx.audit(
                s.now,
                "process:email",
                Some(request.id),
                "evaluation_refused",
                Some(key),
            )
            .await?;
        }
        let body = replies::short_body(
            &self.cfg.lang,
            request,
            key,
            &[("criteria", &criteria), ("count", &count)],
        );
        self.enqueue_reply(tx, s, request, "evaluation", body)
            .await?;
        Ok(Outcome::Recorded {
            kind: if key == "evaluation_thanks" {
                "evaluation".into()
            } else {
                "evaluation_refused".into()
            },
        })
    }

    /// The requester's answer to the hours question, through the core: a confirmation, a
    /// dispute, or a refusal in words (a figure out of range, someone else's request).
    async fn hours_reply(
        &self,
        tx: &mut Tx,
        s: &Step<'_>,
        request: &Request,
        actor: &crate::authz::Actor,
        assignment_id: i64,
        answer: crate::app::account::HoursAnswer,
    ) -> Result<Outcome, IntakeError> {
        use crate::app::account::Answered;
        let core = self.core();
        let words = crate::app::words::Words::new(crate::config::Lang::from_code(&self.cfg.lang));
        let r = crate::app::account::answer(&core, tx, actor, assignment_id, answer, s.now).await;
        let (key, hours) = match r {
            Ok(Answered::Confirmed { minutes }) => ("hours_confirmed", Some(minutes)),
            Ok(Answered::Disputed { requester, .. }) => ("hours_dispute_open", Some(requester)),
            Ok(Answered::Closed(_) | Answered::NotAsked) => ("hours_already_answered", None),
            Err(crate::app::AppError::BadHours(_)) => ("hours_bad_figure", None),
            Err(crate::app::AppError::Denied(_)) => {
                return self.refuse(tx, s, request, "hours_refused").await;
            }
            Err(crate::app::AppError::Store(e)) => return Err(e.into()),
            Err(e) => {
                tracing::warn!(request = %request.code, error = %e, "email: hours answer not taken");
                ("hours_already_answered", None)
            }
        };
        let hours = hours.map(|m| words.duration(m)).unwrap_or_default();
        let body = replies::short_body(&self.cfg.lang, request, key, &[("hours", &hours)]);
        self.enqueue_reply(tx, s, request, "hours", body).await?;
        Ok(Outcome::Recorded {
            kind: if key == "hours_bad_figure" {
                "hours_refused".into()
            } else {
                "hours".into()
            },
        })
    }

    /// The reply to the message of this step.
    async fn enqueue_reply(
        &self,
        tx: &mut Tx,
        s: &Step<'_>,
        request: &Request,
        kind: &str,
        body: String,
    ) -> Result<(), IntakeError> {
        self.enqueue_reply_with(tx, s, request, kind, body, None)
            .await
    }

    /// The reply to the message of this step, with a calendar invitation.
    async fn enqueue_reply_with(
        &self,
        tx: &mut Tx,
        s: &Step<'_>,
        request: &Request,
        kind: &str,
        body: String,
        calendar: Option<crate::outbox::Calendar>,
    ) -> Result<(), IntakeError> {
        let reply = ReplyTo {
            email: &s.r.email,
            inbound_id: s.inbound_id,
            to_operator: s.standing.operator().is_some(),
            calendar,
        };
        self.queue_reply(tx, &reply, request, kind, body, s.now)
            .await
    }

    /// Alerts every coordinator (once per `key`) with the prompt `email.<text_key>`, each in
    /// their language.
    async fn alert(
        &self,
        tx: &mut Tx,
        key: &str,
        request_id: Option<i64>,
        text_key: &str,
        args: &[(&str, &str)],
        now: DateTime<Utc>,
    ) -> Result<(), IntakeError> {
        // Each coordinator reads it in their own language.
        crate::app::alert::prompt(
            &self.core(),
            tx,
            key,
            request_id,
            "email.alert_subject",
            &format!("email.{text_key}"),
            args,
            now,
        )
        .await?;
        Ok(())
    }

    /// Queues a reply threaded on `reply.email`, unless the request's reply cap is reached.
    async fn queue_reply(
        &self,
        tx: &mut Tx,
        reply: &ReplyTo<'_>,
        request: &Request,
        kind: &str,
        body: String,
        now: DateTime<Utc>,
    ) -> Result<(), IntakeError> {
        let (email, inbound_id) = (reply.email, reply.inbound_id);
        let eff = email.effective();
        let Some(to) = eff.reply_address().map(|m| m.address.to_string()) else {
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
            calendar: reply.calendar.clone(),
        });
        let id = tx
            .enqueue(
                &format!("email:{kind}:{inbound_id}"),
                Some(request.id),
                &payload,
                now,
            )
            .await?;
        // The answer to a registered operator's own mail is not a loop: the per-recipient cap
        // of automatic mails never holds it (the per-request cap above still ends loops).
        if reply.to_operator {
            tx.exempt_from_email_cap(id).await?;
        }
        Ok(())
    }

    /// A coordinator's decision on a request held from an unknown sender (the core's review:
    /// accepted, it goes on and the sender gets the acknowledgement on their thread; rejected,
    /// it is cancelled without any reply). `actor`: `cli` or `coordinator:<id>`.
    pub async fn review_held(
        &self,
        request_id: i64,
        accept: bool,
        actor: &str,
    ) -> Result<Outcome, IntakeError> {
        let now = self.clock.now();
        let who = crate::app::managing_actor(actor).unwrap_or(crate::authz::Actor::Cli);
        let core = self.core();
        let mut tx = self.store.begin().await?;
        let r = if accept {
            crate::app::review::accept(&core, &mut tx, &who, request_id, now)
                .await
                .map(|(r, _)| Outcome::Created {
                    request_id,
                    code: r.code,
                    status: r.status,
                })
        } else {
            crate::app::review::reject(&core, &mut tx, &who, request_id, now)
                .await
                .map(|r| Outcome::Cancelled {
                    request_id,
                    code: r.code,
                })
        };
        match r {
            Ok(o) => {
                tx.commit().await?;
                Ok(o)
            }
            Err(e) => {
                tx.rollback().await?;
                Err(e.into())
            }
        }
    }

    /// Re-processes a quarantined message (after a fix, or with other limits).
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

/// A reply to the evaluation on the cooperative's criteria: its first line is two marks or
/// more, in the order of the criteria ("4 5 3 4 5", "4, 5, 3", "voti: 4 5 3 4 5"), whatever
/// their range (the core refuses one out of 1 to 5); the lines after it are the comment. One
/// mark alone is the single evaluation of [`evaluation_of`].
pub fn scores_of(text: &str) -> Option<(Vec<i64>, Option<String>)> {
    static MARKS: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)^(?:voti|valutazione|valutazioni|punteggi|marks|scores|rating)?\s*[:=]?\s*(-?\d{1,3}(?:\s*[ ,;]\s*-?\d{1,3})+)\s*[.!]?$",
        )
        .expect("constant regex")
    });
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next()?;
    let caps = MARKS.captures(first)?;
    let scores: Vec<i64> = caps
        .get(1)?
        .as_str()
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    let comment = lines.collect::<Vec<_>>().join("\n");
    Some((scores, (!comment.is_empty()).then(|| db_text(&comment))))
}

/// A reply to the hours question: its first line is "confermo" (the mediator's figure is
/// right) or a figure of hours with its word or a decimal ("ore 2,5", "1,5", "2 ore e 30",
/// "3h", "90 minuti"): the minutes, negative or absurd ones included, for the core to refuse.
/// A bare whole number ("4") is not read as hours: it answers the evaluation.
pub fn hours_reply_of(text: &str) -> Option<crate::app::account::HoursAnswer> {
    use crate::app::account::HoursAnswer;
    static CONFIRM: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)^(?:s[iì]\s*[,.]?\s*|ok\s*[,.]?\s*)?(?:confermo|confermato|confermate|confermiamo|i\s+confirm|confirmed|confirm)\b",
        )
        .expect("constant regex")
    });
    static FIGURE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)^(ore(?:\s+effettive)?\s*[:=]?\s*|hours\s*[:=]?\s*)?(-?\s*\d{1,5}(?:[.,]\d{1,2})?)\s*(ore|ora|h|hours?|min(?:uti)?|minutes)?(?:\s*(?:e\s+)?(\d{1,2})\s*(?:min(?:uti)?|minutes|m)?)?\s*[.!]?$",
        )
        .expect("constant regex")
    });
    let first = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    if CONFIRM.is_match(first) {
        return Some(HoursAnswer::Confirm);
    }
    let caps = FIGURE.captures(first)?;
    let number = caps.get(2)?.as_str().replace(' ', "").replace(',', ".");
    let unit = caps.get(3).map(|u| u.as_str().to_lowercase());
    let decimal = number.contains('.');
    if caps.get(1).is_none() && unit.is_none() && !decimal {
        return None;
    }
    let value: f64 = number.parse().ok()?;
    let minutes = match unit.as_deref() {
        Some(u) if u.starts_with("min") => value.round() as i64,
        _ => (value * 60.0).round() as i64,
    };
    let extra: i64 = caps
        .get(4)
        .and_then(|m| m.as_str().parse().ok())
        .unwrap_or(0);
    Some(HoursAnswer::Other(if minutes < 0 {
        minutes - extra
    } else {
        minutes + extra
    }))
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

/// Who an email acting on an existing request comes from, for [`crate::authz`]. By email a
/// coordinator acts only as a requester (the address alone proves nothing), unless the
/// domain's DMARC check vouched for the sender ([`InboundEmail::dmarc_vouched`]).
/// What mediator `mediator_id` reported by email after an appointment that has started: on a
/// series, the latest meeting she holds with nothing recorded yet (`app::meetings::record`);
/// otherwise her active assignment (`app::outcome::record`). `false`: nothing of hers to record.
#[allow(clippy::too_many_arguments)]
async fn mediator_outcome(
    core: &crate::app::Core,
    tx: &mut Tx,
    actor: &Actor,
    request: &Request,
    mediator_id: i64,
    done: bool,
    minutes: Option<i64>,
    now: DateTime<Utc>,
) -> Result<bool, crate::app::AppError> {
    if let Some(series) = &request.series {
        let Some(o) = series
            .on()
            .filter(|o| {
                o.mediator_id == Some(mediator_id) && o.starts_at <= now && o.outcome.is_none()
            })
            .max_by_key(|o| o.starts_at)
        else {
            return Ok(false);
        };
        let report = crate::app::meetings::MeetingReport {
            done,
            worked_minutes: minutes,
            no_show: None,
        };
        let r =
            crate::app::meetings::record(core, tx, actor, request.id, o.seq, report, now).await?;
        return Ok(matches!(r, crate::app::meetings::Recorded::Yes { .. }));
    }
    if request.starts_at.is_none_or(|s| s > now) {
        return Ok(false);
    }
    let Some(a) = tx.active_assignment(request.id).await? else {
        return Ok(false);
    };
    if a.mediator_id != mediator_id {
        return Ok(false);
    }
    crate::app::outcome::record(core, tx, actor, a.id, done, minutes, now).await
}

/// A mediator's report after an appointment, from the first words of her reply: "svolto"
/// (with the hours after it: "svolto, ore 1,5") -> `(true, minutes)`; "non svolto" ->
/// `(false, None)`; anything else `None`.
fn outcome_reply_of(text: &str) -> Option<(bool, Option<i64>)> {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('>'))?;
    let folded = crate::extract::fold::Folded::new(first).text;
    let has = |p: &str| folded.contains(p);
    if has("non svolto")
        || has("non si e svolto")
        || has("non si è svolto")
        || has("not done")
        || has("did not take place")
    {
        return Some((false, None));
    }
    if !(folded.starts_with("svolto")
        || has("si e svolto")
        || has("si è svolto")
        || folded.starts_with("done")
        || has("took place"))
    {
        return None;
    }
    let minutes = first
        .split_once([',', ':', ';'])
        .and_then(|(_, rest)| hours_reply_of(rest.trim()))
        .and_then(|h| match h {
            crate::app::account::HoursAnswer::Other(m) => Some(m),
            crate::app::account::HoursAnswer::Confirm => None,
        });
    Some((true, minutes))
}

/// A mediator's answer to a new date or time, from the first words of their reply: "va
/// bene", "ok", "sì", "confermo", "fine" -> `true`; "non posso", "non riesco", "no", "can't"
/// -> `false`; anything else `None` (kept for the coordinators).
fn change_answer_of(text: &str) -> Option<bool> {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('>'))?;
    let folded = crate::extract::fold::Folded::new(first).text;
    let words: Vec<&str> = folded
        .split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .collect();
    let starts = |p: &[&str]| words.len() >= p.len() && words[..p.len()] == *p;
    let has = |p: &str| folded.contains(p);
    if has("non posso")
        || has("non riesco")
        || has("non va bene")
        || has("non mi va")
        || has("cannot")
        || has("can't")
        || has("can not")
        || starts(&["no"])
    {
        return Some(false);
    }
    if has("va bene")
        || has("confermo")
        || has("d'accordo")
        || has("daccordo")
        || starts(&["ok"])
        || starts(&["okay"])
        || starts(&["si"])
        || starts(&["yes"])
        || starts(&["fine"])
        || has("that's fine")
        || has("works for me")
    {
        return Some(true);
    }
    None
}

async fn email_actor(
    tx: &mut Tx,
    sender: &EmailAddress,
    operator: Option<&Operator>,
    dmarc_vouched: bool,
) -> Result<Actor, StoreError> {
    if dmarc_vouched
        && let Some(c) = tx
            .all_coordinators()
            .await?
            .into_iter()
            .find(|c| c.email.as_deref().is_some_and(|e| sender.is(e)))
    {
        return Ok(Actor::Coordinator { id: c.id });
    }
    Ok(Actor::Operator {
        id: operator.map(|o| o.id),
        email: Some(sender.as_str().to_owned()),
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
    renderers: crate::app::notice::Renderers,
) -> Result<IngestReport, IntakeError> {
    let intake = Intake::new(store.clone(), cfg.clone(), Arc::new(SystemClock), renderers);
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
    renderers: crate::app::notice::Renderers,
) -> Result<Outcome, IntakeError> {
    Intake::new(store.clone(), cfg.clone(), Arc::new(SystemClock), renderers)
        .retry_quarantined(id)
        .await
}

#[cfg(test)]
mod evaluation_tests {
    use super::evaluation_of;
    use super::hours_reply_of;
    use super::scores_of;

    #[test]
    fn a_mediator_s_answer_to_a_new_time_is_read_from_her_first_words() {
        use super::change_answer_of;
        for yes in [
            "Va bene, grazie!",
            "ok",
            "Sì, ci sono",
            "Confermo.",
            "Fine, see you",
            "> quoted\nva bene",
        ] {
            assert_eq!(change_answer_of(yes), Some(true), "{yes}");
        }
        for no in [
            "Non posso, mi dispiace",
            "Purtroppo non riesco",
            "No",
            "Sorry, I can't",
            "non va bene",
        ] {
            assert_eq!(change_answer_of(no), Some(false), "{no}");
        }
        for neither in ["", "A che piano è lo studio?", "Nota: il citofono è rotto"] {
            assert_eq!(change_answer_of(neither), None, "{neither}");
        }
    }

    #[test]
    fn a_mediator_s_report_after_a_meeting_is_read_from_her_first_words() {
        use super::outcome_reply_of;
        assert_eq!(outcome_reply_of("Svolto, ore 1,5"), Some((true, Some(90))));
        assert_eq!(outcome_reply_of("svolto"), Some((true, None)));
        assert_eq!(
            outcome_reply_of("Si è svolto: 2 ore"),
            Some((true, Some(120)))
        );
        assert_eq!(
            outcome_reply_of("Non svolto, la famiglia non c'era"),
            Some((false, None))
        );
        assert_eq!(outcome_reply_of("Done, 1.5 hours"), Some((true, Some(90))));
        assert_eq!(outcome_reply_of("A che ora è?"), None);
    }

    #[test]
    fn marks_in_order_with_a_comment_below() {
        assert_eq!(scores_of("4 5 3 4 5"), Some((vec![4, 5, 3, 4, 5], None)));
        assert_eq!(
            scores_of("Voti: 4, 2, 3, 4, 5\nIn ritardo di mezz'ora."),
            Some((vec![4, 2, 3, 4, 5], Some("In ritardo di mezz'ora.".into())))
        );
        assert_eq!(scores_of("4 9 3 4 5"), Some((vec![4, 9, 3, 4, 5], None)));
        // One mark is the single evaluation; "3/5" and words are not marks in order.
        assert_eq!(scores_of("4"), None);
        assert_eq!(scores_of("valutazione 3/5"), None);
        assert_eq!(scores_of("3 persone erano presenti"), None);
    }
    use crate::app::account::HoursAnswer::{Confirm, Other};

    #[test]
    fn an_hours_reply_is_confermo_or_a_figure_with_its_word() {
        assert_eq!(hours_reply_of("Confermo, grazie"), Some(Confirm));
        assert_eq!(hours_reply_of("\n sì, confermo\nSaluti"), Some(Confirm));
        assert_eq!(hours_reply_of("ore 2,5"), Some(Other(150)));
        assert_eq!(hours_reply_of("1,5"), Some(Other(90)));
        assert_eq!(hours_reply_of("2 ore e 30"), Some(Other(150)));
        assert_eq!(hours_reply_of("3h"), Some(Other(180)));
        assert_eq!(hours_reply_of("90 minuti"), Some(Other(90)));
        assert_eq!(hours_reply_of("-2 ore"), Some(Other(-120)));
        assert_eq!(hours_reply_of("300 ore"), Some(Other(18000)));
        // A bare whole number is an evaluation; words are not hours.
        assert_eq!(hours_reply_of("4"), None);
        assert_eq!(hours_reply_of("3 persone erano presenti"), None);
        assert_eq!(hours_reply_of("Grazie, a presto"), None);
    }

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
