//! Fuzz target: arbitrary JSON bytes as a Telegram update, deserialised by teloxide the way the
//! poller and the webhook receive it, then turned into what the bot reacts to.
#![no_main]

use libfuzzer_sys::fuzz_target;
use teloxide::types::Update;

fuzz_target!(|data: &[u8]| {
    let Ok(update) = serde_json::from_slice::<Update>(data) else {
        return;
    };
    let _ = update.id;
    let _ = update.from();
    let _ = update.chat();
});
