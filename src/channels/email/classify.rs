//! What kind of email is this? Decided from headers first, then subject, then the new text.
//!
//! Pure: the caller says which Message-IDs carry our mark ([`crate::store::mark`]); a message
//! is our own only by that mark (in its Message-ID or our `X-Connecting-Mark` header), never by
//! its domain or its From: a colleague writing from the cooperative's own domain is a person. Only
//! [`Class::NewRequest`], [`Class::FollowUp`] and [`Class::Cancellation`] create or change
//! requests; every other class is recorded and never answered.

use super::parse::{InboundEmail, Mailbox, is_pec_transport};
use super::text;
use crate::domain::RequestCode;

/// How a message points at an existing request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ThreadRef {
    /// A request code found in the subject (`Re: [MED-2027-0042] ...`).
    pub code: Option<RequestCode>,
    /// The first of our own Message-IDs in In-Reply-To / References.
    pub our_message_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BounceKind {
    /// multipart/report; report-type=delivery-status, or a delivery-status part.
    Dsn,
    /// Read receipt: report-type=disposition-notification.
    Mdn,
    /// A bounce written as plain text (Gmail, old MTAs), recognised by sender and subject.
    PlainText,
}

/// The classification of one inbound email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Class {
    NewRequest,
    FollowUp(ThreadRef),
    Cancellation(ThreadRef),
    AutoReply,
    Bounce(BounceKind),
    /// `X-Ricevuta: <kind>` (accettazione, avvenuta-consegna, errore-consegna, ...).
    PecReceipt(String),
    /// `X-Trasporto: errore`, or a PEC envelope without its postacert.eml.
    PecAnomaly,
    MailingList,
    OwnMessage,
}

impl Class {
    /// True for the three classes that create or change a request.
    pub fn acts_on_request(&self) -> bool {
        matches!(
            self,
            Class::NewRequest | Class::FollowUp(_) | Class::Cancellation(_)
        )
    }

    /// Short stable name for logs and the store.
    pub fn as_str(&self) -> &'static str {
        match self {
            Class::NewRequest => "new_request",
            Class::FollowUp(_) => "follow_up",
            Class::Cancellation(_) => "cancellation",
            Class::AutoReply => "auto_reply",
            Class::Bounce(BounceKind::Dsn) => "bounce",
            Class::Bounce(BounceKind::Mdn) => "read_receipt",
            Class::Bounce(BounceKind::PlainText) => "bounce_text",
            Class::PecReceipt(_) => "pec_receipt",
            Class::PecAnomaly => "pec_anomaly",
            Class::MailingList => "mailing_list",
            Class::OwnMessage => "own_message",
        }
    }
}

/// What the classifier needs to know about us.
pub struct Context<'a> {
    /// Does this Message-ID (brackets optional) carry our mark?
    pub is_ours: &'a dyn Fn(&str) -> bool,
}

/// Words that, in the new text or subject of a reply on an existing request, mean "cancel it".
const CANCEL_WORDS: &[&str] = &[
    "annullo",
    "annullare",
    "annullata",
    "annullato",
    "annullamento",
    "annulliamo",
    "disdetta",
    "disdico",
    "disdire",
    "non serve più",
    "non serve piu",
    "non è più necessari",
    "non e' più necessari",
    "non è più necessario",
    "revoca",
    "revochiamo",
    "cancellare la richiesta",
    "cancelliamo",
    "cancellazione",
];

const AUTO_SUBJECTS: &[&str] = &[
    "risposta automatica",
    "automatic reply",
    "auto reply",
    "autoreply",
    "auto-reply",
    "autorespons",
    "fuori sede",
    "fuori ufficio",
    "out of office",
    "out of the office",
    "assente dall'ufficio",
    "réponse automatique",
    "abwesenheitsnotiz",
    "auto:",
];

const BOUNCE_SUBJECTS: &[&str] = &[
    "delivery status notification",
    "undelivered mail",
    "undeliverable",
    "non recapitabile",
    "mail delivery failed",
    "mail delivery failure",
    "delivery failure",
    "returned mail",
    "failure notice",
    "mancato recapito",
    "impossibile recapitare",
    "message not delivered",
];

/// Classifies `email` (for a PEC envelope, the inner message decides once the envelope is known
/// to be a transport and not a receipt). The header alone decides here: intake first disarms an
/// envelope that does not come from a PEC provider ([`InboundEmail::distrust_forged_pec`]).
pub fn classify(email: &InboundEmail, ctx: &Context<'_>) -> Class {
    let s = &email.signals;
    // 1. PEC machinery, by its headers first.
    if let Some(kind) = &s.x_ricevuta {
        return Class::PecReceipt(kind.clone());
    }
    if let Some(t) = &s.x_trasporto {
        if t == "errore" {
            return Class::PecAnomaly;
        }
        if is_pec_transport(s) {
            return match &email.pec_inner {
                Some(inner) => classify_plain(inner, ctx),
                None => Class::PecAnomaly,
            };
        }
    }
    classify_plain(email, ctx)
}

fn classify_plain(email: &InboundEmail, ctx: &Context<'_>) -> Class {
    let s = &email.signals;
    let subject = email.subject.as_deref().unwrap_or("").to_lowercase();
    // 2. Our own messages (looped back, or copies): by our mark only. A claim without a
    // valid mark (our header name, our domain, our From) is read as anyone's mail.
    if s.mark_header.as_deref().is_some_and(|m| (ctx.is_ours)(m))
        || email
            .message_id
            .as_deref()
            .is_some_and(|id| (ctx.is_ours)(id))
    {
        return Class::OwnMessage;
    }
    // 3. Bounces, DSNs and read receipts.
    if let Some(report) = &s.report {
        if report.contains("disposition-notification") {
            return Class::Bounce(BounceKind::Mdn);
        }
        return Class::Bounce(BounceKind::Dsn);
    }
    if s.has_status_part {
        return Class::Bounce(BounceKind::Dsn);
    }
    let daemon_sender = email.from.as_ref().is_some_and(is_daemon);
    let bounce_subject = BOUNCE_SUBJECTS.iter().any(|b| subject.contains(b));
    if daemon_sender || (s.empty_return_path && bounce_subject) {
        return Class::Bounce(BounceKind::PlainText);
    }
    // 4. Auto-replies (RFC 3834 and the Exchange / vendor variants).
    let auto_submitted = s.auto_submitted.as_deref().is_some_and(|v| v != "no");
    let auto_subject = AUTO_SUBJECTS.iter().any(|a| subject.starts_with(a))
        || subject.contains("fuori sede")
        || subject.contains("out of office")
        || subject.contains("risposta automatica")
        || subject.contains("automatic reply");
    if auto_submitted
        || s.x_autoreply
        || s.x_autorespond
        || s.exchange_rules_loop
        || s.x_auto_response_suppress
        || auto_subject
    {
        return Class::AutoReply;
    }
    if s.empty_return_path || bounce_subject {
        return Class::Bounce(BounceKind::PlainText);
    }
    // 5. Lists and bulk mail.
    if s.list_id
        || s.precedence
            .as_deref()
            .is_some_and(|p| matches!(p, "bulk" | "junk" | "list"))
    {
        return Class::MailingList;
    }
    // 6. Follow-ups and cancellations on an existing request.
    let our_message_id = email
        .thread_ids()
        .find(|id| (ctx.is_ours)(id))
        .map(str::to_owned);
    let code = email.subject.as_deref().and_then(RequestCode::find_in);
    if our_message_id.is_some() || code.is_some() {
        let thread = ThreadRef {
            code,
            our_message_id,
        };
        let new_text =
            text::prepare(email.text_plain.as_deref(), email.text_html.as_deref()).to_lowercase();
        if is_cancellation(&subject) || is_cancellation(&new_text) {
            return Class::Cancellation(thread);
        }
        return Class::FollowUp(thread);
    }
    Class::NewRequest
}

fn is_daemon(from: &Mailbox) -> bool {
    let local = from.local_part();
    local.eq_ignore_ascii_case("mailer-daemon")
        || local.eq_ignore_ascii_case("postmaster")
        || local.eq_ignore_ascii_case("mail-daemon")
}

/// Does this (lower-case) text say the request is no longer needed?
pub fn is_cancellation(lower: &str) -> bool {
    CANCEL_WORDS.iter().any(|w| {
        lower.match_indices(w).any(|(i, _)| {
            // A word start: not glued to a preceding letter ("riannullo" is not a thing, but
            // "cancellazione" inside "ncancellazione" should not count).
            lower[..i]
                .chars()
                .next_back()
                .is_none_or(|c| !c.is_alphanumeric())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::channels::email::parse::{Limits, parse_email};

    fn key() -> crate::store::mark::MarkKey {
        crate::store::mark::MarkKey::new(b"test key")
    }

    fn class_of(raw: &str) -> Class {
        let k = key();
        let ours = |id: &str| k.verifies(id);
        let e = parse_email(raw.as_bytes(), &Limits::default()).unwrap();
        classify(&e, &Context { is_ours: &ours })
    }

    #[test]
    fn plain_request_is_new() {
        assert_eq!(
            class_of("From: a@comune.it\r\nSubject: Richiesta\r\n\r\nServe mediatore arabo\r\n"),
            Class::NewRequest
        );
    }

    #[test]
    fn reply_to_our_message_is_follow_up_and_annullo_cancels() {
        let ours = key().mark("ack-1@connecting.coop.example");
        let reply = format!(
            "From: a@comune.it\r\nSubject: Re: richiesta\r\n\
            In-Reply-To: <{ours}>\r\n\r\nL'orario e' alle 10.\r\n"
        );
        match class_of(&reply) {
            Class::FollowUp(t) => assert_eq!(t.our_message_id.as_deref(), Some(ours.as_str())),
            other => panic!("{other:?}"),
        }
        // The same reference without our mark points at nothing of ours: a new request.
        let forged = "From: a@comune.it\r\nSubject: Re: richiesta\r\n\
            In-Reply-To: <ack-1@connecting.coop.example>\r\n\r\nL'orario e' alle 10.\r\n";
        assert_eq!(class_of(forged), Class::NewRequest);
        let cancel = "From: a@comune.it\r\nSubject: Re: [MED-2027-0042] richiesta\r\n\r\n\
            Buongiorno, annullo la richiesta: non serve più.\r\n";
        match class_of(cancel) {
            Class::Cancellation(t) => {
                assert_eq!(
                    t.code.map(|c| c.to_string()).as_deref(),
                    Some("MED-2027-0042")
                )
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cancel_words_in_the_quoted_part_do_not_cancel() {
        let reply = "From: a@comune.it\r\nSubject: R: [MED-2027-0042] richiesta\r\n\r\n\
            Confermo, grazie.\r\n\r\nIl giorno 1 mar 2027, info ha scritto:\r\n> Per annullare rispondete annullo.\r\n";
        assert!(matches!(class_of(reply), Class::FollowUp(_)));
    }

    #[test]
    fn machines_are_never_requests() {
        let cases = [
            "From: a@comune.it\r\nAuto-Submitted: auto-replied\r\nSubject: Re: x\r\n\r\nvia\r\n",
            "From: a@comune.it\r\nSubject: Risposta automatica: richiesta\r\n\r\nassente\r\n",
            "From: MAILER-DAEMON@mx.it\r\nSubject: Undelivered Mail\r\n\r\nfailed\r\n",
            "From: a@comune.it\r\nReturn-Path: <>\r\nSubject: Mail delivery failed\r\n\r\nx\r\n",
            "From: a@list.it\r\nList-Id: <l.list.it>\r\nSubject: News\r\n\r\nx\r\n",
            "From: posta-certificata@pec.it\r\nX-Ricevuta: accettazione\r\nSubject: ACCETTAZIONE: x\r\n\r\nx\r\n",
            "From: posta-certificata@pec.it\r\nX-Trasporto: errore\r\nSubject: ANOMALIA MESSAGGIO: x\r\n\r\nx\r\n",
        ];
        for raw in cases {
            let c = class_of(raw);
            assert!(!c.acts_on_request(), "{raw:?} -> {c:?}");
        }
    }

    #[test]
    fn ours_only_by_the_mark() {
        let marked = key().mark("med-2027-0001.ack.1@coop.example");
        let copy = format!(
            "From: info@coop.example\r\nMessage-ID: <{marked}>\r\nSubject: [MED-2027-0001]\r\n\r\nx\r\n"
        );
        assert_eq!(class_of(&copy), Class::OwnMessage);
        let relayed = format!(
            "From: info@coop.example\r\nMessage-ID: <rewritten@relay.example>\r\n\
             X-Connecting-Mark: <{marked}>\r\nSubject: x\r\n\r\nx\r\n"
        );
        assert_eq!(class_of(&relayed), Class::OwnMessage);
        // Our domain, our From, our header name: without a valid mark, anyone's mail.
        let colleague = "From: e.beschi@coop.example\r\nMessage-ID: <abc@coop.example>\r\n\
            X-Connecting-Origin: outbox\r\nX-Connecting-Mark: <abc.m0123456789abcdef@coop.example>\r\n\
            Subject: I: richiesta\r\n\r\nServe un mediatore arabo\r\n";
        assert_eq!(class_of(colleague), Class::NewRequest);
    }
}
