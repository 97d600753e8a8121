//! The extractor's warning texts, read from `prompts/<lang>/extract.toml` (flat `code = "text"`)
//! so that no user-facing sentence lives in code. Kept local until the shared prompt loader lands.

use std::collections::HashMap;
use std::sync::LazyLock;

static IT: LazyLock<HashMap<String, String>> =
    LazyLock::new(|| load(include_str!("../../prompts/it/extract.toml")));
static EN: LazyLock<HashMap<String, String>> =
    LazyLock::new(|| load(include_str!("../../prompts/en/extract.toml")));

fn load(src: &str) -> HashMap<String, String> {
    toml::from_str::<HashMap<String, String>>(src).unwrap_or_default()
}

/// Renders the message for `code` in `lang` ("it" default, "en"), filling `{name}` placeholders.
/// An unknown code renders as the code itself.
pub fn render(lang: &str, code: &str, args: &[(String, String)]) -> String {
    let table = if lang == "en" { &*EN } else { &*IT };
    let Some(template) = table.get(code) else {
        return code.to_string();
    };
    let mut out = template.clone();
    for (k, v) in args {
        out = out.replace(&format!("{{{k}}}"), v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_languages_have_the_same_codes() {
        let mut a: Vec<_> = IT.keys().collect();
        let mut b: Vec<_> = EN.keys().collect();
        a.sort();
        b.sort();
        assert!(!a.is_empty());
        assert_eq!(a, b);
        let m = render(
            "it",
            "date_in_past",
            &[("date".into(), "01/03/2027".into())],
        );
        assert_eq!(m, "La data 01/03/2027 è già passata");
    }
}
