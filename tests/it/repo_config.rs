//! Per-repository settings (`.github/upkeep.yml` on the default branch),
//! end to end with `upkeep run`: the binary against the GitHub double, each
//! deployment repository on a real git smart-HTTP remote.

use crate::support::git_http::GitServer;
use crate::support::github::{Caller, GitHubDouble, Repo};
use crate::support::{stderr, stdout, upkeep_env};

const TOKEN: &str = "ghp_repo_config_token_0123";
const HOODI: &str = "services:\n  cl:\n    image: sigp/lighthouse:v6.0.0\n";

/// Three clients, each one release behind.
const THREE: &str = "services:\n  cl:\n    image: sigp/lighthouse:v6.0.0\n  el:\n    image: ethereum/client-go:v1.14.0\n  nm:\n    image: nethermind/nethermind:1.30.0\n";

/// The registries of every world: no registry is asked.
const REGISTRIES: &str =
    "registries:\n  require_published: false\n  mirrors:\n    docker.io: http://127.0.0.1:9\n";

struct World {
    dir: tempfile::TempDir,
    gh: GitHubDouble,
    _git: GitServer,
    /// `UPKEEP_NOW`, when set.
    now: std::cell::RefCell<Option<String>>,
}

impl World {
    /// `acme/deploy` with `.github/upkeep.yml` = `repo_file`, and
    /// `acme/other` without one; the settings name both, no environments.
    fn new(repo_file: &str) -> World {
        World::with(
            &[
                ("envs/hoodi/docker-compose.yml", HOODI),
                (".github/upkeep.yml", repo_file),
            ],
            &[("compose.yml", HOODI)],
            "",
        )
    }

    /// `acme/deploy` and `acme/other` with these files, and the settings
    /// naming both followed by `settings`.
    fn with(deploy: &[(&str, &str)], other: &[(&str, &str)], settings: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let gh = GitHubDouble::start();
        let git = GitServer::start("x-access-token", TOKEN);
        git.create_repo("deploy", deploy);
        git.create_repo("other", other);
        for name in ["deploy", "other"] {
            gh.add_repo(
                Repo::new(&format!("acme/{name}"))
                    .default_branch("main")
                    .clone_url(&git.url(name))
                    .git_dir(git.bare_path(name)),
            );
        }
        gh.set_login(Caller::Token(TOKEN), "upkeep[bot]");
        gh.add_releases("sigp/lighthouse", ["v6.0.0", "v7.0.0"]);
        gh.add_releases("ethereum/go-ethereum", ["v1.14.0", "v1.15.0"]);
        gh.add_releases("NethermindEth/nethermind", ["1.30.0", "1.31.0"]);
        std::fs::write(
            dir.path().join("upkeep.yml"),
            format!(
                "repositories:\n  - github: acme/deploy\n  - github: acme/other\n{REGISTRIES}{settings}"
            ),
        )
        .unwrap();
        World {
            dir,
            gh,
            _git: git,
            now: Default::default(),
        }
    }

    /// Moves time, for upkeep and for GitHub.
    fn at(&self, t: &str) {
        *self.now.borrow_mut() = Some(t.to_string());
        self.gh.set_time(t.parse().unwrap());
    }

    fn run(&self) -> (String, String, i32) {
        let state = self.dir.path().join("state.sqlite3");
        let cache = self.dir.path().join("cache");
        let now = self.now.borrow().clone();
        let mut env = vec![
            ("UPKEEP_GITHUB_API_URL", self.gh.url()),
            ("UPKEEP_GITHUB_TOKEN", TOKEN),
            ("UPKEEP_STATE", state.to_str().unwrap()),
            ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
        ];
        if let Some(now) = &now {
            env.push(("UPKEEP_NOW", now));
        }
        let out = upkeep_env(self.dir.path(), &["run"], &env);
        (stdout(&out), stderr(&out), out.status.code().unwrap())
    }

    fn commit_comments(&self, repo: &str) -> Vec<(String, String)> {
        self.gh.with_state(|s| {
            s.repos[repo]
                .commit_comments
                .iter()
                .map(|c| (c.commit_id.clone(), c.body.clone()))
                .collect()
        })
    }
}

#[test]
fn environments_from_the_repository_file_name_and_label_the_pull_requests() {
    let w = World::new(
        "environments:\n  - name: hoodi\n    paths: [\"envs/hoodi/**\"]\n    network: hoodi\n",
    );
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}\n{err}");
    let pulls = w.gh.pulls("acme/deploy");
    assert_eq!(pulls.len(), 1, "{out}");
    assert_eq!(pulls[0].labels, ["hoodi", "upkeep"]);
    // without a file, the settings entry (no environments) applies
    let other = w.gh.pulls("acme/other");
    assert_eq!(other.len(), 1, "{out}");
    assert!(other[0].labels.contains(&"upkeep".to_string()));
    assert!(!other[0].labels.contains(&"hoodi".to_string()));
    assert!(w.commit_comments("acme/deploy").is_empty());
}

#[test]
fn an_invalid_repository_file_skips_that_repository_and_is_commented_once() {
    // (an unknown key is refused the same way, at its line and column:
    // see the unit tests of `settings::repo_file`)
    let w =
        World::new("branch: main\nenvironments:\n  - name: hoodi\n    paths: [\"envs/[hoodi\"]\n");
    let (out, err, code) = w.run();
    let all = format!("{out}\n{err}");
    assert_ne!(code, 0, "{all}");
    assert!(
        all.contains("acme/deploy: .github/upkeep.yml:4:13: invalid glob `envs/[hoodi`"),
        "{all}"
    );
    assert!(w.gh.pulls("acme/deploy").is_empty());
    assert_eq!(w.gh.pulls("acme/other").len(), 1, "{all}");
    let head = w.gh.branch_sha("acme/deploy", "main").unwrap();
    let comments = w.commit_comments("acme/deploy");
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(comments[0].0, head);
    assert!(
        comments[0]
            .1
            .contains(".github/upkeep.yml:4:13: invalid glob `envs/[hoodi`"),
        "{}",
        comments[0].1
    );
    // a second run on the same commit does not comment again
    let (out, err, _) = w.run();
    assert_eq!(w.commit_comments("acme/deploy").len(), 1, "{out}\n{err}");
    assert_eq!(w.gh.pulls("acme/other").len(), 1);
    w.gh.assert_no_unexpected();
}

/// What the global settings give every repository's pull requests.
const GLOBAL_PRS: &str = "pull_requests:\n  labels: [upkeep, deps]\n  reviewers: [globalrev]\n  assignees: [globalowner]\n";

#[test]
fn a_repository_file_sets_labels_reviewers_assignees_ignore_and_groups_of_its_own_pull_requests() {
    let file = "pull_requests:\n  labels: [eth]\n  reviewers: [acme/eth-ops, alice]\n  assignees: [bob]\n\
                \x20 ignore:\n    - upstream: NethermindEth/nethermind\n\
                \x20 groups:\n    - name: pair\n      upstreams: [sigp/lighthouse, ethereum/go-ethereum]\n";
    let w = World::with(
        &[("compose.yml", THREE), (".github/upkeep.yml", file)],
        &[("compose.yml", THREE)],
        GLOBAL_PRS,
    );
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}\n{err}");
    // acme/deploy: one pull request bumping the pair together, nethermind
    // ignored; its labels added to the global ones, its people instead
    let pulls = w.gh.pulls("acme/deploy");
    assert_eq!(pulls.len(), 1, "{out}");
    let pr = &pulls[0];
    assert!(
        pr.title.contains("lighthouse") || pr.body.as_deref().unwrap_or("").contains("lighthouse"),
        "{pr:?}"
    );
    assert!(
        pr.body.as_deref().unwrap_or("").contains("go-ethereum"),
        "{pr:?}"
    );
    assert!(
        !pr.body
            .as_deref()
            .unwrap_or("")
            .to_lowercase()
            .contains("nethermind"),
        "{pr:?}"
    );
    for label in ["deps", "eth", "upkeep"] {
        assert!(pr.labels.contains(&label.to_string()), "{pr:?}");
    }
    assert_eq!(pr.requested_reviewers, ["alice"]);
    assert_eq!(pr.requested_teams, ["eth-ops"]);
    assert_eq!(pr.assignees, ["bob"]);
    // acme/other keeps the global settings: one pull request per upstream
    let other = w.gh.pulls("acme/other");
    assert_eq!(other.len(), 3, "{out}");
    for pr in &other {
        assert!(pr.labels.contains(&"deps".to_string()), "{pr:?}");
        assert!(pr.labels.contains(&"upkeep".to_string()), "{pr:?}");
        assert!(!pr.labels.contains(&"eth".to_string()), "{pr:?}");
        assert_eq!(pr.requested_reviewers, ["globalrev"], "{pr:?}");
        assert!(pr.requested_teams.is_empty(), "{pr:?}");
        assert_eq!(pr.assignees, ["globalowner"], "{pr:?}");
    }
    w.gh.assert_no_unexpected();
}

#[test]
fn a_repository_file_sets_windows_automerge_and_soak_of_its_rollout() {
    // Two waves: hoodi then mainnet, on devnets (no fork deadline
    // overrides the window). The file gives its environments a window,
    // automerge and a one-hour soak (the global soak is 24h).
    let file = "devnets: [devnet-h, devnet-m]\npull_requests:\n  automerge: true\n\
                rollout:\n  soak: 1h\n  windows: [\"Mon-Fri 09:00-17:00\"]\n\
                environments:\n  - {name: hoodi, paths: [\"envs/hoodi/**\"], network: devnet-h, wave: 1}\n\
                \x20 - {name: mainnet, paths: [\"envs/mainnet/**\"], network: devnet-m, wave: 2, automerge: false}\n";
    let w = World::with(
        &[
            ("envs/hoodi/docker-compose.yml", HOODI),
            ("envs/mainnet/docker-compose.yml", HOODI),
            (".github/upkeep.yml", file),
        ],
        &[("compose.yml", HOODI)],
        "rollout:\n  soak: 24h\n",
    );
    // Saturday: outside acme/deploy's window; acme/other has none
    w.at("2026-12-05T10:00:00Z");
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(w.gh.pulls("acme/deploy").is_empty(), "{out}");
    assert_eq!(w.gh.pulls("acme/other").len(), 1, "{out}");
    // Monday inside the window: wave 1 opens
    w.at("2026-12-07T09:30:00Z");
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}\n{err}");
    let pulls = w.gh.pulls("acme/deploy");
    assert_eq!(pulls.len(), 1, "{out}");
    assert!(pulls[0].labels.contains(&"hoodi".to_string()), "{pulls:?}");
    // green checks: merged by automerge (the environment inherits it)
    w.gh.add_check_run(
        "acme/deploy",
        &pulls[0].head_sha,
        "ci",
        "completed",
        Some("success"),
    );
    w.at("2026-12-07T09:40:00Z");
    let (out, _, _) = w.run();
    assert!(w.gh.pull("acme/deploy", pulls[0].number).merged, "{out}");
    // the repository's one-hour soak, not the global 24h, opens wave 2
    w.at("2026-12-07T10:39:00Z");
    w.run();
    assert_eq!(w.gh.pulls("acme/deploy").len(), 1);
    w.at("2026-12-07T10:41:00Z");
    let (out, _, _) = w.run();
    let pulls = w.gh.pulls("acme/deploy");
    assert_eq!(pulls.len(), 2, "{out}");
    let mainnet = pulls
        .iter()
        .find(|p| p.labels.contains(&"mainnet".to_string()))
        .unwrap();
    // mainnet sets `automerge: false` itself: it waits for a person
    w.gh.add_check_run(
        "acme/deploy",
        &mainnet.head_sha,
        "ci",
        "completed",
        Some("success"),
    );
    w.at("2026-12-07T10:50:00Z");
    w.run();
    assert!(!w.gh.pull("acme/deploy", mainnet.number).merged);
    w.gh.assert_no_unexpected();
}

#[test]
fn a_secret_in_a_repository_file_is_refused_and_only_that_repository_fails() {
    let w = World::new(
        "environments:\n  - name: hoodi\n    paths: [\"envs/hoodi/**\"]\n    network: hoodi\nslack:\n  webhook_url: https://hooks.slack.com/x\n",
    );
    let (out, err, code) = w.run();
    let all = format!("{out}\n{err}");
    assert_ne!(code, 0, "{all}");
    assert!(
        all.contains("acme/deploy: .github/upkeep.yml:5:1: `slack` is not allowed in .github/upkeep.yml: it sets Slack webhooks and routes, which only upkeep's operator configures"),
        "{all}"
    );
    assert!(!all.contains("hooks.slack.com"), "{all}");
    assert!(w.gh.pulls("acme/deploy").is_empty());
    assert_eq!(w.gh.pulls("acme/other").len(), 1, "{all}");
    let comments = w.commit_comments("acme/deploy");
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0]
            .1
            .contains(".github/upkeep.yml:5:1: `slack` is not allowed"),
        "{}",
        comments[0].1
    );
    w.gh.assert_no_unexpected();
}

#[test]
fn a_typo_in_a_repository_file_is_reported_with_the_nearest_name() {
    let w = World::new(
        "environments:\n  - name: hoodi\n    paths: [\"envs/hoodi/**\"]\n    network: hodi\n",
    );
    let (out, err, code) = w.run();
    let all = format!("{out}\n{err}");
    assert_ne!(code, 0, "{all}");
    assert!(
        all.contains(
            "acme/deploy: .github/upkeep.yml:4:14: unknown network `hodi`: did you mean `hoodi`?"
        ),
        "{all}"
    );
    assert_eq!(w.gh.pulls("acme/other").len(), 1, "{all}");
}
