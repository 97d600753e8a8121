//! The structure of a mail before its words: a body is split into its parts, newest first —
//! the new text, then each quoted or forwarded message below it (with its own header block,
//! which is dropped: the time a message was sent is never the appointment) — and a PEC
//! envelope's text ("Il giorno 26/02/2027 alle ore 11:42:07 ... il messaggio ... è stato inviato
//! da ...") is removed. Disclaimers go; signatures stay (they carry the requester's name and
//! phone). The extractor reads each part and lets the newest part that states a field decide it
//! ([`super::extract`]).
//!
//! [`read_email`] writes the parts as one text, separated by [`PART_BREAK`] lines, so the text
//! a channel stores and the extractor reads are the same string.

use chrono::NaiveDate;
use regex::Regex;
use std::sync::LazyLock;

use super::text::{
    HEADER_ANY, HEADER_FROM, HEADER_SENT, SEPARATOR, WROTE, html_to_text,
    strip_quotes_and_disclaimers,
};

/// The line written between two parts.
pub const PART_BREAK: &str = "-----Messaggio originale-----";

/// Deepest chain read; older messages below stay in the last part.
const MAX_DEPTH: u8 = 8;

/// What a part of a mail is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PartKind {
    /// What the sender wrote now.
    #[default]
    New,
    /// A message quoted below a reply.
    Quoted,
    /// A forwarded message.
    Forwarded,
    /// The subject line (the oldest, least specific statement).
    Subject,
}

/// One part of a mail.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Part {
    pub kind: PartKind,
    pub text: String,
    /// The sender of a quoted or forwarded message, as its header block names them
    /// (`Name <address>`); the header block itself is never read as the request.
    pub from: Option<String>,
    /// The day a quoted or forwarded message was sent (its `Inviato:`/`Sent:`/`Date:` line, or
    /// the "Il giorno ... ha scritto:" line): its "domani" and "giovedì" count from there.
    pub sent: Option<NaiveDate>,
}

fn re(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| panic!("bad regex {p}: {e}"))
}

static PEC_START: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^\s*(?:messaggio\s+di\s+posta\s+certificata\b|il\s+giorno\s+\d{1,2}/\d{1,2}/\d{2,4}\s+alle\s+ore\s+\d{1,2}[:.]\d{2}(?:[:.]\d{2})?.*\bil\s+messaggio\b)",
    )
});
static PEC_END: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)(?:identificativo\s+(?:del\s+)?messaggio|incluso\s+in\s+allegato|indirizzato\s+a\s*:)")
});
static PEC_SUBJECT: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)^\s*(?:posta\s+certificata|anomalia\s+messaggio)\s*:"));
static FORWARD_WORD: LazyLock<Regex> = LazyLock::new(|| {
    re(r"(?i)(?:inoltrat|forward|^\s*(?:oggetto|subject)\s*:\s*(?:i|fw|fwd|inoltro)\s*:)")
});
static SUBJECT_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)^\s*(?:(?:r|re|i|fw|fwd|rif|inoltro|risposta|posta\s+certificata|anomalia\s+messaggio)\s*:\s*)+",
    )
});

/// The text the extractor reads from an e-mail: its parts, newest first, with the subject as
/// the last (oldest) part.
pub fn read_email(subject: Option<&str>, plain: Option<&str>, html: Option<&str>) -> String {
    let body = match (plain, html) {
        (Some(p), _) if !p.trim().is_empty() => p.to_string(),
        (_, Some(h)) => html_to_text(h),
        (Some(p), None) => p.to_string(),
        (None, None) => String::new(),
    };
    let body = body.replace("\r\n", "\n").replace('\r', "\n");
    let mut parts = split(&body);
    if let Some(s) = subject {
        let s = SUBJECT_PREFIX.replace(s.trim(), "").trim().to_string();
        if !s.is_empty() {
            parts.push(Part {
                kind: PartKind::Subject,
                text: s,
                ..Part::default()
            });
        }
    }
    join(&parts)
}

/// The parts as one text, separated by [`PART_BREAK`] lines; an older part keeps its sender
/// and its day (`Da:` and `Inviato: YYYY-MM-DD` lines, which [`split`] reads back and never
/// as the request).
pub fn join(parts: &[Part]) -> String {
    let mut out = String::new();
    for p in parts.iter().filter(|p| !p.text.trim().is_empty()) {
        if !out.is_empty() {
            out.push_str("\n\n");
            out.push_str(PART_BREAK);
            out.push('\n');
            if let Some(f) = &p.from {
                out.push_str("Da: ");
                out.push_str(f);
                out.push('\n');
            }
            if let Some(d) = p.sent {
                out.push_str(&format!("Inviato: {}\n", d.format("%Y-%m-%d")));
            }
            out.push('\n');
        }
        out.push_str(p.text.trim());
    }
    out
}

/// Whether the text has any structure to read (quotes, forwards, a PEC envelope); a plain text
/// is read as it is.
pub fn is_structured(text: &str) -> bool {
    text.contains(PART_BREAK)
        || text.lines().any(|l| {
            let t = l.trim_start();
            t.starts_with('>')
                || (l.contains("--") && SEPARATOR.is_match(l))
                || (l.contains("__") && SEPARATOR.is_match(l))
                || ((l.contains("scritto") || l.contains("wrote")) && WROTE.is_match(l))
                || (l.contains(':') && HEADER_FROM.is_match(l))
                || PEC_START.is_match(l)
                || PEC_SUBJECT.is_match(l)
        })
}

/// The parts of a body, newest first.
pub fn split(body: &str) -> Vec<Part> {
    let lines = drop_pec_envelope(body);
    let mut out = Vec::new();
    split_lines(&lines, PartKind::New, Meta::default(), 0, &mut out);
    out
}

/// The body's lines without a PEC envelope's text and its subject echo.
fn drop_pec_envelope(body: &str) -> Vec<String> {
    let lines: Vec<&str> = body.lines().collect();
    let mut out = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i];
        if PEC_SUBJECT.is_match(l) {
            i += 1;
            continue;
        }
        if PEC_START.is_match(l) {
            let window = (i + 1..lines.len().min(i + 14)).collect::<Vec<_>>();
            let end = window
                .iter()
                .rev()
                .find(|&&j| PEC_END.is_match(lines[j]))
                .copied();
            if let Some(mut end) = end {
                // addresses listed after "indirizzato a:"
                while end + 1 < lines.len()
                    && lines[end + 1].contains('@')
                    && lines[end + 1].split_whitespace().count() <= 2
                {
                    end += 1;
                }
                i = end + 1;
                continue;
            }
        }
        out.push(l.to_string());
        i += 1;
    }
    out
}

/// Where a part ends and an older message starts.
enum Boundary {
    /// A header block (after a separator line, or "Da: ... Inviato: ..."): content from here.
    Headers {
        content_from: usize,
        forwarded: bool,
        meta: Meta,
    },
    /// "Il giorno ... ha scritto:": the quoted message follows.
    Wrote { content_from: usize, meta: Meta },
}

/// What an older message's header block (or "ha scritto" line) says about it.
#[derive(Default)]
struct Meta {
    from: Option<String>,
    sent: Option<NaiveDate>,
}

static HEADER_FROM_VALUE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)^\s*\*?(?:da|from|mittente)\s*:\*?\s*(.+?)\s*$"));
static HEADER_SENT_VALUE: LazyLock<Regex> =
    LazyLock::new(|| re(r"(?i)^\s*\*?(?:inviato|sent|data|date)\s*:\*?\s*(.+?)\s*$"));
static ADDRESS: LazyLock<Regex> =
    LazyLock::new(|| re(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"));
static ISO_DAY: LazyLock<Regex> = LazyLock::new(|| re(r"\b(20\d\d)-(\d\d)-(\d\d)\b"));
static NUMERIC_DAY: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(\d{1,2})/(\d{1,2})/(20\d\d|\d\d)\b"));
static WORD_DAY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"(?i)\b(?:(\d{1,2})\s+([a-z]{3,9})\.?,?\s+(20\d\d)|([a-z]{3,9})\.?\s+(\d{1,2}),?\s+(20\d\d))\b",
    )
});

fn month(word: &str) -> Option<u32> {
    const MONTHS: [(&str, &str); 12] = [
        ("gen", "jan"),
        ("feb", "feb"),
        ("mar", "mar"),
        ("apr", "apr"),
        ("mag", "may"),
        ("giu", "jun"),
        ("lug", "jul"),
        ("ago", "aug"),
        ("set", "sep"),
        ("ott", "oct"),
        ("nov", "nov"),
        ("dic", "dec"),
    ];
    let w = word.to_lowercase();
    let head: String = w.chars().take(3).collect();
    MONTHS
        .iter()
        .position(|(it, en)| head == *it || head == *en)
        .map(|i| i as u32 + 1)
}

/// The day in a header's date ("venerdì 26 febbraio 2027 15:40", "Friday, February 26, 2027
/// 3:12 PM", "lun 1 mar 2027 alle ore 08:05", "26/02/2027", "2027-02-26").
pub(crate) fn header_day(s: &str) -> Option<NaiveDate> {
    if let Some(c) = ISO_DAY.captures(s) {
        return NaiveDate::from_ymd_opt(c[1].parse().ok()?, c[2].parse().ok()?, c[3].parse().ok()?);
    }
    for c in WORD_DAY.captures_iter(s) {
        let (d, m, y) = match (c.get(1), c.get(4)) {
            (Some(d), _) => (d.as_str(), &c[2], &c[3]),
            (None, Some(m)) => (&c[5], m.as_str(), &c[6]),
            _ => continue,
        };
        if let (Some(m), Ok(d), Ok(y)) = (month(m), d.parse(), y.parse()) {
            return NaiveDate::from_ymd_opt(y, m, d);
        }
    }
    let c = NUMERIC_DAY.captures(s)?;
    let y: i32 = c[3].parse().ok()?;
    let y = if y < 100 { 2000 + y } else { y };
    NaiveDate::from_ymd_opt(y, c[2].parse().ok()?, c[1].parse().ok()?)
}

/// `Name <address>` (or the address alone) from a header value or a "ha scritto" line; `None`
/// when it names no address.
fn sender_of(s: &str) -> Option<String> {
    let m = ADDRESS.find(s)?;
    let address = m.as_str().to_lowercase();
    let before = s[..m.start()].trim_end_matches(['<', ' ', '"', '[', '(']);
    // "On Fri, Feb 26, 2027 at 4:55 PM Sara Facchinetti <sara@...> wrote:": the name is what
    // follows the time, else what precedes the address.
    let name = before
        .rsplit_once([':', '"'])
        .map(|(_, n)| n)
        .unwrap_or(before);
    let name = name.trim_start_matches(|c: char| c.is_ascii_digit() || c == ' ' || c == ',');
    let name = ["AM ", "PM ", "am ", "pm "]
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name)
        .trim()
        .trim_matches('"')
        .trim();
    let plain_name = !name.is_empty()
        && name.len() <= 60
        && !name.contains('@')
        && name
            .chars()
            .all(|c| c.is_alphabetic() || " .'-".contains(c));
    Some(if plain_name {
        format!("{name} <{address}>")
    } else {
        address
    })
}

fn skip_headers(lines: &[String], mut j: usize) -> (usize, bool, Meta) {
    let mut forwarded = false;
    let mut meta = Meta::default();
    while j < lines.len() && (HEADER_ANY.is_match(&lines[j]) || lines[j].trim().is_empty()) {
        forwarded |= FORWARD_WORD.is_match(&lines[j]);
        if meta.from.is_none()
            && let Some(c) = HEADER_FROM_VALUE.captures(&lines[j])
        {
            meta.from = sender_of(&c[1]);
        }
        if meta.sent.is_none()
            && let Some(c) = HEADER_SENT_VALUE.captures(&lines[j])
        {
            meta.sent = header_day(&c[1]);
        }
        j += 1;
    }
    (j, forwarded, meta)
}

fn wrote_meta(line: &str) -> Meta {
    Meta {
        from: sender_of(line),
        sent: header_day(line),
    }
}

fn boundary_at(lines: &[String], i: usize) -> Option<Boundary> {
    let l = lines[i].as_str();
    let maybe_separator = l.contains("--")
        || l.contains("__")
        || l.contains("nizio")
        || l.contains("egin")
        || l.contains("NIZIO");
    if maybe_separator && SEPARATOR.is_match(l) {
        let (j, fw, meta) = skip_headers(lines, i + 1);
        return Some(Boundary::Headers {
            content_from: j,
            forwarded: fw || FORWARD_WORD.is_match(l),
            meta,
        });
    }
    let wrote = |x: &str| x.contains("scritto") || x.contains("wrote");
    if wrote(l) && WROTE.is_match(l) {
        return Some(Boundary::Wrote {
            content_from: i + 1,
            meta: wrote_meta(l),
        });
    }
    if i + 1 < lines.len()
        && wrote(&lines[i + 1])
        && l.trim_start().to_lowercase().starts_with("il ")
        && WROTE.is_match(&format!("{l} {}", lines[i + 1]))
    {
        return Some(Boundary::Wrote {
            content_from: i + 2,
            meta: wrote_meta(&format!("{l} {}", lines[i + 1])),
        });
    }
    if l.contains(':')
        && HEADER_FROM.is_match(l)
        && lines[i + 1..lines.len().min(i + 6)]
            .iter()
            .any(|x| HEADER_SENT.is_match(x))
    {
        // the From line is the block's first: read it with the rest
        let (j, fw, meta) = skip_headers(lines, i);
        return Some(Boundary::Headers {
            content_from: j,
            forwarded: fw,
            meta,
        });
    }
    None
}

fn is_quoted(l: &str) -> bool {
    l.trim_start().starts_with('>')
}

/// One level of `>` removed, and the lines a mailer wrapped at about 72 columns joined again
/// ("piazza\nAlessandro Manzoni 1" is one address).
fn unquote(lines: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    let mut wrapped = false;
    for l in lines {
        let t = l.trim_start();
        let line = match t.strip_prefix('>') {
            Some(r) => r.strip_prefix(' ').unwrap_or(r).to_string(),
            None => l.clone(),
        };
        let starts_quote = line.trim_start().starts_with('>');
        match out.last_mut() {
            Some(prev) if wrapped && !line.trim().is_empty() && !starts_quote => {
                prev.push(' ');
                prev.push_str(line.trim());
            }
            _ => out.push(line),
        }
        wrapped = out.last().is_some_and(|p| {
            let p = p.trim_end();
            p.chars().count() >= 60 && !p.ends_with(['.', ':', ';', '!', '?'])
        });
    }
    out
}

fn push(lines: &[String], kind: PartKind, meta: &Meta, out: &mut Vec<Part>) {
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    let text = strip_quotes_and_disclaimers(&refs);
    if !text.trim().is_empty() {
        out.push(Part {
            kind,
            text,
            from: meta.from.clone(),
            sent: meta.sent,
        });
    }
}

fn split_lines(lines: &[String], kind: PartKind, meta: Meta, depth: u8, out: &mut Vec<Part>) {
    if depth >= MAX_DEPTH {
        push(lines, kind, &meta, out);
        return;
    }
    for i in 0..lines.len() {
        let Some(b) = boundary_at(lines, i) else {
            continue;
        };
        match b {
            Boundary::Headers {
                content_from,
                forwarded,
                meta: older_meta,
            } => {
                push(&lines[..i], kind, &meta, out);
                let older = if forwarded {
                    PartKind::Forwarded
                } else {
                    PartKind::Quoted
                };
                let rest = &lines[content_from.min(lines.len())..];
                split_lines(rest, older, older_meta, depth + 1, out);
            }
            Boundary::Wrote {
                content_from,
                meta: older_meta,
            } => {
                let rest = &lines[content_from.min(lines.len())..];
                let block = rest
                    .iter()
                    .take_while(|l| is_quoted(l) || l.trim().is_empty())
                    .count();
                if rest[..block].iter().any(|l| is_quoted(l)) {
                    // a bottom-posted reply: the text after the quote is new too
                    let mut own: Vec<String> = lines[..i].to_vec();
                    own.extend(rest[block..].iter().cloned());
                    push(&own, kind, &meta, out);
                    split_lines(
                        &unquote(&rest[..block]),
                        PartKind::Quoted,
                        older_meta,
                        depth + 1,
                        out,
                    );
                } else {
                    push(&lines[..i], kind, &meta, out);
                    split_lines(rest, PartKind::Quoted, older_meta, depth + 1, out);
                }
            }
        }
        return;
    }
    if lines.iter().any(|l| is_quoted(l)) {
        let own: Vec<String> = lines.iter().filter(|l| !is_quoted(l)).cloned().collect();
        let quoted: Vec<String> = lines.iter().filter(|l| is_quoted(l)).cloned().collect();
        push(&own, kind, &meta, out);
        split_lines(
            &unquote(&quoted),
            PartKind::Quoted,
            Meta::default(),
            depth + 1,
            out,
        );
    } else {
        push(lines, kind, &meta, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outlook_chain_is_read_newest_first_without_headers() {
        let t = "Confermo le 15.\nLaura\n\n-----Messaggio originale-----\nDa: Info\nInviato: lunedì 1 marzo 2027 10:15\nA: Rossi\nOggetto: R: richiesta\n\nA che ora?\n\n-----Messaggio originale-----\nDa: Laura\nInviato: venerdì 26 febbraio 2027 09:00\nOggetto: richiesta\n\nServe un mediatore arabo il 10 marzo.";
        let p = split(t);
        let texts: Vec<&str> = p.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(
            texts,
            vec![
                "Confermo le 15.\nLaura",
                "A che ora?",
                "Serve un mediatore arabo il 10 marzo."
            ]
        );
        assert!(!read_email(None, Some(t), None).contains("10:15"));
    }

    #[test]
    fn gmail_quotes_nest_and_bottom_posts_are_new_text() {
        let t = "Va bene alle dieci.\n\nIl giorno lun 1 mar 2027 alle ore 08:50 Coop <info@coop.it> ha scritto:\n> A che ora?\n>\n> Il giorno ven 26 feb 2027 alle ore 11:00 Ivana ha scritto:\n>> Serve un mediatore polacco venerdì 12 marzo.";
        let p = split(t);
        assert_eq!(p.len(), 3, "{p:?}");
        assert_eq!(p[2].text, "Serve un mediatore polacco venerdì 12 marzo.");
        let b = "Il giorno ven 26 feb 2027 alle ore 10:00 Info <info@coop.example> ha scritto:\n> Ci serve la data.\n\nGiovedì 4 marzo alle 15.\nAnna";
        let p = split(b);
        assert_eq!(p[0].text, "Giovedì 4 marzo alle 15.\nAnna");
        assert_eq!(p[1].text, "Ci serve la data.");
    }

    #[test]
    fn an_older_message_keeps_its_sender_and_day_through_the_stored_text() {
        let t = "Vi giro la richiesta.\n\n________________________________\nFrom: Elena Rota <E.Rota@comune.curno.bg.it>\nSent: Friday, February 26, 2027 3:12 PM\nTo: info@coop.it\nSubject: richiesta\n\nServe un mediatore arabo giovedì.";
        let p = split(t);
        assert_eq!(
            p[1].from.as_deref(),
            Some("Elena Rota <e.rota@comune.curno.bg.it>")
        );
        assert_eq!(p[1].sent, NaiveDate::from_ymd_opt(2027, 2, 26));
        let stored = read_email(None, Some(t), None);
        assert!(!stored.contains("3:12"), "{stored}");
        let again = split(&stored);
        assert_eq!(again[1].from, p[1].from);
        assert_eq!(again[1].sent, p[1].sent);
        assert_eq!(again[1].text, "Serve un mediatore arabo giovedì.");
        let g = "Ok\n\nOn Fri, Feb 26, 2027 at 4:55 PM Sara Facchinetti <sara@gmail.com> wrote:\n> Serve un mediatore.";
        let p = split(g);
        assert_eq!(
            p[1].from.as_deref(),
            Some("Sara Facchinetti <sara@gmail.com>")
        );
        assert_eq!(p[1].sent, NaiveDate::from_ymd_opt(2027, 2, 26));
        assert_eq!(
            header_day("lun 1 mar 2027 alle ore 08:05"),
            NaiveDate::from_ymd_opt(2027, 3, 1)
        );
    }

    #[test]
    fn a_pec_envelope_is_not_read() {
        let t = "Messaggio di posta certificata\n\nIl giorno 26/02/2027 alle ore 11:42:07 (+0100) il messaggio\n\"Richiesta\" è stato inviato da \"protocollo@pec.comune.it\"\nindirizzato a:\ninfo@pec.coop.it\nIl messaggio originale è incluso in allegato.\nIdentificativo messaggio: opec.1@pec.it\n\nServe un mediatore arabo l'11 marzo alle 14.30.";
        let out = read_email(Some("POSTA CERTIFICATA: Richiesta"), Some(t), None);
        assert!(!out.contains("11:42"), "{out}");
        assert!(!out.contains("protocollo@"), "{out}");
        assert!(out.starts_with("Serve un mediatore arabo"), "{out}");
        assert!(out.ends_with("Richiesta"), "{out}");
    }
}
