//! Mails in the charsets people's mailers send are read as their writers wrote them: Outlook's
//! windows-1252 quoted-printable, webmail ISO-8859-1 base64, an office copier's raw 8-bit
//! headers with no charset at all, a raw subject in the declared ISO-8859-15, UTF-8 labelled
//! us-ascii, subjects, names and bodies in GB2312, GBK, ISO-2022-JP, Shift_JIS, Big5 and KOI8-R
//! (fixtures in `tests/fixtures/mail-charsets`, written by its `make.py`), and the
//! shared corpus's real ISO-8859-1 mails. Each goes through the email parser and the extractor
//! as the intake reads it, and through `connecting parse --eml`; what is checked is what the
//! requester and the coordinator read: the subject of our reply, the sender's name, the date in
//! words, the language and the comune.

use std::path::{Path, PathBuf};
use std::process::Command;

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use connecting::channels::email::{InboundEmail, Limits, parse_email};
use connecting::config::Lang;
use connecting::domain::Channel;
use connecting::extract::{Context, RequestDraft, SenderInfo, extract, read_email};
use connecting::vocab;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/mail-charsets")
        .join(name)
}

fn read(path: &Path) -> (InboundEmail, RequestDraft) {
    let raw = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mail =
        parse_email(&raw, &Limits::default()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let m = mail.effective().clone();
    let text = read_email(
        m.subject.as_deref(),
        m.text_plain.as_deref(),
        m.text_html.as_deref(),
    );
    let now = Utc.with_ymd_and_hms(2027, 3, 1, 7, 0, 0).unwrap();
    let mut ctx = Context::new(now, Channel::Email);
    ctx.sender = SenderInfo {
        name: m.from.as_ref().and_then(|a| a.name.clone()),
        email: m.from.as_ref().map(|a| a.address.to_string()),
        ..SenderInfo::default()
    };
    (m, extract(&text, &ctx))
}

fn when(d: &RequestDraft) -> String {
    match d.date {
        Some(date) => vocab::date_time(Lang::It, date, d.start),
        None => "no date".into(),
    }
}

fn language(d: &RequestDraft) -> String {
    d.language
        .as_ref()
        .map(|l| vocab::language(Lang::It, l.code.as_str()))
        .unwrap_or_default()
}

fn comune(d: &RequestDraft) -> String {
    d.comune
        .as_ref()
        .map(|c| c.name.clone())
        .unwrap_or_default()
}

fn words(date: (i32, u32, u32), time: (u32, u32)) -> String {
    vocab::date_time(
        Lang::It,
        NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap(),
        NaiveTime::from_hms_opt(time.0, time.1, 0),
    )
}

#[test]
fn outlook_windows_1252_quoted_printable() {
    let (m, d) = read(&fixture("outlook-windows-1252-qp.eml"));
    assert_eq!(
        m.subject.as_deref(),
        Some("Richiesta mediatore arabo - lunedì 8 marzo")
    );
    let body = m.text_plain.as_deref().unwrap_or_default();
    assert!(body.contains("Calusco d’Adda"), "{body}");
    assert!(body.contains("“Tutela Minori”"), "{body}");
    assert!(body.contains("è già seguita"), "{body}");
    assert_eq!(when(&d), words((2027, 3, 8), (10, 30)));
    assert_eq!(language(&d), "arabo");
    assert_eq!(comune(&d), "Calusco d'Adda");
}

#[test]
fn webmail_iso_8859_1_base64() {
    let (m, d) = read(&fixture("webmail-iso-8859-1-base64.eml"));
    assert_eq!(m.subject.as_deref(), Some("visita domiciliare giovedì"));
    assert_eq!(
        m.from.as_ref().and_then(|a| a.name.as_deref()),
        Some("Nicolò Bonfà")
    );
    assert_eq!(when(&d), words((2027, 3, 11), (14, 30)));
    assert_eq!(language(&d), "rumeno");
    assert_eq!(comune(&d), "Ponte San Pietro");
}

#[test]
fn copier_raw_8bit_headers_and_body_without_any_charset() {
    let (m, d) = read(&fixture("copier-raw-8bit-no-charset.eml"));
    // Before: "Incontro protetto venerd\u{FFFD} 12 marzo" in the request and in our reply.
    assert_eq!(
        m.subject.as_deref(),
        Some("Incontro protetto venerdì 12 marzo")
    );
    assert_eq!(
        m.from.as_ref().and_then(|a| a.name.as_deref()),
        Some("Segreteria Città di Treviglio")
    );
    assert_eq!(
        m.from.as_ref().map(|a| a.address.to_string()).as_deref(),
        Some("segreteria@comune.treviglio.bg.it")
    );
    let body = m.text_plain.as_deref().unwrap_or_default();
    assert!(body.contains("venerdì 12 marzo"), "{body}");
    assert!(!body.contains('\u{FFFD}'), "{body}");
    assert_eq!(when(&d), words((2027, 3, 12), (16, 0)));
    assert_eq!(language(&d), "albanese");
    assert_eq!(comune(&d), "Treviglio");
}

#[test]
fn raw_subject_in_the_declared_charset() {
    let (m, d) = read(&fixture("raw-subject-declared-iso-8859-15.eml"));
    assert_eq!(
        m.subject.as_deref(),
        Some("Traduzione scritta (preventivo € 80) - martedì")
    );
    let body = m.text_plain.as_deref().unwrap_or_default();
    assert!(body.contains("80 € va bene"), "{body}");
    assert_eq!(
        d.deadline.map(|x| vocab::date_long(Lang::It, x, false)),
        Some(vocab::date_long(
            Lang::It,
            NaiveDate::from_ymd_opt(2027, 3, 16).unwrap(),
            false
        ))
    );
    assert_eq!(language(&d), "cinese");
}

#[test]
fn utf8_labelled_us_ascii() {
    let (m, d) = read(&fixture("utf8-labelled-us-ascii.eml"));
    let body = m.text_plain.as_deref().unwrap_or_default();
    assert!(body.contains("giovedì 11 marzo"), "{body}");
    assert!(body.contains("perché"), "{body}");
    assert_eq!(when(&d), words((2027, 3, 11), (11, 0)));
    assert_eq!(comune(&d), "Ranica");
}

/// RFC 2047 subjects and display names, and bodies, in multi-byte charsets (GB2312, GBK,
/// ISO-2022-JP, Shift_JIS, Big5: mail-parser's `full_encoding`) and in KOI8-R: read as written,
/// no U+FFFD anywhere, and the Italian request beside them read as usual.
#[test]
fn multi_byte_and_cyrillic_charsets() {
    struct Case {
        file: &'static str,
        subject: &'static str,
        name: &'static str,
        body: &'static str,
        when: ((i32, u32, u32), (u32, u32)),
        language: &'static str,
        comune: &'static str,
    }
    let cases = [
        Case {
            file: "foxmail-gb2312-base64.eml",
            subject: "翻译请求：周四家长会",
            name: "王芳",
            body: "家长只会说中文。",
            when: ((2027, 3, 11), (10, 0)),
            language: "cinese",
            comune: "Dalmine",
        },
        Case {
            file: "outlook-gbk-qp.eml",
            subject: "口译员 - 周五",
            name: "陈瑄",
            body: "陈瑄",
            when: ((2027, 3, 12), (15, 0)),
            language: "cinese",
            comune: "Zanica",
        },
        Case {
            file: "mailer-iso-2022-jp.eml",
            subject: "通訳のお願い（3月16日）",
            name: "佐藤花子",
            body: "よろしくお願いします。",
            when: ((2027, 3, 16), (9, 0)),
            language: "giapponese",
            comune: "Bergamo",
        },
        Case {
            file: "mailer-shift-jis.eml",
            subject: "面談の通訳",
            name: "山田太郎",
            body: "山田太郎",
            when: ((2027, 3, 10), (14, 0)),
            language: "giapponese",
            comune: "Seriate",
        },
        Case {
            file: "mailer-big5.eml",
            subject: "請求翻譯員",
            name: "林美玲",
            body: "林美玲",
            when: ((2027, 3, 15), (11, 0)),
            language: "cinese",
            comune: "Treviglio",
        },
        Case {
            file: "mailer-koi8-r.eml",
            subject: "Нужен переводчик",
            name: "Ольга Иванова",
            body: "Спасибо, Ольга Иванова",
            when: ((2027, 3, 11), (16, 0)),
            language: "russo",
            comune: "Ranica",
        },
    ];
    for c in cases {
        let (m, d) = read(&fixture(c.file));
        assert_eq!(m.subject.as_deref(), Some(c.subject), "{}", c.file);
        assert_eq!(
            m.from.as_ref().and_then(|a| a.name.as_deref()),
            Some(c.name),
            "{}",
            c.file
        );
        let body = m.text_plain.as_deref().unwrap_or_default();
        assert!(body.contains(c.body), "{}: {body}", c.file);
        assert!(!body.contains('\u{FFFD}'), "{}: {body}", c.file);
        assert_eq!(when(&d), words(c.when.0, c.when.1), "{}", c.file);
        assert_eq!(language(&d), c.language, "{}", c.file);
        assert_eq!(comune(&d), c.comune, "{}", c.file);
    }
}

fn corpus(rel: &str) -> Option<PathBuf> {
    [
        std::env::var("CONNECTING_CORPUS").ok().map(PathBuf::from),
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/email")),
        Some(PathBuf::from("/work/shared/corpus/email")),
    ]
    .into_iter()
    .flatten()
    .map(|d| d.join(rel))
    .find(|p| p.is_file())
}

#[test]
fn real_mails_of_the_shared_corpus() {
    // A real Italian IBM Notes mail, ISO-8859-1 quoted-printable.
    let p = corpus("charset/spamscope_mail_test_10_ibm_notes_italian_iso8859_qp.eml")
        .expect("shared corpus (set CONNECTING_CORPUS)");
    let (m, _) = read(&p);
    let body = m.text_plain.as_deref().unwrap_or_default();
    assert!(body.contains("oggi è stato annunciato"), "{body}");
    // A 1997 list mail: a raw Latin-1 byte in the From display name, no RFC 2047.
    let p = corpus("charset/flanker_from_raw_8bit_latin1.eml").expect("shared corpus");
    let raw = std::fs::read(&p).expect("readable");
    let m = parse_email(&raw, &Limits::default()).expect("parsed");
    let name = m
        .from
        .as_ref()
        .and_then(|a| a.name.clone())
        .unwrap_or_default();
    assert!(!name.contains('\u{FFFD}'), "{name}");
    // UTF-8 labelled us-ascii (enmime's low-quality set).
    let p = corpus("malformed/enmime_incorrect_charset_utf8_labelled_ascii.eml")
        .expect("shared corpus");
    let raw = std::fs::read(&p).expect("readable");
    let m = parse_email(&raw, &Limits::default()).expect("parsed");
    let body = m.text_plain.unwrap_or_default();
    assert!(!body.contains("Ã"), "{body}");
}

#[test]
fn connecting_parse_reads_the_copier_mail() {
    let o = Command::new(env!("CARGO_BIN_EXE_connecting"))
        .args(["parse", "--now", "2027-03-01T08:00:00+01:00", "--eml"])
        .arg(fixture("copier-raw-8bit-no-charset.eml"))
        .env("CONNECTING_DATABASE_URL", "sqlite::memory:")
        .output()
        .expect("run connecting parse");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{out}\n{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let j: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(j["date"], "2027-03-12");
    assert_eq!(j["language"]["name"], "albanese");
    assert_eq!(j["requester"]["name"], "Segreteria Città di Treviglio");
    assert!(!out.contains('\u{FFFD}'), "{out}");
}
