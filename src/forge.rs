//! The forge: every GitHub HTTP request upkeep makes goes through here, on
//! octocrab, with one retry helper for rate limits, secondary limits, 5xx
//! answers and timeouts.
//!
//! Domain types leave this module (`Release`, `RepoName`, `RepoInfo`,
//! `RateLimit`); octocrab and http types do not. The token never appears in
//! a log line, an error or a URL. Knows nothing of the state store: callers
//! pass ETags in and get them back.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use octocrab::Octocrab;

use crate::release::Release;

/// Where GitHub's REST API lives unless `UPKEEP_GITHUB_API_URL` says otherwise.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// `owner/name` of a GitHub repository.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepoName {
    pub owner: String,
    pub name: String,
}

impl RepoName {
    pub fn new(owner: impl Into<String>, name: impl Into<String>) -> Self {
        RepoName {
            owner: owner.into(),
            name: name.into(),
        }
    }
}

impl fmt::Display for RepoName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl FromStr for RepoName {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid = |p: &str| {
            !p.is_empty()
                && p.bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        };
        match s.split_once('/') {
            Some((o, n)) if valid(o) && valid(n) => Ok(RepoName::new(o, n)),
            _ => Err(format!("`{s}` is not an owner/name GitHub repository")),
        }
    }
}

/// What `GET /repos/{owner}/{repo}` tells us.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepoInfo {
    pub default_branch: String,
    pub clone_url: String,
}

/// The last rate-limit budget GitHub reported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimit {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    pub reset: Option<DateTime<Utc>>,
}

/// Releases of one upstream, or "unchanged since that ETag".
#[derive(Clone, Debug)]
pub enum Releases {
    NotModified,
    Fresh {
        etag: Option<String>,
        releases: Vec<Release>,
    },
}

/// How the forge retries.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts for one request, the first included.
    pub attempts: u32,
    /// First backoff after a 5xx or a network error; doubles each time.
    pub base_delay: Duration,
    /// The longest upkeep waits for a secondary limit or a budget reset
    /// before giving up on that request with a clear error.
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 4,
            base_delay: Duration::from_millis(250),
            max_wait: Duration::from_secs(60),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    #[error("invalid GitHub API URL `{0}`")]
    InvalidUrl(String),
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
    #[error("GitHub secondary rate limit: asked to wait {0} s, longer than upkeep waits")]
    SecondaryLimit(u64),
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

/// Counters for the run report and metrics.
#[derive(Debug, Default)]
pub struct ForgeStats {
    pub requests: AtomicU64,
    pub not_modified: AtomicU64,
    pub retries: AtomicU64,
}

/// The GitHub client.
pub struct Forge {
    client: Octocrab,
    anonymous: bool,
    retry: RetryPolicy,
    rate: Mutex<RateLimit>,
    pub stats: ForgeStats,
}

impl fmt::Debug for Forge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Forge")
            .field("anonymous", &self.anonymous)
            .finish_non_exhaustive()
    }
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
        let mut builder = Octocrab::builder()
            .base_uri(api_url)
            .map_err(|_| ForgeError::InvalidUrl(api_url.to_string()))?
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(30)));
        if let Some(t) = token.filter(|t| !t.is_empty()) {
            builder = builder.personal_token(t.to_string());
        }
        let client = builder
            .build()
            .map_err(|_| ForgeError::InvalidUrl(api_url.to_string()))?;
        Ok(Forge {
            client,
            anonymous: token.is_none_or(str::is_empty),
            retry,
            rate: Mutex::new(RateLimit::default()),
            stats: ForgeStats::default(),
        })
    }

    /// A client configured from `UPKEEP_GITHUB_API_URL` and
    /// `UPKEEP_GITHUB_TOKEN` (or `GITHUB_TOKEN`).
    pub fn from_env(env: &HashMap<String, String>) -> Result<Forge, ForgeError> {
        let url = env
            .get(crate::env::GITHUB_API_URL)
            .map_or(DEFAULT_API_URL, String::as_str);
        let token = env
            .get(crate::env::GITHUB_TOKEN)
            .or_else(|| env.get(crate::env::GITHUB_TOKEN_FALLBACK))
            .map(String::as_str);
        Forge::new(url, token, RetryPolicy::default())
    }

    pub fn is_anonymous(&self) -> bool {
        self.anonymous
    }

    /// The budget GitHub reported last.
    pub fn rate_limit(&self) -> RateLimit {
        *self.rate.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `GET /repos/{owner}/{repo}`.
    pub async fn repository(&self, repo: &RepoName) -> Result<RepoInfo, ForgeError> {
        #[derive(serde::Deserialize)]
        struct Repo {
            default_branch: String,
            clone_url: String,
        }
        let what = repo.to_string();
        let reply = self.get(&format!("/repos/{repo}"), None, &what).await?;
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
        for page in 0..max_pages.max(1) {
            let conditional = if page == 0 { etag } else { None };
            let reply = self.get(&url, conditional, &what).await?;
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

    /// One GET with retries. Returns 2xx and 304 replies; everything else is
    /// an error after the retry policy is spent.
    async fn get(&self, url: &str, etag: Option<&str>, what: &str) -> Result<Reply, ForgeError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut headers = HeaderMap::new();
            headers.insert(
                header::ACCEPT,
                HeaderValue::from_static("application/vnd.github+json"),
            );
            headers.insert(
                "x-github-api-version",
                HeaderValue::from_static("2022-11-28"),
            );
            if let Some(tag) = etag.and_then(|e| HeaderValue::from_str(e).ok()) {
                headers.insert(header::IF_NONE_MATCH, tag);
            }
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let outcome = match self.client._get_with_headers(url, Some(headers)).await {
                Ok(response) => {
                    let status = response.status();
                    let headers = response.headers().clone();
                    self.record_rate(&headers);
                    match self.client.body_to_string(response).await {
                        Ok(body) => Ok(Reply {
                            status,
                            headers,
                            body,
                        }),
                        Err(e) => Err(network_message(&e)),
                    }
                }
                Err(e) => Err(network_message(&e)),
            };
            let wait = match outcome {
                Ok(reply) if reply.status.is_success() => return Ok(reply),
                Ok(reply) if reply.status == StatusCode::NOT_MODIFIED => {
                    self.stats.not_modified.fetch_add(1, Ordering::Relaxed);
                    return Ok(reply);
                }
                Ok(reply) => self.after_failure(reply, attempt, what)?,
                Err(message) if attempt < self.retry.attempts => {
                    tracing::info!(%what, attempt, %message, "GitHub request failed; retrying");
                    self.backoff(attempt)
                }
                Err(message) => {
                    return Err(ForgeError::Network {
                        what: what.to_string(),
                        message,
                    });
                }
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
        if limited && let Some(secs) = header_u64("retry-after") {
            let wait = Duration::from_secs(secs);
            if wait > self.retry.max_wait || attempt >= self.retry.attempts {
                return Err(ForgeError::SecondaryLimit(secs));
            }
            tracing::warn!(%what, secs, "GitHub secondary rate limit; waiting as told");
            return Ok(wait);
        }
        if limited && header_u64("x-ratelimit-remaining") == Some(0) {
            let reset = header_u64("x-ratelimit-reset")
                .and_then(|s| Utc.timestamp_opt(s as i64, 0).single());
            let wait = reset
                .map(|r| (r - Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(1))
                .unwrap_or(Duration::MAX);
            if wait > self.retry.max_wait || attempt >= self.retry.attempts {
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
            }
            tracing::warn!(%what, secs = wait.as_secs(), "GitHub rate limit exhausted; waiting for the reset");
            return Ok(wait);
        }
        if status.is_server_error() && attempt < self.retry.attempts {
            tracing::info!(%what, %status, attempt, "GitHub server error; retrying");
            return Ok(self.backoff(attempt));
        }
        Err(match status {
            StatusCode::NOT_FOUND => ForgeError::NotFound(what.to_string()),
            StatusCode::UNAUTHORIZED => ForgeError::Unauthorized,
            _ => ForgeError::Status {
                status: status.as_u16(),
                what: what.to_string(),
                message: github_message(&reply.body),
            },
        })
    }

    /// Exponential backoff with jitter: base × 2^(attempt-1), ±25 %.
    fn backoff(&self, attempt: u32) -> Duration {
        let base = self
            .retry
            .base_delay
            .saturating_mul(1 << (attempt - 1).min(10));
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let jitter = f64::from(nanos % 1000) / 1000.0 * 0.5 + 0.75;
        base.mul_f64(jitter)
    }

    fn record_rate(&self, headers: &HeaderMap) {
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
        }
    }
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
    }
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(e) => e.message,
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
