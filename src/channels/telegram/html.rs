//! HTML escaping for Telegram's HTML parse mode: every piece of user-provided text goes through
//! [`escape`] before it is put into a message; every message goes through [`fit`] before it
//! is sent, so it never exceeds Telegram's 4,096-character limit (a long note from an email,
//! a 4,096-character message quoted back) and stays well-formed HTML.

/// Telegram's limit on a message's text, in characters.
pub const MAX_MESSAGE_CHARS: usize = 4096;

/// Escapes `&`, `<`, `>` and `"` so the text is shown as written and cannot inject markup.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// `text` (HTML) cut to at most `max` characters: never inside a tag or an entity, the tags
/// still open closed, and "…" where it was cut. Text within the limit comes back unchanged.
pub fn fit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    // Room for the ellipsis and the closing tags (our templates nest at most a few).
    const RESERVE: usize = 64;
    let budget = max.saturating_sub(RESERVE);
    let mut out = String::new();
    let mut open: Vec<String> = Vec::new();
    let mut count = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        // The next unit: a whole tag, a whole entity, or one character.
        let unit_end = match c {
            '<' => text[i..].find('>').map(|e| i + e + 1),
            '&' => text[i..].find(';').filter(|e| *e <= 10).map(|e| i + e + 1),
            _ => None,
        }
        .unwrap_or(i + c.len_utf8());
        let unit = &text[i..unit_end];
        let len = unit.chars().count();
        if count + len > budget {
            break;
        }
        if c == '<' && unit.len() > 1 {
            let name: String = unit
                .trim_start_matches(['<', '/'])
                .chars()
                .take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '-')
                .collect();
            if unit.starts_with("</") {
                if let Some(pos) = open.iter().rposition(|t| *t == name) {
                    open.truncate(pos);
                }
            } else if !unit.ends_with("/>") {
                open.push(name);
            }
        }
        out.push_str(unit);
        count += len;
        while chars.peek().is_some_and(|(j, _)| *j < unit_end) {
            chars.next();
        }
    }
    out.push('…');
    for t in open.iter().rev() {
        out.push_str(&format!("</{t}>"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{escape, fit};

    #[test]
    fn fits_long_text_without_breaking_markup() {
        let short = "<b>MED</b> ok";
        assert_eq!(fit(short, 4096), short);
        let long = format!("<b>Note</b>: {}", escape(&"<x>&".repeat(2000)));
        let f = fit(&long, 4096);
        assert!(f.chars().count() <= 4096, "{}", f.chars().count());
        assert!(f.ends_with('…'));
        assert!(
            !f.contains("&l…") && !f.contains("&amp…"),
            "cut inside an entity"
        );
        let open = format!("<b>{}", "é".repeat(5000));
        let f = fit(&open, 4096);
        assert!(f.ends_with("…</b>") && f.chars().count() <= 4096);
    }

    #[test]
    fn escapes_markup_and_keeps_text() {
        assert_eq!(escape("a <b> & \"c\""), "a &lt;b&gt; &amp; &quot;c&quot;");
        assert_eq!(escape("Già è così"), "Già è così");
        assert_eq!(escape("&amp;"), "&amp;amp;");
    }
}
