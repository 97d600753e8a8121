//! Language families for matching: a variant (Moroccan Arabic `ary`) belongs to a family
//! (`ar`), and a speaker of the family can serve a variant request with a lower score.
//!
//! The families come from the extractor's catalogue (`data/languages.toml`, `family` per code);
//! a few codes it does not list are covered by a small table here.

/// The family a language code belongs to, if it is a variant of a broader language.
pub fn family(code: &str) -> Option<&'static str> {
    crate::extract::languages::family(code)
        .filter(|f| *f != code)
        .or_else(|| extra_family(code))
}

/// Variants the catalogue does not list, with their family.
const EXTRA: &[(&str, &str)] = &[
    // Arabic varieties: Moroccan (darija), Egyptian, Levantine, Iraqi, Tunisian, Algerian,
    // Libyan, Chadian, Sudanese.
    ("ary", "ar"),
    ("arz", "ar"),
    ("apc", "ar"),
    ("ajp", "ar"),
    ("acm", "ar"),
    ("aeb", "ar"),
    ("arq", "ar"),
    ("ayl", "ar"),
    ("shu", "ar"),
    ("apd", "ar"),
    // Nigerian Pidgin.
    ("pcm", "en"),
    // Twi and Fante are Akan.
    ("tw", "ak"),
    ("twi", "ak"),
    ("fat", "ak"),
    // Dari is Persian; Southern and Northern Pashto.
    ("prs", "fa"),
    ("pbu", "ps"),
    ("pst", "ps"),
    // Chinese: Mandarin, Cantonese, Min Nan, Min Dong, Wu, Hakka.
    ("cmn", "zh"),
    ("yue", "zh"),
    ("nan", "zh"),
    ("cdo", "zh"),
    ("wuu", "zh"),
    ("hak", "zh"),
    // Moldovan (deprecated code) is Romanian.
    ("mo", "ro"),
    // Kurdish: Sorani, Kurmanji.
    ("ckb", "ku"),
    ("kmr", "ku"),
    // Tamazight varieties under the Berber collective code.
    ("zgh", "ber"),
    ("tzm", "ber"),
    ("kab", "ber"),
    ("rif", "ber"),
    ("shi", "ber"),
    // Fula varieties.
    ("fuc", "ff"),
    ("fuf", "ff"),
    ("ffm", "ff"),
];

fn extra_family(code: &str) -> Option<&'static str> {
    EXTRA.iter().find(|(c, _)| *c == code).map(|(_, f)| *f)
}

/// Matches spoken languages against one requested language. Built once per request, it
/// knows every code of the requested family, so each comparison is a string compare.
#[derive(Debug, Clone)]
pub struct LanguageMatcher {
    requested: String,
    /// Codes of the same family (the family root included), other than `requested`.
    family: Vec<String>,
}

impl LanguageMatcher {
    pub fn new(requested: &str) -> Self {
        let root = family(requested).unwrap_or(requested);
        let mut codes: Vec<String> = vec![root.to_string()];
        for l in crate::extract::languages::all() {
            if family(&l.code) == Some(root) {
                codes.push(l.code.clone());
            }
        }
        for (c, f) in EXTRA {
            if *f == root {
                codes.push((*c).to_string());
            }
        }
        codes.retain(|c| c != requested);
        codes.sort();
        codes.dedup();
        Self {
            requested: requested.to_string(),
            family: codes,
        }
    }

    /// The best fit of any of `spoken`, or `None` if none serves.
    pub fn fit<'a>(&self, spoken: impl IntoIterator<Item = &'a str>) -> Option<LanguageFit> {
        let mut best = None;
        for s in spoken {
            if s == self.requested {
                return Some(LanguageFit::Exact);
            }
            if self.family.iter().any(|f| f == s) {
                best = Some(LanguageFit::Family);
            }
        }
        best
    }
}

/// How well a mediator's language serves a requested language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LanguageFit {
    /// Same code (better).
    Exact,
    /// The same family: the request's family, or a variant of the requested family.
    Family,
}

/// The best fit of any of `spoken` for `requested`, or `None` if none serves.
pub fn fit<'a>(requested: &str, spoken: impl IntoIterator<Item = &'a str>) -> Option<LanguageFit> {
    LanguageMatcher::new(requested).fit(spoken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variants_fall_back_to_their_family() {
        assert_eq!(fit("ary", ["it", "ary"]), Some(LanguageFit::Exact));
        assert_eq!(fit("ary", ["ar"]), Some(LanguageFit::Family));
        assert_eq!(fit("ar", ["arz"]), Some(LanguageFit::Family));
        assert_eq!(fit("ary", ["arz"]), Some(LanguageFit::Family));
        assert_eq!(fit("ary", ["fr", "en"]), None);
        assert_eq!(fit("pcm", ["en"]), Some(LanguageFit::Family));
        assert_eq!(fit("ur", ["hi"]), None);
        assert!(LanguageFit::Exact < LanguageFit::Family);
    }
}
