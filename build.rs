//! Embeds every prompt file (`prompts/<lang>/<area>.toml`) into the binary, so the service needs
//! no files beside it at run time. `src/prompts.rs` loads and checks them. Also tells cargo to
//! rebuild when a migration is added (`sqlx::migrate!` embeds them).

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=prompts");
    // `sqlx::migrate!` embeds the migrations; a new file must rebuild the crate.
    println!("cargo:rerun-if-changed=migrations");
    // Read at run time of the build script, not baked in when it was compiled: a build
    // directory shared by several checkouts must embed the prompts of the one being built.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let root = Path::new(&manifest).join("prompts");
    let mut entries = Vec::new();
    if let Ok(langs) = std::fs::read_dir(&root) {
        for lang in langs.flatten() {
            let lang_path = lang.path();
            if !lang_path.is_dir() {
                continue;
            }
            println!("cargo:rerun-if-changed={}", lang_path.display());
            let Ok(files) = std::fs::read_dir(&lang_path) else {
                continue;
            };
            for f in files.flatten() {
                let p = f.path();
                if p.extension().and_then(|e| e.to_str()) == Some("toml") {
                    println!("cargo:rerun-if-changed={}", p.display());
                    let lang = lang.file_name().to_string_lossy().to_string();
                    let area = p
                        .file_stem()
                        .map(|s| s.to_string_lossy().to_string())
                        .unwrap_or_default();
                    entries.push((lang, area, p.display().to_string()));
                }
            }
        }
    }
    entries.sort();
    let mut out = String::from("pub static PROMPT_FILES: &[(&str, &str, &str)] = &[\n");
    for (lang, area, path) in entries {
        let _ = writeln!(out, "    ({lang:?}, {area:?}, include_str!({path:?})),");
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("prompt_files.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        panic!("cannot write {}: {e}", dest.display());
    }
}
