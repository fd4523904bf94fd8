//! GitHub App authentication: the app's RS256 JSON Web Token (signed with
//! its private key, for `/app/...` requests) and installation access tokens
//! (for everything else, and as the git password for pushes).
//!
//! Installation tokens are cached per installation until shortly before
//! their `expires_at` ([`REFRESH_MARGIN`]) and then fetched again; the JWT is
//! reused for a few minutes. Which installation a request needs is learnt
//! from `GET /app/installations` or, for an owner not seen yet, from
//! `GET /repos/{owner}/{repo}/installation`. Neither the key, the JWT nor a
//! token is ever logged, shown in `Debug` or put in an error.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use octocrab::EncodingKey;
use octocrab::models::AppId;

use super::ForgeError;

/// An installation token is refreshed once it has less than this left.
pub const REFRESH_MARGIN: Duration = Duration::from_secs(5 * 60);

/// How long one app JWT is reused (GitHub accepts them for up to ten
/// minutes; octocrab issues them for nine, backdated one).
const JWT_REUSE: Duration = Duration::from_secs(5 * 60);

/// The app's identity: its id and RSA private key.
#[derive(Clone)]
pub struct AppCredentials {
    app_id: u64,
    key: EncodingKey,
}

impl fmt::Debug for AppCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AppCredentials")
            .field("app_id", &self.app_id)
            .finish_non_exhaustive()
    }
}

impl AppCredentials {
    /// From `UPKEEP_GITHUB_APP_ID` and `UPKEEP_GITHUB_APP_PRIVATE_KEY`: the
    /// key is PEM text (PKCS#1 as GitHub hands it out, or PKCS#8) or the
    /// path of a file holding it.
    pub fn new(app_id: &str, private_key: &str) -> Result<AppCredentials, ForgeError> {
        let app_id = app_id.trim().parse::<u64>().map_err(|_| {
            ForgeError::AppAuth(format!(
                "{} must be the app's numeric id",
                crate::env::GITHUB_APP_ID
            ))
        })?;
        let pem = if private_key.trim_start().starts_with("-----BEGIN") {
            private_key.as_bytes().to_vec()
        } else {
            std::fs::read(private_key.trim()).map_err(|e| {
                ForgeError::AppAuth(format!(
                    "{}: cannot read the key file {}: {e}",
                    crate::env::GITHUB_APP_PRIVATE_KEY,
                    private_key.trim()
                ))
            })?
        };
        let key = EncodingKey::from_rsa_pem(&pem).map_err(|_| {
            ForgeError::AppAuth(format!(
                "{} is not an RSA private key in PEM format",
                crate::env::GITHUB_APP_PRIVATE_KEY
            ))
        })?;
        Ok(AppCredentials { app_id, key })
    }

    pub fn app_id(&self) -> u64 {
        self.app_id
    }

    fn sign(&self) -> Result<String, ForgeError> {
        octocrab::auth::create_jwt(AppId(self.app_id), &self.key)
            .map_err(|_| ForgeError::AppAuth("cannot sign the app's JWT".into()))
    }
}

/// One installation of the app: an account that installed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installation {
    pub id: u64,
    /// The account's login (`acme`).
    pub account: String,
}

#[derive(Clone)]
pub(super) struct CachedToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// The app side of a [`super::Forge`]: credentials and caches.
pub(super) struct AppAuth {
    pub credentials: AppCredentials,
    jwt: Mutex<Option<(String, std::time::Instant)>>,
    /// Installation tokens by installation id. A tokio mutex: held across
    /// the refresh so that one refresh serves every waiting request.
    pub tokens: tokio::sync::Mutex<HashMap<u64, CachedToken>>,
    /// Installation per lowercased owner login; `None`: the app is not
    /// installed there (public repositories are read with any installation).
    pub owners: Mutex<HashMap<String, Option<u64>>>,
}

impl AppAuth {
    pub fn new(credentials: AppCredentials) -> AppAuth {
        AppAuth {
            credentials,
            jwt: Mutex::new(None),
            tokens: tokio::sync::Mutex::new(HashMap::new()),
            owners: Mutex::new(HashMap::new()),
        }
    }

    /// `Bearer <jwt>`, reusing a recent one.
    pub fn jwt_header(&self) -> Result<String, ForgeError> {
        let mut cached = self.jwt.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((jwt, at)) = cached.as_ref()
            && at.elapsed() < JWT_REUSE
        {
            return Ok(format!("Bearer {jwt}"));
        }
        let jwt = self.credentials.sign()?;
        *cached = Some((jwt.clone(), std::time::Instant::now()));
        Ok(format!("Bearer {jwt}"))
    }

    pub fn owner(&self, owner: &str) -> Option<Option<u64>> {
        self.owners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&owner.to_ascii_lowercase())
            .copied()
    }

    pub fn remember(&self, owner: &str, installation: Option<u64>) {
        self.owners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(owner.to_ascii_lowercase(), installation);
    }

    /// Any known installation (the lowest id), for public repositories of
    /// owners that did not install the app.
    pub fn any(&self) -> Option<u64> {
        self.owners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .flatten()
            .min()
            .copied()
    }
}

/// Whether a cached token is still good at `now`.
pub(super) fn fresh(token: &CachedToken, now: DateTime<Utc>) -> bool {
    chrono::Duration::from_std(REFRESH_MARGIN).is_ok_and(|margin| token.expires_at - now > margin)
}

/// The owner a request is about: `/repos/{owner}/…`.
pub(super) fn owner_of(url: &str) -> Option<(&str, &str)> {
    let path = url.find("/repos/").map(|i| &url[i + "/repos/".len()..])?;
    let mut parts = path.split(['/', '?']);
    match (parts.next(), parts.next()) {
        (Some(owner), Some(repo)) if !owner.is_empty() && !repo.is_empty() => Some((owner, repo)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_from_urls() {
        assert_eq!(
            owner_of("/repos/acme/deploy/pulls?state=open"),
            Some(("acme", "deploy"))
        );
        assert_eq!(owner_of("/repos/acme/deploy"), Some(("acme", "deploy")));
        assert_eq!(
            owner_of("https://h/api/v3/repos/a/b/releases"),
            Some(("a", "b"))
        );
        assert_eq!(owner_of("/repositories/1/releases?page=2"), None);
        assert_eq!(owner_of("/app/installations"), None);
    }

    #[test]
    fn tokens_are_refreshed_before_they_expire() {
        let now = Utc::now();
        let t = |mins| CachedToken {
            token: String::new(),
            expires_at: now + chrono::Duration::minutes(mins),
        };
        assert!(fresh(&t(60), now));
        assert!(!fresh(&t(4), now));
        assert!(!fresh(&t(-1), now));
    }

    #[test]
    fn bad_keys_are_refused_without_echoing_them() {
        let e = AppCredentials::new(
            "12",
            "-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("not an RSA private key") && !e.contains("not a key"),
            "{e}"
        );
        assert!(
            AppCredentials::new("x", "k")
                .unwrap_err()
                .to_string()
                .contains("numeric")
        );
    }
}
