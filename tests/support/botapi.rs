//! A local fake Telegram Bot API server for tests and benches.
//!
//! Faithful to what the real Bot API sends, because the real teloxide client is pointed at it
//! (`Bot::new(token).set_api_url(url)`): every reply is `{"ok":true,"result":...}` or
//! `{"ok":false,"error_code":...,"description":...}`; `getMe` carries `is_bot`; dates are Unix
//! seconds; `getUpdates` honours `offset` (confirming everything below it) and `timeout` (long
//! polling: the request is held until an update arrives or the timeout passes); callback
//! queries carry `chat_instance`; `editMessageText` returns the edited Message;
//! `answerCallbackQuery` returns `true`. Errors (429 with `retry_after`, "bot was blocked") can
//! be injected per method. `sendDocument` takes a multipart upload as the real one does: the
//! file posted under `document` itself or referenced as `document=attach://<part>` (teloxide's
//! way), with `chat_id`, `caption` (at most 1024 characters) and `parse_mode`; the uploaded file
//! is recorded on the message ([`BotMessage::document`]) and the reply carries `document` and
//! `caption` instead of `text`.
//!
//! The test side pushes updates as a user would (text, callback press, raw JSON from the corpus)
//! and reads what the bot sent to a chat, optionally waiting for a message matching a predicate.
//!
//! Include with `#[path = "support/botapi.rs"] mod botapi;`.
#![allow(dead_code)]

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// The bot's own user id in the fake world.
pub const BOT_ID: i64 = 7_000_000_001;
pub const BOT_USERNAME: &str = "connecting_test_bot";

/// One message the bot sent (or its latest edited state), as seen by the user.
#[derive(Debug, Clone, PartialEq)]
pub struct BotMessage {
    pub chat_id: i64,
    pub message_id: i64,
    pub text: String,
    pub parse_mode: Option<String>,
    /// `link_preview_options.is_disabled` as sent (Telegram's servers fetch the URLs of a
    /// message unless it is set).
    pub preview_disabled: bool,
    /// Inline keyboard: rows of (text, callback_data).
    pub buttons: Vec<Vec<(String, String)>>,
    /// Sent, Edited (text), or MarkupEdited.
    pub kind: ActionKind,
    /// The file of a `sendDocument` (then `text` is its caption).
    pub document: Option<Upload>,
    /// Instant the server answered the request.
    pub at: Instant,
}

impl BotMessage {
    /// The callback_data of the button whose label is `label`, if any.
    pub fn button(&self, label: &str) -> Option<String> {
        self.buttons
            .iter()
            .flatten()
            .find(|(t, _)| t == label)
            .map(|(_, d)| d.clone())
    }
    pub fn labels(&self) -> Vec<String> {
        self.buttons
            .iter()
            .flatten()
            .map(|(t, _)| t.clone())
            .collect()
    }
}

/// A file the bot uploaded, as the multipart request carried it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Vec<u8>,
}

impl Upload {
    /// The file as text (an `.ics` is UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Sent,
    Edited,
    MarkupEdited,
}

/// An error the server returns instead of serving one call of a method.
#[derive(Debug, Clone)]
pub struct Injected {
    pub code: u16,
    pub description: String,
    pub retry_after: Option<u64>,
}

/// One call on a chat's menu: `Some(commands)` for setMyCommands, `None` for deleteMyCommands.
pub type MenuCall = Option<Vec<(String, String)>>;

#[derive(Default)]
struct Inner {
    token: String,
    /// Updates not yet confirmed (ids >= the last offset).
    pending: VecDeque<Value>,
    next_update_id: i64,
    next_message_id: i64,
    next_callback_id: i64,
    /// Every bot message by (chat, message_id), in its current state.
    messages: HashMap<(i64, i64), BotMessage>,
    /// Log of the bot's actions (send, edit), in order.
    log: Vec<BotMessage>,
    /// Per chat, how far the test has read in `log`.
    cursors: HashMap<i64, usize>,
    callback_answers: Vec<(String, Option<String>)>,
    commands: Vec<(String, String)>,
    /// Menus set for one chat (`BotCommandScopeChat`), by chat id.
    chat_commands: HashMap<i64, Vec<(String, String)>>,
    /// Every call on one chat's menu, in order: `Some(commands)` for setMyCommands, `None`
    /// for deleteMyCommands.
    chat_menu_calls: HashMap<i64, Vec<MenuCall>>,
    webhook: Option<(String, Option<String>)>,
    inject: HashMap<String, VecDeque<Injected>>,
    confirmed_offset: i64,
    calls: HashMap<String, u64>,
}

struct Shared {
    inner: Mutex<Inner>,
    updates_changed: Notify,
    bot_acted: Notify,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking test thread may poison the lock; the data is still fine for a fake.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A running fake server; dropped with the test's runtime.
#[derive(Clone)]
pub struct FakeBotApi {
    pub url: String,
    pub token: String,
    shared: Arc<Shared>,
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn user_json(id: i64) -> Value {
    json!({"id": id, "is_bot": false, "first_name": format!("Utente{id}"), "language_code": "it"})
}

fn private_chat_json(id: i64) -> Value {
    json!({"id": id, "type": "private", "first_name": format!("Utente{id}")})
}

fn bot_user_json() -> Value {
    json!({"id": BOT_ID, "is_bot": true, "first_name": "Connecting", "username": BOT_USERNAME})
}

fn keyboard_from(markup: Option<&Value>) -> Vec<Vec<(String, String)>> {
    let Some(rows) = markup
        .and_then(|m| m.get("inline_keyboard"))
        .and_then(|k| k.as_array())
    else {
        return Vec::new();
    };
    rows.iter()
        .map(|row| {
            row.as_array()
                .map(|bs| {
                    bs.iter()
                        .map(|b| {
                            (
                                b["text"].as_str().unwrap_or_default().to_string(),
                                b["callback_data"].as_str().unwrap_or_default().to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .collect()
}

fn message_json(m: &BotMessage, markup: Option<&Value>) -> Value {
    let mut v = json!({
        "message_id": m.message_id,
        "from": bot_user_json(),
        "chat": private_chat_json(m.chat_id),
        "date": now_secs(),
    });
    match &m.document {
        None => v["text"] = json!(strip_html(&m.text)),
        Some(d) => {
            v["document"] = json!({
                "file_id": format!("doc{}-{}", m.chat_id, m.message_id),
                "file_unique_id": format!("u{}-{}", m.chat_id, m.message_id),
                "file_name": d.file_name,
                "mime_type": d.content_type.clone().unwrap_or_else(|| "application/octet-stream".into()),
                "file_size": d.bytes.len(),
            });
            if !m.text.is_empty() {
                v["caption"] = json!(strip_html(&m.text));
            }
        }
    }
    if m.kind != ActionKind::Sent {
        v["edit_date"] = json!(now_secs());
    }
    if let Some(markup) = markup {
        v["reply_markup"] = markup.clone();
    }
    v
}

/// Roughly what a Telegram client shows for an HTML-formatted text: tags removed, the four
/// entities unescaped. Used for the text echoed back in Message results.
pub fn strip_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

fn ok(result: Value) -> Response {
    axum::Json(json!({"ok": true, "result": result})).into_response()
}

fn err(code: u16, description: &str, retry_after: Option<u64>) -> Response {
    let mut body = json!({"ok": false, "error_code": code, "description": description});
    if let Some(s) = retry_after {
        body["parameters"] = json!({"retry_after": s});
    }
    let status = axum::http::StatusCode::from_u16(code)
        .unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(body)).into_response()
}

impl FakeBotApi {
    /// Starts the server on a random loopback port.
    pub async fn start() -> FakeBotApi {
        let token = "123456:TEST-token_fake".to_string();
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                token: token.clone(),
                next_update_id: 100_000,
                next_message_id: 1,
                next_callback_id: 1,
                ..Default::default()
            }),
            updates_changed: Notify::new(),
            bot_acted: Notify::new(),
        });
        let app = Router::new()
            .route("/{bot_token}/{method}", any(handle))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeBotApi {
            url: format!("http://{addr}/"),
            token,
            shared,
        }
    }

    /// A real teloxide client pointed at this server.
    pub fn bot(&self) -> teloxide::Bot {
        teloxide::Bot::new(self.token.clone())
            .set_api_url(self.url.parse().expect("fake server url"))
    }

    // ----- the user's side -----

    /// Queues an update (raw JSON). Gives it an update_id when it has none; returns the id.
    pub fn push_raw(&self, mut update: Value) -> i64 {
        let id = {
            let mut g = self.shared.lock();
            let id = match update.get("update_id").and_then(|v| v.as_i64()) {
                Some(id) if id >= g.next_update_id => id,
                _ => g.next_update_id,
            };
            update["update_id"] = json!(id);
            g.next_update_id = id + 1;
            g.pending.push_back(update);
            id
        };
        self.shared.updates_changed.notify_waiters();
        id
    }

    /// A private text message from user `user_id`. Commands get a bot_command entity as
    /// Telegram adds one.
    pub fn push_text(&self, user_id: i64, text: &str) -> i64 {
        self.push_text_in(user_id, private_chat_json(user_id), text)
            .0
    }

    /// Like [`Self::push_text`], returning the message's own id (to edit it later).
    pub fn push_text_message(&self, user_id: i64, text: &str) -> i64 {
        self.push_text_in(user_id, private_chat_json(user_id), text)
            .1
    }

    /// User `user_id` writes in group `group_id` (a negative id, as Telegram's groups have).
    pub fn push_group_text(&self, user_id: i64, group_id: i64, text: &str) -> i64 {
        let chat = json!({"id": group_id, "type": "group", "title": "Servizi sociali"});
        self.push_text_in(user_id, chat, text).0
    }

    /// A forged update: user `user_id` appears to write in the private chat of `chat_id`.
    pub fn push_text_as_in(&self, user_id: i64, chat_id: i64, text: &str) -> i64 {
        self.push_text_in(user_id, private_chat_json(chat_id), text)
            .0
    }

    /// A private text message from a user whose Telegram is set to `language_code` (the
    /// others' is "it").
    pub fn push_text_speaking(&self, user_id: i64, text: &str, language_code: &str) -> i64 {
        let mut from = user_json(user_id);
        from["language_code"] = json!(language_code);
        self.push_text_from(from, private_chat_json(user_id), text)
            .0
    }

    /// A text message from `user_id` in `chat`: (update_id, message_id).
    fn push_text_in(&self, user_id: i64, chat: Value, text: &str) -> (i64, i64) {
        self.push_text_from(user_json(user_id), chat, text)
    }

    fn push_text_from(&self, from: Value, chat: Value, text: &str) -> (i64, i64) {
        let mid = self.next_user_message_id();
        let mut msg = json!({
            "message_id": mid,
            "from": from,
            "chat": chat,
            "date": now_secs(),
            "text": text,
        });
        if text.starts_with('/') {
            let len: usize = text
                .split_whitespace()
                .next()
                .map(|c| c.encode_utf16().count())
                .unwrap_or(1);
            msg["entities"] = json!([{"type": "bot_command", "offset": 0, "length": len}]);
        }
        (self.push_raw(json!({"message": msg})), mid)
    }

    /// The user edits an earlier message of theirs.
    pub fn push_edited_text(&self, user_id: i64, message_id: i64, text: &str) -> i64 {
        let msg = json!({
            "message_id": message_id,
            "from": user_json(user_id),
            "chat": private_chat_json(user_id),
            "date": now_secs() - 5,
            "edit_date": now_secs(),
            "text": text,
        });
        self.push_raw(json!({"edited_message": msg}))
    }

    /// A message of another kind (voice, photo, sticker...): `extra` is merged into the Message.
    pub fn push_message_with(&self, user_id: i64, extra: Value) -> i64 {
        let mid = self.next_user_message_id();
        let mut msg = json!({
            "message_id": mid,
            "from": user_json(user_id),
            "chat": private_chat_json(user_id),
            "date": now_secs(),
        });
        if let (Some(m), Some(e)) = (msg.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                m.insert(k.clone(), v.clone());
            }
        }
        self.push_raw(json!({"message": msg}))
    }

    /// User `user_id` presses a button with `data` under the bot message `message_id` of chat
    /// `chat_id` (normally the user's own chat; a different chat forges a press).
    /// Returns the callback query id.
    pub fn push_callback(&self, user_id: i64, chat_id: i64, message_id: i64, data: &str) -> String {
        let (cb_id, message) = {
            let mut g = self.shared.lock();
            let cb_id = format!("cb{}", g.next_callback_id);
            g.next_callback_id += 1;
            let message = match g.messages.get(&(chat_id, message_id)) {
                Some(m) => message_json(m, None),
                None => json!({
                    "message_id": message_id,
                    "from": bot_user_json(),
                    "chat": private_chat_json(chat_id),
                    "date": now_secs(),
                    "text": "",
                }),
            };
            (cb_id, message)
        };
        self.push_raw(json!({
            "callback_query": {
                "id": cb_id,
                "from": user_json(user_id),
                "message": message,
                "chat_instance": format!("ci{chat_id}"),
                "data": data,
            }
        }));
        cb_id
    }

    /// Presses the button labelled `label` on the bot's message `m` as the chat's own user.
    pub fn press(&self, m: &BotMessage, label: &str) -> Option<String> {
        let data = m.button(label)?;
        Some(self.push_callback(m.chat_id, m.chat_id, m.message_id, &data))
    }

    fn next_user_message_id(&self) -> i64 {
        let mut g = self.shared.lock();
        let id = g.next_message_id;
        g.next_message_id += 1;
        id
    }

    // ----- what the bot did -----

    /// Every action of the bot towards `chat_id`, in order.
    pub fn sent_to(&self, chat_id: i64) -> Vec<BotMessage> {
        let g = self.shared.lock();
        g.log
            .iter()
            .filter(|m| m.chat_id == chat_id)
            .cloned()
            .collect()
    }

    /// The current state of one bot message.
    pub fn message(&self, chat_id: i64, message_id: i64) -> Option<BotMessage> {
        self.shared
            .lock()
            .messages
            .get(&(chat_id, message_id))
            .cloned()
    }

    /// Waits (up to `timeout`) for the next action towards `chat_id`, not read before, that
    /// matches `pred`; earlier non-matching ones are skipped (marked read).
    pub async fn wait_for(
        &self,
        chat_id: i64,
        timeout: Duration,
        pred: impl Fn(&BotMessage) -> bool,
    ) -> Option<BotMessage> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.shared.bot_acted.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut g = self.shared.lock();
                let start = g.cursors.get(&chat_id).copied().unwrap_or(0);
                let mut found = None;
                let mut idx = start;
                for (i, m) in g.log.iter().enumerate().skip(start) {
                    if m.chat_id == chat_id {
                        idx = i + 1;
                        if pred(m) {
                            found = Some(m.clone());
                            break;
                        }
                    }
                }
                g.cursors.insert(chat_id, idx.max(start));
                if found.is_some() {
                    return found;
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    /// The next unread action towards `chat_id`, whatever it is.
    pub async fn next_to(&self, chat_id: i64, timeout: Duration) -> Option<BotMessage> {
        self.wait_for(chat_id, timeout, |_| true).await
    }

    pub fn callback_answers(&self) -> Vec<(String, Option<String>)> {
        self.shared.lock().callback_answers.clone()
    }

    pub fn commands(&self) -> Vec<(String, String)> {
        self.shared.lock().commands.clone()
    }

    /// The menu set for one chat, if any (`scope: {type: chat}`).
    pub fn chat_commands(&self, chat_id: i64) -> Option<Vec<(String, String)>> {
        self.shared.lock().chat_commands.get(&chat_id).cloned()
    }

    /// Every setMyCommands (`Some`) and deleteMyCommands (`None`) the bot made for one chat,
    /// in order.
    pub fn chat_menu_calls(&self, chat_id: i64) -> Vec<MenuCall> {
        self.shared
            .lock()
            .chat_menu_calls
            .get(&chat_id)
            .cloned()
            .unwrap_or_default()
    }

    pub fn webhook(&self) -> Option<(String, Option<String>)> {
        self.shared.lock().webhook.clone()
    }

    /// Offset the bot last confirmed (every update below it is gone).
    pub fn confirmed_offset(&self) -> i64 {
        self.shared.lock().confirmed_offset
    }

    /// Updates still waiting for confirmation.
    pub fn pending_count(&self) -> usize {
        self.shared.lock().pending.len()
    }

    /// Calls of `method` so far (any case: teloxide writes `SendMessage`).
    pub fn calls(&self, method: &str) -> u64 {
        self.shared
            .lock()
            .calls
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(method))
            .map(|(_, n)| n)
            .sum()
    }

    /// The next call of `method` fails with `code`/`description` (and `retry_after`).
    pub fn inject(&self, method: &str, code: u16, description: &str, retry_after: Option<u64>) {
        self.shared
            .lock()
            .inject
            .entry(method.to_string())
            .or_default()
            .push_back(Injected {
                code,
                description: description.to_string(),
                retry_after,
            });
    }

    /// The next call of `method` answers 429 Too Many Requests with `retry_after` seconds.
    pub fn inject_429(&self, method: &str, retry_after: u64) {
        self.inject(
            method,
            429,
            &format!("Too Many Requests: retry after {retry_after}"),
            Some(retry_after),
        );
    }
}

/// People tapping as fast as they can: until `stop`, presses once every button labelled
/// `label` that chat `chat` still sees, for each `(chat, label)` of `targets`.
pub fn spawn_tapper(
    api: Arc<FakeBotApi>,
    targets: Vec<(i64, &'static str)>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut pressed = std::collections::HashSet::new();
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            for (chat, label) in &targets {
                for m in api.sent_to(*chat) {
                    if pressed.contains(&(*chat, m.message_id)) {
                        continue;
                    }
                    if let Some(current) = api.message(*chat, m.message_id)
                        && current.button(label).is_some()
                    {
                        api.press(&current, label);
                        pressed.insert((*chat, m.message_id));
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

/// Parses the request parameters: JSON body, multipart form (teloxide uses it for
/// setWebhook and uploads), or a urlencoded body / query string.
fn params(content_type: &str, body: &Bytes, query: Option<String>) -> Value {
    if let Some(boundary) = content_type
        .strip_prefix("multipart/form-data")
        .and_then(|r| r.split("boundary=").nth(1))
    {
        return multipart(boundary.trim_matches('"'), body);
    }
    if let Ok(v) = serde_json::from_slice::<Value>(body)
        && v.is_object()
    {
        return v;
    }
    let mut map = serde_json::Map::new();
    let text = String::from_utf8_lossy(body);
    let sources = [text.to_string(), query.unwrap_or_default()];
    for src in sources.iter() {
        for pair in src.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = v.replace('+', " ");
            let v = percent_decode(&v);
            let val = serde_json::from_str::<Value>(&v).unwrap_or(Value::String(v));
            map.insert(k.to_string(), val);
        }
    }
    Value::Object(map)
}

fn multipart(boundary: &str, body: &Bytes) -> Value {
    let text = String::from_utf8_lossy(body);
    let mut map = serde_json::Map::new();
    for part in text.split(&format!("--{boundary}")) {
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let Some(name) = head
            .split("name=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
        else {
            continue;
        };
        let value = value.strip_suffix("\r\n").unwrap_or(value).to_string();
        let val = serde_json::from_str::<Value>(&value)
            .ok()
            .filter(|v| !v.is_number() || value.trim() == value)
            .unwrap_or(Value::String(value));
        map.insert(name.to_string(), val);
    }
    Value::Object(map)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len() + 1
            && let Some(h) = s.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(h, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn chat_id_of(p: &Value) -> Option<i64> {
    match &p["chat_id"] {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path((bot_token, method)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: axum::http::HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let p = params(content_type, &body, query);
    let method_key = method.to_ascii_lowercase();
    {
        let mut g = shared.lock();
        if bot_token.strip_prefix("bot") != Some(g.token.as_str()) {
            return err(401, "Unauthorized", None);
        }
        *g.calls.entry(method.clone()).or_default() += 1;
        let injected = g
            .inject
            .iter_mut()
            .find(|(k, _)| k.to_ascii_lowercase() == method_key)
            .and_then(|(_, q)| q.pop_front());
        if let Some(e) = injected {
            return err(e.code, &e.description, e.retry_after);
        }
    }
    match method_key.as_str() {
        "getme" => ok(bot_user_json_full()),
        "getupdates" => get_updates(shared, p).await,
        "sendmessage" => send_message(&shared, &p),
        "senddocument" => send_document(&shared, &p, content_type, &body),
        "editmessagetext" => edit_message(&shared, &p, true),
        "editmessagereplymarkup" => edit_message(&shared, &p, false),
        "answercallbackquery" => {
            let id = p["callback_query_id"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if id.is_empty() {
                return err(
                    400,
                    "Bad Request: query is too old and response timeout expired or query ID is invalid",
                    None,
                );
            }
            let text = p["text"].as_str().map(str::to_string);
            shared.lock().callback_answers.push((id, text));
            shared.bot_acted.notify_waiters();
            ok(json!(true))
        }
        "setmycommands" => {
            let cmds: Vec<(String, String)> = p["commands"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|c| {
                            (
                                c["command"].as_str().unwrap_or_default().to_string(),
                                c["description"].as_str().unwrap_or_default().to_string(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            let scope = &p["scope"];
            let mut g = shared.lock();
            match (scope["type"].as_str(), scope["chat_id"].as_i64()) {
                (Some("chat"), Some(chat)) => {
                    g.chat_menu_calls
                        .entry(chat)
                        .or_default()
                        .push(Some(cmds.clone()));
                    g.chat_commands.insert(chat, cmds);
                }
                _ => g.commands = cmds,
            }
            ok(json!(true))
        }
        "deletemycommands" => {
            let scope = &p["scope"];
            let mut g = shared.lock();
            match (scope["type"].as_str(), scope["chat_id"].as_i64()) {
                (Some("chat"), Some(chat)) => {
                    g.chat_menu_calls.entry(chat).or_default().push(None);
                    g.chat_commands.remove(&chat);
                }
                _ => g.commands.clear(),
            }
            ok(json!(true))
        }
        "getmycommands" => {
            let cmds: Vec<Value> = shared
                .lock()
                .commands
                .iter()
                .map(|(c, d)| json!({"command": c, "description": d}))
                .collect();
            ok(Value::Array(cmds))
        }
        "deletewebhook" => {
            let mut g = shared.lock();
            g.webhook = None;
            if p["drop_pending_updates"].as_bool() == Some(true) {
                g.pending.clear();
            }
            ok(json!(true))
        }
        "setwebhook" => {
            let url = p["url"].as_str().unwrap_or_default().to_string();
            let secret = p["secret_token"].as_str().map(str::to_string);
            shared.lock().webhook = if url.is_empty() {
                None
            } else {
                Some((url, secret))
            };
            ok(json!(true))
        }
        "getwebhookinfo" => {
            let g = shared.lock();
            let url = g.webhook.as_ref().map(|w| w.0.clone()).unwrap_or_default();
            ok(json!({
                "url": url,
                "has_custom_certificate": false,
                "pending_update_count": g.pending.len(),
            }))
        }
        _ => err(404, "Not Found: method not found", None),
    }
}

fn bot_user_json_full() -> Value {
    let mut u = bot_user_json();
    u["can_join_groups"] = json!(true);
    u["can_read_all_group_messages"] = json!(false);
    u["supports_inline_queries"] = json!(false);
    u["can_connect_to_business"] = json!(false);
    u["has_main_web_app"] = json!(false);
    u
}

async fn get_updates(shared: Arc<Shared>, p: Value) -> Response {
    let offset = p["offset"].as_i64();
    let limit = p["limit"].as_u64().unwrap_or(100).clamp(1, 100) as usize;
    let timeout = p["timeout"].as_u64().unwrap_or(0).min(50);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    loop {
        let notified = shared.updates_changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        {
            let mut g = shared.lock();
            if g.webhook.is_some() {
                return err(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
                    None,
                );
            }
            if let Some(off) = offset {
                // Confirms every update with an id below the offset.
                g.pending
                    .retain(|u| u["update_id"].as_i64().unwrap_or(i64::MIN) >= off);
                if off > g.confirmed_offset {
                    g.confirmed_offset = off;
                }
            }
            if !g.pending.is_empty() {
                let batch: Vec<Value> = g.pending.iter().take(limit).cloned().collect();
                return ok(Value::Array(batch));
            }
        }
        if timeout == 0 || tokio::time::timeout_at(deadline, notified).await.is_err() {
            return ok(json!([]));
        }
    }
}

fn send_message(shared: &Shared, p: &Value) -> Response {
    let Some(chat_id) = chat_id_of(p) else {
        return err(400, "Bad Request: chat_id is empty", None);
    };
    let text = p["text"].as_str().unwrap_or_default().to_string();
    if text.trim().is_empty() {
        return err(400, "Bad Request: message text is empty", None);
    }
    if text.chars().count() > 4096 {
        return err(400, "Bad Request: message is too long", None);
    }
    let markup = p.get("reply_markup").filter(|m| !m.is_null());
    if let Some(e) = check_markup(markup) {
        return e;
    }
    let parse_mode = p["parse_mode"].as_str().map(str::to_string);
    if parse_mode.as_deref() == Some("HTML") && !html_ok(&text) {
        return err(
            400,
            "Bad Request: can't parse entities: Unsupported start tag",
            None,
        );
    }
    let m = {
        let mut g = shared.lock();
        let message_id = g.next_message_id;
        g.next_message_id += 1;
        let m = BotMessage {
            chat_id,
            message_id,
            text,
            parse_mode,
            preview_disabled: p["link_preview_options"]["is_disabled"].as_bool() == Some(true),
            buttons: keyboard_from(markup),
            kind: ActionKind::Sent,
            document: None,
            at: Instant::now(),
        };
        g.messages.insert((chat_id, message_id), m.clone());
        g.log.push(m.clone());
        m
    };
    shared.bot_acted.notify_waiters();
    ok(message_json(&m, markup))
}

/// The parts of a `multipart/form-data` body, as bytes: (field name, upload).
fn multipart_parts(boundary: &str, body: &[u8]) -> Vec<(String, Upload)> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut cuts = Vec::new();
    let mut i = 0;
    while i + delimiter.len() <= body.len() {
        if body[i..].starts_with(&delimiter) {
            cuts.push(i);
            i += delimiter.len();
        } else {
            i += 1;
        }
    }
    let mut parts = Vec::new();
    for w in cuts.windows(2) {
        let part = &body[w[0] + delimiter.len()..w[1]];
        let part = part.strip_prefix(b"\r\n").unwrap_or(part);
        let part = part.strip_suffix(b"\r\n").unwrap_or(part);
        let Some(split) = part.windows(4).position(|x| x == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]).into_owned();
        let content = part[split + 4..].to_vec();
        let param = |key: &str| {
            head.split(&format!("{key}=\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .map(str::to_string)
        };
        let Some(name) = param(" name").or_else(|| param(";name")) else {
            continue;
        };
        let content_type = head.lines().find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.trim().eq_ignore_ascii_case("content-type"))
                .map(|(_, v)| v.trim().to_string())
        });
        parts.push((
            name,
            Upload {
                file_name: param("filename"),
                content_type,
                bytes: content,
            },
        ));
    }
    parts
}

/// `sendDocument` with an uploaded file (a file_id or URL of a file we never saw is refused
/// as the real server refuses it).
fn send_document(shared: &Shared, p: &Value, content_type: &str, body: &Bytes) -> Response {
    let Some(chat_id) = chat_id_of(p) else {
        return err(400, "Bad Request: chat_id is empty", None);
    };
    let Some(boundary) = content_type
        .strip_prefix("multipart/form-data")
        .and_then(|r| r.split("boundary=").nth(1))
    else {
        return err(
            400,
            "Bad Request: wrong file identifier/HTTP URL specified",
            None,
        );
    };
    let parts = multipart_parts(boundary.trim_matches('"'), body);
    let field = |name: &str| {
        parts
            .iter()
            .find(|(n, u)| n == name && u.file_name.is_some())
            .map(|(_, u)| u.clone())
    };
    let reference = p["document"].as_str().unwrap_or_default();
    let upload = match reference.strip_prefix("attach://") {
        Some(part) => field(part),
        None => field("document"),
    };
    let Some(upload) = upload.filter(|u| !u.bytes.is_empty()) else {
        return err(
            400,
            "Bad Request: wrong file identifier/HTTP URL specified",
            None,
        );
    };
    let caption = p["caption"].as_str().unwrap_or_default().to_string();
    if strip_html(&caption).chars().count() > 1024 {
        return err(400, "Bad Request: message caption is too long", None);
    }
    let markup = p.get("reply_markup").filter(|m| !m.is_null());
    if let Some(e) = check_markup(markup) {
        return e;
    }
    let parse_mode = p["parse_mode"].as_str().map(str::to_string);
    if parse_mode.as_deref() == Some("HTML") && !html_ok(&caption) {
        return err(
            400,
            "Bad Request: can't parse entities: Unsupported start tag",
            None,
        );
    }
    let m = {
        let mut g = shared.lock();
        let message_id = g.next_message_id;
        g.next_message_id += 1;
        let m = BotMessage {
            chat_id,
            message_id,
            text: caption,
            parse_mode,
            preview_disabled: false,
            buttons: keyboard_from(markup),
            kind: ActionKind::Sent,
            document: Some(upload),
            at: Instant::now(),
        };
        g.messages.insert((chat_id, message_id), m.clone());
        g.log.push(m.clone());
        m
    };
    shared.bot_acted.notify_waiters();
    ok(message_json(&m, markup))
}

fn edit_message(shared: &Shared, p: &Value, text_too: bool) -> Response {
    let Some(chat_id) = chat_id_of(p) else {
        return err(400, "Bad Request: chat_id is empty", None);
    };
    let Some(message_id) = p["message_id"].as_i64() else {
        return err(
            400,
            "Bad Request: message identifier is not specified",
            None,
        );
    };
    let markup = p.get("reply_markup").filter(|m| !m.is_null());
    if let Some(e) = check_markup(markup) {
        return e;
    }
    let m = {
        let mut g = shared.lock();
        let Some(existing) = g.messages.get(&(chat_id, message_id)).cloned() else {
            return err(400, "Bad Request: message to edit not found", None);
        };
        let mut m = existing.clone();
        if text_too && existing.document.is_some() {
            return err(
                400,
                "Bad Request: there is no text in the message to edit",
                None,
            );
        }
        if text_too {
            let text = p["text"].as_str().unwrap_or_default().to_string();
            if text.trim().is_empty() {
                return err(400, "Bad Request: message text is empty", None);
            }
            m.parse_mode = p["parse_mode"].as_str().map(str::to_string);
            if m.parse_mode.as_deref() == Some("HTML") && !html_ok(&text) {
                return err(
                    400,
                    "Bad Request: can't parse entities: Unsupported start tag",
                    None,
                );
            }
            m.text = text;
        }
        let new_buttons = keyboard_from(markup);
        if m.text == existing.text && new_buttons == existing.buttons {
            return err(
                400,
                "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
                None,
            );
        }
        m.buttons = new_buttons;
        m.kind = if text_too {
            ActionKind::Edited
        } else {
            ActionKind::MarkupEdited
        };
        m.at = Instant::now();
        g.messages.insert((chat_id, message_id), m.clone());
        g.log.push(m.clone());
        m
    };
    shared.bot_acted.notify_waiters();
    ok(message_json(&m, markup))
}

/// callback_data is limited to 1-64 bytes by Telegram.
fn check_markup(markup: Option<&Value>) -> Option<Response> {
    for row in keyboard_from(markup) {
        for (_, data) in row {
            if data.is_empty() || data.len() > 64 {
                return Some(err(400, "Bad Request: BUTTON_DATA_INVALID", None));
            }
        }
    }
    None
}

/// Telegram's HTML mode accepts a few tags; a bare `<` or `&` not forming an entity is an
/// error. Good enough to catch unescaped user text.
fn html_ok(text: &str) -> bool {
    const TAGS: [&str; 14] = [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "code",
        "pre",
        "a",
        "tg-spoiler",
        "blockquote",
    ];
    let mut rest = text;
    while let Some(pos) = rest.find(['<', '&']) {
        let tail = &rest[pos..];
        if let Some(after) = tail.strip_prefix('&') {
            let ok = ["&lt;", "&gt;", "&amp;", "&quot;"]
                .iter()
                .any(|e| tail.starts_with(e))
                || tail.strip_prefix("&#").and_then(|t| t.find(';')).is_some();
            if !ok {
                return false;
            }
            rest = after;
        } else {
            let Some(end) = tail.find('>') else {
                return false;
            };
            let inner = tail[1..end].trim_start_matches('/');
            let name = inner.split_whitespace().next().unwrap_or_default();
            if !TAGS.contains(&name) {
                return false;
            }
            rest = &tail[end + 1..];
        }
    }
    true
}

/// Every sample in the Telegram corpus as an update body ready for [`FakeBotApi::push_raw`]:
/// bare Message objects are wrapped as `message`, bare CallbackQuery objects as
/// `callback_query`, getUpdates answers are split into their updates. Returns (file, update).
pub fn corpus_updates(dir: &std::path::Path) -> Vec<(String, Value)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(&path).expect("corpus file");
        let v: Value = serde_json::from_str(&text).expect("corpus json");
        if let Some(list) = v.get("result").and_then(|r| r.as_array()) {
            for u in list {
                out.push((name.clone(), u.clone()));
            }
        } else if v.get("chat_instance").is_some() {
            out.push((name, json!({"callback_query": v})));
        } else if v.get("message_id").is_some() {
            out.push((name, json!({"message": v})));
        } else {
            out.push((name, v));
        }
    }
    out
}
