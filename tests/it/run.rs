//! `upkeep plan` and `upkeep run` end to end: the binary against the GitHub
//! double, with the deployment repository on a real git smart-HTTP remote
//! that the double's branches and pull requests are backed by.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

use crate::support::git_http::GitServer;
use crate::support::github::{Caller, GitHubDouble, NewPull, Repo};
use crate::support::{stderr, stdout, upkeep_env};

const TOKEN: &str = "ghp_run_token_0123456789";
const REPO: &str = "acme/deploy";

const MAINNET: &str =
    "# mainnet consensus\nimage:\n  repository: sigp/lighthouse\n  tag: v6.0.0 # pinned\n";
const HOODI: &str = "services:\n  cl:\n    image: sigp/lighthouse:v6.0.0\n  el:\n    image: ethereum/client-go:v1.14.12\n";

struct World {
    dir: tempfile::TempDir,
    gh: GitHubDouble,
    git: GitServer,
}

impl World {
    fn new() -> World {
        let dir = tempfile::tempdir().unwrap();
        let gh = GitHubDouble::start();
        let git = GitServer::start("x-access-token", TOKEN);
        git.create_repo(
            "deploy",
            &[
                ("envs/mainnet/values.yaml", MAINNET),
                ("envs/hoodi/docker-compose.yml", HOODI),
            ],
        );
        gh.add_repo(
            Repo::new(REPO)
                .default_branch("main")
                .served_by(&git, "deploy"),
        );
        gh.set_login(Caller::Token(TOKEN), "upkeep[bot]");
        gh.add_releases("sigp/lighthouse", ["v6.0.0", "v6.1.0", "v7.0.0"]);
        gh.add_releases("ethereum/go-ethereum", ["v1.14.12", "v1.15.0"]);
        let w = World { dir, gh, git };
        w.settings("");
        w
    }

    /// Settings for the repository, plus `extra` YAML under pull_requests.
    /// The `mainnet` environment runs on a devnet the fork schedule does not
    /// know, so fork deadlines stay out of these scenarios (see
    /// `a_missed_fork_is_in_the_title_labels_and_body`).
    fn settings(&self, pull_requests: &str) -> PathBuf {
        self.settings_on("devnet", pull_requests)
    }

    fn settings_on(&self, network: &str, pull_requests: &str) -> PathBuf {
        self.settings_full(
            network,
            "require_published: false\n  mirrors:\n    docker.io: http://127.0.0.1:9",
            pull_requests,
        )
    }

    /// Settings with `registries:` as given (indented by two spaces).
    fn settings_full(&self, network: &str, registries: &str, pull_requests: &str) -> PathBuf {
        let text = format!(
            "repositories:\n  - github: {REPO}\n    devnets: [devnet]\n    environments:\n      - name: mainnet\n        paths: [\"envs/mainnet/**\"]\n        network: {network}\n      - name: hoodi\n        paths: [\"envs/hoodi/**\"]\n        network: hoodi\n\
             registries:\n  {registries}\n\
             pull_requests:\n  reviewers: [alice]\n{pull_requests}"
        );
        let path = self.dir.path().join("upkeep.yml");
        std::fs::write(&path, text).unwrap();
        path
    }

    fn upkeep(&self, args: &[&str]) -> (String, String, i32) {
        self.upkeep_with(args, &[])
    }

    /// [`World::upkeep`] with more environment variables.
    fn upkeep_with(&self, args: &[&str], extra: &[(&str, &str)]) -> (String, String, i32) {
        let state = self.dir.path().join("state.sqlite3");
        let cache = self.dir.path().join("cache");
        let mut env = vec![
            ("UPKEEP_GITHUB_API_URL", self.gh.url()),
            ("UPKEEP_GITHUB_TOKEN", TOKEN),
            ("UPKEEP_STATE", state.to_str().unwrap()),
            ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
        ];
        env.extend_from_slice(extra);
        let out = upkeep_env(self.dir.path(), args, &env);
        let err = stderr(&out);
        assert!(
            !err.contains(TOKEN) && !stdout(&out).contains(TOKEN),
            "token leaked"
        );
        (stdout(&out), err, out.status.code().unwrap())
    }

    fn run(&self) -> (String, String, i32) {
        self.upkeep(&["run"])
    }

    /// `git show BRANCH:PATH` in the bare repository.
    fn show(&self, branch: &str, path: &str) -> String {
        let bare = self.git.bare_path("deploy");
        let out = Command::new("git")
            .args([
                "--git-dir",
                bare.to_str().unwrap(),
                "show",
                &format!("{branch}:{path}"),
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
}

#[test]
fn plan_shows_the_pull_requests_and_their_diffs_and_writes_nothing() {
    let w = World::new();
    let (out, err, code) = w.upkeep(&["plan"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("# acme/deploy: Bump lighthouse to v7.0.0"),
        "{out}"
    );
    assert!(out.contains("#   branch upkeep/lighthouse-v7.0.0"), "{out}");
    assert!(
        out.contains("--- a/envs/mainnet/values.yaml\n+++ b/envs/mainnet/values.yaml\n"),
        "{out}"
    );
    assert!(
        out.contains("-  tag: v6.0.0 # pinned\n+  tag: v7.0.0 # pinned\n"),
        "{out}"
    );
    assert!(
        out.contains("-    image: sigp/lighthouse:v6.0.0\n+    image: sigp/lighthouse:v7.0.0\n"),
        "{out}"
    );
    assert!(out.contains("Bump go-ethereum to v1.15.0"), "{out}");
    assert_eq!(w.gh.stats().writes, 0);
    assert!(w.gh.pulls(REPO).is_empty());
    let (json, _, _) = w.upkeep(&["plan", "--format", "json"]);
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["planned"].as_array().unwrap().len(), 2);
}

#[test]
fn first_run_opens_labelled_pull_requests_with_byte_exact_commits() {
    let w = World::new();
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}\n{err}");
    let pulls = w.gh.pulls(REPO);
    assert_eq!(pulls.len(), 2, "{out}");
    let lh = pulls
        .iter()
        .find(|p| p.head == "upkeep/lighthouse-v7.0.0")
        .unwrap();
    assert_eq!(lh.title, "Bump lighthouse to v7.0.0");
    assert_eq!(lh.base, "main");
    assert_eq!(lh.state, "open");
    assert_eq!(lh.labels, ["hoodi", "mainnet", "upkeep"]);
    assert_eq!(lh.requested_reviewers, ["alice"]);
    assert_eq!(lh.author, "upkeep[bot]");
    let body = lh.body.clone().unwrap();
    assert!(body.contains("<!-- upkeep:fingerprint "), "{body}");
    assert_eq!(
        w.show("upkeep/lighthouse-v7.0.0", "envs/mainnet/values.yaml"),
        MAINNET.replace("v6.0.0", "v7.0.0")
    );
    assert_eq!(
        w.show("upkeep/lighthouse-v7.0.0", "envs/hoodi/docker-compose.yml"),
        HOODI.replace("sigp/lighthouse:v6.0.0", "sigp/lighthouse:v7.0.0")
    );
    let geth = pulls
        .iter()
        .find(|p| p.head == "upkeep/go-ethereum-v1.15.0")
        .unwrap();
    assert_eq!(geth.labels, ["hoodi", "upkeep"]);
    assert!(out.contains("2 created"), "{out}");
    let labels: Vec<String> = w.gh.labels(REPO).into_iter().map(|l| l.name).collect();
    assert!(labels.contains(&"upkeep".to_string()), "{labels:?}");
}

/// A compose file that takes its tag from the project's `.env`: the pull
/// request bumps the tag where it is written, in `.env`, byte for byte,
/// and leaves the compose file alone; `plan` shows the same edit.
#[test]
fn a_compose_tag_written_in_env_is_bumped_there_by_the_pull_request() {
    let w = World::new();
    let compose = "services:\n  cl:\n    image: sigp/lighthouse:${LH_TAG:-v5.0.0}\n  el:\n    image: ethereum/client-go:v1.14.12\n";
    let env = "\u{feff}# consensus client\r\nexport LH_TAG=\"v6.0.0\" # pinned\r\nOTHER=1\r\n";
    w.git.commit(
        "deploy",
        &[
            ("envs/hoodi/docker-compose.yml", compose),
            ("envs/hoodi/.env", env),
        ],
        "compose reads .env",
    );
    let (plan, err, code) = w.upkeep(&["plan"]);
    assert_eq!(code, 0, "{plan}\n{err}");
    assert!(
        plan.contains("+export LH_TAG=\"v7.0.0\" # pinned"),
        "{plan}"
    );
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}\n{err}");
    let branch = "upkeep/lighthouse-v7.0.0";
    assert_eq!(
        w.show(branch, "envs/hoodi/.env"),
        env.replace("v6.0.0", "v7.0.0")
    );
    assert_eq!(w.show(branch, "envs/hoodi/docker-compose.yml"), compose);
}

#[test]
fn a_second_run_changes_nothing_and_writes_nothing() {
    let w = World::new();
    let (_, err, code) = w.run();
    assert_eq!(code, 0, "{err}");
    w.gh.clear_requests();
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{err}");
    // The dependency dashboard too was already up to date with the pull
    // requests the first run opened.
    assert_eq!(
        w.gh.stats().writes,
        0,
        "{:?}",
        w.gh.stats().writes_by_operation
    );
    assert!(out.contains("2 unchanged"), "{out}");
    assert_eq!(w.gh.pulls(REPO).len(), 2);
}

#[test]
fn a_newer_release_supersedes_the_open_pull_request() {
    let w = World::new();
    w.run();
    w.gh.add_release("sigp/lighthouse", "v7.0.1");
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}{err}");
    let pulls = w.gh.pulls(REPO);
    let old = pulls
        .iter()
        .find(|p| p.head == "upkeep/lighthouse-v7.0.0")
        .unwrap();
    let new = pulls
        .iter()
        .find(|p| p.head == "upkeep/lighthouse-v7.0.1")
        .unwrap();
    assert_eq!(old.state, "closed");
    assert!(!old.merged);
    assert_eq!(old.comments, [format!("Superseded by #{}.", new.number)]);
    assert_eq!(new.state, "open");
    assert!(
        out.contains(&format!("superseded by #{}", new.number)),
        "{out}"
    );
}

#[test]
fn a_pull_request_closed_without_merging_is_not_reopened() {
    let w = World::new();
    w.run();
    let lh =
        w.gh.pulls(REPO)
            .into_iter()
            .find(|p| p.head == "upkeep/lighthouse-v7.0.0")
            .unwrap();
    w.gh.close_pr(REPO, lh.number);
    w.gh.clear_requests();
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("was closed without merging: v7.0.0 is skipped"),
        "{out}"
    );
    assert_eq!(w.gh.pulls(REPO).len(), 2, "no new PR");
    assert_eq!(w.gh.pull(REPO, lh.number).state, "closed");
    // a newer release is proposed again
    w.gh.add_release("sigp/lighthouse", "v7.1.0");
    let (out, _, _) = w.run();
    assert!(
        w.gh.pulls(REPO)
            .iter()
            .any(|p| p.head == "upkeep/lighthouse-v7.1.0" && p.state == "open"),
        "{out}"
    );
}

/// `MAINNET` with a line ops added on the default branch.
const MAINNET_EDITED: &str = "# mainnet consensus\n# owner: ops\nimage:\n  repository: sigp/lighthouse\n  tag: v6.0.0 # pinned\n";

#[test]
fn when_the_default_branch_moves_the_branch_is_rebuilt_only_if_its_files_changed() {
    let w = World::new();
    w.run();
    let before =
        w.gh.pulls(REPO)
            .into_iter()
            .find(|p| p.head == "upkeep/lighthouse-v7.0.0")
            .unwrap();
    // An unrelated commit: the pull request's content is still right, so
    // its branch (checks, approvals) is left alone.
    w.git
        .commit("deploy", &[("README.md", "deployment notes\n")], "docs");
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        w.gh.pull(REPO, before.number).head_sha,
        before.head_sha,
        "{out}"
    );
    assert!(out.contains("2 unchanged"), "{out}");
    // A commit to a file it edits: rebuilt on the new base.
    w.git.commit(
        "deploy",
        &[("envs/mainnet/values.yaml", MAINNET_EDITED)],
        "ops note",
    );
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{err}");
    let after = w.gh.pull(REPO, before.number);
    assert_ne!(after.head_sha, before.head_sha, "{out}");
    assert_eq!(
        w.show("upkeep/lighthouse-v7.0.0", "README.md"),
        "deployment notes\n"
    );
    assert_eq!(
        w.show("upkeep/lighthouse-v7.0.0", "envs/mainnet/values.yaml"),
        MAINNET_EDITED.replace("v6.0.0", "v7.0.0")
    );
    assert!(
        out.contains("updated") && out.contains("(commits)"),
        "{out}"
    );
}

#[test]
fn a_branch_with_commits_by_others_is_left_alone() {
    let w = World::new();
    w.run();
    w.git.commit_on(
        "deploy",
        "upkeep/lighthouse-v7.0.0",
        &[("envs/mainnet/extra.yaml", "x: 1\n")],
        "human fix",
    );
    let tip = w.gh.branch_sha(REPO, "upkeep/lighthouse-v7.0.0");
    w.git.commit("deploy", &[("README.md", "moved\n")], "docs");
    let (out, _, _) = w.run();
    assert!(
        out.contains("branch upkeep/lighthouse-v7.0.0 has commits by others: left alone"),
        "{out}"
    );
    assert_eq!(
        w.gh.branch_sha(REPO, "upkeep/lighthouse-v7.0.0"),
        tip,
        "not force-pushed"
    );
}

#[test]
fn a_crash_between_push_and_pull_request_is_repaired_without_duplicates() {
    let w = World::new();
    w.gh.fail_next_method("POST", "/repos/acme/deploy/pulls", 8, 502);
    let (out, _, code) = w.run();
    assert_eq!(code, 3, "{out}");
    assert!(w.gh.pulls(REPO).is_empty());
    assert!(
        w.gh.branch_sha(REPO, "upkeep/lighthouse-v7.0.0").is_some(),
        "the branch was pushed"
    );
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}{err}");
    let pulls = w.gh.pulls(REPO);
    assert_eq!(pulls.len(), 2, "{out}");
    assert_eq!(
        pulls
            .iter()
            .filter(|p| p.head == "upkeep/lighthouse-v7.0.0")
            .count(),
        1
    );
}

#[test]
fn a_secondary_limit_while_creating_is_waited_out() {
    let w = World::new();
    w.gh.secondary_limit_writes(1, 1);
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(w.gh.pulls(REPO).len(), 2);
}

#[test]
fn a_push_refused_by_the_remote_is_a_clear_error_without_the_token() {
    let w = World::new();
    let hook = w.git.bare_path("deploy").join("hooks/pre-receive");
    std::fs::write(
        &hook,
        "#!/bin/sh\necho 'protected: pushes are not allowed' >&2\nexit 1\n",
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (out, err, code) = w.run();
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        out.contains("failed") && out.contains("refused to update `upkeep/lighthouse-v7.0.0`"),
        "{out}"
    );
    assert!(w.gh.pulls(REPO).is_empty());
}

#[test]
fn a_local_repository_gets_a_local_branch() {
    let dir = tempfile::tempdir().unwrap();
    let gh = GitHubDouble::start();
    gh.add_releases("sigp/lighthouse", ["v6.0.0", "v7.0.0"]);
    let repo = dir.path().join("deploy");
    std::fs::create_dir_all(repo.join("envs")).unwrap();
    std::fs::write(repo.join("envs/values.yaml"), MAINNET).unwrap();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .current_dir(&repo)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.invalid",
        "commit",
        "-q",
        "-m",
        "init",
    ]);
    std::fs::write(
        dir.path().join("upkeep.yml"),
        "repositories:\n  - path: ./deploy\nregistries:\n  require_published: false\n  mirrors:\n    docker.io: http://127.0.0.1:9\n",
    )
    .unwrap();
    let state = dir.path().join("state.sqlite3");
    let env = [
        ("UPKEEP_GITHUB_API_URL", gh.url()),
        ("UPKEEP_STATE", state.to_str().unwrap()),
    ];
    let out = upkeep_env(dir.path(), &["run"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("committed"), "{}", stdout(&out));
    assert_eq!(
        git(&["show", "upkeep/lighthouse-v7.0.0:envs/values.yaml"]),
        MAINNET.replace("v6.0.0", "v7.0.0")
    );
    assert_eq!(
        std::fs::read_to_string(repo.join("envs/values.yaml")).unwrap(),
        MAINNET,
        "the work tree is untouched"
    );
    assert_eq!(git(&["rev-parse", "--abbrev-ref", "HEAD"]).trim(), "main");
}

#[test]
fn a_missed_fork_is_in_the_title_labels_and_body() {
    let w = World::new();
    w.settings_on("mainnet", "");
    w.gh.add_release(
        "sigp/lighthouse",
        crate::support::github::NewRelease::new("v8.0.1")
            .body("Fixes CVE-2025-55555 in the gossip layer. @alice please review #42.\n"),
    );
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}{err}");
    let lh =
        w.gh.pulls(REPO)
            .into_iter()
            .find(|p| p.head == "upkeep/lighthouse-v8.0.1")
            .unwrap();
    assert_eq!(
        lh.title,
        "Bump lighthouse to v8.0.1 (security; hard fork: Fusaka, mainnet 2025-12-03)"
    );
    for label in ["upkeep", "hard-fork", "security", "deadline", "mainnet"] {
        assert!(
            lh.labels.contains(&label.to_string()),
            "{label} not in {:?}",
            lh.labels
        );
    }
    let body = lh.body.unwrap();
    assert!(body.contains("Fusaka"), "{body}");
    assert!(!body.contains("@alice"), "mentions are neutralised: {body}");
    assert!(!body.contains(" #42"), "references are neutralised: {body}");
}

/// A reference pinned as `tag@sha256:…` moves with the digest the registry
/// gives the target; without a known digest it is held, not half-bumped.
#[test]
fn pinned_references_get_the_target_digest() {
    let w = World::new();
    let reg = crate::support::registry::RegistryServer::start();
    let old = reg.push("sigp/lighthouse", "v6.0.0");
    let new = reg.push("sigp/lighthouse", "v7.0.0");
    reg.push("ethereum/client-go", "v1.15.0");
    let pinned = format!("image: sigp/lighthouse:v6.0.0@{old}\n");
    w.git.commit(
        "deploy",
        &[("envs/mainnet/pinned.yaml", pinned.as_str())],
        "pin",
    );
    w.settings_full(
        "devnet",
        &format!("mirrors:\n    docker.io: {}", reg.url()),
        "",
    );
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        w.show("upkeep/lighthouse-v7.0.0", "envs/mainnet/pinned.yaml"),
        format!("image: sigp/lighthouse:v7.0.0@{new}\n")
    );

    // the registry down: the pinned reference is held, the others move
    let w = World::new();
    w.git.commit(
        "deploy",
        &[("envs/mainnet/pinned.yaml", pinned.as_str())],
        "pin",
    );
    let (out, err, code) = w.upkeep(&["plan"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines().any(
            |l| l.starts_with("# waiting: sigp/lighthouse v6.0.0 -> v7.0.0 in ")
                && l.contains(" envs/mainnet/pinned.yaml:")
                && l.contains(": pinned by digest")
        ),
        "{out}"
    );
    assert!(out.contains("+  tag: v7.0.0 # pinned"), "{out}");
}

/// `registries.pin_digests`: references written as `repo:tag` get the
/// target's digest too; a Helm `repository`/`tag` pair has nowhere to put
/// one and moves its tag only.
#[test]
fn pin_digests_adds_digests_to_plain_image_strings() {
    let w = World::new();
    let reg = crate::support::registry::RegistryServer::start();
    let lh = reg.push("sigp/lighthouse", "v7.0.0");
    reg.push("ethereum/client-go", "v1.15.0");
    w.settings_full(
        "devnet",
        &format!(
            "pin_digests: true\n  mirrors:\n    docker.io: {}",
            reg.url()
        ),
        "",
    );
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        w.show("upkeep/lighthouse-v7.0.0", "envs/hoodi/docker-compose.yml"),
        HOODI.replace(
            "sigp/lighthouse:v6.0.0",
            &format!("sigp/lighthouse:v7.0.0@{lh}")
        )
    );
    assert_eq!(
        w.show("upkeep/lighthouse-v7.0.0", "envs/mainnet/values.yaml"),
        MAINNET.replace("v6.0.0", "v7.0.0")
    );
}

/// `pull_requests.assignees`, `author` and `ignore` from the settings.
#[test]
fn assignees_author_and_ignores_from_the_settings() {
    let w = World::new();
    w.settings(
        "  assignees: [bob]\n  author: {name: Deploy Bot, email: deploy-bot@example.invalid}\n  ignore:\n    - upstream: ethereum/go-ethereum\n    - image: sigp/lighthouse\n      versions: [\"v8.*\"]\n",
    );
    w.gh.add_release("sigp/lighthouse", "v8.0.0");
    let (out, err, code) = w.upkeep(&["plan"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.lines().any(
            |l| l.starts_with("# waiting: ethereum/client-go v1.14.12 -> v1.15.0 in ")
                && l.contains(" envs/hoodi/docker-compose.yml:")
                && l.ends_with(": v1.15.0 is ignored (pull_requests.ignore)")
        ),
        "{out}"
    );
    assert!(out.contains("v8.0.0 is ignored"), "{out}");
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}{err}");
    let pulls = w.gh.pulls(REPO);
    assert!(
        pulls.is_empty(),
        "lighthouse v8 ignored, geth ignored: {pulls:?}"
    );

    // an older lighthouse is not ignored
    let w = World::new();
    w.settings("  assignees: [bob]\n  author: {name: Deploy Bot, email: deploy-bot@example.invalid}\n  ignore:\n    - upstream: ethereum/go-ethereum\n");
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}{err}");
    let pulls = w.gh.pulls(REPO);
    assert_eq!(pulls.len(), 1, "{out}");
    assert_eq!(pulls[0].assignees, ["bob"]);
    let bare = w.git.bare_path("deploy");
    let log = Command::new("git")
        .args([
            "--git-dir",
            bare.to_str().unwrap(),
            "log",
            "-1",
            "--format=%an <%ae>",
            "upkeep/lighthouse-v7.0.0",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&log.stdout).trim(),
        "Deploy Bot <deploy-bot@example.invalid>"
    );
}

/// `pull_requests.commit_mode: api`: the same commits, made by GitHub
/// through the Git Data API (verified), branches moved with the ref API.
#[test]
fn commit_mode_api_makes_verified_commits_through_the_git_data_api() {
    let w = World::new();
    w.settings("  commit_mode: api\n");
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(w.gh.pulls(REPO).len(), 2, "{out}");
    assert_eq!(
        w.show("upkeep/lighthouse-v7.0.0", "envs/mainnet/values.yaml"),
        MAINNET.replace("v6.0.0", "v7.0.0")
    );
    assert_eq!(
        w.show("upkeep/lighthouse-v7.0.0", "envs/hoodi/docker-compose.yml"),
        HOODI.replace("sigp/lighthouse:v6.0.0", "sigp/lighthouse:v7.0.0")
    );
    let writes = w.gh.stats().writes_by_operation;
    assert_eq!(writes.get("git/create-blob"), Some(&3), "{writes:?}");
    assert_eq!(writes.get("git/create-tree"), Some(&2), "{writes:?}");
    assert_eq!(writes.get("git/create-commit"), Some(&2), "{writes:?}");
    assert_eq!(writes.get("git/create-ref"), Some(&2), "{writes:?}");
    let verified = |branch: &str| {
        let tip = w.gh.branch_sha(REPO, branch).unwrap();
        w.gh.with_state(|s| s.repo(REPO).unwrap().api_commits.contains(&tip))
    };
    assert!(verified("upkeep/lighthouse-v7.0.0"));
    assert!(verified("upkeep/go-ethereum-v1.15.0"));

    // a second run: nothing to write
    w.gh.clear_requests();
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}{err}");
    let stats = w.gh.stats();
    assert_eq!(stats.writes, 0, "{:?}", stats.writes_by_operation);
    assert!(out.contains("2 unchanged"), "{out}");

    // a file of the lighthouse pull request changes on the default branch:
    // that branch (only) is rebuilt and force-moved
    w.git.commit(
        "deploy",
        &[
            ("README.md", "deployment notes\n"),
            ("envs/mainnet/values.yaml", MAINNET_EDITED),
        ],
        "docs",
    );
    w.gh.clear_requests();
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}{err}");
    let updates: Vec<_> =
        w.gh.requests()
            .into_iter()
            .filter(|r| r.operation == Some("git/update-ref"))
            .collect();
    assert_eq!(updates.len(), 1, "{out}");
    assert!(
        updates
            .iter()
            .all(|r| r.status == 200 && r.body.as_ref().unwrap()["force"] == true)
    );
    assert_eq!(
        w.show("upkeep/lighthouse-v7.0.0", "README.md"),
        "deployment notes\n"
    );
    assert_eq!(
        w.show("upkeep/lighthouse-v7.0.0", "envs/mainnet/values.yaml"),
        MAINNET_EDITED.replace("v6.0.0", "v7.0.0")
    );
    assert!(verified("upkeep/lighthouse-v7.0.0"));

    // a newer release: a new branch (created), the old pull request superseded
    w.gh.add_release("sigp/lighthouse", "v7.0.1");
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}{err}");
    assert!(verified("upkeep/lighthouse-v7.0.1"));
    assert_eq!(
        w.show("upkeep/lighthouse-v7.0.1", "envs/mainnet/values.yaml"),
        MAINNET_EDITED.replace("v6.0.0", "v7.0.1")
    );
    let pulls = w.gh.pulls(REPO);
    let old = pulls
        .iter()
        .find(|p| p.head == "upkeep/lighthouse-v7.0.0")
        .unwrap();
    assert_eq!(old.state, "closed", "{out}");
}

/// API mode leaves a branch with commits by others alone, like git mode.
#[test]
fn commit_mode_api_leaves_foreign_branches_alone() {
    let w = World::new();
    w.settings("  commit_mode: api\n");
    w.run();
    w.git.commit_on(
        "deploy",
        "upkeep/lighthouse-v7.0.0",
        &[("envs/mainnet/extra.yaml", "x: 1\n")],
        "human fix",
    );
    let tip = w.gh.branch_sha(REPO, "upkeep/lighthouse-v7.0.0");
    w.git.commit("deploy", &[("README.md", "moved\n")], "docs");
    w.gh.clear_requests();
    let (out, _, _) = w.run();
    assert!(
        out.contains("branch upkeep/lighthouse-v7.0.0 has commits by others: left alone"),
        "{out}"
    );
    assert_eq!(w.gh.branch_sha(REPO, "upkeep/lighthouse-v7.0.0"), tip);
}

/// The forge's Git Data API methods against the double's real repository.
#[tokio::test]
async fn forge_commits_through_the_git_data_api() {
    use upkeep::domain::repo::RepoName;
    use upkeep::io::forge::{Forge, RetryPolicy};
    let w = World::new();
    let forge = Forge::new(w.gh.url(), Some(TOKEN), RetryPolicy::default()).unwrap();
    let repo = RepoName::new("acme", "deploy");
    let base = w.gh.branch_sha(REPO, "main").unwrap();
    let bare = w.git.bare_path("deploy");
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("--git-dir")
            .arg(&bare)
            .args(args)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    };
    let base_tree = git(&["rev-parse", &format!("{base}^{{tree}}")]);
    let bytes = b"binary \x00\xff ok\n".to_vec();
    let made = forge
        .commit_via_api(
            &repo,
            &base,
            &base_tree,
            &[("envs/new/blob.bin".to_string(), bytes.clone())],
            "add a blob",
            Some(("upkeep[bot]", "upkeep[bot]@users.noreply.github.com")),
        )
        .await
        .unwrap();
    assert!(made.verified);
    assert_eq!(
        git(&["rev-parse", &format!("{}^{{tree}}", made.sha)]),
        made.tree
    );
    assert_eq!(
        git(&["log", "-1", "--format=%ae %P", &made.sha]),
        format!("upkeep[bot]@users.noreply.github.com {base}")
    );
    forge
        .create_branch(&repo, "upkeep/x", &made.sha)
        .await
        .unwrap();
    assert_eq!(
        w.gh.branch_sha(REPO, "upkeep/x").as_deref(),
        Some(made.sha.as_str())
    );
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(&bare)
        .args(["show", "upkeep/x:envs/new/blob.bin"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, bytes, "byte-exact");
    // not a fast forward: refused without force, done with it
    let err = forge.update_branch(&repo, "upkeep/x", &base, false).await;
    assert!(err.is_err(), "{err:?}");
    forge
        .update_branch(&repo, "upkeep/x", &base, true)
        .await
        .unwrap();
    assert_eq!(w.gh.branch_sha(REPO, "upkeep/x"), Some(base));
}

/// Someone edits the same lines on the default branch while the PR is open:
/// the next run rebuilds upkeep's branch on the new base from what is there
/// now, so the PR never conflicts and never undoes their edit.
#[test]
fn a_conflicting_edit_on_the_default_branch_is_rebuilt_around() {
    let w = World::new();
    w.run();
    let lh =
        w.gh.pulls(REPO)
            .into_iter()
            .find(|p| p.head == "upkeep/lighthouse-v7.0.0")
            .unwrap();
    // a human bumps mainnet by hand (with a comment of their own)
    let by_hand = "# mainnet consensus\nimage:\n  repository: sigp/lighthouse\n  tag: v7.0.0 # bumped by hand\n";
    w.git.commit(
        "deploy",
        &[("envs/mainnet/values.yaml", by_hand)],
        "manual bump",
    );
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        w.show("upkeep/lighthouse-v7.0.0", "envs/mainnet/values.yaml"),
        by_hand,
        "their edit is kept"
    );
    assert_eq!(
        w.show("upkeep/lighthouse-v7.0.0", "envs/hoodi/docker-compose.yml"),
        HOODI.replace("sigp/lighthouse:v6.0.0", "sigp/lighthouse:v7.0.0")
    );
    let after = w.gh.pull(REPO, lh.number);
    assert_eq!(after.state, "open");
    assert!(out.contains("updated") && out.contains("commits"), "{out}");
    let bare = w.git.bare_path("deploy");
    let changed = Command::new("git")
        .args([
            "--git-dir",
            bare.to_str().unwrap(),
            "diff",
            "--name-only",
            "main",
            "upkeep/lighthouse-v7.0.0",
        ])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&changed.stdout).trim(),
        "envs/hoodi/docker-compose.yml"
    );
}

/// One repository × 12 upstreams: a PR each. Prints the requests per PR
/// and the wall time (`benches/run-cycle.sh` runs it in release); the second
/// run makes no content-creating request.
#[test]
fn twelve_upstreams_one_repository_requests_and_time() {
    let dir = tempfile::tempdir().unwrap();
    let gh = GitHubDouble::start();
    let git = GitServer::start("x-access-token", TOKEN);
    let mut files: Vec<(String, String)> = Vec::new();
    let mut settings = format!(
        "repositories:\n  - github: {REPO}\nregistries:\n  require_published: false\n  mirrors:\n    ghcr.io: http://127.0.0.1:9\npull_requests:\n  max_open: 20\n  max_per_hour: 20\nupstreams:\n"
    );
    for u in 0..12 {
        gh.add_releases(&format!("acme/node-{u}"), ["v1.0.0", "v1.1.0"]);
        settings.push_str(&format!(
            "  - github: acme/node-{u}\n    images:\n      - name: ghcr.io/acme/node-{u}\n        tag: \"v{{version}}\"\n"
        ));
        files.push((
            format!("node-{u}/values.yaml"),
            format!("image: ghcr.io/acme/node-{u}:v1.0.0\n"),
        ));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, c)| (p.as_str(), c.as_str()))
        .collect();
    git.create_repo("deploy", &refs);
    gh.add_repo(
        Repo::new(REPO)
            .default_branch("main")
            .served_by(&git, "deploy"),
    );
    gh.set_login(Caller::Token(TOKEN), "upkeep[bot]");
    std::fs::write(dir.path().join("upkeep.yml"), settings).unwrap();
    let state = dir.path().join("state.sqlite3");
    let cache = dir.path().join("cache");
    let env = [
        ("UPKEEP_GITHUB_API_URL", gh.url()),
        ("UPKEEP_GITHUB_TOKEN", TOKEN),
        ("UPKEEP_STATE", state.to_str().unwrap()),
        ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
    ];
    let started = std::time::Instant::now();
    let out = upkeep_env(dir.path(), &["run"], &env);
    let cold = started.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(gh.pulls(REPO).len(), 12);
    let first = gh.stats();
    gh.clear_requests();
    let started = std::time::Instant::now();
    let out = upkeep_env(dir.path(), &["run"], &env);
    let warm = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let second = gh.stats();
    assert_eq!(second.writes, 0, "{:?}", second.writes_by_operation);
    let charged: Vec<String> = gh
        .requests()
        .iter()
        .filter(|r| r.charged)
        .map(|r| format!("{} {} -> {}", r.method, r.path, r.status))
        .collect();
    gh.clear_requests();
    let out = upkeep_env(dir.path(), &["run"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let third = gh.stats();
    assert_eq!(third.writes, 0, "{:?}", third.writes_by_operation);
    eprintln!(
        "run over 1 repository x 12 upstreams: second run charged {charged:?}; third {} requests ({} charged)",
        third.total, third.charged
    );
    eprintln!(
        "run over 1 repository x 12 upstreams: first {} requests ({} writes, {:.1} per PR, {} charged) in {:.2?}; second {} requests (0 writes, {} charged) in {:.2?}",
        first.total,
        first.writes,
        first.total as f64 / 12.0,
        first.charged,
        cold,
        second.total,
        second.charged,
        warm
    );
}

/// `pull_requests.groups`: an execution and a consensus client in one pull
/// request; a newer release of either supersedes it.
#[test]
fn grouped_upstreams_share_one_pull_request() {
    let w = World::new();
    w.settings(
        "  groups:\n    - name: el-cl\n      upstreams: [ethereum/go-ethereum, sigp/lighthouse]\n",
    );
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}{err}");
    let pulls = w.gh.pulls(REPO);
    assert_eq!(pulls.len(), 1, "{out}");
    let pr = &pulls[0];
    assert_eq!(
        pr.title,
        "Bump go-ethereum to v1.15.0 and lighthouse to v7.0.0"
    );
    assert_eq!(pr.head, "upkeep/go-ethereum-v1.15.0-lighthouse-v7.0.0");
    assert_eq!(
        w.show(&pr.head, "envs/hoodi/docker-compose.yml"),
        HOODI
            .replace("lighthouse:v6.0.0", "lighthouse:v7.0.0")
            .replace("client-go:v1.14.12", "client-go:v1.15.0")
    );
    w.gh.add_release("sigp/lighthouse", "v7.0.1");
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}{err}");
    let pulls = w.gh.pulls(REPO);
    let new = pulls
        .iter()
        .find(|p| p.head == "upkeep/go-ethereum-v1.15.0-lighthouse-v7.0.1")
        .unwrap();
    assert_eq!(w.gh.pull(REPO, pr.number).state, "closed", "{out}");
    assert_eq!(
        w.gh.pull(REPO, pr.number).comments,
        [format!("Superseded by #{}.", new.number)]
    );
}

/// Someone else's pull request whose body carries a copy of upkeep's
/// fingerprint is not upkeep's: it is never closed as superseded.
#[test]
fn a_copied_fingerprint_does_not_make_a_pull_request_upkeeps() {
    let w = World::new();
    w.run();
    let lh =
        w.gh.pulls(REPO)
            .into_iter()
            .find(|p| p.head == "upkeep/lighthouse-v7.0.0")
            .unwrap();
    w.git.commit_on(
        "deploy",
        "feature/copy",
        &[("NOTES.md", "mine\n")],
        "a contributor's change",
    );
    let copy = w.gh.add_pull(
        REPO,
        NewPull::new("Contributor change", "feature/copy", "main")
            .body(&lh.body.clone().unwrap())
            .author("mallory"),
    );
    w.gh.add_release("sigp/lighthouse", "v7.0.1");
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(
        w.gh.pull(REPO, lh.number).state,
        "closed",
        "upkeep's own: superseded"
    );
    let copied = w.gh.pull(REPO, copy);
    assert_eq!(copied.state, "open", "{out}");
    assert!(copied.comments.is_empty(), "{:?}", copied.comments);
}

/// An incomplete check never ends in "all good": registry unreachable with
/// `require_published`, rate limit exhausted, every upstream failing. In
/// each case not one reference could be checked: exit 4, not 3.
fn assert_incomplete(out: &str, err: &str, code: i32, case: &str) {
    assert_eq!(code, 4, "{case}: nothing could be checked: {out}\n{err}");
    assert!(
        !out.contains("every checked reference is up to date"),
        "{case}: {out}"
    );
    assert!(
        out.contains("could not be checked") || out.contains("no reference could be checked"),
        "{case}: the summary says what was not checked: {out}"
    );
}

#[test]
fn an_unreachable_registry_with_require_published_is_not_all_good() {
    let w = World::new();
    w.settings_full(
        "devnet",
        "require_published: true\n  mirrors:\n    docker.io: http://127.0.0.1:9",
        "",
    );
    let (out, err, code) = w.run();
    assert_incomplete(&out, &err, code, "registry");
    assert!(out.contains("registry could not be asked"), "{out}");
    let (out, err, code) = w.upkeep(&["plan"]);
    assert_incomplete(&out, &err, code, "plan");
}

#[test]
fn every_upstream_failing_is_not_all_good() {
    let w = World::new();
    for upstream in ["sigp/lighthouse", "ethereum/go-ethereum"] {
        w.gh.fail_next(&format!("/repos/{upstream}/releases"), 50, 502);
    }
    let (out, err, code) = w.run();
    assert_incomplete(&out, &err, code, "upstreams");
    assert!(out.contains("no reference could be checked"), "{out}");
    assert!(out.contains("upstream releases could not be read"), "{out}");
}

#[test]
fn an_exhausted_rate_limit_is_not_all_good() {
    let w = World::new();
    w.gh.set_rate_limit(
        Caller::Token(TOKEN),
        0,
        std::time::Duration::from_secs(3600),
    );
    let (out, err, code) = w.run();
    assert_incomplete(&out, &err, code, "rate limit");
}

/// A git server that accepts connections, reads, and never answers.
fn silent_git_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                use std::io::Read;
                let mut buf = [0u8; 4096];
                while let Ok(n) = stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                }
                std::thread::sleep(std::time::Duration::from_secs(600));
            });
        }
    });
    format!("http://127.0.0.1:{port}/deploy.git")
}

#[test]
fn a_git_server_that_never_answers_times_out_within_the_deadline() {
    let w = World::new();
    let url = silent_git_server();
    w.gh.add_repo(
        Repo::new(REPO)
            .default_branch("main")
            .clone_url(&url)
            .git_dir(w.git.bare_path("deploy")),
    );
    let state = w.dir.path().join("state.sqlite3");
    let cache = w.dir.path().join("cache");
    let started = std::time::Instant::now();
    let out = upkeep_env(
        w.dir.path(),
        &["run"],
        &[
            ("UPKEEP_GITHUB_API_URL", w.gh.url()),
            ("UPKEEP_GITHUB_TOKEN", TOKEN),
            ("UPKEEP_STATE", state.to_str().unwrap()),
            ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
            ("UPKEEP_GIT_TIMEOUT", "2"),
        ],
    );
    let elapsed = started.elapsed();
    let err = stderr(&out);
    // the only repository could not be read: nothing could be checked
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(err.contains("timed out after 2s"), "{err}");
    assert!(err.contains(REPO), "the repository is named: {err}");
    assert!(elapsed < std::time::Duration::from_secs(30), "{elapsed:?}");
}

/// A `run` against a git server that drips `what` (fetch or push) for two
/// minutes: it fails at the 2 s deadline (exit `code`: 4 when the fetch of
/// the only repository fails, so nothing could be checked; 3 for a push),
/// naming the step, opens no pull request, and does not wait for the server.
fn assert_git_step_times_out(w: &World, what: &str, code_wanted: i32) {
    let started = std::time::Instant::now();
    let (out, err, code) = w.upkeep_with(&["run"], &[("UPKEEP_GIT_TIMEOUT", "2")]);
    let elapsed = started.elapsed();
    assert_eq!(code, code_wanted, "{out}\n{err}");
    let said = format!("{what} timed out after 2s");
    assert!(out.contains(&said) || err.contains(&said), "{out}\n{err}");
    assert!(w.gh.pulls(REPO).is_empty(), "no pull request: {out}");
    assert!(elapsed < std::time::Duration::from_secs(60), "{elapsed:?}");
}

#[test]
fn a_hanging_push_times_out_and_fails_only_that_pull_request() {
    let w = World::new();
    w.git.hang_pushes();
    assert_git_step_times_out(&w, "push", 3);
}

#[test]
fn a_dripping_fetch_times_out_within_the_deadline() {
    let w = World::new();
    w.git.hang_fetches();
    assert_git_step_times_out(&w, "fetch", 4);
}

#[test]
fn stale_locks_in_the_cache_are_cleared() {
    let w = World::new();
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}\n{err}");
    // a killed run left its locks behind
    let cache = w.dir.path().join("cache");
    let mut git_dirs = Vec::new();
    let mut stack = vec![cache.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            if e.file_type().unwrap().is_dir() {
                if e.file_name() == ".git" {
                    git_dirs.push(e.path());
                } else {
                    stack.push(e.path());
                }
            }
        }
    }
    assert!(!git_dirs.is_empty(), "a cache repository");
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let mut planted = Vec::new();
    for g in &git_dirs {
        for name in ["index.lock", "shallow.lock", "refs/heads/x.lock"] {
            let p = g.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            let f = std::fs::File::create(&p).unwrap();
            f.set_modified(old).unwrap();
            planted.push(p);
        }
    }
    w.gh.add_release("sigp/lighthouse", "v7.0.1");
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(err.contains("removed stale lock"), "{err}");
    for p in &planted {
        assert!(!p.exists(), "{} cleared", p.display());
    }
}

/// Settings with two repositories, `acme/deploy` and `acme/other`, each
/// with the HOODI compose file in a `hoodi` environment.
fn two_repositories(w: &World) {
    w.git
        .create_repo("other", &[("envs/hoodi/docker-compose.yml", HOODI)]);
    w.gh.add_repo(
        Repo::new("acme/other")
            .default_branch("main")
            .clone_url(&w.git.url("other"))
            .git_dir(w.git.bare_path("other")),
    );
    let repo = |name: &str| {
        format!(
            "  - github: {name}\n    environments:\n      - name: hoodi\n        paths: [\"envs/hoodi/**\"]\n        network: hoodi\n"
        )
    };
    let text = format!(
        "repositories:\n{}{}registries:\n  require_published: false\n  mirrors:\n    docker.io: http://127.0.0.1:9\n",
        repo(REPO),
        repo("acme/other")
    );
    std::fs::write(w.dir.path().join("upkeep.yml"), text).unwrap();
}

#[test]
fn a_panic_while_publishing_one_repository_fails_only_that_repository() {
    let w = World::new();
    two_repositories(&w);
    let (out, err, code) = w.upkeep_with(
        &["run"],
        &[("UPKEEP_FAILPOINT", "panic:repository=acme/deploy")],
    );
    assert_eq!(code, 3, "partial: {out}\n{err}");
    assert!(
        err.contains("error: acme/deploy: panicked: fail point repository=acme/deploy"),
        "{err}"
    );
    assert!(w.gh.pulls(REPO).is_empty(), "{out}");
    let other = w.gh.pulls("acme/other");
    assert_eq!(
        other.len(),
        2,
        "the other repository still gets its PRs: {out}"
    );
    // the panicking repository is done on the next run, without the fail point
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(w.gh.pulls(REPO).len(), 2, "{out}");
}

#[test]
fn a_panic_while_checking_one_repository_fails_only_that_repository() {
    let w = World::new();
    two_repositories(&w);
    let (out, err, code) =
        w.upkeep_with(&["run"], &[("UPKEEP_FAILPOINT", "panic:check=acme/other")]);
    assert_eq!(code, 3, "partial: {out}\n{err}");
    assert!(err.contains("error: acme/other: panicked"), "{err}");
    assert!(w.gh.pulls("acme/other").is_empty(), "{out}");
    assert_eq!(w.gh.pulls(REPO).len(), 2, "{out}");
}

/// A file name with a line break and a forged trailer, and one with an
/// escape sequence.
const FORGED: &str = "envs/hoodi/x\nCo-authored-by: Mallory <m@evil.example>\n.yml";
const ESCAPED: &str = "envs/hoodi/e\u{1b}]0;pwned\u{7}\u{1b}[2J.yml";

#[test]
fn control_characters_in_file_names_reach_no_commit_message_or_body_raw() {
    let w = World::new();
    w.git.commit(
        "deploy",
        &[
            (FORGED, "image: sigp/lighthouse:v6.0.0\n"),
            (ESCAPED, "image: sigp/lighthouse:v6.0.0\n"),
        ],
        "hostile names",
    );
    let (out, err, code) = w.run();
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        !out.contains('\u{1b}') && !err.contains('\u{1b}'),
        "{out}\n{err}"
    );
    let pulls = w.gh.pulls(REPO);
    let lh = pulls
        .iter()
        .find(|p| p.head == "upkeep/lighthouse-v7.0.0")
        .unwrap();
    let body = lh.body.clone().unwrap();
    assert!(
        body.contains("x\\nCo-authored-by: Mallory <m@evil.example>\\n.yml")
            || body.contains("x\\\\nCo-authored-by"),
        "escaped in the body: {body}"
    );
    assert!(!body.contains("\nCo-authored-by"), "{body}");
    assert!(!body.contains('\u{1b}'), "{body}");
    // the files themselves were bumped
    assert_eq!(
        w.show("upkeep/lighthouse-v7.0.0", FORGED),
        "image: sigp/lighthouse:v7.0.0\n"
    );
    let bare = w.git.bare_path("deploy");
    let log = Command::new("git")
        .args([
            "--git-dir",
            bare.to_str().unwrap(),
            "log",
            "-1",
            "--format=%B%x00%(trailers:only,unfold)",
            "upkeep/lighthouse-v7.0.0",
        ])
        .output()
        .unwrap();
    let log = String::from_utf8(log.stdout).unwrap();
    let (message, trailers) = log.split_once('\0').unwrap();
    assert!(
        message.contains("x\\nCo-authored-by: Mallory <m@evil.example>\\n.yml"),
        "{message}"
    );
    assert!(!message.contains("\nCo-authored-by"), "{message}");
    assert!(!message.contains('\u{1b}'), "{message}");
    assert!(trailers.trim().is_empty(), "no trailer: {trailers:?}");
}

#[test]
fn control_characters_in_file_names_reach_no_terminal_raw() {
    let dir = tempfile::tempdir().unwrap();
    for name in [FORGED, ESCAPED] {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, "image: sigp/lighthouse:v6.0.0\n").unwrap();
    }
    let out = upkeep_env(dir.path(), &["scan", "."], &[]);
    let (text, err) = (stdout(&out), stderr(&out));
    assert!(
        text.contains("e\\u{1b}]0;pwned\\u{7}\\u{1b}[2J.yml:1:"),
        "{text}"
    );
    assert!(
        text.contains("x\\nCo-authored-by: Mallory <m@evil.example>\\n.yml:1:"),
        "{text}"
    );
    for (what, s) in [("stdout", &text), ("stderr", &err)] {
        assert!(
            !s.chars().any(|c| c.is_control() && c != '\n'),
            "raw control character on {what}: {s:?}"
        );
    }
    // one line per reference: a header and two rows (the summary is on
    // stderr)
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(
        err.contains("2 references in 2 files (2 files read)"),
        "{err}"
    );
    let out = upkeep_env(
        dir.path(),
        &[
            "bump",
            ".",
            "--image",
            "sigp/lighthouse",
            "--to",
            "v7.0.0",
            "--dry-run",
        ],
        &[],
    );
    let (text, err) = (stdout(&out), stderr(&out));
    for (what, s) in [("stdout", &text), ("stderr", &err)] {
        assert!(
            !s.chars().any(|c| c.is_control() && c != '\n'),
            "raw control character on {what}: {s:?}"
        );
    }
    assert!(err.contains("x\\nCo-authored-by"), "{err}");
}
