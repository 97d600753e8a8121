//! Whole-extractor tests on short texts: fields together, DST, notice, merge.

use super::*;
use chrono::TimeZone;

fn ctx(y: i32, m: u32, d: u32, h: u32) -> Context {
    let now = chrono_tz::Europe::Rome
        .with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc);
    Context::new(now, Channel::Telegram)
}

fn codes(d: &RequestDraft) -> Vec<&str> {
    d.warnings.iter().map(|w| w.code.as_str()).collect()
}

#[test]
fn the_issue_example() {
    let c = ctx(2027, 3, 1, 9); // Monday 1 March 2027
    let t = "Buongiorno, avremmo bisogno di una mediatrice di lingua araba per un colloquio giovedì 11 alle ore 14.30 presso il servizio di Dalmine, circa un'ora e mezza. Grazie, Laura Rossi 035 123456";
    let d = extract(t, &c);
    assert_eq!(d.language.as_ref().map(|l| l.code.as_str()), Some("ar"));
    assert_eq!(d.date, NaiveDate::from_ymd_opt(2027, 3, 11));
    assert_eq!(d.start, NaiveTime::from_hms_opt(14, 30, 0));
    assert_eq!(d.end, NaiveTime::from_hms_opt(16, 0, 0));
    assert_eq!(d.duration_minutes, Some(90));
    assert_eq!(d.intervention, Some(InterventionType::Colloquio));
    assert_eq!(d.comune.as_ref().map(|c| c.name.as_str()), Some("Dalmine"));
    assert_eq!(d.modality, Some(Modality::InPerson));
    assert_eq!(d.mediator_gender, Some(Gender::F));
    assert_eq!(d.requester.name.as_deref(), Some("Laura Rossi"));
    assert_eq!(d.requester.phone.as_deref(), Some("035123456"));
    assert!(d.missing.is_empty(), "{:?}", d.missing);
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    let j = to_parse_json(&d);
    let keys: Vec<&String> = j.as_object().unwrap().keys().collect();
    // The 17 fields of the contract, plus `unsure`, `question`, `series` (null for one
    // appointment) and `sources`.
    assert_eq!(keys.len(), 21);
    assert!(j["series"].is_null());
    assert_eq!(j["start"], "14:30");
    assert_eq!(j["comune"]["istat"], "016091");
}

#[test]
fn labelled_form() {
    let c = ctx(2027, 3, 1, 9);
    let t = "LINGUA: Urdu\nData: 15/03/2027\nOra: 9.30-11.00\nLuogo: Via Roma 12, Seriate\nTipo intervento: visita domiciliare\nUrgente: no\nRichiedente: Anna Verdi\nTelefono: 347 1234567";
    let d = extract(t, &c);
    assert_eq!(d.language.as_ref().map(|l| l.code.as_str()), Some("ur"));
    assert_eq!(d.date, NaiveDate::from_ymd_opt(2027, 3, 15));
    assert_eq!(d.start, NaiveTime::from_hms_opt(9, 30, 0));
    assert_eq!(d.end, NaiveTime::from_hms_opt(11, 0, 0));
    assert_eq!(d.duration_minutes, Some(90));
    assert_eq!(d.address.as_deref(), Some("Via Roma 12"));
    assert_eq!(d.comune.as_ref().map(|c| c.name.as_str()), Some("Seriate"));
    assert_eq!(d.intervention, Some(InterventionType::VisitaDomiciliare));
    assert!(!d.urgent);
    assert_eq!(d.requester.name.as_deref(), Some("Anna Verdi"));
    assert_eq!(d.requester.phone.as_deref(), Some("3471234567"));
}

#[test]
fn warnings_past_notice_weekend_holiday() {
    let c = ctx(2027, 3, 1, 9);
    let d = extract("colloquio in arabo il 26/02 alle 10 a Bergamo", &c);
    // 26/02 without year is the next one: 2028, not past
    assert_eq!(d.date, NaiveDate::from_ymd_opt(2028, 2, 26));
    let d = extract("colloquio in arabo il 26/02/2027 alle 10 a Bergamo", &c);
    assert!(codes(&d).contains(&"date_in_past"));
    let d = extract("colloquio in arabo domani alle 10 a Bergamo", &c);
    assert!(codes(&d).contains(&"short_notice"));
    let d = extract("colloquio in arabo sabato alle 10 a Bergamo", &c);
    assert!(codes(&d).contains(&"weekend"));
    let d = extract("colloquio in arabo il 29/03/2027 alle 10 a Bergamo", &c);
    assert!(codes(&d).contains(&"holiday"), "{:?}", d.warnings);
}

#[test]
fn notice_is_counted_across_the_dst_change() {
    // Friday 26 March 2027, 10:00 CET; clocks go forward on Sunday 28 March.
    let mut c = ctx(2027, 3, 26, 10);
    c.min_notice_hours = 72;
    // Monday 29 March 10:00 CEST is 71 real hours later (not 72): short notice.
    let d = extract("colloquio urdu lunedì 29/03/2027 alle 10 a Treviglio", &c);
    let w: Vec<_> = d
        .warnings
        .iter()
        .filter(|w| w.code == "short_notice")
        .collect();
    assert_eq!(w.len(), 1, "{:?}", d.warnings);
    assert!(w[0].message.contains("71"), "{}", w[0].message);
    // 02:30 on 28 March does not exist; still a valid draft, no panic.
    let d = extract("telefonata in urdu il 28/03/2027 alle 02:30", &c);
    assert_eq!(d.start, NaiveTime::from_hms_opt(2, 30, 0));
    // Autumn: Saturday 30 October 2027, "domani" is Sunday 31 (the day lasts 25 hours).
    let c = ctx(2027, 10, 30, 23);
    let d = extract("domani alle 10 telefonata in arabo", &c);
    assert_eq!(d.date, NaiveDate::from_ymd_opt(2027, 10, 31));
}

#[test]
fn prossimo_and_approximate_time_warn() {
    let c = ctx(2027, 3, 1, 9);
    let d = extract(
        "colloquio in albanese lunedì prossimo in mattinata a Dalmine",
        &c,
    );
    assert_eq!(d.date, NaiveDate::from_ymd_opt(2027, 3, 8));
    assert_eq!(d.start, NaiveTime::from_hms_opt(9, 0, 0));
    assert!(codes(&d).contains(&"prossimo_ambiguous"));
    assert!(codes(&d).contains(&"approximate_time"));
}

#[test]
fn translation_has_a_deadline() {
    let c = ctx(2027, 3, 1, 9);
    let d = extract(
        "Buongiorno, avremmo bisogno della traduzione scritta di un decreto in tigrino entro venerdì 12 marzo.",
        &c,
    );
    assert_eq!(d.intervention, Some(InterventionType::TraduzioneScritta));
    assert_eq!(d.deadline, NaiveDate::from_ymd_opt(2027, 3, 12));
    assert_eq!(d.date, None);
    assert!(d.missing.is_empty(), "{:?}", d.missing);
}

#[test]
fn nationality_is_only_a_suggestion() {
    let c = ctx(2027, 3, 1, 9);
    let d = extract(
        "colloquio con famiglia pakistana il 10/03 alle 10 a Dalmine",
        &c,
    );
    assert!(d.language.is_none());
    assert_eq!(
        d.nationality.as_ref().map(|n| n.suggested.code.as_str()),
        Some("ur")
    );
    assert!(d.missing.contains(&"language".to_string()));
    assert!(codes(&d).contains(&"nationality_only"));
}

#[test]
fn merge_fills_what_is_missing() {
    let c = ctx(2027, 3, 1, 9);
    let base = extract(
        "Serve una mediatrice araba per un colloquio a Seriate, grazie. Laura Rossi",
        &c,
    );
    assert!(base.missing.contains(&"date".to_string()));
    let reply = extract("giovedì alle 10", &c);
    let m = merge(&base, &reply, &c);
    assert_eq!(m.date, NaiveDate::from_ymd_opt(2027, 3, 4));
    assert_eq!(m.start, NaiveTime::from_hms_opt(10, 0, 0));
    assert_eq!(m.language, base.language);
    assert_eq!(m.comune, base.comune);
    assert!(m.missing.is_empty(), "{:?}", m.missing);
    // an approximate time gives way to the precise answer
    let base = extract("colloquio arabo a Seriate giovedì mattina", &c);
    assert!(base.time_approximate);
    let m = answer(&base, "start", "alle 11.30", &c);
    assert_eq!(m.start, NaiveTime::from_hms_opt(11, 30, 0));
    assert!(!codes(&m).contains(&"approximate_time"));
}

#[test]
fn never_panics_on_odd_input() {
    let c = ctx(2027, 3, 1, 9);
    for t in [
        "",
        "\u{0}",
        "ore 99:99",
        "31/02",
        "il 0/0/0000",
        "dalle 25 alle 3",
        "é́́́",
        "ALLE",
        "<<<>>>",
        "29 febbraio 2100",
    ] {
        let _ = to_parse_json(&extract(t, &c));
    }
}

#[test]
fn an_end_time_in_the_same_sentence() {
    let c = ctx(2027, 3, 1, 9);
    let d = extract(
        "colloquio arabo a Dalmine giovedì ore 14.30, fino alle 16 circa",
        &c,
    );
    assert_eq!(d.end, NaiveTime::from_hms_opt(16, 0, 0));
    assert_eq!(d.duration_minutes, Some(90));
    let d = extract(
        "colloquio arabo a Dalmine giovedì ore 14.30. La madre lavora fino alle 13.",
        &c,
    );
    assert_eq!(d.end, None);
}

#[test]
fn a_draft_round_trips_through_json_and_still_merges() {
    let c = ctx(2027, 3, 1, 9);
    let base = extract(
        "colloquio arabo lunedì prossimo a Seriate, grazie Laura Rossi",
        &c,
    );
    let stored = serde_json::to_string(&base).unwrap();
    let back: RequestDraft = serde_json::from_str(&stored).unwrap();
    assert_eq!(back, base);
    let m = merge(&back, &extract("alle 10", &c), &c);
    assert_eq!(m.start, NaiveTime::from_hms_opt(10, 0, 0));
    assert!(codes(&m).contains(&"prossimo_ambiguous"));
}

#[test]
fn instants_are_dst_safe() {
    // Sunday 28 March 2027, clocks go forward at 02:00: 10:00 CEST is 08:00 UTC.
    let c = ctx(2027, 3, 20, 9);
    let d = extract("telefonata in arabo il 28/03/2027 alle 10 per 2 ore", &c);
    let tz = chrono_tz::Europe::Rome;
    assert_eq!(
        d.starts_at(tz).map(|t| t.to_rfc3339()),
        Some("2027-03-28T08:00:00+00:00".into())
    );
    assert_eq!(
        d.ends_at(tz).map(|t| t.to_rfc3339()),
        Some("2027-03-28T10:00:00+00:00".into())
    );
}
