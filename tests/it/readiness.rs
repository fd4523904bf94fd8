//! `upkeep readiness` end to end: a deployment repository (mainnet and hoodi
//! environments running geth, a lighthouse beacon node and a lighthouse
//! validator client) on a smart-HTTP git remote and the GitHub double, a
//! user fork schedule, release notes, settings overrides; the Prometheus
//! gauges checked by `promtool check metrics`, and the shipped alerting
//! rule by `promtool check rules` and `promtool test rules`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::support::git_http::GitServer;
use crate::support::github::{Caller, GitHubDouble, NewRelease, Repo};
use crate::support::{stderr, stdout, upkeep_env};

const TOKEN: &str = "ghp_ready_token_0123456789";
const REPO: &str = "acme/eth";
/// A week before the mainnet fork of the schedule below.
const NOW: &str = "2027-03-01T00:00:00Z";

const MAINNET_VALUES: &str = "\
execution:
  image: ethereum/client-go:v1.17.0
beacon:
  image: sigp/lighthouse:v9.0.0
";
const MAINNET_VALIDATOR: &str = "image: sigp/lighthouse:v9.0.0\n";
const HOODI_COMPOSE: &str = "\
services:
  el:
    image: ethereum/client-go:v1.17.0
  cl:
    image: sigp/lighthouse:v9.0.0
  metrics:
    image: acme/metrics:1.0.0
";

/// Glamsterdam on hoodi and mainnet, with geth's minimum versions only.
const SCHEDULE: &str = "\
version: 1
forks:
  - name: Glamsterdam
    activations:
      hoodi: {time: 2027-03-03T12:00:00Z}
      mainnet: {time: 2027-03-08T00:00:00Z}
    minimum_versions:
      ethereum/go-ethereum:
        mainnet: {version: v1.17.0, source: \"geth v1.17.0 schedules Amsterdam on mainnet\"}
        hoodi: {version: v1.16.9, source: \"geth v1.16.9 schedules Amsterdam on hoodi\"}
";

const LH_HOODI: &str =
    "## Summary\n\nThis release schedules the Glamsterdam hard fork on the Hoodi testnet.\n";
const LH_MAINNET: &str = "## Summary\n\nThis release schedules the Glamsterdam hard fork on Mainnet. All mainnet users must upgrade to v9.1.0 before the fork.\n";

struct Deployment {
    dir: tempfile::TempDir,
    gh: GitHubDouble,
    #[allow(dead_code)]
    git: GitServer,
}

impl Deployment {
    /// `lighthouse_notes`: the notes of lighthouse v9.0.0 and v9.1.0.
    fn new(lighthouse_notes: [&str; 2]) -> Deployment {
        let dir = tempfile::tempdir().unwrap();
        let gh = GitHubDouble::start();
        let git = GitServer::start("x-access-token", TOKEN);
        git.create_repo(
            "eth",
            &[
                ("envs/mainnet/values.yaml", MAINNET_VALUES),
                ("envs/mainnet/validator.yaml", MAINNET_VALIDATOR),
                ("envs/hoodi/docker-compose.yml", HOODI_COMPOSE),
            ],
        );
        gh.add_repo(
            Repo::new(REPO)
                .default_branch("main")
                .clone_url(&git.url("eth"))
                .git_dir(git.bare_path("eth")),
        );
        gh.set_login(Caller::Token(TOKEN), "upkeep[bot]");
        let at = |d: &str| format!("2027-02-{d}T00:00:00Z");
        for (tag, day) in [("v1.16.9", "01"), ("v1.17.0", "10")] {
            gh.add_release(
                "ethereum/go-ethereum",
                NewRelease::new(tag)
                    .body("Bug fixes.")
                    .created_at(&at(day))
                    .published_at(&at(day)),
            );
        }
        for ((tag, day), body) in [("v9.0.0", "01"), ("v9.1.0", "15")]
            .into_iter()
            .zip(lighthouse_notes)
        {
            gh.add_release(
                "sigp/lighthouse",
                NewRelease::new(tag)
                    .body(body)
                    .created_at(&at(day))
                    .published_at(&at(day)),
            );
        }
        std::fs::create_dir_all(dir.path().join("rules")).unwrap();
        let d = Deployment { dir, gh, git };
        d.settings("");
        d
    }

    fn schedule(&self, text: &str) {
        std::fs::write(self.dir.path().join("rules/glamsterdam.yml"), text).unwrap();
    }

    fn settings(&self, extra: &str) -> PathBuf {
        let text = format!(
            "repositories:
  - github: {REPO}
    environments:
      - name: hoodi
        paths: [\"envs/hoodi/**\"]
        network: hoodi
      - name: mainnet
        paths: [\"envs/mainnet/**\"]
        network: mainnet
rules:
  directories: [rules]
registries:
  require_published: false
  mirrors:
    docker.io: http://127.0.0.1:9
{extra}"
        );
        let path = self.dir.path().join("upkeep.yml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn upkeep(&self, args: &[&str]) -> (String, String, i32) {
        let state = self.dir.path().join("state.sqlite3");
        let cache = self.dir.path().join("cache");
        let env = [
            ("UPKEEP_GITHUB_API_URL", self.gh.url()),
            ("UPKEEP_GITHUB_TOKEN", TOKEN),
            ("UPKEEP_STATE", state.to_str().unwrap()),
            ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
            ("UPKEEP_NOW", NOW),
        ];
        let out = upkeep_env(self.dir.path(), args, &env);
        let (o, e) = (stdout(&out), stderr(&out));
        assert!(!o.contains(TOKEN) && !e.contains(TOKEN), "token leaked");
        (o, e, out.status.code().unwrap())
    }

    fn json(&self, extra: &[&str]) -> Value {
        let mut args = vec!["readiness", "--format", "json"];
        args.extend_from_slice(extra);
        let (out, err, code) = self.upkeep(&args);
        assert_eq!(code, 0, "{err}\n{out}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
    }
}

fn row<'a>(v: &'a Value, env: &str, fork: &str) -> &'a Value {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["environment"] == env && r["fork"] == fork)
        .unwrap_or_else(|| panic!("no row {env} × {fork}: {v:#}"))
}

#[test]
fn only_the_execution_layer_ready_names_the_consensus_version_needed() {
    let d = Deployment::new([LH_HOODI, LH_MAINNET]);
    d.schedule(SCHEDULE);
    let v = d.json(&[]);
    let mainnet = row(&v, "mainnet", "Glamsterdam");
    assert_eq!(mainnet["state"], "not-ready", "{mainnet:#}");
    assert_eq!(mainnet["network"], "mainnet");
    assert_eq!(mainnet["seconds_left"], 7 * 86_400);
    let clients = mainnet["clients"].as_array().unwrap();
    let roles: Vec<(&str, &str, &str)> = clients
        .iter()
        .map(|c| {
            (
                c["role"].as_str().unwrap(),
                c["client"].as_str().unwrap(),
                c["state"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("execution", "geth", "ready"),
            ("consensus", "lighthouse", "not-ready"),
            ("validator", "lighthouse", "not-ready"),
        ]
    );
    // geth's minimum from the schedule, lighthouse's from its notes only:
    // v9.0.0 enabled hoodi, v9.1.0 is the first (and required) for mainnet.
    assert_eq!(clients[0]["minimum"]["source"]["kind"], "schedule");
    assert_eq!(clients[1]["minimum"]["version"], "v9.1.0");
    assert_eq!(
        clients[1]["minimum"]["source"],
        serde_json::json!({"kind": "release-notes", "release": "v9.1.0", "required": true})
    );
    assert_eq!(clients[1]["needed"], "v9.1.0");
    let blocking = mainnet["blocking"].as_array().unwrap();
    assert_eq!(blocking.len(), 1, "{blocking:#?}");
    assert_eq!(blocking[0]["client"], "lighthouse");
    assert_eq!(blocking[0]["needed"], "v9.1.0");
    assert_eq!(
        blocking[0]["roles"],
        serde_json::json!(["consensus", "validator"])
    );
    // hoodi: lighthouse v9.0.0 is the first release enabling it there
    let hoodi = row(&v, "hoodi", "Glamsterdam");
    assert_eq!(hoodi["state"], "ready", "{hoodi:#}");
    assert_eq!(hoodi["clients"][1]["minimum"]["version"], "v9.0.0");
    assert_eq!(hoodi["clients"][1]["minimum"]["source"]["required"], false);
    // an image without a role is not a client
    assert!(!hoodi.to_string().contains("acme/metrics"));

    let (table, err, code) = d.upkeep(&["readiness"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        table.contains("mainnet: not ready for Glamsterdam, 7 days left: lighthouse v9.1.0 needed"),
        "{table}"
    );
    insta::assert_snapshot!("readiness_table", table);
    let (md, err, code) = d.upkeep(&["readiness", "--format", "markdown"]);
    assert_eq!(code, 0, "{err}");
    insta::assert_snapshot!("readiness_markdown", md);

    // --fail-on not-ready: 1 while mainnet is not ready; 0 for hoodi only
    let (_, err, code) = d.upkeep(&["readiness", "--fail-on", "not-ready"]);
    assert_eq!(code, 1, "{err}");
    let (out, err, code) = d.upkeep(&[
        "readiness",
        "--fork",
        "gloas",
        "--fail-on",
        "not-ready",
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rows"].as_array().unwrap().len(), 2);
    let (_, err, code) = d.upkeep(&["readiness", "--fork", "Moonshot"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown fork `Moonshot`"), "{err}");

    // the gauges parse and lint clean
    let (prom, err, code) = d.upkeep(&["readiness", "--format", "prometheus"]);
    assert_eq!(code, 0, "{err}");
    assert!(prom.contains(
        "upkeep_fork_ready{repository=\"acme/eth\",environment=\"mainnet\",network=\"mainnet\",fork=\"Glamsterdam\"} 0"
    ), "{prom}");
    assert!(prom.contains(
        "upkeep_fork_ready{repository=\"acme/eth\",environment=\"hoodi\",network=\"hoodi\",fork=\"Glamsterdam\"} 1"
    ), "{prom}");
    assert!(prom.contains(
        "upkeep_fork_seconds_left{repository=\"acme/eth\",environment=\"mainnet\",network=\"mainnet\",fork=\"Glamsterdam\"} 604800"
    ), "{prom}");
    crate::inventory::promtool_check(&prom);

    // Slack: the digest leads with readiness, the reminder for the fork
    // on mainnet starts with mainnet's
    let (out, err, code) = d.upkeep(&["notify", "--dry-run"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let texts = |kind: &str| -> Vec<String> {
        v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["kind"] == kind)
            .flat_map(|m| m["payload"]["blocks"].as_array().unwrap().clone())
            .filter_map(|b| b["text"]["text"].as_str().map(str::to_string))
            .collect()
    };
    let digest = texts("digest");
    assert_eq!(
        digest[1],
        ":shield: *Fork readiness* (2)\n:white_check_mark: *hoodi*: ready for Glamsterdam, 2 days left\n:x: *mainnet*: not ready for Glamsterdam, 7 days left: lighthouse v9.1.0 needed",
        "{digest:#?}"
    );
    let reminder = texts("reminder");
    assert!(
        reminder[1].starts_with(":x: *mainnet*: not ready for Glamsterdam, 7 days left: lighthouse v9.1.0 needed\nGlamsterdam activates on *mainnet*"),
        "{reminder:#?}"
    );

    // the pull requests that fix it, once opened
    let (_, err, code) = d.upkeep(&["run"]);
    assert_eq!(code, 0, "{err}");
    let pulls = d.gh.pulls(REPO);
    assert!(!pulls.is_empty());
    let v = d.json(&[]);
    let mainnet = row(&v, "mainnet", "Glamsterdam");
    let prs = mainnet["blocking"][0]["pulls"].as_array().unwrap();
    assert_eq!(prs.len(), 1, "{mainnet:#}");
    assert_eq!(prs[0]["release"], "v9.1.0");
    let number = prs[0]["number"].as_u64().unwrap();
    let pr = pulls.iter().find(|p| p.number == number).unwrap();
    // its body says what it does for the fork
    let body = pr.body.as_deref().unwrap_or_default();
    assert!(
        body.contains("> Once merged, **mainnet** is ready for **Glamsterdam** (7 days left, at 2027-03-08 00:00 UTC)."),
        "{body}"
    );
    let (out, _, _) = d.upkeep(&["readiness"]);
    assert!(
        out.contains(&format!("lighthouse v9.1.0 needed (#{number})")),
        "{out}"
    );
}

#[test]
fn both_layers_ready_and_settings_overrides() {
    let d = Deployment::new([LH_HOODI, LH_MAINNET]);
    d.schedule(SCHEDULE);
    // The operator knows better: lighthouse v9.0.0 follows the fork on
    // every network.
    d.settings("forks:\n  Glamsterdam:\n    minimum:\n      sigp/lighthouse: v9.0.0\n");
    let v = d.json(&["--fail-on", "not-ready"]);
    let mainnet = row(&v, "mainnet", "Glamsterdam");
    assert_eq!(mainnet["state"], "ready", "{mainnet:#}");
    assert_eq!(mainnet["blocking"], serde_json::json!([]));
    assert_eq!(
        mainnet["clients"][1]["minimum"]["source"]["kind"],
        "settings"
    );
    assert_eq!(row(&v, "hoodi", "Glamsterdam")["state"], "ready");

    // a per-network override raises mainnet's geth: not ready again
    d.settings(
        "forks:\n  amsterdam:\n    minimum:\n      sigp/lighthouse: v9.0.0\n      ethereum/go-ethereum: {mainnet: v1.17.1}\n",
    );
    let (out, err, code) = d.upkeep(&["readiness", "--fail-on", "not-ready"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        out.contains("mainnet: not ready for Glamsterdam, 7 days left: geth v1.17.1 needed"),
        "{out}"
    );
    // a bad override is a settings error with its position
    d.settings("forks:\n  Glamsterdam:\n    minimum:\n      sigp/lighthouse: latest\n");
    let (_, err, code) = d.upkeep(&["readiness"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("upkeep.yml:19:24"), "{err}");
    assert!(err.contains("`latest` is not a version"), "{err}");
}

#[test]
fn coupled_upgrades_link_each_other() {
    // mainnet needs both layers: geth v1.17.1 (settings) and lighthouse
    // v9.1.0 (notes); one pull request each, linked on the next run.
    let d = Deployment::new([LH_HOODI, LH_MAINNET]);
    d.schedule(SCHEDULE);
    d.gh.add_release(
        "ethereum/go-ethereum",
        NewRelease::new("v1.17.1")
            .body("Bug fixes.")
            .created_at("2027-02-20T00:00:00Z")
            .published_at("2027-02-20T00:00:00Z"),
    );
    d.settings(
        "forks:\n  Glamsterdam:\n    minimum:\n      ethereum/go-ethereum: {mainnet: v1.17.1}\n",
    );
    let (out, _, _) = d.upkeep(&["readiness"]);
    assert!(
        out.contains("mainnet: not ready for Glamsterdam, 7 days left: geth v1.17.1 needed, lighthouse v9.1.0 needed"),
        "{out}"
    );
    let (_, err, code) = d.upkeep(&["run"]);
    assert_eq!(code, 0, "{err}");
    let find = |pulls: &[crate::support::github::PullView], name: &str| {
        pulls
            .iter()
            .find(|p| p.title.contains(name))
            .unwrap_or_else(|| panic!("no {name} PR"))
            .clone()
    };
    let pulls = d.gh.pulls(REPO);
    let (geth, lh) = (find(&pulls, "go-ethereum"), find(&pulls, "lighthouse"));
    let body = geth.body.clone().unwrap_or_default();
    assert!(
        body.contains("> Once merged, **mainnet** is still not ready for **Glamsterdam** (7 days left, at 2027-03-08 00:00 UTC); still needed: lighthouse v9.1.0 needed"),
        "{body}"
    );
    assert!(
        body.contains("> Once merged, **hoodi** is ready for **Glamsterdam**"),
        "{body}"
    );
    // the next run links the other layer's pull request from each body
    let (_, err, code) = d.upkeep(&["run"]);
    assert_eq!(code, 0, "{err}");
    let pulls = d.gh.pulls(REPO);
    let geth_body = find(&pulls, "go-ethereum").body.unwrap_or_default();
    assert!(
        geth_body.contains(&format!(
            "still needed: lighthouse v9.1.0 needed (#{})",
            lh.number
        )),
        "{geth_body}"
    );
    let lh_body = find(&pulls, "lighthouse").body.unwrap_or_default();
    assert!(
        lh_body.contains(&format!(
            "still needed: geth v1.17.1 needed (#{})",
            geth.number
        )),
        "{lh_body}"
    );
    let v = d.json(&[]);
    let blocking = row(&v, "mainnet", "Glamsterdam")["blocking"].clone();
    assert_eq!(blocking[0]["pulls"][0]["number"], geth.number);
    assert_eq!(blocking[1]["pulls"][0]["number"], lh.number);
}

#[test]
fn a_fork_announced_on_a_testnet_only_has_no_mainnet_row() {
    // No schedule file: the lighthouse notes alone announce Glamsterdam on
    // hoodi, with its time; nothing says which geth follows it.
    let d = Deployment::new([
        "## Summary\n\nGlamsterdam activates on Hoodi at 2027-03-03 12:00:00 UTC; this release schedules it.\n",
        "Bug fixes.",
    ]);
    let v = d.json(&[]);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{v:#}");
    let hoodi = row(&v, "hoodi", "Glamsterdam");
    assert_eq!(hoodi["activates_at"], "2027-03-03T12:00:00Z");
    assert_eq!(hoodi["state"], "unknown", "{hoodi:#}");
    assert_eq!(hoodi["clients"][0]["client"], "geth");
    assert_eq!(hoodi["clients"][0]["state"], "unknown");
    assert_eq!(hoodi["clients"][1]["state"], "ready");
    let (out, err, code) = d.upkeep(&["readiness", "--fail-on", "not-ready"]);
    assert_eq!(code, 0, "unknown is not not-ready: {err}");
    assert!(
        out.contains("hoodi: readiness unknown for Glamsterdam, 2 days left: geth: no fork-ready version known"),
        "{out}"
    );
}

/// `promtool` on the shipped rule file.
fn promtool(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("`promtool` is not installed: apt-get install -y prometheus (.ci/run does this)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn the_shipped_alert_rule_fires_a_week_before_a_fork() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/prometheus");
    let (ok, out) = promtool(&["check", "rules", "upkeep-rules.yml"], &dir);
    assert!(ok, "{out}");
    let (ok, out) = promtool(&["test", "rules", "upkeep-rules.test.yml"], &dir);
    assert!(ok, "{out}");
}
