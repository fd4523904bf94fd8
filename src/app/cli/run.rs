//! `upkeep plan` and `upkeep run`: the pull requests upkeep would open, and
//! opening them.

use crate::domain::printable::{printable, printable_text};
use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};

use super::Exit;
use super::check::{Session, progress, progress_done, session};
use crate::app::pipeline::{self, Mode, RunReport};
use crate::app::publish::Action;
use crate::domain::render::Templates;

pub const PLAN_HELP: &str = "\
Examples:
  upkeep plan                      # every PR run would open or update, with diffs
  upkeep plan --format json | jq '.planned[] | {branch, title}'

Writes nothing: not to GitHub, not to git, not to the files.";

pub const RUN_HELP: &str = "\
Examples:
  upkeep run                       # one pass: push branches, open/update/close PRs
  upkeep run --dry-run             # the same as `upkeep plan`
  upkeep run --shard $JOB_COMPLETION_INDEX/4   # a Kubernetes Indexed Job, 4 pods

A repository given as a local path gets local branches and commits instead
of pull requests. Pull requests are found again by head branch, so a second
run updates instead of duplicating, even after a crash or without the state
file. A pull request closed without merging skips that version.";

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlanFormat::Diff)]
    format: PlanFormat,
    /// Directory with templates replacing the built-in ones (branch.j2,
    /// commit.j2, title.j2, body.md.j2).
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum PlanFormat {
    Diff,
    Json,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Show what would be done (as `upkeep plan`), change nothing.
    #[arg(long)]
    dry_run: bool,
    /// Process only the repositories in shard I of N (0-based), e.g. `0/4`.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    shard: Option<(u32, u32)>,
    /// Output format of the report.
    #[arg(long, value_enum, default_value_t = RunFormat::Text)]
    format: RunFormat,
    /// Directory with templates replacing the built-in ones.
    #[arg(long, value_name = "DIR")]
    templates: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum RunFormat {
    Text,
    Json,
}

fn parse_shard(s: &str) -> Result<(u32, u32)> {
    let Some((i, n)) = s.split_once('/') else {
        bail!("expected I/N, e.g. 0/4");
    };
    let (i, n): (u32, u32) = (i.trim().parse()?, n.trim().parse()?);
    if n == 0 || i >= n {
        bail!("shard index must be below the shard count (0/4 .. 3/4)");
    }
    Ok((i, n))
}

fn execute(
    settings_file: Option<&Path>,
    templates: Option<&Path>,
    mode: Mode,
    shard: Option<(u32, u32)>,
) -> Result<Result<RunReport, Exit>> {
    let templates = match Templates::load(templates) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{e}");
            return Ok(Err(Exit::Usage));
        }
    };
    let Session {
        runtime,
        mut ctx,
        now,
        ..
    } = match session(settings_file)? {
        Ok(s) => s,
        Err(exit) => return Ok(Err(exit)),
    };
    if let Some((i, n)) = shard {
        let configured = crate::app::check::configured_repositories(&ctx.settings);
        ctx.settings.repositories = configured
            .into_iter()
            .filter(|r| pipeline::in_shard(&r.source.to_string(), i, n))
            .collect();
        if ctx.settings.repositories.is_empty() {
            eprintln!("shard {i}/{n}: no repository falls in this shard");
            return Ok(Err(Exit::Success));
        }
    }
    let progress = progress();
    let report = runtime.block_on(pipeline::run(&ctx, &templates, mode, now, &progress));
    progress_done();
    for f in report.check.failures.iter().chain(&report.failures) {
        eprintln!(
            "error: {}",
            printable(&format!("{}: {}", f.subject, f.error))
        );
    }
    for w in &report.check.warnings {
        eprintln!("warning: {}", printable(w));
    }
    Ok(Ok(report))
}

fn exit_code(report: &RunReport) -> Exit {
    let failed = report.check.incomplete()
        || !report.failures.is_empty()
        || report
            .outcomes
            .iter()
            .any(|o| matches!(o.action, Action::Failed { .. }));
    if failed { Exit::Partial } else { Exit::Success }
}

pub fn plan(args: &PlanArgs, settings_file: Option<&Path>) -> Result<Exit> {
    let report = match execute(settings_file, args.templates.as_deref(), Mode::Plan, None)? {
        Ok(r) => r,
        Err(exit) => return Ok(exit),
    };
    print_plan(&report, args.format)?;
    Ok(exit_code(&report))
}

fn print_plan(report: &RunReport, format: PlanFormat) -> Result<()> {
    let mut out = String::new();
    match format {
        PlanFormat::Json => {
            #[derive(serde::Serialize)]
            struct Json<'a> {
                planned: &'a [pipeline::PlannedView],
                held: &'a [crate::domain::plan::Held],
            }
            out = serde_json::to_string_pretty(&Json {
                planned: &report.planned,
                held: &report.held,
            })? + "\n";
        }
        PlanFormat::Diff => {
            for p in &report.planned {
                out.push_str(&format!(
                    "# {}: {}\n#   branch {}\n#   labels {}\n",
                    p.repository,
                    p.title,
                    p.branch,
                    p.labels.join(", ")
                ));
                out.push_str(&p.diff);
                out.push('\n');
            }
            for h in &report.held {
                out.push_str(&format!(
                    "# held: {} {} -> {} in {}: {}\n",
                    h.finding.image,
                    h.finding.current,
                    h.finding.target_tag,
                    printable(&h.finding.file),
                    h.reason
                ));
            }
            if let Some(line) = report.check.not_checked_line() {
                out.push_str(&format!("# incomplete: {line}\n"));
            } else if report.planned.is_empty() && report.held.is_empty() {
                out.push_str("# nothing to do: every checked reference is up to date\n");
            }
            out = printable_text(&out).into_owned();
        }
    }
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(())
}

pub fn run(args: &RunArgs, settings_file: Option<&Path>) -> Result<Exit> {
    let mode = if args.dry_run {
        Mode::Plan
    } else {
        Mode::Publish
    };
    let report = match execute(settings_file, args.templates.as_deref(), mode, args.shard)? {
        Ok(r) => r,
        Err(exit) => return Ok(exit),
    };
    if args.dry_run {
        print_plan(&report, PlanFormat::Diff)?;
        return Ok(exit_code(&report));
    }
    let out = match args.format {
        RunFormat::Json => {
            serde_json::to_string_pretty(&serde_json::json!({
                "outcomes": report.outcomes,
                "closed": report.closed,
                "merged": report.merges,
                "rollbacks": report.rollbacks,
                "held": report.held,
                "failures": report.failures,
            }))? + "\n"
        }
        RunFormat::Text => printable_text(&run_text(&report)).into_owned(),
    };
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(exit_code(&report))
}

fn run_text(report: &RunReport) -> String {
    let mut out = String::new();
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for o in &report.outcomes {
        let (word, detail) = match &o.action {
            Action::Created { number, url } => ("created", format!("#{number} {url}")),
            Action::Updated {
                number,
                url,
                changed,
            } => (
                "updated",
                format!("#{number} {url} ({})", changed.join(", ")),
            ),
            Action::Unchanged { number, url } => ("unchanged", format!("#{number} {url}")),
            Action::Committed { branch, commit } => (
                "committed",
                format!("{branch} at {}", &commit[..commit.len().min(12)]),
            ),
            Action::Skipped { reason } => ("skipped", reason.clone()),
            Action::Failed { error } => ("failed", error.clone()),
        };
        *counts.entry(word).or_default() += 1;
        out.push_str(&format!(
            "{word:<9}  {}  {}  {detail}\n",
            o.repository, o.title
        ));
    }
    for c in &report.closed {
        out.push_str(&format!(
            "closed     {}  #{} superseded by #{}\n",
            c.repository, c.number, c.superseded_by
        ));
    }
    for m in &report.merges {
        let word = if m.result == "merged" {
            "merged"
        } else {
            "automerge"
        };
        if m.result == "merged" {
            *counts.entry("merged").or_default() += 1;
        }
        out.push_str(&format!(
            "{word:<9}  {}  #{} {}{}\n",
            m.repository,
            m.number,
            m.url,
            match (&m.reason, m.result.as_str()) {
                (Some(r), result) => format!(": {result}: {r}"),
                (None, _) => String::new(),
            }
        ));
    }
    for r in &report.rollbacks {
        *counts.entry("rolled back").or_default() += 1;
        out.push_str(&format!(
            "rollback   {}  #{} {} undoes #{}\n",
            r.repository, r.number, r.url, r.undoes
        ));
    }
    for a in &report.check.rollout_alerts {
        out.push_str(&format!("alert      {}  {}\n", a.repository, a.message));
    }
    for h in &report.held {
        out.push_str(&format!(
            "held       {}  {} {} -> {}: {}\n",
            h.finding.repository,
            h.finding.image,
            h.finding.current,
            h.finding.target_tag,
            h.reason
        ));
    }
    let order = [
        "created",
        "updated",
        "unchanged",
        "committed",
        "merged",
        "rolled back",
        "skipped",
        "failed",
    ];
    let summary: Vec<String> = order
        .iter()
        .filter_map(|k| counts.get(k).map(|n| format!("{n} {k}")))
        .chain((!report.closed.is_empty()).then(|| format!("{} closed", report.closed.len())))
        .collect();
    let incomplete = report.check.not_checked_line();
    if let Some(line) = &incomplete {
        if !summary.is_empty() {
            out.push_str(&format!("\n{}\n", summary.join(", ")));
        }
        out.push_str(&format!("incomplete: {line}\n"));
    } else if summary.is_empty() && !report.held.is_empty() {
        out.push_str(&format!(
            "\nnothing opened: {} upgrade(s) held, each with its reason above\n",
            report.held.len()
        ));
    } else if summary.is_empty() {
        out.push_str("nothing to do: every checked reference is up to date\n");
    } else {
        out.push_str(&format!("\n{}\n", summary.join(", ")));
    }
    out
}
