//! Every sentence a person reads, in Italian (default) and English, from `prompts/<lang>/<area>.toml`
//! (embedded at build time). Keys are `<area>.<key>`; placeholders are `{name}`.
//!
//! The catalogue is checked as a whole: a key missing in one language, or a placeholder that one
//! language uses and the other does not, is an error found by a test, not by a user. Rendering
//! with a placeholder not given is caught by `debug_assert!` in tests and logged in production.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use crate::config::Lang;

include!(concat!(env!("OUT_DIR"), "/prompt_files.rs"));

/// A problem in the prompt catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PromptError {
    #[error("prompts/{lang}/{area}.toml: {reason}")]
    Syntax {
        lang: String,
        area: String,
        reason: String,
    },
    #[error("prompt {key:?} exists in {present} but not in {absent}")]
    MissingKey {
        key: String,
        present: String,
        absent: String,
    },
    #[error("prompt {key:?} uses placeholders {it:?} in Italian but {en:?} in English")]
    PlaceholderMismatch {
        key: String,
        it: Vec<String>,
        en: Vec<String>,
    },
    #[error("prompt {key:?} not found")]
    UnknownKey { key: String },
    #[error("prompt {key:?} needs {{{name}}} but it was not given")]
    MissingArg { key: String, name: String },
}

/// The loaded catalogue.
#[derive(Debug)]
pub struct Prompts {
    texts: HashMap<(Lang, String), String>,
}

static GLOBAL: LazyLock<Prompts> = LazyLock::new(|| match Prompts::load() {
    Ok(p) => p,
    Err(e) => {
        tracing::error!(error = %e, "prompt catalogue has problems");
        Prompts::load_lenient()
    }
});

fn lang_of(code: &str) -> Option<Lang> {
    match code {
        "it" => Some(Lang::It),
        "en" => Some(Lang::En),
        _ => None,
    }
}

/// The `{name}` placeholders of a template, sorted.
pub fn placeholders(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    out.insert(name.to_string());
                }
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

impl Prompts {
    /// The checked catalogue, loaded once.
    pub fn global() -> &'static Prompts {
        &GLOBAL
    }

    /// Parses and checks every embedded file.
    pub fn load() -> Result<Prompts, PromptError> {
        let p = Self::parse()?;
        p.check()?;
        Ok(p)
    }

    fn load_lenient() -> Prompts {
        Self::parse().unwrap_or(Prompts {
            texts: HashMap::new(),
        })
    }

    fn parse() -> Result<Prompts, PromptError> {
        let mut texts = HashMap::new();
        for (lang, area, content) in PROMPT_FILES {
            let Some(l) = lang_of(lang) else { continue };
            let syntax = |reason: String| PromptError::Syntax {
                lang: lang.to_string(),
                area: area.to_string(),
                reason,
            };
            let table: toml::Table = content
                .parse()
                .map_err(|e: toml::de::Error| syntax(e.message().to_string()))?;
            for (k, v) in table {
                let text = v
                    .as_str()
                    .ok_or_else(|| syntax(format!("{k} must be a string")))?;
                texts.insert((l, format!("{area}.{k}")), text.to_string());
            }
        }
        Ok(Prompts { texts })
    }

    fn check(&self) -> Result<(), PromptError> {
        let mut keys: Vec<&String> = self.texts.keys().map(|(_, k)| k).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let it = self.texts.get(&(Lang::It, key.clone()));
            let en = self.texts.get(&(Lang::En, key.clone()));
            match (it, en) {
                (Some(it), Some(en)) => {
                    let (pi, pe) = (placeholders(it), placeholders(en));
                    if pi != pe {
                        return Err(PromptError::PlaceholderMismatch {
                            key: key.clone(),
                            it: pi.into_iter().collect(),
                            en: pe.into_iter().collect(),
                        });
                    }
                }
                (Some(_), None) | (None, Some(_)) => {
                    let (present, absent) = if it.is_some() {
                        ("it", "en")
                    } else {
                        ("en", "it")
                    };
                    return Err(PromptError::MissingKey {
                        key: key.clone(),
                        present: present.into(),
                        absent: absent.into(),
                    });
                }
                (None, None) => {}
            }
        }
        Ok(())
    }

    /// Every key in the catalogue.
    pub fn keys(&self) -> BTreeSet<&str> {
        self.texts.keys().map(|(_, k)| k.as_str()).collect()
    }

    /// The raw template.
    pub fn template(&self, lang: Lang, key: &str) -> Option<&str> {
        self.texts.get(&(lang, key.to_string())).map(String::as_str)
    }

    /// Fills a template; every placeholder must be given.
    pub fn try_render(
        &self,
        lang: Lang,
        key: &str,
        args: &[(&str, &str)],
    ) -> Result<String, PromptError> {
        let t = self
            .template(lang, key)
            .ok_or_else(|| PromptError::UnknownKey { key: key.into() })?;
        let mut out = String::with_capacity(t.len() + 32);
        let mut rest = t;
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let Some(close) = after.find('}') else {
                out.push_str(&rest[open..]);
                rest = "";
                break;
            };
            let name = &after[..close];
            match args.iter().find(|(n, _)| *n == name) {
                Some((_, v)) => out.push_str(v),
                None if placeholders(&rest[open..open + close + 2]).is_empty() => {
                    out.push_str(&rest[open..open + close + 2]);
                }
                None => {
                    return Err(PromptError::MissingArg {
                        key: key.into(),
                        name: name.into(),
                    });
                }
            }
            rest = &after[close + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    /// Fills a template. A missing key or argument is a bug: it fails tests (debug builds) and is
    /// logged in production, where the key itself is shown rather than nothing.
    pub fn render(&self, lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
        match self.try_render(lang, key, args) {
            Ok(s) => s,
            Err(e) => {
                debug_assert!(false, "{e}");
                tracing::error!(error = %e, "prompt could not be rendered");
                self.template(lang, key).unwrap_or(key).to_string()
            }
        }
    }
}

/// Shorthand for `Prompts::global().render(...)`.
pub fn t(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    Prompts::global().render(lang, key, args)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalogue_is_complete_in_both_languages() {
        let p = Prompts::load().unwrap_or_else(|e| panic!("{e}"));
        assert!(!p.keys().is_empty());
        for key in p.keys() {
            assert!(
                p.template(Lang::It, key)
                    .is_some_and(|t| !t.trim().is_empty()),
                "{key} empty in it"
            );
            assert!(
                p.template(Lang::En, key)
                    .is_some_and(|t| !t.trim().is_empty()),
                "{key} empty in en"
            );
        }
    }

    #[test]
    fn rendering_fills_placeholders_and_refuses_missing_ones() {
        let p = Prompts {
            texts: HashMap::from([(
                (Lang::It, "x.hello".to_string()),
                "Ciao {name}, richiesta {code}. {non toccare}".to_string(),
            )]),
        };
        assert_eq!(
            p.try_render(
                Lang::It,
                "x.hello",
                &[("name", "Amina"), ("code", "MED-2027-0001")]
            )
            .unwrap(),
            "Ciao Amina, richiesta MED-2027-0001. {non toccare}"
        );
        assert_eq!(
            p.try_render(Lang::It, "x.hello", &[("name", "Amina")]),
            Err(PromptError::MissingArg {
                key: "x.hello".into(),
                name: "code".into()
            })
        );
        assert!(matches!(
            p.try_render(Lang::En, "x.hello", &[]),
            Err(PromptError::UnknownKey { .. })
        ));
    }

    #[test]
    fn mismatched_languages_are_caught() {
        let p = Prompts {
            texts: HashMap::from([
                ((Lang::It, "a.k".to_string()), "{x} {y}".to_string()),
                ((Lang::En, "a.k".to_string()), "{x}".to_string()),
                ((Lang::It, "a.only".to_string()), "solo".to_string()),
            ]),
        };
        let e = p.check().unwrap_err();
        assert!(matches!(
            e,
            PromptError::MissingKey { .. } | PromptError::PlaceholderMismatch { .. }
        ));
    }
}
