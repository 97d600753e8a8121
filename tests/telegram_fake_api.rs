//! Smoke test of the fake Bot API server with the real teloxide 0.17 client: if teloxide accepts
//! every answer here, the fake is faithful enough for the bot's story tests.

#[path = "support/botapi.rs"]
mod botapi;

use botapi::{ActionKind, FakeBotApi};
use std::time::{Duration, Instant};
use teloxide::ApiError;
use teloxide::RequestError;
use teloxide::prelude::*;
use teloxide::types::{
    BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, MessageId, ParseMode, UpdateKind,
};

#[tokio::test]
async fn teloxide_accepts_every_answer_of_the_fake_server() {
    let fake = FakeBotApi::start().await;
    let bot = fake.bot();

    let me = bot.get_me().await.expect("getMe");
    assert!(me.user.is_bot);
    assert_eq!(me.user.id.0 as i64, botapi::BOT_ID);

    let kb = InlineKeyboardMarkup::new(vec![vec![
        InlineKeyboardButton::callback("Accetto", "a:1"),
        InlineKeyboardButton::callback("Non posso", "d:1"),
    ]]);
    let sent = bot
        .send_message(ChatId(42), "<b>Offerta</b> arabo &amp; francese")
        .parse_mode(ParseMode::Html)
        .reply_markup(kb)
        .await
        .expect("sendMessage");
    assert_eq!(sent.chat.id, ChatId(42));
    assert_eq!(sent.text(), Some("Offerta arabo & francese"));
    let seen = fake.message(42, sent.id.0 as i64).expect("stored");
    assert_eq!(seen.labels(), vec!["Accetto", "Non posso"]);
    // A date in seconds: teloxide parsed it into this year, not 1970 or the far future.
    let age = chrono::Utc::now() - sent.date;
    assert!(age.num_seconds().abs() < 60, "date {:?}", sent.date);

    let edited = bot
        .edit_message_text(ChatId(42), sent.id, "Già assegnata")
        .await
        .expect("editMessageText");
    assert_eq!(edited.id, sent.id);
    assert_eq!(edited.text(), Some("Già assegnata"));
    assert_eq!(
        fake.message(42, sent.id.0 as i64).map(|m| m.kind),
        Some(ActionKind::Edited)
    );
    bot.edit_message_reply_markup(ChatId(42), sent.id)
        .reply_markup(InlineKeyboardMarkup::new(vec![vec![
            InlineKeyboardButton::callback("Svolto", "s:1"),
        ]]))
        .await
        .expect("editMessageReplyMarkup");
    assert_eq!(
        fake.message(42, sent.id.0 as i64).map(|m| m.labels()),
        Some(vec!["Svolto".to_string()])
    );

    // A press on the button, through getUpdates.
    let text_id = fake.push_text(42, "ciao");
    let cb_id = fake.push_callback(42, 42, sent.id.0 as i64, "a:1");
    let updates = bot.get_updates().timeout(1).await.expect("getUpdates");
    assert_eq!(updates.len(), 2);
    assert_eq!(updates[0].id.0 as i64, text_id);
    match &updates[1].kind {
        UpdateKind::CallbackQuery(q) => {
            assert_eq!(q.id.0, cb_id);
            assert_eq!(q.data.as_deref(), Some("a:1"));
            assert_eq!(q.chat_instance, "ci42");
        }
        other => panic!("expected a callback query, got {other:?}"),
    }
    bot.answer_callback_query(teloxide::types::CallbackQueryId(cb_id.clone()))
        .text("ok")
        .await
        .expect("answerCallbackQuery");
    assert_eq!(fake.callback_answers(), vec![(cb_id, Some("ok".into()))]);

    // Without an offset nothing is confirmed: the same two come back.
    let again = bot.get_updates().await.expect("getUpdates again");
    assert_eq!(again.len(), 2);
    // An offset confirms everything below it.
    let last = updates[1].id.0 as i32;
    let after = bot
        .get_updates()
        .offset(last + 1)
        .timeout(0)
        .await
        .expect("getUpdates with offset");
    assert!(after.is_empty());
    assert_eq!(fake.pending_count(), 0);
    assert_eq!(fake.confirmed_offset(), last as i64 + 1);

    bot.set_my_commands(vec![BotCommand::new("aiuto", "Come funziona")])
        .await
        .expect("setMyCommands");
    assert_eq!(
        fake.commands(),
        vec![("aiuto".into(), "Come funziona".into())]
    );
    bot.delete_webhook().await.expect("deleteWebhook");

    // Editing an unknown message is an error teloxide understands.
    let e = bot
        .edit_message_text(ChatId(42), MessageId(999_999), "x")
        .await
        .expect_err("unknown message");
    assert!(
        matches!(e, RequestError::Api(ApiError::MessageToEditNotFound)),
        "{e:?}"
    );
}

#[tokio::test]
async fn long_poll_holds_until_an_update_arrives_or_the_timeout_passes() {
    let fake = FakeBotApi::start().await;
    let bot = fake.bot();

    let t = Instant::now();
    let none = bot.get_updates().timeout(1).await.expect("empty poll");
    assert!(none.is_empty());
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );

    let pusher = fake.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        pusher.push_text(7, "arrivo");
    });
    let t = Instant::now();
    let got = bot.get_updates().timeout(5).await.expect("poll");
    assert_eq!(got.len(), 1);
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
}

#[tokio::test]
async fn injected_errors_reach_teloxide_as_typed_errors() {
    let fake = FakeBotApi::start().await;
    let bot = fake.bot();
    fake.inject_429("sendMessage", 3);
    let e = bot.send_message(ChatId(1), "x").await.expect_err("429");
    match e {
        RequestError::RetryAfter(s) => assert_eq!(s.seconds(), 3),
        other => panic!("expected RetryAfter, got {other:?}"),
    }
    fake.inject(
        "sendMessage",
        403,
        "Forbidden: bot was blocked by the user",
        None,
    );
    let e = bot.send_message(ChatId(1), "x").await.expect_err("403");
    assert!(
        matches!(e, RequestError::Api(ApiError::BotBlocked)),
        "{e:?}"
    );
    // Then it works again.
    bot.send_message(ChatId(1), "x")
        .await
        .expect("after injected errors");

    // Unescaped user text in HTML mode is refused, as Telegram does.
    let e = bot
        .send_message(ChatId(1), "a <script> b")
        .parse_mode(ParseMode::Html)
        .await
        .expect_err("bad html");
    assert!(matches!(e, RequestError::Api(_)), "{e:?}");

    // A webhook blocks getUpdates, as on the real server.
    bot.set_webhook("https://example.org/hook".parse().expect("url"))
        .secret_token("s3cret".to_string())
        .await
        .expect("setWebhook");
    let info = bot.get_webhook_info().await.expect("getWebhookInfo");
    assert_eq!(
        info.url.map(|u| u.to_string()).as_deref(),
        Some("https://example.org/hook")
    );
    assert!(bot.get_updates().await.is_err());
    bot.delete_webhook().await.expect("deleteWebhook");
    assert!(bot.get_updates().await.is_ok());
}
