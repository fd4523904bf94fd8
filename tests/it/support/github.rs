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
//! The networks' config repositories (`eth-clients/{mainnet,sepolia,holesky,hoodi}`:
//! `metadata/config.yaml`, `metadata/genesis.json`, the shipped fork
//! schedule's values) are served by the contents API from the start, as on
//! github.com; `gh.set_file("eth-clients/mainnet", "metadata/config.yaml",
//! Some(text))` changes one, `None` removes it (404).
//! Releases are created an hour apart in the order added unless
//! `.created_at(…)` says otherwise; the list endpoint answers newest first.
//! `add_release` creates a missing repository with defaults. Anything else:
//! `gh.with_state(|s| …)` on the [`State`].
//!
//! # Pull requests, labels, branches
//! ```ignore
//! // Branches: a repository linked to a real bare repository reads its refs
//! // (and the Git Data API writes objects there); `GitServer` serves the same
//! // repository to git clients.
//! let git = GitServer::start("x-access-token", "tok");
//! git.create_repo("deploy", &[("values.yaml", "image: nginx:1.27\n")]);
//! gh.add_repo(Repo::new("acme/deploy").served_by(&git, "deploy"));
//! let tip = git.commit_on("deploy", "upkeep/x-1.1", &[("values.yaml", "…")], "Bump"); // push a branch
//! // …or without git: the default branch exists at a made-up SHA; add others.
//! gh.add_repo(Repo::new("acme/plain").branch("upkeep/x-1.0"));
//! let sha = gh.push_branch("acme/plain", "upkeep/x-1.0"); // moves it to a new made-up SHA
//! gh.delete_branch("acme/plain", "upkeep/x-1.0");
//!
//! gh.add_label("acme/deploy", Label::new("upkeep").color("0e8a16").description("…"));
//! Repo::new("acme/x").with_default_labels();       // GitHub's nine defaults
//! let n = gh.add_pull("acme/deploy", NewPull::new("Bump x to 1.1", "upkeep/x-1.1", "main")
//!     .body("…").labels(&["upkeep"]).closed());    // seeded as if opened earlier
//! gh.set_login(Caller::Token("tok"), "upkeep[bot]"); // who writes with that token
//! gh.merge_pr("acme/deploy", n);      // merged + closed; fast-forwards (or merges)
//!                                     // the base branch in the git dir
//! gh.mark_pr_merged("acme/deploy", n); // merged + closed, git left alone
//! gh.close_pr("acme/deploy", n);      // closed without merging
//! let prs: Vec<PullView> = gh.pulls("acme/deploy"); // read back: title, body,
//! // head, base, SHAs, state, merged, labels, assignees, reviewers, comments
//! let labels: Vec<Label> = gh.labels("acme/deploy");
//! ```
//!
//! # Checks, statuses and merging through the API
//! ```ignore
//! let ci = gh.add_check_run("acme/deploy", "upkeep/x-1.1", "ci", "in_progress", None);
//! gh.set_check_run("acme/deploy", ci, "completed", Some("success"));
//! gh.add_status("acme/deploy", &sha, "deploy/preview", "pending"); // latest per context counts
//! gh.protect_branch("acme/deploy", "main", &["ci"], 1);  // required contexts, approvals
//! gh.approve("acme/deploy", n, "alice");
//! gh.set_mergeable("acme/deploy", n, false);     // conflicts: 405 "Pull Request is not mergeable"
//! gh.mergeable_unknown_for("acme/deploy", n, 2); // next 2 reads: `mergeable: null`
//! let merges = gh.requests_for("pulls/merge");   // what PUT …/merge asked and got
//! ```
//! `GET …/commits/{ref}/check-runs` and `…/status` take a SHA or a branch;
//! `PUT …/pulls/{n}/merge` answers 200, 405 (conflicts, draft, closed or
//! merged, protection not met, with GitHub's messages), 409 (`sha` is not
//! the head) and moves the base branch (a merge commit, or one squashed
//! commit for `squash` and `rebase`). See `github/checks.rs`.
//! What the API does with them: `pulls.rs` (model) and `routes/pulls.rs`,
//! `routes/issues.rs`, `routes/labels.rs`, `routes/gitdata.rs` (behaviour,
//! GitHub's 422s). Writes need a token (else 401); a pull request's
//! `head.sha`/`base.sha` follow its branches while open; `mergeable` comes
//! from a real merge attempt in the git dir.
//!
//! # Break it
//! ```ignore
//! gh.fail_next("/repos/o/r/releases", 2, 502);  // next 2 requests to that path
//! gh.secondary_limit_next(1, 429, 3);            // next request: 429, retry-after: 3
//! gh.secondary_limit_writes(2, 60);              // next 2 POST/PATCH/PUT/DELETE: 403, retry-after: 60
//! gh.limit_writes_per_minute(80);                // GitHub's pace; more: 403 + retry-after
//! gh.break_repo("o/broken");                     // always 502
//! gh.set_latency(Duration::from_millis(200));    // every request
//! gh.drip("/repos/o/r", Duration::from_secs(1)); // headers now, body 1 byte/s
//! gh.hang("/repos/o/r");                         // never answers
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
//! assert_eq!(stats.writes, 0);        // no content-creating request (POST/PATCH/PUT/DELETE)
//! assert_eq!(stats.writes_by_operation["pulls/create"], 1);
//! gh.requests()[0].body;              // JSON request bodies are recorded too
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
//! Pull requests: numbers per repository from 1; lists newest first (`sort`,
//! `direction`); `head=owner:branch` filters, a bare `head=branch` is
//! ignored as on GitHub; 422 "A pull request already exists for
//! owner:branch." (open one, same head and base), `head`/`base` `invalid`,
//! "No commits between base and head", bodies over 65,536 characters;
//! adding an unknown label creates it grey (`ededed`); reviewers cannot
//! include the author. Not modelled: forks, plain issues, collaborator
//! checks, asynchronous mergeability (`mergeable` is computed at once unless
//! a test asks for `null` with `mergeable_unknown_for`), tags and
//! abbreviated SHAs as `{ref}`, rulesets (only classic protection's required
//! contexts and approval count),
//! closing a pull request when its head branch is deleted.
//!
//! Adding endpoints: see `github/routes.rs`; state: `github/state.rs`.

mod apps;
mod checks;
mod git;
mod pulls;
mod render;
mod routes;
mod server;
mod spec;
mod state;

use std::time::Duration;

use serde_json::Value;

pub use apps::{AppModel, AppStats, generate_keys, test_keys};
pub use checks::Protection;
pub use pulls::{Comment, DEFAULT_LOGIN, Label, NewPull, PullRequest, PullView};
pub use state::{
    Bucket, Caller, HoldGate, Issue, NewRelease, Problem, Recorded, Release, Repo, State, Stats,
};
use std::sync::Arc;

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

    /// Sets (`Some`) or removes (`None`) a file the contents API serves
    /// (`eth-clients/<network>`'s configs are there from the start).
    pub fn set_file(&self, repo: &str, path: &str, text: Option<&str>) {
        self.with_state(|s| {
            let files = s.files.entry(repo.to_ascii_lowercase()).or_default();
            match text {
                Some(t) => {
                    files.insert(path.to_string(), t.to_string());
                }
                None => {
                    files.remove(path);
                }
            }
        });
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

    /// Tokens may read but not write from now on, as a fine-grained token
    /// granted read access only: every write answers 403 "Resource not
    /// accessible by personal access token".
    pub fn read_only_tokens(&self) {
        self.with_state(|s| s.faults.read_only = true);
    }

    /// The next `times` requests to `path` (relative to the API root, no
    /// query) answer `status` with GitHub's "Server Error" body.
    pub fn fail_next(&self, path: &str, times: usize, status: u16) {
        assert!((500..600).contains(&status), "fail_next takes a 5xx status");
        self.with_state(|s| {
            s.faults
                .server_errors
                .push((path.to_owned(), status, times, None))
        });
    }

    /// Like [`fail_next`](Self::fail_next), for requests with `method`
    /// (`"POST"`, …) only: other methods on that path pass.
    pub fn fail_next_method(&self, method: &str, path: &str, times: usize, status: u16) {
        assert!(
            (500..600).contains(&status),
            "fail_next_method takes a 5xx status"
        );
        self.with_state(|s| {
            s.faults
                .server_errors
                .push((path.to_owned(), status, times, Some(method.to_owned())))
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

    /// The next `times` content-creating requests (POST, PATCH, PUT,
    /// DELETE) hit the secondary rate limit: 403, `retry-after:
    /// retry_after_secs`; reads pass.
    pub fn secondary_limit_writes(&self, times: usize, retry_after_secs: u64) {
        self.with_state(|s| {
            s.faults
                .secondary_writes
                .extend(std::iter::repeat_n(retry_after_secs, times))
        });
    }

    /// At most `per_minute` content-creating requests in any 60 seconds
    /// (GitHub documents about 80); more answer 403 with `retry-after` until
    /// the window has room. `None` lifts it.
    pub fn limit_writes_per_minute(&self, per_minute: impl Into<Option<usize>>) {
        let limit = per_minute.into();
        assert!(limit != Some(0), "limit_writes_per_minute takes at least 1");
        self.with_state(|s| {
            s.faults.writes_per_minute = limit;
            s.faults.recent_writes.clear();
        });
    }

    /// Every request about `owner/name` answers 502, for good.
    pub fn break_repo(&self, repo: &str) {
        self.with_state(|s| s.faults.broken_repos.insert(repo.to_ascii_lowercase()));
    }

    /// Holds the next `method` request to `path` (relative to the API
    /// root, no query) until the returned gate is opened: a client is then
    /// deterministically in the middle of its work (and may be killed
    /// there; a gate never opened holds that request for good).
    pub fn hold_next(&self, method: &str, path: &str) -> Arc<HoldGate> {
        let gate = Arc::new(HoldGate::default());
        self.with_state(|s| {
            s.faults
                .holds
                .push((method.to_owned(), path.to_owned(), gate.clone()))
        });
        gate
    }

    /// Delays every answer by `latency` (zero to stop).
    pub fn set_latency(&self, latency: Duration) {
        self.with_state(|s| s.faults.latency = latency);
    }

    /// Answers requests whose path starts with `path_prefix` (`""`: all)
    /// with their status and headers at once, then the body one byte every
    /// `every`: a server that drips its answer.
    pub fn drip(&self, path_prefix: &str, every: Duration) {
        self.with_state(|s| {
            s.faults.slow = Some((path_prefix.to_owned(), state::Slow::Drip(every)))
        });
    }

    /// Never answers requests whose path starts with `path_prefix` (`""`:
    /// all): the connection stays open without a status line.
    pub fn hang(&self, path_prefix: &str) {
        self.with_state(|s| s.faults.slow = Some((path_prefix.to_owned(), state::Slow::Hang)));
    }

    /// Answers every path at normal speed again.
    pub fn stop_slowness(&self) {
        self.with_state(|s| s.faults.slow = None);
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

    /// Writes made with `caller`'s token are by `login` (default
    /// [`DEFAULT_LOGIN`]): pull request authors, comment authors, commits.
    pub fn set_login(&self, caller: Caller, login: &str) {
        assert!(
            matches!(caller, Caller::Token(_)),
            "only token callers have a login"
        );
        self.with_state(|s| {
            s.user(login);
            s.logins.insert(caller.key(), login.to_owned())
        });
    }

    /// Adds a label to the repository (creating it if needed); panics on a
    /// duplicate name. Returns its id.
    pub fn add_label(&self, repo: &str, label: Label) -> u64 {
        self.with_state(|s| s.add_label(repo, label))
    }

    /// The repository's labels, by name as GitHub lists them.
    pub fn labels(&self, repo: &str) -> Vec<Label> {
        self.with_state(|s| {
            s.expect_repo(repo)
                .labels_sorted()
                .into_iter()
                .cloned()
                .collect()
        })
    }

    /// Seeds a pull request as if opened earlier (creating the repository,
    /// and without a git dir its missing branches, as needed); no
    /// validation. Returns its number.
    pub fn add_pull(&self, repo: &str, pull: NewPull) -> u64 {
        self.with_state(|s| s.add_pull(repo, pull))
    }

    /// The repository's pull requests by number, as they are now.
    pub fn pulls(&self, repo: &str) -> Vec<PullView> {
        self.with_state(|s| {
            let repo = s.expect_repo(repo);
            repo.sync_pulls();
            repo.pulls.iter().map(|p| repo.view(p)).collect()
        })
    }

    /// Pull request `number`, as it is now.
    pub fn pull(&self, repo: &str, number: u64) -> PullView {
        self.pulls(repo)
            .into_iter()
            .find(|p| p.number == number)
            .unwrap_or_else(|| panic!("GitHub double: no pull request #{number} in {repo}"))
    }

    /// Merges open pull request `number` as a maintainer would: with a git
    /// dir, the base branch is fast-forwarded to the head, or gets a merge
    /// commit (panics on conflicts); without, it moves to a made-up SHA.
    /// Then the pull request is merged and closed. Returns the merge SHA.
    pub fn merge_pr(&self, repo: &str, number: u64) -> String {
        self.with_state(|s| s.merge_pull(repo, number))
    }

    /// Sets the time GitHub stamps on what happens next (created, merged,
    /// closed, commented), so scenarios can move through weeks together
    /// with `UPKEEP_NOW`.
    pub fn set_time(&self, at: chrono::DateTime<chrono::Utc>) {
        self.with_state(|s| s.clock = Some(at));
    }

    /// Marks pull request `number` merged and closed, leaving branches alone.
    pub fn mark_pr_merged(&self, repo: &str, number: u64) {
        self.with_state(|s| {
            s.expect_repo(repo).sync_pulls();
            s.mark_merged(&repo.to_ascii_lowercase(), number, None)
        });
    }

    /// Closes pull request `number` without merging it.
    pub fn close_pr(&self, repo: &str, number: u64) {
        self.with_state(|s| s.close_pull(repo, number));
    }

    /// Reports a check run on a commit (`sha_or_branch`: a full SHA or a
    /// branch, meaning its tip now), as GitHub Actions would: `status` one of
    /// `queued`, `in_progress`, `completed` (or `waiting`, `requested`,
    /// `pending`); `conclusion` (`success`, `failure`, `neutral`,
    /// `cancelled`, `skipped`, `timed_out`, `action_required`) exactly when
    /// completed. Returns its id.
    pub fn add_check_run(
        &self,
        repo: &str,
        sha_or_branch: &str,
        name: &str,
        status: &str,
        conclusion: Option<&str>,
    ) -> u64 {
        self.with_state(|s| s.add_check_run(repo, sha_or_branch, name, status, conclusion))
    }

    /// Moves check run `id` on (e.g. `in_progress` -> `completed`, `Some("success")`).
    pub fn set_check_run(&self, repo: &str, id: u64, status: &str, conclusion: Option<&str>) {
        self.with_state(|s| s.set_check_run(repo, id, status, conclusion));
    }

    /// Adds a commit status (`state`: `error`, `failure`, `pending`,
    /// `success`) for `context`; the latest per context counts. Returns its id.
    pub fn add_status(&self, repo: &str, sha_or_branch: &str, context: &str, state: &str) -> u64 {
        self.with_state(|s| s.add_status(repo, sha_or_branch, context, state))
    }

    /// Says whether pull request `number` merges without conflicts,
    /// overriding the computed answer (`false`: `mergeable: false`,
    /// `mergeable_state: dirty`, merging answers 405).
    pub fn set_mergeable(&self, repo: &str, number: u64, mergeable: bool) {
        self.with_state(|s| s.pull_for_test(repo, number).mergeable_override = Some(mergeable));
    }

    /// The next `reads` GETs of pull request `number` answer `mergeable:
    /// null`, `mergeable_state: unknown`, as GitHub does while it computes
    /// mergeability in the background (a merge attempt still computes it).
    pub fn mergeable_unknown_for(&self, repo: &str, number: u64, reads: usize) {
        self.with_state(|s| s.pull_for_test(repo, number).mergeable_unknown_reads = reads);
    }

    /// Protects `branch`: merging into it needs every context in
    /// `required_contexts` passed (a `success` status or a check run of that
    /// name concluding `success`, `neutral` or `skipped`) and
    /// `required_approvals` approvals (`approve`). Replaces an earlier rule.
    pub fn protect_branch(
        &self,
        repo: &str,
        branch: &str,
        required_contexts: &[&str],
        required_approvals: u32,
    ) {
        let rule = Protection {
            required_contexts: required_contexts.iter().map(|c| (*c).to_owned()).collect(),
            required_approvals,
        };
        self.with_state(|s| {
            s.expect_repo(repo)
                .protections
                .insert(branch.to_owned(), rule)
        });
    }

    /// `login` approves pull request `number` (not its author; once per login).
    pub fn approve(&self, repo: &str, number: u64, login: &str) {
        self.with_state(|s| s.approve(repo, number, login));
    }

    /// The recorded requests routed to `operation` (e.g. `"pulls/merge"`),
    /// in order: what was asked (`body`) and answered (`status`).
    pub fn requests_for(&self, operation: &str) -> Vec<Recorded> {
        self.with_state(|s| {
            s.requests
                .iter()
                .filter(|r| r.operation == Some(operation))
                .cloned()
                .collect()
        })
    }

    /// The tip of `branch` (from the git dir when linked).
    pub fn branch_sha(&self, repo: &str, branch: &str) -> Option<String> {
        self.with_state(|s| s.expect_repo(repo).branch_sha(branch))
    }

    /// Creates `branch` or moves it to a new made-up SHA, as a push would
    /// (repositories without a git dir: push with git to those). Returns
    /// the new SHA.
    pub fn push_branch(&self, repo: &str, branch: &str) -> String {
        self.with_state(|s| {
            let id = s.next_id();
            let repo = s.expect_repo(repo);
            assert!(
                repo.git_dir.is_none(),
                "GitHub double: {} has a git dir; push to it with git",
                repo.full_name()
            );
            let sha = pulls::fake_sha(&[&repo.full_name(), branch, &id.to_string()]);
            repo.branches.insert(branch.to_owned(), sha.clone());
            sha
        })
    }

    /// Deletes `branch` (repositories without a git dir). Open pull
    /// requests keep its last SHA (GitHub would close them).
    pub fn delete_branch(&self, repo: &str, branch: &str) {
        self.with_state(|s| {
            let repo = s.expect_repo(repo);
            assert!(
                repo.git_dir.is_none(),
                "GitHub double: {} has a git dir; delete the branch with git",
                repo.full_name()
            );
            repo.sync_pulls();
            repo.branches.remove(branch);
        });
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
    /// Makes the double a GitHub App host for `app` (see `github/apps.rs`).
    pub fn enable_app(&self, app: AppModel) {
        self.with_state(|s| s.app = Some(app));
    }

    /// Installs the app on `account` for `repos` (`owner/name`; empty: all
    /// of the account's repositories).
    pub fn add_installation(&self, id: u64, account: &str, repos: &[&str]) {
        self.with_state(|s| {
            s.user(account);
            let app = s.app.as_mut().expect("enable_app first");
            app.installations.push(apps::AppInstallation {
                id,
                account: account.to_owned(),
                repos: repos.iter().map(|r| (*r).to_owned()).collect(),
            });
        });
    }

    /// How long installation tokens issued from now on are valid.
    pub fn set_installation_token_lifetime(&self, lifetime: Duration) {
        self.with_state(|s| s.app.as_mut().expect("enable_app first").token_lifetime = lifetime);
    }

    /// Every installation token issued from now on is `token` (e.g. the
    /// password a `GitServer` accepts); each issue still has its own expiry.
    pub fn fix_installation_token(&self, token: &str) {
        self.with_state(|s| {
            s.app.as_mut().expect("enable_app first").fixed_token = Some(token.to_owned())
        });
    }

    /// JWTs verified, installation tokens issued, app credentials refused.
    pub fn app_stats(&self) -> AppStats {
        self.with_state(|s| s.app.as_ref().map(|a| a.stats).unwrap_or_default())
    }

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
