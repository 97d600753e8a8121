//! The bot's sentences, read from `prompts/<lang>/telegram.toml` (Italian default, English).
//! Until the shared loader (`crate::prompts`) is in main, this small reader keeps every
//! sentence out of the code; placeholders `{name}` are filled by [`Texts::render`] and the
//! caller escapes user-provided values for HTML.

use std::collections::HashMap;
use std::sync::OnceLock;

const IT: &str = include_str!("../../../prompts/it/telegram.toml");
const EN: &str = include_str!("../../../prompts/en/telegram.toml");

fn table(src: &str) -> HashMap<String, String> {
    toml::from_str::<HashMap<String, String>>(src).unwrap_or_default()
}

fn it() -> &'static HashMap<String, String> {
    static T: OnceLock<HashMap<String, String>> = OnceLock::new();
    T.get_or_init(|| table(IT))
}

fn en() -> &'static HashMap<String, String> {
    static T: OnceLock<HashMap<String, String>> = OnceLock::new();
    T.get_or_init(|| table(EN))
}

/// Renders `key` in `lang` ("it" default, "en"), replacing `{name}` placeholders.
/// A missing key renders as the key itself (visible in tests, never a panic).
pub fn render(lang: &str, key: &str, args: &[(&str, &str)]) -> String {
    let t = if lang.starts_with("en") { en() } else { it() };
    let mut s = t
        .get(key)
        .or_else(|| it().get(key))
        .cloned()
        .unwrap_or_else(|| key.to_string());
    for (name, value) in args {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
}

/// Italian text without placeholders.
pub fn t(key: &str) -> String {
    render("it", key, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_files_parse_and_have_the_same_keys() {
        let (a, b) = (table(IT), table(EN));
        assert!(a.len() > 50, "{}", a.len());
        let mut ka: Vec<_> = a.keys().collect();
        let mut kb: Vec<_> = b.keys().collect();
        ka.sort();
        kb.sort();
        assert_eq!(ka, kb);
        assert_eq!(
            render("it", "request_queued", &[("code", "MED-2027-0001")]),
            "Fatto! Richiesta <b>MED-2027-0001</b> in coda. Ti scrivo appena un mediatore accetta."
        );
    }
}
