//! `/reports/YYYY-MM`: the month's figures per Ambito (from [`crate::dispatch::report`]) with
//! charts drawn on the server as SVG (hours per Ambito, requests per language, time to
//! assignment, evaluations), and the downloads `/reports/YYYY-MM.csv` (for Italian
//! spreadsheets: `;` separator, decimal comma, UTF-8 BOM) and `/reports/YYYY-MM.xlsx` (a
//! summary sheet and one per Ambito), rendered by the same model as `connecting report`.
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
use crate::dispatch::report::{
    self, ReportError, ReportRow, ambito_name, columns, monthly_report, values,
};
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
            report::csv::csv(&rows, s.lang).into_bytes(),
            "text/csv; charset=utf-8",
            &format!("{name}.csv"),
        )),
        "xlsx" => match report::xlsx::xlsx(&rows, s.lang, month) {
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

fn comma(v: f64) -> String {
    report::decimal(v, Lang::It)
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
    let hs = columns(lang);
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
        .map(|r| {
            (
                ambito_name(lang, r),
                r.hours_total(),
                comma(r.hours_total()),
            )
        })
        .collect();
    let by_language: Vec<(String, f64, String)> = langs
        .iter()
        .map(|(c, n)| (vocab::language(lang, c), f64::from(*n), n.to_string()))
        .collect();
    let to_assignment: Vec<(String, f64, String)> = rows
        .iter()
        .filter_map(|r| {
            r.median_minutes_to_assignment
                .map(|m| (ambito_name(lang, r), m, comma(m)))
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
                    @for (i, v) in values(lang, r).iter().enumerate() {
                        @if i == 0 { th scope="row" { (v.text(lang)) } } @else { td { (v.text(lang)) } }
                    }
                } } }
            } }
            div.charts {
                (bars(&tr(lang, "chart_hours"), &hours))
                (bars(&tr(lang, "chart_languages"), &by_language))
                (bars(&tr(lang, "chart_assignment"), &to_assignment))
                (bars(&tr(lang, "chart_evaluations"), &evaluations))
            }
            @for r in rows.iter().filter(|r| !r.comments.is_empty()) {
                section.comments {
                    h2 { (crate::prompts::t(lang, "dispatch.report_comments_of", &[("ambito", &ambito_name(lang, r))])) }
                    ul { @for c in &r.comments { li { (c) } } }
                }
            }
        }
    };
    layout(s, &title, "/reports", body)
}
