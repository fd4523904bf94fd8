//! `upkeep plan` and `upkeep run`: the pull requests upkeep would open, and
//! opening them.

use crate::domain::printable::{printable, printable_text};
use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};

use super::Exit;
use super::check::{Session, print_diagnostics, progress, progress_done, session};
use crate::app::pipeline::{self, Mode, RunReport};
use crate::app::publish::Action;
use crate::domain::plan::Waiting;
use crate::domain::render::Templates;

pub const PLAN_HELP: &str = "\
Examples:
  upkeep plan                      # every PR run would open or update, with diffs
  upkeep plan --format markdown    # each PR as it will be opened: title, labels, body
  upkeep plan --format json | jq '.planned[] | {branch, title, body}'
  upkeep plan --format json | jq '.waiting[] | {image, target, reason}'

Writes nothing: not to GitHub, not to git, not to the files. What waits
(soak, rollout window or wave, limits, image not yet in the registry,
registry or upstream unreachable) is listed with its reason.";

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
    /// Each pull request's title, branch and labels with its diff.
    Diff,
    Json,
    /// Each pull request as it will be opened: title, labels, reviewers,
    /// body, and its diff.
    Markdown,
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
        forge,
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
    print_diagnostics(&report.check, &report.failures, &forge);
    Ok(Ok(report))
}

fn exit_code(report: &RunReport) -> Exit {
    let failed = !report.failures.is_empty()
        || report
            .outcomes
            .iter()
            .any(|o| matches!(o.action, Action::Failed { .. }));
    Exit::of_check(&report.check, failed).unwrap_or(Exit::Success)
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
    let waiting = report.waiting();
    let out = match format {
        PlanFormat::Json => {
            #[derive(serde::Serialize)]
            struct Json<'a> {
                planned: &'a [pipeline::PlannedView],
                waiting: &'a [Waiting],
                held: &'a [crate::domain::plan::Held],
                #[serde(skip_serializing_if = "Option::is_none")]
                incomplete: Option<String>,
            }
            serde_json::to_string_pretty(&Json {
                planned: &report.planned,
                waiting: &waiting,
                held: &report.held,
                incomplete: report.check.not_checked_line(),
            })? + "\n"
        }
        PlanFormat::Diff => printable_text(&plan_diff(report, &waiting)).into_owned(),
        PlanFormat::Markdown => printable_text(&plan_markdown(report, &waiting)).into_owned(),
    };
    std::io::stdout().write_all(out.as_bytes())?;
    Ok(())
}

/// `image current -> target in repository file:line (environment)`, each
/// part escaped (a file name cannot start a line of its own).
fn waiting_subject(w: &Waiting) -> String {
    let mut s = format!("{} {}", printable(&w.image), printable(&w.current));
    if let Some(t) = &w.target {
        s.push_str(&format!(" -> {}", printable(t)));
    }
    s.push_str(&format!(
        " in {} {}:{}",
        printable(&w.repository),
        printable(&w.file),
        w.line
    ));
    if let Some(env) = &w.environment {
        s.push_str(&format!(" ({})", printable(env)));
    }
    s
}

/// The last line of a plan: what was not checked, else whether anything
/// is to be done or waits. Never "up to date" while something waits.
fn plan_summary(report: &RunReport, waiting: &[Waiting]) -> String {
    if let Some(line) = report.check.not_checked_line() {
        return format!("incomplete: {line}");
    }
    match (report.planned.len(), waiting.len()) {
        (0, 0) => "nothing to do: every checked reference is up to date".into(),
        (0, w) => format!("no pull request to open now: {w} upgrade(s) wait, each with its reason"),
        (p, 0) => format!("{p} pull request(s) to open or update"),
        (p, w) => format!("{p} pull request(s) to open or update; {w} upgrade(s) wait"),
    }
}

fn plan_diff(report: &RunReport, waiting: &[Waiting]) -> String {
    let mut out = String::new();
    for p in &report.planned {
        out.push_str(&format!(
            "# {}: {}\n#   branch {}\n#   labels {}\n",
            p.repository,
            p.title,
            p.branch,
            p.labels.join(", ")
        ));
        if !p.reviewers.is_empty() {
            out.push_str(&format!("#   reviewers {}\n", p.reviewers.join(", ")));
        }
        out.push_str(&p.diff);
        out.push('\n');
    }
    if !waiting.is_empty() {
        out.push_str(&format!("# Waiting ({}):\n", waiting.len()));
        for w in waiting {
            out.push_str(&format!(
                "# waiting: {}: {}\n",
                waiting_subject(w),
                printable(&w.reason)
            ));
        }
    }
    out.push_str(&format!("# {}\n", plan_summary(report, waiting)));
    out
}

/// A code fence longer than any run of backticks in `text`.
fn fence(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat((longest + 1).max(3))
}

/// Each pull request as `run` will open it: title, branch, labels,
/// reviewers, then the body exactly as sent (the renderer's output,
/// fingerprint comment included) and the diff; then what waits.
fn plan_markdown(report: &RunReport, waiting: &[Waiting]) -> String {
    let code = |s: &str| format!("`{}`", s.replace('`', "'"));
    let list = |items: &[String]| {
        if items.is_empty() {
            "none".to_string()
        } else {
            items.iter().map(|i| code(i)).collect::<Vec<_>>().join(", ")
        }
    };
    let cell = |s: &str| printable(s).replace('|', "\\|");
    let mut out = format!("# upkeep plan: {} pull request(s)\n", report.planned.len());
    for (i, p) in report.planned.iter().enumerate() {
        out.push_str(&format!(
            "\n## {}. {}: {}\n\n",
            i + 1,
            p.repository,
            p.title.replace('\n', " ")
        ));
        out.push_str(&format!("- Title: {}\n", code(&p.title)));
        out.push_str(&format!("- Branch: {}\n", code(&p.branch)));
        out.push_str(&format!("- Labels: {}\n", list(&p.labels)));
        if !p.reviewers.is_empty() {
            out.push_str(&format!("- Reviewers: {}\n", list(&p.reviewers)));
        }
        if !p.assignees.is_empty() {
            out.push_str(&format!("- Assignees: {}\n", list(&p.assignees)));
        }
        out.push_str("\n<details><summary>Body</summary>\n\n");
        out.push_str(&p.body);
        if !p.body.ends_with('\n') {
            out.push('\n');
        }
        out.push_str("\n</details>\n");
        let f = fence(&p.diff);
        out.push_str(&format!(
            "\n<details><summary>Diff</summary>\n\n{f}diff\n{}{}{f}\n\n</details>\n",
            p.diff,
            if p.diff.ends_with('\n') { "" } else { "\n" }
        ));
    }
    if !waiting.is_empty() {
        out.push_str(&format!("\n## Waiting ({})\n\n", waiting.len()));
        out.push_str("| Repository | Location | Image | Current | Target | Why |\n");
        out.push_str("| --- | --- | --- | --- | --- | --- |\n");
        for w in waiting {
            out.push_str(&format!(
                "| {} | `{}:{}` | `{}` | `{}` | {} | {} |\n",
                cell(&w.repository),
                cell(&w.file),
                w.line,
                cell(&w.image),
                cell(&w.current),
                w.target
                    .as_deref()
                    .map_or_else(|| "-".to_string(), |t| format!("`{}`", cell(t))),
                cell(&w.reason)
            ));
        }
    }
    out.push_str(&format!("\n{}\n", plan_summary(report, waiting)));
    out
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
    let waiting = report.waiting();
    for w in &waiting {
        out.push_str(&format!(
            "waiting    {}: {}\n",
            waiting_subject(w),
            printable(&w.reason)
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
    } else if summary.is_empty() && !waiting.is_empty() {
        out.push_str(&format!(
            "\nnothing opened: {} upgrade(s) wait, each with its reason above\n",
            waiting.len()
        ));
    } else if summary.is_empty() {
        out.push_str("nothing to do: every checked reference is up to date\n");
    } else {
        out.push_str(&format!("\n{}\n", summary.join(", ")));
    }
    out
}
