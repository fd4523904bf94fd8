//! Walking a deployment tree and dispatching each file to its scanner.
//!
//! The walk honours `.gitignore` and `.ignore`, skips `.git`, and never
//! follows a symlink (a link is skipped, whether it points inside the tree
//! or out of it). Every file it opens, ignore files included, is a regular
//! file inside the tree and size-capped; a manifest that is a symlink, a
//! FIFO or device, oversized, binary, NUL-containing or not UTF-8 is skipped
//! with a problem naming the file and the reason. Reading is all it does:
//! no writes.

use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use serde::Serialize;

use super::structured::{self, Hints};
use super::{Env, Reference, Source, dockerfile, dotenv};

/// Files larger than this are skipped (with a problem): no manifest is that big.
pub const MAX_FILE_SIZE: u64 = 4 * 1024 * 1024;

/// `.gitignore` and `.ignore` files larger than this are not applied (with
/// a problem).
pub const MAX_IGNORE_FILE_SIZE: u64 = 1024 * 1024;

/// A NUL byte in this many first bytes makes a file binary.
const BINARY_SNIFF: usize = 8192;

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
        if is_dockerfile_name(&lower) {
            return Some(FileType::Dockerfile);
        }
        None
    }
}

/// Extensions that make `Dockerfile.<ext>` (or `dockerfile.<ext>`) source
/// code or a document about Dockerfiles rather than a Dockerfile
/// (`src/manifest/dockerfile.rs`).
const NOT_DOCKERFILE_EXTENSIONS: [&str; 32] = [
    "rs", "go", "py", "js", "mjs", "cjs", "ts", "tsx", "jsx", "java", "kt", "rb", "php", "c", "h",
    "cc", "cpp", "hpp", "cs", "swift", "scala", "sh", "bash", "ps1", "md", "rst", "adoc", "html",
    "txt", "toml", "lock", "snap",
];

/// Named like a Dockerfile: `Dockerfile`, `Containerfile`, `Dockerfile.<variant>`,
/// `<name>.Dockerfile` / `<name>.Containerfile` (`lower` is the lower-cased name).
fn is_dockerfile_name(lower: &str) -> bool {
    if matches!(lower, "dockerfile" | "containerfile")
        || lower.ends_with(".dockerfile")
        || lower.ends_with(".containerfile")
    {
        return true;
    }
    let variant = lower
        .strip_prefix("dockerfile.")
        .or_else(|| lower.strip_prefix("containerfile."));
    variant.is_some_and(|v| {
        let ext = v.rsplit('.').next().unwrap_or(v);
        !v.is_empty() && !NOT_DOCKERFILE_EXTENSIONS.contains(&ext)
    })
}

/// Scans one file's text, `file` being its path relative to the root (its
/// name decides how it is read). `None` for files upkeep does not read.
///
/// The file is read alone: a compose file's `${VAR}` is not looked up in a
/// `.env` next to it ([`scan_text_in`] does that).
pub fn scan_file_text(file: &str, text: &str) -> Option<Result<Vec<Reference>, Problem>> {
    FileType::of(file).map(|t| scan_text(file, text, t, &Project::default()))
}

/// The files of a compose project that the scan of one of them reads: the
/// project's `.env` (for a compose file) or its compose files (for the
/// `.env`), as (path relative to the root, text).
///
/// A compose file's image whose tag compose takes from the `.env` is one
/// reference, reported (and bumped) where the tag is written: in the `.env`.
/// The compose file's own scan leaves it out and the `.env`'s scan reports
/// it, so every reference has one place and one owner.
#[derive(Clone, Debug, Default)]
pub struct Project<'a> {
    pub env: Option<(&'a str, &'a str)>,
    pub compose: Vec<(&'a str, &'a str)>,
}

/// The files of its compose project that the scan of `file` reads, among
/// `siblings` (the other files of its directory, relative paths): for a
/// `.env`, the compose files next to it; for a compose file that uses
/// variables, the `.env` next to it. Empty for every other file.
pub fn project_files<'a>(file: &str, text: &str, siblings: &'a [String]) -> Vec<&'a str> {
    let dir = dir_of(file);
    let beside = |f: &&String| dir_of(f) == dir && f.as_str() != file;
    if is_project_env(file) {
        siblings
            .iter()
            .filter(beside)
            .filter(|f| is_project_compose(f))
            .map(String::as_str)
            .collect()
    } else if is_project_compose(file) && text.contains('$') {
        siblings
            .iter()
            .filter(beside)
            .filter(|f| is_project_env(f))
            .map(String::as_str)
            .collect()
    } else {
        Vec::new()
    }
}

impl<'a> Project<'a> {
    /// The project of `file` from the texts of [`project_files`].
    pub fn of(file: &str, texts: &'a [(String, String)]) -> Project<'a> {
        if is_project_env(file) {
            Project {
                env: None,
                compose: texts
                    .iter()
                    .filter(|(_, t)| t.contains('$'))
                    .map(|(f, t)| (f.as_str(), t.as_str()))
                    .collect(),
            }
        } else {
            Project {
                env: texts.first().map(|(f, t)| (f.as_str(), t.as_str())),
                compose: Vec::new(),
            }
        }
    }
}

/// True for the name of a compose project's environment file.
pub(crate) fn is_project_env(file: &str) -> bool {
    file.rsplit('/').next() == Some(".env")
}

/// True for a file that compose reads with the `.env` next to it: a YAML
/// file named like a compose file (`compose.yaml`, `docker-compose.prod.yml`).
pub(crate) fn is_project_compose(file: &str) -> bool {
    let name = file.rsplit('/').next().unwrap_or(file);
    let lower = name.to_ascii_lowercase();
    Hints::from_name(name).compose && (lower.ends_with(".yml") || lower.ends_with(".yaml"))
}

/// The directory part of a relative path (`""` at the root).
pub(crate) fn dir_of(file: &str) -> &str {
    file.rsplit_once('/').map_or("", |(d, _)| d)
}

/// [`scan_file_text`] with the compose project the file belongs to.
pub fn scan_text_in(
    file: &str,
    text: &str,
    project: &Project<'_>,
) -> Option<Result<Vec<Reference>, Problem>> {
    FileType::of(file).map(|t| scan_text(file, text, t, project))
}

pub(crate) fn scan_text(
    file: &str,
    text: &str,
    file_type: FileType,
    project: &Project<'_>,
) -> Result<Vec<Reference>, Problem> {
    let src = Source::new(file, text);
    let invalid = |e: crate::domain::yaml::YamlError| Problem {
        file: file.to_string(),
        line: Some(e.line),
        column: Some(e.column),
        message: if e.message.starts_with("scan budget") {
            e.message
        } else {
            format!("invalid YAML: {}", e.message)
        },
    };
    let mut refs = match file_type {
        FileType::Dotenv => {
            let mut refs = dotenv::scan(&src);
            if is_project_env(file) && !project.compose.is_empty() {
                let env = Env::new(file, text);
                let mut derived = Vec::new();
                for (cfile, ctext) in &project.compose {
                    let mut csrc = Source::new(cfile, ctext);
                    csrc.env = Some(&env);
                    // A compose file that does not parse is its own scan's problem.
                    if let Ok(found) = structured::scan(&csrc, Hints::from_name(cfile)) {
                        derived.extend(found.into_iter().filter(|r| r.file == file));
                    }
                }
                // The naming convention may have paired the same variable:
                // the compose file says which image it is.
                refs.retain(|r| {
                    !derived
                        .iter()
                        .any(|d| d.tag_span == r.tag_span && r.tag_span.is_some())
                });
                refs.extend(derived);
            }
            refs
        }
        FileType::Dockerfile => dockerfile::scan(&src),
        FileType::Structured(hints) => match project.env {
            Some((efile, etext)) if is_project_compose(file) => {
                let env = Env::new(efile, etext);
                let mut src = Source::new(file, text);
                src.env = Some(&env);
                let refs = structured::scan(&src, hints).map_err(invalid)?;
                // References whose tag is written in `.env` are the `.env`'s.
                refs.into_iter().filter(|r| r.file == file).collect()
            }
            _ => structured::scan(&src, hints).map_err(invalid)?,
        },
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
///
/// The walk never follows a symlink (the root itself excepted, when it is
/// named on the command line) and reads `.gitignore` and `.ignore` itself,
/// through [`read_bytes`]: only regular files inside the tree, at most
/// [`MAX_IGNORE_FILE_SIZE`] bytes. Any other ignore file is a problem, and
/// its rules do not apply. Entries named like manifests are listed whatever
/// their type, so that [`read`] reports a symlink, FIFO or device as a
/// problem rather than skipping it silently.
pub(crate) fn files(root: &Path) -> (Vec<(String, PathBuf, FileType)>, Vec<Problem>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    match std::fs::metadata(root) {
        Ok(meta) if meta.is_dir() => {
            walk(root, root, &mut Vec::new(), &mut files, &mut problems);
        }
        Ok(_) => {
            let rel = relative(root, root);
            if let Some(file_type) = FileType::of(&rel) {
                files.push((rel, root.to_path_buf(), file_type));
            }
        }
        Err(e) => problems.push(problem(&relative(root, root), format!("cannot read: {e}"))),
    }
    (files, problems)
}

/// The ignore rules of one directory of the walk.
struct Layer {
    /// Directory the rules are relative to.
    dir: PathBuf,
    /// `.ignore` (takes precedence over every `.gitignore`, as in `ignore`).
    ignore: Option<Gitignore>,
    /// `.gitignore`.
    git: Option<Gitignore>,
}

fn walk(
    root: &Path,
    dir: &Path,
    layers: &mut Vec<Layer>,
    files: &mut Vec<(String, PathBuf, FileType)>,
    problems: &mut Vec<Problem>,
) {
    let read_dir = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) => {
            problems.push(problem(
                &relative(root, dir),
                format!("cannot read directory: {e}"),
            ));
            return;
        }
    };
    let mut entries = Vec::new();
    for entry in read_dir {
        match entry {
            // `DirEntry::file_type` does not follow symlinks.
            Ok(e) => match e.file_type() {
                Ok(ft) => entries.push((e.file_name(), e.path(), ft)),
                Err(err) => problems.push(problem(
                    &relative(root, &e.path()),
                    format!("cannot read: {err}"),
                )),
            },
            Err(e) => problems.push(problem(
                &relative(root, dir),
                format!("cannot read directory: {e}"),
            )),
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let has = |name: &str| entries.iter().any(|(n, _, _)| n == name);
    let layer = Layer {
        dir: dir.to_path_buf(),
        ignore: has(".ignore")
            .then(|| ignore_file(root, &dir.join(".ignore"), problems))
            .flatten(),
        git: has(".gitignore")
            .then(|| ignore_file(root, &dir.join(".gitignore"), problems))
            .flatten(),
    };
    layers.push(layer);
    for (name, path, ft) in entries {
        if name == ".git" || is_ignored(layers, &path, ft.is_dir()) {
            continue;
        }
        if ft.is_dir() {
            walk(root, &path, layers, files, problems);
            continue;
        }
        let rel = relative(root, &path);
        if let Some(file_type) = FileType::of(&rel) {
            files.push((rel, path, file_type));
        }
    }
    layers.pop();
}

/// Reads and parses one ignore file safely; `None` (with a problem) when it
/// is not a regular file inside the tree, too big, or not valid.
fn ignore_file(root: &Path, path: &Path, problems: &mut Vec<Problem>) -> Option<Gitignore> {
    let rel = relative(root, path);
    let bytes = match read_bytes(path, MAX_IGNORE_FILE_SIZE) {
        Ok(b) => b,
        Err(why) => {
            problems.push(problem(
                &rel,
                format!("ignore file {why}; its rules do not apply"),
            ));
            return None;
        }
    };
    let text = String::from_utf8_lossy(&bytes);
    // Rules are matched against paths relative to this file's directory.
    let mut builder = GitignoreBuilder::new(".");
    for (i, line) in text.lines().enumerate() {
        let line = if i == 0 {
            line.trim_start_matches('\u{feff}')
        } else {
            line
        };
        if let Err(e) = builder.add_line(Some(PathBuf::from(&rel)), line) {
            problems.push(problem(&rel, format!("line {}: {e}", i + 1)));
        }
    }
    match builder.build() {
        Ok(g) => Some(g),
        Err(e) => {
            problems.push(problem(&rel, format!("ignore file not applied: {e}")));
            None
        }
    }
}

/// Whether the deepest matching rule ignores `path`: `.ignore` rules first,
/// then `.gitignore` rules, each from the innermost directory out.
fn is_ignored(layers: &[Layer], path: &Path, is_dir: bool) -> bool {
    let first = |pick: fn(&Layer) -> Option<&Gitignore>| {
        layers.iter().rev().find_map(|layer| {
            let rules = pick(layer)?;
            let rel = path.strip_prefix(&layer.dir).ok()?;
            let m = rules.matched(rel, is_dir);
            (!m.is_none()).then(|| m.is_ignore())
        })
    };
    first(|l| l.ignore.as_ref())
        .or_else(|| first(|l| l.git.as_ref()))
        .unwrap_or(false)
}

fn problem(file: &str, message: String) -> Problem {
    Problem {
        file: file.to_string(),
        line: None,
        column: None,
        message,
    }
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

/// Reads a file of the tree: only a regular file (never through a symlink,
/// never a FIFO, socket or device) of at most `cap` bytes. The error says
/// why the file was skipped (`is a symlink, not followed`, ...).
pub(crate) fn read_bytes(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    use std::io::Read as _;
    let meta = std::fs::symlink_metadata(path).map_err(|e| format!("cannot be read: {e}"))?;
    check_type(&meta, cap)?;
    let file = open_no_follow(path).map_err(|e| format!("cannot be read: {e}"))?;
    // The path may have been swapped since it was looked at: check what
    // was opened.
    let opened = file
        .metadata()
        .map_err(|e| format!("cannot be read: {e}"))?;
    check_type(&opened, cap)?;
    if !same_file(&meta, &opened) {
        return Err("changed while being read".into());
    }
    let mut bytes = Vec::with_capacity(opened.len() as usize);
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot be read: {e}"))?;
    if bytes.len() as u64 > cap {
        return Err(format!("is larger than {cap} bytes"));
    }
    Ok(bytes)
}

fn check_type(meta: &std::fs::Metadata, cap: u64) -> Result<(), String> {
    let ft = meta.file_type();
    if ft.is_symlink() {
        return Err("is a symlink, not followed".into());
    }
    if !ft.is_file() {
        return Err(format!("is not a regular file ({})", describe_type(ft)));
    }
    if meta.len() > cap {
        return Err(format!("is larger than {cap} bytes ({} bytes)", meta.len()));
    }
    Ok(())
}

#[cfg(unix)]
fn describe_type(ft: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "a device"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn describe_type(ft: std::fs::FileType) -> &'static str {
    if ft.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// Opens for reading without following a final symlink and without
/// blocking on a FIFO swapped in after the type check.
#[cfg(unix)]
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt as _;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
}

#[cfg(not(unix))]
fn open_no_follow(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

#[cfg(unix)]
fn same_file(a: &std::fs::Metadata, b: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::Metadata, _: &std::fs::Metadata) -> bool {
    true
}

/// Reads a manifest for scanning. The error is the problem message: why
/// the file was skipped (symlink, not a regular file, larger than
/// [`MAX_FILE_SIZE`], binary, NUL byte, invalid UTF-8) or could not be read.
pub(crate) fn read(path: &Path) -> Result<String, String> {
    let skipped = |why: String| format!("skipped: {why}");
    let bytes = read_bytes(path, MAX_FILE_SIZE).map_err(skipped)?;
    if let Some(at) = memchr::memchr(0, &bytes) {
        return Err(skipped(if at < BINARY_SNIFF {
            format!("binary file (NUL byte at offset {at})")
        } else {
            format!("contains a NUL byte at offset {at}")
        }));
    }
    String::from_utf8(bytes).map_err(|e| {
        skipped(format!(
            "not valid UTF-8 (at byte {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// What the scan of one file found: its references, or why it was skipped.
#[derive(Clone, Debug)]
pub struct FileScan {
    pub file: String,
    pub result: Result<Vec<Reference>, Problem>,
}

/// Scans every manifest under `root` (a directory, or a single file), on
/// all cores; the result is in path order whatever the thread count.
pub fn scan(root: &Path) -> ScanReport {
    let mut report = ScanReport::default();
    let (walk_problems, files) = scan_each(root, |f| match f.result {
        Ok(refs) => report.references.extend(refs),
        Err(p) => report.problems.push(p),
    });
    report.problems.splice(0..0, walk_problems);
    report.files_scanned = files;
    report
}

/// Scans every manifest under `root` and hands each file's result to
/// `each` as soon as it and every file before it (in path order) are done,
/// so that a caller can print as it goes. Returns the problems of the walk
/// itself (unreadable directories and ignore files) and the number of
/// files scanned.
///
/// Files are handed out one at a time to up to 8 threads, so a thread that
/// drew a big file does not hold up the others' work: the load is shared by
/// bytes, not by file count.
pub fn scan_each(root: &Path, mut each: impl FnMut(FileScan)) -> (Vec<Problem>, usize) {
    let (files, problems) = files(root);
    let projects = Projects::new(&files);
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8)
        .min(files.len().div_ceil(16))
        .max(1);
    if threads == 1 {
        for i in 0..files.len() {
            each(scan_one(&files, &projects, i));
        }
        return (problems, files.len());
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let (send, receive) = std::sync::mpsc::channel::<(usize, FileScan)>();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let send = send.clone();
            let (files, projects, next) = (&files, &projects, &next);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= files.len() {
                        break;
                    }
                    if send.send((i, scan_one(files, projects, i))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(send);
        // Hand results on in path order; out-of-order ones wait here.
        let mut waiting = std::collections::BTreeMap::new();
        let mut due = 0;
        for (i, result) in receive {
            waiting.insert(i, result);
            while let Some(result) = waiting.remove(&due) {
                each(result);
                due += 1;
            }
        }
    });
    (problems, files.len())
}

/// Which files of the walk are compose projects' `.env` files and compose
/// files, by directory.
pub(crate) struct Projects<'f> {
    env: std::collections::HashMap<&'f str, &'f Path>,
    compose: std::collections::HashMap<&'f str, Vec<(&'f str, &'f Path)>>,
}

impl<'f> Projects<'f> {
    pub fn new(files: &'f [(String, PathBuf, FileType)]) -> Self {
        let mut env = std::collections::HashMap::new();
        let mut compose: std::collections::HashMap<_, Vec<_>> = std::collections::HashMap::new();
        for (rel, abs, _) in files {
            if is_project_env(rel) {
                env.insert(dir_of(rel), abs.as_path());
            } else if is_project_compose(rel) {
                compose
                    .entry(dir_of(rel))
                    .or_default()
                    .push((rel.as_str(), abs.as_path()));
            }
        }
        compose.retain(|dir, _| env.contains_key(dir));
        env.retain(|dir, _| compose.contains_key(dir));
        Projects { env, compose }
    }

    /// The project files the scan of `rel` (whose text is `text`) reads.
    /// Files that cannot be read are left out: their own scan reports them.
    pub(crate) fn of(&self, rel: &str, text: &str) -> OwnedProject {
        let dir = dir_of(rel);
        let mut project = OwnedProject::default();
        if is_project_env(rel) {
            if let Some(files) = self.compose.get(dir) {
                project.compose = files
                    .iter()
                    .filter_map(|(f, abs)| Some((f.to_string(), read(abs).ok()?)))
                    .filter(|(_, t)| t.contains('$'))
                    .collect();
            }
        } else if is_project_compose(rel) && text.contains('$') {
            project.env = self.env.get(dir).and_then(|abs| {
                let file = match dir {
                    "" => ".env".to_string(),
                    d => format!("{d}/.env"),
                };
                Some((file, read(abs).ok()?))
            });
        }
        project
    }
}

/// The texts of a [`Project`].
#[derive(Default)]
pub(crate) struct OwnedProject {
    env: Option<(String, String)>,
    compose: Vec<(String, String)>,
}

impl OwnedProject {
    pub fn view(&self) -> Project<'_> {
        Project {
            env: self.env.as_ref().map(|(f, t)| (f.as_str(), t.as_str())),
            compose: self
                .compose
                .iter()
                .map(|(f, t)| (f.as_str(), t.as_str()))
                .collect(),
        }
    }
}

fn scan_one(files: &[(String, PathBuf, FileType)], projects: &Projects<'_>, i: usize) -> FileScan {
    let (rel, abs, file_type) = &files[i];
    let result = read(abs)
        .map_err(|why| problem(rel, why))
        .and_then(|text| scan_text(rel, &text, *file_type, &projects.of(rel, &text).view()));
    FileScan {
        file: rel.clone(),
        result,
    }
}
