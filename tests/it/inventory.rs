//! `upkeep inventory` end to end (a fixture fleet on the GitHub double and
//! a smart-HTTP git remote) in every format, and the Prometheus text
//! checked by `promtool check metrics` (Debian's `prometheus`).
//!
//! [`Fleet`] is shared with `notify.rs`.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use upkeep::domain::evaluate::Deadline;
use upkeep::domain::inventory::{self, Entry, Inventory, Status};

use crate::support::git_http::GitServer;
use crate::support::github::{Caller, GitHubDouble, NewRelease, Repo};
use crate::support::{stderr, stdout, upkeep_env};

pub const TOKEN: &str = "ghp_fleet_token_0123456789";
pub const REPO: &str = "acme/deploy";

const MAINNET_VALUES: &str = "\
beacon:
  image:
    repository: ghcr.io/acme/beacon
    tag: v1.2.0
exec:
  image: acme/exec:24.10.1
";
const MAINNET_VALIDATOR: &str = "image: ghcr.io/acme/beacon:v1.2.0\n";
const HOODI_COMPOSE: &str = "\
services:
  cl:
    image: ghcr.io/acme/beacon:v2.0.0
  el:
    image: acme/exec:24.10.1
  other:
    image: acme/unknown:v1.0.0
  moving:
    image: ghcr.io/acme/beacon:latest
";

/// A deployment repository `acme/deploy` (mainnet and hoodi environments)
/// on a git remote and the GitHub double, running two upstreams of its own
/// (`acme/beacon`, semver, and `acme/exec`, calver) whose releases were
/// published days before now, so that "days behind" is stable.
pub struct Fleet {
    pub dir: tempfile::TempDir,
    pub gh: GitHubDouble,
    /// Serves `deploy.git` for as long as the fleet lives.
    #[allow(dead_code)]
    pub git: GitServer,
}

fn days_ago(days: i64) -> String {
    (Utc::now() - chrono::Duration::days(days)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl Fleet {
    pub fn new() -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        let gh = GitHubDouble::start();
        let git = GitServer::start("x-access-token", TOKEN);
        git.create_repo(
            "deploy",
            &[
                ("envs/mainnet/values.yaml", MAINNET_VALUES),
                ("envs/mainnet/validator.yaml", MAINNET_VALIDATOR),
                ("envs/hoodi/docker-compose.yml", HOODI_COMPOSE),
            ],
        );
        gh.add_repo(
            Repo::new(REPO)
                .default_branch("main")
                .served_by(&git, "deploy"),
        );
        gh.set_login(Caller::Token(TOKEN), "upkeep[bot]");
        for (repo, tag, days) in [
            ("acme/beacon", "v1.2.0", 60),
            ("acme/beacon", "v1.3.0", 40),
            ("acme/beacon", "v2.0.0", 10),
            ("acme/exec", "24.10.1", 50),
            ("acme/exec", "25.1.0", 20),
        ] {
            let at = days_ago(days);
            gh.add_release(repo, NewRelease::new(tag).created_at(&at).published_at(&at));
        }
        let f = Fleet { dir, gh, git };
        f.settings("");
        f
    }

    /// Writes `upkeep.yml` with `extra` YAML appended.
    pub fn settings(&self, extra: &str) -> PathBuf {
        let text = format!(
            "repositories:
  - github: {REPO}
    environments:
      - name: mainnet
        paths: [\"envs/mainnet/**\"]
        network: mainnet
        wave: 2
      - name: hoodi
        paths: [\"envs/hoodi/**\"]
        network: hoodi
upstreams:
  - github: acme/beacon
    images:
      - name: ghcr.io/acme/beacon
        tag: \"v{{version}}\"
  - github: acme/exec
    versioning: calver
    images:
      - name: acme/exec
registries:
  require_published: false
  mirrors:
    docker.io: http://127.0.0.1:9
    ghcr.io: http://127.0.0.1:9
{extra}"
        );
        let path = self.dir.path().join("upkeep.yml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Runs upkeep with the double, the token, a state file and a cache in
    /// the fleet's directory, plus `env`; `(stdout, stderr, exit code)`.
    pub fn upkeep(&self, args: &[&str], env: &[(&str, &str)]) -> (String, String, i32) {
        let state = self.dir.path().join("state.sqlite3");
        let cache = self.dir.path().join("cache");
        let mut all = vec![
            ("UPKEEP_GITHUB_API_URL", self.gh.url()),
            ("UPKEEP_GITHUB_TOKEN", TOKEN),
            ("UPKEEP_STATE", state.to_str().unwrap()),
            ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
        ];
        all.extend_from_slice(env);
        let out = upkeep_env(self.dir.path(), args, &all);
        let (o, e) = (stdout(&out), stderr(&out));
        assert!(!o.contains(TOKEN) && !e.contains(TOKEN), "token leaked");
        (o, e, out.status.code().unwrap())
    }
}

/// Runs `promtool check metrics` on `text`: it must parse and lint clean.
pub fn promtool_check(text: &str) {
    let found = Command::new("sh")
        .args(["-c", "command -v promtool"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "`promtool` is not installed: the metrics tests need it (apt-get install -y prometheus; .ci/run does this)"
    );
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
        "promtool check metrics: {}\n{}{}\n{text}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every sample line names a distinct series.
fn assert_unique_series(text: &str) {
    let mut seen = std::collections::BTreeSet::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let series = line.rsplit_once(' ').unwrap().0;
        assert!(seen.insert(series.to_string()), "duplicate series {series}");
    }
}

#[test]
fn inventory_of_a_fleet_in_every_format() {
    let f = Fleet::new();
    let (table, err, code) = f.upkeep(&["inventory"], &[]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("fleet_table", table);

    let (json, err, code) = f.upkeep(&["inventory", "--format", "json"], &[]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&json).unwrap();
    let refs = v["references"].as_array().unwrap();
    assert_eq!(refs.len(), 7, "{json}");
    let beacon = refs
        .iter()
        .find(|r| r["file"] == "envs/mainnet/values.yaml" && r["image"] == "ghcr.io/acme/beacon")
        .unwrap();
    assert_eq!(beacon["behind"], 2);
    assert_eq!(
        beacon["days_behind"], 40,
        "from v1.3.0, the first release after v1.2.0"
    );
    assert_eq!(beacon["latest"], "v2.0.0");
    insta::assert_json_snapshot!("fleet_json", v);

    let (md, err, code) = f.upkeep(&["inventory", "--format", "markdown"], &[]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("fleet_markdown", md);

    let (prom, err, code) = f.upkeep(&["inventory", "--format", "prometheus"], &[]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("fleet_prometheus", prom);
    promtool_check(&prom);
    assert_unique_series(&prom);
    // the two mainnet beacon references at v1.2.0 are two files: two series
    assert!(prom.contains(
        "upkeep_releases_behind{repository=\"acme/deploy\",file=\"envs/mainnet/validator.yaml\",environment=\"mainnet\",network=\"mainnet\",image=\"ghcr.io/acme/beacon\"} 2\n"
    ));
}

#[test]
fn a_failing_repository_is_reported_and_the_rest_listed() {
    let f = Fleet::new();
    f.settings("");
    let text = std::fs::read_to_string(f.dir.path().join("upkeep.yml")).unwrap();
    let text = text.replacen(
        "repositories:\n",
        "repositories:\n  - github: acme/missing\n",
        1,
    );
    std::fs::write(f.dir.path().join("upkeep.yml"), text).unwrap();
    let (json, err, code) = f.upkeep(&["inventory", "--format", "json"], &[]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("acme/missing"), "{err}");
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["references"].as_array().unwrap().len(), 7);
    assert_eq!(v["failures"][0]["subject"], "acme/missing");
}

fn at(ts: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(ts, 0).unwrap()
}

fn entry(file: &str, image: &str, current: &str, behind: usize) -> Entry {
    Entry {
        repository: "acme/deploy".into(),
        file: file.into(),
        line: 3,
        environment: Some("mainnet".into()),
        network: Some("mainnet".into()),
        image: image.into(),
        current: Some(current.into()),
        upstream: Some("sigp/lighthouse".into()),
        latest: Some("v7.0.0".into()),
        target_tag: Some("v7.0.0".into()),
        behind: Some(behind),
        days_behind: Some(12),
        deadline: None,
        status: Status::Outdated,
        reason: None,
        desired: None,
        live: None,
    }
}

#[test]
fn prometheus_labels_are_escaped_duplicates_merged_and_the_text_parses() {
    let mut hostile = entry(
        "weird \"dir\"\\x\nvalues.yaml",
        "sigp/lighthouse",
        "v6.0.0",
        3,
    );
    hostile.environment = None;
    hostile.network = None;
    hostile.deadline = Some(Deadline {
        fork: "Fu\"saka".into(),
        network: "mainnet".into(),
        at: at(1_764_798_551),
        release: None,
    });
    let mut twin_a = entry("values.yaml", "sigp/lighthouse", "v6.0.0", 2);
    twin_a.line = 4;
    twin_a.deadline = Some(Deadline {
        fork: "Fusaka".into(),
        network: "mainnet".into(),
        at: at(1_764_798_551),
        release: None,
    });
    let mut twin_b = entry("values.yaml", "sigp/lighthouse", "v6.0.0", 5);
    twin_b.line = 9;
    twin_b.deadline = Some(Deadline {
        fork: "Fusaka".into(),
        network: "mainnet".into(),
        at: at(1_764_000_000),
        release: None,
    });
    let mut unchecked = entry("compose.yml", "acme/unknown", "v1", 0);
    unchecked.upstream = None;
    unchecked.latest = None;
    unchecked.behind = None;
    unchecked.status = Status::Unchecked;
    unchecked.reason = Some("untracked".into());
    let inv = Inventory {
        references: vec![hostile, twin_a, twin_b, unchecked],
        failures: Vec::new(),
    };
    let text = inventory::to_prometheus(&inv);
    promtool_check(&text);
    assert_unique_series(&text);
    assert!(
        text.contains(r#"upkeep_reference_info{repository="acme/deploy",file="weird \"dir\"\\x\nvalues.yaml",environment="",network="",image="sigp/lighthouse",current="v6.0.0",latest="v7.0.0"} 1"#),
        "{text}"
    );
    // one series for the twins: the most behind, the earliest deadline
    assert!(text.contains("file=\"values.yaml\",environment=\"mainnet\",network=\"mainnet\",image=\"sigp/lighthouse\"} 5\n"), "{text}");
    assert!(
        text.contains("image=\"sigp/lighthouse\",fork=\"Fusaka\"} 1764000000\n"),
        "{text}"
    );
    assert!(text.contains("fork=\"Fu\\\"saka\"} 1764798551\n"), "{text}");
    // an unchecked reference has info, no releases-behind gauge
    assert!(
        text.contains("image=\"acme/unknown\",current=\"v1\",latest=\"\"} 1"),
        "{text}"
    );
    assert!(
        !text.contains("upkeep_releases_behind{repository=\"acme/deploy\",file=\"compose.yml\""),
        "{text}"
    );
    for name in [
        "upkeep_reference_info",
        "upkeep_releases_behind",
        "upkeep_deadline_timestamp_seconds",
    ] {
        assert!(text.contains(&format!("# HELP {name} ")), "{name}");
        assert!(text.contains(&format!("# TYPE {name} gauge\n")), "{name}");
    }
    // an empty inventory is still valid exposition text
    promtool_check(&inventory::to_prometheus(&Inventory::default()));
}

#[test]
fn markdown_cells_cannot_break_the_table() {
    let mut e = entry("a|b.yaml", "x/y", "v1|2", 1);
    e.environment = Some("env|x".into());
    let md = inventory::to_markdown(&Inventory {
        references: vec![e],
        failures: Vec::new(),
    });
    let row = md.lines().nth(2).unwrap();
    assert_eq!(row.matches(" | ").count() + 2, 12, "{row}");
    assert!(row.contains("env\\|x"), "{row}");
}

/// A local deployment tree with three environments: hoodi and sepolia
/// verified live (by namespace), mainnet not.
const LIVE_SETTINGS: &str = "\
repositories:
  - path: ./deploy
    environments:
      - name: hoodi
        paths: [\"hoodi/**\"]
        network: hoodi
        live:
          selector: '{namespace=\"hoodi\"}'
      - name: sepolia
        paths: [\"sepolia/**\"]
        network: sepolia
        live:
          selector: '{namespace=\"sepolia\"}'
      - name: mainnet
        paths: [\"mainnet/**\"]
        network: mainnet
upstreams:
  - github: acme/beacon
    images:
      - name: ghcr.io/acme/beacon
        tag: \"v{version}\"
  - github: acme/exec
    versioning: calver
    images:
      - name: acme/exec
registries:
  require_published: false
  mirrors:
    docker.io: http://127.0.0.1:9
    ghcr.io: http://127.0.0.1:9
";

/// Hoodi's pods: 8 beacons, `new` of them on the desired v2.0.0 and the
/// rest on v1.3.0, and 2 exec containers on the desired 24.10.1 (written
/// with the registry host, pulled by digest). Nothing in sepolia.
pub fn hoodi_pods(new: usize) -> String {
    use crate::support::prometheus::kube_pod_container_info;
    let mut text = String::new();
    for i in 0..8 {
        let (tag, hex) = if i < new {
            ("v2.0.0", "2")
        } else {
            ("v1.3.0", "1")
        };
        text.push_str(&kube_pod_container_info(
            "hoodi",
            &format!("beacon-{i}"),
            "beacon",
            &format!("ghcr.io/acme/beacon:{tag}"),
            &format!("ghcr.io/acme/beacon@sha256:{}", hex.repeat(64)),
        ));
    }
    for i in 0..2 {
        text.push_str(&kube_pod_container_info(
            "hoodi",
            &format!("exec-{i}"),
            "exec",
            "docker.io/acme/exec:24.10.1",
            &format!("docker-pullable://acme/exec@sha256:{}", "e".repeat(64)),
        ));
    }
    text
}

/// A local `path:` deployment tree verified live against `prometheus_url`
/// (see [`LIVE_SETTINGS`]), with its upstreams' releases on the GitHub
/// double. Shared with `serve.rs`.
pub struct LiveFleet {
    pub dir: tempfile::TempDir,
    pub gh: GitHubDouble,
}

impl LiveFleet {
    /// `extra` YAML is appended to the settings.
    pub fn new(prometheus_url: &str, extra: &str) -> LiveFleet {
        let dir = tempfile::tempdir().unwrap();
        for (file, text) in [
            (
                "deploy/hoodi/values.yaml",
                "beacon:\n  image: ghcr.io/acme/beacon:v2.0.0\nexec:\n  image: acme/exec:24.10.1\n",
            ),
            (
                "deploy/sepolia/values.yaml",
                "beacon:\n  image: ghcr.io/acme/beacon:v2.0.0\n",
            ),
            (
                "deploy/mainnet/values.yaml",
                "beacon:\n  image: ghcr.io/acme/beacon:v1.3.0\n",
            ),
        ] {
            let p = dir.path().join(file);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        std::fs::write(
            dir.path().join("upkeep.yml"),
            format!("{LIVE_SETTINGS}prometheus:\n  url: {prometheus_url}\n{extra}"),
        )
        .unwrap();
        let gh = GitHubDouble::start();
        gh.set_login(Caller::Token(TOKEN), "upkeep[bot]");
        for (repo, tag, days) in [
            ("acme/beacon", "v1.3.0", 40),
            ("acme/beacon", "v2.0.0", 10),
            ("acme/exec", "24.10.1", 50),
        ] {
            let at = days_ago(days);
            gh.add_release(repo, NewRelease::new(tag).created_at(&at).published_at(&at));
        }
        LiveFleet { dir, gh }
    }

    fn upkeep(&self, args: &[&str]) -> (String, String, i32) {
        let state = self.dir.path().join("state.sqlite3");
        let cache = self.dir.path().join("cache");
        let out = upkeep_env(
            self.dir.path(),
            args,
            &[
                ("UPKEEP_GITHUB_API_URL", self.gh.url()),
                ("UPKEEP_GITHUB_TOKEN", TOKEN),
                ("UPKEEP_STATE", state.to_str().unwrap()),
                ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
            ],
        );
        (stdout(&out), stderr(&out), out.status.code().unwrap())
    }
}

fn reference<'a>(v: &'a Value, env: &str, image: &str) -> &'a Value {
    v["references"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["environment"] == env && r["image"] == image)
        .unwrap_or_else(|| panic!("no {image} in {env}: {v}"))
}

#[test]
fn the_inventory_shows_what_runs_against_a_real_prometheus() {
    use crate::support::prometheus::{PrometheusServer, samples};
    let prom = PrometheusServer::start_with(&hoodi_pods(7));
    prom.wait_for(
        r#"count(kube_pod_container_info{namespace="hoodi"})"#,
        |r| samples(r).first().is_some_and(|(_, v)| v == "10"),
        std::time::Duration::from_secs(60),
    );
    let f = LiveFleet::new(&prom.url(), "");

    let (json, err, code) = f.upkeep(&["inventory", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&json).unwrap();
    let beacon = reference(&v, "hoodi", "ghcr.io/acme/beacon");
    assert_eq!(beacon["current"], "v2.0.0");
    assert_eq!(beacon["live"], "drift", "{beacon}");
    assert_eq!(beacon["live_reason"], "7 × v2.0.0, 1 × v1.3.0");
    let running = beacon["running"].as_array().unwrap();
    assert_eq!(running.len(), 2, "{beacon}");
    assert_eq!(running[0]["tag"], "v2.0.0");
    assert_eq!(running[0]["containers"], 7);
    assert_eq!(running[1]["tag"], "v1.3.0");
    assert_eq!(running[1]["containers"], 1);
    assert!(
        running[1]["digest"]
            .as_str()
            .is_some_and(|d| d == format!("sha256:{}", "1".repeat(64))),
        "the pulled digest: {beacon}"
    );
    let exec = reference(&v, "hoodi", "acme/exec");
    assert_eq!(exec["live"], "in-sync", "{exec}");
    assert_eq!(exec["running"][0]["containers"], 2);
    assert!(exec.get("live_reason").is_none(), "{exec}");
    let sepolia = reference(&v, "sepolia", "ghcr.io/acme/beacon");
    assert_eq!(sepolia["live"], "not-running", "{sepolia}");
    assert_eq!(sepolia["running"], serde_json::json!([]));
    let mainnet = reference(&v, "mainnet", "ghcr.io/acme/beacon");
    assert_eq!(mainnet["live"], "unknown", "{mainnet}");
    assert_eq!(
        mainnet["live_reason"],
        "environment mainnet has no live selector"
    );
    let repository = beacon["repository"].as_str().unwrap().to_string();

    let (prom_text, err, code) = f.upkeep(&["inventory", "--format", "prometheus"]);
    assert_eq!(code, 0, "{err}");
    promtool_check(&prom_text);
    assert_unique_series(&prom_text);
    let series = |name: &str, labels: &str| {
        let repo: String = repository.replace('\\', "\\\\").replace('"', "\\\"");
        format!("{name}{{repository=\"{repo}\",{labels}}}")
    };
    for (s, value) in [
        (
            series(
                "upkeep_running_containers",
                "environment=\"hoodi\",image=\"ghcr.io/acme/beacon\",tag=\"v2.0.0\"",
            ),
            7,
        ),
        (
            series(
                "upkeep_running_containers",
                "environment=\"hoodi\",image=\"ghcr.io/acme/beacon\",tag=\"v1.3.0\"",
            ),
            1,
        ),
        (
            series(
                "upkeep_running_containers",
                "environment=\"hoodi\",image=\"acme/exec\",tag=\"24.10.1\"",
            ),
            2,
        ),
        (
            series(
                "upkeep_live_drift",
                "environment=\"hoodi\",image=\"ghcr.io/acme/beacon\"",
            ),
            1,
        ),
        (
            series(
                "upkeep_live_drift",
                "environment=\"hoodi\",image=\"acme/exec\"",
            ),
            0,
        ),
    ] {
        assert!(
            prom_text.contains(&format!("{s} {value}\n")),
            "{s} {value} missing from\n{prom_text}"
        );
    }
    // Not running (sepolia) or not known (mainnet): no drift series.
    for env in ["sepolia", "mainnet"] {
        let s = series(
            "upkeep_live_drift",
            &format!("environment=\"{env}\",image=\"ghcr.io/acme/beacon\""),
        );
        assert!(!prom_text.contains(&s), "{s} in\n{prom_text}");
    }

    let (table, err, code) = f.upkeep(&["inventory"]);
    assert_eq!(code, 0, "{err}");
    let header = table.lines().next().unwrap();
    assert!(
        header.contains("STATUS") && header.contains("RUNNING") && header.contains("LIVE"),
        "{table}"
    );
    assert!(table.contains("7 × v2.0.0, 1 × v1.3.0  drift"), "{table}");

    let (md, err, code) = f.upkeep(&["inventory", "--format", "markdown"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        md.starts_with("| Repository |")
            && md.lines().next().unwrap().ends_with("| Running | Live |"),
        "{md}"
    );
    assert!(md.contains("| 2 × 24.10.1 | in-sync |"), "{md}");

    // The pods roll: all eight on the desired tag.
    prom.target().set(&hoodi_pods(8));
    prom.wait_for(
        r#"count(kube_pod_container_info{namespace="hoodi",image="ghcr.io/acme/beacon:v2.0.0"})"#,
        |r| samples(r).first().is_some_and(|(_, v)| v == "8"),
        std::time::Duration::from_secs(60),
    );
    let (json, err, code) = f.upkeep(&["inventory", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&json).unwrap();
    let beacon = reference(&v, "hoodi", "ghcr.io/acme/beacon");
    assert_eq!(beacon["live"], "in-sync", "{beacon}");
    assert_eq!(beacon["running"][0]["containers"], 8);

    // Prometheus unreachable: unknown, and why.
    drop(prom);
    let (json, err, code) = f.upkeep(&["inventory", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&json).unwrap();
    let beacon = reference(&v, "hoodi", "ghcr.io/acme/beacon");
    assert_eq!(beacon["live"], "unknown", "{beacon}");
    assert!(
        beacon["live_reason"]
            .as_str()
            .is_some_and(|r| r.contains("Prometheus")),
        "{beacon}"
    );
}
