//! The 14 Ambiti Territoriali of the province of Bergamo.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::ParseError;

/// One of the 14 Ambiti Territoriali. Parsed leniently (case, accents, apostrophes, the short
/// name people use: "Dalmine", "Valle Seriana", "Isola").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Ambito(u8);

/// Canonical names, then accepted short forms (already folded: lowercase ASCII, no punctuation).
const AMBITI: [(&str, &[&str]); 14] = [
    ("Bergamo", &["bergamo"]),
    ("Dalmine", &["dalmine"]),
    ("Seriate", &["seriate"]),
    ("Grumello", &["grumello", "grumello del monte"]),
    ("Valle Cavallina", &["valle cavallina", "val cavallina"]),
    (
        "Monte Bronzone e Basso Sebino",
        &[
            "monte bronzone e basso sebino",
            "basso sebino",
            "monte bronzone",
        ],
    ),
    ("Alto Sebino", &["alto sebino"]),
    (
        "Valle Seriana",
        &[
            "valle seriana",
            "valle seriana albino",
            "albino",
            "val seriana",
        ],
    ),
    (
        "Valle Seriana Superiore e Valle di Scalve",
        &[
            "valle seriana superiore e valle di scalve",
            "valle seriana superiore",
            "valle di scalve",
            "alta valle seriana",
        ],
    ),
    ("Valle Brembana", &["valle brembana", "val brembana"]),
    (
        "Valle Imagna e Villa d'Almè",
        &[
            "valle imagna e villa d alme",
            "valle imagna villa d alme",
            "valle imagna",
            "villa d alme",
        ],
    ),
    (
        "Isola Bergamasca e Bassa Val San Martino",
        &[
            "isola bergamasca e bassa val san martino",
            "isola bergamasca",
            "isola",
            "bassa val san martino",
        ],
    ),
    ("Treviglio", &["treviglio"]),
    ("Romano di Lombardia", &["romano di lombardia", "romano"]),
];

/// Lowercase, accents dropped, apostrophes and punctuation turned into single spaces.
pub(crate) fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'à' | 'á' | 'â' | 'ä' => 'a',
            'è' | 'é' | 'ê' | 'ë' => 'e',
            'ì' | 'í' | 'î' | 'ï' => 'i',
            'ò' | 'ó' | 'ô' | 'ö' => 'o',
            'ù' | 'ú' | 'û' | 'ü' => 'u',
            c if c.is_alphanumeric() => c,
            _ => ' ',
        };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    out.trim_end().to_string()
}

impl Ambito {
    pub fn all() -> impl Iterator<Item = Ambito> {
        (0..AMBITI.len() as u8).map(Ambito)
    }

    pub fn name(self) -> &'static str {
        AMBITI[self.0 as usize].0
    }

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let f = fold(s);
        let mut f = f.as_str();
        for prefix in ["ambito territoriale ", "ambito ", "di ", "della ", "dell "] {
            f = f.strip_prefix(prefix).unwrap_or(f);
        }
        AMBITI
            .iter()
            .position(|(_, aliases)| aliases.contains(&f))
            .map(|i| Ambito(i as u8))
            .ok_or_else(|| {
                ParseError::new(
                    "Ambito",
                    s,
                    format!(
                        "one of the 14 Ambiti: {}",
                        AMBITI
                            .iter()
                            .map(|(n, _)| *n)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                )
            })
    }
}

impl fmt::Display for Ambito {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Ambito {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ambito::parse(s)
    }
}

impl TryFrom<String> for Ambito {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Ambito::parse(&s)
    }
}

impl From<Ambito> for String {
    fn from(a: Ambito) -> String {
        a.name().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fourteen_ambiti_parse_by_name_and_short_form() {
        assert_eq!(Ambito::all().count(), 14);
        for a in Ambito::all() {
            assert_eq!(Ambito::parse(a.name()).unwrap(), a);
        }
        assert_eq!(
            Ambito::parse("valle imagna e villa d'alme").unwrap().name(),
            "Valle Imagna e Villa d'Almè"
        );
        assert_eq!(
            Ambito::parse("Ambito territoriale di Dalmine")
                .unwrap()
                .name(),
            "Dalmine"
        );
        assert_eq!(Ambito::parse("AMBITO DALMINE").unwrap().name(), "Dalmine");
        let e = Ambito::parse("Milano").unwrap_err().to_string();
        assert!(e.contains("Milano") && e.contains("Treviglio"));
    }
}
