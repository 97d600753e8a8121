//! The one call site that turns an email's plain/HTML bodies into the text the extractor reads:
//! the extractor's [`crate::extract::prepare_email_text`] (HTML to text, quoted replies,
//! signatures and disclaimers removed). A minimal fallback stays for comparison tests.

/// How much of a message's plain and of its HTML body is read (1 MiB each; the rest is
/// ignored). The extractor then reads at most [`crate::extract::MAX_TEXT`] of the result; this
/// bound keeps a 20 MB body from being copied through every cleaning step and stored whole.
pub const MAX_BODY_TEXT: usize = 1024 * 1024;

/// Text of the new part of a message, ready for the extractor and the cancellation check.
pub fn prepare(plain: Option<&str>, html: Option<&str>) -> String {
    crate::extract::prepare_email_text(plain.map(head), html.map(head))
}

/// What the extractor reads of a new request: every part of the mail, newest first (quoted and
/// forwarded messages without their headers, a PEC envelope's text dropped), the subject last
/// ([`crate::extract::read_email`]). [`prepare`] stays the new text only (for the cancellation
/// check and follow-ups).
pub fn reading(subject: Option<&str>, plain: Option<&str>, html: Option<&str>) -> String {
    crate::extract::read_email(subject, plain.map(head), html.map(head))
}

/// The first [`MAX_BODY_TEXT`] bytes of `s`, cut at a character boundary.
fn head(s: &str) -> &str {
    if s.len() <= MAX_BODY_TEXT {
        return s;
    }
    let mut end = MAX_BODY_TEXT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod minimal {
    //! Stand-in: plain part (or HTML with tags removed), cut at the first quoted-reply marker.

    pub fn prepare(plain: Option<&str>, html: Option<&str>) -> String {
        let text = match (plain, html) {
            (Some(p), _) if !p.trim().is_empty() => p.to_owned(),
            (_, Some(h)) => html_to_text(h),
            _ => String::new(),
        };
        cut_quote(&text)
    }

    fn html_to_text(html: &str) -> String {
        let mut out = String::with_capacity(html.len() / 2);
        let mut in_tag = false;
        let mut tag = String::new();
        let mut skip_depth = 0usize;
        for c in html.chars() {
            if in_tag {
                if c == '>' {
                    in_tag = false;
                    let t = tag.trim().to_ascii_lowercase();
                    let name: String = t
                        .trim_start_matches('/')
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric())
                        .collect();
                    if name == "style" || name == "script" {
                        if t.starts_with('/') {
                            skip_depth = skip_depth.saturating_sub(1);
                        } else {
                            skip_depth += 1;
                        }
                    }
                    if name == "blockquote" && !t.starts_with('/') {
                        out.push_str("\n> ");
                    }
                    if matches!(
                        name.as_str(),
                        "br" | "p" | "div" | "tr" | "li" | "h1" | "h2"
                    ) {
                        out.push('\n');
                    }
                    tag.clear();
                } else {
                    tag.push(c);
                }
            } else if c == '<' {
                in_tag = true;
            } else if skip_depth == 0 {
                out.push(c);
            }
        }
        out.replace("&nbsp;", " ")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&agrave;", "à")
            .replace("&egrave;", "è")
            .replace("&eacute;", "é")
            .replace("&igrave;", "ì")
            .replace("&ograve;", "ò")
            .replace("&ugrave;", "ù")
            .replace("&amp;", "&")
    }

    fn cut_quote(text: &str) -> String {
        let mut out = Vec::new();
        for line in text.lines() {
            let t = line.trim();
            let lower = t.to_lowercase();
            let marker = t.starts_with('>')
                || lower.starts_with("-----original message")
                || lower.starts_with("-----messaggio originale")
                || (lower.starts_with("il ") && lower.ends_with("ha scritto:"))
                || (lower.starts_with("on ") && lower.ends_with("wrote:"))
                || lower.starts_with("da: ") && out.len() > 1
                || lower.starts_with("from: ") && out.len() > 1;
            if marker {
                break;
            }
            out.push(line.trim_end());
        }
        let joined = out.join("\n");
        joined.trim().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_head_of_a_huge_body_is_read() {
        let big = format!("{}è{}", "a".repeat(MAX_BODY_TEXT - 1), "b".repeat(100));
        assert_eq!(
            head(&big).len(),
            MAX_BODY_TEXT - 1,
            "cut before the 2-byte char"
        );
        let t = prepare(Some(&big), None);
        assert!(t.len() < MAX_BODY_TEXT && !t.contains('b'));
    }

    #[test]
    fn cuts_quoted_reply_and_reads_html() {
        let t = prepare(
            Some("Va bene il 12 marzo.\n\nIl giorno lun 1 mar, Coop ha scritto:\n> annullo"),
            None,
        );
        assert_eq!(t.trim(), "Va bene il 12 marzo.");
        let t = minimal::prepare(
            Some("Va bene il 12 marzo.\n\nIl giorno lun 1 mar, Coop ha scritto:\n> annullo"),
            None,
        );
        assert_eq!(t, "Va bene il 12 marzo.");
        let h = minimal::prepare(
            None,
            Some(
                "<html><style>p{}</style><p>Ciao&nbsp;a tutti</p><blockquote>old</blockquote></html>",
            ),
        );
        assert_eq!(h, "Ciao a tutti");
    }
}
