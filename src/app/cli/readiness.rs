//! `upkeep readiness`: for every environment and every fork scheduled on
//! its network and not yet active, whether every client role is ready, how
//! long is left, what blocks it and which pull requests fix it.

use std::io::Write as _;
use std::path::Path;

use anyhow::Result;
use clap::{Args, ValueEnum};

use super::check::{Session, progress, progress_done, session};
use super::{Exit, table};
use crate::domain::readiness::{self, Readiness};

pub const AFTER_HELP: &str = "\
Examples:
  upkeep readiness                                  # the matrix environment × fork
  upkeep readiness --fork Glamsterdam --fail-on not-ready   # in CI, a week before the fork
  UPKEEP_NOW=2027-01-05T09:00:00Z upkeep readiness --format markdown
  upkeep readiness --format json | jq '.rows[] | select(.state != \"ready\")'

For each environment with a network and each fork scheduled (or announced
by release notes) on it and not yet active: every client deployed there
(execution, consensus, validator, signer, MEV-Boost: the catalog's `role`),
the version its files ask for and, where the environment has a `live`
selector, the versions running, against the fork's minimum version there.
Minimums come from the settings (`forks:`), else the higher of the fork
schedule (rules/ethereum/forks.yml) and the release notes (the first release
enabling the fork on that network; a later one saying it is required raises
it). A client is ready, not-ready (with the version needed) or unknown
(nothing says yet which version follows the fork); an environment is ready
only when every client is. BLOCKING names the clients to upgrade and the
open upkeep pull requests that bring them (when the forge is read).

Exit status: 1 with --fail-on not-ready when some environment is not ready;
3 when some repository or upstream could not be read.";

#[derive(Debug, Args)]
pub struct ReadinessArgs {
    /// Only this fork (any of its names: Glamsterdam, Amsterdam, Gloas).
    #[arg(long, value_name = "NAME")]
    fork: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Exit 1 when some environment is at this state.
    #[arg(long, value_enum, value_name = "STATE")]
    fail_on: Option<FailOn>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Table,
    Json,
    Markdown,
    Prometheus,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum FailOn {
    NotReady,
}

pub fn readiness(args: &ReadinessArgs, settings_file: Option<&Path>) -> Result<Exit> {
    let Session {
        runtime, ctx, now, ..
    } = match session(settings_file)? {
        Ok(s) => s,
        Err(exit) => return Ok(exit),
    };
    if let (Some(fork), Some(engine)) = (&args.fork, &ctx.engine)
        && engine.schedule().fork(fork).is_none()
    {
        let known: Vec<&str> = engine
            .schedule()
            .forks()
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        eprintln!(
            "error: unknown fork `{fork}`: expected one of {}",
            known.join(", ")
        );
        return Ok(Exit::Usage);
    }
    let progress = progress();
    let (mut r, report) = runtime.block_on(crate::app::readiness::collect(&ctx, now, &progress));
    progress_done();
    if let (Some(fork), Some(engine)) = (&args.fork, &ctx.engine) {
        r = r.only_fork(engine.schedule(), fork);
    }
    let out = match args.format {
        Format::Table => render_table(&r),
        Format::Json => readiness::to_json(&r),
        Format::Markdown => readiness::to_markdown(&r),
        Format::Prometheus => readiness::to_prometheus(&r),
    };
    std::io::stdout().write_all(out.as_bytes())?;
    super::check::print_diagnostics(&report, &[], &ctx.forge);
    if matches!(args.fail_on, Some(FailOn::NotReady)) && r.any_not_ready() {
        return Ok(Exit::Findings);
    }
    // An incomplete check never says "ready".
    Ok(Exit::of_check(&report, false).unwrap_or(Exit::Success))
}

const HEADER: [&str; 8] = [
    "REPOSITORY",
    "ENVIRONMENT",
    "NETWORK",
    "FORK",
    "ACTIVATES",
    "LEFT",
    "STATE",
    "BLOCKING",
];

fn render_table(r: &Readiness) -> String {
    if r.rows.is_empty() {
        return "No fork is scheduled on the networks of the configured environments.\n"
            .to_string();
    }
    let mut out = table(&HEADER, &readiness::table_rows(r));
    out.retain(|c| c == '\n' || !c.is_control());
    out.push('\n');
    for row in &r.rows {
        out.push_str(&readiness::headline(row));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&readiness::summary(r));
    out.push('\n');
    out
}
