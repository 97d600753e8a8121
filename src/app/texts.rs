//! The dispatch area's sentences (`prompts/<lang>/dispatch.toml`), rendered through the shared
//! catalogue (`crate::prompts`). Owned `String` arguments, since most values are formatted here.

use crate::config::Lang;
use crate::prompts::Prompts;

/// Renders `dispatch.<key>` sentences; Italian is the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct Texts;

impl Texts {
    /// Renders `dispatch.<key>` (with or without the area prefix) in `lang` (`it` or `en`).
    pub fn render(&self, lang: &str, key: &str, args: &[(&str, String)]) -> String {
        let lang = if lang == "en" { Lang::En } else { Lang::It };
        let full = if key.starts_with("dispatch.") {
            key.to_string()
        } else {
            format!("dispatch.{key}")
        };
        let borrowed: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Prompts::global().render(lang, &full, &borrowed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_from_the_shared_catalogue() {
        let t = Texts;
        let s = t.render("it", "dispatch.reason_hours", &[("hours", "3.5".into())]);
        assert_eq!(s, "3.5 ore negli ultimi 30 giorni");
        let s = t.render("en", "reason_hours", &[("hours", "3.5".into())]);
        assert_eq!(s, "3.5 hours in the last 30 days");
    }
}
