//! Raw RFC 5322 bytes -> [`InboundEmail`]: the facts intake needs, with documented limits.
//!
//! Pure: no I/O, no panics on any input. Limits ([`Limits`]) bound the work done on hostile mail:
//! a message over `max_size` is not parsed in full (only its headers are read, see
//! [`ParseError::Oversized`]); one with more MIME parts, nesting or header fields than allowed is a
//! [`ParseError`] (the caller keeps the raw bytes in quarantine). A PEC transport envelope
//! (`X-Trasporto: posta-certificata`) carries the real message as `postacert.eml`: it is parsed
//! into [`InboundEmail::pec_inner`] and [`InboundEmail::effective`] returns it; intake trusts it
//! only from a PEC provider's domain ([`InboundEmail::distrust_forged_pec`]).

use mail_parser::{
    Address, HeaderName, HeaderValue, Message, MessageParser, MimeHeaders, PartType,
};

pub use super::address::EmailAddress;

/// Bounds on the work spent on one message. The defaults fit real municipal mail with margin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Larger messages are recorded (headers, size) but not parsed. Default 25 MB.
    pub max_size: usize,
    /// Deepest MIME nesting (multipart inside multipart or message/rfc822). Default 32.
    pub max_depth: usize,
    /// Most MIME parts in one message, nested messages included. Default 2000.
    pub max_parts: usize,
    /// Most header fields in the top-level header block. Default 1000.
    pub max_headers: usize,
    /// Longest top-level header block in bytes (all fields with their folded lines; 100,000
    /// addresses in To are about 2 MB). Default 256 KiB.
    pub max_header_bytes: usize,
    /// Most attachments in one message, nested messages included. Default 200.
    pub max_attachments: usize,
    /// Largest total size of the attachments (decoded). Default 25 MiB.
    pub max_attachment_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_size: 25 * 1024 * 1024,
            max_depth: 32,
            max_parts: 2000,
            max_headers: 1000,
            max_header_bytes: 256 * 1024,
            max_attachments: 200,
            max_attachment_bytes: 25 * 1024 * 1024,
        }
    }
}

/// Why a message could not become an [`InboundEmail`]. The raw bytes are kept by the caller.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("message of {size} bytes exceeds the size cap of {max} bytes")]
    Oversized {
        size: usize,
        max: usize,
        /// What could be read from the header block alone (no body, no attachments).
        headers: Box<HeaderSummary>,
    },
    #[error("no header fields found")]
    NoHeaders,
    #[error("the MIME parser failed on this message")]
    ParserFailed,
    #[error("{what}: {found} exceeds the limit of {max}")]
    TooComplex {
        what: &'static str,
        found: usize,
        max: usize,
    },
}

/// Headers of an oversized message, enough to tell the coordinator what it was.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HeaderSummary {
    pub message_id: Option<String>,
    pub from: Option<Mailbox>,
    pub subject: Option<String>,
    pub date: Option<i64>,
}

/// One address with its display name (names are personal data: never logged).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    pub name: Option<String>,
    /// Lower-cased address, `local@domain`.
    pub address: EmailAddress,
}

impl Mailbox {
    pub fn domain(&self) -> Option<&str> {
        Some(self.address.domain())
    }
    pub fn local_part(&self) -> &str {
        self.address.local_part()
    }
}

/// An attachment as recorded: never its content here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentInfo {
    pub name: Option<String>,
    /// `type/subtype`, lower case; `application/octet-stream` when the part says nothing.
    pub content_type: String,
    pub size: usize,
}

/// Header signals the classifier looks at, read once here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Signals {
    pub auto_submitted: Option<String>,
    pub x_autoreply: bool,
    pub x_autorespond: bool,
    pub x_auto_response_suppress: bool,
    pub exchange_rules_loop: bool,
    pub precedence: Option<String>,
    pub list_id: bool,
    pub list_unsubscribe: bool,
    pub x_ricevuta: Option<String>,
    pub x_trasporto: Option<String>,
    /// `Return-Path: <>` (the null sender of bounces and DSNs).
    pub empty_return_path: bool,
    /// Top-level `multipart/report`; its `report-type` parameter in lower case, if any.
    pub report: Option<String>,
    /// A `message/delivery-status` or `message/disposition-notification` part anywhere.
    pub has_status_part: bool,
    /// Our mark header (`X-Connecting-Mark`: the marked Message-ID we sent it with), as
    /// written: it counts only if the mark verifies ([`crate::store::mark`]).
    pub mark_header: Option<String>,
}

/// One received email, reduced to what intake, classification and extraction need.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InboundEmail {
    /// Without angle brackets.
    pub message_id: Option<String>,
    pub in_reply_to: Vec<String>,
    pub references: Vec<String>,
    /// The sender, when `From` is exactly one valid mailbox; `None` otherwise.
    pub from: Option<Mailbox>,
    /// A `From` is there but is not exactly one valid mailbox (several addresses, several
    /// From fields, garbage): the message identifies nobody.
    pub from_invalid: bool,
    /// Where replies go, when `Reply-To` is exactly one valid mailbox.
    pub reply_to: Option<Mailbox>,
    /// A `Reply-To` is there but is not exactly one valid mailbox.
    pub reply_to_invalid: bool,
    pub subject: Option<String>,
    /// Unix seconds (UTC) from the Date header, when it is a valid date.
    pub date: Option<i64>,
    pub text_plain: Option<String>,
    pub text_html: Option<String>,
    pub attachments: Vec<AttachmentInfo>,
    /// An Outlook `winmail.dat` (application/ms-tnef): its content is not readable here.
    pub winmail_dat: bool,
    /// Size of the raw message in bytes.
    pub size: usize,
    pub signals: Signals,
    /// The original message inside a PEC transport envelope (`postacert.eml`).
    pub pec_inner: Option<Box<InboundEmail>>,
    /// The trusted receiving server's DMARC passed for the From domain (set by the intake from
    /// [`super::auth_results::dmarc_verdict`]; false until then).
    pub dmarc_vouched: bool,
}

impl InboundEmail {
    /// The message that carries the request: the inner `postacert.eml` of a PEC envelope,
    /// otherwise the message itself.
    pub fn effective(&self) -> &InboundEmail {
        match &self.pec_inner {
            Some(inner) => inner,
            None => self,
        }
    }

    /// Where a reply goes: Reply-To, else From.
    pub fn reply_address(&self) -> Option<&Mailbox> {
        self.reply_to.as_ref().or(self.from.as_ref())
    }

    /// Every Message-ID this message points back to (In-Reply-To first, then References).
    pub fn thread_ids(&self) -> impl Iterator<Item = &str> {
        self.in_reply_to
            .iter()
            .chain(self.references.iter())
            .map(String::as_str)
    }
}

/// Parses raw bytes into an [`InboundEmail`] within `limits`.
pub fn parse_email(raw: &[u8], limits: &Limits) -> Result<InboundEmail, ParseError> {
    // The MIME parser is a dependency fed with bytes from anyone: a panic inside it (mail-parser
    // 0.11.9 has a `debug_assert!` a fuzzed report reaches) must not take the poller down, so
    // it becomes a message kept in quarantine.
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        parse_email_inner(raw, limits)
    }))
    .unwrap_or(Err(ParseError::ParserFailed))
}

fn parse_email_inner(raw: &[u8], limits: &Limits) -> Result<InboundEmail, ParseError> {
    let size = raw.len();
    let fixed = normalize(raw);
    let bytes: &[u8] = fixed.as_deref().unwrap_or(raw);
    let parser = MessageParser::default();
    if size > limits.max_size {
        let headers = parser
            .parse_headers(header_block(bytes))
            .map(|m| HeaderSummary {
                message_id: m.message_id().map(clean_id),
                from: sole_mailbox(&m, HeaderName::From).ok().flatten(),
                subject: super::charset::subject(&m),
                date: m.date().and_then(valid_date),
            })
            .unwrap_or_default();
        return Err(ParseError::Oversized {
            size,
            max: limits.max_size,
            headers: Box::new(headers),
        });
    }
    // The header block is measured before the parser reads it: a huge one (100,000
    // recipients) is refused without building its address list.
    let header_bytes = header_block_len(bytes);
    if header_bytes > limits.max_header_bytes {
        return Err(ParseError::TooComplex {
            what: "header bytes",
            found: header_bytes,
            max: limits.max_header_bytes,
        });
    }
    // Containers (multipart/*, message/*) are counted in the raw bytes before the parser builds
    // its tree: 20,000 nested message/rfc822 (1.6 MB) parse, but dropping the parsed tree
    // recurses once per level and overflows the stack.
    let containers = container_count(bytes);
    if containers > limits.max_parts {
        return Err(ParseError::TooComplex {
            what: "MIME parts",
            found: containers,
            max: limits.max_parts,
        });
    }
    let message = parser.parse(bytes).ok_or(ParseError::NoHeaders)?;
    let headers = message.root_part().headers();
    let header_count = headers.len();
    // At least one standard field (From, Subject, Content-Type, ...): a block of unknown
    // "fields" is not a message.
    if !headers
        .iter()
        .any(|h| !matches!(h.name, mail_parser::HeaderName::Other(_)))
    {
        return Err(ParseError::NoHeaders);
    }
    if header_count > limits.max_headers {
        return Err(ParseError::TooComplex {
            what: "header fields",
            found: header_count,
            max: limits.max_headers,
        });
    }
    let mut budget = Budget {
        parts: 0,
        attachments: 0,
        attachment_bytes: 0,
        limits: limits.clone(),
    };
    from_message(&message, size, 0, &mut budget)
}

struct Budget {
    parts: usize,
    attachments: usize,
    attachment_bytes: usize,
    limits: Limits,
}

/// Repairs the two framing faults that make the parser see no headers at all: leading
/// whitespace-only lines, and bare-CR (classic Mac) line endings. `None` when nothing to fix.
fn normalize(raw: &[u8]) -> Option<Vec<u8>> {
    let mut start = 0;
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b' ' | b'\t' | b'\r' => i += 1,
            b'\n' => {
                i += 1;
                start = i;
            }
            _ => break,
        }
    }
    let body = &raw[start..];
    let bare_cr = !body.contains(&b'\n') && body.contains(&b'\r');
    if start == 0 && !bare_cr {
        return None;
    }
    if bare_cr {
        let mut out = Vec::with_capacity(body.len() + body.len() / 40);
        for &b in body {
            out.push(b);
            if b == b'\r' {
                out.push(b'\n');
            }
        }
        Some(out)
    } else {
        Some(body.to_vec())
    }
}

/// The header block (up to the first empty line, at most 256 KB) of a raw message.
pub(crate) fn header_block(raw: &[u8]) -> &[u8] {
    let cap = raw.len().min(256 * 1024);
    let window = &raw[..cap];
    let end = find(window, b"\r\n\r\n")
        .map(|p| p + 4)
        .or_else(|| find(window, b"\n\n").map(|p| p + 2))
        .unwrap_or(cap);
    &raw[..end]
}

/// Length of the header block (up to and including the first empty line; the whole input when
/// there is none), found in one pass.
fn header_block_len(raw: &[u8]) -> usize {
    let mut at_line_start = true;
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'\n' if at_line_start => return i + 1,
            b'\r' if at_line_start && raw.get(i + 1) == Some(&b'\n') => return i + 2,
            b'\n' => at_line_start = true,
            _ => at_line_start = false,
        }
        i += 1;
    }
    raw.len()
}

/// How many `Content-Type` fields anywhere in `raw` name a container (`multipart/...` or
/// `message/...`): an upper bound on the nesting the parser can build from these bytes.
fn container_count(raw: &[u8]) -> usize {
    const FIELD: &[u8] = b"content-type";
    let mut count = 0;
    let mut i = 0;
    while i + FIELD.len() < raw.len() {
        if !raw[i].eq_ignore_ascii_case(&b'c')
            || !raw[i..i + FIELD.len()].eq_ignore_ascii_case(FIELD)
        {
            i += 1;
            continue;
        }
        let mut j = i + FIELD.len();
        while j < raw.len() && matches!(raw[j], b' ' | b'\t') {
            j += 1;
        }
        if raw.get(j) == Some(&b':') {
            j += 1;
            while j < raw.len() && matches!(raw[j], b' ' | b'\t' | b'\r' | b'\n') {
                j += 1;
            }
            let rest = &raw[j..raw.len().min(j + 10)];
            let starts =
                |p: &[u8]| rest.len() >= p.len() && rest[..p.len()].eq_ignore_ascii_case(p);
            if starts(b"multipart/") || starts(b"message/") {
                count += 1;
            }
        }
        i = j.max(i + 1);
    }
    count
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn from_message(
    message: &Message<'_>,
    size: usize,
    depth: usize,
    budget: &mut Budget,
) -> Result<InboundEmail, ParseError> {
    if depth > budget.limits.max_depth {
        return Err(ParseError::TooComplex {
            what: "MIME depth",
            found: depth,
            max: budget.limits.max_depth,
        });
    }
    budget.parts += message.parts.len();
    if budget.parts > budget.limits.max_parts {
        return Err(ParseError::TooComplex {
            what: "MIME parts",
            found: budget.parts,
            max: budget.limits.max_parts,
        });
    }
    let tree_depth = part_depth(message, 0, 0);
    if depth + tree_depth > budget.limits.max_depth {
        return Err(ParseError::TooComplex {
            what: "MIME depth",
            found: depth + tree_depth,
            max: budget.limits.max_depth,
        });
    }

    let mut email = InboundEmail {
        message_id: message.message_id().map(clean_id),
        in_reply_to: id_list(message.in_reply_to()),
        references: id_list(message.references()),
        from: sole_mailbox(message, HeaderName::From).ok().flatten(),
        from_invalid: sole_mailbox(message, HeaderName::From).is_err(),
        reply_to: sole_mailbox(message, HeaderName::ReplyTo).ok().flatten(),
        reply_to_invalid: sole_mailbox(message, HeaderName::ReplyTo).is_err(),
        subject: super::charset::subject(message),
        date: message.date().and_then(valid_date),
        size,
        ..Default::default()
    };
    email.signals = signals(message);
    email.text_plain = join_bodies(message, message.text_bodies(), false);
    email.text_html = join_bodies(message, message.html_bodies(), true);

    let mut inner_pec = None;
    for part in message.attachments() {
        let content_type = part
            .content_type()
            .map(|ct| match ct.subtype() {
                Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
                None => ct.ctype().to_ascii_lowercase(),
            })
            .unwrap_or_else(|| "application/octet-stream".to_owned());
        let name = part.attachment_name().map(str::to_owned);
        let lname = name.as_deref().map(str::to_ascii_lowercase);
        if content_type == "application/ms-tnef" || lname.as_deref() == Some("winmail.dat") {
            email.winmail_dat = true;
        }
        if let PartType::Message(inner) = &part.body
            && lname.as_deref() == Some("postacert.eml")
            && inner_pec.is_none()
        {
            inner_pec = Some(inner);
        }
        budget.attachments += 1;
        budget.attachment_bytes = budget.attachment_bytes.saturating_add(part.len());
        if budget.attachments > budget.limits.max_attachments {
            return Err(ParseError::TooComplex {
                what: "attachments",
                found: budget.attachments,
                max: budget.limits.max_attachments,
            });
        }
        if budget.attachment_bytes > budget.limits.max_attachment_bytes {
            return Err(ParseError::TooComplex {
                what: "attachment bytes",
                found: budget.attachment_bytes,
                max: budget.limits.max_attachment_bytes,
            });
        }
        email.attachments.push(AttachmentInfo {
            name,
            content_type,
            size: part.len(),
        });
    }
    if is_pec_transport(&email.signals)
        && let Some(inner) = inner_pec
    {
        let inner_size = inner.raw_message().len();
        let parsed = from_message(inner, inner_size, depth + 1, budget)?;
        email.pec_inner = Some(Box::new(parsed));
    }
    Ok(email)
}

/// Nesting depth of the multipart tree below `part_id`.
fn part_depth(message: &Message<'_>, part_id: usize, level: usize) -> usize {
    // Bounded by the part count: a malformed tree that points back at itself stops here.
    if level > message.parts.len() {
        return level;
    }
    match message.parts.get(part_id).map(|p| &p.body) {
        Some(PartType::Multipart(children)) => children
            .iter()
            .filter(|&&c| c as usize != part_id)
            .map(|&c| part_depth(message, c as usize, level + 1))
            .max()
            .unwrap_or(level + 1),
        Some(PartType::Message(inner)) => level + 1 + part_depth(inner, 0, 0),
        _ => level,
    }
}

/// PEC providers whose transport envelopes are trusted by default: the configuration's list
/// (`intake.pec_provider_domains` replaces it), kept with the other defaults in `config`.
pub use crate::config::DEFAULT_PEC_PROVIDER_DOMAINS;

impl InboundEmail {
    /// A PEC transport envelope is only trusted from a PEC provider (`providers`: domains, a
    /// subdomain of one counts). From anyone else `X-Trasporto: posta-certificata` is a forgery:
    /// the header is dropped and the attached `postacert.eml` stays an ordinary attachment, so
    /// the message is read, and the sender policy applied, as the outer sender's own mail.
    /// Returns true when a forged envelope was disarmed.
    pub fn distrust_forged_pec(&mut self, providers: &[String]) -> bool {
        if !is_pec_transport(&self.signals) {
            return false;
        }
        let domain = self.from.as_ref().and_then(Mailbox::domain).unwrap_or("");
        let trusted = !domain.is_empty()
            && providers.iter().any(|p| {
                let p = p.trim().trim_start_matches('.');
                domain.eq_ignore_ascii_case(p)
                    || domain
                        .to_ascii_lowercase()
                        .ends_with(&format!(".{}", p.to_ascii_lowercase()))
            });
        if trusted {
            return false;
        }
        self.signals.x_trasporto = None;
        self.pec_inner = None;
        true
    }
}

pub(crate) fn is_pec_transport(s: &Signals) -> bool {
    s.x_trasporto
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("posta-certificata"))
}

fn signals(message: &Message<'_>) -> Signals {
    let raw = |name: &str| {
        message
            .header_raw(name)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    let report = message
        .root_part()
        .content_type()
        .filter(|ct| {
            ct.ctype().eq_ignore_ascii_case("multipart")
                && ct
                    .subtype()
                    .is_some_and(|s| s.eq_ignore_ascii_case("report"))
        })
        .map(|ct| {
            ct.attribute("report-type")
                .map(|r| r.trim_matches('"').to_ascii_lowercase())
                .unwrap_or_default()
        });
    let has_status_part = message.parts.iter().any(|p| {
        p.content_type().is_some_and(|ct| {
            ct.ctype().eq_ignore_ascii_case("message")
                && ct.subtype().is_some_and(|s| {
                    s.eq_ignore_ascii_case("delivery-status")
                        || s.eq_ignore_ascii_case("disposition-notification")
                })
        })
    });
    let empty_return_path = match message.header_raw("Return-Path") {
        Some(v) => {
            let t: String = v.chars().filter(|c| !c.is_whitespace()).collect();
            t.is_empty() || t == "<>"
        }
        None => false,
    };
    Signals {
        auto_submitted: raw("Auto-Submitted"),
        x_autoreply: message.header_raw("X-Autoreply").is_some()
            || message.header_raw("X-Autoreply-From").is_some(),
        x_autorespond: message.header_raw("X-Autorespond").is_some(),
        x_auto_response_suppress: message.header_raw("X-Auto-Response-Suppress").is_some(),
        exchange_rules_loop: message
            .header_raw("X-MS-Exchange-Inbox-Rules-Loop")
            .is_some(),
        precedence: raw("Precedence"),
        list_id: message.header_raw("List-Id").is_some(),
        list_unsubscribe: message.header_raw("List-Unsubscribe").is_some(),
        x_ricevuta: raw("X-Ricevuta"),
        x_trasporto: raw("X-Trasporto"),
        empty_return_path,
        report,
        has_status_part,
        mark_header: message
            .header_raw("X-Connecting-Mark")
            .map(|v| v.trim().to_owned()),
    }
}

fn join_bodies<'a>(
    message: &Message<'_>,
    parts: impl Iterator<Item = &'a mail_parser::MessagePart<'a>>,
    html: bool,
) -> Option<String> {
    let mut out = String::new();
    for part in parts {
        let text = match (&part.body, html) {
            (PartType::Text(t), false) => t.as_ref(),
            (PartType::Html(t), true) => t.as_ref(),
            _ => continue,
        };
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(&super::charset::part_text(message, part, text));
    }
    if out.trim().is_empty() {
        None
    } else {
        Some(out)
    }
}

/// The one mailbox of an address field: `Ok(None)` when the field is absent, `Err(())` when
/// it is there but is not exactly one valid mailbox (several fields, several addresses, a
/// group, an address that does not parse). `"x" <evil@evil.test;>, laura@example.org` is
/// two entries, so it identifies nobody, not Laura.
fn sole_mailbox(message: &Message<'_>, field: HeaderName<'_>) -> Result<Option<Mailbox>, ()> {
    let mut values = message.header_values(field.clone());
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(());
    }
    let address: &Address<'_> = value.as_address().ok_or(())?;
    let mut entries = address.iter();
    let (Some(a), None) = (entries.next(), entries.next()) else {
        return Err(());
    };
    let addr = plain_address(a.address().ok_or(())?).ok_or(())?;
    Ok(Some(Mailbox {
        name: super::charset::display_name(message, field).or_else(|| {
            a.name()
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty())
        }),
        address: EmailAddress::parse(addr).ok_or(())?,
    }))
}

/// The `local@domain` in what the parser gave as an address, or None. With 8-bit garbage in a
/// display name the parser may hand back `garbage <local@domain` as the "address": the part in
/// angle brackets is taken, and anything that is still not one plain `local@domain` (spaces,
/// controls, brackets, quotes, several `@`) is no address at all, so it can never pass the
/// sender policy by its domain or be written into a reply's header.
fn plain_address(raw: &str) -> Option<&str> {
    let mut a = raw.trim();
    if let Some(i) = a.rfind('<') {
        a = &a[i + 1..];
    }
    let a = a.trim().trim_end_matches('>').trim();
    let (local, domain) = a.split_once('@')?;
    let plain = !local.is_empty()
        && !domain.is_empty()
        && !domain.contains('@')
        && a.chars().all(|c| {
            !c.is_whitespace()
                && !c.is_control()
                && !matches!(
                    c,
                    '<' | '>' | ',' | ';' | ':' | '"' | '\\' | '(' | ')' | '[' | ']'
                )
        });
    plain.then_some(a)
}

fn id_list(value: &HeaderValue<'_>) -> Vec<String> {
    match value {
        HeaderValue::Text(t) => vec![clean_id(t)],
        HeaderValue::TextList(list) => list.iter().map(|t| clean_id(t)).collect(),
        _ => Vec::new(),
    }
    .into_iter()
    .filter(|s| !s.is_empty())
    .collect()
}

/// A Message-ID without angle brackets or surrounding space.
pub fn clean_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_owned()
}

fn valid_date(d: &mail_parser::DateTime) -> Option<i64> {
    if d.is_valid() {
        Some(d.to_timestamp())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIMPLE: &str = "From: Anna Rossi <Anna.Rossi@Comune.Bergamo.it>\r\n\
        To: info@coop.example\r\n\
        Subject: Richiesta mediatrice araba\r\n\
        Message-ID: <abc@comune>\r\n\
        In-Reply-To: <x1@coop>\r\n\
        References: <x0@coop> <x1@coop>\r\n\
        Date: Mon, 1 Mar 2027 10:00:00 +0100\r\n\
        \r\n\
        Serve una mediatrice di lingua araba.\r\n";

    #[test]
    fn parses_the_basic_fields() {
        let e = parse_email(SIMPLE.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(e.message_id.as_deref(), Some("abc@comune"));
        assert_eq!(e.in_reply_to, vec!["x1@coop"]);
        assert_eq!(e.references, vec!["x0@coop", "x1@coop"]);
        let from = e.from.unwrap();
        assert_eq!(from.address.as_str(), "anna.rossi@comune.bergamo.it");
        assert_eq!(from.domain(), Some("comune.bergamo.it"));
        assert_eq!(e.date, Some(1_803_891_600));
        assert!(e.text_plain.unwrap().contains("lingua araba"));
        assert_eq!(e.size, SIMPLE.len());
    }

    #[test]
    fn a_from_of_several_mailboxes_is_nobody() {
        for from in [
            "\"x\" <evil@evil.test;>, laura@example.org",
            "laura@example.org, evil@evil.test",
            "Laura <laura@example.org>, <evil@evil.test>",
        ] {
            let raw = format!("From: {from}\r\nSubject: x\r\n\r\nbody\r\n");
            let e = parse_email(raw.as_bytes(), &Limits::default()).unwrap();
            assert_eq!(e.from, None, "{from}");
            assert!(e.from_invalid, "{from}");
        }
        let two_fields =
            "From: laura@example.org\r\nFrom: evil@evil.test\r\nSubject: x\r\n\r\nb\r\n";
        let e = parse_email(two_fields.as_bytes(), &Limits::default()).unwrap();
        assert!(e.from.is_none() && e.from_invalid);
        let e = parse_email(SIMPLE.as_bytes(), &Limits::default()).unwrap();
        assert!(!e.from_invalid && !e.reply_to_invalid && !e.dmarc_vouched);
    }

    #[test]
    fn oversized_keeps_the_headers() {
        let limits = Limits {
            max_size: 100,
            ..Limits::default()
        };
        match parse_email(SIMPLE.as_bytes(), &limits) {
            Err(ParseError::Oversized { size, headers, .. }) => {
                assert_eq!(size, SIMPLE.len());
                assert_eq!(headers.message_id.as_deref(), Some("abc@comune"));
                assert_eq!(
                    headers.subject.as_deref(),
                    Some("Richiesta mediatrice araba")
                );
            }
            other => panic!("expected Oversized, got {other:?}"),
        }
    }

    #[test]
    fn too_many_headers_is_an_error() {
        let limits = Limits {
            max_headers: 3,
            ..Limits::default()
        };
        assert!(matches!(
            parse_email(SIMPLE.as_bytes(), &limits),
            Err(ParseError::TooComplex {
                what: "header fields",
                ..
            })
        ));
    }

    #[test]
    fn deep_nesting_is_an_error() {
        let mut raw = String::from("From: a@b.it\r\nSubject: deep\r\n");
        for i in 0..40 {
            raw.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=\"b{i}\"\r\n\r\n--b{i}\r\n"
            ));
        }
        raw.push_str("Content-Type: text/plain\r\n\r\nciao\r\n");
        let r = parse_email(raw.as_bytes(), &Limits::default());
        assert!(
            matches!(
                r,
                Err(ParseError::TooComplex {
                    what: "MIME depth",
                    ..
                })
            ),
            "{r:?}"
        );
    }

    #[test]
    fn leading_blank_line_and_bare_cr_still_parse() {
        let lead = format!("{}\n{SIMPLE}", " ".repeat(255));
        let e = parse_email(lead.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(e.subject.as_deref(), Some("Richiesta mediatrice araba"));
        let cr = SIMPLE.replace("\r\n", "\r");
        let e = parse_email(cr.as_bytes(), &Limits::default()).unwrap();
        assert_eq!(e.message_id.as_deref(), Some("abc@comune"));
    }

    #[test]
    fn garbage_is_no_headers() {
        assert_eq!(
            parse_email(b"", &Limits::default()),
            Err(ParseError::NoHeaders)
        );
        assert!(parse_email(&[0xff, 0xfe, 0x00, b'\n'], &Limits::default()).is_err());
    }
}
