//! The extractor's warnings in the reader's language: `connecting parse` writes them in the
//! configured `[intake] language`, their values too (weekdays, holidays, language names), from
//! the prompts (`prompts/<lang>/extract.toml`), never from Italian words in the code.

use std::io::Write;
use std::process::{Command, Stdio};

fn parse(lang: &str, text: &str) -> serde_json::Value {
    let mut child = Command::new(env!("CARGO_BIN_EXE_connecting"))
        .args(["parse", "--now", "2027-03-01T09:00:00+01:00"])
        .env("CONNECTING_DATABASE_URL", "sqlite::memory:")
        .env("CONNECTING_INTAKE_LANGUAGE", lang)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run connecting parse");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("written");
    let out = child.wait_with_output().expect("output");
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn messages(j: &serde_json::Value) -> Vec<String> {
    j["warnings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|w| w["message"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn warnings_are_written_in_the_configured_language() {
    let weekend = "Serve un mediatore per una famiglia marocchina, colloquio sabato 13 marzo alle 10 a Dalmine";
    let en = messages(&parse("en", weekend));
    assert!(
        en.iter().any(|m| m == "13/03/2027 is a Saturday: weekend"),
        "{en:?}"
    );
    assert!(
        en.iter()
            .any(|m| m.contains("suggested language Moroccan Arabic")),
        "{en:?}"
    );
    assert!(!en.iter().any(|m| m.contains("sabato")), "{en:?}");
    let it = messages(&parse("it", weekend));
    assert!(
        it.iter()
            .any(|m| m == "Il 13/03/2027 è sabato: giorno festivo o di fine settimana"),
        "{it:?}"
    );

    let holiday = "Serve un mediatore arabo per un colloquio lunedì 29 marzo alle 10 a Dalmine";
    let en = messages(&parse("en", holiday));
    assert!(
        en.iter()
            .any(|m| m == "29/03/2027 is a public holiday (Easter Monday)"),
        "{en:?}"
    );
}
