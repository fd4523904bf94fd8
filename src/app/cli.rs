//! The command line: parses arguments with clap, runs one command, maps the
//! result to an exit code. The edge of the program: errors here carry
//! context (`anyhow`) and are printed once, never logged with secrets.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand, ValueEnum};

use crate::domain::settings;

mod check;
mod init;
mod inventory;
mod manifest;
mod notify;
mod readiness;
mod release;
mod rollout;
mod rules;
mod run;
mod serve;
mod state;

use manifest::{BumpArgs, ScanArgs};

const AFTER_HELP: &str = "\
Exit status (the same for check, plan, run, inventory, readiness, notify):
  0  success
  1  findings at or above --fail-on (for `bump`: no reference to the image)
  2  usage or settings error
  3  partial failure: some files, repositories, upstreams or pull requests
     failed, or some references could not be checked (registry unreachable
     with registries.require_published, rate limit exhausted)
  4  nothing could be checked: not one reference was checked (GitHub
     unreachable, credentials refused, every registry unreachable, ...)
  Never 0 for an incomplete check.

Documentation: see README.md; settings: `upkeep settings schema`.";

/// upkeep keeps infrastructure repositories up to date: it finds the
/// container image references in your deployment files and bumps their tags
/// without touching any other byte.
#[derive(Debug, Parser)]
#[command(name = "upkeep", version, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// Settings file [default: ./upkeep.yml when it exists].
    #[arg(long, global = true, value_name = "FILE")]
    settings: Option<PathBuf>,
    /// Log format on standard error.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// More logging (-v info, -vv debug, -vvv trace). `UPKEEP_LOG` takes a
    /// tracing filter (e.g. `upkeep=debug`) and wins over -v.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List every container image reference under PATH.
    #[command(after_help = "\
Examples:
  upkeep scan deploy/
  upkeep scan . --format json | jq '.references[] | select(.skip == null)'
  upkeep scan . --format jsonl | jq -c 'select(.skip == \"moving-tag\")'

Recognised: Helm values, Kubernetes manifests (all containers of every pod
template), Kustomize `images:`, docker-compose, .env files, Dockerfiles and
Argo CD Applications. `.gitignore` is honoured; symlinks are never followed.")]
    Scan(ScanArgs),
    /// Rewrite one image's tag everywhere under PATH, changing no other byte.
    #[command(after_help = "\
Examples:
  upkeep bump deploy/ --image sigp/lighthouse --to v7.0.0 --dry-run
  upkeep bump . --image ethereum/client-go --to v1.15.11
  upkeep bump . --image nginx --to 1.27.3-alpine --from 1.27.2-alpine
  upkeep bump . --image ghcr.io/acme/node --to v2.0.0 --digest sha256:<64 hex>

Only references whose tag is in the new tag's variant class move (same
prefix, suffix and number of version parts: `v5.3.0-modern` moves to
`v7.0.0-modern`, never to `v7.0.0`), unless --from names the exact current tag.
Images match as Docker resolves names: `busybox` is `docker.io/library/busybox`;
another registry or a mirror is another image. Every edit is verified by
scanning the file again before it is written atomically.")]
    Bump(BumpArgs),
    /// Write a starting upkeep.yml guessed from a deployment tree.
    #[command(after_help = init::AFTER_HELP)]
    Init(init::InitArgs),
    /// Report what is outdated: references × upstream releases.
    #[command(after_help = check::AFTER_HELP)]
    Check(check::CheckArgs),
    /// Show the pull requests `run` would open, update or close, with diffs.
    #[command(after_help = run::PLAN_HELP)]
    Plan(run::PlanArgs),
    /// One pass: push branches, open, update and close pull requests.
    #[command(after_help = run::RUN_HELP)]
    Run(run::RunArgs),
    /// GitHub App server: webhooks, schedules, /healthz, /readyz, /metrics.
    #[command(after_help = serve::SERVE_HELP)]
    Serve(serve::ServeArgs),
    /// Run the rule engine on one release.
    #[command(subcommand)]
    Release(release::ReleaseCommand),
    /// Test rules against releases and references with expected findings.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Post the Slack digest, alerts and reminders (or print them).
    #[command(after_help = notify::AFTER_HELP)]
    Notify(notify::NotifyArgs),
    /// Every reference across repositories and environments: current,
    /// latest, behind, deadline.
    #[command(after_help = inventory::AFTER_HELP)]
    Inventory(inventory::InventoryArgs),
    /// For every environment and fork scheduled on its network: are all
    /// client roles ready, how long is left, what blocks it.
    #[command(after_help = readiness::AFTER_HELP)]
    Readiness(readiness::ReadinessArgs),
    /// Check or describe the settings file.
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Where each release stands in the waves of each repository.
    #[command(subcommand)]
    Rollout(rollout::RolloutCommand),
    /// Open a pull request that rolls back upkeep's last merged upgrade in
    /// an environment.
    #[command(after_help = rollout::ROLLBACK_HELP)]
    Rollback(rollout::RollbackArgs),
    /// The state store: copy a SQLite store into PostgreSQL.
    #[command(subcommand)]
    State(state::StateCommand),
}

#[derive(Debug, Subcommand)]
enum SettingsCommand {
    /// Check a settings file (default: --settings) and report every error
    /// with file:line:column.
    Validate {
        /// Settings file to check.
        file: Option<PathBuf>,
    },
    /// Print the JSON Schema of upkeep.yml (for editors).
    Schema,
}

/// Exit codes of the contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    Findings = 1,
    Usage = 2,
    Partial = 3,
    /// Nothing could be checked: not one reference was checked.
    NothingChecked = 4,
}

impl Exit {
    /// The exit of a pass whose check is `report` and which failed
    /// elsewhere too when `failed`: `Some(NothingChecked)` when the check
    /// is incomplete and not one reference was checked, `Some(Partial)`
    /// when it is incomplete otherwise (or `failed`), `None` when
    /// everything worked. check, plan, run, inventory, readiness and
    /// notify all decide with it.
    pub fn of_check(report: &crate::domain::evaluate::CheckReport, failed: bool) -> Option<Exit> {
        if report.incomplete() && report.checked() == 0 {
            Some(Exit::NothingChecked)
        } else if report.incomplete() || failed {
            Some(Exit::Partial)
        } else {
            None
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> Self {
        ExitCode::from(e as u8)
    }
}

/// Runs the program: parse, dispatch, map errors to exit codes.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Success
            }
            .into();
        }
    };
    init_logging(cli.log_format, cli.verbose);
    match run(&cli) {
        Ok(code) => code.into(),
        Err(e) => {
            eprintln!("error: {e:#}");
            Exit::Usage.into()
        }
    }
}

fn init_logging(format: LogFormat, verbose: u8) {
    // octocrab logs every non-2xx answer as an error, retried or not: the
    // forge reports what matters itself.
    let default = match verbose {
        0 => "warn,octocrab=off",
        1 => "info,octocrab=off",
        2 => "debug",
        _ => "trace",
    };
    let filter = std::env::var(crate::env::LOG)
        .ok()
        .and_then(|f| tracing_subscriber::EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(false).try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

fn run(cli: &Cli) -> Result<Exit> {
    match &cli.command {
        Command::Scan(args) => manifest::scan(args),
        Command::Bump(args) => manifest::bump(args),
        Command::Init(args) => init::init(args),
        Command::Check(args) => check::check(args, cli.settings.as_deref()),
        Command::Plan(args) => run::plan(args, cli.settings.as_deref()),
        Command::Rollout(command) => rollout::rollout(command, cli.settings.as_deref()),
        Command::Rollback(args) => rollout::rollback(args, cli.settings.as_deref()),
        Command::Run(args) => run::run(args, cli.settings.as_deref()),
        Command::Serve(args) => serve::serve(args, cli.settings.as_deref()),
        Command::Release(cmd) => release::run(cmd),
        Command::Rules(cmd) => rules::run(cmd, cli.settings.as_deref()),
        Command::Notify(args) => notify::notify(args, cli.settings.as_deref()),
        Command::Inventory(args) => inventory::inventory(args, cli.settings.as_deref()),
        Command::State(cmd) => state::run(cmd),
        Command::Readiness(args) => readiness::readiness(args, cli.settings.as_deref()),
        Command::Settings(SettingsCommand::Schema) => {
            println!("{}", serde_json::to_string_pretty(&settings::schema())?);
            Ok(Exit::Success)
        }
        Command::Settings(SettingsCommand::Validate { file }) => {
            let file = file
                .as_deref()
                .or(cli.settings.as_deref())
                .unwrap_or(std::path::Path::new("upkeep.yml"));
            let env: HashMap<String, String> = std::env::vars().collect();
            match settings::load(Some(file), &env) {
                Ok(_) => {
                    println!("{}: ok", file.display());
                    Ok(Exit::Success)
                }
                Err(errors) => {
                    eprintln!("{errors}");
                    Ok(Exit::Usage)
                }
            }
        }
    }
}

/// Characters a table's location column takes at most.
pub(crate) const LOCATION_WIDTH: usize = 60;

/// `location` (`repo:dir/file:line`) cut in the middle to at most `max`
/// characters, keeping its start and the file name with its line:
/// `acme/deploy:envs/…/values.yaml:12`.
pub(crate) fn shorten_location(location: &str, max: usize) -> String {
    let len = location.chars().count();
    if len <= max {
        return location.to_string();
    }
    // The file name and line: after the last `/` (or the whole text).
    let tail_at = location.rfind('/').unwrap_or(0);
    let tail = &location[tail_at..];
    let tail_len = tail.chars().count();
    if tail_len + 1 >= max {
        let skip = tail_len.saturating_sub(max.saturating_sub(1));
        return format!("…{}", tail.chars().skip(skip).collect::<String>());
    }
    let head: String = location.chars().take(max - 1 - tail_len).collect();
    format!("{head}…{tail}")
}

/// Left-aligned columns separated by two spaces; trailing blanks trimmed.
/// Control characters in cells (from file names, tags, …) are escaped
/// ([`crate::domain::printable`]): one row per line, no escape sequence
/// reaches the terminal.
pub(crate) fn table<const N: usize>(header: &[&str; N], rows: &[[String; N]]) -> String {
    let rows: Vec<[String; N]> = rows
        .iter()
        .map(|r| {
            r.clone()
                .map(|c| crate::domain::printable::printable(&c).into_owned())
        })
        .collect();
    let rows = rows.as_slice();
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut l = String::new();
        for (cell, w) in cells.zip(widths) {
            let _ = write!(l, "{cell:<w$}  ");
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::shorten_location;

    #[test]
    fn long_locations_lose_their_middle_and_keep_the_file_and_line() {
        assert_eq!(
            shorten_location("envs/a/values.yaml:3", 60),
            "envs/a/values.yaml:3"
        );
        let long = "acme/deploy:clusters/production/eu-west-1/apps/beacon/overrides/values.yaml:12";
        let short = shorten_location(long, 40);
        assert_eq!(short.chars().count(), 40);
        assert_eq!(short, "acme/deploy:clusters/pro…/values.yaml:12");
        assert!(short.ends_with("/values.yaml:12"), "{short}");
        let name = format!("dir/{}.yaml:7", "x".repeat(80));
        let short = shorten_location(&name, 20);
        assert_eq!(short.chars().count(), 20);
        assert!(
            short.starts_with('…') && short.ends_with("x.yaml:7"),
            "{short}"
        );
    }
}
