//! `upkeep release classify`: the rule engine on one GitHub release, read
//! from a file or standard input; prints the contract's JSON or a readable
//! summary with the evidence for each code.
//!
//! Reads only the release file and the rule directories it is given; no
//! network, no settings.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};
use chrono::SecondsFormat;
use clap::{Args, Subcommand, ValueEnum};

use super::Exit;
use crate::domain::release::Release;
use crate::domain::rules::{Basis, Classification, Engine, PrioritySource};

/// Release files larger than this are refused (GitHub bodies are at most
/// 125 000 characters).
const MAX_RELEASE_BYTES: u64 = 16 << 20;

pub const CLASSIFY_HELP: &str = "\
Examples:
  gh api repos/sigp/lighthouse/releases/latest > release.json
  upkeep release classify --repo sigp/lighthouse --release release.json
  gh api repos/ethereum/go-ethereum/releases/latest \\
    | upkeep release classify --repo ethereum/go-ethereum --release - --format text

The JSON has: repo, tag, version, prerelease, codes, forks (fork, networks,
activation, epoch), breaking, security, mandatory, priority. Codes and the
rule-file format are documented in rules/README.md; --rules DIR adds rule and
fork-schedule files to the built-in ones.";

#[derive(Debug, Subcommand)]
pub enum ReleaseCommand {
    /// Classify one release: forks and activation times per network,
    /// mandatory wording, breaking changes, security fixes, priority.
    #[command(after_help = CLASSIFY_HELP)]
    Classify(ClassifyArgs),
}

#[derive(Debug, Args)]
pub struct ClassifyArgs {
    /// The upstream repository the release belongs to.
    #[arg(long, value_name = "OWNER/NAME")]
    repo: String,
    /// GitHub release JSON (one object, as the REST API returns it); `-`
    /// for standard input.
    #[arg(long, value_name = "FILE")]
    release: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Json)]
    format: Format,
    /// A directory of extra rule or fork-schedule files (repeatable).
    #[arg(long = "rules", value_name = "DIR")]
    rules: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Format {
    /// The contract's JSON.
    Json,
    /// A readable summary with the evidence of each code.
    Text,
}

pub fn run(cmd: &ReleaseCommand) -> Result<Exit> {
    match cmd {
        ReleaseCommand::Classify(args) => classify(args),
    }
}

fn classify(args: &ClassifyArgs) -> Result<Exit> {
    if !valid_repo(&args.repo) {
        eprintln!("error: --repo {:?}: expected OWNER/NAME", args.repo);
        return Ok(Exit::Usage);
    }
    let engine = match Engine::load(&args.rules) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return Ok(Exit::Usage);
        }
    };
    let release = read_release(&args.release)?;
    let c = engine.classify(&args.repo, &release);
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&c)?),
        Format::Text => print!("{}", text(&c)),
    }
    Ok(Exit::Success)
}

fn valid_repo(repo: &str) -> bool {
    let mut parts = repo.split('/');
    let ok = |p: Option<&str>| {
        p.is_some_and(|p| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
    };
    ok(parts.next()) && ok(parts.next()) && parts.next().is_none()
}

fn read_release(path: &Path) -> Result<Release> {
    let mut bytes = Vec::new();
    let name = if path == Path::new("-") {
        std::io::stdin()
            .take(MAX_RELEASE_BYTES + 1)
            .read_to_end(&mut bytes)
            .context("cannot read the release from standard input")?;
        "standard input".to_string()
    } else {
        std::fs::File::open(path)
            .and_then(|f| f.take(MAX_RELEASE_BYTES + 1).read_to_end(&mut bytes))
            .with_context(|| format!("cannot read {}", path.display()))?;
        path.display().to_string()
    };
    if bytes.len() as u64 > MAX_RELEASE_BYTES {
        bail!(
            "{name}: larger than {} MiB: expected one GitHub release JSON",
            MAX_RELEASE_BYTES >> 20
        );
    }
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("{name}: not JSON: expected one GitHub release object"))?;
    if let serde_json::Value::Array(items) = &value {
        bail!(
            "{name}: an array of {} releases: expected one release object (e.g. `jq '.[0]'`)",
            items.len()
        );
    }
    serde_json::from_value(value).with_context(|| {
        format!("{name}: not a GitHub release: expected an object with `tag_name` and `body`")
    })
}

/// The readable summary.
fn text(c: &Classification) -> String {
    let mut s = String::new();
    let _ = write!(s, "{} {}", c.repo, c.tag);
    if let Some(v) = &c.version {
        let _ = write!(s, " (version {v}");
        if c.prerelease {
            s.push_str(", pre-release");
        }
        s.push(')');
    } else if c.prerelease {
        s.push_str(" (pre-release)");
    }
    s.push('\n');
    let source = match c.priority_source {
        PrioritySource::Stated => "stated by the notes",
        PrioritySource::Derived => "derived from the codes",
        PrioritySource::Rule => "raised by a rule",
    };
    let _ = writeln!(s, "priority:  {} ({source})", c.priority);
    let codes: Vec<&str> = c.codes.iter().map(|c| c.as_str()).collect();
    let _ = writeln!(
        s,
        "codes:     {}",
        if codes.is_empty() {
            "none".to_string()
        } else {
            codes.join(", ")
        }
    );
    for f in &c.forks {
        let _ = writeln!(s, "fork:      {}", f.fork);
        for n in &f.per_network {
            let when = match (n.activation, n.basis) {
                (Some(at), Some(b)) => format!(
                    "{} ({})",
                    at.to_rfc3339_opts(SecondsFormat::Secs, true),
                    match b {
                        Basis::Text => "stated",
                        Basis::TextEpoch => "from the stated epoch or slot",
                        Basis::TextMinute => "stated to the minute",
                        Basis::TextDateSchedule => "stated date, time from the fork schedule",
                        Basis::Schedule => "not stated; from the fork schedule",
                    }
                ),
                _ => match &n.stated {
                    Some(d) => format!("on {d} (no schedule for this network)"),
                    None => "no time known".to_string(),
                },
            };
            let epoch = n.epoch.map(|e| format!(", epoch {e}")).unwrap_or_default();
            let _ = writeln!(s, "  {:<10} {when}{epoch}", n.network);
        }
    }
    if c.breaking.is_empty() {
        let _ = writeln!(s, "breaking:  none");
    } else {
        let _ = writeln!(s, "breaking:");
        for b in &c.breaking {
            let _ = writeln!(s, "  - {b}");
        }
    }
    if !c.labels.is_empty() {
        let _ = writeln!(s, "labels:    {}", c.labels.join(", "));
    }
    if let Some(d) = c.deadline {
        let _ = writeln!(
            s,
            "deadline:  {}",
            d.to_rfc3339_opts(SecondsFormat::Secs, true)
        );
    }
    if !c.evidence.is_empty() {
        let _ = writeln!(s, "evidence:");
        for e in &c.evidence {
            let code = e.code.map_or("priority", |c| c.as_str());
            let _ = writeln!(s, "  {code:<16} {:<22} {}", e.rule, e.text);
        }
    }
    if c.truncated {
        let _ = writeln!(
            s,
            "note: the notes were too long; only their beginning was read"
        );
    }
    s
}
