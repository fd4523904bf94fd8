//! The fast YAML reader against the full parser on a tree of real files
//! (`../shared/corpus/deploy-repos` by default): every file the fast reader
//! reads must give the tree the full parser gives, position for position.
//!
//! `cargo bench --bench yaml [-- DIR]` prints how many files (and bytes)
//! each reader took, the first difference if any (and fails), and the time
//! each reader spends on the whole tree, single-threaded.

use std::path::{Path, PathBuf};
use std::time::Instant;

use upkeep::domain::yaml::{self, Node, Value};

fn main() {
    let dir = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/corpus/deploy-repos"));
    if !dir.is_dir() {
        eprintln!("no tree at {}: nothing to compare", dir.display());
        return;
    }
    let mut files = Vec::new();
    collect(&dir, &mut files);
    let texts: Vec<(PathBuf, String)> = files
        .into_iter()
        .filter_map(|p| {
            let text = std::fs::read_to_string(&p).ok()?;
            let text = text
                .strip_prefix('\u{feff}')
                .map(str::to_owned)
                .unwrap_or(text);
            Some((p, text))
        })
        .collect();
    let total: usize = texts.iter().map(|(_, t)| t.len()).sum();
    let (mut fast_files, mut fast_bytes, mut differ) = (0, 0, 0);
    for (path, text) in &texts {
        let Some(fast) = yaml::parse_fast(text, 0) else {
            continue;
        };
        fast_files += 1;
        fast_bytes += text.len();
        let full = yaml::parse_full(text, 0);
        match &full {
            Ok(full) if *full == fast => {}
            Ok(full) => {
                differ += 1;
                if differ <= 5 {
                    let at = full
                        .iter()
                        .zip(&fast)
                        .find_map(|(a, b)| first_difference(a, b));
                    let len = (full.len(), fast.len());
                    eprintln!("DIFFERENT {} (documents {len:?}): {at:?}", path.display());
                }
            }
            Err(e) => {
                differ += 1;
                eprintln!("DIFFERENT {}: the full parser says {e}", path.display());
            }
        }
    }
    println!(
        "{} files, {:.1} MB; fast reader took {fast_files} files, {:.1} MB ({:.0}% of bytes); {differ} differ",
        texts.len(),
        total as f64 / 1e6,
        fast_bytes as f64 / 1e6,
        100.0 * fast_bytes as f64 / total.max(1) as f64,
    );
    let all: Vec<&str> = texts.iter().map(|(_, t)| t.as_str()).collect();
    let taken: Vec<&str> = all
        .iter()
        .copied()
        .filter(|t| yaml::parse_fast(t, 0).is_some())
        .collect();
    let (a, b) = (
        best_of(&taken, |t| drop(yaml::parse_full(t, 0))),
        best_of(&taken, |t| drop(yaml::parse_fast(t, 0))),
    );
    println!(
        "on the files the fast reader takes: full parser {a:.1} ms, fast reader {b:.1} ms ({:.1}x)",
        a / b
    );
    let full = best_of(&all, |t| drop(yaml::parse_full(t, 0)));
    let both = best_of(&all, |t| drop(yaml::parse(t, 0)));
    println!(
        "full parser {full:.1} ms; fast reader with fallback {both:.1} ms ({:.1}x)",
        full / both
    );
    if differ > 0 {
        std::process::exit(1);
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            collect(&path, out);
        } else if kind.is_file()
            && path
                .extension()
                .is_some_and(|e| e == "yaml" || e == "yml" || e == "json")
        {
            out.push(path);
        }
    }
}

/// The best of 5 passes of `f` over `texts`, in milliseconds.
fn best_of(texts: &[&str], f: impl Fn(&str)) -> f64 {
    let mut best = f64::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        texts.iter().for_each(|t| f(t));
        best = best.min(start.elapsed().as_secs_f64());
    }
    best * 1e3
}

/// The first pair of nodes that differ, for the report.
fn first_difference(a: &Node, b: &Node) -> Option<String> {
    if a == b {
        return None;
    }
    match (&a.value, &b.value) {
        (Value::Seq(x), Value::Seq(y))
            if x.len() == y.len()
                && (a.offset, a.line, a.column) == (b.offset, b.line, b.column) =>
        {
            x.iter()
                .zip(y.iter())
                .find_map(|(a, b)| first_difference(a, b))
        }
        (Value::Map(x), Value::Map(y))
            if x.len() == y.len()
                && (a.offset, a.line, a.column) == (b.offset, b.line, b.column) =>
        {
            x.iter().zip(y.iter()).find_map(|((ka, va), (kb, vb))| {
                first_difference(ka, kb).or_else(|| first_difference(va, vb))
            })
        }
        _ => Some(format!("full {} ; fast {}", brief(a), brief(b))),
    }
}

fn brief(n: &Node) -> String {
    let what = match &n.value {
        Value::Scalar(s) => format!("{:?} {:?} {:?}", s.value, s.style, s.content),
        Value::Seq(items) => format!("seq of {}", items.len()),
        Value::Map(entries) => format!("map of {}", entries.len()),
    };
    format!("{}:{} @{} {what}", n.line, n.column, n.offset)
}
