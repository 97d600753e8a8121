//! The report as one PDF per Ambito, ready to send: the cooperative's name
//! (`[report] cooperative_name`), the Ambito and the month, the figures one per line, the
//! comments. Written with `pdf-writer`; the text is set in DejaVu Sans (Bitstream Vera licence,
//! `assets/fonts/DejaVuSans-LICENSE.txt`), embedded in the binary, and in each PDF as a
//! TrueType CID font subset to the glyphs used (`subsetter`) with a ToUnicode map, so accents
//! print and the text can be searched and copied.

use std::collections::BTreeMap;

use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::{ReportError, ReportRow, Value, ambito_name, columns, values};
use crate::config::Lang;
use crate::prompts::t;

/// DejaVu Sans, in the binary.
static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

const PAGE_W: f32 = 595.0; // A4, points
const PAGE_H: f32 = 842.0;
const MARGIN: f32 = 56.0;

struct Writer<'f> {
    face: ttf_parser::Face<'f>,
    pages: Vec<Content>,
    y: f32,
    /// Glyphs used: id -> (advance in 1/1000 em, the character).
    used: BTreeMap<u16, (f32, char)>,
}

impl Writer<'_> {
    fn scale(&self) -> f32 {
        1000.0 / f32::from(self.face.units_per_em())
    }

    fn glyph(&mut self, c: char) -> (u16, f32) {
        let gid = self
            .face
            .glyph_index(c)
            .or_else(|| self.face.glyph_index('?'))
            .map(|g| g.0)
            .unwrap_or(0);
        let adv = self
            .face
            .glyph_hor_advance(ttf_parser::GlyphId(gid))
            .map(f32::from)
            .unwrap_or(0.0)
            * self.scale();
        self.used.entry(gid).or_insert((adv, c));
        (gid, adv)
    }

    fn width(&mut self, s: &str, size: f32) -> f32 {
        s.chars().map(|c| self.glyph(c).1).sum::<f32>() * size / 1000.0
    }

    /// `s` cut into lines no wider than `max` points at `size`.
    fn wrap(&mut self, s: &str, size: f32, max: f32) -> Vec<String> {
        let mut lines = vec![];
        let mut cur = String::new();
        for word in s.split_whitespace() {
            let candidate = if cur.is_empty() {
                word.to_string()
            } else {
                format!("{cur} {word}")
            };
            if self.width(&candidate, size) > max && !cur.is_empty() {
                lines.push(std::mem::take(&mut cur));
                cur = word.to_string();
            } else {
                cur = candidate;
            }
        }
        if !cur.is_empty() || lines.is_empty() {
            lines.push(cur);
        }
        lines
    }

    fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.y = PAGE_H - MARGIN;
    }

    /// One line of text at `x`, `size`; a new page when this one is full.
    fn line(&mut self, x: f32, size: f32, s: &str) {
        let lead = size * 1.4;
        if self.y - lead < MARGIN {
            self.new_page();
        }
        self.y -= lead;
        let mut bytes = Vec::with_capacity(s.len() * 2);
        for c in s.chars() {
            let (gid, _) = self.glyph(c);
            bytes.extend_from_slice(&gid.to_be_bytes());
        }
        let y = self.y;
        if let Some(page) = self.pages.last_mut() {
            page.begin_text();
            page.set_font(Name(b"F1"), size);
            page.next_line(x, y);
            page.show(Str(&bytes));
            page.end_text();
        }
    }

    fn paragraph(&mut self, x: f32, size: f32, s: &str) {
        for l in self.wrap(s, size, PAGE_W - MARGIN - x) {
            self.line(x, size, &l);
        }
    }

    fn gap(&mut self, points: f32) {
        self.y -= points;
    }
}

/// The PDF of one Ambito's month; `month` is YYYY-MM.
pub fn pdf(
    row: &ReportRow,
    lang: Lang,
    month: &str,
    cooperative: &str,
) -> Result<Vec<u8>, ReportError> {
    let face = ttf_parser::Face::parse(FONT, 0)
        .map_err(|e| ReportError::Pdf(format!("embedded font: {e}")))?;
    let mut w = Writer {
        face,
        pages: vec![],
        y: 0.0,
        used: BTreeMap::new(),
    };
    w.new_page();
    let ambito = ambito_name(lang, row);
    let title = t(
        lang,
        "dispatch.report_pdf_title",
        &[
            ("ambito", &ambito),
            ("month", &super::month_words(lang, month)),
        ],
    );
    w.paragraph(MARGIN, 16.0, cooperative);
    w.gap(4.0);
    w.paragraph(MARGIN, 13.0, &title);
    w.gap(10.0);
    let headers = columns(lang);
    for (h, v) in headers.iter().zip(values(lang, row)).skip(1) {
        let shown = match v {
            Value::Pending => t(lang, "dispatch.report_not_available", &[]),
            Value::Empty => "—".to_string(),
            v => v.text(lang),
        };
        w.paragraph(MARGIN, 10.5, &format!("{h}: {shown}"));
    }
    w.gap(10.0);
    w.paragraph(MARGIN, 12.0, &t(lang, "dispatch.report_comments", &[]));
    if row.comments.is_empty() {
        w.paragraph(
            MARGIN + 12.0,
            10.5,
            &t(lang, "dispatch.report_no_comments", &[]),
        );
    }
    for c in &row.comments {
        w.paragraph(MARGIN + 12.0, 10.5, &format!("– {c}"));
    }
    assemble(w, &title, cooperative)
}

fn assemble(w: Writer<'_>, title: &str, author: &str) -> Result<Vec<u8>, ReportError> {
    // Only the glyphs used (and .notdef) go into the PDF: ids are kept, so CID = glyph id.
    let mut glyphs: Vec<u16> = w.used.keys().copied().collect();
    glyphs.push(0);
    let font = subsetter::subset(FONT, 0, subsetter::Profile::pdf(&glyphs))
        .map_err(|e| ReportError::Pdf(format!("font subset: {e}")))?;
    let mut pdf = Pdf::new();
    let catalog = Ref::new(1);
    let tree = Ref::new(2);
    let info = Ref::new(3);
    let type0 = Ref::new(4);
    let cid = Ref::new(5);
    let descriptor = Ref::new(6);
    let file = Ref::new(7);
    let cmap_id = Ref::new(8);
    let first_page = 9;
    let page_ids: Vec<Ref> = (0..w.pages.len())
        .map(|i| Ref::new(first_page + 2 * i as i32))
        .collect();

    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(page_ids.len() as i32);
    pdf.document_info(info)
        .title(TextStr(title))
        .author(TextStr(author))
        .producer(TextStr("connecting"));

    // A subset font's name carries a six-letter tag.
    let name = Name(b"CNNCTG+DejaVuSans");
    pdf.type0_font(type0)
        .base_font(name)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap_id);
    let system = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };
    {
        let mut font = pdf.cid_font(cid);
        font.subtype(CidFontType::Type2)
            .base_font(name)
            .system_info(system)
            .font_descriptor(descriptor)
            .default_width(0.0)
            .cid_to_gid_map_predefined(Name(b"Identity"));
        let mut widths = font.widths();
        for (gid, (adv, _)) in &w.used {
            widths.consecutive(*gid, [*adv]);
        }
        widths.finish();
    }
    let s = w.scale();
    let bbox = w.face.global_bounding_box();
    pdf.font_descriptor(descriptor)
        .name(name)
        .flags(FontFlags::NON_SYMBOLIC)
        .bbox(Rect::new(
            f32::from(bbox.x_min) * s,
            f32::from(bbox.y_min) * s,
            f32::from(bbox.x_max) * s,
            f32::from(bbox.y_max) * s,
        ))
        .italic_angle(0.0)
        .ascent(f32::from(w.face.ascender()) * s)
        .descent(f32::from(w.face.descender()) * s)
        .cap_height(f32::from(w.face.capital_height().unwrap_or(w.face.ascender())) * s)
        .stem_v(80.0)
        .font_file2(file);
    pdf.stream(file, &font)
        .pair(Name(b"Length1"), font.len() as i32);
    let mut cmap = UnicodeCmap::new(Name(b"Connecting-UTF16"), system);
    for (gid, (_, c)) in &w.used {
        cmap.pair(*gid, *c);
    }
    pdf.cmap(cmap_id, &cmap.finish());

    for (i, content) in w.pages.into_iter().enumerate() {
        let page_id = page_ids[i];
        let content_id = Ref::new(page_id.get() + 1);
        let mut page = pdf.page(page_id);
        page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H))
            .parent(tree)
            .contents(content_id);
        page.resources().fonts().pair(Name(b"F1"), type0);
        page.finish();
        pdf.stream(content_id, &content.finish());
    }
    Ok(pdf.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::report::build;
    use crate::store::ReportRecord;

    #[test]
    fn long_comments_wrap_and_flow_onto_more_pages() {
        let records: Vec<ReportRecord> = (0..60)
            .map(|i| ReportRecord {
                ambito: Some("Dalmine".into()),
                status: "done".into(),
                language: Some("ar".into()),
                created_at: 0,
                assigned_at: Some(600),
                escalated_at: None,
                late_cancellation: false,
                done_minutes: Some(60),
                evaluation: Some(4),
                evaluation_comment: Some(format!(
                    "Commento {i}: la mediatrice è stata puntuale, chiara e attenta alla famiglia, \
                     anche quando il colloquio è durato più del previsto per via dei documenti"
                )),
                no_show: false,
                no_show_by: vec![],
                verified_minutes: 0,
                disputed_minutes: 0,
                checked_minutes: 0,
                scores: vec![],
                series_meetings: None,
            })
            .collect();
        let rows = build(&records, None);
        let bytes = pdf(&rows[0], Lang::It, "2027-03", "Cooperativa Società").unwrap();
        let raw = String::from_utf8_lossy(&bytes);
        let pages = raw
            .split("/Count ")
            .nth(1)
            .and_then(|s| s.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap();
        assert!(pages >= 3, "{pages} pages");
        // The subset font, not the whole of DejaVu Sans.
        assert!(raw.contains("/FontFile2") && bytes.len() < FONT.len() / 4);
        let text = pdf_extract::extract_text_from_mem(&bytes).unwrap();
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flat.contains("Cooperativa Società"), "{flat}");
        assert!(flat.contains("Ore non verificate: 60,00"), "{flat}");
        // Each comment whole, across line ends, the last one included.
        for i in [0, 59] {
            assert!(
                flat.contains(&format!(
                    "Commento {i}: la mediatrice è stata puntuale, chiara e attenta alla famiglia, \
                     anche quando il colloquio è durato più del previsto per via dei documenti"
                )),
                "{i}: {flat}"
            );
        }
    }
}
