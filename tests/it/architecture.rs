//! The layering the README promises: `src/domain/` (the pure core) never
//! reaches I/O. It imports no async runtime, HTTP stack, GitHub client, git
//! or database crate, never reads the clock, and never uses the `io` or
//! `app` layers; everything it needs comes in as data.

use std::path::{Path, PathBuf};

/// What the pure core must not name, each with the reason shown on failure.
const FORBIDDEN: &[(&str, &str)] = &[
    (r"\btokio::", "an async runtime"),
    (r"\boctocrab::", "the GitHub client"),
    (r"\bgit2::", "git"),
    (r"\brusqlite::", "the state store's database"),
    (
        r"\b(hyper|hyper_util|hyper_tls|http_body_util)::",
        "an HTTP stack",
    ),
    (r"\baxum::", "the web server"),
    (
        r"\bstd::net::(TcpStream|TcpListener|UdpSocket|ToSocketAddrs)",
        "sockets",
    ),
    (r"\bstd::process::", "child processes"),
    (
        r"\b(Utc|Local)::now\(",
        "the clock (take `now` as a parameter)",
    ),
    (
        r"\b(SystemTime|Instant)::now\(",
        "the clock (take `now` as a parameter)",
    ),
    (
        r"\bcrate::(io|app)::",
        "an outer layer (the core is used by them, never the reverse)",
    ),
];

/// Every forbidden use in the Rust files under `root`, as
/// `file:line: reason: code`. Comments and string literals are ignored.
fn violations(root: &Path) -> Vec<String> {
    let patterns: Vec<(regex::Regex, &str)> = FORBIDDEN
        .iter()
        .map(|(p, why)| (regex::Regex::new(p).unwrap(), *why))
        .collect();
    let mut out = Vec::new();
    for file in rust_files(root) {
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in code_lines(&text).iter().enumerate() {
            for (re, why) in &patterns {
                if re.is_match(line) {
                    out.push(format!(
                        "{}:{}: {why}: {}",
                        file.strip_prefix(root).unwrap_or(&file).display(),
                        n + 1,
                        line.trim()
                    ));
                }
            }
        }
    }
    out
}

fn rust_files(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The lines of a Rust source with comments and the contents of string
/// literals blanked (line numbers kept). Good enough for this check: raw
/// strings are treated like plain ones, and a `'"'` char literal is skipped.
fn code_lines(text: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for line in text.lines() {
        let mut code = String::new();
        let mut chars = line.chars().peekable();
        let mut in_str = false;
        while let Some(c) = chars.next() {
            if in_str {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => {
                        in_str = false;
                        code.push('"');
                    }
                    _ => {}
                }
                continue;
            }
            match c {
                '/' if chars.peek() == Some(&'/') => break,
                '\'' if chars.peek() == Some(&'"') => {
                    chars.next();
                    chars.next();
                }
                '"' => {
                    in_str = true;
                    code.push('"');
                }
                _ => code.push(c),
            }
        }
        lines.push(code);
    }
    lines
}

#[test]
fn the_pure_core_never_reaches_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/domain");
    let found = violations(&root);
    assert!(
        found.is_empty(),
        "src/domain/ must stay pure (see the README's architecture section):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_catches_a_deliberate_violation() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/architecture/impure");
    let found = violations(&root);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].starts_with("decide.rs:7: an async runtime"),
        "{}",
        found[0]
    );
    assert!(
        found[1].starts_with("decide.rs:12: the clock"),
        "{}",
        found[1]
    );
}

#[test]
fn every_layer_is_a_folder_and_the_root_holds_only_them() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut top: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(
        top,
        [
            "app",
            "app.rs",
            "domain",
            "domain.rs",
            "env.rs",
            "io",
            "io.rs",
            "lib.rs",
            "main.rs"
        ]
    );
    // One module-file style: `name.rs` beside `name/`, never `mod.rs`.
    let mod_rs: Vec<PathBuf> = rust_files(&src)
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "mod.rs"))
        .collect();
    assert!(mod_rs.is_empty(), "{mod_rs:?}");
}
