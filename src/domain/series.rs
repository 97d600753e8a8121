//! A series of appointments ("ogni martedì dalle 15 alle 16 dal 9 marzo per 8 settimane"):
//! the rule as the extractor reads it ([`Recurrence`]), the same rule as iCalendar text
//! (`RRULE`, RFC 5545 3.3.10) which the store keeps on the request, the dates it produces, and
//! the occurrences a stored series is made of, each with its own state (active, cancelled,
//! moved) and mediator. Pure: values in, values out.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::ParseError;
use super::appointment::local_to_utc;

/// The most occurrences one series may have (two years of weekly meetings): a rule without a
/// sensible end ("fino al 2099") is cut there rather than filling the database.
pub const MAX_OCCURRENCES: usize = 104;

/// How a series ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesEnd {
    /// The last day an occurrence may fall on ("fino al 30 giugno", "fino a giugno").
    Until(NaiveDate),
    /// How many occurrences ("per 8 settimane", "per 6 incontri").
    Count(u32),
}

/// A weekly or fortnightly rule: every `freq_weeks` weeks on `weekday`, until `end` (`None`:
/// the request does not say; the requester is asked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recurrence {
    pub freq_weeks: u32,
    pub weekday: Weekday,
    pub end: Option<SeriesEnd>,
}

fn byday(w: Weekday) -> &'static str {
    match w {
        Weekday::Mon => "MO",
        Weekday::Tue => "TU",
        Weekday::Wed => "WE",
        Weekday::Thu => "TH",
        Weekday::Fri => "FR",
        Weekday::Sat => "SA",
        Weekday::Sun => "SU",
    }
}

fn weekday_of(code: &str) -> Option<Weekday> {
    Some(match code {
        "MO" => Weekday::Mon,
        "TU" => Weekday::Tue,
        "WE" => Weekday::Wed,
        "TH" => Weekday::Thu,
        "FR" => Weekday::Fri,
        "SA" => Weekday::Sat,
        "SU" => Weekday::Sun,
        _ => return None,
    })
}

impl Recurrence {
    /// The first day of the series on or after `from` that falls on the rule's weekday.
    pub fn first_on_or_after(&self, from: NaiveDate) -> NaiveDate {
        let ahead =
            (7 + self.weekday.num_days_from_monday() - from.weekday().num_days_from_monday()) % 7;
        from + Duration::days(i64::from(ahead))
    }

    /// The days of the series starting at `first` (moved onto the weekday if needed); empty
    /// without an end. At most [`MAX_OCCURRENCES`].
    pub fn dates(&self, first: NaiveDate) -> Vec<NaiveDate> {
        let Some(end) = self.end else {
            return Vec::new();
        };
        let step = Duration::weeks(i64::from(self.freq_weeks.max(1)));
        let mut day = self.first_on_or_after(first);
        let mut out = Vec::new();
        while out.len() < MAX_OCCURRENCES {
            match end {
                SeriesEnd::Count(n) if out.len() >= n as usize => break,
                SeriesEnd::Until(last) if day > last => break,
                _ => {}
            }
            out.push(day);
            day += step;
        }
        out
    }

    /// The rule as an iCalendar `RRULE` value (without the `RRULE:` name):
    /// `FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;COUNT=8`, or `UNTIL=` the end of the last day in UTC
    /// (RFC 5545 wants UTC when `DTSTART` has a `TZID`). `None` without an end.
    pub fn rrule(&self, tz: Tz) -> Option<String> {
        let end = match self.end? {
            SeriesEnd::Count(n) => format!("COUNT={n}"),
            SeriesEnd::Until(d) => {
                let last = local_to_utc(d.and_time(NaiveTime::from_hms_opt(23, 59, 59)?), tz);
                format!("UNTIL={}", last.format("%Y%m%dT%H%M%SZ"))
            }
        };
        let interval = if self.freq_weeks > 1 {
            format!(";INTERVAL={}", self.freq_weeks)
        } else {
            String::new()
        };
        Some(format!(
            "FREQ=WEEKLY{interval};BYDAY={};{end}",
            byday(self.weekday)
        ))
    }

    /// Reads back what [`Recurrence::rrule`] writes.
    pub fn parse_rrule(rule: &str, tz: Tz) -> Result<Recurrence, ParseError> {
        let bad = || ParseError::new("series rule", rule, "FREQ=WEEKLY;BYDAY=..;COUNT=n|UNTIL=..");
        let mut freq = None;
        let mut interval = 1u32;
        let mut weekday = None;
        let mut end = None;
        for part in rule.trim().split(';') {
            let (k, v) = part.split_once('=').ok_or_else(bad)?;
            match k {
                "FREQ" => freq = Some(v),
                "INTERVAL" => interval = v.parse().map_err(|_| bad())?,
                "BYDAY" => weekday = weekday_of(v),
                "COUNT" => end = Some(SeriesEnd::Count(v.parse().map_err(|_| bad())?)),
                "UNTIL" => {
                    let at = chrono::NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%SZ")
                        .map_err(|_| bad())?
                        .and_utc();
                    end = Some(SeriesEnd::Until(at.with_timezone(&tz).date_naive()));
                }
                _ => return Err(bad()),
            }
        }
        if freq != Some("WEEKLY") || interval == 0 {
            return Err(bad());
        }
        Ok(Recurrence {
            freq_weeks: interval,
            weekday: weekday.ok_or_else(bad)?,
            end: Some(end.ok_or_else(bad)?),
        })
    }

    /// The occurrences' (start, end) instants from the local `first` day at `start` for
    /// `minutes` each, DST-safe (each day's wall time in `tz`).
    pub fn instants(
        &self,
        first: NaiveDate,
        start: NaiveTime,
        minutes: i64,
        tz: Tz,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        self.dates(first)
            .into_iter()
            .map(|d| {
                let s = local_to_utc(d.and_time(start), tz);
                (s, s + Duration::minutes(minutes))
            })
            .collect()
    }
}

/// The state of one occurrence of a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OccurrenceStatus {
    Active,
    Cancelled,
    /// Active at another time than the rule gives (its `starts_at` differs from its
    /// `recurrence_id`).
    Moved,
}

impl OccurrenceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OccurrenceStatus::Active => "active",
            OccurrenceStatus::Cancelled => "cancelled",
            OccurrenceStatus::Moved => "moved",
        }
    }

    /// Still taking place (at its own time or a new one).
    pub fn is_on(self) -> bool {
        self != OccurrenceStatus::Cancelled
    }
}

impl std::str::FromStr for OccurrenceStatus {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, ParseError> {
        Ok(match s {
            "active" => OccurrenceStatus::Active,
            "cancelled" => OccurrenceStatus::Cancelled,
            "moved" => OccurrenceStatus::Moved,
            _ => {
                return Err(ParseError::new(
                    "occurrence status",
                    s,
                    "active|cancelled|moved",
                ));
            }
        })
    }
}

/// One occurrence of a stored series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Occurrence {
    pub id: i64,
    /// 1 for the first meeting of the series.
    pub seq: u32,
    /// Its start as the rule gives it: the iCalendar `RECURRENCE-ID` (and the `EXDATE` once
    /// cancelled).
    pub recurrence_id: DateTime<Utc>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub status: OccurrenceStatus,
    pub mediator_id: Option<i64>,
    /// What its mediator (or a coordinator) recorded after it, once recorded.
    pub outcome: Option<MeetingOutcome>,
}

/// What happened at one meeting of a series, as recorded after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MeetingOutcome {
    pub done: bool,
    /// The minutes worked, when given (a done meeting without them counts its planned length).
    pub worked_minutes: Option<i64>,
    /// Who did not come, when it did not take place and that was said.
    pub no_show: Option<crate::domain::NoShow>,
}

/// A stored series: its rule (`RRULE` text) and its occurrences, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Series {
    pub rule: String,
    pub occurrences: Vec<Occurrence>,
}

impl Series {
    /// The occurrences still taking place.
    pub fn on(&self) -> impl Iterator<Item = &Occurrence> {
        self.occurrences.iter().filter(|o| o.status.is_on())
    }

    pub fn occurrence(&self, seq: u32) -> Option<&Occurrence> {
        self.occurrences.iter().find(|o| o.seq == seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn a_weekly_count_and_a_fortnightly_until_give_their_days_and_rules() {
        let tz = chrono_tz::Europe::Rome;
        let weekly = Recurrence {
            freq_weeks: 1,
            weekday: Weekday::Tue,
            end: Some(SeriesEnd::Count(8)),
        };
        let days = weekly.dates(d(2027, 3, 9));
        assert_eq!(days.len(), 8);
        assert_eq!(days[7], d(2027, 4, 27));
        assert_eq!(weekly.rrule(tz).unwrap(), "FREQ=WEEKLY;BYDAY=TU;COUNT=8");
        let fortnightly = Recurrence {
            freq_weeks: 2,
            weekday: Weekday::Thu,
            end: Some(SeriesEnd::Until(d(2027, 6, 30))),
        };
        // from a Monday: the first Thursday after it
        let days = fortnightly.dates(d(2027, 3, 8));
        assert_eq!(days[0], d(2027, 3, 11));
        // 11 March and every two weeks: ..., 3 June, 17 June (1 July is past the end)
        assert_eq!(*days.last().unwrap(), d(2027, 6, 17));
        let rule = fortnightly.rrule(tz).unwrap();
        assert_eq!(
            rule,
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;UNTIL=20270630T215959Z"
        );
        assert_eq!(Recurrence::parse_rrule(&rule, tz).unwrap(), fortnightly);
        assert!(Recurrence::parse_rrule("FREQ=DAILY;COUNT=3", tz).is_err());
        // across the change of clocks (28 March 2027) the wall time stays 15:00
        let at = weekly.instants(
            d(2027, 3, 9),
            NaiveTime::from_hms_opt(15, 0, 0).unwrap(),
            60,
            tz,
        );
        assert_eq!(at[0].0.format("%H").to_string(), "14");
        assert_eq!(at[3].0.format("%H").to_string(), "13");
    }
}
