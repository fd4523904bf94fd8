//! `upkeep check` end to end: the binary against the GitHub double (and a
//! real git remote over smart HTTP), with a state file kept between runs.

use std::path::PathBuf;

use serde_json::Value;

use crate::support::git_http::GitServer;
use crate::support::github::{GitHubDouble, NewRelease, Repo};
use crate::support::{stderr, stdout, upkeep_env};

const TOKEN: &str = "ghp_test_token_0123456789";
const HERMETIC_REGISTRIES: &str = "registries:\n  require_published: false\n  mirrors:\n    docker.io: http://127.0.0.1:9\n    ghcr.io: http://127.0.0.1:9\n    gcr.io: http://127.0.0.1:9\n    quay.io: http://127.0.0.1:9\n";

/// A deployment tree, a settings file, a state file and a GitHub double.
struct Scenario {
    dir: tempfile::TempDir,
    gh: GitHubDouble,
    token: Option<&'static str>,
}

impl Scenario {
    fn new() -> Scenario {
        Scenario::with(GitHubDouble::start())
    }

    fn with(gh: GitHubDouble) -> Scenario {
        let dir = tempfile::tempdir().unwrap();
        let s = Scenario {
            dir,
            gh,
            token: Some(TOKEN),
        };
        s.write(
            "upkeep.yml",
            "repositories:\n  - path: ./deploy\n    environments:\n      - name: hoodi\n        paths: [\"hoodi/**\"]\n        network: hoodi\n      - name: mainnet\n        paths: [\"mainnet/**\"]\n        network: mainnet\n",
        );
        s
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Writes a file of the scenario. Settings files get the registries
    /// pointed at a closed loopback port with `require_published: false`,
    /// so no test asks a real registry (see `tests/it/registry.rs` for the
    /// existence gate).
    fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        let text = if rel == "upkeep.yml" {
            format!("{text}{HERMETIC_REGISTRIES}")
        } else {
            text.to_string()
        };
        std::fs::write(p, text).unwrap();
    }

    /// Runs `upkeep check --format json` and returns (report, stderr, exit).
    fn check(&self, extra: &[&str]) -> (Value, String, i32) {
        let state = self.path("state.sqlite3");
        let cache = self.path("cache");
        let mut env = vec![
            ("UPKEEP_GITHUB_API_URL", self.gh.url()),
            ("UPKEEP_STATE", state.to_str().unwrap()),
            ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
        ];
        if let Some(t) = self.token {
            env.push(("UPKEEP_GITHUB_TOKEN", t));
        }
        let mut args = vec!["check", "--format", "json"];
        args.extend_from_slice(extra);
        let out = upkeep_env(self.dir.path(), &args, &env);
        let err = stderr(&out);
        let json = serde_json::from_str(&stdout(&out))
            .unwrap_or_else(|e| panic!("{e}: {}\n{err}", stdout(&out)));
        (json, err, out.status.code().unwrap())
    }
}

fn finding<'a>(report: &'a Value, image: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["image"] == image)
        .unwrap_or_else(|| panic!("no finding for {image} in {report:#}"))
}

fn seed_clients(gh: &GitHubDouble) {
    gh.add_releases(
        "sigp/lighthouse",
        ["v5.2.0", "v5.3.0", "v6.0.0", "v6.0.1", "v7.0.0"],
    );
    gh.add_release(
        "sigp/lighthouse",
        NewRelease::new("v7.1.0-rc.0").prerelease(),
    );
    gh.add_release("sigp/lighthouse", NewRelease::new("v7.1.0").draft());
    gh.add_releases("ethereum/go-ethereum", ["v1.14.11", "v1.14.12", "v1.15.0"]);
    gh.add_releases("status-im/nimbus-eth2", ["v25.3.0", "v25.4.1"]);
}

fn seed_deploy(s: &Scenario) {
    s.write(
        "deploy/hoodi/values.yaml",
        "lighthouse:\n  image:\n    repository: sigp/lighthouse\n    tag: v5.3.0-modern\ngeth:\n  image: ethereum/client-go:v1.15.0\n",
    );
    s.write(
        "deploy/mainnet/docker-compose.yml",
        "services:\n  cl:\n    image: statusim/nimbus-eth2:multiarch-v25.3.0\n  el:\n    image: ethereum/client-go:v1.14.11\n  other:\n    image: acme/unknown:v1.0.0\n  moving:\n    image: sigp/lighthouse:latest\n",
    );
}

#[test]
fn first_check_reports_outdated_references_per_environment() {
    let s = Scenario::new();
    seed_clients(&s.gh);
    seed_deploy(&s);
    let (report, err, code) = s.check(&[]);
    assert_eq!(code, 0, "{err}");
    let lh = finding(&report, "sigp/lighthouse");
    assert_eq!(lh["current"], "v5.3.0-modern");
    assert_eq!(lh["latest"], "v7.0.0", "no draft, no pre-release");
    assert_eq!(lh["target_tag"], "v7.0.0-modern", "the variant is kept");
    assert_eq!(lh["behind"], 3);
    assert_eq!(lh["environment"], "hoodi");
    assert_eq!(lh["network"], "hoodi");
    assert_eq!(lh["file"], "hoodi/values.yaml");
    assert_eq!(lh["line"], 4);
    assert_eq!(lh["upstream"], "sigp/lighthouse");
    let nimbus = finding(&report, "statusim/nimbus-eth2");
    assert_eq!(nimbus["target_tag"], "multiarch-v25.4.1");
    assert_eq!(nimbus["environment"], "mainnet");
    let geth: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["image"] == "ethereum/client-go")
        .collect();
    assert_eq!(geth.len(), 1, "the hoodi geth is up to date");
    assert_eq!(geth[0]["behind"], 2);
    assert_eq!(report["up_to_date"], 1);
    let reasons: Vec<(&str, &str)> = report["unchecked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["image"].as_str().unwrap(), u["reason"].as_str().unwrap()))
        .collect();
    assert!(
        reasons.contains(&("acme/unknown", "untracked")),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&("sigp/lighthouse", "moving-tag")),
        "{reasons:?}"
    );
    // most urgent first: the mainnet geth missed Pectra (below its minimum
    // version), then the most releases behind
    assert_eq!(report["findings"][0]["image"], "ethereum/client-go");
    assert_eq!(report["findings"][0]["deadline"]["fork"], "Pectra");
    assert_eq!(report["findings"][1]["image"], "sigp/lighthouse");
    assert!(!err.contains(TOKEN));
}

#[test]
fn a_warm_check_costs_no_rate_limit_and_a_new_release_is_picked_up() {
    let s = Scenario::new();
    seed_clients(&s.gh);
    seed_deploy(&s);
    let (cold, err, code) = s.check(&[]);
    assert_eq!(code, 0, "{err}");
    s.gh.clear_requests();
    let (warm, err, code) = s.check(&[]);
    assert_eq!(code, 0, "{err}");
    let stats = s.gh.stats();
    assert_eq!(stats.charged, 0, "warm cycle: {stats:?}");
    // one 304 per upstream, and per network config of the fork schedule
    // (hoodi and mainnet: `config.yaml` and `genesis.json`)
    assert_eq!(stats.by_operation["repos/list-releases"], 3, "{stats:?}");
    assert_eq!(stats.by_operation["repos/get-content"], 4, "{stats:?}");
    assert_eq!(stats.not_modified, 3 + 4, "all unchanged: {stats:?}");
    assert_eq!(cold["findings"], warm["findings"]);

    s.gh.add_release("sigp/lighthouse", "v7.0.1");
    let (after, err, _) = s.check(&[]);
    let lh = finding(&after, "sigp/lighthouse");
    assert_eq!(lh["target_tag"], "v7.0.1-modern", "{err}");
    assert_eq!(lh["behind"], 4);
}

#[test]
fn pagination_past_one_hundred_releases() {
    let s = Scenario::new();
    s.gh.add_releases(
        "ethereum/go-ethereum",
        (0..250).map(|i| format!("v1.{i}.0")),
    );
    s.write(
        "deploy/mainnet/geth.yaml",
        "image: ethereum/client-go:v1.10.0\n",
    );
    let (report, err, code) = s.check(&[]);
    assert_eq!(code, 0, "{err}");
    let geth = finding(&report, "ethereum/client-go");
    assert_eq!(geth["latest"], "v1.249.0");
    assert_eq!(geth["behind"], 239, "releases on pages 1 to 3 are counted");
    assert_eq!(s.gh.stats().by_operation["repos/list-releases"], 3);
}

#[test]
fn secondary_limits_and_server_errors_are_waited_out() {
    let s = Scenario::new();
    seed_clients(&s.gh);
    seed_deploy(&s);
    s.gh.secondary_limit_next(1, 429, 1);
    s.gh.fail_next("/repos/sigp/lighthouse/releases", 2, 502);
    let (report, err, code) = s.check(&["-v"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(finding(&report, "sigp/lighthouse")["latest"], "v7.0.0");
    assert!(!err.contains("error:"), "{err}");
    assert!(err.contains("GitHub server error; retrying"), "{err}");
    assert!(
        err.contains("GitHub secondary rate limit; waiting as told"),
        "{err}"
    );
}

#[test]
fn a_failing_upstream_is_reported_and_the_others_are_checked() {
    let s = Scenario::new();
    seed_clients(&s.gh);
    seed_deploy(&s);
    s.gh.break_repo("status-im/nimbus-eth2");
    let (report, err, code) = s.check(&[]);
    assert_eq!(code, 3, "partial failure");
    assert_eq!(report["failures"][0]["subject"], "status-im/nimbus-eth2");
    assert!(
        err.contains("error: status-im/nimbus-eth2: GitHub answered 502"),
        "{err}"
    );
    assert_eq!(finding(&report, "sigp/lighthouse")["latest"], "v7.0.0");
    let nimbus_unchecked = report["unchecked"]
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["image"] == "statusim/nimbus-eth2" && u["reason"] == "upstream-failed");
    assert!(nimbus_unchecked, "{report:#}");
}

#[test]
fn anonymous_checks_work_and_exhaustion_is_explained() {
    let mut s = Scenario::new();
    s.token = None;
    seed_clients(&s.gh);
    seed_deploy(&s);
    let (report, err, code) = s.check(&[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        finding(&report, "sigp/lighthouse")["latest"],
        "v7.0.0",
        "drafts are not visible anyway"
    );
    let reqs = s.gh.requests();
    assert!(
        reqs.iter().all(|r| !r.authorized),
        "no Authorization header sent"
    );

    s.gh.set_rate_limit(
        crate::support::github::Caller::Anonymous,
        0,
        std::time::Duration::from_secs(3600),
    );
    let (_, err, code) = s.check(&[]);
    assert_eq!(code, 4, "nothing could be checked: {err}");
    assert!(
        err.contains("rate limit exhausted (60 requests/hour for anonymous requests)"),
        "{err}"
    );
    assert!(err.contains("set UPKEEP_GITHUB_TOKEN"), "{err}");
}

#[test]
fn github_enterprise_base_path() {
    let s = Scenario::with(GitHubDouble::start_enterprise());
    seed_clients(&s.gh);
    seed_deploy(&s);
    assert!(s.gh.url().ends_with("/api/v3"));
    let (report, err, code) = s.check(&[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(finding(&report, "sigp/lighthouse")["latest"], "v7.0.0");
}

#[test]
fn fail_on_outdated_gates_ci() {
    let s = Scenario::new();
    seed_clients(&s.gh);
    seed_deploy(&s);
    let (_, _, code) = s.check(&["--fail-on", "outdated"]);
    assert_eq!(code, 1);
    let (_, _, code) = s.check(&["--fail-on", "security"]);
    assert_eq!(code, 0, "no security finding");
}

#[test]
fn table_and_markdown_formats() {
    let s = Scenario::new();
    seed_clients(&s.gh);
    seed_deploy(&s);
    let state = s.path("state.sqlite3");
    let env = [
        ("UPKEEP_GITHUB_API_URL", s.gh.url()),
        ("UPKEEP_STATE", state.to_str().unwrap()),
        ("UPKEEP_GITHUB_TOKEN", TOKEN),
    ];
    let out = upkeep_env(s.dir.path(), &["check"], &env);
    let table = stdout(&out);
    assert!(table.starts_with("LOCATION"), "{table}");
    let header = table.lines().next().unwrap_or_default();
    assert!(header.contains("BEHIND  PRIORITY  NOTES"), "{table}");
    assert!(table.contains("hoodi/values.yaml:4"), "{table}");
    assert!(table.contains("v5.3.0-modern"), "{table}");
    assert!(
        table
            .trim_end()
            .ends_with("3 outdated, 1 up to date, 2 not checked (1 moving-tag, 1 untracked)"),
        "{table}"
    );
    // the untracked image, and the settings that would track it
    let err = stderr(&out);
    assert!(
        err.contains("note: 1 untracked image (no upstream in the catalog or the settings releases it):\n  acme/unknown  mainnet/docker-compose.yml:7\n"),
        "{err}"
    );
    assert!(
        err.ends_with("note: to track acme/unknown, add to upkeep.yml (OWNER/NAME: the GitHub repository that releases it):\nupstreams:\n  - github: OWNER/NAME\n    images:\n      - name: acme/unknown\n"),
        "{err}"
    );
    let out = upkeep_env(s.dir.path(), &["check", "--format", "markdown"], &env);
    let md = stdout(&out);
    assert!(md.starts_with("| Location | Environment | Image |"), "{md}");
    assert!(md.contains("| `hoodi/values.yaml:4` | hoodi | `sigp/lighthouse` | `v5.3.0-modern` | `v7.0.0-modern` | 3 |"), "{md}");
}

/// A deployment repository on "GitHub": the double answers the API, a real
/// git remote (smart HTTP with basic auth) serves the clone.
fn remote_scenario(server: &GitServer) -> Scenario {
    let s = Scenario::new();
    seed_clients(&s.gh);
    let url = server.create_repo(
        "deploy",
        &[(
            "envs/mainnet/values.yaml",
            "image:\n  repository: sigp/lighthouse\n  tag: v6.0.0\n",
        )],
    );
    s.gh.add_repo(
        Repo::new("acme/deploy")
            .default_branch("main")
            .clone_url(&url),
    );
    s.write(
        "upkeep.yml",
        "repositories:\n  - github: acme/deploy\n    environments:\n      - name: mainnet\n        paths: [\"envs/mainnet/**\"]\n        network: mainnet\n",
    );
    s
}

#[test]
fn github_repositories_are_fetched_with_git_over_smart_http() {
    let server = GitServer::start("x-access-token", TOKEN);
    let s = remote_scenario(&server);
    let (report, err, code) = s.check(&[]);
    assert_eq!(code, 0, "{err}");
    let lh = finding(&report, "sigp/lighthouse");
    assert_eq!(lh["repository"], "acme/deploy");
    assert_eq!(lh["file"], "envs/mainnet/values.yaml");
    assert_eq!(lh["behind"], 2);
    // a new commit is seen on the next run (the cache is updated)
    server.commit(
        "deploy",
        &[(
            "envs/mainnet/values.yaml",
            "image:\n  repository: sigp/lighthouse\n  tag: v7.0.0\n",
        )],
        "bump",
    );
    let (report, err, _) = s.check(&[]);
    assert_eq!(
        report["findings"].as_array().unwrap().len(),
        0,
        "{report:#} {err}"
    );
    assert_eq!(report["up_to_date"], 1);
}

#[test]
fn a_wrong_token_for_git_is_a_clear_error_without_the_token() {
    let server = GitServer::start("x-access-token", "the-right-token");
    let s = remote_scenario(&server);
    let (report, err, code) = s.check(&[]);
    assert_eq!(code, 4, "nothing could be checked: {err}");
    assert_eq!(report["failures"][0]["subject"], "acme/deploy");
    let message = report["failures"][0]["error"].as_str().unwrap();
    assert!(
        message.starts_with("authentication failed for http://127.0.0.1:"),
        "{message}"
    );
    assert!(!err.contains(TOKEN) && !message.contains(TOKEN));
}

/// 50 upstreams × 1 repository with 500 references: the cold cycle reads
/// every upstream once, the warm one costs no rate limit at all. Prints
/// requests and wall time (`benches/check-cycle.sh` runs it in release).
#[test]
fn fifty_upstreams_and_five_hundred_references_cold_and_warm() {
    let s = Scenario::new();
    let mut settings = String::from("repositories:\n  - path: ./deploy\nupstreams:\n");
    for u in 0..50 {
        s.gh.add_releases(
            &format!("acme/node-{u}"),
            (0..20).map(|i| format!("v1.{i}.0")),
        );
        settings.push_str(&format!(
            "  - github: acme/node-{u}\n    images:\n      - name: ghcr.io/acme/node-{u}\n        tag: \"v{{version}}\"\n"
        ));
        let mut values = String::new();
        for r in 0..10 {
            values.push_str(&format!(
                "svc{r}:\n  image:\n    repository: ghcr.io/acme/node-{u}\n    tag: v1.{r}.0\n"
            ));
        }
        s.write(&format!("deploy/node-{u}/values.yaml"), &values);
    }
    s.write("upkeep.yml", &settings);
    let started = std::time::Instant::now();
    let (cold, err, code) = s.check(&[]);
    let cold_time = started.elapsed();
    assert_eq!(code, 0, "{err}");
    assert_eq!(cold["findings"].as_array().unwrap().len(), 500);
    let cold_stats = s.gh.stats();
    assert_eq!(cold_stats.by_operation["repos/list-releases"], 50);
    s.gh.clear_requests();
    let started = std::time::Instant::now();
    let (warm, err, code) = s.check(&[]);
    let warm_time = started.elapsed();
    assert_eq!(code, 0, "{err}");
    let warm_stats = s.gh.stats();
    assert_eq!(warm_stats.charged, 0);
    // one 304 per upstream, and per network config of the fork schedule
    let schedule_sources = warm_stats
        .by_operation
        .get("repos/get-content")
        .copied()
        .unwrap_or(0);
    assert_eq!(warm_stats.not_modified, 50 + schedule_sources);
    assert_eq!(cold["findings"], warm["findings"]);
    eprintln!(
        "check of 50 upstreams x 500 references: cold {} requests ({} charged) in {:.2?}; warm {} requests ({} charged, {} x 304) in {:.2?}",
        cold_stats.total,
        cold_stats.charged,
        cold_time,
        warm_stats.total,
        warm_stats.charged,
        warm_stats.not_modified,
        warm_time
    );
}

/// The rule engine's verdicts reach the findings: a missed fork from the
/// schedule (overdue), breaking changes and a security fix from the notes of
/// the releases in between; `--fail-on deadline` gates on them.
#[test]
fn findings_carry_fork_deadlines_breaking_changes_and_security_fixes() {
    let s = Scenario::new();
    s.gh.add_release("sigp/lighthouse", "v5.3.0");
    s.gh.add_release(
        "sigp/lighthouse",
        NewRelease::new("v6.0.0").body(
            "## Breaking Changes\n\n- The `--http-allow-sync-stalled` flag has been removed.\n",
        ),
    );
    s.gh.add_release(
        "sigp/lighthouse",
        NewRelease::new("v8.0.1").body("## Security\n\nThis release fixes CVE-2025-12345, a denial of service in the P2P layer.\n"),
    );
    s.write(
        "deploy/mainnet/values.yaml",
        "image:\n  repository: sigp/lighthouse\n  tag: v5.3.0\n",
    );
    let (report, err, code) = s.check(&[]);
    assert_eq!(code, 0, "{err}");
    let lh = finding(&report, "sigp/lighthouse");
    let codes: Vec<&str> = lh["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    for code in ["hard-fork", "overdue", "breaking-change", "security-fix"] {
        assert!(codes.contains(&code), "{code} missing in {codes:?}");
    }
    assert_eq!(
        lh["deadline"],
        serde_json::json!({"fork": "Fusaka", "network": "mainnet", "at": "2025-12-03T21:49:11Z"})
    );
    assert!(
        lh["breaking"][0]
            .as_str()
            .unwrap()
            .contains("--http-allow-sync-stalled"),
        "{lh:#}"
    );
    let (_, _, code) = s.check(&["--fail-on", "deadline"]);
    assert_eq!(code, 1);
    let (_, _, code) = s.check(&["--fail-on", "security"]);
    assert_eq!(code, 1);
}

/// `rules.directories` in the settings add rule files to the shipped ones;
/// a broken one stops the check with its file, line and column.
#[test]
fn rule_directories_from_the_settings_extend_the_engine() {
    let s = Scenario::new();
    s.gh.add_release("sigp/lighthouse", "v6.0.0");
    s.gh.add_release(
        "sigp/lighthouse",
        NewRelease::new("v6.1.0").body("Our flux capacitor is now optional.\n"),
    );
    s.write(
        "deploy/hoodi/values.yaml",
        "image:\n  repository: sigp/lighthouse\n  tag: v6.0.0\n",
    );
    let (report, err, _) = s.check(&[]);
    let codes = finding(&report, "sigp/lighthouse")["codes"].clone();
    assert!(
        !codes.to_string().contains("breaking-change"),
        "{codes} {err}"
    );

    s.write(
        "team-rules/flux.yml",
        "version: 1\nrules:\n  - id: flux-capacitor\n    description: The flux capacitor is our contract.\n    scope: sentence\n    any:\n      - phrase: flux capacitor\n    codes: [breaking-change]\n    breaking_item: true\n",
    );
    let settings = std::fs::read_to_string(s.path("upkeep.yml")).unwrap();
    std::fs::write(
        s.path("upkeep.yml"),
        format!("{settings}rules:\n  directories: [team-rules]\n"),
    )
    .unwrap();
    let (report, err, code) = s.check(&[]);
    assert_eq!(code, 0, "{err}");
    let lh = finding(&report, "sigp/lighthouse");
    assert!(
        lh["codes"].to_string().contains("breaking-change"),
        "{lh:#}"
    );
    assert_eq!(lh["breaking"][0], "Our flux capacitor is now optional");

    s.write(
        "team-rules/flux.yml",
        "version: 1\nrules:\n  - id: x\n    colour: red\n",
    );
    let out = crate::support::upkeep_env(
        s.dir.path(),
        &["check"],
        &[("UPKEEP_GITHUB_API_URL", s.gh.url())],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("flux.yml:4:5"), "{err}");
}

/// Anonymous checks read one page of releases per upstream: the budget is
/// 60 requests an hour.
#[test]
fn anonymous_checks_read_one_page_per_upstream() {
    let mut s = Scenario::new();
    s.token = None;
    s.gh.add_releases(
        "ethereum/go-ethereum",
        (0..250).map(|i| format!("v1.{i}.0")),
    );
    s.write(
        "deploy/mainnet/geth.yaml",
        "image: ethereum/client-go:v1.200.0\n",
    );
    let (report, err, code) = s.check(&[]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(finding(&report, "ethereum/client-go")["latest"], "v1.249.0");
    assert_eq!(s.gh.stats().by_operation["repos/list-releases"], 1);
}

/// The state store is a cache: a broken one is moved aside (named in a
/// warning) and the check goes on with a fresh one.
#[test]
fn a_broken_state_store_is_moved_aside_and_the_check_succeeds() {
    for case in ["garbage", "truncated", "directory"] {
        let s = Scenario::new();
        seed_clients(&s.gh);
        seed_deploy(&s);
        let state = s.path("state.sqlite3");
        match case {
            "garbage" => std::fs::write(&state, "not a database\n".repeat(500)).unwrap(),
            "truncated" => {
                let (_, err, code) = s.check(&[]);
                assert_eq!(code, 0, "{err}");
                for suffix in ["-wal", "-shm"] {
                    let _ = std::fs::remove_file(s.path(&format!("state.sqlite3{suffix}")));
                }
                let len = std::fs::metadata(&state).unwrap().len();
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&state)
                    .unwrap();
                f.set_len(len / 2).unwrap();
            }
            _ => std::fs::create_dir(&state).unwrap(),
        }
        let (report, err, code) = s.check(&[]);
        assert_eq!(code, 0, "{case}: {err}");
        assert_eq!(finding(&report, "sigp/lighthouse")["behind"], 3, "{case}");
        let moved: Vec<String> = std::fs::read_dir(s.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| {
                n.starts_with("state.sqlite3.broken-")
                    && !n.ends_with("-wal")
                    && !n.ends_with("-shm")
            })
            .collect();
        assert_eq!(moved.len(), 1, "{case}: {moved:?}");
        assert!(
            err.contains(&moved[0]),
            "{case}: the warning names it: {err}"
        );
        assert!(state.is_file(), "{case}: a fresh store");
    }
}

#[test]
fn a_check_whose_upstreams_all_fail_says_so_and_exits_4() {
    let s = Scenario::new();
    seed_clients(&s.gh);
    seed_deploy(&s);
    for upstream in [
        "sigp/lighthouse",
        "ethereum/go-ethereum",
        "status-im/nimbus-eth2",
    ] {
        s.gh.fail_next(&format!("/repos/{upstream}/releases"), 50, 502);
    }
    let (_, err, code) = s.check(&[]);
    assert_eq!(code, 4, "nothing could be checked: {err}");
    assert!(err.contains("no reference could be checked"), "{err}");
    assert!(err.contains("upstream releases could not be read"), "{err}");
}
