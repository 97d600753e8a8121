//! The web console in tests: the real router (`connecting::web::router`) served on a loopback
//! port over a real database with a manual clock, and a plain HTTP client that keeps the
//! session cookie the way a browser does. Included with `#[path = "support/web.rs"] mod web;`.
#![allow(dead_code)]

use connecting::clock::{Clock, ManualClock};
use connecting::dispatch::Dispatcher;
use connecting::dispatch::engine::DispatchSettings;
use connecting::store::{ConsoleRole, Store};
use connecting::web::{WebState, router};
use std::sync::Arc;

pub struct Console {
    pub port: u16,
    pub store: Store,
    pub clock: ManualClock,
    pub http: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Console {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a page answered.
pub struct Page {
    pub status: u16,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Page {
    /// The CSRF token the page's forms carry.
    pub fn csrf(&self) -> String {
        let i = self
            .body
            .find("name=\"csrf\" value=\"")
            .unwrap_or_else(|| panic!("no csrf field in {}", self.body));
        let rest = &self.body[i + "name=\"csrf\" value=\"".len()..];
        rest[..rest.find('"').unwrap()].to_string()
    }

    pub fn set_cookie(&self) -> Option<String> {
        self.headers
            .get("set-cookie")
            .map(|v| v.to_str().unwrap().to_string())
    }
}

/// A logged-in browser: its cookie and CSRF token.
#[derive(Clone)]
pub struct Login {
    pub cookie: String,
    pub csrf: String,
}

impl Console {
    /// Serves the console; `secure` as for an https public URL.
    pub async fn start(store: Store, clock: ManualClock, secure: bool) -> Console {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Console::serve(listener, store, clock, secure).await
    }

    /// As [`Console::start`], on a listener bound already (its URL was needed before).
    pub async fn serve(
        listener: tokio::net::TcpListener,
        store: Store,
        clock: ManualClock,
        secure: bool,
    ) -> Console {
        let dyn_clock: Arc<dyn Clock> = Arc::new(clock.clone());
        let dispatcher = Dispatcher::new(
            store.clone(),
            dyn_clock.clone(),
            DispatchSettings {
                organizer: Some(connecting::ics::Party {
                    name: "Cooperativa Esempio".into(),
                    email: Some("info@coop.example".into()),
                }),
                ..DispatchSettings::default()
            },
            connecting::renderers::channels(),
        );
        let state = WebState {
            store: store.clone(),
            dispatcher,
            clock: dyn_clock,
            lang: connecting::config::Lang::It,
            tz: chrono_tz::Europe::Rome,
            secure_cookies: secure,
            idle_secs: 30 * 60,
            absolute_secs: 12 * 3600,
            quarantine_retry: None,
            health: None,
            bot_username: Some("coop_test_bot".into()),
            invite_ttl_days: 7,
        };
        // The email intake's retry, as the daemon wires it.
        let intake = connecting::channels::email::Intake::new(
            store.clone(),
            connecting::channels::email::IntakeConfig::new("info@coop.example", "coop.example"),
            Arc::new(clock.clone()),
            connecting::renderers::channels(),
        );
        let state =
            state.with_quarantine_retry(connecting::daemon::quarantine_retry(Arc::new(intake)));
        let port = listener.local_addr().unwrap().port();
        let app = router(state);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Console {
            port,
            store,
            clock,
            http,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub async fn get(&self, path: &str, login: Option<&Login>) -> Page {
        let mut rq = self.http.get(self.url(path));
        if let Some(l) = login {
            rq = rq.header("cookie", &l.cookie);
        }
        let resp = rq.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        Page {
            status,
            body: resp.text().await.unwrap_or_default(),
            headers,
        }
    }

    pub async fn get_bytes(&self, path: &str, login: Option<&Login>) -> (u16, Vec<u8>) {
        let mut rq = self.http.get(self.url(path));
        if let Some(l) = login {
            rq = rq.header("cookie", &l.cookie);
        }
        let resp = rq.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.bytes().await.unwrap().to_vec())
    }

    pub async fn post(&self, path: &str, login: Option<&Login>, form: &[(&str, &str)]) -> Page {
        let mut rq = self.http.post(self.url(path)).form(form);
        if let Some(l) = login {
            rq = rq.header("cookie", &l.cookie);
        }
        let resp = rq.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        Page {
            status,
            body: resp.text().await.unwrap_or_default(),
            headers,
        }
    }

    /// A fresh link for this person, as the bot or `connecting console link` makes one.
    pub async fn link(&self, role: ConsoleRole, id: i64) -> String {
        let token = self
            .store
            .issue_console_link(role, id, self.clock.now())
            .await
            .unwrap()
            .expect("within the rate limit");
        format!("/login/{token}")
    }

    /// Opens `link` and keeps the session cookie; the CSRF token from the first page.
    pub async fn open(&self, link: &str) -> Login {
        // The link shows a page with one button; only the press spends it.
        let page = self.get(link, None).await;
        assert_eq!(page.status, 200, "login page: {}", page.body);
        assert!(
            page.body.contains(&format!("action=\"{link}\"")),
            "{}",
            page.body
        );
        let p = self.post(link, None, &[]).await;
        assert_eq!(p.status, 303, "login: {}", p.body);
        let set = p.set_cookie().expect("a session cookie");
        let cookie = set.split(';').next().unwrap().to_string();
        let login = Login {
            cookie,
            csrf: String::new(),
        };
        let home = self.get("/", Some(&login)).await;
        assert_eq!(home.status, 200, "{}", home.body);
        Login {
            csrf: home.csrf(),
            ..login
        }
    }

    pub async fn login(&self, role: ConsoleRole, id: i64) -> Login {
        let link = self.link(role, id).await;
        self.open(&link).await
    }
}

/// The first sheet's first two rows as text (shared strings resolved), read from the zip.
pub fn xlsx_cells(bytes: &[u8]) -> (Vec<String>, Vec<String>) {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("an xlsx is a zip");
    let mut read = |name: &str| {
        let mut s = String::new();
        if let Ok(mut f) = zip.by_name(name) {
            f.read_to_string(&mut s).unwrap();
        }
        s
    };
    let shared = read("xl/sharedStrings.xml");
    let sheet = read("xl/worksheets/sheet1.xml");
    let strings: Vec<String> = shared
        .split("<si>")
        .skip(1)
        .map(|si| {
            let t = &si[si.find("<t").unwrap()..];
            let t = &t[t.find('>').unwrap() + 1..];
            t[..t.find("</t>").unwrap()].to_string()
        })
        .collect();
    let mut rows = Vec::new();
    for row in sheet.split("<row ").skip(1).take(2) {
        let mut cells = Vec::new();
        for cell in row.split("<c ").skip(1) {
            let is_string = cell.contains("t=\"s\"");
            let v = cell
                .split_once("<v>")
                .map(|(_, v)| v[..v.find("</v>").unwrap()].to_string())
                .unwrap_or_default();
            cells.push(if is_string {
                strings[v.parse::<usize>().unwrap()].clone()
            } else {
                v
            });
        }
        rows.push(cells);
    }
    let second = rows.pop().unwrap_or_default();
    let first = rows.pop().unwrap_or_default();
    (first, second)
}
