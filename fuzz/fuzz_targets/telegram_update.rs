//! Fuzz target: arbitrary JSON bytes as a Telegram update, deserialised by teloxide the way the
//! webhook receives it (`updates::parse_update`), then turned into what the bot reacts to
//! (`channels::telegram::updates::classify`), with the pure steps that follow: callback_data
//! parsing (and its encode/parse round trip), HTML escaping of names and texts, and reading a
//! text or a button's pick into the request draft.
#![no_main]

use chrono::{TimeZone, Utc};
use connecting::channels::telegram::callback::{Callback, DraftAction};
use connecting::channels::telegram::draft::{self, Draft, Field};
use connecting::channels::telegram::html;
use connecting::channels::telegram::updates::{self, Incoming, classify};
use libfuzzer_sys::fuzz_target;
use std::sync::Once;

const FIELDS: [Field; 7] = [
    Field::Language,
    Field::Type,
    Field::Date,
    Field::Time,
    Field::Duration,
    Field::Modality,
    Field::Comune,
];

static HOOK: Once = Once::new();

fuzz_target!(|data: &[u8]| {
    // libfuzzer-sys aborts on every panic, even one caught with catch_unwind; parse_update
    // contains teloxide's panics by design, so the standard hook comes back (it prints, and an
    // uncaught panic still aborts through libfuzzer-sys's own check).
    HOOK.call_once(|| drop(std::panic::take_hook()));
    // What the webhook does (a panic inside teloxide's deserialiser is contained there).
    let Ok(update) = updates::parse_update(data) else {
        return;
    };
    let Some(now) = Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).single() else {
        return;
    };
    let tz = chrono_tz::Europe::Rome;
    if let Some(user) = update.from() {
        let _ = html::escape(&user.first_name);
    }
    let incoming = classify(&update);
    let _ = incoming.user_id();
    let field = FIELDS[data.len() % FIELDS.len()];
    match incoming {
        Incoming::Text { text, .. } => {
            let _ = html::escape(&text);
            let _ = draft::read_text(&text, now, tz);
            let _ = draft::read_answer(field, &text, now, tz);
        }
        Incoming::Command { arg, .. } => {
            let _ = html::escape(&arg);
        }
        Incoming::Callback { data, .. } => {
            if let Ok(cb) = Callback::parse(&data) {
                // What we parse, we can write back and read again identically.
                if let Ok(encoded) = cb.encode() {
                    assert_eq!(Callback::parse(&encoded).ok(), Some(cb.clone()));
                }
                if let Callback::Draft {
                    action: DraftAction::Pick(value),
                    ..
                } = &cb
                {
                    let mut d = Draft::default();
                    let _ = draft::apply_pick(&mut d, field, value);
                    let _ = d.missing();
                }
            }
        }
        Incoming::NonText { .. } | Incoming::Ignored { .. } => {}
    }
});
