//! `upkeep serve` end to end, in GitHub App mode against the GitHub double
//! (which verifies the app's RS256 JWTs and issues installation tokens),
//! with the deployment repository on a real git smart-HTTP remote; App
//! authentication in the forge; and sharding.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use upkeep::app::pipeline::in_shard;
use upkeep::app::serve::webhook;
use upkeep::domain::repo::RepoName;
use upkeep::io::forge::{AppCredentials, Forge, ForgeError, RetryPolicy};

use crate::support::fixture;
use crate::support::git_http::GitServer;
use crate::support::github::{AppModel, GitHubDouble, Repo, generate_keys, test_keys};

const APP_ID: u64 = 4242;
const INSTALLATION: u64 = 77;
const GIT_TOKEN: &str = "ghs_installation_token_for_git_0001";
pub(crate) const SECRET: &str = "webhook-secret-current";
const REPO: &str = "acme/deploy";
const VALUES: &str = "image:\n  repository: sigp/lighthouse\n  tag: v6.0.0\n";

/// A running `upkeep serve` and what it printed on stderr.
pub(crate) struct Served {
    pub(crate) child: Child,
    addr: String,
    stderr: Arc<Mutex<String>>,
}

impl Served {
    pub(crate) fn start(dir: &std::path::Path, env: &[(&str, &str)]) -> Served {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_upkeep"));
        cmd.current_dir(dir)
            .args(["serve", "--listen", "127.0.0.1:0", "-v"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, _) in std::env::vars() {
            if k.starts_with("UPKEEP_") || k == "GITHUB_TOKEN" || k.starts_with("XDG_") {
                cmd.env_remove(k);
            }
        }
        cmd.envs(env.iter().copied());
        let mut child = cmd.spawn().expect("start upkeep serve");
        let stderr = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let pipe = child.stderr.take().unwrap();
        let log = stderr.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("upkeep serve: listening on ") {
                    let _ = tx.send(addr.to_string());
                }
                let mut log = log.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("upkeep serve did not start:\n{}", stderr.lock().unwrap()));
        Served {
            child,
            addr,
            stderr,
        }
    }

    pub(crate) fn log(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// One HTTP/1.1 request; the status and body.
    pub(crate) fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, String) {
        let mut stream = TcpStream::connect(&self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        req.push_str("\r\n");
        stream.write_all(req.as_bytes()).unwrap();
        stream.write_all(body).unwrap();
        let mut out = Vec::new();
        stream.read_to_end(&mut out).unwrap();
        let text = String::from_utf8_lossy(&out).into_owned();
        let status = text
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }

    pub(crate) fn webhook(&self, event: &str, delivery: &str, payload: &Value) -> u16 {
        let body = serde_json::to_vec(payload).unwrap();
        let sig = webhook::sign(SECRET, &body);
        let headers = [
            ("content-type", "application/json"),
            ("x-github-event", event),
            ("x-github-delivery", delivery),
            ("x-hub-signature-256", sig.as_str()),
        ];
        self.http("POST", "/webhook", &headers, &body).0
    }

    /// SIGTERM, then the exit status.
    pub(crate) fn stop(mut self) -> (Option<i32>, String) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                return (status.code(), self.log());
            }
            if start.elapsed() > Duration::from_secs(60) {
                let _ = self.child.kill();
                panic!("upkeep serve did not stop on SIGTERM:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Polls `what` until it holds, at most `secs` seconds.
pub(crate) fn wait_for(
    secs: u64,
    what: &str,
    log: impl Fn() -> String,
    mut f: impl FnMut() -> bool,
) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(secs),
            "timed out waiting for {what}\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn installation_payload() -> Value {
    let mut p: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("webhooks/installation.created.json")).unwrap(),
    )
    .unwrap();
    p["installation"]["id"] = json!(INSTALLATION);
    p["installation"]["app_id"] = json!(APP_ID);
    p["installation"]["account"]["login"] = json!("acme");
    p["repositories"] =
        json!([{"id": 1, "node_id": "R_1", "name": "deploy", "full_name": REPO, "private": false}]);
    p
}

#[test]
fn app_installation_to_pull_requests_then_scheduled_poll() {
    let keys = test_keys();
    let dir = tempfile::tempdir().unwrap();
    let gh = GitHubDouble::start();
    let git = GitServer::start("x-access-token", GIT_TOKEN);
    // Configured in the repository itself (an installed repository without
    // it gets an onboarding pull request instead: tests/it/onboard.rs).
    git.create_repo(
        "deploy",
        &[
            ("envs/mainnet/values.yaml", VALUES),
            (".github/upkeep.yml", "branch: main\n"),
        ],
    );
    gh.add_repo(
        Repo::new(REPO)
            .default_branch("main")
            .served_by(&git, "deploy"),
    );
    gh.add_releases("sigp/lighthouse", ["v6.0.0", "v6.1.0"]);
    gh.enable_app(AppModel::new(APP_ID, "upkeep", &keys.public_pem));
    // Every token is the git server's password; each is good for 5 min 3 s,
    // so the forge (refreshing 5 min before expiry) renews it after 3 s.
    gh.fix_installation_token(GIT_TOKEN);
    gh.set_installation_token_lifetime(Duration::from_secs(303));
    // Only app credentials are accepted: no plain token slips through.
    gh.accept_only_tokens(&[]);

    std::fs::write(
        dir.path().join("upkeep.yml"),
        "registries:\n  require_published: false\n  mirrors:\n    docker.io: http://127.0.0.1:9\nschedule:\n  poll: \"*/1 * * * * *\"\n",
    )
    .unwrap();
    let state = dir.path().join("state.sqlite3");
    let cache = dir.path().join("cache");
    let key_file = dir.path().join("app.pem");
    std::fs::write(&key_file, &keys.private_pem).unwrap();
    let app_id = APP_ID.to_string();
    let served = Served::start(
        dir.path(),
        &[
            ("UPKEEP_GITHUB_API_URL", gh.url()),
            ("UPKEEP_GITHUB_APP_ID", &app_id),
            ("UPKEEP_GITHUB_APP_PRIVATE_KEY", key_file.to_str().unwrap()),
            (
                "UPKEEP_GITHUB_WEBHOOK_SECRET",
                &format!("{SECRET},older-secret"),
            ),
            ("UPKEEP_STATE", state.to_str().unwrap()),
            ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
        ],
    );
    assert_eq!(served.http("GET", "/healthz", &[], b"").0, 200);
    wait_for(
        30,
        "/readyz",
        || served.log(),
        || served.http("GET", "/readyz", &[], b"").0 == 200,
    );
    assert!(
        gh.app_stats().jwts_verified >= 1,
        "installations listed with the app's JWT"
    );
    assert!(
        gh.pulls(REPO).is_empty(),
        "no installation yet, so no pull request"
    );

    // The app is installed on acme/deploy: the webhook leads to a PR.
    gh.add_installation(INSTALLATION, "acme", &[REPO]);
    let unsigned = served.http(
        "POST",
        "/webhook",
        &[("x-github-event", "installation")],
        b"{}",
    );
    assert_eq!(unsigned.0, 401);
    assert_eq!(
        served.webhook("installation", "delivery-1", &installation_payload()),
        202
    );
    assert_eq!(
        served.webhook("installation", "delivery-1", &installation_payload()),
        200,
        "replay ignored"
    );
    wait_for(
        90,
        "a labelled pull request for v6.1.0",
        || served.log(),
        || {
            gh.pulls(REPO)
                .iter()
                .any(|p| p.state == "open" && p.title.contains("v6.1.0") && !p.labels.is_empty())
        },
    );
    let pr = gh
        .pulls(REPO)
        .into_iter()
        .find(|p| p.title.contains("v6.1.0"))
        .unwrap();
    assert_eq!(pr.author, "upkeep[bot]");
    assert!(pr.labels.contains(&"upkeep".to_string()), "{:?}", pr.labels);
    let body = pr.body.unwrap_or_default();
    assert!(body.contains("<!-- upkeep:fingerprint "));
    assert!(
        body.contains("Comment `@upkeep recheck` to check again"),
        "serve answers comments, so its body offers them: {body}"
    );

    // A release published later is picked up by the next scheduled poll.
    gh.add_release("sigp/lighthouse", "v6.2.0");
    wait_for(
        90,
        "a pull request for v6.2.0",
        || served.log(),
        || {
            gh.pulls(REPO)
                .iter()
                .any(|p| p.state == "open" && p.title.contains("v6.2.0"))
        },
    );
    // Tokens were refreshed before they expired, and every JWT verified.
    wait_for(
        30,
        "a refreshed installation token",
        || served.log(),
        || gh.app_stats().tokens_issued >= 2,
    );
    let stats = gh.app_stats();
    assert_eq!(stats.rejected, 0, "{stats:?}");

    // The pass that opened the v6.2.0 pull request counts it when it ends.
    let created = |metrics: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("upkeep_pull_requests_total{action=\"created\"} "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    wait_for(
        30,
        "both pull requests counted",
        || served.log(),
        || created(&served.http("GET", "/metrics", &[], b"").1) >= 2,
    );
    let (status, metrics) = served.http("GET", "/metrics", &[], b"");
    assert_eq!(status, 200);
    for needle in [
        "upkeep_polls_total ",
        "upkeep_pull_requests_total{action=\"created\"} ",
        "upkeep_github_requests_total{status=\"200\"} ",
        "upkeep_github_requests_total{status=\"201\"} ",
        "upkeep_github_installation_tokens_total ",
        "upkeep_github_rate_limit_remaining ",
        "upkeep_pending_upgrades{repository=\"acme/deploy\"} 1",
        "upkeep_webhooks_total{event=\"installation\",outcome=\"accepted\"} 1",
        "upkeep_webhooks_total{event=\"installation\",outcome=\"duplicate\"} 1",
        "upkeep_webhooks_total{event=\"unverified\",outcome=\"rejected\"} 1",
    ] {
        assert!(
            metrics.contains(needle),
            "{needle} missing from\n{metrics}\n{}",
            served.log()
        );
    }
    assert!(created(&metrics) >= 2, "{metrics}\n{}", served.log());

    let (code, log) = served.stop();
    assert_eq!(code, Some(0), "{log}");
    for secret in [GIT_TOKEN, SECRET, keys.private_pem.lines().nth(1).unwrap()] {
        assert!(
            !log.contains(secret),
            "a secret leaked into the log:\n{log}"
        );
    }
    gh.assert_no_unexpected();
}

const TOKEN: &str = "ghp_serve_commands_token_0123456789";
const HOODI_FILE: &str = "envs/hoodi/values.yaml";
const HOODI_VALUES: &str = "image:\n  repository: sigp/lighthouse\n  tag: v6.0.0 # consensus\n";

/// A real `issue_comment` delivery (`created`): `user` (with
/// `association`) commented `body` on pull request `pr` of [`REPO`], as
/// GitHub sends it for a pull request (the issue's `pull_request` link,
/// with `merged_at` once merged).
pub fn pull_comment(
    pr: &crate::support::github::PullView,
    body: &str,
    user: &str,
    association: &str,
) -> Value {
    let mut p: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("webhooks/issue_comment.created.json")).unwrap(),
    )
    .unwrap();
    let api = format!("https://api.github.com/repos/{REPO}");
    let html = format!("https://github.com/{REPO}");
    let n = pr.number;
    p["repository"]["name"] = json!("deploy");
    p["repository"]["full_name"] = json!(REPO);
    p["repository"]["owner"]["login"] = json!("acme");
    p["installation"]["id"] = json!(INSTALLATION);
    let issue = &mut p["issue"];
    issue["number"] = json!(n);
    issue["title"] = json!(pr.title);
    issue["body"] = json!(pr.body);
    issue["state"] = json!(pr.state);
    issue["url"] = json!(format!("{api}/issues/{n}"));
    issue["html_url"] = json!(format!("{html}/pull/{n}"));
    issue["user"]["login"] = json!(pr.author);
    issue["user"]["type"] = json!("Bot");
    issue["author_association"] = json!("NONE");
    issue["pull_request"] = json!({
        "url": format!("{api}/pulls/{n}"),
        "html_url": format!("{html}/pull/{n}"),
        "diff_url": format!("{html}/pull/{n}.diff"),
        "patch_url": format!("{html}/pull/{n}.patch"),
        "merged_at": if pr.merged { json!("2025-01-02T03:04:05Z") } else { Value::Null },
    });
    let comment = &mut p["comment"];
    comment["body"] = json!(body);
    comment["author_association"] = json!(association);
    comment["user"]["login"] = json!(user);
    comment["user"]["type"] = json!("User");
    comment["issue_url"] = json!(format!("{api}/issues/{n}"));
    comment["html_url"] = json!(format!("{html}/pull/{n}#issuecomment-1"));
    p
}

/// `git show REV:PATH` in a bare repository, as bytes.
fn git_show(bare: &std::path::Path, rev: &str, path: &str) -> Vec<u8> {
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
    out.stdout
}

#[test]
fn rollback_comment_on_a_merged_pull_request_opens_a_byte_exact_rollback() {
    rollback_by_comment(true);
}

/// A repository without environments (what the app assumes for the
/// repositories of an installation): the whole pull request is undone.
#[test]
fn rollback_comment_undoes_the_whole_pull_request_without_environments() {
    rollback_by_comment(false);
}

/// `upkeep run` opens an upgrade, a maintainer merges it, and `upkeep
/// serve` gets `@upkeep rollback` comments on it (and on an open one).
fn rollback_by_comment(environments: bool) {
    use crate::support::github::Caller;
    use crate::support::{stderr, stdout, upkeep_env};

    let dir = tempfile::tempdir().unwrap();
    let gh = GitHubDouble::start();
    let git = GitServer::start("x-access-token", TOKEN);
    git.create_repo("deploy", &[(HOODI_FILE, HOODI_VALUES)]);
    gh.add_repo(
        Repo::new(REPO)
            .default_branch("main")
            .served_by(&git, "deploy"),
    );
    gh.set_login(Caller::Token(TOKEN), "upkeep[bot]");
    gh.add_releases("sigp/lighthouse", ["v6.0.0", "v7.0.0"]);
    std::fs::write(
        dir.path().join("upkeep.yml"),
        format!(
            "repositories:\n  - github: {REPO}\n{}\
             registries:\n  require_published: false\n  mirrors:\n    docker.io: http://127.0.0.1:9\n",
            if environments {
                "    environments:\n      - name: hoodi\n        paths: [\"envs/hoodi/**\"]\n"
            } else {
                ""
            }
        ),
    )
    .unwrap();
    let state = dir.path().join("state.sqlite3");
    let cache = dir.path().join("cache");
    let env = [
        ("UPKEEP_GITHUB_API_URL", gh.url()),
        ("UPKEEP_GITHUB_TOKEN", TOKEN),
        ("UPKEEP_GITHUB_WEBHOOK_SECRET", SECRET),
        ("UPKEEP_STATE", state.to_str().unwrap()),
        ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
    ];
    let run = || {
        let out = upkeep_env(dir.path(), &["run"], &env);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}\n{}",
            stdout(&out),
            stderr(&out)
        );
    };

    // Job mode opens the upgrade, and a maintainer merges it.
    run();
    let upgrade = gh
        .pulls(REPO)
        .into_iter()
        .find(|p| p.title.contains("v7.0.0"))
        .unwrap_or_else(|| panic!("no pull request for v7.0.0: {:?}", gh.pulls(REPO)));
    let body = upgrade.body.clone().unwrap_or_default();
    assert!(
        !body.contains("@upkeep"),
        "nobody answers comments in job mode: {body}"
    );
    gh.merge_pr(REPO, upgrade.number);
    // A newer release: the next run opens a pull request that stays open.
    gh.add_release("sigp/lighthouse", "v7.1.0");
    run();
    let upgrade = gh.pull(REPO, upgrade.number);
    assert!(upgrade.merged);
    let open = gh
        .pulls(REPO)
        .into_iter()
        .find(|p| p.title.contains("v7.1.0") && p.state == "open")
        .unwrap_or_else(|| panic!("no pull request for v7.1.0: {:?}", gh.pulls(REPO)));

    let served = Served::start(dir.path(), &env);
    let bare = git.bare_path("deploy");
    let rollbacks = || -> Vec<crate::support::github::PullView> {
        gh.pulls(REPO)
            .into_iter()
            .filter(|p| p.labels.iter().any(|l| l == "rollback"))
            .collect()
    };

    // Without write access: nothing is queued, nothing happens.
    assert_eq!(
        served.webhook(
            "issue_comment",
            "rb-1",
            &pull_comment(&upgrade, "@upkeep rollback", "mallory", "NONE")
        ),
        204
    );

    // On a pull request that is not merged: a comment says why not.
    assert_eq!(
        served.webhook(
            "issue_comment",
            "rb-2",
            &pull_comment(&open, "@upkeep rollback", "alice", "COLLABORATOR")
        ),
        202
    );
    wait_for(
        60,
        "the refusal on the open pull request",
        || format!("{:?}\n{}", gh.pull(REPO, open.number), served.log()),
        || !gh.pull(REPO, open.number).comments.is_empty(),
    );
    let comments = gh.pull(REPO, open.number).comments;
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(
        comments[0].contains("only a merged pull request of upkeep's can be rolled back"),
        "{comments:?}"
    );
    assert_eq!(gh.pull(REPO, open.number).state, "open");
    assert!(rollbacks().is_empty(), "{:?}", gh.pulls(REPO));

    // A maintainer asks on the merged one: the rollback is opened and linked.
    assert_eq!(
        served.webhook(
            "issue_comment",
            "rb-3",
            &pull_comment(
                &upgrade,
                "Bad release.\n@upkeep rollback",
                "alice",
                "MEMBER"
            )
        ),
        202
    );
    wait_for(
        60,
        "a comment linking the rollback",
        || format!("{:?}\n{}", gh.pulls(REPO), served.log()),
        || !gh.pull(REPO, upgrade.number).comments.is_empty(),
    );
    let r = rollbacks();
    assert_eq!(r.len(), 1, "{:?}", gh.pulls(REPO));
    let r = &r[0];
    assert_eq!(r.state, "open");
    assert_eq!(r.author, "upkeep[bot]");
    if environments {
        assert_eq!(r.labels, ["hoodi", "rollback", "upkeep"]);
    } else {
        assert_eq!(r.labels, ["rollback", "upkeep"]);
    }
    assert_eq!(
        gh.pull(REPO, upgrade.number).comments,
        [format!(
            "Rollback opened at @alice's request: #{}.",
            r.number
        )]
    );
    let body = r.body.clone().unwrap();
    assert!(body.contains(&format!("(#{})", upgrade.number)), "{body}");
    // The evidence names who asked, without pinging them again.
    assert!(body.contains("requested by @&zwj;alice"), "{body}");
    assert!(body.contains("upkeep:fingerprint"), "{body}");
    assert!(body.contains("`envs/hoodi/values.yaml`"), "{body}");
    let scope = if environments {
        "in `hoodi`:"
    } else {
        "in the repository:"
    };
    assert!(body.contains(scope), "{body}");
    // Byte for byte what the file was before the upgrade, on a branch
    // from the merged main.
    assert_eq!(
        git_show(&bare, &r.head, HOODI_FILE),
        HOODI_VALUES.as_bytes()
    );
    assert!(
        String::from_utf8(git_show(&bare, "main", HOODI_FILE))
            .unwrap()
            .contains("tag: v7.0.0 # consensus")
    );
    assert_eq!(r.base, "main");
    assert_eq!(r.base_sha, gh.branch_sha(REPO, "main").unwrap());

    // Asked again: the open rollback is linked, not duplicated.
    assert_eq!(
        served.webhook(
            "issue_comment",
            "rb-4",
            &pull_comment(&upgrade, "@upkeep rollback", "bob", "OWNER")
        ),
        202
    );
    wait_for(
        60,
        "a second comment",
        || format!("{:?}\n{}", gh.pulls(REPO), served.log()),
        || gh.pull(REPO, upgrade.number).comments.len() >= 2,
    );
    assert_eq!(
        gh.pull(REPO, upgrade.number).comments[1],
        format!("Rollback opened at @bob's request: #{}.", r.number)
    );
    assert_eq!(rollbacks().len(), 1, "{:?}", gh.pulls(REPO));

    let (status, metrics) = served.http("GET", "/metrics", &[], b"");
    assert_eq!(status, 200);
    for needle in [
        "upkeep_webhooks_total{event=\"issue_comment\",outcome=\"accepted\"} 3",
        "upkeep_webhooks_total{event=\"issue_comment\",outcome=\"ignored\"} 1",
    ] {
        assert!(metrics.contains(needle), "{needle} missing from\n{metrics}");
    }
    let (code, log) = served.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(!log.contains(TOKEN), "token logged");
    gh.assert_no_unexpected();
}

#[tokio::test]
async fn forge_app_auth_discovers_and_refreshes_tokens() {
    let keys = test_keys();
    let gh = GitHubDouble::start();
    gh.add_repo(Repo::new(REPO).default_branch("main"));
    gh.add_repo(Repo::new("acme/other").default_branch("main"));
    gh.add_repo(Repo::new("zeta/infra").default_branch("main"));
    gh.enable_app(AppModel::new(APP_ID, "upkeep", &keys.public_pem));
    gh.add_installation(INSTALLATION, "acme", &[REPO]);
    gh.add_installation(88, "zeta", &[]);
    gh.set_installation_token_lifetime(Duration::from_secs(301));
    gh.accept_only_tokens(&[]);

    let creds = AppCredentials::new(&APP_ID.to_string(), &keys.private_pem).unwrap();
    let forge = Forge::with_app(gh.url(), creds, RetryPolicy::default()).unwrap();
    assert!(forge.is_app() && !forge.is_anonymous());
    let installations = forge.installations().await.unwrap();
    assert_eq!(
        installations
            .iter()
            .map(|i| (i.id, i.account.as_str()))
            .collect::<Vec<_>>(),
        [(77, "acme"), (88, "zeta")]
    );
    let repos = forge.installation_repositories(INSTALLATION).await;
    assert!(
        repos.is_ok(),
        "{repos:?} {:#?}",
        gh.requests()
            .iter()
            .map(|r| (&r.method, &r.path, r.status))
            .collect::<Vec<_>>()
    );
    assert_eq!(repos.unwrap(), [RepoName::new("acme", "deploy")]);
    assert_eq!(
        forge.installation_repositories(88).await.unwrap(),
        [RepoName::new("zeta", "infra")]
    );

    // Requests about a repository carry its installation's token.
    let info = forge
        .repository(&RepoName::new("acme", "deploy"))
        .await
        .unwrap();
    assert_eq!(info.default_branch, "main");
    let first = forge
        .git_token(&RepoName::new("acme", "deploy"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        forge.installation_token(INSTALLATION).await.unwrap(),
        first,
        "cached while fresh"
    );
    let issued = gh.app_stats().tokens_issued;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = forge.installation_token(INSTALLATION).await.unwrap();
    assert_ne!(first, second, "refreshed within 5 minutes of expiry");
    assert_eq!(gh.app_stats().tokens_issued, issued + 1);
    forge
        .repository(&RepoName::new("zeta", "infra"))
        .await
        .unwrap();
    assert_eq!(gh.app_stats().rejected, 0);
    // No secret in Debug output.
    assert!(!format!("{forge:?}").contains("BEGIN"));

    // A JWT signed with another key is refused.
    let wrong = generate_keys();
    let creds = AppCredentials::new(&APP_ID.to_string(), &wrong.private_pem).unwrap();
    let forge = Forge::with_app(gh.url(), creds, RetryPolicy::default()).unwrap();
    let err = forge.installations().await.unwrap_err();
    assert!(matches!(err, ForgeError::Unauthorized), "{err}");
    assert_eq!(gh.app_stats().rejected, 1);
    gh.assert_no_unexpected();
}

#[test]
fn shards_cover_every_repository_exactly_once() {
    let names: Vec<String> = (0..500)
        .map(|i| format!("org{}/repo-{i}", i % 7))
        .chain(["acme/deploy".to_string(), "ethpandaops/infra".to_string()])
        .collect();
    for n in 1..=8u32 {
        let mut sizes = vec![0usize; n as usize];
        for name in &names {
            let shards: Vec<u32> = (0..n).filter(|&i| in_shard(name, i, n)).collect();
            assert_eq!(shards.len(), 1, "{name} in shards {shards:?} of {n}");
            sizes[shards[0] as usize] += 1;
        }
        // Spread reasonably evenly.
        if n > 1 {
            let expected = names.len() / n as usize;
            assert!(sizes.iter().all(|&s| s > expected / 2), "{n}: {sizes:?}");
        }
    }
    // Stable: the same answer every time (an Indexed Job's pods agree).
    assert!(in_shard("acme/deploy", 0, 1));
    let first: Vec<bool> = (0..4).map(|i| in_shard("acme/deploy", i, 4)).collect();
    let again: Vec<bool> = (0..4).map(|i| in_shard("acme/deploy", i, 4)).collect();
    assert_eq!(first, again);
}

/// Every YAML document under `deploy/` and the example workflow, parsed.
pub(crate) fn yaml_docs(rel: &str) -> Vec<yaml_rust2::Yaml> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{rel}: {e}"));
    yaml_rust2::YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn deploy_files_are_complete() {
    use yaml_rust2::Yaml;
    let kinds = |rel: &str| -> Vec<(String, Yaml)> {
        yaml_docs(rel)
            .into_iter()
            .map(|d| {
                assert!(d["apiVersion"].as_str().is_some(), "{rel}: apiVersion");
                assert!(
                    d["metadata"]["name"].as_str().is_some(),
                    "{rel}: metadata.name"
                );
                (d["kind"].as_str().unwrap().to_string(), d)
            })
            .collect()
    };
    let containers = |pod: &Yaml| -> Vec<Yaml> {
        pod["spec"]["containers"]
            .as_vec()
            .cloned()
            .unwrap_or_default()
    };

    let app = kinds("deploy/kubernetes/app.yaml");
    let names: Vec<&str> = app.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        names,
        [
            "PersistentVolumeClaim",
            "ConfigMap",
            "Deployment",
            "Service"
        ]
    );
    let deployment = &app[2].1;
    let pod = &deployment["spec"]["template"];
    assert_eq!(deployment["spec"]["replicas"].as_i64(), Some(1));
    assert_eq!(
        pod["spec"]["securityContext"]["runAsNonRoot"].as_bool(),
        Some(true)
    );
    let c = &containers(pod)[0];
    assert_eq!(
        c["readinessProbe"]["httpGet"]["path"].as_str(),
        Some("/readyz")
    );
    assert_eq!(
        c["livenessProbe"]["httpGet"]["path"].as_str(),
        Some("/healthz")
    );
    assert!(c["resources"]["requests"]["memory"].as_str().is_some());
    let env: Vec<&str> = c["env"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    for var in [
        upkeep::env::GITHUB_APP_ID,
        upkeep::env::GITHUB_APP_PRIVATE_KEY,
        upkeep::env::GITHUB_WEBHOOK_SECRET,
        upkeep::env::STATE,
    ] {
        assert!(env.contains(&var), "{var} missing");
    }
    assert!(
        c["env"]
            .as_vec()
            .unwrap()
            .iter()
            .any(|e| e["valueFrom"]["secretKeyRef"]["name"].as_str().is_some())
    );
    assert_eq!(
        pod["spec"]["volumes"].as_vec().unwrap()[0]["persistentVolumeClaim"]["claimName"].as_str(),
        app[0].1["metadata"]["name"].as_str()
    );
    assert_eq!(
        app[3].1["spec"]["selector"],
        deployment["spec"]["selector"]["matchLabels"]
    );

    let cron = kinds("deploy/kubernetes/cronjob.yaml");
    assert_eq!(cron[0].0, "CronJob");
    assert!(cron[0].1["spec"]["schedule"].as_str().is_some());
    let job_pod = &cron[0].1["spec"]["jobTemplate"]["spec"]["template"];
    assert_eq!(containers(job_pod)[0]["args"][0].as_str(), Some("run"));

    let indexed = kinds("deploy/kubernetes/indexed-job.yaml");
    assert_eq!(indexed[0].0, "Job");
    let spec = &indexed[0].1["spec"];
    assert_eq!(spec["completionMode"].as_str(), Some("Indexed"));
    let n = spec["completions"].as_i64().unwrap();
    let args = containers(&spec["template"])[0]["args"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        args.contains(&format!("--shard \"$JOB_COMPLETION_INDEX/{n}\"")),
        "{args}"
    );

    let manifest = &yaml_docs("deploy/github-app.yml")[0];
    let perms = &manifest["default_permissions"];
    assert_eq!(perms["contents"].as_str(), Some("write"));
    assert_eq!(perms["metadata"].as_str(), Some("read"));
    // pull requests, labels and the dashboard issue; automerge reads checks
    assert_eq!(perms["pull_requests"].as_str(), Some("write"));
    assert_eq!(perms["issues"].as_str(), Some("write"));
    assert_eq!(perms["checks"].as_str(), Some("read"));
    assert_eq!(perms["statuses"].as_str(), Some("read"));
    assert!(
        manifest["hook_attributes"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/webhook")
    );
    let events: Vec<&str> = manifest["default_events"]
        .as_vec()
        .unwrap()
        .iter()
        .filter_map(Yaml::as_str)
        .collect();
    assert_eq!(
        events,
        [
            "installation_repositories",
            "push",
            "pull_request",
            "issue_comment",
            "issues"
        ]
    );

    let workflow = &yaml_docs(".github/workflows/upkeep.yml")[0];
    assert!(workflow["on"]["schedule"][0]["cron"].as_str().is_some());
    assert!(
        workflow["jobs"]["upkeep"]["steps"]
            .as_vec()
            .unwrap()
            .iter()
            .any(|s| s["run"].as_str().is_some_and(|r| r.contains("upkeep run")))
    );

    let dockerfile = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/Dockerfile"),
    )
    .unwrap();
    assert!(
        dockerfile.matches("\nFROM ").count() + usize::from(dockerfile.starts_with("FROM ")) >= 2,
        "multi-stage"
    );
    for needle in [
        "ca-certificates",
        "\nUSER 10001",
        "\nHEALTHCHECK ",
        "/healthz",
        "AS build",
    ] {
        assert!(dockerfile.contains(needle), "Dockerfile lacks {needle}");
    }
    assert!(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy/README.md")
            .exists()
    );
}

/// The header of a captured Slack message (checked as Block Kit).
pub(crate) fn slack_header(payload: &Value) -> String {
    use crate::support::slack::blockkit::{self, Block};
    match blockkit::check(payload).blocks.first() {
        Some(Block::Header { text }) => text.text().to_string(),
        other => panic!("no header block first: {other:?}"),
    }
}

#[test]
fn serve_sends_scheduled_digests_and_alerts_once_and_exposes_the_inventory() {
    use crate::support::github::NewRelease;
    use crate::support::slack::SlackDouble;

    let f = crate::inventory::Fleet::new();
    // A security release: one alert, however many polls and digests see it.
    f.gh.add_release(
        "acme/exec",
        NewRelease::new("25.2.0").body("Fixes CVE-2025-1234."),
    );
    f.settings("schedule:\n  poll: \"*/1 * * * * *\"\nslack:\n  digest: \"*/1 * * * * *\"\n");
    let slack = SlackDouble::start();
    let url = slack.webhook("default");
    let state = f.dir.path().join("state.sqlite3");
    let cache = f.dir.path().join("cache");
    let served = Served::start(
        f.dir.path(),
        &[
            ("UPKEEP_GITHUB_API_URL", f.gh.url()),
            ("UPKEEP_GITHUB_TOKEN", crate::inventory::TOKEN),
            ("UPKEEP_STATE", state.to_str().unwrap()),
            ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
            ("UPKEEP_SLACK_WEBHOOK_URL", &url),
        ],
    );
    let headers =
        || -> Vec<String> { slack.payloads("default").iter().map(slack_header).collect() };
    let polls = || -> u64 {
        let (_, metrics) = served.http("GET", "/metrics", &[], b"");
        metrics
            .lines()
            .find_map(|l| l.strip_prefix("upkeep_polls_total "))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0)
    };
    // Two digests, and polls after the first alert: enough for a repeat.
    wait_for(
        60,
        "two digests and three polls",
        || format!("{:?}\n{}", headers(), served.log()),
        || {
            let h = headers();
            h.iter().filter(|h| h.starts_with("upkeep: ")).count() >= 2 && polls() >= 3
        },
    );
    let h = headers();
    let digest = h.iter().find(|h| h.starts_with("upkeep: ")).unwrap();
    assert!(digest.contains("pending upgrade"), "{h:?}");
    let alerts: Vec<&String> = h
        .iter()
        .filter(|h| h.starts_with("Security fix:"))
        .collect();
    assert_eq!(alerts.len(), 1, "one alert for acme/exec 25.2.0: {h:?}");
    assert!(alerts[0].contains("25.2.0"), "{h:?}");
    let texts = crate::support::slack::blockkit::texts(&crate::support::slack::blockkit::check(
        &slack.payloads("default")[h.iter().position(|x| x == digest).unwrap()],
    ));
    assert!(texts.contains("acme/deploy"), "{texts}");

    let (status, metrics) = served.http("GET", "/metrics", &[], b"");
    assert_eq!(status, 200);
    for needle in [
        "upkeep_slack_deliveries_total{outcome=\"sent\"} ",
        "upkeep_reference_info{repository=\"acme/deploy\",file=\"envs/mainnet/values.yaml\",environment=\"mainnet\",network=\"mainnet\",image=\"acme/exec\",current=\"24.10.1\",latest=\"25.2.0\"} 1\n",
        "upkeep_releases_behind{repository=\"acme/deploy\",file=\"envs/mainnet/validator.yaml\",environment=\"mainnet\",network=\"mainnet\",image=\"ghcr.io/acme/beacon\"} 2\n",
        "# TYPE upkeep_deadline_timestamp_seconds gauge\n",
    ] {
        assert!(metrics.contains(needle), "{needle} missing from\n{metrics}");
    }
    assert!(!metrics.contains("outcome=\"failed\""), "{metrics}");
    crate::inventory::promtool_check(&metrics);

    let (code, log) = served.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(
        !log.contains("secret-default"),
        "webhook URL logged:\n{log}"
    );
    assert!(!log.contains(crate::inventory::TOKEN), "token logged");
}

#[test]
fn metrics_show_what_runs_in_live_environments() {
    use crate::inventory::{LiveFleet, TOKEN, hoodi_pods, promtool_check};
    use crate::support::prometheus::{PrometheusServer, samples};

    let prom = PrometheusServer::start_with(&hoodi_pods(7));
    prom.wait_for(
        r#"count(kube_pod_container_info{namespace="hoodi"})"#,
        |r| samples(r).first().is_some_and(|(_, v)| v == "10"),
        Duration::from_secs(60),
    );
    let f = LiveFleet::new(&prom.url(), "schedule:\n  poll: \"*/1 * * * * *\"\n");
    let state = f.dir.path().join("state.sqlite3");
    let cache = f.dir.path().join("cache");
    let served = Served::start(
        f.dir.path(),
        &[
            ("UPKEEP_GITHUB_API_URL", f.gh.url()),
            ("UPKEEP_GITHUB_TOKEN", TOKEN),
            ("UPKEEP_STATE", state.to_str().unwrap()),
            ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
        ],
    );
    let metrics = || served.http("GET", "/metrics", &[], b"").1;
    let drift = "upkeep_live_drift{repository=\"deploy\",environment=\"hoodi\",image=\"ghcr.io/acme/beacon\"} ";
    wait_for(
        60,
        "the live gauges",
        || format!("{}\n{}", metrics(), served.log()),
        || metrics().contains(drift),
    );
    let text = metrics();
    for line in [
        "upkeep_running_containers{repository=\"deploy\",environment=\"hoodi\",image=\"ghcr.io/acme/beacon\",tag=\"v2.0.0\"} 7\n",
        "upkeep_running_containers{repository=\"deploy\",environment=\"hoodi\",image=\"ghcr.io/acme/beacon\",tag=\"v1.3.0\"} 1\n",
        "upkeep_live_drift{repository=\"deploy\",environment=\"hoodi\",image=\"ghcr.io/acme/beacon\"} 1\n",
        "upkeep_live_drift{repository=\"deploy\",environment=\"hoodi\",image=\"acme/exec\"} 0\n",
    ] {
        assert!(text.contains(line), "{line} missing from\n{text}");
    }
    promtool_check(&text);
    // Refreshed after each pass: the straggler rolls, drift clears.
    prom.target().set(&hoodi_pods(8));
    wait_for(
        60,
        "drift cleared",
        || format!("{}\n{}", metrics(), served.log()),
        || metrics().contains(&format!("{drift}0\n")),
    );
    let text = metrics();
    assert!(!text.contains("tag=\"v1.3.0\"}"), "{text}");
    promtool_check(&text);
    let (code, log) = served.stop();
    assert_eq!(code, Some(0), "{log}");
}

#[test]
fn metrics_show_each_wave_of_the_rollouts_in_flight() {
    use chrono::{DateTime, Utc};
    use upkeep::app::serve::Metrics;
    use upkeep::domain::rollout::decide::{UpstreamRollout, WaveState, WaveStatus};

    let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    let wave = |n: u32, state: WaveState, opens_at: Option<DateTime<Utc>>| WaveStatus {
        wave: n,
        environments: vec![format!("env{n}")],
        state,
        merged_at: None,
        soak: Duration::from_secs(3600),
        opens_at,
        pull: None,
        pull_url: None,
        reason: String::new(),
        window: false,
    };
    let rollout = |repository: &str, version: &str, waves: Vec<WaveStatus>| UpstreamRollout {
        repository: repository.into(),
        upstream: "sigp/lighthouse".into(),
        version: version.into(),
        deadline: None,
        compressed: false,
        at_risk: false,
        expedited: false,
        waves,
    };
    let m = Metrics::new();
    let flight = rollout(
        "acme/deploy",
        "v8.0.1",
        vec![
            wave(1, WaveState::Soaking, Some(t("2025-12-02T09:00:00Z"))),
            wave(2, WaveState::Pending, Some(t("2025-12-02T09:00:00Z"))),
            wave(3, WaveState::Pending, None),
        ],
    );
    // Label values that need escaping, as the exposition format asks.
    let hostile = rollout(
        "./local \"deploy\"\\x\n",
        "v1\"}",
        vec![
            wave(1, WaveState::Open, None),
            wave(2, WaveState::Blocked, None),
        ],
    );
    let finished = rollout("acme/done", "v1", vec![wave(1, WaveState::Done, None)]);
    m.set_rollouts(&[flight.clone(), hostile, finished]);
    let text = m.encode();
    crate::inventory::promtool_check(&text);
    for line in [
        "# TYPE upkeep_rollout_wave_state gauge",
        "upkeep_rollout_wave_state{repository=\"acme/deploy\",upstream=\"sigp/lighthouse\",version=\"v8.0.1\",wave=\"1\",state=\"soaking\"} 1",
        "upkeep_rollout_wave_state{repository=\"acme/deploy\",upstream=\"sigp/lighthouse\",version=\"v8.0.1\",wave=\"3\",state=\"pending\"} 1",
        "upkeep_rollout_opens_at_timestamp_seconds{repository=\"acme/deploy\",upstream=\"sigp/lighthouse\",version=\"v8.0.1\",wave=\"2\"} 1764666000",
        "upkeep_rollout_opens_at_timestamp_seconds{repository=\"acme/deploy\",upstream=\"sigp/lighthouse\",version=\"v8.0.1\",wave=\"1\"} 1764666000",
        "upkeep_rollout_wave_state{repository=\"./local \\\"deploy\\\"\\\\x\\n\",upstream=\"sigp/lighthouse\",version=\"v1\\\"}\",wave=\"2\",state=\"blocked\"} 1",
    ] {
        assert!(text.contains(line), "{line}\n{text}");
    }
    assert!(!text.contains("wave=\"3\"}"), "no time for wave 3: {text}");
    assert!(
        !text.contains("acme/done"),
        "a finished rollout has no series: {text}"
    );
    assert_eq!(
        text.matches("upkeep_rollout_wave_state{").count(),
        5,
        "{text}"
    );
    // The next pass replaces them: wave 1 done, wave 2 open.
    let mut moved = flight;
    moved.waves[0].state = WaveState::Done;
    moved.waves[0].opens_at = None;
    moved.waves[1].state = WaveState::Open;
    m.set_rollouts(&[moved]);
    let text = m.encode();
    crate::inventory::promtool_check(&text);
    assert!(!text.contains("state=\"soaking\""), "{text}");
    assert!(
        !text.contains("upkeep_rollout_opens_at_timestamp_seconds{"),
        "{text}"
    );
    assert!(text.contains("wave=\"2\",state=\"open\"} 1"), "{text}");
}

/// `serve` under abuse: slow uploads are bounded in number and time, and an
/// unsigned request cannot put what it likes into `/metrics`.
#[test]
fn slow_uploads_are_bounded_and_unverified_events_stay_out_of_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let gh = GitHubDouble::start();
    std::fs::write(dir.path().join("upkeep.yml"), "repositories: []\n").unwrap();
    let state = dir.path().join("state.sqlite3");
    let cache = dir.path().join("cache");
    let served = Served::start(
        dir.path(),
        &[
            ("UPKEEP_GITHUB_API_URL", gh.url()),
            ("UPKEEP_GITHUB_TOKEN", "ghp_abuse_token"),
            ("UPKEEP_GITHUB_WEBHOOK_SECRET", SECRET),
            ("UPKEEP_STATE", state.to_str().unwrap()),
            ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
            ("UPKEEP_WEBHOOK_CONCURRENCY", "2"),
            ("UPKEEP_WEBHOOK_TIMEOUT", "5"),
        ],
    );
    // Two uploads that announce a body and never send it hold both places.
    let stall = || {
        let mut s = TcpStream::connect(&served.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        s.write_all(
            b"POST /webhook HTTP/1.1\r\nHost: upkeep\r\nX-GitHub-Event: push\r\nContent-Length: 100000\r\n\r\n{\"a\":",
        )
        .unwrap();
        s
    };
    let mut slow = vec![stall(), stall()];
    // Once the server has taken both, a third delivery is turned away at
    // once. (Under load a connection may be picked up late: open more.)
    wait_for(
        60,
        "both places taken",
        || served.log(),
        || {
            let busy = served
                .http("POST", "/webhook", &[("X-GitHub-Event", "push")], b"{}")
                .0
                == 503;
            if !busy {
                slow.push(stall());
            }
            busy
        },
    );
    // The slow uploads are cut off by the deadline, not left open.
    let mut cut = 0;
    for s in &mut slow {
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        if answer.starts_with("HTTP/1.1 408") {
            cut += 1;
        }
    }
    assert!(cut >= 2, "{cut} of {} slow uploads got 408", slow.len());
    // The places are free again: an unsigned delivery is refused as usual.
    wait_for(
        30,
        "places freed",
        || served.log(),
        || {
            served
                .http("POST", "/webhook", &[("X-GitHub-Event", "push")], b"{}")
                .0
                == 401
        },
    );
    // An unsigned request with a hostile event name.
    let (status, _) = served.http(
        "POST",
        "/webhook",
        &[("X-GitHub-Event", "x\"} 1 upkeep_pwned{a=\"1")],
        b"{}",
    );
    assert_eq!(status, 401);
    let (status, metrics) = served.http("GET", "/metrics", &[], b"");
    assert_eq!(status, 200);
    assert!(!metrics.contains("pwned"), "{metrics}");
    assert!(metrics.contains("event=\"unverified\""), "{metrics}");
    crate::inventory::promtool_check(&metrics);
    let (code, log) = served.stop();
    assert_eq!(code, Some(0), "{log}");
}

/// A push webhook for `repo` touching a YAML file on `main`.
fn push_payload(repo: &str) -> Value {
    json!({
        "ref": "refs/heads/main",
        "deleted": false,
        "repository": {"full_name": repo, "default_branch": "main"},
        "commits": [{"added": [], "modified": ["envs/hoodi/values.yaml"], "removed": []}],
        "head_commit": null
    })
}

/// A panic while one repository is handled fails that repository: the
/// worker lives on, handles the next repository, and the server answers.
#[test]
fn a_panic_in_one_repository_leaves_the_worker_serving_the_others() {
    use crate::support::github::Caller;
    const TOKEN: &str = "ghp_serve_panic_token";
    let dir = tempfile::tempdir().unwrap();
    let gh = GitHubDouble::start();
    let git = GitServer::start("x-access-token", TOKEN);
    for name in ["deploy", "other"] {
        git.create_repo(name, &[("envs/hoodi/values.yaml", VALUES)]);
        gh.add_repo(
            Repo::new(&format!("acme/{name}"))
                .default_branch("main")
                .clone_url(&git.url(name))
                .git_dir(git.bare_path(name)),
        );
    }
    gh.set_login(Caller::Token(TOKEN), "upkeep[bot]");
    gh.add_releases("sigp/lighthouse", ["v6.0.0", "v7.0.0"]);
    std::fs::write(
        dir.path().join("upkeep.yml"),
        "repositories:\n  - github: acme/deploy\n  - github: acme/other\n\
         registries:\n  require_published: false\n  mirrors:\n    docker.io: http://127.0.0.1:9\n",
    )
    .unwrap();
    let state = dir.path().join("state.sqlite3");
    let cache = dir.path().join("cache");
    let served = Served::start(
        dir.path(),
        &[
            ("UPKEEP_GITHUB_API_URL", gh.url()),
            ("UPKEEP_GITHUB_TOKEN", TOKEN),
            ("UPKEEP_GITHUB_WEBHOOK_SECRET", SECRET),
            ("UPKEEP_STATE", state.to_str().unwrap()),
            ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
            ("UPKEEP_FAILPOINT", "panic:repository=acme/deploy"),
        ],
    );
    assert_eq!(
        served.webhook("push", "p-1", &push_payload("acme/deploy")),
        202
    );
    assert_eq!(
        served.webhook("push", "p-2", &push_payload("acme/other")),
        202
    );
    wait_for(
        120,
        "the other repository's pull request",
        || served.log(),
        || !gh.pulls("acme/other").is_empty(),
    );
    assert!(gh.pulls(REPO).is_empty());
    let log = served.log();
    assert!(log.contains("fail point repository=acme/deploy"), "{log}");
    assert!(log.contains("caught a panic"), "{log}");
    let (status, body) = served.http("GET", "/healthz", &[], b"");
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (_, metrics) = served.http("GET", "/metrics", &[], b"");
    let errors: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("upkeep_errors_total "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no error counter: {metrics}"));
    assert!(errors >= 1.0, "{metrics}");
    // and the worker takes further jobs
    assert_eq!(
        served.webhook("push", "p-3", &push_payload("acme/deploy")),
        202
    );
    wait_for(
        60,
        "a second failure of the panicking repository",
        || served.log(),
        || {
            served
                .log()
                .matches("fail point repository=acme/deploy")
                .count()
                >= 2
        },
    );
    let (code, log) = served.stop();
    assert_eq!(code, Some(0), "{log}");
}

/// `VmRSS` of a process, in bytes.
fn rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .expect("VmRSS")
        * 1024
}

/// The soft limit on open files of this process (the server inherits it).
fn open_files_limit() -> usize {
    std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| {
            l.lines()
                .find(|l| l.starts_with("Max open files"))
                .and_then(|l| l.split_whitespace().nth(3).map(str::to_string))
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or(1024)
}

const MIB: u64 = 1 << 20;

/// `serve` under a flood, measured by its own RSS: 150 slow unsigned
/// uploads announcing GitHub's largest body (25 MB) and up to 2,000
/// half-open connections (nothing sent, or half a request head). Memory
/// stays far under the pod limit (512Mi), the half-open connections are
/// closed by the header timeout, `/healthz` answers throughout, and memory
/// comes back near its idle level.
#[test]
fn a_flood_of_slow_uploads_and_half_open_connections_stays_within_memory() {
    let dir = tempfile::tempdir().unwrap();
    let gh = GitHubDouble::start();
    std::fs::write(dir.path().join("upkeep.yml"), "repositories: []\n").unwrap();
    let state = dir.path().join("state.sqlite3");
    let cache = dir.path().join("cache");
    let served = Served::start(
        dir.path(),
        &[
            ("UPKEEP_GITHUB_API_URL", gh.url()),
            ("UPKEEP_GITHUB_TOKEN", "ghp_flood_token"),
            ("UPKEEP_GITHUB_WEBHOOK_SECRET", SECRET),
            ("UPKEEP_STATE", state.to_str().unwrap()),
            ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
            ("UPKEEP_WEBHOOK_TIMEOUT", "4"),
            ("UPKEEP_WEBHOOK_HEADER_TIMEOUT", "2"),
        ],
    );
    let pid = served.child.id();
    assert_eq!(served.http("GET", "/healthz", &[], b"").0, 200);
    let idle = rss(pid);

    // Sockets on both sides: keep well under the limit (other tests run
    // in this process too).
    let budget = open_files_limit().saturating_sub(1000) / 2;
    let slow_count = 150.min(budget / 4);
    let half_open_count = 2000.min(budget.saturating_sub(slow_count));
    assert!(
        half_open_count >= 200,
        "open files limit too low for a meaningful flood: {}",
        open_files_limit()
    );
    let connect = || {
        let s = TcpStream::connect_timeout(&served.addr.parse().unwrap(), Duration::from_secs(10))
            .ok()?;
        s.set_nonblocking(true).ok()?;
        Some(s)
    };
    let mut slow: Vec<TcpStream> = Vec::new();
    for _ in 0..slow_count {
        if let Some(mut s) = connect() {
            let _ = s.write_all(
                b"POST /webhook HTTP/1.1\r\nHost: upkeep\r\nX-GitHub-Event: push\r\nContent-Type: application/json\r\nContent-Length: 25000000\r\n\r\n{\"a\":\"",
            );
            slow.push(s);
        }
    }
    let mut half_open: Vec<TcpStream> = Vec::new();
    for i in 0..half_open_count {
        if let Some(mut s) = connect() {
            if i % 2 == 1 {
                let _ = s.write_all(b"POST /webhook HTTP/1.1\r\nHost: upk");
            }
            half_open.push(s);
        }
    }
    assert!(
        half_open.len() * 10 >= half_open_count * 9,
        "{} of {half_open_count} connected",
        half_open.len()
    );

    // Feed the slow uploads 16 KiB each every 100 ms for 5 s, measuring.
    let chunk = vec![b'x'; 16 << 10];
    let mut peak = idle;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        for s in &mut slow {
            let _ = s.write(&chunk);
        }
        peak = peak.max(rss(pid));
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        served.http("GET", "/healthz", &[], b"").0,
        200,
        "healthz during the flood"
    );

    // The half-open connections are closed by the server (EOF or reset).
    let deadline = Instant::now() + Duration::from_secs(60);
    let connected = half_open.len();
    let mut open: Vec<TcpStream> = half_open;
    while !open.is_empty() && Instant::now() < deadline {
        open.retain_mut(|s| {
            let mut buf = [0u8; 512];
            match s.read(&mut buf) {
                Ok(0) => false,
                Ok(_) => true,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => true,
                Err(_) => false,
            }
        });
        peak = peak.max(rss(pid));
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        open.is_empty(),
        "{} of {connected} half-open connections still open after 60 s",
        open.len()
    );
    drop(slow);
    eprintln!(
        "serve flood: idle {} MiB, peak {} MiB ({slow_count} slow uploads, {half_open_count} half-open)",
        idle / MIB,
        peak / MIB
    );
    assert!(peak < 256 * MIB, "peak RSS {} MiB", peak / MIB);

    // The worst case by design: as many full-size (25 MB) unsigned bodies
    // as deliveries are read at once (8 by default), sent as fast as
    // loopback goes, twice. Bounded by that number, far under the pod limit.
    let mut fast_peak = rss(pid);
    for _ in 0..2 {
        let uploads: Vec<_> = (0..8)
            .map(|_| {
                let addr = served.addr.clone();
                std::thread::spawn(move || {
                    let size = 25_000_000usize;
                    let mut s = TcpStream::connect(&addr).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                    let head = format!(
                        "POST /webhook HTTP/1.1\r\nHost: upkeep\r\nX-GitHub-Event: push\r\nConnection: close\r\nContent-Length: {size}\r\n\r\n"
                    );
                    let _ = s.write_all(head.as_bytes());
                    let chunk = vec![b'x'; 1 << 20];
                    let mut left = size;
                    while left > 0 {
                        let n = left.min(chunk.len());
                        if s.write_all(&chunk[..n]).is_err() {
                            break;
                        }
                        left -= n;
                    }
                    let mut answer = String::new();
                    let _ = s.read_to_string(&mut answer);
                    answer.split(' ').nth(1).unwrap_or_default().to_string()
                })
            })
            .collect();
        while uploads.iter().any(|u| !u.is_finished()) {
            fast_peak = fast_peak.max(rss(pid));
            std::thread::sleep(Duration::from_millis(20));
        }
        for u in uploads {
            let status = u.join().unwrap();
            assert!(["401", "503"].contains(&status.as_str()), "{status}");
        }
    }
    eprintln!(
        "serve flood: 8 x 25 MB at once, twice: peak {} MiB",
        fast_peak / MIB
    );
    assert!(
        fast_peak < idle + 300 * MIB,
        "peak RSS {} MiB with full-size bodies, idle {} MiB",
        fast_peak / MIB,
        idle / MIB
    );

    // Afterwards: it answers, and memory is back near idle.
    assert_eq!(served.http("GET", "/healthz", &[], b"").0, 200);
    let mut after = rss(pid);
    let settle = Instant::now();
    while after > idle + 64 * MIB && settle.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(250));
        after = rss(pid);
    }
    eprintln!("serve flood: after {} MiB", after / MIB);
    assert!(
        after < idle + 64 * MIB,
        "RSS after the flood {} MiB, idle {} MiB",
        after / MIB,
        idle / MIB
    );
    let (code, log) = served.stop();
    assert_eq!(code, Some(0), "{log}");
}

/// Rate budget per installation: with its budget below the reserve, a
/// pass over the installation's repositories is postponed (no release,
/// pull-request or write request) until GitHub's reset, the budget is on
/// `/metrics` per installation, and after the reset the pass runs.
#[test]
fn a_pass_waits_while_the_installation_budget_is_below_the_reserve() {
    use crate::support::github::Caller;
    let keys = test_keys();
    let dir = tempfile::tempdir().unwrap();
    let gh = GitHubDouble::start();
    let git = GitServer::start("x-access-token", GIT_TOKEN);
    // Configured in the repository itself (an installed repository without
    // it gets an onboarding pull request instead: tests/it/onboard.rs).
    git.create_repo(
        "deploy",
        &[
            ("envs/mainnet/values.yaml", VALUES),
            (".github/upkeep.yml", "branch: main\n"),
        ],
    );
    gh.add_repo(
        Repo::new(REPO)
            .default_branch("main")
            .served_by(&git, "deploy"),
    );
    gh.add_releases("sigp/lighthouse", ["v6.0.0", "v6.1.0"]);
    gh.enable_app(AppModel::new(APP_ID, "upkeep", &keys.public_pem));
    gh.fix_installation_token(GIT_TOKEN);
    gh.add_installation(INSTALLATION, "acme", &[REPO]);
    // 50 requests left for the next 8 seconds, then GitHub's 5,000.
    gh.set_rate_limit(Caller::Token(GIT_TOKEN), 50, Duration::from_secs(8));
    std::fs::write(
        dir.path().join("upkeep.yml"),
        "registries:\n  require_published: false\n  mirrors:\n    docker.io: http://127.0.0.1:9\nschedule:\n  poll: \"*/1 * * * * *\"\n",
    )
    .unwrap();
    let state = dir.path().join("state.sqlite3");
    let cache = dir.path().join("cache");
    let key_file = dir.path().join("app.pem");
    std::fs::write(&key_file, &keys.private_pem).unwrap();
    let app_id = APP_ID.to_string();
    let served = Served::start(
        dir.path(),
        &[
            ("UPKEEP_GITHUB_API_URL", gh.url()),
            ("UPKEEP_GITHUB_APP_ID", &app_id),
            ("UPKEEP_GITHUB_APP_PRIVATE_KEY", key_file.to_str().unwrap()),
            ("UPKEEP_GITHUB_WEBHOOK_SECRET", SECRET),
            ("UPKEEP_GITHUB_RATE_RESERVE", "100"),
            ("UPKEEP_STATE", state.to_str().unwrap()),
            ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
        ],
    );
    wait_for(
        30,
        "a postponed pass",
        || served.log(),
        || served.log().contains("pass postponed until the reset"),
    );
    let metrics = served.http("GET", "/metrics", &[], b"").1;
    let line = format!("upkeep_github_rate_remaining{{installation=\"{INSTALLATION}\"}} ");
    let remaining: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix(&line))
        .unwrap_or_else(|| panic!("no {line}in\n{metrics}"))
        .trim()
        .parse()
        .unwrap();
    assert!(remaining < 50, "{remaining}");
    assert!(
        metrics.contains("upkeep_github_passes_postponed_total "),
        "{metrics}"
    );
    let stats = gh.stats();
    assert!(
        !stats.by_operation.contains_key("repos/list-releases")
            && !stats.by_operation.contains_key("pulls/list")
            && stats
                .writes_by_operation
                .keys()
                .all(|op| op.starts_with("apps/")),
        "{:?}",
        stats.by_operation
    );
    // After the reset, the pass runs.
    wait_for(
        60,
        "the pull request after the reset",
        || served.log(),
        || !gh.pulls(REPO).is_empty(),
    );
}
