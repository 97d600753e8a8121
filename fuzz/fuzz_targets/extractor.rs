//! Fuzz target: arbitrary UTF-8 text through the extractor (extract, answer/merge, JSON view),
//! the text helpers (folding, HTML to text) and the public Italian date helpers, with a fixed "now".
#![no_main]

use chrono::{Datelike, Duration, TimeZone, Utc, Weekday};
use connecting::domain::Channel;
use connecting::extract::{self, Context, dates, fold, text};
use libfuzzer_sys::fuzz_target;

const FIELDS: &[&str] = &[
    "language",
    "date",
    "start",
    "time",
    "deadline",
    "place",
    "comune",
    "intervention",
    "modality",
    "other",
];

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let Some(now) = Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).single() else {
        return;
    };
    let first = data.first().copied().unwrap_or(0);
    let channel = if first & 1 == 0 {
        Channel::Telegram
    } else {
        Channel::Email
    };
    let ctx = Context::new(now, channel);

    let draft = extract::extract(s, &ctx);
    let _ = extract::to_parse_json(&draft);

    // A dialogue answer: the second half of the text answers a question on the first half's draft.
    if first & 2 == 2 {
        let mut cut = s.len() / 2;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        let (a, b) = s.split_at(cut);
        let base = extract::extract(a, &ctx);
        let field = FIELDS[usize::from(first >> 2) % FIELDS.len()];
        let answered = extract::answer(&base, field, b, &ctx);
        let _ = extract::to_parse_json(&answered);
        let _ = extract::merge(&draft, &answered, &ctx);
    }

    // Text helpers.
    let folded = fold::Folded::new(s);
    let n = folded.text.len();
    let _ = folded.slice(s, n / 3, n / 2);
    let _ = fold::fold(s);
    let _ = text::html_to_text(s);
    let _ = dates::part_range(s);

    // Date helpers, with numbers taken from the first bytes and "today" near the fixed now.
    let b = |i: usize| u32::from(data.get(i).copied().unwrap_or(0));
    let today = now.date_naive() + Duration::days(i64::from(b(1) << 8 | b(2)) - 32_768);
    let _ = dates::next_day_month(today, b(3), b(4));
    let wd = Weekday::try_from((b(5) % 7) as u8).unwrap_or(Weekday::Mon);
    let next = dates::next_weekday(today, wd);
    let _ = dates::weekday_name(next.weekday());
    let _ = dates::fmt_date(next);
    let _ = dates::holiday(today);
    let year = today.year() + (b(6) as i32) - 128;
    if let Some(e) = dates::easter(year) {
        let _ = dates::holiday(e);
    }
});
