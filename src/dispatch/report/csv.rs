//! The report as CSV for Italian spreadsheets: UTF-8 BOM, `;` between fields, decimal comma
//! (whatever the language of the headers), CRLF line ends; one line per Ambito, the comments in
//! the last field separated by " | ".

use super::{ReportRow, Value, columns, values};
use crate::config::Lang;
use crate::prompts::t;

fn field(s: &str) -> String {
    if s.contains([';', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The CSV text, BOM first.
pub fn csv(rows: &[ReportRow], lang: Lang) -> String {
    let mut headers = columns(lang);
    headers.push(t(lang, "dispatch.report_comments", &[]));
    let mut out = String::from("\u{feff}");
    out.push_str(
        &headers
            .iter()
            .map(|h| field(h))
            .collect::<Vec<_>>()
            .join(";"),
    );
    out.push_str("\r\n");
    for r in rows {
        let mut cells: Vec<String> = values(lang, r)
            .iter()
            .map(|v| match v {
                // Italian spreadsheets read "1,50" as a number, "1.50" as text or a date.
                Value::Number(_) => v.text(Lang::It),
                _ => v.text(lang),
            })
            .collect();
        cells.push(r.comments.join(" | "));
        out.push_str(&cells.iter().map(|c| field(c)).collect::<Vec<_>>().join(";"));
        out.push_str("\r\n");
    }
    out
}
