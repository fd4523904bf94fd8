//! Bumping: rewrites the tag (and, when asked, the digest) of every reference
//! to one image, changing no other byte.
//!
//! Edits replace the bytes at a reference's span; the new text is scanned
//! again and must read exactly as predicted before anything is written.
//! Files are written atomically (temporary file in the same directory, then
//! rename, permissions kept) and never through a symlink.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::scan::{self, FileType, Problem, Project};
use super::{Reference, Site, Skip, Span, image};
use crate::domain::version::{Scheme, Tag};
use crate::domain::yaml;

/// What to do with the digest of a reference pinned as `tag@sha256:...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DigestAction {
    /// Leave pinned references alone (and say so).
    Keep,
    /// Write this digest next to the new tag.
    Set(String),
    /// Remove the digest.
    Drop,
    /// Write this digest next to the new tag, adding it to references in a
    /// plain image string that have none (`registries.pin_digests`).
    Pin(String),
}

/// One bump: every reference to `image` moves to `to`.
#[derive(Clone, Debug)]
pub struct BumpRequest {
    pub image: String,
    pub to: String,
    /// Only move references whose tag is exactly this (and then regardless
    /// of variant class).
    pub from: Option<String>,
    pub digest: DigestAction,
}

/// Why a reference to the image was not changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unchanged {
    /// Already at the target.
    AlreadyCurrent,
    /// Its tag is not in the target's variant class (another prefix, suffix
    /// or number of version parts, or not a version at all).
    OtherVariant,
    /// Its tag is not the `--from` tag.
    NotFrom,
    /// Pinned by digest and neither `--digest` nor `--drop-digest` given.
    PinnedByDigest,
    /// Its tag is an anchor that another reference, which does not move,
    /// also reads.
    SharedAnchor,
    /// A skipped reference (templated, variable, untagged, digest-only).
    Skipped(Skip),
}

impl Unchanged {
    pub fn describe(self) -> String {
        match self {
            Unchanged::AlreadyCurrent => "already at the target".into(),
            Unchanged::OtherVariant => "tag is not in the target's variant class".into(),
            Unchanged::NotFrom => "tag is not the --from tag".into(),
            Unchanged::PinnedByDigest => "pinned by digest: pass --digest or --drop-digest".into(),
            Unchanged::SharedAnchor => "its tag is an anchor another reference reads too".into(),
            Unchanged::Skipped(s) => format!("skipped ({s})"),
        }
    }
}

/// `Ok((new tag, new digest))` when a reference changes.
pub type Decision = Result<(String, Option<String>), Unchanged>;

/// The fate of one reference to the bumped image.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub reference: Reference,
    pub result: Decision,
}

/// One file's new content.
#[derive(Clone, Debug)]
pub struct FileChange {
    pub file: String,
    pub path: PathBuf,
    pub before: String,
    pub after: String,
}

/// Everything a bump would do.
#[derive(Clone, Debug, Default)]
pub struct BumpPlan {
    pub outcomes: Vec<Outcome>,
    pub files: Vec<FileChange>,
    pub problems: Vec<Problem>,
}

#[derive(Debug, thiserror::Error)]
pub enum BumpError {
    #[error("invalid tag `{0}`: a tag is 1 to 128 of [A-Za-z0-9_.-], not starting with `.` or `-`")]
    InvalidTag(String),
    #[error("invalid digest `{0}`: expected `sha256:` and 64 hex digits")]
    InvalidDigest(String),
    #[error("invalid image name `{0}`")]
    InvalidImage(String),
    #[error(
        "{file}:{line}:{column}: verification failed after editing: {detail}; nothing was written"
    )]
    Verification {
        file: String,
        line: usize,
        column: usize,
        detail: String,
    },
    #[error("{file}: changed on disk while bumping; nothing was written to it")]
    Concurrent { file: String },
    #[error("{0}")]
    Parse(Problem),
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
}

impl BumpRequest {
    fn validate(&self) -> Result<(), BumpError> {
        if !image::is_valid_tag(&self.to) {
            return Err(BumpError::InvalidTag(self.to.clone()));
        }
        if let Some(f) = &self.from
            && !image::is_valid_tag(f)
        {
            return Err(BumpError::InvalidTag(f.clone()));
        }
        if let DigestAction::Set(d) = &self.digest
            && !image::is_valid_digest(d)
        {
            return Err(BumpError::InvalidDigest(d.clone()));
        }
        match image::split(&self.image) {
            Some(p) if p.tag.is_none() && p.digest.is_none() => Ok(()),
            _ => Err(BumpError::InvalidImage(self.image.clone())),
        }
    }
}

/// Computes the bump of every file under `root`; writes nothing.
pub fn plan(root: &Path, req: &BumpRequest) -> Result<BumpPlan, BumpError> {
    req.validate()?;
    let (files, mut problems) = scan::files(root);
    let projects = scan::Projects::new(&files);
    let mut plan = BumpPlan::default();
    for (rel, abs, file_type) in &files {
        let (rel, abs, file_type) = (rel.clone(), abs.clone(), *file_type);
        let text = match scan::read(&abs) {
            Ok(t) => t,
            Err(why) => {
                problems.push(Problem {
                    file: rel,
                    line: None,
                    column: None,
                    message: why,
                });
                continue;
            }
        };
        let project = projects.of(&rel, &text);
        match bump_typed(&rel, &text, file_type, req, &|_| true, &project.view()) {
            Ok((outcomes, after)) => {
                plan.outcomes.extend(outcomes);
                if let Some(after) = after.filter(|a| *a != text) {
                    plan.files.push(FileChange {
                        file: rel,
                        path: abs,
                        before: text,
                        after,
                    });
                }
            }
            Err(BumpError::Parse(p)) => problems.push(p),
            Err(e) => return Err(e),
        }
    }
    plan.problems = problems;
    Ok(plan)
}

/// Writes a plan's files atomically, each on its own: a file that changed
/// on disk since it was read (or is no longer a regular file) is left alone
/// and the others are still written. Returns one result per file of
/// `plan.files`, in order.
pub fn write(plan: &BumpPlan) -> Vec<Result<(), BumpError>> {
    plan.files.iter().map(write_file).collect()
}

fn write_file(change: &FileChange) -> Result<(), BumpError> {
    let io = |source| BumpError::Io {
        file: change.file.clone(),
        source,
    };
    let meta = std::fs::symlink_metadata(&change.path).map_err(io)?;
    // Read again as the scan does: never through a symlink, never a FIFO.
    let now = scan::read_bytes(&change.path, scan::MAX_FILE_SIZE);
    if !now.is_ok_and(|bytes| bytes == change.before.as_bytes()) {
        return Err(BumpError::Concurrent {
            file: change.file.clone(),
        });
    }
    let dir = change.path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".upkeep-")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(change.after.as_bytes()).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    std::fs::set_permissions(tmp.path(), meta.permissions()).map_err(io)?;
    tmp.persist(&change.path).map_err(|e| io(e.error))?;
    Ok(())
}

/// Bumps one file's text, `file` being its path relative to the root (its
/// name decides how it is read). Returns what happened to every reference
/// to the image and the new text, if anything changed. Writes nothing.
pub fn bump_text(
    file: &str,
    text: &str,
    req: &BumpRequest,
) -> Result<(Vec<Outcome>, Option<String>), BumpError> {
    bump_text_only(file, text, req, &|_| true)
}

/// [`bump_text`] restricted to the references to the image that `select`
/// picks: the others are left alone (and have no outcome), exactly like
/// references to another image. Used to undo one pull request's edits
/// without touching references it did not change.
pub fn bump_text_only(
    file: &str,
    text: &str,
    req: &BumpRequest,
    select: &dyn Fn(&Reference) -> bool,
) -> Result<(Vec<Outcome>, Option<String>), BumpError> {
    bump_text_only_in(file, text, req, select, &Project::default())
}

/// [`bump_text_only`] for a file of a compose project, read as
/// [`bump_text_in`] reads it.
pub fn bump_text_only_in(
    file: &str,
    text: &str,
    req: &BumpRequest,
    select: &dyn Fn(&Reference) -> bool,
    project: &Project<'_>,
) -> Result<(Vec<Outcome>, Option<String>), BumpError> {
    req.validate()?;
    match FileType::of(file) {
        Some(file_type) => bump_typed(file, text, file_type, req, select, project),
        None => Ok((Vec::new(), None)),
    }
}

/// [`bump_text`] for a file of a compose project (its `.env`, or a compose
/// file next to one): what [`super::scan_text_in`] reads, it bumps.
pub fn bump_text_in(
    file: &str,
    text: &str,
    req: &BumpRequest,
    project: &Project<'_>,
) -> Result<(Vec<Outcome>, Option<String>), BumpError> {
    req.validate()?;
    match FileType::of(file) {
        Some(file_type) => bump_typed(file, text, file_type, req, &|_| true, project),
        None => Ok((Vec::new(), None)),
    }
}

fn bump_typed(
    file: &str,
    text: &str,
    file_type: FileType,
    req: &BumpRequest,
    select: &dyn Fn(&Reference) -> bool,
    project: &Project<'_>,
) -> Result<(Vec<Outcome>, Option<String>), BumpError> {
    let refs = scan::scan_text(file, text, file_type, project).map_err(BumpError::Parse)?;
    let quote = preferred_quote(text);
    let mut decisions: Vec<Option<Decision>> = refs
        .iter()
        .map(|r| (image::same_image(&r.image, &req.image) && select(r)).then(|| decide(r, req)))
        .collect();
    // Bytes shared through an anchor move only if every reference reading
    // them moves too.
    let moves = |d: &Option<Result<_, _>>| matches!(d, Some(Ok(_)));
    let stuck: Vec<Span> = refs
        .iter()
        .zip(&decisions)
        .filter(|(_, d)| !moves(d))
        .flat_map(|(r, _)| [r.tag_span, r.digest_span])
        .flatten()
        .collect();
    for (r, d) in refs.iter().zip(decisions.iter_mut()) {
        if moves(d)
            && [r.tag_span, r.digest_span]
                .iter()
                .flatten()
                .any(|s| stuck.contains(s))
        {
            *d = Some(Err(Unchanged::SharedAnchor));
        }
    }
    let mut outcomes = Vec::new();
    let mut edits: Vec<(Span, String)> = Vec::new();
    let mut expected = Vec::with_capacity(refs.len());
    for (r, decision) in refs.iter().zip(decisions) {
        let mut predicted = (r.image.clone(), r.tag.clone(), r.digest.clone(), r.skip);
        if let Some(result) = decision {
            if let Ok((tag, digest)) = &result {
                if let (Some(span), Some(old)) = (r.tag_span, &r.tag)
                    && old != tag
                {
                    // A tag is a string: an unquoted `25.10` would be read as the number 25.1.
                    let needs_quotes =
                        r.tag_site == Site::YamlPlain && yaml::plain_is_not_string(tag);
                    let new = if needs_quotes {
                        format!("{quote}{tag}{quote}")
                    } else {
                        tag.clone()
                    };
                    edits.push((span, new));
                }
                if let (None, Some(d), Some(tag_span)) = (r.digest_span, digest, r.tag_span) {
                    // A new pin: `repo:tag` becomes `repo:tag@sha256:…`.
                    edits.push((Span::new(tag_span.end, tag_span.end), format!("@{d}")));
                }
                if let Some(span) = r.digest_span {
                    match digest {
                        Some(d) if Some(d) != r.digest.as_ref() => edits.push((span, d.clone())),
                        Some(_) => {}
                        None if r.digest_inline => {
                            edits.push((Span::new(span.start - 1, span.end), String::new()))
                        }
                        None => edits.push((span, String::new())),
                    }
                }
                predicted.1 = Some(tag.clone());
                predicted.2 = digest.clone();
            }
            outcomes.push(Outcome {
                reference: r.clone(),
                result,
            });
        }
        expected.push(predicted);
    }
    edits.sort_by_key(|(s, _)| (s.start, s.end));
    edits.dedup();
    if let Some(w) = edits.windows(2).find(|w| w[0].0.end > w[1].0.start) {
        let at = refs
            .iter()
            .find(|r| r.tag_span == Some(w[1].0))
            .unwrap_or(&refs[0]);
        return Err(BumpError::Verification {
            file: file.into(),
            line: at.line,
            column: at.column,
            detail: "two references share bytes but need different values".into(),
        });
    }
    if edits.is_empty() {
        return Ok((outcomes, None));
    }
    let mut after = String::with_capacity(text.len() + 16);
    let mut last = 0;
    for (span, new) in &edits {
        after.push_str(&text[last..span.start]);
        after.push_str(new);
        last = span.end;
    }
    after.push_str(&text[last..]);
    verify(file, &after, file_type, project, &refs, &expected)?;
    Ok((outcomes, Some(after)))
}

fn decide(r: &Reference, req: &BumpRequest) -> Decision {
    if let Some(skip) = r.skip {
        return Err(Unchanged::Skipped(skip));
    }
    let Some(tag) = &r.tag else {
        return Err(Unchanged::Skipped(Skip::Untagged));
    };
    match &req.from {
        Some(from) if from != tag => return Err(Unchanged::NotFrom),
        Some(_) => {}
        None if *tag != req.to && !same_class(tag, &req.to) => return Err(Unchanged::OtherVariant),
        None => {}
    }
    let digest = match (&r.digest, &req.digest) {
        (None, DigestAction::Pin(d)) if r.inline_image => Some(d.clone()),
        (None, _) => None,
        (Some(_), DigestAction::Keep) if *tag != req.to => return Err(Unchanged::PinnedByDigest),
        (Some(d), DigestAction::Keep) => Some(d.clone()),
        (Some(_), DigestAction::Set(d) | DigestAction::Pin(d)) => Some(d.clone()),
        (Some(_), DigestAction::Drop) => None,
    };
    if *tag == req.to && digest == r.digest {
        return Err(Unchanged::AlreadyCurrent);
    }
    Ok((req.to.clone(), digest))
}

type Predicted = (String, Option<String>, Option<String>, Option<Skip>);

/// Scans the edited text again: every reference must read as predicted.
fn verify(
    file: &str,
    after: &str,
    file_type: FileType,
    project: &Project<'_>,
    before: &[Reference],
    expected: &[Predicted],
) -> Result<(), BumpError> {
    let fail = |r: &Reference, detail: String| BumpError::Verification {
        file: file.into(),
        line: r.line,
        column: r.column,
        detail,
    };
    let now = scan::scan_text(file, after, file_type, project)
        .map_err(|p| fail(&before[0], p.message))?;
    if now.len() != expected.len() {
        return Err(fail(
            &before[0],
            format!("{} references before, {} after", expected.len(), now.len()),
        ));
    }
    for ((r, want), old) in now.iter().zip(expected).zip(before) {
        let got = (r.image.clone(), r.tag.clone(), r.digest.clone(), r.skip);
        if &got != want {
            return Err(fail(old, format!("expected {want:?}, read {got:?}")));
        }
    }
    Ok(())
}

/// The quote character a file uses most for scalars (double by default).
fn preferred_quote(text: &str) -> char {
    let singles = text.matches(": '").count();
    let doubles = text.matches(": \"").count();
    if singles > doubles { '\'' } else { '"' }
}

/// True when both tags are versions of one variant class (same prefix,
/// suffix and number of parts) under the lenient semver or the calver scheme.
fn same_class(current: &str, target: &str) -> bool {
    [Scheme::Semver, Scheme::Calver].iter().any(|scheme| {
        match (Tag::parse(scheme, current), Tag::parse(scheme, target)) {
            (Some(a), Some(b)) => a.class() == b.class(),
            _ => false,
        }
    })
}
