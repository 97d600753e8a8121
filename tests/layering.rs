//! The layering, read from the source (in the spirit of rust-analyzer's tidy tests): the pure
//! ground floors (`domain/`, `extract/`) import none of the crate's I/O parts, and `store/`
//! imports no channel, dispatch, outbox or core module. Comments are not read.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `(file, line)` of every code line under `dir` that names one of `forbidden`.
fn offences(dir: &str, forbidden: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(!files.is_empty(), "no sources under src/{dir}");
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.trim_start();
            if code.starts_with("//") {
                continue;
            }
            for m in forbidden {
                if code.contains(m) {
                    out.push(format!("{}:{}: {m}", f.display(), i + 1));
                }
            }
        }
    }
    out
}

const IO_PARTS: &[&str] = &[
    "crate::store",
    "crate::channels",
    "crate::dispatch",
    "crate::outbox",
    "crate::app",
    "crate::alerts",
    "crate::daemon",
    "crate::http",
    "crate::cli",
    "crate::leader",
    "crate::metrics",
    "sqlx::",
    "tokio::",
    "teloxide::",
    "lettre::",
    "async_imap::",
];

#[test]
fn domain_and_extract_import_no_io_part() {
    let mut bad = offences("domain", IO_PARTS);
    bad.extend(offences("extract", IO_PARTS));
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn the_store_imports_no_channel_dispatch_outbox_or_core_module() {
    let bad = offences(
        "store",
        &[
            "crate::channels",
            "crate::dispatch",
            "crate::outbox",
            "crate::app",
            "crate::alerts",
        ],
    );
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
