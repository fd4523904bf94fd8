//! `upkeep scan` and `upkeep bump`: the manifest stage on the command line.

use crate::domain::printable::{printable, printable_text};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use serde::Serialize;

use super::{Exit, table};
use crate::domain::manifest::{self, BumpRequest, DigestAction, Reference};

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Directory (or single file) to scan.
    path: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ScanFormat::Table)]
    format: ScanFormat,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum ScanFormat {
    Table,
    Json,
    /// One JSON object per line, each reference printed as soon as its
    /// file (and every file before it) is scanned.
    Jsonl,
}

#[derive(Debug, Args)]
pub struct BumpArgs {
    /// Directory (or single file) to rewrite.
    path: PathBuf,
    /// Image repository to bump, as Docker names it (`sigp/lighthouse`,
    /// `ghcr.io/org/app`).
    #[arg(long, value_name = "IMAGE")]
    image: String,
    /// New tag.
    #[arg(long, value_name = "TAG")]
    to: String,
    /// Only move references whose current tag is exactly TAG.
    #[arg(long, value_name = "TAG")]
    from: Option<String>,
    /// New digest for references pinned as `tag@sha256:...` (or with a
    /// `digest:` key).
    #[arg(long, value_name = "DIGEST", conflicts_with = "drop_digest")]
    digest: Option<String>,
    /// Remove the digest of pinned references.
    #[arg(long)]
    drop_digest: bool,
    /// Print a unified diff instead of writing files.
    #[arg(long)]
    dry_run: bool,
}

fn check_path(path: &Path) -> Result<()> {
    std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(())
}

/// The JSON shape of a reference in the contract.
#[derive(Serialize)]
struct ReferenceJson<'a> {
    file: &'a str,
    line: usize,
    column: usize,
    kind: manifest::Kind,
    image: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
    skip: Option<manifest::Skip>,
}

impl<'a> From<&'a Reference> for ReferenceJson<'a> {
    fn from(r: &'a Reference) -> Self {
        ReferenceJson {
            file: &r.file,
            line: r.line,
            column: r.column,
            kind: r.kind,
            image: &r.image,
            tag: r.tag.as_deref(),
            digest: r.digest.as_deref(),
            skip: r.skip,
        }
    }
}

/// `--format jsonl`: references stream out in path order as files are
/// scanned, problems go to stderr as they are met; nothing is held.
fn scan_jsonl(path: &Path) -> Result<Exit> {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut failed: Option<std::io::Error> = None;
    let mut problems = 0usize;
    let mut references = 0usize;
    let (walk_problems, files) = manifest::scan_each(path, |f| {
        if failed.is_some() {
            return;
        }
        match f.result {
            Ok(refs) => {
                for r in &refs {
                    references += 1;
                    let line = serde_json::to_string(&ReferenceJson::from(r))
                        .map_err(std::io::Error::other)
                        .and_then(|l| writeln!(out, "{l}"));
                    if let Err(e) = line {
                        failed = Some(e);
                        return;
                    }
                }
            }
            Err(p) => {
                problems += 1;
                eprintln!("warning: {p}");
            }
        }
    });
    if let Some(e) = failed {
        return Err(e.into());
    }
    out.flush()?;
    for p in &walk_problems {
        eprintln!("warning: {p}");
    }
    tracing::info!(files, references, "scanned");
    Ok(if problems + walk_problems.len() == 0 {
        Exit::Success
    } else {
        Exit::Partial
    })
}

pub fn scan(args: &ScanArgs) -> Result<Exit> {
    check_path(&args.path)?;
    if let ScanFormat::Jsonl = args.format {
        return scan_jsonl(&args.path);
    }
    let report = manifest::scan(&args.path);
    tracing::info!(
        files = report.files_scanned,
        references = report.references.len(),
        "scanned"
    );
    let mut out = String::new();
    match args.format {
        ScanFormat::Json => {
            #[derive(Serialize)]
            struct Json<'a> {
                references: Vec<ReferenceJson<'a>>,
                problems: &'a [manifest::Problem],
            }
            let json = Json {
                references: report.references.iter().map(ReferenceJson::from).collect(),
                problems: &report.problems,
            };
            out = serde_json::to_string_pretty(&json)?;
            out.push('\n');
        }
        // (jsonl is streamed above)
        ScanFormat::Table | ScanFormat::Jsonl => {
            let rows: Vec<[String; 5]> = report
                .references
                .iter()
                .map(|r| {
                    [
                        format!("{}:{}:{}", r.file, r.line, r.column),
                        r.kind.to_string(),
                        r.image.clone(),
                        match (&r.tag, &r.digest) {
                            (Some(t), Some(d)) => format!("{t}@{}", short_digest(d)),
                            (Some(t), None) => t.clone(),
                            (None, Some(d)) => format!("@{}", short_digest(d)),
                            (None, None) => "-".into(),
                        },
                        r.skip.map_or(String::new(), |s| format!("skip: {s}")),
                    ]
                })
                .collect();
            out.push_str(&table(&["LOCATION", "KIND", "IMAGE", "TAG", ""], &rows));
        }
    }
    std::io::stdout().write_all(out.as_bytes())?;
    if let ScanFormat::Table = args.format {
        // On stderr: stdout stays the table alone.
        eprintln!("{}", scan_summary(&report));
    }
    for p in &report.problems {
        eprintln!("warning: {}", printable(&p.to_string()));
    }
    Ok(if report.problems.is_empty() {
        Exit::Success
    } else {
        Exit::Partial
    })
}

/// `12 references in 3 files (40 files read)`.
fn scan_summary(report: &manifest::ScanReport) -> String {
    let with_refs = report
        .references
        .iter()
        .map(|r| r.file.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let plural = |n: usize, one: &str| format!("{n} {one}{}", if n == 1 { "" } else { "s" });
    format!(
        "{} in {} ({} read)",
        plural(report.references.len(), "reference"),
        plural(with_refs, "file"),
        plural(report.files_scanned, "file")
    )
}

fn short_digest(d: &str) -> String {
    match d.split_once(':') {
        Some((algo, hex)) if hex.len() > 12 => format!("{algo}:{}…", &hex[..12]),
        _ => d.to_string(),
    }
}

pub fn bump(args: &BumpArgs) -> Result<Exit> {
    check_path(&args.path)?;
    let req = BumpRequest {
        image: args.image.clone(),
        to: args.to.clone(),
        from: args.from.clone(),
        digest: match (&args.digest, args.drop_digest) {
            (Some(d), _) => DigestAction::Set(d.clone()),
            (None, true) => DigestAction::Drop,
            (None, false) => DigestAction::Keep,
        },
    };
    let plan = match manifest::plan_bump(&args.path, &req) {
        Ok(plan) => plan,
        Err(e @ manifest::BumpError::Verification { .. }) => {
            eprintln!("error: {e}");
            return Ok(Exit::Partial);
        }
        Err(e) => return Err(e.into()),
    };
    for p in &plan.problems {
        eprintln!("warning: {}", printable(&p.to_string()));
    }
    if args.dry_run {
        let mut out = String::new();
        for f in &plan.files {
            let diff = similar::TextDiff::from_lines(&f.before, &f.after);
            let _ = write!(
                out,
                "{}",
                diff.unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{}", f.file), &format!("b/{}", f.file))
            );
        }
        std::io::stdout().write_all(printable_text(&out).as_bytes())?;
    }
    // The files that changed (or, in a dry run, would): a reference counts
    // as bumped only when its file is one of them.
    let mut changed_files: Vec<&str> = Vec::new();
    let mut failed = false;
    if args.dry_run {
        changed_files.extend(plan.files.iter().map(|f| f.file.as_str()));
    } else {
        for (f, result) in plan.files.iter().zip(manifest::write_bump(&plan)) {
            match result {
                Ok(()) => changed_files.push(&f.file),
                Err(e) => {
                    failed = true;
                    eprintln!("error: {}", printable(&e.to_string()));
                }
            }
        }
    }
    let mut changed = 0;
    for o in &plan.outcomes {
        let r = &o.reference;
        let at = format!("{}:{}:{}", r.file, r.line, r.column);
        let current = r.tag.as_deref().unwrap_or("-");
        let line = match &o.result {
            Ok((tag, _)) if changed_files.contains(&r.file.as_str()) => {
                changed += 1;
                format!("{at}  {}  {current} -> {tag}", r.image)
            }
            Ok((tag, _)) => format!(
                "{at}  {}  {current}  left alone: {} not written (wanted {tag})",
                r.image, r.file
            ),
            Err(why) => format!(
                "{at}  {}  {current}  left alone: {}",
                r.image,
                why.describe()
            ),
        };
        eprintln!("{}", printable(&line));
    }
    let verb = if args.dry_run { "would bump" } else { "bumped" };
    eprintln!(
        "{verb} {changed} of {} references to {} in {} files",
        plan.outcomes.len(),
        args.image,
        changed_files.len()
    );
    if plan.outcomes.is_empty() {
        eprintln!(
            "no reference to image `{}` under {}",
            args.image,
            args.path.display()
        );
        return Ok(Exit::Findings);
    }
    Ok(if plan.problems.is_empty() && !failed {
        Exit::Success
    } else {
        Exit::Partial
    })
}
