//! HTML escaping for Telegram's HTML parse mode: every piece of user-provided text goes through
//! [`escape`] before it is put into a message.

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

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn escapes_markup_and_keeps_text() {
        assert_eq!(escape("a <b> & \"c\""), "a &lt;b&gt; &amp; &quot;c&quot;");
        assert_eq!(escape("Già è così"), "Già è così");
        assert_eq!(escape("&amp;"), "&amp;amp;");
    }
}
