//! The poller: fetches the releases of many upstreams with bounded
//! concurrency, through the forge, with the state store's ETags so that an
//! unchanged upstream costs no rate limit.
//!
//! One failing upstream is reported and the others go on. Drafts never leave
//! this module. No parsing of versions or notes happens here.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::domain::release::Release;
use crate::domain::repo::RepoName;
use crate::io::forge::{Forge, ForgeError, Releases};
use crate::io::store::{Store, StoreError};

/// How many pages of 100 releases are read on a cold fetch (one when
/// anonymous).
pub const MAX_PAGES: usize = 3;

/// The releases of one upstream.
#[derive(Clone, Debug)]
pub struct Polled {
    /// Published releases, newest first; drafts removed.
    pub releases: Vec<Release>,
    /// True when GitHub said "not modified" (304) and the cache answered.
    pub from_cache: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error(transparent)]
    Forge(#[from] ForgeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Polls every upstream, at most `concurrency` at a time. `progress` is
/// called with (done, total) as upstreams finish.
pub async fn poll(
    forge: Arc<Forge>,
    store: Arc<Store>,
    upstreams: &[RepoName],
    concurrency: usize,
    now: DateTime<Utc>,
    progress: &(dyn Fn(usize, usize) + Send + Sync),
) -> BTreeMap<RepoName, Result<Polled, PollError>> {
    let permits = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for repo in upstreams.iter().cloned() {
        let (forge, store, permits) = (forge.clone(), store.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            tracing::info!(upstream = %repo, "polling upstream releases");
            let result = poll_one(&forge, &store, &repo, now).await;
            (repo, result)
        });
    }
    let mut out = BTreeMap::new();
    let total = upstreams.len();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((repo, result)) => {
                if let Err(e) = &result {
                    tracing::debug!(upstream = %repo, error = %e, "polling failed");
                }
                out.insert(repo, result);
            }
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => {}
        }
        progress(out.len(), total);
    }
    out
}

async fn poll_one(
    forge: &Forge,
    store: &Store,
    repo: &RepoName,
    now: DateTime<Utc>,
) -> Result<Polled, PollError> {
    let key = repo.to_string();
    let cached = store.cached_releases(&key)?;
    let etag = cached.as_ref().and_then(|c| c.etag.as_deref());
    // Anonymous budgets are 60 requests an hour: read one page (the newest
    // 100 releases) per upstream.
    let pages = if forge.is_anonymous() { 1 } else { MAX_PAGES };
    match forge.releases(repo, etag, pages).await? {
        Releases::NotModified => {
            store.touch_releases(&key, now)?;
            let releases = cached.map(|c| c.releases).unwrap_or_default();
            Ok(Polled {
                releases,
                from_cache: true,
            })
        }
        Releases::Fresh { etag, releases } => {
            let releases: Vec<Release> = releases.into_iter().filter(|r| !r.draft).collect();
            store.save_releases(&key, etag.as_deref(), &releases, now)?;
            Ok(Polled {
                releases,
                from_cache: false,
            })
        }
    }
}
