//! `upkeep rules test [DIR]`: runs rule tests (releases or references with
//! the findings expected from them), like `promtool test rules`. Without
//! DIR, runs the tests shipped in the binary (`rules/tests/`).
//!
//! Reads the test files and the rule directories and release files they
//! name; nothing else.

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

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Run rule tests and report the ones that fail.
    #[command(after_help = TEST_HELP)]
    Test(TestArgs),
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Directory of test files (`*.yml`, `*.yaml`); the shipped tests when
    /// omitted.
    dir: Option<PathBuf>,
}

pub fn run(cmd: &RulesCommand) -> Result<Exit> {
    match cmd {
        RulesCommand::Test(args) => test(args.dir.as_deref()),
    }
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
