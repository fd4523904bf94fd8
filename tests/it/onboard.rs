//! Onboarding: `upkeep init` on fixture trees (the generated settings are
//! snapshotted, validate, and are never overwritten without `--force`), and
//! `upkeep serve` opening one onboarding pull request on a repository the
//! App is installed on without `.github/upkeep.yml`, and nothing else until
//! it is merged.

use serde_json::{Value, json};

use crate::serve::{SECRET, Served, wait_for};
use crate::support::git_http::GitServer;
use crate::support::github::{AppModel, GitHubDouble, Repo, test_keys};
use crate::support::{copy_tree, fixture, stderr, stdout, upkeep};

/// A copy of `tests/fixtures/onboard/<name>` in a temporary directory.
fn tree(name: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join(name);
    copy_tree(&fixture(&format!("onboard/{name}")), &root);
    (dir, root)
}

#[test]
fn init_writes_settings_that_validate_and_never_overwrites() {
    let (_dir, root) = tree("eth-deploy");
    let out = upkeep(&root, &["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let summary = stdout(&out);
    assert!(
        summary.contains("wrote upkeep.yml: 6 environments from 8 files"),
        "{summary}"
    );
    assert!(
        summary.contains("upkeep settings validate upkeep.yml"),
        "{summary}"
    );
    let written = std::fs::read_to_string(root.join("upkeep.yml")).unwrap();
    insta::assert_snapshot!("init_eth_deploy", written);

    let valid = upkeep(&root, &["settings", "validate", "upkeep.yml"]);
    assert_eq!(valid.status.code(), Some(0), "{}", stderr(&valid));
    // The settings work as written: `check` places each file in its
    // environment (offline here, so only the scan's view is asserted).
    let settings =
        upkeep::domain::settings::load(Some(&root.join("upkeep.yml")), &Default::default())
            .unwrap();
    let repo = &settings.repositories[0];
    let env = |f: &str| repo.environment_for(f).map(|e| e.name.clone());
    assert_eq!(env("envs/hoodi/geth.yaml").as_deref(), Some("hoodi"));
    assert_eq!(
        env("charts/geth/values-sepolia.yaml").as_deref(),
        Some("sepolia")
    );
    assert_eq!(env("charts/geth/values.yaml"), None);
    let waves: Vec<(String, u32)> = repo
        .environments
        .iter()
        .map(|e| (e.name.clone(), e.wave))
        .collect();
    assert_eq!(
        waves,
        [
            ("devnet-5".to_string(), 1),
            ("hoodi".to_string(), 2),
            ("sepolia".to_string(), 2),
            ("staging".to_string(), 3),
            ("blue".to_string(), 4),
            ("mainnet".to_string(), 4),
        ]
    );

    // Never overwritten without --force.
    std::fs::write(root.join("upkeep.yml"), "# mine\n").unwrap();
    let again = upkeep(&root, &["init"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("upkeep.yml exists: not overwritten (use --force to replace it)"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        std::fs::read_to_string(root.join("upkeep.yml")).unwrap(),
        "# mine\n"
    );
    let forced = upkeep(&root, &["init", "--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
    assert_eq!(
        std::fs::read_to_string(root.join("upkeep.yml")).unwrap(),
        written
    );
}

#[test]
fn init_writes_the_repository_file_form() {
    let (dir, root) = tree("eth-deploy");
    let out = upkeep(dir.path(), &["init", "eth-deploy", "--repository-file"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(root.join(".github/upkeep.yml")).unwrap();
    insta::assert_snapshot!("init_eth_deploy_repository_file", text);
    let base =
        upkeep::domain::settings::Repository::new(upkeep::domain::settings::RepoSource::GitHub {
            owner: "acme".into(),
            name: "deploy".into(),
        });
    let merged = upkeep::domain::settings::load_repo_file(
        &text,
        ".github/upkeep.yml",
        "acme",
        "deploy",
        &base,
    )
    .unwrap();
    assert_eq!(merged.environments.len(), 6);

    // A settings file elsewhere names the tree relative to itself.
    let out = upkeep(
        dir.path(),
        &["init", "eth-deploy", "--output", "upkeep.yml"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(dir.path().join("upkeep.yml")).unwrap();
    assert!(text.contains("  - path: ./eth-deploy\n"), "{text}");
    let valid = upkeep(dir.path(), &["settings", "validate", "upkeep.yml"]);
    assert_eq!(valid.status.code(), Some(0), "{}", stderr(&valid));
}

#[test]
fn init_without_recognisable_environments_still_validates() {
    let (_dir, root) = tree("flat");
    let out = upkeep(&root, &["init", "--output", "-"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("environments: []"), "{text}");
    assert!(!root.join("upkeep.yml").exists());
    std::fs::write(root.join("upkeep.yml"), &text).unwrap();
    let valid = upkeep(&root, &["settings", "validate", "upkeep.yml"]);
    assert_eq!(valid.status.code(), Some(0), "{}", stderr(&valid));
}

const APP_ID: u64 = 4343;
const INSTALLATION: u64 = 78;
const GIT_TOKEN: &str = "ghs_installation_token_for_git_onboard";
const MERGED: &str = "acme/deploy";
const CLOSED: &str = "acme/other";
const LISTED: &str = "acme/listed";
const VALUES: &str = "image:\n  repository: sigp/lighthouse\n  tag: v6.0.0\n";

fn installation_payload() -> Value {
    let mut p: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("webhooks/installation.created.json")).unwrap(),
    )
    .unwrap();
    p["installation"]["id"] = json!(INSTALLATION);
    p["installation"]["app_id"] = json!(APP_ID);
    p["installation"]["account"]["login"] = json!("acme");
    p["repositories"] = json!([
        {"id": 1, "node_id": "R_1", "name": "deploy", "full_name": MERGED, "private": false},
        {"id": 2, "node_id": "R_2", "name": "other", "full_name": CLOSED, "private": false},
        {"id": 3, "node_id": "R_3", "name": "listed", "full_name": LISTED, "private": false},
    ]);
    p
}

/// Lines of the log saying `repo` waits for onboarding.
fn waits(log: &str, repo: &str) -> usize {
    log.lines()
        .filter(|l| l.contains("not configured yet") && l.contains(repo))
        .count()
}

#[test]
fn serve_opens_one_onboarding_pull_request_and_nothing_else_until_it_is_merged() {
    let keys = test_keys();
    let dir = tempfile::tempdir().unwrap();
    let gh = GitHubDouble::start();
    let git = GitServer::start("x-access-token", GIT_TOKEN);
    let files = [
        ("envs/hoodi/values.yaml", VALUES),
        ("envs/mainnet/values.yaml", VALUES),
    ];
    for (repo, name) in [(MERGED, "deploy"), (CLOSED, "other"), (LISTED, "listed")] {
        git.create_repo(name, &files);
        gh.add_repo(
            Repo::new(repo)
                .default_branch("main")
                .clone_url(&git.url(name))
                .git_dir(git.bare_path(name)),
        );
    }
    gh.add_releases("sigp/lighthouse", ["v6.0.0", "v6.1.0"]);
    gh.enable_app(AppModel::new(APP_ID, "upkeep", &keys.public_pem));
    gh.fix_installation_token(GIT_TOKEN);
    gh.accept_only_tokens(&[]);
    // acme/listed is configured by the operator: no onboarding there.
    std::fs::write(
        dir.path().join("upkeep.yml"),
        format!(
            "repositories:\n  - github: {LISTED}\n\
             registries:\n  require_published: false\n  mirrors:\n    docker.io: http://127.0.0.1:9\n\
             schedule:\n  poll: \"*/1 * * * * *\"\n"
        ),
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
            ("UPKEEP_STATE", state.to_str().unwrap()),
            ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
        ],
    );
    wait_for(
        30,
        "/readyz",
        || served.log(),
        || served.http("GET", "/readyz", &[], b"").0 == 200,
    );
    gh.add_installation(INSTALLATION, "acme", &[MERGED, CLOSED, LISTED]);
    assert_eq!(
        served.webhook("installation", "onboard-1", &installation_payload()),
        202
    );
    let onboarding = |repo: &str| {
        gh.pulls(repo)
            .into_iter()
            .filter(|p| p.head == "upkeep/onboarding")
            .collect::<Vec<_>>()
    };
    wait_for(
        120,
        "onboarding pull requests on both unconfigured repositories",
        || served.log(),
        || !onboarding(MERGED).is_empty() && !onboarding(CLOSED).is_empty(),
    );
    // The operator's repository gets its upgrade at once, no onboarding.
    wait_for(
        120,
        "the upgrade on the listed repository",
        || served.log(),
        || gh.pulls(LISTED).iter().any(|p| p.title.contains("v6.1.0")),
    );
    assert!(onboarding(LISTED).is_empty());

    let pr = gh.pulls(MERGED).pop().unwrap();
    assert_eq!(pr.title, "Configure upkeep");
    assert_eq!(pr.base, "main");
    assert_eq!(pr.author, "upkeep[bot]");
    assert_eq!(pr.labels, ["upkeep"]);
    let body = pr.body.clone().unwrap_or_default();
    for needle in [
        "<!-- upkeep:onboarding -->",
        "**Nothing else happens here until it is merged**",
        "- `hoodi` (wave 1, network `hoodi`): `envs/hoodi/**`",
        "- `mainnet` (wave 2, network `mainnet`): `envs/mainnet/**`",
        "`envs/hoodi/values.yaml`: `sigp/lighthouse` `v6.0.0` → `v6.1.0`",
        "```yaml\n# .github/upkeep.yml: written by `upkeep init`",
    ] {
        assert!(body.contains(needle), "{needle} missing from\n{body}");
    }
    // The onboarding branch holds exactly the file the body shows.
    let sha = gh.branch_sha(MERGED, "upkeep/onboarding").unwrap();
    assert_eq!(pr.head_sha, sha);

    // Closed without merging: never opened again, nothing else there.
    let closed = onboarding(CLOSED)[0].number;
    gh.close_pr(CLOSED, closed);
    let seen = waits(&served.log(), CLOSED);
    wait_for(
        120,
        "two more passes over the unconfigured repositories",
        || served.log(),
        || waits(&served.log(), CLOSED) >= seen + 2 && waits(&served.log(), MERGED) >= 2,
    );
    assert_eq!(gh.pulls(CLOSED).len(), 1, "{:?}", gh.pulls(CLOSED));
    assert_eq!(gh.pulls(MERGED).len(), 1, "{:?}", gh.pulls(MERGED));

    // Merged: the file is on the base branch, upkeep starts working there.
    gh.merge_pr(MERGED, pr.number);
    wait_for(
        120,
        "an upgrade pull request after the onboarding merged",
        || served.log(),
        || {
            gh.pulls(MERGED)
                .iter()
                .any(|p| p.state == "open" && p.title.contains("v6.1.0"))
        },
    );
    let upgrade = gh
        .pulls(MERGED)
        .into_iter()
        .find(|p| p.title.contains("v6.1.0"))
        .unwrap();
    assert!(
        upgrade.body.unwrap_or_default().contains("hoodi"),
        "the guessed environments are used"
    );
    let seen = waits(&served.log(), CLOSED);
    wait_for(
        120,
        "two more passes",
        || served.log(),
        || waits(&served.log(), CLOSED) >= seen + 2,
    );
    assert_eq!(gh.pulls(CLOSED).len(), 1);
    assert_eq!(
        gh.pulls(MERGED)
            .iter()
            .filter(|p| p.head == "upkeep/onboarding")
            .count(),
        1
    );
    gh.assert_no_unexpected();
    let (_, log) = served.stop();
    assert!(log.contains("onboarding pull request opened"), "{log}");
}
