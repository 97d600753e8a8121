//! `/reports/YYYY-MM`: the month's figures per Ambito (from [`crate::dispatch::report`]) with
//! charts drawn on the server as SVG (hours per Ambito, requests per language, time to
//! assignment, evaluations), and the downloads `/reports/YYYY-MM.csv` (for Italian
//! spreadsheets: `;` separator, decimal comma, UTF-8 BOM) and `/reports/YYYY-MM.xlsx`.
//! Coordinators only.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

use super::pages::{layout, tr};
use super::{Refused, Session, WebState, session};
use crate::config::Lang;
use crate::dispatch::report::{ReportError, ReportRow, monthly_report};
use crate::vocab;

/// `GET /reports`: this month's report.
pub(super) async fn this_month(
    State(st): State<Arc<WebState>>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    coordinator(&st, &headers).await?;
    let month = st
        .clock
        .now()
        .with_timezone(&st.tz)
        .format("%Y-%m")
        .to_string();
    Ok(Redirect::to(&format!("/reports/{month}")).into_response())
}

async fn coordinator(st: &WebState, headers: &HeaderMap) -> Result<Session, Refused> {
    let s = session(st, headers).await?;
    if !s.viewer.is_coordinator() {
        return Err(Refused::NotFound(s.lang));
    }
    Ok(s)
}

/// `GET /reports/YYYY-MM`, `.csv`, `.xlsx`.
pub(super) async fn report(
    State(st): State<Arc<WebState>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> Result<Response, Refused> {
    let s = coordinator(&st, &headers).await?;
    let (month, kind) = match file.rsplit_once('.') {
        Some((m, "csv")) => (m, "csv"),
        Some((m, "xlsx")) => (m, "xlsx"),
        Some(_) => return Err(Refused::NotFound(s.lang)),
        None => (file.as_str(), "html"),
    };
    let rows = match monthly_report(&st.store, month, None, st.tz).await {
        Ok(r) => r,
        Err(ReportError::Store(e)) => return Err(e.into()),
        Err(_) => return Err(Refused::NotFound(s.lang)),
    };
    let name = format!("connecting-{month}");
    match kind {
        "csv" => Ok(download(
            csv(&rows, s.lang).into_bytes(),
            "text/csv; charset=utf-8",
            &format!("{name}.csv"),
        )),
        "xlsx" => match xlsx(&rows, s.lang) {
            Ok(bytes) => Ok(download(
                bytes,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                &format!("{name}.xlsx"),
            )),
            Err(e) => {
                tracing::error!(error = %e, "console: xlsx failed");
                Ok(StatusCode::INTERNAL_SERVER_ERROR.into_response())
            }
        },
        _ => Ok(page(&s, month, &rows).into_response()),
    }
}

fn download(bytes: Vec<u8>, mime: &'static str, filename: &str) -> Response {
    let mut res = (StatusCode::OK, bytes).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

fn headers(lang: Lang) -> Vec<String> {
    HEADERS
        .iter()
        .map(|h| crate::prompts::t(lang, &format!("dispatch.report_{h}"), &[]))
        .collect()
}

const HEADERS: [&str; 10] = [
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

fn ambito_name(lang: Lang, r: &ReportRow) -> String {
    r.ambito
        .clone()
        .unwrap_or_else(|| crate::prompts::t(lang, "dispatch.report_unknown_ambito", &[]))
}

fn languages_words(lang: Lang, r: &ReportRow) -> String {
    r.languages
        .iter()
        .map(|(code, n)| format!("{} {n}", vocab::language(lang, code)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A number with a decimal comma ("12,50").
fn comma(v: f64) -> String {
    format!("{v:.2}").replace('.', ",")
}

/// The CSV for Italian spreadsheets: UTF-8 BOM, `;` between fields, decimal comma.
pub fn csv(rows: &[ReportRow], lang: Lang) -> String {
    let field = |s: &str| {
        if s.contains([';', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    };
    let mut out = String::from("\u{feff}");
    out.push_str(
        &headers(lang)
            .iter()
            .map(|h| field(h))
            .collect::<Vec<_>>()
            .join(";"),
    );
    out.push_str("\r\n");
    for r in rows {
        let cells = [
            ambito_name(lang, r),
            r.requests.to_string(),
            r.interventions_done.to_string(),
            comma(r.hours),
            languages_words(lang, r),
            r.late_cancellations.to_string(),
            r.median_minutes_to_assignment
                .map(|m| m.to_string())
                .unwrap_or_default(),
            r.escalations.to_string(),
            r.evaluations.to_string(),
            r.evaluation_average.map(comma).unwrap_or_default(),
        ];
        out.push_str(&cells.iter().map(|c| field(c)).collect::<Vec<_>>().join(";"));
        out.push_str("\r\n");
    }
    out
}

/// The workbook: one sheet, headers in bold, numbers as numbers.
pub fn xlsx(rows: &[ReportRow], lang: Lang) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let bold = Format::new().set_bold();
    let hours = Format::new().set_num_format("0.00");
    for (c, h) in headers(lang).iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, h, &bold)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = i as u32 + 1;
        sheet.write_string(row, 0, ambito_name(lang, r))?;
        sheet.write_number(row, 1, f64::from(r.requests))?;
        sheet.write_number(row, 2, f64::from(r.interventions_done))?;
        sheet.write_number_with_format(row, 3, r.hours, &hours)?;
        sheet.write_string(row, 4, languages_words(lang, r))?;
        sheet.write_number(row, 5, f64::from(r.late_cancellations))?;
        if let Some(m) = r.median_minutes_to_assignment {
            sheet.write_number(row, 6, m as f64)?;
        }
        sheet.write_number(row, 7, f64::from(r.escalations))?;
        sheet.write_number(row, 8, f64::from(r.evaluations))?;
        if let Some(a) = r.evaluation_average {
            sheet.write_number_with_format(row, 9, a, &hours)?;
        }
    }
    sheet.set_column_width(0, 28)?;
    sheet.set_column_width(4, 40)?;
    book.save_to_buffer()
}

/// A horizontal bar chart as SVG: one bar per label, the value written beside it.
fn bars(title: &str, items: &[(String, f64, String)]) -> Markup {
    let max = items.iter().map(|i| i.1).fold(0.0_f64, f64::max).max(1e-9);
    let row_h = 26;
    let height = (items.len().max(1) * row_h + 10) as i64;
    html! {
        figure.chart {
            figcaption { (title) }
            @if items.is_empty() { p { "—" } } @else {
                svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 600 " (height) } role="img" aria-label=(title) {
                    @for (i, (label, v, shown)) in items.iter().enumerate() {
                        @let y = (i * row_h + 5) as i64;
                        @let w = ((v / max) * 330.0).round().max(1.0) as i64;
                        text x="0" y=(y + 17) class="label" { (label) }
                        rect x="200" y=(y + 3) width=(w) height="18" class="bar" {}
                        text x=(205 + w) y=(y + 17) class="value" { (shown) }
                    }
                }
            }
        }
    }
}

fn page(s: &Session, month: &str, rows: &[ReportRow]) -> axum::response::Html<String> {
    let lang = s.lang;
    let hs = headers(lang);
    let mut per_language: BTreeMap<String, u32> = BTreeMap::new();
    for r in rows {
        for (code, n) in &r.languages {
            *per_language.entry(code.clone()).or_default() += n;
        }
    }
    let mut langs: Vec<(String, u32)> = per_language.into_iter().collect();
    langs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let hours: Vec<(String, f64, String)> = rows
        .iter()
        .map(|r| (ambito_name(lang, r), r.hours, comma(r.hours)))
        .collect();
    let by_language: Vec<(String, f64, String)> = langs
        .iter()
        .map(|(c, n)| (vocab::language(lang, c), f64::from(*n), n.to_string()))
        .collect();
    let to_assignment: Vec<(String, f64, String)> = rows
        .iter()
        .filter_map(|r| {
            r.median_minutes_to_assignment
                .map(|m| (ambito_name(lang, r), m as f64, m.to_string()))
        })
        .collect();
    let evaluations: Vec<(String, f64, String)> = rows
        .iter()
        .filter_map(|r| {
            r.evaluation_average
                .map(|a| (ambito_name(lang, r), a, comma(a)))
        })
        .collect();
    let title = crate::prompts::t(lang, "web.report_title", &[("month", month)]);
    let body = html! {
        p.downloads {
            a href={ "/reports/" (month) ".csv" } download { (tr(lang, "download_csv")) }
            " · "
            a href={ "/reports/" (month) ".xlsx" } download { (tr(lang, "download_xlsx")) }
        }
        @if rows.is_empty() { p { (tr(lang, "report_empty")) } } @else {
            div.table { table {
                thead { tr { @for h in &hs { th scope="col" { (h) } } } }
                tbody { @for r in rows { tr {
                    th scope="row" { (ambito_name(lang, r)) }
                    td { (r.requests) }
                    td { (r.interventions_done) }
                    td { (comma(r.hours)) }
                    td { (languages_words(lang, r)) }
                    td { (r.late_cancellations) }
                    td { (r.median_minutes_to_assignment.map(|m| m.to_string()).unwrap_or_default()) }
                    td { (r.escalations) }
                    td { (r.evaluations) }
                    td { (r.evaluation_average.map(comma).unwrap_or_default()) }
                } } }
            } }
            div.charts {
                (bars(&tr(lang, "chart_hours"), &hours))
                (bars(&tr(lang, "chart_languages"), &by_language))
                (bars(&tr(lang, "chart_assignment"), &to_assignment))
                (bars(&tr(lang, "chart_evaluations"), &evaluations))
            }
        }
    };
    layout(s, &title, "/reports", body)
}
