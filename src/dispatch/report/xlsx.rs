//! The report as a workbook: a summary sheet (one row per Ambito), then one sheet per Ambito
//! (its figures one per row, then the comments); numbers as numbers, hours and averages with
//! two decimals.

use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use super::{ReportRow, Value, ambito_name, columns, values};
use crate::config::Lang;
use crate::prompts::t;

fn write(
    sheet: &mut Worksheet,
    row: u32,
    col: u16,
    v: &Value,
    two: &Format,
) -> Result<(), XlsxError> {
    match v {
        Value::Text(s) => {
            sheet.write_string(row, col, s)?;
        }
        Value::Count(n) => {
            sheet.write_number(row, col, f64::from(*n))?;
        }
        Value::Number(x) => {
            sheet.write_number_with_format(row, col, *x, two)?;
        }
        Value::Empty | Value::Pending => {}
    }
    Ok(())
}

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`, unique in the book.
fn sheet_name(name: &str, used: &mut Vec<String>) -> String {
    let clean: String = name
        .chars()
        .map(|c| if "[]:*?/\\".contains(c) { '-' } else { c })
        .collect();
    let clean = clean.trim_matches('\'').to_string();
    let base: String = clean.chars().take(28).collect();
    let mut candidate = base.clone();
    let mut n = 2;
    while used.iter().any(|u| u.eq_ignore_ascii_case(&candidate)) {
        candidate = format!("{base} {n}");
        n += 1;
    }
    used.push(candidate.clone());
    candidate
}

/// The workbook's bytes; `month` (YYYY-MM) titles the sheets.
pub fn xlsx(rows: &[ReportRow], lang: Lang, month: &str) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let two = Format::new().set_num_format("0.00");
    let headers = columns(lang);
    let mut used = vec![];
    let summary_name = sheet_name(&t(lang, "dispatch.report_summary", &[]), &mut used);
    {
        let sheet = book.add_worksheet();
        sheet.set_name(&summary_name)?;
        for (c, h) in headers.iter().enumerate() {
            sheet.write_string_with_format(0, c as u16, h, &bold)?;
        }
        for (i, r) in rows.iter().enumerate() {
            for (c, v) in values(lang, r).iter().enumerate() {
                write(sheet, i as u32 + 1, c as u16, v, &two)?;
            }
        }
        sheet.set_column_width(0, 28)?;
        sheet.set_column_width(6, 40)?;
    }
    for r in rows {
        let name = sheet_name(&ambito_name(lang, r), &mut used);
        let sheet = book.add_worksheet();
        sheet.set_name(&name)?;
        sheet.write_string_with_format(
            0,
            0,
            t(
                lang,
                "dispatch.report_pdf_title",
                &[
                    ("ambito", &ambito_name(lang, r)),
                    ("month", &super::month_words(lang, month)),
                ],
            ),
            &bold,
        )?;
        // Skip the Ambito itself: the sheet is named after it.
        let vals = values(lang, r);
        for (i, (h, v)) in headers.iter().zip(vals.iter()).enumerate().skip(1) {
            let row = i as u32 + 1;
            sheet.write_string(row, 0, h)?;
            write(sheet, row, 1, v, &two)?;
        }
        let mut row = headers.len() as u32 + 2;
        sheet.write_string_with_format(row, 0, t(lang, "dispatch.report_comments", &[]), &bold)?;
        for c in &r.comments {
            row += 1;
            sheet.write_string(row, 0, c)?;
        }
        sheet.set_column_width(0, 40)?;
        sheet.set_column_width(1, 40)?;
    }
    book.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_short_clean_and_unique() {
        let mut used = vec![];
        let long = sheet_name("Isola Bergamasca e Bassa Val San Martino", &mut used);
        assert_eq!(long, "Isola Bergamasca e Bassa Val");
        assert!(long.chars().count() <= 31);
        assert_eq!(
            sheet_name("Isola Bergamasca e Bassa Val San Martino", &mut used),
            "Isola Bergamasca e Bassa Val 2"
        );
        assert_eq!(sheet_name("a/b [c]?", &mut used), "a-b -c--");
        assert_eq!(sheet_name("'quoted'", &mut used), "quoted");
        assert_eq!(
            sheet_name("Valle Imagna e Villa d'Almè", &mut used),
            "Valle Imagna e Villa d'Almè"
        );
    }
}
