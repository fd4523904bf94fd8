//! A stateful, strict GitHub double for tests, served over HTTP on loopback
//! and driven by the real `octocrab` client (or the `upkeep` binary), after
//! rust-lang/bors' `src/tests/mock/`.
//!
//! # Start it
//! ```ignore
//! let gh = GitHubDouble::start();            // github.com: API at gh.url()
//! let ghe = GitHubDouble::start_enterprise(); // GHES: every route under /api/v3
//! let octocrab = gh.client(Caller::Token("tok"));      // or Caller::Anonymous
//! // a subprocess: Command::new(env!("CARGO_BIN_EXE_upkeep"))
//! //     .env("UPKEEP_GITHUB_API_URL", gh.url())
//! ```
//! The server runs on its own thread and tokio runtime, so it works from
//! `#[tokio::test]`, from plain `#[test]` and for subprocesses alike; it
//! listens before `start` returns and stops when the handle is dropped.
//!
//! # Seed it
//! ```ignore
//! gh.add_repo(Repo::new("sigp/lighthouse").default_branch("unstable"));
//! gh.add_release("sigp/lighthouse", "v5.3.0");                 // published
//! gh.add_release("sigp/lighthouse", NewRelease::new("v6.0.0-rc.0").prerelease());
//! gh.add_release("sigp/lighthouse", NewRelease::new("v6.0.0").draft());
//! gh.add_releases("ethereum/go-ethereum", (0..250).map(|i| format!("v1.{i}.0")));
//! ```
//! Releases are created an hour apart in the order added unless
//! `.created_at(…)` says otherwise; the list endpoint answers newest first.
//! `add_release` creates a missing repository with defaults. Anything else:
//! `gh.with_state(|s| …)` on the [`State`].
//!
//! # Break it
//! ```ignore
//! gh.fail_next("/repos/o/r/releases", 2, 502);  // next 2 requests to that path
//! gh.secondary_limit_next(1, 429, 3);            // next request: 429, retry-after: 3
//! gh.break_repo("o/broken");                     // always 502
//! gh.set_latency(Duration::from_millis(200));    // every request
//! gh.set_rate_limit(Caller::Anonymous, 0, Duration::from_secs(30)); // exhausted
//! gh.accept_only_tokens(&["good"]);              // other tokens: 401
//! ```
//!
//! # Check what happened
//! ```ignore
//! let stats = gh.stats();
//! assert_eq!(stats.charged, 0);       // a warm cycle cost no rate limit
//! assert_eq!(stats.not_modified, 3);  // …because it got 304s
//! assert_eq!(stats.by_operation["repos/list-releases"], 3);
//! gh.clear_requests();                // measure the next phase alone
//! gh.assert_no_unexpected();          // also done on drop
//! ```
//!
//! # What it is strict about
//! - A request no route expects (unknown path, wrong method, missing
//!   `/api/v3` in Enterprise mode) answers 404 and is a [`Problem`].
//! - Every JSON answer is checked against the schema GitHub's OpenAPI
//!   description gives that operation and status (`github/spec.rs`); a
//!   mismatch answers 500 and is a [`Problem`]. Request bodies too.
//! - Problems fail the test: `assert_no_unexpected`, or the handle's drop
//!   (unless the test is already panicking). `take_problems` for tests that
//!   provoke them on purpose.
//!
//! # How faithful
//! `Link` pagination like GitHub's (`/repositories/{id}/…` URLs; `per_page`
//! default 30, max 100); weak `ETag`s (strong with `use_strong_etags`) and
//! `If-None-Match` -> 304, which costs no rate limit with a token but does
//! anonymously, as GitHub documents; `x-ratelimit-*` on every answer,
//! 60/hour anonymous and 5000/hour per token, `GET /rate_limit` free; GitHub's
//! error bodies. Drafts are listed only to callers sending a token.
//!
//! Adding endpoints: see `github/routes.rs`; state: `github/state.rs`.

mod render;
mod routes;
mod server;
mod spec;
mod state;

use std::time::Duration;

use serde_json::Value;

pub use state::{Bucket, Caller, NewRelease, Problem, Recorded, Release, Repo, State, Stats};

/// The running double. See the module docs.
pub struct GitHubDouble {
    server: server::Server,
}

impl GitHubDouble {
    /// api.github.com: routes at the root.
    pub fn start() -> Self {
        Self::launch("")
    }

    /// GitHub Enterprise Server: every route under `/api/v3`.
    pub fn start_enterprise() -> Self {
        Self::launch("/api/v3")
    }

    fn launch(base_path: &'static str) -> Self {
        let spec = spec::spec();
        for route in routes::ROUTES {
            spec.require(route.operation);
        }
        GitHubDouble {
            server: server::Server::start(base_path),
        }
    }

    /// The REST API root, for `Octocrab::builder().base_uri(…)` and
    /// `UPKEEP_GITHUB_API_URL` (`http://127.0.0.1:PORT[/api/v3]`).
    pub fn url(&self) -> &str {
        &self.server.shared.urls.api
    }

    /// A real octocrab client pointed at the double.
    pub fn client(&self, caller: Caller) -> octocrab::Octocrab {
        let builder = octocrab::Octocrab::builder()
            .base_uri(self.url())
            .expect("double URL");
        match caller {
            Caller::Anonymous => builder.build(),
            Caller::Token(token) => builder.personal_token(token.to_owned()).build(),
        }
        .expect("octocrab client")
    }

    /// Adds a repository, or updates one's settings (keeping its releases).
    pub fn add_repo(&self, repo: Repo) {
        self.with_state(|s| s.upsert_repo(repo));
    }

    /// Adds a release (creating the repository if needed); returns its id.
    pub fn add_release(&self, repo: &str, release: impl Into<NewRelease>) -> u64 {
        self.with_state(|s| s.add_release(repo, release.into()))
    }

    /// Adds releases in order (oldest first); returns their ids.
    pub fn add_releases<R: Into<NewRelease>>(
        &self,
        repo: &str,
        releases: impl IntoIterator<Item = R>,
    ) -> Vec<u64> {
        self.with_state(|s| {
            releases
                .into_iter()
                .map(|r| s.add_release(repo, r.into()))
                .collect()
        })
    }

    /// Reads or changes the model directly. Do not call the double's HTTP
    /// API from inside `f`.
    pub fn with_state<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.server.shared.lock())
    }

    /// The next `times` requests to `path` (relative to the API root, no
    /// query) answer `status` with GitHub's "Server Error" body.
    pub fn fail_next(&self, path: &str, times: usize, status: u16) {
        assert!((500..600).contains(&status), "fail_next takes a 5xx status");
        self.with_state(|s| {
            s.faults
                .server_errors
                .push((path.to_owned(), status, times))
        });
    }

    /// The next `times` requests (any path) hit a secondary rate limit:
    /// `status` (403 or 429), `retry-after: retry_after_secs` and GitHub's
    /// "You have exceeded a secondary rate limit" body.
    pub fn secondary_limit_next(&self, times: usize, status: u16, retry_after_secs: u64) {
        assert!(
            status == 403 || status == 429,
            "GitHub's secondary limits answer 403 or 429"
        );
        self.with_state(|s| {
            s.faults
                .secondary
                .extend(std::iter::repeat_n((status, retry_after_secs), times))
        });
    }

    /// Every request about `owner/name` answers 502, for good.
    pub fn break_repo(&self, repo: &str) {
        self.with_state(|s| s.faults.broken_repos.insert(repo.to_ascii_lowercase()));
    }

    /// Delays every answer by `latency` (zero to stop).
    pub fn set_latency(&self, latency: Duration) {
        self.with_state(|s| s.faults.latency = latency);
    }

    /// Sets `caller`'s primary bucket: `remaining` points, refilled in `resets_in`.
    pub fn set_rate_limit(&self, caller: Caller, remaining: u32, resets_in: Duration) {
        let now = server::unix_now();
        self.with_state(|s| {
            let bucket = s.bucket(caller.key(), now);
            bucket.remaining = remaining.min(bucket.limit);
            bucket.reset = now + resets_in.as_secs();
        });
    }

    /// `caller`'s primary bucket now.
    pub fn rate_limit(&self, caller: Caller) -> Bucket {
        let now = server::unix_now();
        self.with_state(|s| *s.bucket(caller.key(), now))
    }

    /// From now on only these tokens authenticate; others get 401 "Bad credentials".
    pub fn accept_only_tokens(&self, tokens: &[&str]) {
        self.with_state(|s| {
            s.valid_tokens = Some(tokens.iter().map(|t| state::token_hash(t)).collect())
        });
    }

    /// Strong `ETag`s (`"…"`) instead of GitHub's usual weak ones (`W/"…"`).
    pub fn use_strong_etags(&self) {
        self.with_state(|s| s.strong_etags = true);
    }

    /// Test hook: `corrupt` edits the next JSON answer before the schema
    /// check, to prove the check catches a malformed response.
    pub fn corrupt_next_response(&self, corrupt: impl FnOnce(&mut Value) + Send + 'static) {
        self.with_state(|s| s.faults.corrupt_next = Some(Box::new(corrupt)));
    }

    /// Every request since start (or `clear_requests`), in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.with_state(|s| s.requests.clone())
    }

    /// Forgets recorded requests (not problems), to measure a phase alone.
    pub fn clear_requests(&self) {
        self.with_state(|s| s.requests.clear());
    }

    /// Counters over the recorded requests.
    pub fn stats(&self) -> Stats {
        self.with_state(|s| Stats::of(&s.requests))
    }

    pub fn problems(&self) -> Vec<Problem> {
        self.with_state(|s| s.problems.clone())
    }

    /// Returns and forgets the problems, for tests that provoke them.
    pub fn take_problems(&self) -> Vec<Problem> {
        self.with_state(|s| std::mem::take(&mut s.problems))
    }

    /// Panics listing every unexpected request and schema mismatch so far.
    pub fn assert_no_unexpected(&self) {
        let problems = self.problems();
        if !problems.is_empty() {
            panic!("{}", report(&problems));
        }
    }
}

impl Drop for GitHubDouble {
    fn drop(&mut self) {
        self.server.stop();
        if !std::thread::panicking() {
            let problems = self.take_problems();
            if !problems.is_empty() {
                panic!("{}", report(&problems));
            }
        }
    }
}

fn report(problems: &[Problem]) -> String {
    let mut out = format!("GitHub double: {} problem(s):", problems.len());
    for problem in problems {
        out.push_str("\n- ");
        out.push_str(&problem.to_string());
    }
    out
}

/// Checks `body` against GitHub's schema for `operation` answering `status`
/// (e.g. to check a fixture): `Err` lists the mismatches.
pub fn validate_response(operation: &str, status: u16, body: &Value) -> Result<(), String> {
    spec::spec().check_response(operation, status, body)
}
