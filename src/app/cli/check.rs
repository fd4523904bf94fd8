//! `upkeep check`: what is outdated, as a table, JSON or markdown, with an
//! exit code for CI gates.

use crate::domain::printable::{printable, printable_text};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{IsTerminal, Write as _};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use clap::{Args, ValueEnum};

use super::{Exit, table};
use crate::app::check::{self, Progress};
use crate::app::context::Context;
use crate::domain::catalog::Catalog;
use crate::domain::evaluate::{CheckReport, Failure, Finding};
use crate::domain::rules::Code;
use crate::domain::settings;
use crate::env;
use crate::io::forge::Forge;
use crate::io::git;
use crate::io::registry::Registry;
use crate::io::store::Store;

pub const AFTER_HELP: &str = "\
Examples:
  upkeep check --settings deploy/examples/upkeep.yml
  upkeep check --format json | jq '.findings[] | select(.behind > 2)'
  upkeep check --fail-on outdated          # CI gate: exit 1 when anything is behind

Without repositories in the settings, the current directory is checked.
GitHub is read anonymously (60 requests/hour) unless UPKEEP_GITHUB_TOKEN (or
GITHUB_TOKEN) is set; unchanged upstreams cost no rate limit on later runs
thanks to the state store (UPKEEP_STATE).

A target is offered only once its image is in the registry; until then the
finding says \"waiting for image\". Registry credentials: UPKEEP_REGISTRY_AUTH
(Docker config.json format); mirrors: `registries.mirrors` in the settings.";

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Exit 1 when a finding is at or above LEVEL.
    #[arg(long, value_enum, value_name = "LEVEL")]
    fail_on: Option<FailOn>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Table,
    Json,
    Markdown,
}

/// What makes `--fail-on` fail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FailOn {
    /// Any reference behind its newest release.
    Outdated,
    /// A release in between carries a breaking change.
    Breaking,
    /// A fork deadline applies (or has passed).
    Deadline,
    /// A release in between fixes a security issue.
    Security,
}

impl FailOn {
    fn matches(self, f: &Finding) -> bool {
        let has = |code: Code| f.codes.contains(&code);
        match self {
            FailOn::Outdated => f.behind > 0,
            FailOn::Breaking => has(Code::BreakingChange),
            FailOn::Deadline => f.deadline.is_some() || has(Code::HardFork) || has(Code::Overdue),
            FailOn::Security => has(Code::SecurityFix),
        }
    }
}

/// Everything a pass over the repositories needs, built from the settings
/// file and the environment: the async runtime, the pipeline context and the
/// terminal progress indicator.
pub struct Session {
    pub runtime: tokio::runtime::Runtime,
    pub ctx: Context,
    pub forge: Arc<Forge>,
    /// The time this command takes as now (`UPKEEP_NOW`, else the clock).
    pub now: chrono::DateTime<chrono::Utc>,
}

/// Builds a [`Session`]; `Err(exit)` after printing what is wrong with the
/// settings.
pub fn session(settings_file: Option<&Path>) -> Result<Result<Session, Exit>> {
    // libgit2's socket timeouts are C globals: set before any thread starts.
    git::configure();
    let env: HashMap<String, String> = std::env::vars().collect();
    let now = match crate::app::context::now(&env) {
        Ok(now) => now,
        Err(e) => {
            eprintln!("{e}");
            return Ok(Err(Exit::Usage));
        }
    };
    let settings = match settings::load(settings_file, &env) {
        Ok(s) => s,
        Err(errors) => {
            eprintln!("{errors}");
            return Ok(Err(Exit::Usage));
        }
    };
    let catalog = match Catalog::with_settings(&settings) {
        Ok(c) => c,
        Err(errors) => {
            eprintln!("{errors}");
            return Ok(Err(Exit::Usage));
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let store = Arc::new(Store::open_from(env.get(env::STATE).map(String::as_str))?);
    let forge = {
        // octocrab's client spawns onto the runtime it is built in.
        let _entered = runtime.enter();
        let mut forge = match Forge::from_env(&env) {
            Ok(f) => f,
            Err(e @ crate::io::forge::ForgeError::Setting(_)) => {
                eprintln!("{e}");
                return Ok(Err(Exit::Usage));
            }
            Err(e) => return Err(e.into()),
        };
        forge.set_memory(Arc::new(crate::app::context::StoreMemory(store.clone())));
        forge.set_clock(crate::app::context::clock);
        Arc::new(forge)
    };
    let git_token = env
        .get(env::GITHUB_TOKEN)
        .or_else(|| env.get(env::GITHUB_TOKEN_FALLBACK))
        .cloned();
    let registry = {
        let _entered = runtime.enter();
        match Registry::from_env(&settings.registries, &env, Some(store.clone())) {
            Ok(r) => Arc::new(r),
            Err(e) => {
                eprintln!("{e}");
                return Ok(Err(Exit::Usage));
            }
        }
    };
    let engine = match crate::domain::rules::Engine::load(&settings.rule_directories) {
        Ok(engine) => Arc::new(engine),
        Err(errors) => {
            eprintln!("{errors}");
            return Ok(Err(Exit::Usage));
        }
    };
    let prometheus = match &settings.prometheus {
        None => None,
        Some(url) => {
            let _entered = runtime.enter();
            match crate::io::prometheus::Prometheus::from_env(url, &env) {
                Ok(p) => Some(Arc::new(p)),
                Err(e) => {
                    eprintln!("{e}");
                    return Ok(Err(Exit::Usage));
                }
            }
        }
    };
    let ctx = Context {
        settings,
        catalog,
        forge: forge.clone(),
        store,
        git_token,
        cache_dir: env
            .get(env::CACHE_DIR)
            .map_or_else(git::default_cache_dir, Into::into),
        concurrency: 8,
        registry: Some(registry),
        engine: Some(engine),
        prometheus,
        commands: crate::domain::render::Commands::NotAnswered,
    };
    Ok(Ok(Session {
        runtime,
        ctx,
        forge,
        now,
    }))
}

/// How often a long pass says where it is when stderr is not a terminal.
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Progress on stderr, never on stdout: on a terminal a status line
/// rewritten in place; otherwise (CI logs) a `progress:` line at most every
/// [`PROGRESS_EVERY`], none for a pass shorter than that. Each step is also
/// logged at info (`-v`).
pub fn progress() -> impl Fn(Progress) + Send + Sync {
    let interactive = std::io::stderr().is_terminal();
    let last = std::sync::Mutex::new(std::time::Instant::now());
    move |p: Progress| {
        let line = match p {
            Progress::Repository { name, done, total } => {
                format!("reading repositories {}/{total}: {name}", done + 1)
            }
            Progress::Polled { done, total } => format!("polling upstreams {done}/{total}"),
            Progress::Publishing {
                name,
                done,
                total,
                planned,
            } => format!(
                "{done}/{total} repositories, {planned} pull request(s) planned; now {name}"
            ),
        };
        let line = printable(&line);
        tracing::info!("{line}");
        if interactive {
            eprint!("\r\x1b[2K{line}");
            return;
        }
        let mut last = last.lock().unwrap_or_else(|e| e.into_inner());
        if last.elapsed() >= PROGRESS_EVERY {
            *last = std::time::Instant::now();
            eprintln!("progress: {line}");
        }
    }
}

/// Clears the progress line.
pub fn progress_done() {
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[2K");
    }
}

pub fn check(args: &CheckArgs, settings_file: Option<&Path>) -> Result<Exit> {
    let Session {
        runtime,
        ctx,
        forge,
        now,
    } = match session(settings_file)? {
        Ok(s) => s,
        Err(exit) => return Ok(exit),
    };
    let progress = progress();
    let report = runtime.block_on(check::run(&ctx, now, &progress));
    progress_done();
    tracing::info!(
        requests = forge
            .stats
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        not_modified = forge
            .stats
            .not_modified
            .load(std::sync::atomic::Ordering::Relaxed),
        "GitHub requests"
    );
    if let Some(registry) = &ctx.registry {
        tracing::info!(
            requests = registry
                .stats
                .requests
                .load(std::sync::atomic::Ordering::Relaxed),
            cached = registry
                .stats
                .cache_hits
                .load(std::sync::atomic::Ordering::Relaxed),
            "registry requests"
        );
    }
    let out = match args.format {
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Table => render_table(&report, std::io::stdout().is_terminal(), now),
        Format::Markdown => printable_text(&render_markdown(&report, now)).into_owned(),
    };
    std::io::stdout().write_all(out.as_bytes())?;
    print_diagnostics(&report, &[], &forge);
    if let (Format::Table, Some(note)) = (args.format, untracked_note(&report)) {
        eprint!("{note}");
    }
    if let Some(exit) = Exit::of_check(&report, false) {
        return Ok(exit);
    }
    let failed = args
        .fail_on
        .is_some_and(|level| report.findings.iter().any(|f| level.matches(f)));
    Ok(if failed {
        Exit::Findings
    } else {
        Exit::Success
    })
}

fn location(f: &Finding, many_repos: bool) -> String {
    if many_repos {
        format!("{}:{}:{}", f.repository, f.file, f.line)
    } else {
        format!("{}:{}", f.file, f.line)
    }
}

fn render_table(report: &CheckReport, colour: bool, now: chrono::DateTime<chrono::Utc>) -> String {
    let many = report
        .findings
        .iter()
        .map(|f| &f.repository)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        > 1;
    let paint = |text: String, code: &str| {
        if colour && std::env::var_os("NO_COLOR").is_none() {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text
        }
    };
    let rows: Vec<[String; 8]> = report
        .findings
        .iter()
        .map(|f| {
            [
                super::shorten_location(&location(f, many), super::LOCATION_WIDTH),
                f.environment.clone().unwrap_or_else(|| "-".into()),
                f.image.clone(),
                f.current.clone(),
                f.target_tag.clone(),
                f.behind.to_string(),
                f.priority.map_or("-", |p| p.as_str()).to_string(),
                notes(f, now),
            ]
        })
        .collect();
    let mut out = if rows.is_empty() && report.up_to_date > 0 && report.incomplete() {
        String::from("Everything checked is up to date, but the check is incomplete.\n")
    } else if rows.is_empty() && report.up_to_date > 0 {
        String::from("Everything checked is up to date.\n")
    } else if rows.is_empty() {
        String::from("No reference could be checked.\n")
    } else {
        let text = table(
            &[
                "LOCATION", "ENV", "IMAGE", "CURRENT", "TARGET", "BEHIND", "PRIORITY", "NOTES",
            ],
            &rows,
        );
        // Colour after aligning, so escape codes do not skew the columns.
        let mut lines = text.lines();
        let mut coloured = lines
            .next()
            .map(|h| paint(h.to_string(), "1"))
            .unwrap_or_default()
            + "\n";
        for (line, f) in lines.zip(&report.findings) {
            let code = if f.deadline.is_some() || f.behind >= 5 {
                "31"
            } else {
                "33"
            };
            coloured.push_str(&paint(line.to_string(), code));
            coloured.push('\n');
        }
        coloured
    };
    let _ = writeln!(out, "\n{}", summary(report));
    out
}

/// Images listed in the untracked note at most.
const MAX_UNTRACKED: usize = 20;

/// The images no upstream (catalog or settings) tracks, each with its
/// first reference, and the `upstreams:` entry that would track the first
/// of them; `None` when every image is tracked.
fn untracked_note(report: &CheckReport) -> Option<String> {
    let mut images: BTreeMap<&str, (String, usize)> = BTreeMap::new();
    for u in report.unchecked.iter().filter(|u| u.reason == "untracked") {
        let at = || format!("{}:{}", u.file, u.line);
        let entry = images.entry(u.image.as_str()).or_insert_with(|| (at(), 0));
        entry.1 += 1;
    }
    let (first, _) = images.first_key_value()?;
    let mut out = format!(
        "note: {} untracked image{} (no upstream in the catalog or the settings releases {}):\n",
        images.len(),
        if images.len() == 1 { "" } else { "s" },
        if images.len() == 1 { "it" } else { "them" }
    );
    let width = images
        .keys()
        .take(MAX_UNTRACKED)
        .map(|i| printable(i).chars().count())
        .max()
        .unwrap_or(0);
    for (image, (at, count)) in images.iter().take(MAX_UNTRACKED) {
        let more = if *count > 1 {
            format!(" (and {} more)", count - 1)
        } else {
            String::new()
        };
        let image = printable(image);
        let _ = writeln!(out, "  {image:<width$}  {}{more}", printable(at));
    }
    if images.len() > MAX_UNTRACKED {
        let _ = writeln!(out, "  … and {} more", images.len() - MAX_UNTRACKED);
    }
    let _ = write!(
        out,
        "note: to track {}, add to upkeep.yml (OWNER/NAME: the GitHub repository that releases it):\n{}",
        printable(first),
        upstream_snippet(first)
    );
    Some(out)
}

/// The `upstreams:` entry tracking `image`, ready to paste (the image is
/// quoted when YAML could read it as something else).
fn upstream_snippet(image: &str) -> String {
    let plain = !image.is_empty()
        && image
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "./-_:".contains(c))
        && image
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    let name = if plain {
        image.to_string()
    } else {
        serde_json::to_string(image).unwrap_or_default()
    };
    format!("upstreams:\n  - github: OWNER/NAME\n    images:\n      - name: {name}\n")
}

fn notes(f: &Finding, now: chrono::DateTime<chrono::Utc>) -> String {
    let mut parts: Vec<String> = Vec::new();
    if f.waiting_for_image {
        parts.push(match f.since {
            Some(t) => format!("waiting for image (published {})", ago(now, t)),
            None => "waiting for image".into(),
        });
    }
    parts.extend(f.codes.iter().map(|c| c.as_str().to_string()));
    if let Some(d) = &f.deadline {
        parts.push(format!(
            "{} on {} at {}",
            d.fork,
            d.network,
            d.at.format("%Y-%m-%d %H:%M UTC")
        ));
        if let Some(carries) = d.carries(&f.latest) {
            parts.push(format!("{} {carries}", f.latest));
        }
    }
    parts.join(", ")
}

/// `45m ago`, `3h ago`, `2d ago`.
fn ago(now: chrono::DateTime<chrono::Utc>, then: chrono::DateTime<chrono::Utc>) -> String {
    let minutes = (now - then).num_minutes().max(0);
    match minutes {
        0 => "just now".into(),
        m if m < 60 => format!("{m}m ago"),
        m if m < 48 * 60 => format!("{}h ago", m / 60),
        m => format!("{}d ago", m / (24 * 60)),
    }
}

fn summary(report: &CheckReport) -> String {
    let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
    for u in &report.unchecked {
        *reasons.entry(&u.reason).or_default() += 1;
    }
    let mut s = format!(
        "{} outdated, {} up to date",
        report.findings.len(),
        report.up_to_date
    );
    if !report.unchecked.is_empty() {
        let detail: Vec<String> = reasons.iter().map(|(r, n)| format!("{n} {r}")).collect();
        let _ = write!(
            s,
            ", {} not checked ({})",
            report.unchecked.len(),
            detail.join(", ")
        );
    }
    if !report.failures.is_empty() {
        let _ = write!(s, ", {} failed", report.failures.len());
    }
    if let Some(line) = report.not_checked_line() {
        let _ = write!(s, "\n{line}");
    }
    s
}

fn render_markdown(report: &CheckReport, now: chrono::DateTime<chrono::Utc>) -> String {
    let mut out =
        String::from("| Location | Environment | Image | Current | Target | Behind | Notes |\n");
    out.push_str("| --- | --- | --- | --- | --- | ---: | --- |\n");
    let many = report
        .findings
        .iter()
        .map(|f| &f.repository)
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        > 1;
    let cell = |s: &str| s.replace('|', "\\|");
    for f in &report.findings {
        let _ = writeln!(
            out,
            "| `{}` | {} | `{}` | `{}` | `{}` | {} | {} |",
            cell(&location(f, many)),
            cell(f.environment.as_deref().unwrap_or("-")),
            cell(&f.image),
            cell(&f.current),
            cell(&f.target_tag),
            f.behind,
            cell(&notes(f, now)),
        );
    }
    let _ = writeln!(out, "\n{}", summary(report));
    out
}

/// What a pass could not do, on stderr, escaped: its failures (the
/// check's and `more`, from later stages such as publishing), problems and
/// warnings, and what was not checked. When GitHub itself could not be
/// used (unreachable, DNS, proxy, TLS, timeout, credentials, rate limit),
/// one line per cause with what to check and the subjects it hit, instead
/// of one near-identical line per repository and upstream; every other
/// failure on its own line. `check`, `plan`, `run`, `inventory`,
/// `readiness` and `notify` print the same.
pub(super) fn print_diagnostics(report: &CheckReport, more: &[Failure], forge: &Forge) {
    print_failures(report.failures.iter().chain(more), forge);
    for p in report.problems.iter().chain(&report.warnings) {
        eprintln!("warning: {}", printable(p));
    }
    if let Some(line) = report.not_checked_line() {
        eprintln!("error: {line}");
    }
}

fn print_failures<'a>(failures: impl Iterator<Item = &'a Failure>, forge: &Forge) {
    let causes = forge
        .stats
        .causes
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let github_wide = |error: &str| {
        !causes.is_empty()
            && [
                "cannot reach GitHub for ",
                "GitHub did not answer ",
                "GitHub rejected the credentials",
                "GitHub API rate limit exhausted",
                "GitHub App authentication",
            ]
            .iter()
            .any(|p| error.starts_with(p) || error.contains(&format!(": {p}")))
    };
    let mut hit = Vec::new();
    let mut total = 0;
    for f in failures {
        total += 1;
        if github_wide(&f.error) {
            hit.push(f.subject.as_str());
        } else {
            eprintln!(
                "error: {}",
                printable(&format!("{}: {}", f.subject, f.error))
            );
        }
    }
    if hit.is_empty() {
        return;
    }
    for cause in causes.keys() {
        eprintln!("error: {cause}");
    }
    eprintln!(
        "error: GitHub could not be used for {} of {total} subject(s): {}",
        hit.len(),
        printable(&hit.join(", "))
    );
}
