//! The languages people read: Italian and English. `[intake] language` is the installation's
//! default; each person may have their own (`operators`/`mediators`/`coordinators.language`).

use serde::{Deserialize, Serialize};

/// Language of the messages people read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    It,
    En,
}

impl Lang {
    /// The language of a code as the renderers receive it ("en", "en-GB", "EN"): English,
    /// anything else Italian (the default).
    pub fn from_code(code: &str) -> Lang {
        if code.trim().to_ascii_lowercase().starts_with("en") {
            Lang::En
        } else {
            Lang::It
        }
    }

    /// A language we speak, from a code such as Telegram's `language_code` ("en", "en-GB",
    /// "it"): `None` for any other (the person then hears `[intake] language`).
    pub fn supported(code: &str) -> Option<Lang> {
        let c = code.trim().to_ascii_lowercase();
        let base = c.split(['-', '_']).next().unwrap_or_default();
        match base {
            "it" => Some(Lang::It),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::It => "it",
            Lang::En => "en",
        }
    }
}
