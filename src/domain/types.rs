//! Small closed vocabularies of the domain: channel, intervention type, modality, gender,
//! language code, kind of person.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use super::ParseError;

/// Generates `as_str`, `ALL`, `Display` and `FromStr` for a fieldless enum whose textual form is
/// also its store and JSON form.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $(#[serde(rename = $text)] $variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ParseError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                let t = s.trim().to_ascii_lowercase();
                $(if t == $text { return Ok($name::$variant); })+
                Err(ParseError::new($what, s, [$($text),+].join(" | ")))
            }
        }
    };
}

vocabulary!(
    /// The channel a request arrived on; replies go back on the same one.
    Channel, "channel", {
        Email => "email",
        Telegram => "telegram",
        Cli => "cli",
        Web => "web",
    }
);

vocabulary!(
    /// Type of intervention, as the cooperative's request forms name them.
    InterventionType, "intervention type", {
        Colloquio => "colloquio",
        VisitaDomiciliare => "visita_domiciliare",
        IncontroProtetto => "incontro_protetto",
        Udienza => "udienza",
        TraduzioneScritta => "traduzione_scritta",
        Riunione => "riunione",
        Telefonata => "telefonata",
        Altro => "altro",
    }
);

impl InterventionType {
    /// A written translation has a deadline, not an appointment.
    pub fn has_appointment(self) -> bool {
        self != InterventionType::TraduzioneScritta
    }
}

vocabulary!(
    /// How the mediator takes part.
    Modality, "modality", {
        InPerson => "in_person",
        Phone => "phone",
        Video => "video",
    }
);

impl Modality {
    /// Remote jobs ignore distance and Ambito.
    pub fn is_remote(self) -> bool {
        !matches!(self, Modality::InPerson)
    }
}

vocabulary!(
    /// A mediator's gender, and a requester's preference.
    Gender, "gender", {
        F => "f",
        M => "m",
    }
);

vocabulary!(
    /// The three kinds of people connecting knows.
    PersonKind, "kind of person", {
        Operator => "operator",
        Mediator => "mediator",
        Coordinator => "coordinator",
    }
);

/// A language code: ISO 639-1 where one exists, else ISO 639-3 (`ar`, `ary`, `pcm`, `tw`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LanguageCode(String);

impl LanguageCode {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let t = s.trim().to_ascii_lowercase();
        let ok = (2..=3).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_lowercase());
        if ok {
            Ok(LanguageCode(t))
        } else {
            Err(ParseError::new(
                "language code",
                s,
                "an ISO 639-1 or 639-3 code such as ar, ary, pcm",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for LanguageCode {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        LanguageCode::parse(&s)
    }
}

impl From<LanguageCode> for String {
    fn from(c: LanguageCode) -> String {
        c.0
    }
}

impl fmt::Display for LanguageCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for LanguageCode {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LanguageCode::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_round_trip_through_text() {
        for t in InterventionType::ALL {
            assert_eq!(t.as_str().parse::<InterventionType>().unwrap(), *t);
        }
        assert_eq!("IN_PERSON".parse::<Modality>().unwrap(), Modality::InPerson);
        let err = "sometimes".parse::<Modality>().unwrap_err();
        assert!(err.to_string().contains("in_person | phone | video"));
    }

    #[test]
    fn language_codes_are_two_or_three_letters() {
        assert_eq!(LanguageCode::parse(" ARY ").unwrap().as_str(), "ary");
        assert!(LanguageCode::parse("arabic").is_err());
        assert!(LanguageCode::parse("a1").is_err());
        assert!(LanguageCode::parse("").is_err());
    }
}
