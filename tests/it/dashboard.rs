//! The dependency dashboard issue end to end: `upkeep run` (job mode) and
//! `upkeep serve` against the GitHub double and a real git remote, with
//! time moved by `UPKEEP_NOW`. The issue is created once, found again by
//! its marker, edited only when its content changes, and its ticked boxes
//! (open now, rebase, roll back, retry) are acted on.

use chrono::Duration;
use serde_json::json;

use crate::serve::{SECRET, Served, wait_for};
use crate::support::github::Issue;
use crate::support::world::{HOODI_FILE, MAINNET_FILE, REPO, Setup, VALUES, World, hours, t0};

const MARKER: &str = "<!-- upkeep:dashboard -->";

/// The rollout world with `extra` top-level YAML and `files` more files,
/// its upkeep also given a webhook secret (for `serve`).
fn world(extra: &str, files: &[(&str, &str)]) -> World {
    let mut w = World::new(Setup {
        extra,
        files,
        ..Setup::default()
    });
    w.extra_env
        .push(("UPKEEP_GITHUB_WEBHOOK_SECRET", SECRET.to_string()));
    w
}

impl World {
    /// The repository's plain issues.
    fn issues(&self) -> Vec<Issue> {
        self.gh
            .with_state(|s| s.repo(REPO).map(|r| r.issues.clone()).unwrap_or_default())
    }

    /// The one dashboard issue's body.
    fn dashboard(&self) -> String {
        let issues = self.issues();
        assert_eq!(issues.len(), 1, "exactly one dashboard: {issues:?}");
        assert_eq!(issues[0].title, "Dependency dashboard");
        assert_eq!(issues[0].author, "upkeep[bot]");
        issues[0].body.clone().unwrap_or_default()
    }

    /// A person ticks the box whose line contains `words`.
    fn tick(&self, words: &str) -> String {
        let body = self.dashboard();
        let line = body
            .lines()
            .find(|l| l.contains("- [ ]") && l.contains(words))
            .unwrap_or_else(|| panic!("no box {words:?} in\n{body}"))
            .to_string();
        let ticked = body.replace(&line, &line.replace("- [ ]", "- [x]"));
        self.gh.with_state(|s| {
            s.repo_mut(REPO).unwrap().issues[0].body = Some(ticked.clone());
        });
        ticked
    }

    fn dashboard_writes(&self) -> usize {
        self.gh.requests_for("issues/create").len() + self.gh.requests_for("issues/update").len()
    }
}

#[test]
fn the_dashboard_is_created_once_and_edited_only_when_it_changes() {
    let w = world("", &[]);
    w.run();
    let body = w.dashboard();
    assert!(body.starts_with(MARKER), "{body}");
    assert!(body.contains("## Fork readiness"), "{body}");
    assert!(
        body.find("## Fork readiness") < body.find("## Due"),
        "readiness leads\n{body}"
    );
    assert!(body.contains("### `sigp/lighthouse` `v7.0.0`"), "{body}");
    assert!(body.contains("- wave 2 (`mainnet`): pending"), "{body}");
    assert_eq!(w.gh.requests_for("issues/create").len(), 1);

    // The next pass reads the pull request it opened back from GitHub.
    w.gh.clear_requests();
    w.at(t0() + Duration::minutes(10));
    w.run();
    assert_eq!(w.gh.requests_for("issues/create").len(), 0);
    let body = w.dashboard();
    assert!(body.contains("- wave 1 (`hoodi`): open"), "{body}");
    assert!(body.contains("- [ ] rebase #1"), "{body}");

    // Nothing changed: found again by its marker, not written.
    w.gh.clear_requests();
    w.at(t0() + Duration::minutes(20));
    w.run();
    assert_eq!(w.dashboard_writes(), 0, "{:?}", w.gh.requests());
    assert_eq!(w.gh.stats().writes, 0);
    let list = w.gh.requests_for("issues/list-for-repo");
    assert!(!list.is_empty());
    assert!(
        list.iter().all(|r| r
            .query
            .as_deref()
            .is_some_and(|q| q.contains("creator=upkeep%5Bbot%5D"))),
        "only upkeep's own issues are read: {:?}",
        list.iter().map(|r| &r.query).collect::<Vec<_>>()
    );

    // Wave 1 merges: the next pass edits the same issue.
    w.at(t0() + hours(1));
    w.merge(1);
    w.at(t0() + hours(2));
    w.gh.clear_requests();
    w.run();
    assert_eq!(w.gh.requests_for("issues/create").len(), 0);
    assert_eq!(w.gh.requests_for("issues/update").len(), 1);
    let body = w.dashboard();
    assert!(body.contains("- wave 1 (`hoodi`): soaking"), "{body}");
    assert!(body.contains("- [ ] open wave 2 now"), "{body}");
    assert!(body.contains("- [ ] roll back #1"), "{body}");

    // `plan` and `run --dry-run` never write it.
    w.gh.clear_requests();
    w.at(t0() + hours(3));
    let (_, err, _) = w.upkeep(&["plan"]);
    let (_, err2, _) = w.upkeep(&["run", "--dry-run"]);
    assert_eq!(w.dashboard_writes(), 0, "{err}\n{err2}");
}

/// No one-pass lag: the run that opens a pull request renders the
/// dashboard from what it left behind, so the issue already names that
/// pull request and its wave as open, and the next run has nothing to edit.
#[test]
fn the_run_that_opens_a_pull_request_shows_it_on_the_dashboard_at_once() {
    let w = world("", &[]);
    w.run();
    let pulls = w.gh.pulls(REPO);
    assert_eq!(pulls.len(), 1, "wave 1 only: {pulls:?}");
    let number = pulls[0].number;
    let body = w.dashboard();
    assert!(
        body.lines()
            .any(|l| l.starts_with("- wave 1 (`hoodi`): open")
                && l.ends_with(&format!("(#{number})"))),
        "wave 1 open with its pull request\n{body}"
    );
    assert!(
        body.contains(&format!(
            "- [ ] rebase #{number} (`sigp/lighthouse` `v7.0.0`)"
        )),
        "listed among the open pull requests\n{body}"
    );
    assert!(
        body.lines()
            .any(|l| l.contains("in `hoodi`") && l.ends_with(&format!(", #{number}"))),
        "its due line names it\n{body}"
    );
    assert_eq!(w.gh.requests_for("issues/create").len(), 1);
    assert_eq!(w.gh.requests_for("issues/update").len(), 0, "written once");

    // The next run, with nothing new, writes nothing at all.
    w.gh.clear_requests();
    w.at(t0() + Duration::minutes(10));
    w.run();
    assert_eq!(
        w.gh.stats().writes,
        0,
        "{:?}",
        w.gh.stats().writes_by_operation
    );
    assert_eq!(w.dashboard(), body);
}

#[test]
fn someone_elses_issue_with_the_marker_is_not_the_dashboard() {
    let w = world("", &[]);
    // A forged dashboard by another user, with a ticked box.
    w.gh.with_state(|s| {
        s.user("mallory");
        let repo = s.repo_mut(REPO).unwrap();
        let number = repo.next_number;
        repo.next_number += 1;
        repo.issues.push(Issue {
            id: 999_001,
            number,
            title: "Dependency dashboard".into(),
            body: Some(format!(
                "{MARKER}\n- [x] roll back <!-- upkeep:box rollback 1 -->\n"
            )),
            author: "mallory".into(),
            open: true,
            labels: Vec::new(),
            created_at: t0(),
            updated_at: t0(),
            closed_at: None,
        });
    });
    w.run();
    let issues = w.issues();
    assert_eq!(issues.len(), 2, "{issues:?}");
    assert!(
        issues[0]
            .body
            .as_deref()
            .unwrap()
            .contains("- [x] roll back")
    );
    assert_eq!(issues[1].author, "upkeep[bot]");
}

#[test]
fn dashboard_false_writes_no_issue_at_the_top_level_or_in_the_repository_file() {
    let w = world("dashboard: false\n", &[]);
    w.run();
    assert!(w.issues().is_empty());
    assert!(w.gh.requests_for("issues/list-for-repo").is_empty());

    let w = world("", &[(".github/upkeep.yml", "dashboard: false\n")]);
    w.run();
    assert!(w.issues().is_empty(), "{:?}", w.issues());
    assert!(!w.gh.pulls(REPO).is_empty(), "pull requests still open");
}

#[test]
fn open_now_opens_wave_two_before_its_soak_and_the_box_comes_back_unticked() {
    let w = world("", &[]);
    w.run();
    w.at(t0() + hours(1));
    w.merge(1);
    w.at(t0() + hours(2));
    w.run();
    assert!(w.gh.pulls(REPO).iter().all(|p| p.number == 1), "soaking");
    w.tick("open wave 2 now");

    w.at(t0() + hours(3));
    let out = w.run();
    let mainnet: Vec<_> =
        w.gh.pulls(REPO)
            .into_iter()
            .filter(|p| p.labels.iter().any(|l| l == "mainnet"))
            .collect();
    assert_eq!(mainnet.len(), 1, "opened ahead of the soak\n{out}");
    assert_eq!(
        w.git_show(&mainnet[0].head, MAINNET_FILE),
        VALUES.replace("v6.0.0", "v7.0.0")
    );
    let body = w.dashboard();
    assert!(!body.contains("- [x]"), "{body}");
    assert!(
        !body.contains("open wave 2 now (skip"),
        "not offered again: {body}"
    );
    assert!(body.contains("## Done from this dashboard"), "{body}");
    assert!(
        body.contains(&format!(
            "- open wave 2 of `sigp/lighthouse` `v7.0.0` now: pull request opened (#{})",
            mainnet[0].number
        )),
        "{body}"
    );
}

impl World {
    fn git_show(&self, rev: &str, path: &str) -> String {
        let bare = self.git.bare_path("deploy");
        let out = std::process::Command::new("git")
            .args([
                "--git-dir",
                bare.to_str().unwrap(),
                "show",
                &format!("{rev}:{path}"),
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    }
}

#[test]
fn roll_back_opens_a_rollback_pull_request() {
    let w = world("", &[]);
    w.run();
    w.at(t0() + hours(1));
    w.merge(1);
    w.at(t0() + hours(2));
    w.run();
    w.tick("roll back #1");
    w.at(t0() + hours(3));
    w.run();
    let rollbacks: Vec<_> =
        w.gh.pulls(REPO)
            .into_iter()
            .filter(|p| p.labels.iter().any(|l| l == "rollback"))
            .collect();
    assert_eq!(rollbacks.len(), 1, "{:?}", w.gh.pulls(REPO));
    assert_eq!(w.git_show(&rollbacks[0].head, HOODI_FILE), VALUES);
    let body = w.dashboard();
    assert!(!body.contains("- [x]"), "{body}");
    assert!(
        body.contains(&format!(
            "- roll back #1: rollback pull request opened (#{})",
            rollbacks[0].number
        )),
        "{body}"
    );
}

#[test]
fn rebase_rebuilds_the_pull_request_on_the_current_base() {
    let w = world("", &[]);
    w.run();
    let before = w.gh.pull(REPO, 1);
    // Someone pushes an unrelated change to main: the branch stays as it is.
    w.git
        .commit("deploy", &[("README.md", "deploy repo\n")], "docs");
    w.at(t0() + Duration::minutes(30));
    w.run();
    assert_eq!(w.gh.pull(REPO, 1).head_sha, before.head_sha, "left alone");
    w.tick("rebase #1");
    w.at(t0() + hours(1));
    w.run();
    let after = w.gh.pull(REPO, 1);
    assert_ne!(after.head_sha, before.head_sha, "rebuilt");
    assert_eq!(w.git_show(&after.head, "README.md"), "deploy repo\n");
    let body = w.dashboard();
    assert!(body.contains("rebuilt on the current base"), "{body}");
    assert!(!body.contains("- [x]"), "{body}");
}

fn issues_edited(number: u64, body: &str, sender: &str, kind: &str) -> serde_json::Value {
    json!({
        "action": "edited",
        "issue": {"number": number, "title": "Dependency dashboard", "body": body, "state": "open"},
        "changes": {"body": {"from": ""}},
        "repository": {"id": 1, "full_name": REPO, "name": "deploy"},
        "sender": {"login": sender, "type": kind},
    })
}

#[test]
fn serve_acts_on_a_ticked_box_when_the_issue_is_edited() {
    let w = world("", &[]);
    w.run();
    w.at(t0() + hours(1));
    w.merge(1);
    w.at(t0() + hours(2));
    w.run();
    let env = w.env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let served = Served::start(w.dir.path(), &env);
    let number = w.issues()[0].number;

    // upkeep's own edit (no box ticked) and a bot's edit start nothing.
    let plain = w.dashboard();
    assert_eq!(
        served.webhook(
            "issues",
            "d-1",
            &issues_edited(number, &plain, "alice", "User")
        ),
        204
    );
    let line = plain
        .lines()
        .find(|l| l.contains("- [ ] roll back #1"))
        .unwrap();
    let ticked = plain.replace(line, &line.replace("- [ ]", "- [x]"));
    assert_eq!(
        served.webhook(
            "issues",
            "d-2",
            &issues_edited(number, &ticked, "ci[bot]", "Bot")
        ),
        204
    );
    assert!(
        w.gh.pulls(REPO)
            .iter()
            .all(|p| !p.labels.iter().any(|l| l == "rollback"))
    );
    // A person's tick: a pass of the repository acts on it.
    let ticked = w.tick("roll back #1");
    assert_eq!(
        served.webhook(
            "issues",
            "d-3",
            &issues_edited(number, &ticked, "alice", "User")
        ),
        202
    );
    wait_for(
        120,
        "the rollback pull request",
        || served.log(),
        || {
            w.gh.pulls(REPO)
                .iter()
                .any(|p| p.labels.iter().any(|l| l == "rollback"))
        },
    );
    wait_for(
        60,
        "the box unticked",
        || served.log(),
        || !w.dashboard().contains("- [x]"),
    );
    assert!(
        w.dashboard()
            .contains("- roll back #1: rollback pull request opened")
    );
    drop(served);
}

#[test]
fn a_realistic_dashboard_leads_with_readiness() {
    // A fork on mainnet's network in 3 days, lighthouse v7.0.0 needed there;
    // a moving tag (skipped) and a file that does not parse.
    let w = world(
        "rules:\n  directories: [rules]\n",
        &[
            (
                "envs/hoodi/docker-compose.yml",
                "services:\n  grafana:\n    image: grafana/grafana:latest\n",
            ),
            (
                "envs/mainnet/broken/values.yaml",
                "image:\n  repository: sigp/lighthouse\n  tag: [v6.0.0\n",
            ),
        ],
    );
    let rules = w.dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    let at = (t0() + Duration::days(3)).to_rfc3339();
    std::fs::write(
        rules.join("devnet.yml"),
        format!(
            "version: 1\nnetworks:\n  - name: devnet-m\n    kind: testnet\nforks:\n  - name: Glamsterdam\n    activations:\n      devnet-m: {{time: {at}}}\n    minimum_versions:\n      sigp/lighthouse:\n        devnet-m: {{version: v7.0.0, source: test}}\n"
        ),
    )
    .unwrap();
    let (out, err, _) = w.upkeep(&["run"]);
    w.at(t0() + hours(1));
    w.merge(1);
    w.at(t0() + hours(2));
    let (out2, err2, _) = w.upkeep(&["run"]);
    let body = w.dashboard();
    let context = format!("{out}\n{err}\n{out2}\n{err2}\n{body}");
    assert!(
        body.contains("- **mainnet: not ready for Glamsterdam"),
        "{context}"
    );
    assert!(
        body.find("## Fork readiness") < body.find("## Due"),
        "{context}"
    );
    assert!(body.contains("soaking"), "{context}");
    assert!(body.contains("## Ignored or skipped"), "{context}");
    assert!(body.contains("## Problems"), "{context}");
    insta::assert_snapshot!("dashboard_body", body);
}

#[test]
fn the_dashboard_setting_defaults_on_and_a_repository_entry_wins() {
    use std::collections::HashMap;
    use upkeep::domain::settings::load_str;
    let s = load_str(
        "dashboard: false\nrepositories:\n  - github: acme/a\n    dashboard: true\n  - github: acme/b\n",
        "upkeep.yml",
        None,
        &HashMap::new(),
    )
    .unwrap();
    assert!(s.repositories[0].dashboard(&s));
    assert!(!s.repositories[1].dashboard(&s));
    let s = load_str(
        "repositories:\n  - github: acme/a\n",
        "upkeep.yml",
        None,
        &HashMap::new(),
    )
    .unwrap();
    assert!(s.repositories[0].dashboard(&s), "on by default");
    let e = load_str("dashboard: maybe\n", "upkeep.yml", None, &HashMap::new())
        .unwrap_err()
        .to_string();
    assert!(e.contains("upkeep.yml:1"), "{e}");
}
