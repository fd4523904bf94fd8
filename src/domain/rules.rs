//! The rule engine: what a release means for the people who run it.
//!
//! From a release (tag and markdown notes) it derives the [`Classification`]
//! of the contract's `release classify` output: the forks the release
//! enables, schedules or supports, per network and with activation times
//! ([`fork`]), whether the notes call the upgrade mandatory, the breaking
//! changes, security fixes, migrations and deprecations (rule files,
//! [`rule`] and [`matcher`]), and the priority (stated by the notes,
//! [`priority`], or derived from the codes). From a deployed version and a
//! network it derives [`Finding`]s: the fork deadlines the version misses
//! (`hard-fork`), and those already past (`overdue`).
//!
//! Data: `rules/ethereum/forks.yml` (the fork [`schedule`]) and
//! `rules/common/*.yml` (rules) are shipped in the binary; directories of
//! more files extend them ([`Engine::load`]). Every problem in a file names
//! the file, line and column ([`RulesError`]). `rules/README.md` documents
//! every key and every code.
//!
//! Pure: no network, no clock (`now` is a parameter), no database, no
//! tokio/octocrab/git2. The only I/O is reading rule directories and rule
//! test files when asked to. Never panics on any release: notes are bounded
//! ([`notes::MAX_NOTES_BYTES`]) and every regex runs in linear time.

mod classify;
mod error;
pub mod fixture;
pub mod fork;
mod matcher;
pub mod notes;
mod priority;
pub mod rule;
pub mod schedule;
pub mod source;
pub mod time;
mod types;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use regex::Regex;

use crate::domain::release::Release;
use crate::domain::version::Version;
use crate::domain::yaml::{self, Node};

pub use error::{Located, RulesError};
pub use fork::ForkDetector;
pub use rule::{Rule, Scope};
pub use schedule::{Activation, Fork, ForkKind, MinimumVersion, Network, NetworkKind, Schedule};
pub use types::{
    Basis, Classification, Code, Deadline, Evidence, Finding, ForkActivation, NetworkActivation,
    Priority, PrioritySource,
};

use priority::PriorityDetector;

/// The shipped rule files, in load order (schedules before rules).
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "rules/ethereum/forks.yml",
        include_str!("../../rules/ethereum/forks.yml"),
    ),
    (
        "rules/common/breaking.yml",
        include_str!("../../rules/common/breaking.yml"),
    ),
    (
        "rules/common/deprecations.yml",
        include_str!("../../rules/common/deprecations.yml"),
    ),
    (
        "rules/common/mandatory.yml",
        include_str!("../../rules/common/mandatory.yml"),
    ),
    (
        "rules/common/migrations.yml",
        include_str!("../../rules/common/migrations.yml"),
    ),
    (
        "rules/common/security.yml",
        include_str!("../../rules/common/security.yml"),
    ),
];

/// The shipped rule tests, run by `upkeep rules test` without a directory.
pub const BUILTIN_TESTS: &[(&str, &str)] = &[
    (
        "rules/tests/breaking.yml",
        include_str!("../../rules/tests/breaking.yml"),
    ),
    (
        "rules/tests/forks.yml",
        include_str!("../../rules/tests/forks.yml"),
    ),
    (
        "rules/tests/phrasings.yml",
        include_str!("../../rules/tests/phrasings.yml"),
    ),
    (
        "rules/tests/priority.yml",
        include_str!("../../rules/tests/priority.yml"),
    ),
    (
        "rules/tests/references.yml",
        include_str!("../../rules/tests/references.yml"),
    ),
    (
        "rules/tests/security.yml",
        include_str!("../../rules/tests/security.yml"),
    ),
];

/// How long before a fork a missing upgrade becomes critical.
const CRITICAL_WINDOW_DAYS: i64 = 7;

/// Rules and fork schedule, loaded once; classifies releases and checks
/// deployed versions.
#[derive(Clone, Debug)]
pub struct Engine {
    schedule: Schedule,
    rules: Vec<Rule>,
    forks: ForkDetector,
    priority: PriorityDetector,
    cues: Regex,
    files: Vec<String>,
}

/// What a file holds, by its top-level keys.
enum FileKind {
    Schedule,
    Rules,
}

impl Engine {
    /// The shipped rules and schedule.
    pub fn builtin() -> Result<Engine, RulesError> {
        Engine::from_sources(
            BUILTIN
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect(),
        )
    }

    /// The shipped files plus every `*.yml`/`*.yaml` file directly inside
    /// each of `extra_dirs` (in name order): rule files (`rules:`) and
    /// schedule files (`networks:`/`forks:`).
    pub fn load(extra_dirs: &[PathBuf]) -> Result<Engine, RulesError> {
        let mut sources: Vec<(String, String)> = BUILTIN
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        let mut errors = Vec::new();
        for dir in extra_dirs {
            match yaml_files(dir) {
                Ok(files) => {
                    for f in files {
                        let name = f.display().to_string();
                        match std::fs::read(&f) {
                            Ok(bytes) => match String::from_utf8(bytes) {
                                Ok(text) => sources.push((name, text)),
                                Err(_) => errors.push(Located::whole(
                                    &name,
                                    "not UTF-8 text: expected a YAML file",
                                )),
                            },
                            Err(e) => errors
                                .push(Located::whole(&name, format!("cannot read the file: {e}"))),
                        }
                    }
                }
                Err(e) => errors.push(Located::whole(
                    dir.display().to_string(),
                    format!("cannot read the rule directory: {e}"),
                )),
            }
        }
        if !errors.is_empty() {
            return Err(RulesError(errors));
        }
        Engine::from_sources(sources)
    }

    /// An engine from named texts (schedules are merged first, in order,
    /// then rules).
    pub fn from_sources(sources: Vec<(String, String)>) -> Result<Engine, RulesError> {
        let mut errors = Vec::new();
        let mut parsed: Vec<(String, Node, FileKind)> = Vec::new();
        for (name, text) in &sources {
            match document(name, text) {
                Ok((root, kind)) => parsed.push((name.clone(), root, kind)),
                Err(e) => errors.push(e),
            }
        }
        let mut schedule = Schedule::default();
        for (name, root, kind) in &parsed {
            if matches!(kind, FileKind::Schedule)
                && let Err(e) = schedule.merge(name, root)
            {
                errors.extend(e);
            }
        }
        let mut rules = Vec::new();
        let mut seen = HashMap::new();
        for (name, root, kind) in &parsed {
            if matches!(kind, FileKind::Rules) {
                match rule::load(name, root, &mut seen) {
                    Ok(r) => rules.extend(r),
                    Err(e) => errors.extend(e),
                }
            }
        }
        if !errors.is_empty() {
            return Err(RulesError(errors));
        }
        let internal = |e: regex::Error| {
            RulesError(vec![Located::whole(
                "builtin",
                format!("internal pattern failed to compile: {e}"),
            )])
        };
        Ok(Engine {
            forks: ForkDetector::new(&schedule).map_err(internal)?,
            priority: PriorityDetector::new().map_err(internal)?,
            cues: Regex::new(matcher::NEGATION_CUES).map_err(internal)?,
            schedule,
            rules,
            files: sources.into_iter().map(|(n, _)| n).collect(),
        })
    }

    /// This engine with the schedule the networks' own configs give
    /// ([`Schedule::with_sources`]): the source wins for times, upcoming
    /// forks it names are added. Returns the problems reading them (each
    /// `origin:line:column: ...`); a config that cannot be read leaves its
    /// network's shipped activations as they are.
    pub fn with_sources(&self, configs: &[source::NetworkConfig]) -> (Engine, Vec<Located>) {
        let (schedule, problems) = self.schedule.with_sources(configs);
        match self.with_schedule(schedule) {
            Ok(engine) => (engine, problems),
            Err(e) => {
                let mut problems = problems;
                problems.push(Located::whole(
                    "schedule sources",
                    format!("the merged schedule cannot be used ({e}): the shipped one is kept"),
                ));
                (self.clone(), problems)
            }
        }
    }

    /// The same rules with another schedule.
    fn with_schedule(&self, schedule: Schedule) -> Result<Engine, regex::Error> {
        Ok(Engine {
            forks: ForkDetector::new(&schedule)?,
            priority: PriorityDetector::new()?,
            cues: self.cues.clone(),
            schedule,
            rules: self.rules.clone(),
            files: self.files.clone(),
        })
    }

    /// The fork schedule.
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }

    /// Every rule, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The files the engine was loaded from.
    pub fn files(&self) -> &[String] {
        &self.files
    }

    /// The fork detector (for tests and tools).
    pub fn fork_detector(&self) -> &ForkDetector {
        &self.forks
    }

    /// Classifies one release of `repo` (`owner/name`).
    pub fn classify(&self, repo: &str, release: &Release) -> Classification {
        classify::classify(self, repo, release)
    }

    /// Fork deadlines for `current`, a version of `repo` deployed on
    /// `network` (mainnet when `None`), at `now`: one finding per scheduled
    /// fork whose minimum version for `repo` on that network is above
    /// `current`, `hard-fork` before the activation and `hard-fork` +
    /// `overdue` after it. Sorted by deadline.
    pub fn reference_findings(
        &self,
        repo: &str,
        current: &Version,
        network: Option<&str>,
        now: DateTime<Utc>,
    ) -> Vec<Finding> {
        let Some(net) = self.schedule.network(network.unwrap_or("mainnet")) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for fork in self.schedule.forks() {
            let Some(min) = self.schedule.minimum_version(&fork.name, repo, &net.name) else {
                continue;
            };
            if current.cmp_precedence(&min.version) != std::cmp::Ordering::Less {
                continue;
            }
            let Some(a) = fork.activation(&net.name) else {
                continue;
            };
            let overdue = a.time <= now;
            let mut codes = vec![Code::HardFork];
            if overdue {
                codes.push(Code::Overdue);
            }
            let soon = (a.time - now).num_days() < CRITICAL_WINDOW_DAYS;
            out.push(Finding {
                codes,
                deadline: Deadline {
                    fork: fork.name.clone(),
                    network: net.name.clone(),
                    at: a.time,
                },
                minimum: min.text.clone(),
                priority: if overdue || soon {
                    Priority::Critical
                } else {
                    Priority::High
                },
            });
        }
        out.sort_by_key(|f| f.deadline.at);
        out
    }
}

/// The `*.yml` and `*.yaml` files directly in `dir`, sorted.
fn yaml_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.'));
        let yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e == "yml" || e == "yaml");
        if yaml && !hidden && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Parses a file into its one document and tells what it holds.
fn document(name: &str, text: &str) -> Result<(Node, FileKind), Located> {
    let Some(root) = yaml::parse_one(name, text)? else {
        return Err(Located::whole(
            name,
            "empty file: expected `version: 1` and `rules:` or `forks:`",
        ));
    };
    if root.map().is_none() {
        return Err(Located::at_node(
            name,
            &root,
            "expected a mapping with `version: 1`",
        ));
    }
    let kind = if root.entry("rules").is_some() {
        FileKind::Rules
    } else if root.entry("forks").is_some() || root.entry("networks").is_some() {
        FileKind::Schedule
    } else if root.entry("tests").is_some() {
        return Err(Located::at_node(
            name,
            &root,
            "this is a rule test file (`tests:`): run it with `upkeep rules test`, not as a rule file",
        ));
    } else {
        return Err(Located::at_node(
            name,
            &root,
            "expected `rules:` (a rule file) or `networks:`/`forks:` (a fork schedule)",
        ));
    };
    Ok((root, kind))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::version::{Scheme, Tag};

    fn v(s: &str) -> Version {
        Tag::parse(&Scheme::Semver, s).unwrap().version().clone()
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn builtin_loads() {
        let e = Engine::builtin().unwrap_or_else(|e| panic!("{e}"));
        assert!(e.schedule().fork("Osaka").is_some());
        assert!(!e.rules().is_empty());
    }

    #[test]
    fn deadlines_for_references() {
        let e = Engine::builtin().unwrap();
        let f = e.reference_findings(
            "sigp/lighthouse",
            &v("v7.1.0"),
            Some("mainnet"),
            at("2025-11-20T00:00:00Z"),
        );
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].codes, [Code::HardFork]);
        assert_eq!(f[0].deadline.fork, "Fusaka");
        assert_eq!(f[0].deadline.at, at("2025-12-03T21:49:11Z"));
        assert_eq!(f[0].minimum, "v8.0.0");
        assert_eq!(f[0].priority, Priority::High);
        // past the fork: overdue
        let f = e.reference_findings(
            "sigp/lighthouse",
            &v("7.1.0"),
            None,
            at("2025-12-04T00:00:00Z"),
        );
        assert_eq!(f[0].codes, [Code::HardFork, Code::Overdue]);
        assert_eq!(f[0].priority, Priority::Critical);
        // up to date, other network, unknown network, unknown repo
        assert!(
            e.reference_findings(
                "sigp/lighthouse",
                &v("v8.0.0"),
                Some("mainnet"),
                at("2025-11-20T00:00:00Z")
            )
            .is_empty()
        );
        assert!(
            e.reference_findings(
                "sigp/lighthouse",
                &v("v7.1.0"),
                Some("hoodi"),
                at("2025-11-20T00:00:00Z")
            )
            .is_empty()
        );
        assert!(
            e.reference_findings(
                "sigp/lighthouse",
                &v("v7.1.0"),
                Some("moon"),
                at("2025-11-20T00:00:00Z")
            )
            .is_empty()
        );
        assert!(
            e.reference_findings("acme/x", &v("v0.1.0"), None, at("2025-11-20T00:00:00Z"))
                .is_empty()
        );
        // several forks missed, sorted by deadline; aliases of networks work
        let f = e.reference_findings(
            "OffchainLabs/prysm",
            &v("v4.0.3"),
            Some("Mainnet"),
            at("2024-01-01T00:00:00Z"),
        );
        let forks: Vec<&str> = f.iter().map(|x| x.deadline.fork.as_str()).collect();
        assert_eq!(forks, ["Dencun", "Pectra", "Fusaka", "BPO1", "BPO2"]);
    }

    #[test]
    fn shipped_rule_tests_pass() {
        let e = Engine::builtin().unwrap();
        for (name, text) in BUILTIN_TESTS {
            let results = fixture::run_file(name, text, None, &e).unwrap_or_else(|e| panic!("{e}"));
            let failed: Vec<String> = results
                .iter()
                .filter(|r| !r.passed())
                .map(|r| format!("{} {}: {:?}", r.location, r.name, r.problems))
                .collect();
            assert!(failed.is_empty(), "{failed:#?}");
        }
    }

    #[test]
    fn file_kinds() {
        let e = Engine::from_sources(vec![("t.yml".into(), "tests: []\n".into())]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.yml:1:1: this is a rule test file"),
            "{e}"
        );
        let e = Engine::from_sources(vec![("t.yml".into(), "a: 1\n".into())]).unwrap_err();
        assert!(e.to_string().contains("expected `rules:`"), "{e}");
        let e = Engine::from_sources(vec![("t.yml".into(), "rules: [\n".into())]).unwrap_err();
        assert!(e.to_string().starts_with("t.yml:"), "{e}");
        let e = Engine::from_sources(vec![("t.yml".into(), "".into())]).unwrap_err();
        assert!(e.to_string().contains("empty file"), "{e}");
    }
}
