//! Every file of the shared email corpus goes through parsing and classification: no panic, and
//! the class each file exercises (see shared/corpus/MANIFEST.tsv) is asserted.

use connecting::channels::email::{Class, Context, Limits, ParseError, classify, parse_email};
use std::path::{Path, PathBuf};

fn corpus_dir() -> PathBuf {
    let from_env = std::env::var("CONNECTING_CORPUS").ok().map(PathBuf::from);
    let candidates = [
        from_env,
        Some(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/email")),
        Some(PathBuf::from("/work/shared/corpus/email")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.is_dir())
        .expect("corpus not found: set CONNECTING_CORPUS to shared/corpus/email")
}

fn all_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            all_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "eml") {
            out.push(p);
        }
    }
}

fn run(
    path: &Path,
) -> (
    String,
    Result<connecting::channels::email::InboundEmail, ParseError>,
    Option<Class>,
) {
    let raw = std::fs::read(path).unwrap();
    let parsed = parse_email(&raw, &Limits::default());
    let ours = |id: &str| id.ends_with("@connecting.coop.example");
    let ctx = Context { is_ours: &ours };
    let class = parsed.as_ref().ok().map(|e| classify(e, &ctx));
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    (name, parsed, class)
}

/// The class each corpus file must get: per-file exceptions first, then the directory's default.
fn expected(dir: &str, name: &str) -> &'static [&'static str] {
    match name {
        "mimekit_mdn_read_receipt.eml" => &["read_receipt"],
        // Precedence: bulk (an Apache list) and a French newsletter with Precedence: bulk.
        "flanker_from_raw_8bit_latin1.eml"
        | "spamscope_mail_test_5_rfc2047_iso8859_q_subject.eml" => &["mailing_list"],
        "gopec_posta_certificata_transport_postacert.eml" => &["new_request"],
        _ => match dir {
            "autoreply" => &["auto_reply"],
            "bounce" => &["bounce", "bounce_text"],
            "pec" => &["pec_receipt"],
            _ => &["new_request"],
        },
    }
}

#[test]
fn every_corpus_file_is_parsed_and_classified_sensibly() {
    let mut files = Vec::new();
    all_files(&corpus_dir(), &mut files);
    assert!(
        files.len() >= 50,
        "corpus looks incomplete: {} files",
        files.len()
    );
    let mut failures = Vec::new();
    for f in &files {
        let dir = f
            .parent()
            .and_then(|d| d.file_name())
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (name, parsed, class) = run(f);
        let email = match parsed {
            Ok(e) => e,
            Err(err) => {
                failures.push(format!("{dir}/{name}: parse error {err}"));
                continue;
            }
        };
        let class = class.expect("classified");
        let want = expected(&dir, &name);
        if !want.contains(&class.as_str()) {
            failures.push(format!(
                "{dir}/{name}: got {}, want {want:?}",
                class.as_str()
            ));
        }
        // Machines never act on requests.
        if matches!(dir.as_str(), "autoreply" | "bounce") && class.acts_on_request() {
            failures.push(format!(
                "{dir}/{name}: a machine message would act on a request"
            ));
        }
        if dir == "tnef" && !email.winmail_dat {
            failures.push(format!("{dir}/{name}: winmail.dat not detected"));
        }
    }
    assert!(
        failures.is_empty(),
        "corpus failures:\n{}",
        failures.join("\n")
    );
}

#[test]
fn pec_envelope_yields_the_inner_request_and_sender() {
    let path = corpus_dir().join("pec/gopec_posta_certificata_transport_postacert.eml");
    let raw = std::fs::read(&path).unwrap();
    // The corpus file is anonymised (inner and outer sender are the same address): give the
    // inner message a municipal sender to prove which one is read.
    let raw = String::from_utf8_lossy(&raw).replace(
        "\r\nFrom: no-reply@example.com\r\n",
        "\r\nFrom: Servizio Tutela Minori <tutela.minori@pec.comune.example.it>\r\n",
    );
    let email = parse_email(raw.as_bytes(), &Limits::default()).unwrap();
    assert_eq!(
        email.from.as_ref().map(|m| m.address.as_str()),
        Some("no-reply@example.com"),
        "the envelope is from the provider"
    );
    let inner = email.pec_inner.as_deref().expect("postacert.eml unwrapped");
    assert_eq!(
        inner.message_id.as_deref(),
        Some("CZPXCJRZKQDRVYXFAZYUIAWNACDAAHEVAEXAKN@example.com")
    );
    let eff = email.effective();
    assert_eq!(
        eff.reply_address().map(|m| m.address.as_str()),
        Some("tutela.minori@pec.comune.example.it")
    );
    let ours = |_: &str| false;
    let ctx = Context { is_ours: &ours };
    assert_eq!(classify(&email, &ctx), Class::NewRequest);
}

#[test]
fn pec_receipts_carry_their_kind() {
    let ours = |_: &str| false;
    let ctx = Context { is_ours: &ours };
    for (file, kind) in [
        ("pec/javapec_ricevuta_accettazione.eml", "accettazione"),
        (
            "pec/javapec_ricevuta_mancata_consegna.eml",
            "errore-consegna",
        ),
        (
            "pec/gopec_ricevuta_avvenuta_consegna_with_postacert.eml",
            "avvenuta-consegna",
        ),
    ] {
        let raw = std::fs::read(corpus_dir().join(file)).unwrap();
        let email = parse_email(&raw, &Limits::default()).unwrap();
        assert_eq!(
            classify(&email, &ctx),
            Class::PecReceipt(kind.to_owned()),
            "{file}"
        );
    }
}
