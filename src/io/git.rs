//! All git work, through git2: shallow fetches of deployment repositories
//! into a cache directory, commits built from a base commit's tree (no
//! working tree needed), ownership checks of upkeep's branches, and pushes.
//!
//! The token travels only through the credentials callback, as
//! `x-access-token` basic auth: never in a remote URL, a log line or an
//! error, and never over plain http except to a loopback address. git2 types
//! stop here.

use std::path::{Path, PathBuf};

use git2::{CertificateCheckStatus, Cred, FetchOptions, RemoteCallbacks, Repository};

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error(
        "refusing to send a token over plain http to {0}: use https (plain http is allowed only to loopback)"
    )]
    InsecureUrl(String),
    #[error("authentication failed for {0}: check the token")]
    Auth(String),
    #[error("{url}: branch `{branch}` not found")]
    NoBranch { url: String, branch: String },
    #[error("{url}: the remote refused to update `{branch}`: {reason}")]
    Rejected {
        url: String,
        branch: String,
        reason: String,
    },
    #[error("{url}: {what} timed out after {seconds}s (UPKEEP_GIT_TIMEOUT)")]
    Timeout {
        url: String,
        what: String,
        seconds: u64,
    },
    #[error("{context}: {message}")]
    Git { context: String, message: String },
}

/// The default deadline of one git fetch or push.
pub const DEFAULT_DEADLINE: std::time::Duration = std::time::Duration::from_secs(300);

/// A lock file older than this in a cache repository is left over from a
/// killed process and is removed when a session opens.
pub const STALE_LOCK: std::time::Duration = std::time::Duration::from_secs(180);

/// The deadline of one git transfer: `UPKEEP_GIT_TIMEOUT` seconds, else
/// [`DEFAULT_DEADLINE`].
pub fn deadline() -> std::time::Duration {
    std::env::var(crate::env::GIT_TIMEOUT)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .map_or(DEFAULT_DEADLINE, std::time::Duration::from_secs)
}

static CONFIGURE: std::sync::Once = std::sync::Once::new();

/// Sets libgit2's socket timeouts (connect, and each read or write) to the
/// deadline, so that a silent server cannot block a transfer forever (the
/// progress callbacks only run when data arrives). Call it early, before
/// threads do git work; later calls do nothing.
pub fn configure() {
    CONFIGURE.call_once(|| {
        let ms = libc_int(deadline().as_millis());
        // SAFETY: sets two C globals once, before any transfer (the Once
        // orders it before every session's first use).
        unsafe {
            let _ = git2::opts::set_server_timeout_in_milliseconds(ms);
            let _ = git2::opts::set_server_connect_timeout_in_milliseconds(ms);
        }
    });
}

fn libc_int(ms: u128) -> i32 {
    i32::try_from(ms).unwrap_or(i32::MAX)
}

/// Removes `*.lock` files older than [`STALE_LOCK`] under a repository's
/// git directory (`index.lock`, `shallow.lock`, `refs/heads/x.lock`, …),
/// left by a process killed mid-write; logs each.
fn clear_stale_locks(git_dir: &Path) {
    fn walk(dir: &Path, depth: usize, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                // objects/ holds no locks worth a walk
                if depth < 8 && entry.file_name() != "objects" {
                    walk(&path, depth + 1, found);
                }
            } else if kind.is_file() && path.extension().is_some_and(|e| e == "lock") {
                found.push(path);
            }
        }
    }
    let mut locks = Vec::new();
    walk(git_dir, 0, &mut locks);
    for lock in locks {
        let age = std::fs::metadata(&lock)
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok());
        if age.is_some_and(|a| a >= STALE_LOCK) && std::fs::remove_file(&lock).is_ok() {
            tracing::warn!(
                "removed stale lock {} ({}s old, left by an interrupted run)",
                lock.display(),
                age.map_or(0, |a| a.as_secs())
            );
        }
    }
}

/// The default cache location: `$XDG_CACHE_HOME/upkeep`, else
/// `~/.cache/upkeep`, else `./.upkeep-cache`.
pub fn default_cache_dir() -> PathBuf {
    std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .map_or_else(|| PathBuf::from(".upkeep-cache"), |b| b.join("upkeep"))
}

/// `url` without any user info, for messages.
pub fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            if path.is_empty() {
                format!("{scheme}://{host}")
            } else {
                format!("{scheme}://{host}/{path}")
            }
        }
        None => url.to_string(),
    }
}

/// A plain `http://` URL to a loopback host (the shared rule of
/// [`crate::io::http::is_loopback`]).
fn is_loopback_http(url: &str) -> bool {
    url.starts_with("http://")
        && url::Url::parse(url)
            .ok()
            .and_then(|u| crate::io::http::authority(&u))
            .is_some_and(|h| crate::io::http::is_loopback(&h))
}

/// Who upkeep's commits are by.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub email: String,
}

impl Default for Author {
    fn default() -> Self {
        Author {
            name: "upkeep[bot]".into(),
            email: "upkeep[bot]@users.noreply.github.com".into(),
        }
    }
}

/// A cache repository bound to one remote.
pub struct Session {
    repo: Repository,
    url: String,
    /// The URL as shown in messages (no user info).
    shown: String,
    token: Option<String>,
    /// The deadline of each fetch or push.
    deadline: std::time::Duration,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("url", &self.shown)
            .finish_non_exhaustive()
    }
}

/// Runs blocking git work off the async runtime's workers (the other tasks
/// move to another worker meanwhile); plainly outside a multi-threaded
/// runtime.
pub fn blocking<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}

impl Session {
    /// Opens (or creates) the cache repository in `dir` for `url`.
    pub fn open(dir: &Path, url: &str, token: Option<&str>) -> Result<Session, GitError> {
        let shown = redact(url);
        if shown != url {
            return Err(GitError::Git {
                context: shown,
                message: "credentials in the URL are not accepted; upkeep sends the token itself"
                    .into(),
            });
        }
        let token = token.filter(|t| !t.is_empty());
        if token.is_some() && url.starts_with("http://") && !is_loopback_http(url) {
            return Err(GitError::InsecureUrl(shown));
        }
        std::fs::create_dir_all(dir).map_err(|e| GitError::Git {
            context: dir.display().to_string(),
            message: e.to_string(),
        })?;
        configure();
        let repo = match Repository::open(dir) {
            Ok(r) => r,
            Err(_) => Repository::init(dir).map_err(|e| git_error(&shown, "init cache", e))?,
        };
        clear_stale_locks(repo.path());
        Ok(Session {
            repo,
            url: url.to_string(),
            shown,
            token: token.map(str::to_string),
            deadline: deadline(),
        })
    }

    /// A local repository (a user's checkout): no remote, no token.
    pub fn local(path: &Path) -> Result<Session, GitError> {
        let shown = path.display().to_string();
        let repo = Repository::discover(path).map_err(|e| git_error(&shown, "open", e))?;
        Ok(Session {
            repo,
            url: String::new(),
            shown,
            token: None,
            deadline: deadline(),
        })
    }

    /// The working tree (the cache directory itself).
    pub fn workdir(&self) -> std::path::PathBuf {
        self.repo
            .workdir()
            .map_or_else(|| self.repo.path().to_path_buf(), Path::to_path_buf)
    }

    /// The commit HEAD points at.
    pub fn head(&self) -> Result<String, GitError> {
        let commit = self
            .repo
            .head()
            .and_then(|h| h.peel_to_commit())
            .map_err(self.err("HEAD"))?;
        Ok(commit.id().to_string())
    }

    /// The commit of a local branch, if it exists.
    pub fn local_branch(&self, branch: &str) -> Result<Option<String>, GitError> {
        match self.repo.find_reference(&format!("refs/heads/{branch}")) {
            Ok(r) => Ok(Some(
                r.peel_to_commit()
                    .map_err(self.err("branch"))?
                    .id()
                    .to_string(),
            )),
            Err(_) => Ok(None),
        }
    }

    /// Points a local branch at `commit` (creating or moving it). The
    /// checked-out branch is never moved.
    pub fn set_local_branch(&self, branch: &str, commit: &str) -> Result<(), GitError> {
        let name = format!("refs/heads/{branch}");
        if self
            .repo
            .head()
            .ok()
            .and_then(|h| h.name().ok().map(str::to_string))
            .as_deref()
            == Some(name.as_str())
        {
            return Err(GitError::Git {
                context: self.shown.clone(),
                message: format!("{branch} is checked out; upkeep does not move it"),
            });
        }
        let oid = git2::Oid::from_str(commit).map_err(self.err("commit id"))?;
        self.repo
            .reference(&name, oid, true, "upkeep")
            .map_err(self.err("branch"))?;
        Ok(())
    }

    fn err(&self, context: &str) -> impl Fn(git2::Error) -> GitError + '_ {
        let context = context.to_string();
        move |e| git_error(&self.shown, &context, e)
    }

    /// Maps the raw error of a transfer started at `started`: a deadline
    /// is [`GitError::Timeout`], a refused login [`GitError::Auth`].
    fn transfer_error(
        &self,
        what: &str,
        started: std::time::Instant,
        (e, auth_failed): (git2::Error, bool),
    ) -> GitError {
        if let Some(timeout) = self.timed_out(what, started, &e) {
            timeout
        } else if auth_failed
            || (e.class() == git2::ErrorClass::Http && e.message().contains("401"))
        {
            GitError::Auth(self.shown.clone())
        } else {
            git_error(&self.shown, what, e)
        }
    }

    /// [`GitError::Timeout`] when `e` ended a transfer that ran into the
    /// deadline (aborted by a progress callback, or a silent socket).
    fn timed_out(
        &self,
        what: &str,
        started: std::time::Instant,
        e: &git2::Error,
    ) -> Option<GitError> {
        let late = started.elapsed() >= self.deadline.mul_f32(0.9);
        let timeout = e.code() == git2::ErrorCode::Timeout
            || e.message().to_ascii_lowercase().contains("timed out");
        (late || timeout).then(|| GitError::Timeout {
            url: self.shown.clone(),
            what: what.to_string(),
            seconds: self.deadline.as_secs(),
        })
    }

    /// Fetches `branch` with `depth` commits of history (0: all). Returns
    /// its commit, or `None` when the remote has no such branch.
    pub fn fetch(&self, branch: &str, depth: i32) -> Result<Option<String>, GitError> {
        let local = format!("refs/remotes/upkeep/{branch}");
        // A branch deleted on the remote must not survive in the cache.
        if let Ok(mut r) = self.repo.find_reference(&local) {
            let _ = r.delete();
        }
        let started = std::time::Instant::now();
        let (wanted, refspec) = (
            format!("refs/heads/{branch}"),
            format!("+refs/heads/{branch}:{local}"),
        );
        let exists = self
            .on_own_thread("fetch", move |repo, remote| {
                let exists = remote.run(repo, |r, callbacks| {
                    let connection =
                        r.connect_auth(git2::Direction::Fetch, Some(callbacks), None)?;
                    Ok(connection.list()?.iter().any(|h| h.name() == wanted))
                })?;
                if exists {
                    remote.run(repo, |r, callbacks| {
                        let mut options = FetchOptions::new();
                        options.remote_callbacks(callbacks).depth(depth);
                        r.fetch(&[refspec.as_str()], Some(&mut options), None)
                    })?;
                }
                Ok(exists)
            })?
            .map_err(|e| self.transfer_error("fetch", started, e))?;
        if !exists {
            return Ok(None);
        }
        let commit = self
            .repo
            .find_reference(&local)
            .and_then(|r| r.peel_to_commit())
            .map_err(self.err("resolve branch"))?;
        Ok(Some(commit.id().to_string()))
    }

    /// Checks `commit` out into the working tree, detached.
    pub fn checkout(&self, commit: &str) -> Result<(), GitError> {
        let commit = self.commit(commit)?;
        let mut checkout = git2::build::CheckoutBuilder::new();
        checkout.force().remove_untracked(true);
        self.repo
            .checkout_tree(commit.as_object(), Some(&mut checkout))
            .map_err(self.err("checkout"))?;
        self.repo
            .set_head_detached(commit.id())
            .map_err(self.err("checkout"))
    }

    fn commit(&self, id: &str) -> Result<git2::Commit<'_>, GitError> {
        let oid = git2::Oid::from_str(id).map_err(self.err("commit id"))?;
        self.repo.find_commit(oid).map_err(self.err("find commit"))
    }

    /// The tree id of a commit.
    pub fn tree_of(&self, commit: &str) -> Result<String, GitError> {
        Ok(self.commit(commit)?.tree_id().to_string())
    }

    /// The paths whose content differs between two commits (added, removed
    /// or changed), sorted.
    pub fn changed_files(&self, from: &str, to: &str) -> Result<Vec<String>, GitError> {
        let err = |e| git_error(&self.shown, "diff", e);
        let a = self.commit(from)?.tree().map_err(err)?;
        let b = self.commit(to)?.tree().map_err(err)?;
        let diff = self
            .repo
            .diff_tree_to_tree(Some(&a), Some(&b), None)
            .map_err(err)?;
        let mut out: Vec<String> = diff
            .deltas()
            .filter_map(|d| d.new_file().path().or_else(|| d.old_file().path()))
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The first parent of a commit, if fetched.
    pub fn parent_of(&self, commit: &str) -> Result<Option<String>, GitError> {
        Ok(self
            .commit(commit)?
            .parent_ids()
            .next()
            .map(|p| p.to_string()))
    }

    /// True when `tip` is upkeep's: following first parents, every commit is
    /// by `author` until one that is already on `base` (the branch was made
    /// from `base` or an older state of it). A commit by anyone else, or
    /// history that never meets `base`, makes the branch foreign.
    pub fn owned_by(&self, tip: &str, base: &str, author: &Author) -> Result<bool, GitError> {
        let base = git2::Oid::from_str(base).map_err(self.err("commit id"))?;
        let mut current = self.commit(tip)?;
        for _ in 0..100 {
            let on_base = current.id() == base
                || self
                    .repo
                    .graph_descendant_of(base, current.id())
                    .unwrap_or(false);
            if on_base {
                return Ok(true);
            }
            if current.author().email().ok() != Some(author.email.as_str()) {
                return Ok(false);
            }
            match current.parent(0) {
                Ok(p) => current = p,
                Err(_) => return Ok(false),
            }
        }
        Ok(false)
    }

    /// Reads a file of a commit; `None` when absent (or not a regular file).
    pub fn read(&self, commit: &str, path: &str) -> Result<Option<Vec<u8>>, GitError> {
        let tree = self.commit(commit)?.tree().map_err(self.err("tree"))?;
        let Ok(entry) = tree.get_path(Path::new(path)) else {
            return Ok(None);
        };
        if entry.filemode() != i32::from(git2::FileMode::Blob)
            && entry.filemode() != i32::from(git2::FileMode::BlobExecutable)
        {
            return Ok(None);
        }
        let blob = self
            .repo
            .find_blob(entry.id())
            .map_err(self.err("read blob"))?;
        Ok(Some(blob.content().to_vec()))
    }

    /// The regular files directly in `dir` (`""`: the root) of a commit, as
    /// paths relative to the root; empty when there is no such directory.
    pub fn list_dir(&self, commit: &str, dir: &str) -> Result<Vec<String>, GitError> {
        let tree = self.commit(commit)?.tree().map_err(self.err("tree"))?;
        let tree = if dir.is_empty() {
            tree
        } else {
            let Ok(entry) = tree.get_path(Path::new(dir)) else {
                return Ok(Vec::new());
            };
            match entry
                .to_object(&self.repo)
                .ok()
                .and_then(|o| o.into_tree().ok())
            {
                Some(t) => t,
                None => return Ok(Vec::new()),
            }
        };
        let mut files = Vec::new();
        for entry in tree.iter() {
            let regular = entry.filemode() == i32::from(git2::FileMode::Blob)
                || entry.filemode() == i32::from(git2::FileMode::BlobExecutable);
            if let (true, Ok(name)) = (regular, entry.name()) {
                files.push(match dir {
                    "" => name.to_string(),
                    d => format!("{d}/{name}"),
                });
            }
        }
        Ok(files)
    }

    /// A new commit on top of `base` with `files` (path, content) replaced,
    /// modes kept. Returns its id; nothing is pushed.
    pub fn commit_files(
        &self,
        base: &str,
        files: &[(String, Vec<u8>)],
        message: &str,
        author: &Author,
    ) -> Result<String, GitError> {
        let parent = self.commit(base)?;
        let tree = parent.tree().map_err(self.err("tree"))?;
        let mut update = git2::build::TreeUpdateBuilder::new();
        for (path, content) in files {
            let mode = tree
                .get_path(Path::new(path))
                .ok()
                .map(|e| e.filemode())
                .filter(|m| *m == i32::from(git2::FileMode::BlobExecutable))
                .map_or(git2::FileMode::Blob, |_| git2::FileMode::BlobExecutable);
            let blob = self.repo.blob(content).map_err(self.err("write blob"))?;
            update.upsert(path.as_str(), blob, mode);
        }
        let new_tree = update
            .create_updated(&self.repo, &tree)
            .map_err(self.err("write tree"))?;
        let new_tree = self
            .repo
            .find_tree(new_tree)
            .map_err(self.err("write tree"))?;
        let signature =
            git2::Signature::now(&author.name, &author.email).map_err(self.err("signature"))?;
        let id = self
            .repo
            .commit(None, &signature, &signature, message, &new_tree, &[&parent])
            .map_err(self.err("commit"))?;
        Ok(id.to_string())
    }

    /// Pushes `commit` to `branch` on the remote; `force` only for branches
    /// upkeep owns. A refused update (non-fast-forward, protected branch) is
    /// [`GitError::Rejected`].
    pub fn push(&self, commit: &str, branch: &str, force: bool) -> Result<(), GitError> {
        let local = format!("refs/upkeep/push/{branch}");
        let oid = git2::Oid::from_str(commit).map_err(self.err("commit id"))?;
        self.repo
            .reference(&local, oid, true, "upkeep push")
            .map_err(self.err("push"))?;
        let refspec = format!(
            "{}{local}:refs/heads/{branch}",
            if force { "+" } else { "" }
        );
        let started = std::time::Instant::now();
        let pushed = self.on_own_thread("push", move |repo, remote| {
            let rejected = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
            let sink = rejected.clone();
            remote.run(repo, |r, mut callbacks| {
                callbacks.push_update_reference(move |_name, status| {
                    if let Some(message) = status {
                        *sink.lock().unwrap_or_else(|e| e.into_inner()) = Some(message.to_string());
                    }
                    Ok(())
                });
                let mut options = git2::PushOptions::new();
                options.remote_callbacks(callbacks);
                r.push(&[refspec.as_str()], Some(&mut options))
            })?;
            let rejected = rejected.lock().unwrap_or_else(|e| e.into_inner()).take();
            Ok(rejected)
        })?;
        let rejection = |reason: String| GitError::Rejected {
            url: self.shown.clone(),
            branch: branch.to_string(),
            reason,
        };
        match pushed {
            Ok(None) => Ok(()),
            Ok(Some(reason)) => Err(rejection(reason)),
            // libgit2 refuses a non-fast-forward update before sending it.
            Err((e, _)) if e.code() == git2::ErrorCode::NotFastForward => {
                Err(rejection("not a fast-forward".into()))
            }
            Err(e) => Err(self.transfer_error("push", started, e)),
        }
    }

    /// Runs a network transfer on a thread of its own, over a handle of its
    /// own on the cache repository, and waits for it at most the deadline: a
    /// server that hangs or drips (which neither the socket timeouts nor the
    /// progress callbacks catch while its answer trickles in) is then
    /// [`GitError::Timeout`] and the caller goes on; the abandoned thread
    /// ends when its socket does. `Ok` carries the transfer's own result.
    #[allow(clippy::type_complexity)]
    fn on_own_thread<T: Send + 'static>(
        &self,
        what: &str,
        transfer: impl FnOnce(&Repository, &Remote) -> Result<T, (git2::Error, bool)> + Send + 'static,
    ) -> Result<Result<T, (git2::Error, bool)>, GitError> {
        let path = self.repo.path().to_path_buf();
        let remote = Remote {
            url: self.url.clone(),
            token: self.token.clone(),
            deadline: self.deadline,
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name(format!("upkeep-git-{what}"))
            .spawn(move || {
                let result = Repository::open(&path)
                    .map_err(|e| (e, false))
                    .and_then(|repo| transfer(&repo, &remote));
                let _ = tx.send(result);
            });
        if let Err(e) = spawned {
            return Err(GitError::Git {
                context: format!("{}: {what}", self.shown),
                message: e.to_string(),
            });
        }
        rx.recv_timeout(self.deadline).map_err(|_| {
            let seconds = self.deadline.as_secs();
            tracing::warn!(url = %self.shown, seconds, "git {what} abandoned at its deadline");
            GitError::Timeout {
                url: self.shown.clone(),
                what: what.into(),
                seconds,
            }
        })
    }
}

/// Where a transfer goes: the remote's URL, the token and the deadline.
struct Remote {
    url: String,
    token: Option<String>,
    deadline: std::time::Duration,
}

impl Remote {
    /// Runs a network operation on an anonymous remote of `repo` with the
    /// token callback; returns the raw error and whether the login was
    /// refused. The progress callbacks abort a transfer past the deadline.
    fn run<T>(
        &self,
        repo: &Repository,
        f: impl FnOnce(&mut git2::Remote<'_>, RemoteCallbacks<'_>) -> Result<T, git2::Error>,
    ) -> Result<T, (git2::Error, bool)> {
        remote_raw(repo, &self.url, self.token.as_deref(), self.deadline, f)
    }
}

/// Runs a network operation on an anonymous remote of `repo` with the
/// token callback; returns the raw error and whether the login was refused.
/// The progress callbacks abort a transfer past `deadline`.
fn remote_raw<T>(
    repo: &Repository,
    url: &str,
    token: Option<&str>,
    deadline: std::time::Duration,
    f: impl FnOnce(&mut git2::Remote<'_>, RemoteCallbacks<'_>) -> Result<T, git2::Error>,
) -> Result<T, (git2::Error, bool)> {
    let mut remote = repo.remote_anonymous(url).map_err(|e| (e, false))?;
    let auth_failed = std::cell::Cell::new(false);
    let result = {
        let mut tried = false;
        let mut callbacks = RemoteCallbacks::new();
        callbacks.credentials(|_url, _user, _allowed| {
            if tried {
                auth_failed.set(true);
                return Err(git2::Error::from_str("authentication failed"));
            }
            tried = true;
            match token {
                Some(t) => Cred::userpass_plaintext("x-access-token", t),
                None => Err(git2::Error::from_str(
                    "the remote asks for credentials and no token is set",
                )),
            }
        });
        callbacks.certificate_check(|_, _| Ok(CertificateCheckStatus::CertificatePassthrough));
        let end = std::time::Instant::now() + deadline;
        callbacks.transfer_progress(move |_| std::time::Instant::now() < end);
        callbacks.sideband_progress(move |_| std::time::Instant::now() < end);
        f(&mut remote, callbacks)
    };
    result.map_err(|e| (e, auth_failed.get()))
}

fn git_error(shown: &str, context: &str, e: git2::Error) -> GitError {
    GitError::Git {
        context: format!("{shown}: {context}"),
        message: e.message().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_user_info() {
        assert_eq!(
            redact("https://x-access-token:s3cret@github.com/a/b.git"),
            "https://github.com/a/b.git"
        );
        assert_eq!(
            redact("http://127.0.0.1:8080/deploy.git"),
            "http://127.0.0.1:8080/deploy.git"
        );
    }

    #[test]
    fn plain_http_only_to_loopback() {
        assert!(is_loopback_http("http://127.0.0.1:18088/deploy.git"));
        assert!(is_loopback_http("http://localhost/x"));
        assert!(is_loopback_http("http://[::1]:80/x"));
        assert!(!is_loopback_http("http://example.com/x"));
        assert!(!is_loopback_http("http://127.0.0.1.evil.com/x"));
        let err = Session::open(
            Path::new("/nonexistent/never"),
            "http://example.com/a.git",
            Some("s3cr3t-value"),
        )
        .unwrap_err();
        assert!(matches!(err, GitError::InsecureUrl(_)));
        assert!(!err.to_string().contains("s3cr3t"));
    }
}
