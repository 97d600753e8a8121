//! Text that mail-parser reads as UTF-8 when it is not: a raw 8-bit header (no RFC 2047, common
//! from old mailers and office copiers) and a text body with 8-bit bytes and no charset. mail-parser
//! 0.11 decodes such bytes with `from_utf8_lossy`, so a windows-1252 "lunedì" in a subject
//! becomes "luned\u{FFFD}". Here they are decoded with the message's declared charset, else
//! windows-1252 (as Zammad does), and RFC 2047 words in them are still decoded by mail-parser.
//! Pure: bytes in, text out.

use mail_parser::decoders::base64::base64_decode;
use mail_parser::decoders::charsets::map::charset_decoder;
use mail_parser::decoders::quoted_printable::quoted_printable_decode;
use mail_parser::{
    Encoding, HeaderName, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};

/// The charset a message declares: its root part's, else its first text part's; `None` when
/// it says nothing or says UTF-8/ASCII (8-bit bytes there are not what it says).
fn declared(m: &Message<'_>) -> Option<String> {
    let of = |p: &MessagePart<'_>| {
        p.content_type()
            .and_then(|ct| ct.attribute("charset"))
            .map(|c| c.trim().to_ascii_lowercase())
    };
    let found = of(m.root_part()).or_else(|| {
        m.parts
            .iter()
            .filter(|p| matches!(p.body, PartType::Text(_) | PartType::Html(_)))
            .find_map(of)
    })?;
    (!matches!(
        found.as_str(),
        "utf-8" | "utf8" | "us-ascii" | "ascii" | "ansi_x3.4-1968"
    ))
    .then_some(found)
}

/// 8-bit bytes as text: with `charset` when mail-parser knows it, else windows-1252.
fn decode(raw: &[u8], charset: Option<&str>) -> String {
    charset
        .and_then(|c| charset_decoder(c.as_bytes()))
        .or_else(|| charset_decoder(b"windows-1252"))
        .map(|d| d(raw))
        .unwrap_or_else(|| String::from_utf8_lossy(raw).into_owned())
}

/// The raw bytes of the first `name` field of the root part, when they are not UTF-8.
fn raw_8bit<'a>(m: &'a Message<'a>, name: &HeaderName<'_>) -> Option<&'a [u8]> {
    let h = m.root_part().headers().iter().find(|h| &h.name == name)?;
    let raw = m
        .raw_message()
        .get(h.offset_start as usize..h.offset_end as usize)?;
    std::str::from_utf8(raw).is_err().then_some(raw)
}

/// The field re-read by mail-parser from its value decoded to UTF-8 (RFC 6532), so that
/// folding and RFC 2047 words are handled as usual.
fn reread(m: &Message<'_>, field: &str, name: &HeaderName<'_>) -> Option<Message<'static>> {
    let raw = raw_8bit(m, name)?;
    let text = decode(raw, declared(m).as_deref());
    let block = format!("{field}:{}\r\n\r\n", text.trim_end_matches(['\r', '\n']));
    MessageParser::default()
        .parse_headers(block.as_bytes())
        .map(|m| m.into_owned())
}

/// The subject as its writer meant it.
pub(crate) fn subject(m: &Message<'_>) -> Option<String> {
    match reread(m, "Subject", &HeaderName::Subject) {
        Some(fixed) => fixed.subject().map(|s| s.trim().to_owned()),
        None => m.subject().map(|s| s.trim().to_owned()),
    }
}

/// The display name of a one-mailbox field (`From`, `Reply-To`) whose raw value is 8-bit, as
/// its writer meant it; `None` when the value is UTF-8 (mail-parser's reading stands).
pub(crate) fn display_name(m: &Message<'_>, field: HeaderName<'_>) -> Option<String> {
    let label = match field {
        HeaderName::From => "From",
        HeaderName::ReplyTo => "Reply-To",
        _ => return None,
    };
    let fixed = reread(m, label, &field)?;
    let name = fixed
        .header_values(field)
        .next()?
        .as_address()?
        .first()?
        .name()?
        .trim()
        .to_owned();
    (!name.is_empty()).then_some(name)
}

/// A text part's text. When the part declares no charset, or one its bytes belie ("us-ascii" or
/// "utf-8" on 8-bit bytes), its bytes are read again: as UTF-8 when they are UTF-8, else as
/// windows-1252. Anything else stays as mail-parser read it.
pub(crate) fn part_text<'a>(
    m: &Message<'_>,
    part: &MessagePart<'_>,
    read: &'a str,
) -> std::borrow::Cow<'a, str> {
    let says = part
        .content_type()
        .and_then(|ct| ct.attribute("charset"))
        .map(|c| c.trim().to_ascii_lowercase());
    let unreliable = matches!(
        says.as_deref(),
        None | Some("utf-8" | "utf8" | "us-ascii" | "ascii")
    );
    let looks_right = match says.as_deref() {
        // mail-parser read these bytes as UTF-8: only a replacement character says otherwise.
        None | Some("utf-8" | "utf8") => !read.contains('\u{FFFD}'),
        // ... and these as windows-1252: only non-ASCII text says they were not ASCII.
        _ => read.is_ascii(),
    };
    if !unreliable || looks_right {
        return read.into();
    }
    let Some(bytes) = body_bytes(m, part) else {
        return read.into();
    };
    if bytes.is_ascii() {
        return read.into();
    }
    match std::str::from_utf8(&bytes) {
        Ok(utf8) if utf8 != read => utf8.to_owned().into(),
        Ok(_) => read.into(),
        Err(_) => decode(&bytes, None).into(),
    }
}

/// A part's body bytes with its transfer encoding undone; `None` when they cannot be found or
/// decoded (mail-parser's reading then stands).
fn body_bytes(m: &Message<'_>, part: &MessagePart<'_>) -> Option<Vec<u8>> {
    let raw = m
        .raw_message()
        .get(part.raw_body_offset() as usize..part.raw_end_offset() as usize)?;
    match part.encoding {
        Encoding::None => Some(raw.to_vec()),
        Encoding::QuotedPrintable => quoted_printable_decode(raw),
        Encoding::Base64 => {
            let compact: Vec<u8> = raw
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            base64_decode(&compact)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(raw: &[u8]) -> Message<'_> {
        MessageParser::default().parse(raw).expect("a message")
    }

    #[test]
    fn raw_windows_1252_subject_without_charset() {
        let raw = b"From: a@b.it\r\nSubject: colloquio luned\xec 8\r\n\r\nciao\r\n";
        assert_eq!(subject(&parse(raw)).as_deref(), Some("colloquio lunedì 8"));
    }

    #[test]
    fn raw_subject_in_the_declared_charset() {
        // ISO-8859-2 0xE8 is "č", not windows-1252's "è".
        let raw = b"Subject: Mili\xe8\r\nContent-Type: text/plain; charset=iso-8859-2\r\n\r\nx\r\n";
        assert_eq!(subject(&parse(raw)).as_deref(), Some("Milič"));
    }

    #[test]
    fn rfc2047_and_utf8_subjects_are_left_to_mail_parser() {
        let raw = "Subject: =?iso-8859-1?Q?visita_marted=EC?= e giovedì\r\n\r\nx\r\n";
        assert_eq!(
            subject(&parse(raw.as_bytes())).as_deref(),
            Some("visita martedì e giovedì")
        );
    }

    fn body(raw: &[u8]) -> String {
        let m = parse(raw);
        let part = m.part(m.text_body[0]).expect("a text part");
        let PartType::Text(t) = &part.body else {
            panic!("not text")
        };
        part_text(&m, part, t).into_owned()
    }

    #[test]
    fn bodies_without_a_charset_or_with_one_their_bytes_belie() {
        let no_charset =
            b"Subject: x\r\nContent-Transfer-Encoding: 8bit\r\n\r\nluned\xec alle 10\r\n";
        assert_eq!(body(no_charset).trim(), "lunedì alle 10");
        let utf8_as_ascii = "Content-Type: text/plain; charset=us-ascii\r\n\r\ngiovedì\r\n";
        assert_eq!(body(utf8_as_ascii.as_bytes()).trim(), "giovedì");
        let qp = b"Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nalle 10 di luned=EC\r\n";
        assert_eq!(body(qp).trim(), "alle 10 di lunedì");
        let declared = b"Content-Type: text/plain; charset=iso-8859-1\r\n\r\ncitt\xe0\r\n";
        assert_eq!(body(declared).trim(), "città");
    }

    #[test]
    fn raw_8bit_display_name() {
        let raw = b"From: Nicol\xf2 Bonf\xe0 <n.bonfa@comune.it>\r\nSubject: x\r\n\r\nx\r\n";
        assert_eq!(
            display_name(&parse(raw), HeaderName::From).as_deref(),
            Some("Nicolò Bonfà")
        );
        let utf8 = "From: Nicolò <n@comune.it>\r\n\r\nx\r\n";
        assert_eq!(
            display_name(&parse(utf8.as_bytes()), HeaderName::From),
            None
        );
    }
}
