//! Plain-text tables for the terminal: columns padded to the widest cell (counted in characters).
//! Cells come from outside (names, notes, subjects): control characters are shown as `\u{..}`
//! escapes, never sent to the terminal (an ESC sequence in a name cannot recolour or clear the
//! coordinator's screen), and a line break in a cell does not break the table. `--json` gives
//! the values exactly as stored.

/// A cell as it may reach a terminal: line breaks and tabs as spaces, other control
/// characters (C0, DEL, C1: ESC sequences) as visible escapes.
pub fn cell(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Renders rows under a header; an empty list renders as `empty`.
pub fn render(header: &[&str], rows: &[Vec<String>], empty: &str) -> String {
    if rows.is_empty() {
        return format!("{empty}\n");
    }
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| cell(c)).collect())
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in &rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            let w = widths.get(i).copied().unwrap_or(0);
            s.push_str(c);
            if i + 1 < cells.len() {
                s.push_str(&" ".repeat(w.saturating_sub(c.chars().count()) + 2));
            }
        }
        s.trim_end().to_string()
    };
    let mut out = line(header.to_vec());
    out.push('\n');
    for r in &rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
        out.push('\n');
    }
    out
}

/// `Some(x)` as text, `None` as a dash.
pub fn opt<T: std::fmt::Display>(v: &Option<T>) -> String {
    v.as_ref()
        .map(|x| x.to_string())
        .unwrap_or_else(|| "-".into())
}

/// Column titles from `prompts/<lang>/cli.toml` (`cli.col_<name>`).
pub fn header(lang: crate::config::Lang, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|n| crate::prompts::t(lang, &format!("cli.col_{n}"), &[]))
        .collect()
}

/// [`render`] with titles from [`header`].
pub fn render_in(
    lang: crate::config::Lang,
    names: &[&str],
    rows: &[Vec<String>],
    empty: &str,
) -> String {
    let titles = header(lang, names);
    let refs: Vec<&str> = titles.iter().map(String::as_str).collect();
    render(&refs, rows, empty)
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_line_up_with_accents() {
        let t = super::render(
            &["id", "nome"],
            &[
                vec!["1".into(), "Amèlia".into()],
                vec!["10".into(), "Bo".into()],
            ],
            "none",
        );
        assert_eq!(t, "id  nome\n1   Amèlia\n10  Bo\n");
        assert_eq!(
            super::render(&["a"], &[], "Nessun risultato."),
            "Nessun risultato.\n"
        );
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let t = super::render(
            &["nome"],
            &[vec!["\u{1b}[2Jrosso\u{9b}x\nriga\u{0}".into()]],
            "",
        );
        assert_eq!(t, "nome\n\\u{1b}[2Jrosso\\u{9b}x riga\\u{0}\n");
        assert_eq!(super::cell("Nguyễn 👩‍👩‍👧 \u{202E}x"), "Nguyễn 👩‍👩‍👧 \u{202E}x");
    }
}
