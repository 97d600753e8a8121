//! The bundled example requests (`examples/requests/`, used by the README's first command) are
//! understood as intended: .eml through mail-parser + `prepare_email_text`, .txt as chat text.

use chrono::{TimeZone, Utc};
use connecting::domain::Channel;
use connecting::extract::{Context, extract, prepare_email_text, to_parse_json};
use serde_json::Value;
use std::path::Path;

fn parse(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("examples/requests")
        .join(name);
    let raw = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let now = Utc
        .with_ymd_and_hms(2027, 1, 10, 8, 0, 0)
        .single()
        .expect("valid");
    let (text, channel) = if name.ends_with(".eml") {
        let msg = mail_parser::MessageParser::default()
            .parse(&raw)
            .unwrap_or_else(|| panic!("{name}: not parsed"));
        let plain = msg.body_text(0);
        let html = msg.body_html(0);
        let plain = if msg.text_body.is_empty() {
            None
        } else {
            plain
        };
        (
            prepare_email_text(plain.as_deref(), html.as_deref()),
            Channel::Email,
        )
    } else {
        (
            String::from_utf8_lossy(&raw).into_owned(),
            Channel::Telegram,
        )
    };
    to_parse_json(&extract(&text, &Context::new(now, channel)))
}

#[test]
fn examples_are_understood() {
    let j = parse("01-email-arabo-dalmine.eml");
    assert_eq!(j["language"]["code"], "ar");
    assert_eq!(j["date"], "2027-01-21");
    assert_eq!(
        (j["start"].as_str(), j["end"].as_str()),
        (Some("14:30"), Some("16:00"))
    );
    assert_eq!(j["comune"]["name"], "Dalmine");
    assert_eq!(j["requester"]["name"], "Laura Rossi");
    assert_eq!(j["missing"], serde_json::json!([]));

    let j = parse("02-email-outlook-html-urdu.eml");
    assert_eq!(j["language"]["code"], "ur");
    assert_eq!(j["date"], "2027-01-18");
    assert_eq!(j["intervention"], "visita_domiciliare");
    assert_eq!(j["comune"]["name"], "Seriate");
    assert_eq!(j["urgent"], true);
    assert_eq!(j["case_ref"], "2027/0153");
    assert_eq!(j["requester"]["name"], "Anna Verdi");

    let j = parse("03-email-inoltro-wolof.eml");
    assert_eq!(j["language"]["code"], "wo");
    assert_eq!(j["intervention"], "incontro_protetto");
    assert_eq!(
        (j["start"].as_str(), j["end"].as_str()),
        (Some("15:00"), Some("16:30"))
    );
    assert_eq!(j["requester"]["phone"], "3471234567");

    let j = parse("04-email-traduzione-tigrino.eml");
    assert_eq!(j["intervention"], "traduzione_scritta");
    assert_eq!(j["deadline"], "2027-01-29");
    assert_eq!(j["date"], Value::Null);

    let j = parse("05-chat-bengalese.txt");
    assert_eq!(j["language"]["code"], "bn");
    assert_eq!(j["end"], "11:30");
    assert_eq!(j["mediator_gender"], "f");

    let j = parse("06-chat-urgente-somalo.txt");
    assert_eq!(j["intervention"], "udienza");
    assert_eq!(j["duration_minutes"], 240);
    assert_eq!(j["case_ref"], "RG 233/2026");

    let j = parse("07-chat-incompleta.txt");
    assert_eq!(j["language"], Value::Null);
    let codes: Vec<&str> = j["warnings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| w["code"].as_str())
        .collect();
    assert!(
        codes.contains(&"nationality_only") && codes.contains(&"vague_date"),
        "{codes:?}"
    );

    let j = parse("08-email-risposta-con-citazione.eml");
    assert_eq!(j["language"]["code"], "pa");
    assert_eq!(j["address"], "via Roma 3");
    assert_eq!(j["date"], "2027-01-28");

    // A series: eight Tuesdays from 19 January, the first meeting as the date.
    let j = parse("09-email-serie-incontri-protetti.eml");
    assert_eq!(j["language"]["code"], "ar");
    assert_eq!(j["intervention"], "incontro_protetto");
    assert_eq!(j["date"], "2027-01-19");
    assert_eq!(
        (j["start"].as_str(), j["end"].as_str()),
        (Some("15:00"), Some("16:00"))
    );
    assert_eq!(j["comune"]["name"], "Seriate");
    assert_eq!(j["series"]["rrule"], "FREQ=WEEKLY;BYDAY=TU;COUNT=8");
    assert_eq!(j["missing"], serde_json::json!([]));
}
