//! `upkeep plan` and `upkeep run` offline and on failure, against the
//! GitHub double: one line per cause, exit 4 when nothing could be checked,
//! 3 when part failed; what waits is listed with its reason (never "up to
//! date"); the markdown plan and the json `body` are what `run` sends.

use serde_json::Value;

use crate::support::git_http::GitServer;
use crate::support::github::{Caller, GitHubDouble, NewRelease, Repo};
use crate::support::{stderr, stdout, upkeep_env};

const TOKEN: &str = "ghp_plan_token_0123456789";
const REPO: &str = "acme/deploy";
const NOW: &str = "2030-01-01T09:00:00Z";

/// One deployment repository on a git remote with two outdated images.
struct World {
    dir: tempfile::TempDir,
    gh: GitHubDouble,
    _git: GitServer,
}

impl World {
    /// `repositories` is appended to the repositories of the settings;
    /// `registries` replaces a section that trusts GitHub and never asks a
    /// real registry.
    fn new(repositories: &str, registries: Option<&str>) -> World {
        World::with(repositories, "", registries)
    }

    /// With `pull_requests` settings besides the reviewers.
    fn with(repositories: &str, pull_requests: &str, registries: Option<&str>) -> World {
        let dir = tempfile::tempdir().unwrap();
        let gh = GitHubDouble::start();
        let git = GitServer::start("x-access-token", TOKEN);
        git.create_repo(
            "deploy",
            &[(
                "envs/hoodi/docker-compose.yml",
                "services:\n  cl:\n    image: sigp/lighthouse:v6.0.0\n  el:\n    image: ethereum/client-go:v1.14.12\n",
            )],
        );
        gh.add_repo(
            Repo::new(REPO)
                .default_branch("main")
                .served_by(&git, "deploy"),
        );
        gh.set_login(Caller::Token(TOKEN), "upkeep[bot]");
        gh.add_releases(
            "sigp/lighthouse",
            [
                NewRelease::new("v6.0.0"),
                NewRelease::new("v7.0.0").body(
                    "## Summary\n\nFaster sync. Thanks @someone!\n\n## Breaking changes\n\n- `--http-port` is now `--http.port`\n",
                ),
            ],
        );
        gh.add_releases(
            "ethereum/go-ethereum",
            [
                NewRelease::new("v1.14.12"),
                NewRelease::new("v1.15.0").body("Geth v1.15.0: bug fixes.\n"),
            ],
        );
        let registries = registries.unwrap_or(
            "registries:\n  require_published: false\n  mirrors:\n    docker.io: http://127.0.0.1:9\n",
        );
        std::fs::write(
            dir.path().join("upkeep.yml"),
            format!(
                "repositories:\n  - github: {REPO}\n    environments:\n      - name: hoodi\n        paths: [\"envs/hoodi/**\"]\n        network: hoodi\n{repositories}\
                 pull_requests:\n  reviewers: [alice]\n{pull_requests}{registries}"
            ),
        )
        .unwrap();
        World { dir, gh, _git: git }
    }

    /// `upkeep ARGS` with extra environment; (stdout, stderr, exit).
    fn upkeep(&self, args: &[&str], extra: &[(&str, &str)]) -> (String, String, i32) {
        let state = self.dir.path().join("state.sqlite3");
        let cache = self.dir.path().join("cache");
        let mut env = vec![
            ("UPKEEP_GITHUB_API_URL", self.gh.url()),
            ("UPKEEP_GITHUB_TOKEN", TOKEN),
            ("UPKEEP_STATE", state.to_str().unwrap()),
            ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
            ("UPKEEP_NOW", NOW),
        ];
        env.extend_from_slice(extra);
        let out = upkeep_env(self.dir.path(), args, &env);
        let (out_text, err) = (stdout(&out), stderr(&out));
        assert!(
            !err.contains(TOKEN) && !out_text.contains(TOKEN),
            "token leaked"
        );
        (out_text, err, out.status.code().unwrap_or(-1))
    }
}

/// Offline, `plan` and `run` say once why (GitHub refused the connection,
/// check UPKEEP_GITHUB_API_URL), exit 4 and never claim "up to date".
#[test]
fn offline_plan_and_run_exit_4_with_one_line_naming_the_cause() {
    let w = World::new("", None);
    let offline = [
        ("UPKEEP_GITHUB_API_URL", "http://127.0.0.1:9"),
        ("UPKEEP_GITHUB_TIMEOUT", "2"),
    ];
    for args in [&["plan"][..], &["run"], &["plan", "--format", "markdown"]] {
        let (out, err, code) = w.upkeep(args, &offline);
        assert_eq!(code, 4, "{args:?}: {out}{err}");
        assert_eq!(
            err.matches(
                "error: 127.0.0.1:9 refused the connection: check UPKEEP_GITHUB_API_URL and the network"
            )
            .count(),
            1,
            "{args:?}: {err}"
        );
        assert!(
            err.contains("GitHub could not be used for 1 of 1 subject(s): acme/deploy"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("cannot reach GitHub for"), "{args:?}: {err}");
        assert!(
            err.lines().filter(|l| l.starts_with("error: ")).count() <= 3,
            "{args:?}: {err}"
        );
        assert!(!out.contains("up to date"), "{args:?}: {out}");
        assert!(
            out.contains("incomplete: no reference could be checked"),
            "{args:?}: {out}"
        );
    }
    assert_eq!(w.gh.stats().total, 0);
}

/// A token GitHub refuses: one line naming the token and scopes to check.
#[test]
fn a_refused_token_is_one_line_for_plan_and_run() {
    let w = World::new("", None);
    w.gh.accept_only_tokens(&["another"]);
    for cmd in ["plan", "run"] {
        let (out, err, code) = w.upkeep(&[cmd], &[]);
        assert_eq!(code, 4, "{cmd}: {out}{err}");
        assert_eq!(
            err.matches("rejected the credentials (401): check UPKEEP_GITHUB_TOKEN")
                .count(),
            1,
            "{cmd}: {err}"
        );
    }
    assert!(w.gh.pulls(REPO).is_empty());
}

/// A token that may read but not write: the check works, the pull request
/// is refused, and the error says which permissions a token needs.
#[test]
fn a_token_without_write_permission_says_which_permissions_are_needed() {
    let w = World::new("", None);
    w.gh.read_only_tokens();
    let (out, err, code) = w.upkeep(&["run"], &[]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(
        err.contains("(403: Resource not accessible by personal access token): the token lacks a permission; a fine-grained token needs Contents, Pull requests and Issues read and write"),
        "{err}"
    );
    assert!(w.gh.pulls(REPO).is_empty());
}

/// The registry is unreachable and targets must be published: plan lists
/// both references as waiting, with the reason, in text and json; it never
/// says "nothing to do"; nothing could be checked (exit 4).
#[test]
fn an_unreachable_registry_makes_plan_list_what_waits() {
    let w = World::new(
        "",
        Some("registries:\n  mirrors:\n    docker.io: http://127.0.0.1:9\n"),
    );
    let (out, err, code) = w.upkeep(&["plan"], &[]);
    assert_eq!(code, 4, "{out}{err}");
    assert!(!out.contains("nothing to do"), "{out}");
    assert!(!out.contains("up to date"), "{out}");
    assert!(out.contains("# Waiting (2):"), "{out}");
    let reason =
        "the registry could not be asked whether the image exists (registries.require_published)";
    for (line, image, from, to) in [
        (3, "sigp/lighthouse", "v6.0.0", "v7.0.0"),
        (5, "ethereum/client-go", "v1.14.12", "v1.15.0"),
    ] {
        let expected = format!(
            "# waiting: {image} {from} -> {to} in {REPO} envs/hoodi/docker-compose.yml:{line} (hoodi): {reason}"
        );
        assert!(out.contains(&expected), "{expected}\n{out}");
    }
    assert!(err.contains("is unreachable"), "{err}");

    let (out, err, code) = w.upkeep(&["plan", "--format", "json"], &[]);
    assert_eq!(code, 4, "{out}{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(json["planned"].as_array().unwrap().len(), 0, "{json:#}");
    let waiting = json["waiting"].as_array().unwrap();
    assert_eq!(waiting.len(), 2, "{json:#}");
    assert_eq!(waiting[0]["image"], "sigp/lighthouse");
    assert_eq!(waiting[0]["target"], "v7.0.0");
    assert_eq!(waiting[0]["reason"], reason);
    assert!(
        json["incomplete"]
            .as_str()
            .unwrap()
            .starts_with("no reference could be checked"),
        "{json:#}"
    );
}

/// One repository of two cannot be read (GitHub answers 404): the other is
/// planned and published, and the exit is 3 (partial), not 4.
#[test]
fn one_failing_repository_of_two_is_a_partial_failure() {
    let w = World::new("  - github: acme/gone\n", None);
    let (out, err, code) = w.upkeep(&["plan"], &[]);
    assert_eq!(code, 3, "{out}{err}");
    assert!(err.contains("error: acme/gone: "), "{err}");
    assert!(out.contains("# acme/deploy: "), "{out}");
    assert!(out.contains("incomplete: the check is incomplete"), "{out}");
    let (out, err, code) = w.upkeep(&["run"], &[]);
    assert_eq!(code, 3, "{out}{err}");
    assert_eq!(w.gh.pulls(REPO).len(), 2, "{out}");
}

/// Each pull request as it will be opened, as markdown; the one beyond
/// `max_open` waits, with its reason.
#[test]
fn markdown_plan() {
    let w = World::with("", "  max_open: 1\n", None);
    let (out, err, code) = w.upkeep(&["plan", "--format", "markdown"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let out = out.replace(w.gh.url(), "http://GITHUB");
    insta::assert_snapshot!("markdown_plan", out);
}

/// `plan --format json` shows the title, labels, reviewers and body that
/// `run` then sends to GitHub, byte for byte.
#[test]
fn plan_json_body_is_what_run_sends() {
    let w = World::new("", None);
    let (out, err, code) = w.upkeep(&["plan", "--format", "json"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let json: Value = serde_json::from_str(&out).unwrap();
    let planned = json["planned"].as_array().unwrap().clone();
    assert_eq!(planned.len(), 2, "{json:#}");
    assert_eq!(json["waiting"].as_array().unwrap().len(), 0);
    let (out, err, code) = w.upkeep(&["run"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    let pulls = w.gh.pulls(REPO);
    assert_eq!(pulls.len(), 2, "{out}");
    for p in &planned {
        let pull = pulls
            .iter()
            .find(|x| x.head == p["branch"].as_str().unwrap())
            .unwrap_or_else(|| panic!("no pull request for {p:#}"));
        assert!(!p["body"].as_str().unwrap().is_empty());
        assert_eq!(pull.body.as_deref(), p["body"].as_str(), "{p:#}");
        assert_eq!(pull.title, p["title"].as_str().unwrap());
        let mut labels: Vec<&str> = p["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        labels.sort_unstable();
        let mut have: Vec<&str> = pull.labels.iter().map(String::as_str).collect();
        have.sort_unstable();
        assert_eq!(have, labels);
        assert_eq!(p["reviewers"], serde_json::json!(["alice"]));
        assert_eq!(pull.requested_reviewers, ["alice"]);
    }
}

/// `-v` says what run is doing, step by step (the progress lines among
/// them); without it a short pass off a terminal prints none of that.
#[test]
fn verbose_run_says_what_it_is_doing_and_quiet_run_does_not() {
    let w = World::new("", None);
    let (out, err, code) = w.upkeep(&["plan"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    for quiet in ["polling upstream", "pushing branch", "progress:"] {
        assert!(!err.contains(quiet), "{quiet} without -v:\n{err}");
    }
    let (out, err, code) = w.upkeep(&["run", "-v"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    for step in [
        "locating the repository and its base branch",
        "reading repositories 1/1: acme/deploy",
        "polling upstream releases",
        "0/1 repositories, 0 pull request(s) planned; now acme/deploy",
        "pushing branch",
        "opening pull request",
    ] {
        assert!(err.contains(step), "{step} missing:\n{err}");
    }
    assert!(out.contains("created"), "{out}");
}
