//! A mediator's weekly availability: when they can be offered a job.
//!
//! The grammar is what a coordinator types in `connecting mediator add --availability ...`:
//!
//! ```text
//! lun-ven 08:00-18:00
//! lun,mer 09:00-13:00; gio 14:00-18:00
//! lunedì-venerdì 08:30-12:30,14:00-18:00; sab 09-12; tranne 2027-04-05, 2027-08-01..2027-08-20
//! ```
//!
//! Clauses are separated by `;`. A clause is either days followed by time windows, or
//! `tranne` (also `eccetto`, `escluso`, `except`) followed by dates or inclusive date ranges on
//! which the mediator is not available. Days are Italian names or abbreviations, with or without
//! accents, as a list (`lun,mer`) or a range (`lun-ven`, `ven-lun` wraps). Times are `HH:MM`,
//! `HH.MM` or `HH`; `24:00` closes a day. An empty text (or `sempre`) means available at any time
//! (exceptions still apply). `Display` writes the canonical form, which parses back to the same
//! value.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Timelike};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::ParseError;
use super::ambito::fold;

const DAY_ABBR: [&str; 7] = ["lun", "mar", "mer", "gio", "ven", "sab", "dom"];
const DAY_FULL: [&str; 7] = [
    "lunedi",
    "martedi",
    "mercoledi",
    "giovedi",
    "venerdi",
    "sabato",
    "domenica",
];
const EXCEPT_WORDS: [&str; 4] = ["tranne", "eccetto", "escluso", "except"];
const MINUTES_PER_DAY: u32 = 24 * 60;

/// Days of the week plus the time windows that apply to them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyRule {
    /// Bit 0 = Monday ... bit 6 = Sunday.
    days: u8,
    /// Minutes since local midnight, `start < end <= 1440`, sorted, not overlapping.
    windows: Vec<(u16, u16)>,
}

/// A mediator's weekly availability and the dates they are away.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Availability {
    rules: Vec<WeeklyRule>,
    /// Inclusive date ranges (a single date is `(d, d)`).
    exceptions: Vec<(NaiveDate, NaiveDate)>,
}

fn err(value: &str, expected: &str) -> ParseError {
    ParseError::new("availability", value, expected)
}

fn parse_day(s: &str) -> Result<u8, ParseError> {
    let f = fold(s);
    DAY_ABBR
        .iter()
        .zip(DAY_FULL.iter())
        .position(|(a, full)| f == *a || f == *full)
        .map(|i| i as u8)
        .ok_or_else(|| {
            err(
                s,
                "a day of the week: lun, mar, mer, gio, ven, sab, dom (or the full name, e.g. lunedì)",
            )
        })
}

fn parse_days(s: &str) -> Result<u8, ParseError> {
    let mut mask = 0u8;
    for item in s.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(err(s, "days separated by commas, e.g. lun,mer or lun-ven"));
        }
        match item.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (parse_day(a.trim())?, parse_day(b.trim())?);
                let mut d = a;
                loop {
                    mask |= 1 << d;
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => mask |= 1 << parse_day(item)?,
        }
    }
    Ok(mask)
}

fn parse_time(s: &str, whole: &str) -> Result<u16, ParseError> {
    let expected = "a time like 08:00, 8.30 or 14 (24:00 at most)";
    let t = s.trim();
    let (h, m) = match t.split_once([':', '.']) {
        Some((h, m)) => (h, m),
        None => (t, "0"),
    };
    let digits = |x: &str| !x.is_empty() && x.len() <= 2 && x.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) {
        return Err(err(whole, expected));
    }
    let h: u16 = h.parse().map_err(|_| err(whole, expected))?;
    let m: u16 = m.parse().map_err(|_| err(whole, expected))?;
    if m >= 60 || h > 24 || (h == 24 && m > 0) {
        return Err(err(whole, expected));
    }
    Ok(h * 60 + m)
}

fn parse_windows(s: &str) -> Result<Vec<(u16, u16)>, ParseError> {
    let expected = "time windows like 08:00-18:00 or 09:00-13:00,14:00-18:00";
    let mut out = Vec::new();
    for w in s.split(',').map(str::trim) {
        let (a, b) = w.split_once('-').ok_or_else(|| err(s, expected))?;
        let (a, b) = (parse_time(a, s)?, parse_time(b, s)?);
        if a >= b {
            return Err(err(
                s,
                "a window that ends after it starts (08:00-18:00); a night across midnight is two clauses",
            ));
        }
        out.push((a, b));
    }
    out.sort_unstable();
    // Merge overlapping or touching windows so equal availabilities compare equal.
    let mut merged: Vec<(u16, u16)> = Vec::with_capacity(out.len());
    for (a, b) in out {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    Ok(merged)
}

fn parse_date(s: &str, whole: &str) -> Result<NaiveDate, ParseError> {
    let t = s.trim();
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(t, "%d/%m/%Y"))
        .map_err(|_| {
            err(
                whole,
                "dates like 2027-04-05 or 05/04/2027, or ranges like 2027-08-01..2027-08-20",
            )
        })
}

fn parse_exceptions(s: &str) -> Result<Vec<(NaiveDate, NaiveDate)>, ParseError> {
    let mut out = Vec::new();
    for item in s.split(',').map(str::trim) {
        let range = match item.split_once("..") {
            Some((a, b)) => (parse_date(a, s)?, parse_date(b, s)?),
            None => {
                let d = parse_date(item, s)?;
                (d, d)
            }
        };
        if range.0 > range.1 {
            return Err(err(
                s,
                "a date range whose first date is not after its last",
            ));
        }
        out.push(range);
    }
    Ok(out)
}

fn fmt_time(m: u16) -> String {
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn fmt_days(mask: u8) -> String {
    let mut parts = Vec::new();
    let mut d = 0u8;
    while d < 7 {
        if mask & (1 << d) == 0 {
            d += 1;
            continue;
        }
        let start = d;
        while d + 1 < 7 && mask & (1 << (d + 1)) != 0 {
            d += 1;
        }
        match d - start {
            0 => parts.push(DAY_ABBR[start as usize].to_string()),
            1 => {
                parts.push(DAY_ABBR[start as usize].to_string());
                parts.push(DAY_ABBR[d as usize].to_string());
            }
            _ => parts.push(format!(
                "{}-{}",
                DAY_ABBR[start as usize], DAY_ABBR[d as usize]
            )),
        }
        d += 1;
    }
    parts.join(",")
}

impl Availability {
    /// Available at any time, no exceptions.
    pub fn always() -> Self {
        Self::default()
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let mut out = Availability::default();
        for clause in s.split(';').map(str::trim).filter(|c| !c.is_empty()) {
            let (head, rest) = match clause.split_once(char::is_whitespace) {
                Some((h, r)) => (h, r.trim()),
                None => (clause, ""),
            };
            let head_folded = fold(head);
            if EXCEPT_WORDS.contains(&head_folded.as_str()) {
                if rest.is_empty() {
                    return Err(err(clause, "dates after 'tranne', e.g. tranne 2027-04-05"));
                }
                out.exceptions.extend(parse_exceptions(rest)?);
                continue;
            }
            if head_folded == "sempre" && rest.is_empty() {
                continue;
            }
            if rest.is_empty() {
                return Err(err(
                    clause,
                    "days followed by time windows, e.g. lun-ven 08:00-18:00",
                ));
            }
            // Days may be written with spaces around commas or dashes ("lun - ven"): the windows
            // are the last whitespace-separated token group starting with a digit.
            let split_at = clause
                .char_indices()
                .find(|(i, c)| c.is_ascii_digit() && clause[..*i].ends_with(char::is_whitespace))
                .map(|(i, _)| i)
                .ok_or_else(|| {
                    err(
                        clause,
                        "days followed by time windows, e.g. lun-ven 08:00-18:00",
                    )
                })?;
            let days_part: String = clause[..split_at].split_whitespace().collect();
            let windows_part: String = clause[split_at..].split_whitespace().collect();
            let days = parse_days(&days_part)?;
            let windows = parse_windows(&windows_part)?;
            out.rules.push(WeeklyRule { days, windows });
        }
        out.exceptions.sort_unstable();
        out.exceptions.dedup();
        Ok(out)
    }

    /// True when no weekly rule restricts the times (exceptions may still apply).
    pub fn is_any_time(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether the mediator is away on `date` (an exception).
    pub fn is_excepted(&self, date: NaiveDate) -> bool {
        self.exceptions
            .iter()
            .any(|(a, b)| *a <= date && date <= *b)
    }

    /// Merged windows (minutes since midnight) for one weekday, 0 = Monday.
    fn day_windows(&self, weekday: u8) -> Vec<(u32, u32)> {
        if self.rules.is_empty() {
            return vec![(0, MINUTES_PER_DAY)];
        }
        let mut all: Vec<(u32, u32)> = self
            .rules
            .iter()
            .filter(|r| r.days & (1 << weekday) != 0)
            .flat_map(|r| {
                r.windows
                    .iter()
                    .map(|(a, b)| (u32::from(*a), u32::from(*b)))
            })
            .collect();
        all.sort_unstable();
        let mut merged: Vec<(u32, u32)> = Vec::with_capacity(all.len());
        for (a, b) in all {
            match merged.last_mut() {
                Some(last) if a <= last.1 => last.1 = last.1.max(b),
                _ => merged.push((a, b)),
            }
        }
        merged
    }

    fn covers_on(&self, date: NaiveDate, from: u32, to: u32) -> bool {
        if self.is_excepted(date) {
            return false;
        }
        let wd = date.weekday().num_days_from_monday() as u8;
        self.day_windows(wd)
            .iter()
            .any(|(a, b)| *a <= from && to <= *b)
    }

    /// Whether a job on local `date` starting at local `start` and lasting `duration_minutes`
    /// lies inside the availability. A job past midnight needs the first day open until 24:00
    /// and the next day open from 00:00. Wall-clock arithmetic: the local times the mediator
    /// wrote are compared with the local times of the job.
    pub fn covers(&self, date: NaiveDate, start: NaiveTime, duration_minutes: u32) -> bool {
        let from = start.hour() * 60 + start.minute();
        let mut to = from + duration_minutes;
        let mut day = date;
        let mut from = from;
        // At most a few days for absurd durations; appointments are at most 24 h.
        for _ in 0..3 {
            if to <= MINUTES_PER_DAY {
                return self.covers_on(day, from, to);
            }
            if !self.covers_on(day, from, MINUTES_PER_DAY) {
                return false;
            }
            to -= MINUTES_PER_DAY;
            from = 0;
            day += Duration::days(1);
        }
        false
    }
}

impl fmt::Display for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut clauses: Vec<String> = self
            .rules
            .iter()
            .map(|r| {
                let w: Vec<String> = r
                    .windows
                    .iter()
                    .map(|(a, b)| format!("{}-{}", fmt_time(*a), fmt_time(*b)))
                    .collect();
                format!("{} {}", fmt_days(r.days), w.join(","))
            })
            .collect();
        if self.rules.is_empty() {
            clauses.push("sempre".to_string());
        }
        if !self.exceptions.is_empty() {
            let d: Vec<String> = self
                .exceptions
                .iter()
                .map(|(a, b)| {
                    if a == b {
                        a.format("%Y-%m-%d").to_string()
                    } else {
                        format!("{}..{}", a.format("%Y-%m-%d"), b.format("%Y-%m-%d"))
                    }
                })
                .collect();
            clauses.push(format!("tranne {}", d.join(",")));
        }
        f.write_str(&clauses.join("; "))
    }
}

impl FromStr for Availability {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Availability::parse(s)
    }
}

impl TryFrom<String> for Availability {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Availability::parse(&s)
    }
}

impl From<Availability> for String {
    fn from(a: Availability) -> String {
        a.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    // 2027-03-01 is a Monday.
    const MON: (i32, u32, u32) = (2027, 3, 1);

    fn monday_plus(n: u32) -> NaiveDate {
        d(MON.0, MON.1, MON.2 + n)
    }

    #[test]
    fn weekday_range_covers_office_hours_only() {
        let a = Availability::parse("lun-ven 08:00-18:00").unwrap();
        assert!(a.covers(monday_plus(0), t(8, 0), 600));
        assert!(a.covers(monday_plus(4), t(16, 0), 120));
        assert!(
            !a.covers(monday_plus(4), t(16, 30), 120),
            "ends after 18:00"
        );
        assert!(
            !a.covers(monday_plus(2), t(7, 30), 60),
            "starts before 08:00"
        );
        assert!(!a.covers(monday_plus(5), t(10, 0), 60), "saturday");
        assert!(!a.covers(monday_plus(6), t(10, 0), 60), "sunday");
    }

    #[test]
    fn several_clauses_and_windows() {
        let a = Availability::parse("lun,mer 09:00-13:00; gio 14:00-18:00").unwrap();
        assert!(a.covers(monday_plus(0), t(9, 0), 240));
        assert!(a.covers(monday_plus(2), t(12, 0), 60));
        assert!(
            !a.covers(monday_plus(1), t(10, 0), 60),
            "tuesday not listed"
        );
        assert!(a.covers(monday_plus(3), t(15, 0), 90));
        assert!(!a.covers(monday_plus(3), t(10, 0), 60));
        let b = Availability::parse("lun 08:30-12:30,14:00-18:00").unwrap();
        assert!(b.covers(monday_plus(0), t(14, 0), 60));
        assert!(
            !b.covers(monday_plus(0), t(12, 0), 180),
            "spans the lunch gap"
        );
    }

    #[test]
    fn touching_windows_from_different_clauses_join() {
        let a = Availability::parse("lun 08:00-12:00; lun-mar 12:00-14:00").unwrap();
        assert!(a.covers(monday_plus(0), t(11, 0), 120));
        assert!(!a.covers(monday_plus(1), t(11, 0), 120));
    }

    #[test]
    fn accents_full_names_and_loose_spacing() {
        let a = Availability::parse("Lunedì - Venerdì 8.30-12; sabato 9-12").unwrap();
        let b = Availability::parse("lun-ven 08:30-12:00; sab 09:00-12:00").unwrap();
        assert_eq!(a, b);
        let c = Availability::parse("MERCOLEDI 14-18").unwrap();
        assert!(c.covers(monday_plus(2), t(14, 0), 240));
    }

    #[test]
    fn ranges_wrap_over_the_weekend() {
        let a = Availability::parse("ven-lun 10:00-12:00").unwrap();
        for n in [0, 4, 5, 6, 7] {
            assert!(a.covers(monday_plus(n), t(10, 0), 60), "day {n}");
        }
        for n in [1, 2, 3] {
            assert!(!a.covers(monday_plus(n), t(10, 0), 60), "day {n}");
        }
    }

    #[test]
    fn empty_means_any_time_and_exceptions_still_apply() {
        let a = Availability::parse("").unwrap();
        assert!(a.is_any_time());
        assert!(a.covers(monday_plus(6), t(3, 0), 60));
        let b = Availability::parse("tranne 2027-03-03, 10/03/2027").unwrap();
        assert!(b.is_any_time());
        assert!(!b.covers(monday_plus(2), t(10, 0), 60));
        assert!(!b.covers(monday_plus(9), t(10, 0), 60));
        assert!(b.covers(monday_plus(1), t(10, 0), 60));
    }

    #[test]
    fn exception_ranges() {
        let a = Availability::parse("lun-dom 08:00-20:00; tranne 2027-08-01..2027-08-20").unwrap();
        assert!(!a.covers(d(2027, 8, 1), t(9, 0), 60));
        assert!(!a.covers(d(2027, 8, 20), t(9, 0), 60));
        assert!(a.covers(d(2027, 8, 21), t(9, 0), 60));
        assert!(a.covers(d(2027, 7, 31), t(9, 0), 60));
    }

    #[test]
    fn across_midnight_needs_both_days() {
        let a = Availability::parse("ven 20:00-24:00; sab 00:00-02:00").unwrap();
        assert!(a.covers(monday_plus(4), t(23, 0), 120));
        assert!(!a.covers(monday_plus(4), t(23, 0), 240));
        let b = Availability::parse("ven 20:00-24:00; tranne 2027-03-06").unwrap();
        assert!(!b.covers(monday_plus(4), t(23, 0), 120));
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "lun-ven 08:00-18:00",
            "lun,mer 09:00-13:00; gio 14:00-18:00",
            "lunedì,martedì,giovedì 8-12, 14-18; dom 10:00-11:00; tranne 2027-01-06",
            "ven-lun 10:00-12:00",
            "",
            "tranne 2027-08-01..2027-08-20, 2027-12-25",
        ] {
            let a = Availability::parse(s).unwrap();
            let shown = a.to_string();
            assert_eq!(Availability::parse(&shown).unwrap(), a, "{s} -> {shown}");
        }
        assert_eq!(
            Availability::parse("lunedì,martedì,giovedì 8-12, 14-18")
                .unwrap()
                .to_string(),
            "lun,mar,gio 08:00-12:00,14:00-18:00"
        );
        assert_eq!(Availability::parse("").unwrap().to_string(), "sempre");
    }

    #[test]
    fn errors_say_what_was_expected() {
        let cases = [
            ("lunx-ven 08:00-18:00", "day of the week"),
            ("lun-ven", "days followed by time windows"),
            ("lun-ven 18:00-08:00", "ends after it starts"),
            ("lun 25:00-26:00", "a time like"),
            ("lun 08:00", "time windows like"),
            ("tranne 31/02/2027", "dates like"),
            ("tranne", "dates after 'tranne'"),
            ("lun 8:75-9", "a time like"),
        ];
        for (input, expect) in cases {
            let e = Availability::parse(input).unwrap_err().to_string();
            assert!(e.contains(expect), "{input}: {e}");
            assert!(e.contains("availability"), "{input}: {e}");
        }
    }

    #[test]
    fn serde_uses_the_text_form() {
        let a = Availability::parse("lun-ven 08:00-18:00").unwrap();
        let j = serde_json::to_string(&a).unwrap();
        assert_eq!(j, "\"lun-ven 08:00-18:00\"");
        let back: Availability = serde_json::from_str(&j).unwrap();
        assert_eq!(back, a);
    }
}
