//! Test helper: a small OAuth2 provider on loopback, written for the tests: the token endpoint
//! (refresh-token grant with optional rotation, device-code grant), the device-code endpoint
//! (RFC 8628; a code is approved on its second poll) and an RFC 7662 introspection endpoint,
//! which Dovecot's `oauth2` passdb and the test SMTP server ask about every bearer token.
//!
//! Include with `#[path = "support/oauth.rs"] mod oauth;`.
#![allow(dead_code)]

use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const CLIENT_ID: &str = "connecting-test-client";

#[derive(Default)]
pub struct Provider {
    /// Lifetime of the access tokens handed out.
    pub access_ttl: Duration,
    /// A new refresh token with every refresh (the old one stops working).
    pub rotate: bool,
    /// Refresh token -> still valid.
    pub refresh_tokens: HashMap<String, bool>,
    /// Access token -> expiry (and revoked ones are removed).
    pub access_tokens: HashMap<String, Instant>,
    /// Device code -> polls so far.
    pub device_codes: HashMap<String, u32>,
    pub refresh_grants: u32,
    pub device_grants: u32,
    pub introspections: u32,
    /// The account's user name, as `username` in the introspection answer.
    pub user: String,
    serial: u64,
}

impl Provider {
    fn next(&mut self, kind: &str) -> String {
        self.serial += 1;
        format!("{kind}-{}-{}", self.serial, rand::random::<u64>())
    }

    fn grant(&mut self, old_refresh: Option<&str>) -> serde_json::Value {
        let access = self.next("at");
        self.access_tokens
            .insert(access.clone(), Instant::now() + self.access_ttl);
        let mut body = json!({
            "token_type": "Bearer",
            "access_token": access,
            "expires_in": self.access_ttl.as_secs(),
        });
        if old_refresh.is_none() || self.rotate {
            if let Some(old) = old_refresh {
                self.refresh_tokens.insert(old.to_owned(), false);
            }
            let fresh = self.next("rt");
            self.refresh_tokens.insert(fresh.clone(), true);
            body["refresh_token"] = json!(fresh);
        }
        body
    }
}

pub struct TokenServer {
    pub port: u16,
    pub provider: Arc<Mutex<Provider>>,
    task: tokio::task::JoinHandle<()>,
}

type Shared = Arc<Mutex<Provider>>;

fn error(code: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({ "error": code, "error_description": description })),
    )
        .into_response()
}

async fn token(State(p): State<Shared>, Form(f): Form<HashMap<String, String>>) -> Response {
    let mut p = p.lock().unwrap();
    if f.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return error("invalid_client", "unknown client");
    }
    match f.get("grant_type").map(String::as_str) {
        Some("refresh_token") => {
            p.refresh_grants += 1;
            let rt = f.get("refresh_token").cloned().unwrap_or_default();
            if p.refresh_tokens.get(&rt) != Some(&true) {
                return error(
                    "invalid_grant",
                    "AADSTS70008: The refresh token has expired or been revoked.",
                );
            }
            Json(p.grant(Some(&rt))).into_response()
        }
        Some("urn:ietf:params:oauth:grant-type:device_code") => {
            let dc = f.get("device_code").cloned().unwrap_or_default();
            let Some(polls) = p.device_codes.get_mut(&dc) else {
                return error("expired_token", "unknown device code");
            };
            *polls += 1;
            if *polls < 2 {
                return error("authorization_pending", "waiting for the user");
            }
            p.device_codes.remove(&dc);
            p.device_grants += 1;
            Json(p.grant(None)).into_response()
        }
        _ => error("unsupported_grant_type", "no such grant"),
    }
}

async fn device(State(p): State<Shared>, Form(f): Form<HashMap<String, String>>) -> Response {
    let mut p = p.lock().unwrap();
    if f.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
        return error("invalid_client", "unknown client");
    }
    let code = p.next("dc");
    p.device_codes.insert(code.clone(), 0);
    Json(json!({
        "device_code": code,
        "user_code": "WDJB-MJHT",
        "verification_uri": "https://login.example/device",
        "expires_in": 900,
        "interval": 0,
    }))
    .into_response()
}

async fn introspect(State(p): State<Shared>, Form(f): Form<HashMap<String, String>>) -> Response {
    let mut p = p.lock().unwrap();
    p.introspections += 1;
    let tok = f.get("token").cloned().unwrap_or_default();
    let active = p
        .access_tokens
        .get(&tok)
        .is_some_and(|exp| Instant::now() < *exp);
    if active {
        Json(json!({ "active": true, "username": p.user, "scope": "mail" })).into_response()
    } else {
        Json(json!({ "active": false })).into_response()
    }
}

impl TokenServer {
    pub async fn start(user: &str, access_ttl: Duration) -> Self {
        let provider = Arc::new(Mutex::new(Provider {
            access_ttl,
            user: user.to_owned(),
            ..Provider::default()
        }));
        let app = Router::new()
            .route("/token", post(token))
            .route("/devicecode", post(device))
            .route("/introspect", post(introspect))
            .with_state(provider.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        TokenServer {
            port,
            provider,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// A valid refresh token, as a login would have stored it.
    pub fn issue_refresh_token(&self) -> String {
        let mut p = self.provider.lock().unwrap();
        let t = p.next("rt");
        p.refresh_tokens.insert(t.clone(), true);
        t
    }

    /// Every refresh token stops working (the account's password changed, an admin revoked).
    pub fn revoke_refresh_tokens(&self) {
        for v in self.provider.lock().unwrap().refresh_tokens.values_mut() {
            *v = false;
        }
    }

    /// Every access token handed out so far stops working at once.
    pub fn revoke_access_tokens(&self) {
        self.provider.lock().unwrap().access_tokens.clear();
    }

    /// Lifetime of the access tokens handed out from now on.
    pub fn set_access_ttl(&self, ttl: Duration) {
        self.provider.lock().unwrap().access_ttl = ttl;
    }

    pub fn set_rotate(&self, on: bool) {
        self.provider.lock().unwrap().rotate = on;
    }

    pub fn refresh_grants(&self) -> u32 {
        self.provider.lock().unwrap().refresh_grants
    }

    pub fn device_grants(&self) -> u32 {
        self.provider.lock().unwrap().device_grants
    }

    pub fn valid_refresh_tokens(&self) -> Vec<String> {
        let p = self.provider.lock().unwrap();
        p.refresh_tokens
            .iter()
            .filter(|(_, v)| **v)
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// The `[oauth2]` section for this provider, with the refresh token kept in `file`.
    pub fn config_section(&self, file: &std::path::Path) -> String {
        format!(
            "[oauth2]\nprovider = \"custom\"\nclient_id = \"{CLIENT_ID}\"\ntoken_url = \"{}\"\ndevice_code_url = \"{}\"\nscope = \"mail offline_access\"\nrefresh_token_file = \"{}\"\n",
            self.url("/token"),
            self.url("/devicecode"),
            file.display()
        )
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}
