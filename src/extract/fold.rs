//! Folding text for matching: lower case, accents stripped, typographic quotes and dashes made
//! plain, with a byte map back to the original so a match can be cut out of the original text.

/// Folded text plus, for each folded byte, the byte offset of the original character it came from.
pub struct Folded {
    pub text: String,
    map: Vec<usize>,
}

impl Folded {
    pub fn new(original: &str) -> Self {
        let mut text = String::with_capacity(original.len());
        let mut map = Vec::with_capacity(original.len() + 1);
        for (i, c) in original.char_indices() {
            let before = text.len();
            match fold_char(c) {
                Some(f) => text.push(f),
                None => text.extend(c.to_lowercase()),
            }
            map.extend(std::iter::repeat_n(i, text.len() - before));
        }
        map.push(original.len());
        Folded { text, map }
    }

    /// Original byte offset for a folded byte offset (clamped).
    pub fn orig(&self, folded: usize) -> usize {
        self.map
            .get(folded)
            .copied()
            .unwrap_or_else(|| self.map.last().copied().unwrap_or(0))
    }

    /// The original text for a folded span.
    pub fn slice<'a>(&self, original: &'a str, start: usize, end: usize) -> &'a str {
        let (a, b) = (self.orig(start), self.orig(end));
        original.get(a..b).unwrap_or("")
    }
}

/// Folds one character to a plain ASCII form when it is an accented Latin letter or a typographic
/// variant; `None` means "lowercase it as is".
pub fn fold_char(c: char) -> Option<char> {
    Some(match c {
        'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' | 'À' | 'Á' | 'Â' | 'Ä' | 'Ã' | 'Å' => 'a',
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => 'i',
        'ò' | 'ó' | 'ô' | 'ö' | 'õ' | 'Ò' | 'Ó' | 'Ô' | 'Ö' | 'Õ' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => 'u',
        'ç' | 'Ç' => 'c',
        'ñ' | 'Ñ' => 'n',
        '’' | '‘' | '`' | '´' | 'ʼ' | '′' => '\'',
        '–' | '—' | '−' => '-',
        '\u{a0}' | '\u{2007}' | '\u{202f}' | '\t' => ' ',
        '\r' => ' ',
        'A'..='Z' => c.to_ascii_lowercase(),
        _ if c.is_ascii() => c,
        _ => return None,
    })
}

/// Folds a whole string (no map), for data and lookups.
pub fn fold(s: &str) -> String {
    Folded::new(s).text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_and_maps_back() {
        let s = "Martedì 12 MARZO, Villa d’Almè";
        let f = Folded::new(s);
        assert_eq!(f.text, "martedi 12 marzo, villa d'alme");
        let at = f.text.find("villa").unwrap();
        assert_eq!(f.slice(s, at, f.text.len()), "Villa d’Almè");
        assert_eq!(f.slice(s, 0, 7), "Martedì");
    }
}
