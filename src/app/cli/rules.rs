//! `upkeep rules test [DIR]`: runs rule tests (releases or references with
//! the findings expected from them), like `promtool test rules`. Without
//! DIR, runs the tests shipped in the binary (`rules/tests/`).
//! `upkeep rules schedule`: the fork schedule as `check` uses it, the
//! networks' own configs merged in, with where each time comes from.
//!
//! `test` reads the test files and the rule directories and release files
//! they name; nothing else. `schedule` reads the settings, the rule
//! directories and the networks' configs (GitHub API, store cache).

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::{Args, Subcommand};

use super::Exit;
use crate::domain::rules::fixture::{self, TestResult};
use crate::domain::rules::{BUILTIN_TESTS, Engine};

pub const TEST_HELP: &str = "\
Examples:
  upkeep rules test                 # the tests shipped with upkeep
  upkeep rules test my-rules/tests  # every *.yml file in the directory

A test file:
  version: 1
  rule_dirs: [../]                  # optional: rule directories, relative to the file
  tests:
    - name: lighthouse schedules Fusaka
      repo: sigp/lighthouse
      release: {tag_name: v8.0.0, body: \"...\"}   # or release_file: x.json
      expect: {codes: [hard-fork, mandatory], priority: high}
    - name: below the Fusaka minimum
      repo: sigp/lighthouse
      reference: {version: v7.1.0, network: mainnet, now: 2025-11-20T00:00:00Z}
      expect:
        findings: [{fork: Fusaka, network: mainnet, deadline: 2025-12-03T21:49:11Z, codes: [hard-fork]}]

Exit status: 0 all passed, 1 a test failed, 2 a file is invalid.
Format: rules/README.md (\"Rule tests\").";

pub const SCHEDULE_HELP: &str = "\
Examples:
  upkeep rules schedule                      # every fork, network, time and source
  upkeep rules schedule --format json
  UPKEEP_RULES__SCHEDULE_SOURCES=none upkeep rules schedule   # the shipped schedule only

Times come from the networks' own configs (`rules.schedule_sources`, default
eth-clients/<network>: metadata/config.yaml and metadata/genesis.json) where
they state them, else from the schedule files (rules/ethereum/forks.yml and
`rules.directories`). A source that cannot be read is a warning (exit 3);
the shipped schedule is printed all the same.";

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Run rule tests and report the ones that fail.
    #[command(after_help = TEST_HELP)]
    Test(TestArgs),
    /// Print the fork schedule: the networks' own configs merged with the
    /// shipped one, with the source of every time.
    #[command(after_help = SCHEDULE_HELP)]
    Schedule(ScheduleArgs),
}

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    #[arg(long, value_enum, default_value_t = ScheduleFormat::Table)]
    format: ScheduleFormat,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum ScheduleFormat {
    Table,
    Json,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Directory of test files (`*.yml`, `*.yaml`); the shipped tests when
    /// omitted.
    dir: Option<PathBuf>,
}

pub fn run(cmd: &RulesCommand, settings_file: Option<&Path>) -> Result<Exit> {
    match cmd {
        RulesCommand::Test(args) => test(args.dir.as_deref()),
        RulesCommand::Schedule(args) => schedule(args, settings_file),
    }
}

/// One row of `rules schedule`.
#[derive(Debug, serde::Serialize)]
struct Row {
    fork: String,
    kind: &'static str,
    execution: Option<String>,
    consensus: Option<String>,
    network: String,
    epoch: Option<u64>,
    time: chrono::DateTime<chrono::Utc>,
    source: String,
}

fn schedule(args: &ScheduleArgs, settings_file: Option<&Path>) -> Result<Exit> {
    use std::sync::Arc;
    let super::check::Session { runtime, ctx, .. } = match super::check::session(settings_file)? {
        Ok(s) => s,
        Err(exit) => return Ok(exit),
    };
    let Some(engine) = ctx.engine.clone() else {
        return Ok(Exit::Usage);
    };
    let networks: Vec<String> = crate::app::schedule::NETWORKS
        .iter()
        .map(|n| n.to_string())
        .collect();
    let refreshed = runtime.block_on(crate::app::schedule::refresh(
        &ctx.forge,
        &engine,
        &ctx.settings.schedule_sources,
        &networks,
    ));
    let engine: Arc<Engine> = refreshed.engine;
    let sched = engine.schedule();
    let mut rows = Vec::new();
    for f in sched.forks() {
        let mut acts: Vec<_> = f.activations.iter().collect();
        acts.sort_by_key(|a| (sched.rank(&a.network), a.time));
        for a in acts {
            rows.push(Row {
                fork: f.name.clone(),
                kind: match f.kind {
                    crate::domain::rules::ForkKind::Upgrade => "upgrade",
                    crate::domain::rules::ForkKind::Bpo => "bpo",
                },
                execution: f.execution.clone(),
                consensus: f.consensus.clone(),
                network: a.network.clone(),
                epoch: a.epoch,
                time: a.time,
                source: a.source.clone(),
            });
        }
    }
    rows.sort_by_key(|r| (r.time, sched.rank(&r.network)));
    match args.format {
        ScheduleFormat::Json => {
            let out = serde_json::json!({"forks": rows, "problems": refreshed.problems});
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        ScheduleFormat::Table => {
            let header = ["FORK", "LAYERS", "NETWORK", "EPOCH", "TIME", "SOURCE"];
            let cells: Vec<[String; 6]> = rows
                .iter()
                .map(|r| {
                    let layers = match (&r.execution, &r.consensus) {
                        (Some(e), Some(c)) => format!("{e}/{c}"),
                        (Some(x), None) | (None, Some(x)) => x.clone(),
                        (None, None) => "-".into(),
                    };
                    [
                        r.fork.clone(),
                        layers,
                        r.network.clone(),
                        r.epoch.map_or("-".into(), |e| e.to_string()),
                        r.time.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                        r.source.clone(),
                    ]
                })
                .collect();
            let mut widths = header.map(str::len);
            for row in &cells {
                for (w, c) in widths.iter_mut().zip(row) {
                    *w = (*w).max(c.chars().count());
                }
            }
            let line = |row: &[String]| {
                let mut s = String::new();
                for (i, (c, w)) in row.iter().zip(widths).enumerate() {
                    if i + 1 == row.len() {
                        s.push_str(c);
                    } else {
                        s.push_str(&format!("{c:<w$}  "));
                    }
                }
                s
            };
            println!("{}", line(&header.map(String::from)));
            for row in &cells {
                println!("{}", line(row));
            }
        }
    }
    for p in &refreshed.problems {
        eprintln!("warning: {p}");
    }
    Ok(if refreshed.problems.is_empty() {
        Exit::Success
    } else {
        Exit::Partial
    })
}

fn test(dir: Option<&Path>) -> Result<Exit> {
    let engine = match Engine::builtin() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return Ok(Exit::Usage);
        }
    };
    let files: Vec<(String, String, Option<PathBuf>)> = match dir {
        None => BUILTIN_TESTS
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string(), None))
            .collect(),
        Some(dir) => match test_files(dir) {
            Ok(f) if f.is_empty() => {
                eprintln!("{}: no test files (*.yml, *.yaml)", dir.display());
                return Ok(Exit::Usage);
            }
            Ok(f) => f,
            Err(e) => {
                eprintln!("{}: {e}", dir.display());
                return Ok(Exit::Usage);
            }
        },
    };
    let mut all: Vec<TestResult> = Vec::new();
    for (name, text, base) in &files {
        match fixture::run_file(name, text, base.as_deref(), &engine) {
            Ok(results) => {
                let failed = results.iter().filter(|r| !r.passed()).count();
                println!(
                    "{name}: {} tests, {}",
                    results.len(),
                    if failed == 0 {
                        "all passed".to_string()
                    } else {
                        format!("{failed} failed")
                    }
                );
                all.extend(results);
            }
            Err(e) => {
                eprintln!("{e}");
                return Ok(Exit::Usage);
            }
        }
    }
    print!("{}", fixture::report(&all));
    Ok(if all.iter().all(TestResult::passed) {
        Exit::Success
    } else {
        Exit::Findings
    })
}

/// The test files directly in `dir`, sorted, with their text and directory.
fn test_files(dir: &Path) -> std::io::Result<Vec<(String, String, Option<PathBuf>)>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        let yaml = p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "yml" || e == "yaml");
        if yaml && p.is_file() {
            paths.push(p);
        }
    }
    paths.sort();
    let mut out = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(&p)?;
        out.push((
            p.display().to_string(),
            text,
            Some(p.parent().unwrap_or(dir).to_path_buf()),
        ));
    }
    Ok(out)
}
