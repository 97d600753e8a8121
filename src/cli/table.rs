//! Plain-text tables for the terminal: columns padded to the widest cell (counted in characters).

/// Renders rows under a header; an empty list renders as `empty`.
pub fn render(header: &[&str], rows: &[Vec<String>], empty: &str) -> String {
    if rows.is_empty() {
        return format!("{empty}\n");
    }
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
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
    for r in rows {
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
}
