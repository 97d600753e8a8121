//! Fuzz target: raw bytes as an inbound email, through the whole pure pipeline intake runs
//! (parse within the default limits, classify, the effective message, text preparation,
//! extraction). Any panic, hang or memory blow-up is a finding.
#![no_main]

use chrono::{TimeZone, Utc};
use connecting::channels::email::{Context as ClassifyContext, Limits, classify, parse_email};
use connecting::domain::Channel;
use connecting::extract::{self, Context};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|raw: &[u8]| {
    let Ok(email) = parse_email(raw, &Limits::default()) else {
        return;
    };
    let is_ours = |id: &str| id.ends_with("@connecting.test");
    let ctx = ClassifyContext {
        is_ours: &is_ours,
    };
    let class = classify(&email, &ctx);
    let _ = class.as_str();
    let _ = class.acts_on_request();
    let eff = email.effective();
    let _ = eff.reply_address();
    let _ = eff.thread_ids().count();
    let text = extract::prepare_email_text(eff.text_plain.as_deref(), eff.text_html.as_deref());
    // The text the intake pipeline prepares today (the email module's call site).
    let _ = connecting::channels::email::text::prepare(
        eff.text_plain.as_deref(),
        eff.text_html.as_deref(),
    );
    let Some(now) = Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).single() else {
        return;
    };
    let draft = extract::extract(&text, &Context::new(now, Channel::Email));
    let _ = extract::to_parse_json(&draft);
});
