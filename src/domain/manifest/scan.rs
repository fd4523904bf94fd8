//! Walking a deployment tree and dispatching each file to its scanner.
//!
//! The walk honours `.gitignore`, skips `.git`, binary and huge files, and
//! never follows a symlink (a link is skipped, whether it points inside the
//! tree or out of it). Reading is all it does: no writes.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::structured::{self, Hints};
use super::{Reference, Source, dockerfile, dotenv};

/// Files larger than this are skipped: no manifest is that big.
pub const MAX_FILE_SIZE: u64 = 4 * 1024 * 1024;

/// A file upkeep could not read or parse. Scanning goes on with the others.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.line, self.column) {
            (Some(l), Some(c)) => write!(f, "{}:{l}:{c}: {}", self.file, self.message),
            _ => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

/// Everything found under a root.
#[derive(Clone, Debug, Default)]
pub struct ScanReport {
    pub references: Vec<Reference>,
    pub problems: Vec<Problem>,
    /// Files looked at (after ignores), for progress and statistics.
    pub files_scanned: usize,
}

/// How a file is scanned, decided from its name alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FileType {
    Structured(Hints),
    Dotenv,
    Dockerfile,
}

impl FileType {
    pub fn of(path: &str) -> Option<FileType> {
        let name = path.rsplit('/').next().unwrap_or(path);
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".yaml")
            || lower.ends_with(".yml")
            || lower.ends_with(".json")
            || lower == "kustomization"
        {
            return Some(FileType::Structured(Hints::from_name(name)));
        }
        if lower == ".env" || lower.starts_with(".env.") || lower.ends_with(".env") {
            return Some(FileType::Dotenv);
        }
        if lower == "dockerfile"
            || lower == "containerfile"
            || lower.starts_with("dockerfile.")
            || lower.ends_with(".dockerfile")
            || lower.ends_with(".containerfile")
        {
            return Some(FileType::Dockerfile);
        }
        None
    }
}

/// Scans one file's text, `file` being its path relative to the root (its
/// name decides how it is read). `None` for files upkeep does not read.
pub fn scan_file_text(file: &str, text: &str) -> Option<Result<Vec<Reference>, Problem>> {
    FileType::of(file).map(|t| scan_text(file, text, t))
}

pub(crate) fn scan_text(
    file: &str,
    text: &str,
    file_type: FileType,
) -> Result<Vec<Reference>, Problem> {
    let src = Source::new(file, text);
    let mut refs = match file_type {
        FileType::Dotenv => dotenv::scan(&src),
        FileType::Dockerfile => dockerfile::scan(&src),
        FileType::Structured(hints) => structured::scan(&src, hints).map_err(|e| Problem {
            file: file.to_string(),
            line: Some(e.line),
            column: Some(e.column),
            message: format!("invalid YAML: {}", e.message),
        })?,
    };
    // One place in the file is one reference, however many readers it has
    // (YAML aliases, an ARG used by two FROMs).
    refs.sort_by(|a, b| {
        (a.line, a.column, &a.image, &a.tag).cmp(&(b.line, b.column, &b.image, &b.tag))
    });
    refs.dedup();
    Ok(refs)
}

/// The files under `root` that upkeep scans, as (relative path, absolute
/// path, type), sorted by relative path.
pub(crate) fn files(root: &Path) -> (Vec<(String, PathBuf, FileType)>, Vec<Problem>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    let walker = ignore::WalkBuilder::new(root)
        .hidden(false)
        .follow_links(false)
        .git_global(false)
        .git_exclude(false)
        .require_git(false)
        .parents(false)
        .filter_entry(|e| e.file_name() != ".git")
        .sort_by_file_name(|a, b| a.cmp(b))
        .build();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                problems.push(Problem {
                    file: String::new(),
                    line: None,
                    column: None,
                    message: e.to_string(),
                });
                continue;
            }
        };
        let Some(ft) = entry.file_type() else {
            continue;
        };
        if !ft.is_file() {
            continue; // directories, and symlinks: never followed
        }
        let rel = relative(root, entry.path());
        if let Some(file_type) = FileType::of(&rel) {
            files.push((rel, entry.into_path(), file_type));
        }
    }
    (files, problems)
}

/// `path` relative to `root`, `/`-separated; the file name when root is the file.
pub(crate) fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let s = if rel.as_os_str().is_empty() {
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        rel.to_string_lossy().into_owned()
    };
    s.replace('\\', "/")
}

/// Reads a file for scanning: `None` (with a reason) for binary, huge or
/// non-UTF-8 files.
pub(crate) fn read(path: &Path) -> Result<Option<String>, String> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| e.to_string())?;
    if meta.file_type().is_symlink() {
        return Ok(None);
    }
    if meta.len() > MAX_FILE_SIZE {
        return Ok(None);
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    if bytes[..bytes.len().min(8192)].contains(&0) {
        return Ok(None);
    }
    Ok(String::from_utf8(bytes).ok())
}

/// Scans every manifest under `root` (a directory, or a single file), on
/// all cores; the result is in path order whatever the thread count.
pub fn scan(root: &Path) -> ScanReport {
    let (files, mut problems) = files(root);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    let chunk = files.len().div_ceil(threads).max(64);
    let results: Vec<(Vec<Reference>, Vec<Problem>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = files
            .chunks(chunk)
            .map(|part| scope.spawn(|| scan_files(part)))
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    let mut references = Vec::new();
    for (refs, probs) in results {
        references.extend(refs);
        problems.extend(probs);
    }
    ScanReport {
        references,
        problems,
        files_scanned: files.len(),
    }
}

fn scan_files(files: &[(String, PathBuf, FileType)]) -> (Vec<Reference>, Vec<Problem>) {
    let mut references = Vec::new();
    let mut problems = Vec::new();
    for (rel, abs, file_type) in files {
        match read(abs) {
            Ok(Some(text)) => match scan_text(rel, &text, *file_type) {
                Ok(refs) => references.extend(refs),
                Err(p) => problems.push(p),
            },
            Ok(None) => {}
            Err(e) => problems.push(Problem {
                file: rel.clone(),
                line: None,
                column: None,
                message: format!("cannot read: {e}"),
            }),
        }
    }
    (references, problems)
}
