//! The dispatch area's sentences, rendered from `prompts/<lang>/dispatch.toml`.
//!
//! The files are embedded at build time so a message can always be rendered. When the lead's
//! shared loader (`crate::prompts::Prompts`) is in main this is a thin adapter over it.

use std::collections::HashMap;

const IT: &str = include_str!("../../prompts/it/dispatch.toml");
const EN: &str = include_str!("../../prompts/en/dispatch.toml");

/// Sentences per language; Italian is the default and the fallback.
#[derive(Debug, Clone)]
pub struct Texts {
    it: HashMap<String, String>,
    en: HashMap<String, String>,
}

fn load(src: &str) -> HashMap<String, String> {
    toml::from_str::<toml::Table>(src)
        .map(|t| {
            t.into_iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

impl Default for Texts {
    fn default() -> Self {
        Texts {
            it: load(IT),
            en: load(EN),
        }
    }
}

impl Texts {
    /// Renders `dispatch.<key>` (with or without the area prefix) in `lang`, filling
    /// `{placeholders}`. An unknown key renders as the key itself, never panics.
    pub fn render(&self, lang: &str, key: &str, args: &[(&str, String)]) -> String {
        let key = key.strip_prefix("dispatch.").unwrap_or(key);
        let table = if lang == "en" { &self.en } else { &self.it };
        let mut text = table
            .get(key)
            .or_else(|| self.it.get(key))
            .cloned()
            .unwrap_or_else(|| key.to_string());
        for (name, value) in args {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_files_have_the_same_keys_and_placeholders_render() {
        let t = Texts::default();
        assert!(!t.it.is_empty());
        let mut a: Vec<_> = t.it.keys().collect();
        let mut b: Vec<_> = t.en.keys().collect();
        a.sort();
        b.sort();
        assert_eq!(a, b);
        let s = t.render("it", "dispatch.reason_hours", &[("hours", "3.5".into())]);
        assert_eq!(s, "3.5 ore negli ultimi 30 giorni");
        let s = t.render("en", "reason_hours", &[("hours", "3.5".into())]);
        assert_eq!(s, "3.5 hours in the last 30 days");
    }
}
