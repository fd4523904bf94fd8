//! The state store: a SQLite file (WAL, safe for two processes) holding what
//! saves work between runs: ETags and cached release lists per upstream,
//! when each release was first seen, what container registries answered
//! for image tags (digest, or missing), and which Slack alerts and
//! reminders each channel already got, GitHub replies kept for
//! conditional requests (`ETag`, body, `Link`) and GitHub write pauses after
//! a secondary rate limit.
//!
//! It is a cache: losing the file costs API calls, never correctness. Knows
//! nothing about GitHub or manifests; every other module that needs state
//! goes through here.
//!
//! With `UPKEEP_STATE=postgres://…` the same store lives in PostgreSQL
//! ([`postgres`]), which several `upkeep serve` replicas share: webhook
//! deliveries, schedule ticks and Slack keys are then claimed atomically
//! across them, and passes over a repository are requested and leased
//! through the `repo_job` table, and the other jobs of webhooks (`@upkeep
//! ignore`, `@upkeep rollback`, …) are kept in `repo_task` until done, run
//! under the same leases (both backends have them; only a shared store
//! needs them).

pub mod postgres;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::domain::release::Release;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store {path}: {source}")]
    Sqlite {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("state store {path}: {message}")]
    Other { path: String, message: String },
}

/// Schema migrations, applied in order; `PRAGMA user_version` counts them.
const MIGRATIONS: &[&str] = &[
    // 1: release lists and first-seen times
    "CREATE TABLE release_cache (
         upstream   TEXT PRIMARY KEY,
         etag       TEXT,
         fetched_at INTEGER NOT NULL,
         releases   TEXT NOT NULL
     );
     CREATE TABLE release_seen (
         upstream   TEXT NOT NULL,
         tag        TEXT NOT NULL,
         first_seen INTEGER NOT NULL,
         PRIMARY KEY (upstream, tag)
     );",
    // 2: registry answers: a tag's manifest digest, or "missing" (NULL)
    "CREATE TABLE registry_cache (
         endpoint   TEXT NOT NULL,
         repository TEXT NOT NULL,
         tag        TEXT NOT NULL,
         digest     TEXT,
         media_type TEXT,
         checked_at INTEGER NOT NULL,
         PRIMARY KEY (endpoint, repository, tag)
     );",
    // 3: `upkeep serve`: webhook deliveries seen (de-duplication by
    //    `X-GitHub-Delivery`) and upkeep pull requests merged
    "CREATE TABLE webhook_delivery (
         id          TEXT PRIMARY KEY,
         received_at INTEGER NOT NULL
     );
     CREATE INDEX webhook_delivery_received ON webhook_delivery (received_at);
     CREATE TABLE merged_pull (
         repository TEXT NOT NULL,
         number     INTEGER NOT NULL,
         branch     TEXT NOT NULL,
         merged_at  INTEGER NOT NULL,
         PRIMARY KEY (repository, number)
     );",
    // 4: Slack alerts and reminders sent, per channel (de-duplication
    //    across runs and restarts)
    "CREATE TABLE slack_sent (
         channel TEXT NOT NULL,
         key     TEXT NOT NULL,
         sent_at INTEGER NOT NULL,
         PRIMARY KEY (channel, key)
     );",
    // 5: work shared by `serve` replicas
    SHARED_WORK_SQL,
    // 6: GitHub replies revalidated with If-None-Match, and write pauses
    //    after a secondary rate limit (per token or installation)
    GITHUB_MEMORY_SQL,
    // 7: per-repository jobs of webhooks, kept until done
    REPO_TASK_SQL,
];

/// Passes requested and leased per repository, and schedule ticks
/// claimed: the same SQL on both backends. A repository has work pending
/// while `requested > done`; `holder` holds it until `lease_until_ms`.
const SHARED_WORK_SQL: &str = "CREATE TABLE repo_job (
         repository     TEXT PRIMARY KEY,
         requested      BIGINT NOT NULL DEFAULT 0,
         done           BIGINT NOT NULL DEFAULT 0,
         reason         TEXT,
         requested_ms   BIGINT,
         holder         TEXT,
         lease_until_ms BIGINT
     );
     CREATE TABLE schedule_tick (
         schedule   TEXT NOT NULL,
         tick       BIGINT NOT NULL,
         holder     TEXT NOT NULL,
         claimed_at BIGINT NOT NULL,
         PRIMARY KEY (schedule, tick)
     );";

/// GitHub replies kept for conditional requests (`url` → ETag, body and
/// `Link` header) and pauses of GitHub writes (per token or installation,
/// until `resume_at`, Unix seconds): the same SQL on both backends.
const GITHUB_MEMORY_SQL: &str = "CREATE TABLE http_reply (
         url        TEXT PRIMARY KEY,
         etag       TEXT NOT NULL,
         body       TEXT NOT NULL,
         link       TEXT,
         fetched_at BIGINT NOT NULL
     );
     CREATE TABLE write_pause (
         scope     TEXT PRIMARY KEY,
         resume_at BIGINT NOT NULL
     );";

/// The per-repository jobs webhooks ask for besides passes (`@upkeep
/// ignore`, `@upkeep rollback`, a merged pull request, an installation):
/// `payload` says how to redo one (JSON the worker reads). Like passes, a
/// job is pending while `requested > done`, and runs under its
/// repository's lease in `repo_job`: a replica dying mid-job lets another
/// redo it. The same SQL on both backends.
const REPO_TASK_SQL: &str = "CREATE TABLE repo_task (
         repository   TEXT NOT NULL,
         task_key     TEXT NOT NULL,
         payload      TEXT NOT NULL,
         requested    BIGINT NOT NULL DEFAULT 0,
         done         BIGINT NOT NULL DEFAULT 0,
         requested_ms BIGINT NOT NULL,
         PRIMARY KEY (repository, task_key)
     );";

/// A job asked for (again): its payload replaced, its time kept while one
/// is pending already.
const RECORD_TASK_SQL: &str =
    "INSERT INTO repo_task (repository, task_key, payload, requested, done, requested_ms)
     VALUES (?1, ?2, ?3, 1, 0, ?4)
     ON CONFLICT (repository, task_key) DO UPDATE SET
         requested = repo_task.requested + 1,
         payload = excluded.payload,
         requested_ms = CASE WHEN repo_task.requested > repo_task.done
                             THEN repo_task.requested_ms ELSE excluded.requested_ms END";
const RECORD_TASK_SQL_PG: &str =
    "INSERT INTO repo_task (repository, task_key, payload, requested, done, requested_ms)
     VALUES ($1, $2, $3, 1, 0, $4)
     ON CONFLICT (repository, task_key) DO UPDATE SET
         requested = repo_task.requested + 1,
         payload = excluded.payload,
         requested_ms = CASE WHEN repo_task.requested > repo_task.done
                             THEN repo_task.requested_ms ELSE excluded.requested_ms END";
/// The repository's row in `repo_job` (where its lease lives), dated by
/// the job when no pass is pending.
const TASK_REPO_SQL: &str = "INSERT INTO repo_job (repository, requested_ms) VALUES (?1, ?2)
     ON CONFLICT (repository) DO UPDATE SET
         requested_ms = CASE WHEN repo_job.requested > repo_job.done
                             THEN repo_job.requested_ms ELSE excluded.requested_ms END";
const TASK_REPO_SQL_PG: &str = "INSERT INTO repo_job (repository, requested_ms) VALUES ($1, $2)
     ON CONFLICT (repository) DO UPDATE SET
         requested_ms = CASE WHEN repo_job.requested > repo_job.done
                             THEN repo_job.requested_ms ELSE excluded.requested_ms END";
/// A `repo_job` row with work pending: a pass, or one of its jobs.
const WORK_PENDING: &str = "(repo_job.requested > repo_job.done OR EXISTS (
         SELECT 1 FROM repo_task t
         WHERE t.repository = repo_job.repository AND t.requested > t.done))";

/// Claimed ticks are forgotten after a week.
const TICK_MEMORY_SECS: i64 = 7 * 24 * 3600;

/// One more pass requested for a repository (its time kept while one is
/// pending already).
const REQUEST_PASS_SQL: &str =
    "INSERT INTO repo_job (repository, requested, done, reason, requested_ms)
     VALUES (?1, 1, 0, ?2, ?3)
     ON CONFLICT (repository) DO UPDATE SET
         requested = repo_job.requested + 1,
         reason = excluded.reason,
         requested_ms = CASE WHEN repo_job.requested > repo_job.done
                             THEN repo_job.requested_ms ELSE excluded.requested_ms END";
const REQUEST_PASS_SQL_PG: &str =
    "INSERT INTO repo_job (repository, requested, done, reason, requested_ms)
     VALUES ($1, 1, 0, $2, $3)
     ON CONFLICT (repository) DO UPDATE SET
         requested = repo_job.requested + 1,
         reason = excluded.reason,
         requested_ms = CASE WHEN repo_job.requested > repo_job.done
                             THEN repo_job.requested_ms ELSE excluded.requested_ms END";

/// Takes a repository's lease when it is free, expired, or already ours;
/// returns the generation requested by then.
const LOCK_REPO_SQL: &str = "INSERT INTO repo_job (repository, holder, lease_until_ms)
     VALUES (?1, ?2, ?4)
     ON CONFLICT (repository) DO UPDATE SET holder = excluded.holder,
         lease_until_ms = excluded.lease_until_ms
     WHERE repo_job.holder IS NULL OR repo_job.lease_until_ms < ?3
         OR repo_job.holder = excluded.holder
     RETURNING requested, reason";
const LOCK_REPO_SQL_PG: &str = "INSERT INTO repo_job (repository, holder, lease_until_ms)
     VALUES ($1, $2, $4)
     ON CONFLICT (repository) DO UPDATE SET holder = excluded.holder,
         lease_until_ms = excluded.lease_until_ms
     WHERE repo_job.holder IS NULL OR repo_job.lease_until_ms < $3
         OR repo_job.holder = excluded.holder
     RETURNING requested, reason";

/// A repository leased to one process for one pass.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    pub repository: String,
    /// Passes requested when the lease was taken; releasing marks them done.
    pub generation: i64,
    /// Why the latest pass was requested.
    pub reason: Option<String>,
    /// Whether a pass is pending (a claim may be for jobs only).
    pub pass: bool,
}

/// A per-repository job of a webhook, pending ([`Store::pending_tasks`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Task {
    pub repository: String,
    /// Names the job within its repository (asking again coalesces).
    pub key: String,
    /// How to redo it (the worker's JSON).
    pub payload: String,
    /// Times asked for by now; [`Store::task_done`] marks them done.
    pub generation: i64,
}

/// One value of a copied row (`upkeep state migrate`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    Int(Option<i64>),
    Text(Option<String>),
}

/// The tables `upkeep state migrate` copies, with their columns (`true`:
/// an integer).
pub const COPIED: &[(&str, &[(&str, bool)])] = &[
    (
        "release_cache",
        &[
            ("upstream", false),
            ("etag", false),
            ("fetched_at", true),
            ("releases", false),
        ],
    ),
    (
        "release_seen",
        &[("upstream", false), ("tag", false), ("first_seen", true)],
    ),
    (
        "registry_cache",
        &[
            ("endpoint", false),
            ("repository", false),
            ("tag", false),
            ("digest", false),
            ("media_type", false),
            ("checked_at", true),
        ],
    ),
    ("webhook_delivery", &[("id", false), ("received_at", true)]),
    (
        "merged_pull",
        &[
            ("repository", false),
            ("number", true),
            ("branch", false),
            ("merged_at", true),
        ],
    ),
    (
        "slack_sent",
        &[("channel", false), ("key", false), ("sent_at", true)],
    ),
    (
        "http_reply",
        &[
            ("url", false),
            ("etag", false),
            ("body", false),
            ("link", false),
            ("fetched_at", true),
        ],
    ),
    ("write_pause", &[("scope", false), ("resume_at", true)]),
];

/// Whether `UPKEEP_STATE` names a PostgreSQL database.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn ms_after(t: DateTime<Utc>, d: Duration) -> i64 {
    ms(t).saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A cached registry answer for one tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedManifest {
    /// `(digest, media type)` of the manifest; `None`: the tag was missing.
    pub manifest: Option<(String, String)>,
    pub checked_at: DateTime<Utc>,
}

/// A cached release list.
#[derive(Clone, Debug)]
pub struct CachedReleases {
    pub etag: Option<String>,
    pub fetched_at: DateTime<Utc>,
    pub releases: Vec<Release>,
}

pub struct Store {
    backend: Backend,
    path: String,
}

enum Backend {
    Sqlite(Mutex<Connection>),
    Postgres(postgres::Postgres),
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

/// The default location: `$XDG_STATE_HOME/upkeep/state.sqlite3`, else
/// `~/.local/state/upkeep/state.sqlite3`, else `./.upkeep-state.sqlite3`.
pub fn default_path() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")));
    match base {
        Some(b) => b.join("upkeep/state.sqlite3"),
        None => PathBuf::from(".upkeep-state.sqlite3"),
    }
}

impl Store {
    /// Opens (creating if needed) the store named by `UPKEEP_STATE`, a path,
    /// or the default location.
    pub fn open_from(location: Option<&str>) -> Result<Store, StoreError> {
        match location {
            Some(url) if is_postgres_url(url) => Store::open_postgres(url),
            Some(path) => Store::open(Path::new(path.strip_prefix("sqlite:").unwrap_or(path))),
            None => Store::open(&default_path()),
        }
    }

    /// Connects to the PostgreSQL database at `url` (`postgres://…`),
    /// migrating it when needed.
    pub fn open_postgres(url: &str) -> Result<Store, StoreError> {
        let pg = postgres::Postgres::open(url)?;
        Ok(Store {
            path: pg.shown.clone(),
            backend: Backend::Postgres(pg),
        })
    }

    /// Opens (creating if needed) the SQLite store at `path`. The store is a
    /// cache: a file that is not a usable database (garbage, truncated,
    /// corrupt, a directory in its place) is moved aside to
    /// `<path>.broken-<unix time>` (kept for inspection, with a warning
    /// naming it) and a fresh store is started.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let display = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Other {
                path: display.clone(),
                message: e.to_string(),
            })?;
        }
        let cause = match Store::open_checked(path) {
            Ok(store) => return Ok(store),
            Err(e) if path.is_dir() || is_broken(&e) => e,
            Err(e) => return Err(e),
        };
        let aside = move_aside(path).map_err(|e| StoreError::Other {
            path: display.clone(),
            message: format!("unusable ({cause}) and could not be moved aside: {e}"),
        })?;
        tracing::warn!(
            "state store {} is unusable ({}); moved it to {} and started a fresh one",
            path.display(),
            cause,
            aside.display()
        );
        Store::open_checked(path)
    }

    fn open_checked(path: &Path) -> Result<Store, StoreError> {
        let display = path.display().to_string();
        let sql = |source| StoreError::Sqlite {
            path: display.clone(),
            source,
        };
        let conn = Connection::open(path).map_err(sql)?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(sql)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        let store = Store {
            backend: Backend::Sqlite(Mutex::new(conn)),
            path: display,
        };
        store.migrate()?;
        store.quick_check()?;
        Ok(store)
    }

    /// `PRAGMA quick_check`: catches a truncated or damaged file at open
    /// rather than half-way through a run.
    fn quick_check(&self) -> Result<(), StoreError> {
        let result: String =
            self.with(|conn| conn.pragma_query_value(None, "quick_check", |r| r.get(0)))?;
        if result == "ok" {
            Ok(())
        } else {
            Err(StoreError::Other {
                path: self.path.clone(),
                message: format!("integrity check failed: {result}"),
            })
        }
    }

    /// An in-memory store (tests, `--no-state` runs).
    pub fn in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Sqlite {
            path: ":memory:".into(),
            source,
        })?;
        let store = Store {
            backend: Backend::Sqlite(Mutex::new(conn)),
            path: ":memory:".into(),
        };
        store.migrate()?;
        Ok(store)
    }

    fn err(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source,
        }
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<T>,
    ) -> Result<T, StoreError> {
        match &self.backend {
            Backend::Sqlite(conn) => {
                let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
                f(&mut conn).map_err(|e| self.err(e))
            }
            Backend::Postgres(_) => Err(StoreError::Other {
                path: self.path.clone(),
                message: "a SQLite operation on a PostgreSQL store".into(),
            }),
        }
    }

    /// The PostgreSQL backend, when this store is one.
    fn pg(&self) -> Option<&postgres::Postgres> {
        match &self.backend {
            Backend::Postgres(pg) => Some(pg),
            Backend::Sqlite(_) => None,
        }
    }

    /// Whether several processes may share this store at once (PostgreSQL):
    /// `upkeep serve` then shares its work with other replicas through it.
    pub fn is_shared(&self) -> bool {
        self.pg().is_some()
    }

    /// Where the store is (a path, or the URL without its password).
    pub fn location(&self) -> &str {
        &self.path
    }

    /// Whether the store answers now (`/readyz`).
    pub fn ping(&self) -> Result<(), StoreError> {
        match self.pg() {
            Some(pg) => pg.ping(),
            None => self.with(|conn| conn.query_row("SELECT 1", [], |_| Ok(()))),
        }
    }

    fn migrate(&self) -> Result<(), StoreError> {
        self.with(|conn| {
            // IMMEDIATE: two processes starting at once migrate one at a time.
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let version: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            for (i, sql) in (1i64..)
                .zip(MIGRATIONS)
                .skip(usize::try_from(version).unwrap_or(0))
            {
                tx.execute_batch(sql)?;
                tx.pragma_update(None, "user_version", i)?;
            }
            tx.commit()
        })
    }

    /// The cached release list of an upstream.
    pub fn cached_releases(&self, upstream: &str) -> Result<Option<CachedReleases>, StoreError> {
        let row = if let Some(pg) = self.pg() {
            pg.cached_releases(upstream)?
        } else {
            self.with(|conn| {
                conn.query_row(
                    "SELECT etag, fetched_at, releases FROM release_cache WHERE upstream = ?1",
                    params![upstream],
                    |r| {
                        Ok((
                            r.get::<_, Option<String>>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, String>(2)?,
                        ))
                    },
                )
                .optional()
            })?
        };
        let Some((etag, fetched_at, json)) = row else {
            return Ok(None);
        };
        // An unreadable row (an older format) is a cache miss, not an error.
        let Ok(releases) = serde_json::from_str(&json) else {
            return Ok(None);
        };
        Ok(Some(CachedReleases {
            etag,
            fetched_at: Utc
                .timestamp_opt(fetched_at, 0)
                .single()
                .unwrap_or_default(),
            releases,
        }))
    }

    /// Replaces an upstream's cached list and records first-seen times of
    /// releases not seen before.
    pub fn save_releases(
        &self,
        upstream: &str,
        etag: Option<&str>,
        releases: &[Release],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(releases).map_err(|e| StoreError::Other {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        if let Some(pg) = self.pg() {
            let tags = releases.iter().map(|r| r.tag_name.clone()).collect();
            return pg.save_releases(upstream, etag, json, tags, now.timestamp());
        }
        self.with(|conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO release_cache (upstream, etag, fetched_at, releases) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (upstream) DO UPDATE SET etag = ?2, fetched_at = ?3, releases = ?4",
                params![upstream, etag, now.timestamp(), json],
            )?;
            {
                let mut seen = tx.prepare(
                    "INSERT INTO release_seen (upstream, tag, first_seen) VALUES (?1, ?2, ?3)
                     ON CONFLICT DO NOTHING",
                )?;
                for r in releases {
                    seen.execute(params![upstream, r.tag_name, now.timestamp()])?;
                }
            }
            tx.commit()
        })
    }

    /// A kept GitHub reply: `(etag, body, link)`.
    pub fn cached_reply(
        &self,
        url: &str,
    ) -> Result<Option<(String, String, Option<String>)>, StoreError> {
        if let Some(pg) = self.pg() {
            return pg.cached_reply(url);
        }
        self.with(|conn| {
            conn.query_row(
                "SELECT etag, body, link FROM http_reply WHERE url = ?1",
                params![url],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
        })
    }

    /// Keeps a GitHub reply for the next conditional request.
    pub fn save_reply(
        &self,
        url: &str,
        etag: &str,
        body: &str,
        link: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(pg) = self.pg() {
            return pg.save_reply(url, etag, body, link, now.timestamp());
        }
        self.with(|conn| {
            conn.execute(
                "INSERT INTO http_reply (url, etag, body, link, fetched_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (url) DO UPDATE SET etag = ?2, body = ?3, link = ?4, fetched_at = ?5",
                params![url, etag, body, link, now.timestamp()],
            )
            .map(|_| ())
        })
    }

    /// Until when GitHub writes of `scope` are paused, if a pause was kept.
    pub fn write_pause(&self, scope: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let until = if let Some(pg) = self.pg() {
            pg.write_pause(scope)?
        } else {
            self.with(|conn| {
                conn.query_row(
                    "SELECT resume_at FROM write_pause WHERE scope = ?1",
                    params![scope],
                    |r| r.get::<_, i64>(0),
                )
                .optional()
            })?
        };
        Ok(until.and_then(|t| Utc.timestamp_opt(t, 0).single()))
    }

    /// Keeps a pause of GitHub writes of `scope` until `until`.
    pub fn save_write_pause(&self, scope: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(pg) = self.pg() {
            return pg.save_write_pause(scope, until.timestamp());
        }
        self.with(|conn| {
            conn.execute(
                "INSERT INTO write_pause (scope, resume_at) VALUES (?1, ?2)
                 ON CONFLICT (scope) DO UPDATE SET resume_at = MAX(resume_at, ?2)",
                params![scope, until.timestamp()],
            )
            .map(|_| ())
        })
    }

    /// Marks a cached list as confirmed unchanged at `now`.
    pub fn touch_releases(&self, upstream: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
        if let Some(pg) = self.pg() {
            return pg.touch_releases(upstream, now.timestamp());
        }
        self.with(|conn| {
            conn.execute(
                "UPDATE release_cache SET fetched_at = ?2 WHERE upstream = ?1",
                params![upstream, now.timestamp()],
            )
            .map(|_| ())
        })
    }

    /// When upkeep first saw a release.
    pub fn first_seen(
        &self,
        upstream: &str,
        tag: &str,
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        if let Some(pg) = self.pg() {
            let t = pg.first_seen(upstream, tag)?;
            return Ok(t.and_then(|t| Utc.timestamp_opt(t, 0).single()));
        }
        let t: Option<i64> = self.with(|conn| {
            conn.query_row(
                "SELECT first_seen FROM release_seen WHERE upstream = ?1 AND tag = ?2",
                params![upstream, tag],
                |r| r.get(0),
            )
            .optional()
        })?;
        Ok(t.and_then(|t| Utc.timestamp_opt(t, 0).single()))
    }
}

impl Store {
    /// The last answer a registry endpoint gave for `repository:tag`.
    pub fn cached_manifest(
        &self,
        endpoint: &str,
        repository: &str,
        tag: &str,
    ) -> Result<Option<CachedManifest>, StoreError> {
        let row = if let Some(pg) = self.pg() {
            pg.cached_manifest(endpoint, repository, tag)?
        } else {
            self.with(|conn| {
                conn.query_row(
                    "SELECT digest, media_type, checked_at FROM registry_cache
                 WHERE endpoint = ?1 AND repository = ?2 AND tag = ?3",
                    params![endpoint, repository, tag],
                    |r| {
                        Ok((
                            r.get::<_, Option<String>>(0)?,
                            r.get::<_, Option<String>>(1)?,
                            r.get::<_, i64>(2)?,
                        ))
                    },
                )
                .optional()
            })?
        };
        Ok(row.map(|(digest, media_type, at)| CachedManifest {
            manifest: digest.map(|d| (d, media_type.unwrap_or_default())),
            checked_at: Utc.timestamp_opt(at, 0).single().unwrap_or_default(),
        }))
    }

    /// Records a registry answer: the manifest's `(digest, media type)`, or
    /// `None` for a missing tag.
    pub fn save_manifest(
        &self,
        endpoint: &str,
        repository: &str,
        tag: &str,
        manifest: Option<(&str, &str)>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(pg) = self.pg() {
            return pg.save_manifest(endpoint, repository, tag, manifest, now.timestamp());
        }
        let (digest, media_type) = manifest.unzip();
        self.with(|conn| {
            conn.execute(
                "INSERT INTO registry_cache (endpoint, repository, tag, digest, media_type, checked_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (endpoint, repository, tag)
                 DO UPDATE SET digest = ?4, media_type = ?5, checked_at = ?6",
                params![endpoint, repository, tag, digest, media_type, now.timestamp()],
            )
            .map(|_| ())
        })
    }
}

/// `upkeep serve`: webhook de-duplication and merged pull requests.
impl Store {
    /// Records webhook delivery `id` received at `now`; `false` when it was
    /// already seen within `ttl` (a redelivery or a replay). Deliveries
    /// older than `ttl` are forgotten on the way.
    pub fn first_delivery(
        &self,
        id: &str,
        now: DateTime<Utc>,
        ttl: std::time::Duration,
    ) -> Result<bool, StoreError> {
        let now = now.timestamp();
        let oldest = now.saturating_sub(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX));
        if let Some(pg) = self.pg() {
            return pg.first_delivery(id, now, oldest);
        }
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(
                "DELETE FROM webhook_delivery WHERE received_at < ?1",
                rusqlite::params![oldest],
            )?;
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO webhook_delivery (id, received_at) VALUES (?1, ?2)",
                rusqlite::params![id, now],
            )?;
            tx.commit()?;
            Ok(inserted == 1)
        })
    }

    /// Records that upkeep's pull request `number` of `repository` (from
    /// `branch`) was merged.
    pub fn record_merged(
        &self,
        repository: &str,
        number: u64,
        branch: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(pg) = self.pg() {
            let number = i64::try_from(number).unwrap_or(i64::MAX);
            return pg.record_merged(repository, number, branch, at.timestamp());
        }
        self.with(|conn| {
            conn.execute(
                "INSERT OR REPLACE INTO merged_pull (repository, number, branch, merged_at) \
                 VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    repository,
                    i64::try_from(number).unwrap_or(i64::MAX),
                    branch,
                    at.timestamp()
                ],
            )
            .map(|_| ())
        })
    }

    /// How many of upkeep's pull requests were recorded merged.
    pub fn merged_count(&self) -> Result<u64, StoreError> {
        if let Some(pg) = self.pg() {
            return Ok(u64::try_from(pg.merged_count()?).unwrap_or(0));
        }
        self.with(|conn| {
            conn.query_row("SELECT COUNT(*) FROM merged_pull", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| u64::try_from(n).unwrap_or(0))
        })
    }
}

/// Slack: which alerts and reminders each channel already got.
impl Store {
    /// Of `keys`, those already recorded as sent to `channel`.
    pub fn slack_sent(
        &self,
        channel: &str,
        keys: &[String],
    ) -> Result<std::collections::BTreeSet<String>, StoreError> {
        if let Some(pg) = self.pg() {
            return Ok(pg.slack_sent(channel, keys)?.into_iter().collect());
        }
        self.with(|conn| {
            let mut query =
                conn.prepare_cached("SELECT 1 FROM slack_sent WHERE channel = ?1 AND key = ?2")?;
            let mut sent = std::collections::BTreeSet::new();
            for key in keys {
                if query.exists(params![channel, key])? {
                    sent.insert(key.clone());
                }
            }
            Ok(sent)
        })
    }

    /// Records `keys` as sent to `channel` at `now` (a key already recorded
    /// keeps its first time).
    pub fn record_slack_sent(
        &self,
        channel: &str,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(pg) = self.pg() {
            return pg.claim_slack(channel, keys, now.timestamp()).map(|_| ());
        }
        self.with(|conn| {
            let tx = conn.transaction()?;
            {
                let mut insert = tx.prepare(
                    "INSERT INTO slack_sent (channel, key, sent_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT DO NOTHING",
                )?;
                for key in keys {
                    insert.execute(params![channel, key, now.timestamp()])?;
                }
            }
            tx.commit()
        })
    }
}

/// Slack keys claimed before sending, so that two replicas never send the
/// same alert or reminder.
impl Store {
    /// Records those of `keys` not yet recorded for `channel` as sent at
    /// `now`, atomically, and returns them: the caller sends only when it
    /// got some, and gives them back ([`Store::unclaim_slack`]) when the
    /// message did not arrive.
    pub fn claim_slack(
        &self,
        channel: &str,
        keys: &[String],
        now: DateTime<Utc>,
    ) -> Result<std::collections::BTreeSet<String>, StoreError> {
        if let Some(pg) = self.pg() {
            return Ok(pg
                .claim_slack(channel, keys, now.timestamp())?
                .into_iter()
                .collect());
        }
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let mut claimed = std::collections::BTreeSet::new();
            {
                let mut insert = tx.prepare(
                    "INSERT INTO slack_sent (channel, key, sent_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT DO NOTHING",
                )?;
                for key in keys {
                    if insert.execute(params![channel, key, now.timestamp()])? == 1 {
                        claimed.insert(key.clone());
                    }
                }
            }
            tx.commit()?;
            Ok(claimed)
        })
    }

    /// Forgets keys claimed at `at` by [`Store::claim_slack`] (their
    /// message did not arrive).
    pub fn unclaim_slack(
        &self,
        channel: &str,
        keys: &[String],
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(pg) = self.pg() {
            return pg.unclaim_slack(channel, keys, at.timestamp());
        }
        self.with(|conn| {
            for key in keys {
                conn.execute(
                    "DELETE FROM slack_sent WHERE channel = ?1 AND key = ?2 AND sent_at = ?3",
                    params![channel, key, at.timestamp()],
                )?;
            }
            Ok(())
        })
    }
}

/// Work shared by `serve` replicas: schedule ticks, and passes over a
/// repository requested and leased. Lease times are the wall clock of the
/// processes (liveness, not the domain's `UPKEEP_NOW`), in milliseconds.
impl Store {
    /// Claims tick `tick` of schedule `name` for `holder`; `false` when
    /// another process claimed it already (it fires there).
    pub fn claim_tick(
        &self,
        name: &str,
        tick: DateTime<Utc>,
        holder: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        if let Some(pg) = self.pg() {
            return pg.claim_tick(name, tick.timestamp(), holder, now.timestamp());
        }
        self.with(|conn| {
            conn.execute(
                "DELETE FROM schedule_tick WHERE claimed_at < ?1",
                params![now.timestamp() - TICK_MEMORY_SECS],
            )?;
            conn.execute(
                "INSERT INTO schedule_tick (schedule, tick, holder, claimed_at)
                 VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                params![name, tick.timestamp(), holder, now.timestamp()],
            )
            .map(|n| n == 1)
        })
    }

    /// Asks for one more pass over `repository` (any process may run it).
    pub fn request_pass(
        &self,
        repository: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(pg) = self.pg() {
            return pg.request_pass(repository, reason, ms(now));
        }
        self.with(|conn| {
            conn.execute(REQUEST_PASS_SQL, params![repository, reason, ms(now)])
                .map(|_| ())
        })
    }

    /// The oldest requested pass whose repository nobody holds (or whose
    /// holder's lease ran out), leased to `holder` for `lease`.
    pub fn claim_pass(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<Lease>, StoreError> {
        let row = if let Some(pg) = self.pg() {
            pg.claim_pass(holder, ms(now), ms_after(now, lease))?
        } else {
            self.with(|conn| {
                let tx =
                    conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                let next: Option<String> = tx
                    .query_row(
                        &format!(
                            "SELECT repository FROM repo_job
                             WHERE {WORK_PENDING} AND (holder IS NULL OR lease_until_ms < ?1)
                             ORDER BY requested_ms, repository LIMIT 1"
                        ),
                        params![ms(now)],
                        |r| r.get(0),
                    )
                    .optional()?;
                let row = match next {
                    None => None,
                    Some(repository) => Some(tx.query_row(
                        "UPDATE repo_job SET holder = ?2, lease_until_ms = ?3
                         WHERE repository = ?1
                         RETURNING repository, requested, reason, requested > done",
                        params![repository, holder, ms_after(now, lease)],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
                    )?),
                };
                tx.commit()?;
                Ok(row)
            })?
        };
        Ok(row.map(|(repository, generation, reason, pass)| Lease {
            repository,
            generation,
            reason,
            pass,
        }))
    }

    /// Leases `repository` to `holder` for `lease` when nobody else holds
    /// it (or their lease ran out); `None` when another process does.
    pub fn lock_repo(
        &self,
        repository: &str,
        holder: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<Option<Lease>, StoreError> {
        let row = if let Some(pg) = self.pg() {
            pg.lock_repo(repository, holder, ms(now), ms_after(now, lease))?
        } else {
            self.with(|conn| {
                conn.query_row(
                    LOCK_REPO_SQL,
                    params![repository, holder, ms(now), ms_after(now, lease)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
            })?
        };
        Ok(row.map(|(generation, reason)| Lease {
            repository: repository.to_string(),
            generation,
            reason,
            pass: true,
        }))
    }

    /// Extends every lease `holder` has to `lease` from `now`; how many.
    pub fn renew_leases(
        &self,
        holder: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<u64, StoreError> {
        if let Some(pg) = self.pg() {
            return pg.renew_leases(holder, ms_after(now, lease));
        }
        self.with(|conn| {
            conn.execute(
                "UPDATE repo_job SET lease_until_ms = ?2 WHERE holder = ?1",
                params![holder, ms_after(now, lease)],
            )
            .map(|n| n as u64)
        })
    }

    /// Gives a lease back, the passes requested until it was taken done.
    /// A no-op when the lease was lost (expired and taken by another).
    pub fn release_repo(&self, lease: &Lease, holder: &str) -> Result<(), StoreError> {
        if let Some(pg) = self.pg() {
            return pg.release_repo(&lease.repository, holder, lease.generation);
        }
        self.with(|conn| {
            conn.execute(
                "UPDATE repo_job SET holder = NULL, lease_until_ms = NULL,
                     done = MAX(done, ?3)
                 WHERE repository = ?1 AND holder = ?2",
                params![lease.repository, holder, lease.generation],
            )
            .map(|_| ())
        })
    }

    /// Asks for a job on `repository` (any process holding its lease may
    /// run it): `key` names it, `payload` says how to redo it.
    pub fn record_task(
        &self,
        repository: &str,
        key: &str,
        payload: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if let Some(pg) = self.pg() {
            return pg.record_task(repository, key, payload, ms(now));
        }
        self.with(|conn| {
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            tx.execute(TASK_REPO_SQL, params![repository, ms(now)])?;
            tx.execute(RECORD_TASK_SQL, params![repository, key, payload, ms(now)])?;
            tx.commit()
        })
    }

    /// The jobs of `repository` asked for and not done, oldest first (run
    /// them holding its lease).
    pub fn pending_tasks(&self, repository: &str) -> Result<Vec<Task>, StoreError> {
        let rows = if let Some(pg) = self.pg() {
            pg.pending_tasks(repository)?
        } else {
            self.with(|conn| {
                let mut query = conn.prepare(
                    "SELECT task_key, payload, requested FROM repo_task
                     WHERE repository = ?1 AND requested > done
                     ORDER BY requested_ms, task_key",
                )?;
                let rows = query.query_map(params![repository], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })?;
                rows.collect()
            })?
        };
        Ok(rows
            .into_iter()
            .map(|(key, payload, generation)| Task {
                repository: repository.to_string(),
                key,
                payload,
                generation,
            })
            .collect())
    }

    /// Marks a job done as asked for until `task` was read (asking again
    /// meanwhile leaves it pending).
    pub fn task_done(&self, task: &Task) -> Result<(), StoreError> {
        if let Some(pg) = self.pg() {
            return pg.task_done(&task.repository, &task.key, task.generation);
        }
        self.with(|conn| {
            conn.execute(
                "UPDATE repo_task SET done = MAX(done, ?3)
                 WHERE repository = ?1 AND task_key = ?2",
                params![task.repository, task.key, task.generation],
            )
            .map(|_| ())
        })
    }

    /// How many repositories have a pass or a job asked for and not done.
    pub fn pending_passes(&self) -> Result<u64, StoreError> {
        if let Some(pg) = self.pg() {
            return Ok(u64::try_from(pg.pending_passes()?).unwrap_or(0));
        }
        self.with(|conn| {
            conn.query_row(
                &format!("SELECT COUNT(*) FROM repo_job WHERE {WORK_PENDING}"),
                [],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| u64::try_from(n).unwrap_or(0))
        })
    }
}

/// `upkeep state migrate`: rows out of a SQLite store, into a PostgreSQL one.
impl Store {
    /// Every row of `table` (one of [`COPIED`]).
    pub fn export(
        &self,
        table: &str,
        columns: &[(&str, bool)],
    ) -> Result<Vec<Vec<Cell>>, StoreError> {
        let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
        let sql = format!("SELECT {} FROM {table}", names.join(", "));
        self.with(|conn| {
            let mut query = conn.prepare(&sql)?;
            let rows = query.query_map([], |r| {
                columns
                    .iter()
                    .enumerate()
                    .map(|(i, (_, int))| {
                        Ok(if *int {
                            Cell::Int(r.get(i)?)
                        } else {
                            Cell::Text(r.get(i)?)
                        })
                    })
                    .collect::<rusqlite::Result<Vec<Cell>>>()
            })?;
            rows.collect()
        })
    }

    /// Adds `rows` to `table` (one of [`COPIED`]), keeping the rows already
    /// there; returns how many were new. PostgreSQL stores only.
    pub fn import(
        &self,
        table: &'static str,
        columns: &'static [(&'static str, bool)],
        rows: Vec<Vec<Cell>>,
    ) -> Result<u64, StoreError> {
        match self.pg() {
            Some(pg) => pg.import(table, columns, rows),
            None => Err(StoreError::Other {
                path: self.path.clone(),
                message: "only a PostgreSQL store can be migrated into".into(),
            }),
        }
    }
}

/// Whether an error opening the store means the file itself is unusable
/// (rather than busy, unreadable for permissions, or on a full disk).
fn is_broken(e: &StoreError) -> bool {
    use rusqlite::ErrorCode as C;
    match e {
        StoreError::Other { .. } => true,
        StoreError::Sqlite { source, .. } => match source.sqlite_error_code() {
            Some(C::DatabaseBusy | C::DatabaseLocked | C::PermissionDenied | C::ReadOnly)
            | Some(C::DiskFull | C::OutOfMemory | C::CannotOpen) => false,
            Some(_) => true,
            None => false,
        },
    }
}

/// Renames `path` (and its `-wal`/`-shm` companions) to
/// `<path>.broken-<unix time>`; returns the new name.
fn move_aside(path: &Path) -> std::io::Result<PathBuf> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".broken-{now}"));
    let mut aside = PathBuf::from(&name);
    let mut n = 1;
    while aside.exists() {
        let mut other = name.clone();
        other.push(format!(".{n}"));
        aside = PathBuf::from(other);
        n += 1;
    }
    std::fs::rename(path, &aside)?;
    for suffix in ["-wal", "-shm"] {
        let mut companion = path.as_os_str().to_owned();
        companion.push(suffix);
        let companion = PathBuf::from(companion);
        if companion.exists() {
            let mut to = aside.as_os_str().to_owned();
            to.push(suffix);
            let _ = std::fs::rename(&companion, PathBuf::from(to));
        }
    }
    Ok(aside)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slack_sent_keys_are_per_channel_and_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let t = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let keys = vec!["alert|a/b|v1".to_string(), "alert|a/b|v2".to_string()];
        {
            let store = Store::open(&path).unwrap();
            assert!(store.slack_sent("ops", &keys).unwrap().is_empty());
            store.record_slack_sent("ops", &keys[..1], t).unwrap();
            store.record_slack_sent("ops", &keys[..1], t).unwrap();
        }
        let store = Store::open(&path).unwrap();
        let sent = store.slack_sent("ops", &keys).unwrap();
        assert_eq!(sent.into_iter().collect::<Vec<_>>(), keys[..1]);
        assert!(store.slack_sent("default", &keys).unwrap().is_empty());
    }

    fn release(tag: &str) -> Release {
        Release {
            tag_name: tag.into(),
            name: None,
            body: Some("notes".into()),
            draft: false,
            prerelease: false,
            published_at: None,
            html_url: None,
        }
    }

    #[test]
    fn releases_round_trip_and_first_seen_sticks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/state.sqlite3");
        let t1 = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let t2 = Utc.timestamp_opt(1_700_000_600, 0).unwrap();
        {
            let store = Store::open(&path).unwrap();
            assert!(store.cached_releases("sigp/lighthouse").unwrap().is_none());
            store
                .save_releases("sigp/lighthouse", Some("\"e1\""), &[release("v1.0.0")], t1)
                .unwrap();
        }
        // a second process (here: a second open) sees the same data
        let store = Store::open(&path).unwrap();
        store
            .save_releases(
                "sigp/lighthouse",
                Some("\"e2\""),
                &[release("v1.1.0"), release("v1.0.0")],
                t2,
            )
            .unwrap();
        let cached = store.cached_releases("sigp/lighthouse").unwrap().unwrap();
        assert_eq!(cached.etag.as_deref(), Some("\"e2\""));
        assert_eq!(cached.releases.len(), 2);
        assert_eq!(
            store.first_seen("sigp/lighthouse", "v1.0.0").unwrap(),
            Some(t1)
        );
        assert_eq!(
            store.first_seen("sigp/lighthouse", "v1.1.0").unwrap(),
            Some(t2)
        );
    }

    #[test]
    fn two_connections_share_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        let a = Store::open(&path).unwrap();
        let b = Store::open(&path).unwrap();
        let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        a.save_releases("x/y", None, &[release("v1.0.0")], now)
            .unwrap();
        assert_eq!(b.cached_releases("x/y").unwrap().unwrap().releases.len(), 1);
    }

    #[test]
    fn registry_answers_round_trip() {
        let store = Store::in_memory().unwrap();
        let t = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let ep = "https://registry-1.docker.io";
        assert_eq!(
            store
                .cached_manifest(ep, "sigp/lighthouse", "v7.0.0")
                .unwrap(),
            None
        );
        store
            .save_manifest(ep, "sigp/lighthouse", "v7.0.0", None, t)
            .unwrap();
        let missing = store
            .cached_manifest(ep, "sigp/lighthouse", "v7.0.0")
            .unwrap()
            .unwrap();
        assert_eq!(missing.manifest, None);
        assert_eq!(missing.checked_at, t);
        let digest = format!("sha256:{}", "a".repeat(64));
        store
            .save_manifest(
                ep,
                "sigp/lighthouse",
                "v7.0.0",
                Some((&digest, "application/vnd.oci.image.index.v1+json")),
                t,
            )
            .unwrap();
        let found = store
            .cached_manifest(ep, "sigp/lighthouse", "v7.0.0")
            .unwrap()
            .unwrap();
        assert_eq!(
            found.manifest,
            Some((
                digest,
                "application/vnd.oci.image.index.v1+json".to_string()
            ))
        );
        assert_eq!(
            store
                .cached_manifest("http://127.0.0.1:5000", "sigp/lighthouse", "v7.0.0")
                .unwrap(),
            None
        );
    }

    fn broken_files(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.to_string_lossy().contains(".broken-"))
            .collect()
    }

    fn assert_recovers(dir: &Path, path: &Path) {
        let store = Store::open(path).unwrap();
        let t = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        store
            .save_releases("x/y", None, &[release("v1.0.0")], t)
            .unwrap();
        assert_eq!(broken_files(dir).len(), 1, "{:?}", broken_files(dir));
        drop(store);
        // the fresh store is a good one: reopening moves nothing more
        let store = Store::open(path).unwrap();
        assert!(store.cached_releases("x/y").unwrap().is_some());
        assert_eq!(broken_files(dir).len(), 1);
    }

    #[test]
    fn a_garbage_file_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        std::fs::write(&path, b"this is not a database, not at all\n".repeat(200)).unwrap();
        assert_recovers(dir.path(), &path);
    }

    #[test]
    fn a_directory_in_place_of_the_store_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("inside"), "x").unwrap();
        assert_recovers(dir.path(), &path);
        let aside = &broken_files(dir.path())[0];
        assert!(aside.join("inside").exists(), "kept for inspection");
    }

    #[test]
    fn a_truncated_store_is_moved_aside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite3");
        {
            let store = Store::open(&path).unwrap();
            let t = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
            let many: Vec<Release> = (0..300).map(|i| release(&format!("v1.{i}.0"))).collect();
            for i in 0..20 {
                store
                    .save_releases(&format!("up/{i}"), None, &many, t)
                    .unwrap();
            }
            store
                .with(|c| c.pragma_update(None, "wal_checkpoint", "TRUNCATE"))
                .unwrap();
        }
        let len = std::fs::metadata(&path).unwrap().len();
        assert!(len > 64 * 1024, "{len}");
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(len / 3).unwrap();
        drop(f);
        assert_recovers(dir.path(), &path);
    }

    #[test]
    fn an_unreachable_postgres_is_a_clear_error() {
        // Port 9 (discard) on loopback: nothing listens there.
        let err = Store::open_from(Some(
            "postgres://upkeep:s3cret@127.0.0.1:9/upkeep?sslmode=disable",
        ))
        .unwrap_err()
        .to_string();
        assert!(err.contains("127.0.0.1:9"), "{err}");
        assert!(!err.contains("s3cret"), "{err}");
    }
}
