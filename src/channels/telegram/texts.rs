//! The bot's sentences: keys of the `telegram` area of the shared prompt catalogue
//! (`prompts/<lang>/telegram.toml`, Italian default, English), rendered through
//! [`crate::prompts`]. Placeholders `{name}` are filled by [`render`]; the caller escapes
//! user-provided values for HTML.

use crate::config::Lang;
use crate::prompts::Prompts;

/// Renders `telegram.<key>` in `lang` ("it" default, "en").
pub fn render(lang: &str, key: &str, args: &[(&str, &str)]) -> String {
    Prompts::global().render(Lang::from_code(lang), &format!("telegram.{key}"), args)
}

/// Italian text without placeholders.
pub fn t(key: &str) -> String {
    render("it", key, &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_from_the_shared_catalogue() {
        assert_eq!(
            render("it", "request_queued", &[("code", "MED-2027-0001")]),
            "Fatto! Richiesta <b>MED-2027-0001</b> in coda. Ti scrivo appena un mediatore accetta."
        );
        assert_eq!(render("en", "btn_accept", &[]), "Accept");
        assert_eq!(t("btn_decline"), "Non posso");
    }
}
