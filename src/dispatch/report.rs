//! The monthly report per Ambito (`connecting report --month YYYY-MM [--ambito A]
//! [--format table|csv|json]`): requests, interventions done, hours, languages, late
//! cancellations, median time from request to assignment, escalations, evaluation average —
//! what the cooperative reports to each Ambito for billing.
//!
//! A request belongs to the month (local time) of its appointment — when the intervention is
//! billed — or, without one (a written translation), of its arrival. `build` is pure;
//! `monthly_report` reads the store; the renderers turn rows into text. Table headers come from
//! the prompts; CSV and JSON use stable machine names.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::str::FromStr;

use super::texts::Texts;
use crate::domain::Ambito;
use crate::domain::appointment::local_to_utc;
use crate::store::{ReportRecord, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("month {0:?} is not valid: expected YYYY-MM, e.g. 2027-03")]
    BadMonth(String),
    #[error("format {0:?} is not valid: expected table, csv or json")]
    BadFormat(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One Ambito's month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    /// Ambito name; `None` for requests whose Ambito is not known.
    pub ambito: Option<String>,
    pub requests: u32,
    pub interventions_done: u32,
    pub hours: f64,
    /// Language code and number of requests, most frequent first.
    pub languages: Vec<(String, u32)>,
    pub late_cancellations: u32,
    pub median_minutes_to_assignment: Option<i64>,
    pub escalations: u32,
    pub evaluations: u32,
    pub evaluation_average: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Table,
    Csv,
    Json,
}

impl FromStr for ReportFormat {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Self, ReportError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "table" => Ok(ReportFormat::Table),
            "csv" => Ok(ReportFormat::Csv),
            "json" => Ok(ReportFormat::Json),
            _ => Err(ReportError::BadFormat(s.to_string())),
        }
    }
}

/// The instants bounding a local month `YYYY-MM` in `tz`: `[first day 00:00, next month 00:00)`.
pub fn month_range(month: &str, tz: Tz) -> Result<(DateTime<Utc>, DateTime<Utc>), ReportError> {
    let bad = || ReportError::BadMonth(month.to_string());
    let (y, m) = month.trim().split_once('-').ok_or_else(bad)?;
    if y.len() != 4 || m.len() != 2 {
        return Err(bad());
    }
    let y: i32 = y.parse().map_err(|_| bad())?;
    let m: u32 = m.parse().map_err(|_| bad())?;
    let first = NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(bad)?;
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    }
    .ok_or_else(bad)?;
    Ok((
        local_to_utc(first.and_time(chrono::NaiveTime::MIN), tz),
        local_to_utc(next.and_time(chrono::NaiveTime::MIN), tz),
    ))
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2
    })
}

/// Aggregates records per Ambito (sorted by name, unknown last), optionally only one Ambito.
pub fn build(records: &[ReportRecord], only: Option<Ambito>) -> Vec<ReportRow> {
    #[derive(Default)]
    struct Acc {
        requests: u32,
        done: u32,
        minutes: i64,
        languages: BTreeMap<String, u32>,
        late: u32,
        to_assign: Vec<i64>,
        escalations: u32,
        scores: Vec<i64>,
    }
    let mut by: BTreeMap<(bool, String), Acc> = BTreeMap::new();
    for r in records {
        let ambito = r.ambito.as_deref().and_then(|a| Ambito::parse(a).ok());
        if only.is_some() && ambito != only {
            continue;
        }
        let key = match ambito {
            Some(a) => (false, a.name().to_string()),
            None => (true, String::new()),
        };
        let acc = by.entry(key).or_default();
        acc.requests += 1;
        if let Some(m) = r.done_minutes {
            acc.done += 1;
            acc.minutes += m.max(0);
        }
        if let Some(l) = &r.language {
            *acc.languages.entry(l.clone()).or_default() += 1;
        }
        if r.late_cancellation {
            acc.late += 1;
        }
        if let Some(a) = r.assigned_at {
            acc.to_assign.push(((a - r.created_at) / 60).max(0));
        }
        if r.escalated_at.is_some() {
            acc.escalations += 1;
        }
        if let Some(s) = r.evaluation {
            acc.scores.push(s);
        }
    }
    by.into_iter()
        .map(|((unknown, name), a)| {
            let mut languages: Vec<(String, u32)> = a.languages.into_iter().collect();
            languages.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
            let evaluations = a.scores.len() as u32;
            ReportRow {
                ambito: (!unknown).then_some(name),
                requests: a.requests,
                interventions_done: a.done,
                hours: (a.minutes as f64 / 60.0 * 100.0).round() / 100.0,
                languages,
                late_cancellations: a.late,
                median_minutes_to_assignment: median(a.to_assign),
                escalations: a.escalations,
                evaluations,
                evaluation_average: (evaluations > 0).then(|| {
                    let avg = a.scores.iter().sum::<i64>() as f64 / f64::from(evaluations);
                    (avg * 100.0).round() / 100.0
                }),
            }
        })
        .collect()
}

/// Reads the month's requests and aggregates them.
pub async fn monthly_report(
    store: &Store,
    month: &str,
    only: Option<Ambito>,
    tz: Tz,
) -> Result<Vec<ReportRow>, ReportError> {
    let (from, to) = month_range(month, tz)?;
    let records = store.report_records(from, to).await?;
    Ok(build(&records, only))
}

fn languages_text(l: &[(String, u32)]) -> String {
    l.iter()
        .map(|(code, n)| format!("{code} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

const MACHINE_HEADERS: [&str; 10] = [
    "ambito",
    "requests",
    "interventions_done",
    "hours",
    "languages",
    "late_cancellations",
    "median_minutes_to_assignment",
    "escalations",
    "evaluations",
    "evaluation_average",
];

fn cells(r: &ReportRow, unknown: &str) -> [String; 10] {
    [
        r.ambito.clone().unwrap_or_else(|| unknown.to_string()),
        r.requests.to_string(),
        r.interventions_done.to_string(),
        format!("{:.2}", r.hours),
        languages_text(&r.languages),
        r.late_cancellations.to_string(),
        opt(r.median_minutes_to_assignment),
        r.escalations.to_string(),
        r.evaluations.to_string(),
        r.evaluation_average
            .map(|a| format!("{a:.2}"))
            .unwrap_or_default(),
    ]
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Renders the rows; `lang` picks the table's headers (`it` or `en`).
pub fn render(rows: &[ReportRow], format: ReportFormat, lang: &str) -> String {
    let texts = Texts;
    let unknown = texts.render(lang, "report_unknown_ambito", &[]);
    match format {
        ReportFormat::Json => serde_json::to_string_pretty(rows).unwrap_or_else(|_| "[]".into()),
        ReportFormat::Csv => {
            let mut out = MACHINE_HEADERS.join(",");
            out.push('\n');
            for r in rows {
                let c = cells(r, "");
                out.push_str(&c.iter().map(|s| csv_field(s)).collect::<Vec<_>>().join(","));
                out.push('\n');
            }
            out
        }
        ReportFormat::Table => {
            let headers: Vec<String> = MACHINE_HEADERS
                .iter()
                .map(|h| texts.render(lang, &format!("report_{h}"), &[]))
                .collect();
            let body: Vec<[String; 10]> = rows.iter().map(|r| cells(r, &unknown)).collect();
            let mut width: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
            for row in &body {
                for (i, c) in row.iter().enumerate() {
                    width[i] = width[i].max(c.chars().count());
                }
            }
            let mut out = String::new();
            let line = |cols: &[String], out: &mut String| {
                let parts: Vec<String> = cols
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{c}{}", " ".repeat(width[i] - c.chars().count())))
                    .collect();
                let _ = writeln!(out, "{}", parts.join("  ").trim_end());
            };
            line(&headers, &mut out);
            let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
            line(&rule, &mut out);
            for row in &body {
                line(row, &mut out);
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Rome;

    fn rec(ambito: Option<&str>, lang: &str) -> ReportRecord {
        ReportRecord {
            ambito: ambito.map(str::to_string),
            status: "done".into(),
            language: Some(lang.into()),
            created_at: 1_000_000,
            assigned_at: None,
            escalated_at: None,
            late_cancellation: false,
            done_minutes: None,
            evaluation: None,
        }
    }

    #[test]
    fn month_boundaries_are_local() {
        let (a, b) = month_range("2027-03", Rome).unwrap();
        assert_eq!(a.to_rfc3339(), "2027-02-28T23:00:00+00:00");
        assert_eq!(b.to_rfc3339(), "2027-03-31T22:00:00+00:00");
        let (_, b) = month_range("2027-12", Rome).unwrap();
        assert_eq!(b.to_rfc3339(), "2027-12-31T23:00:00+00:00");
        for bad in ["2027-13", "2027/03", "27-03", "marzo", "2027-3"] {
            let e = month_range(bad, Rome).unwrap_err().to_string();
            assert!(e.contains("YYYY-MM"), "{bad}: {e}");
        }
    }

    #[test]
    fn aggregates_per_ambito() {
        let mut a1 = rec(Some("Dalmine"), "ar");
        a1.done_minutes = Some(90);
        a1.assigned_at = Some(a1.created_at + 600);
        a1.evaluation = Some(5);
        let mut a2 = rec(Some("dalmine"), "ar");
        a2.done_minutes = Some(60);
        a2.assigned_at = Some(a2.created_at + 1800);
        a2.evaluation = Some(4);
        let mut a3 = rec(Some("Dalmine"), "ur");
        a3.late_cancellation = true;
        a3.escalated_at = Some(1);
        a3.assigned_at = Some(a3.created_at + 3600);
        let b1 = rec(Some("Bergamo"), "sq");
        let u = rec(None, "ti");
        let rows = build(&[a1, a2, a3, b1, u], None);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].ambito.as_deref(), Some("Bergamo"));
        assert_eq!(rows[2].ambito, None);
        let d = &rows[1];
        assert_eq!(d.ambito.as_deref(), Some("Dalmine"));
        assert_eq!((d.requests, d.interventions_done), (3, 2));
        assert_eq!(d.hours, 2.5);
        assert_eq!(
            d.languages,
            vec![("ar".to_string(), 2), ("ur".to_string(), 1)]
        );
        assert_eq!(d.late_cancellations, 1);
        assert_eq!(d.escalations, 1);
        assert_eq!(d.median_minutes_to_assignment, Some(30));
        assert_eq!((d.evaluations, d.evaluation_average), (2, Some(4.5)));
        let only = build(
            &[rec(Some("Dalmine"), "ar"), rec(Some("Bergamo"), "ar")],
            Ambito::parse("Bergamo").ok(),
        );
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].ambito.as_deref(), Some("Bergamo"));
    }

    #[test]
    fn renders_table_csv_json() {
        let mut r = rec(Some("Valle Imagna e Villa d'Almè"), "ar");
        r.done_minutes = Some(45);
        let mut r2 = rec(Some("Valle Imagna e Villa d'Almè"), "ur");
        r2.evaluation = Some(3);
        let rows = build(&[r, r2], None);
        let csv = render(&rows, ReportFormat::Csv, "it");
        let mut lines = csv.lines();
        assert_eq!(lines.next(), Some(MACHINE_HEADERS.join(",").as_str()));
        assert_eq!(
            lines.next(),
            Some("Valle Imagna e Villa d'Almè,2,1,0.75,\"ar 1, ur 1\",0,,0,1,3.00")
        );
        let table = render(&rows, ReportFormat::Table, "it");
        assert!(table.lines().next().unwrap().starts_with("Ambito"));
        assert!(table.contains("Valle Imagna e Villa d'Almè  2"));
        let json: serde_json::Value =
            serde_json::from_str(&render(&rows, ReportFormat::Json, "en")).unwrap();
        assert_eq!(json[0]["hours"], 0.75);
        assert_eq!(json[0]["languages"][0][0], "ar");
        assert!("xml".parse::<ReportFormat>().is_err());
    }
}
