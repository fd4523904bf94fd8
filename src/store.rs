//! The state store: a SQLite file (WAL, safe for two processes) holding what
//! saves work between runs: ETags and cached release lists per upstream, and
//! when each release was first seen.
//!
//! It is a cache: losing the file costs API calls, never correctness. Knows
//! nothing about GitHub or manifests; every other module that needs state
//! goes through here.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use crate::release::Release;

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
];

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

    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let display = path.display().to_string();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Other {
                path: display.clone(),
                message: e.to_string(),
            })?;
        }
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
        Ok(store)
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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn postgres_urls_are_refused_clearly() {
        let err = Store::open_from(Some("postgres://u@h/db")).unwrap_err();
        assert!(err.to_string().contains("not supported yet"));
    }
}
