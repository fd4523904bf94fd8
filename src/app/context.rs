//! What every mode of upkeep runs with: settings, catalog, rule engine and
//! the I/O clients, built once (by the CLI, the job or the App) and passed
//! to every stage.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use std::sync::Arc;

use crate::app::error::AppError;
use crate::domain::catalog::Catalog;
use crate::domain::evaluate::BaseRef;
use crate::domain::repo::RepoName;
use crate::domain::settings::Settings;
use crate::io::forge::Forge;
use crate::io::store::Store;

/// The time every command takes as now: `UPKEEP_NOW` (RFC 3339) when it
/// is set, so an operator can ask "what happens on Tuesday?" and tests can
/// move through weeks; else the system clock. The one place upkeep reads
/// the clock for decisions.
pub fn now(env: &std::collections::HashMap<String, String>) -> Result<DateTime<Utc>, String> {
    match env.get(crate::env::NOW).map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => Ok(Utc::now()),
        Some(text) => DateTime::parse_from_rfc3339(text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                format!(
                    "{}: `{text}` is not an RFC 3339 time ({e}): expected e.g. 2026-12-08T09:00:00Z",
                    crate::env::NOW
                )
            }),
    }
}

/// [`now`] from the process environment; the system clock when
/// `UPKEEP_NOW` is unusable (commands refuse to start then, so this is for
/// long-running `serve`, which checked it at start).
pub fn clock() -> DateTime<Utc> {
    let env: std::collections::HashMap<String, String> = std::env::vars().collect();
    now(&env).unwrap_or_else(|_| Utc::now())
}

/// What the pipeline runs with.
pub struct Context {
    pub settings: Settings,
    pub catalog: Catalog,
    pub forge: Arc<Forge>,
    pub store: Arc<Store>,
    /// Token for git fetches of GitHub repositories (never logged).
    pub git_token: Option<String>,
    pub cache_dir: PathBuf,
    /// Upstreams polled at once.
    pub concurrency: usize,
    /// Asks registries whether target images are published.
    pub registry: Option<Arc<crate::io::registry::Registry>>,
    /// Classifies releases and knows the fork schedule.
    pub engine: Option<Arc<crate::domain::rules::Engine>>,
    /// Reads live versions and health gates (`prometheus.url`).
    pub prometheus: Option<Arc<crate::io::prometheus::Prometheus>>,
    /// Whether `@upkeep` comments on its pull requests get an answer:
    /// only `serve` (the App's webhooks) answers them; `run` cannot, and
    /// its pull request bodies do not offer them.
    pub commands: crate::domain::render::Commands,
}

impl Context {
    /// Where `owner/name` is: its clone URL and the branch pull requests
    /// target (its default branch unless `branch` says otherwise).
    pub async fn locate(
        &self,
        owner: &str,
        name: &str,
        branch: Option<&str>,
    ) -> Result<BaseRef, AppError> {
        let info = self.forge.repository(&RepoName::new(owner, name)).await?;
        Ok(BaseRef {
            base_branch: branch.map_or(info.default_branch, str::to_string),
            commit: String::new(),
            clone_url: info.clone_url,
        })
    }

    /// Opens the cache repository of `owner/name` for git work with the
    /// right token (an installation token in App mode).
    pub async fn session(
        &self,
        repo: &RepoName,
        clone_url: &str,
    ) -> Result<crate::io::git::Session, AppError> {
        let token = self.git_token_for(repo).await?;
        let dir = self
            .cache_dir
            .join("repos")
            .join(&repo.owner)
            .join(&repo.name);
        let url = clone_url.to_string();
        Ok(crate::io::git::blocking(move || {
            crate::io::git::Session::open(&dir, &url, token.as_deref())
        })?)
    }

    /// The token git uses for `repo`: the App's installation token in App
    /// mode, else the configured token.
    pub async fn git_token_for(&self, repo: &RepoName) -> Result<Option<String>, AppError> {
        if self.forge.is_app() {
            return Ok(self.forge.git_token(repo).await?);
        }
        Ok(self.git_token.clone())
    }
}

/// The state store as the forge's [`crate::io::forge::Memory`]: GitHub
/// replies for conditional requests and write pauses outlive the run. A
/// store that fails is logged and forgotten (it is a cache).
pub struct StoreMemory(pub Arc<Store>);

impl crate::io::forge::Memory for StoreMemory {
    fn reply(&self, url: &str) -> Option<crate::io::forge::CachedReply> {
        match self.0.cached_reply(url) {
            Ok(kept) => {
                kept.map(|(etag, body, link)| crate::io::forge::CachedReply { etag, body, link })
            }
            Err(e) => {
                tracing::warn!(error = %e, "state store: cannot read a kept GitHub reply");
                None
            }
        }
    }

    fn save_reply(&self, url: &str, reply: &crate::io::forge::CachedReply) {
        if let Err(e) = self.0.save_reply(
            url,
            &reply.etag,
            &reply.body,
            reply.link.as_deref(),
            clock(),
        ) {
            tracing::warn!(error = %e, "state store: cannot keep a GitHub reply");
        }
    }

    fn writes_paused(&self, scope: &str) -> Option<DateTime<Utc>> {
        self.0.write_pause(scope).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "state store: cannot read GitHub write pauses");
            None
        })
    }

    fn pause_writes(&self, scope: &str, until: DateTime<Utc>) {
        if let Err(e) = self.0.save_write_pause(scope, until) {
            tracing::warn!(error = %e, "state store: cannot keep a GitHub write pause");
        }
    }
}
