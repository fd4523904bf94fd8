//! The world of the job-mode rollout scenarios: a deployment repository
//! (`acme/deploy`, lighthouse in hoodi and mainnet) served over git smart
//! HTTP, the GitHub double that knows it, a state directory, and a clock
//! moved through `UPKEEP_NOW`. Scenarios add their own methods to
//! [`World`] in their modules.

use std::cell::RefCell;

use chrono::{DateTime, Duration, TimeZone, Utc};

use super::git_http::GitServer;
use super::github::{Caller, GitHubDouble, NewRelease, Repo};
use super::{stderr, stdout, upkeep_env};

/// The token upkeep is given; no output may contain it.
pub const TOKEN: &str = "ghp_world_token_0123456789";
pub const REPO: &str = "acme/deploy";
pub const HOODI_FILE: &str = "envs/hoodi/values.yaml";
pub const MAINNET_FILE: &str = "envs/mainnet/values.yaml";
pub const VALUES: &str = "image:\n  repository: sigp/lighthouse\n  tag: v6.0.0 # consensus\n";

pub struct World {
    pub dir: tempfile::TempDir,
    pub gh: GitHubDouble,
    pub git: GitServer,
    /// More environment for every upkeep started here.
    pub extra_env: Vec<(&'static str, String)>,
    now: RefCell<DateTime<Utc>>,
}

/// Options of the two environments and the rollout.
#[derive(Default)]
pub struct Setup<'a> {
    /// Extra keys for the hoodi environment (indented by 8 spaces).
    pub hoodi: &'a str,
    pub mainnet: &'a str,
    /// Extra top-level YAML.
    pub extra: &'a str,
    /// Extra files in the repository.
    pub files: &'a [(&'a str, &'a str)],
    /// Release notes of lighthouse v7.0.0.
    pub notes: &'a str,
}

/// Monday 2027-01-04 10:00 UTC.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 4, 10, 0, 0).unwrap()
}

pub fn hours(h: i64) -> Duration {
    Duration::hours(h)
}

impl World {
    /// Two waves (hoodi, then mainnet after a 24 h soak) of lighthouse
    /// v6.0.0 -> v7.0.0 in `acme/deploy`, at [`t0`].
    pub fn new(setup: Setup<'_>) -> World {
        let dir = tempfile::tempdir().unwrap();
        let gh = GitHubDouble::start();
        let git = GitServer::start("x-access-token", TOKEN);
        let mut files = vec![(HOODI_FILE, VALUES), (MAINNET_FILE, VALUES)];
        files.extend_from_slice(setup.files);
        git.create_repo("deploy", &files);
        gh.add_repo(
            Repo::new(REPO)
                .default_branch("main")
                .served_by(&git, "deploy"),
        );
        gh.set_login(Caller::Token(TOKEN), "upkeep[bot]");
        gh.add_release("sigp/lighthouse", "v6.0.0");
        gh.add_release(
            "sigp/lighthouse",
            NewRelease::new("v7.0.0").body(if setup.notes.is_empty() {
                "Bug fixes."
            } else {
                setup.notes
            }),
        );
        let settings = format!(
            "repositories:\n  - github: {REPO}\n    devnets: [devnet-h, devnet-m]\n    environments:\n\
             \x20     - name: hoodi\n        paths: [\"envs/hoodi/**\"]\n        network: devnet-h\n        wave: 1\n{}\
             \x20     - name: mainnet\n        paths: [\"envs/mainnet/**\"]\n        network: devnet-m\n        wave: 2\n{}\
             registries:\n  require_published: false\n  mirrors:\n    docker.io: http://127.0.0.1:9\n\
             rollout:\n  soak: 24h\n{}",
            setup.hoodi, setup.mainnet, setup.extra
        );
        std::fs::write(dir.path().join("upkeep.yml"), settings).unwrap();
        let w = World {
            dir,
            gh,
            git,
            extra_env: Vec::new(),
            now: RefCell::new(t0()),
        };
        w.at(t0());
        w
    }

    /// Moves time, for upkeep and for GitHub.
    pub fn at(&self, t: DateTime<Utc>) {
        *self.now.borrow_mut() = t;
        self.gh.set_time(t);
    }

    /// The environment of every upkeep started here.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        let mut env = vec![
            ("UPKEEP_GITHUB_API_URL", self.gh.url().to_string()),
            ("UPKEEP_GITHUB_TOKEN", TOKEN.to_string()),
            (
                "UPKEEP_STATE",
                self.dir.path().join("state.sqlite3").display().to_string(),
            ),
            (
                "UPKEEP_CACHE_DIR",
                self.dir.path().join("cache").display().to_string(),
            ),
            ("UPKEEP_NOW", self.now.borrow().to_rfc3339()),
        ];
        env.extend(self.extra_env.iter().cloned());
        env
    }

    /// upkeep with `args`: stdout, stderr, exit code.
    pub fn upkeep(&self, args: &[&str]) -> (String, String, i32) {
        let env = self.env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let out = upkeep_env(self.dir.path(), args, &env);
        let (o, e) = (stdout(&out), stderr(&out));
        assert!(!o.contains(TOKEN) && !e.contains(TOKEN), "token leaked");
        (o, e, out.status.code().unwrap())
    }

    /// Merges pull request `number` of `acme/deploy`.
    pub fn merge(&self, number: u64) {
        self.gh.merge_pr(REPO, number);
    }

    /// `upkeep run`, which must succeed.
    pub fn run(&self) -> String {
        let (out, err, code) = self.upkeep(&["run"]);
        assert_eq!(code, 0, "{out}\n{err}");
        out
    }
}
