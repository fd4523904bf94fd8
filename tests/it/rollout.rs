//! Progressive rollout end to end: the `upkeep` binary against the GitHub
//! double and a real git remote, with time moved by `UPKEEP_NOW` (and the
//! double's clock with it) to simulate weeks in seconds. A person's merges
//! happen at chosen times; every wave's state is read back from GitHub on
//! every run.

use std::path::PathBuf;
use std::process::Command;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;

use crate::support::github::PullView;
use crate::support::prometheus::{PrometheusServer, kube_pod_container_info, samples};
use crate::support::world::{HOODI_FILE, MAINNET_FILE, REPO, Setup, VALUES, World, hours, t0};
use crate::support::{stderr, upkeep_env};

impl World {
    /// `upkeep rollout status --format json`: the one rollout in flight.
    fn status(&self) -> Value {
        let (out, err, code) = self.upkeep(&["rollout", "status", "--format", "json"]);
        assert_eq!(code, 0, "{out}\n{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        v
    }

    fn wave(&self, status: &Value, wave: usize) -> Value {
        status["rollouts"][0]["waves"][wave - 1].clone()
    }

    fn pulls(&self) -> Vec<PullView> {
        self.gh.pulls(REPO)
    }

    /// The pull requests that touch `env` (by label), oldest first.
    fn pulls_in(&self, env: &str) -> Vec<PullView> {
        self.pulls()
            .into_iter()
            .filter(|p| p.labels.iter().any(|l| l == env))
            .collect()
    }

    /// `git show REF:PATH` in the bare repository.
    fn show(&self, rev: &str, path: &str) -> String {
        let bare = self.git.bare_path("deploy");
        let out = Command::new("git")
            .args([
                "--git-dir",
                bare.to_str().unwrap(),
                "show",
                &format!("{rev}:{path}"),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn state_file(&self) -> PathBuf {
        self.dir.path().join("state.sqlite3")
    }
}

fn time(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a time: {v}")))
        .unwrap()
        .with_timezone(&Utc)
}

#[test]
fn wave_two_opens_exactly_when_wave_one_has_soaked() {
    let w = World::new(Setup::default());
    let out = w.run();
    let pulls = w.pulls();
    assert_eq!(pulls.len(), 1, "the first run opens only wave 1\n{out}");
    let hoodi = &pulls[0];
    assert_eq!(hoodi.labels, ["hoodi", "upkeep"], "{hoodi:?}");
    assert!(
        w.show(&hoodi.head, HOODI_FILE)
            .contains("tag: v7.0.0 # consensus")
    );
    assert_eq!(w.show(&hoodi.head, MAINNET_FILE), VALUES, "never mixed");
    let s = w.status();
    assert_eq!(s["rollouts"][0]["version"], "v7.0.0");
    assert_eq!(w.wave(&s, 1)["state"], "open");
    assert_eq!(w.wave(&s, 2)["state"], "pending");
    assert!(
        w.wave(&s, 2)["reason"]
            .as_str()
            .unwrap()
            .contains("waits for wave 1 (#1) to merge"),
        "{s}"
    );

    // A person merges wave 1 an hour later.
    w.at(t0() + hours(1));
    w.merge(hoodi.number);
    w.at(t0() + hours(2));
    w.run();
    assert_eq!(w.pulls().len(), 1, "mainnet waits for the soak");
    let s = w.status();
    assert_eq!(w.wave(&s, 1)["state"], "soaking");
    assert_eq!(time(&w.wave(&s, 1)["merged_at"]), t0() + hours(1));
    assert_eq!(time(&w.wave(&s, 2)["opens_at"]), t0() + hours(25));
    assert!(
        w.wave(&s, 2)["reason"]
            .as_str()
            .unwrap()
            .contains("to soak until 2027-01-05 11:00 UTC"),
        "{s}"
    );
    let (table, _, _) = w.upkeep(&["rollout", "status"]);
    assert!(table.contains("soaking"), "{table}");
    assert!(table.contains("2027-01-05 11:00 UTC"), "{table}");
    insta::assert_snapshot!("rollout_status_soaking", table);

    // One second before the soak ends: nothing.
    w.at(t0() + hours(25) - Duration::seconds(1));
    w.run();
    assert_eq!(w.pulls().len(), 1);
    // When it ends: wave 2 opens, with mainnet only.
    w.at(t0() + hours(25));
    w.run();
    let mainnet = w.pulls_in("mainnet");
    assert_eq!(mainnet.len(), 1, "{:?}", w.pulls());
    assert_eq!(mainnet[0].labels, ["mainnet", "upkeep"]);
    assert_eq!(
        w.show(&mainnet[0].head, MAINNET_FILE),
        VALUES.replace("v6.0.0", "v7.0.0")
    );
    assert_ne!(mainnet[0].head, hoodi.head, "one branch per wave");
    let s = w.status();
    assert_eq!(w.wave(&s, 1)["state"], "done");
    assert_eq!(w.wave(&s, 2)["state"], "open");

    // A later run changes nothing (the dependency dashboard already showed
    // wave 2 open).
    w.gh.clear_requests();
    w.at(t0() + hours(26));
    w.run();
    assert_eq!(w.gh.stats().writes, 0);
}

#[test]
fn check_json_says_where_each_finding_stands() {
    let w = World::new(Setup::default());
    w.run();
    let (out, err, code) = w.upkeep(&["check", "--format", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let findings = v["findings"].as_array().unwrap();
    let mainnet = findings
        .iter()
        .find(|f| f["environment"] == "mainnet")
        .unwrap();
    assert_eq!(mainnet["rollout"]["wave"], 2);
    assert_eq!(mainnet["rollout"]["state"], "pending");
    assert!(
        mainnet["rollout"]["reason"]
            .as_str()
            .unwrap()
            .contains("waits for wave 1"),
        "{mainnet}"
    );
    let hoodi = findings
        .iter()
        .find(|f| f["environment"] == "hoodi")
        .unwrap();
    assert_eq!(hoodi["rollout"]["state"], "open");
    let (md, _, _) = w.upkeep(&["rollout", "status", "--format", "markdown"]);
    assert!(
        md.contains("### `sigp/lighthouse` v7.0.0 in acme/deploy"),
        "{md}"
    );
    assert!(md.contains("| 1 | hoodi | open #1 |"), "{md}");
}

#[test]
fn a_maintenance_window_holds_wave_two_across_the_dst_change() {
    // Europe/Berlin moves to summer time on Sunday 2027-03-28: Tuesday
    // 09:00 local is 07:00 UTC after it (08:00 UTC before).
    let w = World::new(Setup {
        mainnet: "        windows: [\"Tue-Thu 09:00-17:00\"]\n        timezone: Europe/Berlin\n",
        ..Setup::default()
    });
    let friday = Utc.with_ymd_and_hms(2027, 3, 26, 11, 0, 0).unwrap();
    w.at(friday);
    w.run();
    w.at(friday + hours(1));
    w.merge(1);
    // The soak ends on Saturday at 12:00 UTC; the window opens on Tuesday.
    w.at(friday + hours(26));
    w.run();
    assert_eq!(w.pulls().len(), 1);
    let tuesday_nine = Utc.with_ymd_and_hms(2027, 3, 30, 7, 0, 0).unwrap();
    let s = w.status();
    assert_eq!(time(&w.wave(&s, 2)["opens_at"]), tuesday_nine, "{s}");
    assert!(
        w.wave(&s, 2)["reason"]
            .as_str()
            .unwrap()
            .contains("next maintenance window"),
        "{s}"
    );
    w.at(tuesday_nine - Duration::seconds(1));
    w.run();
    assert_eq!(w.pulls().len(), 1, "outside the window");
    w.at(tuesday_nine);
    w.run();
    assert_eq!(w.pulls_in("mainnet").len(), 1, "the window opened");
}

#[test]
fn a_newer_release_moves_wave_one_first_and_leaves_wave_two_alone() {
    let w = World::new(Setup::default());
    w.run();
    w.at(t0() + hours(1));
    w.merge(1);
    w.at(t0() + hours(25));
    w.run();
    let mainnet = w.pulls_in("mainnet");
    assert_eq!(mainnet.len(), 1);
    let before = mainnet[0].clone();

    w.gh.add_release("sigp/lighthouse", "v7.0.1");
    w.at(t0() + hours(26));
    w.gh.clear_requests();
    w.run();
    let hoodi = w.pulls_in("hoodi");
    assert_eq!(hoodi.len(), 2, "wave 1 gets v7.0.1 first");
    assert!(hoodi[1].title.contains("v7.0.1"), "{}", hoodi[1].title);
    let after = w.gh.pull(REPO, before.number);
    assert_eq!(after.state, "open", "the soaked v7.0.0 stays offered");
    assert_eq!(after.head_sha, before.head_sha, "not rewritten");
    assert_eq!(after.body, before.body);
    assert!(after.title.contains("v7.0.0"));
    let s = w.status();
    assert_eq!(s["rollouts"][0]["version"], "v7.0.1");
    let reason = w.wave(&s, 2)["reason"].as_str().unwrap().to_string();
    assert!(
        reason.contains(&format!("#{} is open for v7.0.0", before.number)),
        "{reason}"
    );
    assert!(reason.contains("v7.0.1 waits for wave 1"), "{reason}");

    // Once hoodi has soaked v7.0.1, mainnet's pull request moves to it.
    let v701 = hoodi[1].number;
    w.at(t0() + hours(27));
    w.merge(v701);
    w.at(t0() + hours(51));
    w.run();
    let mainnet = w.pulls_in("mainnet");
    let open: Vec<&PullView> = mainnet.iter().filter(|p| p.state == "open").collect();
    assert_eq!(open.len(), 1, "{mainnet:?}");
    assert!(open[0].title.contains("v7.0.1"), "{}", open[0].title);
}

#[test]
fn a_pull_request_closed_without_merging_stops_the_rollout_there() {
    let w = World::new(Setup::default());
    w.run();
    w.gh.close_pr(REPO, 1);
    for days in [1, 3, 7] {
        w.at(t0() + Duration::days(days));
        w.run();
    }
    assert_eq!(w.pulls().len(), 1, "neither reopened nor mainnet");
    let s = w.status();
    assert_eq!(w.wave(&s, 1)["state"], "blocked");
    assert_eq!(w.wave(&s, 2)["state"], "blocked");
    assert!(
        w.wave(&s, 1)["reason"]
            .as_str()
            .unwrap()
            .contains("#1 for v7.0.0 was closed without merging"),
        "{s}"
    );
    // A newer release starts again in wave 1.
    w.gh.add_release("sigp/lighthouse", "v7.0.1");
    w.at(t0() + Duration::days(8));
    w.run();
    let open: Vec<PullView> = w
        .pulls()
        .into_iter()
        .filter(|p| p.state == "open")
        .collect();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].labels, ["hoodi", "upkeep"]);
}

#[test]
fn automerge_waits_for_green_checks_then_merges_wave_one() {
    let w = World::new(Setup {
        hoodi: "        automerge: true\n",
        ..Setup::default()
    });
    w.run();
    let pr = w.pulls()[0].clone();
    let run_id =
        w.gh.add_check_run(REPO, &pr.head_sha, "ci", "in_progress", None);
    w.at(t0() + Duration::minutes(10));
    let out = w.run();
    assert!(!w.gh.pull(REPO, pr.number).merged, "checks pending\n{out}");
    w.gh.set_check_run(REPO, run_id, "completed", Some("failure"));
    w.at(t0() + Duration::minutes(20));
    let out = w.run();
    assert!(!w.gh.pull(REPO, pr.number).merged, "checks failing\n{out}");
    assert!(out.contains("checks failing: ci"), "{out}");
    w.gh.set_check_run(REPO, run_id, "completed", Some("success"));
    w.at(t0() + Duration::minutes(30));
    let out = w.run();
    assert!(w.gh.pull(REPO, pr.number).merged, "green: merged\n{out}");
    // Mainnet (no automerge) opens after the soak, counted from that merge.
    w.at(t0() + Duration::minutes(30) + hours(24) - Duration::seconds(1));
    w.run();
    assert!(w.pulls_in("mainnet").is_empty());
    w.at(t0() + Duration::minutes(30) + hours(24));
    w.run();
    let mainnet = w.pulls_in("mainnet");
    assert_eq!(mainnet.len(), 1);
    w.gh.add_check_run(
        REPO,
        &mainnet[0].head_sha,
        "ci",
        "completed",
        Some("success"),
    );
    w.at(t0() + hours(30));
    w.run();
    assert!(
        !w.gh.pull(REPO, mainnet[0].number).merged,
        "mainnet waits for a person"
    );
}

#[test]
fn automerge_respects_branch_protection() {
    let w = World::new(Setup {
        hoodi: "        automerge: true\n",
        ..Setup::default()
    });
    w.gh.protect_branch(REPO, "main", &[], 1);
    w.run();
    let pr = w.pulls()[0].clone();
    w.gh.add_check_run(REPO, &pr.head_sha, "ci", "completed", Some("success"));
    w.at(t0() + hours(1));
    let out = w.run();
    assert!(!w.gh.pull(REPO, pr.number).merged, "{out}");
    assert!(out.contains("refused"), "{out}");
    w.gh.approve(REPO, pr.number, "alice");
    w.at(t0() + hours(2));
    w.run();
    assert!(w.gh.pull(REPO, pr.number).merged);
}

#[test]
fn a_crash_between_merge_and_the_next_wave_loses_and_duplicates_nothing() {
    let w = World::new(Setup::default());
    w.run();
    w.at(t0() + hours(1));
    w.merge(1);
    w.at(t0() + hours(25));
    // Kill runs at different points, and lose the state file each time.
    let bin = env!("CARGO_BIN_EXE_upkeep");
    for delay_ms in [20, 80, 200, 500, 900] {
        let mut cmd = Command::new(bin);
        cmd.arg("run").current_dir(w.dir.path());
        for (k, v) in w.env() {
            cmd.env(k, v);
        }
        let mut child = cmd
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_file(w.state_file());
    }
    w.run();
    w.run();
    let mainnet = w.pulls_in("mainnet");
    assert_eq!(mainnet.len(), 1, "no duplicate: {mainnet:?}");
    assert_eq!(mainnet[0].state, "open");
    assert_eq!(w.pulls_in("hoodi").len(), 1, "wave 1 is not reopened");
    let s = w.status();
    assert_eq!(w.wave(&s, 1)["state"], "done");
    assert_eq!(w.wave(&s, 2)["state"], "open");
}

/// A fork on mainnet's network three days after `t0`, which lighthouse
/// v7.0.0 is the first release to follow.
fn fork_rules(dir: &std::path::Path) {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    let at = (t0() + Duration::days(3)).to_rfc3339();
    std::fs::write(
        rules.join("devnet.yml"),
        format!(
            "version: 1\nnetworks:\n  - name: devnet-m\n    kind: testnet\nforks:\n  - name: Glamsterdam\n    activations:\n      devnet-m: {{time: {at}}}\n    minimum_versions:\n      sigp/lighthouse:\n        devnet-m: {{version: v7.0.0, source: test}}\n"
        ),
    )
    .unwrap();
}

#[test]
fn a_fork_deadline_shortens_the_soak() {
    // Soak 48h, margin 48h, fork 72h out: merged at t0+1h, 23h are left.
    let w = World::new(Setup {
        extra: "  soak: 48h\n  deadline_margin: 48h\n  minimum_soak: 1h\nrules:\n  directories: [rules]\n",
        ..Setup::default()
    });
    // `rollout.soak` appears twice otherwise: rewrite the settings' tail.
    let path = w.dir.path().join("upkeep.yml");
    let text = std::fs::read_to_string(&path).unwrap().replace(
        "rollout:\n  soak: 24h\n  soak: 48h\n",
        "rollout:\n  soak: 48h\n",
    );
    std::fs::write(&path, text).unwrap();
    fork_rules(w.dir.path());
    w.run();
    w.at(t0() + hours(1));
    w.merge(1);
    w.at(t0() + hours(2));
    w.run();
    let s = w.status();
    assert_eq!(s["rollouts"][0]["compressed"], true, "{s}");
    assert_eq!(s["rollouts"][0]["deadline"]["fork"], "Glamsterdam");
    assert_eq!(time(&w.wave(&s, 2)["opens_at"]), t0() + hours(24), "{s}");
    w.at(t0() + hours(24) - Duration::seconds(1));
    w.run();
    assert!(w.pulls_in("mainnet").is_empty());
    w.at(t0() + hours(24));
    w.run();
    let mainnet = w.pulls_in("mainnet");
    assert_eq!(mainnet.len(), 1);
    assert!(mainnet[0].labels.contains(&"hard-fork".to_string()));
    assert!(!mainnet[0].labels.contains(&"deadline-at-risk".to_string()));
}

#[test]
fn when_even_the_minimum_soak_cannot_fit_every_wave_opens_at_once() {
    let w = World::new(Setup {
        extra: "  deadline_margin: 48h\n  minimum_soak: 30h\nrules:\n  directories: [rules]\n",
        ..Setup::default()
    });
    let path = w.dir.path().join("upkeep.yml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("  soak: 24h\n", "  soak: 36h\n");
    std::fs::write(&path, text).unwrap();
    fork_rules(w.dir.path());
    let out = w.run();
    assert_eq!(w.pulls().len(), 2, "both waves at once\n{out}");
    let mainnet = w.pulls_in("mainnet");
    assert!(
        mainnet[0].labels.contains(&"deadline-at-risk".to_string()),
        "{:?}",
        mainnet[0].labels
    );
    assert!(
        !w.pulls_in("hoodi")[0]
            .labels
            .contains(&"deadline-at-risk".to_string())
    );
    let s = w.status();
    assert_eq!(s["rollouts"][0]["at_risk"], true);
    let alerts = s["alerts"].as_array().unwrap();
    assert_eq!(alerts.len(), 1, "{s}");
    assert_eq!(alerts[0]["kind"], "deadline-at-risk");
}

#[test]
fn limits_open_the_most_urgent_first_and_pace_new_pull_requests() {
    let w = World::new(Setup {
        extra: "pull_requests:\n  max_open: 2\n  max_per_hour: 1\n",
        files: &[(
            "envs/hoodi/compose.yml",
            "services:\n  el:\n    image: ethereum/client-go:v1.14.12\n  vc:\n    image: consensys/teku:25.1.0\n",
        )],
        ..Setup::default()
    });
    w.gh.add_releases("ethereum/go-ethereum", ["v1.14.12", "v1.15.0"]);
    w.gh.add_releases("Consensys/teku", ["25.1.0", "25.2.0"]);
    let out = w.run();
    assert_eq!(w.pulls().len(), 1, "one an hour\n{out}");
    w.at(t0() + Duration::minutes(30));
    w.run();
    assert_eq!(w.pulls().len(), 1, "still within the hour");
    w.at(t0() + Duration::minutes(61));
    w.run();
    assert_eq!(w.pulls().len(), 2, "the next hour");
    w.at(t0() + Duration::minutes(200));
    let (out, err, code) = w.upkeep(&["plan"]);
    assert_eq!(code, 0, "{err}");
    w.run();
    assert_eq!(w.pulls().len(), 2, "max_open\n{out}");
}

#[test]
fn a_merge_does_not_rewrite_the_other_open_pull_requests() {
    let w = World::new(Setup {
        files: &[(
            "envs/hoodi/compose.yml",
            "services:\n  el:\n    image: ethereum/client-go:v1.14.12\n",
        )],
        ..Setup::default()
    });
    w.gh.add_releases("ethereum/go-ethereum", ["v1.14.12", "v1.15.0"]);
    w.run();
    let hoodi = w.pulls_in("hoodi");
    assert_eq!(hoodi.len(), 2);
    let lh = hoodi
        .iter()
        .find(|p| p.title.contains("lighthouse"))
        .unwrap();
    let geth = hoodi
        .iter()
        .find(|p| p.title.contains("go-ethereum"))
        .unwrap();
    w.at(t0() + hours(1));
    w.merge(lh.number);
    w.gh.clear_requests();
    w.at(t0() + hours(2));
    w.run();
    let after = w.gh.pull(REPO, geth.number);
    assert_eq!(after.head_sha, geth.head_sha, "not rebuilt on the new base");
    // Only the dependency dashboard is written, once: the merge (a
    // person's, not this pass's) put wave 1 to soak.
    let stats = w.gh.stats();
    assert_eq!(stats.writes, 1, "{:?}", stats.writes_by_operation);
    assert_eq!(
        stats.writes_by_operation.get("issues/update"),
        Some(&1),
        "{:?}",
        stats.writes_by_operation
    );
    // Its own file changing on the base does rebuild it.
    w.git.commit(
        "deploy",
        &[(
            "envs/hoodi/compose.yml",
            "services:\n  el:\n    image: ethereum/client-go:v1.14.12 # pinned by ops\n",
        )],
        "ops: note",
    );
    w.at(t0() + hours(3));
    w.run();
    let rebuilt = w.gh.pull(REPO, geth.number);
    assert_ne!(rebuilt.head_sha, geth.head_sha, "conflicting base: rebuilt");
    assert!(
        w.show(&rebuilt.head, "envs/hoodi/compose.yml")
            .contains("client-go:v1.15.0 # pinned by ops")
    );
}

#[test]
fn upkeep_now_must_be_a_time() {
    let w = World::new(Setup::default());
    let env = w.env();
    let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.retain(|(k, _)| *k != "UPKEEP_NOW");
    env.push(("UPKEEP_NOW", "next tuesday"));
    let out = upkeep_env(w.dir.path(), &["check"], &env);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("UPKEEP_NOW: `next tuesday` is not an RFC 3339 time"),
        "{}",
        stderr(&out)
    );
}

// Live verification, health gates and rollback, against a real Prometheus
// scraping a metrics endpoint the test controls.

/// Hoodi's containers: `new` of 8 on v7.0.0, the rest on v6.0.0; plus the
/// client metric the health gate reads.
fn hoodi_metrics(new: usize, lag: Option<u32>) -> String {
    let mut text = String::new();
    for i in 0..8 {
        let tag = if i < new { "v7.0.0" } else { "v6.0.0" };
        text.push_str(&kube_pod_container_info(
            "hoodi",
            &format!("beacon-{i}"),
            "lighthouse",
            &format!("sigp/lighthouse:{tag}"),
            &format!(
                "docker-pullable://sigp/lighthouse@sha256:{}",
                tag.replace('.', "").repeat(8)
            ),
        ));
    }
    if let Some(lag) = lag {
        text.push_str(&format!(
            "beacon_head_slot_lag{{namespace=\"hoodi\"}} {lag}\n"
        ));
    }
    text
}

/// Waits until Prometheus shows `new` containers on v7.0.0 (of 8).
fn converged_to(prom: &PrometheusServer, new: usize) {
    prom.wait_for(
        r#"count(kube_pod_container_info{namespace="hoodi",image="sigp/lighthouse:v7.0.0"}) or vector(0)"#,
        |r| samples(r).first().is_some_and(|(_, v)| v.parse::<f64>().ok() == Some(new as f64)),
        std::time::Duration::from_secs(60),
    );
}

fn verified_world(prom: &PrometheusServer, notes: &str) -> World {
    let extra = format!("prometheus:\n  url: {}\n", prom.url());
    // `World` borrows its setup only while it is built.
    let extra: &'static str = Box::leak(extra.into_boxed_str());
    let notes: &'static str = Box::leak(notes.to_string().into_boxed_str());
    World::new(Setup {
        hoodi: "        live:\n          selector: '{namespace=\"hoodi\"}'\n        health:\n          - name: synced\n            query: max(beacon_head_slot_lag{namespace=\"hoodi\"})\n            below: 5\n",
        extra: Box::leak(format!("  converge: 1h\n{extra}").into_boxed_str()),
        notes,
        ..Setup::default()
    })
}

/// The rollback pull request restores what the upgrade changed, byte for
/// byte, and touches nothing else.
fn assert_rollback_restores(w: &World, undone: u64) -> PullView {
    let rollback: Vec<PullView> = w
        .pulls()
        .into_iter()
        .filter(|p| p.labels.iter().any(|l| l == "rollback"))
        .collect();
    assert_eq!(rollback.len(), 1, "{:?}", w.pulls());
    let r = rollback[0].clone();
    assert_eq!(r.labels, ["hoodi", "rollback", "upkeep"]);
    assert_eq!(w.show(&r.head, HOODI_FILE), VALUES, "byte-exact");
    assert_eq!(w.show(&r.head, MAINNET_FILE), VALUES, "mainnet untouched");
    let body = r.body.clone().unwrap();
    assert!(body.contains(&format!("(#{undone})")), "{body}");
    assert!(body.contains("upkeep:fingerprint"), "{body}");
    r
}

#[test]
fn a_converged_healthy_wave_releases_the_next_one() {
    let prom = PrometheusServer::start_with(&hoodi_metrics(0, Some(1)));
    let w = verified_world(&prom, "");
    w.run();
    w.at(t0() + hours(1));
    w.merge(1);
    // The pods roll to the new tag.
    prom.target().set(&hoodi_metrics(8, Some(1)));
    converged_to(&prom, 8);
    w.at(t0() + hours(2));
    w.run();
    let s = w.status();
    assert_eq!(w.wave(&s, 1)["state"], "soaking", "{s}");
    assert!(w.pulls_in("mainnet").is_empty());
    w.at(t0() + hours(25));
    let out = w.run();
    assert_eq!(w.pulls_in("mainnet").len(), 1, "{out}");
    assert!(
        w.pulls()
            .iter()
            .all(|p| !p.labels.contains(&"rollback".to_string()))
    );
}

#[test]
fn one_container_of_eight_left_behind_blocks_and_rolls_back() {
    let prom = PrometheusServer::start_with(&hoodi_metrics(0, Some(1)));
    let w = verified_world(&prom, "");
    w.run();
    w.at(t0() + hours(1));
    w.merge(1);
    prom.target().set(&hoodi_metrics(7, Some(1)));
    converged_to(&prom, 7);
    // Within the converge window: it waits.
    w.at(t0() + hours(1) + Duration::minutes(30));
    w.run();
    let s = w.status();
    assert_eq!(w.wave(&s, 1)["state"], "soaking", "{s}");
    assert!(
        w.wave(&s, 1)["reason"]
            .as_str()
            .unwrap()
            .contains("verifying"),
        "{s}"
    );
    assert!(
        w.pulls()
            .iter()
            .all(|p| !p.labels.contains(&"rollback".to_string()))
    );
    // After it: drift, the alert says how many, a rollback opens.
    w.at(t0() + hours(2) + Duration::minutes(30));
    let out = w.run();
    assert!(
        out.contains("1 of 8 containers of sigp/lighthouse still run v6.0.0"),
        "{out}"
    );
    assert!(out.contains("rollback"), "{out}");
    assert_rollback_restores(&w, 1);
    let s = w.status();
    assert_eq!(w.wave(&s, 2)["state"], "blocked", "{s}");
    // Mainnet never opens; the rollback is not opened twice.
    w.at(t0() + hours(30));
    w.run();
    assert!(w.pulls_in("mainnet").is_empty());
    assert_eq!(
        w.pulls()
            .iter()
            .filter(|p| p.labels.contains(&"rollback".to_string()))
            .count(),
        1
    );
    let s = w.status();
    assert_eq!(w.wave(&s, 1)["state"], "rolled-back", "{s}");
}

#[test]
fn a_failing_health_gate_during_the_soak_rolls_back() {
    let prom = PrometheusServer::start_with(&hoodi_metrics(0, Some(1)));
    let w = verified_world(&prom, "");
    w.run();
    w.at(t0() + hours(1));
    w.merge(1);
    prom.target().set(&hoodi_metrics(8, Some(1)));
    converged_to(&prom, 8);
    w.at(t0() + hours(3));
    w.run();
    assert!(
        w.pulls()
            .iter()
            .all(|p| !p.labels.contains(&"rollback".to_string()))
    );
    // Ten hours into the soak the node falls behind.
    prom.target().set(&hoodi_metrics(8, Some(120)));
    prom.wait_for(
        r#"max(beacon_head_slot_lag{namespace="hoodi"})"#,
        |r| samples(r).first().is_some_and(|(_, v)| v == "120"),
        std::time::Duration::from_secs(60),
    );
    w.at(t0() + hours(11));
    let out = w.run();
    assert!(out.contains("synced"), "{out}");
    let r = assert_rollback_restores(&w, 1);
    let body = r.body.unwrap();
    assert!(body.contains("120"), "the value is quoted: {body}");
    assert!(
        body.contains("beacon_head_slot_lag"),
        "the query is quoted: {body}"
    );
}

#[test]
fn no_data_waits_then_fails_after_the_converge_window() {
    // The gate's metric is never there.
    let prom = PrometheusServer::start_with(&hoodi_metrics(0, None));
    let w = verified_world(&prom, "");
    w.run();
    w.at(t0() + hours(1));
    w.merge(1);
    prom.target().set(&hoodi_metrics(8, None));
    converged_to(&prom, 8);
    w.at(t0() + hours(1) + Duration::minutes(20));
    w.run();
    let s = w.status();
    assert!(
        w.wave(&s, 1)["reason"]
            .as_str()
            .unwrap()
            .contains("no data yet"),
        "{s}"
    );
    w.at(t0() + hours(2) + Duration::minutes(1));
    let out = w.run();
    assert!(out.contains("no data"), "{out}");
    assert_rollback_restores(&w, 1);
}

#[test]
fn an_irreversible_release_alerts_instead_of_rolling_back() {
    let prom = PrometheusServer::start_with(&hoodi_metrics(0, Some(1)));
    let notes =
        "## Breaking\n\nThis release performs a database migration: downgrading is not possible.\n";
    let w = verified_world(&prom, notes);
    w.run();
    w.at(t0() + hours(1));
    w.merge(1);
    prom.target().set(&hoodi_metrics(7, Some(1)));
    converged_to(&prom, 7);
    w.at(t0() + hours(3));
    let out = w.run();
    assert!(out.contains("no automatic rollback"), "{out}");
    assert!(out.contains("irreversible (db-migration: \""), "{out}");
    assert!(
        out.contains("database migration"),
        "the notes are quoted: {out}"
    );
    assert!(
        w.pulls()
            .iter()
            .all(|p| !p.labels.contains(&"rollback".to_string()))
    );
    let s = w.status();
    assert_eq!(w.wave(&s, 2)["state"], "blocked", "{s}");
    assert_eq!(s["alerts"][0]["kind"], "irreversible", "{s}");
}

#[test]
fn upkeep_rollback_undoes_the_last_merge_by_hand() {
    let w = World::new(Setup::default());
    w.run();
    w.at(t0() + hours(1));
    w.merge(1);
    w.at(t0() + hours(2));
    let (out, err, code) = w.upkeep(&["rollback", "--repository", REPO, "--environment", "hoodi"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("undoes #1"), "{out}");
    let r = assert_rollback_restores(&w, 1);
    assert!(r.body.unwrap().contains("requested by hand"));
    // The version is skipped there now: nothing reopens it.
    w.at(t0() + hours(3));
    w.run();
    let hoodi_upgrades = w
        .pulls_in("hoodi")
        .into_iter()
        .filter(|p| !p.labels.contains(&"rollback".to_string()))
        .count();
    assert_eq!(hoodi_upgrades, 1, "{:?}", w.pulls());
    // Nothing to roll back in an environment upkeep never changed.
    let (_, err, code) = w.upkeep(&["rollback", "--repository", REPO, "--environment", "mainnet"]);
    assert_eq!(code, 3);
    assert!(err.contains("nothing to roll back"), "{err}");
}

/// A compose tag held in the project's `.env` (`image: ...:${LH_TAG}`):
/// the upgrade bumps the `.env`, and `upkeep rollback` reads the compose
/// project as `run` did and restores the `.env` byte for byte.
#[test]
fn upkeep_rollback_restores_a_compose_tag_held_in_the_env_file() {
    const COMPOSE: &str = "services:\n  beacon:\n    image: sigp/lighthouse:${LH_TAG}\n";
    const ENV: &str = "# consensus\r\nLH_TAG=v6.0.0 # pinned\r\nNETWORK=hoodi\r\n";
    const ENV_FILE: &str = "envs/hoodi/.env";
    let w = World::new(Setup {
        files: &[("envs/hoodi/compose.yaml", COMPOSE), (ENV_FILE, ENV)],
        ..Setup::default()
    });
    w.run();
    let upgrade = w.pulls_in("hoodi");
    assert_eq!(upgrade.len(), 1, "{upgrade:?}");
    assert_eq!(
        w.show(&upgrade[0].head, ENV_FILE),
        ENV.replace("v6.0.0", "v7.0.0")
    );
    w.at(t0() + hours(1));
    w.merge(upgrade[0].number);
    w.at(t0() + hours(2));
    let (out, err, code) = w.upkeep(&["rollback", "--repository", REPO, "--environment", "hoodi"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let r = assert_rollback_restores(&w, upgrade[0].number);
    assert_eq!(w.show(&r.head, ENV_FILE), ENV, "the .env byte-exact");
    assert_eq!(w.show(&r.head, "envs/hoodi/compose.yaml"), COMPOSE);
    assert!(r.body.unwrap().contains(ENV_FILE));
}

// Coupled upgrades (#19): where an environment needs both layers for a
// fork, geth and lighthouse travel through the waves as one unit.

const EL_VALUES: &str = "execution:\n  image: ethereum/client-go:v1.17.0\n";

/// Glamsterdam on both networks in ten days: geth v1.17.1 is needed on
/// devnet-m, lighthouse v7.0.0 on both.
fn coupled_world(files: &[(&str, &str)]) -> World {
    coupled_world_with(files, "")
}

fn coupled_world_with(files: &[(&str, &str)], extra: &str) -> World {
    let extra = format!("rules:\n  directories: [rules]\n{extra}");
    let w = World::new(Setup {
        extra: &extra,
        files,
        ..Setup::default()
    });
    let rules = w.dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    let at = (t0() + Duration::days(10)).to_rfc3339();
    std::fs::write(
        rules.join("devnet.yml"),
        format!(
            "version: 1\nnetworks:\n  - name: devnet-h\n    kind: testnet\n  - name: devnet-m\n    kind: testnet\n\
             forks:\n  - name: Glamsterdam\n    activations:\n      devnet-h: {{time: {at}}}\n      devnet-m: {{time: {at}}}\n\
             \x20   minimum_versions:\n      ethereum/go-ethereum:\n        devnet-m: {{version: v1.17.1, source: test}}\n\
             \x20     sigp/lighthouse:\n        devnet-h: {{version: v7.0.0, source: test}}\n        devnet-m: {{version: v7.0.0, source: test}}\n"
        ),
    )
    .unwrap();
    w.gh.add_releases("ethereum/go-ethereum", ["v1.17.0", "v1.17.1"]);
    w
}

/// The pull request of `env` that moves `name`.
fn pull_of(w: &World, env: &str, name: &str) -> Option<PullView> {
    w.pulls_in(env).into_iter().find(|p| p.title.contains(name))
}

/// `rollout status --format json`: the waves of `upstream`.
fn waves_of(w: &World, upstream: &str) -> Vec<Value> {
    let s = w.status();
    s["rollouts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["upstream"] == upstream)
        .unwrap_or_else(|| panic!("no rollout of {upstream}: {s:#}"))["waves"]
        .as_array()
        .unwrap()
        .clone()
}

#[test]
fn coupled_layers_open_in_the_same_wave_and_one_held_holds_both() {
    // geth runs in mainnet only (its first wave); lighthouse runs in both,
    // so its mainnet wave waits for hoodi's soak: geth waits with it.
    let w = coupled_world(&[("envs/mainnet/el.yaml", EL_VALUES)]);
    let out = w.run();
    assert!(pull_of(&w, "hoodi", "lighthouse").is_some(), "{out}");
    assert!(
        w.pulls_in("mainnet").is_empty(),
        "geth must not open without lighthouse\n{out}"
    );
    let (plan, err, code) = w.upkeep(&["plan"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        plan.contains("waiting for sigp/lighthouse (coupled for Glamsterdam in mainnet)"),
        "{plan}"
    );
    let geth = waves_of(&w, "ethereum/go-ethereum");
    assert_eq!(geth[0]["state"], "pending");
    assert_eq!(
        geth[0]["reason"],
        "waiting for sigp/lighthouse (coupled for Glamsterdam in mainnet)"
    );
    let (table, _, _) = w.upkeep(&["rollout", "status"]);
    assert!(
        table.contains("waiting for sigp/lighthouse (coupled for Glamsterdam in mainnet)"),
        "{table}"
    );
    // Lighthouse merges in hoodi; both open in mainnet once it has soaked.
    w.at(t0() + hours(1));
    w.merge(pull_of(&w, "hoodi", "lighthouse").unwrap().number);
    w.at(t0() + hours(25) - Duration::seconds(1));
    w.run();
    assert!(w.pulls_in("mainnet").is_empty());
    w.at(t0() + hours(25));
    let out = w.run();
    assert!(pull_of(&w, "mainnet", "go-ethereum").is_some(), "{out}");
    assert!(pull_of(&w, "mainnet", "lighthouse").is_some(), "{out}");
}

#[test]
fn a_coupled_wave_is_done_only_when_both_layers_are_merged() {
    let w = coupled_world(&[
        ("envs/hoodi/el.yaml", EL_VALUES),
        ("envs/mainnet/el.yaml", EL_VALUES),
    ]);
    let out = w.run();
    let geth = pull_of(&w, "hoodi", "go-ethereum").unwrap_or_else(|| panic!("{out}"));
    let lh = pull_of(&w, "hoodi", "lighthouse").unwrap_or_else(|| panic!("{out}"));
    assert!(w.pulls_in("mainnet").is_empty(), "{out}");
    // geth merges at t0+1h; lighthouse stays open for a day and more.
    w.at(t0() + hours(1));
    w.merge(geth.number);
    w.at(t0() + hours(30));
    w.run();
    assert!(
        w.pulls_in("mainnet").is_empty(),
        "geth's soak has not started: lighthouse is not merged"
    );
    let waves = waves_of(&w, "ethereum/go-ethereum");
    assert_eq!(waves[0]["state"], "open", "{waves:#?}");
    assert!(
        waves[0]["reason"]
            .as_str()
            .unwrap()
            .contains("waiting for sigp/lighthouse (coupled for Glamsterdam in hoodi)"),
        "{waves:#?}"
    );
    assert!(
        waves[1]["reason"]
            .as_str()
            .unwrap()
            .starts_with("waits for wave 1 (hoodi): waiting for sigp/lighthouse"),
        "{waves:#?}"
    );
    // lighthouse merges at t0+30h: the wave soaks from then, for both.
    w.merge(lh.number);
    w.at(t0() + hours(54) - Duration::seconds(1));
    w.run();
    assert!(w.pulls_in("mainnet").is_empty());
    let waves = waves_of(&w, "ethereum/go-ethereum");
    assert_eq!(waves[0]["state"], "soaking");
    assert_eq!(time(&waves[0]["merged_at"]), t0() + hours(30));
    w.at(t0() + hours(54));
    let out = w.run();
    assert!(pull_of(&w, "mainnet", "go-ethereum").is_some(), "{out}");
    assert!(pull_of(&w, "mainnet", "lighthouse").is_some(), "{out}");
}

#[test]
fn a_coupled_pair_in_one_group_is_one_pull_request_per_wave() {
    let w = coupled_world_with(
        &[
            ("envs/hoodi/el.yaml", EL_VALUES),
            ("envs/mainnet/el.yaml", EL_VALUES),
        ],
        "pull_requests:\n  groups:\n    - name: el-cl\n      upstreams: [ethereum/go-ethereum, sigp/lighthouse]\n",
    );
    let out = w.run();
    let hoodi = w.pulls_in("hoodi");
    assert_eq!(hoodi.len(), 1, "{out}");
    assert!(
        hoodi[0].title.contains("go-ethereum") && hoodi[0].title.contains("lighthouse"),
        "{}",
        hoodi[0].title
    );
    assert!(w.pulls_in("mainnet").is_empty(), "{out}");
    w.at(t0() + hours(1));
    w.merge(hoodi[0].number);
    w.at(t0() + hours(25));
    let out = w.run();
    let mainnet = w.pulls_in("mainnet");
    assert_eq!(mainnet.len(), 1, "{out}");
    assert!(
        mainnet[0].title.contains("go-ethereum") && mainnet[0].title.contains("lighthouse"),
        "{}",
        mainnet[0].title
    );
}

#[test]
fn a_layer_waits_for_a_partner_that_gets_no_pull_request_of_its_own() {
    // lighthouse v7.0.0 is ignored: geth must not open alone in hoodi.
    let w = coupled_world_with(
        &[
            ("envs/hoodi/el.yaml", EL_VALUES),
            ("envs/mainnet/el.yaml", EL_VALUES),
        ],
        "pull_requests:\n  ignore:\n    - upstream: sigp/lighthouse\n      versions: [v7.0.0]\n",
    );
    let out = w.run();
    assert!(w.pulls().is_empty(), "{out}");
    let why = "waiting for sigp/lighthouse (coupled for Glamsterdam in hoodi): v7.0.0 is ignored (pull_requests.ignore)";
    let geth = waves_of(&w, "ethereum/go-ethereum");
    assert_eq!(geth[0]["state"], "pending", "{geth:#?}");
    assert_eq!(geth[0]["reason"], why);
    let (table, _, _) = w.upkeep(&["rollout", "status"]);
    assert!(table.contains(why), "{table}");
    let (json, _, _) = w.upkeep(&["check", "--format", "json"]);
    let v: Value = serde_json::from_str(&json).unwrap();
    let finding = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["upstream"] == "ethereum/go-ethereum" && f["environment"] == "hoodi")
        .unwrap_or_else(|| panic!("{v:#}"))
        .clone();
    assert_eq!(finding["rollout"]["reason"], why, "{finding:#}");
}

#[test]
fn the_last_wave_shows_the_layer_merged_first_waiting_for_its_partner() {
    let w = coupled_world(&[
        ("envs/hoodi/el.yaml", EL_VALUES),
        ("envs/mainnet/el.yaml", EL_VALUES),
    ]);
    w.run();
    w.at(t0() + hours(1));
    w.merge(pull_of(&w, "hoodi", "go-ethereum").unwrap().number);
    w.merge(pull_of(&w, "hoodi", "lighthouse").unwrap().number);
    w.at(t0() + hours(25));
    let out = w.run();
    let geth = pull_of(&w, "mainnet", "go-ethereum").unwrap_or_else(|| panic!("{out}"));
    let lh = pull_of(&w, "mainnet", "lighthouse").unwrap_or_else(|| panic!("{out}"));
    // geth merges in mainnet, the last wave; lighthouse is still open.
    w.at(t0() + hours(26));
    w.merge(geth.number);
    w.at(t0() + hours(27));
    w.run();
    let waves = waves_of(&w, "ethereum/go-ethereum");
    assert_eq!(waves[1]["state"], "open", "{waves:#?}");
    assert_eq!(
        waves[1]["reason"],
        "merged; waiting for sigp/lighthouse (coupled for Glamsterdam in mainnet): done when both are merged"
    );
    let (table, _, _) = w.upkeep(&["rollout", "status"]);
    assert!(
        table.contains("waiting for sigp/lighthouse (coupled for Glamsterdam in mainnet)"),
        "{table}"
    );
    let body = pull_of(&w, "mainnet", "lighthouse")
        .unwrap()
        .body
        .unwrap_or_default();
    println!("{body}");
    assert!(
        body.contains("| 2 | mainnet | **this pull request** |"),
        "{body}"
    );
    // lighthouse merges: both rollouts are done, nothing is left in flight.
    w.at(t0() + hours(28));
    w.merge(lh.number);
    w.at(t0() + hours(29));
    w.run();
    let s = w.status();
    assert!(s["rollouts"].as_array().unwrap().is_empty(), "{s:#}");
}
