//! GitHub as a slow, limiting and costly upstream: the total deadline of a
//! request (a dripping or hanging API), the pause of writes after a long
//! secondary rate limit (kept across runs), and what a warm `check` and
//! `run` cost in rate-limit points (0: conditional requests and one
//! pull-request listing per repository).

use std::time::Duration;

use upkeep::domain::repo::RepoName;
use upkeep::io::forge::{Forge, ForgeError, RetryPolicy};

use crate::support::git_http::GitServer;
use crate::support::github::{Caller, GitHubDouble, Repo, Stats};
use crate::support::{stderr, stdout, upkeep_env};

const TOKEN: &str = "ghp_limits_token_0123456789";
const REPO: &str = "acme/deploy";
const NOW: &str = "2030-01-01T09:00:00Z";

/// One deployment repository on a git remote with two outdated images.
struct World {
    dir: tempfile::TempDir,
    gh: GitHubDouble,
    _git: GitServer,
}

impl World {
    fn new() -> World {
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
        gh.add_releases("sigp/lighthouse", ["v6.0.0", "v7.0.0"]);
        gh.add_releases("ethereum/go-ethereum", ["v1.14.12", "v1.15.0"]);
        std::fs::write(
            dir.path().join("upkeep.yml"),
            format!(
                "repositories:\n  - github: {REPO}\n    environments:\n      - name: hoodi\n        paths: [\"envs/hoodi/**\"]\n        network: hoodi\n\
                 registries:\n  require_published: false\n  mirrors:\n    docker.io: http://127.0.0.1:9\n"
            ),
        )
        .unwrap();
        World { dir, gh, _git: git }
    }

    /// `upkeep ARGS` at `now` with extra environment; (stdout, stderr, exit).
    fn upkeep(&self, args: &[&str], now: &str, extra: &[(&str, &str)]) -> (String, String, i32) {
        let state = self.dir.path().join("state.sqlite3");
        let cache = self.dir.path().join("cache");
        let mut env = vec![
            ("UPKEEP_GITHUB_API_URL", self.gh.url()),
            ("UPKEEP_GITHUB_TOKEN", TOKEN),
            ("UPKEEP_STATE", state.to_str().unwrap()),
            ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
            ("UPKEEP_NOW", now),
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

/// What a phase cost, for failure messages.
fn cost(stats: &Stats) -> String {
    format!(
        "{} requests, {} charged, {} writes, by operation {:?}",
        stats.total, stats.charged, stats.writes, stats.by_operation
    )
}

/// A server that sends its headers and then one byte every 200 ms would
/// keep a request open for minutes: the total deadline cuts every attempt
/// off, and the error names the request and the host, never the token.
#[tokio::test]
async fn a_dripping_answer_is_cut_off_by_the_total_deadline() {
    let gh = GitHubDouble::start();
    gh.add_repo(Repo::new(REPO));
    gh.drip("/repos/acme/deploy", Duration::from_millis(200));
    let retry = RetryPolicy {
        attempts: 2,
        base_delay: Duration::from_millis(10),
        jitter: false,
        ..RetryPolicy::default()
    };
    let mut forge = Forge::new(gh.url(), Some(TOKEN), retry).unwrap();
    forge.set_timeout(Duration::from_millis(500));
    let e = forge
        .repository(&RepoName::new("acme", "deploy"))
        .await
        .unwrap_err();
    assert!(matches!(e, ForgeError::Timeout { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.starts_with("GitHub did not answer acme/deploy within 0.5s (127.0.0.1:"),
        "{text}"
    );
    assert!(text.contains("UPKEEP_GITHUB_TIMEOUT") && !text.contains(TOKEN));
    assert_eq!(
        forge
            .stats
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        2
    );
    // The same server at full speed answers.
    gh.stop_slowness();
    forge
        .repository(&RepoName::new("acme", "deploy"))
        .await
        .unwrap();
}

/// A GitHub that never answers: `check` finishes (nothing checked, exit 4) with a
/// timeout per request instead of hanging.
#[test]
fn a_hanging_github_does_not_hang_check() {
    let w = World::new();
    w.gh.hang("/repos/acme/deploy");
    let (out, err, code) = w.upkeep(&["check"], NOW, &[("UPKEEP_GITHUB_TIMEOUT", "0.3")]);
    assert_eq!(code, 4, "{out}{err}");
    assert!(
        err.contains("GitHub at 127.0.0.1:")
            && err.contains(
                " did not answer within 0.3s: check the network, or raise UPKEEP_GITHUB_TIMEOUT"
            ),
        "{err}"
    );
}

#[test]
fn a_bad_timeout_setting_is_a_usage_error() {
    let w = World::new();
    let (out, err, code) = w.upkeep(&["check"], NOW, &[("UPKEEP_GITHUB_TIMEOUT", "soon")]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("UPKEEP_GITHUB_TIMEOUT: `soon` is not a number of seconds"),
        "{err}"
    );
    assert_eq!(w.gh.stats().total, 0);
}

/// A secondary limit with `retry-after: 3600` on a write: that write
/// fails, no other write follows in the run, the next run (same hour)
/// sends none either (the pause is in the state store), and the output says
/// when writes resume. After that time, the pull requests are opened.
#[test]
fn a_long_secondary_limit_pauses_writes_until_the_time_github_gave() {
    let w = World::new();
    w.gh.secondary_limit_writes(1, 3600);
    let (out, err, code) = w.upkeep(&["run"], NOW, &[]);
    assert_eq!(code, 3, "{out}{err}");
    let first = w.gh.stats();
    assert_eq!(first.writes, 1, "{}", cost(&first));
    assert!(w.gh.pulls(REPO).is_empty());
    let all = format!("{out}{err}");
    assert!(
        all.contains("GitHub secondary rate limit")
            && all.contains("writes for the token resume at 2030-01-01 10:00:00 UTC"),
        "{all}"
    );

    w.gh.clear_requests();
    let (out, err, code) = w.upkeep(&["run"], "2030-01-01T09:30:00Z", &[]);
    assert_eq!(code, 3, "{out}{err}");
    let second = w.gh.stats();
    assert_eq!(second.writes, 0, "{}", cost(&second));
    let all = format!("{out}{err}");
    assert!(
        all.contains("writes for the token are paused after a GitHub secondary rate limit; they resume at 2030-01-01 10:00:00 UTC"),
        "{all}"
    );

    let (out, err, code) = w.upkeep(&["run"], "2030-01-01T10:00:01Z", &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(w.gh.pulls(REPO).len(), 2, "{out}");
}

/// A warm `check` and a warm `run` with nothing new cost no rate-limit
/// points: every read is conditional (GitHub does not charge a 304 to an
/// authenticated request) and pull requests are listed once per
/// repository, not looked up per branch.
#[test]
fn warm_check_and_run_cost_no_rate_limit() {
    let w = World::new();
    let (out, err, code) = w.upkeep(&["check"], NOW, &[]);
    assert_eq!(code, 0, "{out}{err}");
    w.gh.clear_requests();
    let (out, err, code) = w.upkeep(&["check"], NOW, &[]);
    assert_eq!(code, 0, "{out}{err}");
    let warm_check = w.gh.stats();
    assert_eq!(warm_check.charged, 0, "warm check: {}", cost(&warm_check));
    assert!(warm_check.not_modified > 0);

    let (out, err, code) = w.upkeep(&["run"], NOW, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(w.gh.pulls(REPO).len(), 2, "{out}");
    // The run after the one that opened the pull requests reads the lists
    // its writes changed (labels, pull requests) once more, and writes
    // nothing (the dependency dashboard already showed them); the next
    // costs nothing.
    w.gh.clear_requests();
    let (out, err, code) = w.upkeep(&["run"], NOW, &[]);
    assert_eq!(code, 0, "{out}{err}");
    let second = w.gh.stats();
    assert_eq!(second.writes, 0, "second run: {}", cost(&second));
    w.gh.clear_requests();
    let (out, err, code) = w.upkeep(&["run"], NOW, &[]);
    assert_eq!(code, 0, "{out}{err}");
    let warm_run = w.gh.stats();
    assert_eq!(warm_run.writes, 0, "warm run: {}", cost(&warm_run));
    assert_eq!(warm_run.charged, 0, "warm run: {}", cost(&warm_run));
    assert_eq!(
        warm_run
            .by_operation
            .get("pulls/list")
            .copied()
            .unwrap_or(0),
        3,
        "one listing for the rollout, open and recent for publishing: {}",
        cost(&warm_run)
    );

    // Something new is seen at once: a closed pull request is not reopened.
    let closed = w.gh.pulls(REPO)[0].number;
    w.gh.close_pr(REPO, closed);
    let (out, err, code) = w.upkeep(&["run"], NOW, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("was closed without merging"), "{out}");
    assert_eq!(w.gh.pulls(REPO).len(), 2);
}

/// Offline: one line per cause with what to check, not one per repository
/// and upstream, and exit 4 (nothing could be checked) rather than 3.
#[test]
fn an_unreachable_github_is_one_clear_line_and_exit_4() {
    let w = World::new();
    let closed = "http://127.0.0.1:9";
    let (out, err, code) = w.upkeep(
        &["check"],
        NOW,
        &[
            ("UPKEEP_GITHUB_API_URL", closed),
            ("UPKEEP_GITHUB_TIMEOUT", "2"),
        ],
    );
    assert_eq!(code, 4, "{out}{err}");
    assert!(
        err.contains(
            "error: 127.0.0.1:9 refused the connection: check UPKEEP_GITHUB_API_URL and the network"
        ),
        "{err}"
    );
    assert!(
        err.contains("GitHub could not be used for 1 of 1 subject(s): acme/deploy"),
        "{err}"
    );
    assert!(!err.contains("cannot reach GitHub for"), "{err}");
    assert!(err.contains("no reference could be checked"), "{err}");
}

/// A token GitHub refuses: one line naming the setting to check.
#[test]
fn a_refused_token_is_one_clear_line() {
    let w = World::new();
    w.gh.accept_only_tokens(&["another"]);
    let (out, err, code) = w.upkeep(&["check"], NOW, &[]);
    assert_eq!(code, 4, "{out}{err}");
    assert_eq!(
        err.matches("rejected the credentials (401): check UPKEEP_GITHUB_TOKEN")
            .count(),
        1,
        "{err}"
    );
}
