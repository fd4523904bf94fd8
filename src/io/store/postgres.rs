//! The PostgreSQL backend of the state store, for several `upkeep serve`
//! replicas sharing one database (`UPKEEP_STATE=postgres://…`).
//!
//! The store's interface is synchronous (as SQLite's is), so this backend
//! runs its connections on one thread of its own with a current-thread
//! tokio runtime (the same tokio, no other runtime), and a call blocks the
//! caller until that thread answers, like a SQLite call waiting on its
//! file lock. A tiny pool keeps up to [`POOL_SIZE`] connections; a broken
//! one is dropped and replaced on the next call.
//!
//! TLS follows the URL's `sslmode` with libpq's meanings, through the
//! native-tls (OpenSSL) stack the HTTP clients already use: `disable`,
//! `prefer` (the default: TLS when the server offers it, unverified),
//! `require` (TLS, unverified), `verify-ca` (TLS, certificate checked
//! against the system roots or `sslrootcert`), `verify-full` (and the host
//! name). Migrations are versioned in `upkeep_migration` and applied once,
//! under a transaction-scoped advisory lock, so replicas starting together
//! migrate one at a time.
//!
//! Touches nothing but the database; never logs the URL's password.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, Semaphore};
use tokio_postgres::Client;

use super::StoreError;

/// Connections kept at most.
pub const POOL_SIZE: usize = 8;
/// How long a call waits for the database before it fails.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// The advisory lock key under which migrations run ("upkeep" in ASCII).
const MIGRATION_LOCK: i64 = 0x7570_6b65_6570;

/// Schema migrations, applied in order; `upkeep_migration` records them.
/// Times are Unix seconds except leases (`*_ms`: milliseconds).
const MIGRATIONS: &[&str] = &[
    // 1: everything the SQLite store holds (its migrations 1-4)
    "CREATE TABLE release_cache (
         upstream   TEXT PRIMARY KEY,
         etag       TEXT,
         fetched_at BIGINT NOT NULL,
         releases   TEXT NOT NULL
     );
     CREATE TABLE release_seen (
         upstream   TEXT NOT NULL,
         tag        TEXT NOT NULL,
         first_seen BIGINT NOT NULL,
         PRIMARY KEY (upstream, tag)
     );
     CREATE TABLE registry_cache (
         endpoint   TEXT NOT NULL,
         repository TEXT NOT NULL,
         tag        TEXT NOT NULL,
         digest     TEXT,
         media_type TEXT,
         checked_at BIGINT NOT NULL,
         PRIMARY KEY (endpoint, repository, tag)
     );
     CREATE TABLE webhook_delivery (
         id          TEXT PRIMARY KEY,
         received_at BIGINT NOT NULL
     );
     CREATE INDEX webhook_delivery_received ON webhook_delivery (received_at);
     CREATE TABLE merged_pull (
         repository TEXT NOT NULL,
         number     BIGINT NOT NULL,
         branch     TEXT NOT NULL,
         merged_at  BIGINT NOT NULL,
         PRIMARY KEY (repository, number)
     );
     CREATE TABLE slack_sent (
         channel TEXT NOT NULL,
         key     TEXT NOT NULL,
         sent_at BIGINT NOT NULL,
         PRIMARY KEY (channel, key)
     );",
    // 2: work shared by replicas (the SQLite store's migration 5)
    super::SHARED_WORK_SQL,
    // 3: GitHub replies and write pauses (the SQLite store's migration 6)
    super::GITHUB_MEMORY_SQL,
    // 4: per-repository jobs of webhooks (the SQLite store's migration 7)
    super::REPO_TASK_SQL,
];

/// A claimed `repo_job` row: repository, generation, reason, pass pending.
pub type ClaimedRow = (String, i64, Option<String>, bool);

type Task = Box<dyn FnOnce(Arc<Pool>) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send>;

/// A handle on the database thread.
pub struct Postgres {
    tasks: tokio::sync::mpsc::UnboundedSender<Task>,
    /// The URL without its password.
    pub shown: String,
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // Closing the channel ends the thread (and its connections).
        let (closed, _) = tokio::sync::mpsc::unbounded_channel();
        drop(std::mem::replace(&mut self.tasks, closed));
    }
}

pub struct Pool {
    config: tokio_postgres::Config,
    tls: Option<postgres_native_tls::MakeTlsConnector>,
    /// `prefer`: try TLS, fall back to plain.
    prefer: bool,
    idle: Mutex<Vec<Client>>,
    permits: Arc<Semaphore>,
    shown: String,
}

/// A pooled connection; back to the pool when dropped (unless broken).
pub struct Conn {
    client: Option<Client>,
    pool: Arc<Pool>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl std::ops::Deref for Conn {
    type Target = Client;
    fn deref(&self) -> &Client {
        self.client.as_ref().expect("a pooled connection")
    }
}

impl std::ops::DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Client {
        self.client.as_mut().expect("a pooled connection")
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(client) = self.client.take().filter(|c| !c.is_closed())
            && let Ok(mut idle) = self.pool.idle.try_lock()
        {
            idle.push(client);
        }
    }
}

impl Pool {
    pub fn err(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Other {
            path: self.shown.clone(),
            message: e.to_string(),
        }
    }

    /// A connection: an idle one, else a new one.
    pub async fn get(self: &Arc<Pool>) -> Result<Conn, StoreError> {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| self.err(e))?;
        let reused = {
            let mut idle = self.idle.lock().await;
            let mut found = None;
            while let Some(c) = idle.pop() {
                if !c.is_closed() {
                    found = Some(c);
                    break;
                }
            }
            found
        };
        let client = match reused {
            Some(c) => c,
            None => self.connect().await?,
        };
        Ok(Conn {
            client: Some(client),
            pool: self.clone(),
            _permit: permit,
        })
    }

    async fn connect(&self) -> Result<Client, StoreError> {
        let plain = || async {
            let (client, conn) = self
                .config
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|e| self.err(describe(&e)))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok::<_, StoreError>(client)
        };
        let Some(tls) = &self.tls else {
            return plain().await;
        };
        match self.config.connect(tls.clone()).await {
            Ok((client, conn)) => {
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                Ok(client)
            }
            Err(_) if self.prefer => plain().await,
            Err(e) => Err(self.err(describe(&e))),
        }
    }
}

/// A driver error with its cause (tokio-postgres hides the server's
/// message behind "db error").
fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.severity(), db.message()),
        None => match std::error::Error::source(e) {
            Some(cause) => format!("{e}: {cause}"),
            None => e.to_string(),
        },
    }
}

/// A driver error as a store error.
pub fn pg_err(pool: &Pool, e: tokio_postgres::Error) -> StoreError {
    pool.err(describe(&e))
}

/// `url` without its password, for messages.
pub fn shown(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            u.to_string()
        }
        Err(_) => "postgres://…".into(),
    }
}

/// The driver's configuration and the TLS connector for `url`.
fn configure(
    url: &str,
    shown: &str,
) -> Result<
    (
        tokio_postgres::Config,
        Option<postgres_native_tls::MakeTlsConnector>,
        bool,
    ),
    StoreError,
> {
    let bad = |message: String| StoreError::Other {
        path: shown.to_string(),
        message,
    };
    let mut parsed = url::Url::parse(url).map_err(|e| bad(format!("not a URL: {e}")))?;
    let mut mode = "prefer".to_string();
    let mut root: Option<String> = None;
    let kept: Vec<(String, String)> = parsed
        .query_pairs()
        .filter_map(|(k, v)| match k.as_ref() {
            "sslmode" => {
                mode = v.into_owned();
                None
            }
            "sslrootcert" => {
                root = Some(v.into_owned());
                None
            }
            _ => Some((k.into_owned(), v.into_owned())),
        })
        .collect();
    parsed.set_query(None);
    if !kept.is_empty() {
        parsed.query_pairs_mut().extend_pairs(kept);
    }
    let mut config: tokio_postgres::Config = parsed
        .as_str()
        .parse()
        .map_err(|e: tokio_postgres::Error| bad(describe(&e)))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    config.application_name("upkeep");
    let mut builder = native_tls::TlsConnector::builder();
    let (tls, prefer) = match mode.as_str() {
        "disable" => (false, false),
        "allow" | "prefer" => {
            builder
                .danger_accept_invalid_certs(true)
                .danger_accept_invalid_hostnames(true);
            (true, true)
        }
        "require" => {
            builder
                .danger_accept_invalid_certs(true)
                .danger_accept_invalid_hostnames(true);
            (true, false)
        }
        "verify-ca" => {
            builder.danger_accept_invalid_hostnames(true);
            (true, false)
        }
        "verify-full" => (true, false),
        other => {
            return Err(bad(format!(
                "sslmode={other}: expected disable, allow, prefer, require, verify-ca or verify-full"
            )));
        }
    };
    if !tls {
        config.ssl_mode(tokio_postgres::config::SslMode::Disable);
        return Ok((config, None, false));
    }
    if let Some(path) = root {
        let pem = std::fs::read(&path).map_err(|e| bad(format!("sslrootcert {path}: {e}")))?;
        let cert = native_tls::Certificate::from_pem(&pem)
            .map_err(|e| bad(format!("sslrootcert {path}: {e}")))?;
        builder.add_root_certificate(cert);
    }
    config.ssl_mode(if prefer {
        tokio_postgres::config::SslMode::Prefer
    } else {
        tokio_postgres::config::SslMode::Require
    });
    let connector = builder.build().map_err(|e| bad(format!("TLS: {e}")))?;
    Ok((
        config,
        Some(postgres_native_tls::MakeTlsConnector::new(connector)),
        prefer,
    ))
}

impl Postgres {
    /// Connects to `url` (checking the database answers) and migrates it.
    pub fn open(url: &str) -> Result<Postgres, StoreError> {
        let shown = shown(url);
        let (config, tls, prefer) = configure(url, &shown)?;
        let pool = Arc::new(Pool {
            config,
            tls,
            prefer,
            idle: Mutex::new(Vec::new()),
            permits: Arc::new(Semaphore::new(POOL_SIZE)),
            shown: shown.clone(),
        });
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Task>();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| pool.err(format!("cannot start the database thread: {e}")))?;
        std::thread::Builder::new()
            .name("upkeep-postgres".into())
            .spawn(move || {
                runtime.block_on(async move {
                    while let Some(task) = rx.recv().await {
                        tokio::spawn(task(pool.clone()));
                    }
                });
            })
            .map_err(|e| StoreError::Other {
                path: shown.clone(),
                message: format!("cannot start the database thread: {e}"),
            })?;
        let store = Postgres { tasks: tx, shown };
        store.call(|pool| async move { migrate(&pool).await })?;
        Ok(store)
    }

    /// Runs `f` on the database thread and waits for its answer.
    pub fn call<T, F, Fut>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(Arc<Pool>) -> Fut + Send + 'static,
        Fut: Future<Output = Result<T, StoreError>> + Send + 'static,
    {
        let (tx, rx) = std::sync::mpsc::sync_channel(1);
        let task: Task = Box::new(move |pool| {
            Box::pin(async move {
                let out = match tokio::time::timeout(CALL_TIMEOUT, f(pool.clone())).await {
                    Ok(out) => out,
                    Err(_) => Err(pool.err(format!(
                        "the database did not answer within {}s",
                        CALL_TIMEOUT.as_secs()
                    ))),
                };
                let _ = tx.send(out);
            })
        });
        let gone = || StoreError::Other {
            path: self.shown.clone(),
            message: "the database thread stopped".into(),
        };
        self.tasks.send(task).map_err(|_| gone())?;
        rx.recv().map_err(|_| gone())?
    }
}

/// Applies the migrations not yet applied, under the advisory lock.
async fn migrate(pool: &Arc<Pool>) -> Result<(), StoreError> {
    let mut conn = pool.get().await?;
    let tx = conn.transaction().await.map_err(|e| pg_err(pool, e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(|e| pg_err(pool, e))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS upkeep_migration (
             version    INTEGER PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .await
    .map_err(|e| pg_err(pool, e))?;
    let row = tx
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM upkeep_migration",
            &[],
        )
        .await
        .map_err(|e| pg_err(pool, e))?;
    let version: i32 = row.get(0);
    if usize::try_from(version).unwrap_or(0) > MIGRATIONS.len() {
        return Err(pool.err(format!(
            "the database's schema (version {version}) is newer than this upkeep's ({}); upgrade upkeep",
            MIGRATIONS.len()
        )));
    }
    for (i, sql) in (1i32..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(version).unwrap_or(0))
    {
        tx.batch_execute(sql).await.map_err(|e| pg_err(pool, e))?;
        tx.execute("INSERT INTO upkeep_migration (version) VALUES ($1)", &[&i])
            .await
            .map_err(|e| pg_err(pool, e))?;
    }
    tx.commit().await.map_err(|e| pg_err(pool, e))
}

/// The store's operations, as SQL on a pooled connection.
impl Postgres {
    /// Runs one statement-level operation on a pooled connection.
    fn run<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(
                &'c mut Client,
            ) -> Pin<
                Box<dyn Future<Output = Result<T, tokio_postgres::Error>> + Send + 'c>,
            > + Send
            + 'static,
    {
        self.call(move |pool| async move {
            let mut conn = pool.get().await?;
            f(&mut conn).await.map_err(|e| pg_err(&pool, e))
        })
    }

    pub fn ping(&self) -> Result<(), StoreError> {
        self.run(|c| Box::pin(async move { c.batch_execute("SELECT 1").await }))
    }

    pub fn cached_releases(
        &self,
        upstream: &str,
    ) -> Result<Option<(Option<String>, i64, String)>, StoreError> {
        let upstream = upstream.to_string();
        self.run(move |c| {
            Box::pin(async move {
                let row = c
                    .query_opt(
                        "SELECT etag, fetched_at, releases FROM release_cache WHERE upstream = $1",
                        &[&upstream],
                    )
                    .await?;
                Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
            })
        })
    }

    pub fn save_releases(
        &self,
        upstream: &str,
        etag: Option<&str>,
        json: String,
        tags: Vec<String>,
        now: i64,
    ) -> Result<(), StoreError> {
        let (upstream, etag) = (upstream.to_string(), etag.map(str::to_string));
        self.run(move |c| {
            Box::pin(async move {
                let tx = c.transaction().await?;
                tx.execute(
                    "INSERT INTO release_cache (upstream, etag, fetched_at, releases) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (upstream) DO UPDATE SET etag = $2, fetched_at = $3, releases = $4",
                    &[&upstream, &etag, &now, &json],
                )
                .await?;
                tx.execute(
                    "INSERT INTO release_seen (upstream, tag, first_seen)
                     SELECT $1, tag, $3 FROM unnest($2::TEXT[]) AS t(tag)
                     ON CONFLICT DO NOTHING",
                    &[&upstream, &tags, &now],
                )
                .await?;
                tx.commit().await
            })
        })
    }

    pub fn touch_releases(&self, upstream: &str, now: i64) -> Result<(), StoreError> {
        let upstream = upstream.to_string();
        self.run(move |c| {
            Box::pin(async move {
                c.execute(
                    "UPDATE release_cache SET fetched_at = $2 WHERE upstream = $1",
                    &[&upstream, &now],
                )
                .await
                .map(|_| ())
            })
        })
    }

    pub fn first_seen(&self, upstream: &str, tag: &str) -> Result<Option<i64>, StoreError> {
        let (upstream, tag) = (upstream.to_string(), tag.to_string());
        self.run(move |c| {
            Box::pin(async move {
                let row = c
                    .query_opt(
                        "SELECT first_seen FROM release_seen WHERE upstream = $1 AND tag = $2",
                        &[&upstream, &tag],
                    )
                    .await?;
                Ok(row.map(|r| r.get(0)))
            })
        })
    }

    #[allow(clippy::type_complexity)]
    pub fn cached_manifest(
        &self,
        endpoint: &str,
        repository: &str,
        tag: &str,
    ) -> Result<Option<(Option<String>, Option<String>, i64)>, StoreError> {
        let (e, r, t) = (
            endpoint.to_string(),
            repository.to_string(),
            tag.to_string(),
        );
        self.run(move |c| {
            Box::pin(async move {
                let row = c
                    .query_opt(
                        "SELECT digest, media_type, checked_at FROM registry_cache
                         WHERE endpoint = $1 AND repository = $2 AND tag = $3",
                        &[&e, &r, &t],
                    )
                    .await?;
                Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
            })
        })
    }

    pub fn save_manifest(
        &self,
        endpoint: &str,
        repository: &str,
        tag: &str,
        manifest: Option<(&str, &str)>,
        now: i64,
    ) -> Result<(), StoreError> {
        let (e, r, t) = (
            endpoint.to_string(),
            repository.to_string(),
            tag.to_string(),
        );
        let (digest, media_type) = manifest
            .map(|(d, m)| (d.to_string(), m.to_string()))
            .unzip();
        self.run(move |c| {
            Box::pin(async move {
                c.execute(
                    "INSERT INTO registry_cache (endpoint, repository, tag, digest, media_type, checked_at)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (endpoint, repository, tag)
                     DO UPDATE SET digest = $4, media_type = $5, checked_at = $6",
                    &[&e, &r, &t, &digest, &media_type, &now],
                )
                .await
                .map(|_| ())
            })
        })
    }

    pub fn cached_reply(
        &self,
        url: &str,
    ) -> Result<Option<(String, String, Option<String>)>, StoreError> {
        let url = url.to_string();
        self.run(move |c| {
            Box::pin(async move {
                let row = c
                    .query_opt(
                        "SELECT etag, body, link FROM http_reply WHERE url = $1",
                        &[&url],
                    )
                    .await?;
                Ok(row.map(|r| (r.get(0), r.get(1), r.get(2))))
            })
        })
    }

    pub fn save_reply(
        &self,
        url: &str,
        etag: &str,
        body: &str,
        link: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        let (url, etag, body, link) = (
            url.to_string(),
            etag.to_string(),
            body.to_string(),
            link.map(str::to_string),
        );
        self.run(move |c| {
            Box::pin(async move {
                c.execute(
                    "INSERT INTO http_reply (url, etag, body, link, fetched_at) VALUES ($1, $2, $3, $4, $5)
                     ON CONFLICT (url) DO UPDATE SET etag = $2, body = $3, link = $4, fetched_at = $5",
                    &[&url, &etag, &body, &link, &now],
                )
                .await
                .map(|_| ())
            })
        })
    }

    pub fn write_pause(&self, scope: &str) -> Result<Option<i64>, StoreError> {
        let scope = scope.to_string();
        self.run(move |c| {
            Box::pin(async move {
                let row = c
                    .query_opt(
                        "SELECT resume_at FROM write_pause WHERE scope = $1",
                        &[&scope],
                    )
                    .await?;
                Ok(row.map(|r| r.get(0)))
            })
        })
    }

    pub fn save_write_pause(&self, scope: &str, until: i64) -> Result<(), StoreError> {
        let scope = scope.to_string();
        self.run(move |c| {
            Box::pin(async move {
                // the later pause wins: replicas may hit limits at once
                c.execute(
                    "INSERT INTO write_pause (scope, resume_at) VALUES ($1, $2)
                     ON CONFLICT (scope) DO UPDATE
                     SET resume_at = GREATEST(write_pause.resume_at, $2)",
                    &[&scope, &until],
                )
                .await
                .map(|_| ())
            })
        })
    }

    pub fn first_delivery(&self, id: &str, now: i64, oldest: i64) -> Result<bool, StoreError> {
        let id = id.to_string();
        self.run(move |c| {
            Box::pin(async move {
                c.execute(
                    "DELETE FROM webhook_delivery WHERE received_at < $1",
                    &[&oldest],
                )
                .await?;
                let inserted = c
                    .execute(
                        "INSERT INTO webhook_delivery (id, received_at) VALUES ($1, $2)
                         ON CONFLICT DO NOTHING",
                        &[&id, &now],
                    )
                    .await?;
                Ok(inserted == 1)
            })
        })
    }

    pub fn record_merged(
        &self,
        repository: &str,
        number: i64,
        branch: &str,
        at: i64,
    ) -> Result<(), StoreError> {
        let (r, b) = (repository.to_string(), branch.to_string());
        self.run(move |c| {
            Box::pin(async move {
                c.execute(
                    "INSERT INTO merged_pull (repository, number, branch, merged_at) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (repository, number) DO UPDATE SET branch = $3, merged_at = $4",
                    &[&r, &number, &b, &at],
                )
                .await
                .map(|_| ())
            })
        })
    }

    pub fn merged_count(&self) -> Result<i64, StoreError> {
        self.run(|c| {
            Box::pin(async move {
                let row = c.query_one("SELECT COUNT(*) FROM merged_pull", &[]).await?;
                Ok(row.get(0))
            })
        })
    }

    pub fn slack_sent(&self, channel: &str, keys: &[String]) -> Result<Vec<String>, StoreError> {
        let (channel, keys) = (channel.to_string(), keys.to_vec());
        self.run(move |c| {
            Box::pin(async move {
                let rows = c
                    .query(
                        "SELECT key FROM slack_sent WHERE channel = $1 AND key = ANY($2)",
                        &[&channel, &keys],
                    )
                    .await?;
                Ok(rows.iter().map(|r| r.get(0)).collect())
            })
        })
    }

    /// Inserts the keys not recorded yet; returns those inserted.
    pub fn claim_slack(
        &self,
        channel: &str,
        keys: &[String],
        now: i64,
    ) -> Result<Vec<String>, StoreError> {
        let (channel, keys) = (channel.to_string(), keys.to_vec());
        self.run(move |c| {
            Box::pin(async move {
                let rows = c
                    .query(
                        "INSERT INTO slack_sent (channel, key, sent_at)
                         SELECT $1, key, $3 FROM unnest($2::TEXT[]) AS k(key)
                         ON CONFLICT DO NOTHING RETURNING key",
                        &[&channel, &keys, &now],
                    )
                    .await?;
                Ok(rows.iter().map(|r| r.get(0)).collect())
            })
        })
    }

    pub fn unclaim_slack(&self, channel: &str, keys: &[String], at: i64) -> Result<(), StoreError> {
        let (channel, keys) = (channel.to_string(), keys.to_vec());
        self.run(move |c| {
            Box::pin(async move {
                c.execute(
                    "DELETE FROM slack_sent WHERE channel = $1 AND key = ANY($2) AND sent_at = $3",
                    &[&channel, &keys, &at],
                )
                .await
                .map(|_| ())
            })
        })
    }

    pub fn claim_tick(
        &self,
        schedule: &str,
        tick: i64,
        holder: &str,
        now: i64,
    ) -> Result<bool, StoreError> {
        let (schedule, holder) = (schedule.to_string(), holder.to_string());
        self.run(move |c| {
            Box::pin(async move {
                c.execute(
                    "DELETE FROM schedule_tick WHERE claimed_at < $1",
                    &[&(now - super::TICK_MEMORY_SECS)],
                )
                .await?;
                let n = c
                    .execute(
                        "INSERT INTO schedule_tick (schedule, tick, holder, claimed_at)
                         VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                        &[&schedule, &tick, &holder, &now],
                    )
                    .await?;
                Ok(n == 1)
            })
        })
    }

    pub fn request_pass(
        &self,
        repository: &str,
        reason: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let (r, why) = (repository.to_string(), reason.to_string());
        self.run(move |c| {
            Box::pin(async move {
                c.execute(super::REQUEST_PASS_SQL_PG, &[&r, &why, &now_ms])
                    .await
                    .map(|_| ())
            })
        })
    }

    /// The oldest pending pass whose repository nobody holds, leased to
    /// `holder` (`FOR UPDATE SKIP LOCKED`: replicas claiming at once get
    /// different rows).
    pub fn claim_pass(
        &self,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<Option<ClaimedRow>, StoreError> {
        let holder = holder.to_string();
        self.run(move |c| {
            Box::pin(async move {
                let row = c
                    .query_opt(
                        &format!(
                            "WITH next AS (
                                 SELECT repository FROM repo_job
                                 WHERE {} AND (holder IS NULL OR lease_until_ms < $2)
                                 ORDER BY requested_ms, repository
                                 LIMIT 1 FOR UPDATE SKIP LOCKED)
                             UPDATE repo_job j SET holder = $1, lease_until_ms = $3
                             FROM next WHERE j.repository = next.repository
                             RETURNING j.repository, j.requested, j.reason, j.requested > j.done",
                            super::WORK_PENDING
                        ),
                        &[&holder, &now_ms, &until_ms],
                    )
                    .await?;
                Ok(row.map(|r| (r.get(0), r.get(1), r.get(2), r.get(3))))
            })
        })
    }

    pub fn lock_repo(
        &self,
        repository: &str,
        holder: &str,
        now_ms: i64,
        until_ms: i64,
    ) -> Result<Option<(i64, Option<String>)>, StoreError> {
        let (r, holder) = (repository.to_string(), holder.to_string());
        self.run(move |c| {
            Box::pin(async move {
                let row = c
                    .query_opt(super::LOCK_REPO_SQL_PG, &[&r, &holder, &now_ms, &until_ms])
                    .await?;
                Ok(row.map(|r| (r.get(0), r.get(1))))
            })
        })
    }

    pub fn renew_leases(&self, holder: &str, until_ms: i64) -> Result<u64, StoreError> {
        let holder = holder.to_string();
        self.run(move |c| {
            Box::pin(async move {
                c.execute(
                    "UPDATE repo_job SET lease_until_ms = $2 WHERE holder = $1",
                    &[&holder, &until_ms],
                )
                .await
            })
        })
    }

    pub fn release_repo(
        &self,
        repository: &str,
        holder: &str,
        generation: i64,
    ) -> Result<(), StoreError> {
        let (r, holder) = (repository.to_string(), holder.to_string());
        self.run(move |c| {
            Box::pin(async move {
                c.execute(
                    "UPDATE repo_job SET holder = NULL, lease_until_ms = NULL,
                         done = GREATEST(done, $3)
                     WHERE repository = $1 AND holder = $2",
                    &[&r, &holder, &generation],
                )
                .await
                .map(|_| ())
            })
        })
    }

    pub fn record_task(
        &self,
        repository: &str,
        key: &str,
        payload: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let (r, k, p) = (repository.to_string(), key.to_string(), payload.to_string());
        self.run(move |c| {
            Box::pin(async move {
                let tx = c.transaction().await?;
                tx.execute(super::TASK_REPO_SQL_PG, &[&r, &now_ms]).await?;
                tx.execute(super::RECORD_TASK_SQL_PG, &[&r, &k, &p, &now_ms])
                    .await?;
                tx.commit().await
            })
        })
    }

    pub fn pending_tasks(
        &self,
        repository: &str,
    ) -> Result<Vec<(String, String, i64)>, StoreError> {
        let r = repository.to_string();
        self.run(move |c| {
            Box::pin(async move {
                let rows = c
                    .query(
                        "SELECT task_key, payload, requested FROM repo_task
                         WHERE repository = $1 AND requested > done
                         ORDER BY requested_ms, task_key",
                        &[&r],
                    )
                    .await?;
                Ok(rows
                    .iter()
                    .map(|row| (row.get(0), row.get(1), row.get(2)))
                    .collect())
            })
        })
    }

    pub fn task_done(
        &self,
        repository: &str,
        key: &str,
        generation: i64,
    ) -> Result<(), StoreError> {
        let (r, k) = (repository.to_string(), key.to_string());
        self.run(move |c| {
            Box::pin(async move {
                c.execute(
                    "UPDATE repo_task SET done = GREATEST(done, $3)
                     WHERE repository = $1 AND task_key = $2",
                    &[&r, &k, &generation],
                )
                .await
                .map(|_| ())
            })
        })
    }

    pub fn pending_passes(&self) -> Result<i64, StoreError> {
        self.run(|c| {
            Box::pin(async move {
                let row = c
                    .query_one(
                        &format!(
                            "SELECT COUNT(*) FROM repo_job WHERE {}",
                            super::WORK_PENDING
                        ),
                        &[],
                    )
                    .await?;
                Ok(row.get(0))
            })
        })
    }

    /// Inserts rows into `table` (`columns`), keeping rows already there;
    /// returns how many were new.
    pub fn import(
        &self,
        table: &'static str,
        columns: &'static [(&'static str, bool)],
        rows: Vec<Vec<super::Cell>>,
    ) -> Result<u64, StoreError> {
        self.run(move |c| {
            Box::pin(async move {
                let names: Vec<&str> = columns.iter().map(|(n, _)| *n).collect();
                let marks: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT DO NOTHING",
                    names.join(", "),
                    marks.join(", ")
                );
                let tx = c.transaction().await?;
                let statement = tx.prepare(&sql).await?;
                let mut added = 0;
                for row in &rows {
                    let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = row
                        .iter()
                        .map(|cell| match cell {
                            super::Cell::Int(v) => v as &(dyn tokio_postgres::types::ToSql + Sync),
                            super::Cell::Text(v) => v as &(dyn tokio_postgres::types::ToSql + Sync),
                        })
                        .collect();
                    added += tx.execute(&statement, &params).await?;
                }
                tx.commit().await?;
                Ok(added)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_not_shown() {
        let s = shown("postgres://upkeep:s3cret@db:5432/upkeep?sslmode=require");
        assert!(!s.contains("s3cret"), "{s}");
        assert!(s.contains("db:5432/upkeep"), "{s}");
    }

    #[test]
    fn sslmodes_follow_libpq() {
        let (c, tls, _) = configure("postgres://u@h/db?sslmode=disable", "x").unwrap();
        assert!(tls.is_none());
        assert_eq!(c.get_ssl_mode(), tokio_postgres::config::SslMode::Disable);
        let (c, tls, prefer) = configure("postgres://u@h/db?sslmode=verify-full", "x").unwrap();
        assert!(tls.is_some() && !prefer);
        assert_eq!(c.get_ssl_mode(), tokio_postgres::config::SslMode::Require);
        let (_, tls, prefer) = configure("postgres://u@h/db", "x").unwrap();
        assert!(tls.is_some() && prefer);
        let err = configure("postgres://u@h/db?sslmode=sometimes", "x")
            .err()
            .unwrap();
        assert!(err.to_string().contains("sslmode=sometimes"), "{err}");
        let err = configure("postgres://u@h/db?sslrootcert=/nonexistent.pem", "x")
            .err()
            .unwrap();
        assert!(err.to_string().contains("/nonexistent.pem"), "{err}");
    }
}
