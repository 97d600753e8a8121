//! The monthly report per Ambito (`connecting report --month YYYY-MM [--ambito A] --format
//! table|csv|xlsx|pdf`, and the console's `/reports/YYYY-MM`): requests, interventions done,
//! hours, languages, late cancellations, no-shows, time from request to assignment (median and
//! 90th percentile), escalations, the evaluation average, the averages per criterion and the
//! comments — what the cooperative
//! reports to each Ambito for billing.
//!
//! A request belongs to the month (local time) of its appointment — when the intervention is
//! billed — or, without one (a written translation), of its arrival. `build` is pure;
//! `monthly_report` reads the store. One model ([`ReportRow`], its [`columns`] and [`values`])
//! feeds every renderer: [`render`] (the table in words, JSON), [`csv`] (Italian spreadsheets),
//! [`xlsx`] (one sheet per Ambito and a summary) and [`pdf`] (one document per Ambito).
//!
//! Hours (`app::account`): verified are the ones the requester confirmed or a coordinator
//! settled (the figure to bill); disputed the mediator's figure of an open dispute; unverified
//! the rest of the mediator's hours (not confirmed in time, not yet answered, or recorded
//! before hours were confirmed: old months keep all their hours, as unverified).

pub mod csv;
pub mod pdf;
pub mod xlsx;

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::str::FromStr;

use crate::config::Lang;
use crate::domain::appointment::local_to_utc;
use crate::domain::{Ambito, NoShow};
use crate::prompts::t;
use crate::store::{ReportRecord, Store, StoreError};
use crate::vocab;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("month {0:?} is not valid: expected YYYY-MM, e.g. 2027-03")]
    BadMonth(String),
    #[error("format {0:?} is not valid: expected table, csv, xlsx or pdf")]
    BadFormat(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("xlsx: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("pdf: {0}")]
    Pdf(String),
}

/// One Ambito's month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportRow {
    /// Ambito name; `None` for requests whose Ambito is not known.
    pub ambito: Option<String>,
    pub requests: u32,
    pub interventions_done: u32,
    /// The mediators' own hours, not confirmed by the requester (to the cent).
    pub hours_unverified: f64,
    /// Hours the requester confirmed, or a coordinator settled (the figure billed).
    pub hours_verified: Option<f64>,
    /// The mediator's hours under an open dispute.
    pub hours_disputed: Option<f64>,
    /// Language code and number of requests, most frequent first.
    pub languages: Vec<(String, u32)>,
    pub late_cancellations: u32,
    /// Requests with an assignment recorded as not done.
    pub no_shows: u32,
    /// Of those, appointments the family did not come to, and the mediator did not come to
    /// (as recorded; a no-show recorded without saying who is in neither).
    pub no_shows_family: u32,
    pub no_shows_mediator: u32,
    /// Minutes from arrival to assignment: median (mean of the two middle ones for an even
    /// count) and 90th percentile (nearest rank), to the cent.
    pub median_minutes_to_assignment: Option<f64>,
    pub p90_minutes_to_assignment: Option<f64>,
    pub escalations: u32,
    pub evaluations: u32,
    pub evaluation_average: Option<f64>,
    /// The requesters' comments with their evaluations, in request order.
    pub comments: Vec<String>,
    /// The average mark per criterion (its name in `[evaluation] criteria`), to the cent,
    /// sorted by name; evaluations from before the criteria count as "overall".
    pub criteria_averages: Vec<(String, f64)>,
}

impl ReportRow {
    /// All hours of the month, whatever their state.
    pub fn hours_total(&self) -> f64 {
        cents(
            self.hours_unverified
                + self.hours_verified.unwrap_or(0.0)
                + self.hours_disputed.unwrap_or(0.0),
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Table,
    Csv,
    Xlsx,
    Pdf,
    Json,
}

impl FromStr for ReportFormat {
    type Err = ReportError;
    fn from_str(s: &str) -> Result<Self, ReportError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "table" => Ok(ReportFormat::Table),
            "csv" => Ok(ReportFormat::Csv),
            "xlsx" => Ok(ReportFormat::Xlsx),
            "pdf" => Ok(ReportFormat::Pdf),
            "json" => Ok(ReportFormat::Json),
            _ => Err(ReportError::BadFormat(s.to_string())),
        }
    }
}

/// The instants bounding the local month of `now` in `tz` (the people page's and `/ore`'s
/// "this month").
pub fn month_of(now: DateTime<Utc>, tz: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let month = now.with_timezone(&tz).format("%Y-%m").to_string();
    // A month printed by chrono always reads back.
    month_range(&month, tz).unwrap_or((now, now))
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

/// "marzo 2027" for "2027-03" (as given, if it is not a month).
pub fn month_words(lang: Lang, month: &str) -> String {
    let parsed = month.trim().split_once('-').and_then(|(y, m)| {
        let m = m.parse::<u32>().ok().filter(|m| (1..=12).contains(m))?;
        Some((y.parse::<i32>().ok()?, m))
    });
    match parsed {
        Some((y, m)) => format!("{} {y}", t(lang, &format!("words.month_{m}"), &[])),
        None => month.to_string(),
    }
}

fn cents(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    Some(cents(if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }))
}

/// The 90th percentile by nearest rank: the smallest value with at least 90% of them at or
/// below it.
fn p90(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (n * 9).div_ceil(10).max(1);
    Some(cents(sorted[rank - 1]))
}

/// Aggregates records per Ambito (sorted by name, unknown last), optionally only one Ambito.
pub fn build(records: &[ReportRecord], only: Option<Ambito>) -> Vec<ReportRow> {
    #[derive(Default)]
    struct Acc {
        requests: u32,
        done: u32,
        minutes: i64,
        verified: i64,
        disputed: i64,
        languages: BTreeMap<String, u32>,
        late: u32,
        no_shows: u32,
        absent_family: u32,
        absent_mediator: u32,
        to_assign: Vec<f64>,
        escalations: u32,
        scores: Vec<i64>,
        comments: Vec<String>,
        criteria: BTreeMap<String, Vec<i64>>,
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
        if let Some((meetings, minutes)) = r.series_meetings {
            // a series: each of its meetings of the month is an intervention
            acc.done += u32::try_from(meetings).unwrap_or(0);
            acc.minutes += (minutes - r.checked_minutes).max(0);
            acc.verified += r.verified_minutes.max(0);
            acc.disputed += r.disputed_minutes.max(0);
        } else if let Some(m) = r.done_minutes {
            acc.done += 1;
            acc.minutes += (m - r.checked_minutes).max(0);
            acc.verified += r.verified_minutes.max(0);
            acc.disputed += r.disputed_minutes.max(0);
        }
        if let Some(l) = &r.language {
            *acc.languages.entry(l.clone()).or_default() += 1;
        }
        if r.late_cancellation {
            acc.late += 1;
        }
        if r.no_show {
            acc.no_shows += 1;
        }
        for w in &r.no_show_by {
            match w {
                NoShow::Family => acc.absent_family += 1,
                NoShow::Mediator => acc.absent_mediator += 1,
            }
        }
        if let Some(a) = r.assigned_at {
            acc.to_assign.push((a - r.created_at).max(0) as f64 / 60.0);
        }
        if r.escalated_at.is_some() {
            acc.escalations += 1;
        }
        if let Some(s) = r.evaluation {
            acc.scores.push(s);
        }
        for (c, s) in &r.scores {
            acc.criteria.entry(c.clone()).or_default().push(*s);
        }
        if let Some(c) = r.evaluation_comment.as_deref().map(str::trim)
            && !c.is_empty()
        {
            acc.comments.push(c.to_string());
        }
    }
    by.into_iter()
        .map(|((unknown, name), mut a)| {
            let mut languages: Vec<(String, u32)> = a.languages.into_iter().collect();
            languages.sort_by(|x, y| y.1.cmp(&x.1).then(x.0.cmp(&y.0)));
            let evaluations = a.scores.len() as u32;
            a.to_assign.sort_by(f64::total_cmp);
            ReportRow {
                ambito: (!unknown).then_some(name),
                requests: a.requests,
                interventions_done: a.done,
                hours_unverified: cents(a.minutes as f64 / 60.0),
                hours_verified: Some(cents(a.verified as f64 / 60.0)),
                hours_disputed: Some(cents(a.disputed as f64 / 60.0)),
                languages,
                late_cancellations: a.late,
                no_shows: a.no_shows,
                no_shows_family: a.absent_family,
                no_shows_mediator: a.absent_mediator,
                median_minutes_to_assignment: median(&a.to_assign),
                p90_minutes_to_assignment: p90(&a.to_assign),
                escalations: a.escalations,
                evaluations,
                evaluation_average: (evaluations > 0)
                    .then(|| cents(a.scores.iter().sum::<i64>() as f64 / f64::from(evaluations))),
                comments: a.comments,
                criteria_averages: a
                    .criteria
                    .into_iter()
                    .map(|(c, s)| {
                        let avg = s.iter().sum::<i64>() as f64 / s.len() as f64;
                        (c, cents(avg))
                    })
                    .collect(),
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

/// The figures' machine names, in order; headers are the prompts `dispatch.report_<name>`.
pub const COLUMNS: [&str; 17] = [
    "ambito",
    "requests",
    "interventions_done",
    "hours_unverified",
    "hours_verified",
    "hours_disputed",
    "languages",
    "late_cancellations",
    "no_shows",
    "no_shows_family",
    "no_shows_mediator",
    "median_minutes_to_assignment",
    "p90_minutes_to_assignment",
    "escalations",
    "evaluations",
    "evaluation_average",
    "criteria_averages",
];

/// One figure as the renderers receive it.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Count(u32),
    /// A quantity written with two decimals.
    Number(f64),
    /// No figure (no assignment, no evaluation this month): an empty cell.
    Empty,
    /// A figure the service does not record yet (verified and disputed hours): an empty cell.
    Pending,
}

impl Value {
    /// The value as text: two decimals with a decimal comma in Italian, a point in English.
    pub fn text(&self, lang: Lang) -> String {
        match self {
            Value::Text(s) => s.clone(),
            Value::Count(n) => n.to_string(),
            Value::Number(v) => decimal(*v, lang),
            Value::Empty | Value::Pending => String::new(),
        }
    }
}

/// `12.5` as "12,50" (Italian) or "12.50" (English).
pub fn decimal(v: f64, lang: Lang) -> String {
    let s = format!("{v:.2}");
    match lang {
        Lang::It => s.replace('.', ","),
        Lang::En => s,
    }
}

/// The headers, in the words of `lang`.
pub fn columns(lang: Lang) -> Vec<String> {
    COLUMNS
        .iter()
        .map(|h| t(lang, &format!("dispatch.report_{h}"), &[]))
        .collect()
}

/// The Ambito's name, or the words for an unknown one.
pub fn ambito_name(lang: Lang, r: &ReportRow) -> String {
    r.ambito
        .clone()
        .unwrap_or_else(|| t(lang, "dispatch.report_unknown_ambito", &[]))
}

/// The languages in words with their counts: "arabo 3, tigrino 1".
pub fn languages_words(lang: Lang, r: &ReportRow) -> String {
    r.languages
        .iter()
        .map(|(code, n)| format!("{} {n}", vocab::language(lang, code)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The row's figures, in the order of [`COLUMNS`].
pub fn values(lang: Lang, r: &ReportRow) -> Vec<Value> {
    let num = |v: Option<f64>| v.map(Value::Number).unwrap_or(Value::Empty);
    let pending = |v: Option<f64>| v.map(Value::Number).unwrap_or(Value::Pending);
    vec![
        Value::Text(ambito_name(lang, r)),
        Value::Count(r.requests),
        Value::Count(r.interventions_done),
        Value::Number(r.hours_unverified),
        pending(r.hours_verified),
        pending(r.hours_disputed),
        Value::Text(languages_words(lang, r)),
        Value::Count(r.late_cancellations),
        Value::Count(r.no_shows),
        Value::Count(r.no_shows_family),
        Value::Count(r.no_shows_mediator),
        num(r.median_minutes_to_assignment),
        num(r.p90_minutes_to_assignment),
        Value::Count(r.escalations),
        Value::Count(r.evaluations),
        num(r.evaluation_average),
        Value::Text(criteria_words(lang, r)),
    ]
}

/// The averages per criterion in words: "Puntualità 4,33 | Valutazione complessiva 4,50".
pub fn criteria_words(lang: Lang, r: &ReportRow) -> String {
    r.criteria_averages
        .iter()
        .map(|(c, avg)| {
            format!(
                "{} {}",
                t(lang, &format!("dispatch.criterion_{c}"), &[]),
                decimal(*avg, lang)
            )
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

/// Renders the rows as text: the table (headers, languages and numbers in the words of `lang`,
/// then the comments per Ambito) or JSON; the other formats have their own modules.
pub fn render(rows: &[ReportRow], format: ReportFormat, lang: Lang) -> String {
    match format {
        ReportFormat::Json => serde_json::to_string_pretty(rows).unwrap_or_else(|_| "[]".into()),
        ReportFormat::Csv => csv::csv(rows, lang),
        _ => table(rows, lang),
    }
}

fn table(rows: &[ReportRow], lang: Lang) -> String {
    let headers = columns(lang);
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| values(lang, r).iter().map(|v| v.text(lang)).collect())
        .collect();
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
    for r in rows.iter().filter(|r| !r.comments.is_empty()) {
        let _ = writeln!(
            out,
            "\n{}",
            t(
                lang,
                "dispatch.report_comments_of",
                &[("ambito", &ambito_name(lang, r))]
            )
        );
        for c in &r.comments {
            let _ = writeln!(out, "- {c}");
        }
    }
    out
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
            evaluation_comment: None,
            no_show: false,
            no_show_by: vec![],
            verified_minutes: 0,
            disputed_minutes: 0,
            checked_minutes: 0,
            scores: vec![],
            series_meetings: None,
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
    fn months_in_words() {
        assert_eq!(month_words(Lang::It, "2027-03"), "marzo 2027");
        assert_eq!(month_words(Lang::En, "2027-12"), "December 2027");
        assert_eq!(month_words(Lang::It, "2027-13"), "2027-13");
    }

    #[test]
    fn median_and_90th_percentile() {
        assert_eq!(median(&[]), None);
        assert_eq!(p90(&[]), None);
        assert_eq!(median(&[7.0]), Some(7.0));
        assert_eq!(p90(&[7.0]), Some(7.0));
        assert_eq!(median(&[1.0, 2.0]), Some(1.5));
        // Nearest rank: ceil(0.9 * 2) = 2nd.
        assert_eq!(p90(&[1.0, 2.0]), Some(2.0));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(median(&ten), Some(5.5));
        assert_eq!(p90(&ten), Some(9.0));
        let eleven: Vec<f64> = (1..=11).map(f64::from).collect();
        assert_eq!(p90(&eleven), Some(10.0));
        assert_eq!(median(&[1.0 / 3.0, 2.0 / 3.0]), Some(0.5));
        assert_eq!(median(&[0.0, 1.0 / 3.0, 10.0]), Some(0.33));
    }

    #[test]
    fn aggregates_per_ambito() {
        let mut a1 = rec(Some("Dalmine"), "ar");
        a1.done_minutes = Some(90);
        a1.assigned_at = Some(a1.created_at + 600);
        a1.evaluation = Some(5);
        a1.evaluation_comment = Some("  puntuale ".into());
        let mut a2 = rec(Some("dalmine"), "ar");
        a2.done_minutes = Some(60);
        a2.assigned_at = Some(a2.created_at + 1800);
        a2.evaluation = Some(4);
        a2.evaluation_comment = Some(" ".into());
        let mut a3 = rec(Some("Dalmine"), "ur");
        a3.late_cancellation = true;
        a3.escalated_at = Some(1);
        a3.assigned_at = Some(a3.created_at + 3600);
        let mut a4 = rec(Some("Dalmine"), "ur");
        a4.no_show = true;
        a4.no_show_by = vec![NoShow::Family];
        let b1 = rec(Some("Bergamo"), "sq");
        let u = rec(None, "ti");
        let rows = build(&[a1, a2, a3, a4, b1, u], None);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].ambito.as_deref(), Some("Bergamo"));
        assert_eq!(rows[2].ambito, None);
        let d = &rows[1];
        assert_eq!(d.ambito.as_deref(), Some("Dalmine"));
        assert_eq!((d.requests, d.interventions_done), (4, 2));
        assert_eq!(d.hours_unverified, 2.5);
        assert_eq!((d.hours_verified, d.hours_disputed), (Some(0.0), Some(0.0)));
        assert_eq!(
            d.languages,
            vec![("ar".to_string(), 2), ("ur".to_string(), 2)]
        );
        assert_eq!((d.late_cancellations, d.no_shows), (1, 1));
        assert_eq!((d.no_shows_family, d.no_shows_mediator), (1, 0));
        assert_eq!(d.escalations, 1);
        assert_eq!(d.median_minutes_to_assignment, Some(30.0));
        assert_eq!(d.p90_minutes_to_assignment, Some(60.0));
        assert_eq!((d.evaluations, d.evaluation_average), (2, Some(4.5)));
        assert_eq!(d.comments, vec!["puntuale".to_string()]);
        let only = build(
            &[rec(Some("Dalmine"), "ar"), rec(Some("Bergamo"), "ar")],
            Ambito::parse("Bergamo").ok(),
        );
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].ambito.as_deref(), Some("Bergamo"));
    }

    #[test]
    fn renders_the_table_in_words_and_json() {
        let mut r = rec(Some("Valle Imagna e Villa d'Almè"), "ar");
        r.done_minutes = Some(45);
        let mut r2 = rec(Some("Valle Imagna e Villa d'Almè"), "ur");
        r2.evaluation = Some(3);
        r2.evaluation_comment = Some("Molto disponibile".into());
        let rows = build(&[r, r2], None);
        let table = render(&rows, ReportFormat::Table, Lang::It);
        let head = table.lines().next().unwrap();
        assert!(head.starts_with("Ambito") && head.contains("Ore non verificate"));
        assert!(table.contains("Valle Imagna e Villa d'Almè  2"), "{table}");
        assert!(table.contains("arabo 1, urdu 1"), "{table}");
        assert!(table.contains("0,75"), "{table}");
        assert!(table.contains("Commenti — Valle Imagna e Villa d'Almè\n- Molto disponibile"));
        let en = render(&rows, ReportFormat::Table, Lang::En);
        assert!(en.contains("Arabic 1") && en.contains("0.75"), "{en}");
        let json: serde_json::Value =
            serde_json::from_str(&render(&rows, ReportFormat::Json, Lang::En)).unwrap();
        assert_eq!(json[0]["hours_unverified"], 0.75);
        assert_eq!(json[0]["languages"][0][0], "ar");
        assert!("xml".parse::<ReportFormat>().is_err());
    }
}
