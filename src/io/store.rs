//! The state store: a SQLite file (WAL, safe for two processes) holding what
//! saves work between runs: ETags and cached release lists per upstream,
//! when each release was first seen, what container registries answered
//! for image tags (digest, or missing), and which Slack alerts and
//! reminders each channel already got.
//!
//! It is a cache: losing the file costs API calls, never correctness. Knows
//! nothing about GitHub or manifests; every other module that needs state
//! goes through here.

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
    // 5: files read through the contents API (the networks' configs of the
    //    fork schedule), with their ETags
    "CREATE TABLE file_cache (
         key        TEXT PRIMARY KEY,
         etag       TEXT,
         fetched_at INTEGER NOT NULL,
         body       TEXT NOT NULL
     );",
];

/// A cached registry answer for one tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedManifest {
    /// `(digest, media type)` of the manifest; `None`: the tag was missing.
    pub manifest: Option<(String, String)>,
    pub checked_at: DateTime<Utc>,
}

/// A cached file (contents API).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CachedFile {
    pub etag: Option<String>,
    pub fetched_at: DateTime<Utc>,
    pub body: String,
}

/// A cached release list.
#[derive(Clone, Debug)]
pub struct CachedReleases {
    pub etag: Option<String>,
    pub fetched_at: DateTime<Utc>,
    pub releases: Vec<Release>,
}

pub struct Store {
    conn: Mutex<Connection>,
    path: String,
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
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Err(StoreError::Other {
                    path: "UPKEEP_STATE".into(),
                    message:
                        "PostgreSQL state stores are not supported yet; use a SQLite file path"
                            .into(),
                })
            }
            Some(path) => Store::open(Path::new(path)),
            None => Store::open(&default_path()),
        }
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
            conn: Mutex::new(conn),
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
            conn: Mutex::new(conn),
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
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut conn).map_err(|e| self.err(e))
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
        let row = self.with(|conn| {
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
        })?;
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

    /// Marks a cached list as confirmed unchanged at `now`.
    pub fn touch_releases(&self, upstream: &str, now: DateTime<Utc>) -> Result<(), StoreError> {
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
        let row = self.with(|conn| {
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
        })?;
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

/// Files read through the contents API, keyed `owner/repo:path@ref`.
impl Store {
    /// The last text and ETag saved under `key`.
    pub fn cached_file(&self, key: &str) -> Result<Option<CachedFile>, StoreError> {
        let row = self.with(|conn| {
            conn.query_row(
                "SELECT etag, fetched_at, body FROM file_cache WHERE key = ?1",
                params![key],
                |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                },
            )
            .optional()
        })?;
        Ok(row.map(|(etag, at, body)| CachedFile {
            etag,
            fetched_at: Utc.timestamp_opt(at, 0).single().unwrap_or_default(),
            body,
        }))
    }

    /// Saves a file's text and ETag under `key`.
    pub fn save_file(
        &self,
        key: &str,
        etag: Option<&str>,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO file_cache (key, etag, fetched_at, body) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (key) DO UPDATE SET etag = ?2, fetched_at = ?3, body = ?4",
                params![key, etag, now.timestamp(), body],
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
    fn postgres_urls_are_refused_clearly() {
        let err = Store::open_from(Some("postgres://u@h/db")).unwrap_err();
        assert!(err.to_string().contains("not supported yet"));
    }
}
