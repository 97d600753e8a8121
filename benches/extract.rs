//! Extraction throughput, single thread: chat-sized requests (the golden corpus's chat texts) and
//! ~10 KB e-mails with quoted replies, signatures and legal disclaimers: prepared (the new text
//! only), then extracted; read as the e-mail intake reads them (`read_email`: every part, newest
//! first), then extracted; and extracted raw.
//!
//! Run: `cargo bench --bench extract` (release). Targets: >= 20,000 chat texts/s,
//! >= 5,000 10 KB e-mails/s.

use chrono::{TimeZone, Utc};
use connecting::domain::Channel;
use connecting::extract::{Context, extract, prepare_email_text, read_email};
use criterion::{Criterion, Throughput, black_box, criterion_group};
use std::path::Path;

fn fixtures(kind: &str) -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/requests");
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(&dir) else {
        return out;
    };
    let mut paths: Vec<_> = rd.flatten().map(|e| e.path()).collect();
    paths.sort();
    for p in paths {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.ends_with(".txt") && name.contains(kind) {
            out.push(std::fs::read_to_string(&p).unwrap_or_default());
        }
    }
    out
}

const DISCLAIMER: &str = "AVVISO DI RISERVATEZZA: Le informazioni contenute in questo messaggio di posta elettronica e nei relativi allegati sono riservate e destinate esclusivamente alla persona o all'ente sopra indicati. Ai sensi del Regolamento UE 2016/679 (GDPR) e del D.Lgs. 196/2003, è vietato qualsiasi uso, copia o diffusione non autorizzati. Qualora il messaggio Le fosse pervenuto per errore, La invitiamo ad eliminarlo e a darne comunicazione al mittente.\n\n";

/// A ~10 KB e-mail: the request, a signature, a quoted earlier thread and long disclaimers.
fn ten_kb(request: &str) -> String {
    let mut s = String::from(request);
    s.push_str("\n\n");
    s.push_str(DISCLAIMER);
    let mut k = 0;
    while s.len() < 10_000 {
        k += 1;
        s.push_str(&format!(
            "-----Messaggio originale-----\nDa: Cooperativa Mediazione <info@coop.it>\nInviato: lunedì {k} febbraio 2027 10:12\nA: Servizio Tutela Minori\nOggetto: R: richiesta mediazione\n\n> Gentile collega, per il colloquio del {k}/02 alle 10.30 a Bergamo confermiamo la mediatrice.\n> Cordiali saluti\n> {DISCLAIMER}\n"
        ));
    }
    s
}

fn bench(c: &mut Criterion) {
    let ctx = Context::new(
        Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0)
            .single()
            .unwrap_or_default(),
        Channel::Telegram,
    );
    let chats = fixtures("chat");
    let emails: Vec<String> = fixtures("email").iter().map(|e| ten_kb(e)).collect();
    let avg_chat = chats.iter().map(String::len).sum::<usize>() / chats.len().max(1);
    let avg_mail = emails.iter().map(String::len).sum::<usize>() / emails.len().max(1);
    eprintln!(
        "{} chat texts (avg {avg_chat} bytes), {} e-mails (avg {avg_mail} bytes)",
        chats.len(),
        emails.len()
    );

    let mut g = c.benchmark_group("extract");
    g.throughput(Throughput::Elements(chats.len() as u64));
    g.bench_function("chat", |b| {
        b.iter(|| {
            for t in &chats {
                black_box(extract(black_box(t), &ctx));
            }
        })
    });
    g.throughput(Throughput::Elements(emails.len() as u64));
    g.bench_function("email_10kb_prepare_and_extract", |b| {
        b.iter(|| {
            for t in &emails {
                let text = prepare_email_text(Some(black_box(t)), None);
                black_box(extract(&text, &ctx));
            }
        })
    });
    // what the e-mail intake does: the mail's parts, newest first, each read (read_email)
    g.bench_function("email_10kb_read_email_and_extract", |b| {
        b.iter(|| {
            for t in &emails {
                let text = read_email(Some("R: richiesta mediazione"), Some(black_box(t)), None);
                black_box(extract(&text, &ctx));
            }
        })
    });
    g.bench_function("email_10kb_extract_raw", |b| {
        b.iter(|| {
            for t in &emails {
                black_box(extract(black_box(t), &ctx));
            }
        })
    });
    g.finish();
}

/// CPU time of this thread in nanoseconds (Linux `/proc/thread-self/schedstat`), so the figure
/// holds on a machine shared with other builds, where wall-clock throughput is depressed.
fn thread_cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Prints requests per CPU-second for each workload (single thread, fixed number of rounds).
fn cpu_time_report() {
    let ctx = Context::new(
        Utc.with_ymd_and_hms(2027, 3, 1, 8, 0, 0)
            .single()
            .unwrap_or_default(),
        Channel::Telegram,
    );
    let chats = fixtures("chat");
    let emails: Vec<String> = fixtures("email").iter().map(|e| ten_kb(e)).collect();
    // compile every regex and load the data before measuring
    for t in chats.iter().chain(emails.iter()) {
        black_box(extract(&prepare_email_text(Some(t), None), &ctx));
    }
    #[derive(Clone, Copy)]
    enum Path {
        Raw,
        Prepare,
        ReadEmail,
    }
    let run = |name: &str, texts: &[String], path: Path, rounds: usize| {
        let Some(t0) = thread_cpu_ns() else { return };
        for _ in 0..rounds {
            for t in texts {
                match path {
                    Path::Prepare => {
                        let text = prepare_email_text(Some(t), None);
                        black_box(extract(&text, &ctx));
                    }
                    Path::ReadEmail => {
                        let text = read_email(Some("R: richiesta mediazione"), Some(t), None);
                        black_box(extract(&text, &ctx));
                    }
                    Path::Raw => {
                        black_box(extract(black_box(t), &ctx));
                    }
                }
            }
        }
        let Some(t1) = thread_cpu_ns() else { return };
        let n = (rounds * texts.len()) as f64;
        let secs = (t1.saturating_sub(t0)) as f64 / 1e9;
        if secs > 0.0 {
            eprintln!(
                "cpu-time {name}: {:.0} requests per CPU-second ({n} requests)",
                n / secs
            );
        }
    };
    run("chat", &chats, Path::Raw, 60);
    run("email_10kb_prepare_and_extract", &emails, Path::Prepare, 30);
    run(
        "email_10kb_read_email_and_extract",
        &emails,
        Path::ReadEmail,
        10,
    );
    run("email_10kb_extract_raw", &emails, Path::Raw, 3);
}

criterion_group!(benches, bench);

fn main() {
    cpu_time_report();
    benches();
    criterion::Criterion::default()
        .configure_from_args()
        .final_summary();
}
