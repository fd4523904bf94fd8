//! Several `upkeep serve` replicas on one shared (PostgreSQL) state store:
//! who this replica is, and the store calls that share the work — schedule
//! ticks claimed once, passes over a repository requested by any replica
//! and run by one at a time under a lease that the running replica renews
//! ([`Heartbeat`]) and that expires when it dies, so another redoes the
//! pass (safe: pull requests are found again by branch and fingerprint).
//! The webhooks' other per-repository jobs (`@upkeep ignore`, `@upkeep
//! rollback`, merged pull requests, installations) are kept in the store
//! too and run under the same leases, so they outlive their replica.
//!
//! With a SQLite store (one replica) none of this runs: `serve` keeps its
//! in-process queue. Store calls block, so they run on tokio's blocking
//! threads. Touches only the store.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::io::store::{Lease, Store, Task};

/// This replica's part in the shared work.
pub struct Shared {
    pub store: Arc<Store>,
    /// Names this replica in leases and tick claims.
    pub holder: String,
    /// How long a lease lasts unless renewed.
    pub lease: Duration,
    /// How often to look for passes requested elsewhere.
    pub claim_every: Duration,
    /// A [`super::Job::Claim`] is waiting in the queue.
    pub claim_queued: Arc<AtomicBool>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("holder", &self.holder)
            .field("lease", &self.lease)
            .finish()
    }
}

fn millis(var: &str, default: u64) -> Duration {
    Duration::from_millis(
        std::env::var(var)
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|ms| *ms >= 100)
            .unwrap_or(default),
    )
}

/// The wall clock: leases are about processes being alive, not about the
/// time the pipeline reasons in (`UPKEEP_NOW`).
fn wall() -> DateTime<Utc> {
    Utc::now()
}

impl Shared {
    /// `Some` when `store` is shared by several processes.
    pub fn new(store: Arc<Store>) -> Option<Arc<Shared>> {
        if !store.is_shared() {
            return None;
        }
        let host = std::env::var("HOSTNAME")
            .ok()
            .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "upkeep".into());
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        Some(Arc::new(Shared {
            store,
            holder: format!("{host}/{}/{nonce:08x}", std::process::id()),
            lease: millis(crate::env::LEASE_MS, 60_000),
            claim_every: millis(crate::env::CLAIM_INTERVAL_MS, 2_000),
            claim_queued: Arc::new(AtomicBool::new(false)),
        }))
    }

    async fn blocking<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Shared) -> Result<T, crate::io::store::StoreError> + Send + 'static,
    ) -> Result<T, String> {
        let me = self.clone();
        match tokio::task::spawn_blocking(move || f(&me)).await {
            Ok(r) => r.map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Whether this replica fires tick `tick` of schedule `name` (another
    /// replica claimed it otherwise). A store failure skips the tick:
    /// firing it could do the work twice; the next tick comes.
    pub async fn claim_tick(self: &Arc<Self>, name: &'static str, tick: DateTime<Utc>) -> bool {
        match self
            .blocking(move |s| s.store.claim_tick(name, tick, &s.holder, wall()))
            .await
        {
            Ok(true) => {
                tracing::info!(schedule = name, tick = tick.timestamp(), "tick claimed");
                true
            }
            Ok(false) => {
                tracing::info!(
                    schedule = name,
                    tick = tick.timestamp(),
                    "fired on another replica"
                );
                false
            }
            Err(e) => {
                tracing::warn!(schedule = name, %tick, error = %e, "cannot claim a schedule tick; skipped");
                false
            }
        }
    }

    /// Asks any replica for a pass over each of `repos`.
    pub async fn request(
        self: &Arc<Self>,
        repos: Vec<String>,
        reason: String,
    ) -> Result<(), String> {
        self.blocking(move |s| {
            for r in &repos {
                s.store.request_pass(r, &reason, wall())?;
            }
            Ok(())
        })
        .await
    }

    /// Keeps per-repository jobs (`(repository, key, payload)`) for any
    /// replica to run.
    pub async fn record(
        self: &Arc<Self>,
        tasks: Vec<(String, String, String)>,
    ) -> Result<(), String> {
        self.blocking(move |s| {
            for (repository, key, payload) in &tasks {
                s.store.record_task(repository, key, payload, wall())?;
            }
            Ok(())
        })
        .await
    }

    /// The jobs pending on `repository` (this replica holds its lease).
    pub async fn tasks(self: &Arc<Self>, repository: String) -> Result<Vec<Task>, String> {
        self.blocking(move |s| s.store.pending_tasks(&repository))
            .await
    }

    /// Marks a job done; when the store fails, it is redone later (safe).
    pub async fn task_done(self: &Arc<Self>, task: Task) {
        if let Err(e) = self.blocking(move |s| s.store.task_done(&task)).await {
            tracing::warn!(error = %e, "cannot mark a job done; it may run again");
        }
    }

    /// The next requested pass or job nobody runs, its repository leased
    /// to this replica.
    pub async fn claim(self: &Arc<Self>) -> Result<Option<Lease>, String> {
        self.blocking(|s| s.store.claim_pass(&s.holder, wall(), s.lease))
            .await
    }

    /// Leases each of `repos`; returns the leases and the repositories
    /// another replica holds now (it runs a pass of them meanwhile).
    pub async fn lock(self: &Arc<Self>, repos: Vec<String>) -> (Vec<Lease>, Vec<String>) {
        let result = self
            .blocking(move |s| {
                let mut leases = Vec::new();
                let mut busy = Vec::new();
                for r in repos {
                    match s.store.lock_repo(&r, &s.holder, wall(), s.lease)? {
                        Some(l) => leases.push(l),
                        None => busy.push(r),
                    }
                }
                Ok((leases, busy))
            })
            .await;
        result.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "cannot lease repositories; skipping them this time");
            (Vec::new(), Vec::new())
        })
    }

    /// Gives leases back, their passes done.
    pub async fn release(self: &Arc<Self>, leases: Vec<Lease>) {
        if leases.is_empty() {
            return;
        }
        let result = self
            .blocking(move |s| {
                for l in &leases {
                    s.store.release_repo(l, &s.holder)?;
                }
                Ok(())
            })
            .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "cannot release leases; they expire");
        }
    }

    /// Renews this replica's leases every third of their length until
    /// dropped.
    pub fn heartbeat(self: &Arc<Self>) -> Heartbeat {
        let me = self.clone();
        Heartbeat(tokio::spawn(async move {
            loop {
                tokio::time::sleep(me.lease / 3).await;
                if let Err(e) = me
                    .blocking(|s| s.store.renew_leases(&s.holder, wall(), s.lease))
                    .await
                {
                    tracing::warn!(error = %e, "cannot renew leases");
                }
            }
        }))
    }
}

/// Renews leases while alive ([`Shared::heartbeat`]).
pub struct Heartbeat(tokio::task::JoinHandle<()>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}
