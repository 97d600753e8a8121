//! Test helper: a PRIVATE real Dovecot (IMAP + LMTP) and a real SMTP server (aiosmtpd forwarding
//! to Dovecot's LMTP) per test, in a temp dir on free loopback ports, stopped on drop.
//!
//! Include with `#[path = "support/mail.rs"] mod mail;`. Installs the servers with
//! `scripts/mail-servers install` when they are missing (root, Debian).
#![allow(dead_code)]

use async_imap::Session;
use futures::TryStreamExt;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

pub const PASSWORD: &str = "secret";

static INSTALL: Mutex<bool> = Mutex::new(false);

/// Runs `scripts/mail-servers install` once per test binary when something is missing.
fn ensure_installed() -> PathBuf {
    let mut done = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let python = python_path();
    if !*done {
        let ok = Command::new("dovecot").arg("--version").output().is_ok()
            && Command::new(&python)
                .args(["-c", "import aiosmtpd"])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
        if !ok {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/mail-servers");
            let status = Command::new("bash")
                .arg(script)
                .arg("install")
                .status()
                .expect("run scripts/mail-servers install");
            assert!(status.success(), "scripts/mail-servers install failed");
        }
        *done = true;
    }
    python
}

fn python_path() -> PathBuf {
    std::env::var_os("CONNECTING_MAIL_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let venv = std::env::var_os("CONNECTING_MAIL_VENV")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/opt/connecting/mail-venv"));
            venv.join("bin/python")
        })
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free loopback port")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn whoami() -> String {
    Command::new("id")
        .arg("-un")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|_| "nobody".into())
}

const SMTP_PY: &str = r#"
import asyncio, os, smtplib, sys, signal, threading
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

port, lmtp_port, user, password = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
cert = sys.argv[5] if len(sys.argv) > 6 else None
key = sys.argv[6] if len(sys.argv) > 6 else None

FAULTS = os.environ.get('SMTP_FAULTS')

def next_fault():
    # Scripted answers, one line per DATA, consumed in order (see MailServers::smtp_faults).
    if not FAULTS or not os.path.exists(FAULTS):
        return None
    with open(FAULTS) as f:
        lines = [l.rstrip('\n') for l in f if l.strip()]
    if not lines:
        return None
    with open(FAULTS + '.tmp', 'w') as f:
        f.write(''.join(l + '\n' for l in lines[1:]))
    os.replace(FAULTS + '.tmp', FAULTS)
    with open(FAULTS + '.served', 'a') as f:
        f.write(lines[0] + '\n')
    return lines[0]

class Forward:
    async def handle_DATA(self, server, session, envelope):
        fault = next_fault()
        if fault:
            return fault
        try:
            with smtplib.LMTP('127.0.0.1', lmtp_port, timeout=10) as lmtp:
                refused = lmtp.sendmail(envelope.mail_from, envelope.rcpt_tos, envelope.original_content)
        except smtplib.SMTPRecipientsRefused as e:
            code, msg = list(e.recipients.values())[0]
            return '%d %s' % (code, msg.decode(errors='replace'))
        except smtplib.SMTPResponseException as e:
            return '%d %s' % (e.smtp_code, e.smtp_error.decode(errors='replace'))
        except OSError as e:
            return '451 4.4.1 LMTP unavailable: %s' % e
        if refused:
            code, msg = list(refused.values())[0]
            return '%d %s' % (code, msg.decode(errors='replace'))
        return '250 2.0.0 delivered'

def auth(server, session, envelope, mechanism, data):
    if isinstance(data, LoginPassword) and data.login.decode() == user and data.password.decode() == password:
        return AuthResult(success=True)
    return AuthResult(success=False, handled=False)

# XOAUTH2 (Gmail's flavour): the bearer token is checked at the test's token-introspection
# endpoint; a refused token gets the JSON error challenge, then 535.
INTROSPECT = os.environ.get('SMTP_OAUTH2_INTROSPECT')
AUTH_LOG = os.environ.get('SMTP_AUTH_LOG')
if INTROSPECT:
    import base64, json, urllib.parse, urllib.request
    from aiosmtpd.smtp import MISSING

    def token_user(tok):
        data = urllib.parse.urlencode({'token': tok}).encode()
        try:
            with urllib.request.urlopen(urllib.request.Request(INTROSPECT, data=data), timeout=5) as r:
                j = json.load(r)
        except Exception:
            return None
        return j.get('username') if j.get('active') is True else None

    def note(line):
        if AUTH_LOG:
            with open(AUTH_LOG, 'a') as f:
                f.write(line + '\n')

    async def auth_XOAUTH2(self, server, args):
        if len(args) > 1:
            try:
                blob = base64.b64decode(args[1])
            except Exception:
                return AuthResult(success=False, handled=False)
        else:
            blob = await server.challenge_auth('')
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
        parts = blob.decode(errors='replace').split('\x01')
        login = parts[0][5:] if parts[0].startswith('user=') else ''
        bearer = next((p[12:] for p in parts if p.startswith('auth=Bearer ')), '')
        who = await asyncio.get_event_loop().run_in_executor(None, token_user, bearer)
        if who and who == login.split('@')[0]:
            note('XOAUTH2 ok ' + login)
            return AuthResult(success=True, auth_data=login)
        note('XOAUTH2 refused ' + login)
        await server.challenge_auth(json.dumps({'status': '401', 'schemes': 'bearer'}))
        return AuthResult(success=False, handled=False)

    Forward.auth_XOAUTH2 = auth_XOAUTH2

tls = {}
if cert:
    import ssl
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    tls = dict(tls_context=ctx, require_starttls=True)
c = Controller(Forward(), hostname='127.0.0.1', port=port, authenticator=auth,
               auth_require_tls=False, auth_required=(user != '-'), decode_data=False, **tls)
c.start()
print('READY', flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *a: stop.set())
signal.signal(signal.SIGINT, lambda *a: stop.set())
stop.wait()
c.stop()
"#;

/// A private Dovecot + SMTP pair. Users log in with their local part (`info`, `anna`) and
/// [`PASSWORD`]; mail to `anything@any.domain` is delivered to the user named by the local part.
pub struct MailServers {
    pub dir: tempfile::TempDir,
    pub imap_port: u16,
    pub lmtp_port: u16,
    pub smtp_port: u16,
    /// Implicit-TLS IMAP port (0 unless started with TLS); STARTTLS is on `imap_port`.
    pub imaps_port: u16,
    /// The CA that signed the server certificate (for `localhost`), when started with TLS.
    pub ca_file: Option<PathBuf>,
    /// SMTP AUTH credentials the server requires (`None`: no auth).
    pub smtp_auth: Option<(String, String)>,
    /// With OAuth2: Dovecot's `oauth2` passdb and the SMTP server's XOAUTH2 check tokens here.
    pub introspection_url: Option<String>,
    dovecot: Option<Child>,
    smtp: Option<Child>,
    python: PathBuf,
}

impl MailServers {
    /// Starts both servers with these users (local parts).
    pub fn start(users: &[&str]) -> Self {
        Self::start_with(users, None)
    }

    /// Dovecot with TLS too: implicit TLS on `imaps_port`, STARTTLS on `imap_port`, with a
    /// certificate for `localhost` signed by a fresh test CA (`ca_file`); the SMTP server then
    /// requires STARTTLS with the same certificate.
    pub fn start_tls(users: &[&str]) -> Self {
        Self::start_full(users, None, true)
    }

    pub fn start_with(users: &[&str], smtp_auth: Option<(&str, &str)>) -> Self {
        Self::start_full(users, smtp_auth, false)
    }

    /// With extra lines in dovecot.conf (e.g. an `imap_capability` without IDLE and MOVE).
    pub fn start_with_dovecot_extra(users: &[&str], extra: &str) -> Self {
        let mut me = Self::start_full(users, None, false);
        me.stop_dovecot();
        let mut conf = std::fs::read_to_string(me.conf()).expect("read conf");
        conf.push_str(extra);
        conf.push('\n');
        std::fs::write(me.conf(), conf).expect("write conf");
        me.start_dovecot();
        me
    }

    /// Dovecot with its `oauth2` passdb (XOAUTH2 and OAUTHBEARER, tokens validated at
    /// `introspection_url` with RFC 7662 POSTs, the user named by the `username` attribute)
    /// beside the password file, and an SMTP server that requires AUTH and accepts XOAUTH2
    /// tokens checked at the same endpoint (it logs each XOAUTH2 attempt, [`Self::smtp_auth_log`]).
    pub fn start_oauth2(users: &[&str], introspection_url: &str) -> Self {
        Self::start_opts(
            users,
            Some(("info", PASSWORD)),
            false,
            Some(introspection_url),
        )
    }

    fn start_full(users: &[&str], smtp_auth: Option<(&str, &str)>, tls: bool) -> Self {
        Self::start_opts(users, smtp_auth, tls, None)
    }

    fn start_opts(
        users: &[&str],
        smtp_auth: Option<(&str, &str)>,
        tls: bool,
        introspection_url: Option<&str>,
    ) -> Self {
        let python = ensure_installed();
        let dir = tempfile::Builder::new()
            .prefix("connecting-mail-")
            .tempdir()
            .expect("temp dir");
        let mut me = MailServers {
            imap_port: free_port(),
            lmtp_port: free_port(),
            smtp_port: free_port(),
            imaps_port: if tls { free_port() } else { 0 },
            ca_file: None,
            smtp_auth: smtp_auth.map(|(u, p)| (u.to_owned(), p.to_owned())),
            introspection_url: introspection_url.map(str::to_owned),
            dir,
            dovecot: None,
            smtp: None,
            python,
        };
        for u in users {
            me.add_user(u);
        }
        if tls {
            me.make_certificates();
        }
        me.write_dovecot_conf();
        me.start_dovecot();
        me.start_smtp();
        me
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    fn conf(&self) -> PathBuf {
        self.path().join("dovecot.conf")
    }

    pub fn add_user(&self, user: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path().join("users"))
            .expect("users file");
        writeln!(f, "{user}:{{PLAIN}}{PASSWORD}").expect("write users");
    }

    fn make_certificates(&mut self) {
        let d = self.path().to_path_buf();
        let run = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(&d)
                .output()
                .expect("openssl");
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=connecting test CA",
        ]);
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        std::fs::write(
            d.join("san.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .expect("san");
        run(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ]);
        self.ca_file = Some(d.join("ca.pem"));
    }

    fn write_dovecot_conf(&self) {
        let d = self.path().display().to_string();
        for sub in ["run", "state", "mail"] {
            std::fs::create_dir_all(self.path().join(sub)).expect("mkdir");
        }
        let (user_settings, uid) = if is_root() {
            let _ = Command::new("chown")
                .args(["nobody:nogroup", &format!("{d}/mail")])
                .status();
            (String::new(), "uid=nobody gid=nogroup".to_owned())
        } else {
            let me = whoami();
            (
                format!(
                    "default_login_user = {me}\ndefault_internal_user = {me}\n\
                     default_internal_group = {me}\nservice anvil {{\n  chroot =\n}}\n"
                ),
                format!("uid={me} gid={me}"),
            )
        };
        let chroot = if is_root() { "" } else { "  chroot =\n" };
        let ssl = if self.imaps_port != 0 {
            format!("ssl = yes\nssl_cert = <{d}/server.pem\nssl_key = <{d}/server.key\n")
        } else {
            "ssl = no\n".to_owned()
        };
        let (mechanisms, oauth2_passdb) = match &self.introspection_url {
            Some(url) => {
                std::fs::write(
                    self.path().join("dovecot-oauth2.conf.ext"),
                    format!(
                        "introspection_mode = post\nintrospection_url = {url}\n\
                         username_attribute = username\nactive_attribute = active\nactive_value = true\n"
                    ),
                )
                .expect("write dovecot-oauth2.conf.ext");
                (
                    "plain login xoauth2 oauthbearer",
                    format!(
                        "auth_verbose = yes\npassdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = {d}/dovecot-oauth2.conf.ext\n}}\n"
                    ),
                )
            }
            None => ("plain login", String::new()),
        };
        let conf = format!(
            "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/dovecot.log\n\
             protocols = imap lmtp\nlisten = 127.0.0.1\n{ssl}\
             disable_plaintext_auth = no\nauth_mechanisms = {mechanisms}\n\
             mail_location = maildir:{d}/mail/%n/Maildir\n\
             lmtp_save_to_detail_mailbox = no\n\
             {user_settings}\
             namespace inbox {{\n  inbox = yes\n  separator = /\n}}\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%n {d}/users\n}}\n\
             {oauth2_passdb}\
             userdb {{\n  driver = static\n  args = {uid} home={d}/mail/%n\n}}\n\
             service imap-login {{\n{chroot}  inet_listener imap {{\n    address = 127.0.0.1\n    port = {imap}\n  }}\n  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {imaps}\n  }}\n}}\n\
             service lmtp {{\n  inet_listener lmtp {{\n    address = 127.0.0.1\n    port = {lmtp}\n  }}\n}}\n",
            imap = self.imap_port,
            imaps = self.imaps_port,
            lmtp = self.lmtp_port,
        );
        std::fs::write(self.conf(), conf).expect("write dovecot.conf");
    }

    /// Starts (or restarts) Dovecot on the same ports.
    pub fn start_dovecot(&mut self) {
        use std::os::unix::process::CommandExt;
        let child = Command::new("dovecot")
            .arg("-F")
            .arg("-c")
            .arg(self.conf())
            // Its own process group, so a stop reaches the children too.
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn dovecot");
        self.dovecot = Some(child);
        wait_port(self.imap_port, "dovecot imap", || self.log());
        if self.imaps_port != 0 {
            wait_port(self.imaps_port, "dovecot imaps", || self.log());
        }
        wait_port(self.lmtp_port, "dovecot lmtp", || self.log());
    }

    /// Stops Dovecot (SIGTERM to the master, which stops its children), e.g. for a fault test.
    pub fn stop_dovecot(&mut self) {
        if let Some(mut c) = self.dovecot.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
            // Children that outlive the master (a login process still holding the listening
            // sockets) would make a restart fail with "Dovecot is already running?": the
            // whole group goes.
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", c.id())])
                .stderr(Stdio::null())
                .status();
            // Wait until the port is free again so a restart can bind it.
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline
                && std::net::TcpStream::connect(("127.0.0.1", self.imap_port)).is_ok()
            {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    fn start_smtp(&mut self) {
        let script = self.path().join("smtp.py");
        std::fs::write(&script, SMTP_PY).expect("write smtp.py");
        let (u, p) = self
            .smtp_auth
            .clone()
            .unwrap_or_else(|| ("-".into(), "-".into()));
        let mut cmd = Command::new(&self.python);
        if let Some(url) = &self.introspection_url {
            cmd.env("SMTP_OAUTH2_INTROSPECT", url)
                .env("SMTP_AUTH_LOG", self.path().join("smtp-auth.log"));
        }
        let child = cmd
            .env("SMTP_FAULTS", self.path().join("smtp-faults"))
            .arg(&script)
            .arg(self.smtp_port.to_string())
            .arg(self.lmtp_port.to_string())
            .arg(u)
            .arg(p)
            .args(if self.ca_file.is_some() {
                vec![
                    self.path().join("server.pem"),
                    self.path().join("server.key"),
                ]
            } else {
                Vec::new()
            })
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::create(self.path().join("smtp.log"))
                    .map(Stdio::from)
                    .unwrap_or_else(|_| Stdio::null()),
            )
            .spawn()
            .expect("spawn aiosmtpd");
        self.smtp = Some(child);
        let log = self.path().join("smtp.log");
        wait_port(self.smtp_port, "aiosmtpd", || {
            std::fs::read_to_string(&log).unwrap_or_default()
        });
    }

    /// Makes the SMTP server answer the next DATA commands with these replies, in order
    /// (`"451 4.3.0 try again later"`, `"550 5.1.1 no such user"`), then deliver normally.
    pub fn smtp_faults(&self, replies: &[&str]) {
        let mut text = String::new();
        for r in replies {
            text.push_str(r);
            text.push('\n');
        }
        std::fs::write(self.path().join("smtp-faults"), text).expect("write smtp-faults");
    }

    /// The scripted fault replies the SMTP server has given so far.
    pub fn smtp_faults_served(&self) -> Vec<String> {
        std::fs::read_to_string(self.path().join("smtp-faults.served"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path().join("dovecot.log")).unwrap_or_default()
    }

    /// The SMTP server's XOAUTH2 attempts, one line each (`XOAUTH2 ok info`, `XOAUTH2 refused info`).
    pub fn smtp_auth_log(&self) -> Vec<String> {
        std::fs::read_to_string(self.path().join("smtp-auth.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// A logged-in IMAP session for `user` (local part).
    pub async fn session(&self, user: &str) -> Session<TcpStream> {
        let tcp = TcpStream::connect(("127.0.0.1", self.imap_port))
            .await
            .expect("connect imap");
        let mut client = async_imap::Client::new(tcp);
        client
            .read_response()
            .await
            .expect("greeting")
            .expect("greeting present");
        client
            .login(user, PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .expect("login")
    }

    /// APPENDs `raw` to `user`'s `mailbox` (created if missing).
    pub async fn append(&self, user: &str, mailbox: &str, raw: &[u8]) {
        let mut s = self.session(user).await;
        if mailbox != "INBOX" {
            let _ = s.create(mailbox).await;
        }
        s.append(mailbox, None, None, raw).await.expect("append");
        let _ = s.logout().await;
    }

    /// Every message in `user`'s `mailbox`, in UID order (read with BODY.PEEK: flags untouched).
    pub async fn messages(&self, user: &str, mailbox: &str) -> Vec<Vec<u8>> {
        let mut s = self.session(user).await;
        let out = match s.examine(mailbox).await {
            Ok(mb) if mb.exists > 0 => {
                let fetches: Vec<_> = s
                    .uid_fetch("1:*", "(UID BODY.PEEK[])")
                    .await
                    .expect("fetch")
                    .try_collect()
                    .await
                    .expect("fetch stream");
                let mut v: Vec<_> = fetches
                    .iter()
                    .filter_map(|f| Some((f.uid?, f.body()?.to_vec())))
                    .collect();
                v.sort_by_key(|(u, _)| *u);
                v.into_iter().map(|(_, b)| b).collect()
            }
            _ => Vec::new(),
        };
        let _ = s.logout().await;
        out
    }

    /// Waits until `mailbox` holds at least `n` messages, then returns them all.
    pub async fn wait_for(
        &self,
        user: &str,
        mailbox: &str,
        n: usize,
        timeout: Duration,
    ) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            let m = self.messages(user, mailbox).await;
            if m.len() >= n || Instant::now() > deadline {
                return m;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn wait_port(port: u16, what: &str, log: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{what} did not listen on 127.0.0.1:{port}\n{}", log());
}

impl Drop for MailServers {
    fn drop(&mut self) {
        self.stop_dovecot();
        if let Some(mut c) = self.smtp.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A minimal RFC 5322 message.
pub fn message(from: &str, to: &str, subject: &str, message_id: &str, body: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{message_id}>\r\n\
         Date: Mon, 1 Mar 2027 10:00:00 +0100\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// A loopback TCP proxy in front of a server that can cut every open connection at once: the
/// fault injector for "the IMAP connection dies mid-fetch".
pub struct FaultProxy {
    pub port: u16,
    cut: tokio::sync::watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultProxy {
    pub async fn start(target_port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let (cut, rx) = tokio::sync::watch::channel(0u64);
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let mut rx = rx.clone();
                rx.mark_unchanged();
                tokio::spawn(async move {
                    let Ok(mut outbound) = TcpStream::connect(("127.0.0.1", target_port)).await
                    else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                        _ = rx.changed() => {}
                    }
                });
            }
        });
        FaultProxy { port, cut, task }
    }

    /// Drops every connection open now (new ones are accepted again).
    pub fn cut_all(&self) {
        self.cut.send_modify(|n| *n += 1);
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The first header `name` of a raw message (case-insensitive), unfolded lines only.
pub fn header(raw: &str, name: &str) -> Option<String> {
    raw.lines()
        .take_while(|l| !l.is_empty())
        .find(|l| {
            l.len() > name.len()
                && l.is_char_boundary(name.len())
                && l[..name.len()].eq_ignore_ascii_case(name)
                && l.as_bytes()[name.len()] == b':'
        })
        .map(|l| l[name.len() + 1..].trim().to_string())
}
