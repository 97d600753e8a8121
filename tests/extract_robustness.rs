//! The extractor never panics: arbitrary Unicode (property test), Italian-looking noise, and every
//! real-world `.eml` of the shared corpus through mail-parser 0.11 + `prepare_email_text` + `extract`.

use chrono::{TimeZone, Utc};
use connecting::domain::Channel;
use connecting::extract::{Context, extract, prepare_email_text, to_parse_json};
use proptest::prelude::*;
use std::path::{Path, PathBuf};

fn ctx() -> Context {
    Context::new(
        Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0)
            .single()
            .expect("valid"),
        Channel::Email,
    )
}

const TOKENS: &[&str] = &[
    "alle",
    "ore",
    "dalle",
    "12/03",
    "14.30",
    "-",
    "mar",
    "marzo",
    "giovedì",
    "prossimo",
    "domani",
    "arabo",
    "via Roma",
    "12",
    "Dalmine",
    "presso",
    "urgente",
    "mediatrice",
    "29 febbraio",
    "h.",
    "tra",
    "3",
    "giorni",
    "un'ora e mezza",
    "Il giorno",
    "ha scritto:",
    "> ",
    "\n",
    "Da:",
    "Inviato:",
    "-----Messaggio originale-----",
    "<b>",
    "&egrave;",
    "’",
    "É",
    "٣",
    "🙂",
    "\u{0}",
    "Grazie,",
    "Laura Rossi",
    "035 123456",
    "rif.",
    "Prot. n.",
    "31/02/2027",
    "99:99",
    "0",
    "e",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_unicode_never_panics(s in "\\PC{0,400}") {
        let c = ctx();
        let _ = to_parse_json(&extract(&s, &c));
        let _ = prepare_email_text(Some(&s), None);
        let _ = prepare_email_text(None, Some(&s));
    }

    #[test]
    fn any_chars_never_panic(s in any::<String>()) {
        let c = ctx();
        let _ = extract(&s, &c);
        let _ = prepare_email_text(None, Some(&s));
    }

    #[test]
    fn italian_noise_never_panics(idx in proptest::collection::vec(0..TOKENS.len(), 0..60), sep in prop_oneof![Just(" "), Just(""), Just("\n"), Just(", ")]) {
        let s: Vec<&str> = idx.iter().map(|&i| TOKENS[i]).collect();
        let s = s.join(sep);
        let c = ctx();
        let d = extract(&s, &c);
        let j = to_parse_json(&d);
        prop_assert_eq!(j.as_object().map(|o| o.len()), Some(21));
        let _ = extract(&prepare_email_text(Some(&s), Some(&s)), &c);
    }
}

fn eml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            eml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "eml") {
            out.push(p);
        }
    }
}

#[test]
fn shared_email_corpus_never_panics() {
    let root = std::env::var("CONNECTING_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("/work/shared/corpus"));
    let mut files = Vec::new();
    eml_files(&root.join("email"), &mut files);
    if files.is_empty() {
        eprintln!(
            "no .eml corpus under {} (set CONNECTING_CORPUS): skipped",
            root.display()
        );
        return;
    }
    let c = ctx();
    let mut parsed = 0;
    for f in &files {
        let raw = std::fs::read(f).unwrap_or_default();
        match mail_parser::MessageParser::default().parse(&raw) {
            Some(msg) => {
                parsed += 1;
                let plain = msg.body_text(0);
                let html = msg.body_html(0);
                let text = prepare_email_text(plain.as_deref(), html.as_deref());
                let _ = to_parse_json(&extract(&text, &c));
            }
            None => {
                // mail-parser gave up: the raw bytes as text must still be safe
                let text = String::from_utf8_lossy(&raw);
                let _ = extract(&prepare_email_text(Some(&text), None), &c);
            }
        }
    }
    println!(
        "{} corpus e-mails, {parsed} parsed by mail-parser",
        files.len()
    );
    assert!(parsed > 0);
}
