//! Hostile email (issue 8), each case through the real intake (`Intake::process`, the function
//! the IMAP poller commits with) on SQLite and PostgreSQL, and where a reply or the mailbox is
//! involved through the real servers (aiosmtpd -> LMTP -> Dovecot):
//!
//! spoofed display names and Reply-To, a forged PEC envelope, CRLF / encoded-word header
//! injection into our reply, 8-bit garbage, 100,000 recipients, a 20 MB line through Dovecot,
//! 1,000 nested message/rfc822 and 10,000 parts, an autoresponder loop against the reply caps,
//! and every parsing limit listed in SECURITY.md and enforced.
//!
//! Already covered elsewhere (not repeated here): oversized mail fetched header-only by the
//! poller (tests/email_imap.rs), quarantine + retry and header-count limit
//! (tests/email_intake.rs), extractor text cap (tests/fuzz_regressions.rs), subject CR/LF in a
//! built message (unit test in src/channels/email/smtp.rs).
//!
//! Time and memory figures are printed (`cargo test --test hostile_email -- --nocapture`);
//! memory is the peak of live heap bytes above the start of the case, counted by this test
//! binary's allocator. The cases run one at a time (a lock) so the figures are their own.

#[path = "support/common.rs"]
mod common;
#[path = "support/mail.rs"]
mod mail;

use chrono::{TimeZone, Utc};
use connecting::channels::email::imap::{ImapConfig, Poller, TlsMode};
use connecting::channels::email::smtp::{SmtpConfig, SmtpTransport, TlsMode as SmtpTls};
use connecting::channels::email::{
    InboundEmail, Intake, IntakeConfig, Limits, Outcome, ParseError, parse_email, quarantine_list,
};
use connecting::clock::ManualClock;
use connecting::domain::{Ambito, RequestStatus};
use connecting::outbox::{OutboxWorker, Payload, RetryPolicy, Transport, Transports};
use connecting::store::{NewCoordinator, NewOperator, Store};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// Peak heap of a case: a counting allocator and one case at a time.

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: same contract as the caller's.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let now = LIVE.fetch_add(new_size - layout.size(), Ordering::Relaxed) + new_size
                    - layout.size();
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Starts measuring: returns the live bytes now.
fn measure_start() -> usize {
    let live = LIVE.load(Ordering::Relaxed);
    PEAK.store(live, Ordering::Relaxed);
    live
}

/// Peak heap above `base`, in MiB.
fn peak_mib(base: usize) -> f64 {
    PEAK.load(Ordering::Relaxed).saturating_sub(base) as f64 / (1024.0 * 1024.0)
}

// ---------------------------------------------------------------------------------------------
// The pipeline as the daemon builds it.

const OPERATOR: &str = "anna.rossi@comune.altro.it";

fn cfg() -> IntakeConfig {
    let mut c = IntakeConfig::new("info@coop.example", "connecting.coop.example");
    c.allowed_sender_domains = vec!["comune.example.it".into()];
    c
}

fn clock() -> ManualClock {
    ManualClock::new(Utc.with_ymd_and_hms(2027, 3, 1, 9, 0, 0).unwrap())
}

fn intake(store: &Store, cfg: IntakeConfig) -> Intake {
    Intake::new(
        store.clone(),
        cfg,
        Arc::new(clock()),
        connecting::renderers::channels(),
    )
}

fn mail(from: &str, subject: &str, id: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: info@coop.example\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n{extra}\
         Date: Mon, 1 Mar 2027 10:00:00 +0100\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

const REQUEST: &str = "Serve una mediatrice di lingua araba per un colloquio il 12/03/2027 alle 10 \
     presso la sede del Servizio Tutela Minori di Dalmine, durata 2 ore.";

use common::outbox_emails as emails;

async fn add_operator(store: &Store) -> i64 {
    store
        .add_operator(
            &NewOperator {
                name: "Anna Rossi".into(),
                email: Some(OPERATOR.into()),
                phone: None,
                ente: "Comune di Altro".into(),
                ambito: Ambito::parse("Dalmine").unwrap(),
                telegram_id: None,
            },
            Utc::now(),
        )
        .await
        .unwrap()
        .id
}

async fn add_coordinator(store: &Store) {
    store
        .add_coordinator(
            &NewCoordinator {
                name: "Coordinatrice".into(),
                telegram_id: None,
                email: Some("coordinatrice@coop.example".into()),
            },
            Utc::now(),
        )
        .await
        .unwrap();
}

/// Alerts queued for the coordinator.
async fn coordinator_alerts(store: &Store) -> usize {
    emails(store)
        .await
        .iter()
        .filter(|e| e.to == "coordinatrice@coop.example")
        .count()
}

fn smtp(servers: &mail::MailServers) -> SmtpTransport {
    let mut c = SmtpConfig::new(
        "127.0.0.1",
        servers.smtp_port,
        SmtpTls::None,
        "info@coop.example",
    );
    c.allow_plaintext = true;
    c.timeout = Duration::from_secs(10);
    SmtpTransport::new(&c).unwrap()
}

/// The header block of a delivered message, unfolded, one field per entry.
fn header_fields(raw: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(raw);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    let mut out: Vec<String> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.push_str(line);
            }
        } else {
            out.push(line.to_owned());
        }
    }
    out
}

fn count_fields(fields: &[String], name: &str) -> usize {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    fields
        .iter()
        .filter(|f| f.to_ascii_lowercase().starts_with(&prefix))
        .count()
}

// ---------------------------------------------------------------------------------------------
// 1. Spoofed display names and Reply-To.

both_backends!(
    a_spoofed_display_name_is_neither_our_mail_nor_the_operator,
    |db| async move {
        let _serial = SERIAL.lock().await;
        let store = db.store.clone();
        let operator_id = add_operator(&store).await;
        let i = intake(&store, cfg());
        let spoofs = [
            // Our own address as the display name (quoted, and bare).
            "\"info@coop.example\" <evil@x.example>",
            "info@coop.example <evil@x.example>",
            // The operator's name, and her address, as the display name.
            "Anna Rossi <evil@x.example>",
            "\"Anna Rossi <anna.rossi@comune.altro.it>\" <evil@x.example>",
            "anna.rossi@comune.altro.it <evil@x.example>",
        ];
        for (n, from) in spoofs.iter().enumerate() {
            let raw = mail(
                from,
                "Richiesta mediatrice",
                &format!("spoof-{n}@x.example"),
                "",
                REQUEST,
            );
            let out = i.process(&raw).await.unwrap();
            let Outcome::Held {
                request_id: Some(id),
            } = out
            else {
                panic!("{from}: {out:?}")
            };
            let r = store.request_by_id(id).await.unwrap();
            assert_eq!(r.status, RequestStatus::NeedsReview, "{from}");
            assert_eq!(
                r.requester_email.as_deref(),
                Some("evil@x.example"),
                "{from}"
            );
            assert_eq!(r.operator_id, None, "{from}: taken for the operator");
        }
        let inbound = store.inbound("email", None).await.unwrap();
        assert_eq!(inbound.len(), spoofs.len(), "{inbound:?}");
        for row in &inbound {
            assert_eq!(row.kind, "new_request", "not our own mail");
            assert_eq!(row.status, "held");
            assert_eq!(row.sender.as_deref(), Some("evil@x.example"));
        }
        // Reply-To naming the operator does not make a stranger's mail hers.
        let raw = mail(
            "evil@x.example",
            "Richiesta mediatrice",
            "spoof-rt@x.example",
            &format!("Reply-To: Anna Rossi <{OPERATOR}>\r\n"),
            REQUEST,
        );
        assert!(
            matches!(i.process(&raw).await.unwrap(), Outcome::Held { .. }),
            "Reply-To must not pass the sender policy"
        );
        // Nor does the operator's From with a stranger's Reply-To send our replies there.
        let raw = mail(
            &format!("Anna Rossi <{OPERATOR}>"),
            "Richiesta mediatrice",
            "spoof-rt2@x.example",
            "Reply-To: evil@x.example\r\n",
            REQUEST,
        );
        assert!(
            matches!(i.process(&raw).await.unwrap(), Outcome::Held { .. }),
            "a Reply-To that would not pass the policy is held"
        );
        assert!(emails(&store).await.is_empty(), "no reply to any spoof");

        // The operator herself is accepted (the same text, her real address; a Reply-To to her
        // office's shared mailbox, an accepted domain, is fine).
        let raw = mail(
            &format!("Anna Rossi <{OPERATOR}>"),
            "Richiesta mediatrice",
            "real-1@comune.altro.it",
            "Reply-To: Ufficio <ufficio@comune.example.it>\r\n",
            REQUEST,
        );
        let Outcome::Created { request_id, .. } = i.process(&raw).await.unwrap() else {
            panic!("the real operator is accepted")
        };
        let r = store.request_by_id(request_id).await.unwrap();
        assert_eq!(r.operator_id, Some(operator_id));
        let out = emails(&store).await;
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].to, "ufficio@comune.example.it");
    }
);

// ---------------------------------------------------------------------------------------------
// 2. A forged PEC envelope.

/// A PEC-looking transport envelope from `outer` carrying `postacert.eml` from `inner`.
fn pec_envelope(outer: &str, inner: &str, id: &str) -> Vec<u8> {
    format!(
        "From: \"Per conto di: {inner}\" <{outer}>\r\nTo: info@coop.example\r\n\
         Subject: POSTA CERTIFICATA: Richiesta mediatrice\r\nMessage-ID: <{id}>\r\n\
         X-Trasporto: posta-certificata\r\nX-Riferimento-Message-ID: <inner-{id}>\r\n\
         Date: Mon, 1 Mar 2027 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"env\"\r\n\r\n\
         --env\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
         Messaggio di posta certificata.\r\n\
         --env\r\nContent-Type: message/rfc822; name=\"postacert.eml\"\r\n\
         Content-Disposition: inline; filename=\"postacert.eml\"\r\n\r\n\
         From: Anna Rossi <{inner}>\r\nTo: info@coop.example\r\nSubject: Richiesta mediatrice\r\n\
         Message-ID: <inner-{id}>\r\nDate: Mon, 1 Mar 2027 09:59:00 +0100\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{REQUEST}\r\n\
         --env--\r\n"
    )
    .into_bytes()
}

#[test]
fn a_forged_pec_header_does_not_open_the_envelope() {
    let providers: Vec<String> = IntakeConfig::new("info@coop.example", "c.example")
        .pec_provider_domains
        .clone();
    assert!(providers.iter().any(|p| p == "pec.aruba.it"));
    let forged = pec_envelope(
        "posta-certificata@evil.example",
        OPERATOR,
        "f-1@evil.example",
    );
    let mut e: InboundEmail = parse_email(&forged, &Limits::default()).unwrap();
    assert!(e.pec_inner.is_some(), "the parser sees the envelope");
    assert!(e.distrust_forged_pec(&providers), "forgery disarmed");
    assert!(e.pec_inner.is_none() && e.signals.x_trasporto.is_none());
    assert_eq!(
        e.effective().from.as_ref().map(|m| m.address.as_str()),
        Some("posta-certificata@evil.example")
    );
    // A look-alike domain is not a subdomain of a provider.
    let lookalike = pec_envelope("posta-certificata@evilpec.it", OPERATOR, "f-2@x.example");
    let mut e = parse_email(&lookalike, &Limits::default()).unwrap();
    assert!(e.distrust_forged_pec(&providers));
    // A provider (or a subdomain of one) is trusted.
    for outer in [
        "posta-certificata@pec.aruba.it",
        "posta-certificata@cert.legalmail.it",
    ] {
        let real = pec_envelope(outer, OPERATOR, "r-1@pec.example");
        let mut e = parse_email(&real, &Limits::default()).unwrap();
        assert!(!e.distrust_forged_pec(&providers), "{outer}");
        assert!(e.pec_inner.is_some());
    }
}

both_backends!(
    a_forged_pec_envelope_is_the_outer_senders_mail_and_held,
    |db| async move {
        let _serial = SERIAL.lock().await;
        let store = db.store.clone();
        let operator_id = add_operator(&store).await;
        let i = intake(&store, cfg());
        let forged = pec_envelope(
            "posta-certificata@evil.example",
            OPERATOR,
            "f-1@evil.example",
        );
        let out = i.process(&forged).await.unwrap();
        let Outcome::Held {
            request_id: Some(id),
        } = out
        else {
            panic!("{out:?}")
        };
        let r = store.request_by_id(id).await.unwrap();
        assert_eq!(
            r.requester_email.as_deref(),
            Some("posta-certificata@evil.example"),
            "the inner sender is not believed"
        );
        assert_eq!(r.operator_id, None);
        assert_eq!(
            r.source_message_id.as_deref(),
            Some("f-1@evil.example"),
            "the envelope itself is the message"
        );
        // The coordinator reviewing it sees why (and could trust a real provider's domain).
        let trail = store.audit_trail(id).await.unwrap();
        let note = trail
            .iter()
            .find(|e| e.action == "pec_untrusted")
            .expect("noted on the request");
        assert!(
            note.detail
                .as_deref()
                .unwrap_or("")
                .contains("evil.example")
        );
        assert!(emails(&store).await.is_empty(), "no reply");

        // The same envelope from a PEC provider is opened: the operator's request.
        let real = pec_envelope(
            "posta-certificata@pec.aruba.it",
            OPERATOR,
            "r-1@pec.aruba.it",
        );
        let Outcome::Created { request_id, .. } = i.process(&real).await.unwrap() else {
            panic!("a provider's envelope is opened")
        };
        let r = store.request_by_id(request_id).await.unwrap();
        assert_eq!(r.operator_id, Some(operator_id));
        assert_eq!(
            r.source_message_id.as_deref(),
            Some("inner-r-1@pec.aruba.it")
        );
        assert_eq!(emails(&store).await[0].to, OPERATOR);
    }
);

// ---------------------------------------------------------------------------------------------
// 3. CRLF and encoded-word header injection, through the real SMTP server.

both_backends!(
    encoded_crlf_in_names_and_subjects_injects_nothing_into_the_delivered_reply,
    |db| async move {
        let _serial = SERIAL.lock().await;
        let store = db.store.clone();
        let servers = mail::MailServers::start(&["anna", "evil", "info"]);
        let i = intake(&store, cfg());
        let subjects = [
            // Q-encoded CR LF + Bcc.
            "=?utf-8?q?Richiesta=0D=0ABcc:_evil@x.example?=",
            // B-encoded: "Richiesta\r\nBcc: evil@x.example\r\nX-Injected: 1"
            "=?utf-8?b?UmljaGllc3RhDQpCY2M6IGV2aWxAeC5leGFtcGxlDQpYLUluamVjdGVkOiAx?=",
            // Bare LF in an encoded word, then a To.
            "=?iso-8859-1?q?Richiesta=0ATo:_evil@x.example?= mediatrice",
        ];
        let names = [
            "=?utf-8?q?Anna=0D=0ABcc:_evil@x.example?=",
            "=?utf-8?b?QW5uYQ0KQ2M6IGV2aWxAeC5leGFtcGxl?=",
            "\"Anna\\\r\n Bcc: evil@x.example\"",
        ];
        let smtp = smtp(&servers);
        for (n, (subject, name)) in subjects.iter().zip(names).enumerate() {
            let raw = mail(
                &format!("{name} <anna@comune.example.it>"),
                subject,
                &format!("inj-{n}@comune.example.it"),
                "",
                REQUEST,
            );
            let out = i.process(&raw).await.unwrap();
            assert!(matches!(out, Outcome::Created { .. }), "{subject}: {out:?}");
        }
        let out = emails(&store).await;
        assert_eq!(out.len(), subjects.len());
        for p in &out {
            assert_eq!(p.to, "anna@comune.example.it", "one recipient, the sender");
            smtp.deliver(&Payload::Email(p.clone()))
                .await
                .expect("delivered");
        }
        let got = servers
            .wait_for("anna", "INBOX", subjects.len(), Duration::from_secs(10))
            .await;
        assert_eq!(got.len(), subjects.len());
        for raw in &got {
            let fields = header_fields(raw);
            assert_eq!(count_fields(&fields, "Subject"), 1, "{fields:#?}");
            assert_eq!(count_fields(&fields, "To"), 1, "{fields:#?}");
            for bad in ["Bcc", "Cc", "X-Injected"] {
                assert_eq!(count_fields(&fields, bad), 0, "{bad} injected: {fields:#?}");
            }
            let subject = fields
                .iter()
                .find(|f| f.to_ascii_lowercase().starts_with("subject:"))
                .cloned()
                .unwrap_or_default();
            assert!(subject.contains("Richiesta"), "{subject}");
        }
        // Nothing reached the would-be Bcc/To/Cc recipient.
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(servers.messages("evil", "INBOX").await.is_empty());
    }
);

// ---------------------------------------------------------------------------------------------
// 4. 8-bit garbage.

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn bytes(&mut self, n: usize, no_newlines: bool) -> Vec<u8> {
        (0..n)
            .map(|_| {
                let b = (self.next() >> 24) as u8;
                if no_newlines && (b == b'\r' || b == b'\n') {
                    0xA0
                } else {
                    b
                }
            })
            .collect()
    }
}

both_backends!(
    eight_bit_garbage_is_kept_classified_and_never_a_panic,
    |db| async move {
        let _serial = SERIAL.lock().await;
        let store = db.store.clone();
        let i = intake(&store, cfg());
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let rounds = 60;
        let mut kept_as_mail = 0;
        for n in 0..rounds {
            // Valid framing, raw 8-bit bytes without any charset in name, subject and body.
            let mut raw = b"From: ".to_vec();
            raw.extend(rng.bytes(12, true));
            raw.extend(b" <anna@comune.example.it>\r\nTo: info@coop.example\r\nSubject: ");
            raw.extend(rng.bytes(40, true));
            raw.extend(format!("\r\nMessage-ID: <g-{n}@comune.example.it>\r\n\r\n").as_bytes());
            raw.extend(rng.bytes(2000, false));
            raw.extend(b"\r\n");
            let out = i
                .process(&raw)
                .await
                .expect("a store error is not expected");
            match out {
                Outcome::Created { .. } | Outcome::Held { .. } => kept_as_mail += 1,
                Outcome::Quarantined { .. } => {}
                other => panic!("garbage {n}: {other:?}"),
            }
            // Pure garbage, no framing at all.
            let junk = rng.bytes(3000, false);
            let out = i
                .process(&junk)
                .await
                .expect("a store error is not expected");
            assert!(
                matches!(
                    out,
                    Outcome::Quarantined { .. }
                        | Outcome::Created { .. }
                        | Outcome::Held { .. }
                        | Outcome::Recorded { .. }
                        | Outcome::Duplicate
                ),
                "{out:?}"
            );
        }
        // Framed mail with a garbage name and subject is still the sender's request.
        assert_eq!(kept_as_mail, rounds, "valid framing is read as mail");
        let inbound = store.inbound("email", None).await.unwrap();
        assert!(inbound.len() >= rounds);
        for row in &inbound {
            assert!(
                matches!(
                    row.status.as_str(),
                    "processed" | "held" | "quarantined" | "ignored"
                ),
                "{}",
                row.status
            );
            if let Some(s) = &row.subject {
                assert!(!s.contains('\0'));
            }
        }
        // Every framed one is a request with its real sender, and the replies go only there.
        for e in emails(&store).await {
            assert_eq!(e.to, "anna@comune.example.it");
        }
    }
);

// ---------------------------------------------------------------------------------------------
// 5. 100,000 recipients.

/// `n` addresses in To and `n` in Cc (folded, one per line), then an ordinary request.
fn many_recipients(n: usize, cc: bool, id: &str) -> Vec<u8> {
    let list = |host: &str| {
        (0..n)
            .map(|k| format!("r{k}@{host}{}.example", k % 97))
            .collect::<Vec<_>>()
            .join(",\r\n ")
    };
    let mut v = format!("To: {}\r\n", list("x")).into_bytes();
    if cc {
        v.extend(format!("Cc: {}\r\n", list("cc")).into_bytes());
    }
    v.extend(mail(
        "anna@comune.example.it",
        "Richiesta mediatrice",
        id,
        "",
        REQUEST,
    ));
    v
}

both_backends!(
    a_hundred_thousand_recipients_are_refused_in_bounded_time_with_no_fan_out,
    |db| async move {
        let _serial = SERIAL.lock().await;
        let store = db.store.clone();
        add_coordinator(&store).await;
        let raw = many_recipients(100_000, false, "many-1@comune.example.it");
        let i = intake(&store, cfg());
        let base = measure_start();
        let t = Instant::now();
        let out = i.process(&raw).await.unwrap();
        let took = t.elapsed();
        let peak = peak_mib(base);
        println!(
            "100,000 recipients ({:.1} MB header), default limits: {out:?} in {took:?}, peak heap +{peak:.1} MiB",
            raw.len() as f64 / 1e6
        );
        let Outcome::Quarantined { error } = &out else {
            panic!("{out:?}")
        };
        assert!(error.contains("header bytes"), "{error}");
        assert!(took < Duration::from_secs(5), "{took:?}");
        // Raw kept once (about 2.6 MB) plus the store's copies; not per recipient.
        assert!(peak < 64.0, "{peak} MiB");
        assert_eq!(quarantine_list(&store).await.unwrap().len(), 1);
        assert_eq!(
            coordinator_alerts(&store).await,
            1,
            "the coordinator is told"
        );
        assert_eq!(emails(&store).await.len(), 1, "nothing but the alert");

        // With the header limit lifted the parser still copes, and only the sender is answered.
        let mut lax = cfg();
        lax.limits.max_header_bytes = 64 * 1024 * 1024;
        lax.limits.max_headers = 1_000_000;
        let both = many_recipients(100_000, true, "many-2@comune.example.it");
        let base = measure_start();
        let t = Instant::now();
        let out = intake(&store, lax).process(&both).await.unwrap();
        let took = t.elapsed();
        let peak = peak_mib(base);
        println!(
            "100,000 To + 100,000 Cc ({:.1} MB), header limit lifted: {} in {took:?}, peak heap +{peak:.1} MiB",
            both.len() as f64 / 1e6,
            match &out {
                Outcome::Created { .. } => "created",
                _ => "other",
            }
        );
        assert!(matches!(out, Outcome::Created { .. }), "{out:?}");
        assert!(took < Duration::from_secs(30), "{took:?}");
        let replies: Vec<_> = emails(&store)
            .await
            .into_iter()
            .filter(|e| e.to != "coordinatrice@coop.example")
            .collect();
        assert_eq!(replies.len(), 1, "one acknowledgement");
        assert_eq!(replies[0].to, "anna@comune.example.it");
    }
);

// ---------------------------------------------------------------------------------------------
// 6. One 20 MB line, through the real Dovecot and the IMAP poller.

both_backends!(
    a_twenty_megabyte_line_through_dovecot_is_quarantined_and_the_mailbox_goes_on,
    |db| async move {
        let _serial = SERIAL.lock().await;
        let store = db.store.clone();
        add_coordinator(&store).await;
        let servers = mail::MailServers::start(&["info"]);
        // The whole message is one line: no header block end, no body.
        let mut line = b"From: evil@x.example Subject: ".to_vec();
        line.resize(20 * 1024 * 1024, b'A');
        servers.append("info", "INBOX", &line).await;
        servers
            .append(
                "info",
                "INBOX",
                &mail(
                    "anna@comune.example.it",
                    "Richiesta mediatrice",
                    "after-big@comune.example.it",
                    "",
                    REQUEST,
                ),
            )
            .await;
        let mut ic = ImapConfig::new(
            "127.0.0.1",
            servers.imap_port,
            TlsMode::None,
            "info",
            mail::PASSWORD,
        );
        ic.allow_plaintext = true;
        ic.backoff_min = Duration::from_millis(50);
        ic.backoff_max = Duration::from_millis(500);
        ic.io_timeout = Duration::from_secs(30);
        assert_eq!(
            ic.max_message_size,
            Limits::default().max_size,
            "the same cap"
        );
        let sink = Arc::new(Intake::new(
            store.clone(),
            cfg(),
            Arc::new(clock()),
            connecting::renderers::channels(),
        ));
        let (stop, rx) = tokio::sync::watch::channel(false);
        let base = measure_start();
        let t = Instant::now();
        let task = tokio::spawn(Poller::new(ic, sink, rx).run());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let rows = store.inbound("email", None).await.unwrap();
            if rows.len() >= 2 || Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let took = t.elapsed();
        let peak = peak_mib(base);
        println!(
            "20 MB line through Dovecot + poller: both committed in {took:?}, peak heap +{peak:.1} MiB"
        );
        let rows = store.inbound("email", None).await.unwrap();
        assert_eq!(rows.len(), 2, "{rows:?}");
        let big = rows
            .iter()
            .find(|r| r.size_bytes >= 20 * 1024 * 1024)
            .expect("the big one");
        assert_eq!(big.status, "quarantined");
        assert!(big.error.as_deref().unwrap_or("").contains("header bytes"));
        let next = rows
            .iter()
            .find(|r| r.external_id.starts_with("after-big@comune.example.it "))
            .expect("the next one");
        assert_eq!(next.status, "processed", "the mailbox was not blocked");
        assert_eq!(
            coordinator_alerts(&store).await,
            1,
            "the coordinator is told"
        );
        // Both left the INBOX (moved after their commit).
        let deadline = Instant::now() + Duration::from_secs(20);
        while !servers.messages("info", "INBOX").await.is_empty() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(servers.messages("info", "INBOX").await.is_empty());
        stop.send(true).unwrap();
        let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        assert!(took < Duration::from_secs(30), "{took:?}");
        assert!(peak < 400.0, "{peak} MiB");
    }
);

both_backends!(
    a_twenty_megabyte_body_line_is_read_within_the_caps,
    |db| async move {
        let _serial = SERIAL.lock().await;
        let store = db.store.clone();
        let mut body = String::from(REQUEST);
        body.push(' ');
        body.push_str(&"parola ".repeat(20 * 1024 * 1024 / 7));
        let raw = mail(
            "anna@comune.example.it",
            "Richiesta mediatrice",
            "long-line@comune.example.it",
            "",
            &body,
        );
        let i = intake(&store, cfg());
        let base = measure_start();
        let t = Instant::now();
        let out = i.process(&raw).await.unwrap();
        let took = t.elapsed();
        let peak = peak_mib(base);
        println!(
            "20 MB body line, default limits: {} in {took:?}, peak heap +{peak:.1} MiB",
            match &out {
                Outcome::Created { .. } => "created",
                _ => "other",
            }
        );
        let Outcome::Created { request_id, .. } = out else {
            panic!("{out:?}")
        };
        let r = store.request_by_id(request_id).await.unwrap();
        assert_eq!(r.language.as_ref().map(|l| l.as_str()), Some("ar"));
        assert!(took < Duration::from_secs(30), "{took:?}");
        assert!(peak < 400.0, "{peak} MiB");
    }
);

// ---------------------------------------------------------------------------------------------
// 7. Deep nesting and many parts.

fn nested_rfc822(levels: usize) -> Vec<u8> {
    let mut m = format!(
        "From: anna@comune.example.it\r\nTo: info@coop.example\r\nSubject: Richiesta\r\n\
         Message-ID: <nest-{levels}@comune.example.it>\r\nContent-Type: message/rfc822\r\n\r\n"
    );
    for k in (0..levels).rev() {
        m.push_str(&format!(
            "From: a@comune.example.it\r\nSubject: livello {k}\r\nContent-Type: message/rfc822\r\n\r\n"
        ));
    }
    m.push_str(
        "From: a@comune.example.it\r\nSubject: fondo\r\nContent-Type: text/plain\r\n\r\nciao\r\n",
    );
    m.into_bytes()
}

/// The same message with every `Content-Type: message/rfc822` folded and in other letter case.
fn folded(raw: Vec<u8>) -> Vec<u8> {
    String::from_utf8_lossy(&raw)
        .replace(
            "Content-Type: message/rfc822",
            "content-TYPE:\r\n\tMessage/RFC822",
        )
        .into_bytes()
}

fn nested_multipart(levels: usize) -> Vec<u8> {
    let mut m = String::from(
        "From: anna@comune.example.it\r\nTo: info@coop.example\r\nSubject: Richiesta\r\n\
         Message-ID: <mp-nest@comune.example.it>\r\n",
    );
    for k in 0..levels {
        m.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=\"b{k}\"\r\n\r\n--b{k}\r\n"
        ));
    }
    m.push_str("Content-Type: text/plain\r\n\r\nciao\r\n");
    m.into_bytes()
}

fn many_parts(parts: usize, attachments: bool) -> Vec<u8> {
    let mut m = format!(
        "From: anna@comune.example.it\r\nTo: info@coop.example\r\nSubject: Richiesta\r\n\
         Message-ID: <parts-{parts}-{attachments}@comune.example.it>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"p\"\r\n\r\n\
         --p\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{REQUEST}\r\n"
    );
    for k in 0..parts {
        if attachments {
            m.push_str(&format!(
                "--p\r\nContent-Type: application/pdf\r\n\
                 Content-Disposition: attachment; filename=\"a{k}.pdf\"\r\n\r\nJVBERi0x\r\n"
            ));
        } else {
            m.push_str(&format!(
                "--p\r\nContent-Type: text/plain\r\n\r\nparte {k}\r\n"
            ));
        }
    }
    m.push_str("--p--\r\n");
    m.into_bytes()
}

both_backends!(
    deep_nesting_and_ten_thousand_parts_are_bounded_and_the_next_mail_goes_through,
    |db| async move {
        let _serial = SERIAL.lock().await;
        let store = db.store.clone();
        let i = intake(&store, cfg());
        let cases: [(&str, Vec<u8>, &str); 7] = [
            // The most containers the pre-count lets through: parsed and dropped safely.
            (
                "1,999 nested message/rfc822",
                nested_rfc822(1998),
                "MIME depth",
            ),
            // Parsed, these trees overflowed the stack when dropped: refused before parsing.
            (
                "100,000 nested message/rfc822",
                nested_rfc822(100_000),
                "MIME parts",
            ),
            (
                "20,000 nested message/rfc822, folded Content-Type",
                folded(nested_rfc822(20_000)),
                "MIME parts",
            ),
            (
                "1,000 nested message/rfc822",
                nested_rfc822(1000),
                "MIME depth",
            ),
            (
                "1,000 nested multipart",
                nested_multipart(1000),
                "MIME depth",
            ),
            ("10,000 parts", many_parts(10_000, false), "MIME parts"),
            ("10,000 attachments", many_parts(10_000, true), "MIME parts"),
        ];
        for (what, raw, limit) in cases {
            let base = measure_start();
            let t = Instant::now();
            let out = i.process(&raw).await.unwrap();
            let took = t.elapsed();
            let peak = peak_mib(base);
            println!(
                "{what} ({:.1} MB): {out:?} in {took:?}, peak heap +{peak:.1} MiB",
                raw.len() as f64 / 1e6
            );
            let Outcome::Quarantined { error } = &out else {
                panic!("{what}: {out:?}")
            };
            assert!(error.contains(limit), "{what}: {error}");
            assert!(took < Duration::from_secs(10), "{what}: {took:?}");
        }
        // The same shapes within the limits are ordinary mail.
        assert!(matches!(
            i.process(&nested_rfc822(5)).await.unwrap(),
            Outcome::Created { .. } | Outcome::Held { .. }
        ));
        let out = i.process(&many_parts(50, true)).await.unwrap();
        let Outcome::Created { request_id, .. } = out else {
            panic!("{out:?}")
        };
        let trail = store.audit_trail(request_id).await.unwrap();
        assert!(trail.iter().any(|e| e.action == "attachments"));
        // And the next message goes through.
        let raw = mail(
            "anna@comune.example.it",
            "Richiesta mediatrice",
            "after-nest@comune.example.it",
            "",
            REQUEST,
        );
        assert!(matches!(
            i.process(&raw).await.unwrap(),
            Outcome::Created { .. }
        ));
    }
);

// ---------------------------------------------------------------------------------------------
// 8. A reply loop against the cap on automatic mails, counted at the real mailbox.

both_backends!(
    an_autoresponder_answering_every_reply_is_held_by_both_caps,
    |db| async move {
        let _serial = SERIAL.lock().await;
        let store = db.store.clone();
        add_coordinator(&store).await;
        let servers = mail::MailServers::start(&["anna", "info", "coordinatrice"]);
        let clock = clock();
        let i = Intake::new(
            store.clone(),
            cfg(),
            Arc::new(clock.clone()),
            connecting::renderers::channels(),
        );
        let smtp_cap = 10;
        let worker = OutboxWorker::new(
            store.clone(),
            Arc::new(clock.clone()),
            Transports {
                telegram: None,
                email: Some(Arc::new(smtp(&servers))),
            },
            RetryPolicy::default(),
        )
        .with_events(connecting::app::delivery::events(
            connecting::renderers::core(Default::default()),
        ))
        .with_email_cap(smtp_cap as u32, Duration::from_secs(3600));
        // The first message leaves the time out: every answer on it is met with the question
        // again, the loop a careless autoresponder keeps going.
        let first = mail(
            "anna@comune.example.it",
            "Richiesta mediatrice",
            "loop-0@comune.example.it",
            "",
            "Serve una mediatrice di lingua araba il 12/03/2027 a Dalmine per un colloquio.",
        );
        let Outcome::Created {
            request_id: first_id,
            ..
        } = i.process(&first).await.unwrap()
        else {
            panic!("the first request")
        };
        let first_ack = emails(&store).await.remove(0);
        let rounds = 30;
        for n in 1..=rounds {
            worker.run_once().await.unwrap();
            // Auto-Submitted missing, the subject varying: every other one answers our first
            // reply on its thread, the others start afresh without our code.
            let (subject, thread) = if n % 2 == 0 {
                (
                    format!("Re: {} (risposta {n})", first_ack.subject),
                    format!(
                        "In-Reply-To: <{}>\r\n",
                        first_ack.message_id.trim_matches(['<', '>'])
                    ),
                )
            } else {
                (format!("Messaggio ricevuto n. {n}"), String::new())
            };
            let reply = mail(
                "anna@comune.example.it",
                &subject,
                &format!("loop-{n}@comune.example.it"),
                &thread,
                "Grazie per il messaggio, le risponderemo al piu' presto.",
            );
            i.process(&reply).await.unwrap();
        }
        worker.run_once().await.unwrap();
        let delivered = servers
            .wait_for("anna", "INBOX", smtp_cap, Duration::from_secs(10))
            .await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let delivered = delivered
            .len()
            .max(servers.messages("anna", "INBOX").await.len());
        let all = store.outbox_all().await.unwrap();
        let to_anna: Vec<_> = all
            .iter()
            .filter(|r| matches!(&r.payload, Payload::Email(e) if e.to == "anna@comune.example.it"))
            .collect();
        let on_first = to_anna
            .iter()
            .filter(|r| r.request_id == Some(first_id))
            .count();
        let sent = to_anna
            .iter()
            .filter(|r| r.status == connecting::domain::OutboxStatus::Sent)
            .count();
        let waiting = to_anna
            .iter()
            .filter(|r| r.status == connecting::domain::OutboxStatus::Pending)
            .count();
        println!(
            "reply loop: {rounds} autoresponder mails, {} replies queued ({on_first} on the looping request), {delivered} delivered, {waiting} deferred",
            to_anna.len()
        );
        // Per request: the loop on one thread ends at the cap, and the coordinators hear of it.
        assert_eq!(
            on_first as i64,
            connecting::channels::email::intake::MAX_AUTO_REPLIES_PER_REQUEST
        );
        let trail = store.audit_trail(first_id).await.unwrap();
        assert!(trail.iter().any(|e| e.action == "reply_capped"));
        assert_eq!(
            all.iter()
                .filter(|r| r.idempotency_key.starts_with("reply_cap:"))
                .count(),
            1,
            "one alert, not one per looping mail"
        );
        // Per recipient: whatever is queued, the mailbox gets the hourly cap, the rest waits.
        assert!(to_anna.len() > smtp_cap, "{}", to_anna.len());
        assert_eq!(delivered, smtp_cap, "the cap holds at the mailbox");
        assert_eq!(sent, smtp_cap);
        assert_eq!(
            waiting,
            to_anna.len() - smtp_cap,
            "deferred, not dropped or dead"
        );
    }
);

both_backends!(
    an_autoresponder_opening_a_fresh_thread_each_time_is_held_after_the_hourly_cap,
    |db| async move {
        let store = db.store.clone();
        add_coordinator(&store).await;
        let clock = clock();
        let mut c = cfg();
        c.max_new_requests_per_sender_per_hour = 3;
        let i = Intake::new(
            store.clone(),
            c,
            Arc::new(clock.clone()),
            connecting::renderers::channels(),
        );
        let fresh = |from: &str, n: usize| {
            mail(
                from,
                &format!("Messaggio ricevuto n. {n}"),
                &format!("fresh-{from}-{n}"),
                "",
                REQUEST,
            )
        };
        let mut outcomes = Vec::new();
        for n in 0..5 {
            outcomes.push(
                i.process(&fresh("anna@comune.example.it", n))
                    .await
                    .unwrap(),
            );
        }
        let created = outcomes
            .iter()
            .filter(|o| matches!(o, Outcome::Created { .. }))
            .count();
        assert_eq!(created, 3, "{outcomes:?}");
        for o in &outcomes[3..] {
            let Outcome::Held {
                request_id: Some(id),
            } = o
            else {
                panic!("{o:?}")
            };
            let r = store.request_by_id(*id).await.unwrap();
            assert_eq!(r.status, RequestStatus::NeedsReview, "held, not dropped");
        }
        // Acknowledgements only for the first three; one alert for the flood, not one per mail.
        let to_anna = emails(&store)
            .await
            .iter()
            .filter(|e| e.to == "anna@comune.example.it")
            .count();
        assert_eq!(to_anna, 3);
        let flood_alerts = store
            .outbox_all()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.idempotency_key.starts_with("flood:"))
            .count();
        assert_eq!(flood_alerts, 1);
        // Someone else is not held; and an hour later anna may write again.
        assert!(matches!(
            i.process(&fresh("paolo@comune.example.it", 0))
                .await
                .unwrap(),
            Outcome::Created { .. }
        ));
        clock.advance(chrono::Duration::minutes(61));
        assert!(matches!(
            i.process(&fresh("anna@comune.example.it", 9))
                .await
                .unwrap(),
            Outcome::Created { .. }
        ));
    }
);

// ---------------------------------------------------------------------------------------------
// The limits: documented in SECURITY.md with their values, and enforced.

#[test]
fn every_parsing_limit_is_in_security_md_with_its_value() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/SECURITY.md"))
        .expect("SECURITY.md");
    let limits = text
        .split("## Limits")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a Limits section");
    let d = Limits::default();
    let row = |key: &str| -> String {
        limits
            .lines()
            .find(|l| l.contains(key))
            .unwrap_or_else(|| panic!("{key} is not in SECURITY.md's limits"))
            .replace(',', "")
    };
    assert!(row("imap.max_message_bytes").contains("25 MB"));
    assert_eq!(d.max_size, 25 * 1024 * 1024);
    for (key, value) in [
        ("Limits::max_depth", d.max_depth),
        ("Limits::max_parts", d.max_parts),
        ("Limits::max_headers", d.max_headers),
        ("Limits::max_header_bytes", d.max_header_bytes),
        ("Limits::max_attachments", d.max_attachments),
        ("Limits::max_attachment_bytes", d.max_attachment_bytes),
        ("extract::MAX_TEXT", connecting::extract::MAX_TEXT),
        (
            "intake::MAX_AUTO_REPLIES_PER_REQUEST",
            connecting::channels::email::intake::MAX_AUTO_REPLIES_PER_REQUEST as usize,
        ),
        (
            "text::MAX_BODY_TEXT",
            connecting::channels::email::text::MAX_BODY_TEXT,
        ),
    ] {
        let r = row(key);
        assert!(r.contains(&value.to_string()), "{key} = {value}: {r}");
    }
    assert!(row("intake.pec_provider_domains").contains("PEC"));
}

#[test]
fn attachment_count_size_and_header_bytes_are_enforced() {
    let ten = many_parts(10, true);
    assert!(parse_email(&ten, &Limits::default()).is_ok());
    let few = Limits {
        max_attachments: 9,
        ..Limits::default()
    };
    assert!(matches!(
        parse_email(&ten, &few),
        Err(ParseError::TooComplex {
            what: "attachments",
            found: 10,
            max: 9
        })
    ));
    let small = Limits {
        max_attachment_bytes: 20,
        ..Limits::default()
    };
    assert!(matches!(
        parse_email(&ten, &small),
        Err(ParseError::TooComplex {
            what: "attachment bytes",
            ..
        })
    ));
    let short = Limits {
        max_header_bytes: 100,
        ..Limits::default()
    };
    assert!(matches!(
        parse_email(&ten, &short),
        Err(ParseError::TooComplex {
            what: "header bytes",
            ..
        })
    ));
}

#[test]
fn a_subject_of_sixty_thousand_re_prefixes_is_answered_in_linear_time() {
    use connecting::channels::email::replies::reply_subject;
    // Within the header limit (240 KB); the prefix loop was quadratic (0.85 s in a debug build).
    let chain = format!("{}Richiesta", "Re: R: Fwd: ".repeat(20_000));
    let t = Instant::now();
    let subject = reply_subject("it", "MED-2027-0001", Some(&chain));
    let took = t.elapsed();
    println!("reply subject after 60,000 prefixes: {took:?}");
    assert_eq!(subject, "Re: [MED-2027-0001] Richiesta");
    assert!(took < Duration::from_millis(200), "{took:?}");
    // Case and spacing as before.
    assert_eq!(
        reply_subject("it", "MED-2027-0001", Some("RE:  fw: R:Richiesta")),
        "Re: [MED-2027-0001] Richiesta"
    );
}
