//! All git work, through git2: shallow fetches of deployment repositories
//! into a cache directory (and, later, branches, commits and pushes).
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
    #[error("{context}: {message}")]
    Git { context: String, message: String },
}

/// A fetched, checked-out tree.
#[derive(Clone, Debug)]
pub struct Checkout {
    pub path: PathBuf,
    /// The commit checked out (hex).
    pub commit: String,
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

fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host.starts_with('[') {
        host.split(']')
            .next()
            .map(|h| h.trim_start_matches('['))
            .unwrap_or_default()
    } else {
        host.split(':').next().unwrap_or_default()
    };
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Fetches `branch` of `url` (depth 1) into `dir` and checks it out,
/// detached. `dir` is created if needed and reused on later calls.
pub fn fetch_shallow(
    dir: &Path,
    url: &str,
    branch: &str,
    token: Option<&str>,
) -> Result<Checkout, GitError> {
    let shown = redact(url);
    if redact(url) != url {
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
    let git = |context: &str| {
        let shown = shown.clone();
        let context = context.to_string();
        move |e: git2::Error| GitError::Git {
            context: format!("{shown}: {context}"),
            message: e.message().to_string(),
        }
    };
    std::fs::create_dir_all(dir).map_err(|e| GitError::Git {
        context: dir.display().to_string(),
        message: e.to_string(),
    })?;
    let repo = match Repository::open(dir) {
        Ok(r) => r,
        Err(_) => Repository::init(dir).map_err(git("init cache"))?,
    };
    let mut remote = repo.remote_anonymous(url).map_err(git("remote"))?;
    let mut auth_tried = false;
    let mut auth_failed = false;
    let mut callbacks = RemoteCallbacks::new();
    callbacks.credentials(|_url, _user, _allowed| {
        if auth_tried {
            auth_failed = true;
            return Err(git2::Error::from_str("authentication failed"));
        }
        auth_tried = true;
        match token {
            Some(t) => Cred::userpass_plaintext("x-access-token", t),
            None => Err(git2::Error::from_str(
                "the remote asks for credentials and no token is set",
            )),
        }
    });
    callbacks.certificate_check(|_, _| Ok(CertificateCheckStatus::CertificatePassthrough));
    let mut options = FetchOptions::new();
    options.remote_callbacks(callbacks).depth(1);
    let refspec = format!("+refs/heads/{branch}:refs/remotes/upkeep/{branch}");
    let fetched = remote.fetch(&[refspec.as_str()], Some(&mut options), None);
    drop(options);
    if let Err(e) = fetched {
        if auth_failed || e.class() == git2::ErrorClass::Http && e.message().contains("401") {
            return Err(GitError::Auth(shown));
        }
        return Err(git("fetch")(e));
    }
    let reference = repo
        .find_reference(&format!("refs/remotes/upkeep/{branch}"))
        .map_err(|_| GitError::NoBranch {
            url: shown.clone(),
            branch: branch.to_string(),
        })?;
    let commit = reference.peel_to_commit().map_err(git("resolve branch"))?;
    let mut checkout = git2::build::CheckoutBuilder::new();
    checkout.force().remove_untracked(true);
    repo.checkout_tree(commit.as_object(), Some(&mut checkout))
        .map_err(git("checkout"))?;
    repo.set_head_detached(commit.id())
        .map_err(git("checkout"))?;
    Ok(Checkout {
        path: dir.to_path_buf(),
        commit: commit.id().to_string(),
    })
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
        let err = fetch_shallow(
            Path::new("/nonexistent/never"),
            "http://example.com/a.git",
            "main",
            Some("s3cr3t-value"),
        )
        .unwrap_err();
        assert!(matches!(err, GitError::InsecureUrl(_)));
        assert!(!err.to_string().contains("s3cr3t"));
    }
}
