//! What the GitHub double knows: repositories with their releases, branches,
//! labels, pull requests and comments (the pull-request side is in
//! `pulls.rs`; check runs, statuses and branch protection in `checks.rs`), users, the rate-limit buckets, armed faults and the request
//! log, all in one [`State`] behind the double's mutex.
//!
//! Test authors mostly seed through `GitHubDouble::add_repo` /
//! `add_release` and read back through `GitHubDouble::with_state`, e.g.
//! `gh.with_state(|s| s.repo("o/r").unwrap().releases.len())`.
//!
//! Growing it: per-repository resources become fields of [`Repo`] (kept by
//! `upsert_repo`), account-wide ones (installations) of
//! [`State`]; ids come from [`State::next_id`]; a route module under
//! `routes/` serves them. Nothing here needs to change shape for that.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use super::checks::{CheckRun, CommitStatus, Protection};
use super::pulls::{Comment, DEFAULT_LABELS, Label, PullRequest};

/// Who calls: GitHub keeps one primary rate-limit bucket per token (5000
/// requests an hour) and one for anonymous callers (60 an hour, per IP).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller<'a> {
    Anonymous,
    Token(&'a str),
}

/// How the double tells callers apart without keeping any token: a hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum CallerKey {
    Anonymous,
    Token(u64),
}

impl Caller<'_> {
    pub(super) fn key(self) -> CallerKey {
        match self {
            Caller::Anonymous => CallerKey::Anonymous,
            Caller::Token(token) => CallerKey::Token(token_hash(token)),
        }
    }
}

impl CallerKey {
    pub(super) fn authorized(self) -> bool {
        matches!(self, CallerKey::Token(_))
    }
}

pub(super) fn token_hash(token: &str) -> u64 {
    let mut h = DefaultHasher::new();
    token.hash(&mut h);
    h.finish()
}

/// A repository. Build with [`Repo::new`] and pass to `GitHubDouble::add_repo`.
#[derive(Clone, Debug)]
pub struct Repo {
    /// Assigned by the double.
    pub id: u64,
    pub owner: String,
    pub name: String,
    pub default_branch: String,
    /// `None`: `http://127.0.0.1:PORT/{owner}/{name}.git` on the double.
    /// Point it at a `git http-backend` to serve real clones.
    pub clone_url: Option<String>,
    /// Private repositories are invisible (404) to anonymous callers.
    pub private: bool,
    pub description: Option<String>,
    pub created_at: DateTime<Utc>,
    /// In insertion order; the API sorts.
    pub releases: Vec<Release>,
    /// A git repository on disk whose refs and objects are this
    /// repository's (`Repo::git_dir`); `None`: branches below.
    pub git_dir: Option<PathBuf>,
    /// Branch -> tip SHA when there is no git dir; the default branch
    /// exists even when absent here.
    pub branches: BTreeMap<String, String>,
    pub labels: Vec<Label>,
    /// By number (issues and pull requests share the sequence).
    pub pulls: Vec<PullRequest>,
    /// Plain issues (not pull requests), by number.
    pub issues: Vec<Issue>,
    /// On issues and pull requests, oldest first.
    pub comments: Vec<Comment>,
    /// The number the next pull request gets.
    pub next_number: u64,
    /// Commits made through the Git Data API (shown as verified).
    pub api_commits: BTreeSet<String>,
    /// Comments on commits (`repos/create-commit-comment`), oldest first.
    pub commit_comments: Vec<CommitComment>,
    /// Check runs on commits, oldest first (`checks.rs`).
    pub check_runs: Vec<CheckRun>,
    /// Commit statuses, oldest first.
    pub statuses: Vec<CommitStatus>,
    /// Branch protection by branch name.
    pub protections: BTreeMap<String, Protection>,
    pub(super) seed_default_labels: bool,
}

/// A plain issue (numbered in the sequence pull requests share).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    pub id: u64,
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    /// Login of the author.
    pub author: String,
    pub open: bool,
    /// Label ids, in the order added.
    pub labels: Vec<u64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

impl Repo {
    pub fn issue(&self, number: u64) -> Option<&Issue> {
        self.issues.iter().find(|i| i.number == number)
    }
}

/// A comment on a commit (not on a line of it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitComment {
    pub id: u64,
    pub commit_id: String,
    pub author: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
}

impl Repo {
    /// `full_name` is `owner/name`.
    pub fn new(full_name: &str) -> Self {
        let (owner, name) = split_full_name(full_name);
        Repo {
            id: 0,
            owner: owner.to_owned(),
            name: name.to_owned(),
            default_branch: "main".to_owned(),
            clone_url: None,
            private: false,
            description: None,
            created_at: epoch(),
            releases: Vec::new(),
            git_dir: None,
            branches: BTreeMap::new(),
            labels: Vec::new(),
            pulls: Vec::new(),
            issues: Vec::new(),
            comments: Vec::new(),
            next_number: 1,
            api_commits: BTreeSet::new(),
            commit_comments: Vec::new(),
            check_runs: Vec::new(),
            statuses: Vec::new(),
            protections: BTreeMap::new(),
            seed_default_labels: false,
        }
    }

    pub fn default_branch(mut self, branch: &str) -> Self {
        self.default_branch = branch.to_owned();
        self
    }

    pub fn clone_url(mut self, url: &str) -> Self {
        self.clone_url = Some(url.to_owned());
        self
    }

    pub fn private(mut self) -> Self {
        self.private = true;
        self
    }

    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    /// Releases as the list endpoint orders them: newest `created_at` first.
    pub fn releases_newest_first(&self) -> Vec<&Release> {
        let mut all: Vec<&Release> = self.releases.iter().collect();
        all.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.cmp(&a.id)));
        all
    }
}

/// A release as the double stores it.
#[derive(Clone, Debug, PartialEq)]
pub struct Release {
    pub id: u64,
    pub tag_name: String,
    pub name: Option<String>,
    pub body: Option<String>,
    pub draft: bool,
    pub prerelease: bool,
    pub created_at: DateTime<Utc>,
    /// `None` for drafts.
    pub published_at: Option<DateTime<Utc>>,
    /// `None`: `{web}/{owner}/{repo}/releases/tag/{tag}`.
    pub html_url: Option<String>,
    /// The login of the user who made it.
    pub author: String,
    /// `None`: the repository's default branch.
    pub target_commitish: Option<String>,
}

/// A release to add: `NewRelease::new("v1.2.3").prerelease()`, or just
/// `"v1.2.3"` wherever `impl Into<NewRelease>` is taken.
#[derive(Clone, Debug)]
pub struct NewRelease {
    tag_name: String,
    name: Option<String>,
    body: Option<String>,
    draft: bool,
    prerelease: bool,
    created_at: Option<DateTime<Utc>>,
    published_at: Option<DateTime<Utc>>,
    html_url: Option<String>,
    author: String,
}

impl NewRelease {
    /// Named after its tag, published, created an hour after the release
    /// added before it (so insertion order is age order) unless told.
    pub fn new(tag: impl Into<String>) -> Self {
        let tag_name = tag.into();
        NewRelease {
            name: Some(tag_name.clone()),
            tag_name,
            body: Some(String::new()),
            draft: false,
            prerelease: false,
            created_at: None,
            published_at: None,
            html_url: None,
            author: "release-bot".to_owned(),
        }
    }

    pub fn name(mut self, name: Option<&str>) -> Self {
        self.name = name.map(str::to_owned);
        self
    }

    pub fn body(mut self, body: &str) -> Self {
        self.body = Some(body.to_owned());
        self
    }

    /// Unpublished: listed only to callers with a token, never "latest".
    pub fn draft(mut self) -> Self {
        self.draft = true;
        self
    }

    pub fn prerelease(mut self) -> Self {
        self.prerelease = true;
        self
    }

    /// RFC 3339, e.g. `"2024-05-01T12:00:00Z"`.
    pub fn created_at(mut self, at: &str) -> Self {
        self.created_at = Some(parse_time(at));
        self
    }

    pub fn published_at(mut self, at: &str) -> Self {
        self.published_at = Some(parse_time(at));
        self
    }

    pub fn html_url(mut self, url: &str) -> Self {
        self.html_url = Some(url.to_owned());
        self
    }

    pub fn author(mut self, login: &str) -> Self {
        self.author = login.to_owned();
        self
    }
}

impl From<&str> for NewRelease {
    fn from(tag: &str) -> Self {
        NewRelease::new(tag)
    }
}

impl From<String> for NewRelease {
    fn from(tag: String) -> Self {
        NewRelease::new(tag)
    }
}

/// A GitHub account (owners, release authors), created on first mention.
#[derive(Clone, Debug)]
pub struct User {
    pub id: u64,
    pub login: String,
    /// `User`, `Organization` or `Bot` (logins ending in `[bot]`).
    pub kind: &'static str,
}

/// One primary rate-limit bucket, as `x-ratelimit-*` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Bucket {
    pub limit: u32,
    pub remaining: u32,
    /// Unix seconds when the bucket refills.
    pub reset: u64,
}

impl Bucket {
    pub fn used(&self) -> u32 {
        self.limit - self.remaining
    }
}

/// One request as the double received it. Never holds a token.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// The path as sent (with `/api/v3` in Enterprise mode).
    pub path: String,
    pub query: Option<String>,
    /// The OpenAPI `operationId` it was routed to; `None` if unexpected.
    pub operation: Option<&'static str>,
    /// An `Authorization` header was sent.
    pub authorized: bool,
    pub if_none_match: Option<String>,
    pub user_agent: Option<String>,
    pub accept: Option<String>,
    /// The JSON request body, if any.
    pub body: Option<Value>,
    pub status: u16,
    /// It cost one point of the primary rate limit.
    pub charged: bool,
}

impl Recorded {
    /// A content-creating request in GitHub's sense (secondary rate
    /// limits): POST, PATCH, PUT or DELETE.
    pub fn is_write(&self) -> bool {
        is_write_method(&self.method)
    }
}

pub(super) fn is_write_method(method: &str) -> bool {
    matches!(method, "POST" | "PATCH" | "PUT" | "DELETE")
}

/// Something a test did not plan for; any of these fails the test when the
/// double is dropped (or at `assert_no_unexpected`).
#[derive(Clone, Debug)]
pub enum Problem {
    /// No route expects this method and path (answered 404).
    Unexpected(Recorded),
    /// The double's own answer broke GitHub's schema (answered 500 instead).
    InvalidResponse {
        operation: &'static str,
        status: u16,
        errors: String,
    },
    /// A request body broke the operation's schema (answered 422).
    InvalidRequest {
        operation: &'static str,
        errors: String,
    },
    /// A route handler panicked (answered 500).
    Panicked {
        operation: &'static str,
        message: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Unexpected(r) => {
                let query = r
                    .query
                    .as_ref()
                    .map(|q| format!("?{q}"))
                    .unwrap_or_default();
                write!(
                    f,
                    "unexpected request: {} {}{} (no route; answered 404)",
                    r.method, r.path, query
                )
            }
            Problem::InvalidResponse {
                operation,
                status,
                errors,
            } => write!(
                f,
                "the double's {status} response to {operation} does not match GitHub's OpenAPI schema:\n{errors}"
            ),
            Problem::InvalidRequest { operation, errors } => {
                write!(
                    f,
                    "request body for {operation} does not match GitHub's OpenAPI schema:\n{errors}"
                )
            }
            Problem::Panicked { operation, message } => {
                write!(
                    f,
                    "the double's handler for {operation} panicked: {message}"
                )
            }
        }
    }
}

/// Counters over the recorded requests (since the last `clear_requests`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub total: usize,
    /// Requests that cost a point of the primary rate limit.
    pub charged: usize,
    /// `304 Not Modified` answers.
    pub not_modified: usize,
    /// Requests no route expected.
    pub unexpected: usize,
    /// Content-creating requests (POST, PATCH, PUT, DELETE), whatever
    /// their answer.
    pub writes: usize,
    /// Content-creating requests by OpenAPI `operationId`.
    pub writes_by_operation: BTreeMap<&'static str, usize>,
    /// By path as sent (no query).
    pub by_path: BTreeMap<String, usize>,
    /// By OpenAPI `operationId`.
    pub by_operation: BTreeMap<&'static str, usize>,
}

impl Stats {
    pub(super) fn of(requests: &[Recorded]) -> Stats {
        let mut s = Stats::default();
        for r in requests {
            s.total += 1;
            s.charged += usize::from(r.charged);
            s.not_modified += usize::from(r.status == 304);
            s.unexpected += usize::from(r.operation.is_none());
            s.writes += usize::from(r.is_write());
            if let (true, Some(op)) = (r.is_write(), r.operation) {
                *s.writes_by_operation.entry(op).or_default() += 1;
            }
            *s.by_path.entry(r.path.clone()).or_default() += 1;
            if let Some(op) = r.operation {
                *s.by_operation.entry(op).or_default() += 1;
            }
        }
        s
    }
}

/// A test's edit of the next JSON answer (see `corrupt_next_response`).
pub(super) type Corruption = Box<dyn FnOnce(&mut Value) + Send>;

/// Faults armed by the test, consumed by the request pipeline.
#[derive(Default)]
pub(super) struct Faults {
    /// (path without query, status, requests left, only this method).
    pub server_errors: Vec<(String, u16, usize, Option<String>)>,
    /// One entry per upcoming request: (status, retry-after seconds).
    pub secondary: VecDeque<(u16, u64)>,
    /// One entry per upcoming content-creating request: retry-after seconds.
    pub secondary_writes: VecDeque<u64>,
    /// At most this many content-creating requests in any 60 seconds;
    /// more answer 403 + `retry-after` (GitHub: about 80).
    pub writes_per_minute: Option<usize>,
    /// When the admitted content-creating requests of the last minute came.
    pub recent_writes: VecDeque<Instant>,
    /// Lowercased `owner/name`s that always answer 502.
    pub broken_repos: HashSet<String>,
    /// Tokens may read but not write (a fine-grained token granted only
    /// read access): writes answer GitHub's 403 "Resource not accessible
    /// by personal access token".
    pub read_only: bool,
    pub latency: Duration,
    /// Requests whose path starts with this are answered slowly (or never).
    pub slow: Option<(String, Slow)>,
    pub corrupt_next: Option<Corruption>,
    /// (method, path without query, gate): the next such request waits
    /// at the gate until it is opened.
    pub holds: Vec<(String, String, std::sync::Arc<HoldGate>)>,
}

/// Where a held request waits (`GitHubDouble::hold_next`).
#[derive(Default)]
pub struct HoldGate {
    pub held: std::sync::atomic::AtomicBool,
    pub open: std::sync::atomic::AtomicBool,
    /// The held request is answered 502 without being handled (its
    /// client is gone).
    pub abandon: std::sync::atomic::AtomicBool,
}

/// How a slow path answers (`GitHubDouble::drip`, `GitHubDouble::hang`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slow {
    /// Status and headers at once, then the body one byte per interval.
    Drip(Duration),
    /// Never: the connection stays open, no status line comes.
    Hang,
}

/// The whole model. Tests reach it through `GitHubDouble::with_state`.
pub struct State {
    /// Keyed by lowercased `owner/name`: GitHub's names are case-insensitive.
    pub repos: BTreeMap<String, Repo>,
    pub users: BTreeMap<String, User>,
    /// Team ids by `org/slug`, created on first mention.
    pub teams: BTreeMap<String, u64>,
    next_id: u64,
    releases_added: u32,
    pub(super) buckets: HashMap<CallerKey, Bucket>,
    /// `Some`: only these tokens authenticate, others get 401.
    pub(super) valid_tokens: Option<HashSet<u64>>,
    /// The login behind a token (`GitHubDouble::set_login`).
    pub(super) logins: HashMap<CallerKey, String>,
    pub(super) strong_etags: bool,
    pub(super) faults: Faults,
    pub(super) requests: Vec<Recorded>,
    pub(super) problems: Vec<Problem>,
    /// The GitHub App, when the test enabled one (`apps.rs`).
    pub(super) app: Option<super::apps::AppModel>,
    /// The time GitHub stamps on what it creates, merges and closes
    /// (`GitHubDouble::set_time`); `None`: the wall clock.
    pub(super) clock: Option<chrono::DateTime<chrono::Utc>>,
    /// Files served by the contents API: lower-case `owner/name` -> path ->
    /// text. Starts with the networks' config repositories
    /// (`routes/contents.rs`).
    pub files: BTreeMap<String, BTreeMap<String, String>>,
}

/// The networks' config repositories as GitHub has them (the shipped
/// schedule's values): `eth-clients/<network>` -> `metadata/...`.
pub fn network_config_files() -> BTreeMap<String, BTreeMap<String, String>> {
    macro_rules! net {
        ($n:literal) => {
            (
                concat!("eth-clients/", $n).to_string(),
                BTreeMap::from([
                    (
                        "metadata/config.yaml".to_string(),
                        include_str!(concat!(
                            "../../../fixtures/network-configs/",
                            $n,
                            "-config.yaml"
                        ))
                        .to_string(),
                    ),
                    (
                        "metadata/genesis.json".to_string(),
                        include_str!(concat!(
                            "../../../fixtures/network-configs/",
                            $n,
                            "-genesis.json"
                        ))
                        .to_string(),
                    ),
                ]),
            )
        };
    }
    BTreeMap::from([
        net!("mainnet"),
        net!("sepolia"),
        net!("holesky"),
        net!("hoodi"),
    ])
}

impl State {
    pub(super) fn new() -> Self {
        State {
            repos: BTreeMap::new(),
            users: BTreeMap::new(),
            teams: BTreeMap::new(),
            next_id: 1000,
            releases_added: 0,
            buckets: HashMap::new(),
            valid_tokens: None,
            logins: HashMap::new(),
            strong_etags: false,
            faults: Faults::default(),
            requests: Vec::new(),
            problems: Vec::new(),
            app: None,
            clock: None,
            files: network_config_files(),
        }
    }

    /// GitHub's "now": the test's clock when set, else the wall clock.
    pub(super) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.unwrap_or_else(super::pulls::now)
    }

    pub fn repo(&self, full_name: &str) -> Option<&Repo> {
        self.repos.get(&full_name.to_ascii_lowercase())
    }

    pub fn repo_mut(&mut self, full_name: &str) -> Option<&mut Repo> {
        self.repos.get_mut(&full_name.to_ascii_lowercase())
    }

    pub fn repo_by_id(&self, id: u64) -> Option<&Repo> {
        self.repos.values().find(|r| r.id == id)
    }

    /// A fresh id, unique across every kind of object in this double.
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// Adds the repository, or updates the settings of one already there
    /// (keeping its id and content: releases, labels, pull requests,
    /// comments; branches given now are added to the old ones).
    pub(super) fn upsert_repo(&mut self, mut repo: Repo) {
        self.user(&repo.owner);
        let key = repo.full_name().to_ascii_lowercase();
        match self.repos.get_mut(&key) {
            Some(old) => {
                repo.id = old.id;
                repo.releases = std::mem::take(&mut old.releases);
                repo.labels = std::mem::take(&mut old.labels);
                repo.pulls = std::mem::take(&mut old.pulls);
                repo.issues = std::mem::take(&mut old.issues);
                repo.comments = std::mem::take(&mut old.comments);
                repo.next_number = old.next_number;
                repo.api_commits = std::mem::take(&mut old.api_commits);
                repo.commit_comments = std::mem::take(&mut old.commit_comments);
                repo.check_runs = std::mem::take(&mut old.check_runs);
                repo.statuses = std::mem::take(&mut old.statuses);
                repo.protections = std::mem::take(&mut old.protections);
                let mut branches = std::mem::take(&mut old.branches);
                branches.append(&mut repo.branches);
                repo.branches = branches;
                *old = repo;
            }
            None => {
                repo.id = self.next_id();
                if repo.seed_default_labels {
                    for (name, color, description) in DEFAULT_LABELS {
                        let id = self.next_id();
                        repo.labels.push(Label {
                            id,
                            default: true,
                            ..Label::new(name).color(color).description(description)
                        });
                    }
                }
                self.repos.insert(key, repo);
            }
        }
    }

    /// The id of team `slug` of `org`, created on first use.
    pub(super) fn team(&mut self, org: &str, slug: &str) -> u64 {
        let key = format!("{}/{}", org.to_ascii_lowercase(), slug.to_ascii_lowercase());
        if let Some(id) = self.teams.get(&key) {
            return *id;
        }
        let id = self.next_id();
        self.teams.insert(key, id);
        id
    }

    pub(super) fn add_release(&mut self, full_name: &str, new: NewRelease) -> u64 {
        if self.repo(full_name).is_none() {
            self.upsert_repo(Repo::new(full_name));
        }
        self.user(&new.author);
        let id = self.next_id();
        let created_at = new
            .created_at
            .unwrap_or_else(|| epoch() + TimeDelta::hours(i64::from(self.releases_added)));
        self.releases_added += 1;
        let published_at = match (new.draft, new.published_at) {
            (true, _) => None,
            (false, Some(at)) => Some(at),
            (false, None) => Some(created_at),
        };
        let repo = self.repo_mut(full_name).expect("repository just ensured");
        repo.releases.push(Release {
            id,
            tag_name: new.tag_name,
            name: new.name,
            body: new.body,
            draft: new.draft,
            prerelease: new.prerelease,
            created_at,
            published_at,
            html_url: new.html_url,
            author: new.author,
            target_commitish: None,
        });
        id
    }

    /// The account with this login, created on first use.
    pub fn user(&mut self, login: &str) -> User {
        if let Some(user) = self.users.get(login) {
            return user.clone();
        }
        let user = User {
            id: self.next_id(),
            login: login.to_owned(),
            kind: if login.ends_with("[bot]") {
                "Bot"
            } else {
                "User"
            },
        };
        self.users.insert(login.to_owned(), user.clone());
        user
    }

    /// The caller's primary bucket as of `now` (unix seconds): created full
    /// on first use, refilled once its hour is over.
    pub(super) fn bucket(&mut self, who: CallerKey, now: u64) -> &mut Bucket {
        let limit = if who.authorized() { 5000 } else { 60 };
        let bucket = self.buckets.entry(who).or_insert(Bucket {
            limit,
            remaining: limit,
            reset: now + 3600,
        });
        if now >= bucket.reset {
            *bucket = Bucket {
                limit,
                remaining: limit,
                reset: now + 3600,
            };
        }
        bucket
    }
}

pub(super) fn split_full_name(full_name: &str) -> (&str, &str) {
    match full_name.split_once('/') {
        Some((owner, name)) if !owner.is_empty() && !name.is_empty() && !name.contains('/') => {
            (owner, name)
        }
        _ => panic!("repository names are owner/name, got {full_name:?}"),
    }
}

fn epoch() -> DateTime<Utc> {
    parse_time("2024-01-01T00:00:00Z")
}

fn parse_time(at: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(at)
        .unwrap_or_else(|e| panic!("not an RFC 3339 time {at:?}: {e}"))
        .with_timezone(&Utc)
}
