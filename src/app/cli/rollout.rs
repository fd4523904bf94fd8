//! `upkeep rollout status`: every release in flight through a repository's
//! waves, with each wave's state and what it waits for.

use std::io::Write as _;
use std::path::Path;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};

use super::check::{Session, progress, progress_done, session};
use super::{Exit, table};
use crate::app::check;
use crate::domain::rollout::view;

pub const AFTER_HELP: &str = "\
Examples:
  upkeep rollout status
  upkeep rollout status --format markdown >> \"$GITHUB_STEP_SUMMARY\"
  UPKEEP_NOW=2026-12-15T09:00:00Z upkeep rollout status   # what happens on Tuesday?

Per upstream and repository: the release being rolled out and, for each
wave, its state (pending, open, soaking, done, blocked), when it merged,
its soak (shortened when a fork deadline or an expedited code demands it),
when it opens and why it waits. Reads GitHub; writes nothing.";

#[derive(Debug, Subcommand)]
pub enum RolloutCommand {
    /// Every rollout in flight: each wave's state, when the next opens and why.
    #[command(after_help = AFTER_HELP)]
    Status(StatusArgs),
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Table,
    Json,
    Markdown,
}

pub fn rollout(command: &RolloutCommand, settings_file: Option<&Path>) -> Result<Exit> {
    let RolloutCommand::Status(args) = command;
    let Session {
        runtime, ctx, now, ..
    } = match session(settings_file)? {
        Ok(s) => s,
        Err(exit) => return Ok(exit),
    };
    let progress = progress();
    let report = runtime.block_on(check::run(&ctx, now, &progress));
    progress_done();
    let rollouts: Vec<_> = report
        .rollouts
        .iter()
        .filter(|r| r.in_flight())
        .cloned()
        .collect();
    let out = match args.format {
        Format::Json => {
            let json = view::StatusJson {
                rollouts: &rollouts,
                alerts: &report.rollout_alerts,
            };
            format!("{}\n", serde_json::to_string_pretty(&json)?)
        }
        Format::Markdown => view::to_markdown(&rollouts, &report.rollout_alerts),
        Format::Table if rollouts.is_empty() => "No rollout in flight.\n".into(),
        Format::Table => {
            let mut out = table(&view::HEADER, &view::rows(&rollouts));
            out.retain(|c| c == '\n' || !c.is_control());
            out.push('\n');
            for a in &report.rollout_alerts {
                out.push_str(&format!("alert: {}\n", a.message));
            }
            out
        }
    };
    std::io::stdout().write_all(out.as_bytes())?;
    for f in &report.failures {
        eprintln!("error: {}: {}", f.subject, f.error);
    }
    Ok(if report.failures.is_empty() {
        Exit::Success
    } else {
        Exit::Partial
    })
}

pub const ROLLBACK_HELP: &str = "\
Examples:
  upkeep rollback --repository acme/eth-infra --environment mainnet
  upkeep rollback --repository acme/eth-infra --environment hoodi --upstream sigp/lighthouse

Finds the newest pull request of upkeep's merged in that environment (for
that upstream, when given) and opens a pull request labelled `rollback`
that restores the tags and digests it changed there, byte for byte, and
nothing else. While it is open or merged, that version is skipped there.
Exit codes: 0 opened (or already open), 2 usage, 3 nothing to roll back or
it could not be opened.";

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The repository (`owner/name`) as configured.
    #[arg(long)]
    repository: String,
    /// The environment to roll back.
    #[arg(long)]
    environment: String,
    /// Only a pull request that moved this upstream (`owner/name`).
    #[arg(long)]
    upstream: Option<String>,
}

pub fn rollback(args: &RollbackArgs, settings_file: Option<&Path>) -> Result<Exit> {
    let Session {
        runtime, ctx, now, ..
    } = match session(settings_file)? {
        Ok(s) => s,
        Err(exit) => return Ok(exit),
    };
    let progress = progress();
    let report = runtime.block_on(check::run(&ctx, now, &progress));
    progress_done();
    let evidence = format!(
        "requested by hand (`upkeep rollback`) at {}",
        now.format("%Y-%m-%d %H:%M UTC")
    );
    let Some(req) = crate::app::rollback::by_hand(
        &report,
        &args.repository,
        &args.environment,
        args.upstream.as_deref(),
        &evidence,
    ) else {
        eprintln!(
            "error: no merged pull request of upkeep's in {} of {}{}: nothing to roll back",
            args.environment,
            args.repository,
            args.upstream
                .as_deref()
                .map_or_else(String::new, |u| format!(" for {u}"))
        );
        for f in &report.failures {
            eprintln!("error: {}: {}", f.subject, f.error);
        }
        return Ok(Exit::Partial);
    };
    match runtime.block_on(crate::app::rollback::open(&ctx, &report, &req)) {
        Ok(opened) => {
            println!(
                "rollback   {}  #{} {} undoes #{}",
                opened.repository, opened.number, opened.url, opened.undoes
            );
            Ok(Exit::Success)
        }
        Err(e) => {
            eprintln!("error: {}: rollback of #{}: {e}", req.repository, req.pull);
            Ok(Exit::Partial)
        }
    }
}
