//! Request codes such as `MED-2027-0042`: pseudonymous, shown in every message and subject.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::ParseError;

/// `MED-<year>-<sequence>`, the sequence at least four digits and restarting each year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RequestCode {
    year: i32,
    seq: u32,
}

impl RequestCode {
    pub fn new(year: i32, seq: u32) -> Self {
        Self { year, seq }
    }
    pub fn year(&self) -> i32 {
        self.year
    }
    pub fn seq(&self) -> u32 {
        self.seq
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let err = || ParseError::new("request code", s, "a code like MED-2027-0042");
        let t = s.trim();
        let rest = t
            .get(..4)
            .filter(|p| p.eq_ignore_ascii_case("MED-"))
            .and_then(|_| t.get(4..))
            .ok_or_else(err)?;
        let (y, n) = rest.split_once('-').ok_or_else(err)?;
        if y.len() != 4 || n.len() < 4 || n.len() > 9 {
            return Err(err());
        }
        if !y.bytes().all(|b| b.is_ascii_digit()) || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let year = y.parse().map_err(|_| err())?;
        let seq = n.parse().map_err(|_| err())?;
        if seq == 0 {
            return Err(err());
        }
        Ok(Self { year, seq })
    }

    /// Finds the first request code inside a longer text (a subject like `Re: [MED-2027-0042] ...`).
    pub fn find_in(text: &str) -> Option<Self> {
        let upper = text.to_ascii_uppercase();
        let mut from = 0;
        while let Some(pos) = upper.get(from..).and_then(|s| s.find("MED-")) {
            let start = from + pos;
            let tail = &upper[start..];
            let end = tail
                .char_indices()
                .skip(4)
                .find(|(_, c)| !(c.is_ascii_digit() || *c == '-'))
                .map(|(i, _)| i)
                .unwrap_or(tail.len());
            if let Ok(code) = RequestCode::parse(&tail[..end]) {
                return Some(code);
            }
            from = start + 4;
        }
        None
    }
}

impl fmt::Display for RequestCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MED-{:04}-{:04}", self.year, self.seq)
    }
}

impl FromStr for RequestCode {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RequestCode::parse(s)
    }
}

impl TryFrom<String> for RequestCode {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        RequestCode::parse(&s)
    }
}

impl From<RequestCode> for String {
    fn from(c: RequestCode) -> String {
        c.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses() {
        let c = RequestCode::new(2027, 42);
        assert_eq!(c.to_string(), "MED-2027-0042");
        assert_eq!(RequestCode::parse("med-2027-0042").unwrap(), c);
        assert_eq!(RequestCode::new(2027, 12345).to_string(), "MED-2027-12345");
        for bad in [
            "MED-27-0042",
            "MED-2027-42",
            "MED-2027-0000",
            "XYZ-2027-0042",
            "",
            "MED-",
        ] {
            assert!(RequestCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn finds_code_in_subjects() {
        assert_eq!(
            RequestCode::find_in("R: Re: [MED-2027-0042] Richiesta mediatrice"),
            Some(RequestCode::new(2027, 42))
        );
        assert_eq!(
            RequestCode::find_in("MED-x MED-2026-0100."),
            Some(RequestCode::new(2026, 100))
        );
        assert_eq!(RequestCode::find_in("nessun codice"), None);
        assert_eq!(RequestCode::find_in("é MED-"), None);
    }
}
