//! Per-repository settings (`.github/upkeep.yml` on the default branch),
//! end to end with `upkeep run`: the binary against the GitHub double, each
//! deployment repository on a real git smart-HTTP remote.

use crate::support::git_http::GitServer;
use crate::support::github::{Caller, GitHubDouble, Repo};
use crate::support::{stderr, stdout, upkeep_env};

const TOKEN: &str = "ghp_repo_config_token_0123";
const HOODI: &str = "services:\n  cl:\n    image: sigp/lighthouse:v6.0.0\n";

struct World {
    dir: tempfile::TempDir,
    gh: GitHubDouble,
    _git: GitServer,
}

impl World {
    /// `acme/deploy` with `.github/upkeep.yml` = `repo_file`, and
    /// `acme/other` without one; the settings name both, no environments.
    fn new(repo_file: &str) -> World {
        let dir = tempfile::tempdir().unwrap();
        let gh = GitHubDouble::start();
        let git = GitServer::start("x-access-token", TOKEN);
        git.create_repo(
            "deploy",
            &[
                ("envs/hoodi/docker-compose.yml", HOODI),
                (".github/upkeep.yml", repo_file),
            ],
        );
        git.create_repo("other", &[("compose.yml", HOODI)]);
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
        std::fs::write(
            dir.path().join("upkeep.yml"),
            "repositories:\n  - github: acme/deploy\n  - github: acme/other\n\
             registries:\n  require_published: false\n  mirrors:\n    docker.io: http://127.0.0.1:9\n",
        )
        .unwrap();
        World { dir, gh, _git: git }
    }

    fn run(&self) -> (String, String, i32) {
        let state = self.dir.path().join("state.sqlite3");
        let cache = self.dir.path().join("cache");
        let env = [
            ("UPKEEP_GITHUB_API_URL", self.gh.url()),
            ("UPKEEP_GITHUB_TOKEN", TOKEN),
            ("UPKEEP_STATE", state.to_str().unwrap()),
            ("UPKEEP_CACHE_DIR", cache.to_str().unwrap()),
        ];
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
