//! An appointment: a local date and start time in Europe/Rome with a duration, resolved to an
//! instant correctly across daylight-saving changes.

use chrono::{DateTime, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::ParseError;

/// Local wall-clock appointment. The cooperative works in one time zone (config `intake.timezone`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Appointment {
    pub date: NaiveDate,
    pub start: NaiveTime,
    pub duration_minutes: u32,
}

impl Appointment {
    pub fn new(
        date: NaiveDate,
        start: NaiveTime,
        duration_minutes: u32,
    ) -> Result<Self, ParseError> {
        if duration_minutes == 0 || duration_minutes > 24 * 60 {
            return Err(ParseError::new(
                "duration",
                duration_minutes.to_string(),
                "between 1 and 1440 minutes",
            ));
        }
        Ok(Self {
            date,
            start,
            duration_minutes,
        })
    }

    /// The instant the appointment starts. A wall time that does not exist (the spring-forward
    /// hour) is moved forward by the gap; an ambiguous one (autumn) takes the first occurrence.
    pub fn starts_at(&self, tz: Tz) -> DateTime<Utc> {
        local_to_utc(self.date.and_time(self.start), tz)
    }

    pub fn ends_at(&self, tz: Tz) -> DateTime<Utc> {
        self.starts_at(tz) + Duration::minutes(i64::from(self.duration_minutes))
    }

    /// Local end time (wall clock), for display.
    pub fn end_local(&self, tz: Tz) -> NaiveDateTime {
        self.ends_at(tz).with_timezone(&tz).naive_local()
    }
}

/// Resolves a local wall time in `tz` to an instant, DST-safe.
pub fn local_to_utc(local: NaiveDateTime, tz: Tz) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        LocalResult::None => {
            // Spring forward: the wall time does not exist. Read it with the offset in force just
            // before the gap, which moves it forward by the gap (02:30 -> 03:30 in Rome).
            use chrono::Offset;
            let before = tz
                .from_local_datetime(&(local - Duration::hours(3)))
                .earliest()
                .map(|t| t.offset().fix())
                .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).unwrap_or(Utc.fix()));
            Utc.from_utc_datetime(&(local - Duration::seconds(i64::from(before.local_minus_utc()))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Europe::Rome;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn winter_and_summer_offsets() {
        let w = Appointment::new(d(2027, 1, 12), t(14, 30), 90).unwrap();
        assert_eq!(w.starts_at(Rome).to_rfc3339(), "2027-01-12T13:30:00+00:00");
        let s = Appointment::new(d(2027, 7, 12), t(14, 30), 90).unwrap();
        assert_eq!(s.starts_at(Rome).to_rfc3339(), "2027-07-12T12:30:00+00:00");
        assert_eq!(s.end_local(Rome).time(), t(16, 0));
    }

    #[test]
    fn dst_gap_and_overlap() {
        // 28 March 2027: 02:00 -> 03:00 in Rome.
        let gap = Appointment::new(d(2027, 3, 28), t(2, 30), 60).unwrap();
        assert_eq!(
            gap.starts_at(Rome).to_rfc3339(),
            "2027-03-28T01:30:00+00:00"
        );
        assert_eq!(gap.starts_at(Rome).with_timezone(&Rome).time(), t(3, 30));
        // 31 October 2027: 03:00 -> 02:00; 02:30 happens twice, the first is taken.
        let amb = Appointment::new(d(2027, 10, 31), t(2, 30), 60).unwrap();
        assert_eq!(
            amb.starts_at(Rome).to_rfc3339(),
            "2027-10-31T00:30:00+00:00"
        );
        // An appointment across the autumn change lasts its real duration.
        let across = Appointment::new(d(2027, 10, 31), t(1, 0), 180).unwrap();
        assert_eq!(across.end_local(Rome).time(), t(3, 0));
    }

    #[test]
    fn rejects_zero_or_absurd_durations() {
        assert!(Appointment::new(d(2027, 1, 1), t(9, 0), 0).is_err());
        assert!(Appointment::new(d(2027, 1, 1), t(9, 0), 1441).is_err());
    }
}
