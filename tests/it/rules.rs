//! The rule engine and its commands: `release classify` (contract JSON and
//! text), `rules test`, shipped rule files and their documentation, user
//! rule directories, and a fuzz of the release-notes analysis.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use proptest::prelude::*;
use upkeep::domain::release::Release;
use upkeep::domain::rules::{BUILTIN, BUILTIN_TESTS, Code, Engine, Priority};
use upkeep::domain::version::{Scheme, Tag};

use crate::support::{fixture, stderr, stdout, upkeep};

/// The built-in engine, loaded once for the property tests.
static ENGINE: LazyLock<Engine> =
    LazyLock::new(|| Engine::builtin().unwrap_or_else(|e| panic!("{e}")));

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs upkeep with `input` on standard input.
fn upkeep_stdin(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_upkeep"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run upkeep");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for upkeep")
}

fn release(body: &str) -> Release {
    Release {
        tag_name: "v1.0.0".into(),
        name: None,
        body: Some(body.into()),
        draft: false,
        prerelease: false,
        published_at: None,
        html_url: None,
    }
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn every_shipped_file_is_loaded_and_every_code_documented_once() {
    let engine = Engine::builtin().unwrap_or_else(|e| panic!("{e}"));
    // every file under rules/ethereum and rules/common is in the binary
    let mut on_disk = Vec::new();
    for dir in ["rules/ethereum", "rules/common"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".yml") || name.ends_with(".yaml") {
                on_disk.push(format!("{dir}/{name}"));
            }
        }
    }
    on_disk.sort();
    let mut shipped: Vec<String> = BUILTIN.iter().map(|(n, _)| n.to_string()).collect();
    shipped.sort();
    assert_eq!(on_disk, shipped);
    let mut tests_on_disk: Vec<String> = std::fs::read_dir(root().join("rules/tests"))
        .unwrap()
        .map(|e| {
            format!(
                "rules/tests/{}",
                e.unwrap().file_name().into_string().unwrap()
            )
        })
        .collect();
    tests_on_disk.sort();
    let mut tests_shipped: Vec<String> = BUILTIN_TESTS.iter().map(|(n, _)| n.to_string()).collect();
    tests_shipped.sort();
    assert_eq!(tests_on_disk, tests_shipped);
    // shipped texts are the files on disk
    for (name, text) in BUILTIN {
        assert_eq!(
            std::fs::read_to_string(root().join(name)).unwrap(),
            *text,
            "{name}"
        );
    }

    let readme = std::fs::read_to_string(root().join("rules/README.md")).unwrap();
    let mut seen = std::collections::HashSet::new();
    for code in Code::ALL {
        assert!(seen.insert(code.as_str()), "{code} twice");
        let row = format!("| `{code}` |");
        assert_eq!(
            readme.matches(&row).count(),
            1,
            "{code} must have one row in rules/README.md"
        );
        assert!(
            code.as_str()
                .chars()
                .all(|c| c.is_ascii_lowercase() || c == '-'),
            "{code} is not kebab-case"
        );
    }
    // every code a rule yields is one of them, and rule ids are unique
    let mut ids = std::collections::HashSet::new();
    for r in engine.rules() {
        assert!(ids.insert(r.id.clone()), "rule id {} twice", r.id);
        assert!(r.description.is_some(), "rule {} has no description", r.id);
    }
    // every key of the formats is documented
    for key in [
        "upstreams:",
        "versions:",
        "prerelease:",
        "sections:",
        "include:",
        "exclude:",
        "scope:",
        "any:",
        "all:",
        "unless:",
        "negation:",
        "codes:",
        "labels:",
        "priority:",
        "breaking_item:",
        "deadline:",
        "genesis_time:",
        "seconds_per_slot:",
        "slots_per_epoch:",
        "aliases:",
        "execution:",
        "consensus:",
        "after:",
        "activations:",
        "minimum_versions:",
        "rule_dirs:",
        "release_file:",
        "reference:",
        "expect:",
        "findings:",
    ] {
        assert!(
            readme.contains(key),
            "rules/README.md does not document `{key}`"
        );
    }
}

#[test]
fn the_schedule_holds_the_forks_json_facts() {
    let engine = Engine::builtin().unwrap();
    let s = engine.schedule();
    let at = |f: &str, n: &str| s.activation(f, n).map(|a| (a.epoch, a.time.to_rfc3339()));
    assert_eq!(
        at("Pectra", "mainnet"),
        Some((Some(364032), "2025-05-07T10:05:11+00:00".into()))
    );
    assert_eq!(
        at("Osaka", "hoodi"),
        Some((Some(50688), "2025-10-28T18:53:12+00:00".into()))
    );
    assert_eq!(
        at("Deneb", "goerli"),
        Some((Some(231680), "2024-01-17T06:32:00+00:00".into()))
    );
    assert_eq!(
        at("BPO2", "sepolia"),
        Some((Some(275712), "2025-10-27T23:16:48+00:00".into()))
    );
    assert_eq!(at("Glamsterdam", "mainnet"), None);
    let hoodi = s.network("hoodi").unwrap();
    assert_eq!(hoodi.genesis_time, Some(1742213400));
    for n in ["mainnet", "sepolia", "holesky", "hoodi"] {
        assert!(s.network(n).is_some(), "{n}");
        for f in ["Shapella", "Dencun", "Pectra", "Fusaka", "BPO1", "BPO2"] {
            assert!(s.activation(f, n).is_some(), "{f} on {n}");
        }
    }
}

#[test]
fn release_classify_prints_the_contract_json() {
    let dir = tempfile::tempdir().unwrap();
    let file = fixture("release-notes/release-lighthouse.json");
    let o = upkeep(
        dir.path(),
        &[
            "release",
            "classify",
            "--repo",
            "sigp/lighthouse",
            "--release",
            file.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    insta::assert_json_snapshot!("classify_lighthouse", json);
    // the same from standard input, and `--format json` is the default
    let text = std::fs::read_to_string(&file).unwrap();
    let o2 = upkeep_stdin(
        &[
            "release",
            "classify",
            "--repo",
            "sigp/lighthouse",
            "--release",
            "-",
            "--format",
            "json",
        ],
        &text,
    );
    assert!(o2.status.success(), "{}", stderr(&o2));
    assert_eq!(stdout(&o), stdout(&o2));
}

#[test]
fn release_classify_text_shows_evidence_and_schedule_fallbacks() {
    let body = "This release includes support for Pectra activation in the Holesky and Sepolia testnets!\n\nUpdating to this release is **required** for Holesky and Sepolia operators.\n";
    let input = serde_json::json!({"tag_name": "v5.3.0", "body": body}).to_string();
    let o = upkeep_stdin(
        &[
            "release",
            "classify",
            "--repo",
            "OffchainLabs/prysm",
            "--release",
            "-",
            "--format",
            "text",
        ],
        &input,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    insta::assert_snapshot!("classify_text_prysm", stdout(&o));
}

#[test]
fn release_classify_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let o = upkeep_stdin(
        &["release", "classify", "--repo", "a/b", "--release", "-"],
        "[{}, {}]",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("an array of 2 releases"),
        "{}",
        stderr(&o)
    );
    let o = upkeep_stdin(
        &["release", "classify", "--repo", "a/b", "--release", "-"],
        "{\"body\": 1}",
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("not a GitHub release"),
        "{}",
        stderr(&o)
    );
    let o = upkeep(
        dir.path(),
        &[
            "release",
            "classify",
            "--repo",
            "nope",
            "--release",
            "x.json",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expected OWNER/NAME"), "{}", stderr(&o));
    let o = upkeep(
        dir.path(),
        &[
            "release",
            "classify",
            "--repo",
            "a/b",
            "--release",
            "missing.json",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("cannot read missing.json"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn rule_errors_name_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    write(
        &rules,
        "mine.yml",
        "version: 1\nrules:\n  - id: mine\n    codes: [breaking-change]\n    any:\n      - regex: 'removed ('\n      - phrase: gone\n    colour: red\n",
    );
    let o = upkeep_stdin(
        &[
            "release",
            "classify",
            "--repo",
            "a/b",
            "--release",
            "-",
            "--rules",
            rules.to_str().unwrap(),
        ],
        "{\"tag_name\": \"v1\"}",
    );
    assert_eq!(o.status.code(), Some(2));
    let file = rules.join("mine.yml").display().to_string();
    assert_eq!(
        stderr(&o).trim(),
        format!(
            "{file}:8:5: unknown field `colour`, expected one of `id`, `description`, `upstreams`, `versions`, `prerelease`, `sections`, `scope`, `any`, `all`, `unless`, `negation`, `codes`, `labels`, `priority`, `breaking_item`, `deadline`"
        )
    );
    write(
        &rules,
        "mine.yml",
        "version: 1\nrules:\n  - id: mine\n    codes: [breaking-change]\n    any:\n      - regex: 'removed ('\n  - id: mine\n    codes: [no-such-code]\n",
    );
    let e = Engine::load(std::slice::from_ref(&rules))
        .unwrap_err()
        .to_string();
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 1, "{e}");
    assert!(
        lines[0].starts_with(&format!("{file}:8:13: unknown variant `no-such-code`")),
        "{e}"
    );
    write(
        &rules,
        "mine.yml",
        "version: 1\nrules:\n  - id: mine\n    codes: [breaking-change]\n    any:\n      - regex: 'removed ('\n  - id: mine\n    codes: [mandatory]\n",
    );
    let e = Engine::load(std::slice::from_ref(&rules))
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        format!(
            "{file}:6:16: invalid regex: unclosed group\n{file}:7:9: duplicate rule id `mine` (first defined at {file}:3:9)"
        )
    );
    let e = Engine::load(&[dir.path().join("nowhere")])
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot read the rule directory"), "{e}");
}

#[test]
fn user_rules_and_schedules_extend_the_builtin_ones() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "acme.yml",
        "version: 1\nrules:\n  - id: acme-freeze\n    description: Acme freezes v2 upgrades.\n    upstreams: ['acme/*']\n    versions: '>=2.0.0, <3'\n    any: [{phrase: storage engine}]\n    codes: [db-migration]\n    labels: [needs-ops]\n    priority: critical\n    deadline: true\n",
    );
    write(
        dir.path(),
        "devnet.yml",
        "version: 1\nnetworks:\n  - {name: acme-devnet, kind: testnet, genesis_time: 1700000000, seconds_per_slot: 6, slots_per_epoch: 8}\nforks:\n  - name: Glamsterdam\n    activations:\n      acme-devnet: {epoch: 10}\n    minimum_versions:\n      acme/node: {acme-devnet: {version: v2.0.0}}\n",
    );
    let engine = Engine::load(&[dir.path().to_path_buf()]).unwrap_or_else(|e| panic!("{e}"));
    let mut r = release("The new storage engine ships on March 1, 2026 and is the default.");
    r.tag_name = "v2.1.0".into();
    let c = engine.classify("acme/node", &r);
    assert_eq!(c.codes, [Code::DbMigration]);
    assert_eq!(c.labels, ["needs-ops"]);
    assert_eq!(c.priority, Priority::Critical);
    assert_eq!(
        c.deadline.map(|d| d.to_rfc3339()),
        Some("2026-03-01T00:00:00+00:00".into())
    );
    r.tag_name = "v3.0.0".into();
    assert!(engine.classify("acme/node", &r).codes.is_empty());
    assert!(
        engine
            .classify("other/node", &release("storage engine"))
            .codes
            .is_empty()
    );
    // the devnet schedule gives deadlines and is understood in notes
    let now: DateTime<Utc> = "2023-11-14T00:00:00Z".parse().unwrap();
    let v = Tag::parse(&Scheme::Semver, "v1.9.0")
        .unwrap()
        .version()
        .clone();
    let f = engine.reference_findings("acme/node", &v, Some("acme-devnet"), now);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].deadline.at.timestamp(), 1_700_000_000 + 10 * 48);
    let c = engine.classify(
        "acme/node",
        &release("Schedules Glamsterdam on acme-devnet at epoch 10."),
    );
    assert_eq!(c.forks[0].networks, ["acme-devnet"]);
    assert_eq!(
        c.forks[0].activation.map(|a| a.timestamp()),
        Some(1_700_000_480)
    );
}

#[test]
fn shipped_rule_tests_pass() {
    let dir = tempfile::tempdir().unwrap();
    let o = upkeep(dir.path(), &["rules", "test"]);
    assert!(o.status.success(), "{}\n{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("rules/tests/forks.yml: "), "{out}");
    assert!(out.trim_end().ends_with("passed, 0 failed"), "{out}");
}

#[test]
fn rules_test_reports_failures_and_invalid_files() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("my-rules");
    let tests = dir.path().join("tests");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::create_dir_all(&tests).unwrap();
    write(
        &rules,
        "r.yml",
        "version: 1\nrules:\n  - id: freeze\n    description: x\n    any: [{phrase: code freeze}]\n    labels: [freeze]\n",
    );
    write(
        &tests,
        "a.yml",
        "version: 1\nrule_dirs: [../my-rules]\ntests:\n  - name: label from my rule\n    repo: a/b\n    release: {tag_name: v1.0.0, body: 'Code freeze until Monday.'}\n    expect: {labels: [freeze], codes: []}\n  - name: wrong on purpose\n    repo: a/b\n    release_file: ../release.json\n    expect: {mandatory: true}\n",
    );
    write(
        dir.path(),
        "release.json",
        "{\"tag_name\": \"v1.0.0\", \"body\": \"Nothing.\"}",
    );
    let o = upkeep(dir.path(), &["rules", "test", "tests"]);
    assert_eq!(o.status.code(), Some(1), "{}\n{}", stdout(&o), stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains(
            "FAILED tests/a.yml:8:5: wrong on purpose\n  mandatory: expected true, got false"
        ),
        "{out}"
    );
    assert!(
        out.trim_end().ends_with("2 tests, 1 passed, 1 failed"),
        "{out}"
    );
    write(
        &tests,
        "b.yml",
        "version: 1\ntests:\n  - name: x\n    repo: a/b\n    reference: {version: v1.0.0, now: yesterday}\n    expect: {}\n",
    );
    let o = upkeep(dir.path(), &["rules", "test", "tests"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o).trim(),
        "tests/b.yml:5:39: invalid date-time \"yesterday\": expected RFC 3339 such as 2025-12-03T21:49:11Z"
    );
    let o = upkeep(dir.path(), &["rules", "test", "my-rules-missing"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn hostile_notes_are_bounded() {
    let engine = Engine::builtin().unwrap();
    let huge = "Fixes CVE-2025-1. ".repeat(40_000);
    let deep = format!("{}x", "> ".repeat(20_000));
    let lists = format!("{}x", "- ".repeat(20_000));
    let brackets = "[".repeat(100_000);
    let stars = "*a ".repeat(50_000);
    let table = "|a|b|\n|-|-|\n".to_string() + &"|x|y|\n".repeat(30_000);
    let dates =
        "Fusaka on mainnet at epoch 1, 2, 3, 4, May 7, 2025, 10:05:11am UTC; ".repeat(5_000);
    for body in [huge, deep, lists, brackets, stars, table, dates] {
        let start = std::time::Instant::now();
        let c = engine.classify("a/b", &release(&body));
        assert!(
            start.elapsed().as_secs() < 20,
            "{} bytes took {:?}",
            body.len(),
            start.elapsed()
        );
        let _ = serde_json::to_string(&c).unwrap();
    }
}

fn markdownish() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(vec![
        "# ",
        "## Breaking Changes\n",
        "### Security\n",
        "### Upcoming Breaking Changes\n",
        "- ",
        "  - ",
        "* ",
        "> ",
        "| a | b |\n|---|---|\n",
        "```\n",
        "**",
        "`",
        "[",
        "](",
        ")",
        "\n",
        "\n\n",
        " ",
        "Fusaka",
        "Pectra",
        "BPO1",
        "BPO",
        "mainnet",
        "Holešky",
        "testnets",
        "the fork",
        " at epoch ",
        "411,392",
        "slot: 3710976",
        "2025-12-03 21:49:11 UTC",
        "May 7, 2025, 10:05:11am UTC",
        "13th of March",
        "1746612311",
        "not required",
        "must upgrade",
        "removed",
        "--flag",
        "CVE-2025-1234",
        "high-urgency",
        "é",
        "🦓",
        ".",
        ",",
        ";",
        "(",
        ":",
    ]);
    prop::collection::vec(piece, 0..120).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn classify_never_panics_on_markdownish_notes(body in markdownish()) {
        let c = ENGINE.classify("a/b", &release(&body));
        // codes are sorted and distinct; every fork has a network
        prop_assert!(c.codes.windows(2).all(|w| w[0] < w[1]));
        prop_assert!(c.forks.iter().all(|f| !f.networks.is_empty()));
        prop_assert_eq!(c.security, c.codes.contains(&Code::SecurityFix));
    }

    #[test]
    fn classify_never_panics_on_any_text(body in ".{0,400}", tag in ".{0,20}") {
        let mut r = release(&body);
        r.tag_name = tag;
        let _ = ENGINE.classify("a/b", &r);
    }
}

// ---------------------------------------------------------------------------
// The fork schedule from the networks' own configs (`rules.schedule_sources`):
// the GitHub double serves `eth-clients/<network>`'s `metadata/config.yaml`
// and `metadata/genesis.json` through the contents API (with ETags).

mod schedule_sources {
    use serde_json::Value;

    use crate::support::github::{GitHubDouble, NewRelease};
    use crate::support::{stderr, stdout, upkeep_env};

    const TOKEN: &str = "ghp_test_token_0123456789";
    const REGISTRIES: &str =
        "registries:\n  require_published: false\n  mirrors:\n    docker.io: http://127.0.0.1:9\n";
    const MAINNET_CL: &str = "metadata/config.yaml";

    /// A mainnet deployment of lighthouse `tag` and a double with releases.
    struct Scenario {
        dir: tempfile::TempDir,
        gh: GitHubDouble,
    }

    impl Scenario {
        fn new(tag: &str) -> Scenario {
            let dir = tempfile::tempdir().unwrap();
            let gh = GitHubDouble::start();
            std::fs::write(
                dir.path().join("upkeep.yml"),
                format!(
                    "repositories:\n  - path: ./deploy\n    environments:\n      - name: mainnet\n        paths: [\"**\"]\n        network: mainnet\n{REGISTRIES}"
                ),
            )
            .unwrap();
            std::fs::create_dir_all(dir.path().join("deploy")).unwrap();
            std::fs::write(
                dir.path().join("deploy/values.yaml"),
                format!("cl:\n  image: sigp/lighthouse:{tag}\n"),
            )
            .unwrap();
            Scenario { dir, gh }
        }

        fn run(&self, args: &[&str], extra: &[(&str, &str)]) -> (String, String, i32) {
            let state = self.dir.path().join("state.sqlite3");
            let mut env = vec![
                ("UPKEEP_GITHUB_API_URL", self.gh.url()),
                ("UPKEEP_STATE", state.to_str().unwrap()),
                ("UPKEEP_GITHUB_TOKEN", TOKEN),
                ("UPKEEP_NOW", "2026-12-01T00:00:00Z"),
            ];
            env.extend_from_slice(extra);
            let out = upkeep_env(self.dir.path(), args, &env);
            (stdout(&out), stderr(&out), out.status.code().unwrap())
        }

        fn check(&self, extra: &[(&str, &str)]) -> (Value, String, i32) {
            let (out, err, code) = self.run(&["check", "--format", "json"], extra);
            let json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
            (json, err, code)
        }

        /// Schedules Gloas/Amsterdam upstream on mainnet (epoch 500000).
        fn schedule_glamsterdam(&self) {
            let cl = self
                .gh
                .with_state(|s| s.files["eth-clients/mainnet"][MAINNET_CL].clone());
            let cl = cl.replace(
                "GLOAS_FORK_EPOCH: 18446744073709551615",
                "GLOAS_FORK_EPOCH: 500000",
            );
            assert!(cl.contains("GLOAS_FORK_EPOCH: 500000"));
            self.gh
                .set_file("eth-clients/mainnet", MAINNET_CL, Some(&cl));
        }
    }

    fn lighthouse(report: &Value) -> &Value {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["image"] == "sigp/lighthouse")
            .unwrap_or_else(|| panic!("no lighthouse finding in {report:#}"))
    }

    /// v8.1.0 supports the next upgrade on mainnet without saying when.
    fn seed_glamsterdam_release(gh: &GitHubDouble) {
        gh.add_release("sigp/lighthouse", "v8.0.0");
        gh.add_release(
            "sigp/lighthouse",
            NewRelease::new("v8.1.0").body(
                "## Summary\n\nThis release supports the Glamsterdam network upgrade on mainnet.\n",
            ),
        );
    }

    #[test]
    fn a_fork_scheduled_upstream_appears_in_check_without_a_release_of_upkeep() {
        let s = Scenario::new("v8.0.0");
        seed_glamsterdam_release(&s.gh);
        // unscheduled upstream (GLOAS_FORK_EPOCH is 2**64-1): no deadline
        let (report, err, code) = s.check(&[]);
        assert_eq!(code, 0, "{err}");
        let f = lighthouse(&report);
        assert_eq!(f["latest"], "v8.1.0", "{f:#}");
        assert_eq!(f["deadline"], Value::Null, "{f:#}");
        assert!(
            !report["warnings"].to_string().contains("schedule source"),
            "{report:#}"
        );
        let reads = s.gh.requests_for("repos/get-content");
        let paths: Vec<&str> = reads.iter().map(|r| r.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/repos/eth-clients/mainnet/contents/metadata/config.yaml",
                "/repos/eth-clients/mainnet/contents/metadata/genesis.json"
            ],
            "only the networks the deployment runs are read"
        );
        // scheduled upstream: the deadline comes from the network's config
        s.schedule_glamsterdam();
        let (report, err, code) = s.check(&[]);
        assert_eq!(code, 0, "{err}");
        let f = lighthouse(&report);
        assert_eq!(
            f["deadline"],
            serde_json::json!({"fork": "Glamsterdam", "network": "mainnet", "at": "2027-01-01T17:20:23Z", "release": "v8.1.0"}),
            "{f:#}"
        );
        assert!(
            f["codes"]
                .as_array()
                .unwrap()
                .contains(&Value::from("hard-fork")),
            "{f:#}"
        );
        // the unchanged genesis file was not sent again (ETag, 304)
        let reads = s.gh.requests_for("repos/get-content");
        assert_eq!(reads.len(), 4);
        assert_eq!(reads[3].status, 304, "{:?}", reads[3]);
        assert!(reads[3].if_none_match.is_some());
        assert_eq!(reads[2].status, 200, "the changed config is read again");
        // switched off: the shipped schedule only, no request
        s.gh.clear_requests();
        let (report, _, _) = s.check(&[("UPKEEP_RULES__SCHEDULE_SOURCES", "none")]);
        assert_eq!(lighthouse(&report)["deadline"], Value::Null);
        assert!(s.gh.requests_for("repos/get-content").is_empty());
        // `rules schedule` shows it, with its source
        let (out, err, code) = s.run(&["rules", "schedule", "--format", "json"], &[]);
        assert_eq!(code, 0, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        let rows = v["forks"].as_array().unwrap();
        let g: Vec<&Value> = rows.iter().filter(|r| r["fork"] == "Glamsterdam").collect();
        assert_eq!(g.len(), 1, "{v:#}");
        assert_eq!(g[0]["network"], "mainnet");
        assert_eq!(g[0]["epoch"], 500000);
        assert_eq!(g[0]["source"], "eth-clients/mainnet:metadata/config.yaml");
        let fusaka_sepolia = rows
            .iter()
            .find(|r| r["fork"] == "Fusaka" && r["network"] == "sepolia")
            .unwrap();
        assert_eq!(fusaka_sepolia["time"], "2025-10-14T07:36:00Z");
        assert_eq!(
            fusaka_sepolia["source"],
            "eth-clients/sepolia:metadata/config.yaml"
        );
        let goerli = rows.iter().find(|r| r["network"] == "goerli").unwrap();
        assert_eq!(goerli["source"], "rules/ethereum/forks.yml");
        let (table, _, _) = s.run(&["rules", "schedule"], &[]);
        let line = table
            .lines()
            .find(|l| l.starts_with("Glamsterdam"))
            .unwrap_or_else(|| panic!("{table}"));
        assert!(
            line.contains("Amsterdam/Gloas")
                && line.contains("mainnet")
                && line.contains("2027-01-01 17:20:23 UTC")
                && line.ends_with("eth-clients/mainnet:metadata/config.yaml"),
            "{line}"
        );
    }

    #[test]
    fn notes_scheduling_a_fork_no_schedule_knows_give_a_deadline_and_disagreements_are_reported() {
        let s = Scenario::new("v8.0.0");
        s.gh.add_release("sigp/lighthouse", "v8.0.0");
        s.gh.add_release(
            "sigp/lighthouse",
            NewRelease::new("v9.0.0")
                .body("This release schedules the Heze hard fork on mainnet at epoch 600000.\n"),
        );
        let (report, err, code) = s.check(&[]);
        assert_eq!(code, 0, "{err}");
        let f = lighthouse(&report);
        assert_eq!(
            f["deadline"],
            serde_json::json!({"fork": "Heze", "network": "mainnet", "at": "2028-03-21T04:00:23Z", "release": "v9.0.0"}),
            "{f:#}"
        );
        // the network's config schedules it elsewhere: reported, not picked
        let cl =
            s.gh.with_state(|st| st.files["eth-clients/mainnet"][MAINNET_CL].clone())
                .replace(
                    "GLOAS_FORK_EPOCH: 18446744073709551615",
                    "GLOAS_FORK_EPOCH: 500000\nHEZE_FORK_EPOCH: 600100",
                );
        s.gh.set_file("eth-clients/mainnet", MAINNET_CL, Some(&cl));
        let (report, err, _) = s.check(&[]);
        let f = lighthouse(&report);
        assert!(
            f["codes"]
                .as_array()
                .unwrap()
                .contains(&Value::from("schedule-mismatch")),
            "{f:#}\n{err}"
        );
    }

    /// A hotfix after the release that schedules a fork carries the fork:
    /// the deadline names the release that schedules it, and `check` says
    /// the target carries it.
    #[test]
    fn a_hotfix_carries_the_fork_of_the_release_that_schedules_it() {
        let s = Scenario::new("v8.0.0");
        s.gh.add_release("sigp/lighthouse", "v8.0.0");
        s.gh.add_release(
            "sigp/lighthouse",
            NewRelease::new("v9.0.0")
                .body("This release schedules the Heze hard fork on mainnet at epoch 600000.\n"),
        );
        s.gh.add_release(
            "sigp/lighthouse",
            NewRelease::new("v9.0.1").body("Fixes a crash in the Heze fork logic.\n"),
        );
        let (report, err, code) = s.check(&[]);
        assert_eq!(code, 0, "{err}");
        let f = lighthouse(&report);
        assert_eq!(f["latest"], "v9.0.1");
        assert_eq!(f["deadline"]["fork"], "Heze", "{f:#}");
        assert_eq!(f["deadline"]["release"], "v9.0.0", "{f:#}");
        let (table, err, _) = s.run(&["check"], &[]);
        assert!(
            table.contains(
                "Heze on mainnet at 2028-03-21 04:00 UTC, v9.0.1 carries the Heze release v9.0.0"
            ),
            "{table}\n{err}"
        );
    }

    #[test]
    fn a_network_config_that_cannot_be_read_is_a_problem_and_the_shipped_schedule_works() {
        let s = Scenario::new("v7.1.0");
        s.gh.add_releases("sigp/lighthouse", ["v7.1.0", "v8.0.0"]);
        s.gh.set_file(
            "eth-clients/mainnet",
            MAINNET_CL,
            Some("PRESET_BASE: mainnet\nFULU_FORK_EPOCH: soon\n"),
        );
        s.gh.set_file("eth-clients/mainnet", "metadata/genesis.json", None);
        let (report, err, code) = s.check(&[("UPKEEP_NOW", "2025-11-20T00:00:00Z")]);
        assert_eq!(code, 0, "a source problem is not fatal: {err}");
        let warnings: Vec<&str> = report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .filter(|w| w.starts_with("schedule source"))
            .collect();
        assert_eq!(warnings.len(), 2, "{warnings:#?}");
        assert_eq!(
            warnings[0],
            "schedule source: eth-clients/mainnet:metadata/genesis.json: not found on GitHub (or not visible to this token); the shipped schedule is used",
        );
        assert!(
            warnings[1].starts_with(
                "schedule source eth-clients/mainnet:metadata/config.yaml:2:18: `FULU_FORK_EPOCH` is \"soon\""
            ),
            "{warnings:#?}"
        );
        assert!(
            err.contains("warning: schedule source eth-clients/mainnet:metadata/config.yaml:2:18"),
            "{err}"
        );
        // the shipped schedule still gives the Fusaka deadline
        let f = lighthouse(&report);
        assert_eq!(
            f["deadline"],
            serde_json::json!({"fork": "Fusaka", "network": "mainnet", "at": "2025-12-03T21:49:11Z", "release": "v8.0.0"}),
            "{f:#}"
        );
        // `rules schedule`: exit 3, the shipped schedule printed all the same
        let (out, err, code) = s.run(&["rules", "schedule"], &[]);
        assert_eq!(code, 3, "{err}");
        assert!(err.contains("config.yaml:2:18"), "{err}");
        assert!(
            out.lines().any(|l| l.starts_with("Fusaka")
                && l.contains("mainnet")
                && l.ends_with("rules/ethereum/forks.yml")),
            "{out}"
        );
    }
}
