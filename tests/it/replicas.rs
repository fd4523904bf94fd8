//! Several `upkeep serve` processes on one real PostgreSQL database,
//! against the GitHub double and a real git remote: a delivery runs once
//! whichever replicas get it; a burst spread over replicas never runs a
//! repository twice at once; a replica killed (SIGKILL) in the middle of a
//! pass, or of an `@upkeep rollback`, is taken over by another once its
//! lease runs out, with no pull request or comment twice; a scheduled
//! digest is sent once.
//! Leases are short here (`UPKEEP_LEASE_MS`), and replicas look for work
//! often (`UPKEEP_CLAIM_INTERVAL_MS`).

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Value, json};
use upkeep::io::store::Store;

use crate::serve::{Served, slack_header, wait_for};
use crate::support::git_http::GitServer;
use crate::support::github::{Caller, GitHubDouble, PullView, Repo};
use crate::support::postgres;

const TOKEN: &str = "ghp_replicas_token_0123456789";
const FILE: &str = "envs/hoodi/values.yaml";
const VALUES: &str = "image:\n  repository: sigp/lighthouse\n  tag: v6.0.0\n";

/// Deployment repositories on a git remote and the GitHub double, with
/// sigp/lighthouse v7.0.0 out; replicas started on one database.
struct Cluster {
    dir: tempfile::TempDir,
    gh: GitHubDouble,
    #[allow(dead_code)]
    git: GitServer,
    url: String,
    replicas: Vec<Served>,
}

impl Cluster {
    fn new(repos: &[&str]) -> Option<Cluster> {
        let url = postgres::database()?;
        let dir = tempfile::tempdir().unwrap();
        let gh = GitHubDouble::start();
        let git = GitServer::start("x-access-token", TOKEN);
        let mut settings = String::from("repositories:\n");
        for full in repos {
            let name = full.split_once('/').unwrap().1;
            git.create_repo(name, &[(FILE, VALUES)]);
            gh.add_repo(
                Repo::new(full)
                    .default_branch("main")
                    .clone_url(&git.url(name))
                    .git_dir(git.bare_path(name)),
            );
            settings.push_str(&format!("  - github: {full}\n"));
        }
        settings.push_str(
            "registries:\n  require_published: false\n  mirrors:\n    docker.io: http://127.0.0.1:9\n",
        );
        std::fs::write(dir.path().join("upkeep.yml"), settings).unwrap();
        gh.set_login(Caller::Token(TOKEN), "upkeep[bot]");
        gh.add_releases("sigp/lighthouse", ["v6.0.0", "v7.0.0"]);
        Some(Cluster {
            dir,
            gh,
            git,
            url,
            replicas: Vec::new(),
        })
    }

    /// Starts `n` replicas (each with a cache of its own, as pods have),
    /// with leases of `lease_ms`.
    fn start(&mut self, n: usize, lease_ms: u64, extra: &[(&str, &str)]) {
        let lease = lease_ms.to_string();
        let started: Vec<Served> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..n)
                .map(|i| {
                    let cache = self.dir.path().join(format!("cache-{i}"));
                    let (dir, url, gh, lease) = (self.dir.path(), &self.url, self.gh.url(), &lease);
                    s.spawn(move || {
                        let mut env = vec![
                            ("UPKEEP_GITHUB_API_URL", gh),
                            ("UPKEEP_GITHUB_TOKEN", TOKEN),
                            ("UPKEEP_GITHUB_WEBHOOK_SECRET", crate::serve::SECRET),
                            ("UPKEEP_STATE", url.as_str()),
                            ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
                            ("UPKEEP_LEASE_MS", lease.as_str()),
                            ("UPKEEP_CLAIM_INTERVAL_MS", "200"),
                        ];
                        env.extend_from_slice(extra);
                        Served::start(dir, &env)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        self.replicas.extend(started);
    }

    fn logs(&self) -> String {
        self.replicas
            .iter()
            .enumerate()
            .map(|(i, r)| format!("--- replica {i}\n{}", r.log()))
            .collect()
    }

    fn store(&self) -> Store {
        Store::open_from(Some(&self.url)).unwrap()
    }

    /// upkeep's pull requests of `repo`.
    fn pulls(&self, repo: &str) -> Vec<PullView> {
        self.gh
            .pulls(repo)
            .into_iter()
            .filter(|p| p.title.contains("v7.0.0"))
            .collect()
    }

    /// Every pass each replica ran: (repository, started ms, done ms).
    fn passes(&self) -> Vec<(String, i64, i64)> {
        let mut out = Vec::new();
        for r in &self.replicas {
            let mut open: Option<(String, i64)> = None;
            for line in r.log().lines() {
                let at = field(line, "at_ms=").and_then(|v| v.parse::<i64>().ok());
                let repos = field(line, "repositories=").unwrap_or_default();
                if line.contains(" pass started ") {
                    open = Some((repos, at.unwrap()));
                } else if line.contains(" pass done ") || line.contains(" check done ") {
                    let (repos, start) = open.take().expect("a pass done after it started");
                    out.push((repos, start, at.unwrap()));
                }
            }
        }
        out
    }
}

/// The value of `key` in a log line (up to the next space).
fn field(line: &str, key: &str) -> Option<String> {
    let rest = &line[line.find(key)? + key.len()..];
    Some(rest.split(' ').next().unwrap_or_default().to_string())
}

fn push(repo: &str) -> Value {
    json!({
        "ref": "refs/heads/main",
        "before": "0000000000000000000000000000000000000000",
        "after": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
        "created": false,
        "deleted": false,
        "forced": false,
        "repository": {"full_name": repo, "default_branch": "main", "name": repo.split_once('/').unwrap().1},
        "commits": [{"id": "6113728f27ae82c7b1a177c8d03f9e96e0adf246", "added": [], "removed": [], "modified": [FILE]}],
        "head_commit": null
    })
}

/// Every pass requested is done and no lease is held.
fn settled(store: &Store) -> bool {
    store.pending_passes().unwrap() == 0
}

#[test]
fn a_delivery_sent_to_every_replica_runs_once() {
    let Some(mut c) = Cluster::new(&["acme/deploy"]) else {
        return;
    };
    c.start(2, 5_000, &[]);
    let payload = push("acme/deploy");
    let mut statuses: Vec<u16> = c
        .replicas
        .iter()
        .map(|r| r.webhook("push", "delivery-1", &payload))
        .collect();
    statuses.sort();
    assert_eq!(
        statuses,
        [200, 202],
        "one replica takes it, the other sees a duplicate"
    );
    let store = c.store();
    wait_for(
        60,
        "the pull request",
        || c.logs(),
        || !c.pulls("acme/deploy").is_empty() && settled(&store),
    );
    assert_eq!(
        c.pulls("acme/deploy").len(),
        1,
        "{:?}",
        c.gh.pulls("acme/deploy")
    );
    let passes = c.passes();
    assert_eq!(passes.len(), 1, "{passes:?}\n{}", c.logs());
    c.gh.assert_no_unexpected();
}

#[test]
fn a_burst_over_three_replicas_never_runs_a_repository_twice_at_once() {
    let repos = ["acme/r0", "acme/r1", "acme/r2"];
    let Some(mut c) = Cluster::new(&repos) else {
        return;
    };
    // Slow answers: a pass outlasts a lease, so only renewing keeps it.
    c.gh.set_latency(Duration::from_millis(40));
    c.start(3, 600, &[]);
    for i in 0..12 {
        let repo = repos[i % 3];
        let replica = &c.replicas[(i / 3) % 3];
        let status = replica.webhook("push", &format!("burst-{i}"), &push(repo));
        assert_eq!(status, 202, "{}", c.logs());
    }
    let store = c.store();
    wait_for(
        90,
        "every repository's pull request",
        || c.logs(),
        || settled(&store) && repos.iter().all(|r| !c.pulls(r).is_empty()),
    );
    let passes = c.passes();
    let mut by_repo: BTreeMap<String, Vec<(i64, i64)>> = BTreeMap::new();
    for (repo, start, end) in &passes {
        by_repo
            .entry(repo.clone())
            .or_default()
            .push((*start, *end));
    }
    assert_eq!(by_repo.len(), 3, "{passes:?}");
    for (repo, mut spans) in by_repo {
        spans.sort();
        for pair in spans.windows(2) {
            assert!(
                pair[0].1 <= pair[1].0,
                "{repo}: two passes at once {pair:?}\n{}",
                c.logs()
            );
        }
    }
    for r in repos {
        assert_eq!(c.pulls(r).len(), 1, "{r}: {:?}", c.gh.pulls(r));
    }
    c.gh.assert_no_unexpected();
}

#[test]
fn a_replica_killed_mid_pass_is_taken_over_without_duplicates() {
    let Some(mut c) = Cluster::new(&["acme/deploy"]) else {
        return;
    };
    c.start(2, 1_500, &[]);
    // The pass has pushed its branch and is opening the pull request when
    // its replica dies.
    let gate = c.gh.hold_next("POST", "/repos/acme/deploy/pulls");
    assert_eq!(
        c.replicas[0].webhook("push", "kill-1", &push("acme/deploy")),
        202
    );
    wait_for(
        60,
        "the pull request being opened",
        || c.logs(),
        || gate.held.load(Ordering::SeqCst),
    );
    // Whichever replica ran it dies: find it by its log.
    let victim = c
        .replicas
        .iter()
        .position(|r| r.log().contains(" pass started "))
        .unwrap();
    c.replicas[victim].child.kill().unwrap();
    c.replicas[victim].child.wait().unwrap();
    let store = c.store();
    wait_for(
        60,
        "the pass taken over",
        || c.logs(),
        || !c.pulls("acme/deploy").is_empty() && settled(&store),
    );
    gate.abandon.store(true, Ordering::SeqCst);
    let survivor = &c.replicas[1 - victim];
    assert!(survivor.log().contains("pass claimed"), "{}", c.logs());
    let pulls = c.pulls("acme/deploy");
    assert_eq!(pulls.len(), 1, "{:?}", c.gh.pulls("acme/deploy"));
    let mut comments = pulls[0].comments.clone();
    comments.dedup();
    assert_eq!(comments, pulls[0].comments, "a comment twice");
    // The killed replica's request never reached GitHub (it was held);
    // the survivor's did, once.
    assert_eq!(c.gh.requests_for("pulls/create").len(), 1);
}

#[test]
fn a_replica_killed_mid_rollback_is_taken_over_without_duplicates() {
    let Some(mut c) = Cluster::new(&["acme/deploy"]) else {
        return;
    };
    c.start(2, 1_500, &[]);
    let store = c.store();
    // An upgrade opened through the replicas, and merged.
    assert_eq!(
        c.replicas[0].webhook("push", "rb-push", &push("acme/deploy")),
        202
    );
    wait_for(
        60,
        "the upgrade",
        || c.logs(),
        || !c.pulls("acme/deploy").is_empty() && settled(&store),
    );
    let upgrade = c.pulls("acme/deploy").remove(0);
    c.gh.merge_pr("acme/deploy", upgrade.number);
    // The rollback's replica dies while opening the rollback pull request.
    let gate = c.gh.hold_next("POST", "/repos/acme/deploy/pulls");
    let comment = crate::serve::pull_comment(&upgrade, "@upkeep rollback", "alice", "MEMBER");
    assert_eq!(
        c.replicas[1].webhook("issue_comment", "rb-1", &comment),
        202
    );
    wait_for(
        60,
        "the rollback being opened",
        || c.logs(),
        || gate.held.load(Ordering::SeqCst),
    );
    let victim = c
        .replicas
        .iter()
        .position(|r| r.log().contains("job=Rollback"))
        .unwrap();
    c.replicas[victim].child.kill().unwrap();
    c.replicas[victim].child.wait().unwrap();
    let rollbacks = || -> Vec<PullView> {
        c.gh.pulls("acme/deploy")
            .into_iter()
            .filter(|p| p.labels.iter().any(|l| l == "rollback"))
            .collect()
    };
    wait_for(
        60,
        "the rollback taken over",
        || c.logs(),
        || !c.gh.pull("acme/deploy", upgrade.number).comments.is_empty() && settled(&store),
    );
    gate.abandon.store(true, Ordering::SeqCst);
    let survivor = &c.replicas[1 - victim];
    assert!(survivor.log().contains("jobs claimed"), "{}", c.logs());
    let r = rollbacks();
    assert_eq!(r.len(), 1, "{:?}", c.gh.pulls("acme/deploy"));
    assert_eq!(
        c.gh.pull("acme/deploy", upgrade.number).comments,
        [format!(
            "Rollback opened at @alice's request: #{}.",
            r[0].number
        )]
    );
    // The upgrade and the rollback: the killed replica's request was held.
    assert_eq!(c.gh.requests_for("pulls/create").len(), 2);
}

#[test]
fn a_scheduled_digest_is_sent_once_per_tick_by_three_replicas() {
    use crate::support::slack::SlackDouble;
    let Some(mut c) = Cluster::new(&["acme/deploy"]) else {
        return;
    };
    let settings = std::fs::read_to_string(c.dir.path().join("upkeep.yml")).unwrap();
    std::fs::write(
        c.dir.path().join("upkeep.yml"),
        format!("{settings}slack:\n  digest: \"*/2 * * * * *\"\n"),
    )
    .unwrap();
    let slack = SlackDouble::start();
    let url = slack.webhook("default");
    c.start(3, 5_000, &[("UPKEEP_SLACK_WEBHOOK_URL", &url)]);
    // Per digest tick: how many replicas claimed it, how many saw it
    // claimed by another.
    let ticks = |logs: &[String]| -> BTreeMap<String, (usize, usize)> {
        let mut out: BTreeMap<String, (usize, usize)> = BTreeMap::new();
        for log in logs {
            for line in log.lines().filter(|l| l.contains("schedule=\"digest\"")) {
                let tick = field(line, "tick=").unwrap();
                let entry = out.entry(tick).or_default();
                if line.contains(" tick claimed ") {
                    entry.0 += 1;
                } else if line.contains(" fired on another replica ") {
                    entry.1 += 1;
                }
            }
        }
        out
    };
    wait_for(
        60,
        "two ticks all three replicas competed for",
        || c.logs(),
        || {
            let logs: Vec<String> = c.replicas.iter().map(Served::log).collect();
            ticks(&logs)
                .values()
                .filter(|(won, lost)| won + lost == 3)
                .count()
                >= 2
        },
    );
    let mut logs = Vec::new();
    for r in c.replicas.drain(..) {
        let (code, log) = r.stop();
        assert_eq!(code, Some(0), "{log}");
        logs.push(log);
    }
    let ticks = ticks(&logs);
    for (tick, (won, _)) in &ticks {
        assert_eq!(*won, 1, "tick {tick} claimed by {won} replicas: {ticks:?}");
    }
    // Each claimed tick ran one digest, on its replica only.
    let digests = slack
        .payloads("default")
        .iter()
        .map(slack_header)
        .filter(|h| h.starts_with("upkeep: "))
        .count();
    assert!(
        digests >= 1 && digests <= ticks.len(),
        "{digests} digests for {ticks:?}"
    );
}

#[test]
fn readyz_fails_while_the_database_does_not_answer() {
    let Some(mut c) = Cluster::new(&["acme/deploy"]) else {
        return;
    };
    c.start(1, 5_000, &[]);
    let r = &c.replicas[0];
    let ready = || r.http("GET", "/readyz", &[], b"").0;
    wait_for(30, "ready", || c.logs(), || ready() == 200);
    postgres::set_reachable(&c.url, false);
    wait_for(30, "not ready", || c.logs(), || ready() == 503);
    assert_eq!(
        r.http("GET", "/healthz", &[], b"").0,
        200,
        "alive all the same"
    );
    postgres::set_reachable(&c.url, true);
    wait_for(30, "ready again", || c.logs(), || ready() == 200);
    assert!(
        r.log().contains("the state store does not answer"),
        "{}",
        c.logs()
    );
}

#[test]
fn the_postgres_deployment_runs_replicas_with_a_disruption_budget() {
    let docs = crate::serve::yaml_docs("deploy/kubernetes/app-postgres.yaml");
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        ["ConfigMap", "Deployment", "PodDisruptionBudget", "Service"]
    );
    let deployment = &docs[1];
    assert!(deployment["spec"]["replicas"].as_i64().unwrap() >= 2);
    let labels = &deployment["spec"]["selector"]["matchLabels"];
    assert_eq!(&docs[2]["spec"]["selector"]["matchLabels"], labels);
    assert_eq!(docs[2]["spec"]["minAvailable"].as_i64(), Some(1));
    assert_eq!(&docs[3]["spec"]["selector"], labels);
    let c = &deployment["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(
        c["readinessProbe"]["httpGet"]["path"].as_str(),
        Some("/readyz")
    );
    let state = c["env"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|e| e["name"].as_str() == Some(upkeep::env::STATE))
        .expect("UPKEEP_STATE");
    assert_eq!(
        state["valueFrom"]["secretKeyRef"]["name"].as_str(),
        Some("upkeep-postgres"),
        "the database URL (with its password) comes from a Secret"
    );
    // No volume shared between replicas: the state is in the database.
    let volumes = deployment["spec"]["template"]["spec"]["volumes"]
        .as_vec()
        .unwrap();
    assert!(
        volumes
            .iter()
            .all(|v| v["persistentVolumeClaim"].is_badvalue())
    );
}
