//! Regression tests for what the fuzzers (fuzz/, `scripts/fuzz`) found: every crash, hang or
//! memory blow-up is kept here, fed through the same functions as its fuzz target, so the normal
//! suite proves it stays fixed. Inputs live in tests/fixtures/fuzz/<target>/ or are built inline
//! (large ones).

use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone, Utc};
use connecting::channels::email::{
    Class, Context as ClassifyContext, Limits, classify, parse_email,
};
use connecting::channels::telegram::updates::{self, Incoming, ParseUpdateError};
use connecting::domain::{Channel, InterventionType};
use connecting::extract::{self, Context, RequestDraft};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0)
        .single()
        .expect("valid fixed time")
}

/// The email_pipeline target's path: parse, classify, effective message, text, extraction.
fn email_pipeline(raw: &[u8]) -> Option<(Class, RequestDraft)> {
    let email = parse_email(raw, &Limits::default()).ok()?;
    let is_ours = |id: &str| id.ends_with("@connecting.test");
    let ctx = ClassifyContext { is_ours: &is_ours };
    let class = classify(&email, &ctx);
    let eff = email.effective();
    let text = extract::prepare_email_text(eff.text_plain.as_deref(), eff.text_html.as_deref());
    let draft = extract::extract(&text, &Context::new(now(), Channel::Email));
    Some((class, draft))
}

/// A sensible draft: its JSON view is an object, and an unknown language or date is listed as
/// missing.
fn assert_sensible(draft: &RequestDraft) {
    let json = extract::to_parse_json(draft);
    assert!(json.is_object(), "parse JSON is an object: {json}");
    if draft.language.is_none() {
        assert!(
            draft.missing.iter().any(|m| m == "language"),
            "{:?}",
            draft.missing
        );
    }
    let translation = draft.intervention == Some(InterventionType::TraduzioneScritta);
    if draft.date.is_none() && !translation {
        assert!(
            draft.missing.iter().any(|m| m == "date"),
            "{:?}",
            draft.missing
        );
    }
}

/// Base64-looking filler lines, as in the mail the fuzzer grew (76 columns, CRLF).
fn filler(bytes: usize) -> String {
    let line = "YOHJv9/T+bnJ+bXNs/unw7OXr93t66ep27ePwe/Ll/m598+3wem1zbmdeZ3pya295amx36/R3bWz\r\n";
    line.repeat(bytes / line.len() + 1)
}

fn plain_mail(body: &str) -> Vec<u8> {
    format!(
        "From: Assistente Sociale <as@comune.example>\r\nTo: info@coop.example\r\n\
         Subject: Richiesta mediatore\r\nMessage-ID: <fuzz-1@comune.example>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}"
    )
    .into_bytes()
}

/// email_pipeline timeout (fuzz/artifacts/email_pipeline/timeout-d93fab17...): a 695 KB plain-text
/// mail took over 1 s in extraction, all of it regex passes over 200 KB; then timeout-dd7dfc30...:
/// 152 KB with a few hundred non-ASCII bytes, still over 1 s at 64 KiB. The extractor now reads
/// only `extract::MAX_TEXT` (32 KiB): what comes after is ignored.
#[test]
fn huge_plain_text_mail_is_read_only_up_to_the_cap() {
    assert_eq!(extract::MAX_TEXT, 32 * 1024);
    let head = "SERVE UN MEDIATORE UOMO di lingua araba\r\n";
    let (class, draft) =
        email_pipeline(&plain_mail(&format!("{head}{}", filler(700_000)))).expect("parsed");
    assert_eq!(class.as_str(), "new_request");
    assert_sensible(&draft);
    assert_eq!(draft.language.as_ref().map(|l| l.code.as_str()), Some("ar"));

    // Non-ASCII bytes all through the text (the second finding's shape).
    let body = format!("{head}{}", filler(160_000).replace('/', "é€"));
    let (_, draft) = email_pipeline(&plain_mail(&body)).expect("parsed");
    assert_sensible(&draft);
    assert_eq!(draft.language.as_ref().map(|l| l.code.as_str()), Some("ar"));

    // The same language word after the cap is not read.
    let tail = format!("{}\r\nlingua araba\r\n", filler(700_000));
    let (_, draft) = email_pipeline(&plain_mail(&tail)).expect("parsed");
    assert_sensible(&draft);
    assert!(draft.language.is_none(), "{:?}", draft.language);
    assert!(draft.missing.iter().any(|m| m == "language"));
}

/// Hostile text with thousands of dates and times made the "span already used" checks quadratic
/// (found probing the extractor target with long inputs); now a binary search. The first date
/// and time still win.
#[test]
fn thousands_of_dates_are_read_in_one_pass() {
    let text = "mediatore arabo il 12/03 ore 10 ".repeat(extract::MAX_TEXT / 32 + 10);
    let draft = extract::extract(&text, &Context::new(now(), Channel::Telegram));
    assert_sensible(&draft);
    assert_eq!(draft.date, NaiveDate::from_ymd_opt(2027, 3, 12));
    assert_eq!(draft.start, NaiveTime::from_hms_opt(10, 0, 0));
    assert_eq!(draft.language.as_ref().map(|l| l.code.as_str()), Some("ar"));
}

/// email_pipeline crash (fuzz/artifacts/email_pipeline/crash-a26fa050..., second session): a
/// mutated delivery report reaches mail-parser 0.11.9's `debug_assert!(false, "Invalid part ID,
/// could not find multipart.")`. `parse_email` contains the parser's panics: the message is a
/// parse error (kept in quarantine by the intake), never a dead poller.
#[test]
fn a_panic_inside_the_mime_parser_is_a_parse_error() {
    let raw = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/fuzz/email/mail_parser_invalid_part_id.eml"),
    )
    .expect("fixture readable");
    let parsed = parse_email(&raw, &Limits::default());
    if cfg!(debug_assertions) {
        // This build has the parser's debug assertions on: it panicked inside, and we got an
        // error instead.
        assert!(
            matches!(
                parsed,
                Err(connecting::channels::email::ParseError::ParserFailed)
            ),
            "{parsed:?}"
        );
    }
    // Whatever the build, the whole pipeline answers without panicking.
    let _ = email_pipeline(&raw);
}

/// telegram_update crash (fuzz/artifacts/telegram_update/crash-3d65a1fc...): teloxide-core 0.13
/// panics (`Option::unwrap` on `None`) deserialising a `message_reaction` with neither `user` nor
/// `actor_chat`. The webhook reads updates through `updates::parse_update`, which contains it.
#[test]
fn message_reaction_without_actor_is_refused_not_a_panic() {
    let raw = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/fuzz/telegram/message_reaction_without_actor.json"),
    )
    .expect("fixture readable");
    assert!(matches!(
        updates::parse_update(&raw),
        Err(ParseUpdateError::Panicked)
    ));
    // With its `user` back, the same update reads and is ignored (a group reaction).
    let fixed = String::from_utf8_lossy(&raw).replace("\"?user\"", "\"user\"");
    let update = updates::parse_update(fixed.as_bytes()).expect("a valid update");
    assert!(matches!(
        updates::classify(&update),
        Incoming::Ignored { .. }
    ));
    // Not JSON at all is an ordinary error.
    assert!(matches!(
        updates::parse_update(b"{\"update_id\":"),
        Err(ParseUpdateError::Json(_))
    ));
}
