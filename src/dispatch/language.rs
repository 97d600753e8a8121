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

fn extra_family(code: &str) -> Option<&'static str> {
    Some(match code {
        // Arabic varieties: Moroccan (darija), Egyptian, Levantine, Iraqi, Tunisian, Algerian,
        // Libyan, Chadian, Sudanese.
        "ary" | "arz" | "apc" | "ajp" | "acm" | "aeb" | "arq" | "ayl" | "shu" | "apd" => "ar",
        // Nigerian Pidgin.
        "pcm" => "en",
        // Twi and Fante are Akan.
        "tw" | "twi" | "fat" => "ak",
        // Dari is Persian; Southern and Northern Pashto.
        "prs" => "fa",
        "pbu" | "pst" => "ps",
        // Chinese: Mandarin, Cantonese, Min Nan, Min Dong, Wu, Hakka.
        "cmn" | "yue" | "nan" | "cdo" | "wuu" | "hak" => "zh",
        // Moldovan (deprecated code) is Romanian.
        "mo" => "ro",
        // Kurdish: Sorani, Kurmanji.
        "ckb" | "kmr" => "ku",
        // Tamazight varieties under the Berber collective code.
        "zgh" | "tzm" | "kab" | "rif" | "shi" => "ber",
        // Fula varieties.
        "fuc" | "fuf" | "ffm" => "ff",
        _ => return None,
    })
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
    let req_family = family(requested).unwrap_or(requested);
    let mut best = None;
    for s in spoken {
        if s == requested {
            return Some(LanguageFit::Exact);
        }
        if family(s).unwrap_or(s) == req_family {
            best = Some(LanguageFit::Family);
        }
    }
    best
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
