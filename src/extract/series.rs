//! A series of appointments in a request's words ("ogni martedì dalle 15 alle 16 dal 9 marzo
//! per 8 settimane", "con cadenza quindicinale fino a giugno"): the cadence (weekly or
//! fortnightly), the weekday, and the end (a count of meetings or weeks, or a last day or
//! month). Runs on the folded text before the date scan, and gives it the spans it used so the
//! rule's weekday and end are not read as the appointment's date. The first day and the time
//! are the request's own date and time. Pure.

use chrono::{Datelike, NaiveDate, Weekday};
use regex::Regex;
use std::sync::LazyLock;

use super::dates::{month_of, number_word, re, weekday_of};
use crate::domain::series::SeriesEnd;

/// What the text says about a series.
#[derive(Debug, Clone, Default)]
pub struct SeriesHit {
    /// 1 (weekly) or 2 (fortnightly); `None`: no cadence, so no series.
    pub freq_weeks: Option<u32>,
    /// The weekday the cadence names ("ogni martedì"), or the one a bare "il giovedì" names.
    pub weekday: Option<Weekday>,
    /// How it ends, when said (read even without a cadence: an answer "per 8 settimane").
    pub end: Option<SeriesEnd>,
    /// A count in weeks ("per 8 settimane"): the meetings are the weeks over the cadence.
    pub weeks: Option<u32>,
    /// "per tre mesi": months from the first meeting (the caller knows that day).
    pub months: Option<u32>,
    /// The byte spans the series used (cadence, weekdays that are not dates, the end).
    pub spans: Vec<(usize, usize)>,
}

const WEEKDAYS: &str =
    r"(lunedi|martedi|mercoledi|giovedi|venerdi|sabato|sabati|domenica|domeniche)";
const MONTHS: &str = r"(gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|novembre|dicembre)";

static WEEKLY_DAY: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"\b(?:ogni|tutti\s+i|tutte\s+le|ogni\s+settimana,?\s+(?:il|di))\s+{WEEKDAYS}\b"
    ))
});
static FORTNIGHTLY_DAY: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"\b(?:ogni\s+altro|un\s+|una\s+)?{WEEKDAYS}\s+(?:si\s+e\s+(?:uno|una)\s+no|ogni\s+due\s+settimane|ogni\s+2\s+settimane)\b"
    ))
});
static WEEKLY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:(?:a|con)\s+cadenza\s+settimanale|settimanal[ei]|una\s+volta\s+(?:a|alla|la)\s+settimana)\b",
    )
});
static FORTNIGHTLY: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"\b(?:(?:a|con)\s+cadenza\s+quindicinale|quindicinal[ei]|ogni\s+(?:due|2)\s+settimane|ogni\s+(?:quindici|15)\s+giorni|a\s+settimane\s+alterne)\b",
    )
});
/// A weekday word not followed by a day number ("il giovedì alle 10", not "giovedì 11 marzo").
static BARE_DAY: LazyLock<Regex> =
    LazyLock::new(|| re(&format!(r"\b(?:(?:il|di|i|le)\s+)?{WEEKDAYS}\b(\s*\d)?")));
static COUNT: LazyLock<Regex> = LazyLock::new(|| {
    re(r"\bper\s+(\d{1,3}|[a-z]+)\s+(settimane|incontri|appuntamenti|sedute|volte|colloqui)\b")
});
static UNTIL_MONTH: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"\bfino\s+(?:a\s+fine\s+|alla\s+fine\s+di\s+|a\s+|ad\s+)?{MONTHS}\b(?:\s+(\d{{4}}))?"
    ))
});
/// "dal 4 marzo al 29 aprile": the second day is the end (the first is the date's).
static UNTIL_RANGE: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"\bdal?l?'?\s*\d{{1,2}}(?:\s+{MONTHS}|[/.-]\d{{1,2}})(?:[/.-]\d{{2,4}})?\s+(?P<end>(?:al|all'|a)\s*(?P<day>\d{{1,2}})(?:\s+(?P<month>{MONTHS})|[/.-](?P<num>\d{{1,2}})))"
    ))
});
/// "8 incontri settimanali": a count without "per".
static BARE_COUNT: LazyLock<Regex> =
    LazyLock::new(|| re(r"\b(\d{1,3})\s+(?:incontri|appuntamenti|sedute)\b"));
/// "per tre mesi": months from the first meeting.
static MONTHS_COUNT: LazyLock<Regex> =
    LazyLock::new(|| re(r"\bper\s+(\d{1,2}|[a-z]+)\s+mes[ei]\b"));
static UNTIL_DAY: LazyLock<Regex> = LazyLock::new(|| {
    re(&format!(
        r"\bfino\s+(?:al|all'|a)\s*(\d{{1,2}})(?:\s+{MONTHS}|[/.-](\d{{1,2}}))(?:(?:\s+|[/.-])(\d{{2,4}}))?"
    ))
});

fn year_of(text: Option<&str>, month: u32, day: u32, today: NaiveDate) -> Option<i32> {
    match text {
        Some(y) if y.len() == 4 => y.parse().ok(),
        Some(y) => y.parse::<i32>().ok().map(|y| 2000 + y),
        None => {
            // the next such day: this year unless it is already past
            let this = NaiveDate::from_ymd_opt(today.year(), month, day.min(28))?;
            Some(if this < today.with_day(1)? {
                today.year() + 1
            } else {
                today.year()
            })
        }
    }
}

fn last_day(year: i32, month: u32) -> Option<NaiveDate> {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)?.pred_opt()
}

fn overlaps(spans: &[(usize, usize)], s: usize, e: usize) -> bool {
    spans.iter().any(|&(a, b)| s < b && a < e)
}

/// Reads the series of `f` (folded text), `today` for the year of a month without one.
/// `taken`: spans already used (addresses, phones), never read.
pub fn scan(f: &str, today: NaiveDate, taken: &[(usize, usize)]) -> SeriesHit {
    let mut hit = SeriesHit::default();
    let free = |s: usize, e: usize| !overlaps(taken, s, e);
    let cadence = |h: &mut SeriesHit, r: &Regex, freq: u32, with_day: bool| {
        for c in r.captures_iter(f) {
            let Some(m) = c.get(0) else { continue };
            if !free(m.start(), m.end()) {
                continue;
            }
            if h.freq_weeks.is_none() {
                h.freq_weeks = Some(freq);
            }
            if with_day
                && h.weekday.is_none()
                && let Some(w) = c.get(1)
            {
                h.weekday = weekday_of(w.as_str());
            }
            h.spans.push((m.start(), m.end()));
        }
    };
    cadence(&mut hit, &FORTNIGHTLY_DAY, 2, true);
    cadence(&mut hit, &FORTNIGHTLY, 2, false);
    cadence(&mut hit, &WEEKLY_DAY, 1, true);
    cadence(&mut hit, &WEEKLY, 1, false);

    // The end.
    if let Some(c) = COUNT.captures(f)
        && let (Some(m), Some(n), Some(unit)) = (c.get(0), c.get(1), c.get(2))
        && free(m.start(), m.end())
        && let Some(n) = number_word(n.as_str()).filter(|n| (1..=104).contains(n))
    {
        if unit.as_str() == "settimane" {
            hit.weeks = Some(n);
        }
        hit.end = Some(SeriesEnd::Count(n));
        hit.spans.push((m.start(), m.end()));
    }
    if hit.end.is_none()
        && let Some(c) = UNTIL_DAY.captures(f)
        && let Some(m) = c.get(0)
        && free(m.start(), m.end())
    {
        let day: Option<u32> = c.get(1).and_then(|d| d.as_str().parse().ok());
        let month = c
            .get(2)
            .and_then(|m| month_of(m.as_str()))
            .or_else(|| c.get(3).and_then(|m| m.as_str().parse().ok()));
        if let (Some(day), Some(month)) = (day, month)
            && let Some(year) = year_of(c.get(4).map(|y| y.as_str()), month, day, today)
            && let Some(last) = NaiveDate::from_ymd_opt(year, month, day)
        {
            hit.end = Some(SeriesEnd::Until(last));
            hit.spans.push((m.start(), m.end()));
        }
    }
    if hit.end.is_none()
        && let Some(c) = UNTIL_RANGE.captures(f)
        && let Some(m) = c.name("end")
        && free(m.start(), m.end())
    {
        let day: Option<u32> = c.name("day").and_then(|d| d.as_str().parse().ok());
        let month = c
            .name("month")
            .and_then(|m| month_of(m.as_str()))
            .or_else(|| c.name("num").and_then(|m| m.as_str().parse().ok()));
        if let (Some(day), Some(month)) = (day, month)
            && let Some(year) = year_of(None, month, day, today)
            && let Some(last) = NaiveDate::from_ymd_opt(year, month, day)
        {
            hit.end = Some(SeriesEnd::Until(last));
            hit.spans.push((m.start(), m.end()));
        }
    }
    if hit.end.is_none()
        && let Some(c) = MONTHS_COUNT.captures(f)
        && let (Some(m), Some(n)) = (c.get(0), c.get(1))
        && free(m.start(), m.end())
        && let Some(n) = number_word(n.as_str()).filter(|n| (1..=24).contains(n))
    {
        hit.months = Some(n);
        hit.spans.push((m.start(), m.end()));
    }
    if hit.end.is_none()
        && let Some(c) = UNTIL_MONTH.captures(f)
        && let Some(m) = c.get(0)
        && free(m.start(), m.end())
        && let Some(month) = c.get(1).and_then(|m| month_of(m.as_str()))
        && let Some(year) = year_of(c.get(2).map(|y| y.as_str()), month, 28, today)
        && let Some(last) = last_day(year, month)
    {
        hit.end = Some(SeriesEnd::Until(last));
        hit.spans.push((m.start(), m.end()));
    }

    if hit.end.is_none()
        && hit.freq_weeks.is_some()
        && let Some(c) = BARE_COUNT.captures(f)
        && let (Some(m), Some(n)) = (c.get(0), c.get(1))
        && free(m.start(), m.end())
        && let Some(n) = n
            .as_str()
            .parse::<u32>()
            .ok()
            .filter(|n| (2..=104).contains(n))
    {
        hit.end = Some(SeriesEnd::Count(n));
        hit.spans.push((m.start(), m.end()));
    }
    if let (Some(weeks), Some(freq)) = (hit.weeks, hit.freq_weeks) {
        hit.end = Some(SeriesEnd::Count(weeks.div_ceil(freq)));
    }
    if hit.freq_weeks.is_none() {
        // Without a cadence the text is not a series: nothing is taken from the date scan.
        hit.spans.clear();
        return hit;
    }
    // A weekday that is not a date ("il giovedì alle 10") is the rule's, not the appointment.
    for c in BARE_DAY.captures_iter(f) {
        let (Some(m), Some(w)) = (c.get(0), c.get(1)) else {
            continue;
        };
        if c.get(2).is_some()
            || overlaps(&hit.spans, m.start(), m.end())
            || !free(m.start(), m.end())
        {
            continue;
        }
        let wd = weekday_of(w.as_str());
        if hit.weekday.is_none() {
            hit.weekday = wd;
        }
        if wd == hit.weekday {
            hit.spans.push((m.start(), w.end()));
        }
    }
    hit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_compile_and_read_the_issue_s_phrasings() {
        let today = NaiveDate::from_ymd_opt(2027, 3, 1).unwrap();
        let h = scan(
            "ogni martedi dalle 15 alle 16 dal 9 marzo per 8 settimane",
            today,
            &[],
        );
        assert_eq!(h.freq_weeks, Some(1));
        assert_eq!(h.weekday, Some(Weekday::Tue));
        assert_eq!(h.end, Some(SeriesEnd::Count(8)));
        let h = scan(
            "con cadenza quindicinale fino a giugno, il giovedi alle 10",
            today,
            &[],
        );
        assert_eq!(h.freq_weeks, Some(2));
        assert_eq!(h.weekday, Some(Weekday::Thu));
        assert_eq!(
            h.end,
            Some(SeriesEnd::Until(
                NaiveDate::from_ymd_opt(2027, 6, 30).unwrap()
            ))
        );
        let h = scan("martedi 9 marzo alle 15", today, &[]);
        assert!(h.freq_weeks.is_none() && h.spans.is_empty());
    }
}
