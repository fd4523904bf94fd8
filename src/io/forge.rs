//! The forge: every GitHub HTTP request upkeep makes goes through here, on
//! octocrab, with one retry helper for rate limits, secondary limits, 5xx
//! answers and timeouts. Octocrab brings its own hyper client, so it stays
//! the transport; the retry policy, backoff, `Retry-After` parsing and the
//! plain-http rule are the shared ones of [`crate::io::http`]. What is
//! GitHub's stays here: primary and secondary rate limits
//! (`x-ratelimit-*`), write pacing, the API's shapes.
//!
//! Every attempt of every request (retries, Git Data API writes, app
//! tokens) runs under a total deadline (`UPKEEP_GITHUB_TIMEOUT`, default
//! 30 s): connect, headers and the whole body, so a server that drips its
//! answer is cut off and reported like any other transport failure.
//!
//! Limits are kept per [`Scope`] (the token, or one installation in App
//! mode): the last `x-ratelimit-*` budget, and a pause on writes after a
//! secondary rate limit whose `retry-after` is longer than upkeep waits
//! (reads go on; writes fail at once with the time they resume).
//!
//! Domain types leave this module (`Release`, `RepoName`, `RepoInfo`,
//! `RateLimit`); octocrab and http types do not. The token never appears in
//! a log line, an error or a URL. Knows nothing of the state store: callers
//! pass ETags in and get them back, or hand the forge a [`Memory`] (ETags
//! and bodies of list and repository reads, write pauses) to keep.
//!
//! Two ways to authenticate: a token (`UPKEEP_GITHUB_TOKEN`, job and CLI
//! mode) or a GitHub App (`UPKEEP_GITHUB_APP_ID` and
//! `UPKEEP_GITHUB_APP_PRIVATE_KEY`; see [`app`]), where each request carries
//! the installation token of the repository's owner.

mod app;
pub mod checks;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use octocrab::Octocrab;

use crate::domain::release::Release;
use crate::domain::repo::RepoName;
use crate::io::http as net;

/// How the forge retries: the shared policy, whose default is the forge's
/// (4 attempts, 250 ms first backoff, at most 60 s waited for a secondary
/// limit or a budget reset before giving up with a clear error).
pub use crate::io::http::RetryPolicy;

pub use app::{AppCredentials, Installation, REFRESH_MARGIN};

/// Where GitHub's REST API lives unless `UPKEEP_GITHUB_API_URL` says otherwise.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// What `GET /repos/{owner}/{repo}` tells us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoInfo {
    pub default_branch: String,
    pub clone_url: String,
}

/// A pull request, as upkeep needs it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct PullRequest {
    pub number: u64,
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    /// `open` or `closed`.
    pub state: String,
    #[serde(default)]
    pub merged_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    pub html_url: String,
    pub head: PullRef,
    pub base: PullRef,
    #[serde(default)]
    pub labels: Vec<PullLabel>,
}

impl PullRequest {
    pub fn is_open(&self) -> bool {
        self.state == "open"
    }
    pub fn is_merged(&self) -> bool {
        self.merged_at.is_some()
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct PullRef {
    #[serde(rename = "ref")]
    pub branch: String,
    pub sha: String,
    /// The repository the branch lives in (`None` when a fork was deleted).
    #[serde(default)]
    pub repo: Option<HeadRepo>,
}

/// The repository of a pull request's head.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct HeadRepo {
    pub full_name: String,
}

impl PullRequest {
    /// Whether its head branch could be upkeep's in `repo`: in `repo`
    /// itself (not a fork) and under the same prefix as `ours` (the part
    /// up to the first `/`, `upkeep/` by default). Someone else's pull
    /// request that copied a fingerprint into its body is never taken for
    /// one of upkeep's.
    pub fn head_like(&self, repo: &RepoName, ours: &str) -> bool {
        let prefix = ours.split_once('/').map_or("", |(p, _)| p);
        self.head
            .repo
            .as_ref()
            .is_some_and(|r| r.full_name.eq_ignore_ascii_case(&repo.to_string()))
            && self
                .head
                .branch
                .split_once('/')
                .is_some_and(|(p, _)| p == prefix)
    }
}

/// An issue, as upkeep needs it (the dashboard).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    pub html_url: String,
    /// Present when the issue is a pull request.
    #[serde(default)]
    pub pull_request: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct PullLabel {
    pub name: String,
}

/// What a new pull request says.
#[derive(Clone, Copy, Debug)]
pub struct NewPull<'a> {
    pub title: &'a str,
    pub head: &'a str,
    pub base: &'a str,
    pub body: &'a str,
}

/// The last rate-limit budget GitHub reported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    pub reset: Option<DateTime<Utc>>,
}

/// Whose budget a request spends and whose writes a secondary limit pauses:
/// the token (token mode or anonymous), the app itself (its JWT), or one
/// installation (App mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    Token,
    App,
    Installation(u64),
}

impl Scope {
    /// A stable key for the state store (`token`, `app`,
    /// `installation/42`).
    pub fn key(&self) -> String {
        match self {
            Scope::Token => "token".into(),
            Scope::App => "app".into(),
            Scope::Installation(id) => format!("installation/{id}"),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Token => f.write_str("the token"),
            Scope::App => f.write_str("the app"),
            Scope::Installation(id) => write!(f, "installation {id}"),
        }
    }
}

/// A read kept for a conditional request: its `ETag`, its body and its
/// `Link` header (a 304 carries neither).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedReply {
    pub etag: String,
    pub body: String,
    pub link: Option<String>,
}

/// What the forge remembers between runs, kept by its caller (the state
/// store): replies to revalidate with `If-None-Match` (a 304 costs no rate
/// limit with credentials) and write pauses per [`Scope::key`]. Failures
/// to remember are the keeper's to log; the forge goes on without.
pub trait Memory: Send + Sync {
    fn reply(&self, url: &str) -> Option<CachedReply>;
    fn save_reply(&self, url: &str, reply: &CachedReply);
    fn writes_paused(&self, scope: &str) -> Option<DateTime<Utc>>;
    fn pause_writes(&self, scope: &str, until: DateTime<Utc>);
}

/// The default deadline of one attempt of one request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Releases of one upstream, or "unchanged since that ETag".
#[derive(Clone, Debug)]
pub enum Releases {
    NotModified,
    Fresh {
        etag: Option<String>,
        releases: Vec<Release>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    #[error("invalid GitHub API URL `{0}`")]
    InvalidUrl(String),
    #[error("GitHub API URL: {0}")]
    Insecure(net::TransportError),
    #[error("{0}: not found on GitHub (or not visible to this token)")]
    NotFound(String),
    #[error("GitHub rejected the credentials (401): check UPKEEP_GITHUB_TOKEN")]
    Unauthorized,
    #[error(
        "GitHub API rate limit exhausted ({limit} requests/hour{anon}); it resets at {reset}{hint}",
        anon = if *.anonymous { " for anonymous requests" } else { "" },
        hint = if *.anonymous { "; set UPKEEP_GITHUB_TOKEN for 5,000/hour" } else { "" }
    )]
    RateLimited {
        limit: u64,
        reset: String,
        anonymous: bool,
    },
    #[error("GitHub App authentication: {0}")]
    AppAuth(String),
    #[error(
        "GitHub secondary rate limit for {what}: asked to wait {secs} s, longer than upkeep waits; writes for {scope} resume at {until}"
    )]
    SecondaryLimit {
        what: String,
        secs: u64,
        scope: String,
        until: String,
    },
    #[error(
        "not sent ({what}): writes for {scope} are paused after a GitHub secondary rate limit; they resume at {until}"
    )]
    WritesPaused {
        what: String,
        scope: String,
        until: String,
    },
    #[error(
        "GitHub did not answer {what} within {secs}s ({host}); raise UPKEEP_GITHUB_TIMEOUT if it is slow"
    )]
    Timeout {
        what: String,
        host: String,
        secs: f64,
    },
    #[error("{0}")]
    Setting(String),
    #[error(
        "GitHub refused {what} (403: {message}): the token lacks a permission; a fine-grained token needs Contents, Pull requests and Issues read and write on the repository (README: \"From zero to pull requests\"), an App the permissions of deploy/github-app.yml"
    )]
    Forbidden { what: String, message: String },
    #[error("GitHub answered {status} for {what}: {message}")]
    Status {
        status: u16,
        what: String,
        message: String,
    },
    #[error("cannot reach GitHub for {what}: {message}")]
    Network { what: String, message: String },
    #[error("unexpected answer from GitHub for {what}: {message}")]
    Decode { what: String, message: String },
}

/// A PATCH body with the fields that are set (GitHub leaves the others).
fn patch(fields: &[(&str, Option<&str>)]) -> serde_json::Value {
    fields
        .iter()
        .filter_map(|(k, v)| v.map(|v| ((*k).to_string(), serde_json::Value::from(v))))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// One line for a GitHub-wide failure: the cause (DNS, refused, proxy,
/// TLS, timeout, credentials, rate limit) and what to check; `None` for an
/// answer about one repository. Names the host, never the token.
fn cause_line(e: &ForgeError, host: &str) -> Option<String> {
    let proxies: Vec<&str> = [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
    ]
    .into_iter()
    .filter(|v| std::env::var_os(v).is_some_and(|x| !x.is_empty()))
    .collect();
    let proxy_note = if proxies.is_empty() {
        String::new()
    } else {
        format!(
            "; {} is set, but upkeep connects to GitHub directly (it does not use proxy variables)",
            proxies.join(", ")
        )
    };
    Some(match e {
        ForgeError::Network { message, .. } => {
            let lower = message.to_ascii_lowercase();
            if lower.contains("dns error")
                || lower.contains("lookup address")
                || lower.contains("name or service not known")
            {
                format!(
                    "cannot resolve {host} (DNS): check the network and {}{proxy_note}",
                    crate::env::GITHUB_API_URL
                )
            } else if lower.contains("proxy") {
                format!(
                    "a proxy refused the connection to {host}: check the proxy variables (HTTPS_PROXY, NO_PROXY)"
                )
            } else if lower.contains("certificate")
                || lower.contains("tls")
                || lower.contains("ssl")
                || lower.contains("handshake")
            {
                format!(
                    "TLS with {host} failed: check the system's CA certificates and {} (https to the API's host)",
                    crate::env::GITHUB_API_URL
                )
            } else if lower.contains("connection refused") {
                format!(
                    "{host} refused the connection: check {} and the network{proxy_note}",
                    crate::env::GITHUB_API_URL
                )
            } else {
                format!(
                    "GitHub at {host} is unreachable: check the network and {}{proxy_note}",
                    crate::env::GITHUB_API_URL
                )
            }
        }
        ForgeError::Timeout { secs, .. } => format!(
            "GitHub at {host} did not answer within {secs}s: check the network, or raise UPKEEP_GITHUB_TIMEOUT{proxy_note}"
        ),
        ForgeError::Unauthorized => format!(
            "GitHub at {host} rejected the credentials (401): check UPKEEP_GITHUB_TOKEN (expired, revoked, or made for another host) or the App's id and key"
        ),
        ForgeError::RateLimited { .. } | ForgeError::AppAuth(_) => e.to_string(),
        _ => return None,
    })
}

/// A commit made through the Git Data API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiCommit {
    pub sha: String,
    /// Its tree: git's tree id for the same content.
    pub tree: String,
    /// GitHub shows it as verified (signed by GitHub).
    pub verified: bool,
}

/// Counters for the run report and metrics.
#[derive(Debug, Default)]
pub struct ForgeStats {
    pub requests: AtomicU64,
    /// Content-creating requests (POST, PATCH, PUT, DELETE).
    pub writes: AtomicU64,
    pub not_modified: AtomicU64,
    pub retries: AtomicU64,
    /// Answers by HTTP status (network errors are not counted).
    pub by_status: Mutex<BTreeMap<u16, u64>>,
    /// Installation access tokens fetched (App mode).
    pub tokens_issued: AtomicU64,
    /// Why requests failed for good, one line per cause with what to
    /// check, and how many requests each ended (see [`ForgeError::cause`]).
    pub causes: Mutex<BTreeMap<String, u64>>,
}

/// The GitHub client.
pub struct Forge {
    client: Octocrab,
    /// `host[:port]` of the API, for errors.
    host: String,
    anonymous: bool,
    retry: RetryPolicy,
    /// The total deadline of one attempt.
    timeout: Duration,
    rate: Mutex<RateLimit>,
    /// The last budget per scope.
    rates: Mutex<BTreeMap<Scope, RateLimit>>,
    /// Write pauses after secondary limits, per scope.
    paused: Mutex<HashMap<Scope, DateTime<Utc>>>,
    memory: Option<Arc<dyn Memory>>,
    clock: fn() -> DateTime<Utc>,
    pacer: Pacer,
    pub stats: ForgeStats,
    /// App mode: credentials and token caches.
    app: Option<app::AppAuth>,
    /// Who upkeep writes as, once asked ([`Forge::login`]).
    login: Mutex<Option<String>>,
}

/// Paces content-creating requests: GitHub allows about 80 a minute. A
/// token bucket: bursts of up to 20, then one every 750 ms.
struct Pacer {
    state: tokio::sync::Mutex<(f64, tokio::time::Instant)>,
}

impl Pacer {
    const BURST: f64 = 20.0;
    const PER_SECOND: f64 = 80.0 / 60.0;

    fn new() -> Self {
        Pacer {
            state: tokio::sync::Mutex::new((Self::BURST, tokio::time::Instant::now())),
        }
    }

    async fn wait(&self) {
        let mut state = self.state.lock().await;
        let (tokens, last) = &mut *state;
        let now = tokio::time::Instant::now();
        *tokens =
            (*tokens + now.duration_since(*last).as_secs_f64() * Self::PER_SECOND).min(Self::BURST);
        *last = now;
        if *tokens < 1.0 {
            let wait = Duration::from_secs_f64((1.0 - *tokens) / Self::PER_SECOND);
            tokio::time::sleep(wait).await;
            *tokens = 1.0;
            *last = tokio::time::Instant::now();
        }
        *tokens -= 1.0;
    }
}

impl fmt::Debug for Forge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Forge")
            .field("anonymous", &self.anonymous)
            .field("app", &self.app.as_ref().map(|a| a.credentials.app_id()))
            .finish_non_exhaustive()
    }
}

/// The credentials of a request and the scope they spend.
struct Auth {
    header: Option<String>,
    scope: Scope,
}

/// A response with its body read.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Forge {
    /// A client for `api_url`, authenticated with `token` when given.
    pub fn new(
        api_url: &str,
        token: Option<&str>,
        retry: RetryPolicy,
    ) -> Result<Forge, ForgeError> {
        let api_url = api_url.trim_end_matches('/');
        if token.is_some_and(|t| !t.is_empty()) {
            refuse_plain_http(api_url)?;
        }
        let mut builder = Octocrab::builder()
            .base_uri(api_url)
            .map_err(|_| ForgeError::InvalidUrl(api_url.to_string()))?
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(DEFAULT_TIMEOUT));
        if let Some(t) = token.filter(|t| !t.is_empty()) {
            builder = builder.personal_token(t.to_string());
        }
        let client = builder
            .build()
            .map_err(|_| ForgeError::InvalidUrl(api_url.to_string()))?;
        let host = url::Url::parse(api_url)
            .ok()
            .and_then(|u| net::authority(&u))
            .unwrap_or_else(|| "GitHub".into());
        Ok(Forge {
            client,
            host,
            anonymous: token.is_none_or(str::is_empty),
            retry,
            timeout: DEFAULT_TIMEOUT,
            rate: Mutex::new(RateLimit::default()),
            rates: Mutex::default(),
            paused: Mutex::default(),
            memory: None,
            clock: Utc::now,
            pacer: Pacer::new(),
            stats: ForgeStats::default(),
            app: None,
            login: Mutex::default(),
        })
    }

    /// A client for `api_url` authenticated as a GitHub App: `/app/…`
    /// requests carry the app's JWT, every other request the installation
    /// token of the repository's owner.
    pub fn with_app(
        api_url: &str,
        credentials: AppCredentials,
        retry: RetryPolicy,
    ) -> Result<Forge, ForgeError> {
        refuse_plain_http(api_url.trim_end_matches('/'))?;
        let mut forge = Forge::new(api_url, None, retry)?;
        forge.anonymous = false;
        forge.app = Some(app::AppAuth::new(credentials));
        Ok(forge)
    }

    /// A client configured from `UPKEEP_GITHUB_API_URL` and either
    /// `UPKEEP_GITHUB_APP_ID` + `UPKEEP_GITHUB_APP_PRIVATE_KEY` (App mode,
    /// when both are set) or `UPKEEP_GITHUB_TOKEN` (or `GITHUB_TOKEN`), with
    /// the deadline of `UPKEEP_GITHUB_TIMEOUT`.
    pub fn from_env(env: &HashMap<String, String>) -> Result<Forge, ForgeError> {
        let url = env
            .get(crate::env::GITHUB_API_URL)
            .map_or(DEFAULT_API_URL, String::as_str);
        let timeout = timeout_from(env.get(crate::env::GITHUB_TIMEOUT).map(String::as_str))?;
        let non_empty = |k: &str| env.get(k).filter(|v| !v.trim().is_empty());
        let mut forge = if let (Some(id), Some(key)) = (
            non_empty(crate::env::GITHUB_APP_ID),
            non_empty(crate::env::GITHUB_APP_PRIVATE_KEY),
        ) {
            Forge::with_app(url, AppCredentials::new(id, key)?, RetryPolicy::default())?
        } else {
            let token = env
                .get(crate::env::GITHUB_TOKEN)
                .or_else(|| env.get(crate::env::GITHUB_TOKEN_FALLBACK))
                .map(String::as_str);
            Forge::new(url, token, RetryPolicy::default())?
        };
        forge.set_timeout(timeout);
        Ok(forge)
    }

    /// The total deadline of each attempt of each request.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout.max(Duration::from_millis(1));
    }

    /// Keeps conditional-request replies and write pauses in `memory`
    /// across runs.
    pub fn set_memory(&mut self, memory: Arc<dyn Memory>) {
        self.memory = Some(memory);
    }

    /// The clock write pauses are measured by (`UPKEEP_NOW` in the app).
    pub fn set_clock(&mut self, clock: fn() -> DateTime<Utc>) {
        self.clock = clock;
    }

    pub fn is_anonymous(&self) -> bool {
        self.anonymous
    }

    /// Authenticated as a GitHub App.
    pub fn is_app(&self) -> bool {
        self.app.is_some()
    }

    /// App mode: every installation of the app (`GET /app/installations`,
    /// with the app's JWT). Also remembers which installation serves which
    /// owner.
    pub async fn installations(&self) -> Result<Vec<Installation>, ForgeError> {
        #[derive(serde::Deserialize)]
        struct Account {
            login: String,
        }
        #[derive(serde::Deserialize)]
        struct Raw {
            id: u64,
            account: Option<Account>,
        }
        let app = self.app_auth()?;
        let what = "installations of the app";
        let mut url = "/app/installations?per_page=100".to_string();
        let mut out = Vec::new();
        for _ in 0..50 {
            let auth = Auth {
                header: Some(app.jwt_header()?),
                scope: Scope::App,
            };
            let reply = self
                .send_with(Method::GET, &url, None, None, what, &auth)
                .await?;
            for raw in decode::<Vec<Raw>>(&reply.body, what)? {
                let account = raw.account.map(|a| a.login).unwrap_or_default();
                app.remember(&account, Some(raw.id));
                out.push(Installation {
                    id: raw.id,
                    account,
                });
            }
            match next_link(&reply.headers) {
                Some(next) => url = next,
                None => break,
            }
        }
        Ok(out)
    }

    /// App mode: the repositories installation `id` may access
    /// (`GET /installation/repositories`, with its token).
    pub async fn installation_repositories(&self, id: u64) -> Result<Vec<RepoName>, ForgeError> {
        #[derive(serde::Deserialize)]
        struct Repo {
            full_name: String,
        }
        #[derive(serde::Deserialize)]
        struct Page {
            repositories: Vec<Repo>,
        }
        let what = format!("repositories of installation {id}");
        let mut url = "/installation/repositories?per_page=100".to_string();
        let mut out = Vec::new();
        for _ in 0..50 {
            let auth = Auth {
                header: Some(format!("Bearer {}", self.installation_token(id).await?)),
                scope: Scope::Installation(id),
            };
            let reply = self
                .send_with(Method::GET, &url, None, None, &what, &auth)
                .await?;
            let page: Page = decode(&reply.body, &what)?;
            out.extend(
                page.repositories
                    .iter()
                    .filter_map(|r| r.full_name.parse().ok()),
            );
            match next_link(&reply.headers) {
                Some(next) => url = next,
                None => break,
            }
        }
        Ok(out)
    }

    /// App mode: remembers that installation `id` serves `owner` (from a
    /// webhook), sparing a lookup.
    pub fn remember_installation(&self, owner: &str, id: u64) {
        if let Some(app) = &self.app {
            app.remember(owner, Some(id));
        }
    }

    /// App mode: a valid access token of installation `id`, from the cache
    /// while it has more than [`REFRESH_MARGIN`] left, else a new one
    /// (`POST /app/installations/{id}/access_tokens`). A secret: the caller
    /// must not log it.
    pub async fn installation_token(&self, id: u64) -> Result<String, ForgeError> {
        #[derive(serde::Deserialize)]
        struct Token {
            token: String,
            expires_at: DateTime<Utc>,
        }
        let app = self.app_auth()?;
        let mut tokens = app.tokens.lock().await;
        if let Some(t) = tokens.get(&id)
            && app::fresh(t, Utc::now())
        {
            return Ok(t.token.clone());
        }
        let what = format!("an access token of installation {id}");
        let jwt = Auth {
            header: Some(app.jwt_header()?),
            scope: Scope::App,
        };
        let reply = self
            .send_with(
                Method::POST,
                &format!("/app/installations/{id}/access_tokens"),
                None,
                None,
                &what,
                &jwt,
            )
            .await?;
        let t: Token = decode(&reply.body, &what)?;
        self.stats.tokens_issued.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(installation = id, expires_at = %t.expires_at, "installation token issued");
        tokens.insert(
            id,
            app::CachedToken {
                token: t.token.clone(),
                expires_at: t.expires_at,
            },
        );
        Ok(t.token)
    }

    /// The git password for pushing to `repo`: in App mode the installation
    /// token of its owner; `None` in token mode (the caller has its token).
    pub async fn git_token(&self, repo: &RepoName) -> Result<Option<String>, ForgeError> {
        if self.app.is_none() {
            return Ok(None);
        }
        match self.installation_for(&repo.owner, &repo.name).await? {
            Some(id) => self.installation_token(id).await.map(Some),
            None => Err(ForgeError::AppAuth(format!(
                "the app is not installed on {repo}"
            ))),
        }
    }

    fn app_auth(&self) -> Result<&app::AppAuth, ForgeError> {
        self.app
            .as_ref()
            .ok_or_else(|| ForgeError::AppAuth("not configured (token mode)".into()))
    }

    /// App mode: the installation serving `owner`, asked once per owner
    /// (`GET /repos/{owner}/{repo}/installation`).
    async fn installation_for(&self, owner: &str, repo: &str) -> Result<Option<u64>, ForgeError> {
        #[derive(serde::Deserialize)]
        struct Raw {
            id: u64,
        }
        let app = self.app_auth()?;
        if let Some(known) = app.owner(owner) {
            return Ok(known);
        }
        let what = format!("the app's installation on {owner}/{repo}");
        let jwt = Auth {
            header: Some(app.jwt_header()?),
            scope: Scope::App,
        };
        let found = match self
            .send_with(
                Method::GET,
                &format!("/repos/{owner}/{repo}/installation"),
                None,
                None,
                &what,
                &jwt,
            )
            .await
        {
            Ok(reply) => Some(decode::<Raw>(&reply.body, &what)?.id),
            Err(ForgeError::NotFound(_)) => None,
            Err(e) => return Err(e),
        };
        app.remember(owner, found);
        Ok(found)
    }

    /// The `Authorization` header a request to `url` needs: `None` in token
    /// mode (octocrab adds the token) and anonymously; in App mode the
    /// installation token of the URL's owner, or of any installation for a
    /// repository the app is not installed on.
    async fn authorization(&self, url: &str) -> Result<Auth, ForgeError> {
        let Some(app) = &self.app else {
            return Ok(Auth {
                header: None,
                scope: Scope::Token,
            });
        };
        let installation = match app::owner_of(url) {
            Some((owner, repo)) => self.installation_for(owner, repo).await?,
            None => None,
        };
        let installation = match installation.or_else(|| app.any()) {
            Some(id) => Some(id),
            None => self.installations().await?.iter().map(|i| i.id).min(),
        };
        match installation {
            Some(id) => Ok(Auth {
                header: Some(format!("Bearer {}", self.installation_token(id).await?)),
                scope: Scope::Installation(id),
            }),
            None => Ok(Auth {
                header: None,
                scope: Scope::App,
            }),
        }
    }

    /// The budget GitHub reported last.
    pub fn rate_limit(&self) -> RateLimit {
        *self.rate.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The budget GitHub reported last, per scope.
    pub fn rate_limits(&self) -> BTreeMap<Scope, RateLimit> {
        self.rates.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The scope requests about `repo` spend (App mode: its installation,
    /// asked once per owner).
    pub async fn scope_of(&self, repo: &RepoName) -> Result<Scope, ForgeError> {
        match &self.app {
            None => Ok(Scope::Token),
            Some(_) => Ok(self
                .installation_for(&repo.owner, &repo.name)
                .await?
                .map_or(Scope::App, Scope::Installation)),
        }
    }

    /// Until when writes about `repo` are paused after a secondary rate
    /// limit (this run's, or one the [`Memory`] kept), if they are.
    pub async fn writes_paused(
        &self,
        repo: &RepoName,
    ) -> Result<Option<DateTime<Utc>>, ForgeError> {
        Ok(self.paused_until(self.scope_of(repo).await?))
    }

    /// Until when writes of `scope` are paused, if they are now.
    pub fn paused_until(&self, scope: Scope) -> Option<DateTime<Utc>> {
        let now = (self.clock)();
        let mut paused = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(until) = paused.get(&scope).copied() {
            return (until > now).then_some(until);
        }
        let kept = self
            .memory
            .as_ref()
            .and_then(|m| m.writes_paused(&scope.key()));
        // Remembered for the run, so the store is read once per scope.
        let until = kept.unwrap_or(now);
        paused.insert(scope, until);
        (until > now).then_some(until)
    }

    /// Pauses writes of `scope` until `until`, here and in the [`Memory`].
    fn pause_writes(&self, scope: Scope, until: DateTime<Utc>) {
        let mut paused = self.paused.lock().unwrap_or_else(|e| e.into_inner());
        let entry = paused.entry(scope).or_insert(until);
        *entry = (*entry).max(until);
        if let Some(m) = &self.memory {
            m.pause_writes(&scope.key(), *entry);
        }
    }

    /// `GET /repos/{owner}/{repo}`.
    pub async fn repository(&self, repo: &RepoName) -> Result<RepoInfo, ForgeError> {
        #[derive(serde::Deserialize)]
        struct Repo {
            default_branch: String,
            clone_url: String,
        }
        let what = repo.to_string();
        let url = format!("/repos/{repo}");
        let auth = self.authorization(&url).await?;
        let reply = self.get_cached(&url, &what, &auth).await?;
        let r: Repo = decode(&reply.body, &what)?;
        Ok(RepoInfo {
            default_branch: r.default_branch,
            clone_url: r.clone_url,
        })
    }

    /// The newest releases of `repo` (drafts included when the token sees
    /// them), up to `max_pages` pages of 100. With `etag` from the last call,
    /// an unchanged first page answers [`Releases::NotModified`], which costs
    /// no rate limit.
    pub async fn releases(
        &self,
        repo: &RepoName,
        etag: Option<&str>,
        max_pages: usize,
    ) -> Result<Releases, ForgeError> {
        let what = format!("releases of {repo}");
        let mut url = format!("/repos/{repo}/releases?per_page=100");
        let mut releases = Vec::new();
        let mut first_etag = None;
        let auth = self.authorization(&url).await?;
        for page in 0..max_pages.max(1) {
            let conditional = if page == 0 { etag } else { None };
            let reply = self
                .send_with(Method::GET, &url, conditional, None, &what, &auth)
                .await?;
            if reply.status == StatusCode::NOT_MODIFIED {
                return Ok(Releases::NotModified);
            }
            if page == 0 {
                first_etag = reply
                    .headers
                    .get(header::ETAG)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
            }
            let batch: Vec<Release> = decode(&reply.body, &what)?;
            releases.extend(batch);
            match next_link(&reply.headers) {
                Some(next) => url = next,
                None => break,
            }
        }
        Ok(Releases::Fresh {
            etag: first_etag,
            releases,
        })
    }

    /// `GET /repos/{owner}/{repo}/contents/{path}` on the default branch:
    /// one file as UTF-8 text, revalidated through the [`Memory`] (an
    /// unchanged file answers 304 and costs no rate limit). Files over 1 MB
    /// (no inline content), directories and binary files are errors.
    pub async fn contents(&self, repo: &RepoName, path: &str) -> Result<String, ForgeError> {
        let (url, what) = contents_url(repo, path);
        let auth = self.authorization(&url).await?;
        let reply = self.get_cached(&url, &what, &auth).await?;
        file_text(&reply.body, &what)
    }

    /// The copy of a file [`Forge::contents`] last read, as the [`Memory`]
    /// kept it, without asking GitHub: what to go on with when GitHub
    /// cannot be reached.
    pub fn kept_contents(&self, repo: &RepoName, path: &str) -> Option<String> {
        let (url, what) = contents_url(repo, path);
        let kept = self.memory.as_ref()?.reply(&url)?;
        file_text(&kept.body, &what).ok()
    }

    /// Every pull request whose head is `branch` of `repo` itself, in any
    /// state, newest first.
    pub async fn pulls_by_head(
        &self,
        repo: &RepoName,
        branch: &str,
    ) -> Result<Vec<PullRequest>, ForgeError> {
        let what = format!("pull requests of {repo} from {branch}");
        let head = format!("{}:{branch}", repo.owner);
        let url = format!(
            "/repos/{repo}/pulls?state=all&per_page=100&head={}",
            encode(&head)
        );
        self.collect(&url, &what).await
    }

    /// The newest pull requests of `repo` in any state (up to `pages` pages
    /// of 100, newest first): what the rollout reads merges and closings
    /// from.
    pub async fn recent_pulls(
        &self,
        repo: &RepoName,
        pages: usize,
    ) -> Result<Vec<PullRequest>, ForgeError> {
        let what = format!("pull requests of {repo}");
        let first =
            format!("/repos/{repo}/pulls?state=all&sort=created&direction=desc&per_page=100");
        self.collect_pages(&first, &what, pages.max(1)).await
    }

    /// The open pull requests of `repo`.
    pub async fn open_pulls(&self, repo: &RepoName) -> Result<Vec<PullRequest>, ForgeError> {
        let what = format!("open pull requests of {repo}");
        self.collect(
            &format!("/repos/{repo}/pulls?state=open&per_page=100"),
            &what,
        )
        .await
    }

    /// All pages of a list (at most 50).
    async fn collect<T: serde::de::DeserializeOwned>(
        &self,
        first: &str,
        what: &str,
    ) -> Result<Vec<T>, ForgeError> {
        self.collect_pages(first, what, 50).await
    }

    /// The first `pages` pages of a list.
    async fn collect_pages<T: serde::de::DeserializeOwned>(
        &self,
        first: &str,
        what: &str,
        pages: usize,
    ) -> Result<Vec<T>, ForgeError> {
        let mut url = first.to_string();
        let mut out = Vec::new();
        let auth = self.authorization(first).await?;
        for _ in 0..pages {
            let reply = self.get_cached(&url, what, &auth).await?;
            out.extend(decode::<Vec<T>>(&reply.body, what)?);
            match next_link(&reply.headers) {
                Some(next) => url = next,
                None => break,
            }
        }
        Ok(out)
    }

    /// Opens a pull request.
    pub async fn create_pull(
        &self,
        repo: &RepoName,
        new: &NewPull<'_>,
    ) -> Result<PullRequest, ForgeError> {
        let what = format!("new pull request on {repo}");
        let body = serde_json::json!({
            "title": new.title, "head": new.head, "base": new.base, "body": new.body,
            "maintainer_can_modify": true,
        });
        let reply = self
            .write(
                Method::POST,
                &format!("/repos/{repo}/pulls"),
                Some(&body),
                &what,
            )
            .await?;
        decode(&reply.body, &what)
    }

    /// Changes a pull request's title, body or state (`open`, `closed`).
    pub async fn update_pull(
        &self,
        repo: &RepoName,
        number: u64,
        title: Option<&str>,
        body: Option<&str>,
        state: Option<&str>,
    ) -> Result<PullRequest, ForgeError> {
        let what = format!("pull request {repo}#{number}");
        let patch = patch(&[("title", title), ("body", body), ("state", state)]);
        let reply = self
            .write(
                Method::PATCH,
                &format!("/repos/{repo}/pulls/{number}"),
                Some(&patch),
                &what,
            )
            .await?;
        decode(&reply.body, &what)
    }

    /// The names of the labels defined on `repo`.
    pub async fn label_names(&self, repo: &RepoName) -> Result<Vec<String>, ForgeError> {
        #[derive(serde::Deserialize)]
        struct Label {
            name: String,
        }
        let what = format!("labels of {repo}");
        let labels: Vec<Label> = self
            .collect(&format!("/repos/{repo}/labels?per_page=100"), &what)
            .await?;
        Ok(labels.into_iter().map(|l| l.name).collect())
    }

    /// Defines a label; one that already exists is fine.
    pub async fn create_label(
        &self,
        repo: &RepoName,
        name: &str,
        color: &str,
        description: &str,
    ) -> Result<(), ForgeError> {
        let what = format!("label `{name}` on {repo}");
        let body = serde_json::json!({"name": name, "color": color, "description": description});
        match self
            .write(
                Method::POST,
                &format!("/repos/{repo}/labels"),
                Some(&body),
                &what,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(ForgeError::Status {
                status: 422,
                message,
                ..
            }) if message.contains("already_exists") || message.contains("already exists") => {
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Adds labels to an issue or pull request.
    pub async fn add_labels(
        &self,
        repo: &RepoName,
        number: u64,
        labels: &[String],
    ) -> Result<(), ForgeError> {
        self.post(
            &format!("/repos/{repo}/issues/{number}/labels"),
            serde_json::json!({ "labels": labels }),
            format!("labels of {repo}#{number}"),
        )
        .await
    }

    /// Asks users for a review.
    pub async fn request_reviewers(
        &self,
        repo: &RepoName,
        number: u64,
        reviewers: &[String],
    ) -> Result<(), ForgeError> {
        // `org/team` is a team: GitHub takes its slug in `team_reviewers`.
        let (teams, users): (Vec<&String>, Vec<&String>) =
            reviewers.iter().partition(|r| r.contains('/'));
        let teams: Vec<&str> = teams
            .iter()
            .filter_map(|t| t.split_once('/').map(|(_, slug)| slug))
            .collect();
        self.post(
            &format!("/repos/{repo}/pulls/{number}/requested_reviewers"),
            serde_json::json!({ "reviewers": users, "team_reviewers": teams }),
            format!("reviewers of {repo}#{number}"),
        )
        .await
    }

    /// Assigns users.
    pub async fn add_assignees(
        &self,
        repo: &RepoName,
        number: u64,
        assignees: &[String],
    ) -> Result<(), ForgeError> {
        self.post(
            &format!("/repos/{repo}/issues/{number}/assignees"),
            serde_json::json!({ "assignees": assignees }),
            format!("assignees of {repo}#{number}"),
        )
        .await
    }

    /// Comments on an issue or pull request.
    pub async fn comment(
        &self,
        repo: &RepoName,
        number: u64,
        text: &str,
    ) -> Result<(), ForgeError> {
        self.post(
            &format!("/repos/{repo}/issues/{number}/comments"),
            serde_json::json!({ "body": text }),
            format!("comment on {repo}#{number}"),
        )
        .await
    }

    /// The login upkeep writes as: the token's user (`GET /user`), or in
    /// App mode the app's bot (`{slug}[bot]`, from `GET /app`). Asked once.
    pub async fn login(&self) -> Result<String, ForgeError> {
        if let Some(known) = self.login.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Ok(known);
        }
        let login = match &self.app {
            Some(app) => {
                #[derive(serde::Deserialize)]
                struct Raw {
                    slug: Option<String>,
                }
                let what = "the app";
                let auth = Auth {
                    header: Some(app.jwt_header()?),
                    scope: Scope::App,
                };
                let reply = self
                    .send_with(Method::GET, "/app", None, None, what, &auth)
                    .await?;
                let slug = decode::<Raw>(&reply.body, what)?
                    .slug
                    .filter(|s| !s.is_empty())
                    .ok_or_else(|| ForgeError::AppAuth("GET /app named no slug".into()))?;
                format!("{slug}[bot]")
            }
            None => {
                #[derive(serde::Deserialize)]
                struct Raw {
                    login: String,
                }
                let what = "the token's user";
                let auth = self.authorization("/user").await?;
                let reply = self.get_cached("/user", what, &auth).await?;
                decode::<Raw>(&reply.body, what)?.login
            }
        };
        *self.login.lock().unwrap_or_else(|e| e.into_inner()) = Some(login.clone());
        Ok(login)
    }

    /// The open issues of `repo` opened by `creator` (pull requests, which
    /// GitHub lists too, left out), newest first, up to 10 pages of 100.
    pub async fn open_issues_by(
        &self,
        repo: &RepoName,
        creator: &str,
    ) -> Result<Vec<Issue>, ForgeError> {
        let what = format!("open issues of {repo}");
        let first = format!(
            "/repos/{repo}/issues?state=open&creator={}&per_page=100",
            url::form_urlencoded::byte_serialize(creator.as_bytes()).collect::<String>()
        );
        let all: Vec<Issue> = self.collect_pages(&first, &what, 10).await?;
        Ok(all
            .into_iter()
            .filter(|i| i.pull_request.is_none())
            .collect())
    }

    /// Opens an issue.
    pub async fn create_issue(
        &self,
        repo: &RepoName,
        title: &str,
        body: &str,
    ) -> Result<Issue, ForgeError> {
        let what = format!("new issue on {repo}");
        let reply = self
            .write(
                Method::POST,
                &format!("/repos/{repo}/issues"),
                Some(&serde_json::json!({ "title": title, "body": body })),
                &what,
            )
            .await?;
        decode(&reply.body, &what)
    }

    /// Changes an issue's title or body.
    pub async fn update_issue(
        &self,
        repo: &RepoName,
        number: u64,
        title: Option<&str>,
        body: Option<&str>,
    ) -> Result<Issue, ForgeError> {
        let what = format!("issue {repo}#{number}");
        let patch = patch(&[("title", title), ("body", body)]);
        let reply = self
            .write(
                Method::PATCH,
                &format!("/repos/{repo}/issues/{number}"),
                Some(&patch),
                &what,
            )
            .await?;
        decode(&reply.body, &what)
    }

    /// A POST whose answer is not needed.
    async fn post(
        &self,
        url: &str,
        body: serde_json::Value,
        what: String,
    ) -> Result<(), ForgeError> {
        self.write(Method::POST, url, Some(&body), &what)
            .await
            .map(|_| ())
    }

    /// One GET with retries. Returns 2xx and 304 replies; everything else is
    /// an error after the retry policy is spent.
    async fn get(&self, url: &str, etag: Option<&str>, what: &str) -> Result<Reply, ForgeError> {
        self.send(Method::GET, url, etag, None, what).await
    }

    /// A GET revalidated with the [`Memory`]'s `ETag` when it has one: a
    /// 304 answers the kept body (and `Link`), without spending the rate
    /// limit; a 200 with an `ETag` is kept for next time.
    async fn get_cached(&self, url: &str, what: &str, auth: &Auth) -> Result<Reply, ForgeError> {
        let Some(memory) = &self.memory else {
            return self
                .send_with(Method::GET, url, None, None, what, auth)
                .await;
        };
        let kept = memory.reply(url);
        let reply = self
            .send_with(
                Method::GET,
                url,
                kept.as_ref().map(|k| k.etag.as_str()),
                None,
                what,
                auth,
            )
            .await?;
        if reply.status == StatusCode::NOT_MODIFIED {
            let Some(kept) = kept else {
                return Err(ForgeError::Decode {
                    what: what.to_string(),
                    message: "304 Not Modified to an unconditional request".into(),
                });
            };
            let mut headers = reply.headers;
            headers.remove(header::LINK);
            if let Some(link) = kept
                .link
                .as_deref()
                .and_then(|l| HeaderValue::from_str(l).ok())
            {
                headers.insert(header::LINK, link);
            }
            return Ok(Reply {
                status: StatusCode::OK,
                headers,
                body: kept.body,
            });
        }
        if let Some(etag) = reply
            .headers
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
        {
            memory.save_reply(
                url,
                &CachedReply {
                    etag: etag.to_string(),
                    body: reply.body.clone(),
                    link: reply
                        .headers
                        .get(header::LINK)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string),
                },
            );
        }
        Ok(reply)
    }

    /// A content-creating request (POST, PATCH, PUT, DELETE): refused at
    /// once while a secondary limit pauses writes of its scope, else paced
    /// and sent like any other.
    async fn write(
        &self,
        method: Method,
        url: &str,
        body: Option<&serde_json::Value>,
        what: &str,
    ) -> Result<Reply, ForgeError> {
        let auth = self.authorization(url).await?;
        if let Some(until) = self.paused_until(auth.scope) {
            return Err(ForgeError::WritesPaused {
                what: what.to_string(),
                scope: auth.scope.to_string(),
                until: clock_time(until),
            });
        }
        self.pacer.wait().await;
        self.stats.writes.fetch_add(1, Ordering::Relaxed);
        self.send_with(method, url, None, body, what, &auth).await
    }

    /// One request with the credentials `url` needs, and retries.
    async fn send(
        &self,
        method: Method,
        url: &str,
        etag: Option<&str>,
        body: Option<&serde_json::Value>,
        what: &str,
    ) -> Result<Reply, ForgeError> {
        let auth = self.authorization(url).await?;
        self.send_with(method, url, etag, body, what, &auth).await
    }

    /// One request with retries: rate limits, secondary limits, 5xx and
    /// network errors. Returns 2xx and 304 replies; everything else is an
    /// error once the retry policy is spent. `auth` is the `Authorization`
    /// header to send (App mode; `None` leaves it to octocrab) and the
    /// scope it spends. Each attempt has [`Forge::set_timeout`]'s deadline.
    async fn send_with(
        &self,
        method: Method,
        url: &str,
        etag: Option<&str>,
        body: Option<&serde_json::Value>,
        what: &str,
        auth: &Auth,
    ) -> Result<Reply, ForgeError> {
        let result = self.retrying(method, url, etag, body, what, auth).await;
        if let Err(e) = &result
            && let Some(line) = cause_line(e, &self.host)
        {
            *self
                .stats
                .causes
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(line)
                .or_default() += 1;
        }
        result
    }

    async fn retrying(
        &self,
        method: Method,
        url: &str,
        etag: Option<&str>,
        body: Option<&serde_json::Value>,
        what: &str,
        auth: &Auth,
    ) -> Result<Reply, ForgeError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut builder = http::Request::builder()
                .method(method.clone())
                .uri(url)
                .header(header::ACCEPT, "application/vnd.github+json")
                .header("x-github-api-version", "2022-11-28");
            if let Some(tag) = etag.and_then(|e| HeaderValue::from_str(e).ok()) {
                builder = builder.header(header::IF_NONE_MATCH, tag);
            }
            if let Some(mut value) = auth
                .header
                .as_deref()
                .and_then(|a| HeaderValue::from_str(a).ok())
            {
                value.set_sensitive(true);
                builder = builder.header(header::AUTHORIZATION, value);
            }
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let exchange = async {
                let request = self
                    .client
                    .build_request(builder, body)
                    .map_err(|e| network_message(&e))?;
                let response = self
                    .client
                    .execute(request)
                    .await
                    .map_err(|e| network_message(&e))?;
                let status = response.status();
                *self
                    .stats
                    .by_status
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .entry(status.as_u16())
                    .or_default() += 1;
                let headers = response.headers().clone();
                self.record_rate(&headers, auth.scope);
                let body = self
                    .client
                    .body_to_string(response)
                    .await
                    .map_err(|e| network_message(&e))?;
                Ok::<_, String>(Reply {
                    status,
                    headers,
                    body,
                })
            };
            let outcome = match tokio::time::timeout(self.timeout, exchange).await {
                Ok(outcome) => outcome.map_err(|m| (m, false)),
                Err(_) => Err((
                    format!(
                        "{} timed out after {}s",
                        self.host,
                        self.timeout.as_secs_f64()
                    ),
                    true,
                )),
            };
            let wait = match outcome {
                Ok(reply) if reply.status.is_success() => return Ok(reply),
                Ok(reply) if reply.status == StatusCode::NOT_MODIFIED => {
                    self.stats.not_modified.fetch_add(1, Ordering::Relaxed);
                    return Ok(reply);
                }
                Ok(reply) => self.after_failure(reply, attempt, what, auth.scope)?,
                Err((message, timed_out)) => match self.retry.next_wait(attempt, None) {
                    Some(wait) => {
                        tracing::info!(%what, attempt, %message, "GitHub request failed; retrying");
                        wait
                    }
                    None if timed_out => {
                        return Err(ForgeError::Timeout {
                            what: what.to_string(),
                            host: self.host.clone(),
                            secs: self.timeout.as_secs_f64(),
                        });
                    }
                    None => {
                        return Err(ForgeError::Network {
                            what: what.to_string(),
                            message,
                        });
                    }
                },
            };
            self.stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
        }
    }

    /// Decides what a non-2xx reply means: how long to wait before the next
    /// attempt, or the error to return.
    fn after_failure(
        &self,
        reply: Reply,
        attempt: u32,
        what: &str,
        scope: Scope,
    ) -> Result<Duration, ForgeError> {
        let status = reply.status;
        let header_u64 = |name: &str| {
            reply
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
        };
        let limited = status == StatusCode::FORBIDDEN || status == StatusCode::TOO_MANY_REQUESTS;
        if limited && let Some(asked) = net::retry_after(&reply.headers) {
            let secs = asked.as_secs();
            let Some(wait) = self.retry.next_wait(attempt, Some(asked)) else {
                let until = (self.clock)()
                    + chrono::Duration::from_std(asked).unwrap_or(chrono::Duration::MAX);
                if scope != Scope::App {
                    self.pause_writes(scope, until);
                }
                tracing::warn!(%what, secs, %scope, resume = %clock_time(until), "GitHub secondary rate limit; writes paused");
                return Err(ForgeError::SecondaryLimit {
                    what: what.to_string(),
                    secs,
                    scope: scope.to_string(),
                    until: clock_time(until),
                });
            };
            tracing::warn!(%what, secs, "GitHub secondary rate limit; waiting as told");
            return Ok(wait);
        }
        if limited && header_u64("x-ratelimit-remaining") == Some(0) {
            let reset = header_u64("x-ratelimit-reset")
                .and_then(|s| Utc.timestamp_opt(s as i64, 0).single());
            let wait = reset
                .map(|r| (r - Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(1))
                .unwrap_or(Duration::MAX);
            let Some(wait) = self.retry.next_wait(attempt, Some(wait)) else {
                return Err(ForgeError::RateLimited {
                    limit: header_u64("x-ratelimit-limit").unwrap_or(if self.anonymous {
                        60
                    } else {
                        5000
                    }),
                    reset: reset.map_or_else(
                        || "an unknown time".into(),
                        |r| r.format("%H:%M:%S UTC").to_string(),
                    ),
                    anonymous: self.anonymous,
                });
            };
            tracing::warn!(%what, secs = wait.as_secs(), "GitHub rate limit exhausted; waiting for the reset");
            return Ok(wait);
        }
        if status.is_server_error()
            && let Some(wait) = self.retry.next_wait(attempt, None)
        {
            tracing::info!(%what, %status, attempt, "GitHub server error; retrying");
            return Ok(wait);
        }
        Err(match status {
            StatusCode::NOT_FOUND => ForgeError::NotFound(what.to_string()),
            StatusCode::UNAUTHORIZED => ForgeError::Unauthorized,
            // (rate limits, also 403s, were handled above)
            StatusCode::FORBIDDEN => ForgeError::Forbidden {
                what: what.to_string(),
                message: github_message(&reply.body),
            },
            _ => ForgeError::Status {
                status: status.as_u16(),
                what: what.to_string(),
                message: github_message(&reply.body),
            },
        })
    }

    fn record_rate(&self, headers: &HeaderMap, scope: Scope) {
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        if let Some(remaining) = get("x-ratelimit-remaining") {
            let mut rate = self.rate.lock().unwrap_or_else(|e| e.into_inner());
            rate.remaining = Some(remaining);
            rate.limit = get("x-ratelimit-limit");
            rate.reset =
                get("x-ratelimit-reset").and_then(|s| Utc.timestamp_opt(s as i64, 0).single());
            self.rates
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(scope, *rate);
        }
    }

    // ---- Git Data API: commits GitHub makes (and signs) itself ----

    /// Makes a commit through the Git Data API: one blob per file (base64),
    /// a tree on `base_tree` (regular files, mode `100644`), then a commit
    /// with `base_commit` as its parent. Moves no branch (see
    /// [`Forge::create_branch`], [`Forge::update_branch`]). GitHub signs it
    /// (verified) when an App makes it without a committer.
    pub async fn commit_via_api(
        &self,
        repo: &RepoName,
        base_commit: &str,
        base_tree: &str,
        files: &[(String, Vec<u8>)],
        message: &str,
        author: Option<(&str, &str)>,
    ) -> Result<ApiCommit, ForgeError> {
        use base64::Engine as _;
        #[derive(serde::Deserialize)]
        struct Sha {
            sha: String,
        }
        #[derive(serde::Deserialize)]
        struct Verification {
            verified: bool,
        }
        #[derive(serde::Deserialize)]
        struct Commit {
            sha: String,
            tree: Sha,
            verification: Option<Verification>,
        }
        let mut entries = Vec::new();
        for (path, bytes) in files {
            let what = format!("blob of {path} on {repo}");
            let body = serde_json::json!({
                "content": base64::engine::general_purpose::STANDARD.encode(bytes),
                "encoding": "base64",
            });
            let reply = self
                .write(
                    Method::POST,
                    &format!("/repos/{repo}/git/blobs"),
                    Some(&body),
                    &what,
                )
                .await?;
            let blob: Sha = decode(&reply.body, &what)?;
            entries.push(serde_json::json!({
                "path": path, "mode": "100644", "type": "blob", "sha": blob.sha,
            }));
        }
        let what = format!("tree on {repo}");
        let body = serde_json::json!({ "base_tree": base_tree, "tree": entries });
        let reply = self
            .write(
                Method::POST,
                &format!("/repos/{repo}/git/trees"),
                Some(&body),
                &what,
            )
            .await?;
        let tree: Sha = decode(&reply.body, &what)?;
        let what = format!("commit on {repo}");
        let mut body = serde_json::json!({
            "message": message, "tree": tree.sha, "parents": [base_commit],
        });
        if let Some((name, email)) = author {
            body["author"] = serde_json::json!({ "name": name, "email": email });
        }
        let reply = self
            .write(
                Method::POST,
                &format!("/repos/{repo}/git/commits"),
                Some(&body),
                &what,
            )
            .await?;
        let commit: Commit = decode(&reply.body, &what)?;
        Ok(ApiCommit {
            sha: commit.sha,
            tree: commit.tree.sha,
            verified: commit.verification.is_some_and(|v| v.verified),
        })
    }

    /// Creates `branch` at `sha` (Git Data API: create a reference).
    pub async fn create_branch(
        &self,
        repo: &RepoName,
        branch: &str,
        sha: &str,
    ) -> Result<(), ForgeError> {
        self.post(
            &format!("/repos/{repo}/git/refs"),
            serde_json::json!({ "ref": format!("refs/heads/{branch}"), "sha": sha }),
            format!("branch {branch} of {repo}"),
        )
        .await
    }

    /// Moves `branch` to `sha`; `force` also when that is not a fast
    /// forward (only for branches upkeep owns).
    pub async fn update_branch(
        &self,
        repo: &RepoName,
        branch: &str,
        sha: &str,
        force: bool,
    ) -> Result<(), ForgeError> {
        let what = format!("branch {branch} of {repo}");
        let body = serde_json::json!({ "sha": sha, "force": force });
        self.write(
            Method::PATCH,
            &format!(
                "/repos/{repo}/git/refs/heads/{}",
                branch.split('/').map(encode).collect::<Vec<_>>().join("/")
            ),
            Some(&body),
            &what,
        )
        .await
        .map(|_| ())
    }

    /// Comments on a commit (`POST /repos/{o}/{r}/commits/{sha}/comments`),
    /// as upkeep reports an invalid `.github/upkeep.yml` where it was pushed.
    pub async fn comment_on_commit(
        &self,
        repo: &RepoName,
        sha: &str,
        text: &str,
    ) -> Result<(), ForgeError> {
        self.post(
            &format!("/repos/{repo}/commits/{sha}/comments"),
            serde_json::json!({ "body": text }),
            format!("comment on commit {sha} of {repo}"),
        )
        .await
    }
}

/// A time as errors show it: `2026-12-08 10:00:00 UTC`.
fn clock_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// The deadline of one attempt: `UPKEEP_GITHUB_TIMEOUT` seconds (a positive
/// number, fractions allowed), else [`DEFAULT_TIMEOUT`].
fn timeout_from(value: Option<&str>) -> Result<Duration, ForgeError> {
    let Some(text) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(DEFAULT_TIMEOUT);
    };
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= 86_400.0)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            ForgeError::Setting(format!(
                "{}: `{text}` is not a number of seconds between 0 and 86400 (e.g. 30)",
                crate::env::GITHUB_TIMEOUT
            ))
        })
}

/// Tokens and installation tokens travel only over https, or plain http
/// to a loopback host (a GitHub double): the shared rule.
fn refuse_plain_http(api_url: &str) -> Result<(), ForgeError> {
    let url = url::Url::parse(api_url).map_err(|_| ForgeError::InvalidUrl(api_url.to_string()))?;
    net::refuse_plain_http(&url).map_err(ForgeError::Insecure)
}

/// The contents API's URL of a file, and how to name it in errors.
fn contents_url(repo: &RepoName, path: &str) -> (String, String) {
    let encoded: Vec<String> = path.split('/').map(encode).collect();
    (
        format!("/repos/{repo}/contents/{}", encoded.join("/")),
        format!("{repo}:{path}"),
    )
}

/// The text of a contents API answer for one file.
fn file_text(body: &str, what: &str) -> Result<String, ForgeError> {
    use base64::Engine as _;
    #[derive(serde::Deserialize)]
    struct File {
        #[serde(rename = "type")]
        kind: String,
        #[serde(default)]
        content: Option<String>,
        #[serde(default)]
        encoding: Option<String>,
    }
    let decode_error = |message: String| ForgeError::Decode {
        what: what.to_string(),
        message,
    };
    // a directory answers a JSON array
    let file: File =
        decode(body, what).map_err(|_| decode_error("not a file (a directory?)".into()))?;
    if file.kind != "file" {
        return Err(decode_error(format!("a {}, not a file", file.kind)));
    }
    let (Some(content), Some("base64")) = (file.content, file.encoding.as_deref()) else {
        return Err(decode_error(
            "no inline content (files over 1 MB are not served inline)".into(),
        ));
    };
    let compact: String = content.split_whitespace().collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .map_err(|e| decode_error(format!("invalid base64 content: {e}")))?;
    String::from_utf8(bytes).map_err(|_| decode_error("not UTF-8 text".into()))
}

fn decode<T: serde::de::DeserializeOwned>(body: &str, what: &str) -> Result<T, ForgeError> {
    serde_json::from_str(body).map_err(|e| ForgeError::Decode {
        what: what.to_string(),
        message: e.to_string(),
    })
}

/// GitHub's `message` field of an error body, or the start of the body.
fn github_message(body: &str) -> String {
    #[derive(serde::Deserialize)]
    struct ErrorBody {
        message: String,
        #[serde(default)]
        errors: Vec<serde_json::Value>,
    }
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(e) => {
            let details: Vec<&str> = e
                .errors
                .iter()
                .filter_map(|d| d.get("message")?.as_str())
                .collect();
            if details.is_empty() {
                e.message
            } else {
                format!("{} ({})", e.message, details.join("; "))
            }
        }
        Err(_) => body.chars().take(200).collect(),
    }
}

/// A transport error's message, without anything from the request (no
/// headers, so no token).
fn network_message(e: &octocrab::Error) -> String {
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let text = s.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        source = s.source();
    }
    message
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `rel="next"` URL of a `Link` header.
fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get(header::LINK)?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                url.trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_next_links() {
        let mut h = HeaderMap::new();
        h.insert(
            header::LINK,
            HeaderValue::from_static(
                "<https://api.github.com/repositories/1/releases?per_page=100&page=2>; rel=\"next\", \
                 <https://api.github.com/repositories/1/releases?per_page=100&page=3>; rel=\"last\"",
            ),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("https://api.github.com/repositories/1/releases?per_page=100&page=2")
        );
        h.insert(
            header::LINK,
            HeaderValue::from_static("<https://x/y?page=1>; rel=\"prev\""),
        );
        assert_eq!(next_link(&h), None);
    }

    #[test]
    fn repo_names() {
        assert_eq!(
            "sigp/lighthouse".parse::<RepoName>().unwrap(),
            RepoName::new("sigp", "lighthouse")
        );
        assert!("sigp".parse::<RepoName>().is_err());
        assert!("a/b/c".parse::<RepoName>().is_err());
    }

    #[test]
    fn timeout_setting() {
        assert_eq!(timeout_from(None).unwrap(), DEFAULT_TIMEOUT);
        assert_eq!(timeout_from(Some(" ")).unwrap(), DEFAULT_TIMEOUT);
        assert_eq!(
            timeout_from(Some("0.5")).unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(timeout_from(Some("45")).unwrap(), Duration::from_secs(45));
        for bad in ["0", "-1", "soon", "NaN", "1e9"] {
            assert!(timeout_from(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn causes_say_what_to_check() {
        let network = |m: &str| ForgeError::Network {
            what: "x".into(),
            message: m.into(),
        };
        let line = |e: &ForgeError| cause_line(e, "api.github.com").unwrap();
        assert!(
            line(&network(
                "client error (Connect): dns error: failed to lookup address information"
            ))
            .starts_with("cannot resolve api.github.com (DNS)")
        );
        assert!(
            line(&network(
                "tcp connect error: Connection refused (os error 111)"
            ))
            .starts_with("api.github.com refused the connection")
        );
        assert!(
            line(&network("the handshake failed: certificate verify failed"))
                .starts_with("TLS with api.github.com failed")
        );
        assert!(line(&ForgeError::Unauthorized).contains("check UPKEEP_GITHUB_TOKEN"));
        assert_eq!(cause_line(&ForgeError::NotFound("a/b".into()), "h"), None);
    }

    #[test]
    fn rate_limit_error_tells_anonymous_users_what_to_do() {
        let e = ForgeError::RateLimited {
            limit: 60,
            reset: "12:00:00 UTC".into(),
            anonymous: true,
        };
        assert_eq!(
            e.to_string(),
            "GitHub API rate limit exhausted (60 requests/hour for anonymous requests); it resets at 12:00:00 UTC; \
             set UPKEEP_GITHUB_TOKEN for 5,000/hour"
        );
    }
}
