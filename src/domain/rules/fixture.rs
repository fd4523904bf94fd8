//! Rule tests (`upkeep rules test`), in the spirit of `promtool test
//! rules`: YAML files listing releases (or deployed references) with the
//! findings expected from them. The format is documented in
//! `rules/README.md` ("Rule tests").
//!
//! Reads the files it is given and the rule directories and release files
//! they name (relative to the test file); no network, no clock (a
//! reference test states its `now`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::domain::release::Release;
use crate::domain::version::{Scheme, Tag};
use crate::domain::yaml;

use super::classify::fold;
use super::error::{Located, Seg, locate};
use super::time::Instant;
use super::types::{Code, Priority};
use super::{Engine, RulesError};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTestFile {
    version: u32,
    #[serde(default)]
    rule_dirs: Vec<String>,
    tests: Vec<RawTest>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTest {
    name: String,
    repo: String,
    #[serde(default)]
    release: Option<RawRelease>,
    #[serde(default)]
    release_file: Option<String>,
    #[serde(default)]
    reference: Option<RawReference>,
    expect: RawExpect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRelease {
    tag_name: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    prerelease: bool,
    #[serde(default)]
    published_at: Option<Instant>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawReference {
    version: String,
    #[serde(default)]
    network: Option<String>,
    now: Instant,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    #[serde(default)]
    codes: Option<Vec<Code>>,
    #[serde(default)]
    forks: Option<Vec<RawFork>>,
    #[serde(default)]
    breaking: Option<Vec<String>>,
    #[serde(default)]
    security: Option<bool>,
    #[serde(default)]
    mandatory: Option<bool>,
    #[serde(default)]
    priority: Option<Priority>,
    #[serde(default)]
    labels: Option<Vec<String>>,
    #[serde(default)]
    findings: Option<Vec<RawFinding>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFork {
    fork: String,
    networks: Vec<String>,
    #[serde(default)]
    activation: Option<Instant>,
    #[serde(default)]
    epoch: Option<u64>,
    /// Each network's activation (`null`: none stated).
    #[serde(default)]
    per_network: Option<std::collections::BTreeMap<String, Option<Instant>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFinding {
    fork: String,
    network: String,
    deadline: Instant,
    codes: Vec<Code>,
    #[serde(default)]
    minimum: Option<String>,
    #[serde(default)]
    priority: Option<Priority>,
}

/// The outcome of one test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestResult {
    /// `file:line:column` of the test.
    pub location: String,
    pub name: String,
    /// What differed from the expectation; empty when the test passed.
    pub problems: Vec<String>,
}

impl TestResult {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Runs the tests of one file. `base` is the directory relative paths are
/// resolved against (`None` for built-in tests, which may not name files);
/// `builtin` is the engine used when the file names no rule directories.
pub fn run_file(
    file: &str,
    text: &str,
    base: Option<&Path>,
    builtin: &Engine,
) -> Result<Vec<TestResult>, RulesError> {
    let root = yaml::parse_one(file, text)?;
    let Some(root) = &root else {
        return Err(Located::whole(file, "empty file: expected `version: 1` and `tests:`").into());
    };
    let raw: RawTestFile = yaml::from_node(file, root)?;
    if raw.version != 1 {
        return Err(Located::at_node(
            file,
            locate(root, &[Seg::Key("version")]),
            format!("unsupported version {}: expected 1", raw.version),
        )
        .into());
    }
    let own_engine;
    let engine = if raw.rule_dirs.is_empty() {
        builtin
    } else {
        let Some(base) = base else {
            return Err(Located::at_node(
                file,
                locate(root, &[Seg::Key("rule_dirs")]),
                "built-in tests cannot name rule directories",
            )
            .into());
        };
        let dirs: Vec<PathBuf> = raw.rule_dirs.iter().map(|d| base.join(d)).collect();
        own_engine = Engine::load(&dirs)?;
        &own_engine
    };
    let mut results = Vec::new();
    for (i, t) in raw.tests.into_iter().enumerate() {
        let node = locate(root, &[Seg::Key("tests"), Seg::Index(i)]);
        let location = format!("{file}:{}:{}", node.line, node.column);
        let at =
            |key: &'static str| locate(root, &[Seg::Key("tests"), Seg::Index(i), Seg::Key(key)]);
        let inputs = [
            t.release.is_some(),
            t.release_file.is_some(),
            t.reference.is_some(),
        ];
        if inputs.iter().filter(|b| **b).count() != 1 {
            return Err(Located::at_node(
                file,
                node,
                "expected exactly one of `release`, `release_file` and `reference`",
            )
            .into());
        }
        let problems = if let Some(r) = t.reference {
            let Some(tag) = Tag::parse(&Scheme::Semver, r.version.trim()) else {
                return Err(Located::at_node(
                    file,
                    at("reference"),
                    format!("{:?} is not a version", r.version),
                )
                .into());
            };
            let findings =
                engine.reference_findings(&t.repo, tag.version(), r.network.as_deref(), r.now.0);
            check_findings(&t.expect, &findings)
        } else {
            let release = match (t.release, t.release_file) {
                (Some(r), _) => Release {
                    tag_name: r.tag_name,
                    name: r.name,
                    body: r.body,
                    draft: false,
                    prerelease: r.prerelease,
                    published_at: r.published_at.map(|t| t.0),
                    html_url: None,
                },
                (None, Some(path)) => {
                    let Some(base) = base else {
                        return Err(Located::at_node(
                            file,
                            at("release_file"),
                            "built-in tests cannot name release files",
                        )
                        .into());
                    };
                    let p = base.join(&path);
                    let text = std::fs::read_to_string(&p).map_err(|e| {
                        Located::at_node(
                            file,
                            at("release_file"),
                            format!("cannot read {}: {e}", p.display()),
                        )
                    })?;
                    serde_json::from_str(&text).map_err(|e| {
                        Located::at_node(
                            file,
                            at("release_file"),
                            format!("{}: not a GitHub release JSON: {e}", p.display()),
                        )
                    })?
                }
                (None, None) => continue,
            };
            check_release(engine, &t.repo, &release, &t.expect)
        };
        results.push(TestResult {
            location,
            name: t.name,
            problems,
        });
    }
    Ok(results)
}

fn list<T: std::fmt::Display>(items: &[T]) -> String {
    let v: Vec<String> = items.iter().map(ToString::to_string).collect();
    format!("[{}]", v.join(", "))
}

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map_or("null".into(), |t| {
        t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    })
}

fn check_release(engine: &Engine, repo: &str, release: &Release, e: &RawExpect) -> Vec<String> {
    let c = engine.classify(repo, release);
    let mut p = Vec::new();
    if let Some(codes) = &e.codes {
        let mut want = codes.clone();
        want.sort();
        want.dedup();
        if want != c.codes {
            p.push(format!(
                "codes: expected {}, got {}",
                list(&want),
                list(&c.codes)
            ));
        }
    }
    if let Some(forks) = &e.forks {
        let got: Vec<String> = c
            .forks
            .iter()
            .map(|f| {
                format!(
                    "{} {} {} {}",
                    f.fork,
                    list(&f.networks),
                    time(f.activation),
                    f.epoch.map_or("null".into(), |e| e.to_string())
                )
            })
            .collect();
        let want: Vec<String> = forks
            .iter()
            .map(|f| {
                format!(
                    "{} {} {} {}",
                    f.fork,
                    list(&f.networks),
                    time(f.activation.map(|t| t.0)),
                    f.epoch.map_or("null".into(), |e| e.to_string())
                )
            })
            .collect();
        if got != want {
            p.push(format!("forks: expected {want:?}, got {got:?}"));
        }
        for f in forks {
            let Some(per) = &f.per_network else { continue };
            let found = c.forks.iter().find(|g| g.fork == f.fork);
            for (net, at) in per {
                let got = found.and_then(|g| g.on(net)).and_then(|n| n.activation);
                if got != at.map(|t| t.0) {
                    p.push(format!(
                        "{} on {net}: expected {}, got {}",
                        f.fork,
                        time(at.map(|t| t.0)),
                        time(got)
                    ));
                }
            }
        }
    }
    if let Some(b) = &e.breaking {
        let ok = b.len() == c.breaking.len()
            && b.iter()
                .zip(&c.breaking)
                .all(|(w, g)| fold(g).contains(&fold(w)));
        if !ok {
            p.push(format!(
                "breaking: expected {b:?} (substrings, in order), got {:?}",
                c.breaking
            ));
        }
    }
    let mut flag = |name: &str, want: Option<bool>, got: bool| {
        if let Some(w) = want
            && w != got
        {
            p.push(format!("{name}: expected {w}, got {got}"));
        }
    };
    flag("security", e.security, c.security);
    flag("mandatory", e.mandatory, c.mandatory);
    if let Some(pr) = e.priority
        && pr != c.priority
    {
        p.push(format!("priority: expected {pr}, got {}", c.priority));
    }
    if let Some(labels) = &e.labels {
        let mut want = labels.clone();
        want.sort();
        let mut got = c.labels.clone();
        got.sort();
        if want != got {
            p.push(format!("labels: expected {want:?}, got {got:?}"));
        }
    }
    if e.findings.is_some() {
        p.push("findings: only reference tests have findings".into());
    }
    p
}

fn check_findings(e: &RawExpect, findings: &[super::Finding]) -> Vec<String> {
    let mut p = Vec::new();
    let show = |fork: &str, network: &str, at: DateTime<Utc>, codes: &[Code]| {
        format!("{fork} {network} {} {}", time(Some(at)), list(codes))
    };
    if let Some(want) = &e.findings {
        let got: Vec<String> = findings
            .iter()
            .map(|f| {
                show(
                    &f.deadline.fork,
                    &f.deadline.network,
                    f.deadline.at,
                    &f.codes,
                )
            })
            .collect();
        let exp: Vec<String> = want
            .iter()
            .map(|f| show(&f.fork, &f.network, f.deadline.0, &f.codes))
            .collect();
        if got != exp {
            p.push(format!("findings: expected {exp:?}, got {got:?}"));
        }
        for (w, g) in want.iter().zip(findings) {
            if let Some(m) = &w.minimum
                && *m != g.minimum
            {
                p.push(format!(
                    "{}: minimum: expected {m}, got {}",
                    w.fork, g.minimum
                ));
            }
            if let Some(pr) = w.priority
                && pr != g.priority
            {
                p.push(format!(
                    "{}: priority: expected {pr}, got {}",
                    w.fork, g.priority
                ));
            }
        }
    }
    let other = e.codes.is_some()
        || e.forks.is_some()
        || e.breaking.is_some()
        || e.security.is_some()
        || e.mandatory.is_some()
        || e.priority.is_some()
        || e.labels.is_some();
    if other {
        p.push("reference tests only check `findings`".into());
    }
    p
}

/// Runs every test file: `(name, text, base directory)`. Returns the
/// results per file, in order, or the first file that cannot be read.
pub fn run_all(
    files: &[(String, String, Option<PathBuf>)],
    builtin: &Engine,
) -> Result<BTreeMap<usize, (String, Vec<TestResult>)>, RulesError> {
    let mut out = BTreeMap::new();
    for (i, (name, text, base)) in files.iter().enumerate() {
        let results = run_file(name, text, base.as_deref(), builtin)?;
        out.insert(i, (name.clone(), results));
    }
    Ok(out)
}

/// A report: one line per failed test with its problems, and a summary.
pub fn report(results: &[TestResult]) -> String {
    let mut s = String::new();
    let failed: Vec<&TestResult> = results.iter().filter(|r| !r.passed()).collect();
    for r in &failed {
        let _ = writeln!(s, "FAILED {}: {}", r.location, r.name);
        for p in &r.problems {
            let _ = writeln!(s, "  {p}");
        }
    }
    let _ = writeln!(
        s,
        "{} tests, {} passed, {} failed",
        results.len(),
        results.len() - failed.len(),
        failed.len()
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_expectation_is_reported() {
        let engine = Engine::builtin().unwrap();
        let text = "version: 1\ntests:\n  - name: cve\n    repo: a/b\n    release:\n      tag_name: v1.0.0\n      body: Fixes CVE-2025-1234.\n    expect:\n      codes: [security-fix]\n      security: true\n  - name: wrong\n    repo: a/b\n    release: {tag_name: v1.0.0, body: nothing}\n    expect: {codes: [hard-fork], priority: high}\n";
        let r = run_file("t.yml", text, None, &engine).unwrap();
        assert!(r[0].passed(), "{:?}", r[0].problems);
        assert_eq!(r[1].location, "t.yml:11:5");
        assert_eq!(
            r[1].problems,
            [
                "codes: expected [hard-fork], got []",
                "priority: expected high, got low"
            ]
        );
        assert!(report(&r).ends_with("2 tests, 1 passed, 1 failed\n"));
    }

    #[test]
    fn malformed_tests_are_positioned() {
        let engine = Engine::builtin().unwrap();
        let e = run_file("t.yml", "version: 1\ntests:\n  - name: x\n    repo: a/b\n    expect: {codez: []}\n    release: {tag_name: v1}\n", None, &engine).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.yml:5:14: unknown field `codez`"),
            "{e}"
        );
        let e = run_file(
            "t.yml",
            "version: 1\ntests:\n  - name: x\n    repo: a/b\n    expect: {}\n",
            None,
            &engine,
        )
        .unwrap_err();
        assert!(
            e.to_string()
                .starts_with("t.yml:3:5: expected exactly one of"),
            "{e}"
        );
        let e = run_file(
            "t.yml",
            "version: 1\nrule_dirs: [x]\ntests: []\n",
            None,
            &engine,
        )
        .unwrap_err();
        assert!(
            e.to_string().starts_with("t.yml:2:12: built-in tests"),
            "{e}"
        );
    }
}
