//! The layering of the crate, enforced by reading its source (in the spirit of rust-analyzer's
//! tidy tests): the pure ground floors (`domain/`, `extract/`) import none of the crate's I/O
//! parts; `store/` imports no channel, dispatch, core or outbox module; a channel imports the
//! core, never another channel; and the modules form no import circle.
//!
//! A module is a top-level file or folder of `src/` (`store`, `dispatch`, `app`...), except that
//! each channel (`channels/email`, `channels/telegram`) is a module of its own. The web console
//! (`web`) is a channel too: it imports the core, never another channel.
//! Test code (`#[cfg(test)]` and below) is not counted.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crate's parts that do I/O or hold a request's life: the pure floors must not reach them.
const IO_PARTS: &[&str] = &[
    "store", "channels", "dispatch", "app", "outbox", "alerts", "daemon", "http", "metrics",
    "leader", "cli", "intake", "runtime", "oauth2", "backup", "web",
];

/// Imports that break the layering today and are being removed (issue 12): a ratchet, as in
/// rust-analyzer's tidy tests. A new offending import fails the tests below; so does an entry
/// here whose import is gone (strike it, the house got better). Each says what removes it.
const DEBTS: &[(&str, &str, &str)] = &[];

/// The channels: adapters that import the core and never each other.
const CHANNELS: &[&str] = &["channels/email", "channels/telegram", "web"];

fn is_channel(m: &str) -> bool {
    CHANNELS.contains(&m) || m.starts_with("channels/")
}

fn is_debt(from: &str, to: &str) -> bool {
    DEBTS.iter().any(|(f, t, _)| *f == from && *t == to)
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// `src/channels/email/intake.rs` -> `channels/email`; `src/store/mod.rs` -> `store`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap_or(file);
    let parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    match parts.as_slice() {
        [first, second, ..] if first == "channels" && parts.len() > 2 => {
            format!("channels/{second}")
        }
        [first, second] if first == "channels" => format!("channels/{second}"),
        [first, ..] => first.clone(),
        [] => String::new(),
    }
}

/// The code of a file without its tests and without comments (a doc comment may name any
/// module).
fn production_code(text: &str) -> String {
    let code = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    code.lines()
        .map(|l| match l.find("//") {
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b` path a file names, including inside `use crate::{a::x, b}` groups,
/// as modules (`a`, or `channels/b`).
fn crate_paths(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut push = |path: &str| {
        let mut segs = path
            .split("::")
            .map(|s| s.trim().trim_start_matches('{').trim())
            .filter(|s| !s.is_empty());
        if let Some(first) = segs.next() {
            let first: String = first
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if first.is_empty() {
                return;
            }
            if first == "channels"
                && let Some(second) = segs.next()
            {
                let second: String = second
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !second.is_empty() {
                    out.insert(format!("channels/{second}"));
                    return;
                }
            }
            out.insert(first);
        }
    };
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let after = &rest[i + "crate::".len()..];
        if let Some(group) = after.strip_prefix('{') {
            // use crate::{a::x, b::{y, z}, c};  -> a, b, c (top level of the group only)
            let mut depth = 0usize;
            let mut item = String::new();
            let mut end = group.len();
            for (j, c) in group.char_indices() {
                match c {
                    '{' => {
                        depth += 1;
                        item.push(c);
                    }
                    '}' if depth == 0 => {
                        push(&item);
                        end = j;
                        break;
                    }
                    '}' => {
                        depth -= 1;
                        item.push(c);
                    }
                    ',' if depth == 0 => {
                        push(&item);
                        item.clear();
                    }
                    c => item.push(c),
                }
            }
            rest = &group[end.min(group.len())..];
        } else {
            let path: String = after
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            push(&path);
            rest = after;
        }
    }
    out
}

/// module -> the modules it names, and for each edge one file that names it.
fn graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    let mut g: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for f in files {
        let from = module_of(&src, &f);
        if from == "lib" || from == "main" {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let rel = f.strip_prefix(&src).unwrap_or(&f).display().to_string();
        let entry = g.entry(from.clone()).or_default();
        for to in crate_paths(&production_code(&text)) {
            if to != from && to != "channels" {
                entry.entry(to).or_insert_with(|| rel.clone());
            }
        }
    }
    g
}

fn top(m: &str) -> &str {
    m.split('/').next().unwrap_or(m)
}

#[test]
fn the_pure_floors_do_no_io() {
    let g = graph();
    let mut wrong = Vec::new();
    for floor in ["domain", "extract"] {
        for (to, file) in g.get(floor).into_iter().flatten() {
            if IO_PARTS.contains(&top(to)) {
                wrong.push(format!("src/{file}: {floor} imports {to}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "pure code reaches I/O:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_store_knows_no_channel_dispatch_or_outbox() {
    let g = graph();
    let forbidden = [
        "channels", "dispatch", "app", "outbox", "alerts", "daemon", "cli", "http", "web",
    ];
    let wrong: Vec<String> = g
        .get("store")
        .into_iter()
        .flatten()
        .filter(|(to, _)| forbidden.contains(&top(to)))
        .map(|(to, file)| format!("src/{file}: store imports {to}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "the store reaches up:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn channels_never_import_each_other() {
    let g = graph();
    let mut wrong = Vec::new();
    for (from, tos) in &g {
        if !is_channel(from) {
            continue;
        }
        for (to, file) in tos {
            if is_channel(to) && to != from && !is_debt(from, to) {
                wrong.push(format!("src/{file}: {from} imports {to}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "a channel calls another:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn no_import_circles() {
    let mut g = graph();
    // The known debts are set aside (and checked to still exist by `the_debts_are_real`).
    let froms: Vec<String> = g.keys().cloned().collect();
    for from in froms {
        if let Some(tos) = g.get_mut(&from) {
            tos.retain(|to, _| !is_debt(&from, to));
        }
    }
    // Tarjan would name every cycle; a depth-first search that reports the first back edge of
    // each component is enough to point at the line to fix.
    let mut cycles = Vec::new();
    let mut state: BTreeMap<&str, u8> = BTreeMap::new(); // 1 = on the stack, 2 = done
    fn visit<'a>(
        n: &'a str,
        g: &'a BTreeMap<String, BTreeMap<String, String>>,
        state: &mut BTreeMap<&'a str, u8>,
        stack: &mut Vec<&'a str>,
        cycles: &mut Vec<String>,
    ) {
        state.insert(n, 1);
        stack.push(n);
        for (to, file) in g.get(n).into_iter().flatten() {
            if !g.contains_key(to.as_str()) {
                continue;
            }
            match state.get(to.as_str()) {
                Some(1) => {
                    let start = stack.iter().position(|s| s == to).unwrap_or(0);
                    let mut path: Vec<&str> = stack[start..].to_vec();
                    path.push(to);
                    cycles.push(format!("{} (closed in src/{file})", path.join(" -> ")));
                }
                Some(_) => {}
                None => visit(to, g, state, stack, cycles),
            }
        }
        stack.pop();
        state.insert(n, 2);
    }
    for n in g.keys() {
        if !state.contains_key(n.as_str()) {
            let mut stack = Vec::new();
            visit(n, &g, &mut state, &mut stack, &mut cycles);
        }
    }
    assert!(cycles.is_empty(), "import circles:\n{}", cycles.join("\n"));
}

#[test]
fn the_debts_are_real() {
    let g = graph();
    let gone: Vec<String> = DEBTS
        .iter()
        .filter(|(from, to, _)| !g.get(*from).is_some_and(|tos| tos.contains_key(*to)))
        .map(|(from, to, why)| format!("{from} -> {to} ({why})"))
        .collect();
    assert!(
        gone.is_empty(),
        "these imports are gone: strike them from DEBTS:\n{}",
        gone.join("\n")
    );
}

#[test]
fn the_reader_finds_every_edge() {
    // The test's own parser, on the forms the code uses.
    let code = "use crate::{config::Lang, channels::email::X, store::{A, B}};\nlet x = crate::dispatch::y();";
    let found = crate_paths(code);
    let want: BTreeSet<String> = ["config", "channels/email", "store", "dispatch"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(found, want);
}
