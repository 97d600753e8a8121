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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::report::build;
    use crate::store::ReportRecord;

    #[test]
    fn italian_csv_even_with_english_headers() {
        let rec = |minutes: i64, comment: &str| ReportRecord {
            ambito: Some("Seriate".into()),
            status: "done".into(),
            language: Some("ar".into()),
            created_at: 0,
            assigned_at: Some(90),
            escalated_at: None,
            late_cancellation: false,
            done_minutes: Some(minutes),
            evaluation: Some(5),
            evaluation_comment: Some(comment.into()),
            no_show: false,
            no_show_by: vec![],
            verified_minutes: 0,
            disputed_minutes: 0,
            checked_minutes: 0,
            scores: vec![],
            series_meetings: None,
        };
        let rows = build(&[rec(50, "bene; \"molto\""), rec(25, "ok")], None);
        let it = csv(&rows, Lang::It);
        let mut lines = it.strip_prefix('\u{feff}').unwrap().split("\r\n");
        assert!(lines.next().unwrap().ends_with(";Commenti"));
        assert_eq!(
            lines.next().unwrap(),
            "Seriate;2;2;1,25;0,00;0,00;arabo 2;0;0;0;0;1,50;1,50;0;2;5,00;;\"bene; \"\"molto\"\" | ok\""
        );
        let en = csv(&rows, Lang::En);
        assert!(en.contains("Seriate;2;2;1,25;0,00;0,00;Arabic 2;"), "{en}");
    }
}
